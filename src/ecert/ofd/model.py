"""What to write: a document as frozen values (GB/T 33190-2016 terms; lengths in millimetres).

Values check themselves when built (IDs positive and unique, fonts and images referenced exist,
DocID 32 hex digits), so :func:`ecert.ofd.writer.write` never meets an inconsistent document.
IDs of fonts, images and page objects are chosen by the caller (so that custom tags can point at
objects); the writer numbers pages and layers after the largest of them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from lxml import etree

from ecert.errors import InputError
from ecert.ofd.xmlsafe import parse_xml

__all__ = [
    "Attachment",
    "Box",
    "CustomTagFile",
    "DocInfo",
    "Document",
    "Font",
    "Image",
    "ImageObject",
    "Page",
    "PageObject",
    "PathObject",
    "TextObject",
]

Box = tuple[float, float, float, float]  # x y w h, mm (ST_Box)
RGB = tuple[int, int, int]
IMAGE_FORMATS = ("PNG", "JPEG")
_DOC_ID = re.compile(r"^[0-9a-f]{32}$")
_XS_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # xs:date without a zone
_XS_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
# what is not an XML 1.0 Char (§2.2: #x9 #xA #xD [#x20-#xD7FF] [#xE000-#xFFFD] [#x10000-#x10FFFF]),
# spelled as the few ranges left out: the negated class of the allowed ranges took 14 ms to compile
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _check_xml(what: str, *values: str | None) -> None:
    """Refuse characters XML 1.0 cannot carry (a writer would otherwise fail later)."""
    for value in values:
        if value is not None and _NOT_XML.search(value):
            raise InputError("character not allowed in XML", where=what, value=value)


# The writer puts these values into XML as text (ofd.writer writes the parts as text, not through
# lxml): only a plain int or float is written as what it is.  An int subclass could print itself as
# markup, a bool prints "True", and NaN or infinity is no ST_Box a reader accepts.


def _check_id(value: int, what: str) -> None:
    if type(value) is not int or value <= 0:
        raise InputError(f"{what} ID must be a positive integer", value=repr(value))


def _check_numbers(what: str, *values: float) -> None:
    for v in values:
        if type(v) not in (int, float) or not math.isfinite(v):
            raise InputError(f"{what} must be finite numbers", value=repr(v))


def _check_box(box: Box, what: str) -> None:
    """ST_Box: GB/T 33190 table 2 wants width and height above 0 (ofdrw's ST_Box refuses others)."""
    if len(box) != 4 or not box[2] > 0 or not box[3] > 0:
        raise InputError(f"{what} boundary must be (x, y, w, h) with w, h > 0", value=repr(box))
    _check_numbers(f"{what} boundary", *box)


def _check_rgb(rgb: RGB | None, what: str) -> None:
    if rgb is not None and (
        len(rgb) != 3 or any(type(c) is not int or not 0 <= c <= 255 for c in rgb)
    ):
        raise InputError(f"{what} colour must be three integers 0..255", value=repr(rgb))


@dataclass(frozen=True, slots=True)
class Font:
    """``ofd:Font``: by name (readers substitute a system CJK font) or with an embedded file."""

    id: int
    font_name: str = "SimSun"
    family_name: str | None = "宋体"
    font_file: bytes | None = None  # TrueType/OpenType bytes to embed (FontFile)

    def __post_init__(self) -> None:
        _check_id(self.id, "font")
        if not self.font_name:
            raise InputError("font name is empty", where=f"font {self.id}")
        _check_xml(f"font {self.id}", self.font_name, self.family_name)


@dataclass(frozen=True, slots=True)
class Image:
    """An image resource (``ofd:MultiMedia Type="Image"``)."""

    id: int
    data: bytes
    format: str = "PNG"

    def __post_init__(self) -> None:
        _check_id(self.id, "image")
        if self.format not in IMAGE_FORMATS:
            raise InputError("unsupported image format", where=f"image {self.id}", value=self.format,
                             expected=" or ".join(IMAGE_FORMATS))


@dataclass(frozen=True, slots=True)
class TextObject:
    """``ofd:TextObject`` with one ``TextCode`` (§11): X, Y (baseline) relative to the boundary."""

    id: int
    boundary: Box
    font: int
    size: float
    text: str
    fill: RGB = (0, 0, 0)
    x: float = 0.0
    y: float | None = None  # baseline; default: the font size
    delta_x: tuple[float, ...] | None = None  # advance between characters (len(text) - 1 values)

    def __post_init__(self) -> None:
        _check_id(self.id, "text object")
        _check_id(self.font, f"text object {self.id}: font")
        _check_box(self.boundary, f"text object {self.id}")
        _check_numbers(f"text object {self.id}: size, X and Y", self.size, self.x,
                       self.size if self.y is None else self.y)
        if self.delta_x is not None:
            _check_numbers(f"text object {self.id}: DeltaX", *self.delta_x)
        _check_rgb(self.fill, f"text object {self.id}")
        _check_xml(f"text object {self.id}", self.text)
        if not self.text or self.size <= 0:
            raise InputError("text object needs text and a positive size", where=f"text object {self.id}")
        if self.delta_x is not None and len(self.delta_x) != len(self.text) - 1:
            raise InputError("DeltaX needs one value per gap between characters",
                             where=f"text object {self.id}", value=len(self.delta_x),
                             expected=str(len(self.text) - 1))


@dataclass(frozen=True, slots=True)
class ImageObject:
    """``ofd:ImageObject``: an image resource drawn into its boundary."""

    id: int
    boundary: Box
    resource: int

    def __post_init__(self) -> None:
        _check_id(self.id, "image object")
        _check_id(self.resource, f"image object {self.id}: resource")
        _check_box(self.boundary, f"image object {self.id}")


@dataclass(frozen=True, slots=True)
class PathObject:
    """``ofd:PathObject`` with ``AbbreviatedData`` (§9.3, e.g. ``"M 0 0 L 10 0 C ... B"``)."""

    id: int
    boundary: Box
    data: str
    stroke: RGB | None = (0, 0, 0)
    fill: RGB | None = None
    line_width: float = 0.353

    def __post_init__(self) -> None:
        _check_id(self.id, "path object")
        _check_box(self.boundary, f"path object {self.id}")
        _check_numbers(f"path object {self.id}: line width", self.line_width)
        _check_rgb(self.stroke, f"path object {self.id}")
        _check_rgb(self.fill, f"path object {self.id}")
        if not self.data.strip():
            raise InputError("path data is empty", where=f"path object {self.id}")
        _check_xml(f"path object {self.id}", self.data)


PageObject = TextObject | ImageObject | PathObject


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its objects, drawn in order on one layer."""

    objects: tuple[PageObject, ...] = ()


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to the document (§20)."""

    name: str
    data: bytes
    format: str
    creation_date: str | None = None  # default: the document's CreationDate

    def __post_init__(self) -> None:
        if not self.name:
            raise InputError("attachment name is empty")
        _check_xml("attachment", self.name, self.format, self.creation_date)
        if self.creation_date is not None and not (_XS_DATE.match(self.creation_date)
                                                   or _XS_DATETIME.match(self.creation_date)):
            # Attachments.xsd: CreationDate is xs:dateTime (a date alone is written as midnight)
            raise InputError("attachment creation date must be YYYY-MM-DD or an xs:dateTime",
                             where=f"attachment {self.name!r}", value=self.creation_date)


@dataclass(frozen=True, slots=True)
class CustomTagFile:
    """A custom tag file (§16): well-formed XML of the given type.

    ``namespace`` defaults to the namespace of the file's root element: CustomTags.xsd requires
    ``NameSpace`` and ofdrw (GB/T 33190 table 63) requires ``TypeID``, so both are always written.
    """

    type_id: str
    xml: bytes
    namespace: str | None = None

    def __post_init__(self) -> None:
        _check_xml("custom tag", self.type_id, self.namespace)
        root = parse_xml(self.xml, f"custom tag {self.type_id!r}")
        if not self.type_id:
            raise InputError("custom tag TypeID is empty")
        if self.namespace is None:
            object.__setattr__(self, "namespace", etree.QName(root).namespace)
        if not self.namespace:
            raise InputError("custom tag needs a namespace (given, or of the file's root element)",
                             where=f"custom tag {self.type_id!r}")


@dataclass(frozen=True, slots=True)
class DocInfo:
    """``ofd:DocInfo`` to write; ``custom_datas`` become ``ofd:CustomData Name=...`` in order."""

    doc_id: str
    creation_date: str
    title: str | None = None
    author: str | None = None
    creator: str | None = "ecert"
    creator_version: str | None = None
    custom_datas: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not _DOC_ID.match(self.doc_id):
            raise InputError("DocID must be 32 lower-case hex digits", value=self.doc_id)
        if not _XS_DATE.match(self.creation_date):  # OFD.xsd CT_DocInfo: CreationDate is xs:date
            raise InputError("CreationDate must be YYYY-MM-DD", value=self.creation_date)
        _check_xml("DocInfo", self.creation_date, self.title, self.author, self.creator, self.creator_version,
                   *(t for pair in self.custom_datas for t in pair))
        names = [n for n, _ in self.custom_datas]
        if len(set(names)) != len(names) or not all(names):
            raise InputError("CustomData names must be non-empty and unique", value=names)


@dataclass(frozen=True, slots=True)
class Document:
    """A whole document to write: pages, resources, attachments, tags, metadata."""

    doc_info: DocInfo
    pages: tuple[Page, ...]
    fonts: tuple[Font, ...] = ()
    images: tuple[Image, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    custom_tags: tuple[CustomTagFile, ...] = ()
    page_size: tuple[float, float] = (210.0, 297.0)

    def __post_init__(self) -> None:
        if not self.pages:
            raise InputError("a document needs at least one page")
        if len(self.page_size) != 2 or not all(v > 0 for v in self.page_size):  # PhysicalBox is an ST_Box
            raise InputError("page size must be two lengths above 0", value=self.page_size)
        ids = [f.id for f in self.fonts] + [i.id for i in self.images]
        ids += [o.id for p in self.pages for o in p.objects]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise InputError("object IDs must be unique", value=dupes)
        fonts, images = {f.id for f in self.fonts}, {i.id for i in self.images}
        for page in self.pages:
            for obj in page.objects:
                if isinstance(obj, TextObject) and obj.font not in fonts:
                    raise InputError("text object uses an unknown font", where=f"text object {obj.id}",
                                     value=obj.font)
                if isinstance(obj, ImageObject) and obj.resource not in images:
                    raise InputError("image object uses an unknown image", where=f"image object {obj.id}",
                                     value=obj.resource)
        names = [a.name for a in self.attachments]
        if len(set(names)) != len(names):
            raise InputError("attachment names must be unique", value=names)

    def page_id(self, index: int) -> int:
        """The ID the writer gives page ``index`` (for ``ObjectRef PageRef=`` in custom tags)."""
        if not 0 <= index < len(self.pages):
            raise InputError("no such page", value=index, expected=f"0..{len(self.pages) - 1}")
        return self.max_object_id() + 1 + index

    def max_object_id(self) -> int:
        """The largest caller-chosen ID (fonts, images, page objects); the writer numbers after it."""
        ids = [f.id for f in self.fonts] + [i.id for i in self.images]
        return max([*ids, *(o.id for p in self.pages for o in p.objects)], default=0)
