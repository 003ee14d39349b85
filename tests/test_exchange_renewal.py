"""Renewals across libraries (spec/exchange.md §3): a city renews a certificate (version 002 replaces
001) and the province records both halves in one transaction, with the checks of issuance:
the old version held here, issued in the sender's region, not already replaced by something else."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ecert.crypto.digests import sm3
from ecert.errors import RecordNotFound, RegistryError
from ecert.identifier import Identifier
from ecert.registry import CertStatus, SQLiteRegistry
from ecert.registry.base import Registry

from .certs import NOW, OTHER_DEPARTMENT_CODE
from .test_exchange import certificate, exchange_signer, issue, receive, resealed_batch, send, view

LATER = NOW.replace(hour=6)


def next_version(identifier: str, tag: bytes = b"") -> tuple[Any, bytes]:
    """(metadata, file) of the next version of ``identifier``: the renewed certificate."""
    ident = Identifier.parse(identifier)
    md, data = certificate(ident.serial, _issuer(identifier))
    new = Identifier.build(ident.type_code, ident.issuer_code, ident.serial, version=ident.version + 1)
    return replace(md, identifier=new), data + b"\n%renewed " + tag  # a distinct file (kept as bytes)


def _issuer(identifier: str) -> str:
    return "11330100MB01234570" if "11330100MB01234570" in identifier else OTHER_DEPARTMENT_CODE


def renew(lib: Registry, identifier: str, tag: bytes = b"") -> str:
    md, data = next_version(identifier, tag)
    lib.renew(
        identifier, md, package_digest=sm3(data).hex(), signer="示例市市场监督管理局", issued_at=LATER,
        reason="延续换发", by="王五", content=data,
    )  # fmt: skip
    return str(md.identifier)


def test_a_renewal_reaches_the_province_whole(city_and_province: Any) -> None:
    city, province = city_and_province
    old = issue(city, "2026000001")
    first = receive(province, send(city))
    new = renew(city, old)
    answer = receive(province, send(city, after=first.cursor))
    assert [(r.kind, r.identifier, r.outcome) for r in answer.results] == [
        ("issued", new, "accepted"),
        ("status", old, "accepted"),
    ]
    assert view(province) == view(city)
    assert province.get(old).replaced_by == new and province.get(old).status is CertStatus.REPLACED
    assert [r.identifier for r in province.versions(new)] == [old, new]
    assert province.history(old)[-1].reason == "延续换发" and province.check().ok
    again = receive(province, send(city))  # the whole log again: nothing changes
    assert again.counts == {"accepted": 0, "already": 3, "refused": 0}
    assert view(province) == view(city)


def test_the_two_halves_of_a_renewal_travel_in_one_batch(city_and_province: Any) -> None:
    city, province = city_and_province
    old = issue(city, "2026000001")
    renew(city, old)
    data = send(city, limit=2)  # would end between the new version and the old one's replacement
    answer = receive(province, data)
    assert answer.last_seq == 3 and answer.counts["accepted"] == 3
    assert view(province) == view(city)


def test_a_batch_cut_between_the_halves_is_refused_by_name(city_and_province: Any) -> None:
    """A sender other than ecert may cut a batch anywhere: the lone new version is refused, named."""
    city, province = city_and_province
    old = issue(city, "2026000001")
    renew(city, old)
    payload = json.loads(base64.b64decode(json.loads(send(city))["payload"]))
    payload["events"] = payload["events"][:2]
    payload["last_seq"], payload["chain_hash"] = 2, payload["events"][-1]["hash"]
    answer = receive(province, resealed_batch(payload))
    assert answer.results[1].outcome == "refused"
    assert "travels with the replacement of" in answer.results[1].reason
    assert province.get(old).status is CertStatus.VALID and len(list(province.iter_records())) == 1


def test_renewal_of_a_certificate_not_held_or_of_another_region_is_refused(city_and_province: Any) -> None:
    city, province = city_and_province
    old = issue(city, "2026000001")
    theirs = issue(city, "2026000009", OTHER_DEPARTMENT_CODE)
    new, new_theirs = renew(city, old), renew(city, theirs)
    # the province never got the first version: it joins the city's log at the renewal
    start = city.events(after=0)[2].seq - 1  # the events after both issuings
    province.set_info(f"exchange.{city.library_id}.seq", str(start))
    province.set_info(f"exchange.{city.library_id}.hash", city.events(after=start - 1, limit=1)[0].hash)
    answer = receive(province, send(city, after=start))
    reasons = {(r.identifier, r.kind): r.reason for r in answer.results}
    assert all(r.outcome == "refused" for r in answer.results)
    assert f"renewal of {old}, which this library does not hold" in reasons[(new, "issued")]
    assert "issuer 11330200MB0543216C is outside" in reasons[(new_theirs, "issued")]
    assert reasons[(old, "status")] == reasons[(new, "issued")]
    assert list(province.iter_records()) == []


def test_a_second_different_renewal_is_a_conflicting_version(city_and_province: Any, tmp_path: Path) -> None:
    city, province = city_and_province
    old = issue(city, "2026000001")
    receive(province, send(city))
    md, data = next_version(old, b"the province's own")
    province.record_renewal(old, md, package_digest=sm3(data).hex(), signer="别人", issued_at=LATER,
                            reason="另一次换发", by="别人", content=data)  # fmt: skip
    renew(city, old)
    answer = receive(province, send(city, after=1))
    assert [r.outcome for r in answer.results] == ["refused", "refused"]
    assert "conflicting version" in answer.results[0].reason
    assert province.read_file(str(md.identifier)) == data  # never overwritten


def test_record_renewal_refusals_name_what_is_wrong(tmp_path: Path) -> None:
    with SQLiteRegistry.open(tmp_path / "lib.db") as lib:
        old = issue(lib, "2026000001")
        md, data = next_version(old)
        args: dict[str, Any] = {"package_digest": sm3(data).hex(), "signer": "s", "issued_at": LATER,
                                "reason": "换发", "by": "王五", "content": data}  # fmt: skip
        missing = old.replace("2026000001", "2026000002")
        with pytest.raises(RecordNotFound, match="2026000002"):
            lib.record_renewal(missing, md, **args)
        other_md, other = next_version(old, b"other")
        lib.record_renewal(old, other_md, **{**args, "package_digest": sm3(other).hex(), "content": other})
        with pytest.raises(RegistryError, match=f"already replaced by {other_md.identifier}"):
            lib.record_renewal(old, md, **args)
        with pytest.raises(RegistryError, match="is not the next version"):
            lib.record_renewal(str(other_md.identifier), md, **args)
        assert lib.check().ok


def test_a_package_cut_in_small_batches_keeps_each_renewal_whole(tmp_path: Path) -> None:
    from ecert.exchange.offline import make_package, read_package

    city, province = SQLiteRegistry.open(tmp_path / "c.db"), SQLiteRegistry.open(tmp_path / "p.db")
    with city, province:
        old = issue(city, "2026000001")
        renew(city, old)
        issue(city, "2026000002")
        made = make_package(city, exchange_signer(), batch_size=2, at=NOW)
        assert made is not None and made[1] == 4
        answers = [receive(province, b) for b in read_package(made[0])]
        assert [(a.first_seq, a.last_seq) for a in answers] == [(1, 3), (4, 4)]
        assert all(a.counts["accepted"] == len(a.results) for a in answers)
        assert view(province) == view(city)
