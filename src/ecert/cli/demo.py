"""``ecert demo``: issue, sign and verify the sample certificates."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecert.cli import EXIT_INVALID, EXIT_OK
from ecert.cli.common import parse_time

EPILOG = """example:
  ecert demo --out demo-out

Writes demo-out/trust/root.cert.pem (the anchor), demo-out/trust/issuers/issuer.cert.pem (the
department certificate a QR verifier looks up), demo-out/keys/issuer.{key,cert}.pem, one signed OFD
file per sample record (demo-out/<identifier>.ofd), its QR code (demo-out/qr/) and face image
(demo-out/faces/), verifies the written files and decoded QR images with demo-out/trust as a service
window would, and prints a table. Exit status 0 when all verified.
Keys and trust anchors already in DIR are kept: the demo refuses to run over them (new keys would
leave every file issued with the old ones unverifiable) unless --force."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="issue and verify the sample certificates",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("demo-out"),
        metavar="DIR",
        help="output folder (default demo-out)",
    )
    p.add_argument(
        "--alg", choices=("sm2", "p256", "ed25519"), default="sm2", help="signature algorithm (default sm2)"
    )
    p.add_argument("--records", type=Path, metavar="DIR", help="folder of sample JSON records")
    p.add_argument("--at", metavar="ISO8601", help="issuing time with time zone (default: now)")
    p.add_argument(
        "--force", action="store_true", help="replace keys and trust anchors already in DIR (see above)"
    )
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from ecert.demo import find_sample_records, run_demo

    records = find_sample_records(args.records) if args.records else None
    rows = run_demo(
        args.out, algorithm=args.alg, at=parse_time(args.at, "--at"), records=records, force=args.force
    )
    print(f"{'type':<16} {'holder':<20} {'file':<5} {'QR':<5} identifier")
    for r in rows:
        print(
            f"{r.type_name:<16} {r.holder:<20} {'ok' if r.file_ok else 'FAIL':<5} "
            f"{'ok' if r.qr_ok else 'FAIL':<5} {r.identifier}"
        )
    print(
        f"\nwritten to {args.out}/: trust/root.cert.pem, trust/issuers/issuer.cert.pem, keys/issuer.key.pem, "
        "keys/issuer.cert.pem, "
        f"{len(rows)} .ofd files, qr/*.png, faces/*.png"
    )
    return EXIT_OK if all(r.file_ok and r.qr_ok for r in rows) else EXIT_INVALID
