"""One-off packaging: a record (JSON) to a signed OFD certificate file, then verify it.

    python examples/package_one.py record.json --type <TYPE CODE> \
        --key demo-out/keys/issuer.key.pem --cert demo-out/keys/issuer.cert.pem --trust demo-out/trust
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ecert.collect import collect
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.errors import CollectionError
from ecert.package import Issuer, file_name, package
from ecert.verify import verify


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("record", type=Path)
    ap.add_argument("--type", required=True)
    ap.add_argument("--key", required=True, type=Path)
    ap.add_argument("--cert", required=True, type=Path)
    ap.add_argument("--trust", required=True, type=Path)
    ap.add_argument("-o", "--out", type=Path, default=Path("."))
    args = ap.parse_args()

    try:
        draft = collect(json.loads(args.record.read_text(encoding="utf-8")), args.type)
    except CollectionError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    data = package(draft, Issuer(Signer.load(args.key, args.cert)))
    target = args.out / file_name(draft.metadata)
    target.write_bytes(data)
    report = verify(data, trust=TrustStore.from_directory(args.trust))
    print(target)
    print(report.to_text("zh"))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
