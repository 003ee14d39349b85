"""A corrected row for a holder who already holds a valid certificate: reported, or (--replace) issued as
the next version that replaces it; ``ecert replace`` does the same for one record."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ecert.batch import IssuerFiles, issue_batch
from ecert.cli import main
from ecert.crypto.keys import save_private_key
from ecert.identifier import Identifier
from ecert.registry import SQLiteRegistry
from ecert.registry.status import CertStatus

from .certs import hierarchy
from .test_batch import TYPE, write_rows


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> IssuerFiles:
    d = tmp_path_factory.mktemp("keys")
    h = hierarchy()
    (d / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (d / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    return IssuerFiles(d / "key.pem", d / "cert.pem")


def _corrected(source: Path, target: Path) -> tuple[Path, str]:
    """``source`` with the first row's address corrected; returns the file and that holder's code."""
    with open(source, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames or []), list(reader)
    rows[0]["住所"] = rows[0]["住所"] + "（更正）"
    with open(target, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return target, rows[0]["统一社会信用代码"]


def test_a_corrected_row_is_reported_then_replaces_with_replace(
    issuer: IssuerFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_rows(tmp_path / "rows.csv", 3)
    db, out = tmp_path / "r.db", tmp_path / "out"
    assert issue_batch(source, TYPE, issuer, db, out).issued == 3
    corrected, holder = _corrected(source, tmp_path / "corrected.csv")
    with SQLiteRegistry.open(db) as reg:
        (old,) = reg.find(holder_code=holder, type_code=TYPE)

    again = issue_batch(corrected, TYPE, issuer, db, out)
    assert (again.issued, again.skipped, again.rejected) == (0, 2, 1)  # not silently a second licence
    assert again.rejected_path is not None
    with open(again.rejected_path, encoding="utf-8-sig") as fh:
        (row,) = list(csv.DictReader(fh))
    assert f"already holds a valid 营业执照 ({old.identifier})" in row["problems"]
    assert "--replace" in row["problems"]

    args = ["batch", str(corrected), "--type", TYPE, "--key", str(issuer.key_path), "--cert"]
    args += [str(issuer.cert_path), "--registry", str(db), "-o", str(out), "--replace", "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["replaced"], summary["issued"], summary["skipped"]) == (1, 0, 2)
    with SQLiteRegistry.open(db) as reg:
        old_now = reg.get(old.identifier)
        assert old_now.status == CertStatus.REPLACED
        assert old_now.replaced_by is not None
        new = reg.get(old_now.replaced_by)
        assert new.status == CertStatus.VALID and "（更正）" in str(new.metadata.to_dict(keys="pinyin"))
        old_id, new_id = Identifier.parse(old.identifier), Identifier.parse(new.identifier)
        assert (new_id.serial, new_id.version) == (old_id.serial, old_id.version + 1)
        assert Path(new.file_path or "").is_file()
    # the same corrected file again: already issued, nothing more
    assert issue_batch(corrected, TYPE, issuer, db, out, replace=True).skipped == 3


def test_ecert_replace_one_record(
    issuer: IssuerFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_rows(tmp_path / "rows.csv", 2)
    db, out = tmp_path / "r.db", tmp_path / "out"
    assert issue_batch(source, TYPE, issuer, db, out).issued == 2
    with open(source, encoding="utf-8", newline="") as fh:
        record = next(csv.DictReader(fh))
    record["住所"] += "（迁址）"
    (tmp_path / "fix.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    args = ["replace", str(tmp_path / "fix.json"), "--type", TYPE, "--registry", str(db), "--key"]
    args += [str(issuer.key_path), "--cert", str(issuer.cert_path), "-o", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    path = Path(captured.out.strip())
    assert path.is_file() and path.stem.endswith(".002." + path.stem.rsplit(".", 1)[1])
    old_identifier = captured.err.strip().removeprefix("replaces ")
    with SQLiteRegistry.open(db) as reg:
        assert reg.get(old_identifier).status == CertStatus.REPLACED
        assert reg.get(path.stem).status == CertStatus.VALID
    # nothing valid left to replace for another holder's code: a usage error, nothing written
    with open(write_rows(tmp_path / "other.csv", 1, start=99), encoding="utf-8", newline="") as fh:
        other = next(csv.DictReader(fh))
    (tmp_path / "none.json").write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    assert main([*args[:1], str(tmp_path / "none.json"), *args[2:]]) == 2
    assert "holds 0 valid 营业执照" in capsys.readouterr().err
