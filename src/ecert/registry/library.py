"""The certificate library (电子证照库, spec/library.md): records, holders, fields, status log, checks.

Its SQL is written once for every backend.  A certificate's core metadata are columns (GB/T 36903
codes in the specification), its holders and KZ_* fields are rows, its signed file is kept with its
SM3 (``registry.files``), and every status change is an event in a hash-chained, append-only log
from which the current status (kept in ``certificates.status`` in the same transaction) is derived.
Serials (``registry.serials``) and the catalogue (``registry.catalogue``) are the other stores the
library is made of; usage, applications and the share service's state are in ``registry.access``.

Two issuer codes: the identifier's issuer part (a USCC or a division code such as ``340100``) names
the serial space with the type; the issuing authority is ``metadata.issuer_code`` (ZZBFJGDM).
"Issuer" in queries and status lists means the authority.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from ecert.crypto.signer import Signer
from ecert.errors import EcertError, InputError, RecordNotFound, RegistryError
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.metadata.jsonform import from_json, to_json
from ecert.registry import arguments as arg
from ecert.registry.base import (
    ChainEvent,
    HistoryEntry,
    Holder,
    IssuedRecord,
    LibraryCheck,
    ReconciliationRow,
)
from ecert.registry.catalogue import CatalogueStore, canonical_json
from ecert.registry.chain import GENESIS, entry_hash
from ecert.registry.files import FileStore
from ecert.registry.serials import SerialStore
from ecert.registry.sql import Tx
from ecert.registry.status import CertStatus, StatusEntry, check_transition
from ecert.registry.statuslist import StatusList
from ecert.registry.tables import TABLE_BY_NAME

if TYPE_CHECKING:
    from ecert.catalog import CertificateType

__all__ = ["LibraryCore", "holder_code_types"]

_HEX = re.compile(r"[0-9a-f]{64}")

COLUMNS = (
    "identifier, metadata, package_digest, signer, issued_at, file_path, source_key, status, status_reason, "
    "status_changed_at, status_changed_by, replaced_by"
)
STATUS_COLUMNS = "identifier, status, status_reason, status_changed_at, replaced_by"
_CERT_COLUMNS = (
    "identifier",
    "certificate_name",
    "type_code",
    "number",
    "issuer_name",
    "issuer_code",
    "issue_date",
    "holder_name",
    "holder_code",
    "holder_code_type",
    "holder_code_type_code",
    "valid_from",
    "valid_until",
    "long_term",
    "area_code",
    "catalog_version",
    "issuer_part",
    "serial",
    "version",
    "metadata",
    "package_digest",
    "signer",
    "issued_at",
    "file_path",
    "source_key",
    "status",
    "status_reason",
    "status_changed_at",
    "status_changed_by",
    "replaced_by",
)
_EVENT_COLUMNS = ", ".join(TABLE_BY_NAME["status_events"].column_names)


@cache
def holder_code_types() -> dict[str, str]:
    """持证主体代码类型代码 -> name: the code list the library accepts (spec/codes/holder-code-types.json)."""
    text = (files("ecert") / "spec" / "codes" / "holder-code-types.json").read_text("utf-8")
    codes: dict[str, str] = json.loads(text)["codes"]
    return codes


class LibraryCore(SerialStore, CatalogueStore, FileStore):
    """The library over a backend's transactions; see the module docstring."""

    knows_every_certificate = True
    issuer_codes = None  # it answers for every certificate it holds, whoever issued it

    def __init__(self, file_store: str | Path | None = None) -> None:
        super().__init__()
        self.file_store = Path(file_store) if file_store is not None else None

    def close(self) -> None:
        """Release the backend's connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- rows -----------------------------------------------------------------------------------

    def _record(self, row: Sequence[Any]) -> IssuedRecord:
        try:
            metadata = from_json(row[1])
        except EcertError as exc:
            raise RegistryError(f"stored metadata of {row[0]} is unreadable: {exc}") from None
        return IssuedRecord(
            identifier=row[0],
            metadata=metadata,
            package_digest=row[2],
            signer=row[3],
            issued_at=self.read_ts(row[4]),
            file_path=row[5],
            source_key=row[6],
            status=CertStatus(row[7]),
            status_reason=row[8],
            status_changed_at=self.read_ts(row[9]),
            status_changed_by=row[10],
            replaced_by=row[11],
        )

    def _entry(self, row: Sequence[Any]) -> StatusEntry:
        return StatusEntry(row[0], CertStatus(row[1]), row[2], self.read_ts(row[3]), row[4])

    def _event(self, row: Sequence[Any]) -> ChainEvent:
        return ChainEvent(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            CertStatus(row[5]),
            row[6],
            row[7],
            self.read_ts(row[8]),
            row[9],
            row[10],
            row[11],
        )

    # --- records --------------------------------------------------------------------------------

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
    ) -> IssuedRecord:
        """Record a newly issued certificate (status VALID); its serial becomes ``issued``.

        ``content`` (the signed file, whose SM3 must be ``package_digest``) is kept in the library;
        ``cert_type`` is published if needed and the record keeps its catalogue version (without
        it: the latest published version, else the bundled definition).  A serial this library
        never allocated is accepted (certificates imported from another system); a serial
        recorded as a gap is refused, and so is a second version of a serial: new versions go
        through :meth:`renew`, which keeps the chain.
        """
        if not isinstance(metadata, CoreMetadata):
            raise InputError("must be CoreMetadata", where="metadata", value=type(metadata).__name__)
        with self._write() as tx:
            return self._insert(
                tx,
                metadata,
                package_digest,
                signer,
                issued_at,
                file_path,
                source_key,
                content,
                cert_type,
                co_holders,
                renewal=False,
            )

    def _holders(self, md: CoreMetadata, co_holders: Sequence[Holder]) -> list[Holder]:
        holders = [Holder(md.holder_name, md.holder_code, md.holder_code_type, md.holder_code_type_code)]
        for h in co_holders:
            if not isinstance(h, Holder):
                raise InputError("must be Holder", where="co_holders", value=type(h).__name__)
            for value, what in ((h.name, "CZZT"), (h.code, "CZZTDM"), (h.code_type, "CZZTDMLX")):
                arg.nonempty_text(value, f"co_holders {what}")
            holders.append(h)
        known = holder_code_types()
        for h in holders:
            if h.code_type_code not in known:
                raise RegistryError(
                    f"holder code type (CZZTDMLXDM) {h.code_type_code!r} of holder {h.name!r} is not in the "
                    f"library's code list (spec/codes/holder-code-types.json): {', '.join(known)}"
                )
        return holders

    def _certificate_row(
        self,
        md: CoreMetadata,
        *,
        catalog_version: int,
        metadata_json: str,
        digest: str,
        signer: str,
        issued_at: Any,
        file_path: str | None,
        source_key: str | None,
        status: tuple[str, str | None, Any, str | None, str | None],
    ) -> tuple[Any, ...]:
        """A ``certificates`` row in ``_CERT_COLUMNS`` order: the core metadata as columns, then the record.

        ``status`` is (status, reason, changed at, changed by, replaced by).  Issuing and the migration of
        older registries both build rows here, so the mapping of GB/T 36903 elements to columns is one.
        """
        ident = md.identifier
        day = self.day
        return (
            str(ident), md.certificate_name, md.type_code, md.number, md.issuer_name, md.issuer_code,
            day(md.issue_date), md.holder_name, md.holder_code, md.holder_code_type, md.holder_code_type_code,
            md.valid_from and day(md.valid_from), md.valid_until and day(md.valid_until), md.long_term,
            md.area_code, catalog_version, ident.issuer_code, ident.serial, ident.version, metadata_json,
            digest, signer, issued_at, file_path, source_key, *status,
        )  # fmt: skip

    def _insert(
        self,
        tx: Tx,
        md: CoreMetadata,
        digest: str,
        signer: str,
        issued_at: datetime,
        file_path: str | None,
        source_key: str | None,
        content: bytes | None,
        cert_type: CertificateType | None,
        co_holders: Sequence[Holder],
        *,
        renewal: bool,
    ) -> IssuedRecord:
        ident = md.identifier
        text, when = str(ident), self.moment(issued_at, "issued_at")
        if not isinstance(digest, str) or not _HEX.fullmatch(digest):
            raise InputError(
                "package digest must be 64 lowercase hex digits (SM3)", where="package_digest", value=digest
            )
        arg.nonempty_text(signer, "signer")
        arg.optional_text(file_path, "file_path")
        arg.optional_text(source_key, "source_key")
        holders = self._holders(md, co_holders)
        if content is not None:
            self._check_content(content, digest, text)
        if tx.one("SELECT 1 FROM certificates WHERE identifier=?", (text,)):
            raise RegistryError(f"certificate {text} (ZZBS) is already recorded")
        if source_key is not None:
            other = tx.one("SELECT identifier FROM certificates WHERE source_key=?", (source_key,))
            if other:
                raise RegistryError(f"source key {source_key!r} is already recorded, for {other[0]}")
        key = (ident.type_code, ident.issuer_code, ident.serial)
        latest = tx.one(
            "SELECT MAX(version) FROM certificates WHERE type_code=? AND issuer_part=? AND serial=?", key
        )
        if latest and latest[0] is not None and not renewal:
            raise RegistryError(
                f"{text}: serial {ident.serial} already has version {latest[0]:03d}; use renew()"
            )
        state = tx.one(
            "SELECT state, note FROM serials WHERE type_code=? AND issuer_part=? AND serial=?"
            + self.for_update,
            key,
        )
        stamp = self.ts(when)
        if state is None:
            tx.run(
                "INSERT INTO serials VALUES (?, ?, ?, '', 'issued', ?, ?, 'imported')", (*key, stamp, stamp)
            )
        elif state[0] == "gap":
            raise RegistryError(f"{text}: serial {ident.serial} was recorded as a gap ({state[1]})")
        elif state[0] == "allocated":
            tx.run(
                "UPDATE serials SET state='issued', closed_at=? "
                "WHERE type_code=? AND issuer_part=? AND serial=?",
                (stamp, *key),
            )
        version = self._catalog_version(tx, md.type_code, cert_type, when)
        metadata_json = to_json(md)
        values = self._certificate_row(
            md, catalog_version=version, metadata_json=metadata_json, digest=digest, signer=signer,
            issued_at=stamp, file_path=file_path, source_key=source_key,
            status=(CertStatus.VALID.value, None, stamp, signer, None),
        )  # fmt: skip
        placeholders = ", ".join("?" for _ in _CERT_COLUMNS)
        tx.run(f"INSERT INTO certificates ({', '.join(_CERT_COLUMNS)}) VALUES ({placeholders})", values)
        tx.many(
            "INSERT INTO certificate_holders VALUES (?, ?, ?, ?, ?, ?)",
            [(text, n, h.name, h.code, h.code_type, h.code_type_code) for n, h in enumerate(holders, 1)],
        )
        if md.extensions:
            tx.many(
                "INSERT INTO certificate_fields VALUES (?, ?, ?)", [(text, k, v) for k, v in md.extensions]
            )
        if content is not None:
            self._put_file(tx, text, "original", content, digest, "application/ofd", when)
        payload = {
            "metadata": metadata_json,
            "package_digest": digest,
            "signer": signer,
            "catalog_version": version,
            "holders": [[h.name, h.code, h.code_type, h.code_type_code] for h in holders],
        }
        self._append_status(
            tx, "issued", text, ident.version, CertStatus.VALID, "issued", signer, when, payload
        )
        valid = CertStatus.VALID
        return IssuedRecord(
            text, md, digest, signer, when, file_path, source_key, valid, None, when, signer, None
        )

    def get(self, identifier: str) -> IssuedRecord:
        arg.text(identifier, "identifier")
        with self._read() as tx:
            row = tx.one(f"SELECT {COLUMNS} FROM certificates WHERE identifier=?", (identifier,))
        if row is None:
            raise RecordNotFound(f"no certificate {identifier} in {self.describe()}")
        return self._record(row)

    def find_by_source_key(self, source_key: str) -> IssuedRecord | None:
        arg.text(source_key, "source_key")
        with self._read() as tx:
            row = tx.one(f"SELECT {COLUMNS} FROM certificates WHERE source_key=?", (source_key,))
        return self._record(row) if row else None

    def find(
        self,
        *,
        holder_code: str | None = None,
        holder_name: str | None = None,
        type_code: str | None = None,
        issuer_code: str | None = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
        status: CertStatus | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> tuple[IssuedRecord, ...]:
        """Records matching every criterion given; dates filter the issue date (颁证日期), inclusive.

        ``issuer_code`` is the issuing authority's code (ZZBFJGDM), not the identifier's issuer
        part; ``holder_code`` and ``holder_name`` match any holder of a multi-holder certificate.
        Ordered by issue time; ``offset`` pages through a long result.
        """
        where: list[str] = []
        args: list[Any] = []
        for column, value, name in (
            ("type_code", type_code, "type_code"),
            ("issuer_code", issuer_code, "issuer_code"),
        ):
            if value is not None:
                where.append(f"{column}=?")
                args.append(arg.text(value, name))
        for column, value, name in (
            ("holder_code", holder_code, "holder_code"),
            ("holder_name", holder_name, "holder_name"),
        ):
            if value is not None:
                where.append(f"identifier IN (SELECT identifier FROM certificate_holders WHERE {column}=?)")
                args.append(arg.text(value, name))
        for op, day, name in ((">=", issued_from, "issued_from"), ("<=", issued_to, "issued_to")):
            if day is not None:
                if isinstance(day, datetime) or not isinstance(day, date):
                    raise InputError("give a date (the filter is on the issue date)", where=name, value=day)
                where.append(f"issue_date{op}?")
                args.append(self.day(day))
        if status is not None:
            where.append("status=?")
            args.append(arg.status_value(status, "status").value)
        self._limit(limit)
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= 2**31:
            raise InputError("must be a non-negative integer", where="offset", value=offset)
        sql = f"SELECT {COLUMNS} FROM certificates"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._read() as tx:
            rows = tx.rows(sql + " ORDER BY issued_at, identifier LIMIT ? OFFSET ?", (*args, limit, offset))
        return tuple(self._record(r) for r in rows)

    def search(
        self,
        *,
        holder_code: str,
        holder_code_type_code: str | None = None,
        type_code: str | None = None,
        number: str | None = None,
        limit: int = 500,
    ) -> tuple[IssuedRecord, ...]:
        """A holder's certificates (any holder position), optionally of one type and number (证照检索)."""
        where = ["identifier IN (SELECT identifier FROM certificate_holders WHERE holder_code=?"]
        args: list[Any] = [arg.nonempty_text(holder_code, "holder_code")]
        if holder_code_type_code is not None:
            where[0] += " AND holder_code_type_code=?"
            args.append(arg.text(holder_code_type_code, "holder_code_type_code"))
        where[0] += ")"
        for column, value in (("type_code", type_code), ("number", number)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(arg.text(value, column))
        self._limit(limit)
        sql = f"SELECT {COLUMNS} FROM certificates WHERE {' AND '.join(where)} ORDER BY issued_at, identifier"
        with self._read() as tx:
            rows = tx.rows(sql + " LIMIT ?", (*args, limit))
        return tuple(self._record(r) for r in rows)

    def iter_records(self, *, batch: int = 1000) -> Iterator[IssuedRecord]:
        """Every record, by identifier, read ``batch`` rows at a time."""
        self._limit(batch, "batch", 100_000)
        last = ""
        while True:
            with self._read() as tx:
                rows = tx.rows(
                    f"SELECT {COLUMNS} FROM certificates WHERE identifier > ? ORDER BY identifier LIMIT ?",
                    (last, batch),
                )
            yield from (self._record(r) for r in rows)
            if len(rows) < batch:
                return
            last = rows[-1][0]

    def reconciliation_rows(self, *, after: str = "", limit: int = 5000) -> tuple[ReconciliationRow, ...]:
        """What reconciliation compares (``exchange.reconcile``), by identifier after ``after``:
        the columns alone, so that comparing two libraries of 100,000 certificates parses no metadata."""
        arg.text(after, "after")
        self._limit(limit, most=100_000)
        with self._read() as tx:
            rows = tx.rows(
                "SELECT identifier, issuer_code, type_code, issued_at, package_digest, status, "
                "status_changed_at FROM certificates WHERE identifier > ? ORDER BY identifier LIMIT ?",
                (after, limit),
            )
        read = self.read_ts
        return tuple(
            ReconciliationRow(r[0], r[1], r[2], read(r[3]), r[4], CertStatus(r[5]), read(r[6])) for r in rows
        )

    def holders(self, identifier: str) -> tuple[Holder, ...]:
        """Every holder of a certificate, the core metadata's first."""
        arg.text(identifier, "identifier")
        with self._read() as tx:
            rows = tx.rows(
                "SELECT holder_name, holder_code, holder_code_type, holder_code_type_code "
                "FROM certificate_holders WHERE identifier=? ORDER BY position",
                (identifier,),
            )
        if not rows:
            raise RecordNotFound(f"no certificate {identifier} in {self.describe()}")
        return tuple(Holder(*r) for r in rows)

    def fields(self, identifier: str) -> dict[str, str]:
        """The certificate's KZ_* face/extension fields."""
        arg.text(identifier, "identifier")
        with self._read() as tx:
            rows = tx.rows(
                "SELECT field_key, value FROM certificate_fields WHERE identifier=? ORDER BY field_key",
                (identifier,),
            )
        return {k: v for k, v in rows}

    def recorded_metadata(self, identifier: str) -> CoreMetadata | None:
        """The core metadata recorded when ``identifier`` was issued (None when unknown)."""
        arg.text(identifier, "identifier")
        with self._read() as tx:
            row = tx.one(f"SELECT {COLUMNS} FROM certificates WHERE identifier=?", (identifier,))
        return self._record(row).metadata if row else None

    # --- status ---------------------------------------------------------------------------------

    def _append(self, tx: Tx, chain: str, table: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Append ``fields`` to a hash chain (the chain head row is locked until the transaction ends)."""
        head = tx.one(f"SELECT seq, hash FROM chain_heads WHERE chain=?{self.for_update}", (chain,))
        if head is None:
            raise RegistryError(f"{self.describe()}: the head of the {chain} chain is missing")
        entry = {"seq": int(head[0]) + 1, "event_id": uuid.uuid4().hex, **fields, "prev_hash": head[1]}
        entry["hash"] = entry_hash(chain, entry)
        bound = [self.ts(v) if isinstance(v, datetime) else v for v in entry.values()]
        columns = ", ".join(entry)
        tx.run(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' for _ in entry)})", bound)
        tx.run("UPDATE chain_heads SET seq=?, hash=? WHERE chain=?", (entry["seq"], entry["hash"], chain))
        return entry

    def _append_status(
        self,
        tx: Tx,
        kind: str,
        identifier: str,
        version: int,
        status: CertStatus,
        reason: str | None,
        operator: str | None,
        at: datetime,
        payload: dict[str, Any],
    ) -> dict[str, Any]:
        fields = {
            "kind": kind,
            "identifier": identifier,
            "version": version,
            "status": status.value,
            "reason": reason,
            "operator": operator,
            "at": at,
            "payload": canonical_json(payload),
        }
        return self._append(tx, "status", "status_events", fields)

    def set_status(
        self, identifier: str, status: CertStatus, *, reason: str, by: str, at: datetime
    ) -> IssuedRecord:
        """Change a certificate's status, if the lifecycle allows it; an event in the status log.

        REPLACED is refused here: only :meth:`renew` sets it, together with the new version.
        """
        arg.text(identifier, "identifier")
        new = arg.status_value(status, "status")
        if new is CertStatus.REPLACED:
            raise RegistryError(f"{identifier}: a certificate becomes replaced only through renew()")
        with self._write() as tx:
            self._change(tx, identifier, new, reason, by, at, None)
        return self.get(identifier)

    def _change(
        self,
        tx: Tx,
        identifier: str,
        status: CertStatus,
        reason: str,
        by: str,
        at: datetime,
        replaced_by: str | None,
    ) -> None:
        when = self.moment(at, "at")
        arg.nonempty_text(reason, "reason")
        arg.nonempty_text(by, "by")
        row = tx.one(
            "SELECT status, status_changed_at, version FROM certificates WHERE identifier=?"
            + self.for_update,
            (identifier,),
        )
        if row is None:
            raise RecordNotFound(f"no certificate {identifier} in {self.describe()}")
        check_transition(identifier, CertStatus(row[0]), status)
        last = self.read_ts(row[1])
        if when < last:
            raise RegistryError(
                f"{identifier}: a change at {when.isoformat()} would precede the last one, "
                f"at {last.isoformat()}"
            )
        tx.run(
            "UPDATE certificates SET status=?, status_reason=?, status_changed_at=?, status_changed_by=?, "
            "replaced_by=? WHERE identifier=?",
            (status.value, reason, self.ts(when), by, replaced_by, identifier),
        )
        payload = {"replaced_by": replaced_by} if replaced_by else {}
        self._append_status(tx, "status", identifier, row[2], status, reason, by, when, payload)

    def revoke(self, identifier: str, *, reason: str, by: str, at: datetime) -> IssuedRecord:
        """吊销: ended for cause; final."""
        return self.set_status(identifier, CertStatus.REVOKED, reason=reason, by=by, at=at)

    def cancel(self, identifier: str, *, reason: str, by: str, at: datetime) -> IssuedRecord:
        """注销: ended (at the holder's request, or the holder ceased to exist); final."""
        return self.set_status(identifier, CertStatus.CANCELLED, reason=reason, by=by, at=at)

    def suspend(self, identifier: str, *, reason: str, by: str, at: datetime) -> IssuedRecord:
        """暂扣: not valid until reinstated."""
        return self.set_status(identifier, CertStatus.SUSPENDED, reason=reason, by=by, at=at)

    def reinstate(self, identifier: str, *, reason: str, by: str, at: datetime) -> IssuedRecord:
        """暂扣发还: a suspended certificate becomes valid again."""
        return self.set_status(identifier, CertStatus.VALID, reason=reason, by=by, at=at)

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
        content: bytes | None = None,
        cert_type: CertificateType | None = None,
    ) -> IssuedRecord:
        """Record ``new_metadata`` as the next version of ``identifier``, which becomes REPLACED.

        GB/T 36904 版本号: a renewal (年检, 续期) keeps type, issuer and serial and adds 1 to the
        version.  Both changes happen in one transaction, or neither does.
        """
        with self._write() as tx:
            return self._renew(
                tx, identifier, new_metadata, package_digest, signer, issued_at, issued_at, file_path,
                source_key, reason, by or signer, content, cert_type,
            )  # fmt: skip

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
        """Record a renewal another library made (the exchange): its new version and the old one
        replaced, in one transaction, exactly as that library's log says (reason, by, times).

        The checks of issuance from another library: the old version must be held here, the new one
        must be its next version with the same holder, and the old must not be replaced already (a
        second, different next version is a conflicting version: refused, never overwritten).
        Who may send it (the issuer's region) is the exchange's policy, checked before this call.
        """
        with self._write() as tx:
            arg.text(identifier, "identifier")
            row = tx.one(
                "SELECT status, replaced_by FROM certificates WHERE identifier=?" + self.for_update,
                (identifier,),
            )
            if row is None:
                raise RecordNotFound(
                    f"renewal of {identifier}, which is not in {self.describe()} (its first version "
                    "was never received, or was refused)"
                )
            if row[0] == CertStatus.REPLACED.value:
                raise RegistryError(
                    f"{identifier} is already replaced by {row[1]}: a second renewal "
                    f"({new_metadata.identifier if isinstance(new_metadata, CoreMetadata) else '?'}) "
                    "is a conflicting version, not recorded"
                )
            return self._renew(
                tx, identifier, new_metadata, package_digest, signer, issued_at,
                issued_at if replaced_at is None else replaced_at, None, None, reason, by, content, None,
            )  # fmt: skip

    def _renew(
        self,
        tx: Tx,
        identifier: str,
        new_metadata: CoreMetadata,
        package_digest: str,
        signer: str,
        issued_at: datetime,
        replaced_at: datetime,
        file_path: str | None,
        source_key: str | None,
        reason: str,
        by: str,
        content: bytes | None,
        cert_type: CertificateType | None,
    ) -> IssuedRecord:
        arg.text(identifier, "identifier")
        if not isinstance(new_metadata, CoreMetadata):
            raise InputError("must be CoreMetadata", where="new_metadata", value=type(new_metadata).__name__)
        new = new_metadata.identifier
        row = tx.one(
            "SELECT type_code, issuer_part, serial, version, holder_code FROM certificates "
            "WHERE identifier=?",
            (identifier,),
        )
        if row is None:
            raise RecordNotFound(f"no certificate {identifier} in {self.describe()}")
        if (new.type_code, new.issuer_code, new.serial, new.version) != (*row[:3], row[3] + 1):
            raise RegistryError(f"{new} is not the next version of {identifier}")
        if new_metadata.holder_code != row[4]:
            raise RegistryError(
                f"{new}: a renewal keeps the holder ({row[4]}), a new holder needs a new serial"
            )
        record = self._insert(
            tx, new_metadata, package_digest, signer, issued_at, file_path, source_key, content, cert_type,
            (), renewal=True,
        )  # fmt: skip
        self._change(tx, identifier, CertStatus.REPLACED, reason, by, replaced_at, str(new))
        return record

    def versions(self, identifier: str) -> tuple[IssuedRecord, ...]:
        """Every recorded version of the certificate's serial, oldest first (the renewal chain)."""
        ident = Identifier.parse(identifier, strict=False)
        with self._read() as tx:
            rows = tx.rows(
                f"SELECT {COLUMNS} FROM certificates WHERE type_code=? AND issuer_part=? AND serial=? "
                "ORDER BY version",
                (ident.type_code, ident.issuer_code, ident.serial),
            )
        return tuple(self._record(r) for r in rows)

    def history(self, identifier: str) -> tuple[HistoryEntry, ...]:
        """Every status of a certificate from its issuing on (the status log's events for it)."""
        arg.text(identifier, "identifier")
        with self._read() as tx:
            rows = tx.rows(
                "SELECT status, reason, operator, at FROM status_events "
                "WHERE identifier=? AND kind IN ('issued', 'status') ORDER BY seq",
                (identifier,),
            )
        return tuple(HistoryEntry(identifier, CertStatus(s), r, b, self.read_ts(a)) for s, r, b, a in rows)

    def events(self, *, after: int = 0, limit: int = 1000) -> tuple[ChainEvent, ...]:
        """The status log from sequence number ``after`` + 1 on (what an exchange sends)."""
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise InputError("must be a non-negative integer", where="after", value=after)
        self._limit(limit, most=100_000)
        with self._read() as tx:
            rows = tx.rows(
                f"SELECT {_EVENT_COLUMNS} FROM status_events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            )
        return tuple(self._event(r) for r in rows)

    def status_of(self, identifier: str) -> StatusEntry | None:
        arg.text(identifier, "identifier")
        with self._read() as tx:
            row = tx.one(f"SELECT {STATUS_COLUMNS} FROM certificates WHERE identifier=?", (identifier,))
        return self._entry(row) if row else None

    def non_valid(self, *, issuer_code: str | None = None) -> tuple[StatusEntry, ...]:
        """Every certificate whose status is not VALID, by identifier; of one issuing authority if given.

        ``issuer_code`` is matched against ``metadata.issuer_code`` (the department that issued and
        signs for the certificate), whatever issuer part (USCC or division code) the identifier has.
        """
        sql = f"SELECT {STATUS_COLUMNS} FROM certificates WHERE status != 'valid'"
        args: tuple[str, ...] = ()
        if issuer_code is not None:
            sql, args = sql + " AND issuer_code=?", (arg.text(issuer_code, "issuer_code"),)
        with self._read() as tx:
            rows = tx.rows(sql + " ORDER BY identifier", args)
        return tuple(self._entry(r) for r in rows)

    def export_status_list(
        self,
        signer: Signer,
        *,
        issued_at: datetime,
        next_update: datetime | None = None,
        issuer_code: str | None = None,
    ) -> bytes:
        """The signed status list (spec/statuslist.md) of every non-valid certificate.

        With ``issuer_code``, only the certificates that authority issued (see :meth:`non_valid`).
        """
        entries = self.non_valid(issuer_code=issuer_code)
        return StatusList.build(entries, issued_at=issued_at, next_update=next_update).sign(signer)

    # --- facts about the library ----------------------------------------------------------------

    @property
    def library_id(self) -> str:
        """This library's random id (``library_info``): how an exchange names where events came from."""
        value = self.info("library_id")
        if value is None:
            raise RegistryError(f"{self.describe()} has no library_id")
        return value

    def info(self, name: str) -> str | None:
        """A fact kept in ``library_info`` (an exchange keeps its cursors there), or None."""
        arg.nonempty_text(name, "name")
        with self._read() as tx:
            row = tx.one("SELECT value FROM library_info WHERE name=?", (name,))
        return None if row is None else str(row[0])

    def set_info(self, name: str, value: str) -> None:
        """Keep a fact in ``library_info`` (in the caller's :meth:`atomic` transaction, if any)."""
        arg.nonempty_text(name, "name")
        arg.text(value, "value")
        if name in ("library_id", "created_at"):
            raise RegistryError(f"{name} is fixed when the library is created")
        with self._write() as tx:
            tx.run(
                "INSERT INTO library_info VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value=excluded.value",
                (name, value),
            )

    # --- checking -------------------------------------------------------------------------------

    def check(self) -> LibraryCheck:
        """Verify both hash chains, every certificate's status against its log, every stored file."""
        from ecert.registry.check import check_library

        return check_library(self)

    def _genesis(self) -> str:
        return GENESIS
