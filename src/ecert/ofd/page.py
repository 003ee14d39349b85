"""What an OFD page shows, as drawable values (GB/T 33190-2016 §8-§15): text, paths, images.

A page is its template pages (§7.5 ``TemplatePage``, drawn behind or in front as ``ZOrder`` says),
its layers in order (``Background``, ``Body``, ``Foreground``, §8.2), page blocks, composite objects
(§13, ``CompositeGraphicUnit``) and the appearances of its annotations (§15).  Every object is
brought to page millimetres here: its ``Boundary`` and ``CTM`` (§8.3.2) are applied, curves are
flattened, text is cut into glyphs at the positions ``TextCode`` and ``DeltaX``/``DeltaY`` give
(§11.3), colours become RGB (§8.3.2, Gray/RGB/CMYK).  A renderer then only paints.

Hostile files are bounded: nesting depth, objects, glyphs and path points per page are capped,
numbers must be finite and of sane magnitude; a file breaking a bound raises ``UnsafePackage``,
a malformed one ``InvalidPackage``.  Locations are matched exactly, then ignoring case (producers
write ``TPLS/`` for a folder stored as ``Tpls/``, which Windows readers accept).  Clipping areas
(§8.4), shadings and patterns are not drawn; a pattern or shading fill is painted in its fallback
colour when one is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from ecert.errors import InvalidPackage, UnsafePackage
from ecert.ofd.entries import resolve
from ecert.ofd.namespaces import q
from ecert.ofd.structure import child_text

if TYPE_CHECKING:
    from ecert.ofd.reader import OFDPackage

__all__ = [
    "MAX_DEPTH",
    "MAX_GLYPHS",
    "MAX_ITEMS",
    "MAX_POINTS",
    "Glyph",
    "ImageItem",
    "PageView",
    "PathItem",
    "TextItem",
    "read_pages",
]

# a b c d e f: x' = a x + c y + e, y' = b x + d y + f
Matrix = tuple[float, float, float, float, float, float]
RGBA = tuple[int, int, int, int]
Point = tuple[float, float]

MAX_DEPTH = 8  # page blocks, composite objects and templates nested in one another
MAX_ITEMS = 50_000  # drawable objects per page
MAX_PAGES = 1_000  # pages read from one document
MAX_DOCUMENT_ITEMS = 500_000  # drawable objects over all pages (a template repeated on every page)
MAX_GLYPHS = 200_000  # characters per page
MAX_POINTS = 500_000  # path points per page, after flattening curves
MAX_COORD = 100_000.0  # mm: 100 m, far beyond any page
_CURVE_STEPS = 12
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_BOLD_NAMES = ("黑", "hei", "bold", "gothic")


@dataclass(frozen=True, slots=True)
class Glyph:
    """One character at its origin on the baseline (page mm)."""

    char: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class TextItem:
    """A text object's glyphs, in one font and colour; ``size`` is the em in mm after the CTM."""

    glyphs: tuple[Glyph, ...]
    size: float
    font_name: str
    bold: bool
    fill: RGBA
    angle: float = 0.0  # degrees the baseline turns clockwise on the page (a CTM with a rotation)


@dataclass(frozen=True, slots=True)
class PathItem:
    """A path as flattened subpaths (page mm), stroked and/or filled."""

    subpaths: tuple[tuple[tuple[Point, ...], bool], ...]  # (points, closed)
    stroke: RGBA | None
    fill: RGBA | None
    line_width: float
    even_odd: bool = False


@dataclass(frozen=True, slots=True)
class ImageItem:
    """An image resource drawn into the parallelogram of the unit square under ``matrix``."""

    data: bytes
    format: str
    matrix: Matrix  # unit square (0..1, 0..1) -> page mm
    name: str  # the entry it came from, for error messages

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The axis-aligned box (x, y, w, h) the image covers on the page."""
        xs, ys = zip(*(_apply(self.matrix, p) for p in ((0, 0), (1, 0), (0, 1), (1, 1))), strict=True)
        return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


Item = TextItem | PathItem | ImageItem


@dataclass(frozen=True, slots=True)
class PageView:
    """One page as drawable items in painting order; size in mm."""

    id: str
    width: float
    height: float
    items: tuple[Item, ...]


# --- numbers, matrices, colours ------------------------------------------------------------------


def _num(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidPackage("not a number", where=where, value=text[:40]) from None
    if not math.isfinite(value) or abs(value) > MAX_COORD:
        raise UnsafePackage(
            "number out of range", where=where, value=text[:40], expected=f"|x| <= {MAX_COORD:g}"
        )
    return value


def _nums(text: str | None, count: int | None, where: str) -> list[float]:
    values = [_num(t, where) for t in (text or "").replace(",", " ").split()]
    if count is not None and len(values) != count:
        raise InvalidPackage(f"expected {count} numbers", where=where, value=(text or "")[:80])
    return values


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """``m`` applied after ``n`` (a point goes through ``n`` first)."""
    a, b, c, d, e, f = n
    A, B, C, D, E, F = m
    return (A * a + C * b, B * a + D * b, A * c + C * d, B * c + D * d, A * e + C * f + E, B * e + D * f + F)


def _apply(m: Matrix, p: Point) -> Point:
    return (m[0] * p[0] + m[2] * p[1] + m[4], m[1] * p[0] + m[3] * p[1] + m[5])


def _object_matrix(el: etree._Element, parent: Matrix, where: str) -> Matrix:
    """Object space -> page: the CTM first, then the move to the Boundary's origin (§8.3.2)."""
    box = _nums(el.get("Boundary"), 4, f"{where} Boundary")
    ctm_text = el.get("CTM")
    ctm: Matrix = tuple(_nums(ctm_text, 6, f"{where} CTM")) if ctm_text else _IDENTITY  # type: ignore[assignment]
    return _mul(parent, _mul((1.0, 0.0, 0.0, 1.0, box[0], box[1]), ctm))


def _scale(m: Matrix) -> float:
    """How much lengths grow under ``m``: the geometric mean of its axes, or the vertical axis
    alone when the matrix flattens one (a producer's ``CTM="0 0 0 0.35 0 0"``)."""
    det = abs(m[0] * m[3] - m[1] * m[2])
    return math.sqrt(det) if det > 0 else math.hypot(m[2], m[3])


def _colour(
    el: etree._Element | None, spaces: dict[str, str], default: RGBA | None, where: str
) -> RGBA | None:
    if el is None:
        return default
    alpha = int(_num(el.get("Alpha", "255"), f"{where} Alpha"))
    value = el.get("Value")
    if value is None:  # a pattern or shading (not drawn): its fallback colour is the default
        return default
    comps = []
    for token in value.split():
        try:
            comps.append(int(token[1:], 16) if token.startswith("#") else round(_num(token, where)))
        except ValueError:
            raise InvalidPackage("colour component is not a number", where=where, value=token[:20]) from None
    comps = [max(0, min(255, c)) for c in comps]
    kind = spaces.get(el.get("ColorSpace", ""), "")
    if len(comps) == 1 or kind.upper() == "GRAY":
        g = comps[0] if comps else 0
        rgb = (g, g, g)
    elif len(comps) == 4 or kind.upper() == "CMYK":
        c, m, y, k = [*comps, 0, 0, 0, 0][:4]
        rgb = tuple(round(255 - min(255, v + k)) for v in (c, m, y))  # type: ignore[assignment]
    elif len(comps) == 3:
        rgb = (comps[0], comps[1], comps[2])
    else:
        raise InvalidPackage("colour needs 1, 3 or 4 components", where=where, value=value[:40])
    return (rgb[0], rgb[1], rgb[2], max(0, min(255, alpha)))


# --- resources -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Font:
    name: str
    bold: bool


class _Resources:
    """Fonts, colour spaces, images and composite units by ID, from every resource file in scope."""

    def __init__(self, pkg: OFDPackage, lookup: _Lookup) -> None:
        self.pkg, self.lookup = pkg, lookup
        self.fonts: dict[str, _Font] = {}
        self.spaces: dict[str, str] = {}
        self.images: dict[str, tuple[str, str]] = {}  # id -> (entry, format)
        self.units: dict[str, tuple[str, etree._Element]] = {}  # id -> (entry, Content element)
        self.added: set[str] = set()

    def add(self, entry: str) -> None:
        if entry in self.added:  # a page resource file shared by many pages is read once
            return
        self.added.add(entry)
        root = self.pkg.xml(entry)
        base = resolve(entry, root.get("BaseLoc") or ".") + "/_" if root.get("BaseLoc") else entry
        for font in root.iterfind(f"{q('Fonts')}/{q('Font')}"):
            name = font.get("FontName") or font.get("FamilyName") or ""
            bold = font.get("Bold") == "true" or any(b in name.lower() for b in _BOLD_NAMES)
            self.fonts[font.get("ID", "")] = _Font(name, bold)
        for space in root.iterfind(f"{q('ColorSpaces')}/{q('ColorSpace')}"):
            self.spaces[space.get("ID", "")] = space.get("Type", "")
        for media in root.iterfind(f"{q('MultiMedias')}/{q('MultiMedia')}"):
            loc = child_text(media, "MediaFile")
            if media.get("Type", "Image") == "Image" and loc:
                found = self.lookup.find(base, loc)
                if found is not None:
                    self.images[media.get("ID", "")] = (found, (media.get("Format") or "").upper())
        for unit in root.iterfind(f"{q('CompositeGraphicUnits')}/{q('CompositeGraphicUnit')}"):
            content = unit.find(q("Content"))
            if content is not None:
                self.units[unit.get("ID", "")] = (entry, content)


class _Lookup:
    """Entry names by exact match, then ignoring case."""

    def __init__(self, pkg: OFDPackage) -> None:
        self.pkg = pkg
        self.folded = {name.lower(): name for name in pkg.entries}

    def find(self, base: str, loc: str) -> str | None:
        name = resolve(base, loc)
        return name if name in self.pkg.entries else self.folded.get(name.lower())

    def need(self, base: str, loc: str | None, what: str) -> str:
        found = self.find(base, loc) if loc else None
        if found is None:
            raise InvalidPackage(f"{what} names a missing file", where=base, value=loc)
        return found


# --- objects -------------------------------------------------------------------------------------


class _Page:
    """Collects the items of one page under the per-page bounds."""

    def __init__(self, res: _Resources, where: str) -> None:
        self.res, self.where = res, where
        self.items: list[Item] = []
        self.glyphs = 0
        self.points = 0

    def _add(self, item: Item) -> None:
        if len(self.items) >= MAX_ITEMS:
            raise UnsafePackage("too many objects on a page", where=self.where, expected=f"<= {MAX_ITEMS}")
        self.items.append(item)

    def block(self, el: etree._Element, m: Matrix, depth: int) -> None:
        """A layer, page block or appearance: its objects in order."""
        if depth > MAX_DEPTH:
            raise UnsafePackage("objects nested too deeply", where=self.where, expected=f"<= {MAX_DEPTH}")
        for child in el:
            if not isinstance(child.tag, str):
                continue
            tag = etree.QName(child).localname
            where = f"{self.where} {tag} {child.get('ID', '')}".rstrip()
            if child.get("Visible", "true") == "false":
                continue
            if tag == "TextObject":
                self.text(child, _object_matrix(child, m, where), where)
            elif tag == "PathObject":
                self.path(child, _object_matrix(child, m, where), where)
            elif tag == "ImageObject":
                self.image(child, _object_matrix(child, m, where), where)
            elif tag == "CompositeObject":
                unit = self.res.units.get(child.get("ResourceID", ""))
                if unit is not None:
                    self.block(unit[1], _object_matrix(child, m, where), depth + 1)
            elif tag == "PageBlock":
                self.block(child, m, depth + 1)

    def text(self, el: etree._Element, m: Matrix, where: str) -> None:
        font = self.res.fonts.get(el.get("Font", ""), _Font("", False))
        size = _num(el.get("Size", "0"), f"{where} Size")
        weight = el.get("Weight")
        bold = font.bold or (weight is not None and weight.isdigit() and int(weight) >= 600)
        fill = None
        if el.get("Fill", "true") != "false":
            fill = _colour(el.find(q("FillColor")), self.res.spaces, (0, 0, 0, 255), f"{where} FillColor")
        if fill is None or size <= 0:
            return
        glyphs: list[Glyph] = []
        x = y = 0.0
        for code in el.iterfind(q("TextCode")):
            text = code.text or ""
            cx, cy = code.get("X"), code.get("Y")
            x = _num(cx, f"{where} X") if cx is not None else x
            y = _num(cy, f"{where} Y") if cy is not None else y
            if self.glyphs + len(text) > MAX_GLYPHS:
                raise UnsafePackage("too much text on a page", where=self.where, expected=f"<= {MAX_GLYPHS}")
            dx = _deltas(code.get("DeltaX"), len(text) - 1, f"{where} DeltaX")
            dy = _deltas(code.get("DeltaY"), len(text) - 1, f"{where} DeltaY")
            for i, ch in enumerate(text):
                if not ch.isspace():
                    gx, gy = _apply(m, (x, y))
                    glyphs.append(Glyph(ch, gx, gy))
                if i < len(text) - 1:
                    x += dx[i] if dx is not None else _advance(ch) * size
                    y += dy[i] if dy is not None else 0.0
                elif dx is None:
                    x += _advance(ch) * size
            self.glyphs += len(text)
        if glyphs:
            angle = math.degrees(math.atan2(m[1], m[0])) if (m[0] or m[1]) else 0.0
            self._add(TextItem(tuple(glyphs), size * _scale(m), font.name, bold, fill, round(angle, 3)))

    def path(self, el: etree._Element, m: Matrix, where: str) -> None:
        stroke = fill = None
        if el.get("Stroke", "true") != "false":
            stroke = _colour(
                el.find(q("StrokeColor")), self.res.spaces, (0, 0, 0, 255), f"{where} StrokeColor"
            )
        if el.get("Fill", "false") == "true":
            fill = _colour(el.find(q("FillColor")), self.res.spaces, (0, 0, 0, 255), f"{where} FillColor")
        if stroke is None and fill is None:
            return
        subpaths = _flatten(child_text(el, "AbbreviatedData") or "", m, where)
        self.points += sum(len(p) for p, _ in subpaths)
        if self.points > MAX_POINTS:
            raise UnsafePackage("paths too detailed", where=self.where, expected=f"<= {MAX_POINTS} points")
        width = _num(el.get("LineWidth", "0.353"), f"{where} LineWidth") * _scale(m)
        if subpaths:
            self._add(PathItem(tuple(subpaths), stroke, fill, width, el.get("Rule") == "Even-Odd"))

    def image(self, el: etree._Element, m: Matrix, where: str) -> None:
        found = self.res.images.get(el.get("ResourceID", ""))
        if found is not None:
            entry, fmt = found
            self._add(ImageItem(self.res.pkg.read(entry), fmt, m, entry))

    def stamp(self, box: list[float], picture: bytes, fmt: str) -> None:
        self._add(ImageItem(picture, fmt, (box[2], 0.0, 0.0, box[3], box[0], box[1]), "seal picture"))


def _advance(ch: str) -> float:
    """A glyph's advance in em when the file gives none: CJK one em, others half."""
    return 1.0 if ord(ch) >= 0x2E80 else 0.5


def _deltas(text: str | None, count: int, where: str) -> list[float] | None:
    """``DeltaX``/``DeltaY`` with the ``g N value`` repetition (§11.3); at most ``count`` values."""
    if not text:
        return None
    tokens = text.split()
    out: list[float] = []
    i = 0
    while i < len(tokens) and len(out) < count:
        if tokens[i] == "g":
            if i + 2 >= len(tokens):
                raise InvalidPackage("'g' needs a count and a value", where=where, value=text[:80])
            n = tokens[i + 1]
            if not (n.isascii() and n.isdigit()):
                raise InvalidPackage("'g' count is not a whole number", where=where, value=n[:20])
            room = count - len(out)  # a count beyond the text is cut to it (never expanded)
            out += [_num(tokens[i + 2], where)] * (room if len(n) > 9 else min(int(n), room))
            i += 3
        else:
            out.append(_num(tokens[i], where))
            i += 1
    return out + [out[-1] if out else 0.0] * (count - len(out))


_PATH_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARITY = {"S": 2, "M": 2, "L": 2, "Q": 4, "B": 6, "A": 7, "C": 0}


def _flatten(data: str, m: Matrix, where: str) -> list[tuple[tuple[Point, ...], bool]]:
    """``AbbreviatedData`` (§9.3.2: S M L Q B A C) as polylines in page mm."""
    if len(data) > 4 * MAX_POINTS:
        raise UnsafePackage("path data too long", where=where, expected=f"<= {4 * MAX_POINTS} characters")
    tokens = _PATH_TOKEN.findall(data)
    subpaths: list[tuple[tuple[Point, ...], bool]] = []
    current: list[Point] = []
    start = pos = (0.0, 0.0)
    i = 0

    def close(closed: bool) -> None:
        if len(current) > 1:
            subpaths.append((tuple(_apply(m, p) for p in current), closed))
        current.clear()

    while i < len(tokens):
        op = tokens[i]
        arity = _ARITY.get(op.upper())
        if arity is None:
            raise InvalidPackage("unknown path operator", where=f"{where} AbbreviatedData", value=op[:20])
        args = [_num(t, f"{where} AbbreviatedData") for t in tokens[i + 1 : i + 1 + arity]]
        if len(args) != arity:
            raise InvalidPackage(
                f"path operator {op} needs {arity} numbers", where=f"{where} AbbreviatedData"
            )
        i += 1 + arity
        op = op.upper()
        if op in ("S", "M"):
            close(False)
            start = pos = (args[0], args[1])
            current.append(pos)
        elif op == "C":
            if current:
                current.append(start)
            close(True)
            pos = start
        else:
            if not current:
                current.append(pos)
            end: Point = (args[-2], args[-1])
            if op == "L":
                current.append(end)
            elif op == "Q":
                current += _bezier([pos, (args[0], args[1]), end])
            elif op == "B":
                current += _bezier([pos, (args[0], args[1]), (args[2], args[3]), end])
            else:
                current += _arc(pos, args)
            pos = end
        if len(current) > MAX_POINTS:
            raise UnsafePackage("paths too detailed", where=where, expected=f"<= {MAX_POINTS} points")
    close(False)
    return subpaths


def _bezier(ctrl: list[Point]) -> Iterator[Point]:
    n = len(ctrl) - 1
    for step in range(1, _CURVE_STEPS + 1):
        t = step / _CURVE_STEPS
        coef = [math.comb(n, k) * (1 - t) ** (n - k) * t**k for k in range(n + 1)]
        yield (
            sum(c * p[0] for c, p in zip(coef, ctrl, strict=True)),
            sum(c * p[1] for c, p in zip(coef, ctrl, strict=True)),
        )


def _arc(p0: Point, args: list[float]) -> list[Point]:
    """An elliptical arc ``A rx ry angle large sweep x y`` (SVG's endpoint form) as points."""
    rx, ry, phi_deg, large, sweep, x1, y1 = args
    rx, ry = abs(rx), abs(ry)
    if rx == 0 or ry == 0 or (p0[0] == x1 and p0[1] == y1):
        return [(x1, y1)]
    phi = math.radians(phi_deg)
    cos, sin = math.cos(phi), math.sin(phi)
    dx, dy = (p0[0] - x1) / 2, (p0[1] - y1) / 2
    xp, yp = cos * dx + sin * dy, -sin * dx + cos * dy
    lam = (xp / rx) ** 2 + (yp / ry) ** 2
    if lam > 1:
        rx, ry = rx * math.sqrt(lam), ry * math.sqrt(lam)
    num = max(0.0, rx * rx * ry * ry - rx * rx * yp * yp - ry * ry * xp * xp)
    den = rx * rx * yp * yp + ry * ry * xp * xp
    k = math.sqrt(num / den) if den else 0.0
    if bool(large) == bool(sweep):
        k = -k
    cxp, cyp = k * rx * yp / ry, -k * ry * xp / rx
    cx = cos * cxp - sin * cyp + (p0[0] + x1) / 2
    cy = sin * cxp + cos * cyp + (p0[1] + y1) / 2
    t1 = math.atan2((yp - cyp) / ry, (xp - cxp) / rx)
    t2 = math.atan2((-yp - cyp) / ry, (-xp - cxp) / rx)
    dt = t2 - t1
    if sweep and dt < 0:
        dt += 2 * math.pi
    elif not sweep and dt > 0:
        dt -= 2 * math.pi
    steps = max(2, int(abs(dt) / (math.pi / 12)) + 1)
    out = []
    for s in range(1, steps + 1):
        t = t1 + dt * s / steps
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        out.append((cos * ex - sin * ey + cx, sin * ex + cos * ey + cy))
    out[-1] = (x1, y1)
    return out


# --- pages ---------------------------------------------------------------------------------------


def _layers(content: etree._Element | None) -> list[etree._Element]:
    """A page's layers in painting order: Background, Body, Foreground (§8.2, table 15)."""
    if content is None:
        return []
    layers = list(content.iterfind(q("Layer")))
    order = {"Background": 0, "Body": 1, "Foreground": 2}
    return sorted(layers, key=lambda layer: order.get(layer.get("Type", "Body"), 1))


def read_pages(pkg: OFDPackage, doc_index: int = 0, *, stamps: bool = True) -> tuple[PageView, ...]:
    """Every page of document ``doc_index`` as drawable items, with templates, annotations and,
    when ``stamps``, the pictures of its electronic seals (GB/T 38540 ``StampAnnot``).

    :param pkg: an opened OFD package.
    :param doc_index: which document of the package (``OFD.xml`` may list several).
    :param stamps: include the pictures of the electronic seals.
    :returns: the pages in order, each a :class:`PageView` in page millimetres.
    :raises InvalidPackage: for malformed page content.
    :raises UnsafePackage: for content over a bound (nesting, objects, glyphs, points, pages).
    """
    lookup = _Lookup(pkg)
    doc_root = pkg.doc_body(doc_index).doc_root
    root = pkg.xml(doc_root)
    common = root.find(q("CommonData"))
    if common is None:
        raise InvalidPackage("Document without CommonData", where=doc_root)
    res = _Resources(pkg, lookup)
    for local in ("PublicRes", "DocumentRes"):
        for el in common.iterfind(q(local)):
            res.add(lookup.need(doc_root, (el.text or "").strip(), local))
    default_box = _box_of(common.find(f"{q('PageArea')}/{q('PhysicalBox')}"), doc_root) or (210.0, 297.0)
    templates = {
        t.get("ID", ""): lookup.need(doc_root, t.get("BaseLoc"), "TemplatePage")
        for t in common.iterfind(q("TemplatePage"))
    }
    annotations = _annotations(pkg, lookup, doc_root, child_text(root, "Annotations"))
    seals = _seals(pkg, doc_index) if stamps else {}
    pages_el = root.find(q("Pages"))
    page_els = [] if pages_el is None else list(pages_el.iterfind(q("Page")))
    if len(page_els) > MAX_PAGES:
        raise UnsafePackage("too many pages", where=doc_root, value=len(page_els), expected=f"<= {MAX_PAGES}")
    parsed: dict[str, etree._Element] = {}  # templates, read once however many pages use them
    views: list[PageView] = []
    total = 0
    for page_el in page_els:
        page_id = page_el.get("ID", "")
        entry = lookup.need(doc_root, page_el.get("BaseLoc"), "Page")
        page_root = pkg.xml(entry)
        for pres in page_root.iterfind(q("PageRes")):
            res.add(lookup.need(entry, (pres.text or "").strip(), "PageRes"))
        size = _box_of(page_root.find(f"{q('Area')}/{q('PhysicalBox')}"), entry) or default_box
        page = _Page(res, entry)
        refs = list(page_root.iterfind(q("Template")))
        behind = [r for r in refs if r.get("ZOrder", "Background") == "Background"]
        for ref in behind:
            _template(page, pkg, templates.get(ref.get("TemplateID", "")), parsed)
        for layer in _layers(page_root.find(q("Content"))):
            page.block(layer, _IDENTITY, 1)
        for ref in refs:
            if ref not in behind:
                _template(page, pkg, templates.get(ref.get("TemplateID", "")), parsed)
        for appearance in annotations.get(page_id, ()):
            page.block(appearance, _object_matrix(appearance, _IDENTITY, f"{entry} Appearance"), 1)
        for box, picture, fmt in seals.get(page_id, ()):
            page.stamp(box, picture, fmt)
        total += len(page.items)
        if total > MAX_DOCUMENT_ITEMS:
            raise UnsafePackage(
                "too many objects in the document", where=doc_root, expected=f"<= {MAX_DOCUMENT_ITEMS}"
            )
        views.append(PageView(page_id, size[0], size[1], tuple(page.items)))
    if not views:
        raise InvalidPackage("document has no pages", where=doc_root)
    return tuple(views)


def _template(page: _Page, pkg: OFDPackage, entry: str | None, parsed: dict[str, etree._Element]) -> None:
    if entry is None:
        return
    if entry not in parsed:
        parsed[entry] = pkg.xml(entry)
    for layer in _layers(parsed[entry].find(q("Content"))):
        page.block(layer, _IDENTITY, 2)


def _box_of(el: etree._Element | None, where: str) -> tuple[float, float] | None:
    if el is None:
        return None
    box = _nums(el.text, 4, f"{where} PhysicalBox")
    if box[2] <= 0 or box[3] <= 0:
        raise InvalidPackage("page box has no area", where=where, value=el.text)
    return (box[2], box[3])


def _annotations(
    pkg: OFDPackage, lookup: _Lookup, doc_root: str, loc: str | None
) -> dict[str, list[etree._Element]]:
    """Page ID -> the visible annotation appearances (§15) to draw over it."""
    out: dict[str, list[etree._Element]] = {}
    if not loc:
        return out
    listing = lookup.need(doc_root, loc, "Annotations")
    for page in pkg.xml(listing).iterfind(q("Page")):
        entry = lookup.find(listing, child_text(page, "FileLoc") or "")
        if entry is None:
            continue
        for annot in pkg.xml(entry).iterfind(q("Annot")):
            if annot.get("Visible", "true") == "false":
                continue
            for appearance in annot.iterfind(q("Appearance")):
                if appearance.get("Boundary"):
                    out.setdefault(page.get("PageID", ""), []).append(appearance)
    return out


def _seals(pkg: OFDPackage, doc_index: int) -> dict[str, list[tuple[list[float], bytes, str]]]:
    """Page ID -> (box, picture, format) of each electronic seal whose picture is a bitmap."""
    from ecert.errors import EcertError
    from ecert.ofd.ses import SesSignature

    out: dict[str, list[tuple[list[float], bytes, str]]] = {}
    try:
        signatures = pkg.signatures(doc_index)
    except EcertError:
        return out  # a damaged signature list is the verifier's business; the page is still drawn
    for sig in signatures:
        if not sig.stamp_annots:
            continue
        try:
            seal = SesSignature.parse(sig.signed_value).seal
        except EcertError:
            continue  # not a GB/T 38540 seal (a plain signature has no picture)
        if seal is None:
            continue  # a seal that cannot be read has no picture to draw
        fmt = seal.picture_type.upper()
        if fmt not in ("PNG", "JPG", "JPEG", "BMP", "GIF"):
            continue  # an OFD or SVG seal picture is not drawn
        for stamp in sig.stamp_annots:
            try:
                box = _nums(stamp.boundary, 4, "StampAnnot Boundary")
            except EcertError:
                continue
            out.setdefault(stamp.page_ref, []).append((box, seal.picture_data, fmt))
    return out
