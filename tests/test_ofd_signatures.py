"""Signature structure (GB/T 33190 §18): interop files, digests, coverage, preparing new ones."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ecert.crypto.digests import DigestAlgorithm, sm3
from ecert.errors import InputError, InvalidPackage, UnsupportedAlgorithm
from ecert.ofd import OFDPackage
from ecert.ofd.signatures import (
    CHINA_STANDARD_TIME,
    Provider,
    StampAnnot,
    check_references,
    parse_signing_time,
    prepare_signature,
    uncovered_entries,
)
from ecert.ofd.writer import replace_entries

from .thirdparty import OFDRW

INTEROP = OFDRW
SIGNED = ["DigitalSign.ofd", "SESV4SignDoc.ofd", "signedFile.ofd", "v4signed.ofd"]
WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def open_interop(name: str) -> OFDPackage:
    return OFDPackage.from_path(INTEROP / name)


@pytest.mark.parametrize("name", SIGNED)
def test_interop_signatures_intact_and_complete(name: str) -> None:
    pkg = open_interop(name)
    (sig,) = pkg.signatures()
    results = check_references(pkg, sig)
    assert results and all(r.ok for r in results)
    assert uncovered_entries(pkg) == ()
    assert sig.signature_xml == pkg.entries[sig.base_loc]
    assert sig.signed_value_loc == "Doc_0/Signs/Sign_0/SignedValue.dat"
    assert sig.signature_method == "1.2.156.10197.1.501"
    assert sig.digest_algorithm() is DigestAlgorithm.SM3


def test_unsigned_files_have_no_signatures() -> None:
    pkg = open_interop("helloworld.ofd")
    assert pkg.signatures() == ()
    assert set(uncovered_entries(pkg)) == set(pkg.names())


def test_digital_sign_details() -> None:
    (sig,) = open_interop("DigitalSign.ofd").signatures()
    assert (sig.id, sig.type) == ("s001", "Sign")
    assert sig.provider == Provider("ofdrw-sign", "1.2.0", "ofdrw")
    assert sig.check_method == "SM3"
    assert [r.entry_name for r in sig.references] == [
        "Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml", "Doc_0/PublicRes.xml", "OFD.xml"]
    assert sig.references[3].file_ref_raw == "/OFD.xml"
    assert sig.signing_time() == datetime(2020, 4, 22, 16, 22, 44, tzinfo=CHINA_STANDARD_TIME)
    assert len(sig.signed_value) == 70 and sig.seal_loc is None and sig.stamp_annots == ()


def test_seal_details() -> None:
    pkg = open_interop("SESV4SignDoc.ofd")
    (sig,) = pkg.signatures()
    assert (sig.id, sig.type) == ("1", "Seal")
    assert sig.seal_loc == "Doc_0/Signs/Sign_0/Seal.esl"
    assert sig.stamp_annots == (StampAnnot("2", "1", "50 50 40 40"),)
    assert sig.signing_time() == datetime(2026, 8, 4, 2, 8, 9, tzinfo=UTC)


def test_invoice_times_and_types() -> None:
    (a,) = open_interop("signedFile.ofd").signatures()
    (b,) = open_interop("v4signed.ofd").signatures()
    assert a.type == b.type == "Sign"  # the tax bureaux omit Type although SignedValue is a seal
    assert a.check_method == "1.2.156.10197.1.401"
    assert a.signing_time() == datetime(2020, 10, 4, 7, 28, 55, 302000, tzinfo=UTC)
    assert b.signing_time() == datetime(2020, 10, 10, 7, 11, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20200928165140Z", datetime(2020, 9, 28, 16, 51, 40, tzinfo=UTC)),
        ("2020-04-22 16:22:44", datetime(2020, 4, 22, 8, 22, 44, tzinfo=UTC)),
        ("2020-04-22T16:22:44+02:00", datetime(2020, 4, 22, 14, 22, 44, tzinfo=UTC)),
        ("2020-04-22T16:22:44Z", datetime(2020, 4, 22, 16, 22, 44, tzinfo=UTC)),
        ("20201010151119+0800", datetime(2020, 10, 10, 7, 11, 19, tzinfo=UTC)),
        ("20201010151119-0130", datetime(2020, 10, 10, 16, 41, 19, tzinfo=UTC)),
        ("2020/10/10 15:11:19", datetime(2020, 10, 10, 7, 11, 19, tzinfo=UTC)),
        ("2020/1/5 08:00:00", datetime(2020, 1, 5, 0, 0, 0, tzinfo=UTC)),
        ("2020/13/10 15:11:19", None),
        ("20201010151119+9999", None),
        ("not a time", None),
        ("", None),
        ("20201399999999Z", None),
    ],
)
def test_parse_signing_time(text: str, expected: datetime | None) -> None:
    assert parse_signing_time(text) == expected


def test_tampering_detected_per_reference() -> None:
    pkg = open_interop("DigitalSign.ofd")
    data = replace_entries(pkg, {"Doc_0/PublicRes.xml": pkg.entries["Doc_0/PublicRes.xml"] + b" "})
    changed = OFDPackage.open(data)
    (sig,) = changed.signatures()
    bad = [r for r in check_references(changed, sig) if not r.ok]
    assert [r.entry_name for r in bad] == ["Doc_0/PublicRes.xml"]
    assert "changed" in bad[0].reason


def _rebuild(pkg: OFDPackage, drop: str = "", extra: dict[str, bytes] | None = None) -> OFDPackage:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in pkg.entries.items():
            if name != drop:
                zf.writestr(name, data)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return OFDPackage.open(buf.getvalue())


def test_missing_file_reported_not_raised() -> None:
    pkg = _rebuild(open_interop("DigitalSign.ofd"), drop="Doc_0/PublicRes.xml")
    (sig,) = pkg.signatures()
    (bad,) = [r for r in check_references(pkg, sig) if not r.ok]
    assert bad.entry_name == "Doc_0/PublicRes.xml" and "missing" in bad.reason


def test_stray_files_are_uncovered_even_in_signs() -> None:
    extra = {"Doc_0/Signs/Sign_0/extra.bin": b"x", "a.txt": b"y"}
    pkg = _rebuild(open_interop("DigitalSign.ofd"), extra=extra)
    assert uncovered_entries(pkg) == ("Doc_0/Signs/Sign_0/extra.bin", "a.txt")


def _with_signature_xml(edit: bytes, replacement: bytes) -> OFDPackage:
    pkg = open_interop("DigitalSign.ofd")
    entry = "Doc_0/Signs/Sign_0/Signature.xml"
    return OFDPackage.open(replace_entries(pkg, {entry: pkg.entries[entry].replace(edit, replacement)}))


def test_bad_base64_duplicate_and_weak_method() -> None:
    with pytest.raises(InvalidPackage, match="base64"):
        _with_signature_xml(b"NSJFllgbktS0", b"NSJF!!gbktS0").signatures()
    with pytest.raises(InvalidPackage, match="twice"):
        _with_signature_xml(b'FileRef="/Doc_0/PublicRes.xml"', b'FileRef="/Doc_0/./Document.xml"'
                            ).signatures()
    (sig,) = _with_signature_xml(b'CheckMethod="SM3"', b'CheckMethod="MD5"').signatures()
    with pytest.raises(UnsupportedAlgorithm):
        sig.digest_algorithm()
    with pytest.raises(InvalidPackage, match="SignedValue"):
        _with_signature_xml(b"/Doc_0/Signs/Sign_0/SignedValue.dat", b"/nothing.dat").signatures()


# --- preparing ---------------------------------------------------------------------------------


def _prepare(data: bytes, **kw: object) -> bytes:
    args: dict[str, object] = {"provider": Provider("ecert-test", "0.1", "ecert"),
                               "signature_method_oid": "1.2.156.10197.1.501",
                               "digest": DigestAlgorithm.SM3, "signing_time": WHEN}
    args.update(kw)
    prepared = prepare_signature(data, **args)  # type: ignore[arg-type]
    return prepared.finish(b"fake signed value")


def test_prepare_on_unsigned_file() -> None:
    data = (INTEROP / "helloworld.ofd").read_bytes()
    prepared = prepare_signature(data, provider=Provider("ecert-test"),
                                 signature_method_oid="1.2.156.10197.1.501",
                                 digest=DigestAlgorithm.SM3, signing_time=WHEN, signature_type="Seal",
                                 stamp_annot=StampAnnot("9", "1", "10 10 40 40"), seal_file=b"SEAL")
    out = prepared.finish(b"value")
    assert out == prepared.finish(b"value")  # deterministic
    pkg = OFDPackage.open(out)
    (sig,) = pkg.signatures()
    assert sig.signature_xml == prepared.to_be_signed
    assert (sig.id, sig.type, sig.signed_value) == ("1", "Seal", b"value")
    assert sig.signature_datetime == "20240506070809Z" and sig.signing_time() == WHEN
    assert sig.seal_loc == "Doc_0/Signs/Sign_0/Seal.esl"
    assert sorted(r.entry_name for r in sig.references) == [r.entry_name for r in sig.references]
    assert all(r.ok for r in check_references(pkg, sig))
    assert uncovered_entries(pkg) == ()
    assert pkg.doc_bodies()[0].signatures_loc == "Doc_0/Signs/Signatures.xml"
    assert sm3(prepared.to_be_signed) == sm3(pkg.entries[sig.base_loc])


def test_second_signature_keeps_first_valid() -> None:
    once = _prepare((INTEROP / "DigitalSign.ofd").read_bytes())
    pkg = OFDPackage.open(once)
    first, second = pkg.signatures()
    assert first.id == "s001" and second.id == "1"
    assert second.base_loc == "Doc_0/Signs/Sign_1/Signature.xml"
    for sig in (first, second):
        assert all(r.ok for r in check_references(pkg, sig))
    assert uncovered_entries(pkg) == ()
    twice = OFDPackage.open(_prepare(once, signing_time=WHEN + timedelta(hours=1)))
    assert [s.id for s in twice.signatures()] == ["s001", "1", "2"]


def test_changes_after_signing_detected() -> None:
    pkg = OFDPackage.open(_prepare((INTEROP / "helloworld.ofd").read_bytes()))
    (sig,) = pkg.signatures()
    changed = OFDPackage.open(replace_entries(pkg, {"Doc_0/Document.xml": b"<x/>"}))
    assert not all(r.ok for r in check_references(changed, changed.signatures()[0]))
    removed = _rebuild(pkg, drop="Doc_0/PublicRes.xml")
    assert not all(r.ok for r in check_references(removed, removed.signatures()[0]))
    added = _rebuild(pkg, extra={"Doc_0/Res/new.png": b"png"})
    assert uncovered_entries(added) == ("Doc_0/Res/new.png",)
    assert sig.references


def test_prepare_refuses_naive_time_and_bad_type() -> None:
    data = (INTEROP / "helloworld.ofd").read_bytes()
    with pytest.raises(InputError, match="timezone"):
        _prepare(data, signing_time=datetime(2024, 1, 1))
    with pytest.raises(InputError):
        _prepare(data, signature_type="Stamp")
    local = datetime(2024, 5, 6, 15, 8, 9, tzinfo=timezone(timedelta(hours=8)))
    (sig,) = OFDPackage.open(_prepare(data, signing_time=local)).signatures()
    assert sig.signature_datetime == "20240506070809Z"
