"""``ecert verify`` and ``ecert inspect``: argument parsing and printing only."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecert.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from ecert.cli.common import parse_time, registry_location
from ecert.errors import EcertError, InputError

if TYPE_CHECKING:
    from ecert.verdict import Lang
    from ecert.verify.report import VerificationReport

EPILOG_VERIFY = """examples:
  ecert verify demo-out/*.ofd --trust demo-out/trust
  ecert verify incoming/ --trust trust/ --status status-lists/ --quiet   # a folder; one list per department
  ecert verify cert.ofd --trust trust/ --status status-list.json --json
  ecert verify cert.ofd --trust trust/ --registry registry.db --lang zh
  ecert verify --qr demo-out/qr/CERT.png --trust demo-out/trust    # PNG, JPEG, TIFF (all pages), PDF
  ecert verify --qr EC2:... --trust trust/ --cert other-department.cert.pem
  ecert verify --qr - --trust trust/ < scans.txt                    # payloads from stdin, one per line

The first line of each result is the verdict and whose certificate it is (type, holder, holder code,
number, issuer, validity); a citizen ID number is masked (--unmask shows it). A QR payload (EC2:...)
is written in 0-9 A-Z + - . / : only, so it needs no quotes in a shell; codes printed before
(EC1:...) may hold '$', '*' or spaces: put those in single quotes, or read them with --qr -.
A code whose department certificate is not in the trust directory is reported "cannot be checked
here" with the certificate to add (into DIR/issuers/ or with --cert), not as invalid.
A USB scanner types each code and Enter: --qr - verifies line after line until end of input.
Language: Chinese where the locale is Chinese (LANG=zh_CN...), else English; --lang chooses.
exit status: 0 everything valid, 1 something not valid (or a payload unreadable with --qr -),
2 usage error or unreadable input"""

EPILOG_INSPECT = """example:
  ecert inspect demo-out/CERT.ofd

Shows what the file says, WITHOUT verifying it (use ecert verify for that)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="verify certificate files or a QR payload",
        description="Verify certificate files (or folders of them) or QR codes: the verdict and whose it is.",
        epilog=EPILOG_VERIFY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="OFD files or folders of them")
    p.add_argument(
        "--qr",
        metavar="TEXT|IMAGE|-",
        help="verify a QR payload: its text, a scan (PNG, JPEG, TIFF, PDF), or - (one per line of stdin)",
    )
    p.add_argument(
        "--trust",
        type=Path,
        metavar="DIR|FILE",
        help="trust anchors: a directory of PEM/DER certificates or one file",
    )
    p.add_argument(
        "--cert",
        action="append",
        type=Path,
        default=[],
        metavar="FILE|DIR",
        help="known department certificates for QR payloads, which carry only a key id "
        "(added to those in DIR/issuers/ of --trust DIR)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--status",
        type=Path,
        action="append",
        metavar="FILE|DIR",
        help="signed status lists (offline revocation): a file or a folder of them; repeatable",
    )
    group.add_argument(
        "--registry",
        type=registry_location,
        metavar="DB",
        help="a certificate library (online status): an SQLite file or a postgresql:// URL",
    )
    p.add_argument(
        "--status-max-age",
        type=float,
        metavar="DAYS",
        help="refuse a status list that promises no next update once older than this (default 7)",
    )
    p.add_argument(
        "--bundle", type=Path, metavar="BUNDLE",
        help="the province's signed trust bundle: anchors, department certificates and status lists "
        "in one file (instead of --trust and --status; needs --bundle-signer)",
    )
    p.add_argument("--bundle-signer", type=Path, metavar="CERT", help="the province's certificate")
    p.add_argument(
        "--at",
        metavar="WHEN",
        help="verification time: a date (China time, end of that day) or ISO 8601 with zone (default: now)",
    )
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument(
        "--lang", choices=("en", "zh"), help="language of the text (default: zh in a Chinese locale, else en)"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print only what is not valid")
    p.add_argument("--unmask", action="store_true", help="show citizen ID numbers in full")
    p.set_defaults(handler=_verify)

    i = sub.add_parser(
        "inspect",
        help="show what a certificate file contains (no verification)",
        epilog=EPILOG_INSPECT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    i.add_argument("file", type=Path, metavar="FILE", help="an OFD certificate file")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(handler=_inspect)


def _verify(args: argparse.Namespace) -> int:
    from ecert.app import (
        known_certificates,
        load_status_lists,
        load_status_source,
        load_trust,
        verify_files,
        verify_qr_input,
    )
    from ecert.verdict import default_lang

    if not args.files and args.qr is None:
        print("ecert verify: give FILE(s) or --qr", file=sys.stderr)
        return EXIT_USAGE
    lang = args.lang or default_lang()
    at = parse_time(args.at, "--at", day_end=True)
    if args.bundle is not None:
        return _verify_with_bundle(args, at, _Printer(args.json, args.quiet, lang, not args.unmask))
    if args.trust is None:
        print("ecert verify: give --trust DIR|FILE, or --bundle BUNDLE --bundle-signer CERT", file=sys.stderr)
        return EXIT_USAGE
    trust = load_trust(args.trust)
    max_age = _days(args.status_max_age)
    status: Any
    if args.status:
        status = load_status_lists(args.status, trust=trust, at=at, max_age=max_age)
    else:
        status = load_status_source(status_list=None, registry=args.registry, trust=trust, at=at)
    out = _Printer(args.json, args.quiet, lang, not args.unmask)
    if args.qr == "-":
        certificates = known_certificates(args.trust, args.cert)
        for number, line in enumerate(sys.stdin, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                report = verify_qr_input(text, trust=trust, certificates=certificates, at=at, status=status)
            except EcertError as exc:  # one unreadable line: say so and go on with the next
                out.problem(f"stdin line {number}: {exc}")
                continue
            out.show(report)
    elif args.qr is not None:
        certificates = known_certificates(args.trust, args.cert)
        out.show(verify_qr_input(args.qr, trust=trust, certificates=certificates, at=at, status=status))
    if args.files:
        for report in verify_files(args.files, trust=trust, at=at, status=status):
            out.show(report)
    return out.finish()


class _Printer:
    """Prints each result as it comes (a scanner's user sees each verdict at once), then the summary."""

    def __init__(self, as_json: bool, quiet: bool, lang: Lang, mask: bool) -> None:
        self.as_json, self.quiet, self.lang, self.mask = as_json, quiet, lang, mask
        self.reports: list[VerificationReport] = []
        self.problems = 0

    def show(self, report: VerificationReport) -> None:
        from ecert.verdict import verdict_line

        self.reports.append(report)
        if self.as_json or (self.quiet and report.ok):
            return
        if len(self.reports) + self.problems > 1:
            print()
        print(verdict_line(report, self.lang, mask=self.mask))
        print(report.to_text(self.lang), flush=True)

    def problem(self, message: str) -> None:
        self.problems += 1
        print(f"ecert verify: {message}", file=sys.stderr, flush=True)

    def finish(self) -> int:
        from ecert.verdict import summary_line

        if self.as_json:
            import json

            print(json.dumps([r.to_dict() for r in self.reports], ensure_ascii=False, indent=2))
        elif len(self.reports) + self.problems > 1:
            line = summary_line(self.reports, self.lang)
            if self.problems:
                line += (
                    f"，{self.problems} 个无法读取" if self.lang == "zh" else f", {self.problems} unreadable"
                )
            if not self.quiet or not all(r.ok for r in self.reports) or self.problems:
                print(("\n" if not self.quiet else "") + line)
        ok = all(r.ok for r in self.reports) and not self.problems
        return EXIT_OK if ok else EXIT_INVALID


def _verify_with_bundle(args: argparse.Namespace, at: datetime | None, out: _Printer) -> int:
    """Everything from the province's bundle: anchors, department certificates, status lists."""
    from ecert.app import load_certificate_files, verify_files, verify_qr_input
    from ecert.exchange import load_bundle_file

    if args.bundle_signer is None or args.trust is not None or args.status or args.registry:
        print("ecert verify: --bundle needs --bundle-signer CERT and replaces --trust, --status "
              "and --registry", file=sys.stderr)
        return EXIT_USAGE
    bundle = load_bundle_file(args.bundle, args.bundle_signer, at=at)
    trust, status = bundle.trust, bundle.status
    certificates = (*bundle.issuers, *load_certificate_files(args.cert))
    lines = enumerate(sys.stdin, start=1) if args.qr == "-" else [(0, args.qr)] if args.qr else []
    for number, line in lines:
        if not line.strip():
            continue
        try:
            text = line.strip()
            out.show(verify_qr_input(text, trust=trust, certificates=certificates, at=at, status=status))
        except EcertError as exc:
            if not number:
                raise
            out.problem(f"stdin line {number}: {exc}")
    if args.files:
        for report in verify_files(args.files, trust=trust, at=at, status=status):
            out.show(report)
    return out.finish()


def _days(value: float | None) -> timedelta | None:
    if value is None:
        return None
    if not 0 < value <= 3660:
        raise InputError("days above 0, at most 3660", where="--status-max-age", value=value)
    return timedelta(days=value)


def _inspect(args: argparse.Namespace) -> int:
    from ecert.app import inspect_file

    info = inspect_file(args.file)
    if args.json:
        import json

        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        for key, value in info.items():
            if isinstance(value, list):
                print(f"{key}:")
                for v in value:
                    print(f"  - {v}")
            elif isinstance(value, dict):
                print(f"{key}:")
                for k, v in value.items():
                    print(f"  {k}: {v}")
            else:
                print(f"{key}: {value}")
    return EXIT_OK
