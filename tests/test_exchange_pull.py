"""Filtered pull batches (``ecert-exchange-pull/1``, spec/exchange.md §7.4) without a server: what
is left out, what the receiver checks, and each way a batch can be altered or cut."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ecert.crypto.digests import sm3
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.signer import Signer
from ecert.errors import InvalidBundle, TrustError
from ecert.exchange.batch import ExchangePolicy, cursor_of
from ecert.exchange.envelope import canonical, seal
from ecert.exchange.pull import apply_pull_batch, make_pull_batch, read_pull_batch
from ecert.registry import CertStatus, CopyRecord, SQLiteRegistry
from ecert.registry.base import ChainEvent

from .certs import NOW, hierarchy
from .test_exchange import batch_payload, exchange_signer, issue

PROVINCE = ExchangePolicy(regions=frozenset({"330000"}))


@pytest.fixture
def libraries(tmp_path: Path) -> Iterator[tuple[SQLiteRegistry, SQLiteRegistry]]:
    province = SQLiteRegistry.open(tmp_path / "province.db")
    city = SQLiteRegistry.open(tmp_path / "city.db")
    yield province, city
    province.close()
    city.close()


def make(province: SQLiteRegistry, keep: set[str], *, after: int = 0, budget: int = 1 << 26) -> bytes:
    def selects(event: ChainEvent) -> bool:
        return event.identifier in keep

    made = make_pull_batch(
        province,
        exchange_signer(),
        after=after,
        limit=1000,
        selects=selects,
        described={},
        max_file_bytes=budget,
    )
    assert made is not None
    return made[0]


def apply(city: SQLiteRegistry, data: bytes) -> Any:
    return apply_pull_batch(city, data, sender_certificate=hierarchy().root_cert, policy=PROVINCE)


def resealed(body: dict[str, Any]) -> bytes:
    """The payload changed and signed again by the genuine key: only the chain checks can tell."""
    return seal("ecert-exchange-pull/1", canonical(body), exchange_signer(), NOW)


def test_left_out_events_travel_as_skipped_runs_and_the_chain_still_checks(
    libraries: tuple[SQLiteRegistry, SQLiteRegistry],
) -> None:
    province, city = libraries
    a, b, c = (issue(province, f"20260000{n:02d}") for n in (1, 2, 3))
    province.set_status(b, CertStatus.REVOKED, reason="吊销", by="省局", at=NOW)
    data = make(province, {a, c})
    body = batch_payload(data)
    assert [e.get("identifier", e.get("skipped")) for e in body["events"]] == [a, [2, 2], c, [4, 4]]
    assert b not in data.decode()  # nothing of the left-out certificate, not even its identifier
    answer = apply(city, data)
    assert answer.problem is None and answer.counts == {"accepted": 2, "already": 0, "refused": 0}
    assert {r.identifier for r in city.iter_records()} == {a, c}
    assert cursor_of(city, province.library_id) == (4, province.events(after=3)[0].hash)
    assert apply(city, data).counts == {"accepted": 0, "already": 2, "refused": 0}  # a replay
    province.set_status(a, CertStatus.SUSPENDED, reason="暂扣", by="省局", at=NOW)
    later = make(province, {a, c}, after=4)
    assert apply(city, later).counts["accepted"] == 1 and city.get(a).status is CertStatus.SUSPENDED


def test_a_gap_and_a_foreign_chain_are_named_and_nothing_is_applied(
    libraries: tuple[SQLiteRegistry, SQLiteRegistry], tmp_path: Path
) -> None:
    province, city = libraries
    a, b = issue(province, "2026000001"), issue(province, "2026000002")
    later = make(province, {a, b}, after=1)
    answer = apply(city, later)
    assert answer.missing == (1, 1) and "gap" in str(answer.problem) and not list(city.iter_records())
    apply(city, make(province, {a}))  # the city now follows the province up to seq 2 (b left out)
    other = SQLiteRegistry.open(tmp_path / "other.db")
    try:
        for serial in ("2026000007", "2026000008", "2026000009"):
            issue(other, serial)
        body = batch_payload(make(other, {str(r.identifier) for r in other.iter_records()}, after=2))
        body["sender"] = province.library_id  # another log under the province's name, seq 3 on
        answer = apply(city, resealed(body))
    finally:
        other.close()
    assert answer.problem is not None and "chain mismatch" in answer.problem
    assert answer.results == () and cursor_of(city, province.library_id)[0] == 2
    assert {r.identifier for r in city.iter_records()} == {a}


@pytest.mark.parametrize(
    "change",
    [
        "event-content",
        "skipped-hash",
        "skipped-range",
        "chain-hash",
        "last-seq",
        "file",
        "member",
    ],
)
def test_every_alteration_is_refused(libraries: tuple[SQLiteRegistry, SQLiteRegistry], change: str) -> None:
    province, city = libraries
    a, b, c = (issue(province, f"20260001{n:02d}") for n in (1, 2, 3))
    body = batch_payload(make(province, {a, c}))
    events = body["events"]
    if change == "event-content":
        events[0]["operator"] = "冒名"
    elif change == "skipped-hash":
        events[1]["hash"] = "0" * 64
    elif change == "skipped-range":
        events[1]["skipped"] = [2, 3]  # hides an event the receiver should have had
    elif change == "chain-hash":
        body["chain_hash"] = "1" * 64
    elif change == "last-seq":
        body["last_seq"] = 4
    elif change == "file":
        body["files"][0]["content"] = base64.b64encode(b"other bytes").decode()
    else:
        body["extra"] = 1
    with pytest.raises(InvalidBundle):
        read_pull_batch(resealed(body), sender_certificate=hierarchy().root_cert)
    assert not list(city.iter_records())
    assert b


def test_a_batch_signed_by_another_key_or_altered_after_signing(
    libraries: tuple[SQLiteRegistry, SQLiteRegistry],
) -> None:
    province, _ = libraries
    a = issue(province, "2026000201")
    h = DemoHierarchy.create("sm2", department="冒名省级节点")
    made = make_pull_batch(
        province,
        Signer(h.issuer_key, h.issuer_cert, (h.root_cert,)),
        after=0,
        limit=10,
        selects=lambda e: True,
        described={},
        max_file_bytes=1 << 20,
    )
    assert made is not None
    with pytest.raises(TrustError):
        read_pull_batch(made[0], sender_certificate=hierarchy().root_cert)
    genuine = json.loads(make(province, {a}))
    body = batch_payload(json.dumps(genuine).encode())
    body["events"][0]["reason"] = "改"
    genuine["payload"] = base64.b64encode(canonical(body)).decode()
    with pytest.raises(InvalidBundle, match="signature"):
        read_pull_batch(json.dumps(genuine).encode(), sender_certificate=hierarchy().root_cert)


def test_an_annotated_copy_always_rides_with_its_file(
    libraries: tuple[SQLiteRegistry, SQLiteRegistry],
) -> None:
    province, city = libraries
    a, b = issue(province, "2026000301"), issue(province, "2026000302")
    content = b"an annotated copy's bytes"
    copy = CopyRecord(
        "JZJ-0301",
        a,
        "A",
        NOW,
        "示例市政务服务中心",
        "开户",
        date(2026, 12, 31),
        sm3(content).hex(),
        None,
        None,
    )
    province.record_copy(copy, content, operator="王五", at=NOW)
    first = make(province, {a, b}, budget=0)  # no room for files: the originals go by digest
    body = batch_payload(first)
    assert body["last_seq"] == 2 and body["files"] == []  # the copy opens the next batch
    apply(city, first)
    second = make(province, {a, b}, after=2, budget=0)
    assert [f["sm3"] for f in batch_payload(second)["files"]] == [sm3(content).hex()]
    assert apply(city, second).counts == {"accepted": 1, "already": 0, "refused": 0}
    assert city.read_file("JZJ-0301", "copy") == content


def test_a_renewals_two_events_travel_together(libraries: tuple[SQLiteRegistry, SQLiteRegistry]) -> None:
    from dataclasses import replace

    from ecert.identifier import Identifier

    from .test_exchange import certificate

    province, _ = libraries
    old = issue(province, "2026000401")
    other = issue(province, "2026000402")
    md, data = certificate("2026000401")
    renewed = replace(md, identifier=Identifier.parse(old).next_version())
    province.renew(old, renewed, package_digest=sm3(data + b"v2").hex(), signer="省局", issued_at=NOW)
    new = str(renewed.identifier)
    assert [(e.kind, e.identifier) for e in province.events(after=2)] == [("issued", new), ("status", old)]
    cut = batch_payload(make_limited(province, {other}, limit=3))
    assert cut["last_seq"] == 4  # not split at the limit
    for keep in ({new}, {old}):  # either half chosen brings the other
        body = batch_payload(make_limited(province, keep, limit=10))
        assert [e.get("identifier") for e in body["events"] if "seq" in e][-2:] == [new, old], keep


def make_limited(province: SQLiteRegistry, keep: set[str], *, limit: int) -> bytes:
    made = make_pull_batch(
        province,
        exchange_signer(),
        after=0,
        limit=limit,
        selects=lambda e: e.identifier in keep,
        described={},
        max_file_bytes=1 << 20,
    )
    assert made is not None
    return made[0]


def test_a_renewal_pulled_is_applied_as_one(libraries: tuple[SQLiteRegistry, SQLiteRegistry]) -> None:
    from dataclasses import replace

    from ecert.identifier import Identifier

    from .test_exchange import certificate

    province, city = libraries
    old = issue(province, "2026000501")
    md, data = certificate("2026000501")
    renewed = replace(md, identifier=Identifier.parse(old).next_version())
    province.renew(old, renewed, package_digest=sm3(data + b"v2").hex(), signer="省局", issued_at=NOW)
    new = str(renewed.identifier)
    answer = apply(city, make(province, {old, new}))  # both versions: same holder, same type
    assert answer.problem is None and answer.counts["refused"] == 0, answer
    assert city.get(old).status is CertStatus.REPLACED and city.get(new).status is CertStatus.VALID
    assert city.get(old).replaced_by == new
    assert apply(city, make(province, {old, new})).counts["accepted"] == 0  # a replay: nothing new
