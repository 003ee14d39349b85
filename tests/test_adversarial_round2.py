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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import core

from ecert.collect import CertificateDraft
from ecert.crypto.digests import DigestAlgorithm
from ecert.ofd import OFDPackage, ses
from ecert.package import Issuer, package
from ecert.qr.offline import make_offline, verify_offline
from ecert.registry.sqlite import SQLiteRegistry

from .certs import SIGNED_AT, draft, hierarchy, issued_file, signer, trust_store
from .test_adversarial_ofd import (
    ATTACHMENT,
    _failed,
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
