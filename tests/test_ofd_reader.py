"""Reader against the interop files in tests/data/ofdrw (structure only)."""

from __future__ import annotations

import pytest

from ecert.errors import InvalidPackage, UnsafePackage
from ecert.ofd import OFDPackage, resolve

from .thirdparty import OFDRW

INTEROP = OFDRW

ALL = sorted(p.name for p in INTEROP.glob("*.ofd"))


def open_interop(name: str) -> OFDPackage:
    return OFDPackage.from_path(INTEROP / name)


def test_interop_files_present() -> None:
    assert {"DigitalSign.ofd", "SESV4SignDoc.ofd", "helloworld.ofd", "invoice-unsigned.ofd",
            "signedFile.ofd", "v4signed.ofd"} <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_every_interop_file_opens(name: str) -> None:
    pkg = open_interop(name)
    (body,) = pkg.doc_bodies()
    assert body.doc_root == "Doc_0/Document.xml"
    doc = pkg.document(0)
    assert len(doc.pages) == 1
    assert doc.pages[0].base_loc == "Doc_0/Pages/Page_0/Content.xml"
    assert doc.public_res == ("Doc_0/PublicRes.xml",)
    assert body.doc_info.doc_id is not None and len(body.doc_info.doc_id) == 32


def test_names_in_archive_order_without_directories() -> None:
    pkg = open_interop("DigitalSign.ofd")
    assert pkg.names()[0] == "Doc_0/Document.xml"
    assert pkg.names()[-1] == "OFD.xml"
    assert "Doc_0/Pages/" not in pkg.names()
    assert len(pkg.names()) == 7


def test_docinfo_of_digital_sign() -> None:
    info = open_interop("DigitalSign.ofd").doc_bodies()[0].doc_info
    assert info.doc_id == "5f8726d4482e4377b6fce9a61c569338"
    assert info.creation_date == "2020-04-16"
    assert info.creator == "OFD R&W"
    assert info.creator_version == "1.1.0"
    assert dict(info.custom_datas) == {}


def test_legacy_namespace_and_full_docinfo() -> None:
    pkg = open_interop("invoice-unsigned.ofd")
    body = pkg.doc_bodies()[0]
    assert body.doc_info.title == "未命名"
    assert body.doc_info.author == "Administrator"
    assert body.doc_info.mod_date == "2020-10-29"
    assert body.doc_info.custom_datas["VersionDetail"].startswith("12447")
    assert body.signatures_loc is None
    doc = pkg.document(0)
    assert doc.max_unit_id == 69
    assert doc.document_res == ("Doc_0/DocumentRes.xml",)


def test_invoice_v4signed() -> None:
    pkg = open_interop("v4signed.ofd")
    body = pkg.doc_bodies()[0]
    assert body.doc_info.custom_datas["发票号码"] == "99999951"
    assert body.doc_info.custom_datas["销售方名称"] == "杭州融易算企业管理咨询有限公司"
    assert body.signatures_loc == "Doc_0/Signs/Signatures.xml"
    doc = pkg.document(0)
    (att,) = doc.attachments
    assert (att.id, att.name, att.format) == (None, "original_invoice", "xml")
    assert att.creation_date == "2020/10/10 15:11:19"
    assert att.file_loc == "Doc_0/Attachs/original_invoice.xml"
    # Document.xml of this invoice does not declare its Tags/CustomTags.xml
    assert doc.custom_tags == ()
    assert doc.max_unit_id is None


def test_invoice_signed_file() -> None:
    pkg = open_interop("signedFile.ofd")
    body = pkg.doc_bodies()[0]
    assert body.doc_info.author == "China Tax"
    assert body.doc_info.custom_datas["发票代码"] == "032001600511"
    doc = pkg.document(0)
    assert doc.physical_box == (0.0, 0.0, 210.0, 140.0)
    (att,) = doc.attachments
    assert (att.id, att.name) == ("101", "original_invoice")
    assert att.file_loc == "Doc_0/Attachs/original_invoice.xml"
    (tag,) = doc.custom_tags
    assert (tag.type_id, tag.namespace, tag.file_loc) == ("", None, "Doc_0/Tags/CustomTag.xml")
    assert pkg.entries[att.file_loc].startswith(b"<?xml")


@pytest.mark.parametrize(
    ("base", "loc", "expected"),
    [
        ("OFD.xml", "Doc_0/Document.xml", "Doc_0/Document.xml"),
        ("OFD.xml", "/Doc_0/Document.xml", "Doc_0/Document.xml"),
        ("Doc_0/Document.xml", "Pages/Page_0/Content.xml", "Doc_0/Pages/Page_0/Content.xml"),
        ("Doc_0/Document.xml", "/Doc_0/Signs/Signatures.xml", "Doc_0/Signs/Signatures.xml"),
        ("Doc_0/Document.xml", "./Res/../Res/a.png", "Doc_0/Res/a.png"),
        ("Doc_0/Document.xml", "../OFD.xml", "OFD.xml"),
        ("Doc_0/Signs/Signatures.xml", "Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/Signature.xml"),
    ],
)
def test_resolve(base: str, loc: str, expected: str) -> None:
    assert resolve(base, loc) == expected


@pytest.mark.parametrize("loc", ["../../x.xml", "/../x", "a/../../../b", "a\\b", "a\x00b", "C:/x", "file:///etc/passwd"])
def test_resolve_refuses_escapes(loc: str) -> None:
    with pytest.raises(UnsafePackage):
        resolve("Doc_0/Document.xml", loc)


@pytest.mark.parametrize("loc", ["", "  ", "/", "/."])
def test_resolve_refuses_empty(loc: str) -> None:
    with pytest.raises(InvalidPackage):
        resolve("Doc_0/Document.xml", loc)


def test_missing_entry_read_names_it() -> None:
    pkg = open_interop("helloworld.ofd")
    with pytest.raises(InvalidPackage, match="nope"):
        pkg.read("nope")
    with pytest.raises(InvalidPackage):
        pkg.doc_body(3)
