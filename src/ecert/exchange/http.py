"""The HTTP exchange's client: push (归集) a library's log to a peer, pull (回流) from it, fetch its
reconciliation summary (spec/exchange.md, HTTP transport).

Requests are signed with the application's SM2 key and every answer is checked against the peer's
service certificate before it is read (:class:`ecert.share.Client` does both).  Both directions
resume from a cursor the receiving side keeps: a push starts from the cursor the peer reports for
this library, a pull from this library's cursor for the peer; applying is idempotent, so an
interruption anywhere loses and duplicates nothing.  Files that do not travel in a batch are owed
by digest and delivered (push) or fetched (pull) afterwards, each checked against its SM3; the
list of owed files is kept by the receiver, so it survives an interruption too.
Needs httpx (``pip install 'ecert[server]'``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ecert.crypto.digests import sm3
from ecert.crypto.keys import PrivateKey
from ecert.crypto.signer import Signer
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidBundle, RequestTooLarge, ShareError
from ecert.exchange.batch import (
    DEFAULT_FILE_BYTES,
    Answer,
    EventResult,
    ExchangePolicy,
    Outcome,
    cursor_of,
    make_batch,
)
from ecert.exchange.codes import cert_state
from ecert.exchange.envelope import b64, unb64
from ecert.exchange.peers import FileRef, mark_pulled, owed_files, set_owed_files
from ecert.exchange.pull import apply_pull_batch, file_of, read_pull_batch
from ecert.exchange.reconcile import Difference, compare, summarise
from ecert.exchange.wire import PREFIX, error_for
from ecert.registry.base import ChainEvent, Registry
from ecert.registry.status import CertStatus
from ecert.share.client import Client

__all__ = [
    "ExchangeClient",
    "PullReport",
    "PushReport",
    "answer_from_dict",
    "pull",
    "push",
    "remote_differences",
]

PUSH_FILE_BYTES = min(DEFAULT_FILE_BYTES, 4 * 1024 * 1024)  # fits the share app's 16 MiB body limit


class ExchangeRefused(ShareError):
    """The peer refused a batch as a whole (a broken chain): nothing more can be sent until an
    operator looks (the answer's problem says why)."""


class ExchangeClient:
    """Talks to one peer's exchange as one application (see the module docstring)."""

    def __init__(
        self,
        server: str,
        *,
        app_id: str,
        key: PrivateKey,
        service_certificate: Certificate,
        timeout: float = 120.0,
        http: httpx.Client | None = None,
    ) -> None:
        if not isinstance(service_certificate, Certificate):
            raise InputError("the peer's service certificate", where="service_certificate")
        self.service_certificate = service_certificate
        self._client = Client(
            server,
            app_id=app_id,
            key=key,
            service_key=service_certificate,
            operator=app_id,
            timeout=timeout,
            http=http,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ExchangeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, operation: str, fields: dict[str, Any]) -> Any:
        """POST ``fields`` to ``/exchange/v1/<operation>``; the answer's data, or the refusal raised."""
        raw = json.dumps(fields, ensure_ascii=False).encode("utf-8")
        answer = self._client.send(f"{PREFIX}/{operation}", raw)
        if answer.status != 0:
            raise error_for(answer.status, answer.message)
        return answer.data

    def status(self) -> dict[str, Any]:
        return dict(self.call("status", {}))

    def push_batch(self, batch: bytes) -> dict[str, Any]:
        return dict(self.call("push", {"batch": json.loads(batch)}))

    def put_file(self, ref: FileRef, content: bytes) -> str:
        body = {"certIdentifier": ref.identifier, "sm3": ref.sm3, "content": b64(content)}
        return str(self.call("files/put", body)["outcome"])

    def pull_batch(
        self,
        after: int,
        *,
        limit: int = 1000,
        holders: Iterable[str] = (),
        types: Iterable[str] = (),
        max_file_bytes: int = 8 * 1024 * 1024,
        holder_regions: Iterable[str] = (),
    ) -> tuple[str, bytes | None, bool]:
        """(sender library id, the signed pull batch or None, whether more follow)."""
        body = {
            "after": after,
            "limit": limit,
            "holderCodes": sorted(set(holders)),
            "holderRegions": sorted(set(holder_regions)),
            "certTypeCodes": sorted(set(types)),
            "maxFileBytes": max_file_bytes,
        }
        data = self.call("pull", body)
        batch = data.get("batch")
        encoded = None if batch is None else json.dumps(batch, ensure_ascii=False).encode("utf-8")
        return str(data["sender"]), encoded, bool(data["more"])

    def get_file(self, ref: FileRef) -> bytes:
        """A file by digest; :class:`InvalidBundle` unless the bytes have exactly that SM3."""
        body: dict[str, Any] = {"certIdentifier": ref.identifier, "sm3": ref.sm3}
        if ref.copy_id is not None:
            body["copyId"] = ref.copy_id
        data = self.call("files/get", body)
        content = unb64(data.get("content"), "content")
        if sm3(content).hex() != ref.sm3:
            raise InvalidBundle(
                f"the file sent for {ref.identifier} is not the one asked for: its SM3 is "
                f"{sm3(content).hex()}, not {ref.sm3}"
            )
        return content

    def summary(self, types: Iterable[str] = ()) -> dict[str, tuple[int, str]]:
        """The peer's reconciliation summary (groups issuer|type|day -> (count, head))."""
        return self.summary_of(types)[0]

    def summary_of(self, types: Iterable[str] = ()) -> tuple[dict[str, tuple[int, str]], frozenset[str]]:
        """The peer's summary and the types it covers (``{"*"}``: every type)."""
        data = self.call("reconcile", {"certTypeCodes": sorted(set(types))})
        try:
            groups = {str(g): (int(v["count"]), str(v["head"])) for g, v in data["groups"].items()}
            covered = frozenset(str(t) for t in data["certTypeCodes"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidBundle("the peer's summary is not {groups: {group: {count, head}}}") from None
        return groups, covered


def remote_differences(
    library: Registry, client: ExchangeClient, types: Iterable[str] = ()
) -> list[Difference]:
    """This library's summary against the peer's, over the types the peer summarised for this
    application (its ``exchange`` rights, and ``types`` when given): each group that differs."""
    theirs, covered = client.summary_of(types)

    def shown(group: str) -> bool:
        return "*" in covered or group.split("|")[1] in covered

    ours = {g: v for g, v in summarise(library).items() if shown(g)}
    return compare(ours, {g: v for g, v in theirs.items() if shown(g)})


def answer_from_dict(doc: dict[str, Any]) -> Answer:
    """An :class:`Answer` as the peer sent it (``Answer.to_dict()``)."""
    try:
        results = tuple(
            EventResult(
                int(r["seq"]),
                str(r["event_id"]),
                str(r["kind"]),
                str(r["identifier"]),
                str(r["outcome"]),
                r["reason"],
            )
            for r in doc["results"]
        )
        missing = doc.get("missing")
        return Answer(
            str(doc["sender"]),
            int(doc["first_seq"]),
            int(doc["last_seq"]),
            results,
            int(doc["cursor"]),
            doc.get("problem"),
            (int(missing[0]), int(missing[1])) if missing else None,
        )
    except (KeyError, TypeError, ValueError, IndexError):
        raise InvalidBundle("the peer's answer is not an exchange answer") from None


@dataclass(frozen=True, slots=True)
class PushReport:
    """What a push did: the peer's answers, where its cursor stands, the files delivered by digest
    and those still owed (not in this library, or too large for the peer)."""

    answers: tuple[Answer, ...]
    cursor: int
    files_delivered: int
    files_owed: tuple[FileRef, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        out = {Outcome.ACCEPTED: 0, Outcome.ALREADY: 0, Outcome.REFUSED: 0}
        for a in self.answers:
            for k, v in a.counts.items():
                out[k] += v
        return out


@dataclass(frozen=True, slots=True)
class PullReport:
    """What a pull did: this library's answers to each pulled batch, its cursor for the sender,
    the files fetched by digest and those still owed."""

    sender: str
    answers: tuple[Answer, ...]
    cursor: int
    files_fetched: int
    files_owed: tuple[FileRef, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        out = {Outcome.ACCEPTED: 0, Outcome.ALREADY: 0, Outcome.REFUSED: 0}
        for a in self.answers:
            for k, v in a.counts.items():
                out[k] += v
        return out


def _deliver(
    library: Registry, client: ExchangeClient, wanted: Iterable[dict[str, Any]]
) -> tuple[int, list[FileRef]]:
    sent, left = 0, []
    for doc in wanted:
        ref = FileRef(str(doc["certIdentifier"]), str(doc["sm3"]), doc.get("copyId"))
        try:
            content = library.read_file(*ref.stored_as)
        except EcertError:
            left.append(ref)  # not kept here: the operator must bring it
            continue
        if sm3(content).hex() != ref.sm3:
            left.append(ref)
            continue
        try:
            client.put_file(ref, content)
        except RequestTooLarge:
            left.append(ref)
            continue
        sent += 1
    return sent, left


def _push_batch(
    library: Registry, signer: Signer, after: int, size: int, budget: int, status_codes: str | None
) -> bytes | None:
    """The next batch after ``after``, cut before an annotated copy whose file would not fit: a copy
    is applied only with its file (spec/exchange.md §3), so it opens the next batch, where it rides
    whatever its size (files are packed as :func:`make_batch` packs them: in order, while they fit)."""
    events = library.events(after=after, limit=size)
    if not events:
        return None
    limit, room, packed = len(events), budget, set()
    for i, event in enumerate(events):
        named = file_of(event)
        if named is None or named[0] in packed:
            continue
        digest, copy_id = named
        stored = library.stored_file(
            *((event.identifier, "original") if copy_id is None else (copy_id, "copy"))
        )
        if stored is None or stored.digest != digest:
            continue
        if stored.size <= room:
            room -= stored.size
            packed.add(digest)
        elif copy_id is not None:
            if i:
                limit = i
            else:
                limit, budget = 1, stored.size
            break
    return make_batch(
        library,
        signer,
        sender=library.library_id,
        after=after,
        limit=limit,
        max_file_bytes=budget,
        status_codes=status_codes,
    )


def push(
    library: Registry,
    client: ExchangeClient,
    signer: Signer,
    *,
    batch_size: int = 500,
    max_file_bytes: int = PUSH_FILE_BYTES,
    max_batches: int | None = None,
    status_codes: str | None = None,
) -> PushReport:
    """归集: send every event after the cursor the peer holds for this library, in signed batches,
    and deliver the files the peer names as wanted.  Stops after ``max_batches`` when given.
    ``status_codes`` (``mohurd-a``/``mohurd-b``) puts the ministry codes in every batch
    (spec/exchange.md §6), for a peer that reads those."""
    if status_codes is not None:
        cert_state(CertStatus.VALID, status_codes)  # an unknown profile is refused before anything is sent
    state = client.status()
    peer = state.get("peer")
    if not isinstance(peer, dict):
        raise ShareError("this application is not an exchange peer of the server (no peer record there)")
    if peer.get("library") not in (None, library.library_id):
        raise InputError(
            f"the server binds this application to library {peer['library']}, not to this one",
            where=library.library_id,
        )
    cursor = int(peer["cursor"])
    delivered, left = _deliver(library, client, peer.get("filesWanted") or [])
    answers: list[Answer] = []
    size, budget = batch_size, max_file_bytes
    while max_batches is None or len(answers) < max_batches:
        data = _push_batch(library, signer, cursor, size, budget, status_codes)
        if data is None:
            break
        try:
            doc = client.push_batch(data)
        except RequestTooLarge:
            if size == 1 and budget == 0:
                raise
            size, budget = max(1, size // 2), budget // 2
            continue
        answer = answer_from_dict(doc)
        answers.append(answer)
        if answer.problem:
            if answer.missing and answer.missing[0] - 1 < cursor:
                cursor = answer.missing[0] - 1  # the peer is behind what it said: send from there
                continue
            raise ExchangeRefused(
                f"the peer refused the batch {answer.first_seq}-{answer.last_seq}: {answer.problem}"
            )
        sent, left = _deliver(library, client, doc.get("filesWanted") or [])
        delivered += sent
        cursor = answer.cursor
    return PushReport(tuple(answers), cursor, delivered, tuple(left))


def pull(
    library: Registry,
    client: ExchangeClient,
    *,
    policy: ExchangePolicy,
    holders: Iterable[str] = (),
    types: Iterable[str] = (),
    limit: int = 1000,
    max_file_bytes: int = 8 * 1024 * 1024,
    max_batches: int | None = None,
    holder_regions: Iterable[str] = (),
) -> PullReport:
    """回流: pull every event after this library's cursor for the peer, for ``holders`` and
    ``types`` (empty: all the peer lets this application receive; ``holder_regions``: holders whose
    citizen ID or USCC carries one of these divisions, besides ``holders``), apply each batch with
    ``policy`` (what the peer may send for), then fetch the files that did not travel."""
    holders, types, regions = tuple(holders), tuple(types), tuple(holder_regions)
    sender = str(client.status()["library"])
    if sender == library.library_id:
        raise InputError("the server is this library", where=sender)
    mark_pulled(library, sender)
    key = f"exchange.from.{sender}"
    fetched, left = _fetch(library, client, owed_files(library, key), key)
    answers: list[Answer] = []
    cursor = cursor_of(library, sender)[0]
    while max_batches is None or len(answers) < max_batches:
        named, data, more = client.pull_batch(
            cursor,
            limit=limit,
            holders=holders,
            types=types,
            max_file_bytes=max_file_bytes,
            holder_regions=regions,
        )
        if data is None:
            break
        if named != sender:
            raise InvalidBundle(f"the peer changed its library id from {sender} to {named}")
        pulled = read_pull_batch(data, sender_certificate=client.service_certificate)
        if pulled.batch.sender != sender:
            raise InvalidBundle(f"a pull batch of library {pulled.batch.sender}, not of {sender}")
        # the batch, its cursor and the files it leaves owed: one commit, so that a crash between
        # them cannot leave events applied whose files this library never asks for
        with library.atomic():
            answer = apply_pull_batch(
                library, data, sender_certificate=client.service_certificate, policy=policy
            )
            owed = _owed_after(library, key, pulled.batch.events, answer)
        answers.append(answer)
        if answer.problem:
            raise ExchangeRefused(
                f"the pulled batch {answer.first_seq}-{answer.last_seq} was not applied: {answer.problem}"
            )
        if owed:
            got, left = _fetch(library, client, owed, key)
            fetched += got
        cursor = answer.cursor
        if not more:
            break
    return PullReport(sender, tuple(answers), cursor, fetched, tuple(left))


def _owed_after(
    library: Registry, key: str, events: Iterable[ChainEvent], answer: Answer
) -> tuple[FileRef, ...]:
    """The files owed under ``key`` once ``answer``'s events are taken: the issued events applied
    (or already here) whose original this library lacks, added to the list kept (and saved)."""
    if answer.problem:
        return ()
    taken = {r.seq for r in answer.results if r.outcome in (Outcome.ACCEPTED, Outcome.ALREADY)}
    owed = list(owed_files(library, key))
    for event in events:
        named_file = file_of(event)
        if (
            event.kind == "issued"
            and named_file
            and event.seq in taken
            and library.stored_file(event.identifier, "original") is None
        ):
            owed.append(FileRef(event.identifier, named_file[0]))
    return set_owed_files(library, key, owed) if owed else ()


def _fetch(
    library: Registry, client: ExchangeClient, owed: Iterable[FileRef], key: str
) -> tuple[int, list[FileRef]]:
    """Fetch owed files by digest, keep each after checking it against its record; the rest stay owed."""
    got, left = 0, []
    for ref in owed:
        try:
            record = library.get(ref.identifier)
            if record.package_digest != ref.sm3:
                raise InvalidBundle(f"{ref.identifier} names file {record.package_digest}, not {ref.sm3}")
            if library.stored_file(ref.identifier, "original") is None:
                library.store_file(ref.identifier, "original", client.get_file(ref))
                got += 1
        except EcertError:
            left.append(ref)
    set_owed_files(library, key, left)
    return got, left
