"""Hardened XML parsing for OFD parts: no DTD, no entities, no network, no huge trees.

OFD parts never need a DTD (GB/T 33190 defines them by XSD), so any DOCTYPE or entity
declaration is refused outright instead of being parsed "safely": billion-laughs and external
entities (XXE) are stopped before any expansion can happen.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from ecert.errors import InvalidPackage, UnsafePackage

__all__ = ["MAX_XML_NODES", "parse_xml"]

# A DOCTYPE or ENTITY declaration anywhere before/inside the prolog.  Checked on the raw bytes
# (in the usual encodings) before lxml sees them, and again on the parsed tree.
_DTD_MARKERS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_UTF16_MARKERS = ("<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"),
                  "<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))


_LOCAL = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's hardened parser: made once (a new parser per part cost a quarter of the parse);
    one per thread, as lxml parsers are not meant to be shared between threads."""
    parser: etree.XMLParser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = _new_parser()
    return parser


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_pis=False,
        collect_ids=False,
    )


MAX_XML_NODES = 200_000
"""Default bound on the ``<`` and ``=`` of one XML part (see :func:`parse_xml`)."""


def parse_xml(
    data: bytes, where: str, *, max_size: int | None = None, max_nodes: int | None = MAX_XML_NODES
) -> etree._Element:
    """Parse one XML part of a package; raise ``UnsafePackage``/``InvalidPackage`` naming ``where``.

    ``max_nodes`` bounds the number of ``<`` and ``=`` octets, an upper bound of the elements and
    attributes lxml would build (a few hundred bytes each): 2 million empty elements fit in 8 MB."""
    if max_size is not None and len(data) > max_size:
        raise UnsafePackage("XML part too large", where=where, value=len(data),
                            expected=f"<= {max_size} bytes")
    if max_nodes is not None:
        nodes = data.count(b"<") + data.count(b"=")
        if nodes > max_nodes:
            raise UnsafePackage("XML part has too many elements and attributes", where=where,
                                value=nodes, expected=f"<= {max_nodes} '<' and '=' in all")
    # every marker holds "<!" (or, in UTF-16, a NUL octet): a part without either is scanned no further
    if (b"<!" in data and _DTD_MARKERS.search(data)) or (
        b"\x00" in data and any(m in data.upper() for m in _UTF16_MARKERS)
    ):
        raise UnsafePackage("XML part declares a DTD or entities", where=where, expected="no DOCTYPE")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidPackage(f"not well-formed XML: {exc}", where=where) from None
    except (etree.LxmlError, ValueError, TypeError) as exc:
        raise InvalidPackage(f"cannot parse XML: {exc}", where=where) from None
    if root is None:
        raise InvalidPackage("empty XML document", where=where)
    docinfo = root.getroottree().docinfo
    doctype: str = getattr(docinfo, "doctype", "")  # lxml-stubs lacks DocInfo.doctype
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafePackage("XML part declares a DTD", where=where, expected="no DOCTYPE")
    for _entity in root.iter(etree.Entity):  # filtered by lxml, not node by node in Python
        raise UnsafePackage("XML part uses entity references", where=where)
    return root
