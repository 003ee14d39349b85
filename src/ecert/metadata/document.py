"""The certificate document an OFD certificate file attaches: core metadata + the type's data items.

GB/T 36905 requires the e-certificate file to carry its metadata (STANDARDS.md §0, §6); ecert puts
it in one XML attachment that holds ``<CoreMetadata>`` (``metadata.xsd``) and every data item of
the certificate type as text, so a reader needs neither the type catalogue nor the face page.
Schema: ``spec/certificate.xsd`` (imports ``spec/metadata.xsd``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from ecert.errors import FieldProblem, InvalidMetadata
from ecert.metadata.model import CoreMetadata
from ecert.metadata.rules import check_text
from ecert.metadata.xmlform import (
    METADATA_NS,
    metadata_element,
    read_metadata_element,
    safe_parse,
    validate_against,
)

__all__ = ["ATTACHMENT_NAME", "CERTIFICATE_NS", "DataItemText", "certificate_xml", "parse_certificate_xml"]

CERTIFICATE_NS = "urn:ecert:certificate:1"
# the Attachments.xml Name under which an e-certificate file carries this document: the packager
# writes it, the verifier and the annotator look for it (spec/certificate.xsd)
ATTACHMENT_NAME = "ecert-certificate"
_C = f"{{{CERTIFICATE_NS}}}"
ITEM_MAX_LENGTH = 4000  # [U] characters, as for KZ_* extension values


@dataclass(frozen=True, slots=True)
class DataItemText:
    """One data item of a certificate type as text: name (KZ_* or core attribute), Chinese label, value."""

    name: str
    label: str
    value: str

    def __post_init__(self) -> None:
        p: list[FieldProblem] = []
        name = check_text("name", self.name, p, required=True, max_length=128, what="data item name")
        where = name or "data item"
        label = check_text(where, self.label, p, required=True, max_length=256, what="label")
        value = check_text(where, self.value, p, required=False, max_length=ITEM_MAX_LENGTH, one_line=False)
        if p:
            raise InvalidMetadata(p, "invalid data item")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "value", value or "")


def certificate_xml(md: CoreMetadata, items: Sequence[DataItemText]) -> bytes:
    """Deterministic XML bytes of the certificate document, valid against ``spec/certificate.xsd``."""
    names = [item.name for item in items]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidMetadata([FieldProblem(n, "data item given twice") for n in twice], "invalid data items")
    nsmap = {None: CERTIFICATE_NS, "m": METADATA_NS}
    root = etree.Element(_C + "Certificate", nsmap=nsmap, version="1")  # type: ignore[arg-type]
    root.append(metadata_element(md))
    data = etree.SubElement(root, _C + "DataItems")
    for item in items:
        etree.SubElement(data, _C + "Item", Name=item.name, Label=item.label).text = item.value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def parse_certificate_xml(
    data: bytes, *, strict: bool = True
) -> tuple[CoreMetadata, tuple[DataItemText, ...]]:
    """Parse safely and validate against ``spec/certificate.xsd``; every failure is an InvalidMetadata."""
    root = safe_parse(data, "<certificate xml>")
    validate_against(root, "certificate.xsd")
    md_el = root.find(f"{{{METADATA_NS}}}CoreMetadata")
    if md_el is None:  # the schema requires it; kept for type checkers
        raise InvalidMetadata([FieldProblem("CoreMetadata", "missing")])
    problems: list[FieldProblem] = []
    items: list[DataItemText] = []
    for el in root.iterfind(f"{_C}DataItems/{_C}Item"):
        try:
            items.append(DataItemText(el.get("Name", ""), el.get("Label", ""), el.text or ""))
        except InvalidMetadata as exc:
            problems.extend(exc.problems)
    try:
        md = read_metadata_element(md_el, strict=strict)
    except InvalidMetadata as exc:
        problems[:0] = exc.problems
    if problems:
        raise InvalidMetadata(problems)
    return md, tuple(items)
