"""The hash chains of the library's append-only logs (status events, usage records).

Each entry's ``hash`` is SM3 over its canonical form, which includes the previous entry's hash, so
editing, deleting or reordering a row breaks every later link (spec/library.md, "Hash chains").
The canonical form is UTF-8 JSON with sorted keys, no spaces, times in UTC ISO 8601 with
microseconds, and ``null`` for absent values: any implementation can recompute it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from ecert.crypto.digests import sm3

__all__ = ["GENESIS", "ChainFault", "ChainWalk", "canonical", "entry_hash"]

#: The ``prev_hash`` of the first entry of a chain.
GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical(chain: str, fields: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash is computed over: its chain's name and every field but ``hash``."""
    body = {k: _plain(v) for k, v in fields.items() if k != "hash"}
    body["chain"] = chain
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_hash(chain: str, fields: Mapping[str, Any]) -> str:
    """Hex SM3 of :func:`canonical` (``fields`` must include ``prev_hash``)."""
    return sm3(canonical(chain, fields)).hex()


class ChainFault(enum.Enum):
    """What can be wrong with one entry of a chain read in order."""

    SEQUENCE = "sequence"  # its seq is not the one after the previous entry's
    HASH = "hash"  # its hash is not the SM3 of its canonical form (content edited)
    LINK = "link"  # its prev_hash is not the previous entry's hash (deleted, inserted, reordered)


class ChainWalk:
    """Follows a chain entry by entry, recomputing each hash and link: the one loop that both a
    library's own check (``registry.check``) and a received exchange batch (``exchange.batch``) run.

    Start it at the genesis (a whole log) or at a known (seq, hash) (a batch continuing a cursor);
    :meth:`step` gives the faults of each entry, then moves on from that entry as it stands.
    """

    __slots__ = ("chain", "next_seq", "prev_hash")

    def __init__(self, chain: str, *, prev_hash: str = GENESIS, next_seq: int = 1) -> None:
        self.chain = chain
        self.prev_hash = prev_hash
        self.next_seq = next_seq

    def step(self, entry: Mapping[str, Any]) -> tuple[ChainFault, ...]:
        """The faults of ``entry`` (every column, ``seq``, ``prev_hash`` and ``hash`` included)."""
        faults = []
        if entry["seq"] != self.next_seq:
            faults.append(ChainFault.SEQUENCE)
        if entry_hash(self.chain, entry) != entry["hash"]:
            faults.append(ChainFault.HASH)
        if entry["prev_hash"] != self.prev_hash:
            faults.append(ChainFault.LINK)
        self.prev_hash, self.next_seq = entry["hash"], entry["seq"] + 1
        return tuple(faults)
