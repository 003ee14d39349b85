"""``Registry.check``: is the library what its logs say it is?

It re-reads both hash chains (status events, usage records) in sequence order, recomputing every
hash and link; derives each certificate's status from its events and compares it with the
``certificates`` row; and re-hashes every stored file.  A row edited by hand in the database shows
up as a broken link or a status that its log does not explain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecert.crypto.digests import sm3
from ecert.errors import RegistryError
from ecert.registry.base import CheckProblem, LibraryCheck
from ecert.registry.chain import ChainFault, ChainWalk
from ecert.registry.tables import TABLE_BY_NAME

if TYPE_CHECKING:
    from ecert.registry.library import LibraryCore

__all__ = ["check_library"]

_PAGE = 2000
_STATUS_FIELDS = TABLE_BY_NAME["status_events"].column_names
_USAGE_FIELDS = TABLE_BY_NAME["usage_records"].column_names
_MESSAGES = {
    ChainFault.SEQUENCE: "sequence jumps from {prev} to {seq}",
    ChainFault.LINK: "does not link to the entry before it (prev_hash)",
    ChainFault.HASH: "its hash does not match its content (edited?)",
}


def _walk(
    lib: LibraryCore,
    chain: str,
    table: str,
    columns: tuple[str, ...],
    problems: list[CheckProblem],
    on_entry: Any = None,
) -> int:
    """Check one chain page by page; returns how many entries it holds."""
    walk, count = ChainWalk(chain), 0
    part = f"{chain} chain"
    while True:
        with lib._read() as tx:
            rows = tx.rows(
                f"SELECT {', '.join(columns)} FROM {table} WHERE seq >= ? ORDER BY seq LIMIT ?",
                (walk.next_seq, _PAGE),
            )
        for row in rows:
            entry = dict(zip(columns, row, strict=True))
            entry["at"] = lib.read_ts(entry["at"])
            where, before = f"{table} seq {entry['seq']}", walk.next_seq - 1
            problems.extend(
                CheckProblem(part, where, _MESSAGES[f].format(prev=before, seq=entry["seq"]))
                for f in walk.step(entry)
            )
            if on_entry is not None:
                on_entry(entry)
            count += 1
        if len(rows) < _PAGE:
            break
    with lib._read() as tx:
        head = tx.one("SELECT seq, hash FROM chain_heads WHERE chain=?", (chain,))
    if head is None or (int(head[0]), head[1]) != (walk.next_seq - 1, walk.prev_hash):
        problems.append(CheckProblem(part, "chain_heads", "the recorded head is not the last entry"))
    return count


def check_library(lib: LibraryCore) -> LibraryCheck:
    problems: list[CheckProblem] = []
    derived: dict[str, str] = {}

    def follow(entry: dict[str, Any]) -> None:
        if entry["kind"] in ("issued", "status"):
            derived[entry["identifier"]] = entry["status"]

    events = _walk(lib, "status", "status_events", _STATUS_FIELDS, problems, follow)
    uses = _walk(lib, "usage", "usage_records", _USAGE_FIELDS, problems)
    last = ""
    while True:
        with lib._read() as tx:
            rows = tx.rows(
                "SELECT identifier, status FROM certificates WHERE identifier > ? "
                "ORDER BY identifier LIMIT ?",
                (last, _PAGE),
            )
        for identifier, status in rows:
            logged = derived.pop(identifier, None)
            if logged is None:
                problems.append(
                    CheckProblem("status", identifier, "recorded without an event in the status log")
                )
            elif logged != status:
                problems.append(CheckProblem("status", identifier, f"is {status} but its log says {logged}"))
        if len(rows) < _PAGE:
            break
        last = rows[-1][0]
    problems.extend(CheckProblem("status", i, "has events but no certificate row") for i in sorted(derived))
    files = 0
    last_key = ("", "")
    while True:
        with lib._read() as tx:
            rows = tx.rows(
                "SELECT identifier, kind, digest, size, content, store_path FROM certificate_files "
                "WHERE identifier > ? OR (identifier = ? AND kind > ?) ORDER BY identifier, kind LIMIT ?",
                (last_key[0], last_key[0], last_key[1], 200),
            )
        for identifier, kind, digest, size, content, path in rows:
            files += 1
            where = f"{identifier} ({kind})"
            try:
                data = lib._file_bytes(identifier, kind, content, path)
            except RegistryError as exc:
                problems.append(CheckProblem("file", where, str(exc)))
                continue
            if len(data) != size or sm3(data).hex() != digest:
                problems.append(
                    CheckProblem("file", where, f"its bytes do not match the recorded SM3 {digest}")
                )
        if len(rows) < 200:
            break
        last_key = (rows[-1][0], rows[-1][1])
    return LibraryCheck(events, uses, files, tuple(problems))
