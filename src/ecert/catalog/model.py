"""A certificate type is data: its code, name, classification, validity rule, face and items."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

__all__ = ["CertificateType", "DataItemSpec", "FaceSpecData", "HolderKind", "ItemType", "ValidityRule"]

ItemType = Literal["string", "date", "integer", "decimal", "code", "enum"]
CodeKind = Literal["uscc", "citizen-id", "org-code", "division"]


class HolderKind(enum.Enum):
    NATURAL_PERSON = "natural_person"
    LEGAL_PERSON = "legal_person"
    OTHER_ORGANISATION = "other_organisation"


@dataclass(frozen=True, slots=True)
class ValidityRule:
    """How long a certificate of the type is valid: ``long_term``, ``fixed_years`` or ``given``."""

    kind: Literal["long_term", "fixed_years", "given"]
    years: int | None = None


@dataclass(frozen=True, slots=True)
class DataItemSpec:
    """One data item: ``name`` is a core metadata attribute (e.g. ``holder_name``) or a ``KZ_*`` key."""

    name: str
    label: str
    type: ItemType = "string"
    required: bool = False
    pattern: str | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (code, label) for enum items
    code_kind: CodeKind | None = None
    max_length: int | None = None
    display: bool = True
    source_names: tuple[str, ...] = ()
    unit: str | None = None  # for decimals, e.g. 万元


@dataclass(frozen=True, slots=True)
class FaceSpecData:
    title: str
    subtitle: str = ""
    orientation: Literal["portrait", "landscape"] = "portrait"


@dataclass(frozen=True, slots=True)
class CertificateType:
    code: str
    name: str
    defining_authority_name: str
    defining_authority_code: str
    domain: str
    holder_kinds: tuple[HolderKind, ...]
    holder_code_types: tuple[str, ...]
    validity: ValidityRule
    items: tuple[DataItemSpec, ...]
    face: FaceSpecData
    status_profile: str = "default"
    source: str = ""

    def item(self, name: str) -> DataItemSpec | None:
        return next((i for i in self.items if i.name == name), None)
