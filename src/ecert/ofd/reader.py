"""Open an OFD package (GB/T 33190-2016 §7) safely and read its structure.

The package keeps every entry's exact bytes (signatures cover bytes, not parsed trees) and
offers parsed views of the parts a reader needs: ``OFD.xml`` (§7.4), each document root
``Document.xml`` (§7.5), attachments (§20) and custom tags (§16).  The ZIP comes from anyone,
so every limit of :class:`~ecert.ofd.limits.Limits` is enforced, while decompressing too, and the
container must be exactly the records its central directory lists (:mod:`ecert.ofd.zipcheck`).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from lxml import etree

from ecert.errors import EcertError, InvalidPackage, UnsafePackage
from ecert.ofd.limits import DEFAULT_LIMITS, Limits
from ecert.ofd.namespaces import LEGACY_NAMESPACES, OFD_ENTRY, q
from ecert.ofd.xmlsafe import parse_xml
from ecert.ofd.zipcheck import check_layout

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

_DRIVE = re.compile(r"^[A-Za-z]:")
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


# --- paths (ST_Loc, GB/T 33190 §7.2 table 2) -------------------------------------------------


def check_entry_name(name: str, where: str = "ZIP entry") -> str:
    """Return ``name`` if it is a safe, relative package path; raise ``UnsafePackage`` otherwise."""
    if not name:
        raise InvalidPackage("empty entry name", where=where)
    if "\x00" in name:
        raise UnsafePackage("entry name contains NUL", where=where, value=name)
    if "\\" in name:
        raise UnsafePackage("entry name contains a backslash", where=where, value=name,
                            expected="'/' separators")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafePackage("absolute entry name", where=where, value=name, expected="a relative path")
    if ".." in name.split("/"):
        raise UnsafePackage("entry name contains '..'", where=where, value=name)
    return name


def resolve(base_entry: str, loc: str) -> str:
    """Resolve an OFD location against the entry that names it.

    ``/Doc_0/Document.xml`` is absolute from the package root; ``Pages/Page_0/Content.xml``
    is relative to the folder of ``base_entry``.  ``.`` and ``..`` are normalised; a location
    that would leave the package, or has a backslash or NUL, raises ``UnsafePackage``.
    """
    where = f"location {loc!r} in {base_entry}"
    text = loc.strip()
    if not text:
        raise InvalidPackage("empty location", where=where)
    if "\x00" in text or "\\" in text or _DRIVE.match(text) or "://" in text:
        raise UnsafePackage("location is not a package path", where=where, value=loc)
    if text.startswith("/"):
        parts: list[str] = []
    else:
        parts = base_entry.split("/")[:-1]
    for seg in text.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                raise UnsafePackage("location escapes the package root", where=where, value=loc)
            parts.pop()
        else:
            parts.append(seg)
    if not parts:
        raise InvalidPackage("location names the package root", where=where, value=loc)
    return "/".join(parts)


def child_text(el: etree._Element, local: str) -> str | None:
    """Text of the first ``ofd:<local>`` child of ``el`` (stripped), or None."""
    child = el.find(q(local))
    if child is None:
        return None
    return (child.text or "").strip()


# --- parsed views ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocInfo:
    """``ofd:DocInfo`` (§7.4 table 4): document metadata, including ``CustomDatas``."""

    doc_id: str | None
    title: str | None = None
    author: str | None = None
    subject: str | None = None
    creation_date: str | None = None
    mod_date: str | None = None
    creator: str | None = None
    creator_version: str | None = None
    custom_datas: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class DocBody:
    """One ``ofd:DocBody``: where its document root and signature list are."""

    doc_root: str
    doc_info: DocInfo
    signatures_loc: str | None


@dataclass(frozen=True, slots=True)
class PageRef:
    """``ofd:Page`` of ``ofd:Pages``: page ID and its content entry."""

    id: str
    base_loc: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """``ofd:Attachment`` (§20): the attached file and its description."""

    id: str | None
    name: str
    format: str | None
    creation_date: str | None
    file_loc: str


@dataclass(frozen=True, slots=True)
class CustomTag:
    """``ofd:CustomTag`` (§16): a tag file of a given type."""

    type_id: str
    namespace: str | None
    file_loc: str


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """The structure of one ``Document.xml`` (§7.5)."""

    doc_root: str
    max_unit_id: int | None
    physical_box: tuple[float, float, float, float] | None
    pages: tuple[PageRef, ...]
    public_res: tuple[str, ...]
    document_res: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    custom_tags: tuple[CustomTag, ...]


# --- the package -----------------------------------------------------------------------------


def _read_entries(data: bytes, limits: Limits) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(BytesIO(data))
    except EcertError:
        raise
    except Exception as exc:  # zipfile raises many kinds (BadZipFile, struct.error, OSError...)
        raise InvalidPackage(f"not a readable ZIP archive: {exc}", where="package") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise UnsafePackage("too many entries", where="package", value=len(infos),
                                expected=f"<= {limits.max_entries}")
        seen: set[str] = set()
        declared_total = 0
        for info in infos:
            name, raw = info.filename, info.orig_filename  # zipfile cuts the name at a NUL
            check_entry_name(raw.rstrip("/") or raw, where=f"ZIP entry {raw!r}")
            if name in seen or name.rstrip("/") in seen:
                raise UnsafePackage("duplicate entry name", where=f"ZIP entry {name!r}")
            seen.add(name.rstrip("/"))
            if not info.is_dir():
                declared_total += info.file_size
                _check_declared(info, limits, declared_total)
        # zipfile trusts the central directory alone; the bytes the user holds must be exactly it
        data_starts = check_layout(data, zf)
        entries: dict[str, bytes] = {}
        for info in infos:
            if not info.is_dir():
                entries[info.filename] = _read_entry(data, data_starts[info.filename], info, limits)
        if sum(len(v) for v in entries.values()) > limits.max_total_size:
            raise UnsafePackage("package too large when decompressed", where="package",
                                expected=f"<= {limits.max_total_size} bytes")
    return entries


def _check_declared(info: zipfile.ZipInfo, limits: Limits, declared_total: int) -> None:
    where = f"ZIP entry {info.filename!r}"
    if info.flag_bits & 0x1:
        raise UnsafePackage("encrypted entry", where=where, expected="no encryption")
    if info.compress_type not in _METHODS:
        raise InvalidPackage("unsupported compression method", where=where, value=info.compress_type,
                             expected="stored (0) or deflate (8)")
    if info.file_size > limits.max_entry_size:
        raise UnsafePackage("entry too large", where=where, value=info.file_size,
                            expected=f"<= {limits.max_entry_size} bytes")
    if declared_total > limits.max_total_size:
        raise UnsafePackage("package too large when decompressed", where=where,
                            expected=f"<= {limits.max_total_size} bytes")
    if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise UnsafePackage("compression ratio too high (zip bomb?)", where=where,
                            value=f"{info.file_size}/{info.compress_size}",
                            expected=f"<= {limits.max_ratio}:1")


def _read_entry(data: bytes, start: int, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """Inflate the exact compressed span the layout check found.  Unlike ``zipfile``, a deflate stream
    must end exactly where the entry does: bytes after its end (or a stream that never ends) are bytes
    no signature covers, where a streaming reader that finds the end itself could see another record."""
    where = f"ZIP entry {info.filename!r}"
    allowed = min(info.file_size, limits.max_entry_size)
    ratio_cap = max(limits.ratio_floor, limits.max_ratio * max(info.compress_size, 1))
    raw = memoryview(data)[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(raw)
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            out = inflater.decompress(raw, min(allowed, ratio_cap) + 1)  # bounded: never expands a bomb
        except zlib.error as exc:
            raise InvalidPackage(f"cannot decompress entry: {exc}", where=where) from None
        if len(out) > allowed:
            raise UnsafePackage("entry holds more data than declared", where=where,
                                expected=f"{info.file_size} bytes")
        if len(out) > ratio_cap:
            raise UnsafePackage("compression ratio too high (zip bomb?)", where=where)
        if not inflater.eof:
            raise InvalidPackage("compressed data does not end within the entry", where=where,
                                 expected="a complete deflate stream")
        if inflater.unused_data:
            raise UnsafePackage(f"{len(inflater.unused_data)} bytes after the end of the compressed data",
                                where=where, expected="the deflate stream to fill the entry")
    if len(out) != info.file_size:
        raise InvalidPackage("entry size differs from the declared size", where=where, value=len(out),
                             expected=f"{info.file_size} bytes")
    crc = zlib.crc32(out)
    if crc != info.CRC:
        raise InvalidPackage("CRC-32 differs from the declared one", where=where, value=f"{crc:#010x}",
                             expected=f"{info.CRC:#010x}")
    return out


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
        entries = _read_entries(bytes(data), limits)
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
        root = parse_xml(self.read(name, where=where), name, max_size=self.limits.max_xml_size)
        for el in root.iter():
            if isinstance(el.tag, str) and el.tag.startswith("{"):
                ns, _, local = el.tag[1:].partition("}")
                if ns in LEGACY_NAMESPACES:
                    el.tag = q(local)
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
            known = self._memo[("doc_bodies", 0)] = self._read_doc_bodies()
        return known  # type: ignore[return-value]

    def _read_doc_bodies(self) -> tuple[DocBody, ...]:
        bodies = []
        for i, body in enumerate(self.ofd_xml().iterfind(q("DocBody"))):
            where = f"{OFD_ENTRY} DocBody[{i}]"
            root_loc = child_text(body, "DocRoot")
            if not root_loc:
                raise InvalidPackage("DocBody without DocRoot", where=where)
            doc_root = resolve(OFD_ENTRY, root_loc)
            if doc_root not in self.entries:
                raise InvalidPackage("DocRoot names a missing file", where=where, value=root_loc)
            sig_loc = child_text(body, "Signatures")
            info_el = body.find(q("DocInfo"))
            bodies.append(DocBody(doc_root, _doc_info(info_el),
                                  resolve(OFD_ENTRY, sig_loc) if sig_loc else None))
        if not bodies:
            raise InvalidPackage("no DocBody", where=OFD_ENTRY)
        return tuple(bodies)

    def doc_body(self, doc_index: int = 0) -> DocBody:
        bodies = self.doc_bodies()
        if not 0 <= doc_index < len(bodies):
            raise InvalidPackage("no such document", where=OFD_ENTRY, value=doc_index,
                                 expected=f"0..{len(bodies) - 1}")
        return bodies[doc_index]

    def document(self, doc_index: int = 0) -> DocumentInfo:
        """The structure of document ``doc_index``: pages, resources, attachments, custom tags."""
        return _read_document(self, self.doc_body(doc_index).doc_root)

    def signatures(self, doc_index: int = 0) -> tuple[SignatureInfo, ...]:
        """The signatures of document ``doc_index`` (see :mod:`ecert.ofd.signatures`)."""
        from ecert.ofd.signatures import read_signatures

        known = self._memo.get(("signatures", doc_index))
        if known is None:
            known = self._memo[("signatures", doc_index)] = read_signatures(self, doc_index)
        return known  # type: ignore[return-value]


def _doc_info(el: etree._Element | None) -> DocInfo:
    if el is None:
        return DocInfo(doc_id=None)
    customs: dict[str, str] = {}
    cds = el.find(q("CustomDatas"))
    if cds is not None:
        for cd in cds.iterfind(q("CustomData")):
            name = cd.get("Name")
            if name is not None and name not in customs:
                customs[name] = cd.text or ""
    return DocInfo(
        doc_id=child_text(el, "DocID"),
        title=child_text(el, "Title"),
        author=child_text(el, "Author"),
        subject=child_text(el, "Subject"),
        creation_date=child_text(el, "CreationDate"),
        mod_date=child_text(el, "ModDate"),
        creator=child_text(el, "Creator"),
        creator_version=child_text(el, "CreatorVersion"),
        custom_datas=MappingProxyType(customs),
    )


def _existing(pkg: OFDPackage, base: str, loc: str | None, what: str) -> str:
    if not loc:
        raise InvalidPackage(f"{what} without a location", where=base)
    name = resolve(base, loc)
    if name not in pkg.entries:
        raise InvalidPackage(f"{what} names a missing file", where=base, value=loc)
    return name


def _read_document(pkg: OFDPackage, doc_root: str) -> DocumentInfo:
    root = pkg.xml(doc_root)
    if root.tag != q("Document"):
        raise InvalidPackage("root element is not ofd:Document", where=doc_root, value=str(root.tag))
    common = root.find(q("CommonData"))
    if common is None:
        raise InvalidPackage("Document without CommonData", where=doc_root)
    max_unit = child_text(common, "MaxUnitID")
    box = common.find(f"{q('PageArea')}/{q('PhysicalBox')}")
    pages_el = root.find(q("Pages"))
    pages = tuple(
        PageRef(page.get("ID", ""), _existing(pkg, doc_root, page.get("BaseLoc"), "Page"))
        for page in ([] if pages_el is None else pages_el.iterfind(q("Page")))
    )
    return DocumentInfo(
        doc_root=doc_root,
        max_unit_id=_int(max_unit, doc_root, "MaxUnitID"),
        physical_box=None if box is None else _box(box.text, doc_root),
        pages=pages,
        public_res=tuple(_existing(pkg, doc_root, (e.text or "").strip(), "PublicRes")
                         for e in common.iterfind(q("PublicRes"))),
        document_res=tuple(_existing(pkg, doc_root, (e.text or "").strip(), "DocumentRes")
                           for e in common.iterfind(q("DocumentRes"))),
        attachments=_attachments(pkg, doc_root, child_text(root, "Attachments")),
        custom_tags=_custom_tags(pkg, doc_root, child_text(root, "CustomTags")),
    )


def _attachments(pkg: OFDPackage, doc_root: str, loc: str | None) -> tuple[Attachment, ...]:
    if loc is None:
        return ()
    name = _existing(pkg, doc_root, loc, "Attachments")
    root = pkg.xml(name)
    if root.tag != q("Attachments"):
        raise InvalidPackage("root element is not ofd:Attachments", where=name, value=str(root.tag))
    return tuple(
        Attachment(
            id=att.get("ID"),
            name=att.get("Name", ""),
            format=att.get("Format"),
            creation_date=att.get("CreationDate"),
            file_loc=_existing(pkg, name, child_text(att, "FileLoc"), "Attachment"),
        )
        for att in root.iterfind(q("Attachment"))
    )


def _custom_tags(pkg: OFDPackage, doc_root: str, loc: str | None) -> tuple[CustomTag, ...]:
    if loc is None:
        return ()
    name = _existing(pkg, doc_root, loc, "CustomTags")
    root = pkg.xml(name)
    if root.tag != q("CustomTags"):
        raise InvalidPackage("root element is not ofd:CustomTags", where=name, value=str(root.tag))
    return tuple(
        CustomTag(
            type_id=tag.get("TypeID", ""),
            namespace=tag.get("NameSpace"),
            file_loc=_existing(pkg, name, child_text(tag, "FileLoc"), "CustomTag"),
        )
        for tag in root.iterfind(q("CustomTag"))
    )


def _int(text: str | None, where: str, what: str) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidPackage(f"{what} is not a non-negative integer", where=where, value=text)
    return int(text)


def _box(text: str | None, where: str) -> tuple[float, float, float, float]:
    parts = (text or "").split()
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        raise InvalidPackage("box is not four numbers", where=where, value=text, expected="x y w h")
    return (values[0], values[1], values[2], values[3])
