"""An in-memory stand-in for the certificate library, for the share service's tests only.

Used until the library's SQLite implementation is on main; it implements just the calls the
share service makes, with the documented behaviour (one-time tickets, nonces, tokens).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from ecert.catalog import CertificateType
from ecert.crypto.digests import sm3
from ecert.errors import DownloadRefused, RecordNotFound, RegistryError
from ecert.metadata import CoreMetadata
from ecert.registry.base import (
    Application,
    CopyRecord,
    Holder,
    IssuedRecord,
    PublishedField,
    PublishedType,
    Right,
    StoredFile,
    Usage,
    UsageRecord,
)
from ecert.registry.status import CertStatus, StatusEntry


class FakeLibrary:
    knows_every_certificate = True
    issuer_codes = None

    def __init__(self) -> None:
        self.records: dict[str, IssuedRecord] = {}
        self.files: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.types: dict[str, PublishedType] = {}
        self.apps: dict[str, Application] = {}
        self.usages: list[UsageRecord] = []
        self.nonces: set[tuple[str, str]] = set()
        self.tokens: dict[str, tuple[str, datetime, datetime]] = {}
        self.tickets: dict[str, list[object]] = {}
        self.copy_records: list[CopyRecord] = []
        self.lock = threading.RLock()

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        with self.lock:
            saved = len(self.usages)
            try:
                yield
            except BaseException:
                del self.usages[saved:]
                raise

    # test set-up
    def publish(self, cert_type: CertificateType, sensitive: Sequence[str] = ()) -> PublishedType:
        fields = tuple(
            PublishedField(i.name, i.label, i.required, i.name in sensitive, i.max_length)
            for i in cert_type.items
        )
        published = PublishedType(
            cert_type.code,
            1,
            cert_type.name,
            "a",
            "b",
            "c",
            "given",
            "default",
            "{}",
            "0" * 64,
            datetime.now(UTC),
            fields,
        )
        self.types[cert_type.code] = published
        return published

    def add(self, md: CoreMetadata, content: bytes, status: CertStatus = CertStatus.VALID) -> IssuedRecord:
        digest = sm3(content).hex()
        record = IssuedRecord(
            str(md.identifier),
            md,
            digest,
            "signer",
            datetime.now(UTC),
            None,
            None,
            status,
            None,
            datetime.now(UTC),
            None,
            None,
        )
        self.records[record.identifier] = record
        self.files[(record.identifier, "original")] = (content, "application/ofd")
        return record

    def set_status(self, identifier: str, status: CertStatus) -> None:
        self.records[identifier] = replace(self.records[identifier], status=status)

    # Registry calls the share service makes
    def describe(self) -> str:
        return "the in-memory test library"

    def recorded_metadata(self, identifier: str) -> CoreMetadata | None:
        r = self.records.get(identifier)
        return None if r is None else r.metadata

    def status_of(self, identifier: str) -> StatusEntry | None:
        r = self.records.get(identifier)
        return None if r is None else r.status_entry()

    def get(self, identifier: str) -> IssuedRecord:
        try:
            return self.records[identifier]
        except KeyError:
            raise RecordNotFound(f"no certificate {identifier}") from None

    def fields(self, identifier: str) -> dict[str, str]:
        return dict(self.get(identifier).metadata.extensions)

    def holders(self, identifier: str) -> tuple[Holder, ...]:
        md = self.get(identifier).metadata
        return (Holder(md.holder_name, md.holder_code, md.holder_code_type, md.holder_code_type_code),)

    def search(
        self,
        *,
        holder_code: str,
        holder_code_type_code: str | None = None,
        type_code: str | None = None,
        number: str | None = None,
        limit: int = 500,
    ) -> tuple[IssuedRecord, ...]:
        out = [
            r
            for r in self.records.values()
            if r.metadata.holder_code == holder_code
            and (holder_code_type_code is None or r.metadata.holder_code_type_code == holder_code_type_code)
            and (type_code is None or r.metadata.type_code == type_code)
            and (number is None or r.metadata.number == number)
        ]
        return tuple(out[:limit])

    def published_type(self, type_code: str, catalog_version: int | None = None) -> PublishedType:
        try:
            return self.types[type_code]
        except KeyError:
            raise RecordNotFound(f"type {type_code} not published") from None

    def published_types(self) -> tuple[PublishedType, ...]:
        return tuple(self.types.values())

    def stored_file(self, identifier: str, kind: str = "original") -> StoredFile | None:
        item = self.files.get((identifier, kind))
        if item is None:
            return None
        return StoredFile(identifier, kind, "", len(item[0]), item[1], None, datetime.now(UTC))

    def read_file(self, identifier: str, kind: str = "original") -> bytes:
        item = self.files.get((identifier, kind))
        if item is None:
            raise RecordNotFound(f"no {kind} file of {identifier}")
        return item[0]

    def record_usage(self, usage: Usage, *, at: datetime | None = None) -> UsageRecord:
        if usage.reason is None and (usage.item_code is None or usage.case_number is None):
            raise RegistryError("a use needs a reason")
        rec = UsageRecord(len(self.usages) + 1, "e", usage, at or datetime.now(UTC), "", "")
        self.usages.append(rec)
        return rec

    def usage(
        self, *, identifier: str | None = None, app_id: str | None = None, after: int = 0, limit: int = 1000
    ) -> tuple[UsageRecord, ...]:
        rows = [
            u
            for u in self.usages
            if (identifier is None or u.usage.identifier == identifier)
            and (app_id is None or u.usage.app_id == app_id)
            and u.seq > after
        ]
        return tuple(rows[:limit])

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
    ) -> Application:
        app = Application(
            app_id,
            name,
            department,
            department_code,
            public_key,
            "active",
            token_allowed,
            frozenset(rights),
            datetime.now(UTC),
        )
        self.apps[app_id] = app
        return app

    def application(self, app_id: str) -> Application:
        try:
            return self.apps[app_id]
        except KeyError:
            raise RecordNotFound(f"no application {app_id}") from None

    def set_application_key(self, app_id: str, *, public_key: str | None, key_status: str) -> Application:
        app = replace(self.application(app_id), public_key=public_key, key_status=key_status)
        self.apps[app_id] = app
        return app

    def remember_nonce(self, app_id: str, nonce: str, *, at: datetime, keep_after: datetime) -> bool:
        with self.lock:
            if (app_id, nonce) in self.nonces:
                return False
            self.nonces.add((app_id, nonce))
            return True

    def add_token(self, token: str, app_id: str, *, issued_at: datetime, expires_at: datetime) -> None:
        self.tokens[token] = (app_id, issued_at, expires_at)

    def token_app(self, token: str, *, at: datetime) -> str | None:
        item = self.tokens.get(token)
        if item is None or not item[1] <= at < item[2]:
            return None
        return item[0]

    def add_ticket(
        self,
        ticket: str,
        identifier: str,
        kind: str,
        app_id: str,
        *,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        self.tickets[ticket] = [identifier, kind, app_id, expires_at, None]

    def record_copy(self, record: CopyRecord, content: bytes, *, operator: str, at: datetime) -> CopyRecord:
        self.get(record.identifier)
        self.files[(record.copy_id, "copy")] = (content, "application/ofd")
        self.copy_records.append(record)
        return record

    def redeem_ticket(self, ticket: str, *, at: datetime) -> tuple[str, str, str]:
        with self.lock:
            item = self.tickets.get(ticket)
            if item is None:
                raise DownloadRefused("no such download", reason="unknown")
            if item[4] is not None:
                raise DownloadRefused("used", reason="used")
            assert isinstance(item[3], datetime)
            if at >= item[3]:
                raise DownloadRefused("expired", reason="expired")
            item[4] = at
            return str(item[0]), str(item[1]), str(item[2])
