"""Trust stores and certificate path validation (the subset of RFC 5280 §6 e-certificates need).

The caller says what it trusts; nothing is trusted because it came inside a file (STYLE.md:
"explicit expectations").  A certificate that is itself an anchor (byte-equal DER) is trusted
directly — callers put a signer certificate in their store when they have no root for it, as with
the tax-bureau invoices in ``tests/data/ofdrw`` — but its validity period still applies, so an
expired certificate never becomes valid by being trusted.

Validation returns a :class:`PathValidation` listing every step with its outcome (build,
signature, validity, ca, key_usage, critical_extensions), so a verification report can say which
one failed; ``ok`` is derived from the steps and is true only when all of them ran and passed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ecert.crypto.authority import AUTHORISATIONS_FILE, Authorisation, granted_codes, load_authorisations
from ecert.crypto.x509 import Certificate, load_certificates
from ecert.errors import EcertError, InputError, InvalidCertificate, TrustError

__all__ = ["MAX_CHAIN", "STEP_NAMES", "PathStep", "PathValidation", "TrustStore", "certificate_files"]

MAX_CHAIN = 8
"""Most certificates a path may hold, end entity and anchor included (real e-seal paths hold 2-4)."""

_MAX_TRIES = 64  # candidate links explored while building; bounds the search on hostile input

STEP_NAMES = ("build", "signature", "validity", "ca", "key_usage", "critical_extensions")
"""Every step a successful validation runs, in order."""

# RFC 5280 §4.2: a certificate with a critical extension the validator does not process must be
# rejected.  These are processed here (or, for extendedKeyUsage, subjectAltName and
# certificatePolicies, are informational for document signing: no policy is required, no name is
# constrained).  nameConstraints, policyConstraints, inhibitAnyPolicy and the rest are not
# processed, so a critical one fails the path.
_KNOWN_CRITICAL = frozenset(
    {
        "2.5.29.14",  # subjectKeyIdentifier
        "2.5.29.15",  # keyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.19",  # basicConstraints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.35",  # authorityKeyIdentifier
        "2.5.29.37",  # extendedKeyUsage
    }
)
_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der"})


def certificate_files(folder: Path) -> list[Path]:
    """The certificate files of a folder (``*.pem``, ``*.crt``, ``*.cer``, ``*.der``), sorted by name;
    subfolders and other files are not looked at."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES and p.is_file())
# keyUsage names as ecert.crypto.x509 gives them; nonRepudiation is "content_commitment" in X.509 (2005)
_SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation", "content_commitment"})


@dataclass(frozen=True, slots=True)
class PathStep:
    """One check of path validation: its name (see :data:`STEP_NAMES`), outcome and explanation."""

    name: str
    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class PathValidation:
    """The outcome of validating one certificate: the path found and every step's result.

    ``chain`` runs from the end entity to the anchor when a path was found (just the end entity
    otherwise).  ``ok`` is computed from ``steps``, never given: it is true only when every step of
    :data:`STEP_NAMES` ran, in order, and passed.
    """

    chain: tuple[Certificate, ...]
    steps: tuple[PathStep, ...]
    ok: bool = field(init=False)

    def __post_init__(self) -> None:
        complete = tuple(s.name for s in self.steps) == STEP_NAMES
        object.__setattr__(self, "ok", complete and all(s.ok for s in self.steps))

    @property
    def failed_step(self) -> PathStep | None:
        """The first step that failed (None when all passed)."""
        return next((s for s in self.steps if not s.ok), None)

    def raise_for_failure(self) -> None:
        """Raise :class:`TrustError` naming the failed step, for callers that want an exception."""
        if self.ok:
            return
        step = self.failed_step
        if step is None:  # incomplete step list: never report trust that was not fully checked
            raise TrustError("path validation did not run every step")
        raise TrustError(f"certificate path not trusted ({step.name}): {step.message}")


def _describe(cert: Certificate) -> str:
    return cert.subject or f"certificate {cert.fingerprint_sha256()[:16]}"


def _read_file(path: Path) -> tuple[Certificate, ...]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidCertificate(f"cannot read trust anchor file ({exc.strerror})", where=str(path)) from None
    try:
        certs = load_certificates(data)
    except EcertError as exc:
        raise InvalidCertificate(f"trust anchor file is not a certificate: {exc}", where=str(path)) from None
    if not certs:
        raise InvalidCertificate("trust anchor file holds no certificate", where=str(path))
    return certs


@dataclass(frozen=True, slots=True)
class TrustStore:
    """The certificates a verifier trusts (roots, or signer certificates trusted directly), and
    which issuer codes certificates below them may sign for (:mod:`ecert.crypto.authority`)."""

    anchors: tuple[Certificate, ...]
    authorisations: tuple[Authorisation, ...] = ()

    def __post_init__(self) -> None:
        for anchor in self.anchors:
            if not isinstance(anchor, Certificate):
                raise InputError("trust anchors must be certificates", value=type(anchor).__name__)
        for entry in self.authorisations:
            if not isinstance(entry, Authorisation):
                raise InputError("authorisations must be Authorisation values", value=type(entry).__name__)
        unique = {a.der: a for a in self.anchors}  # first wins; dict keeps insertion order
        object.__setattr__(self, "anchors", tuple(unique.values()))
        object.__setattr__(self, "authorisations", tuple(self.authorisations))

    def with_authorisations(self, *entries: Authorisation) -> TrustStore:
        """The same anchors, with ``entries`` added to the authorisations."""
        return TrustStore(self.anchors, (*self.authorisations, *entries))

    def authorised_codes(self, path: Sequence[Certificate]) -> frozenset[str]:
        """The issuer codes an authorisation grants to a certificate of ``path`` (a validated path,
        signer first: an entry may name the signer or a CA above it)."""
        return granted_codes(self.authorisations, path)

    @classmethod
    def empty(cls) -> TrustStore:
        """A store that trusts nothing (every validation fails at ``build``)."""
        return cls(())

    @classmethod
    def from_certificates(cls, *certs: Certificate) -> TrustStore:
        return cls(tuple(certs))

    @classmethod
    def from_files(cls, *paths: str | Path) -> TrustStore:
        """Anchors from PEM (bundles allowed) or DER files; a bad file raises naming it."""
        return cls(tuple(itertools.chain.from_iterable(_read_file(Path(p)) for p in paths)))

    @classmethod
    def from_directory(cls, path: str | Path) -> TrustStore:
        """Anchors from every ``*.pem``, ``*.crt``, ``*.cer`` and ``*.der`` file of a directory.

        Its ``authorisations.json`` (spec/trust-authorisations.md), when present, says which issuer
        codes certificates may sign for.  Other files are ignored; a file with one of those
        suffixes that cannot be read as a certificate raises :class:`InvalidCertificate` naming it
        (a broken anchor must not be skipped silently).  An empty directory gives an empty store.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise InputError("trust store directory not found", where=str(path))
        store = cls.from_files(*certificate_files(folder))
        granted = folder / AUTHORISATIONS_FILE
        if granted.is_file():
            store = store.with_authorisations(*load_authorisations(granted))
        return store

    def validate(
        self, cert: Certificate, *, at: datetime, intermediates: Sequence[Certificate] = ()
    ) -> PathValidation:
        """Build a path from ``cert`` to an anchor (using ``intermediates``) and check it at ``at``.

        ``at`` must be timezone-aware (the signing time a signature claims, usually); a naive
        time raises :class:`InputError`.
        """
        if not isinstance(at, datetime):
            raise InputError("validation time must be a datetime", where="at", value=at)
        if at.tzinfo is None or at.utcoffset() is None:
            raise InputError("validation time must be timezone-aware", where="at", value=at.isoformat())
        if not isinstance(cert, Certificate):
            raise InputError("only a Certificate can be validated", value=type(cert).__name__)
        chain, problem = _PathBuilder(self.anchors, intermediates).build(cert)
        if chain is None:
            return PathValidation((cert,), (PathStep("build", False, problem),))
        steps = (
            PathStep("build", True, problem),
            _check_signatures(chain),
            _check_validity(chain, at),
            _check_ca(chain),
            _check_end_entity(chain[0]),
            _check_critical(chain),
        )
        return PathValidation(chain, steps)


class _PathBuilder:
    """Depth-first search from the end entity to an anchor, with backtracking and loop protection.

    Issuers are found by name (issuer DN == subject DN, byte-equal DER) and, when both certificates
    carry them, AKI == SKI.  Anchors are tried before intermediates, and among several candidates
    those whose key verifies the signature come first (a re-keyed CA keeps its name).
    """

    def __init__(self, anchors: Sequence[Certificate], intermediates: Sequence[Certificate]) -> None:
        self.anchors = tuple(anchors)
        self.anchor_ders = frozenset(a.der for a in anchors)
        self.pool = tuple({c.der: c for c in intermediates if isinstance(c, Certificate)}.values())
        self.tries = 0
        self.loop = False
        self.too_long = False

    def build(self, cert: Certificate) -> tuple[tuple[Certificate, ...] | None, str]:
        if cert.der in self.anchor_ders:
            return (cert,), f"{_describe(cert)} is itself a trust anchor"
        if not self.anchors:
            return None, "the trust store is empty: no certificate can be trusted"
        found = self._extend((cert,))
        if found is not None:
            return found, "path: " + " -> ".join(_describe(c) for c in found)
        reason = f"no path from {_describe(cert)} (issued by {cert.issuer}) to a trust anchor"
        if self.too_long:
            reason += f"; a path would be longer than {MAX_CHAIN} certificates"
        if self.loop:
            reason += "; the issuers form a loop"
        if self.tries >= _MAX_TRIES:
            reason += f"; search stopped after {_MAX_TRIES} candidate issuers"
        return None, reason

    def _candidates(self, current: Certificate) -> Iterator[Certificate]:
        found = [c for c in (*self.anchors, *self.pool) if c.der != current.der and _names_issuer(current, c)]
        if len(found) > 1:
            found.sort(key=lambda c: not _signed_by(current, c))  # stable: anchors stay first
        yield from found

    def _extend(self, chain: tuple[Certificate, ...]) -> tuple[Certificate, ...] | None:
        for issuer in self._candidates(chain[-1]):
            if self.tries >= _MAX_TRIES:
                return None
            self.tries += 1
            if any(issuer.der == c.der for c in chain):
                self.loop = True
                continue
            longer = (*chain, issuer)
            if issuer.der in self.anchor_ders:
                if len(longer) > MAX_CHAIN:
                    self.too_long = True
                    continue
                return longer
            if len(longer) >= MAX_CHAIN:  # one more link at least is needed to reach an anchor
                self.too_long = True
                continue
            found = self._extend(longer)
            if found is not None:
                return found
        return None


def _names_issuer(cert: Certificate, issuer: Certificate) -> bool:
    if cert.issuer_der != issuer.subject_der:
        return False
    if cert.authority_key_id and issuer.subject_key_id:
        return cert.authority_key_id == issuer.subject_key_id
    return True


#: (certificate DER, issuer DER) -> the signature problem, None when it verifies.  A certificate's
#: signature is a pure function of the two DER encodings, so the answer can be kept: a service
#: window checks thousands of files from a handful of departments, and each check would otherwise
#: repeat the same public-key operation per link of the chain.  Validity, CA and key-usage steps
#: are not kept: they depend on the time and run every time.
_SIGNATURE_MEMO: dict[tuple[bytes, bytes], str | None] = {}
_SIGNATURE_MEMO_SIZE = 1024


def _signature_problem(cert: Certificate, issuer: Certificate) -> str | None:
    key = (cert.der, issuer.der)
    if key in _SIGNATURE_MEMO:
        return _SIGNATURE_MEMO[key]
    problem: str | None = None
    try:
        cert.verify_issued_by(issuer)
    except EcertError as exc:
        problem = str(exc)
    if _SIGNATURE_MEMO and len(_SIGNATURE_MEMO) >= _SIGNATURE_MEMO_SIZE:
        _SIGNATURE_MEMO.pop(next(iter(_SIGNATURE_MEMO)), None)  # oldest first
    _SIGNATURE_MEMO[key] = problem
    return problem


def _signed_by(cert: Certificate, issuer: Certificate) -> bool:
    return _signature_problem(cert, issuer) is None


def _check_signatures(chain: tuple[Certificate, ...]) -> PathStep:
    for cert, issuer in itertools.pairwise(chain):
        problem = _signature_problem(cert, issuer)
        if problem is not None:
            return PathStep(
                "signature",
                False,
                f"the signature on {_describe(cert)} does not verify with the key of "
                f"{_describe(issuer)} ({problem})",
            )
    if len(chain) == 1:
        return PathStep("signature", True, "no signature to check: the certificate is trusted directly")
    return PathStep("signature", True, f"all {len(chain) - 1} certificate signatures verify")


def _check_validity(chain: tuple[Certificate, ...], at: datetime) -> PathStep:
    for cert in chain:
        if not cert.valid_at(at):
            state = "had expired" if at > cert.not_after else "was not yet valid"
            return PathStep(
                "validity",
                False,
                f"{_describe(cert)} {state} at {at.isoformat()} "
                f"(valid {cert.not_before.isoformat()} to {cert.not_after.isoformat()})",
            )
    return PathStep("validity", True, f"every certificate of the path was valid at {at.isoformat()}")


def _check_ca(chain: tuple[Certificate, ...]) -> PathStep:
    """RFC 5280 §6.1.4 (k), (l), (n): issuers are CAs, within pathLen, allowed keyCertSign."""
    for index in range(1, len(chain)):
        issuer = chain[index]
        if not issuer.is_ca:
            return PathStep(
                "ca", False, f"{_describe(issuer)} issued a certificate but is not a CA (basicConstraints)"
            )
        if issuer.key_usage is not None and "key_cert_sign" not in issuer.key_usage:
            return PathStep(
                "ca", False, f"{_describe(issuer)} may not sign certificates (keyUsage lacks keyCertSign)"
            )
        # intermediates below this issuer, self-issued ones not counted (RFC 5280 §4.2.1.9)
        below = sum(1 for c in chain[1:index] if c.subject_der != c.issuer_der)
        if issuer.path_length is not None and below > issuer.path_length:
            return PathStep(
                "ca",
                False,
                f"path length constraint of {_describe(issuer)} ({issuer.path_length}) exceeded: "
                f"{below} intermediate CA(s) follow it",
            )
    if len(chain) == 1:
        return PathStep("ca", True, "no issuer to check: the certificate is trusted directly")
    return PathStep("ca", True, "every issuer is a CA allowed to sign certificates")


def _check_end_entity(cert: Certificate) -> PathStep:
    usage = cert.key_usage
    if usage is not None and not usage & _SIGNING_USAGES:
        return PathStep(
            "key_usage",
            False,
            f"{_describe(cert)} may not sign documents "
            f"(keyUsage {sorted(usage)} lacks digitalSignature and nonRepudiation)",
        )
    if usage is None:
        return PathStep("key_usage", True, "no keyUsage extension: the key is not restricted")
    return PathStep("key_usage", True, "keyUsage allows document signatures")


def _check_critical(chain: tuple[Certificate, ...]) -> PathStep:
    for cert in chain:
        unknown = cert.critical_extension_oids - _KNOWN_CRITICAL
        if unknown:
            return PathStep(
                "critical_extensions",
                False,
                f"{_describe(cert)} has critical extensions ecert does not process: "
                f"{', '.join(sorted(unknown))}",
            )
    return PathStep("critical_extensions", True, "no unrecognised critical extension")
