"""The embedded certificate registry: one SQLite file in WAL mode, safe for several issuing processes.

Every write runs in a ``BEGIN IMMEDIATE`` transaction, so writers queue on SQLite's file lock
(``busy_timeout``) instead of failing when two processes issue at once, and readers never block.
A serial is recorded as ``allocated`` when it is handed out, before the certificate file exists;
``record_issued`` marks it ``issued``.  A crash in between leaves an open allocation that
:meth:`SQLiteRegistry.reconcile` turns into a recorded gap: serials are never handed out twice,
and every gap is accounted for.  Open one registry per process (connections cannot cross a fork).

Two issuer codes: a certificate's identifier carries an issuer part (the department's USCC or a
division code such as ``340100``), which with the type code names the serial space; the issuing
authority is ``metadata.issuer_code``, kept in ``authority_code``.  "Issuer" in queries and status
lists means the authority, since that is whose certificates a department lists and signs for.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ecert.crypto.signer import Signer
from ecert.errors import InputError, RegistryError
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.metadata.jsonform import to_json
from ecert.registry import arguments as arg
from ecert.registry import schema
from ecert.registry.base import Gap, HistoryEntry, IssuedRecord
from ecert.registry.status import CertStatus, StatusEntry, check_transition
from ecert.registry.statuslist import StatusList

__all__ = ["SQLiteRegistry"]

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_HEX = re.compile(r"[0-9a-f]+")
_MAX_INT = 2**63 - 1  # SQLite integers are 64-bit

class SQLiteRegistry:
    """A registry in one SQLite file; see the module docstring."""

    knows_every_certificate = True
    issuer_codes = None  # it answers for every certificate it holds, whoever issued it

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._connection = connection
        self._pid = os.getpid()
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> SQLiteRegistry:
        """Open (and with ``create``, create) the registry at ``path``; one per process."""
        name = os.fspath(path) if isinstance(path, os.PathLike) else path
        if not isinstance(name, str) or not name or "\x00" in name:
            raise InputError(
                "not a usable registry path", where="path", value=path, expected="a str or Path without NUL"
            )
        if not create and not Path(name).is_file():
            raise RegistryError(f"no registry at {name}")
        try:
            db = sqlite3.connect(name, timeout=30.0, isolation_level=None)
        except (sqlite3.Error, ValueError) as exc:  # ValueError: a name the file system cannot take
            raise RegistryError(f"cannot open registry {name!r}: {exc}") from None
        try:
            schema.prepare(db, name)
        except BaseException:
            db.close()
            raise
        return cls(db, str(path))

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> SQLiteRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return f"registry {self.path}"

    @property
    def _db(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            raise RegistryError("a registry connection cannot be used across a fork; open one per process")
        return self._connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: the write lock is taken up front (waiting up to busy_timeout)."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise RegistryError(f"{self.describe()}: cannot start a write: {exc}") from None
        try:
            yield db
        except sqlite3.Error as exc:
            schema.rollback(db)
            raise RegistryError(f"{self.describe()}: {exc}") from None
        except (UnicodeEncodeError, OverflowError) as exc:  # a value the checks above let through
            schema.rollback(db)
            raise InputError(f"a value cannot be stored: {exc}", where=self.describe()) from None
        except BaseException:
            schema.rollback(db)
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            schema.rollback(db)
            raise RegistryError(f"{self.describe()}: cannot commit: {exc}") from None

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise RegistryError(f"{self.describe()}: {exc}") from None
        except (UnicodeEncodeError, OverflowError) as exc:
            raise InputError(f"a value cannot be looked up: {exc}", where=self.describe()) from None

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
        """The next serial for (type, issuer, period), recorded as allocated; unique across processes.

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
        now = arg.timestamp(datetime.now(UTC), "now")
        with self._write() as db:
            row = db.execute(
                "SELECT next FROM counters WHERE type_code=? AND issuer_code=? AND period=?",
                (type_code, issuer_code, period),
            ).fetchone()
            n = self._free(db, type_code, issuer_code, period, head, digits, row[0] if row else 1)
            serial = f"{head}{n:0{digits}d}"
            db.execute(
                "INSERT INTO counters VALUES (?, ?, ?, ?) ON CONFLICT (type_code, issuer_code, period) "
                "DO UPDATE SET next=excluded.next",
                (type_code, issuer_code, period, n + 1),
            )
            db.execute(
                "INSERT INTO serials VALUES (?, ?, ?, ?, 'allocated', ?, NULL, NULL)",
                (type_code, issuer_code, serial, period, now),
            )
        return serial

    def _free(
        self,
        db: sqlite3.Connection,
        type_code: str,
        issuer_code: str,
        period: str,
        head: str,
        digits: int,
        n: int,
    ) -> int:
        """The first counter value from ``n`` whose serial is not taken (inside the write transaction).

        The walk reads the taken serials of the range in order, one step per taken serial, so it
        ends within the rows that exist (or at exhaustion of the width).
        """
        last = 10**digits - 1
        where = f"{type_code}/{issuer_code} period {period!r}"
        if n > last:
            raise RegistryError(f"serials for {where} exhausted at width {len(head) + digits}")
        rows = db.execute(
            "SELECT serial, period, note FROM serials "
            "WHERE type_code=? AND issuer_code=? AND serial BETWEEN ? AND ? ORDER BY serial",
            (type_code, issuer_code, f"{head}{n:0{digits}d}", f"{head}{last}"),
        )
        try:
            for serial, owner, note in rows:
                tail = serial[len(head) :]
                if len(tail) != digits or not _DIGITS.fullmatch(tail):
                    continue  # another shape (e.g. a longer imported serial): not in this space
                taken = int(tail)
                if taken > n:
                    break
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
        finally:
            rows.close()
        return n

    def record_gap(self, type_code: str, issuer_code: str, serial: str, reason: str) -> None:
        """Mark an allocated serial abandoned (the certificate will never be issued under it)."""
        for value, what in ((type_code, "type_code"), (issuer_code, "issuer_code"), (serial, "serial")):
            arg.text(value, what)
        arg.nonempty_text(reason, "reason")
        now = arg.timestamp(datetime.now(UTC), "now")
        with self._write() as db:
            cur = db.execute(
                "UPDATE serials SET state='gap', note=?, closed_at=? "
                "WHERE type_code=? AND issuer_code=? AND serial=? AND state='allocated'",
                (reason, now, type_code, issuer_code, serial),
            )
            if cur.rowcount != 1:
                raise RegistryError(f"serial {serial} of {type_code}/{issuer_code} is not an open allocation")

    def reconcile(self, older_than: datetime) -> int:
        """Turn allocations made before ``older_than`` and never issued into recorded gaps.

        Run it when no issuing is in flight (or with a cutoff older than any run in flight): an
        allocation turned into a gap can no longer be issued.  Returns how many gaps it recorded.
        """
        cutoff = arg.timestamp(older_than, "older_than")
        now = arg.timestamp(datetime.now(UTC), "now")
        with self._write() as db:
            cur = db.execute(
                "UPDATE serials SET state='gap', note='allocated but never issued (reconciled)', "
                "closed_at=? WHERE state='allocated' AND allocated_at < ?",
                (now, cutoff),
            )
            return cur.rowcount

    def serial_states(self, type_code: str, issuer_code: str) -> dict[str, str]:
        """Every serial of (type, identifier issuer part) with its state: allocated, issued or gap."""
        arg.text(type_code, "type_code")
        arg.text(issuer_code, "issuer_code")
        rows = self._rows(
            "SELECT serial, state FROM serials WHERE type_code=? AND issuer_code=? ORDER BY serial",
            (type_code, issuer_code),
        )
        return dict(rows)

    def gaps(self, type_code: str, issuer_code: str) -> tuple[Gap, ...]:
        """The recorded gaps of (type, identifier issuer part), by serial."""
        arg.text(type_code, "type_code")
        arg.text(issuer_code, "issuer_code")
        rows = self._rows(
            "SELECT serial, note, allocated_at, closed_at FROM serials "
            "WHERE type_code=? AND issuer_code=? AND state='gap' ORDER BY serial",
            (type_code, issuer_code),
        )
        return tuple(
            Gap(type_code, issuer_code, s, note, datetime.fromisoformat(a), datetime.fromisoformat(c))
            for s, note, a, c in rows
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
    ) -> IssuedRecord:
        """Record a newly issued certificate (status VALID); its serial becomes ``issued``.

        A serial this registry never allocated is accepted (certificates imported from another
        system); a serial recorded as a gap is refused, and so is a second version of a serial:
        new versions go through :meth:`renew`, which keeps the chain.
        """
        if not isinstance(metadata, CoreMetadata):
            raise InputError("must be CoreMetadata", where="metadata", value=type(metadata).__name__)
        with self._write() as db:
            return self._insert(
                db, metadata, package_digest, signer, issued_at, file_path, source_key, renewal=False
            )

    def _insert(
        self,
        db: sqlite3.Connection,
        md: CoreMetadata,
        digest: str,
        signer: str,
        issued_at: datetime,
        file_path: str | None,
        source_key: str | None,
        *,
        renewal: bool,
    ) -> IssuedRecord:
        ident = md.identifier
        text, when = str(ident), arg.timestamp(issued_at, "issued_at")
        if not isinstance(digest, str) or not _HEX.fullmatch(digest):
            raise InputError(
                "package digest must be lowercase hex (SM3)", where="package_digest", value=digest
            )
        arg.nonempty_text(signer, "signer")
        arg.optional_text(file_path, "file_path")
        arg.optional_text(source_key, "source_key")
        if db.execute("SELECT 1 FROM certificates WHERE identifier=?", (text,)).fetchone():
            raise RegistryError(f"certificate {text} is already recorded")
        if source_key is not None:
            other = db.execute(
                "SELECT identifier FROM certificates WHERE source_key=?", (source_key,)
            ).fetchone()
            if other:
                raise RegistryError(f"source key {source_key!r} is already recorded, for {other[0]}")
        key = (ident.type_code, ident.issuer_code, ident.serial)
        latest = db.execute(
            "SELECT MAX(version) FROM certificates WHERE type_code=? AND issuer_code=? AND serial=?", key
        ).fetchone()[0]
        if latest is not None and not renewal:
            raise RegistryError(
                f"{text}: serial {ident.serial} already has version {latest:03d}; use renew()"
            )
        state = db.execute(
            "SELECT state, note FROM serials WHERE type_code=? AND issuer_code=? AND serial=?", key
        ).fetchone()
        if state is None:
            db.execute(
                "INSERT INTO serials VALUES (?, ?, ?, '', 'issued', ?, ?, 'imported')", (*key, when, when)
            )
        elif state[0] == "gap":
            raise RegistryError(f"{text}: serial {ident.serial} was recorded as a gap ({state[1]})")
        elif state[0] == "allocated":
            db.execute(
                "UPDATE serials SET state='issued', closed_at=? "
                "WHERE type_code=? AND issuer_code=? AND serial=?",
                (when, *key),
            )
        db.execute(
            f"INSERT INTO certificates ({schema.INSERTED_COLUMNS}) VALUES ({schema.INSERTED_PLACEHOLDERS})",
            (text, *key, ident.version, md.holder_code, md.issue_date.isoformat(), to_json(md), digest,
             signer, when, file_path, source_key, CertStatus.VALID.value, None, when, signer, None,
             md.issuer_code),
        )  # fmt: skip
        db.execute("INSERT INTO history VALUES (NULL, ?, 'valid', 'issued', ?, ?)", (text, signer, when))
        moment = datetime.fromisoformat(when)
        valid = CertStatus.VALID
        return IssuedRecord(
            text, md, digest, signer, moment, file_path, source_key, valid, None, moment, signer, None
        )  # fmt: skip

    def get(self, identifier: str) -> IssuedRecord:
        arg.text(identifier, "identifier")
        rows = self._rows(f"SELECT {schema.COLUMNS} FROM certificates WHERE identifier=?", (identifier,))
        if not rows:
            raise RegistryError(f"no certificate {identifier} in {self.describe()}")
        return schema.record_from_row(rows[0])

    def find_by_source_key(self, source_key: str) -> IssuedRecord | None:
        arg.text(source_key, "source_key")
        rows = self._rows(f"SELECT {schema.COLUMNS} FROM certificates WHERE source_key=?", (source_key,))
        return schema.record_from_row(rows[0]) if rows else None

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
    ) -> tuple[IssuedRecord, ...]:
        """Records matching every criterion given; dates filter the issue date (颁证日期), inclusive.

        ``issuer_code`` is the issuing authority's code (``metadata.issuer_code``), not the
        identifier's issuer part, which may be a division code: "issuer" means who issued it.
        """
        where: list[str] = []
        args: list[Any] = []
        for column, value, name in (
            ("holder_code", holder_code, "holder_code"),
            ("type_code", type_code, "type_code"),
            ("authority_code", issuer_code, "issuer_code"),
        ):
            if value is not None:
                where.append(f"{column}=?")
                args.append(arg.text(value, name))
        for op, day, name in ((">=", issued_from, "issued_from"), ("<=", issued_to, "issued_to")):
            if day is not None:
                if isinstance(day, datetime) or not isinstance(day, date):
                    raise InputError("give a date (the filter is on the issue date)", where=name, value=day)
                where.append(f"issue_date{op}?")
                args.append(day.isoformat())
        if status is not None:
            where.append("status=?")
            args.append(arg.status_value(status, "status").value)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= _MAX_INT:
            raise InputError(
                "limit must be a positive integer", where="limit", value=limit, expected=f"1 to {_MAX_INT}"
            )
        sql = f"SELECT {schema.COLUMNS} FROM certificates"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._rows(sql + " ORDER BY issued_at, identifier LIMIT ?", (*args, limit))
        return tuple(schema.record_from_row(r) for r in rows)

    # --- status ---------------------------------------------------------------------------------

    def set_status(
        self, identifier: str, status: CertStatus, *, reason: str, by: str, at: datetime
    ) -> IssuedRecord:
        """Change a certificate's status, if the lifecycle allows it; recorded in the history.

        REPLACED is refused here: only :meth:`renew` sets it, together with the new version.
        """
        arg.text(identifier, "identifier")
        new = arg.status_value(status, "status")
        if new is CertStatus.REPLACED:
            raise RegistryError(f"{identifier}: a certificate becomes replaced only through renew()")
        with self._write() as db:
            self._change(db, identifier, new, reason, by, at, None)
        return self.get(identifier)

    def _change(
        self,
        db: sqlite3.Connection,
        identifier: str,
        status: CertStatus,
        reason: str,
        by: str,
        at: datetime,
        replaced_by: str | None,
    ) -> None:
        when = arg.timestamp(at, "at")
        arg.nonempty_text(reason, "reason")
        arg.nonempty_text(by, "by")
        row = db.execute(
            "SELECT status, status_changed_at FROM certificates WHERE identifier=?", (identifier,)
        ).fetchone()
        if row is None:
            raise RegistryError(f"no certificate {identifier} in {self.describe()}")
        check_transition(identifier, CertStatus(row[0]), status)
        if when < row[1]:
            raise RegistryError(f"{identifier}: a change at {when} would precede the last one, at {row[1]}")
        db.execute(
            "UPDATE certificates SET status=?, status_reason=?, status_changed_at=?, status_changed_by=?, "
            "replaced_by=? WHERE identifier=?",
            (status.value, reason, when, by, replaced_by, identifier),
        )
        db.execute(
            "INSERT INTO history VALUES (NULL, ?, ?, ?, ?, ?)", (identifier, status.value, reason, by, when)
        )

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
    ) -> IssuedRecord:
        """Record ``new_metadata`` as the next version of ``identifier``, which becomes REPLACED.

        GB/T 36904 版本号: a renewal (年检, 续期) keeps type, issuer and serial and adds 1 to the
        version.  Both changes happen in one transaction, or neither does.
        """
        arg.text(identifier, "identifier")
        if not isinstance(new_metadata, CoreMetadata):
            raise InputError("must be CoreMetadata", where="new_metadata", value=type(new_metadata).__name__)
        new = new_metadata.identifier
        with self._write() as db:
            row = db.execute(
                "SELECT type_code, issuer_code, serial, version, holder_code "
                "FROM certificates WHERE identifier=?",
                (identifier,),
            ).fetchone()
            if row is None:
                raise RegistryError(f"no certificate {identifier} in {self.describe()}")
            if (new.type_code, new.issuer_code, new.serial, new.version) != (*row[:3], row[3] + 1):
                raise RegistryError(f"{new} is not the next version of {identifier}")
            if new_metadata.holder_code != row[4]:
                raise RegistryError(
                    f"{new}: a renewal keeps the holder ({row[4]}), a new holder needs a new serial"
                )
            record = self._insert(
                db, new_metadata, package_digest, signer, issued_at, file_path, source_key, renewal=True
            )
            self._change(db, identifier, CertStatus.REPLACED, reason, by or signer, issued_at, str(new))
        return record

    def versions(self, identifier: str) -> tuple[IssuedRecord, ...]:
        """Every recorded version of the certificate's serial, oldest first (the renewal chain)."""
        ident = Identifier.parse(identifier, strict=False)
        rows = self._rows(
            f"SELECT {schema.COLUMNS} FROM certificates "
            "WHERE type_code=? AND issuer_code=? AND serial=? ORDER BY version",
            (ident.type_code, ident.issuer_code, ident.serial),
        )
        return tuple(schema.record_from_row(r) for r in rows)

    def history(self, identifier: str) -> tuple[HistoryEntry, ...]:
        arg.text(identifier, "identifier")
        rows = self._rows(
            "SELECT status, reason, changed_by, changed_at FROM history WHERE identifier=? ORDER BY id",
            (identifier,),
        )
        return tuple(
            HistoryEntry(identifier, CertStatus(s), r, b, datetime.fromisoformat(a)) for s, r, b, a in rows
        )

    def recorded_metadata(self, identifier: str) -> CoreMetadata | None:
        """The core metadata recorded when ``identifier`` was issued (None when unknown)."""
        arg.text(identifier, "identifier")
        rows = self._rows(f"SELECT {schema.COLUMNS} FROM certificates WHERE identifier=?", (identifier,))
        return schema.record_from_row(rows[0]).metadata if rows else None

    def status_of(self, identifier: str) -> StatusEntry | None:
        arg.text(identifier, "identifier")
        sql = f"SELECT {schema.STATUS_COLUMNS} FROM certificates WHERE identifier=?"
        rows = self._rows(sql, (identifier,))
        return schema.entry_from_row(rows[0]) if rows else None

    def non_valid(self, *, issuer_code: str | None = None) -> tuple[StatusEntry, ...]:
        """Every certificate whose status is not VALID, by identifier; of one issuing authority if given.

        ``issuer_code`` is matched against ``metadata.issuer_code`` (the department that issued and
        signs for the certificate), whatever issuer part (USCC or division code) the identifier has.
        """
        sql = f"SELECT {schema.STATUS_COLUMNS} FROM certificates WHERE status != 'valid'"
        args: tuple[str, ...] = ()
        if issuer_code is not None:
            sql, args = sql + " AND authority_code=?", (arg.text(issuer_code, "issuer_code"),)
        return tuple(schema.entry_from_row(r) for r in self._rows(sql + " ORDER BY identifier", args))

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
