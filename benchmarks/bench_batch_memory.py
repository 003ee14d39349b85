"""Peak memory of a batch against its size: 1k, 10k and 100k rows must run in the same memory.

Run: python benchmarks/bench_batch_memory.py [--sizes 1000,10000,100000] [--issued 1000,10000]
     [--kind sm2|p256|ed25519] [--json]

Each batch runs in a fresh process (``issue_batch`` with 1 worker, so every row is handled in that
process) and its peak resident set size (``ru_maxrss`` from ``wait4``) is read by this script.
The baseline, in the same run, is the same batch of a table with a header and no rows: imports,
keys, the registry and the pool machinery, before any row.

Two kinds of rows:

* ``rejected`` (default sizes 1k, 10k, 100k): every row goes the whole way through the streaming
  pipeline (the shape pass, reading, the repeat table, the registry look-up, the worker's
  collection, ``rejected.csv``) and is refused there (no 名称), which takes ~1 ms a row instead of
  the ~10 ms of signing and fsyncing a certificate, so 100k rows take minutes, not hours;
* ``issued`` (default 1k, 10k): rows issued for real (registry, signed files, fsync).  ``--kind``
  picks the issuer's key (default SM2).  Ed25519 signs fastest, which makes 100k issued rows
  affordable; for memory it is an honest stand-in: a row's work holds the same objects whatever the
  key (a draft, the OFD entries, a ~1 KB signature block), and the key kind changes only the size of
  the signature (64 bytes against SM2's ~72) and which signing code runs.

Before the input was streamed, peak memory grew by ~2.2 KiB per row (the whole CSV and its rows
were held).  The figures to compare: the peak RSS against the baseline, and the growth per 1,000
rows between the smallest and the largest batch.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.certs import hierarchy  # noqa: E402
from tests.test_batch import TYPE, write_rows  # noqa: E402

from ecert.crypto.keys import save_private_key  # noqa: E402

CHILD = """
import sys
from pathlib import Path
from ecert.batch import IssuerFiles, issue_batch
d = Path(sys.argv[1])
r = issue_batch(Path(sys.argv[2]), sys.argv[3], IssuerFiles(d / "key.pem", d / "cert.pem"),
                Path(sys.argv[4]), Path(sys.argv[5]), workers=1)
print(r.issued, r.rejected, r.skipped)
"""


SRC = [ROOT / "src"]  # the ecert the batches run (--src: another checkout, e.g. before streaming)


def _peak_kib(args: list[str]) -> tuple[int, str]:
    """Run the child; its peak RSS in KiB (ru_maxrss, Linux) and what it printed."""
    env = {**os.environ, "PYTHONPATH": str(SRC[0])}
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=out, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}): {text}")
    return usage.ru_maxrss, text.strip()


def _table(d: Path, n: int, kind: str) -> Path:
    path = write_rows(d / f"{kind}-{n}.csv", n)
    if kind == "rejected":  # the same rows with the name left out: refused by the worker's collection
        tmp = path.with_suffix(".tmp")
        with (
            open(path, encoding="utf-8", newline="") as src,
            open(tmp, "w", encoding="utf-8", newline="") as dst,
        ):
            reader = csv.DictReader(src)
            writer = csv.DictWriter(dst, fieldnames=list(reader.fieldnames or []))
            writer.writeheader()
            for row in reader:
                writer.writerow({**row, "名称": ""})
        tmp.replace(path)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000", help="rows of the rejected-row batches")
    ap.add_argument("--issued", default="1000,10000", help="rows of the issued batches ('' for none)")
    ap.add_argument("--kind", default="sm2", choices=("sm2", "p256", "ed25519"), help="the issuer's key")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--src", type=Path, help="the src/ directory of the ecert to measure (default: this one)")
    args = ap.parse_args()
    if args.src:
        SRC[0] = args.src.resolve()
    plan = [("rejected", int(n)) for n in args.sizes.split(",") if n]
    plan += [("issued", int(n)) for n in args.issued.split(",") if n]
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        h = hierarchy(args.kind)
        (d / "key.pem").write_bytes(save_private_key(h.issuer_key))
        (d / "cert.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
        empty = d / "empty.csv"
        header = write_rows(d / "one.csv", 1).read_text(encoding="utf-8").splitlines()[0]
        empty.write_text(header + "\n", encoding="utf-8")
        base, _ = _peak_kib([str(d), str(empty), TYPE, str(d / "base.db"), str(d / "base-out")])
        results.append({"kind": "baseline", "rows": 0, "peak_kib": base, "ratio": 1.0})
        for i, (kind, n) in enumerate(plan):
            source = _table(d, n, kind)
            peak, printed = _peak_kib([str(d), str(source), TYPE, str(d / f"r{i}.db"), str(d / f"out{i}")])
            source.unlink()
            results.append(
                {"kind": kind, "rows": n, "peak_kib": peak, "ratio": peak / base, "result": printed}
            )
    by_kind: dict[str, list[dict[str, object]]] = {}
    for r in results[1:]:
        by_kind.setdefault(str(r["kind"]), []).append(r)
    growth = {}
    for kind, rs in by_kind.items():
        if len(rs) > 1:
            lo, hi = rs[0], rs[-1]
            rows = int(str(hi["rows"])) - int(str(lo["rows"]))
            growth[kind] = (int(str(hi["peak_kib"])) - int(str(lo["peak_kib"]))) * 1000 / rows
    if args.json:
        print(json.dumps({"kind": args.kind, "loadavg": os.getloadavg(), "results": results,
                          "growth_kib_per_1000_rows": growth}, indent=2))
        return 0
    print(f"issuer key {args.kind}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'batch':<10} {'rows':>8} {'peak RSS':>12} {'x baseline':>11}")
    for r in results:
        mib, ratio = int(str(r["peak_kib"])) / 1024, float(str(r["ratio"]))
        print(f"{r['kind']!s:<10} {r['rows']:>8} {mib:>9.1f} MiB {ratio:>10.2f}x")
    for kind, g in growth.items():
        print(f"growth ({kind}): {g:+.1f} KiB per 1,000 rows (before streaming: ~2,200 KiB per 1,000 rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
