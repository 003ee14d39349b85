"""Structural attacks on an OFD's ZIP: the one-pass reader and the general one reach one decision.

``tests/test_zip_lean.py`` changes single bytes of real archives.  Here archives are built record by
record (:mod:`tests.zipforge`), the way an attacker would: local headers disagreeing with the central
directory, data descriptors, zip64 fields, records overlapping or sharing data, gaps, a fake end
record in the comment, duplicate names, bombs.  For each: the lean path (``ofd.zipusual``) accepts
only what the general path (``zipfile`` + ``ofd.zipcheck``) accepts, with the same entries and
bytes; ``read_entries`` decides as the general path alone does; what is accepted reads the same in
``zipfile``, in a streaming reader walking the local headers, and in Info-ZIP ``unzip``; what is
refused is refused with an ``EcertError``; and no such change makes a signed certificate file verify.
"""

from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from ecert.errors import EcertError
from ecert.ofd.entries import read_entries
from ecert.ofd.limits import DEFAULT_LIMITS, Limits
from ecert.ofd.zipusual import read_usual
from ecert.verify import verify
from tests.certs import NOW, issued_file, trust_store
from tests.zipforge import LOCAL, Entry, central_record, deflate, end_record, forge, local_record

OFD_XML = b'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>' * 8
DOC = b"<d/>" * 50
_U32 = 0xFFFFFFFF
PNG = bytes(range(256)) * 4


def _base() -> list[Entry]:
    return [Entry(b"OFD.xml", OFD_XML), Entry(b"Doc_0/Document.xml", DOC, method=0),
            Entry(b"Doc_0/Res/a.png", PNG)]


def _with(index: int, **changes: object) -> list[Entry]:
    entries = _base()
    for key, value in changes.items():
        setattr(entries[index], key, value)
    return entries


def _descriptor(entry: Entry, *, signed: bool = True, wide: bool = False, crc: int | None = None) -> bytes:
    crc = zlib.crc32(entry.data) if crc is None else crc
    sizes = (len(entry.stored()), len(entry.data))
    body = struct.pack("<LQQ" if wide else "<LLL", crc, *sizes)
    return (b"PK\x07\x08" if signed else b"") + body


def _with_descriptor(**kw: object) -> list[Entry]:
    entries = _base()
    entry = entries[0]
    entry.flags = 0x0008
    entry.local = {"crc": 0, "csize": 0, "usize": 0}
    entry.after = _descriptor(entry, **kw)  # type: ignore[arg-type]
    return entries


def _zipfile_zip64() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for entry in _base():
            info = zipfile.ZipInfo(entry.name.decode(), (2026, 1, 1, 0, 0, 0))
            info.compress_type = entry.method
            with zf.open(info, "w", force_zip64=True) as handle:
                handle.write(entry.data)
    return out.getvalue()


def _two_records_one_name() -> bytes:
    """Both central entries point at the same local record."""
    return forge(_base(), central_order=[0, 1, 2, 0])


def _bomb(declared: int | None = None) -> bytes:
    big = bytes(20 * 1024 * 1024)
    entry = Entry(b"Doc_0/Res/bomb.xml", big, payload=deflate(big, 9))
    if declared is not None:
        entry.local = {"usize": declared}
        entry.central = {"usize": declared}
    return forge([*_base(), entry])


def _fake_end_in_comment() -> bytes:
    """The archive comment ends with an end record listing only the first entry (central record
    copied into the comment): readers that take the last 22 bytes see another archive."""
    entries = _base()
    real = forge(entries)
    first_cd = real.index(b"PK\x01\x02")
    first_len = 46 + len(entries[0].name)
    cd_copy = real[first_cd:first_cd + first_len]
    comment_start = len(real) + 0  # the comment starts where the real end record's 22 bytes stop
    fake_end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 1, 1, len(cd_copy), comment_start, 0)
    return forge(entries, comment=cd_copy + fake_end)


def _second_end_record() -> bytes:
    data = forge(_base())
    return data + data[-22:]


def _local_record_nobody_lists() -> bytes:
    return _insert_after_first(_base(), local_record(Entry(b"Doc_0/Res/hidden.xml", b"<evil/>")))


def _insert_after_first(entries: list[Entry], blob: bytes) -> bytes:
    records = [local_record(e) for e in entries]
    offsets, body = [], b""
    for i, record in enumerate(records):
        offsets.append(len(body))
        body += record
        if i == 0:
            body += blob
    cd = b"".join(central_record(e, o) for e, o in zip(entries, offsets, strict=True))
    return body + cd + end_record(len(entries), len(cd), len(body))


def _shared_data() -> bytes:
    """A second central entry whose local header sits inside the first entry's stored data."""
    inner = Entry(b"Doc_0/Res/b.xml", b"<b/>", method=0)
    inner_record = local_record(inner)
    outer = Entry(b"Doc_0/Res/a.bin", b"\x00" * 8 + inner_record + b"\x00" * 8, method=0)
    entries = [Entry(b"OFD.xml", OFD_XML), outer]
    body = local_record(entries[0])
    outer_at = len(body)
    body += local_record(outer)
    inner_at = outer_at + LOCAL.size + len(outer.name) + 8
    cd = (central_record(entries[0], 0) + central_record(outer, outer_at) + central_record(inner, inner_at))
    return body + cd + end_record(3, len(cd), len(body))


STRUCTURES: dict[str, Callable[[], bytes]] = {
    # shapes every reader takes
    "plain": lambda: forge(_base()),
    "an entry comment": lambda: forge(_with(1, central={"comment": b"note"})),
    "central records in another order": lambda: forge(_base(), central_order=[2, 0, 1]),
    "UTF-8 flag in one header, ASCII name": lambda: forge(_with(0, local={"flags": 0x0800})),
    "UTF-8 flag in both headers, non-ASCII name": lambda: forge(
        _with(1, name="Doc_0/证照.xml".encode(), flags=0x0800)),
    "an extended-timestamp extra field in the central record": lambda: forge(
        _with(0, central={"extra": b"UT\x05\x00\x01\x00\x00\x00\x00"})),
    "an extended-timestamp extra field in the local record": lambda: forge(
        _with(0, local={"extra": b"UT\x05\x00\x01\x00\x00\x00\x00"})),
    "a signed data descriptor": lambda: forge(_with_descriptor()),
    "an unsigned data descriptor": lambda: forge(_with_descriptor(signed=False)),
    "a zip64 data descriptor": lambda: forge(_with_descriptor(wide=True)),
    "zip64 records from zipfile": _zipfile_zip64,
    "an empty deflated entry": lambda: forge([*_base(), Entry(b"Doc_0/empty.xml", b"")]),
    "an empty stored entry": lambda: forge([*_base(), Entry(b"Doc_0/empty.xml", b"", method=0)]),
    "a directory entry": lambda: forge([Entry(b"Doc_0/", b"", method=0), *_base()]),
    "names differing only by case": lambda: forge([*_base(), Entry(b"ofd.xml", b"<x/>")]),
    "version needed 6.3": lambda: forge(_with(0, central={"need": 63}, local={"need": 63})),
    "a few stray bytes after a deflate stream": lambda: forge(_with(
        0, payload=deflate(OFD_XML) + b"\x00\x01\x02")),
    # shapes to refuse
    "local name differs": lambda: forge(_with(0, local={"name": b"OFD.xmm"})),
    "local name differs by case": lambda: forge(_with(0, local={"name": b"ofd.xml"})),
    "local compressed size differs": lambda: forge(_with(2, local={"csize": len(deflate(PNG)) - 1})),
    "local size differs": lambda: forge(_with(2, local={"usize": len(PNG) + 1})),
    "local CRC differs": lambda: forge(_with(2, local={"crc": zlib.crc32(PNG) ^ 1})),
    "local method differs": lambda: forge(_with(1, local={"method": 8})),
    "central method differs": lambda: forge(_with(0, central={"method": 0})),
    "encrypted flag in both headers": lambda: forge(_with(0, flags=0x0001)),
    "encrypted flag in the local header only": lambda: forge(_with(0, local={"flags": 0x0001})),
    "encrypted flag in the central record only": lambda: forge(_with(0, central={"flags": 0x0001})),
    "patched-data flag": lambda: forge(_with(0, flags=0x0020)),
    "masked-header flag": lambda: forge(_with(0, flags=0x2000)),
    "descriptor flag in the local header only": lambda: forge(_with(0, local={"flags": 0x0008})),
    "descriptor flag in the central record only": lambda: forge(_with(0, central={"flags": 0x0008})),
    "a data descriptor disagreeing with the central record": lambda: forge(_with_descriptor(crc=1)),
    "zip64 sizes without a zip64 field": lambda: forge(_with(
        0, central={"csize": _U32, "usize": _U32}, local={"csize": _U32, "usize": _U32})),
    "local zip64 sizes only": lambda: forge(_with(0, local={"csize": _U32, "usize": _U32})),
    "two central records, one local record": _two_records_one_name,
    "a local header inside another entry's data": _shared_data,
    "a local record nobody lists": _local_record_nobody_lists,
    "a gap between records": lambda: forge(_base(), between=b"\x00" * 4),
    "bytes before the archive, offsets shifted": lambda: forge(_base(), prefix=b"MZ" + bytes(30)),
    "bytes before the archive, offsets from the archive": lambda: forge(
        _base(), prefix=b"MZ" + bytes(30), offsets_from_zero=True),
    "bytes after the end record": lambda: forge(_base(), suffix=b"PK\x03\x04junk"),
    "a comment": lambda: forge(_base(), comment=b"hello"),
    "a fake end record in the comment": _fake_end_in_comment,
    "two end records": _second_end_record,
    "end record counts one entry more": lambda: forge(_base(), end={"here": 4, "total": 4}),
    "end record counts 65535 entries": lambda: forge(_base(), end={"here": 0xFFFF, "total": 0xFFFF}),
    "end record entry counts differ": lambda: forge(_base(), end={"here": 2}),
    "central directory size one too small": lambda: _shrink_cd(forge(_base())),
    "a second disk": lambda: forge(_base(), end={"disk": 1}),
    "duplicate names": lambda: forge([*_base(), Entry(b"OFD.xml", b"<x/>")]),
    "a backslash twin": lambda: forge([*_base(), Entry(b"Doc_0\\Document.xml", b"<x/>")]),
    "a directory and a file of one name": lambda: forge(
        [*_base(), Entry(b"Doc_0/Res/a.png/", b"", method=0)]),
    "a directory entry carrying data": lambda: forge([Entry(b"Doc_0/", b"<x/>", method=0), *_base()]),
    "a NUL in a name": lambda: forge([*_base(), Entry(b"Doc_0/a\x00.xml", b"<x/>")]),
    "an absolute name": lambda: forge([*_base(), Entry(b"/etc/x.xml", b"<x/>")]),
    "a stored entry with another declared size": lambda: forge(_with(
        1, central={"usize": len(DOC) - 1}, local={"usize": len(DOC) - 1})),
    "a deflate stream longer than its declared size": lambda: forge(_with(
        0, payload=deflate(OFD_XML + b"X"))),
    "a deflate stream shorter than its declared size": lambda: forge(_with(0, payload=deflate(OFD_XML[:-1]))),
    "a CRC that matches a shorter size": lambda: forge(_with(
        0, data=OFD_XML, payload=deflate(OFD_XML + b"tail"))),
    "a deflate stream cut before its end": lambda: forge(_with(0, payload=deflate(OFD_XML)[:-3])),
    "stray bytes after a deflate stream holding PK": lambda: forge(_with(
        0, payload=deflate(OFD_XML) + b"PK\x03\x04")),
    "stray bytes after a deflate stream, with a descriptor": lambda: _stray_with_descriptor(),
    "bzip2 method": lambda: forge(_with(0, method=12, payload=b"BZh9")),
    "LZMA method": lambda: forge(_with(0, method=14, payload=b"\x00" * 9)),
    "AES method": lambda: forge(_with(0, method=99, flags=0x0001)),
    "version needed 6.4": lambda: forge(_with(0, central={"need": 64}, local={"need": 64})),
    "a deflate bomb": _bomb,
    "a deflate bomb declaring a small size": lambda: _bomb(declared=1000),
    "a name running into the end record": lambda: _name_into_end(forge(_base())),
}


def _shrink_cd(data: bytes) -> bytes:
    end = len(data) - 22
    size = struct.unpack_from("<L", data, end + 12)[0]
    return data[:end + 12] + struct.pack("<L", size - 1) + data[end + 16:]


def _name_into_end(data: bytes) -> bytes:
    """The last central record's name length reaches into the end record."""
    end = len(data) - 22
    last = data.rindex(b"PK\x01\x02", 0, end)
    name_len = struct.unpack_from("<H", data, last + 28)[0]
    return data[:last + 28] + struct.pack("<H", name_len + 10) + data[last + 30:]


def _stray_with_descriptor() -> bytes:
    entries = _with_descriptor()
    entries[0].payload = deflate(OFD_XML) + b"\x00\x01"
    entries[0].after = _descriptor(entries[0])
    return forge(entries)


ACCEPTED = {"plain", "a comment", "an entry comment", "central records in another order",
            "UTF-8 flag in one header, ASCII name", "UTF-8 flag in both headers, non-ASCII name",
            "an extended-timestamp extra field in the central record",
            "an extended-timestamp extra field in the local record", "a signed data descriptor",
            "an unsigned data descriptor", "a zip64 data descriptor", "zip64 records from zipfile",
            "an empty deflated entry", "an empty stored entry", "a directory entry",
            "names differing only by case", "version needed 6.3", "a few stray bytes after a deflate stream"}
LEAN = {"plain", "an entry comment", "UTF-8 flag in one header, ASCII name", "an empty deflated entry",
        "an empty stored entry", "names differing only by case", "version needed 6.3"}


def _general(data: bytes, limits: Limits) -> object:
    import ecert.ofd.zipusual as zipusual

    original = zipusual.read_usual
    zipusual.read_usual = lambda data, limits: None  # type: ignore[assignment]
    try:
        return list(read_entries(data, limits).items())
    except EcertError as exc:
        return (type(exc), str(exc))
    finally:
        zipusual.read_usual = original


def _now(data: bytes, limits: Limits) -> object:
    try:
        return list(read_entries(data, limits).items())
    except EcertError as exc:
        return (type(exc), str(exc))


def _streamed(data: bytes) -> list[tuple[str, bytes]]:
    """What a streaming reader sees: local records walked from offset 0 (directories skipped)."""
    out = []
    pos = 0
    while data[pos:pos + 4] == b"PK\x03\x04":
        fields = LOCAL.unpack_from(data, pos)
        flags, method, csize, name_len, extra_len = fields[2], fields[3], fields[7], fields[9], fields[10]
        name = data[pos + 30:pos + 30 + name_len].decode("utf-8" if flags & 0x0800 else "cp437")
        start = pos + 30 + name_len + extra_len
        extra = data[pos + 30 + name_len:start]
        if csize == 0xFFFFFFFF and extra[:2] == b"\x01\x00":  # zip64: usize then csize
            csize = struct.unpack_from("<Q", extra, 12)[0]
        if flags & 0x0008:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            body = inflater.decompress(data[start:])
            used = len(data) - start - len(inflater.unused_data)
            pos = start + used
            if flags & 0x0008:
                pos += 4 if data[pos:pos + 4] == b"PK\x07\x08" else 0
                pos += 12 if data[pos + 12:pos + 16] in (b"PK\x03\x04", b"PK\x01\x02") else 20
        else:
            raw = data[start:start + csize]
            body = zlib.decompress(raw, -zlib.MAX_WBITS) if method == 8 else raw
            pos = start + csize
        if not name.endswith("/"):
            out.append((name, body))
    return out


_UNZIP_SKIPS = {
    "UTF-8 flag in both headers, non-ASCII name",  # unzip decodes names by the locale
    "version needed 6.3",  # Info-ZIP unzip 6.0 can do 4.6 and refuses (zipfile reads up to 6.3)
}
# unzip warns (exit status 1) that the UTF-8 flag differs between the headers, and reads the same
_UNZIP_WARNS = {"UTF-8 flag in one header, ASCII name"}


def _unzip_reads(data: bytes, names: list[str], tmp_path: Path, warns: bool) -> list[tuple[str, bytes]]:
    path = tmp_path / "a.zip"
    path.write_bytes(data)
    tested = subprocess.run(["unzip", "-tqq", str(path)], capture_output=True, timeout=30)
    assert tested.returncode == (1 if warns else 0), tested.stdout + tested.stderr
    out = []
    for name in names:
        read = subprocess.run(["unzip", "-p", str(path), name], capture_output=True, timeout=30)
        assert read.returncode in ((0, 1) if warns else (0,)), read.stderr
        out.append((name, read.stdout))
    return out


@pytest.mark.parametrize("what", sorted(STRUCTURES))
def test_one_decision_for_every_structure(what: str, tmp_path: Path) -> None:
    data = STRUCTURES[what]()
    general = _general(data, DEFAULT_LIMITS)
    assert _now(data, DEFAULT_LIMITS) == general
    lean = read_usual(data, DEFAULT_LIMITS)
    if lean is not None:
        assert list(lean.items()) == general, "the lean reader accepted what the general one refused"
    assert (lean is not None) == (what in LEAN), "which shapes the lean reader takes"
    if what not in ACCEPTED:
        assert isinstance(general, tuple), f"accepted: {[n for n, _ in general]}"  # type: ignore[union-attr]
        return
    assert isinstance(general, list), general
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert [(i.filename, zf.read(i)) for i in zf.infolist() if not i.is_dir()] == general
    assert sorted(_streamed(data)) == sorted(general)  # in the order of the local records
    if shutil.which("unzip") and what not in _UNZIP_SKIPS:
        assert _unzip_reads(data, [n for n, _ in general], tmp_path, what in _UNZIP_WARNS) == general


@pytest.mark.parametrize("what", ["a deflate bomb", "a deflate bomb declaring a small size"])
def test_bombs_are_refused_in_bounded_memory(what: str) -> None:
    data = STRUCTURES[what]()
    tracemalloc.start()
    try:
        assert read_usual(data, DEFAULT_LIMITS) is None
        with pytest.raises(EcertError):
            read_entries(data, DEFAULT_LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(data) + (1 << 20), f"{peak} bytes held refusing a {len(data)}-byte bomb"


# --- a signed certificate file, changed in its structure, never verifies --------------------------


def _entries_of(data: bytes) -> list[Entry]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [Entry(i.filename.encode(), zf.read(i), method=i.compress_type) for i in zf.infolist()]


def _tamper_content(entries: list[Entry]) -> list[Entry]:
    """The same entries with the certificate's holder changed in the one that names it."""
    out = []
    for entry in entries:
        if entry.name != b"OFD.xml" and b"<ofd:TextCode" in entry.data and b"Signature" not in entry.name:
            entry = Entry(entry.name, entry.data.replace(b"<ofd:TextCode", b"<ofd:TextCode ", 1),
                          method=entry.method)
        out.append(entry)
    return out


def _signed_attacks() -> dict[str, Callable[[bytes], bytes]]:
    def shadow(data: bytes) -> bytes:
        """The tampered archive's records first, the genuine archive after them as 'comment'."""
        tampered = forge(_tamper_content(_entries_of(data)))
        return tampered[:-2] + struct.pack("<H", len(data)) + data

    def genuine_then_tampered(data: bytes) -> bytes:
        return data + forge(_tamper_content(_entries_of(data)))

    def tampered_behind_genuine_directory(data: bytes) -> bytes:
        """Tampered local records, then the genuine archive's central directory and end record."""
        tampered = _tamper_content(_entries_of(data))
        body = forge(tampered)
        cd_at = struct.unpack_from("<L", body, len(body) - 6)[0]
        end = len(data) - 22
        genuine_cd_at = struct.unpack_from("<L", data, end + 16)[0]
        return body[:cd_at] + data[genuine_cd_at:]

    def reordered(data: bytes) -> bytes:
        entries = _tamper_content(_entries_of(data))
        return forge(entries, central_order=list(reversed(range(len(entries)))))

    def descriptor_hides_change(data: bytes) -> bytes:
        entries = _tamper_content(_entries_of(data))
        for entry in entries:
            entry.flags = 0x0008
            entry.local = {"crc": 0, "csize": 0, "usize": 0}
            entry.after = _descriptor(entry)
        return forge(entries)

    return {"shadow archive": shadow, "a second archive appended": genuine_then_tampered,
            "tampered records behind the genuine directory": tampered_behind_genuine_directory,
            "rebuilt in another order": reordered, "rebuilt with data descriptors": descriptor_hides_change}


def test_the_tamper_changes_something() -> None:
    data = issued_file("sm2")
    entries = _entries_of(data)
    assert any(a.data != b.data for a, b in zip(_tamper_content(entries), entries, strict=True))
    rebuilt = forge(_entries_of(data))
    assert verify(rebuilt, trust=trust_store("sm2"), at=NOW).ok, "a faithful rebuild still verifies"


@pytest.mark.parametrize("what", sorted(_signed_attacks()))
def test_a_structural_change_of_a_signed_file_never_verifies(what: str) -> None:
    data = _signed_attacks()[what](issued_file("sm2"))
    report = verify(data, trust=trust_store("sm2"), at=NOW)
    assert not report.ok, report.to_text()


# --- seeded random header changes of a signed file: a report, never an exception, never a lie -------

_FIELDS = ("need", "flags", "method", "crc", "csize", "usize", "name", "extra", "offset", "comment")


def _random_field(rng: random.Random, field: str, entry: Entry) -> object:
    if field == "name":
        return rng.choice([entry.name.upper(), entry.name + b"/", b"/" + entry.name, entry.name[:-1],
                           entry.name.replace(b"/", b"\\"), b"OFD.xml"])
    if field in ("extra", "comment"):
        return rng.choice([b"", b"UT\x05\x00\x01\x00\x00\x00\x00", b"up\x05\x00\x01abc",
                           b"\x01\x00\x08\x00" + bytes(8)])
    if field == "flags":
        return 1 << rng.randrange(16)
    if field == "method":
        return rng.choice([0, 8, 12, 14, 99])
    if field == "need":
        return rng.choice([10, 20, 45, 63, 64, 0xFFFF])
    return rng.choice([0, 1, 0xFFFFFFFF, rng.randrange(1 << 32)])


def test_random_header_changes_of_a_signed_file_never_verify_and_never_crash() -> None:
    genuine = issued_file("sm2")
    entries = _entries_of(genuine)
    original = read_entries(genuine, DEFAULT_LIMITS)
    rng = random.Random(36905)
    trust = trust_store("sm2")
    for _ in range(150):
        changed = _entries_of(genuine)
        for _ in range(rng.randrange(1, 3)):
            entry = rng.choice(changed)
            field = rng.choice(_FIELDS)
            side = entry.central if field in ("offset", "comment") or rng.random() < 0.5 else entry.local
            side[field] = _random_field(rng, field, entry)
        data = forge(changed, central_order=rng.choice([None, list(range(len(entries)))[::-1]]))
        report = verify(data, trust=trust, at=NOW)  # a report, whatever the bytes: no exception
        try:
            same = read_entries(data, DEFAULT_LIMITS) == original  # the same files, in any order
        except EcertError:
            same = False
        if not same:
            assert not report.ok, report.to_text()
