"""What a newcomer meets following the README and the --help texts: every example names real files
and types, and the unhappy paths (a rejected record, a missing image, a key given as a certificate,
an overwritten key, a broken status list) end in one line naming the file, with the documented exit
status."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from ecert.catalog import default_catalog
from ecert.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
TYPE = "11100000MB0143028R001"  # 营业执照
RECORD = ROOT / "examples" / "records" / f"{TYPE}.json"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "-o", str(out), "--at", "2026-11-24T10:00+08:00"]) == 0  # -o as everywhere
    return out


def _keys(demo: Path) -> list[str]:
    return ["--key", str(demo / "keys" / "issuer.key.pem"), "--cert", str(demo / "keys" / "issuer.cert.pem")]


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every command and sub-command parser, with its command line."""
    found: list[tuple[str, argparse.ArgumentParser]] = []

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(f"{name} {sub_name}", sub)

    walk("ecert", build_parser())
    return found[1:]


@pytest.mark.parametrize(("name", "parser"), _parsers(), ids=[n for n, _ in _parsers()])
def test_every_command_help_has_an_example(name: str, parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    assert "example" in text and name in text.split("example", 1)[1], name
    undocumented = [
        a.option_strings or a.dest
        for a in parser._actions
        if not a.help and not isinstance(a, argparse._SubParsersAction)
    ]
    assert not undocumented, f"{name}: options without help: {undocumented}"


def test_help_examples_name_real_sample_files_and_types() -> None:
    """`ecert issue --help` once showed examples/records/business-licence.json and a type that isn't."""
    codes = {t.code for t in default_catalog()}
    for name, parser in _parsers():
        text = parser.epilog or ""
        for path in re.findall(r"examples/[\w./-]+\w", text):
            assert (ROOT / path).exists(), f"{name}: {path}"
        for code in re.findall(r"--type (\w+)", text) if not name.startswith("ecert id") else ():
            assert code in codes, f"{name}: --type {code}"


def test_batch_help_says_where_the_issuer_comes_from() -> None:
    text = dict(_parsers())["ecert batch"].format_help()
    assert "from each record" not in text and "--cert certificate names" in " ".join(text.split())


def test_issue_rejected_record_exits_1_listing_every_problem(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "bad.json"
    record.write_text('{"名称": "北京示例科技有限公司"}', encoding="utf-8")
    code = main(["issue", str(record), "--type", TYPE, *_keys(demo), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1  # as the epilog says: the record was processed and rejected
    lines = err.splitlines()
    assert len(lines) >= 2 and all(line.startswith(f"{record}: ") for line in lines)
    assert any("统一社会信用代码" in line for line in lines)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    record.write_text("[1, 2]", encoding="utf-8")  # not a record at all: unreadable input
    assert main(["issue", str(record), "--type", TYPE, *_keys(demo), "-o", str(tmp_path / "out")]) == 2


def test_issue_the_help_example(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["issue", str(RECORD), "--type", TYPE, *_keys(demo), "-o", str(tmp_path)]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == tmp_path and path.suffix == ".ofd"
    assert main(["verify", str(path), "--trust", str(demo / "trust")]) == 0


def test_verify_qr_image_that_does_not_exist_is_unreadable_input(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped image path was verified as QR text: exit 1, "not a reference payload"."""
    for missing in ("photo.png", "scans/photo.JPG"):
        assert main(["verify", "--qr", missing, "--trust", str(demo / "trust")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "QR image not found" in err and missing in err


def test_cert_show_of_a_key_file_says_there_is_no_certificate(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = demo / "keys" / "issuer.key.pem"
    assert main(["cert", "show", str(key)]) == 2  # printed nothing and exited 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no certificate" in err and str(key) in err


def test_keygen_does_not_overwrite_a_key_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "issuer.key.pem"
    assert main(["keygen", "-o", str(key)]) == 0
    first = key.read_bytes()
    capsys.readouterr()
    assert main(["keygen", "--alg", "p256", "-o", str(key)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(key) in err and "--force" in err
    assert key.read_bytes() == first
    assert main(["keygen", "--alg", "p256", "-o", str(key), "--force"]) == 0
    assert key.read_bytes() != first


@pytest.mark.parametrize("command", [["inspect"], ["qr"], ["render", "-o", "face.png"]], ids=lambda c: c[0])
def test_a_file_that_is_not_a_certificate_is_named_in_the_error(
    demo: Path, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The reader's own message said only "at package"."""
    key = demo / "keys" / "issuer.key.pem"
    argv = [command[0], str(key), *[str(tmp_path / a) if a.endswith(".png") else a for a in command[1:]]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    # inspect shows any OFD file (invoices, receipts are not certificates: issue 16)
    expected = "not a readable OFD file" if command[0] == "inspect" else "not a readable certificate file"
    assert err.count("\n") == 1 and str(key) in err and expected in err


def test_an_unusable_status_list_is_named_in_the_error(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ofd = str(sorted(demo.glob("*.ofd"))[0])
    not_a_list = demo / "trust" / "root.cert.pem"
    assert main(["verify", ofd, "--trust", str(demo / "trust"), "--status", str(not_a_list)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(not_a_list) in err


def test_qr_with_out_prints_the_image_path(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ofd = str(sorted(demo.glob("*.ofd"))[0])
    png = tmp_path / "qr.png"
    keys = ["--key", str(demo / "keys" / "issuer.key.pem"), "--cert", str(demo / "keys" / "issuer.cert.pem")]
    assert main(["qr", ofd, "-o", str(png), *keys]) == 0
    assert capsys.readouterr().out.strip() == str(png) and png.is_file()
    assert main(["qr", ofd, "-o", str(png), "--print", "--kind", "reference"]) == 0
    assert capsys.readouterr().out.startswith("ECR1:")


def test_registry_find_bad_date_is_one_usage_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.db")
    assert main(["registry", "init", "--registry", db]) == 0
    with pytest.raises(SystemExit) as exc:
        main(["registry", "find", "--from", "2026-13-01", "--registry", db])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "not a date (YYYY-MM-DD): '2026-13-01'" in err and "fromisoformat" not in err


def test_collect_missing_record_names_it_like_the_other_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    assert main(["collect", str(missing), "--type", TYPE]) == 2
    assert (
        capsys.readouterr().err
        == f"ecert: error: cannot read record (No such file or directory) at {missing}\n"
    )
