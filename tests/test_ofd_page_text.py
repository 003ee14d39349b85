"""Page XML written as text is, byte for byte, what lxml serialises for the same elements.

The reference below builds the page with lxml (the writer's former code); hypothesis draws pages
with markup characters, carriage returns, CJK and astral characters in the texts and path data.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ecert.ofd.model import ImageObject, Page, PathObject, TextObject
from ecert.ofd.namespaces import NSMAP, q
from ecert.ofd.writer import _box, _num, _page_xml, _rgb, xml_bytes


def _el(parent: etree._Element, local: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, q(local), attrs)
    if text is not None:
        child.text = text
    return child


def _reference(page: Page, layer_id: int) -> bytes:
    root = etree.Element(q("Page"), nsmap=NSMAP)
    layer = _el(_el(root, "Content"), "Layer", ID=str(layer_id))
    for obj in page.objects:
        if isinstance(obj, TextObject):
            el = _el(layer, "TextObject", ID=str(obj.id), Boundary=_box(obj.boundary), Font=str(obj.font),
                     Size=_num(obj.size))
            _el(el, "FillColor", Value=_rgb(obj.fill))
            attrs = {"X": _num(obj.x), "Y": _num(obj.size if obj.y is None else obj.y)}
            if obj.delta_x:
                attrs["DeltaX"] = " ".join(_num(d) for d in obj.delta_x)
            _el(el, "TextCode", obj.text, **attrs)
        elif isinstance(obj, ImageObject):
            w, h = obj.boundary[2], obj.boundary[3]
            _el(layer, "ImageObject", ID=str(obj.id), Boundary=_box(obj.boundary),
                CTM=f"{_num(w)} 0 0 {_num(h)} 0 0", ResourceID=str(obj.resource))
        else:
            el = _el(layer, "PathObject", ID=str(obj.id), Boundary=_box(obj.boundary),
                     LineWidth=_num(obj.line_width), Stroke="true" if obj.stroke else "false",
                     Fill="true" if obj.fill else "false")
            if obj.stroke:
                _el(el, "StrokeColor", Value=_rgb(obj.stroke))
            if obj.fill:
                _el(el, "FillColor", Value=_rgb(obj.fill))
            _el(el, "AbbreviatedData", obj.data)
    return xml_bytes(root)


_XML_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x7f")
    .filter(lambda c: c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff"))
    | st.sampled_from("&<>\"'\r\n\t]]>中文𠀀"),
    min_size=1, max_size=30,
)
_LENGTH = st.floats(0.01, 500, allow_nan=False)
_BOX = st.tuples(st.floats(-50, 500, allow_nan=False), st.floats(-50, 500, allow_nan=False), _LENGTH, _LENGTH)
_RGB = st.tuples(*[st.integers(0, 255)] * 3)


@st.composite
def _objects(draw: st.DrawFn, obj_id: int) -> TextObject | ImageObject | PathObject:
    kind = draw(st.sampled_from(["text", "image", "path"]))
    box = draw(_BOX)
    if kind == "text":
        text = draw(_XML_TEXT)
        delta = draw(st.none() | st.just(tuple(draw(_LENGTH) for _ in text[:-1])))
        return TextObject(obj_id, box, draw(st.integers(1, 9)), draw(_LENGTH), text, fill=draw(_RGB),
                          x=draw(_LENGTH), y=draw(st.none() | _LENGTH), delta_x=delta or None)
    if kind == "image":
        return ImageObject(obj_id, box, draw(st.integers(1, 99)))
    data = draw(_XML_TEXT.filter(str.strip))
    return PathObject(obj_id, box, data, stroke=draw(st.none() | _RGB), fill=draw(st.none() | _RGB),
                      line_width=draw(_LENGTH))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 6).flatmap(lambda n: st.tuples(*[_objects(10 + i) for i in range(n)])),
       st.integers(1, 10_000))
def test_page_text_is_what_lxml_writes(objects: tuple[TextObject | ImageObject | PathObject, ...],
                                       layer_id: int) -> None:
    page = Page(objects)
    written = _page_xml(page, layer_id)
    assert written == _reference(page, layer_id)
    assert etree.fromstring(written).tag == q("Page")
