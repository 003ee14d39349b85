"""The certificate face: PNG at 300 dpi (the baseline), the raster PDF ecert wrote before, the vector PDF.

Run: python benchmarks/bench_render.py [--seconds S] [--json]

One signed portrait certificate with photo, seal and QR code (as tests/test_render_pdf.py).  The
vector PDF's time is mostly fontTools subsetting the CJK face font (a CFF font of 65,000 glyphs,
parsed afresh for each file, regular and bold); its size is the subsetted fonts and the photo.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_crypto import rate  # the same timing loop for every benchmark
from tests.certs import SIGNED_AT, signer
from tests.test_render_ofd import _draft, _photo, _seal

from ecert.package import Issuer, package
from ecert.paint import pdf_bytes, render_ofd, render_ofd_pdf


def _png(data: bytes) -> bytes:
    buf = io.BytesIO()
    render_ofd(data)[0].save(buf, format="PNG")
    return buf.getvalue()


def bench(seconds: float) -> dict[str, float]:
    data = package(_draft("11100000000013338W001"), Issuer(signer(), seal_image=_seal()), at=SIGNED_AT,
                   photo=_photo())  # fmt: skip
    out: dict[str, float] = {}
    out["png_per_s"] = rate(lambda: _png(data), seconds)
    out["raster_pdf_per_s"] = rate(lambda: pdf_bytes(render_ofd(data), dpi=300), seconds)
    out["vector_pdf_per_s"] = rate(lambda: render_ofd_pdf(data), seconds)
    out["png_bytes"] = len(_png(data))
    out["raster_pdf_bytes"] = len(pdf_bytes(render_ofd(data), dpi=300))
    out["vector_pdf_bytes"] = len(render_ofd_pdf(data))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    r = bench(args.seconds)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    base = r["png_per_s"]
    print(f"PNG, 300 dpi              {base:6.2f}/s   baseline   {r['png_bytes']:9.0f} bytes")
    for key, name in (("raster_pdf", "raster PDF, 300 dpi"), ("vector_pdf", "vector PDF")):
        per_s = r[f"{key}_per_s"]
        print(f"{name:26s} {per_s:6.2f}/s   {per_s / base:.2f}x PNG   {r[f'{key}_bytes']:9.0f} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
