"""Annotated copies held to the OFD rules our certificates are held to, and to the annotation rules
of GB/T 33190-2016 §15 (``Annotations.xml``, the per-page ``PageAnnot`` files).

Every rule of tests/test_ofd_conformance.py that takes a package runs on two copies (a portrait
certificate, a landscape one with a QR code); the annotation rules below come from GB/T 33190 §15
tables 55–57 as ofdrw reads them (``org.ofdrw.core.annotation``: ``Annotations``, ``pageannot.PageAnnot``,
``Annot``, ``AnnotType``, ``Appearance``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
from lxml import etree

from . import test_ofd_conformance as rules
from .copies import copy_of_demo, copy_of_licence

ANNOT_TYPES = ("Link", "Path", "Highlight", "Stamp", "Watermark")  # GB/T 33190 table 57 / ofdrw AnnotType
NS = rules.NS
RULES: list[Callable[[rules.Package], None]] = [
    fn
    for name, fn in inspect.getmembers(rules, inspect.isfunction)
    if name.startswith("test_") and list(inspect.signature(fn).parameters) in (["pkg"], ["issued"])
]


@pytest.fixture(scope="module", params=["portrait", "landscape"])
def copy(request: pytest.FixtureRequest) -> rules.Package:
    return rules.Package((copy_of_demo() if request.param == "portrait" else copy_of_licence()).data)


def test_the_certificate_rules_are_found() -> None:
    assert len(RULES) >= 15


@pytest.mark.parametrize("rule", RULES, ids=lambda fn: fn.__name__)
def test_copy_meets_the_certificate_rule(copy: rules.Package, rule: Callable[[rules.Package], None]) -> None:
    rule(copy)


def test_annotations_list(copy: rules.Package) -> None:
    """Document.xsd Annotations (ST_Loc) names an Annotations file: Page+ with PageID (a page of the
    document) and one FileLoc naming a PageAnnot file."""
    listing = copy.optional_part("Annotations")
    assert listing is not None
    root = copy.xml(listing)
    assert rules._local(root) == "Annotations"
    pages = {page_id for page_id, _ in copy.page_parts()}
    seen = []
    for page in root:
        assert rules._local(page) == "Page"
        rules.assert_attrs(page, "PageID")
        assert page.get("PageID") in pages and page.get("PageID") not in seen
        seen.append(page.get("PageID"))
        rules.assert_sequence(page, ["FileLoc"])
        annot = copy.xml(copy.existing(listing, rules._one(page, "FileLoc").text))
        assert rules._local(annot) == "PageAnnot"
    assert sorted(seen) == sorted(pages), "every page carries the watermark"


def _annots(copy: rules.Package) -> list[tuple[str, etree._Element]]:
    listing = copy.optional_part("Annotations")
    assert listing is not None
    found = []
    for page in copy.xml(listing):
        part = copy.existing(listing, rules._one(page, "FileLoc").text)
        found += [(part, annot) for annot in copy.xml(part)]
    return found


def test_page_annotations(copy: rules.Package) -> None:
    """PageAnnot: Annot+; Annot: ID, Type (table 57), Creator, LastModDate (xs:date) required, Visible,
    Print, NoZoom, NoRotate, ReadOnly xs:boolean; children Remark?, Parameters?, Appearance; Appearance
    (CT_PageBlock) with a Boundary holding page objects; IDs unique and within MaxUnitID."""
    annots = _annots(copy)
    assert annots
    max_id = int(rules._one(rules._one(copy.document, "CommonData"), "MaxUnitID").text or "0")
    used = [int(v) for _, _, v in rules._all_ids(copy)]
    for part, annot in annots:
        assert rules._local(annot) == "Annot", part
        rules.assert_attrs(annot, "ID", "Type", "Creator", "LastModDate")
        assert annot.get("Type") in ANNOT_TYPES
        assert rules._DATE.match(annot.get("LastModDate"))
        for flag in ("Visible", "Print", "NoZoom", "NoRotate", "ReadOnly"):
            assert annot.get(flag) in (None, *rules._BOOLEAN)
        rules.assert_sequence(annot, ["Remark", "Parameters", "Appearance"])
        appearance = rules._one(annot, "Appearance")
        rules._box(appearance.get("Boundary", ""))
        for el in [annot, *appearance.iter()]:
            if isinstance(el.tag, str) and el.get("ID") is not None:
                value = int(el.get("ID"))
                assert 0 < value <= max_id and value not in used, f"ID {value} in {part}"
                used.append(value)


def test_annotation_text_objects(copy: rules.Package) -> None:
    """The watermark's TextObjects follow CT_Text as page text does (Font names a Font of the
    document's resources, Size, colours, TextCode with at most one DeltaX per gap) and CTM is six numbers."""
    resources = rules._resources(copy)
    texts = [t for _, annot in _annots(copy) for t in annot.iter(f"{{{NS}}}TextObject")]
    assert texts
    for obj in texts:
        rules._check_graphic_unit(obj)
        assert resources.get(obj.get("Font", ""), ("",))[0] == "Font"
        assert len(rules._numbers(obj.get("CTM", ""))) == 6
        for colour in obj.iterfind(f"{{{NS}}}FillColor"):
            rules._check_color(colour)
            assert 0 <= int(colour.get("Alpha", "255")) <= 255
        for code in obj.iterfind(f"{{{NS}}}TextCode"):
            assert (
                rules._delta(code.get("DeltaX", "")) <= len(code.text or "") - 1
                if code.get("DeltaX")
                else True
            )
