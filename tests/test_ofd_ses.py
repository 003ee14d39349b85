"""GB/T 38540 seal signatures in the interop files, and malformed DER."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.crypto.digests import sm3
from ecert.errors import InvalidPackage
from ecert.ofd import OFDPackage
from ecert.ofd.ses import SesSignature, parse_seal

from .thirdparty import OFDRW

INTEROP = OFDRW
SM3_WITH_SM2 = "1.2.156.10197.1.501"


def signed_value(name: str) -> tuple[OFDPackage, bytes, bytes]:
    pkg = OFDPackage.from_path(INTEROP / name)
    (sig,) = pkg.signatures()
    return pkg, sig.signature_xml, sig.signed_value


@pytest.mark.parametrize("name", ["SESV4SignDoc.ofd", "v4signed.ofd", "signedFile.ofd"])
def test_interop_v4(name: str) -> None:
    _, sig_xml, der = signed_value(name)
    ses = SesSignature.parse(der)
    assert ses.version == 4
    assert ses.data_hash == sm3(sig_xml)
    assert ses.property_info == "/Doc_0/Signs/Sign_0/Signature.xml"
    assert ses.signature_alg_oid == ses.seal.sign_alg_oid == SM3_WITH_SM2
    assert ses.tbs_der in der and ses.tbs_der.startswith(b"\x30")
    assert ses.seal.seal_tbs_der in ses.tbs_der and ses.seal.seal_der in ses.tbs_der
    assert ses.seal.header_id == "ES" and ses.seal.header_version == 4
    assert ses.seal.cert_list_type == 1 and len(ses.seal.certs) == 1
    assert ses.signer_cert_der.startswith(b"\x30\x82") and ses.seal.maker_cert_der.startswith(b"\x30\x82")
    assert ses.signature.startswith(b"\x30")  # DER SEQUENCE { r, s }
    assert ses.time_stamp is None
    assert ses.seal.valid_start <= ses.seal.valid_end


def test_sesv4signdoc_details() -> None:
    pkg, _, der = signed_value("SESV4SignDoc.ofd")
    ses = SesSignature.parse(der)
    assert ses.time_info == datetime(2026, 8, 4, 2, 8, 9, tzinfo=UTC)
    seal = ses.seal
    assert seal.name == "OFD R&W 测试用印章"
    assert seal.header_vid == "OFDR&WTest" and seal.es_id == "51f044b76510434e9bc67a1185c2fba5"
    assert seal.valid_start.date().isoformat() == "2020-04-22"
    assert seal.valid_end.date().isoformat() == "2022-04-22"
    assert seal.picture_type == "PNG" and seal.picture_data.startswith(b"\x89PNG")
    assert (seal.picture_width, seal.picture_height) == (40, 40)
    # the certificate allowed to use the seal is the signer's
    assert seal.certs == (ses.signer_cert_der,)
    assert parse_seal(pkg.entries["Doc_0/Signs/Sign_0/Seal.esl"]) == seal


def test_invoice_validity() -> None:
    ses = SesSignature.parse(signed_value("v4signed.ofd")[2])
    assert ses.time_info == datetime(2020, 10, 10, 7, 11, 20, tzinfo=UTC)
    assert ses.seal.valid_start <= ses.time_info <= ses.seal.valid_end
    assert ses.seal.picture_type == "ofd"
    assert "国家税务总局" in ses.seal.name


def test_layout_is_chosen_by_structure_not_version() -> None:
    """Issue 16: files use one layout while saying another version; the structure decides."""
    der = bytearray(signed_value("SESV4SignDoc.ofd")[2])
    assert der[8:11] == b"\x02\x01\x04"
    der[10] = 1
    ses = SesSignature.parse(bytes(der))
    assert ses.version == 1 and ses.layout == "GB/T 38540-2020"


def test_truncations_and_trailing_data() -> None:
    der = signed_value("v4signed.ofd")[2]
    for n in range(0, len(der), 37):
        with pytest.raises(InvalidPackage):
            SesSignature.parse(der[:n])
    with pytest.raises(InvalidPackage):
        SesSignature.parse(der + b"\x00")


def test_wrong_cert_list_type() -> None:
    der = bytearray(signed_value("SESV4SignDoc.ofd")[2])
    # property: type INTEGER at 78, name UTF8String (2+23 bytes), certListType INTEGER at 106
    assert der[106:109] == b"\x02\x01\x01"
    der[108] = 7
    ses = SesSignature.parse(bytes(der))  # read; verification calls the seal unusable (issue 16)
    assert ses.seal is not None and ses.seal.cert_list_type == 7


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    for blob in (data, b"\x30\x82" + data):
        with contextlib.suppress(InvalidPackage):
            SesSignature.parse(blob)
        with contextlib.suppress(InvalidPackage):
            parse_seal(blob)


_BASE = signed_value("signedFile.ofd")[2]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_BASE) - 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_random_mutations(edits: list[tuple[int, int]]) -> None:
    der = bytearray(_BASE)
    for pos, value in edits:
        der[pos] = value
    with contextlib.suppress(InvalidPackage):
        SesSignature.parse(bytes(der))
