"""DEFLATE levels of a certificate's ZIP and of its QR picture: bytes against CPU time.

Run: python benchmarks/bench_zip.py [--seconds S]

One certificate is packaged; its entries are zipped (:func:`ecert.ofd.zipwrite.zip_bytes`) and its QR
code's pixel rows compressed at zlib levels 1, 6 and 9.  Each figure is CPU time per call, also as a
ratio to a bare SM2 signature measured in the same process (the machine is shared: wall time lies),
next to the bytes it gives.  The levels chosen (``DEFLATE_LEVEL``, ``BILEVEL_LEVEL``) are marked.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def per_call(f: Callable[[], object], seconds: float) -> float:
    """Best of five CPU-time slices (load only ever slows a slice down)."""
    f()
    best = float("inf")
    for _ in range(5):
        n, t0 = 0, time.process_time()
        while time.process_time() - t0 < seconds / 5:
            f()
            n += 1
        best = min(best, (time.process_time() - t0) / n)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=0.5, help="CPU seconds of each figure")
    args = ap.parse_args()

    from tests.certs import SIGNED_AT, draft, signer

    from ecert.crypto.sm2 import SM2P256V1
    from ecert.ofd.reader import OFDPackage
    from ecert.ofd.writer import ZIP_TIMESTAMP
    from ecert.ofd.zipwrite import DEFLATE_LEVEL, zip_bytes
    from ecert.package import package
    from ecert.png import BILEVEL_LEVEL
    from ecert.qr.image import _light_rows, _pixel_rows
    from ecert.qr.offline import make_offline

    SM2P256V1.base_table()
    d, s = draft("sm2"), signer("sm2")
    entries = list(OFDPackage.open(package(d, s, at=SIGNED_AT)).entries.items())
    side, rows = _light_rows(make_offline(d.metadata, s, at=SIGNED_AT), 15)
    pixels = _pixel_rows(side, rows, 4)
    same = b"\x02" + bytes(len(pixels[0]))
    previous = [b"", *pixels[:-1]]
    raw = b"".join(same if row == prev else b"\x00" + row for prev, row in zip(previous, pixels, strict=True))
    msg = b"<ofd:Signature>" + b"x" * 1500
    bare = per_call(lambda: s.sign(msg), args.seconds)
    print(f"bare SM2 signature {bare * 1e3:.3f} ms; {len(entries)} entries, "
          f"{sum(len(b) for _, b in entries)} bytes; QR picture {len(raw)} bytes of filtered rows")
    for level in (1, 6, 9):
        size = len(zip_bytes(entries, ZIP_TIMESTAMP, level))
        t = per_call(lambda level=level: zip_bytes(entries, ZIP_TIMESTAMP, level), args.seconds)
        mark = "  <- DEFLATE_LEVEL" if level == DEFLATE_LEVEL else ""
        print(f"zip   level {level}: {size:6d} bytes  {t * 1e3:.3f} ms = {t / bare:.2f}x bare sign{mark}")
    for level in (1, 6, 9):
        size = len(zlib.compress(raw, level))
        t = per_call(lambda level=level: zlib.compress(raw, level), args.seconds)
        mark = "  <- BILEVEL_LEVEL" if level == BILEVEL_LEVEL else ""
        print(f"png   level {level}: {size:6d} bytes  {t * 1e3:.3f} ms = {t / bare:.2f}x bare sign{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
