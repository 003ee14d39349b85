"""``ecert render -o face.pdf`` writes a vector PDF, checked with PDFium (pypdfium2), an independent
reader: the holder's name, the number and the identifier are text; the face font is embedded and
subsetted (read back through PDFium's font API and the PDF's own font dictionaries); PDFium's
drawing of the page matches the PNG face within a pixel-difference bound; the QR code decodes from
it; a file of several pages and another producer's OFD file come out page for page.
"""

from __future__ import annotations

import ctypes
import dataclasses
import re
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageFilter

from ecert.cli import main
from ecert.collect import CertificateDraft
from ecert.metadata import CoreMetadata
from ecert.ofd.reader import OFDPackage
from ecert.package import Issuer, package
from ecert.paint import render_ofd, render_ofd_pdf
from ecert.render import find_cjk_font

from .certs import SIGNED_AT, signer
from .test_qr_long_fields import max_draft
from .test_render_ofd import _draft, _photo, _seal
from .thirdparty import OFDRW

DPI = 150
# PDFium's anti-aliasing differs from FreeType-in-pillow's at glyph edges; after a slight blur the
# two pictures of the same page agree almost everywhere.  A missing seal, photo, QR code or line of
# text, or a page shifted by 1 mm, breaks these bounds (see the negative checks below).
MAX_MEAN_DIFF = 6.0  # of 255, mean absolute difference after the blur (dense small text: ~4)
MAX_DIFFERING = 0.002  # share of pixels differing by more than 64 after the blur


@pytest.fixture(scope="module")
def portrait() -> tuple[bytes, CertificateDraft]:
    draft = _draft("11100000000013338W001")
    return package(draft, Issuer(signer(), seal_image=_seal()), at=SIGNED_AT, photo=_photo()), draft


@pytest.fixture(scope="module")
def portrait_pdf(portrait: tuple[bytes, CertificateDraft]) -> bytes:
    return render_ofd_pdf(portrait[0])


def _pdfium_pages(pdf: bytes, dpi: float) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(doc))]
    finally:
        doc.close()


def _text(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def _difference(a: Image.Image, b: Image.Image) -> tuple[float, float]:
    b = b.resize(a.size, Image.Resampling.LANCZOS) if b.size != a.size else b
    blur = ImageFilter.GaussianBlur(1.5)
    diff = ImageChops.difference(a.convert("L").filter(blur), b.convert("L").filter(blur))
    counts = diff.histogram()  # 256 bins: the mean and the share above 64 without numpy
    pixels = sum(counts)
    return sum(i * n for i, n in enumerate(counts)) / pixels, sum(counts[65:]) / pixels


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_holder_number_and_identifier_are_text(
    portrait: tuple[bytes, CertificateDraft], portrait_pdf: bytes
) -> None:
    md: CoreMetadata = portrait[1].metadata
    (page,) = _text(portrait_pdf)
    flat = _squash(page)
    for value in (md.holder_name, md.number, str(md.identifier), md.issuer_name, md.certificate_name):
        assert _squash(value) in flat, value
    assert "1.2.156.3005.2." in page  # no spaces invented inside the identifier


def test_the_face_font_is_embedded_and_subsetted(portrait_pdf: bytes) -> None:
    doc = pdfium.PdfDocument(portrait_pdf)
    fonts: dict[str, int] = {}
    try:
        page = doc[0]
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT]):
            font = pdfium_c.FPDFTextObj_GetFont(obj.raw)
            assert pdfium_c.FPDFFont_GetIsEmbedded(font) == 1
            buf = ctypes.create_string_buffer(256)
            n = pdfium_c.FPDFFont_GetBaseFontName(font, buf, 256)
            size = ctypes.c_size_t(0)
            pdfium_c.FPDFFont_GetFontData(font, None, 0, ctypes.byref(size))
            fonts[buf.raw[: max(n - 1, 0)].decode()] = size.value
    finally:
        doc.close()
    assert fonts and all(re.fullmatch(r"[A-Z]{6}\+\S+", name) for name in fonts), fonts
    face_font = find_cjk_font()
    assert all(0 < size < face_font.stat().st_size / 100 for size in fonts.values()), fonts  # a subset
    # the font dictionaries themselves: Type0 / Identity-H over an embedded CID font with ToUnicode
    raw = portrait_pdf.decode("latin-1")
    assert raw.count("/Subtype /Type0") == len(fonts)
    assert "/Encoding /Identity-H" in raw and "/ToUnicode" in raw
    assert re.search(r"/FontFile[23] \d+ 0 R", raw)


def test_pdfium_draws_what_the_png_face_shows(
    portrait: tuple[bytes, CertificateDraft], portrait_pdf: bytes
) -> None:
    png = render_ofd(portrait[0], dpi=DPI)[0]
    (drawn,) = _pdfium_pages(portrait_pdf, DPI)
    assert abs(drawn.width - png.width) <= 1 and abs(drawn.height - png.height) <= 1
    mean, differing = _difference(png, drawn)
    assert mean < MAX_MEAN_DIFF and differing < MAX_DIFFERING, (mean, differing)
    # the bound is not loose: the same page without its images, or moved by 1 mm, is outside it
    shifted = Image.new("RGB", png.size, "white")
    shifted.paste(png, (round(DPI / 25.4), 0))
    mean, differing = _difference(png, shifted)
    assert differing > MAX_DIFFERING or mean > MAX_MEAN_DIFF
    from ecert.ofd.page import ImageItem, read_pages
    from ecert.pdf import vector_pdf
    from ecert.render import Fonts

    (view,) = read_pages(OFDPackage.open(portrait[0]))
    bare = dataclasses.replace(view, items=tuple(i for i in view.items if not isinstance(i, ImageItem)))
    (no_images,) = _pdfium_pages(vector_pdf([bare], Fonts(find_cjk_font())), DPI)
    mean, differing = _difference(png, no_images)
    assert differing > MAX_DIFFERING


def test_the_qr_code_decodes_from_the_pdf(portrait_pdf: bytes) -> None:
    (drawn,) = _pdfium_pages(portrait_pdf, 150)
    results = [r for r in zxingcpp.read_barcodes(drawn.convert("L")) if r.valid]
    assert results and results[0].text.startswith("EC2:")


@pytest.mark.slow
def test_several_pages_come_out_page_for_page() -> None:
    draft = max_draft("11100000MB0143028R001")  # 4,000 characters of 经营范围: continuation pages
    data = package(draft, Issuer(signer(), seal_image=_seal()), at=SIGNED_AT)
    pdf = render_ofd_pdf(data)
    pngs = render_ofd(data, dpi=100)
    drawn = _pdfium_pages(pdf, 100)
    assert len(drawn) == len(pngs) == len(OFDPackage.open(data).document().pages) > 1
    for png, page in zip(pngs, drawn, strict=True):
        mean, differing = _difference(png, page)
        assert mean < MAX_MEAN_DIFF and differing < MAX_DIFFERING, (mean, differing)
    scope = next(i.value for i in draft.item_texts() if i.name == "KZ_JYFW")  # 经营范围
    flat = _squash("".join(_text(pdf)))
    chunks = [_squash(scope)[i : i + 40] for i in range(0, len(scope), 40)]
    found = sum(chunk in flat for chunk in chunks)  # a chunk may straddle a page break
    assert found >= 0.9 * len(chunks), (found, len(chunks))


def test_another_producers_file(tmp_path: Path) -> None:
    data = (OFDRW / "helloworld.ofd").read_bytes()
    pdf = render_ofd_pdf(data)
    pngs = render_ofd(data, dpi=100)
    drawn = _pdfium_pages(pdf, 100)
    assert len(drawn) == len(pngs)
    for png, page in zip(pngs, drawn, strict=True):
        mean, differing = _difference(png, page)
        assert mean < MAX_MEAN_DIFF and differing < MAX_DIFFERING, (mean, differing)


def test_cli_render_writes_a_vector_pdf(
    portrait: tuple[bytes, CertificateDraft], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "cert.ofd"
    src.write_bytes(portrait[0])
    assert main(["render", str(src), "-o", str(tmp_path / "face.pdf")]) == 0
    pdf = (tmp_path / "face.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and capsys.readouterr().out.strip() == str(tmp_path / "face.pdf")
    assert _squash(portrait[1].metadata.holder_name) in _squash("".join(_text(pdf)))
    doc = pdfium.PdfDocument(pdf)
    try:
        kinds = {obj.type for obj in doc[0].get_objects()}
    finally:
        doc.close()
    assert {pdfium_c.FPDF_PAGEOBJ_TEXT, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_IMAGE} <= kinds
