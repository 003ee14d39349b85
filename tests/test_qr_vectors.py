"""spec/vectors/qr.json: offline payloads with their decoded fields, for other implementations.

Each vector is decoded here and compared field by field; its SM2 signature is checked by system
OpenSSL (``pkeyutl -verify -digest sm3`` with the default user ID) against the public key of
spec/vectors/sm2.json vector A, not by ecert; the abridged vector's digest binds the full name.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ecert.crypto.sm2 import encode_der_signature
from ecert.qr.offline import full_text_matches
from ecert.qr.payload import LEGACY_OFFLINE_PREFIX, OFFLINE_PREFIX, decode_offline

from .certs import ROOT

VECTORS = json.loads((ROOT / "spec" / "vectors" / "qr.json").read_text(encoding="utf-8"))
OPENSSL = shutil.which("openssl")


def _openssl_has_sm2() -> bool:
    if OPENSSL is None:
        return False
    args = [OPENSSL, "list", "-public-key-algorithms"]
    out = subprocess.run(args, capture_output=True, timeout=60, check=False)
    return b"SM2" in out.stdout


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=[v["name"][:12] for v in VECTORS["vectors"]])
def test_vector_decodes_to_its_fields(vector: dict[str, Any]) -> None:
    record = decode_offline(vector["payload"])
    assert record.signed_bytes.hex() == vector["signed_hex"]
    assert record.signature.hex() == vector["signature_hex"]
    assert record.key_id.hex() == VECTORS["public_key"]["key_id_hex"]
    claims = record.claims
    for name, value in vector["fields"].items():
        got = getattr(claims, name)
        assert (got.isoformat() if hasattr(got, "isoformat") else got) == value, name
    assert vector["payload"].startswith((OFFLINE_PREFIX, LEGACY_OFFLINE_PREFIX))
    if "abridged" in vector:
        assert claims.abridged is not None
        assert [list(f) for f in claims.abridged.fields] == vector["abridged"]["fields"]
        assert claims.abridged.digest.hex() == vector["abridged"]["sm3_hex"]
        full = vector["abridged"]["full_holder_name"]
        assert full_text_matches(claims, {"holder_name": full})
        assert not full_text_matches(claims, {"holder_name": full[:-1]})


@pytest.mark.skipif(not _openssl_has_sm2(), reason="no system `openssl` with SM2 support")
@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=[v["name"][:12] for v in VECTORS["vectors"]])
def test_vector_signature_verifies_in_openssl(vector: dict[str, Any], tmp_path: Path) -> None:
    assert OPENSSL is not None
    spki = bytes.fromhex(VECTORS["public_key"]["spki_der_hex"])
    pem = b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(spki) + b"-----END PUBLIC KEY-----\n"
    pub, data, sig = tmp_path / "pub.pem", tmp_path / "signed.bin", tmp_path / "sig.der"
    pub.write_bytes(pem)
    data.write_bytes(bytes.fromhex(vector["signed_hex"]))
    raw = bytes.fromhex(vector["signature_hex"])
    sig.write_bytes(encode_der_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")))
    args = [OPENSSL, "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", str(pub),
            "-pkeyopt", "distid:1234567812345678", "-in", str(data), "-sigfile", str(sig)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0 and b"Signature Verified Successfully" in done.stdout, done.stderr
    data.write_bytes(bytes.fromhex(vector["signed_hex"]) + b"x")
    assert subprocess.run(args, capture_output=True, timeout=60, check=False).returncode != 0
