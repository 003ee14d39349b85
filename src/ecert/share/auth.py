"""Who is calling: a signed request (the full profile) or a short-lived token (the weaker one).

The signed profile checks, in this order: the four headers are there and well-formed, the
timestamp is within the window, the application exists and its key is not revoked, the signature
verifies over the canonical request (:mod:`ecert.share.signing`), and only then, in the request's
transaction, the application is read again (still there, key not revoked nor replaced) and the
nonce is new (so that nobody can burn another application's nonces).  The checks before the
transaction write nothing and may use the application as last admitted; the ones inside decide.
Nonces are kept by the library, so every server worker sees the same ones.  The token profile
trusts a bearer token obtained by one signed request: no per-request integrity and no replay
protection (spec/share-service.md says when to use it).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ecert.crypto.keys import PublicKey, load_public_key
from ecert.errors import (
    AuthenticationFailed,
    EcertError,
    KeyRevoked,
    RateLimited,
    RecordNotFound,
    ReplayedRequest,
    RequestExpired,
    TokenProfileDisabled,
)
from ecert.registry.base import Application, Registry
from ecert.share.settings import ShareSettings
from ecert.share.signing import SignedHeaders, parse_timestamp

__all__ = ["TOKEN_PATTERN", "Authenticator", "SignedRequest"]

TOKEN_PATTERN = r"[A-Za-z0-9_-]{16,128}"
_KEY_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request whose signature verified with ``key_pem``, the key of ``app_id``; nonce not yet claimed."""

    app_id: str
    nonce: str
    key_pem: str


class Authenticator:
    """Checks requests against the library's applications; holds a small cache of parsed keys."""

    def __init__(self, library: Registry, settings: ShareSettings) -> None:
        self._library = library
        self._settings = settings
        self._keys: dict[str, PublicKey] = {}
        self._seen: dict[str, Application] = {}  # the applications last admitted, by id
        self._calls: dict[str, OrderedDict[Hashable, float]] = {}  # per app: request -> when counted
        self._lock = threading.Lock()

    def _application(self, app_id: str) -> Application:
        try:
            app = self._library.application(app_id)
        except RecordNotFound:
            raise AuthenticationFailed(f"unknown application {app_id}") from None
        if app.key_status != "active":
            raise KeyRevoked(f"the key of application {app_id} is revoked")
        return app

    def _key(self, app: Application) -> PublicKey:
        pem = app.public_key
        if not pem:
            raise AuthenticationFailed(f"application {app.app_id} has no key to sign with")
        key = self._keys.get(pem)
        if key is None:
            try:
                key = load_public_key(pem.encode("ascii"))
            except (EcertError, UnicodeEncodeError):
                raise AuthenticationFailed(f"the registered key of {app.app_id} is unusable") from None
            with self._lock:
                if len(self._keys) >= _KEY_CACHE_SIZE:
                    self._keys.clear()
                self._keys[pem] = key
        return key

    def signed(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Application, str]:
        """The application that signed this request and its nonce; else an AuthenticationFailed subclass."""
        checked = self.check_signature(method, path, headers, body)
        return self.admit(checked), checked.nonce

    def check_signature(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> SignedRequest:
        """Every check of a signed request that writes nothing: headers, time window, the application
        and its key, the signature.  :meth:`admit` completes it (in the request's transaction)."""
        signed = SignedHeaders.from_headers(headers)
        now = self._settings.now()
        when = parse_timestamp(signed.timestamp)
        if abs(now - when) > self._settings.clock_skew:
            raise RequestExpired(
                f"request timestamp {signed.timestamp} is more than "
                f"{int(self._settings.clock_skew.total_seconds())} s from the service's time"
            )
        app = self._seen.get(signed.app_id)  # as last admitted: admit() reads it again anyway
        if app is not None:
            try:
                signed.verify(self._key(app), method, path, body)
            except AuthenticationFailed:
                app = None  # perhaps its key was replaced since: check against the library's
        if app is None:
            app = self._application(signed.app_id)
            signed.verify(self._key(app), method, path, body)
        return SignedRequest(app.app_id, signed.nonce, app.public_key or "")

    def admit(self, checked: SignedRequest) -> Application:
        """The application of a request whose signature :meth:`check_signature` verified, read again
        (its key may have been revoked or replaced since), once its nonce is recorded as new."""
        try:
            app = self._application(checked.app_id)
        except EcertError:
            self._seen.pop(checked.app_id, None)
            raise
        with self._lock:
            if len(self._seen) >= _KEY_CACHE_SIZE:
                self._seen.clear()
            self._seen[app.app_id] = app
        if app.public_key != checked.key_pem:
            raise AuthenticationFailed(f"the key of application {app.app_id} changed; sign again")
        now = self._settings.now()
        keep_after = now - 2 * self._settings.clock_skew  # older nonces fail the timestamp check anyway
        if not self._library.remember_nonce(app.app_id, checked.nonce, at=now, keep_after=keep_after):
            raise ReplayedRequest(f"nonce {checked.nonce} of {app.app_id} was used before")
        self._count(app.app_id, ("nonce", checked.nonce))
        return app

    def bearer(self, token: str, *, request: Hashable | None = None) -> Application:
        """The application a token was given to; refused when the profile is off or the token is not valid.

        ``request`` names the HTTP request, so that a request run again (its transaction rolled back
        and retried) is counted once against the rate limit; None: every call is a new request.
        """
        if not self._settings.token_profile:
            raise TokenProfileDisabled("the token profile is disabled on this service; sign each request")
        try:
            app_id = self._library.token_app(token, at=self._settings.now())
        except EcertError:  # a malformed token
            app_id = None
        if app_id is None:
            raise AuthenticationFailed("unknown or expired token")
        app = self._application(app_id)
        if not app.token_allowed:
            raise TokenProfileDisabled(f"application {app_id} may not use the token profile")
        self._count(app_id, object() if request is None else ("request", request))
        return app

    def issue_token(self, app: Application) -> tuple[str, datetime]:
        """A new token for an application that just signed a request, and when it expires."""
        if not self._settings.token_profile:
            raise TokenProfileDisabled("the token profile is disabled on this service; sign each request")
        if not app.token_allowed:
            raise TokenProfileDisabled(f"application {app.app_id} may not use the token profile")
        now = self._settings.now()
        token = secrets.token_urlsafe(32)
        expires = now + self._settings.token_ttl
        self._library.add_token(token, app.app_id, issued_at=now, expires_at=expires)
        return token, expires

    def _count(self, app_id: str, request: Hashable) -> None:
        """A sliding one-minute window per application, in this worker (a simple brake, not a quota).

        Counted once per ``request`` (a signed request's nonce): the share service runs a group of
        requests in one transaction and, when that fails, runs each again alone; counting the rerun
        would refuse requests the application never sent.
        """
        limit = self._settings.rate_limit
        if limit is None:
            return
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(app_id, OrderedDict())
            while calls and now - next(iter(calls.values())) > 60.0:
                calls.popitem(last=False)
            if request in calls:
                return
            if len(calls) >= limit:
                raise RateLimited(f"application {app_id} sent more than {limit} requests in a minute")
            calls[request] = now
