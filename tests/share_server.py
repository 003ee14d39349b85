"""A real share server for tests: ``python -m ecert serve`` in a subprocess on 127.0.0.1, a free port.

The library is created and filled by the test process (share_support.populate), then the server
opens it like any operator would: by its path (or PostgreSQL URL), with key, certificate and trust
directory written as files.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from ecert.crypto.keys import save_private_key

from .certs import hierarchy
from .share_support import service_signer

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    location: str
    process: subprocess.Popen[bytes]
    files: Path

    @property
    def service_cert(self) -> Path:
        return self.files / "share.cert.pem"


def write_service_files(folder: Path) -> Path:
    """The service key and certificate, and a trust directory (root + issuers/) for verification."""
    folder.mkdir(parents=True, exist_ok=True)
    signer = service_signer()
    (folder / "share.key.pem").write_bytes(save_private_key(signer.private_key))
    (folder / "share.cert.pem").write_bytes(b"".join(c.to_pem() for c in (signer.certificate, *signer.chain)))
    trust = folder / "trust"
    (trust / "issuers").mkdir(parents=True, exist_ok=True)
    (trust / "root.cert.pem").write_bytes(hierarchy().root_cert.to_pem())
    (trust / "issuers" / "issuer.cert.pem").write_bytes(hierarchy().issuer_cert.to_pem())
    return folder


@contextlib.contextmanager
def running_server(location: str, folder: Path, *, workers: int = 1, extra: tuple[str, ...] = (),
                   env: dict[str, str] | None = None) -> Iterator[Server]:  # fmt: skip
    write_service_files(folder)
    port = free_port()
    command = [
        sys.executable, "-m", "ecert", "serve", "--registry", location,
        "--key", str(folder / "share.key.pem"), "--cert", str(folder / "share.cert.pem"),
        "--trust", str(folder / "trust"), "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), *extra,
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **(env or {})}
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process, folder / "server.log")
        yield Server(url, location, process, folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {log.read_text(errors='replace')[-2000:]}")
        try:
            answer = httpx.post(f"{url}/share/v1/catalogue", content=b"{}", timeout=2.0)
            if answer.headers.get("content-type", "").startswith("application/json"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not start in {timeout} s: {log.read_text(errors='replace')[-2000:]}")
