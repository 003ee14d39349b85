"""``ecert serve``: run the share service (GB/T 36906) over a certificate library with uvicorn.

Argument parsing only: the options become an :class:`ecert.share.config.ServeConfig`, checked
once here (so that a wrong key or library fails before any worker starts), then handed to each
uvicorn worker as ``ECERT_SHARE_*`` environment variables naming files, never holding secrets.
"""

from __future__ import annotations

import argparse
import os
import sys

from ecert.cli import EXIT_OK

EPILOG = """examples:
  ecert serve --registry registry.db --key keys/share.key.pem --cert keys/share.cert.pem --trust trust/
  ECERT_KEY="$(cat share.key.pem)" ecert serve --registry postgresql://share@db/ecert --key-env ECERT_KEY \\
      --cert share.cert.pem --trust trust/ --host 0.0.0.0 --port 8600 --workers 4

The service answers POST /share/v1/<operation> (spec/share-service.md); Ctrl-C stops it."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the share service (共享服务) over a library",
        description="Run the share service over HTTP: signed requests and answers, every use recorded.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--registry", required=True, metavar="DB", help="the library: a SQLite file or postgresql:// URL"
    )
    p.add_argument(
        "--cert", required=True, metavar="PEM", help="the service certificate (answers are signed)"
    )
    key = p.add_mutually_exclusive_group(required=True)
    key.add_argument("--key", metavar="PEM", help="the service's private key file")
    key.add_argument("--key-env", metavar="NAME", help="or the environment variable holding it (PEM)")
    p.add_argument("--trust", metavar="DIR", help="trusted roots (and issuers/) for file and QR verification")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8600, help="port (default 8600)")
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    p.add_argument(
        "--threads",
        type=int,
        default=4,
        help="exchange calls at once per worker (default 4); share operations run on one writer per worker",
    )
    p.add_argument(
        "--no-token-profile", action="store_true", help="refuse bearer tokens: every request signed"
    )
    p.add_argument(
        "--rate-limit", type=int, metavar="N", help="requests per minute per application and worker"
    )
    p.add_argument(
        "--max-body", type=int, default=16 * 1024 * 1024, metavar="BYTES", help="request body limit"
    )
    p.add_argument("--ticket-seconds", type=int, default=600, help="life of a one-time download URL (600)")
    p.add_argument("--max-rows", type=int, default=500, help="most rows a search returns (500)")
    p.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from ecert.share.config import ServeConfig

    config = ServeConfig(
        args.registry,
        args.cert,
        key=args.key,
        key_env=args.key_env,
        trust=args.trust,
        token_profile=not args.no_token_profile,
        rate_limit=args.rate_limit,
        max_body=args.max_body,
        threads=args.threads,
        ticket_seconds=args.ticket_seconds,
        max_rows=args.max_rows,
    )
    config.service()  # fail here, with one message, rather than in every worker
    try:
        import uvicorn
    except ImportError:
        print("ecert serve needs the server extra: pip install 'ecert[server]'", file=sys.stderr)
        return 2
    os.environ.update(config.to_environment())
    print(
        f"ecert share service on http://{args.host}:{args.port}/share/v1 ({args.workers} worker(s))",
        flush=True,
    )
    uvicorn.run(
        "ecert.web.share:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    return EXIT_OK
