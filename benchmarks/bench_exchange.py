"""Province–city exchange: events per second exported and applied (with files), and reconciliation.

Run: python benchmarks/bench_exchange.py [--certificates N] [--file-bytes B] [--json]
     (the issue asks for 10,000 certificates; the default is 2,000 to stay short on a shared machine)

Measured in one run, SQLite to SQLite:
* baseline: recording the N certificates (metadata, a file of B bytes, the status event) directly
  into a library, per second;
* export: signed batches of 1,000 events with their files (make_package), events per second;
* apply: the package applied to an empty library (every event checked and recorded), events per
  second, and as a ratio to the baseline (the cost of exchange over recording the same thing);
* reconcile: two libraries of N certificates differing by 10 records, seconds, and at N/4 to show it
  grows no faster than linearly.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
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
from ecert.registry import CertStatus, SQLiteRegistry  # noqa: E402


def _fill(lib: SQLiteRegistry, n: int, size: int, start: int = 1) -> None:
    for i in range(start, start + n):
        content = i.to_bytes(8, "big") * (size // 8)
        lib.record_issued(
            metadata(f"2026{i:06d}"),
            package_digest=sm3(content).hex(),
            signer="bench",
            issued_at=NOW - timedelta(days=i % 30),
            content=content,
        )


def run(n: int, size: int) -> dict[str, Any]:
    out: dict[str, Any] = {"certificates": n, "file_bytes": size}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        city = SQLiteRegistry.open(d / "city.db")
        t = time.perf_counter()
        _fill(city, n, size)
        base = time.perf_counter() - t
        out["baseline_records_per_s"] = n / base
        t = time.perf_counter()
        made = make_package(city, exchange_signer(), after=0, batch_size=1000, max_file_bytes=1 << 30, at=NOW)
        export = time.perf_counter() - t
        assert made is not None
        out["export_events_per_s"] = n / export
        province = SQLiteRegistry.open(d / "province.db")
        t = time.perf_counter()
        for batch in read_package(made[0]):
            answer = apply_batch(
                province,
                batch,
                sender_certificate=hierarchy().root_cert,
                policy=ExchangePolicy(regions=frozenset({"330100"})),
                at=NOW,
            )
            assert answer.problem is None and not answer.counts["refused"]
        applied = time.perf_counter() - t
        out["apply_events_per_s"] = n / applied
        out["apply_vs_baseline"] = base / applied
        for k in range(1, 6):  # 10 differences: 5 revoked, 5 missing
            city.set_status(
                f"{list(city.iter_records(batch=10))[k].identifier}",
                CertStatus.REVOKED,
                reason="bench",
                by="bench",
                at=NOW,
            )
        _fill(city, 5, size, start=n + 1)
        t = time.perf_counter()
        found = differences(city, province)
        out["reconcile_s"] = time.perf_counter() - t
        out["reconcile_named_records"] = sum(len(f.only_ours) + len(f.changed) for f in found)
        city.close()
        province.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--certificates", type=int, default=2000)
    parser.add_argument("--file-bytes", type=int, default=8192)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    full = run(args.certificates, args.file_bytes)
    quarter = run(max(args.certificates // 4, 50), args.file_bytes)
    full["reconcile_growth_vs_quarter"] = full["reconcile_s"] / quarter["reconcile_s"]
    if args.json:
        print(json.dumps(full, indent=2))
        return
    for key, value in full.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
