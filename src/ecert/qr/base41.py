"""Base41: bytes as text that a shell, a URL and a QR alphanumeric segment all take as it is.

Offline payloads are typed by USB scanners into terminals and pasted into shells, unquoted.
Base45 (RFC 9285) uses the whole QR alphanumeric set, whose space, ``$`` and ``*`` a shell splits,
expands or globs.  Base41 keeps RFC 9285's construction (two bytes → three characters, one last
byte → two) over the 41 characters of that set that no common shell (sh, bash, zsh, fish, cmd,
PowerShell) treats specially: ``0-9 A-Z + - . / :``.  ``41**3 = 68921 >= 65536``, so the text is
exactly as long as Base45's and still in alphanumeric mode (5.5 bits a character).  Dropped from
the QR set: space, ``$``, ``%`` (cmd's ``%VAR%`` and URLs' escapes) and ``*`` (spec/qr.md).
"""

from __future__ import annotations

from ecert.errors import InvalidQRPayload

__all__ = ["ALPHABET", "b41decode", "b41encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+-./:"
_BASE = len(ALPHABET)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
assert _BASE == 41 and _BASE**3 >= 1 << 16 and _BASE**2 >= 1 << 8


def b41encode(data: bytes) -> str:
    """Encode ``data`` as Base41 text: 3 characters for every 2 bytes (least significant first).

    :param data: any bytes.
    :returns: text over :data:`ALPHABET`.
    """
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, rest = n % _BASE, n // _BASE
        d, e = rest % _BASE, rest // _BASE
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        n = data[-1]
        out += (ALPHABET[n % _BASE], ALPHABET[n // _BASE])
    return "".join(out)


def b41decode(text: str) -> bytes:
    """Decode Base41 text back to bytes.

    :param text: Base41 text (no prefix, no whitespace).
    :returns: the bytes it encodes.
    :raises InvalidQRPayload: for an impossible length, a character outside :data:`ALPHABET` or a
        group out of range, naming the position.
    """
    if len(text) % 3 == 1:
        raise InvalidQRPayload(
            "Base41 text has an impossible length",
            value=len(text),
            expected="a length that is not 1 more than a multiple of 3",
        )
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = text[i : i + 3]
        n = 0
        for j, ch in enumerate(chunk):
            v = _VALUE.get(ch)
            if v is None:
                raise InvalidQRPayload(
                    "character outside the payload alphabet",
                    where=f"position {i + j + 1}",
                    value=ch,
                    expected="0-9, A-Z or + - . / :",
                )
            n += v * _BASE**j
        if len(chunk) == 3:
            if n > 0xFFFF:
                raise InvalidQRPayload("Base41 triple out of range", where=f"position {i + 1}", value=chunk)
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise InvalidQRPayload("Base41 pair out of range", where=f"position {i + 1}", value=chunk)
            out.append(n)
    return bytes(out)
