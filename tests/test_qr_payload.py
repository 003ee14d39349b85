"""QR payload grammar: Base45 against RFC 9285's examples, the binary record, garbage in."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, date, datetime

import pytest
import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode.constants import ERROR_CORRECT_M

from ecert.errors import EcertError, InvalidQRPayload
from ecert.qr.base41 import ALPHABET as ALPHABET41
from ecert.qr.base41 import b41encode
from ecert.qr.base45 import ALPHABET, b45decode, b45encode
from ecert.qr.payload import (
    OFFLINE_PREFIX,
    Claims,
    QRAlgorithm,
    decode_offline,
    encode_offline,
    parse_reference,
    signed_part,
)

# RFC 9285 section 4.3 and 4.4 examples
RFC9285 = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")]


@pytest.mark.parametrize(("raw", "text"), RFC9285)
def test_base45_rfc9285_examples(raw: bytes, text: str) -> None:
    assert b45encode(raw) == text
    assert b45decode(text) == raw


@pytest.mark.parametrize("bad", ["GGW", "A", "ab", "ZZZ", "::"])
def test_base45_rejects_rfc9285_invalid(bad: str) -> None:
    with pytest.raises(InvalidQRPayload):
        b45decode(bad)


@given(st.binary(max_size=200))
def test_base45_round_trip(data: bytes) -> None:
    text = b45encode(data)
    assert set(text) <= set(ALPHABET)
    assert b45decode(text) == data


CLAIMS = Claims(
    certificate_name="营业执照",
    type_code="11100000MB0143028K001",
    number="91110108MA01XXXX0K",
    issuer_name="北京市海淀区市场监督管理局",
    issuer_code="11110108000073906X",
    identifier_issuer="11110108000073906X",
    serial="2026000001",
    version=1,
    holder_name="北京示例科技有限公司",
    holder_code="91110000600037341L",
    holder_code_type_code="001",
    issue_date=date(2026, 11, 25),
    valid_from=date(2026, 11, 25),
    valid_until=None,
    long_term=True,
    signed_at=datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
)


def test_record_round_trip_and_alphanumeric_mode() -> None:
    signed = signed_part(CLAIMS, QRAlgorithm.SM2_SM3, b"\x01" * 8)
    text = encode_offline(signed, b"\x02" * 64)
    assert text.startswith(OFFLINE_PREFIX) and set(text) <= set(ALPHABET41)
    rec = decode_offline(text)
    assert rec.claims == CLAIMS
    assert rec.algorithm is QRAlgorithm.SM2_SM3
    assert rec.key_id == b"\x01" * 8
    assert rec.signed_bytes == signed and rec.signature == b"\x02" * 64
    q = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    q.add_data(text)
    q.make(fit=True)
    assert q.version <= 15
    assert q.data_list[0].mode == qrcode.util.MODE_ALPHA_NUM


def test_version_15_m_capacity_matches_the_spec() -> None:
    for n, version in ((600, 15), (601, 16)):
        q = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
        q.add_data(qrcode.util.QRData("A" * n, mode=qrcode.util.MODE_ALPHA_NUM))
        q.make(fit=True)
        assert q.version == version


def test_identifier_issuer_differs_from_issuer_code() -> None:
    claims = dataclasses.replace(CLAIMS, identifier_issuer="340100")
    rec = decode_offline(encode_offline(signed_part(claims, QRAlgorithm.ED25519, b"k" * 8), b"s" * 64))
    assert rec.claims.identifier_issuer == "340100"


def test_reference_payload() -> None:
    ident = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
    text = f"HTTPS://ZZ.EXAMPLE.GOV.CN/V/ECR1:{ident}:{'AB' * 32}"
    ref = parse_reference(text)
    assert ref.prefix == "HTTPS://ZZ.EXAMPLE.GOV.CN/V/" and ref.identifier == ident
    assert str(ref) == text
    for bad in ("ECR1:abc", f"ECR1:{ident}:XYZ", "nothing", f"ECR1:{ident}:{'G' * 64}"):
        with pytest.raises(InvalidQRPayload):
            parse_reference(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_garbage_text_is_refused_cleanly(text: str) -> None:
    for fn in (decode_offline, parse_reference):
        with contextlib.suppress(EcertError):
            fn(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_garbage_records_are_refused_cleanly(raw: bytes) -> None:
    with contextlib.suppress(EcertError):
        decode_offline(OFFLINE_PREFIX + b41encode(raw))


def test_every_byte_flip_of_a_record_is_detected_or_refused() -> None:
    signed = signed_part(CLAIMS, QRAlgorithm.SM2_SM3, b"\x01" * 8)
    raw = signed + b"\x02" * 64
    for i in range(len(signed)):
        mutated = bytearray(raw)
        mutated[i] ^= 0x01
        try:
            rec = decode_offline(OFFLINE_PREFIX + b41encode(bytes(mutated)))
        except InvalidQRPayload:
            continue
        assert rec.signed_bytes != signed  # the signature check will then fail
