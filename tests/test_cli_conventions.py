"""What every command does alike: --version, a description, quiet pipes, secret keys, plain dates;
and the safety rules: the demo keeps existing keys, a department certificate's USCC is checked."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import ecert
from ecert.cli import build_parser, main
from ecert.cli.common import parse_time

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"ecert {ecert.__version__}"


def _parsers(
    parser: argparse.ArgumentParser, path: str = "ecert"
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{path} {name}", sub))
                found.extend(_parsers(sub, f"{path} {name}"))
    return found


def test_every_command_has_a_description_line() -> None:
    missing = [name for name, p in _parsers(build_parser()) if not (p.description or "").strip()]
    assert missing == []


def test_every_command_is_in_the_cli_guide() -> None:
    guide = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    top = [name.split()[1] for name, _p in _parsers(build_parser()) if len(name.split()) == 2]
    assert [c for c in top if f"### {c}\n" not in guide] == []


def test_no_broken_pipe_message_when_piped_into_head() -> None:
    # a big output, its reader gone after one line (what `ecert types --json | head -1` does)
    proc = subprocess.run(
        f"{sys.executable} -m ecert types --json | head -c 1",
        shell=True,
        capture_output=True,
        env=_env(),
        timeout=120,
    )
    assert proc.stdout == b"[" and b"Broken pipe" not in proc.stderr and proc.stderr == b""


def test_keys_are_written_for_their_owner_only(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(b"old")
    key.chmod(0o644)
    assert main(["keygen", "-o", str(key), "--force"]) == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_demo_refuses_to_overwrite_keys_and_anchors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    assert stat.S_IMODE((out / "keys" / "issuer.key.pem").stat().st_mode) == 0o600
    key = (out / "keys" / "issuer.key.pem").read_bytes()
    capsys.readouterr()
    assert main(["demo", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "keys/issuer.key.pem" in err and "--force" in err
    assert (out / "keys" / "issuer.key.pem").read_bytes() == key
    assert main(["demo", "--out", str(out), "--force"]) == 0
    assert (out / "keys" / "issuer.key.pem").read_bytes() != key


def test_cert_issuer_checks_the_uscc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("root.key", "issuer.key"):
        assert main(["keygen", "-o", str(tmp_path / name)]) == 0
    assert (
        main(
            ["cert", "root", "--key", str(tmp_path / "root.key"), "--cn", "根", "-o", str(tmp_path / "r.pem")]
        )
        == 0
    )
    args = ["cert", "issuer", "--ca-key", str(tmp_path / "root.key"), "--ca-cert", str(tmp_path / "r.pem")]
    args += ["--key", str(tmp_path / "issuer.key"), "--cn", "某局", "-o", str(tmp_path / "i.pem")]
    capsys.readouterr()
    assert main([*args, "--org-id", "11330100MB01234571"]) == 2  # wrong check character
    assert "--org-id" in capsys.readouterr().err
    assert main([*args, "--org-id", "11330100MB01234570"]) == 0
    capsys.readouterr()
    assert main(["cert", "show", str(tmp_path / "i.pem")]) == 0
    shown = capsys.readouterr().out
    assert "organizationIdentifier=11330100MB01234570" in shown and "2.5.4.97=" not in shown
    assert "SM2 with SM3 (1.2.156.10197.1.501)" in shown


def test_at_accepts_a_plain_date_in_china_time() -> None:
    china = timezone(timedelta(hours=8))
    assert parse_time("2026-11-24", "--at") == datetime(2026, 11, 24, 0, 0, tzinfo=china)
    assert parse_time("2026-11-24", "--at", day_end=True) == datetime(2026, 11, 24, 23, 59, 59, tzinfo=china)


def test_inspect_does_not_say_verified_false(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(next(out.glob("*.ofd")))]) == 0
    shown = capsys.readouterr().out
    assert "verified: False" not in shown and "not checked (ecert verify checks it)" in shown


def test_top_level_file_and_qr_verification(tmp_path: Path) -> None:
    from ecert.app import load_trust

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    trust = load_trust(out / "trust")
    ofd = next(out.glob("*.ofd"))
    assert ecert.verify_file(ofd, trust=trust).ok
    from ecert.app import known_certificates

    qr = out / "qr" / f"{ofd.stem}.png"
    assert ecert.verify_qr(str(qr), trust=trust, certificates=known_certificates(out / "trust")).ok


def test_outcomes_compare_equal_to_their_strings() -> None:
    from ecert.verify.report import Outcome

    assert Outcome.PASS == "pass" and Outcome("fail") is Outcome.FAIL and f"{Outcome.WARN}" == "warn"


def test_verify_given_a_path_says_to_use_verify_file(tmp_path: Path) -> None:
    from ecert.crypto.trust import TrustStore

    for given in (tmp_path / "cert.ofd", str(tmp_path / "cert.ofd")):
        report = ecert.verify(given, trust=TrustStore([]))
        assert not report.ok and "ecert.verify_file(path" in report.failures[0].message
