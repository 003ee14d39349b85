"""``--faces`` and ``--qr``: the options ``ecert issue`` and ``ecert batch`` share to write the face
and the QR image beside each certificate file (drawn by :func:`ecert.paint.write_beside`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_face_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--faces",
        nargs="?",
        const="png",
        choices=("png", "pdf"),
        metavar="png|pdf",
        help="also write the face beside each file: <identifier>.face.png (300 dpi) or .face.pdf",
    )
    p.add_argument(
        "--qr",
        action="store_true",
        help="also write the QR code the face shows beside each file: <identifier>.qr.png",
    )


def write_face_options(args: argparse.Namespace, path: Path) -> tuple[Path, ...]:
    """The face and QR files ``args`` ask for, written beside ``path``."""
    if args.faces is None and not args.qr:
        return ()
    from ecert.paint import write_beside

    return write_beside(path, face=args.faces, qr=args.qr)
