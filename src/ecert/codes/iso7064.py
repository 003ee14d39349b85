"""ISO/IEC 7064 check character systems (GB/T 17710-2008) used by the e-certificate standards.

* MOD 37,36 (hybrid, alphabet ``0-9A-Z``): the check character of an e-certificate identifier,
  GB/T 36904 (STANDARDS.md §3); the same algorithm as python-stdnum's ``stdnum.iso7064.mod_37_36``.
* MOD 11-2 (pure, digits, check ``0-9X``): the check character of the citizen identity number,
  GB 11643-1999 (STANDARDS.md §5.3).

This module also holds :func:`clean`, the one text normaliser every code module uses, because it
is the lowest module of :mod:`ecert.codes` (GB 32100, GB 11643 and GB 11714 modules build on it).
"""

from __future__ import annotations

from ecert.errors import InvalidFormat

__all__ = [
    "MOD_11_2_CHECKS",
    "MOD_37_36_ALPHABET",
    "clean",
    "mod_11_2_calc_check",
    "mod_11_2_is_valid",
    "mod_37_36_calc_check",
    "mod_37_36_is_valid",
    "require_text",
]

#: ISO/IEC 7064 MOD 37,36 alphabet: 0-9 -> 0..9, A-Z -> 10..35 (GB/T 17710-2008; STANDARDS.md §3).
MOD_37_36_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M36 = 36
_VALUE_36 = {c: i for i, c in enumerate(MOD_37_36_ALPHABET)}

#: ISO/IEC 7064 MOD 11-2 check characters for the values 0..10 (10 is written 'X').
MOD_11_2_CHECKS = "0123456789X"
_DIGITS = "0123456789"

# --- text normalisation --------------------------------------------------------------------------

# Full-width forms U+FF01..U+FF5E are ASCII U+0021..U+007E shifted by 0xFEE0; U+3000 is the
# ideographic space.  Lower-case ASCII letters (either width) become upper-case.  Only these
# characters change: other non-ASCII text is left alone so that validation can point at it.
_FULL_WIDTH_OFFSET = 0xFEE0
_CLEAN_TABLE: dict[int, int | None] = {}
for _code in range(0x21, 0x7F):
    _ascii = chr(_code).upper()
    _CLEAN_TABLE[_code + _FULL_WIDTH_OFFSET] = ord(_ascii)
    if _ascii != chr(_code):
        _CLEAN_TABLE[_code] = ord(_ascii)
_CLEAN_TABLE[0x3000] = ord(" ")
del _code, _ascii

_SEPARATORS = " -"


def require_text(code: object, what: str = "code") -> str:
    """Return ``code`` if it is a ``str``, else raise :class:`InvalidFormat`.

    Codes often arrive as JSON or CSV values (``None``, numbers, lists); refusing them here gives
    an :class:`~ecert.errors.InvalidCode` instead of an ``AttributeError`` deep inside.
    """
    if not isinstance(code, str):
        raise InvalidFormat(f"{what} must be text, not {type(code).__name__}", value=code, expected="a str")
    return code


def clean(code: str, separators: str = _SEPARATORS, *, what: str = "code") -> str:
    """Return ``code`` with full-width forms made half-width, upper-cased, separators removed.

    Used by every ``compact`` of :mod:`ecert.codes` (the shape python-stdnum's ``util.clean`` has).
    Raises :class:`InvalidFormat` if ``code`` is not a ``str`` (``what`` names it in the message).
    """
    text = require_text(code, what).translate(_CLEAN_TABLE).strip()
    for separator in separators:
        text = text.replace(separator, "")
    return text


# --- MOD 37,36 -------------------------------------------------------------------------------------


def _values_36(text: str) -> list[int]:
    values = []
    for position, char in enumerate(require_text(text)):
        value = _VALUE_36.get(char)
        if value is None:
            raise InvalidFormat(
                "character outside the ISO/IEC 7064 MOD 37,36 alphabet",
                value=text,
                position=position,
                expected="a digit or an upper-case letter A-Z",
            )
        values.append(value)
    return values


def _mod_37_36_run(values: list[int]) -> tuple[int, int]:
    """Run the hybrid-system recursion; return the last ``S`` and ``P`` (ISO/IEC 7064, MOD M+1,M)."""
    product = state = _M36
    for value in values:
        state = (product + value) % _M36 or _M36
        product = (2 * state) % (_M36 + 1)
    return state, product


def mod_37_36_calc_check(body: str) -> str:
    """Check character for ``body`` per ISO/IEC 7064 MOD 37,36 (GB/T 17710), as GB/T 36904 requires."""
    _, product = _mod_37_36_run(_values_36(body))
    return MOD_37_36_ALPHABET[(_M36 + 1 - product) % _M36]


def mod_37_36_is_valid(code: str) -> bool:
    """Whether ``code`` (body + check character) passes ISO/IEC 7064 MOD 37,36 (final ``S`` is 1)."""
    if not code or not isinstance(code, str):
        return False
    try:
        values = _values_36(code)
    except InvalidFormat:
        return False
    return _mod_37_36_run(values)[0] == 1


# --- MOD 11-2 --------------------------------------------------------------------------------------


def _digits(text: str) -> list[int]:
    values = []
    for position, char in enumerate(require_text(text)):
        if char not in _DIGITS:
            raise InvalidFormat(
                "ISO/IEC 7064 MOD 11-2 body must be digits",
                value=text,
                position=position,
                expected="a digit 0-9",
            )
        values.append(ord(char) - ord("0"))
    return values


def mod_11_2_calc_check(body: str) -> str:
    """Check character for a digit ``body`` per ISO/IEC 7064 MOD 11-2 (GB 11643-1999 clause 5)."""
    product = 0
    for value in _digits(body):
        product = ((product + value) * 2) % 11
    return MOD_11_2_CHECKS[(12 - product) % 11]


def mod_11_2_is_valid(code: str) -> bool:
    """Whether ``code`` (digits + check ``0-9`` or ``X``) passes ISO/IEC 7064 MOD 11-2."""
    if not isinstance(code, str) or len(code) < 2 or code[-1] not in MOD_11_2_CHECKS:
        return False
    try:
        return mod_11_2_calc_check(code[:-1]) == code[-1]
    except InvalidFormat:
        return False
