"""A strict DER check (ITU-T X.690 §10-11) that walks the encoding without building any objects.

Re-encoding with asn1crypto and comparing bytes proves an input is DER too, but it parses and
rebuilds every value; this walk reads each tag-length-value once, iteratively (no recursion, so
nesting depth costs no stack), and refuses what BER allows and DER does not:

* lengths: indefinite (0x80), long form for a length under 128, leading zero length octets;
  lengths that overrun their parent or the input; bytes after the outer element;
* tags: high-tag-number form for a number under 31 or with a leading 0x80 octet;
* constructed forms of string types (DER strings are primitive, §10.2), and every universal type
  in the form it cannot have (a primitive SEQUENCE, a constructed INTEGER);
* contents of universal primitives: BOOLEAN other than 0x00/0xFF, INTEGER and ENUMERATED with a
  redundant leading octet, BIT STRING with more than 7 or non-zero unused bits, NULL with
  contents, OBJECT IDENTIFIER with a padded sub-identifier, UTCTime and GeneralizedTime other
  than the ``Z`` forms of §11.7-11.8;
* SET OF elements out of ascending order of their encodings (§11.6): every universal SET, and
  the implicitly tagged SETs the caller names by their tag path.

What needs the ASN.1 schema (DEFAULT values encoded, which SET is a SET and not a SET OF) is
left to the parser; contents of primitive OCTET STRINGs are not descended into.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from ecert.errors import InputError

__all__ = ["MAX_DEPTH", "MAX_ELEMENTS", "check_bounds", "check_der", "parser_reason"]

MAX_DEPTH = 64  # CMS with a certificate chain nests about 12 deep
MAX_ELEMENTS = 200_000  # a SignedValue.dat holds a few hundred; bounds the work on hostile input

_SEQUENCE, _SET = 16, 17
_CONSTRUCTED_ONLY = frozenset({8, 11, _SEQUENCE, _SET, 29})  # EXTERNAL, EMBEDDED PDV, CHARACTER STRING
_NAMES = {
    0: "end-of-contents",
    1: "BOOLEAN",
    2: "INTEGER",
    3: "BIT STRING",
    4: "OCTET STRING",
    5: "NULL",
    6: "OBJECT IDENTIFIER",
    10: "ENUMERATED",
    12: "UTF8String",
    13: "RELATIVE-OID",
    _SEQUENCE: "SEQUENCE",
    _SET: "SET",
    19: "PrintableString",
    22: "IA5String",
    23: "UTCTime",
    24: "GeneralizedTime",
    30: "BMPString",
}
_DIGITS = frozenset(b"0123456789")


def _name(number: int) -> str:
    return _NAMES.get(number, f"universal type {number}")


class _Refusal(Exception):
    """A DER violation at a byte offset; turned into InputError at the top (keeps helpers small)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class _Rules:
    sorted_paths: Collection[tuple[int, ...]]
    path_ends: frozenset[int]  # the last octet of every sorted path: most elements need no path
    max_depth: int
    max_elements: int
    whole_octets: bool


def check_der(
    data: bytes,
    *,
    what: str = "input",
    sorted_paths: Collection[tuple[int, ...]] = (),
    whole_octet_bit_strings: bool = False,
    max_depth: int = MAX_DEPTH,
    max_elements: int = MAX_ELEMENTS,
) -> None:
    """Raise :class:`InputError` unless ``data`` is exactly one DER-encoded element.

    ``sorted_paths`` names constructed elements, besides universal SETs, whose elements must be
    sorted as a DER SET OF: each path is the first identifier octet of every element from the
    outermost down to that one, e.g. ``(0x30, 0xA0, 0x30, 0xA0)`` for the ``[0] IMPLICIT``
    certificate set of a CMS SignedData.  ``whole_octet_bit_strings`` refuses universal BIT
    STRINGs with unused bits, for formats whose BIT STRINGs all hold octets (keys and signatures
    in certificates): readers take the octets and ignore the count, so it could change unnoticed.
    The message names ``what`` and the byte offset.
    """
    rules = _Rules(
        sorted_paths=sorted_paths,
        path_ends=frozenset(path[-1] for path in sorted_paths),
        max_depth=max_depth,
        max_elements=max_elements,
        whole_octets=whole_octet_bit_strings,
    )
    try:
        _walk(bytes(data), rules)
    except _Refusal as refusal:
        raise InputError(f"{what} is not DER: {refusal.message}", where=f"byte {refusal.offset}") from None


def _walk(data: bytes, rules: _Rules) -> None:
    """Every element, outermost first; a stack of open constructed elements replaces recursion.

    The innermost open element's end (``limit``) and order state (``order``) live in locals, the
    outer ones on the stacks, and the usual header (one-octet tag, short length) is read inline:
    a CMS SignedData has about a hundred elements, and a call per element was most of the walk."""
    if not data:
        raise _Refusal("empty input", 0)
    sorted_paths, path_ends, max_depth = rules.sorted_paths, rules.path_ends, rules.max_depth
    max_elements, whole_octets, checks = rules.max_elements, rules.whole_octets, _PRIMITIVE_CHECKS
    ends: list[int] = []  # where the contents of each open constructed element end
    tags: list[int] = []  # the first identifier octet of each
    orders: list[int] = []  # the order state of each enclosing element (see ``order``)
    # in the innermost open element: start of its previous element, -1 none yet, -2 order free
    order = -2
    pos, size, count = 0, len(data), 0
    limit = size
    while True:
        start = pos
        count += 1
        if count > max_elements:
            raise _Refusal(f"more than {max_elements} elements", start)
        if pos + 1 < limit and data[pos + 1] < 0x80 and data[pos] & 0x1F != 0x1F and data[pos]:
            first = data[pos]
            number = first & 0x1F
            pos += 2
            end = pos + data[pos - 1]
        else:
            first, number, length, pos = _header(data, pos, limit)
            end = pos + length
        if end > limit:
            where = "its enclosing element" if ends else "the input"
            raise _Refusal(f"length {end - pos} runs past the end of {where}", start)
        if order != -2:
            if order >= 0 and data[order:start] > data[start:end]:
                raise _Refusal("SET OF elements not in ascending order of their encodings", start)
            order = start
        if first & 0x20:
            if first < 0x40 and number not in _CONSTRUCTED_ONLY:  # universal class
                raise _Refusal(f"constructed {_name(number)} (DER encodes it primitive)", start)
            if len(ends) >= max_depth:
                raise _Refusal(f"nested more than {max_depth} deep", start)
            ends.append(end)
            tags.append(first)
            orders.append(order)
            order = -1 if first == 0x31 or (first in path_ends and tuple(tags) in sorted_paths) else -2
            limit = end
        else:
            check = checks.get(first)  # universal, low tag number, with rules for contents
            if check is not None:
                check(data, number, pos, end, start, whole_octets)
            pos = end
        while ends and pos == limit:
            ends.pop()
            tags.pop()
            order = orders.pop()
            limit = ends[-1] if ends else size
        if not ends:
            break
    if pos != size:
        raise _Refusal(f"{size - pos} bytes after the outer element", pos)


def _header(data: bytes, pos: int, limit: int) -> tuple[int, int, int, int]:
    """(first identifier octet, tag number, contents length, position of the contents)."""
    if pos + 1 < limit:  # the usual case first: a one-octet tag and a short length
        first, octet = data[pos], data[pos + 1]
        if octet < 0x80 and first & 0x1F != 0x1F and first:
            return first, first & 0x1F, octet, pos + 2
    first, number, pos = _identifier(data, pos, limit)
    length, pos = _length(data, pos, limit)
    return first, number, length, pos


def _identifier(data: bytes, pos: int, limit: int) -> tuple[int, int, int]:
    """(first identifier octet, tag number, position after the identifier)."""
    if pos >= limit:
        raise _Refusal("element header runs past the end of its enclosing element", pos)
    first = data[pos]
    number = first & 0x1F
    pos += 1
    if number != 0x1F:
        if first == 0:
            raise _Refusal("end-of-contents octets (only BER's indefinite lengths use them)", pos - 1)
        return first, number, pos
    start, number = pos - 1, 0
    while True:
        if pos >= limit:
            raise _Refusal("tag number runs past the end of its enclosing element", start)
        octet = data[pos]
        if pos == start + 1 and octet == 0x80:
            raise _Refusal("tag number with a leading zero octet", start)
        if pos - start > 4:
            raise _Refusal("tag number too large", start)
        number = (number << 7) | (octet & 0x7F)
        pos += 1
        if not octet & 0x80:
            break
    if number < 0x1F:
        raise _Refusal(f"tag number {number} in the long form (DER uses one octet below 31)", start)
    return first, number, pos


def _length(data: bytes, pos: int, limit: int) -> tuple[int, int]:
    """(contents length, position of the contents), refusing every non-minimal length encoding."""
    if pos >= limit:
        raise _Refusal("length runs past the end of its enclosing element", pos)
    octet = data[pos]
    if octet < 0x80:
        return octet, pos + 1
    if octet == 0x80:
        raise _Refusal("indefinite length (BER)", pos)
    count = octet & 0x7F
    if count > 4 or octet == 0xFF:
        raise _Refusal(f"length of {count} octets", pos)
    if pos + 1 + count > limit:
        raise _Refusal("length runs past the end of its enclosing element", pos)
    if data[pos + 1] == 0:
        raise _Refusal("length with a leading zero octet", pos)
    length = int.from_bytes(data[pos + 1 : pos + 1 + count], "big")
    if length < 0x80:
        raise _Refusal(f"length {length} in the long form (DER uses one octet below 128)", pos)
    return length, pos + 1 + count


def _check_integer(data: bytes, number: int, pos: int, end: int, start: int, _: bool) -> None:
    """INTEGER and ENUMERATED: two's complement in the fewest octets (§8.3.2)."""
    if pos == end or (end - pos > 1 and (data[pos] << 1 | data[pos + 1] >> 7) in (0x000, 0x1FF)):
        raise _Refusal(f"{_name(number)} not in the fewest octets", start)


def _check_boolean(data: bytes, number: int, pos: int, end: int, start: int, _: bool) -> None:
    if end - pos != 1 or data[pos] not in (0x00, 0xFF):
        raise _Refusal("BOOLEAN other than 0x00 or 0xFF", start)


def _check_null(data: bytes, number: int, pos: int, end: int, start: int, _: bool) -> None:
    if end != pos:
        raise _Refusal("NULL with contents", start)


def _check_primitive_form(data: bytes, number: int, pos: int, end: int, start: int, _: bool) -> None:
    raise _Refusal(f"primitive {_name(number)}", start)


def _check_oid(data: bytes, number: int, pos: int, end: int, start: int, _: bool) -> None:
    if pos == end or data[end - 1] & 0x80:
        raise _Refusal(f"{_name(number)} empty or cut inside a sub-identifier", start)
    at_first = True
    for octet in data[pos:end]:
        if at_first and octet == 0x80:
            raise _Refusal(f"{_name(number)} with a padded sub-identifier", start)
        at_first = not octet & 0x80


def _check_bit_string(data: bytes, number: int, pos: int, end: int, start: int, whole_octets: bool) -> None:
    if pos == end:
        raise _Refusal("BIT STRING without its unused-bits octet", start)
    unused = data[pos]
    if unused > 7 or (unused and end - pos == 1):
        raise _Refusal(f"BIT STRING with {unused} unused bits", start)
    if unused and whole_octets:
        raise _Refusal(f"BIT STRING with {unused} unused bits where whole octets are expected", start)
    if data[end - 1] & ((1 << unused) - 1):
        raise _Refusal("BIT STRING with unused bits not zero", start)


def _check_time(data: bytes, number: int, pos: int, end: int, start: int, _: bool) -> None:
    """UTCTime YYMMDDHHMMSSZ, GeneralizedTime YYYYMMDDHHMMSS[.f]Z without trailing zeros (§11.7-8)."""
    text = data[pos:end]
    digits = 12 if number == 23 else 14
    stamp, fraction = text[:digits], text[digits:-1]
    good = len(stamp) == digits and text.endswith(b"Z") and _DIGITS.issuperset(stamp)
    if good and fraction:
        good = number == 24 and fraction[:1] == b"." and fraction[-1:] not in (b"0", b".")
        good = good and _DIGITS.issuperset(fraction[1:])
    if not good:
        raise _Refusal(f"{_name(number)} not in the DER form (seconds and Z required)", start)


_Check = Callable[[bytes, int, int, int, int, bool], None]  # data, number, contents start and end, start
_PRIMITIVE_CHECKS: dict[int, _Check] = {  # by identifier octet: universal class, primitive
    0x01: _check_boolean,
    0x02: _check_integer,
    0x03: _check_bit_string,
    0x05: _check_null,
    0x06: _check_oid,
    0x0A: _check_integer,
    0x0D: _check_oid,
    0x17: _check_time,
    0x18: _check_time,
    **{number: _check_primitive_form for number in _CONSTRUCTED_ONLY},
}


def check_bounds(
    data: bytes, *, what: str = "input", max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS
) -> None:
    """Raise :class:`InputError` unless ``data`` is one BER element whose structure stays in bounds.

    The walk a lenient parser (asn1crypto, cryptography's PKCS#12 reader) is given only after it:
    BER forms every reader accepts pass (indefinite lengths closed by end-of-contents, constructed
    strings, non-minimal lengths and tags), but a tag number longer than 4 octets, a length over 4
    octets or past its enclosing element, nesting deeper than ``max_depth``, more than
    ``max_elements`` elements or bytes after the outer element are refused in time linear in the
    input.  Without it, a run of 0xFF octets (an endless high-tag-number identifier) made
    asn1crypto's parse quadratic: seconds for a few tens of kilobytes.
    """
    try:
        _walk_bounds(bytes(data), max_depth, max_elements)
    except _Refusal as refusal:
        raise InputError(f"{what} is not a well-formed ASN.1 (BER) element: {refusal.message}",
                         where=f"byte {refusal.offset}") from None


def _walk_bounds(data: bytes, max_depth: int, max_elements: int) -> None:
    if not data:
        raise _Refusal("empty input", 0)
    ends: list[int] = []  # end of each open constructed element; -1 for an indefinite length
    limits: list[int] = []  # how far each open element's contents may reach
    pos, count = 0, 0
    while True:
        limit = limits[-1] if limits else len(data)
        if ends and ends[-1] == -1 and data[pos:pos + 2] == b"\0\0":  # end-of-contents
            pos += 2
            ends.pop()
            limits.pop()
        else:
            start = pos
            count += 1
            if count > max_elements:
                raise _Refusal(f"more than {max_elements} elements", start)
            first, _number, pos = _identifier_ber(data, pos, limit)
            length, pos = _length_ber(data, pos, limit, constructed=bool(first & 0x20))
            if length >= 0 and pos + length > limit:
                where = "its enclosing element" if limits else "the input"
                raise _Refusal(f"length {length} runs past the end of {where}", start)
            if first & 0x20:
                if len(ends) >= max_depth:
                    raise _Refusal(f"nested more than {max_depth} deep", start)
                ends.append(-1 if length < 0 else pos + length)
                limits.append(limit if length < 0 else pos + length)
            else:
                pos += length
        while ends and pos == ends[-1]:
            ends.pop()
            limits.pop()
        if not ends:
            break
        if pos >= limits[-1]:
            raise _Refusal("indefinite-length element without end-of-contents", pos)
    if pos != len(data):
        raise _Refusal(f"{len(data) - pos} bytes after the outer element", pos)


def _identifier_ber(data: bytes, pos: int, limit: int) -> tuple[int, int, int]:
    if pos >= limit:
        raise _Refusal("element header runs past the end of its enclosing element", pos)
    first = data[pos]
    if first & 0x1F != 0x1F:
        if first == 0:
            raise _Refusal("end-of-contents octets where an element was expected", pos)
        return first, first & 0x1F, pos + 1
    start, number, pos = pos, 0, pos + 1
    while True:
        if pos >= limit:
            raise _Refusal("tag number runs past the end of its enclosing element", start)
        if pos - start > 4:
            raise _Refusal("tag number too large (more than 4 octets)", start)
        octet = data[pos]
        number = (number << 7) | (octet & 0x7F)
        pos += 1
        if not octet & 0x80:
            return first, number, pos


def _length_ber(data: bytes, pos: int, limit: int, *, constructed: bool) -> tuple[int, int]:
    """(contents length or -1 for indefinite, position of the contents)."""
    if pos >= limit:
        raise _Refusal("length runs past the end of its enclosing element", pos)
    octet = data[pos]
    if octet < 0x80:
        return octet, pos + 1
    if octet == 0x80:
        if not constructed:
            raise _Refusal("indefinite length on a primitive element", pos)
        return -1, pos + 1
    count = octet & 0x7F
    if count > 4:
        raise _Refusal(f"length of {count} octets", pos)
    if pos + 1 + count > limit:
        raise _Refusal("length runs past the end of its enclosing element", pos)
    return int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count


_INTERNALS = ("ParseError", "asn1crypto.", "<class", "{", "Traceback")


def parser_reason(exc: BaseException) -> str:
    """A dependency's refusal in words a user can read: its first line, without the parser's
    internals (asn1crypto class paths, Rust ``ParseError { kind: ... }`` structures)."""
    text = str(exc).strip().split("\n")[0].strip()
    if not text or any(marker in text for marker in _INTERNALS):
        return "the encoding does not have the structure expected there"
    return text[:200]
