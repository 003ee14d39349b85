"""``CoreMetadata``: the core metadata of an e-certificate (GB/T 36903), immutable and valid.

A ``CoreMetadata`` that exists is valid: construction normalises (surrounding blanks, compact code
forms) and checks every element, raising one :class:`InvalidMetadata` that lists *all* problems,
each with the element (attribute name) it concerns.  Flat dictionaries in every key style real
systems use (pinyin ``ZZMC``, English ``certificateName``, attribute names) are read by
:meth:`CoreMetadata.from_dict` and written by :meth:`CoreMetadata.to_dict`; the rules themselves
are in :mod:`ecert.metadata.rules`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import date, datetime
from typing import Any, Literal

from ecert.codes import uscc
from ecert.errors import EcertError, FieldProblem, InvalidMetadata
from ecert.identifier import Identifier
from ecert.metadata.elements import (
    ELEMENTS,
    HOLDER_CODE_TYPES,
    LIST_SEPARATOR,
    LONG_TERM,
    attr_for_key,
    element,
)
from ecert.metadata.rules import check, check_text, int_text, parse_date, problem_from

__all__ = [
    "LONG_TERM",
    "AnnotatedCopy",
    "Authority",
    "CoreMetadata",
    "DisplayElement",
    "KeyStyle",
    "RelatedItem",
    "element_texts",
    "elements",
    "parse_date",
]

KeyStyle = Literal["pinyin", "english", "attr"]
#: Words real systems write for "no end of validity" (only 长期 is ever written by ecert).
LONG_TERM_WORDS = frozenset({LONG_TERM, "长期有效", "永久", "永久有效"})
_COPY_ATTRS = ("copy_made_at", "copy_maker", "copy_reason", "copy_valid_until")
_RELATED_ATTRS = ("related_item_name", "related_item_code")


def _raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise InvalidMetadata(problems)


@dataclass(frozen=True, slots=True)
class Authority:
    """An issuing or defining authority: its name and 统一社会信用代码 (GB 32100, validated)."""

    name: str
    code: str

    def __post_init__(self) -> None:
        p: list[FieldProblem] = []
        name = check_text("name", self.name, p, required=True, max_length=256)
        code = None
        try:
            code = uscc.validate(self.code)
        except (EcertError, TypeError, AttributeError) as exc:
            p.append(problem_from("code", exc, self.code))
        _raise_if(p)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "code", code)


@dataclass(frozen=True, slots=True)
class AnnotatedCopy:
    """加注件: an original stamped for one use (制作时间, 制作者, 制作事由, 有效期截止时间; STANDARDS §1)."""

    made_at: datetime
    maker: str
    reason: str
    valid_until: date | None = None

    def __post_init__(self) -> None:
        p: list[FieldProblem] = []
        made = self.made_at
        if not isinstance(made, datetime) or made.utcoffset() is None:
            p.append(FieldProblem("copy_made_at", "needs a timezone-aware date and time", made))
        elif made.utcoffset().total_seconds() % 60:  # type: ignore[union-attr]
            p.append(
                FieldProblem("copy_made_at", "time zone offset must be whole minutes (XML Schema)", made)
            )
        maker = check_text(
            "copy_maker", self.maker, p, required=True, max_length=element("copy_maker").max_length
        )
        reason = check_text(
            "copy_reason", self.reason, p, required=True, max_length=element("copy_reason").max_length
        )
        until = self.valid_until
        if isinstance(until, datetime):
            until = until.date()
        if until is not None and not isinstance(until, date):
            p.append(FieldProblem("copy_valid_until", "not a date", until))
        elif until is not None and isinstance(made, datetime) and until < made.date():
            p.append(FieldProblem("copy_valid_until", "ends before the copy was made", until.isoformat()))
        _raise_if(p)
        object.__setattr__(self, "maker", maker)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "valid_until", until)


@dataclass(frozen=True, slots=True)
class RelatedItem:
    """关联事项: the government service item the certificate was issued for (name and 事项编码)."""

    name: str
    code: str | None = None

    def __post_init__(self) -> None:
        p: list[FieldProblem] = []
        name = check_text("related_item_name", self.name, p, required=True, max_length=512)
        code = check_text("related_item_code", self.code, p, required=False, max_length=64)
        if name and LIST_SEPARATOR in name:
            p.append(FieldProblem("related_item_name", f"may not contain {LIST_SEPARATOR}", name))
        if code and (LIST_SEPARATOR in code or re.search(r"\s", code)):
            p.append(FieldProblem("related_item_code", f"may not contain blanks or {LIST_SEPARATOR}", code))
        _raise_if(p)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "code", code)


@dataclass(frozen=True, slots=True)
class DisplayElement:
    """One element for display or an OFD ``CustomData`` (name = pinyin key, value = text)."""

    attr: str
    key: str
    label_zh: str
    text: str


@dataclass(frozen=True, slots=True)
class CoreMetadata:
    """The core metadata elements of one certificate (GB/T 36903; keys in ``elements.py``)."""

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
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        _raise_if(check(values))
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # --- flat dictionaries ----------------------------------------------------------------------

    def to_dict(self, keys: KeyStyle = "pinyin") -> dict[str, str]:
        """Flat strings in table order, then KZ_* items: dates ``yyyy-MM-dd``, 长期, joined related items."""
        flat = _flat(self)
        out: dict[str, str] = {}
        for e in ELEMENTS:
            if e.attr in flat:
                out[e.pinyin if keys == "pinyin" else e.english if keys == "english" else e.attr] = flat[
                    e.attr
                ]
        out.update(self.extensions)
        return out

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, status_profile: str = "default", strict: bool = True
    ) -> CoreMetadata:
        """Read a flat dictionary in any key style (mixed allowed), reporting every problem at once.

        Unknown keys and one element given twice with different values are problems too.
        ``strict=False`` accepts an identifier whose check character does not match (such
        identifiers circulate, STANDARDS.md §3).

        :param data: element → value, keys in pinyin (``ZZMC``), English (``certificateName``) or
            attribute style.
        :param status_profile: which status code list the ``status`` element follows.
        :param strict: require the identifier's check character to match.
        :returns: the metadata.
        :raises InvalidMetadata: listing every problem (:attr:`~ecert.errors.InvalidMetadata.problems`).
        """
        if not isinstance(data, Mapping):
            raise InvalidMetadata(
                [FieldProblem("<record>", "metadata must be a mapping", type(data).__name__)]
            )
        values: dict[str, Any] = {}
        seen: dict[str, str] = {}
        problems: list[FieldProblem] = []
        extensions: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                problems.append(FieldProblem(repr(key), "element names are text"))
                continue
            attr = "extension" if key.startswith("KZ_") else attr_for_key(key)
            if attr is None:
                problems.append(
                    FieldProblem(key, "unknown metadata element", expected="a key of elements.ELEMENTS")
                )
            elif attr == "extension":
                extensions[key] = value
            elif attr in values and _same(attr, values[attr]) != _same(attr, value):
                problems.append(
                    FieldProblem(attr, f"given as {seen[attr]} and as {key} with different values", value)
                )
            else:
                values[attr], seen[attr] = value, key
        return cls.from_values(
            values, extensions=extensions, status_profile=status_profile, problems=problems, strict=strict
        )

    @classmethod
    def from_values(
        cls,
        values: Mapping[str, Any],
        *,
        extensions: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        status_profile: str = "default",
        problems: Iterable[FieldProblem] = (),
        strict: bool = True,
    ) -> CoreMetadata:
        """Build from attribute-keyed raw values, parsing strings; every problem reported at once.

        Dates may be ``date`` objects, ``yyyy-MM-dd`` or ``yyyyMMdd``; ``valid_until`` may be 长期;
        the identifier may be text; copy and related items may be given whole or flattened.

        :param values: attribute name → value (strings are parsed).
        :param extensions: extension elements (``KZ_*``), as a mapping or pairs.
        :param status_profile: which status code list the ``status`` element follows.
        :param problems: problems the caller already found, reported with these.
        :param strict: require the identifier's check character to match.
        :returns: the metadata.
        :raises InvalidMetadata: listing every problem at once.
        """
        p = list(problems)
        kw = _parse(values, p, strict)
        kw.setdefault("status_profile", status_profile)
        if extensions is not None:
            given = extensions.items() if isinstance(extensions, Mapping) else extensions
            kw["extensions"] = (*kw.get("extensions", ()), *given)
        holder_type = kw.get("holder_code_type_code")
        if not kw.get("holder_code_type") and isinstance(holder_type, str):
            kw["holder_code_type"] = HOLDER_CODE_TYPES.get(holder_type.strip())
        # the values as __post_init__ would see them (defaults filled in), checked here once: the
        # normalised result is what __post_init__ would set, so it is not checked a second time
        full = {**_DEFAULTS, **kw}
        reported = {q.field for q in p}
        p.extend(q for q in check(full) if q.field not in reported)
        _raise_if(p)
        if not full.keys() >= _FIELD_NAMES:
            return cls(**kw)  # a required field check() does not know: let the constructor say so
        made = object.__new__(cls)
        for name in _FIELD_NAMES:
            object.__setattr__(made, name, full[name])
        return made


_FIELD_NAMES = frozenset(f.name for f in fields(CoreMetadata))
_DEFAULTS = {f.name: f.default for f in fields(CoreMetadata) if f.default is not MISSING}


def _same(attr: str, value: Any) -> Any:
    """A value as compared when an element is given twice (20120109 and 2012-01-09 agree)."""
    if _KINDS.get(attr) in ("date", "valid_until"):
        try:
            return parse_date(value)
        except ValueError:
            pass
    return value.strip() if isinstance(value, str) else value


def _text_value(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError(f"not text ({type(raw).__name__})")
    return int_text(raw) if isinstance(raw, int) else str(raw)


_KINDS = {e.attr: e.kind for e in ELEMENTS}


def _parse(values: Mapping[str, Any], p: list[FieldProblem], strict: bool) -> dict[str, Any]:
    """Raw attribute-keyed values -> constructor keywords; problems appended to ``p``."""
    kw: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for key, raw in values.items():
        attr = attr_for_key(key) or key  # pinyin/English keys are tolerated here too
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if isinstance(key, str) and key.startswith("KZ_"):
            kw.setdefault("extensions", []).append((key, raw))
        elif attr in _COPY_ATTRS or attr in _RELATED_ATTRS:
            flat[attr] = raw
        elif attr == "long_term" and isinstance(raw, bool):
            kw["long_term"] = kw.get("long_term", False) or raw
        elif attr == "valid_until" and isinstance(raw, str) and raw.strip() in LONG_TERM_WORDS:
            kw["long_term"] = True
        elif attr in ("copy", "extensions", "status_profile"):
            kw[attr] = raw
        else:
            try:
                kw[attr] = _parse_one(attr, raw, strict)
            except (EcertError, ValueError, TypeError, OverflowError) as exc:
                p.append(problem_from(attr, exc, raw))
    if any(a in flat for a in _COPY_ATTRS):
        _parse_copy(flat, kw, p)
    if any(a in flat for a in _RELATED_ATTRS):
        _parse_related(flat, kw, p)
    return kw


def _parse_one(attr: str, raw: Any, strict: bool) -> Any:
    kind = _KINDS.get(attr)
    if attr == "identifier":
        return (
            raw if isinstance(raw, Identifier) else Identifier.parse(_text_value(raw).strip(), strict=strict)
        )
    if kind in ("date", "valid_until"):
        return parse_date(raw)
    if attr == "related_items":
        return _related_list(raw)
    if kind is None:
        raise ValueError("unknown metadata element" if attr != "long_term" else "long_term is true or false")
    return _text_value(raw)


def _related_list(raw: Any) -> tuple[RelatedItem, ...]:
    items = [raw] if isinstance(raw, str | Mapping | RelatedItem) else list(raw)
    out = []
    for entry in items:
        if isinstance(entry, RelatedItem):
            out.append(entry)
        elif isinstance(entry, Mapping):
            out.append(RelatedItem(_text_value(entry.get("name", "")), entry.get("code") or None))
        else:
            out.append(RelatedItem(_text_value(entry)))
    return tuple(out)


def _parse_copy(values: Mapping[str, Any], kw: dict[str, Any], p: list[FieldProblem]) -> None:
    made: Any = values.get("copy_made_at")
    if isinstance(made, str):
        try:
            made = datetime.fromisoformat(made.strip())
        except ValueError:
            p.append(
                FieldProblem(
                    "copy_made_at", "not an ISO 8601 date and time", made, "yyyy-MM-ddTHH:mm:ss+08:00"
                )
            )
            return
    until: Any = values.get("copy_valid_until")
    try:
        until = parse_date(until) if until not in (None, "") else None
        kw["copy"] = AnnotatedCopy(
            made, values.get("copy_maker") or "", values.get("copy_reason") or "", until
        )
    except InvalidMetadata as exc:
        p.extend(exc.problems)
    except (ValueError, TypeError) as exc:
        p.append(problem_from("copy_valid_until", exc, until))


def _parse_related(values: Mapping[str, Any], kw: dict[str, Any], p: list[FieldProblem]) -> None:
    try:
        names = _text_value(values.get("related_item_name") or "").split(LIST_SEPARATOR)
        raw_codes = values.get("related_item_code")
        codes = (
            _text_value(raw_codes).split(LIST_SEPARATOR) if raw_codes not in (None, "") else [""] * len(names)
        )
    except ValueError as exc:
        p.append(problem_from("related_item_name", exc, values.get("related_item_name")))
        return
    if len(codes) != len(names):
        p.append(FieldProblem("related_item_code", "not one code per related item name", raw_codes))
        return
    try:
        kw["related_items"] = tuple(RelatedItem(n, c or None) for n, c in zip(names, codes, strict=True))
    except InvalidMetadata as exc:
        p.extend(exc.problems)


_ORDERED_FIELDS = tuple(f.name for f in fields(CoreMetadata))


def _flat(md: CoreMetadata) -> dict[str, str]:
    """Attribute -> text for every present element (the one place values become strings)."""
    out: dict[str, str] = {}
    for name in _ORDERED_FIELDS:
        value = getattr(md, name)
        if isinstance(value, date):
            out[name] = value.isoformat()
        elif isinstance(value, str | Identifier):
            out[name] = str(value)
    if md.long_term:
        out["valid_until"] = LONG_TERM
    if md.status_profile == "default":
        del out["status_profile"]
    if md.copy is not None:
        out["copy_made_at"] = md.copy.made_at.isoformat()
        out["copy_maker"], out["copy_reason"] = md.copy.maker, md.copy.reason
        if md.copy.valid_until is not None:
            out["copy_valid_until"] = md.copy.valid_until.isoformat()
    if md.related_items:
        out["related_item_name"] = LIST_SEPARATOR.join(r.name for r in md.related_items)
        if any(r.code for r in md.related_items):
            out["related_item_code"] = LIST_SEPARATOR.join(r.code or "" for r in md.related_items)
    return out


def elements(md: CoreMetadata) -> tuple[DisplayElement, ...]:
    """Every present element as display text, in table order, then the KZ_* items (key as label)."""
    flat = _flat(md)
    shown = [DisplayElement(e.attr, e.pinyin, e.label_zh, flat[e.attr]) for e in ELEMENTS if e.attr in flat]
    shown.extend(DisplayElement(k, k, k, v) for k, v in md.extensions)
    return tuple(shown)


def element_texts(md: CoreMetadata) -> dict[str, str]:
    """``{e.key: e.text for e in elements(md)}`` without the display values: what a verifier
    compares with ``DocInfo/CustomDatas`` for every file it checks."""
    flat = _flat(md)
    shown = {e.pinyin: flat[e.attr] for e in ELEMENTS if e.attr in flat}
    shown.update(md.extensions)
    return shown
