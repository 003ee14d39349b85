"""Batch issuing: a CSV of source records to signed certificate files, in parallel and resumable.

Why it is shaped this way:

* **Resumable by content.**  Every row gets a ``source_key`` (SM3 of the type code and the row's
  canonical JSON, not its line number, so edits elsewhere in the file do not shift keys) that the
  registry stores with the certificate (``UNIQUE``).  A rerun skips rows whose key is recorded, so
  an interrupted batch is finished by running it again and nothing is issued twice.  A row whose
  content repeats an earlier row is rejected as a duplicate (the same key cannot be issued twice).
* **No serial for a bad row.**  A row is collected (validated) before its serial is allocated.
  When something fails *after* the allocation (packaging refuses, the registry refuses), the serial
  is recorded as a gap with the reason and the file, if written, is removed.
* **Crash points.**  Per row: allocate serial -> package -> write the file atomically (temporary
  name in the same directory, fsync, ``os.replace``) -> ``record_issued``.  A crash after the
  allocation leaves an ``allocated`` serial; a crash after the write also leaves a file without a
  record.  The next run (1) turns allocations made more than :data:`RECONCILE_GRACE` before its
  start into recorded gaps (:meth:`Registry.reconcile`; younger ones may belong to another
  process issuing into the same registry right now, so they wait for a later run or an explicit
  ``reconcile``), (2) **moves** every ``<identifier>.ofd`` without a record to
  ``<out>/orphans/`` (kept as evidence rather than deleted: it is a signed file, but not issued;
  :attr:`BatchResult.orphans` names them), (3) deletes leftover temporary files, then re-issues
  the row under a new serial.
* **One batch per output directory at a time** (an exclusive ``flock`` on ``<out>/.ecert-batch.lock``,
  released by the kernel even on SIGKILL): another run's in-flight files would look like orphans.
* **Workers** are separate processes (``spawn``), each loading the signer from the key files once
  (keys are not pickled) and opening its own registry connection; rows go to them in chunks so
  the per-task overhead stays small while every worker gets work.  A worker dies with the batch
  (killed alone, the batch would leave its workers issuing into the directory a rerun cleans up).
* Per-row problems never stop the batch: they go to ``<out>/rejected.csv`` (line, the row's
  fields, ``field: message; ...``), or ``rejected-2.csv``, ... when an earlier run's file is there
  (never overwritten: it may be all that is left of what that run refused).  Environment failures
  (disk full, a worker killed) do stop it.
* **Streamed, flat memory.**  The input (CSV or ``.xlsx``, :mod:`ecert.collect.tables`) is read
  twice, row by row: once to learn its shape (encoding, header, row count, columns no field
  matches: reported before anything is issued), once to issue.  Rows go to the workers in chunks,
  a few at a time; repeated rows are found through a temporary on-disk SQLite table; rejected rows
  are written as they come.  Nothing is kept per row, so 10,000 and 1,000,000 rows run in the same
  memory (``benchmarks/bench_batch_memory.py``).
* **One valid certificate per holder and type.**  A row whose holder already holds a valid
  certificate of the type (an earlier row or run issued it from other content, e.g. a corrected
  row) is rejected with the identifier it holds, not issued a second time; with ``replace=True``
  it is issued as the next version of that certificate (same serial, version + 1), which the
  registry marks REPLACED (:meth:`Registry.renew`).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ecert.batch.worker import (
    IssuerFiles,
    Outcome,
    Row,
    _close_worker,
    _init_worker,
    _issue_rows,
    _load_issuer,
    _Setup,
    _start_worker,
    next_version,
    valid_certificates_of,
)
from ecert.collect.tables import (
    EXTRA,
    UNREADABLE,
    TableSurvey,
    iter_rows,
    survey,
    unknown_columns,
)
from ecert.crypto.digests import sm3
from ecert.errors import BatchInterrupted, EcertError, InputError

if TYPE_CHECKING:
    from ecert.catalog import Catalog, CertificateType
    from ecert.package import Issuer
    from ecert.registry.access import Library

__all__ = [
    "BatchPlan",
    "BatchProgress",
    "BatchResult",
    "IssuerFiles",
    "issue_batch",
    "next_version",
    "plan_batch",
    "read_rows",
    "source_key",
    "valid_certificates_of",
]

RECONCILE_GRACE = timedelta(minutes=10)  # far longer than any row takes from allocation to record
MAX_CHUNK = 25  # rows per task: ~1 s of work, so progress stays live and pickling overhead small
LOCK_NAME = ".ecert-batch.lock"
REJECTED_NAME = "rejected.csv"
ORPHANS_DIR = "orphans"
IN_FLIGHT = 3  # chunks queued per worker: enough to keep each busy, few enough to keep memory flat


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """Where a running batch is, handed to the ``progress`` callback after every chunk."""

    done: int
    total: int
    issued: int
    skipped: int
    rejected: int
    elapsed: float
    replaced: int = 0

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far (None before the first row is done)."""
        if self.done <= 0 or self.elapsed <= 0:
            return None
        return max(0.0, (self.total - self.done) * self.elapsed / self.done)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one run did; ``skipped`` rows were issued by an earlier run (nothing issued twice)."""

    issued: int
    skipped: int
    rejected: int
    rejected_path: Path | None
    elapsed: float
    orphans: tuple[str, ...] = ()  # files of an interrupted run without a record, moved to orphans/
    replaced: int = 0  # rows issued as a new version of their holder's certificate (replace=True)
    unknown_columns: tuple[str, ...] = ()  # columns no field matched: ignored on every row

    @property
    def ok(self) -> bool:
        """Every row is issued now (by this run or an earlier one)."""
        return self.rejected == 0

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain data (``ecert batch --json``)."""
        return {
            "ok": self.ok,
            "issued": self.issued,
            "replaced": self.replaced,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "rejected_file": str(self.rejected_path) if self.rejected_path else None,
            "orphans": list(self.orphans),
            "unknown_columns": list(self.unknown_columns),
            "elapsed_seconds": round(self.elapsed, 3),
        }


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What a batch found in its input before issuing anything (handed to ``on_start``)."""

    table: TableSurvey
    cert_type: CertificateType
    unknown_columns: tuple[str, ...]  # a misspelled header: its values would be ignored on every row


def plan_batch(
    records: str | Path, cert_type: CertificateType | str, *, catalog: Catalog | None = None
) -> BatchPlan:
    """Read the input once, row by row: encoding, header, row count, columns no field is named by.

    Raises :class:`InputError` for an unreadable input (no header, a CSV that cannot be read past
    some line, ``.xlsx`` without openpyxl) and :class:`~ecert.errors.UnknownType`.

    :param records: the table (CSV or ``.xlsx``).
    :param cert_type: the type, or its code.
    :param catalog: where a type code is looked up.
    :returns: the plan: encoding, columns, row count, unknown columns.
    :raises InputError: for an unreadable input.
    :raises UnknownType: for an unknown type code.
    """
    from ecert.collect.collector import resolve_type

    ctype = resolve_type(cert_type, catalog)
    table = survey(Path(records))
    return BatchPlan(table, ctype, unknown_columns(table.columns, ctype))


def read_rows(path: str | Path) -> list[tuple[int, Row]]:
    """Every (line number, row) of a CSV or ``.xlsx`` table as a list (see :func:`iter_rows`, which
    the batch itself uses row by row)."""
    return list(iter_rows(path))


def source_key(type_code: str, row: Row) -> str:
    """Stable across reruns and edits elsewhere in the file: the row's content, not its position."""
    canonical = json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sm3(f"{type_code}\n{canonical}".encode()).hex()


# --- the batch ------------------------------------------------------------------------------------


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One batch per output directory: another run's unrecorded files would look like orphans."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, the documented rule still holds
        yield
        return
    with open(out / LOCK_NAME, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                "another batch is issuing into this directory", where=str(out), expected="one at a time"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _set_aside_orphans(out: Path, registry: Library) -> tuple[str, ...]:
    """Move certificate files an interrupted run wrote but never recorded to ``orphans/``."""
    from ecert.identifier import Identifier

    orphans = []
    for path in sorted(out.glob("*.ofd")):
        try:
            Identifier.parse(path.stem)
        except EcertError:
            continue  # not one of ours: leave it alone
        try:
            registry.get(path.stem)
        except EcertError:
            (out / ORPHANS_DIR).mkdir(exist_ok=True)
            os.replace(path, out / ORPHANS_DIR / path.name)
            orphans.append(path.name)
    for tmp in out.glob(".*.ofd.*.tmp"):
        tmp.unlink(missing_ok=True)
    return tuple(orphans)


def _chunk_size(rows: int, workers: int) -> int:
    """Small enough that every worker gets several chunks, at most MAX_CHUNK rows."""
    return max(1, min(MAX_CHUNK, math.ceil(rows / (4 * workers))))


def _chunks(items: Iterator[tuple[int, Row, str]], size: int) -> Iterator[list[tuple[int, Row, str]]]:
    chunk: list[tuple[int, Row, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def issue_batch(
    records: str | Path,
    cert_type: CertificateType | str,
    issuer: IssuerFiles,
    registry: str | Path,
    out_dir: str | Path,
    *,
    catalog: Catalog | None = None,
    workers: int = 1,
    at: datetime | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    strict: bool = False,
    replace: bool = False,
    on_start: Callable[[BatchPlan], None] | None = None,
    faces: str | None = None,
    qr: bool = False,
) -> BatchResult:
    """Issue every row of the table ``records`` (CSV or ``.xlsx``) as ``<out_dir>/<identifier>.ofd``.

    See the module docstring.  ``cert_type`` is a :class:`~ecert.catalog.CertificateType` (a
    department's own type, say from :func:`~ecert.catalog.load_catalog`) or a code looked up in
    ``catalog`` (default: the shipped types).  ``on_start`` receives the :class:`BatchPlan` (row
    count, columns no field matches) before anything is issued; with ``strict`` such a column
    refuses the batch.  ``replace`` issues a row whose holder already holds a valid certificate
    of the type as its next version (else the row is rejected, naming the certificate).
    ``at`` defaults to the time each row is issued.
    ``faces`` ("png" or "pdf") and ``qr`` also write each file's face and QR image beside it.

    Usage problems (unknown type, unreadable input or key, wrong password, naive ``at``, a batch
    already running into ``out_dir``) raise :class:`InputError` (or another
    :class:`~ecert.errors.EcertError`) before anything is allocated; row problems do not raise.
    A dead worker raises :class:`~ecert.errors.BatchInterrupted` (run again to resume).
    With ``workers > 1`` the workers are *spawned*, so a calling script needs the usual
    ``if __name__ == "__main__":`` guard.

    :param records: the table (CSV in UTF-8, UTF-16 or GB18030, or ``.xlsx``).
    :param cert_type: the type, or its code.
    :param issuer: the department's key, certificate and seal files.
    :param registry: the registry (SQLite path) that allocates serials and records issues.
    :param out_dir: where the files, ``rejected.csv`` and the summary go.
    :param catalog: where a type code is looked up (default: the shipped types).
    :param workers: processes signing in parallel.
    :param at: issue time (timezone-aware; default: when each row is issued).
    :param progress: called with the progress now and then (rows, rate, ETA).
    :param strict: refuse to start when a column matches no field.
    :param replace: issue a corrected row as the next version of the holder's certificate.
    :param on_start: called with the :class:`BatchPlan` before anything is issued.
    :param faces: also write each face, ``"png"`` or ``"pdf"``.
    :param qr: also write each QR image.
    :returns: counts, paths and timings of the run.
    :raises InputError: for a usage problem, before anything is issued.
    :raises BatchInterrupted: when a worker dies (run again to resume).
    """
    from ecert.registry import open_registry

    if not 1 <= workers <= 64:
        raise InputError("workers out of range", where="workers", value=workers, expected="1..64")
    if at is not None and at.utcoffset() is None:
        raise InputError("issuing time must be timezone-aware", where="at", value=at.isoformat())
    start, started_at = time.perf_counter(), datetime.now(UTC)
    plan = plan_batch(records, cert_type, catalog=catalog)
    if strict and plan.unknown_columns:
        raise InputError(
            f"columns that name no field of {plan.cert_type.name}: {', '.join(plan.unknown_columns)}",
            where=str(records),
            expected="column names of the type (ecert types CODE), or run without --strict to ignore them",
        )
    if on_start is not None:
        on_start(plan)
    loaded = _load_issuer(issuer)  # a wrong password is a usage error here, not a dead worker pool
    if faces is not None:
        from ecert.render import find_cjk_font

        if faces not in ("png", "pdf"):
            raise InputError("unknown face format", where="faces", value=faces, expected="png or pdf")
        find_cjk_font()  # no font: a usage error now, not a batch of files without faces
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"issued": 0, "replaced": 0, "skipped": 0, "rejected": 0}
    total = plan.table.rows

    def report() -> None:
        if progress is not None:
            done = sum(counts.values())
            elapsed = time.perf_counter() - start
            c = counts
            progress(
                BatchProgress(done, total, c["issued"], c["skipped"], c["rejected"], elapsed, c["replaced"])
            )

    columns = [*plan.table.columns, *([EXTRA] if plan.table.has_extra else [])]
    with (
        _exclusive(out),
        _Rejected(out, columns) as rejected,
        closing(sqlite3.connect("")) as seen,
        open_registry(registry, lean=True) as reg,  # memory flat however large the library
    ):
        reg.reconcile(started_at - RECONCILE_GRACE)  # an interrupted run's allocations -> gaps
        orphans = _set_aside_orphans(out, reg)
        report()
        todo = _triage(plan, iter_rows(plan.table.path), reg, seen, counts, rejected)
        setup = _Setup(issuer, str(registry), plan.cert_type, str(out), at, replace, faces, qr)
        chunks = _chunks(todo, _chunk_size(total, workers))
        with closing(_run(setup, chunks, workers, loaded)) as results:
            for outcomes in results:
                for line, state, detail, row in outcomes:
                    counts[state] += 1
                    if state == "rejected":
                        rejected.write(line, row or {}, detail)
                report()
    report()
    elapsed = time.perf_counter() - start
    return BatchResult(
        counts["issued"],
        counts["skipped"],
        counts["rejected"],
        rejected.path,
        elapsed,
        orphans,
        counts["replaced"],
        plan.unknown_columns,
    )


class _Rejected:
    """``rejected.csv`` (line, the row as read, problems), written row by row as rows are refused.

    Created only when a row is rejected, and never over an earlier run's file: ``rejected-2.csv``,
    ``rejected-3.csv``... (exclusive creation, so not even a concurrent writer is overwritten)."""

    def __init__(self, out: Path, columns: Sequence[str]) -> None:
        self.out, self.columns = out, list(columns)
        self.path: Path | None = None
        self._fh: TextIO | None = None
        self._writer: Any = None

    def __enter__(self) -> _Rejected:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()

    def _open(self) -> None:
        stem, suffix = REJECTED_NAME.rsplit(".", 1)
        for n in range(1, 100_000):
            path = self.out / (REJECTED_NAME if n == 1 else f"{stem}-{n}.{suffix}")
            try:
                self._fh = open(path, "x", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in __exit__
            except FileExistsError:
                continue
            self.path = path
            self._writer = csv.writer(self._fh)
            self._writer.writerow(["line", *self.columns, "problems"])
            return
        raise InputError("too many rejected-N.csv files", where=str(self.out))  # pragma: no cover

    def write(self, line: int, row: Row, problems: str) -> None:
        """One rejected row, flushed (a killed batch leaves every row it refused listed)."""
        if self._fh is None:
            self._open()
        self._writer.writerow([line, *(row.get(c, "") for c in self.columns), problems])
        assert self._fh is not None
        self._fh.flush()


def _triage(
    plan: BatchPlan,
    rows: Iterator[tuple[int, Row]],
    reg: Library,
    seen: sqlite3.Connection,
    counts: dict[str, int],
    rejected: _Rejected,
) -> Iterator[tuple[int, Row, str]]:
    """Rows to issue, one at a time; rows already issued are counted, unreadable, garbled and repeated
    rows rejected (alike on every run).  ``seen`` (a temporary SQLite table, on disk) remembers each
    row's source key and line, so that a repeat is found in constant memory."""
    seen.execute("CREATE TABLE IF NOT EXISTS seen (key BLOB PRIMARY KEY, line INTEGER) WITHOUT ROWID")
    code = plan.cert_type.code
    for line, row in rows:
        problem = _shape_problem(row)
        if problem:
            rejected.write(line, row, problem)
            counts["rejected"] += 1
            continue
        key = source_key(code, row)
        earlier = seen.execute("SELECT line FROM seen WHERE key=?", (bytes.fromhex(key),)).fetchone()
        if earlier is not None:
            rejected.write(line, row, f"<row>: same content as line {earlier[0]}, issued once")
            counts["rejected"] += 1
            continue
        seen.execute("INSERT INTO seen VALUES (?, ?)", (bytes.fromhex(key), line))
        if reg.find_by_source_key(key) is not None:
            counts["skipped"] += 1
        else:
            yield line, row, key


def _shape_problem(row: Row) -> str:
    if UNREADABLE in row:
        return f"<row>: cannot be read as CSV ({row[UNREADABLE]})"
    if EXTRA in row:  # cells the header does not name: issuing would silently drop them
        return f"<row>: more cells than the header names (extra: {row[EXTRA]!r})"
    garbled = sorted(k for k, v in row.items() if "\ufffd" in v)  # bytes the decoder could not read
    if garbled:
        return "; ".join(f"{k}: not valid UTF-8 or GB18030 text" for k in garbled)
    return ""


def _run(
    setup: _Setup, chunks: Iterator[list[tuple[int, Row, str]]], workers: int, loaded: Issuer
) -> Generator[list[Outcome], None, None]:
    """Outcomes chunk by chunk, as they complete (in this process when ``workers == 1``).

    At most ``IN_FLIGHT`` chunks per worker are queued at a time: the next rows are read only as
    earlier ones are done, which is what keeps memory flat however long the input is."""
    if workers == 1:
        _start_worker(setup, loaded)
        try:
            yield from map(_issue_rows, chunks)
        finally:
            _close_worker()
        return
    first = next(chunks, None)
    if first is None:
        return
    import itertools
    import multiprocessing

    with ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(setup,)
    ) as pool:
        pending: set[Future[list[Outcome]]] = set()
        try:
            for chunk in itertools.chain([first], chunks):
                pending.add(pool.submit(_issue_rows, chunk))
                while len(pending) >= IN_FLIGHT * workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from _results(done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from _results(done)
        finally:
            pool.shutdown(cancel_futures=True)


def _results(done: set[Future[list[Outcome]]]) -> Iterator[list[Outcome]]:
    for future in done:
        try:
            yield future.result()
        except BrokenProcessPool:
            raise BatchInterrupted(
                "a worker process died (killed, or out of memory); the rows it recorded are kept: "
                "run the batch again to resume"
            ) from None
