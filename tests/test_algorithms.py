"""Signature algorithms by OID: every supported one, weak ones refused by name, RSA-PSS parameters."""

from __future__ import annotations

import pytest
from asn1crypto import algos

from ecert.crypto import oids
from ecert.crypto.algorithms import KeyKind, PssParameters, SignatureAlgorithm
from ecert.crypto.digests import DigestAlgorithm
from ecert.errors import UnsupportedAlgorithm


@pytest.mark.parametrize("algorithm", list(SignatureAlgorithm))
def test_from_oid_round_trip(algorithm: SignatureAlgorithm) -> None:
    assert SignatureAlgorithm.from_oid(algorithm.oid) is algorithm
    assert SignatureAlgorithm.from_oid(f"  {algorithm.oid}\n") is algorithm


def test_values_and_digests() -> None:
    assert SignatureAlgorithm.SM2_SM3.oid == "1.2.156.10197.1.501"
    assert SignatureAlgorithm.RSA_PSS.oid == "1.2.840.113549.1.1.10"
    assert SignatureAlgorithm.SM2_SM3.digest is DigestAlgorithm.SM3
    assert SignatureAlgorithm.ECDSA_SHA256.digest is DigestAlgorithm.SHA256
    assert SignatureAlgorithm.ECDSA_SHA384.digest is DigestAlgorithm.SHA384
    assert SignatureAlgorithm.RSA_PKCS1_SHA512.digest is DigestAlgorithm.SHA512
    assert SignatureAlgorithm.ED25519.digest is None
    assert SignatureAlgorithm.RSA_PSS.digest is None  # its parameters name the hash
    assert SignatureAlgorithm.SM2_SM3.key_kind is KeyKind.SM2
    assert SignatureAlgorithm.RSA_PSS.key_kind is KeyKind.RSA


def test_sm2_sign_oid_alone_means_sm2_with_sm3() -> None:
    assert SignatureAlgorithm.from_oid(oids.SM2_SIGNATURE) is SignatureAlgorithm.SM2_SM3


@pytest.mark.parametrize(
    "oid",
    [
        oids.SHA1_WITH_RSA,
        oids.MD5_WITH_RSA,
        oids.ECDSA_WITH_SHA1,
        oids.SHA1,
        oids.MD5,
        "1.2.840.113549.1.1.2",  # md2WithRSAEncryption
        "1.2.840.10040.4.3",  # dsa-with-sha1
        "1.3.14.3.2.29",  # OIW sha1WithRSASignature
        "1.2.156.10197.1.502",  # SM2 with SHA-1
    ],
)
def test_weak_refused_with_reason(oid: str) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="weak"):
        SignatureAlgorithm.from_oid(oid)


@pytest.mark.parametrize("oid", ["", "1.2.3.4", "not an oid", oids.SM3, "1.2.156.10197.1.503"])
def test_unknown_refused(oid: str) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="unknown"):
        SignatureAlgorithm.from_oid(oid)


def test_unsupported_algorithm_is_value_error() -> None:
    with pytest.raises(ValueError):
        SignatureAlgorithm.from_oid("1.2.3.4")


@pytest.mark.parametrize("text", ["sm2", "SM2", "p256", "P-256", "ed25519", "rsa", KeyKind.SM2])
def test_key_kind_parse(text: KeyKind | str) -> None:
    assert isinstance(KeyKind.parse(text), KeyKind)


def test_key_kind_unknown() -> None:
    with pytest.raises(UnsupportedAlgorithm, match="sm2, p256"):
        KeyKind.parse("dsa")


def _pss(hash_name: str, mgf_hash: str | None = None, salt: int = 32) -> bytes:
    params = algos.RSASSAPSSParams(
        {
            "hash_algorithm": {"algorithm": hash_name},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": mgf_hash or hash_name}},
            "salt_length": salt,
        }
    )
    return bytes(params.dump(force=True))


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("sha256", DigestAlgorithm.SHA256),
        ("sha384", DigestAlgorithm.SHA384),
        ("sha512", DigestAlgorithm.SHA512),
    ],
)
def test_pss_parameters(name: str, digest: DigestAlgorithm) -> None:
    params = PssParameters.from_der(_pss(name, salt=20))
    assert params == PssParameters(digest, 20)


def test_pss_parameters_refused() -> None:
    with pytest.raises(UnsupportedAlgorithm, match="SHA-1"):
        PssParameters.from_der(None)
    with pytest.raises(UnsupportedAlgorithm, match="weak"):
        PssParameters.from_der(bytes.fromhex("3000"))  # all defaults: SHA-1
    with pytest.raises(UnsupportedAlgorithm, match="MGF1"):
        PssParameters.from_der(_pss("sha256", "sha512"))
    with pytest.raises(UnsupportedAlgorithm, match="malformed"):
        PssParameters.from_der(b"\x30\x05\x01")
