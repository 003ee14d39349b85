"""Reading a CMS SignedData (RFC 5652; GB/T 35275 for SM2) strictly: :func:`parse_cms` gives a
:class:`CmsSignedData` with its one SignerInfo, nothing verified (:mod:`ecert.crypto.cms` verifies).

It accepts both families of OIDs, SignerInfos without signed attributes (ofdrw signs the content
directly) and the algorithm identifiers other producers use (rsaEncryption, id-ecPublicKey, the SM2
curve OID).  It is strict where leniency would let bytes change unnoticed: the input must be DER
(walked byte by byte by :mod:`ecert.crypto.der`, then checked for what asn1crypto would skip), and
exactly one SignerInfo is supported.  Every asn1crypto failure becomes an
:class:`~ecert.errors.InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509

from ecert.crypto import oids
from ecert.crypto.der import check_der, parser_reason
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError

__all__ = ["DATA_CONTENT_TYPES", "CmsSignedData", "parse_cms"]

_SIGNED_DATA_TYPES = frozenset({oids.PKCS7_SIGNED_DATA, oids.GM_SIGNED_DATA})
DATA_CONTENT_TYPES = frozenset({oids.PKCS7_DATA, oids.GM_DATA})  # encapsulated "data", both forms
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
            raise InputError(f"malformed certificate ({parser_reason(exc)})") from None
        return issuer == self.signer_issuer_der and certificate.serial_number == self.signer_serial_number

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
    expected_sd = "v1" if key_id is None and econtent_type in DATA_CONTENT_TYPES else "v3"
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
