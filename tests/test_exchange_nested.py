"""A batch applied inside an outer transaction (the HTTP push applies a batch in one transaction with
its nonce): an event the library refuses after it began writing leaves nothing behind, while the
events before and after it are kept (each event's transaction is then a savepoint)."""

from __future__ import annotations

from typing import Any

import pytest

from ecert.errors import RegistryError
from ecert.registry import CertStatus

from .certs import NOW
from .test_exchange import issue, receive, send, view
from .test_exchange_renewal import renew


def test_a_refusal_half_way_through_a_renewal_leaves_nothing_inside_an_outer_transaction(
    city_and_province: Any,
) -> None:
    city, province = city_and_province
    old = issue(city, "2026000001")
    first = receive(province, send(city))
    # the province holds the old version suspended: replacing it is refused, after the new version
    # was already written in the same transaction
    province.suspend(old, reason="核查", by="省级", at=NOW)
    new = renew(city, old)
    issue(city, "2026000002")
    with province.atomic():
        answer = receive(province, send(city, after=first.cursor))
    outcomes = [(r.identifier, r.outcome) for r in answer.results]
    assert outcomes[:2] == [(new, "refused"), (old, "refused")] and outcomes[2][1] == "accepted"
    assert "cannot change status from suspended to replaced" in answer.results[0].reason
    assert [r.identifier for r in province.versions(old)] == [old]  # the new version was undone
    assert province.get(old).status is CertStatus.SUSPENDED
    assert answer.cursor == 4 and province.check().ok
    assert len(view(province)) == 2


def test_a_nested_atomic_that_raises_is_undone_and_the_outer_one_commits(city_and_province: Any) -> None:
    _city, province = city_and_province
    ident = issue(province, "2026000001")
    with province.atomic():
        province.set_info("outer", "kept")
        with pytest.raises(RegistryError), province.atomic():
            province.suspend(ident, reason="a", by="b", at=NOW)
            province.set_info("inner", "undone")
            raise RegistryError("refused after writing")
        with province.atomic():
            province.set_info("second", "kept")
    assert province.info("outer") == "kept" and province.info("second") == "kept"
    assert province.info("inner") is None and province.get(ident).status is CertStatus.VALID
    assert province.check().ok
