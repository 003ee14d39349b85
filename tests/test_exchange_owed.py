"""The files a batch leaves owed are kept in the same commit as the batch (spec/exchange.md §7).

A push is answered in one library transaction whose refusal keeps what was written before it.  When
the list of owed files would pass its bound (``MAX_OWED``), the push must be refused *without* its
events: kept events whose originals nobody asks for would leave the receiver without those files for
good.  The pull side is held to the same in tests/test_exchange_http.py.
"""

from __future__ import annotations

import pytest

from ecert.crypto.keys import generate_private_key, save_public_key
from ecert.errors import EcertError, RecordNotFound, RegistryError
from ecert.exchange import peers
from ecert.exchange.batch import ExchangePolicy, cursor_of, make_batch
from ecert.exchange.node import ExchangeNode
from ecert.exchange.peers import add_peer
from ecert.registry.base import Registry, Right

from .certs import NOW
from .share_support import service_signer
from .test_exchange import exchange_signer, issue


def _push_as_the_service_does(node: ExchangeNode, app_id: str, batch: bytes) -> EcertError | None:
    """The share service's request transaction: a refusal commits what was written before it."""
    refusal: EcertError | None = None
    with node.library.atomic():
        try:
            node.push(node.library.application(app_id), batch, at=NOW)
        except EcertError as exc:
            refusal = exc
    return refusal


def test_a_push_refused_for_too_many_owed_files_keeps_none_of_its_events(
    city_and_province: tuple[Registry, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    city, province = city_and_province
    ids = [issue(city, f"2026{n:06d}") for n in range(1, 4)]
    key = generate_private_key("sm2")
    province.add_application(
        "city", name="city", department="示例市大数据局",
        public_key=save_public_key(key.public_key()).decode("ascii"), rights=[Right("exchange", "*")],
    )  # fmt: skip
    add_peer(province, "city", exchange_signer().certificate, ExchangePolicy(regions=frozenset({"330100"})))
    batch = make_batch(city, exchange_signer(), sender=city.library_id, max_file_bytes=0, at=NOW)
    assert batch is not None
    node = ExchangeNode(province, service_signer())

    monkeypatch.setattr(peers, "MAX_OWED", 2)  # three files would be owed
    refusal = _push_as_the_service_does(node, "city", batch)
    assert isinstance(refusal, RegistryError) and "owed" in str(refusal)
    assert cursor_of(province, city.library_id) == (0, None)
    for identifier in ids:
        with pytest.raises(RecordNotFound):
            province.get(identifier)
    assert peers.owed_files(province, "exchange.peer.city") == ()

    monkeypatch.setattr(peers, "MAX_OWED", 100_000)  # sent again once there is room: all of it lands
    assert _push_as_the_service_does(node, "city", batch) is None
    assert cursor_of(province, city.library_id)[0] == len(ids)
    assert {r.identifier for r in peers.owed_files(province, "exchange.peer.city")} == set(ids)
    assert [province.get(i).identifier for i in ids] == ids
