"""The share service as a department runs it: ``ecert serve`` in a subprocess on 127.0.0.1, spoken
to with the real client (httpx) and with hand-made requests; every refusal against the running server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecert.crypto.digests import sm3
from ecert.crypto.keys import generate_private_key, save_private_key, save_public_key
from ecert.errors import (
    AuthenticationFailed,
    CertificateEnded,
    DownloadTicketExpired,
    DownloadTicketUsed,
    InputError,
    InvalidSignature,
    KeyRevoked,
    MissingField,
    PermissionDenied,
    RecordNotFound,
    ReplayedRequest,
    RequestExpired,
    TokenProfileDisabled,
    TooManyRows,
)
from ecert.qr.offline import make_offline
from ecert.qr.payload import ReferencePayload
from ecert.registry.status import CertStatus
from ecert.share import Client
from ecert.share.signing import request_headers

from .certs import signer
from .share_server import Server, running_server
from .share_support import (
    BUSINESS,
    ENGINEER,
    app_key,
    cert_of,
    library_at,
    opened,
    populate,
    service_signer,
    set_status,
)

REASON = {"reason": "办理企业开办登记"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ecert serve`` over a library filled by this process, on each backend."""
    folder = tmp_path_factory.mktemp("share")
    with library_at(request, request.param, folder) as location:
        with opened(location) as library:
            populate(library)
            library.add_application(
                "leaving",
                name="leaving app",
                department="撤销中的部门",
                public_key=_public("leaving"),
                rights=[],
            )
        with running_server(location, folder, extra=("--ticket-seconds", "2", "--max-rows", "1")) as running:
            yield running


def _public(app_id: str) -> str:
    return save_public_key(app_key(app_id).public_key()).decode("ascii")


def client(server: Server, app_id: str = "tax", **kw: Any) -> Client:
    return Client(
        server.url,
        app_id=app_id,
        key=app_key(app_id),
        service_key=service_signer().certificate,
        operator="王经办",
        **kw,
    )


def raw_post(server: Server, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    answer = httpx.post(server.url + path, content=body, headers=headers, timeout=30)
    envelope = answer.json()
    return {"http": answer.status_code, **envelope["head"], "data": envelope["data"]}


# --- what another department does ----------------------------------------------------------------


def test_search_get_download_verify_and_the_holders_view(server: Server) -> None:
    engineer = cert_of(ENGINEER)
    md = engineer.metadata
    with client(server) as tax:
        rows = tax.search(md.holder_code, md.holder_code_type_code, ENGINEER, **REASON)
        assert [r["certIdentifier"] for r in rows] == [engineer.identifier]
        view = tax.get(engineer.identifier, ["ZZBH", "CZZT"], **REASON)
        assert view["metadata"] == {"ZZBH": md.number, "CZZT": md.holder_name}
        reference = str(ReferencePayload("", engineer.identifier, sm3(engineer.content)))
        assert tax.get_by_qr(reference, **REASON)["certIdentifier"] == engineer.identifier
        offline = make_offline(md, signer(), at=datetime.now(UTC) - timedelta(hours=1))
        assert tax.get_by_qr(offline, **REASON)["certIdentifier"] == engineer.identifier
        assert tax.download(engineer.identifier, **REASON) == engineer.content
        url = tax.download_url(engineer.identifier, **REASON)
        assert tax.fetch(url) == engineer.content
        with pytest.raises(DownloadTicketUsed):
            tax.fetch(url)
        assert tax.verify_data(ENGINEER, {"ZZBS": engineer.identifier, "CZZT": md.holder_name}, **REASON) == {
            "result": 0,
            "message": "信息正确且有效",
        }
        assert (
            tax.verify_data(ENGINEER, {"ZZBS": engineer.identifier, "CZZT": "王五"}, **REASON)["result"] == 6
        )
        checked = tax.verify_file(engineer.content, **REASON)
        assert (checked["result"], checked["report"]["ok"]) == (0, True)
        tampered = bytearray(engineer.content)
        tampered[len(tampered) // 2] ^= 0x01  # inside a compressed part: the package no longer reads
        assert tax.verify_file(bytes(tampered), **REASON)["result"] == 2
        assert {t["certTypeCode"] for t in tax.catalogue()} >= {BUSINESS, ENGINEER}
    with client(server, "portal") as portal:
        seen = portal.usage(engineer.identifier, md.holder_code, reason="持证人查看用证记录")
    operations = [(r["department"], r["operation"]) for r in seen]
    assert ("示例市税务局", "search") in operations and ("示例市税务局", "download") in operations
    assert {r["useCause"] for r in seen if r["appId"] == "tax"} >= {"办理企业开办登记"}


def test_sensitive_fields_minimisation_and_rights(server: Server) -> None:
    business = cert_of(BUSINESS)
    with client(server, "district") as district:
        view = district.get(business.identifier, **REASON)
        assert "KZ_FDDBR" not in view["metadata"] and view["withheld"] == ["KZ_FDDBR"]
        with pytest.raises(PermissionDenied):
            district.download(business.identifier, **REASON)
        with pytest.raises(PermissionDenied):
            district.get(cert_of(ENGINEER).identifier, **REASON)
    with client(server) as tax:
        assert tax.get(business.identifier, **REASON)["metadata"]["KZ_FDDBR"] == "张三"
        with pytest.raises(TooManyRows):  # this server hands out one row at most
            tax.search(business.metadata.holder_code, "001", BUSINESS, **REASON)
        with pytest.raises(RecordNotFound):
            tax.get(business.identifier[:-9] + "9.001.X", **REASON)


# --- refusals ----------------------------------------------------------------------------------


def test_a_bad_signature_an_unknown_app_and_no_signature_are_refused(server: Server) -> None:
    impostor = Client(
        server.url,
        app_id="tax",
        key=generate_private_key("sm2"),
        service_key=service_signer().certificate,
        operator="x",
    )
    with impostor, pytest.raises(AuthenticationFailed, match="身份验证不通过"):
        impostor.get(cert_of(ENGINEER).identifier, **REASON)
    stranger = Client(
        server.url,
        app_id="nobody",
        key=app_key("tax"),
        service_key=service_signer().certificate,
        operator="x",
    )
    with stranger, pytest.raises(AuthenticationFailed):
        stranger.catalogue()
    answer = raw_post(server, "/share/v1/catalogue", b"{}", {})
    assert (answer["http"], answer["status"]) == (401, 11)


def test_a_stale_timestamp_and_a_replayed_request_are_refused(server: Server) -> None:
    body = json.dumps(
        {"operator": "王", "useCause": "x", "certIdentifier": cert_of(ENGINEER).identifier}
    ).encode()
    old = request_headers(
        app_key("tax"), "tax", "POST", "/share/v1/get", body, at=datetime.now(UTC) - timedelta(minutes=6)
    )
    assert raw_post(server, "/share/v1/get", body, old)["status"] == 201
    future = request_headers(
        app_key("tax"), "tax", "POST", "/share/v1/get", body, at=datetime.now(UTC) + timedelta(minutes=6)
    )
    assert raw_post(server, "/share/v1/get", body, future)["status"] == 201
    fresh = request_headers(app_key("tax"), "tax", "POST", "/share/v1/get", body, at=datetime.now(UTC))
    assert raw_post(server, "/share/v1/get", body, fresh)["status"] == 0
    replay = raw_post(server, "/share/v1/get", body, fresh)
    assert (replay["http"], replay["status"], replay["data"]) == (401, 202, None)
    with client(server) as tax:  # the client raises the matching error
        nonce = "replayed-nonce-0123456789"
        tax.send("/share/v1/catalogue", b"{}", nonce=nonce)
        with pytest.raises(ReplayedRequest):
            _raise(tax.send("/share/v1/catalogue", b"{}", nonce=nonce))
        with pytest.raises(RequestExpired):
            _raise(
                tax.send(
                    "/share/v1/catalogue", b"{}", at=datetime.now(UTC) - timedelta(minutes=5, seconds=30)
                )
            )


def _raise(answer: Any) -> None:
    from ecert.share.client import _error

    if answer.status != 0:
        raise _error(answer.status, answer.message)


def test_a_revoked_key_is_refused_at_once(server: Server) -> None:
    with client(server, "leaving") as leaving:
        leaving.catalogue()
        revoked = subprocess.run(
            [
                sys.executable,
                "-m",
                "ecert",
                "share",
                "app",
                "revoke-key",
                "leaving",
                "--registry",
                server.location,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(KeyRevoked):
            leaving.catalogue()


def test_a_use_reason_is_required_and_unknown_fields_are_refused(server: Server) -> None:
    with client(server) as tax:
        with pytest.raises(MissingField):
            tax.get(cert_of(ENGINEER).identifier)
        with pytest.raises(InputError):
            tax.get(cert_of(ENGINEER).identifier, reason="x" * 201)
        with pytest.raises(InputError, match="Extra inputs"):
            tax.call("get", {"certIdentifier": cert_of(ENGINEER).identifier, "accessToken": "x"}, reason="x")
        answer = tax.send("/share/v1/get", b'{"operator": "x", "useCause": "y", "certIdentifier": 12}')
        assert (answer.http_status, answer.status) == (400, 102)
        answer = tax.send("/share/v1/get", b"{not json")
        assert answer.status == 102


def test_an_expired_one_time_url_is_refused(server: Server) -> None:
    with client(server) as tax:
        url = tax.download_url(cert_of(ENGINEER).identifier, **REASON)
        time.sleep(2.5)  # this server's URLs live 2 s (the default is the specification's 10 minutes)
        with pytest.raises(DownloadTicketExpired):
            tax.fetch(url)


def test_a_revoked_certificate_is_not_handed_out(server: Server, tmp_path: Path) -> None:
    business = cert_of(BUSINESS)
    with opened(server.location) as library:
        set_status(library, business.identifier, CertStatus.REVOKED)
    with client(server) as tax:
        with pytest.raises(CertificateEnded):
            tax.download(business.identifier, **REASON)
        assert tax.get(business.identifier, ["ZZBS"], **REASON)["status"] == "revoked"
        assert tax.verify_data(BUSINESS, {"ZZBS": business.identifier}, **REASON)["result"] == 3


def test_the_token_profile(server: Server) -> None:
    engineer = cert_of(ENGINEER)
    with client(server, "kiosk") as kiosk:
        token = kiosk.use_token()
        assert kiosk.get(engineer.identifier, ["ZZBH"], **REASON)["metadata"] == {
            "ZZBH": engineer.metadata.number
        }
        with pytest.raises(PermissionDenied):
            kiosk.download(engineer.identifier, **REASON)
    bogus = raw_post(server, "/share/v1/catalogue", b"{}", {"authorization": "Bearer " + "x" * 43})
    assert bogus["status"] == 11
    assert raw_post(server, "/share/v1/catalogue", b"{}", {"authorization": f"Bearer {token}"})["status"] == 0
    with client(server) as tax, pytest.raises(TokenProfileDisabled):
        tax.use_token()  # tax is not allowed the weaker profile


def test_answers_are_signed_by_the_service(server: Server) -> None:
    other = generate_private_key("sm2").public_key()
    wrong = Client(server.url, app_id="tax", key=app_key("tax"), service_key=other, operator="x")
    with wrong, pytest.raises(InvalidSignature):
        wrong.catalogue()
    answer = httpx.post(server.url + "/share/v1/nothing-here", content=b"{}")
    assert answer.status_code == 404 and answer.json()["head"]["status"] == 2
    assert answer.headers["x-ecert-signature"]


def test_the_token_profile_can_be_switched_off(server: Server, tmp_path: Path) -> None:
    with (
        running_server(server.location, tmp_path, extra=("--no-token-profile",)) as strict,
        client(strict, "kiosk") as kiosk,
        pytest.raises(TokenProfileDisabled),
    ):
        kiosk.use_token()


def test_the_cli_client(server: Server, tmp_path: Path) -> None:
    key = tmp_path / "tax.key.pem"
    key.write_bytes(save_private_key(app_key("tax")))
    engineer = cert_of(ENGINEER)
    common = [
        "--server",
        server.url,
        "--app-id",
        "tax",
        "--key",
        str(key),
        "--service-cert",
        str(server.service_cert),
        "--operator",
        "王经办",
        "--reason",
        "办理资质审核",
    ]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ecert", "share", *args, *common],
            capture_output=True,
            text=True,
            timeout=120,
        )

    got = run("get", engineer.identifier, "--fields", "ZZBH")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["metadata"] == {"ZZBH": engineer.metadata.number}
    out = tmp_path / "cert.ofd"
    assert run("download", engineer.identifier, "-o", str(out)).returncode == 0
    assert out.read_bytes() == engineer.content
    assert run("verify-file", str(out)).returncode == 0
    assert (
        run(
            "verify-data",
            "--type",
            ENGINEER,
            "--field",
            f"ZZBS={engineer.identifier}",
            "--field",
            "CZZT=王五",
        ).returncode
        == 1
    )
    refused = run("download", "1.2.156.3005.2.11100000000013338W001.11330100MB01234570.0000000099.001.X")
    assert refused.returncode == 2 and "未找到匹配的证照信息" in refused.stderr


def test_the_example_script_of_another_department(server: Server, tmp_path: Path) -> None:
    """examples/share_client.py, as README's walkthrough runs it: search, get, download, verify."""
    key = tmp_path / "tax.key.pem"
    key.write_bytes(save_private_key(app_key("tax")))
    md = cert_of(ENGINEER).metadata
    script = Path(__file__).resolve().parents[1] / "examples" / "share_client.py"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--server",
            server.url,
            "--app-id",
            "tax",
            "--key",
            str(key),
            "--service-cert",
            str(server.service_cert),
            "--holder-code",
            md.holder_code,
            "--holder-type",
            md.holder_code_type_code,
            "--type",
            ENGINEER,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "verify-data: 0 信息正确且有效" in done.stdout and "verify-file: 0 文件验证通过" in done.stdout
    assert (tmp_path / f"{md.identifier}.ofd").read_bytes() == cert_of(ENGINEER).content
