"""spec/library.md, the table definitions (ecert.registry.tables) and the live schema of both backends
say the same: every table, every column, its type and whether it is required."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from ecert.registry import is_database_url, open_registry
from ecert.registry.tables import TABLES

SPEC = Path(__file__).resolve().parents[1] / "spec" / "library.md"
_HEADING = re.compile(r"^### `(\w+)`")
_ROW = re.compile(r"^\| `(\w+)` \| (\w+) \| (yes|no) \| ([A-Z_*]*) \|")


def _specified() -> dict[str, list[tuple[str, str, bool, str]]]:
    tables: dict[str, list[tuple[str, str, bool, str]]] = {}
    current: list[tuple[str, str, bool, str]] | None = None
    for line in SPEC.read_text("utf-8").splitlines():
        if heading := _HEADING.match(line):
            current = tables.setdefault(heading.group(1), [])
        elif (row := _ROW.match(line)) and current is not None:
            current.append((row.group(1), row.group(2), row.group(3) == "yes", row.group(4)))
    return tables


def test_the_specification_and_the_table_definitions_agree() -> None:
    defined = {t.name: [(c.name, c.type, c.required, c.code) for c in t.columns] for t in TABLES}
    assert _specified() == defined


_SQLITE_TYPES = {
    "text": "TEXT",
    "int": "INTEGER",
    "bigint": "INTEGER",
    "date": "TEXT",
    "timestamp": "TEXT",
    "bytes": "BLOB",
    "bool": "INTEGER",
}
_PG_TYPES = {
    "text": "text",
    "int": "integer",
    "bigint": "bigint",
    "date": "date",
    "timestamp": "timestamp with time zone",
    "bytes": "bytea",
    "bool": "boolean",
}


def _live(location: str) -> dict[str, list[tuple[str, str, bool]]]:
    if is_database_url(location):
        import psycopg

        with psycopg.connect(location) as conn:
            rows = conn.execute(
                "SELECT table_name, column_name, data_type, is_nullable = 'NO' "
                "FROM information_schema.columns "
                "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
            ).fetchall()
        out: dict[str, list[tuple[str, str, bool]]] = {}
        for table, column, kind, required in rows:
            out.setdefault(table, []).append((column, kind, required))
        return out
    db = sqlite3.connect(location)
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    live = {
        n: [(r[1], r[2], bool(r[3]) or bool(r[5])) for r in db.execute(f"PRAGMA table_info({n})")]
        for n in names
    }
    db.close()
    return live


def test_the_live_schema_is_the_specification(library_location: str) -> None:
    open_registry(library_location).close()
    types = _PG_TYPES if is_database_url(library_location) else _SQLITE_TYPES
    expected = {name: [(c, types[t], req) for c, t, req, _ in cols] for name, cols in _specified().items()}
    live = _live(library_location)
    assert set(live) == set(expected)
    for name, columns in expected.items():
        assert [(c, t) for c, t, _ in live[name]] == [(c, t) for c, t, _ in columns], name
        for (column, _, required), (_, _, live_required) in zip(columns, live[name], strict=True):
            if required:
                assert live_required, f"{name}.{column} must be NOT NULL"
            else:
                assert not live_required, f"{name}.{column} must allow NULL"


@pytest.mark.parametrize("table", [t.name for t in TABLES])
def test_every_table_says_what_it_is_for(table: str) -> None:
    text = SPEC.read_text("utf-8")
    section = text.split(f"### `{table}`", 1)[1].split("###", 1)[0]
    assert len(section.split("|", 1)[0].strip()) > 40, f"{table} has no description"
