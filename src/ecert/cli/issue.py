"""``ecert issue``: one certificate from one record (collect → identifier → package → sign)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecert.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from ecert.cli.common import (
    add_signer_options,
    add_types_option,
    load_signer,
    load_types,
    parse_time,
    registry_location,
)
from ecert.cli.faces import add_face_options, write_face_options
from ecert.errors import CollectionError

EPILOG = """example:
  ecert issue examples/records/11100000MB0143028R001.json --type 11100000MB0143028R001 \\
      --key demo-out/keys/issuer.key.pem --cert demo-out/keys/issuer.cert.pem -o out/

Prints the path of the signed OFD file (named after the certificate identifier), then those of
the face (--faces: <identifier>.face.png, 300 dpi) and QR image (--qr: <identifier>.qr.png) beside
it.  The issuer is the department the --cert certificate names.  A rejected record's problems go
to stderr, one per line as "RECORD: field: message".
exit status: 0 issued, 1 the record was rejected (problems listed), 2 usage error or unreadable input"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "issue",
        help="issue one signed certificate file from a record",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("record", type=Path, metavar="RECORD.json", help="the source record (a JSON object)")
    p.add_argument("--type", required=True, dest="type_code", metavar="CODE", help="certificate type code")
    add_signer_options(p)
    p.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument("--serial", help="serial number (流水号); default: derived from the record")
    p.add_argument("--photo", type=Path, metavar="IMAGE", help="holder photo (PNG/JPEG)")
    p.add_argument("--seal-image", type=Path, metavar="IMAGE", help="issuer seal image (PNG)")
    p.add_argument("--at", metavar="ISO8601", help="signing time with time zone (default: now)")
    add_types_option(p)
    add_face_options(p)
    p.set_defaults(handler=_issue)
    register_replace(sub)


EPILOG_REPLACE = """example:
  ecert replace corrected.json --type 11100000MB0143028R001 --registry registry.db \\
      --key demo-out/keys/issuer.key.pem --cert demo-out/keys/issuer.cert.pem -o out/

Issues the corrected record as the next version (版本号 + 1, same serial) of the valid certificate
its holder holds of that type (--identifier ID when the holder has several), and records the old
one as replaced by it. Prints the new file and the identifier it replaces.
exit status: 0 issued, 1 the record was rejected (problems listed), 2 usage error (nothing to
replace, unreadable input)"""


def register_replace(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "replace",
        help="issue a corrected record as the new version of its holder's certificate",
        description="Replace a valid certificate by a new version issued from a corrected record.",
        epilog=EPILOG_REPLACE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("record", type=Path, metavar="RECORD.json", help="the corrected source record")
    p.add_argument("--type", required=True, dest="type_code", metavar="CODE", help="certificate type code")
    p.add_argument(
        "--registry",
        required=True,
        type=registry_location,
        metavar="DB",
        help="the library it was issued in: an SQLite file or a postgresql:// URL",
    )
    p.add_argument(
        "--identifier", metavar="ID", help="the certificate to replace (default: the holder's one)"
    )
    p.add_argument("--reason", default="replaced by a corrected record", help="recorded with the change")
    add_signer_options(p)
    p.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument("--at", metavar="ISO8601", help="signing time with time zone (default: now)")
    add_types_option(p)
    p.set_defaults(handler=_replace)


def _replace(args: argparse.Namespace) -> int:
    from ecert.app import replace_record_file

    catalog = load_types(args)
    signer = load_signer(args)
    try:
        path, old = replace_record_file(
            args.record,
            type_code=args.type_code,
            signer=signer,
            registry=args.registry,
            out_dir=args.out,
            identifier=args.identifier,
            reason=args.reason,
            at=parse_time(args.at, "--at"),
            catalog=catalog,
        )
    except CollectionError as exc:
        for problem in exc.problems:
            print(f"{args.record}: {problem}", file=sys.stderr)
        return EXIT_USAGE if [p.field for p in exc.problems] == ["<record>"] else EXIT_INVALID
    print(path)
    print(f"replaces {old}", file=sys.stderr)
    return EXIT_OK


def _issue(args: argparse.Namespace) -> int:
    from ecert.app import issue_record_file

    catalog = load_types(args)
    signer = load_signer(args)
    try:
        path = issue_record_file(
            args.record,
            type_code=args.type_code,
            catalog=catalog,
            signer=signer,
            out_dir=args.out,
            at=parse_time(args.at, "--at"),
            serial=args.serial,
            photo=args.photo,
            seal_image=args.seal_image,
        )
    except CollectionError as exc:  # processed and found invalid: exit 1, every problem listed
        for problem in exc.problems:
            print(f"{args.record}: {problem}", file=sys.stderr)
        # a record that is not a record at all (a JSON list, say) is unreadable input, as in collect
        return EXIT_USAGE if [p.field for p in exc.problems] == ["<record>"] else EXIT_INVALID
    print(path)
    for extra in write_face_options(args, path):
        print(extra)
    return EXIT_OK
