"""The share service's operations in-process (ecert.share.ShareService): rights, minimisation,
use reasons, usage records, one-time downloads, data and file verification."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ecert.crypto.digests import sm3
from ecert.crypto.trust import TrustStore
from ecert.errors import (
    CertificateEnded,
    CertificateSuspended,
    DownloadTicketExpired,
    DownloadTicketUnknown,
    DownloadTicketUsed,
    InputError,
    MissingField,
    PermissionDenied,
    RecordNotFound,
    TooManyRows,
    TypeNotPublished,
    UnknownOperation,
)
from ecert.qr.offline import make_offline
from ecert.qr.payload import ReferencePayload
from ecert.registry.status import CertStatus
from ecert.share import (
    Caller,
    DataCheckRequest,
    DownloadRequest,
    FileCheckRequest,
    GetRequest,
    Purpose,
    QRRequest,
    SearchRequest,
    ShareService,
    ShareSettings,
    UsageRequest,
)
from ecert.verify import verify

from .certs import NOW, hierarchy, signer, trust_store
from .share_support import (
    BUSINESS,
    ENGINEER,
    cert_of,
    certificates,
    service_signer,
    set_status,
)

WHY = Purpose(reason="办理企业开办登记，核验营业执照")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def service(library: Any, clock: Clock) -> ShareService:
    return ShareService(
        library,
        service_signer(),
        ShareSettings(trust=trust_store(), certificates=(hierarchy().issuer_cert,), clock=clock),
    )


def caller(library: Any, app_id: str) -> Caller:
    return Caller(library.application(app_id), "王经办")


def uses(library: Any, identifier: str | None = None) -> list[Any]:
    return [u.usage for u in library.usage(identifier=identifier)]


# --- purpose ------------------------------------------------------------------------------------


def test_a_use_needs_a_reason_or_an_item_and_case() -> None:
    with pytest.raises(MissingField):
        Purpose()
    with pytest.raises(MissingField):
        Purpose(item_code="330100-001")
    with pytest.raises(InputError):
        Purpose(reason="x" * 201)
    assert Purpose(item_code="330100-001", case_number="2026-000123").reason is None
    assert Purpose(reason="x" * 200).reason


# --- search -------------------------------------------------------------------------------------


def test_search_returns_the_holders_certificates_and_records_each(
    service: ShareService, library: Any
) -> None:
    cert = cert_of(BUSINESS)
    md = cert.metadata
    rows = service.search(caller(library, "tax"), WHY, SearchRequest(md.holder_code, "001", BUSINESS)).rows
    assert {r.identifier for r in rows} == {
        c.identifier for c in certificates() if c.metadata.type_code == BUSINESS
    }
    assert all(r.status == "valid" and r.holder_name == md.holder_name for r in rows)
    recorded = [u for u in uses(library) if u.operation == "search"]
    assert {u.identifier for u in recorded} == {r.identifier for r in rows}
    assert all(u.reason == WHY.reason and u.app_id == "tax" and u.operator == "王经办" for u in recorded)


def test_search_refuses_more_rows_than_the_limit(library: Any, clock: Clock) -> None:
    service = ShareService(library, service_signer(), ShareSettings(max_rows=1, clock=clock))
    md = cert_of(BUSINESS).metadata
    with pytest.raises(TooManyRows):
        service.search(caller(library, "tax"), WHY, SearchRequest(md.holder_code, "001", BUSINESS))
    assert [u.result for u in uses(library)] == ["refused: more than 1 rows"]


def test_search_of_an_unpublished_type_or_without_the_right(service: ShareService, library: Any) -> None:
    with pytest.raises(TypeNotPublished):
        service.search(
            caller(library, "tax"), WHY, SearchRequest("91110108MA01B2C344", "001", "11100000MB0143028R099")
        )
    with pytest.raises(PermissionDenied):
        service.search(caller(library, "district"), WHY, SearchRequest("130602198807083451", "111", ENGINEER))


# --- get ----------------------------------------------------------------------------------------


def test_get_returns_metadata_and_sensitive_fields_only_to_apps_granted_them(
    service: ShareService, library: Any
) -> None:
    cert = cert_of(BUSINESS)
    full = service.get(caller(library, "tax"), WHY, GetRequest(cert.identifier))
    assert full.metadata["ZZBS"] == cert.identifier and full.metadata["KZ_FDDBR"] == "张三"
    assert full.withheld == ()
    limited = service.get(caller(library, "district"), WHY, GetRequest(cert.identifier))
    assert "KZ_FDDBR" not in limited.metadata and limited.withheld == ("KZ_FDDBR",)
    assert limited.metadata["CZZT"] == cert.metadata.holder_name


def test_get_with_a_field_range_returns_only_those_fields(service: ShareService, library: Any) -> None:
    cert = cert_of(BUSINESS)
    view = service.get(caller(library, "tax"), WHY, GetRequest(cert.identifier, ("ZZBH", "CZZT")))
    assert dict(view.metadata) == {"ZZBH": cert.metadata.number, "CZZT": cert.metadata.holder_name}
    with pytest.raises(InputError, match="no such metadata field"):
        service.get(caller(library, "tax"), WHY, GetRequest(cert.identifier, ("ZZBH", "KZ_NOPE")))


def test_get_records_misses_and_refusals_too(service: ShareService, library: Any) -> None:
    engineer = cert_of(ENGINEER)
    missing = engineer.identifier[:-5] + "9.002.X"
    with pytest.raises(RecordNotFound):
        service.get(caller(library, "tax"), WHY, GetRequest(missing))
    with pytest.raises(PermissionDenied):
        service.get(caller(library, "district"), WHY, GetRequest(engineer.identifier))
    assert [u.result for u in uses(library)] == ["not found", "refused: no permission"]


def test_get_by_qr_reference_and_offline_payloads(service: ShareService, library: Any) -> None:
    cert = cert_of(ENGINEER)
    reference = str(ReferencePayload("", cert.identifier, sm3(cert.content)))
    assert service.get_by_qr(caller(library, "tax"), WHY, QRRequest(reference)).identifier == cert.identifier
    stale = str(ReferencePayload("", cert.identifier, sm3(cert.content + b"x")))
    with pytest.raises(RecordNotFound):
        service.get_by_qr(caller(library, "tax"), WHY, QRRequest(stale))
    offline = make_offline(cert.metadata, signer(), at=NOW - timedelta(days=1))
    assert service.get_by_qr(caller(library, "tax"), WHY, QRRequest(offline)).identifier == cert.identifier
    forged = offline[:-6] + ("AAAAAA" if not offline.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(InputError):
        service.get_by_qr(caller(library, "tax"), WHY, QRRequest(forged))


# --- download -----------------------------------------------------------------------------------


def test_download_inline_and_as_a_one_time_url(service: ShareService, library: Any, clock: Clock) -> None:
    cert = cert_of(ENGINEER)
    tax = caller(library, "tax")
    assert service.download(tax, WHY, DownloadRequest(cert.identifier)).content == cert.content
    ticket = service.download(tax, WHY, DownloadRequest(cert.identifier, delivery="url")).ticket
    assert ticket is not None
    assert service.redeem(ticket).content == cert.content
    with pytest.raises(DownloadTicketUsed):
        service.redeem(ticket)
    late = service.download(tax, WHY, DownloadRequest(cert.identifier, delivery="url")).ticket
    assert late is not None
    clock.at += timedelta(minutes=10, seconds=1)
    with pytest.raises(DownloadTicketExpired):
        service.redeem(late)
    with pytest.raises(DownloadTicketUnknown):
        service.redeem("A" * 43)
    assert [u.result for u in uses(library, cert.identifier)] == [
        "sent (original)",
        "one-time URL (original)",
        "fetched (original)",
        "one-time URL (original)",
    ]


def test_download_refuses_ended_suspended_and_unauthorised(service: ShareService, library: Any) -> None:
    engineer, business = cert_of(ENGINEER), cert_of(BUSINESS)
    set_status(library, engineer.identifier, CertStatus.SUSPENDED)
    with pytest.raises(CertificateSuspended):
        service.download(caller(library, "tax"), WHY, DownloadRequest(engineer.identifier))
    set_status(library, business.identifier, CertStatus.REVOKED)
    with pytest.raises(CertificateEnded):
        service.download(caller(library, "tax"), WHY, DownloadRequest(business.identifier))
    with pytest.raises(PermissionDenied):
        service.download(caller(library, "district"), WHY, DownloadRequest(business.identifier))
    with pytest.raises(CertificateEnded):
        service.download(caller(library, "tax"), WHY, DownloadRequest(business.identifier, kind="copy"))


def test_download_an_annotated_copy_made_for_the_stated_use(service: ShareService, library: Any) -> None:
    cert = cert_of(ENGINEER)
    until = date(2026, 12, 20)
    made = service.download(
        caller(library, "tax"), WHY, DownloadRequest(cert.identifier, kind="copy", copy_valid_until=until)
    )
    assert made.copy_id is not None and made.content is not None and made.content != cert.content
    both = TrustStore.from_certificates(hierarchy().root_cert, service_signer().chain[-1])
    report = verify(made.content, trust=both, at=NOW)
    assert report.ok, report.to_text()
    assert {c.name for c in report.checks} >= {"copy_original", "copy_metadata", "copy_watermark"}
    assert report.identifier == cert.identifier
    [use] = [u for u in uses(library, cert.identifier) if u.copy_id]
    assert (use.copy_id, use.result, use.reason) == (made.copy_id, "annotated copy made", WHY.reason)
    late = service.download(
        caller(library, "tax"), WHY, DownloadRequest(cert.identifier, kind="copy", delivery="url")
    )
    assert late.ticket is not None and service.redeem(late.ticket).content.startswith(b"PK")
    with pytest.raises(InputError):  # a copy lives at most 90 days
        service.download(
            caller(library, "tax"),
            WHY,
            DownloadRequest(cert.identifier, kind="copy", copy_valid_until=date(2027, 12, 1)),
        )


# --- data verification --------------------------------------------------------------------------


def _given(cert: Any, **extra: str) -> dict[str, str]:
    md = cert.metadata
    return {"CZZTDM": md.holder_code, "ZZBH": md.number, "CZZT": md.holder_name, **extra}


def test_data_verification_results(service: ShareService, library: Any, clock: Clock) -> None:
    engineer = cert_of(ENGINEER)
    tax = caller(library, "tax")

    def check(values: dict[str, str], type_code: str = ENGINEER) -> int:
        return service.verify_data(tax, WHY, DataCheckRequest(type_code, values)).result

    assert check(_given(engineer)) == 0
    assert check({"ZZBS": engineer.identifier}) == 0
    assert check({"CZZT": engineer.metadata.holder_name}) == 4
    assert check(_given(engineer, ZZBH="冀0000000000000000")) == 5
    assert check(_given(engineer, CZZT="王五")) == 6
    assert check(_given(engineer, KZ_NOT_A_FIELD="x")) == 6
    set_status(library, engineer.identifier, CertStatus.SUSPENDED)
    assert check(_given(engineer)) == 2
    set_status(library, engineer.identifier, CertStatus.VALID)
    assert engineer.metadata.valid_until is not None
    clock.at = datetime(engineer.metadata.valid_until.year + 1, 1, 1, tzinfo=UTC)
    assert check(_given(engineer)) == 3
    results = [u.result for u in uses(library) if u.operation == "verify_data"]
    assert results == [
        "result 0",
        "result 0",
        "result 4",
        "result 5",
        "result 6",
        "result 6",
        "result 2",
        "result 3",
    ]


def test_data_verification_of_sensitive_fields_needs_the_right(service: ShareService, library: Any) -> None:
    business = cert_of(BUSINESS)
    district = caller(library, "district")
    # two licences of one holder share the number (the USCC): by number alone it is ambiguous (4)
    assert service.verify_data(district, WHY, DataCheckRequest(BUSINESS, _given(business))).result == 4
    given = {"ZZBS": business.identifier, "CZZT": business.metadata.holder_name}
    assert service.verify_data(district, WHY, DataCheckRequest(BUSINESS, given)).result == 0
    with pytest.raises(PermissionDenied):
        service.verify_data(district, WHY, DataCheckRequest(BUSINESS, _given(business, KZ_FDDBR="张三")))
    assert (
        service.verify_data(
            caller(library, "tax"), WHY, DataCheckRequest(BUSINESS, {**given, "KZ_FDDBR": "张三"})
        ).result
        == 0
    )


# --- file verification --------------------------------------------------------------------------


def test_file_verification_results(service: ShareService, library: Any) -> None:
    cert = cert_of(ENGINEER)
    tax = caller(library, "tax")
    good = service.verify_file(tax, WHY, FileCheckRequest(cert.content))
    assert (good.result, good.report.ok) == (0, True)
    assert service.verify_file(tax, WHY, FileCheckRequest(b"PK\x03\x04 not an ofd")).result == 2
    from .certs import other_department_file

    untrusted_service = ShareService(library, service_signer(), ShareSettings(trust=trust_store("p256")))
    assert untrusted_service.verify_file(tax, WHY, FileCheckRequest(cert.content)).result == 1
    assert other_department_file()  # a file signed by another department still verifies as a file
    with pytest.raises(PermissionDenied):
        service.verify_file(caller(library, "district"), WHY, FileCheckRequest(cert.content))
    no_trust = ShareService(library, service_signer(), ShareSettings())
    with pytest.raises(UnknownOperation):
        no_trust.verify_file(tax, WHY, FileCheckRequest(cert.content))
    assert [u.result for u in uses(library) if u.operation == "verify_file"] == [
        "result 0",
        "result 2",
        "result 1",
    ]


# --- the holder's view and the catalogue --------------------------------------------------------


def test_the_holder_sees_who_used_the_certificate(service: ShareService, library: Any) -> None:
    cert = cert_of(ENGINEER)
    service.get(
        caller(library, "tax"),
        Purpose(item_code="330100-ZJ-01", case_number="2026-0042"),
        GetRequest(cert.identifier),
    )
    view = service.usage(
        caller(library, "portal"),
        Purpose(reason="持证人查看用证记录"),
        UsageRequest(cert.identifier, cert.metadata.holder_code),
    )
    assert [(e.department, e.operation, e.case_number) for e in view.entries] == [
        ("示例市税务局", "get", "2026-0042")
    ]
    with pytest.raises(RecordNotFound):
        service.usage(caller(library, "portal"), WHY, UsageRequest(cert.identifier, "110101199003074514"))
    with pytest.raises(PermissionDenied):
        service.usage(
            caller(library, "district"), WHY, UsageRequest(cert.identifier, cert.metadata.holder_code)
        )


def test_the_catalogue_lists_published_types_and_writes_no_usage(service: ShareService, library: Any) -> None:
    types = service.catalogue(caller(library, "district")).types
    business = next(t for t in types if t.type_code == BUSINESS)
    assert business.sensitive_keys == frozenset({"KZ_FDDBR"})
    assert uses(library) == []


# --- authentication (the HTTP layer hands over method, path, headers and body) -------------------


def _signed(app_id: str, body: bytes, at: datetime, nonce: str | None = None) -> dict[str, str]:
    from ecert.share.signing import request_headers

    from .share_support import app_key

    return request_headers(app_key(app_id), app_id, "POST", "/share/v1/get", body, at=at, nonce=nonce)


def test_signed_requests_are_checked_in_order(service: ShareService, library: Any, clock: Clock) -> None:
    from ecert.errors import AuthenticationFailed, KeyRevoked, ReplayedRequest, RequestExpired

    body = b'{"operator":"x"}'
    headers = _signed("tax", body, NOW)
    app, nonce = service.auth.signed("POST", "/share/v1/get", headers, body)
    assert (app.app_id, nonce) == ("tax", headers["X-Ecert-Nonce"])
    with pytest.raises(ReplayedRequest):
        service.auth.signed("POST", "/share/v1/get", headers, body)
    with pytest.raises(AuthenticationFailed, match="does not verify"):
        service.auth.signed("POST", "/share/v1/get", _signed("tax", body, NOW), body + b" ")
    with pytest.raises(AuthenticationFailed, match="does not verify"):
        service.auth.signed("POST", "/share/v1/download", _signed("tax", body, NOW), body)
    with pytest.raises(RequestExpired):
        service.auth.signed(
            "POST", "/share/v1/get", _signed("tax", body, NOW - timedelta(minutes=5, seconds=1)), body
        )
    assert service.auth.signed(
        "POST", "/share/v1/get", _signed("tax", body, NOW + timedelta(minutes=4)), body
    )
    library.set_application_key("tax", public_key=None, key_status="revoked")
    with pytest.raises(KeyRevoked):
        service.auth.signed("POST", "/share/v1/get", _signed("tax", body, NOW), body)


def test_tokens_and_the_rate_limit(library: Any, clock: Clock) -> None:
    from ecert.errors import RateLimited, TokenProfileDisabled

    service = ShareService(library, service_signer(), ShareSettings(rate_limit=3, clock=clock))
    kiosk = library.application("kiosk")
    token, expires = service.auth.issue_token(kiosk)
    assert expires - NOW == timedelta(minutes=30)
    assert service.auth.bearer(token).app_id == "kiosk"
    with pytest.raises(TokenProfileDisabled):
        service.auth.issue_token(library.application("tax"))
    clock.at = expires
    from ecert.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed, match="expired"):
        service.auth.bearer(token)
    clock.at = NOW
    service.auth.bearer(token)
    service.auth.bearer(token)
    with pytest.raises(RateLimited):  # the fourth accepted call within a minute
        service.auth.bearer(token)
    strict = ShareService(library, service_signer(), ShareSettings(token_profile=False, clock=clock))
    with pytest.raises(TokenProfileDisabled):
        strict.auth.bearer(token)
