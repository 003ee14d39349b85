"""``ecert id`` and ``ecert code``: check and make identifiers (GB/T 36904), check codes.

Argument parsing and printing only; the decisions are :mod:`ecert.identifier` and :mod:`ecert.codes`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
from collections.abc import Callable
from typing import Any

from ecert.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from ecert.codes import KINDS, citizen_id, detect, uscc, validate_any
from ecert.errors import InputError, InvalidCode, InvalidIdentifier
from ecert.identifier import Identifier

EPILOG_ID_CHECK = """examples:
  ecert id check 1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U
  ecert id check --lenient --json 1.2.156.3005.2.11100000000013661B006.113700000045046442.\\
209FA4E88F9E4C878F3E9BED2CE7EA49.001.M

exit status: 0 all identifiers valid, 1 any invalid, 2 usage error.
--lenient accepts a wrong check character (it is still reported)."""

EPILOG_ID_MAKE = """example:
  ecert id make --type 11100000000013338W011 --issuer 11430000006122244L --serial 20230000403
  -> 1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"""

EPILOG_CODE_CHECK = """examples:
  ecert code check 91110000600037341L 11010519491231002X MB034103-2
  ecert code check --kind uscc --json 91370406L24894136J

Without --kind a code is valid when it is valid as any kind its length allows
(uscc: GB 32100, citizen-id: GB 11643, org-code: GB 11714).
exit status: 0 all codes valid, 1 any invalid, 2 usage error."""

EPILOG_ID = """examples:
  ecert id check 1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U
  ecert id make --type 11100000000013338W011 --issuer 11430000006122244L --serial 20230000403"""

EPILOG_CODE = """example:
  ecert code check 91110000600037341L 11010519491231002X MB034103-2"""

_Sub = argparse._SubParsersAction  # the type argparse gives add_subparsers() results


def _group(
    sub: _Sub[argparse.ArgumentParser], name: str, help_text: str, epilog: str
) -> tuple[argparse.ArgumentParser, _Sub[argparse.ArgumentParser]]:
    parser = sub.add_parser(
        name, help=help_text, description=help_text, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    commands = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")

    def usage(args: argparse.Namespace) -> int:
        parser.print_help()
        return EXIT_USAGE

    parser.set_defaults(handler=usage)
    return parser, commands


def _command(
    sub: _Sub[argparse.ArgumentParser],
    name: str,
    help_text: str,
    epilog: str,
    handler: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name, help=help_text, description=help_text, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.set_defaults(handler=handler)
    return parser


def register(sub: _Sub[argparse.ArgumentParser]) -> None:
    """Add the ``id`` and ``code`` command groups."""
    _, id_commands = _group(sub, "id", "e-certificate identifiers (电子证照标识, GB/T 36904)", EPILOG_ID)
    check = _command(id_commands, "check", "check identifiers", EPILOG_ID_CHECK, _id_check)
    check.add_argument("identifiers", nargs="+", metavar="ID", help="identifiers (1.2.156.3005.2....)")
    check.add_argument("--lenient", action="store_true", help="accept a wrong check character (report it)")
    check.add_argument("--json", action="store_true", help="print JSON")

    make = _command(id_commands, "make", "make an identifier (computes the check character)",
                    EPILOG_ID_MAKE, _id_make)  # fmt: skip
    make.add_argument("--type", required=True, dest="type_code", metavar="CODE", help="21-char type code")
    make.add_argument("--issuer", required=True, dest="issuer_code", metavar="USCC", help="issuer's USCC")
    make.add_argument("--serial", required=True, metavar="S", help="serial: 1-64 upper-case letters/digits")
    make.add_argument("--version", type=int, default=1, metavar="N", help="version 1-999 (default 1)")

    _, code_commands = _group(
        sub, "code", "holder and issuer codes (GB 32100, GB 11643, GB 11714)", EPILOG_CODE
    )
    code_check = _command(code_commands, "check", "check codes", EPILOG_CODE_CHECK, _code_check)
    code_check.add_argument("codes", nargs="+", metavar="CODE", help="USCC, citizen ID or organisation codes")
    code_check.add_argument("--kind", choices=tuple(KINDS), help="only this kind of code")
    code_check.add_argument("--json", action="store_true", help="print JSON with the parts of each code")


# --- printing --------------------------------------------------------------------------------------


def _problem(exc: InputError) -> str:
    text = exc.message
    if exc.where:
        text += f" at {exc.where}"
    if exc.expected:
        text += f"; expected {exc.expected}"
    return text


def _error_json(exc: InvalidCode | InvalidIdentifier) -> dict[str, Any]:
    result: dict[str, Any] = {"type": type(exc).__name__, "message": exc.message}
    if isinstance(exc, InvalidIdentifier):
        result["field"] = exc.field
    result.update(position=exc.position, expected=exc.expected)
    return result


def _print_json(data: object) -> None:
    import json  # only for --json: a plain check loads no JSON encoder

    print(json.dumps(data, ensure_ascii=False, indent=2))


def _plain(value: uscc.UsccInfo | citizen_id.CitizenIdInfo) -> dict[str, Any]:
    data = dataclasses.asdict(value)
    return {k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in data.items()}


# --- ecert id --------------------------------------------------------------------------------------


def _id_check(args: argparse.Namespace) -> int:
    results: list[dict[str, Any]] = []
    all_valid = True
    for text in args.identifiers:
        try:
            identifier = Identifier.parse(text, strict=not args.lenient)
        except InvalidIdentifier as exc:
            all_valid = False
            results.append({"input": text, "valid": False, "error": _error_json(exc)})
            if not args.json:
                print(f"{text}: INVALID: {_problem(exc)}")
            continue
        results.append({"input": text, "valid": True, "identifier": _identifier_json(identifier)})
        if not args.json:
            expected = identifier.expected_check
            note = "" if identifier.check_ok else f" (check character should be {expected!r})"
            print(f"{text}: OK{note}")
    if args.json:
        _print_json(results)
    return EXIT_OK if all_valid else EXIT_INVALID


def _identifier_json(identifier: Identifier) -> dict[str, Any]:
    return {
        "text": str(identifier),
        "type_code": identifier.type_code,
        "issuer_code": identifier.issuer_code,
        "issuer_code_kind": identifier.issuer_code_kind,
        "serial": identifier.serial,
        "version": identifier.version,
        "check": identifier.check,
        "expected_check": identifier.expected_check,
        "check_ok": identifier.check_ok,
    }


def _id_make(args: argparse.Namespace) -> int:
    print(Identifier.build(args.type_code, args.issuer_code, args.serial, args.version))
    return EXIT_OK


# --- ecert code ------------------------------------------------------------------------------------


def _code_info(kind: str, code: str) -> dict[str, Any]:
    if kind == "uscc":
        return _plain(uscc.info(code))
    if kind == "citizen-id":
        return _plain(citizen_id.info(code))
    return {}


def _code_check(args: argparse.Namespace) -> int:
    results: list[dict[str, Any]] = []
    all_valid = True
    for text in args.codes:
        try:
            if args.kind:
                kinds: tuple[str, ...] = (args.kind,)
                code = KINDS[args.kind].validate(text)
            else:
                code = validate_any(text)[1]
                kinds = detect(text)
        except InvalidCode as exc:
            all_valid = False
            results.append({"input": text, "valid": False, "error": _error_json(exc)})
            if not args.json:
                print(f"{text}: INVALID: {_problem(exc)}")
            continue
        results.append(
            {"input": text, "valid": True, "code": code, "kinds": list(kinds),
             "info": {kind: _code_info(kind, code) for kind in kinds}}
        )  # fmt: skip
        if not args.json:
            print(f"{text}: OK {', '.join(kinds)}")
    if args.json:
        _print_json(results)
    return EXIT_OK if all_valid else EXIT_INVALID
