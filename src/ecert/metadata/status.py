"""Certificate status codes per profile, because real systems disagree on them (STANDARDS.md §1).

Two MOHURD data-push specifications number the same statuses differently (list A: 03 撤销,
07 吊销; list B: 03 吊销, 04 撤销), and GB/T 36903 as seen in implementations names a
证照状态代码 element without one agreed code list [U].  So codes are never hard-wired: a
certificate type names its profile, a profile maps each code to a Chinese label and to a
profile-independent :class:`StatusMeaning`, and other modules (the registry) only speak meanings.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ecert.errors import InputError

__all__ = [
    "MOHURD_A",
    "MOHURD_B",
    "StatusMeaning",
    "StatusProfile",
    "get_status_profile",
    "register_status_profile",
    "status_profiles",
]


class StatusMeaning(enum.Enum):
    """What a status code means, whatever profile numbered it (values are stable strings)."""

    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class StatusProfile:
    """A named status code list: code -> Chinese label and code -> meaning (same keys).

    The mappings are copied into read-only proxies, so a registered profile cannot change later.
    """

    name: str
    codes: Mapping[str, str]
    meanings: Mapping[str, StatusMeaning]

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InputError("status profile name is empty", where="status profile")
        if set(self.codes) != set(self.meanings):
            raise InputError(
                "every status code needs a label and a meaning",
                where=f"status profile {self.name}",
                value=sorted(set(self.codes) ^ set(self.meanings)),
            )
        if not self.codes:
            raise InputError("a status profile needs at least one code", where=f"status profile {self.name}")
        object.__setattr__(self, "codes", MappingProxyType(dict(self.codes)))
        object.__setattr__(self, "meanings", MappingProxyType(dict(self.meanings)))

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.codes.items()), tuple(self.meanings.items())))

    def label(self, code: str) -> str:
        """The Chinese label of ``code`` (KeyError when the profile has no such code)."""
        return self.codes[code]

    def meaning(self, code: str) -> StatusMeaning:
        """The meaning of ``code`` (KeyError when the profile has no such code)."""
        return self.meanings[code]

    def code_for(self, meaning: StatusMeaning) -> str:
        """The first code (in profile order) with ``meaning``.

        Raises StopIteration when the profile has no such code (``ecert.registry`` relies on it).
        """
        return next(c for c, m in self.meanings.items() if m is meaning)


def _profile(name: str, table: Mapping[str, tuple[str, StatusMeaning]]) -> StatusProfile:
    return StatusProfile(name, {c: t[0] for c, t in table.items()}, {c: t[1] for c, t in table.items()})


_M = StatusMeaning
#: MOHURD list A (STANDARDS.md §1): 01有效 02暂扣 03撤销 04注销 05失效 06办理转出 07吊销 99其他.
MOHURD_A = _profile(
    "mohurd-a",
    {
        "01": ("有效", _M.VALID),
        "02": ("暂扣", _M.SUSPENDED),
        "03": ("撤销", _M.REVOKED),
        "04": ("注销", _M.CANCELLED),
        "05": ("失效", _M.EXPIRED),
        "06": ("办理转出", _M.OTHER),
        "07": ("吊销", _M.REVOKED),
        "99": ("其他", _M.OTHER),
    },
)
#: MOHURD list B (STANDARDS.md §1): 01有效 02暂扣 03吊销 04撤销 05注销 06失效 99其他.
MOHURD_B = _profile(
    "mohurd-b",
    {
        "01": ("有效", _M.VALID),
        "02": ("暂扣", _M.SUSPENDED),
        "03": ("吊销", _M.REVOKED),
        "04": ("撤销", _M.REVOKED),
        "05": ("注销", _M.CANCELLED),
        "06": ("失效", _M.EXPIRED),
        "99": ("其他", _M.OTHER),
    },
)

_PROFILES: dict[str, StatusProfile] = {
    "default": StatusProfile("default", MOHURD_A.codes, MOHURD_A.meanings),  # [U] list A as default
    MOHURD_A.name: MOHURD_A,
    MOHURD_B.name: MOHURD_B,
}


def register_status_profile(profile: StatusProfile) -> None:
    """Make ``profile`` available by name; re-registering the same profile is allowed.

    Replacing a profile under an existing name is refused: codes already stored under that name
    would silently change meaning.
    """
    known = _PROFILES.get(profile.name)
    if known is not None and known != profile:
        raise InputError(
            "a different status profile is already registered under this name",
            where="status profile",
            value=profile.name,
        )
    _PROFILES[profile.name] = profile


def get_status_profile(name: str) -> StatusProfile:
    """The registered profile called ``name``; InputError naming the known ones otherwise."""
    try:
        return _PROFILES[name]
    except (KeyError, TypeError):
        raise InputError(
            "unknown status profile", value=name, expected=", ".join(sorted(_PROFILES))
        ) from None


def status_profiles() -> tuple[str, ...]:
    """Names of the registered profiles, sorted."""
    return tuple(sorted(_PROFILES))
