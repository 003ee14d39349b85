"""Second adversarial review of verification (OFD files, QR payloads, status sources).

Same rule as the first round (``test_adversarial_ofd.py``, ``test_adversarial_qr_status.py``):
verification never lies.  Attacks that are refused stay as regression tests naming the check that
must fail; holes found here were fixed, their tests show the attack.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import zipfile
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ecert.collect import CertificateDraft
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.keys import PrivateKey, generate_private_key
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.ofd import OFDPackage, ses
from ecert.package import Issuer, package
from ecert.qr.offline import claims_of, key_id, make_offline
from ecert.qr.payload import Claims, QRAlgorithm, encode_offline, signed_part
from ecert.registry.sqlite import SQLiteRegistry
from ecert.registry.statuslist import StatusList
from ecert.verify.qr import verify_offline

from .certs import (
    DEPARTMENT_CODE,
    NOW,
    OTHER_DEPARTMENT_CODE,
    SIGNED_AT,
    draft,
    hierarchy,
    issued_file,
    signer,
    trust_store,
)
from .test_adversarial_ofd import (
    ATTACHMENT,
    _add_signature,
    _certificate,
    _failed,
    _other_department_signer,
    _prepare,
    _seal,
    _time,
    _unsigned,
    _verify,
)

CENTRAL_SIG = b"PK\x01\x02"
LOCAL_SIG = b"PK\x03\x04"
UNICODE_PATH = 0x7075


# --- helpers --------------------------------------------------------------------------------------


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    return list(OFDPackage.open(data).entries.items())


def _zip_with(
    entries: list[tuple[str, bytes]],
    *,
    extra: dict[str, bytes] | None = None,
    stored: bool = False,
) -> bytes:
    """A ZIP of ``entries``; ``extra`` gives extra-field bytes (local and central) per name."""
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, (2000, 1, 1, 0, 0, 0))
            info.compress_type = method
            if extra and name in extra:
                info.extra = extra[name]
            z.writestr(info, data)
    return buf.getvalue()


def _unicode_path(header_name: str, shown: str) -> bytes:
    """An Info-ZIP Unicode Path extra field (0x7075): readers that honour it (Info-ZIP unzip,
    7-Zip, libarchive) show ``shown`` instead of the header name."""
    body = b"\x01" + struct.pack("<L", zlib.crc32(header_name.encode())) + shown.encode()
    return struct.pack("<HH", UNICODE_PATH, len(body)) + body


def _seal_signed(
    *,
    seal_end: datetime,
    time_info: datetime = SIGNED_AT,
    signature_time: datetime = SIGNED_AT,
    signature_type: str = "Seal",
) -> bytes:
    """The sample certificate sealed by the department: TBS_Sign dated ``time_info``, Signature.xml's
    SignatureDateTime ``signature_time`` (both signed by the department)."""
    by = signer()
    prepared = _prepare(_unsigned(), signature_type=signature_type, at=signature_time)
    seal = _seal(start=SIGNED_AT - timedelta(days=30), end=seal_end, users=[by.certificate.der],
                 maker_signature=None)
    tbs = ses.TBSSign(
        {
            "version": 4,
            "eseal": seal,
            "time_info": _time(time_info),
            "data_hash": core.OctetBitString(DigestAlgorithm.SM3.digest(prepared.to_be_signed)),
            "property_info": "/" + prepared.signature_entry,
        }
    )
    value = ses.SESSignature(
        {
            "to_sign": tbs,
            "cert": by.certificate.der,
            "signature_alg_id": "1.2.156.10197.1.501",
            "signature": core.OctetBitString(by.sign(tbs.dump())),
        }
    ).dump()
    return prepared.finish(value)


# --- ZIP container ----------------------------------------------------------------------------------


def test_baseline_still_valid() -> None:
    """Control: the untouched issued file verifies."""
    assert _verify(issued_file()).ok


def test_unicode_path_extra_field_renaming_an_entry_fails_package() -> None:
    """Attack: an Info-ZIP Unicode Path extra field (unsigned) gives the metadata attachment another
    name for readers that honour it, while zipfile (and so the verifier) reads the header name."""
    entries = _entries(issued_file())
    forged = _zip_with(entries, extra={ATTACHMENT: _unicode_path(ATTACHMENT, "Doc_0/Res/image_3.png")})
    assert "package" in _failed(_verify(forged))


def test_nul_in_a_raw_entry_name_fails_package() -> None:
    """Attack: a NUL byte and junk after a genuine entry name; zipfile cuts the name at the NUL
    (so the verifier sees the genuine name), other readers keep the whole name."""
    entries = [(name + "~x" if name == ATTACHMENT else name, data) for name, data in _entries(issued_file())]
    data = _zip_with(entries)
    forged = data.replace((ATTACHMENT + "~x").encode(), (ATTACHMENT + "\0x").encode())
    assert forged.count((ATTACHMENT + "\0x").encode()) == 2  # local and central header
    assert "package" in _failed(_verify(forged))


# --- seals --------------------------------------------------------------------------------------


def test_sealed_control_with_both_times_inside_the_seal_validity() -> None:
    """Control: TBS_Sign time and SignatureDateTime both inside the seal's validity."""
    report = _verify(_seal_signed(seal_end=SIGNED_AT + timedelta(days=1)))
    assert report.ok, report.to_text()


def test_seal_judged_at_every_signed_time_claim() -> None:
    """Attack: the seal expired before the SignatureDateTime the signer signed; TBS_Sign's timeInfo
    (also the signer's claim) is back-dated into the seal's validity.  Every signed claim must hold,
    as for the signer certificate."""
    data = _seal_signed(seal_end=SIGNED_AT + timedelta(hours=6),
                        signature_time=SIGNED_AT + timedelta(hours=20))
    assert "seal" in _failed(_verify(data))


def test_seal_judged_at_every_signed_time_claim_when_listed_as_sign() -> None:
    """Attack: as above, with the seal signature listed as Type="Sign" (the content decides)."""
    data = _seal_signed(seal_end=SIGNED_AT + timedelta(hours=6),
                        signature_time=SIGNED_AT + timedelta(hours=20), signature_type="Sign")
    assert "seal" in _failed(_verify(data))


# --- registry: recorded metadata ------------------------------------------------------------------

AFTER_EXPIRY = datetime(2030, 1, 10, 2, 0, tzinfo=UTC)  # the sample certificate ends on 2029-11-23


def _registry_with_the_sample(path: Path) -> SQLiteRegistry:
    registry = SQLiteRegistry.open(path / "registry.db")
    registry.record_issued(
        draft().metadata,
        package_digest=DigestAlgorithm.SM3.digest(issued_file()).hex(),
        signer=hierarchy().issuer_cert.subject,
        issued_at=SIGNED_AT,
    )
    return registry


def _without_end_date() -> CertificateDraft:
    genuine = draft()
    assert genuine.metadata.valid_until is not None
    return dataclasses.replace(genuine, metadata=dataclasses.replace(genuine.metadata, valid_until=None))


def test_registered_identifier_reissued_without_its_end_date_fails_status(tmp_path: Path) -> None:
    """Attack: the issuer's key signs the registered certificate again, identical but without its end
    of validity (an optional element), so that once it has expired it shows only a warning; the
    registry, which recorded the end date, must not vouch for it."""
    registry = _registry_with_the_sample(tmp_path)
    assert "validity_period" in _failed(_verify(issued_file(), at=AFTER_EXPIRY, status=registry))  # control
    forged = package(_without_end_date(), Issuer(signer()), at=SIGNED_AT)
    assert "status" in _failed(_verify(forged, at=AFTER_EXPIRY, status=registry))


def test_qr_of_a_registered_identifier_without_its_end_date_fails_status(tmp_path: Path) -> None:
    """Attack: as above, in an offline QR payload signed by the issuer's key."""
    registry = _registry_with_the_sample(tmp_path)
    payload = make_offline(_without_end_date().metadata, signer(), at=SIGNED_AT)
    report = verify_offline(
        payload, trust=trust_store(), certificates=[signer().certificate], at=AFTER_EXPIRY, status=registry
    )
    assert "status" in _failed(report)


# --- QR payloads --------------------------------------------------------------------------------


def _qr(claims: Claims, by: Signer) -> str:
    """An offline payload of exactly these claims, signed by ``by`` (SM2)."""
    signed = signed_part(claims, QRAlgorithm.SM2_SM3, key_id(by.certificate))
    r, s = decode_dss_signature(by.sign(signed))
    return encode_offline(signed, r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def test_qr_department_b_claiming_a_usccs_identifier_under_its_own_issuer_code_fails() -> None:
    """Attack: department B signs a payload naming itself as issuer (so the issuer binding holds) but
    with department A's USCC as the identifier's issuer part (A's identifier space, A's registry)."""
    other = _other_department_signer()
    claims = dataclasses.replace(
        claims_of(draft().metadata, SIGNED_AT),
        issuer_code=OTHER_DEPARTMENT_CODE,
        issuer_name="另一市市场监督管理局",
    )
    assert claims.identifier_issuer == DEPARTMENT_CODE
    report = verify_offline(_qr(claims, other), trust=trust_store(), certificates=[other.certificate], at=NOW)
    assert "payload" in _failed(report)


def test_qr_division_code_identifier_is_bound_through_the_issuer_code() -> None:
    """Control and attack: a division-code identifier says nothing about the issuing department, so
    the issuer code decides: B signing for A's code fails, A signing for itself passes."""
    genuine = claims_of(draft().metadata, SIGNED_AT)
    claims = dataclasses.replace(genuine, identifier_issuer="330100")
    own = verify_offline(
        _qr(claims, signer()), trust=trust_store(), certificates=[signer().certificate], at=NOW
    )
    assert own.ok, own.to_text()
    other = _other_department_signer()
    report = verify_offline(_qr(claims, other), trust=trust_store(), certificates=[other.certificate], at=NOW)
    assert "issuer_binding" in _failed(report)


@pytest.mark.parametrize(
    ("at", "valid"),
    [
        (datetime(2029, 11, 23, 15, 59, 59, tzinfo=UTC), True),  # 23:59:59 on the end day in China
        (datetime(2029, 11, 23, 16, 0, 0, tzinfo=UTC), False),  # 00:00 the next day in China
        (datetime(2029, 11, 24, 0, 0, 0, tzinfo=timezone(timedelta(hours=8))), False),
        (datetime(2029, 11, 23, 10, 0, 0, tzinfo=timezone(timedelta(hours=-12))), False),  # 22:00 UTC
    ],
)
def test_validity_end_day_boundary_in_china_time(at: datetime, valid: bool) -> None:
    """The last valid instant is the end of the end day in China Standard Time, whatever zone the
    verification time is written in (file and QR agree)."""
    assert draft().metadata.valid_until == date(2029, 11, 23)
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    for report in (
        _verify(issued_file(), at=at),
        verify_offline(payload, trust=trust_store(), certificates=[signer().certificate], at=at),
    ):
        assert report.ok is valid, report.to_text()
        if not valid:
            assert "validity_period" in _failed(report)


# --- trust ----------------------------------------------------------------------------------------


def test_directly_trusted_end_entity_cannot_vouch_for_a_certificate_it_issued() -> None:
    """Attack: a department certificate (not a CA) is trusted directly; its key issues a certificate
    for another key, which signs a file.  The anchor is not a CA, so it issues nothing."""
    department = signer()
    key = generate_private_key("sm2")
    cert = _certificate(department.private_key, department.certificate, key)
    forged = _add_signature(_unsigned(), Signer(key, cert, (department.certificate,)))
    report = _verify(forged, trust=TrustStore.from_certificates(department.certificate))
    assert "signer_trust" in _failed(report)
    assert any("not a CA" in c.message for c in report.check("signer_trust"))
    control = _add_signature(_unsigned(), department)
    assert _verify(control, trust=TrustStore.from_certificates(department.certificate)).ok


def test_cross_signed_root_loop_still_finds_the_anchor() -> None:
    """A root cross-signed by its own intermediate (a loop R -> I -> R') offered as intermediates
    must neither hang nor replace the anchor: the path ends at the anchor, and without it there is none."""
    h = hierarchy()
    inter_key = generate_private_key("sm2")
    inter = _certificate(h.root_key, h.root_cert, inter_key, ca=True)
    cross_root = _renamed(_certificate(inter_key, inter, h.root_key, ca=True), h.root_cert, inter_key)
    assert cross_root.subject_der == h.root_cert.subject_der  # the root's name and key, issued by I
    department = signer()
    pool = (cross_root, inter, h.root_cert)
    result = trust_store().validate(department.certificate, at=SIGNED_AT, intermediates=pool)
    assert result.ok and result.chain[-1].der == h.root_cert.der
    stranger = TrustStore.from_certificates(generate_cert_for_nobody())
    assert not stranger.validate(department.certificate, at=SIGNED_AT, intermediates=pool).ok


def _renamed(cert: Certificate, like: Certificate, issuer_key: PrivateKey) -> Certificate:
    """``cert`` with the subject of ``like``, re-signed by ``issuer_key``."""
    parsed = asn1_x509.Certificate.load(cert.der)
    tbs = parsed["tbs_certificate"]
    tbs["subject"] = asn1_x509.Name.load(like.subject_der)
    new = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": issuer_key.sign(tbs.dump(force=True)),
        }
    )
    return Certificate.from_der(new.dump(force=True))


def generate_cert_for_nobody() -> Certificate:
    """A self-signed CA nobody in these tests chains to."""
    return DemoHierarchy.create("sm2", department="无关部门", department_code=OTHER_DEPARTMENT_CODE,
                                now=SIGNED_AT).root_cert


# --- status lists -----------------------------------------------------------------------------------


def _loaded_list(*, next_update: datetime | None) -> StatusList:
    data = StatusList.build([], issued_at=NOW, next_update=next_update).sign(signer())
    return StatusList.load(data, trust=trust_store(), at=NOW)


@pytest.mark.parametrize("next_update", [NOW + timedelta(days=7), None])
def test_status_list_loaded_fresh_is_no_answer_once_stale_at_the_verification_time(
    next_update: datetime | None,
) -> None:
    """Attack (a long-running verifier): a list loaded while fresh is kept and asked months later,
    after its next update (or, promising none, past the reader's age limit); a revocation published
    since cannot show, so 'not listed' is no answer at that time.  Control: asked in time, it passes."""
    status = _loaded_list(next_update=next_update)
    later = NOW + timedelta(days=60)
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    for verify_at, ok in ((NOW + timedelta(days=1), True), (later, False)):
        reports = (
            _verify(issued_file(), at=verify_at, status=status),
            verify_offline(payload, trust=trust_store(), certificates=[signer().certificate], at=verify_at,
                           status=status),
        )
        for report in reports:
            if ok:
                assert report.ok, report.to_text()
            else:
                assert "status" in _failed(report)
