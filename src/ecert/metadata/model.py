"""``CoreMetadata``: the core metadata of an e-certificate (GB/T 36903), immutable and valid.

A ``CoreMetadata`` that exists is valid: construction checks every element and raises one
:class:`InvalidMetadata` listing all problems, each with the element it concerns.  Dictionaries
in any key style real systems use (pinyin ``ZZMC``, English ``certificateName``, attribute names)
are read by :meth:`CoreMetadata.from_dict` and written by :meth:`CoreMetadata.to_dict`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal

from ecert.codes import citizen_id, division, uscc
from ecert.errors import EcertError, FieldProblem, InvalidMetadata
from ecert.identifier import Identifier
from ecert.metadata.elements import ELEMENTS, HOLDER_CODE_TYPES, attr_for_key, element
from ecert.metadata.status import get_status_profile

__all__ = [
    "LONG_TERM",
    "AnnotatedCopy",
    "Authority",
    "CoreMetadata",
    "DisplayElement",
    "RelatedItem",
    "elements",
]

LONG_TERM = "长期"
_LONG_TERM_WORDS = frozenset(
    {"长期", "长期有效", "永久", "永久有效", "long-term", "LONG-TERM", "9999-12-31", "99991231"}
)
_KZ = re.compile(r"^KZ_[A-Za-z0-9_]{1,64}$")
KeyStyle = Literal["pinyin", "english", "attr"]


@dataclass(frozen=True, slots=True)
class Authority:
    """An issuing or defining authority: its name and 统一社会信用代码 (validated)."""

    name: str
    code: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", uscc.validate(self.code))
        if not self.name.strip():
            raise InvalidMetadata([FieldProblem("issuer_name", "authority name is empty")])


@dataclass(frozen=True, slots=True)
class AnnotatedCopy:
    """加注件: an original stamped for one use (制作时间, 制作者, 制作事由, 有效期截止时间)."""

    made_at: datetime
    maker: str
    reason: str
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class RelatedItem:
    """关联事项: the government service item the certificate is for (name and code)."""

    name: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class DisplayElement:
    """One element for display or ``CustomData``: key (pinyin), Chinese label, text."""

    attr: str
    key: str
    label_zh: str
    text: str


def parse_date(value: object, field: str) -> date:
    """yyyy-MM-dd, yyyyMMdd, yyyy/M/d, yyyy年M月d日 (what real systems write)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?", text)
    if m is None or (len(text) == 8 and not text.isdigit() and "年" not in text):
        raise ValueError(f"{field}: not a date (expected yyyy-MM-dd or yyyyMMdd)")
    return date(int(m[1]), int(m[2]), int(m[3]))


@dataclass(frozen=True, slots=True)
class CoreMetadata:
    """The core metadata elements of one certificate (GB/T 36903; see ``elements.py``)."""

    certificate_name: str
    type_code: str
    number: str
    identifier: Identifier
    issuer_name: str
    issuer_code: str
    issue_date: date
    holder_name: str
    holder_code: str
    holder_code_type: str
    holder_code_type_code: str
    valid_from: date | None = None
    valid_until: date | None = None
    long_term: bool = False
    status: str | None = None
    status_profile: str = "default"
    copy: AnnotatedCopy | None = None
    related_items: tuple[RelatedItem, ...] = ()
    area_code: str | None = None
    extensions: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(sorted(self.extensions)))
        problems = _validate(self)
        if problems:
            raise InvalidMetadata(problems)

    # --- dictionaries ---------------------------------------------------------------------

    def to_dict(self, keys: KeyStyle = "pinyin") -> dict[str, Any]:
        """Flat dictionary (dates ``yyyy-MM-dd``, 长期, KZ_* items) in the chosen key style."""
        values: dict[str, Any] = {}
        for e in ELEMENTS:
            value = _attr_value(self, e.attr)
            if value is None or value == [] or value == "":
                continue
            values[{"pinyin": e.pinyin, "english": e.english, "attr": e.attr}[keys]] = value
        values.update(self.extensions)
        return values

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, status_profile: str = "default") -> CoreMetadata:
        """Read a dictionary in any key style (mixed allowed); every problem reported at once."""
        if not isinstance(data, Mapping):
            raise InvalidMetadata(
                [FieldProblem("<record>", "metadata must be a mapping", type(data).__name__)]
            )
        values: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        extensions: dict[str, str] = {}
        for key, value in data.items():
            key_s = str(key)
            if key_s.startswith("KZ_"):
                extensions[key_s] = "" if value is None else str(value)
                continue
            attr = attr_for_key(key_s)
            if attr is None:
                problems.append(FieldProblem(key_s, "unknown metadata element"))
            elif attr in values and values[attr] != value:
                problems.append(
                    FieldProblem(attr, f"given twice with different values (also as {key_s})", value)
                )
            else:
                values[attr] = value
        return cls.from_values(
            values, extensions=extensions, status_profile=status_profile, problems=problems
        )

    @classmethod
    def from_values(
        cls,
        values: Mapping[str, Any],
        *,
        extensions: Mapping[str, str] | None = None,
        status_profile: str = "default",
        problems: list[FieldProblem] | None = None,
    ) -> CoreMetadata:
        """Build from attribute-keyed raw values (strings are parsed), collecting every problem."""
        problems = list(problems or [])
        kw: dict[str, Any] = {
            "status_profile": status_profile,
            "extensions": tuple((extensions or {}).items()),
        }

        def take(attr: str, conv: Callable[[Any], Any]) -> None:
            raw = values.get(attr)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                return
            try:
                kw[attr] = conv(raw)
            except (EcertError, ValueError, TypeError, OverflowError) as exc:
                problems.append(FieldProblem(attr, str(exc).split(": ", 1)[-1], _short(raw)))

        for attr in (
            "certificate_name",
            "type_code",
            "number",
            "issuer_name",
            "issuer_code",
            "holder_name",
            "holder_code",
            "holder_code_type",
            "holder_code_type_code",
            "status",
            "area_code",
        ):
            take(attr, lambda v: str(v).strip())
        take(
            "identifier",
            lambda v: v if isinstance(v, Identifier) else Identifier.parse(str(v).strip(), strict=False),
        )
        take("issue_date", lambda v: parse_date(v, "issue_date"))
        take("valid_from", lambda v: parse_date(v, "valid_from"))
        raw_until = values.get("valid_until")
        if isinstance(raw_until, str) and raw_until.strip() in _LONG_TERM_WORDS:
            kw["long_term"] = True
        else:
            take("valid_until", lambda v: parse_date(v, "valid_until"))
        if "holder_code_type" not in kw and kw.get("holder_code_type_code") in HOLDER_CODE_TYPES:
            kw["holder_code_type"] = HOLDER_CODE_TYPES[kw["holder_code_type_code"]]
        take("related_items", _related_items)
        copy_fields = {
            a: values.get(a) for a in ("copy_made_at", "copy_maker", "copy_reason", "copy_valid_until")
        }
        if any(v not in (None, "") for v in copy_fields.values()):
            take("copy_made_at", lambda _v: _copy(copy_fields))
            if "copy_made_at" in kw:
                kw["copy"] = kw.pop("copy_made_at")
        for e in ELEMENTS:
            if e.required and e.attr not in kw and not any(p.field == e.attr for p in problems):
                problems.append(
                    FieldProblem(e.attr, f"required element {e.label_zh} ({e.pinyin}) is missing")
                )
        if problems:
            raise InvalidMetadata(problems)
        try:
            return cls(**kw)
        except InvalidMetadata as exc:
            raise InvalidMetadata([*problems, *exc.problems]) from None


def _short(value: object) -> object:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _related_items(raw: Any) -> tuple[RelatedItem, ...]:
    if isinstance(raw, str):
        raw = [raw]
    items = []
    for entry in raw:
        if isinstance(entry, RelatedItem):
            items.append(entry)
        elif isinstance(entry, Mapping):
            items.append(RelatedItem(str(entry.get("name", "")), entry.get("code")))
        else:
            name, _, code = str(entry).partition("|")
            items.append(RelatedItem(name, code or None))
    return tuple(items)


def _copy(values: Mapping[str, Any]) -> AnnotatedCopy:
    made = values.get("copy_made_at")
    when = made if isinstance(made, datetime) else datetime.fromisoformat(str(made))
    if when.tzinfo is None:
        raise ValueError("加注件制作时间 needs a time zone")
    until = values.get("copy_valid_until")
    return AnnotatedCopy(
        when,
        str(values.get("copy_maker") or ""),
        str(values.get("copy_reason") or ""),
        parse_date(until, "copy_valid_until") if until else None,
    )


def _attr_value(md: CoreMetadata, attr: str) -> Any:
    if attr == "valid_until" and md.long_term:
        return LONG_TERM
    if attr.startswith("copy_"):
        c = md.copy
        if c is None:
            return None
        return {
            "copy_made_at": c.made_at.isoformat(),
            "copy_maker": c.maker,
            "copy_reason": c.reason,
            "copy_valid_until": c.valid_until.isoformat() if c.valid_until else None,
        }[attr]
    value = getattr(md, attr)
    if attr == "related_items":
        return [{"name": r.name, **({"code": r.code} if r.code else {})} for r in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Identifier):
        return str(value)
    return value


def elements(md: CoreMetadata) -> tuple[DisplayElement, ...]:
    """Every present element as display text, in table order, then the KZ_* items."""
    out: list[DisplayElement] = []
    for e in ELEMENTS:
        value = _attr_value(md, e.attr)
        if value is None or value == [] or value == "":
            continue
        if e.attr == "related_items":
            value = "；".join(f"{r['name']}（{r['code']}）" if r.get("code") else r["name"] for r in value)
        out.append(DisplayElement(e.attr, e.pinyin, e.label_zh, str(value)))
    out.extend(DisplayElement(k, k, k, v) for k, v in md.extensions)
    return tuple(out)


def _validate(md: CoreMetadata) -> list[FieldProblem]:
    p: list[FieldProblem] = []
    for f in fields(md):
        e = None
        with contextlib.suppress(KeyError):
            e = element(f.name)
        value = getattr(md, f.name)
        if e is not None and isinstance(value, str):
            if e.required and not value.strip():
                p.append(FieldProblem(f.name, f"required element {e.label_zh} ({e.pinyin}) is empty"))
            if e.max_length is not None and len(value) > e.max_length:
                p.append(FieldProblem(f.name, f"longer than {e.max_length} characters", _short(value)))
    if not re.fullmatch(r"[0-9A-Z]{18}\d{3}", md.type_code or ""):
        p.append(
            FieldProblem(
                "type_code",
                "not a certificate type code",
                md.type_code,
                "18-character USCC of the defining authority + 3 digits",
            )
        )
    elif md.identifier.type_code != md.type_code:
        p.append(
            FieldProblem(
                "identifier",
                "identifier names another certificate type",
                str(md.identifier),
                f"type code {md.type_code}",
            )
        )
    try:
        uscc.validate(md.issuer_code)
    except EcertError as exc:
        p.append(FieldProblem("issuer_code", str(exc), md.issuer_code))
    else:
        if md.identifier.issuer_code_kind == "uscc" and md.identifier.issuer_code != md.issuer_code:
            p.append(
                FieldProblem(
                    "identifier",
                    "identifier names another issuing authority",
                    str(md.identifier),
                    f"issuer code {md.issuer_code}",
                )
            )
    checker = {"111": citizen_id.validate, "001": uscc.validate}.get(md.holder_code_type_code)
    if md.holder_code_type_code and not re.fullmatch(r"\d{3}", md.holder_code_type_code):
        p.append(FieldProblem("holder_code_type_code", "not a 3-digit code", md.holder_code_type_code))
    if checker is not None:
        try:
            checker(md.holder_code)
        except EcertError as exc:
            p.append(FieldProblem("holder_code", str(exc), md.holder_code))
    if md.long_term and md.valid_until is not None:
        p.append(FieldProblem("valid_until", "long-term validity cannot also have an end date"))
    if md.valid_from and md.valid_until and md.valid_from > md.valid_until:
        p.append(
            FieldProblem(
                "valid_until",
                "ends before it starts",
                md.valid_until.isoformat(),
                f"on or after {md.valid_from.isoformat()}",
            )
        )
    if md.valid_until and md.issue_date > md.valid_until:
        p.append(FieldProblem("issue_date", "issued after the end of validity", md.issue_date.isoformat()))
    if md.status is not None:
        try:
            profile = get_status_profile(md.status_profile)
        except EcertError as exc:
            p.append(FieldProblem("status_profile", str(exc), md.status_profile))
        else:
            if md.status not in profile.codes:
                p.append(
                    FieldProblem(
                        "status",
                        f"not a status code of profile {profile.name}",
                        md.status,
                        ", ".join(sorted(profile.codes)),
                    )
                )
    if md.area_code is not None:
        try:
            division.validate(md.area_code)
        except EcertError as exc:
            p.append(FieldProblem("area_code", str(exc), md.area_code))
    keys = [k for k, _ in md.extensions]
    for k in keys:
        if not _KZ.match(k):
            p.append(FieldProblem(k, "extension keys are KZ_ followed by letters, digits or _", k))
    if len(set(keys)) != len(keys):
        p.append(FieldProblem("extensions", "an extension key is given twice"))
    return p
