"""Normalising messy source values: one table per function, valid and invalid side by side."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from ecert.collect.normalise import (
    add_years,
    fold,
    is_long_term,
    normalise_code,
    normalise_date,
    normalise_decimal,
    normalise_integer,
    normalise_text,
)
from ecert.errors import InputError

D = date(2024, 1, 8)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-08", D),
        ("2024/1/8", D),
        ("2024/01/08", D),
        ("20240108", D),
        ("2024年1月8日", D),
        ("2024年01月08日", D),
        ("2024年1月8", D),
        ("2024.01.08", D),
        ("2024-01-08T10:30:00+08:00", D),
        ("2024-01-08T10:30:00Z", D),
        ("2024-01-08 10:30:00", D),
        ("２０２４年１月８日", D),
        ("２０２４－０１－０８", D),
        (" 2024 年 1 月 8 日 ", D),
        (datetime(2024, 1, 8, 23, 59), D),
        (D, D),
    ],
)
def test_dates(raw: object, expected: date) -> None:
    assert normalise_date(raw) == expected


@pytest.mark.parametrize(
    "raw", ["2024-02-30", "2024-13-01", "20241301", "8/1/2024", "明天", "", "2024", "長期", 3.5]
)
def test_not_dates(raw: object) -> None:
    with pytest.raises(InputError) as info:
        normalise_date(raw)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("长期", True),
        ("长期有效", True),
        ("永久", True),
        (" 长 期 ", True),
        ("long-term", True),
        ("9999-12-31", True),
        ("2024-01-08", False),
        ("", False),
        (None, False),
        ({"a": 1}, False),
    ],
)
def test_long_term(raw: object, expected: bool) -> None:
    assert is_long_term(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 91110000600037341l ", "91110000600037341L"),
        ("９１１１００００６０００３７３４１Ｌ", "91110000600037341L"),
        ("9111 0000 6000 3734 1L", "91110000600037341L"),
        ("MB034103-2", "MB0341032"),
        ("11010519491231002x", "11010519491231002X"),
    ],
)
def test_codes(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  北京示例科技有限公司 ", "北京示例科技有限公司"),
        ("北京\u3000示例  科技\n有限公司", "北京 示例 科技 有限公司"),
        ("示例（分公司）", "示例（分公司）"),  # names keep full-width brackets: no NFKC
        ("ＡＢＣ公司", "ＡＢＣ公司"),
        ("a\u00a0b", "a b"),
        (12, "12"),
    ],
)
def test_text(raw: object, expected: str) -> None:
    assert normalise_text(raw) == expected


def test_fold_is_nfkc() -> None:
    assert fold(" （京）ＪＺ１２ ") == "(京)JZ12"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,200", 1200), ("１２００", 1200), ("-3", -3), (7, 7), ("1 200", 1200)],
)
def test_integers(raw: object, expected: int) -> None:
    assert normalise_integer(raw) == expected


@pytest.mark.parametrize("raw", ["1.5", "abc", "", True, "1" * 19])
def test_not_integers(raw: object) -> None:
    with pytest.raises(InputError):
        normalise_integer(raw)


@pytest.mark.parametrize(
    ("raw", "unit", "expected"),
    [
        ("1,000万元", "万元", Decimal(1000)),
        ("10,000,000元", "万元", Decimal(1000)),
        ("0.1亿元", "万元", Decimal(1000)),
        ("1000", "万元", Decimal(1000)),
        ("１，０００万元", "万元", Decimal(1000)),
        ("100万元人民币", "万元", Decimal(100)),
        ("2.5万", "万元", Decimal("2.5")),
        ("12.50", None, Decimal("12.50")),
        ("35万元", "元", Decimal(350000)),
        (12.5, "万元", Decimal("12.5")),
        ("3平方米", "平方米", Decimal(3)),
    ],
)
def test_decimals(raw: object, unit: str | None, expected: Decimal) -> None:
    value = normalise_decimal(raw, unit)
    assert value == expected
    assert "E" not in str(value)


@pytest.mark.parametrize(
    ("raw", "unit"), [("abc", "万元"), ("1.2.3", None), ("5美元", "万元"), ("3米", "平方米"), ("", None)]
)
def test_not_decimals(raw: str, unit: str | None) -> None:
    with pytest.raises(InputError):
        normalise_decimal(raw, unit)


@pytest.mark.parametrize("raw", [[1], {"a": 1}, None, object()])
def test_non_scalars_are_input_errors(raw: object) -> None:
    for func in (normalise_text, normalise_code, normalise_date, normalise_integer, normalise_decimal):
        with pytest.raises(InputError):
            func(raw)


@pytest.mark.parametrize(
    ("start", "years", "end"),
    [
        (date(2024, 1, 8), 3, date(2027, 1, 7)),
        (date(2024, 3, 1), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 5, date(2029, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 28)),
        (date(2023, 12, 31), 5, date(2028, 12, 30)),
    ],
)
def test_add_years(start: date, years: int, end: date) -> None:
    assert add_years(start, years) == end


def test_add_years_past_9999_is_an_input_error() -> None:
    """An issue date near 9999 plus the validity period cannot be a date: say so, no bare ValueError."""
    assert add_years(date(9996, 12, 31), 3) == date(9999, 12, 30)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    for start, years in ((date(9999, 6, 1), 3), (date(1, 1, 1), 0)):
        with pytest.raises(InputError, match="would end"):
            add_years(start, years)


@pytest.mark.parametrize("convert", [fold, normalise_text, normalise_code, normalise_date, normalise_integer])
def test_an_int_too_large_to_print_is_an_input_error(convert: object) -> None:
    with pytest.raises(InputError) as info:
        convert(10**5000)  # type: ignore[operator]
    assert "bits" in str(info.value) and len(str(info.value)) < 200
