"""The OFD files we write, held to what strict readers (ofdrw, vendor readers) check.

Each rule names its source.  ``XSD`` is the schema annex of GB/T 33190-2016 as transcribed in
GreenYun/OFD-Schema (``OFD.xsd``, ``Document.xsd``, ``Definitions.xsd``, ``Page.xsd``,
``Res.xsd``, ``Attachments.xsd``, ``CustomTags.xsd``, ``Signatures.xsd``, ``Signature.xsd``);
``ofdrw`` is ofdrw/ofdrw ``ofdrw-core`` (``org.ofdrw.core.*``), the Java reader our files must
open.  Where the two disagree the file satisfies both when it can (see ``CustomTag``).

The rules run on a signed certificate file (:func:`tests.certs.issued_file`) and on a writer
document with what the certificate does not use (two pages, an embedded font, an attachment
without a date, a custom tag whose namespace comes from its file).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
from collections.abc import Iterator

import pytest
from lxml import etree

from ecert.errors import InputError
from ecert.ofd.model import (
    Attachment,
    CustomTagFile,
    DocInfo,
    Document,
    Font,
    Image,
    ImageObject,
    Page,
    PathObject,
    TextObject,
)
from ecert.ofd.signatures import parse_signing_time
from ecert.ofd.writer import write
from tests.certs import issued_file

NS = "http://www.ofdspec.org/2016"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20

# --- value formats (XSD Definitions.xsd; GB/T 33190 table 2 as quoted by ofdrw basicType) ----------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ID = re.compile(r"^\d+$")  # ST_ID / ST_RefID: xs:unsignedInt
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$")  # xs:date
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")  # xs:dateTime
_BOOLEAN = ("true", "false", "1", "0")  # xs:boolean


def _numbers(text: str) -> list[float]:
    parts = text.split()
    assert parts and all(_NUMBER.match(p) for p in parts), f"not an ST_Array of numbers: {text!r}"
    return [float(p) for p in parts]


def _box(text: str) -> list[float]:
    """ST_Box: four numbers; width and height greater than 0 (ofdrw ST_Box, GB/T 33190 table 2)."""
    values = _numbers(text)
    assert len(values) == 4, f"ST_Box needs x y w h: {text!r}"
    assert values[2] > 0 and values[3] > 0, f"ST_Box width and height must be > 0: {text!r}"
    return values


def _delta(text: str) -> int:
    """ST_Array for DeltaX/DeltaY, with the ``g count value`` shorthand (GB/T 33190 §11.3); its length."""
    tokens, count, i = text.split(), 0, 0
    while i < len(tokens):
        if tokens[i] == "g":
            assert i + 2 < len(tokens) and _ID.match(tokens[i + 1]) and _NUMBER.match(tokens[i + 2]), text
            count, i = count + int(tokens[i + 1]), i + 3
        else:
            assert _NUMBER.match(tokens[i]), text
            count, i = count + 1, i + 1
    return count


# --- the packages under test --------------------------------------------------------------------


def _writer_document() -> Document:
    return Document(
        doc_info=DocInfo(doc_id="0123456789abcdef0123456789abcdef", creation_date="2024-05-06", title="样例",
                         custom_datas=(("ZZBH", "1"),)),
        pages=(
            Page((TextObject(10, (20, 20, 60, 8), 1, 5.0, "中华人民", delta_x=(5.0,) * 3),
                  ImageObject(11, (150, 20, 30, 30), 2),
                  PathObject(12, (10, 10, 190, 277), "M 0 0 L 190 0 L 190 277 L 0 277 C", fill=(1, 2, 3)))),
            Page((TextObject(13, (20, 20, 60, 8), 3, 4.0, "第二页"),)),
        ),
        fonts=(Font(1), Font(3, font_name="Embedded", family_name=None, font_file=b"\0\1\0\0")),
        images=(Image(2, PNG),),
        attachments=(Attachment("metadata.xml", b"<m/>", "xml"),
                     Attachment("photo.jpg", b"\xff\xd8", "jpg", creation_date="2024-05-07T08:30:00")),
        custom_tags=(CustomTagFile("index", b"<t:Tags xmlns:t='urn:x'/>"),),
    )


class Package:
    """A written package as parsed XML parts, with ST_Loc resolution (GB/T 33190 §7.2 table 2)."""

    def __init__(self, data: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            self.entries = {name: zf.read(name) for name in zf.namelist()}
        self._xml: dict[str, etree._Element] = {}

    def xml(self, name: str) -> etree._Element:
        if name not in self._xml:
            assert name in self.entries, f"missing part {name}"
            self._xml[name] = etree.fromstring(self.entries[name])
        return self._xml[name]

    @staticmethod
    def resolve(base: str, loc: str) -> str:
        """A location is absolute from the package root when it starts with '/', else relative to ``base``."""
        loc = (loc or "").strip()
        assert loc, f"empty ST_Loc in {base}"
        parts = [] if loc.startswith("/") else base.split("/")[:-1]
        for seg in loc.split("/"):
            if seg == "..":
                parts.pop()
            elif seg not in ("", "."):
                parts.append(seg)
        return "/".join(parts)

    def existing(self, base: str, loc: str | None) -> str:
        name = self.resolve(base, loc or "")
        assert name in self.entries, f"{loc!r} in {base} names no part"
        return name

    @property
    def doc_root(self) -> str:
        return self.existing("OFD.xml", _one(self.xml("OFD.xml"), "DocBody/ofd:DocRoot").text)

    @property
    def document(self) -> etree._Element:
        return self.xml(self.doc_root)

    def res_parts(self) -> list[str]:
        common = _one(self.document, "CommonData")
        return [self.existing(self.doc_root, e.text) for e in common
                if _local(e) in ("PublicRes", "DocumentRes")]

    def page_parts(self) -> list[tuple[str, str]]:
        """(page ID, content part) of every page."""
        return [(p.get("ID", ""), self.existing(self.doc_root, p.get("BaseLoc")))
                for p in self.document.iterfind(f"{{{NS}}}Pages/{{{NS}}}Page")]

    def optional_part(self, local: str) -> str | None:
        el = self.document.find(f"{{{NS}}}{local}")
        return None if el is None else self.existing(self.doc_root, el.text)

    def signature_parts(self) -> list[str]:
        sigs = self.xml("OFD.xml").find(f"{{{NS}}}DocBody/{{{NS}}}Signatures")
        if sigs is None:
            return []
        loc = self.existing("OFD.xml", sigs.text)
        listed = self.xml(loc).iterfind(f"{{{NS}}}Signature")
        return [loc, *(self.existing(loc, s.get("BaseLoc")) for s in listed)]


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _one(el: etree._Element, path: str) -> etree._Element:
    found = el.find("ofd:" + path, {"ofd": NS})
    assert found is not None, f"{_local(el)} has no {path}"
    return found


@pytest.fixture(scope="module", params=["issued", "writer"])
def pkg(request: pytest.FixtureRequest) -> Package:
    return Package(issued_file() if request.param == "issued" else write(_writer_document()))


@pytest.fixture(scope="module")
def issued() -> Package:
    return Package(issued_file())


def assert_sequence(el: etree._Element, order: list[str | tuple[str, ...]]) -> None:
    """The children of ``el`` are only the names in ``order``, in that order (a tuple is one rank:
    names that may alternate, e.g. an xs:choice or a repeated inner sequence)."""
    rank = {}
    for i, item in enumerate(order):
        for name in (item,) if isinstance(item, str) else item:
            rank[name] = i
    last = -1
    for child in el:
        if not isinstance(child.tag, str):
            continue
        assert etree.QName(child).namespace == NS, f"{child.tag} in {_local(el)} is not in the OFD namespace"
        name = _local(child)
        assert name in rank, f"{name} is not allowed in {_local(el)}"
        assert rank[name] >= last, f"{name} out of order in {_local(el)}: {[_local(c) for c in el]}"
        last = rank[name]


def assert_attrs(el: etree._Element, *required: str) -> None:
    missing = [a for a in required if not el.get(a)]
    assert not missing, f"{_local(el)} lacks required attribute(s) {missing}"


def _count(el: etree._Element, local: str) -> int:
    return sum(1 for c in el if isinstance(c.tag, str) and _local(c) == local)


# --- every XML part -------------------------------------------------------------------------------


def test_every_xml_part_is_utf8_and_ofd_parts_use_the_2016_namespace(pkg: Package) -> None:
    """GB/T 33190 §7.1: elements in http://www.ofdspec.org/2016; XML parts declare UTF-8.  Attached
    files and custom tag files are the caller's bytes in their own namespaces (§16, §20)."""
    foreign = set()
    for local, child in (("Attachments", "Attachment"), ("CustomTags", "CustomTag")):
        part = pkg.optional_part(local)
        if part is not None:
            listed = pkg.xml(part).iter(f"{{{NS}}}{child}")
            foreign |= {pkg.existing(part, _one(el, "FileLoc").text) for el in listed}
    parts = [name for name in pkg.entries if name.endswith(".xml") and name not in foreign]
    assert "OFD.xml" in parts and pkg.doc_root in parts
    for name in parts:
        assert re.match(rb"<\?xml version=[\"']1.0[\"'] encoding=[\"']UTF-8[\"']\?>", pkg.entries[name]), name
        assert etree.QName(pkg.xml(name)).namespace == NS, name


# --- OFD.xml (XSD OFD.xsd; ofdrw basicStructure.ofd.OFD, DocBody, docInfo.CT_DocInfo) ------------


def test_ofd_root_version_and_doctype(pkg: Package) -> None:
    """OFD.xsd: Version required, fixed "1.0"; DocType required, "OFD" (ofdrw OFD.VERSION = "1.0")."""
    root = pkg.xml("OFD.xml")
    assert _local(root) == "OFD"
    assert root.get("Version") == "1.0"
    assert root.get("DocType") == "OFD"
    assert_sequence(root, ["DocBody"])


def test_docbody_order_and_docroot(pkg: Package) -> None:
    """OFD.xsd DocBody: DocInfo, DocRoot, Versions?, Signatures?; DocRoot names an ofd:Document."""
    body = _one(pkg.xml("OFD.xml"), "DocBody")
    assert_sequence(body, ["DocInfo", "DocRoot", "Versions", "Signatures"])
    assert _count(body, "DocInfo") == 1 and _count(body, "DocRoot") == 1
    assert _local(pkg.document) == "Document"


def test_docinfo_order_and_formats(pkg: Package) -> None:
    """OFD.xsd CT_DocInfo sequence; DocID 32 characters (GB/T 33190 table 4, UUID); CreationDate
    xs:date; CustomData@Name required."""
    info = _one(pkg.xml("OFD.xml"), "DocBody/ofd:DocInfo")
    assert_sequence(info, ["DocID", "Title", "Author", "Subject", "Abstract", "CreationDate", "ModDate",
                           "DocUsage", "Cover", "Keywords", "Creator", "CreatorVersion", "CustomDatas"])
    assert len(_one(info, "DocID").text or "") == 32
    for local in ("CreationDate", "ModDate"):
        el = info.find(f"{{{NS}}}{local}")
        assert el is None or _DATE.match(el.text or ""), f"{local} is not xs:date"
    for cd in info.iterfind(f"{{{NS}}}CustomDatas/{{{NS}}}CustomData"):
        assert_attrs(cd, "Name")
    names = [cd.get("Name") for cd in info.iterfind(f"{{{NS}}}CustomDatas/{{{NS}}}CustomData")]
    assert len(names) == len(set(names))


# --- Document.xml (XSD Document.xsd, Definitions.xsd CT_PageArea; ofdrw doc.Document, CT_CommonData)


def test_document_children_order(pkg: Package) -> None:
    """Document.xsd: ... Bookmarks, Annotations, CustomTags, Attachments, Extensions (ofdrw Document
    declares its setters in the same order): CustomTags comes before Attachments."""
    assert_sequence(pkg.document, ["CommonData", "Pages", "Outlines", "Permissions", "Actions",
                                   "VPreferences", "Bookmarks", "Annotations", "CustomTags", "Attachments",
                                   "Extensions"])
    assert _count(pkg.document, "CommonData") == 1 and _count(pkg.document, "Pages") == 1


def test_common_data_and_page_area(pkg: Package) -> None:
    """Document.xsd CommonData: MaxUnitID, PageArea, PublicRes*, DocumentRes*, TemplatePage*, DefaultCS?;
    CT_PageArea: PhysicalBox required first, an ST_Box."""
    common = _one(pkg.document, "CommonData")
    assert_sequence(common, ["MaxUnitID", "PageArea", "PublicRes", "DocumentRes", "TemplatePage",
                             "DefaultCS"])
    assert _ID.match(_one(common, "MaxUnitID").text or "")
    area = _one(common, "PageArea")
    assert_sequence(area, ["PhysicalBox", "ApplicationBox", "ContentBox", "BleedBox"])
    _box(_one(area, "PhysicalBox").text or "")


def test_pages_have_id_and_base_loc(pkg: Package) -> None:
    """Document.xsd Pages/Page: ID (ST_ID) and BaseLoc (ST_Loc) required; BaseLoc names an ofd:Page."""
    pages = _one(pkg.document, "Pages")
    assert_sequence(pages, ["Page"])
    assert len(pages) >= 1
    for page_id, part in pkg.page_parts():
        assert _ID.match(page_id)
        assert _local(pkg.xml(part)) == "Page"


def _all_ids(pkg: Package) -> Iterator[tuple[str, str, str]]:
    """(part, element, ID) of every ST_ID the document declares: pages, resources, layers, page
    objects (Document.xsd, Res.xsd, Page.xsd) and attachments (ofdrw numbers them from MaxUnitID)."""
    for page in pkg.document.iterfind(f"{{{NS}}}Pages/{{{NS}}}Page"):
        yield pkg.doc_root, "Page", page.get("ID", "")
    for tp in pkg.document.iterfind(f"{{{NS}}}CommonData/{{{NS}}}TemplatePage"):
        yield pkg.doc_root, "TemplatePage", tp.get("ID", "")
    parts = pkg.res_parts() + [part for _, part in pkg.page_parts()]
    for part in parts:
        for el in pkg.xml(part).iter():
            if isinstance(el.tag, str) and el.get("ID") is not None:
                yield part, _local(el), el.get("ID", "")
    att = pkg.optional_part("Attachments")
    if att is not None:
        for el in pkg.xml(att).iterfind(f"{{{NS}}}Attachment"):
            yield att, "Attachment", el.get("ID", "")


def test_ids_are_unique_unsigned_and_within_max_unit_id(pkg: Package) -> None:
    """ST_ID: an unsigned integer, unique in the document, 0 is no identifier (ofdrw ST_ID, GB/T 33190
    table 2); MaxUnitID: the largest ID in the document (GB/T 33190 §7.5 table 6)."""
    ids = list(_all_ids(pkg))
    assert ids
    for part, element, value in ids:
        assert _ID.match(value) and int(value) > 0, f"{element} ID {value!r} in {part}"
    numbers = [int(v) for _, _, v in ids]
    dupes = sorted({n for n in numbers if numbers.count(n) > 1})
    assert not dupes, f"IDs used twice: {dupes}"
    assert int(_one(_one(pkg.document, "CommonData"), "MaxUnitID").text or "0") >= max(numbers)


# --- resources (XSD Res.xsd; ofdrw basicStructure.res) -------------------------------------------------


def _resources(pkg: Package) -> dict[str, tuple[str, etree._Element]]:
    """ID -> (kind, element) of every resource in PublicRes and DocumentRes."""
    found = {}
    for part in pkg.res_parts():
        for el in pkg.xml(part).iter(f"{{{NS}}}Font", f"{{{NS}}}MultiMedia", f"{{{NS}}}ColorSpace",
                                     f"{{{NS}}}DrawParam", f"{{{NS}}}CompositeGraphicUnit"):
            found[el.get("ID", "")] = (_local(el), el)
    return found


def test_res_parts(pkg: Package) -> None:
    """Res.xsd: Res@BaseLoc required; children ColorSpaces, DrawParams, Fonts, MultiMedias,
    CompositeGraphicUnits; Font@FontName and MultiMedia@Type (Image|Audio|Video) required; MediaFile
    and FontFile name files (relative to BaseLoc)."""
    for part in pkg.res_parts():
        root = pkg.xml(part)
        assert _local(root) == "Res"
        assert_attrs(root, "BaseLoc")
        assert_sequence(root, [("ColorSpaces", "DrawParams", "Fonts", "MultiMedias",
                                "CompositeGraphicUnits")])
        base = pkg.resolve(part, root.get("BaseLoc", "")) + "/x"
        for font in root.iterfind(f"{{{NS}}}Fonts/{{{NS}}}Font"):
            assert_attrs(font, "ID", "FontName")
            assert_sequence(font, ["FontFile"])
            for ff in font:
                pkg.existing(base, ff.text)
        for mm in root.iterfind(f"{{{NS}}}MultiMedias/{{{NS}}}MultiMedia"):
            assert_attrs(mm, "ID", "Type")
            assert mm.get("Type") in ("Image", "Audio", "Video")
            assert_sequence(mm, ["MediaFile"])
            pkg.existing(base, _one(mm, "MediaFile").text)


# --- page content (XSD Page.xsd; ofdrw pageObj, graph.pathObj, text.TextCode, pageObj.ImageObject) --

_GRAPHIC_UNIT = ["Actions", "Clips"]


def _check_color(el: etree._Element) -> None:
    """CT_Color@Value: an ST_Array; in the default RGB space three integers 0..255 (GB/T 33190 §8.3)."""
    values = _numbers(el.get("Value", ""))
    assert len(values) == 3 and all(v == int(v) and 0 <= v <= 255 for v in values), el.get("Value")


def _check_graphic_unit(el: etree._Element) -> None:
    """CT_GraphicUnit: Boundary (ST_Box) required; CTM six numbers; LineWidth xs:double; Visible boolean."""
    assert_attrs(el, "ID", "Boundary")
    assert _ID.match(el.get("ID", ""))
    _box(el.get("Boundary", ""))
    if el.get("CTM") is not None:
        assert len(_numbers(el.get("CTM", ""))) == 6
    if el.get("LineWidth") is not None:
        assert _NUMBER.match(el.get("LineWidth", ""))
    assert el.get("Visible", "true") in _BOOLEAN


def test_page_structure(pkg: Package) -> None:
    """Page.xsd Page: Template*, PageRes*, Area?, Content?, Actions?; Content: Layer+ with ID; a layer
    holds TextObject, PathObject, ImageObject, CompositeObject, PageBlock."""
    for _, part in pkg.page_parts():
        page = pkg.xml(part)
        assert_sequence(page, ["Template", "PageRes", "Area", "Content", "Actions"])
        for content in page.iterfind(f"{{{NS}}}Content"):
            assert_sequence(content, ["Layer"])
            for layer in content:
                assert_attrs(layer, "ID")
                assert layer.get("Type", "Body") in ("Body", "Background", "Foreground", "Custom")
                assert_sequence(layer, [("TextObject", "PathObject", "ImageObject", "CompositeObject",
                                         "PageBlock")])


def _objects(pkg: Package, local: str) -> Iterator[etree._Element]:
    for _, part in pkg.page_parts():
        yield from pkg.xml(part).iter(f"{{{NS}}}{local}")


def test_text_objects(pkg: Package) -> None:
    """CT_Text: Font (ST_RefID to a Font) and Size required; children FillColor?, StrokeColor?,
    (CGTransform*, TextCode)+; TextCode X, Y xs:double; DeltaX an ST_Array with at most one value
    per gap between characters (GB/T 33190 §11.3)."""
    resources = _resources(pkg)
    texts = list(_objects(pkg, "TextObject"))
    assert texts
    for obj in texts:
        _check_graphic_unit(obj)
        assert_attrs(obj, "Font", "Size")
        assert resources.get(obj.get("Font", ""), ("",))[0] == "Font", f"Font {obj.get('Font')} is no Font"
        assert _NUMBER.match(obj.get("Size", "")) and float(obj.get("Size", "0")) > 0
        assert_sequence(obj, [*_GRAPHIC_UNIT, "FillColor", "StrokeColor", ("CGTransform", "TextCode")])
        assert _count(obj, "TextCode") >= 1
        for colour in (c for c in obj if _local(c) in ("FillColor", "StrokeColor")):
            _check_color(colour)
        for code in obj.iterfind(f"{{{NS}}}TextCode"):
            for axis in ("X", "Y"):
                assert code.get(axis) is None or _NUMBER.match(code.get(axis, ""))
            for attr in ("DeltaX", "DeltaY"):
                if code.get(attr) is not None:
                    assert _delta(code.get(attr, "")) <= len(code.text or "") - 1, attr


def test_path_objects(pkg: Package) -> None:
    """CT_Path: children StrokeColor?, FillColor?, AbbreviatedData (required); Stroke and Fill xs:boolean;
    AbbreviatedData uses the operators S M L Q B A C (GB/T 33190 §9.3.2 table 36)."""
    paths = list(_objects(pkg, "PathObject"))
    assert paths
    for obj in paths:
        _check_graphic_unit(obj)
        assert_sequence(obj, [*_GRAPHIC_UNIT, "StrokeColor", "FillColor", "AbbreviatedData"])
        assert _count(obj, "AbbreviatedData") == 1
        for attr in ("Stroke", "Fill"):
            assert obj.get(attr, "true") in _BOOLEAN
        for colour in (c for c in obj if _local(c) in ("FillColor", "StrokeColor")):
            _check_color(colour)
        tokens = (_one(obj, "AbbreviatedData").text or "").split()
        assert tokens and all(t in "SMLQBAC" or _NUMBER.match(t) for t in tokens)


def test_image_objects_reference_image_resources(pkg: Package) -> None:
    """CT_Image: ResourceID (ST_RefID) required and naming a MultiMedia of Type Image; CTM maps the
    image's unit square onto the boundary (GB/T 33190 §10)."""
    resources = _resources(pkg)
    images = list(_objects(pkg, "ImageObject"))
    assert images
    for obj in images:
        _check_graphic_unit(obj)
        assert_attrs(obj, "ResourceID")
        kind, res = resources.get(obj.get("ResourceID", ""), ("", None))
        assert kind == "MultiMedia" and res is not None and res.get("Type") == "Image"
        assert_sequence(obj, [*_GRAPHIC_UNIT, "Border"])


# --- attachments (XSD Attachments.xsd; ofdrw attachment.CT_Attachment) ---------------------------------


def test_attachments(pkg: Package) -> None:
    """CT_Attachment: ID and Name required; FileLoc required; CreationDate and ModDate xs:dateTime (ofdrw
    writes yyyy-MM-dd'T'..); Size xs:double (KB); Visible xs:boolean."""
    part = pkg.optional_part("Attachments")
    assert part is not None
    root = pkg.xml(part)
    assert _local(root) == "Attachments"
    assert_sequence(root, ["Attachment"])
    for att in root:
        assert_attrs(att, "ID", "Name")
        assert_sequence(att, ["FileLoc"])
        pkg.existing(part, _one(att, "FileLoc").text)
        for attr in ("CreationDate", "ModDate"):
            value = att.get(attr)
            assert value is None or _DATETIME.match(value), f"{attr}={value!r} is not xs:dateTime"
        assert att.get("Size") is None or _NUMBER.match(att.get("Size", ""))
        assert att.get("Visible", "true") in _BOOLEAN


# --- custom tags (XSD CustomTags.xsd; ofdrw customTags.CustomTag) ---------------------------------


def test_custom_tags(pkg: Package) -> None:
    """CustomTags.xsd: CustomTag@NameSpace required, children SchemaLoc?, FileLoc; ofdrw CustomTag
    (GB/T 33190 table 63): TypeID required.  We write both."""
    part = pkg.optional_part("CustomTags")
    assert part is not None
    root = pkg.xml(part)
    assert_sequence(root, ["CustomTag"])
    for tag in root:
        assert_attrs(tag, "NameSpace", "TypeID")
        assert_sequence(tag, ["SchemaLoc", "FileLoc"])
        tag_file = pkg.existing(part, _one(tag, "FileLoc").text)
        assert etree.QName(pkg.xml(tag_file)).namespace == tag.get("NameSpace")


def test_custom_tag_object_refs_resolve(issued: Package) -> None:
    """Each ObjectRef of the index names a page (PageRef) and an object on that page (GB/T 33190 §16)."""
    part = issued.optional_part("CustomTags")
    assert part is not None
    pages = {page_id: {el.get("ID") for el in issued.xml(loc).iter() if isinstance(el.tag, str)}
             for page_id, loc in issued.page_parts()}
    refs = 0
    for tag in issued.xml(part):
        for ref in issued.xml(issued.existing(part, _one(tag, "FileLoc").text)).iter(f"{{{NS}}}ObjectRef"):
            refs += 1
            assert ref.get("PageRef") in pages
            assert (ref.text or "").strip() in pages[ref.get("PageRef", "")]
    assert refs


# --- signatures (XSD Signatures.xsd, Signature.xsd; ofdrw core.signatures, GB/T 33190 §18) --------


def test_signature_list(issued: Package) -> None:
    """Signatures.xsd: MaxSignId?, Signature*; Signature@ID and @BaseLoc required, Type Seal|Sign;
    MaxSignId is the largest signature ID."""
    parts = issued.signature_parts()
    assert parts
    root = issued.xml(parts[0])
    assert _local(root) == "Signatures"
    assert_sequence(root, ["MaxSignId", "Signature"])
    ids = []
    for sig in root.iterfind(f"{{{NS}}}Signature"):
        assert_attrs(sig, "ID", "BaseLoc")
        assert sig.get("Type") in ("Seal", "Sign")
        ids.append(sig.get("ID", ""))
    assert len(ids) == len(set(ids))
    max_el = root.find(f"{{{NS}}}MaxSignId")
    assert max_el is not None and max_el.text in ids


def test_signature_structure(issued: Package) -> None:
    """Signature.xsd: Signature = SignedInfo, SignedValue; SignedInfo = Provider, SignatureMethod?,
    SignatureDateTime?, References, StampAnnot*, Seal? (also ofdrw SignedInfo); Provider@ProviderName
    required; Reference@FileRef required with one CheckValue (xs:base64Binary)."""
    for part in issued.signature_parts()[1:]:
        root = issued.xml(part)
        assert_sequence(root, ["SignedInfo", "SignedValue"])
        assert _count(root, "SignedInfo") == 1 and _count(root, "SignedValue") == 1
        info = _one(root, "SignedInfo")
        assert_sequence(info, ["Provider", "SignatureMethod", "SignatureDateTime", "References", "StampAnnot",
                               "Seal"])
        assert_attrs(_one(info, "Provider"), "ProviderName")
        stamp = info.find(f"{{{NS}}}SignatureDateTime")
        assert stamp is None or parse_signing_time(stamp.text or "") is not None
        refs = _one(info, "References")
        assert_sequence(refs, ["Reference"])
        assert len(refs) >= 1
        for ref in refs:
            assert_attrs(ref, "FileRef")
            issued.existing(part, ref.get("FileRef"))
            assert_sequence(ref, ["CheckValue"])
            try:
                assert base64.b64decode(_one(ref, "CheckValue").text or "", validate=True)
            except binascii.Error:
                pytest.fail(f"CheckValue of {ref.get('FileRef')} is not base64")
        issued.existing(part, _one(root, "SignedValue").text)


def test_signature_covers_every_part_but_its_own(issued: Package) -> None:
    """GB/T 33190 §18.2: References list the protected files; Signatures.xml (so that signatures can be
    added later, ofdrw Signatures), Signature.xml and SignedValue are not among them."""
    sig_list, *sig_parts = issued.signature_parts()
    covered = set()
    for part in sig_parts:
        root = issued.xml(part)
        covered |= {issued.resolve(part, r.get("FileRef", "")) for r in root.iter(f"{{{NS}}}Reference")}
        covered |= {part, issued.resolve(part, _one(root, "SignedValue").text or "")}
    assert covered | {sig_list} == set(issued.entries)


# --- what the model refuses so that the writer cannot break a rule ------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: TextObject(1, (0, 0, 0, 1), 1, 3, "a"),  # ST_Box width > 0
        lambda: PathObject(1, (0, 0, 10, 0), "M 0 0 L 10 0"),  # ST_Box height > 0
        lambda: DocInfo(doc_id="0" * 32, creation_date="2024/01/01"),  # CreationDate xs:date
        lambda: Attachment("a", b"", "xml", creation_date="yesterday"),  # xs:date or xs:dateTime
        lambda: CustomTagFile("x", b"<x/>"),  # no NameSpace given nor in the file
        lambda: CustomTagFile("", b"<t:x xmlns:t='urn:x'/>"),  # TypeID required (ofdrw)
        lambda: Document(DocInfo("0" * 32, "2024-01-01"), (Page(),), page_size=(210.0, 0.0)),  # PhysicalBox
    ],
)
def test_model_refuses_values_the_rules_forbid(build: object) -> None:
    with pytest.raises(InputError):
        build()  # type: ignore[operator]


def test_a_straight_rule_gets_a_boundary_with_area() -> None:
    """A horizontal line has height 0; its ST_Box is padded by half the pen on each side (width and
    height > 0, ofdrw ST_Box) so that the Boundary, which clips (GB/T 33190 §8.5), holds the stroke."""
    import dataclasses

    from ecert.face import face_layout
    from ecert.layout import RuleBox
    from ecert.package import _document
    from tests.certs import draft

    layout = face_layout(draft(), qr=False)
    layout = dataclasses.replace(layout, rules=(RuleBox(20, 100, 170, 0, line_width=0.4, rectangle=False),))
    document = _document(draft(), layout, {})
    (line,) = [o for o in document.pages[0].objects if isinstance(o, PathObject)]
    assert line.boundary == pytest.approx((19.8, 99.8, 170.4, 0.4))
    assert line.data == "M 0.2 0.2 L 170.2 0.2"
