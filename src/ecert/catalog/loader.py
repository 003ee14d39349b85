"""Loading type definitions (``spec/types/*.json``) with a structural check.

The file format is described by ``spec/type.schema.json``; this loader checks the same rules
without a JSON Schema library at run time and reports every problem with its JSON path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ecert.catalog.model import CertificateType, DataItemSpec, FaceSpecData, HolderKind, ValidityRule
from ecert.codes import uscc
from ecert.errors import EcertError, InvalidTypeDefinition, UnknownType
from ecert.metadata.elements import attr_for_key

__all__ = ["Catalog", "default_catalog", "load_type", "load_type_file"]

_TOP = {
    "code",
    "name",
    "defining_authority",
    "domain",
    "holder_kinds",
    "holder_code_types",
    "validity",
    "items",
    "face",
    "status_profile",
    "source",
}
_ITEM = {
    "name",
    "label",
    "type",
    "required",
    "pattern",
    "choices",
    "code_kind",
    "max_length",
    "display",
    "source_names",
    "unit",
}
_TYPES = {"string", "date", "integer", "decimal", "code", "enum"}
_CODE_KINDS = {"uscc", "citizen-id", "org-code", "division"}


class _Problems:
    def __init__(self, where: str) -> None:
        self.where, self.items = where, []  # type: tuple[str, list[str]]

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")


def _req(d: Mapping[str, Any], key: str, kind: type, path: str, p: _Problems) -> Any:
    value = d.get(key)
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        p.add(f"{path}.{key}", f"required, must be a non-empty {kind.__name__}")
        return None
    return value


def load_type(data: Mapping[str, Any], where: str = "<type>") -> CertificateType:
    """Check and build one type definition; all problems in one InvalidTypeDefinition."""
    p = _Problems(where)
    if not isinstance(data, Mapping):
        raise InvalidTypeDefinition("type definition must be a JSON object", where=where)
    for key in sorted(set(data) - _TOP):
        p.add(f"$.{key}", "unknown key")
    code = _req(data, "code", str, "$", p)
    if code is not None and (not re.fullmatch(r"[0-9A-Z]{18}\d{3}", code) or not uscc.is_valid(code[:18])):
        p.add("$.code", "must be the defining authority's USCC (valid check character) + 3 digits")
    name = _req(data, "name", str, "$", p)
    authority = _req(data, "defining_authority", dict, "$", p) or {}
    auth_name = _req(authority, "name", str, "$.defining_authority", p)
    auth_code = _req(authority, "code", str, "$.defining_authority", p)
    if auth_code and code and code[:18] != auth_code:
        p.add("$.defining_authority.code", "must equal the first 18 characters of the type code")
    kinds: list[HolderKind] = []
    for i, k in enumerate(_req(data, "holder_kinds", list, "$", p) or []):
        try:
            kinds.append(HolderKind(k))
        except ValueError:
            p.add(f"$.holder_kinds[{i}]", f"unknown holder kind {k!r}")
    hct = _req(data, "holder_code_types", list, "$", p) or []
    if not all(isinstance(c, str) and re.fullmatch(r"\d{3}", c) for c in hct):
        p.add("$.holder_code_types", "must be 3-digit codes")
    validity = _validity(_req(data, "validity", dict, "$", p) or {}, p)
    face_d = _req(data, "face", dict, "$", p) or {}
    face = FaceSpecData(
        str(face_d.get("title") or name or ""),
        str(face_d.get("subtitle", "")),
        face_d.get("orientation", "portrait"),
    )
    if face.orientation not in ("portrait", "landscape"):
        p.add("$.face.orientation", "portrait or landscape")
    items = [_item(d, f"$.items[{i}]", p) for i, d in enumerate(_req(data, "items", list, "$", p) or [])]
    names = [i.name for i in items if i is not None]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        p.add("$.items", f"item {dup!r} defined twice")
    if p.items:
        raise InvalidTypeDefinition("; ".join(p.items), where=where)
    return CertificateType(
        code=code,
        name=name,
        defining_authority_name=auth_name,
        defining_authority_code=auth_code,
        domain=str(data.get("domain", "")),
        holder_kinds=tuple(kinds),
        holder_code_types=tuple(hct),
        validity=validity,
        items=tuple(i for i in items if i is not None),
        face=face,
        status_profile=str(data.get("status_profile", "default")),
        source=str(data.get("source", "")),
    )


def _validity(d: Mapping[str, Any], p: _Problems) -> ValidityRule:
    kind = d.get("kind")
    if kind not in ("long_term", "fixed_years", "given"):
        p.add("$.validity.kind", "long_term, fixed_years or given")
        return ValidityRule("given")
    years = d.get("years")
    if kind == "fixed_years" and not (isinstance(years, int) and 1 <= years <= 100):
        p.add("$.validity.years", "1..100 years required for fixed_years")
    return ValidityRule(kind, years if isinstance(years, int) else None)


def _item(d: Any, path: str, p: _Problems) -> DataItemSpec | None:
    if not isinstance(d, Mapping):
        p.add(path, "must be an object")
        return None
    for key in sorted(set(d) - _ITEM):
        p.add(f"{path}.{key}", "unknown key")
    name, label = _req(d, "name", str, path, p), _req(d, "label", str, path, p)
    if name and not (name.startswith("KZ_") or attr_for_key(name) == name):
        p.add(f"{path}.name", "a core metadata attribute (e.g. holder_name) or a KZ_* key")
    kind = d.get("type", "string")
    if kind not in _TYPES:
        p.add(f"{path}.type", f"one of {sorted(_TYPES)}")
    code_kind = d.get("code_kind")
    if kind == "code" and code_kind not in _CODE_KINDS:
        p.add(f"{path}.code_kind", f"one of {sorted(_CODE_KINDS)}")
    choices = d.get("choices", {})
    if kind == "enum" and (not isinstance(choices, dict) or not choices):
        p.add(f"{path}.choices", "an object of code -> label for enum items")
    pattern = d.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            p.add(f"{path}.pattern", f"not a regular expression ({exc})")
    if name is None or label is None:
        return None
    return DataItemSpec(
        name=name,
        label=label,
        type=kind,
        required=bool(d.get("required", False)),
        pattern=pattern,
        choices=tuple((str(k), str(v)) for k, v in (choices.items() if isinstance(choices, dict) else [])),
        code_kind=code_kind,
        max_length=d.get("max_length"),
        display=bool(d.get("display", True)),
        source_names=tuple(str(s) for s in d.get("source_names", [])),
        unit=d.get("unit"),
    )


def load_type_file(path: str | Path) -> CertificateType:
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidTypeDefinition(f"cannot read type definition ({exc})", where=str(path)) from None
    return load_type(data, where=str(path))


@dataclass
class Catalog:
    """Certificate types by code.  ``default_catalog()`` holds the shipped national types."""

    types: dict[str, CertificateType] = field(default_factory=dict)

    def add(self, cert_type: CertificateType) -> None:
        if cert_type.code in self.types:
            raise InvalidTypeDefinition("duplicate type code", value=cert_type.code)
        self.types[cert_type.code] = cert_type

    def get(self, code: str) -> CertificateType:
        try:
            return self.types[code]
        except KeyError:
            raise UnknownType(
                "no certificate type with this code",
                value=code,
                expected=", ".join(sorted(self.types)) or "a type added to the catalogue",
            ) from None

    def __iter__(self) -> Iterator[CertificateType]:
        return iter(sorted(self.types.values(), key=lambda t: t.code))

    def __len__(self) -> int:
        return len(self.types)

    @classmethod
    def from_directory(cls, path: str | Path) -> Catalog:
        catalog = cls()
        for file in sorted(Path(path).glob("*.json")):
            catalog.add(load_type_file(file))
        return catalog


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The types shipped in ``ecert/spec/types`` (read once)."""
    catalog = Catalog()
    folder = resources.files("ecert") / "spec" / "types"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            try:
                catalog.add(load_type(json.loads(entry.read_text(encoding="utf-8")), where=entry.name))
            except (json.JSONDecodeError, EcertError) as exc:
                raise InvalidTypeDefinition(
                    f"shipped type definition broken: {exc}", where=entry.name
                ) from None
    return catalog
