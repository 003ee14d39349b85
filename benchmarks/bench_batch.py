"""Batch issuing throughput on 1 and 2 workers, against single-certificate issuing in the same run.

Run: python benchmarks/bench_batch.py [--records N] [--json]      (the issue's figure: N = 10000)

Single-certificate issuing is one package() call per certificate in this process, without the
registry; the batch adds the registry (serial allocation, records), atomic file writes and the
process pool.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.certs import SIGNED_AT, draft, hierarchy, signer
from tests.test_batch import _csv

from ecert.batch import IssuerFiles, issue_batch
from ecert.crypto.keys import save_private_key
from ecert.package import Issuer, package

TYPE = "11100000MB0143028R001"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        h = hierarchy()
        (d / "key.pem").write_bytes(save_private_key(h.issuer_key))
        (d / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
        issuer = IssuerFiles(d / "key.pem", d / "cert.pem")
        source = _csv(d / "rows.csv", args.records)

        single_n = max(20, min(200, args.records // 10))
        the_draft, the_issuer = draft(), Issuer(signer())
        start = time.perf_counter()
        for _ in range(single_n):
            package(the_draft, the_issuer, at=SIGNED_AT)
        results["single_per_s"] = single_n / (time.perf_counter() - start)

        for workers in (1, 2):
            db, out = d / f"r{workers}.db", d / f"out{workers}"
            result = issue_batch(source, TYPE, issuer, db, out, workers=workers)
            assert result.issued == args.records, result
            results[f"batch_{workers}_per_s"] = result.issued / result.elapsed
        results["ratio_1_worker_to_single"] = results["batch_1_per_s"] / results["single_per_s"]
        results["ratio_2_workers_to_single"] = results["batch_2_per_s"] / results["single_per_s"]
        results["speedup_2_over_1"] = results["batch_2_per_s"] / results["batch_1_per_s"]
    if args.json:
        print(json.dumps({"records": args.records, **results}, indent=2))
    else:
        print(f"records: {args.records}")
        print(f"  single certificate (package only)  {results['single_per_s']:8.1f} /s")
        print(f"  batch, 1 worker                    {results['batch_1_per_s']:8.1f} /s "
              f"({results['ratio_1_worker_to_single']:.2f}x single)")
        print(f"  batch, 2 workers                   {results['batch_2_per_s']:8.1f} /s "
              f"({results['ratio_2_workers_to_single']:.2f}x single, "
              f"{results['speedup_2_over_1']:.2f}x 1 worker)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
