"""The certificate face as a PNG-ready image (pillow), drawn from :mod:`ecert.layout`.

The OFD page and this image come from the same :class:`~ecert.layout.FaceLayout`, so a
preview shows what an OFD reader shows.  Chinese text needs a CJK font: one is looked for
in ``$ECERT_FONT``, in the usual places of Debian/Ubuntu (fonts-noto-cjk, WenQuanYi),
macOS and Windows, then through ``fc-list``; without one, :class:`FontNotFound` says how
to install one instead of drawing empty boxes.
"""

from __future__ import annotations

import functools
import numbers
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

from ecert._callable import make_callable
from ecert.errors import FontNotFound, InputError
from ecert.layout import FaceLayout, ImageKind, TextBox

if TYPE_CHECKING:
    from ecert.collect import CertificateDraft

__all__ = ["Fonts", "find_cjk_font", "render", "render_layout"]

_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
_BOLD_SIBLINGS = (("Regular", "Bold"), ("-Regular", "-Bold"))
_PROBE = "证照"
_INSTALL_HINT = (
    "install a CJK font (Debian/Ubuntu: apt-get install fonts-noto-cjk) "
    "or pass its path (font=... / --font / $ECERT_FONT)"
)


def _draws_cjk(path: Path) -> bool:
    """True when the font at ``path`` has real glyphs for Chinese (not .notdef boxes)."""
    try:
        font = ImageFont.truetype(str(path), 32)
    except OSError:
        return False
    # a font without these glyphs draws the same .notdef box for both characters
    first, second = (font.getmask(ch) for ch in _PROBE)
    if first.getbbox() is None:
        return False
    return bytes(first) != bytes(second) or first.size != second.size


def find_cjk_font(path: str | os.PathLike[str] | None = None) -> Path:
    """The path of a font that can draw Chinese; ``path`` (or ``$ECERT_FONT``) wins when given.

    ``path`` is type-checked before the cached search: anything but a str or path is an
    ``InputError`` (an unhashable argument would otherwise fail inside ``lru_cache``).

    :param path: a font file to use, or ``None`` to search.
    :returns: the font file.
    :raises InputError: for ``path`` of the wrong type.
    :raises FontNotFound: when the given font cannot draw Chinese, or none is found (says how to install one).
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise InputError("not a font path", where="font", value=type(path).__name__, expected="str or Path")
    text = None if path is None else os.fspath(path)
    if not isinstance(text, (str, type(None))):  # a PathLike giving bytes
        raise InputError("not a font path", where="font", value=type(text).__name__, expected="str or Path")
    return _find_cjk_font(text)


@functools.lru_cache(maxsize=8)
def _find_cjk_font(path: str | None) -> Path:
    """:func:`find_cjk_font` once its argument is a str (searching the disk once per path)."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FontNotFound(f"font file {path!r} does not exist")
        if not _draws_cjk(p):
            raise FontNotFound(f"font {path!r} cannot draw Chinese text; {_INSTALL_HINT}")
        return p
    env = os.environ.get("ECERT_FONT")
    if env:
        return _find_cjk_font(env)
    for candidate in _CANDIDATES:
        p = Path(candidate)
        if p.is_file() and _draws_cjk(p):
            return p
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            out = subprocess.run(
                [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in sorted(out.splitlines()):
            p = Path(line.split(":", 1)[0].strip())
            if p.is_file() and _draws_cjk(p):
                return p
    raise FontNotFound(f"no font able to draw Chinese text was found; {_INSTALL_HINT}")


def _bold_variant(regular: Path) -> Path:
    for old, new in _BOLD_SIBLINGS:
        if old in regular.name:
            bold = regular.with_name(regular.name.replace(old, new))
            if bold.is_file():
                return bold
    return regular


class Fonts:
    """Truetype fonts by (bold, pixel size), loaded once each."""

    def __init__(self, regular: Path) -> None:
        self._paths = {False: regular, True: _bold_variant(regular)}
        self._cache: dict[tuple[bool, int], ImageFont.FreeTypeFont] = {}

    def path(self, bold: bool) -> Path:
        """The font file drawing regular (or bold) text: what a PDF face embeds.

        :param bold: the bold face (its ``-Bold`` sibling file when there is one).
        :returns: the font file.
        """
        return self._paths[bold]

    def get(self, bold: bool, pixels: int) -> ImageFont.FreeTypeFont:
        """The face font at a pixel size, loaded once (a face draws ~700 characters in a few sizes).

        :param bold: the bold face.
        :param pixels: the em size in pixels.
        :returns: the loaded font, cached.
        """
        key = (bold, max(pixels, 4))
        font = self._cache.get(key)
        if font is None:
            font = ImageFont.truetype(str(self._paths[bold]), key[1])
            self._cache[key] = font
        return font


def render_layout(
    layout: FaceLayout,
    *,
    images: Mapping[ImageKind, Image.Image] | None = None,
    dpi: int = 150,
    font: str | Path | None = None,
) -> Image.Image:
    """Draw ``layout`` on a white RGB canvas at ``dpi``; ``images`` fill the QR/photo/seal boxes.

    ``dpi`` must be a real number (checked first: a str such as "150" would fail comparing).

    :param layout: the face layout (:mod:`ecert.layout`).
    :param images: the QR code, photo and seal pictures by box kind.
    :param dpi: resolution (30..1200).
    :param font: a font file able to draw Chinese.
    :returns: the drawn page.
    :raises InputError: for a bad ``dpi``.
    :raises FontNotFound: when no font can draw Chinese.
    """
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise InputError(
            "resolution is not a number", where="dpi", value=type(dpi).__name__, expected="30..1200"
        )
    if not 30 <= dpi <= 1200:
        raise InputError("resolution out of range", where="dpi", value=dpi, expected="30..1200")
    fonts = Fonts(find_cjk_font(font))
    scale = dpi / 25.4
    canvas = Image.new("RGB", (round(layout.width * scale), round(layout.height * scale)), "white")
    draw = ImageDraw.Draw(canvas)

    def px(v: float) -> int:
        return round(v * scale)

    for rule in layout.rules:
        box = (px(rule.x), px(rule.y), px(rule.x + rule.width), px(rule.y + rule.height))
        width = max(1, px(rule.line_width))
        if rule.rectangle:
            draw.rectangle(box, outline=rule.colour, width=width)
        else:
            draw.line(box, fill=rule.colour, width=width)
    for kind, img in (images or {}).items():
        slot = layout.image(kind)
        if slot is None:
            continue
        size = (max(1, px(slot.width)), max(1, px(slot.height)))
        resample = Image.Resampling.NEAREST if kind == "qr" else Image.Resampling.LANCZOS
        fitted = img.convert("RGBA").resize(size, resample)
        canvas.paste(fitted, (px(slot.x), px(slot.y)), fitted)
    for text in layout.texts:
        _draw_text(draw, fonts, text, px)
    return canvas


def _draw_text(draw: ImageDraw.ImageDraw, fonts: Fonts, text: TextBox, px: Callable[[float], int]) -> None:
    f = fonts.get(text.bold, px(text.size))
    width = draw.textlength(text.text, font=f)
    x = px(text.x)
    if text.align == "center":
        x = px(text.x + text.width / 2) - round(width / 2)
    elif text.align == "right":
        x = px(text.x + text.width) - round(width)
    # OFD places text on its baseline (TextCode/@Y); so does this drawing
    draw.text((x, px(text.baseline)), text.text, fill=(0, 0, 0), font=f, anchor="ls")


def render(
    draft: CertificateDraft,
    *,
    dpi: int = 150,
    font: str | Path | None = None,
    qr_payload: str | None = None,
    photo: bytes | None = None,
    seal: bytes | None = None,
) -> Image.Image:
    """The face of ``draft`` as an image: the page :func:`ecert.package.package` writes, drawn as
    ``ecert render`` draws a signed file (:func:`ecert.paint.render_ofd`), before it is signed.

    :param draft: the collected certificate.
    :param dpi: resolution (30..1200).
    :param font: a font file able to draw Chinese.
    :param qr_payload: the QR code's text, when the face shows one.
    :param photo: the holder's photo (image bytes), for types that show one.
    :param seal: the department's seal picture (image bytes).
    :returns: the face as an RGB image.
    :raises InputError: for a bad ``dpi``.
    :raises FontNotFound: when no font can draw Chinese.
    """
    from ecert.package import build_unsigned
    from ecert.paint import render_ofd

    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise InputError(
            "resolution is not a number", where="dpi", value=type(dpi).__name__, expected="30..1200"
        )
    data = build_unsigned(draft, qr_payload=qr_payload, photo=photo, seal_image=seal)
    return render_ofd(data, dpi=dpi, font=font)[0]


# ``ecert.render(...)`` calls render() whether ``ecert.render`` was reached as the module or the function.
make_callable(__name__, render)
