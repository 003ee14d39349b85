"""Certificate status in the registry's own vocabulary, and its allowed transitions.

Real systems number statuses differently (two MOHURD specifications disagree, STANDARDS.md §1),
so the registry never stores a profile code: it stores :class:`CertStatus`, and maps to a profile's
code only at the edges (:func:`profile_code`, :func:`from_profile_code`), through the metadata
status profiles (:mod:`ecert.metadata.status`).

Transitions follow the lifecycle operations seen in real systems (暂扣 03, 暂扣发还 06, 注销/吊销 05,
延续/换发 02): a suspended certificate may be returned (reinstated) or ended; revoked, cancelled and
replaced certificates never change again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from ecert.errors import InputError, RegistryError
from ecert.metadata.status import StatusMeaning, get_status_profile

__all__ = [
    "FINAL",
    "TRANSITIONS",
    "CertStatus",
    "StatusEntry",
    "check_transition",
    "from_profile_code",
    "profile_code",
]


class CertStatus(enum.Enum):
    """A certificate's status as the registry records it (values are the status-list spelling)."""

    VALID = "valid"  # 有效
    SUSPENDED = "suspended"  # 暂扣
    REVOKED = "revoked"  # 吊销 (also 撤销: ended for cause)
    CANCELLED = "cancelled"  # 注销 (ended at the holder's request or by law)
    REPLACED = "replaced"  # 换发: a newer version (版本号 + 1) replaces it

    @property
    def label_zh(self) -> str:
        return _ZH[self]

    @property
    def meaning(self) -> StatusMeaning:
        """The profile-independent meaning, the bridge to every status profile's codes."""
        return StatusMeaning(self.value)

    @property
    def is_final(self) -> bool:
        return self in FINAL


_ZH = MappingProxyType(
    {
        CertStatus.VALID: "有效",
        CertStatus.SUSPENDED: "暂扣",
        CertStatus.REVOKED: "吊销",
        CertStatus.CANCELLED: "注销",
        CertStatus.REPLACED: "换发（已被新版本替代）",
    }
)
FINAL = frozenset({CertStatus.REVOKED, CertStatus.CANCELLED, CertStatus.REPLACED})
TRANSITIONS: MappingProxyType[CertStatus, frozenset[CertStatus]] = MappingProxyType(
    {
        CertStatus.VALID: frozenset(
            {CertStatus.SUSPENDED, CertStatus.REVOKED, CertStatus.CANCELLED, CertStatus.REPLACED}
        ),
        CertStatus.SUSPENDED: frozenset({CertStatus.VALID, CertStatus.REVOKED, CertStatus.CANCELLED}),
        CertStatus.REVOKED: frozenset(),
        CertStatus.CANCELLED: frozenset(),
        CertStatus.REPLACED: frozenset(),
    }
)


def check_transition(identifier: str, current: CertStatus, new: CertStatus) -> None:
    """Raise :class:`RegistryError` unless ``current -> new`` is an allowed lifecycle step."""
    if new in TRANSITIONS[current]:
        return
    if current.is_final:
        why = f"{current.value} is final"
    elif new is current:
        why = f"it is already {current.value}"
    else:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        why = f"from {current.value} only {allowed} can follow"
    raise RegistryError(f"{identifier}: cannot change status from {current.value} to {new.value}: {why}")


def profile_code(status: CertStatus, profile: str = "default") -> str:
    """The status code a profile uses for ``status`` (e.g. REVOKED -> "03" in mohurd-a: its first
    revoked code, spec/exchange.md §6)."""
    codes = get_status_profile(profile)
    try:
        return codes.code_for(status.meaning)
    except StopIteration:
        raise InputError(
            f"status profile {profile} has no code for {status.value}", where="status profile"
        ) from None


def from_profile_code(code: str, profile: str = "default") -> CertStatus:
    """The registry status a profile code stands for; codes with no registry status are refused.

    "Expired" (失效) is not stored: it follows from the validity dates.  "Other" (其他, 办理转出)
    has no lifecycle meaning the registry could enforce.
    """
    codes = get_status_profile(profile)
    if code not in codes.codes:
        raise InputError(
            "unknown status code",
            where=f"status profile {profile}",
            value=code,
            expected=", ".join(codes.codes),
        )
    meaning = codes.meaning(code)
    try:
        return CertStatus(meaning.value)
    except ValueError:
        raise InputError(
            f"status code {code} ({meaning.value}) is not a registry status",
            where=f"status profile {profile}",
            expected=", ".join(s.value for s in CertStatus),
        ) from None


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """The status of one certificate as a registry or a status list states it.

    ``changed_at`` is when the status last changed (the issue time for a certificate never changed).
    """

    identifier: str
    status: CertStatus
    reason: str | None
    changed_at: datetime
    replaced_by: str | None = None

    def __post_init__(self) -> None:
        if self.changed_at.tzinfo is None:
            raise InputError("status change time must be timezone-aware", where=self.identifier)

    @property
    def is_valid(self) -> bool:
        return self.status is CertStatus.VALID

    @property
    def status_name(self) -> str:
        return self.status.value

    @property
    def status_name_zh(self) -> str:
        return self.status.label_zh
