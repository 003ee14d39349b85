"""The signed envelope shared by trust bundles and exchange batches.

A UTF-8 JSON object ``{"format", "payload", "signature"}``: ``payload`` is the base64 of canonical
JSON bytes, ``signature`` the base64 of a detached CMS SignedData over exactly those bytes (GB/T
35275 for SM2-with-SM3, :func:`ecert.crypto.cms.sign_cms`), so that no JSON re-serialisation ever
stands between the signature and what is read, and any CMS reader (OpenSSL, GmSSL) can check it.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from ecert.crypto.cms import CmsVerification, sign_cms, verify_cms
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidBundle, TrustError

__all__ = ["b64", "canonical", "open_envelope", "open_signed_by", "seal", "unb64", "utc_text"]

_KEYS = frozenset({"format", "payload", "signature"})


def canonical(obj: object) -> bytes:
    """One byte form of a JSON value: sorted keys, no spaces, UTF-8 (what the signature covers)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def utc_text(at: datetime) -> str:
    """Times on the wire: UTC, whole seconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidBundle("must be a base64 string", where=where, value=type(value).__name__)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidBundle("malformed base64", where=where) from None


def seal(fmt: str, payload: bytes, signer: Signer, at: datetime) -> bytes:
    """The envelope around ``payload``, signed by ``signer`` at ``at``."""
    cms = sign_cms(payload, signer, detached=True, signing_time=at)
    envelope = {"format": fmt, "payload": b64(payload), "signature": b64(cms)}
    return json.dumps(envelope, sort_keys=True, indent=1).encode("utf-8") + b"\n"


def open_envelope(
    data: object, fmt: str, max_bytes: int, what: str
) -> tuple[dict[str, Any], bytes, CmsVerification]:
    """The payload (parsed and raw) and its verified CMS signature; trust in the signer is the
    caller's to judge.  :class:`InvalidBundle` for anything malformed or altered."""
    if not isinstance(data, bytes | bytearray):
        raise InputError(f"a {what} must be bytes", value=type(data).__name__)
    if len(data) > max_bytes:
        raise InvalidBundle(f"{what} too large", value=len(data), expected=f"at most {max_bytes} bytes")
    try:
        env = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidBundle(f"{what} is not UTF-8 JSON ({exc})") from None
    if not isinstance(env, dict) or env.get("format") != fmt:
        raise InvalidBundle(f"not an ecert {what}", where="format", expected=repr(fmt))
    if set(env) != _KEYS:
        raise InvalidBundle("wrong envelope members", value=sorted(env), expected=", ".join(sorted(_KEYS)))
    payload = unb64(env["payload"], "payload")
    cms = unb64(env["signature"], "signature")
    try:
        checked = verify_cms(cms, payload)
    except EcertError as exc:
        raise InvalidBundle(
            f"the {what}'s signature does not verify: its content or signature was altered ({exc})"
        ) from None
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidBundle(f"{what} payload is not UTF-8 JSON ({exc})", where="payload") from None
    if not isinstance(body, dict) or canonical(body) != payload:
        raise InvalidBundle(f"{what} payload is not a JSON object in canonical form", where="payload")
    if body.get("format") != fmt:
        raise InvalidBundle("payload of another format", where="payload.format", expected=repr(fmt))
    return body, payload, checked


def open_signed_by(
    data: object, fmt: str, max_bytes: int, what: str, *, sender: Certificate, named: str, at: datetime
) -> tuple[dict[str, Any], Certificate]:
    """:func:`open_envelope`'s payload and its signer, who must be ``sender`` or a certificate it issued,
    valid at ``at``: :class:`TrustError` naming the signer and ``named`` (the sender's certificate)."""
    body, _, checked = open_envelope(data, fmt, max_bytes, what)
    signer = checked.signer_certificate
    path = TrustStore((sender,)).validate(signer, at=at, intermediates=checked.certificates)
    if not path.ok:
        step = path.failed_step
        raise TrustError(
            f"the {what} is signed by {signer.subject!r}, not by {named} "
            f"({sender.subject!r}): {step.message if step else 'path validation incomplete'}"
        )
    return body, signer
