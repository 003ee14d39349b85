"""Concurrent issuing: 4 processes, 5,000 serials, some "crashes" between allocation and record.

The acceptance test of the registry: identifiers stay unique, and after ``reconcile`` every
allocated serial is either issued or a recorded gap.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.errors import RegistryError
from ecert.registry import SQLiteRegistry

from .test_registry import ISSUER, NOW, TYPE, metadata

PROCESSES = 4
PER_PROCESS = 1250
CRASH_EVERY = {0: 41, 2: 97}  # these workers skip record_issued for some allocations


def _worker(path: str, index: int) -> tuple[list[str], list[str], float]:
    """Allocate and record PER_PROCESS certificates; returns (issued ids, abandoned serials, md seconds)."""
    issued: list[str] = []
    abandoned: list[str] = []
    md_seconds = 0.0
    crash_every = CRASH_EVERY.get(index, 0)
    with SQLiteRegistry.open(path) as reg:
        for i in range(PER_PROCESS):
            serial = reg.allocate_serial(TYPE, ISSUER, period="2026")
            if crash_every and i % crash_every == crash_every - 1:
                abandoned.append(serial)  # "crash" between allocation and writing the record
                continue
            start = time.perf_counter()
            md = metadata(serial)
            md_seconds += time.perf_counter() - start
            reg.record_issued(
                md, package_digest="00" * 32, signer=f"worker {index}", issued_at=NOW, source_key=f"{index}:{i}"
            )
            issued.append(str(md.identifier))
    return issued, abandoned, md_seconds


def test_four_processes_issue_5000(tmp_path: Path) -> None:
    db = str(tmp_path / "reg.db")
    SQLiteRegistry.open(db).close()
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results = pool.starmap(_worker, [(db, i) for i in range(PROCESSES)])
    elapsed = time.perf_counter() - start
    issued = [i for r in results for i in r[0]]
    abandoned = [s for r in results for s in r[1]]
    md_seconds = sum(r[2] for r in results)
    print(
        f"\n4 processes, 5000 allocations: {elapsed:.2f} s "
        f"(CoreMetadata construction {md_seconds:.2f} s summed over workers)"
    )
    assert elapsed < 30
    assert len(issued) == len(set(issued))
    assert len(issued) + len(abandoned) == PROCESSES * PER_PROCESS
    assert abandoned
    with SQLiteRegistry.open(db) as reg:
        states = reg.serial_states(TYPE, ISSUER)
        assert len(states) == PROCESSES * PER_PROCESS
        assert sorted(states) == [f"2026{n:06d}" for n in range(1, 5001)]  # no serial handed out twice
        assert {s for s, state in states.items() if state == "allocated"} == set(abandoned)
        assert reg.reconcile(datetime.now(UTC) + timedelta(seconds=1)) == len(abandoned)
        states = reg.serial_states(TYPE, ISSUER)
        assert sum(state == "issued" for state in states.values()) == len(issued)
        assert {g.serial for g in reg.gaps(TYPE, ISSUER)} == set(abandoned)
        assert {r.identifier for r in reg.find(limit=10_000)} == set(issued)


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
