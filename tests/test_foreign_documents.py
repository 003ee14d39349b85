"""Signed OFD documents that are not e-certificates, as other signing systems make them (issue 16):
the unsigned-OFD.xml policy, a document structure this reader does not follow, CMS encodings
refused without blaming the file, and (issue 15) a signer that cannot be checked here.

The documents are ofdrw's helloworld.ofd (tests/data/ofdrw, Apache-2.0) signed by the test
department with ecert's signature writer, References edited the way those systems write them.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path

from asn1crypto import cms as asn1_cms

from ecert.crypto import cms
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.trust import TrustStore
from ecert.ofd.signatures import Provider, prepare_signature
from ecert.package import Issuer, build_unsigned, sign_package
from ecert.verify import VerificationReport, verify

from .certs import NOW, SIGNED_AT, draft, signer, trust_store

HELLO = Path(__file__).parent / "data" / "ofdrw" / "helloworld.ofd"
SM2_SM3 = "1.2.156.10197.1.501"


def _without(refs: tuple[str, ...], data: bytes) -> bytes:
    """Sign ``data`` (CMS, the test department) with References for every file but ``refs``."""
    prepared = prepare_signature(data, provider=Provider("other-vendor"), signature_method_oid=SM2_SM3,
                                 digest=DigestAlgorithm.SM3, signing_time=SIGNED_AT)
    xml = prepared.to_be_signed
    for ref in refs:
        pattern = rb'<ofd:Reference FileRef="' + re.escape(ref.encode()) + rb'">.*?</ofd:Reference>'
        xml, n = re.subn(pattern, b"", xml)
        assert n == 1, ref
    prepared = dataclasses.replace(prepared, to_be_signed=xml)
    return prepared.finish(cms.sign_cms(xml, signer(), detached=True, signing_time=SIGNED_AT))


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, value in entries.items():
            zf.writestr(name, value)
    return buf.getvalue()


def _outcome(report: VerificationReport, name: str) -> str:
    return report.check(name)[0].outcome.value


def test_document_leaving_only_ofd_xml_unsigned_is_valid_with_a_warning() -> None:
    data = _without(("/OFD.xml",), HELLO.read_bytes())
    report = verify(data, trust=trust_store(), at=NOW)
    assert report.ok, report.to_text()
    assert _outcome(report, "coverage") == "pass"
    warning = report.check("docinfo")[0]
    assert warning.outcome.value == "warn" and "OFD.xml is not signed" in warning.message
    assert "DocID" in warning.message  # names the unprotected DocInfo fields
    # what the policy admits: DocInfo changed after signing still verifies, and says so
    entries = _entries(data)
    entries["OFD.xml"] = entries["OFD.xml"].replace(b"<ofd:DocID>", b"<ofd:DocID>X", 1)
    changed = verify(_zip(entries), trust=trust_store(), at=NOW)
    assert changed.ok and changed.check("docinfo")


def test_any_other_unsigned_file_still_fails() -> None:
    data = _without(("/OFD.xml", "/Doc_0/PublicRes.xml"), HELLO.read_bytes())
    report = verify(data, trust=trust_store(), at=NOW)
    assert not report.ok and _outcome(report, "coverage") == "fail"
    assert "Doc_0/PublicRes.xml" in report.check("coverage")[0].message


def test_unsigned_document_root_gets_no_exception() -> None:
    data = _without(("/OFD.xml", "/Doc_0/Document.xml"), HELLO.read_bytes())
    report = verify(data, trust=trust_store(), at=NOW)
    assert not report.ok and _outcome(report, "coverage") == "fail"


def test_an_e_certificate_must_sign_its_ofd_xml() -> None:
    unsigned = build_unsigned(draft(), qr_payload=None)
    data = _without(("/OFD.xml",), unsigned)
    report = verify(data, trust=trust_store(), at=NOW)
    assert not report.ok and _outcome(report, "coverage") == "fail"
    assert sign_package(unsigned, Issuer(signer()), at=SIGNED_AT)  # control: ecert's own form signs it


def test_a_document_structure_this_reader_does_not_follow_is_not_a_package_failure() -> None:
    """A Document.xml naming an absent PublicRes.xml: the signature is valid, the lookup for ecert
    metadata cannot be made; reported once, as a warning, and package stays passed."""
    entries = _entries(HELLO.read_bytes())
    entries["Doc_0/Document.xml"] = entries["Doc_0/Document.xml"].replace(
        b"PublicRes.xml", b"PublicRes_missing.xml")
    data = _without(("/OFD.xml",), _zip(entries))
    report = verify(data, trust=trust_store(), at=NOW)
    assert [c.outcome.value for c in report.check("package")] == ["pass"]
    assert report.check("document")[0].outcome.value == "warn"
    assert report.ok, report.to_text()


def test_a_signer_missing_from_the_trust_store_cannot_be_checked_here() -> None:
    data = _without(("/OFD.xml",), HELLO.read_bytes())
    report = verify(data, trust=TrustStore.empty(), at=NOW)
    assert not report.ok
    message = report.check("signer_trust")[0].message
    assert message.startswith("cannot be checked here") and "not evidence of forgery" in message
    (missing,) = report.cannot_be_checked_here
    assert missing.subject == signer().certificate.subject
    assert missing.fingerprint_sha256 == signer().certificate.fingerprint_sha256()
    assert "trust directory" in missing.advice
    assert report.to_dict()["signers"][0]["cannot_be_checked_here"]["issuer"] == missing.issuer
    # an invalid signer (expired at signing time) is not "cannot be checked here"
    late = verify(data, trust=trust_store(), at=NOW)
    assert late.ok and not late.cannot_be_checked_here


def test_cms_with_unsorted_signed_attributes_is_not_called_damaged() -> None:
    data = _without(("/OFD.xml",), HELLO.read_bytes())
    entries = _entries(data)
    value = entries["Doc_0/Signs/Sign_0/SignedValue.dat"]
    # swap the first two signed attributes (DER SET OF order broken, as some signers write it)
    attrs = asn1_cms.ContentInfo.load(value)["content"]["signer_infos"][0]["signed_attrs"].dump()
    assert attrs[0] == 0xA0 and attrs[1] < 0x80 and value.count(attrs) == 1
    body = attrs[2:]
    first = body[1] + 2
    second = body[first + 1] + 2
    swapped = attrs[:2] + body[first:first + second] + body[:first] + body[first + second:]
    assert swapped != attrs
    entries["Doc_0/Signs/Sign_0/SignedValue.dat"] = value.replace(attrs, swapped)
    report = verify(_zip(entries), trust=trust_store(), at=NOW)
    assert not report.ok
    message = report.check("signature_value")[0].message
    assert "was not checked" in message and "not evidence that the file was changed" in message


def test_bare_signature_as_raw_r_s_verifies_with_the_trusted_certificate() -> None:
    """ofdrw's DigitalSign.ofd (a bare DER SEQUENCE{r, s}) rewritten as the 64-byte r||s other signers
    write; its negative twin (one bit of s changed) fails."""
    from ecert.crypto.sm2 import der_to_raw
    from ecert.crypto.x509 import load_certificate

    data = (HELLO.parent / "DigitalSign.ofd").read_bytes()
    trust = TrustStore.from_certificates(load_certificate((HELLO.parent / "user_cert.pem").read_bytes()))
    assert verify(data, trust=trust).ok
    entries = _entries(data)
    name = next(n for n in entries if n.endswith("SignedValue.dat"))
    raw = der_to_raw(entries[name])
    entries[name] = raw
    report = verify(_zip(entries), trust=trust)
    assert report.ok, report.to_text()
    assert "raw r||s" in report.check("signature_value")[0].message
    entries[name] = raw[:-1] + bytes([raw[-1] ^ 1])
    assert not verify(_zip(entries), trust=trust).ok
