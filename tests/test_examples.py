"""The example scripts in examples/ run as a user would run them, and what they make verifies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ecert.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TYPE = "11100000MB0143028R001"  # 营业执照


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def _run(script: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )


def _keys(demo: Path) -> list[str | Path]:
    return ["--key", demo / "keys" / "issuer.key.pem", "--cert", demo / "keys" / "issuer.cert.pem"]


def test_issue_from_csv_makes_files_that_verify(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    csv = EXAMPLES / "batch" / f"{TYPE}.csv"
    done = _run("issue_from_csv.py", csv, "--type", TYPE, *_keys(demo), "-o", out)
    assert done.returncode == 1, done.stderr  # the CSV holds two invalid rows on purpose
    assert "2 rejected" in done.stderr and "Traceback" not in done.stderr
    files = sorted(out.glob("*.ofd"))
    assert len(files) >= 18
    # issued in the department's own name (its certificate's code), so every file verifies
    assert main(["verify", *map(str, files), "--trust", str(demo / "trust")]) == 0


def test_package_one_and_verify_its_qr(demo: Path, tmp_path: Path) -> None:
    done = _run(
        "package_one.py", EXAMPLES / "records" / f"{TYPE}.json", "--type", TYPE, *_keys(demo),
        "--trust", demo / "trust", "-o", tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(list(tmp_path.glob("*.ofd"))) == 1
    qr = sorted((demo / "qr").glob("*.png"))[0]
    checked = _run("verify_qr_image.py", qr, "--trust", demo / "trust")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("record", ["missing.json", f"records/{TYPE}.csv"])
def test_package_one_bad_input_is_one_line(demo: Path, tmp_path: Path, record: str) -> None:
    done = _run("package_one.py", EXAMPLES / record, "--type", TYPE, *_keys(demo), "--trust", demo / "trust")
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith("package_one: ") and done.stdout.count("\n") == 1
