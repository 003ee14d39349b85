"""QR Code symbols (ISO/IEC 18004:2015) at error-correction level M for numeric and alphanumeric text.

Offline payloads (spec/qr.md) are alphanumeric, and every certificate ``package()`` writes carries
one.  Choosing the mask pattern means scoring eight full symbols; zxing-cpp does that in about
0.9 ms for a version-12 payload, the largest single cost of packaging after the signatures.  Here a
symbol is one Python integer (bit ``row * (side + 1) + column`` set for a dark module, a light
guard column at the end of each row) and every penalty rule is a handful of shifts, ANDs and bit
counts over the whole symbol at once, so scoring the eight masks costs a few hundred integer
operations; Reed-Solomon remainders are shifted through per-generator tables the same way.

The mask is the one the ``qrcode`` package (a test dependency) chooses: its four penalty rules as
ISO/IEC 18004 §7.8.3 states them, scored with the format and version information and the dark
module still light, ties to the lower mask.  ``tests/test_qr_encode.py`` checks symbols against
``qrcode`` module by module, and zxing-cpp reads them back.  Text outside the alphanumeric set
(byte mode, ECI) is zxing-cpp's (:mod:`ecert.qr.image`).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from ecert.errors import InvalidQRPayload

__all__ = ["ALPHANUMERIC", "encodable", "symbol_bits"]

ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"  # ISO/IEC 18004 Table 5
_ALNUM_VALUE = {c: i for i, c in enumerate(ALPHANUMERIC)}
_ALNUM_TEXT = re.compile("[0-9A-Z $%*+\\-./:]+")
_NUMERIC, _ALNUM = 0b0001, 0b0010  # mode indicators (Table 2)
# ISO/IEC 18004 Table 9, level M, versions 1-40: (EC codewords per block, blocks in group 1, data
# codewords in each, blocks in group 2 with one data codeword more)
_BLOCKS_M = (
    (10, 1, 16, 0), (16, 1, 28, 0), (26, 1, 44, 0), (18, 2, 32, 0), (24, 2, 43, 0), (16, 4, 27, 0),
    (18, 4, 31, 0), (22, 2, 38, 2), (22, 3, 36, 2), (26, 4, 43, 1), (30, 1, 50, 4), (22, 6, 36, 2),
    (22, 8, 37, 1), (24, 4, 40, 5), (24, 5, 41, 5), (28, 7, 45, 3), (28, 10, 46, 1), (26, 9, 43, 4),
    (26, 3, 44, 11), (26, 3, 41, 13), (26, 17, 42, 0), (28, 17, 46, 0), (28, 4, 47, 14), (28, 6, 45, 14),
    (28, 8, 47, 13), (28, 19, 46, 4), (28, 22, 45, 3), (28, 3, 45, 23), (28, 21, 45, 7), (28, 19, 47, 10),
    (28, 2, 46, 29), (28, 10, 46, 23), (28, 14, 46, 21), (28, 14, 46, 23), (28, 12, 47, 26),
    (28, 6, 47, 34), (28, 29, 46, 14), (28, 13, 46, 32), (28, 40, 47, 7), (28, 18, 47, 31),
)
# Annex E Table E.1: row/column coordinates of alignment pattern centres, versions 2-40
_ALIGNMENT = (
    (), (6, 18), (6, 22), (6, 26), (6, 30), (6, 34), (6, 22, 38), (6, 24, 42), (6, 26, 46), (6, 28, 50),
    (6, 30, 54), (6, 32, 58), (6, 34, 62), (6, 26, 46, 66), (6, 26, 48, 70), (6, 26, 50, 74),
    (6, 30, 54, 78), (6, 30, 56, 82), (6, 30, 58, 86), (6, 34, 62, 90), (6, 28, 50, 72, 94),
    (6, 26, 50, 74, 98), (6, 30, 54, 78, 102), (6, 28, 54, 80, 106), (6, 32, 58, 84, 110),
    (6, 30, 58, 86, 114), (6, 34, 62, 90, 118), (6, 26, 50, 74, 98, 122), (6, 30, 54, 78, 102, 126),
    (6, 26, 52, 78, 104, 130), (6, 30, 56, 82, 108, 134), (6, 34, 60, 86, 112, 138),
    (6, 30, 58, 86, 114, 142), (6, 34, 62, 90, 118, 146), (6, 30, 54, 78, 102, 126, 150),
    (6, 24, 50, 76, 102, 128, 154), (6, 28, 54, 80, 106, 132, 158), (6, 32, 58, 84, 110, 136, 162),
    (6, 26, 54, 82, 110, 138, 166), (6, 30, 58, 86, 114, 142, 170),
)
# §7.8.2 Table 10: module (i row, j column) inverted when the condition holds
_MASKS: tuple[Callable[[int, int], bool], ...] = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)
_EC_M = 0b00  # error correction level indicator of M in the format information (Table 12)


def encodable(text: str) -> bool:
    """Whether ``text`` is non-empty and all in the alphanumeric set (numeric is a subset)."""
    return _ALNUM_TEXT.fullmatch(text) is not None


def _count_bits(mode: int, version: int) -> int:
    """Length of the character count indicator (Table 3)."""
    band = 0 if version <= 9 else 1 if version <= 26 else 2
    return (10, 12, 14)[band] if mode == _NUMERIC else (9, 11, 13)[band]


def _segment(text: str) -> tuple[int, int, int]:
    """(mode, data bits as an integer, their count) of ``text`` in numeric or alphanumeric mode (§7.4.3-4)."""
    value, length = 0, 0
    if text.isdigit() and text.isascii():
        for i in range(0, len(text), 3):
            group = text[i:i + 3]
            width = (4, 7, 10)[len(group) - 1]
            value, length = value << width | int(group), length + width
        return _NUMERIC, value, length
    codes = [_ALNUM_VALUE[c] for c in text]
    for i in range(0, len(codes) - 1, 2):
        value = value << 11 | codes[i] * 45 + codes[i + 1]
    length = len(codes) // 2 * 11
    if len(codes) % 2:
        value, length = value << 6 | codes[-1], length + 6
    return _ALNUM, value, length


def _data_codewords(version: int) -> int:
    _ecc, n1, d1, n2 = _BLOCKS_M[version - 1]
    return n1 * d1 + n2 * (d1 + 1)


def _codewords(text: str, min_version: int = 1) -> tuple[int, bytes]:
    """(version, data codewords) of the smallest version >= ``min_version`` that holds ``text``."""
    mode, value, length = _segment(text)
    for version in range(min_version, 41):
        count = _count_bits(mode, version)
        capacity = _data_codewords(version) * 8
        used = 4 + count + length
        if used > capacity or len(text) >= 1 << count:
            continue
        bits = (mode << count | len(text)) << length | value
        pad = min(4, capacity - used)  # terminator (§7.4.9), then zeros to a whole codeword
        bits, used = bits << pad, used + pad
        bits, used = bits << (-used % 8), used + (-used % 8)
        data = bits.to_bytes(used // 8, "big")
        fill = (capacity - used) // 8
        return version, data + (b"\xec\x11" * (fill // 2 + 1))[:fill]
    raise InvalidQRPayload("text too long for a QR symbol at level M", value=f"{len(text)} characters",
                           expected="at most 3,391 alphanumeric or 5,596 numeric characters (version 40-M)")


# --- Reed-Solomon (§7.5.2): GF(256) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 ----------------

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _EXP[_i + 255] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D


def _mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@functools.lru_cache(maxsize=16)
def _generator_rows(degree: int) -> tuple[int, ...]:
    """For each byte f: f times the generator polynomial's coefficients (the leading 1 left out),
    packed big-endian into one integer, so one step of the division is a shift and an XOR."""
    poly = [1]
    for i in range(degree):  # (x - a^0)(x - a^1)...(x - a^(degree-1))
        poly = [a ^ _mul(b, _EXP[i]) for a, b in zip([*poly, 0], [0, *poly], strict=True)]
    tail = poly[1:]
    return tuple(int.from_bytes(bytes(_mul(f, c) for c in tail), "big") for f in range(256))


def _remainder(data: bytes, degree: int) -> bytes:
    """The ``degree`` error correction codewords of one block."""
    rows = _generator_rows(degree)
    top, mask = 8 * (degree - 1), (1 << 8 * degree) - 1
    rem = 0
    for byte in data:
        rem = (rem << 8 & mask) ^ rows[(rem >> top) ^ byte]
    return rem.to_bytes(degree, "big")


def _interleaved(version: int, data: bytes) -> bytes:
    """Data and error correction codewords of every block, interleaved (§7.6): column by column,
    the longer blocks of group 2 giving the last data column alone."""
    ecc, n1, d1, n2 = _BLOCKS_M[version - 1]
    cut = n1 * d1
    blocks = [data[i * d1:(i + 1) * d1] for i in range(n1)]
    blocks += [data[cut + i * (d1 + 1):cut + (i + 1) * (d1 + 1)] for i in range(n2)]
    out = b"".join(map(bytes, zip(*blocks, strict=False)))  # group 2 blocks are one longer
    if n2:
        out += bytes(block[-1] for block in blocks[n1:])
    checks = [_remainder(block, ecc) for block in blocks]
    return out + b"".join(map(bytes, zip(*checks, strict=True)))


# --- the grid of one version -------------------------------------------------------------------


def _bch(value: int, generator: int, width: int) -> int:
    """``value`` followed by its BCH remainder over ``generator`` (``width`` check bits)."""
    rem = value << width
    top = generator.bit_length() - 1
    while rem.bit_length() > width:
        rem ^= generator << (rem.bit_length() - 1 - top)
    return value << width | rem


@dataclass(frozen=True, slots=True)
class _Grid:
    """What is fixed for one version: function patterns, where data bits go, the masks, the format."""

    side: int
    stride: int
    valid: int  # every module
    base: int  # the dark modules of finder, separator, timing and alignment patterns
    place: Callable[[bytes], tuple[int, ...]]  # data bit string -> the symbol's digits, high bit first
    data_modules: int  # codeword bits and remainder bits (§7.7.3 Table 1)
    masks: tuple[int, ...]  # each mask over the data modules
    formats: tuple[int, ...]  # for each mask: format information, version information, dark module


def _function_modules(version: int) -> tuple[dict[tuple[int, int], bool], list[tuple[int, int]]]:
    """(every function module -> dark?, with format, version and dark module counted light) and the
    format information's module of each bit (both copies, bit 0 first: §7.9.1 Figure 25)."""
    n = 17 + 4 * version
    fixed: dict[tuple[int, int], bool] = {}
    for r0, c0 in ((0, 0), (0, n - 7), (n - 7, 0)):  # finders (§6.3.3) and their separators
        for r in range(-1, 8):
            for c in range(-1, 8):
                if 0 <= r0 + r < n and 0 <= c0 + c < n:
                    ring = max(abs(r - 3), abs(c - 3))
                    fixed[(r0 + r, c0 + c)] = ring in (0, 1, 3)
    for i in range(8, n - 8):  # timing patterns (§6.3.5)
        fixed[(6, i)] = fixed[(i, 6)] = i % 2 == 0
    centres = _ALIGNMENT[version - 1]
    last = n - 7
    for r0 in centres:  # alignment patterns (§6.3.6), not over a finder
        for c0 in centres:
            if (r0, c0) in ((6, 6), (6, last), (last, 6)):
                continue
            for r in range(-2, 3):
                for c in range(-2, 3):
                    fixed[(r0 + r, c0 + c)] = max(abs(r), abs(c)) != 1
    format_at: list[tuple[int, int]] = []
    for i in range(15):
        format_at.append((i, 8) if i < 6 else (i + 1, 8) if i < 8 else (n - 15 + i, 8))
    for i in range(15):
        format_at.append((8, n - i - 1) if i < 8 else (8, 15 - i) if i < 9 else (8, 14 - i))
    for at in format_at:
        fixed[at] = False
    fixed[(n - 8, 8)] = False  # the dark module (§7.9.1), light while masks are scored
    if version >= 7:  # version information (§7.10)
        for i in range(18):
            fixed[(i // 3, i % 3 + n - 11)] = fixed[(i % 3 + n - 11, i // 3)] = False
    return fixed, format_at


def _data_order(n: int, fixed: dict[tuple[int, int], bool]) -> list[tuple[int, int]]:
    """The data modules in placement order: two columns at a time from the right, up then down,
    skipping the vertical timing column (§7.7.3)."""
    order: list[tuple[int, int]] = []
    upward, col = True, n - 1
    while col > 0:
        if col == 6:
            col -= 1
        for row in range(n - 1, -1, -1) if upward else range(n):
            order.extend((row, c) for c in (col, col - 1) if (row, c) not in fixed)
        upward, col = not upward, col - 2
    return order


@functools.lru_cache(maxsize=40)
def _grid(version: int) -> _Grid:
    n = 17 + 4 * version
    stride = n + 1
    fixed, format_at = _function_modules(version)
    order = _data_order(n, fixed)

    def bit(r: int, c: int) -> int:
        return 1 << (r * stride + c)

    size = n * stride
    # string position p holds the digit of bit (size - 1 - p); data bit k is string position k of the
    # data, and a module with no data bit reads the "0" appended after them
    source = [len(order)] * size
    for k, (r, c) in enumerate(order):
        source[size - 1 - (r * stride + c)] = k
    valid = sum(bit(r, c) for r in range(n) for c in range(n))
    base = sum(bit(r, c) for (r, c), dark in fixed.items() if dark)
    masks = tuple(sum(bit(r, c) for r, c in order if test(r, c)) for test in _MASKS)
    extra = bit(n - 8, 8)
    if version >= 7:
        info = _bch(version, 0x1F25, 12)
        for i in range(18):
            if info >> i & 1:
                extra |= bit(i // 3, i % 3 + n - 11) | bit(i % 3 + n - 11, i // 3)
    formats = []
    for mask in range(8):
        info = _bch(_EC_M << 3 | mask, 0x537, 10) ^ 0x5412
        formats.append(extra | sum(bit(*format_at[i]) for i in range(30) if info >> (i % 15) & 1))
    return _Grid(n, stride, valid, base, operator.itemgetter(*source), len(order), masks, tuple(formats))


# --- choosing the mask (§7.8.3), scored as qrcode scores it ---------------------------------------


def _runs(x: int, step: int) -> int:
    """Rule 1 over one colour in one direction: a run of L >= 5 modules scores L - 2."""
    five = x & x >> step & x >> 2 * step & x >> 3 * step & x >> 4 * step
    return five.bit_count() + 2 * (five & ~(five << step)).bit_count()


def _finder_like(dark: int, light: int, step: int) -> int:
    """Rule 3 in one direction: 1011101 with four light modules after it, or before it."""
    d = [dark >> k * step for k in range(11)]
    li = [light >> k * step for k in range(11)]
    core = li[1] & d[4] & li[5] & d[6] & li[9]
    after = core & d[0] & d[2] & d[3] & li[7] & li[8] & li[10]
    before = core & li[0] & li[2] & li[3] & d[7] & d[8] & d[10]
    return after.bit_count() + before.bit_count()


def _penalty(dark: int, grid: _Grid) -> int:
    light = grid.valid ^ dark  # the guard column and what lies beyond the symbol are neither
    s = grid.stride
    score = 0
    for x in (dark, light):
        score += _runs(x, 1) + _runs(x, s)
        score += 3 * (x & x >> 1 & x >> s & x >> (s + 1)).bit_count()  # rule 2: 2x2 blocks
    score += 40 * (_finder_like(dark, light, 1) + _finder_like(dark, light, s))
    percent = dark.bit_count() / grid.side**2  # rule 4: 10 per whole 5% away from half dark
    return score + int(abs(percent * 100 - 50) / 5) * 10


def symbol_bits(text: str, min_version: int = 1) -> tuple[int, int, int]:
    """(side, row stride, the symbol as an integer: bit ``row * stride + column`` set when dark) of
    the smallest symbol at level M for numeric or alphanumeric ``text`` (see :func:`encodable`).

    :raises InvalidQRPayload: when ``text`` is not encodable or needs more than version 40.
    """
    if not encodable(text):
        raise InvalidQRPayload("text is not numeric or alphanumeric", value=repr(text[:40]),
                               expected=f"non-empty text of {ALPHANUMERIC!r}")
    version, data = _codewords(text, min_version)
    grid = _grid(version)
    codewords = _interleaved(version, data)
    bits = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b").encode("ascii")
    placed = int(bytes(grid.place(bits.ljust(grid.data_modules + 1, b"0"))), 2)  # remainder bits are 0
    scored = [(_penalty(grid.base | (placed ^ m), grid), i) for i, m in enumerate(grid.masks)]
    _score, best = min(scored)
    return grid.side, grid.stride, grid.base | (placed ^ grid.masks[best]) | grid.formats[best]
