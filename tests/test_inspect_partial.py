"""``ecert inspect`` shows everything readable of a file with a broken part and names the problem
(issue 16): a missing SignedValue, a Provider without ProviderName, a missing Signatures.xml."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ecert.app import inspect_file

from .certs import issued_file

SIGN = "Doc_0/Signs/Sign_0/"


def _rewrite(change: dict[str, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(issued_file())) as src, zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            data = change.get(info.filename, src.read(info))
            if data is not None:
                out.writestr(info.filename, data)
    return buf.getvalue()


def _signature_xml() -> bytes:
    with zipfile.ZipFile(io.BytesIO(issued_file())) as zf:
        return zf.read(SIGN + "Signature.xml")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({SIGN + "SignedValue.dat": None}, "missing file"),
        ({SIGN + "Signature.xml": _signature_xml().replace(b'ProviderName="ecert"', b"")}, "ProviderName"),
        ({"Doc_0/Signs/Signatures.xml": None}, "missing file"),
    ],
)
def test_inspect_shows_what_it_can_and_names_the_problem(
    change: dict[str, bytes | None], problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "broken.ofd"
    path.write_bytes(_rewrite(change))
    info = inspect_file(path)
    assert info["entries"] and info["custom_datas"]  # the readable parts are shown
    assert any(problem in p for p in info["problems"]), info["problems"]
    result = subprocess.run([sys.executable, "-m", "ecert", "inspect", str(path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "problems:" in result.stdout and "custom_datas:" in result.stdout
