"""``ecert types``: list the certificate types of the catalogue, or show one with its data items.

Printing only; the catalogue is :mod:`ecert.catalog`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ecert.catalog import CertificateType
from ecert.cli import EXIT_INVALID, EXIT_OK
from ecert.cli.common import add_types_option, load_types

EPILOG = """examples:
  ecert types                              list the shipped types (code, name, domain)
  ecert types 11100000000013338W050        one type with its data items
  ecert types 11100000000013338W050 --json the same as JSON
  ecert types --check my-types/11330100MB0123457X001.json   check a type file you wrote
  ecert types --types my-types/            the shipped types and yours (or: export ECERT_TYPES=my-types)

Your own types: docs/custom-types.md (write a type file, check it, use it with --types).
exit status: 0 shown (or every checked file is valid), 1 a checked file has problems (all listed),
2 unknown type code or usage error."""

_Sub = argparse._SubParsersAction  # the type argparse gives add_subparsers() results


def register(subparsers: _Sub[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "types",
        help="list certificate types, or show one",
        description="List the certificate types of the catalogue (分类与编码), or show one with its items.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("code", nargs="?", metavar="CODE", help="21-character type code to show")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--check",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="check type definition files (every problem, with its JSON path) instead of listing",
    )
    add_types_option(p)
    p.set_defaults(handler=run)


def type_dict(t: CertificateType) -> dict[str, Any]:
    """A type as plain data (what ``--json`` prints)."""
    return {
        "code": t.code,
        "name": t.name,
        "defining_authority": {"name": t.defining_authority.name, "code": t.defining_authority.code},
        "domain": t.domain,
        "holder_kinds": [k.value for k in t.holder_kinds],
        "holder_code_types": list(t.holder_code_types),
        "validity": {
            k: v
            for k, v in (
                ("kind", t.validity.kind),
                ("years", t.validity.years),
                ("default", t.validity.default),
            )
            if v is not None
        },
        "status_profile": t.status_profile,
        "items": [
            {
                "name": i.name,
                "label": i.label,
                "type": i.type,
                "required": i.required,
                "display": i.display,
                **({"code_kind": i.code_kind} if i.code_kind else {}),
                **({"unit": i.unit} if i.unit else {}),
                **({"choices": dict(i.choices)} if i.choices else {}),
                **({"source_names": list(i.source_names)} if i.source_names else {}),
            }
            for i in t.items
        ],
        "face": {"title": t.face.title, "orientation": t.face.orientation},
        "source": t.source,
    }


def _check(files: list[Path], as_json: bool) -> int:
    """Check each type file; problems to stdout (they are the result asked for), one per line."""
    from ecert.catalog import InvalidTypeFile, load_type_file
    from ecert.errors import InvalidTypeDefinition

    results: list[dict[str, Any]] = []
    for path in files:
        try:
            t = load_type_file(path)
        except InvalidTypeFile as exc:
            results.append({"file": str(path), "ok": False, "problems": [str(p) for p in exc.problems]})
        except InvalidTypeDefinition as exc:  # unreadable: not a type file problem, still this file's
            results.append({"file": str(path), "ok": False, "problems": [str(exc)]})
        else:
            results.append({"file": str(path), "ok": True, "code": t.code, "name": t.name, "problems": []})
            if path.stem != t.code:
                print(f"{path}: note: name the file {t.code}.json (its type code)", file=sys.stderr)
    if as_json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for r in results:
            if r["ok"]:
                print(f"{r['file']}: ok: {r['code']} {r['name']}")
            else:
                print(f"{r['file']}: {len(r['problems'])} problem{'s' * (len(r['problems']) != 1)}")
                for problem in r["problems"]:
                    print(f"  {problem}")
    return EXIT_OK if all(r["ok"] for r in results) else EXIT_INVALID


def run(args: argparse.Namespace) -> int:
    if args.check:
        return _check(args.check, args.json)
    catalog = load_types(args)
    if args.code is None:
        if args.json:
            print(json.dumps([type_dict(t) for t in catalog], ensure_ascii=False, indent=2))
        else:
            for t in catalog:
                print(f"{t.code}  {t.name}  ({t.domain}; {t.defining_authority.name})")
        return EXIT_OK
    t = catalog.get(args.code.strip().upper())  # UnknownType -> exit 2 in cli.main
    if args.json:
        print(json.dumps(type_dict(t), ensure_ascii=False, indent=2))
        return EXIT_OK
    validity = t.validity.kind + (f" ({t.validity.years} years)" if t.validity.years else "")
    if t.validity.default:
        validity += f", default {t.validity.default}"
    print(f"{t.code}  {t.name}")
    print(f"  defined by: {t.defining_authority.name} ({t.defining_authority.code})")
    print(f"  domain: {t.domain}; holders: {', '.join(k.value for k in t.holder_kinds)}")
    print(f"  holder code types: {', '.join(t.holder_code_types)}; validity: {validity}")
    print(f"  status profile: {t.status_profile}; face: {t.face.title} ({t.face.orientation})")
    print("  items:")
    for i in t.items:
        kind = i.type + (f":{i.code_kind}" if i.code_kind else "") + (f" [{i.unit}]" if i.unit else "")
        flags = ("required" if i.required else "optional") + ("" if i.display else ", not shown")
        print(f"    {i.name:<14} {i.label}  {kind}, {flags}")
        if i.choices:
            print(f"    {'':<14} choices: {', '.join(f'{c}={lab}' for c, lab in i.choices)}")
    if t.source:
        print(f"  source: {t.source}")
    return EXIT_OK
