"""Options and conversions several commands share."""

from __future__ import annotations

import argparse
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ecert.errors import InputError

if TYPE_CHECKING:
    from ecert.catalog import Catalog
    from ecert.crypto.signer import Signer
    from ecert.registry.access import Library


def add_types_option(p: argparse.ArgumentParser) -> None:
    """``--types DIR`` on every command that takes a certificate type (a department's own types)."""
    p.add_argument(
        "--types",
        action="append",
        type=Path,
        metavar="DIR",
        help="a folder of your own type files (*.json), added to the shipped types; repeatable "
        "(default: the folders in $ECERT_TYPES, separated by ':'); see docs/custom-types.md",
    )


def load_types(args: argparse.Namespace) -> Catalog:
    """The catalogue the command works with: shipped types plus ``--types`` (else ``$ECERT_TYPES``)."""
    from ecert.catalog import load_catalog

    return load_catalog(args.types)


def add_signer_options(p: argparse.ArgumentParser) -> None:
    """``--key``, ``--cert`` and ``--password-file``: the issuing department, as issuing commands take it."""
    p.add_argument("--key", required=True, type=Path, metavar="KEY.pem", help="issuer private key")
    p.add_argument(
        "--cert",
        required=True,
        type=Path,
        metavar="CERT.pem",
        help="issuer certificate (the file may hold its chain)",
    )
    p.add_argument("--password-file", type=Path, metavar="FILE", help="file holding the key's password")


def load_signer(args: argparse.Namespace) -> Signer:
    """The signer the options name (:meth:`Signer.load` raises for a wrong password or key)."""
    from ecert.crypto.signer import Signer

    password = None
    if args.password_file is not None:
        password = args.password_file.read_bytes().rstrip(b"\r\n")
    return Signer.load(args.key, args.cert, password=password)


CHINA_TIME = timezone(timedelta(hours=8), "UTC+08:00")


def parse_time(text: str | None, option: str, *, day_end: bool = False) -> datetime | None:
    """An aware datetime from ISO 8601 text (None stays None).

    A plain date (``2026-11-24``) is that day in China time (UTC+8), as certificate dates are:
    its start, or with ``day_end`` its last second (``verify --at DAY``: valid on that day,
    whenever that day it was signed).  A date and time without a zone is refused: which zone
    was meant cannot be guessed.
    """
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        pass
    else:
        clock = time(23, 59, 59) if day_end else time(0, 0)
        return datetime.combine(day, clock, CHINA_TIME)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            "not an ISO 8601 time", where=option, value=text, expected="2026-11-25 or 2026-11-25T10:00+08:00"
        ) from None
    if when.tzinfo is None:
        raise InputError(
            "the time needs a time zone",
            where=option,
            value=text,
            expected="e.g. 2026-11-25T10:00+08:00, or a plain date 2026-11-25 (China time)",
        )
    return when


def registry_location(text: str) -> str | Path:
    """A ``--registry`` value: a ``postgresql://`` URL as given, else a path to an SQLite file."""
    from ecert.registry import is_database_url

    return text if is_database_url(text) else Path(text)


def open_existing_registry(location: str | Path) -> Library:
    """The library at ``location``, which must exist (a missing file is a usage error, exit 2)."""
    from ecert.registry import open_registry

    if isinstance(location, Path) and not location.is_file():
        raise InputError(
            "registry not found", where=str(location), expected="a file made by `ecert registry init`"
        )
    return open_registry(location, create=False)
