"""The province's signed trust bundle (spec/trust-bundle.md): a window verifies with it alone;
expired, tampered or wrongly signed bundles are refused."""

from __future__ import annotations

import base64
import functools
import json
from datetime import timedelta
from typing import Any

import pytest

from ecert.crypto.authority import Authorisation
from ecert.crypto.cms import sign_cms
from ecert.crypto.hierarchy import DemoHierarchy, make_issuer_certificate
from ecert.crypto.keys import generate_private_key
from ecert.crypto.signer import Signer
from ecert.errors import EcertError, ExpiredBundle, InvalidBundle, TrustError
from ecert.exchange import TrustBundle, make_bundle
from ecert.registry import CertStatus, StatusEntry, StatusList
from ecert.verify import verify

from .certs import DEPARTMENT_CODE, NOW, SIGNED_AT, draft, hierarchy, issued_file, signer

ISSUED = NOW - timedelta(hours=1)
EXPIRES = NOW + timedelta(days=1)


@functools.lru_cache(maxsize=1)
def province() -> Signer:
    """The province's bundle-signing certificate, under the same root as the departments."""
    h = hierarchy()
    key = generate_private_key("sm2")
    cert = make_issuer_certificate(
        h.root_key, h.root_cert, key.public_key(), "示例省大数据管理局",
        organization="示例省大数据管理局", not_before=SIGNED_AT - timedelta(days=1),
    )
    return Signer(key, cert, (h.root_cert,))


def status_list(*entries: StatusEntry) -> bytes:
    return StatusList.build(entries, issued_at=ISSUED, next_update=NOW + timedelta(days=7)).sign(signer())


def bundle(*, lists: tuple[bytes, ...] | None = None, by: Signer | None = None, **kw: Any) -> bytes:
    return make_bundle(
        by or province(),
        anchors=[hierarchy().root_cert],
        issuers=[hierarchy().issuer_cert],
        status_lists=lists if lists is not None else (status_list(),),
        issued_at=kw.pop("issued_at", ISSUED),
        expires_at=kw.pop("expires_at", EXPIRES),
        publisher="示例省",
        **kw,
    )


def load(data: bytes, at: Any = NOW) -> TrustBundle:
    return TrustBundle.load(data, anchor=hierarchy().root_cert, at=at)


def test_a_window_verifies_with_the_bundle_alone() -> None:
    b = load(bundle())
    assert b.publisher == "示例省" and b.issued_at == ISSUED and b.expires_at == EXPIRES
    assert [c.der for c in b.issuers] == [hierarchy().issuer_cert.der]
    report = verify(issued_file(), trust=b.trust, status=b.status, at=NOW)
    assert report.ok, report.to_text()
    status = next(c for c in report.checks if c.name == "status")
    assert "trust bundle of 示例省" in status.message


def test_the_bundle_signer_may_be_the_anchor_itself() -> None:
    assert TrustBundle.load(bundle(), anchor=province().certificate, at=NOW).publisher == "示例省"


def test_revoked_through_the_bundles_status_list_is_not_valid() -> None:
    revoked = StatusEntry(str(draft().metadata.identifier), CertStatus.REVOKED, "以欺骗手段取得", ISSUED)
    b = load(bundle(lists=(status_list(revoked),)))
    report = verify(issued_file(), trust=b.trust, status=b.status, at=NOW)
    assert not report.ok
    status = next(c for c in report.checks if c.name == "status")
    assert status.outcome.value == "fail" and "revoked" in status.message.lower()


def test_an_expired_or_not_yet_valid_bundle_is_refused() -> None:
    data = bundle()
    with pytest.raises(ExpiredBundle, match="expired 2026-11-26T02:00:00Z"):
        load(data, at=EXPIRES)
    with pytest.raises(ExpiredBundle, match="not valid before"):
        load(data, at=ISSUED - timedelta(hours=1))
    # loaded while fresh, kept past its expiry: the status source no longer answers
    b = load(data)
    report = verify(issued_file(), trust=b.trust, status=b.status, at=EXPIRES + timedelta(minutes=1))
    status = next(c for c in report.checks if c.name == "status")
    assert not report.ok and status.outcome.value == "fail" and "expired" in status.message


def _envelope(data: bytes) -> dict[str, Any]:
    return json.loads(data)  # type: ignore[no-any-return]


def _payload(data: bytes) -> dict[str, Any]:
    return json.loads(base64.b64decode(_envelope(data)["payload"]))  # type: ignore[no-any-return]


def _with_payload(data: bytes, payload: bytes) -> bytes:
    env = _envelope(data)
    env["payload"] = base64.b64encode(payload).decode()
    return json.dumps(env).encode()


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def test_a_tampered_bundle_is_refused() -> None:
    data = bundle()
    payload = _payload(data)
    payload["expires_at"] = "2027-11-26T02:00:00Z"  # a longer life
    with pytest.raises(InvalidBundle, match="altered"):
        load(_with_payload(data, _canonical(payload)))
    payload = _payload(data)
    payload["status_lists"] = []  # revocations dropped
    with pytest.raises(InvalidBundle, match="altered"):
        load(_with_payload(data, _canonical(payload)))
    other = _envelope(bundle(expires_at=NOW + timedelta(days=2)))
    swapped = _envelope(data)
    swapped["signature"] = other["signature"]  # a genuine signature over another bundle
    with pytest.raises(InvalidBundle, match="altered"):
        load(json.dumps(swapped).encode())
    for cut in (0, 10, len(data) // 2):
        with pytest.raises(InvalidBundle):
            load(data[:cut])


def test_a_wrongly_signed_bundle_is_refused() -> None:
    stranger = DemoHierarchy.create("sm2", department="别省大数据局", now=SIGNED_AT)
    foreign = Signer(stranger.issuer_key, stranger.issuer_cert, (stranger.root_cert,))
    with pytest.raises(TrustError, match="not by the province certificate"):
        load(bundle(by=foreign))
    with pytest.raises(TrustError):  # the right bundle, checked against another province's root
        TrustBundle.load(bundle(), anchor=stranger.root_cert, at=NOW)
    # the department (under the same root) is not the province: naming the province's own certificate
    with pytest.raises(TrustError):
        TrustBundle.load(bundle(by=signer()), anchor=province().certificate, at=NOW)


def test_a_status_list_altered_inside_a_re_signed_bundle_is_refused() -> None:
    """The province signs only what the departments signed: a list changed before bundling fails."""
    data = bundle()
    payload = _payload(data)
    listing = json.loads(base64.b64decode(payload["status_lists"][0]))
    inner = json.loads(base64.b64decode(listing["payload"]))
    inner["next_update"] = "2027-01-01T00:00:00Z"  # a list kept alive longer
    listing["payload"] = base64.b64encode(_canonical(inner)).decode()
    payload["status_lists"] = [base64.b64encode(json.dumps(listing).encode()).decode()]
    resigned = _resigned(payload)
    with pytest.raises(InvalidBundle, match="status list 1 of the bundle is refused"):
        load(resigned)


def _resigned(payload: dict[str, Any]) -> bytes:
    """A bundle envelope built here by hand (spec/trust-bundle.md), signed by the province."""
    raw = _canonical(payload)
    cms = sign_cms(raw, province(), detached=True, signing_time=ISSUED)
    env = {"format": "ecert-trust-bundle/1", "payload": base64.b64encode(raw).decode(),
           "signature": base64.b64encode(cms).decode()}
    return json.dumps(env).encode()


def test_a_bundle_written_by_hand_per_the_spec_loads() -> None:
    der = lambda c: base64.b64encode(c.der).decode()  # noqa: E731
    auth = Authorisation.for_certificate(hierarchy().issuer_cert, DEPARTMENT_CODE, note="市监局")
    payload = {
        "format": "ecert-trust-bundle/1",
        "publisher": "手写省",
        "issued_at": "2026-11-25T01:00:00Z",
        "expires_at": "2026-11-26T01:00:00Z",
        "anchors": [der(hierarchy().root_cert)],
        "issuers": [der(hierarchy().issuer_cert)],
        "authorisations": [{"certificate_sha256": auth.certificate_sha256,
                            "issuer_codes": [DEPARTMENT_CODE], "note": "市监局"}],
        "status_lists": [base64.b64encode(status_list()).decode()],
    }
    b = load(_resigned(payload))
    assert b.publisher == "手写省" and b.authorisations == (auth,)
    assert b.trust.authorised_codes([hierarchy().issuer_cert]) == {DEPARTMENT_CODE}
    assert verify(issued_file(), trust=b.trust, status=b.status, at=NOW).ok
    payload["extra"] = 1
    with pytest.raises(InvalidBundle, match="wrong members"):
        load(_resigned(payload))


def test_make_refuses_what_a_window_would_refuse() -> None:
    stranger = DemoHierarchy.create("sm2", department="别省", now=SIGNED_AT)
    with pytest.raises(TrustError, match="does not chain"):
        make_bundle(province(), anchors=[hierarchy().root_cert], issuers=[stranger.issuer_cert],
                    issued_at=ISSUED, expires_at=EXPIRES)
    short = StatusList.build([], issued_at=ISSUED, next_update=NOW + timedelta(hours=2)).sign(signer())
    with pytest.raises(EcertError, match="before the bundle expires"):
        bundle(lists=(short,))
    with pytest.raises(EcertError, match="two status lists for one department"):
        bundle(lists=(status_list(), status_list()))
    with pytest.raises(EcertError, match="at most 31 days"):
        bundle(expires_at=ISSUED + timedelta(days=40))
