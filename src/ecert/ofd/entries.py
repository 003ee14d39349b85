"""The entries of an OFD package: which names are safe, and their bytes read from the ZIP.

Entry names and the locations the XML gives (``ST_Loc``, GB/T 33190-2016 §7.2 table 2) are package
paths: relative, ``/``-separated, never leaving the package root.  The ZIP comes from anyone, so
every limit of :class:`~ecert.ofd.limits.Limits` is enforced, while decompressing too, and the
container must be exactly the records its central directory lists (:mod:`ecert.ofd.zipcheck`).
"""

from __future__ import annotations

import functools
import re
import zipfile
import zlib
from io import BytesIO

from ecert.errors import EcertError, InvalidPackage, UnsafePackage
from ecert.ofd.limits import Limits
from ecert.ofd.zipcheck import UNREADABLE_FLAGS, check_layout

__all__ = ["check_entry_name", "read_entries", "resolve"]

_DRIVE = re.compile(r"^[A-Za-z]:")
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


# --- names (ST_Loc, GB/T 33190 §7.2 table 2) -------------------------------------------------


def check_entry_name(name: str, where: str = "ZIP entry") -> str:
    """Return ``name`` if it is a safe, relative package path; raise ``UnsafePackage`` otherwise."""
    if not isinstance(name, str):
        raise InvalidPackage("entry name must be text", where=where, value=repr(name)[:80])
    if not name:
        raise InvalidPackage("empty entry name", where=where)
    if "\x00" in name:
        raise UnsafePackage("entry name contains NUL", where=where, value=name)
    if "\\" in name:
        raise UnsafePackage("entry name contains a backslash", where=where, value=name,
                            expected="'/' separators")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafePackage("absolute entry name", where=where, value=name, expected="a relative path")
    if ".." in name.split("/"):
        raise UnsafePackage("entry name contains '..'", where=where, value=name)
    return name


_MEMO_LENGTH = 256  # locations and entry names up to this long are remembered (real ones: ~40)


def resolve(base_entry: str, loc: str) -> str:
    """Resolve an OFD location against the entry that names it.

    ``/Doc_0/Document.xml`` is absolute from the package root; ``Pages/Page_0/Content.xml``
    is relative to the folder of ``base_entry``.  ``.`` and ``..`` are normalised; a location
    that would leave the package, or has a backslash or NUL, raises ``UnsafePackage``.
    """
    if len(loc) <= _MEMO_LENGTH and len(base_entry) <= _MEMO_LENGTH:
        return _resolve_memo(base_entry, loc)
    return _resolve(base_entry, loc)


@functools.lru_cache(maxsize=2048)
def _resolve_memo(base_entry: str, loc: str) -> str:
    """:func:`_resolve`, remembered: a pure function of two short strings that every verification
    of a certificate file asks about the same twenty pairs (a refusal raises, and is not kept)."""
    return _resolve(base_entry, loc)


def _resolve(base_entry: str, loc: str) -> str:
    where = f"location {loc!r} in {base_entry}"
    text = loc.strip()
    if not text:
        raise InvalidPackage("empty location", where=where)
    if "\x00" in text or "\\" in text or _DRIVE.match(text) or "://" in text:
        raise UnsafePackage("location is not a package path", where=where, value=loc)
    if text.startswith("/"):
        parts: list[str] = []
    else:
        parts = base_entry.split("/")[:-1]
    for seg in text.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not parts:
                raise UnsafePackage("location escapes the package root", where=where, value=loc)
            parts.pop()
        else:
            parts.append(seg)
    if not parts:
        raise InvalidPackage("location names the package root", where=where, value=loc)
    return "/".join(parts)


# --- the ZIP ---------------------------------------------------------------------------------


def read_entries(data: bytes, limits: Limits) -> dict[str, bytes]:
    """Every file entry of the ZIP ``data`` by name, in archive order, held to ``limits``.

    The usual shape is read in one pass (:mod:`ecert.ofd.zipusual`); every other shape, and every
    archive to be refused, is read here with ``zipfile`` and the layout check."""
    from ecert.ofd.zipusual import read_usual  # it uses check_entry_name from here

    usual = read_usual(data, limits)
    if usual is not None:
        return usual
    try:
        zf = zipfile.ZipFile(BytesIO(data))
    except EcertError:
        raise
    except Exception as exc:  # zipfile raises many kinds (BadZipFile, struct.error, OSError...)
        raise InvalidPackage(f"not a readable ZIP archive: {exc}", where="package") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise UnsafePackage("too many entries", where="package", value=len(infos),
                                expected=f"<= {limits.max_entries}")
        seen: set[str] = set()
        declared_total = 0
        for info in infos:
            name, raw = info.filename, info.orig_filename  # zipfile cuts the name at a NUL
            check_entry_name(raw.rstrip("/") or raw, where=f"ZIP entry {raw!r}")
            if name in seen or name.rstrip("/") in seen:
                raise UnsafePackage("duplicate entry name", where=f"ZIP entry {name!r}")
            seen.add(name.rstrip("/"))
            if not info.is_dir():
                declared_total += info.file_size
                _check_declared(info, limits, declared_total, limits.total_for(len(data)))
        # zipfile trusts the central directory alone; the bytes the user holds must be exactly it
        data_starts = check_layout(data, zf)
        entries: dict[str, bytes] = {}
        for info in infos:
            if not info.is_dir():
                entries[info.filename] = _read_entry(data, data_starts[info.filename], info, limits)
        if sum(len(v) for v in entries.values()) > limits.total_for(len(data)):
            raise UnsafePackage("package too large when decompressed", where="package",
                                expected=f"<= {limits.total_for(len(data))} bytes")
    return entries


def _check_declared(info: zipfile.ZipInfo, limits: Limits, declared_total: int, allowed_total: int) -> None:
    where = f"ZIP entry {info.filename!r}"
    if info.flag_bits & UNREADABLE_FLAGS:
        raise UnsafePackage("entry flagged as encrypted, patched or masked", where=where,
                            value=f"flags {info.flag_bits:#06x}", expected="plain stored or deflated data")
    if info.compress_type not in _METHODS:
        raise InvalidPackage("unsupported compression method", where=where, value=info.compress_type,
                             expected="stored (0) or deflate (8)")
    if info.file_size > limits.max_entry_size:
        raise UnsafePackage("entry too large", where=where, value=info.file_size,
                            expected=f"<= {limits.max_entry_size} bytes")
    if declared_total > allowed_total:
        raise UnsafePackage("package too large when decompressed", where=where,
                            expected=f"<= {allowed_total} bytes")
    if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise UnsafePackage("compression ratio too high (zip bomb?)", where=where,
                            value=f"{info.file_size}/{info.compress_size}",
                            expected=f"<= {limits.max_ratio}:1")


_MAX_STRAY = 64  # WPS and 安证通 leave a few bytes after the deflate stream's end


def _harmless_tail(info: zipfile.ZipInfo, stray: bytes) -> bool:
    """A few stray bytes after the deflate stream, inside the entry's compressed size (WPS, 安证通 write
    them; zipfile, unzip and every OFD reader open such files).  Harmless when the local header gives
    the sizes (no data descriptor, flag bit 3): every reader then skips to the declared end, and none
    looks for a record in them; refused when a streaming reader would look there, when they could
    hold a record signature, or when there are more than a few."""
    return not info.flag_bits & 0x0008 and len(stray) <= _MAX_STRAY and b"PK" not in stray


def _read_entry(data: bytes, start: int, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """Inflate the exact compressed span the layout check found.  Unlike ``zipfile``, a deflate stream
    must end exactly where the entry does: bytes after its end (or a stream that never ends) are bytes
    no signature covers, where a streaming reader that finds the end itself could see another record."""
    where = f"ZIP entry {info.filename!r}"
    allowed = min(info.file_size, limits.max_entry_size)
    ratio_cap = max(limits.ratio_floor, limits.max_ratio * max(info.compress_size, 1))
    raw = memoryview(data)[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(raw)
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            out = inflater.decompress(raw, min(allowed, ratio_cap) + 1)  # bounded: never expands a bomb
        except zlib.error as exc:
            raise InvalidPackage(f"cannot decompress entry: {exc}", where=where) from None
        if len(out) > allowed:
            raise UnsafePackage("entry holds more data than declared", where=where,
                                expected=f"{info.file_size} bytes")
        if len(out) > ratio_cap:
            raise UnsafePackage("compression ratio too high (zip bomb?)", where=where)
        if not inflater.eof:
            raise InvalidPackage("compressed data does not end within the entry", where=where,
                                 expected="a complete deflate stream")
        stray = inflater.unused_data
        if stray and not _harmless_tail(info, stray):
            raise UnsafePackage(f"{len(stray)} bytes after the end of the compressed data",
                                where=where, expected="the deflate stream to fill the entry")
    if len(out) != info.file_size:
        raise InvalidPackage("entry size differs from the declared size", where=where, value=len(out),
                             expected=f"{info.file_size} bytes")
    crc = zlib.crc32(out)
    if crc != info.CRC:
        raise InvalidPackage("CRC-32 differs from the declared one", where=where, value=f"{crc:#010x}",
                             expected=f"{info.CRC:#010x}")
    return out
