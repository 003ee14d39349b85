"""The HTTP exchange held to faults with servers of its own: the province's server killed (SIGKILL)
in the middle of a push and started again, and batches too large for the server's body limit."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ecert.exchange.batch import cursor_of
from ecert.exchange.http import PushReport, push
from ecert.registry import SQLiteRegistry
from ecert.registry.base import Right

from .share_server import running_server
from .share_support import library_at, opened, populate
from .test_exchange import exchange_signer
from .test_exchange_http import client, fresh, issued_events, register, view


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_push_cut_by_killing_the_server_resumes_with_nothing_lost_or_doubled(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    city = SQLiteRegistry.open(tmp_path / "city.db")
    ids = fresh(city, 24)
    folder = tmp_path / "province"
    folder.mkdir()
    outcome: list[PushReport | BaseException] = []
    with library_at(request, backend, folder) as location:
        with opened(location) as library:
            populate(library)
        with running_server(location, folder) as server:
            app_id = register(server, [Right("exchange", "*")])

            def pushing() -> None:
                try:
                    with client(server, app_id) as c:
                        outcome.append(push(city, c, exchange_signer(), batch_size=2))
                except BaseException as exc:  # the cut is expected: kept for the assert below
                    outcome.append(exc)

            worker = threading.Thread(target=pushing)
            worker.start()
            deadline = time.monotonic() + 60
            with opened(location) as library:
                while cursor_of(library, city.library_id)[0] < 6 and time.monotonic() < deadline:
                    time.sleep(0.02)
            server.process.kill()  # SIGKILL: no shutdown, whatever batch is on its way is cut
            worker.join(60)
        assert outcome and isinstance(outcome[0], BaseException), outcome  # the push was cut
        with opened(location) as library:
            cut_at = cursor_of(library, city.library_id)[0]
        assert 6 <= cut_at < 24
        with running_server(location, folder) as server, client(server, app_id) as c:
            resumed = push(city, c, exchange_signer(), batch_size=2)
        assert resumed.answers[0].first_seq == cut_at + 1 and resumed.cursor == 24
        assert resumed.counts["refused"] == 0
        with opened(location) as library:
            assert view(library, ids) == view(city, ids)
            assert sorted(issued_events(library, ids)) == sorted(ids)  # 0 lost, 0 duplicated
            assert library.check().ok
    city.close()


def test_batches_too_large_for_the_server_are_halved(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    city = SQLiteRegistry.open(tmp_path / "city.db")
    ids = fresh(city, 8)
    folder = tmp_path / "province"
    folder.mkdir()
    with library_at(request, "sqlite", folder) as location:
        with opened(location) as library:
            populate(library)
        with running_server(location, folder, extra=("--max-body", "60000")) as server:
            app_id = register(server, [Right("exchange", "*")])
            with client(server, app_id) as c:
                report = push(city, c, exchange_signer(), batch_size=8)
        assert report.cursor == 8 and report.counts == {"accepted": 8, "already": 0, "refused": 0}
        assert len(report.answers) > 1 and report.files_owed == ()
        with opened(location) as library:
            assert view(library, ids) == view(city, ids)
    city.close()


@pytest.mark.slow
def test_a_push_cut_by_killing_the_client_resumes_with_nothing_lost_or_doubled(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    from ecert.crypto.keys import save_private_key

    key, cert = tmp_path / "exchange.key.pem", tmp_path / "exchange.pem"
    key.write_bytes(save_private_key(exchange_signer().private_key))
    cert.write_bytes(b"".join(c.to_pem() for c in (exchange_signer().certificate, *exchange_signer().chain)))
    city = SQLiteRegistry.open(tmp_path / "city.db")
    ids = fresh(city, 24)
    folder = tmp_path / "province"
    folder.mkdir()
    with library_at(request, "sqlite", folder) as location:
        with opened(location) as library:
            populate(library)
        with running_server(location, folder) as server:
            app_id = register(server, [Right("exchange", "*")])
            command = [
                sys.executable, "-m", "ecert", "exchange", "push", "--library", str(tmp_path / "city.db"),
                "--server", server.url, "--app-id", app_id, "--key", str(key), "--cert", str(cert),
                "--service-cert", str(server.service_cert), "--batch-size", "2",
            ]  # fmt: skip
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            pushing = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            with opened(location) as library:
                while cursor_of(library, city.library_id)[0] < 6 and time.monotonic() < deadline:
                    time.sleep(0.02)
            pushing.kill()  # SIGKILL: the client dies between (or in the middle of) its requests
            assert pushing.wait(30) != 0
            with opened(location) as library:
                cut_at = cursor_of(library, city.library_id)[0]
            assert 6 <= cut_at < 24
            with client(server, app_id) as c:
                resumed = push(city, c, exchange_signer(), batch_size=2)
        assert resumed.cursor == 24 and resumed.counts["refused"] == 0
        with opened(location) as library:
            assert view(library, ids) == view(city, ids)
            assert sorted(issued_events(library, ids)) == sorted(ids)  # 0 lost, 0 duplicated
            assert library.check().ok
    city.close()
