"""A small reusable OFD (GB/T 33190-2016) library: safe reader, deterministic writer,
signature structure (§18) and GB/T 38540 electronic seals.  It knows nothing about certificates."""

from __future__ import annotations

from ecert.ofd.limits import Limits
from ecert.ofd.reader import (
    Attachment,
    CustomTag,
    DocBody,
    DocInfo,
    DocumentInfo,
    OFDPackage,
    PageRef,
    resolve,
)
from ecert.ofd.xmlsafe import parse_xml

__all__ = [
    "Attachment",
    "CustomTag",
    "DocBody",
    "DocInfo",
    "DocumentInfo",
    "Limits",
    "OFDPackage",
    "PageRef",
    "parse_xml",
    "resolve",
]
