"""Adversarial review of the OFD verification path: every attack tried on ``ecert.verify``.

The rule under test: verification never lies.  A tampered, re-signed, truncated, expired, revoked or
untrusted file must never come out ``report.ok``.  Attacks that are refused stay here as regression
tests (with the check that must name the failure); attacks that succeed are marked
``xfail(strict=True, reason="BUG: ...")`` and assert the correct behaviour.

Threat models: an attacker with no trusted key (may change only what no signature covers: the ZIP
container, ``Signatures.xml``, the unsigned parts of a CMS, and may add files), a department whose
certificate chains to the same root (a trusted key, but another organisation), and a signer whose
own certificate or seal should not be accepted.
"""

from __future__ import annotations

import dataclasses
import io
import secrets
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509

from ecert.codes.citizen_id import calc_check_char
from ecert.collect import CertificateDraft, collect
from ecert.crypto import cms
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.hierarchy import DemoHierarchy, make_issuer_certificate
from ecert.crypto.keys import PrivateKey, generate_private_key
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import InputError
from ecert.metadata import Authority
from ecert.ofd import OFDPackage, ses
from ecert.ofd.signatures import PreparedSignature, Provider, prepare_signature
from ecert.ofd.writer import replace_entries
from ecert.package import Issuer, build_unsigned, package
from ecert.registry.sqlite import SQLiteRegistry
from ecert.verify import VerificationReport, verify

from .certs import (
    DEPARTMENT_CODE,
    NOW,
    OTHER_DEPARTMENT_CODE,
    SIGNED_AT,
    draft,
    hierarchy,
    issued_file,
    sample_record,
    signer,
    trust_store,
)

SIGN_DIR = "Doc_0/Signs/Sign_0/"
SIGNATURE_XML = SIGN_DIR + "Signature.xml"
SIGNED_VALUE = SIGN_DIR + "SignedValue.dat"
SIGNATURES_XML = "Doc_0/Signs/Signatures.xml"
ATTACHMENT = "Doc_0/Attachs/ecert-certificate"
HOLDER = "李志国".encode()
FORGED_HOLDER = "王五六".encode()
SM2_SM3 = "1.2.156.10197.1.501"
DEPARTMENT = "示例市市场监督管理局"


# --- helpers --------------------------------------------------------------------------------------


def _entries(data: bytes) -> dict[str, bytes]:
    return dict(OFDPackage.open(data).entries)


def _zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A ZIP with exactly these names (no normalisation, duplicates allowed)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries:
                z.writestr(zipfile.ZipInfo(name, (2000, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _forged(data: bytes) -> bytes:
    assert HOLDER in data
    return data.replace(HOLDER, FORGED_HOLDER)


def _verify(
    data: bytes, *, trust: TrustStore | None = None, at: datetime = NOW, status: object = None
) -> VerificationReport:
    return verify(data, trust=trust or trust_store(), at=at, status=status)  # type: ignore[arg-type]


def _failed(report: VerificationReport) -> set[str]:
    assert not report.ok, report.to_text()
    return {c.name for c in report.failures} | set(report.missing_required)


def _with_signatures_xml(data: bytes, text: str) -> bytes:
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">'
    return replace_entries(data, {SIGNATURES_XML: (xml + text + "</ofd:Signatures>").encode()})


def _prepare(data: bytes, signature_type: str = "Sign", at: datetime = SIGNED_AT) -> PreparedSignature:
    return prepare_signature(
        data,
        signature_type=signature_type,
        provider=Provider("adversary"),
        signature_method_oid=SM2_SM3,
        digest=DigestAlgorithm.SM3,
        signing_time=at,
    )


def _add_signature(
    data: bytes, by: Signer, *, at: datetime = SIGNED_AT, edit: Callable[[bytes], bytes] | None = None
) -> bytes:
    """``data`` with one more Type="Sign" CMS signature over every file (``edit`` changes the
    Signature.xml before it is signed)."""
    prepared = _prepare(data, at=at)
    if edit is not None:
        prepared = dataclasses.replace(prepared, to_be_signed=edit(prepared.to_be_signed))
    return prepared.finish(cms.sign_cms(prepared.to_be_signed, by, detached=True, signing_time=at))


def _issue(the_draft: CertificateDraft, by: Signer, at: datetime = SIGNED_AT) -> bytes:
    return package(the_draft, Issuer(by), at=at)


def _name(common_name: str, org_id: str | None) -> asn1_x509.Name:
    attrs = {"country_name": "CN", "organization_name": common_name, "common_name": common_name}
    if org_id:
        attrs["organization_identifier"] = org_id
    return asn1_x509.Name.build(attrs, use_printable=False)


def _certificate(
    issuer_key: PrivateKey,
    issuer_cert: Certificate,
    subject_key: PrivateKey,
    *,
    org_id: str | None = DEPARTMENT_CODE,
    not_before: datetime = SIGNED_AT - timedelta(hours=12),
    lifetime: timedelta = timedelta(days=365),
    ca: bool = False,
    extra: Iterable[dict[str, object]] = (),
) -> Certificate:
    """A certificate built field by field (for shapes DemoHierarchy does not make)."""
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    extensions: list[dict[str, object]] = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        *extra,
    ]
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": secrets.randbits(100) | 1 << 100,
            "signature": {"algorithm": SM2_SM3},
            "issuer": asn1_x509.Name.load(issuer_cert.subject_der),
            "validity": {
                "not_before": asn1_x509.Time({"utc_time": not_before}),
                "not_after": asn1_x509.Time({"utc_time": not_before + lifetime}),
            },
            "subject": _name(f"{DEPARTMENT} 测试 {secrets.token_hex(3)}", org_id),
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(subject_key.public_key().spki_der()),
            "extensions": extensions,
        }
    )
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": SM2_SM3},
            "signature_value": issuer_key.sign(tbs.dump()),
        }
    )
    return Certificate.from_der(cert.dump())


def _department_signer(**kw: object) -> Signer:
    """A signer whose certificate the demo root issued (shape chosen by ``kw``)."""
    h = hierarchy()
    key = generate_private_key("sm2")
    return Signer(key, _certificate(h.root_key, h.root_cert, key, **kw), (h.root_cert,))  # type: ignore[arg-type]


def _other_department_signer() -> Signer:
    """A second department under the same root, naming its own organisation code."""
    h = hierarchy()
    key = generate_private_key("sm2")
    cert = make_issuer_certificate(
        h.root_key,
        h.root_cert,
        key.public_key(),
        "另一市市场监督管理局",
        organization="另一市市场监督管理局",
        organization_identifier=OTHER_DEPARTMENT_CODE,
        not_before=SIGNED_AT - timedelta(days=1),
    )
    return Signer(key, cert, (h.root_cert,))


def _unsigned() -> bytes:
    return build_unsigned(draft(), qr_payload=None)


# --- the untouched file ---------------------------------------------------------------------------


def test_baseline_issued_file_is_valid() -> None:
    """Control: the untouched issued file verifies (so every failure below is the attack's)."""
    report = _verify(issued_file())
    assert report.ok, report.to_text()


# --- the ZIP container: bytes no signature covers ---------------------------------------------------


def test_forged_ofd_prepended_to_a_genuine_one_fails() -> None:
    """Attack: forged package + genuine package concatenated; zipfile reads the last one, a
    streaming reader (local headers from offset 0) shows the forged one."""
    forged = _zip((n, _forged(d) if HOLDER in d else d) for n, d in _entries(issued_file()).items())
    assert _failed(_verify(forged + issued_file())) & {"package"}


@pytest.mark.parametrize("prefix", [b"\x00", b"%PDF-1.7\n" + b"x" * 100])
def test_bytes_before_the_archive_fail(prefix: bytes) -> None:
    """Attack: junk (or another format's header, a polyglot) prepended to a signed file."""
    assert "package" in _failed(_verify(prefix + issued_file()))


def test_bytes_after_the_archive_fail() -> None:
    """Attack: data appended after the end of central directory record (outside its comment)."""
    assert "package" in _failed(_verify(issued_file() + b"appended, covered by nothing"))


def _with_hidden_local_entry(data: bytes) -> bytes:
    """A local file record of a forged attachment, placed first, absent from the central directory."""
    entries = _entries(data)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(ATTACHMENT, _forged(entries[ATTACHMENT]))
            hidden = z.filelist.pop()
            del z.NameToInfo[hidden.filename]
            for name, value in entries.items():
                z.writestr(name, value)
    out = buf.getvalue()
    assert out.count(b"PK\x03\x04") == len(entries) + 1
    return out


def test_local_entry_missing_from_the_central_directory_fails() -> None:
    """Attack: a forged attachment stored as a local record the central directory does not list."""
    assert "package" in _failed(_verify(_with_hidden_local_entry(issued_file())))


def test_directory_entry_carrying_data_fails() -> None:
    """Attack: a directory entry ('name/') whose body hides data no signature covers."""
    entries = list(_entries(issued_file()).items())
    entries.append(("Doc_0/Attachs/", _forged(_entries(issued_file())[ATTACHMENT])))
    assert _failed(_verify(_zip(entries))) & {"package", "coverage"}


def test_truncated_central_directory_fails() -> None:
    """Attack: the archive cut inside its end-of-central-directory record."""
    assert "package" in _failed(_verify(issued_file()[:-10]))


def test_local_header_name_differing_from_the_central_directory_fails() -> None:
    """Attack: the central directory names the genuine attachment, its local header another file."""
    data = bytearray(issued_file())
    start = data.find(ATTACHMENT.encode())  # first occurrence: the local header
    data[start : start + len(ATTACHMENT)] = ATTACHMENT.replace("ecert", "evil!").encode()
    assert "package" in _failed(_verify(bytes(data)))


# --- entry names: one file, two spellings -----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Doc_0/./Attachs/ecert-certificate",
        "Doc_0//Attachs/ecert-certificate",
        "./Doc_0/Attachs/ecert-certificate",
        "doc_0/attachs/ecert-certificate",
        "Doc_0/Attachs/ECERT-CERTIFICATE",
        "Doc_0/Attachs/ecert%2Dcertificate",
        "Doc_0/Attachs/ecert-certificate ",
        "Doc_0/Attachs/ecert-certificate.",
        "Ｄoc_0/Attachs/ecert-certificate",  # fullwidth D
    ],
)
def test_forged_copy_under_another_spelling_fails(name: str) -> None:
    """Attack: the genuine attachment kept, a forged copy added under a name that normalises or
    case-folds to it (a reader that normalises may pick the copy)."""
    entries = list(_entries(issued_file()).items())
    entries.append((name, _forged(_entries(issued_file())[ATTACHMENT])))
    assert _failed(_verify(_zip(entries))) & {"coverage", "package"}


@pytest.mark.parametrize(
    "name",
    [
        "Doc_0/./Attachs/ecert-certificate",
        "Doc_0//Attachs/ecert-certificate",
        "doc_0/Attachs/ecert-certificate",
    ],
)
def test_genuine_entry_replaced_by_another_spelling_fails(name: str) -> None:
    """Attack: the attachment stored (forged) only under a spelling that resolves to the referenced
    name; the genuine entry is gone."""
    entries = [(n if n != ATTACHMENT else name, _forged(d) if n == ATTACHMENT else d)
               for n, d in _entries(issued_file()).items()]
    assert _failed(_verify(_zip(entries))) & {"references", "package", "coverage"}


@pytest.mark.parametrize(
    "name",
    [
        "Doc_0\\Attachs\\ecert-certificate",
        "Doc_0/../Doc_0/Attachs/ecert-certificate",
        "../Doc_0/Attachs/ecert-certificate",
        "/Doc_0/Attachs/ecert-certificate",
        "C:/Doc_0/Attachs/ecert-certificate",
        "Doc_0/Attachs/ecert-certificate\x00.png",
    ],
)
def test_unsafe_entry_names_fail_package(name: str) -> None:
    """Attack: a forged copy under a path-traversal, absolute, backslash or NUL name."""
    entries = list(_entries(issued_file()).items())
    entries.append((name, _forged(_entries(issued_file())[ATTACHMENT])))
    assert "package" in _failed(_verify(_zip(entries)))


def test_duplicate_entry_fails_package() -> None:
    """Attack: the attachment twice under the same name, forged copy last (the one zipfile reads)."""
    entries = list(_entries(issued_file()).items())
    entries.append((ATTACHMENT, _forged(_entries(issued_file())[ATTACHMENT])))
    assert "package" in _failed(_verify(_zip(entries)))


# --- References: odd spellings written by a (trusted) producer -------------------------------------------

_ATTACHMENT_REF = b'FileRef="/Doc_0/Attachs/ecert-certificate"'


def _respelled(spelling: str) -> Callable[[bytes], bytes]:
    def edit(xml: bytes) -> bytes:
        assert _ATTACHMENT_REF in xml
        return xml.replace(_ATTACHMENT_REF, f'FileRef="{spelling}"'.encode())

    return edit


@pytest.mark.parametrize(
    "spelling",
    [
        "/Doc_0/Tags/../Attachs/./ecert-certificate",
        "/Doc_0//Attachs/ecert-certificate",
        "../../Attachs/ecert-certificate",  # relative to Doc_0/Signs/Sign_0/Signature.xml
        "/Doc_0/Attachs/ecert-certificate/",
        "/Doc_0/Attachs/ecert-certificate/.",
    ],
)
def test_odd_reference_spelling_still_guards_the_same_entry(spelling: str) -> None:
    """Attack: a reference spelled with '..', '.', '//' or relative to Signature.xml: it must check
    the very entry the metadata is read from (a forged attachment there fails references)."""
    signed = _add_signature(_unsigned(), signer(), edit=_respelled(spelling))
    assert _verify(signed).ok  # the spelling resolves to the attachment: it is covered
    forged = replace_entries(signed, {ATTACHMENT: _forged(_entries(signed)[ATTACHMENT])})
    assert "references" in _failed(_verify(forged))


@pytest.mark.parametrize(
    "spelling",
    [
        "/Doc_0/Attachs/ecert%2Dcertificate",
        "/doc_0/attachs/ecert-certificate",
        "Doc_0/Attachs/ecert-certificate",  # relative: Doc_0/Signs/Sign_0/Doc_0/Attachs/...
        "../Attachs/ecert-certificate",
    ],
)
def test_reference_naming_another_spelling_does_not_cover_the_attachment(spelling: str) -> None:
    """Attack: the only reference to the attachment is spelled so that it names another (absent or
    added) entry: the attachment is not covered and nothing passes."""
    signed = _add_signature(_unsigned(), signer(), edit=_respelled(spelling))
    assert not _verify(signed).ok


def test_attachment_referenced_twice_under_two_spellings_fails() -> None:
    """Attack: two references to one entry (one could carry a stale digest a lax reader skips)."""

    def twice(xml: bytes) -> bytes:
        start = xml.index(b'<ofd:Reference FileRef="/Doc_0/Attachs/ecert-certificate">')
        end = xml.index(b"</ofd:Reference>", start) + len(b"</ofd:Reference>")
        dup = xml[start:end].replace(_ATTACHMENT_REF, b'FileRef="/Doc_0/./Attachs/ecert-certificate"')
        return xml[:end] + dup + xml[end:]

    assert "signatures" in _failed(_verify(_add_signature(_unsigned(), signer(), edit=twice)))


@pytest.mark.parametrize("method", ["MD5", "1.2.840.113549.2.5", "SHA1", "1.3.14.3.2.26", None])
def test_weak_or_absent_check_method_fails_references(method: str | None) -> None:
    """Attack: References/@CheckMethod naming a broken digest (collisions), or absent (MD5 by §18)."""
    old = b'CheckMethod="1.2.156.10197.1.401"'
    new = b"" if method is None else f'CheckMethod="{method}"'.encode()
    signed = _add_signature(_unsigned(), signer(), edit=lambda x: x.replace(old, new))
    assert "references" in _failed(_verify(signed))


# --- Signatures.xml: the unsigned signature list -------------------------------------------------------


def test_signature_type_flipped_to_seal_fails_signature_value() -> None:
    """Attack: Signatures.xml (unsigned) says Type="Seal" for the CMS signature."""
    data = _with_signatures_xml(
        issued_file(), '<ofd:Signature ID="1" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"/>'
    )
    assert "signature_value" in _failed(_verify(data))


def test_same_signature_listed_twice_fails_signatures() -> None:
    """Attack: one Signature.xml listed twice under two spellings (one signer counted twice)."""
    data = _with_signatures_xml(
        issued_file(),
        '<ofd:Signature ID="1" BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"/>'
        '<ofd:Signature ID="2" BaseLoc="/Doc_0/Signs/../Signs/Sign_0//Signature.xml"/>',
    )
    assert "signatures" in _failed(_verify(data))


def test_empty_signature_list_fails() -> None:
    """Attack: every signature removed from the list (the files of Sign_0 left behind)."""
    assert _failed(_verify(_with_signatures_xml(issued_file(), ""))) >= {"signatures"}


def test_missing_signature_list_fails_signatures() -> None:
    """Attack: Signatures.xml deleted (OFD.xml still names it)."""
    entries = [(n, d) for n, d in _entries(issued_file()).items() if n != SIGNATURES_XML]
    assert "signatures" in _failed(_verify(_zip(entries)))


@pytest.mark.parametrize("base", ["/" + ATTACHMENT, "/OFD.xml", "/Doc_0/Document.xml"])
def test_content_file_listed_as_a_signature_fails(base: str) -> None:
    """Attack: a content file listed as a signature, to make it signature infrastructure (which the
    coverage check exempts)."""
    data = _with_signatures_xml(
        issued_file(),
        f'<ofd:Signature ID="1" BaseLoc="/{SIGNATURE_XML}"/><ofd:Signature ID="2" BaseLoc="{base}"/>',
    )
    assert "signatures" in _failed(_verify(data))


def test_unlisted_second_signature_folder_fails_coverage() -> None:
    """Attack: a second signature's files present but not listed in Signatures.xml."""
    data = _add_signature(issued_file(), _other_department_signer())
    data = _with_signatures_xml(data, f'<ofd:Signature ID="1" BaseLoc="/{SIGNATURE_XML}"/>')
    assert "coverage" in _failed(_verify(data))


# --- a second signature ------------------------------------------------------------------------------


def test_untrusted_second_signature_fails_signer_trust() -> None:
    """Attack: a valid file plus a second signature by a signer outside the trust store."""
    stranger = DemoHierarchy.create("sm2", department="假冒局", now=SIGNED_AT)
    by = Signer(stranger.issuer_key, stranger.issuer_cert, (stranger.root_cert,))
    report = _verify(_add_signature(issued_file(), by))
    assert _failed(report) == {"signer_trust"}
    failing = [c for c in report.check("signer_trust") if c.outcome.value == "fail"]
    assert [c.subject for c in failing] == ["signature 2"]


def test_forged_content_covered_by_a_second_trusted_signature_fails_references() -> None:
    """Attack: another department forges the holder and adds its own signature over the result;
    the issuer's signature still lists the original digests."""
    forged = replace_entries(issued_file(), {ATTACHMENT: _forged(_entries(issued_file())[ATTACHMENT])})
    report = _verify(_add_signature(forged, _other_department_signer()))
    assert "references" in _failed(report)
    bad = [c for c in report.check("references") if c.outcome.value == "fail"]
    assert [c.subject for c in bad] == ["signature 1"]


def test_second_signature_borrowing_the_first_signed_value_fails() -> None:
    """Attack: a second Signature.xml (covering forged content) whose SignedValue points at the first
    signature's (genuine) value."""
    forged = replace_entries(issued_file(), {ATTACHMENT: _forged(_entries(issued_file())[ATTACHMENT])})
    prepared = _prepare(forged)
    xml = prepared.to_be_signed.replace(
        f"/{prepared.signed_value_entry}".encode(), f"/{SIGNED_VALUE}".encode()
    )
    entries = _entries(forged)
    entries[prepared.signature_entry] = xml
    entries[SIGNATURES_XML] = _entries(prepared.finish(b"\x30\x00"))[SIGNATURES_XML]
    report = _verify(_zip(entries.items()))
    assert {"signature_value", "references"} <= _failed(report)


def test_signature_value_from_another_file_of_the_same_signer_fails() -> None:
    """Attack: the CMS of another genuine file by the same department swapped in (same certificate,
    a different Signature.xml)."""
    other = _issue(draft(), signer(), at=SIGNED_AT + timedelta(minutes=1))
    data = replace_entries(issued_file(), {SIGNED_VALUE: _entries(other)[SIGNED_VALUE]})
    assert _failed(_verify(data)) == {"signature_value", "signer_trust"}


def test_whole_signature_of_another_file_of_the_same_signer_fails_references() -> None:
    """Attack: Signature.xml and SignedValue of another genuine file by the same department (a
    forged holder there) moved into this one."""
    forged_draft = _forged_holder_draft()
    other = _entries(_issue(forged_draft, signer()))
    data = replace_entries(
        issued_file(), {SIGNATURE_XML: other[SIGNATURE_XML], SIGNED_VALUE: other[SIGNED_VALUE]}
    )
    assert "references" in _failed(_verify(data))


# --- the CMS SignedValue ---------------------------------------------------------------------------------


def test_bare_signature_extracted_from_the_cms_fails_signature_value() -> None:
    """Attack: the SignerInfo signature (over the signed attributes) used as a bare ofdrw-style value."""
    parsed = cms.parse_cms(_entries(issued_file())[SIGNED_VALUE])
    hierarchy_trust = TrustStore.from_certificates(hierarchy().root_cert, hierarchy().issuer_cert)
    data = replace_entries(issued_file(), {SIGNED_VALUE: parsed.signature})
    assert "signature_value" in _failed(_verify(data, trust=hierarchy_trust))


def test_cms_with_embedded_content_of_another_signature_xml_fails() -> None:
    """Attack: an attached CMS over another Signature.xml (the signer's real signature of it)."""
    other = _entries(_issue(_forged_holder_draft(), signer()))
    value = cms.sign_cms(other[SIGNATURE_XML], signer(), detached=False, signing_time=SIGNED_AT)
    data = replace_entries(issued_file(), {SIGNED_VALUE: value})
    assert _failed(_verify(data)) == {"signature_value", "signer_trust"}


def test_cms_without_signer_certificate_fails() -> None:
    """Attack: the carried certificates stripped (only the root-signed chain left)."""
    value = _entries(issued_file())[SIGNED_VALUE]
    issuer_der = hierarchy().issuer_cert.der
    assert issuer_der in value
    ci = asn1_cms.ContentInfo.load(value)
    ci["content"]["certificates"] = []
    data = replace_entries(issued_file(), {SIGNED_VALUE: ci.dump(force=True)})
    assert "signature_value" in _failed(_verify(data))


def test_signature_method_disagreeing_with_the_cms_fails() -> None:
    """Attack: a trusted P-256 signer's file whose SignatureMethod claims SM2 (algorithm confusion)."""
    p256 = hierarchy("p256")
    by = Signer(p256.issuer_key, p256.issuer_cert, (p256.root_cert,))
    prepared = _prepare(_unsigned())  # SignatureMethod SM3withSM2, CMS ECDSA
    data = prepared.finish(cms.sign_cms(prepared.to_be_signed, by, detached=True, signing_time=SIGNED_AT))
    report = _verify(data, trust=TrustStore.from_certificates(p256.root_cert))
    assert "signature_value" in _failed(report)


# --- the signer certificate --------------------------------------------------------------------------------


def _signed_by(by: Signer, at: datetime = SIGNED_AT) -> bytes:
    return _add_signature(_unsigned(), by, at=at)


def test_chain_through_a_non_ca_certificate_fails_signer_trust() -> None:
    """Attack: the department's (non-CA) signing certificate issues a certificate that signs."""
    h = hierarchy()
    key = generate_private_key("sm2")
    cert = _certificate(h.issuer_key, h.issuer_cert, key)
    report = _verify(_signed_by(Signer(key, cert, (h.issuer_cert, h.root_cert))))
    assert _failed(report) == {"signer_trust"}
    assert "not a CA" in report.to_text()


def test_signer_with_an_unknown_critical_extension_fails_signer_trust() -> None:
    """Attack: a signer certificate with a critical extension the verifier does not process."""
    value = core.ParsableOctetString(b"\x05\x00")
    extra = [{"extn_id": "1.2.156.999.1", "critical": True, "extn_value": value}]
    report = _verify(_signed_by(_department_signer(extra=extra)))
    assert _failed(report) == {"signer_trust"}
    assert "critical" in report.to_text()


def test_critical_name_constraints_on_the_signer_fail_signer_trust() -> None:
    """Attack: a critical nameConstraints (not processed by ecert) on the signer certificate."""
    value = core.ParsableOctetString(b"\x30\x0c\xa0\x0a\x30\x08\x82\x06gov.cn")  # permitted: gov.cn
    extra = [{"extn_id": "2.5.29.30", "critical": True, "extn_value": value}]
    assert _failed(_verify(_signed_by(_department_signer(extra=extra)))) == {"signer_trust"}


def test_ca_certificate_signing_documents_fails_signer_trust() -> None:
    """Attack: an intermediate CA certificate (keyCertSign only) used as a document signer."""
    report = _verify(_signed_by(_department_signer(ca=True)))
    assert _failed(report) == {"signer_trust", "issuer_binding"}  # keyCertSign only: signs no documents
    assert "may not sign documents" in report.to_text()


def _expired_signer() -> Signer:
    """A department certificate valid for six hours, ending six hours before SIGNED_AT (the demo root
    is valid from a day before SIGNED_AT)."""
    return _department_signer(not_before=SIGNED_AT - timedelta(hours=12), lifetime=timedelta(hours=6))


def test_expired_signer_certificate_fails_signer_trust() -> None:
    """Attack: a signer whose certificate expired before the time the signature states."""
    by = _expired_signer()
    report = _verify(_signed_by(by))
    assert _failed(report) == {"signer_trust"}
    assert f"{by.certificate.subject} had expired" in report.to_text()


def test_not_yet_valid_signer_certificate_fails_signer_trust() -> None:
    """Attack: a signer whose certificate starts after the time the signature states."""
    by = _department_signer(not_before=SIGNED_AT + timedelta(hours=1))
    report = _verify(_signed_by(by))
    assert _failed(report) == {"signer_trust"}
    assert f"{by.certificate.subject} was not yet valid" in report.to_text()


def test_root_key_bare_signature_fails_signer_trust() -> None:
    """Attack: a bare (ofdrw-style) signature made with the trust anchor's own key (a root CA may
    certify, not sign documents)."""
    h = hierarchy()
    prepared = _prepare(_unsigned())
    report = _verify(prepared.finish(h.root_key.sign(prepared.to_be_signed)))
    assert _failed(report) == {"signer_trust", "issuer_binding"}  # the root names no issuer code


def test_signature_dated_after_the_verification_time_fails() -> None:
    """Attack: a file whose SignatureDateTime (and CMS signingTime) lies after the time it is
    verified at: the report claims a file valid at a moment it did not exist yet."""
    data = _issue(draft(), signer(), at=SIGNED_AT + timedelta(hours=20))
    assert _verify(data, at=SIGNED_AT + timedelta(hours=21)).ok  # control
    assert "signing_time" in _failed(_verify(data, at=SIGNED_AT + timedelta(hours=1)))


def test_cms_signing_time_showing_an_expired_signer_fails() -> None:
    """Attack: SignatureDateTime back-dated into the signer certificate's validity (same day as the
    issue date) while the CMS signingTime (also signed) records the real time, after it expired."""
    by = _expired_signer()
    claimed = SIGNED_AT - timedelta(hours=9)
    control = _prepare(_unsigned(), at=claimed)
    value = cms.sign_cms(control.to_be_signed, by, detached=True, signing_time=claimed)
    assert _verify(control.finish(value)).ok  # control: consistently back-dated, nothing shows it
    prepared = _prepare(_unsigned(), at=claimed)
    data = prepared.finish(cms.sign_cms(prepared.to_be_signed, by, detached=True, signing_time=SIGNED_AT))
    assert "signer_trust" in _failed(_verify(data))


def test_unparseable_signature_time_does_not_hide_an_expired_signer() -> None:
    """Attack: SignatureDateTime made unreadable so the CMS signing time (or now) is used; the
    certificate expired before both."""
    by = _expired_signer()
    data = _add_signature(
        _unsigned(), by, edit=lambda x: x.replace(b"20261124020000Z", b"not a time")
    )
    assert "signer_trust" in _failed(_verify(data))


# --- issuer binding and the metadata ---------------------------------------------------------------------


def _forged_holder_draft() -> CertificateDraft:
    """The sample certificate with the same identifier (serial) and another holder."""
    genuine = draft().metadata
    serial = str(genuine.identifier).split(".")[-3]
    record, code = sample_record()
    body = "13060219900101123"
    record = {**record, "姓名": FORGED_HOLDER.decode(), "身份证号": body + calc_check_char(body)}
    forged = collect(
        record, code, issuer=Authority(name=DEPARTMENT, code=DEPARTMENT_CODE), today=SIGNED_AT.date(),
        serial=serial,
    )
    assert forged.metadata.identifier == genuine.identifier
    assert forged.metadata.holder_name != genuine.holder_name
    return forged


def test_other_department_signing_for_the_issuer_fails_issuer_binding() -> None:
    """Attack: a department under the same root issues a certificate naming another issuer."""
    report = _verify(_add_signature(_unsigned(), _other_department_signer()))  # package() refuses: own tool
    assert _failed(report) == {"issuer_binding"}


def test_issuer_signature_not_covering_the_metadata_fails_issuer_binding() -> None:
    """Attack: the issuer's signature covers one resource file only; the metadata (naming that issuer)
    is protected only by another department's signature."""
    issuer = signer()

    def only_public_res(xml: bytes) -> bytes:
        start, end = xml.index(b"<ofd:Reference "), xml.index(b"</ofd:References>")
        keep = xml[xml.index(b'<ofd:Reference FileRef="/Doc_0/PublicRes.xml">') :]
        keep = keep[: keep.index(b"</ofd:Reference>") + len(b"</ofd:Reference>")]
        return xml[:start] + keep + xml[end:]

    data = _add_signature(_unsigned(), issuer, edit=only_public_res)
    data = _add_signature(data, _other_department_signer())
    report = _verify(data)
    assert "issuer_binding" in _failed(report)


def test_registered_identifier_with_another_holder_fails_status(tmp_path: Path) -> None:
    """Attack: the issuer's key signs a second file reusing a registered identifier for another holder;
    the registry (which knows the issued metadata and file digest) vouches 'valid'."""
    registry = SQLiteRegistry.open(tmp_path / "registry.db")
    genuine = draft().metadata
    registry.record_issued(
        genuine,
        package_digest=DigestAlgorithm.SM3.digest(issued_file()).hex(),
        signer=hierarchy().issuer_cert.subject,
        issued_at=SIGNED_AT,
    )
    assert _verify(issued_file(), status=registry).ok  # control: the registered file
    report = _verify(_issue(_forged_holder_draft(), signer()), status=registry)
    assert "status" in _failed(report)


def test_unregistered_identifier_fails_status(tmp_path: Path) -> None:
    """Attack: a file the registry never recorded (its issuer's key used outside the registry)."""
    registry = SQLiteRegistry.open(tmp_path / "registry.db")
    assert "status" in _failed(_verify(issued_file(), status=registry))


def test_second_doc_body_fails_package() -> None:
    """Attack: a (signed) OFD.xml with two DocBody elements: which document a reader shows is open."""
    entries = _entries(_unsigned())
    ofd = entries["OFD.xml"]
    start, end = ofd.index(b"<ofd:DocBody>"), ofd.index(b"</ofd:DocBody>") + len(b"</ofd:DocBody>")
    entries["OFD.xml"] = ofd[:end] + ofd[start:end] + ofd[end:]
    assert "package" in _failed(_verify(_add_signature(_zip(entries.items()), signer())))


def test_metadata_disagreeing_with_custom_datas_fails_metadata() -> None:
    """Attack: (signed) DocInfo/CustomDatas show another holder than the metadata attachment."""
    entries = _entries(_unsigned())
    entries["OFD.xml"] = _forged(entries["OFD.xml"])
    report = _verify(_add_signature(_zip(entries.items()), signer()))
    assert _failed(report) == {"metadata"}


def test_metadata_attachment_swapped_via_attachments_xml_fails() -> None:
    """Attack: Attachments.xml (unsigned copy) repointed at an added, forged attachment."""
    entries = _entries(issued_file())
    entries["Doc_0/Attachs/Attachments.xml"] = entries["Doc_0/Attachs/Attachments.xml"].replace(
        b"ecert-certificate</ofd:FileLoc>", b"forged</ofd:FileLoc>"
    )
    entries["Doc_0/Attachs/forged"] = _forged(entries[ATTACHMENT])
    assert {"references", "coverage"} <= _failed(_verify(_zip(entries.items())))


# --- Type="Seal": GB/T 38540 SES_Signature ---------------------------------------------------------------


def _time(when: datetime) -> ses._Time:
    return ses._Time(name="general", value=when)


def _seal(
    *,
    start: datetime,
    end: datetime,
    users: list[bytes],
    maker_signature: bytes | None,
) -> ses.SESeal:
    """A seal made (and, unless ``maker_signature`` is given, signed) by the demo root."""
    h = hierarchy()
    info = ses.SESSealInfo(
        {
            "header": {"id": "ES", "version": 4, "vid": "ecert-adversary"},
            "es_id": "33010000000001",
            "property": {
                "type": 1,
                "name": f"{DEPARTMENT}电子印章",
                "cert_list_type": 1,
                "cert_list": core.Any.load(ses.CertInfoList(users).dump()),
                "create_date": _time(start),
                "valid_start": _time(start),
                "valid_end": _time(end),
            },
            "picture": {"type": "png", "data": b"\x89PNG picture", "width": 40, "height": 40},
        }
    )
    value = maker_signature if maker_signature is not None else h.root_key.sign(info.dump())
    return ses.SESeal(
        {
            "e_seal_info": info,
            "cert": h.root_cert.der,
            "sign_alg_id": SM2_SM3,
            "signed_value": core.OctetBitString(value),
        }
    )


def _seal_file(
    *,
    start: datetime = SIGNED_AT - timedelta(days=30),
    end: datetime = SIGNED_AT + timedelta(days=365),
    users: list[bytes] | None = None,
    maker_signature: bytes | None = None,
    data_hash: bytes | None = None,
    by: Signer | None = None,
    corrupt_signature: bool = False,
    listed_type: str = "Seal",
) -> bytes:
    """The sample certificate sealed (Type="Seal", SES_Signature v4) by ``by`` (the department)."""
    by = by or signer()
    prepared = _prepare(_unsigned(), signature_type="Seal")
    seal = _seal(
        start=start, end=end, users=[by.certificate.der] if users is None else users,
        maker_signature=maker_signature,
    )
    tbs = ses.TBSSign(
        {
            "version": 4,
            "eseal": seal,
            "time_info": _time(SIGNED_AT),
            "data_hash": core.OctetBitString(data_hash or DigestAlgorithm.SM3.digest(prepared.to_be_signed)),
            "property_info": "/" + prepared.signature_entry,
        }
    )
    signature = by.sign(tbs.dump())
    if corrupt_signature:
        signature = by.sign(tbs.dump() + b"x")
    value = ses.SESSignature(
        {
            "to_sign": tbs,
            "cert": by.certificate.der,
            "signature_alg_id": SM2_SM3,
            "signature": core.OctetBitString(signature),
        }
    ).dump()
    data = prepared.finish(value)
    if listed_type != "Seal":
        data = _with_signatures_xml(
            data, f'<ofd:Signature ID="1" Type="{listed_type}" BaseLoc="/{SIGNATURE_XML}"/>'
        )
    return data


def test_sealed_file_is_valid() -> None:
    """Control: a correctly made seal signature by the trusted department verifies."""
    report = _verify(_seal_file())
    assert report.ok, report.to_text()
    assert {c.outcome.value for c in report.check("seal")} == {"pass"}


def test_expired_seal_fails_seal() -> None:
    """Attack: a seal whose validity ended before the signing time."""
    report = _verify(_seal_file(start=SIGNED_AT - timedelta(days=60), end=SIGNED_AT - timedelta(days=1)))
    assert _failed(report) == {"seal"}


def test_expired_seal_listed_as_sign_still_fails_seal() -> None:
    """Attack: Signatures.xml (unsigned) lists the expired seal as Type="Sign" to skip the seal checks."""
    data = _seal_file(end=SIGNED_AT - timedelta(days=1), listed_type="Sign")
    assert _failed(_verify(data)) == {"seal"}


def test_seal_redated_by_the_signer_fails_seal() -> None:
    """Attack: the signer re-makes its expired seal with a new validity period; the maker's signature
    over SES_SealInfo no longer verifies (here: a signature over other data)."""
    stale = hierarchy().root_key.sign(b"the seal as its maker signed it")
    report = _verify(_seal_file(maker_signature=stale))
    assert "seal" in _failed(report)


def test_seal_used_by_a_signer_it_does_not_list_fails_seal() -> None:
    """Attack: another trusted department signs with the first department's seal."""
    report = _verify(_seal_file(users=[signer().certificate.der], by=_department_signer()))
    assert "seal" in _failed(report)


def test_seal_data_hash_of_other_bytes_fails_signature_value() -> None:
    """Attack: an SES_Signature whose dataHash is not the digest of Signature.xml."""
    report = _verify(_seal_file(data_hash=DigestAlgorithm.SM3.digest(b"another Signature.xml")))
    assert _failed(report) == {"signature_value"}


def test_seal_signature_not_over_tbs_sign_fails_signature_value() -> None:
    """Attack: an SES_Signature whose signature does not verify over TBS_Sign."""
    assert _failed(_verify(_seal_file(corrupt_signature=True))) == {"signature_value"}


def test_seal_by_an_untrusted_signer_fails_signer_trust() -> None:
    """Attack: a seal signature whose embedded signer certificate is outside the trust store."""
    stranger = DemoHierarchy.create("sm2", department="假冒局", now=SIGNED_AT)
    by = Signer(stranger.issuer_key, stranger.issuer_cert, (stranger.root_cert,))
    assert "signer_trust" in _failed(_verify(_seal_file(by=by)))


def test_seal_value_truncated_fails_signature_value() -> None:
    """Attack: the SES_Signature cut short."""
    data = _seal_file()
    value = _entries(data)[SIGNED_VALUE]
    report = _verify(replace_entries(data, {SIGNED_VALUE: value[: len(value) // 2]}))
    assert {"signature_value", "signer_trust"} <= _failed(report)


# --- naming: a failure is reported by the check it concerns -------------------------------------------------


def test_changed_signature_xml_is_named_signature_value_only() -> None:
    """Attack: one byte of the SignatureDateTime changed: only the signature value (and so trust) fail."""
    xml = _entries(issued_file())[SIGNATURE_XML].replace(b"20261124020000Z", b"20261124020001Z")
    assert _failed(_verify(replace_entries(issued_file(), {SIGNATURE_XML: xml}))) == {
        "signature_value",
        "signer_trust",
    }


def test_zip_entry_crc_mismatch_is_named_package() -> None:
    """Attack: the CRC the central directory states for an entry altered."""
    data = bytearray(issued_file())
    offset = data.find(b"PK\x01\x02")  # first central directory header; CRC-32 at +16
    assert offset >= 0
    struct.pack_into("<I", data, offset + 16, struct.unpack_from("<I", data, offset + 16)[0] ^ 1)
    assert "package" in _failed(_verify(bytes(data)))


def test_verification_time_must_be_aware() -> None:
    """Misuse: a naive verification time is refused, not silently read as UTC or local time."""
    with pytest.raises(InputError, match="timezone-aware"):
        verify(issued_file(), trust=trust_store(), at=datetime(2026, 11, 25))


def test_empty_trust_store_fails_signer_trust() -> None:
    """Misuse: nothing trusted: the carried chain (root included or not) never makes itself trusted."""
    assert _failed(_verify(issued_file(), trust=TrustStore.empty())) == {"signer_trust"}
