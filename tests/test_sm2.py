"""SM2 signatures (GB/T 32918.2): published vectors, gmssl and OpenSSL interop, the ofdrw signature,
malformed input, properties, and the curve arithmetic against a naive reference."""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
import zipfile
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecert.crypto import ec
from ecert.crypto.sm2 import (
    DEFAULT_UID,
    SM2P256V1,
    Curve,
    SM2PrivateKey,
    SM2PublicKey,
    decode_der_signature,
    der_to_raw,
    encode_der_signature,
    raw_to_der,
    test_curve_gbt32918,
)
from ecert.errors import EcertError, InputError, InvalidKey, InvalidSignature

from .thirdparty import OFDRW

VECTORS: dict[str, Any] = json.loads((files("ecert") / "spec" / "vectors" / "sm2.json").read_text("utf-8"))
CURVES = {SM2P256V1.name: SM2P256V1, test_curve_gbt32918().name: test_curve_gbt32918()}
INTEROP = OFDRW
N = SM2P256V1.n
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEY = SM2PrivateKey.from_bytes(bytes.fromhex(VECTORS["vectors"][0]["d"]))
PUB = KEY.public_key()


def h(value: str) -> int:
    return int(value, 16)


# --- published vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("v", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vector(v: dict[str, str]) -> None:
    curve = CURVES[v["curve"]]
    uid, message = bytes.fromhex(v["uid_hex"]), bytes.fromhex(v["message_hex"])
    key = SM2PrivateKey(h(v["d"]), curve)
    pub = key.public_key()
    assert (pub.x, pub.y) == (h(v["px"]), h(v["py"]))
    assert pub.z(uid) == bytes.fromhex(v["za"])
    e = pub.digest(message, uid)
    assert e == h(v["e"])
    r, s = key.sign_digest(e, k=h(v["k"]))
    assert (r, s) == (h(v["r"]), h(v["s"]))
    pub.verify_digest(r, s, e)
    pub.verify(encode_der_signature(r, s), message, uid)
    pub.verify_raw(r.to_bytes(32, "big") + s.to_bytes(32, "big"), message, uid)
    with pytest.raises(InvalidSignature):
        pub.verify(encode_der_signature(r, s), message + b".", uid)
    with pytest.raises(InvalidSignature):
        pub.verify(encode_der_signature(r, s), message, uid + b"X")


@pytest.mark.parametrize("case", VECTORS["invalid_signatures"]["cases"], ids=lambda c: c["why"])
def test_invalid_signature_vectors(case: dict[str, str]) -> None:
    v = VECTORS["vectors"][0]
    e = h(v["e"])
    with pytest.raises(InvalidSignature):
        PUB.verify_digest(h(case["r"]), h(case["s"]), e)


@pytest.mark.parametrize("case", VECTORS["invalid_der"]["cases"], ids=lambda c: c["why"])
def test_invalid_der_vectors(case: dict[str, str]) -> None:
    data = bytes.fromhex(case["der"])
    with pytest.raises(InvalidSignature):
        decode_der_signature(data)
    with pytest.raises(InvalidSignature):
        PUB.verify(data, b"message digest")


def test_default_uid_and_z_cache() -> None:
    assert DEFAULT_UID == b"1234567812345678"
    assert PUB.z() == PUB.z(DEFAULT_UID) == PUB.z(bytearray(DEFAULT_UID))
    assert PUB.z(b"") != PUB.z()


# --- keys ------------------------------------------------------------------------------------


def test_key_encodings_round_trip() -> None:
    for _ in range(5):
        key = SM2PrivateKey.generate()
        assert 1 <= key.d <= N - 2
        assert SM2PrivateKey.from_bytes(key.to_bytes()) == key
        pub = key.public_key()
        assert key.public_key() is pub  # cached
        assert SM2PublicKey.from_bytes(pub.to_bytes()) == pub
        assert SM2PublicKey.from_bytes(pub.to_bytes(compressed=True)) == pub
        assert len(pub.to_bytes()) == 65 and len(pub.to_bytes(True)) == 33
    key_b = SM2PrivateKey.generate(test_curve_gbt32918())
    pub_b = key_b.public_key()
    assert SM2PublicKey.from_bytes(pub_b.to_bytes(True), test_curve_gbt32918()) == pub_b


def test_private_key_repr_hides_d() -> None:
    text = repr(KEY) + str(KEY)
    assert f"{KEY.d:x}" not in text.lower() and str(KEY.d) not in text
    assert "d=" not in text


@pytest.mark.parametrize("d", [0, N - 1, N, N + 5, -1, 2**256])
def test_private_key_out_of_range(d: int) -> None:
    with pytest.raises(InvalidKey):
        SM2PrivateKey(d)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 32, b"\xff" * 32, N.to_bytes(32, "big"), (N - 1).to_bytes(32, "big"), b"\x01" * 31],
)
def test_private_key_from_bad_bytes(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        SM2PrivateKey.from_bytes(data)


def _bad_points() -> list[bytes]:
    p = SM2P256V1.p
    good = PUB.to_bytes()
    x, y = PUB.x, PUB.y
    return (
        [
            b"",
            b"\x00",  # infinity
            b"\x04",
            good[:-1],
            good + b"\x00",
            b"\x05" + good[1:],
            b"\x04" + x.to_bytes(32, "big") + ((y + 1) % p).to_bytes(32, "big"),  # off the curve
            b"\x04" + (x + p).to_bytes(33, "big")[1:] + y.to_bytes(32, "big"),  # wraps: x + p mod 2^256
            b"\x04" + b"\xff" * 64,  # coordinates >= p
            b"\x04" + b"\x00" * 64,
            b"\x02" + b"\xff" * 32,  # x >= p
            b"\x03" + good[1:],  # compressed tag, uncompressed length
            b"\x02" + good[1:33] + b"\x00",
        ]
        + [b"\x02" + x_.to_bytes(32, "big") for x_ in _non_residue_xs(3)]
    )


def _non_residue_xs(count: int) -> list[int]:
    """x values with no point on the curve (x^3 + ax + b is not a square)."""
    curve, out, x = SM2P256V1, [], 1
    while len(out) < count:
        rhs = (x**3 + curve.a * x + curve.b) % curve.p
        if pow(rhs, (curve.p - 1) // 2, curve.p) == curve.p - 1:
            out.append(x)
        x += 1
    return out


@pytest.mark.parametrize("data", _bad_points())
def test_public_key_from_bad_bytes(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        SM2PublicKey.from_bytes(data)


def test_public_key_construction_checks_the_point() -> None:
    with pytest.raises(InvalidKey):
        SM2PublicKey(PUB.x, (PUB.y + 1) % SM2P256V1.p)
    with pytest.raises(InvalidKey):
        SM2PublicKey(PUB.x + SM2P256V1.p, PUB.y)
    with pytest.raises(InvalidKey):  # the point of vector A is not on the test curve
        SM2PublicKey(PUB.x, PUB.y, test_curve_gbt32918())


def test_type_errors_for_non_bytes() -> None:
    with pytest.raises(TypeError):
        PUB.verify("30", b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SM2PublicKey.from_bytes("04")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        KEY.sign("text")  # type: ignore[arg-type]


def test_uid_too_long() -> None:
    with pytest.raises(InputError):
        PUB.z(b"x" * 8192)
    PUB.z(b"x" * 8191)


# --- signatures: properties and malformed input -----------------------------------------------


@FAST
@given(message=st.binary(max_size=300), uid=st.binary(max_size=40), bit=st.integers(min_value=0))
def test_sign_verify_and_bit_flips(message: bytes, uid: bytes, bit: int) -> None:
    sig = KEY.sign(message, uid)
    PUB.verify(sig, message, uid)
    raw = KEY.sign_raw(message, uid)
    PUB.verify_raw(raw, message, uid)
    assert der_to_raw(raw_to_der(raw)) == raw and decode_der_signature(raw_to_der(raw)) == (
        int.from_bytes(raw[:32], "big"),
        int.from_bytes(raw[32:], "big"),
    )

    def flip(data: bytes) -> bytes:
        if not data:
            return b"\x00"
        i = bit % (8 * len(data))
        out = bytearray(data)
        out[i // 8] ^= 1 << (i % 8)
        return bytes(out)

    for args in ((sig, flip(message), uid), (sig, message, flip(uid)), (flip(sig), message, uid)):
        with pytest.raises(InvalidSignature):
            PUB.verify(*args)
    with pytest.raises(InvalidSignature):
        PUB.verify_raw(flip(raw), message, uid)


def test_signatures_are_randomised_and_other_key_fails() -> None:
    assert KEY.sign(b"m") != KEY.sign(b"m")
    other = SM2PrivateKey.generate().public_key()
    with pytest.raises(InvalidSignature):
        other.verify(KEY.sign(b"m"), b"m")


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 1), (1, 0), (N, 1), (1, N), (2**256 - 1, 1), (1, 2**300), (N - 1, 1), (5, N - 5)],
)
def test_out_of_range_values(r: int, s: int) -> None:
    with pytest.raises(InvalidSignature):
        PUB.verify_digest(r, s, 12345)
    if r > 0 and s > 0:
        with pytest.raises(InvalidSignature):
            PUB.verify(encode_der_signature(r, s), b"m")


def test_wrong_raw_lengths() -> None:
    raw = KEY.sign_raw(b"m")
    for bad in (raw[:-1], raw + b"\x00", b"", b"\x00" * 64):
        with pytest.raises(InvalidSignature):
            PUB.verify_raw(bad, b"m")
        with pytest.raises(InvalidSignature):
            raw_to_der(bad)
    with pytest.raises(InvalidSignature):
        der_to_raw(encode_der_signature(2**256, 1))


def test_der_encoding_is_minimal() -> None:
    assert encode_der_signature(1, 0x80) == bytes.fromhex("3007020101020200 80".replace(" ", ""))
    big = encode_der_signature(2**1100, 1)  # long-form lengths round-trip
    assert decode_der_signature(big) == (2**1100, 1)
    with pytest.raises(InputError):
        encode_der_signature(0, 1)


@FAST
@given(st.binary(max_size=120))
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        r, s = decode_der_signature(data)
    except InvalidSignature:
        pass
    else:
        assert encode_der_signature(r, s) == data  # whatever is accepted is canonical DER
    with pytest.raises(InvalidSignature):
        PUB.verify(data, b"m")
    with pytest.raises(InvalidSignature):
        PUB.verify_raw(data, b"m")
    with contextlib.suppress(InvalidKey):
        SM2PublicKey.from_bytes(data)


@FAST
@given(st.integers(min_value=1, max_value=2**300), st.integers(min_value=1, max_value=2**300))
def test_der_round_trip(r: int, s: int) -> None:
    assert decode_der_signature(encode_der_signature(r, s)) == (r, s)


@FAST
@given(prefix=st.binary(max_size=8), cut=st.integers(min_value=0, max_value=80))
def test_mangled_real_signatures(prefix: bytes, cut: int) -> None:
    sig = KEY.sign(b"m")
    for bad in (sig[:cut] if cut < len(sig) else sig + prefix, prefix + sig, sig[:cut] + prefix + sig[cut:]):
        if bad == sig:
            continue
        with pytest.raises(InvalidSignature):
            PUB.verify(bad, b"m")


def test_sign_digest_rejects_bad_nonce() -> None:
    with pytest.raises(InputError):
        KEY.sign_digest(1, k=0)
    with pytest.raises(InputError):
        KEY.sign_digest(1, k=N)


# --- curve arithmetic against a naive affine reference ----------------------------------------


def _naive_add(curve: Curve, a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    p = curve.p
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % p == 0:
        return None
    if a == b:
        lam = (3 * a[0] * a[0] + curve.a) * pow(2 * a[1], -1, p) % p
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, p) % p
    x = (lam * lam - a[0] - b[0]) % p
    return x, (lam * (a[0] - x) - a[1]) % p


def _naive_mul(curve: Curve, k: int, point: tuple[int, int]) -> tuple[int, int] | None:
    acc: tuple[int, int] | None = None
    for bit in bin(k)[2:] if k else "":
        acc = _naive_add(curve, acc, acc)
        if bit == "1":
            acc = _naive_add(curve, acc, point)
    return acc


@pytest.mark.parametrize("curve", list(CURVES.values()), ids=lambda c: c.name)
def test_scalar_multiplication_matches_naive(curve: Curve) -> None:
    n = curve.n
    g = (curve.gx, curve.gy)
    q = curve.to_affine(curve.mul_base(secrets.randbelow(n - 1) + 1))
    assert q is not None
    scalars = [0, 1, 2, 3, 15, 16, 17, 255, 256, 2**128, n - 1, n - 2, n, n + 1, 2 * n - 1]
    scalars += [secrets.randbelow(n) for _ in range(6)] + [secrets.randbits(256)]
    for k in scalars:
        expect_g = _naive_mul(curve, k, g)
        assert curve.to_affine(curve.mul_base(k)) == expect_g, k
        assert curve.to_affine(curve.mul(k, *g)) == expect_g, k
        assert curve.to_affine(curve.mul(k, *q)) == _naive_mul(curve, k, q), k
    for s, t in [(1, 1), (0, 1), (1, 0), (0, 0), (5, n - 5), (secrets.randbelow(n), secrets.randbelow(n))]:
        expect = _naive_add(curve, _naive_mul(curve, s, g), _naive_mul(curve, t, q))
        assert curve.to_affine(curve.mul_add_base(s, t, *q)) == expect, (s, t)
    # P + P, P - P in the Jacobian helpers
    jq = (q[0], q[1], 1)
    assert curve.to_affine(curve.add(jq, jq)) == _naive_add(curve, q, q)
    assert curve.add(jq, (q[0], curve.p - q[1], 1))[2] == 0


def test_key_tables_for_frequent_keys_agree() -> None:
    key = SM2PrivateKey.generate()
    pub = key.public_key()
    sigs = [(key.sign(bytes([i])), bytes([i])) for i in range(12)]
    for sig, message in sigs:  # crosses the threshold where a table for this key is built
        pub.verify(sig, message)
        with pytest.raises(InvalidSignature):
            pub.verify(sig, message + b"!")
    for k in (1, N - 1, secrets.randbelow(N)):
        assert SM2P256V1.to_affine(SM2P256V1.mul_add_base(0, k, pub.x, pub.y)) == _naive_mul(
            SM2P256V1, k, (pub.x, pub.y)
        )


def test_wnaf_digits() -> None:
    for k in (1, 7, 31, 2**255 + 12345, secrets.randbits(256)):
        digits = ec.wnaf(k)
        assert sum(d << i for i, d in enumerate(digits)) == k
        assert all(d == 0 or (d % 2 and abs(d) < 16) for d in digits)


def test_fixed_base_table_builds_fast() -> None:
    import time

    curve = Curve("copy", SM2P256V1.p, SM2P256V1.a, SM2P256V1.b, SM2P256V1.n, SM2P256V1.gx, SM2P256V1.gy)
    start = time.perf_counter()
    curve.base_table()
    assert time.perf_counter() - start < 1.0  # about 0.07 s here; generous for loaded CI


def test_bad_curves_refused() -> None:
    c = SM2P256V1
    with pytest.raises(EcertError):
        Curve("bad G", c.p, c.a, c.b, c.n, c.gx, c.gy + 1)
    with pytest.raises(EcertError):
        Curve("cofactor", c.p, c.a, c.b, c.n // 2 + 1, c.gx, c.gy)


# --- interop: ofdrw, OpenSSL (gmssl: test_sm2_gmssl.py) ------------------------------------


def test_ofdrw_digital_signature() -> None:
    with zipfile.ZipFile(INTEROP / "DigitalSign.ofd") as z:
        signed = z.read("Doc_0/Signs/Sign_0/Signature.xml")
        value = z.read("Doc_0/Signs/Sign_0/SignedValue.dat")
    _, _, der = asn1_pem.unarmor((INTEROP / "user_cert.pem").read_bytes())
    point = asn1_x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"]["public_key"].native
    pub = SM2PublicKey.from_bytes(point)
    pub.verify(value, signed)
    changed = bytearray(signed)
    changed[len(changed) // 2] ^= 1
    with pytest.raises(InvalidSignature):
        pub.verify(value, bytes(changed))
    bad_sig = bytearray(value)
    bad_sig[-1] ^= 1
    with pytest.raises(InvalidSignature):
        pub.verify(bytes(bad_sig), signed)
    with pytest.raises(InvalidSignature):
        pub.verify(value, signed, uid=b"")


def _openssl_sm2() -> str | None:
    exe = shutil.which("openssl")
    if exe is None:
        return None
    done = subprocess.run([exe, "list", "-public-key-algorithms"], capture_output=True, text=True)
    return exe if "SM2" in done.stdout else None


OPENSSL = _openssl_sm2()
DISTID = ["-pkeyopt", "distid:1234567812345678"]


@pytest.mark.skipif(OPENSSL is None, reason="no openssl CLI with SM2 on PATH")
def test_openssl_interop(tmp_path: Path) -> None:
    assert OPENSSL is not None
    keyfile, pubfile = tmp_path / "key.pem", tmp_path / "pub.pem"
    subprocess.run([OPENSSL, "genpkey", "-algorithm", "SM2", "-out", str(keyfile)], check=True)
    subprocess.run([OPENSSL, "pkey", "-in", str(keyfile), "-pubout", "-out", str(pubfile)], check=True)
    _, _, der = asn1_pem.unarmor(keyfile.read_bytes())
    d = asn1_keys.PrivateKeyInfo.load(der)["private_key"].parsed["private_key"].native
    key = SM2PrivateKey(d)
    message = b"<ofd:Signature>" + secrets.token_bytes(200)
    (tmp_path / "msg").write_bytes(message)

    sign = [OPENSSL, "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", str(keyfile)]
    theirs = subprocess.run(
        [*sign, *DISTID, "-in", str(tmp_path / "msg")], capture_output=True, check=True
    ).stdout
    key.public_key().verify(theirs, message)
    # OpenSSL 3 without distid signs with an empty ID (shared STANDARDS.md section 8)
    empty = subprocess.run([*sign, "-in", str(tmp_path / "msg")], capture_output=True, check=True).stdout
    key.public_key().verify(empty, message, uid=b"")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(empty, message)

    def openssl_verifies(sig: bytes) -> bool:
        (tmp_path / "sig").write_bytes(sig)
        cmd = [OPENSSL, "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", str(pubfile)]
        cmd += [*DISTID, "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig")]
        return subprocess.run(cmd, capture_output=True).returncode == 0

    ours = key.sign(message)
    assert openssl_verifies(ours)
    assert not openssl_verifies(key.sign(message, uid=b"other"))
