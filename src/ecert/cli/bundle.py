"""``ecert bundle make|show``: the province's signed trust bundle (argument parsing and printing only)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ecert.cli import EXIT_OK
from ecert.cli.common import add_signer_options, load_signer, parse_time
from ecert.errors import InputError

EPILOG = """examples:
  ecert bundle make --key province.key.pem --cert province.cert.pem --anchor trust/root.pem \\
      --issuer trust/issuers/ --status-list city-a.status.json --hours 24 -o bundle.json
  ecert bundle show bundle.json --bundle-signer province-root.pem
  ecert verify CERT.ofd --bundle bundle.json --bundle-signer province-root.pem

See spec/trust-bundle.md."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bundle",
        help="make or show the province's signed trust bundle",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="bundle_action", metavar="ACTION", required=True)
    m = actions.add_parser(
        "make",
        help="sign a trust bundle",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_signer_options(m)
    m.add_argument(
        "--anchor",
        action="append",
        type=Path,
        required=True,
        default=[],
        metavar="FILE|DIR",
        help="trust anchor certificates (repeatable)",
    )
    m.add_argument(
        "--issuer",
        action="append",
        type=Path,
        default=[],
        metavar="FILE|DIR",
        help="department issuing certificates; each must chain to an anchor (repeatable)",
    )
    m.add_argument(
        "--authorisations",
        type=Path,
        metavar="FILE",
        help="an authorisations.json (spec/trust-authorisations.md)",
    )
    m.add_argument(
        "--status-list",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a department's signed status list (repeatable; one per department)",
    )
    m.add_argument("--hours", type=float, default=24.0, help="validity from the issue time (default 24)")
    m.add_argument("--publisher", default="", help="the publisher's name (default: the signer's subject)")
    m.add_argument("--at", metavar="ISO8601", help="issue time with time zone (default: now)")
    m.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="where to write the bundle"
    )
    m.set_defaults(handler=_make)
    s = actions.add_parser(
        "show",
        help="verify a bundle and show what it holds",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("bundle", type=Path, metavar="BUNDLE", help="the bundle file")
    s.add_argument(
        "--bundle-signer",
        type=Path,
        required=True,
        metavar="CERT",
        help="the province's certificate (the signer's, or its CA's)",
    )
    s.add_argument("--at", metavar="ISO8601", help="time to check it at (default: now)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=_show)


def _make(args: argparse.Namespace) -> int:
    from ecert.app import load_certificate_files, read_input
    from ecert.crypto.authority import load_authorisations
    from ecert.exchange import make_bundle

    if not 0 < args.hours <= 31 * 24:
        raise InputError("hours above 0, at most 744", where="--hours", value=args.hours)
    issued = parse_time(args.at, "--at") or datetime.now(UTC)
    data = make_bundle(
        load_signer(args),
        anchors=load_certificate_files(args.anchor),
        issuers=load_certificate_files(args.issuer),
        authorisations=load_authorisations(args.authorisations) if args.authorisations else (),
        status_lists=[read_input(p, "status list") for p in args.status_list],
        issued_at=issued,
        expires_at=issued + timedelta(hours=args.hours),
        publisher=args.publisher,
    )
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write the bundle ({exc.strerror})", where=str(args.output)) from None
    print(f"wrote {args.output} ({len(data)} bytes)", file=sys.stderr)
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from ecert.exchange import load_bundle_file

    summary = load_bundle_file(args.bundle, args.bundle_signer, at=parse_time(args.at, "--at")).summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return EXIT_OK
    for key, value in summary.items():
        if isinstance(value, list):
            print(f"{key}: {len(value)}")
            for item in value:
                print(f"  - {item}")
        else:
            print(f"{key}: {value}")
    return EXIT_OK
