"""The catalogue: shipped types load and follow spec/type.schema.json; broken definitions are refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ecert.catalog import (
    Catalog,
    CertificateType,
    HolderKind,
    InvalidTypeFile,
    check_structure,
    default_catalog,
    load_type,
    load_type_file,
    type_schema,
)
from ecert.codes import uscc
from ecert.errors import InvalidTypeDefinition, UnknownType

TYPES = Path(__file__).resolve().parents[1] / "src" / "ecert" / "spec" / "types"
TYPE_FILES = sorted(TYPES.glob("*.json"))
VALIDATOR = jsonschema.Draft202012Validator(dict(type_schema()))


def _good() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TYPES / "11100000000013338W050.json").read_text(encoding="utf-8"))
    return data


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(dict(type_schema()))


def test_at_least_five_types_ship() -> None:
    assert len(TYPE_FILES) >= 5
    assert len(default_catalog()) == len(TYPE_FILES)


@pytest.mark.parametrize("path", TYPE_FILES, ids=lambda p: p.stem)
def test_shipped_file_follows_the_schema(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(VALIDATOR.iter_errors(data)) == []
    assert check_structure(data) == []


@pytest.mark.parametrize("path", TYPE_FILES, ids=lambda p: p.stem)
def test_shipped_file_loads_and_is_named_by_its_code(path: Path) -> None:
    t = load_type_file(path)
    assert t.code == path.stem
    assert uscc.is_valid(t.code[:18])
    assert t.defining_authority.code == t.code[:18]
    assert t.source.strip()
    assert default_catalog().get(t.code) == t
    assert t.face.title and t.items


def test_known_codes() -> None:
    names = {t.code: t.name for t in default_catalog()}
    assert names["11100000000013338W050"] == "建筑施工企业安全生产许可证"
    assert names["11100000000013338W001"] == "二级建造师注册证书"
    assert names["11100000000019713D008"] == "道路运输经营许可证"
    assert names["11100000MB0143028R001"] == "营业执照"
    assert "食品经营许可证" in names.values()


def test_unverified_codes_say_so() -> None:
    food = next(t for t in default_catalog() if t.name == "食品经营许可证")
    assert "provisional" in food.source and "check it" in food.source


def test_type_values() -> None:
    t = default_catalog().get("11100000000013338W001")
    assert t.holder_kinds == (HolderKind.NATURAL_PERSON,)
    assert t.holder_code_types == ("111",)
    assert t.validity.kind == "given" and t.validity.default == "fixed_years" and t.validity.years == 3
    assert t.item("KZ_XB").choice_labels == {"1": "男", "2": "女"}
    assert [i.name for i in t.displayed_items][:2] == ["holder_name", "KZ_XB"]
    with pytest.raises(KeyError):
        t.item("KZ_NOPE")


def test_unknown_type_names_code_and_lists_known() -> None:
    with pytest.raises(UnknownType) as info:
        default_catalog().get("11100000000013338W999")
    assert "11100000000013338W999" in str(info.value)
    assert "11100000000013338W050" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_catalog_add_refuses_duplicates() -> None:
    t = default_catalog().get("11100000000013338W050")
    catalog = Catalog([t])
    assert "11100000000013338W050" in catalog and list(catalog) == [t]
    with pytest.raises(InvalidTypeDefinition):
        catalog.add(t)


def test_from_directory_refuses_duplicate_codes(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(_good(), ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(_good(), ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidTypeFile, match="duplicate type code"):
        Catalog.from_directory(tmp_path)


def test_from_directory_reads_types(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps(_good(), ensure_ascii=False), encoding="utf-8")
    assert [t.code for t in Catalog.from_directory(tmp_path)] == ["11100000000013338W050"]


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_good())
    change(data)
    return data


# (name, mutation, JSON path the loader must name) — structurally broken: the schema rejects them too
STRUCTURAL = [
    ("unknown top key", lambda d: d.update(colour="red"), "$.colour"),
    ("missing name", lambda d: d.pop("name"), "$.name"),
    ("code too short", lambda d: d.update(code="11100000000013338W05"), "$.code"),
    ("bad holder kind", lambda d: d.update(holder_kinds=["robot"]), "$.holder_kinds[0]"),
    ("empty items", lambda d: d.update(items=[]), "$.items"),
    ("item unknown key", lambda d: d["items"][1].update(colour="red"), "$.items[1].colour"),
    ("item bad type", lambda d: d["items"][2].update(type="float"), "$.items[2].type"),
    ("item bad name", lambda d: d["items"][3].update(name="issuer_code"), "$.items[3].name"),
    ("code item without kind", lambda d: d["items"][2].pop("code_kind"), "$.items[2].code_kind"),
    ("enum without choices", lambda d: d["items"][3].update(type="enum"), "$.items[3].choices"),
    ("required not bool", lambda d: d["items"][0].update(required="yes"), "$.items[0].required"),
    ("fixed years without years", lambda d: d["validity"].pop("years"), "$.validity.years"),
    ("years out of range", lambda d: d["validity"].update(years=0), "$.validity.years"),
    ("face orientation", lambda d: d["face"].update(orientation="sideways"), "$.face.orientation"),
    ("face unknown key", lambda d: d["face"].update(font="SimSun"), "$.face.font"),
    ("authority unknown key", lambda d: d["defining_authority"].update(x=1), "$.defining_authority.x"),
    (
        "repeated holder code type",
        lambda d: d.update(holder_code_types=["001", "001"]),
        "$.holder_code_types[1]",
    ),
]

# valid per the schema, refused by the rules only the loader can check
SEMANTIC = [
    ("bad USCC check char", lambda d: d.update(code="11100000000013338X050"), "$.code"),
    (
        "authority differs",
        lambda d: d["defining_authority"].update(code="11100000MB0143028R"),
        "$.defining_authority.code",
    ),
    (
        "duplicate item",
        lambda d: d["items"].append(dict(d["items"][3], label="again", source_names=[])),
        "$.items[7].name",
    ),
    ("face order unknown", lambda d: d["face"].update(order=["KZ_NOPE"]), "$.face.order[0]"),
    (
        "input name twice",
        lambda d: d["items"][3]["source_names"].append("单位地址"),
        "$.items[4].source_names",
    ),
    ("bad regex", lambda d: d["items"][0].update(pattern="(["), "$.items[0].pattern"),
    ("unknown status profile", lambda d: d.update(status_profile="nope"), "$.status_profile"),
    ("unknown holder code type", lambda d: d.update(holder_code_types=["123"]), "$.holder_code_types[0]"),
    ("choices on a string", lambda d: d["items"][0].update(choices={"1": "x"}), "$.items[0].choices"),
]


@pytest.mark.parametrize(("case", "change", "path"), STRUCTURAL, ids=[c[0] for c in STRUCTURAL])
def test_structural_breakage_rejected_by_schema_and_loader(case: str, change: Any, path: str) -> None:
    data = _broken(change)
    assert list(VALIDATOR.iter_errors(data)), f"jsonschema accepted: {case}"
    with pytest.raises(InvalidTypeFile) as info:
        load_type(data, where="broken.json")
    assert path in [p.path for p in info.value.problems]
    assert path in str(info.value) and "broken.json" in str(info.value)


@pytest.mark.parametrize(("case", "change", "path"), SEMANTIC, ids=[c[0] for c in SEMANTIC])
def test_rule_breakage_rejected_by_loader(case: str, change: Any, path: str) -> None:
    data = _broken(change)
    with pytest.raises(InvalidTypeFile) as info:
        load_type(data)
    assert path in [p.path for p in info.value.problems], info.value.problems


def test_every_problem_is_reported_at_once() -> None:
    def change(d: dict[str, Any]) -> None:
        d.update(colour="red")
        d.pop("domain")
        d["items"][0].update(type="float")
        d["face"].update(orientation="sideways")

    with pytest.raises(InvalidTypeFile) as info:
        load_type(_broken(change))
    paths = {p.path for p in info.value.problems}
    assert {"$.colour", "$.domain", "$.items[0].type", "$.face.orientation"} <= paths


@pytest.mark.parametrize("junk", [None, 1, "x", [], [{}], {"code": 5}, {"items": "no"}])
def test_junk_is_an_invalid_definition(junk: Any) -> None:
    with pytest.raises(InvalidTypeDefinition):
        load_type(junk)
    assert list(VALIDATOR.iter_errors(junk))


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidTypeFile, match="not JSON"):
        load_type_file(path)


def test_model_refuses_inconsistent_type() -> None:
    t = default_catalog().get("11100000000013338W050")
    with pytest.raises(InvalidTypeDefinition):
        CertificateType(
            code="11100000000013338W000",
            name=t.name,
            defining_authority=t.defining_authority,
            domain=t.domain,
            holder_kinds=t.holder_kinds,
            holder_code_types=t.holder_code_types,
            validity=t.validity,
            items=t.items,
            face=t.face,
        )


def test_deeply_nested_json_file(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_bytes(b"[" * 100_000)
    with pytest.raises(InvalidTypeFile, match="nested too deeply") as info:
        load_type_file(tmp_path / "deep.json")
    assert info.value.where == str(tmp_path / "deep.json")


@pytest.mark.parametrize("pattern", ["(?:" * 2000 + ")" * 2000, "a{4294967296}"])
def test_unusable_item_pattern(pattern: str) -> None:
    data = copy.deepcopy(_good())
    data["items"][0]["pattern"] = pattern
    with pytest.raises(InvalidTypeFile, match=r"\$\.items\[0\]\.pattern: not a usable regular expression"):
        load_type(data)


def test_deeply_nested_repeated_entries() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    data = copy.deepcopy(_good())
    data["holder_code_types"] = [deep, deep]
    with pytest.raises(InvalidTypeFile, match=r"\$\.holder_code_types\[0\]"):
        load_type(data)


@pytest.mark.parametrize("path", ["/nonexistent/type.json", "/"])
def test_unreadable_type_file(path: str) -> None:
    with pytest.raises(InvalidTypeDefinition, match="cannot read type file") as info:
        load_type_file(path)
    assert info.value.where == path


def test_missing_type_directory(tmp_path: Path) -> None:
    """An empty catalogue from a mistyped path would surface later as "unknown type" everywhere."""
    for path in (tmp_path / "missing", TYPE_FILES[0]):
        with pytest.raises(InvalidTypeDefinition, match="type directory not found") as info:
            Catalog.from_directory(path)
        assert info.value.where == str(path)
