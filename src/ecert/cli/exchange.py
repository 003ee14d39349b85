"""``ecert exchange export|import|reconcile``: offline exchange packages and reconciliation
(argument parsing and printing only)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ecert.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from ecert.cli.common import add_signer_options, load_signer
from ecert.errors import InputError

EPILOG = """examples:
  ecert exchange export --library city.db --key exchange.key.pem --cert exchange.pem -o to-province.json
  ecert exchange import to-province.json --library postgresql://prov/lib --sender-cert city-exchange.pem \\
      --region 330100
  ecert exchange reconcile --library city.db --write-summary city-summary.json
  ecert exchange reconcile --library province.db --summary city-summary.json

See spec/exchange.md."""

_RAW = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "exchange",
        help="province-city exchange: offline packages, reconciliation",
        epilog=EPILOG,
        formatter_class=_RAW,
    )
    actions = p.add_subparsers(dest="exchange_action", metavar="ACTION", required=True)
    e = actions.add_parser(
        "export", help="write the library's events as signed batches", epilog=EPILOG, formatter_class=_RAW
    )
    e.add_argument("--library", required=True, help="the sending library (SQLite path or postgresql:// URL)")
    add_signer_options(e)
    e.add_argument("--after", type=int, default=0, help="send the events after this seq (default 0: all)")
    e.add_argument("--batch-size", type=int, default=1000, help="events per batch (default 1000)")
    e.add_argument("-o", "--output", type=Path, required=True, help="the package file to write")
    e.set_defaults(handler=_export)
    i = actions.add_parser(
        "import", help="apply a package's batches, answered per record", epilog=EPILOG, formatter_class=_RAW
    )
    i.add_argument("package", type=Path, help="the package file")
    i.add_argument("--library", required=True, help="the receiving library")
    i.add_argument(
        "--sender-cert", type=Path, required=True, help="the sender's exchange certificate (or its CA)"
    )
    i.add_argument("--region", action="append", default=[], help="a division code the sender may send for")
    i.add_argument("--issuer", action="append", default=[], help="an issuer code the sender may send for")
    i.add_argument("--json", action="store_true", help="print the answers as JSON")
    i.set_defaults(handler=_import)
    r = actions.add_parser(
        "reconcile", help="compare two libraries group by group", epilog=EPILOG, formatter_class=_RAW
    )
    r.add_argument("--library", required=True, help="this library")
    r.add_argument("--other", help="the other library, when reachable from here")
    r.add_argument("--summary", type=Path, help="the other library's summary file")
    r.add_argument("--write-summary", type=Path, help="write this library's summary file and stop")
    r.set_defaults(handler=_reconcile)


def _export(args: argparse.Namespace) -> int:
    from ecert.exchange.offline import make_package
    from ecert.registry import open_registry

    with open_registry(args.library, create=False) as library:
        made = make_package(library, load_signer(args), after=args.after, batch_size=args.batch_size)
    if made is None:
        print(f"nothing after seq {args.after}", file=sys.stderr)
        return EXIT_OK
    data, last = made
    _write(args.output, data)
    print(f"wrote {args.output}: events {args.after + 1}-{last}", file=sys.stderr)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from ecert.app import read_input
    from ecert.crypto.x509 import load_certificates
    from ecert.exchange.batch import ExchangePolicy, answer_lines, apply_batch
    from ecert.exchange.offline import read_package
    from ecert.registry import open_registry

    certs = load_certificates(read_input(args.sender_cert, "sender certificate"))
    if not certs:
        raise InputError("no certificate in the file", where=str(args.sender_cert))
    policy = ExchangePolicy(frozenset(args.region), frozenset(args.issuer))
    batches = read_package(read_input(args.package, "exchange package"))
    answers = []
    with open_registry(args.library, create=False) as library:
        for batch in batches:
            answer = apply_batch(library, batch, sender_certificate=certs[0], policy=policy)
            answers.append(answer)
            if answer.problem:
                break  # later batches would only be refused the same way
    if args.json:
        print(json.dumps([a.to_dict() for a in answers], ensure_ascii=False, indent=2))
    else:
        for answer in answers:
            print("\n".join(answer_lines(answer)))
    clean = all(not a.problem and not a.counts["refused"] for a in answers)
    return EXIT_OK if clean else EXIT_INVALID


def _reconcile(args: argparse.Namespace) -> int:
    from ecert.app import read_input
    from ecert.exchange.reconcile import compare, differences, load_summary, summarise, summary_json
    from ecert.registry import open_registry

    with open_registry(args.library, create=False) as library:
        if args.write_summary is not None:
            _write(args.write_summary, summary_json(library, name=library.library_id))
            return EXIT_OK
        if (args.other is None) == (args.summary is None):
            print("ecert exchange reconcile: give --other LIBRARY or --summary FILE", file=sys.stderr)
            return EXIT_USAGE
        if args.other is not None:
            with open_registry(args.other, create=False) as other:
                found = differences(library, other)
        else:
            found = compare(summarise(library), load_summary(read_input(args.summary, "summary")))
    if not found:
        print("no difference")
        return EXIT_OK
    for diff in found:
        print(diff.describe())
    return EXIT_INVALID


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror})", where=str(path)) from None
