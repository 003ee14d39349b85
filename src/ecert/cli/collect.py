"""``ecert collect``: a JSON record (or CSV rows) -> certificate draft JSON, or every problem.

Argument parsing and printing only; the decisions are :func:`ecert.collect.collect`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from ecert.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from ecert.cli.common import add_types_option, load_types
from ecert.collect import collect, collect_csv
from ecert.collect.collector import resolve_type
from ecert.errors import CollectionError, FieldProblem, InputError
from ecert.metadata import Authority

EPILOG = """examples:
  ecert collect examples/records/11100000000013338W050.json --type 11100000000013338W050
  ecert collect rows.csv --csv --type 11100000MB0143028R001 \\
      --issuer-name 北京市海淀区市场监督管理局 --issuer-code 11110108MB0123457X

Prints the draft as JSON (with --csv: one JSON line per valid row), or the problems, one per line
as "field: message" (with --csv: "line N: field: message").  The issuer, serial and issue date
options override the record's own fields.
exit status: 0 valid, 1 invalid (any row with --csv), 2 usage error or unreadable input."""

_Sub = argparse._SubParsersAction  # the type argparse gives add_subparsers() results


def register(subparsers: _Sub[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "collect",
        help="check a source record and print the certificate draft",
        description="Collect (采集) a source record into a certificate draft: map, normalise, validate.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("record", metavar="RECORD", help="JSON record file (CSV with --csv); - reads stdin")
    p.add_argument("--type", required=True, metavar="CODE", help="certificate type code (ecert types)")
    p.add_argument("--issuer-name", metavar="NAME", help="issuing authority's name")
    p.add_argument("--issuer-code", metavar="USCC", help="issuing authority's 统一社会信用代码")
    p.add_argument(
        "--serial", metavar="S", help="identifier serial (流水号); default: from the record or derived"
    )
    p.add_argument(
        "--issue-date", metavar="YYYY-MM-DD", help="issue date (default: the record's, else today)"
    )
    p.add_argument("--csv", action="store_true", help="RECORD is a CSV file with a header; collect every row")
    p.add_argument("--strict", action="store_true", help="fields the type does not know are problems")
    add_types_option(p)
    p.set_defaults(handler=run)


def _problem_line(p: FieldProblem) -> str:
    return str(p)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    if (args.issuer_name is None) != (args.issuer_code is None):
        raise InputError("give both --issuer-name and --issuer-code, or neither", where="--issuer-*")
    issuer = Authority(args.issuer_name, args.issuer_code) if args.issuer_name is not None else None
    issue_date = None
    if args.issue_date is not None:
        try:
            issue_date = datetime.date.fromisoformat(args.issue_date)
        except ValueError:
            raise InputError("not a date", where="--issue-date", value=args.issue_date) from None
    return {"issuer": issuer, "serial": args.serial, "issue_date": issue_date, "strict": args.strict}


def _read(record: str) -> str:
    if record == "-":
        return sys.stdin.read()
    from ecert.app import read_input

    try:  # errors name the file as every command's do ("cannot read record (...) at FILE")
        return read_input(Path(record), "record").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"record is not UTF-8 text ({exc.reason})", where=record) from None


def run(args: argparse.Namespace) -> int:
    cert_type = resolve_type(args.type.strip(), load_types(args))  # UnknownType -> exit 2 in cli.main
    options = _options(args)
    if args.csv:
        return _run_csv(args.record, cert_type, options)
    text = _read(args.record)
    try:
        draft = collect(text, cert_type, **options)
    except CollectionError as exc:
        for p in exc.problems:
            print(_problem_line(p))
        return EXIT_USAGE if [p.field for p in exc.problems] == ["<record>"] else EXIT_INVALID
    print(draft.to_json())
    return EXIT_OK


def _run_csv(record: str, cert_type: Any, options: dict[str, Any]) -> int:
    source: Any = sys.stdin if record == "-" else Path(record)
    invalid = 0
    for row in collect_csv(source, cert_type, **options):
        if row.draft is None:
            invalid += 1
            for p in row.problems:
                print(f"line {row.line}: {_problem_line(p)}")
        else:
            print(json.dumps(row.draft.to_dict(), ensure_ascii=False, sort_keys=True))
    return EXIT_INVALID if invalid else EXIT_OK
