"""Organisation code, GB 11714-1997 (ecert.codes.org_code)."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecert import errors
from ecert.codes import org_code

VECTORS: dict[str, Any] = json.loads((files("ecert") / "spec" / "vectors" / "codes.json").read_text("utf-8"))
ORG = VECTORS["org_code"]


@pytest.mark.parametrize("code", ORG["valid"])
def test_valid(code: str) -> None:
    assert org_code.validate(code) == code
    assert org_code.calc_check_char(code[:-1]) == code[-1]
    assert org_code.is_valid(code)


@pytest.mark.parametrize("vector", ORG["compact"], ids=lambda v: v["input"])
def test_compact(vector: dict[str, str]) -> None:
    assert org_code.validate(vector["input"]) == vector["code"]


@pytest.mark.parametrize("vector", ORG["invalid"], ids=lambda v: v["code"])
def test_invalid(vector: dict[str, Any]) -> None:
    with pytest.raises(getattr(errors, vector["error"])) as info:
        org_code.validate(vector["code"])
    assert info.value.position == vector["position"]
    if "expected_check" in vector:
        assert info.value.expected == f"check character {vector['expected_check']!r}"
    assert not org_code.is_valid(vector["code"])


def test_check_values_10_and_11() -> None:
    # 11 - (sum mod 11) == 10 -> 'X' and == 11 -> '0' (GB 11714-1997; STANDARDS.md §5.2)
    assert org_code.calc_check_char("00001332") == "X"
    assert org_code.calc_check_char("00000000") == "0"


@given(st.text(max_size=40))
def test_garbage(text: str) -> None:
    try:
        assert org_code.is_valid(org_code.validate(text))
    except errors.EcertError:
        assert not org_code.is_valid(text)


@pytest.mark.parametrize("value", [None, 123, b"MB0341032", ["1"]], ids=repr)
def test_non_text_is_an_invalid_code(value: Any) -> None:
    with pytest.raises(errors.InvalidFormat, match="organisation code must be text"):
        org_code.validate(value)
    with pytest.raises(errors.InvalidFormat, match="organisation code body must be text"):
        org_code.calc_check_char(value)
    assert not org_code.is_valid(value)
