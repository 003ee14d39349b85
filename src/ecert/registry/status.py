"""Certificate status in the registry's own vocabulary (mapped to profile codes only at the edges)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

__all__ = ["FINAL", "TRANSITIONS", "CertStatus", "StatusEntry"]


class CertStatus(enum.Enum):
    VALID = "valid"
    SUSPENDED = "suspended"  # 暂扣
    REVOKED = "revoked"  # 吊销
    CANCELLED = "cancelled"  # 注销
    REPLACED = "replaced"  # 换发 (a newer version replaces it)

    @property
    def label_zh(self) -> str:
        return _ZH[self]


_ZH = {
    CertStatus.VALID: "有效",
    CertStatus.SUSPENDED: "暂扣",
    CertStatus.REVOKED: "吊销",
    CertStatus.CANCELLED: "注销",
    CertStatus.REPLACED: "换发（已被新版本替代）",
}
FINAL = frozenset({CertStatus.REVOKED, CertStatus.CANCELLED, CertStatus.REPLACED})
TRANSITIONS: dict[CertStatus, frozenset[CertStatus]] = {
    CertStatus.VALID: frozenset(
        {CertStatus.SUSPENDED, CertStatus.REVOKED, CertStatus.CANCELLED, CertStatus.REPLACED}
    ),
    CertStatus.SUSPENDED: frozenset({CertStatus.VALID, CertStatus.REVOKED, CertStatus.CANCELLED}),
    CertStatus.REVOKED: frozenset(),
    CertStatus.CANCELLED: frozenset(),
    CertStatus.REPLACED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """The status of one certificate, as a registry or a status list states it."""

    identifier: str
    status: CertStatus
    reason: str | None
    changed_at: datetime
    replaced_by: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.status is CertStatus.VALID

    @property
    def status_name(self) -> str:
        return self.status.value

    @property
    def status_name_zh(self) -> str:
        return self.status.label_zh
