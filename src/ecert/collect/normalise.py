"""Normalising raw values from source systems: pure functions, each raising ``InputError`` with a reason.

Source records are messy: full-width digits typed with a Chinese input method (２０２４), dates as
2024年1月8日 or 2024/1/8, codes in lower case with spaces, money with thousands separators and
units.  Only codes, dates and numbers are folded with NFKC; names and free text keep their
characters (NFKC would also rewrite e.g. full-width brackets in 有限公司（分公司）, which are part of
the registered name), they are only trimmed and have their white space collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from ecert.catalog import DataItemSpec
from ecert.codes import KINDS, division
from ecert.errors import InputError
from ecert.metadata import LONG_TERM

ItemValue = str | date | int | Decimal

__all__ = [
    "LONG_TERM_WORDS",
    "UNIT_FACTORS",
    "add_years",
    "fold",
    "is_long_term",
    "item_value",
    "normalise_code",
    "normalise_date",
    "normalise_decimal",
    "normalise_integer",
    "normalise_text",
]

#: Words real records use for "no end date" (compared after NFKC, upper-cased).
LONG_TERM_WORDS = frozenset(
    {
        "长期",
        "长期有效",
        "永久",
        "永久有效",
        "无固定期限",
        "无期限",
        "LONG-TERM",
        "LONGTERM",
        "9999-12-31",
        "99991231",
    }
)
#: Money units and their factor to 元, so that an amount given in one unit can be kept in another.
UNIT_FACTORS: dict[str, Decimal] = {
    "元": Decimal(1),
    "万元": Decimal(10_000),
    "亿元": Decimal(100_000_000),
    "万": Decimal(10_000),
    "亿": Decimal(100_000_000),
}
_SPACES = re.compile(r"\s+")
_DATE = re.compile(r"(\d{4})(?:[-/.]|年)(\d{1,2})(?:[-/.]|月)(\d{1,2})日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME_TAIL = re.compile(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?")
_NUMBER = re.compile(r"[+-]?\d{1,18}(\.\d{1,8})?")
_DATE_EXPECTED = "a date such as 2024-01-08, 2024/1/8, 20240108, 2024.01.08 or 2024年1月8日"


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise InputError("must be a single text or number value", value=type(value).__name__)
    try:
        return str(value)
    except ValueError:  # an int over sys.get_int_max_str_digits() digits cannot even be printed
        raise InputError("not a single text value: a number too large to print", value=_size(value)) from None


def _size(value: object) -> str:
    """What a value is, for a message, without printing it (a huge int cannot be printed)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"an integer of {value.bit_length()} bits"
    return type(value).__name__


def fold(value: object) -> str:
    """NFKC (full-width digits, letters and punctuation -> half-width), trimmed."""
    return unicodedata.normalize("NFKC", _text(value)).strip()


def normalise_text(value: object) -> str:
    """Trim and collapse runs of white space (full-width and no-break spaces too); keep the characters."""
    return _SPACES.sub(" ", _text(value).replace("\u3000", " ").replace("\u00a0", " ")).strip()


def normalise_code(value: object) -> str:
    """Codes: NFKC (full-width -> half-width), upper case, no spaces or hyphens."""
    return re.sub(r"[\s\-]", "", fold(value)).upper()


def is_long_term(value: object) -> bool:
    """Whether ``value`` says "no end date" (长期, 永久, 长期有效, 9999-12-31...)."""
    try:
        return re.sub(r"\s", "", fold(value)).upper() in LONG_TERM_WORDS
    except InputError:
        return False


def normalise_date(value: object) -> date:
    """A date from the common forms: ISO, slashes, dots, compact, 年月日, ISO date-times."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = re.sub(r"\s*([-/.年月日])\s*", r"\1", fold(value))
    head = _TIME_TAIL.sub("", text, count=1) if _TIME_TAIL.search(text) else text
    m = _DATE.fullmatch(head) or _COMPACT_DATE.fullmatch(head)
    if m is None:
        raise InputError("not a date", value=_quote(text), expected=_DATE_EXPECTED)
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise InputError(f"not a real date ({exc})", value=_quote(text), expected=_DATE_EXPECTED) from None


def normalise_integer(value: object) -> int:
    """A whole number; thousands separators (, ，and spaces) are removed."""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**18:  # the same 18-digit bound as text, so the value can always be shown
            raise InputError("not a whole number of at most 18 digits", value=_size(value))
        return value
    text = re.sub(r"[,\s]", "", fold(value))
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise InputError("not a whole number", value=_quote(text), expected="digits, e.g. 1,200")
    return int(text)


def normalise_decimal(value: object, unit: str | None = None) -> Decimal:
    """A decimal number kept in ``unit``; separators go, and a money unit given is converted.

    ``"1,000万元"``, ``"10000000元"`` and ``"0.1亿元"`` all give ``Decimal("1000")`` for unit 万元;
    an amount without a unit is taken to be in ``unit`` already.
    """
    if isinstance(value, float):
        value = Decimal(repr(value))
    text = re.sub(r"[,\s]", "", fold(value))
    text = text.removeprefix("人民币").removesuffix("人民币").removesuffix("整")
    given = next((u for u in sorted(UNIT_FACTORS, key=len, reverse=True) if text.endswith(u)), None)
    if given is None and unit and text.endswith(unit):
        given = unit
    number = text[: len(text) - len(given)] if given else text
    expected = f"a number{f' in {unit}' if unit else ''}, e.g. 1,200.50"
    if not _NUMBER.fullmatch(number):
        raise InputError("not a number", value=_quote(text), expected=expected)
    try:
        amount = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise InputError("not a number", value=_quote(text), expected=expected) from None
    if given is None or given == unit:
        return amount
    if unit in UNIT_FACTORS and given in UNIT_FACTORS:
        return _plain(amount * UNIT_FACTORS[given] / UNIT_FACTORS[unit])
    raise InputError(f"given in {given}", value=_quote(text), expected=expected)


def item_value(item: DataItemSpec, raw: object) -> tuple[ItemValue, str]:
    """(typed value, display text) of one data item per its spec, or an error saying why not."""
    if item.type == "date":
        if is_long_term(raw):
            return LONG_TERM, LONG_TERM
        d = normalise_date(raw)
        return d, f"{d.year}年{d.month}月{d.day}日"
    if item.type == "integer":
        n = normalise_integer(raw)
        return n, f"{n}{item.unit or ''}"
    if item.type == "decimal":
        v = normalise_decimal(raw, item.unit)
        return v, f"{v}{item.unit or ''}"
    if item.type == "code":
        code = normalise_code(raw)
        scheme = division if item.code_kind == "division" else KINDS[item.code_kind or "uscc"]
        return scheme.validate(code), code
    text = normalise_code(raw) if item.name == "holder_code" else normalise_text(raw)
    if item.name == "number":  # certificate numbers are codes: half-width, no white space
        text = re.sub(r"\s", "", fold(raw))
    if item.type == "enum":
        for code, label in item.choices:
            if text in (code, label):
                return code, label
        raise InputError(
            "not one of the choices", value=text, expected=", ".join(f"{c} {lab}" for c, lab in item.choices)
        )
    return text, text


def add_years(start: date, years: int) -> date:
    """The day before the same date ``years`` later (29 February -> 28 February).

    An end past 9999-12-31 (the last date Python and the metadata can hold) is an ``InputError``,
    not a bare ``ValueError``, so a far-off start date is reported as a problem of the record.
    """
    year = start.year + years
    if 1 <= year <= 9999:
        try:
            return start.replace(year=year) - timedelta(days=1)
        except ValueError:  # 29 February into a common year: the period ends on 28 February
            return start.replace(year=year, day=28)
        except OverflowError:  # 0001-01-01 has no day before it
            pass
    limit = "after 9999-12-31" if year > 1 else "before 0001-01-01"
    raise InputError(
        f"{years} years from {start.isoformat()} would end {limit}",
        value=start.isoformat(),
        expected="a validity period between 0001-01-01 and 9999-12-31",
    )


def _plain(d: Decimal) -> Decimal:
    """``d`` without an exponent or trailing zeros (1E+3 -> 1000, 12.50 -> 12.5)."""
    if d == d.to_integral_value():
        return d.quantize(Decimal(1))
    return d.normalize()


def _quote(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
