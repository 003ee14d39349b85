"""What a package's XML declares: the document bodies of ``OFD.xml`` (GB/T 33190-2016 §7.4) and
the structure of each ``Document.xml`` (§7.5) with its attachments (§20) and custom tags (§16).

Read-only views built from an :class:`~ecert.ofd.reader.OFDPackage`; every location they hold is
resolved against the entry that names it and names an entry the package has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from lxml import etree

from ecert.errors import InvalidPackage
from ecert.ofd.entries import resolve
from ecert.ofd.namespaces import OFD_ENTRY, q

if TYPE_CHECKING:
    from ecert.ofd.reader import OFDPackage

__all__ = [
    "Attachment",
    "CustomTag",
    "DocBody",
    "DocInfo",
    "DocumentInfo",
    "PageRef",
    "child_text",
    "read_doc_bodies",
    "read_document",
]


def child_text(el: etree._Element, local: str) -> str | None:
    """Text of the first ``ofd:<local>`` child of ``el`` (stripped), or None."""
    child = next(el.iterchildren(q(local)), None)  # what find() gives for a plain tag, in half its time
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


# --- reading them ----------------------------------------------------------------------------


def read_doc_bodies(pkg: OFDPackage) -> tuple[DocBody, ...]:
    """Every ``ofd:DocBody`` of ``OFD.xml`` (at least one), its locations resolved and present."""
    bodies = []
    for i, body in enumerate(pkg.ofd_xml().iterfind(q("DocBody"))):
        where = f"{OFD_ENTRY} DocBody[{i}]"
        root_loc = child_text(body, "DocRoot")
        if not root_loc:
            raise InvalidPackage("DocBody without DocRoot", where=where)
        doc_root = resolve(OFD_ENTRY, root_loc)
        if doc_root not in pkg.entries:
            raise InvalidPackage("DocRoot names a missing file", where=where, value=root_loc)
        sig_loc = child_text(body, "Signatures")
        info_el = body.find(q("DocInfo"))
        bodies.append(DocBody(doc_root, _doc_info(info_el),
                              resolve(OFD_ENTRY, sig_loc) if sig_loc else None))
    if not bodies:
        raise InvalidPackage("no DocBody", where=OFD_ENTRY)
    return tuple(bodies)


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


def read_document(pkg: OFDPackage, doc_root: str) -> DocumentInfo:
    """The structure of the ``Document.xml`` at ``doc_root``: pages, resources, attachments, custom tags."""
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


def _list_file(pkg: OFDPackage, doc_root: str, loc: str, kind: str) -> tuple[str, etree._Element]:
    """(entry name, root) of a list file Document.xml names (Attachments.xml, CustomTags.xml)."""
    name = _existing(pkg, doc_root, loc, kind)
    root = pkg.xml(name)
    if root.tag != q(kind):
        raise InvalidPackage(f"root element is not ofd:{kind}", where=name, value=str(root.tag))
    return name, root


def _attachments(pkg: OFDPackage, doc_root: str, loc: str | None) -> tuple[Attachment, ...]:
    if loc is None:
        return ()
    name, root = _list_file(pkg, doc_root, loc, "Attachments")
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
    name, root = _list_file(pkg, doc_root, loc, "CustomTags")
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
