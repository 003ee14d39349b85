"""Strict layout check of an OFD's ZIP container: every byte belongs to a record the central directory lists.

``zipfile`` reads only the central directory and forgives the rest: bytes before the archive (it shifts
every offset), bytes after the end record, local records nobody lists, data in directory entries.  A
streaming reader (one that walks local headers from offset 0) would show those bytes, so a verifier
reporting on what ``zipfile`` read would report on an archive that is not the one the user holds.

The only shape accepted is ``[local record]... [central directory] [zip64 end records]? [end record +
comment]`` with no gap and no overlap, where each local record is its 30-byte header, the name and extra
field (lengths from the *local* header), the compressed data and, when flag bit 3 is set, a data
descriptor matching the central directory.  Local headers must agree with the central directory on
what changes how their bytes are read (flags, method, sizes), so a streaming reader sees the same files.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Sequence
from typing import Any

from ecert.errors import InvalidPackage, UnsafePackage

__all__ = ["check_layout"]

_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIG = b"PK\x01\x02"
_END_SIG = b"PK\x05\x06"
_END64_SIG = b"PK\x06\x06"
_LOCATOR_SIG = b"PK\x06\x07"
_DD_SIG = 0x08074B50

# signature, version needed, flags, method, time, date, crc, compressed, uncompressed, name len, extra len
_LOCAL = struct.Struct("<4sHHHHHLLLHH")
# signature, disk, disk of the central directory, entries here, entries, size, offset, comment length
_END = struct.Struct("<4sHHHHLLH")
# signature, record size, made by, needed, disk, disk of the central directory, entries here, entries,
# size, offset (zipfile assumes no extensible data: the record is exactly 56 bytes)
_END64 = struct.Struct("<4sQHHLLQQQQ")
# signature, disk of the zip64 end record, its offset, number of disks
_LOCATOR = struct.Struct("<4sLQL")
_CENTRAL_FIXED = 46
_COMMENT_SEARCH = 1 << 16  # how far back zipfile looks for the end record
_ZIP64_TAG = 0x0001
# Info-ZIP Unicode Path extra field: readers that honour it (Info-ZIP unzip, 7-Zip, libarchive) show
# the name it carries instead of the header's, which zipfile reads; an unsigned rename
_UNICODE_PATH_TAG = 0x7075
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF

# flag bits that change how a local record's bytes are read: encrypted, data descriptor, UTF-8 name
_MEANINGFUL_FLAGS = 0x0001 | 0x0008 | 0x0800
_UTF8_NAME = 0x0800
# flag bits saying an entry cannot be read as plain data (APPNOTE 4.4.4): 0 encrypted, 5 compressed
# patched data, 6 strong encryption, 13 local header values masked.  zipfile and other readers refuse
# them: what one reader cannot read, a verifier does not call valid.
UNREADABLE_FLAGS = 0x0001 | 0x0020 | 0x0040 | 0x2000
# data descriptor forms, the usual first: (length, with signature, 8-byte sizes)
_DESCRIPTORS = ((16, True, False), (12, False, False), (24, True, True), (20, False, True))
_EMPTY_DEFLATE = b"\x03\x00"  # what a deflater emits for no input (Python writes it for directories)


def _where(offset: int) -> str:
    return f"byte offset {offset}"


def _unpack(fmt: struct.Struct, data: bytes, offset: int, what: str) -> tuple[Any, ...]:
    """``fmt.unpack_from`` checked against the buffer: a short read is an ``InvalidPackage``."""
    if offset < 0 or offset + fmt.size > len(data):
        raise InvalidPackage(f"truncated {what}", where=_where(offset),
                             expected=f"{fmt.size} bytes, {max(len(data) - max(offset, 0), 0)} left")
    return fmt.unpack_from(data, offset)


def _bytes(count: int) -> str:
    return f"{count} byte" if count == 1 else f"{count} bytes"


def _declared(info: zipfile.ZipInfo) -> str:
    return f"crc {info.CRC:#x} sizes {info.compress_size}/{info.file_size}"


def _end_record_offset(data: bytes) -> int:
    """Where ``zipfile`` found the end record: the same search, so both judge the same record."""
    if len(data) >= _END.size and data[-_END.size:-_END.size + 4] == _END_SIG and data[-2:] == b"\0\0":
        return len(data) - _END.size
    found = data.rfind(_END_SIG, max(len(data) - _COMMENT_SEARCH - _END.size, 0))
    if found < 0:
        raise InvalidPackage("no end of central directory record", where="package")
    return found


def _central_end(data: bytes, end: int, count: int) -> tuple[int, int, int]:
    """Check the end record(s); return (central directory offset, its size, where it must end)."""
    _sig, disk, cd_disk, here, total, size, offset, comment_len = _unpack(_END, data, end,
                                                                          "end of central directory record")
    after = len(data) - end - _END.size
    if comment_len != after:
        if comment_len < after:
            raise UnsafePackage(f"{_bytes(after - comment_len)} after the end of central directory record",
                                where=_where(end + _END.size + comment_len),
                                expected="nothing after its comment")
        raise InvalidPackage("archive comment runs past the end of the file", where=_where(end),
                             value=comment_len, expected=f"<= {after} bytes")
    stop = end
    if end >= _LOCATOR.size and data[end - _LOCATOR.size:end - _LOCATOR.size + 4] == _LOCATOR_SIG:
        locator = end - _LOCATOR.size
        _sig, disk64, at64, disks = _unpack(_LOCATOR, data, locator, "zip64 end of central directory locator")
        end64 = locator - _END64.size
        if disk64 != 0 or disks > 1:
            raise InvalidPackage("multi-disk archive", where=_where(locator), expected="one disk")
        fields = _unpack(_END64, data, end64, "zip64 end of central directory record")
        sig64, rec_size, _made, _need, d64, cd_d64, here64, total64, size64, offset64 = fields
        if sig64 != _END64_SIG or at64 != end64 or rec_size != _END64.size - 12:
            raise InvalidPackage("zip64 end of central directory record is not right before its locator",
                                 where=_where(locator), value=at64, expected=f"a 56-byte record at {end64}")
        pairs = (("disk", disk, d64, _U16), ("central directory disk", cd_disk, cd_d64, _U16),
                 ("entries on this disk", here, here64, _U16), ("entries", total, total64, _U16),
                 ("central directory size", size, size64, _U32),
                 ("central directory offset", offset, offset64, _U32))
        for name, short, wide, sentinel in pairs:
            if short not in (wide, sentinel):
                raise InvalidPackage(f"end record and zip64 end record disagree on the {name}",
                                     where=_where(end), value=short, expected=f"{wide} or {sentinel:#x}")
        disk, cd_disk, here, total, size, offset, stop = d64, cd_d64, here64, total64, size64, offset64, end64
    if disk != 0 or cd_disk != 0:
        raise InvalidPackage("multi-disk archive", where=_where(end), expected="one disk")
    if here != count or total != count:
        raise InvalidPackage("end record's entry count differs from the central directory",
                             where=_where(end), value=total, expected=f"{count} entries")
    return int(offset), int(size), stop


def _check_central(data: bytes, start: int, size: int, stop: int, count: int) -> None:
    """The central directory fills exactly [start, stop): ``count`` records, nothing between or after."""
    if start + size != stop:
        raise InvalidPackage("central directory size does not reach the end records", where=_where(start),
                             value=size, expected=f"{stop - start} bytes")
    pos = start
    for _ in range(count):
        if pos + _CENTRAL_FIXED > stop or data[pos:pos + 4] != _CENTRAL_SIG:
            raise InvalidPackage("central directory record expected", where=_where(pos))
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        pos += _CENTRAL_FIXED + name_len + extra_len + comment_len
    if pos != stop:
        raise InvalidPackage("central directory records do not fill its declared size", where=_where(pos),
                             value=pos - start, expected=f"{size} bytes")


def _zip64_local_sizes(extra: bytes, need_usize: bool, need_csize: bool) -> tuple[int | None, int | None]:
    """Sizes from a local zip64 extra block (present only for the fields set to 0xFFFFFFFF)."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + length]
        if tag == _ZIP64_TAG:
            values = [int.from_bytes(body[i:i + 8], "little") for i in range(0, len(body) - 7, 8)]
            usize = values.pop(0) if need_usize and values else None
            csize = values.pop(0) if need_csize and values else None
            return usize, csize
        pos += 4 + length
    return None, None


def _check_extra(extra: bytes, where: str) -> None:
    """No extra field that names the entry otherwise than its header (a Unicode Path field)."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == _UNICODE_PATH_TAG:
            raise UnsafePackage("Unicode Path extra field: other readers would show another entry name",
                                where=where, value=extra[pos + 4:pos + 4 + length][5:],
                                expected="the name in the header only")
        pos += 4 + length


def _local_record(data: bytes, info: zipfile.ZipInfo, offset: int, next_offset: int) -> tuple[int, int]:
    """Check the local record of ``info`` at ``offset``; return where its data starts and where the record
    ends (``next_offset``: where the next record starts)."""
    where = f"ZIP entry {info.filename!r} at {_where(offset)}"
    fields = _unpack(_LOCAL, data, offset, f"local file header of {info.filename!r}")
    sig, _need, flags, method, _t, _d, crc, csize, usize, name_len, extra_len = fields
    if sig != _LOCAL_SIG:
        raise InvalidPackage("no local file header where the central directory says", where=where,
                             value=bytes(sig), expected=repr(_LOCAL_SIG))
    for bits, which in ((flags, "local file header"), (info.flag_bits, "central directory")):
        if bits & UNREADABLE_FLAGS:
            raise UnsafePackage(f"{which} flags the entry as not readable as plain data (encrypted, "
                                "patched or masked)", where=where, value=f"flags {bits:#06x}",
                                expected=f"none of the bits {UNREADABLE_FLAGS:#06x}")
    differing = (flags ^ info.flag_bits) & _MEANINGFUL_FLAGS
    name_start = offset + _LOCAL.size
    raw_name = data[name_start:name_start + name_len]
    if differing == _UTF8_NAME and raw_name.isascii():
        differing = 0  # an ASCII name reads the same either way (Suwell writes the flag in one header)
    if differing or method != info.compress_type:
        raise UnsafePackage("local file header disagrees with the central directory", where=where,
                            value=f"flags {flags:#06x} method {method}",
                            expected=f"flags {info.flag_bits:#06x} method {info.compress_type}")
    try:
        local_name = raw_name.decode("utf-8" if flags & 0x0800 else "cp437")
    except UnicodeDecodeError:
        local_name = None
    if local_name != info.orig_filename:
        raise UnsafePackage("local file header names another file than the central directory", where=where,
                            value=raw_name, expected=repr(info.orig_filename))
    data_start: int = name_start + name_len + extra_len
    _check_extra(info.extra, where)
    _check_extra(data[data_start - extra_len:data_start], where)
    data_end = data_start + info.compress_size
    if data_end > len(data):
        raise InvalidPackage("entry data runs past the end of the file", where=where,
                             value=info.compress_size, expected=f"<= {max(len(data) - data_start, 0)} bytes")
    if flags & 0x0008:
        ok = (crc in (0, info.CRC) and csize in (0, _U32, info.compress_size)
              and usize in (0, _U32, info.file_size))
        if not ok:
            raise UnsafePackage("local file header disagrees with the central directory",
                                where=where, value=f"crc {crc:#x} sizes {csize}/{usize}",
                                expected=f"0 or {_declared(info)}")
        return data_start, data_end + _descriptor_length(data, info, data_end, next_offset)
    if usize == _U32 or csize == _U32:
        z_usize, z_csize = _zip64_local_sizes(data[data_start - extra_len:data_start],
                                               usize == _U32, csize == _U32)
        usize = usize if z_usize is None else z_usize
        csize = csize if z_csize is None else z_csize
    if crc != info.CRC or csize != info.compress_size or usize != info.file_size:
        raise UnsafePackage("local file header disagrees with the central directory", where=where,
                            value=f"crc {crc:#x} sizes {csize}/{usize}",
                            expected=_declared(info))
    return data_start, data_end


def _descriptor_length(data: bytes, info: zipfile.ZipInfo, offset: int, next_offset: int) -> int:
    """Length of the data descriptor at ``offset`` (12/16 bytes, zip64 20/24) matching the central
    directory.  Zero sizes read the same in the short and the wide forms, so the form ending where the
    next record starts wins; otherwise the first that matches, and the leftover shows as a gap."""
    matches = []
    for length, signed, wide in _DESCRIPTORS:
        if offset + length > len(data):
            continue
        pos = offset
        if signed:
            if int.from_bytes(data[pos:pos + 4], "little") != _DD_SIG:
                continue
            pos += 4
        crc, csize, usize = struct.unpack_from("<LQQ" if wide else "<LLL", data, pos)
        if (crc, csize, usize) == (info.CRC, info.compress_size, info.file_size):
            if offset + length == next_offset:
                return length
            matches.append(length)
    if matches:
        return matches[0]
    raise InvalidPackage("no data descriptor matching the central directory after the entry data",
                         where=f"ZIP entry {info.filename!r} at {_where(offset)}",
                         expected=_declared(info))


def _check_gap(data: bytes, pos: int, next_offset: int, before: str) -> None:
    """Nothing may sit between two records; say what is there."""
    if next_offset == pos:
        return
    if next_offset < pos:
        raise UnsafePackage(f"{before} overlaps the previous local file record", where=_where(next_offset),
                            expected=f"to start at {pos}")
    size = _bytes(next_offset - pos)
    if data[pos:pos + 4] == _LOCAL_SIG:
        raise UnsafePackage("local file record not listed in the central directory", where=_where(pos),
                            value=f"{size} up to {before}")
    if pos == 0:
        raise UnsafePackage(f"{size} before the first local file header", where=_where(0),
                            expected="the archive to start at offset 0")
    raise UnsafePackage(f"{size} listed nowhere, before {before}", where=_where(pos))


def _check_directory(data: bytes, info: zipfile.ZipInfo, offset: int) -> None:
    """A directory entry holds nothing (a deflated empty stream at most, as Python writes one)."""
    if info.file_size == 0 and info.compress_size == 0:
        return
    if info.file_size == 0 and info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size == 2:
        name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
        start = offset + _LOCAL.size + name_len + extra_len
        if data[start:start + 2] == _EMPTY_DEFLATE:
            return
    raise UnsafePackage(f"directory entry {info.filename!r} carries data", where=_where(offset),
                        value=f"{info.compress_size} bytes ({info.file_size} uncompressed)",
                        expected="an empty entry")


def check_layout(data: bytes, zf: zipfile.ZipFile) -> dict[str, int]:
    """Raise ``InvalidPackage``/``UnsafePackage`` unless ``data`` is exactly the records of ``zf``; return
    where each entry's compressed data starts (it is ``compress_size`` bytes long).

    Uses what ``zipfile`` parsed (entry offsets and sizes, the central directory's position) and reads
    only the fixed headers; ``zf`` must have been opened on ``data``.
    """
    try:
        return _check_layout(data, zf.infolist(), zf.start_dir)
    except (struct.error, IndexError, OverflowError) as exc:  # a bound missed: still a bad package
        raise InvalidPackage(f"unreadable ZIP structure: {exc}", where="package") from None


def _check_layout(data: bytes, infos: Sequence[zipfile.ZipInfo], start_dir: int) -> dict[str, int]:
    end = _end_record_offset(data)
    cd_offset, cd_size, stop = _central_end(data, end, len(infos))
    pos = 0
    starts_of_data: dict[str, int] = {}
    ordered = sorted(infos, key=lambda i: i.header_offset)
    starts = [i.header_offset for i in ordered[1:]] + [start_dir]
    for index, info in enumerate(ordered):
        offset = info.header_offset
        if index and offset == ordered[index - 1].header_offset:
            raise UnsafePackage("two central directory entries name the same local file record",
                                where=_where(offset), value=info.filename)
        _check_gap(data, pos, offset, f"local file record of {info.filename!r}")
        starts_of_data[info.filename], pos = _local_record(data, info, offset, starts[index])
        if info.filename.endswith("/"):
            _check_directory(data, info, offset)
    _check_gap(data, pos, start_dir, "the central directory")
    if cd_offset != start_dir:
        raise UnsafePackage("end record places the central directory elsewhere", where=_where(start_dir),
                            value=cd_offset, expected=f"offset {start_dir}")
    _check_central(data, start_dir, cd_size, stop, len(infos))
    return starts_of_data
