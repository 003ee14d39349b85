"""Signature algorithms by OID, as OFD signature files, certificates and CMS name them.

Unknown algorithms and weak ones (MD5, SHA-1 based) are refused with a precise message,
never silently accepted.
"""

from __future__ import annotations

import enum

from ecert.crypto import oids
from ecert.crypto.digests import DigestAlgorithm
from ecert.errors import UnsupportedAlgorithm

__all__ = ["KeyKind", "SignatureAlgorithm"]


class KeyKind(enum.Enum):
    SM2 = "sm2"
    P256 = "p256"
    ED25519 = "ed25519"
    RSA = "rsa"

    @classmethod
    def parse(cls, value: KeyKind | str) -> KeyKind:
        if isinstance(value, KeyKind):
            return value
        try:
            return cls(value.lower())
        except ValueError:
            raise UnsupportedAlgorithm(
                f"unknown key kind {value!r}; expected one of sm2, p256, ed25519, rsa"
            ) from None


class SignatureAlgorithm(enum.Enum):
    """A signature algorithm ecert accepts, valued by its OID."""

    SM2_SM3 = oids.SM3_WITH_SM2
    ECDSA_SHA256 = oids.ECDSA_WITH_SHA256
    ECDSA_SHA384 = oids.ECDSA_WITH_SHA384
    ED25519 = oids.ED25519
    RSA_PKCS1_SHA256 = oids.SHA256_WITH_RSA
    RSA_PKCS1_SHA384 = oids.SHA384_WITH_RSA
    RSA_PKCS1_SHA512 = oids.SHA512_WITH_RSA
    RSA_PSS = oids.RSASSA_PSS

    @property
    def oid(self) -> str:
        return str(self.value)

    @property
    def digest(self) -> DigestAlgorithm | None:
        """The message digest (None for Ed25519, which hashes internally, and RSA-PSS, whose
        parameters name it)."""
        return _DIGESTS.get(self)

    @property
    def key_kind(self) -> KeyKind:
        return _KINDS[self]

    @classmethod
    def from_oid(cls, oid: str) -> SignatureAlgorithm:
        """The algorithm with this OID; :class:`UnsupportedAlgorithm` for weak or unknown ones."""
        key = (oid or "").strip()
        if key in oids.WEAK:
            raise UnsupportedAlgorithm(f"signature algorithm {key} uses MD5 or SHA-1 and is refused as weak")
        if key == oids.SM2_SIGNATURE:  # "sm2sign" used alone by some producers means SM2 with SM3
            return cls.SM2_SM3
        try:
            return cls(key)
        except ValueError:
            raise UnsupportedAlgorithm(f"unknown signature algorithm {key!r}") from None


_DIGESTS = {
    SignatureAlgorithm.SM2_SM3: DigestAlgorithm.SM3,
    SignatureAlgorithm.ECDSA_SHA256: DigestAlgorithm.SHA256,
    SignatureAlgorithm.ECDSA_SHA384: DigestAlgorithm.SHA384,
    SignatureAlgorithm.RSA_PKCS1_SHA256: DigestAlgorithm.SHA256,
    SignatureAlgorithm.RSA_PKCS1_SHA384: DigestAlgorithm.SHA384,
    SignatureAlgorithm.RSA_PKCS1_SHA512: DigestAlgorithm.SHA512,
}
_KINDS = {
    SignatureAlgorithm.SM2_SM3: KeyKind.SM2,
    SignatureAlgorithm.ECDSA_SHA256: KeyKind.P256,
    SignatureAlgorithm.ECDSA_SHA384: KeyKind.P256,
    SignatureAlgorithm.ED25519: KeyKind.ED25519,
    SignatureAlgorithm.RSA_PKCS1_SHA256: KeyKind.RSA,
    SignatureAlgorithm.RSA_PKCS1_SHA384: KeyKind.RSA,
    SignatureAlgorithm.RSA_PKCS1_SHA512: KeyKind.RSA,
    SignatureAlgorithm.RSA_PSS: KeyKind.RSA,
}
