"""Registries made by earlier ecert versions (SQLite schema 2 and 3) and their migration to the library.

``SCHEMA`` is the schema-3 DDL as ecert 0.1 wrote it (kept so that a test can build an old registry
and migrate it); :func:`migrate_3_to_4` moves every record, status change and serial into the
library's tables (spec/library.md) inside the caller's transaction, losing nothing: the history
becomes the hash-chained status log, the metadata JSON becomes columns, holder and field rows.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecert.errors import EcertError
from ecert.metadata.jsonform import from_json

if TYPE_CHECKING:
    from ecert.registry.sqlite import SQLiteRegistry

__all__ = ["SCHEMA", "migrate_2_to_3", "migrate_3_to_4"]

SCHEMA_VERSION_3 = 3  # 2 -> 3: certificates.authority_code; periods upper-cased (see migrate_2_to_3)
SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE counters (
        type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, period TEXT NOT NULL, next INTEGER NOT NULL,
        PRIMARY KEY (type_code, issuer_code, period))""",
    """CREATE TABLE serials (
        type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, serial TEXT NOT NULL, period TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('allocated', 'issued', 'gap')),
        allocated_at TEXT NOT NULL, closed_at TEXT, note TEXT,
        PRIMARY KEY (type_code, issuer_code, serial))""",
    "CREATE INDEX serials_open ON serials (state, allocated_at)",
    """CREATE TABLE certificates (
        identifier TEXT PRIMARY KEY, type_code TEXT NOT NULL, issuer_code TEXT NOT NULL,
        serial TEXT NOT NULL, version INTEGER NOT NULL, holder_code TEXT NOT NULL, issue_date TEXT NOT NULL,
        metadata TEXT NOT NULL, package_digest TEXT NOT NULL, signer TEXT NOT NULL, issued_at TEXT NOT NULL,
        file_path TEXT, source_key TEXT UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked', 'cancelled', 'replaced')),
        status_reason TEXT, status_changed_at TEXT NOT NULL, status_changed_by TEXT,
        replaced_by TEXT REFERENCES certificates (identifier), authority_code TEXT NOT NULL,
        UNIQUE (type_code, issuer_code, serial, version),
        FOREIGN KEY (type_code, issuer_code, serial) REFERENCES serials (type_code, issuer_code, serial))""",
    "CREATE INDEX certificates_holder ON certificates (holder_code)",
    "CREATE INDEX certificates_authority ON certificates (authority_code)",
    "CREATE INDEX certificates_issue_date ON certificates (issue_date)",
    "CREATE INDEX certificates_status ON certificates (status)",
    """CREATE TABLE history (
        id INTEGER PRIMARY KEY, identifier TEXT NOT NULL REFERENCES certificates (identifier),
        status TEXT NOT NULL, reason TEXT, changed_by TEXT, changed_at TEXT NOT NULL)""",
    "CREATE INDEX history_identifier ON history (identifier)",
)


def migrate_2_to_3(db: sqlite3.Connection) -> None:
    """Schema 2 filtered "issuer" on the identifier's issuer part and keyed counters on the period as given.

    Adds ``authority_code`` (from each stored metadata) and upper-cases periods, merging counters
    that differed only in case (keeping the highest, so no serial is handed out again).
    """
    db.execute("ALTER TABLE certificates ADD COLUMN authority_code TEXT NOT NULL DEFAULT ''")
    rows = db.execute("SELECT identifier, issuer_code, metadata FROM certificates").fetchall()
    for identifier, issuer_part, stored in rows:
        db.execute(
            "UPDATE certificates SET authority_code=? WHERE identifier=?",
            (_stored_authority(stored) or issuer_part, identifier),
        )
    db.execute("CREATE INDEX certificates_authority ON certificates (authority_code)")
    db.execute("UPDATE serials SET period=upper(period) WHERE period != upper(period)")
    merged: dict[tuple[str, str, str], int] = {}
    for type_code, issuer_code, period, following in db.execute("SELECT * FROM counters").fetchall():
        key = (type_code, issuer_code, period.upper())
        merged[key] = max(merged.get(key, 0), following)
    db.execute("DELETE FROM counters")
    db.executemany("INSERT INTO counters VALUES (?, ?, ?, ?)", [(*k, v) for k, v in merged.items()])


def _stored_authority(stored: str) -> str | None:
    """The issuer code of stored metadata; None if unreadable (the row keeps its identifier's part)."""
    try:
        return from_json(stored, strict=False).issuer_code
    except EcertError:
        pass
    try:
        value = json.loads(stored).get("issuer_code")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


_OLD_INDEXES = (
    "serials_open", "certificates_holder", "certificates_authority", "certificates_issue_date",
    "certificates_status", "history_identifier",
)  # fmt: skip


def migrate_3_to_4(db: sqlite3.Connection, lib: SQLiteRegistry, create: Any) -> None:
    """Move a schema-3 registry into the library's tables (inside the caller's IMMEDIATE transaction).

    ``create`` makes the new schema.  Types the bundled catalogue does not know get a catalogue
    entry marked as migrated (the definition was never recorded); holder code types outside the
    library's code list are kept as they were recorded (refusing them would lose records).
    """
    db.execute("PRAGMA defer_foreign_keys=ON")  # a replaced version names its successor, copied after it
    for index in _OLD_INDEXES:
        db.execute(f"DROP INDEX IF EXISTS {index}")
    for table in ("counters", "serials", "certificates", "history", "schema_version"):
        db.execute(f"ALTER TABLE {table} RENAME TO v3_{table}")
    create(db)
    db.execute("INSERT INTO counters SELECT type_code, issuer_code, period, next FROM v3_counters")
    db.execute("INSERT INTO serials SELECT * FROM v3_serials")
    tx = lib.tx_for(db)
    versions: dict[str, int] = {}
    records: dict[str, tuple[Any, ...]] = {}
    logged: dict[str, str] = {}
    for row in db.execute(
        "SELECT identifier, metadata, package_digest, signer, issued_at, file_path, source_key, status, "
        "status_reason, status_changed_at, status_changed_by, replaced_by, serial, version, issuer_code "
        "FROM v3_certificates ORDER BY issued_at, identifier"
    ).fetchall():
        try:
            md = from_json(row[1], strict=False)
        except EcertError as exc:
            raise lib.migration_error(f"record {row[0]} has unreadable metadata ({exc})") from None
        if md.type_code not in versions:
            versions[md.type_code] = lib.migrated_type_version(tx, md, datetime.fromisoformat(row[4]))
        lib.insert_migrated(tx, row, md, versions[md.type_code])
        records[row[0]] = row
    for hid, identifier, status, reason, by, at in db.execute(
        "SELECT id, identifier, status, reason, changed_by, changed_at FROM v3_history ORDER BY id"
    ).fetchall():
        del hid
        row = records[identifier]
        lib.migrated_event(tx, row, status, reason, by, datetime.fromisoformat(at))
        logged[identifier] = status
    for identifier, row in records.items():  # a status the old history did not explain (written by hand)
        if logged.get(identifier) != row[7]:
            note = "status as recorded before the status log existed (migrated)"
            lib.migrated_event(tx, row, row[7], row[8] or note, row[10], datetime.fromisoformat(row[9]))
    for table in ("history", "certificates", "serials", "counters", "schema_version"):
        db.execute(f"DROP TABLE v3_{table}")
