"""The registry interface (电子证照库): what an issuing system needs from its certificate store.

The SQLite implementation is the default; a department with a shared database server implements
the same protocol.  Verification only needs :class:`ecert.verify.status.StatusSource`, which every
registry also is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from ecert.metadata import CoreMetadata
from ecert.registry.status import CertStatus, StatusEntry

__all__ = ["IssuedRecord", "Registry"]


@dataclass(frozen=True, slots=True)
class IssuedRecord:
    identifier: str
    metadata: CoreMetadata
    package_digest: str
    signer: str
    issued_at: datetime
    file_path: str | None
    source_key: str | None
    status: CertStatus
    status_reason: str | None
    status_changed_at: datetime
    status_changed_by: str | None
    replaced_by: str | None


class Registry(Protocol):
    def allocate_serial(
        self, type_code: str, issuer_code: str, *, period: str = "", width: int = 10
    ) -> str: ...

    def record_issued(
        self,
        metadata: CoreMetadata,
        *,
        package_digest: str,
        signer: str,
        issued_at: datetime,
        file_path: str | None = None,
        source_key: str | None = None,
    ) -> IssuedRecord: ...

    def record_gap(self, type_code: str, issuer_code: str, serial: str, reason: str) -> None: ...

    def get(self, identifier: str) -> IssuedRecord: ...

    def find(
        self,
        *,
        holder_code: str | None = None,
        type_code: str | None = None,
        issuer_code: str | None = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
        status: CertStatus | None = None,
        limit: int = 1000,
    ) -> Sequence[IssuedRecord]: ...

    def set_status(
        self, identifier: str, status: CertStatus, *, reason: str, by: str, at: datetime
    ) -> IssuedRecord: ...

    def status_of(self, identifier: str) -> StatusEntry | None: ...
