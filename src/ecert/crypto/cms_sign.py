"""Writing a CMS SignedData (RFC 5652; GB/T 35275 for SM2): DER put together from its parts.

Every OFD file ecert issues carries one, so writing it is on the issuing hot path.  Building it
through asn1crypto's object model cost about 2 ms a certificate (more than the SM2 signature);
the structure is fixed, so it is concatenated here from pre-encoded parts instead, and
``tests/test_cms.py`` checks the bytes against asn1crypto's encoding of the same values.
Reading is :mod:`ecert.crypto.cms_parse`, verification :mod:`ecert.crypto.cms`.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from asn1crypto import x509 as asn1_x509

from ecert.crypto import oids
from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.cms_fields import cms_digest_algorithm
from ecert.crypto.signer import Signer
from ecert.crypto.sm2 import DEFAULT_UID
from ecert.errors import InputError
from ecert.times import aware

__all__ = ["cms_digest_algorithm", "sign_cms"]

_SEQUENCE, _SET, _INTEGER, _OCTET_STRING, _OID = 0x30, 0x31, 0x02, 0x04, 0x06
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_CONTEXT_0 = 0xA0  # [0], constructed


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite minimal length, content."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


@functools.lru_cache(maxsize=64)
def _oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER (X.690 §8.19): the first two arcs in one, base-128 arcs."""
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _tlv(_OID, bytes(body))


def _integer(value: int) -> bytes:
    """A non-negative INTEGER in the fewest octets (a leading 0x00 only before a high bit)."""
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _set_of(elements: list[bytes]) -> bytes:
    """SET OF in DER order: encodings sorted as octet strings (X.690 §11.6)."""
    width = max((len(e) for e in elements), default=0)

    def padded(element: bytes) -> bytes:
        return element + b"\x00" * (width - len(element))

    ordered: list[bytes] = sorted(elements, key=padded)
    return b"".join(ordered)


def _algorithm(oid: str) -> bytes:
    """AlgorithmIdentifier with absent parameters (as ECDSA, SM2, Ed25519 and digests are written)."""
    return _tlv(_SEQUENCE, _oid(oid))


def _time(when: datetime) -> bytes:
    """RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise; UTC, whole seconds."""
    if 1950 <= when.year < 2050:
        return _tlv(_UTC_TIME, when.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return _tlv(_GENERALIZED_TIME, f"{when.year:04d}{when:%m%d%H%M%S}Z".encode("ascii"))


def _attribute(oid: str, value: bytes) -> bytes:
    return _tlv(_SEQUENCE, _oid(oid) + _tlv(_SET, value))


@functools.lru_cache(maxsize=16)
def _signer_parts(certificate_der: bytes, chain_ders: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """(issuerAndSerialNumber, the [0] IMPLICIT certificate set) of one signer: fixed per signer."""
    parsed = asn1_x509.Certificate.load(certificate_der)
    sid = _tlv(_SEQUENCE, parsed.issuer.dump() + _integer(parsed.serial_number))
    certificates = _tlv(_CONTEXT_0, _set_of(list(dict.fromkeys((certificate_der, *chain_ders)))))
    return sid, certificates


def sign_cms(
    data: bytes,
    signer: Signer,
    *,
    detached: bool = True,
    signing_time: datetime | None = None,
    gm_oids: bool = True,
    uid: bytes = DEFAULT_UID,
) -> bytes:
    """A DER ContentInfo(SignedData) over ``data`` carrying the signer certificate and chain.

    The chain is carried without its self-signed root (the verifier's trust anchor).

    ``signing_time`` (timezone-aware; the current time when None) goes into the signed
    signingTime attribute.  ``gm_oids`` matters for SM2 signers only: True writes the GB/T 35275
    form, False the RFC 5652 form.  ``uid`` is the SM2 user ID (ignored for other keys).
    """
    if not isinstance(data, bytes | bytearray):
        raise InputError("data to sign must be bytes", value=type(data).__name__)
    if signing_time is not None:
        aware(signing_time, "signing_time")
    algorithm = signer.algorithm
    sm2 = algorithm is SignatureAlgorithm.SM2_SM3
    gm = sm2 and gm_oids
    digest = cms_digest_algorithm(algorithm)
    content_type = oids.GM_DATA if gm else oids.PKCS7_DATA
    when = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    attributes = _set_of(
        [
            _attribute(oids.ATTR_CONTENT_TYPE, _oid(content_type)),
            _attribute(oids.ATTR_SIGNING_TIME, _time(when)),
            _attribute(oids.ATTR_MESSAGE_DIGEST, _tlv(_OCTET_STRING, digest.digest(bytes(data)))),
        ]
    )
    to_sign = _tlv(_SET, attributes)  # RFC 5652 §5.4: the attributes as a SET OF are what is signed
    signature = signer.private_key.sign(to_sign, uid=uid) if sm2 else signer.sign(to_sign)
    sig_alg_oid = (oids.SM2_SIGNATURE if gm else oids.SM3_WITH_SM2) if sm2 else algorithm.oid
    # the chain without self-issued roots: a verifier must hold its anchor already (RFC 5280 §6.1),
    # and a carried root is bytes no verifier needs, which could then change unnoticed
    chain = tuple(c.der for c in signer.chain if c.subject_der != c.issuer_der)
    sid, certificates = _signer_parts(signer.certificate.der, chain)
    signer_info = _tlv(
        _SEQUENCE,
        _integer(1)
        + sid
        + _algorithm(digest.oid)
        + _tlv(_CONTEXT_0, attributes)
        + _algorithm(sig_alg_oid)
        + _tlv(_OCTET_STRING, signature),
    )
    encapsulated = _oid(content_type)
    if not detached:
        encapsulated += _tlv(_CONTEXT_0, _tlv(_OCTET_STRING, bytes(data)))
    signed_data = _tlv(
        _SEQUENCE,
        _integer(1)
        + _tlv(_SET, _algorithm(digest.oid))
        + _tlv(_SEQUENCE, encapsulated)
        + certificates
        + _tlv(_SET, signer_info),
    )
    outer_type = oids.GM_SIGNED_DATA if gm else oids.PKCS7_SIGNED_DATA
    return _tlv(_SEQUENCE, _oid(outer_type) + _tlv(_CONTEXT_0, signed_data))
