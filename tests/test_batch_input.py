"""What an operator's export looks like: .xlsx, UTF-16, misspelled columns, Excel's artefacts; what a
batch leaves: rejected files never overwritten, a JSON summary, a progress line with an ETA."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from ecert.batch import BatchProgress, IssuerFiles, issue_batch, plan_batch, read_rows
from ecert.catalog import default_catalog
from ecert.cli import main
from ecert.collect.tables import excel_hints, sniff_encoding, survey
from ecert.crypto.keys import save_private_key
from ecert.errors import InputError

from .certs import hierarchy
from .test_batch import TYPE, write_rows


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> IssuerFiles:
    d = tmp_path_factory.mktemp("keys")
    h = hierarchy()
    (d / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (d / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    return IssuerFiles(d / "key.pem", d / "cert.pem")


def _cli(source: Path, issuer: IssuerFiles, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "batch", str(source), "--type", TYPE, "--key", str(issuer.key_path), "--cert", str(issuer.cert_path),
        "--registry", str(tmp_path / "r.db"), "-o", str(tmp_path / "out"), *extra,
    ]  # fmt: skip


def _rows(source: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(source, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- formats -------------------------------------------------------------------------------------------


def test_an_xlsx_sheet_is_issued_with_typed_cells(issuer: IssuerFiles, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    header, rows = _rows(write_rows(tmp_path / "rows.csv", 3))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        cells: list[object] = [row[h] for h in header]
        cells[header.index("成立日期")] = datetime(2018, 6, 1)  # a real date cell, as Excel keeps it
        cells[header.index("注册资本")] = 500  # a number cell
        sheet.append(cells)
    book.save(tmp_path / "rows.xlsx")
    assert survey(tmp_path / "rows.xlsx").rows == 3
    assert read_rows(tmp_path / "rows.xlsx")[0][1]["成立日期"] == "2018-06-01"
    result = issue_batch(tmp_path / "rows.xlsx", TYPE, issuer, tmp_path / "r.db", tmp_path / "out")
    assert (result.issued, result.rejected) == (3, 0)


def test_xlsx_without_openpyxl_is_refused_with_a_hint(
    issuer: IssuerFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rows.xlsx").write_bytes(b"PK\x03\x04 not really")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl raises ImportError
    assert main(_cli(tmp_path / "rows.xlsx", issuer, tmp_path)) == 2
    err = capsys.readouterr().err
    assert "needs openpyxl" in err and "pip install 'ecert[xlsx]'" in err
    assert not (tmp_path / "out").exists()  # refused before anything was made


def test_a_damaged_xlsx_is_unreadable_input(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    (tmp_path / "rows.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match=r"cannot read \.xlsx workbook"):
        survey(tmp_path / "rows.xlsx")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "gb18030", "utf-8-sig"])
def test_utf16_and_other_exports_are_detected(issuer: IssuerFiles, tmp_path: Path, encoding: str) -> None:
    header, rows = _rows(write_rows(tmp_path / "rows.csv", 2))
    source = _write(tmp_path / f"rows-{encoding}.csv", header, rows, encoding)
    assert sniff_encoding(source).startswith(encoding.removesuffix("-sig").removesuffix("-le")[:6])
    assert [r["名称"] for _line, r in read_rows(source)] == [r["名称"] for r in rows]
    result = issue_batch(source, TYPE, issuer, tmp_path / "r.db", tmp_path / "out")
    assert (result.issued, result.rejected) == (2, 0)


# --- columns -------------------------------------------------------------------------------------------


def test_a_misspelled_column_is_reported_once_at_the_start(
    issuer: IssuerFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header, rows = _rows(write_rows(tmp_path / "rows.csv", 2))
    header = [*header, "备 注"]  # names no field: ignored on every row
    rows = [{**r, "备 注": "x"} for r in rows]
    source = _write(tmp_path / "typo.csv", header, rows)
    assert plan_batch(source, TYPE).unknown_columns == ("备 注",)
    assert main(_cli(source, issuer, tmp_path, "--strict")) == 2
    err = capsys.readouterr().err
    assert "备 注" in err and "name no field" in err
    assert not (tmp_path / "r.db").exists()  # refused before the registry was touched
    assert main(_cli(source, issuer, tmp_path)) == 0
    err = capsys.readouterr().err
    assert err.count("备 注") == 1 and "warning: 1 column(s)" in err


def test_excel_artefacts_get_a_hint(issuer: IssuerFiles, tmp_path: Path) -> None:
    header, rows = _rows(write_rows(tmp_path / "rows.csv", 3))
    rows[0]["统一社会信用代码"] = "9.11101E+17"
    rows[1]["成立日期"] = "45296"
    source = _write(tmp_path / "excel.csv", header, rows)
    result = issue_batch(source, TYPE, issuer, tmp_path / "r.db", tmp_path / "out")
    assert (result.issued, result.rejected) == (1, 2)
    assert result.rejected_path is not None
    with open(result.rejected_path, encoding="utf-8-sig") as fh:
        problems = {r["line"]: r["problems"] for r in csv.DictReader(fh)}
    assert "scientific notation" in problems["2"] and "format the column as Text" in problems["2"]
    assert "Excel date serial number (2024-01-05)" in problems["3"]
    t = default_catalog().get(TYPE)
    assert excel_hints({"成立日期": "45296", "名称": "12345"}, t) == [
        "成立日期: 45296 looks like an Excel date serial number (2024-01-05); format the column as a "
        "date (YYYY-MM-DD) or as text before exporting"
    ]  # a five-digit value in a column that is not a date is left alone
    assert date(2024, 1, 5).isoformat() in excel_hints({"成立日期": "45296"}, t)[0]


# --- what a batch leaves ----------------------------------------------------------------------------


def test_rejected_csv_of_an_earlier_run_is_never_overwritten(issuer: IssuerFiles, tmp_path: Path) -> None:
    header, rows = _rows(write_rows(tmp_path / "rows.csv", 2))
    rows[0]["名称"] = ""
    first = issue_batch(
        _write(tmp_path / "a.csv", header, rows), TYPE, issuer, tmp_path / "r.db", tmp_path / "o"
    )
    assert first.rejected_path == tmp_path / "o" / "rejected.csv"
    before = first.rejected_path.read_bytes()
    rows[1]["名称"] = ""
    second = issue_batch(
        _write(tmp_path / "b.csv", header, rows), TYPE, issuer, tmp_path / "r.db", tmp_path / "o"
    )
    assert second.rejected_path == tmp_path / "o" / "rejected-2.csv"
    assert first.rejected_path.read_bytes() == before
    clean = issue_batch(tmp_path / "rows.csv", TYPE, issuer, tmp_path / "r.db", tmp_path / "o")
    assert clean.rejected_path is None and first.rejected_path.read_bytes() == before


def test_summary_as_json_and_progress_with_eta(
    issuer: IssuerFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_rows(tmp_path / "rows.csv", 30)
    assert main(_cli(source, issuer, tmp_path, "--json")) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["issued"] == 30 and summary["rejected"] == 0 and summary["ok"] is True
    assert summary["rejected_file"] is None and summary["unknown_columns"] == []
    assert "ETA" in captured.err  # the progress line (one per 10 % in a log)
    assert BatchProgress(10, 40, 10, 0, 0, 5.0).eta == 15.0
    assert BatchProgress(0, 40, 0, 0, 0, 0.0).eta is None


def test_ecert_collect_reads_xlsx_and_utf16_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    header, rows = _rows(write_rows(tmp_path / "rows.csv", 2))
    rows[1]["名称"] = ""
    book = openpyxl.Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append([row[h] for h in header])
    book.save(tmp_path / "rows.xlsx")
    utf16 = _write(tmp_path / "rows16.csv", header, rows, "utf-16")
    for source in (tmp_path / "rows.xlsx", utf16):
        assert main(["collect", str(source), "--csv", "--type", TYPE]) == 1
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("{") and "示例批量第0号有限公司" in out[0]
        assert out[1].startswith("line 3: holder_name")
