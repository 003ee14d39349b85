"""OFD signatures (GB/T 33190-2016 §18): read their structure, check digests, prepare new ones.

The cryptographic check of ``SignedValue`` belongs to other modules; here are the structure
(``Signatures.xml`` → ``Signature.xml`` → ``SignedValue``), the per-file digests of
``References`` and which package files no signature covers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

from ecert.crypto.digests import DigestAlgorithm
from ecert.errors import EcertError, InputError, InvalidPackage
from ecert.ofd import xmltext
from ecert.ofd.entries import resolve
from ecert.ofd.namespaces import NSMAP, OFD_ENTRY, OFD_NS, q
from ecert.ofd.reader import OFDPackage
from ecert.ofd.structure import child_text
from ecert.times import CHINA_STANDARD_TIME

# ecert.ofd.writer (and the page model it loads) is imported where a signature is made: reading and
# verifying never need it
__all__ = [
    "CHINA_STANDARD_TIME",
    "PreparedSignature",
    "Provider",
    "Reference",
    "ReferenceResult",
    "SignatureInfo",
    "StampAnnot",
    "check_references",
    "describe_signatures",
    "parse_signing_time",
    "prepare_signature",
    "read_signatures",
    "uncovered_entries",
]

"""Zone assumed for a SignatureDateTime written without one (Chinese producers write local time)."""

SIGNATURE_TYPES = ("Sign", "Seal")  # §18.2 table 66: Type, default Sign


@dataclass(frozen=True, slots=True)
class Provider:
    """``ofd:Provider``: the signing component."""

    name: str
    version: str | None = None
    company: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """One ``ofd:Reference``: the file as written, the entry it names, the expected digest."""

    file_ref_raw: str
    entry_name: str
    check_value: bytes


@dataclass(frozen=True, slots=True)
class ReferenceResult:
    """Outcome of checking one reference: ``ok`` or why not."""

    entry_name: str
    ok: bool
    reason: str


@dataclass(frozen=True, slots=True)
class StampAnnot:
    """``ofd:StampAnnot``: where the seal appears (Boundary in mm, x y w h)."""

    id: str
    page_ref: str
    boundary: str


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """One signature of a document, as written, with the exact bytes it covers."""

    id: str
    type: str
    base_loc: str
    signature_xml: bytes
    provider: Provider
    signature_method: str
    signature_datetime: str
    check_method: str
    references: tuple[Reference, ...]
    stamp_annots: tuple[StampAnnot, ...]
    seal_loc: str | None
    signed_value_loc: str
    signed_value: bytes

    def signing_time(self) -> datetime | None:
        """SignatureDateTime as an aware datetime (zone-less forms read as China Standard Time)."""
        return parse_signing_time(self.signature_datetime)

    def digest_algorithm(self) -> DigestAlgorithm:
        """The References CheckMethod (OID or name); ``UnsupportedAlgorithm`` if unknown or weak."""
        return DigestAlgorithm.from_name(self.check_method or "MD5")  # §18: absent means MD5


_COMPACT = re.compile(r"^(\d{14})(?:\.(\d{1,6}))?(Z|[+-]\d{4})?$")
_SLASHED = r"^(\d{4})/(\d{1,2})/(\d{1,2})([ T].*)$"  # a rare form: compiled (and cached by re) on first use


def _offset(zone: str) -> timezone:
    """``+hhmm`` / ``-hhmm`` as strptime's %z reads it: minutes 00-59, less than a day; else ValueError."""
    hours, minutes = int(zone[1:3]), int(zone[3:5])
    if minutes > 59:
        raise ValueError(f"UTC offset {zone} has {minutes} minutes")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if zone[0] == "-" else offset)


def parse_signing_time(text: str) -> datetime | None:
    """Read the SignatureDateTime forms seen in practice; None if unreadable.

    ``20200928165140Z`` / ``20201004072855.302Z`` (UTC), ``20201010151119+0800`` (with offset),
    ``20201010151120``, ``2020-04-22 16:22:44`` and ``2020/10/10 15:11:19`` (no zone: China Standard
    Time, +08:00), ISO 8601 with or without zone.
    """
    text = text.strip()
    m = _COMPACT.match(text)
    try:
        if m:
            # read by position (what strptime's %Y%m%d%H%M%S makes of 14 digits; importing _strptime
            # cost a verifying process more than the parse)
            d = m.group(1)
            value = datetime(int(d[:4]), int(d[4:6]), int(d[6:8]), int(d[8:10]), int(d[10:12]), int(d[12:]))
            if m.group(2):
                value = value.replace(microsecond=int(m.group(2).ljust(6, "0")))
            zone = m.group(3)
            if zone and zone != "Z":
                return value.replace(tzinfo=_offset(zone))
            return value.replace(tzinfo=UTC if zone else CHINA_STANDARD_TIME)
        slashed = re.match(_SLASHED, text)
        if slashed:
            year, month, day, rest = slashed.groups()
            text = f"{year}-{int(month):02d}-{int(day):02d}{rest}"
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=CHINA_STANDARD_TIME)


def read_signatures(pkg: OFDPackage, doc_index: int = 0) -> tuple[SignatureInfo, ...]:
    """Every signature listed in the document's ``Signatures.xml`` (empty if none)."""
    loc = pkg.doc_body(doc_index).signatures_loc
    if loc is None:
        return ()
    root = pkg.xml(loc, where=f"Signatures of {OFD_ENTRY}")
    if root.tag != q("Signatures"):
        raise InvalidPackage("root element is not ofd:Signatures", where=loc, value=str(root.tag))
    listed = root.findall(q("Signature"))
    if len(listed) > pkg.limits.max_signatures:
        raise InvalidPackage("too many signatures", where=loc, value=len(listed),
                             expected=f"<= {pkg.limits.max_signatures} (a document carries a few)")
    result: list[SignatureInfo] = []
    budget = [pkg.limits.max_references]  # references left for the document's signatures together
    for el in listed:
        sig_id, sig_type, base = el.get("ID"), el.get("Type", "Sign"), el.get("BaseLoc")
        if not sig_id or not base:
            raise InvalidPackage("Signature without ID or BaseLoc", where=loc)
        if sig_type not in SIGNATURE_TYPES:
            raise InvalidPackage("unknown signature Type", where=loc, value=sig_type, expected="Sign or Seal")
        if any(s.id == sig_id for s in result):
            raise InvalidPackage("duplicate signature ID", where=loc, value=sig_id)
        entry = resolve(loc, base)
        if any(s.base_loc == entry for s in result):
            raise InvalidPackage("two signatures share one Signature.xml", where=loc, value=base)
        result.append(_read_signature(pkg, sig_id, sig_type, entry, budget))
    return tuple(result)


def describe_signatures(pkg: OFDPackage, doc_index: int = 0) -> tuple[tuple[str, str | None], ...]:
    """Every signature the document lists, as ``(description, problem)``: what can be read of each,
    and why the rest cannot (a missing SignedValue, a Provider without ProviderName...), for
    showing a file (``ecert inspect``) where :func:`read_signatures` refuses the whole list.
    NOT verification: nothing here is checked against a signature."""
    try:
        loc = pkg.doc_body(doc_index).signatures_loc
        if loc is None:
            return ()
        root = pkg.xml(loc, where=f"Signatures of {OFD_ENTRY}")
    except EcertError as exc:
        return (("the signature list", str(exc)),)
    out: list[tuple[str, str | None]] = []
    budget = [pkg.limits.max_references]
    for el in root.findall(q("Signature"))[: pkg.limits.max_signatures]:
        sig_id, sig_type, base = el.get("ID", "?"), el.get("Type", "Sign"), el.get("BaseLoc", "")
        try:
            sig = _read_signature(pkg, sig_id, sig_type, resolve(loc, base), budget)
        except EcertError as exc:
            out.append((f"{sig_id} {sig_type} BaseLoc={base}", str(exc)))
            continue
        out.append((f"{sig.id} {sig.type} method={sig.signature_method} time={sig.signature_datetime} "
                    f"references={len(sig.references)} provider={sig.provider.name}", None))
    return tuple(out)


def _read_signature(
    pkg: OFDPackage, sig_id: str, sig_type: str, entry: str, budget: list[int]
) -> SignatureInfo:
    raw = pkg.read(entry, where=f"signature {sig_id}")
    root = pkg.xml(entry)
    info = root.find(q("SignedInfo"))
    if root.tag != q("Signature") or info is None:
        raise InvalidPackage("not an ofd:Signature with SignedInfo", where=entry)
    prov = info.find(q("Provider"))
    if prov is None or not prov.get("ProviderName"):
        raise InvalidPackage("SignedInfo without Provider/@ProviderName", where=entry)
    refs_el = info.find(q("References"))
    refs = () if refs_el is None else _references(refs_el, entry, budget, pkg.limits.max_references)
    value_loc = child_text(root, "SignedValue")
    if not value_loc:
        raise InvalidPackage("Signature without SignedValue", where=entry)
    value_entry = resolve(entry, value_loc)
    seal_loc = info.findtext(f"{q('Seal')}/{q('BaseLoc')}")
    return SignatureInfo(
        id=sig_id,
        type=sig_type,
        base_loc=entry,
        signature_xml=raw,
        provider=Provider(prov.get("ProviderName", ""), prov.get("Version"), prov.get("Company")),
        signature_method=child_text(info, "SignatureMethod") or "",
        signature_datetime=child_text(info, "SignatureDateTime") or "",
        check_method=("" if refs_el is None else refs_el.get("CheckMethod", "")).strip(),
        references=refs,
        stamp_annots=tuple(StampAnnot(s.get("ID", ""), s.get("PageRef", ""), s.get("Boundary", ""))
                           for s in info.iterfind(q("StampAnnot"))),
        seal_loc=resolve(entry, seal_loc) if seal_loc and seal_loc.strip() else None,
        signed_value_loc=value_entry,
        signed_value=pkg.read(value_entry, where=f"SignedValue of {entry}"),
    )


def _references(
    refs_el: etree._Element, entry: str, budget: list[int], limit: int
) -> tuple[Reference, ...]:
    """The references of one Signature.xml; ``budget`` holds how many the document's signatures may
    still list together (each costs a digest lookup and a comparison per signature)."""
    listed = refs_el.findall(q("Reference"))
    budget[0] -= len(listed)
    if budget[0] < 0:
        raise InvalidPackage("too many references", where=entry,
                             expected=f"<= {limit} in all the document's signatures together")
    refs: list[Reference] = []
    seen: set[str] = set()
    check_tag = q("CheckValue")
    for ref in listed:
        file_ref = ref.get("FileRef")
        if not file_ref:
            raise InvalidPackage("Reference without FileRef", where=entry)
        name = resolve(entry, file_ref)
        if name in seen:
            raise InvalidPackage("file referenced twice", where=entry, value=file_ref)
        seen.add(name)
        text = (ref.findtext(check_tag) or "").strip()
        try:
            value = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidPackage("CheckValue is not base64", where=f"{entry} Reference {file_ref}",
                                 value=text[:60]) from None
        if not value:
            raise InvalidPackage("empty CheckValue", where=f"{entry} Reference {file_ref}")
        refs.append(Reference(file_ref, name, value))
    return tuple(refs)


def check_references(
    pkg: OFDPackage, sig: SignatureInfo, digests: dict[tuple[str, str], bytes] | None = None
) -> tuple[ReferenceResult, ...]:
    """Recompute every reference's digest over the exact entry bytes; one result per reference.

    ``digests`` keeps (entry, algorithm) -> digest across the signatures of one package: each file
    is hashed once however many signatures reference it."""
    algorithm = sig.digest_algorithm()
    name = algorithm.name
    memo = {} if digests is None else digests
    matches, differs = f"{name} digest matches", f"{name} digest differs: file changed"
    results = []
    for ref in sig.references:
        data = pkg.entries.get(ref.entry_name)
        if data is None:
            results.append(ReferenceResult(ref.entry_name, False, "file missing from the package"))
            continue
        key = (ref.entry_name, name)
        digest = memo.get(key)
        if digest is None:
            digest = memo[key] = algorithm.digest(data)
        ok = hmac.compare_digest(digest, ref.check_value)
        results.append(ReferenceResult(ref.entry_name, ok, matches if ok else differs))
    return tuple(results)


def _infrastructure(pkg: OFDPackage, doc_index: int) -> set[str]:
    loc = pkg.doc_body(doc_index).signatures_loc
    names = set() if loc is None else {loc}
    for sig in pkg.signatures(doc_index):
        names.update((sig.base_loc, sig.signed_value_loc))
    return names


def uncovered_entries(pkg: OFDPackage, doc_index: int = 0) -> tuple[str, ...]:
    """Package files no signature's References cover, in archive order.

    Only the signature infrastructure is excluded: the Signatures.xml named in OFD.xml, each
    Signature.xml and each SignedValue file (the signature value itself covers those).
    """
    covered = _infrastructure(pkg, doc_index)
    for sig in pkg.signatures(doc_index):
        covered.update(r.entry_name for r in sig.references)
    return tuple(name for name in pkg.names() if name not in covered)


# --- preparing a new signature ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedSignature:
    """A signature ready to be signed: sign ``to_be_signed`` (exact Signature.xml bytes), then
    call :meth:`finish` with the signed value to get the final package bytes."""

    signature_id: str
    signature_entry: str
    signed_value_entry: str
    to_be_signed: bytes
    _package: OFDPackage = field(repr=False)
    _changes: tuple[tuple[str, bytes], ...] = field(repr=False)

    def finish(self, signed_value: bytes) -> bytes:
        """The package with this signature and ``signed_value`` (a SignedValue.dat) added."""
        from ecert.ofd.writer import replace_entries

        if not signed_value:
            raise InputError("empty signed value", where=self.signed_value_entry)
        changes = dict(self._changes)
        changes[self.signature_entry] = self.to_be_signed
        changes[self.signed_value_entry] = bytes(signed_value)
        return replace_entries(self._package, changes)


def _el(parent: etree._Element, local: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, q(local), attrs)
    if text is not None:
        child.text = text
    return child


def _ofd_xml_with_signatures(pkg: OFDPackage, doc_index: int, loc: str) -> bytes:
    from ecert.ofd.writer import xml_bytes

    root = pkg.ofd_xml()
    body = root.findall(q("DocBody"))[doc_index]
    _el(body, "Signatures", "/" + loc)
    return xml_bytes(root)


def _signatures_xml(pkg: OFDPackage, loc: str | None, new_loc: str, sig_type: str) -> tuple[str, bytes]:
    """(new signature ID, updated Signatures.xml bytes)."""
    from ecert.ofd.writer import xml_bytes

    if loc is not None and loc in pkg.entries:
        root = pkg.xml(loc)
        if root.tag != q("Signatures"):
            raise InvalidPackage("root element is not ofd:Signatures", where=loc)
    else:
        root = etree.Element(q("Signatures"), nsmap=NSMAP)
    ids = {el.get("ID", "") for el in root.iterfind(q("Signature"))}
    max_el = root.find(q("MaxSignId"))
    numbers = [int(i) for i in [*ids, "" if max_el is None else (max_el.text or "")] if i.isdigit()]
    next_id = max(numbers, default=0) + 1
    while str(next_id) in ids:
        next_id += 1
    if max_el is None:
        max_el = etree.Element(q("MaxSignId"))
        root.insert(0, max_el)
    max_el.text = str(next_id)
    _el(root, "Signature", ID=str(next_id), Type=sig_type, BaseLoc="/" + new_loc)
    return str(next_id), xml_bytes(root)


def _utc_stamp(when: datetime) -> str:
    if when.tzinfo is None or when.utcoffset() is None:
        raise InputError("signing time must be timezone-aware", value=when.isoformat())
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def prepare_signature(
    package: bytes | OFDPackage,
    *,
    doc_index: int = 0,
    signature_type: str = "Sign",
    provider: Provider,
    signature_method_oid: str,
    digest: DigestAlgorithm,
    signing_time: datetime,
    stamp_annot: StampAnnot | None = None,
    seal_file: bytes | None = None,
) -> PreparedSignature:
    """Add a signature (§18) to document ``doc_index``: list it, reference every covered file.

    References cover every package file except the signature infrastructure (Signatures.xml,
    each Signature.xml and SignedValue), in sorted order, including the seal file if given and
    ``OFD.xml`` as updated to name the signature list.  Deterministic for the same inputs.
    """
    if signature_type not in SIGNATURE_TYPES:
        raise InputError("unknown signature type", value=signature_type, expected="Sign or Seal")
    stamp = _utc_stamp(signing_time)
    pkg = package if isinstance(package, OFDPackage) else OFDPackage.open(package)
    body = pkg.doc_body(doc_index)
    doc_dir = body.doc_root.rpartition("/")[0]
    signs_dir = f"{doc_dir}/Signs" if doc_dir else "Signs"
    changes: dict[str, bytes] = {}
    sig_list = body.signatures_loc
    if sig_list is None:
        sig_list = f"{signs_dir}/Signatures.xml"
        if sig_list in pkg.entries:
            raise InvalidPackage("Signatures.xml exists but OFD.xml does not name it", where=sig_list)
        changes[OFD_ENTRY] = _ofd_xml_with_signatures(pkg, doc_index, sig_list)
    else:
        signs_dir = sig_list.rpartition("/")[0] or signs_dir
    k = 0
    while any(n.startswith(f"{signs_dir}/Sign_{k}/") for n in pkg.entries):
        k += 1
    sign_dir = f"{signs_dir}/Sign_{k}"
    signature_entry, value_entry = f"{sign_dir}/Signature.xml", f"{sign_dir}/SignedValue.dat"
    sig_id, changes[sig_list] = _signatures_xml(pkg, body.signatures_loc, signature_entry, signature_type)
    seal_entry = f"{sign_dir}/Seal.esl" if seal_file is not None else None
    if seal_entry is not None and seal_file is not None:
        changes[seal_entry] = seal_file
    excluded = _infrastructure(pkg, doc_index) | {sig_list}
    files = {**pkg.entries, **changes}
    covered = sorted(n for n in files if n not in excluded)

    references = [(name, base64.b64encode(digest.digest(files[name])).decode("ascii")) for name in covered]
    signature_xml = _signature_xml(provider, signature_method_oid, stamp, digest.oid, references,
                                   stamp_annot, seal_entry, value_entry)
    return PreparedSignature(sig_id, signature_entry, value_entry, signature_xml, pkg,
                             tuple(sorted(changes.items())))


def _signature_xml(
    provider: Provider,
    method_oid: str,
    stamp: str,
    check_method: str,
    references: list[tuple[str, str]],
    stamp_annot: StampAnnot | None,
    seal_entry: str | None,
    value_entry: str,
) -> bytes:
    """Signature.xml (§18.2.2) written as text: the bytes lxml serialises for the same elements
    (``tests/test_ofd_signature_text.py`` compares them), without building ~30 elements a signature."""
    from ecert.ofd.writer import XML_DECLARATION

    where = "Signature.xml"
    out = [XML_DECLARATION.decode(), f'<ofd:Signature xmlns:ofd="{OFD_NS}"><ofd:SignedInfo><ofd:Provider']
    out += (f' {key}="{xmltext.attribute(value, where)}"' for key, value in _provider_attrs(provider).items())
    out += ("/><ofd:SignatureMethod>", xmltext.text(method_oid, where), "</ofd:SignatureMethod>",
            "<ofd:SignatureDateTime>", stamp, '</ofd:SignatureDateTime><ofd:References CheckMethod="',
            xmltext.attribute(check_method, where), '"')
    if references:
        out.append(">")
        for name, check_value in references:
            out += ('<ofd:Reference FileRef="/', xmltext.attribute(name, where), '"><ofd:CheckValue>',
                    check_value, "</ofd:CheckValue></ofd:Reference>")
        out.append("</ofd:References>")
    else:
        out.append("/>")
    if stamp_annot is not None:
        out += ('<ofd:StampAnnot ID="', xmltext.attribute(stamp_annot.id, where), '" PageRef="',
                xmltext.attribute(stamp_annot.page_ref, where), '" Boundary="',
                xmltext.attribute(stamp_annot.boundary, where), '"/>')
    if seal_entry is not None:
        out += ("<ofd:Seal><ofd:BaseLoc>/", xmltext.text(seal_entry, where), "</ofd:BaseLoc></ofd:Seal>")
    out += ("</ofd:SignedInfo><ofd:SignedValue>/", xmltext.text(value_entry, where),
            "</ofd:SignedValue></ofd:Signature>")
    return "".join(out).encode()


def _provider_attrs(provider: Provider) -> dict[str, str]:
    attrs = {"ProviderName": provider.name}
    if provider.version is not None:
        attrs["Version"] = provider.version
    if provider.company is not None:
        attrs["Company"] = provider.company
    return attrs
