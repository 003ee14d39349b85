"""Unified social credit code, GB 32100-2015 (ecert.codes.uscc), and ecert.codes.detect/validate_any."""

from __future__ import annotations

import contextlib
import json
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecert import errors
from ecert.codes import KINDS, detect, division, uscc, validate_any

VECTORS: dict[str, Any] = json.loads((files("ecert") / "spec" / "vectors" / "codes.json").read_text("utf-8"))
USCC = VECTORS["uscc"]
VALID = [v["code"] for v in USCC["valid"]]


@pytest.mark.parametrize("vector", USCC["valid"], ids=lambda v: v["code"])
def test_valid_and_info(vector: dict[str, Any]) -> None:
    code = vector["code"]
    assert uscc.validate(code) == code
    assert uscc.calc_check_char(code[:-1]) == code[-1]
    info = uscc.info(code)
    assert (info.authority, info.category) == (code[0], code[1])
    for name in ("authority_name", "category_name", "region", "org_code", "org_code_valid"):
        assert getattr(info, name) == vector[name], name


@pytest.mark.parametrize("vector", USCC["compact"], ids=lambda v: v["source"])
def test_compact(vector: dict[str, str]) -> None:
    assert uscc.validate(vector["input"]) == vector["code"]


@pytest.mark.parametrize("vector", USCC["invalid"], ids=lambda v: v["code"])
def test_invalid(vector: dict[str, Any]) -> None:
    with pytest.raises(getattr(errors, vector["error"])) as info:
        uscc.validate(vector["code"])
    assert info.value.position == vector["position"]
    assert info.value.value == vector["code"]
    if "expected_check" in vector:
        assert info.value.expected == f"check character {vector['expected_check']!r}"
    assert not uscc.is_valid(vector["code"])


def test_letter_prefixed_authorities_accepted() -> None:
    # python-stdnum's cn.uscc rejects these (STANDARDS.md §5.1 pitfall)
    for authority in "ANY":
        body = authority + "1110000MA0000001"
        code = body + uscc.calc_check_char(body)
        assert uscc.validate(code) == code
        assert uscc.info(code).authority_name == uscc.AUTHORITIES[authority]


def test_unknown_category_has_no_name_and_bad_org_code_is_reported() -> None:
    body = "97110000600037342"  # category 7 is not defined for 工商; embedded org code check is wrong
    info = uscc.info(body + uscc.calc_check_char(body))
    assert info.category_name is None
    assert info.org_code_valid is False


def test_weights_are_powers_of_three() -> None:
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    body = (
        draw(st.sampled_from(sorted(uscc.AUTHORITIES)))
        + draw(st.sampled_from(uscc.CHARSET))
        + draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
        + draw(st.text(alphabet=uscc.CHARSET, min_size=9, max_size=9))
    )
    return body + uscc.calc_check_char(body)


@pytest.mark.parametrize("code", VALID)
def test_every_single_substitution_detected_in_real_codes(code: str) -> None:
    for position, char in enumerate(code):
        for other in uscc.CHARSET.replace(char, ""):
            assert not uscc.is_valid(code[:position] + other + code[position + 1 :]), (position, other)


@given(usccs(), st.integers(0, 17), st.sampled_from(uscc.CHARSET))
def test_single_substitution_detected(code: str, position: int, other: str) -> None:
    assert uscc.is_valid(code)
    changed = code[:position] + other + code[position + 1 :]
    assert uscc.is_valid(changed) == (changed == code)


@given(st.one_of(st.text(), st.text(alphabet=uscc.CHARSET + " -ＡＢ０１", max_size=20)))
def test_garbage(text: str) -> None:
    for validate in (uscc.validate, division.validate):
        with contextlib.suppress(errors.EcertError):
            validate(text)
    with contextlib.suppress(errors.EcertError):
        uscc.info(text)


def test_huge_input() -> None:
    with pytest.raises(errors.InvalidLength):
        uscc.validate("9" * 1_000_000)


# --- ecert.codes.detect / validate_any (the USCC is the ambiguous 18-character kind) --------------


@pytest.mark.parametrize(
    ("code", "kinds"),
    [
        ("91110000600037341L", ("uscc",)),
        ("11010519491231002X", ("citizen-id",)),
        ("MB034103-2", ("org-code",)),
        ("91110000600037341M", ()),
        ("", ()),
    ],
)
def test_detect(code: str, kinds: tuple[str, ...]) -> None:
    assert detect(code) == kinds
    if kinds:
        assert validate_any(code) == (kinds[0], KINDS[kinds[0]].compact(code))


def test_validate_any_reports_the_most_relevant_error() -> None:
    with pytest.raises(errors.InvalidChecksum) as info:
        validate_any("91110000600037341M")
    assert info.value.expected == "check character 'L'"
    with pytest.raises(errors.InvalidChecksum) as info:
        validate_any("110105194912310021")  # a citizen ID with a wrong check digit
    assert info.value.expected == "check character 'X'"
    with pytest.raises(errors.InvalidLength):
        validate_any("1234")


@given(st.text())
def test_detect_garbage(text: str) -> None:
    kinds = detect(text)
    try:
        kind, _ = validate_any(text)
        assert kind == kinds[0]
    except errors.EcertError:
        assert kinds == ()


@pytest.mark.parametrize("value", [None, 123, b"91110000600037341M", ["1"]], ids=repr)
def test_non_text_is_an_invalid_code(value: Any) -> None:
    """Codes often arrive as JSON values: refused as InvalidFormat naming the code, never AttributeError."""
    for validate in (uscc.validate, division.validate, validate_any):
        with pytest.raises(errors.InvalidFormat, match="must be text"):
            validate(value)
    with pytest.raises(errors.InvalidFormat, match="unified social credit code must be text"):
        uscc.validate(value)
    with pytest.raises(errors.InvalidFormat, match="body must be text"):
        uscc.calc_check_char(value)
    assert not uscc.is_valid(value)
    assert not division.is_valid(value)
    assert detect(value) == ()
