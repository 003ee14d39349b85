"""``ecert registry``: the certificate registry (电子证照库) from the command line.

Argument parsing and printing only; every decision is made by :mod:`ecert.registry`.  A missing
registry file is unreadable input (exit 2, through ``main``); an unknown certificate, an empty
search and a refused status change are findings (exit 1).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ecert.cli import EXIT_INVALID, EXIT_OK
from ecert.cli.common import (
    add_signer_options,
    load_signer,
    open_existing_registry,
    parse_time,
    registry_location,
)
from ecert.errors import InputError, RegistryError
from ecert.times import CHINA_STANDARD_TIME

if TYPE_CHECKING:
    from ecert.registry import IssuedRecord

EPILOG = """examples:
  ecert registry init --registry registry.db
  ecert registry init --registry postgresql://ecert@db.example/ecert     (PGPASSWORD in the environment)
  ecert registry check --registry registry.db
  ecert registry find --holder 91110000600037341L --registry registry.db --json
  ecert registry revoke 1.2.156.3005.2....001.4 --reason "以欺骗手段取得许可" --registry registry.db
  ecert registry status-list --registry registry.db \\
      --key keys/issuer.key.pem --cert keys/issuer.cert.pem -o status.json

exit status: 0 done, 1 not found or refused (e.g. revoking a cancelled certificate),
             2 usage error or unreadable registry"""
_EXAMPLES = {
    "init": "ecert registry init --registry registry.db",
    "show": "ecert registry show 1.2.156.3005.2.11100000000013338W001.11330100MB01234570.2026000001.001.U "
    "--registry registry.db --json",
    "find": "ecert registry find --type 11100000000013338W001 --from 2026-01-01 --to 2026-12-31 "
    "--status revoked --registry registry.db",
    "revoke": 'ecert registry revoke IDENTIFIER --reason "以欺骗手段取得许可" --by 张三 '
    "--registry registry.db",
    "cancel": 'ecert registry cancel IDENTIFIER --reason "企业注销" --registry registry.db',
    "suspend": 'ecert registry suspend IDENTIFIER --reason "暂扣六个月" --registry registry.db',
    "reinstate": 'ecert registry reinstate IDENTIFIER --reason "暂扣期满发还" --registry registry.db',
    "check": "ecert registry check --registry registry.db",
    "usage": "ecert registry usage IDENTIFIER --registry registry.db --json",
    "publish": "ecert registry publish 11100000MB0143028R001 --registry registry.db",
    "status-list": "ecert registry status-list --registry registry.db --key issuer.key.pem "
    "--cert issuer.cert.pem -o status.json --next-update-days 1",
}
_STATUSES = ("valid", "suspended", "revoked", "cancelled", "replaced")
_CHANGES = {
    "revoke": "revoke a certificate (吊销; final)",
    "cancel": "cancel a certificate (注销; final)",
    "suspend": "suspend a certificate (暂扣)",
    "reinstate": "reinstate a suspended certificate (暂扣发还)",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "registry",
        help="serials, issued records and status (电子证照库)",
        description="The certificate registry: issued records, status changes, signed status lists.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rs = p.add_subparsers(dest="registry_command", metavar="ACTION", required=True)

    def action(name: str, text: str) -> argparse.ArgumentParser:
        q = rs.add_parser(
            name,
            help=text,
            description=text,
            epilog=f"example:\n  {_EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        q.add_argument(
            "--registry",
            required=True,
            type=registry_location,
            metavar="DB",
            help="the library: an SQLite file, or a postgresql://user@host/db URL",
        )
        return q

    action("init", "create a library (or check an existing one)").set_defaults(handler=_init)
    action(
        "check", "verify the status and usage hash chains, derived statuses and every stored file's SM3"
    ).set_defaults(handler=_check)
    q = action("usage", "who used a certificate (用证记录): application, department, reason, result, time")
    q.add_argument("identifier", help="the certificate identifier (1.2.156.3005.2....)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(handler=_usage)
    q = action("publish", "publish a certificate type to the library's catalogue (a new version if changed)")
    q.add_argument("type", metavar="TYPE", help="a bundled type code, or a type definition file (.json)")
    q.set_defaults(handler=_publish)
    q = action("show", "one issued certificate, with its history and versions")
    q.add_argument("identifier", help="the certificate identifier (1.2.156.3005.2....)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(handler=_show)
    q = action("find", "issued certificates by holder, type, issuer, issue date, status")
    q.add_argument("--holder", metavar="CODE", help="holder code (USCC, citizen ID number...)")
    q.add_argument("--holder-name", metavar="NAME", help="holder name (持证主体), exactly")
    q.add_argument("--type", metavar="CODE", help="certificate type code (21 characters)")
    q.add_argument(
        "--issuer", metavar="CODE", help="the issuing authority's code (USCC, not the identifier's part)"
    )
    q.add_argument("--from", dest="date_from", type=_date, metavar="YYYY-MM-DD", help="issued on or after")
    q.add_argument("--to", dest="date_to", type=_date, metavar="YYYY-MM-DD", help="issued on or before")
    q.add_argument("--status", choices=_STATUSES, help="only certificates with this status")
    q.add_argument("--limit", type=int, default=1000, metavar="N", help="at most N rows (default 1000)")
    q.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N rows (paging)")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(handler=_find)
    for name, text in _CHANGES.items():
        q = action(name, text)
        q.add_argument("identifier", help="the certificate identifier (1.2.156.3005.2....)")
        q.add_argument("--reason", required=True, help="why (kept in the history and the status list)")
        q.add_argument("--by", default=None, help="who decided (default: the login name)")
        q.add_argument("--at", default=None, metavar="TIME", help="ISO 8601 time with zone (default: now)")
        q.set_defaults(handler=_change, action=name)
    q = action("status-list", "export the signed status list of every certificate that is not valid")
    add_signer_options(q)
    q.add_argument(
        "-o", "--out", required=True, type=Path, metavar="FILE", help="where to write the list (JSON)"
    )
    q.add_argument(
        "--next-update-days", type=int, default=7, metavar="N", help="default 7; 0: no next update"
    )
    q.add_argument(
        "--issuer",
        metavar="CODE",
        help="only certificates this authority issued (its USCC, whatever the identifiers' issuer part)",
    )
    q.set_defaults(handler=_status_list)


def _date(text: str) -> date:
    """A ``--from``/``--to`` date; argparse turns the error into one usage line."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _shown(path: Path) -> str:
    """A path any terminal can print: bytes that are not UTF-8 (lone surrogates in Python) as escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _where(location: str | Path) -> str:
    return location if isinstance(location, str) else _shown(location)


def _init(args: argparse.Namespace) -> int:
    from ecert.registry import open_registry

    open_registry(args.registry).close()
    print(f"{_where(args.registry)}: registry ready")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    with open_existing_registry(args.registry) as reg:
        result = reg.check()
    for problem in result.problems:
        print(f"BROKEN {problem}")
    summary = (
        f"{result.status_events} status events, {result.usage_records} usage records, "
        f"{result.files} files checked"
    )
    if result.ok:
        print(f"ok: {summary}")
        return EXIT_OK
    print(f"{len(result.problems)} problems: {summary}", file=sys.stderr)
    return EXIT_INVALID


def _usage(args: argparse.Namespace) -> int:
    with open_existing_registry(args.registry) as reg:
        try:
            reg.get(args.identifier)  # an unknown certificate is refused, not shown as "never used"
        except RegistryError as exc:
            print(f"ecert registry usage: {exc}", file=sys.stderr)
            return EXIT_INVALID
        records = reg.usage(identifier=args.identifier, limit=100_000)
    rows = [
        {
            "seq": r.seq, "at": r.at.isoformat(), "app_id": r.usage.app_id, "department": r.usage.department,
            "operator": r.usage.operator, "operation": r.usage.operation, "result": r.usage.result,
            "reason": r.usage.reason, "item_code": r.usage.item_code, "case_number": r.usage.case_number,
            "copy_id": r.usage.copy_id,
        }
        for r in records
    ]  # fmt: skip
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for r in records:  # a holder reads China time; --json keeps the recorded instant (UTC)
        u = r.usage
        when = r.at.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M:%S")
        why = u.reason or f"{u.item_code} / {u.case_number}"
        what = f"{u.operation} of copy {u.copy_id}" if u.copy_id else u.operation
        print(f"{when}  {u.department} ({u.app_id}, {u.operator})  {what} → {u.result}: {why}")
    if not rows:
        print(f"{args.identifier}: never used", file=sys.stderr)
    return EXIT_OK


def _publish(args: argparse.Namespace) -> int:
    from ecert.catalog import default_catalog, load_type_file

    given = Path(args.type)
    cert_type = load_type_file(given) if given.suffix == ".json" else default_catalog().get(args.type)
    with open_existing_registry(args.registry) as reg:
        published = reg.publish_type(cert_type)
    sensitive = ", ".join(sorted(published.sensitive_keys)) or "none"
    print(
        f"{published.type_code} {published.type_name}: catalogue version {published.catalog_version} "
        f"({len(published.fields)} fields; sensitive: {sensitive})"
    )
    return EXIT_OK


def _row(rec: IssuedRecord) -> dict[str, object]:
    from ecert.registry import profile_code

    md = rec.metadata
    try:
        code: str | None = profile_code(rec.status, md.status_profile)
    except InputError:  # e.g. no profile code for "replaced": the registry's word stands alone
        code = None
    return {
        "identifier": rec.identifier,
        "certificate_name": md.certificate_name,
        "number": md.number,
        "holder": md.holder_name,
        "holder_code": md.holder_code,
        "type_code": md.type_code,
        "issuer_code": md.issuer_code,
        "issue_date": md.issue_date.isoformat(),
        "issued_at": rec.issued_at.isoformat(),
        "status": rec.status.value,
        "status_code": code,
        "status_profile": md.status_profile,
        "reason": rec.status_reason,
        "status_changed_at": rec.status_changed_at.isoformat(),
        "status_changed_by": rec.status_changed_by,
        "replaced_by": rec.replaced_by,
        "package_digest": rec.package_digest,
        "signer": rec.signer,
        "file": rec.file_path,
    }


def _show(args: argparse.Namespace) -> int:
    with open_existing_registry(args.registry) as reg:
        try:
            rec = reg.get(args.identifier)
        except RegistryError as exc:
            print(f"ecert registry show: {exc}", file=sys.stderr)
            return EXIT_INVALID
        history = [
            {"status": h.status.value, "reason": h.reason, "by": h.by, "at": h.at.isoformat()}
            for h in reg.history(rec.identifier)
        ]
        versions = [v.identifier for v in reg.versions(rec.identifier)]
    row = _row(rec)
    if args.json:
        print(json.dumps({**row, "history": history, "versions": versions}, ensure_ascii=False, indent=2))
        return EXIT_OK
    for key, value in row.items():
        print(f"{key}: {'' if value is None else value}")
    print("history:")
    for h in history:
        print(f"  {h['at']}  {h['status']:<10} {h['by'] or ''}: {h['reason'] or ''}")
    print(f"versions: {', '.join(versions)}")
    return EXIT_OK


def _find(args: argparse.Namespace) -> int:
    from ecert.registry import CertStatus

    status = None if args.status is None else CertStatus(args.status)
    with open_existing_registry(args.registry) as reg:
        records = reg.find(
            holder_code=args.holder,
            holder_name=args.holder_name,
            type_code=args.type,
            issuer_code=args.issuer,
            issued_from=args.date_from,
            issued_to=args.date_to,
            status=status,
            limit=args.limit,
            offset=args.offset,
        )
    rows = [_row(r) for r in records]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            print(f"{r['status']:<10} {r['issue_date']}  {r['identifier']}  {r['holder']}")
        if not rows:
            print("no certificate matches", file=sys.stderr)
        elif len(rows) == args.limit:
            print(
                f"stopped at --limit {args.limit}: more may match "
                f"(next page: --offset {args.offset + args.limit})",
                file=sys.stderr,
            )
    return EXIT_OK if rows else EXIT_INVALID


def _change(args: argparse.Namespace) -> int:
    at = parse_time(args.at, "--at") or datetime.now(UTC)
    by = args.by or getpass.getuser()
    with open_existing_registry(args.registry) as reg:
        try:
            rec = getattr(reg, args.action)(args.identifier, reason=args.reason, by=by, at=at)
        except RegistryError as exc:
            print(f"ecert registry {args.action}: {exc}", file=sys.stderr)
            return EXIT_INVALID
    print(f"{rec.identifier}: {rec.status.value} ({rec.status_reason})")
    return EXIT_OK


def _status_list(args: argparse.Namespace) -> int:
    if args.next_update_days < 0:
        raise InputError("must not be negative", where="--next-update-days", value=args.next_update_days)
    signer = load_signer(args)
    now = datetime.now(UTC).replace(microsecond=0)
    due = now + timedelta(days=args.next_update_days) if args.next_update_days else None
    with open_existing_registry(args.registry) as reg:
        count = len(reg.non_valid(issuer_code=args.issuer))
        data = reg.export_status_list(signer, issued_at=now, next_update=due, issuer_code=args.issuer)
    args.out.write_bytes(data)
    when = "none" if due is None else f"{due:%Y-%m-%d %H:%M} UTC"
    print(f"{_shown(args.out)}: {count} entries, next update {when}")
    return EXIT_OK
