"""A batch opens the library lean: its memory must not grow with the library (issue 18, batch memory).

The default SQLite library keeps 64 MiB of page cache and reads through a 1 GiB memory map, which
makes lookups in a large library fast and makes a writer's resident memory grow with the file;
``benchmarks/bench_batch_memory.py`` measures the batch itself.
"""

from __future__ import annotations

from pathlib import Path

from ecert.registry import SQLiteRegistry, open_registry

from .test_exchange import issue


def _memory(reg: SQLiteRegistry) -> tuple[int, int]:
    db = reg._db
    return db.execute("PRAGMA cache_size").fetchone()[0], db.execute("PRAGMA mmap_size").fetchone()[0]


def test_a_lean_library_keeps_a_small_cache_and_no_map(tmp_path: Path) -> None:
    with open_registry(tmp_path / "lib.db", lean=True) as lean:
        assert isinstance(lean, SQLiteRegistry)
        assert _memory(lean) == (-4096, 0)
        identifier = issue(lean, "2026000001")  # and works as any library
        assert lean.get(identifier).identifier == identifier
    with SQLiteRegistry.open(tmp_path / "lib.db") as default:
        assert _memory(default) == (-65536, 1073741824)
        assert default.get(identifier).identifier == identifier
