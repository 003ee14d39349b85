"""``ecert.png.png_bytes``: the bytes Pillow writes for format="PNG", without importing other plugins."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import ecert
from ecert.png import png_bytes

SRC = str(Path(ecert.__file__).resolve().parents[1])


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "1"])
@pytest.mark.parametrize("optimize", [False, True])
def test_same_bytes_as_format_png(mode: str, optimize: bool) -> None:
    image = Image.new(mode, (37, 23), 0)
    image.paste(Image.new(mode, (10, 10), 255 if mode in ("L", "1") else (255,) * len(mode)), (5, 5))
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=optimize)
    assert png_bytes(image, optimize=optimize) == buf.getvalue()
    assert Image.open(io.BytesIO(png_bytes(image))).format == "PNG"


@pytest.mark.skipif(
    not hasattr(Image, "_import_plugin_for_extension"), reason="this Pillow imports every preinit plugin"
)
def test_only_the_png_plugin_is_imported() -> None:
    code = (
        "import sys, json\nfrom PIL import Image\nfrom ecert.png import png_bytes\n"
        "png_bytes(Image.new('L', (8, 8)))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.endswith('ImagePlugin'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC}
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["PIL.PngImagePlugin"]
