"""X.509 certificates, SM2 ones included.

pyca/cryptography parses SM2 certificates but cannot give their public key (it refuses the
SM2 curve), so the SubjectPublicKeyInfo is read with asn1crypto and SM2 signatures on
certificates are checked with our SM2 (default user ID, GM/T 0015 / GB/T 35275).  Every
field is read once, at construction: a ``Certificate`` that exists is well formed.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from ecert.crypto.algorithms import PssParameters, SignatureAlgorithm
from ecert.crypto.der import check_bounds, parser_reason
from ecert.crypto.keys import PublicKey
from ecert.crypto.sm2 import DEFAULT_UID
from ecert.errors import EcertError, InputError, InvalidCertificate, InvalidSignature
from ecert.times import aware

__all__ = [
    "ORGANIZATION_IDENTIFIER",
    "Certificate",
    "load_certificate",
    "load_certificates",
    "organization_code",
]

# cryptography's KeyUsage attribute names, reported with RFC 5280 names where they differ
_KEY_USAGE_NAMES = {
    "digital_signature": "digital_signature",
    "content_commitment": "non_repudiation",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "key_cert_sign": "key_cert_sign",
    "crl_sign": "crl_sign",
}
_MAX_CERTIFICATE = 1 << 20  # 1 MiB: real certificates are a few KiB


#: DER -> parsed certificate.  A Certificate is immutable and a pure function of its DER, and a
#: verifier meets the same department certificate in every file it checks (parsing it twice, with
#: pyca and asn1crypto, costs about as much as an SM2 verification).
_PARSED: dict[bytes, Certificate] = {}
_PARSED_SIZE = 256


ORGANIZATION_IDENTIFIER = "2.5.4.97"  # X.520 organizationIdentifier: the department's USCC
# ETSI EN 319 412-1 §5.1.4 semantics identifier: 3-letter scheme, 2-letter country, "-", the code
# (e.g. "NTRCN-91330100MB01234570").  Anything else must be the bare code itself.
_SEMANTICS_IDENTIFIER = re.compile(r"[A-Z]{3}[A-Z]{2}-(.+)")


def organization_code(value: str) -> str:
    """The registration code an organizationIdentifier carries: the bare value, or the part after an
    ETSI semantics-identifier prefix.  Compared exactly: a code that merely *contains* the issuer's
    code (a prefix or suffix added by another CA) names another organisation."""
    value = value.strip().upper()
    match = _SEMANTICS_IDENTIFIER.fullmatch(value)
    return match.group(1) if match else value


@dataclass(frozen=True, slots=True)
class Certificate:
    """An X.509 certificate: the exact DER plus the fields path building and verification need.

    ``key_usage`` names bits as RFC 5280 does (``digital_signature``, ``non_repudiation``,
    ``key_cert_sign``, ``crl_sign``...); ``extended_key_usage`` holds dotted OIDs.  Both are
    None when the extension is absent.
    """

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
    signature_algorithm_params: bytes | None = field(repr=False)
    signature: bytes = field(repr=False)
    tbs_der: bytes = field(repr=False)
    is_ca: bool
    path_length: int | None
    key_usage: frozenset[str] | None
    extended_key_usage: frozenset[str] | None
    subject_key_id: bytes | None = field(repr=False)
    authority_key_id: bytes | None = field(repr=False)
    critical_extension_oids: frozenset[str]
    common_name: str | None
    subject_attributes: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (OID, value)
    encoding: str = "DER"  # "BER" when read leniently (a DEFAULT value encoded, as some CAs write)

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        """Parse one DER certificate; :class:`InvalidCertificate` for anything malformed."""
        if not isinstance(der, bytes | bytearray):
            raise InvalidCertificate("certificate data must be bytes", value=type(der).__name__)
        der = bytes(der)
        if len(der) > _MAX_CERTIFICATE:
            raise InvalidCertificate("certificate too large", value=len(der), expected="<= 1 MiB")
        known = _PARSED.get(der)
        if known is not None:
            return known
        try:
            check_bounds(der, what="certificate")  # linear, before parsers that are not
        except InputError as exc:
            raise InvalidCertificate(str(exc)) from None
        try:
            with warnings.catch_warnings():
                # cryptography warns (not raises) on what it reads anyway: a 12-character countryName,
                # a serial that is not positive (RFC 5280 forbids it; some CAs write one).  The values
                # are kept as encoded, so the warnings are noise to our callers.
                warnings.filterwarnings("ignore", message="Attribute's length", category=UserWarning)
                warnings.filterwarnings("ignore", message="Parsed a (negative )?serial number")
                try:
                    cert = cls._parse(der)
                except ValueError:  # cryptography's strict DER parser refused it: read it as OpenSSL does
                    cert = cls._parse_lenient(der)
        except EcertError as exc:
            if isinstance(exc, InvalidCertificate):
                raise
            raise InvalidCertificate(f"certificate public key unusable: {exc}") from None
        except Exception as exc:  # any parser failure on hostile input is a malformed certificate
            raise InvalidCertificate(f"malformed certificate ({parser_reason(exc)})") from None
        if _PARSED and len(_PARSED) >= _PARSED_SIZE:
            _PARSED.pop(next(iter(_PARSED)), None)  # oldest first
        _PARSED[der] = cert
        return cert

    @classmethod
    def _parse(cls, der: bytes) -> Certificate:
        cert = x509.load_der_x509_certificate(der)
        parsed = asn1_x509.Certificate.load(der, strict=True)
        tbs = parsed["tbs_certificate"]
        if tbs.dump() != cert.tbs_certificate_bytes:
            raise InvalidCertificate("certificate parsers disagree on the TBSCertificate")
        params = parsed["signature_algorithm"]["parameters"]
        public_key = PublicKey.from_spki_der(tbs["subject_public_key_info"].dump())
        exts = cert.extensions
        basic = _ext(exts, x509.BasicConstraints)
        usage = _ext(exts, x509.KeyUsage)
        eku = _ext(exts, x509.ExtendedKeyUsage)
        ski = _ext(exts, x509.SubjectKeyIdentifier)
        aki = _ext(exts, x509.AuthorityKeyIdentifier)
        subject = cert.subject.rfc4514_string()
        issuer = cert.issuer.rfc4514_string()
        names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return cls(
            der=der,
            subject=subject,
            issuer=issuer,
            subject_der=cert.subject.public_bytes(),
            issuer_der=cert.issuer.public_bytes(),
            serial_number=cert.serial_number,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            public_key=public_key,
            signature_algorithm_oid=cert.signature_algorithm_oid.dotted_string,
            signature_algorithm_params=None if params.native is None else bytes(params.dump()),
            signature=cert.signature,
            tbs_der=cert.tbs_certificate_bytes,
            is_ca=bool(basic and basic.ca),
            path_length=basic.path_length if basic else None,
            key_usage=None if usage is None else _usage_names(usage),
            extended_key_usage=None if eku is None else frozenset(o.dotted_string for o in eku),
            subject_key_id=ski.digest if ski else None,
            authority_key_id=aki.key_identifier if aki else None,
            critical_extension_oids=frozenset(e.oid.dotted_string for e in exts if e.critical),
            common_name=str(names[0].value) if names else None,
            subject_attributes=tuple((a.oid.dotted_string, str(a.value)) for a in cert.subject),
        )

    @classmethod
    def _parse_lenient(cls, der: bytes) -> Certificate:
        """A certificate cryptography refuses as not DER, read with asn1crypto (BER, as OpenSSL and
        BouncyCastle read it): CAs of several provinces write BasicConstraints with cA=FALSE spelled
        out (``30 03 01 01 00``), a DEFAULT value DER omits.  Fields are read for access only; the
        signature is checked over the TBSCertificate exactly as it appears in the input."""
        parsed = asn1_x509.Certificate.load(der, strict=True)
        tbs = parsed["tbs_certificate"]
        tbs_der = bytes(tbs.dump())
        if parsed.dump() != der or not der.endswith(bytes(parsed["signature_value"].dump())):
            raise InvalidCertificate("certificate encoding could not be read back exactly")
        algorithm = parsed["signature_algorithm"]
        params = algorithm["parameters"]
        extensions = _lenient_extensions(tbs)
        basic = extensions.get("2.5.29.19")
        usage = extensions.get("2.5.29.15")
        eku = extensions.get("2.5.29.37")
        ski = extensions.get("2.5.29.14")
        aki = extensions.get("2.5.29.35")
        subject_attrs = _name_attributes(tbs["subject"])
        names = [v for o, v in subject_attrs if o == "2.5.4.3"]
        return cls(
            der=der,
            subject=_name_text(subject_attrs),
            issuer=_name_text(_name_attributes(tbs["issuer"])),
            subject_der=bytes(tbs["subject"].dump()),
            issuer_der=bytes(tbs["issuer"].dump()),
            serial_number=int(tbs["serial_number"].native),
            not_before=aware(tbs["validity"]["not_before"].native, "notBefore"),
            not_after=aware(tbs["validity"]["not_after"].native, "notAfter"),
            public_key=PublicKey.from_spki_der(bytes(tbs["subject_public_key_info"].dump())),
            signature_algorithm_oid=str(algorithm["algorithm"].dotted),
            signature_algorithm_params=None if params.native is None else bytes(params.dump()),
            signature=bytes(parsed["signature_value"].native),
            tbs_der=tbs_der,
            is_ca=bool(basic is not None and basic[1]["ca"].native),
            path_length=None if basic is None else basic[1]["path_len_constraint"].native,
            key_usage=None if usage is None else frozenset(str(u) for u in usage[1].native),
            extended_key_usage=None if eku is None else frozenset(str(o.dotted) for o in eku[1]),
            subject_key_id=None if ski is None else bytes(ski[1].native),
            authority_key_id=None if aki is None or aki[1]["key_identifier"].native is None
            else bytes(aki[1]["key_identifier"].native),
            critical_extension_oids=frozenset(o for o, (critical, _v) in extensions.items() if critical),
            common_name=names[0] if names else None,
            subject_attributes=subject_attrs,
            encoding="BER",
        )

    def subject_attribute(self, oid: str) -> tuple[str, ...]:
        """Values of a subject attribute, e.g. ``2.5.4.97`` organizationIdentifier (the USCC a
        department certificate names) or ``2.5.4.10`` organizationName."""
        try:
            wanted = x509.ObjectIdentifier(oid)
        except (TypeError, ValueError):
            raise InputError(
                "not an object identifier", where="oid", value=oid, expected="e.g. 2.5.4.97"
            ) from None
        return tuple(value for key, value in self.subject_attributes if key == wanted.dotted_string)

    def organization_codes(self) -> frozenset[str]:
        """The registration codes (for a department, its USCC) the subject's organizationIdentifier
        attributes carry, read by :func:`organization_code`."""
        return frozenset(organization_code(v) for v in self.subject_attribute(ORGANIZATION_IDENTIFIER))

    def fingerprint_sha256(self) -> str:
        """SHA-256 of the DER, hex (as ``openssl x509 -fingerprint -sha256`` without colons)."""
        return hashlib.sha256(self.der).hexdigest()

    def to_pem(self) -> bytes:
        return bytes(pem.armor("CERTIFICATE", self.der))

    def valid_at(self, when: datetime) -> bool:
        """Whether ``when`` (timezone-aware) lies in [not_before, not_after]."""
        when = aware(when, "when")
        return self.not_before <= when <= self.not_after

    def verify_issued_by(self, issuer: Certificate, *, accept_empty_sm2_id: bool = True) -> None:
        """Check this certificate's signature with ``issuer``'s key; raises InvalidSignature.

        The algorithm comes from this certificate's signatureAlgorithm (weak or unknown ones
        raise UnsupportedAlgorithm).  SM2 certificate signatures use the default user ID
        ``1234567812345678`` (GM/T 0015).  OpenSSL 3.0 ``req -x509 -sm3`` and ``x509 -sm3``
        sign with an *empty* ID unless given ``-sigopt distid:1234567812345678`` (and 3.0's
        ``openssl verify`` checks with the empty ID unless given ``-vfyopt distid:...``), so by
        default a signature made with the empty ID is accepted too: both IDs are fixed, the
        signature is still fully checked, nothing is guessed from the certificate.  Pass
        ``accept_empty_sm2_id=False`` for strict GM/T 0015.
        """
        algorithm = SignatureAlgorithm.from_oid(self.signature_algorithm_oid)
        pss = None
        if algorithm is SignatureAlgorithm.RSA_PSS:
            pss = PssParameters.from_der(self.signature_algorithm_params)
        try:
            issuer.public_key.verify(self.signature, self.tbs_der, algorithm, uid=DEFAULT_UID, pss=pss)
        except InvalidSignature:
            if algorithm is not SignatureAlgorithm.SM2_SM3 or not accept_empty_sm2_id:
                raise
            issuer.public_key.verify(self.signature, self.tbs_der, algorithm, uid=b"")


def _lenient_extensions(tbs: asn1_x509.TbsCertificate) -> dict[str, tuple[bool, Any]]:
    """OID -> (critical, parsed value) of every extension; a repeated extension is refused (RFC 5280)."""
    out: dict[str, tuple[bool, Any]] = {}
    for ext in tbs["extensions"]:
        key = str(ext["extn_id"].dotted)
        if key in out:
            raise InvalidCertificate("extension repeated", value=key)
        out[key] = (bool(ext["critical"].native), ext["extn_value"].parsed)
    return out


def _name_attributes(name: asn1_x509.Name) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(atv["type"].dotted), str(atv["value"].native))
        for rdn in name.chosen
        for atv in rdn
    )


def _name_text(attributes: tuple[tuple[str, str], ...]) -> str:
    """The RFC 4514 form cryptography gives (last RDN first, short names where it has them)."""
    try:
        name = x509.Name([x509.NameAttribute(x509.ObjectIdentifier(o), v) for o, v in attributes])
        return name.rfc4514_string()
    except (ValueError, TypeError):
        return ",".join(f"{o}={v}" for o, v in reversed(attributes))


def _usage_names(usage: x509.KeyUsage) -> frozenset[str]:
    names = {ours for theirs, ours in _KEY_USAGE_NAMES.items() if getattr(usage, theirs)}
    if usage.key_agreement:  # encipher_only / decipher_only are defined only with keyAgreement
        names |= {n for n in ("encipher_only", "decipher_only") if getattr(usage, n)}
    return frozenset(names)


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
        raise InvalidCertificate("no certificate found", expected="a CERTIFICATE PEM block or DER")
    return certs[0]


def load_certificates(data: bytes) -> tuple[Certificate, ...]:
    """Every certificate of a PEM bundle (other PEM blocks are skipped), or the one DER certificate."""
    if not isinstance(data, bytes | bytearray):
        raise InvalidCertificate("certificate data must be bytes", value=type(data).__name__)
    data = bytes(data)
    if pem.detect(data):
        try:
            blocks = [der for name, _h, der in pem.unarmor(data, multiple=True) if name == "CERTIFICATE"]
        except (ValueError, TypeError) as exc:
            raise InvalidCertificate(f"malformed PEM ({exc})") from None
        return tuple(Certificate.from_der(bytes(b)) for b in blocks)
    return (Certificate.from_der(data),)
