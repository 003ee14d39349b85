"""Loading type definitions (``spec/types/*.json``): structure checked against ``spec/type.schema.json``.

The runtime applies the *same* schema file the tests validate with ``jsonschema``, through a small
evaluator of the keywords that file uses (jsonschema is not a run-time dependency), so the two can
never drift apart.  Then come the checks a schema cannot express (check characters, prefixes,
duplicates, references).  Every problem is reported at once with its JSON path (``$.items[2].type``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from ecert.catalog.model import (
    CertificateType,
    DataItemSpec,
    FaceSpecData,
    HolderKind,
    ValidityRule,
    alias_key,
)
from ecert.codes import uscc
from ecert.errors import EcertError, InvalidTypeDefinition, UnknownType
from ecert.metadata import HOLDER_CODE_TYPES, Authority, get_status_profile

__all__ = [
    "MAX_TYPE_FILE",
    "TYPES_ENV",
    "Catalog",
    "InvalidTypeFile",
    "TypeProblem",
    "check_structure",
    "default_catalog",
    "load_catalog",
    "load_type",
    "load_type_file",
    "type_schema",
]

MAX_TYPE_FILE = 1024 * 1024
TYPES_ENV = "ECERT_TYPES"  # folders of a department's own type files, separated by os.pathsep


@dataclass(frozen=True, slots=True)
class TypeProblem:
    """One problem of a type definition: JSON path and message."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InvalidTypeFile(InvalidTypeDefinition):
    """A type definition breaks the schema or the catalogue rules; ``problems`` lists them all."""

    def __init__(self, problems: Sequence[TypeProblem], where: str) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        details = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{count} problem{'s' * (count != 1)}: {details}", where=where)


@lru_cache(maxsize=1)
def type_schema() -> Mapping[str, Any]:
    """``spec/type.schema.json`` as data."""
    text = (resources.files("ecert") / "spec" / "type.schema.json").read_text(encoding="utf-8")
    return cast(Mapping[str, Any], json.loads(text))


# --- a JSON Schema subset evaluator (exactly the keywords type.schema.json uses) ------------------

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, _JSON_TYPES[name])


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = root
    for part in str(ref).removeprefix("#/").split("/"):
        node = node[part]
    return cast(Mapping[str, Any], node)


def _check(value: Any, schema: Mapping[str, Any], path: str, root: Mapping[str, Any]) -> list[TypeProblem]:
    schema = _resolve(schema, root)
    out: list[TypeProblem] = []
    if "type" in schema and not _is_type(value, schema["type"]):
        return [TypeProblem(path, f"must be of type {schema['type']}")]
    if "enum" in schema and value not in schema["enum"]:
        out.append(TypeProblem(path, f"must be one of {', '.join(map(str, schema['enum']))}"))
    if "const" in schema and value != schema["const"]:
        out.append(TypeProblem(path, f"must be {schema['const']!r}"))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(TypeProblem(path, "must not be empty" if not value else "is too short"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(TypeProblem(path, f"is longer than {schema['maxLength']} characters"))
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            out.append(TypeProblem(path, f"does not match {schema['pattern']}"))
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(TypeProblem(path, f"must be at least {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            out.append(TypeProblem(path, f"must be at most {schema['maximum']}"))
    if isinstance(value, list):
        out.extend(_check_array(value, schema, path, root))
    if isinstance(value, dict):
        out.extend(_check_object(value, schema, path, root))
    for sub in schema.get("allOf", ()):
        if "if" in sub and not _check(value, sub["if"], path, root):
            out.extend(_check(value, sub.get("then", {}), path, root))
    return out


def _check_array(
    value: list[Any], schema: Mapping[str, Any], path: str, root: Mapping[str, Any]
) -> list[TypeProblem]:
    out: list[TypeProblem] = []
    if len(value) < schema.get("minItems", 0):
        out.append(TypeProblem(path, f"needs at least {schema['minItems']} entries"))
    if schema.get("uniqueItems"):
        seen: list[Any] = []
        for i, v in enumerate(value):
            try:
                repeated = v in seen
            except RecursionError:  # comparing two deeply nested lists; the items check refuses them
                repeated = False
            if repeated:
                out.append(TypeProblem(f"{path}[{i}]", "repeats an earlier entry"))
            seen.append(v)
    if "items" in schema:
        for i, v in enumerate(value):
            out.extend(_check(v, schema["items"], f"{path}[{i}]", root))
    return out


def _check_object(
    value: dict[str, Any], schema: Mapping[str, Any], path: str, root: Mapping[str, Any]
) -> list[TypeProblem]:
    out: list[TypeProblem] = []
    props: Mapping[str, Any] = schema.get("properties", {})
    out.extend(
        TypeProblem(f"{path}.{k}", "is required") for k in schema.get("required", ()) if k not in value
    )
    if len(value) < schema.get("minProperties", 0):
        out.append(TypeProblem(path, f"needs at least {schema['minProperties']} entries"))
    extra = schema.get("additionalProperties", True)
    for key, v in value.items():
        if key in props:
            out.extend(_check(v, props[key], f"{path}.{key}", root))
        elif extra is False:
            out.append(TypeProblem(f"{path}.{key}", "unknown key"))
        elif isinstance(extra, Mapping):
            out.extend(_check(v, extra, f"{path}.{key}", root))
    return out


def check_structure(data: Any) -> list[TypeProblem]:
    """Problems of ``data`` against ``spec/type.schema.json`` (empty when it conforms).

    :param data: a parsed type definition (JSON).
    :returns: one problem per violation of the schema, with where it is.
    """
    schema = type_schema()
    return _check(data, schema, "$", schema)


# --- beyond the schema ---------------------------------------------------------------------------


def _rule_problems(d: Mapping[str, Any]) -> list[TypeProblem]:
    p: list[TypeProblem] = []
    code, authority = d["code"], d["defining_authority"]
    try:
        uscc.validate(code[:18])
    except EcertError as exc:
        p.append(TypeProblem("$.code", f"the first 18 characters are not a valid USCC: {exc}"))
    if code[18:] == "000":
        p.append(TypeProblem("$.code", "the 3-digit sequence starts at 001"))
    if authority["code"] != code[:18]:
        p.append(TypeProblem("$.defining_authority.code", "must equal the first 18 characters of $.code"))
    for i, c in enumerate(d["holder_code_types"]):
        if c not in HOLDER_CODE_TYPES:
            p.append(TypeProblem(f"$.holder_code_types[{i}]", f"unknown holder code type {c!r}"))
    try:
        get_status_profile(d.get("status_profile", "default"))
    except EcertError as exc:
        p.append(TypeProblem("$.status_profile", str(exc)))
    validity = d["validity"]
    if "default" in validity and validity["kind"] != "given":
        p.append(TypeProblem("$.validity.default", "only a 'given' validity has a default"))
    if "years" in validity and "fixed_years" not in (validity["kind"], validity.get("default")):
        p.append(TypeProblem("$.validity.years", "years only apply to fixed_years"))
    names: dict[str, int] = {}
    aliases: dict[str, str] = {}
    for i, item in enumerate(d["items"]):
        path = f"$.items[{i}]"
        if item["name"] in names:
            p.append(
                TypeProblem(f"{path}.name", f"{item['name']!r} is already $.items[{names[item['name']]}]")
            )
        names.setdefault(item["name"], i)
        for alias in (item["name"], item["label"], *item.get("source_names", ())):
            other = aliases.setdefault(alias_key(alias), item["name"])
            if other != item["name"]:
                p.append(TypeProblem(f"{path}.source_names", f"input name {alias!r} also names {other!r}"))
        if "pattern" in item:
            try:
                re.compile(item["pattern"])
            except (re.error, RecursionError, OverflowError) as exc:  # too deep, too large a repeat
                p.append(TypeProblem(f"{path}.pattern", f"not a usable regular expression ({exc})"))
        kind = item.get("type", "string")
        if "code_kind" in item and kind != "code":
            p.append(TypeProblem(f"{path}.code_kind", "only 'code' items have a code_kind"))
        if "choices" in item and kind != "enum":
            p.append(TypeProblem(f"{path}.choices", "only 'enum' items have choices"))
        if "unit" in item and kind not in ("decimal", "integer"):
            p.append(TypeProblem(f"{path}.unit", "only numbers have a unit"))
    for j, name in enumerate(d["face"].get("order", ())):
        if name not in names:
            p.append(TypeProblem(f"$.face.order[{j}]", f"names no item ({name!r})"))
    start = d["face"].get("validity_from")
    if start is not None and not any(i.get("name") == start and i.get("type") == "date" for i in d["items"]):
        p.append(TypeProblem("$.face.validity_from", f"names no date item ({start!r})"))
    return p


def _build(d: Mapping[str, Any]) -> CertificateType:
    validity = d["validity"]
    face = d["face"]
    return CertificateType(
        code=d["code"],
        name=d["name"],
        defining_authority=Authority(d["defining_authority"]["name"], d["defining_authority"]["code"]),
        domain=d["domain"],
        holder_kinds=tuple(HolderKind(k) for k in d["holder_kinds"]),
        holder_code_types=tuple(d["holder_code_types"]),
        validity=ValidityRule(validity["kind"], validity.get("years"), validity.get("default")),
        items=tuple(
            DataItemSpec(
                name=i["name"],
                label=i["label"],
                type=i.get("type", "string"),
                required=i.get("required", False),
                pattern=i.get("pattern"),
                choices=tuple(i.get("choices", {}).items()),
                code_kind=i.get("code_kind"),
                max_length=i.get("max_length"),
                display=i.get("display", True),
                sensitive=i.get("sensitive", False),
                source_names=tuple(i.get("source_names", ())),
                unit=i.get("unit"),
            )
            for i in d["items"]
        ),
        face=FaceSpecData(
            title=face["title"],
            subtitle=face.get("subtitle", ""),
            orientation=face.get("orientation", "portrait"),
            order=tuple(face.get("order", ())),
            validity_label=face.get("validity_label", "有效期限"),
            validity_from=face.get("validity_from"),
            issuer_label=face.get("issuer_label", ""),
        ),
        status_profile=d.get("status_profile", "default"),
        source=d.get("source", ""),
    )


def load_type(data: Any, where: str = "<type>") -> CertificateType:
    """Check and build one type definition; every problem in one :class:`InvalidTypeFile`.

    :param data: a parsed type definition (JSON).
    :param where: where it came from, for messages (a file name).
    :returns: the type.
    :raises InvalidTypeFile: listing every problem.
    """
    problems = check_structure(data)
    if not problems:
        problems = _rule_problems(data)
    if problems:
        raise InvalidTypeFile(problems, where)
    try:
        return _build(data)
    except EcertError as exc:  # the model's own checks; the ones above should have caught it
        raise InvalidTypeFile([TypeProblem("$", str(exc))], where) from None


def _parse(text: str | bytes, where: str) -> Any:
    if len(text) > MAX_TYPE_FILE:
        raise InvalidTypeFile([TypeProblem("$", f"file larger than {MAX_TYPE_FILE} bytes")], where)
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidTypeFile([TypeProblem("$", f"not JSON ({exc})")], where) from None
    except RecursionError:  # "[[[[..." deeper than Python's stack, within the size limit
        raise InvalidTypeFile([TypeProblem("$", "not JSON (nested too deeply)")], where) from None


def _read(path: str | Path) -> bytes:
    """The bytes of a type file, at most one byte over :data:`MAX_TYPE_FILE` (so that ``_parse``
    refuses it) however large it is (``/dev/zero``); an unreadable path becomes the library's error."""
    if not isinstance(path, str | Path):
        raise InvalidTypeDefinition(
            f"type file path must be a str or Path, not {type(path).__name__}", value=path, where="path"
        )
    try:
        with Path(path).open("rb") as file:
            return file.read(MAX_TYPE_FILE + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidTypeDefinition(f"cannot read type file ({reason})", where=str(path)) from None


def load_type_file(path: str | Path) -> CertificateType:
    """Read, check and build the type defined in the JSON file at ``path``.

    :param path: the type file (JSON, ``spec/type.schema.json``).
    :returns: the type.
    :raises InvalidTypeFile: for a file that cannot be read or has problems (every one listed).
    """
    return load_type(_parse(_read(path), str(path)), where=str(path))


class Catalog:
    """Certificate types by code (GB/T 36902 目录).  :func:`default_catalog` holds the shipped ones."""

    __slots__ = ("_types",)

    def __init__(self, types: Sequence[CertificateType] = ()) -> None:
        self._types: dict[str, CertificateType] = {}
        for t in types:
            self.add(t)

    def add(self, cert_type: CertificateType) -> None:
        """Add a type; a second type with the same code is refused (codes are keys, names are not).

        :param cert_type: the type to add.
        :raises InvalidTypeDefinition: when the catalogue already holds a type with that code.
        """
        if cert_type.code in self._types:
            raise InvalidTypeDefinition("duplicate type code", value=cert_type.code, where="catalogue")
        self._types[cert_type.code] = cert_type

    def get(self, code: str) -> CertificateType:
        """The type with ``code``; :class:`UnknownType` names the code and lists the known ones.

        :param code: the 证照类型代码.
        :returns: the type.
        :raises UnknownType: naming the code and the known ones.
        """
        try:
            return self._types[code]
        except (KeyError, TypeError):
            raise UnknownType(
                "no certificate type with this code in the catalogue",
                value=code,
                expected=", ".join(f"{t.code} ({t.name})" for t in self) or "a type added to the catalogue",
            ) from None

    def __contains__(self, code: object) -> bool:
        return code in self._types

    def __iter__(self) -> Iterator[CertificateType]:
        return iter(sorted(self._types.values(), key=lambda t: t.code))

    def __len__(self) -> int:
        return len(self._types)

    @classmethod
    def from_directory(cls, path: str | Path) -> Catalog:
        """Every ``*.json`` type file of a directory (a file name should be its type's code).

        A missing directory is refused: an empty catalogue from a mistyped path would only show up
        later, as "unknown type" for every record.

        :param path: the folder of type files.
        :returns: a catalogue of those types only.
        :raises InvalidTypeDefinition: for a missing folder, or a file with problems (every one listed).
        """
        if not isinstance(path, str | Path):
            raise InvalidTypeDefinition(
                f"type directory must be a str or Path, not {type(path).__name__}", value=path, where="path"
            )
        try:
            is_dir = Path(path).is_dir()
        except (OSError, ValueError):
            is_dir = False
        if not is_dir:
            raise InvalidTypeDefinition(
                "type directory not found", where=str(path), expected="a directory of *.json type files"
            )
        catalog = cls()
        for file in sorted(Path(path).glob("*.json")):
            cert_type = load_type_file(file)
            if cert_type.code in catalog:
                raise InvalidTypeFile(
                    [TypeProblem("$.code", f"duplicate type code {cert_type.code}")], str(file)
                )
            catalog.add(cert_type)
        return catalog


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The national types shipped in ``ecert/spec/types`` (read once, via importlib.resources)."""
    catalog = Catalog()
    folder = resources.files("ecert") / "spec" / "types"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            where = f"ecert/spec/types/{entry.name}"
            catalog.add(load_type(_parse(entry.read_bytes(), where), where=where))
    return catalog


def load_catalog(directories: Iterable[str | Path] | None = None) -> Catalog:
    """The shipped types plus a department's own: every ``*.json`` type file of ``directories``.

    Without ``directories``, the folders named in the environment variable ``ECERT_TYPES``
    (separated by ``os.pathsep``, ``:`` on Linux) are read, so that every command and script of an
    office sees the same types.  Each file is checked as :func:`load_type_file` checks it.

    Raises :class:`InvalidTypeDefinition` for a folder that does not exist and
    :class:`InvalidTypeFile` for a file with problems (all of them listed) or a type code that is
    already in the catalogue (a shipped type is not silently replaced: give yours its own code).

    :param directories: folders of type files (default: ``$ECERT_TYPES``).
    :returns: the shipped types and the department's own.
    :raises InvalidTypeDefinition: for a missing folder or a bad type file (:class:`InvalidTypeFile`).
    """
    if directories is None:
        directories = [d for d in os.environ.get(TYPES_ENV, "").split(os.pathsep) if d.strip()]
    elif isinstance(directories, str | Path):
        directories = [directories]
    catalog = Catalog(list(default_catalog()))
    for directory in directories:
        for cert_type in Catalog.from_directory(directory):
            if cert_type.code in catalog:
                raise InvalidTypeFile(
                    [
                        TypeProblem(
                            "$.code",
                            f"type code {cert_type.code} is already in the catalogue "
                            f"({catalog.get(cert_type.code).name}); give your type its own code",
                        )
                    ],
                    str(Path(directory) / f"{cert_type.code}.json"),
                )
            catalog.add(cert_type)
    return catalog
