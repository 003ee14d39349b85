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
from ecert.ofd.namespaces import OFD_ENTRY, OFD_NS
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


def _tag(local: str, content: str | None = None, children: str = "", root: bool = False, **attrs: str) -> str:
    return _element(local, attrs, content, children, root)


def _element(local: str, attrs: Mapping[str, str], content: str | None, children: str, root: bool) -> str:
    """One OFD element as text, as lxml serialises it: the namespace declared on the root, then the
    attributes in order; empty (no text, no children) as ``<x/>``, an empty text as ``<x></x>``."""
    head = f"<ofd:{local}" + (_XMLNS if root else "")
    head += "".join(f' {name}="{xmltext.attribute(value)}"' for name, value in attrs.items())
    if content is None and not children:
        return head + "/>"
    return f"{head}>{'' if content is None else xmltext.text(content)}{children}</ofd:{local}>"


_XMLNS = f' xmlns:ofd="{OFD_NS}"'


def _part(element: str) -> bytes:
    return XML_DECLARATION + element.encode()


def _ofd_xml(document: Document) -> bytes:
    info = document.doc_info
    fields = [_tag("DocID", info.doc_id)]
    for local, value in (("Title", info.title), ("Author", info.author), ("CreationDate", info.creation_date),
                         ("Creator", info.creator), ("CreatorVersion", info.creator_version)):
        if value is not None:
            fields.append(_tag(local, value))
    if info.custom_datas:
        fields.append(_tag("CustomDatas", children="".join(
            _tag("CustomData", value, Name=name) for name, value in info.custom_datas)))
    body = _tag("DocInfo", children="".join(fields)) + _tag("DocRoot", f"{DOC_DIR}/Document.xml")
    # OFD.xsd: Version fixed "1.0" (ofdrw OFD.VERSION too)
    body = _tag("DocBody", children=body)
    return _part(_tag("OFD", children=body, root=True, Version="1.0", DocType="OFD"))


def _document_xml(document: Document, page_ids: list[int], max_id: int) -> bytes:
    common = (_tag("MaxUnitID", str(max_id))
              + _tag("PageArea", children=_tag("PhysicalBox", _box((0.0, 0.0, *document.page_size))))
              + _tag("PublicRes", "PublicRes.xml"))
    if document.images:
        common += _tag("DocumentRes", "DocumentRes.xml")
    pages = "".join(_tag("Page", ID=str(page_id), BaseLoc=f"Pages/Page_{i}/Content.xml")
                    for i, page_id in enumerate(page_ids))
    parts = _tag("CommonData", children=common) + _tag("Pages", children=pages)
    # Document.xsd sequence: ..., Annotations, CustomTags, Attachments, Extensions
    if document.custom_tags:
        parts += _tag("CustomTags", "Tags/CustomTags.xml")
    if document.attachments:
        parts += _tag("Attachments", "Attachs/Attachments.xml")
    return _part(_tag("Document", children=parts, root=True))


def _public_res(document: Document) -> bytes:
    fonts = ""
    for font in document.fonts:
        attrs = {"ID": str(font.id), "FontName": font.font_name}
        if font.family_name:
            attrs["FamilyName"] = font.family_name
        file = _tag("FontFile", f"font_{font.id}.ttf") if font.font_file else ""
        fonts += _element("Font", attrs, None, file, False)
    listed = _tag("Fonts", children=fonts) if fonts else ""
    return _part(_tag("Res", children=listed, root=True, BaseLoc="Res"))


def _document_res(document: Document) -> bytes:
    media = "".join(_tag("MultiMedia", children=_tag("MediaFile", f"image_{im.id}.{_IMAGE_EXT[im.format]}"),
                         ID=str(im.id), Type="Image", Format=im.format) for im in document.images)
    return _part(_tag("Res", children=_tag("MultiMedias", children=media), root=True, BaseLoc="Res"))


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
    listed = ""
    files: list[tuple[str, bytes]] = []
    for i, (att, att_id) in enumerate(zip(document.attachments, ids, strict=True)):
        file_name = att.name if _SAFE_NAME.match(att.name) else f"attachment_{i}"
        listed += _tag("Attachment", children=_tag("FileLoc", file_name), ID=str(att_id), Name=att.name,
                       Format=att.format,
                       CreationDate=_date_time(att.creation_date or document.doc_info.creation_date),
                       Size=_num(len(att.data) / 1024), Visible="false")
        files.append((f"{DOC_DIR}/Attachs/{file_name}", att.data))
    return [(f"{DOC_DIR}/Attachs/Attachments.xml", _part(_tag("Attachments", children=listed, root=True))),
            *files]


def _date_time(value: str) -> str:
    """Attachments.xsd types CreationDate as xs:dateTime: a bare date becomes that day's midnight."""
    return value if "T" in value else f"{value}T00:00:00"


def _custom_tags(document: Document) -> list[tuple[str, bytes]]:
    listed = ""
    files: list[tuple[str, bytes]] = []
    for i, tag in enumerate(document.custom_tags):
        # NameSpace: required by CustomTags.xsd; TypeID: required by GB/T 33190 table 63 (ofdrw)
        listed += _tag("CustomTag", children=_tag("FileLoc", f"Tag_{i}.xml"), TypeID=tag.type_id,
                       NameSpace=tag.namespace or "")
        files.append((f"{DOC_DIR}/Tags/Tag_{i}.xml", tag.xml))
    return [(f"{DOC_DIR}/Tags/CustomTags.xml", _part(_tag("CustomTags", children=listed, root=True))), *files]
