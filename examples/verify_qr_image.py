"""Service window: verify the QR code on a certificate from a photo or scan, offline.

    python examples/verify_qr_image.py photo.png --trust demo-out/trust [--cert OTHER.pem] \
        [--status status-list.json]

The window is configured once with the trust anchors (``trust/*.pem``), the department
certificates it accepts (``trust/issuers/*.pem``, or ``--cert``: the QR payload names its signer
only by key id) and, optionally, the latest signed status list; no network is needed.
Exit status 0 means valid, 1 not valid, 2 a file that cannot be read (the image, or no QR code
in it, the trust folder, the status list), as ``ecert verify --qr``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecert.app import decode_qr_image, known_certificates, load_status_source, load_trust
from ecert.errors import EcertError
from ecert.verify.qr import verify_offline


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image", type=Path)
    ap.add_argument("--trust", required=True, type=Path)
    ap.add_argument("--cert", action="append", type=Path, default=[])
    ap.add_argument("--status", type=Path)
    ap.add_argument("--lang", choices=("zh", "en"), default="zh")
    args = ap.parse_args()

    try:
        trust = load_trust(args.trust)
        status = load_status_source(status_list=args.status, registry=None, trust=trust, at=None)
        certificates = known_certificates(args.trust, args.cert)
        text = decode_qr_image(args.image)
    except EcertError as exc:  # an unreadable image (or none with a QR code), trust folder, status list
        print(f"verify_qr_image: {exc}", file=sys.stderr)
        return 2
    report = verify_offline(text, trust=trust, certificates=certificates, status=status)
    print(report.to_text(args.lang))
    if report.metadata is not None:
        md = report.metadata
        print(f"\n{md.certificate_name}  {md.holder_name}  {md.holder_code}  {md.issuer_name}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
