"""The registry: serial allocation under concurrent issuing, records, status, versions."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.errors import InputError, RegistryError
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.registry import CertStatus, SQLiteRegistry

TYPE = "11100000000013338W001"
ISSUER = "11330100MB01234570"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _metadata(serial: str, version: int = 1) -> CoreMetadata:
    return CoreMetadata.from_values(
        {
            "certificate_name": "二级建造师注册证书",
            "type_code": TYPE,
            "number": f"冀{serial}",
            "identifier": Identifier.build(TYPE, ISSUER, serial, version),
            "issuer_name": "示例市住房和城乡建设局",
            "issuer_code": ISSUER,
            "issue_date": "2026-11-24",
            "holder_name": "李志国",
            "holder_code": "13043419840726291X",
            "holder_code_type_code": "111",
            "valid_until": "2029-11-23",
        }
    )


def _worker(path: str, count: int, crash_every: int) -> list[str]:
    issued = []
    with SQLiteRegistry.open(path) as reg:
        for i in range(count):
            serial = reg.allocate_serial(TYPE, ISSUER, period="2026")
            if crash_every and i % crash_every == crash_every - 1:
                continue  # "crash" between allocation and writing the record
            md = _metadata(serial)
            reg.record_issued(md, package_digest="00", signer="worker", issued_at=NOW)
            issued.append(str(md.identifier))
    return issued


def test_concurrent_issuing_from_four_processes(tmp_path: Path) -> None:
    db = str(tmp_path / "reg.db")
    SQLiteRegistry.open(db).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.starmap(_worker, [(db, 1250, 97)] * 4)
    issued = [i for r in results for i in r]
    assert len(issued) == len(set(issued))
    with SQLiteRegistry.open(db) as reg:
        states = reg.serial_states(TYPE, ISSUER)
        assert len(states) == 5000
        assert reg.reconcile(datetime.now(UTC) + timedelta(seconds=1)) == 5000 - len(issued)
        states = reg.serial_states(TYPE, ISSUER)
        assert set(states.values()) <= {"issued", "gap"}
        assert sum(1 for s in states.values() if s == "issued") == len(issued)
        assert len(reg.gaps(TYPE, ISSUER)) == 5000 - len(issued)


def test_status_changes_and_history(tmp_path: Path) -> None:
    with SQLiteRegistry.open(tmp_path / "r.db") as reg:
        serial = reg.allocate_serial(TYPE, ISSUER)
        md = _metadata(serial)
        ident = str(md.identifier)
        reg.record_issued(md, package_digest="00", signer="s", issued_at=NOW)
        with pytest.raises(RegistryError):
            reg.record_issued(md, package_digest="00", signer="s", issued_at=NOW)
        reg.suspend(ident, reason="暂扣", by="clerk", at=NOW)
        reg.reinstate(ident, reason="发还", by="clerk", at=NOW)
        reg.revoke(ident, reason="吊销", by="clerk", at=NOW)
        with pytest.raises(RegistryError, match="cannot change status"):
            reg.cancel(ident, reason="注销", by="clerk", at=NOW)
        assert [h[0] for h in reg.history(ident)] == ["valid", "suspended", "valid", "revoked"]
        entry = reg.status_of(ident)
        assert entry is not None and entry.status is CertStatus.REVOKED and entry.reason == "吊销"
        assert reg.status_of("1.2.156.3005.2.unknown") is None
        with pytest.raises(InputError):
            reg.revoke(ident, reason=" ", by="x", at=NOW)


def test_renewal_keeps_the_version_chain(tmp_path: Path) -> None:
    with SQLiteRegistry.open(tmp_path / "r.db") as reg:
        serial = reg.allocate_serial(TYPE, ISSUER)
        v1 = _metadata(serial)
        reg.record_issued(v1, package_digest="00", signer="s", issued_at=NOW)
        v2 = _metadata(serial, version=2)
        reg.renew(str(v1.identifier), v2, package_digest="01", signer="s", issued_at=NOW)
        assert [r.metadata.identifier.version for r in reg.versions(str(v2.identifier))] == [1, 2]
        old = reg.get(str(v1.identifier))
        assert old.status is CertStatus.REPLACED and old.replaced_by == str(v2.identifier)
        with pytest.raises(RegistryError, match="next version"):
            reg.renew(
                str(v2.identifier),
                _metadata(serial, version=5),
                package_digest="0",
                signer="s",
                issued_at=NOW,
            )


def test_queries(tmp_path: Path) -> None:
    with SQLiteRegistry.open(tmp_path / "r.db") as reg:
        for _ in range(3):
            reg.record_issued(
                _metadata(reg.allocate_serial(TYPE, ISSUER)), package_digest="0", signer="s", issued_at=NOW
            )
        assert len(reg.find(holder_code="13043419840726291X")) == 3
        assert len(reg.find(type_code=TYPE, issuer_code=ISSUER)) == 3
        assert reg.find(holder_code="11010519491231002X") == ()
        assert len(reg.find(status=CertStatus.VALID)) == 3
        from datetime import date

        assert len(reg.find(issued_from=date(2026, 11, 24), issued_to=date(2026, 11, 24))) == 3
        assert reg.find(issued_from=date(2026, 11, 25)) == ()
