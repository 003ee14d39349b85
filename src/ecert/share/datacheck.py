"""Data verification (数据核验): compare submitted fields with the library's record, answer 0-6.

The answer is one of the result codes both real systems share (INTERFACES.md §1.5); the record is
never returned.  A certificate is found by its identifier (ZZBS) or by holder code (CZZTDM) and
number (ZZBH) within the requested type; less than that is result 4, several matches too.  Every
submitted field must equal the record's (codes compared case-insensitively, text after trimming);
one differing field is 6, whatever the status.  Only then does the status speak: 1 not yet valid,
2 suspended, 3 ended (revoked, cancelled, replaced) or expired, 0 valid today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ecert.errors import RecordNotFound
from ecert.registry.base import IssuedRecord, Registry
from ecert.registry.status import CertStatus
from ecert.share.model import DATA_RESULTS, DataCheckRequest

__all__ = ["DataOutcome", "check_data"]

_CODES = frozenset({"ZZBS", "ZZLXDM", "ZZBFJGDM", "CZZTDM", "CZZTDMLXDM", "ZZSSXQDM"})
_ENDED = frozenset({CertStatus.REVOKED, CertStatus.CANCELLED, CertStatus.REPLACED})


@dataclass(frozen=True, slots=True)
class DataOutcome:
    result: int
    identifier: str | None  # for the usage record only; never shown to the caller

    @property
    def message(self) -> str:
        return DATA_RESULTS[self.result]


def _same(key: str, given: str, recorded: str) -> bool:
    a, b = given.strip(), recorded.strip()
    return a.upper() == b.upper() if key in _CODES else a == b


def _find(library: Registry, request: DataCheckRequest) -> IssuedRecord | DataOutcome:
    values = request.values
    identifier = (values.get("ZZBS") or "").strip()
    if identifier:
        try:
            return library.get(identifier)
        except RecordNotFound:
            return DataOutcome(5, None)
    holder_code, number = (values.get("CZZTDM") or "").strip(), (values.get("ZZBH") or "").strip()
    if not holder_code or not number:
        return DataOutcome(4, None)
    rows = library.search(holder_code=holder_code, type_code=request.type_code, number=number, limit=2)
    if not rows:
        return DataOutcome(5, None)
    if len(rows) > 1:
        return DataOutcome(4, None)
    return rows[0]


def check_data(library: Registry, request: DataCheckRequest, today: date) -> DataOutcome:
    """The data verification result of ``request`` on ``today`` (a day of the Chinese calendar)."""
    found = _find(library, request)
    if isinstance(found, DataOutcome):
        return found
    record = found
    md = record.metadata
    if md.type_code.upper() != request.type_code.strip().upper():
        return DataOutcome(6, record.identifier)
    recorded = dict(md.to_dict("pinyin"))
    recorded.update(library.fields(record.identifier))
    for key, given in request.values.items():
        if given is None or not given.strip():
            continue
        if key not in recorded or not _same(key, given, recorded[key]):
            return DataOutcome(6, record.identifier)
    if record.status in _ENDED:
        return DataOutcome(3, record.identifier)
    if record.status is CertStatus.SUSPENDED:
        return DataOutcome(2, record.identifier)
    if md.valid_from is not None and today < md.valid_from:
        return DataOutcome(1, record.identifier)
    if not md.long_term and md.valid_until is not None and today > md.valid_until:
        return DataOutcome(3, record.identifier)
    return DataOutcome(0, record.identifier)
