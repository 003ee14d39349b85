#!/usr/bin/env python3
"""Render page 1 of an OFD file to PNG with easyofd, an OFD reader independent of ecert.

Runs in its own virtual environment, not the project's::

    python3 -m venv /tmp/easyofd-venv
    /tmp/easyofd-venv/bin/pip install easyofd
    /tmp/easyofd-venv/bin/python scripts/render_with_easyofd.py FILE.ofd -o OUT.png [--dpi 100]

easyofd (PyPI) parses the OFD XML itself, draws the page into a PDF with reportlab and
rasterises it with PyMuPDF.  It does not import ecert, so a page it draws right shows that our
files are readable by someone else's code.  Two environment problems of easyofd are worked
around here, neither of which changes what is read from the file (docs/ofd-reader-check.md):

* easyofd draws every character with a reportlab font registered as ``宋体`` from
  ``simsun.ttc`` (a Windows font).  Where that file is missing it silently draws no text at
  all.  This script registers ``宋体`` from the TrueType CJK font PyMuPDF ships
  (Droid Sans Fallback), so the render needs no system fonts.
* easyofd asserts when a ``Signature.xml`` has no ``StampAnnot`` (a signature without a seal
  appearance, as GB/T 38540 allows; ofdrw's ``DigitalSign.ofd`` fails the same way).  Asking
  it for the file of a missing ``SignedValue`` path now yields "no file" instead of crashing,
  so such a signature is simply not drawn.

Exit codes: 0 written, 1 easyofd failed (its message is printed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_DPI = 100
CJK_ALIASES = ("宋体", "SimSun", "黑体", "SimHei", "楷体", "KaiTi")


def _quiet() -> None:
    """easyofd logs every step at DEBUG through loguru; keep warnings and errors only."""
    try:
        from loguru import logger

        logger.remove()
        logger.add(sys.stderr, level="ERROR")
    except ImportError:  # pragma: no cover - loguru is an easyofd dependency
        pass
    logging.getLogger().setLevel(logging.ERROR)
    # easyofd imports PyMuPDF as "fitz", which PyMuPDF 1.26+ deprecates with a FutureWarning
    warnings.filterwarnings("ignore", category=FutureWarning, module="fitz")


def _register_cjk_font(font_dir: Path) -> Path:
    """Register PyMuPDF's built-in CJK TrueType font with reportlab under easyofd's font names."""
    import pymupdf
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if hasattr(pymupdf, "set_messages"):  # PyMuPDF's own notices go to stderr, not into our stdout
        pymupdf.set_messages(fd=2)
    path = font_dir / "DroidSansFallback.ttf"
    path.write_bytes(pymupdf.Font("cjk").buffer)
    for name in CJK_ALIASES:
        pdfmetrics.registerFont(TTFont(name, str(path)))
    return path


def _tolerate_missing_signed_value() -> None:
    """easyofd's OFDParser.get_xml_obj asserts on an empty path; make it return "not found"."""
    from easyofd.parser_ofd.ofd_parser import OFDParser

    original: Callable[[Any, Any], Any] = OFDParser.get_xml_obj
    if getattr(original, "_ecert_patched", False):
        return

    def get_xml_obj(self: Any, label: Any) -> Any:
        return original(self, label) if label else ""

    get_xml_obj._ecert_patched = True  # type: ignore[attr-defined]
    OFDParser.get_xml_obj = get_xml_obj


def render_pdf(ofd: bytes) -> bytes:
    """The PDF easyofd draws for ``ofd`` (all pages)."""
    _quiet()
    with tempfile.TemporaryDirectory(prefix="easyofd-font-") as tmp:
        _register_cjk_font(Path(tmp))
        # easyofd print()s parser internals to stdout; stdout is kept for this script's own output
        with contextlib.redirect_stdout(io.StringIO()):
            _tolerate_missing_signed_value()
            from easyofd.ofd import OFD

        reader = OFD()
        # easyofd registers embedded fonts by writing them into the current directory
        cwd = Path.cwd()
        os.chdir(tmp)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                reader.read(ofd, fmt="binary")
                pdf: bytes = reader.to_pdf()
        finally:
            os.chdir(cwd)
    if not pdf:
        raise RuntimeError("easyofd produced no PDF")
    return pdf


def render_png(ofd: bytes, dpi: int = DEFAULT_DPI) -> bytes:
    """Page 1 of ``ofd`` as PNG bytes, drawn by easyofd and rasterised by PyMuPDF.

    easyofd's PDF uses 200/25.4 units per mm (not 72/25.4), so ``dpi`` is converted to the
    matching zoom: the PNG is ``page_mm / 25.4 * dpi`` pixels wide.
    """
    import pymupdf

    pdf = render_pdf(ofd)
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        if doc.page_count < 1:
            raise RuntimeError("easyofd's PDF has no pages")
        page = doc[0]
        zoom = dpi / 200.0
        pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
        png: bytes = pix.tobytes("png")
    # easyofd draws a page saying "ofd 格式错误,不支持解析" when its own drawing failed
    if "不支持解析" in _page_text(pdf):
        raise RuntimeError("easyofd could not draw the file (it drew its 'format error' page)")
    return png


def _page_text(pdf: bytes) -> str:
    import pymupdf

    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return "".join(str(p.get_text()) for p in doc)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ofd", type=Path, help="the .ofd file")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the PNG to write (page 1)")
    parser.add_argument("--dpi", type=int, default=DEFAULT_DPI, help=f"resolution (default {DEFAULT_DPI})")
    parser.add_argument("--pdf", type=Path, help="also keep easyofd's intermediate PDF here")
    args = parser.parse_args(argv)
    if not args.ofd.is_file():
        parser.error(f"{args.ofd} is not a file")
    if not 20 <= args.dpi <= 600:
        parser.error("--dpi must be between 20 and 600")
    data = args.ofd.read_bytes()
    try:
        if args.pdf:
            args.pdf.write_bytes(render_pdf(data))
        png = render_png(data, args.dpi)
    except ImportError as exc:
        print(f"easyofd is not installed here ({exc}); pip install easyofd in a venv", file=sys.stderr)
        return 1
    except Exception as exc:  # easyofd raises anything from AssertionError to KeyError
        print(f"easyofd failed on {args.ofd}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    args.out.write_bytes(png)
    print(f"{args.out}: page 1 of {args.ofd.name} drawn by easyofd")
    return 0


if __name__ == "__main__":
    sys.exit(main())
