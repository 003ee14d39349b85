"""Time arguments: every instant ecert judges by is timezone-aware and given by the caller.

A naive ``datetime`` (or a ``date``, or a string) would be read in some machine's local zone and
shift a validity verdict by hours, so they are refused where they enter, with the argument named.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from ecert.errors import InputError

__all__ = ["CHINA_STANDARD_TIME", "aware", "aware_or_now", "china_date"]

# The calendar of certificate dates (发证日期, 有效期) and of OFD times written without a zone.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def aware(value: object, where: str) -> datetime:
    """``value`` if it is a timezone-aware ``datetime``; otherwise ``InputError`` naming ``where``."""
    if not isinstance(value, datetime):
        raise InputError(
            "a time must be a datetime", where=where, value=type(value).__name__,
            expected="a timezone-aware datetime",
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(
            "a time must be timezone-aware", where=where, value=value.isoformat(),
            expected="a datetime with tzinfo, e.g. datetime.now(UTC)",
        )
    return value


def china_date(at: datetime) -> date:
    """The day ``at`` falls on in China (UTC+8); ``date.max`` for the last hours of year 9999."""
    try:
        return at.astimezone(CHINA_STANDARD_TIME).date()
    except OverflowError:
        return date.max


def aware_or_now(value: object, where: str) -> datetime:
    """:func:`aware`, or the current time (UTC) when ``value`` is None."""
    return datetime.now(UTC) if value is None else aware(value, where)
