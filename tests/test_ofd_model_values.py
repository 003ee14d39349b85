"""The page model admits only values the text writer writes as what they are.

``ofd.writer`` writes the XML parts as text (no lxml tree escapes attribute values on the way), so the
model is the guard: IDs and references are plain positive ints (an int subclass could print itself as
markup, a bool prints "True"), numbers are finite (``nan`` is no ST_Box), colours are ints 0..255.
"""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from ecert.errors import EcertError, InvalidPackage
from ecert.ofd.entries import check_entry_name
from ecert.ofd.model import ImageObject, Page, PathObject, TextObject
from ecert.ofd.writer import _page_xml


class Sneaky(int):
    """An int that prints itself as an attribute and an element of its own."""

    def __str__(self) -> str:
        return '1" Evil="1"/><ofd:Injected x="'

    __repr__ = int.__repr__


BOX = (0.0, 0.0, 10.0, 5.0)


def text(**change: Any) -> TextObject:
    values: dict[str, Any] = {"id": 1, "boundary": BOX, "font": 2, "size": 3.0, "text": "甲乙"}
    return TextObject(**{**values, **change})


@pytest.mark.parametrize(
    "make",
    [
        lambda: text(id=Sneaky(1)),
        lambda: text(font=Sneaky(2)),
        lambda: text(font=True),
        lambda: text(font=0),
        lambda: text(size=float("nan")),
        lambda: text(x=float("inf")),
        lambda: text(y=float("-inf")),
        lambda: text(delta_x=(float("nan"),)),
        lambda: text(boundary=(float("nan"), 0.0, 10.0, 5.0)),
        lambda: text(boundary=(0.0, 0.0, float("inf"), 5.0)),
        lambda: text(fill=(0, Sneaky(0), 0)),
        lambda: text(fill=(0.5, 0, 0)),
        lambda: ImageObject(id=3, boundary=BOX, resource=Sneaky(4)),
        lambda: ImageObject(id=3, boundary=BOX, resource=False),
        lambda: PathObject(id=5, boundary=BOX, data="M 0 0 L 1 1", line_width=float("nan")),
        lambda: PathObject(id=5, boundary=BOX, data="M 0 0 L 1 1", stroke=(0, 0, Sneaky(0))),
    ],
)
def test_values_the_writer_cannot_write_as_themselves_are_refused(make: Any) -> None:
    with pytest.raises(EcertError):
        make()


def test_what_the_model_admits_is_written_as_one_element_each() -> None:
    image = ImageObject(id=3, boundary=BOX, resource=4)
    page = Page((text(), image, PathObject(id=5, boundary=BOX, data="M 0 0")))
    root = etree.fromstring(_page_xml(page, 9))
    objects = root.findall(".//{*}Layer/*")
    assert [o.get("ID") for o in objects] == ["1", "3", "5"]
    assert objects[0].get("Font") == "2" and objects[1].get("ResourceID") == "4"
    assert not root.findall(".//{*}Injected")


@pytest.mark.parametrize("name", [b"Doc_0/Document.xml", None, 7])
def test_an_entry_name_that_is_not_text_is_an_invalid_package(name: Any) -> None:
    with pytest.raises(InvalidPackage, match="must be text"):
        check_entry_name(name)
