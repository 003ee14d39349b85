"""Certificate status codes per profile: real systems disagree on them (STANDARDS.md §1).

Two MOHURD specifications number the same statuses differently, so codes are never
hard-wired: a certificate type names its profile, and profiles map codes to meanings.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ecert.errors import InputError

__all__ = ["StatusMeaning", "StatusProfile", "get_status_profile", "register_status_profile"]


class StatusMeaning(enum.Enum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class StatusProfile:
    """Status code -> (Chinese label, meaning)."""

    name: str
    codes: Mapping[str, tuple[str, StatusMeaning]]

    def meaning(self, code: str) -> StatusMeaning:
        return self.codes[code][1]

    def code_for(self, meaning: StatusMeaning) -> str:
        return next(c for c, (_l, m) in self.codes.items() if m is meaning)


_V, _S, _R, _C, _E, _O = (
    StatusMeaning.VALID,
    StatusMeaning.SUSPENDED,
    StatusMeaning.REVOKED,
    StatusMeaning.CANCELLED,
    StatusMeaning.EXPIRED,
    StatusMeaning.OTHER,
)
MOHURD_A = StatusProfile(
    "mohurd-a",
    MappingProxyType(
        {
            "01": ("有效", _V),
            "02": ("暂扣", _S),
            "03": ("撤销", _R),
            "04": ("注销", _C),
            "05": ("失效", _E),
            "06": ("办理转出", _O),
            "07": ("吊销", _R),
            "99": ("其他", _O),
        }
    ),
)
MOHURD_B = StatusProfile(
    "mohurd-b",
    MappingProxyType(
        {
            "01": ("有效", _V),
            "02": ("暂扣", _S),
            "03": ("吊销", _R),
            "04": ("撤销", _R),
            "05": ("注销", _C),
            "06": ("失效", _E),
            "99": ("其他", _O),
        }
    ),
)
_PROFILES: dict[str, StatusProfile] = {
    "default": StatusProfile("default", MOHURD_A.codes),
    MOHURD_A.name: MOHURD_A,
    MOHURD_B.name: MOHURD_B,
}


def register_status_profile(profile: StatusProfile) -> None:
    _PROFILES[profile.name] = profile


def get_status_profile(name: str) -> StatusProfile:
    try:
        return _PROFILES[name]
    except KeyError:
        raise InputError(
            "unknown status profile", value=name, expected=", ".join(sorted(_PROFILES))
        ) from None
