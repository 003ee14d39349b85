"""XML form of core metadata (spec/metadata.xsd), parsed safely and validated against the schema.

Elements are named by the pinyin keys real systems use (ZZMC, ZZLXDM, ...), in table order;
KZ_* items are ``<KZ Name="KZ_...">``; related items ``<GLSX><MC/><DM/></GLSX>``.
"""

from __future__ import annotations

import functools
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
]

METADATA_NS = "urn:ecert:metadata:1"
MAX_XML = 4 * 1024 * 1024
_M = f"{{{METADATA_NS}}}"


def safe_parse(data: bytes, what: str) -> etree._Element:
    """Parse untrusted XML with the OFD reader's hardened parser (no DTD, entities or network;
    size-limited); its errors become InvalidMetadata problems."""
    try:
        return parse_xml(data, what, max_size=MAX_XML)
    except (InvalidPackage, TypeError) as exc:
        raise InvalidMetadata([FieldProblem(what, getattr(exc, "message", str(exc)))]) from None


@functools.lru_cache(maxsize=4)
def schema(name: str) -> etree.XMLSchema:
    """A schema shipped in ``ecert/spec`` (imports resolved from the same folder, no network)."""
    path = resources.files("ecert") / "spec" / name
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def validate_against(root: etree._Element, name: str) -> None:
    xsd = schema(name)
    if not xsd.validate(root):
        problems = [FieldProblem(_element_name(e.path), e.message) for e in xsd.error_log]  # type: ignore[attr-defined]
        raise InvalidMetadata(problems or [FieldProblem("<xml>", "not valid against " + name)])


def _element_name(path: str | None) -> str:
    if not path:
        return "<xml>"
    last = path.rsplit("/", 1)[-1]
    local = last.split("}")[-1].split("[")[0]
    return local.split(":")[-1]


def metadata_element(md: CoreMetadata) -> etree._Element:
    root = etree.Element(_M + "CoreMetadata", nsmap={None: METADATA_NS})  # type: ignore[dict-item]
    values = md.to_dict(keys="pinyin")
    for e in ELEMENTS:
        value = values.get(e.pinyin)
        if value is None:
            continue
        if e.attr == "related_items":
            for item in value:
                el = etree.SubElement(root, _M + "GLSX")
                etree.SubElement(el, _M + "MC").text = item["name"]
                if item.get("code"):
                    etree.SubElement(el, _M + "DM").text = item["code"]
            continue
        etree.SubElement(root, _M + e.pinyin).text = str(value)
    for key, value in md.extensions:
        etree.SubElement(root, _M + "KZ", Name=key).text = value
    return root


def read_metadata_element(root: etree._Element) -> CoreMetadata:
    values: dict[str, Any] = {}
    extensions: dict[str, str] = {}
    related: list[dict[str, str]] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if local == "KZ":
            extensions[child.get("Name", "")] = child.text or ""
        elif local == "GLSX":
            related.append({"name": child.findtext(_M + "MC") or "", "code": child.findtext(_M + "DM") or ""})
        else:
            attr = attr_for_key(local)
            if attr is not None:
                values[attr] = child.text or ""
    if related:
        values["related_items"] = related
    return CoreMetadata.from_values(values, extensions=extensions)


def to_xml(md: CoreMetadata) -> bytes:
    """Deterministic XML bytes valid against spec/metadata.xsd."""
    return bytes(etree.tostring(metadata_element(md), xml_declaration=True, encoding="UTF-8"))


def from_xml(data: bytes) -> CoreMetadata:
    """Parse and schema-validate; every problem is an InvalidMetadata naming the element."""
    root = safe_parse(data, "<metadata xml>")
    validate_against(root, "metadata.xsd")
    return read_metadata_element(root)
