"""``ecert window``: the verification page for a service window PC, served on its own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import cast

from ecert.cli import EXIT_OK, EXIT_USAGE
from ecert.cli.common import registry_location

EPILOG = """examples:
  ecert window --trust demo-out/trust
  ecert window --trust trust/ --status dept-a.json dept-b.json --port 8080
  ecert window --trust trust/ --registry registry.db --host 0.0.0.0
  ecert window --bundle bundle.json --bundle-signer province.pem

Open the printed address in a browser and drop a certificate file, a picture of its QR code or
the code's text on the page.  Nothing is kept.  Camera scanning needs the page opened as
http://127.0.0.1 or localhost (or over https): browsers refuse the camera elsewhere.
Needs the server extra: pip install 'ecert[server]'."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "window",
        help="serve the verification page for a service window",
        description="Serve the verification page (电子证照核验) for a service window: files, QR images, "
        "QR text and the camera, verified by this machine against --trust, or against the province's "
        "trust bundle alone (--bundle).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--trust",
        type=Path,
        metavar="DIR",
        help="trust anchors (department certificates for QR codes in DIR/issuers/)",
    )
    p.add_argument(
        "--cert",
        action="append",
        type=Path,
        default=[],
        metavar="FILE|DIR",
        help="more department certificates for QR payloads",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--status",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="signed status lists, one per department (offline revocation)",
    )
    group.add_argument(
        "--registry",
        type=registry_location,
        metavar="DB",
        help="a certificate library (status at once): an SQLite file or a postgresql:// URL",
    )
    p.add_argument(
        "--bundle",
        type=Path,
        metavar="BUNDLE",
        help="the province's signed trust bundle: anchors, department certificates and status lists "
        "in one file (instead of --trust, --status and --registry; needs --bundle-signer)",
    )
    p.add_argument("--bundle-signer", type=Path, metavar="CERT", help="the province's certificate")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--max-upload-mb", type=int, default=32, metavar="MB", help="largest file accepted (default 32)"
    )
    p.set_defaults(handler=_window)


def _window(args: argparse.Namespace) -> int:
    if args.bundle is not None:
        if args.bundle_signer is None or args.trust is not None or args.status or args.registry:
            print(
                "ecert window: --bundle needs --bundle-signer CERT and replaces --trust, --status "
                "and --registry",
                file=sys.stderr,
            )
            return EXIT_USAGE
    elif args.trust is None:
        print("ecert window: give --trust DIR, or --bundle BUNDLE --bundle-signer CERT", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= args.port <= 65535:
        print("ecert window: --port must be 1..65535", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= args.max_upload_mb <= 256:
        print("ecert window: --max-upload-mb must be 1..256", file=sys.stderr)
        return EXIT_USAGE
    try:
        import uvicorn

        from ecert.web.window import create_window_app
    except ModuleNotFoundError as exc:
        print(
            f"ecert window: needs the server extra ({exc.name} is missing): pip install 'ecert[server]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from ecert.web.verifier import WindowSettings

    limit = args.max_upload_mb * 1024 * 1024
    if args.bundle is not None:
        from ecert.exchange import load_bundle_file

        bundle = load_bundle_file(args.bundle, args.bundle_signer)
        settings = WindowSettings.from_bundle(bundle, certificates=args.cert, max_upload=limit)
        print(
            f"trust bundle of {bundle.publisher}, expires {bundle.expires_at:%Y-%m-%d %H:%M} UTC: "
            "load a fresh one before then",
            flush=True,
        )
    else:
        trust = cast(Path, args.trust)  # given: checked above
        settings = WindowSettings.from_paths(
            trust, certificates=args.cert, status=args.status, registry=args.registry, max_upload=limit
        )
    app = create_window_app(settings)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"电子证照核验页面: http://{shown}:{args.port}/  (Ctrl+C to stop)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return EXIT_OK
