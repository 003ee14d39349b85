"""The certificate library (电子证照库, spec/library.md): serials, records, files, status and usage logs.

``SQLiteRegistry`` is the embedded library, ``PostgresRegistry`` the same on a PostgreSQL server
(``ecert[postgres]``); :func:`open_registry` opens either from a path or a ``postgresql://`` URL.
:class:`Registry` is the interface both implement; :class:`StatusSource` is all a verifier needs,
and both a registry and a loaded :class:`StatusList` are one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ecert.errors import InputError
from ecert.registry.base import (
    Application,
    ChainEvent,
    CheckProblem,
    CopyRecord,
    Gap,
    HistoryEntry,
    Holder,
    IssuedRecord,
    LibraryCheck,
    PublishedField,
    PublishedType,
    Registry,
    Right,
    StatusSource,
    StoredFile,
    Usage,
    UsageRecord,
)
from ecert.registry.sqlite import SQLiteRegistry
from ecert.registry.status import CertStatus, StatusEntry, from_profile_code, profile_code
from ecert.registry.statuslist import StaleStatusList, StatusList

if TYPE_CHECKING:
    from ecert.registry.access import Library

__all__ = [
    "Application",
    "CertStatus",
    "ChainEvent",
    "CheckProblem",
    "CopyRecord",
    "Gap",
    "HistoryEntry",
    "Holder",
    "IssuedRecord",
    "LibraryCheck",
    "PublishedField",
    "PublishedType",
    "Registry",
    "Right",
    "SQLiteRegistry",
    "StaleStatusList",
    "StatusEntry",
    "StatusList",
    "StatusSource",
    "StoredFile",
    "Usage",
    "UsageRecord",
    "from_profile_code",
    "is_database_url",
    "open_registry",
    "profile_code",
]

_URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL library rather than an SQLite file."""
    return isinstance(location, str) and location.lower().startswith(_URL_SCHEMES)


def open_registry(
    location: str | Path, *, create: bool = True, file_store: str | Path | None = None, lean: bool = False
) -> Library:
    """Open the library at ``location``: an SQLite file path, or a ``postgresql://`` URL.

    ``lean`` (SQLite): a small page cache and no memory map, for a batch writer whose memory should
    not grow with the library (:meth:`SQLiteRegistry.open`); a server's memory is its own affair.

    The environment's ``PG*`` variables (PGPASSWORD, PGSSLMODE...) apply to a URL, so that no
    password needs to be written on a command line or in a file.
    """
    if is_database_url(location):
        from ecert.registry.postgres import PostgresRegistry

        assert isinstance(location, str)
        return PostgresRegistry.open(location, create=create, file_store=file_store)
    if not isinstance(location, str | Path):
        raise InputError("not a registry location", where="registry", value=location,
                         expected="a file path or a postgresql:// URL")  # fmt: skip
    return SQLiteRegistry.open(location, create=create, file_store=file_store, lean=lean)
