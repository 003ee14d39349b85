"""The certificate library on a PostgreSQL server (``ecert[postgres]``: psycopg 3 and its pool).

The same SQL as the embedded library (``registry.library``); what differs is how writers are kept
apart: SQLite has one file lock, PostgreSQL locks rows.  Every statement that reads a value it will
write back (a serial counter, a chain head, a certificate's status, a download ticket) reads it
``FOR UPDATE``, so concurrent writers queue on that row, and a sequence or a chain never forks.
The connection pool hands one connection to a transaction; a server that goes away surfaces as
:class:`ecert.errors.LibraryUnavailable` (the operation did not happen) and the pool reconnects
when the server is back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ecert.errors import InputError, LibraryBusy, LibraryUnavailable, RegistryError
from ecert.registry.access import Library
from ecert.registry.sql import Tx
from ecert.registry.sqlite import seed
from ecert.registry.tables import SCHEMA_VERSION, ddl

__all__ = ["PostgresRegistry"]

_SCHEMA_LOCK = 7_305_905_236  # pg_advisory_xact_lock key: one process creates the schema


def _pg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class _PgTx:
    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(_pg(sql), tuple(args))
        return list(self._cur.fetchall())

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self._cur.execute(_pg(sql), tuple(args))
        row: tuple[Any, ...] | None = self._cur.fetchone()
        return row

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        self._cur.execute(_pg(sql), tuple(args))
        return int(self._cur.rowcount)

    def many(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        rows = [tuple(a) for a in args]
        if rows:
            self._cur.executemany(_pg(sql), rows)


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        parts = conninfo_to_dict(url)
    except Exception:  # a malformed URL is reported by connect; never echo it
        return "postgresql://…"
    parts.pop("password", None)
    return str(make_conninfo(**{k: str(v) for k, v in parts.items() if v is not None}))


class PostgresRegistry(Library):
    """The library on a PostgreSQL server; see the module docstring."""

    for_update = " FOR UPDATE"

    def __init__(self, pool: Any, url: str, *, file_store: str | Path | None = None) -> None:
        super().__init__(file_store)
        self._pool = pool
        self.url = _redact(url)
        self._closed = threading.Event()

    @classmethod
    def open(
        cls, url: str, *, create: bool = True, max_connections: int = 8, file_store: str | Path | None = None
    ) -> PostgresRegistry:
        """Connect to ``url`` (``postgresql://user@host:port/db``); an empty database gets the schema."""
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise RegistryError(
                "PostgreSQL support is not installed: pip install 'ecert[postgres]'"
            ) from None
        if not isinstance(url, str) or "\x00" in url:
            raise InputError("not a usable database URL", where="url", value=url)
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise InputError(f"not a usable database URL: {exc}", where="url") from None
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, max_connections),
            open=False,
            timeout=10.0,  # how long a call waits for a connection (a server that is gone)
            kwargs={"autocommit": True},
        )
        try:
            pool.open(wait=True, timeout=10.0)
        except Exception as exc:
            pool.close()
            raise LibraryUnavailable(f"cannot reach the library database {_redact(url)}: {exc}") from None
        lib = cls(pool, url, file_store=file_store)
        try:
            lib._prepare(create)
        except BaseException:
            lib.close()
            raise
        return lib

    def _prepare(self, create: bool) -> None:
        with self._begin(True) as tx:
            tx.run("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            present = tx.one("SELECT to_regclass('schema_version') IS NOT NULL")
            if not (present and present[0]):
                if not create:
                    raise RegistryError(f"{self.describe()} holds no ecert library")
                others = tx.one(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
                )
                if others and others[0]:
                    raise RegistryError(f"{self.describe()} is not an ecert library (it has other tables)")
                for statement in ddl("postgresql"):
                    tx.run(statement)
                seed(tx, self.ts(datetime.now(UTC)))
            row = tx.one("SELECT version FROM schema_version")
        if row is None or row[0] != SCHEMA_VERSION:
            raise RegistryError(
                f"{self.describe()} has schema version {row and row[0]}; this ecert reads {SCHEMA_VERSION}"
            )

    def _lock(self, tx: Tx, name: str) -> None:
        tx.run("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (name,))

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._pool.close()

    def describe(self) -> str:
        return f"library {self.url}"

    def ts(self, at: datetime) -> datetime:
        return at.astimezone(UTC)

    def day(self, value: date) -> date:
        return value

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Tx]:
        import psycopg

        if self._closed.is_set():
            raise RegistryError(f"{self.describe()} is closed")
        try:
            with self._pool.connection() as conn, conn.cursor() as cur:
                if write:  # a read runs in autocommit: one round trip per statement, no BEGIN/COMMIT
                    with conn.transaction():
                        yield _PgTx(cur)
                else:
                    yield _PgTx(cur)
        except (psycopg.OperationalError, psycopg.errors.AdminShutdown) as exc:
            raise LibraryUnavailable(f"{self.describe()} is unavailable: {_first_line(exc)}") from None
        except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as exc:
            raise LibraryBusy(f"{self.describe()}: concurrent change, retry: {_first_line(exc)}") from None
        except psycopg.errors.IntegrityError as exc:
            raise RegistryError(f"{self.describe()}: refused by the database: {_first_line(exc)}") from None
        except psycopg.DataError as exc:
            raise InputError(f"a value cannot be stored: {_first_line(exc)}", where=self.describe()) from None
        except psycopg.Error as exc:
            raise RegistryError(f"{self.describe()}: {_first_line(exc)}") from None
        except Exception as exc:
            from psycopg_pool import PoolTimeout

            if isinstance(exc, PoolTimeout):
                raise LibraryUnavailable(f"{self.describe()} is unavailable: {exc}") from None
            raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
