"""Normalising raw values from source systems: pure functions, each raising ValueError with a reason.

Source records are messy: full-width digits typed with a Chinese input method, dates as
2024年1月8日 or 2024/1/8, codes in lower case with spaces, money with thousands separators.
Names keep their characters; only codes, dates and numbers are folded with NFKC.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

__all__ = [
    "LONG_TERM_WORDS",
    "is_long_term",
    "normalise_code",
    "normalise_date",
    "normalise_decimal",
    "normalise_integer",
    "normalise_text",
]

LONG_TERM_WORDS = frozenset({"长期", "长期有效", "永久", "永久有效", "无固定期限", "LONG-TERM"})
_SPACES = re.compile(r"\s+")
_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def _fold(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def normalise_text(value: object) -> str:
    """Trim and collapse runs of white space (full-width spaces included); keep the characters."""
    text = str(value).replace("\u3000", " ")
    return _SPACES.sub(" ", text).strip()


def normalise_code(value: object) -> str:
    """Codes: NFKC (full-width -> half-width), upper case, no spaces or hyphens."""
    return re.sub(r"[\s\-]", "", _fold(value)).upper()


def is_long_term(value: object) -> bool:
    return _fold(value).upper() in LONG_TERM_WORDS


def normalise_date(value: object) -> date:
    """A date from the common forms (ISO datetimes included)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _fold(value)
    try:
        if "T" in text:
            return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    head = text.split(" ")[0]
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(head)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError as exc:
                raise ValueError(f"not a real date ({exc})") from None
    raise ValueError("not a date (expected e.g. 2024-01-08, 20240108, 2024年1月8日)")


def normalise_integer(value: object) -> int:
    text = _fold(value).replace(",", "")
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise ValueError("not a whole number")
    return int(text)


def normalise_decimal(value: object, unit: str | None = None) -> Decimal:
    """A decimal number; thousands separators and the item's unit (e.g. 万元) are removed."""
    text = _fold(value).replace(",", "")
    if unit:
        text = text.removesuffix(unit).strip()
    if not re.fullmatch(r"[+-]?\d{1,18}(\.\d{1,6})?", text):
        raise ValueError(f"not a number{f' in {unit}' if unit else ''}")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError("not a number") from None
