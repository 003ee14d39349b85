"""CMS SignedData: round trips, tampering, the forms other producers write, OpenSSL interop, garbage.

What system OpenSSL 3.0 accepts (checked by the tests below, skipped with a reason without it):
* P-256: ``openssl cms -verify`` verifies our CMS (chain to the demo root), and ours verifies
  OpenSSL's (detached, attached with ``-keyid``, ``-noattr``).
* SM2, RFC 5652 form (``gm_oids=False``): ``openssl cms -verify`` checks SM2 SignerInfos with an
  *empty* user ID and offers no option to change it, so it verifies our CMS only when signed with
  ``uid=b""``.  With the GM/T 0009 default ID, ``openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt
  distid:1234567812345678`` verifies the SignerInfo signature over the signed-attributes DER.
  OpenSSL 3.0 cannot sign SM2 CMS itself (``cms -sign`` fails with "illegal zero content").
* SM2, GB/T 35275 form: OpenSSL does not know the 1.2.156.10197.6.1.4.2.x content types ("content
  type not signed data"); the same ``pkeyutl`` check verifies the SignerInfo signature.
* Ed25519: OpenSSL 3.0 can neither sign nor verify Ed25519 CMS ("eddsa_digest_signverify_init:
  invalid digest"); ``pkeyutl -verify -rawin`` verifies the signature over the signed attributes.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecert.crypto import oids
from ecert.crypto.cms import CmsSignedData, parse_cms, sign_cms, verify_cms
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.hierarchy import DemoHierarchy, make_issuer_certificate
from ecert.crypto.keys import generate_private_key, save_public_key
from ecert.crypto.signer import Signer
from ecert.crypto.sm2 import DEFAULT_UID
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate, load_certificate
from ecert.errors import EcertError, InputError, InvalidSignature

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SIGNED_AT = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)
DATA = "电子证照 Signature.xml bytes\n".encode() * 20
KINDS = ["sm2", "p256", "ed25519"]
OPENSSL = shutil.which("openssl")


@functools.lru_cache(maxsize=8)
def hierarchy(kind: str) -> DemoHierarchy:
    return DemoHierarchy.create(kind, now=NOW)


@functools.lru_cache(maxsize=8)
def deep_signer(kind: str) -> tuple[Signer, Certificate]:
    """root -> intermediate CA -> document signer; returns the signer (chain: intermediate, root)."""
    h = hierarchy(kind)
    ca_key, ee_key = generate_private_key(kind), generate_private_key(kind)
    ca = make_issuer_certificate(
        h.root_key, h.root_cert, ca_key.public_key(), "Intermediate CA", ca=True, not_before=NOW
    )
    ee = make_issuer_certificate(ca_key, ca, ee_key.public_key(), "Document Signer", not_before=NOW)
    return Signer(ee_key, ee, (ca, h.root_cert)), ca


def signer(kind: str) -> Signer:
    h = hierarchy(kind)
    return Signer(h.issuer_key, h.issuer_cert, (h.root_cert,))


def mutate(der: bytes, change: object) -> bytes:
    """Parse, let ``change`` edit the SignedData in place, re-encode (DER)."""
    info = cms.ContentInfo.load(der)
    change(info["content"])  # type: ignore[operator]
    return bytes(info.dump(force=True))


# --- the writer against asn1crypto's encoder ------------------------------------------------------


def _asn1crypto_cms(parsed: CmsSignedData, data: bytes, s: Signer, when: datetime) -> bytes:
    """The same SignedData encoded by asn1crypto's object model (an independent DER encoder)."""
    gm = parsed.gm_oids
    content_type = parsed.encapsulated_content_type
    digest = parsed.digest_algorithm

    def algorithm(oid: str) -> dict[str, object]:
        return {"algorithm": oid, "parameters": None}  # absent, as RFC 5754 §2 asks

    time = cms.Time({"utc_time" if 1950 <= when.year < 2050 else "generalized_time": when})
    attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": [cms.ContentType(content_type)]}),
            cms.CMSAttribute({"type": "signing_time", "values": [time]}),
            cms.CMSAttribute({"type": "message_digest", "values": [digest.digest(data)]}),
        ]
    )
    cert = asn1_x509.Certificate.load(s.certificate.der)
    sid = cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number})
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier("issuer_and_serial_number", sid),
            "digest_algorithm": algorithm(digest.oid),
            "signed_attrs": attributes,
            "signature_algorithm": algorithm(parsed.signature_algorithm_oid),
            "signature": parsed.signature,
        }
    )
    encap: dict[str, object] = {"content_type": content_type}
    if parsed.content is not None:
        encap["content"] = core.OctetString(parsed.content)
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algorithm(digest.oid)],
            "encap_content_info": encap,
            "certificates": [asn1_x509.Certificate.load(c.der) for c in parsed.certificates],
            "signer_infos": [signer_info],
        }
    )
    outer = oids.GM_SIGNED_DATA if gm else oids.PKCS7_SIGNED_DATA
    return bytes(cms.ContentInfo({"content_type": outer, "content": signed}).dump(force=True))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("gm_oids", [True, False])
@pytest.mark.parametrize("detached", [True, False])
@pytest.mark.parametrize("when", [SIGNED_AT, datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC)])
def test_written_bytes_equal_asn1cryptos_encoding(
    kind: str, gm_oids: bool, detached: bool, when: datetime
) -> None:
    s, _ca = deep_signer(kind)
    der = sign_cms(DATA, s, detached=detached, signing_time=when, gm_oids=gm_oids)
    parsed = parse_cms(der)
    assert len(parsed.certificates) == 2  # the signer and its intermediate, root left out
    assert der == _asn1crypto_cms(parsed, DATA, s, when)


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("gm_oids", [True, False])
@pytest.mark.parametrize("detached", [True, False])
def test_round_trip(kind: str, gm_oids: bool, detached: bool) -> None:
    s = signer(kind)
    der = sign_cms(DATA, s, detached=detached, signing_time=SIGNED_AT, gm_oids=gm_oids)
    result = verify_cms(der, DATA if detached else None)
    assert result.signer_certificate == s.certificate
    assert result.signing_time == SIGNED_AT
    assert result.content == DATA
    assert result.signature_algorithm_oid == s.algorithm.oid
    parsed = parse_cms(der)
    assert parsed.detached is detached
    assert (parsed.content is None) is detached
    assert parsed.signer_certificate == s.certificate
    assert parsed.certificates == (s.certificate,)  # the self-signed root is not carried
    assert parsed.signing_time == SIGNED_AT
    assert parsed.message_digest == parsed.digest_algorithm.digest(DATA)
    assert parsed.signer_serial_number == s.certificate.serial_number


def test_sm2_gbt35275_form() -> None:
    parsed = parse_cms(sign_cms(DATA, signer("sm2"), signing_time=SIGNED_AT))
    assert parsed.gm_oids
    assert parsed.content_type == oids.GM_SIGNED_DATA == "1.2.156.10197.6.1.4.2.2"
    assert parsed.encapsulated_content_type == oids.GM_DATA == "1.2.156.10197.6.1.4.2.1"
    assert parsed.content_type_attribute == oids.GM_DATA
    assert parsed.digest_algorithm is DigestAlgorithm.SM3
    assert parsed.signature_algorithm_oid == oids.SM2_SIGNATURE == "1.2.156.10197.1.301.1"


def test_sm2_rfc5652_form() -> None:
    parsed = parse_cms(sign_cms(DATA, signer("sm2"), signing_time=SIGNED_AT, gm_oids=False))
    assert not parsed.gm_oids
    assert parsed.content_type == oids.PKCS7_SIGNED_DATA
    assert parsed.encapsulated_content_type == oids.PKCS7_DATA
    assert parsed.digest_algorithm is DigestAlgorithm.SM3
    assert parsed.signature_algorithm_oid == oids.SM3_WITH_SM2


@pytest.mark.parametrize(
    ("kind", "digest", "algorithm"),
    [
        ("p256", DigestAlgorithm.SHA256, oids.ECDSA_WITH_SHA256),
        ("ed25519", DigestAlgorithm.SHA512, oids.ED25519),
    ],
)
def test_standard_forms_ignore_gm_oids(kind: str, digest: DigestAlgorithm, algorithm: str) -> None:
    parsed = parse_cms(sign_cms(DATA, signer(kind), signing_time=SIGNED_AT, gm_oids=True))
    assert parsed.content_type == oids.PKCS7_SIGNED_DATA
    assert parsed.digest_algorithm is digest  # RFC 8419: SHA-512 with Ed25519
    assert parsed.signature_algorithm_oid == algorithm


@pytest.mark.parametrize("kind", KINDS)
def test_signature_covers_the_signed_attributes_as_a_set(kind: str) -> None:
    s = signer(kind)
    parsed = parse_cms(sign_cms(DATA, s, signing_time=SIGNED_AT))
    assert parsed.signed_attrs_der is not None
    assert parsed.signed_attrs_der[0] == 0x31  # SET OF, not the [0] IMPLICIT tag (RFC 5652 §5.4)
    s.certificate.public_key.verify(parsed.signature, parsed.signed_attrs_der)


@pytest.mark.parametrize("kind", KINDS)
def test_chain_is_carried_without_the_root(kind: str) -> None:
    s, ca = deep_signer(kind)
    der = sign_cms(DATA, s, signing_time=SIGNED_AT)
    parsed = parse_cms(der)
    assert {c.der for c in parsed.certificates} == {s.certificate.der, ca.der}
    result = verify_cms(der, DATA)
    assert result.signer_certificate == s.certificate
    assert {c.der for c in result.certificates} == {s.certificate.der, ca.der}


def test_sm2_user_id_is_part_of_the_signature() -> None:
    der = sign_cms(DATA, signer("sm2"), uid=b"ALICE123@YAHOO.COM")
    assert verify_cms(der, DATA, uid=b"ALICE123@YAHOO.COM").signer_certificate == signer("sm2").certificate
    with pytest.raises(InvalidSignature):
        verify_cms(der, DATA)


def test_signing_time_far_in_the_future_uses_generalized_time() -> None:
    when = datetime(2051, 1, 1, tzinfo=UTC)
    assert verify_cms(sign_cms(DATA, signer("p256"), signing_time=when), DATA).signing_time == when


def test_signing_time_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    when = verify_cms(sign_cms(DATA, signer("p256")), DATA).signing_time
    assert when is not None and before <= when <= datetime.now(UTC)


def test_naive_signing_time_is_refused() -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        sign_cms(DATA, signer("p256"), signing_time=datetime(2026, 1, 1))


def test_rsa_signer() -> None:
    h = DemoHierarchy.create("rsa", now=NOW)
    der = sign_cms(DATA, Signer(h.issuer_key, h.issuer_cert), signing_time=SIGNED_AT)
    assert verify_cms(der, DATA).signature_algorithm_oid == oids.SHA256_WITH_RSA


# --- tampering -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_detached_content(kind: str) -> None:
    der = sign_cms(DATA, signer(kind))
    with pytest.raises(InvalidSignature, match="messageDigest"):
        verify_cms(der, DATA + b" ")


def test_tampered_attached_content() -> None:
    der = sign_cms(DATA, signer("sm2"), detached=False)
    with pytest.raises(InvalidSignature, match="differs"):
        verify_cms(der, DATA[:-1] + b"?")
    tampered = der.replace(DATA[:40], DATA[:39] + b"?")
    with pytest.raises(InvalidSignature, match="messageDigest"):
        verify_cms(tampered)


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_signed_attribute(kind: str) -> None:
    der = sign_cms(DATA, signer(kind), signing_time=SIGNED_AT)
    stamp = b"260302093015Z"
    assert der.count(stamp) == 1
    tampered = der.replace(stamp, b"260302093016Z")
    with pytest.raises(InvalidSignature, match="signed attributes does not verify"):
        verify_cms(tampered, DATA)


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_signature(kind: str) -> None:
    der = sign_cms(DATA, signer(kind))
    signature = parse_cms(der).signature
    at = der.index(signature) + len(signature) // 2
    tampered = der[:at] + bytes([der[at] ^ 0x01]) + der[at + 1 :]
    with pytest.raises(InvalidSignature, match="does not verify"):
        verify_cms(tampered, DATA)


def test_swapped_certificate_with_the_same_issuer_and_serial() -> None:
    # another key, certified under the same issuer name and serial: the signature must not verify
    h, s = hierarchy("sm2"), signer("sm2")
    der = sign_cms(DATA, s)
    impostor_tbs = asn1_x509.Certificate.load(s.certificate.der)["tbs_certificate"].copy()
    other = generate_private_key("sm2")
    impostor_tbs["subject_public_key_info"] = asn1_x509.PublicKeyInfo.load(other.public_key().spki_der())
    impostor = asn1_x509.Certificate(
        {
            "tbs_certificate": impostor_tbs,
            "signature_algorithm": {"algorithm": oids.SM3_WITH_SM2},
            "signature_value": h.root_key.sign(impostor_tbs.dump(force=True)),
        }
    )

    def swap(signed: cms.SignedData) -> None:
        signed["certificates"] = [impostor]

    with pytest.raises(InvalidSignature, match="does not verify with the key"):
        verify_cms(mutate(der, swap), DATA)


def test_certificate_of_someone_else_is_not_the_signer() -> None:
    der = sign_cms(DATA, signer("p256"))
    stranger = DemoHierarchy.create("p256", now=NOW).issuer_cert

    def swap(signed: cms.SignedData) -> None:
        signed["certificates"] = [asn1_x509.Certificate.load(stranger.der)]

    with pytest.raises(InvalidSignature, match="no carried certificate matches"):
        verify_cms(mutate(der, swap), DATA)
    with pytest.raises(InvalidSignature, match="not the one the SignerInfo names"):
        verify_cms(der, DATA, certificate=stranger)


def test_unrelated_carried_certificate_is_refused() -> None:
    der = sign_cms(DATA, signer("p256"))
    stranger = DemoHierarchy.create("p256", now=NOW).issuer_cert

    def add(signed: cms.SignedData) -> None:
        signed["certificates"] = [*signed["certificates"], asn1_x509.Certificate.load(stranger.der)]

    with pytest.raises(InvalidSignature, match="outside the signer's chain"):
        verify_cms(mutate(der, add), DATA)


def test_tampered_carried_intermediate_is_refused() -> None:
    s, ca = deep_signer("p256")
    der = sign_cms(DATA, s)
    name = b"Intermediate CA"
    at = der.index(name, der.index(ca.der[:64]) + 100)  # the CA's subject, not the signer's issuer
    tampered = der[:at] + b"Intermediate CB" + der[at + len(name) :]
    with pytest.raises(InvalidSignature, match="outside the signer's chain"):
        verify_cms(tampered, DATA)


def test_tampered_carried_root_is_refused() -> None:
    # a CMS from another producer may carry the root: its self-signature is checked too
    s = signer("p256")
    der = sign_cms(DATA, s)
    root = hierarchy("p256").root_cert
    tbs = asn1_x509.Certificate.load(root.der)
    broken = asn1_x509.Certificate.load(root.der[:-1] + bytes([root.der[-1] ^ 0x01]))
    assert tbs["tbs_certificate"].dump() == broken["tbs_certificate"].dump()

    def add(signed: cms.SignedData, cert: asn1_x509.Certificate) -> None:
        signed["certificates"] = [*signed["certificates"], cert]

    assert verify_cms(mutate(der, lambda sd: add(sd, tbs)), DATA).signer_certificate == s.certificate
    with pytest.raises(InvalidSignature, match="self-signed"):
        verify_cms(mutate(der, lambda sd: add(sd, broken)), DATA)


def test_certificate_given_when_none_is_carried() -> None:
    s = signer("sm2")

    def strip(signed: cms.SignedData) -> None:
        del signed["certificates"]

    bare = mutate(sign_cms(DATA, s), strip)
    assert parse_cms(bare).signer_certificate is None
    with pytest.raises(InvalidSignature, match="none given"):
        verify_cms(bare, DATA)
    assert verify_cms(bare, DATA, certificate=s.certificate).signer_certificate == s.certificate


def test_content_type_attribute_must_match() -> None:
    def retype(signed: cms.SignedData) -> None:
        signed["encap_content_info"]["content_type"] = cms.ContentType(oids.GM_DATA)

    tampered = mutate(sign_cms(DATA, signer("p256")), retype)
    with pytest.raises(InvalidSignature, match="contentType attribute"):
        verify_cms(tampered, DATA)


def test_signature_algorithm_must_fit_the_digest() -> None:
    def relabel(signed: cms.SignedData) -> None:
        signed["signer_infos"][0]["signature_algorithm"] = {"algorithm": oids.ECDSA_WITH_SHA384}

    with pytest.raises(InvalidSignature, match="hashes with SHA384"):
        verify_cms(mutate(sign_cms(DATA, signer("p256")), relabel), DATA)


def test_signature_algorithm_must_fit_the_key() -> None:
    def relabel(signed: cms.SignedData) -> None:
        signed["signer_infos"][0]["signature_algorithm"] = {"algorithm": oids.SM3_WITH_SM2}
        signed["signer_infos"][0]["digest_algorithm"] = {"algorithm": oids.SM3}
        signed["digest_algorithms"] = [{"algorithm": oids.SM3}]

    with pytest.raises(InvalidSignature, match="does not fit"):
        verify_cms(mutate(sign_cms(DATA, signer("p256")), relabel), DATA)


def test_unsigned_attributes_are_refused() -> None:
    def add(signed: cms.SignedData) -> None:
        signed["signer_infos"][0]["unsigned_attrs"] = [
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": SIGNED_AT})]})
        ]

    with pytest.raises(InvalidSignature, match="unsigned attributes"):
        verify_cms(mutate(sign_cms(DATA, signer("p256")), add), DATA)


def test_two_signer_infos_are_refused() -> None:
    def double(signed: cms.SignedData) -> None:
        info = signed["signer_infos"][0]
        signed["signer_infos"] = [info, info.copy()]

    with pytest.raises(InputError, match="exactly one"):
        parse_cms(mutate(sign_cms(DATA, signer("p256")), double))


def test_detached_without_data_is_an_input_error() -> None:
    with pytest.raises(InputError, match="must be given"):
        verify_cms(sign_cms(DATA, signer("p256")))


def test_weak_digest_is_refused() -> None:
    def weaken(signed: cms.SignedData) -> None:
        signed["signer_infos"][0]["digest_algorithm"] = {"algorithm": oids.SHA1}
        signed["digest_algorithms"] = [{"algorithm": oids.SHA1}]

    with pytest.raises(EcertError, match="weak"):
        verify_cms(mutate(sign_cms(DATA, signer("p256")), weaken), DATA)


def test_ber_length_is_refused() -> None:
    der = sign_cms(DATA, signer("p256"))
    assert der[:2] == b"\x30\x82"
    ber = b"\x30\x83\x00" + der[2:]  # same length, one byte longer than needed
    with pytest.raises(InputError, match="not DER"):
        parse_cms(ber)


def test_not_signed_data() -> None:
    info = cms.ContentInfo({"content_type": "data", "content": core.OctetString(b"x")})
    with pytest.raises(InputError, match="not SignedData"):
        parse_cms(info.dump())


# --- strict DER (checked by walking the bytes, ecert.crypto.der) --------------------------------


@dataclass
class _Tlv:
    """One element of a DER encoding, to edit CMS below the level asn1crypto lets us (test helper)."""

    tag: int
    body: bytes = b""
    children: list[_Tlv] | None = None

    @classmethod
    def parse(cls, der: bytes) -> _Tlv:
        node, end = cls._read(der, 0)
        assert end == len(der)
        return node

    @classmethod
    def _read(cls, der: bytes, at: int) -> tuple[_Tlv, int]:
        tag, length, at = der[at], der[at + 1], at + 2
        if length & 0x80:
            count = length & 0x7F
            length, at = int.from_bytes(der[at : at + count], "big"), at + count
        body = der[at : at + length]
        if not tag & 0x20:
            return cls(tag, body), at + length
        children, pos = [], 0
        while pos < len(body):
            child, pos = cls._read(body, pos)
            children.append(child)
        return cls(tag, children=children), at + length

    def dump(self) -> bytes:
        body = self.body if self.children is None else b"".join(c.dump() for c in self.children)
        return bytes([self.tag]) + _der_length(len(body)) + body

    def at(self, *path: int) -> _Tlv:
        node = self
        for index in path:
            assert node.children is not None
            node = node.children[index]
        return node


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


# paths from the ContentInfo: content [0] / SignedData / field
_SIGNED_DATA = (1, 0)
_SIGNER_INFO = (*_SIGNED_DATA, -1, 0)


def _edit(der: bytes, change: Callable[[_Tlv], None]) -> bytes:
    root = _Tlv.parse(der)
    assert root.dump() == der
    change(root)
    return root.dump()


def _swap_first_two(node: _Tlv) -> None:
    assert node.children is not None and len(node.children) >= 2
    node.children[0], node.children[1] = node.children[1], node.children[0]


def test_swapped_signed_attributes_are_refused() -> None:
    """DER sorts the [0] IMPLICIT SET OF signed attributes; the asn1crypto round trip refused
    swapped ones before this walk replaced it, so this is no new refusal."""
    der = sign_cms(DATA, signer("p256"), signing_time=SIGNED_AT)
    swapped = _edit(der, lambda root: _swap_first_two(root.at(*_SIGNER_INFO, 3)))
    with pytest.raises(InputError, match=r"not DER: SET OF elements not in ascending order .* at byte \d+"):
        parse_cms(swapped)


def test_swapped_certificates_are_refused() -> None:
    """The [0] IMPLICIT certificate set is a SET OF too (refused before as well)."""
    s, _ca = deep_signer("p256")
    der = sign_cms(DATA, s, signing_time=SIGNED_AT)
    swapped = _edit(der, lambda root: _swap_first_two(root.at(*_SIGNED_DATA, 3)))
    with pytest.raises(InputError, match="SET OF elements not in ascending order"):
        parse_cms(swapped)


def _append(*path: int, extra: str) -> Callable[[_Tlv], None]:
    def change(root: _Tlv) -> None:
        children = root.at(*path).children
        assert children is not None
        children.extend(_Tlv.parse(bytes.fromhex(tlv)) for tlv in extra.split())

    return change


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("ContentInfo", ()),
        ("ContentInfo", (1,)),  # in the [0] EXPLICIT content: asn1crypto reads one element, skips the rest
        ("SignedData", _SIGNED_DATA),
        ("EncapsulatedContentInfo", (*_SIGNED_DATA, 2)),
        ("EncapsulatedContentInfo", (*_SIGNED_DATA, 2, 1)),  # in the [0] EXPLICIT eContent
        # digest AlgorithmIdentifiers are written without parameters (RFC 5754 §2): a NULL there,
        # then the extra element
        ("digestAlgorithms", (*_SIGNED_DATA, 1, 0)),
        ("SignerInfo", _SIGNER_INFO),
        ("issuerAndSerialNumber", (*_SIGNER_INFO, 1)),
        ("SignerInfo digestAlgorithm", (*_SIGNER_INFO, 2)),
        ("signed attribute", (*_SIGNER_INFO, 3, 0)),
    ],
)
def test_elements_after_the_last_field_are_refused(where: str, path: tuple[int, ...]) -> None:
    """asn1crypto skips elements its schema has no field for, where DER has none and nothing would
    notice them change; its re-encoding dropped them, so the old comparison refused them too."""
    der = sign_cms(DATA, signer("p256"), detached=False, signing_time=SIGNED_AT)
    extra = "0500 020101" if "digestAlgorithm" in where else "020101"
    extended = _edit(der, _append(*path, extra=extra))
    with pytest.raises(InputError, match=f"CMS {where} is not DER: bytes after its last field"):
        verify_cms(extended)


def _signer_with_even_certificate_signature() -> Signer:
    """A P-256 signer whose certificate signature ends with a zero bit (half of them do)."""
    h = hierarchy("p256")
    for _ in range(64):
        key = generate_private_key("p256")
        cert = make_issuer_certificate(h.root_key, h.root_cert, key.public_key(), "Signer", not_before=NOW)
        if not cert.signature[-1] & 1:
            return Signer(key, cert, (h.root_cert,))
    raise AssertionError("64 signatures in a row ended with a one bit")  # pragma: no cover


def test_certificate_signature_with_unused_bits_is_refused() -> None:
    """Relabelled with one unused (zero) bit, a certificate signature still verifies: readers take
    the octets.  The asn1crypto round trip refused it; the walk needs whole octets in CMS."""
    s = _signer_with_even_certificate_signature()
    der = sign_cms(DATA, s, signing_time=SIGNED_AT)

    def pad(root: _Tlv) -> None:
        signature = root.at(*_SIGNED_DATA, 3, 0, 2)
        assert signature.body[0] == 0
        signature.body = b"\x01" + signature.body[1:]

    padded = _edit(der, pad)
    cert = Certificate.from_der(_Tlv.parse(padded).at(*_SIGNED_DATA, 3, 0).dump())
    assert cert.der != s.certificate.der
    cert.verify_issued_by(hierarchy("p256").root_cert)  # nothing else notices
    with pytest.raises(InputError, match="BIT STRING with 1 unused bits where whole octets are expected"):
        parse_cms(padded)


def test_malformed_revocation_information_is_refused() -> None:
    """CRLs are read by nobody here; they get asn1crypto's full check (parse and re-encode)."""
    der = sign_cms(DATA, signer("p256"), signing_time=SIGNED_AT)

    def add_crls(root: _Tlv) -> None:
        fields = root.at(*_SIGNED_DATA).children
        assert fields is not None
        fields.insert(-1, _Tlv.parse(bytes.fromhex("a105 3003 020101")))

    with pytest.raises(InputError, match="malformed CMS"):
        parse_cms(_edit(der, add_crls))


def test_deep_nesting_is_refused_without_recursion() -> None:
    der = sign_cms(DATA, signer("p256"), signing_time=SIGNED_AT)
    inner = bytes.fromhex("0500")
    for _ in range(5000):  # far past Python's recursion limit, as the algorithm's parameters
        inner = b"\x30" + _der_length(len(inner)) + inner

    def nest(root: _Tlv) -> None:
        algorithm = root.at(*_SIGNER_INFO, 4).children
        assert algorithm is not None
        algorithm.append(_Tlv(0x30, body=inner))  # body kept as it is: dump() does not descend

    with pytest.raises(InputError, match="nested more than 64 deep"):
        parse_cms(_edit(der, nest))


def _length_octets(der: bytes, at: int = 0, end: int | None = None) -> list[int]:
    """The offset of every length octet in a DER encoding (test helper, recursive)."""
    end = len(der) if end is None else end
    offsets: list[int] = []
    while at < end:
        first = at + 1
        count = der[first] & 0x7F if der[first] & 0x80 else 0
        start = first + 1 + count
        length = int.from_bytes(der[first + 1 : start], "big") if count else der[first]
        offsets.extend(range(first, start))
        if der[at] & 0x20:
            offsets.extend(_length_octets(der, start, start + length))
        at = start + length
    return offsets


@functools.lru_cache(maxsize=1)
def _length_samples() -> tuple[tuple[bytes, Certificate], ...]:
    """CMS files to change, each with the root its signer chains to."""
    s, _ca = deep_signer("sm2")
    return (
        (sign_cms(DATA, signer("p256"), signing_time=SIGNED_AT), hierarchy("p256").root_cert),
        (sign_cms(DATA, signer("sm2"), detached=False, signing_time=SIGNED_AT), hierarchy("sm2").root_cert),
        (sign_cms(DATA, s, signing_time=SIGNED_AT, gm_oids=False), hierarchy("sm2").root_cert),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_changed_length_octet_is_refused_or_harmless(data: st.DataObject) -> None:
    """Any length octet set to any other value: refused, or the changed file does not verify.

    Verifying includes the trust step: verify_cms leaves the signer certificate's own signature to
    the trust store, and a length octet inside its extensions can be changed into another
    well-formed DER certificate (an extension OID swallowing the critical flag), only that
    certificate's signature no longer verifies.  Every change (about 109,000) was tried once, on
    one run's samples: verify_cms refused all but 6, and path validation those at its signature step.
    """
    der, root = data.draw(st.sampled_from(_length_samples()))
    at = data.draw(st.sampled_from(_length_octets(der)))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != der[at]))
    changed = der[:at] + bytes([value]) + der[at + 1 :]
    try:
        result = verify_cms(changed, DATA)
    except EcertError:
        return
    trust = TrustStore.from_certificates(root)
    validation = trust.validate(result.signer_certificate, at=SIGNED_AT, intermediates=result.certificates)
    assert not validation.ok, "a changed length octet went unnoticed"
    assert validation.failed_step is not None and validation.failed_step.name == "signature"


# --- what other producers write ------------------------------------------------------------------


def _ofdrw_style(s: Signer, content: bytes) -> bytes:
    """GB/T 35275 as ofdrw's SignedDataBuilder writes it: attached, no signed attributes,
    digestEncryptionAlgorithm sm2-1, the signature over the content itself."""
    cert = asn1_x509.Certificate.load(s.certificate.der)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                "issuer_and_serial_number",
                cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number}),
            ),
            "digest_algorithm": {"algorithm": oids.SM3},
            "signature_algorithm": {"algorithm": oids.SM2_SIGNATURE},
            "signature": s.sign(content),
        }
    )
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": oids.SM3}],
            "encap_content_info": {"content_type": oids.GM_DATA, "content": core.OctetString(content)},
            "certificates": [cert],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": oids.GM_SIGNED_DATA, "content": signed}).dump())


def test_ofdrw_style_without_signed_attributes() -> None:
    s = signer("sm2")
    der = _ofdrw_style(s, DATA)
    parsed = parse_cms(der)
    assert parsed.signed_attrs_der is None and parsed.message_digest is None
    result = verify_cms(der, DATA)
    assert result.signer_certificate == s.certificate and result.signing_time is None
    with pytest.raises(InvalidSignature, match="differs"):
        verify_cms(der, DATA + b"x")
    tampered = der.replace(DATA[:30], DATA[:29] + b"!")
    with pytest.raises(InvalidSignature, match="signature over the content"):
        verify_cms(tampered)


def test_gmssl_style_sm3_with_sm2_identifier_is_read() -> None:
    def relabel(signed: cms.SignedData) -> None:
        signed["signer_infos"][0]["signature_algorithm"] = {"algorithm": oids.SM3_WITH_SM2}

    der = mutate(sign_cms(DATA, signer("sm2"), signing_time=SIGNED_AT), relabel)
    assert parse_cms(der).gm_oids
    assert verify_cms(der, DATA).signature_algorithm_oid == oids.SM3_WITH_SM2


def test_parse_result_is_frozen() -> None:
    parsed = parse_cms(sign_cms(DATA, signer("p256")))
    assert isinstance(parsed, CmsSignedData)
    with pytest.raises(AttributeError):
        parsed.signature = b""  # type: ignore[misc]


# --- garbage in, EcertError out ------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _sample() -> bytes:
    return sign_cms(DATA[:64], signer("p256"), detached=False, signing_time=SIGNED_AT)


def _only_ecert_errors(der: bytes, data: bytes | None = None) -> None:
    with contextlib.suppress(EcertError):  # anything else (an asn1crypto error...) fails the test
        verify_cms(der, data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_raise_ecert_errors_only(garbage: bytes) -> None:
    with pytest.raises(EcertError):
        parse_cms(garbage)
    _only_ecert_errors(garbage, b"x")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_cms_raises_ecert_errors_only(data: st.DataObject) -> None:
    der = bytearray(_sample())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(der) - 1))
        der[at] = data.draw(st.integers(0, 255))
    _only_ecert_errors(bytes(der))


def test_every_truncation_is_an_input_error() -> None:
    der = _sample()
    for cut in range(len(der)):
        with pytest.raises(InputError):
            parse_cms(der[:cut])


def test_trailing_bytes_are_refused() -> None:
    with pytest.raises(InputError):
        parse_cms(_sample() + b"\x00")


@pytest.mark.parametrize("bad", ["text", None, 42])
def test_non_bytes_input(bad: object) -> None:
    with pytest.raises(InputError):
        parse_cms(bad)  # type: ignore[arg-type]


# --- OpenSSL interop -----------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=30)


def _has_sm2() -> bool:
    if OPENSSL is None:
        return False
    out = subprocess.run(
        [OPENSSL, "list", "-public-key-algorithms"], capture_output=True, text=True, timeout=30
    )
    return "SM2" in out.stdout


needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="system openssl not found")
needs_openssl_sm2 = pytest.mark.skipif(not _has_sm2(), reason="system openssl lacks SM2")


@needs_openssl
def test_openssl_verifies_our_p256_cms(tmp_path: Path) -> None:
    h = hierarchy("p256")
    (tmp_path / "sig.der").write_bytes(sign_cms(DATA, signer("p256"), signing_time=SIGNED_AT))
    (tmp_path / "data").write_bytes(DATA)
    (tmp_path / "root.pem").write_bytes(h.root_cert.to_pem())
    common = [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "sig.der",
        "-content",
        "data",
        "-out",
        "out",
    ]
    result = _openssl(*common, "-CAfile", "root.pem", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert (tmp_path / "out").read_bytes() == DATA
    (tmp_path / "data").write_bytes(DATA + b"x")
    assert _openssl(*common, "-CAfile", "root.pem", cwd=tmp_path).returncode != 0


@needs_openssl
def test_openssl_verifies_our_p256_cms_with_chain(tmp_path: Path) -> None:
    # root -> intermediate -> signer; the CMS carries signer and intermediate, OpenSSL has the root
    s, _ca = deep_signer("p256")
    (tmp_path / "sig.der").write_bytes(sign_cms(DATA, s, detached=False, signing_time=SIGNED_AT))
    (tmp_path / "root.pem").write_bytes(hierarchy("p256").root_cert.to_pem())
    result = _openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-CAfile", "root.pem",
        "-out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").read_bytes() == DATA


@needs_openssl_sm2
def test_openssl_cms_verifies_sm2_rfc5652_form_signed_with_empty_id(tmp_path: Path) -> None:
    der = sign_cms(DATA, signer("sm2"), gm_oids=False, uid=b"", signing_time=SIGNED_AT)
    assert verify_cms(der, DATA, uid=b"").signer_certificate == signer("sm2").certificate
    (tmp_path / "sig.der").write_bytes(der)
    (tmp_path / "data").write_bytes(DATA)
    result = _openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-content", "data", "-noverify",
        "-out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr


@needs_openssl_sm2
@pytest.mark.parametrize("gm_oids", [True, False])
def test_openssl_pkeyutl_verifies_sm2_signer_info(tmp_path: Path, gm_oids: bool) -> None:
    s = signer("sm2")
    parsed = parse_cms(sign_cms(DATA, s, gm_oids=gm_oids, signing_time=SIGNED_AT))
    assert parsed.signed_attrs_der is not None
    (tmp_path / "attrs.der").write_bytes(parsed.signed_attrs_der)
    (tmp_path / "sig").write_bytes(parsed.signature)
    (tmp_path / "pub.pem").write_bytes(save_public_key(s.certificate.public_key))
    args = ["pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pkeyopt", f"distid:{DEFAULT_UID.decode()}"]
    args += ["-pubin", "-inkey", "pub.pem", "-in", "attrs.der", "-sigfile", "sig"]
    result = _openssl(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout
    (tmp_path / "attrs.der").write_bytes(parsed.signed_attrs_der[:-1] + b"\x00")
    assert _openssl(*args, cwd=tmp_path).returncode != 0


@needs_openssl
def test_openssl_pkeyutl_verifies_ed25519_signer_info(tmp_path: Path) -> None:
    s = signer("ed25519")
    parsed = parse_cms(sign_cms(DATA, s, signing_time=SIGNED_AT))
    assert parsed.signed_attrs_der is not None
    (tmp_path / "attrs.der").write_bytes(parsed.signed_attrs_der)
    (tmp_path / "sig").write_bytes(parsed.signature)
    (tmp_path / "pub.pem").write_bytes(save_public_key(s.certificate.public_key))
    result = _openssl(
        "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "pub.pem", "-in", "attrs.der", "-sigfile", "sig",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def openssl_signer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if OPENSSL is None:
        pytest.skip("system openssl not found")
    folder = tmp_path_factory.mktemp("openssl")
    result = _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=OpenSSL Signer", "-days", "30", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder / "data").write_bytes(DATA)
    return folder


@pytest.mark.parametrize(
    ("extra", "detached", "attributes"),
    [([], True, True), (["-nodetach", "-keyid"], False, True), (["-noattr"], True, False)],
)
def test_we_verify_openssl_p256_cms(
    openssl_signer: Path, extra: list[str], detached: bool, attributes: bool
) -> None:
    result = _openssl(
        "cms", "-sign", "-binary", "-md", "sha256", "-signer", "cert.pem", "-inkey", "key.pem",
        "-outform", "DER", "-in", "data", "-out", "sig.der", *extra, cwd=openssl_signer,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    der = (openssl_signer / "sig.der").read_bytes()
    cert = load_certificate((openssl_signer / "cert.pem").read_bytes())
    parsed = parse_cms(der)
    assert parsed.detached is detached
    assert (parsed.signed_attrs_der is not None) is attributes
    assert (parsed.signer_key_id is not None) is ("-keyid" in extra)
    verification = verify_cms(der, DATA)
    assert verification.signer_certificate == cert
    assert verification.signature_algorithm_oid == oids.ECDSA_WITH_SHA256
    if attributes:
        assert verification.signing_time is not None
        assert abs(verification.signing_time - datetime.now(UTC)) < timedelta(minutes=10)
    with pytest.raises(InvalidSignature):
        verify_cms(der, DATA[:-1])


@pytest.mark.parametrize("padding", ["pkcs1", "pss"])
def test_we_verify_openssl_rsa_cms(tmp_path: Path, padding: str) -> None:
    if OPENSSL is None:
        pytest.skip("system openssl not found")
    made = _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
        "-subj", "/CN=OpenSSL RSA Signer", "-days", "30", cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    (tmp_path / "data").write_bytes(DATA)
    extra = ["-keyopt", "rsa_padding_mode:pss"] if padding == "pss" else []
    result = _openssl(
        "cms", "-sign", "-binary", "-md", "sha256", "-signer", "cert.pem", "-inkey", "key.pem",
        "-outform", "DER", "-in", "data", "-out", "sig.der", *extra, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    der = (tmp_path / "sig.der").read_bytes()
    # OpenSSL names PKCS#1 v1.5 by the key OID rsaEncryption; the digest algorithm completes it
    written = {"pkcs1": oids.RSA_ENCRYPTION, "pss": oids.RSASSA_PSS}[padding]
    assert parse_cms(der).signature_algorithm_oid == written
    expected = {"pkcs1": oids.SHA256_WITH_RSA, "pss": oids.RSASSA_PSS}[padding]
    assert verify_cms(der, DATA).signature_algorithm_oid == expected
    with pytest.raises(InvalidSignature):
        verify_cms(der, DATA + b"!")
