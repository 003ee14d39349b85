"""The DER walk with its usual header read inline decides as the walk that read every header by a call.

``der._walk`` reads the usual header (one-octet tag, short length) inline and keeps the innermost
element's end and SET OF order state in locals.  The walk it replaced is kept here, as it was, to
hold the new one to the same verdict (accepted, or refused with the same message at the same
offset) on real DER (a CMS SignedData, a certificate) and on every single-byte change of them.
"""

from __future__ import annotations

import functools

import pytest

from ecert.crypto import der
from ecert.crypto.cms_parse import _SET_OF_PATHS
from ecert.crypto.der import _CONSTRUCTED_ONLY, _PRIMITIVE_CHECKS, _header, _name, _Refusal, _Rules
from tests.certs import signer


def _previous_walk(data: bytes, rules: _Rules) -> None:
    """``der._walk`` before the inline header (ecert 32d1993), verbatim but for the order check."""
    if not data:
        raise _Refusal("empty input", 0)
    sorted_paths, path_ends, max_depth = rules.sorted_paths, rules.path_ends, rules.max_depth
    ends: list[int] = []
    tags: list[int] = []
    previous: list[int] = []
    pos, limit, count = 0, len(data), 0
    while True:
        start = pos
        count += 1
        if count > rules.max_elements:
            raise _Refusal(f"more than {rules.max_elements} elements", start)
        first, number, length, pos = _header(data, pos, limit)
        end = pos + length
        if end > limit:
            where = "its enclosing element" if ends else "the input"
            raise _Refusal(f"length {length} runs past the end of {where}", start)
        if previous and previous[-1] != -2:
            before = previous[-1]
            if before >= 0 and data[before:start] > data[start:end]:
                raise _Refusal("SET OF elements not in ascending order of their encodings", start)
            previous[-1] = start
        if first & 0x20:
            if first < 0x40 and number not in _CONSTRUCTED_ONLY:
                raise _Refusal(f"constructed {_name(number)} (DER encodes it primitive)", start)
            if len(ends) >= max_depth:
                raise _Refusal(f"nested more than {max_depth} deep", start)
            ends.append(end)
            tags.append(first)
            in_order = first == 0x31 or (first in path_ends and tuple(tags) in sorted_paths)
            previous.append(-1 if in_order else -2)
            limit = end
        else:
            check = _PRIMITIVE_CHECKS.get(first)
            if check is not None:
                check(data, number, pos, end, start, rules.whole_octets)
            pos = end
        while ends and pos == ends[-1]:
            ends.pop()
            tags.pop()
            previous.pop()
        if not ends:
            break
        limit = ends[-1]
    if pos != len(data):
        raise _Refusal(f"{len(data) - pos} bytes after the outer element", pos)


def _verdict(walk: object, data: bytes, rules: _Rules) -> tuple[str, int] | None:
    try:
        walk(data, rules)  # type: ignore[operator]
    except _Refusal as refusal:
        return refusal.message, refusal.offset
    return None


_CMS_RULES = _Rules(_SET_OF_PATHS, frozenset(p[-1] for p in _SET_OF_PATHS), der.MAX_DEPTH, der.MAX_ELEMENTS,
                    True)
_PLAIN_RULES = _Rules((), frozenset(), 8, 400, False)  # tight bounds, so that changes reach them


@functools.cache
def _samples() -> dict[str, bytes]:
    from ecert.crypto.cms import sign_cms

    s = signer("sm2")
    return {"CMS": sign_cms(b"<ofd:Signature/>", s), "certificate": s.certificate.der}


def _agree(data: bytes) -> None:
    for rules in (_CMS_RULES, _PLAIN_RULES):
        assert _verdict(der._walk, data, rules) == _verdict(_previous_walk, data, rules)


@pytest.mark.parametrize("name", ["CMS", "certificate"])
def test_real_der_is_accepted_alike(name: str) -> None:
    data = _samples()[name]
    assert _verdict(der._walk, data, _CMS_RULES) is None
    _agree(data)


@pytest.mark.parametrize("name", ["CMS", "certificate"])
def test_every_single_byte_change_is_decided_alike(name: str) -> None:
    data = _samples()[name]
    for at in range(len(data)):
        for new in {data[at] ^ 0x01, data[at] ^ 0x80, 0x00, 0xFF, 0x1F, 0x81} - {data[at]}:
            _agree(data[:at] + bytes([new]) + data[at + 1:])


@pytest.mark.parametrize("name", ["CMS", "certificate"])
def test_truncations_and_additions_are_decided_alike(name: str) -> None:
    data = _samples()[name]
    for cut in range(len(data) + 1):
        _agree(data[:cut])
    for tail in (b"\0", b"\x05\x00", b"\x30\x00"):
        _agree(data + tail)
