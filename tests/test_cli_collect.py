"""``ecert types`` and ``ecert collect`` through ``ecert.cli.main``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ecert.cli
from ecert.cli import main

RECORDS = Path(__file__).resolve().parents[1] / "examples" / "records"
SAFETY = "11100000000013338W050"
LICENCE = "11100000MB0143028R001"


@pytest.fixture(autouse=True)
def only_these_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    # load only our command groups, so that these tests do not depend on groups still being written
    monkeypatch.setattr(ecert.cli, "_COMMAND_MODULES", ("ecert.cli.catalog", "ecert.cli.collect"))


def test_types_lists_every_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["types"]) == 0
    out = capsys.readouterr().out
    assert SAFETY in out and "营业执照" in out and len(out.splitlines()) >= 5


def test_types_shows_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["types", SAFETY]) == 0
    out = capsys.readouterr().out
    assert "主要负责人" in out and "fixed_years (3 years)" in out


def test_types_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["types", "11100000000013338W001", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["code"] == "11100000000013338W001"
    assert {"name": "KZ_XB", "label": "性别"}.items() <= data["items"][3].items()
    assert main(["types", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) >= 5


def test_types_unknown_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["types", "11100000000013338W999"]) == 2
    assert "11100000000013338W999" in capsys.readouterr().err


def test_collect_prints_the_draft(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", str(RECORDS / f"{SAFETY}.json"), "--type", SAFETY]) == 0
    draft = json.loads(capsys.readouterr().out)
    assert draft["type"]["code"] == SAFETY
    assert draft["metadata"]["ZZLXDM"] == SAFETY
    assert draft["metadata"]["ZZYXQJZRQ"] == "2029-11-09"


def test_collect_options_override_the_record(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["collect", str(RECORDS / f"{LICENCE}.json"), "--type", LICENCE, "--serial", "S1"]
    args += [
        "--issuer-name",
        "示例市市场监督管理局",
        "--issuer-code",
        "11330100MB01234570",
        "--issue-date",
        "2026-01-02",
    ]
    assert main(args) == 0
    md = json.loads(capsys.readouterr().out)["metadata"]
    assert md["ZZBFJGDM"] == "11330100MB01234570" and md["ZZBFRQ"] == "2026-01-02"
    assert ".11330100MB01234570.S1.001." in md["ZZBS"]


def test_collect_invalid_prints_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = json.loads((RECORDS / f"{SAFETY}.json").read_text(encoding="utf-8"))
    record["certificateHolderCode"] = "91110000MA00K1L29C"
    record.pop("主要负责人")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    assert main(["collect", str(path), "--type", SAFETY]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("holder_code: ") for line in lines)
    assert any(line.startswith("KZ_ZYFZR: ") for line in lines)


def test_collect_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = json.loads((RECORDS / f"{SAFETY}.json").read_text(encoding="utf-8")) | {"备注": "x"}
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    assert main(["collect", str(path), "--type", SAFETY]) == 0
    assert json.loads(capsys.readouterr().out)["ignored_fields"] == ["备注"]
    assert main(["collect", str(path), "--type", SAFETY, "--strict"]) == 1
    assert capsys.readouterr().out.startswith("备注: ")


def test_collect_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", str(RECORDS / f"{LICENCE}.csv"), "--csv", "--type", LICENCE]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and all(json.loads(line)["type"]["code"] == LICENCE for line in lines)
    text = (RECORDS / f"{LICENCE}.csv").read_text(encoding="utf-8") + "bad,row\n"
    path = tmp_path / "rows.csv"
    path.write_text(text, encoding="utf-8")
    assert main(["collect", str(path), "--csv", "--type", LICENCE]) == 1
    assert "line 7: <row>: " in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["collect", "/nonexistent/record.json", "--type", SAFETY],
        ["collect", "RECORD", "--type", "11100000000013338W999"],
        ["collect", "RECORD", "--type", SAFETY, "--issuer-name", "only a name"],
        ["collect", "RECORD", "--type", SAFETY, "--issue-date", "yesterday"],
    ],
)
def test_collect_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(RECORDS / f"{SAFETY}.json") if a == "RECORD" else a for a in args]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("ecert: error:")


def test_collect_without_type_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["collect", str(RECORDS / f"{SAFETY}.json")])
    assert info.value.code == 2
    assert "--type" in capsys.readouterr().err


def test_collect_not_json_is_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.json"
    path.write_text("{not json", encoding="utf-8")
    assert main(["collect", str(path), "--type", SAFETY]) == 2
    assert capsys.readouterr().out.startswith("<record>: not JSON")
    path.write_bytes(b"\xff\xfe{}")
    assert main(["collect", str(path), "--type", SAFETY]) == 2


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("collect", "types"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        assert "example" in capsys.readouterr().out


def test_collect_csv_with_a_field_the_reader_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The row is reported as one readable line and exit 1, no csv.Error traceback."""
    path = tmp_path / "huge.csv"
    path.write_text("注册编号,姓名\n" + "a" * 140_000 + ",x\n", encoding="utf-8")
    assert main(["collect", "--type", "11100000000013338W001", "--csv", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("line 2: <row>: cannot be read as CSV (field larger than field limit")
    assert main(["collect", "--type", "11100000000013338W001", "--csv", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read CSV file" in capsys.readouterr().err


def test_collect_issue_date_near_9999(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = "11100000000013338W001"
    record = json.loads((RECORDS / f"{code}.json").read_text(encoding="utf-8"))
    record = {k: v for k, v in record.items() if k != "有效期至"} | {"发证日期": "9999-06-01"}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    assert main(["collect", "--type", code, str(path)]) == 1
    assert capsys.readouterr().out.startswith("valid_until: ")
