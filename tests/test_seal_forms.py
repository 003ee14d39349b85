"""Seal signatures as other seal systems write them (issue 16, classes 2, 4, 5, 6, 7).

Every seal here is built by hand with a small DER writer of this module (not ecert's parser nor
its asn1crypto classes), following the GM/T 0031-2014 and GB/T 38540-2020 structures as ofdrw
defines them (org.ofdrw.gm.ses.v1 / v4): the 2014 layout ``SES_Signature{toSign, signature}`` with
the signer certificate inside ``TBS_Sign``, the 2014 seal ``SESeal{esealInfo, signInfo{cert,
signatureAlgorithm, signData}}`` whose maker signs ``SEQUENCE{esealInfo, cert,
signatureAlgorithm}``, UTCTime property dates, a BIT STRING timeInfo.  Each positive form has a
negative twin (the same form with a broken signature) that must still fail, and the signed
bytes of one 2014 seal are checked with system OpenSSL.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import core

from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.sm2 import der_to_raw
from ecert.ofd.ses import LAYOUT_2014, LAYOUT_V4, SesSignature
from ecert.ofd.signatures import Provider, prepare_signature
from ecert.package import build_unsigned
from ecert.times import CHINA_STANDARD_TIME
from ecert.verify import VerificationReport, verify

from .certs import NOW, SIGNED_AT, draft, hierarchy, signer, trust_store

SM2_SM3 = "1.2.156.10197.1.501"


# --- a small DER writer ------------------------------------------------------------------------------


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def integer(n: int) -> bytes:
    return tlv(0x02, n.to_bytes((n.bit_length() + 8) // 8, "big", signed=True))


def octets(b: bytes) -> bytes:
    return tlv(0x04, b)


def bits(b: bytes, unused: int = 0) -> bytes:
    return tlv(0x03, bytes([unused]) + b)


def ia5(s: str) -> bytes:
    return tlv(0x16, s.encode("ascii"))


def utf8(s: str) -> bytes:
    return tlv(0x0C, s.encode())


def oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def gtime(t: datetime, zone: bool = True) -> bytes:
    if zone:
        return tlv(0x18, t.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode())
    return tlv(0x18, t.astimezone(CHINA_STANDARD_TIME).strftime("%Y%m%d%H%M%S").encode())


def utctime(t: datetime) -> bytes:
    return tlv(0x17, t.astimezone(UTC).strftime("%y%m%d%H%M%SZ").encode())


# --- seals ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    layout: str = "2014"  # or "v4"
    version: int = 1
    zone: bool = True  # dates written with Z (else China time without a zone)
    time_info_bits: bool = True  # 2014: timeInfo as a BIT STRING holding the time as text
    raw_maker: bool = False  # maker signature as raw r||s
    raw_signer: bool = False  # signer signature as raw r||s
    ext_datas_tagged: bool = False  # v4: TBS_Sign.extDatas under [0] EXPLICIT
    time_stamp: bool = False  # v4: a [0] timeStamp after the signature
    cert_list_type: int = 1
    break_maker: bool = False
    break_signer: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def _sign(data: bytes, key: object, raw: bool, broken: bool) -> bytes:
    value: bytes = key.sign(data + (b"x" if broken else b""))  # type: ignore[attr-defined]
    return der_to_raw(value) if raw else value


def _seal(form: Form, user_cert: bytes) -> bytes:
    h = hierarchy()
    start, end = SIGNED_AT - timedelta(days=30), SIGNED_AT + timedelta(days=365)
    when = utctime if form.layout == "2014" else (lambda t: gtime(t, form.zone))
    if form.layout == "2014" and not form.zone:
        when = lambda t: gtime(t, False)  # noqa: E731 - the Suwell form: GeneralizedTime without a zone
    header = seq(ia5("ES"), integer(form.version), ia5("test-vendor"))
    picture = seq(ia5("png"), octets(b"\x89PNG picture"), integer(40), integer(40))
    if form.layout == "2014":
        prop = seq(integer(1), utf8("示例市市场监督管理局电子印章"), seq(octets(user_cert)),
                   when(start), when(start), when(end))
    else:
        listed = seq(octets(user_cert))
        prop = seq(integer(1), utf8("示例市市场监督管理局电子印章"), integer(form.cert_list_type), listed,
                   when(start), when(start), when(end))
    info = seq(header, ia5("33010000000001"), prop, picture)
    cert, alg = octets(h.root_cert.der), oid(SM2_SM3)
    if form.layout == "2014":
        signed = seq(info, cert, alg)
        value = _sign(signed, h.root_key, form.raw_maker, form.break_maker)
        return seq(info, seq(cert, alg, bits(value)))
    value = _sign(info, h.root_key, form.raw_maker, form.break_maker)
    return seq(info, cert, alg, bits(value))


def _ses(form: Form, to_be_signed: bytes, entry: str) -> bytes:
    s = signer()
    seal = _seal(form, s.certificate.der)
    data_hash = bits(DigestAlgorithm.SM3.digest(to_be_signed))
    cert, alg = octets(s.certificate.der), oid(SM2_SM3)
    if form.layout == "2014":
        stamp = SIGNED_AT.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode()
        time_info = bits(stamp) if form.time_info_bits else gtime(SIGNED_AT, form.zone)
        tbs = seq(integer(form.version), seal, time_info, data_hash, ia5(entry), cert, alg)
        return seq(tbs, bits(_sign(tbs, s.private_key, form.raw_signer, form.break_signer)))
    ext = tlv(0xA0, seq(seq(oid("1.2.3.4"), octets(b"x")))) if form.ext_datas_tagged else b""
    tbs = seq(integer(form.version), seal, gtime(SIGNED_AT, form.zone), data_hash, ia5(entry), ext)
    stamp_el = tlv(0xA0, bits(b"time-stamp token")) if form.time_stamp else b""
    return seq(tbs, cert, alg, bits(_sign(tbs, s.private_key, form.raw_signer, form.break_signer)), stamp_el)


def sealed_file(form: Form) -> tuple[bytes, bytes]:
    """(the certificate file sealed with ``form``, its SignedValue)."""
    prepared = prepare_signature(
        build_unsigned(draft(), qr_payload=None), signature_type="Seal", provider=Provider("test-vendor"),
        signature_method_oid=SM2_SM3, digest=DigestAlgorithm.SM3, signing_time=SIGNED_AT,
    )
    value = _ses(form, prepared.to_be_signed, "/" + prepared.signature_entry)
    return prepared.finish(value), value


def _check(report: VerificationReport, name: str) -> tuple[str, str]:
    found = report.check(name)
    return found[0].outcome.value, found[0].message


# --- the forms -------------------------------------------------------------------------------------------


FORMS = {
    "2014 layout, v1, timeInfo BIT STRING, UTCTime dates": Form(),
    "2014 layout saying version 4": Form(version=4),
    "2014 layout, v2, GeneralizedTime timeInfo": Form(version=2, time_info_bits=False),
    "2014 layout, v3, dates without a zone": Form(version=3, zone=False, time_info_bits=False),
    "v4, raw r||s maker and signer signatures": Form(layout="v4", version=4, raw_maker=True, raw_signer=True),
    "v4, dates and timeInfo without a zone": Form(layout="v4", version=4, zone=False),
    "v4, extDatas under [0] and a [0] timeStamp": Form(layout="v4", version=4, ext_datas_tagged=True,
                                                        time_stamp=True),
    "2014 layout, raw r||s signatures": Form(raw_maker=True, raw_signer=True),
}


@pytest.mark.parametrize("name", list(FORMS))
def test_real_world_seal_forms_verify(name: str) -> None:
    data, value = sealed_file(FORMS[name])
    ses = SesSignature.parse(value)
    assert ses.layout == (LAYOUT_V4 if FORMS[name].layout == "v4" else LAYOUT_2014)
    assert ses.seal is not None and ses.seal.layout == ses.layout
    report = verify(data, trust=trust_store(), at=NOW)
    assert report.ok, report.to_text()
    _outcome, message = _check(report, "signature_value")
    assert f"v{FORMS[name].version}" in message
    if FORMS[name].raw_signer:
        assert "raw r||s" in message


@pytest.mark.parametrize("name", list(FORMS))
@pytest.mark.parametrize("broken", ["maker", "signer"])
def test_negative_twins_still_fail(name: str, broken: str) -> None:
    form = FORMS[name]
    twin = Form(**{**form.__dict__, f"break_{broken}": True})
    data, _ = sealed_file(twin)
    report = verify(data, trust=trust_store(), at=NOW)
    assert not report.ok
    failed = "seal" if broken == "maker" else "signature_value"
    assert _check(report, failed)[0] == "fail"
    if broken == "maker":
        assert "does not verify" in _check(report, "seal")[1]


def test_zone_less_times_are_china_time() -> None:
    _, value = sealed_file(Form(layout="v4", version=4, zone=False))
    ses = SesSignature.parse(value)
    assert ses.time_info == SIGNED_AT
    assert any("China time" in n for n in ses.notes)


def test_malformed_time_is_refused_with_ecerts_message() -> None:
    _, value = sealed_file(Form(layout="v4", version=4))
    stamp = SIGNED_AT.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode()
    bad = value.replace(stamp, stamp[:8] + b"99" + stamp[10:], 1)  # hour 99
    with pytest.raises(Exception, match="timeInfo is not a valid time") as info:
        SesSignature.parse(bad)
    assert "asn1crypto" not in str(info.value)


def test_cert_list_type_outside_the_standard_keeps_the_signer() -> None:
    data, _ = sealed_file(Form(layout="v4", version=4, cert_list_type=3))
    report = verify(data, trust=trust_store(), at=NOW)
    assert not report.ok
    assert _check(report, "signature_value")[0] == "pass"  # still checked, and it verifies
    outcome, message = _check(report, "seal")
    assert outcome == "fail" and message.startswith("seal unusable") and "certListType 3" in message
    assert report.signers and report.signers[0].subject == signer().certificate.subject


def test_unreadable_seal_keeps_the_signer_and_checks_its_signature() -> None:
    data, value = sealed_file(Form(layout="v4", version=4))
    ses = SesSignature.parse(value)
    assert ses.seal is not None
    # the picture's width as a string (same length): the seal cannot be read, the signature can
    broken_seal = ses.seal.seal_der.replace(integer(40) + integer(40), ia5("4") + integer(40), 1)
    assert broken_seal != ses.seal.seal_der and len(broken_seal) == len(ses.seal.seal_der)
    tbs = ses.tbs_der.replace(ses.seal.seal_der, broken_seal)
    s = signer()
    new = seq(tbs, octets(s.certificate.der), oid(SM2_SM3), bits(s.private_key.sign(tbs)))
    parsed = SesSignature.parse(new)
    assert parsed.seal is None and parsed.seal_problem and "picture.width" in parsed.seal_problem
    # in a file: the seal fails as unusable, the signer stays in the report
    prepared = prepare_signature(
        build_unsigned(draft(), qr_payload=None), signature_type="Seal", provider=Provider("test-vendor"),
        signature_method_oid=SM2_SM3, digest=DigestAlgorithm.SM3, signing_time=SIGNED_AT,
    )
    new_tbs = tbs.replace(bits(ses.data_hash), bits(DigestAlgorithm.SM3.digest(prepared.to_be_signed)))
    new = seq(new_tbs, octets(s.certificate.der), oid(SM2_SM3), bits(s.private_key.sign(new_tbs)))
    report = verify(prepared.finish(new), trust=trust_store(), at=NOW)
    assert data and not report.ok
    assert _check(report, "seal")[1].startswith("seal unusable")
    assert report.signers and report.signers[0].subject == s.certificate.subject


def _children(der: bytes) -> list[bytes]:
    """The encodings inside a SEQUENCE whose length may be stale (only the children are trusted)."""
    pos = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = []
    while pos < len(der):
        length, head = der[pos + 1], 2
        if length >= 0x80:
            count = length & 0x7F
            length, head = int.from_bytes(der[pos + 2:pos + 2 + count], "big"), 2 + count
        out.append(der[pos:pos + head + length])
        pos += head + length
    return out


def test_trimmed_bit_string_signature_is_read() -> None:
    """A writer that trims a DER signature's trailing zero octet (BIT STRING named-bit rule): the
    SEQUENCE's own length restores it, and the report still says whether it verifies."""
    s = signer()
    while True:  # a signature ending in a zero octet (1 in 256)
        _, value = sealed_file(Form(layout="v4", version=4))
        ses = SesSignature.parse(value)
        if ses.signature.endswith(b"\x00"):
            break
    trimmed = value.replace(bits(ses.signature), bits(ses.signature[:-1], unused=0), 1)
    assert trimmed != value
    fixed = SesSignature.parse(seq(*_children(trimmed)))
    assert fixed.signature == ses.signature
    assert any("restored" in n for n in fixed.notes)
    assert s  # the signer is the test department


@pytest.mark.skipif(shutil.which("openssl") is None, reason="system OpenSSL not installed")
def test_openssl_verifies_the_bytes_a_2014_seal_signs(tmp_path: Path) -> None:
    """The maker's signature over SEQUENCE{esealInfo, cert, signatureAlgorithm} and the signer's over
    TBS_Sign, as ecert reads them from a 2014-layout seal, verify with system OpenSSL."""
    _, value = sealed_file(Form())
    ses = SesSignature.parse(value)
    assert ses.seal is not None
    h = hierarchy()
    pairs = [(ses.seal.seal_tbs_der, ses.seal.signed_value, h.root_cert.to_pem()),
             (ses.tbs_der, ses.signature, signer().certificate.to_pem())]
    for i, (data, sig, cert) in enumerate(pairs):
        (tmp_path / f"d{i}").write_bytes(data)
        (tmp_path / f"s{i}").write_bytes(sig)
        (tmp_path / f"c{i}.pem").write_bytes(cert)
        cmd = ["openssl", "pkeyutl", "-verify", "-certin", "-inkey", str(tmp_path / f"c{i}.pem"), "-rawin",
               "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in", str(tmp_path / f"d{i}"),
               "-sigfile", str(tmp_path / f"s{i}")]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if "sm3" in result.stderr.lower() and "unknown" in result.stderr.lower():
            pytest.skip("system OpenSSL without SM2/SM3")
        assert result.returncode == 0 and "Success" in result.stdout, result.stderr
        (tmp_path / f"d{i}").write_bytes(data + b"x")  # negative control
        assert subprocess.run(cmd, capture_output=True, check=False).returncode != 0
