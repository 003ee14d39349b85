"""From a certificate draft to its face: which values are shown, with which labels, in which order.

The face shows the certificate number, then the type's displayed data items in the order its
definition gives, then the validity period; the issuer's name and the issue date close it.  Each
shown value keeps the key CustomTags index it by: the pinyin key (ZZBH, CZZT, ...) for core
metadata, the item name (``KZ_*``) for the type's own items.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from PIL import Image

from ecert.errors import InputError, UnknownType
from ecert.layout import FaceField, FaceLayout, FaceSpec, ImageKind, layout_face
from ecert.metadata import CoreMetadata, DataItemText
from ecert.metadata.elements import pinyin_key

if TYPE_CHECKING:
    from ecert.catalog import CertificateType
    from ecert.catalog.model import FaceSpecData
    from ecert.collect import CertificateDraft

__all__ = [
    "chinese_date",
    "face_images",
    "face_layout",
    "face_layout_for",
    "face_pictures",
    "face_spec",
    "face_spec_for",
    "load_image",
    "validity_text",
]

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000
#: What pillow raises for a damaged or hostile image file, besides ``UnidentifiedImageError`` (an
#: OSError): its decoders report corruption as SyntaxError ("broken PNG file"), EOFError,
#: struct.error, IndexError, KeyError, TypeError or ValueError depending on the format and where the
#: damage is.  Catching them all is what turns any bad picture into one ``InputError``.
IMAGE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    EOFError,
    ValueError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    Image.DecompressionBombError,
)


def chinese_date(d: date) -> str:
    """2026年11月25日 — how dates are printed on Chinese certificates."""
    return f"{d.year}年{d.month}月{d.day}日"


def validity_text(valid_from: date | None, valid_until: date | None, long_term: bool) -> str:
    start = chinese_date(valid_from) if valid_from else ""
    end = "长期" if long_term else (chinese_date(valid_until) if valid_until else "")
    if start and end:
        return f"{start}至{end}"
    return start or end


def face_spec(
    draft: CertificateDraft, *, photo: bool = False, seal: bool = False, qr: bool = True
) -> FaceSpec:
    """The face of ``draft`` as data (see :mod:`ecert.layout` for the geometry)."""
    return face_spec_for(
        draft.metadata, draft.item_texts(), cert_type=draft.cert_type, photo=photo, seal=seal, qr=qr
    )


def face_spec_for(
    md: CoreMetadata,
    items: Sequence[DataItemText],
    *,
    cert_type: CertificateType | None = None,
    photo: bool = False,
    seal: bool = False,
    qr: bool = True,
) -> FaceSpec:
    """The face from metadata and item texts (as a certificate file carries them).

    Without ``cert_type`` the type is looked up in the default catalogue by its code; an
    unknown type shows every item, titled with the certificate name.
    """
    if cert_type is None:
        cert_type = _lookup_type(md.type_code)
    by_name = {i.name: i for i in items}
    order = displayed_item_names(cert_type) if cert_type is not None else [i.name for i in items]
    fields: list[FaceField] = []
    if md.number not in {i.value for i in items if i.name in order}:  # 营业执照: the number is the USCC row
        fields.append(FaceField(pinyin_key("number"), "证照编号", md.number))
    shown = {f.key for f in fields}
    for name in order:
        item = by_name.get(name)
        if item is None or not item.value:
            continue
        key = name if name.startswith("KZ_") else pinyin_key(name)
        if key in shown:
            continue
        shown.add(key)
        fields.append(FaceField(key, item.label, item.value))
    face = cert_type.face if cert_type is not None else None
    validity = validity_text(_validity_start(md, by_name, face), md.valid_until, md.long_term)
    if validity:
        fields.append(FaceField("ZZYXQ", face.validity_label if face is not None else "有效期限", validity))
    fields.append(FaceField(pinyin_key("identifier"), "证照标识", str(md.identifier)))
    return FaceSpec(
        title=(face.title if face is not None and face.title else None) or md.certificate_name,
        subtitle=face.subtitle if face is not None else "",
        fields=tuple(fields),
        issuer_name=md.issuer_name,
        issue_date_text=chinese_date(md.issue_date),
        orientation=face.orientation if face is not None else "portrait",
        qr=qr,
        photo=photo,
        seal=seal,
        issuer_label=face.issuer_label if face is not None else "",
    )


def _validity_start(
    md: CoreMetadata, items: Mapping[str, DataItemText], face: FaceSpecData | None
) -> date | None:
    """Where the shown period starts: the certificate's own start, or the date item the type names
    (a 营业执照's 营业期限 runs from its 成立日期)."""
    if face is None or face.validity_from is None or face.validity_from not in items:
        return md.valid_from
    text = items[face.validity_from].value  # shown as 2015年3月8日 (chinese_date) or ISO
    found = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text) or re.fullmatch(
        r"(\d{4})-(\d{2})-(\d{2})", text
    )
    try:
        return date(*(int(g) for g in found.groups())) if found else md.valid_from
    except ValueError:
        return md.valid_from


def _lookup_type(code: str) -> CertificateType | None:
    from ecert.catalog import default_catalog

    try:
        return default_catalog().get(code)
    except UnknownType:
        return None


def displayed_item_names(cert_type: CertificateType) -> list[str]:
    """Names of the items the type shows on its face, in the order its face definition gives."""
    return [item.name for item in cert_type.displayed_items]


def face_layout(
    draft: CertificateDraft, *, photo: bool = False, seal: bool = False, qr: bool = True
) -> FaceLayout:
    return layout_face(face_spec(draft, photo=photo, seal=seal, qr=qr))


def face_layout_for(
    md: CoreMetadata,
    items: Sequence[DataItemText],
    *,
    photo: bool = False,
    seal: bool = False,
    qr: bool = True,
) -> FaceLayout:
    return layout_face(face_spec_for(md, items, photo=photo, seal=seal, qr=qr))


def load_image(data: bytes, what: str) -> Image.Image:
    """Open a PNG/JPEG given by a caller (photo, seal), with size limits; errors name ``what``.

    Any file pillow cannot decode, however it fails (see :data:`IMAGE_ERRORS`), is an ``InputError``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(
            "not image bytes", where=what, value=type(data).__name__, expected="PNG or JPEG bytes"
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(
            "image too large", where=what, value=len(data), expected=f"at most {MAX_IMAGE_BYTES} bytes"
        )
    try:
        img = Image.open(io.BytesIO(data))
        if img.format not in ("PNG", "JPEG"):
            raise InputError("unsupported image format", where=what, value=img.format, expected="PNG or JPEG")
        if img.width * img.height > MAX_IMAGE_PIXELS:
            raise InputError("image has too many pixels", where=what, value=(img.width, img.height))
        img.load()
    except InputError:
        raise
    except IMAGE_ERRORS as exc:
        raise InputError(f"image cannot be read ({_reason(exc)})", where=what) from None
    return img


def _reason(exc: BaseException) -> str:
    """The exception's text, or its class name when it has none (e.g. a bare struct.error)."""
    return str(exc) or type(exc).__name__


def face_images(
    *, qr_payload: str | None = None, photo: bytes | None = None, seal: bytes | None = None
) -> Mapping[ImageKind, Image.Image]:
    """The pictures the face shows, as pillow images."""
    from ecert.qr.image import OFFLINE_MAX_VERSION, qr_image

    images: dict[ImageKind, Image.Image] = {}
    if qr_payload is not None:  # the face carries the offline payload: version 15-M at most (spec/qr.md)
        symbol = qr_image(qr_payload, module_px=4, max_version=OFFLINE_MAX_VERSION)
        images["qr"] = symbol.convert("1", dither=Image.Dither.NONE)  # a 1-bit PNG: 8x less to deflate
    if photo is not None:
        images["photo"] = load_image(photo, "photo")
    if seal is not None:
        images["seal"] = load_image(seal, "seal image")
    return images


def face_pictures(
    *, qr_payload: str | None = None, photo: bytes | None = None, seal: bytes | None = None
) -> dict[ImageKind, bytes]:
    """The pictures the face shows as the PNG files an OFD page carries.

    The QR code is written from its modules as a 1-bit PNG (:func:`ecert.qr.image.qr_png`, 4 pixels a
    module, version 15-M at most: spec/qr.md) without going through an image; photo and seal are
    decoded with their limits (:func:`load_image`) and written again as PNG.
    """
    from ecert.png import png_bytes
    from ecert.qr.image import OFFLINE_MAX_VERSION, qr_png

    pictures: dict[ImageKind, bytes] = {}
    if qr_payload is not None:
        pictures["qr"] = qr_png(qr_payload, module_px=4, max_version=OFFLINE_MAX_VERSION)
    if photo is not None:
        pictures["photo"] = png_bytes(load_image(photo, "photo"))
    if seal is not None:
        pictures["seal"] = png_bytes(load_image(seal, "seal image"))
    return pictures
