"""The rate limit counts requests, not attempts (spec/share-service.md, group commit).

The share service runs the requests that arrived together in one transaction and, when that
transaction fails for a reason other than a refusal, runs each again in its own.  A request run again
must not be counted twice against its application's limit: the rerun would refuse requests the
application never sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from ecert.errors import RateLimited
from ecert.share.service import ShareService
from ecert.share.settings import ShareSettings
from ecert.share.signing import request_headers

from .certs import NOW
from .share_support import app_key, service_signer


class _RolledBack(Exception):
    """What the group commit's failed transaction looks like to the requests in it."""


def _headers(nonce: str, body: bytes) -> dict[str, str]:
    return request_headers(app_key("tax"), "tax", "POST", "/share/v1/get", body, at=NOW, nonce=nonce)


def test_a_signed_request_run_again_after_a_rollback_is_counted_once(library: Any) -> None:
    service = ShareService(library, service_signer(), ShareSettings(rate_limit=2, clock=lambda: NOW))
    body = b'{"operator":"x"}'
    first = service.auth.check_signature("POST", "/share/v1/get", _headers("n" * 16, body), body)
    with pytest.raises(_RolledBack), library.atomic():
        service.auth.admit(first)
        raise _RolledBack
    with library.atomic():
        assert service.auth.admit(first).app_id == "tax"  # the same request again: its nonce is new
    second = service.auth.check_signature("POST", "/share/v1/get", _headers("m" * 16, body), body)
    with library.atomic():
        service.auth.admit(second)  # the application's second request: within the limit of 2
    third = service.auth.check_signature("POST", "/share/v1/get", _headers("o" * 16, body), body)
    with pytest.raises(RateLimited), library.atomic():
        service.auth.admit(third)


def test_a_token_request_run_again_is_counted_once(library: Any) -> None:
    service = ShareService(library, service_signer(), ShareSettings(rate_limit=2, clock=lambda: NOW))
    token, _ = service.auth.issue_token(library.application("kiosk"))
    request = object()
    for _ in range(3):  # one request, run three times
        assert service.auth.bearer(token, request=request).app_id == "kiosk"
    service.auth.bearer(token)
    with pytest.raises(RateLimited):
        service.auth.bearer(token)
