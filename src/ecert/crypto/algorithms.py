"""Signature algorithms by OID, as OFD signature files, certificates and CMS name them.

Unknown algorithms and weak ones (MD5, SHA-1 based) are refused with a precise message,
never silently accepted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from asn1crypto import algos

from ecert.crypto import oids
from ecert.crypto.digests import DigestAlgorithm
from ecert.errors import UnsupportedAlgorithm

__all__ = ["KeyKind", "PssParameters", "SignatureAlgorithm"]

# More weak signature algorithms, recognised only to be refused with a precise message:
_MORE_WEAK: Final = frozenset(
    {
        "1.2.840.113549.1.1.2",  # md2WithRSAEncryption (RFC 3279)
        "1.2.840.113549.1.1.3",  # md4WithRSAEncryption (RFC 3279)
        "1.3.14.3.2.29",  # sha1WithRSASignature (OIW)
        "1.2.840.10040.4.3",  # dsa-with-sha1 (RFC 3279)
        "1.2.156.10197.1.502",  # SM2 with SHA-1 (GM/T 0006-2012)
    }
)


class KeyKind(enum.Enum):
    """The kinds of keys ecert signs and verifies with."""

    SM2 = "sm2"
    P256 = "p256"
    ED25519 = "ed25519"
    RSA = "rsa"

    @classmethod
    def parse(cls, value: KeyKind | str) -> KeyKind:
        """``KeyKind`` or its name (``'sm2'``, ``'P256'``...); UnsupportedAlgorithm otherwise."""
        if isinstance(value, KeyKind):
            return value
        try:
            return cls(str(value).lower().replace("-", ""))
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
        """The message digest: None for Ed25519 (it hashes internally) and for RSA-PSS, whose
        AlgorithmIdentifier parameters name it (see :class:`PssParameters`)."""
        return _DIGESTS.get(self)

    @property
    def key_kind(self) -> KeyKind:
        return _KINDS[self]

    @classmethod
    def from_oid(cls, oid: str) -> SignatureAlgorithm:
        """The algorithm with this OID; :class:`UnsupportedAlgorithm` for weak or unknown ones."""
        key = (oid or "").strip()
        if key in oids.WEAK or key in _MORE_WEAK:
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


@dataclass(frozen=True, slots=True)
class PssParameters:
    """RSASSA-PSS parameters (RFC 4055 section 3.1) reduced to what verification needs.

    Only MGF1 with the same hash as the message digest is accepted, and SHA-1 (the default of
    the ASN.1 structure) is refused as weak, so absent parameters are refused too.
    """

    digest: DigestAlgorithm
    salt_length: int

    @classmethod
    def from_der(cls, der: bytes | None) -> PssParameters:
        """Parse the DER ``RSASSA-PSS-params``; UnsupportedAlgorithm for weak or odd choices."""
        if not der:
            raise UnsupportedAlgorithm("RSA-PSS without parameters means SHA-1, refused as weak")
        try:
            params = algos.RSASSAPSSParams.load(der, strict=True)
            hash_oid = params["hash_algorithm"]["algorithm"].dotted
            mgf = params["mask_gen_algorithm"]
            mgf_oid = mgf["algorithm"].dotted
            mgf_hash = mgf["parameters"]["algorithm"].dotted
            salt_length = int(params["salt_length"].native)
            trailer = params["trailer_field"].native
        except (ValueError, TypeError, KeyError) as exc:
            raise UnsupportedAlgorithm(f"malformed RSA-PSS parameters ({exc})") from None
        digest = DigestAlgorithm.from_name(hash_oid)  # refuses SHA-1 and MD5
        if mgf_oid != "1.2.840.113549.1.1.8" or mgf_hash != hash_oid:  # id-mgf1 (RFC 8017)
            raise UnsupportedAlgorithm("RSA-PSS mask generation must be MGF1 with the message hash")
        if trailer not in (1, "trailer_field_bc") or not 0 <= salt_length <= 1024:
            raise UnsupportedAlgorithm("RSA-PSS trailer field or salt length not supported")
        return cls(digest, salt_length)
