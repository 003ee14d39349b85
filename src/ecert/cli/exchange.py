"""``ecert exchange export|import|reconcile|push|pull|peer``: offline exchange packages,
reconciliation, and the HTTP exchange with a peer's share service (argument parsing and printing only)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ecert.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from ecert.cli.common import add_signer_options, load_signer
from ecert.errors import InputError

if TYPE_CHECKING:
    from ecert.crypto.x509 import Certificate
    from ecert.exchange.batch import Answer, ExchangePolicy
    from ecert.exchange.http import ExchangeClient

EPILOG = """examples:
  ecert exchange export --library city.db --key exchange.key.pem --cert exchange.pem -o to-province.json
  ecert exchange import to-province.json --library postgresql://prov/lib --sender-cert city-exchange.pem \\
      --region 330100
  ecert exchange reconcile --library city.db --write-summary city-summary.json
  ecert exchange reconcile --library province.db --summary city-summary.json
  ecert exchange peer --library province.db --app-id hangzhou --cert city-exchange.pem --region 330100
  ecert exchange push --library city.db --server https://prov.example:8600 --app-id hangzhou \
      --key exchange.key.pem --cert exchange.pem --service-cert province-share.pem
  ecert exchange pull --library city.db --server https://prov.example:8600 --app-id hangzhou \
      --key exchange.key.pem --service-cert province-share.pem --region 330000 --holder-code 913301...

See spec/exchange.md."""

_RAW = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "exchange",
        help="province-city exchange: offline packages, HTTP push/pull, reconciliation",
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
    _status_codes_option(e)
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
    r.add_argument("--server", help="or compare with a peer's summary over HTTP (with --app-id, --key...)")
    r.add_argument("--app-id", help="this library's application id at the peer (with --server)")
    r.add_argument(
        "--key", type=Path, metavar="KEY.pem", help="the application's private key (with --server)"
    )
    r.add_argument("--password-file", type=Path, metavar="FILE", help="file holding the key's password")
    r.add_argument("--service-cert", type=Path, help="the peer's service certificate (with --server)")
    r.add_argument(
        "--type", action="append", default=[], help="compare this certificate type only (repeatable)"
    )
    r.set_defaults(handler=_reconcile)
    _register_http(actions)


def _peer_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", required=True, help="this library (SQLite path or postgresql:// URL)")
    p.add_argument("--server", required=True, help="the peer's share service, e.g. https://prov.example:8600")
    p.add_argument("--app-id", required=True, help="this library's application id at the peer")
    p.add_argument("--service-cert", type=Path, required=True, help="the peer's service certificate (PEM)")


def _status_codes_option(p: argparse.ArgumentParser) -> None:
    from ecert.exchange.codes import MINISTRY_PROFILES

    p.add_argument(
        "--status-codes",
        choices=MINISTRY_PROFILES,
        help="also send the ministry's certState / operateType codes in this profile (spec/exchange.md §6)",
    )


def _register_http(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = actions.add_parser(
        "push", help="归集: send the events the peer lacks over HTTP", epilog=EPILOG, formatter_class=_RAW
    )
    _peer_options(p)
    add_signer_options(p)
    p.add_argument("--batch-size", type=int, default=500, help="events per batch (default 500)")
    p.add_argument("--max-batches", type=int, help="stop after this many batches (resume later)")
    _status_codes_option(p)
    p.add_argument("--json", action="store_true", help="print the answers as JSON")
    p.set_defaults(handler=_push)
    q = actions.add_parser(
        "pull",
        help="回流: receive the peer's events for some holders and types",
        epilog=EPILOG,
        formatter_class=_RAW,
    )
    _peer_options(q)
    q.add_argument("--key", required=True, type=Path, metavar="KEY.pem", help="the application's private key")
    q.add_argument("--password-file", type=Path, metavar="FILE", help="file holding the key's password")
    q.add_argument("--holder-code", action="append", default=[], help="a holder served here (repeatable)")
    q.add_argument(
        "--holder-region",
        action="append",
        default=[],
        help="holders of this division (citizen ID / USCC), e.g. 330100 (repeatable)",
    )
    q.add_argument("--type", action="append", default=[], help="a certificate type served here (repeatable)")
    q.add_argument("--region", action="append", default=[], help="a division code the peer may send for")
    q.add_argument("--issuer", action="append", default=[], help="an issuer code the peer may send for")
    q.add_argument("--batch-size", type=int, default=1000, help="events of the peer's log per batch (1000)")
    q.add_argument("--max-batches", type=int, help="stop after this many batches (resume later)")
    q.add_argument("--json", action="store_true", help="print the answers as JSON")
    q.set_defaults(handler=_pull)
    r = actions.add_parser(
        "peer",
        help="let an application push here: its batch certificate and what it may send",
        epilog=EPILOG,
        formatter_class=_RAW,
    )
    r.add_argument("--library", required=True, help="this (receiving) library")
    r.add_argument(
        "--app-id", required=True, help="the peer's application (registered with an exchange right)"
    )
    r.add_argument(
        "--cert", type=Path, required=True, help="the certificate its batches are signed with (or its CA)"
    )
    r.add_argument(
        "--region", action="append", default=[], help="a division code it may send for (repeatable)"
    )
    r.add_argument(
        "--issuer", action="append", default=[], help="an issuer code it may send for (repeatable)"
    )
    r.set_defaults(handler=_peer)


def _export(args: argparse.Namespace) -> int:
    from ecert.exchange.offline import make_package
    from ecert.registry import open_registry

    with open_registry(args.library, create=False) as library:
        made = make_package(
            library,
            load_signer(args),
            after=args.after,
            batch_size=args.batch_size,
            status_codes=args.status_codes,
        )
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

    if args.server is not None:
        return _remote_reconcile(args)
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


def _certificate(path: Path, what: str) -> Certificate:
    from ecert.app import read_input
    from ecert.crypto.x509 import load_certificates

    certs = load_certificates(read_input(path, what))
    if not certs:
        raise InputError("no certificate in the file", where=str(path))
    return certs[0]


def _client(args: argparse.Namespace) -> ExchangeClient:
    from ecert.app import read_input
    from ecert.crypto.keys import load_private_key
    from ecert.exchange.http import ExchangeClient

    if args.app_id is None or args.key is None or args.service_cert is None:
        raise InputError("--server needs --app-id, --key and --service-cert")
    password = args.password_file.read_bytes().rstrip(b"\r\n") if args.password_file is not None else None
    key = load_private_key(read_input(args.key, "key"), password)
    return ExchangeClient(
        args.server,
        app_id=args.app_id,
        key=key,
        service_certificate=_certificate(args.service_cert, "service cert"),
    )


def _print_answers(answers: Sequence[Answer], as_json: bool) -> None:
    from ecert.exchange.batch import answer_lines

    if as_json:
        print(json.dumps([a.to_dict() for a in answers], ensure_ascii=False, indent=2))
        return
    for answer in answers:
        print("\n".join(answer_lines(answer)))


def _push(args: argparse.Namespace) -> int:
    from ecert.exchange.http import push
    from ecert.registry import open_registry

    with open_registry(args.library, create=False) as library, _client(args) as client:
        report = push(
            library,
            client,
            load_signer(args),
            batch_size=args.batch_size,
            max_batches=args.max_batches,
            status_codes=args.status_codes,
        )
    _print_answers(report.answers, args.json)
    counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
    print(
        f"pushed up to seq {report.cursor}: {counts}; {report.files_delivered} file(s) delivered by digest"
        + (f", {len(report.files_owed)} still owed" if report.files_owed else ""),
        file=sys.stderr,
    )
    return EXIT_OK if not report.counts["refused"] and not report.files_owed else EXIT_INVALID


def _pull(args: argparse.Namespace) -> int:
    from ecert.exchange.http import pull
    from ecert.registry import open_registry

    policy = _peer_policy(args)
    with open_registry(args.library, create=False) as library, _client(args) as client:
        report = pull(
            library,
            client,
            policy=policy,
            holders=args.holder_code,
            holder_regions=args.holder_region,
            types=args.type,
            limit=args.batch_size,
            max_batches=args.max_batches,
        )
    _print_answers(report.answers, args.json)
    counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
    print(
        f"pulled {report.sender} up to seq {report.cursor}: {counts}; "
        f"{report.files_fetched} file(s) fetched by digest"
        + (f", {len(report.files_owed)} still owed" if report.files_owed else ""),
        file=sys.stderr,
    )
    return EXIT_OK if not report.counts["refused"] and not report.files_owed else EXIT_INVALID


def _peer(args: argparse.Namespace) -> int:
    from ecert.exchange.peers import add_peer
    from ecert.registry import open_registry

    policy = _peer_policy(args)
    certificate = _certificate(args.cert, "peer certificate")
    with open_registry(args.library, create=False) as library:
        library.application(args.app_id)  # RecordNotFound: register it first (ecert share app add)
        add_peer(library, args.app_id, certificate, policy)
    print(f"{args.app_id} may push batches signed under {certificate.subject} for {policy.describe()}")
    return EXIT_OK


def _remote_reconcile(args: argparse.Namespace) -> int:
    from ecert.exchange.http import remote_differences
    from ecert.registry import open_registry

    with _client(args) as client, open_registry(args.library, create=False) as library:
        found = remote_differences(library, client, args.type)
    if not found:
        print("no difference")
        return EXIT_OK
    for diff in found:
        print(diff.describe())
    return EXIT_INVALID


def _peer_policy(args: argparse.Namespace) -> ExchangePolicy:
    """What a peer may send for, from ``--region`` / ``--issuer``; one of them is required."""
    from ecert.exchange.batch import ExchangePolicy

    if not args.region and not args.issuer:
        raise InputError("give --region or --issuer: what the peer may send for (e.g. --region 330000)")
    return ExchangePolicy(frozenset(args.region), frozenset(args.issuer))
