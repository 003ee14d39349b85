"""Who may sign for which issuing authority: the trust store's authorisations and the signer rule.

A certificate that chains to a trusted root proves *who* signed, not that the signer may issue
e-certificates for a department: a root issues personal certificates and other departments'
certificates too.  A signer is authorised for an issuer code (统一社会信用代码) when

* its certificate names that code (organizationIdentifier, 2.5.4.97), or
* the caller's trust store says so: an :class:`Authorisation` maps a certificate — the signer's
  own or a CA on its validated path — to the codes it may sign for (``spec/trust-authorisations.md``,
  the ``authorisations.json`` file of a trust directory);

and it is not a personal certificate (:func:`personal_reason`): a certificate naming no
organisation, or whose key usage or extended key usage is not for signing documents, never signs
an e-certificate, whatever the trust store says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ecert.codes import uscc
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError

__all__ = [
    "AUTHORISATIONS_FILE",
    "AUTHORISATIONS_FORMAT",
    "DOCUMENT_SIGNING_EKUS",
    "Authorisation",
    "granted_codes",
    "load_authorisations",
    "parse_authorisations",
    "personal_reason",
]

AUTHORISATIONS_FILE = "authorisations.json"
"""The file of a trust directory that holds its authorisations (spec/trust-authorisations.md)."""
AUTHORISATIONS_FORMAT = "ecert-trust-authorisations/1"
_MAX_FILE = 4 * 1024 * 1024  # a province lists a few thousand departments: well under 1 MiB
_MAX_ENTRIES = 100_000
_FINGERPRINT = r"[0-9a-f]{64}"  # compiled (and cached by re) when an authorisations file is read

ORGANIZATION_NAME = "2.5.4.10"
# extendedKeyUsage purposes a document-signing certificate carries in practice (RFC 5280 §4.2.1.12,
# RFC 9336 documentSigning; Chinese CAs write clientAuth + emailProtection on organisation
# certificates).  A certificate whose EKU lists none of them was made for something else (a TLS
# server, code, time-stamping, OCSP).
DOCUMENT_SIGNING_EKUS = frozenset(
    {
        "2.5.29.37.0",  # anyExtendedKeyUsage
        "1.3.6.1.5.5.7.3.2",  # clientAuth
        "1.3.6.1.5.5.7.3.4",  # emailProtection (S/MIME signing)
        "1.3.6.1.5.5.7.3.36",  # documentSigning (RFC 9336)
        "1.3.6.1.4.1.311.10.3.12",  # Microsoft document signing
        "1.2.840.113583.1.1.5",  # Adobe PDF signing
    }
)
_SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})


@dataclass(frozen=True, slots=True)
class Authorisation:
    """The trust store's word that a certificate (a signer, or a CA: every signer below it) may sign
    e-certificates for ``issuer_codes``.  ``certificate_sha256`` is the SHA-256 of its DER, hex
    (``openssl x509 -noout -fingerprint -sha256`` without colons, lower case)."""

    certificate_sha256: str
    issuer_codes: frozenset[str]
    note: str = ""

    def __post_init__(self) -> None:
        fingerprint = str(self.certificate_sha256).replace(":", "").strip().lower()
        if not re.fullmatch(_FINGERPRINT, fingerprint):
            raise InputError("not a SHA-256 certificate fingerprint", where="certificate_sha256",
                             value=self.certificate_sha256, expected="64 hex digits")
        codes = frozenset(self.issuer_codes)
        if not codes:
            raise InputError("an authorisation names no issuer code", where=fingerprint,
                             expected="at least one 统一社会信用代码")
        for code in codes:
            if not isinstance(code, str):
                raise InputError("issuer code must be a string", where=fingerprint, value=code)
            uscc.validate(code)
        object.__setattr__(self, "certificate_sha256", fingerprint)
        object.__setattr__(self, "issuer_codes", codes)

    @classmethod
    def for_certificate(cls, cert: Certificate, *codes: str, note: str = "") -> Authorisation:
        return cls(cert.fingerprint_sha256(), frozenset(codes), note)


def parse_authorisations(data: bytes, where: str = AUTHORISATIONS_FILE) -> tuple[Authorisation, ...]:
    """Read an authorisations file (spec/trust-authorisations.md); :class:`InputError` naming the
    entry for anything malformed (a wrong authorisation must not be skipped silently)."""
    if len(data) > _MAX_FILE:
        raise InputError("authorisations file too large", where=where, value=len(data),
                         expected=f"<= {_MAX_FILE} bytes")
    import json  # a trust directory without authorisations loads no JSON decoder

    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"authorisations file is not JSON ({exc})", where=where) from None
    if not isinstance(doc, dict) or doc.get("format") != AUTHORISATIONS_FORMAT:
        raise InputError("not an authorisations file", where=where,
                         expected=f'a JSON object with "format": "{AUTHORISATIONS_FORMAT}"')
    entries = doc.get("authorisations")
    if not isinstance(entries, list) or len(entries) > _MAX_ENTRIES:
        raise InputError('"authorisations" must be a list', where=where,
                         expected=f"at most {_MAX_ENTRIES} entries")
    out: list[Authorisation] = []
    for index, entry in enumerate(entries):
        here = f"{where}, authorisation {index + 1}"
        if not isinstance(entry, dict):
            raise InputError("an authorisation must be an object", where=here)
        fingerprint, codes = entry.get("certificate_sha256"), entry.get("issuer_codes")
        note = entry.get("note", "")
        if not isinstance(fingerprint, str) or not isinstance(codes, list) or not isinstance(note, str):
            raise InputError("an authorisation needs certificate_sha256 (text) and issuer_codes (a list)",
                             where=here)
        try:
            out.append(Authorisation(fingerprint, frozenset(codes), note))
        except EcertError as exc:
            raise InputError(f"bad authorisation: {exc}", where=here) from None
        except TypeError:  # an unhashable code (a list inside the list)
            raise InputError("issuer codes must be strings", where=here) from None
    return tuple(out)


def load_authorisations(path: str | Path) -> tuple[Authorisation, ...]:
    """The authorisations of a file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read authorisations file ({exc.strerror})", where=str(path)) from None
    return parse_authorisations(data, str(path))


def granted_codes(authorisations: Iterable[Authorisation], path: Sequence[Certificate]) -> frozenset[str]:
    """The issuer codes the authorisations give to any certificate of ``path`` (signer first)."""
    prints = {cert.fingerprint_sha256() for cert in path}
    return frozenset(
        code for a in authorisations if a.certificate_sha256 in prints for code in a.issuer_codes
    )


def personal_reason(cert: Certificate) -> str | None:
    """Why ``cert`` may not sign e-certificates as a department, or None when it may.

    A department's certificate names its organisation (organizationIdentifier or organizationName,
    written by the CA that checked it) and allows signing documents; a personal certificate
    (CN=张三) or one made for a TLS server never issues certificates."""
    if not cert.organization_codes() and not cert.subject_attribute(ORGANIZATION_NAME):
        return (
            "it names no organisation (no organizationIdentifier or organizationName): "
            "a personal certificate"
        )
    usage = cert.key_usage
    if usage is not None and not usage & _SIGNING_USAGES:
        return f"its keyUsage ({', '.join(sorted(usage))}) does not allow signing documents"
    eku = cert.extended_key_usage
    if eku is not None and not eku & DOCUMENT_SIGNING_EKUS:
        return f"its extendedKeyUsage ({', '.join(sorted(eku))}) is not for signing documents"
    return None
