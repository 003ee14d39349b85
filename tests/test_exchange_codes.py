"""The ministry status codes on the wire (spec/exchange.md §6): the tables are read from the
specification itself and the code is checked against them both ways, so neither can drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecert.errors import InputError, InvalidBundle
from ecert.exchange.batch import apply_batch, make_batch, read_batch
from ecert.exchange.codes import (
    MINISTRY_PROFILES,
    OPERATE_TYPES,
    cert_state,
    event_of_operate_type,
    operate_type,
    status_of_cert_state,
)
from ecert.metadata.status import get_status_profile
from ecert.registry import CertStatus, SQLiteRegistry

from .certs import NOW, hierarchy
from .test_exchange import CITY, batch_payload, exchange_signer, issue, resealed_batch

ROOT = Path(__file__).resolve().parents[1]
SPEC = (ROOT / "spec" / "exchange.md").read_text(encoding="utf-8")


def table(heading: str) -> list[list[str]]:
    """The rows of the first Markdown table after ``heading`` in spec/exchange.md."""
    start = SPEC.index(heading)
    rows = []
    for line in SPEC[start:].splitlines()[1:]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not set("".join(cells)) <= {"-", " "}:
                rows.append(cells)
        elif rows:
            break
    assert len(rows) > 2, f"no table under {heading!r}"
    return rows[1:]  # without the header


def test_cert_state_sent_is_the_spec_table() -> None:
    rows = table("### 6.1 certState sent")
    assert {CertStatus(r[0]) for r in rows} == set(CertStatus)  # every core status has a code
    for status, *codes in rows:
        for profile, code in zip(MINISTRY_PROFILES, codes, strict=True):
            assert cert_state(CertStatus(status), profile) == code, (status, profile)


def test_cert_state_received_is_the_spec_table() -> None:
    rows = table("### 6.2 certState received")
    for profile in MINISTRY_PROFILES:  # the table lists exactly the profile's codes and labels
        listed = {r[1]: r[2] for r in rows if r[0] == profile}
        assert listed == dict(get_status_profile(profile).codes)
    for profile, code, _label, core in rows:
        if core == "refused":
            with pytest.raises(InputError, match=code):
                status_of_cert_state(code, profile)
        else:
            assert status_of_cert_state(code, profile) is CertStatus(core)


def test_round_trip_core_to_code_and_back() -> None:
    for profile in MINISTRY_PROFILES:
        for status in CertStatus:
            code = cert_state(status, profile)
            if status is CertStatus.REPLACED:  # 99 其他: no status of its own to come back to
                with pytest.raises(InputError, match="99"):
                    status_of_cert_state(code, profile)
            else:
                assert status_of_cert_state(code, profile) is status


def test_unknown_codes_are_refused_naming_them() -> None:
    with pytest.raises(InputError, match=r"'08'.*01, 02"):
        status_of_cert_state("08", "mohurd-a")
    with pytest.raises(InputError, match=r"unknown operateType.*'11'"):
        event_of_operate_type("11", "01")
    with pytest.raises(InputError, match="'mohurd-z'"):
        cert_state(CertStatus.VALID, "mohurd-z")
    with pytest.raises(InputError, match="operateType 05 ends a certificate, but certState 01"):
        event_of_operate_type("05", "01")
    with pytest.raises(InputError, match=r"operateType 03 .* certState 01 says valid"):
        event_of_operate_type("03", "01")


_EVENT = re.compile(r"(issued|status|copy)(?:, (.+))?")


def test_operate_type_sent_is_the_spec_table() -> None:
    rows = table("### 6.3 operateType sent")
    for event, code, label in rows:
        match = _EVENT.fullmatch(event)
        assert match, event
        kind, detail = match.group(1), match.group(2) or ""
        version = 2 if "version 2" in detail else 1
        status = CertStatus(detail) if kind == "status" else CertStatus.VALID
        expected = None if code == "none" else code
        assert operate_type(kind, status, version) == expected, event
        if expected is not None:
            assert OPERATE_TYPES[expected] == label
    assert {r[1] for r in rows} - {"none"} <= set(OPERATE_TYPES)


def test_operate_type_received_is_the_spec_table() -> None:
    rows = table("### 6.4 operateType received")
    assert {r[0]: r[1] for r in rows} == dict(OPERATE_TYPES)
    states = {"valid": "01", "suspended": "02", "revoked": "07", "cancelled": "04"}
    for code, _label, records in rows:
        if records == "refused":
            with pytest.raises(InputError, match=f"operateType {code}"):
                event_of_operate_type(code, "01")
            continue
        kind, _, rest = records.partition(" (certState ")
        for core in rest.rstrip(")").split(" or "):
            assert event_of_operate_type(code, states[core]) == (kind, CertStatus(core))


def test_a_batch_carries_the_codes_and_the_receiver_checks_them(tmp_path: Path) -> None:
    city = SQLiteRegistry.open(tmp_path / "city.db")
    province = SQLiteRegistry.open(tmp_path / "province.db")
    ident = issue(city, "2026000001")
    city.set_status(ident, CertStatus.SUSPENDED, reason="核查", by="李四", at=NOW)
    city.set_status(ident, CertStatus.REVOKED, reason="吊销", by="李四", at=NOW)
    data = make_batch(city, exchange_signer(), sender=city.library_id, status_codes="mohurd-b", at=NOW)
    assert data is not None
    records = batch_payload(data)["ministry"]["records"]
    assert [(r["certState"], r["operateType"]) for r in records] == [("01", "01"), ("02", "03"), ("03", "05")]
    assert records[0]["zzeCertID"] == ident and records[0]["certStatusDescription"] is None
    batch = read_batch(data, sender_certificate=hierarchy().root_cert, at=NOW)
    assert batch.status_codes == "mohurd-b" and [m.cert_state for m in batch.ministry] == ["01", "02", "03"]
    answer = apply_batch(province, data, sender_certificate=hierarchy().root_cert, policy=CITY, at=NOW)
    assert answer.counts["accepted"] == 3
    # codes that contradict the events, even signed by the sender, are refused by seq
    payload = batch_payload(data)
    payload["ministry"]["records"][2]["certState"] = "01"
    with pytest.raises(InvalidBundle, match="ministry codes of seq 3 do not say what the event says"):
        read_batch(resealed_batch(payload), sender_certificate=hierarchy().root_cert, at=NOW)
    with pytest.raises(InputError, match="mohurd-z"):
        make_batch(city, exchange_signer(), sender=city.library_id, status_codes="mohurd-z", at=NOW)
    city.close()
    province.close()
