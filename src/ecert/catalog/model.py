"""Certificate types (证照类型) as immutable values: what a type defines, checked on construction.

A certificate type is data, not code (GB/T 36902 目录信息; the per-type national platform
standards C0xxx, chapter 5 证照信息项 and chapter 7 样式要求, STANDARDS.md §0 and §4): its 21-character
code (the defining authority's 统一社会信用代码 + a 3-digit sequence), who may hold it, how its
validity is set, which status codes it uses and which data items (照面信息项) it carries.  Adding a
type means adding a JSON file under ``spec/types/``, never code.

A :class:`CertificateType` that exists is consistent (parse, don't validate); the file-level checks
that name JSON paths live in :mod:`ecert.catalog.loader`.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from ecert.codes import uscc
from ecert.errors import EcertError, InvalidTypeDefinition
from ecert.metadata import HOLDER_CODE_TYPES, Authority

__all__ = [
    "CODE_SCHEMES",
    "CORE_ITEM_NAMES",
    "ITEM_TYPES",
    "CertificateType",
    "CodeKind",
    "DataItemSpec",
    "FaceSpecData",
    "HolderKind",
    "ItemType",
    "ValidityRule",
    "alias_key",
]

ItemType = Literal["string", "date", "integer", "decimal", "code", "enum"]
CodeKind = Literal["uscc", "citizen-id", "org-code", "division"]
ITEM_TYPES: tuple[ItemType, ...] = ("string", "date", "integer", "decimal", "code", "enum")
#: Code schemes a ``code`` item may name (modules of :mod:`ecert.codes`).
CODE_SCHEMES: tuple[CodeKind, ...] = ("uscc", "citizen-id", "org-code", "division")
#: Core metadata attributes a data item may stand for (the type gives them its own label, e.g.
#: 营业执照 calls 持证主体 "名称").  Identifier, type code and issuer come from elsewhere.
CORE_ITEM_NAMES: frozenset[str] = frozenset(
    {"holder_name", "holder_code", "number", "valid_from", "valid_until", "issue_date", "area_code"}
)
_KZ_NAME = re.compile(r"^KZ_[A-Za-z0-9_]{1,64}$")
_TYPE_CODE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{18}[0-9]{3}$")


class HolderKind(enum.Enum):
    """Who holds a certificate (持证主体类别, GB/T 36901 roles)."""

    NATURAL_PERSON = "natural_person"
    LEGAL_PERSON = "legal_person"
    OTHER_ORGANISATION = "other_organisation"


ValidityKind = Literal["long_term", "fixed_years", "given"]


@dataclass(frozen=True, slots=True)
class ValidityRule:
    """How a type's validity period is set.

    * ``long_term``: never expires (长期);
    * ``fixed_years``: ends ``years`` years after it starts, the day before (e.g. 3 years);
    * ``given``: the record says; ``default`` (``long_term`` or ``fixed_years`` with ``years``)
      applies when the record is silent, and without a default the record must say.
    """

    kind: ValidityKind
    years: int | None = None
    default: Literal["long_term", "fixed_years"] | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        needs_years = self.kind == "fixed_years" or self.default == "fixed_years"
        if self.kind not in ("long_term", "fixed_years", "given"):
            problems.append(f"unknown validity kind {self.kind!r}")
        if self.default is not None and self.kind != "given":
            problems.append("only a 'given' validity has a default")
        if needs_years and (self.years is None or not 1 <= self.years <= 100):
            problems.append("'fixed_years' needs years between 1 and 100")
        if not needs_years and self.years is not None:
            problems.append("years only applies to 'fixed_years'")
        if problems:
            raise InvalidTypeDefinition("; ".join(problems), where="validity")


@dataclass(frozen=True, slots=True)
class DataItemSpec:
    """One data item (照面/信息项) of a type.

    ``name`` is a ``KZ_*`` extension key or a core metadata attribute from
    :data:`CORE_ITEM_NAMES`; ``source_names`` are the other names source systems use for it
    (Chinese labels, pinyin, English).  ``unit`` is the unit a ``decimal`` is kept in (e.g. 万元),
    stated so that "100万元" and "1,000,000元" mean the same amount.
    """

    name: str
    label: str
    type: ItemType = "string"
    required: bool = False
    pattern: str | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (code, label) pairs of an enum, in order
    code_kind: CodeKind | None = None
    max_length: int | None = None
    display: bool = True
    sensitive: bool = False  # 敏感字段: the share service returns it only to applications granted it
    source_names: tuple[str, ...] = ()
    unit: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple((str(c), str(lab)) for c, lab in self.choices))
        object.__setattr__(self, "source_names", tuple(self.source_names))
        problems = _item_problems(self)
        if problems:
            raise InvalidTypeDefinition("; ".join(problems), where=f"item {self.name!r}")

    @property
    def is_core(self) -> bool:
        """Whether the item stands for a core metadata element rather than a KZ_* extension."""
        return not self.name.startswith("KZ_")

    @property
    def choice_labels(self) -> Mapping[str, str]:
        """Enum code -> label."""
        return MappingProxyType(dict(self.choices))


def _item_problems(item: DataItemSpec) -> list[str]:
    p: list[str] = []
    if not (_KZ_NAME.match(item.name) or item.name in CORE_ITEM_NAMES):
        p.append(f"name must be KZ_<letters/digits/_> or one of {', '.join(sorted(CORE_ITEM_NAMES))}")
    if not item.label.strip():
        p.append("label is empty")
    if item.type not in ITEM_TYPES:
        p.append(f"unknown item type {item.type!r}")
    if (item.type == "code") != (item.code_kind is not None):
        p.append("a 'code' item, and only it, names a code_kind")
    if item.code_kind is not None and item.code_kind not in CODE_SCHEMES:
        p.append(f"unknown code kind {item.code_kind!r}")
    if (item.type == "enum") != bool(item.choices):
        p.append("an 'enum' item, and only it, has choices")
    if item.unit is not None and item.type not in ("decimal", "integer"):
        p.append("only numbers have a unit")
    if item.max_length is not None and item.max_length < 1:
        p.append("max_length must be positive")
    if item.pattern is not None:
        try:
            re.compile(item.pattern)
        except (re.error, RecursionError, OverflowError) as exc:  # too deep, too large a repeat
            p.append(f"pattern is not a usable regular expression ({exc})")
    return p


Orientation = Literal["portrait", "landscape"]


@dataclass(frozen=True, slots=True)
class FaceSpecData:
    """Face (照面) layout data for rendering: title, orientation, order of the shown items.

    Kept as data so that the renderer (``ecert.face``/``ecert.layout``) decides geometry; an
    empty ``order`` means "the displayed items in definition order".
    """

    title: str
    orientation: Orientation = "portrait"
    subtitle: str = ""
    order: tuple[str, ...] = ()
    validity_label: str = "有效期限"  # 营业执照: 营业期限
    validity_from: str | None = None  # a date item the shown period starts from (营业执照: 成立日期)
    issuer_label: str = ""  # shown before the issuer's name (营业执照: 登记机关)


@dataclass(frozen=True, slots=True)
class CertificateType:
    """A certificate type of the catalogue (GB/T 36902 目录信息), consistent by construction."""

    code: str
    name: str
    defining_authority: Authority
    domain: str
    holder_kinds: tuple[HolderKind, ...]
    holder_code_types: tuple[str, ...]
    validity: ValidityRule
    items: tuple[DataItemSpec, ...]
    face: FaceSpecData
    status_profile: str = "default"
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        problems = _type_problems(self)
        if problems:
            raise InvalidTypeDefinition("; ".join(problems), where=f"type {self.code}")

    def item(self, name: str) -> DataItemSpec:
        """The item called ``name`` (KeyError when the type has none).

        :param name: the data item's name.
        :returns: its definition.
        """
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    @property
    def displayed_items(self) -> tuple[DataItemSpec, ...]:
        """Items shown on the face, in face order."""
        shown = {i.name: i for i in self.items if i.display}
        if self.face.order:
            return tuple(shown[n] for n in self.face.order if n in shown)
        return tuple(shown.values())

    @property
    def holder_kind(self) -> HolderKind:
        """The first (main) kind of holder."""
        return self.holder_kinds[0]


def _type_problems(t: CertificateType) -> list[str]:
    p: list[str] = []
    if not _TYPE_CODE.match(t.code):
        p.append("code must be an 18-character USCC followed by 3 digits")
    else:
        try:
            uscc.validate(t.code[:18])
        except EcertError as exc:
            p.append(f"code: its first 18 characters are not a valid USCC ({exc})")
        if t.code[:18] != t.defining_authority.code:
            p.append("code must start with the defining authority's USCC")
        if t.code[18:] == "000":
            p.append("the 3-digit sequence of the code starts at 001")
    if not t.name.strip():
        p.append("name is empty")
    if not t.holder_kinds:
        p.append("at least one holder kind is needed")
    if not t.holder_code_types:
        p.append("at least one holder code type is needed")
    p.extend(f"unknown holder code type {c!r}" for c in t.holder_code_types if c not in HOLDER_CODE_TYPES)
    names = [i.name for i in t.items]
    p.extend(f"item {n!r} is defined twice" for n in sorted({n for n in names if names.count(n) > 1}))
    p.extend(f"face order names unknown item {n!r}" for n in t.face.order if n not in names)
    seen: dict[str, str] = {}
    for item in t.items:
        for alias in (item.name, item.label, *item.source_names):
            key = alias_key(alias)
            if key in seen and seen[key] != item.name:
                p.append(f"input name {alias!r} names both {seen[key]!r} and {item.name!r}")
            seen[key] = item.name
    return p


def alias_key(name: str) -> str:
    """How input field names are compared: NFKC, trimmed, case-folded (ZZBH = zzbh = ＺＺＢＨ)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()
