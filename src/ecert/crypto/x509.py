"""X.509 certificates, SM2 ones included.

pyca/cryptography parses SM2 certificates but cannot give their public key (it refuses the
SM2 curve), so the SubjectPublicKeyInfo is read with asn1crypto and SM2 signatures on
certificates are checked with our SM2 (default user ID, as GM/T 0015 requires).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.keys import PublicKey
from ecert.errors import EcertError, InvalidCertificate, InvalidSignature

__all__ = ["Certificate", "load_certificate", "load_certificates"]

_KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


@dataclass(frozen=True, slots=True)
class Certificate:
    """An X.509 certificate: the exact DER plus the fields verification needs."""

    der: bytes = field(repr=False)
    subject: str
    issuer: str
    subject_der: bytes = field(repr=False)
    issuer_der: bytes = field(repr=False)
    serial_number: int
    not_before: datetime
    not_after: datetime
    public_key: PublicKey = field(repr=False)
    signature_algorithm_oid: str
    signature: bytes = field(repr=False)
    tbs_der: bytes = field(repr=False)
    is_ca: bool
    path_length: int | None
    key_usage: frozenset[str] | None
    subject_key_id: bytes | None = field(repr=False)
    authority_key_id: bytes | None = field(repr=False)
    critical_extension_oids: frozenset[str]

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        try:
            cert = x509.load_der_x509_certificate(der)
            parsed = asn1_x509.Certificate.load(der, strict=True)
            spki = parsed["tbs_certificate"]["subject_public_key_info"].dump()
            exts = cert.extensions
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidCertificate(f"malformed certificate ({exc})") from None
        try:
            public_key = PublicKey.from_spki_der(spki)
        except EcertError as exc:
            raise InvalidCertificate(f"certificate public key unusable: {exc}") from None
        basic = _ext(exts, x509.BasicConstraints)
        usage = _ext(exts, x509.KeyUsage)
        ski = _ext(exts, x509.SubjectKeyIdentifier)
        aki = _ext(exts, x509.AuthorityKeyIdentifier)
        return cls(
            der=bytes(der),
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            subject_der=cert.subject.public_bytes(),
            issuer_der=cert.issuer.public_bytes(),
            serial_number=cert.serial_number,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            public_key=public_key,
            signature_algorithm_oid=cert.signature_algorithm_oid.dotted_string,
            signature=cert.signature,
            tbs_der=cert.tbs_certificate_bytes,
            is_ca=bool(basic and basic.ca),
            path_length=basic.path_length if basic else None,
            key_usage=None if usage is None else frozenset(n for n in _KEY_USAGE_NAMES if getattr(usage, n)),
            subject_key_id=ski.digest if ski else None,
            authority_key_id=aki.key_identifier if aki else None,
            critical_extension_oids=frozenset(e.oid.dotted_string for e in exts if e.critical),
        )

    @property
    def common_name(self) -> str | None:
        cert = x509.load_der_x509_certificate(self.der)
        names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else None

    def fingerprint_sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    def to_pem(self) -> bytes:
        return bytes(pem.armor("CERTIFICATE", self.der))

    def valid_at(self, when: datetime) -> bool:
        return self.not_before <= when <= self.not_after

    def verify_issued_by(self, issuer: Certificate) -> None:
        """Check this certificate's signature with ``issuer``'s key; raises InvalidSignature.

        SM2 certificate signatures use the default user ID ``1234567812345678`` (GM/T 0015);
        OpenSSL 3.0 signs with an empty ID unless told ``-sigopt distid:...``, so an empty ID is
        accepted too for certificates (both are explicit, standard-conforming IDs; the signature
        is still fully checked).
        """
        algorithm = SignatureAlgorithm.from_oid(self.signature_algorithm_oid)
        try:
            issuer.public_key.verify(self.signature, self.tbs_der, algorithm)
        except InvalidSignature:
            if algorithm is not SignatureAlgorithm.SM2_SM3:
                raise
            issuer.public_key.verify(self.signature, self.tbs_der, algorithm, uid=b"")


_E = TypeVar("_E", bound=x509.ExtensionType)


def _ext(exts: x509.Extensions, kind: type[_E]) -> _E | None:
    try:
        return exts.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def load_certificate(data: bytes) -> Certificate:
    """One certificate from PEM or DER (the first of a PEM bundle)."""
    certs = load_certificates(data)
    if not certs:
        raise InvalidCertificate("no certificate found")
    return certs[0]


def load_certificates(data: bytes) -> tuple[Certificate, ...]:
    """Every certificate of a PEM bundle, or the one DER certificate."""
    if not isinstance(data, bytes | bytearray):
        raise InvalidCertificate("certificate data must be bytes", value=type(data).__name__)
    data = bytes(data)
    if pem.detect(data):
        try:
            blocks = [der for name, _h, der in pem.unarmor(data, multiple=True) if name == "CERTIFICATE"]
        except ValueError as exc:
            raise InvalidCertificate(f"malformed PEM ({exc})") from None
        return tuple(Certificate.from_der(bytes(b)) for b in blocks)
    return (Certificate.from_der(data),)
