"""``ecert keygen``, ``ecert cert root|issuer|show``, ``ecert crypto sign|verify``: flows and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecert.cli import main
from ecert.crypto.algorithms import KeyKind
from ecert.crypto.keys import load_private_key, save_public_key
from ecert.crypto.x509 import load_certificates


@pytest.mark.parametrize("alg", ["sm2", "p256", "ed25519"])
def test_keygen_cert_sign_verify(tmp_path: Path, alg: str, capsys: pytest.CaptureFixture[str]) -> None:
    root_key, key, root, cert = (tmp_path / n for n in ("root.key", "k.pem", "root.pem", "cert.pem"))
    assert main(["keygen", "--alg", alg, "-o", str(root_key)]) == 0
    assert main(["keygen", "--alg", alg, "-o", str(key)]) == 0
    assert load_private_key(key.read_bytes()).kind is KeyKind.parse(alg)
    assert main(["cert", "root", "--key", str(root_key), "--cn", "某市电子证照根证书", "-o", str(root)]) == 0
    args = ["cert", "issuer", "--ca-key", str(root_key), "--ca-cert", str(root), "--key", str(key)]
    assert main([*args, "--cn", "某市市场监督管理局", "--org-id", "11330100MB01234570", "-o", str(cert)]) == 0
    issued, ca = load_certificates(cert.read_bytes())
    issued.verify_issued_by(ca)
    assert issued.common_name == "某市市场监督管理局"
    capsys.readouterr()
    assert main(["cert", "show", str(cert)]) == 0
    shown = capsys.readouterr().out
    assert "某市市场监督管理局" in shown and "digital_signature" in shown

    data, sig = tmp_path / "data.xml", tmp_path / "sig.der"
    data.write_bytes(b"<Signature/>")
    assert main(["crypto", "sign", "--key", str(key), str(data), "-o", str(sig)]) == 0
    assert main(["crypto", "verify", "--cert", str(cert), str(data), str(sig)]) == 0
    pub = tmp_path / "pub.pem"
    pub.write_bytes(save_public_key(load_private_key(key.read_bytes()).public_key()))
    assert main(["crypto", "verify", "--pubkey", str(pub), str(data), str(sig)]) == 0
    data.write_bytes(b"<Signature>changed</Signature>")
    assert main(["crypto", "verify", "--cert", str(cert), str(data), str(sig)]) == 1
    sig.write_bytes(b"garbage")
    assert main(["crypto", "verify", "--pubkey", str(pub), str(data), str(sig)]) == 1


def test_sm2_user_id_option(tmp_path: Path) -> None:
    key, pub, data, sig = (tmp_path / n for n in ("k.pem", "pub.pem", "d", "s"))
    data.write_bytes(b"data")
    assert main(["keygen", "-o", str(key)]) == 0  # sm2 is the default
    pub.write_bytes(save_public_key(load_private_key(key.read_bytes()).public_key()))
    assert (
        main(["crypto", "sign", "--key", str(key), "--id", "ALICE123@YAHOO.COM", str(data), "-o", str(sig)])
        == 0
    )
    assert main(["crypto", "verify", "--pubkey", str(pub), str(data), str(sig)]) == 1
    assert (
        main(["crypto", "verify", "--pubkey", str(pub), "--id", "ALICE123@YAHOO.COM", str(data), str(sig)])
        == 0
    )


def test_encrypted_key_with_password_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, password, root = tmp_path / "k.pem", tmp_path / "pw.txt", tmp_path / "root.pem"
    password.write_bytes(b"s3cret\n")
    assert main(["keygen", "--alg", "sm2", "-o", str(key), "--password-file", str(password)]) == 0
    assert key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY")
    assert load_private_key(key.read_bytes(), b"s3cret").kind is KeyKind.SM2
    args = ["cert", "root", "--key", str(key), "--cn", "root", "-o", str(root)]
    assert main([*args, "--password-file", str(password)]) == 0
    capsys.readouterr()
    assert main(args) == 2  # no password: a readable error, exit 2
    assert "password" in capsys.readouterr().err


def test_unreadable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    data = tmp_path / "d"
    data.write_bytes(b"x")
    assert main(["crypto", "sign", "--key", str(missing), str(data), "-o", str(tmp_path / "s")]) == 2
    assert main(["crypto", "verify", "--cert", str(garbage), str(data), str(data)]) == 2
    assert main(["crypto", "verify", "--pubkey", str(garbage), str(data), str(data)]) == 2
    assert main(["cert", "show", str(garbage)]) == 2
    assert "ecert: error:" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["keygen", "--alg", "dsa", "-o", "x"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["crypto", "verify", "file", "sig"])  # neither --cert nor --pubkey
    assert exc.value.code == 2


@pytest.mark.parametrize(
    "command",
    [
        ["keygen"],
        ["cert"],
        ["cert", "root"],
        ["cert", "issuer"],
        ["cert", "show"],
        ["crypto"],
        ["crypto", "sign"],
        ["crypto", "verify"],
    ],
)
def test_help_has_an_example(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and "ecert " + command[0] in out
