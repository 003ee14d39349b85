"""The strict DER walk (ecert.crypto.der): hand-written BER and garbage, asn1crypto's DER, OpenSSL's view.

The refusals are checked one reason at a time on inputs a few bytes long; the acceptances against
whatever asn1crypto writes when it re-encodes (``dump(force=True)``) random structures; and
``openssl asn1parse`` confirms that the BER-only inputs are BER (it reads them), not garbage.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import core
from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.crypto.der import MAX_DEPTH, check_der
from ecert.errors import InputError

OPENSSL = shutil.which("openssl")


def _deep(depth: int) -> bytes:
    """``depth`` SEQUENCEs inside each other around an INTEGER, with minimal lengths."""
    headers, size = [], 3
    for _ in range(depth):
        length = size.to_bytes((size.bit_length() + 7) // 8, "big")
        header = b"\x30" + (bytes([size]) if size < 0x80 else bytes([0x80 | len(length)]) + length)
        headers.append(header)
        size += len(header)
    return b"".join(reversed(headers)) + bytes.fromhex("020101")


_TOO_DEEP = _deep(MAX_DEPTH + 1)  # the innermost SEQUENCE (header 30 03) is one too many


def _refusal(der: bytes, **kwargs: Any) -> str:
    with pytest.raises(InputError) as caught:
        check_der(der, **kwargs)
    return str(caught.value)


# (name, input in hex with spaces between the parts, words the message must contain, byte offset named)
REFUSED = [
    ("indefinite length", "3080 020101 0000", "indefinite length", 1),
    ("long form for a short length", "04 8105 6869686f6f", "length 5 in the long form", 1),
    ("leading zero length octet", "04 820080" + "aa" * 128, "leading zero octet", 1),
    ("0x82 0x00 0x7f", "04 82007f" + "aa" * 127, "leading zero octet", 1),
    ("reserved length octet 0xFF", "04 ff", "length of 127 octets", 1),
    ("length past the input", "0405 61", "runs past the end of the input", 0),
    ("length past the parent", "3003 0405 61", "runs past the end of its enclosing element", 2),
    ("header cut in the length", "3002 04 82", "length runs past the end", 3),
    ("trailing garbage", "3003 020101 ff", "1 bytes after the outer element", 5),
    ("empty input", "", "empty input", 0),
    ("end-of-contents as an element", "0000", "end-of-contents", 0),
    ("constructed OCTET STRING", "2406 04026162 0400", "constructed OCTET STRING", 0),
    ("constructed BIT STRING", "2304 03020000", "constructed BIT STRING", 0),
    ("constructed UTF8String", "2c03 0c0161", "constructed UTF8String", 0),
    ("constructed INTEGER", "2203 020101", "constructed INTEGER", 0),
    ("primitive SEQUENCE", "1000", "primitive SEQUENCE", 0),
    ("INTEGER with a redundant 0x00", "0202 0001", "INTEGER not in the fewest octets", 0),
    ("INTEGER with a redundant 0xFF", "0202 ff80", "INTEGER not in the fewest octets", 0),
    ("empty INTEGER", "0200", "INTEGER not in the fewest octets", 0),
    ("ENUMERATED with a redundant 0x00", "0a02 0005", "ENUMERATED not in the fewest octets", 0),
    ("BOOLEAN 0x01", "0101 01", "BOOLEAN other than 0x00 or 0xFF", 0),
    ("BOOLEAN of two octets", "0102 ff00", "BOOLEAN other than 0x00 or 0xFF", 0),
    ("NULL with contents", "0501 00", "NULL with contents", 0),
    ("OID with a padded sub-identifier", "0603 2a 8001", "padded sub-identifier", 0),
    ("OID cut inside a sub-identifier", "0602 2a 86", "cut inside a sub-identifier", 0),
    ("empty OID", "0600", "OBJECT IDENTIFIER empty", 0),
    ("BIT STRING without unused-bits octet", "0300", "without its unused-bits octet", 0),
    ("BIT STRING with 8 unused bits", "0302 08 00", "8 unused bits", 0),
    ("BIT STRING unused bits not zero", "0302 01 f1", "unused bits not zero", 0),
    ("UTCTime without seconds", "170b" + b"2603020930Z".hex(), "UTCTime not in the DER form", 0),
    ("UTCTime with an offset", "1711" + b"260302093015+0800".hex(), "UTCTime not in the DER form", 0),
    ("GeneralizedTime fraction with zeros", "1812" + b"20260302093015.50Z".hex(), "GeneralizedTime", 0),
    ("GeneralizedTime without Z", "180e" + b"20260302093015".hex(), "GeneralizedTime", 0),
    ("high tag number below 31", "9f05 00", "tag number 5 in the long form", 0),
    ("high tag number padded", "9f8020 00", "tag number with a leading zero octet", 0),
    ("unsorted SET OF", "3106 020102 020101", "SET OF elements not in ascending order", 5),
    ("unsorted SET OF by length", "3107 04026161 040162", "SET OF elements not in ascending order", 6),
    ("too deep nesting", _TOO_DEEP.hex(), f"nested more than {MAX_DEPTH} deep", len(_TOO_DEEP) - 5),
]


@pytest.mark.parametrize(("name", "der", "reason", "offset"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(name: str, der: str, reason: str, offset: int) -> None:
    message = _refusal(bytes.fromhex(der), what="test input")
    assert message.startswith("test input is not DER: ")
    assert reason in message
    assert message.endswith(f"at byte {offset}")


ACCEPTED = [
    ("INTEGER 0", "0201 00"),
    ("INTEGER 128", "0202 0080"),
    ("INTEGER -128", "0201 80"),
    ("INTEGER -129", "0202 ff7f"),
    ("BOOLEAN TRUE and FALSE", "3006 0101ff 010100"),
    ("NULL", "0500"),
    ("OID", "0603 550403"),
    ("BIT STRING, 4 unused zero bits", "0302 04 f0"),
    ("empty BIT STRING", "0301 00"),
    ("empty SEQUENCE and SET", "3004 3000 3100"),
    ("sorted SET OF, equal elements too", "3109 020101 020101 020102"),
    ("sorted SET OF, shorter first", "3107 040162 04026161"),
    ("long length", "04 8180" + "00" * 128),
    ("UTCTime", "170d" + b"260302093015Z".hex()),
    ("GeneralizedTime with a fraction", "1811" + b"20260302093015.5Z".hex()),
    ("context tags, implicit and explicit", "3008 800161 a103 020101"),
    ("high tag number", "9f1f 00"),
    ("unsorted [0] when not named", "a006 020102 020101"),
    ("deepest nesting allowed", _deep(MAX_DEPTH).hex()),
]


@pytest.mark.parametrize(("name", "der"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted(name: str, der: str) -> None:
    check_der(bytes.fromhex(der))


def test_named_implicit_set_must_be_sorted() -> None:
    unsorted = bytes.fromhex("3008 a006 020102 020101")
    check_der(unsorted, sorted_paths=[(0x30, 0xA1)])  # another path: order free
    assert "not in ascending order" in _refusal(unsorted, sorted_paths=[(0x30, 0xA0)])


def test_whole_octet_bit_strings() -> None:
    padded = bytes.fromhex("0302 04 f0")
    check_der(padded)
    assert "where whole octets are expected" in _refusal(padded, whole_octet_bit_strings=True)
    check_der(bytes.fromhex("0302 00 ff"), whole_octet_bit_strings=True)


def test_element_limit() -> None:
    der = bytes.fromhex("300e" + " 0500" * 7)  # 8 elements
    check_der(der, max_elements=8)
    assert "more than 7 elements" in _refusal(der, max_elements=7)


def test_nesting_is_walked_without_recursion() -> None:
    """Far deeper than Python's recursion limit when allowed; refused at the default limit."""
    der = _deep(20_000)
    check_der(der, max_depth=20_000)
    assert f"nested more than {MAX_DEPTH} deep" in _refusal(der)


def test_bytearray_is_read() -> None:
    check_der(bytearray.fromhex("020101"))  # type: ignore[arg-type]


# --- whatever asn1crypto writes as DER is accepted -----------------------------------------------

_PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
_LEAVES: list[tuple[type[core.Asn1Value], st.SearchStrategy[Any]]] = [
    (core.Integer, st.integers(-(2**80), 2**80)),
    (core.Boolean, st.booleans()),
    (core.Null, st.builds(core.Null)),  # a None value would mean "absent" in a SEQUENCE
    (core.OctetString, st.binary(max_size=40)),
    (core.BitString, st.lists(st.integers(0, 1), max_size=20).map(tuple)),
    (core.ObjectIdentifier, st.lists(st.integers(0, 2**40), min_size=1, max_size=6).map(
        lambda arcs: ".".join(map(str, [1, 2, *arcs])))),
    (core.UTF8String, st.text(max_size=20)),
    (core.PrintableString, st.text(alphabet=_PRINTABLE, max_size=20)),
    (core.UTCTime, st.datetimes(datetime(1950, 1, 1), datetime(2049, 12, 31), timezones=st.just(UTC)).map(
        lambda when: when.replace(microsecond=0))),
    # asn1crypto writes years before 1000 with fewer than four digits (not DER, nor readable back)
    (core.GeneralizedTime, st.datetimes(datetime(1000, 1, 1), timezones=st.just(UTC))),
]  # fmt: skip

Spec = tuple[type[core.Asn1Value], Any]  # an asn1crypto class and a value it is built from


def _leaf(kind: int) -> st.SearchStrategy[Spec]:
    spec, values = _LEAVES[kind]
    return values.map(lambda value: (spec, value))


def _set_of(kind: int) -> st.SearchStrategy[Spec]:
    """A SET OF one leaf type: asn1crypto sorts it when it encodes."""
    spec, values = _LEAVES[kind]
    set_of = type("SetOf", (core.SetOf,), {"_child_spec": spec})
    return st.lists(values, max_size=6).map(lambda items: (set_of, items))


_TAGGINGS = st.one_of(
    st.just({}),
    st.integers(0, 40).map(lambda n: {"implicit": n}),  # 31 and above take the high-tag-number form
    st.integers(0, 40).map(lambda n: {"explicit": n}),
)


def _sequence(children: st.SearchStrategy[list[tuple[Spec, dict[str, int]]]]) -> st.SearchStrategy[Spec]:
    """A SEQUENCE of the children, each tagged or not, as an asn1crypto class made for it."""

    def build(items: list[tuple[Spec, dict[str, int]]]) -> Spec:
        fields = [(f"f{i}", spec, params) for i, ((spec, _), params) in enumerate(items)]
        sequence = type("Sequence", (core.Sequence,), {"_fields": fields})
        return sequence, {f"f{i}": value for i, ((_, value), _) in enumerate(items)}

    return children.map(build)


_KINDS = st.integers(0, len(_LEAVES) - 1)
_STRUCTURES = st.recursive(
    st.one_of(_KINDS.flatmap(_leaf), _KINDS.flatmap(_set_of)),
    lambda children: _sequence(st.lists(st.tuples(children, _TAGGINGS), min_size=1, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_STRUCTURES)
def test_asn1crypto_der_is_accepted(structure: Spec) -> None:
    spec, value = structure
    der = (value if isinstance(value, core.Asn1Value) else spec(value)).dump(force=True)
    check_der(der)
    assert spec.load(der).dump(force=True) == der  # it is DER indeed: it re-encodes to itself


# --- OpenSSL reads the BER-only inputs (so they are BER, and refused as not DER) -----------------

BER_ONLY = [
    "indefinite length",
    "long form for a short length",
    "0x82 0x00 0x7f",
    "leading zero length octet",
    "constructed OCTET STRING",
    "BOOLEAN 0x01",
]
GARBAGE = ["length past the input", "length past the parent", "trailing garbage"]


def _asn1parse(der: bytes, folder: Path) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    (folder / "in.der").write_bytes(der)
    return subprocess.run(
        [OPENSSL, "asn1parse", "-inform", "DER", "-in", "in.der"],
        cwd=folder, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@pytest.mark.skipif(OPENSSL is None, reason="system openssl not found")
@pytest.mark.parametrize("name", BER_ONLY + GARBAGE)
def test_openssl_reads_the_ber_we_refuse(name: str, tmp_path: Path) -> None:
    der = bytes.fromhex(next(r[1] for r in REFUSED if r[0] == name))
    with pytest.raises(InputError, match="not DER"):
        check_der(der)
    result = _asn1parse(der, tmp_path)
    if name in BER_ONLY:
        assert result.returncode == 0, result.stderr
        assert "Error" not in result.stdout + result.stderr
    else:
        assert result.returncode != 0, result.stdout
