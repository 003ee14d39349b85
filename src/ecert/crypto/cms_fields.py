"""The fields of a CMS SignedData as read from its encoding, before any rule is applied.

Both readers of :func:`ecert.crypto.cms_parse.parse_cms` give these (the lean one for the usual
shape, asn1crypto's for the rest), and one function turns them into a ``CmsSignedData``, so the
rules (versions, digest algorithms, the signer's certificate) are applied the same way whichever
read the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ecert.crypto import oids
from ecert.crypto.digests import DigestAlgorithm

if TYPE_CHECKING:
    from ecert.crypto.algorithms import SignatureAlgorithm

__all__ = ["DATA_CONTENT_TYPES", "SIGNED_DATA_TYPES", "Attributes", "Fields", "cms_digest_algorithm"]

SIGNED_DATA_TYPES = frozenset({oids.PKCS7_SIGNED_DATA, oids.GM_SIGNED_DATA})
DATA_CONTENT_TYPES = frozenset({oids.PKCS7_DATA, oids.GM_DATA})  # encapsulated "data", both forms


def cms_digest_algorithm(algorithm: SignatureAlgorithm) -> DigestAlgorithm:
    """The digest a CMS signer with ``algorithm`` uses (Ed25519: SHA-512, RFC 8419 §3.1); here, not
    in the writer, because the verifier checks it too (a verifying process loads no CMS writer)."""
    return algorithm.digest or DigestAlgorithm.SHA512


@dataclass(frozen=True, slots=True)
class Attributes:
    """contentType, messageDigest and signingTime of the signed attributes (None when absent)."""

    content_type: str | None = None
    message_digest: bytes | None = None
    signing_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fields:
    """What the encoding says, field by field; versions as asn1crypto names them ("v1", or the int)."""

    content_type: str
    sd_version: str | int
    digest_algorithms: list[str]
    encapsulated_content_type: str
    content: bytes | None = field(repr=False)
    certificates_der: list[bytes] = field(repr=False)
    version: str | int
    digest_oid: str
    signature_oid: str
    signature_params_der: bytes | None = field(repr=False)
    signature: bytes = field(repr=False)
    has_unsigned_attrs: bool
    signed_attrs_der: bytes | None = field(repr=False)
    attributes: Attributes
    issuer_der: bytes | None = field(repr=False)
    serial_number: int | None
    key_id: bytes | None = field(repr=False)
