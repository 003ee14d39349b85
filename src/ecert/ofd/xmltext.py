"""XML written as text: character data and attribute values escaped as libxml2 (lxml) escapes them.

The parts ``package()`` writes on every certificate (a page's ~120 elements, the signature's
references) cost more through lxml's element tree than through string joins; written here, they are
the same bytes lxml serialises for the same elements, which the tests check against lxml itself.
Characters XML 1.0 cannot carry are refused (lxml raised a bare ``ValueError`` for them).
"""

from __future__ import annotations

import re

from ecert.errors import InputError

__all__ = ["attribute", "text"]

# what is not an XML 1.0 Char (§2.2), as ecert.ofd.model spells it
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# libxml2 escapes markup and a carriage return in text (a parser would turn a raw one into a newline)
_TEXT_SPECIAL = re.compile("[&<>\r]")
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
# in an attribute value also the quote and the whitespace a parser would normalise to spaces (§3.3.3)
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\r\n\t]')
_ATTRIBUTE_ESCAPES = {**_TEXT_ESCAPES, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}


def _check(value: str, where: str) -> None:
    found = _NOT_XML.search(value)
    if found is not None:
        raise InputError("character not allowed in XML", where=where, value=repr(value[:60]),
                         expected=f"no {found.group()!r} (XML 1.0 §2.2)")


def text(value: str, where: str = "XML text") -> str:
    """``value`` as character data."""
    if _TEXT_SPECIAL.search(value) is None:
        if not (value.isascii() and value.isprintable()):
            _check(value, where)
        return value
    _check(value, where)
    return _TEXT_SPECIAL.sub(lambda m: _TEXT_ESCAPES[m.group()], value)


def attribute(value: str, where: str = "XML attribute") -> str:
    """``value`` as the content of a double-quoted attribute value."""
    if _ATTRIBUTE_SPECIAL.search(value) is None:
        if not (value.isascii() and value.isprintable()):
            _check(value, where)
        return value
    _check(value, where)
    return _ATTRIBUTE_SPECIAL.sub(lambda m: _ATTRIBUTE_ESCAPES[m.group()], value)
