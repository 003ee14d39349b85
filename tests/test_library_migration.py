"""A registry made by ecert 0.1 (SQLite schema 3, built here with that version's DDL, kept in
``ecert.registry.legacy.SCHEMA``) opens as a library and loses nothing: every record, status,
history entry, serial, gap and counter is there after the migration, and the new logs check out."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from ecert.metadata import CoreMetadata
from ecert.metadata.jsonform import to_json
from ecert.registry import CertStatus, SQLiteRegistry
from ecert.registry.legacy import SCHEMA

from .test_registry import ISSUER, NOW, TYPE, metadata

T = [NOW + timedelta(hours=h) for h in range(10)]


def _iso(i: int) -> str:
    return T[i].isoformat(timespec="microseconds")


def _schema_3_file(path: Path) -> dict[str, dict[str, object]]:
    """The rows ecert 0.1 wrote for: a valid certificate; one suspended, reinstated and revoked; one
    renewed (version 1 replaced by version 2); one cancelled; a gap and an open allocation."""
    db = sqlite3.connect(path)
    for statement in SCHEMA:
        db.execute(statement)
    db.execute("INSERT INTO schema_version VALUES (3)")
    expected: dict[str, dict[str, object]] = {}

    def record(
        md: CoreMetadata,
        status: str,
        reason: str | None,
        changed: int,
        by: str | None,
        replaced_by: str | None,
        history: list[tuple[str, str | None, str | None, int]],
        key: str | None,
    ) -> str:
        ident = md.identifier
        parts = (ident.type_code, ident.issuer_code, ident.serial)
        if ident.version == 1:
            db.execute(
                "INSERT INTO serials VALUES (?, ?, ?, '2026', 'issued', ?, ?, NULL)",
                (*parts, _iso(0), _iso(0)),
            )
        digest = f"{ident.version:02x}" * 32
        db.execute(
            "INSERT INTO certificates VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                str(ident),
                *parts,
                ident.version,
                md.holder_code,
                md.issue_date.isoformat(),
                to_json(md),
                digest,
                "CN=dept",
                _iso(0),
                f"/out/{ident}.ofd",
                key,
                status,
                reason,
                _iso(changed),
                by,
                replaced_by,
                md.issuer_code,
            ),
        )
        for status_, reason_, by_, at in history:
            db.execute(
                "INSERT INTO history VALUES (NULL, ?, ?, ?, ?, ?)",
                (str(ident), status_, reason_, by_, _iso(at)),
            )
        expected[str(ident)] = {
            "metadata": md,
            "digest": digest,
            "status": status,
            "reason": reason,
            "changed": T[changed],
            "by": by,
            "replaced_by": replaced_by,
            "history": history,
            "key": key,
        }
        return str(ident)

    issued = ("valid", "issued", "CN=dept", 0)
    record(metadata("2026000001"), "valid", None, 0, "CN=dept", None, [issued], "row-1")
    record(
        metadata("2026000002"),
        "revoked",
        "吊销",
        3,
        "局长",
        None,
        [
            issued,
            ("suspended", "暂扣", "科员", 1),
            ("valid", "发还", "科员", 2),
            ("revoked", "吊销", "局长", 3),
        ],
        "row-2",
    )
    v2 = str(metadata("2026000003", 2).identifier)
    record(
        metadata("2026000003"),
        "replaced",
        "renewed",
        4,
        "CN=dept",
        v2,
        [issued, ("replaced", "renewed", "CN=dept", 4)],
        None,
    )
    record(
        metadata("2026000003", 2),
        "valid",
        None,
        4,
        "CN=dept",
        None,
        [("valid", "issued", "CN=dept", 4)],
        None,
    )
    record(
        metadata("2026000004"),
        "cancelled",
        "企业注销",
        5,
        "科员",
        None,
        [issued, ("cancelled", "企业注销", "科员", 5)],
        "row-4",
    )
    db.execute(
        "INSERT INTO serials VALUES (?, ?, '2026000005', '2026', 'gap', ?, ?, 'package refused')",
        (TYPE, ISSUER, _iso(6), _iso(6)),
    )
    db.execute(
        "INSERT INTO serials VALUES (?, ?, '2026000006', '2026', 'allocated', ?, NULL, NULL)",
        (TYPE, ISSUER, _iso(7)),
    )
    db.execute("INSERT INTO counters VALUES (?, ?, '2026', 7)", (TYPE, ISSUER))
    db.commit()
    db.close()
    return expected


def test_a_schema_3_registry_migrates_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    expected = _schema_3_file(path)
    with SQLiteRegistry.open(path, create=False) as lib:
        for identifier, want in expected.items():
            rec = lib.get(identifier)
            assert rec.metadata == want["metadata"]
            assert (rec.package_digest, rec.signer, rec.issued_at, rec.file_path, rec.source_key) == (
                want["digest"],
                "CN=dept",
                T[0],
                f"/out/{identifier}.ofd",
                want["key"],
            )
            assert (rec.status.value, rec.status_reason, rec.status_changed_at, rec.status_changed_by) == (
                want["status"],
                want["reason"],
                want["changed"],
                want["by"],
            )
            assert rec.replaced_by == want["replaced_by"]
            history = [(h.status.value, h.reason, h.by, h.at) for h in lib.history(identifier)]
            assert history == [(s, r, b, T[i]) for s, r, b, i in want["history"]]  # type: ignore[attr-defined]
            assert lib.holders(identifier)[0].code == rec.metadata.holder_code
        assert [v.identifier for v in lib.versions(str(metadata("2026000003").identifier))] == [
            str(metadata("2026000003").identifier),
            str(metadata("2026000003", 2).identifier),
        ]
        states = lib.serial_states(TYPE, ISSUER)
        assert states == {
            "2026000001": "issued",
            "2026000002": "issued",
            "2026000003": "issued",
            "2026000004": "issued",
            "2026000005": "gap",
            "2026000006": "allocated",
        }
        assert [g.reason for g in lib.gaps(TYPE, ISSUER)] == ["package refused"]
        assert lib.allocate_serial(TYPE, ISSUER, period="2026") == "2026000007"  # the counter goes on
        assert [e.status for e in lib.non_valid()] == [
            CertStatus.REVOKED,
            CertStatus.REPLACED,
            CertStatus.CANCELLED,
        ]
        result = lib.check()
        assert result.ok, result.problems
        assert result.status_events == sum(len(w["history"]) for w in expected.values())  # type: ignore[arg-type]
        assert lib.published_type(TYPE).catalog_version == 1
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == 4
    assert not db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'v3_%'").fetchall()
    db.close()


def test_a_migration_that_fails_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _schema_3_file(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE certificates SET metadata='{not json' WHERE serial='2026000004'")
    db.commit()
    before = db.execute("SELECT count(*) FROM certificates").fetchone()
    db.close()
    import pytest

    from ecert.errors import RegistryError

    with pytest.raises(RegistryError, match="unreadable metadata"):
        SQLiteRegistry.open(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM certificates").fetchone() == before
    db.close()
