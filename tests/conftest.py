"""Shared fixtures: the library on both backends (SQLite, and a real PostgreSQL server: tests/pg.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecert.registry import SQLiteRegistry, open_registry
from ecert.registry.base import Registry

from .pg import Server, fresh_database, start_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    yield from start_server()


@pytest.fixture
def pg_url(pg_server: Server) -> Iterator[str]:
    """The URL of a fresh, empty database on the test server."""
    yield from fresh_database(pg_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def library_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh library lives: an SQLite file, or an empty database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "library.db")
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def city_and_province(library_location: str, tmp_path: Path) -> Iterator[tuple[Registry, Registry]]:
    """Two libraries to exchange between: a city on SQLite, the province on SQLite or PostgreSQL."""
    city = SQLiteRegistry.open(tmp_path / "city.db")
    province = open_registry(library_location)
    yield city, province
    city.close()
    province.close()


@pytest.fixture
def library(library_location: str) -> Iterator[Any]:
    """A fresh library on each backend holding the share service's sample certificates and
    applications (tests/share_support.py: ``populate``)."""
    from .share_support import opened, populate

    with opened(library_location) as lib:
        populate(lib)
        yield lib
