"""Trust stores and certificate path validation (the subset of RFC 5280 e-certificates need).

The caller says what it trusts; nothing is trusted because it came inside a file.  A
certificate that is itself an anchor (byte-equal) is trusted directly, but its validity period
still applies.  The result lists every step with its outcome, so a report can say which failed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ecert.crypto.x509 import Certificate, load_certificates
from ecert.errors import EcertError, InputError, InvalidCertificate

__all__ = ["PathStep", "PathValidation", "TrustStore"]

MAX_CHAIN = 8
_KNOWN_CRITICAL = frozenset(
    {
        "2.5.29.15",  # keyUsage
        "2.5.29.19",  # basicConstraints
        "2.5.29.37",  # extendedKeyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.32",  # certificatePolicies
    }
)
_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


@dataclass(frozen=True, slots=True)
class PathStep:
    name: str
    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class PathValidation:
    ok: bool
    chain: tuple[Certificate, ...]
    steps: tuple[PathStep, ...]

    @property
    def failed_step(self) -> PathStep | None:
        return next((s for s in self.steps if not s.ok), None)


def _describe(cert: Certificate) -> str:
    return cert.subject or cert.fingerprint_sha256()[:16]


@dataclass(frozen=True, slots=True)
class TrustStore:
    anchors: tuple[Certificate, ...]

    @classmethod
    def empty(cls) -> TrustStore:
        return cls(())

    @classmethod
    def from_certificates(cls, *certs: Certificate) -> TrustStore:
        return cls(tuple(certs))

    @classmethod
    def from_files(cls, *paths: str | Path) -> TrustStore:
        certs: list[Certificate] = []
        for p in paths:
            try:
                data = Path(p).read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read trust anchor ({exc.strerror})", where=str(p)) from None
            try:
                certs.extend(load_certificates(data))
            except EcertError as exc:
                raise InvalidCertificate(f"trust anchor unreadable: {exc}", where=str(p)) from None
        return cls(tuple(certs))

    @classmethod
    def from_directory(cls, path: str | Path) -> TrustStore:
        folder = Path(path)
        if not folder.is_dir():
            raise InputError("trust store directory not found", where=str(path))
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES)
        return cls.from_files(*files)

    def validate(
        self, cert: Certificate, *, at: datetime, intermediates: Sequence[Certificate] = ()
    ) -> PathValidation:
        """Build and check a path from ``cert`` to an anchor at time ``at``."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise InputError("validation time must be timezone-aware", where="at")
        steps: list[PathStep] = []
        chain = self._build(cert, intermediates)
        if chain is None:
            if not self.anchors:
                msg = "the trust store is empty"
            else:
                msg = f"no path from {_describe(cert)} (issued by {cert.issuer}) to a trust anchor"
            steps.append(PathStep("build", False, msg))
            return PathValidation(False, (cert,), tuple(steps))
        steps.append(PathStep("build", True, " -> ".join(_describe(c) for c in chain)))
        steps.append(_check_signatures(chain))
        steps.append(_check_validity(chain, at))
        steps.append(_check_ca(chain))
        steps.append(_check_end_entity(chain[0], len(chain) == 1))
        steps.append(_check_critical(chain))
        return PathValidation(all(s.ok for s in steps), chain, tuple(steps))

    def _build(
        self, cert: Certificate, intermediates: Iterable[Certificate]
    ) -> tuple[Certificate, ...] | None:
        anchors = {a.der for a in self.anchors}
        pool = [c for c in intermediates if c.der != cert.der]
        chain = [cert]
        while len(chain) <= MAX_CHAIN:
            current = chain[-1]
            if current.der in anchors:
                return tuple(chain)
            candidates = [a for a in self.anchors if _issued(current, a)]
            candidates += [c for c in pool if _issued(current, c) and c not in chain]
            if not candidates:
                return None
            # several candidates (re-keyed CA with one name): prefer one whose key verifies
            chosen = (
                candidates[0]
                if len(candidates) == 1
                else next((c for c in candidates if _signed_by(current, c)), candidates[0])
            )
            if chosen in chain:
                return None
            chain.append(chosen)
        return None


def _issued(cert: Certificate, issuer: Certificate) -> bool:
    if cert.issuer_der != issuer.subject_der:
        return False
    if cert.authority_key_id and issuer.subject_key_id:
        return cert.authority_key_id == issuer.subject_key_id
    return True


def _signed_by(cert: Certificate, issuer: Certificate) -> bool:
    try:
        cert.verify_issued_by(issuer)
    except EcertError:
        return False
    return True


def _check_signatures(chain: tuple[Certificate, ...]) -> PathStep:
    for cert, issuer in itertools.pairwise(chain):
        if not _signed_by(cert, issuer):
            return PathStep(
                "signature",
                False,
                f"the signature on {_describe(cert)} does not verify with the key of {_describe(issuer)}",
            )
    return PathStep("signature", True, "every certificate signature verifies")


def _check_validity(chain: tuple[Certificate, ...], at: datetime) -> PathStep:
    for cert in chain:
        if not cert.valid_at(at):
            state = "expired" if at > cert.not_after else "not yet valid"
            return PathStep(
                "validity",
                False,
                f"{_describe(cert)} was {state} at {at.isoformat()} "
                f"(valid {cert.not_before.isoformat()} to {cert.not_after.isoformat()})",
            )
    return PathStep("validity", True, f"every certificate was valid at {at.isoformat()}")


def _check_ca(chain: tuple[Certificate, ...]) -> PathStep:
    for depth, issuer in enumerate(chain[1:]):
        if not issuer.is_ca:
            return PathStep("ca", False, f"{_describe(issuer)} issues certificates but is not a CA")
        if issuer.key_usage is not None and "key_cert_sign" not in issuer.key_usage:
            return PathStep("ca", False, f"{_describe(issuer)} may not sign certificates (keyUsage)")
        if issuer.path_length is not None and depth > issuer.path_length:
            return PathStep("ca", False, f"path length constraint of {_describe(issuer)} exceeded")
    return PathStep("ca", True, "every issuer is a CA allowed to sign certificates")


def _check_end_entity(cert: Certificate, is_anchor: bool) -> PathStep:
    usage = cert.key_usage
    if usage is not None and not usage & {"digital_signature", "content_commitment"}:
        return PathStep(
            "key_usage",
            False,
            f"{_describe(cert)} may not sign documents (keyUsage lacks digitalSignature and nonRepudiation)",
        )
    return PathStep("key_usage", True, "the signer certificate allows document signatures")


def _check_critical(chain: tuple[Certificate, ...]) -> PathStep:
    for cert in chain:
        unknown = cert.critical_extension_oids - _KNOWN_CRITICAL
        if unknown:
            return PathStep(
                "critical_extensions",
                False,
                f"{_describe(cert)} has unrecognised critical extensions {sorted(unknown)}",
            )
    return PathStep("critical_extensions", True, "no unrecognised critical extension")
