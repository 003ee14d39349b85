"""The pure-Python QR encoder (``qr.encode``) at every version's edge, against ``qrcode`` and zxing-cpp.

``tests/test_qr_encode.py`` draws random texts; the places where an encoder goes wrong are the
edges: the longest text a version holds and one character more (the step to the next version,
the character count indicator growing at versions 10 and 27, the terminator cut short or
dropped when the data fills the last codeword).  For each version at level M and both modes, the
longest text must be that version's capacity from ISO/IEC 18004 Table 7, and the symbols for it and
for one character more must be the ones ``qrcode`` makes, module by module, and read back by
zxing-cpp.  Seeded random characters (the same every run).
"""

from __future__ import annotations

import random

import pytest
import qrcode
import zxingcpp
from qrcode.constants import ERROR_CORRECT_M

from ecert.qr.encode import ALPHANUMERIC, symbol_bits
from ecert.qr.image import qr_image

# ISO/IEC 18004:2015 Table 7, level M: (numeric, alphanumeric) characters, versions 1-40
_CAPACITY_M = (
    (34, 20), (63, 38), (101, 61), (149, 90), (202, 122), (255, 154), (293, 178), (365, 221), (432, 262),
    (513, 311), (604, 366), (691, 419), (796, 483), (871, 528), (991, 600), (1082, 656), (1212, 734),
    (1346, 816), (1500, 909), (1600, 970), (1708, 1035), (1872, 1134), (2059, 1248), (2188, 1326),
    (2395, 1451), (2544, 1542), (2701, 1637), (2857, 1732), (3035, 1839), (3289, 1994), (3486, 2113),
    (3693, 2238), (3909, 2369), (4134, 2506), (4343, 2632), (4588, 2780), (4775, 2894), (5039, 3054),
    (5313, 3220), (5596, 3391),
)


def _qrcode(text: str) -> tuple[int, list[list[bool]]]:
    q = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    q.add_data(text, optimize=0)
    q.make(fit=True)
    return int(q.version), [[bool(c) for c in row] for row in q.get_matrix()]


def _ours(text: str) -> tuple[int, list[list[bool]]]:
    side, stride, dark = symbol_bits(text)
    return (side - 17) // 4, [[bool(dark >> (r * stride + c) & 1) for c in range(side)] for r in range(side)]


def _text(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _check_version(version: int, mode: int) -> None:
    rng = random.Random(version * 2 + mode)
    alphabet = "0123456789" if mode == 0 else ALPHANUMERIC
    capacity = _CAPACITY_M[version - 1][mode]
    full = _text(rng, alphabet, capacity)
    over = full + rng.choice(alphabet)
    assert _ours(full)[0] == version, "the longest text the version holds"
    assert _ours(full) == _qrcode(full)
    if version < 40:
        assert _ours(over)[0] == version + 1
        assert _ours(over) == _qrcode(over)
    else:
        with pytest.raises(ValueError, match="too long"):
            symbol_bits(over)
    for text in (full, over) if version < 40 else (full,):
        found = zxingcpp.read_barcode(qr_image(text, module_px=2), formats=zxingcpp.BarcodeFormat.QRCode)
        assert found is not None and found.valid and found.text == text


@pytest.mark.parametrize("mode", [0, 1], ids=["numeric", "alphanumeric"])
@pytest.mark.parametrize("version", [1, 2, 7, 9, 10])
def test_capacity_edges(version: int, mode: int) -> None:
    _check_version(version, mode)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [0, 1], ids=["numeric", "alphanumeric"])
@pytest.mark.parametrize("version", [v for v in range(1, 41) if v not in (1, 2, 7, 9, 10)])
def test_capacity_edges_of_every_version(version: int, mode: int) -> None:
    _check_version(version, mode)
