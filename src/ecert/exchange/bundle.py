"""The province's signed trust bundle: everything a window PC needs to verify offline.

One file (spec/trust-bundle.md) holds the province's trust anchors, every city department's
issuing certificate (known certificates for QR codes; each must chain to an anchor), the
authorisations a trust directory's ``authorisations.json`` holds, and the departments' current
signed status lists, with an issue time and an expiry, signed by the province (CMS, SM2-with-SM3).

:meth:`TrustBundle.load` trusts nothing the file says about itself: the caller names the province's
certificate (``anchor``, the signer's own certificate or a CA above it), the signature must verify,
the signer must chain to that anchor, the bundle must be within its issue time and expiry, and every
status list must verify against the bundle's anchors.  It yields a :class:`TrustStore` and a
:class:`BundleStatus` for ``ecert.verify(..., trust=bundle.trust, status=bundle.status)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ecert.crypto.authority import Authorisation
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, ExpiredBundle, InputError, InvalidBundle, TrustError
from ecert.exchange.envelope import b64, canonical, open_envelope, seal, unb64, utc_text
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.registry.status import StatusEntry
from ecert.registry.statuslist import StatusList
from ecert.times import aware, aware_or_now

__all__ = [
    "BUNDLE_FORMAT",
    "MAX_BUNDLE_BYTES",
    "BundleStatus",
    "TrustBundle",
    "load_bundle_file",
    "make_bundle",
]

BUNDLE_FORMAT = "ecert-trust-bundle/1"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_VALIDITY = timedelta(days=31)  # a bundle is fetched daily; a month-old one must not still work
CLOCK_SKEW = timedelta(minutes=5)  # a window clock slightly behind the province's is not an error
_PAYLOAD_KEYS = frozenset(
    {"format", "publisher", "issued_at", "expires_at", "anchors", "issuers", "authorisations", "status_lists"}
)
_AUTH_KEYS = frozenset({"certificate_sha256", "issuer_codes", "note"})
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_MAX_CERTS = 10_000
_MAX_LISTS = 10_000


@dataclass(frozen=True, slots=True)
class BundleStatus:
    """The bundle's status lists as one status source: each certificate is asked of the list of the
    department its identifier names (a list speaks only for its signer's organisation codes).

    It cannot answer once the bundle has expired (``stale_reason``), even when it was loaded fresh.
    """

    lists: tuple[StatusList, ...]
    expires_at: datetime
    publisher: str
    _by_code: Mapping[str, StatusList] = field(init=False, repr=False, compare=False)

    knows_every_certificate = False

    def __post_init__(self) -> None:
        index: dict[str, StatusList] = {}
        for i, listing in enumerate(self.lists):
            codes = listing.issuer_codes
            if not codes:
                raise InvalidBundle(
                    "a status list whose signer names no organisation code cannot be matched to a department",
                    where=f"status_lists[{i}]",
                )
            for code in codes:
                if code in index:
                    raise InvalidBundle(
                        "two status lists for one department", where=f"status_lists[{i}]", value=code
                    )
                index[code] = listing
        object.__setattr__(self, "_by_code", index)

    @property
    def issuer_codes(self) -> frozenset[str] | None:
        return frozenset(self._by_code)

    def describe(self) -> str:
        return f"trust bundle of {self.publisher} ({len(self.lists)} status lists)"

    def stale_reason(self, at: datetime) -> str | None:
        if aware_or_now(at, "at") >= self.expires_at:
            return f"the trust bundle expired {utc_text(self.expires_at)}"
        for listing in self.lists:
            reason = listing.stale_reason(at)
            if reason is not None:
                return f"{listing.describe()}: {reason}"
        return None

    def status_of(self, identifier: str) -> StatusEntry | None:
        try:
            code = Identifier.parse(identifier, strict=False).issuer_code
        except EcertError:
            return None
        listing = self._by_code.get(code)
        return None if listing is None else listing.status_of(identifier)

    def recorded_metadata(self, identifier: str) -> CoreMetadata | None:
        return None  # lists keep statuses, not what was issued


@dataclass(frozen=True, slots=True)
class TrustBundle:
    """A verified trust bundle: who published it, when, until when, and what it holds."""

    publisher: str
    issued_at: datetime
    expires_at: datetime
    anchors: tuple[Certificate, ...]
    issuers: tuple[Certificate, ...]
    authorisations: tuple[Authorisation, ...]
    status_lists: tuple[StatusList, ...]
    signer: Certificate

    @property
    def trust(self) -> TrustStore:
        """The anchors and authorisations, as ``ecert.verify`` takes them."""
        return TrustStore(self.anchors, self.authorisations)

    @property
    def status(self) -> BundleStatus:
        """The status lists, each asked only about its own department's certificates."""
        return BundleStatus(self.status_lists, self.expires_at, self.publisher)

    def summary(self) -> dict[str, Any]:
        """What ``ecert bundle show`` prints."""
        return {
            "publisher": self.publisher,
            "signer": self.signer.subject,
            "issued_at": utc_text(self.issued_at),
            "expires_at": utc_text(self.expires_at),
            "anchors": [c.subject for c in self.anchors],
            "issuers": [
                f"{c.subject} ({', '.join(sorted(c.organization_codes())) or 'no code'})"
                for c in self.issuers
            ],
            "authorisations": [
                f"{a.certificate_sha256[:16]}… -> {', '.join(sorted(a.issuer_codes))}"
                for a in self.authorisations
            ],
            "status_lists": [
                f"{s.describe()}: {len(s.entries)} entries, good until {utc_text(s.good_until)}"
                for s in self.status_lists
            ],
        }

    @classmethod
    def load(cls, data: bytes, *, anchor: Certificate, at: datetime | None = None) -> TrustBundle:
        """Verify and read a bundle for use at ``at`` (default: now).

        :class:`InvalidBundle` when it is malformed or altered (the signature does not cover it) or a
        status list in it does not verify; :class:`TrustError` when it is not signed by ``anchor``
        (or a certificate ``anchor`` issued); :class:`ExpiredBundle` before its issue time or from
        its expiry on.
        """
        when = aware_or_now(at, "at")
        if not isinstance(anchor, Certificate):
            raise InputError(
                "the province's certificate must be a Certificate",
                where="anchor",
                value=type(anchor).__name__,
            )
        body, _, checked = open_envelope(data, BUNDLE_FORMAT, MAX_BUNDLE_BYTES, "trust bundle")
        signer = checked.signer_certificate
        path = TrustStore((anchor,)).validate(signer, at=when, intermediates=checked.certificates)
        if not path.ok:
            step = path.failed_step
            detail = f"{step.name}: {step.message}" if step else "path validation incomplete"
            raise TrustError(
                f"the trust bundle is signed by {signer.subject!r}, not by the province certificate "
                f"given ({anchor.subject!r}) or a certificate it issued ({detail})"
            )
        members = _members(body, _PAYLOAD_KEYS, "payload")
        issued = _parse_time(members["issued_at"], "payload.issued_at")
        expires = _parse_time(members["expires_at"], "payload.expires_at")
        if when + CLOCK_SKEW < issued:
            raise ExpiredBundle(
                f"the trust bundle is not valid before {utc_text(issued)}",
                where=f"at {utc_text(when)}",
                expected="a bundle already issued",
            )
        if when >= expires:
            raise ExpiredBundle(
                f"the trust bundle expired {utc_text(expires)}",
                where=f"at {utc_text(when)}",
                expected="a current bundle from the province",
            )
        if not isinstance(members["publisher"], str):
            raise InvalidBundle("publisher must be text", where="payload.publisher")
        anchors = _certificates(members["anchors"], "payload.anchors")
        issuers = _certificates(members["issuers"], "payload.issuers")
        authorisations = _authorisations(members["authorisations"])
        store = TrustStore(anchors, authorisations)
        raw_lists = members["status_lists"]
        if not isinstance(raw_lists, list) or len(raw_lists) > _MAX_LISTS:
            raise InvalidBundle("status_lists must be a list", where="payload.status_lists")
        lists: list[StatusList] = []
        for i, raw in enumerate(raw_lists):
            try:
                lists.append(StatusList.load(unb64(raw, f"payload.status_lists[{i}]"), trust=store, at=when))
            except InvalidBundle:
                raise
            except EcertError as exc:
                raise InvalidBundle(
                    f"status list {i + 1} of the bundle is refused: {exc}", where=f"payload.status_lists[{i}]"
                ) from None
        bundle = cls(
            members["publisher"], issued, expires, anchors, issuers, authorisations, tuple(lists), signer
        )
        bundle.status  # noqa: B018 - one list per department, each naming it: checked now, not at use
        return bundle


def make_bundle(
    signer: Signer,
    *,
    anchors: Iterable[Certificate],
    issuers: Iterable[Certificate] = (),
    authorisations: Iterable[Authorisation] = (),
    status_lists: Iterable[bytes] = (),
    issued_at: datetime,
    expires_at: datetime,
    publisher: str = "",
) -> bytes:
    """A signed bundle.  Everything in it is checked first, as a window would: each issuing
    certificate chains to an anchor, each status list verifies against the anchors and answers
    until the bundle's expiry (else the windows would refuse every status check before then)."""
    issued = aware(issued_at, "issued_at").astimezone(UTC).replace(microsecond=0)
    expires = aware(expires_at, "expires_at").astimezone(UTC).replace(microsecond=0)
    if not issued < expires <= issued + MAX_VALIDITY:
        raise InputError(
            "a bundle expires after it is issued, within the limit",
            where="expires_at",
            value=utc_text(expires),
            expected=f"after {utc_text(issued)}, at most {MAX_VALIDITY.days} days",
        )
    anchor_list = _unique(anchors, "anchors")
    if not anchor_list:
        raise InputError("a trust bundle needs at least one trust anchor", where="anchors")
    # a certificate file often holds the chain after the department's certificate: anchors are not issuers
    anchor_ders = {c.der for c in anchor_list}
    issuer_list = tuple(c for c in _unique(issuers, "issuers") if c.der not in anchor_ders)
    auths = tuple(authorisations)
    store = TrustStore(anchor_list, auths)
    for cert in issuer_list:
        path = store.validate(cert, at=issued)
        if not path.ok:
            step = path.failed_step
            raise TrustError(
                f"issuing certificate {cert.subject!r} does not chain to the bundle's anchors "
                f"({step.name + ': ' + step.message if step else 'incomplete'}); add its CA"
            )
    lists = tuple(bytes(d) for d in status_lists)
    loaded = []
    for i, data in enumerate(lists):
        try:
            listing = StatusList.load(data, trust=store, at=issued)
        except EcertError as exc:
            raise InputError(
                f"status list {i + 1} does not verify against the bundle's anchors: {exc}",
                where=f"status_lists[{i}]",
            ) from None
        if listing.good_until < expires:
            raise InputError(
                f"status list {i + 1} ({listing.describe()}) answers only until "
                f"{utc_text(listing.good_until)}, "
                f"before the bundle expires ({utc_text(expires)})",
                where=f"status_lists[{i}]",
                expected="an earlier expiry, or a fresher list",
            )
        loaded.append(listing)
    BundleStatus(tuple(loaded), expires, publisher)  # one list per department
    payload = canonical(
        {
            "format": BUNDLE_FORMAT,
            "publisher": publisher or signer.certificate.subject,
            "issued_at": utc_text(issued),
            "expires_at": utc_text(expires),
            "anchors": [b64(c.der) for c in anchor_list],
            "issuers": [b64(c.der) for c in issuer_list],
            "authorisations": [
                {
                    "certificate_sha256": a.certificate_sha256,
                    "issuer_codes": sorted(a.issuer_codes),
                    "note": a.note,
                }
                for a in auths
            ],
            "status_lists": [b64(d) for d in lists],
        }
    )
    return seal(BUNDLE_FORMAT, payload, signer, issued)


def _unique(certs: Iterable[Certificate], where: str) -> tuple[Certificate, ...]:
    out: dict[bytes, Certificate] = {}
    for cert in certs:
        if not isinstance(cert, Certificate):
            raise InputError("must be certificates", where=where, value=type(cert).__name__)
        out.setdefault(cert.der, cert)
    return tuple(out.values())


def _members(raw: object, keys: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidBundle("must be a JSON object", where=where)
    if set(raw) != keys:
        raise InvalidBundle("wrong members", where=where, value=sorted(raw), expected=", ".join(sorted(keys)))
    return raw


def _parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise InvalidBundle("not a time", where=where, value=value, expected="YYYY-MM-DDTHH:MM:SSZ")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidBundle("not a time", where=where, value=value) from None


def _certificates(raw: object, where: str) -> tuple[Certificate, ...]:
    if not isinstance(raw, list) or len(raw) > _MAX_CERTS:
        raise InvalidBundle("must be a list of base64 DER certificates", where=where)
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(Certificate.from_der(unb64(item, f"{where}[{i}]")))
        except InvalidBundle:
            raise
        except EcertError as exc:
            raise InvalidBundle(f"not a certificate: {exc}", where=f"{where}[{i}]") from None
    return tuple(out)


def _authorisations(raw: object) -> tuple[Authorisation, ...]:
    where = "payload.authorisations"
    if not isinstance(raw, list) or len(raw) > 100_000:
        raise InvalidBundle("must be a list", where=where)
    out = []
    for i, item in enumerate(raw):
        entry = _members(item, _AUTH_KEYS, f"{where}[{i}]")
        codes = entry["issuer_codes"]
        if (
            not isinstance(codes, list)
            or not all(isinstance(c, str) for c in codes)
            or not isinstance(entry["note"], str)
        ):
            raise InvalidBundle("issuer_codes must be a list of text, note text", where=f"{where}[{i}]")
        try:
            out.append(Authorisation(str(entry["certificate_sha256"]), frozenset(codes), entry["note"]))
        except EcertError as exc:
            raise InvalidBundle(f"bad authorisation: {exc}", where=f"{where}[{i}]") from None
    return tuple(out)


def load_bundle_file(path: str | Path, signer_path: str | Path, *, at: datetime | None = None) -> TrustBundle:
    """A bundle from a file, checked against the province certificate in ``signer_path`` (PEM/DER)."""
    from ecert.crypto.x509 import load_certificates

    data = _read(path, "trust bundle")
    certs = load_certificates(_read(signer_path, "province certificate"))
    if not certs:
        raise InputError(
            "no certificate in the file",
            where=str(signer_path),
            expected="the province's certificate (PEM or DER)",
        )
    return TrustBundle.load(data, anchor=certs[0], at=at)


def _read(path: str | Path, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc.strerror})", where=str(path)) from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise InvalidBundle(
            f"{what} too large", where=str(path), expected=f"at most {MAX_BUNDLE_BYTES} bytes"
        )
    return data
