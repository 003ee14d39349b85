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

Reading (:func:`parse_cms`) accepts both families of OIDs, SignerInfos without signed attributes
(ofdrw signs the content directly) and the algorithm identifiers other producers use
(rsaEncryption, id-ecPublicKey, the SM2 curve OID).  It is strict where leniency would let bytes
change unnoticed: the input must be DER (walked byte by byte by :mod:`ecert.crypto.der`, then
checked for what asn1crypto would skip), and exactly one SignerInfo is supported.  Every
asn1crypto failure becomes an :class:`~ecert.errors.InputError`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509

from ecert.crypto import oids
from ecert.crypto.algorithms import PssParameters, SignatureAlgorithm
from ecert.crypto.cms_sign import cms_digest_algorithm, sign_cms
from ecert.crypto.der import check_der
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.sm2 import DEFAULT_UID
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidSignature

__all__ = ["CmsSignedData", "CmsVerification", "parse_cms", "sign_cms", "verify_cms"]

_SIGNED_DATA_TYPES = frozenset({oids.PKCS7_SIGNED_DATA, oids.GM_SIGNED_DATA})
_DATA_TYPES = frozenset({oids.PKCS7_DATA, oids.GM_DATA})
_MAX_CMS = 16 * 1024 * 1024  # a SignedValue.dat is a few KB; refuse absurd inputs before parsing
# the implicitly tagged SET OFs whose order DER fixes (X.690 §11.6), by the identifier octets from the
# ContentInfo down: SignedData certificates [0] and crls [1], SignerInfo signedAttrs [0] and
# unsignedAttrs [1] (universal SETs are always checked)
_SET_OF_PATHS = frozenset(
    {
        (0x30, 0xA0, 0x30, 0xA0),
        (0x30, 0xA0, 0x30, 0xA1),
        (0x30, 0xA0, 0x30, 0x31, 0x30, 0xA0),
        (0x30, 0xA0, 0x30, 0x31, 0x30, 0xA1),
    }
)


def _register() -> None:
    """Teach asn1crypto the GB/T 35275 content types and the SM2/SM3 algorithm OIDs (idempotent).

    asn1crypto has no public registry for these maps; adding entries (never replacing one) is
    the documented way its own modules extend them.
    """
    cms.ContentType._map.setdefault(oids.GM_SIGNED_DATA, "gm_signed_data")
    cms.ContentType._map.setdefault(oids.GM_DATA, "gm_data")
    cms.ContentType._reverse_map = None
    cms.ContentInfo._oid_specs.setdefault("gm_signed_data", cms.SignedData)
    cms.ContentInfo._oid_specs.setdefault("gm_data", core.OctetString)
    algos.DigestAlgorithmId._map.setdefault(oids.SM3, "sm3")
    algos.DigestAlgorithmId._reverse_map = None
    algos.SignedDigestAlgorithmId._map.setdefault(oids.SM3_WITH_SM2, "sm3_sm2")
    algos.SignedDigestAlgorithmId._map.setdefault(oids.SM2_SIGNATURE, "sm2sign")
    algos.SignedDigestAlgorithmId._map.setdefault(oids.SM2_CURVE, "sm2")
    algos.SignedDigestAlgorithmId._reverse_map = None


_register()


# --- values --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CmsSignedData:
    """A parsed ContentInfo(SignedData) with its one SignerInfo, nothing verified yet.

    ``signed_attrs_der`` is the exact DER of the signed attributes re-tagged as a SET OF (the
    bytes the signature covers, RFC 5652 §5.4), or None when the SignerInfo has none (then the
    signature covers the content itself).  ``signer_certificate`` is the carried certificate the
    SignerInfo names (by issuerAndSerialNumber or subjectKeyIdentifier), None if none is carried.
    """

    content_type: str
    encapsulated_content_type: str
    content: bytes | None = field(repr=False)
    digest_algorithm: DigestAlgorithm
    signature_algorithm_oid: str
    signature_algorithm_params: bytes | None = field(repr=False)
    certificates: tuple[Certificate, ...] = field(repr=False)
    signer_certificate: Certificate | None
    signed_attrs_der: bytes | None = field(repr=False)
    content_type_attribute: str | None
    message_digest: bytes | None = field(repr=False)
    signing_time: datetime | None
    signature: bytes = field(repr=False)
    signer_issuer_der: bytes | None = field(repr=False)
    signer_serial_number: int | None
    signer_key_id: bytes | None = field(repr=False)
    has_unsigned_attrs: bool = False

    @property
    def gm_oids(self) -> bool:
        """True for the GB/T 35275 form (its content-type OIDs), False for RFC 5652 / PKCS #7."""
        return self.content_type == oids.GM_SIGNED_DATA

    @property
    def detached(self) -> bool:
        return self.content is None

    def names(self, certificate: Certificate) -> bool:
        """Whether the SignerInfo's identifier designates ``certificate``."""
        if self.signer_key_id is not None:
            return certificate.subject_key_id == self.signer_key_id
        try:
            parsed = asn1_x509.Certificate.load(certificate.der)
            issuer = parsed.issuer.dump()
        except (ValueError, TypeError, KeyError) as exc:  # pragma: no cover - Certificate parsed it already
            raise InputError(f"malformed certificate ({exc})") from None
        return issuer == self.signer_issuer_der and certificate.serial_number == self.signer_serial_number


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


# --- signing -------------------------------------------------------------------------------------


# sign_cms lives in ecert.crypto.cms_sign (DER written from its parts); re-exported here


# --- reading -------------------------------------------------------------------------------------


def _malformed(what: str, exc: Exception) -> InputError:
    return InputError(f"malformed CMS {what} ({type(exc).__name__}: {exc})")


_ASN1_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError, RecursionError)


def _check_exact(value: core.Sequence, what: str) -> None:
    """The fields asn1crypto parsed must make up the whole SEQUENCE.

    asn1crypto skips elements after the last field it knows and bytes after an explicitly tagged
    value; DER has neither, and bytes nobody reads could change unnoticed.  (For SEQUENCEs without
    DEFAULT fields: an absent DEFAULT field would dump its default.)
    """
    if b"".join(value[name].dump() for name in value) != value.contents:
        raise InputError(
            f"CMS {what} is not DER: bytes after its last field or after an explicitly tagged value"
        )


def _check_round_trip(value: core.Asn1Value, what: str) -> None:
    """asn1crypto's full check, for parts that are small or rare (parameters, CRLs, unsigned attributes).

    Parsing every nested value and re-encoding finds what the DER walk cannot see without the
    schema: values of the wrong type, DEFAULT values encoded, elements asn1crypto would skip.  The
    value is re-encoded in place, which changes nothing when the check passes.
    """
    original = value.dump()
    if value.dump(force=True) != original:
        raise InputError(
            f"CMS {what}: not DER (a value of the wrong type, a DEFAULT value, bytes after a field)"
        )


def _check_algorithm(algorithm: core.Sequence, what: str) -> None:
    """An AlgorithmIdentifier whose parameters parse as the algorithm's, with nothing after its fields.

    Parameters other than NULL (RSASSA-PSS) may have DEFAULT fields: those take the round trip.
    """
    _check_exact(algorithm, what)
    if not isinstance(algorithm["parameters"], core.Void | core.Null):
        _check_round_trip(algorithm, what)


def _check_envelope(signed: cms.SignedData, signer_info: cms.SignerInfo) -> None:
    """What the DER walk cannot see in the structure around the signature, where no signature
    would notice a change: elements asn1crypto skips, parameters of the wrong type (see above)."""
    _check_exact(signed, "SignedData")
    _check_exact(signed["encap_content_info"], "EncapsulatedContentInfo")
    for algorithm in signed["digest_algorithms"]:
        _check_algorithm(algorithm, "digestAlgorithms")
    if not isinstance(signed["crls"], core.Void):
        _check_round_trip(signed["crls"], "revocation information")
    _check_exact(signer_info, "SignerInfo")
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        _check_exact(sid.chosen, "issuerAndSerialNumber")
    _check_algorithm(signer_info["digest_algorithm"], "SignerInfo digestAlgorithm")
    _check_algorithm(signer_info["signature_algorithm"], "SignerInfo signatureAlgorithm")
    if not isinstance(signer_info["unsigned_attrs"], core.Void):
        _check_round_trip(signer_info["unsigned_attrs"], "unsigned attributes")


def parse_cms(der: bytes) -> CmsSignedData:
    """Parse a DER ContentInfo(SignedData) with exactly one SignerInfo (nothing is verified).

    Raises :class:`InputError` for anything that is not well-formed DER SignedData, and for more
    (or fewer) than one SignerInfo; :class:`UnsupportedAlgorithm` for an unknown or weak digest.
    """
    if not isinstance(der, bytes | bytearray):
        raise InputError("CMS must be bytes", value=type(der).__name__)
    der = bytes(der)
    if len(der) > _MAX_CMS:
        raise InputError("CMS too large", value=len(der), expected=f"at most {_MAX_CMS} bytes")
    # strict DER, checked by walking the bytes (parsing everything and re-encoding it with asn1crypto
    # to compare took nearly half of verify()); whole octets: every BIT STRING here is a key or a
    # signature.  What needs the schema is checked while reading (_check_envelope).
    check_der(der, what="CMS", sorted_paths=_SET_OF_PATHS, whole_octet_bit_strings=True)
    try:
        info = cms.ContentInfo.load(der, strict=True)
        _check_exact(info, "ContentInfo")
        ctype = info["content_type"].dotted
        if ctype not in _SIGNED_DATA_TYPES:
            raise InputError(
                f"content type {ctype} is not SignedData",
                expected=f"{oids.PKCS7_SIGNED_DATA} or {oids.GM_SIGNED_DATA}",
            )
        signed = info["content"]
        if not isinstance(signed, cms.SignedData):
            raise InputError("SignedData content missing")
    except EcertError:
        raise
    except _ASN1_ERRORS as exc:
        raise _malformed("ContentInfo", exc) from None
    return _read_signed_data(ctype, signed)


def _read_signed_data(ctype: str, signed: cms.SignedData) -> CmsSignedData:
    try:
        signer_infos = list(signed["signer_infos"])
        if len(signer_infos) != 1:
            raise InputError(
                f"CMS has {len(signer_infos)} SignerInfos; exactly one is supported", where="signerInfos"
            )
        carried = signed["certificates"]
        choices = list(carried) if isinstance(carried, cms.CertificateSet) else []
        if any(c.name != "certificate" for c in choices):
            raise InputError("the CMS certificate set holds something other than X.509 certificates")
        certs_der = [c.chosen.dump() for c in choices]
        sd_version = signed["version"].native
        digest_algs = [a["algorithm"].dotted for a in signed["digest_algorithms"]]
        encap = signed["encap_content_info"]
        econtent_type = encap["content_type"].dotted
        raw_content = encap["content"]
        if isinstance(raw_content, core.Void):
            content = None
        elif isinstance(raw_content, core.OctetString | core.ParsableOctetString):
            content = bytes(raw_content)
        else:
            raise InputError(f"encapsulated content of type {econtent_type} is not supported (data only)")
        si = signer_infos[0]
        _check_envelope(signed, si)
        sid = si["sid"]
        version = si["version"].native
        digest_oid = si["digest_algorithm"]["algorithm"].dotted
        sig_oid = si["signature_algorithm"]["algorithm"].dotted
        sig_params = si["signature_algorithm"]["parameters"]
        sig_params_der = None if isinstance(sig_params, core.Void | core.Null) else bytes(sig_params.dump())
        signature = bytes(si["signature"].native)
        has_unsigned = not isinstance(si["unsigned_attrs"], core.Void)
        attrs = si["signed_attrs"]
        has_attrs = not isinstance(attrs, core.Void)
        attrs_der = b"\x31" + attrs.dump()[1:] if has_attrs else None  # [0] IMPLICIT -> SET OF
        values = _attribute_values(attrs) if has_attrs else _Attributes()
        if sid.name == "issuer_and_serial_number":
            issuer_der, serial, key_id = sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native, None
        else:
            issuer_der, serial, key_id = None, None, bytes(sid.chosen.native)
    except EcertError:
        raise
    except _ASN1_ERRORS as exc:
        raise _malformed("SignedData", exc) from None
    expected_version = "v1" if key_id is None else "v3"
    if version != expected_version:
        raise InputError(
            f"SignerInfo version {version} does not fit its signer identifier",
            expected=f"{expected_version} (RFC 5652 §5.3)",
        )
    # RFC 5652 §5.1 (GB/T 35275 §8.1 always writes 1, with its own data type)
    expected_sd = "v1" if key_id is None and econtent_type in _DATA_TYPES else "v3"
    if sd_version != expected_sd:
        raise InputError(
            f"SignedData version {sd_version} is not the one RFC 5652 §5.1 requires ({expected_sd})"
        )
    digest = DigestAlgorithm.from_name(digest_oid)
    if digest_algs != [digest.oid]:
        raise InputError(
            "SignedData digestAlgorithms must name exactly the signer's digest", value=digest_algs
        )
    certificates = tuple(Certificate.from_der(bytes(c)) for c in certs_der)
    partial = CmsSignedData(
        content_type=ctype,
        encapsulated_content_type=econtent_type,
        content=content,
        digest_algorithm=digest,
        signature_algorithm_oid=sig_oid,
        signature_algorithm_params=sig_params_der,
        certificates=certificates,
        signer_certificate=None,
        signed_attrs_der=attrs_der,
        content_type_attribute=values.content_type,
        message_digest=values.message_digest,
        signing_time=values.signing_time,
        signature=signature,
        signer_issuer_der=issuer_der,
        signer_serial_number=serial,
        signer_key_id=key_id,
        has_unsigned_attrs=has_unsigned,
    )
    signer = next((c for c in certificates if partial.names(c)), None)
    return replace(partial, signer_certificate=signer)


@dataclass(frozen=True, slots=True)
class _Attributes:
    content_type: str | None = None
    message_digest: bytes | None = None
    signing_time: datetime | None = None


def _attribute_values(attrs: cms.CMSAttributes) -> _Attributes:
    """contentType, messageDigest and signingTime, each present at most once with one value."""
    wanted = {oids.ATTR_CONTENT_TYPE, oids.ATTR_MESSAGE_DIGEST, oids.ATTR_SIGNING_TIME}
    seen: set[str] = set()
    found = _Attributes()
    for attr in attrs:
        _check_exact(attr, "signed attribute")
        oid = attr["type"].dotted
        if oid not in wanted:
            continue
        values = list(attr["values"])
        if oid in seen or len(values) != 1:
            raise InputError(f"signed attribute {oid} must occur once with one value (RFC 5652 §11)")
        seen.add(oid)
        value = values[0]
        if oid == oids.ATTR_CONTENT_TYPE:
            found = replace(found, content_type=value.dotted)
        elif oid == oids.ATTR_MESSAGE_DIGEST:
            found = replace(found, message_digest=bytes(value.native))
        else:
            when = value.native
            if not isinstance(when, datetime):
                raise InputError("signingTime is not a time", value=when)
            found = replace(found, signing_time=when.astimezone(UTC))
    return found


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
        if parsed.encapsulated_content_type not in _DATA_TYPES:
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
