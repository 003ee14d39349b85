"""Per-key tables for SM2 verification: which keys get one, within which memory, and that results agree.

The policy (``ecert.crypto.tablecache``) decides on counts only, so it is tested with cheap stand-in
tables and a counter of builds; the curve code is tested for agreeing with and without tables.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator

import pytest

from ecert.crypto import ec
from ecert.crypto.digests import sm3
from ecert.crypto.sm2 import SM2P256V1, SM2PrivateKey
from ecert.crypto.tablecache import TableCache
from ecert.errors import InvalidSignature


class Builds:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, key: int) -> str:
        self.count += 1
        return f"table {key}"


def _cache(capacity: int, **kw: int) -> TableCache[int, str]:
    return TableCache(table_bytes=100, budget_bytes=100 * capacity, **kw)


def test_a_table_only_after_enough_uses() -> None:
    cache, builds = _cache(4), Builds()
    got = [cache.get(7, lambda: builds(7)) for _ in range(10)]
    assert got[:7] == [None] * 7 and got[7:] == ["table 7"] * 3
    assert builds.count == 1


def test_a_mix_larger_than_the_budget_does_not_thrash() -> None:
    """256 keys in random order, room for 32: tables are built about once each, then kept."""
    cache, builds = _cache(32), Builds()
    rng = random.Random(18)
    hits = 0
    for _ in range(50_000):
        key = rng.randrange(256)
        hits += cache.get(key, lambda key=key: builds(key)) is not None  # type: ignore[misc]
    assert len(cache) == 32
    assert builds.count <= 40  # 32 to fill the budget, a few swaps while counts are small
    assert hits > 50_000 * 32 / 256 * 0.8  # the kept keys' share of the traffic is served


def test_a_mix_within_the_budget_gets_every_table() -> None:
    cache, builds = _cache(32), Builds()
    rng = random.Random(32)
    for _ in range(5_000):
        key = rng.randrange(32)
        cache.get(key, lambda key=key: builds(key))  # type: ignore[misc]
    assert builds.count == 32 and len(cache) == 32


def test_a_key_used_far_more_often_takes_a_place() -> None:
    cache, builds = _cache(2), Builds()
    for key in (1, 2):
        for _ in range(8):
            cache.get(key, lambda key=key: builds(key))  # type: ignore[misc]
    assert len(cache) == 2
    results = [cache.get(3, lambda: builds(3)) for _ in range(16)]
    assert results[7] is None  # 8 uses of 3, 8 of the least used cached key: no swap
    assert results[-1] == "table 3"  # 16 uses: twice the victim's
    assert len(cache) == 2 and builds.count == 3


def test_counts_stay_bounded_and_fade() -> None:
    cache, builds = _cache(4, tracked=64, decay_every=1000), Builds()
    for key in range(10_000):  # a stream of keys each seen once
        cache.get(key, lambda key=key: builds(key))  # type: ignore[misc]
    assert len(cache._counts) <= 64
    assert builds.count == 0


def test_budget_is_settable_and_zero_turns_tables_off() -> None:
    cache, builds = _cache(4), Builds()
    for key in range(4):
        for _ in range(8):
            cache.get(key, lambda key=key: builds(key))  # type: ignore[misc]
    assert len(cache) == 4
    cache.budget_bytes = 200
    assert len(cache) == 2 and cache.capacity == 2
    cache.budget_bytes = 0
    assert len(cache) == 0
    assert all(cache.get(1, lambda: builds(1)) is None for _ in range(20))
    with pytest.raises(ValueError):
        cache.budget_bytes = -1


def test_concurrent_use_is_safe() -> None:
    cache: TableCache[int, str] = _cache(8)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(5_000):
                key = rng.randrange(40)
                table = cache.get(key, lambda key=key: f"table {key}")  # type: ignore[misc]
                assert table is None or table == f"table {key}"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache) <= 8


# --- the curve with the cache ----------------------------------------------------------------


@pytest.fixture
def fresh_tables() -> Iterator[None]:
    tables = ec.key_tables()
    budget = tables.budget_bytes
    tables.clear()
    yield
    tables.budget_bytes = budget
    tables.clear()


def _keys(count: int) -> list[SM2PrivateKey]:
    return [SM2PrivateKey(int.from_bytes(sm3(b"key table %d" % i), "big")) for i in range(count)]


def test_verification_agrees_with_and_without_tables(fresh_tables: None) -> None:
    keys = _keys(3)
    signed = [(k, k.sign(b"m%d" % i), b"m%d" % i) for i, k in enumerate(keys)]
    rng = random.Random(3)
    for round_ in range(40):  # every key crosses the admission threshold in the middle
        key, sig, message = rng.choice(signed)
        key.public_key().verify(sig, message)
        with pytest.raises(InvalidSignature):
            key.public_key().verify(sig, message + b"x")
        other = signed[(signed.index((key, sig, message)) + 1) % 3]
        with pytest.raises(InvalidSignature):  # a signature by another key, whose table exists
            key.public_key().verify(other[1], other[2])
        del round_
    assert len(ec.key_tables()) == 3
    ec.set_key_table_budget(0)
    for key, sig, message in signed:
        key.public_key().verify(sig, message)
        with pytest.raises(InvalidSignature):
            key.public_key().verify(sig, message + b"x")


def test_tables_are_shared_by_point_not_by_key_object(fresh_tables: None) -> None:
    key = _keys(1)[0]
    sig = key.sign(b"ca")
    for _ in range(10):  # new public-key objects each time, as parsing a chain gives
        SM2PrivateKey(key.d).public_key().verify(sig, b"ca")
    assert len(ec.key_tables()) == 1


def test_table_size_estimate_holds() -> None:
    """The budget counts ``_KEY_TABLE_BYTES`` per table: measure a real one (objects it holds)."""
    key = _keys(1)[0].public_key()
    table = ec._fixed_base_table(SM2P256V1, key.x, key.y, ec._KEY_WINDOW)
    size = sys.getsizeof(table) + sum(
        sys.getsizeof(row)
        + sum(sys.getsizeof(pt) + sys.getsizeof(pt[0]) + sys.getsizeof(pt[1]) for pt in row)
        for row in table
    )
    assert len(table) == 37  # 7-bit signed windows: 256 bits and a carry
    assert 0.8 * ec._KEY_TABLE_BYTES <= size <= 1.2 * ec._KEY_TABLE_BYTES


def test_base_table_waits_for_enough_uses() -> None:
    """One verification or signature does not build G's 1.5 MB table; many do; results agree."""
    curve = ec.Curve("copy", SM2P256V1.p, SM2P256V1.a, SM2P256V1.b, SM2P256V1.n, SM2P256V1.gx, SM2P256V1.gy)
    k = 0xC0FFEE
    before = curve.to_affine(curve.mul_base(k))
    assert "base" not in curve._cache
    for _ in range(ec._BASE_TABLE_AFTER):
        curve.mul_base(3)
    assert "base" in curve._cache
    assert (
        curve.to_affine(curve.mul_base(k))
        == before
        == SM2P256V1.to_affine(SM2P256V1.mul(k, curve.gx, curve.gy))
    )
