"""Demo hierarchies for SM2, P-256 and Ed25519; the signer that carries a key and its certificate."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509

from ecert.crypto.algorithms import KeyKind, SignatureAlgorithm
from ecert.crypto.hierarchy import DemoHierarchy, make_issuer_certificate, make_root
from ecert.crypto.keys import generate_private_key, save_private_key
from ecert.crypto.signer import Signer
from ecert.crypto.x509 import Certificate
from ecert.errors import InputError, InvalidKey, InvalidSignature

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
KINDS = ("sm2", "p256", "ed25519")


@functools.cache
def _hierarchy(kind: str) -> DemoHierarchy:
    return DemoHierarchy.create(kind, now=NOW)


@pytest.mark.parametrize("kind", KINDS)
def test_issuer_verifies_under_root(kind: str) -> None:
    h = _hierarchy(kind)
    h.issuer_cert.verify_issued_by(h.root_cert, accept_empty_sm2_id=False)
    h.root_cert.verify_issued_by(h.root_cert, accept_empty_sm2_id=False)
    assert h.issuer_cert.public_key == h.issuer_key.public_key()
    assert h.issuer_cert.issuer_der == h.root_cert.subject_der
    assert h.root_cert.public_key.kind is KeyKind.parse(kind)
    assert h.issuer_cert.valid_at(NOW) and h.root_cert.valid_at(NOW)
    with pytest.raises(InvalidSignature):
        h.root_cert.verify_issued_by(h.issuer_cert)  # wrong way round


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_tbs_fails(kind: str) -> None:
    h = _hierarchy(kind)
    parsed = asn1_x509.Certificate.load(h.issuer_cert.der)
    tbs = parsed["tbs_certificate"].copy()
    tbs["serial_number"] = h.issuer_cert.serial_number + 1
    forged = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": parsed["signature_value"],
        }
    )
    cert = Certificate.from_der(forged.dump())
    with pytest.raises(InvalidSignature):
        cert.verify_issued_by(h.root_cert)


def test_extensions() -> None:
    h = _hierarchy("sm2")
    root, issuer = h.root_cert, h.issuer_cert
    assert root.is_ca and root.path_length is None
    assert root.key_usage == frozenset({"key_cert_sign", "crl_sign"})
    assert "2.5.29.19" in root.critical_extension_oids  # basicConstraints
    assert not issuer.is_ca
    assert issuer.key_usage == frozenset({"digital_signature", "non_repudiation"})
    assert issuer.subject_key_id and issuer.authority_key_id == root.subject_key_id
    assert issuer.common_name == "示例市市场监督管理局"
    assert issuer.signature_algorithm_oid == SignatureAlgorithm.SM2_SM3.oid
    assert issuer.not_after - issuer.not_before == timedelta(days=1825)


def test_chinese_names_are_utf8_strings() -> None:
    name = asn1_x509.Certificate.load(_hierarchy("sm2").issuer_cert.der)["tbs_certificate"]["subject"]
    kinds = {a["type"].native: type(a["value"].chosen).__name__ for rdn in name.chosen for a in rdn}
    assert kinds["common_name"] == "UTF8String" and kinds["organization_name"] == "UTF8String"
    assert kinds["country_name"] == "PrintableString"


def test_intermediate_ca_and_department_code() -> None:
    h = _hierarchy("p256")
    key = generate_private_key("p256")
    ca = make_issuer_certificate(
        h.root_key, h.root_cert, key.public_key(), "中间 CA", not_before=NOW, ca=True
    )
    assert ca.is_ca and ca.path_length == 0 and ca.key_usage == frozenset({"key_cert_sign", "crl_sign"})
    leaf = make_issuer_certificate(
        key,
        ca,
        generate_private_key("p256").public_key(),
        "部门",
        organization_identifier="11330100MB01234570",
        not_before=NOW,
    )
    leaf.verify_issued_by(ca)
    assert "2.5.4.97=11330100MB01234570" in leaf.subject


def test_builders_refuse_bad_input() -> None:
    key = _hierarchy("ed25519").root_key
    with pytest.raises(InputError, match="timezone"):
        make_root(key, "root", not_before=datetime(2026, 1, 1))
    with pytest.raises(InputError):
        make_root(key, "root", not_before=NOW, days=0)
    with pytest.raises(InputError):
        make_root(key, "", not_before=NOW)
    with pytest.raises(InputError):
        make_root(key, "root", country="China", not_before=NOW)
    h = _hierarchy("ed25519")
    with pytest.raises(InvalidKey):  # the issuer key must be the issuer certificate's
        make_issuer_certificate(h.issuer_key, h.root_cert, key.public_key(), "x", not_before=NOW)


def test_dates_after_2049_use_generalized_time() -> None:
    cert = make_root(
        _hierarchy("ed25519").root_key, "root", not_before=datetime(2049, 6, 1, tzinfo=UTC), days=400
    )
    assert cert.not_after.year == 2050
    validity = asn1_x509.Certificate.load(cert.der)["tbs_certificate"]["validity"]
    assert validity["not_before"].name == "utc_time" and validity["not_after"].name == "general_time"


@pytest.mark.parametrize("kind", KINDS)
def test_signer(kind: str) -> None:
    h = _hierarchy(kind)
    signer = Signer(h.issuer_key, h.issuer_cert, (h.root_cert,))
    assert signer.algorithm is h.issuer_key.default_algorithm
    signer.certificate.public_key.verify(signer.sign(b"data"), b"data")
    with pytest.raises(InvalidKey, match="does not belong"):
        Signer(h.root_key, h.issuer_cert)


def test_signer_load(tmp_path: Path) -> None:
    h = _hierarchy("sm2")
    (tmp_path / "k.pem").write_bytes(save_private_key(h.issuer_key, b"pw"))
    (tmp_path / "c.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    signer = Signer.load(tmp_path / "k.pem", tmp_path / "c.pem", b"pw")
    assert signer.certificate == h.issuer_cert and signer.chain == (h.root_cert,)
    with pytest.raises(InputError):
        Signer.load(tmp_path / "missing.pem", tmp_path / "c.pem")
    (tmp_path / "empty.pem").write_bytes(h.issuer_key.public_key().spki_der())
    with pytest.raises(InputError):
        Signer.load(tmp_path / "k.pem", tmp_path / "empty.pem", b"pw")
