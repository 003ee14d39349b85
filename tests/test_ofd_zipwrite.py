"""The one-pass ZIP writer: byte for byte what ``zipfile`` writes, read back by independent readers."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.errors import InvalidPackage, UnsafePackage
from ecert.ofd.reader import OFDPackage
from ecert.ofd.writer import ZIP_TIMESTAMP, build_zip
from ecert.ofd.zipwrite import DEFLATE_LEVEL, zip_bytes
from ecert.package import package

from .certs import SIGNED_AT, draft, signer


def _zipfile_bytes(entries: list[tuple[str, bytes]], timestamp: tuple[int, int, int, int, int, int],
                   level: int) -> bytes:
    """What the standard library writes for the same entries (the writer's former code)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, timestamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
    return buf.getvalue()


_NAMES = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x9FFF, exclude_characters="\\/"),
                 min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_NAMES, st.binary(max_size=3000) | st.text(max_size=2000).map(str.encode)),
             max_size=8, unique_by=lambda e: e[0]),
    st.sampled_from([1, 6, 9]),
    st.tuples(st.integers(1980, 2107), st.integers(1, 12), st.integers(1, 28), st.integers(0, 23),
              st.integers(0, 59), st.integers(0, 59)),
)
def test_same_bytes_as_zipfile(entries: list[tuple[str, bytes]], level: int,
                               timestamp: tuple[int, int, int, int, int, int]) -> None:
    assert zip_bytes(entries, timestamp, level) == _zipfile_bytes(entries, timestamp, level)


def test_a_certificate_is_the_zip_zipfile_writes() -> None:
    data = package(draft("sm2"), signer("sm2"), at=SIGNED_AT)
    entries = list(OFDPackage.open(data).entries.items())
    assert any(not name.isascii() for name, _ in entries) is False
    assert data == _zipfile_bytes(entries, ZIP_TIMESTAMP, DEFLATE_LEVEL)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert [(i.filename, zf.read(i)) for i in zf.infolist()] == entries


def test_utf8_names_read_back_by_the_strict_reader() -> None:
    entries = [("OFD.xml", b"<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>"),
               ("Doc_0/附件/照片.jpg", b"\xff\xd8")]
    pkg = OFDPackage.open(build_zip(entries))  # the strict layout check (zipcheck) runs on open
    assert list(pkg.entries.items()) == entries


@pytest.mark.skipif(shutil.which("unzip") is None, reason="Info-ZIP unzip is not installed")
def test_info_zip_tests_a_certificate(tmp_path: Path) -> None:
    path = tmp_path / "cert.ofd"
    path.write_bytes(package(draft("sm2"), signer("sm2"), at=SIGNED_AT))
    done = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "No errors detected" in done.stdout, done.stdout + done.stderr


def test_bad_entries_and_timestamps_are_refused() -> None:
    with pytest.raises(InvalidPackage, match="duplicate"):
        build_zip([("a.xml", b""), ("a.xml", b"")])
    with pytest.raises(UnsafePackage):
        build_zip([("../a.xml", b"")])
    with pytest.raises(InvalidPackage, match="timestamp"):
        zip_bytes([("a.xml", b"")], (1979, 12, 31, 0, 0, 0))
