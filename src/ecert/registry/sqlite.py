"""The embedded certificate registry: SQLite in WAL mode, safe for several issuing processes.

Serials are allocated in an ``IMMEDIATE`` transaction (one writer at a time, across processes)
and recorded as ``allocated`` before the certificate file exists; ``record_issued`` marks them
``issued``.  A crash in between leaves an allocation that :meth:`SQLiteRegistry.reconcile` turns
into a recorded gap, so serials are never handed out twice and every gap is accounted for.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ecert.errors import EcertError, InputError, RegistryError
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.metadata.jsonform import from_json, to_json
from ecert.registry.base import IssuedRecord
from ecert.registry.status import TRANSITIONS, CertStatus, StatusEntry

__all__ = ["SQLiteRegistry"]

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, period TEXT NOT NULL, next INTEGER NOT NULL,
    PRIMARY KEY (type_code, issuer_code, period));
CREATE TABLE IF NOT EXISTS serials (
    type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, serial TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('allocated', 'issued', 'gap')),
    allocated_at TEXT NOT NULL, note TEXT,
    PRIMARY KEY (type_code, issuer_code, serial));
CREATE TABLE IF NOT EXISTS certificates (
    identifier TEXT PRIMARY KEY, type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, serial TEXT NOT NULL,
    version INTEGER NOT NULL, holder_code TEXT NOT NULL, issue_date TEXT NOT NULL, metadata TEXT NOT NULL,
    package_digest TEXT NOT NULL, signer TEXT NOT NULL, issued_at TEXT NOT NULL, file_path TEXT,
    source_key TEXT UNIQUE, status TEXT NOT NULL, status_reason TEXT, status_changed_at TEXT NOT NULL,
    status_changed_by TEXT, replaced_by TEXT);
CREATE INDEX IF NOT EXISTS certificates_holder ON certificates (holder_code);
CREATE INDEX IF NOT EXISTS certificates_type ON certificates (type_code, issuer_code);
CREATE TABLE IF NOT EXISTS history (
    identifier TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, changed_by TEXT, changed_at TEXT NOT NULL);
"""


def _aware(at: datetime, what: str) -> str:
    if at.tzinfo is None:
        raise InputError("time must be timezone-aware", where=what)
    return at.astimezone(UTC).isoformat()


class SQLiteRegistry:
    """A registry in one SQLite file (open one per process; connections are not shared)."""

    knows_every_certificate = True

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: str | Path) -> SQLiteRegistry:
        try:
            db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            with _transaction(db, immediate=True):  # a deferred one could not upgrade under load
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot open registry {path}: {exc}") from None
        if int(version) != SCHEMA_VERSION:
            raise RegistryError(
                f"registry {path} has schema version {version}; this ecert reads {SCHEMA_VERSION}"
            )
        return cls(db, str(path))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SQLiteRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return f"registry {self.path}"

    # --- serials --------------------------------------------------------------------------------

    def allocate_serial(self, type_code: str, issuer_code: str, *, period: str = "", width: int = 10) -> str:
        """The next serial for (type, issuer, period), recorded as allocated; unique across processes."""
        if not period.isalnum() and period:
            raise InputError("period must be letters and digits", value=period)
        now = datetime.now(UTC).isoformat()
        with _transaction(self._db, immediate=True):
            row = self._db.execute(
                "SELECT next FROM counters WHERE type_code=? AND issuer_code=? AND period=?",
                (type_code, issuer_code, period),
            ).fetchone()
            n = row[0] if row else 1
            self._db.execute(
                "INSERT INTO counters VALUES (?, ?, ?, ?) ON CONFLICT (type_code, issuer_code, period) "
                "DO UPDATE SET next=excluded.next",
                (type_code, issuer_code, period, n + 1),
            )
            serial = f"{period.upper()}{n:0{max(1, width - len(period))}d}"
            self._db.execute(
                "INSERT INTO serials VALUES (?, ?, ?, 'allocated', ?, NULL)",
                (type_code, issuer_code, serial, now),
            )
        return serial

    def record_gap(self, type_code: str, issuer_code: str, serial: str, reason: str) -> None:
        with _transaction(self._db, immediate=True):
            cur = self._db.execute(
                "UPDATE serials SET state='gap', note=? WHERE type_code=? AND issuer_code=? AND serial=? "
                "AND state='allocated'",
                (reason, type_code, issuer_code, serial),
            )
            if cur.rowcount != 1:
                raise RegistryError(f"serial {serial} is not an open allocation")

    def reconcile(self, older_than: datetime) -> int:
        """Turn allocations older than ``older_than`` that were never issued into recorded gaps."""
        cutoff = _aware(older_than, "older_than")
        with _transaction(self._db, immediate=True):
            cur = self._db.execute(
                "UPDATE serials SET state='gap', note='allocated but never issued (reconciled)' "
                "WHERE state='allocated' AND allocated_at < ?",
                (cutoff,),
            )
        return cur.rowcount

    def serial_states(self, type_code: str, issuer_code: str) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT serial, state FROM serials WHERE type_code=? AND issuer_code=?", (type_code, issuer_code)
        )
        return dict(rows.fetchall())

    def gaps(self, type_code: str, issuer_code: str) -> tuple[str, ...]:
        return tuple(
            s for s, state in sorted(self.serial_states(type_code, issuer_code).items()) if state == "gap"
        )

    # --- records --------------------------------------------------------------------------------

    def record_issued(
        self,
        metadata: CoreMetadata,
        *,
        package_digest: str,
        signer: str,
        issued_at: datetime,
        file_path: str | None = None,
        source_key: str | None = None,
    ) -> IssuedRecord:
        ident = metadata.identifier
        when = _aware(issued_at, "issued_at")
        try:
            with _transaction(self._db, immediate=True):
                self._db.execute(
                    "INSERT INTO certificates VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        str(ident),
                        ident.type_code,
                        ident.issuer_code,
                        ident.serial,
                        ident.version,
                        metadata.holder_code,
                        metadata.issue_date.isoformat(),
                        to_json(metadata),
                        package_digest,
                        signer,
                        when,
                        file_path,
                        source_key,
                        CertStatus.VALID.value,
                        None,
                        when,
                        None,
                        None,
                    ),
                )
                self._db.execute(
                    "UPDATE serials SET state='issued' WHERE type_code=? AND issuer_code=? AND serial=?",
                    (ident.type_code, ident.issuer_code, ident.serial),
                )
                self._db.execute(
                    "INSERT INTO history VALUES (?, 'valid', 'issued', ?, ?)", (str(ident), signer, when)
                )
        except sqlite3.IntegrityError as exc:
            raise RegistryError(
                f"certificate {ident} (or its source row) is already recorded: {exc}"
            ) from None
        return self.get(str(ident))

    def get(self, identifier: str) -> IssuedRecord:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM certificates WHERE identifier=?", (identifier,)
        ).fetchone()
        if row is None:
            raise RegistryError(f"no certificate {identifier} in {self.describe()}")
        return _record(row)

    def find_by_source_key(self, source_key: str) -> IssuedRecord | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM certificates WHERE source_key=?", (source_key,)
        ).fetchone()
        return None if row is None else _record(row)

    def find(
        self,
        *,
        holder_code: str | None = None,
        type_code: str | None = None,
        issuer_code: str | None = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
        status: CertStatus | None = None,
        limit: int = 1000,
    ) -> tuple[IssuedRecord, ...]:
        where, args = ["1=1"], []  # type: tuple[list[str], list[Any]]
        for column, value in (
            ("holder_code", holder_code),
            ("type_code", type_code),
            ("issuer_code", issuer_code),
        ):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if issued_from is not None:
            where.append("issue_date>=?")
            args.append(issued_from.isoformat())
        if issued_to is not None:
            where.append("issue_date<=?")
            args.append(issued_to.isoformat())
        if status is not None:
            where.append("status=?")
            args.append(status.value)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM certificates WHERE {' AND '.join(where)} "
            "ORDER BY issued_at, identifier LIMIT ?",
            (*args, int(limit)),
        )
        return tuple(_record(r) for r in rows.fetchall())

    # --- status ---------------------------------------------------------------------------------

    def set_status(
        self,
        identifier: str,
        status: CertStatus,
        *,
        reason: str,
        by: str,
        at: datetime,
        replaced_by: str | None = None,
    ) -> IssuedRecord:
        when = _aware(at, "at")
        if not reason.strip():
            raise InputError("a status change needs a reason", where="reason")
        with _transaction(self._db, immediate=True):
            current = self.get(identifier).status
            if status not in TRANSITIONS[current]:
                raise RegistryError(
                    f"{identifier}: cannot change status from {current.value} to {status.value}"
                )
            self._db.execute(
                "UPDATE certificates SET status=?, status_reason=?, status_changed_at=?, "
                "status_changed_by=?, replaced_by=COALESCE(?, replaced_by) WHERE identifier=?",
                (status.value, reason, when, by, replaced_by, identifier),
            )
            self._db.execute(
                "INSERT INTO history VALUES (?, ?, ?, ?, ?)", (identifier, status.value, reason, by, when)
            )
        return self.get(identifier)

    def revoke(self, identifier: str, *, reason: str, by: str, at: datetime) -> IssuedRecord:
        return self.set_status(identifier, CertStatus.REVOKED, reason=reason, by=by, at=at)

    def cancel(self, identifier: str, *, reason: str, by: str, at: datetime) -> IssuedRecord:
        return self.set_status(identifier, CertStatus.CANCELLED, reason=reason, by=by, at=at)

    def suspend(self, identifier: str, *, reason: str, by: str, at: datetime) -> IssuedRecord:
        return self.set_status(identifier, CertStatus.SUSPENDED, reason=reason, by=by, at=at)

    def reinstate(self, identifier: str, *, reason: str, by: str, at: datetime) -> IssuedRecord:
        return self.set_status(identifier, CertStatus.VALID, reason=reason, by=by, at=at)

    def renew(
        self,
        old: str,
        new_metadata: CoreMetadata,
        *,
        package_digest: str,
        signer: str,
        issued_at: datetime,
        file_path: str | None = None,
        reason: str = "renewed",
        by: str = "",
    ) -> IssuedRecord:
        """Record ``new_metadata`` as the next version of ``old`` and mark ``old`` replaced."""
        previous = Identifier.parse(old, strict=False)
        ident = new_metadata.identifier
        if (ident.type_code, ident.issuer_code, ident.serial) != (
            previous.type_code,
            previous.issuer_code,
            previous.serial,
        ) or ident.version != previous.version + 1:
            raise RegistryError(f"{ident} is not the next version of {old}")
        record = self.record_issued(
            new_metadata,
            package_digest=package_digest,
            signer=signer,
            issued_at=issued_at,
            file_path=file_path,
        )
        self.set_status(
            old, CertStatus.REPLACED, reason=reason, by=by or signer, at=issued_at, replaced_by=str(ident)
        )
        return record

    def versions(self, identifier: str) -> tuple[IssuedRecord, ...]:
        ident = Identifier.parse(identifier, strict=False)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM certificates WHERE type_code=? AND issuer_code=? AND serial=? "
            "ORDER BY version",
            (ident.type_code, ident.issuer_code, ident.serial),
        )
        return tuple(_record(r) for r in rows.fetchall())

    def history(self, identifier: str) -> tuple[tuple[str, str | None, str | None, str], ...]:
        rows = self._db.execute(
            "SELECT status, reason, changed_by, changed_at FROM history WHERE identifier=? ORDER BY rowid",
            (identifier,),
        )
        return tuple(rows.fetchall())

    def status_of(self, identifier: str) -> StatusEntry | None:
        try:
            record = self.get(identifier)
        except RegistryError:
            return None
        return StatusEntry(
            identifier, record.status, record.status_reason, record.status_changed_at, record.replaced_by
        )

    def non_valid(self) -> tuple[StatusEntry, ...]:
        rows = self._db.execute(
            "SELECT identifier, status, status_reason, status_changed_at, replaced_by FROM certificates "
            "WHERE status != 'valid' ORDER BY identifier"
        )
        return tuple(
            StatusEntry(r[0], CertStatus(r[1]), r[2], datetime.fromisoformat(r[3]), r[4])
            for r in rows.fetchall()
        )


_COLUMNS = (
    "identifier, metadata, package_digest, signer, issued_at, file_path, source_key, status, status_reason, "
    "status_changed_at, status_changed_by, replaced_by"
)


def _record(row: Sequence[Any]) -> IssuedRecord:
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


@contextmanager
def _transaction(db: sqlite3.Connection, *, immediate: bool = False) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")
