"""Reading a CMS SignedData (RFC 5652; GB/T 35275 for SM2) strictly: :func:`parse_cms` gives a
:class:`CmsSignedData` with its one SignerInfo, nothing verified (:mod:`ecert.crypto.cms` verifies).

It accepts both families of OIDs, SignerInfos without signed attributes (ofdrw signs the content
directly) and the algorithm identifiers other producers use (rsaEncryption, id-ecPublicKey, the SM2
curve OID).  It is strict where leniency would let bytes change unnoticed: the input must be DER
(walked byte by byte by :mod:`ecert.crypto.der`), and exactly one SignerInfo is supported.

Two readers, one decision.  Reading through asn1crypto's object model cost more than the SM2
verification itself, so the shape every certificate file has (what ecert, GmSSL and OpenSSL write:
known OIDs, absent or NULL parameters, the three usual signed attributes, UTCTime, no CRLs, no
unsigned attributes) is read here directly from the walked DER, element by element and tag by tag.
Anything else, including every input to be refused, is handed to the general reader
(:mod:`ecert.crypto._cms_asn1`, asn1crypto plus the checks the walk cannot make), so the lean
reader only ever accepts what the general one accepts, with the same fields
(``tests/test_cms_lean.py`` compares them, on real and on mutated inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ecert.crypto import _cms_asn1, oids
from ecert.crypto.cms_fields import DATA_CONTENT_TYPES, SIGNED_DATA_TYPES, Attributes, Fields
from ecert.crypto.der import check_der
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.x509 import Certificate
from ecert.errors import InputError

__all__ = ["DATA_CONTENT_TYPES", "CmsSignedData", "parse_cms"]

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
        if certificate.serial_number != self.signer_serial_number:
            return False
        return _issuer_of(certificate) == self.signer_issuer_der


_ISSUERS: dict[bytes, bytes] = {}  # certificate DER -> its issuer Name as encoded
_ISSUERS_SIZE = 256


def _issuer_of(certificate: Certificate) -> bytes:
    """The issuer Name exactly as the certificate encodes it (``issuer_der`` is re-encoded by
    pyca/cryptography), read once per certificate: a verifier meets the same few signers."""
    known = _ISSUERS.get(certificate.der)
    if known is None:
        known = _cms_asn1.raw_issuer(certificate.der)
        if len(_ISSUERS) >= _ISSUERS_SIZE:
            _ISSUERS.pop(next(iter(_ISSUERS)))
        _ISSUERS[certificate.der] = known
    return known


# --- reading -------------------------------------------------------------------------------------


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
    # strict DER, checked by walking the bytes; whole octets: every BIT STRING here is a key or a
    # signature.  What needs the schema is checked while reading.
    check_der(der, what="CMS", sorted_paths=_SET_OF_PATHS, whole_octet_bit_strings=True)
    try:
        fields = _read_usual(der)
    except _Unusual:
        fields = _cms_asn1.read_fields(der)
    return _signed_data(fields)


def _signed_data(f: Fields) -> CmsSignedData:
    """The rules both readers' fields are held to, and the value they make."""
    expected_version = "v1" if f.key_id is None else "v3"
    if f.version != expected_version:
        raise InputError(
            f"SignerInfo version {f.version} does not fit its signer identifier",
            expected=f"{expected_version} (RFC 5652 §5.3)",
        )
    # RFC 5652 §5.1 (GB/T 35275 §8.1 always writes 1, with its own data type)
    expected_sd = "v1" if f.key_id is None and f.encapsulated_content_type in DATA_CONTENT_TYPES else "v3"
    if f.sd_version != expected_sd:
        raise InputError(
            f"SignedData version {f.sd_version} is not the one RFC 5652 §5.1 requires ({expected_sd})"
        )
    digest = DigestAlgorithm.from_name(f.digest_oid)
    if f.digest_algorithms != [digest.oid]:
        raise InputError(
            "SignedData digestAlgorithms must name exactly the signer's digest", value=f.digest_algorithms
        )
    certificates = tuple(Certificate.from_der(c) for c in f.certificates_der)
    partial = CmsSignedData(
        content_type=f.content_type,
        encapsulated_content_type=f.encapsulated_content_type,
        content=f.content,
        digest_algorithm=digest,
        signature_algorithm_oid=f.signature_oid,
        signature_algorithm_params=f.signature_params_der,
        certificates=certificates,
        signer_certificate=None,
        signed_attrs_der=f.signed_attrs_der,
        content_type_attribute=f.attributes.content_type,
        message_digest=f.attributes.message_digest,
        signing_time=f.attributes.signing_time,
        signature=f.signature,
        signer_issuer_der=f.issuer_der,
        signer_serial_number=f.serial_number,
        signer_key_id=f.key_id,
        has_unsigned_attrs=f.has_unsigned_attrs,
    )
    signer = next((c for c in certificates if partial.names(c)), None)
    return replace(partial, signer_certificate=signer)


# --- the lean reader of the usual shape ----------------------------------------------------------


class _Unusual(Exception):
    """Not the usual shape: the general reader decides (and words any refusal)."""


def _encode_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return bytes(body)


def _table(*dotted: str) -> dict[bytes, str]:
    """OID contents -> dotted form, for the OIDs the lean reader knows in one place."""
    return {_encode_oid(d): d for d in dotted}


_CONTENT_TYPES = _table(*sorted(SIGNED_DATA_TYPES))
_DATA_TYPES = _table(*sorted(DATA_CONTENT_TYPES))
_DIGESTS = _table(oids.SM3, oids.SHA256, oids.SHA384, oids.SHA512)
# signature algorithms whose parameters are absent or NULL for asn1crypto too (not RSASSA-PSS)
_SIGNATURES = _table(
    oids.SM3_WITH_SM2, oids.SM2_SIGNATURE, oids.SM2_CURVE, oids.EC_PUBLIC_KEY, oids.RSA_ENCRYPTION,
    oids.ECDSA_WITH_SHA256, oids.ECDSA_WITH_SHA384, oids.ECDSA_WITH_SHA512, oids.ED25519,
    oids.SHA256_WITH_RSA, oids.SHA384_WITH_RSA, oids.SHA512_WITH_RSA,
)
_ATTRIBUTES = _table(oids.ATTR_CONTENT_TYPE, oids.ATTR_MESSAGE_DIGEST, oids.ATTR_SIGNING_TIME)
_VERSIONS: dict[bytes, str] = {bytes((n,)): f"v{n}" for n in range(6)}  # asn1crypto's CMSVersion names

_Item = tuple[int, int, int, int]  # identifier octet, element start, contents start, contents end


def _items(der: bytes, start: int, end: int) -> list[_Item]:
    """The elements between ``start`` and ``end``; the DER walk has checked every header already."""
    out: list[_Item] = []
    pos = start
    while pos < end:
        tag, octet = der[pos], der[pos + 1]
        if tag & 0x1F == 0x1F:
            raise _Unusual  # a high tag number: nothing in the usual shape has one
        if octet < 0x80:
            contents = pos + 2
            stop = contents + octet
        else:
            contents = pos + 2 + (octet & 0x7F)
            stop = contents + int.from_bytes(der[pos + 2 : contents], "big")
        out.append((tag, pos, contents, stop))
        pos = stop
    return out


def _inside(der: bytes, item: _Item, *tags: int) -> list[_Item]:
    """The elements of a constructed ``item``, which must have exactly these identifier octets."""
    children = _items(der, item[2], item[3])
    if tuple(c[0] for c in children) != tags:
        raise _Unusual
    return children


def _known(der: bytes, item: _Item, table: dict[bytes, str]) -> str:
    """An OBJECT IDENTIFIER among ``table``'s."""
    if item[0] != 0x06:
        raise _Unusual
    dotted = table.get(der[item[2] : item[3]])
    if dotted is None:
        raise _Unusual
    return dotted


def _algorithm(der: bytes, item: _Item, table: dict[bytes, str]) -> str:
    """An AlgorithmIdentifier of a known algorithm with absent or NULL parameters."""
    if item[0] != 0x30:
        raise _Unusual
    parts = _items(der, item[2], item[3])
    if len(parts) == 2 and parts[1][0] == 0x05:  # NULL (the walk checked it is empty)
        parts = parts[:1]
    if len(parts) != 1:
        raise _Unusual
    return _known(der, parts[0], table)


def _version(der: bytes, item: _Item) -> str:
    if item[0] != 0x02:
        raise _Unusual
    name = _VERSIONS.get(der[item[2] : item[3]])
    if name is None:
        raise _Unusual
    return name


def _read_usual(der: bytes) -> Fields:
    """The fields of a SignedData of the usual shape; :class:`_Unusual` for any other."""
    (outer,) = _items(der, 0, len(der))  # the walk checked there is exactly one element
    if outer[0] != 0x30:
        raise _Unusual
    oid, explicit = _inside(der, outer, 0x06, 0xA0)
    content_type = _known(der, oid, _CONTENT_TYPES)
    (sd,) = _inside(der, explicit, 0x30)
    parts = _items(der, sd[2], sd[3])
    tags = tuple(p[0] for p in parts)
    if tags == (0x02, 0x31, 0x30, 0xA0, 0x31):
        version_item, algorithms, encap, certs, infos = parts
        certificates = _items(der, certs[2], certs[3])
        if any(c[0] != 0x30 for c in certificates):
            raise _Unusual  # another CertificateChoices alternative: refused by the general reader
    elif tags == (0x02, 0x31, 0x30, 0x31):
        version_item, algorithms, encap, infos = parts
        certificates = []
    else:
        raise _Unusual  # CRLs, missing or extra fields
    digest_algorithms = [_algorithm(der, a, _DIGESTS) for a in _items(der, algorithms[2], algorithms[3])]
    encap_parts = _items(der, encap[2], encap[3])
    if len(encap_parts) == 1:
        content = None
    elif len(encap_parts) == 2 and encap_parts[1][0] == 0xA0:
        (octets,) = _inside(der, encap_parts[1], 0x04)
        content = der[octets[2] : octets[3]]
    else:
        raise _Unusual
    econtent_type = _known(der, encap_parts[0], _DATA_TYPES)
    (info,) = _inside(der, infos, 0x30)
    fields = _items(der, info[2], info[3])
    tags = tuple(p[0] for p in fields)
    if len(tags) == 6 and tags[3] == 0xA0 and tags[5] == 0x04:
        version_si, sid, digest_item, attrs_item, signature_item, value_item = fields
    elif len(tags) == 5 and tags[4] == 0x04:
        version_si, sid, digest_item, signature_item, value_item = fields
        attrs_item = None
    else:
        raise _Unusual  # unsigned attributes, missing or extra fields
    if sid[0] == 0x30:
        issuer, serial = _inside(der, sid, 0x30, 0x02)
        issuer_der: bytes | None = der[issuer[1] : issuer[3]]
        serial_number: int | None = int.from_bytes(der[serial[2] : serial[3]], "big", signed=True)
        key_id = None
    elif sid[0] == 0x80:
        issuer_der, serial_number, key_id = None, None, der[sid[2] : sid[3]]
    else:
        raise _Unusual
    return Fields(
        content_type=content_type,
        sd_version=_version(der, version_item),
        digest_algorithms=digest_algorithms,
        encapsulated_content_type=econtent_type,
        content=content,
        certificates_der=[der[c[1] : c[3]] for c in certificates],
        version=_version(der, version_si),
        digest_oid=_algorithm(der, digest_item, _DIGESTS),
        signature_oid=_algorithm(der, signature_item, _SIGNATURES),
        signature_params_der=None,
        signature=der[value_item[2] : value_item[3]],
        has_unsigned_attrs=False,
        signed_attrs_der=None if attrs_item is None else b"\x31" + der[attrs_item[1] + 1 : attrs_item[3]],
        attributes=Attributes() if attrs_item is None else _attributes(der, attrs_item),
        issuer_der=issuer_der,
        serial_number=serial_number,
        key_id=key_id,
    )


def _attributes(der: bytes, attrs: _Item) -> Attributes:
    """contentType, messageDigest and signingTime (UTCTime), each at most once with one value, and
    no other attribute (another is read by the general reader)."""
    found: dict[str, _Item] = {}
    for attr in _items(der, attrs[2], attrs[3]):
        if attr[0] != 0x30:
            raise _Unusual
        oid, values = _inside(der, attr, 0x06, 0x31)
        name = _known(der, oid, _ATTRIBUTES)
        value = _items(der, values[2], values[3])
        if name in found or len(value) != 1:
            raise _Unusual  # refused by the general reader, in its words
        found[name] = value[0]
    content_type = message_digest = signing_time = None
    if (item := found.get(oids.ATTR_CONTENT_TYPE)) is not None:
        content_type = _known(der, item, _ALL_OIDS)
    if (item := found.get(oids.ATTR_MESSAGE_DIGEST)) is not None:
        if item[0] != 0x04:
            raise _Unusual
        message_digest = der[item[2] : item[3]]
    if (item := found.get(oids.ATTR_SIGNING_TIME)) is not None:
        signing_time = _utc_time(der, item)
    return Attributes(content_type, message_digest, signing_time)


_ALL_OIDS = {**_CONTENT_TYPES, **_DATA_TYPES, **_DIGESTS, **_SIGNATURES, **_ATTRIBUTES}


def _utc_time(der: bytes, item: _Item) -> datetime:
    """A UTCTime the walk has checked is YYMMDDHHMMSSZ; years 50-99 are 19xx (RFC 5280 §4.1.2.5.1)."""
    if item[0] != 0x17:
        raise _Unusual  # GeneralizedTime: the general reader
    text = der[item[2] : item[3]]
    year = int(text[0:2])
    try:
        return datetime(
            year + (1900 if year >= 50 else 2000), int(text[2:4]), int(text[4:6]),
            int(text[6:8]), int(text[8:10]), int(text[10:12]), tzinfo=UTC,
        )
    except ValueError:
        raise _Unusual from None
