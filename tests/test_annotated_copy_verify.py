"""An annotated copy (加注件) verifies as one until its expiry, and every tamper fails naming its check."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

import ecert
from ecert.annotate import annotate
from ecert.annotate.layer import METADATA_ENTRY, ORIGINAL_ENTRY
from ecert.crypto.trust import TrustStore
from ecert.ofd.reader import OFDPackage
from ecert.package import Issuer
from ecert.times import CHINA_STANDARD_TIME
from ecert.verify import VerificationReport

from .certs import hierarchy, issued_file, other_department_file, trust_store
from .copies import (
    MADE_AT,
    MAKER,
    REASON,
    UNTIL,
    copy_of_demo,
    entry,
    releasing_signer,
    rewrite,
    untrusted_signer,
)

SOON = MADE_AT + timedelta(days=1)
ANNOTATION = "Copy/Annots/Page_0/Annotation.xml"


def _verify(data: bytes, at: datetime = SOON) -> VerificationReport:
    return ecert.verify(data, trust=trust_store(), at=at)


def _failed(report: VerificationReport) -> set[str]:
    return {c.name for c in report.failures}


def test_copy_verifies_as_an_annotated_copy() -> None:
    report = _verify(copy_of_demo().data)
    assert report.ok, report.to_text()
    md = report.annotated_copy
    assert md is not None and md.reason == REASON and md.valid_until == UNTIL and md.maker == MAKER
    assert report.original is not None and report.original.ok
    assert report.identifier == md.original_identifier == report.original.identifier
    assert report.metadata is not None and str(report.metadata.identifier) == report.identifier
    for name in (
        "original",
        "copy_metadata",
        "copy_original",
        "copy_watermark",
        "copy_structure",
        "copy_expired",
    ):
        assert [c.outcome.value for c in report.check(name)] == ["pass"], name
    # the copy's signer is the releasing organisation, not the issuing department
    assert report.signers[0].subject is not None and "示例市政务服务中心" in report.signers[0].subject


def test_report_says_annotated_copy_with_reason_and_expiry() -> None:
    report = _verify(copy_of_demo().data)
    zh, en = report.to_text("zh"), report.to_text("en")
    assert zh.startswith("加注件: 有效") and REASON in zh and "有效期至: 2027-01-31" in zh
    assert en.startswith("annotated copy (加注件): VALID") and "use reason: 企业开户" in en
    assert "valid until: end of 2027-01-31" in en
    d = json.loads(report.to_json())
    assert d["annotated_copy"]["kind"] == "加注件"
    assert d["annotated_copy"]["reason"] == REASON and d["annotated_copy"]["valid_until"] == "2027-01-31"
    assert d["annotated_copy"]["expires_at"] == "2027-02-01T00:00:00+08:00"
    assert d["original"]["ok"] is True


def test_copy_expires_at_the_end_of_its_last_day_china_time() -> None:
    data = copy_of_demo().data
    last = datetime(2027, 1, 31, 23, 59, 59, tzinfo=CHINA_STANDARD_TIME)
    assert _verify(data, last).ok
    after = _verify(data, last + timedelta(seconds=1))
    assert not after.ok and _failed(after) == {"copy_expired"}
    assert after.original is not None and after.original.ok  # the original inside still is valid
    assert "加注件已于 2027-01-31 有效期截止" in after.to_text("zh")


def test_the_original_inside_is_the_original_file_byte_for_byte() -> None:
    copy = copy_of_demo()
    original = issued_file()
    assert entry(copy.data, ORIGINAL_ENTRY) == original
    pkg, orig = OFDPackage.open(copy.data), OFDPackage.open(original)
    for name, data in orig.entries.items():
        if name != "OFD.xml":
            assert pkg.entries[name] == data, name
    assert ecert.verify(entry(copy.data, ORIGINAL_ENTRY), trust=trust_store(), at=SOON).ok


def test_level_b_wording() -> None:
    report = _verify(copy_of_demo("B").data)
    assert report.ok
    text = entry(copy_of_demo("B").data, ANNOTATION).decode()
    assert "此件经与原件核对无误" in text


def test_untrusted_releasing_organisation_is_not_valid() -> None:
    copy = annotate(issued_file(), untrusted_signer(), reason=REASON, maker=MAKER, until=UNTIL, at=MADE_AT)
    report = _verify(copy.data)
    assert not report.ok and "signer_trust" in _failed(report)
    # trusting that organisation's root makes it valid: the failure was trust, nothing else
    both = TrustStore.from_certificates(hierarchy().root_cert, untrusted_signer().chain[-1])
    assert ecert.verify(copy.data, trust=both, at=SOON).ok


# --- tampering ---------------------------------------------------------------------------------


def _once(old: bytes, new: bytes) -> object:
    def change(data: bytes) -> bytes:
        assert old in data, old
        return data.replace(old, new, 1)

    return change


def test_one_character_of_the_watermark_changed_fails() -> None:
    data = rewrite(copy_of_demo().data, {ANNOTATION: _once("企业开户".encode(), "企业开门".encode())})  # type: ignore[dict-item]
    report = _verify(data)
    assert not report.ok and {"references", "copy_watermark"} <= _failed(report)


def test_one_character_of_the_copy_metadata_changed_fails() -> None:
    data = rewrite(copy_of_demo().data, {METADATA_ENTRY: _once(MAKER.encode(), "窗口工作人员李四".encode())})  # type: ignore[dict-item]
    report = _verify(data)
    assert not report.ok and {"references", "copy_metadata"} <= _failed(report)


def test_expiry_moved_everywhere_fails() -> None:
    """The expiry re-dated in the metadata, the custom data and the watermark alike."""
    later = {
        METADATA_ENTRY: _once(b"2027-01-31", b"2027-03-31"),
        "OFD.xml": _once(b">2027-01-31<", b">2027-03-31<"),
        ANNOTATION: lambda d: d.replace("2027年1月31日".encode(), "2027年3月31日".encode()),
    }
    report = _verify(rewrite(copy_of_demo().data, later))  # type: ignore[arg-type]
    assert not report.ok and {"references", "copy_metadata"} <= _failed(report)


def test_annotation_files_dropped_fails() -> None:
    drop = {
        n: (lambda d: None)
        for n in OFDPackage.open(copy_of_demo().data).names()
        if n.startswith("Copy/Annots/")
    }
    report = _verify(rewrite(copy_of_demo().data, drop))  # type: ignore[arg-type]
    assert not report.ok and {"references", "copy_watermark"} <= _failed(report)


def test_inner_original_swapped_for_another_certificate_fails() -> None:
    other = other_department_file()
    changes = {ORIGINAL_ENTRY: lambda d: other}
    for name, data in OFDPackage.open(other).entries.items():
        if name != "OFD.xml":
            changes[name] = (lambda value: lambda d: value)(data)
    report = _verify(rewrite(copy_of_demo().data, changes))  # type: ignore[arg-type]
    assert not report.ok and {"references", "copy_original"} <= _failed(report)


def test_resigned_with_an_untrusted_key_fails() -> None:
    """The copy's layer rebuilt with a later expiry and signed again by a key nobody trusts."""
    genuine = copy_of_demo()
    forged = annotate(
        issued_file(),
        untrusted_signer(),
        reason=REASON,
        maker=MAKER,
        until=UNTIL,
        at=MADE_AT,
        copy_id=genuine.metadata.copy_id,
    )
    report = _verify(forged.data)
    assert not report.ok and {"signer_trust", "copy_metadata"} <= _failed(report)


def test_a_trusted_signer_cannot_make_the_watermark_disagree() -> None:
    """Even under a valid copy signature, a watermark that is not the metadata's fails copy_watermark."""
    genuine = copy_of_demo()
    pkg = OFDPackage.open(genuine.data)
    from ecert.ofd.signatures import prepare_signature
    from ecert.ofd.writer import replace_entries
    from ecert.package import sign_package

    unsigned_entries = {n: d for n, d in pkg.entries.items() if not n.startswith("Copy/Signs/")}
    unsigned_entries["OFD.xml"] = unsigned_entries["OFD.xml"].replace(
        b"<ofd:Signatures>/Copy/Signs/Signatures.xml</ofd:Signatures>", b""
    )
    unsigned_entries[ANNOTATION] = unsigned_entries[ANNOTATION].replace(
        "企业开户".encode(), "任意用途".encode()
    )
    unsigned = OFDPackage.from_entries(unsigned_entries.items())
    assert prepare_signature and replace_entries  # the same signing path annotate() uses
    resigned = sign_package(unsigned, Issuer(releasing_signer()), at=MADE_AT)
    report = _verify(resigned)
    assert not report.ok and _failed(report) == {"copy_watermark"}


def test_a_copy_cannot_be_annotated_again() -> None:
    with pytest.raises(ecert.errors.InvalidAnnotatedCopy):
        annotate(copy_of_demo().data, releasing_signer(), reason=REASON, maker=MAKER, until=UNTIL, at=MADE_AT)


def test_copy_without_its_copy_files_is_still_judged_as_a_copy() -> None:
    """The copy's metadata and original dropped: still judged as a copy (and not valid)."""
    names = OFDPackage.open(copy_of_demo().data).names()
    drop = {n: (lambda d: None) for n in names if n.startswith("Copy/Attachs/")}
    report = _verify(rewrite(copy_of_demo().data, drop))  # type: ignore[arg-type]
    assert not report.ok and "copy_metadata" in _failed(report)
    # JZJ custom data alone (another system's copy, say) is enough to be judged as a copy
    from ecert.verify.copy import is_annotated_copy

    original = OFDPackage.open(issued_file()).entries
    ofd_xml = entry(copy_of_demo().data, "OFD.xml").replace(b"Copy/Document.xml", b"Doc_0/Document.xml")
    assert is_annotated_copy(OFDPackage.from_entries({**original, "OFD.xml": ofd_xml}.items()))


def test_plain_files_are_not_taken_for_copies() -> None:
    from ecert.verify.copy import is_annotated_copy

    assert not is_annotated_copy(OFDPackage.open(issued_file()))
    assert is_annotated_copy(OFDPackage.open(copy_of_demo().data))
    plain = _verify(issued_file())
    assert plain.ok and plain.annotated_copy is None and plain.original is None
    assert "annotated_copy" not in json.loads(plain.to_json())


def test_annotate_with_trust_refuses_an_original_that_does_not_verify() -> None:
    from ecert.errors import InvalidAnnotatedCopy

    untrusting = TrustStore.from_certificates(untrusted_signer().chain[-1])
    with pytest.raises(InvalidAnnotatedCopy, match="does not verify"):
        annotate(
            issued_file(),
            releasing_signer(),
            reason=REASON,
            maker=MAKER,
            until=UNTIL,
            at=MADE_AT,
            trust=untrusting,
        )
    made = annotate(
        issued_file(),
        releasing_signer(),
        reason=REASON,
        maker=MAKER,
        until=UNTIL,
        at=MADE_AT,
        trust=trust_store(),
    )
    assert _verify(made.data).ok


def test_a_copy_signed_by_a_certificate_that_may_not_release_copies_is_not_valid() -> None:
    """An organisation's certificate made for a TLS server (or a personal one) under a trusted root may
    name the organisation in O, but it does not release copies in its name."""
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from ecert.crypto.keys import generate_private_key
    from ecert.crypto.signer import Signer

    from .test_issuer_authorisation import KIND, _department

    key = generate_private_key(KIND)
    cert = _department(key, eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    tls = Signer(key, cert, (hierarchy(KIND).root_cert,))
    copy = annotate(issued_file(), tls, reason=REASON, maker=MAKER, until=UNTIL, at=MADE_AT)
    both = TrustStore.from_certificates(hierarchy().root_cert, hierarchy(KIND).root_cert)
    report = ecert.verify(copy.data, trust=both, at=SOON)
    assert not report.ok and "copy_metadata" in _failed(report)
    assert "may not release copies" in report.to_text("en")
