"""Checks of one OFD signature: its value, its signer's trust, and for seals the GB/T 38540 seal.

Two kinds of signature are met in practice (GB/T 33190-2016 §18):

* ``Type="Sign"`` — ``SignedValue.dat`` is a signature over the exact bytes of
  ``Signature.xml``: either a CMS SignedData carrying the signer certificate (what ecert
  writes: GB/T 35275 for SM2, RFC 5652 otherwise) or a bare DER ``SEQUENCE{r, s}`` as ofdrw
  writes it, in which case the signer certificate must come from the caller's trust store
  (nothing in the file says who signed).
* ``Type="Seal"`` — ``SignedValue.dat`` is a GB/T 38540 ``SES_Signature`` (v4): its
  ``dataHash`` must equal the digest of ``Signature.xml`` and its signature, over the DER of
  ``TBS_Sign``, must verify with the signer certificate it embeds; the embedded seal must be
  within its validity period at the signing time.

Validity is judged at the signing time the signature claims (there is no timestamp token in
these files), so a certificate that expired after signing does not invalidate it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ecert.crypto import cms
from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.keys import PublicKey
from ecert.crypto.sm2 import DEFAULT_UID, decode_der_signature, raw_to_der
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate, load_certificate
from ecert.errors import EcertError, InvalidSignature
from ecert.ofd.signatures import SignatureInfo
from ecert.verify.content import CLOCK_SKEW
from ecert.verify.report import MissingTrust, ReportBuilder, SignerSummary

if TYPE_CHECKING:  # the seal reader is loaded when a file carries a seal (most carry a signature)
    from ecert.ofd.ses import SealInfo, SesSignature

__all__ = ["SignatureOutcome", "check_signature"]


@dataclass(frozen=True, slots=True)
class SignatureOutcome:
    """What the caller needs after the checks: who signed and when, if known."""

    summary: SignerSummary
    signer: Certificate | None
    signing_time: datetime | None
    path: tuple[Certificate, ...] = ()  # the validated path to an anchor, signer first (() if untrusted)


def _fmt(t: datetime | None) -> str:
    return t.isoformat() if t is not None else "unknown"


def check_signature(
    sig: SignatureInfo,
    *,
    trust: TrustStore,
    report: ReportBuilder,
    fallback_time: datetime,
) -> SignatureOutcome:
    """Run the value, trust and (for seals) seal checks of ``sig``, adding them to ``report``."""
    subject = f"signature {sig.id}"
    try:
        claimed_time = sig.signing_time()
    except EcertError as exc:
        claimed_time = None
        report.warn(
            "signing_time", f"signature date/time is unreadable: {exc}", f"签名时间无法解析：{exc}", subject
        )
    carried: tuple[Certificate, ...] = ()
    claims: tuple[datetime, ...] = ()
    if sig.type == "Seal" or _first_inner_tag(sig.signed_value) == 0x30:
        # tax-bureau e-invoices omit Type="Seal" although SignedValue is an SES_Signature:
        # the content decides (SES: SEQUENCE { SEQUENCE TBS_Sign ...}; CMS: SEQUENCE { OID ...})
        signer, algorithm, when = _check_seal_signature(sig, trust, report, subject, claimed_time)
    else:
        signer, algorithm, claims, carried = _check_sign(sig, trust, report, subject, claimed_time)
        when = claimed_time or (claims[-1] if claims else None)
    # every signed claim of the signing time must hold: a signer backdating SignatureDateTime into
    # its certificate's validity is caught by the CMS signingTime it also signed, and vice versa
    signed_times = _times(when, claimed_time, *claims)
    times = signed_times or (fallback_time,)
    at = times[-1]
    if at - fallback_time > CLOCK_SKEW:  # a difference: no overflow near datetime.max
        # judged at a time that has not come, a certificate could look valid that is not yet or
        # no longer so; a genuine signature cannot come from the future
        report.fail(
            "signing_time",
            f"the signature claims to be made in the future ({_fmt(at)})",
            f"签名时间在未来（{_fmt(at)}）",
            subject,
        )
    path, missing = _check_trust(signer, trust, report, subject, times, carried)
    trusted = bool(path)
    summary = SignerSummary(
        signature=str(sig.id),
        kind="Seal" if sig.type == "Seal" or _first_inner_tag(sig.signed_value) == 0x30 else "Sign",
        subject=signer.subject if signer is not None else None,
        algorithm=algorithm,
        signing_time=signed_times[0] if signed_times else None,  # the earliest claim (backdating check)
        trusted=trusted,
        missing_trust=None if missing is None else MissingTrust(str(sig.id), *missing),
    )
    return SignatureOutcome(summary, signer, when or claimed_time, path)


# --- Type="Sign" -------------------------------------------------------------------------------


def _check_sign(
    sig: SignatureInfo, trust: TrustStore, report: ReportBuilder, subject: str, claimed: datetime | None
) -> tuple[Certificate | None, str | None, tuple[datetime, ...], tuple[Certificate, ...]]:
    """(signer, algorithm name, every signed claim of the signing time, certificates the CMS carries)."""
    data, value = sig.signature_xml, sig.signed_value
    try:
        algorithm = SignatureAlgorithm.from_oid(sig.signature_method)
    except EcertError as exc:
        report.fail(
            "signature_value", f"signature method refused: {exc}", f"签名算法不被接受：{exc}", subject
        )
        return None, sig.signature_method, (), ()
    if _looks_like_cms(value):
        try:
            result = cms.verify_cms(value, data)
        except EcertError as exc:
            if "not DER" in str(exc) and not isinstance(exc, InvalidSignature):
                # the encoding was refused before any signature was computed: say so, do not
                # suggest the file was changed (README: CMS is checked only as DER)
                report.fail(
                    "signature_value",
                    f"the CMS signature over Signature.xml was not checked: its encoding is refused "
                    f"({exc}). GB/T 35275 and RFC 5652 sign the DER encoding and ecert checks only DER; "
                    "this is how the signer's software wrote it, not evidence that the file was changed",
                    f"签名值（CMS）未核验：其编码不是 DER（{exc}）。"
                    "这是签名软件的编码方式，并不表示文件被修改",
                    subject,
                )
                return None, algorithm.name, (), ()
            report.fail(
                "signature_value",
                f"CMS signature over Signature.xml does not verify: {exc}",
                f"签名值（CMS）验证失败：{exc}",
                subject,
            )
            return None, algorithm.name, (), ()
        signer = result.signer_certificate
        cms_alg = (
            SignatureAlgorithm.from_oid(result.signature_algorithm_oid)
            if _known(result.signature_algorithm_oid)
            else None
        )
        if cms_alg is not None and cms_alg is not algorithm:
            report.fail(
                "signature_value",
                f"SignatureMethod {algorithm.oid} does not match the CMS signature algorithm {cms_alg.oid}",
                f"SignatureMethod 与 CMS 签名算法不一致（{algorithm.oid} / {cms_alg.oid}）",
                subject,
            )
            return signer, algorithm.name, (), ()
        report.passed(
            "signature_value",
            f"CMS signature ({algorithm.name}) over Signature.xml verifies with the embedded "
            f"certificate of {signer.subject}",
            f"签名值（CMS，{algorithm.name}）验证通过，签名者：{signer.subject}",
            subject,
        )
        when = result.signing_time
        if when is not None and claimed is not None and abs((when - claimed).total_seconds()) > 300:
            report.warn(
                "signing_time",
                f"SignatureDateTime {_fmt(claimed)} differs from the CMS signing time {_fmt(when)}; "
                "the signer is judged at both",
                f"SignatureDateTime 与 CMS 签名时间不一致（{_fmt(claimed)} / {_fmt(when)}），"
                "签名者证书在两个时间均须有效",
                subject,
            )
        return signer, algorithm.name, _times(claimed, when), tuple(result.certificates)
    # bare DER SEQUENCE{r, s} (ofdrw), or the raw 64-byte r||s some signers write: the certificate can
    # only come from the trust store
    form = "DER"
    try:
        decode_der_signature(value)
    except EcertError as exc:
        if len(value) != 64 or algorithm is SignatureAlgorithm.ED25519:
            report.fail(
                "signature_value",
                f"SignedValue is neither CMS nor a DER signature: {exc}",
                f"签名值既不是 CMS 也不是 DER 签名：{exc}",
                subject,
            )
            return None, algorithm.name, (), ()
        form = "raw r||s"
    for cert in trust.anchors:
        if _verifies_in_form(cert.public_key, value, data, algorithm) == form:
            report.passed(
                "signature_value",
                f"signature ({algorithm.name}, {form}) over Signature.xml verifies with the trusted "
                f"certificate of {cert.subject}",
                f"签名值（{algorithm.name}，{form}）验证通过，使用受信任证书：{cert.subject}",
                subject,
            )
            return cert, algorithm.name, _times(claimed), ()
    report.fail(
        "signature_value",
        "the signature carries no certificate and no certificate in the trust store verifies it",
        "签名值未携带证书，信任库中也没有能验证它的证书",
        subject,
    )
    return None, algorithm.name, _times(claimed), ()


def _times(*claims: datetime | None) -> tuple[datetime, ...]:
    """The distinct signed claims of when a signature was made, earliest first."""
    return tuple(sorted({t for t in claims if t is not None}))


def _known(oid: str) -> bool:
    try:
        SignatureAlgorithm.from_oid(oid)
    except EcertError:
        return False
    return True


def _first_inner_tag(value: bytes) -> int | None:
    """The tag of the first element inside a DER SEQUENCE (None when ``value`` is no SEQUENCE)."""
    if len(value) < 4 or value[0] != 0x30:
        return None
    i = 2 if value[1] < 0x80 else 2 + (value[1] & 0x7F)
    return value[i] if i < len(value) else None


def _looks_like_cms(value: bytes) -> bool:
    """A ContentInfo starts with SEQUENCE { OID ...; a bare signature with SEQUENCE { INTEGER."""
    return _first_inner_tag(value) == 0x06


def _verifies(key: PublicKey, signature: bytes, data: bytes, algorithm: SignatureAlgorithm) -> bool:
    try:
        key.verify(signature, data, algorithm, uid=DEFAULT_UID)
    except (InvalidSignature, EcertError):
        return False
    return True


def _verifies_in_form(
    key: PublicKey, signature: bytes, data: bytes, algorithm: SignatureAlgorithm
) -> str | None:
    """The form in which an SM2 (or ECDSA) signature of a seal verifies: ``"DER"``, or ``"raw r||s"``
    for the 64 bytes some seal makers and signers write (Koal, Suwell, oesplugin); None when it
    does not verify in either.  The two forms hold the same two numbers: reading both adds no
    second meaning to any signature."""
    if _verifies(key, signature, data, algorithm):
        return "DER"
    # any 64 bytes, even starting 0x30: an r whose first byte is 0x30 (1 in 256) is not DER, and DER was
    # tried first, so the raw reading can only accept a signature the key made
    if algorithm is not SignatureAlgorithm.ED25519 and len(signature) == 64:
        try:
            der = raw_to_der(signature)
        except EcertError:
            return None
        if _verifies(key, der, data, algorithm):
            return "raw r||s"
    return None


# --- Type="Seal" -------------------------------------------------------------------------------


def _check_seal_signature(
    sig: SignatureInfo, trust: TrustStore, report: ReportBuilder, subject: str, claimed: datetime | None
) -> tuple[Certificate | None, str | None, datetime | None]:
    from ecert.ofd.ses import SesSignature

    try:
        ses = SesSignature.parse(sig.signed_value)
    except EcertError as exc:
        report.fail(
            "signature_value",
            f"SignedValue is not an electronic seal signature (GB/T 38540 or GM/T 0031): {exc}",
            f"签名值不是电子签章数据（GB/T 38540 或 GM/T 0031）：{exc}",
            subject,
        )
        report.fail("seal", "the electronic seal cannot be read", "电子印章无法读取", subject)
        return None, None, None
    when = ses.time_info or claimed
    try:
        digest = sig.digest_algorithm()
        expected_hash = digest.digest(sig.signature_xml)
    except EcertError as exc:
        report.fail(
            "signature_value", f"digest algorithm refused: {exc}", f"摘要算法不被接受：{exc}", subject
        )
        return None, None, when
    signer: Certificate | None = None
    algorithm: SignatureAlgorithm | None = None
    try:
        signer = load_certificate(ses.signer_cert_der)
        algorithm = SignatureAlgorithm.from_oid(ses.signature_alg_oid)
    except EcertError as exc:
        report.fail(
            "signature_value",
            f"the seal signature's certificate or algorithm is unusable: {exc}",
            f"签章者证书或签名算法不可用：{exc}",
            subject,
        )
    kind = f"SES_Signature v{ses.version} ({ses.layout} structure)"
    notes = "".join(f"; {n}" for n in ses.notes)
    if signer is not None and algorithm is not None:
        form = _verifies_in_form(signer.public_key, ses.signature, ses.tbs_der, algorithm)
        if ses.data_hash != expected_hash:
            report.fail(
                "signature_value",
                f"{kind}: the seal's dataHash is not the digest of Signature.xml"
                f" (the signature over TBS_Sign {'verifies' if form else 'does not verify either'})",
                "签章数据中的 dataHash 与 Signature.xml 的摘要不一致",
                subject,
            )
        elif form is None:
            report.fail(
                "signature_value",
                f"{kind}: the seal signature over TBS_Sign does not verify",
                "电子签章签名值（TBS_Sign）验证失败",
                subject,
            )
        else:
            report.passed(
                "signature_value",
                f"{kind}: dataHash matches Signature.xml and the signature ({form}) "
                f"verifies with the embedded certificate of {signer.subject}{notes}",
                f"电子签章（v{ses.version}，{ses.layout}）数据摘要一致，签名值（{form}）验证通过，"
                f"签章者：{signer.subject}",
                subject,
            )
    if ses.seal is None:
        report.fail(
            "seal",
            f"seal unusable: {ses.seal_problem} (the signer's signature was checked on its own)",
            f"印章不可用：{ses.seal_problem}（签章者签名已单独核验）",
            subject,
        )
    else:
        _check_seal(ses, ses.seal, signer, trust, report, subject, _times(when, claimed))
    return signer, algorithm.name if algorithm else None, when


def _check_seal(
    ses: SesSignature,
    seal: SealInfo,
    signer: Certificate | None,
    trust: TrustStore,
    report: ReportBuilder,
    subject: str,
    times: tuple[datetime, ...],
) -> None:
    """The seal itself: made (signed) by its maker, lent to this signer, valid when used.

    Its name, owner and validity dates mean something only under the maker's signature, and it
    may be used only by the certificates it lists (certList).  It must be valid at every
    signed claim of the signing time (TBS_Sign timeInfo and SignatureDateTime), as the signer
    certificate must: a signer back-dating one of them into the seal's validity is caught by the other."""
    from ecert.ofd.ses import CERT_DIGEST_LIST, CERT_LIST

    name = seal.name or seal.es_id
    maker = _seal_maker(seal, report, subject, name)
    if maker is None:
        return
    if seal.cert_list_type not in (CERT_LIST, CERT_DIGEST_LIST):
        report.fail(
            "seal",
            f"seal unusable: {name!r} has certListType {seal.cert_list_type}, outside GB/T 38540 "
            "(1 certificates, 2 digests): who may use it cannot be read",
            f"印章不可用：印章“{name}”的证书列表类型为 {seal.cert_list_type}，不符合 GB/T 38540（1 或 2）",
            subject,
        )
        return
    if not _seal_lists(seal, signer):
        report.fail(
            "seal",
            f"seal {name!r} does not list the signer's certificate among those allowed to use it",
            f"印章“{name}”的证书列表中没有签章者证书，签章者无权使用该印章",
            subject,
        )
        return
    made_by_trusted = trust.validate(maker, at=ses.time_info or times[-1]).ok if times else False
    if not made_by_trusted:
        report.warn(
            "seal_maker",
            f"seal {name!r} was made by {maker.subject}, whose certificate does not chain to the trust "
            "store: its name and dates are vouched for by the signer's trust alone",
            f"印章“{name}”的制章者（{maker.subject}）证书不能追溯到信任锚，印章名称和有效期仅由签章者信任担保",
            subject,
        )
    if not times:
        report.fail(
            "seal",
            f"seal {name!r}: the signing time is unknown, so its validity cannot be judged",
            f"印章“{name}”：签章时间未知，无法判断印章有效期",
            subject,
        )
        return
    outside = [t for t in times if not seal.valid_start <= t <= seal.valid_end]
    if outside:
        when = outside[0]
        report.fail(
            "seal",
            f"seal {name!r} was not valid at signing time {_fmt(when)} (valid {_fmt(seal.valid_start)} "
            f"to {_fmt(seal.valid_end)}): the seal had expired or was not yet valid",
            f"印章“{name}”在签章时间 {_fmt(when)} 不在有效期内（{_fmt(seal.valid_start)} 至 "
            f"{_fmt(seal.valid_end)}）：印章已过期或尚未生效",
            subject,
        )
        return
    shown = " and ".join(_fmt(t) for t in times)
    report.passed(
        "seal",
        f"seal {name!r} was valid at signing time {shown}",
        f"印章“{name}”在签章时间 {shown} 有效",
        subject,
    )


def _seal_maker(seal: SealInfo, report: ReportBuilder, subject: str, name: str) -> Certificate | None:
    """The maker's certificate when its signature over SES_SealInfo verifies; else fail ``seal``."""
    try:
        maker = load_certificate(seal.maker_cert_der)
        algorithm = SignatureAlgorithm.from_oid(seal.sign_alg_oid)
    except EcertError as exc:
        report.fail(
            "seal", f"seal {name!r}: the maker's certificate or algorithm is unusable: {exc}",
            f"印章“{name}”：制章者证书或签名算法不可用：{exc}", subject,
        )
        return None
    if _verifies_in_form(maker.public_key, seal.signed_value, seal.seal_tbs_der, algorithm) is None:
        report.fail(
            "seal",
            f"seal {name!r}: the maker's signature over the seal does not verify (the seal was altered "
            "or made by someone else)",
            f"印章“{name}”：制章者对印章的签名验证失败（印章被篡改或并非该制章者所制）",
            subject,
        )
        return None
    return maker


def _seal_lists(seal: SealInfo, signer: Certificate | None) -> bool:
    """Whether the seal's certList names ``signer`` (type 1: certificates; type 2: their digests)."""
    from ecert.ofd.ses import CERT_DIGEST_LIST, CERT_LIST

    if signer is None:
        return False
    if seal.cert_list_type == CERT_LIST:
        return signer.der in seal.certs
    if seal.cert_list_type == CERT_DIGEST_LIST:
        for digest_type, value in seal.cert_digests:
            try:
                if DigestAlgorithm.from_name(digest_type).digest(signer.der) == value:
                    return True
            except EcertError:
                continue  # an unknown or weak digest type names nobody
    return False


# --- trust ---------------------------------------------------------------------------------------


def _check_trust(
    signer: Certificate | None,
    trust: TrustStore,
    report: ReportBuilder,
    subject: str,
    times: tuple[datetime, ...],
    carried: tuple[Certificate, ...] = (),
) -> tuple[tuple[Certificate, ...], tuple[str, str, str] | None]:
    """(the validated path, signer first, when the signer is trusted at every time, else ();
    (subject, issuer, fingerprint) when it cannot be checked here for want of a trust anchor)."""
    if signer is None:
        report.fail(
            "signer_trust", "no signer certificate could be established", "无法确定签名者证书", subject
        )
        return (), None
    for at in times:
        result = trust.validate(signer, at=at, intermediates=carried)  # CMS may carry intermediate CAs
        if not result.ok:
            break
    else:
        shown = " and ".join(_fmt(t) for t in times)
        report.passed(
            "signer_trust",
            f"the certificate of {signer.subject} chains to a trust anchor and was valid at {shown}",
            f"签名者证书（{signer.subject}）可追溯到信任锚，且在 {shown} 有效",
            subject,
        )
        return result.chain, None
    failed = [s for s in result.steps if not s.ok]
    if [s.name for s in failed] == ["build"]:
        missing = MissingTrust(subject, signer.subject, signer.issuer, signer.fingerprint_sha256())
        report.fail(
            "signer_trust",
            f"cannot be checked here: the certificate of {signer.subject} (issued by {signer.issuer}) "
            f"chains to no certificate of the trust store ({failed[0].message}). This is not evidence "
            f"of forgery: {missing.advice}",
            f"此处无法核验：签名者证书（{signer.subject}，签发者 {signer.issuer}）不能追溯到信任库中的证书。"
            f"这并不表示伪造：{missing.advice_zh}",
            subject,
        )
        return (), (signer.subject, signer.issuer, signer.fingerprint_sha256())
    reasons = "; ".join(f"{s.name}: {s.message}" for s in failed) or "path validation failed"
    expired = any(s.name == "validity" for s in failed)
    en = f"the certificate of {signer.subject} is not trusted at {_fmt(at)}: {reasons}"
    if expired:
        en += " (the certificate had expired or was not yet valid at signing time)"
    report.fail(
        "signer_trust", en, f"签名者证书（{signer.subject}）在 {_fmt(at)} 不受信任：{reasons}", subject
    )
    return (), None
