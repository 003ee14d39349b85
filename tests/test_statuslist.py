"""Signed status lists (spec/statuslist.md): revocations reach offline verifiers; bad lists are refused."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.errors import EcertError, InputError, InvalidSignature, TrustError
from ecert.identifier import Identifier
from ecert.registry import CertStatus, SQLiteRegistry, StaleStatusList, StatusEntry, StatusList
from ecert.verify import verify

from .certs import NOW, draft, issued_file, signer, trust_store

TYPE, ISSUER = "11100000000013338W001", "11330100MB01234570"
ID1 = str(Identifier.build(TYPE, ISSUER, "2026000001"))
ID2 = str(Identifier.build(TYPE, ISSUER, "2026000002"))
ID3 = str(Identifier.build(TYPE, ISSUER, "2026000002", 2))
REVOKED = StatusEntry(ID1, CertStatus.REVOKED, "以欺骗手段取得许可", NOW)
REPLACED = StatusEntry(ID2, CertStatus.REPLACED, "renewed", NOW, ID3)
WEEK = NOW + timedelta(days=7)


def _signed(entries: list[StatusEntry], kind: str = "sm2", next_update: Any = WEEK) -> bytes:
    return StatusList.build(entries, issued_at=NOW, next_update=next_update).sign(signer(kind))


def _envelope_around(payload: bytes, kind: str = "sm2") -> bytes:
    """An envelope a trusted signer signed around arbitrary payload bytes (to test payload checks)."""
    s = signer(kind)
    return json.dumps(
        {
            "format": "ecert-status-list/1",
            "payload": base64.b64encode(payload).decode(),
            "alg": s.algorithm.oid,
            "signature": base64.b64encode(s.sign(payload)).decode(),
            "certificates": [base64.b64encode(s.certificate.der).decode()],
        }
    ).encode()


def _payload(data: bytes) -> dict[str, Any]:
    return json.loads(base64.b64decode(json.loads(data)["payload"]))  # type: ignore[no-any-return]


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize("kind", ["sm2", "p256"])
def test_round_trip(kind: str) -> None:
    data = _signed([REPLACED, REVOKED], kind)
    loaded = StatusList.load(data, trust=trust_store(kind), at=NOW)
    assert loaded.entries == (REVOKED, REPLACED)  # sorted by identifier
    assert loaded.status_of(ID1) == REVOKED and loaded.status_of(ID3) is None
    entry = loaded.status_of(ID2)
    assert entry is not None and entry.replaced_by == ID3 and entry.status_name_zh.startswith("换发")
    assert loaded.signer is not None and loaded.signer.der == signer(kind).certificate.der
    assert loaded.issuer == signer(kind).certificate.subject and not loaded.knows_every_certificate
    assert loaded.issued_at == NOW and loaded.next_update == WEEK
    payload = _payload(data)
    assert payload["format"] == "ecert-status-list/1" and payload["issued_at"] == "2026-11-25T02:00:00Z"
    assert base64.b64decode(json.loads(data)["payload"]) == _canonical(payload)


def test_export_from_the_registry_and_verify_offline(tmp_path: Path) -> None:
    md = draft().metadata
    with SQLiteRegistry.open(tmp_path / "r.db") as reg:
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=NOW)
        assert verify(issued_file(), trust=trust_store(), at=NOW, status=reg).ok
        reg.revoke(str(md.identifier), reason="以欺骗手段取得", by="clerk", at=NOW)
        online = verify(issued_file(), trust=trust_store(), at=NOW, status=reg)
        assert not online.ok and online.failed("status") and "以欺骗手段取得" in online.to_text()
        data = reg.export_status_list(signer(), issued_at=NOW, next_update=WEEK)
        assert reg.export_status_list(signer(), issued_at=NOW, issuer_code="nobody") != data
    offline_list = StatusList.load(data, trust=trust_store(), at=NOW)
    offline = verify(issued_file(), trust=trust_store(), at=NOW, status=offline_list)
    assert not offline.ok and offline.failed("status")
    assert "revoked" in offline.to_text() and "以欺骗手段取得" in offline.to_text()
    empty = StatusList.load(_signed([]), trust=trust_store(), at=NOW)
    assert verify(issued_file(), trust=trust_store(), at=NOW, status=empty).ok


def test_every_payload_byte_is_covered() -> None:
    data = json.loads(_signed([REVOKED]))
    payload = base64.b64decode(data["payload"])
    for i in range(len(payload)):
        mutated = bytearray(payload)
        mutated[i] ^= 0x01
        data["payload"] = base64.b64encode(bytes(mutated)).decode()
        with pytest.raises(InvalidSignature, match="altered"):
            StatusList.load(json.dumps(data).encode(), trust=trust_store(), at=NOW)


def test_every_file_byte_is_refused_or_harmless() -> None:
    """Flipping any byte of the file is refused, or (in an unused chain certificate) changes nothing."""
    data = _signed([REVOKED], "p256")
    original = StatusList.load(data, trust=trust_store("p256"), at=NOW)
    harmless = 0
    for i in range(len(data)):
        mutated = bytearray(data)
        mutated[i] ^= 0x01
        try:
            loaded = StatusList.load(bytes(mutated), trust=trust_store("p256"), at=NOW)
        except EcertError:
            continue
        assert loaded == original
        harmless += 1
    assert harmless < len(data) // 4


def test_swapped_signature() -> None:
    a, b = json.loads(_signed([REVOKED])), json.loads(_signed([]))
    a["signature"] = b["signature"]
    with pytest.raises(InvalidSignature):
        StatusList.load(json.dumps(a).encode(), trust=trust_store(), at=NOW)
    a = json.loads(_signed([REVOKED], "p256"))
    a["signature"] = json.loads(_signed([REVOKED], "sm2"))["signature"]
    with pytest.raises(InvalidSignature):
        StatusList.load(json.dumps(a).encode(), trust=trust_store("p256"), at=NOW)


def test_untrusted_signer() -> None:
    stranger = DemoHierarchy.create("sm2", now=NOW - timedelta(days=1))
    foreign = StatusList.build([REVOKED], issued_at=NOW).sign(
        Signer(stranger.issuer_key, stranger.issuer_cert)
    )
    with pytest.raises(TrustError, match="not trusted"):
        StatusList.load(foreign, trust=trust_store(), at=NOW)
    assert StatusList.load(foreign, trust=TrustStore.from_certificates(stranger.root_cert), at=NOW)
    # the signer swapped for a trusted certificate: the signature no longer verifies
    env = json.loads(foreign)
    env["certificates"] = [base64.b64encode(signer().certificate.der).decode()]
    with pytest.raises(InvalidSignature):
        StatusList.load(json.dumps(env).encode(), trust=trust_store(), at=NOW)


def test_stale_list() -> None:
    data = _signed([REVOKED])
    assert StatusList.load(data, trust=trust_store(), at=WEEK)  # due, not yet passed
    with pytest.raises(StaleStatusList, match="stale") as info:
        StatusList.load(data, trust=trust_store(), at=WEEK + timedelta(seconds=1))
    assert isinstance(info.value, InputError) and info.value.next_update == WEEK
    no_promise = _signed([REVOKED], next_update=None)
    assert StatusList.load(no_promise, trust=trust_store(), at=NOW + timedelta(days=7)).next_update is None
    with pytest.raises(StaleStatusList, match="no next update"):  # 7 days is the reader's default limit
        StatusList.load(no_promise, trust=trust_store(), at=NOW + timedelta(days=7, seconds=1))
    year = timedelta(days=365)
    assert StatusList.load(no_promise, trust=trust_store(), at=NOW + timedelta(days=300), max_age=year)
    with pytest.raises(InputError, match="timezone"):
        StatusList.load(data, trust=trust_store(), at=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(extra=1), "wrong members"),
        (lambda p: p.update(format="ecert-status-list/2"), "format"),
        (lambda p: p.update(issued_at="2026-11-25T02:00:00+00:00"), "malformed time"),
        (lambda p: p.update(next_update="2026-11-24T02:00:00Z"), "after issued_at"),
        (lambda p: p["entries"].reverse(), "sorted"),
        (lambda p: p["entries"].append(dict(p["entries"][0])), "sorted|twice"),
        (lambda p: p["entries"][0].update(status="valid"), "not valid"),
        (lambda p: p["entries"][0].update(status="lost"), "unknown status"),
        (lambda p: p["entries"][0].update(id="1.2.156.3005.1.X"), "root"),
        (lambda p: p["entries"][0].update(reason=5), "text"),
        (lambda p: p["entries"][0].pop("replaced_by"), "wrong members"),
        (lambda p: p.update(entries={}), "list"),
    ],
)
def test_signed_but_malformed_payloads(change: Any, message: str) -> None:
    payload = _payload(_signed([REVOKED, REPLACED]))
    change(payload)
    with pytest.raises(InputError, match=message):
        StatusList.load(_envelope_around(_canonical(payload)), trust=trust_store(), at=NOW)


def test_non_canonical_payload_is_refused() -> None:
    payload = _payload(_signed([REVOKED]))
    spaced = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    with pytest.raises(InputError, match="canonical"):
        StatusList.load(_envelope_around(spaced), trust=trust_store(), at=NOW)
    escaped = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()  # \\u escapes
    with pytest.raises(InputError, match="canonical"):
        StatusList.load(_envelope_around(escaped), trust=trust_store(), at=NOW)
    duplicate_key = _canonical(payload)[:-1] + b',"issuer":"x"}'
    with pytest.raises(InputError):
        StatusList.load(_envelope_around(duplicate_key), trust=trust_store(), at=NOW)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"{}", b"[1]", b"null", b"\xff\xfe", b'{"format": "ecert-status-list/1"}', b"[" * 100_000, "text"],
)
def test_garbage(garbage: Any) -> None:
    with pytest.raises(EcertError):
        StatusList.load(garbage, trust=trust_store(), at=NOW)


def test_envelope_shapes() -> None:
    good = json.loads(_signed([REVOKED]))
    for key, value in [
        ("certificates", []),
        ("certificates", "MIIB"),
        ("certificates", [good["certificates"][0]] * 9),
        ("certificates", ["bm90IGEgY2VydA=="]),
        ("payload", "###"),
        ("payload", 5),
        ("alg", "1.2.840.113549.1.1.5"),  # SHA-1 with RSA: refused as weak
        ("alg", ["1.2"]),
        ("extra", 1),
    ]:
        env = dict(good, **{key: value})
        with pytest.raises(EcertError):
            StatusList.load(json.dumps(env).encode(), trust=trust_store(), at=NOW)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | _json.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_input_is_refused_with_an_ecert_error(data: bytes) -> None:
    with pytest.raises(EcertError):
        StatusList.load(data, trust=trust_store(), at=NOW)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["issuer", "issued_at", "next_update", "entries", "format"]), _json))
def test_arbitrary_signed_payload_members_are_refused(members: dict[str, Any]) -> None:
    payload = _payload(_signed([REVOKED]))
    payload.update(members)
    data = _envelope_around(_canonical(payload), "p256")
    try:
        loaded = StatusList.load(data, trust=trust_store("p256"), at=NOW)
    except EcertError:
        return
    assert loaded.payload() == _canonical(payload)  # only a well-formed payload is ever accepted


def test_build_refusals() -> None:
    with pytest.raises(InputError, match="twice"):
        StatusList.build([REVOKED, REVOKED], issued_at=NOW)
    with pytest.raises(InputError, match="not valid"):
        StatusList.build([StatusEntry(ID1, CertStatus.VALID, None, NOW)], issued_at=NOW)
    with pytest.raises(InputError):
        StatusList.build([StatusEntry("1.2.156.3005.2.X", CertStatus.REVOKED, None, NOW)], issued_at=NOW)
    with pytest.raises(InputError, match="after issued_at"):
        StatusList.build([], issued_at=NOW, next_update=NOW)
    with pytest.raises(InputError, match="timezone"):
        StatusList.build([], issued_at=NOW.replace(tzinfo=None))
    with pytest.raises(InputError, match="timezone"):
        StatusEntry(ID1, CertStatus.REVOKED, None, NOW.replace(tzinfo=None))


def _department_signer(org_id: str | None) -> Signer:
    """A signer under the test root whose certificate names ``org_id`` (or no organisation code)."""
    from ecert.crypto.hierarchy import make_issuer_certificate
    from ecert.crypto.keys import generate_private_key

    from .certs import SIGNED_AT, hierarchy

    h = hierarchy()
    key = generate_private_key("sm2")
    cert = make_issuer_certificate(
        h.root_key, h.root_cert, key.public_key(), "另一部门",
        organization="另一部门", organization_identifier=org_id, not_before=SIGNED_AT,
    )
    return Signer(key, cert, (h.root_cert,))


def test_a_list_speaks_only_for_its_own_department() -> None:
    """Department B's list, saying nothing about department A's certificate, is no answer for it."""
    from .certs import OTHER_DEPARTMENT_CODE

    other_signer = _department_signer(OTHER_DEPARTMENT_CODE)
    other = StatusList.build([], issued_at=NOW, next_update=WEEK).sign(other_signer)
    loaded = StatusList.load(other, trust=trust_store(), at=NOW)
    assert loaded.issuer_codes == frozenset({OTHER_DEPARTMENT_CODE})
    report = verify(issued_file(), trust=trust_store(), at=NOW, status=loaded)
    assert not report.ok and report.failed("status")
    assert OTHER_DEPARTMENT_CODE in report.to_text() and ISSUER in report.to_text()
    own = StatusList.load(_signed([]), trust=trust_store(), at=NOW)
    assert own.issuer_codes == frozenset({ISSUER})
    check = verify(issued_file(), trust=trust_store(), at=NOW, status=own).check("status")[0]
    assert check.outcome.value == "pass"


def test_a_list_whose_signer_names_no_department_only_warns_when_not_listed() -> None:
    anonymous = _department_signer(None)
    empty = StatusList.load(
        StatusList.build([], issued_at=NOW, next_update=WEEK).sign(anonymous), trust=trust_store(), at=NOW
    )
    assert empty.issuer_codes == frozenset()
    check = verify(issued_file(), trust=trust_store(), at=NOW, status=empty).check("status")[0]
    assert check.outcome.value == "warn" and "names no organisation code" in check.message
    md = draft().metadata
    revoking = StatusList.load(
        StatusList.build([StatusEntry(str(md.identifier), CertStatus.REVOKED, "x", NOW)], issued_at=NOW,
                         next_update=WEEK).sign(anonymous),
        trust=trust_store(), at=NOW,
    )
    assert verify(issued_file(), trust=trust_store(), at=NOW, status=revoking).failed("status")
