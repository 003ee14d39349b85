"""The certificate library (电子证照库, spec/library.md): its SQL, written once for every backend.

Serials are allocated per (type, identifier issuer part, period) and recorded as ``allocated``
before the file exists; ``record_issued`` marks them ``issued``, ``reconcile`` turns abandoned
ones into recorded gaps, so no serial is handed out twice and none is lost unaccounted.  A
certificate's core metadata are columns (GB/T 36903 codes in the specification), its holders and
KZ_* fields are rows, its signed file is kept with its SM3 digest (checked on every read), and
every status change is an event in a hash-chained, append-only log from which the current status
(kept in ``certificates.status`` in the same transaction) is derived.

Two issuer codes: the identifier's issuer part (a USCC or a division code such as ``340100``) names
the serial space with the type; the issuing authority is ``metadata.issuer_code`` (ZZBFJGDM).
"Issuer" in queries and status lists means the authority.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from ecert.crypto.digests import sm3
from ecert.crypto.signer import Signer
from ecert.errors import EcertError, InputError, RecordNotFound, RegistryError
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.metadata.jsonform import from_json, to_json
from ecert.registry import arguments as arg
from ecert.registry.base import (
    ChainEvent,
    Gap,
    HistoryEntry,
    Holder,
    IssuedRecord,
    LibraryCheck,
    PublishedField,
    PublishedType,
    StoredFile,
)
from ecert.registry.chain import GENESIS, entry_hash
from ecert.registry.sql import SQLBackend, Tx
from ecert.registry.status import CertStatus, StatusEntry, check_transition
from ecert.registry.statuslist import StatusList

if TYPE_CHECKING:
    from ecert.catalog import CertificateType

__all__ = ["LibraryCore", "holder_code_types"]

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_HEX = re.compile(r"[0-9a-f]{64}")
_FILE_KINDS = ("original", "face", "copy")
MAX_FILE = 64 * 1024 * 1024  # a certificate file larger than this is not a certificate

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
_EVENT_COLUMNS = (
    "seq, event_id, kind, identifier, version, status, reason, operator, at, payload, prev_hash, hash"
)


@cache
def holder_code_types() -> dict[str, str]:
    """持证主体代码类型代码 -> name: the code list the library accepts (spec/codes/holder-code-types.json)."""
    text = (files("ecert") / "spec" / "codes" / "holder-code-types.json").read_text("utf-8")
    codes: dict[str, str] = json.loads(text)["codes"]
    return codes


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class LibraryCore(SQLBackend):
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

    # --- the catalogue (GB/T 36902) -------------------------------------------------------------

    def publish_type(self, cert_type: CertificateType, *, at: datetime | None = None) -> PublishedType:
        """Publish a type definition; the same definition again is the same version (idempotent)."""
        from ecert.catalog import CertificateType

        if not isinstance(cert_type, CertificateType):
            raise InputError("must be a CertificateType", where="cert_type", value=type(cert_type).__name__)
        when = self.moment(at or datetime.now(UTC), "at")
        with self._write() as tx:
            return self._publish(tx, cert_type, when)

    def _publish(self, tx: Tx, t: CertificateType, when: datetime) -> PublishedType:
        self._lock(tx, f"catalog {t.code}")  # two first records of a type publish it once
        definition = _json(_plain(asdict(t)))
        digest = sm3(definition.encode("utf-8")).hex()
        row = tx.one(
            "SELECT catalog_version FROM catalog_types WHERE type_code=? AND definition_sm3=?",
            (t.code, digest),
        )
        if row is not None:
            return self._published(tx, t.code, row[0])
        latest = tx.one("SELECT MAX(catalog_version) FROM catalog_types WHERE type_code=?", (t.code,))
        version = (latest[0] if latest and latest[0] is not None else 0) + 1
        tx.run(
            "INSERT INTO catalog_types VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                t.code,
                version,
                t.name,
                t.defining_authority.name,
                t.defining_authority.code,
                t.holder_kind.value,
                _json(_plain(asdict(t.validity))),
                t.status_profile,
                definition,
                digest,
                self.ts(when),
            ),
        )
        tx.many(
            "INSERT INTO catalog_fields VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (t.code, version, n, i.name, i.label, i.required, i.sensitive, i.max_length)
                for n, i in enumerate(t.items, 1)
            ],
        )
        return self._published(tx, t.code, version)

    def _published(self, tx: Tx, type_code: str, version: int | None) -> PublishedType:
        if version is None:
            row = tx.one("SELECT MAX(catalog_version) FROM catalog_types WHERE type_code=?", (type_code,))
            version = row[0] if row else None
            if version is None:
                raise RecordNotFound(f"certificate type {type_code} is not published in {self.describe()}")
        row = tx.one(
            "SELECT type_code, catalog_version, type_name, defining_authority, defining_authority_code, "
            "holder_category, validity_rule, status_profile, definition, definition_sm3, published_at "
            "FROM catalog_types WHERE type_code=? AND catalog_version=?",
            (type_code, version),
        )
        if row is None:
            raise RecordNotFound(f"certificate type {type_code} version {version} is not published")
        fields = tx.rows(
            "SELECT field_key, label, required, sensitive, max_length FROM catalog_fields "
            "WHERE type_code=? AND catalog_version=? ORDER BY position",
            (type_code, version),
        )
        return PublishedType(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            published_at=self.read_ts(row[10]),
            fields=tuple(PublishedField(k, lbl, bool(r), bool(s), m) for k, lbl, r, s, m in fields),
        )

    def published_type(self, type_code: str, catalog_version: int | None = None) -> PublishedType:
        """A published type: the given version, or the latest."""
        arg.text(type_code, "type_code")
        if catalog_version is not None:
            self._limit(catalog_version, "catalog_version")
        with self._read() as tx:
            return self._published(tx, type_code, catalog_version)

    def published_types(self) -> tuple[PublishedType, ...]:
        """The latest version of every published type, by type code."""
        with self._read() as tx:
            codes = [r[0] for r in tx.rows("SELECT DISTINCT type_code FROM catalog_types ORDER BY type_code")]
            return tuple(self._published(tx, code, None) for code in codes)

    def _catalog_version(
        self, tx: Tx, type_code: str, cert_type: CertificateType | None, when: datetime
    ) -> int:
        if cert_type is not None:
            if cert_type.code != type_code:
                raise RegistryError(
                    f"the certificate's type code {type_code} is not the given type's ({cert_type.code})"
                )
            return self._publish(tx, cert_type, when).catalog_version
        row = tx.one("SELECT MAX(catalog_version) FROM catalog_types WHERE type_code=?", (type_code,))
        if row and row[0] is not None:
            return int(row[0])
        from ecert.catalog import default_catalog

        try:
            bundled = default_catalog().get(type_code)
        except (KeyError, EcertError):
            raise RegistryError(
                f"certificate type {type_code} is not published in {self.describe()}: publish its "
                "definition first (publish_type, or give cert_type)"
            ) from None
        return self._publish(tx, bundled, when).catalog_version

    # --- serials --------------------------------------------------------------------------------

    def allocate_serial(
        self,
        type_code: str,
        issuer_code: str,
        *,
        period: str = "",
        width: int = 10,
        prefix: str | None = None,
    ) -> str:
        """The next serial for (type, issuer part, period), recorded as allocated; unique across processes.

        ``issuer_code`` is the identifier's issuer part (a USCC or a division code): with the type it
        names the serial space.  The serial is ``prefix`` (default: the period) followed by the
        counter zero-padded to ``width`` characters in all, e.g. ``2026000001``.  Counters run per
        period (ASCII letters and digits, case-insensitive), so a new year starts at 1.  A serial
        already taken by an imported certificate is skipped; one taken under another period is
        refused: the prefix must keep periods apart.
        """
        period = arg.period(period)
        if prefix is None:
            head = period
        elif isinstance(prefix, str) and arg.ALNUM.fullmatch(prefix):
            head = prefix.upper()
        else:
            raise InputError("prefix must be ASCII letters and digits", where="prefix", value=prefix)
        if not isinstance(width, int) or isinstance(width, bool) or width > 64 or width - len(head) < 1:
            expected = f"an integer from {len(head) + 1} to 64 (the prefix {head!r} and at least one digit)"
            raise InputError(
                "width does not fit the prefix and counter", where="width", value=width, expected=expected
            )
        digits = width - len(head)
        Identifier.build(type_code, issuer_code, head + "1" * digits)  # codes are checked before writing
        now = self.ts(datetime.now(UTC))
        key = (type_code, issuer_code, period)
        with self._write() as tx:
            tx.run("INSERT INTO counters VALUES (?, ?, ?, 1) ON CONFLICT DO NOTHING", key)
            row = tx.one(
                "SELECT next FROM counters WHERE type_code=? AND issuer_part=? AND period=?"
                + self.for_update,
                key,
            )
            n = self._free(tx, type_code, issuer_code, period, head, digits, row[0] if row else 1)
            serial = f"{head}{n:0{digits}d}"
            tx.run(
                "UPDATE counters SET next=? WHERE type_code=? AND issuer_part=? AND period=?", (n + 1, *key)
            )
            tx.run(
                "INSERT INTO serials VALUES (?, ?, ?, ?, 'allocated', ?, NULL, NULL)",
                (type_code, issuer_code, serial, period, now),
            )
        return serial

    def _free(
        self, tx: Tx, type_code: str, issuer_code: str, period: str, head: str, digits: int, n: int
    ) -> int:
        """The first counter value from ``n`` whose serial is not taken (inside the write transaction)."""
        last = 10**digits - 1
        where = f"{type_code}/{issuer_code} period {period!r}"
        while True:
            if n > last:
                raise RegistryError(f"serials for {where} exhausted at width {len(head) + digits}")
            rows = tx.rows(
                "SELECT serial, period, note FROM serials WHERE type_code=? AND issuer_part=? "
                "AND serial >= ? AND serial <= ? ORDER BY serial LIMIT 256",
                (type_code, issuer_code, f"{head}{n:0{digits}d}", f"{head}{last}"),
            )
            for serial, owner, note in rows:
                tail = serial[len(head) :]
                if len(tail) != digits or not _DIGITS.fullmatch(tail):
                    continue  # another shape (e.g. a longer imported serial): not in this space
                taken = int(tail)
                if taken > n:
                    return n
                if taken < n:
                    continue
                if owner != period and not (owner == "" and note == "imported"):
                    raise RegistryError(
                        f"serial {serial} already exists for {type_code}/{issuer_code}, allocated for "
                        f"period {owner!r}: the prefix {head!r} is shared with another period"
                    )
                n += 1
                if n > last:
                    raise RegistryError(f"serials for {where} exhausted at width {len(head) + digits}")
            if len(rows) < 256:
                return n

    def record_gap(self, type_code: str, issuer_code: str, serial: str, reason: str) -> None:
        """Mark an allocated serial abandoned (the certificate will never be issued under it)."""
        for value, what in ((type_code, "type_code"), (issuer_code, "issuer_code"), (serial, "serial")):
            arg.text(value, what)
        arg.nonempty_text(reason, "reason")
        now = self.ts(datetime.now(UTC))
        with self._write() as tx:
            changed = tx.run(
                "UPDATE serials SET state='gap', note=?, closed_at=? "
                "WHERE type_code=? AND issuer_part=? AND serial=? AND state='allocated'",
                (reason, now, type_code, issuer_code, serial),
            )
            if changed != 1:
                raise RegistryError(f"serial {serial} of {type_code}/{issuer_code} is not an open allocation")

    def reconcile(self, older_than: datetime) -> int:
        """Turn allocations made before ``older_than`` and never issued into recorded gaps.

        Run it when no issuing is in flight (or with a cutoff older than any run in flight): an
        allocation turned into a gap can no longer be issued.  Returns how many gaps it recorded.
        """
        cutoff = self.ts(self.moment(older_than, "older_than"))
        now = self.ts(datetime.now(UTC))
        with self._write() as tx:
            return tx.run(
                "UPDATE serials SET state='gap', note='allocated but never issued (reconciled)', "
                "closed_at=? WHERE state='allocated' AND allocated_at < ?",
                (now, cutoff),
            )

    def serial_states(self, type_code: str, issuer_code: str) -> dict[str, str]:
        """Every serial of (type, identifier issuer part) with its state: allocated, issued or gap."""
        arg.text(type_code, "type_code")
        arg.text(issuer_code, "issuer_code")
        with self._read() as tx:
            rows = tx.rows(
                "SELECT serial, state FROM serials WHERE type_code=? AND issuer_part=? ORDER BY serial",
                (type_code, issuer_code),
            )
        return {s: st for s, st in rows}

    def gaps(self, type_code: str, issuer_code: str) -> tuple[Gap, ...]:
        """The recorded gaps of (type, identifier issuer part), by serial."""
        arg.text(type_code, "type_code")
        arg.text(issuer_code, "issuer_code")
        with self._read() as tx:
            rows = tx.rows(
                "SELECT serial, note, allocated_at, closed_at FROM serials "
                "WHERE type_code=? AND issuer_part=? AND state='gap' ORDER BY serial",
                (type_code, issuer_code),
            )
        return tuple(
            Gap(type_code, issuer_code, s, note, self.read_ts(a), self.read_ts(c)) for s, note, a, c in rows
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
        values = (
            text,
            md.certificate_name,
            md.type_code,
            md.number,
            md.issuer_name,
            md.issuer_code,
            self.day(md.issue_date),
            md.holder_name,
            md.holder_code,
            md.holder_code_type,
            md.holder_code_type_code,
            md.valid_from and self.day(md.valid_from),
            md.valid_until and self.day(md.valid_until),
            md.long_term,
            md.area_code,
            version,
            ident.issuer_code,
            ident.serial,
            ident.version,
            metadata_json,
            digest,
            signer,
            stamp,
            file_path,
            source_key,
            CertStatus.VALID.value,
            None,
            stamp,
            signer,
            None,
        )
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

    # --- files ----------------------------------------------------------------------------------

    @staticmethod
    def _check_content(content: object, digest: str, identifier: str) -> bytes:
        if not isinstance(content, bytes | bytearray):
            raise InputError("file content must be bytes", where=identifier, value=type(content).__name__)
        if len(content) > MAX_FILE:
            raise InputError(
                "file too large for the library",
                where=identifier,
                value=len(content),
                expected=f"at most {MAX_FILE} bytes",
            )
        actual = sm3(bytes(content)).hex()
        if actual != digest:
            raise RegistryError(f"{identifier}: the file's SM3 is {actual}, not the recorded {digest}")
        return bytes(content)

    def _put_file(
        self,
        tx: Tx,
        identifier: str,
        kind: str,
        content: bytes,
        digest: str,
        content_type: str,
        when: datetime,
    ) -> StoredFile:
        path: str | None = None
        if self.file_store is not None:
            target = self.file_store / digest[:2] / digest
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                temp = target.with_name(f".{digest}.{os.getpid()}.tmp")
                with open(temp, "wb") as f:
                    f.write(content)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temp, target)
            path = str(target)
        tx.run(
            "INSERT INTO certificate_files VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (identifier, kind) DO UPDATE "
            "SET digest=excluded.digest, size=excluded.size, content_type=excluded.content_type, "
            "content=excluded.content, store_path=excluded.store_path, created_at=excluded.created_at",
            (
                identifier,
                kind,
                digest,
                len(content),
                content_type,
                None if path else content,
                path,
                self.ts(when),
            ),
        )
        return StoredFile(identifier, kind, digest, len(content), content_type, path, when)

    def store_file(
        self, identifier: str, kind: str, content: bytes, *, content_type: str = "application/ofd"
    ) -> StoredFile:
        """Keep a file for a recorded certificate (or annotated copy): its face PNG, say."""
        arg.text(identifier, "identifier")
        if kind not in _FILE_KINDS:
            raise InputError("unknown file kind", where="kind", value=kind, expected=", ".join(_FILE_KINDS))
        arg.nonempty_text(content_type, "content_type")
        if not isinstance(content, bytes | bytearray):
            raise InputError("file content must be bytes", where=identifier, value=type(content).__name__)
        data = self._check_content(content, sm3(bytes(content)).hex(), identifier)
        with self._write() as tx:
            known = tx.one("SELECT 1 FROM certificates WHERE identifier=?", (identifier,)) or tx.one(
                "SELECT 1 FROM annotated_copies WHERE copy_id=?", (identifier,)
            )
            if known is None:
                raise RecordNotFound(f"no certificate {identifier} in {self.describe()}")
            return self._put_file(
                tx, identifier, kind, data, sm3(data).hex(), content_type, datetime.now(UTC)
            )

    def stored_file(self, identifier: str, kind: str = "original") -> StoredFile | None:
        arg.text(identifier, "identifier")
        with self._read() as tx:
            row = tx.one(
                "SELECT digest, size, content_type, store_path, created_at FROM certificate_files "
                "WHERE identifier=? AND kind=?",
                (identifier, kind),
            )
        if row is None:
            return None
        return StoredFile(identifier, kind, row[0], row[1], row[2], row[3], self.read_ts(row[4]))

    def read_file(self, identifier: str, kind: str = "original") -> bytes:
        """A stored file's bytes, after checking them against the recorded SM3 digest."""
        arg.text(identifier, "identifier")
        with self._read() as tx:
            row = tx.one(
                "SELECT digest, content, store_path FROM certificate_files WHERE identifier=? AND kind=?",
                (identifier, kind),
            )
        if row is None:
            raise RecordNotFound(f"no {kind} file of {identifier} in {self.describe()}")
        data = self._file_bytes(identifier, kind, row[1], row[2])
        if sm3(data).hex() != row[0]:
            raise RegistryError(f"the stored {kind} file of {identifier} is damaged: its SM3 is not {row[0]}")
        return data

    def _file_bytes(self, identifier: str, kind: str, content: Any, path: str | None) -> bytes:
        if content is not None:
            return bytes(content)
        if path is None:
            raise RegistryError(f"the {kind} file of {identifier} has neither content nor a store path")
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise RegistryError(
                f"the {kind} file of {identifier} cannot be read from {path}: {exc}"
            ) from None

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
            "payload": _json(payload),
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
        arg.text(identifier, "identifier")
        if not isinstance(new_metadata, CoreMetadata):
            raise InputError("must be CoreMetadata", where="new_metadata", value=type(new_metadata).__name__)
        new = new_metadata.identifier
        with self._write() as tx:
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
                tx,
                new_metadata,
                package_digest,
                signer,
                issued_at,
                file_path,
                source_key,
                content,
                cert_type,
                (),
                renewal=True,
            )
            self._change(tx, identifier, CertStatus.REPLACED, reason, by or signer, issued_at, str(new))
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
