"""The CLI end to end: demo, verify (files, QR image, status), registry revoke, inspect, render, issue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--at", "2026-11-24T10:00+08:00"]) == 0
    return out


def test_demo_outputs(demo: Path) -> None:
    assert (demo / "trust" / "root.cert.pem").is_file()
    assert (demo / "keys" / "issuer.key.pem").is_file() and (demo / "keys" / "issuer.cert.pem").is_file()
    ofds = sorted(demo.glob("*.ofd"))
    assert len(ofds) >= 5
    assert len(list((demo / "qr").glob("*.png"))) == len(ofds) == len(list((demo / "faces").glob("*.png")))


def test_verify_files_and_qr_image(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ofds = [str(p) for p in sorted(demo.glob("*.ofd"))]
    assert main(["verify", *ofds, "--trust", str(demo / "trust")]) == 0
    qr = str(sorted((demo / "qr").glob("*.png"))[0])
    cert = str(demo / "keys" / "issuer.cert.pem")
    assert main(["verify", "--qr", qr, "--trust", str(demo / "trust"), "--cert", cert, "--lang", "zh"]) == 0
    assert "有效" in capsys.readouterr().out
    empty = demo / "empty-trust"
    empty.mkdir(exist_ok=True)
    assert main(["verify", ofds[0], "--trust", str(empty)]) == 1  # nothing trusted: not valid
    assert main(["verify", "--trust", str(demo / "trust")]) == 2


def test_tampered_file_exits_1(demo: Path, tmp_path: Path) -> None:
    data = bytearray(sorted(demo.glob("*.ofd"))[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.ofd"
    bad.write_bytes(bytes(data))
    assert main(["verify", str(bad), "--trust", str(demo / "trust"), "--json"]) == 1


def test_revocation_through_the_cli(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ecert.app import read_certificate_parts
    from ecert.registry import SQLiteRegistry

    ofd = sorted(demo.glob("*.ofd"))[0]
    md, _items = read_certificate_parts(ofd.read_bytes())
    db = tmp_path / "reg.db"
    assert main(["registry", "init", "--registry", str(db)]) == 0
    with SQLiteRegistry.open(db) as reg:
        from datetime import UTC, datetime

        reg.record_issued(md, package_digest="0" * 64, signer="demo", issued_at=datetime.now(UTC))
    ident = str(md.identifier)
    assert main(["registry", "revoke", ident, "--reason", "以欺骗手段取得", "--registry", str(db)]) == 0
    assert main(["registry", "revoke", ident, "--reason", "again", "--registry", str(db)]) == 1
    assert main(["verify", str(ofd), "--trust", str(demo / "trust"), "--registry", str(db)]) == 1
    status = tmp_path / "status.json"
    keys = demo / "keys"
    assert (
        main(
            [
                "registry",
                "status-list",
                "--registry",
                str(db),
                "--key",
                str(keys / "issuer.key.pem"),
                "--cert",
                str(keys / "issuer.cert.pem"),
                "-o",
                str(status),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["verify", str(ofd), "--trust", str(demo / "trust"), "--status", str(status)]) == 1
    assert "以欺骗手段取得" in capsys.readouterr().out
    assert main(["registry", "show", ident, "--registry", str(db), "--json"]) == 0


def test_inspect_render_qr_issue(demo: Path, tmp_path: Path) -> None:
    ofd = str(sorted(demo.glob("*.ofd"))[0])
    assert main(["inspect", ofd]) == 0
    assert main(["render", ofd, "-o", str(tmp_path / "face.png")]) == 0
    assert (tmp_path / "face.png").stat().st_size > 10_000
    assert main(["qr", ofd, "--kind", "reference", "-o", str(tmp_path / "ref.png")]) == 0
    keys = demo / "keys"
    assert (
        main(
            [
                "qr",
                ofd,
                "--kind",
                "offline",
                "--key",
                str(keys / "issuer.key.pem"),
                "--cert",
                str(keys / "issuer.cert.pem"),
                "-o",
                str(tmp_path / "off.png"),
            ]
        )
        == 0
    )
    record = sorted((Path(__file__).resolve().parents[1] / "examples" / "records").glob("*.json"))[0]
    code = record.stem
    assert (
        main(
            [
                "issue",
                str(record),
                "--type",
                code,
                "--key",
                str(keys / "issuer.key.pem"),
                "--cert",
                str(keys / "issuer.cert.pem"),
                "-o",
                str(tmp_path / "issued"),
            ]
        )
        == 0
    )
    issued = list((tmp_path / "issued").glob("*.ofd"))
    assert len(issued) == 1
    assert main(["verify", str(issued[0]), "--trust", str(demo / "trust")]) == 0


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    assert main(["verify", str(tmp_path / "missing.ofd"), "--trust", str(tmp_path)]) == 2
    assert main(["inspect", str(tmp_path / "missing.ofd")]) == 2


def test_qr_with_the_trust_directory_alone(demo: Path, tmp_path: Path) -> None:
    """`ecert verify --qr IMAGE --trust DIR` (the issue's form): department certificates come from
    DIR/issuers/, which are looked up by key id but never trusted as anchors."""
    import shutil

    qr = str(sorted((demo / "qr").glob("*.png"))[0])
    assert (demo / "trust" / "issuers" / "issuer.cert.pem").is_file()
    assert main(["verify", "--qr", qr, "--trust", str(demo / "trust")]) == 0
    # the same department certificate without its root: known, but not trusted
    no_root = tmp_path / "trust"
    shutil.copytree(demo / "trust" / "issuers", no_root / "issuers")
    assert main(["verify", "--qr", qr, "--trust", str(no_root)]) == 1
    # without the issuers folder nothing names the key id; --cert (a file or a folder) does
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(demo / "trust" / "root.cert.pem", bare)
    assert main(["verify", "--qr", qr, "--trust", str(bare)]) == 1
    assert main(["verify", "--qr", qr, "--trust", str(bare), "--cert", str(no_root / "issuers")]) == 0


def test_verify_qr_damaged_image_is_one_line(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pillow's SyntaxError("broken PNG file") is an unreadable input (exit 2), not a traceback."""
    data = sorted((demo / "qr").glob("*.png"))[0].read_bytes()
    end = data.index(b"IDAT") + 40
    broken = tmp_path / "broken.png"
    broken.write_bytes(data[:end] + b"\0\0\0\0\xff\xff\xff\xff")
    assert main(["verify", "--qr", str(broken), "--trust", str(demo / "trust")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ecert: error: cannot read image") and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["id", "check"], ["code", "check", "--json"]], ids=" ".join)
def test_non_utf8_argument_under_a_strict_utf8_stdout(argv: list[str]) -> None:
    """GBK bytes under a UTF-8 locale arrive as surrogates: echoed escaped, not a UnicodeEncodeError."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    args = [os.fsencode(sys.executable), b"-m", b"ecert", *map(os.fsencode, argv), "中".encode("gbk")]
    done = subprocess.run(args, capture_output=True, env=env, timeout=120, check=False)
    assert b"Traceback" not in done.stderr and done.returncode == 1
    assert b"\\udcd6\\udcd0" in done.stdout + done.stderr


def test_status_list_without_next_update_and_the_readers_age_limit(demo: Path, tmp_path: Path) -> None:
    """A list exported with --next-update-days 0 promises nothing: refused after --status-max-age."""
    db, status, keys = tmp_path / "r.db", tmp_path / "status.json", demo / "keys"
    assert main(["registry", "init", "--registry", str(db)]) == 0
    export = ["registry", "status-list", "--registry", str(db), "--key", str(keys / "issuer.key.pem"),
              "--cert", str(keys / "issuer.cert.pem"), "-o", str(status), "--next-update-days", "0"]
    assert main(export) == 0
    ofd = str(sorted(demo.glob("*.ofd"))[0])
    verify = ["verify", ofd, "--trust", str(demo / "trust"), "--status", str(status)]
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    assert main(verify) == 0
    assert main([*verify, "--at", in_a_month]) == 2  # stale: older than the default 7 days
    assert main([*verify, "--at", in_a_month, "--status-max-age", "31"]) == 0
    assert main([*verify, "--status-max-age", "-1"]) == 2
