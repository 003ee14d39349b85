"""A small reusable OFD (GB/T 33190-2016) library: safe reader, deterministic writer,
signature structure (§18) and GB/T 38540 electronic seals.  It knows nothing about certificates.

Reading: :class:`OFDPackage` (``open``/``from_path``) and its views (``doc_bodies``, ``document``,
``signatures``).  Writing: build a :class:`ecert.ofd.model.Document` and call :func:`write`;
derive new packages with :func:`replace_entries`/:func:`add_entries`; sign with
:func:`prepare_signature`.  The write model's ``DocInfo``/``Attachment`` live in
:mod:`ecert.ofd.model` (the names here are the read views).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the submodule that defines it, imported on first use: ``import ecert.ofd.reader``
# (what a verifier needs) no longer loads the writer, the page model and the seal reader as well
_LAZY: dict[str, str] = {
    "model": "",
    "Limits": "limits",
    **dict.fromkeys(
        ("Attachment", "CustomTag", "DocBody", "DocInfo", "DocumentInfo", "OFDPackage", "PageRef", "resolve"),
        "reader",
    ),
    **dict.fromkeys(("SealInfo", "SesSignature", "parse_seal"), "ses"),
    **dict.fromkeys(
        ("PreparedSignature", "Provider", "Reference", "ReferenceResult", "SignatureInfo", "StampAnnot",
         "check_references", "parse_signing_time", "prepare_signature", "uncovered_entries"),
        "signatures",
    ),
    **dict.fromkeys(("add_entries", "build_zip", "document_entries", "replace_entries", "write"), "writer"),
    "parse_xml": "xmlsafe",
}

if TYPE_CHECKING:
    from ecert.ofd import model as model
    from ecert.ofd.limits import Limits as Limits
    from ecert.ofd.reader import Attachment as Attachment
    from ecert.ofd.reader import CustomTag as CustomTag
    from ecert.ofd.reader import DocBody as DocBody
    from ecert.ofd.reader import DocInfo as DocInfo
    from ecert.ofd.reader import DocumentInfo as DocumentInfo
    from ecert.ofd.reader import OFDPackage as OFDPackage
    from ecert.ofd.reader import PageRef as PageRef
    from ecert.ofd.reader import resolve as resolve
    from ecert.ofd.ses import SealInfo as SealInfo
    from ecert.ofd.ses import SesSignature as SesSignature
    from ecert.ofd.ses import parse_seal as parse_seal
    from ecert.ofd.signatures import PreparedSignature as PreparedSignature
    from ecert.ofd.signatures import Provider as Provider
    from ecert.ofd.signatures import Reference as Reference
    from ecert.ofd.signatures import ReferenceResult as ReferenceResult
    from ecert.ofd.signatures import SignatureInfo as SignatureInfo
    from ecert.ofd.signatures import StampAnnot as StampAnnot
    from ecert.ofd.signatures import check_references as check_references
    from ecert.ofd.signatures import parse_signing_time as parse_signing_time
    from ecert.ofd.signatures import prepare_signature as prepare_signature
    from ecert.ofd.signatures import uncovered_entries as uncovered_entries
    from ecert.ofd.writer import add_entries as add_entries
    from ecert.ofd.writer import build_zip as build_zip
    from ecert.ofd.writer import document_entries as document_entries
    from ecert.ofd.writer import replace_entries as replace_entries
    from ecert.ofd.writer import write as write
    from ecert.ofd.xmlsafe import parse_xml as parse_xml

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


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'ecert.ofd' has no attribute {name!r}")
    module = importlib.import_module(f"ecert.ofd.{where or name}")
    value = module if not where else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
