"""Signing and verifying offline QR payloads (spec/qr.md).

The payload names its signer only by a key id (8 bytes of SHA-256 over the key's
SubjectPublicKeyInfo); the certificate with that key must come from the caller — its trust
store or the department certificates it was given — never from the payload, and must chain
to a trust anchor.  The report has the same shape as a file's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidQRPayload, InvalidSignature
from ecert.identifier import Identifier
from ecert.metadata import LONG_TERM, CoreMetadata
from ecert.qr.payload import Claims, QRAlgorithm, decode_offline, encode_offline, signed_part
from ecert.times import aware, aware_or_now
from ecert.verify.content import (
    CLOCK_SKEW,
    check_issuer_binding,
    check_signing_time,
    check_status,
    check_validity_period,
)
from ecert.verify.report import ReportBuilder, SignerSummary, VerificationReport
from ecert.verify.status import StatusSource

__all__ = ["REQUIRED_QR_CHECKS", "claims_of", "key_id", "make_offline", "verify_offline"]

REQUIRED_QR_CHECKS = ("payload", "signature_value", "signer_trust", "identifier")

_ALGORITHMS = {
    SignatureAlgorithm.SM2_SM3: QRAlgorithm.SM2_SM3,
    SignatureAlgorithm.ECDSA_SHA256: QRAlgorithm.ECDSA_P256_SHA256,
    SignatureAlgorithm.ED25519: QRAlgorithm.ED25519,
}
_BY_CODE = {v: k for k, v in _ALGORITHMS.items()}


def key_id(certificate: Certificate) -> bytes:
    """First 8 bytes of SHA-256 over the certificate's SubjectPublicKeyInfo DER."""
    return hashlib.sha256(certificate.public_key.spki_der()).digest()[:8]


def claims_of(md: CoreMetadata, signed_at: datetime | None = None) -> Claims:
    ident = md.identifier
    return Claims(
        certificate_name=md.certificate_name,
        type_code=md.type_code,
        number=md.number,
        issuer_name=md.issuer_name,
        issuer_code=md.issuer_code,
        identifier_issuer=ident.issuer_code,
        serial=ident.serial,
        version=ident.version,
        holder_name=md.holder_name,
        holder_code=md.holder_code,
        holder_code_type_code=md.holder_code_type_code,
        issue_date=md.issue_date,
        valid_from=md.valid_from,
        valid_until=md.valid_until,
        long_term=md.long_term,
        signed_at=(signed_at or datetime.now(UTC)).replace(microsecond=0),
    )


def _to_raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _from_raw(raw: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def make_offline(md: CoreMetadata, signer: Signer, *, at: datetime | None = None) -> str:
    """The offline payload for ``md``, signed by ``signer`` (SM2, ECDSA P-256 or Ed25519) at ``at``."""
    algorithm = _ALGORITHMS.get(signer.algorithm)
    if algorithm is None:
        raise InputError(
            "offline QR payloads are signed with SM2, ECDSA P-256 or Ed25519", value=signer.algorithm.name
        )
    if at is not None:
        aware(at, "at")
    signed = signed_part(claims_of(md, at), algorithm, key_id(signer.certificate))
    signature = signer.sign(signed)
    raw = signature if algorithm is QRAlgorithm.ED25519 else _to_raw(signature)
    return encode_offline(signed, raw)


def _metadata(claims: Claims) -> CoreMetadata:
    identifier = Identifier.build(claims.type_code, claims.identifier_issuer, claims.serial, claims.version)
    values = {
        "certificate_name": claims.certificate_name,
        "type_code": claims.type_code,
        "number": claims.number,
        "identifier": identifier,
        "issuer_name": claims.issuer_name,
        "issuer_code": claims.issuer_code,
        "issue_date": claims.issue_date,
        "holder_name": claims.holder_name,
        "holder_code": claims.holder_code,
        "holder_code_type_code": claims.holder_code_type_code,
        "valid_from": claims.valid_from,
        "valid_until": LONG_TERM if claims.long_term else claims.valid_until,
    }
    return CoreMetadata.from_values(values)


def verify_offline(
    payload: str,
    *,
    trust: TrustStore,
    certificates: Sequence[Certificate] = (),
    at: datetime | None = None,
    status: StatusSource | None = None,
) -> VerificationReport:
    """Verify an offline payload: grammar, signature, signer trust, identifier, validity, status."""
    when = aware_or_now(at, "at")
    if not isinstance(trust, TrustStore):
        raise InputError("trust must be a TrustStore", where="trust", value=type(trust).__name__)
    if isinstance(certificates, Certificate) or not all(isinstance(c, Certificate) for c in certificates):
        raise InputError("certificates must be a sequence of Certificate objects", where="certificates")
    report = ReportBuilder("QR code", REQUIRED_QR_CHECKS, when)
    if not isinstance(payload, str):
        report.fail("payload", f"a QR payload is text, not {type(payload).__name__}",
                    f"二维码内容应为文本，而不是 {type(payload).__name__}")
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

    algorithm = _BY_CODE[record.algorithm]
    candidates = [c for c in (*certificates, *trust.anchors) if key_id(c) == record.key_id]
    signer: Certificate | None = None
    signature = record.signature if algorithm is SignatureAlgorithm.ED25519 else _from_raw(record.signature)
    for cert in candidates:
        try:
            cert.public_key.verify(signature, record.signed_bytes, algorithm)
        except (InvalidSignature, EcertError):
            continue
        signer = cert
        break
    if signer is None:
        why = (
            "no known certificate has the payload's key id"
            if not candidates
            else "the signature does not verify"
        )
        report.fail(
            "signature_value",
            f"{why} (key id {record.key_id.hex()})",
            f"签名验证失败：{'没有与密钥标识匹配的已知证书' if not candidates else '签名值不正确'}",
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
    if result.ok:
        report.passed(
            "signer_trust",
            f"the signer certificate chains to a trust anchor and was valid when it signed "
            f"({signed_at:%Y-%m-%d %H:%M} UTC)",
            f"签名者证书可追溯到信任锚，且在签名时（{signed_at:%Y-%m-%d %H:%M} UTC）有效",
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
    summary = SignerSummary("qr", "QR", signer.subject, algorithm.name, signed_at, result.ok)
    return report.build(metadata=metadata, signers=[summary], identifier=str(metadata.identifier))


def assert_fits(payload: str, max_version: int | None = None) -> None:
    """Refuse a payload that needs a QR version above ``max_version`` (default 15) at level M."""
    from ecert.qr.image import OFFLINE_MAX_VERSION, qr_version

    max_version = OFFLINE_MAX_VERSION if max_version is None else max_version
    version = qr_version(payload)
    if version > max_version:
        raise InvalidQRPayload(
            "payload too long for the QR budget",
            value=f"version {version}",
            expected=f"version <= {max_version} at level M (spec/qr.md)",
        )
