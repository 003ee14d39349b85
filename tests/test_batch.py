"""Batch issuing: parallel, rejected rows reported, resumable after being killed mid-way."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.batch import IssuerFiles, issue_batch, read_rows, source_key
from ecert.codes import org_code, uscc
from ecert.crypto.keys import save_private_key
from ecert.registry import SQLiteRegistry

from .certs import hierarchy

ROOT = Path(__file__).resolve().parents[1]
TYPE = "11100000MB0143028R001"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> IssuerFiles:
    d = tmp_path_factory.mktemp("keys")
    h = hierarchy()
    (d / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (d / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    return IssuerFiles(d / "key.pem", d / "cert.pem")


def _csv(path: Path, n: int) -> Path:
    with open(ROOT / "examples" / "records" / f"{TYPE}.csv", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header, template = list(reader.fieldnames or []), next(reader)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for i in range(n):
            org = f"MA{i:06d}"
            body = f"91110108{org}{org_code.calc_check_char(org)}"
            row = dict(template)
            row["统一社会信用代码"] = body + uscc.calc_check_char(body)
            row["名称"] = f"示例批量第{i}号有限公司"
            writer.writerow(row)
    return path


def test_batch_with_rejected_rows_and_rerun(issuer: IssuerFiles, tmp_path: Path) -> None:
    source = ROOT / "examples" / "batch" / f"{TYPE}.csv"
    db, out = tmp_path / "r.db", tmp_path / "out"
    first = issue_batch(source, TYPE, issuer, db, out, workers=2)
    assert (first.issued, first.rejected, first.skipped) == (20, 2, 0)
    assert first.rejected_path is not None
    with open(first.rejected_path, encoding="utf-8-sig") as fh:
        rejected = list(csv.DictReader(fh))
    assert sorted(int(r["line"]) for r in rejected) == [7, 15]
    assert all(r["problems"] for r in rejected)
    assert len(list(out.glob("*.ofd"))) == 20
    again = issue_batch(source, TYPE, issuer, db, out, workers=1)
    assert (again.issued, again.skipped, again.rejected) == (0, 20, 2)


def _run(csv_path: Path, issuer: IssuerFiles, db: Path, out: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "ecert",
        "batch",
        str(csv_path),
        "--type",
        TYPE,
        "--key",
        str(issuer.key_path),
        "--cert",
        str(issuer.cert_path),
        "--registry",
        str(db),
        "-o",
        str(out),
        "--workers",
        "2",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_killed_batch_resumes_to_the_same_set(issuer: IssuerFiles, tmp_path: Path) -> None:
    source = _csv(tmp_path / "rows.csv", 150)
    db, out = tmp_path / "killed.db", tmp_path / "killed"
    proc = _run(source, issuer, db, out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.ofd"))) < 15:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(list(out.glob("*.ofd")))
    assert 0 < partial < 150, "the kill did not land mid-way"
    resumed = issue_batch(source, TYPE, issuer, db, out, workers=2)
    assert resumed.rejected == 0

    clean_db, clean_out = tmp_path / "clean.db", tmp_path / "clean"
    clean = issue_batch(source, TYPE, issuer, clean_db, clean_out, workers=2)
    assert clean.issued == 150

    def summary(path: Path) -> tuple[set[str], set[str], list[str]]:
        with SQLiteRegistry.open(path) as reg:
            records = reg.find(type_code=TYPE, limit=10_000)
            reg.reconcile(datetime.now(UTC) + timedelta(seconds=1))
            issuer_code = records[0].metadata.identifier.issuer_code
            states = reg.serial_states(TYPE, issuer_code)
            assert set(states.values()) <= {"issued", "gap"}
            assert sum(s == "issued" for s in states.values()) == len(records)
        return (
            {r.source_key or "" for r in records},
            {r.metadata.holder_code for r in records},
            [r.identifier for r in records],
        )

    keys, holders, identifiers = summary(db)
    clean_keys, clean_holders, _ = summary(clean_db)
    assert keys == clean_keys == {source_key(TYPE, row) for _line, row in read_rows(source)}
    assert holders == clean_holders
    assert len(identifiers) == len(set(identifiers)) == 150
    assert {p.name[:-4] for p in out.glob("*.ofd")} == set(identifiers)  # every record has its file
