"""The certificate document an OFD certificate file attaches: core metadata + the type's data items.

Schema: spec/certificate.xsd (which imports spec/metadata.xsd).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from ecert.errors import FieldProblem, InvalidMetadata
from ecert.metadata.model import CoreMetadata
from ecert.metadata.xmlform import (
    METADATA_NS,
    metadata_element,
    read_metadata_element,
    safe_parse,
    validate_against,
)

__all__ = ["CERTIFICATE_NS", "DataItemText", "certificate_xml", "parse_certificate_xml"]

CERTIFICATE_NS = "urn:ecert:certificate:1"
_C = f"{{{CERTIFICATE_NS}}}"


@dataclass(frozen=True, slots=True)
class DataItemText:
    """One data item of a certificate type as text: name (KZ_* or core attribute), label, value."""

    name: str
    label: str
    value: str


def certificate_xml(md: CoreMetadata, items: Sequence[DataItemText]) -> bytes:
    nsmap = {None: CERTIFICATE_NS, "m": METADATA_NS}
    root = etree.Element(_C + "Certificate", nsmap=nsmap, version="1")  # type: ignore[arg-type]
    root.append(metadata_element(md))
    data = etree.SubElement(root, _C + "DataItems")
    for item in items:
        etree.SubElement(data, _C + "Item", Name=item.name, Label=item.label).text = item.value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def parse_certificate_xml(data: bytes) -> tuple[CoreMetadata, tuple[DataItemText, ...]]:
    root = safe_parse(data, "<certificate xml>")
    validate_against(root, "certificate.xsd")
    md_el = root.find(f"{{{METADATA_NS}}}CoreMetadata")
    if md_el is None:  # the schema requires it; kept for type checkers
        raise InvalidMetadata([FieldProblem("CoreMetadata", "missing")])
    items = tuple(
        DataItemText(el.get("Name", ""), el.get("Label", ""), el.text or "")
        for el in root.iterfind(f"{_C}DataItems/{_C}Item")
    )
    return read_metadata_element(md_el), items
