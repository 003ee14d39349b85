"""Signed status lists: every certificate that is not valid, issuer-signed and dated.

A status list lets a verifier without access to the registry learn of revocations (the offline
counterpart of the registry, like a CRL).  The format is specified in ``spec/statuslist.md``: a JSON
envelope whose ``payload`` is the base64 of a canonical JSON document, signed as exact bytes, so
that no JSON re-serialisation ever stands between the signature and what is read.  Loading
verifies the signature with the embedded certificate, validates that certificate against the
caller's trust store (never a key found in the file alone) and refuses a stale list.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidSignature, StaleStatusList, TrustError
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.registry.status import CertStatus, StatusEntry
from ecert.times import aware_or_now

__all__ = ["FORMAT", "StaleStatusList", "StatusList"]

FORMAT = "ecert-status-list/1"
MAX_BYTES = 64 * 1024 * 1024
MAX_CERTIFICATES = 8
_ENVELOPE_KEYS = frozenset({"format", "payload", "alg", "signature", "certificates"})
_PAYLOAD_KEYS = frozenset({"format", "issuer", "issued_at", "next_update", "entries"})
_ENTRY_KEYS = frozenset({"id", "status", "reason", "at", "replaced_by"})
DEFAULT_MAX_AGE = timedelta(days=7)  # for lists without next_update (spec/statuslist.md §4)
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _lookup_key(identifier: str) -> str:
    """An identifier without its check character (type, issuer, serial, version), or the text itself
    when it is not an identifier at all."""
    try:
        ident = Identifier.parse(identifier, strict=False)
    except EcertError:
        return identifier
    return f"{ident.type_code}.{ident.issuer_code}.{ident.serial}.{ident.version}"


def _time(at: datetime) -> str:
    """Times in the list: UTC, whole seconds, ``Z`` (one spelling, so the payload is canonical)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise InputError("malformed time", where=where, value=value, expected="YYYY-MM-DDTHH:MM:SSZ")
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise InputError("no such time", where=where, value=value) from None


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _aware(at: datetime, where: str) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InputError("time must be a timezone-aware datetime", where=where, value=at)
    return at.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class StatusList:
    """A dated set of non-valid statuses; ``signer`` is set on lists read with :meth:`load`."""

    issuer: str
    issued_at: datetime
    next_update: datetime | None
    entries: tuple[StatusEntry, ...]
    signer: Certificate | None = None
    # the reader's age limit for a list without next_update (set by load)
    max_age: timedelta = field(default=DEFAULT_MAX_AGE, compare=False)
    _index: Mapping[str, StatusEntry] = field(init=False, repr=False, compare=False)

    knows_every_certificate = False  # a certificate it does not list is simply not listed

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {_lookup_key(e.identifier): e for e in self.entries})

    @classmethod
    def build(
        cls,
        entries: Iterable[StatusEntry],
        *,
        issued_at: datetime,
        next_update: datetime | None = None,
        issuer: str = "",
    ) -> StatusList:
        """A list to sign.  ``issuer`` defaults to the signer certificate's subject at signing.

        Times are kept to the second (as the format writes them).  Entries are sorted by
        identifier; a duplicate, a VALID entry or an entry that is not an identifier is refused.
        """
        issued = _aware(issued_at, "issued_at")
        due = None if next_update is None else _aware(next_update, "next_update")
        if due is not None and due <= issued:
            raise InputError("next_update must come after issued_at", where="next_update", value=next_update)
        items = tuple(sorted(entries, key=lambda e: e.identifier))
        for i, entry in enumerate(items):
            where = f"entries[{i}]"
            Identifier.parse(entry.identifier, strict=False)  # circulating ids may have a wrong check char
            if entry.is_valid:
                raise InputError("a status list holds only certificates that are not valid", where=where)
            if i and items[i - 1].identifier == entry.identifier:
                raise InputError("identifier listed twice", where=where, value=entry.identifier)
            if entry.replaced_by is not None:
                Identifier.parse(entry.replaced_by, strict=False)
        trimmed = tuple(
            StatusEntry(e.identifier, e.status, e.reason, _aware(e.changed_at, "at"), e.replaced_by)
            for e in items
        )
        return cls(issuer, issued, due, trimmed)

    @property
    def issuer_codes(self) -> frozenset[str] | None:
        """The issuers whose certificates the list speaks for: the organisation code(s) its signer
        certificate names (empty when it names none).  None for a list not read with :meth:`load`."""
        return None if self.signer is None else self.signer.organization_codes()

    def recorded_metadata(self, identifier: str) -> CoreMetadata | None:
        """A list keeps statuses only, not what was issued."""
        return None

    def stale_reason(self, at: datetime) -> str | None:
        """Why the list cannot answer for the time ``at`` (None when it can): past its next update, or,
        promising none, older than ``max_age``.  :meth:`load` checks this at its ``at``; a verifier asks
        again for its own verification time, so a list kept after loading does not answer for ever."""
        if aware_or_now(at, "at") <= self.good_until:
            return None
        if self.next_update is not None:
            return f"its next update was due {_time(self.next_update)}"
        return f"it promises no next update and is older than the reader's limit of {self.max_age}"

    @property
    def good_until(self) -> datetime:
        """The last instant the list answers for: its next update, or, promising none, ``max_age``
        after it was issued."""
        return self.next_update if self.next_update is not None else self.issued_at + self.max_age

    def describe(self) -> str:
        return f"status list of {self.issuer or 'an unnamed issuer'} issued {_time(self.issued_at)}"

    def status_of(self, identifier: str) -> StatusEntry | None:
        """The entry for ``identifier``, matched without its check character: lists may carry
        identifiers issued by other systems with a wrong one (spec/statuslist.md), while a verifier
        asks with the identifier as it rebuilt or read it."""
        return self._index.get(_lookup_key(identifier))

    def payload(self, issuer: str | None = None) -> bytes:
        """The canonical payload bytes: what the signature covers."""
        return _canonical(
            {
                "format": FORMAT,
                "issuer": self.issuer if issuer is None else issuer,
                "issued_at": _time(self.issued_at),
                "next_update": None if self.next_update is None else _time(self.next_update),
                "entries": [
                    {
                        "id": e.identifier,
                        "status": e.status.value,
                        "reason": e.reason,
                        "at": _time(e.changed_at),
                        "replaced_by": e.replaced_by,
                    }
                    for e in self.entries
                ],
            }
        )

    def sign(self, signer: Signer) -> bytes:
        """The signed envelope (UTF-8 JSON); the signer certificate and its chain ride along."""
        payload = self.payload(self.issuer or signer.certificate.subject)
        envelope = {
            "format": FORMAT,
            "payload": base64.b64encode(payload).decode("ascii"),
            "alg": signer.algorithm.oid,
            "signature": base64.b64encode(signer.sign(payload)).decode("ascii"),
            "certificates": [
                base64.b64encode(c.der).decode("ascii") for c in (signer.certificate, *signer.chain)
            ],
        }
        return json.dumps(envelope, sort_keys=True, indent=1).encode("utf-8") + b"\n"

    @classmethod
    def load(
        cls,
        data: bytes,
        *,
        trust: TrustStore,
        at: datetime | None = None,
        max_age: timedelta = DEFAULT_MAX_AGE,
    ) -> StatusList:
        """Verify and read a signed list.

        Raises :class:`InputError` for malformed input, :class:`InvalidSignature` when the
        signature does not cover the payload (tampering, a swapped signature), :class:`TrustError`
        when the signer certificate does not chain to ``trust`` at ``at``, and
        :class:`StaleStatusList` when ``next_update`` has passed at ``at`` (default: now), or when
        a list that promises no next update is older than ``max_age`` (default 7 days): a list that
        never went stale could be replayed for ever after a revocation.
        """
        when = aware_or_now(at, "at")
        payload, signature, algorithm, certs = _envelope(data)
        signer = certs[0]
        try:
            signer.public_key.verify(signature, payload, algorithm)
        except InvalidSignature:
            raise InvalidSignature(
                f"status list signature does not verify with its signer certificate ({signer.subject}): "
                "the payload or the signature was altered"
            ) from None
        result = trust.validate(signer, at=when, intermediates=certs[1:])
        if not result.ok:
            step = result.failed_step
            detail = f"{step.name}: {step.message}" if step else "path validation incomplete"
            raise TrustError(f"status list signer {signer.subject!r} is not trusted ({detail})")
        parsed = _read_payload(payload)
        listing = cls(parsed.issuer, parsed.issued_at, parsed.next_update, parsed.entries, signer, max_age)
        stale = listing.stale_reason(when)
        if stale is not None:
            raise StaleStatusList(listing.good_until, when, reason=stale)
        return listing


def _envelope(data: bytes) -> tuple[bytes, bytes, SignatureAlgorithm, tuple[Certificate, ...]]:
    if not isinstance(data, bytes | bytearray):
        raise InputError("status list must be bytes", value=type(data).__name__)
    if len(data) > MAX_BYTES:
        raise InputError("status list too large", value=len(data), expected=f"at most {MAX_BYTES} bytes")
    try:
        env = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"status list is not UTF-8 JSON ({exc})") from None
    if not isinstance(env, dict) or env.get("format") != FORMAT:
        raise InputError("not an ecert status list", where="format", expected=repr(FORMAT))
    if set(env) != _ENVELOPE_KEYS:
        raise InputError(
            "wrong envelope members", value=sorted(env), expected=", ".join(sorted(_ENVELOPE_KEYS))
        )
    payload = _b64(env["payload"], "payload")
    signature = _b64(env["signature"], "signature")
    if not isinstance(env["alg"], str):
        raise InputError("alg must be an OID string", where="alg", value=env["alg"])
    algorithm = SignatureAlgorithm.from_oid(env["alg"])
    raw = env["certificates"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CERTIFICATES:
        raise InputError(
            "certificates must list the signer certificate (then its chain)",
            where="certificates",
            expected=f"1 to {MAX_CERTIFICATES} base64 DER certificates",
        )
    certs = tuple(Certificate.from_der(_b64(c, f"certificates[{i}]")) for i, c in enumerate(raw))
    return payload, signature, algorithm, certs


def _b64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise InputError("must be a base64 string", where=where, value=type(value).__name__)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("malformed base64", where=where) from None


def _read_payload(payload: bytes) -> StatusList:
    """The signed payload, read strictly: exactly the documented members, in canonical form."""
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"status list payload is not UTF-8 JSON ({exc})", where="payload") from None
    _members(body, _PAYLOAD_KEYS, "payload")
    if body["format"] != FORMAT:
        raise InputError("unknown payload format", where="payload.format", value=body["format"])
    if not isinstance(body["issuer"], str):
        raise InputError("issuer must be text", where="payload.issuer", value=body["issuer"])
    raw_entries = body["entries"]
    if not isinstance(raw_entries, list):
        raise InputError("entries must be a list", where="payload.entries")
    entries = [_read_entry(e, f"payload.entries[{i}]") for i, e in enumerate(raw_entries)]
    ids = [e.identifier for e in entries]
    if ids != sorted(ids):
        raise InputError("entries are not sorted by identifier", where="payload.entries")
    next_update = body["next_update"]
    built = StatusList.build(
        entries,
        issuer=body["issuer"],
        issued_at=_parse_time(body["issued_at"], "payload.issued_at"),
        next_update=None if next_update is None else _parse_time(next_update, "payload.next_update"),
    )
    if built.payload() != payload:
        raise InputError("status list payload is not in canonical form", where="payload")
    return built


def _read_entry(raw: object, where: str) -> StatusEntry:
    entry = _members(raw, _ENTRY_KEYS, where)
    for key in ("id", "reason", "replaced_by"):
        if not isinstance(entry[key], str) and not (key != "id" and entry[key] is None):
            raise InputError("must be text", where=f"{where}.{key}", value=entry[key])
    try:
        status = CertStatus(entry["status"])
    except ValueError:
        raise InputError(
            "unknown status",
            where=f"{where}.status",
            value=entry["status"],
            expected="suspended, revoked, ...",
        ) from None
    return StatusEntry(
        entry["id"], status, entry["reason"], _parse_time(entry["at"], f"{where}.at"), entry["replaced_by"]
    )


def _members(raw: object, keys: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InputError("must be a JSON object", where=where)
    if set(raw) != keys:
        raise InputError("wrong members", where=where, value=sorted(raw), expected=", ".join(sorted(keys)))
    return raw
