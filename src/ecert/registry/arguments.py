"""Arguments of registry calls, checked before they reach SQLite.

sqlite3 raises ValueError, OverflowError or UnicodeEncodeError for values it cannot bind (NUL in a
path, lone surrogates from undecodable argv bytes, ints beyond 64 bits): each is refused here as an
``InputError`` naming the argument.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ecert.errors import InputError
from ecert.registry.status import CertStatus

__all__ = ["ALNUM", "nonempty_text", "optional_text", "period", "status_value", "text", "timestamp"]

ALNUM = re.compile(r"[0-9A-Za-z]{0,64}", re.ASCII)  # checked before upper-casing ("ß".upper() is "SS")


def timestamp(at: datetime, what: str) -> str:
    """Times are stored as UTC ISO 8601 with microseconds, so that text order is time order."""
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InputError("time must be a timezone-aware datetime", where=what, value=at)
    try:
        return at.astimezone(UTC).isoformat(timespec="microseconds")
    except OverflowError:
        raise InputError("time is out of range in UTC", where=what, value=at) from None


def text(value: object, what: str) -> str:
    """Text as SQLite can store it: a str encodable as UTF-8 (no lone surrogates from undecodable bytes)."""
    if not isinstance(value, str):
        raise InputError("must be text", where=what, value=value, expected="a str")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"character {value[exc.start]!r} at position {exc.start + 1} is a lone surrogate "
            "(from bytes that were not UTF-8?)",
            where=what,
            value=value,
            expected="text encodable as UTF-8",
        ) from None
    return value


def optional_text(value: object, what: str) -> str | None:
    return None if value is None else text(value, what)


def nonempty_text(value: object, what: str) -> str:
    checked = text(value, what)
    if not checked.strip():
        raise InputError("must not be empty", where=what, value=value)
    return checked


def status_value(value: object, what: str) -> CertStatus:
    """A CertStatus, or its value as text ("revoked")."""
    if isinstance(value, CertStatus):
        return value
    try:
        return CertStatus(value)
    except (ValueError, TypeError):
        expected = ", ".join(s.value for s in CertStatus)
        raise InputError("unknown status", where=what, value=value, expected=expected) from None


def period(value: object) -> str:
    """Periods are ASCII letters and digits (at most 64), case-insensitive: "q" and "Q" are one period."""
    if not isinstance(value, str) or not ALNUM.fullmatch(value):
        expected = "at most 64 ASCII letters and digits, e.g. 2026 or 2026Q1"
        raise InputError(
            "period must be ASCII letters and digits", where="period", value=value, expected=expected
        )
    return value.upper()
