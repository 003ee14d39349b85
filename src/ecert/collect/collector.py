"""Collection (采集): a source record becomes a valid certificate draft, or every problem at once.

Field names are mapped per type (an item's name, label and ``source_names``; the core metadata's
pinyin, English and Chinese names), values are normalised (:mod:`ecert.collect.normalise`) and
typed, the validity follows the type's rule, and the identifier (GB/T 36904) is built.  Nothing is
reported one problem at a time: one :class:`~ecert.errors.CollectionError` lists them all, each
with the item or metadata element it concerns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ecert.catalog import Catalog, CertificateType, default_catalog
from ecert.catalog.model import alias_key
from ecert.codes import citizen_id, uscc
from ecert.collect.draft import CertificateDraft, DataItemValue
from ecert.collect.normalise import (
    _size,
    add_years,
    fold,
    is_long_term,
    item_value,
    normalise_code,
    normalise_date,
    normalise_text,
)
from ecert.crypto.digests import sm3
from ecert.errors import CollectionError, EcertError, FieldProblem, InputError
from ecert.identifier import Identifier
from ecert.metadata import LONG_TERM, Authority, CoreMetadata
from ecert.metadata.elements import ELEMENTS

__all__ = [
    "MAX_RECORD_JSON",
    "MAX_VALUE_CHARS",
    "OPTIONS",
    "check_options",
    "collect",
    "derived_serial",
    "field_names",
    "resolve_type",
]

MAX_RECORD_JSON = 1024 * 1024
MAX_VALUE_CHARS = 20_000
SERIAL = "serial"
_FAILURES = (EcertError, ValueError, TypeError, OverflowError, ArithmeticError)
# Chinese names source systems use for core elements besides GB/T 36903's own (STANDARDS.md §2, §9)
_CORE_ALIASES: dict[str, tuple[str, ...]] = {
    "issuer_name": ("发证机关", "发证机构", "颁发机构", "发证单位", "登记机关", "issuerName"),
    "issuer_code": ("发证机关代码", "颁发机构代码", "issuerCode"),
    "issue_date": ("发证日期", "颁发日期", "签发日期", "核准日期", "issueDate"),
    "valid_from": ("有效期起始日期", "有效期自", "有效期起", "有效期开始日期", "validFrom"),
    "valid_until": ("有效期至", "有效期截止日期", "有效期到", "有效期止", "营业期限至", "validUntil"),
    "number": ("证书编号",),
    "status": ("证照状态",),
}
_SERIAL_NAMES = ("serial", "流水号", "LSH")
_CODE_ATTRS = frozenset({"issuer_code", "holder_code", "holder_code_type_code", "area_code", "type_code"})
_DATE_ATTRS = frozenset({"issue_date", "valid_from", "valid_until"})
_RAW_ATTRS = frozenset({"related_items", "copy_made_at", "copy_maker", "copy_reason", "copy_valid_until"})
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def resolve_type(cert_type: CertificateType | str, catalog: Catalog | None = None) -> CertificateType:
    """A type given by value or by code (looked up in ``catalog`` or the shipped catalogue)."""
    if catalog is not None and not isinstance(catalog, Catalog):
        raise InputError("not a catalogue", where="catalog", value=type(catalog).__name__, expected="Catalog")
    if isinstance(cert_type, CertificateType):
        return cert_type
    return (catalog or default_catalog()).get(cert_type)


def field_names(cert_type: CertificateType) -> Mapping[str, str]:
    """Every input name a record may use for ``cert_type`` (compared by :func:`alias_key`), mapped to
    the item name or core attribute it fills: what tells a misspelled column from a known one."""
    return _field_table(cert_type)


@lru_cache(maxsize=64)
def _field_table(cert_type: CertificateType) -> Mapping[str, str]:
    """Input name (compared by :func:`alias_key`) -> item name or core attribute; items win."""
    table: dict[str, str] = {}
    for e in ELEMENTS:
        for name in (e.attr, e.pinyin, e.english, e.label_zh, *e.alt_keys, *_CORE_ALIASES.get(e.attr, ())):
            table[alias_key(name)] = e.attr
    for name in _SERIAL_NAMES:
        table[alias_key(name)] = SERIAL
    for item in cert_type.items:
        for name in (item.name, item.label, *item.source_names):
            table[alias_key(name)] = item.name
    return table


def derived_serial(type_code: str, issuer_code: str, number: str) -> str:
    """20 upper-case base-36 characters of SM3(type code ‖ issuer code ‖ certificate number).

    Why derived and not random: collecting the same record twice must give the same identifier
    (idempotent re-collection, no duplicates when a batch is re-run); the registry allocates real
    serials when it issues.  Type and issuer codes have fixed lengths, so plain concatenation is
    unambiguous.  36^20 ≈ 2^103 values: collisions need ~2^51 certificates of one issuer and type.

    :param type_code: the 证照类型代码.
    :param issuer_code: the issuer's code.
    :param number: the 证照编号.
    :returns: the serial.
    """
    n = int.from_bytes(sm3(f"{type_code}{issuer_code}{number}".encode()), "big") % 36**20
    out = []
    for _ in range(20):
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))


def _parse_record(record: Mapping[str, object] | str) -> Mapping[Any, object]:
    if isinstance(record, str):
        if len(record) > MAX_RECORD_JSON:
            raise CollectionError([FieldProblem("<record>", "JSON document too large", len(record))])
        try:
            record = json.loads(record)
        except (ValueError, RecursionError) as exc:
            raise CollectionError([FieldProblem("<record>", f"not JSON ({exc})")]) from None
    if not isinstance(record, Mapping):
        raise CollectionError(
            [FieldProblem("<record>", "a record must be an object of fields", type(record).__name__)]
        )
    return record


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _map_fields(
    record: Mapping[Any, object], cert_type: CertificateType, strict: bool, problems: list[FieldProblem]
) -> tuple[dict[str, object], list[str]]:
    table = _field_table(cert_type)
    raw: dict[str, object] = {}
    source: dict[str, str] = {}
    ignored: list[str] = []
    for key, value in record.items():
        try:
            key_s = str(key)
        except ValueError:  # an int key too large to print (JSON keys are strings; mappings need not be)
            problems.append(FieldProblem("<record>", "a field name is not a single text value", _size(key)))
            continue
        target = table.get(alias_key(key_s))
        if target is None:
            ignored.append(key_s)
            if strict:
                problems.append(FieldProblem(key_s, "not a field of this certificate type"))
            continue
        if _blank(value):
            continue
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            problems.append(FieldProblem(target, f"longer than {MAX_VALUE_CHARS} characters", len(value)))
        elif target in raw and raw[target] != value:
            problems.append(
                FieldProblem(target, f"given twice with different values ({source[target]!r} and {key_s!r})")
            )
        else:
            raw[target], source[target] = value, key_s
    return raw, ignored


def _collect_items(
    cert_type: CertificateType, raw: dict[str, object], problems: list[FieldProblem]
) -> list[DataItemValue]:
    items: list[DataItemValue] = []
    for item in cert_type.items:
        value = raw.pop(item.name, None)
        if value is None:
            if item.required:
                problems.append(FieldProblem(item.name, f"{item.label}: required item is missing"))
            continue
        try:
            typed, text = item_value(item, value)
        except _FAILURES as exc:
            problems.append(_problem(item.name, item.label, exc, value))
            continue
        if item.max_length is not None and len(text) > item.max_length:
            problems.append(
                FieldProblem(item.name, f"{item.label}: longer than {item.max_length} characters")
            )
        elif item.pattern and isinstance(typed, str) and not _matches(item.pattern, text):
            problems.append(
                FieldProblem(item.name, f"{item.label}: does not have the expected form", text, item.pattern)
            )
        else:
            items.append(DataItemValue(item.name, item.label, typed, text))
    return items


def _matches(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None


def _problem(field: str, label: str, exc: BaseException, value: object) -> FieldProblem:
    if isinstance(exc, InputError):
        shown = exc.value if exc.value is not None else _short(value)
        return FieldProblem(field, f"{label}: {exc.message}", shown, exc.expected)
    return FieldProblem(field, f"{label}: {exc}", _short(value))


def _short(value: object) -> object:
    if isinstance(value, (str, int, float, Decimal)) and not isinstance(value, bool):
        try:
            text = str(value)
        except ValueError:  # an int over sys.get_int_max_str_digits() digits
            return _size(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return type(value).__name__


def _core_value(attr: str, raw: object) -> object:
    """Normalise one core element given directly in the record."""
    if attr in _RAW_ATTRS:
        return raw
    if attr in _DATE_ATTRS:
        return LONG_TERM if attr == "valid_until" and is_long_term(raw) else normalise_date(raw)
    if attr in _CODE_ATTRS or attr == "identifier":
        return normalise_code(raw)
    if attr == "number":
        return re.sub(r"\s", "", fold(raw))
    return normalise_text(raw)


def _validity(
    cert_type: CertificateType, core: dict[str, object], issued: date, problems: list[FieldProblem]
) -> None:
    """Fill valid_from / valid_until / long_term per the type's :class:`ValidityRule`."""
    rule = cert_type.validity
    until = core.pop("valid_until", None)
    start = core.get("valid_from")
    if not isinstance(start, date):
        start = issued
        core["valid_from"] = start
    if rule.kind == "long_term":
        if until is not None and until != LONG_TERM:
            problems.append(
                FieldProblem("valid_until", f"{cert_type.name} is valid without an end date", until)
            )
        core["valid_until"] = LONG_TERM
        return
    if until == LONG_TERM and rule.kind == "fixed_years":
        problems.append(
            FieldProblem("valid_until", f"{cert_type.name} is valid for {rule.years} years, not long-term")
        )
        return
    if until is not None:
        core["valid_until"] = until
        return
    kind: str | None = rule.kind if rule.kind == "fixed_years" else rule.default
    if kind == "long_term":
        core["valid_until"] = LONG_TERM
    elif kind == "fixed_years" and rule.years is not None:
        try:
            core["valid_until"] = add_years(start, rule.years)
        except InputError as exc:  # e.g. issued 9999-06-01: the period would end after 9999-12-31
            problems.append(_problem("valid_until", "证照有效期截止日期", exc, start.isoformat()))
    else:
        problems.append(FieldProblem("valid_until", "证照有效期截止日期: required for this type, not given"))


def _holder_code_type(
    cert_type: CertificateType, core: dict[str, object], problems: list[FieldProblem]
) -> None:
    given = core.get("holder_code_type_code")
    allowed = cert_type.holder_code_types
    if given is None:
        code = str(core.get("holder_code", ""))
        if len(allowed) == 1:
            given = allowed[0]
        elif "111" in allowed and citizen_id.is_valid(code):
            given = "111"
        elif "001" in allowed and uscc.is_valid(code):
            given = "001"
        else:
            given = allowed[0]
    if given not in allowed:
        problems.append(
            FieldProblem(
                "holder_code_type_code",
                "holder code type not allowed for this type",
                given,
                ", ".join(allowed),
            )
        )
    core["holder_code_type_code"] = given


def _issuer(issuer: Authority | None, core: dict[str, object], problems: list[FieldProblem]) -> str | None:
    """The issuing authority: the ``issuer`` argument wins over the record's ZZBFJG/ZZBFJGDM."""
    if issuer is not None:
        core["issuer_name"], core["issuer_code"] = issuer.name, issuer.code
        return issuer.code
    for attr, label in (
        ("issuer_name", "证照颁发机构 (ZZBFJG)"),
        ("issuer_code", "证照颁发机构代码 (ZZBFJGDM)"),
    ):
        if attr not in core:
            problems.append(FieldProblem(attr, f"{label}: not given (record field or issuer=)"))
    code = core.get("issuer_code")
    if not isinstance(code, str):
        return None
    try:
        return uscc.validate(code)
    except EcertError as exc:
        problems.append(_problem("issuer_code", "证照颁发机构代码", exc, code))
        return None


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
    """Map, normalise and validate ``record`` for ``cert_type``; one CollectionError lists every problem.

    * ``record``: a mapping, or a JSON document (malformed JSON is a problem of field ``<record>``);
    * ``issuer``: overrides the record's ZZBFJG/ZZBFJGDM; ``issue_date``: overrides ZZBFRQ, which
      defaults to ``today`` (itself defaulting to the local date);
    * ``serial``: the identifier's 流水号; else the record's (流水号/serial/LSH), else the record's own
      identifier (ZZBS), else :func:`derived_serial`;
    * ``strict``: fields the type does not know are problems (by default they are ignored and
      listed in ``draft.ignored_fields``).

    Arguments of the wrong type raise :class:`InputError` (they are the caller's, not the record's);
    a :class:`datetime` given as ``issue_date`` or ``today`` stands for its calendar date.

    :param record: the source record (a mapping, or JSON text).
    :param cert_type: the type, or its code.
    :param issuer: the issuing department (overrides the record's).
    :param serial: the identifier's 流水号.
    :param issue_date: the 证照颁发日期.
    :param catalog: where a type code is looked up (default: the shipped types).
    :param today: the date 颁发日期 defaults to.
    :param strict: treat fields the type does not know as problems.
    :returns: the validated draft.
    :raises CollectionError: listing every problem of the record.
    :raises InputError: for an argument of the wrong type.
    :raises UnknownType: for an unknown type code.
    """
    issue_date, today = check_options(issuer, serial, issue_date, today)
    ctype = resolve_type(cert_type, catalog)
    data = _parse_record(record)
    problems: list[FieldProblem] = []
    raw, ignored = _map_fields(data, ctype, strict, problems)
    items = _collect_items(ctype, raw, problems)
    core: dict[str, object] = {}
    for it in items:
        if not it.name.startswith("KZ_"):
            core[it.name] = str(it.value) if isinstance(it.value, (int, Decimal)) else it.value
    record_serial = raw.pop(SERIAL, None)
    for attr, value in raw.items():
        try:
            core[attr] = _core_value(attr, value)
        except _FAILURES as exc:
            problems.append(_problem(attr, attr, exc, value))
    given_type = core.pop("type_code", ctype.code)
    if given_type != ctype.code:
        problems.append(
            FieldProblem("type_code", "the record is of another certificate type", given_type, ctype.code)
        )
    core["type_code"] = ctype.code
    core.setdefault("certificate_name", ctype.name)
    issuer_code = _issuer(issuer, core, problems)
    given_date = core.get("issue_date")
    issued = issue_date or (given_date if isinstance(given_date, date) else None) or today or date.today()
    core["issue_date"] = issued
    _holder_code_type(ctype, core, problems)
    _validity(ctype, core, core["issue_date"], problems)  # type: ignore[arg-type]
    if "number" not in core and "number" in {i.name for i in ctype.items} and "holder_code" in core:
        core["number"] = core["holder_code"]  # the type numbers certificates by the holder's code
    _identifier(ctype, core, issuer_code, serial, record_serial, problems)
    extensions = {it.name: _extension_text(it) for it in items if it.name.startswith("KZ_")}
    try:
        metadata = CoreMetadata.from_values(core, extensions=extensions, status_profile=ctype.status_profile)
    except EcertError as exc:
        reported = {p.field for p in problems}
        if issuer_code is None:  # no identifier can be built without an issuer: said once, as issuer_*
            reported.add("identifier")
        more = getattr(exc, "problems", ()) or (FieldProblem("<metadata>", str(exc)),)
        problems.extend(p for p in more if p.field not in reported)
        raise CollectionError(problems) from None
    if problems:
        raise CollectionError(problems)
    return CertificateDraft(metadata, ctype, tuple(items), tuple(ignored))


def check_options(
    issuer: object, serial: object, issue_date: object, today: object
) -> tuple[date | None, date | None]:
    """Refuse arguments of the wrong type rather than failing later or silently using today.

    Returns ``issue_date`` and ``today`` as plain dates (a datetime stands for its date).
    """
    if issuer is not None and not isinstance(issuer, Authority):
        raise InputError(
            "not an issuing authority",
            where="issuer",
            value=type(issuer).__name__,
            expected="Authority(name, code) or None",
        )
    if serial is not None and not isinstance(serial, str):
        raise InputError("not a serial", where="serial", value=type(serial).__name__, expected="str or None")
    dates: list[date | None] = []
    for name, value in (("issue_date", issue_date), ("today", today)):
        if isinstance(value, datetime):
            value = value.date()
        elif value is not None and not isinstance(value, date):
            raise InputError("not a date", where=name, value=_short(value), expected="datetime.date or None")
        dates.append(value)
    return dates[0], dates[1]


OPTIONS = frozenset({"issuer", "serial", "issue_date", "catalog", "today", "strict"})


def _identifier(
    ctype: CertificateType,
    core: dict[str, object],
    issuer_code: str | None,
    serial: str | None,
    record_serial: object,
    problems: list[FieldProblem],
) -> None:
    given = core.pop("identifier", None)
    if issuer_code is None:
        return  # reported as an issuer problem
    try:
        if serial is None and record_serial is not None:
            serial = normalise_code(record_serial)
        if serial is None and given is not None:
            core["identifier"] = Identifier.parse(str(given))
            return
        if serial is None:
            serial = derived_serial(ctype.code, issuer_code, str(core.get("number", "")))
        core["identifier"] = Identifier.build(ctype.code, issuer_code, serial)
    except _FAILURES as exc:
        problems.append(_problem("identifier", "证照标识", exc, serial if given is None else given))


def _extension_text(item: DataItemValue) -> str:
    """KZ_* value in metadata: ISO dates and plain numbers (machines), labels for enums (as shown)."""
    if isinstance(item.value, date):
        return item.value.isoformat()
    if isinstance(item.value, (int, Decimal)):
        return str(item.value)
    return item.text
