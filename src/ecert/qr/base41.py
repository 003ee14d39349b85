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

from ecert.qr.base45 import decode_with, encode_with

__all__ = ["ALPHABET", "b41decode", "b41encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+-./:"
assert len(ALPHABET) == 41 and 41**3 >= 1 << 16 and 41**2 >= 1 << 8


def b41encode(data: bytes) -> str:
    """Encode ``data`` as Base41 text: 3 characters for every 2 bytes (least significant first).

    :param data: any bytes.
    :returns: text over :data:`ALPHABET`.
    """
    return encode_with(ALPHABET, data)


def b41decode(text: str) -> bytes:
    """Decode Base41 text back to bytes.

    :param text: Base41 text (no prefix, no whitespace).
    :returns: the bytes it encodes.
    :raises InvalidQRPayload: for an impossible length, a character outside :data:`ALPHABET` or a
        group out of range, naming the position.
    """
    return decode_with(
        ALPHABET, text, name="Base41", outside="character outside the payload alphabet",
        expected="0-9, A-Z or + - . / :",
    )  # fmt: skip
