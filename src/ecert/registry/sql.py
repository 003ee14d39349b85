"""What the library's SQL needs from a database backend: transactions, value forms, error mapping.

The library's statements (``registry.library``, ``registry.access``) are written once, with ``?``
placeholders and portable SQL; a backend (``SQLiteRegistry``, ``PostgresRegistry``) supplies the
connection, the transaction discipline (SQLite: ``BEGIN IMMEDIATE`` on one file lock; PostgreSQL:
row locks taken by ``FOR UPDATE``) and how dates and times are stored.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Protocol

from ecert.errors import InputError, RegistryError

__all__ = ["SQLBackend", "Tx"]


class Tx(Protocol):
    """A transaction (or an autocommit read) on one connection; SQL uses ``?`` placeholders."""

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...

    def run(self, sql: str, args: Sequence[Any] = ()) -> int: ...

    def many(self, sql: str, args: Sequence[Sequence[Any]]) -> None: ...


class SQLBackend(ABC):
    """Transactions for the library's SQL, nested through :meth:`atomic` (thread by thread)."""

    #: appended to a SELECT that must lock the rows it reads until the transaction ends
    for_update: ClassVar[str] = ""

    def __init__(self) -> None:
        self._local = threading.local()

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def _begin(self, write: bool) -> AbstractContextManager[Tx]:
        """A new transaction (write: holding the write lock SQLite needs up front) or a plain read."""

    # --- value forms ---------------------------------------------------------------------------

    @staticmethod
    def moment(at: object, what: str) -> datetime:
        """A timezone-aware datetime, in UTC, as every time is stored."""
        if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
            raise InputError("time must be a timezone-aware datetime", where=what, value=at)
        try:
            return at.astimezone(UTC)
        except OverflowError:
            raise InputError("time is out of range in UTC", where=what, value=at) from None

    @abstractmethod
    def ts(self, at: datetime) -> Any:
        """How this backend binds a (UTC) time."""

    @abstractmethod
    def day(self, value: date) -> Any:
        """How this backend binds a date."""

    @staticmethod
    def read_ts(value: Any) -> datetime:
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return datetime.fromisoformat(value)

    @staticmethod
    def read_day(value: Any) -> date | None:
        if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
            return value
        return date.fromisoformat(value)

    # --- transactions ---------------------------------------------------------------------------

    @contextmanager
    def _tx(self, write: bool) -> Iterator[Tx]:
        current: Tx | None = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        with self._begin(write) as tx:
            yield tx

    def _write(self) -> AbstractContextManager[Tx]:
        return self._tx(True)

    def _read(self) -> AbstractContextManager[Tx]:
        return self._tx(False)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One write transaction around every library call made inside it (on this thread); nests.

        The share service reads a certificate and records its use in one of these, so no data
        leaves without its usage record.  A nested one is a savepoint: when its body raises, what
        it wrote is undone even if the caller catches the error and the outer transaction commits
        (the exchange answers a refused event and goes on with the batch, inside a push's
        transaction).
        """
        current: Tx | None = getattr(self._local, "tx", None)
        if current is not None:  # nested: a savepoint, so that a caught failure inside leaves nothing
            depth = getattr(self._local, "depth", 0) + 1
            name = f"ecert_atomic_{depth}"
            current.run(f"SAVEPOINT {name}")
            self._local.depth = depth
            try:
                yield
            except BaseException:
                current.run(f"ROLLBACK TO SAVEPOINT {name}")
                current.run(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                current.run(f"RELEASE SAVEPOINT {name}")
            finally:
                self._local.depth = depth - 1
            return
        with self._begin(True) as tx:
            self._local.tx = tx
            try:
                yield
            finally:
                self._local.tx = None

    def _lock(self, tx: Tx, name: str) -> None:  # noqa: B027 (a hook: SQLite needs nothing)
        """Serialise writers on ``name`` until the transaction ends (SQLite's write lock does already)."""

    @staticmethod
    def _limit(limit: object, what: str = "limit", most: int = 2**31 - 1) -> int:
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= most:
            raise InputError("must be a positive integer", where=what, value=limit, expected=f"1 to {most}")
        return limit

    def _missing(self, what: str) -> RegistryError:
        return RegistryError(f"no {what} in {self.describe()}")
