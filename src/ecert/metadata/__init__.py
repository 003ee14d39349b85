"""Core metadata of e-certificates (GB/T 36903): model, element table, status profiles, XML/JSON."""

from ecert.metadata.document import DataItemText, certificate_xml, parse_certificate_xml
from ecert.metadata.elements import ELEMENTS, HOLDER_CODE_TYPES, Element, pinyin_key
from ecert.metadata.jsonform import from_json, to_json
from ecert.metadata.model import (
    LONG_TERM,
    AnnotatedCopy,
    Authority,
    CoreMetadata,
    DisplayElement,
    RelatedItem,
    elements,
)
from ecert.metadata.status import StatusMeaning, StatusProfile, get_status_profile, register_status_profile
from ecert.metadata.xmlform import from_xml, to_xml

__all__ = [
    "ELEMENTS",
    "HOLDER_CODE_TYPES",
    "LONG_TERM",
    "AnnotatedCopy",
    "Authority",
    "CoreMetadata",
    "DataItemText",
    "DisplayElement",
    "Element",
    "RelatedItem",
    "StatusMeaning",
    "StatusProfile",
    "certificate_xml",
    "elements",
    "from_json",
    "from_xml",
    "get_status_profile",
    "parse_certificate_xml",
    "pinyin_key",
    "register_status_profile",
    "to_json",
    "to_xml",
]
