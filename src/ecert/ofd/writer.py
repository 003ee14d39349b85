"""Write OFD packages (GB/T 33190-2016) deterministically.

Same input, same bytes: entries in a fixed order, DEFLATE, a fixed timestamp, XML serialised
by lxml with an XML declaration in UTF-8.  :func:`replace_entries` and :func:`add_entries`
derive new package bytes from an existing package (to add signatures, §18).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from lxml import etree

from ecert.errors import InvalidPackage
from ecert.ofd import xmltext
from ecert.ofd.entries import check_entry_name
from ecert.ofd.limits import DEFAULT_LIMITS, Limits
from ecert.ofd.model import RGB, Box, Document, ImageObject, Page, PathObject, TextObject
from ecert.ofd.namespaces import NSMAP, OFD_ENTRY, OFD_NS, q
from ecert.ofd.reader import OFDPackage
from ecert.ofd.zipwrite import zip_bytes

__all__ = ["ZIP_TIMESTAMP", "add_entries", "build_zip", "replace_entries", "write", "xml_bytes"]

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ZIP_TIMESTAMP = (2000, 1, 1, 0, 0, 0)  # fixed so that output is reproducible


def xml_bytes(root: etree._Element) -> bytes:
    """Stable serialisation of an XML part: declaration, UTF-8, no pretty printing."""
    return XML_DECLARATION + etree.tostring(root, xml_declaration=False, encoding="UTF-8")


def build_zip(entries: Iterable[tuple[str, bytes]],
              timestamp: tuple[int, int, int, int, int, int] = ZIP_TIMESTAMP) -> bytes:
    """A ZIP of ``entries`` in the given order, DEFLATE, fixed timestamp and attributes (the bytes
    ``zipfile`` writes, written by :func:`~ecert.ofd.zipwrite.zip_bytes` in one pass)."""
    checked: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for name, data in entries:
        check_entry_name(name)
        if name in seen:
            raise InvalidPackage("duplicate entry name", where="package being written", value=name)
        seen.add(name)
        checked.append((name, data))
    return zip_bytes(checked, timestamp)


def replace_entries(package: bytes | OFDPackage, changes: Mapping[str, bytes], *,
                    limits: Limits = DEFAULT_LIMITS) -> bytes:
    """New package bytes: entries named in ``changes`` replaced in place, new ones appended.

    Entries not named keep their exact bytes (signatures over them stay valid).
    """
    pkg = package if isinstance(package, OFDPackage) else OFDPackage.open(package, limits)
    out = [(name, changes.get(name, data)) for name, data in pkg.entries.items()]
    out += [(name, data) for name, data in changes.items() if name not in pkg.entries]
    return build_zip(out)


def add_entries(package: bytes | OFDPackage, new: Mapping[str, bytes], *,
                limits: Limits = DEFAULT_LIMITS) -> bytes:
    """New package bytes with ``new`` entries appended; refuses to overwrite an existing entry."""
    pkg = package if isinstance(package, OFDPackage) else OFDPackage.open(package, limits)
    clash = sorted(set(new) & set(pkg.entries))
    if clash:
        raise InvalidPackage("entry already exists", where="package", value=clash[0])
    return replace_entries(pkg, new)


# --- writing a document ----------------------------------------------------------------------

DOC_DIR = "Doc_0"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
_IMAGE_EXT = {"PNG": "png", "JPEG": "jpg"}


@functools.lru_cache(maxsize=4096)
def _num(value: float) -> str:
    """A coordinate in at most 4 decimals (remembered: a face page writes ~370, mostly repeats)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _box(box: Box) -> str:
    return " ".join(_num(v) for v in box)


def _rgb(rgb: RGB) -> str:
    return " ".join(str(c) for c in rgb)


def _el(parent: etree._Element, local: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, q(local), attrs)
    if text is not None:
        child.text = text
    return child


def _root(local: str, **attrs: str) -> etree._Element:
    return etree.Element(q(local), attrs, nsmap=NSMAP)


def write(document: Document) -> bytes:
    """A complete OFD package for ``document``, byte-for-byte reproducible."""
    return build_zip(document_entries(document))


def document_entries(document: Document) -> list[tuple[str, bytes]]:
    """The package files of ``document`` as ``(name, bytes)`` in archive order (see :func:`write`)."""
    files: list[tuple[str, bytes]] = [(OFD_ENTRY, _ofd_xml(document))]
    page_ids = [document.page_id(i) for i in range(len(document.pages))]
    next_id = page_ids[0]
    layer_ids = list(range(next_id + len(document.pages), next_id + 2 * len(document.pages)))
    attach_ids = list(range(layer_ids[-1] + 1, layer_ids[-1] + 1 + len(document.attachments)))
    max_id = max([layer_ids[-1], *attach_ids])
    files.append((f"{DOC_DIR}/Document.xml", _document_xml(document, page_ids, max_id)))
    files.append((f"{DOC_DIR}/PublicRes.xml", _public_res(document)))
    if document.images:
        files.append((f"{DOC_DIR}/DocumentRes.xml", _document_res(document)))
    for i, (page, layer_id) in enumerate(zip(document.pages, layer_ids, strict=True)):
        files.append((f"{DOC_DIR}/Pages/Page_{i}/Content.xml", _page_xml(page, layer_id)))
    files += [(f"{DOC_DIR}/Res/font_{f.id}.ttf", f.font_file) for f in document.fonts if f.font_file]
    files += [(f"{DOC_DIR}/Res/image_{im.id}.{_IMAGE_EXT[im.format]}", im.data) for im in document.images]
    if document.attachments:
        files += _attachments(document, attach_ids)
    if document.custom_tags:
        files += _custom_tags(document)
    return files


def _ofd_xml(document: Document) -> bytes:
    info = document.doc_info
    root = _root("OFD", Version="1.0", DocType="OFD")  # OFD.xsd: fixed "1.0" (ofdrw OFD.VERSION too)
    body = _el(root, "DocBody")
    di = _el(body, "DocInfo")
    _el(di, "DocID", info.doc_id)
    for local, value in (("Title", info.title), ("Author", info.author), ("CreationDate", info.creation_date),
                         ("Creator", info.creator), ("CreatorVersion", info.creator_version)):
        if value is not None:
            _el(di, local, value)
    if info.custom_datas:
        cds = _el(di, "CustomDatas")
        for name, value in info.custom_datas:
            _el(cds, "CustomData", value, Name=name)
    _el(body, "DocRoot", f"{DOC_DIR}/Document.xml")
    return xml_bytes(root)


def _document_xml(document: Document, page_ids: list[int], max_id: int) -> bytes:
    root = _root("Document")
    common = _el(root, "CommonData")
    _el(common, "MaxUnitID", str(max_id))
    area = _el(common, "PageArea")
    _el(area, "PhysicalBox", _box((0.0, 0.0, *document.page_size)))
    _el(common, "PublicRes", "PublicRes.xml")
    if document.images:
        _el(common, "DocumentRes", "DocumentRes.xml")
    pages = _el(root, "Pages")
    for i, page_id in enumerate(page_ids):
        _el(pages, "Page", ID=str(page_id), BaseLoc=f"Pages/Page_{i}/Content.xml")
    # Document.xsd sequence: ..., Annotations, CustomTags, Attachments, Extensions
    if document.custom_tags:
        _el(root, "CustomTags", "Tags/CustomTags.xml")
    if document.attachments:
        _el(root, "Attachments", "Attachs/Attachments.xml")
    return xml_bytes(root)


def _public_res(document: Document) -> bytes:
    root = _root("Res", BaseLoc="Res")
    if document.fonts:
        fonts = _el(root, "Fonts")
        for font in document.fonts:
            attrs = {"ID": str(font.id), "FontName": font.font_name}
            if font.family_name:
                attrs["FamilyName"] = font.family_name
            el = _el(fonts, "Font", **attrs)
            if font.font_file:
                _el(el, "FontFile", f"font_{font.id}.ttf")
    return xml_bytes(root)


def _document_res(document: Document) -> bytes:
    root = _root("Res", BaseLoc="Res")
    media = _el(root, "MultiMedias")
    for im in document.images:
        el = _el(media, "MultiMedia", ID=str(im.id), Type="Image", Format=im.format)
        _el(el, "MediaFile", f"image_{im.id}.{_IMAGE_EXT[im.format]}")
    return xml_bytes(root)


def _page_xml(page: Page, layer_id: int) -> bytes:
    """A page's Content.xml, written as text: the bytes lxml serialises for the same elements
    (``tests/test_ofd_page_text.py`` compares the two), in a fifth of the time.  Every value is a
    number the writer formats or text the model checked for XML characters, escaped here."""
    out = [_PAGE_OPEN, str(layer_id)]
    if not page.objects:
        out.append('"/></ofd:Content></ofd:Page>')
        return "".join(out).encode()
    out.append('">')
    for obj in page.objects:
        if isinstance(obj, TextObject):
            out += _text(obj)
        elif isinstance(obj, ImageObject):
            w, h = obj.boundary[2], obj.boundary[3]
            out += ('<ofd:ImageObject ID="', str(obj.id), '" Boundary="', _box(obj.boundary), '" CTM="',
                    _num(w), " 0 0 ", _num(h), ' 0 0" ResourceID="', str(obj.resource), '"/>')
        else:
            out += _path(obj)
    out.append("</ofd:Layer></ofd:Content></ofd:Page>")
    return "".join(out).encode()


_PAGE_OPEN = f'{XML_DECLARATION.decode()}<ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content><ofd:Layer ID="'

def _text(obj: TextObject) -> tuple[str, ...]:
    delta = f'" DeltaX="{" ".join(map(_num, obj.delta_x))}' if obj.delta_x else ""
    return ('<ofd:TextObject ID="', str(obj.id), '" Boundary="', _box(obj.boundary), '" Font="',
            str(obj.font), '" Size="', _num(obj.size), '"><ofd:FillColor Value="', _rgb(obj.fill),
            '"/><ofd:TextCode X="', _num(obj.x), '" Y="', _num(obj.size if obj.y is None else obj.y), delta,
            '">', xmltext.text(obj.text),
            "</ofd:TextCode></ofd:TextObject>")


def _path(obj: PathObject) -> tuple[str, ...]:
    stroke = f'<ofd:StrokeColor Value="{_rgb(obj.stroke)}"/>' if obj.stroke else ""
    fill = f'<ofd:FillColor Value="{_rgb(obj.fill)}"/>' if obj.fill else ""
    return ('<ofd:PathObject ID="', str(obj.id), '" Boundary="', _box(obj.boundary), '" LineWidth="',
            _num(obj.line_width), '" Stroke="', "true" if obj.stroke else "false", '" Fill="',
            "true" if obj.fill else "false", '">', stroke, fill, "<ofd:AbbreviatedData>",
            xmltext.text(obj.data), "</ofd:AbbreviatedData></ofd:PathObject>")


def _attachments(document: Document, ids: list[int]) -> list[tuple[str, bytes]]:
    root = _root("Attachments")
    files: list[tuple[str, bytes]] = []
    for i, (att, att_id) in enumerate(zip(document.attachments, ids, strict=True)):
        file_name = att.name if _SAFE_NAME.match(att.name) else f"attachment_{i}"
        el = _el(root, "Attachment", ID=str(att_id), Name=att.name, Format=att.format,
                 CreationDate=_date_time(att.creation_date or document.doc_info.creation_date),
                 Size=_num(len(att.data) / 1024), Visible="false")
        _el(el, "FileLoc", file_name)
        files.append((f"{DOC_DIR}/Attachs/{file_name}", att.data))
    return [(f"{DOC_DIR}/Attachs/Attachments.xml", xml_bytes(root)), *files]


def _date_time(value: str) -> str:
    """Attachments.xsd types CreationDate as xs:dateTime: a bare date becomes that day's midnight."""
    return value if "T" in value else f"{value}T00:00:00"


def _custom_tags(document: Document) -> list[tuple[str, bytes]]:
    root = _root("CustomTags")
    files: list[tuple[str, bytes]] = []
    for i, tag in enumerate(document.custom_tags):
        # NameSpace: required by CustomTags.xsd; TypeID: required by GB/T 33190 table 63 (ofdrw)
        attrs = {"TypeID": tag.type_id, "NameSpace": tag.namespace or ""}
        _el(_el(root, "CustomTag", **attrs), "FileLoc", f"Tag_{i}.xml")
        files.append((f"{DOC_DIR}/Tags/Tag_{i}.xml", tag.xml))
    return [(f"{DOC_DIR}/Tags/CustomTags.xml", xml_bytes(root)), *files]
