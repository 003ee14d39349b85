"""The usual shape of an OFD's ZIP read in one pass; every other shape is left to the general reader.

:func:`ecert.ofd.entries.read_entries` opens a package with ``zipfile``, checks the layout against what
it parsed (:mod:`ecert.ofd.zipcheck`) and inflates each entry: three walks and a ``ZipInfo`` per entry,
a third of the time a certificate file takes to open.  The files ecert writes, and most others, have
one shape: local records back to back from offset 0 in central-directory order, sizes in the local
headers (no data descriptor), no extra fields, ASCII names, no zip64, no directory entries, the end
record last with no comment.  :func:`read_usual` reads that shape straight from the bytes, holding it
to the same rules and limits, and returns ``None`` for anything else, including anything the general
reader would refuse: that reader then decides, and says why.  So this reader only ever accepts what
the general one accepts, with the same entries (``tests/test_zip_lean.py`` holds it to that on real
files and on every single-byte change of them).
"""

from __future__ import annotations

import struct
import zlib

from ecert.errors import EcertError
from ecert.ofd.entries import check_entry_name
from ecert.ofd.limits import Limits
from ecert.ofd.zipcheck import UNREADABLE_FLAGS

__all__ = ["read_usual"]

_END = struct.Struct("<4sHHHHLLH")  # the end of central directory record, 22 bytes
# signature, made by (2 bytes), version needed, reserved, flags, method, time, date, crc, compressed,
# uncompressed, name length, extra length, comment length, disk, internal and external attributes, offset
_CENTRAL = struct.Struct("<4s2sBBHHHHLLLHHHHHLL")
_LOCAL = struct.Struct("<4sHHHHHLLLHH")
_END_SIG = b"PK\x05\x06"
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL_SIG = b"PK\x03\x04"
_LOCATOR_SIG = b"PK\x06\x07"
_MAX_VERSION = 63  # zipfile refuses a higher "version needed to extract"
_U32 = 0xFFFFFFFF
_DESCRIPTOR = 0x0008
_UTF8_NAME = 0x0800
_MEANINGFUL_FLAGS = 0x0001 | _DESCRIPTOR | _UTF8_NAME  # as zipcheck compares local and central flags
_UNUSUAL_FLAGS = UNREADABLE_FLAGS | _DESCRIPTOR
_METHODS = (0, 8)  # stored, deflated


def read_usual(data: bytes, limits: Limits) -> dict[str, bytes] | None:
    """Every entry by name in archive order when ``data`` has the usual shape and passes every check
    of the general reader; ``None`` otherwise (the general reader then decides)."""
    try:
        return _read(data, limits)
    except (EcertError, struct.error, zlib.error, UnicodeDecodeError, ValueError, IndexError):
        return None


def _read(data: bytes, limits: Limits) -> dict[str, bytes] | None:
    size = len(data)
    end = size - _END.size
    if end < 0 or data[end:end + 4] != _END_SIG or data[-2:] != b"\0\0":
        return None  # an archive comment, or no end record where zipfile looks first
    if end >= 20 and data[end - 20:end - 16] == _LOCATOR_SIG:
        return None  # zip64
    _sig, disk, cd_disk, here, count, cd_size, cd_offset, _comment = _END.unpack_from(data, end)
    if disk or cd_disk or here != count or count > limits.max_entries or cd_offset + cd_size != end:
        return None
    allowed_total = limits.total_for(size)
    # first the central directory alone, every declared size held to the limits (as the general
    # reader does before it inflates anything: a bomb is refused before any of it is inflated)
    records: list[tuple[str, bytes, int, int, int, int, int, int]] = []
    names: set[str] = set()
    declared_total = 0
    pos = cd_offset
    for _ in range(count):
        if pos + _CENTRAL.size > end:
            return None
        (sig, _made, need, _reserved, flags, method, _time, _date, crc, csize, usize, name_len, extra_len,
         comment_len, _disk, _internal, _external, offset) = _CENTRAL.unpack_from(data, pos)
        if (sig != _CENTRAL_SIG or need > _MAX_VERSION or extra_len or flags & _UNUSUAL_FLAGS
                or method not in _METHODS or csize == _U32 or usize == _U32):
            return None
        name_start = pos + _CENTRAL.size
        raw_name = data[name_start:name_start + name_len]
        pos = name_start + name_len + comment_len
        if not raw_name.isascii() or raw_name.endswith(b"/") or b"\x00" in raw_name:
            return None
        name = check_entry_name(raw_name.decode("ascii"), where="ZIP entry")
        if name in names:
            return None
        names.add(name)
        declared_total += usize
        if (usize > limits.max_entry_size or declared_total > allowed_total
                or (usize > limits.ratio_floor and usize > limits.max_ratio * max(csize, 1))):
            return None
        records.append((name, raw_name, flags, method, crc, csize, usize, offset))
    if pos != end:
        return None
    # then each local record, back to back from offset 0 in the same order; then the data (as the
    # general reader checks the whole layout before it inflates anything)
    starts: list[int] = []
    local_pos = 0  # where the next local record must start
    for _name, raw_name, flags, method, crc, csize, usize, offset in records:
        if offset != local_pos:
            return None
        # the same flags, method, sizes, CRC and name as the central directory, no extra field
        (lsig, _lneed, lflags, lmethod, _lt, _ld, lcrc, lcsize, lusize, lname_len,
         lextra_len) = _LOCAL.unpack_from(data, offset)
        differing = (lflags ^ flags) & _MEANINGFUL_FLAGS
        if (lsig != _LOCAL_SIG or lflags & UNREADABLE_FLAGS or differing not in (0, _UTF8_NAME)
                or lmethod != method or (lcrc, lcsize, lusize) != (crc, csize, usize) or lextra_len
                or lname_len != len(raw_name)):
            return None
        start = offset + _LOCAL.size + lname_len
        if data[offset + _LOCAL.size:start] != raw_name:
            return None
        starts.append(start)
        local_pos = start + csize
    if local_pos != cd_offset:
        return None
    entries: dict[str, bytes] = {}
    for (name, _raw, _flags, method, crc, csize, usize, _offset), start in zip(records, starts, strict=True):
        out = _inflate(data, start, csize, usize, method, limits)
        if out is None or zlib.crc32(out) != crc:
            return None
        entries[name] = out
    if sum(map(len, entries.values())) > allowed_total:
        return None
    return entries


def _inflate(data: bytes, start: int, csize: int, usize: int, method: int, limits: Limits) -> bytes | None:
    """The entry's bytes, when they are exactly ``usize`` bytes filling the compressed span; else None."""
    raw = memoryview(data)[start:start + csize]
    if method == 0:
        out = bytes(raw)
    else:
        allowed = min(usize, limits.max_entry_size)
        ratio_cap = max(limits.ratio_floor, limits.max_ratio * max(csize, 1))
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        out = inflater.decompress(raw, min(allowed, ratio_cap) + 1)  # bounded: never expands a bomb
        if len(out) > allowed or len(out) > ratio_cap or not inflater.eof or inflater.unused_data:
            return None
    return out if len(out) == usize else None
