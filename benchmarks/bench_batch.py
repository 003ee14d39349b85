"""Batch issuing throughput on 1 and 2 workers, against single-certificate issuing in the same run.

Run: python benchmarks/bench_batch.py [--records N] [--json]      (the issue's figure: N = 10000)

Single-certificate issuing is one ``package()`` call per certificate in this process (drafts
collected beforehand, no registry, no file): the floor a batch is measured against.  The batch
adds collection (twice per row: once to validate before a serial is spent), the registry (serial
allocation and the record, each a SQLite write transaction), atomic file writes with fsync and,
with workers, the process pool.  Records are generated on the fly in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.certs import hierarchy
from tests.test_batch import TYPE, write_rows

from ecert.batch import IssuerFiles, issue_batch, read_rows
from ecert.collect import collect
from ecert.crypto.keys import save_private_key
from ecert.crypto.signer import Signer
from ecert.package import Issuer, package, signer_authority


def _single(source: Path, issuer: IssuerFiles, n: int) -> float:
    """Certificates per second of plain package() calls on ``n`` distinct drafts."""
    signer = Signer.load(issuer.key_path, issuer.cert_path)
    authority = signer_authority(signer)
    drafts = [
        collect(row, TYPE, issuer=authority, serial=f"2026{i + 1:06d}")
        for i, (_line, row) in enumerate(read_rows(source)[:n])
    ]
    the_issuer = Issuer(signer)
    start = time.perf_counter()
    for draft in drafts:
        package(draft, the_issuer)
    return len(drafts) / (time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10_000, help="rows per batch (default: 10000)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        h = hierarchy()
        (d / "key.pem").write_bytes(save_private_key(h.issuer_key))
        (d / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
        issuer = IssuerFiles(d / "key.pem", d / "cert.pem")
        source = write_rows(d / "rows.csv", args.records)

        results["single_per_s"] = _single(source, issuer, max(20, min(300, args.records // 10)))
        for workers in (1, 2):
            result = issue_batch(
                source, TYPE, issuer, d / f"r{workers}.db", d / f"out{workers}", workers=workers
            )
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
        print(
            f"  batch, 1 worker                    {results['batch_1_per_s']:8.1f} /s "
            f"({results['ratio_1_worker_to_single']:.2f}x single)"
        )
        print(
            f"  batch, 2 workers                   {results['batch_2_per_s']:8.1f} /s "
            f"({results['ratio_2_workers_to_single']:.2f}x single, "
            f"{results['speedup_2_over_1']:.2f}x 1 worker)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
