"""The ministry's status codes on the wire (spec/exchange.md §6): certState and operateType.

Ministry push interfaces (MOHURD's data exchange, ``../shared/INTERFACES.md`` §5.3) describe each
record by a ``certState`` (01 有效 … 07 吊销, 99 其他; two specifications number them differently,
hence the profiles ``mohurd-a`` and ``mohurd-b`` of :mod:`ecert.metadata.status`) and an
``operateType`` (01 新发 … 10 取消转出).  The library stores neither: it stores ecert's core
status and its events.  This module is the table between them, both ways; ``spec/exchange.md`` §6
prints the same table and ``tests/test_exchange_codes.py`` reads it back from there, so the
document and the code cannot drift.

Core -> ministry is total for what the exchange sends (a replaced certificate is 99 其他 with its
description, the ministry lists having no code for it); ministry -> core refuses, naming the code,
every code whose meaning the library cannot record (失效 follows from the validity dates, 办理转出
and 其他 have no lifecycle meaning, 转入 / 变更 / 取消转出 are not operations of this library).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ecert.errors import InputError
from ecert.registry.status import CertStatus, from_profile_code, profile_code

__all__ = [
    "MINISTRY_PROFILES",
    "OPERATE_TYPES",
    "MinistryCodes",
    "cert_state",
    "event_of_operate_type",
    "ministry_codes",
    "operate_type",
    "status_of_cert_state",
]

#: The certState orderings a batch may carry (spec/exchange.md §6.1).
MINISTRY_PROFILES = ("mohurd-a", "mohurd-b")

#: operateType 01-10 (INTERFACES.md §5.3), one list in every specification seen.
OPERATE_TYPES = MappingProxyType(
    {
        "01": "新发",
        "02": "延续",
        "03": "暂扣",
        "04": "过期失效",
        "05": "注销(撤销、吊销、办理转出)",
        "06": "暂扣发还",
        "07": "其他",
        "08": "转入",
        "09": "变更",
        "10": "取消转出",
    }
)
_REPLACED_STATE = "99"  # 其他, with certStatusDescription (required for 99)
_REPLACED_DESCRIPTION = "换发（已被新版本替代）"

# operateType -> the event the library records (kind, status after it); None: not an operation here
_EVENT_OF_OPERATE: MappingProxyType[str, tuple[str, CertStatus | None] | None] = MappingProxyType(
    {
        "01": ("issued", CertStatus.VALID),
        "02": ("renewal", CertStatus.VALID),
        "03": ("status", CertStatus.SUSPENDED),
        "04": None,  # expiry is not an event: it follows from valid_until
        "05": ("status", None),  # revoked or cancelled: the certState says which
        "06": ("status", CertStatus.VALID),
        "07": None,
        "08": None,  # transfers between provinces are not operations of this library
        "09": None,
        "10": None,
    }
)


def _profile(profile: str) -> str:
    if profile not in MINISTRY_PROFILES:
        raise InputError(
            "unknown ministry status profile",
            where="status codes",
            value=profile,
            expected=", ".join(MINISTRY_PROFILES),
        )
    return profile


def cert_state(status: CertStatus, profile: str = "mohurd-a") -> str:
    """The certState sent for a core status (REPLACED: 99 其他)."""
    _profile(profile)
    if not isinstance(status, CertStatus):
        raise InputError("must be a CertStatus", where="status", value=status)
    if status is CertStatus.REPLACED:
        return _REPLACED_STATE
    return profile_code(status, profile)


def status_of_cert_state(code: str, profile: str = "mohurd-a") -> CertStatus:
    """The core status a certState stands for; :class:`InputError` naming any other code."""
    return from_profile_code(code, _profile(profile))


def operate_type(kind: str, status: CertStatus, version: int) -> str | None:
    """The operateType of one library event (None: a copy, which ministry lists do not carry).

    ``kind`` is the event's (issued, status, copy), ``status`` the status after it, ``version`` the
    identifier's version.  A status change to valid can only be a return from suspension (06).
    """
    if kind == "copy":
        return None
    if kind == "issued":
        return "01" if version <= 1 else "02"
    if kind != "status":
        raise InputError("unknown event kind", where="kind", value=kind, expected="issued, status, copy")
    if status is CertStatus.SUSPENDED:
        return "03"
    if status in (CertStatus.REVOKED, CertStatus.CANCELLED):
        return "05"
    if status is CertStatus.VALID:
        return "06"
    return "02"  # REPLACED: the old version's side of a renewal (延续)


def event_of_operate_type(code: str, state: str, profile: str = "mohurd-a") -> tuple[str, CertStatus]:
    """What a ministry record (operateType, certState) asks the library to record: (kind, status),
    kind being issued, renewal or status.  A code with no library operation is refused by name."""
    if code not in OPERATE_TYPES:
        raise InputError(
            "unknown operateType", where="operateType", value=code, expected=", ".join(OPERATE_TYPES)
        )
    event = _EVENT_OF_OPERATE[code]
    if event is None:
        raise InputError(
            f"operateType {code} ({OPERATE_TYPES[code]}) is not an operation of the certificate library",
            where="operateType",
            value=code,
            expected="01, 02, 03, 05, 06",
        )
    status = status_of_cert_state(state, profile)
    kind, implied = event
    if code == "05" and status not in (CertStatus.REVOKED, CertStatus.CANCELLED):
        raise InputError(
            f"operateType 05 ends a certificate, but certState {state} is {status.value}",
            where="certState",
            value=state,
            expected=f"a revoked or cancelled code of {profile}",
        )
    if implied is not None and status is not implied:
        raise InputError(
            f"operateType {code} ({OPERATE_TYPES[code]}) leaves the certificate {implied.value}, "
            f"certState {state} says {status.value}",
            where="certState",
            value=state,
        )
    return kind, status


@dataclass(frozen=True, slots=True)
class MinistryCodes:
    """One event as a ministry record describes it."""

    seq: int
    identifier: str  # zzeCertID
    cert_state: str
    description: str | None  # certStatusDescription (required with 99)
    operate_type: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "zzeCertID": self.identifier,
            "certState": self.cert_state,
            "certStatusDescription": self.description,
            "operateType": self.operate_type,
        }


def ministry_codes(
    seq: int,
    identifier: str,
    kind: str,
    status: CertStatus,
    version: int,
    profile: str = "mohurd-a",
    replaced_by: str | None = None,
) -> MinistryCodes:
    """The ministry codes of one event (what a batch made with ``status_codes=profile`` carries)."""
    state = cert_state(status, profile)
    description = None
    if status is CertStatus.REPLACED:
        description = _REPLACED_DESCRIPTION + (f": {replaced_by}" if replaced_by else "")
    return MinistryCodes(seq, identifier, state, description, operate_type(kind, status, version))
