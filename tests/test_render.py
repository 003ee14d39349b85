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


@pytest.mark.parametrize("dpi", ["150", None, True, b"150"])
def test_dpi_that_is_not_a_number_is_an_input_error(dpi: object) -> None:
    with pytest.raises(InputError, match="dpi"):
        render_layout(layout_face(SPEC), dpi=dpi)  # type: ignore[arg-type]


@pytest.mark.parametrize("font", [5, ["x"], b"/tmp/x.ttf"], ids=repr)
def test_font_that_is_not_a_path_is_an_input_error(font: object) -> None:
    """Checked before the cached search: a list would otherwise fail inside lru_cache as unhashable."""
    with pytest.raises(InputError, match="font"):
        find_cjk_font(font)  # type: ignore[arg-type]
    assert find_cjk_font(find_cjk_font()) == find_cjk_font()  # a Path is fine


def test_damaged_images_are_input_errors(tmp_path: Path) -> None:
    """Pillow's SyntaxError("broken PNG file") and the like become InputError (face photo, QR image)."""
    import io
    import struct
    import zlib

    from ecert.app import decode_qr_image
    from ecert.face import load_image

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * 40 for _ in range(30))
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0))
    broken = (
        b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(pixels)[:10]) + b"\0" * 4 + b"\xff" * 4
    )
    good = io.BytesIO()
    Image.new("RGB", (4, 4)).save(good, "PNG")
    for data in (broken, good.getvalue()[:40], b"GIF89a" + b"\0" * 20):
        with pytest.raises(InputError, match="photo"):
            load_image(data, "photo")
        (tmp_path / "qr.png").write_bytes(data)
        with pytest.raises(InputError, match="cannot read image"):
            decode_qr_image(tmp_path / "qr.png")
    with pytest.raises(InputError):
        load_image("not bytes", "photo")  # type: ignore[arg-type]
