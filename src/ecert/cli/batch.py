"""``ecert batch``: issue a CSV of records in parallel, resumably, with a progress bar."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecert.batch import BatchProgress, IssuerFiles, issue_batch
from ecert.cli import EXIT_INVALID, EXIT_OK
from ecert.cli.common import add_signer_options, add_types_option, load_types, parse_time
from ecert.cli.faces import add_face_options
from ecert.errors import InputError
from ecert.metadata import Authority

EPILOG = """example:
  ecert batch examples/batch/11100000MB0143028R001.csv --type 11100000MB0143028R001 \\
      --key demo-out/keys/issuer.key.pem --cert demo-out/keys/issuer.cert.pem \\
      --registry registry.db -o out/ --workers 2

Rows already issued (by an earlier, perhaps interrupted, run) are skipped: after Ctrl-C or a crash,
run the same command again. Files an interrupted run wrote but never recorded are moved to
DIR/orphans/. Rejected rows are listed with their problems in DIR/rejected.csv.
exit status: 0 every row issued, 1 some rows rejected, 2 usage error or unreadable input"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "batch",
        help="issue every row of a CSV file",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("csv", type=Path, metavar="CSV", help="records, one per row, with a header")
    p.add_argument("--type", required=True, dest="type_code", metavar="CODE", help="certificate type code")
    add_signer_options(p)
    p.add_argument(
        "--registry", required=True, type=Path, metavar="DB", help="the registry (created when missing)"
    )
    p.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    p.add_argument(
        "--issuer-name",
        metavar="NAME",
        help="issuing department (default: the one the --cert certificate names)",
    )
    p.add_argument("--issuer-code", metavar="USCC", help="its 统一社会信用代码 (with --issuer-name)")
    p.add_argument("--seal-image", type=Path, metavar="PNG", help="issuer seal image (PNG)")
    p.add_argument("--at", metavar="ISO8601", help="issuing time with time zone (default: now)")
    add_types_option(p)
    add_face_options(p)
    p.set_defaults(handler=_batch)


class _Bar:
    """A bar redrawn in place on a terminal; in a log (not a TTY), one line every 10 %."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, p: BatchProgress) -> None:
        rate = (p.issued / p.elapsed) if p.elapsed > 0 else 0.0
        filled = int(30 * p.done / p.total) if p.total else 30
        line = f"[{'#' * filled}{'.' * (30 - filled)}] {p.done}/{p.total} rows  {rate:.0f}/s"
        if self.tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        else:
            decile = 10 * p.done // max(p.total, 1)
            if decile != self.last_decile:
                self.last_decile = decile
                print(line, file=sys.stderr, flush=True)


def _batch(args: argparse.Namespace) -> int:
    if (args.issuer_name is None) != (args.issuer_code is None):
        raise InputError("give --issuer-name and --issuer-code together", where="--issuer-name/--issuer-code")
    authority = Authority(args.issuer_name, args.issuer_code) if args.issuer_name else None
    password = args.password_file.read_bytes().rstrip(b"\r\n") if args.password_file else None
    issuer = IssuerFiles(args.key, args.cert, password, args.seal_image, authority)
    bar = _Bar()
    result = issue_batch(
        args.csv,
        args.type_code,
        issuer,
        args.registry,
        args.out,
        catalog=load_types(args),
        workers=args.workers,
        at=parse_time(args.at, "--at"),
        progress=bar,
        faces=args.faces,
        qr=args.qr,
    )
    if bar.tty:
        print(file=sys.stderr)
    print(
        f"{result.issued} issued, {result.skipped} already issued, {result.rejected} rejected "
        f"in {result.elapsed:.1f} s"
    )
    if result.orphans:
        print(
            f"{len(result.orphans)} files of an interrupted run were never recorded: "
            f"moved to {args.out}/orphans/"
        )
    if result.rejected_path:
        print(f"rejected rows and their problems: {result.rejected_path}")
    return EXIT_OK if result.ok else EXIT_INVALID
