"""Hostile packages: every one ends in an EcertError subclass, nothing else, and nothing expands."""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecert.errors import EcertError, InvalidPackage, UnsafePackage
from ecert.ofd import Limits, OFDPackage, SesSignature, check_references, parse_xml, uncovered_entries

INTEROP = Path("/work/shared/interop/ofdrw")
HELLO = (INTEROP / "helloworld.ofd").read_bytes()
SIGNED = (INTEROP / "DigitalSign.ofd").read_bytes()

OFD_XML = (b'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" '
           b'Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>'
           b"</ofd:DocBody></ofd:OFD>")


def make_zip(files: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names on purpose
        with zipfile.ZipFile(buf, "w", method) as zf:
            for name, data in files:
                zf.writestr(zipfile.ZipInfo(name, (2000, 1, 1, 0, 0, 0)), data, compress_type=method)
    return buf.getvalue()


def patch_all(data: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite a field in every local (PK\\3\\4) or central (PK\\1\\2) header."""
    out = bytearray(data)
    pos = out.find(signature)
    while pos >= 0:
        struct.pack_into(fmt, out, pos + offset, value)
        pos = out.find(signature, pos + 4)
    return bytes(out)


def exercise(pkg: OFDPackage) -> None:
    """Call every parsed view a caller may use."""
    pkg.names()
    for i, _body in enumerate(pkg.doc_bodies()):
        pkg.document(i)
        for sig in pkg.signatures(i):
            sig.signing_time()
            check_references(pkg, sig)
            with contextlib.suppress(EcertError):  # not every signed value is a seal
                SesSignature.parse(sig.signed_value)
        uncovered_entries(pkg, i)


# --- ZIP level -------------------------------------------------------------------------------


def test_zip_bomb_refused_by_declared_ratio() -> None:
    data = make_zip([("OFD.xml", OFD_XML), ("Doc_0/big.bin", b"\0" * (8 * 1024 * 1024))])
    assert len(data) < 64 * 1024
    with pytest.raises(UnsafePackage, match="ratio"):
        OFDPackage.open(data)


def test_too_many_entries() -> None:
    data = make_zip([("OFD.xml", OFD_XML)] + [(f"f{i}", b"x") for i in range(20)])
    with pytest.raises(UnsafePackage, match="too many entries"):
        OFDPackage.open(data, Limits(max_entries=10))


def test_oversized_entry() -> None:
    data = make_zip([("OFD.xml", OFD_XML), ("a.bin", bytes(range(256)) * 20)], zipfile.ZIP_STORED)
    with pytest.raises(UnsafePackage, match="entry too large"):
        OFDPackage.open(data, Limits(max_entry_size=4000))


def test_total_size_limit() -> None:
    data = make_zip([("OFD.xml", OFD_XML)] + [(f"a{i}.bin", bytes(range(256)) * 4) for i in range(5)],
                    zipfile.ZIP_STORED)
    with pytest.raises(UnsafePackage, match="too large"):
        OFDPackage.open(data, Limits(max_total_size=3000))


def test_declared_size_lies_small() -> None:
    payload = b"A" * 200_000
    data = make_zip([("OFD.xml", OFD_XML), ("big.bin", payload)])
    # say the entry is 100 bytes (central directory offset 24, local header offset 22)
    data = patch_all(data, b"PK\x01\x02", 24, "<I", 100)
    data = patch_all(data, b"PK\x03\x04", 22, "<I", 100)
    with pytest.raises(InvalidPackage):
        OFDPackage.open(data)


def test_declared_size_lies_large_ratio_enforced_while_reading() -> None:
    payload = b"\0" * 3_000_000
    data = make_zip([("big.bin", payload), ("OFD.xml", OFD_XML)])
    comp = len(zlib.compress(payload))
    # claim a compressed size large enough for the declared ratio check to pass
    data = patch_all(data, b"PK\x01\x02", 20, "<I", 3_000_000 // 100)
    with pytest.raises(InvalidPackage):
        OFDPackage.open(data)
    assert comp < 3_000_000 // 100


@pytest.mark.parametrize(
    "name", ["../evil.xml", "Doc_0/../../evil", "/etc/passwd", "Doc_0\\x.xml", "C:/x.xml", "a/./../../b"]
)
def test_unsafe_names(name: str) -> None:
    data = make_zip([("OFD.xml", OFD_XML), (name, b"x")])
    with pytest.raises(UnsafePackage):
        OFDPackage.open(data)


def test_duplicate_names() -> None:
    data = make_zip([("OFD.xml", OFD_XML), ("OFD.xml", b"<x/>")])
    with pytest.raises(UnsafePackage, match="duplicate"):
        OFDPackage.open(data)


def test_encrypted_flag() -> None:
    data = patch_all(make_zip([("OFD.xml", OFD_XML)]), b"PK\x01\x02", 8, "<H", 1)
    with pytest.raises(UnsafePackage, match="encrypted"):
        OFDPackage.open(data)


def test_unsupported_compression() -> None:
    data = patch_all(make_zip([("OFD.xml", OFD_XML)]), b"PK\x01\x02", 10, "<H", 99)
    with pytest.raises(InvalidPackage, match="compression"):
        OFDPackage.open(data)


def test_corrupted_crc() -> None:
    data = patch_all(make_zip([("OFD.xml", OFD_XML)]), b"PK\x01\x02", 16, "<I", 0x12345678)
    with pytest.raises(InvalidPackage):
        OFDPackage.open(data)


def test_every_truncation_is_invalid_package() -> None:
    for n in range(len(HELLO)):
        with pytest.raises(InvalidPackage):
            OFDPackage.open(HELLO[:n])


def test_not_bytes() -> None:
    with pytest.raises(InvalidPackage):
        OFDPackage.open("OFD.xml")  # type: ignore[arg-type]


def test_directories_ignored() -> None:
    data = make_zip([("Doc_0/", b""), ("OFD.xml", OFD_XML)])
    assert OFDPackage.open(data).names() == ("OFD.xml",)


# --- XML level -------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>&lol3;</ofd:DocRoot></ofd:DocBody></ofd:OFD>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>&xxe;</ofd:DocRoot></ofd:DocBody></ofd:OFD>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE OFD SYSTEM "http://example.invalid/ofd.dtd"><OFD/>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, XXE, EXTERNAL_DTD, XXE.decode().encode("utf-16")])
def test_dtd_and_entities_refused(xml: bytes) -> None:
    pkg = OFDPackage.open(make_zip([("OFD.xml", xml)]))
    with pytest.raises(UnsafePackage, match="DTD") as info:
        pkg.doc_bodies()
    assert "root:" not in str(info.value)  # nothing of /etc/passwd leaks
    with pytest.raises(UnsafePackage):
        parse_xml(xml, "test")


@pytest.mark.parametrize("xml", [b"\x89PNG\r\n", b"", b"<a>", b"<?xml version='1.0'?>", b"<a/><b/>",
                                 b"\xff\xfe\x00garbage", b"<ofd:OFD/>"])
def test_non_xml_is_invalid_package(xml: bytes) -> None:
    pkg = OFDPackage.open(make_zip([("OFD.xml", xml)]))
    with pytest.raises(InvalidPackage):
        pkg.doc_bodies()


def test_wrong_root_element() -> None:
    pkg = OFDPackage.open(make_zip([("OFD.xml", b"<OFD/>")]))
    with pytest.raises(InvalidPackage, match="ofd:OFD"):
        pkg.doc_bodies()


def test_missing_ofd_xml() -> None:
    with pytest.raises(InvalidPackage, match=r"OFD\.xml"):
        OFDPackage.open(make_zip([("Doc_0/Document.xml", b"<x/>")]))


def test_doc_root_missing_file() -> None:
    pkg = OFDPackage.open(make_zip([("OFD.xml", OFD_XML)]))
    with pytest.raises(InvalidPackage, match="DocRoot"):
        pkg.doc_bodies()


def test_doc_root_escaping() -> None:
    xml = OFD_XML.replace(b"Doc_0/Document.xml", b"../../etc/passwd")
    pkg = OFDPackage.open(make_zip([("OFD.xml", xml)]))
    with pytest.raises(UnsafePackage):
        pkg.doc_bodies()


def test_xml_size_limit() -> None:
    pkg = OFDPackage.open(make_zip([("OFD.xml", OFD_XML)]), Limits(max_xml_size=50))
    with pytest.raises(UnsafePackage, match="too large"):
        pkg.doc_bodies()


# --- property tests --------------------------------------------------------------------------


def _try(data: bytes) -> None:
    with contextlib.suppress(EcertError):
        exercise(OFDPackage.open(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _try(data)
    _try(b"PK\x03\x04" + data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([HELLO, SIGNED]), st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)),
                                                  min_size=1, max_size=8))
def test_random_mutations(base: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(base)
    for pos, value in edits:
        data[pos % len(data)] = value
    _try(bytes(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(OFDPackage.open(SIGNED).names())), st.binary(max_size=300))
def test_random_entry_contents(name: str, content: bytes) -> None:
    pkg = OFDPackage.open(SIGNED)
    files = [(n, content if n == name else pkg.entries[n]) for n in pkg.names()]
    _try(make_zip(files))


# --- packages handed over as entries (the writer -> signer path, no ZIP in between) ------------

@pytest.mark.parametrize(
    ("entries", "limits", "error", "message"),
    [
        ([("OFD.xml", OFD_XML), ("OFD.xml", OFD_XML)], Limits(), UnsafePackage, "duplicate"),
        ([("OFD.xml", OFD_XML), ("../evil", b"x")], Limits(), UnsafePackage, r"contains '\.\.'"),
        ([("OFD.xml", OFD_XML), ("/abs", b"x")], Limits(), UnsafePackage, "absolute"),
        ([("Doc_0/Document.xml", b"<x/>")], Limits(), InvalidPackage, "missing entry file"),
        ([("OFD.xml", OFD_XML), ("a", b"1"), ("b", b"2")], Limits(max_entries=2), UnsafePackage, "too many"),
        ([("a", b"1" * 11), ("OFD.xml", OFD_XML)], Limits(max_entry_size=10), UnsafePackage,
         "entry too large"),
        ([("OFD.xml", OFD_XML), ("a", b"1" * 10)], Limits(max_total_size=len(OFD_XML) + 9), UnsafePackage,
         "too large"),
        ([("OFD.xml", OFD_XML), ("a", "text")], Limits(), InvalidPackage, "must be bytes"),
    ],
)
def test_entries_are_held_to_the_reader_rules(
    entries: list[tuple[str, bytes]], limits: Limits, error: type[EcertError], message: str
) -> None:
    with pytest.raises(error, match=message):
        OFDPackage.from_entries(entries, limits)


def test_entries_give_the_same_package_as_the_zip() -> None:
    read = OFDPackage.open(HELLO)
    again = OFDPackage.from_entries(read.entries.items())
    assert dict(again.entries) == dict(read.entries) and again.names() == read.names()
    assert again.doc_body(0) == read.doc_body(0)
