"""A QR code whose department certificate the window lacks: "cannot be checked here", not "invalid".

As for files: the report names the certificate to add and where (the department certificate with
the payload's key id into ``issuers/`` or ``--cert``; the root of a department certificate that
chains to nothing).  Never valid; a payload whose signature fails with a known key stays invalid.
Driven through the Python API (``ecert.verify_qr``), ``ecert verify --qr`` and the window's app.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ecert
from ecert.cli import main
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.qr.offline import key_id, make_offline
from ecert.verdict import cannot_be_checked_here, summary_line, verdict_line

from .certs import NOW, SIGNED_AT, draft, hierarchy, signer


@pytest.fixture(scope="module")
def payload() -> str:
    return make_offline(draft().metadata, signer(), at=SIGNED_AT)


def _root_only(tmp_path: Path) -> Path:
    d = tmp_path / "trust"
    (d / "issuers").mkdir(parents=True)
    (d / "root.pem").write_bytes(hierarchy().root_cert.to_pem())
    return d


def test_api_names_the_missing_department_certificate(payload: str) -> None:
    trust = TrustStore.from_certificates(hierarchy().root_cert)
    report = ecert.verify_qr(payload, trust=trust, at=NOW)
    assert not report.ok and cannot_be_checked_here(report)
    (missing,) = report.cannot_be_checked_here
    kid = key_id(signer().certificate).hex()
    assert kid in missing.advice and "issuers/" in missing.advice and "示例市市场监督管理局" in missing.advice
    assert verdict_line(report, "en").startswith("CANNOT BE CHECKED HERE: ")
    assert verdict_line(report, "zh").startswith("无法在此核验：")
    assert report.to_dict()["signers"][0]["cannot_be_checked_here"]["key_id"] == kid
    assert summary_line([report], "en") == "1 checked: 0 valid, 0 not valid, 1 cannot be checked here"
    # adding what it names makes it check
    assert ecert.verify_qr(payload, trust=trust, certificates=[signer().certificate], at=NOW).ok


def test_api_a_department_certificate_without_its_root(payload: str) -> None:
    """The certificate is given but chains to nothing trusted: add its root (named by issuer)."""
    stranger_root = DemoHierarchy.create("sm2", department="别处").root_cert
    report = ecert.verify_qr(
        payload,
        trust=TrustStore.from_certificates(stranger_root),
        certificates=[signer().certificate],
        at=NOW,
    )
    assert not report.ok and cannot_be_checked_here(report)
    (missing,) = report.cannot_be_checked_here
    assert missing.issuer == signer().certificate.issuer and "root or CA certificate" in missing.advice
    assert report.metadata is not None  # the signature did verify with the given certificate


def test_a_wrong_signature_under_a_known_key_id_is_invalid(payload: str) -> None:
    """A stranger's payload relabelled with our key id: its signature fails -> invalid, not 'unknown'."""
    from ecert.qr.base41 import b41decode, b41encode
    from ecert.qr.payload import OFFLINE_PREFIX

    stranger = DemoHierarchy.create("sm2", department="别处")
    forged = make_offline(draft().metadata, Signer(stranger.issuer_key, stranger.issuer_cert), at=SIGNED_AT)
    raw = bytearray(b41decode(forged[len(OFFLINE_PREFIX) :]))
    raw[3:11] = key_id(signer().certificate)
    relabelled = OFFLINE_PREFIX + b41encode(bytes(raw))
    h = hierarchy()
    report = ecert.verify_qr(
        relabelled, trust=TrustStore.from_certificates(h.root_cert), certificates=[h.issuer_cert], at=NOW
    )
    assert not report.ok and not cannot_be_checked_here(report) and report.failed("signature_value")
    assert verdict_line(report, "en").startswith("NOT VALID")


def test_cli_says_what_to_add_and_counts_it_apart(
    payload: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = _root_only(tmp_path)
    good = make_offline(draft("sm2").metadata, signer(), at=SIGNED_AT)
    at = ["--at", str(NOW.date())]
    assert main(["verify", "--qr", payload, "--trust", str(trust), *at, "--lang", "en"]) == 1
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("CANNOT BE CHECKED HERE") and "issuers/" in first
    assert key_id(signer().certificate).hex() in first
    # put the certificate where it says: the same code verifies
    (trust / "issuers" / "issuer.pem").write_bytes(signer().certificate.to_pem())
    assert main(["verify", "--qr", good, "--trust", str(trust), *at, "--lang", "zh"]) == 0
    assert capsys.readouterr().out.startswith("有效：")


@pytest.fixture()
def window(tmp_path: Path) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from ecert.web.verifier import WindowSettings
    from ecert.web.window import create_window_app

    settings = WindowSettings.from_paths(_root_only(tmp_path))
    with TestClient(create_window_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_the_window_says_cannot_be_checked_here(window: object, payload: str) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(window, TestClient)
    response = window.post("/api/window/text", content=payload.encode())
    assert response.status_code == 200, response.text
    verdict = response.json()["result"]["verdict"]
    assert (verdict["kind"], verdict["label"]) == ("unchecked", "无法在此核验")
    assert key_id(signer().certificate).hex() in verdict["detail"] and "issuers/" in verdict["detail"]
