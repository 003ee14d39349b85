"""A batch issuing into the PostgreSQL library while the server goes away, then resumed.

The server is stopped (immediate shutdown: what a crash or a failover looks like to a client) while
``ecert batch --registry postgresql://…`` is issuing.  The batch must end with a clear error (exit 2,
"unavailable"), not reject rows as bad data; after the server is back, the same command resumes:
every valid row issued exactly once, every serial issued or a recorded gap, the chains intact.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.batch import IssuerFiles
from ecert.crypto.keys import save_private_key
from ecert.registry import open_registry

from .batchrows import write_rows
from .certs import hierarchy
from .pg import Server

ROOT = Path(__file__).resolve().parents[1]
TYPE = "11100000MB0143028R001"
EXAMPLE = ROOT / "examples" / "batch" / f"{TYPE}.csv"  # 22 rows, 2 of them invalid
EXTRA_ROWS = 30


def _source(path: Path) -> int:
    """The example rows and EXTRA_ROWS more; returns how many are valid."""
    write_rows(path, EXTRA_ROWS, prefix="MR", label="重启测试", before=EXAMPLE, template=EXAMPLE)
    return 20 + EXTRA_ROWS


def _issuer(folder: Path) -> IssuerFiles:
    h = hierarchy()
    (folder / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (folder / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    return IssuerFiles(folder / "key.pem", folder / "cert.pem")


def _batch(source: Path, issuer: IssuerFiles, url: str, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "ecert", "batch", str(source), "--type", TYPE, "--key", str(issuer.key_path),
        "--cert", str(issuer.cert_path), "--registry", url, "-o", str(out), "--workers", "2",
    ]  # fmt: skip


def _issued(url: str) -> int:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM certificates").fetchone()
    except psycopg.Error:
        return 0
    return int(row[0]) if row else 0


@pytest.mark.slow
def test_a_batch_survives_the_server_going_away(pg_server: Server, pg_url: str, tmp_path: Path) -> None:
    if pg_server.cluster_dir is None:
        pytest.skip("the server is not this test run's to stop (set ECERT_TEST_PGDIR)")
    source, out = tmp_path / "rows.csv", tmp_path / "out"
    valid = _source(source)
    issuer = _issuer(tmp_path)
    command = _batch(source, issuer, pg_url, out)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _issued(pg_url) < 5 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the batch ended before the server could be stopped"
        pg_server.stop(immediate=True)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        pg_server.start()
    assert proc.returncode == 2, stderr
    assert "unavailable" in stderr and "Traceback" not in stderr
    interrupted = _issued(pg_url)
    assert 5 <= interrupted < valid

    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr  # 1: the two invalid rows are rejected, as on any run

    with open_registry(pg_url) as lib:
        records = lib.find(type_code=TYPE, limit=10_000)
        identifiers = [r.identifier for r in records]
        assert len(identifiers) == len(set(identifiers)) == valid
        assert len({r.source_key for r in records}) == valid  # every valid row once
        issuer_part = records[0].metadata.identifier.issuer_code
        lib.reconcile(datetime.now(UTC) + timedelta(seconds=1))
        states = lib.serial_states(TYPE, issuer_part)
        assert set(states.values()) <= {"issued", "gap"}
        assert sum(s == "issued" for s in states.values()) == valid
        result = lib.check()
        assert result.ok, result.problems
        assert result.files == valid  # each signed file is in the library, its SM3 checked
