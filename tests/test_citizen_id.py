"""Citizen identity number, GB 11643-1999 (ecert.codes.citizen_id), with python-stdnum as an oracle."""

from __future__ import annotations

import contextlib
import datetime
import json
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from ecert import errors
from ecert.codes import citizen_id, division

VECTORS: dict[str, Any] = json.loads((files("ecert") / "spec" / "vectors" / "codes.json").read_text("utf-8"))
CID = VECTORS["citizen_id"]
TODAY = datetime.date.fromisoformat(CID["today"])


@pytest.mark.parametrize("vector", CID["valid"], ids=lambda v: v["code"])
def test_valid_and_info(vector: dict[str, str]) -> None:
    code = vector["code"]
    assert citizen_id.validate(code, today=TODAY) == code
    assert citizen_id.calc_check_char(code[:-1]) == code[-1]
    info = citizen_id.info(code, today=TODAY)
    assert info.region == vector["region"]
    assert info.birth_date.isoformat() == vector["birth_date"]
    assert (info.sequence, info.sex) == (vector["sequence"], vector["sex"])
    # the oracle's checksum agrees (its is_valid also consults its own place table)
    assert ric.calc_check_digit(code) == code[-1]


@pytest.mark.parametrize("vector", CID["invalid"], ids=lambda v: v["code"])
def test_invalid(vector: dict[str, Any]) -> None:
    with pytest.raises(getattr(errors, vector["error"])) as info:
        citizen_id.validate(vector["code"], today=TODAY)
    assert info.value.position == vector["position"]
    if "expected_check" in vector:
        assert info.value.expected == f"check character {vector['expected_check']!r}"
    assert not citizen_id.is_valid(vector["code"], today=TODAY)


@pytest.mark.parametrize("vector", CID["to_18"], ids=lambda v: v["id15"])
def test_to_18(vector: dict[str, str]) -> None:
    assert citizen_id.to_18(vector["id15"]) == vector["code"]


def test_to_18_rejects_bad_input() -> None:
    with pytest.raises(errors.InvalidLength):
        citizen_id.to_18("11010519491231002X")
    with pytest.raises(errors.InvalidComponent):
        citizen_id.to_18("110105490231002")  # 31 February 1949


def test_lower_case_x_and_full_width() -> None:
    assert citizen_id.validate("11010519491231002x") == "11010519491231002X"
    assert citizen_id.validate("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"


def test_today_bounds_birth_date() -> None:
    code = "11010519491231002X"
    assert not citizen_id.is_valid(code, today=datetime.date(1949, 12, 30))
    assert citizen_id.is_valid(code, today=datetime.date(1949, 12, 31))


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_matches_stdnum(body: str) -> None:
    assert citizen_id.calc_check_char(body) == ric.calc_check_digit(body + "0")


@st.composite
def citizen_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(division.PROVINCES)))
    born = draw(st.dates(min_value=datetime.date(1800, 1, 1), max_value=TODAY))
    body = province + draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    body += born.strftime("%Y%m%d") + draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    return body + citizen_id.calc_check_char(body)


@given(citizen_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_single_substitution_detected(code: str, position: int, other: str) -> None:
    assert citizen_id.is_valid(code, today=TODAY)
    changed = code[:position] + other + code[position + 1 :]
    if changed != code:
        assert not citizen_id.is_valid(changed, today=TODAY)


@given(st.one_of(st.text(), st.text(alphabet="0123456789Xx -", max_size=20)))
def test_garbage(text: str) -> None:
    for function in (citizen_id.validate, citizen_id.info, citizen_id.to_18):
        with contextlib.suppress(errors.EcertError):
            function(text)


@pytest.mark.parametrize("value", [None, 123, b"11010519491231002X", ["1"]], ids=repr)
def test_non_text_is_an_invalid_code(value: Any) -> None:
    for function in (citizen_id.validate, citizen_id.info, citizen_id.to_18):
        with pytest.raises(errors.InvalidFormat, match="citizen ID number must be text"):
            function(value)
    with pytest.raises(errors.InvalidFormat, match="citizen ID body must be text"):
        citizen_id.calc_check_char(value)
    assert not citizen_id.is_valid(value)


@pytest.mark.parametrize("today", [datetime.datetime(2020, 1, 1), "2020-01-01", 20200101], ids=repr)
def test_today_must_be_a_date(today: Any) -> None:
    """A datetime is refused too: its date depends on its time zone, so the caller picks .date()."""
    for function in (citizen_id.validate, citizen_id.info, citizen_id.is_valid):
        with pytest.raises(errors.InputError, match="today must be a date") as info:
            function("11010519491231002X", today=today)
        assert info.value.where == "today"
