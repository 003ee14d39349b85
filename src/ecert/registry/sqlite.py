"""The embedded certificate library: one SQLite file in WAL mode, safe for several issuing processes.

Every write runs in a ``BEGIN IMMEDIATE`` transaction, so writers queue on SQLite's file lock
(``busy_timeout``) instead of failing when two processes issue at once, and readers never block.
Each thread gets its own connection (the share service's server answers on a thread pool); open
one registry per process (connections cannot cross a fork).  Files made by ecert 0.1 (schema 2
and 3) are migrated to the library's tables when opened (``registry.legacy``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ecert.errors import InputError, LibraryBusy, RegistryError
from ecert.metadata import CoreMetadata
from ecert.registry import legacy
from ecert.registry.access import Library
from ecert.registry.chain import GENESIS
from ecert.registry.sql import Tx
from ecert.registry.status import CertStatus
from ecert.registry.tables import SCHEMA_VERSION, ddl

__all__ = ["SQLiteRegistry", "seed"]


class _SQLiteTx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, tuple(args)).fetchall()

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(sql, tuple(args)).fetchone()
        return row

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._db.execute(sql, tuple(args)).rowcount

    def many(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, [tuple(a) for a in args])


def seed(tx: Tx, ts: Any) -> None:
    """The rows a new library starts with: chain heads, the status code profiles, its own id."""
    from ecert.metadata.status import get_status_profile, status_profiles

    tx.many("INSERT INTO chain_heads VALUES (?, 0, ?)", [("status", GENESIS), ("usage", GENESIS)])
    rows: list[tuple[str, str, str, str]] = []
    for name in status_profiles():
        profile = get_status_profile(name)
        rows.extend((name, code, profile.meaning(code).value, profile.label(code)) for code in profile.codes)
    tx.many("INSERT INTO status_codes VALUES (?, ?, ?, ?)", rows)
    tx.many(
        "INSERT INTO library_info VALUES (?, ?)",
        [("library_id", uuid.uuid4().hex), ("created_at", ts)],
    )
    tx.run("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("ROLLBACK")


class SQLiteRegistry(Library):
    """The library in one SQLite file; see the module docstring."""

    def __init__(self, path: str, *, file_store: str | Path | None = None, lean: bool = False) -> None:
        super().__init__(file_store)
        self._lean = lean
        self._pid = os.getpid()
        self._connections = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self.path = path

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        create: bool = True,
        file_store: str | Path | None = None,
        lean: bool = False,
    ) -> SQLiteRegistry:
        """Open (and with ``create``, create) the library at ``path``; one per process.

        ``file_store``: keep signed files in this directory (by SM3) instead of in the database.
        ``lean``: for a writer that reads little (a batch): a 4 MiB page cache and no memory map, so
        that its memory stays flat however large the library grows (lookups in a large library are
        what the 64 MiB cache and the map are for).
        """
        name = os.fspath(path) if isinstance(path, os.PathLike) else path
        if not isinstance(name, str) or not name or "\x00" in name:
            raise InputError(
                "not a usable registry path", where="path", value=path, expected="a str or Path without NUL"
            )
        if not create and not Path(name).is_file():
            raise RegistryError(f"no registry at {name}")
        lib = cls(name, file_store=file_store, lean=lean)
        db = lib._connect()
        try:
            lib._prepare(db)
        except BaseException:
            lib.close()
            raise
        return lib

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        except (sqlite3.Error, ValueError) as exc:  # ValueError: a name the file system cannot take
            raise RegistryError(f"cannot open registry {self.path!r}: {exc}") from None
        try:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA journal_mode=WAL")  # stays "memory" for ":memory:"; WAL persists in the file
            # FULL: a commit is on disk when it returns.  NORMAL (WAL's usual) may lose the last commits
            # in a power cut; losing an allocation would hand its serial out again although its signed
            # file already exists: an identifier issued twice.  Durability over speed here.
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            # lookups in a large library stay in memory: 64 MiB of page cache, reads through a map;
            # a lean writer keeps 4 MiB and no map (its resident memory would grow with the file)
            db.execute("PRAGMA cache_size=-4096" if self._lean else "PRAGMA cache_size=-65536")
            db.execute("PRAGMA mmap_size=0" if self._lean else "PRAGMA mmap_size=1073741824")
        except sqlite3.Error as exc:
            db.close()
            raise RegistryError(f"cannot open registry {self.path}: {exc}") from None
        self._connections.db = db
        with self._opened_lock:
            self._all.append(db)
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Create the schema once, or migrate an older file, in one IMMEDIATE transaction."""
        try:
            db.execute("BEGIN IMMEDIATE")  # a deferred transaction could not upgrade under concurrent opens
            try:
                names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if names and "schema_version" not in names:
                    raise RegistryError(
                        f"{self.path} is not an ecert registry (it has no schema_version table)"
                    )
                if not names:
                    self._create(db)
                row = db.execute("SELECT version FROM schema_version").fetchone()
                if row is not None and row[0] == 2:
                    legacy.migrate_2_to_3(db)
                    db.execute("UPDATE schema_version SET version=3")
                    row = (3,)
                if row is not None and row[0] == 3:
                    legacy.migrate_3_to_4(db, self, self._create)
                    row = (SCHEMA_VERSION,)
            except BaseException:
                _rollback(db)
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot open registry {self.path}: {exc}") from None
        if row is None or row[0] != SCHEMA_VERSION:
            raise RegistryError(
                f"registry {self.path} has schema version {row and row[0]}; this ecert reads {SCHEMA_VERSION}"
            )

    def _create(self, db: sqlite3.Connection) -> None:
        for statement in ddl("sqlite"):
            db.execute(statement)
        seed(_SQLiteTx(db), self.ts(datetime.now(UTC)))

    def close(self) -> None:
        with self._opened_lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._connections = threading.local()

    def describe(self) -> str:
        return f"registry {self.path}"

    @property
    def _db(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            raise RegistryError("a registry connection cannot be used across a fork; open one per process")
        db: sqlite3.Connection | None = getattr(self._connections, "db", None)
        return db if db is not None else self._connect()

    # --- the backend ----------------------------------------------------------------------------

    def ts(self, at: datetime) -> str:
        """Times are stored as UTC ISO 8601 with microseconds, so that text order is time order."""
        return at.astimezone(UTC).isoformat(timespec="microseconds")

    def day(self, value: date) -> str:
        return value.isoformat()

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Tx]:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise _error(exc, f"{self.describe()}: cannot start a transaction") from None
        try:
            yield _SQLiteTx(db)
        except sqlite3.Error as exc:
            _rollback(db)
            raise _error(exc, self.describe()) from None
        except (UnicodeEncodeError, OverflowError, ValueError) as exc:  # a value the checks let through
            _rollback(db)
            if isinstance(exc, InputError):
                raise
            raise InputError(f"a value cannot be stored: {exc}", where=self.describe()) from None
        except BaseException:
            _rollback(db)
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(db)
            raise _error(exc, f"{self.describe()}: cannot commit") from None

    # --- migration (registry.legacy) ------------------------------------------------------------

    def tx_for(self, db: sqlite3.Connection) -> Tx:
        return _SQLiteTx(db)

    def migration_error(self, message: str) -> RegistryError:
        return RegistryError(f"cannot migrate {self.path}: {message}")

    def migrated_type_version(self, tx: Tx, md: CoreMetadata, when: datetime) -> int:
        """The catalogue version a migrated record gets: its bundled type's, or a 'migrated' entry."""
        from ecert.catalog import default_catalog

        try:
            return self._publish(tx, default_catalog().get(md.type_code), when).catalog_version
        except (KeyError, LookupError, RegistryError, InputError):
            pass
        definition = json.dumps({"code": md.type_code, "migrated": True, "name": md.certificate_name})
        from ecert.crypto.digests import sm3

        tx.run(
            "INSERT INTO catalog_types VALUES (?, 1, ?, '', ?, '', '', ?, ?, ?, ?)",
            (
                md.type_code,
                md.certificate_name,
                md.type_code[:18],
                md.status_profile,
                definition,
                sm3(definition.encode()).hex(),
                self.ts(when),
            ),
        )
        return 1

    def insert_migrated(self, tx: Tx, row: Sequence[Any], md: CoreMetadata, catalog_version: int) -> None:
        """One schema-3 certificate row as a library row, with its holder and KZ_* rows."""
        (
            identifier,
            metadata,
            digest,
            signer,
            issued_at,
            file_path,
            source_key,
            status,
            reason,
            changed_at,
            changed_by,
            replaced_by,
            _serial,  # the identifier's parts: the row is built from md.identifier, which holds them
            _version,
            _issuer_part,
        ) = row
        from ecert.registry.library import _CERT_COLUMNS

        values = self._certificate_row(
            md, catalog_version=catalog_version, metadata_json=metadata, digest=digest, signer=signer,
            issued_at=issued_at, file_path=file_path, source_key=source_key,
            status=(status, reason, changed_at, changed_by, replaced_by),
        )  # fmt: skip
        placeholders = ", ".join("?" for _ in _CERT_COLUMNS)
        tx.run(f"INSERT INTO certificates ({', '.join(_CERT_COLUMNS)}) VALUES ({placeholders})", values)
        tx.run(
            "INSERT INTO certificate_holders VALUES (?, 1, ?, ?, ?, ?)",
            (identifier, md.holder_name, md.holder_code, md.holder_code_type, md.holder_code_type_code),
        )
        tx.many(
            "INSERT INTO certificate_fields VALUES (?, ?, ?)", [(identifier, k, v) for k, v in md.extensions]
        )

    def migrated_event(
        self, tx: Tx, row: Sequence[Any], status: str, reason: str | None, by: str | None, at: datetime
    ) -> None:
        """One schema-3 history entry as an event of the status log (its first one: the issuing)."""
        identifier, metadata, digest, signer = row[0], row[1], row[2], row[3]
        first = tx.one("SELECT 1 FROM status_events WHERE identifier=?", (identifier,)) is None
        if first:
            payload: dict[str, Any] = {
                "metadata": metadata,
                "package_digest": digest,
                "signer": signer,
                "migrated": True,
            }
            kind = "issued"
        else:
            payload = {"replaced_by": row[11]} if status == CertStatus.REPLACED.value and row[11] else {}
            kind = "status"
        self._append_status(tx, kind, identifier, row[13], CertStatus(status), reason, by, at, payload)


def _error(exc: sqlite3.Error, what: str) -> RegistryError:
    """SQLite's error as the library's: the write lock still held by another writer after the busy
    timeout is :class:`LibraryBusy` (nothing happened, retry), anything else a :class:`RegistryError`."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # the primary code of an extended one
    busy = code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "database is locked" in str(exc)
    return (LibraryBusy if busy else RegistryError)(f"{what}: {exc}")
