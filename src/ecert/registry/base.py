"""The registry interface (电子证照库): what an issuing system needs from its certificate store.

:class:`ecert.registry.sqlite.SQLiteRegistry` is the default, embedded implementation; a department
that keeps its records on a shared database server implements :class:`Registry` over it.  The
verifier only needs :class:`StatusSource` (a registry and a signed status list both are one), which
is why it is separate and small.

Batch issuing (``ecert.batch``) uses exactly these calls, in this order per certificate:
``find_by_source_key`` (resume), ``allocate_serial``, build and sign the package, ``record_issued``;
and ``reconcile`` once before a run, so that allocations of an interrupted run become recorded gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from ecert.metadata import CoreMetadata
from ecert.registry.status import CertStatus, StatusEntry
from ecert.verify.status import StatusSource

__all__ = ["Gap", "HistoryEntry", "IssuedRecord", "Registry", "StatusEntry", "StatusSource"]


@dataclass(frozen=True, slots=True)
class IssuedRecord:
    """One issued certificate as recorded: what was issued (metadata, file digest) and its status."""

    identifier: str
    metadata: CoreMetadata
    package_digest: str  # hex SM3 of the signed OFD bytes
    signer: str  # subject (or fingerprint) of the signing certificate
    issued_at: datetime
    file_path: str | None
    source_key: str | None  # stable key of the source row, for resumable batches
    status: CertStatus
    status_reason: str | None
    status_changed_at: datetime
    status_changed_by: str | None
    replaced_by: str | None

    def status_entry(self) -> StatusEntry:
        return StatusEntry(
            self.identifier, self.status, self.status_reason, self.status_changed_at, self.replaced_by
        )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One status change (the first one of every certificate is its issuing, status VALID)."""

    identifier: str
    status: CertStatus
    reason: str | None
    by: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Gap:
    """A serial that was allocated but never issued: abandoned on purpose or found by reconcile."""

    type_code: str
    issuer_code: str
    serial: str
    reason: str
    allocated_at: datetime
    closed_at: datetime


@runtime_checkable
class Registry(StatusSource, Protocol):
    """The certificate store an issuing system writes to (see the module docstring).

    It is also a status source (:class:`ecert.verify.status.StatusSource`, defined by the verifier
    that consumes it) whose ``status_of`` returns the registry's own :class:`StatusEntry`.
    """

    def status_of(self, identifier: str) -> StatusEntry | None: ...

    def allocate_serial(
        self,
        type_code: str,
        issuer_code: str,
        *,
        period: str = "",
        width: int = 10,
        prefix: str | None = None,
    ) -> str: ...

    def record_gap(self, type_code: str, issuer_code: str, serial: str, reason: str) -> None: ...

    def reconcile(self, older_than: datetime) -> int: ...

    def gaps(self, type_code: str, issuer_code: str) -> tuple[Gap, ...]: ...

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

    def find_by_source_key(self, source_key: str) -> IssuedRecord | None: ...

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
    ) -> tuple[IssuedRecord, ...]: ...

    def set_status(
        self, identifier: str, status: CertStatus, *, reason: str, by: str, at: datetime
    ) -> IssuedRecord: ...

    def renew(
        self,
        identifier: str,
        new_metadata: CoreMetadata,
        *,
        package_digest: str,
        signer: str,
        issued_at: datetime,
        file_path: str | None = None,
        source_key: str | None = None,
        reason: str = "renewed",
        by: str | None = None,
    ) -> IssuedRecord: ...

    def versions(self, identifier: str) -> tuple[IssuedRecord, ...]: ...

    def history(self, identifier: str) -> tuple[HistoryEntry, ...]: ...

    def non_valid(self, *, issuer_code: str | None = None) -> tuple[StatusEntry, ...]:
        """Every non-valid certificate; with ``issuer_code``, those of that issuing authority.

        The authority is ``metadata.issuer_code`` (as in ``find(issuer_code=)``), not the
        identifier's issuer part, which may be a division code (``allocate_serial`` takes that one).
        """
        ...
