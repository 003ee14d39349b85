"""Signature throughput: ecert's pure-Python SM2 against gmssl's SM2 and cryptography's P-256 / Ed25519.

Run: python benchmarks/bench_crypto.py [--seconds S] [--json]

Each operation runs for about S seconds of CPU time (default 1.5) over a 1.5 KB message (the size of
an OFD Signature.xml).  For ecert's SM2 verification two figures are given:
* ``verify``: one public key verifying many signatures (the usual case: a department's or a CA's key);
  after its 8th use the key gets a precomputed table, so this is the steady state;
* ``verify_cold``: every verification with a key seen for the first time (no per-key table).
Also printed: the one-off build time of the fixed-base table for G (paid at G's 32nd use in a process).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec
from cryptography.hazmat.primitives.asymmetric import ed25519

from ecert.crypto.digests import sm3
from ecert.crypto.ec import key_tables
from ecert.crypto.sm2 import SM2P256V1, Curve, SM2PrivateKey

MESSAGE = b"<ofd:Signature>" + b"x" * 1500


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` of this process's CPU time (after one warm-up
    call).  CPU time, not wall time: the machine is shared, and other processes' load delays a run
    without changing its work (every figure here is single-threaded)."""
    fn()
    n, start = 0, time.process_time()
    while True:
        fn()
        n += 1
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return n / elapsed


def bench_ecert(seconds: float) -> dict[str, float]:
    fresh = Curve("copy", SM2P256V1.p, SM2P256V1.a, SM2P256V1.b, SM2P256V1.n, SM2P256V1.gx, SM2P256V1.gy)
    start = time.perf_counter()
    fresh.base_table()
    table_s = time.perf_counter() - start
    SM2P256V1.base_table()  # the steady state (a process builds it at G's 32nd use)
    key = SM2PrivateKey.generate()
    pub = key.public_key()
    sig = key.sign(MESSAGE)
    tables = key_tables()

    def verify_cold() -> None:
        tables.clear()
        pub.verify(sig, MESSAGE)

    cold = rate(verify_cold, seconds)
    return {
        "sign": rate(lambda: key.sign(MESSAGE), seconds),
        "verify": rate(lambda: pub.verify(sig, MESSAGE), seconds),
        "verify_cold": cold,
        "table_build_s": table_s,
    }


def bench_gmssl(seconds: float) -> dict[str, float] | None:
    try:
        from gmssl import func
        from gmssl import sm2 as gsm2
    except ImportError:
        return None
    # A fixed key: gmssl mangles a public key whose hex starts with "04" (``lstrip("04")`` eats every
    # leading 0 and 4 digit; tests/test_sm2_gmssl.py), which a random key hit in about 1 run in 256.
    key = SM2PrivateKey(int.from_bytes(sm3(b"gmssl cross-check 0"), "big"))
    xy_hex = key.public_key().to_bytes()[1:].hex()
    assert not xy_hex.startswith("04")
    g = gsm2.CryptSM2(private_key=key.to_bytes().hex(), public_key=xy_hex)
    sig = g.sign_with_sm3(MESSAGE, func.random_hex(g.para_len))
    return {
        "sign": rate(lambda: g.sign_with_sm3(MESSAGE, func.random_hex(g.para_len)), seconds),
        "verify": rate(lambda: g.verify_with_sm3(sig, MESSAGE), seconds),
    }


def bench_p256(seconds: float) -> dict[str, float]:
    key = crypto_ec.generate_private_key(crypto_ec.SECP256R1())
    pub = key.public_key()
    algo = crypto_ec.ECDSA(hashes.SHA256())
    sig = key.sign(MESSAGE, algo)
    return {
        "sign": rate(lambda: key.sign(MESSAGE, algo), seconds),
        "verify": rate(lambda: pub.verify(sig, MESSAGE, algo), seconds),
    }


def bench_ed25519(seconds: float) -> dict[str, float]:
    key = ed25519.Ed25519PrivateKey.generate()
    pub = key.public_key()
    sig = key.sign(MESSAGE)
    return {
        "sign": rate(lambda: key.sign(MESSAGE), seconds),
        "verify": rate(lambda: pub.verify(sig, MESSAGE), seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=1.5, help="CPU time per measurement (default 1.5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, float] | None] = {
        "ecert_sm2": bench_ecert(args.seconds),
        "gmssl_sm2": bench_gmssl(args.seconds),
        "cryptography_p256": bench_p256(args.seconds),
        "cryptography_ed25519": bench_ed25519(args.seconds),
    }
    ours = results["ecert_sm2"]
    assert ours is not None
    ratios: dict[str, float] = {}
    for other in ("gmssl_sm2", "cryptography_p256"):
        theirs = results[other]
        if theirs is not None:
            ratios[f"sign_vs_{other}"] = ours["sign"] / theirs["sign"]
            ratios[f"verify_vs_{other}"] = ours["verify"] / theirs["verify"]
            ratios[f"verify_cold_vs_{other}"] = ours["verify_cold"] / theirs["verify"]
    if args.json:
        print(json.dumps({"ops_per_second": results, "ratios": ratios}, indent=2))
        return 0
    print(f"message: {len(MESSAGE)} bytes; {args.seconds:g} s per figure")
    print(f"ecert fixed-base table for G built in {ours['table_build_s'] * 1000:.0f} ms (once per process)")
    print(f"{'implementation':<24}{'sign/s':>12}{'verify/s':>12}{'verify (cold key)/s':>22}")
    for name, figures in results.items():
        if figures is None:
            print(f"{name:<24}{'not installed':>12}")
            continue
        cold = f"{figures['verify_cold']:>22,.0f}" if "verify_cold" in figures else ""
        print(f"{name:<24}{figures['sign']:>12,.0f}{figures['verify']:>12,.0f}{cold}")
    for name, value in ratios.items():
        print(f"ecert {name.replace('_vs_', ' / ')}: {value:.3g}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
