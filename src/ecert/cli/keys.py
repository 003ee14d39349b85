"""``ecert keygen``, ``ecert cert``, ``ecert crypto sign|verify``: keys, certificates, raw signatures."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ecert.cli import EXIT_INVALID, EXIT_OK

if TYPE_CHECKING:
    from ecert.crypto.keys import PrivateKey

EPILOG_KEYGEN = """examples:
  ecert keygen --alg sm2 -o issuer.key.pem
  ecert keygen --alg p256 -o p256.key.pem --password-file pass.txt

Keys are PEM PKCS#8 (encrypted: PBES2, PBKDF2-HMAC-SHA256 + AES-256-CBC); `openssl pkey` reads them.
An existing file is not overwritten unless --force is given (a lost private key cannot be recovered).
The public key: openssl pkey -in issuer.key.pem -pubout -out issuer.pub.pem"""
EPILOG_ROOT = """example:
  ecert cert root --key root.key.pem --cn "某市电子证照根证书" --org "某市人民政府" -o root.pem"""
EPILOG_ISSUER = """example:
  ecert cert issuer --ca-key root.key.pem --ca-cert root.pem --key issuer.key.pem \\
      --cn "某市市场监督管理局" --org-id 11330100MB01234570 -o issuer.pem

The output holds the new certificate followed by the CA certificate (the chain)."""
EPILOG_SHOW = """example:
  ecert cert show issuer.pem"""
EPILOG_SIGN = """example:
  ecert crypto sign --key issuer.key.pem Signature.xml -o SignedValue.dat

SM2 keys sign SM2-with-SM3 (user ID 1234567812345678 unless --id), P-256 keys ECDSA-SHA256,
Ed25519 keys Ed25519; signatures are DER (Ed25519: 64 bytes)."""
EPILOG_VERIFY = """examples:
  ecert crypto verify --cert issuer.pem Signature.xml SignedValue.dat
  ecert crypto verify --pubkey issuer.pub.pem --id 1234567812345678 data.bin data.sig

A public key file comes from the private key: openssl pkey -in issuer.key.pem -pubout -out issuer.pub.pem
exit status: 0 valid, 1 invalid, 2 usage error or unreadable input"""
EPILOG_CERT = """examples:
  ecert cert root --key root.key.pem --cn "某市电子证照根证书" -o root.pem
  ecert cert issuer --ca-key root.key.pem --ca-cert root.pem --key issuer.key.pem \\
      --cn "某市市场监督管理局" --org-id 11330100MB01234570 -o issuer.pem
  ecert cert show issuer.pem"""
EPILOG_CRYPTO = """examples:
  ecert crypto sign --key issuer.key.pem Signature.xml -o SignedValue.dat
  ecert crypto verify --cert issuer.pem Signature.xml SignedValue.dat

SM2 keys sign SM2-with-SM3 (user ID 1234567812345678 unless --id), P-256 keys ECDSA-SHA256,
Ed25519 keys Ed25519; signatures are DER (Ed25519: 64 bytes).
exit status: 0 valid, 1 invalid, 2 usage error or unreadable input"""


_RAW = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keygen", help="generate a private key", epilog=EPILOG_KEYGEN, formatter_class=_RAW)
    p.add_argument("--alg", choices=("sm2", "p256", "ed25519"), default="sm2", help="key kind (default sm2)")
    p.add_argument(
        "-o", "--out", required=True, type=Path, metavar="KEY.pem", help="where to write the PEM private key"
    )
    p.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="encrypt the key (PBES2, AES-256) with the password this file holds",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=_keygen)

    c = sub.add_parser(
        "cert", help="make demo root and department certificates", epilog=EPILOG_CERT, formatter_class=_RAW
    )
    cs = c.add_subparsers(dest="cert_command", metavar="ACTION", required=True)
    r = cs.add_parser("root", help="a self-signed root certificate", epilog=EPILOG_ROOT, formatter_class=_RAW)
    r.add_argument(
        "--key", required=True, type=Path, metavar="KEY.pem", help="the root's private key (PEM or DER)"
    )
    r.add_argument("--password-file", type=Path, metavar="FILE", help="password of an encrypted key")
    r.add_argument("--cn", required=True, metavar="NAME", help="common name (CN) of the root")
    r.add_argument("--org", metavar="NAME", help="organisation (O), e.g. the people's government")
    r.add_argument("--days", type=int, default=3650, metavar="N", help="validity in days (default 3650)")
    r.add_argument(
        "-o", "--out", required=True, type=Path, metavar="CERT.pem", help="where to write it (PEM)"
    )
    r.set_defaults(handler=_root)
    i = cs.add_parser(
        "issuer",
        help="a department signing certificate issued by a CA key",
        epilog=EPILOG_ISSUER,
        formatter_class=_RAW,
    )
    i.add_argument("--ca-key", required=True, type=Path, metavar="KEY.pem", help="the CA's private key")
    i.add_argument("--password-file", type=Path, metavar="FILE", help="password of an encrypted CA key")
    i.add_argument("--ca-cert", required=True, type=Path, metavar="CERT.pem", help="the CA's certificate")
    i.add_argument(
        "--key",
        required=True,
        type=Path,
        metavar="KEY.pem",
        help="the department's key (its public half is certified)",
    )
    i.add_argument("--cn", required=True, metavar="NAME", help="common name (CN): the department's name")
    i.add_argument("--org", metavar="NAME", help="organisation (O)")
    i.add_argument(
        "--org-id", metavar="USCC", help="the department's 统一社会信用代码 (organizationIdentifier)"
    )
    i.add_argument("--days", type=int, default=1825, metavar="N", help="validity in days (default 1825)")
    i.add_argument(
        "-o", "--out", required=True, type=Path, metavar="CERT.pem", help="where to write it and the CA's"
    )
    i.set_defaults(handler=_issuer)
    s = cs.add_parser("show", help="print a certificate's fields", epilog=EPILOG_SHOW, formatter_class=_RAW)
    s.add_argument("file", type=Path, metavar="FILE", help="PEM (bundles allowed) or DER certificates")
    s.set_defaults(handler=_show)

    k = sub.add_parser(
        "crypto", help="raw signatures over a file (debugging)", epilog=EPILOG_CRYPTO, formatter_class=_RAW
    )
    ks = k.add_subparsers(dest="crypto_command", metavar="ACTION", required=True)
    sg = ks.add_parser("sign", help="sign a file's bytes", epilog=EPILOG_SIGN, formatter_class=_RAW)
    sg.add_argument("--key", required=True, type=Path, metavar="KEY.pem", help="the signing key")
    sg.add_argument("--password-file", type=Path, metavar="FILE", help="password of an encrypted key")
    sg.add_argument("--id", default=None, help="SM2 user ID (default 1234567812345678)")
    sg.add_argument("file", type=Path, metavar="FILE", help="the bytes to sign")
    sg.add_argument(
        "-o", "--out", required=True, type=Path, metavar="SIG", help="where to write the signature"
    )
    sg.set_defaults(handler=_sign)
    vf = ks.add_parser(
        "verify", help="verify a signature over a file's bytes", epilog=EPILOG_VERIFY, formatter_class=_RAW
    )
    who = vf.add_mutually_exclusive_group(required=True)
    who.add_argument("--cert", type=Path, metavar="CERT.pem", help="the signer's certificate")
    who.add_argument("--pubkey", type=Path, metavar="PUB.pem", help="the signer's public key")
    vf.add_argument("--id", default=None, help="SM2 user ID (default 1234567812345678)")
    vf.add_argument("file", type=Path, metavar="FILE", help="the signed bytes")
    vf.add_argument("signature", type=Path, metavar="SIG", help="the signature (DER; Ed25519: 64 bytes)")
    vf.set_defaults(handler=_verify)


def _read(path: Path) -> bytes:
    from ecert.app import read_input

    return read_input(path)


def _password(args: argparse.Namespace) -> bytes | None:
    path = getattr(args, "password_file", None)
    return _read(path).rstrip(b"\r\n") if path else None


def _key(path: Path, args: argparse.Namespace) -> PrivateKey:
    from ecert.crypto.keys import load_private_key

    return load_private_key(_read(path), _password(args))


def _keygen(args: argparse.Namespace) -> int:
    from ecert.crypto.keys import generate_private_key, save_private_key
    from ecert.errors import InputError

    if args.out.exists() and not args.force:
        raise InputError(
            "file exists; a private key is not overwritten", where=str(args.out), expected="--force"
        )
    password = _password(args)
    from ecert.app import write_private_file

    key = generate_private_key(args.alg)
    write_private_file(args.out, save_private_key(key, password))
    print(f"{args.out}: {key.kind.value} key, public key SHA-256 {key.public_key().fingerprint()}")
    return EXIT_OK


def _root(args: argparse.Namespace) -> int:
    from ecert.crypto.hierarchy import make_root

    cert = make_root(
        _key(args.key, args),
        args.cn,
        organization=args.org,
        not_before=datetime.now(UTC),
        days=args.days,
    )
    args.out.write_bytes(cert.to_pem())
    print(f"{args.out}: {cert.subject}")
    return EXIT_OK


def _issuer(args: argparse.Namespace) -> int:
    from ecert.crypto.hierarchy import make_issuer_certificate
    from ecert.crypto.keys import load_private_key
    from ecert.crypto.x509 import load_certificate

    if args.org_id is not None:
        from ecert.codes import uscc
        from ecert.errors import EcertError, InputError

        try:
            uscc.validate(args.org_id)
        except EcertError as exc:
            raise InputError(
                f"not a valid 统一社会信用代码 ({exc})", where="--org-id", value=args.org_id
            ) from None
    ca_cert = load_certificate(_read(args.ca_cert))
    cert = make_issuer_certificate(
        _key(args.ca_key, args),
        ca_cert,
        load_private_key(_read(args.key)).public_key(),
        args.cn,
        organization=args.org,
        organization_identifier=args.org_id,
        not_before=datetime.now(UTC),
        days=args.days,
    )
    args.out.write_bytes(cert.to_pem() + ca_cert.to_pem())
    print(f"{args.out}: {cert.subject} (issued by {cert.issuer})")
    return EXIT_OK


# names for the OIDs a certificate shows (display only; the OIDs themselves live in ecert.crypto.oids)
_OID_NAMES = {
    "1.2.156.10197.1.501": "SM2 with SM3",
    "1.2.840.10045.4.3.2": "ECDSA with SHA-256",
    "1.2.840.10045.4.3.3": "ECDSA with SHA-384",
    "1.3.101.112": "Ed25519",
    "1.2.840.113549.1.1.11": "RSA with SHA-256",
}
_NAME_OIDS = {"2.5.4.97": "organizationIdentifier", "2.5.4.5": "serialNumber", "2.5.4.15": "businessCategory"}


def _named(name: str) -> str:
    """``2.5.4.97=11330100MB01234570`` as ``organizationIdentifier=11330100MB01234570``."""
    for oid, label in _NAME_OIDS.items():
        name = name.replace(f"{oid}=", f"{label}=")
    return name


def _show(args: argparse.Namespace) -> int:
    from ecert.crypto.x509 import load_certificates
    from ecert.errors import InputError

    certs = load_certificates(_read(args.file))
    if not certs:  # e.g. a private key given by mistake: say so rather than print nothing
        raise InputError(
            "no certificate in the file", where=str(args.file), expected="PEM or DER certificates"
        )
    for cert in certs:
        print(f"subject:    {_named(cert.subject)}\nissuer:     {_named(cert.issuer)}")
        print(f"serial:     {cert.serial_number:x}")
        print(f"valid:      {cert.not_before.isoformat()} .. {cert.not_after.isoformat()}")
        oid = cert.signature_algorithm_oid
        name = _OID_NAMES.get(oid)
        print(f"key:        {cert.public_key.kind.value}\nsignature:  {f'{name} ({oid})' if name else oid}")
        print(f"CA:         {cert.is_ca}\nkey usage:  {', '.join(sorted(cert.key_usage or ())) or '-'}")
        print(f"SHA-256:    {cert.fingerprint_sha256()}\n")
    return EXIT_OK


def _uid(args: argparse.Namespace) -> bytes:
    from ecert.crypto.sm2 import DEFAULT_UID

    return DEFAULT_UID if args.id is None else args.id.encode("utf-8")


def _sign(args: argparse.Namespace) -> int:
    key = _key(args.key, args)
    args.out.write_bytes(key.sign(_read(args.file), uid=_uid(args)))
    print(f"{args.out}: {key.default_algorithm.name} signature")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from ecert.crypto.keys import load_public_key
    from ecert.crypto.x509 import load_certificate
    from ecert.errors import InvalidSignature

    key = load_certificate(_read(args.cert)).public_key if args.cert else load_public_key(_read(args.pubkey))
    try:
        key.verify(_read(args.signature), _read(args.file), uid=_uid(args))
    except InvalidSignature as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    print(f"VALID ({key.default_algorithm.name})")
    return EXIT_OK
