"""A window PC with nothing but the province's trust bundle (issue 13): ``ecert window --bundle``
verifies a genuine file and its QR code and refuses a revoked one, in-process and as a real server."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ecert.cli import main
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.signer import Signer
from ecert.crypto.x509 import load_certificates
from ecert.exchange import TrustBundle, make_bundle
from ecert.web.verifier import WindowSettings
from ecert.web.window import create_window_app

from .browser import ecert_server
from .window_cases import REVOKE_REASON, WindowCases, shared_cases


@functools.lru_cache(maxsize=1)
def province() -> DemoHierarchy:
    """The province: its own root and bundle-signing certificate, unrelated to the departments'."""
    return DemoHierarchy.create("sm2", department="示例省大数据管理局")


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> WindowCases:
    return shared_cases(tmp_path_factory)


@pytest.fixture(scope="module")
def bundle_files(cases: WindowCases, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(bundle, province certificate): the demo root as anchor, the demo department's certificate,
    and its signed status list (one certificate revoked)."""
    out = tmp_path_factory.mktemp("window-bundle")
    keys = cases.root / "demo" / "keys"
    p = province()
    now = datetime.now(UTC)
    data = make_bundle(
        Signer(p.issuer_key, p.issuer_cert, (p.root_cert,)),
        anchors=load_certificates((cases.trust / "root.cert.pem").read_bytes()),
        issuers=load_certificates((keys / "issuer.cert.pem").read_bytes()),
        status_lists=[cases.status_list.read_bytes()],
        issued_at=now - timedelta(minutes=1),
        expires_at=now + timedelta(days=1),
        publisher="示例省",
    )
    (out / "bundle.json").write_bytes(data)
    (out / "province.pem").write_bytes(p.root_cert.to_pem())
    return out / "bundle.json", out / "province.pem"


def _verdict(client: httpx.Client | TestClient, endpoint: str, body: bytes) -> dict:  # type: ignore[type-arg]
    response = client.post(f"api/window/{endpoint}", content=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] and answer["found"]
    return answer["result"]["verdict"]  # type: ignore[no-any-return]


def test_settings_from_the_bundle_alone(cases: WindowCases, bundle_files: tuple[Path, Path]) -> None:
    bundle = TrustBundle.load(bundle_files[0].read_bytes(), anchor=province().root_cert)
    settings = WindowSettings.from_bundle(bundle)
    assert settings.registry is None and len(settings.status_lists) == 1
    assert [c.der for c in settings.certificates] == [c.der for c in bundle.issuers]
    with TestClient(create_window_app(settings), base_url="http://testserver/") as c:
        assert _verdict(c, "upload", cases.valid.read_bytes())["label"] == "有效"
        assert _verdict(c, "text", cases.payload_valid.encode())["label"] == "有效"  # QR: a bundle issuer
        revoked = _verdict(c, "upload", cases.revoked.read_bytes())
        assert revoked["kind"] == "revoked" and REVOKE_REASON in revoked["detail"]
        assert _verdict(c, "upload", cases.tampered.read_bytes())["label"] == "无效"
    # the same window once the bundle has expired: its status source no longer answers
    assert "trust bundle expired" in str(settings.status_lists[0].stale_reason(bundle.expires_at))


def test_ecert_window_with_only_a_bundle_serves_verdicts(
    cases: WindowCases, bundle_files: tuple[Path, Path]
) -> None:
    bundle, signer = bundle_files
    args = ["window", "--bundle", str(bundle), "--bundle-signer", str(signer)]
    with ecert_server(args, "api/window/limits") as base, httpx.Client(base_url=base, timeout=60) as c:
        assert _verdict(c, "upload", cases.valid.read_bytes())["label"] == "有效"
        revoked = _verdict(c, "upload", cases.revoked.read_bytes())
        assert revoked["label"] == "已吊销" and REVOKE_REASON in revoked["detail"]
        assert _verdict(c, "image", cases.qr_revoked.read_bytes())["label"] == "已吊销"


def test_cli_refuses_a_bundle_without_its_signer_or_mixed_with_a_trust_dir(
    cases: WindowCases, bundle_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, signer = bundle_files
    assert main(["window", "--bundle", str(bundle)]) == 2
    assert "--bundle needs --bundle-signer" in capsys.readouterr().err
    both = ["window", "--bundle", str(bundle), "--bundle-signer", str(signer), "--trust", str(cases.trust)]
    assert main(both) == 2
    assert main(["window"]) == 2
    assert "give --trust DIR, or --bundle" in capsys.readouterr().err
    # a bundle checked against the wrong province certificate is refused before serving
    wrong = cases.trust / "root.cert.pem"
    assert main(["window", "--bundle", str(bundle), "--bundle-signer", str(wrong), "--port", "1"]) == 2
    assert "not by the province certificate" in capsys.readouterr().err
