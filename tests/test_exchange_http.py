"""The province–city exchange over HTTP (spec/exchange.md, HTTP transport): the province's library
behind ``ecert serve`` in a subprocess on 127.0.0.1 (SQLite and PostgreSQL), cities on SQLite
spoken from this process with the real client (httpx) and with hand-made requests."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecert.crypto.digests import sm3
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.keys import PrivateKey, generate_private_key, save_public_key
from ecert.crypto.signer import Signer
from ecert.errors import (
    AuthenticationFailed,
    InputError,
    InvalidBundle,
    PermissionDenied,
    RecordNotFound,
    RegistryError,
    TrustError,
)
from ecert.exchange import peers
from ecert.exchange.batch import ExchangePolicy, cursor_of, make_batch
from ecert.exchange.http import ExchangeClient, pull, push, remote_differences
from ecert.exchange.peers import FileRef, add_peer, owed_files
from ecert.exchange.reconcile import compare, summarise
from ecert.registry import CertStatus, SQLiteRegistry
from ecert.registry.base import Registry, Right
from ecert.share.signing import request_headers

from .certs import NOW, OTHER_DEPARTMENT_CODE
from .share_server import Server, running_server
from .share_support import BUSINESS, ENGINEER, certificates, library_at, opened, populate, service_signer
from .test_exchange import batch_payload, exchange_signer, issue

CITY_REGION = ExchangePolicy(regions=frozenset({"330100"}))
PROVINCE = ExchangePolicy(regions=frozenset({"330000"}))
_serials = itertools.count(1)
_apps = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def province(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The province: a library with the sample certificates, served by ``ecert serve``."""
    folder = tmp_path_factory.mktemp("province")
    with library_at(request, request.param, folder) as location:
        with opened(location) as library:
            populate(library)
        with running_server(location, folder) as running:
            yield running


def _key() -> PrivateKey:
    return exchange_signer().private_key


def register(server: Server, rights: list[Right], *, peer: bool = True, key: PrivateKey | None = None) -> str:
    """A new application at the province (each test its own: a peer binds to one library)."""
    app_id = f"city{next(_apps)}"
    pem = save_public_key((key or _key()).public_key()).decode("ascii")
    with opened(server.location) as library:
        library.add_application(
            app_id, name=app_id, department="示例市大数据局", public_key=pem, rights=rights
        )
        if peer:
            add_peer(library, app_id, exchange_signer().certificate, CITY_REGION)
    return app_id


def client(server: Server, app_id: str, key: PrivateKey | None = None) -> ExchangeClient:
    return ExchangeClient(
        server.url, app_id=app_id, key=key or _key(), service_certificate=service_signer().certificate
    )


@pytest.fixture
def city(tmp_path: Path) -> Iterator[SQLiteRegistry]:
    library = SQLiteRegistry.open(tmp_path / "city.db")
    yield library
    library.close()


def fresh(library: Registry, n: int, issuer_code: str | None = None) -> list[str]:
    """``n`` certificates nobody issued before in this run."""
    extra = () if issuer_code is None else (issuer_code,)
    return [issue(library, f"2026{next(_serials) + 100000:06d}", *extra) for _ in range(n)]


def view(library: Registry, identifiers: list[str]) -> list[tuple[Any, ...]]:
    out = []
    for i in identifiers:
        r = library.get(i)
        out.append(
            (
                i,
                r.package_digest,
                r.status.value,
                r.status_reason,
                r.status_changed_at,
                sm3(library.read_file(i)).hex(),
            )
        )
    return out


def issued_events(library: Registry, identifiers: list[str]) -> list[str]:
    wanted = set(identifiers)
    out = []
    after = 0
    while events := library.events(after=after, limit=1000):
        out += [e.identifier for e in events if e.kind == "issued" and e.identifier in wanted]
        after = events[-1].seq
    return out


# --- push (归集) ----------------------------------------------------------------------------------


def test_push_round_trip_in_batches_then_nothing_more(province: Server, city: SQLiteRegistry) -> None:
    app_id = register(province, [Right("exchange", "*")])
    ids = fresh(city, 5)
    city.set_status(ids[0], CertStatus.REVOKED, reason="以欺骗手段取得", by="张三", at=NOW)
    with client(province, app_id) as c:
        report = push(city, c, exchange_signer(), batch_size=2)
        assert [(a.first_seq, a.last_seq) for a in report.answers] == [(1, 2), (3, 4), (5, 6)]
        assert report.counts == {"accepted": 6, "already": 0, "refused": 0} and report.cursor == 6
        again = push(city, c, exchange_signer())
        assert again.answers == () and again.cursor == 6
        state = c.status()
    assert state["peer"]["library"] == city.library_id and state["peer"]["cursor"] == 6
    with opened(province.location) as library:
        assert view(library, ids) == view(city, ids)
        assert library.get(ids[0]).status is CertStatus.REVOKED
        assert sorted(issued_events(library, ids)) == sorted(ids)
        assert library.check().ok


def test_a_replayed_push_changes_nothing(province: Server, city: SQLiteRegistry) -> None:
    app_id = register(province, [Right("exchange", "*")])
    ids = fresh(city, 2)
    data = make_batch(city, exchange_signer(), sender=city.library_id)
    assert data is not None
    with client(province, app_id) as c:
        first = c.push_batch(data)
        assert first["counts"] == {"accepted": 2, "already": 0, "refused": 0}
        with opened(province.location) as library:
            before = view(library, ids), library.events(after=0, limit=100_000)
        second = c.push_batch(data)
    assert second["counts"] == {"accepted": 0, "already": 2, "refused": 0} and second["cursor"] == 2
    with opened(province.location) as library:
        assert (view(library, ids), library.events(after=0, limit=100_000)) == before
    # the same HTTP request again (same nonce): refused before anything is read
    body = json.dumps({"batch": json.loads(data)}).encode()
    headers = request_headers(_key(), app_id, "POST", "/exchange/v1/push", body, at=datetime.now(UTC))
    answers = [
        httpx.post(province.url + "/exchange/v1/push", content=body, headers=headers) for _ in range(2)
    ]
    assert answers[1].json()["head"]["status"] == 202 and answers[1].status_code == 401


def test_the_same_batch_pushed_twice_at_once_is_applied_once(province: Server, city: SQLiteRegistry) -> None:
    """A client that timed out and sent again while the first push is still being applied."""
    import threading

    app_id = register(province, [Right("exchange", "*")])
    ids = fresh(city, 6)
    data = make_batch(city, exchange_signer(), sender=city.library_id)
    assert data is not None
    answers: list[Any] = []

    def send() -> None:
        with client(province, app_id) as c:
            try:
                answers.append(c.push_batch(data))
            except Exception as exc:  # kept for the assert below
                answers.append(exc)

    workers = [threading.Thread(target=send) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert all(isinstance(a, dict) for a in answers), answers
    totals = {k: sum(a["counts"][k] for a in answers) for k in ("accepted", "already", "refused")}
    assert totals == {"accepted": 6, "already": 6, "refused": 0}
    with opened(province.location) as library:
        assert sorted(issued_events(library, ids)) == sorted(ids)
        assert view(library, ids) == view(city, ids)


def test_an_interrupted_push_resumes_with_nothing_lost_or_doubled(
    province: Server, city: SQLiteRegistry
) -> None:
    app_id = register(province, [Right("exchange", "*")])
    ids = fresh(city, 5)
    with client(province, app_id) as c:
        # cut off after two batches, the files left to travel by digest (none fit in the batch)
        cut = push(city, c, exchange_signer(), batch_size=2, max_batches=2, max_file_bytes=0)
        assert cut.cursor == 4 and cut.files_delivered == 4 and cut.files_owed == ()
        # a batch applied whose files were never delivered (the sender died right after it)
        data = make_batch(city, exchange_signer(), sender=city.library_id, after=4, max_file_bytes=0)
        assert data is not None
        owed = c.push_batch(data)["filesWanted"]
        assert [w["certIdentifier"] for w in owed] == [ids[4]]
        assert c.status()["peer"]["filesWanted"] == owed
        done = push(city, c, exchange_signer(), batch_size=2)
        assert done.answers == () and done.files_delivered == 1 and done.cursor == 5
        assert c.status()["peer"]["filesWanted"] == []
    with opened(province.location) as library:
        assert view(library, ids) == view(city, ids)  # every file there, each SM3 checked on read
        assert sorted(issued_events(library, ids)) == sorted(ids)  # 0 lost, 0 duplicated


def test_another_regions_certificate_is_refused_per_record(province: Server, city: SQLiteRegistry) -> None:
    app_id = register(province, [Right("exchange", "*")])
    ours = fresh(city, 1)
    theirs = fresh(city, 1, OTHER_DEPARTMENT_CODE)  # 宁波 (330200): not the city's to send
    with client(province, app_id) as c:
        report = push(city, c, exchange_signer())
    outcomes = {r.identifier: (r.outcome, r.reason) for a in report.answers for r in a.results}
    assert outcomes[ours[0]][0] == "accepted"
    assert outcomes[theirs[0]][0] == "refused" and OTHER_DEPARTMENT_CODE in outcomes[theirs[0]][1]
    with opened(province.location) as library, pytest.raises(RecordNotFound):
        library.get(theirs[0])


def test_an_annotated_copy_is_pushed_with_its_file_whatever_the_room(
    province: Server, city: SQLiteRegistry
) -> None:
    from datetime import date

    from ecert.registry import CopyRecord

    app_id = register(province, [Right("exchange", "*")])
    (ident,) = fresh(city, 1)
    content = b"an annotated copy's bytes, pushed"
    copy_id = f"JZJ-{ident[-12:]}"
    record = CopyRecord(
        copy_id,
        ident,
        "A",
        NOW,
        "示例市政务服务中心",
        "开户",
        date(2026, 12, 31),
        sm3(content).hex(),
        None,
        None,
    )
    city.record_copy(record, content, operator="王五", at=NOW)
    room = len(city.read_file(ident))  # the original fills the batch's room for files
    with client(province, app_id) as c:
        report = push(city, c, exchange_signer(), max_file_bytes=room)
    assert [(a.first_seq, a.last_seq) for a in report.answers] == [(1, 1), (2, 2)]  # the copy opens a batch
    assert report.counts == {"accepted": 2, "already": 0, "refused": 0}
    with opened(province.location) as library:
        assert library.read_file(copy_id, "copy") == content and library.copies(ident) == city.copies(ident)


# --- files by digest ---------------------------------------------------------------------------


def test_a_file_that_does_not_match_its_digest_is_refused(province: Server, city: SQLiteRegistry) -> None:
    app_id = register(province, [Right("exchange", "*")])
    ids = fresh(city, 2)
    with client(province, app_id) as c:
        data = make_batch(city, exchange_signer(), sender=city.library_id, max_file_bytes=0)
        assert data is not None
        c.push_batch(data)
        digest = city.get(ids[0]).package_digest
        with pytest.raises(InvalidBundle, match="SM3"):  # other bytes under the right digest
            c.put_file(FileRef(ids[0], digest), city.read_file(ids[1]))
        with pytest.raises(InvalidBundle, match="not"):  # the right bytes named by another digest
            c.put_file(FileRef(ids[0], city.get(ids[1]).package_digest), city.read_file(ids[1]))
        with pytest.raises(RecordNotFound):  # fetching: no file of that certificate has this SM3
            c.get_file(FileRef(ids[0], city.get(ids[1]).package_digest))
        assert c.put_file(FileRef(ids[0], digest), city.read_file(ids[0])) == "accepted"
        assert c.get_file(FileRef(ids[0], digest)) == city.read_file(ids[0])
    with opened(province.location) as library:
        assert library.read_file(ids[0]) == city.read_file(ids[0])
        assert library.stored_file(ids[1], "original") is None  # still owed, never a wrong file
    with client(province, app_id) as c:
        assert push(city, c, exchange_signer()).files_delivered == 1


# --- who may ------------------------------------------------------------------------------------


def test_unauthorised_peers_are_refused(province: Server, city: SQLiteRegistry) -> None:
    fresh(city, 1)
    data = make_batch(city, exchange_signer(), sender=city.library_id)
    assert data is not None
    no_right = register(province, [Right("get", "*")])
    with client(province, no_right) as c, pytest.raises(PermissionDenied, match="exchange right"):
        c.push_batch(data)
    not_a_peer = register(province, [Right("exchange", "*")], peer=False)
    with client(province, not_a_peer) as c, pytest.raises(PermissionDenied, match="not an exchange peer"):
        c.push_batch(data)
    stranger = generate_private_key("sm2")
    with client(province, "nobody", key=stranger) as c, pytest.raises(AuthenticationFailed):
        c.status()
    # a batch signed by another key than the peer's exchange certificate
    h = DemoHierarchy.create("sm2", department="冒名交换节点")
    forged = make_batch(city, Signer(h.issuer_key, h.issuer_cert, (h.root_cert,)), sender=city.library_id)
    assert forged is not None
    peer = register(province, [Right("exchange", "*")])
    with client(province, peer) as c:
        with pytest.raises(TrustError):
            c.push_batch(forged)
        c.push_batch(data)  # binds the peer to the city's library
    with opened(province.location) as library:
        assert library.info(f"exchange.peer.{peer}.library") == city.library_id


def test_a_peer_cannot_send_for_another_library(
    province: Server, city: SQLiteRegistry, tmp_path: Path
) -> None:
    app_id = register(province, [Right("exchange", "*")])
    fresh(city, 1)
    with client(province, app_id) as c:
        push(city, c, exchange_signer())
        other = SQLiteRegistry.open(tmp_path / "other.db")
        try:
            fresh(other, 1)
            data = make_batch(other, exchange_signer(), sender=other.library_id)
            assert data is not None
            with pytest.raises(PermissionDenied, match="sends for library"):
                c.push_batch(data)
        finally:
            other.close()


def test_tokens_are_not_enough_for_the_exchange(province: Server) -> None:
    app_id = register(province, [Right("exchange", "*")])
    body = b"{}"
    answer = httpx.post(
        province.url + "/exchange/v1/status", content=body, headers={"authorization": "Bearer " + "x" * 40}
    )
    assert answer.json()["head"]["status"] in (11, 204) and answer.status_code == 401
    assert app_id


def signed_post(server: Server, app_id: str, path: str, body: bytes) -> httpx.Response:
    headers = request_headers(_key(), app_id, "POST", path, body, at=datetime.now(UTC))
    headers["content-type"] = "application/json"
    return httpx.post(server.url + path, content=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/exchange/v1/push", b"not json"),
        ("/exchange/v1/push", b'{"batch": "a string"}'),
        (
            "/exchange/v1/push",
            b'{"batch": {"format": "ecert-exchange-batch/1", "payload": "!!", "signature": ""}}',
        ),
        ("/exchange/v1/push", b'{"batch": {}, "extra": 1}'),
        ("/exchange/v1/push", b"[]"),
        ("/exchange/v1/push", '{"batch": {"format": "\u00e9"}}'.encode()),
        ("/exchange/v1/pull", b'{"after": -1}'),
        ("/exchange/v1/pull", b'{"after": "1"}'),
        ("/exchange/v1/pull", b'{"after": 0, "limit": 1000000}'),
        ("/exchange/v1/pull", b"{}"),
        ("/exchange/v1/files/get", b'{"certIdentifier": "x", "sm3": "zz"}'),
        ("/exchange/v1/files/put", b'{"certIdentifier": "x", "sm3": "' + b"0" * 64 + b'", "content": "@@"}'),
        ("/exchange/v1/reconcile", b'{"certTypeCodes": "x"}'),
        ("/exchange/v1/nothing", b"{}"),
    ],
)
def test_malformed_bodies_get_envelopes(province: Server, path: str, body: bytes) -> None:
    app_id = malformed_app(province)
    answer = signed_post(province, app_id, path, body)
    envelope = answer.json()
    assert set(envelope) == {"head", "data"} and envelope["head"]["status"] not in (0, 99)
    assert 400 <= answer.status_code < 500, envelope


_malformed: dict[str, str] = {}


def malformed_app(server: Server) -> str:
    if server.url not in _malformed:
        _malformed[server.url] = register(server, [Right("exchange", "*")])
    return _malformed[server.url]


# --- pull (回流) ---------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def matching(server: Server, holder: str | None, type_code: str) -> set[str]:
    with opened(server.location) as library:
        return {r.identifier for r in library.find(holder_code=holder, type_code=type_code, limit=10_000)}


def test_pull_brings_exactly_the_filtered_holders_and_types(province: Server, city: SQLiteRegistry) -> None:
    engineer = next(c for c in certificates() if c.metadata.type_code == ENGINEER)
    business = next(c for c in certificates() if c.metadata.type_code == BUSINESS)
    app_id = register(province, [Right("exchange", "*")], peer=False)
    holder = engineer.metadata.holder_code
    expected = matching(province, holder, ENGINEER)
    assert engineer.identifier in expected
    with client(province, app_id) as c:
        report = pull(city, c, policy=PROVINCE, holders=[holder], types=[ENGINEER], max_file_bytes=0)
        assert report.counts["refused"] == 0 and report.files_fetched == len(expected)
        assert report.files_owed == ()
    assert {r.identifier for r in city.iter_records()} == expected  # nothing outside the filter
    assert city.read_file(engineer.identifier) == engineer.content  # fetched by digest, checked
    # the province changes a status inside the filter and one outside: only the first comes down
    with opened(province.location) as library:
        library.set_status(engineer.identifier, CertStatus.SUSPENDED, reason="暂扣", by="省局", at=now())
        library.set_status(business.identifier, CertStatus.SUSPENDED, reason="暂扣", by="省局", at=now())
    with client(province, app_id) as c:
        again = pull(city, c, policy=PROVINCE, holders=[holder], types=[ENGINEER])
    assert again.counts == {"accepted": 1, "already": 0, "refused": 0}
    assert city.get(engineer.identifier).status is CertStatus.SUSPENDED
    assert {r.identifier for r in city.iter_records()} == expected
    assert {e.identifier for e in city.events(after=0, limit=10_000)} == expected
    with opened(province.location) as library:
        library.set_status(engineer.identifier, CertStatus.VALID, reason="恢复", by="省局", at=now())
        library.set_status(business.identifier, CertStatus.VALID, reason="恢复", by="省局", at=now())


def test_pull_by_the_region_of_the_holders_codes(province: Server, city: SQLiteRegistry) -> None:
    """Beijing's holders (110000): the USCCs 9111... (characters 3-4 are 11); Hebei's (130000):
    the citizen ID 1306... and nothing else."""
    app_id = register(province, [Right("exchange", "*")], peer=False)
    with opened(province.location) as library:
        expected = {
            r.identifier
            for r in library.iter_records()
            if any(
                (h.code_type_code == "001" and h.code[2:4] == "11")
                or (h.code_type_code == "111" and h.code[:2] == "11")
                for h in library.holders(r.identifier)
            )
        }
    assert len(expected) >= 3  # 91110000..., 91110108... twice
    with client(province, app_id) as c:
        report = pull(city, c, policy=PROVINCE, holder_regions=["110000"])
        assert report.counts["refused"] == 0
        assert {r.identifier for r in city.iter_records()} == expected
        with pytest.raises(InputError):
            c.pull_batch(0, holder_regions=["11"])


def test_a_peers_own_certificates_do_not_flow_back(province: Server, city: SQLiteRegistry) -> None:
    app_id = register(province, [Right("exchange", "*")])  # sends for 330100
    ids = fresh(city, 2)
    with opened(province.location) as library:
        (elsewhere,) = fresh(
            library, 1, OTHER_DEPARTMENT_CODE
        )  # issued in 宁波 (330200), kept by the province
    with client(province, app_id) as c:
        push(city, c, exchange_signer())
        city.set_status(ids[0], CertStatus.SUSPENDED, reason="暂扣", by="张三", at=now())
        push(city, c, exchange_signer())
        before = city.events(after=0, limit=10_000)
        report = pull(city, c, policy=PROVINCE)
    assert report.counts == {"accepted": 1, "already": 0, "refused": 0}  # only 宁波's certificate
    assert {r.identifier for r in city.iter_records()} == {*ids, elsewhere}
    assert city.events(after=0, limit=10_000)[: len(before)] == before  # no echo of its own events
    assert [e.identifier for e in city.events(after=len(before), limit=10_000)] == [elsewhere]


def test_the_exchange_right_bounds_the_types_pulled(province: Server, city: SQLiteRegistry) -> None:
    app_id = register(province, [Right("exchange", BUSINESS)], peer=False)
    with client(province, app_id) as c:
        pull(city, c, policy=PROVINCE, limit=3)
        with pytest.raises(PermissionDenied):
            c.pull_batch(0, types=[ENGINEER])
        with pytest.raises(PermissionDenied):
            engineer = next(x for x in certificates() if x.metadata.type_code == ENGINEER)
            c.get_file(FileRef(engineer.identifier, sm3(engineer.content).hex()))
    assert {r.identifier for r in city.iter_records()} == matching(province, None, BUSINESS)
    with client(province, app_id) as c:
        groups, covered = c.summary_of()
        assert covered == {BUSINESS} and {g.split("|")[1] for g in groups} == {BUSINESS}
        assert remote_differences(city, c) == []  # the summary covers the types this app may have
        city.set_status(next(iter(matching(province, None, BUSINESS))), CertStatus.SUSPENDED, reason="暂扣",
                        by="张三", at=now())  # fmt: skip
        assert [d.group.split("|")[1] for d in remote_differences(city, c)] == [BUSINESS]


def test_a_pull_batch_and_the_files_it_leaves_owed_are_one_commit(
    province: Server, city: SQLiteRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the bound of owed files, the batch is not kept either (else its files would never come)."""
    app_id = register(province, [Right("exchange", "*")], peer=False)
    monkeypatch.setattr(peers, "MAX_OWED", 2)
    with client(province, app_id) as c:
        sender = str(c.status()["library"])
        with pytest.raises(RegistryError, match="owed"):
            pull(city, c, policy=PROVINCE, limit=5, max_file_bytes=0)
        assert cursor_of(city, sender) == (0, None) and list(city.iter_records()) == []
        assert owed_files(city, f"exchange.from.{sender}") == ()
        monkeypatch.setattr(peers, "MAX_OWED", 100_000)
        report = pull(city, c, policy=PROVINCE, limit=5, max_file_bytes=0)
    assert report.counts["refused"] == 0 and report.files_owed == ()
    assert report.files_fetched == len(list(city.iter_records())) > 2


def test_pull_everything_then_reconcile_finds_no_difference(province: Server, city: SQLiteRegistry) -> None:
    app_id = register(province, [Right("exchange", "*")], peer=False)
    with client(province, app_id) as c:
        first = pull(city, c, policy=PROVINCE, limit=7)
        assert len(first.answers) >= 2 and first.counts["refused"] == 0
        theirs = c.summary()
        assert compare(summarise(city), theirs) == []
        resumed = pull(city, c, policy=PROVINCE)
        assert resumed.answers == () and resumed.cursor == first.cursor
        with opened(province.location) as library:
            library.set_status(
                certificates()[0].identifier, CertStatus.SUSPENDED, reason="暂扣", by="省局", at=now()
            )
        differs = compare(summarise(city), c.summary())
        assert [d.group.split("|")[1] for d in differs] == [certificates()[0].metadata.type_code]
        pull(city, c, policy=PROVINCE)
        assert compare(summarise(city), c.summary()) == []
    with opened(province.location) as library:
        library.set_status(certificates()[0].identifier, CertStatus.VALID, reason="恢复", by="省局", at=now())


# --- the commands -------------------------------------------------------------------------------


def test_the_commands_push_pull_and_reconcile(
    province: Server,
    city: SQLiteRegistry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ecert.cli import main
    from ecert.crypto.keys import save_private_key

    sent: list[bytes] = []
    push_batch = ExchangeClient.push_batch

    def recording(self: ExchangeClient, batch: bytes) -> dict[str, Any]:
        sent.append(batch)
        return push_batch(self, batch)

    monkeypatch.setattr(ExchangeClient, "push_batch", recording)

    key, cert = tmp_path / "exchange.key.pem", tmp_path / "exchange.pem"
    key.write_bytes(save_private_key(exchange_signer().private_key))
    cert.write_bytes(b"".join(c.to_pem() for c in (exchange_signer().certificate, *exchange_signer().chain)))
    app_id = register(province, [Right("exchange", "*")], peer=False)
    assert main(["exchange", "peer", "--library", province.location, "--app-id", app_id, "--cert", str(cert),
                 "--region", "330100"]) == 0  # fmt: skip
    ids = fresh(city, 3)
    city_path = str(tmp_path / "city.db")
    peer = [
        "--server",
        province.url,
        "--app-id",
        app_id,
        "--key",
        str(key),
        "--service-cert",
        str(province.service_cert),
    ]
    push = ["exchange", "push", "--library", city_path, *peer, "--cert", str(cert), "--batch-size", "2"]
    assert main([*push, "--status-codes", "mohurd-a"]) == 0
    assert "pushed up to seq 3: 3 accepted, 0 already, 0 refused" in capsys.readouterr().err
    payloads = [batch_payload(b) for b in sent]
    assert len(payloads) == 2 and all(p["ministry"]["profile"] == "mohurd-a" for p in payloads)
    with opened(province.location) as library:
        assert view(library, ids) == view(city, ids)
    down = SQLiteRegistry.open(tmp_path / "down.db")
    down.close()
    holder = city.get(ids[0]).metadata.holder_code
    reader = register(province, [Right("exchange", "*")], peer=False)  # another city: receives only
    peer[peer.index(app_id)] = reader
    assert main(["exchange", "pull", "--library", str(tmp_path / "down.db"), *peer, "--region", "330000",
                 "--holder-code", holder, "--type", ENGINEER]) == 0  # fmt: skip
    assert "0 refused" in capsys.readouterr().err
    with opened(str(tmp_path / "down.db")) as library:
        assert {r.identifier for r in library.iter_records()} == matching(province, holder, ENGINEER)
    code = main(["exchange", "reconcile", "--library", str(tmp_path / "down.db"), *peer, "--type", BUSINESS])
    assert code == 1 and "none here" in capsys.readouterr().out  # the business licences were not pulled
    assert main(["exchange", "pull", "--library", city_path, *peer]) == 2  # no --region: a usage error


def test_the_exchange_is_in_the_openapi_document() -> None:
    from ecert.web.share_openapi import document

    paths = json.loads(document())["paths"]
    for op in ("status", "push", "files/put", "pull", "files/get", "reconcile"):
        schema = paths[f"/exchange/v1/{op}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert schema.get("additionalProperties") is False, op  # unknown members are refused
