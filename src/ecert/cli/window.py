"""``ecert window``: the verification page for a service window PC, served on its own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecert.cli import EXIT_OK, EXIT_USAGE
from ecert.cli.common import registry_location

EPILOG = """examples:
  ecert window --trust demo-out/trust
  ecert window --trust trust/ --status dept-a.json dept-b.json --port 8080
  ecert window --trust trust/ --registry registry.db --host 0.0.0.0

Open the printed address in a browser and drop a certificate file, a picture of its QR code or
the code's text on the page.  Nothing is kept.  Camera scanning needs the page opened as
http://127.0.0.1 or localhost (or over https): browsers refuse the camera elsewhere.
Needs the server extra: pip install 'ecert[server]'."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "window",
        help="serve the verification page for a service window",
        description="Serve the verification page (电子证照核验) for a service window: files, QR images, "
        "QR text and the camera, verified by this machine against --trust.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--trust",
        required=True,
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
    p.add_argument("--bundle", type=Path, metavar="BUNDLE", help="a trust bundle (not supported yet)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--max-upload-mb", type=int, default=32, metavar="MB", help="largest file accepted (default 32)"
    )
    p.set_defaults(handler=_window)


def _window(args: argparse.Namespace) -> int:
    if args.bundle is not None:
        print(
            "ecert window: --bundle is not supported yet (trust bundles come with the province-city "
            "exchange); give --trust DIR",
            file=sys.stderr,
        )
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

    settings = WindowSettings.from_paths(
        args.trust,
        certificates=args.cert,
        status=args.status,
        registry=args.registry,
        max_upload=args.max_upload_mb * 1024 * 1024,
    )
    app = create_window_app(settings)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"电子证照核验页面: http://{shown}:{args.port}/  (Ctrl+C to stop)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return EXIT_OK
