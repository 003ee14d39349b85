"""The certificate library's contract (spec/library.md), run on both backends: SQLite and a real
PostgreSQL server (tests/pg.py).  Everything a caller relies on behaves the same on either.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ecert.catalog import default_catalog
from ecert.crypto.digests import sm3
from ecert.errors import DownloadRefused, InputError, RecordNotFound, RegistryError
from ecert.metadata import CoreMetadata
from ecert.registry import (
    CertStatus,
    CopyRecord,
    Holder,
    Right,
    Usage,
    is_database_url,
    open_registry,
)
from ecert.registry.access import Library

from .test_registry import ISSUER, NOW, TYPE, metadata

FILE = b"%signed certificate bytes%" * 40
DIGEST = sm3(FILE).hex()


@pytest.fixture
def lib(library_location: str) -> Iterator[Library]:
    with open_registry(library_location) as library:
        yield library


def raw(location: str, sql: str, args: tuple[Any, ...] = ()) -> None:
    """Change the database behind the library's back, as a person with database access could."""
    if is_database_url(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), args)
    else:
        db = sqlite3.connect(location)
        db.execute(sql, args)
        db.commit()
        db.close()


def issue(lib: Library, *, content: bytes | None = FILE, **kw: Any) -> str:
    serial = lib.allocate_serial(TYPE, ISSUER, period="2026")
    digest = sm3(content).hex() if content is not None else DIGEST
    record = lib.record_issued(
        metadata(serial), package_digest=digest, signer="dept", issued_at=NOW, content=content, **kw
    )
    return record.identifier


def count(lib: Library, table: str) -> int:
    with lib._read() as tx:
        row = tx.one(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


# --- records ----------------------------------------------------------------------------------------


def test_a_record_is_kept_as_columns_holders_fields_and_file(lib: Library) -> None:
    co = Holder("王芳", "110101199003071234", "公民身份号码", "111")
    ident = issue(lib, co_holders=[co])
    rec = lib.get(ident)
    assert rec.status is CertStatus.VALID and rec.package_digest == DIGEST
    assert lib.holders(ident)[1] == co
    assert lib.read_file(ident) == FILE
    assert [r.identifier for r in lib.search(holder_code=co.code)] == [ident]  # any holder position
    assert [r.identifier for r in lib.find(holder_name="王芳")] == [ident]
    assert lib.search(holder_code=co.code, type_code="11100000MB0143028R001") == ()
    with lib._read() as tx:
        row = tx.one(
            "SELECT certificate_name, type_code, holder_code_type_code, issue_date, catalog_version "
            "FROM certificates WHERE identifier=?",
            (ident,),
        )
    assert row is not None
    md = rec.metadata
    assert (row[0], row[1], row[2], row[4]) == (md.certificate_name, TYPE, "111", 1)
    assert str(row[3]) == md.issue_date.isoformat()


def test_find_pages_and_search_stops_at_its_limit(lib: Library) -> None:
    idents = [issue(lib, content=None) for _ in range(5)]
    pages = [lib.find(type_code=TYPE, limit=2, offset=o) for o in (0, 2, 4)]
    assert [r.identifier for page in pages for r in page] == idents
    holder = metadata("X").holder_code
    assert len(lib.search(holder_code=holder, limit=3)) == 3


def test_a_holder_code_type_outside_the_code_list_is_refused_and_nothing_is_written(lib: Library) -> None:
    serial = lib.allocate_serial(TYPE, ISSUER, period="2026")
    md = metadata(serial)
    alien = CoreMetadata.from_values(
        {**md.to_dict("attr"), "holder_code_type_code": "553", "holder_code_type": "外国人永久居留身份证"}
    )
    before = (count(lib, "certificates"), count(lib, "status_events"))
    with pytest.raises(RegistryError, match=r"CZZTDMLXDM.*'553'"):
        lib.record_issued(alien, package_digest=DIGEST, signer="s", issued_at=NOW)
    assert (count(lib, "certificates"), count(lib, "status_events")) == before
    assert lib.serial_states(TYPE, ISSUER)[serial] == "allocated"


def test_a_second_record_under_one_identifier_is_refused(lib: Library) -> None:
    ident = issue(lib)
    md = lib.get(ident).metadata
    before = count(lib, "status_events")
    with pytest.raises(RegistryError, match="already recorded"):
        lib.record_issued(md, package_digest=DIGEST, signer="s", issued_at=NOW)
    assert count(lib, "status_events") == before


def test_a_file_whose_digest_is_not_the_records_is_refused(lib: Library) -> None:
    serial = lib.allocate_serial(TYPE, ISSUER, period="2026")
    with pytest.raises(RegistryError, match="SM3"):
        lib.record_issued(metadata(serial), package_digest="ab" * 32, signer="s", issued_at=NOW, content=FILE)
    assert count(lib, "certificates") == 0 and count(lib, "certificate_files") == 0


def test_records_keep_the_catalogue_version_they_were_issued_under(lib: Library) -> None:
    bundled = default_catalog().get(TYPE)
    first = issue(lib)
    sensitive = replace(bundled, items=tuple(replace(i, sensitive=True) for i in bundled.items))
    published = lib.publish_type(sensitive)
    assert published.catalog_version == 2 and published.sensitive_keys
    assert lib.publish_type(sensitive).catalog_version == 2  # the same definition: the same version
    second = issue(lib)
    with lib._read() as tx:
        versions = dict(tx.rows("SELECT identifier, catalog_version FROM certificates"))
    assert versions == {first: 1, second: 2}
    assert [t.catalog_version for t in lib.published_types()] == [2]
    assert not lib.published_type(TYPE, 1).sensitive_keys


# --- status log -------------------------------------------------------------------------------------


def test_status_changes_are_a_hash_chained_log_the_status_is_derived_from(lib: Library) -> None:
    ident = issue(lib)
    lib.suspend(ident, reason="暂扣", by="clerk", at=NOW + timedelta(days=1))
    lib.reinstate(ident, reason="发还", by="clerk", at=NOW + timedelta(days=2))
    lib.revoke(ident, reason="吊销", by="chief", at=NOW + timedelta(days=3))
    history = [(h.status, h.by) for h in lib.history(ident)]
    assert history == [
        (CertStatus.VALID, "dept"),
        (CertStatus.SUSPENDED, "clerk"),
        (CertStatus.VALID, "clerk"),
        (CertStatus.REVOKED, "chief"),
    ]
    events = lib.events()
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert lib.check().ok
    with pytest.raises(RegistryError, match="final"):
        lib.reinstate(ident, reason="x", by="y", at=NOW + timedelta(days=4))
    assert len(lib.events()) == 4


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("UPDATE status_events SET reason='edited' WHERE seq=2", "hash does not match"),
        ("DELETE FROM status_events WHERE seq=1", "sequence jumps"),
        ("DELETE FROM status_events WHERE seq=2", "recorded head is not the last entry"),
        ("UPDATE certificates SET status='valid'", "its log says revoked"),
        ("UPDATE usage_records SET reason='another reason' WHERE seq=1", "usage chain"),
        ("UPDATE certificate_files SET content=?", "do not match the recorded SM3"),
    ],
)
def test_check_finds_a_row_edited_by_hand(library_location: str, sql: str, found: str) -> None:
    with open_registry(library_location) as lib:
        ident = issue(lib)
        lib.revoke(ident, reason="吊销", by="chief", at=NOW + timedelta(days=1))
        lib.record_usage(Usage("app", "dept", "op", "get", "0", identifier=ident, reason="办理开办企业"))
        assert lib.check().ok
    raw(library_location, sql, (b"other bytes",) if "?" in sql else ())
    with open_registry(library_location) as lib:
        result = lib.check()
    assert not result.ok
    assert any(found in str(p) for p in result.problems), result.problems


def test_a_damaged_stored_file_is_never_handed_out(library_location: str) -> None:
    with open_registry(library_location) as lib:
        ident = issue(lib)
    raw(library_location, "UPDATE certificate_files SET content=?", (FILE[:-1] + b"X",))
    with open_registry(library_location) as lib, pytest.raises(RegistryError, match="damaged"):
        lib.read_file(ident)


def test_a_directory_file_store_keeps_files_by_digest(library_location: str, tmp_path: Path) -> None:
    store = tmp_path / "files"
    with open_registry(library_location, file_store=store) as lib:
        ident = issue(lib)
        assert lib.read_file(ident) == FILE
        assert (store / DIGEST[:2] / DIGEST).read_bytes() == FILE
        (store / DIGEST[:2] / DIGEST).write_bytes(b"changed")
        with pytest.raises(RegistryError, match="damaged"):
            lib.read_file(ident)
        assert not lib.check().ok


def test_status_lists_export_alike(lib: Library) -> None:
    from ecert.registry import StatusList

    from .certs import signer, trust_store

    ident = issue(lib)
    lib.cancel(ident, reason="注销", by="x", at=NOW + timedelta(days=1))
    data = lib.export_status_list(signer(), issued_at=NOW + timedelta(days=2))
    listing = StatusList.load(data, trust=trust_store(), at=NOW + timedelta(days=2))
    assert [(e.identifier, e.status) for e in listing.entries] == [(ident, CertStatus.CANCELLED)]


# --- usage, applications, nonces, tickets, tokens, copies ------------------------------------------


def test_every_use_needs_a_reason_or_a_case_and_is_chained(lib: Library) -> None:
    ident = issue(lib)
    with pytest.raises(InputError, match="用证事由"):
        lib.record_usage(Usage("app", "dept", "op", "get", "0", identifier=ident))
    with pytest.raises(InputError, match="1 to 200"):
        lib.record_usage(Usage("app", "dept", "op", "get", "0", identifier=ident, reason="理" * 201))
    first = lib.record_usage(Usage("app", "dept", "op", "get", "0", identifier=ident, reason="理" * 200))
    second = lib.record_usage(
        Usage(
            "app2", "dept2", "op2", "download", "0", identifier=ident, item_code="11330100", case_number="A1"
        )
    )
    assert second.prev_hash == first.hash and second.seq == first.seq + 1
    assert [u.usage.app_id for u in lib.usage(identifier=ident)] == ["app", "app2"]
    assert [u.seq for u in lib.usage(app_id="app2")] == [second.seq]


def test_atomic_reads_and_records_together_or_not_at_all(lib: Library) -> None:
    ident = issue(lib)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), lib.atomic():
        assert lib.get(ident).status is CertStatus.VALID
        lib.record_usage(Usage("app", "dept", "op", "get", "0", identifier=ident, reason="r"))
        raise Boom
    assert lib.usage(identifier=ident) == ()
    with lib.atomic():
        lib.get(ident)
        lib.record_usage(Usage("app", "dept", "op", "get", "0", identifier=ident, reason="r"))
    assert len(lib.usage(identifier=ident)) == 1


def test_applications_rights_and_key_revocation(lib: Library) -> None:
    from ecert.crypto.keys import generate_private_key, save_public_key

    pem = save_public_key(generate_private_key("sm2").public_key()).decode()
    app = lib.add_application(
        "tax-bureau",
        name="税务征管系统",
        department="示例市税务局",
        public_key=pem,
        rights=[Right("get", TYPE), Right("search", "*", sensitive=True)],
    )
    assert app.allows("get", TYPE) and not app.allows("get", "11100000MB0143028R001")
    assert app.sees_sensitive("search", TYPE) and not app.sees_sensitive("get", TYPE)
    assert lib.application("tax-bureau") == app
    with pytest.raises(RegistryError, match="already registered"):
        lib.add_application("tax-bureau", name="x", department="y", public_key=None, rights=[])
    with pytest.raises(InputError, match="operation"):
        lib.add_application("x1", name="x", department="y", public_key=None, rights=[Right("delete")])
    with pytest.raises(InputError):
        lib.add_application("x2", name="x", department="y", public_key="not a key", rights=[])
    revoked = lib.set_application_key("tax-bureau", public_key=pem, key_status="revoked")
    assert revoked.key_status == "revoked"
    with pytest.raises(RecordNotFound):
        lib.application("nobody")


def test_a_nonce_is_accepted_once(lib: Library) -> None:
    now = datetime.now(UTC)
    assert lib.remember_nonce("app", "nonce-0001", at=now, keep_after=now - timedelta(minutes=10))
    assert not lib.remember_nonce("app", "nonce-0001", at=now, keep_after=now - timedelta(minutes=10))
    assert lib.remember_nonce("other", "nonce-0001", at=now, keep_after=now - timedelta(minutes=10))
    later = now + timedelta(minutes=11)  # forgotten once older than the window (the timestamp check rules)
    assert lib.remember_nonce("app", "nonce-0001", at=later, keep_after=later - timedelta(minutes=10))


def test_a_download_ticket_works_once_and_expires(lib: Library) -> None:
    ident = issue(lib)
    now = datetime.now(UTC)
    lib.add_ticket("T" * 32, ident, "original", "app", created_at=now, expires_at=now + timedelta(minutes=10))
    lib.add_ticket("U" * 32, ident, "original", "app", created_at=now, expires_at=now + timedelta(minutes=10))
    assert lib.redeem_ticket("T" * 32, at=now + timedelta(minutes=1)) == (ident, "original", "app")
    with pytest.raises(DownloadRefused) as used:
        lib.redeem_ticket("T" * 32, at=now + timedelta(minutes=2))
    with pytest.raises(DownloadRefused) as late:
        lib.redeem_ticket("U" * 32, at=now + timedelta(minutes=10))
    with pytest.raises(DownloadRefused) as unknown:
        lib.redeem_ticket("V" * 32, at=now)
    assert (used.value.reason, late.value.reason, unknown.value.reason) == ("used", "expired", "unknown")


def test_a_token_is_valid_in_its_window_only(lib: Library) -> None:
    now = datetime.now(UTC)
    lib.add_token("tok_" + "a" * 28, "app", issued_at=now, expires_at=now + timedelta(minutes=30))
    assert lib.token_app("tok_" + "a" * 28, at=now + timedelta(minutes=29)) == "app"
    assert lib.token_app("tok_" + "a" * 28, at=now + timedelta(minutes=30)) is None
    assert lib.token_app("tok_" + "b" * 28, at=now) is None


def test_an_annotated_copy_is_kept_with_its_file_and_logged(lib: Library) -> None:
    ident = issue(lib)
    copy_bytes = b"annotated copy" * 50
    record = CopyRecord(
        "copy-0001", ident, "A", NOW, "示例市行政审批局", "办理开办企业", date(2026, 12, 31),
        sm3(copy_bytes).hex(), "app", None,
    )  # fmt: skip
    lib.record_copy(record, copy_bytes, operator="clerk", at=NOW)
    assert lib.copies(ident) == (record,)
    assert lib.read_file("copy-0001", "copy") == copy_bytes
    assert [e.kind for e in lib.events()] == ["issued", "copy"]
    assert len(lib.history(ident)) == 1  # a copy is not a status change
    assert lib.check().ok
    with pytest.raises(RegistryError, match="already recorded"):
        lib.record_copy(record, copy_bytes, operator="clerk", at=NOW)


def test_serials_and_gaps_alike(lib: Library) -> None:
    a = lib.allocate_serial(TYPE, ISSUER, period="2026")
    b = lib.allocate_serial(TYPE, ISSUER, period="2026")
    assert (a, b) == ("2026000001", "2026000002")
    lib.record_gap(TYPE, ISSUER, a, "abandoned")
    assert lib.reconcile(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert [g.serial for g in lib.gaps(TYPE, ISSUER)] == [a, b]
    with pytest.raises(RegistryError, match="gap"):
        lib.record_issued(metadata(a), package_digest=DIGEST, signer="s", issued_at=NOW)


def test_facts_about_the_library(lib: Library) -> None:
    assert len(lib.library_id) == 32
    assert lib.info("cursor:province") is None
    lib.set_info("cursor:province", "17")
    lib.set_info("cursor:province", "18")
    assert lib.info("cursor:province") == "18"
    with pytest.raises(RegistryError, match="fixed"):
        lib.set_info("library_id", "mine")
