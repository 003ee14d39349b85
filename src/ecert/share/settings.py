"""What the operator decides about a share service: limits, windows, the token profile, trust."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import InputError

__all__ = ["ShareSettings"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ShareSettings:
    """Settings of one share service; every default is what spec/share-service.md documents.

    ``trust`` is what file and QR verification trust (the departments' roots); without it those
    two operations are not offered.  ``clock`` is passed in so that tests and replays fix time.
    """

    trust: TrustStore | None = None
    certificates: tuple[Certificate, ...] = ()  # department certificates offline QR payloads name by key id
    max_rows: int = 500  # a search never hands out more (real systems: 返回值超过500条拒绝返回)
    clock_skew: timedelta = timedelta(minutes=5)  # a signed request's timestamp window, either way
    ticket_ttl: timedelta = timedelta(minutes=10)  # a one-time download URL
    token_profile: bool = True  # the weaker bearer-token profile; the operator may switch it off
    token_ttl: timedelta = timedelta(minutes=30)
    max_body: int = 16 * 1024 * 1024  # bytes of a request body (a base64 OFD upload fits)
    max_file: int = 10 * 1024 * 1024  # bytes of a decoded uploaded file
    rate_limit: int | None = None  # requests per minute per application and server worker; None: off
    clock: Callable[[], datetime] = field(default=_now, repr=False)

    def __post_init__(self) -> None:
        if self.trust is not None and not isinstance(self.trust, TrustStore):
            raise InputError("trust must be a TrustStore", where="trust", value=type(self.trust).__name__)
        for name in ("max_rows", "max_body", "max_file"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError("must be a positive integer", where=name, value=value)
        if self.rate_limit is not None and (not isinstance(self.rate_limit, int) or self.rate_limit < 1):
            raise InputError("must be a positive integer or None", where="rate_limit", value=self.rate_limit)
        for name in ("clock_skew", "ticket_ttl", "token_ttl"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise InputError("must be a positive timedelta", where=name, value=value)

    def now(self) -> datetime:
        when = self.clock()
        if when.tzinfo is None:
            raise InputError("the settings' clock returned a naive datetime", where="clock")
        return when
