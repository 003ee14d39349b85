"""``ecert share``: register applications of the share service, and call a running service.

``ecert share app add|list|revoke-key|set-key`` work on the library directly (the operator's side);
``ecert share search|get|get-by-qr|download|verify-data|verify-file|usage|catalogue`` are another
department's client: only its own key, its application id, the server URL and the service
certificate.  Argument parsing and printing only: :mod:`ecert.share` decides.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ecert.cli import EXIT_INVALID, EXIT_OK

EPILOG = """examples (operator):
  ecert share app add tax-bureau --name 税务登记系统 --department 示例市税务局 \\
      --public-key tax.pub.pem --right search --right get --right download:*:sensitive --registry registry.db
  ecert share app list --registry registry.db
  ecert share app revoke-key tax-bureau --registry registry.db

examples (another department; also --reason or --item-code/--case-number on every call):
  ecert share search --holder-code 91110108MA01B2C344 --holder-type 001 --type 11100000MB0143028R001 \\
      --server http://127.0.0.1:8600 --app-id tax-bureau --key tax.key.pem --service-cert share.cert.pem \\
      --operator 王经办 --reason 办理企业开办登记
  ecert share get IDENTIFIER --fields ZZBH,CZZT ...     ecert share download IDENTIFIER -o cert.ofd ...
  ecert share verify-data --type 11100000MB0143028R001 --field ZZBS=IDENTIFIER --field CZZT=名称 ...
  ecert share verify-file cert.ofd ...                    ecert share usage IDENTIFIER --holder-code CODE ...

exit status: 0 done (verify-*: result 0), 1 a verification result other than 0,
             2 usage error, unreadable input or a refusal of the service (its code and message printed)"""


_CLIENT = (
    "--server http://127.0.0.1:8600 --app-id tax-bureau --key tax.key.pem --service-cert share.cert.pem "
    "--operator 王经办 --reason 办理企业开办登记"
)
_ID = "1.2.156.3005.2.11100000MB0143028R001.11330100MB01234570.0000000001.001.Z"
_EXAMPLES = {
    "app": "ecert share app list --registry registry.db",
    "app add": "ecert share app add tax-bureau --name 税务登记系统 --department 示例市税务局 "
    "--public-key tax.pub.pem --right search --right get --right download:*:sensitive --registry registry.db",
    "app list": "ecert share app list --registry registry.db --json",
    "app revoke-key": "ecert share app revoke-key tax-bureau --registry registry.db",
    "app set-key": "ecert share app set-key tax-bureau --public-key tax2.pub.pem --registry registry.db",
    "search": "ecert share search --holder-code 91110108MA01B2C344 --holder-type 001 "
    f"--type 11100000MB0143028R001 {_CLIENT}",
    "get": f"ecert share get {_ID} --fields ZZBH,CZZT {_CLIENT}",
    "get-by-qr": f"ecert share get-by-qr 'ECR1:{_ID}:<64 hex digits>' {_CLIENT}",
    "download": f"ecert share download {_ID} -o licence.ofd {_CLIENT}",
    "verify-data": f"ecert share verify-data --type 11100000MB0143028R001 --field ZZBS={_ID} "
    f"--field CZZT=北京示例科技有限公司 {_CLIENT}",
    "verify-file": f"ecert share verify-file licence.ofd {_CLIENT}",
    "usage": f"ecert share usage {_ID} --holder-code 91110108MA01B2C344 {_CLIENT}",
    "catalogue": "ecert share catalogue --server http://127.0.0.1:8600 --app-id tax-bureau --key tax.key.pem "
    "--service-cert share.cert.pem",
}


def _sub(
    parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str, key: str, text: str
) -> argparse.ArgumentParser:
    return parent.add_parser(
        name,
        help=text,
        description=text,
        epilog=f"example:\n  {_EXAMPLES[key]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "share",
        help="the share service (共享服务): applications and a client",
        description="Register share-service applications, or call a running share service as one.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ops = p.add_subparsers(dest="share_command", metavar="COMMAND", required=True)
    _register_app(ops)
    _register_client(ops)


# --- the operator's side ------------------------------------------------------------------------


def _register_app(ops: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    app = _sub(ops, "app", "app", "register applications and their rights (operator)")
    sub = app.add_subparsers(dest="app_command", metavar="COMMAND", required=True)
    add = _sub(sub, "add", "app add", "register an application with its public key and rights")
    add.add_argument("app_id", help="the application's id (1-64 of A-Z a-z 0-9 . _ -)")
    add.add_argument("--name", required=True, help="the application's name")
    add.add_argument("--department", required=True, help="the department it works for (用证单位)")
    add.add_argument("--department-code", help="the department's USCC")
    add.add_argument(
        "--public-key", required=True, metavar="PEM", help="the key its requests are signed with"
    )
    add.add_argument(
        "--right",
        action="append",
        default=[],
        metavar="OP[:TYPE[:sensitive]]",
        help="search, get, get_by_qr, download, verify_data, verify_file, usage; repeatable",
    )
    add.add_argument("--token", action="store_true", help="may use the weaker token profile")
    add.set_defaults(handler=_app_add)
    lst = _sub(sub, "list", "app list", "list the registered applications")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=_app_list)
    revoke = _sub(sub, "revoke-key", "app revoke-key", "revoke an application's key: every request refused")
    revoke.add_argument("app_id", help="the application")
    revoke.set_defaults(handler=_app_revoke)
    rotate = _sub(sub, "set-key", "app set-key", "give an application a new key (and make it active)")
    rotate.add_argument("app_id", help="the application")
    rotate.add_argument("--public-key", required=True, metavar="PEM", help="its new public key (PEM)")
    rotate.set_defaults(handler=_app_set_key)
    for parser in (add, lst, revoke, rotate):
        parser.add_argument(
            "--registry", required=True, metavar="DB", help="the library (file or postgresql:// URL)"
        )


def _library(args: argparse.Namespace) -> Any:
    from ecert.share.config import open_library

    return open_library(args.registry)


def _public_pem(path: str) -> str:
    from ecert.crypto.keys import load_public_key, save_public_key

    data = Path(path).read_bytes()
    return save_public_key(load_public_key(data)).decode("ascii")


def _app_add(args: argparse.Namespace) -> int:
    from ecert.share.model import format_right, parse_right

    rights = [parse_right(r) for r in args.right]
    app = _library(args).add_application(
        args.app_id,
        name=args.name,
        department=args.department,
        department_code=args.department_code,
        public_key=_public_pem(args.public_key),
        rights=rights,
        token_allowed=args.token,
    )
    print(f"registered {app.app_id} ({app.department}): {', '.join(sorted(map(format_right, app.rights)))}")
    return EXIT_OK


def _app_list(args: argparse.Namespace) -> int:
    from ecert.share.model import format_right

    apps = _library(args).applications()
    if args.json:
        rows = [
            {
                "appId": a.app_id,
                "name": a.name,
                "department": a.department,
                "keyStatus": a.key_status,
                "tokenAllowed": a.token_allowed,
                "rights": sorted(map(format_right, a.rights)),
            }
            for a in apps
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    for a in [] if args.json else apps:
        print(f"{a.app_id}\t{a.key_status}\t{a.department}\t{' '.join(sorted(map(format_right, a.rights)))}")
    return EXIT_OK


def _app_revoke(args: argparse.Namespace) -> int:
    app = _library(args).set_application_key(args.app_id, public_key=None, key_status="revoked")
    print(f"{app.app_id}: key revoked; every request of it is refused (code 203)")
    return EXIT_OK


def _app_set_key(args: argparse.Namespace) -> int:
    app = _library(args).set_application_key(
        args.app_id, public_key=_public_pem(args.public_key), key_status="active"
    )
    print(f"{app.app_id}: new key active")
    return EXIT_OK


# --- another department's client ----------------------------------------------------------------


def _client_options(p: argparse.ArgumentParser, accountable: bool = True) -> None:
    p.add_argument("--server", required=True, metavar="URL", help="e.g. http://127.0.0.1:8600")
    p.add_argument("--app-id", required=True, help="this application's id, as the operator registered it")
    p.add_argument("--key", required=True, metavar="PEM", help="the application's private key")
    p.add_argument(
        "--service-cert", required=True, metavar="PEM", help="the service certificate (answers checked)"
    )
    p.add_argument("--operator", default=None, help="经办人 (default: the application id)")
    if accountable:
        p.add_argument("--reason", help="用证事由, 1-200 characters")
        p.add_argument("--item-code", help="事项编码 (with --case-number instead of --reason)")
        p.add_argument("--case-number", help="办件号")


def _register_client(ops: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    search = _sub(ops, "search", "search", "search a holder's certificates (证照检索)")
    search.add_argument("--holder-code", required=True, help="持证主体代码")
    search.add_argument("--holder-type", required=True, help="持证主体代码类型代码: 001, 111...")
    search.add_argument("--type", required=True, help="证照类型代码")
    search.add_argument("--number", help="证照编号")
    search.set_defaults(
        handler=lambda a: _call(a, lambda c, p: c.search(a.holder_code, a.holder_type, a.type, a.number, **p))
    )
    get = _sub(ops, "get", "get", "get a certificate's metadata (证照查询)")
    get.add_argument("identifier", help="证照标识")
    get.add_argument("--fields", help="only these fields, comma-separated (ZZBH,CZZT,KZ_...)")
    get.set_defaults(handler=lambda a: _call(a, lambda c, p: c.get(a.identifier, _fields(a.fields), **p)))
    qr = _sub(ops, "get-by-qr", "get-by-qr", "get the certificate a QR code's text names")
    qr.add_argument("payload", help="the QR code's text (EC1:... or ...ECR1:...)")
    qr.set_defaults(handler=lambda a: _call(a, lambda c, p: c.get_by_qr(a.payload, **p)))
    download = _sub(ops, "download", "download", "download the signed file, its face or an annotated copy")
    download.add_argument("identifier", help="证照标识")
    kind = download.add_mutually_exclusive_group()
    kind.add_argument("--png", action="store_true", help="the face image instead of the signed OFD")
    kind.add_argument("--copy", action="store_true", help="an annotated copy (加注件) made for this use")
    download.add_argument("--url", action="store_true", help="ask for a one-time URL (printed, not fetched)")
    download.add_argument("-o", "--output", metavar="FILE", help="where to write the file")
    download.set_defaults(handler=_download)
    data = _sub(ops, "verify-data", "verify-data", "data verification (数据核验): result 0-6")
    data.add_argument("--type", required=True, help="证照类型代码")
    data.add_argument(
        "--field", action="append", default=[], metavar="KEY=VALUE", help="ZZBS=..., CZZTDM=..."
    )
    data.set_defaults(handler=_verify_data)
    vf = _sub(ops, "verify-file", "verify-file", "file verification (文件核验): result 0-2 and the report")
    vf.add_argument("file", help="the OFD file")
    vf.set_defaults(handler=_verify_file)
    usage = _sub(ops, "usage", "usage", "who used a certificate (the holder's view)")
    usage.add_argument("identifier", help="证照标识")
    usage.add_argument("--holder-code", required=True, help="the holder's code: the view is the holder's own")
    usage.set_defaults(handler=lambda a: _call(a, lambda c, p: c.usage(a.identifier, a.holder_code, **p)))
    catalogue = _sub(ops, "catalogue", "catalogue", "the published types and their fields")
    catalogue.set_defaults(handler=lambda a: _call(a, lambda c, p: c.catalogue(), accountable=False))
    for parser in (search, get, qr, download, data, vf, usage):
        _client_options(parser)
    _client_options(catalogue, accountable=False)


def _fields(text: str | None) -> list[str] | None:
    return None if text is None else [f.strip() for f in text.split(",") if f.strip()]


def _client(args: argparse.Namespace) -> Any:
    from ecert.crypto.keys import load_private_key
    from ecert.crypto.x509 import load_certificates
    from ecert.errors import InputError
    from ecert.share.client import Client

    certs = load_certificates(Path(args.service_cert).read_bytes())
    if not certs:
        raise InputError("no certificate in the file", where=args.service_cert)
    key = load_private_key(Path(args.key).read_bytes())
    return Client(
        args.server, app_id=args.app_id, key=key, service_key=certs[0], operator=args.operator or args.app_id
    )


def _purpose(args: argparse.Namespace) -> dict[str, str]:
    names = (("reason", "reason"), ("item_code", "item_code"), ("case_number", "case_number"))
    return {key: getattr(args, attr) for key, attr in names if getattr(args, attr, None) is not None}


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _call(args: argparse.Namespace, fn: Any, accountable: bool = True) -> int:
    with _client(args) as client:
        _print(fn(client, _purpose(args) if accountable else {}))
    return EXIT_OK


def _download(args: argparse.Namespace) -> int:
    kind = "png" if args.png else "copy" if args.copy else "ofd"
    with _client(args) as client:
        if args.url:
            print(client.download_url(args.identifier, kind, **_purpose(args)))
            return EXIT_OK
        content = client.download(args.identifier, kind, **_purpose(args))
    target = Path(args.output or f"{args.identifier}.{'png' if kind == 'png' else 'ofd'}")
    target.write_bytes(content)
    print(f"{target} ({len(content)} bytes)")
    return EXIT_OK


def _verify_data(args: argparse.Namespace) -> int:
    from ecert.errors import InputError

    values = {}
    for item in args.field:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError("a field is KEY=VALUE", where="--field", value=item)
        values[key.strip()] = value
    with _client(args) as client:
        result = client.verify_data(args.type, values, **_purpose(args))
    _print(result)
    return EXIT_OK if result["result"] == 0 else EXIT_INVALID


def _verify_file(args: argparse.Namespace) -> int:
    content = Path(args.file).read_bytes()
    with _client(args) as client:
        result = client.verify_file(content, **_purpose(args))
    print(f"{result['result']} {result['message']}")
    if result["result"] != 0:
        for check in result["report"]["checks"]:
            if check["outcome"] == "fail":
                print(f"  {check['name']}: {check['message']}", file=sys.stderr)
    return EXIT_OK if result["result"] == 0 else EXIT_INVALID
