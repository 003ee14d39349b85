"""Collection (采集): a source record becomes a valid certificate draft, or every problem at once."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from ecert.catalog import Catalog, CertificateType, DataItemSpec, default_catalog
from ecert.codes import KINDS as CODE_KINDS
from ecert.codes import citizen_id, uscc
from ecert.collect.draft import CertificateDraft, DataItemValue
from ecert.collect.normalise import (
    is_long_term,
    normalise_code,
    normalise_date,
    normalise_decimal,
    normalise_integer,
    normalise_text,
)
from ecert.crypto.digests import sm3
from ecert.errors import CollectionError, EcertError, FieldProblem, InvalidMetadata
from ecert.identifier import Identifier
from ecert.metadata import LONG_TERM, Authority, CoreMetadata
from ecert.metadata.elements import ELEMENTS

__all__ = ["CollectedRow", "collect", "collect_csv"]

MAX_RECORD_JSON = 1024 * 1024
_SERIAL_KEYS = ("serial", "流水号", "LSH")
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class CollectedRow:
    """One CSV row: the draft, or the problems (never both)."""

    line: int
    record: dict[str, str]
    draft: CertificateDraft | None
    problems: tuple[FieldProblem, ...] = field(default=())


def _key(name: str) -> str:
    return re.sub(r"[\s_\-（）()]", "", str(name)).lower()


def _lookup(ctype: CertificateType) -> dict[str, str]:
    """Normalised source name -> item name / core attribute."""
    table: dict[str, str] = {}
    for e in ELEMENTS:
        for k in (e.attr, e.pinyin, e.english, e.label_zh, *e.alt_keys):
            table[_key(k)] = e.attr
    for item in ctype.items:
        for k in (item.name, item.label, *item.source_names):
            table[_key(k)] = item.name
    for k in _SERIAL_KEYS:
        table[_key(k)] = "serial"
    return table


def _convert(item: DataItemSpec, raw: Any) -> tuple[Any, str]:
    """(typed value, display text) or ValueError."""
    if isinstance(raw, (dict, list)):
        raise ValueError("must be a single value, not a list or object")
    if item.type == "date":
        if is_long_term(raw):
            return LONG_TERM, LONG_TERM
        d = normalise_date(raw)
        return d, f"{d.year}年{d.month}月{d.day}日"
    if item.type == "integer":
        n = normalise_integer(raw)
        return n, str(n)
    if item.type == "decimal":
        v = normalise_decimal(raw, item.unit)
        return v, f"{v}{item.unit or ''}"
    if item.type == "code":
        code = normalise_code(raw)
        module = CODE_KINDS.get(item.code_kind or "")
        if module is None and item.code_kind == "division":
            from ecert.codes import division

            return division.validate(code), code
        if module is not None:
            code = module.validate(code)
        return code, code
    text = normalise_text(raw)
    if item.type == "enum":
        for code, label in item.choices:
            if text in (code, label):
                return code, label
        raise ValueError(f"not one of {', '.join(label for _c, label in item.choices)}")
    if item.pattern and not re.fullmatch(item.pattern, text):
        raise ValueError(f"does not match the pattern {item.pattern}")
    return text, text


def _derived_serial(type_code: str, issuer_code: str, number: str) -> str:
    """20 base-36 characters of SM3(type ‖ issuer ‖ number): re-collecting a record gives the same
    identifier; the registry allocates real serials when issuing in bulk."""
    n = int.from_bytes(sm3(f"{type_code}|{issuer_code}|{number}".encode()), "big")
    out = []
    for _ in range(20):
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(out)


def _holder_type(ctype: CertificateType, holder_code: str | None) -> str | None:
    if len(ctype.holder_code_types) == 1:
        return ctype.holder_code_types[0]
    if holder_code and citizen_id.is_valid(holder_code):
        return "111"
    if holder_code and uscc.is_valid(holder_code):
        return "001"
    return ctype.holder_code_types[0] if ctype.holder_code_types else None


def collect(
    record: Mapping[str, object] | str,
    cert_type: CertificateType | str,
    *,
    issuer: Authority | None = None,
    serial: str | None = None,
    issue_date: date | None = None,
    catalog: Catalog | None = None,
    today: date | None = None,
    strict: bool = False,
) -> CertificateDraft:
    """Map, normalise and validate ``record`` for ``cert_type``.

    Raises one :class:`CollectionError` listing every problem, each with its field.  The serial
    comes from ``serial``, the record (流水号), or is derived from the record (see ``_derived_serial``).
    """
    ctype = (catalog or default_catalog()).get(cert_type) if isinstance(cert_type, str) else cert_type
    if isinstance(record, str):
        if len(record) > MAX_RECORD_JSON:
            raise CollectionError([FieldProblem("<record>", "JSON document too large", len(record))])
        try:
            record = json.loads(record)
        except ValueError as exc:
            raise CollectionError([FieldProblem("<record>", f"not JSON ({exc})")]) from None
    if not isinstance(record, Mapping):
        raise CollectionError([FieldProblem("<record>", "a record must be an object", type(record).__name__)])
    table = _lookup(ctype)
    problems: list[FieldProblem] = []
    raw: dict[str, Any] = {}
    ignored: list[str] = []
    for key, value in record.items():
        target = table.get(_key(str(key)))
        if target is None:
            ignored.append(str(key))
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if target in raw and raw[target] != value:
            problems.append(
                FieldProblem(target, f"given twice with different values (also as {key!r})", value)
            )
            continue
        raw[target] = value
    if strict and ignored:
        problems.extend(FieldProblem(k, "not a field of this certificate type") for k in ignored)

    items: list[DataItemValue] = []
    core: dict[str, Any] = {}
    for item in ctype.items:
        value = raw.pop(item.name, None)
        if value is None:
            if item.required:
                problems.append(FieldProblem(item.name, f"required item {item.label} is missing"))
            continue
        try:
            typed, text = _convert(item, value)
        except (ValueError, EcertError) as exc:
            problems.append(FieldProblem(item.name, f"{item.label}: {getattr(exc, 'message', exc)}", value))
            continue
        if item.max_length is not None and len(text) > item.max_length:
            problems.append(
                FieldProblem(item.name, f"{item.label}: longer than {item.max_length}", text[:40])
            )
            continue
        items.append(DataItemValue(item.name, item.label, typed, text))
        if not item.name.startswith("KZ_"):
            core[item.name] = typed if not isinstance(typed, Decimal) else str(typed)

    for attr, value in raw.items():  # core elements given directly (issuer, dates, number, ...)
        if attr != "serial":
            core.setdefault(attr, value if not isinstance(value, str) else normalise_text(value))

    if issuer is not None:
        core["issuer_name"], core["issuer_code"] = issuer.name, issuer.code
    elif "issuer_code" in core:
        core["issuer_code"] = normalise_code(core["issuer_code"])
    for attr in ("holder_code", "issuer_code"):
        if isinstance(core.get(attr), str):
            core[attr] = normalise_code(core[attr])
    core.setdefault("certificate_name", ctype.name)
    core["type_code"] = ctype.code
    try:
        issued = issue_date or (
            normalise_date(core["issue_date"]) if "issue_date" in core else today or date.today()
        )
    except ValueError as exc:
        problems.append(FieldProblem("issue_date", str(exc), core.get("issue_date")))
        issued = today or date.today()
    core["issue_date"] = issued
    core.setdefault("holder_code_type_code", _holder_type(ctype, core.get("holder_code")))
    _apply_validity(ctype, core, issued)
    core.setdefault("number", _default_number(ctype, core))
    if "issuer_code" not in core:
        problems.append(FieldProblem("issuer_code", "the issuing authority is not given (record or issuer=)"))
    else:
        try:
            core["identifier"] = _identifier(
                ctype, core, serial or _record_serial(raw_serial=record, table=table)
            )
        except EcertError as exc:
            problems.append(FieldProblem("identifier", getattr(exc, "message", str(exc))))
    if problems:
        raise CollectionError(problems)
    try:
        metadata = CoreMetadata.from_values(
            core,
            extensions={i.name: i.text for i in items if i.name.startswith("KZ_")},
            status_profile=ctype.status_profile,
        )
    except InvalidMetadata as exc:
        raise CollectionError(exc.problems) from None
    return CertificateDraft(metadata, ctype, tuple(items), tuple(ignored))


def _apply_validity(ctype: CertificateType, core: dict[str, Any], issued: date) -> None:
    rule = ctype.validity
    if rule.kind == "long_term" and "valid_until" not in core:
        core["valid_until"] = LONG_TERM
        core.setdefault("valid_from", issued)
    elif rule.kind == "fixed_years" and rule.years and "valid_until" not in core:
        start = core.get("valid_from", issued)
        start = start if isinstance(start, date) else normalise_date(start)
        try:
            end = start.replace(year=start.year + rule.years)
        except ValueError:  # 29 February
            end = start.replace(year=start.year + rule.years, day=28)
        core["valid_from"], core["valid_until"] = start, end - timedelta(days=1)


def _default_number(ctype: CertificateType, core: Mapping[str, Any]) -> str:
    """Without a certificate number in the record, the holder code stands in (营业执照 uses it)."""
    return str(core.get("holder_code") or "")


def _record_serial(*, raw_serial: Mapping[str, object], table: Mapping[str, str]) -> str | None:
    for key, value in raw_serial.items():
        if table.get(_key(str(key))) == "serial" and value:
            return normalise_code(value)
    return None


def _identifier(ctype: CertificateType, core: Mapping[str, Any], serial: str | None) -> Identifier:
    issuer_code = str(core["issuer_code"])
    if "identifier" in core:
        return Identifier.parse(str(core["identifier"]))
    serial = serial or _derived_serial(ctype.code, issuer_code, str(core.get("number", "")))
    return Identifier.build(ctype.code, issuer_code, serial)


def collect_csv(
    source: str | Path | TextIO, cert_type: CertificateType | str, **options: Any
) -> Iterator[CollectedRow]:
    """Every row of a CSV file with a header (UTF-8 with or without BOM; GB18030 fallback for paths)."""
    if isinstance(source, (str, Path)) and Path(source).is_file():
        data = Path(source).read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
        stream: TextIO = io.StringIO(text)
    elif isinstance(source, str):
        stream = io.StringIO(source)
    elif isinstance(source, Path):
        raise CollectionError([FieldProblem("<csv>", "file not found", str(source))])
    else:
        stream = source
    reader = csv.DictReader(stream)
    for row in reader:
        line = reader.line_num
        record = {str(k): v for k, v in row.items() if k is not None and v is not None}
        if None in row:
            yield CollectedRow(line, record, None, (FieldProblem("<row>", "more fields than the header"),))
            continue
        try:
            yield CollectedRow(line, record, collect(record, cert_type, **options))
        except CollectionError as exc:
            yield CollectedRow(line, record, None, exc.problems)
