"""The share service under load: a running server (2 workers) and 64 concurrent clients, against the
same operations called in-process, in the same run.

Run: python benchmarks/bench_share.py [--clients 64] [--workers 2] [--registry postgresql://...] [--json]

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
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    ``clients`` concurrent clients, each sending its next request as soon as it has an answer.

    The clients write prepared HTTP/1.1 requests on kept-alive connections and read the answers
    by Content-Length (as wrk does): on a 2-core machine a full client library (httpx) spent as
    much CPU per request as the server, and so measured the client.  Every answer is kept and
    checked after the clock stops."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    answers: list[tuple[str, int, dict[str, str], bytes]] = []
    queue: list[tuple[str, bytes]] = []

    def wire(headers: dict[str, str], body: bytes) -> tuple[str, bytes]:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
        lines += [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(body)}", "", ""]
        return headers["X-Ecert-Nonce"], "\r\n".join(lines).encode("latin-1") + body

    async def one_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while queue:
            nonce, request = queue.pop()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            fields = dict(line.split(": ", 1) for line in header_lines if ": " in line)
            fields = {k.lower(): v for k, v in fields.items()}
            body = await reader.readexactly(int(fields["content-length"]))
            latencies.append(time.perf_counter() - started)
            answers.append((nonce, int(status_line.split()[1]), fields, body))

    connections = [await asyncio.open_connection(host, int(port)) for _ in range(clients)]
    try:
        queue.extend(wire(h, b) for h, b in warm)
        await asyncio.gather(*(one_client(r, w) for r, w in connections))
        latencies.clear()
        answers.clear()
        queue.extend(wire(h, b) for h, b in reversed(requests))
        start = time.perf_counter()
        await asyncio.gather(*(one_client(r, w) for r, w in connections))
        elapsed = time.perf_counter() - start
    finally:
        for _, w in connections:
            w.close()
    ok = sum(1 for _, _, _, body in answers if json.loads(body)["head"]["status"] == 0)
    latencies.sort()
    return {
        "rate": len(answers) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "requests": len(answers),
        "ok": ok,
        "sample": answers[:: max(1, len(answers) // 20)],
    }


def tree_sched(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds waiting for one) of process ``pid``'s and its descendants' threads
    so far (Linux /proc/.../schedstat).  The wait is the machine's load: other engineers' work."""
    on_cpu = waiting = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                ran, waited, _ = (task / "schedstat").read_text().split()
                on_cpu += int(ran) / 1e9
                waiting += int(waited) / 1e9
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return on_cpu, waiting


def signed(path: str, body: bytes, n: int) -> list[tuple[dict[str, str], bytes]]:
    at = datetime.now(UTC)
    return [(request_headers(app_key("tax"), "tax", "POST", path, body, at=at), body) for _ in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0, help="per in-process measurement")
    parser.add_argument(
        "--requests", type=int, default=1500, help="per operation (file verification: a third)"
    )
    parser.add_argument(
        "--registry",
        "--library",
        dest="library",
        help="an empty database's postgresql:// URL (default: a new SQLite file)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    load = os.getloadavg()
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
        with running_server(location, folder, workers=args.workers) as server:
            for name, (path, body) in plan.items():
                n = args.requests if name != "verify-file" else max(200, args.requests // 3)
                requests = signed(path, body, n + args.clients)
                (cpu, waited), client_before = tree_sched(server.process.pid), time.process_time()
                run = asyncio.run(drive(server.url, path, requests[n:], requests[:n], args.clients))
                # CPU per answer (warm-up included, as the server cannot tell): load-independent
                answered = n + args.clients
                cpu_after, waited_after = tree_sched(server.process.pid)
                run["server_cpu_ms"] = 1000 * (cpu_after - cpu) / answered
                run["server_waited_for_cpu_ms"] = 1000 * (waited_after - waited) / answered
                run["client_cpu_ms"] = 1000 * (time.process_time() - client_before) / answered
                key = service_signer().certificate.public_key
                for nonce, status, headers, content in run.pop("sample"):  # off the clock
                    verify_response(key, nonce, status, content, headers)
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
    # what the workers reach with a core each: in-process CPU per call over server CPU per answer
    cpu_ratios = {
        name: args.workers
        * (1000 / (base["ecert.verify"] if name == "verify-file" else base[name]))
        / results["server"][name]["server_cpu_ms"]
        for name in ratios
    }
    results["cpu_ratios"] = cpu_ratios
    results["load_average"] = [load[0], os.getloadavg()[0]]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"share service: {args.workers} workers, {args.clients} concurrent clients, {backend} library")
    after = os.getloadavg()[0]
    print(f"load average before the run: {load[0]:.2f}, after: {after:.2f} ({os.cpu_count()} cores)")
    print(
        f"{'operation':<14}{'server /s':>11}{'p50 ms':>9}{'p99 ms':>9}{'in-process /s':>15}{'ratio':>8}"
        f"{'server CPU ms':>15}{'waited ms':>11}{'in-process ms':>15}{'CPU ratio':>11}"
    )
    for name in ("get", "verify-data", "verify-file"):
        s = results["server"][name]
        b = base["ecert.verify"] if name == "verify-file" else base[name]
        print(
            f"{name:<14}{s['rate']:>11.0f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}{b:>15.0f}{ratios[name]:>7.2f}x"
            f"{s['server_cpu_ms']:>15.2f}{s['server_waited_for_cpu_ms']:>11.2f}{1000 / b:>15.2f}"
            f"{cpu_ratios[name]:>10.2f}x"
        )
    print(f"(in-process ShareService.verify_file: {base['verify-file']:.0f}/s; file baseline: ecert.verify)")
    print(
        "ratio: server answers per wall second over in-process calls per CPU second; CPU ratio: what "
        f"{args.workers} workers reach with a core each (in-process CPU per call x workers / server "
        "CPU per answer); waited: server time spent runnable but without a CPU (the machine's load)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
