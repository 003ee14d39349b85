"""ZIP forms other OFD writers produce that every reader opens (issue 16, class 3), written by a small
ZIP writer of this module: (a) a few stray bytes after an entry's deflate stream, inside its
compressed size, with CRC and sizes right (WPS, 安证通); (b) the UTF-8 name flag (bit 11) set in the
local header only, on ASCII names (Suwell).  Python's zipfile and Info-ZIP ``unzip -t`` open them;
ecert must read them, judge them as it judges the plain file, and keep refusing the forms that could
give a second reading (stray bytes holding a record signature, or after a stream whose end a
streaming reader finds itself)."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from ecert.errors import EcertError
from ecert.ofd.reader import OFDPackage
from ecert.verify import verify

from .certs import NOW, issued_file, trust_store

CONTENT = "Doc_0/Pages/Page_0/Content.xml"


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist() if not i.is_dir()]


def write_zip(
    entries: list[tuple[str, bytes]],
    *,
    stray: dict[str, bytes] | None = None,
    utf8_local_only: bool = False,
    descriptor: bool = False,
) -> bytes:
    out, central = bytearray(), bytearray()
    for name, data in entries:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        comp = packer.compress(data) + packer.flush() + (stray or {}).get(name, b"")
        crc, raw = zlib.crc32(data), name.encode()
        local_flags = (0x0800 if utf8_local_only else 0) | (0x0008 if descriptor else 0)
        central_flags = 0x0008 if descriptor else 0
        offset = len(out)
        sizes = (0, 0, 0) if descriptor else (crc, len(comp), len(data))
        out += struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, local_flags, 8, 0, 0x5B21, *sizes, len(raw), 0)
        out += raw + comp
        if descriptor:
            out += struct.pack("<4sLLL", b"PK\x07\x08", crc, len(comp), len(data))
        central += struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", 20, 20, central_flags, 8, 0, 0x5B21, crc,
                               len(comp), len(data), len(raw), 0, 0, 0, 0, 0, offset) + raw
    start = len(out)
    out += central
    out += struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), start, 0)
    return bytes(out)


def _broken(entries: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The negative twin: the page content changed after signing."""
    return [(n, d.replace(b"<ofd:", b"<ofd:", 1) + b" " if n == CONTENT else d) for n, d in entries]


def _independent_readers_open(data: bytes, tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
    if shutil.which("unzip"):
        path = tmp_path / "f.ofd"
        path.write_bytes(data)
        result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, check=False)
        # exit 1 is unzip's "warning" (it notes the flag mismatch and reads on with the central flag);
        # every entry tests OK either way
        listed = [line for line in result.stdout.splitlines() if "testing:" in line]
        assert result.returncode in (0, 1) and listed and all(line.rstrip().endswith("OK") for line in listed)


def test_control_plain_rewrite_verifies() -> None:
    assert verify(write_zip(_entries(issued_file())), trust=trust_store(), at=NOW).ok


@pytest.mark.parametrize("extra", [b"\x00", b"\x00\x00\x00\x00", b"\x03\x00\xff\xff"])
def test_stray_bytes_after_the_deflate_stream_are_read(extra: bytes, tmp_path: Path) -> None:
    entries = _entries(issued_file())
    data = write_zip(entries, stray={CONTENT: extra})
    _independent_readers_open(data, tmp_path)
    report = verify(data, trust=trust_store(), at=NOW)
    assert report.ok, report.to_text()
    twin = write_zip(_broken(entries), stray={CONTENT: extra})
    assert not verify(twin, trust=trust_store(), at=NOW).ok


def test_stray_bytes_that_could_be_a_record_are_refused() -> None:
    entries = _entries(issued_file())
    with pytest.raises(EcertError, match="after the end of the compressed data"):
        OFDPackage.open(write_zip(entries, stray={CONTENT: b"PK\x03\x04"}))
    with pytest.raises(EcertError, match="after the end of the compressed data"):
        OFDPackage.open(write_zip(entries, stray={CONTENT: bytes(65)}))


def test_stray_bytes_with_a_data_descriptor_are_refused() -> None:
    """With flag bit 3 a streaming reader finds the stream's end itself and reads on from there."""
    entries = _entries(issued_file())
    assert OFDPackage.open(write_zip(entries, descriptor=True))  # the form itself is fine
    with pytest.raises(EcertError, match="after the end of the compressed data"):
        OFDPackage.open(write_zip(entries, stray={CONTENT: b"\x00\x00"}, descriptor=True))


def test_utf8_flag_in_the_local_header_only_on_ascii_names_is_read(tmp_path: Path) -> None:
    entries = _entries(issued_file())
    data = write_zip(entries, utf8_local_only=True)
    _independent_readers_open(data, tmp_path)
    assert verify(data, trust=trust_store(), at=NOW).ok
    assert not verify(write_zip(_broken(entries), utf8_local_only=True), trust=trust_store(), at=NOW).ok


def test_utf8_flag_mismatch_on_a_non_ascii_name_is_refused() -> None:
    """A non-ASCII name reads differently as UTF-8 and as CP437: a second reading, refused."""
    entries = [*_entries(issued_file()), ("Doc_0/Res/印章.png", b"x")]
    with pytest.raises(EcertError):
        OFDPackage.open(write_zip(entries, utf8_local_only=True))
