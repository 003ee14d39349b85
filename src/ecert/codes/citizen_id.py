"""Citizen identity number (公民身份号码, GB 11643-1999): 18 characters.

Layout (GB 11643-1999 clause 4; STANDARDS.md §5.3)::

    6 address code (GB/T 2260) | 8 birth date YYYYMMDD | 3 sequence (odd: male, even: female) | 1 check

The check character is ISO/IEC 7064 MOD 11-2 over the first 17 digits (``0-9`` or ``X``).  Only
the 18-character form validates; a 15-digit first-generation number is converted explicitly with
:func:`to_18`.  The address code is checked for shape and a real province part only (no full
GB/T 2260 table; residence permits of Hong Kong, Macao and Taiwan residents, whose numbers start
with 81/82/83 0000, follow GB 11643's layout but 83 is not a GB/T 2260 province and is refused).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from ecert.codes import division
from ecert.codes.division import check_digits
from ecert.codes.iso7064 import MOD_11_2_CHECKS, clean, mod_11_2_calc_check, require_text
from ecert.errors import (
    InputError,
    InvalidChecksum,
    InvalidCode,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)

__all__ = ["EARLIEST_BIRTH_DATE", "LENGTH", "CitizenIdInfo", "calc_check_char", "compact", "info", "is_valid",
           "to_18", "validate"]  # fmt: skip

LENGTH = 18
LENGTH_15 = 15  # first-generation numbers (GB 11643-1989): 2-digit year, no check character

#: Birth dates before this are refused as implausible (the earliest real example is 1880).
EARLIEST_BIRTH_DATE = datetime.date(1800, 1, 1)

_REGION = slice(0, 6)
_BIRTH = slice(6, 14)
_SEQUENCE = slice(14, 17)


@dataclass(frozen=True, slots=True)
class CitizenIdInfo:
    """The parts of a valid citizen identity number (GB 11643-1999 clause 4)."""

    region: str
    birth_date: datetime.date
    sequence: str
    sex: Literal["M", "F"]


def compact(code: str) -> str:
    """Strip spaces and hyphens, upper-case (``x`` -> ``X``), full-width -> half-width."""
    return clean(code, what="citizen ID number")


def calc_check_char(body: str) -> str:
    """Check character for the first 17 digits: ISO/IEC 7064 MOD 11-2 (GB 11643-1999 clause 5)."""
    if len(require_text(body, "citizen ID body")) != LENGTH - 1:
        raise InvalidLength(
            "citizen ID body has the wrong length",
            value=body,
            position=min(len(body), LENGTH - 1),
            expected=f"{LENGTH - 1} digits",
        )
    return mod_11_2_calc_check(body)


def _check_region(code: str) -> None:
    try:
        division.validate(code[_REGION])
    except InvalidCode as exc:
        raise InvalidComponent(
            "address code is not a GB/T 2260 division code",
            value=code,
            position=exc.position,
            expected=exc.expected,
        ) from exc


def _latest_birth_date(today: object) -> datetime.date:
    """The ``today`` argument checked: a plain date, or ``None`` for the local date.

    A datetime is refused rather than truncated: which date it falls on depends on its time zone,
    so the caller says (``today=moment.date()``); comparing it with a date would raise ``TypeError``.
    """
    if today is None:
        return datetime.date.today()
    if isinstance(today, datetime.date) and not isinstance(today, datetime.datetime):
        return today
    raise InputError(
        f"today must be a date, not {type(today).__name__}",
        where="today",
        value=today,
        expected="a datetime.date (a datetime's .date(), or None for the local date)",
    )


def _birth_date(code: str, today: datetime.date | None) -> datetime.date:
    latest = _latest_birth_date(today)
    text = code[_BIRTH]
    try:
        born = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise InvalidComponent(
            f"birth date {text} does not exist",
            value=code,
            position=_BIRTH.start,
            expected="a real date YYYYMMDD",
        ) from None
    if not EARLIEST_BIRTH_DATE <= born <= latest:
        raise InvalidComponent(
            f"birth date {born.isoformat()} is out of range",
            value=code,
            position=_BIRTH.start,
            expected=f"a date from {EARLIEST_BIRTH_DATE.isoformat()} to {latest.isoformat()}",
        )
    return born


def validate(code: str, *, today: datetime.date | None = None) -> str:
    """Return the compact 18-character number or raise (GB 11643-1999).

    Checks length, digits, check-character shape, address code (province part), birth date (real,
    not before 1800, not after ``today``, default the local date) and the MOD 11-2 check character.
    A ``today`` that is not a date raises :class:`~ecert.errors.InputError` (whatever ``code`` is).
    """
    today = _latest_birth_date(today)
    code = compact(code)
    if len(code) != LENGTH:
        expected = f"{LENGTH} characters"
        if len(code) == LENGTH_15:
            expected += " (convert a 15-digit number with to_18)"
        raise InvalidLength(
            "citizen ID number has the wrong length",
            value=code,
            position=min(len(code), LENGTH),
            expected=expected,
        )
    check_digits(code[:-1], "citizen ID number")
    if code[-1] not in MOD_11_2_CHECKS:
        raise InvalidFormat(
            "citizen ID check character not allowed",
            value=code,
            position=LENGTH - 1,
            expected="a digit or 'X'",
        )
    _check_region(code)
    _birth_date(code, today)
    expected_check = mod_11_2_calc_check(code[:-1])
    if code[-1] != expected_check:
        raise InvalidChecksum(
            "citizen ID check character does not match",
            value=code,
            position=LENGTH - 1,
            expected=f"check character {expected_check!r}",
        )
    return code


def is_valid(code: str, *, today: datetime.date | None = None) -> bool:
    """Whether ``code`` is a valid 18-character citizen identity number."""
    try:
        validate(code, today=today)
    except InvalidCode:
        return False
    return True


def info(code: str, *, today: datetime.date | None = None) -> CitizenIdInfo:
    """Validate ``code`` and split it into region, birth date, sequence and sex (GB 11643 clause 4)."""
    code = validate(code, today=today)
    sequence = code[_SEQUENCE]
    return CitizenIdInfo(
        region=code[_REGION],
        birth_date=_birth_date(code, today),
        sequence=sequence,
        sex="M" if int(sequence[-1]) % 2 else "F",
    )


def to_18(id15: str) -> str:
    """Convert a 15-digit first-generation number to 18 characters (insert ``19``, add the check)."""
    code = compact(id15)
    if len(code) != LENGTH_15:
        raise InvalidLength(
            "first-generation citizen ID number has the wrong length",
            value=code,
            position=min(len(code), LENGTH_15),
            expected=f"{LENGTH_15} digits",
        )
    check_digits(code, "first-generation citizen ID number")
    body = code[:6] + "19" + code[6:]
    return validate(body + mod_11_2_calc_check(body))
