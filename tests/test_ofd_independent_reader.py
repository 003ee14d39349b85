"""Our certificates in an independent OFD reader: easyofd draws the page where our layout says.

easyofd (PyPI) parses the OFD XML with its own code and draws it through reportlab and PyMuPDF;
``scripts/render_with_easyofd.py`` wraps it (docs/ofd-reader-check.md).  A freshly issued
certificate is drawn and the picture is checked against :func:`ecert.face.face_layout`, the
geometry the package was written from:

* the page has the layout's size and is not blank;
* every CJK character of every text object (title, labels, values, issuer, date) has ink in
  its own em cell, so text is drawn, in a font that has the glyphs, at the advance the layout
  gave it (text whose characters all land on one point fails here);
* no ink lies outside the boxes of the layout (nothing drawn somewhere else);
* the border rules are drawn, and the QR code decodes to the payload of the file's QR image.

The reader is used in this process when ``easyofd`` is importable, otherwise through the Python
of a separate virtual environment named by ``$ECERT_EASYOFD_PYTHON``; without either the tests
are skipped.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from ecert.collect import CertificateDraft, collect
from ecert.face import face_layout
from ecert.layout import FaceLayout, TextBox, char_em, text_width
from ecert.metadata import Authority
from ecert.ofd.reader import OFDPackage
from ecert.package import Issuer, package

from .certs import DEPARTMENT_CODE, RECORDS, SIGNED_AT, signer

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "render_with_easyofd.py"
DPI = 150
PX_PER_MM = DPI / 25.4
DARK = 128  # grey level below which a pixel counts as ink


def _in_process() -> bool:
    return importlib.util.find_spec("easyofd") is not None and importlib.util.find_spec("pymupdf") is not None


def _venv_python() -> str | None:
    python = os.environ.get("ECERT_EASYOFD_PYTHON")
    return python if python and os.access(python, os.X_OK) else None


pytestmark = pytest.mark.skipif(
    not _in_process() and _venv_python() is None,
    reason="independent OFD reader not available: easyofd is not importable here "
    "(pip install easyofd, or set ECERT_EASYOFD_PYTHON to the python of a venv that has it)",
)


def _load_script() -> Callable[[bytes, int], bytes]:
    spec = importlib.util.spec_from_file_location("render_with_easyofd", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    render_png: Callable[[bytes, int], bytes] = module.render_png
    return render_png


def render(ofd: bytes, tmp_path: Path) -> Image.Image:
    """Page 1 of ``ofd`` as drawn by easyofd, in greyscale at :data:`DPI`."""
    if _in_process():
        png = _load_script()(ofd, DPI)
    else:
        python = _venv_python()
        assert python is not None
        src, out = tmp_path / "in.ofd", tmp_path / "easyofd.png"
        src.write_bytes(ofd)
        done = subprocess.run(
            [python, str(SCRIPT), str(src), "-o", str(out), "--dpi", str(DPI)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"easyofd failed: {done.stderr[-2000:]}"
        png = out.read_bytes()
    img = Image.open(io.BytesIO(png))
    img.load()
    (tmp_path / "easyofd-page1.png").write_bytes(png)  # kept for a person to look at when a test fails
    return img.convert("L")


def _draft(type_code: str) -> CertificateDraft:
    record = json.loads((RECORDS / f"{type_code}.json").read_text(encoding="utf-8-sig"))
    return collect(
        record,
        type_code,
        issuer=Authority(name="示例市市场监督管理局", code=DEPARTMENT_CODE),
        today=SIGNED_AT.date(),
    )


class Page:
    """Ink queries on the rendered page in millimetres."""

    def __init__(self, img: Image.Image, layout: FaceLayout) -> None:
        self.img = img
        self.sx = img.width / layout.width
        self.sy = img.height / layout.height

    def ink(self, x: float, y: float, w: float, h: float) -> float:
        """Fraction of dark pixels in the box (mm)."""
        x0, y0 = max(0, round(x * self.sx)), max(0, round(y * self.sy))
        x1, y1 = min(self.img.width, round((x + w) * self.sx)), min(self.img.height, round((y + h) * self.sy))
        if x1 <= x0 or y1 <= y0:
            return 0.0
        hist = self.img.crop((x0, y0, x1, y1)).histogram()
        return sum(hist[:DARK]) / ((x1 - x0) * (y1 - y0))


def _start_x(text: TextBox) -> float:
    """Where the first character starts: the alignment package.py applies within the box."""
    offset = max(0.0, text.width - text_width(text.text, text.size))
    return text.x + {"left": 0.0, "center": offset / 2, "right": offset}[text.align]


def _cjk_cells(text: TextBox) -> list[tuple[str, float, float, float, float]]:
    """(character, x, y, w, h) of each CJK character's em cell, a little inset, in mm."""
    cells = []
    x = _start_x(text)
    for ch in text.text:
        em = char_em(ch) * text.size  # the advance the layout gives the character
        if unicodedata.category(ch) == "Lo" and unicodedata.east_asian_width(ch) == "W":  # ideographs
            inset = 0.15 * text.size
            cells.append(
                (ch, x + inset, text.baseline - text.size + inset, em - 2 * inset, text.size - inset)
            )
        x += em
    return cells


ISSUED: dict[str, tuple[bytes, FaceLayout]] = {}


def issued(type_code: str) -> tuple[bytes, FaceLayout]:
    if type_code not in ISSUED:
        draft = _draft(type_code)
        ISSUED[type_code] = (package(draft, Issuer(signer()), at=SIGNED_AT), face_layout(draft, qr=True))
    return ISSUED[type_code]


# a portrait type (二级建造师) and the landscape one (营业执照, with a subtitle)
TYPES = ["11100000000013338W001", "11100000MB0143028R001"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, FaceLayout, Page]]:
    out = {}
    for code in TYPES:
        ofd, layout = issued(code)
        img = render(ofd, tmp_path_factory.mktemp(f"easyofd-{code}"))
        out[code] = (ofd, layout, Page(img, layout))
    return out


@pytest.mark.parametrize("code", TYPES)
def test_page_has_the_layout_size_and_is_not_blank(
    rendered: dict[str, tuple[bytes, FaceLayout, Page]], code: str
) -> None:
    _, layout, page = rendered[code]
    assert page.img.width == pytest.approx(layout.width * PX_PER_MM, abs=3)
    assert page.img.height == pytest.approx(layout.height * PX_PER_MM, abs=3)
    assert 0.005 < page.ink(0, 0, layout.width, layout.height) < 0.5


@pytest.mark.parametrize("code", TYPES)
def test_title_is_drawn_where_the_layout_puts_it(
    rendered: dict[str, tuple[bytes, FaceLayout, Page]], code: str
) -> None:
    _, layout, page = rendered[code]
    (title,) = layout.text_for("title")
    assert page.ink(title.x, title.y, title.width, title.height) > 0.05
    blank = [ch for ch, *cell in _cjk_cells(title) if page.ink(*cell) < 0.04]
    assert not blank, f"title characters without ink in their own cell: {''.join(blank)} ({title.text})"


@pytest.mark.parametrize("code", TYPES)
def test_every_chinese_character_has_ink_in_its_cell(
    rendered: dict[str, tuple[bytes, FaceLayout, Page]], code: str
) -> None:
    _, layout, page = rendered[code]
    missing = []
    for text in layout.texts:
        blank = "".join(ch for ch, *cell in _cjk_cells(text) if page.ink(*cell) < 0.03)
        if blank:
            missing.append(f"{text.key} {text.text!r}: {blank}")
    assert not missing, "characters drawn elsewhere or not at all:\n" + "\n".join(missing)


@pytest.mark.parametrize("code", TYPES)
def test_no_ink_outside_the_layout(rendered: dict[str, tuple[bytes, FaceLayout, Page]], code: str) -> None:
    """Everything drawn lies on a box of the layout: no text or image lands somewhere else."""
    _, layout, page = rendered[code]
    allowed = Image.new("L", page.img.size, 0)
    draw = ImageDraw.Draw(allowed)

    def allow(x: float, y: float, w: float, h: float, pad: float) -> None:
        draw.rectangle(
            (
                round((x - pad) * page.sx),
                round((y - pad) * page.sy),
                round((x + w + pad) * page.sx),
                round((y + h + pad) * page.sy),
            ),
            fill=255,
        )

    for text in layout.texts:
        allow(text.x, text.y, text.width, text.height, 1.5)
    for box in layout.images:
        allow(box.x, box.y, box.width, box.height, 1.0)
    for rule in layout.rules:
        pad = rule.line_width / 2 + 0.8
        allow(rule.x, rule.y, rule.width, 0, pad)
        allow(rule.x, rule.y + rule.height, rule.width, 0, pad)
        allow(rule.x, rule.y, 0, rule.height, pad)
        allow(rule.x + rule.width, rule.y, 0, rule.height, pad)
    dark = page.img.point(lambda v: 255 if v < DARK else 0)
    stray = ImageChops.subtract(dark, allowed).histogram()[255]
    total = dark.histogram()[255]
    assert total > 0
    assert stray / total < 0.005, f"{stray} of {total} dark pixels lie outside every layout box"


@pytest.mark.parametrize("code", TYPES)
def test_border_rules_are_drawn(rendered: dict[str, tuple[bytes, FaceLayout, Page]], code: str) -> None:
    _, layout, page = rendered[code]
    for rule in layout.rules:
        half = max(rule.line_width, 0.4) / 2 + 0.3
        for y in (rule.y, rule.y + rule.height):
            assert page.ink(rule.x + 5, y - half, rule.width - 10, 2 * half) > 0.3, rule
        for x in (rule.x, rule.x + rule.width):
            assert page.ink(x - half, rule.y + 5, 2 * half, rule.height - 10) > 0.3, rule


@pytest.mark.parametrize("code", TYPES)
def test_qr_code_decodes_to_the_files_payload(
    rendered: dict[str, tuple[bytes, FaceLayout, Page]], code: str
) -> None:
    import zxingcpp

    ofd, layout, page = rendered[code]
    box = layout.image("qr")
    assert box is not None
    margin = 3.0
    crop = page.img.crop(
        (
            round((box.x - margin) * page.sx),
            round((box.y - margin) * page.sy),
            round((box.x + box.width + margin) * page.sx),
            round((box.y + box.height + margin) * page.sy),
        )
    )
    pkg = OFDPackage.open(ofd)
    (resource,) = [n for n in pkg.names() if n.endswith(".png") and "/Res/" in n]
    expected = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(pkg.read(resource))))]
    seen = [r.text for r in zxingcpp.read_barcodes(crop)]
    assert expected and seen == expected


def test_render_script_refuses_a_non_ofd(tmp_path: Path) -> None:
    """The script reports easyofd's failure with exit code 1 rather than writing a picture."""
    python = _venv_python() or sys.executable
    bad = tmp_path / "bad.ofd"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    done = subprocess.run(
        [python, str(SCRIPT), str(bad), "-o", str(tmp_path / "bad.png")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert not (tmp_path / "bad.png").exists()
