"""``ecert types``: list the certificate types of the catalogue, or show one with its data items.

Printing only; the catalogue is :mod:`ecert.catalog`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ecert.catalog import CertificateType, default_catalog
from ecert.cli import EXIT_OK

EPILOG = """examples:
  ecert types                              list the shipped types (code, name, domain)
  ecert types 11100000000013338W050        one type with its data items
  ecert types 11100000000013338W050 --json the same as JSON

exit status: 0 shown, 2 unknown type code or usage error."""

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


def run(args: argparse.Namespace) -> int:
    catalog = default_catalog()
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
    print(f"  source: {t.source}")
    return EXIT_OK
