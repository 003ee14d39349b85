"""Province–city exchange (spec/exchange.md): two libraries kept in step by signed batches, and the
faults a front-end machine sees: replay, a lost batch, tampering, another region's certificate."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ecert.collect import collect
from ecert.crypto.digests import sm3
from ecert.crypto.hierarchy import DemoHierarchy, make_issuer_certificate
from ecert.crypto.keys import generate_private_key
from ecert.crypto.signer import Signer
from ecert.errors import InvalidBundle, TrustError
from ecert.exchange.batch import Answer, ExchangePolicy, apply_batch, make_batch
from ecert.exchange.envelope import canonical, seal
from ecert.identifier import Identifier
from ecert.metadata import Authority
from ecert.package import Issuer, package
from ecert.registry import CertStatus, SQLiteRegistry, open_registry
from ecert.registry.base import Registry

from .certs import DEPARTMENT_CODE, NOW, OTHER_DEPARTMENT_CODE, SIGNED_AT, hierarchy, sample_record, signer

CITY = ExchangePolicy(regions=frozenset({"330100"}))


@functools.lru_cache(maxsize=1)
def exchange_signer() -> Signer:
    """The city's exchange key, certified under the province's root."""
    h = hierarchy()
    key = generate_private_key("sm2")
    cert = make_issuer_certificate(
        h.root_key,
        h.root_cert,
        key.public_key(),
        "示例市数据交换前置机",
        organization="示例市大数据局",
        not_before=SIGNED_AT - timedelta(days=1),
    )
    return Signer(key, cert, (h.root_cert,))


@functools.lru_cache(maxsize=8)
def certificate(serial: str, issuer_code: str = DEPARTMENT_CODE) -> tuple[Any, bytes]:
    """(metadata, signed file) of a certificate numbered ``serial`` from ``issuer_code``."""
    record, code = sample_record()
    draft = collect(
        record, code, issuer=Authority(name="示例市市场监督管理局", code=issuer_code), today=SIGNED_AT.date()
    )
    ident = draft.metadata.identifier
    new_id = Identifier.build(ident.type_code, ident.issuer_code, serial)
    draft = replace(draft, metadata=replace(draft.metadata, identifier=new_id))
    by = signer() if issuer_code == DEPARTMENT_CODE else _other_signer()
    return draft.metadata, package(draft, Issuer(by), at=SIGNED_AT)


@functools.lru_cache(maxsize=1)
def _other_signer() -> Signer:
    h = DemoHierarchy.create("sm2", department="宁波示例局", now=SIGNED_AT)  # names no organisation code
    return Signer(h.issuer_key, h.issuer_cert, (h.root_cert,))


def issue(lib: Registry, serial: str, issuer_code: str = DEPARTMENT_CODE) -> str:
    md, data = certificate(serial, issuer_code)
    lib.record_issued(
        md, package_digest=sm3(data).hex(), signer="示例市市场监督管理局", issued_at=SIGNED_AT, content=data
    )
    return str(md.identifier)


def send(city: Registry, after: int = 0, limit: int = 1000) -> bytes:
    data = make_batch(city, exchange_signer(), sender=city.library_id, after=after, limit=limit, at=NOW)
    assert data is not None
    return data


def receive(province: Registry, data: bytes, policy: ExchangePolicy = CITY) -> Answer:
    return apply_batch(province, data, sender_certificate=hierarchy().root_cert, policy=policy, at=NOW)


def view(lib: Registry) -> list[tuple[Any, ...]]:
    """What should be identical: each record, its status and its file."""
    return sorted(
        (
            r.identifier,
            r.package_digest,
            r.status.value,
            r.status_reason,
            r.status_changed_at,
            sm3(lib.read_file(r.identifier)).hex(),
        )
        for r in lib.iter_records()
    )


@pytest.fixture
def libraries(tmp_path: Path) -> Any:
    city = SQLiteRegistry.open(tmp_path / "city.db")
    province = SQLiteRegistry.open(tmp_path / "province.db")
    yield city, province
    city.close()
    province.close()


def test_issue_export_import_revoke_exchange_again_views_identical(libraries: Any) -> None:
    city, province = libraries
    first = issue(city, "2026000001")
    issue(city, "2026000002")
    answer = receive(province, send(city))
    assert answer.problem is None and answer.counts == {"accepted": 2, "already": 0, "refused": 0}
    assert view(province) == view(city)
    assert province.read_file(first) == city.read_file(first)
    city.set_status(first, CertStatus.REVOKED, reason="以欺骗手段取得", by="张三", at=NOW)
    answer = receive(province, send(city, after=answer.cursor))
    assert answer.counts["accepted"] == 1 and answer.cursor == 3
    assert province.get(first).status is CertStatus.REVOKED
    assert view(province) == view(city)
    assert province.check().ok


def test_replaying_an_old_batch_changes_nothing(libraries: Any) -> None:
    city, province = libraries
    issue(city, "2026000001")
    old = send(city)
    receive(province, old)
    before, events = view(province), province.events(after=0)
    again = receive(province, old)
    assert again.counts == {"accepted": 0, "already": 1, "refused": 0}
    assert view(province) == before and province.events(after=0) == events


def test_a_dropped_batch_is_named_and_nothing_is_applied_until_it_comes(libraries: Any) -> None:
    city, province = libraries
    ident = issue(city, "2026000001")
    lost = send(city)  # seq 1, never arrives
    city.set_status(ident, CertStatus.SUSPENDED, reason="核查", by="李四", at=NOW)
    later = send(city, after=1)
    answer = receive(province, later)
    assert answer.missing == (1, 1) and "gap: events 1-1" in str(answer.problem) and not answer.results
    assert list(province.iter_records()) == []
    assert receive(province, lost).counts["accepted"] == 1
    assert receive(province, later).counts["accepted"] == 1
    assert view(province) == view(city)


def batch_payload(data: bytes) -> dict[str, Any]:
    """The payload of a signed envelope (a batch, a pull batch), read without checking anything."""
    return json.loads(base64.b64decode(json.loads(data)["payload"]))  # type: ignore[no-any-return]


def resealed_batch(payload: dict[str, Any]) -> bytes:
    """A batch whose payload was changed, then signed again with the genuine exchange key."""
    return seal("ecert-exchange-batch/1", canonical(payload), exchange_signer(), NOW)


def test_a_tampered_record_in_a_signed_batch_is_refused(libraries: Any) -> None:
    city, province = libraries
    ident = issue(city, "2026000001")
    city.set_status(ident, CertStatus.REVOKED, reason="吊销", by="张三", at=NOW)
    data = send(city)
    env = json.loads(data)
    payload = batch_payload(data)
    payload["events"][1]["status"] = "valid"  # the revocation made harmless
    env["payload"] = base64.b64encode(
        json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    ).decode()
    with pytest.raises(InvalidBundle, match="altered"):
        receive(province, json.dumps(env).encode())
    assert list(province.iter_records()) == []


def test_an_event_changed_before_signing_is_refused_by_its_chain_hash(libraries: Any) -> None:
    """Even signed by the sender's own key, an event whose content is not what its hash covers is refused."""
    city, province = libraries
    ident = issue(city, "2026000001")
    city.set_status(ident, CertStatus.REVOKED, reason="吊销", by="张三", at=NOW)
    payload = batch_payload(send(city))
    payload["events"][1]["status"] = "suspended"
    with pytest.raises(InvalidBundle, match="event seq 2: its hash is not the SM3 of its content"):
        receive(province, resealed_batch(payload))


def test_a_batch_signed_by_another_key_is_refused(libraries: Any) -> None:
    city, province = libraries
    issue(city, "2026000001")
    stranger = DemoHierarchy.create("sm2", department="别市", now=SIGNED_AT)
    data = make_batch(
        city,
        Signer(stranger.issuer_key, stranger.issuer_cert, (stranger.root_cert,)),
        sender=city.library_id,
        at=NOW,
    )
    assert data is not None
    with pytest.raises(TrustError, match="not by the sender's exchange certificate"):
        receive(province, data)


def test_a_certificate_from_another_region_is_refused_per_record(libraries: Any) -> None:
    city, province = libraries
    ours = issue(city, "2026000001")
    theirs = issue(city, "2026000009", OTHER_DEPARTMENT_CODE)  # 330200: not the city's region
    answer = receive(province, send(city))
    by_id = {r.identifier: r for r in answer.results}
    assert by_id[ours].outcome == "accepted"
    assert by_id[theirs].outcome == "refused" and OTHER_DEPARTMENT_CODE in by_id[theirs].reason
    assert [r.identifier for r in province.iter_records()] == [ours]
    # a status change for it is refused too (the province never recorded it)
    city.set_status(theirs, CertStatus.REVOKED, reason="x", by="y", at=NOW)
    again = receive(province, send(city, after=answer.cursor))
    assert again.results[0].outcome == "refused"
    # the same province accepts it from a sender configured for that issuer
    allowed = ExchangePolicy(regions=frozenset({"330100"}), issuers=frozenset({OTHER_DEPARTMENT_CODE}))
    assert allowed.allows(OTHER_DEPARTMENT_CODE) and not CITY.allows(OTHER_DEPARTMENT_CODE)


def test_a_conflicting_version_is_refused_never_overwritten(libraries: Any, tmp_path: Path) -> None:
    city, province = libraries
    ident = issue(city, "2026000001")
    md, _ = certificate("2026000001")
    other = b"another file under the same identifier"
    province.record_issued(
        md, package_digest=sm3(other).hex(), signer="别人", issued_at=SIGNED_AT, content=other
    )
    answer = receive(province, send(city))
    assert answer.results[0].outcome == "refused" and "conflicting version" in answer.results[0].reason
    assert province.read_file(ident) == other


@pytest.mark.slow
def test_city_on_sqlite_province_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    city = SQLiteRegistry.open(tmp_path / "city.db")
    province = open_registry(pg_url)
    try:
        ident = issue(city, "2026000001")
        issue(city, "2026000002")
        first = receive(province, send(city))
        city.set_status(ident, CertStatus.REVOKED, reason="吊销", by="张三", at=NOW)
        receive(province, send(city, after=first.cursor))
        assert receive(province, send(city)).counts["accepted"] == 0  # replay from the start
        assert view(province) == view(city)
    finally:
        city.close()
        province.close()


def test_an_annotated_copy_travels_with_its_file(libraries: Any) -> None:
    from datetime import date

    from ecert.registry import CopyRecord

    city, province = libraries
    ident = issue(city, "2026000001")
    content = b"an annotated copy's bytes"
    copy = CopyRecord(
        "JZJ-0001",
        ident,
        "A",
        NOW,
        "示例市政务服务中心",
        "办理营业执照变更",
        date(2026, 12, 31),
        sm3(content).hex(),
        None,
        None,
    )
    city.record_copy(copy, content, operator="王五", at=NOW)
    answer = receive(province, send(city))
    assert answer.counts == {"accepted": 2, "already": 0, "refused": 0}
    assert province.copies(ident) == city.copies(ident)
    assert province.read_file("JZJ-0001", "copy") == content
    assert receive(province, send(city)).counts["already"] == 2
