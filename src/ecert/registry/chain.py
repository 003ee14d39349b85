"""The hash chains of the library's append-only logs (status events, usage records).

Each entry's ``hash`` is SM3 over its canonical form, which includes the previous entry's hash, so
editing, deleting or reordering a row breaks every later link (spec/library.md, "Hash chains").
The canonical form is UTF-8 JSON with sorted keys, no spaces, times in UTC ISO 8601 with
microseconds, and ``null`` for absent values: any implementation can recompute it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from ecert.crypto.digests import sm3

__all__ = ["GENESIS", "canonical", "entry_hash"]

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
