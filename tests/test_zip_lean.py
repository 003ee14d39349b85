"""The one-pass ZIP reader (``ofd.zipusual``) never decides differently from the general one.

``read_entries`` reads the usual shape of an OFD's ZIP itself and hands every other shape to
``zipfile`` and the strict layout check.  These tests hold that to its promise: on real files (ecert's,
ofdrw's, the tax-bureau e-invoices, hand-built archives) and on every single-byte change of them,
whenever the lean reader accepts, the general reader accepts too with the very same entries in the
same order, and ``read_entries`` returns or raises exactly what the general path alone did.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ecert.errors import EcertError
from ecert.ofd.entries import read_entries
from ecert.ofd.limits import DEFAULT_LIMITS, Limits
from ecert.ofd.zipusual import read_usual
from tests.certs import issued_file

OFDRW = Path(__file__).parent / "data" / "ofdrw"


def _without_lean(data: bytes, limits: Limits) -> object:
    import ecert.ofd.zipusual as zipusual

    original = zipusual.read_usual
    zipusual.read_usual = lambda data, limits: None  # type: ignore[assignment]
    try:
        return list(read_entries(data, limits).items())
    except EcertError as exc:
        return (type(exc), str(exc))
    finally:
        zipusual.read_usual = original


def _now(data: bytes, limits: Limits = DEFAULT_LIMITS) -> object:
    try:
        return list(read_entries(data, limits).items())
    except EcertError as exc:
        return (type(exc), str(exc))


def _lean(data: bytes, limits: Limits = DEFAULT_LIMITS) -> object:
    got = read_usual(data, limits)
    return None if got is None else list(got.items())


def _zip(files: list[tuple[str, bytes, int]], comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data, method in files:
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data, compress_type=method)
        zf.comment = comment
    return out.getvalue()


_PARTS = [("OFD.xml", b"<ofd:OFD/>" * 20, zipfile.ZIP_DEFLATED),
          ("Doc_0/Document.xml", b"<d/>", zipfile.ZIP_STORED),
          ("Doc_0/Res/a.png", bytes(range(256)) * 4, zipfile.ZIP_DEFLATED)]


@functools.cache
def _sample(name: str) -> bytes:
    if name == "ecert sm2":
        return issued_file("sm2")
    if name == "ecert ed25519":
        return issued_file("ed25519")
    if name == "stored and deflated":
        return _zip(_PARTS)
    return (OFDRW / name).read_bytes()


SAMPLES = ["ecert sm2", "ecert ed25519", "stored and deflated", "DigitalSign.ofd", "SESV4SignDoc.ofd",
           "helloworld.ofd", "invoice-unsigned.ofd", "signedFile.ofd", "v4signed.ofd"]
USUAL = ["ecert sm2", "ecert ed25519", "stored and deflated"]


def _agrees(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    general = _without_lean(data, limits)
    assert _now(data, limits) == general
    lean = _lean(data, limits)
    if lean is not None:
        assert lean == general, "the lean reader accepted what the general one decided otherwise"


@pytest.mark.parametrize("name", SAMPLES)
def test_real_files_read_the_same(name: str) -> None:
    _agrees(_sample(name))


@pytest.mark.parametrize("name", USUAL)
def test_usual_files_are_read_lean(name: str) -> None:
    data = _sample(name)
    assert _lean(data) is not None
    assert _lean(data) == _without_lean(data, DEFAULT_LIMITS)


@pytest.mark.parametrize("name", ["DigitalSign.ofd", "v4signed.ofd", "signedFile.ofd"])
def test_directories_descriptors_and_records_out_of_order_are_left_to_the_general_reader(name: str) -> None:
    assert _lean(_sample(name)) is None
    assert isinstance(_now(_sample(name)), list)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ecert sm2", "stored and deflated"])
def test_every_single_byte_change_is_decided_as_before(name: str) -> None:
    data = _sample(name)
    for at in range(len(data)):
        for new in {data[at] ^ 0x01, data[at] ^ 0x80, 0x00, 0xFF} - {data[at]}:
            _agrees(data[:at] + bytes([new]) + data[at + 1:])


def test_single_byte_changes_of_the_headers_are_decided_as_before() -> None:
    """The quick form of the test above: every byte of the headers of a small archive (the slow test
    covers a certificate file, its compressed data too)."""
    data = _sample("stored and deflated")
    spans: list[tuple[int, int]] = []
    end = len(data) - 22
    cd_offset = struct.unpack_from("<L", data, end + 16)[0]
    spans.append((cd_offset, len(data)))  # the central directory and the end record
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            spans.append((info.header_offset, info.header_offset + 30 + len(info.filename)))
    for start, stop in spans:
        for at in range(start, stop):
            for new in {data[at] ^ 0x01, data[at] ^ 0x80, 0x00, 0xFF} - {data[at]}:
                _agrees(data[:at] + bytes([new]) + data[at + 1:])


def _edits() -> dict[str, Callable[[bytes], bytes]]:
    return {
        "a comment": lambda d: _zip(_PARTS, comment=b"hi"),
        "a directory entry": lambda d: _zip([("Doc_0/", b"", zipfile.ZIP_STORED), *_PARTS]),
        "bytes before the archive": lambda d: b"junk" + d,
        "bytes after the end record": lambda d: d + b"\0\0",
        "truncated by one byte": lambda d: d[:-1],
        "only the end record": lambda d: d[-22:],
        "empty": lambda d: b"",
        "a duplicate name": lambda d: _zip([*_PARTS, ("OFD.xml", b"<x/>", zipfile.ZIP_STORED)]),
        "a non-ASCII name": lambda d: _zip([*_PARTS, ("Doc_0/证照.xml", b"<x/>", zipfile.ZIP_DEFLATED)]),
        "a NUL in a name": lambda d: _zip(
            [*_PARTS, ("Doc_0/a~b.xml", b"<x/>", zipfile.ZIP_DEFLATED)]).replace(b"a~b", b"a\0b"),
        "an unsafe name": lambda d: _zip([*_PARTS, ("../evil.xml", b"<x/>", zipfile.ZIP_DEFLATED)]),
    }


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("what", sorted(_edits()))
def test_other_shapes_are_decided_by_the_general_reader(what: str) -> None:
    data = _edits()[what](_sample("stored and deflated"))
    _agrees(data)
    if what != "bytes after the end record":  # zipfile reads those two NULs as the comment length
        assert _lean(data) is None


@pytest.mark.parametrize("limits", [Limits(max_entries=2), Limits(max_entry_size=100),
                                    Limits(max_ratio=2, ratio_floor=10)])
def test_limits_are_held_alike(limits: Limits) -> None:
    for name in ("ecert sm2", "stored and deflated"):
        data = _sample(name)
        _agrees(data, limits)
        assert isinstance(_now(data, limits), tuple), "each of these limits refuses the file"


def test_the_total_size_limit_is_held_alike() -> None:
    big = _zip([("OFD.xml", bytes(range(256)) * 40, zipfile.ZIP_DEFLATED)])  # 10,240 bytes from a few hundred
    limits = Limits(max_total_size=5_000)
    _agrees(big, limits)
    assert isinstance(_now(big, limits), tuple)
    assert _lean(big) is not None and _lean(big, limits) is None


def test_nothing_is_inflated_before_every_header_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the general reader, the lean one holds every declared size and the whole layout to the rules
    before it inflates anything: a bomb's first entries are not inflated on the way to its refusal."""
    import ecert.ofd.zipusual as zipusual

    inflated: list[int] = []
    real = zipusual._inflate

    def counting(*args: object) -> bytes | None:
        inflated.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(zipusual, "_inflate", counting)
    parts = [(f"Doc_0/Res/pad_{i}.bin", bytes(60_000), zipfile.ZIP_DEFLATED) for i in range(30)]
    bomb = _zip(parts)  # 1.8 MB declared from a few kilobytes: over max_total_size below
    assert _lean(bomb, Limits(max_total_size=1_000_000)) is None
    broken_last = _zip([*_PARTS, ("Doc_0/z.xml", b"<z/>", zipfile.ZIP_DEFLATED)])
    at = broken_last.rindex(b"PK\x03\x04")
    assert _lean(broken_last[:at] + b"PK\x03\x05" + broken_last[at + 4:]) is None
    assert inflated == []
