"""SM2 digital signatures (GB/T 32918.2-2016 / GM/T 0003.2-2012) with SM3, in pure Python.

``Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)`` (GB/T 32918.2 §5.5),
``e = SM3(Z_A || M)``; signing (§6.1): ``(x1, y1) = kG``, ``r = (e + x1) mod n``,
``s = (1 + d)^-1 (k - r d) mod n``; verification (§7.1): ``t = (r + s) mod n != 0``,
``(x1, y1) = sG + tP``, ``r == (e + x1) mod n``.  The user ID defaults to ``1234567812345678``
(GM/T 0009 / GB/T 35276), which OFD, SES seals and X.509 SM2 certificates use.  Signatures are
DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GB/T 35276) or raw 64-byte ``r || s``.

Curve arithmetic lives in :mod:`ecert.crypto.ec` (Jacobian coordinates, fixed-base table for G,
wNAF for other points).

.. warning:: **Not constant-time.**  Pure-Python big-integer arithmetic takes time that depends
   on the values (scalar bits, nonces, intermediate results), so signing leaks timing
   information about the private key and the nonce ``k``.  Verification handles only public
   data and is fine anywhere; *signing* on a shared host (other tenants, co-located processes
   able to measure timing or caches) is a side-channel risk — use an HSM / a constant-time
   implementation for keys that matter there.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from ecert.crypto.digests import sm3
from ecert.crypto.ec import Curve
from ecert.errors import InputError, InvalidKey, InvalidSignature

__all__ = [
    "DEFAULT_UID",
    "SM2P256V1",
    "Curve",
    "SM2PrivateKey",
    "SM2PublicKey",
    "decode_der_signature",
    "der_to_raw",
    "encode_der_signature",
    "raw_to_der",
    "sm2_e",
    "test_curve_gbt32918",
]

DEFAULT_UID: bytes = b"1234567812345678"
"""Default signer ID (GM/T 0009-2012 §10 / GB/T 35276-2017), ENTL = 0x0080."""

_MAX_UID = 0xFFFF // 8  # ENTL is the bit length of ID in two bytes

# --- curve parameters (the one place they are written down) -----------------------------------

SM2P256V1: Curve = Curve(
    # GB/T 32918.5-2017 (= GM/T 0003.5-2012) "曲线参数", the recommended 256-bit curve; a = p - 3.
    name="sm2p256v1",
    p=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF,
    a=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFC,
    b=0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93,
    n=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123,
    gx=0x32C4AE2C_1F198119_5F990446_6A39C994_8FE30BBF_F2660BE1_715A4589_334C74C7,
    gy=0xBC3736A2_F4F6779C_59BDCEE3_6B692153_D0A9877C_C62A4740_02DF32E5_2139F0A0,
)

_TEST_CURVE: Curve = Curve(
    # GB/T 32918.2-2016 Annex A (= GM/T 0003.2-2012 附录 A) 256-bit prime-field *test* curve;
    # for the published example only, never for real keys.
    name="gbt32918-2-annex-a-fp256",
    p=0x8542D69E_4C044F18_E8B92435_BF6FF7DE_45728391_5C45517D_722EDB8B_08F1DFC3,
    a=0x787968B4_FA32C3FD_2417842E_73BBFEFF_2F3C848B_6831D7E0_EC65228B_3937E498,
    b=0x63E4C6D3_B23B0C84_9CF84241_484BFE48_F61D59A5_B16BA06E_6E12D1DA_27C5249A,
    n=0x8542D69E_4C044F18_E8B92435_BF6FF7DD_29772063_0485628D_5AE74EE7_C32E79B7,
    gx=0x421DEBD6_1B62EAB6_746434EB_C3CC315E_32220B3B_ADD50BDC_4C4E6C14_7FEDD43D,
    gy=0x0680512B_CBB42C07_D47349D2_153B70C4_E5D7FDFC_BFA36EA1_A85841B9_E46E09A2,
)


def test_curve_gbt32918() -> Curve:
    """The GB/T 32918.2 Annex A 256-bit test curve (its example signature is vector B)."""
    return _TEST_CURVE


test_curve_gbt32918.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


# --- helpers --------------------------------------------------------------------------------


def _require_bytes(value: object, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


def _int_to_bytes(value: int, curve: Curve) -> bytes:
    return value.to_bytes(curve.byte_length, "big")


def _check_uid(uid: bytes) -> bytes:
    uid = _require_bytes(uid, "uid")
    if len(uid) > _MAX_UID:
        raise InputError("SM2 user ID too long", value=len(uid), expected=f"at most {_MAX_UID} bytes")
    return uid


def _za(curve: Curve, x: int, y: int, uid: bytes) -> bytes:
    enc = curve.byte_length
    return sm3(
        (len(uid) * 8).to_bytes(2, "big")
        + uid
        + b"".join(v.to_bytes(enc, "big") for v in (curve.a, curve.b, curve.gx, curve.gy, x, y))
    )


# --- public key -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SM2PublicKey:
    """An SM2 public key: a point on ``curve`` (checked at construction; never infinity)."""

    x: int
    y: int
    curve: Curve = SM2P256V1
    _z_default: list[bytes] = field(default_factory=list, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.x, int) and isinstance(self.y, int)):
            raise TypeError("SM2PublicKey coordinates must be int")
        if not self.curve.contains(self.x, self.y):
            raise InvalidKey(
                "SM2 public key is not a point on the curve", where=self.curve.name, expected="0 <= x, y < p"
            )

    @classmethod
    def from_bytes(cls, data: bytes, curve: Curve = SM2P256V1) -> SM2PublicKey:
        """Parse ``04 || X || Y`` or compressed ``02/03 || X`` (GB/T 32918.1 §4.2.9)."""
        data = _require_bytes(data, "public key")
        size = curve.byte_length
        if not data:
            raise InvalidKey("empty SM2 public key", expected="04||X||Y or 02/03||X")
        tag = data[0]
        if tag == 0x04:
            if len(data) != 1 + 2 * size:
                raise InvalidKey("SM2 public key length", value=len(data), expected=f"{1 + 2 * size} bytes")
            x = int.from_bytes(data[1 : 1 + size], "big")
            y = int.from_bytes(data[1 + size :], "big")
            return cls(x, y, curve)
        if tag in (0x02, 0x03):
            if len(data) != 1 + size:
                raise InvalidKey("SM2 public key length", value=len(data), expected=f"{1 + size} bytes")
            x = int.from_bytes(data[1:], "big")
            return cls(x, _decompress_y(curve, x, tag & 1), curve)
        if tag == 0x00 and len(data) == 1:
            raise InvalidKey("SM2 public key is the point at infinity")
        raise InvalidKey("SM2 public key encoding", value=tag, expected="first byte 02, 03 or 04")

    def to_bytes(self, compressed: bool = False) -> bytes:
        """``04 || X || Y``, or ``02/03 || X`` when ``compressed``."""
        if compressed:
            return bytes([2 | (self.y & 1)]) + _int_to_bytes(self.x, self.curve)
        return b"\x04" + _int_to_bytes(self.x, self.curve) + _int_to_bytes(self.y, self.curve)

    def z(self, uid: bytes = DEFAULT_UID) -> bytes:
        """Z_A (GB/T 32918.2 §5.5) for the signer ID ``uid``, 32 bytes."""
        uid = _check_uid(uid)
        if uid == DEFAULT_UID:
            if not self._z_default:
                self._z_default.append(_za(self.curve, self.x, self.y, uid))
            return self._z_default[0]
        return _za(self.curve, self.x, self.y, uid)

    def digest(self, data: bytes, uid: bytes = DEFAULT_UID) -> int:
        """``e = SM3(Z_A || M)`` as an integer (the value signed)."""
        return int.from_bytes(sm3(self.z(uid) + _require_bytes(data, "data")), "big")

    def verify(self, signature: bytes, data: bytes, uid: bytes = DEFAULT_UID) -> None:
        """Verify a DER ``SEQUENCE {r, s}`` signature over ``data``; raise :class:`InvalidSignature`."""
        r, s = decode_der_signature(signature)
        self.verify_digest(r, s, self.digest(data, uid))

    def verify_raw(self, signature: bytes, data: bytes, uid: bytes = DEFAULT_UID) -> None:
        """Verify a raw ``r || s`` signature (2 x 32 bytes) over ``data``."""
        signature = _require_bytes(signature, "signature")
        size = self.curve.byte_length
        if len(signature) != 2 * size:
            raise InvalidSignature(f"raw SM2 signature must be {2 * size} bytes, got {len(signature)}")
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        self.verify_digest(r, s, self.digest(data, uid))

    def verify_digest(self, r: int, s: int, e: int) -> None:
        """Verify ``(r, s)`` for ``e = SM3(Z_A || M)`` (GB/T 32918.2 §7.1); raise InvalidSignature."""
        curve = self.curve
        n = curve.n
        if not (isinstance(r, int) and isinstance(s, int) and isinstance(e, int)):
            raise TypeError("r, s and e must be int")
        if not (0 < r < n and 0 < s < n):
            raise InvalidSignature("SM2 signature r or s out of range [1, n-1]")
        t = (r + s) % n
        if t == 0:
            raise InvalidSignature("SM2 signature invalid (t = 0)")
        X, _, Z = curve.mul_add_base(s, t, self.x, self.y)
        if Z == 0:
            raise InvalidSignature("SM2 signature invalid (sG + tP is infinity)")
        # x1 = X / Z^2 must satisfy (e + x1) mod n == r: test the candidates without inverting Z.
        p = curve.p
        zz = Z * Z % p
        x1 = (r - e) % n
        while x1 < p:
            if x1 * zz % p == X:
                return
            x1 += n
        raise InvalidSignature("SM2 signature does not verify")


def _decompress_y(curve: Curve, x: int, odd: int) -> int:
    p = curve.p
    if x >= p:
        raise InvalidKey("SM2 public key x >= p")
    rhs = ((x * x + curve.a) * x + curve.b) % p
    y = pow(rhs, (p + 1) // 4, p) if p % 4 == 3 else _sqrt_tonelli(rhs, p)
    if y * y % p != rhs:
        raise InvalidKey("SM2 compressed public key: x is not on the curve")
    if y & 1 != odd:
        y = p - y
    return y


def _sqrt_tonelli(a: int, p: int) -> int:
    """A square root of ``a`` mod an odd prime ``p`` (any root; caller checks it)."""
    if a == 0:
        return 0
    if pow(a, (p - 1) // 2, p) != 1:
        return 0
    q, m = p - 1, 0
    while q % 2 == 0:
        q //= 2
        m += 1
    z = 2
    while pow(z, (p - 1) // 2, p) != p - 1:
        z += 1
    c, t, root = pow(z, q, p), pow(a, q, p), pow(a, (q + 1) // 2, p)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2 = t2 * t2 % p
            i += 1
        b = pow(c, 1 << (m - i - 1), p)
        m, c = i, b * b % p
        t, root = t * c % p, root * b % p
    return root


# --- private key ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class SM2PrivateKey:
    """An SM2 private key ``d`` in [1, n-2] (GB/T 32918.1 §6.1); its repr never shows ``d``."""

    d: int
    curve: Curve = SM2P256V1
    _cache: list[object] = field(default_factory=list, init=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.d, int):
            raise TypeError("SM2PrivateKey.d must be int")
        if not 1 <= self.d <= self.curve.n - 2:
            raise InvalidKey("SM2 private key out of range", expected="1 <= d <= n - 2")

    def __repr__(self) -> str:
        return f"SM2PrivateKey(curve={self.curve.name}, public={self.public_key().to_bytes(True).hex()})"

    @classmethod
    def generate(cls, curve: Curve = SM2P256V1) -> SM2PrivateKey:
        """A fresh key from :mod:`secrets`."""
        return cls(1 + secrets.randbelow(curve.n - 2), curve)

    @classmethod
    def from_bytes(cls, data: bytes, curve: Curve = SM2P256V1) -> SM2PrivateKey:
        """A key from its big-endian encoding (``curve.byte_length`` bytes, 32 for sm2p256v1)."""
        data = _require_bytes(data, "private key")
        if len(data) != curve.byte_length:
            raise InvalidKey("SM2 private key length", value=len(data), expected=f"{curve.byte_length} bytes")
        return cls(int.from_bytes(data, "big"), curve)

    def to_bytes(self) -> bytes:
        return _int_to_bytes(self.d, self.curve)

    def _precomputed(self) -> tuple[SM2PublicKey, int]:
        if not self._cache:
            curve = self.curve
            point = curve.to_affine(curve.mul_base(self.d))
            assert point is not None  # d in [1, n-2]
            self._cache.append((SM2PublicKey(point[0], point[1], curve), pow(1 + self.d, -1, curve.n)))
        return self._cache[0]  # type: ignore[return-value]

    def public_key(self) -> SM2PublicKey:
        """``P = dG`` (computed once)."""
        return self._precomputed()[0]

    def sign(self, data: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """Sign ``data``; DER ``SEQUENCE {r, s}``."""
        return encode_der_signature(*self.sign_digest(self.public_key().digest(data, uid)))

    def sign_raw(self, data: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """Sign ``data``; raw ``r || s`` (2 x 32 bytes)."""
        r, s = self.sign_digest(self.public_key().digest(data, uid))
        return _int_to_bytes(r, self.curve) + _int_to_bytes(s, self.curve)

    def sign_digest(self, e: int, k: int | None = None) -> tuple[int, int]:
        """Sign ``e = SM3(Z_A || M)`` (GB/T 32918.2 §6.1); ``k`` only to reproduce published vectors."""
        if not isinstance(e, int):
            raise TypeError("e must be int")
        curve = self.curve
        n = curve.n
        d = self.d
        inv = self._precomputed()[1]
        while True:
            kk = 1 + secrets.randbelow(n - 1) if k is None else k
            if not 0 < kk < n:
                raise InputError("SM2 nonce out of range", expected="1 <= k <= n - 1")
            point = curve.to_affine(curve.mul_base(kk))
            assert point is not None
            r = (e + point[0]) % n
            if r != 0 and r + kk != n:
                s = inv * (kk - r * d) % n
                if s != 0:
                    return r, s
            if k is not None:
                raise InputError("SM2 nonce gives r = 0, r + k = n or s = 0", expected="another k")


def sm2_e(public_key: SM2PublicKey, data: bytes, uid: bytes = DEFAULT_UID) -> int:
    """``e = SM3(Z_A || M)`` as an integer (for signers that hash elsewhere)."""
    return public_key.digest(data, uid)


# --- signature encodings --------------------------------------------------------------------


def _der_int(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # leading 0x00 only when needed
    return b"\x02" + _der_len(len(body)) + body


def _der_len(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode_der_signature(r: int, s: int) -> bytes:
    """DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GB/T 35276-2017 §7.3) for positive r, s."""
    if not (isinstance(r, int) and isinstance(s, int)):
        raise TypeError("r and s must be int")
    if r <= 0 or s <= 0:
        raise InputError("SM2 signature values must be positive", value=(r, s))
    body = _der_int(r) + _der_int(s)
    return b"\x30" + _der_len(len(body)) + body


def _read_tlv(data: bytes, pos: int, tag: int, what: str) -> tuple[int, int]:
    """(start, end) of the value of the DER element at ``pos`` with ``tag``; strict lengths."""
    if pos + 2 > len(data):
        raise InvalidSignature(f"DER signature truncated at {what}")
    if data[pos] != tag:
        raise InvalidSignature(f"DER signature: {what} has tag 0x{data[pos]:02x}, expected 0x{tag:02x}")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise InvalidSignature(f"DER signature: bad length of {what}")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise InvalidSignature(f"DER signature: non-minimal length of {what}")
        pos += count
    if pos + length > len(data):
        raise InvalidSignature(f"DER signature truncated in {what}")
    return pos, pos + length


def _parse_int(data: bytes, pos: int, what: str) -> tuple[int, int]:
    start, end = _read_tlv(data, pos, 0x02, what)
    if start == end:
        raise InvalidSignature(f"DER signature: empty INTEGER {what}")
    if data[start] & 0x80:
        raise InvalidSignature(f"DER signature: negative {what}")
    if data[start] == 0 and (end - start == 1 or not data[start + 1] & 0x80):
        if end - start == 1:
            raise InvalidSignature(f"DER signature: {what} is zero")
        raise InvalidSignature(f"DER signature: non-minimal INTEGER {what}")
    return int.from_bytes(data[start:end], "big"), end


def decode_der_signature(data: bytes) -> tuple[int, int]:
    """``(r, s)`` from a strict DER ``SEQUENCE { r INTEGER, s INTEGER }``; raise :class:`InvalidSignature`.

    Minimal lengths, positive minimal integers, nothing after the sequence (ranges against the
    curve order are checked by verification).
    """
    data = _require_bytes(data, "signature")
    start, end = _read_tlv(data, 0, 0x30, "SEQUENCE")
    if end != len(data):
        raise InvalidSignature("DER signature: bytes after the SEQUENCE")
    r, pos = _parse_int(data, start, "r")
    s, pos = _parse_int(data, pos, "s")
    if pos != end:
        raise InvalidSignature("DER signature: extra data inside the SEQUENCE")
    return r, s


def raw_to_der(sig: bytes) -> bytes:
    """Raw 64-byte ``r || s`` to DER."""
    sig = _require_bytes(sig, "signature")
    if len(sig) != 64:
        raise InvalidSignature(f"raw SM2 signature must be 64 bytes, got {len(sig)}")
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if r == 0 or s == 0:
        raise InvalidSignature("raw SM2 signature has r or s = 0")
    return encode_der_signature(r, s)


def der_to_raw(sig: bytes) -> bytes:
    """DER to raw 64-byte ``r || s``."""
    r, s = decode_der_signature(sig)
    if r >> 256 or s >> 256:
        raise InvalidSignature("DER signature value longer than 32 bytes")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
