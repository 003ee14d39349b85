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
  fields, ``field: message; ...``).  Environment failures (disk full, a worker killed) do stop it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ecert.collect.csvrows import decode_csv
from ecert.crypto.digests import sm3
from ecert.errors import BatchInterrupted, EcertError, InputError

if TYPE_CHECKING:
    from ecert.catalog import Catalog, CertificateType
    from ecert.metadata import Authority
    from ecert.package import Issuer
    from ecert.registry import SQLiteRegistry

__all__ = ["BatchProgress", "BatchResult", "IssuerFiles", "issue_batch", "read_rows", "source_key"]

RECONCILE_GRACE = timedelta(minutes=10)  # far longer than any row takes from allocation to record
MAX_CHUNK = 25  # rows per task: ~1 s of work, so progress stays live and pickling overhead small
LOCK_NAME = ".ecert-batch.lock"
REJECTED_NAME = "rejected.csv"
UNREADABLE = "<unreadable>"  # read_rows' key for a row the CSV reader refused, with the reason
EXTRA = "<extra>"  # read_rows' key for cells beyond the header (the row is rejected, not cut)
ORPHANS_DIR = "orphans"

Row = dict[str, str]
State = Literal["issued", "skipped", "rejected"]
Outcome = tuple[int, State, str]  # (line, state, identifier or problems)


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


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one run did; ``skipped`` rows were issued by an earlier run (nothing issued twice)."""

    issued: int
    skipped: int
    rejected: int
    rejected_path: Path | None
    elapsed: float
    identifiers: tuple[str, ...]
    orphans: tuple[str, ...] = ()  # files of an interrupted run without a record, moved to orphans/

    @property
    def ok(self) -> bool:
        """Every row is issued now (by this run or an earlier one)."""
        return self.rejected == 0


def read_rows(path: Path) -> list[tuple[int, Row]]:
    """(line number, row) for every data row, decoded as ``ecert collect`` decodes CSV (:func:`decode_csv`).

    The line number is where the row starts in the file (what a person opening it sees).
    Cells beyond the header are kept under ``EXTRA`` so the row is rejected, not silently cut.
    A row the CSV reader refuses (``csv.Error``, e.g. a field over :func:`csv.field_size_limit`)
    is kept as ``{UNREADABLE: reason}`` so that it is rejected and the rows after it still issued.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read CSV ({exc.strerror})", where=str(path)) from None
    reader = csv.reader(io.StringIO(decode_csv(data).removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"CSV header row cannot be read ({exc})", where=str(path)) from None
    if not header or not any(h.strip() for h in header):
        raise InputError("CSV has no header row", where=str(path))
    rows: list[tuple[int, Row]] = []
    while True:
        first = reader.line_num + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            if reader.line_num + 1 == first:  # the reader did not move on: the rest cannot be read
                raise InputError(
                    f"CSV cannot be read from line {first} on ({exc})", where=str(path)
                ) from None
            rows.append((first, {UNREADABLE: str(exc)}))
            continue
        if cells is None:
            break
        if not cells:
            continue  # a blank line
        row = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
        if len(cells) > len(header):
            row[EXTRA] = "|".join(cells[len(header) :])
        rows.append((first, row))
    return rows


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
    from ecert.package import file_name, package

    reg, st = w.registry, w.setup
    if reg.find_by_source_key(key) is not None:
        return (line, "skipped", "")
    at = st.at or datetime.now().astimezone().replace(microsecond=0)  # the office's date and year
    authority = w.authority
    allocated: tuple[str, str, str] | None = None
    try:
        probe = collect(row, st.cert_type, issuer=authority, serial="0", today=at.date())
        type_code, issuer_code = probe.metadata.type_code, probe.metadata.identifier.issuer_code
        serial = reg.allocate_serial(type_code, issuer_code, period=f"{at:%Y}")
        allocated = (type_code, issuer_code, serial)
        draft = collect(row, st.cert_type, issuer=authority, serial=serial, today=at.date())
        data = package(draft, w.issuer, at=at)
        target = Path(st.out_dir) / file_name(draft.metadata)
        _write_atomically(target, data)
        try:
            reg.record_issued(
                draft.metadata,
                package_digest=sm3(data).hex(),
                signer=w.issuer.signer.certificate.subject,
                issued_at=at,
                file_path=str(target),
                source_key=key,
            )
        except BaseException:  # not issued: no file may claim otherwise (a crash here leaves an orphan)
            if not _recorded(reg, str(draft.metadata.identifier)):
                target.unlink(missing_ok=True)
            raise
        if st.faces is not None or st.qr:
            _write_beside(target, data, st)
        return (line, "issued", str(draft.metadata.identifier))
    except EcertError as exc:
        problems = "; ".join(str(p) for p in exc.problems) if isinstance(exc, CollectionError) else str(exc)
        if allocated is not None:
            _give_up(reg, allocated, f"row {line} failed after allocation: {problems}")
        if reg.find_by_source_key(key) is not None:
            return (line, "skipped", "")  # another process recorded this row meanwhile
        return (line, "rejected", problems)


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


def _chunks(items: Sequence[tuple[int, Row, str]], size: int) -> Iterator[Sequence[tuple[int, Row, str]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
    faces: str | None = None,
    qr: bool = False,
) -> BatchResult:
    """Issue every row of the CSV ``records`` as ``<out_dir>/<identifier>.ofd``; see the module docstring.

    Usage problems (unknown type, unreadable CSV or key, wrong password, naive ``at``, a batch
    already running into ``out_dir``) raise before anything is allocated; row problems do not raise.
    With ``workers > 1`` the workers are *spawned*, so a calling script needs the usual
    ``if __name__ == "__main__":`` guard.  ``at`` defaults to the time each row is issued.
    ``cert_type`` is a :class:`~ecert.catalog.CertificateType` (a department's own type, say from
    :func:`~ecert.catalog.load_catalog`) or a code looked up in ``catalog`` (default: the shipped types).
    ``faces`` ("png" or "pdf") and ``qr`` also write each file's face and QR image beside it.
    """
    from ecert.collect.collector import resolve_type
    from ecert.registry import SQLiteRegistry

    ctype = resolve_type(cert_type, catalog)
    if not 1 <= workers <= 64:
        raise InputError("workers out of range", where="workers", value=workers, expected="1..64")
    if at is not None and at.utcoffset() is None:
        raise InputError("issuing time must be timezone-aware", where="at", value=at.isoformat())
    start, started_at = time.perf_counter(), datetime.now(UTC)
    rows = read_rows(Path(records))
    loaded = _load_issuer(issuer)  # a wrong password is a usage error here, not a dead worker pool
    if faces is not None:
        from ecert.render import find_cjk_font

        if faces not in ("png", "pdf"):
            raise InputError("unknown face format", where="faces", value=faces, expected="png or pdf")
        find_cjk_font()  # no font: a usage error now, not a batch of files without faces
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        with SQLiteRegistry.open(registry) as reg:
            reg.reconcile(started_at - RECONCILE_GRACE)  # an interrupted run's allocations -> gaps
            orphans = _set_aside_orphans(out, reg)
            todo, skipped, rejected = _triage(ctype.code, rows, reg)
        issued: list[str] = []
        total = len(rows)

        def report() -> None:
            if progress is not None:
                done = len(issued) + skipped + len(rejected)
                elapsed = time.perf_counter() - start
                progress(BatchProgress(done, total, len(issued), skipped, len(rejected), elapsed))

        report()
        setup = _Setup(issuer, str(registry), ctype, str(out), at, faces, qr)
        with closing(_run(setup, todo, workers, loaded)) as chunks:
            for outcomes in chunks:
                for line, state, detail in outcomes:
                    if state == "issued":
                        issued.append(detail)
                    elif state == "rejected":
                        rejected.append((line, detail))
                    else:
                        skipped += 1  # recorded meanwhile by another process: not issued twice
                report()
        rejected_path = _write_rejected(out, rows, rejected)
    elapsed = time.perf_counter() - start
    return BatchResult(len(issued), skipped, len(rejected), rejected_path, elapsed, tuple(issued), orphans)


def _triage(
    cert_type: str, rows: Sequence[tuple[int, Row]], reg: SQLiteRegistry
) -> tuple[list[tuple[int, Row, str]], int, list[tuple[int, str]]]:
    """Rows to issue, how many are already issued, and duplicates (rejected on every run alike)."""
    todo: list[tuple[int, Row, str]] = []
    rejected: list[tuple[int, str]] = []
    skipped = 0
    first_line: dict[str, int] = {}
    for line, row in rows:
        if UNREADABLE in row:
            rejected.append((line, f"<row>: cannot be read as CSV ({row[UNREADABLE]})"))
            continue
        if EXTRA in row:  # cells the header does not name: issuing would silently drop them
            rejected.append((line, f"<row>: more cells than the header names (extra: {row[EXTRA]!r})"))
            continue
        garbled = sorted(k for k, v in row.items() if "\ufffd" in v)  # bytes decode_csv could not read
        if garbled:
            rejected.append((line, "; ".join(f"{k}: not valid UTF-8 or GB18030 text" for k in garbled)))
            continue
        key = source_key(cert_type, row)
        if key in first_line:
            rejected.append((line, f"<row>: same content as line {first_line[key]}, issued once"))
            continue
        first_line[key] = line
        if reg.find_by_source_key(key) is not None:
            skipped += 1
        else:
            todo.append((line, row, key))
    return todo, skipped, rejected


def _run(
    setup: _Setup, todo: Sequence[tuple[int, Row, str]], workers: int, loaded: Issuer
) -> Generator[list[Outcome], None, None]:
    """Outcomes chunk by chunk, as they complete (in this process when ``workers == 1``)."""
    if not todo:
        return
    chunks = list(_chunks(todo, _chunk_size(len(todo), workers)))
    if workers == 1:
        _start_worker(setup, loaded)
        try:
            yield from map(_issue_rows, chunks)
        finally:
            _close_worker()
        return
    import multiprocessing

    with ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(setup,)
    ) as pool:
        futures: list[Future[list[Outcome]]] = [pool.submit(_issue_rows, chunk) for chunk in chunks]
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool:
                    raise BatchInterrupted(
                        "a worker process died (killed, or out of memory); the rows it recorded are kept: "
                        "run the batch again to resume"
                    ) from None
        finally:
            pool.shutdown(cancel_futures=True)


def _write_rejected(
    out: Path, rows: Sequence[tuple[int, Row]], rejected: Sequence[tuple[int, str]]
) -> Path | None:
    """``rejected.csv``: line, the row as read, problems; removed when nothing was rejected (not stale)."""
    path = out / REJECTED_NAME
    if not rejected:
        path.unlink(missing_ok=True)
        return None
    by_line = dict(rows)
    fields: list[str] = []
    for _line, row in rows:
        fields.extend(k for k in row if k not in fields and k != UNREADABLE)  # its reason is the problem
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", *fields, "problems"])
        for line, problems in sorted(rejected):
            row = by_line.get(line, {})
            writer.writerow([line, *(row.get(f, "") for f in fields), problems])
    return path
