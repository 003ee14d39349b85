"""Province–city exchange: a city's certificates applied by a PostgreSQL province, and reconciliation.

Run: python benchmarks/bench_exchange.py [--certificates 10000] [--reconcile 100000] [--json]
     [--postgres URL]   (default: $ECERT_TEST_POSTGRES, else a throwaway cluster like the tests')

Measured in one run:

* **apply, SQLite -> PostgreSQL**: a city (SQLite) records N certificates with 8 KiB files; its log is
  exported as one offline package of signed batches of 1,000 events (files inside); an empty
  province library on PostgreSQL applies it (each event verified, checked for authority and recorded
  with the cursor, one transaction per event).  Baseline in the same run: recording the same N
  certificates with their files directly into another empty PostgreSQL library, one
  ``record_issued`` per certificate (what the issuing system itself does).  Reported: events per
  second and ``apply_vs_direct`` = direct time / apply time (1.0: exchange costs nothing more than
  recording).
* **reconcile**: two libraries of M certificates that differ by 10 records (5 revoked on one side, 5
  issued on one side only), compared and every differing record named; seconds at M and at M/4, and
  the ratio (4.0 = linear).

How the reconciliation libraries are built, quickly but honestly: signing 100,000 files is too slow
here and reconciliation never opens a file (it compares identifier, file SM3, status and status time
per issuer, type and day, the columns ``Registry.reconciliation_rows`` reads).  So the records are
made through the library's own API (``record_issued``: the columns, holders, serial, the hash-chained
``issued`` event), 1,000 per ``atomic()`` transaction, with a distinct SM3 each and no file kept; the
second library is an SQLite backup (``sqlite3`` backup API) of the first, as a restored copy would
be; the 10 differences are then made through the API (``revoke``, ``record_issued``).  Both
libraries pass ``check()`` before they are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.certs import hierarchy  # noqa: E402
from tests.test_exchange import exchange_signer  # noqa: E402
from tests.test_registry import NOW, metadata  # noqa: E402

from ecert.crypto.digests import sm3  # noqa: E402
from ecert.exchange.batch import ExchangePolicy, apply_batch  # noqa: E402
from ecert.exchange.offline import make_package, read_package  # noqa: E402
from ecert.exchange.reconcile import differences  # noqa: E402
from ecert.identifier import Identifier  # noqa: E402
from ecert.registry import SQLiteRegistry, open_registry  # noqa: E402
from ecert.registry.base import Registry  # noqa: E402

CITY = ExchangePolicy(regions=frozenset({"330100"}))


@contextmanager
def postgres(url: str | None) -> Iterator[Any]:
    """A server to make databases on: the one given, or a throwaway cluster (tests/pg.py)."""
    from tests import pg

    if url:
        os.environ["ECERT_TEST_POSTGRES"] = url
    servers = pg.start_server()
    server = next(servers)
    try:
        yield server
    finally:
        next(servers, None)


def fresh(server: Any) -> tuple[str, Iterator[str]]:
    from tests import pg

    made = pg.fresh_database(server)
    return next(made), made


_BASE = metadata("2026000001")


def record(i: int) -> Any:
    """The metadata of certificate number ``i`` (one type and department, issue days spread over a month)."""
    ident = _BASE.identifier
    return replace(_BASE, identifier=Identifier.build(ident.type_code, ident.issuer_code, f"2026{i:06d}"))


def fill(lib: Registry, first: int, n: int, *, size: int = 0, chunk: int = 1) -> None:
    """Record certificates ``first`` .. ``first + n - 1``, ``chunk`` per transaction; with ``size``,
    each with a distinct file of that many bytes kept in the library."""
    for start in range(first, first + n, chunk):
        with lib.atomic():
            for i in range(start, min(start + chunk, first + n)):
                content = i.to_bytes(8, "big") * (size // 8) if size else None
                digest = sm3(content).hex() if content else sm3(i.to_bytes(8, "big")).hex()
                lib.record_issued(
                    record(i), package_digest=digest, signer="bench",
                    issued_at=NOW - timedelta(days=i % 30), content=content,
                )  # fmt: skip


def apply_to_postgres(server: Any, n: int, size: int) -> dict[str, Any]:
    out: dict[str, Any] = {"certificates": n, "file_bytes": size}
    with tempfile.TemporaryDirectory() as tmp:
        city = SQLiteRegistry.open(Path(tmp) / "city.db")
        fill(city, 1, n, size=size)
        direct_url, direct_db = fresh(server)
        province_url, province_db = fresh(server)
        try:
            with open_registry(direct_url) as direct:
                t = time.perf_counter()
                fill(direct, 1, n, size=size)
                direct_s = time.perf_counter() - t
            t = time.perf_counter()
            made = make_package(city, exchange_signer(), batch_size=1000, max_file_bytes=1 << 30, at=NOW)
            out["export_events_per_s"] = n / (time.perf_counter() - t)
            assert made is not None
            out["package_mb"] = len(made[0]) / 1e6
            with open_registry(province_url) as province:
                t = time.perf_counter()
                for batch in read_package(made[0]):
                    answer = apply_batch(
                        province, batch, sender_certificate=hierarchy().root_cert, policy=CITY, at=NOW
                    )
                    assert answer.problem is None and answer.counts["accepted"] == len(answer.results)
                apply_s = time.perf_counter() - t
                assert not differences(city, province)
            out["direct_records_per_s"] = n / direct_s
            out["apply_events_per_s"] = n / apply_s
            out["apply_vs_direct"] = direct_s / apply_s
        finally:
            next(direct_db, None)
            next(province_db, None)
            city.close()
    return out


def backup(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def reconcile_figures(m: int) -> dict[str, Any]:
    """Seconds to reconcile two libraries of m/4 and of m certificates differing by 10 records."""
    out: dict[str, Any] = {}
    quarter = m // 4
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        base = SQLiteRegistry.open(d / "base.db")
        done = 0
        for size in (quarter, m):
            t = time.perf_counter()
            fill(base, done + 1, size - done, chunk=1000)
            out[f"build_{size}_s"] = time.perf_counter() - t
            done = size
            ours, theirs = d / f"ours-{size}.db", d / f"theirs-{size}.db"
            backup(d / "base.db", ours)
            backup(d / "base.db", theirs)
            with SQLiteRegistry.open(ours) as a, SQLiteRegistry.open(theirs) as b:
                for i in range(1, 6):
                    a.revoke(str(record(i * (size // 6)).identifier), reason="bench", by="bench", at=NOW)
                fill(a, size + 1, 5)
                assert a.check().ok and b.check().ok
                t = time.perf_counter()
                found = differences(a, b)
                out[f"reconcile_{size}_s"] = time.perf_counter() - t
                named = sum(len(f.only_ours) + len(f.only_theirs) + len(f.changed) for f in found)
                assert named == 10, found
            ours.unlink()
            theirs.unlink()
        base.close()
    out["reconcile_growth_4x"] = out[f"reconcile_{m}_s"] / out[f"reconcile_{quarter}_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--reconcile", type=int, default=100_000)
    parser.add_argument("--file-bytes", type=int, default=8192)
    parser.add_argument("--postgres", help="an admin URL of a PostgreSQL server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with postgres(args.postgres or os.environ.get("ECERT_TEST_POSTGRES")) as server:
        figures = apply_to_postgres(server, args.certificates, args.file_bytes)
    figures.update(reconcile_figures(args.reconcile))
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
