"""PNG bytes of a Pillow image, loading only Pillow's PNG plugin.

``image.save(buffer, format="PNG")`` makes Pillow import its five "preinit" plugins first (BMP, GIF,
JPEG, PPM and PNG: about a third of the first ``package()`` call's one-off imports).  Given no format,
Pillow (since 11.1) imports only the plugin of the file name's extension, so the buffer here carries a
name ending in ``.png``; an older Pillow loads all five and writes the same bytes.  Layer 0: no ecert
imports; Pillow itself is imported on first use.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["png_bytes"]


class _PngBuffer(io.BytesIO):
    name = "image.png"  # Pillow chooses the format (and the one plugin to import) by this extension


def png_bytes(image: Image.Image, *, optimize: bool = False) -> bytes:
    """The PNG encoding of ``image`` (the same bytes as ``image.save(buf, format="PNG")``)."""
    buf = _PngBuffer()
    image.save(buf, optimize=optimize)
    return buf.getvalue()
