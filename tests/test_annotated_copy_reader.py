"""An annotated copy in an independent OFD reader: easyofd draws the watermark over the face, and the
face stays legible under it.

The copy and its original are drawn by easyofd (``scripts/render_with_easyofd.py``, as in
tests/test_ofd_independent_reader.py) and the two pictures compared pixel by pixel:

* every mark of the original's face is still there in the copy (nothing hidden or moved);
* the copy adds ink, and that ink lies in the watermark columns the annotation files name, each
  column inked (the reader drew every annotation, rotated into its box);
* the watermark crosses the face text, yet covers little of any character: almost every character
  cell of the face (taken from the original's page XML) keeps at most a fifth of its area under new ink.

easyofd ignores the annotation's colour and alpha (it draws black), so this is the hardest case for
legibility; readers that honour ``Alpha`` draw a translucent red.
"""

from __future__ import annotations

import pytest
from lxml import etree
from PIL import Image, ImageChops

from ecert.ofd.namespaces import q
from ecert.ofd.reader import OFDPackage

from .certs import issued_file
from .copies import copy_of_demo, copy_of_licence, entry, licence_file
from .test_ofd_independent_reader import DARK, DPI, pytestmark, render

__all__ = ["pytestmark"]  # the same skip as the reader test: easyofd must be importable

PX_PER_MM = DPI / 25.4
PAGE = "Doc_0/Pages/Page_0/Content.xml"


def _mask(img: Image.Image) -> Image.Image:
    return img.point(lambda v: 255 if v < DARK else 0, mode="L")


def _count(mask: Image.Image, box: tuple[float, float, float, float] | None = None) -> int:
    if box is not None:
        x, y, w, h = box
        mask = mask.crop(
            (
                round(x * PX_PER_MM),
                round(y * PX_PER_MM),
                round((x + w) * PX_PER_MM),
                round((y + h) * PX_PER_MM),
            )
        )
    return mask.histogram()[255]


def _boxes(xml: bytes, local: str) -> list[tuple[float, float, float, float]]:
    root = etree.fromstring(xml)
    return [tuple(float(v) for v in el.get("Boundary", "").split()) for el in root.iter(q(local))]  # type: ignore[misc]


def _face_cells(content: bytes) -> list[tuple[float, float, float, float]]:
    """The em cell of every CJK character the original's page draws, from its TextObjects."""
    cells = []
    for obj in etree.fromstring(content).iter(q("TextObject")):
        x0, y0, _, _ = (float(v) for v in obj.get("Boundary", "").split())
        size = float(obj.get("Size", "0"))
        code = obj.find(q("TextCode"))
        assert code is not None and code.text
        deltas = [float(d) for d in (code.get("DeltaX") or "").split()]
        x = x0 + float(code.get("X", "0"))
        baseline = y0 + float(code.get("Y", "0"))
        for i, ch in enumerate(code.text):
            if "\u4e00" <= ch <= "\u9fff":
                cells.append((x + 0.1 * size, baseline - 0.9 * size, 0.8 * size, 0.8 * size))
            x += deltas[i] if i < len(deltas) else size
    return cells


CASES = {  # a portrait certificate, and a landscape one with a QR code the watermark must pass by
    "portrait": (issued_file, lambda: copy_of_demo().data),
    "landscape": (licence_file, lambda: copy_of_licence().data),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    original, copy = CASES[request.param]
    return original(), copy()


@pytest.fixture(scope="module")
def pictures(
    case: tuple[bytes, bytes], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Image.Image, Image.Image]:
    return (
        render(case[0], tmp_path_factory.mktemp("original")),
        render(case[1], tmp_path_factory.mktemp("copy")),
    )


def test_face_is_drawn_unchanged_under_the_watermark(pictures: tuple[Image.Image, Image.Image]) -> None:
    original, copy = pictures
    assert original.size == copy.size
    face = _mask(original)
    lost = ImageChops.subtract(face, _mask(copy))  # face ink missing from the copy
    assert _count(face) > 20_000
    assert _count(lost) <= 0.002 * _count(face), "the copy hides or moves part of the face"


def test_watermark_is_drawn_in_every_column(
    case: tuple[bytes, bytes], pictures: tuple[Image.Image, Image.Image]
) -> None:
    original, copy = pictures
    added = ImageChops.subtract(_mask(copy), _mask(original))
    columns = _boxes(entry(case[1], "Copy/Annots/Page_0/Annotation.xml"), "Appearance")
    assert len(columns) >= 3
    total = _count(added)
    assert total > 5_000, "easyofd drew no watermark"
    inside = sum(_count(added, (x - 1, y - 1, w + 2, h + 2)) for x, y, w, h in columns)
    assert inside >= 0.97 * total, "watermark ink outside the annotation boxes"
    for box in columns:
        assert _count(added, box) >= 0.08 * (box[2] * box[3] * PX_PER_MM**2), f"column {box} not drawn"


def test_face_text_stays_legible(
    case: tuple[bytes, bytes], pictures: tuple[Image.Image, Image.Image]
) -> None:
    original, copy = pictures
    added = ImageChops.subtract(_mask(copy), _mask(original))
    cells = _face_cells(OFDPackage.open(case[0]).entries[PAGE])
    assert len(cells) > 50
    area = [w * h * PX_PER_MM**2 for _, _, w, h in cells]
    covered = [_count(added, c) / a for c, a in zip(cells, area, strict=True)]
    crossed = [f for f in covered if f > 0]
    obscured = [f for f in covered if f > 0.2]
    assert len(crossed) >= 5, "the watermark does not cross the face text"
    assert len(obscured) <= 0.05 * len(cells), f"{len(obscured)} of {len(cells)} characters a fifth covered"


def test_watermark_leaves_the_images_alone(
    case: tuple[bytes, bytes], pictures: tuple[Image.Image, Image.Image]
) -> None:
    """The QR code (and any photo or seal) gets no watermark ink: a copy's code still scans."""
    original, copy = pictures
    added = ImageChops.subtract(_mask(copy), _mask(original))
    images = _boxes(OFDPackage.open(case[0]).entries[PAGE], "ImageObject")
    assert images
    for box in images:
        assert _count(added, box) == 0, f"watermark over the image at {box}"
