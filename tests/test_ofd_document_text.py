"""OFD.xml, Document.xml, the resource lists, Attachments.xml and CustomTags.xml written as text are,
byte for byte, what lxml serialises for the same elements (the writer's former code, below)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ecert.ofd.model import Attachment, CustomTagFile, DocInfo, Document, Font, Image, Page, TextObject
from ecert.ofd.namespaces import NSMAP, q
from ecert.ofd.writer import _SAFE_NAME, DOC_DIR, _box, _date_time, _num, document_entries, xml_bytes

_IMAGE_EXT = {"PNG": "png", "JPEG": "jpg"}


def _el(parent: etree._Element, local: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, q(local), attrs)
    if text is not None:
        child.text = text
    return child


def _root(local: str, **attrs: str) -> etree._Element:
    return etree.Element(q(local), attrs, nsmap=NSMAP)


def _reference(document: Document) -> dict[str, bytes]:
    """The parts as lxml wrote them, by entry name (pages left out: test_ofd_page_text)."""
    out: dict[str, bytes] = {}
    info = document.doc_info
    root = _root("OFD", Version="1.0", DocType="OFD")
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
    out["OFD.xml"] = xml_bytes(root)

    n = len(document.pages)
    page_ids = [document.page_id(i) for i in range(n)]
    layer_last = page_ids[0] + 2 * n - 1
    max_id = max([layer_last, *range(layer_last + 1, layer_last + 1 + len(document.attachments))])
    root = _root("Document")
    common = _el(root, "CommonData")
    _el(common, "MaxUnitID", str(max_id))
    _el(_el(common, "PageArea"), "PhysicalBox", _box((0.0, 0.0, *document.page_size)))
    _el(common, "PublicRes", "PublicRes.xml")
    if document.images:
        _el(common, "DocumentRes", "DocumentRes.xml")
    pages = _el(root, "Pages")
    for i, page_id in enumerate(page_ids):
        _el(pages, "Page", ID=str(page_id), BaseLoc=f"Pages/Page_{i}/Content.xml")
    if document.custom_tags:
        _el(root, "CustomTags", "Tags/CustomTags.xml")
    if document.attachments:
        _el(root, "Attachments", "Attachs/Attachments.xml")
    out[f"{DOC_DIR}/Document.xml"] = xml_bytes(root)

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
    out[f"{DOC_DIR}/PublicRes.xml"] = xml_bytes(root)
    if document.images:
        root = _root("Res", BaseLoc="Res")
        media = _el(root, "MultiMedias")
        for im in document.images:
            el = _el(media, "MultiMedia", ID=str(im.id), Type="Image", Format=im.format)
            _el(el, "MediaFile", f"image_{im.id}.{_IMAGE_EXT[im.format]}")
        out[f"{DOC_DIR}/DocumentRes.xml"] = xml_bytes(root)
    if document.attachments:
        root = _root("Attachments")
        for i, att in enumerate(document.attachments):
            file_name = att.name if _SAFE_NAME.match(att.name) else f"attachment_{i}"
            el = _el(root, "Attachment", ID=str(layer_last + 1 + i), Name=att.name, Format=att.format,
                     CreationDate=_date_time(att.creation_date or document.doc_info.creation_date),
                     Size=_num(len(att.data) / 1024), Visible="false")
            _el(el, "FileLoc", file_name)
        out[f"{DOC_DIR}/Attachs/Attachments.xml"] = xml_bytes(root)
    if document.custom_tags:
        root = _root("CustomTags")
        for i, tag in enumerate(document.custom_tags):
            attrs = {"TypeID": tag.type_id, "NameSpace": tag.namespace or ""}
            _el(_el(root, "CustomTag", **attrs), "FileLoc", f"Tag_{i}.xml")
        out[f"{DOC_DIR}/Tags/CustomTags.xml"] = xml_bytes(root)
    return out


_CHAR = (st.characters(codec="utf-8", exclude_categories=("Cs",))
         .filter(lambda c: c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff"))
         | st.sampled_from("&<>\"'\r\n\t 中文𠀀"))
_TEXT = st.text(_CHAR, min_size=1, max_size=15)


@st.composite
def _documents(draw: st.DrawFn) -> Document:
    names = draw(st.lists(_TEXT, max_size=4, unique=True))
    maybe = st.none() | _TEXT
    info = DocInfo(doc_id="0123456789abcdef0123456789abcdef", creation_date="2026-11-24",
                   title=draw(maybe), author=draw(maybe), creator=draw(maybe), creator_version=draw(maybe),
                   custom_datas=tuple((n, draw(st.text(_CHAR, max_size=10))) for n in names))
    fonts = tuple(Font(i, draw(_TEXT), draw(maybe), draw(st.none() | st.just(b"\0\1")))
                  for i in range(1, draw(st.integers(0, 2)) + 1))
    images = tuple(Image(3 + i, b"\x89PNG", draw(st.sampled_from(["PNG", "JPEG"])))
                   for i in range(draw(st.integers(0, 2))))
    attached = draw(st.lists(_TEXT | st.sampled_from(["meta", "data1"]), max_size=2, unique=True))
    attachments = tuple(Attachment(name, b"x" * draw(st.integers(0, 3000)), draw(_TEXT),
                                   draw(st.none() | st.just("2026-01-02T03:04:05"))) for name in attached)
    tags = tuple(CustomTagFile(draw(_TEXT), b"<t xmlns='urn:t'/>", draw(maybe))
                 for _ in range(draw(st.integers(0, 2))))
    pages = tuple(Page((TextObject(100 + i, (1, 1, 2, 2), 1, 3.0, "字"),))
                  for i in range(draw(st.integers(1, 3))))
    return Document(doc_info=info, pages=pages, fonts=fonts or (Font(1),), images=images,
                    attachments=attachments, custom_tags=tags)


@settings(max_examples=100, deadline=None)
@given(_documents())
def test_document_parts_are_what_lxml_writes(document: Document) -> None:
    written = dict(document_entries(document))
    for name, expected in _reference(document).items():
        assert written[name] == expected, name
