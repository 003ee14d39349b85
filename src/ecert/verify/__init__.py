"""Verify an e-certificate file (or any signed OFD file) and say exactly what passed and what not.

``verify(data, trust=..., at=None, status=None)`` runs every check and returns a
:class:`VerificationReport`; ``report.ok`` is true only when nothing failed and the essential
checks (package, signatures, references, coverage, signature value, signer trust) all ran and
passed.  Nothing is trusted because it came inside the file: the caller says what it trusts
(``trust``), when (``at``) and whom to ask about revocation (``status``).
"""

from __future__ import annotations

import os
from datetime import datetime

from ecert._callable import make_callable
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError
from ecert.ofd.namespaces import OFD_ENTRY, q
from ecert.ofd.reader import OFDPackage
from ecert.ofd.signatures import SignatureInfo, check_references, uncovered_entries
from ecert.times import aware_or_now
from ecert.verify.content import (
    ATTACHMENT_NAME,
    check_issuer_binding,
    check_metadata,
    check_signing_time,
    check_status,
    check_validity_period,
)
from ecert.verify.report import Check, Outcome, ReportBuilder, SignerSummary, VerificationReport
from ecert.verify.signatures import check_signature
from ecert.verify.status import StatusSource

__all__ = ["REQUIRED_CHECKS", "Check", "Outcome", "SignerSummary", "VerificationReport", "verify"]

REQUIRED_CHECKS = ("package", "signatures", "references", "coverage", "signature_value", "signer_trust")


def verify(
    data: bytes,
    *,
    trust: TrustStore,
    at: datetime | None = None,
    status: StatusSource | None = None,
    source: str = "file",
) -> VerificationReport:
    """Verify the OFD file ``data``: package, every signature, coverage, metadata, validity, status.

    :param data: the OFD file's bytes.
    :param trust: the trust anchors a signer must chain to (nothing in the file is trusted by itself).
    :param at: verification time (timezone-aware; default now).
    :param status: where to ask for the certificate's status (revoked, replaced…), if anywhere.
    :param source: what the report calls the file (a path, say).
    :returns: the report of every check; :attr:`~ecert.verify.report.VerificationReport.ok` only
        when all passed.
    :raises InputError: for arguments of the wrong type or a naive ``at`` (a bad file is a failed check).
    """
    when = aware_or_now(at, "at")
    if not isinstance(trust, TrustStore):
        raise InputError("trust must be a TrustStore", where="trust", value=type(trust).__name__)
    if status is not None and not isinstance(status, StatusSource):
        raise InputError("status must be a status source (a registry or a status list)", where="status",
                         value=type(status).__name__)
    report = ReportBuilder(source, REQUIRED_CHECKS, when)
    if isinstance(data, str | os.PathLike):  # a path where the bytes belong: say so, and what to call
        report.fail(
            "package",
            "ecert.verify takes the file's bytes, not a path: use ecert.verify_file(path, trust=...) "
            "or pass Path(...).read_bytes()",
            "ecert.verify 需要文件内容（bytes），不是路径：请用 ecert.verify_file(path, trust=...)",
        )
        return report.build()
    try:
        package = OFDPackage.open(data)
        bodies = package.doc_bodies()
    except EcertError as exc:
        report.fail(
            "package", f"the file is not a readable OFD package: {exc}", f"文件不是可读取的 OFD 包：{exc}"
        )
        return report.build()
    from ecert.verify.copy import is_annotated_copy, verify_copy  # a copy wraps an original

    if is_annotated_copy(package):
        return verify_copy(package, trust=trust, at=when, status=status, source=source,
                           required=REQUIRED_CHECKS)
    if len(bodies) != 1:
        report.fail(
            "package",
            f"the package holds {len(bodies)} documents; exactly one is expected",
            f"文件包含 {len(bodies)} 个文档，应当只有一个",
        )
        return report.build()
    report.passed(
        "package",
        f"well-formed OFD package with {len(package.names())} files",
        f"OFD 包结构完整，共 {len(package.names())} 个文件",
    )

    try:
        signatures = package.signatures(0)
    except EcertError as exc:
        report.fail("signatures", f"the signature list cannot be read: {exc}", f"签名列表无法读取：{exc}")
        return report.build()
    if not signatures:
        report.fail("signatures", "the file carries no signature", "文件没有任何签名或签章")
        return report.build()
    report.passed(
        "signatures", f"{len(signatures)} signature(s) found", f"共有 {len(signatures)} 个签名/签章"
    )

    signers: list[SignerSummary] = []
    # (files an intact signature protects, its signer): the issuer binding asks only the signers
    # whose signature protects the metadata, not any department that signed something in the file
    protecting: list[tuple[frozenset[str], Certificate, tuple[Certificate, ...]]] = []
    covered_ok: set[str] = set()
    digests: dict[tuple[str, str], bytes] = {}  # each file hashed once, however many signatures cover it
    for sig in signatures:
        intact = _check_references(package, sig, report, digests)
        if intact:
            covered_ok.update(r.entry_name for r in sig.references)
        outcome = check_signature(sig, trust=trust, report=report, fallback_time=when)
        signers.append(outcome.summary)
        if intact and outcome.signer is not None:
            protecting.append((frozenset(r.entry_name for r in sig.references), outcome.signer, outcome.path))
    metadata = None
    doc = bodies[0]
    try:
        attachments = package.document(0).attachments
    except EcertError as exc:
        # looking for ecert's metadata in a file that has none (or that other software wrote in a
        # way this reader does not follow) must not turn a valid signature invalid: the signed bytes
        # were checked above, the document is simply not an e-certificate this reader can read
        attachments = ()
        report.warn(
            "document",
            f"the document structure could not be read to look for e-certificate metadata: {exc}",
            f"无法读取文档结构以查找证照元数据：{exc}",
        )
    attachment = next((a for a in attachments if a.name == ATTACHMENT_NAME), None)
    # OFD.xml may be left unsigned by documents that are not e-certificates (their signers sign the
    # document, not the package index) when the document it points to is signed: see _check_coverage
    _check_coverage(package, report, index_may_be_unsigned=attachment is None and doc.doc_root in covered_ok)
    if attachment is None:
        report.skip(
            "metadata",
            "no e-certificate metadata attachment: this is a signed OFD file, not an ecert e-certificate",
            "未找到证照元数据附件：这是已签名的 OFD 文件，而非电子证照文件",
        )
        report.skip(
            "issuer_binding",
            "not an e-certificate: there is no issuing authority to bind the signer to "
            "(the file is judged on its signatures alone)",
            "非电子证照文件：没有需要核对签发权限的颁发机构（仅核验签名）",
        )
    elif attachment.file_loc not in covered_ok:
        report.fail(
            "metadata",
            "the metadata attachment is not covered by an intact signature",
            "证照元数据附件未被完整的签名覆盖",
        )
    else:
        metadata = check_metadata(
            package.entries[attachment.file_loc], dict(doc.doc_info.custom_datas), report
        )
        if metadata is not None:
            for summary in signers:
                check_signing_time(metadata, summary.signing_time, report, f"signature {summary.signature}")
            check_validity_period(metadata, when, report)
            check_status(metadata, status, report, when)
            binding = [(cert, path) for names, cert, path in protecting if attachment.file_loc in names]
            check_issuer_binding(metadata, binding, report, trust)
    return report.build(
        metadata=metadata,
        signers=signers,
        identifier=str(metadata.identifier) if metadata is not None else None,
    )


def _docinfo_fields(package: OFDPackage) -> list[str]:
    """The DocInfo fields OFD.xml holds (CustomData by name), as a reader would show them."""
    try:
        info = package.ofd_xml().find(f"{q('DocBody')}/{q('DocInfo')}")
    except EcertError:
        return []
    if info is None:
        return []
    fields: list[str] = []
    for child in info:
        if not isinstance(child.tag, str):
            continue
        local = child.tag.rpartition("}")[2]
        if local == "CustomDatas":
            fields += [f"CustomData {c.get('Name', '')!r}" for c in child if isinstance(c.tag, str)]
        else:
            fields.append(local)
    return fields


def _check_references(
    package: OFDPackage,
    sig: SignatureInfo,
    report: ReportBuilder,
    digests: dict[tuple[str, str], bytes] | None = None,
) -> bool:
    subject = f"signature {sig.id}"
    try:
        results = check_references(package, sig, digests)
    except EcertError as exc:
        report.fail("references", f"references cannot be checked: {exc}", f"无法核对签名引用：{exc}", subject)
        return False
    bad = [r for r in results if not r.ok]
    if not results:
        report.fail("references", "the signature protects no file", "签名未保护任何文件", subject)
        return False
    if bad:
        detail = "; ".join(f"{r.entry_name}: {r.reason}" for r in bad[:10])
        if len(bad) > 10:
            detail += f"; and {len(bad) - 10} more"
        report.fail(
            "references",
            f"{len(bad)} of {len(results)} referenced files do not match: {detail}",
            f"{len(results)} 个被引用文件中有 {len(bad)} 个不一致：{detail}",
            subject,
        )
        return False
    report.passed(
        "references", f"all {len(results)} file digests match", f"全部 {len(results)} 个文件摘要一致", subject
    )
    return True


def _check_coverage(
    package: OFDPackage, report: ReportBuilder, *, index_may_be_unsigned: bool = False
) -> None:
    """Every file must be protected by a signature.  One exception, for signed documents that are
    not e-certificates: many signing systems (KingGrid, 安证通, Koal, Suwell, BaiWang, FJSEAL, the
    railway e-tickets) sign the document but not the package index OFD.xml, which holds only
    DocInfo (DocID, CreationDate...).  When OFD.xml is the only unprotected file and the document
    root it points to is protected, coverage passes and a ``docinfo`` warning names exactly the
    DocInfo fields nobody signed.  An e-certificate never gets this exception (its metadata is in
    OFD.xml's CustomDatas), and any other unprotected file still fails."""
    try:
        uncovered = uncovered_entries(package, 0)
    except EcertError as exc:
        report.fail("coverage", f"coverage cannot be determined: {exc}", f"无法确定签名覆盖范围：{exc}")
        return
    if uncovered == (OFD_ENTRY,) and index_may_be_unsigned:
        fields = ", ".join(_docinfo_fields(package)) or "none"
        report.passed(
            "coverage",
            f"every file is protected by a signature except the package index {OFD_ENTRY} (see docinfo)",
            f"除包索引 {OFD_ENTRY} 外，包内每个文件都受签名保护（见 docinfo）",
        )
        report.warn(
            "docinfo",
            f"{OFD_ENTRY} is not signed: its DocInfo fields ({fields}) may have been changed after "
            "signing; the signed document it points to is intact, and nothing is read from them",
            f"{OFD_ENTRY} 未被签名：其 DocInfo 字段（{fields}）可能在签名后被修改；其指向的文档已签名且完整，"
            "且未采信这些字段",
        )
        return
    if uncovered:
        names = ", ".join(uncovered)
        report.fail(
            "coverage",
            f"files not protected by any signature (added or changed after signing?): {names}",
            f"以下文件未被任何签名保护（可能在签名后被添加或修改）：{names}",
        )
    else:
        report.passed(
            "coverage", "every file in the package is protected by a signature", "包内每个文件都受签名保护"
        )


# ``ecert.verify(...)`` calls verify() whether ``ecert.verify`` was reached as the module or the function.
make_callable(__name__, verify)
