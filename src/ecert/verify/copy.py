"""Verify an annotated copy (加注件): the original inside, the copy's signature, its metadata, its expiry.

A copy (``spec/annotated-copy.md``) is valid only when all of these hold:

* ``original`` — the original file it carries verifies as it would alone (issuer trust, status,
  validity: :func:`ecert.verify.verify` on its exact bytes);
* the copy's own signature checks (``references``, ``coverage``, ``signature_value``,
  ``signer_trust``): the releasing organisation signed every file, the original's signature files
  included, and chains to the caller's trust store;
* ``copy_metadata`` — the JZJ metadata is well-formed, equals ``DocInfo/CustomDatas``, names the
  organisation that signed and the time it signed;
* ``copy_original`` — the carried original has the identifier and SM3 digest the metadata names,
  and the files the reader draws are the original's, byte for byte;
* ``copy_watermark`` — the annotation layer on every page is exactly the one the metadata implies
  (same wording, organisation, reason and expiry);
* ``copy_structure`` — nothing else in the copy: its document, resources and attachment list are
  the ones :func:`ecert.annotate.layer.build_layer` writes;
* ``copy_expired`` — the verification time is before the end of 有效期截止时间 (China time): an
  expired copy is not valid even though the original inside still is.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ecert.annotate.names import (
    COPY_DIR,
    DOCUMENT_ENTRY,
    KEYS,
    METADATA_ENTRY,
    ORIGINAL_ENTRY,
    SIGNATURES_LOC,
)
from ecert.crypto.digests import sm3
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InvalidPackage
from ecert.ofd.namespaces import OFD_ENTRY, q
from ecert.ofd.reader import OFDPackage
from ecert.ofd.signatures import check_references
from ecert.verify.report import ReportBuilder, SignerSummary, VerificationReport
from ecert.verify.signatures import check_signature
from ecert.verify.status import StatusSource

if TYPE_CHECKING:  # loaded when a copy is verified: telling a copy from an original needs names only
    from ecert.annotate.model import CopyMetadata

__all__ = ["COPY_CHECKS", "is_annotated_copy", "verify_copy"]

COPY_CHECKS = (
    "original",
    "copy_metadata",
    "copy_original",
    "copy_watermark",
    "copy_structure",
    "copy_expired",
)
CLOCK_SKEW = timedelta(minutes=10)


def is_annotated_copy(pkg: OFDPackage) -> bool:
    """Any sign of a copy (its document, its metadata or original file, JZJ custom data): such a file
    is judged as one, so taking some signs away never turns a copy into something judged more
    leniently, and a file with JZJ custom data (another system's copy, say) is not judged valid
    without its expiry being checked."""
    if any(name in pkg.entries for name in (DOCUMENT_ENTRY, METADATA_ENTRY, ORIGINAL_ENTRY)):
        return True
    try:
        bodies = pkg.doc_bodies()
    except EcertError:
        return False
    return any(key in body.doc_info.custom_datas for body in bodies for key in KEYS)


def verify_copy(
    pkg: OFDPackage,
    *,
    trust: TrustStore,
    at: datetime,
    status: StatusSource | None,
    source: str,
    required: tuple[str, ...],
) -> VerificationReport:
    """The report of the copy ``pkg``; ``required`` are the checks of any signed file."""
    from ecert.verify import _check_coverage, _check_references, verify

    report = ReportBuilder(source, (*required, *COPY_CHECKS), at)
    report.passed(
        "package",
        f"well-formed OFD package with {len(pkg.names())} files (an annotated copy)",
        f"OFD 包结构完整，共 {len(pkg.names())} 个文件（加注件）",
    )
    try:
        bodies = pkg.doc_bodies()
        signatures = pkg.signatures(0)
    except EcertError as exc:
        report.fail(
            "signatures", f"the copy's signature list cannot be read: {exc}", f"加注件签名列表无法读取：{exc}"
        )
        return report.build()
    if len(bodies) != 1 or not signatures:
        report.fail(
            "signatures",
            "the copy carries no signature of its own (or not one document)",
            "加注件没有自己的签名（或不止一个文档）",
        )
        return report.build()
    report.passed(
        "signatures", f"{len(signatures)} copy signature(s) found", f"共有 {len(signatures)} 个加注件签名"
    )
    signers: list[SignerSummary] = []
    protected: set[str] = set()
    certificates: list[Certificate] = []
    digests: dict[tuple[str, str], bytes] = {}  # each file hashed once for both looks below
    for sig in signatures:
        _check_references(pkg, sig, report, digests)
        outcome = check_signature(sig, trust=trust, report=report, fallback_time=at)
        signers.append(outcome.summary)
        if outcome.signer is not None and outcome.summary.trusted:
            # files whose digest a trusted copy signature confirms: read to say what else is wrong
            # (a changed watermark fails copy_watermark too); the report fails on any broken digest
            try:
                protected.update(r.entry_name for r in check_references(pkg, sig, digests) if r.ok)
            except EcertError:
                continue
            certificates.append(outcome.signer)
    _check_coverage(pkg, report)

    metadata = _metadata(pkg, bodies[0].signatures_loc, protected, certificates, signers, report, at)
    original_report = None
    original = pkg.entries.get(ORIGINAL_ENTRY)
    if original is None:
        report.fail(
            "copy_original", "the copy carries no original file", "加注件未携带原件文件", ORIGINAL_ENTRY
        )
        report.fail("original", "no original to verify", "没有可核验的原件")
    elif metadata is not None:
        found = _original(original, metadata, trust, at, status, report, verify)
        if found is not None:
            original_report = found[0]
            _layer(pkg, original, found[1], metadata, report)
    if metadata is not None:
        _expiry(metadata, at, report)
    return report.build(
        metadata=original_report.metadata if original_report is not None else None,
        signers=signers,
        identifier=metadata.original_identifier if metadata is not None else None,
        annotated_copy=metadata,
        original=original_report,
    )


def _metadata(
    pkg: OFDPackage,
    signatures_loc: str | None,
    protected: set[str],
    certificates: list[Certificate],
    signers: list[SignerSummary],
    report: ReportBuilder,
    at: datetime,
) -> CopyMetadata | None:
    """The copy metadata, read only when an intact signature protects it, held to that signature."""
    from ecert.annotate.model import CopyMetadata

    data = pkg.entries.get(METADATA_ENTRY)
    if data is None:
        report.fail(
            "copy_metadata", "the copy metadata attachment is missing", "加注件元数据附件缺失", METADATA_ENTRY
        )
        return None
    if METADATA_ENTRY not in protected or OFD_ENTRY not in protected:
        report.fail(
            "copy_metadata",
            "the copy metadata is not covered by an intact, trusted copy signature",
            "加注件元数据未被完整且可信的加注件签名覆盖",
        )
        return None
    try:
        md = CopyMetadata.from_xml(data)
    except EcertError as exc:
        report.fail("copy_metadata", f"the copy metadata is not valid: {exc}", f"加注件元数据无效：{exc}")
        return None
    problems: list[tuple[str, str]] = []
    if signatures_loc != SIGNATURES_LOC:
        problems.append(("the copy's signatures are not where a copy keeps them", "加注件签名不在规定位置"))
    customs = dict(pkg.doc_body(0).doc_info.custom_datas)
    differ = [k for k, v in md.elements() if customs.get(k) != v]
    if differ:
        problems.append(
            (
                f"DocInfo/CustomDatas disagree with the copy metadata: {', '.join(differ)}",
                f"文档元数据（CustomDatas）与加注件元数据不一致：{'、'.join(differ)}",
            )
        )
    from ecert.crypto.authority import personal_reason

    for cert in certificates:
        why = personal_reason(cert)
        if why is not None:  # a CN=张三 certificate may not release copies in an organisation's name
            problems.append(
                (f"the copy signer may not release copies: {why}", f"加注件签名者不是机构证书：{why}")
            )
    organisations = {n for c in certificates for n in c.subject_attribute("2.5.4.10")}
    if md.organisation not in organisations:
        problems.append(
            (
                f"the copy names {md.organisation!r} as releasing organisation, "
                "but no trusted copy signer is that organisation",
                f"加注件提供机构为“{md.organisation}”，但签名者不是该机构",
            )
        )
    times = [s.signing_time for s in signers if s.signing_time is not None]
    if not any(abs(t - md.made_at) <= timedelta(seconds=1) for t in times):
        problems.append(
            (
                f"made at {md.made_at.isoformat()} but signed at "
                f"{', '.join(t.isoformat() for t in times) or 'no stated time'} (re-dated?)",
                f"制作时间 {md.made_at.isoformat()} 与签名时间不符（是否改动了日期？）",
            )
        )
    if md.made_at > at + CLOCK_SKEW:
        problems.append(
            (
                f"made at {md.made_at.isoformat()}, after the verification time",
                f"制作时间 {md.made_at.isoformat()} 晚于核验时间",
            )
        )
    if problems:
        report.fail("copy_metadata", "; ".join(p[0] for p in problems), "；".join(p[1] for p in problems))
        return None
    report.passed(
        "copy_metadata",
        f"copy {md.copy_id}: made {md.made_at.isoformat()} by {md.maker} for {md.organisation}, "
        f"level {md.level.value}; equals DocInfo/CustomDatas",
        f"加注件 {md.copy_id}：{md.organisation} 于 {md.made_at.isoformat()} 由 {md.maker} 制作，"
        f"{md.level.value} 级；与文档元数据一致",
    )
    return md


def _original(
    original: bytes,
    md: CopyMetadata,
    trust: TrustStore,
    at: datetime,
    status: StatusSource | None,
    report: ReportBuilder,
    verify: object,
) -> tuple[VerificationReport, OFDPackage | None] | None:
    """The carried original (its report, and its package when readable): the one the metadata names,
    not itself a copy, valid as issued."""
    digest = sm3(original).hex()
    if not hmac.compare_digest(digest, md.original_sm3):
        report.fail(
            "copy_original",
            f"the original file's SM3 is {digest}, the metadata names {md.original_sm3}",
            f"原件文件 SM3 为 {digest}，与加注件元数据 {md.original_sm3} 不符",
            ORIGINAL_ENTRY,
        )
        report.fail(
            "original",
            "the carried original is not the one the copy was made of",
            "所携带的原件不是加注件所依据的原件",
        )
        return None
    try:
        opened: OFDPackage | None = OFDPackage.open(original)
    except EcertError:
        opened = None  # the original's own verification reports what is wrong with it
    if opened is not None and is_annotated_copy(opened):
        report.fail(
            "copy_original",
            "the original is itself an annotated copy",
            "原件本身是加注件",
            ORIGINAL_ENTRY,
        )
        report.fail("original", "a copy of a copy is not an original", "加注件的加注件不是原件")
        return None
    assert callable(verify)
    inner: VerificationReport = verify(original, trust=trust, at=at, status=status, source="original")
    if inner.ok:
        report.passed(
            "original",
            f"the original {inner.identifier} verifies (issuer trust, validity, status)",
            f"原件 {inner.identifier} 核验通过（颁证机构、有效期、状态）",
        )
    else:
        failed = ", ".join(sorted({c.name for c in inner.failures} | set(inner.missing_required)))
        report.fail("original", f"the original does not verify: {failed}", f"原件核验未通过：{failed}")
    if inner.identifier != md.original_identifier:
        report.fail(
            "copy_original",
            f"the original is {inner.identifier}, the copy names {md.original_identifier}",
            f"原件证照标识为 {inner.identifier}，加注件元数据为 {md.original_identifier}",
        )
        return inner, opened
    return inner, opened


def _without_signatures(pkg: OFDPackage) -> bytes | None:
    """``OFD.xml`` as the layer wrote it: the copy's signature list reference taken out again."""
    from ecert.ofd.writer import xml_bytes

    try:
        root = pkg.ofd_xml()
    except EcertError:
        return None
    body = root.find(q("DocBody"))
    sig = None if body is None else body.find(q("Signatures"))
    if body is None or sig is None or (sig.text or "").strip() != "/" + SIGNATURES_LOC:
        return None
    body.remove(sig)
    return xml_bytes(root)


def _layer(
    pkg: OFDPackage, original: bytes, opened: OFDPackage | None, md: CopyMetadata, report: ReportBuilder
) -> None:
    """Compare every file of the copy with the layer rebuilt from the metadata and the original."""
    from ecert.annotate.layer import build_layer

    try:
        if opened is None:
            raise InvalidPackage("the original is not a readable OFD package", where=ORIGINAL_ENTRY)
        expected = dict(build_layer(original, opened, md))
    except EcertError as exc:
        report.fail(
            "copy_structure",
            f"the copy's layer cannot be rebuilt from the original: {exc}",
            f"无法依据原件重建加注件：{exc}",
        )
        return
    infrastructure = {SIGNATURES_LOC}
    for sig in pkg.signatures(0):
        infrastructure.update({sig.base_loc, sig.signed_value_loc, *([sig.seal_loc] if sig.seal_loc else [])})
    actual = {n: d for n, d in pkg.entries.items() if n not in infrastructure}
    actual_ofd = _without_signatures(pkg)

    def differs(name: str) -> bool:
        data = actual_ofd if name == OFD_ENTRY else actual.get(name)
        return data is None or not hmac.compare_digest(data, expected[name])

    annotations = [n for n in expected if n.startswith(f"{COPY_DIR}/Annots/")]
    originals = [n for n in expected if not n.startswith(COPY_DIR + "/") and n != OFD_ENTRY]
    bad_annotations = [n for n in annotations if differs(n)]
    if bad_annotations:
        missing = [n for n in bad_annotations if n not in actual]
        report.fail(
            "copy_watermark",
            f"the watermark annotations differ from the copy metadata: {', '.join(bad_annotations)}"
            + (" (missing)" if missing else ""),
            f"水印注释与加注件元数据不一致：{', '.join(bad_annotations)}" + ("（缺失）" if missing else ""),
        )
    else:
        report.passed(
            "copy_watermark",
            f"the watermark on every page says: {md.watermark_text()}",
            f"每页水印为：{md.watermark_text()}",
        )
    bad_originals = [n for n in originals if differs(n)]
    if bad_originals:
        report.fail(
            "copy_original",
            f"the drawn files differ from the original's: {', '.join(bad_originals)}",
            f"显示的文件与原件不一致：{', '.join(bad_originals)}",
        )
    else:
        report.passed(
            "copy_original",
            f"all {len(originals)} files of the original are kept byte for byte, "
            f"its SM3 and identifier are those the copy names",
            f"原件全部 {len(originals)} 个文件逐字节保留，SM3 与证照标识与加注件元数据一致",
        )
    rest = [n for n in expected if n not in annotations and n not in originals]
    bad_rest = [n for n in rest if differs(n)]
    extra = sorted(set(actual) - set(expected))
    if bad_rest or extra:
        detail = ", ".join([*bad_rest, *(f"{n} (not part of a copy)" for n in extra)])
        report.fail(
            "copy_structure",
            f"the copy's own files differ from what its metadata implies: {detail}",
            f"加注件自身文件与其元数据不一致：{detail}",
        )
    else:
        report.passed(
            "copy_structure",
            f"the copy document ({DOCUMENT_ENTRY}) and its files are as the metadata implies",
            f"加注件文档（{DOCUMENT_ENTRY}）及其文件与元数据一致",
        )


def _expiry(md: CopyMetadata, at: datetime, report: ReportBuilder) -> None:
    until = md.valid_until.isoformat()
    if md.expired(at):
        report.fail(
            "copy_expired",
            f"the copy expired at the end of {until} (China time); the original inside "
            "is not affected, but this copy may no longer be used",
            f"加注件已于 {until} 有效期截止（北京时间）；原件不受影响，但本加注件不得再使用",
        )
    else:
        report.passed(
            "copy_expired",
            f"the copy is valid until the end of {until} (China time)",
            f"加注件有效期至 {until}（北京时间）",
        )
