"""The receiving side of the HTTP exchange, no HTTP in it: what a library answers its peers.

:class:`ExchangeNode` takes the authenticated :class:`~ecert.registry.base.Application` (the
share service's signed-request check has run) and a typed request, and returns plain data the
HTTP layer writes into the ``{head, data}`` envelope.  Who may do what (spec/exchange.md, HTTP
transport):

* every operation needs an ``exchange`` right; its certificate types bound what the peer may
  pull, fetch by digest and see in a reconciliation summary;
* push and file delivery need a peer record (:mod:`ecert.exchange.peers`): the certificate the
  peer's batches are signed with and the regions / issuers it may send for.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecert.crypto.digests import sm3
from ecert.crypto.signer import Signer
from ecert.errors import InputError, InvalidBundle, PermissionDenied, RecordNotFound
from ecert.exchange.batch import Answer, ExchangePolicy, Outcome, apply_batch, cursor_of
from ecert.exchange.peers import (
    FileRef,
    bind_sender,
    bound_library,
    check_sender,
    get_peer,
    owed_files,
    set_owed_files,
)
from ecert.exchange.pull import make_pull_batch
from ecert.exchange.reconcile import summarise
from ecert.metadata.elements import HOLDER_CODE_TYPE_CITIZEN_ID, HOLDER_CODE_TYPE_USCC
from ecert.registry.base import Application, ChainEvent, Holder, IssuedRecord, Registry

__all__ = ["EXCHANGE_RIGHT", "ExchangeNode", "PullRequest", "PullResult"]

EXCHANGE_RIGHT = "exchange"
MAX_PULL_EVENTS = 10_000
MAX_PULL_FILE_BYTES = 64 * 1024 * 1024
MAX_FILTER_CODES = 1000


@dataclass(frozen=True, slots=True)
class PullRequest:
    """回流: the events after ``after`` (at most ``limit``), for these holders and types (empty: all
    the peer may receive), with files up to ``max_file_bytes`` in the batch."""

    after: int = 0
    limit: int = 1000
    holders: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    max_file_bytes: int = 8 * 1024 * 1024
    holder_regions: frozenset[str] = frozenset()  # GB/T 2260 divisions of the holders' codes

    def __post_init__(self) -> None:
        if not isinstance(self.after, int) or isinstance(self.after, bool) or self.after < 0:
            raise InputError("a sequence number >= 0", where="after", value=self.after)
        if not isinstance(self.limit, int) or not 0 < self.limit <= MAX_PULL_EVENTS:
            raise InputError(f"1 to {MAX_PULL_EVENTS} events", where="limit", value=self.limit)
        if not isinstance(self.max_file_bytes, int) or not 0 <= self.max_file_bytes <= MAX_PULL_FILE_BYTES:
            raise InputError(
                f"0 to {MAX_PULL_FILE_BYTES} bytes", where="maxFileBytes", value=self.max_file_bytes
            )
        if not all(isinstance(r, str) and len(r) == 6 and r.isdigit() for r in self.holder_regions):
            raise InputError("a region is a 6-digit division code", where="holderRegions")
        for name, codes in (
            ("holderCodes", self.holders),
            ("certTypeCodes", self.types),
            ("holderRegions", self.holder_regions),
        ):
            if len(codes) > MAX_FILTER_CODES or not all(
                isinstance(c, str) and 0 < len(c) <= 64 for c in codes
            ):
                raise InputError(f"at most {MAX_FILTER_CODES} codes of 1-64 characters", where=name)


@dataclass(frozen=True, slots=True)
class PullResult:
    sender: str
    batch: bytes | None  # None: nothing after ``after``
    more: bool  # events remain after this batch


class ExchangeNode:
    """A library's side of the HTTP exchange; ``signer`` signs the pull batches it hands out."""

    def __init__(self, library: Registry, signer: Signer) -> None:
        self.library = library
        self.signer = signer

    # --- who may ---------------------------------------------------------------------------------

    @staticmethod
    def _types(app: Application) -> frozenset[str]:
        types = frozenset(r.type_code for r in app.rights if r.operation == EXCHANGE_RIGHT)
        if not types:
            raise PermissionDenied(f"application {app.app_id} has no {EXCHANGE_RIGHT} right")
        return types

    def _may_see(self, app: Application, record: IssuedRecord) -> None:
        if not app.allows(EXCHANGE_RIGHT, record.metadata.type_code):
            raise PermissionDenied(
                f"application {app.app_id} may not exchange certificates of type {record.metadata.type_code}"
            )

    # --- operations -------------------------------------------------------------------------------

    def status(self, app: Application) -> dict[str, Any]:
        """This library's id, and for a peer: the library its pushes are bound to, the cursor this
        library holds for it, the files it still owes."""
        self._types(app)
        out: dict[str, Any] = {"library": self.library.library_id, "peer": None}
        try:
            get_peer(self.library, app.app_id)
        except PermissionDenied:
            return out
        sender = bound_library(self.library, app.app_id)
        seq, head = cursor_of(self.library, sender) if sender else (0, None)
        owed = owed_files(self.library, _owed_key(app.app_id))
        out["peer"] = {
            "library": sender,
            "cursor": seq,
            "hash": head,
            "filesWanted": [r.to_dict() for r in owed],
        }
        return out

    def push(self, app: Application, data: bytes, *, at: datetime | None = None) -> dict[str, Any]:
        """归集: apply a peer's signed batch; the answer per record and the files still wanted."""
        self._types(app)
        peer = get_peer(self.library, app.app_id)
        sender = _claimed_sender(data)  # unverified: only to refuse early; apply_batch verifies
        if sender == self.library.library_id:
            raise PermissionDenied("a batch of this library's own log")
        # one push per peer at a time: writing this row first holds concurrent pushes of the same
        # peer (a client that timed out and sent again) until this one has committed its cursor
        self.library.set_info(f"{_owed_key(app.app_id)}.pushing", sender)
        check_sender(self.library, app.app_id, sender)
        # and one push per sending library, whichever peer sends it: two peers racing for a library
        # nobody is bound to yet both pass the check above; the second waits here for the first to
        # commit, then the check refuses it before it applies anything (a refusal commits what was
        # written before it: refused only at bind_sender, its batch and cursor would stay)
        self.library.set_info(f"exchange.library.{sender}.pushing", app.app_id)
        check_sender(self.library, app.app_id, sender)
        # the batch, the binding and the files it leaves owed stand or fall together: a request's
        # refusal commits what it wrote before (the rows above), so a refusal after the batch was
        # applied (the owed list over MAX_OWED) would otherwise keep events whose files nobody asks for
        with self.library.atomic():
            answer = apply_batch(
                self.library, data, sender_certificate=peer.certificate, policy=peer.policy, at=at
            )
            bind_sender(self.library, app.app_id, answer.sender)  # verified by now
            wanted = self._wanted(app.app_id, data, answer)
        return {**answer.to_dict(), "filesWanted": [r.to_dict() for r in wanted]}

    def _wanted(self, app_id: str, data: bytes, answer: Answer) -> tuple[FileRef, ...]:
        """The originals of the issued events taken (accepted or already) that this library lacks,
        added to what the peer already owes."""
        key = _owed_key(app_id)
        owed = list(owed_files(self.library, key))
        taken = {
            r.seq: r.identifier for r in answer.results if r.outcome in (Outcome.ACCEPTED, Outcome.ALREADY)
        }
        for seq, digest in _issued_digests(data).items():
            identifier = taken.get(seq)
            if identifier is not None and self.library.stored_file(identifier, "original") is None:
                owed.append(FileRef(identifier, digest))
        return set_owed_files(self.library, key, owed) if owed else ()

    def put_file(self, app: Application, ref: FileRef, content: bytes) -> str:
        """A file a peer owes: checked against the SM3 its certificate's record names, then kept.
        ``accepted`` or ``already``; InvalidBundle when the bytes are not that file."""
        self._types(app)
        peer = get_peer(self.library, app.app_id)
        if ref.copy_id is not None:
            raise InputError("annotated copies travel in their batch, not by digest", where="copyId")
        record = self.library.get(ref.identifier)
        if not peer.policy.allows(record.metadata.issuer_code):
            raise PermissionDenied(
                f"{ref.identifier} is issued by {record.metadata.issuer_code}, "
                f"which {app.app_id} does not send for ({peer.policy.describe()})"
            )
        if record.package_digest != ref.sm3:
            raise InvalidBundle(
                f"{ref.identifier}'s file is SM3 {record.package_digest}, not {ref.sm3}", where="sm3"
            )
        if sm3(content).hex() != ref.sm3:
            raise InvalidBundle("the content's SM3 is not the digest named", where="content")
        key = _owed_key(app.app_id)
        remaining = [r for r in owed_files(self.library, key) if r != ref]
        stored = self.library.stored_file(ref.identifier, "original")
        outcome = Outcome.ALREADY
        if stored is None:
            self.library.store_file(ref.identifier, "original", content)
            outcome = Outcome.ACCEPTED
        set_owed_files(self.library, key, remaining)
        return outcome

    def pull(self, app: Application, request: PullRequest, *, at: datetime | None = None) -> PullResult:
        """回流: the events after the caller's cursor, those outside its filter left out."""
        allowed = self._types(app)
        wanted_types = request.types
        if "*" not in allowed:
            wanted_types = (wanted_types & allowed) if wanted_types else allowed
            if not wanted_types:
                raise PermissionDenied(
                    f"application {app.app_id} may exchange types {', '.join(sorted(allowed))} only"
                )
        try:  # a peer's own certificates do not flow back to it (it is their authority)
            own: ExchangePolicy | None = get_peer(self.library, app.app_id).policy
        except PermissionDenied:
            own = None
        described = {
            "holderCodes": sorted(request.holders),
            "holderRegions": sorted(request.holder_regions),
            "certTypeCodes": sorted(wanted_types) or ["*"],
        }
        made = make_pull_batch(
            self.library,
            self.signer,
            after=request.after,
            limit=request.limit,
            selects=_selector(self.library, request.holders, request.holder_regions, wanted_types, own),
            described=described,
            max_file_bytes=request.max_file_bytes,
            at=at,
        )
        if made is None:
            return PullResult(self.library.library_id, None, False)
        data, last = made
        more = bool(self.library.events(after=last, limit=1))
        return PullResult(self.library.library_id, data, more)

    def get_file(self, app: Application, ref: FileRef) -> bytes:
        """A file by digest, for a certificate of a type the caller may exchange."""
        self._types(app)
        record = self.library.get(ref.identifier)
        self._may_see(app, record)
        name, kind = ref.stored_as
        if ref.copy_id is not None and not any(
            c.copy_id == ref.copy_id for c in self.library.copies(ref.identifier)
        ):
            raise RecordNotFound(f"no copy {ref.copy_id} of {ref.identifier}")
        stored = self.library.stored_file(name, kind)
        if stored is None or stored.digest != ref.sm3:
            raise RecordNotFound(f"no {kind} file of {ref.identifier} with SM3 {ref.sm3}")
        content = self.library.read_file(name, kind)
        if sm3(content).hex() != ref.sm3:  # read_file checks too; never hand out other bytes
            raise RecordNotFound(f"no {kind} file of {ref.identifier} with SM3 {ref.sm3}")
        return content

    def summary(
        self, app: Application, types: frozenset[str] = frozenset()
    ) -> tuple[dict[str, tuple[int, str]], frozenset[str]]:
        """Counts and heads per issuer|type|day (:func:`ecert.exchange.reconcile.summarise`) for the
        types the caller may exchange (and asked for), and those types (``{"*"}``: every type)."""
        allowed = self._types(app)
        wildcard = "*" in allowed
        covered = (types or frozenset({"*"})) if wildcard else ((types & allowed) if types else allowed)
        if not covered:
            raise PermissionDenied(
                f"application {app.app_id} may exchange types {', '.join(sorted(allowed))} only"
            )

        def shown(type_code: str) -> bool:
            return "*" in covered or type_code in covered

        return {g: v for g, v in summarise(self.library).items() if shown(g.split("|")[1])}, covered


def _claimed_sender(data: bytes) -> str:
    """The sender a batch names, read without verifying it (InvalidBundle when unreadable)."""
    sender = _payload(data).get("sender")
    if not isinstance(sender, str) or not sender:
        raise InvalidBundle("sender must name the sending library", where="payload.sender")
    return sender


def _payload(data: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(data)
        body = json.loads(base64.b64decode(envelope["payload"], validate=True))
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        raise InvalidBundle("not an exchange batch: {format, payload, signature}") from None
    if not isinstance(body, dict):
        raise InvalidBundle("not an exchange batch", where="payload")
    return body


def _issued_digests(data: bytes) -> dict[int, str]:
    """seq -> file SM3 of the issued events of a batch already verified (by apply_batch)."""
    out: dict[int, str] = {}
    for raw in _payload(data).get("events", []):
        if isinstance(raw, dict) and raw.get("kind") == "issued":
            try:
                digest = json.loads(raw["payload"]).get("package_digest")
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if isinstance(digest, str) and isinstance(raw.get("seq"), int):
                out[raw["seq"]] = digest
    return out


def _owed_key(app_id: str) -> str:
    return f"exchange.peer.{app_id}"


def _division(holder: Holder) -> str | None:
    """The GB/T 2260 division a holder's code carries: a citizen ID's first six digits (GB 11643),
    a USCC's characters 3-8 (GB 32100); None for other codes."""
    code = holder.code
    if holder.code_type_code == HOLDER_CODE_TYPE_CITIZEN_ID and len(code) == 18:
        return code[:6]
    if holder.code_type_code == HOLDER_CODE_TYPE_USCC and len(code) == 18:
        return code[2:8]
    return None


def _in_region(division: str | None, regions: frozenset[str]) -> bool:
    """330100 covers 3301xx, 330000 the province (trailing 00 pairs are 'all of')."""
    if division is None:
        return False
    for region in regions:
        prefix = region
        while prefix.endswith("00") and len(prefix) > 2:
            prefix = prefix[:-2]
        if division.startswith(prefix):
            return True
    return False


def _selector(
    library: Registry,
    holders: frozenset[str],
    regions: frozenset[str],
    types: frozenset[str],
    own: ExchangePolicy | None,
) -> Callable[[ChainEvent], bool]:
    """Whether an event concerns a certificate of these types (empty: any), held by one of these
    holders or a holder of these regions (both empty: any), and not issued where the caller is the
    authority (``own``), by the certificate's record in this library."""
    seen: dict[str, bool] = {}
    if not types and not holders and not regions and own is None:
        return lambda event: True  # nothing to look up

    def selects(event: ChainEvent) -> bool:
        known = seen.get(event.identifier)
        if known is None:
            known = True
            if types or own is not None:
                try:
                    md = library.get(event.identifier).metadata
                except RecordNotFound:
                    md = None
                known = md is not None and (
                    (not types or md.type_code in types) and (own is None or not own.allows(md.issuer_code))
                )
            if known and (holders or regions):
                known = any(
                    h.code in holders or _in_region(_division(h), regions)
                    for h in library.holders(event.identifier)
                )
            seen[event.identifier] = known
        return known

    return selects
