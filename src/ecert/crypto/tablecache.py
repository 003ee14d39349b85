"""Which public keys get a precomputed table: admission by use count, a memory budget, no thrashing.

A fixed-window table for a public key makes each later verification with it about 5x faster, but
building one costs about 12 plain verifications and about 0.45 MB.  A service window verifying
certificates of a whole city sees a mix of department and CA keys: a plain "build at the 8th use,
keep the 8 most recent" policy rebuilt tables for 12-32 keys in turn and ran slower than no table at
all.  This cache therefore

* counts uses of every key it has seen (up to ``tracked`` keys, counts halved every ``decay_every``
  uses so that yesterday's keys fade) and builds a table only for a key used ``admit_after`` times;
* keeps as many tables as ``budget_bytes`` allows (``table_bytes`` each; the default budget is
  :data:`DEFAULT_BUDGET_BYTES`, set with :func:`ecert.crypto.ec.set_key_table_budget`);
* when full, replaces the table of the least-used cached key only for a key used at least twice as
  often (so a uniform mix of more keys than fit keeps its tables instead of rebuilding them in turn:
  the keys without a table are verified as without a cache, never slower).

Tables are keyed by the point, not by a certificate or a key object: a CA key that appears in many
chains, or a department key in many files, shares one table.  Thread-safe (a lock around the
bookkeeping; a table is built outside it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["DEFAULT_BUDGET_BYTES", "TableCache"]

DEFAULT_BUDGET_BYTES = 32 * 1024 * 1024
"""Default memory for per-key tables: about 75 SM2 keys (0.45 MB each)."""

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class TableCache(Generic[K, T]):
    """Per-key tables under a memory budget, built for keys used often enough (see module doc)."""

    def __init__(
        self,
        *,
        table_bytes: int,
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
        admit_after: int = 8,
        tracked: int = 4096,
        decay_every: int = 1 << 16,
    ) -> None:
        if table_bytes <= 0 or budget_bytes < 0 or admit_after < 1 or tracked < 1 or decay_every < 1:
            raise ValueError("table cache parameters must be positive")
        self.table_bytes = table_bytes
        self.admit_after = admit_after
        self.tracked = tracked
        self.decay_every = decay_every
        self._budget_bytes = budget_bytes
        self._counts: dict[K, int] = {}
        self._tables: dict[K, T] = {}
        self._since_decay = 0
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """How many tables the budget holds."""
        return self._budget_bytes // self.table_bytes

    @property
    def budget_bytes(self) -> int:
        return self._budget_bytes

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        if value < 0:
            raise ValueError("budget must be >= 0 bytes")
        with self._lock:
            self._budget_bytes = value
            while len(self._tables) > self.capacity:
                self._tables.pop(self._least_used())

    def __len__(self) -> int:
        return len(self._tables)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._tables.clear()
            self._since_decay = 0

    def get(self, key: K, build: Callable[[], T]) -> T | None:
        """Count a use of ``key``; its table (built now if it has earned one), or None."""
        with self._lock:
            count = self._count(key)
            table = self._tables.get(key)
            if table is not None or not self._admits(key, count):
                return table
        table = build()  # outside the lock: other threads verify meanwhile
        with self._lock:
            if key not in self._tables and self._admits(key, count):
                if len(self._tables) >= self.capacity:
                    self._tables.pop(self._least_used())
                self._tables[key] = table
        return table

    def _count(self, key: K) -> int:
        count = self._counts.get(key, 0) + 1
        if count == 1 and len(self._counts) >= self.tracked:
            self._forget_rarest()
        self._counts[key] = count
        self._since_decay += 1
        if self._since_decay >= self.decay_every:
            self._decay()
            count = self._counts.get(key, 0)
        return count

    def _admits(self, key: K, count: int) -> bool:
        if count < self.admit_after or self.capacity == 0:
            return False
        if len(self._tables) < self.capacity:
            return True
        return count >= 2 * self._counts.get(self._least_used(), 0)

    def _least_used(self) -> K:
        counts = self._counts
        return min(self._tables, key=lambda k: counts.get(k, 0))

    def _forget_rarest(self) -> None:
        """Drop the half of the untabled keys used least (so a stream of new keys cannot grow memory)."""
        candidates = sorted((c, i) for i, (k, c) in enumerate(self._counts.items()) if k not in self._tables)
        drop = {i for _, i in candidates[: max(1, len(candidates) // 2)]}
        self._counts = {k: c for i, (k, c) in enumerate(self._counts.items()) if i not in drop}

    def _decay(self) -> None:
        self._since_decay = 0
        self._counts = {k: c // 2 for k, c in self._counts.items() if c // 2 or k in self._tables}
