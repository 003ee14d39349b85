"""XML written as text (``ofd.xmltext``, the writer and Signature.xml) round-trips every character class.

The text writers promise lxml's bytes; the stronger promise a reader needs is that a parser reads
back exactly the string that was given, in text and in attributes, for every character XML must
escape or normalises (``& < > "``, ``]]>``, tab, line feed, carriage return and CR LF, which an
unescaped attribute or text would turn into spaces or line feeds), the ones XML 1.0 keeps as they
are although XML 1.1 or other readers treat them as line ends (NEL, LS, PS), CJK and astral
characters, a BOM inside the text; and that every character XML 1.0 cannot carry (C0 controls,
lone surrogates, U+FFFE, U+FFFF) is refused with an ``EcertError`` instead of being written.
Every field a caller fills is tried: DocInfo, CustomData names and values, attachment names and
formats, custom tag TypeID and NameSpace, text and path data, the signature's Provider and StampAnnot.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from ecert.crypto.digests import DigestAlgorithm
from ecert.errors import EcertError
from ecert.ofd.model import Attachment, CustomTagFile, DocInfo, Document, Font, Page, PathObject, TextObject
from ecert.ofd.namespaces import OFD_NS
from ecert.ofd.reader import OFDPackage
from ecert.ofd.signatures import Provider, StampAnnot, prepare_signature
from ecert.ofd.writer import write

NS = {"ofd": OFD_NS}

WRITABLE = {
    "markup": "a & b < c > d \"q\" 'a'",
    "CDATA end": "x]]>y",
    "entity look-alike": "&amp; &#13; &lt;",
    "tab, line feed": "a\tb\nc",
    "carriage return": "a\rb",
    "CR LF": "a\r\nb",
    "leading and trailing spaces": "  a  b  ",
    "NEL, LS, PS": "a\u0085b\u2028c\u2029d",
    "no-break space and DEL": "a\u00a0b\x7fc",
    "CJK": "电子证照 示例",
    "astral": "\U0001f600\U00020000",
    "BOM inside": "a\ufeffb",
    "replacement character": "\ufffd",
    "last BMP characters XML allows": "\ufffd\ufeff\ue000",
}
FORBIDDEN = {
    "NUL": "a\x00b",
    "C0 control": "a\x01b",
    "vertical tab": "a\x0bb",
    "form feed": "a\x0cb",
    "unit separator": "a\x1fb",
    "lone high surrogate": "a\ud800b",
    "lone low surrogate": "a\udfffb",
    "U+FFFE": "a\ufffeb",
    "U+FFFF": "a\uffffb",
}


def _document(value: str) -> Document:
    tag_xml = b'<t:Tag xmlns:t="urn:x"/>'
    return Document(
        doc_info=DocInfo("0" * 32, "2026-01-01", title=value, author=value, creator=value,
                         creator_version=value, custom_datas=((value, value), ("plain", value))),
        pages=(Page((TextObject(3, (0, 0, 10, 10), 2, 5.0, value),
                     PathObject(4, (0, 0, 10, 10), "M 0 0 " + value))),),
        fonts=(Font(2, font_name=value, family_name=value),),
        attachments=(Attachment(value, b"data", value),),
        custom_tags=(CustomTagFile(value, tag_xml, namespace=value),),
    )


def _parts(data: bytes) -> dict[str, etree._Element]:
    package = OFDPackage.open(data)
    return {name: etree.fromstring(body) for name, body in package.entries.items() if name.endswith(".xml")}


def _values(parts: dict[str, etree._Element]) -> list[tuple[str, str | None]]:
    """Every caller-given string as a parser reads it back."""
    ofd = parts["OFD.xml"]
    out: list[tuple[str, str | None]] = []
    for local in ("Title", "Author", "Creator", "CreatorVersion"):
        out.append((local, ofd.findtext(f".//ofd:DocInfo/ofd:{local}", namespaces=NS)))
    first, second = ofd.iterfind(".//ofd:CustomData", NS)
    assert second.get("Name") == "plain"
    out += [("CustomData Name", first.get("Name")), ("CustomData", first.text or ""),
            ("CustomData", second.text or "")]
    font = parts["Doc_0/PublicRes.xml"].find(".//ofd:Font", NS)
    assert font is not None
    out += [("FontName", font.get("FontName")), ("FamilyName", font.get("FamilyName"))]
    attachment = parts["Doc_0/Attachs/Attachments.xml"].find(".//ofd:Attachment", NS)
    assert attachment is not None
    out += [("Attachment Name", attachment.get("Name")), ("Attachment Format", attachment.get("Format"))]
    tag = parts["Doc_0/Tags/CustomTags.xml"].find(".//ofd:CustomTag", NS)
    assert tag is not None
    out += [("TypeID", tag.get("TypeID")), ("NameSpace", tag.get("NameSpace"))]
    page = parts["Doc_0/Pages/Page_0/Content.xml"]
    out.append(("TextCode", page.findtext(".//ofd:TextCode", namespaces=NS)))
    path = page.findtext(".//ofd:AbbreviatedData", namespaces=NS)
    out.append(("AbbreviatedData", None if path is None else path.removeprefix("M 0 0 ")))
    return out


@pytest.mark.parametrize("what", sorted(WRITABLE))
def test_every_field_reads_back_as_given(what: str) -> None:
    value = WRITABLE[what]
    values = _values(_parts(write(_document(value))))
    assert values == [(field, value) for field, _ in values]


@pytest.mark.parametrize("what", sorted(FORBIDDEN))
def test_characters_xml_cannot_carry_are_refused(what: str) -> None:
    with pytest.raises(EcertError):
        write(_document(FORBIDDEN[what]))


def _signature_xml(provider: Provider, annot: StampAnnot | None = None) -> etree._Element:
    base = write(_document("x"))
    prepared = prepare_signature(base, provider=provider, signature_method_oid="1.2.156.10197.1.501",
                                 digest=DigestAlgorithm.SM3, signing_time=datetime(2026, 1, 1, tzinfo=UTC),
                                 stamp_annot=annot)
    return etree.fromstring(prepared.to_be_signed)


@pytest.mark.parametrize("what", sorted(WRITABLE))
def test_signature_fields_read_back_as_given(what: str) -> None:
    value = WRITABLE[what]
    root = _signature_xml(Provider(value, value, value), StampAnnot(value, value, value))
    provider = root.find(".//ofd:Provider", NS)
    annot = root.find(".//ofd:StampAnnot", NS)
    assert provider is not None and annot is not None
    assert [provider.get(k) for k in ("ProviderName", "Version", "Company")] == [value] * 3
    assert [annot.get(k) for k in ("ID", "PageRef", "Boundary")] == [value] * 3


@pytest.mark.parametrize("what", sorted(FORBIDDEN))
def test_signature_fields_xml_cannot_carry_are_refused(what: str) -> None:
    value = FORBIDDEN[what]
    for provider, annot in ((Provider(value), None), (Provider("p", version=value), None),
                            (Provider("p"), StampAnnot("1", value, "0 0 1 1"))):
        with pytest.raises(EcertError):
            _signature_xml(provider, annot)
