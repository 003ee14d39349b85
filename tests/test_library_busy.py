"""A library held by another writer is busy, not refusing: the operation did not happen, and an
exchange batch stops there (to be given again) instead of answering the event as refused and moving
its cursor past it, which would lose the event for good."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from ecert.errors import LibraryBusy, LibraryUnavailable
from ecert.registry import SQLiteRegistry

from .test_exchange import issue, receive, send, view


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Another process's writer: SQLite's write lock held until the block ends."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def _impatient(reg: SQLiteRegistry) -> SQLiteRegistry:
    reg._db.execute("PRAGMA busy_timeout=50")  # the library waits 30 s; the test needs no such patience
    return reg


def test_a_write_while_another_writer_holds_the_lock_is_busy(tmp_path: Path) -> None:
    with SQLiteRegistry.open(tmp_path / "lib.db") as reg:
        _impatient(reg)
        with held(tmp_path / "lib.db"), pytest.raises(LibraryBusy, match="locked") as caught:
            issue(reg, "2026000001")
        assert isinstance(caught.value, LibraryUnavailable)  # every caller that retries later retries this
        issue(reg, "2026000001")  # nothing happened the first time: the same serial records now
        assert len(list(reg.iter_records())) == 1


def test_an_exchange_batch_stops_at_a_busy_library_and_loses_nothing(tmp_path: Path) -> None:
    with (
        SQLiteRegistry.open(tmp_path / "city.db") as city,
        SQLiteRegistry.open(tmp_path / "prov.db") as province,
    ):
        issue(city, "2026000001")
        issue(city, "2026000002")
        batch = send(city)
        _impatient(province)
        with held(tmp_path / "prov.db"), pytest.raises(LibraryBusy):
            receive(province, batch)
        assert view(province) == []  # nothing applied, no cursor moved past an event
        answer = receive(province, batch)  # given again once the other writer is done
        assert answer.counts == {"accepted": 2, "already": 0, "refused": 0}
        assert view(province) == view(city)
