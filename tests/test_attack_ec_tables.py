"""The signed-window fixed-point tables of ``crypto.ec`` against an independent multiplication.

``k*G`` (G's 9-bit signed table), ``t*P`` (a key's 7-bit signed table) and ``s*G + t*P`` are compared
with a textbook affine double-and-add written here (no tables, no Jacobian coordinates, no windows)
on scalars chosen to hit the edges of signed windows: 0, 1, n-1, n, n+1, 2^k-1, every window at its
maximum (each digit negative, a carry rippling through every row), every window exactly at the half
(the largest positive digit), a carry out of the top window, and sums that meet the table's own
points (the doubling and the infinity cases of the mixed addition).  OpenSSL derives the SM2 public
key of edge private keys, a third implementation.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from ecert.crypto import ec
from ecert.crypto.sm2 import SM2P256V1, test_curve_gbt32918
from ecert.errors import EcertError

CURVE = SM2P256V1
N = CURVE.n


Point = tuple[int, int] | None


def _naive_add(curve: ec.Curve, a: Point, b: Point) -> Point:
    p = curve.p
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0]:
        if (a[1] + b[1]) % p == 0:
            return None
        slope = (3 * a[0] * a[0] + curve.a) * pow(2 * a[1], -1, p) % p
    else:
        slope = (b[1] - a[1]) * pow(b[0] - a[0], -1, p) % p
    x = (slope * slope - a[0] - b[0]) % p
    return x, (slope * (a[0] - x) - a[1]) % p


def _naive_mul(curve: ec.Curve, k: int, point: tuple[int, int]) -> tuple[int, int] | None:
    """Left-to-right double-and-add in affine coordinates, on k as given (not reduced mod n)."""
    acc: tuple[int, int] | None = None
    for bit in bin(k)[2:] if k > 0 else "":
        acc = _naive_add(curve, acc, acc)
        if bit == "1":
            acc = _naive_add(curve, acc, point)
    return acc


def _edge_scalars(n: int) -> list[int]:
    out = [0, 1, 2, 3, n - 1, n - 2, n, n + 1, 2 * n - 1, (n - 1) // 2, (n + 1) // 2]
    # powers of two at and around every window boundary, and the top bits
    bits = {w * i + e for w in (5, 7, 9) for i in range(1, 52) for e in (-1, 0, 1)} | set(range(248, 257))
    out += [(1 << k) - 1 for k in bits if 0 < k <= 256] + [1 << k for k in bits if 0 <= k < 256]
    for width in (5, 7, 9):
        full = 1 << width
        rows = 256 // width + 1
        out.append(sum((full - 1) << (width * i) for i in range(rows)))  # every window at its maximum
        out.append(sum((full >> 1) << (width * i) for i in range(rows)))  # every window at the half
        out.append(sum(((full >> 1) + 1) << (width * i) for i in range(rows)))  # just above: negative
        out.append(sum((full >> 1) << (width * i) for i in range(rows)) - 1)
    return out


def _edges() -> list[int]:
    return sorted({k % (1 << 300) for k in _edge_scalars(N)})


def _affine(point: ec.Jacobian) -> tuple[int, int] | None:
    return CURVE.to_affine(point)


G = (CURVE.gx, CURVE.gy)


def test_base_table_edges() -> None:
    table = CURVE.base_table()
    for k in _edges():
        expected = _naive_mul(CURVE, k % N, G)
        assert _affine(ec._add_fixed(CURVE, (1, 1, 0), k % N, table, ec._WINDOW)) == expected, hex(k)
        assert _affine(CURVE.mul_base(k)) == expected, hex(k)  # reduces k mod n itself


def test_key_table_edges() -> None:
    point = _affine(CURVE.mul_base(0x1234567890ABCDEF))
    assert point is not None
    table = ec._fixed_base_table(CURVE, *point, ec._KEY_WINDOW)
    for k in _edges():
        expected = _naive_mul(CURVE, k % N, point)
        assert _affine(ec._add_fixed(CURVE, (1, 1, 0), k % N, table, ec._KEY_WINDOW)) == expected, hex(k)
        assert _affine(CURVE.mul(k, *point)) == expected, hex(k)


def _mul_add_with_tables(s: int, t: int, point: tuple[int, int]) -> tuple[int, int] | None:
    """s*G + t*P the way a verification with both tables does it."""
    table = ec._fixed_base_table(CURVE, *point, ec._KEY_WINDOW)
    acc = ec._add_fixed(CURVE, (1, 1, 0), t % N, table, ec._KEY_WINDOW)
    return _affine(ec._add_fixed(CURVE, acc, s % N, CURVE.base_table(), ec._WINDOW))


def test_sums_meeting_the_tables_own_points() -> None:
    """P = G: t*P from the key table, then G's table adds points equal to, or the negation of, the
    running sum (the doubling and infinity branches of the mixed addition, mid-way and at the end)."""
    for t in (1, 5, 256, 257, 511, 1 << 9, 3 << 18, (1 << 63) + 7, N - 1, N - 256):
        for s in (t, N - t, 2 * t % N, (N - t) % N + 1, t + (1 << 9)):
            expected = _naive_mul(CURVE, (s + t) % N, G)
            assert _mul_add_with_tables(s, t, G) == expected, (hex(s), hex(t))
            assert _affine(CURVE.mul_add_base(s, t, *G)) == expected


def test_random_scalars_against_the_textbook() -> None:
    rng = random.Random(18)
    point = _affine(CURVE.mul_base(rng.randrange(1, N)))
    assert point is not None
    table = ec._fixed_base_table(CURVE, *point, ec._KEY_WINDOW)
    base = CURVE.base_table()
    for _ in range(40):
        s, t = rng.randrange(N), rng.randrange(N)
        want = _naive_add(CURVE, _naive_mul(CURVE, s, G), _naive_mul(CURVE, t, point))
        acc = ec._add_fixed(CURVE, (1, 1, 0), t, table, ec._KEY_WINDOW)
        assert _affine(ec._add_fixed(CURVE, acc, s, base, ec._WINDOW)) == want


@pytest.mark.slow
def test_thousands_of_random_scalars() -> None:
    rng = random.Random(32918)
    points = [_affine(CURVE.mul_base(rng.randrange(1, N))) for _ in range(4)]
    tables = [ec._fixed_base_table(CURVE, *p, ec._KEY_WINDOW) for p in points if p]
    base = CURVE.base_table()
    for i in range(1000):
        point, table = points[i % 4], tables[i % 4]
        assert point is not None
        s, t = rng.randrange(N), rng.randrange(N)
        want = _naive_add(CURVE, _naive_mul(CURVE, s, G), _naive_mul(CURVE, t, point))
        acc = ec._add_fixed(CURVE, (1, 1, 0), t, table, ec._KEY_WINDOW)
        assert _affine(ec._add_fixed(CURVE, acc, s, base, ec._WINDOW)) == want


def test_the_test_curve_too() -> None:
    """GB/T 32918.2 Annex A's curve (a != p - 3: the general doubling) through the same tables."""
    curve = test_curve_gbt32918()
    g = (curve.gx, curve.gy)
    table = ec._fixed_base_table(curve, *g, ec._WINDOW)
    for k in sorted({k % curve.n for k in _edge_scalars(curve.n)})[::3]:
        got = curve.to_affine(ec._add_fixed(curve, (1, 1, 0), k, table, ec._WINDOW))
        assert got == _naive_mul(curve, k, g), hex(k)


def _ec_private_key_der(d: int) -> bytes:
    """RFC 5915 ECPrivateKey for sm2p256v1 without the public key (OpenSSL derives it: d*G)."""
    key = d.to_bytes(32, "big")
    curve_oid = bytes.fromhex("06082a811ccf5501822d")
    body = b"\x02\x01\x01" + b"\x04\x20" + key + b"\xa0" + bytes([len(curve_oid)]) + curve_oid
    return b"\x30" + bytes([len(body)]) + body


@pytest.mark.skipif(shutil.which("openssl") is None, reason="system OpenSSL not installed")
def test_openssl_derives_the_same_public_keys(tmp_path: Path) -> None:
    rng = random.Random(7)
    scalars = [1, 2, N - 1, N - 2, (1 << 255) - 1, (1 << 256) - 1 - (1 << 224)]
    scalars += [rng.randrange(1, N) for _ in range(6)]
    scalars += [sum(511 << (9 * i) for i in range(28)) % N, sum(256 << (9 * i) for i in range(28)) % N]
    for d in scalars:
        path = tmp_path / "k.der"
        path.write_bytes(_ec_private_key_der(d))
        out = subprocess.run(["openssl", "ec", "-inform", "DER", "-in", str(path), "-pubout", "-outform",
                              "DER"], capture_output=True, timeout=30)
        if out.returncode != 0 and b"unsupported" in out.stderr.lower():
            pytest.skip("this OpenSSL has no SM2 curve")
        assert out.returncode == 0, out.stderr
        point = _affine(CURVE.mul_base(d))
        assert point is not None
        assert out.stdout[-64:] == point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big"), hex(d)


def test_an_infinite_sum_refuses_the_signature() -> None:
    """(r, s) with s*G + t*P at infinity: refused as InvalidSignature, with or without tables."""
    from ecert.crypto.sm2 import SM2PublicKey

    d = 0xC0FFEE
    point = _affine(CURVE.mul_base(d))
    assert point is not None
    key = SM2PublicKey(*point, curve=CURVE)
    s = 12345
    t = (-s * pow(d, -1, N)) % N  # s + t*d = 0 mod n
    r = (t - s) % N
    for _ in range(12):  # past the key table's admission
        with pytest.raises(EcertError):
            key.verify_digest(r, s, 0)
