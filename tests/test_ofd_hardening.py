"""Hostile packages: every one ends in an EcertError subclass, nothing else, and nothing expands."""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecert.errors import EcertError, InvalidPackage, UnsafePackage
from ecert.ofd import Limits, OFDPackage, SesSignature, check_references, parse_xml, uncovered_entries

from .thirdparty import OFDRW

INTEROP = OFDRW
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
    # deflated: the limit is the larger of max_total_size and twice the package's own size
    data = make_zip([("OFD.xml", OFD_XML)] + [(f"a{i}.bin", bytes(range(256)) * 4) for i in range(10)],
                    zipfile.ZIP_DEFLATED)
    assert 2 * len(data) < 10 * 1024
    with pytest.raises(UnsafePackage, match="too large"):
        OFDPackage.open(data, Limits(max_total_size=3000))
    stored = make_zip([("OFD.xml", OFD_XML)] + [(f"a{i}.bin", bytes(range(256)) * 4) for i in range(5)],
                      zipfile.ZIP_STORED)
    OFDPackage.open(stored, Limits(max_total_size=3000))  # stored: no bigger than the file itself


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


# --- ZIP layout: every byte belongs to a record the central directory lists ------------------

_DESCRIPTOR_FORMATS = {"signed": "<4sLLL", "bare": "<LLL", "signed64": "<4sLQQ", "bare64": "<LQQ"}


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def raw_zip(
    files: list[tuple[str, bytes]],
    *,
    method: int = zipfile.ZIP_STORED,
    descriptor: str | None = None,
    unlisted: frozenset[str] = frozenset(),
    junk_after: dict[str, bytes] | None = None,
    body: dict[str, bytes] | None = None,
    comment: bytes = b"",
    before: bytes = b"",
    after: bytes = b"",
    shift: int = 0,
    zip64_end: bool = False,
) -> bytes:
    """A ZIP written byte by byte: ``before``, local records (a name in ``unlisted`` gets no central
    directory record, ``junk_after`` follows a record, ``body`` replaces its compressed bytes), the
    central directory, zip64 end records if asked (the end record then holds 0xFFFF.. sentinels), the
    end record, ``comment`` and ``after``.  Declared offsets ignore ``before`` and add ``shift``."""
    out, central, count = bytearray(), bytearray(), 0
    for name, data in files:
        packed = (body or {}).get(name, _deflate(data) if method == zipfile.ZIP_DEFLATED else data)
        crc, raw = zlib.crc32(data), name.encode()
        flags = 0x0808 if descriptor else 0x0800
        sizes = (0, 0, 0) if descriptor else (crc, len(packed), len(data))
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if descriptor and descriptor.endswith("64") else b""
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x2821, *sizes, len(raw),
                           len(extra))
        out += raw + extra + packed
        if descriptor:
            signature = (b"PK\x07\x08",) if descriptor.startswith("signed") else ()
            out += struct.pack(_DESCRIPTOR_FORMATS[descriptor], *signature, crc, len(packed), len(data))
        out += (junk_after or {}).get(name, b"")
        if name not in unlisted:
            central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0x2821, crc,
                                   len(packed), len(data), len(raw), 0, 0, 0, 0, 0, offset + shift) + raw
            count += 1
    start = len(out)
    out += central
    fields = (count, count, len(central), start + shift)
    if zip64_end:
        end64 = len(out)
        out += struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, *fields)
        out += struct.pack("<4sLQL", b"PK\x06\x07", 0, end64 + shift, 1)
        fields = (0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, *fields, len(comment)) + comment
    return before + bytes(out) + after


FILES = [("OFD.xml", OFD_XML), ("Doc_0/", b""), ("Doc_0/Document.xml", b"<Document/>" * 20)]
FORGED = ("Doc_0/Attachs/forged.xml", b"<forged/>")
HIDDEN = frozenset({FORGED[0]})


def _central(data: bytes, index: int) -> int:
    """Offset of the ``index``-th central directory record."""
    pos = data.index(b"PK\x01\x02")
    for _ in range(index):
        pos = data.index(b"PK\x01\x02", pos + 4)
    return pos


def _opens_with_files(data: bytes) -> None:
    assert dict(OFDPackage.open(data).entries) == {n: d for n, d in FILES if not n.endswith("/")}


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("descriptor", [None, "signed", "bare", "signed64", "bare64"])
def test_legitimate_layouts_open(method: int, descriptor: str | None) -> None:
    """Stored and deflated entries, with every data descriptor form (16, 12, 24, 20 bytes)."""
    _opens_with_files(raw_zip(FILES, method=method, descriptor=descriptor))


@pytest.mark.parametrize("comment", [b"", b"an archive comment", b"PK\x03\x04PK\x01\x02 in a comment"])
def test_archive_comment_and_zip64_end_records_open(comment: bytes) -> None:
    _opens_with_files(raw_zip(FILES, comment=comment))
    _opens_with_files(raw_zip(FILES, comment=comment, zip64_end=True, descriptor="signed"))


class _Unseekable:
    """A write-only stream: zipfile then writes flag bit 3 and a data descriptor after each entry."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()

    def write(self, data: bytes) -> int:
        return self.buf.write(data)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("seekable", [True, False])
@pytest.mark.parametrize("force_zip64", [False, True])
def test_python_zipfile_streamed_writes_open(seekable: bool, force_zip64: bool) -> None:
    """``zf.open(name, "w")``: data descriptors when unseekable, zip64 local extras when forced."""
    sink = io.BytesIO() if seekable else _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:  # type: ignore[arg-type]
        zf.comment = b"written by zipfile"
        for name, data in FILES:
            if name.endswith("/"):
                zf.mkdir(name)
                continue
            with zf.open(name, "w", force_zip64=force_zip64) as fh:
                fh.write(data)
    data = sink.getvalue() if isinstance(sink, io.BytesIO) else sink.buf.getvalue()
    assert (b"PK\x07\x08" in data) is not seekable
    _opens_with_files(data)


def test_our_writer_output_opens() -> None:
    from ecert.ofd.writer import build_zip

    _opens_with_files(build_zip([(n, d) for n, d in FILES if not n.endswith("/")]))


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (raw_zip(FILES, before=b"\x00"), UnsafePackage,
         r"^1 byte before the first local file header at byte offset 0"),
        (raw_zip(FILES, before=b"%PDF-1.7\n" * 3, shift=27), UnsafePackage,
         "27 bytes before the first local file header"),
        (raw_zip(FILES, before=raw_zip(FILES)), UnsafePackage,
         "local file record not listed in the central directory at byte offset 0"),
        (raw_zip(FILES, after=b"appended"), UnsafePackage,
         r"8 bytes after the end of central directory record at byte offset \d+"),
        (raw_zip(FILES, comment=b"note", after=b"x"), UnsafePackage,
         "1 byte after the end of central directory record"),
        (raw_zip(FILES, comment=b"note")[:-1], InvalidPackage, "archive comment runs past the end"),
        (raw_zip([FORGED, *FILES], unlisted=HIDDEN),
         UnsafePackage, "local file record not listed in the central directory at byte offset 0"),
        (raw_zip([*FILES, FORGED], unlisted=HIDDEN), UnsafePackage,
         r"local file record not listed in the central directory at byte offset \d+ .*central directory"),
        (raw_zip(FILES, junk_after={"OFD.xml": b"hidden"}), UnsafePackage,
         r"6 bytes listed nowhere, before local file record of 'Doc_0/' at byte offset \d+"),
        (raw_zip(FILES, descriptor="signed", junk_after={"Doc_0/Document.xml": b"hidden"}), UnsafePackage,
         "6 bytes listed nowhere, before the central directory"),
        (raw_zip(FILES, shift=5), UnsafePackage, "end record places the central directory elsewhere"),
        (raw_zip([("OFD.xml", OFD_XML), ("Doc_0/", b"data no signature covers")]), UnsafePackage,
         r"directory entry 'Doc_0/' carries data at byte offset \d+"),
        (raw_zip([("OFD.xml", OFD_XML), ("Doc_0/", b"")], method=zipfile.ZIP_DEFLATED,
                 body={"Doc_0/": b"\x03\x00hidden"}), UnsafePackage, "directory entry 'Doc_0/' carries data"),
    ],
    ids=["byte-before", "bytes-before-offsets-adjusted", "zip-before", "bytes-after", "bytes-after-comment",
         "comment-cut", "unlisted-first", "unlisted-last", "junk-between", "junk-after-descriptor",
         "central-directory-moved", "directory-with-data", "directory-with-compressed-data"],
)
def test_layout_breaches_refused(data: bytes, error: type[EcertError], message: str) -> None:
    with pytest.raises(error, match=message):
        OFDPackage.open(data)


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def test_two_central_records_naming_one_local_record_refused() -> None:
    data = raw_zip(FILES)
    second = _central(data, 2)
    data = _patched(data, second + 42, "<L", 0)
    with pytest.raises(UnsafePackage, match="two central directory entries name the same local file record"):
        OFDPackage.open(data)


def test_overlapping_local_records_refused() -> None:
    data = _patched(raw_zip(FILES), _central(raw_zip(FILES), 2) + 42, "<L", 10)
    with pytest.raises(UnsafePackage, match="overlaps the previous local file record at byte offset 10"):
        OFDPackage.open(data)


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (8, "<H", zipfile.ZIP_DEFLATED, r"local file header disagrees .*method 8"),  # stored in the CD
        (6, "<H", 0x0808, "local file header disagrees"),  # data descriptor flag
        (18, "<L", 3, "local file header disagrees"),  # compressed size (a streaming reader stops early)
        (14, "<L", 0, "local file header disagrees"),  # crc
    ],
)
def test_local_header_disagreeing_with_the_central_directory_refused(
    offset: int, fmt: str, value: int, message: str
) -> None:
    data = raw_zip(FILES)
    local = data.index(b"PK\x03\x04", data.index(b"PK\x03\x04", 4) + 4)  # the third: Doc_0/Document.xml
    with pytest.raises(UnsafePackage, match=message):
        OFDPackage.open(_patched(data, local + offset, fmt, value))


def test_directory_local_name_differing_refused() -> None:
    """zipfile never opens a directory entry, so it would not compare its local name."""
    data = raw_zip(FILES)
    local = data.index(b"PK\x03\x04", 4) + 30  # the name in the second local header: Doc_0/
    assert data[local : local + 6] == b"Doc_0/"
    data = data[:local] + b"Evil0/" + data[local + 6 :]
    with pytest.raises(UnsafePackage, match="local file header names another file"):
        OFDPackage.open(data)


def test_data_descriptor_not_matching_refused() -> None:
    data = raw_zip(FILES, descriptor="signed")
    pos = data.index(b"PK\x07\x08")
    with pytest.raises(InvalidPackage, match=r"no data descriptor matching .* 'OFD.xml' at byte offset"):
        OFDPackage.open(_patched(data, pos + 4, "<L", 0x12345678))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [(4, 1, "multi-disk"), (8, 2, "entry count"), (10, 4, "entry count")],
)
def test_end_record_fields_checked(field: int, value: int, message: str) -> None:
    data = raw_zip(FILES)
    with pytest.raises(InvalidPackage, match=message):
        OFDPackage.open(_patched(data, data.rindex(b"PK\x05\x06") + field, "<H", value))


def test_zip64_end_record_disagreeing_refused() -> None:
    data = raw_zip(FILES, zip64_end=True)
    end = data.rindex(b"PK\x05\x06")
    with pytest.raises(InvalidPackage, match="end record and zip64 end record disagree on the entries"):
        OFDPackage.open(_patched(data, end + 10, "<H", 7))
    locator = data.rindex(b"PK\x06\x07")
    with pytest.raises(InvalidPackage, match="zip64 end of central directory record is not right before"):
        OFDPackage.open(_patched(data, locator + 8, "<Q", 3))


@pytest.mark.parametrize("descriptor", [None, "bare64"])
def test_every_byte_changed_gives_an_ecert_error_or_a_package(descriptor: str | None) -> None:
    """The checker reads headers an attacker wrote: no IndexError or struct.error ever escapes."""
    base = raw_zip(FILES, descriptor=descriptor, zip64_end=True, comment=b"c")
    for pos in range(len(base)):
        for value in (0x00, 0xFF, base[pos] ^ 0x01):
            with contextlib.suppress(EcertError):
                OFDPackage.open(base[:pos] + bytes([value]) + base[pos + 1 :])
    for n in range(len(base)):
        with pytest.raises(InvalidPackage):
            OFDPackage.open(base[:n])


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


def _unfinished_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)  # no final block


@pytest.mark.parametrize(
    ("packed", "error", "message"),
    [
        (_deflate(OFD_XML) + b"PK\x03\x04 hidden", UnsafePackage,
         "11 bytes after the end of the compressed data at ZIP entry 'OFD.xml'"),
        (_unfinished_deflate(OFD_XML), InvalidPackage, "compressed data does not end within the entry"),
    ],
)
def test_deflate_stream_must_fill_its_entry(packed: bytes, error: type[EcertError], message: str) -> None:
    """zipfile ignores bytes after the end of a deflate stream (and a stream that never ends); a reader
    that finds the end itself would read them as the next record."""
    data = raw_zip([("OFD.xml", OFD_XML)], method=zipfile.ZIP_DEFLATED, body={"OFD.xml": packed})
    with pytest.raises(error, match=message):
        OFDPackage.open(data)
