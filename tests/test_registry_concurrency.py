"""SQLite specifics under concurrency: one counter per period across processes, no connection
across a fork.  The backend-independent acceptance test (4 processes issuing for 10 s) is
tests/test_library_concurrency.py.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from ecert.errors import RegistryError
from ecert.registry import SQLiteRegistry

from .test_registry import ISSUER, NOW, TYPE, metadata


def _allocate(path: str, index: int, count: int) -> list[str]:
    """Allocate ``count`` serials, spelling the period in upper or lower case by turns."""
    with SQLiteRegistry.open(path) as reg:
        return [reg.allocate_serial(TYPE, ISSUER, period="q2026" if i % 2 else "Q2026") for i in range(count)]


def test_processes_step_over_imported_serials_and_share_one_counter_per_period(tmp_path: Path) -> None:
    """3 processes, periods 'q2026'/'Q2026', imported serials ahead: no serial twice, none imported."""
    db = str(tmp_path / "reg.db")
    with SQLiteRegistry.open(db) as reg:
        for serial in ("Q202600003", "Q202600004", "Q202600010", "Q202600011", "Q202600040"):
            reg.record_issued(metadata(serial), package_digest="00" * 32, signer="import", issued_at=NOW)
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        results = pool.starmap(_allocate, [(db, i, 60) for i in range(3)])
    serials = [s for r in results for s in r]
    assert len(serials) == len(set(serials)) == 180
    with SQLiteRegistry.open(db) as reg:
        states = reg.serial_states(TYPE, ISSUER)
    assert sorted(s for s, state in states.items() if state == "allocated") == sorted(serials)
    assert len(states) == 185 and max(states) == "Q202600185"  # no serial skipped but the imported ones


_INHERITED: list[SQLiteRegistry] = []


def _use_inherited() -> str:
    try:
        _INHERITED[0].status_of("x")
    except RegistryError as exc:
        return str(exc)
    return "used"


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_connection_does_not_cross_a_fork(tmp_path: Path) -> None:
    with SQLiteRegistry.open(tmp_path / "r.db") as reg:
        _INHERITED.append(reg)
        try:
            with multiprocessing.get_context("fork").Pool(1) as pool:
                message = pool.apply(_use_inherited)
        finally:
            _INHERITED.clear()
        assert "across a fork" in message
        assert reg.status_of("x") is None  # the parent's connection is untouched
