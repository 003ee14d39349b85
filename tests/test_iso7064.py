"""ISO/IEC 7064 MOD 37,36 and MOD 11-2 (ecert.codes.iso7064), with python-stdnum as an oracle."""

from __future__ import annotations

import contextlib
import json
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_11_2, mod_37_36

from ecert.codes.iso7064 import (
    MOD_37_36_ALPHABET,
    clean,
    mod_11_2_calc_check,
    mod_11_2_is_valid,
    mod_37_36_calc_check,
    mod_37_36_is_valid,
)
from ecert.errors import EcertError, InvalidFormat

VECTORS: dict[str, Any] = json.loads((files("ecert") / "spec" / "vectors" / "codes.json").read_text("utf-8"))
M3736 = VECTORS["iso7064_mod_37_36"]
M112 = VECTORS["iso7064_mod_11_2"]

bodies_36 = st.text(alphabet=MOD_37_36_ALPHABET, max_size=80)
bodies_10 = st.text(alphabet="0123456789", min_size=1, max_size=40)


@pytest.mark.parametrize("vector", M3736["valid"], ids=lambda v: v["body"][:20])
def test_mod_37_36_vectors(vector: dict[str, str]) -> None:
    assert mod_37_36_calc_check(vector["body"]) == vector["check"]
    assert mod_37_36_is_valid(vector["body"] + vector["check"])


@pytest.mark.parametrize("vector", M3736["invalid"], ids=lambda v: v["why"])
def test_mod_37_36_invalid_vectors(vector: dict[str, str]) -> None:
    assert not mod_37_36_is_valid(vector["code"])


@pytest.mark.parametrize("vector", M112["valid"], ids=lambda v: v["body"])
def test_mod_11_2_vectors(vector: dict[str, str]) -> None:
    assert mod_11_2_calc_check(vector["body"]) == vector["check"]
    assert mod_11_2_is_valid(vector["body"] + vector["check"])


@pytest.mark.parametrize("vector", M112["invalid"], ids=lambda v: v["why"])
def test_mod_11_2_invalid_vectors(vector: dict[str, str]) -> None:
    assert not mod_11_2_is_valid(vector["code"])


@given(bodies_36)
def test_mod_37_36_matches_stdnum(body: str) -> None:
    check = mod_37_36_calc_check(body)
    assert check == mod_37_36.calc_check_digit(body)
    assert mod_37_36_is_valid(body + check) == mod_37_36.is_valid(body + check) is True


@given(st.text(alphabet=MOD_37_36_ALPHABET, max_size=40))
def test_mod_37_36_is_valid_matches_stdnum(code: str) -> None:
    assert mod_37_36_is_valid(code) == mod_37_36.is_valid(code)


@given(bodies_10)
def test_mod_11_2_matches_stdnum(body: str) -> None:
    check = mod_11_2_calc_check(body)
    assert check == mod_11_2.calc_check_digit(body)
    assert mod_11_2_is_valid(body + check) and mod_11_2.is_valid(body + check)


def test_calc_check_names_the_bad_character() -> None:
    with pytest.raises(InvalidFormat) as info:
        mod_37_36_calc_check("AB-C")
    assert info.value.position == 2
    with pytest.raises(InvalidFormat) as info:
        mod_11_2_calc_check("12X4")
    assert info.value.position == 2


def test_clean_full_width_case_separators() -> None:
    assert clean(" ９１a-b　c ") == "91ABC"
    assert clean("ß") == "ß"  # only ASCII and full-width forms change


@given(st.text())
def test_garbage_never_crashes(text: str) -> None:
    assert isinstance(mod_37_36_is_valid(text), bool)
    assert isinstance(mod_11_2_is_valid(text), bool)
    for calc in (mod_37_36_calc_check, mod_11_2_calc_check):
        with contextlib.suppress(EcertError):
            assert len(calc(text)) == 1


@pytest.mark.parametrize("value", [None, 123, b"0794", ["1"]], ids=repr)
def test_non_text(value: Any) -> None:
    assert mod_11_2_is_valid(value) is False
    assert mod_37_36_is_valid(value) is False
    for calc in (mod_11_2_calc_check, mod_37_36_calc_check):
        with pytest.raises(InvalidFormat, match="must be text"):
            calc(value)
