"""Organisation code (组织机构代码, GB 11714-1997): 8 body characters + 1 check character.

The body is digits and upper-case letters; the check character is computed with the weights
3 7 9 10 5 8 4 2 over values 0-9 -> 0..9, A-Z -> 10..35, as C9 = 11 - (sum mod 11), written
``X`` for 10 and ``0`` for 11 (GB 11714-1997 clause 5; STANDARDS.md §5.2).  The same code forms
characters 9-17 of a unified social credit code (GB 32100-2015).
"""

from __future__ import annotations

from ecert.codes._rules import is_valid_with, require_alphabet, require_length
from ecert.codes.iso7064 import MOD_37_36_ALPHABET, clean
from ecert.errors import InvalidChecksum

__all__ = ["BODY_ALPHABET", "CHECK_CHARS", "LENGTH", "WEIGHTS", "calc_check_char", "compact", "is_valid",
           "validate"]  # fmt: skip

LENGTH = 9

#: Body characters and their values: 0-9 -> 0..9, A-Z -> 10..35 (GB 11714-1997; STANDARDS.md §5.2).
BODY_ALPHABET = MOD_37_36_ALPHABET

#: Weights of body positions 1..8 (GB 11714-1997; STANDARDS.md §5.2).
WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

#: Check character for 11 - (sum mod 11) = 1..11: 10 is written 'X' and 11 is written '0'.
CHECK_CHARS = {**{n: str(n) for n in range(1, 10)}, 10: "X", 11: "0"}


def compact(code: str) -> str:
    """Strip spaces and hyphens (``MB034103-2``), upper-case, full-width -> half-width."""
    return clean(code, what="organisation code")


def _check_body(body: str, value: str) -> None:
    require_alphabet(
        body, BODY_ALPHABET, "organisation code body", "a digit or an upper-case letter A-Z", value
    )


def calc_check_char(body: str) -> str:
    """Check character of an 8-character organisation code body (GB 11714-1997)."""
    require_length(body, LENGTH - 1, "organisation code body")
    _check_body(body, body)
    total = sum(BODY_ALPHABET.index(char) * weight for char, weight in zip(body, WEIGHTS, strict=True))
    return CHECK_CHARS[11 - total % 11]


def validate(code: str) -> str:
    """Return the compact organisation code or raise: length 9, charset, check character (GB 11714)."""
    code = compact(code)
    require_length(code, LENGTH, "organisation code", f"{LENGTH} characters (8 body + 1 check)")
    _check_body(code[:-1], code)
    expected = calc_check_char(code[:-1])
    if code[-1] != expected:
        raise InvalidChecksum(
            "organisation code check character does not match",
            value=code,
            position=LENGTH - 1,
            expected=f"check character {expected!r}",
        )
    return code


def is_valid(code: str) -> bool:
    """Whether ``code`` is a valid organisation code."""
    return is_valid_with(validate, code)
