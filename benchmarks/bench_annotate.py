"""Annotated copies (加注件): making and verifying one, against issuing and verifying the original.

Run: python benchmarks/bench_annotate.py [--seconds S] [--json]

In one run (SM2): package() of the original (the baseline of making), annotate() of that file
(without trust: the original's references re-checked; with trust: the original fully verified
first), verify() of the original (the baseline of checking) and verify() of the copy, which
verifies the original inside, the copy's signature and rebuilds the copy's layer.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_crypto import rate  # the same timing loop for every benchmark
from tests.certs import SIGNED_AT, draft, signer, trust_store
from tests.copies import MADE_AT, MAKER, REASON, UNTIL, releasing_signer

from ecert.annotate import annotate
from ecert.package import Issuer, package
from ecert.verify import verify


def bench(seconds: float) -> dict[str, float]:
    issuer, centre, trust = Issuer(signer()), releasing_signer(), trust_store()
    original = package(draft(), issuer, at=SIGNED_AT)
    copy = annotate(original, centre, reason=REASON, maker=MAKER, until=UNTIL, at=MADE_AT).data
    at = MADE_AT + timedelta(days=1)
    assert verify(copy, trust=trust, at=at).ok
    out: dict[str, float] = {}
    out["package_per_s"] = rate(lambda: package(draft(), issuer, at=SIGNED_AT), seconds)
    out["annotate_per_s"] = rate(
        lambda: annotate(original, centre, reason=REASON, maker=MAKER, until=UNTIL, at=MADE_AT), seconds
    )
    out["annotate_trusted_per_s"] = rate(
        lambda: annotate(original, centre, reason=REASON, maker=MAKER, until=UNTIL, at=MADE_AT, trust=trust),
        seconds,
    )
    out["verify_original_per_s"] = rate(lambda: verify(original, trust=trust, at=at), seconds)
    out["verify_copy_per_s"] = rate(lambda: verify(copy, trust=trust, at=at), seconds)
    out["original_bytes"], out["copy_bytes"] = len(original), len(copy)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    r = bench(args.seconds)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"package (issue the original)    {r['package_per_s']:8.0f}/s   baseline")
    print(
        f"annotate                        {r['annotate_per_s']:8.0f}/s   "
        f"{r['annotate_per_s'] / r['package_per_s']:.2f}x issuing"
    )
    print(
        f"annotate, original verified     {r['annotate_trusted_per_s']:8.0f}/s   "
        f"{r['annotate_trusted_per_s'] / r['package_per_s']:.2f}x issuing"
    )
    print(f"verify the original             {r['verify_original_per_s']:8.0f}/s   baseline")
    print(
        f"verify the copy                 {r['verify_copy_per_s']:8.0f}/s   "
        f"{r['verify_copy_per_s'] / r['verify_original_per_s']:.2f}x verifying the original"
    )
    print(
        f"size: original {r['original_bytes']:.0f} bytes, copy {r['copy_bytes']:.0f} bytes "
        f"({r['copy_bytes'] / r['original_bytes']:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
