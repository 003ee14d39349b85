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

import functools
import itertools
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
_FITS_MARGIN = 1e-6  # mm: far above float rounding, far below anything a printer shows
# a run of letters and digits may break after these (an identifier at its dots, a URL at its slashes)
_BREAK_AFTER = frozenset(".-/,;:_")


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
    issuer_label: str = ""  # shown before the issuer's name (营业执照: 登记机关)


@dataclass(frozen=True, slots=True)
class FaceLayout:
    """The computed face: page size and every object on it, in drawing order."""

    width: float
    height: float
    rules: tuple[RuleBox, ...]
    texts: tuple[TextBox, ...]
    images: tuple[ImageBox, ...]
    continuation: tuple[FaceLayout, ...] = ()  # further pages when the values do not fit on this one

    @property
    def pages(self) -> tuple[FaceLayout, ...]:
        """This page and its continuation pages, in order."""
        return (self, *self.continuation)

    def text_for(self, key: str) -> tuple[TextBox, ...]:
        """The text objects showing ``key`` (several when a long value wraps)."""
        return tuple(t for t in self.texts if t.key == key)

    def image(self, kind: ImageKind) -> ImageBox | None:
        return next((i for i in self.images if i.kind == kind), None)


@functools.lru_cache(maxsize=4096)
def char_em(ch: str) -> float:
    """Estimated advance of one character in em (remembered: a face measures ~700 characters)."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    return _LATIN_EM


# the advances of the characters met so far, read by dict lookups from C (a face measures about a
# thousand characters in some 200 calls); cleared when it grows past what a face's text can need
_EMS: dict[str, float] = {}
_EMS_LIMIT = 16384


def _ems(text: str) -> float:
    """The sum of ``char_em`` over ``text``, added in the same order (the same float)."""
    if text.isascii():  # every ASCII character is narrow
        return sum(itertools.repeat(_LATIN_EM, len(text)))
    try:
        return sum(map(_EMS.__getitem__, text))
    except KeyError:
        if len(_EMS) > _EMS_LIMIT:
            _EMS.clear()
        for ch in text:
            _EMS[ch] = char_em(ch)
        return sum(map(_EMS.__getitem__, text))


def text_width(text: str, size: float) -> float:
    """Estimated width in mm of ``text`` at font size ``size`` (mm)."""
    return _ems(text) * size


def _units(paragraph: str) -> list[str]:
    """Pieces a line may break between: one CJK character, or a run of other characters cut after
    a break character (``1.2.156.`` gives ``1.``, ``2.``, ``156.``) or at a space (kept as a piece).
    Punctuation that may not begin a line sticks to the piece before it."""
    units: list[str] = []
    run = ""
    for ch in paragraph:
        if ch == " ":
            if run:
                units.append(run)
                run = ""
            units.append(" ")
        elif char_em(ch) >= 1.0:
            if run:
                units.append(run)
                run = ""
            if ch in _NO_LINE_START and units and units[-1] != " ":
                units[-1] += ch
            else:
                units.append(ch)
        else:
            run += ch
            if ch in _BREAK_AFTER:
                units.append(run)
                run = ""
    if run:
        units.append(run)
    return units


def wrap_text(text: str, size: float, width: float) -> tuple[str, ...]:
    """Break ``text`` into lines no wider than ``width`` mm (at least one line).

    Breaks between CJK characters (never before 、，。 and the like), at spaces, and inside a run of
    letters and digits only after a break character (an identifier at its dots); a single run wider
    than the line is cut where it must.  Explicit newlines are kept.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        if text_width(paragraph, size) < width - _FITS_MARGIN:
            # fits whole: the pieces below would never break; leading spaces are skipped and trailing
            # ones dropped there too.  The margin keeps a float tie, summed piece by piece, on that path
            lines.append(paragraph.strip(" "))
            continue
        current, current_width = "", 0.0
        for unit in _units(paragraph):
            w = text_width(unit, size)
            if unit == " " and not current:
                continue
            if current and current_width + w > width and unit != " ":
                lines.append(current.rstrip(" "))
                current, current_width = "", 0.0
            if w > width and char_em(unit[0]) < 1.0:  # one run longer than a line: cut it
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


# --- the layout ----------------------------------------------------------------------------

_MARGIN = 12.0
_BORDER_GAP = 4.0
_TITLE_SIZE = 11.0
_SUBTITLE_SIZE = 4.2
_LINE_GAP = 1.6
_ROW_GAP = 3.2
_MAX_ROW_GAP = 9.0  # a short face spreads its rows down to here, not leaving half the page empty
_QR_SIZE = 32.0
_PHOTO = (26.0, 35.0)
_SEAL_SIZE = 42.0
_BLOCK_GAP = 4.0  # between the last row and the QR code / issuer block
_MAX_BODY_SIZE = {"portrait": 5.0, "landscape": 4.4}
_MIN_BODY_SIZE = 2.8  # about 8 pt: below this a printed face is hard to read


@dataclass(frozen=True, slots=True)
class _Frame:
    """The fixed geometry of one page: border, header, where rows may go."""

    width: float
    height: float
    left: float
    right: float
    body_top: float
    body_bottom: float


def layout_face(spec: FaceSpec) -> FaceLayout:
    """Lay out a certificate face: border, title, label/value rows, QR, photo, issuer block.

    The body text starts at a comfortable size and shrinks step by step until every row fits
    above the QR code and the issuer block; a face with room to spare spreads its rows down the
    page.  At the minimum size (2.8 mm, about 8 pt) rows that still do not fit continue on
    continuation pages (续页) that the first page names; no two boxes overlap and nothing leaves
    the border.
    """
    size = _MAX_BODY_SIZE[spec.orientation]
    wrap = _Wrapper()  # the passes below wrap the same texts at the same sizes and widths again
    while True:
        _, free = _lay_out(spec, size, 0.0, wrap, paginate=False)
        if free is not None or size <= _MIN_BODY_SIZE:
            break
        size = max(_MIN_BODY_SIZE, round(size * 0.92, 3))
    if free is None:
        return _lay_out(spec, size, 0.0, wrap, paginate=True)[0]
    # everything fits: spread the rows over the free height rather than leave it empty below them
    extra = min(_MAX_ROW_GAP - _ROW_GAP, free * 0.8 / max(1, len(spec.fields)))
    return _lay_out(spec, size, extra, wrap, paginate=False)[0]


class _Wrapper:
    """:func:`wrap_text` remembering its lines for one layout (its passes differ in the row gap only)."""

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines: dict[tuple[str, float, float], tuple[str, ...]] = {}

    def __call__(self, text: str, size: float, width: float) -> tuple[str, ...]:
        key = (text, size, width)
        lines = self._lines.get(key)
        if lines is None:
            lines = self._lines[key] = wrap_text(text, size, width)
        return lines


def _page_size(spec: FaceSpec) -> tuple[float, float]:
    return A4_LANDSCAPE if spec.orientation == "landscape" else A4_PORTRAIT


def _rules(width: float, height: float) -> tuple[RuleBox, ...]:
    inner = _MARGIN + _BORDER_GAP
    return (
        RuleBox(_MARGIN, _MARGIN, width - 2 * _MARGIN, height - 2 * _MARGIN, line_width=1.2),
        RuleBox(inner, inner, width - 2 * inner, height - 2 * inner, line_width=0.4),
    )


def _header(title: str, subtitle: str, width: float, texts: list[TextBox]) -> float:
    """Title (and subtitle) centred at the top; returns the y where rows start."""
    inner = _MARGIN + _BORDER_GAP
    y = inner + 14.0
    usable = width - 2 * (inner + 10.0) - 10.0
    title_size = min(_TITLE_SIZE, usable / max(text_width(title, 1.0), 1.0))
    title_w = text_width(title, title_size)
    title_h = title_size * 1.2
    texts.append(
        TextBox("title", (width - title_w) / 2, y, title_w, title_h, title_size, title, True, "center")
    )
    y += title_h + 4.0
    if subtitle:
        sub_size = min(_SUBTITLE_SIZE, usable / max(text_width(subtitle, 1.0), 1.0))
        sub_w = text_width(subtitle, sub_size)
        h = sub_size * 1.3
        texts.append(
            TextBox("subtitle", (width - sub_w) / 2, y, sub_w, h, sub_size, subtitle, align="center")
        )
        y += h + 2.0
    return y + 6.0


def _bottom_block(
    spec: FaceSpec, width: float, height: float, size: float, wrap: _Wrapper
) -> tuple[list[TextBox], list[ImageBox]]:
    """QR code bottom left; issuer name (wrapped, with its label), date and seal bottom right."""
    inner_left = _MARGIN + _BORDER_GAP + 10.0
    inner_right = width - inner_left
    bottom = height - (_MARGIN + _BORDER_GAP + 12.0)
    images: list[ImageBox] = []
    if spec.qr:
        images.append(ImageBox("qr", inner_left, bottom - _QR_SIZE, _QR_SIZE, _QR_SIZE))
    name_size = size + 0.6
    line_h = size + _LINE_GAP
    name_h = name_size + _LINE_GAP
    label = spec.issuer_label
    label_w = text_width(label + "  ", name_size) if label else 0.0
    room = inner_right - (inner_left + _QR_SIZE + 10.0) - label_w
    names = wrap(spec.issuer_name, name_size, room)
    date_w = text_width(spec.issue_date_text, size)
    block_w = min(room, max(date_w, *(text_width(n, name_size) for n in names)))
    block_x = inner_right - block_w
    texts = [TextBox("issue_date", block_x, bottom - line_h, block_w, line_h, size, spec.issue_date_text,
                     align="right")]  # fmt: skip
    top = bottom - line_h - 2.0 - name_h * len(names)
    for i, name in enumerate(names):
        texts.append(
            TextBox("issuer_name", block_x, top + i * name_h, block_w, name_h, name_size, name, True, "right")
        )
    if label:
        texts.append(
            TextBox("label:issuer_name", block_x - label_w, top, label_w, name_h, name_size, label, True)
        )
    if spec.seal:
        border = _MARGIN + _BORDER_GAP  # stamped over name and date, but inside the border
        seal_x = min(block_x + block_w / 2 - _SEAL_SIZE / 2, width - border - _SEAL_SIZE - 1.0)
        seal_y = min(bottom - line_h - _SEAL_SIZE / 2 - 4.0, height - border - _SEAL_SIZE - 1.0)
        images.append(ImageBox("seal", seal_x, seal_y, _SEAL_SIZE, _SEAL_SIZE))
    return texts, images


def _lay_out(
    spec: FaceSpec, size: float, extra_gap: float, wrap: _Wrapper, *, paginate: bool
) -> tuple[FaceLayout, float | None]:
    """The face at body size ``size`` and the height left free below its rows, or None when the
    rows do not fit on the first page (then, with ``paginate``, they continue on further pages)."""
    width, height = _page_size(spec)
    header: list[TextBox] = []
    body_top = _header(spec.title, spec.subtitle, width, header)
    block_texts, images = _bottom_block(spec, width, height, size, wrap)
    left = _MARGIN + _BORDER_GAP + 10.0
    right_edge = width - left
    tops = [b.y for b in images] + [t.y for t in block_texts]
    body_bottom = min(tops) - _BLOCK_GAP
    photo_bottom = body_top
    if spec.photo:
        pw, ph = _PHOTO
        images.append(ImageBox("photo", right_edge - pw, body_top, pw, ph))
        photo_bottom = body_top + ph + 2.0
    pages: list[list[TextBox]] = [header]
    line_h = size + _LINE_GAP
    label_w = min(
        max(max((text_width(f.label, size) for f in spec.fields), default=0.0), 4 * size),
        14 * size,
        0.35 * (right_edge - left),
    )
    value_x = left + label_w + 6.0
    y = body_top
    # when rows continue, the first page keeps its last line for the note naming the continuation
    limit = body_bottom - (line_h if paginate else 0.0)
    for f in spec.fields:
        right = right_edge - (_PHOTO[0] + 4.0) if spec.photo and y < photo_bottom else right_edge
        labels = wrap(f.label, size, label_w)
        values = list(wrap(f.text, size, right - value_x))
        row_top, labelled, i = y, False, 0
        while i < len(values):
            if y + line_h > limit or (not labelled and y + line_h * len(labels) > limit):
                if not paginate:
                    return _assemble(spec, pages, block_texts, images, size), None
                y = row_top = _new_page(spec, pages, size)
                limit, labelled = height - (_MARGIN + _BORDER_GAP + 12.0) - line_h, False
                if right != right_edge:  # the rest of a row beside the photo gets the full width
                    right = right_edge
                    values = values[:i] + list(wrap("".join(values[i:]), size, right - value_x))
                if i > 0:
                    labels = wrap(f"{f.label}（续）", size, label_w)
            if not labelled:
                for j, text in enumerate(labels):
                    box = TextBox(
                        f"label:{f.key}", left, row_top + j * line_h, label_w, line_h, size, text, True
                    )
                    pages[-1].append(box)
                labelled = True
            pages[-1].append(TextBox(f.key, value_x, y, right - value_x, line_h, size, values[i]))
            y += line_h
            i += 1
        y = max(y, row_top + line_h * len(labels)) + _ROW_GAP + extra_gap
    layout = _assemble(spec, pages, block_texts, images, size)
    return layout, (body_bottom - (y - _ROW_GAP - extra_gap)) if len(pages) == 1 else None


def _new_page(spec: FaceSpec, pages: list[list[TextBox]], size: float) -> float:
    """Start a continuation page (its header); returns the y where its rows start."""
    width, _ = _page_size(spec)
    texts: list[TextBox] = []
    y = _header(f"{spec.title}（续页）", spec.subtitle, width, texts)
    pages.append(texts)
    return y


def _assemble(
    spec: FaceSpec,
    pages: list[list[TextBox]],
    block_texts: list[TextBox],
    images: list[ImageBox],
    size: float,
) -> FaceLayout:
    width, height = _page_size(spec)
    rules = _rules(width, height)
    inner = _MARGIN + _BORDER_GAP + 10.0
    line_h = size + _LINE_GAP
    first = [*pages[0], *block_texts]
    count = len(pages)
    if count > 1:  # the first page names where the rest is, each continuation page its number
        limit = min([b.y for b in images if b.kind != "photo"] + [t.y for t in block_texts]) - _BLOCK_GAP
        note = f"（未尽内容见续页，共{count}页）"
        first.append(TextBox("continued", inner, limit - line_h, text_width(note, size), line_h, size, note))
    more = []
    foot = height - (_MARGIN + _BORDER_GAP + 12.0)
    for n, texts in enumerate(pages[1:], start=2):
        note = f"第{n}页 共{count}页"
        w = text_width(note, size)
        number = TextBox(
            "page_number", width - inner - w, foot - line_h, w, line_h, size, note, align="right"
        )
        more.append(FaceLayout(width, height, rules, (*texts, number), ()))
    return FaceLayout(width, height, rules, tuple(first), tuple(images), tuple(more))


def overflows(layout: FaceLayout) -> Sequence[TextBox]:
    """Text objects that run into the bottom block (the face is too full for the page)."""
    limits = [i.y for i in layout.images if i.kind != "photo"]
    limits += [t.y for t in layout.texts if t.key in ("issuer_name", "issue_date", "label:issuer_name")]
    limit = min(limits) if limits else layout.height - _MARGIN
    return [
        t
        for t in layout.texts
        if not t.is_label
        and t.key not in ("issuer_name", "issue_date", "title", "subtitle")
        and t.y + t.height > limit
    ]
