"""Core metadata of e-certificates (GB/T 36903): model, element table, status profiles, XML/JSON.

``CoreMetadata`` is immutable and valid once it exists; :mod:`~ecert.metadata.elements` is the one
table of element names (pinyin, English, Chinese) and limits; XML (``spec/metadata.xsd``) and JSON
(``spec/metadata.schema.json``) forms round-trip losslessly.
"""

from ecert.metadata.document import DataItemText, certificate_xml, parse_certificate_xml
from ecert.metadata.elements import ELEMENTS, HOLDER_CODE_TYPES, LONG_TERM, Element, pinyin_key
from ecert.metadata.jsonform import from_json, to_json
from ecert.metadata.model import (
    AnnotatedCopy,
    Authority,
    CoreMetadata,
    DisplayElement,
    RelatedItem,
    elements,
)
from ecert.metadata.status import (
    StatusMeaning,
    StatusProfile,
    get_status_profile,
    register_status_profile,
    status_profiles,
)
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
    "status_profiles",
    "to_json",
    "to_xml",
]
