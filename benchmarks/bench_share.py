"""The share service under load: a running server (2 workers) and 64 concurrent clients, against the
same operations called in-process, in the same run.

Run: python benchmarks/bench_share.py [--clients 64] [--workers 2] [--seconds S] [--backend sqlite] [--json]

For get-by-identifier, data verification and file verification it prints the server's throughput
and the clients' p50/p99 latency, next to the in-process rate of ShareService (and of bare
``ecert.verify`` for files).  Requests are signed before the clock starts (the clients' SM2
signing is the callers' cost, not the service's); every answer's status is checked and a sample
of answer signatures verified after the run.  Goal (issue 11): get and data verification >= 50%
of the in-process rate with p99 < 50 ms; file verification >= 70% of in-process ``ecert.verify``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_crypto import rate
from tests.certs import hierarchy, trust_store
from tests.share_server import running_server
from tests.share_support import ENGINEER, app_key, cert_of, opened, populate, service_signer

from ecert.share import (
    Caller,
    DataCheckRequest,
    FileCheckRequest,
    GetRequest,
    Purpose,
    ShareService,
    ShareSettings,
)
from ecert.share.signing import request_headers, verify_response
from ecert.verify import verify

WHY = "办理资质审核"


def bodies(identifier: str, content: bytes, holder: str) -> dict[str, tuple[str, bytes]]:
    common = {"operator": "王经办", "useCause": WHY}
    encoded = base64.b64encode(content).decode()
    return {
        "get": ("/share/v1/get", json.dumps({**common, "certIdentifier": identifier}).encode()),
        "verify-data": (
            "/share/v1/verify-data",
            json.dumps(
                {**common, "certTypeCode": ENGINEER, "certData": {"ZZBS": identifier, "CZZT": holder}},
                ensure_ascii=False,
            ).encode(),
        ),
        "verify-file": (
            "/share/v1/verify-file",
            json.dumps({**common, "contentType": "base64", "content": encoded}).encode(),
        ),
    }


def in_process(service: ShareService, library: Any, seconds: float) -> dict[str, float]:
    cert = cert_of(ENGINEER)
    caller = Caller(library.application("tax"), "王经办")
    why = Purpose(reason=WHY)
    checks: dict[str, Callable[[], object]] = {
        "get": lambda: service.get(caller, why, GetRequest(cert.identifier)),
        "verify-data": lambda: service.verify_data(
            caller,
            why,
            DataCheckRequest(ENGINEER, {"ZZBS": cert.identifier, "CZZT": cert.metadata.holder_name}),
        ),
        "verify-file": lambda: service.verify_file(caller, why, FileCheckRequest(cert.content)),
        "ecert.verify": lambda: verify(cert.content, trust=trust_store(), status=library),
    }
    return {name: rate(fn, seconds) for name, fn in checks.items()}


async def drive(
    url: str,
    path: str,
    warm: list[tuple[dict[str, str], bytes]],
    requests: list[tuple[dict[str, str], bytes]],
    clients: int,
) -> dict[str, Any]:
    """Send ``warm`` (one request per client: connections opened), then time ``requests`` sent by
    ``clients`` concurrent clients, each sending its next request as soon as it has an answer."""
    latencies: list[float] = []
    answers: list[tuple[str, httpx.Response]] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    nodelay = httpx.AsyncHTTPTransport(
        limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    async with httpx.AsyncClient(timeout=120, transport=nodelay) as http:
        queue: list[tuple[dict[str, str], bytes]] = []

        async def one_client() -> None:
            while queue:
                headers, body = queue.pop()
                started = time.perf_counter()
                answer = await http.post(url + path, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                answers.append((headers["X-Ecert-Nonce"], answer))

        queue.extend(warm)
        await asyncio.gather(*(one_client() for _ in range(clients)))
        latencies.clear()
        answers.clear()
        queue.extend(reversed(requests))
        start = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    ok = sum(1 for _, a in answers if a.json()["head"]["status"] == 0)
    latencies.sort()
    return {
        "rate": len(answers) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "requests": len(answers),
        "ok": ok,
        "sample": answers[:: max(1, len(answers) // 20)],
    }


def signed(path: str, body: bytes, n: int) -> list[tuple[dict[str, str], bytes]]:
    at = datetime.now(UTC)
    return [(request_headers(app_key("tax"), "tax", "POST", path, body, at=at), body) for _ in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=1, help="library calls at once per worker (ecert serve --threads)"
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="per in-process measurement")
    parser.add_argument(
        "--requests", type=int, default=1500, help="per operation (file verification: a third)"
    )
    parser.add_argument(
        "--library", help="an empty database's postgresql:// URL (default: a new SQLite file)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    cert = cert_of(ENGINEER)
    backend = "postgresql" if args.library else "sqlite"
    results: dict[str, Any] = {"clients": args.clients, "workers": args.workers, "backend": backend}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        location = args.library or str(folder / "library.db")
        with opened(location) as library:
            populate(library)
            settings = ShareSettings(trust=trust_store(), certificates=(hierarchy().issuer_cert,))
            service = ShareService(library, service_signer(), settings)
            results["in_process"] = in_process(service, library, args.seconds)
        plan = bodies(cert.identifier, cert.content, cert.metadata.holder_name)
        results["server"] = {}
        with running_server(
            location, folder, workers=args.workers, extra=("--threads", str(args.threads))
        ) as server:
            for name, (path, body) in plan.items():
                n = args.requests if name != "verify-file" else max(200, args.requests // 3)
                requests = signed(path, body, n + args.clients)
                run = asyncio.run(drive(server.url, path, requests[n:], requests[:n], args.clients))
                key = service_signer().certificate.public_key
                for nonce, answer in run.pop("sample"):  # off the clock: the answers are the service's
                    verify_response(key, nonce, answer.status_code, answer.content, answer.headers)
                if run["ok"] != run["requests"]:
                    raise SystemExit(f"{name}: {run['requests'] - run['ok']} answers were refusals")
                results["server"][name] = run
    base = results["in_process"]
    ratios = {
        "get": results["server"]["get"]["rate"] / base["get"],
        "verify-data": results["server"]["verify-data"]["rate"] / base["verify-data"],
        "verify-file": results["server"]["verify-file"]["rate"] / base["ecert.verify"],
    }
    results["ratios"] = ratios
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"share service: {args.workers} workers, {args.clients} concurrent clients, {backend} library")
    print(f"{'operation':<14}{'server /s':>11}{'p50 ms':>9}{'p99 ms':>9}{'in-process /s':>15}{'ratio':>8}")
    for name in ("get", "verify-data", "verify-file"):
        s = results["server"][name]
        b = base["ecert.verify"] if name == "verify-file" else base[name]
        print(
            f"{name:<14}{s['rate']:>11.0f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}{b:>15.0f}{ratios[name]:>7.2f}x"
        )
    print(f"(in-process ShareService.verify_file: {base['verify-file']:.0f}/s; file baseline: ecert.verify)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
