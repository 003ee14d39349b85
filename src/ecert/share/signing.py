"""Signed requests and responses of the share service (spec/share-service.md, "Request signing").

A request is signed by the calling application's SM2 key (SM2 with SM3, user ID
``1234567812345678``) over its canonical form, seven lines joined by ``\\n`` (no final newline)::

    ECERT-SHARE-REQUEST-1
    <METHOD, upper case>
    <path as sent, with ?query if any>
    <X-Ecert-Timestamp, yyyy-mm-ddThh:mm:ssZ>
    <X-Ecert-Nonce>
    <X-Ecert-App-Id>
    <SM3 of the body bytes, 64 lower-case hex>

A response is signed by the service key over five lines: ``ECERT-SHARE-RESPONSE-1``, the request's
nonce (``-`` when it had none), the response timestamp, the HTTP status, the SM3 of the body.
Binding the nonce ties the answer to the question: a caller can prove what it was told, and an
answer replayed to another request does not verify.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ecert.crypto.digests import sm3
from ecert.crypto.keys import PrivateKey, PublicKey
from ecert.errors import AuthenticationFailed, EcertError, InvalidSignature

__all__ = [
    "APP_HEADER",
    "NONCE_HEADER",
    "REQUEST_LABEL",
    "RESPONSE_LABEL",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignedHeaders",
    "canonical_request",
    "canonical_response",
    "format_timestamp",
    "new_nonce",
    "parse_timestamp",
    "request_headers",
    "response_headers",
    "verify_response",
]

REQUEST_LABEL = "ECERT-SHARE-REQUEST-1"
RESPONSE_LABEL = "ECERT-SHARE-RESPONSE-1"
APP_HEADER = "X-Ecert-App-Id"
TIMESTAMP_HEADER = "X-Ecert-Timestamp"
NONCE_HEADER = "X-Ecert-Nonce"
SIGNATURE_HEADER = "X-Ecert-Signature"

_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", re.ASCII)
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}", re.ASCII)
APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)
_METHOD = re.compile(r"[A-Z]{1,10}", re.ASCII)
_MAX_PATH = 2048


def format_timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """The header's UTC time; AuthenticationFailed when it is not exactly ``yyyy-mm-ddThh:mm:ssZ``."""
    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text):
        raise AuthenticationFailed(f"malformed {TIMESTAMP_HEADER}: expected yyyy-mm-ddThh:mm:ssZ (UTC)")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthenticationFailed(f"{TIMESTAMP_HEADER} is not a real time: {text}") from None


def new_nonce() -> str:
    return secrets.token_urlsafe(24)  # 32 URL-safe characters, 192 bits


def _line(value: str, what: str) -> str:
    if "\n" in value or "\r" in value:
        raise AuthenticationFailed(f"{what} may not contain a line break")
    return value


def canonical_request(method: str, path: str, timestamp: str, nonce: str, app_id: str, body: bytes) -> bytes:
    """The bytes a request signature covers (see the module docstring)."""
    if not _METHOD.fullmatch(method):
        raise AuthenticationFailed(f"not an HTTP method: {method[:20]!r}")
    if not path.startswith("/") or len(path) > _MAX_PATH or not path.isascii():
        raise AuthenticationFailed("the path must be ASCII, start with / and be at most 2048 characters")
    lines = (
        REQUEST_LABEL,
        method,
        _line(path, "path"),
        _line(timestamp, TIMESTAMP_HEADER),
        _line(nonce, NONCE_HEADER),
        _line(app_id, APP_HEADER),
        sm3(body).hex(),
    )
    return "\n".join(lines).encode("utf-8")


def canonical_response(nonce: str | None, timestamp: str, status: int, body: bytes) -> bytes:
    """The bytes a response signature covers."""
    lines = (
        RESPONSE_LABEL,
        _line(nonce or "-", "nonce"),
        _line(timestamp, "timestamp"),
        str(int(status)),
        sm3(body).hex(),
    )
    return "\n".join(lines).encode("utf-8")


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The four headers of a signed request, as read from it (not yet checked)."""

    app_id: str
    timestamp: str
    nonce: str
    signature: bytes

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> SignedHeaders:
        """Read them from (case-insensitive) headers; AuthenticationFailed names what is missing."""
        values = {}
        for name in (APP_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER):
            value = headers.get(name) or headers.get(name.lower())
            if not value:
                raise AuthenticationFailed(f"the request is not signed: {name} is missing")
            values[name] = value
        if not APP_ID.fullmatch(values[APP_HEADER]):
            raise AuthenticationFailed(f"malformed {APP_HEADER}")
        if not NONCE.fullmatch(values[NONCE_HEADER]):
            raise AuthenticationFailed(f"malformed {NONCE_HEADER}: expected 16-64 of A-Z a-z 0-9 _ -")
        try:
            signature = base64.b64decode(values[SIGNATURE_HEADER], validate=True)
        except (binascii.Error, ValueError):
            raise AuthenticationFailed(f"{SIGNATURE_HEADER} is not base64") from None
        if not 8 <= len(signature) <= 256:
            raise AuthenticationFailed(f"{SIGNATURE_HEADER} has an impossible length")
        return cls(values[APP_HEADER], values[TIMESTAMP_HEADER], values[NONCE_HEADER], signature)

    def verify(self, key: PublicKey, method: str, path: str, body: bytes) -> None:
        """AuthenticationFailed unless the signature verifies over the canonical request."""
        message = canonical_request(method, path, self.timestamp, self.nonce, self.app_id, body)
        try:
            key.verify(self.signature, message)
        except (InvalidSignature, EcertError):
            raise AuthenticationFailed("the request signature does not verify") from None


def request_headers(
    key: PrivateKey,
    app_id: str,
    method: str,
    path: str,
    body: bytes,
    *,
    at: datetime,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign a request (a new nonce unless one is given)."""
    nonce = nonce or new_nonce()
    timestamp = format_timestamp(at)
    signature = key.sign(canonical_request(method, path, timestamp, nonce, app_id, body))
    return {
        APP_HEADER: app_id,
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
    }


def response_headers(
    key: PrivateKey, nonce: str | None, status: int, body: bytes, *, at: datetime
) -> dict[str, str]:
    """The headers that sign a response with the service key."""
    timestamp = format_timestamp(at)
    signature = key.sign(canonical_response(nonce, timestamp, status, body))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii")}


def verify_response(
    key: PublicKey, nonce: str | None, status: int, body: bytes, headers: Mapping[str, str]
) -> None:
    """InvalidSignature unless the response carries the service's signature over exactly this answer."""
    timestamp = headers.get(TIMESTAMP_HEADER) or headers.get(TIMESTAMP_HEADER.lower())
    encoded = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
    if not timestamp or not encoded:
        raise InvalidSignature("the response is not signed by the service")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature("the response signature is not base64") from None
    try:
        message = canonical_response(nonce, timestamp, status, body)
    except AuthenticationFailed as exc:
        raise InvalidSignature(f"the response signature headers are malformed: {exc}") from None
    key.verify(signature, message)
