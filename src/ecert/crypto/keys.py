"""Keys for every algorithm behind one interface: SM2 (ours), ECDSA P-256, Ed25519, RSA.

pyca/cryptography reads and writes P-256, Ed25519 and RSA keys but refuses the SM2 curve, so
SM2 keys (PKCS#8 and SEC1 ``EC PRIVATE KEY`` with curve OID 1.2.156.10197.1.301, as OpenSSL and
GmSSL write them, and SubjectPublicKeyInfo) are read and written here with asn1crypto;
encrypted PKCS#8 (PBES2: PBKDF2 + AES-CBC) is decrypted with cryptography's primitives.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import algos, core, keys, pem
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ecert.crypto import oids
from ecert.crypto.algorithms import KeyKind, SignatureAlgorithm
from ecert.crypto.sm2 import DEFAULT_UID, SM2PrivateKey, SM2PublicKey
from ecert.errors import EcertError, InvalidKey, InvalidSignature, UnsupportedAlgorithm

__all__ = [
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "load_private_key",
    "load_public_key",
    "save_private_key",
    "save_public_key",
]

# asn1crypto needs the SM2 curve's key length to build SM2 keys (GM/T 0006: sm2p256v1, 256 bits)
if oids.SM2_CURVE not in keys.NamedCurve._map:
    keys.NamedCurve.register("sm2p256v1", oids.SM2_CURVE, 32)

_CryptoPublic = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
_CryptoPrivate = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
_DEFAULT_ALGORITHM = {
    KeyKind.SM2: SignatureAlgorithm.SM2_SM3,
    KeyKind.P256: SignatureAlgorithm.ECDSA_SHA256,
    KeyKind.ED25519: SignatureAlgorithm.ED25519,
    KeyKind.RSA: SignatureAlgorithm.RSA_PKCS1_SHA256,
}


def _kind_of(key: SM2PublicKey | _CryptoPublic) -> KeyKind:
    if isinstance(key, SM2PublicKey):
        return KeyKind.SM2
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise UnsupportedAlgorithm(f"EC curve {key.curve.name} is not supported (only P-256 and SM2)")
        return KeyKind.P256
    if isinstance(key, ed25519.Ed25519PublicKey):
        return KeyKind.ED25519
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise UnsupportedAlgorithm(f"RSA keys of {key.key_size} bits are refused as weak (need >= 2048)")
        return KeyKind.RSA
    raise UnsupportedAlgorithm(f"unsupported key type {type(key).__name__}")


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key of any supported kind; ``verify`` raises :class:`InvalidSignature`."""

    key: SM2PublicKey | _CryptoPublic = field(repr=False)
    kind: KeyKind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _kind_of(self.key))

    @property
    def default_algorithm(self) -> SignatureAlgorithm:
        return _DEFAULT_ALGORITHM[self.kind]

    def verify(
        self,
        signature: bytes,
        data: bytes,
        algorithm: SignatureAlgorithm | None = None,
        *,
        uid: bytes = DEFAULT_UID,
    ) -> None:
        """Verify ``signature`` over ``data``; the algorithm must fit the key (no guessing)."""
        algorithm = algorithm or self.default_algorithm
        if algorithm.key_kind is not self.kind:
            raise UnsupportedAlgorithm(f"algorithm {algorithm.name} does not fit a {self.kind.value} key")
        key = self.key
        try:
            if isinstance(key, SM2PublicKey):
                key.verify(signature, data, uid)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                digest = algorithm.digest
                assert digest is not None
                key.verify(signature, data, ec.ECDSA(digest.hash_algorithm()))
            elif isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, data)
            elif algorithm is SignatureAlgorithm.RSA_PSS:
                _verify_pss(key, signature, data)
            else:
                digest = algorithm.digest
                assert digest is not None
                key.verify(signature, data, rsa_padding.PKCS1v15(), digest.hash_algorithm())
        except _CryptoInvalidSignature:
            raise InvalidSignature(f"{algorithm.name} signature does not verify") from None
        except (ValueError, TypeError) as exc:
            raise InvalidSignature(f"malformed {algorithm.name} signature ({exc})") from None

    def spki_der(self) -> bytes:
        """The DER SubjectPublicKeyInfo."""
        if isinstance(self.key, SM2PublicKey):
            return bytes(_sm2_spki(self.key).dump())
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_spki_der(cls, der: bytes) -> PublicKey:
        """Read a SubjectPublicKeyInfo (SM2 keys included)."""
        try:
            info = keys.PublicKeyInfo.load(der, strict=True)
            algorithm = info["algorithm"]["algorithm"].dotted
            if algorithm == oids.SM2_CURVE or (
                algorithm == oids.EC_PUBLIC_KEY
                and _curve_oid(info["algorithm"]["parameters"]) == oids.SM2_CURVE
            ):
                return cls(SM2PublicKey.from_bytes(bytes(info["public_key"])))
        except EcertError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidKey(f"malformed SubjectPublicKeyInfo ({exc})") from None
        try:
            loaded = serialization.load_der_public_key(der)
        except (ValueError, _CryptoUnsupported) as exc:
            raise InvalidKey(f"unsupported or malformed public key ({exc})") from None
        if not isinstance(loaded, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
            raise UnsupportedAlgorithm(f"unsupported key type {type(loaded).__name__}")
        return cls(loaded)

    def fingerprint(self) -> str:
        """SHA-256 of the SubjectPublicKeyInfo, hex."""
        return hashlib.sha256(self.spki_der()).hexdigest()


def _verify_pss(key: rsa.RSAPublicKey, signature: bytes, data: bytes) -> None:
    """RSA-PSS with the common parameter sets (SHA-256/384/512, MGF1 with the same hash)."""
    for h in (hashes.SHA256(), hashes.SHA384(), hashes.SHA512()):
        try:
            key.verify(signature, data, rsa_padding.PSS(rsa_padding.MGF1(h), rsa_padding.PSS.AUTO), h)
            return
        except _CryptoInvalidSignature:
            continue
    raise _CryptoInvalidSignature()


@dataclass(frozen=True, slots=True, repr=False)
class PrivateKey:
    """A private key of any supported kind; ``sign`` uses the key's default algorithm."""

    key: SM2PrivateKey | _CryptoPrivate
    kind: KeyKind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.public_key().kind)

    def __repr__(self) -> str:
        return f"PrivateKey(kind={self.kind.value}, public={self.public_key().fingerprint()[:16]})"

    @property
    def default_algorithm(self) -> SignatureAlgorithm:
        return _DEFAULT_ALGORITHM[self.kind]

    def public_key(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    def sign(self, data: bytes, *, uid: bytes = DEFAULT_UID) -> bytes:
        """SM2: SM2-with-SM3 DER; P-256: ECDSA-SHA256 DER; Ed25519: 64 bytes; RSA: PKCS#1 v1.5 SHA-256."""
        key = self.key
        if isinstance(key, SM2PrivateKey):
            return key.sign(data, uid)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hashes.SHA256()))
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        return key.sign(data, rsa_padding.PKCS1v15(), hashes.SHA256())


def generate_private_key(kind: KeyKind | str) -> PrivateKey:
    k = KeyKind.parse(kind)
    if k is KeyKind.SM2:
        return PrivateKey(SM2PrivateKey.generate())
    if k is KeyKind.P256:
        return PrivateKey(ec.generate_private_key(ec.SECP256R1()))
    if k is KeyKind.ED25519:
        return PrivateKey(ed25519.Ed25519PrivateKey.generate())
    return PrivateKey(rsa.generate_private_key(public_exponent=65537, key_size=3072))


# --- reading -------------------------------------------------------------------------------------


def _curve_oid(parameters: Any) -> str | None:
    try:
        if parameters.name == "named":
            return str(parameters.chosen.dotted)
    except (AttributeError, ValueError, KeyError):
        return None
    return None


def _sm2_spki(key: SM2PublicKey) -> keys.PublicKeyInfo:
    return keys.PublicKeyInfo(
        {
            "algorithm": keys.PublicKeyAlgorithm(
                {
                    "algorithm": oids.EC_PUBLIC_KEY,
                    "parameters": keys.ECDomainParameters("named", oids.SM2_CURVE),
                }
            ),
            "public_key": key.to_bytes(),
        }
    )


def _unarmor(data: bytes) -> tuple[str | None, bytes]:
    """(PEM type or None, DER)."""
    stripped = data.strip()
    if pem.detect(stripped):
        try:
            name, _headers, der = pem.unarmor(stripped)
        except ValueError as exc:
            raise InvalidKey(f"malformed PEM ({exc})") from None
        return str(name), bytes(der)
    return None, bytes(data)


def _sm2_from_ec_private_key(ec_key: Any, curve: str | None) -> PrivateKey | None:
    params_curve = _curve_oid(ec_key["parameters"]) if ec_key["parameters"].native is not None else None
    if (curve or params_curve) != oids.SM2_CURVE:
        return None
    d = int(ec_key["private_key"].native)
    if not 0 < d < 2**256:
        raise InvalidKey("SM2 private scalar out of range")
    return PrivateKey(SM2PrivateKey.from_bytes(d.to_bytes(32, "big")))


def _load_sm2_der(der: bytes, pem_type: str | None) -> PrivateKey | None:
    """SM2 from PKCS#8 or SEC1 DER; None when the key is not SM2 (cryptography reads the rest)."""
    try:
        if pem_type == "EC PRIVATE KEY":
            ec_key = keys.ECPrivateKey.load(der, strict=True)
            return _sm2_from_ec_private_key(ec_key, None)
        info = keys.PrivateKeyInfo.load(der, strict=True)
        algorithm = info["private_key_algorithm"]["algorithm"].dotted
        if algorithm == oids.SM2_CURVE:
            curve: str | None = oids.SM2_CURVE
        elif algorithm == oids.EC_PUBLIC_KEY:
            curve = _curve_oid(info["private_key_algorithm"]["parameters"])
        else:
            return None
        if curve != oids.SM2_CURVE:
            return None
        return _sm2_from_ec_private_key(
            keys.ECPrivateKey.load(bytes(info["private_key"]), strict=True), curve
        )
    except EcertError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        if pem_type is None:
            return _load_sec1_der(der)
        raise InvalidKey(f"malformed private key ({exc})") from None


def _load_sec1_der(der: bytes) -> PrivateKey | None:
    try:
        return _sm2_from_ec_private_key(keys.ECPrivateKey.load(der, strict=True), None)
    except (ValueError, TypeError, KeyError, OverflowError):
        return None


def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    """A private key from PEM or DER: PKCS#8 (encrypted or not) or SEC1, SM2 included."""
    if not isinstance(data, bytes | bytearray):
        raise InvalidKey("key data must be bytes", value=type(data).__name__)
    pem_type, der = _unarmor(bytes(data))
    if pem_type == "ENCRYPTED PRIVATE KEY" or (pem_type is None and _is_encrypted_pkcs8(der)):
        if password is None:
            raise InvalidKey("the private key is encrypted: a password is needed")
        der, pem_type = _decrypt_pkcs8(der, password), "PRIVATE KEY"
    sm2 = _load_sm2_der(der, pem_type)
    if sm2 is not None:
        return sm2
    try:
        loaded = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, _CryptoUnsupported) as exc:
        raise InvalidKey(f"unsupported or malformed private key ({exc})") from None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise UnsupportedAlgorithm(f"unsupported private key type {type(loaded).__name__}")
    return PrivateKey(loaded)


def load_public_key(data: bytes) -> PublicKey:
    """A public key from PEM or DER SubjectPublicKeyInfo."""
    _pem_type, der = _unarmor(bytes(data))
    return PublicKey.from_spki_der(der)


def _is_encrypted_pkcs8(der: bytes) -> bool:
    try:
        _ = keys.EncryptedPrivateKeyInfo.load(der, strict=True).native
    except (ValueError, TypeError, KeyError):
        return False
    return True


_PRF: dict[str, type[hashes.SHA1 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_AES = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}


def _decrypt_pkcs8(der: bytes, password: bytes) -> bytes:
    """An EncryptedPrivateKeyInfo's PrivateKeyInfo DER."""
    try:
        info = keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        alg, encrypted = info["encryption_algorithm"], bytes(info["encrypted_data"].native)
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidKey(f"malformed encrypted private key ({exc})") from None
    return pbes2_decrypt(alg, encrypted, password)


def pbes2_decrypt(alg: Any, encrypted: bytes, password: bytes) -> bytes:
    """PBES2 (PBKDF2 + AES-CBC, RFC 8018), the scheme OpenSSL 3 and cryptography write for PKCS#8
    and PKCS#12; ``alg`` is the asn1crypto AlgorithmIdentifier."""
    try:
        if alg["algorithm"].native != "pbes2":
            raise UnsupportedAlgorithm(f"encryption {alg['algorithm'].native} is not supported (PBES2 only)")
        params = alg["parameters"]
        kdf = params["key_derivation_func"]
        if kdf["algorithm"].native != "pbkdf2":
            raise UnsupportedAlgorithm(
                f"key derivation {kdf['algorithm'].native} is not supported (PBKDF2 only)"
            )
        kdf_params = kdf["parameters"]
        prf_name = kdf_params["prf"]["algorithm"].native
        cipher = params["encryption_scheme"]
        cipher_name = cipher["algorithm"].native
        if prf_name not in _PRF or cipher_name not in _AES:
            raise UnsupportedAlgorithm(f"encryption {prf_name}/{cipher_name} is not supported")
        salt = bytes(kdf_params["salt"].chosen.native)
        iterations = int(kdf_params["iteration_count"].native)
        iv = bytes(cipher["parameters"].native)
    except EcertError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidKey(f"malformed PBES2 parameters ({exc})") from None
    if not 1 <= iterations <= 10_000_000:
        raise InvalidKey("PBKDF2 iteration count out of range", value=iterations)
    key = PBKDF2HMAC(_PRF[prf_name](), _AES[cipher_name], salt, iterations).derive(password)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    try:
        padded = decryptor.update(encrypted) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise InvalidKey("wrong password (or the encrypted data is corrupt)") from None


# --- writing -------------------------------------------------------------------------------------


def _sm2_pkcs8(key: SM2PrivateKey) -> bytes:
    ec_key = keys.ECPrivateKey(
        {"version": "ecPrivkeyVer1", "private_key": key.d, "public_key": key.public_key().to_bytes()}
    )
    info = keys.PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": keys.PrivateKeyAlgorithm(
                {"algorithm": "ec", "parameters": keys.ECDomainParameters("named", oids.SM2_CURVE)}
            ),
            "private_key": ec_key,
        }
    )
    return bytes(info.dump())


def _encrypt_pkcs8(der: bytes, password: bytes) -> bytes:
    salt, iv, iterations = os.urandom(16), os.urandom(16), 200_000
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(password)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(der) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    pbes2 = algos.Pbes2Params(
        {
            "key_derivation_func": algos.KdfAlgorithm(
                {
                    "algorithm": "pbkdf2",
                    "parameters": algos.Pbkdf2Params(
                        {
                            "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                            "iteration_count": iterations,
                            "prf": algos.HmacAlgorithm({"algorithm": "sha256", "parameters": core.Null()}),
                        }
                    ),
                }
            ),
            "encryption_scheme": algos.EncryptionAlgorithm({"algorithm": "aes256_cbc", "parameters": iv}),
        }
    )
    info = keys.EncryptedPrivateKeyInfo(
        {"encryption_algorithm": {"algorithm": "pbes2", "parameters": pbes2}, "encrypted_data": encrypted}
    )
    return bytes(info.dump())


def save_private_key(key: PrivateKey, password: bytes | None = None) -> bytes:
    """PEM PKCS#8; encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) when a password is given."""
    if isinstance(key.key, SM2PrivateKey):
        der = _sm2_pkcs8(key.key)
    else:
        der = key.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    if password:
        return bytes(pem.armor("ENCRYPTED PRIVATE KEY", _encrypt_pkcs8(der, password)))
    return bytes(pem.armor("PRIVATE KEY", der))


def save_public_key(key: PublicKey) -> bytes:
    return bytes(pem.armor("PUBLIC KEY", key.spki_der()))
