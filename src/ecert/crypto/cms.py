"""CMS SignedData for OFD ``SignedValue.dat``: GB/T 35275 for SM2, RFC 5652 otherwise.

A detached SignedData with one SignerInfo and the signer certificate.  Signed attributes
(contentType, signingTime, messageDigest) are signed, as RFC 5652 §5.4 describes.  Reading is
strict: exactly one signer, every carried certificate is the signer's, the digest algorithm list
names the signer's digest, no unsigned attributes — so no byte of the structure can change
without verification failing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509

from ecert.crypto import oids
from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.signer import Signer
from ecert.crypto.sm2 import DEFAULT_UID
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidSignature

__all__ = ["CmsVerification", "sign_cms", "verify_cms"]


def _register() -> None:
    """Teach asn1crypto the GB/T 35275 content types and the SM2/SM3 algorithm OIDs (idempotent)."""
    cms.ContentType._map.setdefault(oids.GM_SIGNED_DATA, "gm_signed_data")
    cms.ContentType._map.setdefault(oids.GM_DATA, "gm_data")
    cms.ContentInfo._oid_specs.setdefault("gm_signed_data", cms.SignedData)
    for cls in (cms.ContentType,):
        cls._reverse_map = None
    algos.DigestAlgorithmId._map.setdefault(oids.SM3, "sm3")
    algos.DigestAlgorithmId._reverse_map = None
    algos.SignedDigestAlgorithmId._map.setdefault(oids.SM3_WITH_SM2, "sm3_sm2")
    algos.SignedDigestAlgorithmId._map.setdefault(oids.SM2_SIGNATURE, "sm2sign")
    algos.SignedDigestAlgorithmId._reverse_map = None


_register()


@dataclass(frozen=True, slots=True)
class CmsVerification:
    signer_certificate: Certificate
    signing_time: datetime | None
    signature_algorithm_oid: str
    digest_algorithm: DigestAlgorithm


def _digest_for(algorithm: SignatureAlgorithm) -> DigestAlgorithm:
    return algorithm.digest or DigestAlgorithm.SHA512  # Ed25519 in CMS: SHA-512 (RFC 8419)


def sign_cms(
    data: bytes, signer: Signer, *, detached: bool = True, signing_time: datetime | None = None
) -> bytes:
    """A DER ContentInfo(SignedData) over ``data``, carrying the signer certificate."""
    algorithm = signer.algorithm
    gm = algorithm is SignatureAlgorithm.SM2_SM3
    digest = _digest_for(algorithm)
    content_type = oids.GM_DATA if gm else oids.PKCS7_DATA
    when = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    signed_attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": [cms.ContentType(content_type)]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": when})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [digest.digest(data)]}),
        ]
    )
    signature = signer.sign(signed_attrs.dump())
    sig_alg_oid = oids.SM2_SIGNATURE if gm else algorithm.oid
    cert = asn1_x509.Certificate.load(signer.certificate.der)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                "issuer_and_serial_number",
                cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number}),
            ),
            "digest_algorithm": {"algorithm": digest.oid},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": sig_alg_oid},
            "signature": signature,
        }
    )
    encap: dict[str, object] = {"content_type": content_type}
    if not detached:
        encap["content"] = core.OctetString(data)
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest.oid}],
            "encap_content_info": encap,
            "certificates": [cert],
            "signer_infos": [signer_info],
        }
    )
    info = cms.ContentInfo(
        {"content_type": oids.GM_SIGNED_DATA if gm else oids.PKCS7_SIGNED_DATA, "content": signed}
    )
    return bytes(info.dump())


def _fail(message: str) -> InvalidSignature:
    return InvalidSignature(f"CMS: {message}")


def verify_cms(
    der: bytes, data: bytes | None = None, *, certificate: Certificate | None = None, uid: bytes = DEFAULT_UID
) -> CmsVerification:
    """Verify a detached CMS signature over ``data``; raises :class:`InvalidSignature` naming the flaw."""
    try:
        info = cms.ContentInfo.load(der, strict=True)
        ctype = info["content_type"].dotted
        if ctype not in (oids.PKCS7_SIGNED_DATA, oids.GM_SIGNED_DATA):
            raise _fail(f"content type {ctype} is not SignedData")
        signed = info["content"]
        _ = signed.native  # force full parsing inside the guard
        if cms.ContentInfo.load(der).dump(force=True) != der:
            raise _fail("not DER-encoded (non-minimal lengths or other BER forms)")
        version = signed["version"].native
        signer_infos = list(signed["signer_infos"])
        certs_der = [c.chosen.dump() for c in signed["certificates"]] if signed["certificates"].native else []
        digest_algs = [a["algorithm"].dotted for a in signed["digest_algorithms"]]
        encap = signed["encap_content_info"]
        econtent = encap["content"].native
        econtent_type = encap["content_type"].dotted
    except EcertError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise InputError(f"malformed CMS SignedData ({exc})") from None
    if version not in ("v1", 1):
        raise _fail(f"unexpected SignedData version {version}")
    if len(signer_infos) != 1:
        raise _fail(f"exactly one signer expected, found {len(signer_infos)}")
    si = signer_infos[0]
    try:
        digest = DigestAlgorithm.from_name(si["digest_algorithm"]["algorithm"].dotted)
        sig_oid = si["signature_algorithm"]["algorithm"].dotted
        algorithm = SignatureAlgorithm.from_oid(sig_oid)
        attrs = si["signed_attrs"]
        if not attrs.native:
            raise _fail("no signed attributes")
        attrs_der = b"\x31" + attrs.dump()[1:]  # RFC 5652 §5.4: signed as an explicit SET OF
        values = {a["type"].dotted: a["values"] for a in attrs}
        sid = si["sid"]
        si_version = si["version"].native
        unsigned = si["unsigned_attrs"].native
        signature = bytes(si["signature"].native)
    except EcertError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"malformed CMS SignerInfo ({exc})") from None
    expected_version = "v1" if sid.name == "issuer_and_serial_number" else "v3"
    if si_version != expected_version:
        raise _fail(f"SignerInfo version {si_version} does not fit its signer identifier (RFC 5652 §5.3)")
    if digest_algs != [digest.oid]:
        raise _fail("digestAlgorithms does not name exactly the signer's digest algorithm")
    if unsigned:
        raise _fail("unsigned attributes are not accepted")
    if econtent is not None and data is not None and econtent != data:
        raise _fail("encapsulated content differs from the signed file")
    signed_data = data if data is not None else econtent
    if signed_data is None:
        raise _fail("detached signature but no data to check it against")
    for needed in (oids.ATTR_CONTENT_TYPE, oids.ATTR_MESSAGE_DIGEST):
        if needed not in values or len(values[needed]) != 1:
            raise _fail(f"signed attribute {needed} missing or repeated")
    if values[oids.ATTR_CONTENT_TYPE][0].dotted != econtent_type:
        raise _fail("contentType attribute does not match the encapsulated content type")
    if not hmac.compare_digest(bytes(values[oids.ATTR_MESSAGE_DIGEST][0].native), digest.digest(signed_data)):
        raise _fail("messageDigest does not match the signed data")
    signing_time = None
    if oids.ATTR_SIGNING_TIME in values:
        signing_time = values[oids.ATTR_SIGNING_TIME][0].native
    carried = [Certificate.from_der(bytes(c)) for c in certs_der]
    signer_cert = _match_signer(sid, carried, certificate)
    if any(c.der != signer_cert.der for c in carried):
        raise _fail("carries certificates other than the signer's")
    if algorithm.key_kind is not signer_cert.public_key.kind:
        raise _fail(f"signature algorithm {sig_oid} does not fit the signer's key")
    try:
        signer_cert.public_key.verify(signature, attrs_der, algorithm, uid=uid)
    except InvalidSignature:
        raise _fail(
            f"signature over the signed attributes does not verify with {signer_cert.subject}"
        ) from None
    return CmsVerification(signer_cert, signing_time, algorithm.oid, digest)


def _match_signer(
    sid: cms.SignerIdentifier, carried: list[Certificate], given: Certificate | None
) -> Certificate:
    candidates = carried + ([given] if given is not None else [])
    if not candidates:
        raise _fail("no signer certificate carried or given")
    for cert in candidates:
        parsed = asn1_x509.Certificate.load(cert.der)
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if (
                ias["serial_number"].native == parsed.serial_number
                and ias["issuer"].dump() == parsed.issuer.dump()
            ):
                return cert
        elif sid.name == "subject_key_identifier" and cert.subject_key_id == sid.chosen.native:
            return cert
    raise _fail("no certificate matches the signer identifier")
