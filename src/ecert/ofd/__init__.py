"""A small reusable OFD (GB/T 33190-2016) library: safe reader, deterministic writer,
signature structure (§18) and GB/T 38540 electronic seals.  It knows nothing about certificates.

Reading: :class:`OFDPackage` (``open``/``from_path``) and its views (``doc_bodies``, ``document``,
``signatures``).  Writing: build a :class:`ecert.ofd.model.Document` and call :func:`write`;
derive new packages with :func:`replace_entries`/:func:`add_entries`; sign with
:func:`prepare_signature`.  The write model's ``DocInfo``/``Attachment`` live in
:mod:`ecert.ofd.model` (the names here are the read views).
"""

from __future__ import annotations

from ecert.ofd import model
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
from ecert.ofd.ses import SealInfo, SesSignature, parse_seal
from ecert.ofd.signatures import (
    PreparedSignature,
    Provider,
    Reference,
    ReferenceResult,
    SignatureInfo,
    StampAnnot,
    check_references,
    parse_signing_time,
    prepare_signature,
    uncovered_entries,
)
from ecert.ofd.writer import add_entries, build_zip, document_entries, replace_entries, write
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
    "PreparedSignature",
    "Provider",
    "Reference",
    "ReferenceResult",
    "SealInfo",
    "SesSignature",
    "SignatureInfo",
    "StampAnnot",
    "add_entries",
    "build_zip",
    "check_references",
    "document_entries",
    "model",
    "parse_seal",
    "parse_signing_time",
    "parse_xml",
    "prepare_signature",
    "replace_entries",
    "resolve",
    "uncovered_entries",
    "write",
]
