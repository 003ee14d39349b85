"""Filtered batches for 回流 (province -> city): a run of the sender's log with the events outside the
receiver's filter left out, still checkable as one hash chain (spec/exchange.md, HTTP transport).

A batch of ``ecert-exchange-batch/1`` must be contiguous, so a city that serves some holders and
types cannot receive one without receiving everything.  A pull batch (``ecert-exchange-pull/1``)
covers a contiguous run ``first_seq..last_seq`` of the log like a batch, but an event outside the
filter travels only as its place in the chain: a run of left-out events is one entry
``{"skipped": [from, to], "hash": <hash of event to>}``.  The receiver recomputes the hash of
every event it receives and checks that each ``prev_hash`` is the hash before it (an event's, or a
skipped run's), so the run is still one chain from ``prev_hash`` to ``chain_hash`` and the cursor
moves exactly as with a batch.  A skipped entry reveals that events happened, not what they were
(an event's hash covers its random event id, so it cannot be matched against a guess).
Events are applied per record by the rules of :mod:`ecert.exchange.batch`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecert.crypto.digests import sm3
from ecert.crypto.signer import Signer
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidBundle
from ecert.exchange.batch import (
    Answer,
    Batch,
    EventResult,
    ExchangePolicy,
    Outcome,
    apply_event,
    cursor_of,
    event_fields,
    parse_event,
)
from ecert.exchange.envelope import b64, canonical, open_signed_by, seal, unb64, utc_text
from ecert.registry.base import ChainEvent, Registry
from ecert.registry.chain import GENESIS, entry_hash
from ecert.times import aware_or_now

__all__ = ["PULL_FORMAT", "PullBatch", "apply_pull_batch", "file_of", "make_pull_batch", "read_pull_batch"]

PULL_FORMAT = "ecert-exchange-pull/1"
MAX_PULL_BYTES = 256 * 1024 * 1024
_KEYS = frozenset(
    {
        "format",
        "sender",
        "made_at",
        "first_seq",
        "last_seq",
        "prev_hash",
        "chain_hash",
        "filter",
        "events",
        "files",
    }
)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


def file_of(event: ChainEvent) -> tuple[str, str | None] | None:
    """(SM3, copy id or None) of the signed file an issued or copy event names, else None."""
    if event.kind not in ("issued", "copy"):
        return None
    try:
        body = json.loads(event.payload)
    except ValueError:
        return None
    digest = body.get("package_digest") if isinstance(body, dict) else None
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        return None
    copy_id = body.get("copy_id") if event.kind == "copy" else None
    return digest, (str(copy_id) if copy_id is not None else None)


def make_pull_batch(
    library: Registry,
    signer: Signer,
    *,
    after: int,
    limit: int,
    selects: Callable[[ChainEvent], bool],
    described: dict[str, Any],
    max_file_bytes: int,
    at: datetime | None = None,
) -> tuple[bytes, int] | None:
    """The signed pull batch of the (at most ``limit``) events after ``after``, those for which
    ``selects`` is false left out, and the last seq it covers; ``described`` is the filter as the
    batch states it.  None: no event after ``after``.  Files ride along while their total stays
    within ``max_file_bytes``."""
    when = aware_or_now(at, "at")
    if not isinstance(after, int) or after < 0 or not isinstance(limit, int) or not 0 < limit <= 100_000:
        raise InputError("after >= 0 and 1 <= limit <= 100000", where="after/limit", value=(after, limit))
    events = library.events(after=after, limit=limit)
    if not events:
        return None
    if _renewal(events[-1]):  # a renewal's two events are never split across batches
        events += library.events(after=events[-1].seq, limit=1)
    chosen = [selects(e) for e in events]
    for i, event in enumerate(events[:-1]):
        if _renewal(event):  # the new version and the old one replaced travel together or not at all
            chosen[i] = chosen[i + 1] = chosen[i] or chosen[i + 1]
    entries: list[dict[str, Any]] = []
    files: dict[str, str] = {}
    budget = max_file_bytes
    carried = 0  # events carried in full so far
    for i, event in enumerate(events):
        if not chosen[i]:
            last = entries[-1] if entries else None
            if last is not None and "skipped" in last:
                last["skipped"][1] = event.seq
                last["hash"] = event.hash
            else:
                entries.append({"skipped": [event.seq, event.seq], "hash": event.hash})
            continue
        named = file_of(event)
        if named is not None and named[0] not in files:
            digest, copy_id = named
            name, kind = (event.identifier, "original") if copy_id is None else (copy_id, "copy")
            stored = library.stored_file(name, kind)
            usable = stored is not None and stored.digest == digest
            if usable and stored is not None and stored.size > budget and copy_id is not None:
                # a copy is applied only with its file (spec/exchange.md §3): it opens the next
                # batch instead, where it rides whatever its size
                if carried:
                    events = events[:i]
                    break
                budget = stored.size
            if usable and stored is not None and stored.size <= budget:
                try:
                    data = library.read_file(name, kind)
                except EcertError:
                    pass  # travels by digest only: the receiver fetches it
                else:
                    files[digest] = b64(data)
                    budget -= len(data)
        entries.append(event_fields(event))
        carried += 1
    payload = canonical(
        {
            "format": PULL_FORMAT,
            "sender": library.library_id,
            "made_at": utc_text(when),
            "first_seq": events[0].seq,
            "last_seq": events[-1].seq,
            "prev_hash": events[0].prev_hash,
            "chain_hash": events[-1].hash,
            "filter": described,
            "events": entries,
            "files": [{"sm3": d, "content": c} for d, c in sorted(files.items())],
        }
    )
    return seal(PULL_FORMAT, payload, signer, when), events[-1].seq


def _renewal(event: ChainEvent) -> bool:
    """Whether ``event`` opens a renewal: a later version issued, followed by the old one replaced."""
    return event.kind == "issued" and event.version > 1


@dataclass(frozen=True, slots=True)
class PullBatch:
    """A verified pull batch: the run it covers, the events it carries, the hash after each seq
    it can name (events and the ends of skipped runs), its files by SM3."""

    batch: Batch  # the carried events as a Batch (what the per-event rules take)
    filter: dict[str, Any]
    skipped: int
    hashes: dict[int, str] = field(repr=False)


def read_pull_batch(data: bytes, *, sender_certificate: Certificate, at: datetime | None = None) -> PullBatch:
    """Verify a pull batch's signature and chain; :class:`InvalidBundle` or :class:`TrustError`."""
    when = aware_or_now(at, "at")
    body, signer = open_signed_by(
        data, PULL_FORMAT, MAX_PULL_BYTES, "pull batch",
        sender=sender_certificate,
        named="the sender's certificate",
        at=when,
    )
    if set(body) != _KEYS:
        raise InvalidBundle(
            "wrong members", where="payload", value=sorted(body), expected=", ".join(sorted(_KEYS))
        )
    first, last = body["first_seq"], body["last_seq"]
    if (
        not all(isinstance(v, int) and not isinstance(v, bool) for v in (first, last))
        or not 0 < first <= last
    ):
        raise InvalidBundle("first_seq and last_seq: 0 < first <= last", where="payload", value=(first, last))
    for name in ("prev_hash", "chain_hash"):
        if not isinstance(body[name], str) or not (_HEX64.fullmatch(body[name]) or body[name] == GENESIS):
            raise InvalidBundle("a hash: 64 hex digits", where=f"payload.{name}")
    if not isinstance(body["sender"], str) or not body["sender"]:
        raise InvalidBundle("sender must name the sending library", where="payload.sender")
    if not isinstance(body["filter"], dict):
        raise InvalidBundle("filter must be an object", where="payload.filter")
    raw = body["events"]
    if not isinstance(raw, list) or not raw:
        raise InvalidBundle("a pull batch covers at least one event", where="payload.events")
    expected, previous = first, body["prev_hash"]
    hashes = {first - 1: previous}
    events: list[ChainEvent] = []
    skipped = 0
    for i, entry in enumerate(raw):
        where = f"payload.events[{i}]"
        if isinstance(entry, dict) and "skipped" in entry:
            run, end_hash = entry.get("skipped"), entry.get("hash")
            if set(entry) != {"skipped", "hash"} or not isinstance(run, list) or len(run) != 2:
                raise InvalidBundle("a skipped run is {skipped: [from, to], hash}", where=where)
            a, b = run
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in run) or a != expected or b < a:
                raise InvalidBundle(f"a skipped run must start at seq {expected}", where=where, value=run)
            if not isinstance(end_hash, str) or not _HEX64.fullmatch(end_hash):
                raise InvalidBundle("a hash: 64 hex digits", where=f"{where}.hash")
            skipped += b - a + 1
            previous, expected = end_hash, b + 1
            hashes[b] = previous
            continue
        event = parse_event(entry, where)
        if event.seq != expected:
            raise InvalidBundle(f"seq {event.seq} where {expected} belongs", where=where)
        fields = event_fields(event)
        fields["at"] = event.at
        if entry_hash("status", fields) != event.hash:
            raise InvalidBundle(
                f"event seq {event.seq}: its hash is not the SM3 of its content (spec/library.md)",
                where=where,
            )
        if event.prev_hash != previous:
            raise InvalidBundle(f"the chain is broken at seq {event.seq}", where=where)
        events.append(event)
        previous, expected = event.hash, expected + 1
        hashes[event.seq] = previous
    if expected - 1 != last:
        raise InvalidBundle(f"the entries end at seq {expected - 1}, not at last_seq {last}", where="payload")
    if previous != body["chain_hash"]:
        raise InvalidBundle("chain_hash is not the hash of the last event", where="payload.chain_hash")
    files: dict[str, bytes] = {}
    if not isinstance(body["files"], list):
        raise InvalidBundle("files must be a list", where="payload.files")
    for i, item in enumerate(body["files"]):
        if not isinstance(item, dict) or set(item) != {"sm3", "content"}:
            raise InvalidBundle("a file is {sm3, content}", where=f"payload.files[{i}]")
        content = unb64(item["content"], f"payload.files[{i}].content")
        if sm3(content).hex() != item["sm3"]:
            raise InvalidBundle("a file's SM3 does not match its content", where=f"payload.files[{i}]")
        files[item["sm3"]] = content
    try:
        made = datetime.fromisoformat(str(body["made_at"]).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidBundle("not a time", where="payload.made_at") from None
    batch = Batch(
        body["sender"], made, first, last, body["prev_hash"], body["chain_hash"], tuple(events), files, signer
    )
    return PullBatch(batch, body["filter"], skipped, hashes)


def apply_pull_batch(
    library: Registry,
    data: bytes,
    *,
    sender_certificate: Certificate,
    policy: ExchangePolicy,
    at: datetime | None = None,
) -> Answer:
    """Verify a pull batch and apply its events after this library's cursor for the sender (the
    same cursor rows an ``ecert-exchange-batch/1`` of that sender moves); answered per record."""
    pulled = read_pull_batch(data, sender_certificate=sender_certificate, at=at)
    batch = pulled.batch
    seq, head = cursor_of(library, batch.sender)

    def refused(problem: str, missing: tuple[int, int] | None) -> Answer:
        return Answer(batch.sender, batch.first_seq, batch.last_seq, (), seq, problem, missing)

    if batch.first_seq > seq + 1:
        return refused(
            f"gap: events {seq + 1}-{batch.first_seq - 1} of {batch.sender} have not been received; "
            "pull from there",
            (seq + 1, batch.first_seq - 1),
        )
    results = [
        EventResult(
            e.seq, e.event_id, e.kind, e.identifier, Outcome.ALREADY, "already applied (before the cursor)"
        )
        for e in batch.events
        if e.seq <= seq
    ]
    if batch.last_seq <= seq:
        return Answer(batch.sender, batch.first_seq, batch.last_seq, tuple(results), seq)
    here = pulled.hashes.get(seq)
    if here is None:
        return refused(
            f"the batch cannot show its chain at seq {seq} (inside a skipped run); pull after {seq}", None
        )
    expected = head if seq else GENESIS
    if here != expected:
        return refused(
            f"chain mismatch at seq {seq}: the batch's hash there is {here[:16]}…, this library holds "
            f"{str(expected)[:16]}… for {batch.sender}: not the log this library has been following",
            None,
        )
    with library.atomic():  # the batch and the cursor past it: one commit, resumed exactly if cut
        for event in batch.events:
            if event.seq > seq:
                results.append(apply_event(library, event, batch, policy))
        library.set_info(f"exchange.{batch.sender}.seq", str(batch.last_seq))
        library.set_info(f"exchange.{batch.sender}.hash", batch.chain_hash)
    return Answer(batch.sender, batch.first_seq, batch.last_seq, tuple(results), batch.last_seq)
