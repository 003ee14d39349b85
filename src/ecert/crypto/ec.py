"""Prime-field short Weierstrass curve arithmetic for SM2 (GB/T 32918.1), tuned for CPython.

Points are plain tuples of ints: affine ``(x, y)`` and Jacobian ``(X, Y, Z)`` with
``x = X/Z^2, y = Y/Z^3``; ``Z == 0`` is the point at infinity (affine: ``None``).  The hot loops
inline the formulas and bind everything to locals, because a function call or an object per
operation costs more than the arithmetic itself in CPython.

* doubling: ``dbl-2001-b`` (3M+5S) when ``a = p - 3`` (sm2p256v1), ``dbl-2007-bl`` otherwise;
* mixed addition (Jacobian + affine): ``madd`` with the doubling / infinity cases handled;
* fixed-point tables take the scalar in *signed* windows of ``w`` bits (digits in
  ``-2^(w-1)..2^(w-1)``; a negative digit adds its point with ``y`` negated), so a row holds
  ``2^(w-1)`` points, half what unsigned digits need, and a wider window fits the same memory;
* ``k*G``: a fixed-base table of 9-bit signed windows (29 rows x 256 affine points for 256-bit
  scalars, about 1.4 MB), so ``k*G`` is at most 29 mixed additions and no doubling.  Building it
  costs about 80 plain multiplications, so it is built at the ``_BASE_TABLE_AFTER``-th use of G in
  the process: a command verifying one file or signing one certificate uses wNAF instead;
* ``k*P``: width-5 wNAF with affine odd multiples (one batched inversion); a public key used often
  gets a table of its own (7-bit signed windows: 37 rows x 64 points, at most 37 additions),
  under the admission and memory policy of :mod:`ecert.crypto.tablecache` (budget:
  :func:`set_key_table_budget`).

None of this is constant-time: Python integers take time that depends on their values.
The curve must have cofactor 1 (checked by :class:`Curve`), so every point on it has order ``n``
and scalars may be reduced modulo ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import isqrt

from ecert.crypto.tablecache import DEFAULT_BUDGET_BYTES, TableCache
from ecert.errors import InputError

__all__ = ["Affine", "Curve", "Jacobian", "batch_to_affine", "key_tables", "set_key_table_budget", "wnaf"]

Affine = tuple[int, int]
Jacobian = tuple[int, int, int]

_WINDOW = 9  # G's signed window width in bits: 2^8 = 256 points per row, 29 rows
_WNAF_WIDTH = 5  # variable-base wNAF width: odd multiples 1P, 3P, ..., 15P
_KEY_WINDOW = 7  # signed window of the tables kept for frequently used public keys (37 rows x 64 points)
_KEY_TABLE_AFTER = 8  # build such a table at the 8th use of a point (costs about 12 plain verifications)
_KEY_TABLE_BYTES = 443_000  # one such table for a 256-bit curve (its objects: 443 KB)
_BASE_TABLE_AFTER = 32  # build G's table at its 32nd use in the process (it costs about 80 uses)
_INFINITY: Jacobian = (1, 1, 0)

_KEY_TABLES: TableCache[tuple[Curve, int, int], list[list[Affine]]] = TableCache(
    table_bytes=_KEY_TABLE_BYTES, budget_bytes=DEFAULT_BUDGET_BYTES, admit_after=_KEY_TABLE_AFTER
)


def set_key_table_budget(nbytes: int) -> None:
    """Memory for per-key tables, shared by every curve in the process (default 32 MiB, ~75 keys).

    0 turns them off.  A service verifying certificates of many departments and CAs wants room for
    every key it sees often; ``key_tables()`` tells how many are held.
    """
    _KEY_TABLES.budget_bytes = nbytes


def key_tables() -> TableCache[tuple[Curve, int, int], list[list[Affine]]]:
    """The process-wide per-key table cache (for inspection, tests and benchmarks)."""
    return _KEY_TABLES


@dataclass(frozen=True, slots=True)
class Curve:
    """A curve y^2 = x^3 + ax + b over GF(p) with base point G = (gx, gy) of prime order n.

    The fixed-base table for G is built once G has been used ``_BASE_TABLE_AFTER`` times and kept
    with the curve (it is not part of equality or hashing).
    """

    name: str
    p: int
    a: int
    b: int
    n: int
    gx: int
    gy: int
    _cache: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        p, n = self.p, self.n
        if p < 5 or p % 2 == 0 or not (0 <= self.a < p and 0 <= self.b < p):
            raise InputError("invalid curve parameters", where=self.name, expected="odd p > 3, 0 <= a, b < p")
        if (4 * pow(self.a, 3, p) + 27 * self.b * self.b) % p == 0:
            raise InputError("singular curve", where=self.name, expected="4a^3 + 27b^2 != 0 mod p")
        if not self.contains(self.gx, self.gy):
            raise InputError("base point not on the curve", where=self.name)
        # Hasse: #E >= p + 1 - 2*sqrt(p); a cofactor >= 2 would make n at most about half of that.
        if not (n % 2 == 1 and p + 1 - 2 * (isqrt(p) + 1) <= n <= p + 1 + 2 * (isqrt(p) + 1)):
            raise InputError("curve order", where=self.name, expected="a prime order n with cofactor 1")

    @property
    def byte_length(self) -> int:
        return (self.p.bit_length() + 7) // 8

    @property
    def a_is_minus_3(self) -> bool:
        return self.a == self.p - 3

    def contains(self, x: int, y: int) -> bool:
        """Whether the affine point (x, y) with coordinates in [0, p) is on the curve."""
        p = self.p
        return 0 <= x < p and 0 <= y < p and (y * y - (x * x + self.a) * x - self.b) % p == 0

    # --- scalar multiplication ---------------------------------------------------------------

    def base_table(self) -> list[list[Affine]]:
        """Rows ``i``: ``[j * 2^(9i) * G for j in 0..256]`` (entry 0 unused), affine; built once."""
        table = self._cache.get("base")
        if table is None:
            table = _fixed_base_table(self, self.gx, self.gy, _WINDOW)
            self._cache["base"] = table
        return table  # type: ignore[return-value]

    def _base_table_if_earned(self) -> list[list[Affine]] | None:
        """G's table once G has been used often enough to pay for it (counting this use), else None."""
        table = self._cache.get("base")
        if table is not None:
            return table  # type: ignore[return-value]
        uses = int(self._cache.get("base_uses", 0)) + 1  # type: ignore[call-overload]
        self._cache["base_uses"] = uses
        return self.base_table() if uses >= _BASE_TABLE_AFTER else None

    def mul_base(self, k: int) -> Jacobian:
        """``k * G`` in Jacobian coordinates (fixed-base table, no doubling; wNAF until it is built)."""
        table = self._base_table_if_earned()
        if table is None:
            return _mul_wnaf(self, k % self.n, self.gx, self.gy)
        return _add_fixed(self, _INFINITY, k % self.n, table, _WINDOW)

    def mul(self, k: int, x: int, y: int) -> Jacobian:
        """``k * P`` for a point P = (x, y) on the curve, in Jacobian coordinates (wNAF)."""
        return _mul_wnaf(self, k % self.n, x, y)

    def mul_add_base(self, s: int, t: int, x: int, y: int) -> Jacobian:
        """``s * G + t * P`` (P on the curve): wNAF for P, then the fixed-base table for G.

        A point used often (a CA's or a department's key verifying many signatures) gets its own
        fixed-window table, so ``t * P`` costs additions only; which points get one, and how many
        are kept, is the policy of :mod:`ecert.crypto.tablecache`.
        """
        table = _KEY_TABLES.get((self, x, y), lambda: _fixed_base_table(self, x, y, _KEY_WINDOW))
        if table is None:
            acc = _mul_wnaf(self, t % self.n, x, y)
        else:
            acc = _add_fixed(self, _INFINITY, t % self.n, table, _KEY_WINDOW)
        base = self._base_table_if_earned()
        if base is None:
            return self.add(acc, _mul_wnaf(self, s % self.n, self.gx, self.gy))
        return _add_fixed(self, acc, s % self.n, base, _WINDOW)

    def to_affine(self, point: Jacobian) -> Affine | None:
        """The affine form of a Jacobian point, ``None`` for infinity."""
        X, Y, Z = point
        if Z == 0:
            return None
        p = self.p
        zi = pow(Z, -1, p)
        zi2 = zi * zi % p
        return X * zi2 % p, Y * zi2 * zi % p

    def double(self, point: Jacobian) -> Jacobian:
        """``2 * P`` (general formula, used outside the hot loops)."""
        return _double(self.p, self.a, point)

    def add(self, point: Jacobian, other: Jacobian) -> Jacobian:
        """``P + Q`` for two Jacobian points (any, including infinity and P == +-Q)."""
        if other[2] == 0:
            return point
        if point[2] == 0:
            return other
        p = self.p
        X1, Y1, Z1 = point
        X2, Y2, Z2 = other
        z1z1 = Z1 * Z1 % p
        z2z2 = Z2 * Z2 % p
        u1 = X1 * z2z2 % p
        u2 = X2 * z1z1 % p
        s1 = Y1 * Z2 * z2z2 % p
        s2 = Y2 * Z1 * z1z1 % p
        if u1 == u2:
            return _double(p, self.a, point) if s1 == s2 else _INFINITY
        h = u2 - u1
        r = s2 - s1
        hh = h * h % p
        hhh = h * hh % p
        v = u1 * hh % p
        x3 = (r * r - hhh - 2 * v) % p
        return x3, (r * (v - x3) - s1 * hhh) % p, Z1 * Z2 * h % p


def _double(p: int, a: int, point: Jacobian) -> Jacobian:
    X, Y, Z = point
    if Z == 0 or Y == 0:
        return _INFINITY
    xx = X * X % p
    yy = Y * Y % p
    zz = Z * Z % p
    s = 4 * X * yy % p
    m = (3 * xx + a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    return x3, (m * (s - x3) - 8 * yy * yy) % p, 2 * Y * Z % p


def batch_to_affine(p: int, points: list[Jacobian]) -> list[Affine]:
    """Affine forms of finite Jacobian points with one inversion (Montgomery's trick)."""
    prefix = []
    acc = 1
    for _, _, z in points:
        prefix.append(acc)
        acc = acc * z % p
    inv = pow(acc, -1, p)
    out: list[Affine] = [(0, 0)] * len(points)
    for i in range(len(points) - 1, -1, -1):
        X, Y, Z = points[i]
        zi = inv * prefix[i] % p
        inv = inv * Z % p
        zi2 = zi * zi % p
        out[i] = (X * zi2 % p, Y * zi2 * zi % p)
    return out


def _multiples(curve: Curve, x: int, y: int, count: int) -> list[Jacobian]:
    """``[1P, 2P, ..., count*P]`` in Jacobian coordinates (P affine, on the curve)."""
    out: list[Jacobian] = [(x, y, 1)]
    for _ in range(count - 1):
        out.append(_madd(curve, out[-1], x, y))
    return out


def _fixed_base_table(curve: Curve, x: int, y: int, width: int) -> list[list[Affine]]:
    """Rows ``i``: ``[j * 2^(width*i) * P for j in 0..2^(width-1)]`` (entry 0 unused), affine: the
    multiples a signed digit of ``width`` bits takes (:func:`_add_fixed`).  One row more than the
    scalar's bits fill, for the last digit's carry."""
    rows = (curve.n.bit_length() + width) // width  # ceil((bits + 1) / width)
    half = 1 << (width - 1)
    table: list[list[Affine]] = []
    bx, by = x, y
    for _ in range(rows):
        points = _multiples(curve, bx, by, half)
        points.append(_double(curve.p, curve.a, points[-1]))  # 2^width * B: the next row's base
        # no point here is infinity: j * 2^k with j <= 2^(width-1) is never a multiple of the odd
        # prime order n
        row = batch_to_affine(curve.p, points)
        table.append([(0, 0), *row[:half]])
        bx, by = row[half]
    return table


def _madd(curve: Curve, point: Jacobian, x2: int, y2: int) -> Jacobian:
    """Jacobian + affine, all cases (outside the hot loops)."""
    X1, Y1, Z1 = point
    if Z1 == 0:
        return x2, y2, 1
    p = curve.p
    z1z1 = Z1 * Z1 % p
    u2 = x2 * z1z1 % p
    s2 = y2 * Z1 * z1z1 % p
    if u2 == X1:
        return _double(p, curve.a, point) if s2 == Y1 else _INFINITY
    h = u2 - X1
    r = s2 - Y1
    hh = h * h % p
    hhh = h * hh % p
    v = X1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return x3, (r * (v - x3) - Y1 * hhh) % p, Z1 * h % p


def _add_fixed(curve: Curve, acc: Jacobian, k: int, table: list[list[Affine]], width: int) -> Jacobian:
    """``acc + k*P`` with a fixed-point table: one mixed addition per non-zero signed digit of k.

    A window value ``j`` above ``2^(width-1)`` is the digit ``j - 2^width`` (the point of
    ``2^width - j`` with y negated) and carries one into the next window."""
    p = curve.p
    X1, Y1, Z1 = acc
    full = 1 << width
    mask = full - 1
    half = full >> 1
    row = 0
    while k:
        j = k & mask
        k >>= width
        if j:
            if j > half:
                k += 1
                x2, y2 = table[row][full - j]
                y2 = p - y2
            else:
                x2, y2 = table[row][j]
            if Z1 == 0:
                X1, Y1, Z1 = x2, y2, 1
            else:
                z1z1 = Z1 * Z1 % p
                u2 = x2 * z1z1 % p
                s2 = y2 * Z1 * z1z1 % p
                if u2 == X1:
                    X1, Y1, Z1 = _double(p, curve.a, (X1, Y1, Z1)) if s2 == Y1 else _INFINITY
                else:
                    h = u2 - X1
                    r = s2 - Y1
                    hh = h * h % p
                    hhh = h * hh % p
                    v = X1 * hh % p
                    x3 = (r * r - hhh - 2 * v) % p
                    Y1 = (r * (v - x3) - Y1 * hhh) % p
                    Z1 = Z1 * h % p
                    X1 = x3
        row += 1
    return X1, Y1, Z1


def wnaf(k: int, width: int = _WNAF_WIDTH) -> list[int]:
    """Width-``width`` non-adjacent form of ``k >= 0``, least significant digit first."""
    digits: list[int] = []
    full = 1 << width
    half = full >> 1
    mask = full - 1
    while k:
        if k & 1:
            d = k & mask
            if d >= half:
                d -= full
            k -= d
            digits.append(d)
        else:
            digits.append(0)
        k >>= 1
    return digits


def _odd_multiples(curve: Curve, x: int, y: int) -> list[Affine]:
    """Affine ``d*P`` for odd ``d`` in ``-(2^(w-1)-1)..2^(w-1)-1``, indexed by ``d`` (negative wraps)."""
    p = curve.p
    count = 1 << (_WNAF_WIDTH - 2)
    p2 = _double(p, curve.a, (x, y, 1))
    pts: list[Jacobian] = [(x, y, 1)]
    for _ in range(count - 1):
        pts.append(curve.add(pts[-1], p2))
    table: list[Affine] = [(0, 0)] * (1 << _WNAF_WIDTH)
    if any(q[2] == 0 for q in pts):  # impossible for a point of prime order n > 2^w
        raise InputError("point of small order", expected="a point of order n")
    for i, (ax, ay) in enumerate(batch_to_affine(p, pts)):
        table[2 * i + 1] = (ax, ay)
        table[-(2 * i + 1)] = (ax, (p - ay) % p)
    return table


def _mul_wnaf(curve: Curve, k: int, x: int, y: int) -> Jacobian:
    if k == 0:
        return _INFINITY
    digits = wnaf(k)
    pre = _odd_multiples(curve, x, y)
    p = curve.p
    a = curve.a
    minus3 = a == p - 3
    top = len(digits) - 1
    X1, Y1 = pre[digits[top]]
    Z1 = 1
    for i in range(top - 1, -1, -1):
        # doubling (skipped at infinity: it stays infinity)
        if Z1:
            if minus3:
                delta = Z1 * Z1 % p
                gamma = Y1 * Y1 % p
                beta = X1 * gamma % p
                alpha = 3 * (X1 - delta) * (X1 + delta) % p
                x3 = (alpha * alpha - 8 * beta) % p
                Z1 = 2 * Y1 * Z1 % p
                Y1 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % p
                X1 = x3
            else:
                X1, Y1, Z1 = _double(p, a, (X1, Y1, Z1))
        d = digits[i]
        if d:
            x2, y2 = pre[d]
            if Z1 == 0:
                X1, Y1, Z1 = x2, y2, 1
                continue
            z1z1 = Z1 * Z1 % p
            u2 = x2 * z1z1 % p
            s2 = y2 * Z1 * z1z1 % p
            if u2 == X1:
                X1, Y1, Z1 = _double(p, a, (X1, Y1, Z1)) if s2 == Y1 else _INFINITY
                continue
            h = u2 - X1
            r = s2 - Y1
            hh = h * h % p
            hhh = h * hh % p
            v = X1 * hh % p
            x3 = (r * r - hhh - 2 * v) % p
            Y1 = (r * (v - x3) - Y1 * hhh) % p
            Z1 = Z1 * h % p
            X1 = x3
    return X1, Y1, Z1
