"""Open an OFD package (GB/T 33190-2016 §7) safely and read its structure.

The package keeps every entry's exact bytes (signatures cover bytes, not parsed trees) and
offers parsed views of the parts a reader needs: ``OFD.xml`` (§7.4), each document root
``Document.xml`` (§7.5), attachments (§20) and custom tags (§16), read once and kept.  How the
entries are read safely is :mod:`ecert.ofd.entries`; what the views hold, :mod:`ecert.ofd.structure`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from lxml import etree

from ecert.errors import InvalidPackage, UnsafePackage
from ecert.ofd.entries import check_entry_name, read_entries, resolve
from ecert.ofd.limits import DEFAULT_LIMITS, Limits
from ecert.ofd.namespaces import LEGACY_NAMESPACES, OFD_ENTRY, q
from ecert.ofd.structure import (
    Attachment,
    CustomTag,
    DocBody,
    DocInfo,
    DocumentInfo,
    PageRef,
    child_text,
    read_doc_bodies,
    read_document,
)
from ecert.ofd.xmlsafe import parse_xml

if TYPE_CHECKING:
    from ecert.ofd.signatures import SignatureInfo

__all__ = [
    "Attachment",
    "CustomTag",
    "DocBody",
    "DocInfo",
    "DocumentInfo",
    "OFDPackage",
    "PageRef",
    "check_entry_name",
    "child_text",
    "resolve",
]


_LEGACY_TAGS = tuple(f"{{{ns}}}*" for ns in sorted(LEGACY_NAMESPACES))


@dataclass(frozen=True, slots=True)
class OFDPackage:
    """An opened OFD package: exact entry bytes plus parsed views.  Build with :meth:`open`."""

    entries: Mapping[str, bytes]
    limits: Limits = DEFAULT_LIMITS
    # immutable views read once (a verification asks for the signatures and doc bodies several
    # times); entries never change, so neither do these
    _memo: dict[tuple[str, int], tuple[object, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def open(cls, data: bytes, limits: Limits = DEFAULT_LIMITS) -> OFDPackage:
        """Read a package from bytes; raise ``InvalidPackage`` or ``UnsafePackage``."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidPackage("package must be bytes", value=type(data).__name__)
        entries = read_entries(bytes(data), limits)
        if OFD_ENTRY not in entries:
            raise InvalidPackage("missing entry file", where="package", expected=OFD_ENTRY)
        return cls(MappingProxyType(entries), limits)

    @classmethod
    def from_entries(
        cls, entries: Iterable[tuple[str, bytes]], limits: Limits = DEFAULT_LIMITS
    ) -> OFDPackage:
        """A package from ``(name, bytes)`` pairs in archive order, held to the rules a read one
        meets (entry names, no duplicates, count and size limits, ``OFD.xml`` present): how a
        writer hands a package to the signer without a ZIP round trip."""
        out: dict[str, bytes] = {}
        total = 0
        for name, data in entries:
            where = f"entry {name!r}"
            check_entry_name(name, where=where)
            if name in out:
                raise UnsafePackage("duplicate entry name", where=where)
            if len(out) >= limits.max_entries:
                raise UnsafePackage("too many entries", where="package", expected=f"<= {limits.max_entries}")
            if not isinstance(data, bytes):
                raise InvalidPackage("entry data must be bytes", where=where, value=type(data).__name__)
            if len(data) > limits.max_entry_size:
                raise UnsafePackage("entry too large", where=where, value=len(data),
                                    expected=f"<= {limits.max_entry_size} bytes")
            total += len(data)
            if total > limits.max_total_size:
                raise UnsafePackage("package too large", where=where,
                                    expected=f"<= {limits.max_total_size} bytes")
            out[name] = data
        if OFD_ENTRY not in out:
            raise InvalidPackage("missing entry file", where="package", expected=OFD_ENTRY)
        return cls(MappingProxyType(out), limits)

    @classmethod
    def from_path(cls, path: str | Path, limits: Limits = DEFAULT_LIMITS) -> OFDPackage:
        """Read a package from a file."""
        return cls.open(Path(path).read_bytes(), limits)

    def names(self) -> tuple[str, ...]:
        """Entry names (directories excluded) in archive order."""
        return tuple(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def read(self, name: str, *, where: str | None = None) -> bytes:
        """Exact bytes of an entry; ``InvalidPackage`` if it is missing."""
        try:
            return self.entries[name]
        except KeyError:
            raise InvalidPackage("missing file", where=where or "package", value=name) from None

    def xml(self, name: str, *, where: str | None = None) -> etree._Element:
        """Parse an entry as hardened XML; legacy OFD namespaces are read as the 2016 one."""
        root = parse_xml(self.read(name, where=where), name, max_size=self.limits.max_xml_size,
                         max_nodes=self.limits.max_xml_nodes)
        for el in root.iter(*_LEGACY_TAGS):  # lxml picks them out: most parts have none
            el.tag = q(etree.QName(el).localname)
        return root

    def ofd_xml(self) -> etree._Element:
        """The root ``ofd:OFD`` element of ``OFD.xml``."""
        root = self.xml(OFD_ENTRY)
        if root.tag != q("OFD"):
            raise InvalidPackage("root element is not ofd:OFD", where=OFD_ENTRY, value=str(root.tag))
        return root

    def doc_bodies(self) -> tuple[DocBody, ...]:
        """Every ``ofd:DocBody`` of ``OFD.xml`` (at least one)."""
        known = self._memo.get(("doc_bodies", 0))
        if known is None:
            known = self._memo[("doc_bodies", 0)] = read_doc_bodies(self)
        return known  # type: ignore[return-value]

    def doc_body(self, doc_index: int = 0) -> DocBody:
        bodies = self.doc_bodies()
        if not 0 <= doc_index < len(bodies):
            raise InvalidPackage("no such document", where=OFD_ENTRY, value=doc_index,
                                 expected=f"0..{len(bodies) - 1}")
        return bodies[doc_index]

    def document(self, doc_index: int = 0) -> DocumentInfo:
        """The structure of document ``doc_index``: pages, resources, attachments, custom tags."""
        return read_document(self, self.doc_body(doc_index).doc_root)

    def signatures(self, doc_index: int = 0) -> tuple[SignatureInfo, ...]:
        """The signatures of document ``doc_index`` (see :mod:`ecert.ofd.signatures`)."""
        from ecert.ofd.signatures import read_signatures

        known = self._memo.get(("signatures", doc_index))
        if known is None:
            known = self._memo[("signatures", doc_index)] = read_signatures(self, doc_index)
        return known  # type: ignore[return-value]

