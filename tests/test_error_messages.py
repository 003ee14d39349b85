"""No message names a parser library (issue 16): what a user reads says what was wrong in words, not
asn1crypto class paths or cryptography's Rust ``ParseError { kind: ... }`` structures."""

from __future__ import annotations

import random

import pytest

from ecert.crypto.keys import load_pkcs12, load_private_key, load_public_key
from ecert.crypto.x509 import load_certificate
from ecert.errors import EcertError
from ecert.ofd.ses import SesSignature, parse_seal

from .certs import hierarchy

INTERNALS = ("asn1crypto", "ParseError", "<class", "kind:", "Traceback")


def _inputs() -> list[bytes]:
    cert = hierarchy().issuer_cert.der
    rng = random.Random(16)
    out = [cert[:n] for n in (1, 2, 10, 100, len(cert) - 1)]
    out += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(40)]
    out += [b"\x30\x03\x02\x01", b"\x30\x00", b"\x30\x05\x06\x03\x2a\x03\x04", b"\x02\x01\x00"]
    for _ in range(40):  # the certificate with one byte changed
        data = bytearray(cert)
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("parse", [load_certificate, load_private_key, load_public_key,
                                   lambda d: load_pkcs12(d, b"pw"), SesSignature.parse, parse_seal])
def test_parser_internals_never_reach_the_message(parse: object) -> None:
    for data in _inputs():
        try:
            parse(data)  # type: ignore[operator]
        except EcertError as exc:
            text = str(exc)
            assert not any(marker in text for marker in INTERNALS), text
