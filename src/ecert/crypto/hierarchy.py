"""Small issuing hierarchies for demos and tests: a root and a department signing certificate.

Certificates are built with asn1crypto and signed with :class:`PrivateKey` for every key kind,
so SM2 certificates (which cryptography cannot sign) are made the same way as P-256 and Ed25519
ones.  The department certificate names the department's 统一社会信用代码 in the subject
(organizationIdentifier, 2.5.4.97), which verification compares with the certificate metadata.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509

from ecert.crypto.algorithms import KeyKind
from ecert.crypto.keys import PrivateKey, PublicKey, generate_private_key
from ecert.crypto.x509 import Certificate
from ecert.errors import InputError, InvalidKey

__all__ = ["DemoHierarchy", "make_issuer_certificate", "make_root"]


def _name(common_name: str, organization: str | None, org_id: str | None, country: str) -> asn1_x509.Name:
    """A subject Name: countryName as PrintableString (RFC 5280), the rest UTF8String (Chinese)."""
    if not common_name:
        raise InputError("a certificate needs a common name", where="common_name")
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise InputError("country must be a two-letter ISO 3166 code", where="country", value=country)
    attrs: dict[str, str] = {"country_name": country.upper()}
    if organization:
        attrs["organization_name"] = organization
    if org_id:
        attrs["organization_identifier"] = org_id
    attrs["common_name"] = common_name
    return asn1_x509.Name.build(attrs, use_printable=False)


def _time(when: datetime) -> asn1_x509.Time:
    """UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 section 4.1.2.5)."""
    return asn1_x509.Time({"utc_time" if when.year < 2050 else "general_time": when})


def _key_id(public_key: PublicKey) -> bytes:
    spki = asn1_keys.PublicKeyInfo.load(public_key.spki_der())
    return hashlib.sha1(bytes(spki["public_key"]), usedforsecurity=False).digest()  # RFC 5280 §4.2.1.2 (1)


def _build(
    *,
    subject: asn1_x509.Name,
    issuer: asn1_x509.Name,
    subject_key: PublicKey,
    signing_key: PrivateKey,
    issuer_key_id: bytes,
    not_before: datetime,
    days: int,
    ca: bool,
    path_length: int | None,
) -> Certificate:
    """Build the TBSCertificate with asn1crypto and sign it with ``signing_key``'s default algorithm.

    One path for every key kind: cryptography's CertificateBuilder cannot sign with SM2.
    """
    if not_before.tzinfo is None:
        raise InputError("certificate times must be timezone-aware", where="not_before")
    if days < 1:
        raise InputError("a certificate must be valid for at least one day", where="days", value=days)
    start = not_before.astimezone(UTC).replace(microsecond=0)
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    basic: dict[str, object] = {"ca": ca}
    if ca and path_length is not None:
        basic["path_len_constraint"] = path_length
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": basic},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_id(subject_key)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": issuer_key_id},
        },
    ]
    algorithm = signing_key.default_algorithm
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": secrets.randbits(120) | 1 << 120,
            "signature": {"algorithm": algorithm.oid},
            "issuer": issuer,
            "validity": {
                "not_before": _time(start),
                "not_after": _time(start + timedelta(days=days)),
            },
            "subject": subject,
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(subject_key.spki_der()),
            "extensions": extensions,
        }
    )
    tbs_der = tbs.dump()
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": algorithm.oid},
            "signature_value": signing_key.sign(tbs_der),
        }
    )
    return Certificate.from_der(cert.dump())


def make_root(
    key: PrivateKey,
    common_name: str,
    *,
    organization: str | None = None,
    country: str = "CN",
    not_before: datetime,
    days: int = 3650,
) -> Certificate:
    """A self-signed root: basicConstraints critical CA:TRUE (no path length limit), keyUsage
    keyCertSign + cRLSign, subject key identifier."""
    name = _name(common_name, organization, None, country)
    return _build(
        subject=name,
        issuer=name,
        subject_key=key.public_key(),
        signing_key=key,
        issuer_key_id=_key_id(key.public_key()),
        not_before=not_before,
        days=days,
        ca=True,
        path_length=None,
    )


def make_issuer_certificate(
    issuer_key: PrivateKey,
    issuer_cert: Certificate,
    subject_key: PublicKey,
    common_name: str,
    *,
    organization: str | None = None,
    organization_identifier: str | None = None,
    country: str = "CN",
    not_before: datetime,
    days: int = 1825,
    ca: bool = False,
) -> Certificate:
    """A certificate for ``subject_key`` signed by ``issuer_key`` under ``issuer_cert``.

    By default the department's signing certificate: keyUsage digitalSignature +
    nonRepudiation (critical), not a CA.  ``ca=True`` makes an intermediate CA
    (keyCertSign + cRLSign, path length 0).  SKI and AKI link it to the issuer.
    """
    if issuer_key.public_key().spki_der() != issuer_cert.public_key.spki_der():
        raise InvalidKey(
            "the issuer key does not belong to the issuer certificate", where=issuer_cert.subject
        )
    return _build(
        subject=_name(common_name, organization, organization_identifier, country),
        issuer=asn1_x509.Name.load(issuer_cert.subject_der),
        subject_key=subject_key,
        signing_key=issuer_key,
        issuer_key_id=issuer_cert.subject_key_id or _key_id(issuer_cert.public_key),
        not_before=not_before,
        days=days,
        ca=ca,
        path_length=0 if ca else None,
    )


@dataclass(frozen=True, slots=True)
class DemoHierarchy:
    """A demo root and one department issuing certificate under it."""

    root_key: PrivateKey = field(repr=False)
    root_cert: Certificate
    issuer_key: PrivateKey = field(repr=False)
    issuer_cert: Certificate

    @classmethod
    def create(
        cls,
        kind: KeyKind | str = "sm2",
        *,
        department: str = "示例市市场监督管理局",
        department_code: str | None = None,
        now: datetime | None = None,
    ) -> DemoHierarchy:
        """Fresh keys of ``kind``, a root and the department's signing certificate under it.

        Both certificates start a day before ``now`` (so a file signed ``now`` verifies even
        with a little clock skew); ``department_code`` is the 统一社会信用代码 put in the subject.
        """
        if now is not None and now.tzinfo is None:
            raise InputError("now must be timezone-aware", where="now", value=now)
        start = (now or datetime.now(UTC)) - timedelta(days=1)
        root_key, issuer_key = generate_private_key(kind), generate_private_key(kind)
        root = make_root(
            root_key, "ecert 演示根证书 (demo root)", organization="ecert 演示", not_before=start
        )
        cert = make_issuer_certificate(
            root_key,
            root,
            issuer_key.public_key(),
            department,
            organization=department,
            organization_identifier=department_code,
            not_before=start,
        )
        return cls(root_key, root, issuer_key, cert)
