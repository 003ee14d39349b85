"""Batch issuing: a CSV of source records to signed certificate files, in parallel and resumable.

Every row gets a stable ``source_key`` (SM3 of the type code and the row's canonical JSON), which
the registry records with the certificate.  A rerun after an interruption skips rows whose key is
already recorded, so nothing is issued twice.  Rows are validated before a serial is allocated, so
rejected rows cost no serial.  Each worker process opens its own registry connection and loads the
signer once; files are written atomically (temporary name, fsync, rename) before the record, and a
file left without a record by a crash is moved to ``<out>/orphans/`` on the next run (its serial
becomes a recorded gap through :meth:`SQLiteRegistry.reconcile`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecert.crypto.digests import sm3
from ecert.errors import EcertError, InputError

__all__ = ["BatchProgress", "BatchResult", "IssuerFiles", "issue_batch", "read_rows", "source_key"]

CHUNK = 25


@dataclass(frozen=True, slots=True)
class IssuerFiles:
    """The issuing department as files (workers load the key themselves; keys are not pickled)."""

    key_path: Path
    cert_path: Path
    password: bytes | None = field(default=None, repr=False)
    seal_image: Path | None = None
    name: str | None = None  # the department's name and USCC; default: from the record
    code: str | None = None


@dataclass(frozen=True, slots=True)
class BatchProgress:
    done: int
    total: int
    issued: int
    skipped: int
    rejected: int
    elapsed: float


@dataclass(frozen=True, slots=True)
class BatchResult:
    issued: int
    skipped: int
    rejected: int
    rejected_path: Path | None
    elapsed: float
    identifiers: tuple[str, ...]
    orphans: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.rejected == 0


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for every data row; UTF-8 (BOM or not), GB18030 as a fallback."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read CSV ({exc.strerror})", where=str(path)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise InputError("CSV has no header row", where=str(path))
    rows = []
    for row in reader:
        clean = {str(k): (v or "") for k, v in row.items() if k is not None}
        if None in row:
            clean["<extra>"] = "|".join(row[None])
        rows.append((reader.line_num, clean))
    return rows


def source_key(type_code: str, row: dict[str, str]) -> str:
    """Stable across reruns and edits elsewhere in the file: the row's content, not its position."""
    canonical = json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sm3(f"{type_code}\n{canonical}".encode()).hex()


# --- worker process ---------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init_worker(
    issuer: IssuerFiles, registry: str, type_code: str, out_dir: str, at: datetime | None
) -> None:
    from ecert.crypto.signer import Signer
    from ecert.metadata import Authority
    from ecert.package import Issuer, signer_authority
    from ecert.registry import SQLiteRegistry

    signer = Signer.load(issuer.key_path, issuer.cert_path, issuer.password)
    seal = issuer.seal_image.read_bytes() if issuer.seal_image else None
    _STATE.update(
        issuer=Issuer(signer, seal_image=seal),
        authority=Authority(issuer.name, issuer.code)
        if issuer.name and issuer.code
        else signer_authority(signer),
        registry=SQLiteRegistry.open(registry),
        type_code=type_code,
        out_dir=Path(out_dir),
        at=at,
    )


def _issue_rows(rows: Sequence[tuple[int, dict[str, str], str]]) -> list[tuple[int, str, str]]:
    """Issue a chunk; one (line, "issued"|"rejected"|"skipped", identifier or problems) per row."""
    from ecert.collect import collect
    from ecert.errors import CollectionError
    from ecert.package import file_name, package

    st = _STATE
    results: list[tuple[int, str, str]] = []
    for line, row, key in rows:
        reg = st["registry"]
        if reg.find_by_source_key(key) is not None:
            results.append((line, "skipped", ""))
            continue
        try:
            at = st["at"] or datetime.now(UTC)
            probe = collect(row, st["type_code"], issuer=st["authority"], serial="0", today=at.date())
            md = probe.metadata
            serial = reg.allocate_serial(md.type_code, md.identifier.issuer_code, period=f"{at:%Y}")
            draft = collect(row, st["type_code"], issuer=st["authority"], serial=serial, today=at.date())
            data = package(draft, st["issuer"], at=at)
            target = st["out_dir"] / file_name(draft.metadata)
            _write_atomically(target, data)
            signer_name = st["issuer"].signer.certificate.subject
            reg.record_issued(
                draft.metadata,
                package_digest=sm3(data).hex(),
                signer=signer_name,
                issued_at=at,
                file_path=str(target),
                source_key=key,
            )
            results.append((line, "issued", str(draft.metadata.identifier)))
        except CollectionError as exc:
            results.append((line, "rejected", "; ".join(str(p) for p in exc.problems)))
        except EcertError as exc:
            results.append((line, "rejected", str(exc)))
    return results


def _write_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


# --- the batch ----------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _move_orphans(out_dir: Path, registry: Any) -> tuple[str, ...]:
    """Files written by a crashed run whose record never landed: not issued, so set aside."""
    orphans = []
    for path in sorted(out_dir.glob("*.ofd")):
        try:
            registry.get(path.name[: -len(".ofd")])
        except EcertError:
            (out_dir / "orphans").mkdir(exist_ok=True)
            os.replace(path, out_dir / "orphans" / path.name)
            orphans.append(path.name)
    for tmp in out_dir.glob(".*.tmp"):
        tmp.unlink()
    return tuple(orphans)


def issue_batch(
    records: str | Path,
    cert_type: str,
    issuer: IssuerFiles,
    registry: str | Path,
    out_dir: str | Path,
    *,
    workers: int = 1,
    at: datetime | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
) -> BatchResult:
    """Issue every row of ``records`` (CSV with a header); see the module docstring."""
    from ecert.catalog import default_catalog
    from ecert.registry import SQLiteRegistry

    default_catalog().get(cert_type)  # an unknown type is a usage error before any work starts
    if not 1 <= workers <= 64:
        raise InputError("workers out of range", value=workers, expected="1..64")
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = read_rows(Path(records))
    with SQLiteRegistry.open(registry) as reg:
        reg.reconcile(datetime.now(UTC))  # allocations of an interrupted run become recorded gaps
        orphans = _move_orphans(out, reg)
        keyed = [(line, row, source_key(cert_type, row)) for line, row in rows]
        todo = [item for item in keyed if reg.find_by_source_key(item[2]) is None]
    skipped = len(rows) - len(todo)
    issued: list[str] = []
    rejected: list[tuple[int, str]] = []
    done = skipped

    def report() -> None:
        if progress is not None:
            progress(
                BatchProgress(
                    done, len(rows), len(issued), skipped, len(rejected), time.perf_counter() - start
                )
            )

    report()
    init_args = (issuer, str(registry), cert_type, str(out), at)
    chunks = list(_chunks(todo, CHUNK))
    if workers == 1:
        _init_worker(*init_args)
        results_iter: Iterator[list[tuple[int, str, str]]] = map(_issue_rows, chunks)
    else:
        import multiprocessing

        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=init_args,
        )
        results_iter = pool.map(_issue_rows, chunks)
    try:
        for chunk_results in results_iter:
            for line, state, detail in chunk_results:
                done += 1
                if state == "issued":
                    issued.append(detail)
                elif state == "rejected":
                    rejected.append((line, detail))
                else:
                    skipped += 1
            report()
    finally:
        if workers != 1:
            pool.shutdown(cancel_futures=True)
        elif "registry" in _STATE:
            _STATE.pop("registry").close()
    rejected_path = _write_rejected(out, rows, rejected) if rejected else None
    return BatchResult(
        len(issued),
        skipped,
        len(rejected),
        rejected_path,
        time.perf_counter() - start,
        tuple(issued),
        orphans,
    )


def _write_rejected(
    out: Path, rows: Sequence[tuple[int, dict[str, str]]], rejected: Sequence[tuple[int, str]]
) -> Path:
    by_line = dict(rows)
    fields = list(next(iter(by_line.values())).keys()) if by_line else []
    path = out / "rejected.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", *fields, "problems"])
        for line, problems in sorted(rejected):
            row = by_line.get(line, {})
            writer.writerow([line, *(row.get(f, "") for f in fields), problems])
    return path
