"""Signature.xml and escaped values written as text are, byte for byte, what lxml serialises.

The reference builds the same elements with lxml (the signing code's former way); hypothesis draws
provider names, entry names and stamp annotations with markup, quotes, whitespace, CJK and astral
characters.  Characters XML cannot carry are an ``InputError`` (lxml raised a bare ValueError).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ecert.errors import InputError
from ecert.ofd import xmltext
from ecert.ofd.namespaces import NSMAP, q
from ecert.ofd.signatures import Provider, StampAnnot, _signature_xml
from ecert.ofd.writer import xml_bytes


def _el(parent: etree._Element, local: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, q(local), attrs)
    if text is not None:
        child.text = text
    return child


def _reference(provider: Provider, method: str, stamp: str, check: str, refs: list[tuple[str, str]],
               annot: StampAnnot | None, seal: str | None, value: str) -> bytes:
    root = etree.Element(q("Signature"), nsmap=NSMAP)
    info = _el(root, "SignedInfo")
    attrs = {"ProviderName": provider.name}
    if provider.version is not None:
        attrs["Version"] = provider.version
    if provider.company is not None:
        attrs["Company"] = provider.company
    _el(info, "Provider", **attrs)
    _el(info, "SignatureMethod", method)
    _el(info, "SignatureDateTime", stamp)
    refs_el = _el(info, "References", CheckMethod=check)
    for name, check_value in refs:
        _el(_el(refs_el, "Reference", FileRef="/" + name), "CheckValue", check_value)
    if annot is not None:
        _el(info, "StampAnnot", ID=annot.id, PageRef=annot.page_ref, Boundary=annot.boundary)
    if seal is not None:
        _el(_el(info, "Seal"), "BaseLoc", "/" + seal)
    _el(root, "SignedValue", "/" + value)
    return xml_bytes(root)


_CHAR = (st.characters(codec="utf-8", exclude_categories=("Cs",))
         .filter(lambda c: c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff"))
         | st.sampled_from("&<>\"'\r\n\t 中文𠀀"))
_TEXT = st.text(_CHAR, max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    st.builds(Provider, _TEXT, st.none() | _TEXT, st.none() | _TEXT),
    _TEXT, st.text("0123456789Z", max_size=15), _TEXT,
    st.lists(st.tuples(_TEXT, st.text("ABCabc+/=", max_size=44)), max_size=4),
    st.none() | st.builds(StampAnnot, _TEXT, _TEXT, _TEXT), st.none() | _TEXT, _TEXT,
)
def test_signature_text_is_what_lxml_writes(provider: Provider, method: str, stamp: str, check: str,
                                            refs: list[tuple[str, str]], annot: StampAnnot | None,
                                            seal: str | None, value: str) -> None:
    written = _signature_xml(provider, method, stamp, check, refs, annot, seal, value)
    assert written == _reference(provider, method, stamp, check, refs, annot, seal, value)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_escaping_is_libxml2s(value: str) -> None:
    el = etree.Element("e", a=value)
    el.text = value
    expected = f'<e a="{xmltext.attribute(value)}">{xmltext.text(value)}</e>'
    assert etree.tostring(el, encoding="unicode") == expected


@pytest.mark.parametrize("bad", ["\x00", "a\x01b", "\x0b", "\ufffe", "\ud800", "x\x1f&"])
def test_characters_xml_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match="not allowed in XML"):
        xmltext.text(bad, "here")
    with pytest.raises(InputError, match="not allowed in XML"):
        xmltext.attribute(bad, "here")
    with pytest.raises(InputError, match="not allowed in XML"):
        _signature_xml(Provider(bad), "1.2", "20260101000000Z", "1.2", [], None, None, "v")
