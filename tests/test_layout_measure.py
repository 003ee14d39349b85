"""Measuring and wrapping text the fast way gives what the character-by-character definition gives.

The reference below is the definition (the layout's former code): the width is the sum of each
character's advance, and a line breaks greedily between pieces.  The layout now sums advances from a
table and skips the piecing of a paragraph that fits whole; the results must be the same floats and
the same lines, or a face would move.
"""

from __future__ import annotations

from typing import Literal
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from ecert import layout
from ecert.layout import FaceField, FaceSpec, _units, char_em, layout_face, text_width, wrap_text


def _width(text: str, size: float) -> float:
    return sum(char_em(c) for c in text) * size


def _wrap(text: str, size: float, width: float) -> tuple[str, ...]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current, current_width = "", 0.0
        for unit in _units(paragraph):
            w = _width(unit, size)
            if unit == " " and not current:
                continue
            if current and current_width + w > width and unit != " ":
                lines.append(current.rstrip(" "))
                current, current_width = "", 0.0
            if w > width and char_em(unit[0]) < 1.0:
                for ch in unit:
                    advance = char_em(ch) * size
                    if current and current_width + advance > width:
                        lines.append(current)
                        current, current_width = "", 0.0
                    current += ch
                    current_width += advance
                continue
            current += unit
            current_width += w
        lines.append(current.rstrip(" "))
    return tuple(lines)


_CHARS = st.sampled_from("  中华人民共和国证照，。、）A1b.-/:_ \n\u3000ｶ①") | st.characters()
_TEXT = st.text(_CHARS, max_size=60)
_SIZE = st.sampled_from([2.8, 3.1, 4.0, 4.4, 5.0, 5.6, 11.0]) | st.floats(0.5, 20)


@settings(max_examples=400, deadline=None)
@given(_TEXT, _SIZE)
def test_width_is_the_sum_of_the_advances(text: str, size: float) -> None:
    assert text_width(text, size) == _width(text, size)


@settings(max_examples=400, deadline=None)
@given(_TEXT, _SIZE, st.floats(1, 200) | st.sampled_from([20.0, 55.0, 132.0]))
def test_lines_are_the_greedy_breaks(text: str, size: float, width: float) -> None:
    assert wrap_text(text, size, width) == _wrap(text, size, width)


def test_a_paragraph_exactly_as_wide_as_the_line() -> None:
    for text in ("证照编号", "ABCD EFGH", "中华 人民"):
        width = _width(text, 5.0)
        for w in (width, width + 1e-9, width - 1e-9):
            assert wrap_text(text, 5.0, w) == _wrap(text, 5.0, w)


_FIELD = st.builds(FaceField, st.sampled_from(["ZZBH", "CZZT", "KZ_A", "KZ_B"]), _TEXT.filter(str.strip),
                   st.text(_CHARS, max_size=400))


@settings(max_examples=60, deadline=None)
@given(st.lists(_FIELD, max_size=12), st.sampled_from(["portrait", "landscape"]), st.booleans(),
       _TEXT.filter(str.strip))
def test_remembered_lines_lay_out_the_same_face(
    fields: list[FaceField], orientation: Literal["portrait", "landscape"], photo: bool, issuer: str
) -> None:
    """The passes of one layout share their wrapped lines; unshared, the face is the same."""
    spec = FaceSpec("中华人民共和国某某证", tuple(fields), issuer, "2026年11月24日", orientation, photo=photo)
    def unshared_wrap(self: object, text: str, size: float, width: float) -> tuple[str, ...]:
        return wrap_text(text, size, width)

    with patch.object(layout._Wrapper, "__call__", unshared_wrap):
        unshared = layout_face(spec)
    assert layout_face(spec) == unshared
