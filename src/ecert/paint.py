"""Paint OFD pages (:mod:`ecert.ofd.page`) on pillow canvases: the certificate face as signed.

What is drawn is what the signed file's pages hold — text at the positions the file gives each
glyph, paths, images (the QR code, photo and seal ecert writes, or any producer's) and electronic
seal pictures — not a layout recomputed from the metadata.  Output is PNG (one image per page)
or a PDF of every page at the same resolution, 300 dpi by default for print.

Images the file holds in a format pillow cannot read (JBIG2 scans, say) are drawn as a grey box
with a cross, so a person sees that something is missing; a canvas is bounded in pixels.
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from ecert.errors import InputError, InvalidPackage, UnsafePackage
from ecert.face import IMAGE_ERRORS
from ecert.ofd.page import ImageItem, PageView, PathItem, TextItem, read_pages
from ecert.ofd.reader import OFDPackage
from ecert.render import Fonts, find_cjk_font

__all__ = [
    "MAX_CANVAS_PIXELS",
    "MAX_DOCUMENT_PIXELS",
    "PRINT_DPI",
    "draw_page",
    "pdf_bytes",
    "qr_payload_of",
    "render_file",
    "render_file_from",
    "render_ofd",
    "render_ofd_pdf",
    "write_beside",
]

PRINT_DPI = 300
MAX_CANVAS_PIXELS = 80_000_000  # A4 at 600 dpi is 35 Mpx
MAX_DOCUMENT_PIXELS = 200_000_000  # every page is held in memory (3 bytes a pixel): 23 A4 pages at 300 dpi
MAX_IMAGE_PIXELS = 25_000_000
_MISSING = (200, 200, 200)


def _check_dpi(dpi: object) -> float:
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise InputError(
            "resolution is not a number", where="dpi", value=type(dpi).__name__, expected="30..1200"
        )
    if not 30 <= dpi <= 1200:  # type: ignore[operator]  # numbers.Real compares; mypy's stub says not
        raise InputError("resolution out of range", where="dpi", value=dpi, expected="30..1200")
    return float(dpi)


def _package(data: bytes | OFDPackage) -> OFDPackage:
    return data if isinstance(data, OFDPackage) else OFDPackage.open(data)


def render_ofd(
    data: bytes | OFDPackage,
    *,
    dpi: float = PRINT_DPI,
    font: str | Path | None = None,
    stamps: bool = True,
) -> tuple[Image.Image, ...]:
    """Every page of an OFD file as an RGB image at ``dpi``, drawn from the page content as written.

    ``stamps`` draws the pictures of GB/T 38540 electronic seals over the pages they name.  This
    draws; it does not verify (use :func:`ecert.verify` for that).  Raises ``InvalidPackage`` /
    ``UnsafePackage`` for a malformed or hostile file, ``InputError`` for a bad ``dpi`` or a page too
    large for it, ``FontNotFound`` when no font can draw Chinese.

    :param data: the OFD file (bytes or an opened package).
    :param dpi: resolution, 30..1200 (300 for print).
    :param font: a font file able to draw Chinese (default: :func:`ecert.render.find_cjk_font`).
    :param stamps: draw the pictures of the file's electronic seals.
    :returns: one RGB image per page.
    :raises InvalidPackage: for a malformed file (:class:`~ecert.errors.UnsafePackage` for a hostile one).
    :raises InputError: for a bad ``dpi`` or a page too large to draw at it.
    :raises FontNotFound: when no font can draw Chinese.
    """
    scale = _check_dpi(dpi) / 25.4
    pages = read_pages(_package(data), stamps=stamps)
    for page in pages:
        _check_canvas(page, scale)
    pixels = sum(round(p.width * scale) * round(p.height * scale) for p in pages)
    if pixels > MAX_DOCUMENT_PIXELS:
        raise InputError(
            "too many pages to draw at this resolution",
            where=f"{len(pages)} pages",
            value=f"{pixels} pixels",
            expected=f"at most {MAX_DOCUMENT_PIXELS} pixels in all (lower the dpi)",
        )
    fonts = Fonts(find_cjk_font(font))
    return tuple(draw_page(page, scale=scale, fonts=fonts) for page in pages)


def render_ofd_pdf(
    data: bytes | OFDPackage, *, dpi: float = PRINT_DPI, font: str | Path | None = None, stamps: bool = True
) -> bytes:
    """Every page of the OFD file in one **vector** PDF, each page sized as the OFD page.

    Text stays text (selectable, searchable, in the face font, embedded and subsetted), paths stay
    paths, the QR code, photo and seal are lossless images (:mod:`ecert.pdf`).

    :param data: the OFD file (bytes or an opened package).
    :param dpi: checked as for the PNG face (30..1200); a vector page has no resolution of its own.
    :param font: a font file able to draw Chinese (default: :func:`ecert.render.find_cjk_font`).
    :param stamps: draw the pictures of the file's electronic seals over their pages.
    :returns: the PDF file's bytes.
    :raises InvalidPackage: for a malformed file (``UnsafePackage`` for a hostile one).
    :raises InputError: for a bad ``dpi``.
    :raises FontNotFound: when no font can draw Chinese.
    """
    from ecert.pdf import vector_pdf

    _check_dpi(dpi)
    pages = read_pages(_package(data), stamps=stamps)
    return vector_pdf(pages, Fonts(find_cjk_font(font)))


def pdf_bytes(images: Sequence[Image.Image], *, dpi: float) -> bytes:
    """Raster pages as one PDF whose page size is the image size at ``dpi`` (so mm stay mm).

    :func:`render_ofd_pdf` writes the vector PDF; this wraps pictures already drawn.
    """
    buf = io.BytesIO()
    first, *rest = images
    first.save(buf, format="PDF", save_all=True, append_images=rest, resolution=float(dpi))
    return buf.getvalue()


def _check_canvas(page: PageView, scale: float) -> tuple[int, int]:
    size = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
    if size[0] * size[1] > MAX_CANVAS_PIXELS:
        raise InputError(
            "page too large to draw at this resolution",
            where=f"page {page.id}",
            value=f"{page.width:g} x {page.height:g} mm",
            expected=f"at most {MAX_CANVAS_PIXELS} pixels (lower the dpi)",
        )
    return size


def draw_page(page: PageView, *, scale: float, fonts: Fonts) -> Image.Image:
    """One page on a white canvas; ``scale`` is pixels per millimetre."""
    size = _check_canvas(page, scale)
    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    for item in page.items:
        if isinstance(item, TextItem):
            _text(canvas, draw, fonts, item, scale)
        elif isinstance(item, PathItem):
            _path(draw, item, scale)
        else:
            _image(canvas, draw, item, scale)
    return canvas


def _text(canvas: Image.Image, draw: ImageDraw.ImageDraw, fonts: Fonts, item: TextItem, scale: float) -> None:
    height = canvas.height
    pixels = round(item.size * scale)
    if item.fill[3] == 0 or pixels < 1 or pixels > 2 * height:  # invisible, or bigger than the page
        return
    font = fonts.get(item.bold, pixels)
    if item.angle == 0 and item.fill[3] == 255:
        for g in item.glyphs:
            draw.text((g.x * scale, g.y * scale), g.char, fill=item.fill[:3], font=font, anchor="ls")
        return
    # turned or translucent text (a watermark): each glyph drawn on its own layer, turned about its
    # origin and blended in
    c = 2 * pixels
    for g in item.glyphs:
        layer = Image.new("RGBA", (2 * c, 2 * c), (0, 0, 0, 0))
        ImageDraw.Draw(layer).text((c, c), g.char, fill=item.fill, font=font, anchor="ls")
        if item.angle:
            layer = layer.rotate(-item.angle, resample=Image.Resampling.BICUBIC, center=(c, c))
        canvas.paste(layer, (round(g.x * scale) - c, round(g.y * scale) - c), layer)


def _path(draw: ImageDraw.ImageDraw, item: PathItem, scale: float) -> None:
    width = max(1, round(item.line_width * scale))
    for points, closed in item.subpaths:
        xy = [(x * scale, y * scale) for x, y in points]
        if item.fill is not None and item.fill[3] > 0 and len(xy) > 2:
            draw.polygon(xy, fill=item.fill[:3])
        if item.stroke is not None and item.stroke[3] > 0:
            draw.line([*xy, xy[0]] if closed else xy, fill=item.stroke[:3], width=width, joint="curve")


def _decode(item: ImageItem) -> Image.Image | None:
    """The picture, or None when pillow cannot read it (an unknown format, a damaged file)."""
    try:
        img = Image.open(io.BytesIO(item.data))
        if img.width * img.height > MAX_IMAGE_PIXELS:
            return None
        img.load()
    except IMAGE_ERRORS:
        return None
    return img


def _image(canvas: Image.Image, draw: ImageDraw.ImageDraw, item: ImageItem, scale: float) -> None:
    x, y, w, h = item.box
    left, top = round(x * scale), round(y * scale)
    right, bottom = round((x + w) * scale), round((y + h) * scale)
    if right <= left or bottom <= top or (right - left) * (bottom - top) > 4 * canvas.width * canvas.height:
        return
    img = _decode(item)
    if img is None:
        draw.rectangle((left, top, right, bottom), outline=_MISSING, width=2)
        draw.line((left, top, right, bottom), fill=_MISSING, width=2)
        draw.line((left, bottom, right, top), fill=_MISSING, width=2)
        return
    m = item.matrix
    if m[0] < 0:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if m[3] < 0:
        img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    # a QR code or other 1-bit picture keeps hard module edges
    resample = Image.Resampling.NEAREST if img.mode in ("1", "P", "L") else Image.Resampling.LANCZOS
    fitted = img.convert("RGBA").resize((right - left, bottom - top), resample)
    canvas.paste(fitted, (left, top), fitted)


def render_file(
    path: Path, out: Path, *, dpi: float = PRINT_DPI, font: str | Path | None = None
) -> tuple[Path, ...]:
    """Draw the OFD file at ``path`` to ``out`` (see :func:`render_file_from`).

    :param path: the OFD file.
    :param out: where to write: ``.png`` (page 1; more pages beside it) or ``.pdf`` (every page, vector).
    :param dpi: resolution of a PNG (30..1200).
    :param font: a font file able to draw Chinese.
    :returns: the paths written.
    :raises InputError: for a file that cannot be read or is no OFD file, or an unknown format.
    :raises FontNotFound: when no font can draw Chinese.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", where=str(path)) from None
    try:
        pkg = OFDPackage.open(data)
    except (InvalidPackage, UnsafePackage) as exc:  # the reader says "at package": name the file
        raise InputError(f"not a readable certificate file ({exc})", where=str(path)) from None
    return render_file_from(pkg, out, dpi=dpi, font=font)


def render_file_from(
    data: bytes | OFDPackage, out: Path, *, dpi: float = PRINT_DPI, font: str | Path | None = None
) -> tuple[Path, ...]:
    """Draw an OFD file to ``out``: ``.pdf`` writes every page into one PDF; ``.png`` writes page 1
    there and any further page beside it as ``<stem>-<n>.png``.  Returns the paths written."""
    kind = out.suffix.lower()
    if kind not in (".png", ".pdf"):
        raise InputError(
            "unknown output format", where=str(out), value=out.suffix or "(none)", expected=".png or .pdf"
        )
    if kind == ".pdf":
        pdf = render_ofd_pdf(data, dpi=dpi, font=font)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pdf)
        return (out,)
    images = render_ofd(data, dpi=dpi, font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for n, img in enumerate(images, start=1):
        target = out if n == 1 else out.with_name(f"{out.stem}-{n}{out.suffix}")
        img.save(target, format="PNG", dpi=(dpi, dpi))
        written.append(target)
    return tuple(written)


def qr_payload_of(data: bytes | OFDPackage) -> str | None:
    """The text of the QR code the first page shows (read from its image with zxing-cpp), or None."""
    import zxingcpp

    page = read_pages(_package(data), stamps=False)[0]
    for item in page.items:
        if isinstance(item, ImageItem):
            img = _decode(item)
            if img is None:
                continue
            for result in zxingcpp.read_barcodes(img.convert("L"), text_mode=zxingcpp.TextMode.Plain):
                if result.valid and result.format == zxingcpp.BarcodeFormat.QRCode:
                    return str(result.text)
    return None


def write_beside(
    path: Path,
    data: bytes | None = None,
    *,
    face: str | None = "png",
    qr: bool = False,
    dpi: float = PRINT_DPI,
    font: str | Path | None = None,
) -> tuple[Path, ...]:
    """Write the face (``<stem>.face.png`` or ``.face.pdf``) and/or the QR code the face shows
    (``<stem>.qr.png``) beside the certificate file ``path``; returns the paths written.

    ``data`` is the file's bytes when the caller has them (no second read).  A face without a QR
    code asked for with ``qr`` is an ``InputError`` (the certificate was issued without one).

    :param path: the certificate file the face and QR image go beside.
    :param data: its bytes, when the caller has them.
    :param face: ``"png"``, ``"pdf"`` or ``None`` (no face).
    :param qr: also write the QR image the face shows.
    :param dpi: resolution of a PNG face.
    :param font: a font file able to draw Chinese.
    :returns: the paths written.
    :raises InputError: for an unknown face format, or ``qr`` for a certificate without a QR code.
    :raises InvalidPackage: for a file that is not a readable OFD file.
    """
    if face not in (None, "png", "pdf"):
        raise InputError("unknown face format", where="face", value=face, expected="png or pdf")
    if data is None:
        data = path.read_bytes()
    pkg = _package(data)
    written: list[Path] = []
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    if face is not None:
        written += render_file_from(pkg, path.with_name(f"{stem}.face.{face}"), dpi=dpi, font=font)
    if qr:
        from ecert.qr.image import qr_png

        payload = qr_payload_of(pkg)
        if payload is None:
            raise InputError("the certificate's page shows no QR code", where=str(path))
        target = path.with_name(f"{stem}.qr.png")
        target.write_bytes(qr_png(payload))
        written.append(target)
    return tuple(written)
