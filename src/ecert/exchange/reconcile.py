"""Reconciliation (对账): do two libraries hold the same certificates?  Compared group by group.

A library's summary gives, per (issuer code, type code, day issued in China time), the number of
certificates and a head: SM3 over the sorted lines ``identifier|file SM3|status|status time``.
Two summaries are compared group by group and every group whose count or head differs is named;
with both libraries at hand, the identifiers that differ within those groups are named too.
The cost is one pass over each library's records (linear in its size), reading only the columns
compared (``Registry.reconciliation_rows``): no metadata is parsed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from ecert.crypto.digests import sm3
from ecert.errors import InputError
from ecert.registry.base import ReconciliationRow, Registry
from ecert.times import china_date

__all__ = [
    "SUMMARY_FORMAT",
    "Difference",
    "compare",
    "differences",
    "load_summary",
    "summarise",
    "summary_json",
]

SUMMARY_FORMAT = "ecert-exchange-summary/1"
_PAGE = 5000


@dataclass(frozen=True, slots=True)
class Difference:
    """One group whose content differs, and (when both libraries were read) which records."""

    group: str  # issuer|type|day
    ours: tuple[int, str] | None  # (count, head), None: group absent here
    theirs: tuple[int, str] | None
    only_ours: tuple[str, ...] = ()
    only_theirs: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def describe(self) -> str:
        a = f"{self.ours[0]} here" if self.ours else "none here"
        b = f"{self.theirs[0]} there" if self.theirs else "none there"
        text = f"{self.group}: {a}, {b}"
        if self.ours and self.theirs and self.ours[0] == self.theirs[0]:
            text += " (same count, different content)"
        for label, ids in (
            ("only here", self.only_ours),
            ("only there", self.only_theirs),
            ("differ", self.changed),
        ):
            if ids:
                text += f"; {label}: {', '.join(ids[:20])}" + (
                    f" and {len(ids) - 20} more" if len(ids) > 20 else ""
                )
        return text


def _group(row: ReconciliationRow) -> str:
    return f"{row.issuer_code}|{row.type_code}|{china_date(row.issued_at).isoformat()}"


def _line(row: ReconciliationRow) -> str:
    changed = row.status_changed_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{row.identifier}|{row.package_digest}|{row.status.value}|{changed}"


def _lines(library: Registry) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = defaultdict(dict)
    after = ""
    while rows := library.reconciliation_rows(after=after, limit=_PAGE):
        for row in rows:
            groups[_group(row)][row.identifier] = _line(row)
        after = rows[-1].identifier
    return groups


def _heads(groups: Mapping[str, Mapping[str, str]]) -> dict[str, tuple[int, str]]:
    return {
        g: (len(lines), sm3("\n".join(sorted(lines.values())).encode("utf-8")).hex())
        for g, lines in groups.items()
    }


def summarise(library: Registry) -> dict[str, tuple[int, str]]:
    """(count, head) per group of ``library``."""
    return _heads(_lines(library))


def summary_json(library: Registry, *, name: str = "") -> bytes:
    """The summary as a file another site compares with (``ecert exchange reconcile --summary``)."""
    doc = {
        "format": SUMMARY_FORMAT,
        "library": name,
        "groups": {g: {"count": c, "head": h} for g, (c, h) in sorted(summarise(library).items())},
    }
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8") + b"\n"


def load_summary(data: bytes) -> dict[str, tuple[int, str]]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"summary is not UTF-8 JSON ({exc})") from None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != SUMMARY_FORMAT
        or not isinstance(doc.get("groups"), dict)
    ):
        raise InputError("not an exchange summary", where="format", expected=repr(SUMMARY_FORMAT))
    out: dict[str, tuple[int, str]] = {}
    for g, v in doc["groups"].items():
        if (
            not isinstance(v, dict)
            or not isinstance(v.get("count"), int)
            or not isinstance(v.get("head"), str)
        ):
            raise InputError("a group is {count, head}", where=f"groups[{g!r}]")
        out[g] = (v["count"], v["head"])
    return out


def compare(ours: Mapping[str, tuple[int, str]], theirs: Mapping[str, tuple[int, str]]) -> list[Difference]:
    """The groups whose count or head differ, sorted."""
    return [
        Difference(g, ours.get(g), theirs.get(g))
        for g in sorted(set(ours) | set(theirs))
        if ours.get(g) != theirs.get(g)
    ]


def differences(ours: Registry, theirs: Registry) -> list[Difference]:
    """Both libraries at hand: the differing groups, each naming the records that differ."""
    a, b = _lines(ours), _lines(theirs)
    out = []
    for diff in compare(_heads(a), _heads(b)):
        la: Mapping[str, Any] = a.get(diff.group, {})
        lb: Mapping[str, Any] = b.get(diff.group, {})
        out.append(
            Difference(
                diff.group,
                diff.ours,
                diff.theirs,
                tuple(sorted(set(la) - set(lb))),
                tuple(sorted(set(lb) - set(la))),
                tuple(sorted(i for i in set(la) & set(lb) if la[i] != lb[i])),
            )
        )
    return out
