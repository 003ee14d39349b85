"""PKCS#12 (PFX) files: a private key with its certificate and chain.

cryptography reads PKCS#12 for P-256, Ed25519 and RSA keys but refuses SM2 keys, so PFX files
are read here with asn1crypto when they use PBES2 (PBKDF2 + AES-CBC, OpenSSL 3's default) for
their bags; legacy ciphers (RC2, 3DES with SHA-1 KDF) are refused with a clear message.  The MAC
(HMAC over the authenticated safe) is checked before anything is decrypted.
"""

from __future__ import annotations

import hashlib
import hmac

from asn1crypto import pkcs12

from ecert.crypto.keys import PrivateKey, load_private_key, pbes2_decrypt
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InvalidKey, UnsupportedAlgorithm

__all__ = ["load_pkcs12"]

_MAC_HASHES = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}


def _pkcs12_kdf(password: bytes, salt: bytes, iterations: int, hash_name: str, size: int) -> bytes:
    """RFC 7292 Appendix B.2 key derivation (ID 3: MAC key), used only for the PFX MAC."""
    h = hashlib.new(hash_name)
    u, v = h.digest_size, h.block_size
    pw = (password.decode("utf-8").encode("utf-16-be") + b"\x00\x00") if password else b""
    d = bytes([3]) * v

    def fill(b: bytes) -> bytes:  # copies of b up to the next multiple of v bytes
        n = v * ((len(b) + v - 1) // v)
        return (b * (n // len(b) + 1))[:n] if b else b""

    i = fill(salt) + fill(pw)
    out = b""
    while len(out) < size:
        a = d + i
        for _ in range(iterations):
            a = hashlib.new(hash_name, a).digest()
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big")
        i = b"".join(
            ((int.from_bytes(i[j : j + v], "big") + b + 1) % (1 << (8 * v))).to_bytes(v, "big")
            for j in range(0, len(i), v)
        )
    return out[:size]


def load_pkcs12(
    data: bytes, password: bytes
) -> tuple[PrivateKey, Certificate | None, tuple[Certificate, ...]]:
    """(key, its certificate, the other certificates) from a PFX file."""
    try:
        pfx = pkcs12.Pfx.load(bytes(data), strict=True)
        auth_safe = pfx["auth_safe"]
        if auth_safe["content_type"].native != "data":
            raise UnsupportedAlgorithm("only password-integrity PKCS#12 files are supported")
        content = bytes(auth_safe["content"].native)
        mac = pfx["mac_data"]
        if mac.native is not None:
            hash_name = _MAC_HASHES.get(mac["mac"]["digest_algorithm"]["algorithm"].native)
            if hash_name is None:
                raise UnsupportedAlgorithm("PKCS#12 MAC hash not supported")
            salt, iterations = bytes(mac["mac_salt"].native), int(mac["iterations"].native)
            if not 1 <= iterations <= 10_000_000:
                raise InvalidKey("PKCS#12 MAC iteration count out of range", value=iterations)
            size = hashlib.new(hash_name).digest_size
            mac_key = _pkcs12_kdf(password, salt, iterations, hash_name, size)
            if not hmac.compare_digest(
                hmac.new(mac_key, content, hash_name).digest(), bytes(mac["mac"]["digest"].native)
            ):
                raise InvalidKey("wrong password for the PKCS#12 file (MAC does not match)")
        bags: list[pkcs12.SafeBag] = []
        for info in pkcs12.AuthenticatedSafe.load(content):
            kind = info["content_type"].native
            if kind == "data":
                bags.extend(pkcs12.SafeContents.load(bytes(info["content"].native)))
            elif kind == "encrypted_data":
                enc = info["content"]["encrypted_content_info"]
                plain = pbes2_decrypt(
                    enc["content_encryption_algorithm"], bytes(enc["encrypted_content"].native), password
                )
                bags.extend(pkcs12.SafeContents.load(plain))
            else:
                raise UnsupportedAlgorithm(f"PKCS#12 content type {kind} is not supported")
        key: PrivateKey | None = None
        certs: list[Certificate] = []
        for bag in bags:
            bag_id = bag["bag_id"].native
            if bag_id == "pkcs8_shrouded_key_bag":
                epki = bag["bag_value"]
                der = pbes2_decrypt(
                    epki["encryption_algorithm"], bytes(epki["encrypted_data"].native), password
                )
                key = load_private_key(der)
            elif bag_id == "key_bag":
                key = load_private_key(bag["bag_value"].dump())
            elif bag_id == "cert_bag" and bag["bag_value"]["cert_id"].native == "x509":
                certs.append(Certificate.from_der(bag["bag_value"]["cert_value"].parsed.dump()))
    except EcertError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeError) as exc:
        raise InvalidKey(f"malformed PKCS#12 file ({exc})") from None
    if key is None:
        raise InvalidKey("the PKCS#12 file holds no private key")
    spki = key.public_key().spki_der()
    mine = next((c for c in certs if c.public_key.spki_der() == spki), None)
    return key, mine, tuple(c for c in certs if c is not mine)
