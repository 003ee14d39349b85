"""E-certificate identifier (电子证照标识, GB/T 36904).

Text form (STANDARDS.md §3)::

    1.2.156.3005.2 . <type code, 21> . <issuer code, 18> . <serial> . <version, 3 digits> . <check>

* type code: the 18-character unified social credit code (GB 32100) of the authority that defines
  the certificate type, then a 3-digit sequence 001-999 (STANDARDS.md §4).  Every real type code we
  know passes the GB 32100 checksum (all those of STANDARDS.md §3 were checked), so it is enforced.
* issuer code: the issuing authority's unified social credit code, checksum enforced.  A real
  sharing system writes a 6-digit administrative division code (GB/T 2260, e.g. ``340100``) there
  instead, with a correct check character (``interop/identifiers.txt``); both are accepted, also
  when parsing strictly, and :attr:`Identifier.issuer_code_kind` says which one an identifier has.
* serial: 1-64 upper-case letters and digits, defined by the issuer.
* version: 001-999, incremented on re-issue.
* check: ISO/IEC 7064 MOD 37,36 over type code + issuer code + serial + version, without the root
  and without dots.

Positions in errors are 0-based indexes into the identifier's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ecert.codes import division, uscc
from ecert.codes.iso7064 import MOD_37_36_ALPHABET, mod_37_36_calc_check
from ecert.errors import InvalidCode, InvalidIdentifier

__all__ = ["FIELDS", "ROOT", "Identifier", "IssuerCodeKind"]

#: The e-certificate root code (GB/T 36904; STANDARDS.md §3).  ``1.2.156.3003.2`` is a known typo.
ROOT = "1.2.156.3005.2"
SEPARATOR = "."
#: The dot-separated fields after the root, in order.
FIELDS = ("type_code", "issuer_code", "serial", "version", "check")

TYPE_CODE_LENGTH = uscc.LENGTH + 3
SERIAL_MAX_LENGTH = 64
VERSION_MIN, VERSION_MAX = 1, 999
_CHARS = frozenset(MOD_37_36_ALPHABET)
_QUOTE_LIMIT = 200

IssuerCodeKind = Literal["uscc", "division"]


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTE_LIMIT else text[:_QUOTE_LIMIT] + "…"


def _error(message: str, value: str, field: str, position: int, expected: str) -> InvalidIdentifier:
    return InvalidIdentifier(message, value=_quote(value), field=field, position=position, expected=expected)


def _text(*fields: object) -> str:
    """The text form of possibly bad fields, so that error positions index it."""
    shown = (f"{f:03d}" if isinstance(f, int) and not isinstance(f, bool) else str(f) for f in fields)
    return SEPARATOR.join((ROOT, *shown))


def _require_str(item: object, field: str, value: str, offset: int) -> str:
    if not isinstance(item, str):
        raise _error(f"{field} must be text", value, field, offset, "a str")
    return item


def _check_chars(text: str, field: str, value: str, offset: int) -> None:
    for index, char in enumerate(text):
        if char not in _CHARS:
            raise _error(
                f"character {char!r} not allowed in the {field}",
                value,
                field,
                offset + index,
                "upper-case letters A-Z and digits 0-9",
            )


def _embedded(code: str, scheme: str, field: str, value: str, offset: int) -> None:
    """Validate an embedded USCC or division code, re-raising its error as InvalidIdentifier."""
    try:
        if scheme == "uscc":
            uscc.validate(code)
        else:
            division.validate(code)
    except InvalidCode as exc:
        position = offset + (exc.position if exc.position is not None else 0)
        raise _error(f"{field}: {exc.message}", value, field, position, exc.expected or "") from exc


def _check_type_code(type_code: str, value: str, offset: int) -> None:
    if len(type_code) != TYPE_CODE_LENGTH:
        raise _error(
            "type code has the wrong length",
            value,
            "type_code",
            offset + min(len(type_code), TYPE_CODE_LENGTH),
            f"{TYPE_CODE_LENGTH} characters: the defining authority's USCC and 3 digits",
        )
    _check_chars(type_code, "type_code", value, offset)
    _embedded(type_code[: uscc.LENGTH], "uscc", "type_code", value, offset)
    sequence = type_code[uscc.LENGTH :]
    if not sequence.isdigit() or sequence == "000":
        raise _error(
            "type code must end in a 3-digit sequence 001-999",
            value,
            "type_code",
            offset + uscc.LENGTH,
            "3 digits 001-999",
        )


def _check_issuer_code(issuer_code: str, value: str, offset: int) -> None:
    _check_chars(issuer_code, "issuer_code", value, offset)
    if len(issuer_code) == uscc.LENGTH:
        _embedded(issuer_code, "uscc", "issuer_code", value, offset)
    elif len(issuer_code) == division.LENGTH:
        _embedded(issuer_code, "division", "issuer_code", value, offset)
    else:
        raise _error(
            "issuer code has the wrong length",
            value,
            "issuer_code",
            offset + min(len(issuer_code), uscc.LENGTH),
            "an 18-character unified social credit code (or a 6-digit division code)",
        )


def _check_serial(serial: str, value: str, offset: int) -> None:
    if not 1 <= len(serial) <= SERIAL_MAX_LENGTH:
        raise _error(
            "serial has the wrong length",
            value,
            "serial",
            offset + min(len(serial), SERIAL_MAX_LENGTH),
            f"1 to {SERIAL_MAX_LENGTH} characters",
        )
    _check_chars(serial, "serial", value, offset)


def _check_version(version: object, value: str, offset: int) -> int:
    if isinstance(version, str):
        if len(version) != 3 or not version.isascii() or not version.isdigit():
            raise _error("version must be 3 digits", value, "version", offset, "3 digits 001-999")
        number = int(version)
    elif isinstance(version, int) and not isinstance(version, bool):
        number = version
    else:
        raise _error("version must be an int", value, "version", offset, "an int 1-999")
    if not VERSION_MIN <= number <= VERSION_MAX:
        raise _error(f"version {number} out of range", value, "version", offset, "001-999")
    return number


def _check_check(check: str, value: str, offset: int) -> None:
    if len(check) != 1 or check not in _CHARS:
        raise _error(
            "check character must be one letter or digit",
            value,
            "check",
            offset,
            "one character 0-9 or A-Z (ISO/IEC 7064 MOD 37,36)",
        )


def _check_fields(
    type_code: object,
    issuer_code: object,
    serial: object,
    version: object,
    check: object,
    value: str,
    *,
    with_check: bool = True,
) -> int:
    """Raise :class:`InvalidIdentifier` for the first bad field in text order; return the version.

    ``with_check=False`` skips the check character, for :meth:`Identifier.build` which computes it;
    otherwise it must be there (``None`` is refused like any other non-text).
    """
    offset = len(ROOT) + 1
    type_text = _require_str(type_code, "type_code", value, offset)
    _check_type_code(type_text, value, offset)
    offset += len(type_text) + 1
    issuer_text = _require_str(issuer_code, "issuer_code", value, offset)
    _check_issuer_code(issuer_text, value, offset)
    offset += len(issuer_text) + 1
    serial_text = _require_str(serial, "serial", value, offset)
    _check_serial(serial_text, value, offset)
    offset += len(serial_text) + 1
    number = _check_version(version, value, offset)
    offset += 4
    if with_check:
        _check_check(_require_str(check, "check", value, offset), value, offset)
    return number


@dataclass(frozen=True, slots=True)
class Identifier:
    """An e-certificate identifier (GB/T 36904) whose fields are all well formed.

    Only the check character may disagree with the body, for an identifier parsed with
    ``strict=False``; :attr:`check_ok` and :attr:`expected_check` say so.
    """

    type_code: str
    issuer_code: str
    serial: str
    version: int
    check: str

    def __post_init__(self) -> None:
        fields = (self.type_code, self.issuer_code, self.serial, self.version, self.check)
        number = _check_fields(*fields, _text(*fields))
        # a version given as text ("001", as parsed) is kept as the int the other methods format
        object.__setattr__(self, "version", number)

    @classmethod
    def parse(cls, text: str, strict: bool = True) -> Identifier:
        """Parse the dotted text form (GB/T 36904).

        ``strict=True`` also requires the check character to match (ISO/IEC 7064 MOD 37,36);
        ``strict=False`` accepts a wrong one (such identifiers circulate, STANDARDS.md §3) and the
        result reports ``check_ok == False``.  Structural errors are refused in both modes.

        :param text: the identifier, e.g. ``1.2.156.3005.2.11100000MB0143028R001.11330100MB01234570.….001.3``.
        :param strict: also require the check character to match.
        :returns: the parsed identifier.
        :raises InvalidIdentifier: naming the part that is wrong and what was expected.
        """
        if not isinstance(text, str):
            raise InvalidIdentifier("identifier must be text", value=type(text).__name__, expected="a str")
        prefix = ROOT + SEPARATOR
        if not text.startswith(prefix):
            pairs = zip(text, prefix, strict=False)
            position = next((i for i, (got, want) in enumerate(pairs) if got != want), len(text))
            raise _error("identifier does not start with the root code", text, "root", position, repr(prefix))
        parts = text[len(prefix) :].split(SEPARATOR)
        if len(parts) < len(FIELDS):
            missing = FIELDS[len(parts)]
            raise _error(
                f"{missing} missing",
                text,
                missing,
                len(text),
                "5 dot-separated fields after the root: type code, issuer code, serial, version, check",
            )
        if len(parts) > len(FIELDS):
            position = len(prefix) + len(parts[0]) + len(parts[1]) + len(parts[2]) + 2
            raise _error("serial contains '.'", text, "serial", position, "letters and digits only")
        type_code, issuer_code, serial, version_text, check = parts
        # the constructor checks every field once, with positions in the same text (the parts
        # joined again are ``text``); checking them here as well did the work twice
        identifier = cls(type_code, issuer_code, serial, version_text, check)  # type: ignore[arg-type]
        if strict and not identifier.check_ok:
            raise _error(
                "check character does not match",
                text,
                "check",
                len(text) - 1,
                f"check character {identifier.expected_check!r} (ISO/IEC 7064 MOD 37,36)",
            )
        return identifier

    @classmethod
    def build(cls, type_code: str, issuer_code: str, serial: str, version: int = 1) -> Identifier:
        """A new identifier from its fields, with the check character computed.

        :param type_code: the 证照类型代码 (21 characters).
        :param issuer_code: the issuer part (a 统一社会信用代码 or a 行政区划代码).
        :param serial: the 流水号.
        :param version: the 版本号, 1..999.
        :returns: the identifier.
        :raises InvalidIdentifier: for a field of the wrong form.
        """
        text = _text(type_code, issuer_code, serial, version)
        number = _check_fields(type_code, issuer_code, serial, version, None, text, with_check=False)
        body = f"{type_code}{issuer_code}{serial}{number:03d}"
        return cls(type_code, issuer_code, serial, number, mod_37_36_calc_check(body))

    def __str__(self) -> str:
        return SEPARATOR.join(
            (ROOT, self.type_code, self.issuer_code, self.serial, f"{self.version:03d}", self.check)
        )

    @property
    def body(self) -> str:
        """What the check character covers: type + issuer + serial + version, no root, no dots."""
        return f"{self.type_code}{self.issuer_code}{self.serial}{self.version:03d}"

    @property
    def expected_check(self) -> str:
        """The ISO/IEC 7064 MOD 37,36 check character of :attr:`body`."""
        return mod_37_36_calc_check(self.body)

    @property
    def check_ok(self) -> bool:
        """Whether :attr:`check` is the expected check character."""
        return self.check == self.expected_check

    @property
    def issuer_code_kind(self) -> IssuerCodeKind:
        """``'uscc'`` for an 18-character USCC, ``'division'`` for a 6-digit GB/T 2260 code."""
        return "uscc" if len(self.issuer_code) == uscc.LENGTH else "division"

    def with_version(self, version: int) -> Identifier:
        """The same certificate at another version, with its check character recomputed.

        :param version: the new 版本号, 1..999.
        :returns: the identifier of that version.
        :raises InvalidIdentifier: for a version out of range.
        """
        return Identifier.build(self.type_code, self.issuer_code, self.serial, version)

    def next_version(self) -> Identifier:
        """The identifier of the re-issued certificate (version + 1, GB/T 36904)."""
        return self.with_version(self.version + 1)
