"""QR pictures written straight from the modules as 1-bit PNGs: Pillow decodes them to the very pixels
the image path draws (paste and resize in Pillow), zxing-cpp reads them, and a certificate carries one."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ecert.errors import InputError, InvalidQRPayload
from ecert.ofd.reader import OFDPackage
from ecert.package import package
from ecert.png import bilevel_png
from ecert.qr.image import OFFLINE_MAX_VERSION, qr_image, qr_png
from ecert.qr.offline import make_offline

from .certs import SIGNED_AT, draft, signer


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG, each CRC checked (PNG §5.3)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        assert crc == zlib.crc32(kind + body), kind
        out.append((kind, body))
        pos += 12 + length
    return out


@pytest.mark.parametrize("module_px", [1, 3, 4, 5, 8])
@pytest.mark.parametrize("kind", ["sm2", "ed25519"])
def test_same_pixels_as_the_image_path(kind: str, module_px: int) -> None:
    payload = make_offline(draft(kind).metadata, signer(kind), at=SIGNED_AT)
    data = qr_png(payload, module_px=module_px)
    assert [k for k, _ in _chunks(data)] == [b"IHDR", b"IDAT", b"IEND"]
    with Image.open(io.BytesIO(data)) as img:
        assert (img.format, img.mode) == ("PNG", "1")
        decoded = img.convert("L")
    drawn = qr_image(payload, module_px=module_px)
    assert decoded.size == drawn.size and decoded.tobytes() == drawn.tobytes()
    result = zxingcpp.read_barcode(decoded, formats=zxingcpp.BarcodeFormat.QRCode)
    assert result is not None and result.text == payload


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 70).flatmap(
    lambda width: st.lists(st.binary(min_size=(width + 7) // 8, max_size=(width + 7) // 8), min_size=1,
                           max_size=12).map(lambda rows: (width, rows))))
def test_bilevel_rows_decode_to_their_bits(case: tuple[int, list[bytes]]) -> None:
    width, rows = case
    rows = rows + rows[-1:]  # a repeated row is written with the Up filter
    with Image.open(io.BytesIO(bilevel_png(width, rows))) as img:
        assert img.size == (width, len(rows))
        pixels = img.convert("L").tobytes()
    expected = bytes(255 if row[x // 8] >> (7 - x % 8) & 1 else 0 for row in rows for x in range(width))
    assert pixels == expected


def test_the_certificate_carries_the_picture() -> None:
    d, s = draft("sm2"), signer("sm2")
    pkg = OFDPackage.open(package(d, s, at=SIGNED_AT))
    (name,) = [n for n in pkg.names() if n.endswith(".png")]
    payload = make_offline(d.metadata, s, at=SIGNED_AT)  # SM2 is randomised: compare the pictures' text
    with Image.open(io.BytesIO(pkg.entries[name])) as img:
        result = zxingcpp.read_barcode(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert result is not None and result.text.split(":")[0] == payload.split(":")[0]
    assert len(result.text) == len(payload)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(InputError, match="wrong length"):
        bilevel_png(9, [b"\x00"])
    with pytest.raises(InputError, match="pixels a side"):
        bilevel_png(0, [b""])
    with pytest.raises(InputError, match="pixels a side"):
        bilevel_png(8, [])
    with pytest.raises(InputError, match="module_px"):
        qr_png("A", module_px=0)
    with pytest.raises(InvalidQRPayload):
        qr_png("A" * 601, module_px=4, max_version=OFFLINE_MAX_VERSION)
