"""Adversarial review: offline QR verification, signed status lists, the SQLite registry, CLI verdicts.

Product rules under test: verification never lies (a tampered, re-signed, truncated, expired, revoked
or untrusted certificate, QR payload or status list never comes out valid) and the registry never
hands out the same identifier twice.  Attacks that are refused stay as regression tests; attacks that
succeed are written as the correct behaviour and marked ``xfail(strict=True, reason="BUG: ...")``.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ecert.cli import main
from ecert.crypto.hierarchy import make_issuer_certificate
from ecert.crypto.keys import generate_private_key
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidQRPayload, RegistryError, TrustError
from ecert.identifier import Identifier
from ecert.metadata import CoreMetadata
from ecert.qr.base41 import b41decode, b41encode
from ecert.qr.offline import claims_of, key_id, make_offline
from ecert.qr.payload import OFFLINE_PREFIX, QRAlgorithm, ReferencePayload, decode_offline, signed_part
from ecert.registry import CertStatus, SQLiteRegistry, StaleStatusList, StatusEntry, StatusList
from ecert.verify.content import check_validity_period
from ecert.verify.qr import verify_offline
from ecert.verify.report import ReportBuilder, VerificationReport
from ecert.verify.status import StatusSource

from .certs import DEPARTMENT_CODE, NOW, OTHER_DEPARTMENT_CODE, SIGNED_AT, draft, hierarchy, signer

WEEK = NOW + timedelta(days=7)
CST = timezone(timedelta(hours=8), "CST")


# --- helpers ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _department_signer(org_id: str | None, days: int = 1825) -> Signer:
    """A signer under the test root whose certificate names ``org_id`` (valid ``days`` from SIGNED_AT)."""
    h = hierarchy()
    key = generate_private_key("sm2")
    cert = make_issuer_certificate(
        h.root_key, h.root_cert, key.public_key(), "部门", organization="部门",
        organization_identifier=org_id, not_before=SIGNED_AT, days=days,
    )  # fmt: skip
    return Signer(key, cert, (h.root_cert,))


def _trust() -> TrustStore:
    return TrustStore.from_certificates(hierarchy().root_cert)


def _known() -> tuple[Certificate, ...]:
    """The department certificates a service window knows (candidates for the key id, not anchors)."""
    return (signer().certificate, _department_signer(OTHER_DEPARTMENT_CODE).certificate)


def _verify(payload: str, at: datetime = NOW, status: StatusSource | None = None) -> VerificationReport:
    return verify_offline(payload, trust=_trust(), certificates=_known(), at=at, status=status)


def _md(**changes: object) -> CoreMetadata:
    return dataclasses.replace(draft().metadata, **changes)  # type: ignore[arg-type]


def _raw_signature(s: Signer, data: bytes) -> bytes:
    r, sig_s = decode_dss_signature(s.sign(data))
    return r.to_bytes(32, "big") + sig_s.to_bytes(32, "big")


def _signed_record(s: Signer, flags: int, body: bytes) -> str:
    """An offline payload with an arbitrary (possibly malformed) body, validly signed by ``s`` (SM2)."""
    signed = bytes((1, flags, int(QRAlgorithm.SM2_SM3))) + key_id(s.certificate) + body
    return OFFLINE_PREFIX + b41encode(signed + _raw_signature(s, signed))


def _status(
    entries: list[StatusEntry],
    s: Signer | None = None,
    *,
    issued_at: datetime = NOW,
    next_update: datetime | None = WEEK,
    at: datetime = NOW,
) -> StatusList:
    """A status list signed by ``s`` (default: department A), loaded as a verifier would."""
    data = StatusList.build(entries, issued_at=issued_at, next_update=next_update).sign(s or signer())
    return StatusList.load(data, trust=_trust(), at=at)


def _trust_dir(tmp_path: Path) -> Path:
    """``--trust DIR`` as a service window has it: the root, department certificates in issuers/."""
    d = tmp_path / "trust"
    (d / "issuers").mkdir(parents=True)
    (d / "root.pem").write_bytes(hierarchy().root_cert.to_pem())
    (d / "issuers" / "a.pem").write_bytes(signer().certificate.to_pem())
    (d / "issuers" / "b.pem").write_bytes(_department_signer(OTHER_DEPARTMENT_CODE).certificate.to_pem())
    return d


# --- offline QR: who may sign for whom ------------------------------------------------------------------


def test_qr_signed_by_department_b_claiming_department_a_is_not_valid() -> None:
    """Attack: department B's trusted key signs an offline payload whose issuer code is department A's."""
    b = _department_signer(OTHER_DEPARTMENT_CODE)
    md = draft().metadata
    assert md.issuer_code == DEPARTMENT_CODE
    report = _verify(make_offline(md, b, at=SIGNED_AT))
    assert report.check("signature_value")[0].outcome.value == "pass"  # B's signature itself is genuine
    assert not report.ok
    assert report.failed("issuer_binding")


def test_cli_qr_signed_by_department_b_for_department_a_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attack through the CLI: B-signed payload naming issuer A, with B's certificate in trust/issuers/."""
    payload = make_offline(draft().metadata, _department_signer(OTHER_DEPARTMENT_CODE), at=SIGNED_AT)
    code = main(["verify", "--qr", payload, "--trust", str(_trust_dir(tmp_path)), "--at", NOW.isoformat()])
    out = capsys.readouterr().out
    assert code == 1 and "NOT VALID" in out


def test_qr_department_b_list_is_no_answer_for_department_a_payload() -> None:
    """Attack: an empty status list signed by department B offered for department A's QR payload."""
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    other = _status([], _department_signer(OTHER_DEPARTMENT_CODE))
    report = _verify(payload, status=other)
    assert not report.ok and report.failed("status")
    own = _status([])
    assert _verify(payload, status=own).ok


def test_qr_signed_by_the_root_key_is_not_a_document_signature() -> None:
    """Attack: the payload is signed with the trust anchor's (CA) key instead of a department key."""
    h = hierarchy()
    root_signer = Signer(h.root_key, h.root_cert)
    report = _verify(make_offline(draft().metadata, root_signer, at=SIGNED_AT))
    assert not report.ok and report.failed("signer_trust")


def test_qr_signer_with_its_own_ca_offered_as_certificates_is_not_trusted() -> None:
    """Attack: a stranger's department certificate naming department A, with the stranger's own root,
    both offered as 'known certificates' with the payload (a key found there is never an anchor)."""
    from ecert.crypto.hierarchy import DemoHierarchy

    stranger = DemoHierarchy.create("sm2", department_code=DEPARTMENT_CODE, now=SIGNED_AT)
    s = Signer(stranger.issuer_key, stranger.issuer_cert, (stranger.root_cert,))
    payload = make_offline(draft().metadata, s, at=SIGNED_AT)
    offered = (stranger.issuer_cert, stranger.root_cert, *_known())
    report = verify_offline(payload, trust=_trust(), certificates=offered, at=NOW)
    assert not report.ok and report.failed("signer_trust")


def test_qr_key_id_of_another_trusted_department_does_not_borrow_its_trust() -> None:
    """Attack: an untrusted key signs, and the key id in the (signed) header names department B's key."""
    stranger = generate_private_key("sm2")
    b_cert = _department_signer(OTHER_DEPARTMENT_CODE).certificate
    claims = claims_of(draft().metadata, SIGNED_AT)
    signed = signed_part(claims, QRAlgorithm.SM2_SM3, key_id(b_cert))
    r, s = decode_dss_signature(stranger.sign(signed))
    payload = OFFLINE_PREFIX + b41encode(signed + r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    report = _verify(payload)
    assert not report.ok and report.failed("signature_value")


# --- offline QR: signing-time and validity tricks -----------------------------------------------------


def test_qr_signed_before_its_own_issue_date_with_an_expired_key_is_not_valid() -> None:
    """Attack: key expired 2026-11-26; payload 'issued' 2027-03-01 claims it was signed 2026-11-24."""
    short = _department_signer(DEPARTMENT_CODE, days=2)
    assert short.certificate.not_after < datetime(2026, 12, 1, tzinfo=UTC)
    md = _md(issue_date=date(2027, 3, 1), valid_from=date(2027, 3, 1), valid_until=date(2030, 1, 1),
             long_term=False)  # fmt: skip
    payload = make_offline(md, short, at=SIGNED_AT + timedelta(hours=1))
    report = verify_offline(payload, trust=_trust(), certificates=(short.certificate,),
                            at=datetime(2027, 3, 2, tzinfo=UTC))  # fmt: skip
    assert not report.ok


def test_qr_signed_after_the_signer_expired_is_refused() -> None:
    """Attack: an honest signing time after the department certificate expired."""
    short = _department_signer(DEPARTMENT_CODE, days=2)
    late = SIGNED_AT + timedelta(days=3)
    payload = make_offline(draft().metadata, short, at=late)
    report = verify_offline(payload, trust=_trust(), certificates=(short.certificate,), at=late)
    assert not report.ok and report.failed("signer_trust")


def test_qr_signing_time_in_the_future_is_refused() -> None:
    """Attack: signed_at set after the verification time (to land in a later key's validity)."""
    payload = make_offline(draft().metadata, signer(), at=NOW + timedelta(minutes=11))
    report = _verify(payload)
    assert not report.ok and report.failed("signer_trust")
    assert _verify(make_offline(draft().metadata, signer(), at=NOW + timedelta(minutes=9))).ok


def test_qr_backdated_signing_time_does_not_dodge_revocation() -> None:
    """Attack: payload claims it was signed long before the revocation; the list still revokes it."""
    md = draft().metadata
    payload = make_offline(md, signer(), at=SIGNED_AT - timedelta(days=200))
    revoked = _status([StatusEntry(str(md.identifier), CertStatus.REVOKED, "吊销", NOW)])
    report = _verify(payload, status=revoked)
    assert not report.ok and report.failed("status")


def test_qr_revocation_taking_effect_later_still_fails_now() -> None:
    """A revocation dated after the verification time is not ignored (fails closed)."""
    md = draft().metadata
    later = _status([StatusEntry(str(md.identifier), CertStatus.SUSPENDED, "暂扣", NOW + timedelta(days=3))])
    assert _verify(make_offline(md, signer(), at=SIGNED_AT), status=later).failed("status")


def test_qr_expired_certificate_is_not_valid() -> None:
    """Attack: present an expired certificate's payload (validity judged at verification time)."""
    md = _md(valid_until=date(2027, 1, 1), long_term=False)
    payload = make_offline(md, signer(), at=SIGNED_AT)
    assert _verify(payload, at=datetime(2027, 1, 2, 1, tzinfo=CST)).failed("validity_period")


def test_qr_expiry_is_judged_on_the_china_calendar_whatever_the_time_zone() -> None:
    """Attack: verify at 01:00 Beijing on the day after expiry, the time written in UTC (the default)."""
    md = _md(valid_until=date(2027, 1, 1), long_term=False)
    payload = make_offline(md, signer(), at=SIGNED_AT)
    instant = datetime(2027, 1, 2, 1, 0, tzinfo=CST)
    assert not _verify(payload, at=instant).ok
    assert not _verify(payload, at=instant.astimezone(UTC)).ok  # same instant; currently VALID
    report = ReportBuilder("x", (), instant)
    check_validity_period(md, instant.astimezone(UTC), report)
    assert report.checks[0].outcome.value == "fail"


# --- offline QR: encoding edge cases -------------------------------------------------------------------


def test_qr_every_truncation_and_extension_is_refused() -> None:
    """Attack: truncated payload text, and valid Base45 characters appended to it."""
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    for cut in range(len(OFFLINE_PREFIX), len(payload), 7):
        assert not _verify(payload[:cut]).ok, cut
    for tail in ("0", "00", "000", "A0A"):
        assert not _verify(payload + tail).ok, tail


def test_qr_lower_case_and_foreign_characters_are_refused() -> None:
    """Attack: non-canonical text forms of the same payload (lower case, full-width colon)."""
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    assert not _verify(payload.lower()).ok
    assert not _verify("EC1：" + payload[4:]).ok
    with pytest.raises(InvalidQRPayload):
        b41decode(payload[4:].lower())


def test_qr_decompression_bomb_is_refused_even_when_signed() -> None:
    """Attack: a signed record whose zlib body inflates to megabytes (and one ending early)."""
    bomb = zlib.compress(b"\0" * 2_000_000, 9)
    payload = _signed_record(signer(), 0x01, bomb)
    assert len(payload) < 4296
    with pytest.raises(InvalidQRPayload, match="truncated or too large"):
        decode_offline(payload)
    report = _verify(payload)
    assert not report.ok and report.failed("payload")
    body = zlib.compress(b"\x05hello" * 3)[:-6]  # stream without its end
    with pytest.raises(InvalidQRPayload):
        decode_offline(_signed_record(signer(), 0x01, body))


def test_qr_trailing_bytes_after_zlib_stream_are_covered_by_the_signature() -> None:
    """Attack: bytes appended after the zlib stream of a compressed body (not checked by the decoder)."""
    claims = claims_of(draft().metadata, SIGNED_AT)
    plain = signed_part(claims, QRAlgorithm.SM2_SM3, key_id(signer().certificate))[11:]
    if plain[0] == 0x78:  # already compressed: take it apart
        plain = zlib.decompress(plain)
    packed = zlib.compress(plain, 9) + b"JUNK"
    issuer_made = _signed_record(signer(), 0x01, packed)
    # the issuer's own non-canonical record is accepted: harmless, the signature covers the junk
    assert _verify(issuer_made).ok
    # an attacker cannot add the junk to an issued payload: the signature no longer verifies
    honest = _signed_record(signer(), 0x01, zlib.compress(plain, 9))
    raw = b41decode(honest[4:])
    forged = OFFLINE_PREFIX + b41encode(raw[:-64] + b"JUNK" + raw[-64:])
    report = _verify(forged)
    assert not report.ok and report.failed("signature_value")


def test_qr_unknown_flags_and_trailing_fields_are_refused_even_when_signed() -> None:
    """Attack: signed records with an undefined flag bit, or bytes after the last field."""
    claims = claims_of(draft().metadata, SIGNED_AT)
    body = signed_part(claims, QRAlgorithm.SM2_SM3, key_id(signer().certificate))[11:]
    if body[0] == 0x78:
        body = zlib.decompress(body)
    assert _verify(_signed_record(signer(), 0x00, body)).ok
    for flags, extra in ((0x04, b""), (0x80, b""), (0x00, b"\x00")):
        report = _verify(_signed_record(signer(), flags, body + extra))
        assert not report.ok and report.failed("payload"), (flags, extra)


# --- QR reference payloads --------------------------------------------------------------------------


def test_reference_payload_is_never_valid_even_with_a_matching_or_other_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attack: a reference payload (unsigned) presented for verification, with a file of another digest."""
    from ecert.app import verify_qr_input

    ident = str(draft().metadata.identifier)
    ref = str(ReferencePayload("HTTPS://ZZ.EXAMPLE.GOV.CN/V/", ident, b"\x11" * 32))
    report = verify_qr_input(ref, trust=_trust(), at=NOW)
    assert not report.ok
    trust = _trust_dir(tmp_path)
    assert main(["verify", "--qr", ref, "--trust", str(trust), "--at", NOW.isoformat()]) == 1
    assert "NOT VALID" in capsys.readouterr().out


# --- status lists -----------------------------------------------------------------------------------


def test_status_entry_with_a_wrong_check_character_still_revokes_the_qr() -> None:
    """Attack: the list names the revoked certificate as issued (wrong check char); the QR rebuilds it."""
    ident = draft().metadata.identifier
    text = str(ident)
    wrong = text[:-1] + ("A" if text[-1] != "A" else "B")
    assert not Identifier.parse(wrong, strict=False).check_ok
    listed = _status([StatusEntry(wrong, CertStatus.REVOKED, "以欺骗手段取得许可", NOW)])
    report = _verify(make_offline(draft().metadata, signer(), at=SIGNED_AT), status=listed)
    assert not report.ok and report.failed("status")


def test_status_list_other_version_does_not_revoke_and_own_version_does() -> None:
    """Identifier variants: version 002 listed does not touch version 001, and vice versa is exact."""
    md = draft().metadata
    v2 = str(md.identifier.with_version(2))
    payload = make_offline(md, signer(), at=SIGNED_AT)
    assert _verify(payload, status=_status([StatusEntry(v2, CertStatus.REVOKED, "r", NOW)])).ok
    replaced = StatusEntry(str(md.identifier), CertStatus.REPLACED, "renewed", NOW, v2)
    assert _verify(payload, status=_status([replaced])).failed("status")


def test_status_list_from_a_signer_expired_at_verification_is_refused() -> None:
    """Attack: a list signed while the signer was valid, presented after the signer certificate expired."""
    short = _department_signer(DEPARTMENT_CODE, days=2)
    data = StatusList.build([], issued_at=NOW, next_update=None).sign(short)
    StatusList.load(data, trust=_trust(), at=NOW)
    with pytest.raises(TrustError):
        StatusList.load(data, trust=_trust(), at=NOW + timedelta(days=5))


def test_status_list_stale_is_refused_and_cli_does_not_say_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attack: a list past its next_update, via the library and `ecert verify --qr --status`."""
    data = StatusList.build([], issued_at=NOW, next_update=WEEK).sign(signer())
    with pytest.raises(StaleStatusList):
        StatusList.load(data, trust=_trust(), at=WEEK + timedelta(seconds=1))
    path = tmp_path / "status.json"
    path.write_bytes(data)
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    late = (WEEK + timedelta(days=1)).isoformat()
    code = main(["verify", "--qr", payload, "--trust", str(_trust_dir(tmp_path)), "--status", str(path),
                 "--at", late])  # fmt: skip
    assert code == 2 and "VALID" not in capsys.readouterr().out


def test_cli_qr_with_department_b_status_list_exits_1(tmp_path: Path) -> None:
    """Attack through the CLI: department B's (empty, fresh, trusted) list for department A's QR."""
    path = tmp_path / "b-status.json"
    path.write_bytes(
        StatusList.build([], issued_at=NOW, next_update=WEEK).sign(_department_signer(OTHER_DEPARTMENT_CODE))
    )
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    args = ["verify", "--qr", payload, "--trust", str(_trust_dir(tmp_path)), "--at", NOW.isoformat()]
    assert main([*args, "--status", str(path)]) == 1
    assert main(args) == 0


def test_cli_untrusted_status_list_is_not_a_pass(tmp_path: Path) -> None:
    """Attack: an empty status list signed by a key outside the trust store."""
    from ecert.crypto.hierarchy import DemoHierarchy

    stranger = DemoHierarchy.create("sm2", department_code=DEPARTMENT_CODE, now=SIGNED_AT)
    path = tmp_path / "status.json"
    path.write_bytes(
        StatusList.build([], issued_at=NOW, next_update=WEEK).sign(
            Signer(stranger.issuer_key, stranger.issuer_cert, (stranger.root_cert,))
        )
    )
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    args = ["verify", "--qr", payload, "--trust", str(_trust_dir(tmp_path)), "--at", NOW.isoformat()]
    assert main([*args, "--status", str(path)]) == 2


def test_list_without_next_update_goes_stale_after_the_readers_age_limit() -> None:
    """A next_update=null list ('no promise', spec/statuslist.md) is refused once older than the
    reader's max_age (7 days by default), so it cannot be replayed for years after a revocation."""
    old = StatusList.build([], issued_at=NOW, next_update=None).sign(signer())
    assert StatusList.load(old, trust=_trust(), at=NOW + timedelta(days=6)).next_update is None
    with pytest.raises(StaleStatusList, match="promises no next update"):
        StatusList.load(old, trust=_trust(), at=NOW + timedelta(days=4 * 365))
    loaded = StatusList.load(old, trust=_trust(), at=NOW + timedelta(days=30), max_age=timedelta(days=31))
    assert loaded.issued_at == NOW


def test_limitation_replayed_list_from_before_the_revocation_is_accepted_until_next_update() -> None:
    """LIMITATION (as with CRLs): the list of before a revocation is accepted until its next_update."""
    md = draft().metadata
    before = StatusList.build([], issued_at=NOW, next_update=WEEK).sign(signer())
    after = StatusList.build(
        [StatusEntry(str(md.identifier), CertStatus.REVOKED, "吊销", NOW + timedelta(hours=1))],
        issued_at=NOW + timedelta(hours=2), next_update=WEEK + timedelta(hours=2),
    )  # fmt: skip
    del after  # published, but the verifier is handed the older list
    replayed = StatusList.load(before, trust=_trust(), at=NOW + timedelta(days=3))
    payload = make_offline(md, signer(), at=SIGNED_AT)
    assert _verify(payload, at=NOW + timedelta(days=3), status=replayed).ok


def test_limitation_list_issued_in_the_future_is_accepted() -> None:
    """LIMITATION (spec §4, 'it knows more'): issued_at after the verification time is not questioned."""
    future = StatusList.build([], issued_at=NOW + timedelta(days=365), next_update=None).sign(signer())
    assert StatusList.load(future, trust=_trust(), at=NOW).issued_at > NOW


# --- registry -----------------------------------------------------------------------------------------

TYPE = draft().metadata.type_code


def test_registry_threads_never_share_a_serial(tmp_path: Path) -> None:
    """Race: 4 connections allocate 25 serials each at the same time; every serial is distinct."""
    db = tmp_path / "reg.db"
    SQLiteRegistry.open(db).close()
    results: list[list[str]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        with SQLiteRegistry.open(db) as reg:
            barrier.wait()
            results[i].extend(reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="2026") for _ in range(25))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    serials = [s for r in results for s in r]
    assert len(serials) == 100 and len(set(serials)) == 100


def test_registry_crash_between_allocation_and_record_never_reissues(tmp_path: Path) -> None:
    """Crash: serial allocated, process dies before record_issued; reconcile makes it a gap, never reused."""
    db = tmp_path / "reg.db"
    with SQLiteRegistry.open(db) as reg:
        lost = reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="2026")
    with SQLiteRegistry.open(db) as reg:  # the next run
        assert reg.reconcile(datetime.now(UTC) + timedelta(seconds=1)) == 1
        md = _md(identifier=Identifier.build(TYPE, DEPARTMENT_CODE, lost))
        with pytest.raises(RegistryError, match="gap"):
            reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=NOW)
        fresh = reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="2026")
        assert fresh != lost
        assert reg.serial_states(TYPE, DEPARTMENT_CODE) == {lost: "gap", fresh: "allocated"}


def test_registry_refuses_a_second_record_of_one_identifier_and_status_of_variants(tmp_path: Path) -> None:
    """Attack: record the same identifier twice; revoke a wrong-check or other-version variant of it."""
    with SQLiteRegistry.open(tmp_path / "reg.db") as reg:
        serial = reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="2026")
        md = _md(identifier=Identifier.build(TYPE, DEPARTMENT_CODE, serial))
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=NOW)
        with pytest.raises(RegistryError):
            reg.record_issued(md, package_digest="01" * 32, signer="s", issued_at=NOW)
        text = str(md.identifier)
        wrong = text[:-1] + ("A" if text[-1] != "A" else "B")
        for variant in (wrong, str(md.identifier.with_version(2)), text.lower()):
            with pytest.raises(RegistryError, match="no certificate"):
                reg.revoke(variant, reason="r", by="b", at=NOW)
            assert reg.status_of(variant) is None
        assert reg.get(text).status is CertStatus.VALID


def test_registry_as_status_source_for_qr_replaced_and_unknown(tmp_path: Path) -> None:
    """The registry as status source: a renewed (replaced) version and an unknown certificate both fail."""
    md = draft().metadata
    with SQLiteRegistry.open(tmp_path / "reg.db") as reg:
        payload = make_offline(md, signer(), at=SIGNED_AT)
        assert _verify(payload, status=reg).failed("status")  # not in the registry: unknown fails
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=SIGNED_AT)
        assert _verify(payload, status=reg).ok
        v2 = dataclasses.replace(md, identifier=md.identifier.with_version(2))
        reg.renew(str(md.identifier), v2, package_digest="01" * 32, signer="s", issued_at=NOW)
        report = _verify(payload, status=reg)
        assert not report.ok and "replaced" in report.check("status")[0].message
        assert _verify(make_offline(v2, signer(), at=NOW), status=reg).ok


def test_registry_imported_serial_never_handed_out_again(tmp_path: Path) -> None:
    """Attack: a certificate imported with serial 2026000002; the counter must not hand that serial out."""
    with SQLiteRegistry.open(tmp_path / "reg.db") as reg:
        md = _md(identifier=Identifier.build(TYPE, DEPARTMENT_CODE, "2026000002"))
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=NOW)
        first = reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="2026")
        assert first == "2026000001"
        try:
            second = reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="2026")
        except RegistryError:
            return  # refused: never a duplicate (liveness is the next test's concern)
        assert second != "2026000002"


def test_registry_allocation_skips_a_serial_taken_by_an_imported_certificate(tmp_path: Path) -> None:
    """Attack: import a legacy certificate whose serial lies ahead of the counter, then keep issuing."""
    with SQLiteRegistry.open(tmp_path / "reg.db") as reg:
        md = _md(identifier=Identifier.build(TYPE, DEPARTMENT_CODE, "2026000002"))
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=NOW)
        serials = [reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="2026") for _ in range(3)]
        assert "2026000002" not in serials and len(set(serials)) == 3


def test_registry_period_spelt_in_two_cases_shares_one_counter(tmp_path: Path) -> None:
    """Attack: allocate with period 'q', then 'Q' (the same serial prefix)."""
    with SQLiteRegistry.open(tmp_path / "reg.db") as reg:
        a = reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="q", width=4)
        b = reg.allocate_serial(TYPE, DEPARTMENT_CODE, period="Q", width=4)
        assert a != b


def test_registry_export_for_a_department_lists_its_revocations_whatever_the_identifier_issuer_part(
    tmp_path: Path,
) -> None:
    """Attack: revoke a certificate whose identifier names division 340100, export the department's list."""
    md0 = draft().metadata
    md = dataclasses.replace(md0, identifier=Identifier.build(md0.type_code, "340100", "2026000001"))
    assert md.issuer_code == DEPARTMENT_CODE
    with SQLiteRegistry.open(tmp_path / "reg.db") as reg:
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=SIGNED_AT)
        reg.revoke(str(md.identifier), reason="吊销", by="clerk", at=NOW)
        data = reg.export_status_list(signer(), issued_at=NOW, next_update=WEEK, issuer_code=DEPARTMENT_CODE)
    listed = StatusList.load(data, trust=_trust(), at=NOW)
    report = _verify(make_offline(md, signer(), at=SIGNED_AT), status=listed)
    assert not report.ok and report.failed("status")


def test_registry_export_without_issuer_filter_lists_division_code_identifiers(tmp_path: Path) -> None:
    """Same revocation, list exported without --issuer: the revoked QR fails (the unfiltered path works)."""
    md0 = draft().metadata
    md = dataclasses.replace(md0, identifier=Identifier.build(md0.type_code, "340100", "2026000001"))
    with SQLiteRegistry.open(tmp_path / "reg.db") as reg:
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=SIGNED_AT)
        reg.revoke(str(md.identifier), reason="吊销", by="clerk", at=NOW)
        data = reg.export_status_list(signer(), issued_at=NOW, next_update=WEEK)
    listed = StatusList.load(data, trust=_trust(), at=NOW)
    assert _verify(make_offline(md, signer(), at=SIGNED_AT), status=listed).failed("status")


# --- CLI verdicts ---------------------------------------------------------------------------------------


def test_cli_qr_verdicts_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CLI: a valid QR exits 0 but shows the skipped status; tampered, expired or garbage QR exit 1;
    a missing image exits 2."""
    trust = str(_trust_dir(tmp_path))
    at = ["--at", NOW.isoformat()]
    good = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    assert main(["verify", "--qr", good, "--trust", trust, *at]) == 0
    out = capsys.readouterr().out
    assert "VALID" in out and "skip status" in out  # LIMITATION: unchecked revocation is a skip, not a fail
    raw = bytearray(b41decode(good[4:]))
    raw[20] ^= 1
    tampered = OFFLINE_PREFIX + b41encode(bytes(raw))
    expired = make_offline(_md(valid_until=date(2026, 11, 24), long_term=False), signer(), at=SIGNED_AT)
    for bad in (tampered, expired, good[:-3], "EC1:", ""):
        capsys.readouterr()
        assert main(["verify", "--qr", bad, "--trust", trust, *at]) == 1, bad
        assert "NOT VALID" in capsys.readouterr().out
    # an image path that does not exist is unreadable input (exit 2), not a payload that failed
    assert main(["verify", "--qr", "missing.png", "--trust", trust, *at]) == 2
    assert "VALID" not in capsys.readouterr().out
    assert main(["verify", "--qr", good, "--trust", trust, "--at", "2026-11-25T02:00"]) == 2  # naive time


def test_cli_revocation_via_registry_and_unknown_identifier(tmp_path: Path) -> None:
    """CLI: revoking an unknown identifier is refused; a revoked certificate's QR then exits 1."""
    db = tmp_path / "reg.db"
    md = draft().metadata
    with SQLiteRegistry.open(db) as reg:
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=SIGNED_AT)
    text = str(md.identifier)
    wrong = text[:-1] + ("A" if text[-1] != "A" else "B")
    at = ["--at", NOW.isoformat()]
    assert main(["registry", "revoke", wrong, "--reason", "r", "--registry", str(db), *at]) == 1
    trust = str(_trust_dir(tmp_path))
    payload = make_offline(md, signer(), at=SIGNED_AT)
    args = ["verify", "--qr", payload, "--trust", trust, "--registry", str(db), *at]
    assert main(args) == 0
    assert main(["registry", "revoke", text, "--reason", "吊销", "--registry", str(db), *at]) == 0
    assert main(args) == 1


def test_status_list_build_refuses_bad_entries() -> None:
    """Attack on the producer: a VALID entry, a duplicate, a non-identifier id, next_update before issue."""
    ident = str(draft().metadata.identifier)
    with pytest.raises(InputError):
        StatusList.build([StatusEntry(ident, CertStatus.VALID, None, NOW)], issued_at=NOW)
    entry = StatusEntry(ident, CertStatus.REVOKED, None, NOW)
    with pytest.raises(InputError):
        StatusList.build([entry, entry], issued_at=NOW)
    with pytest.raises(EcertError):
        StatusList.build([StatusEntry("1.2.156.3005.2.x", CertStatus.REVOKED, None, NOW)], issued_at=NOW)
    with pytest.raises(InputError):
        StatusList.build([], issued_at=NOW, next_update=NOW)


def test_qr_reusing_a_registered_identifier_for_another_holder_fails_status(tmp_path: Path) -> None:
    """The issuer's own key signs a payload with a registered identifier but another holder: the
    registry knows what it issued under that identifier, so the status check fails."""
    md = draft().metadata
    with SQLiteRegistry.open(tmp_path / "r.db") as reg:
        reg.record_issued(md, package_digest="00" * 32, signer="s", issued_at=SIGNED_AT)
        genuine = _verify(make_offline(md, signer(), at=SIGNED_AT), status=reg)
        assert genuine.ok, genuine.to_text()
        other = _md(holder_name="冒名顶替有限公司")
        forged = _verify(make_offline(other, signer(), at=SIGNED_AT), status=reg)
        assert not forged.ok and forged.failed("status")
        assert "冒名顶替有限公司" in forged.to_text()
