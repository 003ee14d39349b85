"""Checks of what a certificate file says: metadata, identifier, validity period, status.

These run on signed content only: the metadata attachment is read after its digest was
checked against a signature's References, and ``report.metadata`` is what that attachment
says, never what unsigned parts of the package (or a caller) claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ecert.crypto.authority import personal_reason
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError
from ecert.metadata import CoreMetadata, elements
from ecert.metadata.document import ATTACHMENT_NAME, parse_certificate_xml
from ecert.metadata.model import element_texts
from ecert.times import china_date
from ecert.verify.report import ReportBuilder
from ecert.verify.status import StatusSource

__all__ = [
    "ATTACHMENT_NAME",
    "CLOCK_SKEW",
    "check_issuer_binding",
    "check_metadata",
    "check_signing_time",
    "check_status",
    "check_validity_period",
]

def check_metadata(
    attachment: bytes, custom_datas: dict[str, str], report: ReportBuilder
) -> CoreMetadata | None:
    """The certificate XML must be schema-valid and agree with ``DocInfo/CustomDatas``."""
    try:
        metadata, _items = parse_certificate_xml(attachment)
    except EcertError as exc:
        report.fail(
            "metadata",
            f"the embedded certificate metadata is not valid: {exc}",
            f"内嵌的证照元数据无效：{exc}",
        )
        return None
    shown = element_texts(metadata)
    mismatched = sorted(k for k, v in shown.items() if k in custom_datas and custom_datas[k] != v)
    missing = sorted(k for k in shown if k not in custom_datas)
    if mismatched or missing:
        detail = "; ".join(
            [f"{k}: CustomData {custom_datas[k]!r} != metadata {shown[k]!r}" for k in mismatched]
            + [f"{k}: missing from CustomDatas" for k in missing]
        )
        report.fail(
            "metadata",
            f"DocInfo/CustomDatas disagree with the embedded metadata: {detail}",
            f"文档元数据（CustomDatas）与内嵌证照元数据不一致：{detail}",
        )
        return None
    report.passed(
        "metadata",
        "the embedded metadata is valid against spec/certificate.xsd and equals DocInfo/CustomDatas",
        "内嵌证照元数据符合 spec/certificate.xsd，且与文档元数据（CustomDatas）一致",
    )
    identifier = metadata.identifier
    if identifier.check_ok:
        report.passed(
            "identifier",
            f"identifier {identifier} has the right check character",
            f"证照标识 {identifier} 校验位正确",
        )
    else:
        report.fail(
            "identifier",
            f"identifier {identifier} has check character {identifier.check!r}, "
            f"expected {identifier.expected_check!r}",
            f"证照标识 {identifier} 校验位为 {identifier.check!r}，应为 {identifier.expected_check!r}",
        )
    return metadata


CLOCK_SKEW = timedelta(minutes=10)  # how far a claimed signing time may lie after the verification time


def check_validity_period(metadata: CoreMetadata, at: datetime, report: ReportBuilder) -> None:
    """The certificate's own validity period (有效期) at the verification time.

    Its dates are days of the Chinese calendar (UTC+8): the instant ``at`` is read there, so the
    verdict does not depend on the time zone the caller wrote it in."""
    day = china_date(at)
    start, end = metadata.valid_from, metadata.valid_until
    if start is not None and day < start:
        report.fail(
            "validity_period",
            f"the certificate is not yet valid on {day} (valid from {start})",
            f"证照在 {day} 尚未生效（有效期自 {start} 起）",
        )
    elif metadata.long_term:
        report.passed("validity_period", "the certificate is valid long-term (长期)", "证照长期有效")
    elif end is not None and day > end:
        report.fail(
            "validity_period",
            f"the certificate expired on {end} (checked on {day})",
            f"证照已于 {end} 过期（核验日期 {day}）",
        )
    elif end is None:
        report.warn(
            "validity_period", "the certificate states no end of validity", "证照未载明有效期截止日期"
        )
    else:
        report.passed(
            "validity_period",
            f"the certificate is valid on {day} (until {end})",
            f"证照在 {day} 有效（至 {end}）",
        )


def check_signing_time(
    metadata: CoreMetadata, signing_time: datetime | None, report: ReportBuilder, subject: str | None = None
) -> None:
    """A certificate is signed on or after its issue date (发证日期, Chinese calendar).  A signature
    dated earlier is backdated: the usual way to use a signer certificate after it expired."""
    if signing_time is None:
        return
    day = china_date(signing_time)
    if day < metadata.issue_date:
        report.fail(
            "signing_time",
            f"signed on {day}, before the certificate's issue date {metadata.issue_date} (backdated?)",
            f"签名日期 {day} 早于证照发证日期 {metadata.issue_date}（签名时间可能被倒签）",
            subject,
        )
    else:
        report.passed(
            "signing_time",
            f"signed on {day}, on or after the issue date {metadata.issue_date}",
            f"签名日期 {day} 不早于发证日期 {metadata.issue_date}",
            subject,
        )


_VALIDITY_DATES = frozenset({"valid_from", "valid_until"})  # optional, and both forms (file, QR) carry them


def check_status(
    metadata: CoreMetadata, status: StatusSource | None, report: ReportBuilder, at: datetime | None = None
) -> None:
    """Status (valid, suspended, revoked, cancelled, replaced) from the caller's status source, which
    must be able to answer for the verification time ``at`` (a status list past its next update cannot)."""
    identifier = str(metadata.identifier)
    if status is None:
        report.skip(
            "status",
            "no status source was given; revocation was not checked",
            "未提供状态来源，未核查吊销/注销状态",
        )
        return
    scope = status.issuer_codes
    issuer = metadata.issuer_code
    if scope and issuer not in scope:
        report.fail(
            "status",
            f"the status source ({status.describe()}) speaks for {', '.join(sorted(scope))}, "
            f"not for certificates issued by {issuer}",
            f"状态来源（{status.describe()}）仅适用于 {'、'.join(sorted(scope))} 签发的证照，"
            f"不适用于 {issuer} 签发的证照",
        )
        return
    stale_reason = getattr(status, "stale_reason", None)  # optional: sources dated like a status list
    stale = stale_reason(at) if at is not None and callable(stale_reason) else None
    if stale:
        report.fail(
            "status",
            f"the status source ({status.describe()}) cannot answer for {at:%Y-%m-%d %H:%M %Z}: {stale}",
            f"状态来源（{status.describe()}）已过期，不能说明 {at:%Y-%m-%d %H:%M %Z} 时的状态：{stale}",
        )
        return
    try:
        entry = status.status_of(identifier)
    except EcertError as exc:
        report.fail("status", f"the status source failed: {exc}", f"状态来源查询失败：{exc}")
        return
    if entry is None:
        if status.knows_every_certificate:
            report.fail(
                "status",
                f"the status source ({status.describe()}) does not know this certificate",
                f"状态来源（{status.describe()}）中没有该证照",
            )
        elif scope is not None and not scope:
            report.warn(
                "status",
                f"not listed by {status.describe()}, but its signer names no organisation code: "
                f"check that it speaks for {issuer}",
                f"未在 {status.describe()} 中列出，但其签名者证书未载明机构代码，请确认该清单适用于 {issuer}",
            )
        else:
            report.passed(
                "status",
                f"not listed as suspended, revoked or cancelled by {status.describe()}",
                f"未在 {status.describe()} 中列为暂扣、吊销或注销",
            )
        return
    recorded = status.recorded_metadata(identifier)
    if recorded is not None:
        recorded_elements = elements(recorded)
        issued = {e.key: e.text for e in recorded_elements}
        shown = {e.key: e.text for e in elements(metadata)}
        # every element shown here must be what was recorded (a QR payload shows only some of them),
        # and a recorded validity date may not be left out: its absence loosens the validity check
        left_out = {e.key for e in recorded_elements if e.attr in _VALIDITY_DATES and e.key not in shown}
        differing = sorted(k for k in (*shown, *left_out) if issued.get(k) != shown.get(k))
        if differing:
            detail = "; ".join(
                f"{k}: recorded {issued.get(k)!r}, here {shown.get(k)!r}" for k in differing[:5]
            )
            report.fail(
                "status",
                f"{status.describe()} recorded other content under this identifier ({detail}): "
                "this is not the certificate that was issued",
                f"{status.describe()} 中该证照标识登记的内容与本证照不同（{detail}），并非所签发的证照",
            )
            return
    if entry.is_valid:
        report.passed(
            "status",
            f"status is valid according to {status.describe()}",
            f"据 {status.describe()}，证照状态为有效",
        )
        return
    reason = f": {entry.reason}" if entry.reason else ""
    report.fail(
        "status",
        f"the certificate is {entry.status_name} since {entry.changed_at:%Y-%m-%d}{reason}",
        f"证照已{entry.status_name_zh}（{entry.changed_at:%Y-%m-%d}）{reason.replace(': ', '：')}",
    )


def check_issuer_binding(
    metadata: CoreMetadata,
    signers: Sequence[tuple[Certificate, tuple[Certificate, ...]]],
    report: ReportBuilder,
    trust: TrustStore,
) -> None:
    """A signer whose signature protects the metadata must be authorised for the certificate's
    issuer code (:mod:`ecert.crypto.authority`): its certificate names the code
    (organizationIdentifier, compared exactly), or an authorisation of the trust store grants it
    to the signer or a CA on its validated path; and it is no personal certificate.  Anything
    else fails: a root that vouches for a certificate says who signed, not for whom it may issue.

    ``signers`` are (certificate, validated path signer first, () when untrusted)."""
    issuer = metadata.issuer_code
    if not signers:  # the signature checks failed already: nothing to bind (ok is false anyway)
        report.skip(
            "issuer_binding",
            f"no verified signer certificate protects the metadata, so none can be authorised for {issuer}",
            f"没有经验证的签名者证书保护证照元数据，无法确认其有权代表 {issuer} 签发",
        )
        return
    problems: list[str] = []
    for cert, path in signers:
        personal = personal_reason(cert)
        if personal is not None:
            problems.append(f"{cert.subject}: {personal}")
            continue
        named = cert.organization_codes()
        if issuer in named:
            report.passed(
                "issuer_binding",
                f"the signer certificate belongs to the issuing authority {issuer}",
                f"签名者证书属于证照颁发机构（{issuer}）",
            )
            return
        if issuer in trust.authorised_codes(path or (cert,)):
            report.passed(
                "issuer_binding",
                f"the trust store authorises {cert.subject} to sign for the issuing authority {issuer}",
                f"信任库授权签名者（{cert.subject}）代表证照颁发机构（{issuer}）签发",
            )
            return
        if named:
            problems.append(f"{cert.subject} belongs to {', '.join(sorted(named))}")
        else:
            problems.append(
                f"{cert.subject} names no organisation code and no authorisation of the trust store "
                "grants it this one"
            )
    detail = "; ".join(problems)
    report.fail(
        "issuer_binding",
        f"the certificate names issuer {metadata.issuer_name} ({issuer}) but no signer is authorised "
        f"to sign for it: {detail} (a signer may sign for the code its certificate names or one an "
        "authorisation of the trust store grants, spec/trust-authorisations.md)",
        f"证照颁发机构为 {metadata.issuer_name}（{issuer}），但没有签名者有权代表其签发：{detail}"
        "（签名者证书须载明该机构代码，或由信任库授权）",
    )
