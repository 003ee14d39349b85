"""A signer: a private key, its certificate and chain, and the algorithm they imply.

The one signing interface every part of ecert uses (OFD signatures, CMS, QR payloads,
status lists); verification goes through :class:`ecert.crypto.keys.PublicKey`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.keys import PrivateKey, load_private_key
from ecert.crypto.x509 import Certificate, load_certificates
from ecert.errors import InputError, InvalidKey

__all__ = ["Signer"]


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs with ``private_key``; construction checks the key belongs to ``certificate``."""

    private_key: PrivateKey = field(repr=False)
    certificate: Certificate
    chain: tuple[Certificate, ...] = ()

    def __post_init__(self) -> None:
        if self.private_key.public_key().spki_der() != self.certificate.public_key.spki_der():
            raise InvalidKey(
                "the private key does not belong to the certificate", where=self.certificate.subject
            )

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return self.private_key.default_algorithm

    def sign(self, data: bytes) -> bytes:
        """Signature over ``data`` (DER for SM2 and ECDSA, 64 bytes for Ed25519)."""
        return self.private_key.sign(data)

    @classmethod
    def load(cls, key_path: str | Path, cert_path: str | Path, password: bytes | None = None) -> Signer:
        """Key and certificate from files; the certificate file may hold the chain after it."""
        try:
            key_data = Path(key_path).read_bytes()
            cert_data = Path(cert_path).read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read key or certificate ({exc.strerror})", where=str(exc.filename)
            ) from None
        certs = load_certificates(cert_data)
        if not certs:
            raise InputError("no certificate in the file", where=str(cert_path))
        return cls(load_private_key(key_data, password), certs[0], tuple(certs[1:]))
