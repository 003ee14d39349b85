"""ZIP archives built by hand, record by record (struct-packed headers), for attacking ZIP readers.

``zipfile`` only writes well-formed archives; an attacker writes anything.  :func:`forge` lays out
local records, the central directory and the end record from :class:`Entry` values whose every
header field can be set apart from the others (local vs central), so that tests can make the two
disagree, overlap, leave gaps or carry records that no writer would produce.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

LOCAL = struct.Struct("<4sHHHHHLLLHH")
CENTRAL = struct.Struct("<4sBBHHHHHLLLHHHHHLL")
END = struct.Struct("<4sHHHHLLH")


def deflate(data: bytes, level: int = 6) -> bytes:
    """A raw deflate stream (no zlib header), as ZIP method 8 stores it."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@dataclass
class Entry:
    """One entry; ``local`` and ``central`` override the fields of either header by name:
    need, flags, method, crc, csize, usize, name, extra (and ``offset``, ``comment`` in the central)."""

    name: bytes
    data: bytes
    method: int = 8
    flags: int = 0
    payload: bytes | None = None  # the compressed bytes as stored (default: data, deflated if method 8)
    after: bytes = b""  # bytes after the payload (a data descriptor, garbage)
    local: dict[str, object] = field(default_factory=dict)
    central: dict[str, object] = field(default_factory=dict)

    def stored(self) -> bytes:
        if self.payload is not None:
            return self.payload
        return deflate(self.data) if self.method == 8 else self.data


def _fields(entry: Entry, payload: bytes) -> dict[str, object]:
    return {"need": 20, "flags": entry.flags, "method": entry.method, "crc": zlib.crc32(entry.data),
            "csize": len(payload), "usize": len(entry.data), "name": entry.name, "extra": b""}


def local_record(entry: Entry) -> bytes:
    payload = entry.stored()
    f = {**_fields(entry, payload), **entry.local}
    name, extra = bytes(f["name"]), bytes(f["extra"])  # type: ignore[call-overload]
    header = LOCAL.pack(b"PK\x03\x04", f["need"], f["flags"], f["method"], 0, 0x5C21, f["crc"], f["csize"],
                        f["usize"], len(name), len(extra))
    return header + name + extra + payload + entry.after


def central_record(entry: Entry, offset: int) -> bytes:
    payload = entry.stored()
    f = {**_fields(entry, payload), "offset": offset, "comment": b"", **entry.central}
    name, extra, comment = bytes(f["name"]), bytes(f["extra"]), bytes(f["comment"])  # type: ignore[call-overload]
    header = CENTRAL.pack(b"PK\x01\x02", 20, 3, f["need"], f["flags"], f["method"], 0, 0x5C21, f["crc"],
                          f["csize"], f["usize"], len(name), len(extra), len(comment), 0, 0, 0, f["offset"])
    return header + name + extra + comment


def end_record(count: int, cd_size: int, cd_offset: int, comment: bytes = b"", **over: int) -> bytes:
    f = {"disk": 0, "cd_disk": 0, "here": count, "total": count, "size": cd_size, "offset": cd_offset,
         "comment_len": len(comment), **over}
    return END.pack(b"PK\x05\x06", f["disk"], f["cd_disk"], f["here"], f["total"], f["size"], f["offset"],
                    f["comment_len"]) + comment


@dataclass
class Layout:
    """Where everything went: each local record's offset, the central directory's offset and size."""

    offsets: list[int]
    cd_offset: int
    cd_size: int


def layout(entries: list[Entry], *, prefix: bytes = b"", between: bytes = b"") -> tuple[bytes, Layout]:
    """The local records (after ``prefix``, ``between`` after each) and where each starts."""
    body = bytearray(prefix)
    offsets = []
    for entry in entries:
        offsets.append(len(body))
        body += local_record(entry) + between
    return bytes(body), Layout(offsets, len(body), 0)


def forge(entries: list[Entry], *, prefix: bytes = b"", between: bytes = b"", comment: bytes = b"",
          suffix: bytes = b"", central_order: list[int] | None = None, extra_central: bytes = b"",
          end: dict[str, int] | None = None, offsets_from_zero: bool = False) -> bytes:
    """A whole archive: local records, central directory (in ``central_order``), end record.

    Offsets in the central directory count from the start of the file, ``prefix`` included, unless
    ``offsets_from_zero`` (then they count as if the prefix were not there, as a self-extractor's)."""
    body, where = layout(entries, prefix=prefix, between=between)
    shift = len(prefix) if offsets_from_zero else 0
    order = range(len(entries)) if central_order is None else central_order
    cd = b"".join(central_record(entries[i], where.offsets[i] - shift) for i in order) + extra_central
    count = len(list(order)) + (extra_central.count(b"PK\x01\x02") if extra_central else 0)
    tail = end_record(count, len(cd), len(body) - shift, comment, **(end or {}))
    return body + cd + tail + suffix
