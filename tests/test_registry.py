"""The registry: serials and gaps, issued records, status transitions, history, versions, queries."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ecert.cli import main
from ecert.errors import InputError, RegistryError
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.metadata.jsonform import to_json
from ecert.registry import CertStatus, SQLiteRegistry, from_profile_code, profile_code

TYPE = "11100000000013338W001"
OTHER_TYPE = "11100000000013338W050"
ISSUER = "11330100MB01234570"
OTHER_ISSUER = "11330200MB0543216C"
HOLDER = "13043419840726291X"
OTHER_HOLDER = "11010519491231002X"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def metadata(
    serial: str,
    version: int = 1,
    *,
    type_code: str = TYPE,
    issuer: str = ISSUER,
    holder: str = HOLDER,
    issue_date: str = "2026-11-24",
) -> CoreMetadata:
    """Light core metadata (no catalogue, no package): what the registry stores."""
    return CoreMetadata.from_values(
        {
            "certificate_name": "二级建造师注册证书",
            "type_code": type_code,
            "number": f"冀{serial}",
            "identifier": Identifier.build(type_code, issuer, serial, version),
            "issuer_name": "示例市住房和城乡建设局",
            "issuer_code": issuer,
            "issue_date": issue_date,
            "holder_name": "李志国",
            "holder_code": holder,
            "holder_code_type_code": "111",
            "valid_until": "2029-11-23",
        }
    )


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[SQLiteRegistry]:
    with SQLiteRegistry.open(tmp_path / "r.db") as registry:
        yield registry


def issue(reg: SQLiteRegistry, **kw: str) -> str:
    type_code, issuer = kw.get("type_code", TYPE), kw.get("issuer", ISSUER)
    serial = reg.allocate_serial(type_code, issuer, period="2026")
    record = reg.record_issued(metadata(serial, **kw), package_digest="ab" * 32, signer="s", issued_at=NOW)
    return record.identifier


# --- serials --------------------------------------------------------------------------------------


def test_serials_count_per_period_with_prefix_and_width(reg: SQLiteRegistry) -> None:
    assert reg.allocate_serial(TYPE, ISSUER, period="2026") == "2026000001"
    assert reg.allocate_serial(TYPE, ISSUER, period="2026") == "2026000002"
    assert reg.allocate_serial(TYPE, ISSUER, period="2027") == "2027000001"
    assert reg.allocate_serial(TYPE, OTHER_ISSUER, period="2026") == "2026000001"
    assert reg.allocate_serial(TYPE, ISSUER) == "0000000001"
    assert reg.allocate_serial(TYPE, ISSUER, period="2028", prefix="zj2028", width=12) == "ZJ2028000001"
    assert reg.allocate_serial(TYPE, ISSUER, period="x", width=3) == "X01"


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"period": "二〇二六"}, "period"),
        ({"period": "20-26"}, "period"),
        ({"prefix": "A.B"}, "prefix"),
        ({"period": "2026", "width": 4}, "width"),
        ({"width": 100}, "width"),
    ],
)
def test_bad_serial_shapes_are_refused(reg: SQLiteRegistry, kwargs: dict[str, object], where: str) -> None:
    with pytest.raises(InputError) as info:
        reg.allocate_serial(TYPE, ISSUER, **kwargs)  # type: ignore[arg-type]
    assert info.value.where == where


def test_bad_codes_are_refused_before_anything_is_written(reg: SQLiteRegistry) -> None:
    with pytest.raises(InputError):
        reg.allocate_serial("123", ISSUER)
    assert reg.serial_states("123", ISSUER) == {}


def test_serial_space_exhaustion_and_prefix_collision(reg: SQLiteRegistry) -> None:
    for _ in range(9):
        reg.allocate_serial(TYPE, ISSUER, period="A", width=2)
    with pytest.raises(RegistryError, match="exhausted"):
        reg.allocate_serial(TYPE, ISSUER, period="A", width=2)
    reg.allocate_serial(TYPE, ISSUER, period="P1", prefix="Z")
    with pytest.raises(RegistryError, match="prefix"):
        reg.allocate_serial(TYPE, ISSUER, period="P2", prefix="Z")


def test_allocation_skips_serials_taken_by_imported_certificates(reg: SQLiteRegistry) -> None:
    """Imported certificates ahead of the counter are stepped over, in one allocation, never handed out."""
    taken = {"2026000002", "2026000003", "2026000004", "2026000007", "20260000051"}  # the last: another shape
    for serial in taken:
        reg.record_issued(metadata(serial), package_digest="00" * 32, signer="s", issued_at=NOW)
    got = [reg.allocate_serial(TYPE, ISSUER, period="2026") for _ in range(5)]
    assert got == ["2026000001", "2026000005", "2026000006", "2026000008", "2026000009"]
    states = reg.serial_states(TYPE, ISSUER)
    assert all(states[s] == "issued" for s in taken) and all(states[s] == "allocated" for s in got)


def test_allocation_skipping_to_the_end_of_the_width_is_exhaustion(reg: SQLiteRegistry) -> None:
    for serial in ("A8", "A9"):
        reg.record_issued(metadata(serial), package_digest="00" * 32, signer="s", issued_at=NOW)
    assert [reg.allocate_serial(TYPE, ISSUER, period="a", width=2) for _ in range(7)][-1] == "A7"
    with pytest.raises(RegistryError, match="exhausted"):
        reg.allocate_serial(TYPE, ISSUER, period="A", width=2)
    assert reg.serial_states(TYPE, ISSUER)["A8"] == "issued"  # the failed allocation wrote nothing


def test_periods_are_case_insensitive_and_validated(reg: SQLiteRegistry) -> None:
    assert reg.allocate_serial(TYPE, ISSUER, period="q", width=4) == "Q001"
    assert reg.allocate_serial(TYPE, ISSUER, period="Q", width=4) == "Q002"
    assert reg.allocate_serial(TYPE, ISSUER, period="2026q1", prefix="x", width=4) == "X001"
    assert reg.allocate_serial(TYPE, ISSUER, period="2026Q1", prefix="X", width=4) == "X002"
    for bad in ("ß", "ﬁ", "ı", "\udcff", "A" * 65, None, 2026):  # "ß".upper() == "SS": checked before upper()
        with pytest.raises(InputError) as info:
            reg.allocate_serial(TYPE, ISSUER, period=bad)  # type: ignore[arg-type]
        assert info.value.where == "period"


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"prefix": "ß"}, "prefix"),
        ({"prefix": 5}, "prefix"),
        ({"width": "10"}, "width"),
        ({"width": 9.5}, "width"),
        ({"width": True}, "width"),
    ],
)
def test_bad_serial_argument_types_are_refused(
    reg: SQLiteRegistry, kwargs: dict[str, object], where: str
) -> None:
    with pytest.raises(InputError) as info:
        reg.allocate_serial(TYPE, ISSUER, **kwargs)  # type: ignore[arg-type]
    assert info.value.where == where


def test_gaps_explicit_and_reconciled(reg: SQLiteRegistry) -> None:
    a, b, c = (reg.allocate_serial(TYPE, ISSUER, period="2026") for _ in range(3))
    reg.record_issued(metadata(b), package_digest="00" * 32, signer="s", issued_at=NOW)
    reg.record_gap(TYPE, ISSUER, a, "printer jammed; file discarded")
    with pytest.raises(RegistryError, match="not an open allocation"):
        reg.record_gap(TYPE, ISSUER, a, "again")
    with pytest.raises(RegistryError, match="not an open allocation"):
        reg.record_gap(TYPE, ISSUER, b, "issued already")
    assert reg.reconcile(datetime.now(UTC) - timedelta(hours=1)) == 0  # c is too recent
    assert reg.reconcile(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert reg.serial_states(TYPE, ISSUER) == {a: "gap", b: "issued", c: "gap"}
    gaps = reg.gaps(TYPE, ISSUER)
    assert [(g.serial, g.reason) for g in gaps] == [
        (a, "printer jammed; file discarded"),
        (c, "allocated but never issued (reconciled)"),
    ]
    assert all(g.allocated_at <= g.closed_at for g in gaps)
    with pytest.raises(RegistryError, match="gap"):  # a late writer cannot issue an abandoned serial
        reg.record_issued(metadata(c), package_digest="00" * 32, signer="s", issued_at=NOW)


# --- records --------------------------------------------------------------------------------------


def test_record_and_get(reg: SQLiteRegistry) -> None:
    serial = reg.allocate_serial(TYPE, ISSUER, period="2026")
    md = metadata(serial)
    issued_at = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC) + timedelta(hours=0)
    made = reg.record_issued(
        md,
        package_digest="ab" * 32,
        signer="CN=发证",
        issued_at=issued_at,
        file_path="out/x.ofd",
        source_key="k1",
    )
    got = reg.get(str(md.identifier))
    assert got == made
    assert got.metadata == md and got.status is CertStatus.VALID and got.issued_at == issued_at
    assert got.file_path == "out/x.ofd" and got.signer == "CN=发证" and got.replaced_by is None
    assert reg.find_by_source_key("k1") == got and reg.find_by_source_key("k2") is None
    with pytest.raises(RegistryError, match="already recorded"):
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=NOW)
    other = metadata(reg.allocate_serial(TYPE, ISSUER, period="2026"))
    with pytest.raises(RegistryError, match="source key"):
        reg.record_issued(other, package_digest="00" * 32, signer="s", issued_at=NOW, source_key="k1")
    with pytest.raises(RegistryError, match="no certificate"):
        reg.get("1.2.156.3005.2.unknown")


def test_record_refusals(reg: SQLiteRegistry) -> None:
    serial = reg.allocate_serial(TYPE, ISSUER)
    with pytest.raises(InputError, match="timezone"):
        reg.record_issued(
            metadata(serial), package_digest="00" * 32, signer="s", issued_at=datetime(2026, 1, 1)
        )
    with pytest.raises(InputError, match="hex"):
        reg.record_issued(metadata(serial), package_digest="XYZ", signer="s", issued_at=NOW)
    with pytest.raises(InputError):
        reg.record_issued(metadata(serial), package_digest="00" * 32, signer=" ", issued_at=NOW)
    reg.record_issued(metadata(serial), package_digest="00" * 32, signer="s", issued_at=NOW)
    with pytest.raises(RegistryError, match="use renew"):
        reg.record_issued(metadata(serial, 2), package_digest="00" * 32, signer="s", issued_at=NOW)
    assert reg.serial_states(TYPE, ISSUER) == {serial: "issued"}


def test_imported_certificate_without_allocation(reg: SQLiteRegistry) -> None:
    reg.record_issued(metadata("LEGACY42"), package_digest="00" * 32, signer="s", issued_at=NOW)
    assert reg.serial_states(TYPE, ISSUER) == {"LEGACY42": "issued"}


def test_queries_by_each_criterion(reg: SQLiteRegistry) -> None:
    a = issue(reg)
    b = issue(reg, holder=OTHER_HOLDER, issue_date="2026-01-05")
    c = issue(reg, type_code=OTHER_TYPE)
    d = issue(reg, issuer=OTHER_ISSUER, issue_date="2025-12-31")
    reg.revoke(c, reason="r", by="clerk", at=NOW)

    def ids(**kw: object) -> set[str]:
        return {r.identifier for r in reg.find(**kw)}  # type: ignore[arg-type]

    assert ids() == {a, b, c, d}
    assert ids(holder_code=OTHER_HOLDER) == {b}
    assert ids(type_code=OTHER_TYPE) == {c}
    assert ids(issuer_code=OTHER_ISSUER) == {d}
    assert ids(issued_from=date(2026, 1, 1)) == {a, b, c}
    assert ids(issued_to=date(2026, 1, 5)) == {b, d}
    assert ids(issued_from=date(2026, 1, 5), issued_to=date(2026, 1, 5)) == {b}
    assert ids(status=CertStatus.REVOKED) == {c}
    assert ids(status=CertStatus.VALID, holder_code=HOLDER, type_code=TYPE, issuer_code=ISSUER) == {a}
    assert ids(holder_code="nobody") == set()


def division_metadata(serial: str, division: str = "340100") -> CoreMetadata:
    """Issued by ISSUER, but the identifier's issuer part is a division code."""
    md = metadata(serial)
    return dataclasses.replace(md, identifier=Identifier.build(TYPE, division, serial))


def test_issuer_filters_mean_the_issuing_authority(reg: SQLiteRegistry) -> None:
    """find/non_valid(issuer_code=) match metadata.issuer_code, not the identifier's issuer part."""
    serial = reg.allocate_serial(TYPE, "340100", period="2026")
    division = reg.record_issued(
        division_metadata(serial), package_digest="00" * 32, signer="s", issued_at=NOW
    )
    assert Identifier.parse(division.identifier).issuer_code == "340100"
    other = issue(reg, issuer=OTHER_ISSUER)
    reg.revoke(division.identifier, reason="吊销", by="clerk", at=NOW)
    reg.revoke(other, reason="吊销", by="clerk", at=NOW)
    assert {r.identifier for r in reg.find(issuer_code=ISSUER)} == {division.identifier}
    assert reg.find(issuer_code="340100") == ()
    assert [e.identifier for e in reg.non_valid(issuer_code=ISSUER)] == [division.identifier]
    assert [e.identifier for e in reg.non_valid(issuer_code=OTHER_ISSUER)] == [other]
    assert reg.non_valid(issuer_code="340100") == ()
    assert reg.serial_states(TYPE, "340100") == {serial: "issued"}  # serials stay per identifier part
    assert len(reg.find(limit=2)) == 2
    with pytest.raises(InputError):
        reg.find(limit=0)
    with pytest.raises(InputError, match="date"):
        reg.find(issued_from=NOW)


# --- status ---------------------------------------------------------------------------------------


def test_allowed_transitions_and_history(reg: SQLiteRegistry) -> None:
    ident = issue(reg)
    reg.suspend(ident, reason="暂扣六个月", by="clerk", at=NOW)
    assert reg.get(ident).status is CertStatus.SUSPENDED
    reg.reinstate(ident, reason="发还", by="clerk", at=NOW + timedelta(days=1))
    record = reg.revoke(ident, reason="吊销", by="chief", at=NOW + timedelta(days=2))
    assert record.status is CertStatus.REVOKED and record.status_reason == "吊销"
    assert record.status_changed_by == "chief" and record.status_changed_at == NOW + timedelta(days=2)
    history = reg.history(ident)
    assert [(h.status, h.reason, h.by) for h in history] == [
        (CertStatus.VALID, "issued", "s"),
        (CertStatus.SUSPENDED, "暂扣六个月", "clerk"),
        (CertStatus.VALID, "发还", "clerk"),
        (CertStatus.REVOKED, "吊销", "chief"),
    ]
    entry = reg.status_of(ident)
    assert entry is not None and entry.status is CertStatus.REVOKED and entry.reason == "吊销"
    assert not entry.is_valid and entry.status_name_zh == "吊销"
    assert reg.status_of("1.2.156.3005.2.unknown") is None
    assert reg.non_valid() == (entry,)


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ([], CertStatus.VALID),  # already valid
        ([CertStatus.REVOKED], CertStatus.VALID),
        ([CertStatus.REVOKED], CertStatus.CANCELLED),
        ([CertStatus.CANCELLED], CertStatus.SUSPENDED),
        ([CertStatus.CANCELLED], CertStatus.VALID),
        ([CertStatus.SUSPENDED], CertStatus.SUSPENDED),
    ],
)
def test_refused_transitions(reg: SQLiteRegistry, steps: list[CertStatus], refused: CertStatus) -> None:
    ident = issue(reg)
    for step in steps:
        reg.set_status(ident, step, reason="r", by="b", at=NOW)
    with pytest.raises(RegistryError, match="cannot change status"):
        reg.set_status(ident, refused, reason="r", by="b", at=NOW)
    assert len(reg.history(ident)) == 1 + len(steps)


def test_status_change_refusals(reg: SQLiteRegistry) -> None:
    ident = issue(reg)
    with pytest.raises(RegistryError, match="renew"):
        reg.set_status(ident, CertStatus.REPLACED, reason="r", by="b", at=NOW)
    with pytest.raises(InputError, match="empty"):
        reg.revoke(ident, reason=" ", by="b", at=NOW)
    with pytest.raises(InputError, match="empty"):
        reg.revoke(ident, reason="r", by="", at=NOW)
    with pytest.raises(InputError, match="timezone"):
        reg.revoke(ident, reason="r", by="b", at=datetime(2026, 11, 25))
    with pytest.raises(RegistryError, match="precede"):
        reg.revoke(ident, reason="r", by="b", at=NOW - timedelta(seconds=1))
    with pytest.raises(RegistryError, match="no certificate"):
        reg.revoke("1.2.156.3005.2.unknown", reason="r", by="b", at=NOW)
    assert reg.get(ident).status is CertStatus.VALID


def test_renewal_keeps_the_version_chain(reg: SQLiteRegistry) -> None:
    v1 = issue(reg)
    serial = Identifier.parse(v1).serial
    v2md = metadata(serial, 2)
    v2 = reg.renew(v1, v2md, package_digest="01" * 32, signer="s", issued_at=LATER, by="clerk").identifier
    v3 = reg.renew(v2, metadata(serial, 3), package_digest="02" * 32, signer="s", issued_at=LATER).identifier
    chain = reg.versions(v1)
    assert [r.identifier for r in chain] == [v1, v2, v3] == [r.identifier for r in reg.versions(v3)]
    assert [r.status for r in chain] == [CertStatus.REPLACED, CertStatus.REPLACED, CertStatus.VALID]
    assert chain[0].replaced_by == v2 and chain[1].replaced_by == v3 and chain[2].replaced_by is None
    assert chain[0].status_changed_by == "clerk" and chain[1].status_changed_by == "s"
    entry = reg.status_of(v1)
    assert entry is not None and entry.replaced_by == v2
    assert str(v2md.identifier) == str(Identifier.parse(v1).next_version())


def test_renewal_refusals_leave_nothing_behind(reg: SQLiteRegistry) -> None:
    v1 = issue(reg)
    serial = Identifier.parse(v1).serial
    kw = {"package_digest": "01" * 32, "signer": "s", "issued_at": LATER}
    with pytest.raises(RegistryError, match="next version"):
        reg.renew(v1, metadata(serial, 3), **kw)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="next version"):
        reg.renew(v1, metadata("OTHER1", 2), **kw)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="holder"):
        reg.renew(v1, metadata(serial, 2, holder=OTHER_HOLDER), **kw)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="no certificate"):
        reg.renew("1.2.156.3005.2.unknown", metadata(serial, 2), **kw)  # type: ignore[arg-type]
    reg.revoke(v1, reason="吊销", by="b", at=NOW)
    with pytest.raises(RegistryError, match="cannot change status"):
        reg.renew(v1, metadata(serial, 2), **kw)  # type: ignore[arg-type]
    assert [r.identifier for r in reg.versions(v1)] == [v1]  # the new version was rolled back


def test_profile_codes_only_at_the_edges() -> None:
    assert profile_code(CertStatus.REVOKED, "mohurd-a") == "03"
    assert profile_code(CertStatus.REVOKED, "mohurd-b") == "03"
    assert profile_code(CertStatus.CANCELLED, "mohurd-a") == "04"
    assert profile_code(CertStatus.CANCELLED, "mohurd-b") == "05"
    assert from_profile_code("07", "mohurd-a") is CertStatus.REVOKED
    assert from_profile_code("02", "mohurd-b") is CertStatus.SUSPENDED
    with pytest.raises(InputError, match="not a registry status"):
        from_profile_code("05", "mohurd-a")  # 失效 follows from the dates, it is not recorded
    with pytest.raises(InputError, match="unknown status code"):
        from_profile_code("42", "mohurd-a")
    with pytest.raises(InputError, match="no code"):
        profile_code(CertStatus.REPLACED, "mohurd-a")


# --- the file -------------------------------------------------------------------------------------


def test_schema_version_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with SQLiteRegistry.open(path) as reg:  # FULL: a commit is on disk when it returns (power cuts)
        assert reg._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == 4
    db.execute("UPDATE schema_version SET version=99")
    db.commit()
    db.close()
    with pytest.raises(RegistryError, match="schema version 99"):
        SQLiteRegistry.open(path)
    with SQLiteRegistry.open(tmp_path / "fk.db") as reg:
        ident = issue(reg)
        with pytest.raises(RegistryError, match="FOREIGN KEY"), reg._write() as tx:
            tx.run("UPDATE certificates SET replaced_by='nothing' WHERE identifier=?", (ident,))


_SCHEMA_2 = (  # as ecert wrote it before schema 3 (certificates.authority_code), for the migration test
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE counters (
        type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, period TEXT NOT NULL, next INTEGER NOT NULL,
        PRIMARY KEY (type_code, issuer_code, period))""",
    """CREATE TABLE serials (
        type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, serial TEXT NOT NULL, period TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('allocated', 'issued', 'gap')),
        allocated_at TEXT NOT NULL, closed_at TEXT, note TEXT,
        PRIMARY KEY (type_code, issuer_code, serial))""",
    "CREATE INDEX serials_open ON serials (state, allocated_at)",
    """CREATE TABLE certificates (
        identifier TEXT PRIMARY KEY, type_code TEXT NOT NULL, issuer_code TEXT NOT NULL,
        serial TEXT NOT NULL, version INTEGER NOT NULL, holder_code TEXT NOT NULL, issue_date TEXT NOT NULL,
        metadata TEXT NOT NULL, package_digest TEXT NOT NULL, signer TEXT NOT NULL, issued_at TEXT NOT NULL,
        file_path TEXT, source_key TEXT UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked', 'cancelled', 'replaced')),
        status_reason TEXT, status_changed_at TEXT NOT NULL, status_changed_by TEXT,
        replaced_by TEXT REFERENCES certificates (identifier),
        UNIQUE (type_code, issuer_code, serial, version),
        FOREIGN KEY (type_code, issuer_code, serial) REFERENCES serials (type_code, issuer_code, serial))""",
    "CREATE INDEX certificates_holder ON certificates (holder_code)",
    "CREATE INDEX certificates_issue_date ON certificates (issue_date)",
    "CREATE INDEX certificates_status ON certificates (status)",
    """CREATE TABLE history (
        id INTEGER PRIMARY KEY, identifier TEXT NOT NULL REFERENCES certificates (identifier),
        status TEXT NOT NULL, reason TEXT, changed_by TEXT, changed_at TEXT NOT NULL)""",
    "CREATE INDEX history_identifier ON history (identifier)",
)


def _schema_2_file(path: Path) -> tuple[str, str]:
    """A schema-2 registry as the old code left it: a revoked division-code certificate, 'q'/'Q' counters."""
    db = sqlite3.connect(path)
    for statement in _SCHEMA_2:
        db.execute(statement)
    db.execute("INSERT INTO schema_version VALUES (2)")
    t = NOW.isoformat(timespec="microseconds")
    division, plain = division_metadata("2026000001"), metadata("Q002")
    for md, period, status in ((division, "2026", "revoked"), (plain, "Q", "valid")):
        ident = md.identifier
        key = (ident.type_code, ident.issuer_code, ident.serial)
        db.execute("INSERT INTO serials VALUES (?, ?, ?, ?, 'issued', ?, ?, NULL)", (*key, period, t, t))
        db.execute(
            "INSERT INTO certificates VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (str(ident), *key, 1, md.holder_code, md.issue_date.isoformat(), to_json(md), "00", "s", t,
             None, None, status, None, t, "clerk", None),
        )  # fmt: skip
        db.execute("INSERT INTO history VALUES (NULL, ?, 'valid', 'issued', 's', ?)", (str(ident), t))
    db.execute("INSERT INTO serials VALUES (?, ?, 'Q001', 'q', 'gap', ?, ?, 'x')", (TYPE, ISSUER, t, t))
    db.executemany(
        "INSERT INTO counters VALUES (?, ?, ?, ?)",
        [(TYPE, "340100", "2026", 2), (TYPE, ISSUER, "q", 2), (TYPE, ISSUER, "Q", 3)],
    )
    db.commit()
    db.close()
    return str(division.identifier), str(plain.identifier)


def test_a_schema_2_file_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    division, plain = _schema_2_file(path)
    with SQLiteRegistry.open(path, create=False) as reg:
        assert {r.identifier for r in reg.find(issuer_code=ISSUER)} == {division, plain}
        assert [e.identifier for e in reg.non_valid(issuer_code=ISSUER)] == [division]
        assert reg.get(division).status is CertStatus.REVOKED
        assert [h.status for h in reg.history(division)] == [CertStatus.VALID, CertStatus.REVOKED]
        assert reg.check().ok
        assert reg.allocate_serial(TYPE, ISSUER, period="q", width=4) == "Q003"  # counters merged
        assert reg.allocate_serial(TYPE, "340100", period="2026") == "2026000002"
        serial = reg.allocate_serial(TYPE, ISSUER, period="2026")
        reg.record_issued(metadata(serial), package_digest="00" * 32, signer="s", issued_at=NOW)
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == 4
    assert db.execute(
        "SELECT period, next FROM counters WHERE issuer_part=? ORDER BY period", (ISSUER,)
    ).fetchall() == [
        ("2026", 2),
        ("Q", 4),
    ]
    assert db.execute("SELECT count(*) FROM serials WHERE period='q'").fetchone()[0] == 0
    db.close()
    SQLiteRegistry.open(path).close()  # a second open finds schema 4 and changes nothing


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _schema_2_file(path)
    db = sqlite3.connect(path)
    db.execute("CREATE INDEX certificates_authority ON certificates (issuer_code)")  # the name is taken
    db.commit()
    db.close()
    with pytest.raises(RegistryError, match="certificates_authority"):
        SQLiteRegistry.open(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == 2
    assert "authority_code" not in {r[1] for r in db.execute("PRAGMA table_info(certificates)")}
    db.close()


S = "\udcff"  # a lone surrogate: what Python makes of a byte that is not UTF-8 (surrogateescape)


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda r: r.find(status="bogus"), "status"),
        (lambda r: r.set_status("x", "bogus", reason="r", by="b", at=NOW), "status"),  # type: ignore[arg-type]
        (lambda r: r.find(limit=10**30), "limit"),
        (lambda r: r.find(limit=True), "limit"),
        (lambda r: r.get(S), "identifier"),
        (lambda r: r.get(5), "identifier"),
        (lambda r: r.status_of(S), "identifier"),
        (lambda r: r.history(S), "identifier"),
        (lambda r: r.find_by_source_key(S), "source_key"),
        (lambda r: r.find(holder_code=S), "holder_code"),
        (lambda r: r.find(issuer_code=S), "issuer_code"),
        (lambda r: r.find(type_code=1), "type_code"),
        (lambda r: r.non_valid(issuer_code=S), "issuer_code"),
        (lambda r: r.revoke(S, reason="r", by="b", at=NOW), "identifier"),
        (lambda r: r.revoke("x", reason=S, by="b", at=NOW), "reason"),
        (lambda r: r.set_status(S, CertStatus.REVOKED, reason="r", by="b", at=NOW), "identifier"),
        (lambda r: r.serial_states(S, ISSUER), "type_code"),
        (lambda r: r.gaps(TYPE, S), "issuer_code"),
        (lambda r: r.record_gap(TYPE, ISSUER, S, "r"), "serial"),
        (lambda r: r.reconcile(datetime.min.replace(tzinfo=timezone(timedelta(hours=8)))), "older_than"),
        (lambda r: r.record_issued("md", package_digest="00" * 32, signer="s", issued_at=NOW), "metadata"),
        (
            lambda r: r.record_issued(
                metadata("1"), package_digest="00" * 32, signer="s", issued_at=NOW, file_path=S
            ),
            "file_path",
        ),
    ],
)
def test_bad_arguments_are_input_errors_naming_the_argument(
    reg: SQLiteRegistry, call: Callable[[SQLiteRegistry], object], where: str
) -> None:
    """Never a bare ValueError, OverflowError, UnicodeEncodeError or sqlite3 error (found by a fuzzer)."""
    with pytest.raises(InputError) as info:
        call(reg)
    assert info.value.where == where
    assert reg.find() == ()  # nothing was written


@pytest.mark.parametrize("path", ["a\x00b", b"r.db", 5, ""])
def test_unusable_paths_are_refused(path: object) -> None:
    with pytest.raises(InputError, match="registry path"):
        SQLiteRegistry.open(path)  # type: ignore[arg-type]


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.db")
    assert main(["registry", "init", "--registry", db]) == 0
    for argv in (
        ["show", S],
        ["find", "--limit", str(10**30)],
        ["find", "--issuer", S],
        ["revoke", S, "--reason", "r"],
        ["suspend", "x", "--reason", "r", "--by", S],
    ):
        capsys.readouterr()
        assert main(["registry", *argv, "--registry", db]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("ecert: error: ") and err.count("\n") == 1, err
    odd = tmp_path / "\udcffr.db"  # a file name with a byte that is not UTF-8 prints escaped
    assert main(["registry", "init", "--registry", str(odd)]) == 0
    assert "\\xffr.db: registry ready" in capsys.readouterr().out


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="no registry"):
        SQLiteRegistry.open(tmp_path / "missing.db", create=False)
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(RegistryError):
        SQLiteRegistry.open(tmp_path / "junk.db")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.close()
    with pytest.raises(RegistryError, match="not an ecert registry"):
        SQLiteRegistry.open(tmp_path / "other.db")
