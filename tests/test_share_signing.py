"""Signed requests and responses of the share service: the worked example of spec/share-service.md,
checked with our SM2 and with system OpenSSL; the codes table equals the specification's."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecert.crypto.digests import sm3
from ecert.crypto.keys import PrivateKey, load_public_key
from ecert.crypto.sm2 import SM2PrivateKey
from ecert.errors import AuthenticationFailed, InvalidSignature
from ecert.share.codes import CODES, SUCCESS
from ecert.share.signing import (
    SignedHeaders,
    canonical_request,
    request_headers,
    response_headers,
    verify_response,
)

ROOT = Path(__file__).resolve().parents[1]
VECTOR = json.loads((ROOT / "spec" / "vectors" / "share-request.json").read_text(encoding="utf-8"))
SPEC = (ROOT / "spec" / "share-service.md").read_text(encoding="utf-8")


def _headers(signature: str | None = None) -> dict[str, str]:
    return {
        "X-Ecert-App-Id": VECTOR["app_id"],
        "X-Ecert-Timestamp": VECTOR["timestamp"],
        "X-Ecert-Nonce": VECTOR["nonce"],
        "X-Ecert-Signature": signature or VECTOR["signature_b64"],
    }


def test_the_worked_example_canonical_form_and_signature() -> None:
    body = VECTOR["body"].encode("utf-8")
    assert sm3(body).hex() == VECTOR["body_sm3"]
    canonical = canonical_request(
        VECTOR["method"], VECTOR["path"], VECTOR["timestamp"], VECTOR["nonce"], VECTOR["app_id"], body
    )
    assert canonical == VECTOR["canonical"].encode("utf-8")
    key = load_public_key(VECTOR["public_key_pem"].encode("ascii"))
    private = PrivateKey(SM2PrivateKey.from_bytes(bytes.fromhex(VECTOR["private_key_hex"])))
    assert private.public_key().spki_der() == key.spki_der()
    SignedHeaders.from_headers(_headers()).verify(key, "POST", VECTOR["path"], body)
    # signing again gives another signature (SM2 is randomised) that verifies just the same
    again = request_headers(
        private,
        VECTOR["app_id"],
        "POST",
        VECTOR["path"],
        body,
        at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
        nonce=VECTOR["nonce"],
    )
    assert again["X-Ecert-Signature"] != VECTOR["signature_b64"]
    SignedHeaders.from_headers(again).verify(key, "POST", VECTOR["path"], body)


@pytest.mark.parametrize("case", VECTOR["invalid"], ids=lambda c: c["why"])
def test_the_worked_example_refuses_changed_requests(case: dict[str, str]) -> None:
    key = load_public_key(VECTOR["public_key_pem"].encode("ascii"))
    body = (case["body"] or VECTOR["body"]).encode("utf-8")
    headers = {**_headers(), "X-Ecert-Nonce": case["nonce"]}
    with pytest.raises(AuthenticationFailed):
        SignedHeaders.from_headers(headers).verify(key, "POST", case["path"], body)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no system openssl")
def test_openssl_verifies_the_worked_example(tmp_path: Path) -> None:
    (tmp_path / "pub.pem").write_text(VECTOR["public_key_pem"], encoding="ascii")
    (tmp_path / "canon").write_bytes(VECTOR["canonical"].encode("utf-8"))
    (tmp_path / "sig").write_bytes(base64.b64decode(VECTOR["signature_b64"]))
    (tmp_path / "bad").write_bytes(VECTOR["canonical"].encode("utf-8") + b"0")
    args = [
        "openssl",
        "pkeyutl",
        "-verify",
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:1234567812345678",
        "-pubin",
        "-inkey",
        str(tmp_path / "pub.pem"),
        "-sigfile",
        str(tmp_path / "sig"),
        "-in",
    ]
    good = subprocess.run([*args, str(tmp_path / "canon")], capture_output=True, timeout=60)
    if b"sm3" in good.stderr.lower() and good.returncode != 0 and b"unknown" in good.stderr.lower():
        pytest.skip(f"this openssl has no SM2/SM3: {good.stderr[-200:]!r}")
    assert good.returncode == 0, good.stderr
    assert subprocess.run([*args, str(tmp_path / "bad")], capture_output=True, timeout=60).returncode != 0


def test_malformed_signed_headers_are_refused() -> None:
    for name, value in (
        ("X-Ecert-Nonce", "short"),
        ("X-Ecert-App-Id", "../x"),
        ("X-Ecert-Signature", "!!"),
        ("X-Ecert-Signature", base64.b64encode(b"x").decode()),
    ):
        with pytest.raises(AuthenticationFailed):
            SignedHeaders.from_headers({**_headers(), name: value})
    with pytest.raises(AuthenticationFailed, match="missing"):
        SignedHeaders.from_headers({k: v for k, v in _headers().items() if k != "X-Ecert-Nonce"})
    with pytest.raises(AuthenticationFailed):
        canonical_request("POST", "/share/v1/get\nX", VECTOR["timestamp"], VECTOR["nonce"], "a", b"")


def test_a_response_signature_binds_nonce_status_and_body() -> None:
    private = PrivateKey(SM2PrivateKey.from_bytes(bytes.fromhex(VECTOR["private_key_hex"])))
    key = private.public_key()
    at = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    body = b'{"head":{"status":0,"message":"ok"},"data":null}'
    headers = response_headers(private, "nonce-0123456789abcdef", 200, body, at=at)
    verify_response(key, "nonce-0123456789abcdef", 200, body, headers)
    for nonce, status, changed in (
        ("nonce-0123456789abcdeX", 200, body),
        ("nonce-0123456789abcdef", 401, body),
        ("nonce-0123456789abcdef", 200, body.replace(b"0", b"1", 1)),
    ):
        with pytest.raises(InvalidSignature):
            verify_response(key, nonce, status, changed, headers)
    with pytest.raises(InvalidSignature):
        verify_response(key, "nonce-0123456789abcdef", 200, body, {})


def test_the_codes_table_is_the_specifications() -> None:
    rows = re.findall(r"^\| (\d+) \| (\d{3}) \| (\w+|—) \| (.+?) \|$", SPEC, flags=re.MULTILINE)
    documented = [(int(s), int(h), name, message) for s, h, name, message in rows]
    ours = [(SUCCESS.status, SUCCESS.http, "—", SUCCESS.message_zh)] + [
        (code.status, code.http, cls.__name__, code.message_zh) for cls, code in CODES
    ]
    assert documented == ours
    assert len({code.status for _, code in CODES}) == len(CODES)
