"""Keys for every algorithm behind one interface: SM2 (ours), ECDSA P-256, Ed25519, RSA.

pyca/cryptography reads and writes P-256, Ed25519 and RSA keys but refuses the SM2 curve, so
SM2 keys (PKCS#8 and SEC1 ``EC PRIVATE KEY`` / ``SM2 PRIVATE KEY`` with curve OID
1.2.156.10197.1.301, as OpenSSL and GmSSL write them, and SubjectPublicKeyInfo) are read and
written here with asn1crypto; encrypted PKCS#8 and PKCS#12 are opened in :mod:`._asn1`.
A key never guesses an algorithm: a signature algorithm that does not fit the key is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from asn1crypto import core, keys, pem
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding

from ecert.crypto import _asn1, oids
from ecert.crypto.algorithms import KeyKind, PssParameters, SignatureAlgorithm
from ecert.crypto.der import parser_reason
from ecert.crypto.sm2 import DEFAULT_UID, SM2PrivateKey, SM2PublicKey
from ecert.errors import EcertError, InvalidKey, InvalidSignature, UnsupportedAlgorithm

if TYPE_CHECKING:
    from ecert.crypto.x509 import Certificate

__all__ = [
    "DEFAULT_UID",
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "load_pkcs12",
    "load_private_key",
    "load_public_key",
    "save_private_key",
    "save_public_key",
]

_CryptoPublic = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
_CryptoPrivate = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
_DEFAULT_ALGORITHM = {
    KeyKind.SM2: SignatureAlgorithm.SM2_SM3,
    KeyKind.P256: SignatureAlgorithm.ECDSA_SHA256,
    KeyKind.ED25519: SignatureAlgorithm.ED25519,
    KeyKind.RSA: SignatureAlgorithm.RSA_PKCS1_SHA256,
}
_PRIVATE_PEM_TYPES = ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "SM2 PRIVATE KEY")
_SEC1_PEM_TYPES = ("EC PRIVATE KEY", "SM2 PRIVATE KEY")  # OpenSSL 3.0 `openssl ec` writes the second


class _SubjectPublicKeyInfo(core.Sequence):  # type: ignore[misc]
    """SubjectPublicKeyInfo with the key as plain bits: asn1crypto's own class cannot read the
    key when the algorithm is the SM2 curve OID itself (it picks the key's spec by algorithm)."""

    _fields: ClassVar[list[tuple[str, type]]] = [
        ("algorithm", keys.PublicKeyAlgorithm),
        ("public_key", core.OctetBitString),
    ]


def _kind_of(key: object) -> KeyKind:
    """The key's kind; InvalidKey for curves and sizes ecert does not accept."""
    if isinstance(key, SM2PublicKey):
        return KeyKind.SM2
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidKey(f"EC curve {key.curve.name} is not supported", expected="P-256 or SM2")
        return KeyKind.P256
    if isinstance(key, ed25519.Ed25519PublicKey):
        return KeyKind.ED25519
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise InvalidKey(f"RSA key of {key.key_size} bits refused as weak", expected=">= 2048 bits")
        return KeyKind.RSA
    raise InvalidKey(f"unsupported key type {type(key).__name__}", expected="SM2, P-256, Ed25519 or RSA")


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A public key of any supported kind; ``verify`` raises :class:`InvalidSignature`."""

    key: SM2PublicKey | _CryptoPublic = field(repr=False)
    kind: KeyKind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _kind_of(self.key))

    def __repr__(self) -> str:
        return f"PublicKey(kind={self.kind.value}, sha256={self.fingerprint()[:16]})"

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
        pss: PssParameters | None = None,
    ) -> None:
        """Verify ``signature`` over ``data``.

        ``algorithm`` defaults to the key's; one that does not fit the key (an SM2 key with
        ECDSA-SHA256) is refused with :class:`UnsupportedAlgorithm`, never reinterpreted.
        ``uid`` is the SM2 user ID (GM/T 0009 default ``1234567812345678``); RSA-PSS needs the
        ``pss`` parameters from its AlgorithmIdentifier.  SM2 and ECDSA signatures are DER.
        """
        algorithm = algorithm or self.default_algorithm
        if algorithm.key_kind is not self.kind:
            raise UnsupportedAlgorithm(f"algorithm {algorithm.name} does not fit a {self.kind.value} key")
        if not isinstance(signature, bytes | bytearray) or not isinstance(data, bytes | bytearray):
            raise InvalidSignature("signature and data must be bytes")
        signature, data = bytes(signature), bytes(data)
        key = self.key
        try:
            if isinstance(key, SM2PublicKey):
                key.verify(signature, data, uid)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, data, ec.ECDSA(_hash(algorithm)))
            elif isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, data)
            elif algorithm is SignatureAlgorithm.RSA_PSS:
                if pss is None:
                    raise UnsupportedAlgorithm("RSA-PSS verification needs the PSS parameters")
                h = pss.digest.hash_algorithm()
                key.verify(signature, data, rsa_padding.PSS(rsa_padding.MGF1(h), pss.salt_length), h)
            else:
                key.verify(signature, data, rsa_padding.PKCS1v15(), _hash(algorithm))
        except _CryptoInvalidSignature:
            raise InvalidSignature(f"{algorithm.name} signature does not verify") from None
        except EcertError as exc:
            if isinstance(exc, InvalidSignature | UnsupportedAlgorithm):
                raise
            reason = parser_reason(exc)
            raise InvalidSignature(f"malformed {algorithm.name} signature ({reason})") from None
        except (ValueError, TypeError) as exc:
            reason = parser_reason(exc)
            raise InvalidSignature(f"malformed {algorithm.name} signature ({reason})") from None

    def spki_der(self) -> bytes:
        """The DER SubjectPublicKeyInfo (SM2: id-ecPublicKey with the sm2p256v1 curve OID)."""
        if isinstance(self.key, SM2PublicKey):
            return _SM2_SPKI_PREFIX + self.key.to_bytes()
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_spki_der(cls, der: bytes) -> PublicKey:
        """Read a SubjectPublicKeyInfo; SM2 with id-ecPublicKey + curve 1.2.156.10197.1.301, or
        with 1.2.156.10197.1.301 as the algorithm itself (some producers write that)."""
        if not isinstance(der, bytes | bytearray):
            raise InvalidKey("public key data must be bytes", value=type(der).__name__)
        der = bytes(der)
        _asn1.bounded(der, "SubjectPublicKeyInfo")
        try:
            info = _SubjectPublicKeyInfo.load(der, strict=True)
            algorithm = info["algorithm"]["algorithm"].dotted
            is_sm2 = algorithm == oids.SM2_CURVE or (
                algorithm == oids.EC_PUBLIC_KEY
                and _curve_oid(info["algorithm"]["parameters"]) == oids.SM2_CURVE
            )
            point = bytes(info["public_key"].native) if is_sm2 else b""
        except Exception as exc:  # asn1crypto raises many kinds, lazily
            raise InvalidKey(f"malformed SubjectPublicKeyInfo ({parser_reason(exc)})") from None
        if is_sm2:
            return cls(SM2PublicKey.from_bytes(point))
        try:
            loaded = serialization.load_der_public_key(der)
        except Exception as exc:  # cryptography raises ValueError, UnsupportedAlgorithm, InternalError
            raise InvalidKey(f"unsupported or malformed public key ({parser_reason(exc)})") from None
        return cls(loaded)  # type: ignore[arg-type]  # _kind_of refuses other types

    def fingerprint(self) -> str:
        """SHA-256 of the DER SubjectPublicKeyInfo, hex (as of `openssl pkey -pubout -outform DER`)."""
        return hashlib.sha256(self.spki_der()).hexdigest()


def _hash(algorithm: SignatureAlgorithm) -> hashes.HashAlgorithm:
    digest = algorithm.digest
    if digest is None:  # only Ed25519 and RSA-PSS, handled before
        raise UnsupportedAlgorithm(f"{algorithm.name} has no fixed digest")
    return digest.hash_algorithm()


@dataclass(frozen=True, slots=True, repr=False)
class PrivateKey:
    """A private key of any supported kind; ``sign`` uses the key's default algorithm."""

    key: SM2PrivateKey | _CryptoPrivate
    kind: KeyKind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.public_key().kind)

    def __repr__(self) -> str:
        return f"PrivateKey(kind={self.kind.value}, public_sha256={self.public_key().fingerprint()[:16]})"

    @property
    def default_algorithm(self) -> SignatureAlgorithm:
        return _DEFAULT_ALGORITHM[self.kind]

    def public_key(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    def sign(self, data: bytes, *, uid: bytes = DEFAULT_UID) -> bytes:
        """Sign with the default algorithm: SM2 → SM2-with-SM3 DER (``uid`` is the SM2 user ID),
        P-256 → ECDSA-SHA256 DER, Ed25519 → 64 bytes, RSA → PKCS#1 v1.5 SHA-256."""
        key = self.key
        if isinstance(key, SM2PrivateKey):
            return key.sign(data, uid)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hashes.SHA256()))
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        return key.sign(data, rsa_padding.PKCS1v15(), hashes.SHA256())


def generate_private_key(kind: KeyKind | str) -> PrivateKey:
    """A fresh key: ``'sm2'``, ``'p256'``, ``'ed25519'`` or ``'rsa'`` (3072 bits)."""
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
    if parameters is None or parameters.name != "named":
        return None
    return str(parameters.chosen.dotted)


# DER of SEQUENCE { SEQUENCE { id-ecPublicKey, sm2p256v1 }, BIT STRING { 00 ... } } up to the
# point: every SM2 SPKI is this prefix plus the 65 bytes of 04 || X || Y (the encoding has no variable
# part; asn1crypto took ~0.25 ms to build it).  tests/test_keys.py compares with asn1crypto's.
_SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


def _sm2_from_sec1(ec_key: keys.ECPrivateKey, outer_curve: str | None) -> PrivateKey | None:
    """The SM2 key of a SEC1 ECPrivateKey; None when its curve is not SM2."""
    inner = ec_key["parameters"]
    curve = outer_curve or (_curve_oid(inner) if inner.native is not None else None)
    if curve != oids.SM2_CURVE:
        if curve is None and inner.native is not None:
            raise InvalidKey("EC private key with explicit curve parameters", expected="a named curve")
        return None
    key = SM2PrivateKey(int(ec_key["private_key"].native))  # checks 1 <= d <= n - 2
    embedded = ec_key["public_key"]
    if embedded.native is not None and SM2PublicKey.from_bytes(bytes(embedded)) != key.public_key():
        raise InvalidKey("the public key stored with the SM2 private key does not match it")
    return PrivateKey(key)


def _load_sm2(der: bytes, sec1: bool) -> PrivateKey | None:
    """SM2 from PKCS#8 or SEC1 DER; None when the key is not SM2 (cryptography reads the rest)."""
    try:
        if sec1:
            return _sm2_from_sec1(keys.ECPrivateKey.load(der, strict=True), None)
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
        inner_der = bytes(info["private_key"].contents)
        return _sm2_from_sec1(keys.ECPrivateKey.load(inner_der, strict=True), curve)
    except EcertError:
        raise
    except Exception as exc:  # asn1crypto raises many kinds, lazily
        raise InvalidKey(f"malformed private key ({parser_reason(exc)})") from None


def _private_der(data: bytes) -> tuple[str | None, bytes]:
    """(PEM type of the first private-key block, or None for DER input, DER)."""
    blocks = _asn1.pem_blocks(data)
    if not blocks:
        return None, data
    for name, der in blocks:
        if name in _PRIVATE_PEM_TYPES:
            if b"Proc-Type: 4,ENCRYPTED" in data:
                raise UnsupportedAlgorithm(
                    "legacy PEM encryption (Proc-Type) is not supported; convert with `openssl pkcs8 -topk8`"
                )
            return name, der
    raise InvalidKey("no private key in the PEM data", value=[name for name, _ in blocks])


def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    """A private key from PEM or DER: PKCS#8 (encrypted or not) or SEC1, SM2 included.

    A wrong password raises :class:`InvalidKey` saying so; an encrypted key without one too.
    """
    if not isinstance(data, bytes | bytearray):
        raise InvalidKey("key data must be bytes", value=type(data).__name__)
    pem_type, der = _private_der(bytes(data))
    _asn1.bounded(der, "private key")
    if pem_type == "ENCRYPTED PRIVATE KEY" or (pem_type is None and _asn1.is_encrypted_pkcs8(der)):
        if password is None:
            raise InvalidKey("the private key is encrypted: a password is needed")
        der, pem_type = _asn1.decrypt_pkcs8(der, password), "PRIVATE KEY"
        _asn1.bounded(der, "decrypted private key")
    sec1 = _is_sec1(der) if pem_type is None else pem_type in _SEC1_PEM_TYPES  # DER: either
    sm2 = _load_sm2(der, sec1)
    if sm2 is not None:
        return sm2
    try:
        loaded = serialization.load_der_private_key(der, password=None)
    except Exception as exc:  # ValueError, UnsupportedAlgorithm, and InternalError for a bad Ed25519 length
        raise InvalidKey(f"unsupported or malformed private key ({parser_reason(exc)})") from None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise InvalidKey(f"unsupported private key type {type(loaded).__name__}")
    return PrivateKey(loaded)


def _is_sec1(der: bytes) -> bool:
    try:
        return bool(keys.ECPrivateKey.load(der, strict=True)["version"].native == "ecPrivkeyVer1")
    except Exception:  # not SEC1, whatever asn1crypto raised
        return False


def load_public_key(data: bytes) -> PublicKey:
    """A public key from PEM (``PUBLIC KEY``) or DER SubjectPublicKeyInfo."""
    if not isinstance(data, bytes | bytearray):
        raise InvalidKey("key data must be bytes", value=type(data).__name__)
    blocks = _asn1.pem_blocks(bytes(data))
    if not blocks:
        return PublicKey.from_spki_der(bytes(data))
    for name, der in blocks:
        if name == "PUBLIC KEY":
            return PublicKey.from_spki_der(der)
    raise InvalidKey("no PUBLIC KEY block in the PEM data", value=[name for name, _ in blocks])


def load_pkcs12(
    data: bytes, password: bytes | None
) -> tuple[PrivateKey, Certificate | None, tuple[Certificate, ...]]:
    """(key, its certificate or None, the other certificates) from a PKCS#12 (.p12/.pfx) file.

    cryptography reads P-256, Ed25519 and RSA files (legacy ciphers included); files it cannot
    read (SM2) are opened with asn1crypto, PBES2 only.  The certificate is the one whose
    public key matches the private key.
    """
    from cryptography.hazmat.primitives.serialization import pkcs12  # only here: few processes open one

    from ecert.crypto.x509 import Certificate  # x509 imports this module

    if not isinstance(data, bytes | bytearray):
        raise InvalidKey("PKCS#12 data must be bytes", value=type(data).__name__)
    data = bytes(data)
    _asn1.check_pkcs12_work(data, password)  # bounds and iteration counts before anything derives
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except Exception:  # any refusal of cryptography's reader: ours reads the file (or says why not)
        key = None
    if key is not None:
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
            raise InvalidKey(f"unsupported private key type {type(key).__name__}")
        der_certs = ([cert] if cert is not None else []) + list(extra)
        certs = [Certificate.from_der(c.public_bytes(serialization.Encoding.DER)) for c in der_certs]
        return _match(PrivateKey(key), certs)
    key_ders, cert_ders = _asn1.read_pkcs12(data, password or b"")
    if len(key_ders) != 1:
        raise InvalidKey(f"the PKCS#12 file holds {len(key_ders)} private keys", expected="exactly one")
    return _match(load_private_key(key_ders[0]), [Certificate.from_der(d) for d in cert_ders])


def _match(
    key: PrivateKey, certs: list[Certificate]
) -> tuple[PrivateKey, Certificate | None, tuple[Certificate, ...]]:
    spki = key.public_key().spki_der()
    mine = next((c for c in certs if c.public_key.spki_der() == spki), None)
    return key, mine, tuple(c for c in certs if c is not mine)


def pbes2_decrypt(alg: Any, encrypted: bytes, password: bytes) -> bytes:
    """PBES2-encrypted content (PKCS#8, PKCS#12 bags); kept for :mod:`ecert.crypto.pkcs12`."""
    return _asn1.pbes2_decrypt(alg, encrypted, password, "encrypted data")


# --- writing -------------------------------------------------------------------------------------


def _sm2_pkcs8(key: SM2PrivateKey) -> bytes:
    """PKCS#8 as OpenSSL 3 writes SM2 keys: id-ecPublicKey, curve sm2p256v1, SEC1 inside."""
    ec_key = keys.ECPrivateKey(
        {"version": "ecPrivkeyVer1", "private_key": key.d, "public_key": key.public_key().to_bytes()}
    )
    info = keys.PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": {"algorithm": "ec", "parameters": ("named", oids.SM2_CURVE)},
            "private_key": ec_key,
        }
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
        return bytes(pem.armor("ENCRYPTED PRIVATE KEY", _asn1.encrypt_pkcs8(der, password)))
    return bytes(pem.armor("PRIVATE KEY", der))


def save_public_key(key: PublicKey) -> bytes:
    """PEM SubjectPublicKeyInfo (``-----BEGIN PUBLIC KEY-----``)."""
    return bytes(pem.armor("PUBLIC KEY", key.spki_der()))
