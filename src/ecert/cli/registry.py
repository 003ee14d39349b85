"""``ecert registry``: the certificate registry from the command line."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ecert.cli import EXIT_INVALID, EXIT_OK
from ecert.cli.common import add_signer_options, load_signer
from ecert.errors import RegistryError

EPILOG = """examples:
  ecert registry init --registry registry.db
  ecert registry find --holder 91110000600037341L --registry registry.db --json
  ecert registry revoke 1.2.156.3005.2....001.4 --reason "以欺骗手段取得许可" --registry registry.db
  ecert registry status-list --registry registry.db \\
      --key keys/issuer.key.pem --cert keys/issuer.cert.pem -o status.json

exit status: 0 done, 1 not found or refused (e.g. revoking a cancelled certificate), 2 usage error"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "registry",
        help="serials, issued records and status (电子证照库)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rs = p.add_subparsers(dest="registry_command", metavar="ACTION", required=True)

    def db(q: argparse.ArgumentParser) -> None:
        q.add_argument("--registry", required=True, type=Path, metavar="DB")

    q = rs.add_parser("init", help="create a registry file")
    db(q)
    q.set_defaults(handler=_init)
    q = rs.add_parser("show", help="one issued certificate")
    q.add_argument("identifier")
    db(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_show)
    q = rs.add_parser("find", help="issued certificates by holder, type, issuer, date, status")
    for opt in ("--holder", "--type", "--issuer", "--status"):
        q.add_argument(opt)
    q.add_argument("--from", dest="date_from", type=date.fromisoformat)
    q.add_argument("--to", dest="date_to", type=date.fromisoformat)
    db(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_find)
    for action in ("revoke", "cancel", "suspend", "reinstate"):
        q = rs.add_parser(action, help=f"{action} a certificate")
        q.add_argument("identifier")
        q.add_argument("--reason", required=True)
        q.add_argument("--by", default="ecert-cli")
        db(q)
        q.set_defaults(handler=_change, action=action)
    q = rs.add_parser("status-list", help="export the signed status list (non-valid certificates)")
    db(q)
    add_signer_options(q)
    q.add_argument("-o", "--out", required=True, type=Path)
    q.add_argument("--next-update-days", type=int, default=7)
    q.set_defaults(handler=_status_list)


def _init(args: argparse.Namespace) -> int:
    from ecert.registry import SQLiteRegistry

    SQLiteRegistry.open(args.registry).close()
    print(args.registry)
    return EXIT_OK


def _row(rec: object) -> dict[str, object]:
    from ecert.registry import IssuedRecord

    assert isinstance(rec, IssuedRecord)
    return {
        "identifier": rec.identifier,
        "holder": rec.metadata.holder_name,
        "holder_code": rec.metadata.holder_code,
        "type_code": rec.metadata.type_code,
        "issued_at": rec.issued_at.isoformat(),
        "status": rec.status.value,
        "reason": rec.status_reason,
        "replaced_by": rec.replaced_by,
        "file": rec.file_path,
    }


def _show(args: argparse.Namespace) -> int:
    from ecert.registry import SQLiteRegistry

    with SQLiteRegistry.open(args.registry) as reg:
        try:
            rec = reg.get(args.identifier)
        except RegistryError as exc:
            print(exc)
            return EXIT_INVALID
        row = _row(rec)
    print(
        json.dumps(row, ensure_ascii=False, indent=2)
        if args.json
        else "\n".join(f"{k}: {v}" for k, v in row.items())
    )
    return EXIT_OK


def _find(args: argparse.Namespace) -> int:
    from ecert.registry import CertStatus, SQLiteRegistry

    status = CertStatus(args.status) if args.status else None
    with SQLiteRegistry.open(args.registry) as reg:
        rows = [
            _row(r)
            for r in reg.find(
                holder_code=args.holder,
                type_code=args.type,
                issuer_code=args.issuer,
                issued_from=args.date_from,
                issued_to=args.date_to,
                status=status,
            )
        ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            print(f"{r['status']:<10} {r['identifier']}  {r['holder']}")
    return EXIT_OK if rows else EXIT_INVALID


def _change(args: argparse.Namespace) -> int:
    from ecert.registry import SQLiteRegistry

    with SQLiteRegistry.open(args.registry) as reg:
        try:
            rec = getattr(reg, args.action)(
                args.identifier, reason=args.reason, by=args.by, at=datetime.now(UTC)
            )
        except RegistryError as exc:
            print(f"ecert registry {args.action}: {exc}")
            return EXIT_INVALID
    print(f"{rec.identifier}: {rec.status.value} ({rec.status_reason})")
    return EXIT_OK


def _status_list(args: argparse.Namespace) -> int:
    from ecert.registry import SQLiteRegistry, StatusList

    signer = load_signer(args)
    now = datetime.now(UTC).replace(microsecond=0)
    with SQLiteRegistry.open(args.registry) as reg:
        entries = reg.non_valid()
    status_list = StatusList.build(
        entries,
        issuer=signer.certificate.subject,
        issued_at=now,
        next_update=now + timedelta(days=args.next_update_days),
    )
    args.out.write_bytes(status_list.sign(signer))
    print(f"{args.out}: {len(entries)} entries, next update {status_list.next_update:%Y-%m-%d}")
    return EXIT_OK
