#!/usr/bin/env python3
"""Draw the fictional department's seal image used by the README's face (examples/images/seal.png).

A round red seal as Chinese departments use: a ring, the department's name along the upper arc, a
five-pointed star in the middle.  It is a picture only (no GB/T 38540 seal structure) and names a
department that does not exist.  Run from the repository: ``python scripts/make_demo_seal.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

from ecert.render import find_cjk_font

NAME = "示例市政务服务数据管理局"
SIZE = 600
RED = (210, 20, 20, 255)


def seal() -> Image.Image:
    from PIL import ImageFont

    img = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = SIZE / 2
    d.ellipse((12, 12, SIZE - 12, SIZE - 12), outline=RED, width=22)
    star = []
    for k in range(10):
        r = 95 if k % 2 == 0 else 38
        a = -math.pi / 2 + k * math.pi / 5
        star.append((c + r * math.cos(a), c + r * math.sin(a)))
    d.polygon(star, fill=RED)
    font = ImageFont.truetype(str(find_cjk_font()), 64)
    span = math.radians(250)  # the name along the upper arc, left to right
    for i, ch in enumerate(NAME):
        a = -math.pi / 2 - span / 2 + span * (i + 0.5) / len(NAME)
        glyph = Image.new("RGBA", (90, 90), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((45, 45), ch, font=font, fill=RED, anchor="mm")
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BICUBIC)
        r = c - 95
        img.alpha_composite(glyph, (round(c + r * math.cos(a) - 45), round(c + r * math.sin(a) - 45)))
    return img


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "examples" / "images" / "seal.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    seal().save(out, optimize=True)
    print(out)
