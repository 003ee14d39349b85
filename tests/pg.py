"""A real PostgreSQL server for the library's tests, and a fresh database for each test that asks.

Where the server comes from, in order:

* ``ECERT_TEST_POSTGRES``: an admin URL of a running server (``.ci/run`` starts a throwaway cluster
  with ``scripts/pg-test-cluster.sh`` and sets it, with ``ECERT_TEST_PGDIR`` naming the cluster's
  folder so that a test can stop and restart the server);
* otherwise, where the PostgreSQL server binaries are installed, a throwaway cluster this test run
  starts itself in a temporary folder (and stops at the end);
* otherwise the PostgreSQL half of the suite is skipped, except under CI (``CI=true``), where a
  missing server fails the run: the tests are not allowed to vanish there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "pg-test-cluster.sh"


@dataclass(frozen=True)
class Server:
    admin_url: str  # a URL of the server's maintenance database
    cluster_dir: Path | None  # the cluster's folder, when this run may stop and restart it

    def url(self, database: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{database}"

    def stop(self, *, immediate: bool = False) -> None:
        assert self.cluster_dir is not None
        env = {**os.environ, "IMMEDIATE": "1" if immediate else "0"}
        subprocess.run(["bash", str(SCRIPT), "stop", str(self.cluster_dir)], check=True, env=env, timeout=120)

    def start(self) -> None:
        assert self.cluster_dir is not None
        subprocess.run(["bash", str(SCRIPT), "restart", str(self.cluster_dir)], check=True, timeout=120)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI and {reason}")
    pytest.skip(f"PostgreSQL tests need a server: {reason}")


def start_server() -> Iterator[Server]:
    url = os.environ.get("ECERT_TEST_POSTGRES")
    if url:
        directory = os.environ.get("ECERT_TEST_PGDIR")
        yield Server(url, Path(directory) if directory else None)
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'ecert[postgres]')")
    folder = Path(tempfile.mkdtemp(prefix="ecert-pg-"))
    try:
        done = subprocess.run(
            ["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=180
        )
        if done.returncode != 0:
            _unavailable(f"no cluster could be started here ({done.stderr.strip()[-300:]})")
        server = Server(done.stdout.strip().splitlines()[-1], folder)
        yield server
        server.stop(immediate=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server: Server) -> Iterator[str]:
    """A new empty database on the server (dropped afterwards); its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
    try:
        yield server.url(name)
    finally:
        try:
            with psycopg.connect(server.admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except psycopg.OperationalError:
            pass  # the server was stopped by the test and not restarted: its cluster goes with it
