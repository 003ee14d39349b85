"""The share service (共享服务, GB/T 36906): other departments query and verify certificates.

:class:`ShareService` holds the operations (typed request in, typed result out, no HTTP);
:mod:`ecert.share.signing` the signed-request and signed-response forms; :mod:`ecert.share.codes`
the one table from refusals to envelope codes; :class:`Client` (needs ``ecert[server]``'s httpx)
talks to a running service.  The HTTP application is :func:`ecert.web.share.create_share_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecert.share.model import (
    DATA_RESULTS,
    FILE_RESULTS,
    Caller,
    Catalogue,
    CertificateSummary,
    CertificateView,
    DataCheckRequest,
    DataCheckResult,
    DownloadRequest,
    DownloadResult,
    FileCheckRequest,
    FileCheckResult,
    GetRequest,
    Purpose,
    QRRequest,
    SearchRequest,
    SearchResult,
    TicketFile,
    UsageEntry,
    UsageRequest,
    UsageView,
)
from ecert.share.service import ShareService
from ecert.share.settings import ShareSettings

if TYPE_CHECKING:
    from ecert.share.client import Client

__all__ = [
    "DATA_RESULTS",
    "FILE_RESULTS",
    "Caller",
    "Catalogue",
    "CertificateSummary",
    "CertificateView",
    "Client",
    "DataCheckRequest",
    "DataCheckResult",
    "DownloadRequest",
    "DownloadResult",
    "FileCheckRequest",
    "FileCheckResult",
    "GetRequest",
    "Purpose",
    "QRRequest",
    "SearchRequest",
    "SearchResult",
    "ShareService",
    "ShareSettings",
    "TicketFile",
    "UsageEntry",
    "UsageRequest",
    "UsageView",
]


def __getattr__(name: str) -> Any:
    if name == "Client":  # httpx is a server-extra dependency: imported only when asked for
        from ecert.share.client import Client

        return Client
    raise AttributeError(f"module 'ecert.share' has no attribute {name!r}")
