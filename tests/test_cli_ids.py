"""``ecert id check|make`` and ``ecert code check`` through ``ecert.cli.main``."""

from __future__ import annotations

import json

import pytest

import ecert.cli
from ecert.cli import main

GOOD = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
BAD_CHECK = "1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M"


@pytest.fixture(autouse=True)
def only_this_group(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() builds every command group; load only ours so that these tests do not depend on
    # other groups (some are still being written in the same tree).
    monkeypatch.setattr(ecert.cli, "_COMMAND_MODULES", ("ecert.cli.ids",))


def test_id_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["id", "check", GOOD]) == 0
    assert capsys.readouterr().out == f"{GOOD}: OK\n"


def test_id_check_names_the_expected_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["id", "check", GOOD, BAD_CHECK]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("OK")
    assert "INVALID" in out[1] and "'D'" in out[1]


def test_id_check_lenient(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["id", "check", "--lenient", BAD_CHECK]) == 0
    assert "should be 'D'" in capsys.readouterr().out


def test_id_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["id", "check", "--json", GOOD, "1.2.156.3003.2.X"]) == 1
    good, bad = json.loads(capsys.readouterr().out)
    assert good["valid"] and good["identifier"]["check_ok"]
    assert good["identifier"]["issuer_code_kind"] == "uscc"
    assert not bad["valid"] and bad["error"]["field"] == "root" and bad["error"]["position"] == 11


def test_id_make(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["id", "make", "--type", "11100000000013338W011", "--issuer", "11430000006122244L"]
    assert main([*args, "--serial", "20230000403"]) == 0
    assert capsys.readouterr().out == f"{GOOD}\n"
    assert main([*args, "--serial", "20230000403", "--version", "2"]) == 0
    assert capsys.readouterr().out.strip().endswith(".002.S")


def test_id_make_bad_field_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["id", "make", "--type", "11100000000013338W011", "--issuer", "11430000006122244M"]
    assert main([*args, "--serial", "1"]) == 2
    assert "expected check character 'L'" in capsys.readouterr().err


def test_code_check_any_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["code", "check", "91110000600037341L", "11010519491231002X", "MB034103-2"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "91110000600037341L: OK uscc",
        "11010519491231002X: OK citizen-id",
        "MB034103-2: OK org-code",
    ]


def test_code_check_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["code", "check", "91110000600037341M"]) == 1
    assert "expected check character 'L'" in capsys.readouterr().out


def test_code_check_kind_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["code", "check", "--kind", "citizen-id", "--json", "11010519491231002X"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["info"]["citizen-id"] == {
        "region": "110105",
        "birth_date": "1949-12-31",
        "sequence": "002",
        "sex": "F",
    }
    assert main(["code", "check", "--kind", "org-code", "91110000600037341L"]) == 1


def test_code_check_json_uscc(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["code", "check", "--json", "91370406L24894136J"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["kinds"] == ["uscc"] and result["info"]["uscc"]["authority_name"] == "工商"


@pytest.mark.parametrize(
    "argv", [["code", "check", "--kind", "vin", "X"], ["id", "check"], ["id", "make", "--type", "X"]]
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize("group", ["id", "code"])
def test_group_without_command_prints_help(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([group]) == 2
    assert "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["id", "check"], ["id", "make"], ["code", "check"]])
def test_help_has_an_example(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    assert "ecert " + " ".join(argv) in capsys.readouterr().out.split("example")[1]
