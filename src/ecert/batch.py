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
  start into recorded gaps (:meth:`SQLiteRegistry.reconcile`; younger ones may belong to another
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
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from dataclasses import replace as evolve
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from ecert.collect.tables import (
    EXTRA,
    UNREADABLE,
    TableSurvey,
    excel_hints,
    iter_rows,
    survey,
    unknown_columns,
)
from ecert.crypto.digests import sm3
from ecert.errors import BatchInterrupted, EcertError, InputError

if TYPE_CHECKING:
    from ecert.catalog import Catalog, CertificateType
    from ecert.collect import CertificateDraft
    from ecert.metadata import Authority
    from ecert.package import Issuer
    from ecert.registry import IssuedRecord, SQLiteRegistry

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

Row = dict[str, str]
State = Literal["issued", "replaced", "skipped", "rejected"]
Outcome = tuple[int, State, str, Row | None]  # (line, state, identifier or problems, the row if rejected)


@dataclass(frozen=True, slots=True)
class IssuerFiles:
    """The issuing department as files: workers load the key themselves (keys are not pickled).

    The issuing authority (name and 统一社会信用代码) is ``authority`` when given, else the one the
    department certificate names, else each record's own issuer fields.
    """

    key_path: Path
    cert_path: Path
    password: bytes | None = field(default=None, repr=False)
    seal_image: Path | None = None
    authority: Authority | None = None


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


# --- worker process -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Setup:
    """What a worker needs, all picklable (paths, not keys)."""

    issuer: IssuerFiles
    registry: str
    cert_type: CertificateType  # the type itself: a worker cannot know a department's own types by code
    out_dir: str
    at: datetime | None
    replace: bool = False
    faces: str | None = None  # "png" or "pdf": the face beside each file (ecert.paint.write_beside)
    qr: bool = False  # the QR image beside each file


@dataclass(slots=True)
class _Worker:
    issuer: Issuer
    registry: SQLiteRegistry
    setup: _Setup
    authority: Authority | None  # the department issues in its own name (see _start_worker)


_WORKER: list[_Worker] = []  # the one worker of this process, set by _init_worker
_BATCH_PID: list[int] = []  # in a pool worker, the batch's process (see _die_with_parent)


def _start_worker(setup: _Setup, issuer: Issuer) -> None:
    """Open this process's registry connection; the authority is the one given, else the one the
    department certificate names (``package.signer_authority``; verification checks they agree)."""
    from ecert.package import signer_authority
    from ecert.registry import SQLiteRegistry

    authority = setup.issuer.authority or signer_authority(issuer.signer)
    _WORKER[:] = [_Worker(issuer, SQLiteRegistry.open(setup.registry), setup, authority)]


def _load_issuer(files: IssuerFiles) -> Issuer:
    from ecert.crypto.signer import Signer
    from ecert.package import Issuer

    signer = Signer.load(files.key_path, files.cert_path, files.password)
    try:
        seal = files.seal_image.read_bytes() if files.seal_image else None
    except OSError as exc:
        raise InputError(f"cannot read seal image ({exc.strerror})", where=str(files.seal_image)) from None
    return Issuer(signer, seal_image=seal)


def _init_worker(setup: _Setup) -> None:
    # Ctrl-C reaches the whole process group: let the parent cancel what is queued while each
    # worker finishes its chunk, so an interrupted batch stops at a row boundary.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _start_worker(setup, _load_issuer(setup.issuer))


def _die_with_parent() -> None:
    """A worker must not outlive its batch.  Killed alone (the OOM killer, ``kill -9 <pid>``), the batch
    releases its directory lock, but orphaned workers would go on issuing the chunks queued to them
    (then wait forever): a rerun would set their files aside as orphans just before they record
    them (records without files) and issue their rows again.  On Linux the kernel kills the worker
    with the batch (``PR_SET_PDEATHSIG``); elsewhere :func:`_issue_rows` checks between rows."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:  # pragma: no cover - a pool worker has its parent
        return
    _BATCH_PID[:] = [parent.pid]
    if sys.platform == "linux":
        with suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if _orphaned():
        os._exit(1)  # the batch died before the kernel was told


def _orphaned() -> bool:
    """In a pool worker whose batch is gone (the worker has been re-parented)."""
    return bool(_BATCH_PID) and os.getppid() != _BATCH_PID[0]


def _close_worker() -> None:
    if _WORKER:
        _WORKER.pop().registry.close()


def _issue_rows(rows: Sequence[tuple[int, Row, str]]) -> list[Outcome]:
    """Issue a chunk of (line, row, source key); one outcome per row, in order."""
    outcomes = []
    for line, row, key in rows:
        if _orphaned():
            os._exit(1)  # not one more row for a batch that is gone (see _die_with_parent)
        outcomes.append(_issue_row(_WORKER[0], line, row, key))
    return outcomes


def _issue_row(w: _Worker, line: int, row: Row, key: str) -> Outcome:
    from ecert.collect import collect
    from ecert.errors import CollectionError

    reg, st = w.registry, w.setup
    if reg.find_by_source_key(key) is not None:
        return (line, "skipped", "", None)
    at = st.at or datetime.now().astimezone().replace(microsecond=0)  # the office's date and year
    authority = w.authority
    allocated: tuple[str, str, str] | None = None
    try:
        probe = collect(row, st.cert_type, issuer=authority, serial="0", today=at.date())
        held = valid_certificates_of(reg, probe.metadata.holder_code, st.cert_type.code)
        if held and not (st.replace and len(held) == 1):
            return (line, "rejected", _held_problem(probe, held, st.replace), row)
        if held:
            old = held[0]
            draft = next_version(probe, old)
            _issue_draft(w, draft, at, key, replaces=old.identifier, line=line)
            return (line, "replaced", str(draft.metadata.identifier), None)
        type_code, issuer_code = probe.metadata.type_code, probe.metadata.identifier.issuer_code
        serial = reg.allocate_serial(type_code, issuer_code, period=f"{at:%Y}")
        allocated = (type_code, issuer_code, serial)
        draft = collect(row, st.cert_type, issuer=authority, serial=serial, today=at.date())
        _issue_draft(w, draft, at, key)
        return (line, "issued", str(draft.metadata.identifier), None)
    except EcertError as exc:
        problems = "; ".join(str(p) for p in exc.problems) if isinstance(exc, CollectionError) else str(exc)
        hints = excel_hints(row, st.cert_type)
        if hints:
            problems += " (hint: " + "; ".join(hints) + ")"
        if allocated is not None:
            _give_up(reg, allocated, f"row {line} failed after allocation: {problems}")
        if reg.find_by_source_key(key) is not None:
            return (line, "skipped", "", None)  # another process recorded this row meanwhile
        return (line, "rejected", problems, row)


def _held_problem(probe: CertificateDraft, held: Sequence[IssuedRecord], replacing: bool) -> str:
    md = probe.metadata
    names = ", ".join(r.identifier for r in held)
    if replacing:  # more than one: which one this row replaces is not for the batch to guess
        return (
            f"holder_code: {md.holder_code} holds {len(held)} valid {md.certificate_name} ({names}); "
            "replace one with: ecert replace RECORD --identifier ID"
        )
    return (
        f"holder_code: {md.holder_code} already holds a valid {md.certificate_name} ({names}); "
        "run with --replace to issue a new version that replaces it"
    )


def valid_certificates_of(reg: SQLiteRegistry, holder_code: str, type_code: str) -> tuple[IssuedRecord, ...]:
    """The holder's certificates of that type the registry has as VALID (at most a few)."""
    from ecert.registry.status import CertStatus

    return reg.find(holder_code=holder_code, type_code=type_code, status=CertStatus.VALID, limit=10)


def next_version(draft: CertificateDraft, old: IssuedRecord) -> CertificateDraft:
    """``draft`` as the next version of ``old`` (GB/T 36904 版本号): same type, issuer part and serial,
    version + 1, so that :meth:`Registry.renew` records it as the certificate replacing ``old``."""
    from ecert.identifier import Identifier

    ident = old.metadata.identifier
    new = Identifier.build(ident.type_code, ident.issuer_code, ident.serial, ident.version + 1)
    return evolve(draft, metadata=evolve(draft.metadata, identifier=new))


def _issue_draft(
    w: _Worker, draft: CertificateDraft, at: datetime, key: str, *, replaces: str | None = None, line: int = 0
) -> None:
    """Package, write atomically, record (or renew ``replaces``); the file goes when the record fails."""
    from ecert.package import file_name, package

    reg = w.registry
    data = package(draft, w.issuer, at=at)
    target = Path(w.setup.out_dir) / file_name(draft.metadata)
    _write_atomically(target, data)
    record: dict[str, Any] = {
        "package_digest": sm3(data).hex(),
        "signer": w.issuer.signer.certificate.subject,
        "issued_at": at,
        "file_path": str(target),
        "source_key": key,
    }
    try:
        if replaces is None:
            reg.record_issued(draft.metadata, **record)
        else:
            reg.renew(replaces, draft.metadata, reason=f"replaced by batch row {line}", **record)
    except BaseException:  # not issued: no file may claim otherwise (a crash here leaves an orphan)
        if not _recorded(reg, str(draft.metadata.identifier)):
            target.unlink(missing_ok=True)
        raise
    if w.setup.faces is not None or w.setup.qr:
        _write_beside(target, data, w.setup)


def _write_beside(target: Path, data: bytes, st: _Setup) -> None:
    """The face and QR image of an issued file; the certificate stays issued if drawing fails
    (``ecert render`` / ``ecert qr`` make them again), so a failure is not a rejected row."""
    from ecert.paint import write_beside

    with suppress(EcertError, OSError):
        write_beside(target, data, face=st.faces, qr=st.qr)


def _recorded(reg: SQLiteRegistry, identifier: str) -> bool:
    """Whether ``identifier`` is recorded after ``record_issued`` raised: Ctrl-C during COMMIT is raised
    once COMMIT returns, with the record made.  Unknown counts as recorded: the file is kept (a next
    run sets it aside as an orphan if it is not), never deleted under a record."""
    try:
        return reg.status_of(identifier) is not None
    except EcertError:
        return True


def _give_up(reg: SQLiteRegistry, allocated: tuple[str, str, str], reason: str) -> None:
    """Record the allocated serial as a gap now, with the reason (else reconcile does, later)."""
    with suppress(EcertError):
        reg.record_gap(*allocated, reason=reason[:500])


def _write_atomically(target: Path, data: bytes) -> None:
    """Readers see the whole file or none: temporary name in the same directory, fsync, rename."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # the rename itself must be durable before the record claims the file exists
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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


def _set_aside_orphans(out: Path, registry: SQLiteRegistry) -> tuple[str, ...]:
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
    """
    from ecert.registry import SQLiteRegistry

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
        SQLiteRegistry.open(registry) as reg,
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
        if self._fh is None:
            self._open()
        self._writer.writerow([line, *(row.get(c, "") for c in self.columns), problems])
        assert self._fh is not None
        self._fh.flush()


def _triage(
    plan: BatchPlan,
    rows: Iterator[tuple[int, Row]],
    reg: SQLiteRegistry,
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
