"""The files an annotated copy adds around its original, built the same way by maker and verifier.

An OFD signature covers ``OFD.xml`` and ``Document.xml``, so an annotation layer cannot be added to
the original's document without breaking its signature (what vendors who watermark a signed file
do).  The copy is a new document around the untouched original instead (``spec/annotated-copy.md``):

* ``OFD.xml`` — the copy's root: DocInfo with the original's CustomDatas and the JZJ fields;
* every other file of the original at its own path, byte for byte (pages, resources, attachments,
  the original's signature files), so a reader draws the original's pages;
* ``Copy/Document.xml`` — the copy's document: the original's pages and resources by absolute
  location, a font for the watermark, the annotation layer and the copy's attachments;
* ``Copy/Annots/…`` — one ``Watermark`` annotation per watermark line on every page;
* ``Copy/Attachs/ecert-annotated-copy.xml`` (the copy metadata) and ``Copy/Attachs/original.ofd``
  (the original file itself: its SM3 is in the metadata, its signature verifies as issued).

:func:`build_layer` is deterministic: the verifier rebuilds the layer from the copy metadata and the
original and requires the copy to hold exactly those bytes, so a watermark, custom data or
document that disagrees with the signed metadata fails even when the copy's signature is intact.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from ecert.annotate.model import KEYS, CopyMetadata
from ecert.annotate.names import (
    COPY_DIR,
    DOCUMENT_ENTRY,
    METADATA_ENTRY,
    METADATA_NAME,
    ORIGINAL_ENTRY,
    ORIGINAL_NAME,
    SIGNATURES_LOC,
)
from ecert.errors import EcertError, InvalidAnnotatedCopy
from ecert.ofd.namespaces import NSMAP, OFD_ENTRY, q
from ecert.ofd.reader import OFDPackage, resolve
from ecert.ofd.writer import xml_bytes
from ecert.times import china_date

__all__ = [
    "COPY_DIR",
    "DOCUMENT_ENTRY",
    "METADATA_ENTRY",
    "METADATA_NAME",
    "ORIGINAL_ENTRY",
    "ORIGINAL_NAME",
    "SIGNATURES_LOC",
    "WATERMARK",
    "Watermark",
    "build_layer",
    "original_files",
]

_FONT_ENTRY = f"{COPY_DIR}/PublicRes.xml"
# Document.xml children the copy can carry over by location (anything else would be lost)
_DOCUMENT_CHILDREN = frozenset({"CommonData", "Pages", "CustomTags", "Attachments"})
_COMMON_CHILDREN = frozenset({"MaxUnitID", "PageArea", "PublicRes", "DocumentRes"})


@dataclass(frozen=True, slots=True)
class Watermark:
    """How the watermark is laid out (lengths in mm): columns of text turned a quarter turn
    clockwise (read top to bottom), the sentence repeated ``repeats`` times across the page.

    A quarter turn because on it GB/T 33190's ``CTM`` and readers that mishandle rotated
    annotation text agree (easyofd turns any other angle upside down: docs/annotated-copy-check.md);
    every character advances one em, so a reader that estimates the width as ``size × length``
    puts the text where the file says.  Each column is its own annotation (some readers draw every
    text of one annotation at its Appearance origin).  A translucent red (``alpha`` of 255) keeps
    the face legible under it.
    """

    size: float = 4.2
    column_gap: float = 6.0  # column to column within one repetition of the sentence
    repeats: int = 3
    margin: float = 14.0
    colour: tuple[int, int, int] = (200, 30, 30)
    alpha: int = 96


WATERMARK = Watermark()


def _num(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _el(parent: etree._Element, local: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, q(local), attrs)
    if text is not None:
        child.text = text
    return child


def _root(local: str, **attrs: str) -> etree._Element:
    return etree.Element(q(local), attrs, nsmap=NSMAP)


def _absolute(entry: str) -> str:
    return "/" + entry


# --- the original, as the copy sees it -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Original:
    doc_root: str
    page_ids: tuple[str, ...]
    page_entries: tuple[str, ...]
    page_size: tuple[float, float]
    max_unit_id: int
    public_res: tuple[str, ...]
    document_res: tuple[str, ...]
    custom_tags: str | None
    title: str | None
    custom_datas: tuple[tuple[str, str], ...]


def _read_original(pkg: OFDPackage) -> _Original:
    """What the copy document takes from the original; refuse what it could not carry over."""
    bodies = pkg.doc_bodies()
    if len(bodies) != 1:
        raise InvalidAnnotatedCopy(
            "the original must hold exactly one document", where="original OFD.xml", value=len(bodies)
        )
    body = bodies[0]
    doc = pkg.document(0)
    root = pkg.xml(body.doc_root)
    extra = sorted({etree.QName(c).localname for c in root if isinstance(c.tag, str)} - _DOCUMENT_CHILDREN)
    common = root.find(q("CommonData"))
    assert common is not None  # read_document refused a Document without it
    extra += sorted({etree.QName(c).localname for c in common if isinstance(c.tag, str)} - _COMMON_CHILDREN)
    if extra:
        raise InvalidAnnotatedCopy(
            "the original's document has parts an annotated copy cannot carry over",
            where=body.doc_root,
            value=extra,
            expected=", ".join(sorted(_DOCUMENT_CHILDREN | _COMMON_CHILDREN)),
        )
    if not doc.pages or doc.physical_box is None or doc.max_unit_id is None:
        raise InvalidAnnotatedCopy("the original has no pages, page area or MaxUnitID", where=body.doc_root)
    taken = sorted(n for n in pkg.names() if n == COPY_DIR or n.startswith(COPY_DIR + "/"))
    if taken:
        raise InvalidAnnotatedCopy(
            "the original already has files where the copy puts its own",
            where="original",
            value=taken[0],
            expected=f"nothing under {COPY_DIR}/",
        )
    clash = sorted(set(KEYS) & set(body.doc_info.custom_datas))
    if clash:
        raise InvalidAnnotatedCopy(
            "the original already carries copy metadata (a copy of a copy?)",
            where="original DocInfo/CustomDatas",
            value=clash,
        )
    tags_loc = root.findtext(q("CustomTags"))
    return _Original(
        doc_root=body.doc_root,
        page_ids=tuple(p.id for p in doc.pages),
        page_entries=tuple(p.base_loc for p in doc.pages),
        page_size=(doc.physical_box[2], doc.physical_box[3]),
        max_unit_id=doc.max_unit_id,
        public_res=doc.public_res,
        document_res=doc.document_res,
        custom_tags=resolve(body.doc_root, tags_loc.strip()) if tags_loc and tags_loc.strip() else None,
        title=body.doc_info.title,
        custom_datas=tuple(body.doc_info.custom_datas.items()),
    )


def original_files(pkg: OFDPackage) -> list[tuple[str, bytes]]:
    """The original's files the copy keeps at their own paths: all but ``OFD.xml``, in archive order."""
    return [(name, data) for name, data in pkg.entries.items() if name != OFD_ENTRY]


# --- the watermark -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    text: str
    x: float  # Appearance box on the page: one em wide, one em per character tall
    y: float
    length: float


Box = tuple[float, float, float, float]


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _columns(
    text: str, page: tuple[float, float], images: tuple[Box, ...], wm: Watermark
) -> Iterator[_Column]:
    """The sentence cut into columns of even length, the group of columns repeated across the page.

    Columns run right to left, as vertical lines do (the first line is the rightmost), and a group
    that would cross an image of the face (the QR code, a photo, a seal) moves right past it.
    """
    per_column = max(1, int((page[1] - 2 * wm.margin) // wm.size))
    count = math.ceil(len(text) / per_column)
    step = math.ceil(len(text) / count)
    chunks = [text[i : i + step] for i in range(0, len(text), step)]
    length = max(len(c) for c in chunks) * wm.size
    top = max(wm.margin, (page[1] - length) / 2)
    pitch = (page[0] - 2 * wm.margin) / wm.repeats
    group = (len(chunks) - 1) * wm.column_gap + wm.size
    for r in range(wm.repeats):
        x0 = wm.margin + r * pitch + max(0.0, (pitch - group) / 2)
        for image in sorted(images):
            if _overlap((x0, top, group, length), image):
                x0 = min(image[0] + image[2] + 2.0, page[0] - wm.margin - group)
        for i, chunk in enumerate(chunks):
            yield _Column(chunk, x0 + (len(chunks) - 1 - i) * wm.column_gap, top, len(chunk) * wm.size)


def _images(pkg: OFDPackage, page_entry: str) -> tuple[Box, ...]:
    """The boxes of the image objects a page of the original draws (where the watermark should not go)."""
    boxes: list[Box] = []
    for obj in pkg.xml(page_entry).iter(q("ImageObject")):
        parts = (obj.get("Boundary") or "").split()
        try:
            x, y, w, h = (float(v) for v in parts)
        except ValueError:
            continue
        if all(math.isfinite(v) for v in (x, y, w, h)):
            boxes.append((x, y, w, h))
    return tuple(boxes)


def _annotation_xml(
    md: CopyMetadata,
    page: tuple[float, float],
    images: tuple[Box, ...],
    ids: Iterator[int],
    font_id: int,
    wm: Watermark,
) -> bytes:
    root = _root("PageAnnot")
    for col in _columns(md.watermark_text(), page, images, wm):
        annot = _el(
            root,
            "Annot",
            ID=str(next(ids)),
            Type="Watermark",
            Creator="ecert",
            LastModDate=china_date(md.made_at).isoformat(),
            ReadOnly="true",
        )
        box = f"0 0 {_num(wm.size)} {_num(col.length)}"
        appearance = _el(
            annot, "Appearance", Boundary=" ".join(_num(v) for v in (col.x, col.y, wm.size, col.length))
        )
        # a quarter turn clockwise (y grows downwards): the baseline runs down the box's left edge,
        # the glyphs' tops face right; shifted one em right so they stay inside the box
        text = _el(
            appearance,
            "TextObject",
            ID=str(next(ids)),
            Boundary=box,
            CTM=f"0 1 -1 0 {_num(wm.size)} 0",
            Font=str(font_id),
            Size=_num(wm.size),
        )
        _el(text, "FillColor", Value=" ".join(str(c) for c in wm.colour), Alpha=str(wm.alpha))
        attrs = {"X": "0", "Y": _num(wm.size)}
        if len(col.text) > 1:
            attrs["DeltaX"] = " ".join([_num(wm.size)] * (len(col.text) - 1))
        _el(text, "TextCode", col.text, **attrs)
    return xml_bytes(root)


# --- the copy's own files ----------------------------------------------------------------------


def build_layer(
    original: bytes, pkg: OFDPackage, md: CopyMetadata, wm: Watermark = WATERMARK
) -> list[tuple[str, bytes]]:
    """Every file of the copy except its signature, in archive order (deterministic)."""
    try:
        orig = _read_original(pkg)
    except InvalidAnnotatedCopy:
        raise
    except EcertError as exc:
        raise InvalidAnnotatedCopy(f"the original cannot be read: {exc}", where="original") from None
    ids = iter(range(orig.max_unit_id + 1, orig.max_unit_id + 10_000_000))
    font_id = next(ids)
    layer: list[tuple[str, bytes]] = [(OFD_ENTRY, _ofd_xml(orig, md))]
    annots: list[tuple[str, str, bytes]] = []
    for i, (page_id, entry) in enumerate(zip(orig.page_ids, orig.page_entries, strict=True)):
        xml = _annotation_xml(md, orig.page_size, _images(pkg, entry), ids, font_id, wm)
        annots.append((page_id, f"Page_{i}/Annotation.xml", xml))
    attachment_ids = (next(ids), next(ids))
    max_id = attachment_ids[-1]
    layer.append((DOCUMENT_ENTRY, _document_xml(orig, max_id)))
    layer.append((_FONT_ENTRY, _font_res(font_id)))
    listing = _root("Annotations")
    for page_id, loc, _ in annots:
        _el(_el(listing, "Page", PageID=page_id), "FileLoc", loc)
    layer.append((f"{COPY_DIR}/Annots/Annotations.xml", xml_bytes(listing)))
    layer += [(f"{COPY_DIR}/Annots/{loc}", data) for _, loc, data in annots]
    layer.append((f"{COPY_DIR}/Attachs/Attachments.xml", _attachments_xml(md, len(original), attachment_ids)))
    layer.append((METADATA_ENTRY, md.to_xml()))
    layer.append((ORIGINAL_ENTRY, original))
    layer += original_files(pkg)
    return layer


def _ofd_xml(orig: _Original, md: CopyMetadata) -> bytes:
    root = _root("OFD", Version="1.0", DocType="OFD")
    body = _el(root, "DocBody")
    info = _el(body, "DocInfo")
    _el(info, "DocID", md.copy_id.replace("-", ""))
    _el(info, "Title", f"{orig.title}（加注件）" if orig.title else "加注件")
    _el(info, "Author", md.organisation)
    _el(info, "CreationDate", china_date(md.made_at).isoformat())
    _el(info, "Creator", "ecert")
    _el(info, "CreatorVersion", "0.1.0")
    customs = _el(info, "CustomDatas")
    for name, value in (*orig.custom_datas, *md.elements()):
        _el(customs, "CustomData", value, Name=name)
    _el(body, "DocRoot", DOCUMENT_ENTRY)
    return xml_bytes(root)


def _document_xml(orig: _Original, max_id: int) -> bytes:
    root = _root("Document")
    common = _el(root, "CommonData")
    _el(common, "MaxUnitID", str(max_id))
    _el(_el(common, "PageArea"), "PhysicalBox", f"0 0 {_num(orig.page_size[0])} {_num(orig.page_size[1])}")
    for entry in orig.public_res:
        _el(common, "PublicRes", _absolute(entry))
    _el(common, "PublicRes", "PublicRes.xml")
    for entry in orig.document_res:
        _el(common, "DocumentRes", _absolute(entry))
    pages = _el(root, "Pages")
    for page_id, entry in zip(orig.page_ids, orig.page_entries, strict=True):
        _el(pages, "Page", ID=page_id, BaseLoc=_absolute(entry))
    # Document.xsd sequence: ..., Annotations, CustomTags, Attachments, Extensions
    _el(root, "Annotations", "Annots/Annotations.xml")
    if orig.custom_tags is not None:
        _el(root, "CustomTags", _absolute(orig.custom_tags))
    _el(root, "Attachments", "Attachs/Attachments.xml")
    return xml_bytes(root)


def _font_res(font_id: int) -> bytes:
    root = _root("Res", BaseLoc="Res")
    _el(_el(root, "Fonts"), "Font", ID=str(font_id), FontName="SimSun", FamilyName="宋体")
    return xml_bytes(root)


def _attachments_xml(md: CopyMetadata, original_size: int, ids: tuple[int, int]) -> bytes:
    made = md.made_at.replace(tzinfo=None).isoformat()  # xs:dateTime, China time as the other dates
    root = _root("Attachments")
    for att_id, (name, fmt, loc, size) in zip(
        ids,
        (
            (METADATA_NAME, "xml", METADATA_ENTRY, len(md.to_xml())),
            (ORIGINAL_NAME, "ofd", ORIGINAL_ENTRY, original_size),
        ),
        strict=True,
    ):
        att = _el(
            root,
            "Attachment",
            ID=str(att_id),
            Name=name,
            Format=fmt,
            CreationDate=made,
            Size=_num(size / 1024),
            Visible="false",
        )
        _el(att, "FileLoc", loc.rpartition("/")[2])
    return xml_bytes(root)
