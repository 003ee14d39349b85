"""Who may sign for an issuing authority (issue 17): a certificate chaining to a trusted root is not
enough; the signer must name the issuer code or be authorised for it by the trust store, and a
personal certificate never signs an e-certificate.

The signer certificates are built here with pyca/cryptography's CertificateBuilder under the test
hierarchy's P-256 root (not with ecert's own certificate builder), as a CA issuing personal and
department certificates would.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ecert.collect import CertificateDraft
from ecert.crypto.authority import Authorisation, parse_authorisations, personal_reason
from ecert.crypto.keys import PrivateKey, generate_private_key
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import InputError
from ecert.metadata import CoreMetadata
from ecert.package import Issuer, build_unsigned, sign_package
from ecert.verify import VerificationReport, verify

from .certs import DEPARTMENT_CODE, NOW, OTHER_DEPARTMENT_CODE, SIGNED_AT, draft, hierarchy

KIND = "p256"


def _cert(
    key: PrivateKey,
    names: list[x509.NameAttribute],
    *,
    usage: str = "sign",
    eku: list[x509.ObjectIdentifier] | None = None,
) -> Certificate:
    """An end-entity certificate under the P-256 test root, built with cryptography."""
    h = hierarchy(KIND)
    root = x509.load_der_x509_certificate(h.root_cert.der)
    public = key.public_key().key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(names))
        .issuer_name(root.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(SIGNED_AT - timedelta(days=1))
        .not_valid_after(SIGNED_AT + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=usage == "sign", content_commitment=usage == "sign",
                key_encipherment=usage == "encrypt", data_encipherment=False, key_agreement=False,
                key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    root_key = h.root_key.key
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    return Certificate.from_der(
        builder.sign(root_key, hashes.SHA256()).public_bytes(Encoding.DER)
    )


def _personal(key: PrivateKey) -> Certificate:
    """CN=张三 with digitalSignature: what a CA issues to citizens under the same root."""
    return _cert(key, [x509.NameAttribute(NameOID.COMMON_NAME, "张三"),
                       x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])


def _department(key: PrivateKey, org_id: str | None = None, **kw: object) -> Certificate:
    names = [x509.NameAttribute(NameOID.COMMON_NAME, "示例市某局电子签名"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "示例市某局")]
    if org_id is not None:
        names.append(x509.NameAttribute(x509.ObjectIdentifier("2.5.4.97"), org_id))
    return _cert(key, names, **kw)  # type: ignore[arg-type]


def _altered() -> CertificateDraft:
    """The test certificate with another holder: what a forger would issue."""
    d = draft(KIND)
    md: CoreMetadata = dataclasses.replace(d.metadata, holder_name="李四伪造有限公司")
    return dataclasses.replace(d, metadata=md)


def _sign(cert: Certificate, key: PrivateKey) -> bytes:
    h = hierarchy(KIND)
    signer = Signer(key, cert, (h.root_cert,))
    return sign_package(build_unsigned(_altered(), qr_payload=None), Issuer(signer), at=SIGNED_AT)


def _trust() -> TrustStore:
    return TrustStore.from_certificates(hierarchy(KIND).root_cert)


def _binding(report: VerificationReport) -> str:
    return report.check("issuer_binding")[0].outcome.value


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return generate_private_key("p256")


def test_personal_certificate_under_the_trusted_root_cannot_issue(key: PrivateKey) -> None:
    cert = _personal(key)
    report = verify(_sign(cert, key), trust=_trust(), at=NOW)
    assert report.check("signer_trust")[0].outcome.value == "pass"  # the chain itself is fine
    assert _binding(report) == "fail" and not report.ok
    assert "personal certificate" in report.check("issuer_binding")[0].message
    # even an authorisation naming it does not make a personal certificate a department
    granted = _trust().with_authorisations(Authorisation.for_certificate(cert, DEPARTMENT_CODE))
    assert not verify(_sign(cert, key), trust=granted, at=NOW).ok


def test_department_certificate_naming_no_code_needs_an_authorisation(key: PrivateKey) -> None:
    cert = _department(key)
    data = _sign(cert, key)
    report = verify(data, trust=_trust(), at=NOW)
    assert _binding(report) == "fail" and not report.ok
    assert "no authorisation" in report.check("issuer_binding")[0].message
    # the trust store maps the certificate itself, or the CA above it, to the issuer code
    for entry in (Authorisation.for_certificate(cert, DEPARTMENT_CODE),
                  Authorisation.for_certificate(hierarchy(KIND).root_cert, DEPARTMENT_CODE)):
        report = verify(data, trust=_trust().with_authorisations(entry), at=NOW)
        assert _binding(report) == "pass" and report.ok, report.to_text()
    other = Authorisation.for_certificate(cert, OTHER_DEPARTMENT_CODE)
    assert not verify(data, trust=_trust().with_authorisations(other), at=NOW).ok


def test_department_certificate_of_another_code_fails(key: PrivateKey) -> None:
    cert = _department(key, OTHER_DEPARTMENT_CODE)
    report = verify(_sign(cert, key), trust=_trust(), at=NOW)
    assert _binding(report) == "fail" and not report.ok


def test_department_certificate_naming_the_code_passes(key: PrivateKey) -> None:
    cert = _department(key, DEPARTMENT_CODE, eku=[ExtendedKeyUsageOID.CLIENT_AUTH,
                                                   ExtendedKeyUsageOID.EMAIL_PROTECTION])
    report = verify(_sign(cert, key), trust=_trust(), at=NOW)
    assert _binding(report) == "pass" and report.ok


def test_certificate_made_for_a_tls_server_never_issues(key: PrivateKey) -> None:
    cert = _department(key, DEPARTMENT_CODE, eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    assert personal_reason(cert) is not None
    report = verify(_sign(cert, key), trust=_trust(), at=NOW)
    assert _binding(report) == "fail" and not report.ok
    assert "extendedKeyUsage" in report.check("issuer_binding")[0].message


def test_trust_directory_reads_its_authorisations_file(tmp_path: Path, key: PrivateKey) -> None:
    cert = _department(key)
    (tmp_path / "root.pem").write_bytes(hierarchy(KIND).root_cert.to_pem())
    data = _sign(cert, key)
    assert not verify(data, trust=TrustStore.from_directory(tmp_path), at=NOW).ok
    fingerprint = ":".join(cert.fingerprint_sha256()[i:i + 2].upper() for i in range(0, 64, 2))
    (tmp_path / "authorisations.json").write_text(json.dumps({
        "format": "ecert-trust-authorisations/1",
        "authorisations": [{"certificate_sha256": fingerprint, "issuer_codes": [DEPARTMENT_CODE],
                            "note": "示例市某局电子签名 (openssl-style fingerprint)"}],
    }), encoding="utf-8")
    store = TrustStore.from_directory(tmp_path)
    assert store.authorised_codes([cert]) == {DEPARTMENT_CODE}
    assert verify(data, trust=store, at=NOW).ok


@pytest.mark.parametrize(
    "text",
    [
        b"not json",
        b"[]",
        b'{"format": "other/1", "authorisations": []}',
        b'{"format": "ecert-trust-authorisations/1", "authorisations": {}}',
        b'{"format": "ecert-trust-authorisations/1", "authorisations": [{"certificate_sha256": "ab"}]}',
        b'{"format": "ecert-trust-authorisations/1", "authorisations": [{"certificate_sha256": "'
        + b"a" * 64 + b'", "issuer_codes": ["11330100MB01234571"]}]}',  # wrong check character
        b'{"format": "ecert-trust-authorisations/1", "authorisations": [{"certificate_sha256": "'
        + b"a" * 64 + b'", "issuer_codes": []}]}',
        b'{"format": "ecert-trust-authorisations/1", "authorisations": [{"certificate_sha256": "'
        + b"a" * 64 + b'", "issuer_codes": [["x"]]}]}',
    ],
)
def test_malformed_authorisations_are_refused(text: bytes) -> None:
    with pytest.raises(InputError):
        parse_authorisations(text)


def test_ed25519_with_the_bare_signature_form_is_refused_when_packaging() -> None:
    h = hierarchy("ed25519")
    signer = Signer(h.issuer_key, h.issuer_cert, (h.root_cert,))
    with pytest.raises(InputError, match="Ed25519"):
        Issuer(signer, cms=False)
    Issuer(signer)  # CMS is fine
