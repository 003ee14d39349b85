"""Every shipped type with every field at its maximum length, with its QR code: issue, read the code
off the signed page with zxing-cpp, verify it offline (spec/qr.md, abridged fields).

Names too long for the QR budget are carried as their first characters plus an SM3 digest of the
full text: the verdict shows them marked as shortened (never as the full value), a warning names
them, and the full text from the file checks against the signed digest while any other text fails.
"""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

import ecert
from ecert.catalog import default_catalog
from ecert.collect import CertificateDraft, collect
from ecert.crypto.trust import TrustStore
from ecert.errors import CollectionError, InvalidQRPayload
from ecert.metadata import CoreMetadata
from ecert.package import Issuer, package
from ecert.paint import qr_payload_of
from ecert.qr.image import qr_version
from ecert.qr.offline import ABRIDGED_MARK, abridge, claims_of, full_text_matches, key_id, make_offline
from ecert.qr.payload import ABRIDGEABLE, MAX_RECORD_BYTES, QRAlgorithm, decode_offline, signed_part
from ecert.verdict import verdict_line

from .certs import NOW, RECORDS, SIGNED_AT, hierarchy, signer
from .test_face_overflow import ISSUER, TYPES, _seal


def _varied(n: int, seed: int) -> str:
    """``n`` CJK characters that do not repeat like a phrase would (zlib cannot shrink them)."""
    rnd = random.Random(seed)
    return "".join(chr(rnd.randrange(0x4E00, 0x9FA5)) for _ in range(n))


def max_draft(code: str, keep: tuple[str, ...] = ()) -> CertificateDraft:
    """The type's sample record with every free-text item at its maximum length, in text that does
    not compress (items with a fixed form keep their sample value; ``keep`` names items left as they are)."""
    cert_type = default_catalog().get(code)
    record = json.loads((RECORDS / f"{code}.json").read_text(encoding="utf-8-sig"))
    values = {i.name: i.value for i in collect(record, code, issuer=ISSUER).item_texts()}
    for n, item in enumerate(cert_type.items):
        if item.type != "string" or not item.max_length or item.name in keep:
            continue
        trial = dict(record)
        keys = [k for k, v in record.items() if isinstance(v, str) and v == values.get(item.name)]
        for key in keys or [item.label]:
            trial[key] = _varied(item.max_length, n)
        try:
            collect(trial, code, issuer=ISSUER)
        except CollectionError:  # a pattern-bound item: its sample is its only length
            continue
        record = trial
    return collect(record, code, issuer=ISSUER, today=SIGNED_AT.date())


def _fits_whole(md: CoreMetadata) -> bool:
    signed = signed_part(claims_of(md, SIGNED_AT), QRAlgorithm.SM2_SM3, key_id(signer().certificate))
    return len(signed) + 64 <= MAX_RECORD_BYTES


def _trust() -> TrustStore:
    return TrustStore.from_certificates(hierarchy().root_cert)


@pytest.mark.parametrize("code", TYPES)
def test_every_type_at_maximum_length_issues_a_qr_code_that_verifies_offline(code: str) -> None:
    draft = max_draft(code)
    md = draft.metadata
    assert not _fits_whole(md)  # the case that used to raise InvalidQRPayload
    data = package(draft, Issuer(signer(), seal_image=_seal()), at=SIGNED_AT, qr=True)
    payload = qr_payload_of(data)  # zxing-cpp reads it off the signed page's image
    assert payload is not None and qr_version(payload) <= 15
    report = ecert.verify_qr(payload, trust=_trust(), certificates=[signer().certificate], at=NOW)
    assert report.ok, report.to_text()
    claims = decode_offline(payload).claims
    assert claims.abridged is not None
    shortened = dict(claims.abridged.fields)
    assert "holder_name" in shortened and shortened["holder_name"] == len(md.holder_name)
    shown = report.metadata
    assert shown is not None
    for name in ABRIDGEABLE:
        full, seen = getattr(md, name), getattr(shown, name)
        if name in shortened:
            assert seen.endswith(ABRIDGED_MARK) and full.startswith(seen[: -len(ABRIDGED_MARK)])
            assert seen != full
        else:
            assert seen == full
    assert shown.identifier == md.identifier and shown.holder_code == md.holder_code
    assert [c.name for c in report.warnings if c.name == "abridged"] == ["abridged"]
    line = verdict_line(report, "zh")
    assert line.startswith("有效：") and ABRIDGED_MARK in line and md.holder_name not in line
    # the full text from the file matches the signed digest; a different one does not
    full = {n: getattr(md, n) for n in shortened}
    assert full_text_matches(claims, full)
    assert not full_text_matches(claims, {**full, "holder_name": md.holder_name[:-1] + "X"})


def test_the_longest_holder_names_are_covered() -> None:
    assert max(len(max_draft(code).metadata.holder_name) for code in TYPES) >= 200


def test_a_short_record_is_carried_in_full() -> None:
    draft = max_draft(TYPES[0], keep=("holder_name", "certificate_name", "issuer_name", "number"))
    assert _fits_whole(draft.metadata)
    payload = make_offline(draft.metadata, signer(), at=SIGNED_AT)
    assert decode_offline(payload).claims.abridged is None


def test_abridging_cuts_only_as_much_as_needed() -> None:
    md = max_draft(TYPES[0]).metadata
    claims = claims_of(md, SIGNED_AT)
    payload = make_offline(md, signer(), at=SIGNED_AT)
    carried = decode_offline(payload).claims
    limit = max(len(getattr(carried, n)) for n, _ in carried.abridged.fields)  # type: ignore[union-attr]
    assert dataclasses.replace(carried, signed_at=claims.signed_at) == abridge(claims, limit)


def test_a_tampered_shortened_name_fails() -> None:
    """Changing the carried prefix breaks the signature: a shortened name is as bound as a full one."""
    from ecert.qr.base41 import b41decode, b41encode
    from ecert.qr.payload import OFFLINE_PREFIX

    payload = make_offline(max_draft(TYPES[0]).metadata, signer(), at=SIGNED_AT)
    raw = bytearray(b41decode(payload[len(OFFLINE_PREFIX) :]))
    for i in range(11, len(raw) - 64, 7):
        mutated = bytearray(raw)
        mutated[i] ^= 0x02
        text = OFFLINE_PREFIX + b41encode(bytes(mutated))
        report = ecert.verify_qr(text, trust=_trust(), certificates=[signer().certificate], at=NOW)
        assert not report.ok, i


def test_codes_alone_over_the_budget_are_refused_not_cut() -> None:
    md = max_draft(TYPES[0]).metadata
    long_code = dataclasses.replace(
        md, holder_code="9" * 64, holder_code_type_code="999", holder_code_type="其他"
    )
    assert isinstance(long_code, CoreMetadata)
    try:
        payload = make_offline(long_code, signer(), at=SIGNED_AT)
    except InvalidQRPayload:
        return
    claims = decode_offline(payload).claims
    assert claims.holder_code == "9" * 64  # a code is carried whole or the payload refused
