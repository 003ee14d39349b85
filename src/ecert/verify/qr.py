"""Verifying offline QR payloads (spec/qr.md): grammar, signature, signer trust, identifier, validity,
status, with a report of the same shape as a file's.

The payload names its signer only by a key id; the certificate with that key must come from the
caller — its trust store or the department certificates it was given — never from the payload, and
must chain to a trust anchor. A signer this verifier has no certificate for (its key id matches
nothing given, or its certificate chains to no anchor) is reported as "cannot be checked here",
naming what to add and where, as for files: not a forgery finding, and never valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidSignature
from ecert.identifier import Identifier
from ecert.metadata import LONG_TERM, CoreMetadata
from ecert.qr.offline import ABRIDGED_MARK, ALGORITHM_OF, key_id, signature_der
from ecert.qr.payload import ABRIDGEABLE, Claims, OfflineRecord, decode_offline
from ecert.times import aware_or_now
from ecert.verify.content import (
    CLOCK_SKEW,
    check_issuer_binding,
    check_signing_time,
    check_status,
    check_validity_period,
)
from ecert.verify.report import MissingTrust, ReportBuilder, SignerSummary, VerificationReport
from ecert.verify.status import StatusSource

__all__ = ["REQUIRED_QR_CHECKS", "MissingQRSigner", "verify_offline"]

REQUIRED_QR_CHECKS = ("payload", "signature_value", "signer_trust", "identifier")

_FIELD_ZH = {
    "certificate_name": "证照名称",
    "number": "证照编号",
    "issuer_name": "证照颁发机构",
    "holder_name": "持证主体",
}


@dataclass(frozen=True, slots=True)
class MissingQRSigner(MissingTrust):
    """A QR payload's signer this window cannot check: the department certificate with the payload's
    key id is not among the certificates it was given (``signature`` is the key id in hex), or that
    certificate chains to no trust anchor.  Says which certificate to add, and where."""

    key_id: str = ""
    claimed_issuer: str = ""  # the payload's issuer name and code: a hint to find the certificate

    @property
    def advice(self) -> str:
        if self.subject:  # the certificate was found but chains to no anchor
            return (
                f"add the root or CA certificate of {self.issuer} (SHA-256 of {self.subject}'s "
                f"certificate {self.fingerprint_sha256}) to the trust directory (--trust DIR) "
                "or TrustStore"
            )
        return (
            f"add the department certificate of {self.claimed_issuer} whose key id is {self.key_id} "
            "(spec/qr.md: SHA-256 of its public key, first 8 bytes) to the trust directory's issuers/ "
            "folder (--trust DIR), or give it with --cert (certificates= in Python)"
        )

    @property
    def advice_zh(self) -> str:
        if self.subject:
            return (
                f"请将 {self.issuer} 的根证书或 CA 证书（{self.subject} 的证书 SHA-256 "
                f"{self.fingerprint_sha256}）加入信任目录（--trust DIR）或 TrustStore"
            )
        return (
            f"请将 {self.claimed_issuer} 的部门证书（密钥标识 {self.key_id}）放入信任目录的 "
            "issuers/ 文件夹（--trust DIR），或用 --cert 指定（Python 中为 certificates=）"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**MissingTrust.to_dict(self), "key_id": self.key_id, "claimed_issuer": self.claimed_issuer}


def _metadata(claims: Claims) -> CoreMetadata:
    identifier = Identifier.build(claims.type_code, claims.identifier_issuer, claims.serial, claims.version)
    shown = {n: getattr(claims, n) for n in ABRIDGEABLE}
    for name, _length in claims.abridged.fields if claims.abridged else ():
        shown[name] += ABRIDGED_MARK  # a shortened value never reads as the full one
    values = {
        **shown,
        "type_code": claims.type_code,
        "identifier": identifier,
        "issuer_code": claims.issuer_code,
        "issue_date": claims.issue_date,
        "holder_code": claims.holder_code,
        "holder_code_type_code": claims.holder_code_type_code,
        "valid_from": claims.valid_from,
        "valid_until": LONG_TERM if claims.long_term else claims.valid_until,
    }
    return CoreMetadata.from_values(values)


def _claimed_issuer(metadata: CoreMetadata) -> str:
    return f"{metadata.issuer_name} ({metadata.issuer_code})"


def _unknown_signer(report: ReportBuilder, record: OfflineRecord, metadata: CoreMetadata) -> ReportBuilder:
    """No certificate given has the payload's key id: the signature cannot be checked here."""
    missing = _missing(record, metadata)
    report.skip(
        "signature_value",
        f"cannot be checked here: no certificate given has the payload's key id {record.key_id.hex()}",
        f"此处无法核验：没有与二维码密钥标识 {record.key_id.hex()} 匹配的证书",
    )
    report.fail(
        "signer_trust",
        f"cannot be checked here: the department certificate that signed this code is not in the trust "
        f"directory. This is not evidence of forgery: {missing.advice}",
        f"此处无法核验：签发该二维码的部门证书不在信任目录中。这并不表示伪造：{missing.advice_zh}",
    )
    return report


def _missing(record: OfflineRecord, metadata: CoreMetadata) -> MissingQRSigner:
    kid = record.key_id.hex()
    return MissingQRSigner(kid, "", "", "", key_id=kid, claimed_issuer=_claimed_issuer(metadata))


def _missing_summary(
    record: OfflineRecord, algorithm: SignatureAlgorithm, metadata: CoreMetadata
) -> SignerSummary:
    signed_at = record.claims.signed_at
    return SignerSummary("qr", "QR", None, algorithm.name, signed_at, False, _missing(record, metadata))


def _note_abridged(record: OfflineRecord, report: ReportBuilder) -> None:
    """Say which fields the code carries shortened: the clerk compares them with the holder's papers."""
    if record.claims.abridged is None:
        return
    parts = [
        f"{name} (first {len(getattr(record.claims, name))} of {length} characters)"
        for name, length in record.claims.abridged.fields
    ]
    parts_zh = [
        f"{_FIELD_ZH[name]}（共 {length} 字，显示前 {len(getattr(record.claims, name))} 字）"
        for name, length in record.claims.abridged.fields
    ]
    digest = record.claims.abridged.digest.hex()
    report.warn(
        "abridged",
        f"the code carries shortened: {', '.join(parts)}, marked {ABRIDGED_MARK}; their full text is "
        f"bound by the signed SM3 digest {digest}: compare with the file (ecert verify FILE)",
        f"二维码中以下内容为节选（以 {ABRIDGED_MARK} 标记）：{'，'.join(parts_zh)}；全文由已签名的 SM3 摘要 "
        f"{digest} 约束，完整内容请核验证照文件",
    )


def verify_offline(
    payload: str,
    *,
    trust: TrustStore,
    certificates: Sequence[Certificate] = (),
    at: datetime | None = None,
    status: StatusSource | None = None,
) -> VerificationReport:
    """Verify an offline payload: grammar, signature, signer trust, identifier, validity, status.

    The signer is looked up by the payload's key id among ``certificates`` and the anchors of
    ``trust`` (never taken from the payload) and must chain to ``trust``; when none matches, or it
    chains to no anchor, the report says "cannot be checked here" and which certificate to add
    (:attr:`VerificationReport.cannot_be_checked_here`), and is not valid.

    :param payload: the QR code's text (``EC2:…``, or ``EC1:…`` printed before).
    :param trust: the window's trust anchors.
    :param certificates: department certificates the key id is looked up in.
    :param at: verification time (timezone-aware; default now).
    :param status: where to ask for the certificate's status (revoked, replaced...), if anywhere.
    :returns: the report; a malformed payload is a failed ``payload`` check, not an exception.
    :raises InputError: for a naive ``at``, or ``trust`` / ``certificates`` of the wrong type.
    """
    when = aware_or_now(at, "at")
    if not isinstance(trust, TrustStore):
        raise InputError("trust must be a TrustStore", where="trust", value=type(trust).__name__)
    if isinstance(certificates, Certificate) or not all(isinstance(c, Certificate) for c in certificates):
        raise InputError("certificates must be a sequence of Certificate objects", where="certificates")
    report = ReportBuilder("QR code", REQUIRED_QR_CHECKS, when)
    if not isinstance(payload, str):
        report.fail(
            "payload",
            f"a QR payload is text, not {type(payload).__name__}",
            f"二维码内容应为文本，而不是 {type(payload).__name__}",
        )
        return report.build()
    try:
        record = decode_offline(payload)
        metadata = _metadata(record.claims)
    except EcertError as exc:
        report.fail(
            "payload", f"not a valid offline e-certificate payload: {exc}", f"不是有效的离线证照二维码：{exc}"
        )
        return report.build()
    report.passed(
        "payload", "offline payload read (spec/qr.md, version 1)", "离线二维码内容解析成功（第 1 版）"
    )

    algorithm = ALGORITHM_OF[record.algorithm]
    candidates = [c for c in (*certificates, *trust.anchors) if key_id(c) == record.key_id]
    signer: Certificate | None = None
    signature = (
        record.signature if algorithm is SignatureAlgorithm.ED25519 else signature_der(record.signature)
    )
    for cert in candidates:
        try:
            cert.public_key.verify(signature, record.signed_bytes, algorithm)
        except (InvalidSignature, EcertError):
            continue
        signer = cert
        break
    if signer is None and not candidates:
        return _unknown_signer(report, record, metadata).build(
            signers=[_missing_summary(record, algorithm, metadata)], identifier=str(metadata.identifier)
        )
    if signer is None:
        report.fail(
            "signature_value",
            f"the signature does not verify with the certificate of key id {record.key_id.hex()}",
            "签名验证失败：签名值不正确",
        )
        report.fail("signer_trust", "no signer certificate could be established", "无法确定签名者证书")
        return report.build()
    report.passed(
        "signature_value",
        f"signature ({algorithm.name}) verifies with the certificate of {signer.subject}",
        f"签名值（{algorithm.name}）验证通过，签名者：{signer.subject}",
    )
    signed_at = record.claims.signed_at
    if signed_at - when > CLOCK_SKEW:  # a difference: no overflow near datetime.max
        report.fail(
            "signer_trust",
            f"the payload claims to be signed in the future ({signed_at.isoformat()})",
            f"二维码声称的签名时间在未来（{signed_at.isoformat()}）",
        )
        return report.build()
    result = trust.validate(signer, at=signed_at, intermediates=certificates)
    missing: MissingQRSigner | None = None
    if result.ok:
        report.passed(
            "signer_trust",
            f"the signer certificate chains to a trust anchor and was valid when it signed "
            f"({signed_at:%Y-%m-%d %H:%M} UTC)",
            f"签名者证书可追溯到信任锚，且在签名时（{signed_at:%Y-%m-%d %H:%M} UTC）有效",
        )
    elif [s.name for s in result.steps if not s.ok] == ["build"]:
        missing = MissingQRSigner(
            record.key_id.hex(),
            signer.subject,
            signer.issuer,
            signer.fingerprint_sha256(),
            key_id=record.key_id.hex(),
            claimed_issuer=_claimed_issuer(metadata),
        )
        report.fail(
            "signer_trust",
            f"cannot be checked here: the certificate of {signer.subject} (issued by {signer.issuer}) "
            f"chains to no certificate of the trust store. This is not evidence of forgery: {missing.advice}",
            f"此处无法核验：签名者证书（{signer.subject}，签发者 {signer.issuer}）不能追溯到信任库中的证书。"
            f"这并不表示伪造：{missing.advice_zh}",
        )
    else:
        reasons = "; ".join(f"{s.name}: {s.message}" for s in result.steps if not s.ok)
        report.fail(
            "signer_trust",
            f"the signer certificate is not trusted: {reasons}",
            f"签名者证书不受信任：{reasons}",
        )
    report.passed(
        "identifier",
        f"identifier {metadata.identifier} rebuilt with its check character",
        f"证照标识 {metadata.identifier} 已按校验规则重建",
    )
    check_signing_time(metadata, signed_at, report)
    check_validity_period(metadata, when, report)
    check_status(metadata, status, report, when)
    check_issuer_binding(metadata, [(signer, result.chain if result.ok else ())], report, trust)
    _note_abridged(record, report)
    summary = SignerSummary("qr", "QR", signer.subject, algorithm.name, signed_at, result.ok, missing)
    return report.build(metadata=metadata, signers=[summary], identifier=str(metadata.identifier))
