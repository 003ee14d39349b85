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

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ecert.metadata import CoreMetadata
from ecert.registry.status import CertStatus, StatusEntry
from ecert.verify.status import StatusSource

if TYPE_CHECKING:
    from ecert.catalog import CertificateType

__all__ = [
    "OPERATIONS",
    "Application",
    "ChainEvent",
    "CheckProblem",
    "CopyRecord",
    "Gap",
    "HistoryEntry",
    "Holder",
    "IssuedRecord",
    "LibraryCheck",
    "PublishedField",
    "PublishedType",
    "ReconciliationRow",
    "Registry",
    "Right",
    "StatusEntry",
    "StatusSource",
    "StoredFile",
    "Usage",
    "UsageRecord",
]

#: Share-service operations an application may be granted (spec/library.md, application_rights).
OPERATIONS = frozenset(
    {"search", "get", "get_by_qr", "download", "verify_data", "verify_file", "usage", "exchange"}
)


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
class ReconciliationRow:
    """One certificate as reconciliation compares it (spec/exchange.md §5)."""

    identifier: str
    issuer_code: str  # ZZBFJGDM
    type_code: str
    issued_at: datetime
    package_digest: str
    status: CertStatus
    status_changed_at: datetime


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


@dataclass(frozen=True, slots=True)
class Holder:
    """One holder (持证主体) of a certificate; position 1 is the one the core metadata names."""

    name: str
    code: str
    code_type: str
    code_type_code: str


@dataclass(frozen=True, slots=True)
class PublishedField:
    """One field of a published type (照面/信息项) and whether it is sensitive (敏感)."""

    key: str
    label: str
    required: bool
    sensitive: bool
    max_length: int | None


@dataclass(frozen=True, slots=True)
class PublishedType:
    """A certificate type as published to the library (GB/T 36902 目录), one version of it."""

    type_code: str
    catalog_version: int
    type_name: str
    defining_authority: str
    defining_authority_code: str
    holder_category: str
    validity_rule: str
    status_profile: str
    definition: str  # JSON of the whole type definition
    definition_sm3: str
    published_at: datetime
    fields: tuple[PublishedField, ...]

    @property
    def sensitive_keys(self) -> frozenset[str]:
        return frozenset(f.key for f in self.fields if f.sensitive)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file the library keeps for a certificate (its signed original, face, or an annotated copy)."""

    identifier: str
    kind: str  # original | face | copy
    digest: str  # hex SM3 of the bytes, checked on every read
    size: int
    content_type: str
    store_path: str | None  # None: the bytes are in the library itself
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Usage:
    """A use of the library to record (用证记录): who, for what case and why, which operation, result.

    A use needs a reason (用证事由, 1-200 characters) or a business item code with a case number
    (事项编码 + 办件号); the library refuses a use with neither.
    """

    app_id: str
    department: str
    operator: str
    operation: str
    result: str
    identifier: str | None = None
    reason: str | None = None
    item_code: str | None = None
    case_number: str | None = None
    copy_id: str | None = None


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """A recorded use: the :class:`Usage` with its place in the usage chain."""

    seq: int
    event_id: str
    usage: Usage
    at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One event of the status log (issued, status changed, annotated copy made), hash-chained."""

    seq: int
    event_id: str
    kind: str
    identifier: str
    version: int
    status: CertStatus
    reason: str | None
    operator: str | None
    at: datetime
    payload: str  # canonical JSON: what the event carries (for "issued": the record, the file digest)
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Right:
    """An application may run ``operation`` on certificates of ``type_code`` ("*": every type)."""

    operation: str
    type_code: str = "*"
    sensitive: bool = False  # and receive the type's sensitive fields


@dataclass(frozen=True, slots=True)
class Application:
    """A calling application of the share service, its signing key and its rights."""

    app_id: str
    name: str
    department: str
    department_code: str | None
    public_key: str | None  # PEM of the key its requests are signed with
    key_status: str  # active | revoked
    token_allowed: bool  # may use the weaker token profile
    rights: frozenset[Right]
    created_at: datetime

    def allows(self, operation: str, type_code: str) -> bool:
        return any(r.operation == operation and r.type_code in ("*", type_code) for r in self.rights)

    def sees_sensitive(self, operation: str, type_code: str) -> bool:
        return any(
            r.operation == operation and r.type_code in ("*", type_code) and r.sensitive for r in self.rights
        )


@dataclass(frozen=True, slots=True)
class CopyRecord:
    """An annotated copy (加注件) the library made and keeps: JZJ* metadata and its file's digest."""

    copy_id: str
    identifier: str
    level: str
    made_at: datetime
    maker: str
    reason: str
    valid_until: date
    package_digest: str
    app_id: str | None
    usage_seq: int | None


@dataclass(frozen=True, slots=True)
class CheckProblem:
    """Something ``Registry.check`` found broken: which part, where, what."""

    part: str  # status chain | usage chain | file | status
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.part}: {self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class LibraryCheck:
    """The result of checking a library: both hash chains, derived statuses, every stored file."""

    status_events: int
    usage_records: int
    files: int
    problems: tuple[CheckProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


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
        content: bytes | None = None,
        cert_type: CertificateType | None = None,
        co_holders: Sequence[Holder] = (),
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

    def record_renewal(
        self,
        identifier: str,
        new_metadata: CoreMetadata,
        *,
        package_digest: str,
        signer: str,
        issued_at: datetime,
        reason: str,
        by: str,
        replaced_at: datetime | None = None,
        content: bytes | None = None,
    ) -> IssuedRecord:
        """Another library's renewal (the exchange): the new version and the old one replaced."""
        ...

    def versions(self, identifier: str) -> tuple[IssuedRecord, ...]: ...

    def history(self, identifier: str) -> tuple[HistoryEntry, ...]: ...

    def non_valid(self, *, issuer_code: str | None = None) -> tuple[StatusEntry, ...]:
        """Every non-valid certificate; with ``issuer_code``, those of that issuing authority.

        The authority is ``metadata.issuer_code`` (as in ``find(issuer_code=)``), not the
        identifier's issuer part, which may be a division code (``allocate_serial`` takes that one).
        """
        ...

    # --- the certificate library (spec/library.md) ----------------------------------------------

    def atomic(self) -> AbstractContextManager[None]:
        """One transaction around several calls (a read and its usage record); nests."""
        ...

    def publish_type(self, cert_type: CertificateType, *, at: datetime | None = None) -> PublishedType: ...

    def published_type(self, type_code: str, catalog_version: int | None = None) -> PublishedType: ...

    def published_types(self) -> tuple[PublishedType, ...]: ...

    def holders(self, identifier: str) -> tuple[Holder, ...]: ...

    def fields(self, identifier: str) -> dict[str, str]: ...

    def search(
        self,
        *,
        holder_code: str,
        holder_code_type_code: str | None = None,
        type_code: str | None = None,
        number: str | None = None,
        limit: int = 500,
    ) -> tuple[IssuedRecord, ...]: ...

    def store_file(
        self, identifier: str, kind: str, content: bytes, *, content_type: str = "application/ofd"
    ) -> StoredFile: ...

    def stored_file(self, identifier: str, kind: str = "original") -> StoredFile | None: ...

    def read_file(self, identifier: str, kind: str = "original") -> bytes: ...

    def events(self, *, after: int = 0, limit: int = 1000) -> tuple[ChainEvent, ...]: ...

    def record_usage(self, usage: Usage, *, at: datetime | None = None) -> UsageRecord: ...

    def usage(
        self, *, identifier: str | None = None, app_id: str | None = None, after: int = 0, limit: int = 1000
    ) -> tuple[UsageRecord, ...]: ...

    def add_application(
        self,
        app_id: str,
        *,
        name: str,
        department: str,
        public_key: str | None,
        rights: Sequence[Right],
        department_code: str | None = None,
        token_allowed: bool = False,
    ) -> Application: ...

    def application(self, app_id: str) -> Application: ...

    def applications(self) -> tuple[Application, ...]: ...

    def set_application_key(self, app_id: str, *, public_key: str | None, key_status: str) -> Application: ...

    def remember_nonce(self, app_id: str, nonce: str, *, at: datetime, keep_after: datetime) -> bool:
        """Record a request nonce; False when it was seen already (a replay).  Forgets before keep_after."""
        ...

    def add_token(self, token: str, app_id: str, *, issued_at: datetime, expires_at: datetime) -> None: ...

    def token_app(self, token: str, *, at: datetime) -> str | None: ...

    def add_ticket(
        self,
        ticket: str,
        identifier: str,
        kind: str,
        app_id: str,
        *,
        created_at: datetime,
        expires_at: datetime,
    ) -> None: ...

    def redeem_ticket(self, ticket: str, *, at: datetime) -> tuple[str, str, str]:
        """(identifier, kind, app_id) of a one-time download; RegistryError naming why it is refused."""
        ...

    def record_copy(
        self, record: CopyRecord, content: bytes, *, operator: str, at: datetime
    ) -> CopyRecord: ...

    def copies(self, identifier: str) -> tuple[CopyRecord, ...]: ...

    def copy(self, copy_id: str) -> CopyRecord: ...

    def check(self) -> LibraryCheck: ...

    @property
    def library_id(self) -> str: ...

    def info(self, name: str) -> str | None: ...

    def set_info(self, name: str, value: str) -> None: ...

    def iter_records(self, *, batch: int = 1000) -> Iterator[IssuedRecord]: ...

    def reconciliation_rows(self, *, after: str = "", limit: int = 5000) -> tuple[ReconciliationRow, ...]: ...
