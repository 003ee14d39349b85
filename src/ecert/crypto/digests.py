"""Digest algorithms named as OFD, CMS and seals name them (OID or name).

OFD ``References/@CheckMethod`` is an OID in conforming files (``1.2.156.10197.1.401``)
but ofdrw writes the bare name ``SM3``; both are accepted.  Weak digests (MD5, SHA-1)
are refused, never silently accepted.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes

from ecert.crypto import oids
from ecert.errors import UnsupportedAlgorithm


class DigestAlgorithm(enum.Enum):
    """A digest algorithm ecert accepts, valued by its OID."""

    SM3 = oids.SM3
    SHA256 = oids.SHA256
    SHA384 = oids.SHA384
    SHA512 = oids.SHA512

    @property
    def oid(self) -> str:
        return str(self.value)

    @property
    def digest_size(self) -> int:
        return self._hash().digest_size

    def _hash(self) -> hashes.HashAlgorithm:
        return _HASHES[self]()

    def hash_algorithm(self) -> hashes.HashAlgorithm:
        """The cryptography hash object (for ECDSA, RSA and HMAC APIs)."""
        return self._hash()

    def digest(self, data: bytes) -> bytes:
        h = hashes.Hash(self._hash())
        h.update(data)
        return h.finalize()

    def hasher(self) -> hashes.Hash:
        """An incremental hasher: ``update()`` then ``finalize()``."""
        return hashes.Hash(self._hash())

    @classmethod
    def from_name(cls, name_or_oid: str) -> DigestAlgorithm:
        """Look up by OID (``1.2.156.10197.1.401``) or by name (``SM3``, ``SHA-256``).

        Raises :class:`UnsupportedAlgorithm` for unknown and weak digests.
        """
        key = name_or_oid.strip()
        if key in oids.WEAK:
            raise UnsupportedAlgorithm(f"digest algorithm {key} is weak and refused")
        by_name = _NAMES.get(key.upper().replace("-", "").replace("_", ""))
        if by_name is not None:
            return by_name
        try:
            return cls(key)
        except ValueError:
            if key.upper().replace("-", "") in {"MD5", "SHA1"}:
                raise UnsupportedAlgorithm(f"digest algorithm {key} is weak and refused") from None
            raise UnsupportedAlgorithm(
                f"unknown digest algorithm {key!r}",
            ) from None


_HASHES: dict[DigestAlgorithm, type[hashes.HashAlgorithm]] = {
    DigestAlgorithm.SM3: hashes.SM3,
    DigestAlgorithm.SHA256: hashes.SHA256,
    DigestAlgorithm.SHA384: hashes.SHA384,
    DigestAlgorithm.SHA512: hashes.SHA512,
}

_NAMES: dict[str, DigestAlgorithm] = {
    "SM3": DigestAlgorithm.SM3,
    "SHA256": DigestAlgorithm.SHA256,
    "SHA384": DigestAlgorithm.SHA384,
    "SHA512": DigestAlgorithm.SHA512,
}


def sm3(data: bytes) -> bytes:
    """SM3 (GB/T 32905-2016) digest of ``data``, 32 bytes."""
    return DigestAlgorithm.SM3.digest(data)
