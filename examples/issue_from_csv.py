"""Issuing system: issue one signed certificate file per row of a CSV file.

    python examples/issue_from_csv.py examples/batch/<TYPE CODE>.csv --type <TYPE CODE> \
        --key demo-out/keys/issuer.key.pem --cert demo-out/keys/issuer.cert.pem -o out/

Rows with problems are reported (every problem of a row at once) and skipped; the others are
collected, packaged and signed.  For large batches with serial allocation, resumption and
parallel workers use ``ecert batch`` (ecert.batch.issue_batch) instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecert.collect import collect_csv
from ecert.crypto.signer import Signer
from ecert.errors import EcertError
from ecert.package import Issuer, file_name, package, signer_authority


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", type=Path)
    ap.add_argument("--type", required=True)
    ap.add_argument("--key", required=True, type=Path)
    ap.add_argument("--cert", required=True, type=Path)
    ap.add_argument("-o", "--out", required=True, type=Path)
    args = ap.parse_args()

    try:
        signer = Signer.load(args.key, args.cert)
        # the department issues in its own name: the issuer comes from its certificate
        rows = list(collect_csv(args.csv, args.type, issuer=signer_authority(signer)))
    except (EcertError, OSError) as exc:
        print(f"issue_from_csv: {exc}", file=sys.stderr)
        return 2
    issuer = Issuer(signer)
    args.out.mkdir(parents=True, exist_ok=True)
    issued = rejected = 0
    for row in rows:
        if row.draft is None:
            rejected += 1
            problems = "; ".join(str(p) for p in row.problems)
            print(f"line {row.line}: rejected: {problems}", file=sys.stderr)
            continue
        target = args.out / file_name(row.draft.metadata)
        target.write_bytes(package(row.draft, issuer))
        issued += 1
        print(target)
    print(f"{issued} issued, {rejected} rejected", file=sys.stderr)
    return 0 if rejected == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
