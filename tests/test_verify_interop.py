"""Verdicts on OFD files made by other implementations (tests/data/ofdrw/).

What each file must give is stated in tests/data/README.md: these tests hold the verifier to it.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import pytest

import ecert
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import load_certificate
from ecert.ofd.ses import SesSignature

from .thirdparty import OFDRW

INTEROP = OFDRW

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _data(name: str) -> bytes:
    return (INTEROP / name).read_bytes()


def _seal_signer_cert(name: str) -> bytes:
    with zipfile.ZipFile(INTEROP / name) as z:
        der = z.read("Doc_0/Signs/Sign_0/SignedValue.dat")
    return SesSignature.parse(der).signer_cert_der


def _outcomes(report: ecert.VerificationReport, name: str) -> set[str]:
    return {c.outcome.value for c in report.check(name)}


def test_digital_sign_is_valid_with_its_certificate_trusted() -> None:
    trust = TrustStore.from_certificates(load_certificate((INTEROP / "user_cert.pem").read_bytes()))
    report = ecert.verify(_data("DigitalSign.ofd"), trust=trust, at=NOW)
    assert report.ok, report.to_text()
    assert _outcomes(report, "signature_value") == {"pass"}
    assert _outcomes(report, "references") == {"pass"}
    assert _outcomes(report, "coverage") == {"pass"}


def test_digital_sign_is_not_valid_without_trust() -> None:
    report = ecert.verify(_data("DigitalSign.ofd"), trust=TrustStore.empty(), at=NOW)
    assert not report.ok
    assert "fail" in _outcomes(report, "signer_trust") | _outcomes(report, "signature_value")


def test_sesv4_seal_is_intact_but_expired() -> None:
    cert = load_certificate(_seal_signer_cert("SESV4SignDoc.ofd"))
    report = ecert.verify(_data("SESV4SignDoc.ofd"), trust=TrustStore.from_certificates(cert), at=NOW)
    assert not report.ok
    assert _outcomes(report, "references") == {"pass"}
    assert _outcomes(report, "signature_value") == {"pass"}  # the bytes are intact
    assert "fail" in _outcomes(report, "seal")  # the seal expired in 2022
    assert "fail" in _outcomes(report, "signer_trust")  # so did the certificate
    text = report.to_text()
    assert "seal" in text and "expired" in text.lower()


@pytest.mark.parametrize("name", ["v4signed.ofd", "signedFile.ofd"])
def test_tax_bureau_invoices_are_intact_but_untrusted(name: str) -> None:
    report = ecert.verify(_data(name), trust=TrustStore.empty(), at=NOW)
    assert not report.ok
    assert _outcomes(report, "references") == {"pass"}
    assert _outcomes(report, "signature_value") == {"pass"}
    assert _outcomes(report, "signer_trust") == {"fail"}


@pytest.mark.parametrize("name", ["v4signed.ofd", "signedFile.ofd"])
def test_tax_bureau_invoices_are_valid_once_the_signer_is_trusted(name: str) -> None:
    cert = load_certificate(_seal_signer_cert(name))
    report = ecert.verify(_data(name), trust=TrustStore.from_certificates(cert), at=NOW)
    assert report.ok, report.to_text()
    assert _outcomes(report, "seal") == {"pass"}


@pytest.mark.parametrize("name", ["helloworld.ofd", "invoice-unsigned.ofd"])
def test_unsigned_documents_are_well_formed_but_not_valid(name: str) -> None:
    report = ecert.verify(_data(name), trust=TrustStore.empty(), at=NOW)
    assert _outcomes(report, "package") == {"pass"}
    assert not report.ok
    assert "fail" in _outcomes(report, "signatures")
