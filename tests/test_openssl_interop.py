"""Keys, certificates and signatures exchanged with system OpenSSL, both ways.

Fixed vectors made by OpenSSL 3.0.19 (``spec/vectors/keys/``, commands in its README) run
everywhere; the live tests call ``openssl`` and are skipped, with the reason, only when the
command is absent or lacks SM2.

What OpenSSL 3.0.19 showed (and these tests pin down where it is stable):

* ``openssl req -x509 -sm3`` signs with the EMPTY SM2 user ID unless given
  ``-sigopt distid:1234567812345678``; ``pkeyutl -sign -rawin -digest sm3`` likewise without
  ``-pkeyopt distid:``.  ``Certificate.verify_issued_by`` accepts both by default for that reason.
* ``openssl verify`` checks SM2 certificate signatures with the EMPTY ID too: our SM2 hierarchy
  (signed with the default ID, as GM/T 0015 asks) verifies with
  ``openssl verify -vfyopt distid:1234567812345678 -CAfile root.pem issuer.pem`` and fails
  without ``-vfyopt``.  ``-check_ss_sig`` checks the root's self-signature with the empty ID
  whatever ``-vfyopt`` says, so it fails on our SM2 roots (and passes on OpenSSL-made roots
  signed without ``-sigopt distid:``).  P-256 and Ed25519 hierarchies verify with or without
  ``-check_ss_sig``; ``-vfyopt distid:`` must not be given for them (it is an error there).
* ``openssl pkcs12 -export`` uses PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for both bags.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecert.cli import main
from ecert.crypto.algorithms import KeyKind
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.keys import (
    generate_private_key,
    load_pkcs12,
    load_private_key,
    load_public_key,
    save_private_key,
    save_public_key,
)
from ecert.crypto.x509 import load_certificate
from ecert.errors import InvalidKey, InvalidSignature, UnsupportedAlgorithm

VECTORS = Path(__file__).resolve().parents[1] / "src" / "ecert" / "spec" / "vectors" / "keys"
PASSWORD = b"ecert-test"
OPENSSL = shutil.which("openssl")


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, timeout=60, check=False)


def _has_sm2() -> bool:
    return OPENSSL is not None and b"SM2" in _openssl("list", "-public-key-algorithms").stdout


needs_openssl = pytest.mark.skipif(not _has_sm2(), reason="no system `openssl` with SM2 support")


def _read(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


# --- fixed vectors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("sm2_pkcs8.pem", None),
        ("sm2_sec1.pem", None),  # "SM2 PRIVATE KEY", as `openssl ec` writes it
        ("sm2_pkcs8_aes256.pem", PASSWORD),
        ("sm2_pkcs8_sm4.pem", PASSWORD),
    ],
)
def test_openssl_sm2_key_vectors(name: str, password: bytes | None) -> None:
    key = load_private_key(_read(name), password)
    assert key.kind is KeyKind.SM2
    assert key.public_key() == load_public_key(_read("sm2_public.pem"))


def test_sec1_labelled_ec_private_key_as_gmssl_writes() -> None:
    data = _read("sm2_sec1.pem").replace(b"SM2 PRIVATE KEY", b"EC PRIVATE KEY")
    assert load_private_key(data).public_key() == load_public_key(_read("sm2_public.pem"))


@pytest.mark.parametrize("name", ["sm2_pkcs8_aes256.pem", "sm2_pkcs8_sm4.pem"])
def test_openssl_encrypted_wrong_password(name: str) -> None:
    with pytest.raises(InvalidKey, match="wrong password"):
        load_private_key(_read(name), b"not-it")


def test_openssl_signature_vectors() -> None:
    message = _read("message.txt")
    sm2 = load_public_key(_read("sm2_public.pem"))
    sm2.verify(_read("sm2_message.sig"), message)  # pkeyutl with distid:1234567812345678
    with pytest.raises(InvalidSignature):
        sm2.verify(_read("sm2_message.sig"), message, uid=b"")
    p256 = load_private_key(_read("p256_pkcs8.pem")).public_key()
    p256.verify(_read("p256_message.sig"), message)


@pytest.mark.parametrize(("name", "kind"), [("sm2.p12", KeyKind.SM2), ("p256.p12", KeyKind.P256)])
def test_openssl_pkcs12_vectors(name: str, kind: KeyKind) -> None:
    key, cert, others = load_pkcs12(_read(name), PASSWORD)
    assert key.kind is kind and cert is not None and others == ()
    assert cert.public_key == key.public_key()
    cert.public_key.verify(key.sign(b"x"), b"x")
    with pytest.raises(InvalidKey, match="password"):
        load_pkcs12(_read(name), b"not-it")


def test_openssl_certificate_vectors_sm2_ids() -> None:
    key = load_public_key(_read("sm2_public.pem"))
    for name in ("sm2_selfsigned_distid.pem", "sm2_selfsigned_emptyid.pem"):
        cert = load_certificate(_read(name))
        assert cert.public_key == key and cert.subject == "CN=test"
        cert.verify_issued_by(cert)
    strict = load_certificate(_read("sm2_selfsigned_distid.pem"))
    strict.verify_issued_by(strict, accept_empty_sm2_id=False)
    empty = load_certificate(_read("sm2_selfsigned_emptyid.pem"))
    with pytest.raises(InvalidSignature):
        empty.verify_issued_by(empty, accept_empty_sm2_id=False)


# --- live OpenSSL: their keys and certificates in ecert ---------------------------------------


@needs_openssl
def test_live_openssl_keys(tmp_path: Path) -> None:
    pkcs8, sec1, enc = tmp_path / "k.pem", tmp_path / "sec1.pem", tmp_path / "enc.pem"
    assert _openssl("genpkey", "-algorithm", "SM2", "-out", pkcs8).returncode == 0
    assert _openssl("ecparam", "-name", "SM2", "-genkey", "-noout", "-out", sec1).returncode == 0
    topk8 = _openssl(
        "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", pkcs8, "-passout", "pass:pw", "-out", enc
    )
    assert topk8.returncode == 0
    key = load_private_key(pkcs8.read_bytes())
    assert load_private_key(enc.read_bytes(), b"pw").public_key() == key.public_key()
    assert load_private_key(sec1.read_bytes()).kind is KeyKind.SM2
    pub = _openssl("pkey", "-in", pkcs8, "-pubout").stdout
    assert load_public_key(pub) == key.public_key()


@needs_openssl
@pytest.mark.parametrize("distid", [True, False])
def test_live_openssl_self_signed_sm2(tmp_path: Path, distid: bool) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    assert _openssl("genpkey", "-algorithm", "SM2", "-out", key).returncode == 0
    extra = ["-sigopt", "distid:1234567812345678"] if distid else []
    args: list[str | Path] = [
        "req",
        "-x509",
        "-new",
        "-key",
        key,
        "-sm3",
        *extra,
        "-subj",
        "/CN=test",
        "-days",
        "30",
        "-out",
        cert,
    ]
    assert _openssl(*args).returncode == 0
    parsed = load_certificate(cert.read_bytes())
    assert parsed.public_key == load_private_key(key.read_bytes()).public_key()
    parsed.verify_issued_by(parsed)
    if distid:
        parsed.verify_issued_by(parsed, accept_empty_sm2_id=False)
    else:  # OpenSSL 3.0 signed with the empty ID
        with pytest.raises(InvalidSignature):
            parsed.verify_issued_by(parsed, accept_empty_sm2_id=False)


# --- live OpenSSL: our keys, certificates and signatures in OpenSSL ----------------------------


@needs_openssl
@pytest.mark.parametrize("kind", ["sm2", "p256", "ed25519"])
def test_our_keys_in_openssl(tmp_path: Path, kind: str) -> None:
    key = generate_private_key(kind)
    plain, enc, pub = tmp_path / "k.pem", tmp_path / "enc.pem", tmp_path / "pub.pem"
    plain.write_bytes(save_private_key(key))
    enc.write_bytes(save_private_key(key, b"secret"))
    pub.write_bytes(save_public_key(key.public_key()))
    theirs = _openssl("pkey", "-in", plain, "-pubout", "-outform", "DER")
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout == key.public_key().spki_der()
    decrypted = _openssl("pkey", "-in", enc, "-passin", "pass:secret", "-pubout", "-outform", "DER")
    assert decrypted.returncode == 0, decrypted.stderr
    assert decrypted.stdout == key.public_key().spki_der()
    assert _openssl("pkey", "-in", enc, "-passin", "pass:wrong", "-noout").returncode != 0
    assert _openssl("pkey", "-pubin", "-in", pub, "-noout").returncode == 0


@needs_openssl
@pytest.mark.parametrize("kind", ["sm2", "p256", "ed25519"])
def test_our_hierarchy_in_openssl(tmp_path: Path, kind: str) -> None:
    h = DemoHierarchy.create(kind, now=datetime.now(UTC))
    root, issuer = tmp_path / "root.pem", tmp_path / "issuer.pem"
    root.write_bytes(h.root_cert.to_pem())
    issuer.write_bytes(h.issuer_cert.to_pem())
    text = _openssl("x509", "-in", issuer, "-noout", "-text")
    assert text.returncode == 0, text.stderr
    assert b"Digital Signature, Non Repudiation" in text.stdout
    distid = ["-vfyopt", "distid:1234567812345678"] if kind == "sm2" else []
    verified = _openssl("verify", *distid, "-CAfile", root, issuer)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    if kind != "sm2":  # see the module docstring for SM2 roots and -check_ss_sig
        assert _openssl("verify", "-check_ss_sig", "-CAfile", root, issuer).returncode == 0


@needs_openssl
def test_openssl_refuses_our_tampered_certificate(tmp_path: Path) -> None:
    h = DemoHierarchy.create("sm2", now=datetime.now(UTC))
    other = DemoHierarchy.create("sm2", now=datetime.now(UTC))
    root, issuer = tmp_path / "root.pem", tmp_path / "issuer.pem"
    root.write_bytes(h.root_cert.to_pem())  # same subject name as other's root, different key
    issuer.write_bytes(other.issuer_cert.to_pem())
    distid = ("-vfyopt", "distid:1234567812345678")
    assert _openssl("verify", *distid, "-CAfile", root, issuer).returncode != 0


@needs_openssl
def test_cli_sm2_signature_verifies_in_openssl(tmp_path: Path) -> None:
    key, pub, data, sig = (tmp_path / n for n in ("k.pem", "pub.pem", "data.xml", "sig.der"))
    data.write_bytes("<Signature>电子证照</Signature>".encode())
    assert main(["keygen", "--alg", "sm2", "-o", str(key)]) == 0
    pub.write_bytes(save_public_key(load_private_key(key.read_bytes()).public_key()))
    assert main(["crypto", "sign", "--key", str(key), str(data), "-o", str(sig)]) == 0
    args: list[str | Path] = ["pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", pub]
    ok = _openssl(*args, "-pkeyopt", "distid:1234567812345678", "-in", data, "-sigfile", sig)
    assert ok.returncode == 0 and b"Signature Verified Successfully" in ok.stdout, ok.stderr
    assert _openssl(*args, "-in", data, "-sigfile", sig).returncode != 0  # empty ID: no match


@needs_openssl
def test_cli_p256_signature_verifies_in_openssl(tmp_path: Path) -> None:
    key, pub, data, sig = (tmp_path / n for n in ("k.pem", "pub.pem", "data.bin", "sig.der"))
    data.write_bytes(b"payload" * 100)
    assert main(["keygen", "--alg", "p256", "-o", str(key)]) == 0
    pub.write_bytes(save_public_key(load_private_key(key.read_bytes()).public_key()))
    assert main(["crypto", "sign", "--key", str(key), str(data), "-o", str(sig)]) == 0
    ok = _openssl("dgst", "-sha256", "-verify", pub, "-signature", sig, data)
    assert ok.returncode == 0 and b"Verified OK" in ok.stdout, ok.stderr


@needs_openssl
def test_openssl_sm2_signature_verifies_in_cli(tmp_path: Path) -> None:
    key, pub, data, sig, sig_empty = (
        tmp_path / n for n in ("k.pem", "pub.pem", "data.bin", "sig.der", "sig0.der")
    )
    data.write_bytes(b"OFD signature bytes")
    assert _openssl("genpkey", "-algorithm", "SM2", "-out", key).returncode == 0
    assert _openssl("pkey", "-in", key, "-pubout", "-out", pub).returncode == 0
    base: list[str | Path] = ["pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", key, "-in", data]
    assert _openssl(*base, "-pkeyopt", "distid:1234567812345678", "-out", sig).returncode == 0
    assert _openssl(*base, "-out", sig_empty).returncode == 0
    assert main(["crypto", "verify", "--pubkey", str(pub), str(data), str(sig)]) == 0
    assert main(["crypto", "verify", "--pubkey", str(pub), str(data), str(sig_empty)]) == 1
    assert main(["crypto", "verify", "--pubkey", str(pub), "--id", "", str(data), str(sig_empty)]) == 0


@needs_openssl
def test_legacy_sm2_pkcs12_refused_clearly(tmp_path: Path) -> None:
    p12 = tmp_path / "legacy.p12"
    made = _openssl(
        "pkcs12", "-export", "-inkey", VECTORS / "sm2_pkcs8.pem",
        "-in", VECTORS / "sm2_selfsigned_distid.pem",
        "-passout", "pass:pw", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1",
        "-out", p12,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"this openssl cannot write 3DES PKCS#12: {made.stderr[-200:]!r}")
    with pytest.raises(UnsupportedAlgorithm, match="AES-256-CBC"):
        load_pkcs12(p12.read_bytes(), b"pw")
    with pytest.raises(InvalidKey, match="wrong password"):
        load_pkcs12(p12.read_bytes(), b"not-it")
