"""Held to faults (issue 13): three libraries, two cities on SQLite and the province on a real
PostgreSQL server, kept in step by offline exchange packages (归集 up, 回流 down).

Issue in both cities, exchange, revoke, renew and copy, exchange: every library holds the same
records, statuses and files.  Then the faults a front-end machine sees: the receiver killed with
SIGKILL in the middle of a batch and resumed, batches dropped and reordered, an old batch replayed,
one record of a signed batch tampered with, a certificate from another region, two conflicting
versions of one certificate.  Nothing is lost or recorded twice, every refusal is named, and
reconciliation then finds no difference (or exactly the refused records, where a city holds what it
had no right to send).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ecert.crypto.digests import sm3
from ecert.crypto.hierarchy import make_issuer_certificate
from ecert.crypto.keys import generate_private_key
from ecert.crypto.signer import Signer
from ecert.crypto.x509 import Certificate
from ecert.errors import InvalidBundle
from ecert.exchange.batch import Answer, ExchangePolicy, apply_batch, cursor_of
from ecert.exchange.offline import make_package, read_package
from ecert.exchange.reconcile import differences
from ecert.identifier import Identifier
from ecert.registry import CertStatus, CopyRecord, SQLiteRegistry, open_registry
from ecert.registry.base import Registry

from .certs import DEPARTMENT_CODE, NOW, OTHER_DEPARTMENT_CODE, SIGNED_AT, hierarchy
from .test_exchange import certificate, view

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
LATER = NOW + timedelta(hours=4)
HANGZHOU = ExchangePolicy(regions=frozenset({"330100"}))
NINGBO = ExchangePolicy(regions=frozenset({"330200"}))
PROVINCE = ExchangePolicy(regions=frozenset({"330000"}))


@functools.lru_cache(maxsize=4)
def exchange_key(name: str) -> Signer:
    """A library's exchange key, certified under the province's root (each configured by itself)."""
    h = hierarchy()
    key = generate_private_key("sm2")
    cert = make_issuer_certificate(
        h.root_key, h.root_cert, key.public_key(), f"{name}数据交换前置机",
        organization=f"{name}大数据局", not_before=SIGNED_AT - timedelta(days=1),
    )  # fmt: skip
    return Signer(key, cert, (h.root_cert,))


@dataclass
class Site:
    name: str
    lib: Registry
    key: Signer
    region: ExchangePolicy  # what this site may send

    @property
    def cert(self) -> Certificate:
        return self.key.certificate


@functools.lru_cache(maxsize=512)
def made(serial: str, issuer_code: str) -> tuple[Any, bytes]:
    return certificate.__wrapped__(serial, issuer_code)  # type: ignore[no-any-return]


def issue(site: Site, serial: str, issuer_code: str | None = None) -> str:
    code = issuer_code or (DEPARTMENT_CODE if site.region is HANGZHOU else OTHER_DEPARTMENT_CODE)
    md, data = made(serial, code)
    site.lib.record_issued(
        md, package_digest=sm3(data).hex(), signer=site.name, issued_at=SIGNED_AT, content=data
    )
    return str(md.identifier)


def deliver(src: Site, dst: Site, *, batch_size: int = 50) -> list[Answer]:
    """Everything ``dst`` has not yet applied from ``src``, as an offline package, applied in order."""
    after = cursor_of(dst.lib, src.lib.library_id)[0]
    package = make_package(src.lib, src.key, after=after, batch_size=batch_size, at=NOW)
    if package is None:
        return []
    return [apply(dst, src, b) for b in read_package(package[0])]


def apply(dst: Site, src: Site, batch: bytes) -> Answer:
    return apply_batch(dst.lib, batch, sender_certificate=src.cert, policy=src.region, at=NOW)


def round_trip(a: Site, b: Site, p: Site) -> list[Answer]:
    """归集 from both cities, then 回流 to both: each city learns what the other issued."""
    answers = deliver(a, p) + deliver(b, p) + deliver(p, a) + deliver(p, b)
    answers += deliver(a, p) + deliver(b, p)  # what the cities took from the province: 'already'
    assert all(x.problem is None for x in answers), [x.problem for x in answers]
    return answers


def refusals(answers: list[Answer]) -> list[tuple[str, str]]:
    return [(r.identifier, r.reason) for x in answers for r in x.results if r.outcome == "refused"]


def no_duplicates(lib: Registry) -> None:
    """Each certificate recorded once: one record, one issued event, one file."""
    issued = Counter(e.identifier for e in all_events(lib) if e.kind == "issued")
    assert set(issued.values()) == {1}
    assert sorted(issued) == sorted(r.identifier for r in lib.iter_records())


def all_events(lib: Registry) -> list[Any]:
    out, after = [], 0
    while chunk := lib.events(after=after, limit=1000):
        out += chunk
        after = chunk[-1].seq
    return out


def same_everywhere(*sites: Site) -> None:
    first = view(sites[0].lib)
    for site in sites:
        assert view(site.lib) == first, site.name
        assert site.lib.check().ok, site.lib.check().problems[:3]
        no_duplicates(site.lib)
    for site in sites[1:]:
        assert differences(sites[0].lib, site.lib) == []


@pytest.fixture
def sites(tmp_path: Path, pg_url: str) -> Iterator[tuple[Site, Site, Site]]:
    a = Site("杭州市", SQLiteRegistry.open(tmp_path / "hangzhou.db"), exchange_key("杭州市"), HANGZHOU)
    b = Site("宁波市", SQLiteRegistry.open(tmp_path / "ningbo.db"), exchange_key("宁波市"), NINGBO)
    p = Site("浙江省", open_registry(pg_url), exchange_key("浙江省"), PROVINCE)
    yield a, b, p
    for site in (a, b, p):
        site.lib.close()


def renew(site: Site, identifier: str) -> str:
    ident = Identifier.parse(identifier)
    md, data = made(ident.serial, DEPARTMENT_CODE if site.region is HANGZHOU else OTHER_DEPARTMENT_CODE)
    new = Identifier.build(ident.type_code, ident.issuer_code, ident.serial, version=ident.version + 1)
    data += b"\n%version 2"
    site.lib.renew(identifier, replace(md, identifier=new), package_digest=sm3(data).hex(), signer=site.name,
                   issued_at=LATER, reason="延续换发", by="王五", content=data)  # fmt: skip
    return str(new)


def copy_of(site: Site, identifier: str, copy_id: str) -> None:
    content = f"annotated copy {copy_id}".encode()
    until = (LATER + timedelta(days=30)).date()
    record = CopyRecord(
        copy_id, identifier, "A", LATER, "窗口", "办理银行开户", until, sm3(content).hex(), None, None
    )
    site.lib.record_copy(record, content, operator="王五", at=LATER)


def _import(package: Path, dst: str, sender: Path, region: str) -> list[str]:
    return [sys.executable, "-m", "ecert", "exchange", "import", str(package), "--library", dst,
            "--sender-cert", str(sender), "--region", region, "--json"]  # fmt: skip


def test_three_libraries_stay_in_step_through_every_fault(sites: Any, tmp_path: Path, pg_url: str) -> None:
    a, b, p = sites
    ours = [issue(a, f"20260000{i:02d}") for i in range(1, 6)]
    theirs = [issue(b, f"20260000{i:02d}") for i in range(1, 4)]
    first = round_trip(a, b, p)
    assert refusals(first) == []
    same_everywhere(a, b, p)
    assert len(list(p.lib.iter_records())) == 8

    # revoke, suspend and return, renew, copy: in both cities
    a.lib.revoke(ours[0], reason="以欺骗手段取得", by="张三", at=LATER)
    b.lib.suspend(theirs[0], reason="核查", by="李四", at=LATER)
    b.lib.reinstate(theirs[0], reason="核查无误", by="李四", at=LATER + timedelta(minutes=5))
    renewed = renew(b, theirs[1])
    copy_of(a, ours[1], "JZJ-A-0001")
    assert refusals(round_trip(a, b, p)) == []
    same_everywhere(a, b, p)
    assert p.lib.get(ours[0]).status is CertStatus.REVOKED and a.lib.get(theirs[1]).replaced_by == renewed

    # SIGKILL: the province's import of a 300-certificate package killed mid-batch, then resumed
    more = [issue(a, f"2026001{i:03d}") for i in range(300)]
    package, last = make_package(a.lib, a.key, after=cursor_of(p.lib, a.lib.library_id)[0],
                                 batch_size=1000, at=NOW) or (b"", 0)  # fmt: skip
    assert len(read_package(package)) == 1  # one batch: the kill lands inside it
    (tmp_path / "a.pem").write_bytes(a.cert.to_pem())
    (tmp_path / "up.json").write_bytes(package)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = _import(tmp_path / "up.json", pg_url, tmp_path / "a.pem", "330100")
    before = cursor_of(p.lib, a.lib.library_id)[0]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while cursor_of(p.lib, a.lib.library_id)[0] < before + 20:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stderr and child.stderr.close()
    killed_at = cursor_of(p.lib, a.lib.library_id)[0]

    assert child.returncode == -signal.SIGKILL and before + 20 <= killed_at < last
    held = {r.identifier for r in p.lib.iter_records()}
    applied = {e.identifier for e in a.lib.events(after=before, limit=killed_at - before)}
    assert held & set(more) == applied  # exactly the events up to the cursor: no half-applied record
    assert p.lib.check().ok
    no_duplicates(p.lib)
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    (answer,) = json.loads(resumed.stdout)
    assert answer["counts"] == {"accepted": last - killed_at, "already": killed_at - before, "refused": 0}
    assert set(more) <= {r.identifier for r in p.lib.iter_records()}
    assert refusals(round_trip(a, b, p)) == []
    same_everywhere(a, b, p)

    # dropped and reordered batches: named gaps, nothing applied out of order
    for i, ident in enumerate(more[:6]):
        a.lib.suspend(ident, reason=f"抽查 {i}", by="张三", at=LATER)
    after = cursor_of(p.lib, a.lib.library_id)[0]
    pkg = make_package(a.lib, a.key, after=after, batch_size=2, at=NOW)
    assert pkg is not None
    one, two, three = read_package(pkg[0])
    late = apply(p, a, three)
    assert late.missing == (after + 1, after + 4) and "gap" in str(late.problem) and not late.results
    assert apply(p, a, one).counts["accepted"] == 2
    assert apply(p, a, three).missing == (after + 3, after + 4)  # two is still missing: named
    assert apply(p, a, two).counts["accepted"] == 2 and apply(p, a, three).counts["accepted"] == 2
    # an old batch replayed: all 'already', nothing written
    events = len(all_events(p.lib))
    assert apply(p, a, one).counts == {"accepted": 0, "already": 2, "refused": 0}
    old = read_package(make_package(a.lib, a.key, after=0, batch_size=5, at=NOW)[0])[0]  # type: ignore[index]
    assert apply(p, a, old).counts == {"accepted": 0, "already": 5, "refused": 0}
    assert len(all_events(p.lib)) == events
    # one record of a signed batch tampered with: the whole batch refused, nothing applied
    a.lib.revoke(more[10], reason="吊销", by="张三", at=LATER)
    (batch,) = read_package(make_package(a.lib, a.key, after=cursor_of(p.lib, a.lib.library_id)[0],
                                         at=NOW)[0])  # type: ignore[index]  # fmt: skip
    env_json = json.loads(batch)
    payload = json.loads(base64.b64decode(env_json["payload"]))
    payload["events"][0]["status"] = "valid"
    env_json["payload"] = base64.b64encode(json.dumps(payload, ensure_ascii=False).encode()).decode()
    with pytest.raises(InvalidBundle, match="altered"):
        apply(p, a, json.dumps(env_json).encode())
    assert len(all_events(p.lib)) == events and p.lib.get(more[10]).status is CertStatus.VALID
    assert refusals(round_trip(a, b, p)) == []
    same_everywhere(a, b, p)  # after every fault: no difference anywhere

    # a certificate from another region, and a second version of one the province holds
    foreign = issue(b, "2026009999", DEPARTMENT_CODE)  # recorded in Ningbo, issued by a Hangzhou department
    md, data = made(Identifier.parse(ours[2]).serial, DEPARTMENT_CODE)
    forged = data + b"\n%a different file under the same identifier"
    fresh = Site("宁波市", SQLiteRegistry.open(tmp_path / "ningbo-2.db"), b.key, NINGBO)
    try:
        fresh.lib.record_issued(md, package_digest=sm3(forged).hex(), signer="宁波市", issued_at=SIGNED_AT,
                                content=forged)  # fmt: skip
        up = deliver(b, p)
        outside = f"issuer {DEPARTMENT_CODE} is outside what {b.lib.library_id} may send (regions 330200)"
        assert refusals(up) == [(foreign, outside)]
        down = deliver(p, fresh)  # the province's log reaches a library holding another version
        named = dict(refusals(down))
        assert set(named) == {ours[2]} and "conflicting version" in named[ours[2]]
        assert fresh.lib.read_file(ours[2]) == forged  # never overwritten
        diff = differences(b.lib, p.lib)
        assert [d.only_ours for d in diff] == [(foreign,)]
        assert [d.changed for d in differences(fresh.lib, p.lib) if d.changed] == [(ours[2],)]
    finally:
        fresh.lib.close()
    assert differences(a.lib, p.lib) == []
