"""QR symbols as images, at error-correction level M.

Level M (15% recovery) is what phone scanning of a printed or on-screen certificate needs;
alphanumeric payloads (spec/qr.md) are encoded in alphanumeric mode.

Who encodes: numeric and alphanumeric text (every offline payload) :mod:`ecert.qr.encode`, which
scores the eight masks over whole-symbol integers in about half the time zxing-cpp takes (0.4 against
0.9 ms for a version-12 payload) and gives the symbol the ``qrcode`` package gives; any other text
zxing-cpp (byte mode, with the UTF-8 ECI for non-ASCII text), about 1 ms.  ``qrcode`` itself took
about 25 ms to score the masks.  The tests check both encoders' symbols module by module against
``qrcode`` and decode them again.
"""

from __future__ import annotations

import functools
import io

import zxingcpp
from PIL import Image

from ecert.errors import InputError, InvalidQRPayload
from ecert.png import bilevel_png
from ecert.qr.encode import encodable, symbol_bits

__all__ = [
    "MAX_SCAN_BYTES",
    "MAX_SCAN_PIXELS",
    "MAX_VERSION",
    "OFFLINE_MAX_VERSION",
    "QUIET_ZONE",
    "qr_image",
    "qr_matrix",
    "qr_png",
    "qr_version",
    "read_qr",
]

MAX_VERSION = 40
OFFLINE_MAX_VERSION = 15  # the size budget of offline payloads (spec/qr.md)
QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004 §6.3.8)
_MAX_PAYLOAD = 8000  # characters; more than any version-40 symbol holds, so zxing-cpp is never asked
_LIGHT_BITS = b"0" + b"1" * 255  # zxing-cpp's module byte (0 dark) as a bit digit, 1 light
_MODULE_BYTES = bytes.maketrans(b"01", b"\x00\xff")  # a bit digit as a module byte (0 dark, 255 light)


def _check_payload(payload: str) -> None:
    if not isinstance(payload, str) or not payload:
        raise InvalidQRPayload("a QR payload must be non-empty text", value=type(payload).__name__)
    if len(payload) > _MAX_PAYLOAD:
        raise InvalidQRPayload("payload does not fit a QR code", value=len(payload))
    if payload.startswith("\ufeff"):  # zxing-cpp drops a leading BOM: the code would read as other text
        raise InvalidQRPayload(
            "a QR payload cannot start with a byte order mark (U+FEFF)",
            value=repr(payload[:8]),
            expected="the text without the BOM (readers drop it, so the code would not say what was given)",
        )


def _check_version(side: int, max_version: int) -> None:
    version = (side - 17) // 4
    if not 1 <= version <= MAX_VERSION or 17 + 4 * version != side:
        raise InvalidQRPayload("the QR encoder returned no square symbol", value=side)
    if version > max_version:
        raise InvalidQRPayload(
            "payload too long for the QR budget",
            value=f"version {version}",
            expected=f"QR version <= {max_version} at level M (spec/qr.md)",
        )


def _light_rows(payload: str, max_version: int) -> tuple[int, list[bytes]]:
    """(modules per side, each row of modules as bit digits: b"1" light, b"0" dark) of the smallest
    symbol at level M: numeric and alphanumeric text (every offline payload) by :mod:`ecert.qr.encode`,
    other text by zxing-cpp."""
    _check_payload(payload)
    if not encodable(payload):
        side, cells = _zxing_symbol(payload)
        _check_version(side, max_version)
        digits = cells.translate(_LIGHT_BITS)
        return side, [digits[r * side:(r + 1) * side] for r in range(side)]
    try:
        side, stride, dark = symbol_bits(payload)
    except ValueError as exc:  # more than version 40 holds
        raise InvalidQRPayload(f"payload does not fit a QR code ({exc})", value=len(payload)) from None
    _check_version(side, max_version)
    size = side * stride
    light = format(((1 << size) - 1) ^ dark, f"0{size}b").encode("ascii")[::-1]  # bit k at index k
    return side, [light[r * stride:r * stride + side] for r in range(side)]


def _zxing_symbol(payload: str) -> tuple[int, bytes]:
    """(modules per side, one byte per module: 0 dark, 255 light) as zxing-cpp encodes ``payload``."""
    try:
        # ASCII needs no ECI (every reader's default); other text is UTF-8 and says so (ECI 26),
        # or readers guess between Latin-1 and Shift_JIS and Chinese comes out garbled
        eci = {} if payload.isascii() else {"eci": 26}
        barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M", **eci)
        symbol = barcode.to_image(scale=1, add_quiet_zones=False)
        view = memoryview(symbol)  # type: ignore[arg-type]  # zxingcpp.Image has the buffer protocol
    except (ValueError, RuntimeError) as exc:  # zxing-cpp's "input too long for ECC level M"
        raise InvalidQRPayload(f"payload does not fit a QR code ({exc})", value=len(payload)) from None
    shape = view.shape or ()
    if len(shape) != 2 or shape[0] != shape[1]:
        raise InvalidQRPayload("the QR encoder returned no square symbol", value=shape)
    return shape[0], view.tobytes()


def _symbol(payload: str, max_version: int) -> tuple[int, bytes]:
    """(modules per side, one byte per module: 0 dark, 255 light) of the smallest symbol at level M."""
    side, rows = _light_rows(payload, max_version)
    return side, b"".join(rows).translate(_MODULE_BYTES)


def qr_version(payload: str) -> int:
    """The smallest QR version that holds ``payload`` at level M, encoded as :func:`qr_matrix` encodes it
    (alphanumeric text in one alphanumeric segment, as spec/qr.md budgets it)."""
    side, _ = _symbol(payload, MAX_VERSION)
    return (side - 17) // 4


def qr_matrix(payload: str, *, max_version: int = MAX_VERSION) -> tuple[tuple[bool, ...], ...]:
    """The symbol's modules, row by row, ``True`` for dark (no quiet zone)."""
    side, cells = _symbol(payload, max_version)
    return tuple(tuple(cell == 0 for cell in cells[r * side : (r + 1) * side]) for r in range(side))


def qr_image(payload: str, *, module_px: int = 8, max_version: int = MAX_VERSION) -> Image.Image:
    """A black-on-white greyscale image, ``module_px`` pixels a module, with the 4-module quiet zone."""
    side, cells = _symbol(payload, max_version)
    symbol = Image.frombytes("L", (side, side), cells)
    full = side + 2 * QUIET_ZONE
    img = Image.new("L", (full, full), 255)
    img.paste(symbol, (QUIET_ZONE, QUIET_ZONE))
    return img.resize((full * module_px, full * module_px), Image.Resampling.NEAREST)


def qr_png(payload: str, *, module_px: int = 8, max_version: int = MAX_VERSION) -> bytes:
    """The picture of :func:`qr_image` as a 1-bit PNG, written from the modules (no image library)."""
    if not isinstance(module_px, int) or not 1 <= module_px <= _MAX_MODULE_PX:
        raise InputError("pixels per module out of range", where="module_px", value=module_px,
                         expected=f"1 to {_MAX_MODULE_PX}")
    side, rows = _light_rows(payload, max_version)
    return bilevel_png((side + 2 * QUIET_ZONE) * module_px, _pixel_rows(side, rows, module_px))


_MAX_MODULE_PX = 64



@functools.lru_cache(maxsize=8)
def _spread(module_px: int) -> tuple[bytes, ...]:
    """Each byte of eight module bits as its ``8 * module_px`` pixel bits (``module_px`` bytes)."""
    table = []
    for value in range(256):
        bits = 0
        for i in range(7, -1, -1):
            bits = bits << module_px | ((1 << module_px) - 1 if value >> i & 1 else 0)
        table.append(bits.to_bytes(module_px, "big"))
    return tuple(table)


def _pixel_rows(side: int, rows: list[bytes], module_px: int) -> list[bytes]:
    """The packed 1-bit pixel rows (1 light) of the symbol with its quiet zone, ``module_px`` a module.

    Each module row (bit digits) is padded with the quiet zone to whole bytes, the rows are read as
    one integer, and each byte of it is spread to its pixels through a table: no loop over pixels."""
    full = side + 2 * QUIET_ZONE
    stride = (full * module_px + 7) // 8
    padded = -(-full // 8) * 8
    quiet, pad = b"1" * QUIET_ZONE, b"0" * (padded - full)
    digits = b"".join([quiet + row + quiet + pad for row in rows])
    spread = _spread(module_px).__getitem__
    wide = b"".join(map(spread, int(digits, 2).to_bytes(side * padded // 8, "big")))
    step = padded // 8 * module_px
    blank = b"".join(map(spread, int(b"1" * full + pad, 2).to_bytes(padded // 8, "big")))[:stride]
    margin = [blank] * (QUIET_ZONE * module_px)
    rows = [row for r in range(side) for row in (wide[r * step:r * step + stride],) * module_px]
    return margin + rows + margin


# Limits for pictures of a QR code sent by anyone (a phone photo, a screenshot, a webcam frame).
MAX_SCAN_BYTES = 10 * 1024 * 1024
MAX_SCAN_PIXELS = 40_000_000  # a 48-megapixel phone photo is refused; 40 MP is ~7300x5500
_SCAN_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "BMP", "GIF"})


def read_qr(data: bytes, *, where: str = "image") -> str:
    """The text of the one QR code in a picture's bytes, decoded by zxing-cpp (bounded: bytes, pixels).

    A picture that is not an image, too large, or holds no (or several different) QR codes raises an
    :class:`~ecert.errors.InputError` naming ``where``; :class:`InvalidQRPayload` when the picture is
    fine but no code can be read, so callers can tell "not a picture" from "no code in it".
    """
    from ecert.errors import InputError
    from ecert.face import IMAGE_ERRORS

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError("not image bytes", where=where, value=type(data).__name__, expected="bytes")
    if len(data) > MAX_SCAN_BYTES:
        raise InputError(
            "image too large", where=where, value=len(data), expected=f"<= {MAX_SCAN_BYTES} bytes"
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in _SCAN_FORMATS:
                raise InputError(
                    "unsupported image format",
                    where=where,
                    value=img.format,
                    expected="PNG, JPEG, WebP, BMP or GIF",
                )
            if img.width * img.height > MAX_SCAN_PIXELS:
                raise InputError(
                    "image has too many pixels", where=where, value=f"{img.width}x{img.height}",
                    expected=f"<= {MAX_SCAN_PIXELS} pixels",
                )
            img.load()
            # Plain: the text the code holds (the default spells a control character as "<NUL>"...)
            results = zxingcpp.read_barcodes(img.convert("L"), text_mode=zxingcpp.TextMode.Plain)
    except IMAGE_ERRORS as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot read image ({str(exc) or type(exc).__name__})", where=where) from None
    texts = [r.text for r in results if r.valid and r.format == zxingcpp.BarcodeFormat.QRCode]
    if not texts:
        raise InvalidQRPayload("no readable QR code found in the image", where=where)
    if len(set(texts)) > 1:
        raise InvalidQRPayload("the image holds several different QR codes", where=where)
    return str(texts[0])
