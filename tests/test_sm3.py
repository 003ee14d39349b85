"""SM3 (GB/T 32905-2016) against the vectors of spec/vectors/sm3.json."""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from typing import Any

import pytest

from ecert.crypto.digests import DigestAlgorithm, sm3

VECTORS: dict[str, Any] = json.loads((files("ecert") / "spec" / "vectors" / "sm3.json").read_text("utf-8"))


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_sm3_vectors(vector: dict[str, str]) -> None:
    message = bytes.fromhex(vector["message_hex"])
    assert sm3(message).hex() == vector["digest"]
    hasher = DigestAlgorithm.SM3.hasher()
    for i in range(0, len(message), 7):  # incremental hashing gives the same digest
        hasher.update(message[i : i + 7])
    assert hasher.finalize().hex() == vector["digest"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_sm3_known_wrong_digest_is_not_ours(vector: dict[str, str]) -> None:
    assert not sm3(bytes.fromhex(vector["message_hex"])).hex().endswith(vector["digest_suffix"])


def test_sm3_agrees_with_hashlib_when_available() -> None:
    if "sm3" not in hashlib.algorithms_available:
        pytest.skip("this Python's OpenSSL has no SM3")
    for size in (0, 1, 55, 56, 63, 64, 65, 1000):
        data = bytes(range(256)) * 4
        assert sm3(data[:size]) == hashlib.new("sm3", data[:size]).digest()
