"""Attacks on a real ``ecert serve`` (two uvicorn workers over one SQLite library): replays that land
in one group-commit batch or in both workers at once, answers signed for another request, stale
and revoked keys, hostile bodies, and exchange peers reaching past their rights or their library.

Every attack here must be refused; the usage log and the cursors are checked afterwards, not just
the answers."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecert.crypto.keys import PrivateKey, generate_private_key, save_public_key
from ecert.errors import InvalidSignature, PermissionDenied
from ecert.exchange.batch import ExchangePolicy, cursor_of, make_batch
from ecert.exchange.http import ExchangeClient, pull
from ecert.exchange.peers import add_peer
from ecert.registry import SQLiteRegistry
from ecert.registry.base import Right
from ecert.share.signing import NONCE_HEADER, request_headers, verify_response

from .share_server import Server, running_server
from .share_support import (
    BUSINESS,
    ENGINEER,
    app_key,
    cert_of,
    library_at,
    opened,
    populate,
    service_signer,
)
from .test_exchange import exchange_signer, issue

CITY_REGION = ExchangePolicy(regions=frozenset({"330100"}))
_apps = itertools.count(1)
_serials = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The share service in two worker processes over one SQLite library (the flock turn-taking)."""
    folder = tmp_path_factory.mktemp("attacks")
    location = str(folder / "library.db")
    with opened(location) as library:
        populate(library)
    with running_server(location, folder, workers=2) as running:
        yield running


def now() -> datetime:
    return datetime.now(UTC)


def signed(
    server: Server,
    app_id: str,
    path: str,
    body: bytes,
    *,
    key: PrivateKey | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], str]:
    headers = request_headers(key or app_key(app_id), app_id, "POST", path, body, at=now(), nonce=nonce)
    headers["content-type"] = "application/json"
    return headers, headers[NONCE_HEADER]


def post(server: Server, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(server.url + path, content=body, headers=headers, timeout=60)


def at_once(count: int, send: Any) -> list[Any]:
    """``send(i)`` from ``count`` threads released together; the answers in thread order."""
    gate = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def run(i: int) -> None:
        gate.wait()
        answers[i] = send(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return answers


def get_body(identifier: str, case: str) -> bytes:
    doc = {
        "operator": "王经办",
        "itemCode": "330100-ATTACK",
        "caseNumber": case,
        "certIdentifier": identifier,
    }
    return json.dumps(doc).encode()


def uses_of(server: Server, case: str) -> list[Any]:
    with opened(server.location) as library:
        return [r for r in library.usage(app_id="tax", limit=10_000) if r.usage.case_number == case]


# --- replays and group commit ---------------------------------------------------------------------


def test_copies_of_one_signed_request_at_once_are_answered_once(server: Server) -> None:
    """Twelve copies of one signed request, sent together: they land in one batch of a worker or in
    both workers; exactly one is answered, the others are replays, and one use is recorded."""
    identifier = cert_of(BUSINESS).identifier
    body = get_body(identifier, "replay-1")
    headers, _ = signed(server, "tax", "/share/v1/get", body)
    answers = at_once(12, lambda _: post(server, "/share/v1/get", body, headers))
    statuses = sorted(a.json()["head"]["status"] for a in answers)
    assert statuses == [0] + [202] * 11, statuses
    assert all(a.status_code == (200 if a.json()["head"]["status"] == 0 else 401) for a in answers)
    assert len(uses_of(server, "replay-1")) == 1


def test_every_answer_is_signed_for_its_own_request(server: Server) -> None:
    """Requests answered in the same batches: each signature binds its own nonce (never a neighbour's),
    refusals included, and the data is each request's own."""
    key = service_signer().certificate.public_key
    identifiers = [cert_of(BUSINESS).identifier, cert_of(ENGINEER).identifier, "no-such-certificate"]

    def send(i: int) -> tuple[str, str, httpx.Response]:
        wanted = identifiers[i % 3]
        body = get_body(wanted, f"own-{i}")
        headers, nonce = signed(server, "tax", "/share/v1/get", body)
        return wanted, nonce, post(server, "/share/v1/get", body, headers)

    answers = at_once(15, send)
    for wanted, nonce, answer in answers:
        verify_response(key, nonce, answer.status_code, answer.content, answer.headers)
        envelope = answer.json()
        if wanted == "no-such-certificate":
            assert envelope["head"]["status"] != 0
        else:
            assert envelope["head"]["status"] == 0 and envelope["data"]["certIdentifier"] == wanted
        others = [n for _, n, _ in answers if n != nonce]
        with pytest.raises(InvalidSignature):
            verify_response(key, others[0], answer.status_code, answer.content, answer.headers)


def new_app(server: Server, key: PrivateKey, rights: list[Right]) -> str:
    app_id = f"attacker{next(_apps)}"
    with opened(server.location) as library:
        library.add_application(
            app_id,
            name=app_id,
            department="示例市某局",
            public_key=save_public_key(key.public_key()).decode("ascii"),
            rights=rights,
        )
    return app_id


def test_a_replaced_or_revoked_key_is_refused_in_every_worker(server: Server) -> None:
    """Workers remember an application's key between requests; after the key is replaced, requests
    signed with the old one are refused by both workers (the application is read again in the
    request's transaction), and after revocation nothing is accepted."""
    old, new = generate_private_key("sm2"), generate_private_key("sm2")
    app_id = new_app(server, old, [Right("get", "*")])
    identifier = cert_of(ENGINEER).identifier

    def get(key: PrivateKey) -> int:
        body = get_body(identifier, "rekey")
        headers, _ = signed(server, app_id, "/share/v1/get", body, key=key)
        return int(post(server, "/share/v1/get", body, headers).json()["head"]["status"])

    assert set(at_once(6, lambda _: get(old))) == {0}  # both workers now hold the old key
    with opened(server.location) as library:
        library.set_application_key(
            app_id, public_key=save_public_key(new.public_key()).decode(), key_status="active"
        )
    assert set(at_once(6, lambda _: get(old))) == {11}
    assert set(at_once(4, lambda _: get(new))) == {0}
    with opened(server.location) as library:
        library.set_application_key(app_id, public_key=None, key_status="revoked")
    assert set(at_once(6, lambda _: get(new))) == {203}


# --- hostile bodies -------------------------------------------------------------------------------


def envelope_of(answer: httpx.Response) -> dict[str, Any]:
    doc = answer.json()
    assert set(doc) == {"head", "data"}
    assert doc["head"]["status"] not in (0, 99), doc
    assert 400 <= answer.status_code < 500, doc
    assert "Traceback" not in answer.text
    return doc


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"operator": "x", "certIdentifier": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"operator": "\xff\xfe", "useCause": "x", "certIdentifier": "x"}',
        b'{"operator": "x", "useCause": "x", "certIdentifier": "' + b"\\ud800" + b'"}',
        b'{"operator": "x", "useCause": "x", "certIdentifier": "x", "metadataRange": ['
        + b'"a",' * 5000
        + b'"a"]}',
        b"\x00" * 1000,
    ],
    ids=["nested-array", "nested-field", "bad-utf8", "lone-surrogate", "long-range", "nul"],
)
def test_malformed_signed_bodies_get_envelopes(server: Server, body: bytes) -> None:
    headers, _ = signed(server, "tax", "/share/v1/get", body)
    envelope_of(post(server, "/share/v1/get", body, headers))


def test_oversized_bodies_are_refused_without_reading_them(server: Server) -> None:
    body = b'{"x": "' + b"a" * (17 * 1024 * 1024) + b'"}'
    headers, _ = signed(server, "tax", "/share/v1/get", body)
    answer = post(server, "/share/v1/get", body, headers)
    assert envelope_of(answer)["head"]["status"] == 108

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        for _ in range(20):
            yield b"a" * (1024 * 1024)

    answer = httpx.post(server.url + "/share/v1/get", content=chunks(), headers=headers, timeout=60)
    assert envelope_of(answer)["head"]["status"] == 108
    odd = {**headers, "content-length": "12abc"}
    with httpx.Client(timeout=30) as client:
        request = client.build_request("POST", server.url + "/share/v1/get", content=b"{}", headers=odd)
        request.headers["content-length"] = "-1"
        try:
            answer = client.send(request)
        except httpx.HTTPError:
            pass  # refused at the HTTP layer: no answer is fine, a 500 is not
        else:
            assert answer.status_code in (400, 413) or envelope_of(answer)


# --- the exchange ---------------------------------------------------------------------------------


def exchange_app(server: Server, rights: list[Right], *, peer: bool) -> str:
    app_id = f"peer{next(_apps)}"
    with opened(server.location) as library:
        library.add_application(
            app_id,
            name=app_id,
            department="示例市大数据局",
            public_key=save_public_key(exchange_signer().private_key.public_key()).decode("ascii"),
            rights=rights,
        )
        if peer:
            add_peer(library, app_id, exchange_signer().certificate, CITY_REGION)
    return app_id


def exchange_post(server: Server, app_id: str, operation: str, doc: Any) -> httpx.Response:
    path = f"/exchange/v1/{operation}"
    body = json.dumps(doc).encode()
    headers, _ = signed(server, app_id, path, body, key=exchange_signer().private_key)
    return post(server, path, body, headers)


def client(server: Server, app_id: str) -> ExchangeClient:
    return ExchangeClient(
        server.url,
        app_id=app_id,
        key=exchange_signer().private_key,
        service_certificate=service_signer().certificate,
    )


def test_a_peer_reaches_no_type_beyond_its_right(server: Server) -> None:
    """A peer with ``exchange:<engineer>`` pulls nothing else, fetches no business licence by its
    digest, and sees only its type in a reconciliation summary."""
    app_id = exchange_app(server, [Right("exchange", ENGINEER)], peer=False)
    asked = exchange_post(server, app_id, "pull", {"after": 0, "certTypeCodes": [BUSINESS]})
    assert envelope_of(asked)["head"]["status"] == 100
    with opened(server.location) as library:
        business = library.get(cert_of(BUSINESS).identifier)
    fetched = exchange_post(
        server, app_id, "files/get", {"certIdentifier": business.identifier, "sm3": business.package_digest}
    )
    assert envelope_of(fetched)["head"]["status"] == 100 and "content" not in fetched.text
    with client(server, app_id) as c:
        _, data, _ = c.pull_batch(0, limit=10_000, holders=(), types=(), max_file_bytes=64 * 1024 * 1024)
    assert data is not None
    payload = json.loads(base64.b64decode(json.loads(data)["payload"]))
    pulled = {e["identifier"] for e in payload["events"] if "identifier" in e}
    assert pulled == {cert_of(ENGINEER).identifier}
    summary = exchange_post(server, app_id, "reconcile", {"certTypeCodes": [BUSINESS, ENGINEER]}).json()
    assert summary["data"]["certTypeCodes"] == [ENGINEER]
    assert all(g.split("|")[1] == ENGINEER for g in summary["data"]["groups"])


def local_library(tmp_path: Path, name: str, n: int) -> SQLiteRegistry:
    library = SQLiteRegistry.open(tmp_path / f"{name}.db")
    for _ in range(n):
        issue(library, f"2027{next(_serials) + 300000:06d}")
    return library


def test_a_peer_cannot_push_for_a_library_another_peer_sends_for(server: Server, tmp_path: Path) -> None:
    first = exchange_app(server, [Right("exchange", "*")], peer=True)
    second = exchange_app(server, [Right("exchange", "*")], peer=True)
    city = local_library(tmp_path, "city", 2)
    try:
        data = make_batch(city, exchange_signer(), sender=city.library_id)
        assert data is not None
        with client(server, first) as c:
            c.push_batch(data)
        with opened(server.location) as library:
            before = cursor_of(library, city.library_id)
        issue(city, f"2027{next(_serials) + 300000:06d}")
        more = make_batch(city, exchange_signer(), sender=city.library_id)  # same log, same signer
        assert more is not None
        answer = exchange_post(server, second, "push", {"batch": json.loads(more)})
        assert envelope_of(answer)["head"]["status"] == 100
        with opened(server.location) as library:
            assert cursor_of(library, city.library_id) == before
        status = exchange_post(server, second, "status", {}).json()["data"]
        assert status["peer"]["library"] is None  # the refused push bound nothing
    finally:
        city.close()


@pytest.fixture
def province(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A second library served on its own, which the attacked server's library pulls from."""
    location = str(tmp_path / "province" / "library.db")
    (tmp_path / "province").mkdir()
    with opened(location) as library:
        for _ in range(3):
            issue(library, f"2027{next(_serials) + 600000:06d}")
        library.add_application(
            "follower",
            name="follower",
            department="示例市大数据局",
            public_key=save_public_key(exchange_signer().private_key.public_key()).decode("ascii"),
            rights=[Right("exchange", "*")],
        )
        province_id = library.library_id
    with running_server(location, tmp_path / "province") as running:
        yield running, province_id


def test_a_peer_cannot_push_for_a_library_this_one_pulls(
    server: Server, province: tuple[Server, str], tmp_path: Path
) -> None:
    """The attacked library follows the province by pull (the same cursor rows a push moves).  A
    peer of it relabels its own log as the province's: once the library pulled, the push is
    refused; before, the library's pull refuses to mix the two rather than miss events."""
    upstream, province_id = province
    peer = exchange_app(server, [Right("exchange", "*")], peer=True)
    own = local_library(tmp_path, "peer", 5)
    try:
        relabelled = make_batch(own, exchange_signer(), sender=province_id)
        assert relabelled is not None
        with opened(server.location) as library, client(upstream, "follower") as c:
            report = pull(library, c, policy=ExchangePolicy(regions=frozenset({"330000"})))
            assert len(report.answers) == 1
            pulled = cursor_of(library, province_id)
        answer = exchange_post(server, peer, "push", {"batch": json.loads(relabelled)})
        assert envelope_of(answer)["head"]["status"] == 100
        status = exchange_post(server, peer, "status", {}).json()["data"]
        assert status["peer"]["library"] is None  # neither bound nor shown the province's cursor
        with opened(server.location) as library:
            assert cursor_of(library, province_id) == pulled
    finally:
        own.close()


def test_a_peer_that_pushed_for_a_library_first_stops_its_pull(
    server: Server, province: tuple[Server, str], tmp_path: Path
) -> None:
    """The other order: the peer pushed its relabelled log before the library first pulled.  The
    cursor it moved (5) is past the province's log (3): a pull would have found nothing after it
    and silently missed every province certificate; it refuses instead."""
    upstream, province_id = province
    peer = exchange_app(server, [Right("exchange", "*")], peer=True)
    own = local_library(tmp_path, "peer", 5)  # more events than the province has: it would miss all
    try:
        relabelled = make_batch(own, exchange_signer(), sender=province_id)
        assert relabelled is not None
        exchange_post(server, peer, "push", {"batch": json.loads(relabelled)})
        with (
            opened(server.location) as library,
            client(upstream, "follower") as c,
            pytest.raises(PermissionDenied, match="peer"),
        ):
            pull(library, c, policy=ExchangePolicy(regions=frozenset({"330000"})))
    finally:
        own.close()


def test_copies_of_one_signed_exchange_request_at_once_are_answered_once(server: Server) -> None:
    app_id = exchange_app(server, [Right("exchange", "*")], peer=False)
    path = "/exchange/v1/status"
    headers, _ = signed(server, app_id, path, b"{}", key=exchange_signer().private_key)
    answers = at_once(8, lambda _: post(server, path, b"{}", headers))
    assert sorted(a.json()["head"]["status"] for a in answers) == [0] + [202] * 7


DEEP = base64.b64encode(b"[" * 100_000).decode()


@pytest.mark.parametrize(
    ("operation", "doc"),
    [
        ("pull", {"after": 2**70}),
        ("pull", {"after": 0, "maxFileBytes": 2**70}),
        ("pull", {"after": 0, "certTypeCodes": ["x" * 100_000]}),
        ("files/get", {"certIdentifier": "\x00", "sm3": "0" * 64}),
        ("files/get", {"certIdentifier": cert_of(ENGINEER).identifier, "copyId": "x" * 128, "sm3": "0" * 64}),
        ("files/put", {"certIdentifier": cert_of(ENGINEER).identifier, "sm3": "0" * 64, "content": ""}),
        ("push", {"batch": {"format": "ecert-exchange-batch/1", "signature": "", "payload": DEEP}}),
        ("push", {"batch": {"a": {"b": {"c": json.loads("[" * 30 + "]" * 30)}}}}),
    ],
)
def test_hostile_exchange_bodies_get_envelopes(server: Server, operation: str, doc: Any) -> None:
    app_id = _hostile_peer(server)
    envelope_of(exchange_post(server, app_id, operation, doc))


_peers: dict[str, str] = {}


def _hostile_peer(server: Server) -> str:
    if server.url not in _peers:
        _peers[server.url] = exchange_app(server, [Right("exchange", "*")], peer=True)
    return _peers[server.url]


@pytest.mark.parametrize("ticket", ["%ff%fe", "%00", "%ed%a0%80", "a" * 8000, "..%2f..%2fetc%2fpasswd"])
def test_odd_download_tickets_get_envelopes(server: Server, ticket: str) -> None:
    answer = httpx.get(f"{server.url}/share/v1/files/{ticket}", timeout=30)
    envelope_of(answer)


@pytest.mark.parametrize("until", ["0001-01-01", "9999-12-31"])
def test_an_odd_copy_validity_is_refused_or_served_and_never_breaks_the_batch(
    server: Server, until: str
) -> None:
    """A copy valid until year 1 or 9999, sent with ordinary reads: the odd one is refused (or
    made), never an internal error, and each ordinary read is answered with its use recorded."""
    identifier = cert_of(ENGINEER).identifier
    case = f"copy-{until}"

    def send(i: int) -> httpx.Response:
        if i == 0:
            doc = {"operator": "王经办", "useCause": "attack", "certIdentifier": identifier}
            doc |= {"fileType": "copy", "copyValidUntil": until}
            body, path = json.dumps(doc).encode(), "/share/v1/download"
        else:
            body, path = get_body(identifier, f"{case}-{i}"), "/share/v1/get"
        headers, _ = signed(server, "tax", path, body)
        return post(server, path, body, headers)

    answers = at_once(6, send)
    odd = answers[0].json()["head"]["status"]
    assert odd not in (99,) and answers[0].status_code < 500, answers[0].text[:300]
    assert [a.json()["head"]["status"] for a in answers[1:]] == [0] * 5
    for i in range(1, 6):
        assert len(uses_of(server, f"{case}-{i}")) == 1


def test_no_answer_leaves_before_the_commit_that_records_its_use(server: Server) -> None:
    """The moment each answer arrives, its use is in the library for another connection to read
    (requests in the same batches, in both workers)."""
    import sqlite3

    identifier = cert_of(BUSINESS).identifier

    def send(i: int) -> tuple[int, int]:
        case = f"committed-{i}"
        body = get_body(identifier, case)
        headers, _ = signed(server, "tax", "/share/v1/get", body)
        status = post(server, "/share/v1/get", body, headers).json()["head"]["status"]
        with contextlib.closing(sqlite3.connect(f"file:{server.location}?mode=ro", uri=True)) as db:
            (seen,) = db.execute(
                "SELECT count(*) FROM usage_records WHERE case_number = ?", (case,)
            ).fetchone()
        return int(status), int(seen)

    assert at_once(12, send) == [(0, 1)] * 12


@pytest.mark.slow
def test_two_peers_racing_for_a_new_library_bind_only_one(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """PostgreSQL, two workers: the city's first push and another peer's push of its own log
    relabelled as the city's arrive together.  Neither has bound the city yet, so both passed the
    owner check; only one may bind it and move its cursor, the other is refused (code 100) and
    leaves the cursor alone (a refusal commits what was written before it: a push refused after
    applying its batch would have committed the batch and the cursor)."""
    folder = tmp_path / "served"
    city = local_library(tmp_path, "city", 60)
    other = local_library(tmp_path, "other", 60)
    try:
        genuine = make_batch(city, exchange_signer(), sender=city.library_id)
        relabelled = make_batch(other, exchange_signer(), sender=city.library_id)
        assert genuine is not None and relabelled is not None
        with library_at(request, "postgresql", folder) as location:
            with opened(location):  # created empty
                pass
            heads = [city.events(after=59, limit=1)[0].hash, other.events(after=59, limit=1)[0].hash]
            race(location, folder, city.library_id, genuine, relabelled, heads)
    finally:
        city.close()
        other.close()


def race(
    location: str, folder: Path, city_id: str, genuine: bytes, relabelled: bytes, heads: list[str]
) -> None:
    with running_server(location, folder, workers=2) as served:
        peers = [exchange_app(served, [Right("exchange", "*")], peer=True) for _ in range(2)]
        batches = [json.loads(genuine), json.loads(relabelled)]
        at_once(8, lambda i: exchange_post(served, peers[i % 2], "status", {}))  # both workers warm
        answers = at_once(2, lambda i: exchange_post(served, peers[i], "push", {"batch": batches[i]}))
    statuses = [a.json()["head"]["status"] for a in answers]
    assert sorted(statuses) == [0, 100], [a.json()["head"] for a in answers]
    winner, loser = peers[statuses.index(0)], peers[statuses.index(100)]
    with opened(location) as library:
        assert library.info(f"exchange.library.{city_id}.peer") == winner
        assert library.info(f"exchange.peer.{loser}.library") is None
        # the refused push moved nothing: the cursor is the winner's log's, not the loser's
        assert cursor_of(library, city_id) == (60, heads[statuses.index(0)])


def test_a_one_time_download_is_handed_out_once_when_fetched_at_once(server: Server) -> None:
    identifier = cert_of(ENGINEER).identifier
    doc = {"operator": "王经办", "useCause": "attack", "certIdentifier": identifier, "contentType": "http"}
    body = json.dumps(doc).encode()
    headers, _ = signed(server, "tax", "/share/v1/download", body)
    url = post(server, "/share/v1/download", body, headers).json()["data"]["content"]
    answers = at_once(8, lambda _: httpx.get(server.url + url, timeout=60))
    assert sorted(a.status_code for a in answers)[0] == 200
    assert [a.status_code for a in answers].count(200) == 1
    assert all(a.json()["head"]["status"] not in (0, 99) for a in answers if a.status_code != 200)
