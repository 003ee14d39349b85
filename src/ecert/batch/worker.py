"""One batch row in a worker process: collect, allocate, package, write atomically, record.

A worker is a separate process (``spawn``) that loads the signer from the key files once (keys are
not pickled), opens its own registry connection, dies with its batch, and turns each row into one
:data:`Outcome`.  The crash points and what a rerun does with them are described in
:mod:`ecert.batch`, which runs the workers.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from dataclasses import replace as evolve
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ecert.collect.tables import excel_hints
from ecert.crypto.digests import sm3
from ecert.errors import EcertError, InputError, LibraryUnavailable

if TYPE_CHECKING:
    from ecert.catalog import CertificateType
    from ecert.collect import CertificateDraft
    from ecert.metadata import Authority
    from ecert.package import Issuer
    from ecert.registry import IssuedRecord
    from ecert.registry.access import Library

__all__ = ["IssuerFiles", "Outcome", "Row", "next_version", "valid_certificates_of"]

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
    registry: Library
    setup: _Setup
    authority: Authority | None  # the department issues in its own name (see _start_worker)


_WORKER: list[_Worker] = []  # the one worker of this process, set by _init_worker
_BATCH_PID: list[int] = []  # in a pool worker, the batch's process (see _die_with_parent)
_START_FAILED: list[EcertError] = []  # why this pool worker could not start (see _init_worker)


def _start_worker(setup: _Setup, issuer: Issuer) -> None:
    """Open this process's registry connection; the authority is the one given, else the one the
    department certificate names (``package.signer_authority``; verification checks they agree)."""
    from ecert.package import signer_authority
    from ecert.registry import open_registry

    authority = setup.issuer.authority or signer_authority(issuer.signer)
    _WORKER[:] = [_Worker(issuer, open_registry(setup.registry, lean=True), setup, authority)]


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
    try:
        _start_worker(setup, _load_issuer(setup.issuer))
    except EcertError as exc:  # raised here, the pool would print a traceback: the first chunk raises it
        _START_FAILED[:] = [exc]


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
    if _START_FAILED:
        raise _START_FAILED[0]  # the library went away as this worker started: the batch ends, resumable
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
    except LibraryUnavailable:
        raise  # not the row's fault: the batch ends, and a rerun resumes where it stopped
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


def valid_certificates_of(reg: Library, holder_code: str, type_code: str) -> tuple[IssuedRecord, ...]:
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
        "content": data,  # the library keeps the signed file, its SM3 checked on every read
        "cert_type": w.setup.cert_type,  # published to the library's catalogue; the record keeps its version
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


def _recorded(reg: Library, identifier: str) -> bool:
    """Whether ``identifier`` is recorded after ``record_issued`` raised: Ctrl-C during COMMIT is raised
    once COMMIT returns, with the record made.  Unknown counts as recorded: the file is kept (a next
    run sets it aside as an orphan if it is not), never deleted under a record."""
    try:
        return reg.status_of(identifier) is not None
    except EcertError:
        return True


def _give_up(reg: Library, allocated: tuple[str, str, str], reason: str) -> None:
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
