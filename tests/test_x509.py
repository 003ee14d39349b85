"""X.509 certificates: fields, SM2 keys cryptography cannot read, signatures, malformed input."""

from __future__ import annotations

import contextlib
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.crypto.algorithms import KeyKind
from ecert.crypto.x509 import Certificate, load_certificate, load_certificates
from ecert.errors import InputError, InvalidCertificate, InvalidSignature

from .thirdparty import OFDRW

VECTORS = Path(__file__).resolve().parents[1] / "src" / "ecert" / "spec" / "vectors" / "keys"


def _vector(name: str) -> Certificate:
    return load_certificate((VECTORS / name).read_bytes())


def test_ofdrw_user_certificate() -> None:
    cert = load_certificate((OFDRW / "user_cert.pem").read_bytes())
    assert cert.public_key.kind is KeyKind.SM2
    assert cert.signature_algorithm_oid == "1.2.156.10197.1.501"
    assert cert.subject == "CN=Test Certificate,L=Hangzhou,ST=Zhejiang,O=OFD R&W,C=CN"
    assert cert.common_name == "Test Certificate"
    assert cert.issuer.startswith("CN=OFD Reader and WriterROOT Certificate")
    assert cert.not_before == datetime(2020, 4, 21, 14, 39, 8, tzinfo=UTC)
    assert cert.not_after == datetime(2022, 4, 21, 14, 39, 8, tzinfo=UTC)
    assert cert.valid_at(datetime(2021, 1, 1, tzinfo=UTC))
    assert not cert.valid_at(datetime(2023, 1, 1, tzinfo=UTC))
    assert cert.key_usage is not None and "digital_signature" in cert.key_usage
    assert cert.extended_key_usage == frozenset({"1.3.6.1.5.5.7.3.2"})
    assert not cert.is_ca
    assert load_certificate(cert.der) == cert
    assert load_certificate(cert.to_pem()) == cert


def test_parsed_certificates_are_remembered_by_their_exact_der() -> None:
    der = load_certificate((OFDRW / "user_cert.pem").read_bytes()).der
    assert Certificate.from_der(der) is Certificate.from_der(bytearray(der))
    changed = bytearray(der)
    changed[-3] ^= 0x01  # inside the signature: parses, is a different certificate
    other = Certificate.from_der(bytes(changed))
    assert other.signature != Certificate.from_der(der).signature and other.der == bytes(changed)


def test_ofdrw_signature_verifies_with_certificate_key() -> None:
    cert = load_certificate((OFDRW / "user_cert.pem").read_bytes())
    with zipfile.ZipFile(OFDRW / "DigitalSign.ofd") as z:
        signature = z.read("Doc_0/Signs/Sign_0/SignedValue.dat")
        signed = z.read("Doc_0/Signs/Sign_0/Signature.xml")
    cert.public_key.verify(signature, signed)
    with pytest.raises(InvalidSignature):
        cert.public_key.verify(signature, signed + b" ")


def test_openssl_self_signed_fields() -> None:
    cert = _vector("sm2_selfsigned_distid.pem")
    assert cert.subject == cert.issuer == "CN=test"
    assert cert.serial_number == 1
    assert cert.subject_der == cert.issuer_der
    assert cert.is_ca  # OpenSSL's req -x509 adds basicConstraints CA:TRUE
    assert cert.not_before.tzinfo is not None
    assert cert.fingerprint_sha256() == __import__("hashlib").sha256(cert.der).hexdigest()
    assert cert.tbs_der in cert.der and cert.signature in cert.der


def test_verify_issued_by_default_and_empty_sm2_id() -> None:
    with_id = _vector("sm2_selfsigned_distid.pem")
    with_id.verify_issued_by(with_id, accept_empty_sm2_id=False)
    empty = _vector("sm2_selfsigned_emptyid.pem")  # OpenSSL 3.0 without -sigopt distid
    empty.verify_issued_by(empty)
    with pytest.raises(InvalidSignature):
        empty.verify_issued_by(empty, accept_empty_sm2_id=False)
    p256 = _vector("p256_selfsigned.pem")
    p256.verify_issued_by(p256)
    with pytest.raises((InvalidSignature, ValueError)):
        with_id.verify_issued_by(p256)  # an SM2 signature is not checked with a P-256 key


def test_bundle_and_other_blocks() -> None:
    pem = (VECTORS / "sm2_pkcs8.pem").read_bytes() + (VECTORS / "sm2_selfsigned_distid.pem").read_bytes()
    pem += (VECTORS / "p256_selfsigned.pem").read_bytes()
    certs = load_certificates(pem)
    assert [c.public_key.kind for c in certs] == [KeyKind.SM2, KeyKind.P256]
    assert load_certificate(pem) == certs[0]
    with pytest.raises(InvalidCertificate, match="no certificate"):
        load_certificate((VECTORS / "sm2_pkcs8.pem").read_bytes())


def test_naive_time_refused() -> None:
    with pytest.raises(InputError):
        _vector("p256_selfsigned.pem").valid_at(datetime(2026, 1, 1))


@pytest.mark.parametrize("name", ["sm2_selfsigned_distid.pem", "p256_selfsigned.pem"])
def test_truncated_every_length(name: str) -> None:
    der = _vector(name).der
    for n in range(len(der)):
        with pytest.raises(InvalidCertificate):
            Certificate.from_der(der[:n])


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=400), st.binary(min_size=1, max_size=3))
def test_corrupted_never_crashes(position: int, junk: bytes) -> None:
    der = bytearray(_vector("sm2_selfsigned_distid.pem").der)
    der[position : position + len(junk)] = junk
    with contextlib.suppress(InvalidCertificate):
        Certificate.from_der(bytes(der))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_is_invalid_certificate(data: bytes) -> None:
    with pytest.raises(InvalidCertificate):
        load_certificate(data)


def test_not_bytes() -> None:
    with pytest.raises(InvalidCertificate):
        load_certificate("-----BEGIN CERTIFICATE-----")  # type: ignore[arg-type]
    with pytest.raises(InvalidCertificate):
        load_certificates(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")


def test_a_negative_serial_is_read_as_encoded_without_warnings() -> None:
    """RFC 5280 forbids it, some CAs write it: read as encoded; cryptography's warning is not ours."""
    import datetime
    import warnings

    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "negative serial")])
    now = datetime.datetime.now(datetime.UTC)
    builder = cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    builder = builder.serial_number(5).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    at = der.find(bytes.fromhex("020105"))
    negative = der[:at] + bytes.fromhex("0201fb") + der[at + 3 :]  # INTEGER 5 -> INTEGER -5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Certificate.from_der(negative).serial_number == -5
