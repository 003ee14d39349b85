"""The face PNG (fileType png) of a certificate whose face the library does not keep: drawn on demand
from the signed original's page as signed, kept beside it, and served like a stored one."""

from __future__ import annotations

import io
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from ecert.paint import qr_payload_of
from ecert.share import Caller, DownloadRequest, Purpose, ShareService, ShareSettings
from ecert.share.service import FACE_DPI

from .certs import NOW, hierarchy, trust_store
from .share_support import ENGINEER, cert_of, service_signer

WHY = Purpose(reason="办理资质审核，查看证照照面")


@pytest.fixture
def service(library: Any) -> ShareService:
    settings = ShareSettings(trust=trust_store(), certificates=(hierarchy().issuer_cert,), clock=lambda: NOW)
    return ShareService(library, service_signer(), settings)


def test_a_face_not_kept_is_drawn_from_the_signed_page(service: ShareService, library: Any) -> None:
    cert = cert_of(ENGINEER)
    tax = Caller(library.application("tax"), "王经办")
    assert library.stored_file(cert.identifier, "face") is None
    got = service.download(tax, WHY, DownloadRequest(cert.identifier, kind="face"))
    assert got.content_type == "image/png" and got.content is not None
    page = Image.open(io.BytesIO(got.content))
    assert page.format == "PNG"
    assert page.size == (round(210 * FACE_DPI / 25.4), round(297 * FACE_DPI / 25.4))  # the A4 page
    # the QR code zxing-cpp reads off the drawn page is the one the signed file carries
    [symbol] = zxingcpp.read_barcodes(page.convert("L"))
    assert symbol.text == qr_payload_of(cert.content)
    assert [u.usage.result for u in library.usage(identifier=cert.identifier)] == ["sent (face)"]

    kept = library.stored_file(cert.identifier, "face")
    assert kept is not None and kept.content_type == "image/png"
    again = service.download(tax, WHY, DownloadRequest(cert.identifier, kind="face", delivery="url"))
    assert again.ticket is not None
    assert service.redeem(again.ticket).content == got.content  # drawn once, then read

