"""Packaging (GB/T 36905): a certificate draft as a signed OFD file.

The file holds:

* one page drawn from the face layout (:mod:`ecert.face`, :mod:`ecert.layout`) — title, each
  displayed item with its Chinese label, issuer name, issue date, the offline QR code, and the
  holder photo and seal image when given;
* the core metadata and all data items as an XML attachment (``ecert-certificate``, valid
  against ``spec/certificate.xsd``);
* the core metadata in ``DocInfo/CustomDatas`` (pinyin keys, as real systems read them);
* ``CustomTags`` indexing each metadata element and item to the text objects that show it
  (GB/T 36905 数据索引, GB/T 33190 §16);
* an OFD signature (``Type="Sign"``) whose References cover every file, with a CMS SignedData
  carrying the signer certificate as ``SignedValue.dat``.

The output is deterministic for the same draft, issuer and signing time, except for the
randomness of SM2/ECDSA signatures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ecert._callable import make_callable
from ecert.collect import CertificateDraft
from ecert.crypto import cms
from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.digests import DigestAlgorithm, sm3
from ecert.crypto.signer import Signer
from ecert.errors import EcertError, InputError
from ecert.face import face_pictures, face_spec_for
from ecert.layout import FaceLayout, char_em, layout_face, text_width
from ecert.metadata import Authority, CoreMetadata, elements
from ecert.metadata.document import ATTACHMENT_NAME, DataItemText, certificate_xml
from ecert.ofd import model as ofd
from ecert.ofd import xmltext
from ecert.ofd.namespaces import OFD_NS
from ecert.ofd.reader import OFDPackage
from ecert.ofd.signatures import Provider, prepare_signature
from ecert.ofd.writer import build_zip, document_entries
from ecert.qr.offline import make_offline

__all__ = ["PROVIDER", "Issuer", "build_unsigned", "file_name", "package", "sign_package", "signer_authority"]

PROVIDER = Provider(name="ecert", version="0.1.0", company="ecert")
TAG_NAMESPACE = "urn:ecert:tags:1"
TAG_TYPE = "ecert-certificate"


@dataclass(frozen=True, slots=True)
class Issuer:
    """Who issues: the department's signer (key + certificate) and, optionally, its seal image.

    ``cms=False`` writes the bare DER ``SEQUENCE{r, s}`` that ofdrw writes instead of a CMS
    SignedData; verifiers then need the signer certificate in their trust store.
    """

    signer: Signer
    seal_image: bytes | None = None
    cms: bool = True

    def __post_init__(self) -> None:
        _check_form(self.signer, self.cms)


def _check_form(signer: Signer, cms: bool) -> None:
    """The bare form is the DER ``SEQUENCE{r, s}`` of an elliptic-curve signature: an Ed25519
    signature has no such form, so a file written that way could never verify (refused here)."""
    if not cms and signer.algorithm is SignatureAlgorithm.ED25519:
        raise InputError(
            "an Ed25519 signer cannot write the bare signature form", where="Issuer.cms",
            value=False, expected="cms=True (a CMS SignedData) for Ed25519, or an SM2 / P-256 key",
        )


def signer_authority(signer: Signer) -> Authority | None:
    """The issuing authority a department certificate names (O and organizationIdentifier), or None.

    A department issues in its own name: when its certificate says who it is, that overrides the
    issuer fields of a source record (verification checks that the two agree).

    :param signer: the department's signer.
    :returns: the authority, or ``None`` when the certificate does not name one.
    """
    cert = signer.certificate
    codes, names = cert.organization_codes(), cert.subject_attribute("2.5.4.10")
    if len(codes) != 1 or not names:
        return None
    try:
        return Authority(names[0], next(iter(codes)))
    except EcertError:
        return None


def _check_issuer(metadata: CoreMetadata, signer: Signer) -> None:
    """Refuse to sign for another authority: a department certificate that names its organisation
    code signs only certificates issued under that code (verification fails the file otherwise,
    so it is better never made).  Certificates naming no code are left to the verifier's warning."""
    codes = signer.certificate.organization_codes()
    if codes and metadata.issuer_code not in codes:
        raise InputError(
            "the signer certificate belongs to another issuing authority",
            where="issuer code (颁证单位代码)",
            value=metadata.issuer_code,
            expected=f"{' or '.join(sorted(codes))}, as the signer certificate names "
            "(collect with issuer=signer_authority(signer))",
        )


def file_name(metadata: CoreMetadata) -> str:
    """``<identifier>.ofd`` (GB/T 36905: the file is named after the certificate identifier).

    :param metadata: the certificate's metadata.
    :returns: the file name.
    """
    return f"{metadata.identifier}.ofd"


def _digest_for(algorithm: SignatureAlgorithm) -> DigestAlgorithm:
    return DigestAlgorithm.SM3 if algorithm is SignatureAlgorithm.SM2_SM3 else DigestAlgorithm.SHA256


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC).replace(microsecond=0)
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError("signing time must be timezone-aware", where="at", value=at.isoformat())
    return at


def build_unsigned(
    draft: CertificateDraft,
    *,
    qr_payload: str | None,
    photo: bytes | None = None,
    seal_image: bytes | None = None,
) -> bytes:
    """The OFD package without its signature (the layout, XML and resources of :func:`package`).

    :param draft: the collected certificate.
    :param qr_payload: the QR code's text, or ``None`` for a face without one.
    :param photo: the holder's photo (image bytes).
    :param seal_image: the department's seal picture (image bytes).
    :returns: the unsigned OFD bytes.
    """
    unsigned = _unsigned(draft, qr_payload=qr_payload, photo=photo, seal_image=seal_image)
    return build_zip(unsigned.entries.items())


def _unsigned(
    draft: CertificateDraft, *, qr_payload: str | None, photo: bytes | None, seal_image: bytes | None
) -> OFDPackage:
    """The unsigned package as entries: the signer reads them directly (no ZIP written and re-read)."""
    pictures = face_pictures(qr_payload=qr_payload, photo=photo, seal=seal_image)  # refuses bad images
    items = draft.item_texts()  # the face and the certificate document show the same items
    spec = face_spec_for(draft.metadata, items, cert_type=draft.cert_type, photo=photo is not None,
                         seal=seal_image is not None, qr=qr_payload is not None)  # = face_spec(draft, ...)
    resources = {str(kind): data for kind, data in pictures.items()}
    return OFDPackage.from_entries(document_entries(_document(draft, layout_face(spec), resources, items)))


def _document(
    draft: CertificateDraft,
    layout: FaceLayout,
    resources: Mapping[str, bytes],
    items: Sequence[DataItemText] | None = None,
) -> ofd.Document:
    md = draft.metadata
    if items is None:
        items = draft.item_texts()
    regular, bold = (
        ofd.Font(id=1, font_name="SimSun", family_name="宋体"),
        ofd.Font(id=2, font_name="SimHei", family_name="黑体"),
    )
    kinds = sorted(resources)
    images = tuple(ofd.Image(id=3 + i, data=resources[kind], format="PNG") for i, kind in enumerate(kinds))
    image_ids = {kind: img.id for kind, img in zip(kinds, images, strict=True)}
    next_id = iter(range(10, 1_000_000))
    tags: dict[str, list[tuple[int, int]]] = {}  # element -> (page index, object id) of what shows it
    pages = tuple(
        ofd.Page(_page_objects(page, n, next_id, image_ids, (regular.id, bold.id), tags))
        for n, page in enumerate(layout.pages)
    )
    created = md.issue_date.isoformat()
    document = ofd.Document(
        doc_info=ofd.DocInfo(
            doc_id=sm3(str(md.identifier).encode()).hex()[:32],
            creation_date=created,
            title=f"{md.certificate_name} {md.number}",
            author=md.issuer_name,
            creator="ecert",
            creator_version="0.1.0",
            custom_datas=tuple((e.key, e.text) for e in elements(md)),
        ),
        pages=pages,
        fonts=(regular, bold),
        images=images,
        attachments=(
            ofd.Attachment(
                name=ATTACHMENT_NAME,
                data=certificate_xml(md, items),
                format="xml",
                creation_date=created,
            ),
        ),
        page_size=(layout.width, layout.height),
    )
    page_ids = [document.page_id(n) for n in range(len(pages))]
    index = ofd.CustomTagFile(type_id=TAG_TYPE, xml=_tag_xml(tags, page_ids), namespace=TAG_NAMESPACE)
    return dataclasses.replace(document, custom_tags=(index,))


_NOT_DATA = ("subtitle", "continued", "page_number")  # texts that show no metadata element


def _page_objects(
    layout: FaceLayout,
    page: int,
    next_id: Iterator[int],
    image_ids: Mapping[str, int],
    fonts: tuple[int, int],
    tags: dict[str, list[tuple[int, int]]],
) -> tuple[ofd.PageObject, ...]:
    """The OFD objects of one page of the face; the data texts are indexed in ``tags``."""
    regular, bold = fonts
    objects: list[ofd.PageObject] = []
    for rule in layout.rules:
        w, h = rule.width, rule.height
        if rule.rectangle:
            boundary = (rule.x, rule.y, w, h)
            path = f"M 0 0 L {w:g} 0 L {w:g} {h:g} L 0 {h:g} C"
        else:  # a straight line has a zero side; an ST_Box needs w, h > 0 and clips, so pad by the pen
            pad = rule.line_width / 2
            boundary = (rule.x - pad, rule.y - pad, w + 2 * pad, h + 2 * pad)
            path = f"M {pad:g} {pad:g} L {w + pad:g} {h + pad:g}"
        objects.append(
            ofd.PathObject(
                id=next(next_id),
                boundary=boundary,
                data=path,
                stroke=rule.colour,
                line_width=rule.line_width,
            )
        )
    for box in layout.images:
        if box.kind in image_ids:
            objects.append(
                ofd.ImageObject(
                    id=next(next_id),
                    boundary=(box.x, box.y, box.width, box.height),
                    resource=image_ids[box.kind],
                )
            )
    for text in layout.texts:
        obj_id = next(next_id)
        x = 0.0
        if text.align != "left":  # centred or right-aligned in its box
            offset = max(0.0, text.width - text_width(text.text, text.size))
            x = offset / 2 if text.align == "center" else offset
        objects.append(
            ofd.TextObject(
                id=obj_id,
                boundary=(text.x, text.y, text.width, text.height),
                font=bold if text.bold else regular,
                size=text.size,
                text=text.text,
                x=x,
                y=text.baseline - text.y,
                # advances per character: without DeltaX, readers stack the glyphs (GB/T 33190 §11.3)
                delta_x=tuple([em * text.size for em in map(char_em, text.text[:-1])]) or None,
            )
        )
        if not text.is_label and text.key not in _NOT_DATA:
            tags.setdefault(text.key, []).append((page, obj_id))
    return tuple(objects)


def _tag_xml(tags: dict[str, list[tuple[int, int]]], page_ids: list[int]) -> bytes:
    """The GB/T 36905 data index: each shown element -> the text objects on the pages that show it.

    Written as text: the bytes lxml serialises for the same elements (tests/test_package_tag_text)."""
    if not tags:
        return (_TAG_OPEN[:-1] + "/>").encode()
    out = [_TAG_OPEN]
    for key, ids in sorted(tags.items()):
        out.append(f'<ecert:Element Name="{xmltext.attribute(key, "data index")}">')
        out += (f'<ofd:ObjectRef PageRef="{page_ids[page]}">{obj_id}</ofd:ObjectRef>' for page, obj_id in ids)
        out.append("</ecert:Element>")
    out.append("</ecert:Certificate>")
    return "".join(out).encode()


_TAG_OPEN = ("<?xml version='1.0' encoding='UTF-8'?>\n"
             f'<ecert:Certificate xmlns:ecert="{TAG_NAMESPACE}" xmlns:ofd="{OFD_NS}">')


def sign_package(unsigned: bytes | OFDPackage, issuer: Issuer, *, at: datetime | None = None) -> bytes:
    """Add an OFD signature (``Type="Sign"``) covering every file of ``unsigned``.

    :param unsigned: the OFD package to sign.
    :param issuer: the department that signs.
    :param at: signing time (timezone-aware; default now).
    :returns: the signed OFD bytes.
    """
    when = _aware(at)
    signer = issuer.signer
    prepared = prepare_signature(
        unsigned,
        signature_type="Sign",
        provider=PROVIDER,
        signature_method_oid=signer.algorithm.oid,
        digest=_digest_for(signer.algorithm),
        signing_time=when,
    )
    _check_form(signer, issuer.cms)
    if issuer.cms:
        value = cms.sign_cms(prepared.to_be_signed, signer, detached=True, signing_time=when)
    else:
        value = signer.sign(prepared.to_be_signed)
    return prepared.finish(value)


def package(
    draft: CertificateDraft,
    issuer: Issuer | Signer,
    *,
    at: datetime | None = None,
    photo: bytes | None = None,
    qr: bool = True,
) -> bytes:
    """The signed OFD file of ``draft``: face page, metadata attachment, index, signature.

    :param draft: the collected certificate.
    :param issuer: the department (key, certificate, seal picture), or just its signer.
    :param at: signing time (timezone-aware; default now).
    :param photo: the holder's photo (image bytes).
    :param qr: print the offline QR code on the face.
    :returns: the signed OFD file's bytes.
    :raises InputError: when the signer may not issue for the draft's issuer, or for a naive ``at``.
    :raises InvalidQRPayload: when even abridged names leave the QR code over its budget.
    """
    if isinstance(issuer, Signer):
        issuer = Issuer(issuer)
    _check_issuer(draft.metadata, issuer.signer)
    payload = None
    if qr:  # face_pictures() builds the symbol once and refuses one above the budget (spec/qr.md)
        payload = make_offline(draft.metadata, issuer.signer, at=at)
    unsigned = _unsigned(draft, qr_payload=payload, photo=photo, seal_image=issuer.seal_image)
    return sign_package(unsigned, issuer, at=at)


# ``ecert.package(...)`` calls package() whether ``ecert.package`` was reached as the module or the function.
make_callable(__name__, package)
