"""A QR code ecert writes reads back, through ecert's own readers, as the very text it was given.

``qr_png`` writes any text (control characters too, in byte mode); zxing-cpp's default text mode
is "human readable" and spells a control character as ``<NUL>``, ``<ESC>``..., so ``read_qr`` and
``decode_qr_image`` read ``A\\x00B`` back as the six characters ``A<NUL>B``, the same text they
read from a code that holds those six characters: two different codes, one reading, and neither
what the code says.  Control characters, and text that spells one out, must read back as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ecert.app import decode_qr_image
from ecert.qr.image import qr_png, read_qr

CONTROLS = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]]


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_a_control_character_reads_back(char: str) -> None:
    text = f"A{char}B"
    assert read_qr(qr_png(text, module_px=3)) == text


@pytest.mark.parametrize("text", ["A\x00B", "A<NUL>B", "证照\x1b[0m", "https://example.gov.cn/v?\x1d01",
                                  "\t\n\r"])
def test_each_text_reads_back_through_every_reader(text: str, tmp_path: Path) -> None:
    png = qr_png(text, module_px=3)
    assert read_qr(png) == text
    path = tmp_path / "code.png"
    path.write_bytes(png)
    assert decode_qr_image(path) == text


def test_two_different_codes_read_differently() -> None:
    assert read_qr(qr_png("A\x00B", module_px=3)) != read_qr(qr_png("A<NUL>B", module_px=3))
