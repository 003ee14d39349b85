"""Collection from CSV files: one draft or one list of problems per row, a bad row never stops the rest.

Also the one place that decides how CSV bytes are decoded (UTF-8 with or without BOM, GB18030 as
Excel on Chinese Windows writes it), shared with batch issuing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ecert.catalog import CertificateType
from ecert.collect.collector import OPTIONS, check_options, collect, resolve_type
from ecert.collect.draft import CertificateDraft
from ecert.collect.tables import XLSX_SUFFIXES
from ecert.errors import CollectionError, EcertError, FieldProblem, InputError

__all__ = ["CollectedRow", "collect_csv", "decode_csv"]


@dataclass(frozen=True, slots=True)
class CollectedRow:
    """One CSV row: its first physical line, the raw record, and the draft or the problems (never both)."""

    line: int
    record: dict[str, str]
    draft: CertificateDraft | None
    problems: tuple[FieldProblem, ...] = ()


def decode_csv(data: bytes) -> str:
    """UTF-8 (BOM or not); UTF-16 (Excel's "Unicode text"); else GB18030 (what Excel on Chinese
    Windows writes); never a failure.

    A file whose non-ASCII lines are UTF-8 except a few damaged ones stays UTF-8: the damaged lines
    get U+FFFD and their rows are reported, rather than the whole file being misread as GB18030.
    """
    from ecert.collect.tables import decode_table_bytes

    utf16 = decode_table_bytes(data)
    if utf16:
        return utf16
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = data.splitlines(keepends=True)
    if any(not line.isascii() and _is_utf8(line) for line in lines):
        return b"".join(lines).decode("utf-8-sig", errors="replace")
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def collect_csv(
    source: str | Path | TextIO, cert_type: CertificateType | str, **options: Any
) -> Iterator[CollectedRow]:
    """Collect every row of a CSV file with a header; a bad row never stops the others.

    ``source`` is a path (``str`` or ``Path``; UTF-8 with or without BOM, UTF-16, GB18030 fallback;
    an ``.xlsx`` workbook's first sheet, with openpyxl) or an open text stream.  ``options`` are
    :func:`collect`'s.  The type is resolved at once, so an
    unknown type raises here rather than at the first row.

    :param source: a CSV or ``.xlsx`` path, or an open text stream.
    :param cert_type: the type, or its code.
    :param options: :func:`collect`'s keyword arguments.
    :returns: one collected row at a time: its draft, or its problems.
    :raises UnknownType: for an unknown type code.
    :raises InputError: for a file that cannot be read.
    """
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise InputError("unknown option", where=", ".join(unknown), expected=", ".join(sorted(OPTIONS)))
    check_options(
        options.get("issuer"), options.get("serial"), options.get("issue_date"), options.get("today")
    )
    ctype = resolve_type(cert_type, options.pop("catalog", None))
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in XLSX_SUFFIXES:
        from ecert.collect.tables import survey

        survey(Path(source))  # unreadable, no header, no openpyxl: raised here, not at the first row
        return _sheet_rows(Path(source), ctype, options)
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except (OSError, ValueError) as exc:  # missing, a directory, no permission, a NUL in the name
            reason = getattr(exc, "strerror", None) or str(exc)
            raise InputError(f"cannot read CSV file ({reason})", where=str(source)) from None
        text = decode_csv(data)
    elif hasattr(source, "read"):
        try:
            text = source.read()
        except (OSError, ValueError) as exc:  # a closed stream, undecodable bytes on stdin
            raise InputError(
                f"cannot read CSV stream ({exc})", where=getattr(source, "name", "source")
            ) from None
        if not isinstance(text, str):
            raise InputError("not a text stream", where="source", value=type(text).__name__, expected="str")
    else:
        raise InputError(
            "not a CSV source",
            where="source",
            value=type(source).__name__,
            expected="a path (str or Path) or a text stream",
        )
    return _rows(io.StringIO(text.removeprefix("\ufeff"), newline=""), ctype, options)


def _sheet_rows(path: Path, ctype: CertificateType, options: dict[str, Any]) -> Iterator[CollectedRow]:
    """The rows of a workbook's first sheet, collected as CSV rows are (cells as their text)."""
    from ecert.collect.tables import EXTRA, iter_rows

    for line, row in iter_rows(path):
        shape = (
            [FieldProblem("<row>", f"more cells than the header names ({row.pop(EXTRA)!r})")]
            if EXTRA in row
            else []
        )
        try:
            draft = collect(row, ctype, **options)
        except CollectionError as exc:
            yield CollectedRow(line, row, None, (*shape, *exc.problems))
            continue
        except EcertError as exc:
            yield CollectedRow(line, row, None, (*shape, FieldProblem("<row>", str(exc))))
            continue
        yield CollectedRow(line, row, None if shape else draft, tuple(shape))


def _rows(stream: TextIO, ctype: CertificateType, options: dict[str, Any]) -> Iterator[CollectedRow]:
    """One CollectedRow per data row; a row the CSV reader refuses is reported, not fatal.

    ``csv.Error`` (e.g. a field over :func:`csv.field_size_limit`) is a problem of that row: the
    reader has consumed the row's lines and goes on with the next one.  Should it not advance, or
    refuse the header, the rest of the file cannot be read: that is reported once, as ``<file>``.
    """
    reader = csv.reader(stream)
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        yield CollectedRow(
            1, {}, None, (FieldProblem("<file>", f"header row cannot be read as CSV ({exc})"),)
        )
        return
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            first, line = line, reader.line_num + 1
            if line == first:  # the reader did not move on: nothing after this can be read
                problem = FieldProblem("<file>", f"cannot be read as CSV from here on ({exc})")
                yield CollectedRow(first, {}, None, (problem,))
                return
            yield CollectedRow(first, {}, None, (FieldProblem("<row>", f"cannot be read as CSV ({exc})"),))
            continue
        first, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        record = {h: v for h, v in zip(header, row, strict=False) if h}
        shape: list[FieldProblem] = []
        if len(row) != len(header):
            shape.append(FieldProblem("<row>", f"has {len(row)} fields, the header has {len(header)}"))
        bad = sorted(k for k, v in record.items() if "\ufffd" in v)
        shape.extend(FieldProblem(k, "not valid UTF-8 or GB18030 text") for k in bad)
        try:
            draft = collect(record, ctype, **options)
        except CollectionError as exc:
            yield CollectedRow(first, record, None, (*shape, *exc.problems))
            continue
        except EcertError as exc:  # not expected once the options are checked; still only this row's
            yield CollectedRow(first, record, None, (*shape, FieldProblem("<row>", str(exc))))
            continue
        yield CollectedRow(first, record, None if shape else draft, tuple(shape))
