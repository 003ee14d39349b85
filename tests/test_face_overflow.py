"""Every shipped type with every field at its maximum length: the signed file's pages hold it all.

The geometry is read from the written OFD (the ``Boundary``, ``Size`` and ``DeltaX`` of each object
in ``Content.xml``, parsed here with lxml) and the picture from easyofd, an independent reader:

* no two objects overlap (except the seal, stamped over the issuer's name and date by design);
* nothing crosses the inner border, and each text's glyph advances fit its own box;
* no text is smaller than the minimum size;
* every shown value is on the pages in full (CustomTags joined), on continuation pages (续页) that
  the first page names when it does not fit;
* easyofd draws no ink outside the border.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image, ImageDraw

from ecert.catalog import default_catalog
from ecert.collect import CertificateDraft, collect
from ecert.errors import CollectionError
from ecert.face import face_spec
from ecert.layout import char_em
from ecert.metadata import Authority
from ecert.ofd.reader import OFDPackage
from ecert.package import Issuer, package

from .certs import DEPARTMENT_CODE, RECORDS, SIGNED_AT, signer
from .test_ofd_independent_reader import _in_process, _load_script, _venv_python
from .test_ofd_independent_reader import render as easyofd_render

OFD = "{http://www.ofdspec.org/2016}"
ISSUER = Authority("示例市市场监督管理局", DEPARTMENT_CODE)
MIN_SIZE = 2.8
SEAL_MM = 42.0
# a realistic scope of business: CJK, full-width punctuation, Latin, digits, a standard number
PHRASE = "技术开发、技术咨询、技术服务；软件开发（不含电子出版物）；数据处理；进出口代理，GB/T 36901-2018；"
TYPES = [t.code for t in default_catalog()]


def _long(n: int) -> str:
    return (PHRASE * (n // len(PHRASE) + 1))[:n]


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _seal() -> bytes:
    img = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((5, 5, 195, 195), outline=(220, 0, 0, 255), width=12)
    return _png(img)


def max_draft(code: str, keep: tuple[str, ...] = ()) -> CertificateDraft:
    """The type's sample record with every free-text item at its maximum length (items with a
    fixed form, such as codes, keep their valid sample value; ``keep`` names items left as they are)."""
    cert_type = default_catalog().get(code)
    record = json.loads((RECORDS / f"{code}.json").read_text(encoding="utf-8-sig"))
    values = {i.name: i.value for i in collect(record, code, issuer=ISSUER).item_texts()}
    for item in cert_type.items:
        if item.type != "string" or not item.max_length or item.name in keep:
            continue
        trial = dict(record)
        keys = [k for k, v in record.items() if isinstance(v, str) and v == values.get(item.name)]
        for key in keys or [item.label]:
            trial[key] = _long(item.max_length)
        try:
            collect(trial, code, issuer=ISSUER)
        except CollectionError:
            continue  # a pattern-bound item (许可证编号 JY + 14 digits): its sample is its only length
        record = trial
    return collect(record, code, issuer=ISSUER, today=SIGNED_AT.date())


@dataclass(frozen=True)
class Obj:
    id: str
    kind: str
    x: float
    y: float
    w: float
    h: float
    text: str = ""
    size: float = 0.0
    advance: float = 0.0  # X + the sum of DeltaX + the last glyph's estimated advance

    def overlaps(self, other: Obj) -> bool:
        eps = 1e-6
        return (
            self.x < other.x + other.w - eps
            and other.x < self.x + self.w - eps
            and self.y < other.y + other.h - eps
            and other.y < self.y + self.h - eps
        )


def _objects(pkg: OFDPackage, entry: str) -> list[Obj]:
    root = etree.fromstring(pkg.read(entry))
    out = []
    for el in root.iter(f"{OFD}TextObject", f"{OFD}ImageObject", f"{OFD}PathObject"):
        x, y, w, h = (float(v) for v in el.get("Boundary", "").split())
        kind = etree.QName(el).localname
        if kind == "TextObject":
            code = el.find(f"{OFD}TextCode")
            assert code is not None
            text, size = code.text or "", float(el.get("Size", "0"))
            deltas = sum(float(d) for d in (code.get("DeltaX") or "").split())
            advance = float(code.get("X", "0")) + deltas + char_em(text[-1]) * size
            out.append(Obj(el.get("ID", ""), kind, x, y, w, h, text, size, advance))
        else:
            out.append(Obj(el.get("ID", ""), kind, x, y, w, h))
    return out


def _tags(pkg: OFDPackage) -> dict[str, list[str]]:
    """Element name -> the IDs of the objects showing it, in order (the GB/T 36905 index)."""
    (tag,) = pkg.document().custom_tags
    root = etree.fromstring(pkg.read(tag.file_loc))
    return {el.get("Name", ""): [(r.text or "") for r in el] for el in root}


CASES = [(code, qr) for code in TYPES for qr in (False, True)]


@pytest.fixture(scope="module")
def issued() -> dict[tuple[str, bool], tuple[bytes, CertificateDraft]]:
    out = {}
    for code, qr in CASES:
        # with the QR code, the holder's name stays short: a 200-character name cannot fit the
        # offline payload's QR budget (spec/qr.md), and package() refuses rather than print it
        draft = max_draft(code, keep=("holder_name",) if qr else ())
        issuer = Issuer(signer(), seal_image=_seal())
        out[(code, qr)] = (package(draft, issuer, at=SIGNED_AT, qr=qr), draft)
    return out


@pytest.mark.parametrize(("code", "qr"), CASES, ids=[f"{c}-{'qr' if q else 'noqr'}" for c, q in CASES])
def test_geometry_of_the_written_pages(
    issued: dict[tuple[str, bool], tuple[bytes, CertificateDraft]], code: str, qr: bool
) -> None:
    data, draft = issued[(code, qr)]
    pkg = OFDPackage.open(data)
    pages = pkg.document().pages
    all_objects: dict[str, Obj] = {}
    for n, page in enumerate(pages):
        objs = _objects(pkg, page.base_loc)
        paths = [o for o in objs if o.kind == "PathObject"]
        inner = min(paths, key=lambda o: o.w * o.h)  # the inner of the two border rectangles
        boxes = [o for o in objs if o.kind != "PathObject"]
        seal = [o for o in boxes if o.kind == "ImageObject" and o.w == o.h == SEAL_MM]
        stamped = set(_tags(pkg).get("issuer_name", []) + _tags(pkg).get("issue_date", []))
        stamped |= {o.id for o in boxes if o.text == "登记机关"}
        for i, a in enumerate(boxes):
            assert inner.x <= a.x and a.x + a.w <= inner.x + inner.w, f"page {n + 1}: {a} crosses the border"
            assert inner.y <= a.y and a.y + a.h <= inner.y + inner.h, f"page {n + 1}: {a} crosses the border"
            if a.kind == "TextObject":
                assert a.size >= MIN_SIZE - 1e-9, f"page {n + 1}: {a.text!r} below the minimum size"
                assert a.advance <= a.w + 0.01, f"page {n + 1}: {a.text!r} runs out of its box"
            for b in boxes[i + 1 :]:
                if {a.id, b.id} & {s.id for s in seal} and {a.id, b.id} & stamped:
                    continue  # the seal is stamped over the issuer's name and date
                assert not a.overlaps(b), f"page {n + 1}: {a} overlaps {b}"
        all_objects.update({o.id: o for o in boxes})
    # every shown value is on the pages in full, in order
    tags = _tags(pkg)
    for field in face_spec(draft, qr=qr, seal=True).fields:
        shown = "".join(all_objects[i].text for i in tags[field.key])
        assert shown.replace(" ", "") == field.text.replace(" ", ""), field.key
    texts = [o.text for o in _objects(pkg, pages[0].base_loc)]
    if len(pages) > 1:
        assert any("续页" in t and str(len(pages)) in t for t in texts), "page 1 names no continuation"


def test_the_longest_scope_of_business_continues_and_the_short_one_does_not(
    issued: dict[tuple[str, bool], tuple[bytes, CertificateDraft]],
) -> None:
    """营业执照 with 4,000 characters of 经营范围 needs continuation pages; the sample fits one."""
    data, _ = issued[("11100000MB0143028R001", True)]
    assert len(OFDPackage.open(data).document().pages) > 1
    record = json.loads((RECORDS / "11100000MB0143028R001.json").read_text(encoding="utf-8-sig"))
    sample = collect(record, "11100000MB0143028R001", issuer=ISSUER, today=SIGNED_AT.date())
    assert len(OFDPackage.open(package(sample, signer(), at=SIGNED_AT)).document().pages) == 1


def test_business_licence_labels_its_term_and_registration_authority() -> None:
    """A 营业执照 shows 营业期限 from its founding date and 登记机关, as real licences do."""
    record = json.loads((RECORDS / "11100000MB0143028R001.json").read_text(encoding="utf-8-sig"))
    draft = collect(record, "11100000MB0143028R001", issuer=ISSUER, today=SIGNED_AT.date())
    pkg = OFDPackage.open(package(draft, signer(), at=SIGNED_AT))
    texts = [o.text for o in _objects(pkg, pkg.document().pages[0].base_loc)]
    assert "营业期限" in texts and "登记机关" in texts and "有效期限" not in texts
    assert "2015年3月8日至长期" in texts  # 成立日期 2015年3月8日, 营业期限至 长期


def test_a_long_identifier_breaks_only_at_its_dots() -> None:
    record = json.loads((RECORDS / "11100000000013338W001.json").read_text(encoding="utf-8-sig"))
    draft = collect(record, "11100000000013338W001", issuer=ISSUER, today=SIGNED_AT.date())
    pkg = OFDPackage.open(package(draft, signer(), at=SIGNED_AT))
    objs = {o.id: o for o in _objects(pkg, pkg.document().pages[0].base_loc)}
    lines = [objs[i].text for i in _tags(pkg)["ZZBS"]]
    assert "".join(lines) == str(draft.metadata.identifier)
    assert all(line.endswith(".") for line in lines[:-1]), lines


def test_a_short_portrait_face_uses_its_page() -> None:
    """Rows spread down a portrait page instead of leaving its lower half empty."""
    record = json.loads((RECORDS / "11100000000013338W001.json").read_text(encoding="utf-8-sig"))
    draft = collect(record, "11100000000013338W001", issuer=ISSUER, today=SIGNED_AT.date())
    pkg = OFDPackage.open(package(draft, signer(), at=SIGNED_AT))
    objs = _objects(pkg, pkg.document().pages[0].base_loc)
    (qr,) = [o for o in objs if o.kind == "ImageObject"]
    last_row = max(o.y + o.h for o in objs if o.kind == "TextObject" and o.y + o.h < qr.y)
    assert qr.y - last_row < 0.25 * 297, f"{qr.y - last_row:.0f} mm left empty above the QR code"


def _easyofd_pages(data: bytes, tmp_path: Path) -> list[Image.Image]:
    """Every page as easyofd draws it (greyscale, 150 dpi); page 1 only through a separate venv."""
    if not _in_process():
        return [easyofd_render(data, tmp_path)]
    import pymupdf

    with contextlib.redirect_stdout(io.StringIO()):
        pdf = _load_script().__globals__["render_pdf"](data)
    pages = []
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        for page in doc:  # easyofd's PDF has 200/25.4 units per mm (scripts/render_with_easyofd.py)
            pix = page.get_pixmap(matrix=pymupdf.Matrix(150 / 200, 150 / 200), alpha=False)
            pages.append(Image.open(io.BytesIO(pix.tobytes("png"))).convert("L"))
    return pages


@pytest.mark.slow
@pytest.mark.skipif(not _in_process() and _venv_python() is None, reason="easyofd is not available")
@pytest.mark.parametrize(("code", "qr"), CASES, ids=[f"{c}-{'qr' if q else 'noqr'}" for c, q in CASES])
def test_easyofd_draws_nothing_outside_the_border(
    issued: dict[tuple[str, bool], tuple[bytes, CertificateDraft]], code: str, qr: bool, tmp_path: Path
) -> None:
    data, _ = issued[(code, qr)]
    pkg = OFDPackage.open(data)
    pages = pkg.document().pages
    drawn = _easyofd_pages(data, tmp_path)
    assert len(drawn) in (1, len(pages))
    width = float(pkg.document().physical_box[2])  # type: ignore[index]
    for page, img in zip(pages, drawn, strict=False):
        objs = _objects(pkg, page.base_loc)
        outer = max((o for o in objs if o.kind == "PathObject"), key=lambda o: o.w * o.h)
        s = img.width / width
        pad = 1.2  # the outer border's own stroke (1.2 mm)
        box = (round((outer.x - pad) * s), round((outer.y - pad) * s),
               round((outer.x + outer.w + pad) * s), round((outer.y + outer.h + pad) * s))  # fmt: skip
        dark = img.point(lambda v: 255 if v < 128 else 0)
        total = dark.histogram()[255]
        ImageDraw.Draw(dark).rectangle(box, fill=0)
        assert total > 0 and dark.histogram()[255] == 0, (
            f"{page.base_loc}: easyofd draws ink outside the border"
        )
