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
from ecert.errors import CollectionError, EcertError
from ecert.package import Issuer, file_name, package, signer_authority
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
        signer = Signer.load(args.key, args.cert)
        trust = TrustStore.from_directory(args.trust)
        record = json.loads(args.record.read_text(encoding="utf-8-sig"))
        # the department issues in its own name: the issuer comes from its certificate
        draft = collect(record, args.type, issuer=signer_authority(signer))
        data = package(draft, Issuer(signer))
    except CollectionError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    except json.JSONDecodeError as exc:
        print(f"package_one: {args.record} is not a JSON record ({exc})")
        return 2
    except (EcertError, OSError, UnicodeDecodeError) as exc:
        print(f"package_one: {exc}")
        return 2
    target = args.out / file_name(draft.metadata)
    target.write_bytes(data)
    report = verify(data, trust=trust)
    print(target)
    print(report.to_text("zh"))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
