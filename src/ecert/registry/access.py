"""Who uses the library: usage records (用证记录), applications and their rights, request nonces,
access tokens, one-time download tickets and the annotated copies made for a use.

The share service keeps all of its state here, in the library's database, so that every server
worker (and every replica over one PostgreSQL primary) sees the same nonces, tokens and tickets.
Tokens and tickets are stored as SM3 digests: a database reader cannot replay them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from ecert.crypto.digests import sm3
from ecert.errors import DownloadRefused, InputError, RecordNotFound, RegistryError
from ecert.registry import arguments as arg
from ecert.registry.base import OPERATIONS, Application, CopyRecord, Right, Usage, UsageRecord
from ecert.registry.library import LibraryCore
from ecert.registry.sql import Tx
from ecert.registry.status import CertStatus
from ecert.registry.tables import TABLE_BY_NAME

__all__ = ["Library"]

_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)
_SECRET = re.compile(r"[A-Za-z0-9_-]{16,128}", re.ASCII)
_USAGE_COLUMNS = ", ".join(TABLE_BY_NAME["usage_records"].column_names)
_COPY_COLUMNS = ", ".join(TABLE_BY_NAME["annotated_copies"].column_names)
MAX_REASON = 200  # 用证事由, as real share services limit it


def _digest(secret: object, what: str) -> str:
    if not isinstance(secret, str) or not _SECRET.fullmatch(secret):
        raise InputError("not a well-formed secret", where=what, expected="16-128 URL-safe characters")
    return sm3(secret.encode("ascii")).hex()


def _check_usage(u: Usage) -> None:
    if not isinstance(u, Usage):
        raise InputError("must be Usage", where="usage", value=type(u).__name__)
    for value, what in (
        (u.app_id, "app_id"),
        (u.department, "department"),
        (u.operator, "operator"),
        (u.result, "result"),
    ):
        arg.nonempty_text(value, f"usage {what}")
    if u.operation not in OPERATIONS:
        raise InputError(
            "unknown operation",
            where="usage operation",
            value=u.operation,
            expected=", ".join(sorted(OPERATIONS)),
        )
    optional: tuple[tuple[str | None, str], ...] = (
        (u.identifier, "identifier"),
        (u.item_code, "item_code"),
        (u.case_number, "case_number"),
        (u.copy_id, "copy_id"),
    )
    for maybe, what in optional:
        if maybe is not None and len(arg.nonempty_text(maybe, f"usage {what}")) > 256:
            raise InputError(
                "too long", where=f"usage {what}", value=maybe, expected="at most 256 characters"
            )
    if u.reason is not None:
        reason = arg.nonempty_text(u.reason, "usage reason (用证事由)")
        if len(reason) > MAX_REASON:
            raise InputError(
                "use reason too long",
                where="usage reason (用证事由)",
                value=len(reason),
                expected=f"1 to {MAX_REASON} characters",
            )
    elif u.item_code is None or u.case_number is None:
        raise InputError(
            "a use needs a reason (用证事由), or a business item code (事项编码) with a case number (办件号)",
            where="usage",
        )


class Library(LibraryCore):
    """The library's usage log and the share service's access state (see the module docstring)."""

    # --- usage records --------------------------------------------------------------------------

    def record_usage(self, usage: Usage, *, at: datetime | None = None) -> UsageRecord:
        """Append a use to the usage chain (in the caller's :meth:`atomic` transaction, if any)."""
        _check_usage(usage)
        when = self.moment(at or datetime.now(UTC), "at")
        with self._write() as tx:
            entry = self._append(tx, "usage", "usage_records", self._usage_fields(usage, when))
        return UsageRecord(entry["seq"], entry["event_id"], usage, when, entry["prev_hash"], entry["hash"])

    @staticmethod
    def _usage_fields(u: Usage, when: datetime) -> dict[str, Any]:
        return {
            "identifier": u.identifier,
            "app_id": u.app_id,
            "department": u.department,
            "operator": u.operator,
            "operation": u.operation,
            "result": u.result,
            "reason": u.reason,
            "item_code": u.item_code,
            "case_number": u.case_number,
            "copy_id": u.copy_id,
            "at": when,
        }

    def _usage_record(self, row: Sequence[Any]) -> UsageRecord:
        usage = Usage(
            app_id=row[3],
            department=row[4],
            operator=row[5],
            operation=row[6],
            result=row[7],
            identifier=row[2],
            reason=row[8],
            item_code=row[9],
            case_number=row[10],
            copy_id=row[11],
        )
        return UsageRecord(row[0], row[1], usage, self.read_ts(row[12]), row[13], row[14])

    def usage(
        self, *, identifier: str | None = None, app_id: str | None = None, after: int = 0, limit: int = 1000
    ) -> tuple[UsageRecord, ...]:
        """Recorded uses, oldest first: of one certificate (what its holder sees), of one caller, or all."""
        where: list[str] = ["seq > ?"]
        args: list[object] = [after]
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise InputError("must be a non-negative integer", where="after", value=after)
        for column, value in (("identifier", identifier), ("app_id", app_id)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(arg.text(value, column))
        self._limit(limit, most=100_000)
        with self._read() as tx:
            rows = tx.rows(
                f"SELECT {_USAGE_COLUMNS} FROM usage_records WHERE {' AND '.join(where)} "
                "ORDER BY seq LIMIT ?",
                (*args, limit),
            )
        return tuple(self._usage_record(r) for r in rows)

    # --- applications ---------------------------------------------------------------------------

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
        """Register a calling application with the key its requests are signed with and its rights."""
        if not isinstance(app_id, str) or not _APP_ID.fullmatch(app_id):
            raise InputError(
                "not a usable application id",
                where="app_id",
                value=app_id,
                expected="1-64 ASCII letters, digits, '.', '_' or '-'",
            )
        arg.nonempty_text(name, "name")
        arg.nonempty_text(department, "department")
        arg.optional_text(department_code, "department_code")
        key = self._public_key(public_key)
        checked = self._rights(rights)
        now = datetime.now(UTC)
        with self._write() as tx:
            if tx.one("SELECT 1 FROM applications WHERE app_id=?", (app_id,)):
                raise RegistryError(f"application {app_id} is already registered")
            tx.run(
                "INSERT INTO applications VALUES (?, ?, ?, ?, ?, 'active', ?, ?)",
                (app_id, name, department, department_code, key, bool(token_allowed), self.ts(now)),
            )
            tx.many(
                "INSERT INTO application_rights VALUES (?, ?, ?, ?)",
                [(app_id, r.operation, r.type_code, r.sensitive) for r in checked],
            )
            return self._application(tx, app_id)

    @staticmethod
    def _public_key(pem: str | None) -> str | None:
        if pem is None:
            return None
        from ecert.crypto.keys import load_public_key

        if not isinstance(pem, str):
            raise InputError("public key must be PEM text", where="public_key", value=type(pem).__name__)
        load_public_key(pem.encode("utf-8", "replace"))  # raises an EcertError naming what is wrong
        return pem

    @staticmethod
    def _rights(rights: Sequence[Right]) -> frozenset[Right]:
        out = set()
        for r in rights:
            if not isinstance(r, Right):
                raise InputError("must be Right", where="rights", value=type(r).__name__)
            if r.operation not in OPERATIONS:
                raise InputError(
                    "unknown operation",
                    where="rights",
                    value=r.operation,
                    expected=", ".join(sorted(OPERATIONS)),
                )
            arg.nonempty_text(r.type_code, "rights type_code")
            out.add(r)
        return frozenset(out)

    def _application(self, tx: Tx, app_id: str) -> Application:
        row = tx.one(
            "SELECT app_id, name, department, department_code, public_key, key_status, token_allowed, "
            "created_at "
            "FROM applications WHERE app_id=?",
            (app_id,),
        )
        if row is None:
            raise RecordNotFound(f"no application {app_id} in {self.describe()}")
        rights = tx.rows(
            "SELECT operation, type_code, sensitive FROM application_rights WHERE app_id=?", (app_id,)
        )
        return Application(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            bool(row[6]),
            frozenset(Right(o, t, bool(s)) for o, t, s in rights),
            self.read_ts(row[7]),
        )

    def application(self, app_id: str) -> Application:
        arg.text(app_id, "app_id")
        with self._read() as tx:
            return self._application(tx, app_id)

    def applications(self) -> tuple[Application, ...]:
        with self._read() as tx:
            ids = [r[0] for r in tx.rows("SELECT app_id FROM applications ORDER BY app_id")]
            return tuple(self._application(tx, i) for i in ids)

    def set_application_key(self, app_id: str, *, public_key: str | None, key_status: str) -> Application:
        """Replace an application's key, or revoke it (``key_status='revoked'``: every request refused)."""
        arg.text(app_id, "app_id")
        if key_status not in ("active", "revoked"):
            raise InputError(
                "unknown key status", where="key_status", value=key_status, expected="active or revoked"
            )
        key = self._public_key(public_key)
        with self._write() as tx:
            if (
                tx.run(
                    "UPDATE applications SET public_key=?, key_status=? WHERE app_id=?",
                    (key, key_status, app_id),
                )
                != 1
            ):
                raise RecordNotFound(f"no application {app_id} in {self.describe()}")
            return self._application(tx, app_id)

    # --- nonces, tokens, tickets ----------------------------------------------------------------

    def remember_nonce(self, app_id: str, nonce: str, *, at: datetime, keep_after: datetime) -> bool:
        """Record a request nonce; False when it was seen already (a replay).  Forgets before keep_after."""
        arg.text(app_id, "app_id")
        if not isinstance(nonce, str) or not 8 <= len(nonce) <= 128 or not nonce.isascii():
            raise InputError(
                "not a usable nonce", where="nonce", value=nonce, expected="8-128 ASCII characters"
            )
        when, horizon = self.moment(at, "at"), self.moment(keep_after, "keep_after")
        with self._write() as tx:
            tx.run("DELETE FROM request_nonces WHERE seen_at < ?", (self.ts(horizon),))
            return (
                tx.run(
                    "INSERT INTO request_nonces VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (app_id, nonce, self.ts(when)),
                )
                == 1
            )

    def add_token(self, token: str, app_id: str, *, issued_at: datetime, expires_at: datetime) -> None:
        digest = _digest(token, "token")
        issued, expires = self.moment(issued_at, "issued_at"), self.moment(expires_at, "expires_at")
        with self._write() as tx:
            tx.run("DELETE FROM access_tokens WHERE expires_at < ?", (self.ts(issued),))
            tx.run(
                "INSERT INTO access_tokens VALUES (?, ?, ?, ?)",
                (digest, arg.text(app_id, "app_id"), self.ts(issued), self.ts(expires)),
            )

    def token_app(self, token: str, *, at: datetime) -> str | None:
        """The application a token was given to, while it is valid; None otherwise."""
        digest = _digest(token, "token")
        when = self.moment(at, "at")
        with self._read() as tx:
            row = tx.one(
                "SELECT app_id, issued_at, expires_at FROM access_tokens WHERE token_sm3=?", (digest,)
            )
        if row is None or not self.read_ts(row[1]) <= when < self.read_ts(row[2]):
            return None
        return str(row[0])

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
        """Record a one-time download (the ticket itself is not stored, only its SM3)."""
        digest = _digest(ticket, "ticket")
        created, expires = self.moment(created_at, "created_at"), self.moment(expires_at, "expires_at")
        with self._write() as tx:
            tx.run(
                "INSERT INTO download_tickets VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (
                    digest,
                    arg.text(identifier, "identifier"),
                    arg.text(kind, "kind"),
                    arg.text(app_id, "app_id"),
                    self.ts(created),
                    self.ts(expires),
                ),
            )

    def redeem_ticket(self, ticket: str, *, at: datetime) -> tuple[str, str, str]:
        """(identifier, kind, app_id) of a one-time download, marked used; DownloadRefused names why not."""
        try:
            digest = _digest(ticket, "ticket")
        except InputError:
            raise DownloadRefused("no such download", reason="unknown") from None
        when = self.moment(at, "at")
        with self._write() as tx:
            row = tx.one(
                f"SELECT identifier, kind, app_id, expires_at, used_at FROM download_tickets "
                f"WHERE ticket_sm3=?{self.for_update}",
                (digest,),
            )
            if row is None:
                raise DownloadRefused("no such download", reason="unknown")
            if row[4] is not None:
                raise DownloadRefused("this file was downloaded already; request it again", reason="used")
            if when >= self.read_ts(row[3]):
                raise DownloadRefused(
                    "this download expired (10 minutes); request it again", reason="expired"
                )
            tx.run("UPDATE download_tickets SET used_at=? WHERE ticket_sm3=?", (self.ts(when), digest))
        return row[0], row[1], row[2]

    # --- annotated copies -----------------------------------------------------------------------

    def record_copy(self, record: CopyRecord, content: bytes, *, operator: str, at: datetime) -> CopyRecord:
        """Keep an annotated copy of a recorded certificate: its JZJ* row, its file, a status-log event."""
        if not isinstance(record, CopyRecord):
            raise InputError("must be CopyRecord", where="record", value=type(record).__name__)
        arg.nonempty_text(record.copy_id, "copy_id")
        arg.nonempty_text(record.maker, "maker (JZJZZZ)")
        reason = arg.nonempty_text(record.reason, "reason (JZJZZSY)")
        if len(reason) > MAX_REASON:
            raise InputError(
                "copy reason too long",
                where="reason (JZJZZSY)",
                value=len(reason),
                expected=f"1 to {MAX_REASON} characters",
            )
        if record.level not in ("A", "B"):
            raise InputError("unknown copy level", where="level", value=record.level, expected="A or B")
        if not isinstance(record.valid_until, date) or isinstance(record.valid_until, datetime):
            raise InputError("must be a date", where="valid_until (JZJYXQJZSJ)", value=record.valid_until)
        made = self.moment(record.made_at, "made_at (JZJZZSJ)")
        when = self.moment(at, "at")
        data = self._check_content(content, record.package_digest, record.copy_id)
        with self._write() as tx:
            row = tx.one("SELECT status, version FROM certificates WHERE identifier=?", (record.identifier,))
            if row is None:
                raise RecordNotFound(f"no certificate {record.identifier} in {self.describe()}")
            if tx.one("SELECT 1 FROM annotated_copies WHERE copy_id=?", (record.copy_id,)):
                raise RegistryError(f"annotated copy {record.copy_id} is already recorded")
            tx.run(
                "INSERT INTO annotated_copies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.copy_id,
                    record.identifier,
                    record.level,
                    self.ts(made),
                    record.maker,
                    reason,
                    self.day(record.valid_until),
                    record.package_digest,
                    record.app_id,
                    record.usage_seq,
                ),
            )
            self._put_file(tx, record.copy_id, "copy", data, record.package_digest, "application/ofd", when)
            payload = {
                "copy_id": record.copy_id,
                "level": record.level,
                "made_at": made.isoformat(),
                "maker": record.maker,
                "reason": reason,
                "valid_until": record.valid_until.isoformat(),
                "package_digest": record.package_digest,
            }
            self._append_status(
                tx, "copy", record.identifier, row[1], CertStatus(row[0]), reason, operator, when, payload
            )
        return record

    def copies(self, identifier: str) -> tuple[CopyRecord, ...]:
        """The annotated copies made of a certificate, oldest first."""
        arg.text(identifier, "identifier")
        with self._read() as tx:
            rows = tx.rows(
                f"SELECT {_COPY_COLUMNS} FROM annotated_copies WHERE identifier=? ORDER BY made_at, copy_id",
                (identifier,),
            )
        return tuple(self._copy_record(r) for r in rows)

    def copy(self, copy_id: str) -> CopyRecord:
        """One annotated copy by its id (RecordNotFound when the library made none by that id)."""
        arg.text(copy_id, "copy_id")
        with self._read() as tx:
            row = tx.one(f"SELECT {_COPY_COLUMNS} FROM annotated_copies WHERE copy_id=?", (copy_id,))
        if row is None:
            raise RecordNotFound(f"no annotated copy {copy_id} in {self.describe()}")
        return self._copy_record(row)

    def _copy_record(self, r: Sequence[Any]) -> CopyRecord:
        return CopyRecord(
            r[0],
            r[1],
            r[2],
            self.read_ts(r[3]),
            r[4],
            r[5],
            self.read_day(r[6]) or date.min,
            r[7],
            r[8],
            r[9],
        )
