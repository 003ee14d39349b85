"""The library's acceptance test under concurrency, on both backends: 4 processes allocate, issue,
change statuses and record uses against one library for at least 10 s, some "crashing" between
allocation and record.  Afterwards: no identifier twice, no serial lost (every allocation issued, or
a recorded gap once reconciled), and both hash chains intact.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import pytest

from ecert.registry import Usage, open_registry

from .test_registry import ISSUER, NOW, TYPE, metadata

PROCESSES = 4
SECONDS = 10.0
MINIMUM = 20  # certificates each worker issues at least, however slow the machine
CRASH_EVERY = {0: 11, 2: 17}  # these workers abandon some allocations (a crash before the record)


def _worker(location: str, index: int) -> tuple[list[str], list[str]]:
    issued: list[str] = []
    abandoned: list[str] = []
    crash_every = CRASH_EVERY.get(index, 0)
    with open_registry(location) as lib:
        i = 0
        until = time.monotonic() + SECONDS  # from when this worker is ready (spawning may be slow)
        while time.monotonic() < until or len(issued) < MINIMUM:
            i += 1
            serial = lib.allocate_serial(TYPE, ISSUER, period="2026")
            if crash_every and i % crash_every == 0:
                abandoned.append(serial)
                continue
            record = lib.record_issued(
                metadata(serial), package_digest=f"{index:02x}" * 32, signer=f"w{index}", issued_at=NOW,
                source_key=f"{index}:{i}",
            )  # fmt: skip
            issued.append(record.identifier)
            if i % 5 == 0:
                lib.suspend(record.identifier, reason="暂扣", by=f"w{index}", at=NOW + timedelta(days=1))
            with lib.atomic():
                lib.get(record.identifier)
                lib.record_usage(Usage(f"app{index}", "dept", "op", "get", "0", identifier=record.identifier,
                                       reason="并发测试"))  # fmt: skip
    return issued, abandoned


@pytest.mark.slow
def test_four_processes_for_ten_seconds(library_location: str) -> None:
    open_registry(library_location).close()  # the schema exists before the race
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results = pool.starmap(_worker, [(library_location, i) for i in range(PROCESSES)])
    issued = [i for r in results for i in r[0]]
    abandoned = [s for r in results for s in r[1]]
    print(f"\n{PROCESSES} processes, {SECONDS:.0f} s: {len(issued)} issued, {len(abandoned)} abandoned")
    assert len(issued) >= PROCESSES * MINIMUM and abandoned
    assert len(issued) == len(set(issued))
    with open_registry(library_location) as lib:
        states = lib.serial_states(TYPE, ISSUER)
        assert len(states) == len(issued) + len(abandoned)
        assert sorted(states) == [f"2026{n:06d}" for n in range(1, len(states) + 1)]  # none twice, none lost
        assert {s for s, state in states.items() if state == "allocated"} == set(abandoned)
        assert lib.reconcile(datetime.now(UTC) + timedelta(seconds=1)) == len(abandoned)
        assert {g.serial for g in lib.gaps(TYPE, ISSUER)} == set(abandoned)
        assert {r.identifier for r in lib.find(limit=100_000)} == set(issued)
        result = lib.check()
        assert result.ok, result.problems
        assert result.usage_records == len(issued)
