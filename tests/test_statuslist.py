"""Signed status lists: revocation reaches offline verifiers; tampered or untrusted lists are refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.errors import EcertError, InputError
from ecert.registry import CertStatus, SQLiteRegistry, StatusEntry, StatusList
from ecert.verify import verify

from .certs import NOW, draft, issued_file, signer, trust_store

ENTRY = StatusEntry("1.2.156.3005.2.X", CertStatus.REVOKED, "违法", NOW, None)


def _signed(entries: list[StatusEntry], kind: str = "sm2") -> bytes:
    return StatusList.build(entries, issuer="dept", issued_at=NOW, next_update=NOW + timedelta(days=7)).sign(
        signer(kind)
    )


@pytest.mark.parametrize("kind", ["sm2", "p256"])
def test_round_trip(kind: str) -> None:
    loaded = StatusList.load(_signed([ENTRY], kind), trust=trust_store(kind), at=NOW)
    entry = loaded.status_of(ENTRY.identifier)
    assert entry is not None and entry.status is CertStatus.REVOKED
    assert loaded.status_of("other") is None


def test_revocation_online_and_offline(tmp_path: Path) -> None:
    md = draft().metadata
    with SQLiteRegistry.open(tmp_path / "r.db") as reg:
        reg.record_issued(md, package_digest="0", signer="s", issued_at=NOW)
        assert verify(issued_file(), trust=trust_store(), at=NOW, status=reg).ok
        reg.revoke(str(md.identifier), reason="以欺骗手段取得", by="clerk", at=NOW)
        online = verify(issued_file(), trust=trust_store(), at=NOW, status=reg)
        assert not online.ok and online.failed("status")
        assert "以欺骗手段取得" in online.to_text()
        offline_list = StatusList.load(
            StatusList.build(reg.non_valid(), issuer="dept", issued_at=NOW).sign(signer()),
            trust=trust_store(),
            at=NOW,
        )
    offline = verify(issued_file(), trust=trust_store(), at=NOW, status=offline_list)
    assert not offline.ok and offline.failed("status")
    assert "revoked" in offline.to_text() and "以欺骗手段取得" in offline.to_text()


def test_every_payload_byte_matters() -> None:
    data = json.loads(_signed([ENTRY]))
    payload = base64.b64decode(data["payload"])
    for i in range(len(payload)):
        mutated = bytearray(payload)
        mutated[i] ^= 0x01
        data["payload"] = base64.b64encode(bytes(mutated)).decode()
        with pytest.raises(EcertError):
            StatusList.load(json.dumps(data).encode(), trust=trust_store(), at=NOW)


def test_swapped_signature_and_untrusted_signer() -> None:
    a, b = json.loads(_signed([ENTRY])), json.loads(_signed([]))
    a["signature"] = b["signature"]
    with pytest.raises(EcertError):
        StatusList.load(json.dumps(a).encode(), trust=trust_store(), at=NOW)
    stranger = DemoHierarchy.create("sm2", now=NOW)
    foreign = StatusList.build([ENTRY], issuer="x", issued_at=NOW).sign(
        Signer(stranger.issuer_key, stranger.issuer_cert)
    )
    with pytest.raises(EcertError, match="not trusted"):
        StatusList.load(foreign, trust=trust_store(), at=NOW)
    assert StatusList.load(foreign, trust=TrustStore.from_certificates(stranger.root_cert), at=NOW)


def test_stale_list_is_refused() -> None:
    with pytest.raises(InputError, match="stale"):
        StatusList.load(_signed([ENTRY]), trust=trust_store(), at=NOW + timedelta(days=8))


@pytest.mark.parametrize(
    "garbage", [b"", b"{}", b"[1]", b'{"format": "ecert-status-list/1"}', b"\xff\xfe", b"null"]
)
def test_garbage_is_refused(garbage: bytes) -> None:
    with pytest.raises(EcertError):
        StatusList.load(garbage, trust=trust_store(), at=NOW)


def test_duplicates_and_valid_entries_are_refused() -> None:
    with pytest.raises(InputError):
        StatusList.build([ENTRY, ENTRY], issuer="x", issued_at=NOW)
    with pytest.raises(InputError):
        StatusList.build(
            [StatusEntry("a", CertStatus.VALID, None, NOW)], issuer="x", issued_at=datetime.now(UTC)
        )
