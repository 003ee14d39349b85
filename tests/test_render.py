"""Rendering the face with a real CJK font: text must be drawn, not tofu boxes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ecert.errors import FontNotFound, InputError
from ecert.layout import FaceField, FaceSpec, layout_face
from ecert.render import find_cjk_font, render_layout

SPEC = FaceSpec(
    title="道路运输经营许可证",
    fields=(FaceField("CZZT", "业户名称", "示例运输有限公司"),),
    issuer_name="示例市交通运输局",
    issue_date_text="2026年11月25日",
    qr=True,
)


def test_a_cjk_font_is_found() -> None:
    assert find_cjk_font().is_file()


def test_render_draws_text_and_images() -> None:
    qr = Image.new("RGB", (21, 21), "black")
    img = render_layout(layout_face(SPEC), images={"qr": qr}, dpi=72)
    assert img.size == (round(210 / 25.4 * 72), round(297 / 25.4 * 72))
    layout = layout_face(SPEC)
    title = layout.text_for("title")[0]
    scale = 72 / 25.4
    box = (
        round(title.x * scale), round(title.y * scale),
        round((title.x + title.width) * scale), round((title.y + title.height) * scale),
    )
    region = img.crop(box).convert("L")
    dark = sum(region.histogram()[:128])
    assert dark > 50, "title text was not drawn"
    slot = layout.image("qr")
    assert slot is not None
    assert img.getpixel((round((slot.x + 2) * scale), round((slot.y + 2) * scale))) == (0, 0, 0)


def test_a_font_without_chinese_is_refused(tmp_path: Path) -> None:
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not latin.is_file():
        pytest.skip("DejaVuSans not installed")
    with pytest.raises(FontNotFound, match="cannot draw Chinese"):
        find_cjk_font(str(latin))


def test_missing_font_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FontNotFound, match="does not exist"):
        find_cjk_font(str(tmp_path / "nope.ttf"))


def test_bad_dpi() -> None:
    with pytest.raises(InputError, match="dpi"):
        render_layout(layout_face(SPEC), dpi=5)
