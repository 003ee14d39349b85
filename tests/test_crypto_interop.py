"""Keys, certificates, CMS and trust against system OpenSSL and the ofdrw interop certificate.

Skipped (with the reason) only when the openssl command is absent or lacks SM2.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.cli import main
from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.cms import sign_cms, verify_cms
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.keys import (
    generate_private_key,
    load_private_key,
    load_public_key,
    save_private_key,
    save_public_key,
)
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import load_certificate
from ecert.errors import EcertError, InvalidKey, InvalidSignature, UnsupportedAlgorithm

from .thirdparty import OFDRW

OPENSSL = shutil.which("openssl")
INTEROP = OFDRW


def _openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], input=stdin, capture_output=True, timeout=60, check=False)


def _has_sm2() -> bool:
    return OPENSSL is not None and _openssl("list", "-public-key-algorithms").stdout.find(b"SM2") >= 0


needs_openssl = pytest.mark.skipif(not _has_sm2(), reason="system openssl with SM2 support is not installed")


@needs_openssl
def test_openssl_sm2_keys_load_and_sign(tmp_path: Path) -> None:
    pkcs8, sec1, enc = tmp_path / "k.pem", tmp_path / "sec1.pem", tmp_path / "enc.pem"
    assert _openssl("genpkey", "-algorithm", "SM2", "-out", str(pkcs8)).returncode == 0
    assert _openssl("ecparam", "-name", "SM2", "-genkey", "-noout", "-out", str(sec1)).returncode == 0
    assert (
        _openssl(
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            str(pkcs8),
            "-out",
            str(enc),
            "-passout",
            "pass:secret",
        ).returncode
        == 0
    )
    key = load_private_key(pkcs8.read_bytes())
    assert load_private_key(sec1.read_bytes()).kind.value == "sm2"
    assert (
        load_private_key(enc.read_bytes(), b"secret").public_key().spki_der() == key.public_key().spki_der()
    )
    with pytest.raises(InvalidKey, match="password"):
        load_private_key(enc.read_bytes(), b"wrong")
    with pytest.raises(InvalidKey, match="encrypted"):
        load_private_key(enc.read_bytes())
    # OpenSSL signs, we verify; we sign, OpenSSL verifies (explicit distid: OpenSSL's default is empty)
    data = tmp_path / "data"
    data.write_bytes(b"<ofd:Signature>...</ofd:Signature>")
    sig = tmp_path / "sig.der"
    assert (
        _openssl(
            "pkeyutl",
            "-sign",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-inkey",
            str(pkcs8),
            "-in",
            str(data),
            "-out",
            str(sig),
        ).returncode
        == 0
    )
    key.public_key().verify(sig.read_bytes(), data.read_bytes())
    sig.write_bytes(key.sign(data.read_bytes()))
    pub = tmp_path / "pub.pem"
    pub.write_bytes(save_public_key(key.public_key()))
    assert (
        _openssl(
            "pkeyutl",
            "-verify",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-pubin",
            "-inkey",
            str(pub),
            "-in",
            str(data),
            "-sigfile",
            str(sig),
        ).returncode
        == 0
    )


@needs_openssl
@pytest.mark.parametrize("kind", ["sm2", "p256", "ed25519"])
def test_our_keys_load_in_openssl(kind: str, tmp_path: Path) -> None:
    key = generate_private_key(kind)
    plain, enc = tmp_path / "k.pem", tmp_path / "e.pem"
    plain.write_bytes(save_private_key(key))
    enc.write_bytes(save_private_key(key, b"pw"))
    assert _openssl("pkey", "-in", str(plain), "-noout").returncode == 0
    assert _openssl("pkey", "-in", str(enc), "-passin", "pass:pw", "-noout").returncode == 0
    assert load_public_key(save_public_key(key.public_key())).spki_der() == key.public_key().spki_der()


@needs_openssl
def test_openssl_sm2_certificate_verifies_with_ours(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    _openssl("genpkey", "-algorithm", "SM2", "-out", str(key))
    for extra in ([], ["-sigopt", "distid:1234567812345678"]):
        cert = tmp_path / "c.pem"
        r = _openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            str(key),
            "-sm3",
            *extra,
            "-subj",
            "/CN=test",
            "-days",
            "30",
            "-out",
            str(cert),
        )
        assert r.returncode == 0, r.stderr
        c = load_certificate(cert.read_bytes())
        c.verify_issued_by(c)  # default ID, or the empty ID OpenSSL 3.0 uses without distid
        assert c.public_key.kind.value == "sm2"


@needs_openssl
@pytest.mark.parametrize("kind", ["sm2", "p256"])
def test_openssl_verifies_our_hierarchy(kind: str, tmp_path: Path) -> None:
    h = DemoHierarchy.create(kind)
    root, leaf = tmp_path / "root.pem", tmp_path / "leaf.pem"
    root.write_bytes(h.root_cert.to_pem())
    leaf.write_bytes(h.issuer_cert.to_pem())
    opts = ["-vfyopt", "distid:1234567812345678"] if kind == "sm2" else []
    r = _openssl("verify", *opts, "-CAfile", str(root), str(leaf))
    assert r.returncode == 0, r.stderr


@needs_openssl
def test_openssl_verifies_our_p256_cms_and_we_verify_its(tmp_path: Path) -> None:
    h = DemoHierarchy.create("p256")
    data = b"Signature.xml bytes"
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "root.pem").write_bytes(h.root_cert.to_pem())
    (tmp_path / "ours.der").write_bytes(sign_cms(data, Signer(h.issuer_key, h.issuer_cert)))
    r = _openssl(
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "ours.der"),
        "-content",
        str(tmp_path / "data"),
        "-CAfile",
        str(tmp_path / "root.pem"),
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    )
    assert r.returncode == 0, r.stderr
    (tmp_path / "key.pem").write_bytes(save_private_key(h.issuer_key))
    (tmp_path / "cert.pem").write_bytes(h.issuer_cert.to_pem())
    r = _openssl(
        "cms",
        "-sign",
        "-binary",
        "-md",
        "sha256",
        "-signer",
        str(tmp_path / "cert.pem"),
        "-inkey",
        str(tmp_path / "key.pem"),
        "-in",
        str(tmp_path / "data"),
        "-outform",
        "DER",
        "-out",
        str(tmp_path / "theirs.der"),
    )
    assert r.returncode == 0, r.stderr
    result = verify_cms((tmp_path / "theirs.der").read_bytes(), data)
    assert result.signer_certificate.der == h.issuer_cert.der
    with pytest.raises(InvalidSignature):
        verify_cms((tmp_path / "theirs.der").read_bytes(), data + b"x")


@pytest.mark.parametrize("kind", ["sm2", "p256", "ed25519"])
def test_cms_round_trip_and_tampering(kind: str) -> None:
    h = DemoHierarchy.create(kind)
    der = sign_cms(b"data", Signer(h.issuer_key, h.issuer_cert))
    assert verify_cms(der, b"data").signer_certificate.der == h.issuer_cert.der
    with pytest.raises(InvalidSignature):
        verify_cms(der, b"datA")
    trust = TrustStore.from_certificates(h.root_cert)
    now = datetime.now(UTC)
    for i in range(0, len(der), 7):
        mutated = bytearray(der)
        mutated[i] ^= 0x80
        try:
            result = verify_cms(bytes(mutated), b"data")
        except EcertError:
            continue
        # a byte inside the carried certificate may leave the CMS signature intact: the path fails then
        assert not trust.validate(result.signer_certificate, at=now).ok, f"byte {i}"


def test_ofdrw_certificate_and_signature() -> None:
    cert = load_certificate((INTEROP / "user_cert.pem").read_bytes())
    assert cert.not_before == datetime(2020, 4, 21, 14, 39, 8, tzinfo=UTC)
    with zipfile.ZipFile(INTEROP / "DigitalSign.ofd") as z:
        sig, data = z.read("Doc_0/Signs/Sign_0/SignedValue.dat"), z.read("Doc_0/Signs/Sign_0/Signature.xml")
    cert.public_key.verify(sig, data, SignatureAlgorithm.SM2_SM3)
    trust = TrustStore.from_certificates(cert)
    assert trust.validate(cert, at=datetime(2020, 6, 1, tzinfo=UTC)).ok
    late = trust.validate(cert, at=datetime(2023, 1, 1, tzinfo=UTC))
    assert not late.ok and late.failed_step is not None and late.failed_step.name == "validity"


def test_trust_steps_name_the_failure() -> None:
    h, other = DemoHierarchy.create("sm2"), DemoHierarchy.create("sm2")
    now = datetime.now(UTC)
    assert TrustStore.from_certificates(h.root_cert).validate(h.issuer_cert, at=now).ok
    wrong = TrustStore.from_certificates(other.root_cert).validate(h.issuer_cert, at=now)
    assert not wrong.ok and wrong.failed_step is not None and wrong.failed_step.name in {"build", "signature"}
    assert TrustStore.empty().validate(h.issuer_cert, at=now).failed_step.name == "build"  # type: ignore[union-attr]
    old = TrustStore.from_certificates(h.root_cert).validate(
        h.issuer_cert, at=datetime(2000, 1, 1, tzinfo=UTC)
    )
    assert old.failed_step is not None and old.failed_step.name == "validity"
    # a leaf used as a CA: its "children" fail the CA step
    from ecert.crypto.hierarchy import make_issuer_certificate

    grandchild = make_issuer_certificate(
        h.issuer_key, h.issuer_cert, generate_private_key("sm2").public_key(), "x", not_before=now
    )
    bad = TrustStore.from_certificates(h.root_cert).validate(
        grandchild, at=now, intermediates=[h.issuer_cert]
    )
    assert bad.failed_step is not None and bad.failed_step.name == "ca"


def test_algorithms_refuse_weak_and_mismatched() -> None:
    with pytest.raises(UnsupportedAlgorithm, match="weak"):
        SignatureAlgorithm.from_oid("1.2.840.113549.1.1.5")
    with pytest.raises(UnsupportedAlgorithm):
        SignatureAlgorithm.from_oid("1.2.3.4")
    key = generate_private_key("sm2")
    with pytest.raises(UnsupportedAlgorithm):
        key.public_key().verify(key.sign(b"x"), b"x", SignatureAlgorithm.ECDSA_SHA256)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_keys_and_certificates(data: bytes) -> None:
    for fn in (load_private_key, load_public_key, load_certificate):
        with contextlib.suppress(EcertError):
            fn(data)


def test_truncated_key_and_certificate_at_every_length() -> None:
    h = DemoHierarchy.create("sm2")
    from asn1crypto import pem

    key_der = pem.unarmor(save_private_key(h.issuer_key))[2]
    for blob, fn in ((h.issuer_cert.der, load_certificate), (key_der, load_private_key)):
        for cut in range(len(blob)):
            with pytest.raises(EcertError):
                fn(blob[:cut])


def test_cli_keygen_cert_sign_verify(tmp_path: Path) -> None:
    k, rk = tmp_path / "k.pem", tmp_path / "rk.pem"
    assert main(["keygen", "--alg", "sm2", "-o", str(k)]) == 0
    assert main(["keygen", "--alg", "sm2", "-o", str(rk)]) == 0
    assert main(["cert", "root", "--key", str(rk), "--cn", "根", "-o", str(tmp_path / "root.pem")]) == 0
    assert (
        main(
            [
                "cert",
                "issuer",
                "--ca-key",
                str(rk),
                "--ca-cert",
                str(tmp_path / "root.pem"),
                "--key",
                str(k),
                "--cn",
                "某局",
                "--org-id",
                "11330100MB01234570",
                "-o",
                str(tmp_path / "c.pem"),
            ]
        )
        == 0
    )
    assert main(["cert", "show", str(tmp_path / "c.pem")]) == 0
    f = tmp_path / "f"
    f.write_bytes(b"hello")
    assert main(["crypto", "sign", "--key", str(k), str(f), "-o", str(tmp_path / "s.der")]) == 0
    assert main(["crypto", "verify", "--cert", str(tmp_path / "c.pem"), str(f), str(tmp_path / "s.der")]) == 0
    f.write_bytes(b"hellO")
    assert main(["crypto", "verify", "--cert", str(tmp_path / "c.pem"), str(f), str(tmp_path / "s.der")]) == 1
    assert (
        main(["crypto", "verify", "--cert", str(tmp_path / "missing.pem"), str(f), str(tmp_path / "s.der")])
        == 2
    )


@needs_openssl
@pytest.mark.parametrize("alg", [("SM2",), ("EC", "-pkeyopt", "ec_paramgen_curve:P-256")])
def test_openssl_pkcs12_loads(alg: tuple[str, ...], tmp_path: Path) -> None:
    from ecert.crypto.keys import load_pkcs12

    key, cert, p12 = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "f.p12"
    assert _openssl("genpkey", "-algorithm", *alg, "-out", str(key)).returncode == 0
    assert (
        _openssl(
            "req", "-x509", "-new", "-key", str(key), "-subj", "/CN=p12", "-days", "3", "-out", str(cert)
        ).returncode
        == 0
    )
    assert (
        _openssl(
            "pkcs12", "-export", "-inkey", str(key), "-in", str(cert), "-out", str(p12), "-passout", "pass:pw"
        ).returncode
        == 0
    )
    loaded, mine, chain = load_pkcs12(p12.read_bytes(), b"pw")
    assert mine is not None and mine.der == load_certificate(cert.read_bytes()).der and chain == ()
    assert loaded.public_key().spki_der() == mine.public_key.spki_der()
    with pytest.raises(InvalidKey, match="password"):
        load_pkcs12(p12.read_bytes(), b"nope")
    with pytest.raises(EcertError):
        load_pkcs12(p12.read_bytes()[:-40], b"pw")
