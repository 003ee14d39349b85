"""Keys of every kind behind one interface: sign, verify, read, write, refuse what does not fit."""

from __future__ import annotations

import dataclasses
import functools
import hashlib

import pytest
from asn1crypto import core, pem
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.crypto import oids
from ecert.crypto.algorithms import KeyKind, PssParameters, SignatureAlgorithm
from ecert.crypto.digests import DigestAlgorithm
from ecert.crypto.keys import (
    PrivateKey,
    PublicKey,
    generate_private_key,
    load_private_key,
    load_public_key,
    save_private_key,
    save_public_key,
)
from ecert.crypto.sm2 import SM2PrivateKey
from ecert.errors import InvalidKey, InvalidSignature, UnsupportedAlgorithm

KINDS = ("sm2", "p256", "ed25519")
DATA = b"<Signature>ecert</Signature>"


@functools.cache
def _key(kind: str) -> PrivateKey:
    if kind == "rsa":  # 2048 bits: faster than generate_private_key's 3072 and still accepted
        return PrivateKey(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return generate_private_key(kind)


@pytest.mark.parametrize("kind", [*KINDS, "rsa"])
def test_sign_and_verify(kind: str) -> None:
    key = _key(kind)
    assert key.kind is KeyKind.parse(kind)
    signature = key.sign(DATA)
    key.public_key().verify(signature, DATA)
    key.public_key().verify(signature, DATA, key.default_algorithm)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, DATA + b" ")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(b"\x30\x00" + signature[2:], DATA)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(b"", DATA)


def test_signature_shapes() -> None:
    assert _key("sm2").sign(DATA)[0] == 0x30  # DER SEQUENCE { r, s }
    assert _key("p256").sign(DATA)[0] == 0x30
    assert len(_key("ed25519").sign(DATA)) == 64
    assert _key("sm2").default_algorithm is SignatureAlgorithm.SM2_SM3
    assert _key("p256").default_algorithm is SignatureAlgorithm.ECDSA_SHA256
    assert _key("rsa").default_algorithm is SignatureAlgorithm.RSA_PKCS1_SHA256


def test_sm2_user_id() -> None:
    key = _key("sm2")
    signature = key.sign(DATA, uid=b"ALICE123@YAHOO.COM")
    key.public_key().verify(signature, DATA, uid=b"ALICE123@YAHOO.COM")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, DATA)  # the default ID 1234567812345678


@pytest.mark.parametrize(
    ("kind", "algorithm"),
    [
        ("sm2", SignatureAlgorithm.ECDSA_SHA256),
        ("p256", SignatureAlgorithm.SM2_SM3),
        ("ed25519", SignatureAlgorithm.ECDSA_SHA256),
        ("p256", SignatureAlgorithm.RSA_PKCS1_SHA256),
        ("rsa", SignatureAlgorithm.ED25519),
    ],
)
def test_algorithm_must_fit_key(kind: str, algorithm: SignatureAlgorithm) -> None:
    key = _key(kind)
    with pytest.raises(UnsupportedAlgorithm, match="does not fit"):
        key.public_key().verify(key.sign(DATA), DATA, algorithm)


def test_ecdsa_sha384_on_p256() -> None:
    key = _key("p256").key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signature = key.sign(DATA, ec.ECDSA(hashes.SHA384()))
    public = _key("p256").public_key()
    public.verify(signature, DATA, SignatureAlgorithm.ECDSA_SHA384)
    with pytest.raises(InvalidSignature):
        public.verify(signature, DATA, SignatureAlgorithm.ECDSA_SHA256)


@pytest.mark.parametrize("digest", [DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512])
def test_rsa_pss_uses_its_parameters(digest: DigestAlgorithm) -> None:
    key = _key("rsa").key
    assert isinstance(key, rsa.RSAPrivateKey)
    h = digest.hash_algorithm()
    signature = key.sign(DATA, rsa_padding.PSS(rsa_padding.MGF1(h), h.digest_size), h)
    public = _key("rsa").public_key()
    public.verify(signature, DATA, SignatureAlgorithm.RSA_PSS, pss=PssParameters(digest, h.digest_size))
    other = DigestAlgorithm.SHA512 if digest is not DigestAlgorithm.SHA512 else DigestAlgorithm.SHA256
    with pytest.raises(InvalidSignature):
        public.verify(signature, DATA, SignatureAlgorithm.RSA_PSS, pss=PssParameters(other, h.digest_size))
    with pytest.raises(UnsupportedAlgorithm, match="PSS parameters"):
        public.verify(signature, DATA, SignatureAlgorithm.RSA_PSS)


@pytest.mark.parametrize("kind", [*KINDS, "rsa"])
@pytest.mark.parametrize("password", [None, b"correct horse"])
def test_save_and_load(kind: str, password: bytes | None) -> None:
    key = _key(kind)
    data = save_private_key(key, password)
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY" if password else b"-----BEGIN PRIVATE KEY")
    loaded = load_private_key(data, password)
    assert loaded.kind is key.kind
    assert loaded.public_key().spki_der() == key.public_key().spki_der()
    loaded.public_key().verify(key.sign(DATA), DATA)
    key.public_key().verify(loaded.sign(DATA), DATA)
    der = pem.unarmor(data)[2]
    assert load_private_key(der, password).public_key() == loaded.public_key()
    public = save_public_key(key.public_key())
    assert public.startswith(b"-----BEGIN PUBLIC KEY")
    assert load_public_key(public).spki_der() == key.public_key().spki_der()
    assert load_public_key(pem.unarmor(public)[2]).kind is key.kind


def test_wrong_and_missing_password() -> None:
    data = save_private_key(_key("sm2"), b"right")
    with pytest.raises(InvalidKey, match="wrong password"):
        load_private_key(data, b"wrong")
    with pytest.raises(InvalidKey, match="password is needed"):
        load_private_key(data)
    p256 = save_private_key(_key("p256"), b"right")
    with pytest.raises(InvalidKey, match="wrong password"):
        load_private_key(p256, b"wrong")


def test_repr_hides_secrets_and_values_are_frozen() -> None:
    key = _key("sm2")
    assert isinstance(key.key, SM2PrivateKey)
    secret = key.key.to_bytes().hex()
    assert secret not in repr(key).lower() and str(key.key.d) not in repr(key)
    assert "sm2" in repr(key)
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.kind = KeyKind.P256  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.public_key().kind = KeyKind.P256  # type: ignore[misc]


def test_fingerprint_is_sha256_of_spki() -> None:
    public = _key("p256").public_key()
    assert public.fingerprint() == hashlib.sha256(public.spki_der()).hexdigest()


def test_sm2_spki_forms() -> None:
    public = _key("sm2").public_key()
    info = asn1_keys.PublicKeyInfo.load(public.spki_der())
    assert info["algorithm"]["algorithm"].dotted == oids.EC_PUBLIC_KEY
    assert info["algorithm"]["parameters"].chosen.dotted == oids.SM2_CURVE
    # some producers name the SM2 curve OID as the algorithm itself, without parameters
    algorithm = asn1_keys.PublicKeyAlgorithm({"algorithm": oids.SM2_CURVE})
    point = core.OctetBitString(bytes(info["public_key"]))
    body = algorithm.dump() + point.dump()
    direct = b"\x30" + bytes([len(body)]) + body  # short-form length: body < 128 bytes
    assert PublicKey.from_spki_der(direct) == public


def _sm2_spki_with_point(point: bytes) -> bytes:
    info = asn1_keys.PublicKeyInfo.load(_key("sm2").public_key().spki_der())
    return bytes(asn1_keys.PublicKeyInfo({"algorithm": info["algorithm"], "public_key": point}).dump())


def test_point_not_on_curve() -> None:
    point = bytearray(asn1_keys.PublicKeyInfo.load(_key("sm2").public_key().spki_der())["public_key"].native)
    point[-1] ^= 1
    with pytest.raises(InvalidKey):
        PublicKey.from_spki_der(_sm2_spki_with_point(bytes(point)))
    with pytest.raises(InvalidKey):
        PublicKey.from_spki_der(_sm2_spki_with_point(b"\x04" + b"\x00" * 64))
    p256 = bytearray(_key("p256").public_key().spki_der())
    p256[-1] ^= 1
    with pytest.raises(InvalidKey):
        PublicKey.from_spki_der(bytes(p256))


@pytest.mark.parametrize("curve", [ec.SECP384R1(), ec.SECP256K1()])
def test_wrong_curve(curve: ec.EllipticCurve) -> None:
    key = ec.generate_private_key(curve)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidKey, match="not supported"):
        load_private_key(der)
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKey, match="not supported"):
        load_public_key(spki)


def test_small_rsa_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(InvalidKey, match="weak"):
        PublicKey(key.public_key())


def test_sec1_public_key_must_match() -> None:
    sec1 = asn1_keys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": 12345,
            "parameters": ("named", oids.SM2_CURVE),
            "public_key": _key("sm2").public_key().key.to_bytes(),  # type: ignore[union-attr]
        }
    )
    with pytest.raises(InvalidKey, match="does not match"):
        load_private_key(pem.armor("EC PRIVATE KEY", sec1.dump()))


def test_sm2_scalar_out_of_range() -> None:
    for d in (0, 2**256 - 1):
        sec1 = asn1_keys.ECPrivateKey(
            {"version": "ecPrivkeyVer1", "private_key": d, "parameters": ("named", oids.SM2_CURVE)}
        )
        with pytest.raises(InvalidKey):
            load_private_key(sec1.dump())


def test_pem_without_a_key() -> None:
    with pytest.raises(InvalidKey, match="no private key"):
        load_private_key(b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")
    with pytest.raises(InvalidKey, match="no PUBLIC KEY"):
        load_public_key(save_private_key(_key("sm2")))
    with pytest.raises(InvalidKey):
        load_private_key("text")  # type: ignore[arg-type]


def test_legacy_pem_encryption_refused() -> None:
    key = _key("p256").key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(UnsupportedAlgorithm, match="pkcs8"):
        load_private_key(data, b"pw")


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_private_key_every_length(kind: str) -> None:
    der = pem.unarmor(save_private_key(_key(kind)))[2]
    for n in range(len(der)):
        with pytest.raises(InvalidKey):
            load_private_key(der[:n])


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_public_key_every_length(kind: str) -> None:
    der = _key(kind).public_key().spki_der()
    for n in range(len(der)):
        with pytest.raises(InvalidKey):
            load_public_key(der[:n])


def test_truncated_encrypted_key_every_length() -> None:
    der = pem.unarmor(save_private_key(_key("sm2"), b"pw"))[2]
    for n in range(0, len(der), 3):
        with pytest.raises(InvalidKey):
            load_private_key(der[:n], b"pw")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_is_invalid_key(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        load_private_key(data)
    with pytest.raises(InvalidKey):
        load_public_key(data)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=150), st.binary(min_size=1, max_size=4))
def test_corrupted_sm2_pkcs8_never_crashes(position: int, junk: bytes) -> None:
    der = bytearray(pem.unarmor(save_private_key(_key("sm2")))[2])
    der[position : position + len(junk)] = junk
    try:
        key = load_private_key(bytes(der))
    except (InvalidKey, UnsupportedAlgorithm):
        return
    assert key.kind in (KeyKind.SM2, KeyKind.P256)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=2**255))
def test_sm2_spki_equals_asn1cryptos_encoding(d: int) -> None:
    """Our fixed-prefix SM2 SubjectPublicKeyInfo is the DER asn1crypto writes for the same key."""
    public = PrivateKey(SM2PrivateKey(d)).public_key()
    expected = asn1_keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": oids.EC_PUBLIC_KEY, "parameters": ("named", oids.SM2_CURVE)},
            "public_key": public.key.to_bytes(),
        }
    ).dump()
    assert public.spki_der() == expected
    assert PublicKey.from_spki_der(expected) == public
