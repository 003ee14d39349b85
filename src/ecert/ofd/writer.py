"""Write OFD packages (GB/T 33190-2016) deterministically.

Same input, same bytes: entries in a fixed order, DEFLATE, a fixed timestamp, XML serialised
by lxml with an XML declaration in UTF-8.  :func:`replace_entries` and :func:`add_entries`
derive new package bytes from an existing package (to add signatures, §18).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping

from lxml import etree

from ecert.errors import InvalidPackage
from ecert.ofd.limits import DEFAULT_LIMITS, Limits
from ecert.ofd.reader import OFDPackage, check_entry_name

__all__ = ["ZIP_TIMESTAMP", "add_entries", "build_zip", "replace_entries", "xml_bytes"]

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ZIP_TIMESTAMP = (2000, 1, 1, 0, 0, 0)  # fixed so that output is reproducible


def xml_bytes(root: etree._Element) -> bytes:
    """Stable serialisation of an XML part: declaration, UTF-8, no pretty printing."""
    return XML_DECLARATION + etree.tostring(root, xml_declaration=False, encoding="UTF-8")


def build_zip(entries: Iterable[tuple[str, bytes]],
              timestamp: tuple[int, int, int, int, int, int] = ZIP_TIMESTAMP) -> bytes:
    """A ZIP of ``entries`` in the given order, DEFLATE, fixed timestamp and attributes."""
    buf = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            check_entry_name(name)
            if name in seen:
                raise InvalidPackage("duplicate entry name", where="package being written", value=name)
            seen.add(name)
            info = zipfile.ZipInfo(name, timestamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def replace_entries(package: bytes | OFDPackage, changes: Mapping[str, bytes], *,
                    limits: Limits = DEFAULT_LIMITS) -> bytes:
    """New package bytes: entries named in ``changes`` replaced in place, new ones appended.

    Entries not named keep their exact bytes (signatures over them stay valid).
    """
    pkg = package if isinstance(package, OFDPackage) else OFDPackage.open(package, limits)
    out = [(name, changes.get(name, data)) for name, data in pkg.entries.items()]
    out += [(name, data) for name, data in changes.items() if name not in pkg.entries]
    return build_zip(out)


def add_entries(package: bytes | OFDPackage, new: Mapping[str, bytes], *,
                limits: Limits = DEFAULT_LIMITS) -> bytes:
    """New package bytes with ``new`` entries appended; refuses to overwrite an existing entry."""
    pkg = package if isinstance(package, OFDPackage) else OFDPackage.open(package, limits)
    clash = sorted(set(new) & set(pkg.entries))
    if clash:
        raise InvalidPackage("entry already exists", where="package", value=clash[0])
    return replace_entries(pkg, new)
