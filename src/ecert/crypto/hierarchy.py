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
from ecert.errors import InputError

__all__ = ["DemoHierarchy", "make_issuer_certificate", "make_root"]


def _name(common_name: str, organization: str | None, org_id: str | None) -> asn1_x509.Name:
    attrs: dict[str, str] = {"country_name": "CN"}
    if organization:
        attrs["organization_name"] = organization
    if org_id:
        attrs["organization_identifier"] = org_id
    attrs["common_name"] = common_name
    return asn1_x509.Name.build(attrs, use_printable=False)


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
) -> Certificate:
    if not_before.tzinfo is None:
        raise InputError("certificate times must be timezone-aware", where="not_before")
    start = not_before.astimezone(UTC).replace(microsecond=0)
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    extensions = [
        {
            "extn_id": "basic_constraints",
            "critical": True,
            "extn_value": {"ca": ca, "path_len_constraint": 0 if ca else None},
        },
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
                "not_before": asn1_x509.Time({"utc_time": start}),
                "not_after": asn1_x509.Time({"utc_time": start + timedelta(days=days)}),
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
    not_before: datetime,
    days: int = 3650,
) -> Certificate:
    """A self-signed root (CA, keyCertSign + cRLSign)."""
    name = _name(common_name, organization, None)
    return _build(
        subject=name,
        issuer=name,
        subject_key=key.public_key(),
        signing_key=key,
        issuer_key_id=_key_id(key.public_key()),
        not_before=not_before,
        days=days,
        ca=True,
    )


def make_issuer_certificate(
    issuer_key: PrivateKey,
    issuer_cert: Certificate,
    subject_key: PublicKey,
    common_name: str,
    *,
    organization: str | None = None,
    organization_identifier: str | None = None,
    not_before: datetime,
    days: int = 1825,
    ca: bool = False,
) -> Certificate:
    """A certificate signed by ``issuer_key`` (the department's: digitalSignature + nonRepudiation)."""
    return _build(
        subject=_name(common_name, organization, organization_identifier),
        issuer=asn1_x509.Name.load(issuer_cert.subject_der),
        subject_key=subject_key,
        signing_key=issuer_key,
        issuer_key_id=issuer_cert.subject_key_id or _key_id(issuer_cert.public_key),
        not_before=not_before,
        days=days,
        ca=ca,
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
