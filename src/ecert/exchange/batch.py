"""Signed batches of library events (省市间接口, spec/exchange.md): made by the sender, applied by the
receiver through the library's public API, answered per record.

A batch carries a contiguous run of the sender's hash-chained status log (``Library.events``):
first and last sequence numbers, the hash before the first event and after the last, the events,
and the signed files they name (base64 with their SM3, up to a size).  It travels in the signed
envelope of :mod:`ecert.exchange.envelope`, signed by the sender's exchange key.

The receiver keeps, per sender library, the last sequence number and hash it applied (``info``
rows ``exchange.<sender>.seq`` / ``.hash``).  Applying checks, in order: the signature and the
sender's certificate; that the batch continues the cursor (a later first seq is a gap, named as the
missing range; a prev_hash that is not the cursor's hash is a broken chain); the chain inside the
batch.  Then each event: issued (authority: the certificate's issuer is in the sender's region or
issuer list; a different file under a known identifier is a conflicting version, refused, never
overwritten), status change (only for a certificate the sender may speak for), annotated copy.
Events the receiver already holds are answered ``already``; applying a batch twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ecert.crypto.digests import sm3
from ecert.crypto.signer import Signer
from ecert.crypto.x509 import Certificate
from ecert.errors import (
    EcertError,
    InputError,
    InvalidBundle,
    LibraryUnavailable,
    RecordNotFound,
)
from ecert.exchange.codes import MINISTRY_PROFILES, MinistryCodes, cert_state, ministry_codes
from ecert.exchange.envelope import b64, canonical, open_signed_by, seal, unb64, utc_text
from ecert.metadata import CoreMetadata
from ecert.metadata.jsonform import from_json
from ecert.registry.base import ChainEvent, CopyRecord, IssuedRecord, Registry
from ecert.registry.chain import GENESIS, ChainFault, ChainWalk
from ecert.registry.status import CertStatus
from ecert.registry.tables import TABLE_BY_NAME
from ecert.times import aware_or_now

__all__ = [
    "BATCH_FORMAT",
    "Answer",
    "ExchangePolicy",
    "Outcome",
    "apply_batch",
    "make_batch",
    "read_batch",
]

BATCH_FORMAT = "ecert-exchange-batch/1"
MAX_BATCH_BYTES = 256 * 1024 * 1024
DEFAULT_FILE_BYTES = 64 * 1024 * 1024  # files beyond this travel by digest only (fetched separately)
_KINDS = ("issued", "status", "copy")
_NOT_CARRIED = "file not carried: fetch it by digest"
_PAYLOAD_KEYS = frozenset(
    {"format", "sender", "made_at", "first_seq", "last_seq", "prev_hash", "chain_hash", "events", "files"}
)
_EVENT_KEYS = frozenset(TABLE_BY_NAME["status_events"].column_names)  # an event travels as its row


class Outcome:
    """What the receiver did with one event (the answer's words, as ministry interfaces answer)."""

    ACCEPTED = "accepted"
    ALREADY = "already"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class EventResult:
    seq: int
    event_id: str
    kind: str
    identifier: str
    outcome: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """The receiver's answer to a batch: per event, or the whole batch refused (``problem``) with the
    range the receiver needs first (``missing``: first and last seq, inclusive)."""

    sender: str
    first_seq: int
    last_seq: int
    results: tuple[EventResult, ...]
    cursor: int  # the last sender seq the receiver holds after applying
    problem: str | None = None
    missing: tuple[int, int] | None = None

    @property
    def counts(self) -> dict[str, int]:
        out = {Outcome.ACCEPTED: 0, Outcome.ALREADY: 0, Outcome.REFUSED: 0}
        for r in self.results:
            out[r.outcome] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "cursor": self.cursor,
            "problem": self.problem,
            "missing": list(self.missing) if self.missing else None,
            "counts": self.counts,
            "results": [
                {
                    "seq": r.seq,
                    "event_id": r.event_id,
                    "kind": r.kind,
                    "identifier": r.identifier,
                    "outcome": r.outcome,
                    "reason": r.reason,
                }
                for r in self.results
            ],
        }


@dataclass(frozen=True, slots=True)
class ExchangePolicy:
    """What a sender may send: certificates whose issuer (``metadata.issuer_code``, a USCC whose
    characters 3-8 are its GB/T 2260 division) lies in one of ``regions`` (a division code: 330100
    covers 3301xx, 330000 the whole province) or is named in ``issuers``."""

    regions: frozenset[str] = frozenset()
    issuers: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for region in self.regions:
            if not (isinstance(region, str) and len(region) == 6 and region.isdigit()):
                raise InputError("a region is a 6-digit division code", where="regions", value=region)

    def allows(self, issuer_code: str) -> bool:
        if issuer_code in self.issuers:
            return True
        division = issuer_code[2:8]
        return any(division.startswith(_prefix(r)) for r in self.regions)

    def describe(self) -> str:
        parts = [f"regions {', '.join(sorted(self.regions))}"] if self.regions else []
        if self.issuers:
            parts.append(f"issuers {', '.join(sorted(self.issuers))}")
        return "; ".join(parts) or "nothing"


def _prefix(region: str) -> str:
    """330100 -> 3301, 330000 -> 33, 330102 -> 330102 (GB/T 2260: trailing 00 pairs are 'all of')."""
    while region.endswith("00") and len(region) > 2:
        region = region[:-2]
    return region


# --- making ------------------------------------------------------------------------------------


def make_batch(
    library: Registry,
    signer: Signer,
    *,
    sender: str,
    after: int = 0,
    limit: int = 1000,
    max_file_bytes: int = DEFAULT_FILE_BYTES,
    status_codes: str | None = None,
    at: datetime | None = None,
) -> bytes | None:
    """The signed batch of the events after ``after`` (at most ``limit``), or None when there are none.

    ``sender`` names the sending library (its ``library_id``).  The signed files of issued events and
    annotated copies ride along while their total stays within ``max_file_bytes``.  With
    ``status_codes`` (``"mohurd-a"`` or ``"mohurd-b"``) the batch also carries each event's
    ministry codes (certState, operateType: spec/exchange.md §6) for peers that read those.
    A renewal's two events (the new version, the old one replaced) are never split: a batch that
    would end between them takes the second too.
    """
    when = aware_or_now(at, "at")
    if not isinstance(after, int) or after < 0 or not isinstance(limit, int) or not 0 < limit <= 100_000:
        raise InputError("after >= 0 and 1 <= limit <= 100000", where="after/limit", value=(after, limit))
    if status_codes is not None:
        cert_state(CertStatus.VALID, status_codes)  # an unknown profile is refused before any work
    events = library.events(after=after, limit=limit)
    if not events:
        return None
    if _renewal(events[-1]):
        events += library.events(after=events[-1].seq, limit=1)
    files: dict[str, str] = {}
    budget = max_file_bytes
    for event in events:
        digest, name = _file_of(event)
        if digest is None or digest in files:
            continue
        try:
            data = library.read_file(
                event.identifier if name is None else name, "original" if name is None else "copy"
            )
        except EcertError:
            continue  # not kept in the library: travels by digest only
        if len(data) <= budget and sm3(data).hex() == digest:
            files[digest] = b64(data)
            budget -= len(data)
    body: dict[str, Any] = {
        "format": BATCH_FORMAT,
        "sender": sender,
        "made_at": utc_text(when),
        "first_seq": events[0].seq,
        "last_seq": events[-1].seq,
        "prev_hash": events[0].prev_hash,
        "chain_hash": events[-1].hash,
        "events": [_event_dict(e) for e in events],
        "files": [{"sm3": d, "content": c} for d, c in sorted(files.items())],
    }
    if status_codes is not None:
        body["ministry"] = {
            "profile": status_codes,
            "records": [_codes(e, status_codes).to_dict() for e in events],
        }
    return seal(BATCH_FORMAT, canonical(body), signer, when)


def _renewal(event: ChainEvent) -> bool:
    """Whether ``event`` is the first half of a renewal (a version after the first, issued)."""
    return event.kind == "issued" and event.version > 1


def _codes(event: ChainEvent, profile: str) -> MinistryCodes:
    replaced_by = None
    if event.status is CertStatus.REPLACED:
        try:
            body = json.loads(event.payload)
        except ValueError:
            body = {}
        value = body.get("replaced_by") if isinstance(body, dict) else None
        replaced_by = value if isinstance(value, str) else None
    return ministry_codes(
        event.seq, event.identifier, event.kind, event.status, event.version, profile, replaced_by
    )


def _file_of(event: ChainEvent) -> tuple[str | None, str | None]:
    """(digest, copy id or None) of the file an event names."""
    if event.kind not in ("issued", "copy"):
        return None, None
    try:
        body = json.loads(event.payload)
    except ValueError:
        return None, None
    digest = body.get("package_digest") if isinstance(body, dict) else None
    if not isinstance(digest, str):
        return None, None
    return digest, (body.get("copy_id") if event.kind == "copy" else None)


def _event_dict(e: ChainEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "event_id": e.event_id,
        "kind": e.kind,
        "identifier": e.identifier,
        "version": e.version,
        "status": e.status.value,
        "reason": e.reason,
        "operator": e.operator,
        "at": e.at.astimezone(UTC).isoformat(),
        "payload": e.payload,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Batch:
    """A verified batch: who sent it (signer), what it covers, its events and files by SM3."""

    sender: str
    made_at: datetime
    first_seq: int
    last_seq: int
    prev_hash: str
    chain_hash: str
    events: tuple[ChainEvent, ...]
    files: Mapping[str, bytes] = field(repr=False)
    signer: Certificate
    status_codes: str | None = None  # the ministry profile of ``ministry``, when the batch carries it
    ministry: tuple[MinistryCodes, ...] = ()


def read_batch(data: bytes, *, sender_certificate: Certificate, at: datetime | None = None) -> Batch:
    """Verify a batch's signature (the signer must be ``sender_certificate`` or a certificate it
    issued) and its internal chain; :class:`InvalidBundle` or :class:`TrustError` naming what is wrong."""
    when = aware_or_now(at, "at")
    body, signer = open_signed_by(
        data, BATCH_FORMAT, MAX_BATCH_BYTES, "exchange batch",
        sender=sender_certificate,
        named="the sender's exchange certificate",
        at=when,
    )
    if set(body) - {"ministry"} != _PAYLOAD_KEYS:
        raise InvalidBundle(
            "wrong members", where="payload", value=sorted(body), expected=", ".join(sorted(_PAYLOAD_KEYS))
        )
    raw_events = body["events"]
    if not isinstance(raw_events, list) or not raw_events:
        raise InvalidBundle("a batch carries at least one event", where="payload.events")
    events = tuple(_read_event(e, f"payload.events[{i}]") for i, e in enumerate(raw_events))
    first, last = body["first_seq"], body["last_seq"]
    if first != events[0].seq or last != events[-1].seq:
        raise InvalidBundle(
            "first_seq/last_seq do not match the events", where="payload", value=(first, last)
        )
    walk = ChainWalk("status", prev_hash=body["prev_hash"], next_seq=first)
    for i, event in enumerate(events):
        fields = _event_dict(event)
        fields["at"] = event.at
        where, expected_seq = f"payload.events[{i}]", walk.next_seq
        faults = walk.step(fields)
        if ChainFault.SEQUENCE in faults:
            raise InvalidBundle(
                f"events are not contiguous: seq {event.seq} where {expected_seq} belongs", where=where
            )
        if ChainFault.HASH in faults:
            raise InvalidBundle(
                f"event seq {event.seq}: its hash is not the SM3 of its content "
                "(spec/library.md, hash chains)",
                where=where,
            )
        if ChainFault.LINK in faults:
            raise InvalidBundle(
                f"the chain is broken at seq {event.seq}: its prev_hash is not the hash before it",
                where=where,
            )
    if walk.prev_hash != body["chain_hash"]:
        raise InvalidBundle("chain_hash is not the hash of the last event", where="payload.chain_hash")
    files: dict[str, bytes] = {}
    raw_files = body["files"]
    if not isinstance(raw_files, list):
        raise InvalidBundle("files must be a list", where="payload.files")
    for i, item in enumerate(raw_files):
        if not isinstance(item, dict) or set(item) != {"sm3", "content"}:
            raise InvalidBundle("a file is {sm3, content}", where=f"payload.files[{i}]")
        content = unb64(item["content"], f"payload.files[{i}].content")
        if sm3(content).hex() != item["sm3"]:
            raise InvalidBundle("a file's SM3 does not match its content", where=f"payload.files[{i}]")
        files[item["sm3"]] = content
    if not isinstance(body["sender"], str) or not body["sender"]:
        raise InvalidBundle("sender must name the sending library", where="payload.sender")
    made = _time(body["made_at"], "payload.made_at")
    profile, ministry = _read_ministry(body.get("ministry"), events)
    return Batch(
        body["sender"],
        made,
        first,
        last,
        body["prev_hash"],
        body["chain_hash"],
        events,
        files,
        signer,
        profile,
        ministry,
    )


def _read_ministry(
    raw: object, events: Sequence[ChainEvent]
) -> tuple[str | None, tuple[MinistryCodes, ...]]:
    """The ministry codes a batch carries, each checked against its event (spec/exchange.md §6):
    a peer reading only the codes must read what the events say."""
    if raw is None:
        return None, ()
    where = "payload.ministry"
    if not isinstance(raw, dict) or set(raw) != {"profile", "records"}:
        raise InvalidBundle("the ministry codes are {profile, records}", where=where)
    if not isinstance(raw["records"], list):
        raise InvalidBundle("the ministry codes are {profile, records}", where=where)
    profile = raw["profile"]
    if profile not in MINISTRY_PROFILES:
        raise InvalidBundle(
            "unknown ministry status profile",
            where=f"{where}.profile",
            value=profile,
            expected=", ".join(MINISTRY_PROFILES),
        )
    if len(raw["records"]) != len(events):
        raise InvalidBundle("one ministry record per event", where=f"{where}.records")
    out = []
    for i, (record, event) in enumerate(zip(raw["records"], events, strict=True)):
        expected = _codes(event, profile)
        if record != expected.to_dict():
            raise InvalidBundle(
                f"the ministry codes of seq {event.seq} do not say what the event says",
                where=f"{where}.records[{i}]",
                value=record,
                expected=json.dumps(expected.to_dict(), ensure_ascii=False, sort_keys=True),
            )
        out.append(expected)
    return profile, tuple(out)


def _time(value: object, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidBundle("not a time", where=where, value=value) from None
    if parsed.tzinfo is None:
        raise InvalidBundle("time without zone", where=where, value=value)
    return parsed


def _read_event(raw: object, where: str) -> ChainEvent:
    if not isinstance(raw, dict) or set(raw) != _EVENT_KEYS:
        raise InvalidBundle("wrong event members", where=where, expected=", ".join(sorted(_EVENT_KEYS)))
    ints = ("seq", "version")
    texts = ("event_id", "kind", "identifier", "payload", "prev_hash", "hash")
    if not all(isinstance(raw[k], int) and not isinstance(raw[k], bool) for k in ints) or not all(
        isinstance(raw[k], str) for k in texts
    ):
        raise InvalidBundle("event fields of the wrong type", where=where)
    if raw["kind"] not in _KINDS:
        raise InvalidBundle(
            "unknown event kind", where=f"{where}.kind", value=raw["kind"], expected=", ".join(_KINDS)
        )
    try:
        status = CertStatus(raw["status"])
    except ValueError:
        raise InvalidBundle("unknown status", where=f"{where}.status", value=raw["status"]) from None
    for key in ("reason", "operator"):
        if raw[key] is not None and not isinstance(raw[key], str):
            raise InvalidBundle("must be text or null", where=f"{where}.{key}")
    return ChainEvent(
        raw["seq"],
        raw["event_id"],
        raw["kind"],
        raw["identifier"],
        raw["version"],
        status,
        raw["reason"],
        raw["operator"],
        _time(raw["at"], f"{where}.at"),
        raw["payload"],
        raw["prev_hash"],
        raw["hash"],
    )


# --- applying ----------------------------------------------------------------------------------


def cursor_of(library: Registry, sender: str) -> tuple[int, str | None]:
    """The last seq (and its hash) of ``sender``'s log this library has applied (0, None: nothing)."""
    seq = library.info(f"exchange.{sender}.seq")
    return (int(seq) if seq else 0), library.info(f"exchange.{sender}.hash")


def apply_batch(
    library: Registry,
    data: bytes,
    *,
    sender_certificate: Certificate,
    policy: ExchangePolicy,
    at: datetime | None = None,
) -> Answer:
    """Verify ``data`` and apply it to ``library``; the answer names every event's outcome.

    A batch that does not continue this library's cursor for its sender is not applied: a gap
    names the missing range, a prev_hash other than the cursor's hash is a broken chain.  Each
    event (a renewal's two events together) is applied in one transaction with the cursor moving
    past it, so a receiver killed mid-batch holds exactly the events up to its cursor and, given
    the batch again, applies the rest.
    """
    batch = read_batch(data, sender_certificate=sender_certificate, at=at)
    seq, head = cursor_of(library, batch.sender)

    def refused(problem: str, missing: tuple[int, int] | None) -> Answer:
        return Answer(batch.sender, batch.first_seq, batch.last_seq, (), seq, problem, missing)

    if batch.first_seq > seq + 1:
        return refused(
            f"gap: events {seq + 1}-{batch.first_seq - 1} of {batch.sender} have not been received; "
            f"send them first",
            (seq + 1, batch.first_seq - 1),
        )
    results = [
        _result(e, Outcome.ALREADY, "already applied (before this library's cursor)")
        for e in batch.events
        if e.seq <= seq
    ]
    fresh = [e for e in batch.events if e.seq > seq]
    if fresh:
        expected = head if seq else GENESIS
        if fresh[0].prev_hash != expected:
            return refused(
                f"chain mismatch at seq {fresh[0].seq}: its prev_hash {fresh[0].prev_hash[:16]}… is not "
                f"the hash this library holds for {batch.sender}'s seq {seq} ({str(expected)[:16]}…): "
                "not the log this library has been following",
                None,
            )
        i = 0
        while i < len(fresh):
            group = fresh[i : i + 2] if _pair(fresh, i) else fresh[i : i + 1]
            results.extend(_apply_group(library, group, batch, policy))
            i += len(group)
        seq = fresh[-1].seq
    return Answer(batch.sender, batch.first_seq, batch.last_seq, tuple(results), seq)


def _pair(events: Sequence[ChainEvent], i: int) -> bool:
    """Whether events ``i`` and ``i + 1`` are a renewal: the new version, then the old one replaced by it."""
    if not _renewal(events[i]) or i + 1 >= len(events):
        return False
    second = events[i + 1]
    return second.kind == "status" and second.status is CertStatus.REPLACED and (
        _replaced_by(second) == events[i].identifier
    )


def _replaced_by(event: ChainEvent) -> str | None:
    try:
        body = json.loads(event.payload)
    except ValueError:
        return None
    value = body.get("replaced_by") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _result(event: ChainEvent, outcome: str, reason: str = "") -> EventResult:
    return EventResult(event.seq, event.event_id, event.kind, event.identifier, outcome, reason)


def _move_cursor(library: Registry, sender: str, event: ChainEvent) -> None:
    library.set_info(f"exchange.{sender}.seq", str(event.seq))
    library.set_info(f"exchange.{sender}.hash", event.hash)


def _apply_group(
    library: Registry,
    group: Sequence[ChainEvent],
    batch: Batch,
    policy: ExchangePolicy,
    *,
    cursor: bool = True,
) -> tuple[EventResult, ...]:
    """One event, or a renewal's two, and the cursor past them: one transaction.  A refusal the
    library raises rolls the change back; the cursor then moves past it on its own, named."""
    try:
        with library.atomic():
            outcome = _apply(library, group, batch, policy)
            if cursor:
                _move_cursor(library, batch.sender, group[-1])
        return outcome
    except LibraryUnavailable:
        raise  # the database went away or is busy (LibraryBusy): nothing is refused, given again later
    except EcertError as exc:
        reason = str(exc)
    except (ValueError, TypeError, KeyError) as exc:  # a payload field of the wrong form
        reason = f"malformed payload ({exc})"
    if cursor:
        with library.atomic():
            _move_cursor(library, batch.sender, group[-1])
    return tuple(_result(e, Outcome.REFUSED, reason) for e in group)


def _apply(
    library: Registry, group: Sequence[ChainEvent], batch: Batch, policy: ExchangePolicy
) -> tuple[EventResult, ...]:
    """The outcome of each event of ``group``; raises what the library refuses."""
    event = group[0]
    try:
        body = json.loads(event.payload)
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        return tuple(_result(e, Outcome.REFUSED, f"unreadable payload ({exc})") for e in group)
    if len(group) == 2:
        return _renewed(library, event, group[1], body, batch, policy)
    if event.kind == "issued":
        if _renewal(event):
            return (
                _result(
                    event,
                    Outcome.REFUSED,
                    f"version {event.version:03d} travels with the replacement of the version before it "
                    "(one renewal, two events): the batch does not carry it",
                ),
            )
        return (_issued(library, event, body, batch, policy),)
    if event.kind == "status":
        return (_status(library, event, policy),)
    return (_copy(library, event, body, batch, policy),)


def _known(library: Registry, identifier: str) -> IssuedRecord | None:
    try:
        return library.get(identifier)
    except RecordNotFound:
        return None


def _record_of(event: ChainEvent, body: dict[str, Any]) -> tuple[CoreMetadata, str, str]:
    """(metadata, file SM3, signer) of an issued event's payload, which must name the event's certificate."""
    md = from_json(str(body.get("metadata", "")))
    digest, signer = body.get("package_digest"), body.get("signer")
    if str(md.identifier) != event.identifier or not isinstance(digest, str) or not isinstance(signer, str):
        raise InvalidBundle(
            "the payload's metadata, digest or signer do not match the event", where=f"seq {event.seq}"
        )
    return md, digest, signer


def _outside(issuer_code: str, batch: Batch, policy: ExchangePolicy) -> str:
    return f"issuer {issuer_code} is outside what {batch.sender} may send ({policy.describe()})"


def _conflict(identifier: str, held: str, sent: str) -> str:
    return (
        f"conflicting version: this library holds {identifier} with file SM3 {held[:16]}…, "
        f"the batch {sent[:16]}… (not overwritten)"
    )


def _issued(
    library: Registry, event: ChainEvent, body: dict[str, Any], batch: Batch, policy: ExchangePolicy
) -> EventResult:
    md, digest, signer = _record_of(event, body)
    held = _known(library, event.identifier)
    if held is not None and held.package_digest == digest:
        return _result(event, Outcome.ALREADY, "already recorded with the same file")
    if not policy.allows(md.issuer_code):
        return _result(event, Outcome.REFUSED, _outside(md.issuer_code, batch, policy))
    if held is not None:
        return _result(event, Outcome.REFUSED, _conflict(event.identifier, held.package_digest, digest))
    content = batch.files.get(digest)
    library.record_issued(md, package_digest=digest, signer=signer, issued_at=event.at, content=content)
    return _result(event, Outcome.ACCEPTED, "" if content is not None else _NOT_CARRIED)


def _renewed(
    library: Registry,
    issued: ChainEvent,
    replaced: ChainEvent,
    body: dict[str, Any],
    batch: Batch,
    policy: ExchangePolicy,
) -> tuple[EventResult, EventResult]:
    """A renewal: the new version (``issued``) and the old one replaced (``replaced``), together."""

    def both(outcome: str, reason: str = "") -> tuple[EventResult, EventResult]:
        return _result(issued, outcome, reason), _result(replaced, outcome, reason)

    md, digest, signer = _record_of(issued, body)
    held = _known(library, issued.identifier)
    old = _known(library, replaced.identifier)
    if held is not None and held.package_digest == digest and old and old.replaced_by == issued.identifier:
        return both(Outcome.ALREADY, "renewal already recorded with the same file")
    for code in {md.issuer_code, *((old.metadata.issuer_code,) if old else ())}:
        if not policy.allows(code):
            return both(Outcome.REFUSED, _outside(code, batch, policy))
    if held is not None:
        return both(Outcome.REFUSED, _conflict(issued.identifier, held.package_digest, digest))
    if old is None:
        return both(
            Outcome.REFUSED,
            f"renewal of {replaced.identifier}, which this library does not hold (its first version "
            "was never received, or was refused)",
        )
    content = batch.files.get(digest)
    library.record_renewal(
        replaced.identifier,
        md,
        package_digest=digest,
        signer=signer,
        issued_at=issued.at,
        replaced_at=replaced.at,
        reason=replaced.reason or "renewed",
        by=replaced.operator or signer,
        content=content,
    )
    return both(Outcome.ACCEPTED, "" if content is not None else _NOT_CARRIED)


def _status(library: Registry, event: ChainEvent, policy: ExchangePolicy) -> EventResult:
    held = _known(library, event.identifier)
    if held is None:
        return _result(
            event, Outcome.REFUSED, "no such certificate here (its issue was not received or was refused)"
        )
    if any(h.status is event.status and h.at == event.at for h in library.history(event.identifier)):
        return _result(event, Outcome.ALREADY, f"already {event.status.value} at {utc_text(event.at)}")
    if not policy.allows(held.metadata.issuer_code):
        return _result(
            event,
            Outcome.REFUSED,
            f"a status change for a certificate of {held.metadata.issuer_code}, "
            f"which the sender may not speak for ({policy.describe()})",
        )
    if event.status is CertStatus.REPLACED:
        return _result(
            event,
            Outcome.REFUSED,
            "a replacement travels with its new version (one renewal, two events): "
            "the batch does not carry it",
        )
    library.set_status(
        event.identifier,
        event.status,
        reason=event.reason or event.status.value,
        by=event.operator or "exchange",
        at=event.at,
    )
    return _result(event, Outcome.ACCEPTED)


def _copy(
    library: Registry, event: ChainEvent, body: dict[str, Any], batch: Batch, policy: ExchangePolicy
) -> EventResult:
    held = _known(library, event.identifier)
    if held is None:
        return _result(event, Outcome.REFUSED, "a copy of a certificate not held here")
    copy_id, digest = body.get("copy_id"), body.get("package_digest")
    if any(c.copy_id == copy_id for c in library.copies(event.identifier)):
        return _result(event, Outcome.ALREADY, f"copy {copy_id} already recorded")
    if not policy.allows(held.metadata.issuer_code):
        return _result(
            event,
            Outcome.REFUSED,
            f"a copy of a certificate of {held.metadata.issuer_code} ({policy.describe()})",
        )
    content = batch.files.get(str(digest))
    if content is None:
        return _result(event, Outcome.REFUSED, "the copy's file is not in the batch")
    record = CopyRecord(
        str(copy_id),
        event.identifier,
        str(body.get("level")),
        _time(body.get("made_at"), "payload.made_at"),
        str(body.get("maker")),
        str(body.get("reason")),
        date.fromisoformat(str(body.get("valid_until"))),
        str(digest),
        None,
        None,
    )
    library.record_copy(record, content, operator=event.operator or "exchange", at=event.at)
    return _result(event, Outcome.ACCEPTED)


def answer_lines(answer: Answer) -> Sequence[str]:
    """The answer as text lines (what ``ecert exchange import`` prints)."""
    lines = [
        f"batch {answer.sender} seq {answer.first_seq}-{answer.last_seq}: "
        + (answer.problem or ", ".join(f"{v} {k}" for k, v in answer.counts.items()))
    ]
    lines += [
        f"  seq {r.seq} {r.kind} {r.identifier}: {r.outcome}{' - ' + r.reason if r.reason else ''}"
        for r in answer.results
        if r.outcome != Outcome.ALREADY
    ]
    return lines


# The per-event rules, for the filtered batches of 回流 (ecert.exchange.pull), which carry a run of
# the log with the events outside a filter left out and apply the others exactly as a batch does.
event_fields = _event_dict
parse_event = _read_event


def apply_event(library: Registry, event: ChainEvent, batch: Batch, policy: ExchangePolicy) -> EventResult:
    """One event of ``batch`` in its own transaction, for a caller that moves the cursor itself.

    The first event of a renewal takes its partner (the next event of ``batch``) along; given the
    partner next, the library then holds it already.
    """
    i = next(n for n, e in enumerate(batch.events) if e.seq == event.seq)
    group = batch.events[i : i + 2] if _pair(batch.events, i) else (event,)
    return _apply_group(library, group, batch, policy, cursor=False)[0]
