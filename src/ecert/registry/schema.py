"""The registry's SQLite schema: its tables, its version, the migration of older files, row mapping.

One place for the layout the SQL of :class:`ecert.registry.sqlite.SQLiteRegistry` relies on, so that
a schema change (and its migration, tested against a file built with the old DDL) is made here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ecert.errors import EcertError, RegistryError
from ecert.metadata.jsonform import from_json
from ecert.registry.base import IssuedRecord
from ecert.registry.status import CertStatus, StatusEntry

__all__ = [
    "COLUMNS",
    "INSERTED_COLUMNS",
    "INSERTED_PLACEHOLDERS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "STATUS_COLUMNS",
    "entry_from_row",
    "migrate_2_to_3",
    "prepare",
    "record_from_row",
    "rollback",
]

SCHEMA_VERSION = 3  # 2 -> 3: certificates.authority_code; periods upper-cased (see migrate_2_to_3)
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


def prepare(db: sqlite3.Connection, path: str) -> None:
    """Set the connection up (WAL, busy timeout, foreign keys), create the schema once, migrate old files.

    Creation and migration run in one IMMEDIATE transaction, so concurrent opens of an old file
    migrate it once, and a failed migration leaves the file as it was.
    """
    try:
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA journal_mode=WAL")  # stays "memory" for ":memory:"; WAL persists in the file
        # FULL: a commit is on disk when it returns.  NORMAL (WAL's usual) may lose the last commits in
        # a power cut; losing an allocation would hand its serial out again although its signed file
        # already exists: an identifier issued twice.  Durability over speed here.
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("BEGIN IMMEDIATE")  # a deferred transaction could not upgrade under concurrent opens
        try:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if names and "schema_version" not in names:
                raise RegistryError(f"{path} is not an ecert registry (it has no schema_version table)")
            if not names:
                for statement in SCHEMA:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is not None and row[0] == 2:
                migrate_2_to_3(db)
                db.execute("UPDATE schema_version SET version=3")
                row = (3,)
        except BaseException:
            rollback(db)
            raise
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        raise RegistryError(f"cannot open registry {path}: {exc}") from None
    if row is None or row[0] != SCHEMA_VERSION:
        raise RegistryError(
            f"registry {path} has schema version {row and row[0]}; this ecert reads {SCHEMA_VERSION}"
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


def rollback(db: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open (SQLite rolls back by itself after some errors)."""
    if db.in_transaction:
        db.execute("ROLLBACK")




COLUMNS = (
    "identifier, metadata, package_digest, signer, issued_at, file_path, source_key, status, status_reason, "
    "status_changed_at, status_changed_by, replaced_by"
)
STATUS_COLUMNS = "identifier, status, status_reason, status_changed_at, replaced_by"
INSERTED_COLUMNS = (
    "identifier, type_code, issuer_code, serial, version, holder_code, issue_date, metadata, package_digest, "
    "signer, issued_at, file_path, source_key, status, status_reason, status_changed_at, status_changed_by, "
    "replaced_by, authority_code"
)
INSERTED_PLACEHOLDERS = ", ".join("?" for _ in INSERTED_COLUMNS.split(","))


def entry_from_row(row: Sequence[Any]) -> StatusEntry:
    return StatusEntry(row[0], CertStatus(row[1]), row[2], datetime.fromisoformat(row[3]), row[4])


def record_from_row(row: Sequence[Any]) -> IssuedRecord:
    try:
        metadata = from_json(row[1])
    except EcertError as exc:
        raise RegistryError(f"stored metadata of {row[0]} is unreadable: {exc}") from None
    return IssuedRecord(
        identifier=row[0],
        metadata=metadata,
        package_digest=row[2],
        signer=row[3],
        issued_at=datetime.fromisoformat(row[4]),
        file_path=row[5],
        source_key=row[6],
        status=CertStatus(row[7]),
        status_reason=row[8],
        status_changed_at=datetime.fromisoformat(row[9]),
        status_changed_by=row[10],
        replaced_by=row[11],
    )
