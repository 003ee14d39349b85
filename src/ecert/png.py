"""PNG bytes: of a Pillow image (loading only Pillow's PNG plugin), or of a 1-bit picture written directly.

``image.save(buffer, format="PNG")`` makes Pillow import its five "preinit" plugins first (BMP, GIF,
JPEG, PPM and PNG: about a third of the first ``package()`` call's one-off imports).  Given no format,
Pillow (since 11.1) imports only the plugin of the file name's extension, so the buffer here carries a
name ending in ``.png``; an older Pillow loads all five and writes the same bytes.

A QR code is black and white: :func:`bilevel_png` writes its rows as a 1-bit greyscale PNG with no
image library at all (Pillow's encoder cost a certificate about three SM2 signatures, most of it
choosing a filter per row).  Layer 0: no ecert imports but errors; Pillow is imported on first use.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ecert.errors import InputError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["BILEVEL_LEVEL", "bilevel_png", "png_bytes"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_SIDE = 0x7FFFFFFF  # PNG §11.2.2: width and height are at most 2^31 - 1
#: zlib level of :func:`bilevel_png`: a QR picture's rows repeat (each module is several pixels tall,
#: and a repeated row is zeros after the Up filter); level 6 finds nearly all there is to find: 9 is
#: 0.5% smaller and three times slower, 1 is three times faster and 12% larger (bench_zip.py)
BILEVEL_LEVEL = 6


class _PngBuffer(io.BytesIO):
    name = "image.png"  # Pillow chooses the format (and the one plugin to import) by this extension


def png_bytes(image: Image.Image, *, optimize: bool = False) -> bytes:
    """The PNG encoding of ``image`` (the same bytes as ``image.save(buf, format="PNG")``)."""
    buf = _PngBuffer()
    image.save(buf, optimize=optimize)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk (§5.3): length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))


def bilevel_png(width: int, rows: Sequence[bytes]) -> bytes:
    """A 1-bit greyscale PNG (colour type 0, bit depth 1, no interlace) of ``rows``, top to bottom.

    Each row is ``ceil(width / 8)`` bytes, the leftmost pixel in the high bit, 1 white and 0 black
    (PNG §7.2); bits past ``width`` are ignored by readers.  A row equal to the one above it is written
    with filter type Up (§9.2) as zeros, which is what makes a scaled-up QR code compress well.

    :raises InputError: for a size PNG cannot hold or a row of the wrong length.
    """
    height, stride = len(rows), (width + 7) // 8
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        raise InputError("a PNG has 1 to 2^31 - 1 pixels a side", where="bilevel PNG",
                         value=f"{width}x{height}")
    same = b"\x02" + bytes(stride)  # filter Up over an equal row: all differences are zero
    raw: list[bytes] = []
    previous = b""
    for row in rows:
        if len(row) != stride:
            raise InputError("a PNG row of the wrong length", where="bilevel PNG", value=len(row),
                             expected=f"{stride} bytes for {width} pixels")
        raw.append(same if row == previous else b"\x00" + row)
        previous = row
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"".join((_SIGNATURE, _chunk(b"IHDR", header),
                     _chunk(b"IDAT", zlib.compress(b"".join(raw), BILEVEL_LEVEL)), _chunk(b"IEND", b"")))
