"""QR symbols from zxing-cpp, checked module by module against an independent encoder (qrcode)."""

from __future__ import annotations

import pytest
import qrcode
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode.constants import ERROR_CORRECT_M

from ecert.errors import InvalidQRPayload
from ecert.qr.base45 import ALPHABET
from ecert.qr.image import OFFLINE_MAX_VERSION, QUIET_ZONE, qr_image, qr_matrix, qr_png, qr_version
from ecert.qr.offline import make_offline

from .certs import SIGNED_AT, draft, signer

REFERENCE = (
    "ECR1:1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U:"
    "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
)


def _qrcode_matrices(payload: str) -> dict[int, tuple[tuple[bool, ...], ...]]:
    """The symbol qrcode makes for ``payload`` at level M under each of the eight masks."""
    out = {}
    for mask in range(8):
        q = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=mask)
        q.add_data(payload, optimize=0)
        q.make(fit=True)
        out[mask] = tuple(tuple(bool(c) for c in row) for row in q.get_matrix())
    return out


def _same_as_qrcode(payload: str) -> None:
    ours = qr_matrix(payload)
    theirs = _qrcode_matrices(payload)
    assert len(ours) == len(theirs[0]), "zxing-cpp and qrcode chose different versions"
    masks = [m for m, matrix in theirs.items() if matrix == ours]
    assert len(masks) == 1, "no qrcode mask gives the same symbol"


@pytest.mark.parametrize("kind", ["sm2", "p256", "ed25519"])
def test_offline_symbols_equal_qrcodes_module_by_module(kind: str) -> None:
    payload = make_offline(draft(kind).metadata, signer(kind), at=SIGNED_AT)
    _same_as_qrcode(payload)
    assert qr_version(payload) <= OFFLINE_MAX_VERSION


def test_reference_symbol_is_no_larger_and_decodes() -> None:
    # zxing-cpp switches to numeric mode for the identifier's digit runs, qrcode (optimize=0) does
    # not: the symbols differ, so here the check is the version and an independent decode
    assert len(qr_matrix(REFERENCE)) <= len(_qrcode_matrices(REFERENCE)[0])
    result = zxingcpp.read_barcode(qr_image(REFERENCE, module_px=3))
    assert result is not None and result.text == REFERENCE


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=700))
def test_alphanumeric_text_equals_qrcodes(text: str) -> None:
    _same_as_qrcode(text)


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        st.characters(codec="utf-8", min_codepoint=1)
        | st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        min_size=1,
        max_size=300,
    )
)
def test_any_text_decodes_back(text: str) -> None:
    """Any text (CJK weighted up): non-ASCII text carries the UTF-8 ECI, so no reader has to guess;
    a text that would not read back as itself (a leading BOM, dropped by readers) is refused."""
    if text.startswith("\ufeff"):
        with pytest.raises(InvalidQRPayload, match="byte order mark"):
            qr_image(text)
        return
    result = zxingcpp.read_barcode(qr_image(text, module_px=3), text_mode=zxingcpp.TextMode.Plain)
    assert result is not None and result.valid and result.text == text


def test_image_has_the_quiet_zone_and_the_scale() -> None:
    img = qr_image(REFERENCE, module_px=5)
    side = len(qr_matrix(REFERENCE))
    assert img.size == ((side + 2 * QUIET_ZONE) * 5,) * 2 and img.mode == "L"
    assert img.getpixel((QUIET_ZONE * 5 - 1, QUIET_ZONE * 5 - 1)) == 255  # white around the symbol
    assert img.getpixel((QUIET_ZONE * 5, QUIET_ZONE * 5)) == 0  # finder pattern corner
    assert qr_png(REFERENCE).startswith(b"\x89PNG\r\n\x1a\n")


def test_smallest_version_is_chosen() -> None:
    # ISO/IEC 18004 Table 7: version 15-M holds 600 alphanumeric characters, 16-M 666
    assert qr_version("A" * 600) == 15
    assert qr_version("A" * 601) == 16
    assert qr_version("A") == 1


@pytest.mark.parametrize("bad", ["", "A" * 5000, "A" * 100_000])
def test_unencodable_payloads_are_refused(bad: str) -> None:
    with pytest.raises(InvalidQRPayload):
        qr_image(bad)


def test_version_budget_is_enforced() -> None:
    with pytest.raises(InvalidQRPayload, match="budget"):
        qr_image("A" * 601, max_version=OFFLINE_MAX_VERSION)
