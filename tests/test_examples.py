"""The example scripts in examples/ run as a user would run them, and what they make verifies."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize("wrong", ["image", "trust", "status"])
def test_verify_qr_image_unreadable_input_is_one_line(demo: Path, tmp_path: Path, wrong: str) -> None:
    """A missing photo, trust folder or status list ended in a traceback and exit 1."""
    qr = sorted((demo / "qr").glob("*.png"))[0]
    args: dict[str, str | Path] = {"image": qr, "--trust": demo / "trust"}
    args["--status" if wrong == "status" else "--trust" if wrong == "trust" else "image"] = tmp_path / "nope"
    image = args.pop("image")
    done = _run("verify_qr_image.py", image, *[x for kv in args.items() for x in kv])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("verify_qr_image: ") and done.stderr.count("\n") == 1
    assert str(tmp_path / "nope") in done.stderr


def test_readme_python_snippet_runs_against_the_demo(demo: Path, tmp_path: Path) -> None:
    """The "Using it" block of README.md, run as written from a folder holding examples/ and demo-out/."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) == 1
    (tmp_path / "examples").symlink_to(EXAMPLES)
    (tmp_path / "demo-out").symlink_to(demo)
    done = subprocess.run(
        [sys.executable, "-c", blocks[0]],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("True ") and "有效" in done.stdout


def test_readme_demo_section_matches_what_the_demo_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README shows the demo's table header and lists the files it writes."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = tmp_path / "demo-out"
    capsys.readouterr()
    assert main(["demo", "--out", str(demo)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header in readme
    for listed in re.findall(r"^demo-out/(\S+) {2,}\w", readme, flags=re.M):
        if "<identifier>" in listed:
            assert list(demo.glob(listed.replace("<identifier>", "*"))), listed
        else:
            assert (demo / listed).is_file(), listed
