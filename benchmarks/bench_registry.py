"""The certificate library on SQLite and on PostgreSQL: writes, lookups, batches, and lookups at scale.

Run: python benchmarks/bench_registry.py [--seconds S] [--rows N] [--large N] [--batch N] [--json]
     (the issue's figures: --large 1000000 --batch 10000; PostgreSQL from ECERT_BENCH_POSTGRES, an
      admin URL, else a throwaway cluster started with scripts/pg-test-cluster.sh)

Measured in one run, each as a rate and as a ratio to SQLite with 1 process:
* allocate + record (one certificate: a serial allocation, its record with the file, the status event),
  with 1 and 2 processes;
* ``status_of`` lookups, 1 and 2 processes;
* lookup time (status_of and search by holder) at ``--rows`` and at ``--large`` recorded certificates
  (synthetic rows inserted in bulk): the ratio large/small shows whether lookups use indexes;
* ``ecert batch`` of ``--batch`` rows into each backend (2 workers), against SQLite.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_registry import ISSUER, NOW, TYPE, metadata  # noqa: E402

from ecert.crypto.digests import sm3  # noqa: E402
from ecert.metadata.jsonform import to_json  # noqa: E402
from ecert.registry import open_registry  # noqa: E402
from ecert.registry.tables import TABLE_BY_NAME  # noqa: E402

FILE = b"%certificate bytes%" * 1500  # about the size of a signed certificate (28 KB)
DIGEST = sm3(FILE).hex()


def _issue_for(location: str, seconds: float, index: int) -> int:
    done = 0
    with open_registry(location) as lib:
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            serial = lib.allocate_serial(TYPE, ISSUER, period=f"P{index}")
            lib.record_issued(
                metadata(serial), package_digest=DIGEST, signer="bench", issued_at=NOW, content=FILE
            )
            done += 1
    return done


def _lookups_for(location: str, seconds: float, identifiers: list[str]) -> int:
    done = 0
    rng = random.Random(len(identifiers))
    with open_registry(location) as lib:
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            for _ in range(100):
                lib.status_of(identifiers[rng.randrange(len(identifiers))])
            done += 100
    return done


def _parallel(fn: Callable[..., int], processes: int, args: tuple[Any, ...], seconds: float) -> float:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        counts = pool.starmap(
            fn,
            [
                (args[0], seconds, *args[1:]) if fn is _lookups_for else (args[0], seconds, i)
                for i in range(processes)
            ],
        )
    return sum(counts) / seconds


def _bulk(location: str, count: int) -> list[str]:
    """``count`` synthetic certificates inserted in bulk (one transaction), as columns like real ones."""
    columns = [c.name for c in TABLE_BY_NAME["certificates"].columns]
    template = metadata("2026000001")
    base = {
        "certificate_name": template.certificate_name,
        "type_code": TYPE,
        "number": "X",
        "issuer_name": "bench",
        "issuer_code": ISSUER,
        "holder_name": "bench",
        "holder_code_type": "公民身份号码",
        "holder_code_type_code": "111",
        "valid_from": None,
        "valid_until": None,
        "long_term": False,
        "area_code": None,
        "catalog_version": 1,
        "issuer_part": ISSUER,
        "version": 1,
        "metadata": to_json(template),
        "package_digest": DIGEST,
        "signer": "bench",
        "file_path": None,
        "source_key": None,
        "status": "valid",
        "status_reason": None,
        "status_changed_by": None,
        "replaced_by": None,
    }
    with open_registry(location) as lib:
        lib.record_issued(template, package_digest=DIGEST, signer="bench", issued_at=NOW)  # the type row
        day, stamp = lib.day(NOW.date()), lib.ts(NOW)
        identifiers = []
        serial_rows, cert_rows, holder_rows = [], [], []
        for i in range(count):
            serial = f"B{i:09d}"
            ident = f"1.2.156.3005.2.{TYPE}.{ISSUER}.{serial}.001.X"
            holder = f"H{i:017d}"
            identifiers.append(ident)
            row = {
                **base,
                "identifier": ident,
                "serial": serial,
                "holder_code": holder,
                "issue_date": day,
                "issued_at": stamp,
                "status_changed_at": stamp,
            }
            serial_rows.append((TYPE, ISSUER, serial, "B", "issued", stamp, stamp, None))
            cert_rows.append(tuple(row[c] for c in columns))
            holder_rows.append((ident, 1, "bench", holder, "公民身份号码", "111"))
        with lib._write() as tx:
            tx.many("INSERT INTO serials VALUES (?, ?, ?, ?, ?, ?, ?, ?)", serial_rows)
            tx.many(
                f"INSERT INTO certificates ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                cert_rows,
            )
            tx.many("INSERT INTO certificate_holders VALUES (?, ?, ?, ?, ?, ?)", holder_rows)
    return identifiers


def _lookup_time(location: str, identifiers: list[str], n: int = 2000) -> tuple[float, float]:
    """Mean seconds of one status_of and of one search by holder code, over ``n`` random picks."""
    rng = random.Random(7)
    picks = [identifiers[rng.randrange(len(identifiers))] for _ in range(n)]
    holders = [f"H{int(p.split('.')[-3][1:]):017d}" for p in picks]
    with open_registry(location) as lib:
        start = time.perf_counter()
        for p in picks:
            lib.status_of(p)
        status = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for h in holders:
            lib.search(holder_code=h)
        search = (time.perf_counter() - start) / n
    return status, search


class Postgres:
    def __init__(self) -> None:
        self.admin = os.environ.get("ECERT_BENCH_POSTGRES")
        self.folder: str | None = None
        if not self.admin:
            self.folder = tempfile.mkdtemp(prefix="ecert-bench-pg-")
            out = subprocess.run(
                ["bash", str(ROOT / "scripts" / "pg-test-cluster.sh"), "start", self.folder],
                check=True,
                capture_output=True,
                text=True,
            )
            self.admin = out.stdout.strip().splitlines()[-1]

    def database(self) -> str:
        import psycopg

        assert self.admin
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
        return f"{self.admin.rpartition('/')[0]}/{name}"

    def close(self) -> None:
        if self.folder:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "pg-test-cluster.sh"), "stop", self.folder],
                check=False,
                env={**os.environ, "IMMEDIATE": "1"},
            )
            shutil.rmtree(self.folder, ignore_errors=True)


def _batch(location: str, rows: int, folder: Path) -> float:
    from tests.certs import hierarchy
    from tests.test_batch import write_rows

    from ecert.crypto.keys import save_private_key

    h = hierarchy()
    (folder / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (folder / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    source = folder / "rows.csv"
    write_rows(source, rows)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ecert",
            "batch",
            str(source),
            "--type",
            "11100000MB0143028R001",
            "--key",
            str(folder / "key.pem"),
            "--cert",
            str(folder / "cert.pem"),
            "--registry",
            location,
            "-o",
            str(folder / "out"),
            "--workers",
            "2",
        ],
        check=False,
        capture_output=True,
    )
    return rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput measurement (default 5)")
    parser.add_argument("--rows", type=int, default=10_000, help="the small library (default 10,000)")
    parser.add_argument("--large", type=int, default=1_000_000, help="the large library (default 1,000,000)")
    parser.add_argument(
        "--batch", type=int, default=10_000, help="rows of the batch run (default 10,000; 0: skip)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pg = Postgres()
    results: dict[str, Any] = {"load": os.getloadavg()[0]}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            backends = {
                "sqlite": lambda name: str(folder / f"{name}.db"),
                "postgresql": lambda name: pg.database(),
            }
            for backend, place in backends.items():
                r: dict[str, float] = {}
                for processes in (1, 2):
                    location = place(f"w{processes}")
                    open_registry(location).close()
                    r[f"issue_{processes}p"] = _parallel(_issue_for, processes, (location,), args.seconds)
                    with open_registry(location) as lib:
                        ids = [rec.identifier for rec in lib.find(limit=100_000)]
                    r[f"status_of_{processes}p"] = _parallel(
                        _lookups_for, processes, (location, ids), args.seconds
                    )
                for size in (args.rows, args.large):
                    location = place(f"size{size}")
                    open_registry(location).close()
                    ids = _bulk(location, size)
                    r[f"status_of_s_at_{size}"], r[f"search_s_at_{size}"] = _lookup_time(location, ids)
                r["status_of_large_vs_small"] = (
                    r[f"status_of_s_at_{args.large}"] / r[f"status_of_s_at_{args.rows}"]
                )
                r["search_large_vs_small"] = r[f"search_s_at_{args.large}"] / r[f"search_s_at_{args.rows}"]
                if args.batch:
                    batch_dir = folder / f"batch-{backend}"
                    batch_dir.mkdir()
                    r["batch_rows_per_s"] = _batch(place("batch"), args.batch, batch_dir)
                results[backend] = r
        base = results["sqlite"]
        for backend in ("sqlite", "postgresql"):
            r = results[backend]
            for key in ("issue_1p", "issue_2p", "status_of_1p", "status_of_2p", "batch_rows_per_s"):
                if key in r:
                    r[f"{key}_vs_sqlite_1p"] = r[key] / base[key.replace("2p", "1p")]
    finally:
        pg.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"load average at start: {results['load']:.1f}")
    for backend in ("sqlite", "postgresql"):
        r = results[backend]
        print(f"\n{backend}")
        for processes in (1, 2):
            print(
                f"  allocate+record, {processes} process(es): {r[f'issue_{processes}p']:8.0f}/s "
                f"({r[f'issue_{processes}p_vs_sqlite_1p']:.2f}x SQLite 1 process)"
            )
            print(
                f"  status_of,       {processes} process(es): {r[f'status_of_{processes}p']:8.0f}/s "
                f"({r[f'status_of_{processes}p_vs_sqlite_1p']:.2f}x SQLite 1 process)"
            )
        print(
            f"  status_of at {args.rows:,} / {args.large:,} rows: {r['status_of_large_vs_small']:.2f}x "
            f"({r[f'status_of_s_at_{args.rows}'] * 1e6:.0f} / "
            f"{r[f'status_of_s_at_{args.large}'] * 1e6:.0f} µs)"
        )
        print(
            f"  search by holder at {args.rows:,} / {args.large:,} rows: {r['search_large_vs_small']:.2f}x "
            f"({r[f'search_s_at_{args.rows}'] * 1e6:.0f} / {r[f'search_s_at_{args.large}'] * 1e6:.0f} µs)"
        )
        if "batch_rows_per_s" in r:
            print(
                f"  batch of {args.batch:,} rows, 2 workers: {r['batch_rows_per_s']:.0f} rows/s "
                f"({r['batch_rows_per_s_vs_sqlite_1p']:.2f}x SQLite)"
            )


if __name__ == "__main__":
    main()
