"""The face layout: geometry rules every output (OFD page, PNG) relies on."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.layout import FaceField, FaceSpec, layout_face, overflows, text_width, wrap_text


def _spec(**kw: object) -> FaceSpec:
    base: dict[str, object] = {
        "title": "营业执照",
        "fields": (
            FaceField("KZ_MC", "名称", "示例科技有限公司"),
            FaceField("CZZTDM", "统一社会信用代码", "91110000600037341L"),
        ),
        "issuer_name": "示例市市场监督管理局",
        "issue_date_text": "2026年11月25日",
    }
    base.update(kw)
    return FaceSpec(**base)  # type: ignore[arg-type]


def test_widths_count_cjk_as_one_em_and_latin_narrower() -> None:
    assert text_width("证照", 4.0) == 8.0
    assert text_width("AB", 4.0) < 8.0


def test_wrap_keeps_every_character_and_respects_width() -> None:
    text = "技术开发、技术咨询、技术服务；" * 10
    lines = wrap_text(text, 4.0, 60.0)
    assert "".join(lines) == text
    assert all(text_width(line, 4.0) <= 60.0 + 4.0 for line in lines)  # one punctuation mark may hang
    assert not any(line.startswith(("、", "；")) for line in lines[1:])


def test_wrap_breaks_latin_at_spaces() -> None:
    assert wrap_text("Hello world this is text", 4.0, 30.0) == ("Hello world", "this is text")


def test_every_field_has_label_and_value_objects() -> None:
    layout = layout_face(_spec())
    for key in ("KZ_MC", "CZZTDM"):
        assert layout.text_for(key)
        assert layout.text_for(f"label:{key}")
    assert layout.text_for("title")[0].text == "营业执照"
    assert layout.image("qr") is not None
    assert layout.image("photo") is None


def test_photo_and_seal_slots() -> None:
    layout = layout_face(_spec(photo=True, seal=True, qr=False))
    assert layout.image("photo") is not None and layout.image("seal") is not None
    assert layout.image("qr") is None


def test_long_values_shrink_instead_of_running_off_the_page() -> None:
    fields = tuple(FaceField(f"KZ_{i}", f"项目{i}", "很长的内容" * 30) for i in range(8))
    layout = layout_face(_spec(fields=fields))
    body = [t for t in layout.texts if t.key.startswith("KZ_")]
    assert body[0].size < 4.2
    assert all(t.x >= 0 and t.x + t.width <= layout.width for t in layout.texts)


def test_same_input_same_layout() -> None:
    assert layout_face(_spec()) == layout_face(_spec())


@settings(max_examples=50, deadline=None)
@given(
    st.text(max_size=300),
    st.floats(min_value=2.0, max_value=12.0),
    st.floats(min_value=10.0, max_value=200.0),
)
def test_wrap_never_loses_text(text: str, size: float, width: float) -> None:
    lines = wrap_text(text, size, width)
    assert lines
    joined = "".join(lines).replace(" ", "")
    assert joined == "".join(text.splitlines()).replace(" ", "")


def test_overflow_detection() -> None:
    assert not overflows(layout_face(_spec()))
