"""Signing offline QR payloads (spec/qr.md): what a department's issuing system prints.

The payload names its signer only by a key id (8 bytes of SHA-256 over the key's
SubjectPublicKeyInfo). Verifying one is the verify layer's job (:mod:`ecert.verify.qr`), which
finds the certificate with that key among what the window was given, never in the payload.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.digests import sm3
from ecert.crypto.signer import Signer
from ecert.crypto.x509 import Certificate
from ecert.errors import InputError, InvalidQRPayload
from ecert.metadata import CoreMetadata
from ecert.qr.payload import (
    ABRIDGEABLE,
    MAX_RECORD_BYTES,
    SIGNATURE_SIZE,
    Abridgement,
    Claims,
    QRAlgorithm,
    encode_offline,
    signed_part,
    text_field,
)
from ecert.times import aware

__all__ = [
    "ABRIDGED_MARK",
    "ALGORITHM_OF",
    "abridge",
    "assert_fits",
    "claims_of",
    "full_text_matches",
    "key_id",
    "make_offline",
    "signature_der",
]

_ALGORITHMS = {
    SignatureAlgorithm.SM2_SM3: QRAlgorithm.SM2_SM3,
    SignatureAlgorithm.ECDSA_SHA256: QRAlgorithm.ECDSA_P256_SHA256,
    SignatureAlgorithm.ED25519: QRAlgorithm.ED25519,
}
#: the signature algorithm of each payload algorithm code
ALGORITHM_OF = {v: k for k, v in _ALGORITHMS.items()}
#: How a verifier shows a field the payload carries shortened (its first characters, then this).
ABRIDGED_MARK = "…"
# the character limits tried, longest first, when the full fields do not fit the budget
_ABRIDGE_LIMITS = (96, 64, 48, 40, 32, 28, 24, 20, 16, 12, 8, 4)


def key_id(certificate: Certificate) -> bytes:
    """The 8 bytes an offline payload names its signer by: SHA-256 over the SubjectPublicKeyInfo DER.

    :param certificate: the signer's certificate.
    :returns: the first 8 bytes of the digest (spec/qr.md).
    """
    return hashlib.sha256(certificate.public_key.spki_der()).digest()[:8]


def claims_of(md: CoreMetadata, signed_at: datetime | None = None) -> Claims:
    """What an offline payload states for ``md``, in full (see :func:`abridge` for long fields).

    :param md: the certificate's core metadata.
    :param signed_at: when the payload is signed (default now); microseconds are dropped.
    :returns: the claims.
    """
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


def signature_der(raw: bytes) -> bytes:
    """An ECDSA/SM2 signature as the payload carries it (r || s, 32 bytes each) in DER, to verify."""
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def abridge(claims: Claims, limit: int) -> Claims:
    """``claims`` with each long text field (:data:`~ecert.qr.payload.ABRIDGEABLE`) cut to its first
    ``limit`` characters, bound to its full text by an SM3 digest the signature covers.

    :param claims: full claims (from :func:`claims_of`).
    :param limit: characters kept of each field longer than that.
    :returns: the claims, shortened where needed (unchanged when no field is longer).
    """
    long = [n for n in ABRIDGEABLE if len(getattr(claims, n)) > limit]
    if not long:
        return claims
    digest = sm3(b"".join(text_field(getattr(claims, n)) for n in long))
    fields = tuple((n, len(getattr(claims, n))) for n in long)
    cut = {n: getattr(claims, n)[:limit] for n in long}
    return dataclasses.replace(claims, abridged=Abridgement(fields, digest), **cut)


def _fitting_part(claims: Claims, algorithm: QRAlgorithm, kid: bytes) -> bytes:
    """The signed part of ``claims``, abridged only as much as the QR budget needs (spec/qr.md)."""
    signed = signed_part(claims, algorithm, kid)
    for limit in _ABRIDGE_LIMITS:
        if len(signed) + SIGNATURE_SIZE <= MAX_RECORD_BYTES:
            return signed
        signed = signed_part(abridge(claims, limit), algorithm, kid)
    if len(signed) + SIGNATURE_SIZE <= MAX_RECORD_BYTES:
        return signed
    raise InvalidQRPayload(
        "payload too long for the QR budget even with the names shortened (the codes are too long)",
        value=f"{len(signed) + SIGNATURE_SIZE} bytes",
        expected=f"a record of <= {MAX_RECORD_BYTES} bytes (QR version 15 at level M, spec/qr.md)",
    )


def make_offline(md: CoreMetadata, signer: Signer, *, at: datetime | None = None) -> str:
    """The offline payload for ``md``, signed by ``signer``: what a window checks without a network.

    Long names (a 200-character holder name) are carried shortened, with an SM3 digest of their
    full text, so the code stays within the QR budget (version 15-M) and says it is shortened.

    :param md: the certificate's core metadata.
    :param signer: the issuing department's key and certificate (SM2, ECDSA P-256 or Ed25519).
    :param at: signing time (timezone-aware; default now).
    :returns: the payload text (``EC2:…``, shell-safe).
    :raises InputError: for a signer of another algorithm or a naive ``at``.
    :raises InvalidQRPayload: when even shortened names leave the codes over the budget.
    """
    algorithm = _ALGORITHMS.get(signer.algorithm)
    if algorithm is None:
        raise InputError(
            "offline QR payloads are signed with SM2, ECDSA P-256 or Ed25519", value=signer.algorithm.name
        )
    if at is not None:
        aware(at, "at")
    signed = _fitting_part(claims_of(md, at), algorithm, key_id(signer.certificate))
    signature = signer.sign(signed)
    raw = signature if algorithm is QRAlgorithm.ED25519 else _to_raw(signature)
    return encode_offline(signed, raw)


def full_text_matches(claims: Claims, full: Mapping[str, str]) -> bool:
    """Whether full texts of the shortened fields (from the file, the registry, a document the
    holder shows) are the ones the payload's signature binds.

    :param claims: decoded claims (:func:`~ecert.qr.payload.decode_offline`), after the payload
        verified.
    :param full: field name → full text, for every shortened field.
    :returns: ``True`` when nothing was shortened, or the given texts have the signed digest.
    :raises InputError: when a shortened field's full text is not given.
    """
    if claims.abridged is None:
        return True
    missing = [n for n, _ in claims.abridged.fields if n not in full]
    if missing:
        raise InputError("the full text of every shortened field is needed", value=", ".join(missing))
    digest = sm3(b"".join(text_field(full[n]) for n, _ in claims.abridged.fields))
    return hmac.compare_digest(digest, claims.abridged.digest)


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
