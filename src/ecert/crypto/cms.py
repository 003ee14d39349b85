"""CMS SignedData for OFD ``SignedValue.dat``: GB/T 35275 for SM2, RFC 5652 otherwise.

One SignerInfo, identified by issuerAndSerialNumber, with the signed attributes contentType,
signingTime and messageDigest (RFC 5652 §5.3-5.4), the signer certificate and its chain.

* SM2 (GB/T 35275-2017 / GM/T 0010): ContentInfo type ``signedData`` 1.2.156.10197.6.1.4.2.2,
  encapsulated ``data`` 1.2.156.10197.6.1.4.2.1, digestAlgorithm SM3 1.2.156.10197.1.401 and
  signatureAlgorithm ``sm2-1`` 1.2.156.10197.1.301.1, the identifier the standard names for
  ``digestEncryptionAlgorithm`` and that ofdrw writes (GmSSL 3 writes SM3withSM2
  1.2.156.10197.1.501 instead; both are read).  ``gm_oids=False`` gives the RFC 5652 form with the
  PKCS #7 content types and SM3withSM2, the form OpenSSL knows.  SM2 signatures use the user ID
  ``1234567812345678`` (GM/T 0009) unless told otherwise.
* ECDSA P-256: RFC 5753 (ecdsa-with-SHA256 over the signed attributes); Ed25519: RFC 8419
  (digestAlgorithm SHA-512, PureEdDSA over the signed attributes).

Reading (:func:`parse_cms`, strict DER) is :mod:`ecert.crypto.cms_parse` and writing
(:func:`sign_cms`) :mod:`ecert.crypto.cms_sign`; both are re-exported here.  This module verifies:
:func:`verify_cms` checks a parsed SignedData against its data and signer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ecert.crypto import oids
from ecert.crypto.algorithms import PssParameters, SignatureAlgorithm
from ecert.crypto.cms_fields import cms_digest_algorithm
from ecert.crypto.cms_parse import DATA_CONTENT_TYPES, CmsSignedData, parse_cms
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.sm2 import DEFAULT_UID
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidSignature

if TYPE_CHECKING:
    from ecert.crypto.cms_sign import sign_cms as sign_cms

__all__ = ["CmsSignedData", "CmsVerification", "parse_cms", "sign_cms", "verify_cms"]


def __getattr__(name: str) -> object:
    """``sign_cms`` is imported on first use: a verifying process loads no CMS writer and no signer."""
    if name == "sign_cms":
        from ecert.crypto.cms_sign import sign_cms

        return sign_cms
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- values --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CmsVerification:
    """What a verified CMS signature establishes (everything here is covered by the signature,
    except ``certificates``, which are carried alongside for path building)."""

    signer_certificate: Certificate
    signing_time: datetime | None
    signature_algorithm_oid: str  # normalised: SM2 is always SM3withSM2 1.2.156.10197.1.501
    digest_algorithm: DigestAlgorithm
    certificates: tuple[Certificate, ...] = field(repr=False)
    gm_oids: bool
    content: bytes = field(repr=False)


# --- verification --------------------------------------------------------------------------------


def _fail(message: str) -> InvalidSignature:
    return InvalidSignature(f"CMS: {message}")


_KEY_OID_ALGORITHMS = {  # signatureAlgorithm given as a key algorithm: the digest decides
    (oids.RSA_ENCRYPTION, DigestAlgorithm.SHA256): SignatureAlgorithm.RSA_PKCS1_SHA256,
    (oids.RSA_ENCRYPTION, DigestAlgorithm.SHA384): SignatureAlgorithm.RSA_PKCS1_SHA384,
    (oids.RSA_ENCRYPTION, DigestAlgorithm.SHA512): SignatureAlgorithm.RSA_PKCS1_SHA512,
    (oids.EC_PUBLIC_KEY, DigestAlgorithm.SHA256): SignatureAlgorithm.ECDSA_SHA256,
    (oids.EC_PUBLIC_KEY, DigestAlgorithm.SHA384): SignatureAlgorithm.ECDSA_SHA384,
    (oids.EC_PUBLIC_KEY, DigestAlgorithm.SM3): SignatureAlgorithm.SM2_SM3,
    (oids.SM2_CURVE, DigestAlgorithm.SM3): SignatureAlgorithm.SM2_SM3,
}


def _signature_algorithm(sig_oid: str, digest: DigestAlgorithm) -> SignatureAlgorithm:
    """The algorithm a SignerInfo names, checked against its digestAlgorithm."""
    by_key = _KEY_OID_ALGORITHMS.get((sig_oid, digest))
    if by_key is not None:
        return by_key
    algorithm = SignatureAlgorithm.from_oid(sig_oid)
    expected = cms_digest_algorithm(algorithm)
    if algorithm is not SignatureAlgorithm.RSA_PSS and expected is not digest:
        raise _fail(
            f"signature algorithm {sig_oid} hashes with {expected.name}, "
            f"but the digestAlgorithm is {digest.name}"
        )
    return algorithm


def _choose_signer(parsed: CmsSignedData, given: Certificate | None) -> Certificate:
    if given is not None:
        if not isinstance(given, Certificate):
            kind = type(given).__name__
            raise InputError("certificate must be a Certificate", where="certificate", value=kind)
        if not parsed.names(given):
            raise _fail(f"the certificate given ({given.subject}) is not the one the SignerInfo names")
        return given
    if parsed.signer_certificate is None:
        if parsed.certificates:
            raise _fail("no carried certificate matches the signer identifier")
        raise _fail("no signer certificate carried, and none given")
    return parsed.signer_certificate


def _issues(issuer: Certificate, cert: Certificate) -> bool:
    if cert.issuer_der != issuer.subject_der:
        return False
    try:
        cert.verify_issued_by(issuer)
    except EcertError:
        return False
    return True


def _check_carried_chain(carried: tuple[Certificate, ...], signer: Certificate) -> None:
    """Every carried certificate must be the signer's or an issuer above it, signatures checked.

    The certificate set is outside the signature, so an unused or unchecked certificate there could
    be altered or added unnoticed; requiring each one to link into the signer's chain (and a
    self-issued top to verify its own signature) means no carried byte can change silently.
    """
    remaining = [c for c in carried if c.der != signer.der]
    current = signer
    while remaining:
        issuer = next((c for c in remaining if _issues(c, current)), None)
        if issuer is None:
            break
        remaining.remove(issuer)
        current = issuer
    if remaining:
        names = "; ".join(c.subject for c in remaining)
        raise _fail(f"carries certificates outside the signer's chain (or with broken signatures): {names}")
    if current is not signer and current.subject_der == current.issuer_der and not _issues(current, current):
        raise _fail(f"the self-signed certificate {current.subject} carried in the chain does not verify")


def verify_cms(
    der: bytes,
    data: bytes | None = None,
    *,
    certificate: Certificate | None = None,
    uid: bytes = DEFAULT_UID,
) -> CmsVerification:
    """Verify a CMS SignedData over ``data`` (or over its encapsulated content).

    Checks, in order: no unsigned attributes; the signature algorithm fits the digest and the
    signer's key (the carried certificate the SignerInfo names, or ``certificate`` when the caller
    gives it); every other carried certificate links into the signer's chain; ``data`` equals the
    encapsulated content when both exist; the contentType attribute matches the encapsulated type;
    messageDigest matches the content; the signature over the signed attributes (or over the
    content, when there are none) verifies.  Raises :class:`InvalidSignature` naming the first mismatch and
    :class:`InputError` for malformed input.  Trust in the certificate is not judged here: pass
    ``signer_certificate`` (and ``certificates`` as intermediates) to a trust store.
    """
    parsed = parse_cms(der)
    if data is not None and not isinstance(data, bytes | bytearray):
        raise InputError("signed data must be bytes", value=type(data).__name__)
    if parsed.has_unsigned_attrs:
        raise _fail("unsigned attributes are not accepted (they could change without breaking the signature)")
    digest = parsed.digest_algorithm
    algorithm = _signature_algorithm(parsed.signature_algorithm_oid, digest)
    signer = _choose_signer(parsed, certificate)
    if algorithm.key_kind is not signer.public_key.kind:
        raise _fail(
            f"signature algorithm {parsed.signature_algorithm_oid} does not fit the signer's "
            f"{signer.public_key.kind.value} key"
        )
    pss = None
    if algorithm is SignatureAlgorithm.RSA_PSS:
        pss = PssParameters.from_der(parsed.signature_algorithm_params)
        if pss.digest is not digest:
            raise _fail(f"RSA-PSS hashes with {pss.digest.name}, but the digestAlgorithm is {digest.name}")
    _check_carried_chain(parsed.certificates, signer)
    if parsed.content is not None and data is not None and parsed.content != bytes(data):
        raise _fail("the encapsulated content differs from the data given")
    content = bytes(data) if data is not None else parsed.content
    if content is None:
        raise InputError("detached CMS signature: the signed data must be given")
    if parsed.signed_attrs_der is not None:
        if parsed.content_type_attribute is None:
            raise _fail("the contentType signed attribute is missing (RFC 5652 §5.3)")
        if parsed.content_type_attribute != parsed.encapsulated_content_type:
            raise _fail(
                f"the contentType attribute ({parsed.content_type_attribute}) does not match the "
                f"encapsulated content type ({parsed.encapsulated_content_type})"
            )
        if parsed.message_digest is None:
            raise _fail("the messageDigest signed attribute is missing (RFC 5652 §5.3)")
        if not hmac.compare_digest(parsed.message_digest, digest.digest(content)):
            raise _fail(f"messageDigest does not match the {digest.name} digest of the signed data")
        signed_bytes = parsed.signed_attrs_der
    else:
        if parsed.encapsulated_content_type not in DATA_CONTENT_TYPES:
            raise _fail("no signed attributes, but the content is not of type data (RFC 5652 §5.3)")
        signed_bytes = content
    try:
        signer.public_key.verify(parsed.signature, signed_bytes, algorithm, uid=uid, pss=pss)
    except InvalidSignature as exc:
        covered = "signed attributes" if parsed.signed_attrs_der is not None else "content"
        raise _fail(
            f"the signature over the {covered} does not verify with the key of {signer.subject} ({exc})"
        ) from None
    return CmsVerification(
        signer_certificate=signer,
        signing_time=parsed.signing_time,
        signature_algorithm_oid=algorithm.oid,
        digest_algorithm=digest,
        certificates=parsed.certificates,
        gm_oids=parsed.gm_oids,
        content=content,
    )
