"""``ecert verify`` and ``ecert inspect``: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

from ecert.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from ecert.cli.common import parse_time
from ecert.errors import EcertError, InputError

EPILOG_VERIFY = """examples:
  ecert verify demo-out/*.ofd --trust demo-out/trust
  ecert verify cert.ofd --trust trust/ --status status-list.json --json
  ecert verify cert.ofd --trust trust/ --registry registry.db --lang zh
  ecert verify --qr demo-out/qr/CERT.png --trust demo-out/trust    # department certificates in trust/issuers/
  ecert verify --qr "EC1:..." --trust trust/ --cert other-department.cert.pem

exit status: 0 every file valid, 1 some file not valid, 2 usage error or unreadable input"""

EPILOG_INSPECT = """example:
  ecert inspect demo-out/CERT.ofd

Shows what the file says, WITHOUT verifying it (use ecert verify for that)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="verify certificate files or a QR payload",
        epilog=EPILOG_VERIFY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="OFD files to verify")
    p.add_argument(
        "--qr", metavar="TEXT|IMAGE", help="verify a QR payload (its text, or a PNG/JPEG to decode)"
    )
    p.add_argument(
        "--trust",
        required=True,
        type=Path,
        metavar="DIR|FILE",
        help="trust anchors: a directory of PEM/DER certificates or one file",
    )
    p.add_argument(
        "--cert",
        action="append",
        type=Path,
        default=[],
        metavar="FILE|DIR",
        help="known department certificates for QR payloads, which carry only a key id "
        "(added to those in DIR/issuers/ of --trust DIR)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--status", type=Path, metavar="FILE", help="a signed status list (offline revocation)"
    )
    group.add_argument("--registry", type=Path, metavar="DB", help="a certificate registry (online status)")
    p.add_argument(
        "--status-max-age",
        type=float,
        metavar="DAYS",
        help="refuse a status list that promises no next update once older than this (default 7)",
    )
    p.add_argument("--at", metavar="ISO8601", help="verification time with time zone (default: now)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the text report")
    p.set_defaults(handler=_verify)

    i = sub.add_parser(
        "inspect",
        help="show what a certificate file contains (no verification)",
        epilog=EPILOG_INSPECT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    i.add_argument("file", type=Path, metavar="FILE", help="an OFD certificate file")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(handler=_inspect)


def _verify(args: argparse.Namespace) -> int:
    from ecert.app import known_certificates, load_status_source, load_trust, verify_files, verify_qr_input

    if not args.files and args.qr is None:
        print("ecert verify: give FILE(s) or --qr", file=sys.stderr)
        return EXIT_USAGE
    at = parse_time(args.at, "--at")
    trust = load_trust(args.trust)
    max_age = _days(args.status_max_age)
    try:
        status = load_status_source(
            status_list=args.status, registry=args.registry, trust=trust, at=at, max_age=max_age
        )
    except EcertError as exc:
        if args.status is None:  # the registry's errors name the registry file already
            raise
        raise InputError(f"{args.status}: {exc}") from None  # untrusted, stale, tampered: which file
    reports = []
    if args.qr is not None:
        certificates = known_certificates(args.trust, args.cert)
        reports.append(verify_qr_input(args.qr, trust=trust, certificates=certificates, at=at, status=status))
    reports.extend(verify_files(args.files, trust=trust, at=at, status=status))
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(r.to_text(args.lang) for r in reports))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_INVALID


def _days(value: float | None) -> timedelta | None:
    if value is None:
        return None
    if not 0 < value <= 3660:
        raise InputError("days above 0, at most 3660", where="--status-max-age", value=value)
    return timedelta(days=value)


def _inspect(args: argparse.Namespace) -> int:
    from ecert.app import inspect_file

    info = inspect_file(args.file)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        for key, value in info.items():
            if isinstance(value, list):
                print(f"{key}:")
                for v in value:
                    print(f"  - {v}")
            elif isinstance(value, dict):
                print(f"{key}:")
                for k, v in value.items():
                    print(f"  {k}: {v}")
            else:
                print(f"{key}: {value}")
    return EXIT_OK
