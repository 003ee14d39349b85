"""The library's serials (流水号): allocated before the file exists, then issued or a recorded gap.

A serial is handed out per (type, the identifier's issuer part, period) with the counter row locked,
recorded ``allocated``, marked ``issued`` by the record; ``reconcile`` turns allocations never issued
into gaps.  So no serial is handed out twice, and none is lost unaccounted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ecert.errors import InputError, RegistryError
from ecert.identifier import Identifier
from ecert.registry import arguments as arg
from ecert.registry.base import Gap
from ecert.registry.sql import SQLBackend, Tx

__all__ = ["SerialStore"]

_DIGITS = re.compile(r"[0-9]+", re.ASCII)


class SerialStore(SQLBackend):
    """Serial allocation, gaps and reconciliation (``counters``, ``serials``)."""

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
