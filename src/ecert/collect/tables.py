"""Tables of source records (CSV and ``.xlsx``), read row by row in constant memory.

Why: an office exports 10,000 or 1,000,000 licences from a spreadsheet; holding the file (or its
rows) in memory made a batch's memory grow with it.  A table is opened twice at most: once to
learn its shape (:func:`survey`: encoding, header, row count, columns no field matches), once to
read its rows (:func:`iter_rows`), both streaming.

Encodings (CSV): UTF-8 with or without BOM; UTF-16 (Excel's "Unicode text" export, with its BOM or
recognised by its NUL bytes); else GB18030, what Excel on Chinese Windows writes.  A file whose
non-ASCII lines are UTF-8 except a few damaged ones stays UTF-8 (the damaged rows get U+FFFD and
are reported), as :func:`ecert.collect.csvrows.decode_csv` decides for a whole text.

``.xlsx`` needs openpyxl (the ``xlsx`` extra); its cells are typed, so dates come as dates and
numbers as numbers: a long number Excel stored as a float has already lost digits, which
:func:`excel_hints` explains.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecert.errors import InputError

if TYPE_CHECKING:
    from ecert.catalog import CertificateType

__all__ = [
    "EXTRA",
    "UNREADABLE",
    "TableSurvey",
    "excel_hints",
    "iter_rows",
    "sniff_encoding",
    "survey",
    "unknown_columns",
]

UNREADABLE = "<unreadable>"  # key of a row the CSV reader refused, with the reason
EXTRA = "<extra>"  # key of cells beyond the header (the row is rejected, not cut)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
_SNIFF = 64 * 1024

Row = dict[str, str]


@dataclass(frozen=True, slots=True)
class TableSurvey:
    """The shape of a table, learnt in one streaming pass before anything is issued."""

    path: Path
    encoding: str  # "utf-8", "utf-16", "gb18030", or "xlsx"
    columns: tuple[str, ...]  # the header as read
    rows: int  # data rows (blank lines not counted)
    has_extra: bool  # some row has more cells than the header names


def sniff_encoding(path: Path) -> str:
    """The text encoding of a CSV file (see the module docstring), read line by line.

    :param path: the CSV file.
    :returns: the codec name (``utf-8-sig``, ``utf-16``, ``gb18030``).
    :raises InputError: for a file that cannot be read or is in no encoding tried.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF)
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16"
            if head.startswith(codecs.BOM_UTF8):
                return "utf-8-sig"
            order = _utf16_order(head)
            if order:
                return order
            fh.seek(0)
            all_utf8, some_utf8 = True, False
            for line in fh:
                if line.isascii():
                    continue
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    all_utf8 = False
                else:
                    some_utf8 = True
                if not all_utf8 and some_utf8:
                    break
    except OSError as exc:
        raise InputError(f"cannot read table ({exc.strerror})", where=str(path)) from None
    return "utf-8" if all_utf8 or some_utf8 else "gb18030"


def _utf16_order(head: bytes) -> str:
    """``utf-16-le``/``utf-16-be`` for UTF-16 without a BOM (the NUL bytes of its ASCII characters,
    commas and digits, all on one side), else ``""``."""
    sample = head[:4096]
    if len(sample) < 4:
        return ""
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    half = len(sample) / 2
    if odd > 0.1 * half and odd > 4 * even:
        return "utf-16-le"
    if even > 0.1 * half and even > 4 * odd:
        return "utf-16-be"
    return ""


def _is_xlsx(path: Path) -> bool:
    return path.suffix.lower() in XLSX_SUFFIXES


@contextmanager
def _csv_reader(path: Path, encoding: str) -> Iterator[Any]:
    try:
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            yield csv.reader(fh)
    except OSError as exc:
        raise InputError(f"cannot read table ({exc.strerror})", where=str(path)) from None


def _header(reader: Any, path: Path) -> list[str]:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"CSV header row cannot be read ({exc})", where=str(path)) from None
    if not header or not any(h.strip() for h in header):
        raise InputError("CSV has no header row", where=str(path))
    return [h.strip() for h in header]


def _csv_rows(reader: Any, header: list[str], path: Path) -> Iterator[tuple[int, Row]]:
    while True:
        first = reader.line_num + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            if reader.line_num + 1 == first:  # the reader did not move on: the rest cannot be read
                raise InputError(
                    f"CSV cannot be read from line {first} on ({exc})", where=str(path)
                ) from None
            yield first, {UNREADABLE: str(exc)}
            continue
        if cells is None:
            return
        if not any(c.strip() for c in cells):
            continue  # a blank line
        yield first, _row(header, cells)


def _row(header: list[str], cells: list[str]) -> Row:
    row = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        row[EXTRA] = "|".join(cells[len(header) :])
    return row


# --- xlsx -------------------------------------------------------------------------------------------


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[Iterator[tuple[int, list[str]]]]:
    try:
        import openpyxl
    except ImportError:
        raise InputError(
            "reading .xlsx needs openpyxl, which is not installed",
            where=str(path),
            expected="pip install 'ecert[xlsx]', or save the sheet as CSV (UTF-8)",
        ) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException...: all unreadable
        raise InputError(
            f"cannot read .xlsx workbook ({type(exc).__name__}: {exc})", where=str(path)
        ) from None
    try:
        sheet = book.worksheets[0]

        def rows() -> Iterator[tuple[int, list[str]]]:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in values]

        yield rows()
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A typed cell as the text a CSV export would hold (dates ISO, whole numbers without '.0')."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).upper() if abs(value) >= 1e15 else repr(value)  # 9.11101E+17: see excel_hints
    return str(value).strip() if isinstance(value, str) else str(value)


def _xlsx_table(
    rows: Iterator[tuple[int, list[str]]], path: Path
) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    for _number, cells in rows:
        if any(c.strip() for c in cells):
            header = [c.strip() for c in cells]
            while header and not header[-1]:
                header.pop()
            break
    else:
        raise InputError("the first sheet has no header row", where=str(path))

    def data() -> Iterator[tuple[int, Row]]:
        for number, cells in rows:
            if any(c.strip() for c in cells):
                yield number, _row(header, cells)

    return header, data()


# --- the two passes --------------------------------------------------------------------------------


@contextmanager
def _open(path: Path) -> Iterator[tuple[str, list[str], Iterator[tuple[int, Row]]]]:
    if not isinstance(path, Path):
        raise InputError("not a path", where="records", value=type(path).__name__, expected="str or Path")
    if _is_xlsx(path):
        with _xlsx_rows(path) as cells:
            header, rows = _xlsx_table(cells, path)
            yield "xlsx", header, rows
        return
    encoding = sniff_encoding(path)
    with _csv_reader(path, encoding) as reader:
        header = _header(reader, path)
        header[0] = header[0].removeprefix("\ufeff")
        yield (
            encoding.removesuffix("-sig").removesuffix("-le").removesuffix("-be"),
            header,
            _csv_rows(reader, header, path),
        )


def survey(path: str | Path) -> TableSurvey:
    """Encoding, header and row count of a CSV or ``.xlsx`` table, streamed (constant memory).

    Raises :class:`InputError` for a file that cannot be read, has no header row, or (``.xlsx``)
    when openpyxl is not installed.

    :param path: the table (CSV or ``.xlsx``).
    :returns: the survey: encoding, header, row count.
    :raises InputError: for a file that cannot be read, has no header row, or needs openpyxl.
    """
    path = Path(path)
    with _open(path) as (encoding, header, rows):
        count, extra = 0, False
        for _line, row in rows:
            count += 1
            extra = extra or EXTRA in row
    return TableSurvey(path, encoding, tuple(header), count, extra)


def iter_rows(path: str | Path) -> Iterator[tuple[int, Row]]:
    """(line number, row) for every data row of a CSV or ``.xlsx`` table, one at a time.

    The line number is where the row starts in the file (for ``.xlsx``, the sheet's row number):
    what a person opening it sees.  Cells beyond the header are kept under :data:`EXTRA` (so the
    row is rejected, not silently cut); a row the CSV reader refuses (``csv.Error``, e.g. a field
    over :func:`csv.field_size_limit`) is ``{UNREADABLE: reason}``, and the rows after it are read.

    :param path: the table (CSV or ``.xlsx``).
    :returns: an iterator of (line number, row).
    :raises InputError: for a file that cannot be read.
    """
    with _open(Path(path)) as (_encoding, _header_row, rows):
        yield from rows


def unknown_columns(columns: tuple[str, ...] | list[str], cert_type: CertificateType) -> tuple[str, ...]:
    """The columns no field of ``cert_type`` (nor any core metadata element) is named by: a misspelled
    header would otherwise be ignored on every row, silently.

    :param columns: the table's header.
    :param cert_type: the type the table is collected for.
    :returns: the headers that name nothing, in order.
    """
    from ecert.catalog.model import alias_key
    from ecert.collect.collector import field_names

    known = field_names(cert_type)
    return tuple(c for c in columns if c and alias_key(c) not in known)


# --- Excel artefacts ---------------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 (with Excel's 1900 leap-year bug)
_DATE_ATTRS = frozenset({"issue_date", "valid_from", "valid_until"})


def excel_hints(row: Mapping[str, str], cert_type: CertificateType) -> list[str]:
    """What Excel did to a row's values, with how to undo it: a long number shown in scientific
    notation (9.11101E+17: the digits are gone) and a date kept as its serial number (45296).

    :param row: column → value of one row.
    :param cert_type: the type the row is collected for.
    :returns: one hint per value Excel changed.
    """
    from ecert.catalog.model import alias_key
    from ecert.collect.collector import field_names

    names = field_names(cert_type)
    dates = _DATE_ATTRS | {i.name for i in cert_type.items if i.type == "date"}
    hints = []
    for column, value in row.items():
        text = value.strip()
        if _SCIENTIFIC.fullmatch(text):
            hints.append(
                f"{column}: {text} is a number Excel shortened to scientific notation and its digits "
                "are lost; format the column as Text in Excel, type the values again and export"
            )
        elif text.isdigit() and len(text) == 5 and names.get(alias_key(column)) in dates:
            day = _EXCEL_EPOCH + timedelta(days=int(text))
            hints.append(
                f"{column}: {text} looks like an Excel date serial number ({day.isoformat()}); format "
                "the column as a date (YYYY-MM-DD) or as text before exporting"
            )
    return hints


def decode_table_bytes(data: bytes) -> str:
    """Whole CSV bytes to text with the rules above (for small inputs read at once)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    order = _utf16_order(data[:_SNIFF])
    if order:
        return data.decode(order, errors="replace")
    return ""  # not UTF-16: the caller decodes as before
