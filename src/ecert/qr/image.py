"""QR symbols as images (qrcode + pillow), at error-correction level M.

Level M (15% recovery) is what phone scanning of a printed or on-screen certificate needs;
alphanumeric payloads (spec/qr.md) are encoded in alphanumeric mode automatically.
"""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError

from ecert.errors import InvalidQRPayload

__all__ = ["MAX_VERSION", "OFFLINE_MAX_VERSION", "qr_image", "qr_png", "qr_version"]

MAX_VERSION = 40
OFFLINE_MAX_VERSION = 15  # the size budget of offline payloads (spec/qr.md)


def _symbol(payload: str, max_version: int) -> qrcode.QRCode:  # type: ignore[type-arg]
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(payload, optimize=0)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError) as exc:
        raise InvalidQRPayload(f"payload does not fit a QR code ({exc})", value=len(payload)) from None
    if code.version > max_version:
        raise InvalidQRPayload(
            "payload too long for the QR budget",
            value=f"version {code.version}",
            expected=f"QR version <= {max_version} at level M (spec/qr.md)",
        )
    return code


def qr_version(payload: str) -> int:
    """The smallest QR version that holds ``payload`` at level M."""
    return int(_symbol(payload, MAX_VERSION).version)


def qr_image(payload: str, *, module_px: int = 8, max_version: int = MAX_VERSION) -> Image.Image:
    """A black-on-white image of the QR symbol, ``module_px`` pixels a module, 4-module quiet zone."""
    code = _symbol(payload, max_version)
    matrix = code.get_matrix()
    n = len(matrix)
    img = Image.new("1", (n, n), 1)
    img.putdata([0 if cell else 1 for row in matrix for cell in row])
    return img.resize((n * module_px, n * module_px), Image.Resampling.NEAREST).convert("L")


def qr_png(payload: str, *, module_px: int = 8, max_version: int = MAX_VERSION) -> bytes:
    buf = io.BytesIO()
    qr_image(payload, module_px=module_px, max_version=max_version).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
