"""The character class ``ecert.ofd.model`` refuses is exactly what XML 1.0 §2.2 does not allow.

It was written as the negation of the allowed ranges, which took 14 ms to compile at import (a
seventh of a verifying process); now it lists the ranges left out.  Checked over every code point.
"""

from __future__ import annotations

import re

from ecert.ofd import model

# the XML 1.0 Char production, negated
ALLOWED = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def test_every_code_point_is_judged_as_xml_1_0_judges_it() -> None:
    everything = "".join(map(chr, range(0x110000)))
    assert model._NOT_XML.findall(everything) == ALLOWED.findall(everything)
    assert len(model._NOT_XML.findall(everything)) == 9 + 2 + 18 + 0x800 + 2
