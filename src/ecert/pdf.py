"""The pages of an OFD file as a vector PDF (ISO 32000-1): text as text, paths as paths.

A certificate printed or archived as PDF should stay what the OFD page is: text a reader can
select and search (the holder's name, the number, the identifier), lines as lines at any zoom,
the QR code losslessly (its modules stay sharp), photo and seal as images.  The page content
comes from :mod:`ecert.ofd.page`, as for the PNG face (:mod:`ecert.paint`), so both show the same
glyphs at the same positions in the same font.

Text is set glyph by glyph at the positions the OFD file gives (``Tm`` per glyph), in a Type 0
font with ``Identity-H`` encoding over the face font — the CJK font :func:`ecert.render.find_cjk_font`
finds — **subsetted** to the glyphs used (fontTools) and embedded (``CIDFontType0C`` for CFF
outlines such as Noto CJK, ``FontFile2`` for TrueType outlines), with widths (``W``) and a
``ToUnicode`` map so that copied text is the text.

Why hand-written objects and not a PDF library: the pages are already laid out to the glyph, so
what is needed is a thin writer of positioned glyphs, paths and images; reportlab cannot embed
fonts with CFF outlines (Noto CJK, which the project installs), and fpdf2 lays text out in cells
of its own.  fontTools, the well-kept font library (in the ``pdf`` extra), does the hard part:
subsetting.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from ecert.errors import FontNotFound, InputError
from ecert.face import IMAGE_ERRORS
from ecert.ofd.page import ImageItem, PageView, PathItem, TextItem

if TYPE_CHECKING:
    from ecert.render import Fonts

__all__ = ["MM", "vector_pdf"]

MM = 72 / 25.4  # PDF points per millimetre
_MAX_IMAGE_PIXELS = 25_000_000
_MISSING = (200, 200, 200)
_UNUSED_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "VORG", "vhea", "vmtx", "DSIG", "morx", "kerx")


def _n(v: float) -> str:
    """A number as PDF writes it: short, no exponent."""
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _rg(rgba: tuple[int, int, int, int]) -> str:
    return " ".join(_n(c / 255) for c in rgba[:3])


class _Objects:
    """Numbered indirect objects, written in order with a cross-reference table."""

    def __init__(self) -> None:
        self.bodies: list[bytes | None] = []

    def reserve(self) -> int:
        self.bodies.append(None)
        return len(self.bodies)

    def put(self, body: bytes | str, number: int | None = None) -> int:
        raw = body.encode("latin-1") if isinstance(body, str) else body
        if number is None:
            self.bodies.append(raw)
            return len(self.bodies)
        self.bodies[number - 1] = raw
        return number

    def stream(
        self, data: bytes, entries: str = "", *, compress: bool = True, number: int | None = None
    ) -> int:
        if compress:
            data, entries = zlib.compress(data, 9), f"{entries} /Filter /FlateDecode"
        head = f"<< /Length {len(data)} {entries.strip()} >>\nstream\n".encode("latin-1")
        return self.put(head + data + b"\nendstream", number)

    def write(self, root: int, info: int) -> bytes:
        out = io.BytesIO()
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(self.bodies, start=1):
            assert body is not None, f"object {i} reserved but never written"
            offsets.append(out.tell())
            out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
        xref = out.tell()
        out.write(f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode())
        for off in offsets:
            out.write(f"{off:010d} 00000 n \n".encode())
        out.write(
            f"trailer\n<< /Size {len(offsets) + 1} /Root {root} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n".encode()
        )
        return out.getvalue()


@dataclass(eq=False)  # one object per font file: compared (and hashed) by identity
class _Font:
    """One face font (regular or bold): the characters used on all pages, subsetted at the end."""

    path: Path
    resource: str
    chars: set[str] = field(default_factory=set)
    codes: dict[str, int] = field(default_factory=dict)  # char -> 2-byte code in the content stream
    advances: dict[str, list[float]] = field(default_factory=dict)  # char -> advances seen, in em

    def use(self, item: TextItem) -> None:
        """Note the characters of ``item`` and how far the page moves after each (its advance)."""
        glyphs = item.glyphs
        self.chars.update(g.char for g in glyphs)
        for g, after in itertools.pairwise(glyphs):
            dx = after.x - g.x
            if abs(after.y - g.y) < 1e-6 and dx > 0:
                self.advances.setdefault(g.char, []).append(dx / item.size)


def _load(path: Path) -> Any:
    try:
        from fontTools.ttLib import TTFont, TTLibError
    except ImportError:  # pragma: no cover - the pdf extra brings it
        raise InputError(
            "a PDF face needs fontTools to embed its font", expected="pip install 'ecert[pdf]'"
        ) from None
    try:
        kwargs = {"fontNumber": 0} if path.suffix.lower() in (".ttc", ".otc") else {}
        font = TTFont(str(path), lazy=True, **kwargs)  # index 0: the face PNG (pillow) draws with it
        for tag in _UNUSED_TABLES:  # glyphs are placed one by one: no shaping, no vertical metrics
            if tag in font:
                del font[tag]  # before the subsetter reads them (half its time on a CJK font)
        return font
    except (TTLibError, OSError, ValueError) as exc:
        raise FontNotFound(f"cannot read the font {str(path)!r} to embed it ({exc})") from None


def _subset(font: _Font) -> tuple[Any, bool]:
    """(the subsetted font, whether its outlines are CFF); fills ``font.codes``."""
    from fontTools import subset

    tt = _load(font.path)
    cmap = tt.getBestCmap() or {}
    unicodes = sorted({ord(c) for c in font.chars if ord(c) in cmap})
    options = subset.Options()
    options.layout_features = []  # glyphs are placed one by one: no shaping tables needed
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.desubroutinize = True
    options.hinting = False
    sub = subset.Subsetter(options)
    sub.populate(unicodes=unicodes)
    sub.subset(tt)
    cff = "CFF " in tt
    cid_keyed = cff and hasattr(tt["CFF "].cff.topDictIndex[0], "ROS")
    new_cmap = tt.getBestCmap() or {}
    for ch in font.chars:
        name = new_cmap.get(ord(ch))
        if name is None:
            font.codes[ch] = 0  # .notdef, as the PNG draws a character the font lacks
        elif cid_keyed and name.startswith("cid"):
            font.codes[ch] = int(name[3:])  # Identity-H code = CID, looked up through the CFF charset
        else:
            font.codes[ch] = tt.getGlyphID(name)  # CID = GID (CIDToGIDMap Identity; name-keyed CFF)
    return tt, cff


def _to_unicode(codes: dict[str, int]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    pairs = sorted((code, ch) for ch, code in codes.items() if code)
    for i in range(0, len(pairs), 100):
        block = pairs[i : i + 100]
        lines.append(f"{len(block)} beginbfchar")
        lines += [f"<{code:04X}> <{ch.encode('utf-16-be').hex().upper()}>" for code, ch in block]
        lines.append("endbfchar")
    lines += ["endcmap CMapName currentdict /CMap defineresource pop end end"]
    return "\n".join(lines).encode("ascii")


def _embed_font(objs: _Objects, font: _Font, number: int) -> None:
    tt, cff = _subset(font)
    scale = 1000 / tt["head"].unitsPerEm
    hmtx, cmap = tt["hmtx"], tt.getBestCmap() or {}
    widths: dict[int, int] = {}
    for ch, code in font.codes.items():
        own = hmtx[cmap.get(ord(ch), ".notdef")][0] * scale
        seen = sorted(font.advances.get(ch, ()))
        # the width a text extractor measures the glyph by: the advance the page gives it (so
        # "1.2.156" is not read as "1. 2. 156"), capped at one em (wider gaps are real spaces);
        # drawing is unaffected, every glyph is placed by its own Tm
        placed = min(seen[len(seen) // 2] * 1000, 1000.0) if seen else 0.0
        widths[code] = max(widths.get(code, 0), round(max(own, placed)))
    w = " ".join(f"{code} [{width}]" for code, width in sorted(widths.items()))
    ps_name = "".join(c for c in tt["name"].getDebugName(6) or "Face" if c.isalnum() or c in "-_") or "Face"
    # the subset tag (ISO 32000-1 §9.6.4): six capitals, the same for the same subset
    seed = hashlib.sha256(f"{ps_name}{sorted(font.codes.values())}".encode()).digest()
    tag = "".join(chr(65 + byte % 26) for byte in seed[:6])
    base = f"{tag}+{ps_name}"
    head = tt["head"]
    bbox = " ".join(_n(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax))
    os2 = tt.get("OS/2")
    ascent = round((os2.sTypoAscender if os2 else head.yMax) * scale)
    descent = round((os2.sTypoDescender if os2 else head.yMin) * scale)
    cap = round((getattr(os2, "sCapHeight", 0) or ascent) * scale) if os2 else ascent
    if cff:
        data = tt["CFF "].compile(tt)
        program = objs.stream(data, "/Subtype /CIDFontType0C")
        file_key, subtype, extra = "FontFile3", "CIDFontType0", ""
    else:
        buf = io.BytesIO()
        tt.save(buf)
        program = objs.stream(buf.getvalue(), f"/Length1 {len(buf.getvalue())}")
        file_key, subtype, extra = "FontFile2", "CIDFontType2", " /CIDToGIDMap /Identity"
    descriptor = objs.put(
        f"<< /Type /FontDescriptor /FontName /{base} /Flags 4 /FontBBox [{bbox}] /ItalicAngle 0 "
        f"/Ascent {ascent} /Descent {descent} /CapHeight {cap} /StemV 80 /{file_key} {program} 0 R >>"
    )
    cid_font = objs.put(
        f"<< /Type /Font /Subtype /{subtype} /BaseFont /{base} "
        f"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        f"/FontDescriptor {descriptor} 0 R /DW 1000 /W [{w}]{extra} >>"
    )
    to_unicode = objs.stream(_to_unicode(font.codes))
    objs.put(
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H "
        f"/DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>",
        number,
    )


@dataclass
class _Page:
    """One page's content stream being written, and the resources it names."""

    view: PageView
    ops: list[str] = field(default_factory=list)
    images: dict[str, int] = field(default_factory=dict)
    alphas: dict[str, float] = field(default_factory=dict)

    def y(self, mm: float) -> float:
        return (self.view.height - mm) * MM

    def alpha(self, a: int) -> None:
        if a < 255:
            name = f"GA{a}"
            self.alphas[name] = a / 255
            self.ops.append(f"/{name} gs")


def _text(page: _Page, font: _Font, item: TextItem) -> None:
    if item.fill[3] == 0 or item.size <= 0:
        return
    font.use(item)
    size = item.size * MM
    t = math.radians(item.angle)
    cos, sin = math.cos(t), math.sin(t)
    page.ops.append("q")
    page.alpha(item.fill[3])
    page.ops.append(f"BT /{font.resource} 1 Tf {_rg(item.fill)} rg")
    for g in item.glyphs:
        m = (size * cos, -size * sin, size * sin, size * cos, g.x * MM, page.y(g.y))
        page.ops.append(f"{' '.join(_n(v) for v in m)} Tm <%%{ord(g.char):06X}%%> Tj")
    page.ops.append("ET Q")


def _path(page: _Page, item: PathItem) -> None:
    stroke = item.stroke is not None and item.stroke[3] > 0
    fill = item.fill is not None and item.fill[3] > 0
    if not (stroke or fill):
        return
    page.ops.append("q 1 j 1 J")
    if item.stroke is not None and stroke:
        page.ops.append(f"{_rg(item.stroke)} RG {_n(max(item.line_width, 0.0) * MM)} w")
        page.alpha(item.stroke[3])
    if item.fill is not None and fill:
        page.ops.append(f"{_rg(item.fill)} rg")
    for points, closed in item.subpaths:
        if not points:
            continue
        (x0, y0), *rest = points
        page.ops.append(f"{_n(x0 * MM)} {_n(page.y(y0))} m")
        page.ops += [f"{_n(x * MM)} {_n(page.y(y))} l" for x, y in rest]
        if closed:
            page.ops.append("h")
    star = "*" if item.even_odd else ""
    page.ops.append(("B" + star) if stroke and fill else ("f" + star) if fill else "S")
    page.ops.append("Q")


def _decode(item: ImageItem) -> Image.Image | None:
    try:
        img = Image.open(io.BytesIO(item.data))
        if img.width * img.height > _MAX_IMAGE_PIXELS:
            return None
        img.load()
    except IMAGE_ERRORS:
        return None
    return img


def _image_object(objs: _Objects, item: ImageItem) -> int | None:
    """The image as a PDF XObject, losslessly (Flate; a JPEG photo passes through as it is)."""
    img = _decode(item)
    if img is None:
        return None
    w, h = img.size
    if img.format == "JPEG" and img.mode in ("RGB", "L"):
        space = "DeviceRGB" if img.mode == "RGB" else "DeviceGray"
        return objs.stream(
            item.data,
            f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /{space} "
            "/BitsPerComponent 8 /Filter /DCTDecode",
            compress=False,
        )
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    gray = img.mode in ("1", "L", "LA") or (img.mode == "P" and _is_gray(img))
    base = img.convert("LA" if gray else "RGBA") if has_alpha else img.convert("L" if gray else "RGB")
    smask = ""
    if has_alpha:
        alpha = base.getchannel("A")
        base = base.convert("L" if gray else "RGB")
        mask = objs.stream(
            alpha.tobytes(),
            f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray "
            "/BitsPerComponent 8",
        )
        smask = f" /SMask {mask} 0 R"
    space = "DeviceGray" if gray else "DeviceRGB"
    return objs.stream(
        base.tobytes(),
        f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /{space} "
        f"/BitsPerComponent 8{smask}",
    )


def _is_gray(img: Image.Image) -> bool:
    palette = img.getpalette() or []
    return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))


def _rgb(colour: tuple[int, ...] | float) -> tuple[int, int, int]:
    if isinstance(colour, tuple):
        return (int(colour[0]), int(colour[1]), int(colour[2])) if len(colour) >= 3 else (colour[0],) * 3
    return (int(colour),) * 3


def _bilevel(img: Image.Image) -> tuple[tuple[int, int, int], tuple[int, int, int], list[str]] | None:
    """A picture of exactly two opaque colours (a QR code) as rectangles of its dark pixels, or None.

    Drawn as paths, its modules stay sharp at any zoom and any printer or screen resolution (an
    image scaled down without smoothing loses whole module columns, and a code stops scanning).
    Rows that repeat (every pixel row of a module) make one band; each band's dark runs one ``re``.
    """
    if img.mode not in ("1", "L", "P", "RGB") or img.width * img.height > 4_000_000:
        return None
    rgb = img.convert("RGB")
    colours = rgb.getcolors(2)
    if colours is None or len(colours) != 2:
        return None
    one, two = (_rgb(c) for _, c in colours)
    dark, light = (one, two) if sum(one) < sum(two) else (two, one)
    gray = rgb.convert("L")
    levels = sorted(_rgb(v)[0] for _, v in gray.getcolors(2) or ())
    if len(levels) != 2 or levels[0] == levels[1]:
        return None  # two colours of the same grey level: keep the picture
    run = re.compile(re.escape(bytes([levels[0]])) + b"+")
    data, w, h = gray.tobytes(), img.width, img.height
    rects: list[str] = []
    y = 0
    while y < h:
        row = data[y * w : (y + 1) * w]
        end = y + 1
        while end < h and data[end * w : (end + 1) * w] == row:
            end += 1
        for found in run.finditer(row):
            x0, x1 = found.span()
            rects.append(f"{x0 / w:.6f} {1 - end / h:.6f} {(x1 - x0) / w:.6f} {(end - y) / h:.6f} re")
        if len(rects) > 50_000:
            return None  # a photograph-like picture: an image is smaller
        y = end
    return dark, light, rects


def _image(objs: _Objects, page: _Page, item: ImageItem) -> None:
    a, b, c, d, e, f = item.matrix
    height = page.view.height
    # unit square (PDF: v up, image row 0 at v = 1) -> OFD (w down) -> page points (y up)
    m = (a * MM, -b * MM, -c * MM, d * MM, (c + e) * MM, (height - d - f) * MM)
    img = _decode(item)
    vector = _bilevel(img) if img is not None else None
    if vector is not None:
        dark, light, rects = vector
        light_rgba, dark_rgba = (*light, 255), (*dark, 255)
        page.ops.append(f"q {' '.join(_n(v) for v in m)} cm {_rg(light_rgba)} rg 0 0 1 1 re f")
        page.ops.append(f"{_rg(dark_rgba)} rg")
        page.ops += rects
        page.ops.append("f Q")
        return
    number = _image_object(objs, item)
    if number is None:  # a picture no reader here can decode: a grey box with a cross, as the PNG
        x, y, w, h = item.box
        box = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
        lines = ((box, True), (((x, y), (x + w, y + h)), False), (((x, y + h), (x + w, y)), False))
        _path(page, PathItem(lines, (*_MISSING, 255), None, 0.3))
        return
    name = f"Im{len(page.images) + 1}"
    page.images[name] = number
    page.ops.append(f"q {' '.join(_n(v) for v in m)} cm /{name} Do Q")


def vector_pdf(pages: Sequence[PageView], fonts: Fonts, *, title: str = "") -> bytes:
    """A PDF of ``pages`` (from :func:`ecert.ofd.page.read_pages`), each sized as the OFD page.

    :param pages: the pages to write, at least one.
    :param fonts: the face fonts (:class:`ecert.render.Fonts`); the ones used are embedded, subsetted.
    :param title: the document title (``/Info``), e.g. the certificate's identifier.
    :returns: the PDF file's bytes.
    :raises InputError: for no pages.
    :raises FontNotFound: when the face font cannot be read to embed it.
    """
    if not pages:
        raise InputError("a PDF needs at least one page", where="pages")
    objs = _Objects()
    regular = _Font(fonts.path(False), "F1")
    bold = _Font(fonts.path(True), "F2") if fonts.path(True) != fonts.path(False) else regular
    drawn: list[_Page] = []
    for view in pages:
        page = _Page(view)
        for item in view.items:
            if isinstance(item, TextItem):
                _text(page, bold if item.bold else regular, item)
            elif isinstance(item, PathItem):
                _path(page, item)
            else:
                _image(objs, page, item)
        drawn.append(page)
    used = [f for f in dict.fromkeys((regular, bold)) if f.chars]
    font_numbers = {f.resource: objs.reserve() for f in used}
    for f in used:
        _embed_font(objs, f, font_numbers[f.resource])
    codes = {f.resource: f.codes for f in used}
    page_tree = objs.reserve()
    kids = []
    for page in drawn:
        content = _content(page, codes)
        stream = objs.stream(content)
        fonts_res = " ".join(f"/{r} {n} 0 R" for r, n in font_numbers.items())
        images = " ".join(f"/{k} {v} 0 R" for k, v in page.images.items())
        states = " ".join(f"/{k} << /ca {_n(v)} /CA {_n(v)} >>" for k, v in page.alphas.items())
        resources = f"<< /Font << {fonts_res} >> /XObject << {images} >> /ExtGState << {states} >> >>"
        w, h = page.view.width * MM, page.view.height * MM
        kids.append(
            objs.put(
                f"<< /Type /Page /Parent {page_tree} 0 R /MediaBox [0 0 {_n(w)} {_n(h)}] "
                f"/Resources {resources} /Contents {stream} 0 R >>"
            )
        )
    objs.put(f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>", page_tree)
    root = objs.put(f"<< /Type /Catalog /Pages {page_tree} 0 R >>")
    info = objs.put(f"<< /Producer (ecert) /Title <FEFF{title.encode('utf-16-be').hex().upper()}> >>")
    return objs.write(root, info)


def _content(page: _Page, codes: dict[str, dict[str, int]]) -> bytes:
    """The page's operators, each glyph placeholder replaced by its code in the font it is set in."""
    out = []
    current: dict[str, int] = {}
    for op in page.ops:
        if op.startswith("BT /"):
            current = codes.get(op.split()[1][1:], {})
        if "<%%" in op:
            head, rest = op.split("<%%", 1)
            hexcp, tail = rest.split("%%>", 1)
            op = f"{head}<{current.get(chr(int(hexcp, 16)), 0):04X}>{tail}"
        out.append(op)
    return "\n".join(out).encode("latin-1")
