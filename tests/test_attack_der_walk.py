"""The inlined strict DER walk (``crypto.der.check_der``) against an independent DER checker.

The checker below is written from X.690 §8 and §10-11 alone, recursive and plain (one function per
rule, no shared state), so it shares nothing with the walk but the rules ``check_der`` documents.
Both judge hand-built edge encodings (non-minimal and indefinite lengths, long-form tags, lengths
past the end, nesting depth, SET OF order, BIT STRING unused bits, INTEGER leading octets, trailing
bytes) and thousands of structural mutations of a real CMS SignedData and certificate (seeded:
the same inputs every run): one accepts exactly what the other accepts.  ``openssl asn1parse``
confirms the hand-built cases are the BER they are meant to be.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from ecert.crypto.cms_parse import _SET_OF_PATHS
from ecert.crypto.der import MAX_DEPTH, check_der
from ecert.errors import InputError
from ecert.ofd.reader import OFDPackage
from tests.certs import hierarchy, issued_file


class _Bad(Exception):
    pass


_CONSTRUCTED_ONLY = {8, 11, 16, 17, 29}


def _reference(data: bytes, *, sorted_paths: frozenset[tuple[int, ...]] = frozenset(),
               whole_octets: bool = False, max_depth: int = MAX_DEPTH) -> bool:
    """Whether ``data`` is exactly one DER element by the rules ``check_der`` documents."""
    try:
        if not data:
            raise _Bad
        end = _element(data, 0, len(data), (), sorted_paths, whole_octets, max_depth)
        return end == len(data)
    except _Bad:
        return False


Paths = frozenset[tuple[int, ...]]


def _element(data: bytes, pos: int, limit: int, path: tuple[int, ...], sorted_paths: Paths,
             whole_octets: bool, max_depth: int) -> int:
    """Check one element at ``pos``; return where it ends."""
    if pos >= limit:
        raise _Bad
    first = data[pos]
    if first == 0:
        raise _Bad  # end-of-contents
    pos += 1
    number = first & 0x1F
    if number == 0x1F:  # high tag number form: base 128, minimal, at most four octets, >= 31
        number, octets = 0, 0
        while True:
            if pos >= limit or octets == 4:
                raise _Bad
            octet = data[pos]
            if octets == 0 and octet == 0x80:
                raise _Bad
            number, octets, pos = number << 7 | octet & 0x7F, octets + 1, pos + 1
            if not octet & 0x80:
                break
        if number < 31:
            raise _Bad
    if pos >= limit:
        raise _Bad
    octet = data[pos]
    pos += 1
    if octet < 0x80:
        length = octet
    else:
        count = octet & 0x7F
        if count == 0 or count > 4 or pos + count > limit or data[pos] == 0:
            raise _Bad
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
        if length < 0x80:
            raise _Bad
    end = pos + length
    if end > limit:
        raise _Bad
    universal = first < 0x40
    if first & 0x20:
        if universal and number not in _CONSTRUCTED_ONLY:
            raise _Bad
        if len(path) >= max_depth:
            raise _Bad
        inner = (*path, first)
        ordered = first == 0x31 or inner in sorted_paths
        previous = None
        while pos < end:
            stop = _element(data, pos, end, inner, sorted_paths, whole_octets, max_depth)
            if ordered and previous is not None and previous > data[pos:stop]:
                raise _Bad
            previous = data[pos:stop]
            pos = stop
        return end
    if universal and number in _CONSTRUCTED_ONLY:
        raise _Bad
    if universal and first & 0x1F != 0x1F:
        _contents(number, data[pos:end], whole_octets)
    return end


def _contents(number: int, body: bytes, whole_octets: bool) -> None:
    if number == 1 and (len(body) != 1 or body[0] not in (0, 0xFF)):
        raise _Bad
    if number in (2, 10):
        if not body:
            raise _Bad
        if len(body) > 1 and ((body[0] == 0 and body[1] < 0x80) or (body[0] == 0xFF and body[1] >= 0x80)):
            raise _Bad
    if number == 3:
        if not body or body[0] > 7 or (body[0] and len(body) == 1) or (body[0] and whole_octets):
            raise _Bad
        if body[-1] & ((1 << body[0]) - 1):
            raise _Bad
    if number == 5 and body:
        raise _Bad
    if number in (6, 13):
        if not body or body[-1] & 0x80:
            raise _Bad
        starts = [0] + [i + 1 for i in range(len(body) - 1) if not body[i] & 0x80]
        if any(body[i] == 0x80 for i in starts):
            raise _Bad
    if number in (23, 24):
        digits = 12 if number == 23 else 14
        text = body.decode("latin-1")
        if not text.endswith("Z") or len(text) < digits + 1 or not text[:digits].isdigit() \
                or not text[:digits].isascii():
            raise _Bad
        fraction = text[digits:-1]
        if fraction and (number == 23 or fraction[0] != "." or len(fraction) < 2
                         or not fraction[1:].isdigit() or not fraction[1:].isascii() or fraction[-1] == "0"):
            raise _Bad


def _walk_accepts(data: bytes, **kw: object) -> bool:
    try:
        check_der(data, **kw)  # type: ignore[arg-type]
    except InputError:
        return False
    return True


# --- hand-built edge encodings --------------------------------------------------------------------

EDGES: dict[str, tuple[bytes, bool]] = {
    "minimal INTEGER 0": (b"\x02\x01\x00", True),
    "INTEGER 128 with its sign octet": (b"\x02\x02\x00\x80", True),
    "INTEGER with a redundant zero": (b"\x02\x02\x00\x7f", False),
    "INTEGER -1 with a redundant 0xFF": (b"\x02\x02\xff\xff", False),
    "INTEGER -128": (b"\x02\x01\x80", True),
    "empty INTEGER": (b"\x02\x00", False),
    "long-form length under 128": (b"\x04\x81\x05hello", False),
    "long-form length 128": (b"\x04\x81\x80" + bytes(128), True),
    "length with a leading zero octet": (b"\x04\x82\x00\x80" + bytes(128), False),
    "indefinite length": (b"\x30\x80\x02\x01\x00\x00\x00", False),
    "length of five octets": (b"\x04\x85\x00\x00\x00\x00\x01x", False),
    "length past the end": (b"\x30\x05\x02\x01\x00", False),
    "a child past its parent": (b"\x30\x03\x02\x02\x00\x01", False),
    "trailing byte": (b"\x02\x01\x00\x00", False),
    "two elements": (b"\x05\x00\x05\x00", False),
    "long-form tag under 31": (b"\x9f\x05\x00", False),
    "long-form tag 31": (b"\x9f\x1f\x00", True),
    "long-form tag with a leading 0x80": (b"\x9f\x80\x1f\x00", False),
    "long-form tag of five octets": (b"\x9f\x81\x81\x81\x81\x01\x00", False),
    "end-of-contents octets": (b"\x00\x00", False),
    "constructed OCTET STRING": (b"\x24\x03\x04\x01x", False),
    "primitive SEQUENCE": (b"\x10\x00", False),
    "BOOLEAN 0x01": (b"\x01\x01\x01", False),
    "BOOLEAN 0xFF": (b"\x01\x01\xff", True),
    "NULL with contents": (b"\x05\x01\x00", False),
    "BIT STRING with 8 unused bits": (b"\x03\x02\x08\x00", False),
    "BIT STRING with non-zero unused bits": (b"\x03\x02\x01\x01", False),
    "BIT STRING with zero unused bits set": (b"\x03\x02\x01\x02", True),
    "empty BIT STRING with unused bits": (b"\x03\x01\x01", False),
    "BIT STRING without its octet": (b"\x03\x00", False),
    "OID with a padded arc": (b"\x06\x03\x2a\x80\x01", False),
    "OID cut inside an arc": (b"\x06\x02\x2a\x81", False),
    "UTCTime without seconds": (b"\x17\x0b2612010000Z", False),
    "UTCTime with an offset": (b"\x17\x11261201000000+0800", False),
    "UTCTime": (b"\x17\x0d261201000000Z", True),
    "GeneralizedTime with a trailing zero": (b"\x18\x1220261201000000.10Z", False),
    "GeneralizedTime with a fraction": (b"\x18\x1120261201000000.1Z", True),
    "SET OF in order": (b"\x31\x06\x02\x01\x01\x02\x01\x02", True),
    "SET OF out of order": (b"\x31\x06\x02\x01\x02\x02\x01\x01", False),
    "SET OF with equal elements": (b"\x31\x06\x02\x01\x01\x02\x01\x01", True),
    "nested 64 deep": (b"".join(bytes([0x30, 2 * (63 - i)]) for i in range(64)), True),
    "nested 65 deep": (b"".join(bytes([0x30, 2 * (64 - i)]) for i in range(65)), False),
}


@pytest.mark.parametrize("what", sorted(EDGES))
def test_edge_encodings(what: str) -> None:
    data, der = EDGES[what]
    assert _reference(data) is der, "the reference checker"
    assert _walk_accepts(data) is der


@pytest.mark.skipif(shutil.which("openssl") is None, reason="system OpenSSL not installed")
@pytest.mark.parametrize("what", ["indefinite length", "long-form length under 128",
                                  "constructed OCTET STRING", "length with a leading zero octet",
                                  "INTEGER with a redundant zero"])
def test_openssl_reads_the_ber_cases(what: str, tmp_path: Path) -> None:
    """The refused encodings are BER a lenient reader takes: OpenSSL parses each of them."""
    path = tmp_path / "x.der"
    path.write_bytes(EDGES[what][0])
    out = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", str(path)], capture_output=True,
                         timeout=30)
    assert out.returncode == 0 and b"error" not in out.stdout.lower(), out.stdout + out.stderr


# --- mutations of real encodings ------------------------------------------------------------------


def _signed_value() -> bytes:
    package = OFDPackage.open(issued_file("sm2"))
    name = next(n for n in package.entries if n.endswith("SignedValue.dat"))
    return package.entries[name]


def _mutations(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    """Structural changes: a length octet nudged or put in long form, bytes inserted or removed, a
    tag changed, a SET's elements swapped, indefinite length, a byte flipped."""
    out = []
    for _ in range(count):
        at = rng.randrange(len(data))
        kind = rng.randrange(7)
        if kind == 0:
            new = data[:at] + bytes([(data[at] + rng.choice((-1, 1, 0x80))) & 0xFF]) + data[at + 1:]
        elif kind == 1:
            new = data[:at] + bytes([rng.randrange(256)]) + data[at:]
        elif kind == 2:
            new = data[:at] + data[at + 1:]
        elif kind == 3:  # a short length in the long form
            new = data[:at] + b"\x81" + data[at:] if data[at] < 0x80 else data
        elif kind == 4:
            new = data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1:]  # constructed <-> primitive
        elif kind == 5:
            new = data[:at] + b"\x80" + data[at + 1:]  # indefinite
        else:
            new = data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
        out.append(new)
    return out


def _agree(data: bytes, **kw: object) -> None:
    sorted_paths = kw.get("sorted_paths", frozenset())
    ref = _reference(data, sorted_paths=sorted_paths, whole_octets=bool(kw.get("whole_octet_bit_strings")))
    assert _walk_accepts(data, **kw) is ref, data.hex()


def test_mutated_cms_is_judged_alike() -> None:
    cms = _signed_value()
    _agree(cms, sorted_paths=_SET_OF_PATHS, whole_octet_bit_strings=True)
    for data in _mutations(cms, random.Random(690), 1500):
        _agree(data, sorted_paths=_SET_OF_PATHS, whole_octet_bit_strings=True)


def test_mutated_certificate_is_judged_alike() -> None:
    cert = hierarchy("sm2").issuer_cert.der
    _agree(cert)
    for data in _mutations(cert, random.Random(5280), 1500):
        _agree(data)


@pytest.mark.slow
def test_many_more_mutations() -> None:
    rng = random.Random(11)
    cms = _signed_value()
    for data in _mutations(cms, rng, 20000):
        _agree(data, sorted_paths=_SET_OF_PATHS, whole_octet_bit_strings=True)
        for again in _mutations(data, rng, 1):  # two changes at once
            _agree(again, sorted_paths=_SET_OF_PATHS, whole_octet_bit_strings=True)
