"""asn1crypto helpers for keys: PEM blocks, PBES2 (PKCS#5 v2.1) and PKCS#12 containers.

pyca/cryptography decrypts encrypted PKCS#8 and PKCS#12 only for key types it knows, and it
refuses the SM2 curve; so the containers are opened here with asn1crypto and decrypted with
cryptography's primitives (PBKDF2, AES, SM4, HMAC).  Only PBES2 is implemented: it is what
OpenSSL 3 writes by default (``openssl pkcs8 -topk8``, ``openssl pkcs12 -export``); the
legacy PKCS#12 PBEs (3DES, RC2) are refused with a message saying how to re-export.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from asn1crypto import algos, core, keys, pem
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ecert.crypto import oids
from ecert.crypto.der import check_bounds, parser_reason
from ecert.errors import EcertError, InputError, InvalidKey, UnsupportedAlgorithm

if TYPE_CHECKING:  # PKCS#12, CMS, PBKDF2, padding and HMAC are imported where a container is opened:
    # every process reading a public key imports this module, few of them open a key container
    from asn1crypto import cms, pkcs12

__all__ = ["bounded", "check_pkcs12_work", "decrypt_pkcs8", "encrypt_pkcs8", "pem_blocks", "read_pkcs12"]

# GmSSL 3 (src/oid.c, "hmac-sm3"): PBKDF2 PRF HMAC-SM3; OpenSSL 3.0 has no OID for it.
HMAC_WITH_SM3: Final = "1.2.156.10197.1.401.2"
# GM/T 0006-2012: SM4 in CBC mode (OpenSSL obj_mac.h OBJ_sm4_cbc = sm_scheme 104 2)
SM4_CBC: Final = "1.2.156.10197.1.104.2"

# asn1crypto needs the SM2 curve's key length to build SM2 keys (GM/T 0006: sm2p256v1, 256 bits)
if oids.SM2_CURVE not in keys.NamedCurve._map:
    keys.NamedCurve.register("sm2p256v1", oids.SM2_CURVE, 32)

_PRF: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1.2.840.113549.2.7": hashes.SHA1,  # hmacWithSHA1 (RFC 8018), the PBKDF2 default
    "1.2.840.113549.2.9": hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
    HMAC_WITH_SM3: hashes.SM3,
}
_CIPHERS: dict[str, tuple[Callable[[bytes], algorithms.AES | algorithms.SM4], int]] = {
    "2.16.840.1.101.3.4.1.2": (algorithms.AES, 16),  # aes128-CBC (RFC 3565)
    "2.16.840.1.101.3.4.1.22": (algorithms.AES, 24),
    "2.16.840.1.101.3.4.1.42": (algorithms.AES, 32),
    SM4_CBC: (algorithms.SM4, 16),
}
_MAX_ITERATIONS = 600_000
"""Most iterations one key derivation may ask for.  Iteration counts come from the file, so the file
decides how long reading it takes: real files ask 2,048 (OpenSSL, macOS), 10,000 (Windows, Java) or
up to 600,000 (OWASP's PBKDF2-SHA256 figure); ecert writes 200,000.  600,000 takes about 0.3 s."""
_MAX_TOTAL_ITERATIONS = 1_200_000  # every derivation of one PKCS#12 file together (MAC, bags)


def pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """Every PEM block as ``(type, DER)``; ``[]`` when ``data`` is not PEM."""
    if not pem.detect(data):
        return []
    try:
        return [(str(name), bytes(der)) for name, _headers, der in pem.unarmor(data.strip(), multiple=True)]
    except (ValueError, TypeError) as exc:
        raise InvalidKey(f"malformed PEM ({parser_reason(exc)})") from None


def _octets(value: Any) -> bytes:
    """An OCTET STRING parameter, whatever spec asn1crypto parsed it with (SM4 is unknown to it)."""
    return bytes(core.OctetString.load(value.dump()).native)


def _pbes2_cipher(algorithm: algos.EncryptionAlgorithm, password: bytes) -> tuple[Cipher[modes.CBC], str]:
    """The CBC cipher an ``AlgorithmIdentifier`` of PBES2 names, keyed from ``password``."""
    oid = algorithm["algorithm"].dotted
    if oid != "1.2.840.113549.1.5.13":
        raise UnsupportedAlgorithm(
            f"encryption {algorithm['algorithm'].native} is not supported (only PBES2); "
            "re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc` or "
            "`openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC`"
        )
    params = algorithm["parameters"]
    kdf = params["key_derivation_func"]
    if kdf["algorithm"].dotted != "1.2.840.113549.1.5.12":
        raise UnsupportedAlgorithm(f"key derivation {kdf['algorithm'].native} is not supported (only PBKDF2)")
    kdf_params = kdf["parameters"]
    prf_oid = kdf_params["prf"]["algorithm"].dotted
    scheme = params["encryption_scheme"]
    cipher_oid = scheme["algorithm"].dotted
    if prf_oid not in _PRF:
        raise UnsupportedAlgorithm(f"PBKDF2 PRF {prf_oid} is not supported (HMAC-SHA1/SHA-2/SM3)")
    if cipher_oid not in _CIPHERS:
        raise UnsupportedAlgorithm(f"key encryption cipher {cipher_oid} is not supported (AES-CBC, SM4-CBC)")
    if kdf_params["salt"].name != "specified":
        raise UnsupportedAlgorithm("PBKDF2 with an algorithm-identifier salt is not supported")
    salt = bytes(kdf_params["salt"].chosen.native)
    iterations = int(kdf_params["iteration_count"].native)
    if not 1 <= iterations <= _MAX_ITERATIONS:
        raise InvalidKey("PBKDF2 iteration count out of range", value=iterations)
    make, key_size = _CIPHERS[cipher_oid]
    iv = _octets(scheme["parameters"])
    if len(iv) != 16:
        raise InvalidKey("CBC IV must be 16 bytes", value=len(iv))
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    key = PBKDF2HMAC(_PRF[prf_oid](), key_size, salt, iterations).derive(password)
    return Cipher(make(key), modes.CBC(iv)), cipher_oid


def pbes2_decrypt(
    algorithm: algos.EncryptionAlgorithm, encrypted: bytes, password: bytes, what: str
) -> bytes:
    """Decrypt PBES2 content; a wrong password shows as bad padding and says so."""
    from cryptography.hazmat.primitives import padding

    try:
        cipher, _oid = _pbes2_cipher(algorithm, password)
    except EcertError:
        raise
    except Exception as exc:  # asn1crypto raises many kinds, lazily
        raise InvalidKey(f"malformed encryption parameters of the {what} ({parser_reason(exc)})") from None
    try:
        decryptor = cipher.decryptor()
        padded = decryptor.update(encrypted) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise InvalidKey(f"wrong password for the {what} (or the {what} is corrupt)") from None


def decrypt_pkcs8(der: bytes, password: bytes) -> bytes:
    """The PrivateKeyInfo DER inside an EncryptedPrivateKeyInfo."""
    bounded(der, "encrypted private key")
    try:
        info = keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        algorithm = info["encryption_algorithm"]
        encrypted = bytes(info["encrypted_data"].native)
    except Exception as exc:  # asn1crypto raises many kinds, lazily
        raise InvalidKey(f"malformed encrypted private key ({parser_reason(exc)})") from None
    return pbes2_decrypt(algorithm, encrypted, password, "encrypted private key")


def is_encrypted_pkcs8(der: bytes) -> bool:
    try:
        check_bounds(der)
    except InputError:
        return False
    try:
        info = keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        _ = info["encryption_algorithm"]["algorithm"].dotted, info["encrypted_data"].native
    except Exception:  # not one, whatever asn1crypto raised
        return False
    return True


def encrypt_pkcs8(der: bytes, password: bytes, iterations: int = 200_000) -> bytes:
    """EncryptedPrivateKeyInfo: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC (what OpenSSL 3 writes)."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    salt, iv = os.urandom(16), os.urandom(16)
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(password)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padder.update(der) + padder.finalize()) + encryptor.finalize()
    pbes2 = algos.Pbes2Params(
        {
            "key_derivation_func": {
                "algorithm": "pbkdf2",
                "parameters": {
                    "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                    "iteration_count": iterations,
                    "prf": {"algorithm": "sha256", "parameters": core.Null()},
                },
            },
            "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
        }
    )
    info = keys.EncryptedPrivateKeyInfo(
        {"encryption_algorithm": {"algorithm": "pbes2", "parameters": pbes2}, "encrypted_data": encrypted}
    )
    return bytes(info.dump())


# --- PKCS#12 (RFC 7292) --------------------------------------------------------------------------

_MAC_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1.3.14.3.2.26": hashes.SHA1,  # HMAC-SHA1 integrity (PKCS#12 default; not a signature)
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
    oids.SM3: hashes.SM3,
}


def _pkcs12_kdf(
    hash_factory: Callable[[], hashes.HashAlgorithm], password: bytes, salt: bytes, iterations: int, size: int
) -> bytes:
    """RFC 7292 appendix B.2 key derivation with ID 3 (MAC key); ``password`` is the BMPString."""
    algorithm = hash_factory()
    u = algorithm.digest_size
    v = 128 if u > 32 else 64
    d = b"\x03" * v

    def stretch(value: bytes) -> bytes:  # repeat to a multiple of v bytes
        if not value:
            return b""
        length = v * -(-len(value) // v)
        return (value * (length // len(value) + 1))[:length]

    i = bytearray(stretch(salt) + stretch(password))
    name = algorithm.name if algorithm.name in hashlib.algorithms_available else None
    out = b""
    while len(out) < size:
        if name is not None:  # hashlib: the same digests, a tenth of the per-call cost
            a = hashlib.new(name, d + bytes(i)).digest()
            for _ in range(iterations - 1):
                a = hashlib.new(name, a).digest()
        else:
            h = hashes.Hash(hash_factory())
            h.update(d + bytes(i))
            a = h.finalize()
            for _ in range(iterations - 1):
                h = hashes.Hash(hash_factory())
                h.update(a)
                a = h.finalize()
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j : j + v], "big") + b) % (1 << (8 * v))
            i[j : j + v] = block.to_bytes(v, "big")
    return out[:size]


def bounded(der: bytes, what: str) -> None:
    """The bounded BER walk (:func:`ecert.crypto.der.check_bounds`) before asn1crypto sees ``der``."""
    try:
        check_bounds(der, what=what)
    except InputError as exc:
        raise InvalidKey(str(exc)) from None


def check_pkcs12_work(der: bytes, password: bytes | None = None) -> None:
    """Refuse a PKCS#12 file before any key is derived from it when its structure is out of bounds
    or its iteration counts ask for more than :data:`_MAX_ITERATIONS` each or
    :data:`_MAX_TOTAL_ITERATIONS` together: the file chooses them, and cryptography's reader would
    run them before any cap of ours.  Counts inside a PBES2-encrypted safe are read by decrypting
    it (with ``password``) after its own count passed; a legacy-encrypted safe (3DES, RC2) cannot
    be opened here, so only its own count is bounded."""
    from asn1crypto import pkcs12

    bounded(der, "PKCS#12 file")
    budget = _Budget()
    try:
        pfx = pkcs12.Pfx.load(der, strict=True)
        mac_data = pfx["mac_data"]
        if mac_data.native:
            budget.add("PKCS#12 MAC", int(mac_data["iterations"].native))
        auth_safe = pfx["auth_safe"]
        if auth_safe["content_type"].native != "data":
            return  # refused by the readers (a signed AuthenticatedSafe): nothing is derived
        content = bytes(auth_safe["content"].native)
        bounded(content, "PKCS#12 AuthenticatedSafe")
        for info in pkcs12.AuthenticatedSafe.load(content):
            kind = info["content_type"].native
            safe: bytes | None = None
            if kind == "encrypted_data":
                enc = info["content"]["encrypted_content_info"]
                algorithm = enc["content_encryption_algorithm"]
                budget.add("PKCS#12 certificate bag encryption", _iterations(algorithm))
                if algorithm["algorithm"].dotted == "1.2.840.113549.1.5.13" and password is not None:
                    safe = pbes2_decrypt(algorithm, bytes(enc["encrypted_content"].native), password,
                                         "PKCS#12 certificate bag")
            elif kind == "data":
                safe = bytes(info["content"].native)
            if safe is not None:
                bounded(safe, "PKCS#12 SafeContents")
                _bag_counts(pkcs12.SafeContents.load(safe), budget, 0)
    except EcertError:
        raise
    except Exception as exc:  # asn1crypto raises many kinds, lazily
        raise InvalidKey(f"malformed PKCS#12 file ({parser_reason(exc)})") from None


class _Budget:
    """Iteration counts seen so far, each checked as it is read (before anything is derived)."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, what: str, count: int) -> None:
        if not 1 <= count <= _MAX_ITERATIONS:
            raise InvalidKey(f"{what} iteration count out of range", value=count,
                             expected=f"1 to {_MAX_ITERATIONS:,}")
        self.total += count
        if self.total > _MAX_TOTAL_ITERATIONS:
            raise InvalidKey("PKCS#12 key derivations ask for too many iterations together",
                             value=self.total, expected=f"<= {_MAX_TOTAL_ITERATIONS:,}")


def _iterations(algorithm: algos.EncryptionAlgorithm) -> int:
    """The iteration count of a password-based encryption (PBES2, PBES1, PKCS#12 PBE); 1 when none."""
    try:
        return int(algorithm.kdf_iterations)
    except ValueError:  # asn1crypto: not a password-based algorithm (no derivation to bound)
        return 1


def _bag_counts(bags: pkcs12.SafeContents, budget: _Budget, depth: int) -> None:
    if depth > 4:
        raise InvalidKey("PKCS#12 safe contents nested too deep", expected="at most 4 levels")
    for bag in bags:
        bag_id = bag["bag_id"].native
        if bag_id == "pkcs8_shrouded_key_bag":
            budget.add("PKCS#12 key bag encryption", _iterations(bag["bag_value"]["encryption_algorithm"]))
        elif bag_id == "safe_contents":
            _bag_counts(bag["bag_value"], budget, depth + 1)


def _check_mac(pfx: pkcs12.Pfx, content: bytes, password: bytes) -> None:
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    mac_data = pfx["mac_data"]
    if not mac_data.native:
        return
    digest_oid = mac_data["mac"]["digest_algorithm"]["algorithm"].dotted
    factory = _MAC_HASHES.get(digest_oid)
    if factory is None:
        raise UnsupportedAlgorithm(f"PKCS#12 MAC digest {digest_oid} is not supported")
    iterations = int(mac_data["iterations"].native)
    if not 1 <= iterations <= _MAX_ITERATIONS:
        raise InvalidKey("PKCS#12 MAC iteration count out of range", value=iterations)
    bmp = password.decode("utf-8").encode("utf-16-be") + b"\x00\x00" if password else b""
    size = factory().digest_size
    key = _pkcs12_kdf(factory, bmp, bytes(mac_data["mac_salt"].native), iterations, size)
    mac = crypto_hmac.HMAC(key, factory())
    mac.update(content)
    if not hmac.compare_digest(mac.finalize(), bytes(mac_data["mac"]["digest"].native)):
        raise InvalidKey("wrong password for the PKCS#12 file (its integrity MAC does not match)")


def read_pkcs12(der: bytes, password: bytes) -> tuple[list[bytes], list[bytes]]:
    """``(PrivateKeyInfo DERs, certificate DERs)`` in the order they appear in the PFX.

    The MAC is checked first (so a wrong password says so), then data and PBES2-encrypted
    data contents are opened; key bags and shrouded key bags give keys, X.509 cert bags certs.
    """
    from asn1crypto import pkcs12

    bounded(der, "PKCS#12 file")  # iteration counts: check_pkcs12_work, run by the caller first
    try:
        pfx = pkcs12.Pfx.load(der, strict=True)
        auth_safe = pfx["auth_safe"]
        if auth_safe["content_type"].native != "data":
            raise UnsupportedAlgorithm("PKCS#12 with a public-key-protected (signed) AuthenticatedSafe")
        content = bytes(auth_safe["content"].native)
        _check_mac(pfx, content, password)
        key_ders: list[bytes] = []
        cert_ders: list[bytes] = []
        for info in pkcs12.AuthenticatedSafe.load(content):
            kind = info["content_type"].native
            if kind == "data":
                safe = bytes(info["content"].native)
            elif kind == "encrypted_data":
                enc: cms.EncryptedContentInfo = info["content"]["encrypted_content_info"]
                safe = pbes2_decrypt(
                    enc["content_encryption_algorithm"],
                    bytes(enc["encrypted_content"].native),
                    password,
                    "PKCS#12 certificate bag",
                )
            else:
                raise UnsupportedAlgorithm(f"PKCS#12 content type {kind} is not supported")
            _read_bags(pkcs12.SafeContents.load(safe), password, key_ders, cert_ders)
    except EcertError:
        raise
    except Exception as exc:  # asn1crypto raises many kinds, lazily
        raise InvalidKey(f"malformed PKCS#12 file ({parser_reason(exc)})") from None
    return key_ders, cert_ders


def _read_bags(
    bags: pkcs12.SafeContents, password: bytes, key_ders: list[bytes], cert_ders: list[bytes]
) -> None:
    for bag in bags:
        bag_id = bag["bag_id"].native
        value = bag["bag_value"]
        if bag_id == "key_bag":
            key_ders.append(bytes(value.dump()))
        elif bag_id == "pkcs8_shrouded_key_bag":
            key_ders.append(
                pbes2_decrypt(
                    value["encryption_algorithm"],
                    bytes(value["encrypted_data"].native),
                    password,
                    "PKCS#12 key bag",
                )
            )
        elif bag_id == "cert_bag" and value["cert_id"].native == "x509":
            cert_ders.append(bytes(value["cert_value"].parsed.dump()))
        elif bag_id == "safe_contents":
            _read_bags(value, password, key_ders, cert_ders)
