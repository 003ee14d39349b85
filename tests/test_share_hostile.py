"""≥ 10,000 malformed and hostile requests against a running share server (loopback only, bounded in
time): every answer is a well-formed, signed {head, data} envelope, none is an internal error (99),
and the server still answers a genuine request afterwards."""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ecert.share import Client
from ecert.share.signing import request_headers, verify_response

from .share_server import Server, running_server
from .share_support import (
    ENGINEER,
    app_key,
    cert_of,
    library_at,
    opened,
    populate,
    service_signer,
)

pytestmark = pytest.mark.slow

OPERATIONS = (
    "token",
    "catalogue",
    "search",
    "get",
    "get-by-qr",
    "download",
    "verify-data",
    "verify-file",
    "usage",
)
TOTAL = 10_400
TIME_LIMIT = 240.0  # seconds for the whole barrage (it takes well under a minute on a quiet machine)


@dataclass(frozen=True, slots=True)
class Shot:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    nonce: str | None = None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A running server (2 workers, as deployed) over a library on either backend."""
    folder = tmp_path_factory.mktemp("hostile")
    with library_at(request, request.param, folder) as location:
        with opened(location) as library:
            populate(library)
        extra = ("--max-body", str(2 * 1024 * 1024))
        with running_server(location, folder, workers=2, extra=extra) as running:
            yield running


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


def hostile_files() -> list[bytes]:
    good = cert_of(ENGINEER).content
    flipped = bytearray(good)
    flipped[len(flipped) // 3] ^= 0xFF
    return [
        b"",
        b"PK\x03\x04" + b"\x00" * 100,
        _zip({"OFD.xml": b"\x00" * 50_000_000}),  # a deflate bomb: 50 MB of zeros in ~50 kB
        _zip({f"f{i}": b"x" for i in range(5000)}),  # many entries
        _zip({"OFD.xml": b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'}),
        _zip({"../../etc/passwd": b"root"}),
        good[: len(good) // 2],
        bytes(flipped),
        good + b"trailing garbage",
        random.Random(7).randbytes(30_000),
    ]


def _signed(
    app_id: str, path: str, body: bytes, *, at: datetime | None = None, nonce: str | None = None
) -> Shot:
    headers = request_headers(
        app_key(app_id), app_id, "POST", path, body, at=at or datetime.now(UTC), nonce=nonce
    )
    return Shot("POST", path, {**headers, "content-type": "application/json"}, body, headers["X-Ecert-Nonce"])


def shots(rng: random.Random, identifier: str) -> Iterator[Shot]:
    """An endless mix of hostile requests; every kind comes round often."""
    import base64

    files = [base64.b64encode(f).decode() for f in hostile_files()]
    json_bodies: list[Any] = [
        [],
        {},
        None,
        1,
        "x",
        {"operator": 1},
        {"operator": "a", "useCause": "b"},
        {"operator": "a", "useCause": "b", "certIdentifier": identifier, "metadataRange": "ZZBH"},
        {"operator": "a", "useCause": "b", "certIdentifier": identifier, "metadataRange": ["../", "x" * 70]},
        {"operator": "a", "useCause": "b" * 5000, "certIdentifier": identifier},
        {"operator": "a\u0000b", "useCause": "b", "certIdentifier": identifier},
        {"operator": "a", "useCause": "b", "certIdentifier": "\u202e" * 100},
        {"operator": "a", "useCause": "b", "certIdentifier": identifier, "fileType": "exe"},
        {"operator": "a", "useCause": "b", "certTypeCode": ENGINEER, "certData": {"ZZBS": ["x"]}},
        {
            "operator": "a",
            "useCause": "b",
            "certTypeCode": ENGINEER,
            "certData": {f"K{i}": "v" for i in range(300)},
        },
        {"operator": "a", "useCause": "b", "holderCode": "1", "holderTypeCode": "1111", "certTypeCode": "x"},
        {"operator": "a", "useCause": "b", "qrcode": "EC1:" + "Z" * 4000},
        {"operator": "a", "useCause": "b", "qrcode": "ECR1:x:" + "g" * 64},
        {"operator": "a", "itemCode": "x"},
        {"operator": "a", "useCause": "b", "contentType": "http", "content": "http://169.254.169.254/"},
    ]
    raw_bodies = [
        b"",
        b"{",
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b"\xff\xfe\x00{",
        b'{"operator":"\xc3\x28"}',
        b'{"operator":"\\ud800","useCause":"x"}',
        b"1e999999",
        b'{"a":1,"a":2}',
        b"null",
        b"\x00" * 1000,
        json.dumps({"x": "y" * 1_000_000}).encode(),
    ]
    kinds = (
        "unsigned",
        "signed-json",
        "signed-raw",
        "headers",
        "paths",
        "methods",
        "files",
        "too-large",
        "stale",
    )
    while True:
        kind = rng.choice(kinds)
        op = rng.choice(OPERATIONS)
        path = f"/share/v1/{op}"
        if kind == "unsigned":
            yield Shot("POST", path, {}, rng.randbytes(rng.randrange(0, 2000)))
        elif kind == "signed-json":
            yield _signed(
                rng.choice(("tax", "district", "kiosk")),
                path,
                json.dumps(rng.choice(json_bodies), ensure_ascii=rng.random() < 0.5).encode(),
            )
        elif kind == "signed-raw":
            yield _signed("tax", path, rng.choice(raw_bodies))
        elif kind == "headers":
            body = b'{"operator":"a","useCause":"b","certIdentifier":"' + identifier.encode() + b'"}'
            good = _signed("tax", path, body)
            name = rng.choice(list(good.headers))
            value = rng.choice(
                [
                    "",
                    "x" * 6000,
                    "=" * 10,
                    "2026-02-30T25:61:61Z",
                    "../../etc",
                    "é" * 20,
                    "MEUCIQD" + "A" * 90 + "==",
                    "Bearer",
                    "tax\tx",
                ]
            )
            headers = {**good.headers, name: value}
            if rng.random() < 0.3:
                headers["authorization"] = rng.choice(
                    ["Bearer " + "A" * rng.randrange(0, 300), "Basic YTpi", "x"]
                )
            yield Shot("POST", path, headers, body)
        elif kind == "paths":
            weird = rng.choice(
                [
                    "/",
                    "/share",
                    "/share/v1/",
                    "/share/v1/files/",
                    "/share/v1/files/" + "A" * rng.randrange(1, 3000),
                    "/share/v1/files/..%2F..%2Fetc%2Fpasswd",
                    "/share/v1/%00",
                    "/share/v1/get/../download",
                    "/share/v1/GET",
                    "/docs",
                    "/openapi.json",
                    "/share/v1/files/x?y=" + "z" * 1000,
                ]
            )
            yield Shot(rng.choice(["GET", "POST"]), weird, {}, b"{}")
        elif kind == "methods":
            yield Shot(rng.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]), path, {}, b"{}")
        elif kind == "files":
            body = {"operator": "a", "useCause": "b", "contentType": "base64", "content": rng.choice(files)}
            yield _signed("tax", "/share/v1/verify-file", json.dumps(body).encode())
        elif kind == "too-large":
            if rng.random() < 0.02:  # a few, they are big
                yield Shot("POST", path, {}, b"x" * (2 * 1024 * 1024 + rng.randrange(1, 100)))
        elif kind == "stale":
            at = datetime.now(UTC) + timedelta(minutes=rng.choice([-60, -6, 6, 60 * 24 * 365]))
            yield _signed("tax", "/share/v1/catalogue", b"{}", at=at)


def _check(server: Server, http: httpx.Client, shot: Shot) -> tuple[int, int]:
    headers = {k: v.encode("utf-8") for k, v in shot.headers.items()}  # non-ASCII values as raw bytes
    answer = http.request(shot.method, server.url + shot.path, headers=headers, content=shot.body)
    assert answer.headers.get("content-type", "").startswith("application/json"), (
        shot.path,
        answer.text[:200],
    )
    envelope = answer.json()
    assert set(envelope) == {"head", "data"}, envelope
    head = envelope["head"]
    assert isinstance(head["status"], int) and isinstance(head["message"], str) and head["message"]
    assert head["status"] != 99 and answer.status_code != 500, (shot.path, shot.body[:200], envelope)
    nonce = shot.headers.get("X-Ecert-Nonce")
    sent = nonce if nonce is not None and 16 <= len(nonce) <= 64 and nonce.isascii() else None
    try:
        verify_response(
            service_signer().certificate.public_key, sent, answer.status_code, answer.content, answer.headers
        )
    except Exception:  # the nonce header was malformed in a way the server read as "none"
        verify_response(
            service_signer().certificate.public_key, None, answer.status_code, answer.content, answer.headers
        )
    return answer.status_code, head["status"]


def test_ten_thousand_hostile_requests(server: Server) -> None:
    rng = random.Random(20261203)
    engineer = cert_of(ENGINEER)
    batch = []
    for shot in shots(rng, engineer.identifier):
        batch.append(shot)
        if len(batch) >= TOTAL:
            break
    deadline = datetime.now(UTC) + timedelta(seconds=TIME_LIMIT)
    codes: dict[int, int] = {}
    limits = httpx.Limits(max_connections=8)
    with httpx.Client(timeout=60, limits=limits) as http, ThreadPoolExecutor(8) as pool:
        for _, status in pool.map(lambda s: _check(server, http, s), batch):
            codes[status] = codes.get(status, 0) + 1
            assert datetime.now(UTC) < deadline, f"the barrage took longer than {TIME_LIMIT} s"
    assert sum(codes.values()) >= 10_000
    assert {11, 102, 2, 201}.issubset(codes), codes  # the kinds of refusal it should meet
    with Client(
        server.url,
        app_id="tax",
        key=app_key("tax"),
        service_key=service_signer().certificate,
        operator="王经办",
    ) as tax:
        assert tax.get(engineer.identifier, ["ZZBS"], reason="事后核对")["metadata"] == {
            "ZZBS": engineer.identifier
        }
