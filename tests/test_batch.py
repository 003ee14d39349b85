"""Batch issuing: parallel, rejected rows reported, resumable after being killed mid-way."""

from __future__ import annotations

import csv
import fcntl
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.batch import BatchResult, IssuerFiles, issue_batch, read_rows, source_key
from ecert.catalog import default_catalog
from ecert.cli import main
from ecert.collect import collect
from ecert.crypto.digests import sm3
from ecert.crypto.keys import save_private_key
from ecert.errors import EcertError, InputError
from ecert.identifier import Identifier
from ecert.registry import SQLiteRegistry

from .batchrows import write_rows
from .certs import hierarchy

ROOT = Path(__file__).resolve().parents[1]
TYPE = "11100000MB0143028R001"
EXAMPLE = ROOT / "examples" / "batch" / f"{TYPE}.csv"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> IssuerFiles:
    d = tmp_path_factory.mktemp("keys")
    h = hierarchy()
    (d / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (d / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    return IssuerFiles(d / "key.pem", d / "cert.pem")


def _cli_args(csv_path: Path, issuer: IssuerFiles, db: Path, out: Path, workers: int) -> list[str]:
    return [
        "batch", str(csv_path), "--type", TYPE, "--key", str(issuer.key_path), "--cert",
        str(issuer.cert_path), "--registry", str(db), "-o", str(out), "--workers", str(workers),
    ]  # fmt: skip


# --- examples ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_code", sorted(t.code for t in default_catalog()))
def test_every_type_has_an_example_batch_with_exactly_two_bad_rows(type_code: str) -> None:
    rows = read_rows(ROOT / "examples" / "batch" / f"{type_code}.csv")
    assert len(rows) >= 20
    bad = []
    for line, row in rows:
        try:
            collect(row, type_code, serial="0000000001")
        except EcertError:
            bad.append(line)
    assert len(bad) == 2, bad


# --- a batch and its rerun ----------------------------------------------------------------------------


def test_batch_on_two_workers_with_rejected_rows_and_rerun(issuer: IssuerFiles, tmp_path: Path) -> None:
    source = write_rows(tmp_path / "rows.csv", 18, before=EXAMPLE)  # 22 example rows (2 bad) + 18
    db, out = tmp_path / "r.db", tmp_path / "out"
    seen: list[int] = []
    first = issue_batch(source, TYPE, issuer, db, out, workers=2, progress=lambda p: seen.append(p.done))
    assert (first.issued, first.rejected, first.skipped) == (38, 2, 0)
    assert seen[-1] == 40 and seen == sorted(seen)
    assert first.rejected_path == out / "rejected.csv"
    with open(first.rejected_path, encoding="utf-8-sig") as fh:
        rejected = list(csv.DictReader(fh))
    rejected.sort(key=lambda r: int(r["line"]))  # in the order the workers finished them
    assert [int(r["line"]) for r in rejected] == [7, 15]  # the example's deliberately bad rows
    assert "统一社会信用代码" in rejected[0] and rejected[0]["统一社会信用代码"]  # the row as read
    assert rejected[0]["problems"].startswith("holder_code: ")  # wrong USCC check character
    assert rejected[1]["problems"].startswith("holder_name: ")  # missing name

    files = sorted(out.glob("*.ofd"))
    with SQLiteRegistry.open(db) as reg:
        assert {p.stem for p in files} == {r.identifier for r in reg.find(type_code=TYPE)}
        assert len(files) == 38
        for path in files:
            record = reg.get(path.stem)
            assert record.package_digest == sm3(path.read_bytes()).hex()
            assert record.source_key is not None

    again = issue_batch(source, TYPE, issuer, db, out, workers=1)
    assert (again.issued, again.skipped, again.rejected) == (0, 38, 2)
    assert len(list(out.glob("*.ofd"))) == 38


def test_duplicate_rows_are_rejected_on_every_run(issuer: IssuerFiles, tmp_path: Path) -> None:
    source = write_rows(tmp_path / "rows.csv", 3)
    lines = source.read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8")  # line 5 repeats line 3
    db, out = tmp_path / "r.db", tmp_path / "out"
    for expected in ((3, 0), (0, 3)):
        result = issue_batch(source, TYPE, issuer, db, out)
        assert (result.issued, result.skipped, result.rejected) == (*expected, 1)
        assert result.rejected_path is not None
        with open(result.rejected_path, encoding="utf-8-sig") as fh:
            (row,) = list(csv.DictReader(fh))
        assert row["line"] == "5" and "same content as line 3" in row["problems"]


def _the_rejected_row(result: BatchResult) -> dict[str, str]:
    """The one row of rejected.csv."""
    assert result.rejected_path is not None
    with open(result.rejected_path, encoding="utf-8-sig") as fh:
        (row,) = list(csv.DictReader(fh))
    return row


def test_a_row_the_csv_reader_refuses_is_rejected_and_the_others_issued(
    issuer: IssuerFiles, tmp_path: Path
) -> None:
    """A field over csv.field_size_limit() (131072) is that row's problem, not the batch's end."""
    source = write_rows(tmp_path / "rows.csv", 3)
    header, *rows = source.read_text(encoding="utf-8").splitlines()
    huge = "a" * 140_000 + "," + rows[0].split(",", 1)[1]
    source.write_text("\n".join([header, rows[0], huge, *rows[1:]]) + "\n", encoding="utf-8")
    assert [line for line, _row in read_rows(source)] == [2, 3, 4, 5]
    result = issue_batch(source, TYPE, issuer, tmp_path / "r.db", tmp_path / "out")
    assert (result.issued, result.rejected) == (3, 1)
    row = _the_rejected_row(result)
    assert row["line"] == "3" and "cannot be read as CSV (field larger than field limit" in row["problems"]
    assert "<unreadable>" not in row  # the reason is the problem, not a column


def test_a_row_with_more_cells_than_the_header_is_rejected_not_cut(
    issuer: IssuerFiles, tmp_path: Path
) -> None:
    """Cells the header does not name would be dropped silently if the row were issued."""
    source = write_rows(tmp_path / "rows.csv", 3)
    header, *rows = source.read_text(encoding="utf-8").splitlines()
    longer = rows[0] + ",备注：另有分支机构"
    source.write_text("\n".join([header, longer, *rows[1:]]) + "\n", encoding="utf-8")
    result = issue_batch(source, TYPE, issuer, tmp_path / "r.db", tmp_path / "out")
    assert (result.issued, result.rejected) == (2, 1)
    row = _the_rejected_row(result)
    assert row["line"] == "2" and "more cells than the header" in row["problems"]
    assert row["<extra>"] == "备注：另有分支机构"  # what would have been lost is in the report


def test_a_csv_header_the_reader_refuses_is_a_usage_error(issuer: IssuerFiles, tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_text("a" * 140_000 + ",b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="header row cannot be read"):
        read_rows(source)


def test_source_key_is_the_content_not_the_position(issuer: IssuerFiles, tmp_path: Path) -> None:
    source = write_rows(tmp_path / "rows.csv", 4)
    db, out = tmp_path / "r.db", tmp_path / "out"
    assert issue_batch(source, TYPE, issuer, db, out).issued == 4
    # a new row inserted at the top shifts every line number: only the new row is issued
    write_rows(tmp_path / "new.csv", 1, start=100)
    _header, new_row = (tmp_path / "new.csv").read_text(encoding="utf-8").splitlines()
    old = source.read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join([old[0], new_row, *old[1:]]) + "\n", encoding="utf-8")
    result = issue_batch(source, TYPE, issuer, db, out)
    assert (result.issued, result.skipped, result.rejected) == (1, 4, 0)
    assert result.rejected_path is None and not (out / "rejected.csv").exists()


def test_crash_leftovers_become_gaps_and_orphans(issuer: IssuerFiles, tmp_path: Path) -> None:
    """What a kill between allocation and record leaves, built by hand, is cleaned up on resume.

    (A real kill rarely lands in the few milliseconds between the rename and the record, so the
    orphan path is exercised here deterministically.)
    """
    source = write_rows(tmp_path / "rows.csv", 2)
    db, out = tmp_path / "r.db", tmp_path / "out"
    assert issue_batch(source, TYPE, issuer, db, out).issued == 2
    done = min(p.stem for p in out.glob("*.ofd"))
    ident = Identifier.parse(done)
    with SQLiteRegistry.open(db) as reg:  # two rows of a killed run: allocated, one file written
        lost = reg.allocate_serial(ident.type_code, ident.issuer_code, period=ident.serial[:4])
        written = reg.allocate_serial(ident.type_code, ident.issuer_code, period=ident.serial[:4])
    orphan = f"{Identifier.build(ident.type_code, ident.issuer_code, written)}.ofd"
    (out / orphan).write_bytes(b"signed but never recorded")
    (out / f".{orphan}.123.tmp").write_bytes(b"half written")
    (out / "notes.ofd").write_bytes(b"not an identifier: left alone")
    write_rows(source, 3)  # the killed run's third row was never recorded

    result = issue_batch(source, TYPE, issuer, db, out)
    assert (result.issued, result.skipped, result.orphans) == (1, 2, (orphan,))
    assert (out / "orphans" / orphan).exists() and not (out / orphan).exists()
    assert (out / "notes.ofd").exists() and not list(out.glob(".*.tmp"))
    with SQLiteRegistry.open(db) as reg:
        states = reg.serial_states(ident.type_code, ident.issuer_code)
        assert states[lost] == states[written] == "allocated"  # too young: maybe another issuer's
        reg.reconcile(datetime.now(UTC) + timedelta(seconds=1))
        states = reg.serial_states(ident.type_code, ident.issuer_code)
        assert states[lost] == states[written] == "gap"
        assert set(states.values()) == {"issued", "gap"}


def test_one_batch_per_output_directory(issuer: IssuerFiles, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".ecert-batch.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another batch"):
            issue_batch(write_rows(tmp_path / "rows.csv", 1), TYPE, issuer, tmp_path / "r.db", out)


# --- the command ------------------------------------------------------------------------------------


def test_cli_exit_codes_and_progress(
    issuer: IssuerFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    good = write_rows(tmp_path / "good.csv", 3)
    assert main(_cli_args(good, issuer, db, tmp_path / "a", 1)) == 0
    captured = capsys.readouterr()
    assert "3 issued, 0 already issued, 0 rejected" in captured.out
    assert "3/3 rows" in captured.err and "\r" not in captured.err  # not a TTY: plain lines

    assert main(_cli_args(EXAMPLE, issuer, db, tmp_path / "b", 1)) == 1
    assert "rejected.csv" in capsys.readouterr().out

    assert main([*_cli_args(good, issuer, db, tmp_path / "c", 1)[:-2], "--at", "2026-11-25T10:00"]) == 2
    assert "time zone" in capsys.readouterr().err
    wrong = _cli_args(good, issuer, db, tmp_path / "d", 1)
    wrong[wrong.index("--type") + 1] = "11100000MB0143028R999"
    assert main(wrong) == 2
    with pytest.raises(SystemExit) as exc:
        main(["batch", "--help"])
    assert exc.value.code == 0 and "example:" in capsys.readouterr().out


# --- killed mid-way -----------------------------------------------------------------------------------


def _summary(db: Path, out: Path) -> tuple[set[str], set[str]]:
    """(source keys, holder codes) recorded; checks serials, identifiers and files on the way."""
    with SQLiteRegistry.open(db) as reg:
        records = reg.find(type_code=TYPE, limit=10_000)
        reg.reconcile(datetime.now(UTC) + timedelta(seconds=1))
        ident = Identifier.parse(records[0].identifier)
        states = reg.serial_states(ident.type_code, ident.issuer_code)
    assert set(states.values()) <= {"issued", "gap"}  # every allocated serial is accounted for
    assert sum(s == "issued" for s in states.values()) == len(records)
    identifiers = [r.identifier for r in records]
    assert len(identifiers) == len(set(identifiers))
    assert {p.stem for p in out.glob("*.ofd")} == set(identifiers)  # every record has its file, no more
    return {r.source_key or "" for r in records}, {r.metadata.holder_code for r in records}


def test_killed_batch_resumes_to_the_same_set(issuer: IssuerFiles, tmp_path: Path) -> None:
    rows = 160
    source = write_rows(tmp_path / "rows.csv", rows)
    db, out = tmp_path / "killed.db", tmp_path / "killed"
    cmd = [sys.executable, "-m", "ecert", *_cli_args(source, issuer, db, out, 2)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.ofd"))) < 15 and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and both workers, wherever they are
    proc.wait()
    partial = len(list(out.glob("*.ofd")))
    assert 0 < partial < rows, "the kill did not land mid-way"

    resumed = issue_batch(source, TYPE, issuer, db, out, workers=2)
    assert resumed.rejected == 0 and resumed.issued + resumed.skipped == rows
    assert resumed.skipped <= partial  # a file without a record (an orphan) is not a skip
    assert len(list((out / "orphans").glob("*.ofd"))) == len(resumed.orphans)

    clean = issue_batch(source, TYPE, issuer, tmp_path / "clean.db", tmp_path / "clean", workers=2)
    assert clean.issued == rows

    keys, holders = _summary(db, out)
    clean_keys, clean_holders = _summary(tmp_path / "clean.db", tmp_path / "clean")
    assert keys == clean_keys == {source_key(TYPE, row) for _line, row in read_rows(source)}
    assert holders == clean_holders and len(holders) == rows


def test_interrupted_batch_stops_at_a_row_boundary(issuer: IssuerFiles, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group): workers finish their rows, nothing is left half-done."""
    source = write_rows(tmp_path / "rows.csv", 60)
    db, out = tmp_path / "r.db", tmp_path / "out"
    cmd = [sys.executable, "-m", "ecert", *_cli_args(source, issuer, db, out, 2)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.ofd"))) < 5 and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    with SQLiteRegistry.open(db) as reg:
        records = reg.find(type_code=TYPE, limit=100)
        ident = Identifier.parse(records[0].identifier)
        assert "allocated" not in reg.serial_states(ident.type_code, ident.issuer_code).values()
    assert 0 < len(records) < 60
    assert {p.stem for p in out.glob("*.ofd")} == {r.identifier for r in records}
    assert not list(out.glob(".*.tmp"))


def test_a_row_with_undecodable_bytes_is_rejected_not_issued_garbled(
    issuer: IssuerFiles, tmp_path: Path
) -> None:
    """A UTF-8 file with one damaged line: that row is rejected (not issued with U+FFFD in a name)."""
    source = write_rows(tmp_path / "rows.csv", 3)
    raw = source.read_bytes().splitlines(keepends=True)
    name = next(cell for cell in raw[2].decode("utf-8").split(",") if not cell.isascii())
    raw[2] = raw[2].replace(name.encode("utf-8"), name.encode("utf-8")[:-1] + b"\xff")
    source.write_bytes(b"".join(raw))
    result = issue_batch(source, TYPE, issuer, tmp_path / "r.db", tmp_path / "out")
    assert (result.issued, result.rejected) == (2, 1)
    row = _the_rejected_row(result)
    assert row["line"] == "3" and "not valid UTF-8 or GB18030 text" in row["problems"]


def test_a_dead_worker_is_a_batch_interrupted_error(
    issuer: IssuerFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed (or out of memory) ends the batch with an EcertError saying how to resume,
    not a BrokenProcessPool traceback."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    import ecert.batch as batch_module
    from ecert.errors import BatchInterrupted

    class DeadPool:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __enter__(self) -> DeadPool:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def submit(self, fn: object, chunk: object) -> Future[object]:
            future: Future[object] = Future()
            future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            return future

        def shutdown(self, cancel_futures: bool = False) -> None:
            pass

    monkeypatch.setattr(batch_module, "ProcessPoolExecutor", DeadPool)
    source = write_rows(tmp_path / "rows.csv", 3)
    with pytest.raises(BatchInterrupted, match="run the batch again"):
        issue_batch(source, TYPE, issuer, tmp_path / "r.db", tmp_path / "out", workers=2)
