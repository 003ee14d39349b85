"""The province–city exchange over HTTP: events per second pushed and pulled through ``ecert serve``,
against applying the same batches in-process, measured in the same run.

Run: python benchmarks/bench_exchange_http.py [--certificates N] [--file-bytes B] [--province URL] [--json]
     (default 2,000 certificates with 8 KiB files; ``--province postgresql://...`` puts the province's
     library on an empty PostgreSQL database instead of SQLite)

* baseline: the city's signed batches (500 events, files inside) applied in-process to an empty
  library with ``apply_batch``, events per second;
* push: ``ecert.exchange.http.push`` of the same library to ``ecert serve`` over an empty library
  (signed requests, signed answers, one transaction per batch), events per second and its ratio to
  the baseline (what HTTP, signatures and the server add);
* pull: another empty city pulling everything back from the province (filtered pull batches,
  nothing filtered out, files inside), events per second and its ratio to the baseline.
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
from tests.share_server import running_server  # noqa: E402
from tests.share_support import service_signer  # noqa: E402
from tests.test_exchange import exchange_signer  # noqa: E402
from tests.test_registry import NOW, metadata  # noqa: E402

from ecert.crypto.digests import sm3  # noqa: E402
from ecert.crypto.keys import save_public_key  # noqa: E402
from ecert.exchange.batch import ExchangePolicy, apply_batch, make_batch  # noqa: E402
from ecert.exchange.http import ExchangeClient, pull, push  # noqa: E402
from ecert.exchange.peers import add_peer  # noqa: E402
from ecert.registry import SQLiteRegistry, open_registry  # noqa: E402
from ecert.registry.base import Right  # noqa: E402


def _fill(lib: SQLiteRegistry, n: int, size: int) -> None:
    for i in range(1, n + 1):
        content = i.to_bytes(8, "big") * (size // 8)
        lib.record_issued(
            metadata(f"2026{i:06d}"),
            package_digest=sm3(content).hex(),
            signer="bench",
            issued_at=NOW - timedelta(days=i % 30),
            content=content,
        )


def _events(lib: Any) -> int:
    count, after = 0, 0
    while events := lib.events(after=after, limit=10_000):
        count += len(events)
        after = events[-1].seq
    return count


def run(n: int, size: int, province_url: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "certificates": n,
        "file_bytes": size,
        "province": "postgresql" if province_url else "sqlite",
    }
    policy = ExchangePolicy(regions=frozenset({"330000"}))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        city = SQLiteRegistry.open(d / "city.db")
        _fill(city, n, size)
        events = _events(city)
        out["events"] = events

        # baseline: the same batches applied in-process
        batches, after = [], 0
        while data := make_batch(city, exchange_signer(), sender=city.library_id, after=after, limit=500):
            batches.append(data)
            after = min(after + 500, events)
        local = SQLiteRegistry.open(d / "local.db")
        t = time.perf_counter()
        for data in batches:
            apply_batch(local, data, sender_certificate=hierarchy().root_cert, policy=policy)
        base = time.perf_counter() - t
        local.close()
        out["baseline_apply_events_per_s"] = round(events / base)

        location = province_url or str(d / "province.db")
        with open_registry(location) as province:
            pem = save_public_key(exchange_signer().private_key.public_key()).decode("ascii")
            for app_id, peer in (("city", True), ("reader", False)):
                province.add_application(
                    app_id, name=app_id, department="bench", public_key=pem, rights=[Right("exchange", "*")]
                )
                if peer:
                    add_peer(
                        province, app_id, exchange_signer().certificate, ExchangePolicy(frozenset({"330100"}))
                    )
        with running_server(location, d / "server") as server:

            def client(app_id: str) -> ExchangeClient:
                return ExchangeClient(
                    server.url, app_id=app_id, key=exchange_signer().private_key,
                    service_certificate=service_signer().certificate,
                )  # fmt: skip

            with client("city") as c:
                t = time.perf_counter()
                report = push(city, c, exchange_signer(), batch_size=500)
                pushed = time.perf_counter() - t
            assert report.cursor == events and report.counts["refused"] == 0, report.counts
            out["push_events_per_s"] = round(events / pushed)
            out["push_vs_baseline"] = round(base / pushed, 2)

            down = SQLiteRegistry.open(d / "down.db")
            with client("reader") as c:
                t = time.perf_counter()
                got = pull(down, c, policy=policy, limit=500)
                pulled = time.perf_counter() - t
            assert got.counts["refused"] == 0 and got.counts["accepted"] == events, got.counts
            out["pull_events_per_s"] = round(events / pulled)
            out["pull_vs_baseline"] = round(base / pulled, 2)
            down.close()
        city.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=2000)
    parser.add_argument("--file-bytes", type=int, default=8192)
    parser.add_argument("--province", help="a postgresql:// URL of an empty database for the province")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.certificates, args.file_bytes, args.province)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    r = result
    print(
        f"{r['certificates']} certificates, {r['file_bytes']} B files, {r['events']} events, "
        f"province on {r['province']}"
    )
    print(f"  baseline (apply_batch in-process): {r['baseline_apply_events_per_s']} events/s")
    print(f"  push over HTTP: {r['push_events_per_s']} events/s ({r['push_vs_baseline']}x the baseline)")
    print(f"  pull over HTTP: {r['pull_events_per_s']} events/s ({r['pull_vs_baseline']}x the baseline)")


if __name__ == "__main__":
    main()
