"""The one-pass ZIP writer (``ofd.zipwrite``, behind the public ``ofd.build_zip``) on edge input.

What it writes is read back by ``zipfile``, by Info-ZIP ``unzip -t`` and by ecert's own reader (the
lean path) with the same entries, for seeded random entries (empty, incompressible, CJK names, many
entries); what it cannot write (a name longer than a ZIP header holds, entry data that is not
bytes, a timestamp no MS-DOS date holds) is refused with an ``EcertError`` naming it, not with a
``struct.error`` or ``TypeError`` from inside.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from ecert.errors import EcertError
from ecert.ofd import build_zip
from ecert.ofd.entries import read_entries
from ecert.ofd.limits import DEFAULT_LIMITS
from ecert.ofd.zipusual import read_usual
from ecert.ofd.zipwrite import zip_bytes

_STAMP = (2026, 1, 1, 0, 0, 0)


def _random_entries(rng: random.Random) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for i in range(rng.randrange(1, 40)):
        kind = rng.randrange(4)
        if kind == 0:
            data = b""
        elif kind == 1:
            data = rng.randbytes(rng.randrange(1, 70_000))  # stored would be smaller: deflate anyway
        elif kind == 2:
            data = bytes([rng.randrange(256)]) * rng.randrange(1, 50_000)
        else:
            data = "".join(rng.choice("<>&证照 \r\n") for _ in range(rng.randrange(1, 300))).encode()
        name = rng.choice(["Doc_0/Res/f{}.bin", "Doc_0/证照_{}.xml", "a b/{}.xml", "{}"]).format(i)
        out.append((name, data))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_what_it_writes_reads_back_everywhere(seed: int, tmp_path: Path) -> None:
    entries = _random_entries(random.Random(seed))
    data = build_zip(entries)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert [(i.filename, zf.read(i)) for i in zf.infolist()] == entries
    assert list(read_entries(data, DEFAULT_LIMITS).items()) == entries
    if all(name.isascii() for name, _ in entries):
        assert read_usual(data, DEFAULT_LIMITS) is not None, "what ecert writes is read in one pass"
    if shutil.which("unzip"):
        path = tmp_path / "w.zip"
        path.write_bytes(data)
        done = subprocess.run(["unzip", "-tqq", str(path)], capture_output=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_name_longer_than_a_header_holds_is_refused() -> None:
    name = "Doc_0/" + "a" * 0x10000
    with pytest.raises(EcertError, match="name"):
        build_zip([(name, b"x")])
    assert build_zip([("Doc_0/" + "a" * (0xFFFF - 6), b"x")])  # the longest name a header holds


@pytest.mark.parametrize("data", ["<text/>", None, 7, ["b"]])
def test_entry_data_that_is_not_bytes_is_refused(data: object) -> None:
    with pytest.raises(EcertError, match="bytes"):
        build_zip([("a.xml", data)])  # type: ignore[list-item]


@pytest.mark.parametrize("stamp", [(2026, 13, 1, 0, 0, 0), (2026, 0, 1, 0, 0, 0), (2026, 2, 30, 0, 0, 0),
                                   (2026, 1, 1, 24, 0, 0), (2026, 1, 1, 32, 0, 0), (2026, 1, 1, 0, 60, 0),
                                   (2026, 1, 1, 0, 0, 62), (2026, 1, 1, 0, 0), (2108, 1, 1, 0, 0, 0)])
def test_a_timestamp_no_dos_date_holds_is_refused(stamp: tuple[int, ...]) -> None:
    with pytest.raises(EcertError, match="timestamp"):
        zip_bytes([("a.xml", b"")], stamp)  # type: ignore[arg-type]
    with pytest.raises(EcertError, match="timestamp"):
        build_zip([("a.xml", b"")], stamp)  # type: ignore[arg-type]


def test_the_dos_timestamp_is_what_zipfile_reads() -> None:
    for stamp in [(1980, 1, 1, 0, 0, 0), (2107, 12, 31, 23, 59, 58), (2026, 2, 28, 12, 34, 56)]:
        with zipfile.ZipFile(io.BytesIO(zip_bytes([("a.xml", b"x")], stamp))) as zf:
            assert zf.infolist()[0].date_time == stamp
