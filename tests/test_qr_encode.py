"""The bit-parallel QR encoder: the very symbol the ``qrcode`` package makes (same version, same mask
by its own penalty scoring, every module), and zxing-cpp reads it back."""

from __future__ import annotations

import pytest
import qrcode
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode.constants import ERROR_CORRECT_M

from ecert.errors import InvalidQRPayload
from ecert.qr.encode import ALPHANUMERIC, encodable, symbol_bits
from ecert.qr.image import qr_image, qr_matrix
from ecert.qr.offline import make_offline

from .certs import SIGNED_AT, draft, signer


def _qrcode(text: str) -> list[list[bool]]:
    """qrcode's own choice: smallest version, one segment (optimize=0), mask by its penalty."""
    q = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    q.add_data(text, optimize=0)
    q.make(fit=True)
    return [[bool(c) for c in row] for row in q.get_matrix()]


def _ours(text: str) -> list[list[bool]]:
    side, stride, dark = symbol_bits(text)
    return [[bool(dark >> (r * stride + c) & 1) for c in range(side)] for r in range(side)]


def _reads_back(text: str) -> None:
    result = zxingcpp.read_barcode(qr_image(text, module_px=2), formats=zxingcpp.BarcodeFormat.QRCode)
    assert result is not None and result.valid and result.text == text


@pytest.mark.parametrize("kind", ["sm2", "p256", "ed25519"])
def test_offline_payloads_are_qrcodes_symbols(kind: str) -> None:
    payload = make_offline(draft(kind).metadata, signer(kind), at=SIGNED_AT)
    assert encodable(payload)
    assert _ours(payload) == _qrcode(payload)
    assert [list(row) for row in qr_matrix(payload)] == _qrcode(payload)  # the path images take
    _reads_back(payload)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=ALPHANUMERIC, min_size=1, max_size=650) | st.text(alphabet="0123456789", min_size=1,
                                                                          max_size=900))
def test_the_symbol_qrcode_makes(text: str) -> None:
    assert _ours(text) == _qrcode(text)
    _reads_back(text)


@pytest.mark.slow
@pytest.mark.parametrize("text", ["A" * 1852, "7" * 3057, "HTTPS://ZZ.EXAMPLE.GOV.CN/V/" * 40, "1" * 2000])
def test_large_versions(text: str) -> None:
    """Versions 21-40: six and seven alignment rows, both version information blocks, long counts."""
    assert _ours(text) == _qrcode(text)
    _reads_back(text)


def test_what_it_encodes() -> None:
    assert encodable("EC2:AB-12 $%*+./") and encodable("0123")
    assert not encodable("") and not encodable("ec2") and not encodable("证照") and not encodable("A\n")
    with pytest.raises(InvalidQRPayload, match="not numeric or alphanumeric"):
        symbol_bits("abc")
    with pytest.raises(InvalidQRPayload, match="too long"):
        symbol_bits("A" * 3392)  # version 40-M holds 3391 alphanumeric characters
    assert symbol_bits("A" * 3391)[0] == symbol_bits("1" * 5596)[0] == 177  # and 5596 digits
    with pytest.raises(InvalidQRPayload, match="does not fit"):
        qr_image("A" * 4297)
