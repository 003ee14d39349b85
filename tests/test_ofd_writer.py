"""Writer: deterministic packages that the reader reads back with the same structure."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.crypto.digests import DigestAlgorithm
from ecert.errors import InputError, InvalidPackage
from ecert.ofd import OFDPackage
from ecert.ofd.model import _NOT_XML as NOT_XML
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
from ecert.ofd.namespaces import OFD_NS, XPATH_NS
from ecert.ofd.signatures import Provider, check_references, prepare_signature, uncovered_entries
from ecert.ofd.writer import add_entries, replace_entries, write

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
INFO = DocInfo(doc_id="0123456789abcdef0123456789abcdef", creation_date="2024-05-06", title="测试证照",
               author="某某局", creator="ecert", creator_version="0.1",
               custom_datas=(("证照类型", "营业执照"), ("ZZBS", "1.2.156.xxx")))


def sample() -> Document:
    return Document(
        doc_info=INFO,
        pages=(
            Page((TextObject(10, (20, 20, 60, 8), 1, 5.0, "中华人民共和国", delta_x=(5.0,) * 6),
                  ImageObject(11, (150, 20, 30, 30), 2),
                  PathObject(12, (10, 10, 190, 277), "M 0 0 L 190 0 L 190 277 L 0 277 C",
                             stroke=(200, 0, 0)))),
            Page((TextObject(13, (20, 20, 60, 8), 1, 4.0, "第二页 & <b>", fill=(0, 0, 255)),)),
        ),
        fonts=(Font(1),),
        images=(Image(2, PNG),),
        attachments=(Attachment("metadata.xml", b"<m/>", "xml"), Attachment("照片.jpg", b"\xff\xd8", "jpg")),
        custom_tags=(CustomTagFile("ecert", b"<t:Tags xmlns:t='urn:x'/>", namespace="urn:x"),),
    )


def test_round_trip_structure() -> None:
    data = write(sample())
    pkg = OFDPackage.open(data)
    (body,) = pkg.doc_bodies()
    assert body.doc_info.doc_id == INFO.doc_id and body.doc_info.title == "测试证照"
    assert dict(body.doc_info.custom_datas) == dict(INFO.custom_datas)
    doc = pkg.document(0)
    assert [p.base_loc for p in doc.pages] == [f"Doc_0/Pages/Page_{i}/Content.xml" for i in (0, 1)]
    assert doc.physical_box == (0, 0, 210, 297)
    assert doc.public_res == ("Doc_0/PublicRes.xml",) and doc.document_res == ("Doc_0/DocumentRes.xml",)
    assert [(a.name, a.format) for a in doc.attachments] == [("metadata.xml", "xml"), ("照片.jpg", "jpg")]
    assert pkg.entries[doc.attachments[0].file_loc] == b"<m/>"
    assert pkg.entries[doc.attachments[1].file_loc] == b"\xff\xd8"
    (tag,) = doc.custom_tags
    assert (tag.type_id, tag.namespace) == ("ecert", "urn:x")
    assert pkg.entries[tag.file_loc] == b"<t:Tags xmlns:t='urn:x'/>"
    assert pkg.entries["Doc_0/Res/image_2.png"] == PNG
    assert pkg.signatures() == ()


def test_ids_unique_and_max_unit_id() -> None:
    pkg = OFDPackage.open(write(sample()))
    ids: list[int] = []
    for name in pkg.names():
        if name.endswith(".xml") and not name.startswith("Doc_0/Tags/Tag_") and "Attachs/m" not in name:
            ids += [int(v) for v in pkg.xml(name).xpath("//@ID")]  # type: ignore[union-attr]
    assert len(ids) == len(set(ids))
    assert pkg.document(0).max_unit_id == max(ids)
    page_ids = [int(p.id) for p in pkg.document(0).pages]
    assert page_ids == [sample().page_id(0), sample().page_id(1)] == [14, 15]


def test_text_object_shape() -> None:
    pkg = OFDPackage.open(write(sample()))
    page = pkg.xml("Doc_0/Pages/Page_0/Content.xml")
    (text,) = page.xpath("//ofd:TextObject", namespaces=XPATH_NS)  # type: ignore[misc]
    assert text.get("Font") == "1" and text.get("Size") == "5" and text.get("Boundary") == "20 20 60 8"
    assert [c.tag.split("}")[1] for c in text] == ["FillColor", "TextCode"]
    code = text[1]
    assert code.text == "中华人民共和国" and code.get("DeltaX") == "5 5 5 5 5 5"
    assert (code.get("X"), code.get("Y")) == ("0", "5")
    font = pkg.xml("Doc_0/PublicRes.xml")[0][0]
    assert font.tag == f"{{{OFD_NS}}}Font" and font.get("FamilyName") == "宋体"
    page2 = pkg.entries["Doc_0/Pages/Page_1/Content.xml"]
    assert "第二页 &amp; &lt;b&gt;".encode() in page2


def test_deterministic_and_zip_shape() -> None:
    a, b = write(sample()), write(sample())
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as zf:
        infos = zf.infolist()
    assert infos[0].filename == "OFD.xml"
    assert {i.date_time for i in infos} == {(2000, 1, 1, 0, 0, 0)}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    assert a.startswith(b"PK\x03\x04")
    assert OFDPackage.open(a).entries["OFD.xml"].startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_embedded_font_file() -> None:
    doc = Document(INFO, (Page((TextObject(3, (0, 0, 10, 10), 1, 3, "x"),)),),
                   fonts=(Font(1, "MyFont", None, b"\0\1\0\0font"),))
    pkg = OFDPackage.open(write(doc))
    font = pkg.xml("Doc_0/PublicRes.xml")[0][0]
    assert font.get("FamilyName") is None and font[0].text == "font_1.ttf"
    assert pkg.entries["Doc_0/Res/font_1.ttf"] == b"\0\1\0\0font"
    assert "Doc_0/DocumentRes.xml" not in pkg.entries


def test_written_document_can_be_signed() -> None:
    prepared = prepare_signature(write(sample()), provider=Provider("ecert"),
                                 signature_method_oid="1.2.156.10197.1.501",
                                 digest=DigestAlgorithm.SM3, signing_time=datetime(2024, 1, 1, tzinfo=UTC))
    pkg = OFDPackage.open(prepared.finish(b"sig"))
    (sig,) = pkg.signatures()
    assert all(r.ok for r in check_references(pkg, sig)) and uncovered_entries(pkg) == ()


def test_add_and_replace_entries() -> None:
    data = write(sample())
    added = OFDPackage.open(add_entries(data, {"Doc_0/extra.txt": b"x"}))
    assert added.names()[-1] == "Doc_0/extra.txt"
    with pytest.raises(InvalidPackage, match="exists"):
        add_entries(data, {"OFD.xml": b"x"})
    replaced = OFDPackage.open(replace_entries(data, {"Doc_0/Res/image_2.png": b"new"}))
    assert replaced.names() == OFDPackage.open(data).names()
    assert replaced.entries["Doc_0/Res/image_2.png"] == b"new"
    with pytest.raises(InvalidPackage):
        replace_entries(data, {"../x": b""})


@pytest.mark.parametrize(
    "build",
    [
        lambda: DocInfo(doc_id="not-hex", creation_date="2024-01-01"),
        lambda: DocInfo(doc_id="0" * 32, creation_date="2024-01-01", custom_datas=(("a", "1"), ("a", "2"))),
        lambda: Image(1, b"", "GIF"),
        lambda: TextObject(1, (0, 0, 1, 1), 1, 3, ""),
        lambda: TextObject(1, (0, 0, 1, 1), 1, 3, "abc", delta_x=(1.0,)),
        lambda: TextObject(0, (0, 0, 1, 1), 1, 3, "a"),
        lambda: PathObject(1, (0, 0, 1, 1), "M 0 0", stroke=(300, 0, 0)),
        lambda: CustomTagFile("x", b"<!DOCTYPE x><x/>"),
        lambda: Document(INFO, ()),
        lambda: Document(INFO, (Page((TextObject(1, (0, 0, 1, 1), 9, 3, "a"),)),)),
        lambda: Document(INFO, (Page((ImageObject(1, (0, 0, 1, 1), 9),)),)),
        lambda: Document(INFO, (Page((TextObject(1, (0, 0, 1, 1), 1, 3, "a"),)),), fonts=(Font(1),)),
    ],
)
def test_invalid_models_refused(build: object) -> None:
    with pytest.raises(InputError):
        build()  # type: ignore[operator]


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                min_size=1, max_size=20)


@settings(max_examples=40, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=4),
       st.lists(st.tuples(_TEXT, _TEXT), max_size=4, unique_by=lambda t: t[0]))
def test_round_trip_text_and_metadata(texts: list[str], customs: list[tuple[str, str]]) -> None:
    try:
        info = DocInfo("f" * 32, "2024-01-01", custom_datas=tuple(customs))
        objs = tuple(TextObject(10 + i, (0, 10 * i, 100, 8), 1, 4, t) for i, t in enumerate(texts))
    except InputError:
        assert any(NOT_XML.search(t) for t in [*texts, *(x for c in customs for x in c)])
        return
    pkg = OFDPackage.open(write(Document(info, (Page(objs),), fonts=(Font(1),))))
    assert dict(pkg.doc_bodies()[0].doc_info.custom_datas) == dict(customs)
    codes = pkg.xml("Doc_0/Pages/Page_0/Content.xml").xpath("//ofd:TextCode/text()", namespaces=XPATH_NS)
    assert codes == texts
