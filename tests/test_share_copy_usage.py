"""A one-time download of an annotated copy (加注件) is a use of the certificate it copies: its usage
record names the certificate's identifier (so the holder's view lists it) and the copy id beside it."""

from __future__ import annotations

from typing import Any

import pytest

from ecert.errors import RecordNotFound
from ecert.share import Caller, DownloadRequest, Purpose, ShareService, ShareSettings, UsageRequest

from .certs import NOW, hierarchy, trust_store
from .share_support import ENGINEER, cert_of, service_signer

WHY = Purpose(reason="办理资质审核，核验注册证书")


@pytest.fixture
def service(library: Any) -> ShareService:
    settings = ShareSettings(trust=trust_store(), certificates=(hierarchy().issuer_cert,), clock=lambda: NOW)
    return ShareService(library, service_signer(), settings)


def test_fetching_a_copy_by_its_one_time_url_is_recorded_under_the_certificate(
    service: ShareService, library: Any
) -> None:
    cert = cert_of(ENGINEER)
    tax = Caller(library.application("tax"), "王经办")
    made = service.download(tax, WHY, DownloadRequest(cert.identifier, kind="copy", delivery="url"))
    assert made.ticket is not None and made.copy_id is not None
    fetched = service.redeem(made.ticket)
    assert fetched.kind == "copy" and fetched.content.startswith(b"PK")
    assert library.copy(made.copy_id).identifier == cert.identifier

    mine = [u.usage for u in library.usage(identifier=cert.identifier)]
    assert [(u.result, u.copy_id) for u in mine if u.copy_id] == [
        ("annotated copy made", made.copy_id),
        ("fetched (copy)", made.copy_id),
    ]
    assert not library.usage(identifier=made.copy_id)  # nothing filed under the copy's id

    portal = Caller(library.application("portal"), "本人")
    view = service.usage(portal, WHY, UsageRequest(cert.identifier, cert.metadata.holder_code))
    assert [e.result for e in view.entries if e.operation == "download"] == [
        "annotated copy made",
        "fetched (copy)",
    ]


def test_an_unknown_copy_id_is_not_found(library: Any) -> None:
    with pytest.raises(RecordNotFound):
        library.copy("NO-SUCH-COPY")
