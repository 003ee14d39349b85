"""``ecert annotate``: an annotated copy (加注件) of a signed certificate file."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from ecert.cli import EXIT_OK
from ecert.cli.common import add_signer_options, load_signer, parse_time
from ecert.errors import InputError

EPILOG = """example:
  ecert annotate demo-out/CERT.ofd --reason "企业开户" --maker "张三" --until 2027-01-31 \\
      --key demo-out/keys/issuer.key.pem --cert demo-out/keys/issuer.cert.pem -o copy.ofd
  ecert verify copy.ofd --trust demo-out/trust

The copy keeps the original file untouched, draws the national guide's wording on every page
(A: 此件由××提供，仅供办理……时使用，有效期至……; B: 此件经与原件核对无误，……), carries the copy
metadata (JZJ fields) and is signed with --key: the organisation its --cert names releases it.
It is valid to the end of --until (China time), at most --max-days after it is made.
exit status: 0 written, 2 refused (reason, dates, original) or unreadable input"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "annotate",
        help="make an annotated copy (加注件) of a certificate file for one stated use",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the signed original certificate file (.ofd)")
    p.add_argument("--reason", required=True, metavar="TEXT", help="use reason (制作事由), 1-200 characters")
    p.add_argument("--maker", required=True, metavar="NAME", help="who makes the copy (制作者)")
    p.add_argument("--until", required=True, metavar="DATE", help="last day the copy is valid (YYYY-MM-DD)")
    p.add_argument(
        "--level",
        choices=("A", "B"),
        default="A",
        help="A: released from the library; B: also checked against the original (default A)",
    )
    add_signer_options(p)
    p.add_argument("-o", "--out", required=True, type=Path, metavar="COPY.ofd", help="the copy to write")
    p.add_argument("--at", metavar="ISO8601", help="making time with time zone (default: now)")
    p.add_argument(
        "--max-days", type=int, default=90, metavar="N", help="longest validity allowed (default 90)"
    )
    p.add_argument(
        "--trust",
        type=Path,
        metavar="DIR|FILE",
        help="verify the original against these trust anchors before making the copy",
    )
    p.set_defaults(handler=_annotate)


def _annotate(args: argparse.Namespace) -> int:
    from ecert.annotate import CopyLimits, annotate

    try:
        until = date.fromisoformat(args.until)
    except ValueError:
        raise InputError("not a date", where="--until", value=args.until, expected="YYYY-MM-DD") from None
    trust = None
    if args.trust is not None:
        from ecert.app import load_trust

        trust = load_trust(args.trust)
    copy = annotate(
        args.file.read_bytes(),
        load_signer(args),
        reason=args.reason,
        maker=args.maker,
        until=until,
        level=args.level,
        at=parse_time(args.at, "--at"),
        limits=CopyLimits(max_days=args.max_days),
        trust=trust,
    )
    args.out.write_bytes(copy.data)
    md = copy.metadata
    last_day = md.valid_until.isoformat()
    print(f"{args.out}: 加注件 {md.copy_id} of {md.original_identifier}, valid until {last_day}")
    return EXIT_OK
