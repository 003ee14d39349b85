"""The certificate face (照面) as geometry: one layout definition, two outputs.

The OFD page (:mod:`ecert.package`) and the PNG rendering (:mod:`ecert.render`) both draw
the :class:`FaceLayout` computed here, so the file a reader opens and the preview a
person sees cannot drift apart.  Units are millimetres from the top-left corner, as in
OFD (GB/T 33190-2016 §7.2: the page coordinate system has its origin at the top left,
y growing downwards, unit mm).

Text width is estimated (CJK ideographs one em, Latin letters and digits 0.55 em)
because the layout must not depend on the fonts of the machine that makes it: the
same draft gives the same page everywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FaceField",
    "FaceLayout",
    "FaceSpec",
    "ImageBox",
    "RuleBox",
    "TextBox",
    "layout_face",
    "text_width",
    "wrap_text",
]

Align = Literal["left", "center", "right"]
ImageKind = Literal["qr", "photo", "seal"]

# page sizes (mm), GB/T 148 A4
A4_PORTRAIT = (210.0, 297.0)
A4_LANDSCAPE = (297.0, 210.0)

_LATIN_EM = 0.55
# characters that must not begin a line (Chinese line-breaking rule, 避头点)
_NO_LINE_START = frozenset("、，。；：？！）》」』】,.;:?!)")


@dataclass(frozen=True, slots=True)
class TextBox:
    """One line of text.  ``key`` names what it shows (a metadata key, an item name,
    ``title``, ``label:<key>``) so CustomTags can index the data to the object."""

    key: str
    x: float
    y: float
    width: float
    height: float
    size: float
    text: str
    bold: bool = False
    align: Align = "left"

    @property
    def baseline(self) -> float:
        """The y of the text baseline (OFD ``TextCode/@Y`` is a baseline, GB/T 33190 §11.3)."""
        return self.y + self.size

    @property
    def is_label(self) -> bool:
        return self.key.startswith("label:") or self.key == "title"


@dataclass(frozen=True, slots=True)
class ImageBox:
    """A place for an image: the QR code, the holder's photo or the issuer's seal."""

    kind: ImageKind
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class RuleBox:
    """A straight line or a rectangle outline (the face's decorative border)."""

    x: float
    y: float
    width: float
    height: float
    line_width: float = 0.5
    rectangle: bool = True
    colour: tuple[int, int, int] = (160, 40, 40)


@dataclass(frozen=True, slots=True)
class FaceField:
    """A value shown on the face with its Chinese label; ``key`` is what CustomTags index."""

    key: str
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class FaceSpec:
    """Everything the layout needs, independent of the certificate type machinery."""

    title: str
    fields: tuple[FaceField, ...]
    issuer_name: str
    issue_date_text: str
    orientation: Literal["portrait", "landscape"] = "portrait"
    subtitle: str = ""
    qr: bool = True
    photo: bool = False
    seal: bool = False


@dataclass(frozen=True, slots=True)
class FaceLayout:
    """The computed face: page size and every object on it, in drawing order."""

    width: float
    height: float
    rules: tuple[RuleBox, ...]
    texts: tuple[TextBox, ...]
    images: tuple[ImageBox, ...]

    def text_for(self, key: str) -> tuple[TextBox, ...]:
        """The text objects showing ``key`` (several when a long value wraps)."""
        return tuple(t for t in self.texts if t.key == key)

    def image(self, kind: ImageKind) -> ImageBox | None:
        return next((i for i in self.images if i.kind == kind), None)


def char_em(ch: str) -> float:
    """Estimated advance of one character in em."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    return _LATIN_EM


def text_width(text: str, size: float) -> float:
    """Estimated width in mm of ``text`` at font size ``size`` (mm)."""
    return sum(char_em(c) for c in text) * size


def wrap_text(text: str, size: float, width: float) -> tuple[str, ...]:
    """Break ``text`` into lines no wider than ``width`` mm (at least one line).

    Breaks anywhere between CJK characters, and at spaces in Latin text when possible.
    Explicit newlines are kept.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        current_width = 0.0
        for ch in paragraph:
            advance = char_em(ch) * size
            if current and current_width + advance > width and ch not in _NO_LINE_START:
                cut = current.rfind(" ")
                if ch != " " and cut > 0 and all(char_em(c) < 1 for c in current[cut:]):
                    lines.append(current[:cut])
                    current = current[cut + 1 :]
                    current_width = text_width(current, size)
                else:
                    lines.append(current)
                    current, current_width = "", 0.0
                if ch == " " and not current:
                    continue
            current += ch
            current_width += advance
        lines.append(current)
    return tuple(lines)


# --- the layout ----------------------------------------------------------------------------

_MARGIN = 12.0
_BORDER_GAP = 4.0
_TITLE_SIZE = 11.0
_SUBTITLE_SIZE = 4.2
_BODY_SIZE = 4.2
_LINE_GAP = 1.6
_ROW_GAP = 3.2
_QR_SIZE = 32.0
_PHOTO = (26.0, 35.0)
_SEAL_SIZE = 42.0


_MIN_BODY_SIZE = 2.8


def layout_face(spec: FaceSpec) -> FaceLayout:
    """Lay out a certificate face: border, title, label/value rows, QR, photo, issuer block.

    When the rows do not fit above the bottom block, the body text shrinks step by step
    (down to 2.8 mm, about 8 pt) rather than running off the page.
    """
    size = _BODY_SIZE
    while True:
        layout = _layout(spec, size)
        if not overflows(layout) or size <= _MIN_BODY_SIZE:
            return layout
        size = max(_MIN_BODY_SIZE, size * 0.9)


def _layout(spec: FaceSpec, body: float) -> FaceLayout:
    width, height = A4_LANDSCAPE if spec.orientation == "landscape" else A4_PORTRAIT
    rules = (
        RuleBox(_MARGIN, _MARGIN, width - 2 * _MARGIN, height - 2 * _MARGIN, line_width=1.2),
        RuleBox(
            _MARGIN + _BORDER_GAP,
            _MARGIN + _BORDER_GAP,
            width - 2 * (_MARGIN + _BORDER_GAP),
            height - 2 * (_MARGIN + _BORDER_GAP),
            line_width=0.4,
        ),
    )
    texts: list[TextBox] = []
    images: list[ImageBox] = []
    inner_left = _MARGIN + _BORDER_GAP + 10.0
    inner_right = width - (_MARGIN + _BORDER_GAP + 10.0)

    y = _MARGIN + _BORDER_GAP + 14.0
    usable = inner_right - inner_left - 10.0
    title_size = min(_TITLE_SIZE, usable / max(text_width(spec.title, 1.0), 1.0))
    title_w = text_width(spec.title, title_size)
    title_h = title_size * 1.2
    texts.append(
        TextBox("title", (width - title_w) / 2, y, title_w, title_h, title_size, spec.title, True, "center")
    )
    y += title_h + 4.0
    if spec.subtitle:
        sub_w = text_width(spec.subtitle, _SUBTITLE_SIZE)
        texts.append(
            TextBox(
                "subtitle",
                (width - sub_w) / 2,
                y,
                sub_w,
                _SUBTITLE_SIZE * 1.3,
                _SUBTITLE_SIZE,
                spec.subtitle,
                align="center",
            )
        )
        y += _SUBTITLE_SIZE * 1.3 + 2.0
    y += 6.0

    value_right = inner_right
    if spec.photo:
        pw, ph = _PHOTO
        images.append(ImageBox("photo", inner_right - pw, y, pw, ph))
        photo_bottom = y + ph + 2.0
    else:
        photo_bottom = y

    label_w = max((text_width(f.label, body) for f in spec.fields), default=0.0)
    label_w = min(max(label_w, 4 * body), 14 * body)
    value_x = inner_left + label_w + 6.0
    line_h = body + _LINE_GAP
    for f in spec.fields:
        right = value_right - (_PHOTO[0] + 4.0) if spec.photo and y < photo_bottom else value_right
        texts.append(TextBox(f"label:{f.key}", inner_left, y, label_w, line_h, body, f.label, True))
        for line in wrap_text(f.text, body, right - value_x):
            texts.append(TextBox(f.key, value_x, y, right - value_x, line_h, body, line))
            y += line_h
        y += _ROW_GAP

    bottom = height - (_MARGIN + _BORDER_GAP + 12.0)
    if spec.qr:
        images.append(ImageBox("qr", inner_left, bottom - _QR_SIZE, _QR_SIZE, _QR_SIZE))
    issuer_w = text_width(spec.issuer_name, body + 0.6)
    date_w = text_width(spec.issue_date_text, body)
    block_w = max(issuer_w, date_w)
    block_x = inner_right - block_w
    texts.append(
        TextBox(
            "issuer_name",
            block_x,
            bottom - 2 * line_h - 2.0,
            block_w,
            line_h,
            body + 0.6,
            spec.issuer_name,
            True,
            "right",
        )
    )
    texts.append(
        TextBox(
            "issue_date", block_x, bottom - line_h, block_w, line_h, body, spec.issue_date_text, align="right"
        )
    )
    if spec.seal:
        cx = block_x + block_w / 2
        seal_y = bottom - line_h - _SEAL_SIZE / 2 - 4.0
        images.append(ImageBox("seal", cx - _SEAL_SIZE / 2, seal_y, _SEAL_SIZE, _SEAL_SIZE))
    return FaceLayout(width, height, rules, tuple(texts), tuple(images))


def overflows(layout: FaceLayout) -> Sequence[TextBox]:
    """Text objects that run into the bottom block (the face is too full for the page)."""
    qr = layout.image("qr")
    limit = qr.y if qr is not None else layout.height - _MARGIN
    return [
        t
        for t in layout.texts
        if not t.is_label and t.key not in ("issuer_name", "issue_date") and t.y + t.height > limit
    ]
