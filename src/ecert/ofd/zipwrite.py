"""Writing a ZIP archive of small entries in one pass: the same bytes ``zipfile`` writes, without its
per-entry machinery.

Every certificate ``package()`` writes is a ZIP of 13 small files.  Through ``zipfile`` (a ``ZipInfo``
and a compressor object per entry, a header written, sought back to and rewritten) the archive cost
about three SM2 signatures; here each entry is one ``zlib.compress`` call and two packed headers.
The records are exactly those ``zipfile.ZipFile.writestr`` writes to a seekable buffer for a
``ZipInfo`` with a fixed timestamp and ``create_system`` 0 (no data descriptor, no extra field, no
zip64), which ``tests/test_ofd_zipwrite.py`` checks byte for byte, and
the strict reader (:mod:`ecert.ofd.zipcheck`) accepts.  Layer 2: no ecert imports but errors.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from datetime import datetime

from ecert.errors import InputError, InvalidPackage

__all__ = ["DEFLATE_LEVEL", "zip_bytes"]

#: The DEFLATE level of every entry.  A certificate's files are a few KB each, where building each
#: block's Huffman tables costs more than the match search: level 9 takes no measurably longer than
#: 6 or 1 (about 1.6x a bare SM2 signature for the 13 entries) and is 2.7% smaller than level 1
#: (benchmarks/bench_zip.py).
DEFLATE_LEVEL = 9

# APPNOTE 4.3.7 local file header: signature, version needed (2.0, byte + reserved byte), flags,
# method, time, date, crc-32, compressed size, uncompressed size, name length, extra length
_LOCAL = struct.Struct("<4s2B4HL2L2H")
# APPNOTE 4.3.12 central directory header: signature, version made by, host system, version needed,
# reserved, flags, method, time, date, crc-32, sizes, name / extra / comment lengths, disk, internal
# and external attributes, offset of the local header
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
# APPNOTE 4.3.16 end of central directory record
_END = struct.Struct("<4s4H2LH")
_VERSION = 20  # 2.0: DEFLATE (APPNOTE 4.4.3.2)
_DEFLATED = 8
_UTF8_NAME = 0x0800  # APPNOTE 4.4.4 bit 11: the name is UTF-8
_LIMIT = 0xFFFFFFFF  # beyond this a size or an offset needs zip64, which an OFD certificate never does
_MAX_ENTRIES = 0xFFFF
_MAX_NAME = 0xFFFF  # the name length is two bytes in both headers
# external attributes: zipfile writes Unix permissions rw------- for an entry given none (and so did
# every certificate ecert wrote through it); kept so the archive's bytes did not change
_EXTERNAL_ATTR = 0o600 << 16


def _dos_time(timestamp: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    """(MS-DOS time, MS-DOS date) as APPNOTE 4.4.6 packs them (two-second resolution).  Fields out of
    their range would spill into their neighbours' bits (month 13 is another date, hour 32 overflows)."""
    try:
        year, month, day, hour, minute, second = timestamp
        datetime(year, month, day, hour, minute, second)
    except (TypeError, ValueError):
        raise InvalidPackage("ZIP timestamp is not a date and time", where="package being written",
                             value=repr(timestamp),
                             expected="(year, month, day, hour, minute, second)") from None
    if not 1980 <= year <= 2107:
        raise InvalidPackage("ZIP timestamp out of range", where="package being written", value=year,
                             expected="a year from 1980 to 2107 (MS-DOS date)")
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def zip_bytes(entries: Iterable[tuple[str, bytes]], timestamp: tuple[int, int, int, int, int, int],
              level: int = DEFLATE_LEVEL) -> bytes:
    """A ZIP of ``entries`` in the given order, each DEFLATE-compressed at ``level``, all stamped
    ``timestamp``.  Names are taken as given (the caller checks them); sizes beyond ZIP's 4 GiB
    limits raise :class:`~ecert.errors.InvalidPackage`."""
    dos_time, dos_date = _dos_time(timestamp)
    parts: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, data in entries:
        if not isinstance(data, bytes | bytearray):
            raise InputError("ZIP entry data must be bytes", where=f"ZIP entry {name[:80]!r}",
                             value=type(data).__name__)
        try:
            raw_name, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            raw_name, flags = name.encode("utf-8"), _UTF8_NAME
        if len(raw_name) > _MAX_NAME:
            raise InvalidPackage("ZIP entry name too long for its header",
                                 where=f"ZIP entry {name[:80]!r}...", value=len(raw_name),
                                 expected=f"<= {_MAX_NAME} bytes")
        packed = zlib.compress(data, level, -15)
        crc, size, packed_size = zlib.crc32(data), len(data), len(packed)
        if size >= _LIMIT or packed_size >= _LIMIT or offset >= _LIMIT:
            raise InvalidPackage("entry too large for a ZIP without zip64", where=name, value=size,
                                 expected=f"< {_LIMIT} bytes")
        header = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, flags, _DEFLATED, dos_time, dos_date, crc,
                             packed_size, size, len(raw_name), 0)
        parts += (header, raw_name, packed)
        central += (
            _CENTRAL.pack(b"PK\x01\x02", _VERSION, 0, _VERSION, 0, flags, _DEFLATED, dos_time, dos_date,
                          crc, packed_size, size, len(raw_name), 0, 0, 0, 0, _EXTERNAL_ATTR, offset),
            raw_name,
        )
        offset += len(header) + len(raw_name) + packed_size
    count = len(central) // 2
    directory = b"".join(central)
    if count > _MAX_ENTRIES or offset + len(directory) >= _LIMIT:
        raise InvalidPackage("too many entries for a ZIP without zip64", where="package being written",
                             value=count, expected=f"<= {_MAX_ENTRIES} entries, < 4 GiB")
    parts += (directory, _END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0))
    return b"".join(parts)
