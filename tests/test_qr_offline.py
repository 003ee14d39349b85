"""Offline QR payloads end to end: issue -> QR image -> independent decoder (zxing-cpp) -> verify.

Images are checked at the sizes a service window meets: the PNG file, the QR as printed on the
face (32 mm at 150 and 300 dpi), a phone photo (downscaled, slightly rotated and blurred).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
import zxingcpp
from PIL import Image, ImageFilter

from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.errors import InvalidQRPayload
from ecert.qr.base41 import b41decode, b41encode
from ecert.qr.image import qr_image, qr_version
from ecert.qr.offline import claims_of, make_offline
from ecert.qr.payload import OFFLINE_PREFIX, decode_offline
from ecert.render import render
from ecert.verify.qr import verify_offline

from .certs import NOW, SIGNED_AT, draft, hierarchy, signer

QR = zxingcpp.BarcodeFormat.QRCode  # only QR symbols: random modules can look like a 1D code


def _decode(img: Image.Image) -> str:
    results = [r for r in zxingcpp.read_barcodes(img.convert("L"), formats=QR) if r.valid]
    assert results, "zxing-cpp found no QR code"
    return str(results[0].text)


def _verify(payload: str, kind: str = "sm2") -> object:
    h = hierarchy(kind)
    return verify_offline(
        payload, trust=TrustStore.from_certificates(h.root_cert), certificates=(h.issuer_cert,), at=NOW
    )


@pytest.mark.parametrize("kind", ["sm2", "p256", "ed25519"])
def test_round_trip_through_an_independent_decoder(kind: str) -> None:
    payload = make_offline(draft(kind).metadata, signer(kind), at=SIGNED_AT)
    assert qr_version(payload) <= 15
    decoded = _decode(qr_image(payload, module_px=4))
    assert decoded == payload
    report = _verify(decoded, kind)
    assert report.ok, report.to_text()  # type: ignore[attr-defined]
    # the payload carries what a clerk must see (spec/qr.md), not the type's own items
    when = datetime(2026, 11, 25, tzinfo=UTC)
    assert claims_of(report.metadata, when) == claims_of(draft(kind).metadata, when)  # type: ignore[attr-defined]


@pytest.mark.parametrize("dpi", [150, 300])
def test_printed_face_qr_decodes(dpi: int) -> None:
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    face = render(draft(), qr_payload=payload, dpi=dpi)
    assert _decode(face) == payload


def test_phone_photo_of_the_face_decodes() -> None:
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    face = render(draft(), qr_payload=payload, dpi=300)
    photo = face.resize((face.width * 2 // 3, face.height * 2 // 3), Image.Resampling.LANCZOS)
    photo = photo.rotate(4, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    assert _decode(photo) == payload


def test_any_modified_byte_fails() -> None:
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    raw = b41decode(payload[len(OFFLINE_PREFIX) :])
    for i in range(len(raw)):
        mutated = bytearray(raw)
        mutated[i] ^= 0x01
        text = OFFLINE_PREFIX + b41encode(bytes(mutated))
        report = _verify(text)
        assert not report.ok, f"byte {i}"  # type: ignore[attr-defined]


def test_a_payload_signed_by_an_untrusted_key_fails() -> None:
    stranger = DemoHierarchy.create("sm2", now=datetime(2026, 11, 1, tzinfo=UTC))
    payload = make_offline(draft().metadata, Signer(stranger.issuer_key, stranger.issuer_cert), at=SIGNED_AT)
    report = _verify(payload)
    assert not report.ok  # type: ignore[attr-defined]
    # even when the stranger's certificate is offered, it does not chain to our root
    h = hierarchy()
    report2 = verify_offline(
        payload, trust=TrustStore.from_certificates(h.root_cert), certificates=(stranger.issuer_cert,), at=NOW
    )
    assert not report2.ok
    assert report2.failed("signer_trust")


def test_expired_certificate_is_reported() -> None:
    md = dataclasses.replace(draft().metadata, valid_until=date(2029, 1, 1), long_term=False)
    payload = make_offline(md, signer(), at=SIGNED_AT)
    h = hierarchy()
    later = datetime(2030, 1, 1, tzinfo=UTC)
    report = verify_offline(
        payload, trust=TrustStore.from_certificates(h.root_cert), certificates=(h.issuer_cert,), at=later
    )
    assert not report.ok and report.failed("validity_period")


def test_garbage_is_refused() -> None:
    with pytest.raises(InvalidQRPayload):
        decode_offline("EC1:!!")
    report = _verify("not a payload")
    assert not report.ok  # type: ignore[attr-defined]


def test_the_text_report_names_each_failed_required_check_once() -> None:
    """A failed required check is listed by its own line; only checks that never ran get the note."""
    h = hierarchy()
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    report = verify_offline(payload, trust=TrustStore.from_certificates(h.root_cert), certificates=(), at=NOW)
    # no certificate has the key id: the signature cannot be checked here (skipped), and the signer
    # check fails saying which certificate to add
    assert not report.ok and report.failed("signer_trust") and not report.failed("signature_value")
    lines = report.to_text().splitlines()
    assert sum(" signer_trust: " in line for line in lines) == 1
    assert "  FAIL identifier: required check did not run or did not pass" in lines
    assert set(report.missing_required) >= {"signature_value", "identifier"}
