"""Certificates with an explicitly encoded DEFAULT (issue 16, class 1).

CAs of several provinces write BasicConstraints as ``30 03 01 01 00`` (cA=FALSE spelled out: BER,
not DER).  OpenSSL and BouncyCastle read such certificates; cryptography refuses them.  The
certificate here is made that way by the test: a cryptography-built department certificate whose
BasicConstraints is re-encoded, its TBSCertificate re-signed by the (P-256) test root.  System
OpenSSL reads and verifies it; ecert must read it, trust it, verify files it signs, and still
check its signature over the TBS bytes as they are (a negative twin with a broken signature fails).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ecert.crypto.keys import PrivateKey, generate_private_key
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import load_certificate
from ecert.package import Issuer, package
from ecert.verify import verify

from .certs import DEPARTMENT_CODE, NOW, SIGNED_AT, draft, hierarchy

KIND = "p256"
EXPLICIT_FALSE = bytes.fromhex("3003010100")  # BasicConstraints { cA BOOLEAN FALSE }: BER, not DER


def _ber_certificate(key: PrivateKey, *, break_signature: bool = False) -> bytes:
    h = hierarchy(KIND)
    root_key = h.root_key.key
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    public = key.public_key().key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    der = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, "示例市市场监督管理局"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "示例市市场监督管理局"),
            x509.NameAttribute(x509.ObjectIdentifier("2.5.4.97"), DEPARTMENT_CODE),
        ]))
        .issuer_name(x509.load_der_x509_certificate(h.root_cert.der).subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(SIGNED_AT - timedelta(days=1))
        .not_valid_after(SIGNED_AT + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, *[False] * 7), critical=True)
        .sign(root_key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )
    cert = asn1_x509.Certificate.load(der)
    tbs_der = _encode(_spell_out_default(_decode(cert["tbs_certificate"].dump())))
    assert EXPLICIT_FALSE in tbs_der
    signature = root_key.sign(tbs_der + (b"x" if break_signature else b""), ec.ECDSA(hashes.SHA256()))
    body = tbs_der + cert["signature_algorithm"].dump() + core.BitString.load(
        core.OctetBitString(signature).dump()).dump()
    return bytes(asn1_x509.Certificate.load(b"\x30" + _length(len(body)) + body).dump())


Node = tuple[int, "bytes | list[Node]"]


def _decode(der: bytes) -> Node:
    """A tree of (tag, contents or children) by hand: re-encoding must not go through a DER encoder."""
    tag, pos = der[0], 2
    length = der[1]
    if length & 0x80:
        count = length & 0x7F
        length, pos = int.from_bytes(der[2:2 + count], "big"), 2 + count
    body = der[pos:pos + length]
    if not tag & 0x20:
        return tag, body
    children, i = [], 0
    while i < len(body):
        n = body[i + 1]
        head = 2
        if n & 0x80:
            head = 2 + (n & 0x7F)
            n = int.from_bytes(body[i + 2:i + head], "big")
        children.append(_decode(body[i:i + head + n]))
        i += head + n
    return tag, children


def _encode(node: Node) -> bytes:
    tag, value = node
    body = value if isinstance(value, bytes) else b"".join(_encode(c) for c in value)
    size = bytes([len(body)]) if len(body) < 0x80 else _length(len(body))
    return bytes([tag]) + size + body


def _spell_out_default(node: Node) -> Node:
    """The BasicConstraints extension's value ``30 00`` becomes ``30 03 01 01 00``."""
    tag, value = node
    if isinstance(value, bytes):
        return node
    if len(value) >= 2 and value[0] == (0x06, bytes.fromhex("551d13")):
        return tag, [*value[:-1], (0x04, EXPLICIT_FALSE)]
    return tag, [_spell_out_default(c) for c in value]


def _length(n: int) -> bytes:
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return generate_private_key("p256")


def test_cryptography_refuses_it_and_ecert_reads_it(key: PrivateKey) -> None:
    der = _ber_certificate(key)
    with pytest.raises(ValueError):
        _ = x509.load_der_x509_certificate(der).extensions  # cryptography reads extensions lazily
    cert = load_certificate(der)
    assert cert.encoding == "BER" and cert.der == der
    assert cert.organization_codes() == {DEPARTMENT_CODE}
    assert not cert.is_ca and cert.key_usage == {"digital_signature", "non_repudiation"}
    assert "2.5.29.19" in cert.critical_extension_oids
    cert.verify_issued_by(hierarchy(KIND).root_cert)  # over the TBS as signed, with its BER


def test_a_file_it_signs_verifies_and_its_twin_does_not(key: PrivateKey, tmp_path: Path) -> None:
    h = hierarchy(KIND)
    (tmp_path / "root.pem").write_bytes(h.root_cert.to_pem())
    cert = load_certificate(_ber_certificate(key))
    (tmp_path / "issuer.pem").write_bytes(cert.to_pem())  # a trust directory may hold it too
    trust = TrustStore.from_directory(tmp_path)
    data = package(draft(KIND), Issuer(Signer(key, cert, (h.root_cert,))), at=SIGNED_AT)
    report = verify(data, trust=TrustStore.from_certificates(h.root_cert), at=NOW)
    assert report.ok, report.to_text()
    assert verify(data, trust=trust, at=NOW).ok

    twin = load_certificate(_ber_certificate(key, break_signature=True))
    forged = package(draft(KIND), Issuer(Signer(key, twin, (h.root_cert,))), at=SIGNED_AT)
    report = verify(forged, trust=TrustStore.from_certificates(h.root_cert), at=NOW)
    assert not report.ok and report.check("signer_trust")[0].outcome.value == "fail"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="system OpenSSL not installed")
def test_openssl_reads_and_verifies_the_same_certificate(key: PrivateKey, tmp_path: Path) -> None:
    root, good, bad = tmp_path / "root.pem", tmp_path / "good.der", tmp_path / "bad.der"
    root.write_bytes(hierarchy(KIND).root_cert.to_pem())
    good.write_bytes(_ber_certificate(key))
    bad.write_bytes(_ber_certificate(key, break_signature=True))
    shown = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(good), "-noout", "-text"],
                           capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and "CA:FALSE" in shown.stdout
    parsed = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", str(good)],
                            capture_output=True, text=True, check=False)
    assert "BOOLEAN" in parsed.stdout  # the explicit cA FALSE is there
    for path, ok in ((good, True), (bad, False)):
        pem = tmp_path / (path.stem + ".pem")
        subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(path), "-out", str(pem)], check=True)
        result = subprocess.run(["openssl", "verify", "-attime", str(int(NOW.timestamp())), "-CAfile",
                                 str(root), str(pem)], capture_output=True, text=True, check=False)
        assert (result.returncode == 0) is ok, result.stdout + result.stderr
