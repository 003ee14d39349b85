"""XML form of core metadata (``spec/metadata.xsd``), parsed safely and validated against the schema.

Elements are named by the pinyin keys real systems use in OFD/XML metadata (ZZMC, ZZLXDM, ...;
STANDARDS.md §2, §9), in the order of the element table, in namespace ``urn:ecert:metadata:1``.
Two structures are ecert's own [U]: each related item is ``<GLSX><GLSXMC/><GLSXDM/></GLSX>``
(the flat dictionary joins them instead) and each KZ_* item is ``<KZ Name="KZ_...">text</KZ>``
(an attribute, because KZ_ names are open-ended and an XSD cannot list them as elements).
Dates are ``xs:date`` (``yyyy-MM-dd``); ``长期`` stands in the 截止日期 element.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

from lxml import etree

from ecert.errors import FieldProblem, InvalidMetadata, InvalidPackage
from ecert.metadata.elements import ELEMENTS, attr_for_key
from ecert.metadata.model import CoreMetadata
from ecert.ofd.xmlsafe import parse_xml

__all__ = [
    "METADATA_NS",
    "from_xml",
    "metadata_element",
    "read_metadata_element",
    "safe_parse",
    "schema",
    "to_xml",
    "validate_against",
]

METADATA_NS = "urn:ecert:metadata:1"
MAX_XML = 4 * 1024 * 1024  # bytes; a metadata document is a few kB
_M = f"{{{METADATA_NS}}}"
_RELATED, _EXTENSION = "GLSX", "KZ"
# patterns of schema error messages, compiled (and cached by re) only when a document is refused
_NAMED = r"Element '(?:\{[^}]*\})?([^']+)'"
_EXPECTED = r"Expected is (?:one of )?\( ?(?:\{[^}]*\})?([A-Za-z0-9_]+)"


def safe_parse(data: bytes, what: str) -> etree._Element:
    """Parse untrusted XML with the OFD reader's hardened parser.

    No DTD (a DOCTYPE is refused outright), no entities, no network, size-limited; its errors
    become :class:`InvalidMetadata` problems naming ``what``.
    """
    if not isinstance(data, bytes | bytearray):
        raise InvalidMetadata([FieldProblem(what, "XML must be given as bytes", type(data).__name__)])
    try:
        return parse_xml(bytes(data), what, max_size=MAX_XML)
    except InvalidPackage as exc:
        raise InvalidMetadata([FieldProblem(what, exc.message, expected=exc.expected)]) from None


@functools.lru_cache(maxsize=4)
def schema(name: str) -> etree.XMLSchema:
    """A schema shipped in ``ecert/spec`` (imports resolved from the same folder, no network)."""
    path = resources.files("ecert") / "spec" / name
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def validate_against(root: etree._Element, name: str) -> None:
    """Raise :class:`InvalidMetadata` listing every schema error, each naming its element."""
    xsd = schema(name)
    if xsd.validate(root):
        return
    problems = [_problem(e.message) for e in xsd.error_log]  # type: ignore[attr-defined]
    raise InvalidMetadata(problems or [FieldProblem("<xml>", f"not valid against {name}")])


def _problem(message: str) -> FieldProblem:
    """A schema error as a problem of the element it concerns (the missing one, when one is missing)."""
    expected = re.search(_EXPECTED, message) if "not expected" in message or "Missing" in message else None
    named = re.search(_NAMED, message)
    name = expected[1] if expected else named[1] if named else "<xml>"
    text = re.sub(r"\{[^}]*\}", "", message)
    return FieldProblem(attr_for_key(name) or name, f"<{name}>: {text}")


def metadata_element(md: CoreMetadata) -> etree._Element:
    """The ``<CoreMetadata>`` element of ``md`` (also embedded by the certificate document)."""
    root = etree.Element(_M + "CoreMetadata", nsmap={None: METADATA_NS})  # type: ignore[dict-item]
    flat = md.to_dict(keys="attr")
    for e in ELEMENTS:
        if e.attr == "related_item_name":
            for item in md.related_items:
                el = etree.SubElement(root, _M + _RELATED)
                etree.SubElement(el, _M + e.pinyin).text = item.name
                if item.code is not None:
                    etree.SubElement(el, _M + "GLSXDM").text = item.code
        elif e.attr in flat and e.attr != "related_item_code":
            etree.SubElement(root, _M + e.pinyin).text = flat[e.attr]
    for key, value in md.extensions:
        etree.SubElement(root, _M + _EXTENSION, Name=key).text = value
    return root


def read_metadata_element(root: etree._Element, *, strict: bool = True) -> CoreMetadata:
    """``CoreMetadata`` from a schema-valid ``<CoreMetadata>`` element."""
    values: dict[str, Any] = {}
    extensions: list[tuple[str, str]] = []
    related: list[dict[str, str | None]] = []
    for child in root.iterchildren(tag=etree.Element):
        local = child.tag.rpartition("}")[2]  # what etree.QName(child).localname gives, without the object
        if local == _EXTENSION:
            extensions.append((child.get("Name", ""), child.text or ""))
        elif local == _RELATED:
            related.append({"name": child.findtext(_M + "GLSXMC"), "code": child.findtext(_M + "GLSXDM")})
        else:
            values[attr_for_key(local) or local] = child.text or ""
    if related:
        values["related_items"] = related
    return CoreMetadata.from_values(values, extensions=extensions, strict=strict)


def to_xml(md: CoreMetadata) -> bytes:
    """Deterministic UTF-8 XML bytes, valid against ``spec/metadata.xsd`` (same metadata, same bytes)."""
    return bytes(etree.tostring(metadata_element(md), xml_declaration=True, encoding="UTF-8"))


def from_xml(data: bytes, *, strict: bool = True) -> CoreMetadata:
    """Parse safely, validate against the XSD, then build; every failure is an InvalidMetadata.

    ``strict=False`` accepts an identifier whose check character does not match.
    """
    root = safe_parse(data, "<metadata xml>")
    validate_against(root, "metadata.xsd")
    return read_metadata_element(root, strict=strict)
