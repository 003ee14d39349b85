"""``ecert qr`` and ``ecert render``: QR codes and face images of certificate files."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecert.cli import EXIT_OK
from ecert.errors import InputError

EPILOG_QR = """examples:
  ecert qr demo-out/CERT.ofd --key demo-out/keys/issuer.key.pem \\
      --cert demo-out/keys/issuer.cert.pem -o qr.png         # offline payload, signed again by the issuer
  ecert qr demo-out/CERT.ofd --kind reference -o qr.png      # identifier + file digest only
  ecert qr demo-out/CERT.ofd --key KEY.pem --cert CERT.pem --print   # print the payload text only

The default (offline) code is what ecert verify --qr checks at a window without any network: it is
signed by the issuer, so it needs --key and --cert. A reference code carries no signature: it only
points to the file, which must be verified itself (ecert verify FILE).
With -o the image's path is printed (with --print, the payload instead).
The payload is written in 0-9 A-Z + - . / : only, so it can be pasted into a shell unquoted; names
too long for the code are carried shortened with a digest of their full text.
The offline payload is specified in spec/qr.md."""

EPILOG_RENDER = """examples:
  ecert render demo-out/CERT.ofd -o face.png             # page 1 at 300 dpi (more pages: face-2.png, ...)
  ecert render demo-out/CERT.ofd -o face.pdf             # every page in one PDF, for print
  ecert render demo-out/CERT.ofd -o preview.png --dpi 100

Draws the pages as the signed file holds them: text, QR code, photo, seal, the electronic seals of
its signatures.  It does not verify the file (ecert verify does).  The paths written are printed."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "qr",
        help="make the QR code of a certificate file",
        epilog=EPILOG_QR,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, metavar="FILE", help="an OFD certificate file")
    p.add_argument(
        "--kind",
        choices=("offline", "reference"),
        default="offline",
        help="offline (signed metadata, checkable offline: the default) or reference (identifier + digest)",
    )
    p.add_argument("--key", type=Path, metavar="KEY.pem", help="issuer key (offline payloads are signed)")
    p.add_argument("--cert", type=Path, metavar="CERT.pem", help="issuer certificate")
    p.add_argument("--password-file", type=Path, metavar="FILE", help="file holding the key's password")
    p.add_argument(
        "--url-prefix",
        default="",
        metavar="URL",
        help="verification URL prefix for reference payloads: letters, digits and + - . / : _ only "
        "(no ? & # =: the code must survive a shell); capitals keep the code small",
    )
    p.add_argument("-o", "--out", type=Path, metavar="PNG", help="write the QR image here (prints its path)")
    p.add_argument(
        "--print",
        action="store_true",
        dest="print_payload",
        help="print the payload text (default without -o)",
    )
    p.set_defaults(handler=_qr)

    r = sub.add_parser(
        "render",
        help="draw the pages of a certificate file (OFD) as PNG or PDF",
        epilog=EPILOG_RENDER,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("file", type=Path, metavar="FILE", help="an OFD file (a certificate or any OFD)")
    r.add_argument(
        "-o", "--out", required=True, type=Path, metavar="OUT", help="where to write: a .png or .pdf file"
    )
    r.add_argument("--dpi", type=int, default=300, metavar="N", help="resolution (default 300, for print)")
    r.add_argument("--font", type=Path, metavar="FONT", help="a font file able to draw Chinese")
    r.set_defaults(handler=_render)


def _qr(args: argparse.Namespace) -> int:
    from ecert.app import make_qr_payload, write_qr_png
    from ecert.cli.common import load_signer

    signer = None
    if args.kind == "offline":
        if args.key is None or args.cert is None:
            make_qr_payload(args.file, kind="reference")  # a file that is no certificate: say that first
            raise InputError(
                "an offline QR code is signed by the issuer: give --key and --cert",
                where="ecert qr",
                expected="--key KEY.pem --cert CERT.pem, or --kind reference (not verifiable offline)",
            )
        signer = load_signer(args)
    payload = make_qr_payload(args.file, kind=args.kind, signer=signer, url_prefix=args.url_prefix)
    if args.out is not None:
        write_qr_png(payload, args.out)
    if args.print_payload or args.out is None:
        print(payload)
    else:  # like ecert render and ecert issue: say what was written
        print(args.out)
    return EXIT_OK


def _render(args: argparse.Namespace) -> int:
    from ecert.paint import render_file

    for path in render_file(args.file, args.out, dpi=args.dpi, font=args.font):
        print(path)
    return EXIT_OK
