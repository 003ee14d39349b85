"""``ecert render`` draws the OFD page as signed: checked against easyofd, other producers' files,
PDF output, the --faces/--qr options of issue and batch, and hostile page content."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from ecert.cli import main
from ecert.collect import CertificateDraft, collect
from ecert.crypto.keys import save_private_key
from ecert.errors import EcertError, InputError, InvalidPackage, UnsafePackage
from ecert.metadata import Authority
from ecert.ofd.page import MAX_DEPTH, MAX_PAGES, read_pages
from ecert.ofd.reader import OFDPackage
from ecert.ofd.writer import replace_entries
from ecert.package import Issuer, package
from ecert.paint import qr_payload_of, render_ofd, render_ofd_pdf

from .certs import DEPARTMENT_CODE, RECORDS, SIGNED_AT, hierarchy, signer
from .test_ofd_independent_reader import _in_process, _venv_python
from .test_ofd_independent_reader import render as easyofd_render
from .thirdparty import OFDRW

QR = zxingcpp.BarcodeFormat.QRCode  # only QR symbols: random modules can look like a 1D code

TYPE = "11100000MB0143028R001"  # 营业执照, landscape


def _draft(code: str = TYPE) -> CertificateDraft:
    record = json.loads((RECORDS / f"{code}.json").read_text(encoding="utf-8-sig"))
    issuer = Authority(name="示例市市场监督管理局", code=DEPARTMENT_CODE)
    return collect(record, code, issuer=issuer, today=SIGNED_AT.date())


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _seal() -> bytes:
    """A red seal drawn by hand: a ring and a star-ish mark on transparency."""
    img = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((10, 10, 290, 290), outline=(220, 0, 0, 255), width=18)
    d.polygon([(150, 60), (180, 140), (260, 140), (195, 185), (220, 260), (150, 215), (80, 260),
               (105, 185), (40, 140), (120, 140)], fill=(220, 0, 0, 255))  # fmt: skip
    return _png(img)


def _photo() -> bytes:
    img = Image.new("RGB", (260, 350), (40, 90, 200))  # a blue passport-style background
    ImageDraw.Draw(img).ellipse((70, 60, 190, 200), fill=(230, 190, 160))
    return _png(img)


@pytest.fixture(scope="module")
def signed() -> bytes:
    draft = _draft("11100000000013338W001")  # a portrait type
    issuer = Issuer(signer(), seal_image=_seal())
    return package(draft, issuer, at=SIGNED_AT, photo=_photo())


def _colour_share(img: Image.Image, box: tuple[float, float, float, float], test: object) -> float:
    """Share of pixels in ``box`` (mm) for which ``test(r, g, b)`` holds."""
    sx = img.width / 210.0
    x, y, w, h = box
    crop = img.crop((round(x * sx), round(y * sx), round((x + w) * sx), round((y + h) * sx))).convert("RGB")
    raw = crop.tobytes()
    pixels = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    return sum(1 for p in pixels if test(*p)) / max(1, len(pixels))  # type: ignore[operator]


def _image_boxes(data: bytes) -> list[tuple[float, float, float, float]]:
    return [i.box for i in read_pages(OFDPackage.open(data))[0].items if type(i).__name__ == "ImageItem"]


def test_the_face_shows_qr_photo_and_seal_of_the_signed_file(signed: bytes) -> None:
    (face,) = render_ofd(signed, dpi=200)
    assert face.size == (round(210 / 25.4 * 200), round(297 / 25.4 * 200))
    boxes = _image_boxes(signed)
    assert len(boxes) == 3  # QR, photo, seal: every picture the page holds
    red = [b for b in boxes if _colour_share(face, b, lambda r, g, b_: r > 180 and g < 80 and b_ < 80) > 0.05]
    blue = [b for b in boxes if _colour_share(face, b, lambda r, g, b_: b_ > 150 and r < 90) > 0.3]
    assert len(red) == 1 and len(blue) == 1, (red, blue)
    # the QR code on the drawn face decodes to the payload the file's page holds
    payload = qr_payload_of(signed)
    assert payload is not None
    assert [r.text for r in zxingcpp.read_barcodes(face.convert("L"), formats=QR)] == [payload]


def test_default_resolution_is_300_dpi_for_print(signed: bytes) -> None:
    (face,) = render_ofd(signed)
    assert face.size == (2480, 3508)


def _ink(img: Image.Image) -> Image.Image:
    return img.convert("L").point(lambda v: 255 if v < 160 else 0)


@pytest.mark.skipif(not _in_process() and _venv_python() is None, reason="easyofd is not available")
@pytest.mark.parametrize("code", ["11100000000013338W001", TYPE])
def test_ecert_render_agrees_with_easyofd(code: str, tmp_path: Path) -> None:
    """Our drawing and easyofd's of the same signed file put ink in the same places."""
    data = package(_draft(code), Issuer(signer()), at=SIGNED_AT)
    theirs = easyofd_render(data, tmp_path)  # 150 dpi, greyscale
    (ours,) = render_ofd(data, dpi=150)
    assert abs(ours.width - theirs.width) <= 3 and abs(ours.height - theirs.height) <= 3
    theirs = theirs.resize(ours.size)
    a, b = _ink(ours), _ink(theirs)
    near_a = a.filter(ImageFilter.MaxFilter(9))  # within ~0.7 mm
    near_b = b.filter(ImageFilter.MaxFilter(9))
    ink_a, ink_b = a.histogram()[255], b.histogram()[255]
    assert ink_a > 10_000 and ink_b > 10_000
    ours_unmatched = ImageChops.subtract(a, near_b).histogram()[255] / ink_a
    theirs_unmatched = ImageChops.subtract(b, near_a).histogram()[255] / ink_b
    assert ours_unmatched < 0.03, f"{ours_unmatched:.1%} of our ink has no easyofd ink near it"
    assert theirs_unmatched < 0.03, f"{theirs_unmatched:.1%} of easyofd's ink has none of ours near it"


def test_another_producers_invoice_template_text_and_qr() -> None:
    """A tax-bureau invoice: its template (named TPLS/ for a Tpls/ folder) and its QR are drawn."""
    data = (OFDRW / "v4signed.ofd").read_bytes()
    (page,) = render_ofd(data, dpi=150)
    assert page.size == (1240, 827)  # its own page area, 210 x 140 mm
    codes = zxingcpp.read_barcodes(page.convert("L"), formats=QR)
    assert codes and codes[0].text.startswith("01,")  # the invoice QR: 01,<type>,<code>,...
    # the template's brown table rules (156 82 35) are drawn
    brown = _colour_share(
        page, (0, 0, 210, 140), lambda r, g, b: abs(r - 156) < 30 and abs(g - 82) < 30 and b < 90
    )
    assert brown > 0.005


def test_an_electronic_seal_of_a_signature_is_drawn_where_its_stamp_says() -> None:
    """SESV4SignDoc: the GB/T 38540 seal's picture is drawn in StampAnnot Boundary 50 50 40 40."""
    data = (OFDRW / "SESV4SignDoc.ofd").read_bytes()
    (page,) = render_ofd(data, dpi=100)
    red = _colour_share(page, (50, 50, 40, 40), lambda r, g, b: r > 180 and g < 90 and b < 90)
    assert red > 0.1
    (bare,) = render_ofd(data, dpi=100, stamps=False)
    assert _colour_share(bare, (50, 50, 40, 40), lambda r, g, b: r > 180 and g < 90 and b < 90) == 0


@pytest.mark.parametrize("name", sorted(p.name for p in OFDRW.glob("*.ofd")))
def test_every_interop_file_is_drawn(name: str) -> None:
    pages = render_ofd((OFDRW / name).read_bytes(), dpi=50)
    assert pages and all(ImageChops.invert(p.convert("L")).getbbox() is not None for p in pages)


# --- the command -------------------------------------------------------------------------------


def test_cli_render_writes_a_real_pdf_and_a_png(
    signed: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pymupdf

    src = tmp_path / "cert.ofd"
    src.write_bytes(signed)
    assert main(["render", str(src), "-o", str(tmp_path / "face.pdf")]) == 0
    pdf = (tmp_path / "face.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        assert doc.page_count == 1
        rect = doc[0].rect
        assert rect.width / 72 * 25.4 == pytest.approx(210, abs=0.5)
        assert rect.height / 72 * 25.4 == pytest.approx(297, abs=0.5)
        pix = doc[0].get_pixmap(dpi=100)
        seen = zxingcpp.read_barcodes(Image.open(io.BytesIO(pix.tobytes("png"))).convert("L"), formats=QR)
        assert [r.text for r in seen] == [qr_payload_of(signed)]
    assert main(["render", str(src), "-o", str(tmp_path / "face.png"), "--dpi", "100"]) == 0
    with Image.open(tmp_path / "face.png") as img:
        assert img.format == "PNG" and img.size == (827, 1169)
    out = capsys.readouterr().out.split()
    assert out == [str(tmp_path / "face.pdf"), str(tmp_path / "face.png")]


def test_cli_render_refuses_an_unknown_format(
    signed: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "cert.ofd"
    src.write_bytes(signed)
    assert main(["render", str(src), "-o", str(tmp_path / "face.jpg")]) == 2
    assert ".png or .pdf" in capsys.readouterr().err
    assert not (tmp_path / "face.jpg").exists()


def test_render_pdf_pages_equal_the_file_pages(signed: bytes) -> None:
    import pymupdf

    with pymupdf.open(stream=render_ofd_pdf(signed, dpi=72), filetype="pdf") as doc:
        assert doc.page_count == len(OFDPackage.open(signed).document().pages)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("keys")
    h = hierarchy()
    (d / "k.pem").write_bytes(save_private_key(h.issuer_key))
    (d / "c.pem").write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    return d / "k.pem", d / "c.pem"


def test_issue_writes_face_and_qr_beside_the_file(
    keys: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = RECORDS / f"{TYPE}.json"
    argv = ["issue", str(record), "--type", TYPE, "--key", str(keys[0]), "--cert", str(keys[1])]
    assert main([*argv, "-o", str(tmp_path), "--faces", "--qr", "--at", "2026-11-24T10:00+08:00"]) == 0
    ofd, face, qr = (Path(p) for p in capsys.readouterr().out.split())
    assert (ofd.suffix, face.name, qr.name) == (
        ".ofd",
        ofd.name[:-4] + ".face.png",
        ofd.name[:-4] + ".qr.png",
    )
    data = ofd.read_bytes()
    with Image.open(face) as img:
        assert img.size == (3508, 2480)  # landscape A4 at 300 dpi
        assert [r.text for r in zxingcpp.read_barcodes(img.convert("L"), formats=QR)] == [qr_payload_of(data)]
    with Image.open(qr) as img:
        assert [r.text for r in zxingcpp.read_barcodes(img.convert("L"), formats=QR)] == [qr_payload_of(data)]
    assert main(["verify", "--qr", str(qr), "--trust", str(keys[1])]) == 0


@pytest.mark.slow
def test_batch_writes_faces_and_qr_beside_each_file(
    keys: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "rows.csv"
    lines = (RECORDS / f"{TYPE}.csv").read_text(encoding="utf-8-sig").splitlines()[:3]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["batch", str(csv), "--type", TYPE, "--key", str(keys[0]), "--cert", str(keys[1])]
    code = main([*argv, "--registry", str(tmp_path / "r.db"), "-o", str(out), "--faces", "pdf", "--qr"])
    capsys.readouterr()
    assert code == 0
    ofds = sorted(out.glob("*.ofd"))
    assert len(ofds) == len(lines) - 1
    for ofd in ofds:
        stem = ofd.name[:-4]
        assert (out / f"{stem}.face.pdf").read_bytes().startswith(b"%PDF-")
        with Image.open(out / f"{stem}.qr.png") as img:
            assert [r.text for r in zxingcpp.read_barcodes(img.convert("L"), formats=QR)] == [
                qr_payload_of(ofd.read_bytes())
            ]


# --- hostile page content ------------------------------------------------------------------------

CONTENT = "Doc_0/Pages/Page_0/Content.xml"
NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


def _page_xml(body: str, area: str = "") -> bytes:
    layer = f'<ofd:Content><ofd:Layer ID="90">{body}</ofd:Layer></ofd:Content>'
    return f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}>{area}{layer}</ofd:Page>'.encode()


def _with_content(body: str, area: str = "") -> bytes:
    """helloworld.ofd (ofdrw's) with its page content replaced by ``body``."""
    return replace_entries((OFDRW / "helloworld.ofd").read_bytes(), {CONTENT: _page_xml(body, area)})


def _path(data: str, boundary: str = "0 0 10 10") -> str:
    path = f"<ofd:AbbreviatedData>{data}</ofd:AbbreviatedData>"
    return f'<ofd:PathObject ID="91" Boundary="{boundary}">{path}</ofd:PathObject>'


def _text(code: str = '<ofd:TextCode X="0" Y="5">a</ofd:TextCode>', attrs: str = "", inner: str = "") -> str:
    head = f'<ofd:TextObject ID="91" Boundary="10 10 100 10" Font="3" Size="5" {attrs}>'
    return f"{head}{inner}{code}</ofd:TextObject>"


def test_deep_nesting_is_refused() -> None:
    body = '<ofd:PageBlock ID="91">' * (MAX_DEPTH + 2) + "</ofd:PageBlock>" * (MAX_DEPTH + 2)
    with pytest.raises(UnsafePackage, match="nested"):
        read_pages(OFDPackage.open(_with_content(body)))


def test_a_huge_repeat_count_in_deltax_is_bounded() -> None:
    body = _text('<ofd:TextCode X="0" Y="5" DeltaX="g 99999999999 5">你好</ofd:TextCode>')
    (page,) = read_pages(OFDPackage.open(_with_content(body)))
    (text,) = page.items
    assert [g.x for g in text.glyphs] == [10, 15]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (_path("M 0 0 L nan 1"), EcertError),
        (_path("M 0 0 L 1e300 1"), UnsafePackage),
        (_path("M 0 0 X 1 1"), InvalidPackage),
        (_path("M 0 0 L 1"), InvalidPackage),
        (_path("M 0 0 L 1 1", boundary="0 0 10"), InvalidPackage),
        (_text(attrs='CTM="1 0 0 1 0"'), InvalidPackage),
        (_text(inner='<ofd:FillColor Value="1 2"/>'), InvalidPackage),
        (_text('<ofd:TextCode X="0" Y="5" DeltaX="g 2">ab</ofd:TextCode>'), InvalidPackage),
    ],
    ids=["nan", "huge", "operator", "arity", "boundary", "ctm", "colour", "g"],
)
def test_malformed_objects_raise_a_named_error(body: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        render_ofd(_with_content(body), dpi=30)
    assert "Page_0/Content.xml" in str(info.value)


def test_too_many_path_points_are_refused() -> None:
    body = _path("M 0 0 " + "".join(f"B {i} 1 {i + 1} 2 {i + 2} 3 " for i in range(50_000)))
    with pytest.raises(UnsafePackage, match="paths too detailed"):
        read_pages(OFDPackage.open(_with_content(body)))


def test_a_page_too_large_for_the_resolution_is_an_input_error() -> None:
    area = "<ofd:Area><ofd:PhysicalBox>0 0 90000 90000</ofd:PhysicalBox></ofd:Area>"
    with pytest.raises(InputError, match="lower the dpi"):
        render_ofd(_with_content("", area), dpi=300)


def test_an_unreadable_image_is_drawn_as_a_placeholder() -> None:
    """A picture pillow cannot read (a JBIG2 scan, a damaged PNG) leaves a grey crossed box."""
    hello = (OFDRW / "helloworld.ofd").read_bytes()
    media = '<ofd:MultiMedia ID="80" Type="Image" Format="GBIG2"><ofd:MediaFile>scan.jb2</ofd:MediaFile>'
    res = f'<?xml version="1.0"?><ofd:Res {NS} BaseLoc="Res"><ofd:MultiMedias>{media}</ofd:MultiMedia>'
    res += "</ofd:MultiMedias></ofd:Res>"
    doc = OFDPackage.open(hello).read("Doc_0/Document.xml").decode()
    doc = doc.replace(
        "</ofd:PublicRes>", "</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
    )
    body = '<ofd:ImageObject ID="91" Boundary="20 20 50 50" CTM="50 0 0 50 0 0" ResourceID="80"/>'
    changes = {
        "Doc_0/Document.xml": doc.encode(),
        "Doc_0/DocumentRes.xml": res.encode(),
        "Doc_0/Res/scan.jb2": b"\x97JB2 not really",
        CONTENT: _page_xml(body),
    }
    (img,) = render_ofd(replace_entries(hello, changes), dpi=50)
    grey = _colour_share(img, (20, 20, 50, 50), lambda r, g, b: r == g == b == 200)
    assert 0 < grey < 0.2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_page_content_gives_a_drawing_or_an_ecert_error(data: st.DataObject) -> None:
    """Bytes of a real producer's page content changed at random: a picture or an EcertError."""
    original = (OFDRW / "v4signed.ofd").read_bytes()
    content = bytearray(OFDPackage.open(original).read(CONTENT))
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(content) - 1))
        content[i] = data.draw(st.sampled_from(b'0.-e9 "<>/gMLBQACS#'))
    try:
        pages = render_ofd(replace_entries(original, {CONTENT: bytes(content)}), dpi=30)
    except EcertError:
        return
    assert pages


# --- the README's face ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _red_share(img: Image.Image) -> float:
    raw = img.convert("RGB").tobytes()
    red = sum(1 for i in range(0, len(raw), 3) if raw[i] > 180 and raw[i + 1] < 90 and raw[i + 2] < 90)
    return red / (len(raw) // 3)


def test_the_readme_face_commands_run_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's issue + render commands, run from a folder with examples/ and demo-out/."""
    import re
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("A signed 营业执照", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(c.split("#")[0]) for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    assert [c[:2] for c in commands] == [["ecert", "issue"], ["ecert", "render"]]
    os.symlink(ROOT / "examples", tmp_path / "examples")
    assert main(["demo", "--out", str(tmp_path / "demo-out")]) == 0
    capsys.readouterr()
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        assert main(commands[0][1:]) == 0
        ofd = Path(capsys.readouterr().out.split()[0])
        render = [ofd.as_posix() if re.fullmatch(r"out/<identifier>\.ofd", a) else a for a in commands[1][1:]]
        assert main(render) == 0
        capsys.readouterr()
        assert main(["verify", str(ofd), "--trust", "demo-out/trust"]) == 0
    finally:
        os.chdir(here)
    ofd = tmp_path / ofd
    with Image.open(tmp_path / "face.png") as face:
        assert _red_share(face) > 0.002  # the seal (the border is a darker red)
        assert [r.text for r in zxingcpp.read_barcodes(face.convert("L"), formats=QR)] == [
            qr_payload_of(ofd.read_bytes())
        ]


def test_the_readme_picture_shows_a_seal_and_a_readable_qr_code() -> None:
    with (
        Image.open(ROOT / "docs" / "img" / "face.png") as face,
        Image.open(ROOT / "docs" / "img" / "qr.png") as qr,
    ):
        assert _red_share(face) > 0.002
        on_face = [r.text for r in zxingcpp.read_barcodes(face.convert("L"), formats=QR)]
        assert on_face and on_face == [r.text for r in zxingcpp.read_barcodes(qr.convert("L"))]


def _pages(count: int) -> bytes:
    """helloworld.ofd with its one page listed ``count`` times."""
    hello = (OFDRW / "helloworld.ofd").read_bytes()
    doc = OFDPackage.open(hello).read("Doc_0/Document.xml").decode()
    page = '<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/>'
    assert page in doc
    return replace_entries(hello, {"Doc_0/Document.xml": doc.replace(page, page * count).encode()})


def test_too_many_pages_are_refused() -> None:
    with pytest.raises(UnsafePackage, match="too many pages"):
        read_pages(OFDPackage.open(_pages(MAX_PAGES + 1)))


def test_pages_beyond_the_memory_budget_at_this_resolution_are_an_input_error() -> None:
    data = _pages(30)  # 30 A4 pages at 300 dpi: 261 million pixels held at once
    with pytest.raises(InputError, match="lower the dpi"):
        render_ofd(data, dpi=300)
    assert len(render_ofd(data, dpi=30)) == 30


def test_turned_translucent_text_is_drawn_turned_and_blended() -> None:
    """A watermark: text turned 90° by its CTM, at Alpha 96 (as ecert annotate writes it)."""
    code = '<ofd:TextCode X="0" Y="5" DeltaX="g 9 5">此件仅供办理开户时使用</ofd:TextCode>'
    fill = '<ofd:FillColor Value="200 30 30" Alpha="96"/>'
    body = _text(code, attrs='CTM="0 1 -1 0 5 0"', inner=fill).replace(
        'Boundary="10 10 100 10"', 'Boundary="40 40 5 60"'
    )
    (img,) = render_ofd(_with_content(body), dpi=100)
    ink = ImageChops.invert(img.convert("L")).point(lambda v: 255 if v > 20 else 0)
    left, top, right, bottom = ink.getbbox() or (0, 0, 0, 0)
    assert bottom - top > 4 * (right - left) > 0  # a column, not a row
    raw = img.crop((left, top, right, bottom)).tobytes()
    reds = {raw[i : i + 3] for i in range(0, len(raw), 3)}
    assert bytes((200, 30, 30)) not in reds  # blended into the white page, never the full colour
    assert any(r > g + 40 for r, g, _ in reds)  # but red


def test_a_turned_glyph_is_turned_itself() -> None:
    """一 (a horizontal stroke) under a 90° CTM is drawn as a vertical stroke."""
    code = '<ofd:TextCode X="0" Y="8">一</ofd:TextCode>'
    body = _text(code, attrs='CTM="0 1 -1 0 10 0" Size="10"').replace('Size="5" ', "")
    (img,) = render_ofd(
        _with_content(body.replace('Boundary="10 10 100 10"', 'Boundary="40 40 10 10"')), dpi=100
    )
    left, top, right, bottom = ImageChops.invert(img.convert("L")).point(
        lambda v: 255 if v > 60 else 0
    ).getbbox() or (0, 0, 0, 0)
    assert bottom - top > 3 * (right - left) > 0
