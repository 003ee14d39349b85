"""Checks every code scheme makes, with the same error shape (what, position, expected)."""

from __future__ import annotations

from collections.abc import Callable, Container

from ecert.codes.iso7064 import require_text
from ecert.errors import InvalidCode, InvalidFormat, InvalidLength

__all__ = ["is_valid_with", "require_alphabet", "require_length"]


def require_length(text: str, length: int, what: str, expected: str | None = None) -> None:
    """``text`` must have ``length`` characters; the error points just past the shorter part."""
    if len(require_text(text, what)) != length:
        raise InvalidLength(
            f"{what} has the wrong length",
            value=text,
            position=min(len(text), length),
            expected=expected or f"{length} characters",
        )


def require_alphabet(text: str, alphabet: Container[str], what: str, expected: str, value: str) -> None:
    """Every character of ``text`` must be in ``alphabet``; the error names the first that is not."""
    for position, char in enumerate(require_text(text, what)):
        if char not in alphabet:
            raise InvalidFormat(
                f"{what} character not allowed", value=value, position=position, expected=expected
            )


def is_valid_with(validate: Callable[[str], str], code: str) -> bool:
    """``validate(code)`` as a yes/no answer (python-stdnum's ``is_valid`` shape)."""
    try:
        validate(code)
    except InvalidCode:
        return False
    return True
