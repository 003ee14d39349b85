"""A raw r||s seal signature is read whatever its first byte: 1 in 256 genuine signatures has an r
starting with 0x30 (DER's SEQUENCE tag), and such a signature was turned away (a flaky seal test)."""

from __future__ import annotations

from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.keys import generate_private_key
from ecert.crypto.sm2 import der_to_raw
from ecert.verify.signatures import _verifies_in_form

DATA = b"SES_Signature TBS_Sign"


def test_a_raw_signature_starting_0x30_verifies_and_a_forged_one_does_not() -> None:
    key = generate_private_key("sm2")
    for _ in range(20_000):  # about 256 signatures find one
        raw = der_to_raw(key.sign(DATA))
        if raw[0] == 0x30:
            break
    else:  # pragma: no cover - one chance in e^78
        raise AssertionError("no r starting 0x30 in 20,000 signatures")
    public = key.public_key()
    assert _verifies_in_form(public, raw, DATA, SignatureAlgorithm.SM2_SM3) == "raw r||s"
    assert _verifies_in_form(public, raw, DATA + b"!", SignatureAlgorithm.SM2_SM3) is None
    other = bytes([raw[0]]) + bytes([raw[1] ^ 1]) + raw[2:]
    assert _verifies_in_form(public, other, DATA, SignatureAlgorithm.SM2_SM3) is None
