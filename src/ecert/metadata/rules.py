"""The validation rules of core metadata (GB/T 36903), each problem reported with its element.

:func:`check` runs on a dictionary of attribute values, not on a half-made object, so that
``CoreMetadata.__post_init__`` and ``CoreMetadata.from_values`` (which may lack elements that did
not parse) share one set of rules and report *all* problems at once.  It also normalises values in
place: surrounding blanks, compact code forms (GB 32100, GB 11643, GB/T 2260), sorted extensions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ecert.codes import citizen_id, division, uscc
from ecert.errors import EcertError, FieldProblem, InputError
from ecert.identifier import Identifier
from ecert.metadata.elements import (
    ELEMENTS,
    HOLDER_CODE_TYPE_CITIZEN_ID,
    HOLDER_CODE_TYPE_USCC,
    HOLDER_CODE_TYPES,
    element,
)
from ecert.metadata.status import get_status_profile

__all__ = [
    "EXTENSION_KEY",
    "EXTENSION_MAX_LENGTH",
    "check",
    "check_text",
    "int_text",
    "parse_date",
    "problem_from",
]

#: Extension (照面) items: KZ_ prefix as real systems use it (STANDARDS.md §2).
EXTENSION_KEY = re.compile(r"KZ_[A-Za-z0-9_]{1,64}")
EXTENSION_MAX_LENGTH = 4000  # [U] no source; large enough for a 备注 paragraph
#: 21 characters: the defining authority's USCC (18) + a 3-digit sequence (STANDARDS.md §3, §4).
TYPE_CODE = re.compile(r"[0-9A-Z]{18}(?!000)[0-9]{3}")
# Characters XML 1.0 cannot carry (or that no element should hold): C0/C1 controls, DEL,
# surrogates, U+FFFE/U+FFFF.  One-line elements also refuse tab and line breaks.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_NOT_ONE_LINE = re.compile("[\t\n\u2028\u2029]")
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
# CoreMetadata's own text attributes (copy_* belong to AnnotatedCopy; the identifier is a value object)
_SCALARS = tuple(
    e.attr
    for e in ELEMENTS
    if e.kind in ("text", "code") and e.attr != "identifier" and not e.attr.startswith("copy_")
)
_CODE_FUNCS = {HOLDER_CODE_TYPE_CITIZEN_ID: citizen_id.validate, HOLDER_CODE_TYPE_USCC: uscc.validate}


def int_text(value: int) -> str:
    """The text a number from a JSON record stands for (``str(value)``).

    Raises ``ValueError`` with a readable message for an int too long for ``str()`` (over 4300
    digits), which is no element's value anyway, instead of Python's own message.
    """
    try:
        return str(value)
    except ValueError:
        raise ValueError("number too long to be read as text; expected at most 4300 digits") from None


def parse_date(value: object) -> date:
    """A ``date`` from ``yyyy-MM-dd`` or ``yyyyMMdd`` (both are used by real systems, STANDARDS.md §2)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if isinstance(value, int) and not isinstance(value, bool):
        text = int_text(value)
    m = _DATE.fullmatch(text)
    if m is None or (("-" in text) != (len(text) == 10)):
        raise ValueError("not a date; expected yyyy-MM-dd or yyyyMMdd")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError("no such day; expected a real calendar date") from None


def problem_from(field: str, exc: BaseException, value: object) -> FieldProblem:
    """One problem from an error raised while reading ``field`` (keeps where/expected of EcertErrors)."""
    if isinstance(exc, InputError):
        message = exc.message + (f" at {exc.where}" if exc.where else "")
        return FieldProblem(field, message, _short(value), exc.expected)
    message, _, expected = str(exc).partition("; expected ")
    return FieldProblem(field, message, _short(value), expected or None)


def _short(value: object) -> object:
    if isinstance(value, str) and len(value) > 80:
        return value[:77] + "..."
    return value


def check_text(
    field: str,
    raw: object,
    p: list[FieldProblem],
    *,
    required: bool,
    max_length: int | None,
    one_line: bool = True,
    what: str = "element",
) -> Any:
    """The stripped text, or None (absent/blank optional, or a problem appended to ``p``)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            p.append(FieldProblem(field, f"required {what} is missing or empty"))
        return None
    if not isinstance(raw, str):
        p.append(FieldProblem(field, "not text", type(raw).__name__, "str"))
        return None
    text = raw.strip()
    bad = _NOT_XML.search(text) or (_NOT_ONE_LINE.search(text) if one_line else None)
    if bad is not None:
        p.append(FieldProblem(field, f"contains the control character U+{ord(bad[0]):04X}", _short(text)))
        return None
    if max_length is not None and len(text) > max_length:
        p.append(FieldProblem(field, f"longer than {max_length} characters", _short(text), f"≤ {max_length}"))
    return text


def check(v: dict[str, Any]) -> list[FieldProblem]:
    """Every problem of the attribute values ``v``; normalises ``v`` in place (see module doc)."""
    p: list[FieldProblem] = []
    if v.get("status_profile") is None:
        v["status_profile"] = "default"
    for attr in _SCALARS:
        e = element(attr)
        required = e.required or attr == "status_profile"
        what = f"element {e.label_zh} ({e.pinyin})"
        v[attr] = check_text(attr, v.get(attr), p, required=required, max_length=e.max_length, what=what)
    _check_codes(v, p)
    _check_dates(v, p)
    _check_status(v, p)
    _check_parts(v, p)
    return p


def _validated(attr: str, func: Any, v: dict[str, Any], p: list[FieldProblem]) -> bool:
    try:
        v[attr] = func(v[attr])
    except (EcertError, ValueError) as exc:
        p.append(problem_from(attr, exc, v[attr]))
        return False
    return True


_CODE_OF_NAME = {name: code for code, name in HOLDER_CODE_TYPES.items()}


def _check_codes(v: dict[str, Any], p: list[FieldProblem]) -> None:
    ident = v.get("identifier")
    if ident is None:
        p.append(FieldProblem("identifier", "required element 证照标识 (ZZBS) is missing"))
    elif not isinstance(ident, Identifier):
        p.append(
            FieldProblem(
                "identifier", "not an Identifier", type(ident).__name__, "ecert.identifier.Identifier"
            )
        )
        ident = None
    type_code = v.get("type_code")
    if type_code is not None:
        if not TYPE_CODE.fullmatch(type_code) or not uscc.is_valid(type_code[:18]):
            p.append(
                FieldProblem(
                    "type_code",
                    "not a certificate type code",
                    type_code,
                    "the defining authority's 18-character USCC + 3 digits 001-999",
                )
            )
        elif ident is not None and ident.type_code != type_code:
            p.append(
                FieldProblem(
                    "identifier", "names another certificate type", str(ident), f"type code {type_code}"
                )
            )
    issuer_ok = v.get("issuer_code") is not None and _validated("issuer_code", uscc.validate, v, p)
    if (
        issuer_ok
        and ident is not None
        and ident.issuer_code_kind == "uscc"
        and ident.issuer_code != v["issuer_code"]
    ):
        p.append(
            FieldProblem(
                "identifier", "names another issuing authority", str(ident), f"issuer code {v['issuer_code']}"
            )
        )
    kind = v.get("holder_code_type_code")
    if kind is not None and kind not in HOLDER_CODE_TYPES:
        p.append(
            FieldProblem(
                "holder_code_type_code",
                "unknown holder code type",
                kind,
                ", ".join(f"{c} {n}" for c, n in HOLDER_CODE_TYPES.items()),
            )
        )
    name = v.get("holder_code_type")
    named = _CODE_OF_NAME.get(name.strip()) if isinstance(name, str) else None
    if kind in HOLDER_CODE_TYPES and named is not None and named != kind:
        # a variant wording (居民身份证) is fine; the registered name of *another* type contradicts it
        p.append(
            FieldProblem(
                "holder_code_type",
                f"names type {named} but the type code is {kind}",
                name,
                f"{HOLDER_CODE_TYPES[kind]} (the name of type {kind})",
            )
        )
    if v.get("holder_code") is not None:
        if kind in _CODE_FUNCS:
            _validated("holder_code", _CODE_FUNCS[kind], v, p)
        elif re.search(r"\s", v["holder_code"]):
            p.append(FieldProblem("holder_code", "a code has no blanks inside", v["holder_code"]))
    if v.get("area_code") is not None:
        _validated("area_code", division.validate, v, p)


def _date_value(attr: str, v: dict[str, Any], p: list[FieldProblem], required: bool) -> date | None:
    value = v.get(attr)
    if isinstance(value, datetime):
        value = v[attr] = value.date()
    if value is None and required:
        p.append(
            FieldProblem(
                attr, f"required element {element(attr).label_zh} ({element(attr).pinyin}) is missing"
            )
        )
    elif value is not None and not isinstance(value, date):
        p.append(FieldProblem(attr, "not a date", _short(value), "datetime.date"))
        return None
    return value


def _check_dates(v: dict[str, Any], p: list[FieldProblem]) -> None:
    issued = _date_value("issue_date", v, p, True)
    start = _date_value("valid_from", v, p, False)
    until = _date_value("valid_until", v, p, False)
    long_term = v.setdefault("long_term", False)
    if not isinstance(long_term, bool):
        p.append(FieldProblem("long_term", "not true or false", long_term))
    elif long_term and until is not None:
        p.append(
            FieldProblem("valid_until", "a long-term (长期) certificate has no end date", until.isoformat())
        )
    if start and until and start > until:
        p.append(
            FieldProblem(
                "valid_until", "ends before it starts", until.isoformat(), f"on or after {start.isoformat()}"
            )
        )
    if issued and until and issued > until:
        p.append(
            FieldProblem(
                "issue_date",
                "issued after the end of validity",
                issued.isoformat(),
                f"on or before {until.isoformat()}",
            )
        )


def _check_status(v: dict[str, Any], p: list[FieldProblem]) -> None:
    name = v.get("status_profile")
    if name is None:
        return
    try:
        profile = get_status_profile(name)
    except EcertError as exc:
        p.append(problem_from("status_profile", exc, name))
        return
    status = v.get("status")
    if status is not None and status not in profile.codes:
        p.append(
            FieldProblem(
                "status",
                f"not a status code of profile {profile.name}",
                status,
                ", ".join(f"{c} {label}" for c, label in profile.codes.items()),
            )
        )


def _check_parts(v: dict[str, Any], p: list[FieldProblem]) -> None:
    from ecert.metadata.model import AnnotatedCopy, RelatedItem  # the value classes live with the model

    copy = v.setdefault("copy", None)
    if copy is not None and not isinstance(copy, AnnotatedCopy):
        p.append(FieldProblem("copy", "not an AnnotatedCopy", type(copy).__name__))
    related = v.setdefault("related_items", ())
    if isinstance(related, list | tuple) and all(isinstance(r, RelatedItem) for r in related):
        v["related_items"] = tuple(related)
    else:
        p.append(FieldProblem("related_items", "not a tuple of RelatedItem", type(related).__name__))
    _check_extensions(v, p)


def _check_extensions(v: dict[str, Any], p: list[FieldProblem]) -> None:
    raw = v.setdefault("extensions", ())
    pairs = list(raw.items()) if isinstance(raw, Mapping) else raw
    if isinstance(pairs, str) or not isinstance(pairs, list | tuple):
        p.append(FieldProblem("extensions", "not a sequence of (KZ_ key, text) pairs", type(raw).__name__))
        return
    out: dict[str, str] = {}
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and isinstance(pair[0], str)):
            p.append(FieldProblem("extensions", "not a (KZ_ key, text) pair", _short(repr(pair))))
            continue
        key, value = pair
        if not EXTENSION_KEY.fullmatch(key):
            p.append(
                FieldProblem(
                    key,
                    "extension keys are KZ_ and 1-64 letters, digits or _",
                    _short(key),
                    EXTENSION_KEY.pattern,
                )
            )
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                value = int_text(value)  # numbers in JSON records are text on the face
            except ValueError as exc:
                p.append(problem_from(key, exc, value))
                continue
        text = (
            check_text(key, value, p, required=False, max_length=EXTENSION_MAX_LENGTH, one_line=False) or ""
        )
        if key in out and out[key] != text:
            p.append(FieldProblem(key, "extension given twice with different values", _short(text)))
        out.setdefault(key, text)
    v["extensions"] = tuple(sorted(out.items()))
