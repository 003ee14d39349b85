"""A department's own certificate type: write it, check it, use it everywhere (docs/custom-types.md)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from ecert.batch import IssuerFiles, issue_batch
from ecert.catalog import TYPES_ENV, InvalidTypeFile, load_catalog, load_type
from ecert.cli import main
from ecert.crypto.keys import save_private_key
from ecert.errors import InvalidTypeDefinition, UnknownType
from ecert.registry import SQLiteRegistry

from .certs import hierarchy

ROOT = Path(__file__).resolve().parents[1]
TYPES = ROOT / "examples" / "types"
DOGS = "11330100MB01234570001"
ROWS = TYPES / "dogs.csv"  # 3 good rows, the 4th's 登记证号 breaks the type's pattern


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> IssuerFiles:
    d = tmp_path_factory.mktemp("keys")
    h = hierarchy()
    (d / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (d / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    return IssuerFiles(d / "key.pem", d / "cert.pem")


def _type_data() -> dict[str, object]:
    data: dict[str, object] = json.loads((TYPES / f"{DOGS}.json").read_text(encoding="utf-8"))
    return data


def test_the_guides_type_checks_and_source_is_optional(capsys: pytest.CaptureFixture[str]) -> None:
    assert "source" not in _type_data()
    assert main(["types", "--check", str(TYPES / f"{DOGS}.json")]) == 0
    assert capsys.readouterr().out.strip() == f"{TYPES / f'{DOGS}.json'}: ok: {DOGS} 犬只登记证"
    assert load_type(_type_data()).source == ""


def test_a_broken_type_file_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _type_data()
    data["code"] = "11330100MB01234571001"  # wrong USCC check character
    data["face"] = {"title": "x", "order": ["KZ_QMM"]}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert main(["types", "--check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "$.code: the first 18 characters are not a valid USCC" in out
    assert "$.face.order[0]: names no item ('KZ_QMM')" in out


def test_types_dir_and_environment_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(TYPES_ENV, raising=False)
    with pytest.raises(UnknownType):
        load_catalog().get(DOGS)
    assert main(["types", DOGS]) == 2
    capsys.readouterr()
    assert main(["types", DOGS, "--types", str(TYPES)]) == 0
    assert "犬只登记证" in capsys.readouterr().out
    monkeypatch.setenv(TYPES_ENV, f"{TYPES}{os.pathsep}")
    assert load_catalog().get(DOGS).name == "犬只登记证"
    assert main(["types"]) == 0
    assert DOGS in capsys.readouterr().out


def test_a_custom_type_may_not_take_a_shipped_code(tmp_path: Path) -> None:
    data = json.loads((ROOT / "spec" / "types" / "11100000MB0143028R001.json").read_text(encoding="utf-8"))
    (tmp_path / "11100000MB0143028R001.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InvalidTypeFile, match="already in the catalogue"):
        load_catalog([tmp_path])
    with pytest.raises(InvalidTypeDefinition, match="type directory not found"):
        load_catalog([tmp_path / "missing"])


def test_collect_and_issue_with_types(
    issuer: IssuerFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", str(ROWS), "--csv", "--type", DOGS, "--types", str(TYPES)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if line.startswith("{")]) == 3
    assert next(line for line in out if line.startswith("line ")).startswith("line 5: number: 登记证号")
    with open(ROWS, encoding="utf-8") as fh:
        record = next(csv.DictReader(fh))
    (tmp_path / "r.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    args = ["issue", str(tmp_path / "r.json"), "--type", DOGS, "--key", str(issuer.key_path)]
    args += ["--cert", str(issuer.cert_path), "-o", str(tmp_path / "out")]
    assert main(args) == 2  # not known without the folder
    capsys.readouterr()
    assert main([*args, "--types", str(TYPES)]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()


def test_batch_of_a_custom_type_on_two_workers(
    issuer: IssuerFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Workers receive the type itself: with two of them, no row is rejected for not knowing it."""
    db, out = tmp_path / "r.db", tmp_path / "out"
    args = ["batch", str(ROWS), "--type", DOGS, "--types", str(TYPES), "--key", str(issuer.key_path)]
    args += ["--cert", str(issuer.cert_path), "--registry", str(db), "-o", str(out), "--workers", "2"]
    assert main(args) == 1  # the one bad row
    assert "3 issued, 0 already issued, 1 rejected" in capsys.readouterr().out
    with SQLiteRegistry.open(db) as reg:
        records = reg.find(type_code=DOGS)
    assert len(records) == 3 and {r.metadata.certificate_name for r in records} == {"犬只登记证"}
    assert len(list(out.glob("*.ofd"))) == 3


def test_issue_batch_takes_a_certificate_type(issuer: IssuerFiles, tmp_path: Path) -> None:
    dogs = load_catalog([TYPES]).get(DOGS)
    result = issue_batch(ROWS, dogs, issuer, tmp_path / "r.db", tmp_path / "out", workers=2)
    assert (result.issued, result.rejected) == (3, 1)
