"""``ecert batch``: issue a table of records (CSV or .xlsx) in parallel, resumably, with a progress line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ecert.batch import BatchPlan, BatchProgress, IssuerFiles, issue_batch
from ecert.cli import EXIT_INVALID, EXIT_OK
from ecert.cli.common import (
    add_signer_options,
    add_types_option,
    load_types,
    parse_time,
    registry_location,
)
from ecert.cli.faces import add_face_options
from ecert.errors import InputError
from ecert.metadata import Authority

EPILOG = """example:
  ecert batch examples/batch/11100000MB0143028R001.csv --type 11100000MB0143028R001 \\
      --key demo-out/keys/issuer.key.pem --cert demo-out/keys/issuer.cert.pem \\
      --registry registry.db -o out/ --workers 2

The input is a CSV file (UTF-8, UTF-16 or GB18030) or an .xlsx workbook (its first sheet; needs
pip install 'ecert[xlsx]'), read row by row: any number of rows runs in the same memory.
A column that names no field of the type is reported before anything is issued (--strict: the
batch refuses to start). Rows already issued (by an earlier, perhaps interrupted, run) are skipped:
after Ctrl-C or a crash, run the same command again. Files an interrupted run wrote but never
recorded are moved to DIR/orphans/. Rejected rows are listed with their problems in
DIR/rejected.csv (an earlier run's file is kept: the next one is rejected-2.csv, ...).
A row whose holder already holds a valid certificate of the type is rejected, naming it; with
--replace it is issued as the next version, and the old one is marked replaced.
exit status: 0 every row issued, 1 some rows rejected, 2 usage error or unreadable input"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "batch",
        help="issue every row of a CSV or .xlsx file",
        description="Issue a certificate for every row of a table (CSV or .xlsx), resumably, in parallel.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "csv", type=Path, metavar="TABLE", help="records, one per row, with a header (.csv, .xlsx)"
    )
    p.add_argument("--type", required=True, dest="type_code", metavar="CODE", help="certificate type code")
    add_signer_options(p)
    p.add_argument(
        "--registry",
        required=True,
        type=registry_location,
        metavar="DB",
        help="the library: an SQLite file (created when missing) or a postgresql://user@host/db URL",
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
    p.add_argument(
        "--strict", action="store_true", help="refuse to start when a column names no field of the type"
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="issue a row whose holder already holds a valid certificate of the type as its new version",
    )
    p.add_argument("--json", action="store_true", help="print the final summary as JSON")
    add_types_option(p)
    add_face_options(p)
    p.set_defaults(handler=_batch)


class _Bar:
    """A bar redrawn in place on a terminal; in a log (not a TTY), one line every 10 %."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, p: BatchProgress) -> None:
        rate = ((p.issued + p.replaced) / p.elapsed) if p.elapsed > 0 else 0.0
        filled = int(30 * p.done / p.total) if p.total else 30
        eta = p.eta
        left = "" if eta is None or p.done >= p.total else f"  ETA {_duration(eta)}"
        line = f"[{'#' * filled}{'.' * (30 - filled)}] {p.done}/{p.total} rows  {rate:.0f}/s{left}"
        if self.tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        else:
            decile = 10 * p.done // max(p.total, 1)
            if decile != self.last_decile:
                self.last_decile = decile
                print(line, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _announce(plan: BatchPlan) -> None:
    """Before anything is issued: what was read, and the columns that will be ignored."""
    t = plan.table
    print(
        f"{t.path}: {t.rows} rows ({t.encoding}), type {plan.cert_type.code} {plan.cert_type.name}",
        file=sys.stderr,
    )
    if plan.unknown_columns:
        print(
            f"warning: {len(plan.unknown_columns)} column(s) name no field of {plan.cert_type.name} and are "
            f"ignored on every row: {', '.join(plan.unknown_columns)} (misspelled? see ecert types "
            f"{plan.cert_type.code}; --strict refuses to start)",
            file=sys.stderr,
        )


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
        strict=args.strict,
        replace=args.replace,
        on_start=_announce,
    )
    if bar.tty:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK if result.ok else EXIT_INVALID
    replaced = f", {result.replaced} replaced" if result.replaced or args.replace else ""
    print(
        f"{result.issued} issued{replaced}, {result.skipped} already issued, {result.rejected} rejected "
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
