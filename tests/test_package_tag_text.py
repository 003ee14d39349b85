"""The data index (CustomTags Tag_0.xml) written as text is, byte for byte, what lxml serialises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ecert.ofd.namespaces import OFD_NS
from ecert.package import TAG_NAMESPACE, _tag_xml


def _reference(tags: dict[str, list[tuple[int, int]]], page_ids: list[int]) -> bytes:
    root = etree.Element(f"{{{TAG_NAMESPACE}}}Certificate", nsmap={"ecert": TAG_NAMESPACE, "ofd": OFD_NS})
    for key, ids in sorted(tags.items()):
        el = etree.SubElement(root, f"{{{TAG_NAMESPACE}}}Element", Name=key)
        for page, obj_id in ids:
            ref = etree.SubElement(el, f"{{{OFD_NS}}}ObjectRef", PageRef=str(page_ids[page]))
            ref.text = str(obj_id)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


_CHAR = st.sampled_from("ZZBHKX_&<>\"'\n\t 中文") | st.characters(min_codepoint=0x20, max_codepoint=0xD7FF)
_KEY = st.text(_CHAR, min_size=1, max_size=12)
_REFS = st.lists(st.tuples(st.integers(0, 2), st.integers(10, 999)), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEY, _REFS, max_size=6))
def test_index_text_is_what_lxml_writes(tags: dict[str, list[tuple[int, int]]]) -> None:
    page_ids = [31, 32, 33]
    assert _tag_xml(tags, page_ids) == _reference(tags, page_ids)
