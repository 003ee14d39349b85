"""The lean CMS reader (``cms_parse._read_usual``) never decides differently from the general one.

``parse_cms`` reads the usual shape of a SignedData itself and hands every other shape to the
asn1crypto reader (``_cms_asn1.read_fields``).  These tests hold that to its promise: on real CMS
(ecert's, OpenSSL's, the ofdrw shape built with asn1crypto) and on every single-byte change of them,
whenever the lean reader accepts, the general reader gives the very same fields, and ``parse_cms``
returns or raises exactly what the general path alone returned or raised; the shapes the general
reader refuses are all left to it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509

from ecert.crypto import _cms_asn1, oids
from ecert.crypto.cms import parse_cms, sign_cms
from ecert.crypto.cms_parse import _SET_OF_PATHS, _read_usual, _signed_data, _Unusual
from ecert.crypto.der import check_der
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.keys import save_private_key
from ecert.crypto.signer import Signer
from ecert.errors import EcertError, InputError

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SIGNED_AT = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
DATA = "电子证照 Signature.xml bytes\n".encode() * 4
OPENSSL = shutil.which("openssl")


@functools.lru_cache(maxsize=4)
def _signer(kind: str) -> Signer:
    h = DemoHierarchy.create(kind, now=NOW)
    return Signer(h.issuer_key, h.issuer_cert, (h.root_cert,))


def _general(der: bytes) -> object:
    """What parse_cms gave before the lean reader: the walk, asn1crypto's reading, the rules."""
    try:
        check_der(der, what="CMS", sorted_paths=_SET_OF_PATHS, whole_octet_bit_strings=True)
        return _signed_data(_cms_asn1.read_fields(der))
    except EcertError as exc:
        return (type(exc), str(exc))


def _now(der: bytes) -> object:
    try:
        return parse_cms(der)
    except EcertError as exc:
        return (type(exc), str(exc))


def _lean_accepts(der: bytes) -> bool:
    try:
        _read_usual(der)
    except _Unusual:
        return False
    return True


def _ofdrw_shape(s: Signer) -> bytes:
    """GB/T 35275 as ofdrw writes it (attached, no signed attributes), built with asn1crypto."""
    cert = asn1_x509.Certificate.load(s.certificate.der)
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier("issuer_and_serial_number", cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})),
        "digest_algorithm": {"algorithm": oids.SM3},
        "signature_algorithm": {"algorithm": oids.SM2_SIGNATURE},
        "signature": s.sign(DATA),
    })
    signed = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [{"algorithm": oids.SM3}],
        "encap_content_info": {"content_type": oids.GM_DATA, "content": core.OctetString(DATA)},
        "certificates": [cert],
        "signer_infos": [signer_info],
    })
    return bytes(cms.ContentInfo({"content_type": oids.GM_SIGNED_DATA, "content": signed}).dump())


def _samples() -> dict[str, bytes]:
    out = {
        "sm2 gm detached": sign_cms(DATA, _signer("sm2"), signing_time=SIGNED_AT),
        "sm2 rfc5652 attached": sign_cms(DATA, _signer("sm2"), signing_time=SIGNED_AT, gm_oids=False,
                                         detached=False),
        "p256": sign_cms(DATA, _signer("p256"), signing_time=SIGNED_AT),
        "ed25519 attached": sign_cms(DATA, _signer("ed25519"), signing_time=SIGNED_AT, detached=False),
        "ofdrw shape": _ofdrw_shape(_signer("sm2")),
    }
    return out


SAMPLES = _samples()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_usual_shapes_are_read_lean_with_the_general_readers_fields(name: str) -> None:
    der = SAMPLES[name]
    assert _read_usual(der) == _cms_asn1.read_fields(der)
    assert _now(der) == _general(der)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_single_byte_change_is_decided_as_before(name: str) -> None:
    """Each byte xor 0x01, xor 0x80, set to 0x00 and 0xFF: same value or same refusal as before."""
    der = SAMPLES[name]
    lean_read = 0
    for at in range(len(der)):
        for new in {der[at] ^ 0x01, der[at] ^ 0x80, 0x00, 0xFF} - {der[at]}:
            changed = der[:at] + bytes((new,)) + der[at + 1:]
            assert _now(changed) == _general(changed), f"byte {at} -> {new:#04x}"
            try:
                check_der(changed, sorted_paths=_SET_OF_PATHS, whole_octet_bit_strings=True)
            except InputError:
                continue
            if _lean_accepts(changed):
                lean_read += 1
                assert _read_usual(changed) == _cms_asn1.read_fields(changed)
    assert lean_read > 50  # changes to signatures, digests, serials, content still take the lean path


def _edit(der: bytes, change: Callable[[cms.SignedData], None]) -> bytes:
    info = cms.ContentInfo.load(der)
    change(info["content"])
    return bytes(info.dump(force=True))


def _two_signer_infos(sd: cms.SignedData) -> None:
    sd["signer_infos"] = [sd["signer_infos"][0], sd["signer_infos"][0]]


def _unsigned(sd: cms.SignedData) -> None:
    sd["signer_infos"][0]["unsigned_attrs"] = [{"type": oids.ATTR_CONTENT_TYPE, "values": [oids.GM_DATA]}]


def _crl(sd: cms.SignedData) -> None:
    other = {"other_rev_info_format": "1.2.3", "other_rev_info": core.Null()}
    sd["crls"] = [cms.RevocationInfoChoice("other", other)]


def _generalized_time(sd: cms.SignedData) -> None:
    attrs = sd["signer_infos"][0]["signed_attrs"]
    for attr in attrs:
        if attr["type"].dotted == oids.ATTR_SIGNING_TIME:
            when = core.GeneralizedTime(datetime(2051, 1, 2, tzinfo=UTC))
            attr["values"] = [cms.Time("generalized_time", when)]


def _duplicate_attribute(sd: cms.SignedData) -> None:
    attrs = sd["signer_infos"][0]["signed_attrs"]
    sd["signer_infos"][0]["signed_attrs"] = [*attrs, attrs[0]]


def _two_values(sd: cms.SignedData) -> None:
    attr = sd["signer_infos"][0]["signed_attrs"][0]
    attr["values"] = [attr["values"][0], attr["values"][0]]


def _other_attribute(sd: cms.SignedData) -> None:
    attrs = sd["signer_infos"][0]["signed_attrs"]
    capabilities = {"type": "1.2.840.113549.1.9.15", "values": [[]]}
    sd["signer_infos"][0]["signed_attrs"] = [*attrs, capabilities]


def _pss_parameters(sd: cms.SignedData) -> None:
    sd["signer_infos"][0]["signature_algorithm"] = algos.SignedDigestAlgorithm(
        {"algorithm": "rsassa_pss", "parameters": algos.RSASSAPSSParams({"salt_length": 20})})


def _digest_parameters(sd: cms.SignedData) -> None:
    sd["signer_infos"][0]["digest_algorithm"] = {"algorithm": oids.SM3, "parameters": core.Integer(1)}


def _version_4(sd: cms.SignedData) -> None:
    sd["version"] = 4


def _key_id(sd: cms.SignedData) -> None:
    sd["signer_infos"][0]["sid"] = cms.SignerIdentifier("subject_key_identifier", b"\x01" * 20)


def _attribute_certificate(sd: cms.SignedData) -> None:
    other = {"other_cert_format": "1.2.3", "other_cert": core.Null()}
    sd["certificates"] = [cms.CertificateChoices("other", other)]


def _other_content_type(sd: cms.SignedData) -> None:
    sd["encap_content_info"]["content_type"] = "1.2.840.113549.1.9.16.1.4"


EDITS = {  # shapes the lean reader leaves to asn1crypto's
    "two SignerInfos": _two_signer_infos,
    "unsigned attributes": _unsigned,
    "CRLs": _crl,
    "GeneralizedTime signingTime": _generalized_time,
    "an attribute twice": _duplicate_attribute,
    "an attribute with two values": _two_values,
    "another signed attribute": _other_attribute,
    "RSASSA-PSS parameters": _pss_parameters,
    "digest parameters": _digest_parameters,
    "another certificate choice": _attribute_certificate,
    "another encapsulated content type": _other_content_type,
}


@pytest.mark.parametrize("what", sorted(EDITS))
def test_other_shapes_are_left_to_the_general_reader(what: str) -> None:
    der = _edit(SAMPLES["sm2 gm detached"], EDITS[what])
    assert not _lean_accepts(der)
    assert _now(der) == _general(der)


@pytest.mark.parametrize("edit", [_version_4, _key_id], ids=["SignedData v4", "subjectKeyIdentifier, v1"])
def test_usual_shapes_breaking_a_rule_are_refused_by_its_rule(edit: Callable[[cms.SignedData], None]) -> None:
    """Read lean (the shape is usual), refused by the rules both readers share, in the same words."""
    der = _edit(SAMPLES["sm2 gm detached"], edit)
    assert _lean_accepts(der)
    outcome = _now(der)
    assert outcome == _general(der)
    assert isinstance(outcome, tuple) and outcome[0] is InputError and "version" in outcome[1]


def test_bytes_after_the_last_field_are_left_to_the_general_reader() -> None:
    """A SignerInfo with a NULL after its signature (the lengths above it grown to match)."""
    der = SAMPLES["p256"]
    tampered = _grown_signer_info(der, b"\x05\x00")
    assert tampered != der
    assert not _lean_accepts(tampered)
    outcome = _now(tampered)
    assert isinstance(outcome, tuple) and outcome == _general(tampered)


def test_a_high_tag_number_is_left_to_the_general_reader() -> None:
    der = SAMPLES["p256"]
    tampered = _grown_signer_info(der, b"\x9f\x1f\x00")  # [31] IMPLICIT, empty
    assert not _lean_accepts(tampered)
    assert _now(tampered) == _general(tampered)


def _grow(element: bytes, extra: bytes) -> bytes:
    """``element`` (a SEQUENCE) with ``extra`` appended to its contents, its length re-encoded."""
    tag, contents = element[0], _contents(element)
    return _tlv(tag, contents + extra)


def _contents(element: bytes) -> bytes:
    octet = element[1]
    if octet < 0x80:
        return element[2:]
    return element[2 + (octet & 0x7F):]


def _tlv(tag: int, contents: bytes) -> bytes:
    n = len(contents)
    if n < 0x80:
        return bytes((tag, n)) + contents
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + contents


def _grown_signer_info(original: bytes, extra: bytes) -> bytes:
    """``original`` with ``extra`` after its SignerInfo's last field, every length above re-encoded."""
    info = cms.ContentInfo.load(original)
    sd = info["content"]
    grown_si = _grow(sd["signer_infos"][0].dump(), extra)
    infos = _tlv(0x31, grown_si)
    old_infos = sd["signer_infos"].dump()
    sd_contents = _contents(sd.dump()).replace(old_infos, infos)
    new_sd = _tlv(0x30, sd_contents)
    return _tlv(0x30, info["content_type"].dump() + _tlv(0xA0, new_sd))


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
@pytest.mark.parametrize("options", [(), ("-noattr",), ("-keyid",), ("-nodetach",), ("-noattr", "-keyid")])
def test_openssl_cms_is_decided_as_before(tmp_path: Path, options: tuple[str, ...]) -> None:
    """CMS OpenSSL 3 writes (its default adds smimeCapabilities: the general reader's)."""
    s = _signer("p256")
    (tmp_path / "key.pem").write_bytes(save_private_key(s.private_key))
    (tmp_path / "cert.pem").write_bytes(s.certificate.to_pem())
    (tmp_path / "data").write_bytes(DATA)
    subprocess.run(
        [str(OPENSSL), "cms", "-sign", "-binary", "-in", "data", "-signer", "cert.pem", "-inkey", "key.pem",
         "-outform", "DER", "-out", "sig.der", *options],
        cwd=tmp_path, check=True, capture_output=True,
    )
    der = (tmp_path / "sig.der").read_bytes()
    assert _now(der) == _general(der)
    if "-noattr" in options:
        assert _lean_accepts(der)
        assert _read_usual(der) == _cms_asn1.read_fields(der)
