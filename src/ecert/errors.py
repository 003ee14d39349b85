"""The one exception hierarchy of ecert.

Every public function either returns a valid value or raises a subclass of
:class:`EcertError`.  Errors caused by bad input also subclass :class:`ValueError`
(as signxml does) so that callers' existing ``except ValueError`` clauses keep
working, and :class:`InvalidSignature` subclasses cryptography's exception of the
same name.  Each error says *what* was wrong, *where* (field, character position,
file) and *what was expected*, and keeps those parts as attributes for programs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

__all__ = [
    "AuthenticationFailed",
    "BatchInterrupted",
    "CertificateEnded",
    "CertificateError",
    "CertificateExpired",
    "CertificateSuspended",
    "CollectionError",
    "DownloadRefused",
    "DownloadTicketExpired",
    "DownloadTicketUnknown",
    "DownloadTicketUsed",
    "EcertError",
    "ExpiredBundle",
    "FieldProblem",
    "FontNotFound",
    "InputError",
    "InvalidAnnotatedCopy",
    "InvalidBundle",
    "InvalidCertificate",
    "InvalidChecksum",
    "InvalidCode",
    "InvalidComponent",
    "InvalidFormat",
    "InvalidIdentifier",
    "InvalidKey",
    "InvalidLength",
    "InvalidMetadata",
    "InvalidPackage",
    "InvalidQRPayload",
    "InvalidSignature",
    "InvalidTypeDefinition",
    "KeyRevoked",
    "LibraryBusy",
    "LibraryUnavailable",
    "MissingField",
    "PermissionDenied",
    "RateLimited",
    "RecordNotFound",
    "RegistryError",
    "ReplayedRequest",
    "RequestExpired",
    "RequestTooLarge",
    "ShareError",
    "StaleStatusList",
    "TokenProfileDisabled",
    "TooManyRows",
    "TrustError",
    "TypeNotPublished",
    "UnknownOperation",
    "UnknownType",
    "UnsafePackage",
    "UnsupportedAlgorithm",
]


#: How many characters of a bad value an error message quotes (the value attribute keeps it all).
_QUOTE_LIMIT = 200


def _quote(value: object) -> str:
    """``repr(value)`` cut to :data:`_QUOTE_LIMIT` characters, and never raising.

    Building an error must not fail on the very input it reports: a >4300-digit int raises
    ``ValueError`` in ``repr``, a deeply nested list ``RecursionError``, a hostile object anything.
    """
    try:
        text = repr(value)
    except Exception:  # whatever it was, the message is still built
        if isinstance(value, int):
            return f"<int of about {int(value.bit_length() * 0.30103) + 1} digits>"
        return f"<{type(value).__name__} that cannot be shown>"
    return text if len(text) <= _QUOTE_LIMIT else text[:_QUOTE_LIMIT] + "…"


def _describe(message: str, *, where: str | None, expected: str | None, value: object | None) -> str:
    parts = [message]
    if where:
        parts.append(f"at {where}")
    text = " ".join(parts)
    if value is not None:
        text += f" (got {_quote(value)})"
    if expected:
        text += f"; expected {expected}"
    return text


class EcertError(Exception):
    """Root of every error ecert raises on purpose."""


class InputError(EcertError, ValueError):
    """Input (a string, a record, a file) is not acceptable.

    ``where`` names the place (a field, ``position 7``, a file inside a package),
    ``expected`` says what would have been accepted, ``value`` quotes the input.
    """

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        expected: str | None = None,
        value: object | None = None,
    ) -> None:
        self.message = message
        self.where = where
        self.expected = expected
        self.value = value
        super().__init__(_describe(message, where=where, expected=expected, value=value))


# --- codes (GB 32100, GB 11643, GB 11714, ISO/IEC 7064) -------------------------------------


class InvalidCode(InputError):
    """A code (USCC, citizen ID number, organisation code...) is not valid.

    ``position`` is the 0-based character index the problem concerns, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        value: object | None = None,
        position: int | None = None,
        expected: str | None = None,
        where: str | None = None,
    ) -> None:
        self.position = position
        if where is None and position is not None:
            where = f"position {position + 1}"
        super().__init__(message, where=where, expected=expected, value=value)


class InvalidLength(InvalidCode):
    """The code has the wrong number of characters."""


class InvalidFormat(InvalidCode):
    """A character or a part of the code has the wrong shape."""


class InvalidChecksum(InvalidCode):
    """The check character does not match the body."""


class InvalidComponent(InvalidCode):
    """A part of the code (region, birth date, registration authority...) does not exist."""


# --- identifiers, metadata, types, collection ---------------------------------------------


class InvalidIdentifier(InputError):
    """An e-certificate identifier (GB/T 36904) is not valid."""

    def __init__(
        self,
        message: str,
        *,
        value: object | None = None,
        field: str | None = None,
        position: int | None = None,
        expected: str | None = None,
    ) -> None:
        self.field = field
        self.position = position
        where_parts = [p for p in (field, None if position is None else f"position {position + 1}") if p]
        super().__init__(message, where=", ".join(where_parts) or None, expected=expected, value=value)


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one field of a record or of metadata."""

    field: str
    message: str
    value: object | None = None
    expected: str | None = None

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}"
        return _describe(text, where=None, expected=self.expected, value=self.value)


class _ProblemsError(InputError):
    def __init__(self, summary: str, problems: Iterable[FieldProblem]) -> None:
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        details = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{summary}: {details}" if details else summary)
        # keep the summary (without details) available for short displays
        self.summary = summary


class InvalidMetadata(_ProblemsError):
    """Core metadata (GB/T 36903) is missing required elements or holds invalid values.

    ``problems`` lists every problem found, each with the element it concerns.
    """

    def __init__(self, problems: Iterable[FieldProblem], summary: str = "invalid core metadata") -> None:
        super().__init__(summary, problems)


class CollectionError(_ProblemsError):
    """A source record cannot become a certificate draft; ``problems`` lists *all* problems."""

    def __init__(self, problems: Iterable[FieldProblem], summary: str = "record rejected") -> None:
        super().__init__(summary, problems)


class InvalidTypeDefinition(InputError):
    """A certificate type definition file does not follow the type schema."""


class UnknownType(InputError):
    """No certificate type with that code is in the catalogue."""


# --- cryptography ---------------------------------------------------------------------------


if TYPE_CHECKING:
    from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature

    class InvalidSignature(EcertError, _CryptographyInvalidSignature):
        """A signature does not verify (raised by the primitives; reports never raise it)."""


# InvalidSignature subclasses cryptography's exception, whose import (its Rust bindings) cost a
# process that only checks codes a tenth of its start-up: the class is made on first use, once
_LOCK = threading.Lock()


def __getattr__(name: str) -> type[EcertError]:
    if name != "InvalidSignature":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _LOCK:
        made = globals().get(name)
        if made is None:
            made = globals()[name] = _invalid_signature()
    return made


def _invalid_signature() -> type[EcertError]:
    from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature

    class InvalidSignature(EcertError, _CryptographyInvalidSignature):
        """A signature does not verify (raised by the primitives; reports never raise it)."""

    InvalidSignature.__qualname__ = "InvalidSignature"  # pickled by name, like every other class here
    return InvalidSignature


class UnsupportedAlgorithm(EcertError, ValueError):
    """An algorithm (OID or name) is unknown or refused as weak."""


class InvalidKey(InputError):
    """A key cannot be read, is malformed, or does not fit the algorithm."""


class InvalidCertificate(InputError):
    """An X.509 certificate cannot be read or is malformed."""


class TrustError(EcertError):
    """A certificate cannot be validated against the trust store."""


# --- OFD packages -----------------------------------------------------------------------------


class InvalidPackage(InputError):
    """An OFD package is malformed: bad ZIP, bad XML, missing or dangling parts."""


class UnsafePackage(InvalidPackage):
    """An OFD package breaks a safety limit (size, count, ratio, path escape, DTD/entities)."""


# --- other layers -----------------------------------------------------------------------------


class InvalidAnnotatedCopy(InputError):
    """An annotated copy (加注件) request or copy metadata breaks its rules (reason, validity, level)."""


class InvalidQRPayload(InputError):
    """A QR payload does not follow the grammar in spec/qr.md."""


class StaleStatusList(InputError):
    """A status list's ``next_update`` has passed: a newer list exists or should; fetch it."""

    def __init__(self, next_update: datetime, at: datetime, *, reason: str | None = None) -> None:
        self.next_update = next_update
        self.at = at
        why = reason or f"its next update was due {_utc(next_update)}"
        super().__init__(
            f"stale status list: {why} (checked at {_utc(at)})",
            where="next_update",
            expected="a list whose next_update is after the verification time",
        )


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FontNotFound(EcertError):
    """No font able to draw Chinese text was found (give one by path)."""


class BatchInterrupted(EcertError):
    """A batch stopped before its end (a worker process died): what was recorded stays; rerun to resume."""


class RegistryError(EcertError):
    """The certificate registry refused an operation or is inconsistent."""


class RecordNotFound(RegistryError):
    """The library has no such record (certificate, application, published type, file)."""


class DownloadRefused(RegistryError):
    """A one-time download ticket is unknown, already used or expired (``reason`` says which)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # unknown | used | expired


class LibraryUnavailable(RegistryError):
    """The library's database server cannot be reached (the operation did not happen; retry later)."""


class LibraryBusy(LibraryUnavailable):
    """The library is held by a concurrent change (SQLite's write lock past its wait, a PostgreSQL
    serialisation failure or deadlock): the operation did not happen; retry it, never skip it."""


# --- the share service (GB/T 36906): refusals a caller handles differently, each with its own code ---


class ShareError(EcertError):
    """The share service refused a request (``ecert.share.codes`` maps each subclass to its code)."""


class AuthenticationFailed(ShareError):
    """The request is not authenticated: no or a bad signature, an unknown application or token."""


class RequestExpired(AuthenticationFailed):
    """The request's timestamp is outside the accepted window (±5 minutes by default)."""


class ReplayedRequest(AuthenticationFailed):
    """The request's nonce was seen before: a replay."""


class KeyRevoked(AuthenticationFailed):
    """The application's key is revoked: every request of it is refused."""


class TokenProfileDisabled(AuthenticationFailed):
    """The token profile is disabled by the operator, or not allowed for this application."""


class PermissionDenied(ShareError):
    """The application has no right to this operation on this certificate type."""


class RateLimited(ShareError):
    """The application sent more requests than the operator allows per minute."""


class TooManyRows(ShareError):
    """A search would return more rows than the service hands out at once (500)."""


class UnknownOperation(ShareError):
    """The service offers no such operation (path)."""


class TypeNotPublished(ShareError):
    """The certificate type is not published in the library's catalogue."""


class CertificateEnded(ShareError):
    """The certificate is revoked, cancelled or replaced: its file is not handed out for use."""


class CertificateExpired(ShareError):
    """The certificate's validity period has ended."""


class CertificateSuspended(ShareError):
    """The certificate is suspended (暂扣): it may not be used for now."""


class DownloadTicketUsed(ShareError):
    """A one-time download URL was used already."""


class DownloadTicketExpired(ShareError):
    """A one-time download URL is older than its 10 minutes."""


class DownloadTicketUnknown(ShareError):
    """No one-time download URL with that id exists."""


class MissingField(InputError):
    """A required request field (a use reason, an identifier...) is missing or empty."""


class RequestTooLarge(InputError):
    """A request body is larger than the service accepts."""


CertificateError = InvalidCertificate  # short alias used in messages and docs


class InvalidBundle(InputError):
    """A trust bundle or an exchange batch that is malformed, altered or not signed as expected."""


class ExpiredBundle(InvalidBundle):
    """A trust bundle used outside its issue time and expiry (a window must fetch a fresh one)."""
