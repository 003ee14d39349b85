"""Check-character codes of the e-certificate standards, in python-stdnum's shape.

One module per code: :mod:`~ecert.codes.uscc` (GB 32100), :mod:`~ecert.codes.citizen_id`
(GB 11643), :mod:`~ecert.codes.org_code` (GB 11714), :mod:`~ecert.codes.division` (GB/T 2260
shape) and :mod:`~ecert.codes.iso7064` (the ISO/IEC 7064 check systems).  Each offers
``compact``, ``validate`` (returns the compact code or raises an :class:`~ecert.errors.InvalidCode`
subclass) and ``is_valid``.  This module tells which kind of code a string is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

from ecert.codes import citizen_id, division, iso7064, org_code, uscc
from ecert.errors import InvalidChecksum, InvalidCode, InvalidComponent, InvalidFormat, InvalidLength

__all__ = [
    "KINDS",
    "CodeScheme",
    "citizen_id",
    "detect",
    "division",
    "iso7064",
    "org_code",
    "uscc",
    "validate_any",
]


class CodeScheme(Protocol):
    """What every code module offers (python-stdnum's module shape)."""

    def compact(self, code: str) -> str: ...

    def validate(self, code: str) -> str: ...

    def is_valid(self, code: str) -> bool: ...


#: Holder and issuer codes by kind name, in the order :func:`detect` reports them.
KINDS: Mapping[str, CodeScheme] = MappingProxyType(
    {"uscc": uscc, "citizen-id": citizen_id, "org-code": org_code}
)

_LENGTHS = {"uscc": uscc.LENGTH, "citizen-id": citizen_id.LENGTH, "org-code": org_code.LENGTH}

# how far validation got before failing: a failed checksum says more than a wrong character
_RANK: dict[type[InvalidCode], int] = {
    InvalidLength: 0,
    InvalidFormat: 1,
    InvalidComponent: 2,
    InvalidChecksum: 3,
}


def detect(code: str) -> tuple[str, ...]:
    """Kinds (``'uscc'``, ``'citizen-id'``, ``'org-code'``) for which ``code`` is valid."""
    return tuple(kind for kind, scheme in KINDS.items() if scheme.is_valid(code))


# on a tie, the kind whose validation checks more structure before its checksum wins: an
# 18-digit string that reaches the citizen-ID checksum has passed a region and a birth date
_SPECIFICITY = {"uscc": 0, "org-code": 1, "citizen-id": 2}


def _relevance(kind: str, error: InvalidCode) -> tuple[int, int, int]:
    position = error.position if error.position is not None else -1
    return _RANK.get(type(error), 0), position, _SPECIFICITY[kind]


def validate_any(code: str) -> tuple[str, str]:
    """Return ``(kind, compact code)`` for the first kind ``code`` is valid as, or raise.

    The error raised is the one of the kind whose validation got furthest (same length, then
    checksum > component > format, then the later position, then citizen ID > organisation code >
    USCC), so that ``91110000600037341M`` reports the USCC check character rather than "not a
    citizen ID", and ``110105194912310021`` the citizen ID's.
    """
    errors: list[tuple[str, InvalidCode]] = []
    compact = iso7064.clean(code)
    for kind, scheme in KINDS.items():
        if len(compact) != _LENGTHS[kind]:
            continue
        try:
            return kind, scheme.validate(code)
        except InvalidCode as exc:
            errors.append((kind, exc))
    if not errors:
        lengths = sorted(set(_LENGTHS.values()), reverse=True)
        raise InvalidLength(
            "not a unified social credit code, citizen ID number or organisation code",
            value=compact,
            position=min(len(compact), max(lengths)),
            expected=" or ".join(str(n) for n in lengths) + " characters",
        )
    raise max(errors, key=lambda item: _relevance(*item))[1]
