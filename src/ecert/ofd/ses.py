# mypy: disallow-subclassing-any=False
# (asn1crypto ships no type information, so its ASN.1 base classes are Any to mypy)
"""Electronic seals (SESeal) and seal signatures (SES_Signature): GB/T 38540-2020 (version 4) and
GM/T 0031-2014 (versions 1-3), as real seal systems write them.

The two layouts differ in structure, and files exist that use the 2014 layout while saying
version 4, so the layout is chosen by the structure, never by the version number:

* SES_Signature: v4 ``SEQUENCE{toSign, cert OCTET STRING, signatureAlgID, signature, [0] timeStamp}``;
  2014 ``SEQUENCE{toSign, signature BIT STRING}`` with the signer certificate and algorithm
  inside ``TBS_Sign`` and ``timeInfo`` a BIT STRING (the time as text) or a time;
* SESeal: v4 ``SEQUENCE{esealInfo, cert, signAlgID, signedValue}``, the maker signing the DER of
  ``SES_SealInfo``; 2014 ``SEQUENCE{esealInfo, signInfo SEQUENCE{cert, signatureAlgorithm,
  signData}}``, the maker signing the DER of ``SEQUENCE{esealInfo, cert, signatureAlgorithm}``;
* SES_ESPropertyInfo: v4 has ``certListType`` before the list, 2014 a plain SEQUENCE OF OCTET STRING.

The input first passes the bounded BER walk (:func:`ecert.crypto.der.check_bounds`), then the
elements are split by hand; the exact bytes each signature covers are kept as they appear.
What real producers write beside the standard is read and recorded in ``notes`` rather than
refused: times without a zone (read as China time, as ``SignatureDateTime`` is), ``extDatas``
under ``[0]``, BIT STRINGs with trimmed trailing zero bits.  A seal that cannot be read or used
does not hide the signer: :class:`SesSignature` keeps the signer's certificate, signature and
data hash, with ``seal`` None and ``seal_problem`` saying why.

The asn1crypto classes below declare the v4 structures (for writers and tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

from asn1crypto import core

from ecert.crypto.der import check_bounds, parser_reason
from ecert.errors import EcertError, InputError, InvalidPackage
from ecert.times import CHINA_STANDARD_TIME

__all__ = ["LAYOUT_2014", "LAYOUT_V4", "SES_VERSION", "SealInfo", "SesSignature", "parse_seal"]

SES_VERSION = 4  # GB/T 38540-2020; GM/T 0031-2014 seals carry version 1..3 (structure differs)
LAYOUT_V4 = "GB/T 38540-2020"
LAYOUT_2014 = "GM/T 0031-2014"
CERT_LIST = 1  # SES_ESPropertyInfo.certListType: 1 = certificates, 2 = certificate digests
CERT_DIGEST_LIST = 2


class _Time(core.Choice):
    _alternatives = [("general", core.GeneralizedTime), ("utc", core.UTCTime)]  # noqa: RUF012


class SESHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]  # noqa: RUF012


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]  # noqa: RUF012


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class SESESPropertyInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),  # CHOICE of CertInfoList / CertDigestList, chosen by cert_list_type
        ("create_date", _Time),
        ("valid_start", _Time),
        ("valid_end", _Time),
    ]


class SESESPictureInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


class ExtData(core.Sequence):
    _fields = [  # noqa: RUF012
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SESSealInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("header", SESHeader),
        ("es_id", core.IA5String),
        ("property", SESESPropertyInfo),
        ("picture", SESESPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESeal(core.Sequence):
    _fields = [  # noqa: RUF012
        ("e_seal_info", SESSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TBSSign(core.Sequence):
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("eseal", SESeal),
        ("time_info", _Time),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESSignature(core.Sequence):
    _fields = [  # noqa: RUF012
        ("to_sign", TBSSign),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


@dataclass(frozen=True, slots=True)
class SealInfo:
    """An electronic seal (``SESeal``): who made it, for whom, when valid, its picture.

    ``cert_list_type`` is 1 (certificates, and always for the 2014 layout) or 2 (digests); another
    value is kept as read (a seal outside the standard: verification calls it unusable)."""

    header_id: str
    header_version: int
    header_vid: str
    es_id: str
    type: int
    name: str
    cert_list_type: int
    certs: tuple[bytes, ...]  # certListType 1: certificates (DER) allowed to use the seal
    cert_digests: tuple[tuple[str, bytes], ...]  # certListType 2: (digest type, digest)
    created: datetime
    valid_start: datetime
    valid_end: datetime
    picture_type: str
    picture_data: bytes
    picture_width: int
    picture_height: int
    maker_cert_der: bytes
    sign_alg_oid: str
    signed_value: bytes
    seal_tbs_der: bytes  # the exact bytes the seal maker signed
    seal_der: bytes  # exact DER of the whole SESeal
    layout: str = LAYOUT_V4
    notes: tuple[str, ...] = ()  # encodings read beside the standard


@dataclass(frozen=True, slots=True)
class SesSignature:
    """A seal signature (``SES_Signature``): the seal, the signed data hash and the signer's signature.

    ``seal`` is None when the seal inside cannot be read (``seal_problem`` says why): the signer's
    certificate and signature are still there to be checked.  ``time_info`` is None when the
    2014 ``timeInfo`` holds something other than a time (a time-stamp token)."""

    version: int
    seal: SealInfo | None
    time_info: datetime | None
    data_hash: bytes
    property_info: str
    signer_cert_der: bytes
    signature_alg_oid: str
    signature: bytes
    time_stamp: bytes | None
    tbs_der: bytes  # exact bytes of TBS_Sign (what the signer signed)
    layout: str = LAYOUT_V4
    seal_problem: str | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, der: bytes) -> SesSignature:
        """Parse a seal signature of either layout; ``InvalidPackage`` naming the field when malformed."""
        return _guard("SES_Signature", der, lambda: _signature(bytes(der)))


def parse_seal(der: bytes) -> SealInfo:
    """Parse a stand-alone ``SESeal`` (e.g. an OFD ``Seal.esl`` file), of either layout."""
    return _guard("SESeal", der, lambda: _seal(_Element.whole(bytes(der), "SESeal"), []))


_T = TypeVar("_T")


def _guard(what: str, der: bytes, fn: Callable[[], _T]) -> _T:
    if not isinstance(der, bytes | bytearray):
        raise InvalidPackage(f"{what} must be bytes", value=type(der).__name__)
    try:
        check_bounds(bytes(der), what=what)  # linear, before anything else reads it
        return fn()
    except InputError as exc:
        if isinstance(exc, InvalidPackage):
            raise
        raise InvalidPackage(str(exc), where=what) from None
    except EcertError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError, UnicodeError) as exc:
        raise InvalidPackage(f"malformed {what}: {parser_reason(exc)}", where=what) from None


# --- elements --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Element:
    """One definite-length element: its first identifier octet, exact bytes and contents."""

    tag: int
    raw: bytes
    contents: bytes
    path: str

    @classmethod
    def whole(cls, data: bytes, path: str) -> _Element:
        items = _split(data, path)
        if len(items) != 1:
            raise InvalidPackage("not one element", where=path)
        return items[0]

    def children(self, minimum: int = 0) -> list[_Element]:
        if not self.tag & 0x20:
            raise InvalidPackage("a constructed element (SEQUENCE) is expected", where=self.path,
                                 value=f"tag 0x{self.tag:02x}")
        items = _split(self.contents, self.path)
        if len(items) < minimum:
            raise InvalidPackage(f"{len(items)} elements, at least {minimum} expected", where=self.path)
        return items

    def expect(self, *tags: int, name: str) -> _Element:
        if self.tag not in tags:
            raise InvalidPackage(f"{name} has tag 0x{self.tag:02x}", where=self.path,
                                 expected=" or ".join(f"0x{t:02x}" for t in tags))
        return self


def _split(data: bytes, path: str) -> list[_Element]:
    """The elements of ``data``, one after another (the bounded walk already checked the nesting)."""
    out: list[_Element] = []
    pos = 0
    while pos < len(data):
        start = pos
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:
            while data[pos] & 0x80:
                pos += 1
            pos += 1
        first = data[pos]
        pos += 1
        if first == 0x80:
            raise InvalidPackage("indefinite length (BER) inside a seal", where=path,
                                 expected="definite lengths")
        if first > 0x80:
            count = first & 0x7F
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        else:
            length = first
        end = pos + length
        if end > len(data):
            raise InvalidPackage("element runs past its enclosing element", where=path)
        out.append(_Element(tag, data[start:end], data[pos:end], f"{path}[{len(out)}]"))
        pos = end
    return out


def _integer(el: _Element, name: str) -> int:
    el.expect(0x02, name=name)
    if not el.contents:
        raise InvalidPackage(f"{name} is empty", where=el.path)
    return int.from_bytes(el.contents, "big", signed=True)


_STRINGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x1A: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be"}


def _text(el: _Element, name: str) -> str:
    encoding = _STRINGS.get(el.tag)
    if encoding is None:
        raise InvalidPackage(f"{name} is not a character string", where=el.path, value=f"tag 0x{el.tag:02x}")
    try:
        return el.contents.decode(encoding)
    except UnicodeDecodeError:
        raise InvalidPackage(f"{name} is not valid {encoding}", where=el.path) from None


def _octets(el: _Element, name: str) -> bytes:
    return el.expect(0x04, name=name).contents


def _oid(el: _Element, name: str) -> str:
    el.expect(0x06, name=name)
    try:
        return str(core.ObjectIdentifier.load(el.raw).dotted)
    except ValueError:
        raise InvalidPackage(f"{name} is not an object identifier", where=el.path) from None


def _bits(el: _Element, name: str, notes: list[str]) -> bytes:
    """The octets of a BIT STRING.  Trailing zero bits trimmed by the writer (a non-zero unused-bits
    count) are read as the zero bits they stand for, and noted."""
    el.expect(0x03, name=name)
    if not el.contents or el.contents[0] > 7:
        raise InvalidPackage(f"{name} is not a BIT STRING", where=el.path)
    unused, octets = el.contents[0], el.contents[1:]
    if unused:
        notes.append(f"{name}: BIT STRING with {unused} trailing bits trimmed")
    return octets


def _signature_octets(value: bytes, name: str, notes: list[str]) -> bytes:
    """A signature value; a DER SEQUENCE{r, s} missing its trailing zero octets (a writer that trimmed
    the BIT STRING's zero bits) gets them back: the SEQUENCE's own length says how many."""
    if len(value) > 2 and value[0] == 0x30 and value[1] < 0x80 and 0 < value[1] + 2 - len(value) <= 4:
        missing = value[1] + 2 - len(value)
        notes.append(f"{name}: {missing} trailing zero octet(s) restored")
        return value + bytes(missing)
    return value


# --- times -----------------------------------------------------------------------------------------


def _time(el: _Element, name: str, notes: list[str]) -> datetime:
    if el.tag not in (0x17, 0x18):
        raise InvalidPackage(f"{name} is not a time", where=el.path, value=f"tag 0x{el.tag:02x}")
    try:
        text = el.contents.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidPackage(f"{name} is not a time", where=el.path) from None
    return _parse_time(text, el.tag == 0x17, name, el.path, notes)


def _parse_time(text: str, utc_time: bool, name: str, where: str, notes: list[str]) -> datetime:
    """UTCTime ``YYMMDDhhmm[ss]`` or GeneralizedTime ``YYYYMMDDhhmmss[.f]``, then ``Z``, ``±hhmm`` or
    nothing: a time without a zone is China time (what Chinese producers mean, as for
    SignatureDateTime), and noted."""
    body, zone = text, None
    if body.endswith("Z"):
        body, zone = body[:-1], UTC
    elif len(body) > 5 and body[-5] in "+-" and body[-4:].isdigit():
        sign = 1 if body[-5] == "+" else -1
        zone = timezone(sign * timedelta(hours=int(body[-4:-2]), minutes=int(body[-2:])))
        body = body[:-5]
    fraction = 0
    if not utc_time and "." in body:
        body, _, frac = body.partition(".")
        if not frac.isdigit():
            raise InvalidPackage(f"{name} has a malformed fraction", where=where, value=text)
        fraction = int((frac + "000000")[:6])
    try:
        if utc_time:
            if len(body) not in (10, 12) or not body.isdigit():
                raise ValueError(text)
            year = int(body[:2])
            year += 2000 if year < 50 else 1900  # RFC 5280 §4.1.2.5.1
            when = datetime(year, int(body[2:4]), int(body[4:6]), int(body[6:8]), int(body[8:10]),
                            int(body[10:12] or 0), tzinfo=zone or CHINA_STANDARD_TIME)
        else:
            if len(body) != 14 or not body.isdigit():
                raise ValueError(text)
            when = datetime(int(body[:4]), int(body[4:6]), int(body[6:8]), int(body[8:10]),
                            int(body[10:12]), int(body[12:14]), fraction, tzinfo=zone or CHINA_STANDARD_TIME)
    except ValueError:
        raise InvalidPackage(f"{name} is not a valid time", where=where, value=text,
                             expected="YYYYMMDDhhmmss (GeneralizedTime) or YYMMDDhhmmss (UTCTime), "
                             "with Z, an offset or no zone") from None
    if zone is None:
        notes.append(f"{name}: time without a zone, read as China time (UTC+8)")
    return when


def _time_info(el: _Element, notes: list[str]) -> datetime | None:
    """TBS_Sign.timeInfo: a time, or (GM/T 0031-2014) a BIT STRING holding the time as text or a
    time-stamp token (None: the time is then SignatureDateTime's)."""
    if el.tag in (0x17, 0x18):
        return _time(el, "timeInfo", notes)
    text_bytes = _bits(el, "timeInfo", notes)
    try:
        text = text_bytes.decode("ascii").strip()
    except UnicodeDecodeError:
        notes.append("timeInfo: not a time (a time-stamp token?); the signing time is SignatureDateTime")
        return None
    if not text[:12].isdigit():
        notes.append("timeInfo: not a time (a time-stamp token?); the signing time is SignatureDateTime")
        return None
    digits = len(text.rstrip("Z").split("+")[0].split("-")[0].split(".")[0])
    return _parse_time(text, digits in (10, 12), "timeInfo", el.path, notes)


# --- SES_Signature -----------------------------------------------------------------------------------


def _signature(der: bytes) -> SesSignature:
    top = _Element.whole(der, "SES_Signature").expect(0x30, name="SES_Signature")
    parts = top.children(2)
    notes: list[str] = []
    tbs = parts[0].expect(0x30, name="TBS_Sign")
    fields = tbs.children(5)
    version = _integer(fields[0], "TBS_Sign.version")
    time_stamp = None
    if parts[1].tag == 0x03 and len(parts) == 2:  # GM/T 0031-2014: the certificate is inside TBS_Sign
        layout = LAYOUT_2014
        if len(fields) < 7:
            raise InvalidPackage("TBS_Sign of the 2014 layout has fewer than 7 elements", where=tbs.path)
        signer_cert = _octets(fields[5], "TBS_Sign.cert")
        algorithm = _oid(fields[6], "TBS_Sign.signatureAlgorithm")
        value = _bits(parts[1], "signature", notes)
        time_info = _time_info(fields[2], notes)
    elif parts[1].tag == 0x04 and len(parts) in (4, 5):
        layout = LAYOUT_V4
        signer_cert = _octets(parts[1], "SES_Signature.cert")
        algorithm = _oid(parts[2], "SES_Signature.signatureAlgID")
        value = _bits(parts[3], "signature", notes)
        if len(parts) == 5:
            stamp = parts[4].expect(0xA0, name="timeStamp")
            time_stamp = stamp.contents
        if len(fields) > 6:
            raise InvalidPackage("TBS_Sign has more than 6 elements", where=tbs.path)
        if len(fields) == 6:
            fields[5].expect(0x30, 0xA0, name="TBS_Sign.extDatas")  # ofdrw and real seals write [0]
        time_info = _time(fields[2], "timeInfo", notes)
    else:
        raise InvalidPackage("neither the GB/T 38540 nor the GM/T 0031-2014 structure", where=top.path,
                             expected="SEQUENCE{TBS_Sign, cert, signatureAlgID, signature[, [0]]} "
                             "or SEQUENCE{TBS_Sign, signature}")
    data_hash = _bits(fields[3], "dataHash", notes)
    property_info = _text(fields[4], "propertyInfo")
    seal: SealInfo | None = None
    problem: str | None = None
    try:
        seal = _seal(fields[1], [])
    except (EcertError, ValueError, IndexError, UnicodeError) as exc:
        problem = str(exc)
    return SesSignature(
        version=version, seal=seal, time_info=time_info, data_hash=data_hash,
        property_info=property_info, signer_cert_der=signer_cert, signature_alg_oid=algorithm,
        signature=_signature_octets(value, "signature", notes), time_stamp=time_stamp,
        tbs_der=tbs.raw, layout=layout, seal_problem=problem, notes=tuple(notes),
    )


# --- SESeal ---------------------------------------------------------------------------------------------


def _seal(seal: _Element, notes: list[str]) -> SealInfo:
    seal.expect(0x30, name="SESeal")
    parts = seal.children(2)
    info = parts[0].expect(0x30, name="SES_SealInfo")
    if parts[1].tag == 0x04 and len(parts) == 4:  # GB/T 38540: the maker signs SES_SealInfo
        layout = LAYOUT_V4
        maker, algorithm_el, value_el = parts[1], parts[2], parts[3]
        signed = info.raw
    elif parts[1].tag == 0x30 and len(parts) == 2:  # GM/T 0031-2014: SES_SignInfo
        layout = LAYOUT_2014
        maker, algorithm_el, value_el = parts[1].children(3)[:3]
        body = info.raw + maker.raw + algorithm_el.raw
        signed = b"\x30" + _length(len(body)) + body  # SEQUENCE{esealInfo, cert, signatureAlgorithm}
    else:
        raise InvalidPackage("neither the GB/T 38540 nor the GM/T 0031-2014 seal structure", where=seal.path)
    header_el, es_id_el, prop_el, picture_el = info.children(4)[:4]
    header = header_el.expect(0x30, name="SES_Header").children(3)
    prop = prop_el.expect(0x30, name="SES_ESPropertyInfo").children(6)
    kind, name = _integer(prop[0], "property.type"), _text(prop[1], "property.name")
    certs: tuple[bytes, ...] = ()
    digests: tuple[tuple[str, bytes], ...] = ()
    if prop[2].tag == 0x02:  # GB/T 38540: certListType, certList
        if len(prop) < 7:
            raise InvalidPackage("SES_ESPropertyInfo has fewer than 7 elements", where=prop_el.path)
        list_type = _integer(prop[2], "certListType")
        listed, dates = prop[3], prop[4:7]
        if list_type == CERT_DIGEST_LIST:
            pairs = [d.children(2) for d in listed.children()]
            digests = tuple((_text(t, "CertDigestObj.type"), _octets(v, "CertDigestObj.value"))
                            for t, v, *_ in pairs)
        elif listed.tag == 0x30:  # certificates (type 1, and non-standard types that list them)
            certs = tuple(_octets(c, "certList entry") for c in listed.children())
    else:  # GM/T 0031-2014: certList SEQUENCE OF OCTET STRING
        list_type = CERT_LIST
        certs = tuple(_octets(c, "certList entry") for c in prop[2].expect(0x30, name="certList").children())
        dates = prop[3:6]
    picture = picture_el.expect(0x30, name="SES_ESPictureInfo").children(4)
    return SealInfo(
        header_id=_text(header[0], "header.id"),
        header_version=_integer(header[1], "header.version"),
        header_vid=_text(header[2], "header.vid"),
        es_id=_text(es_id_el, "esID"),
        type=kind,
        name=name,
        cert_list_type=list_type,
        certs=certs,
        cert_digests=digests,
        created=_time(dates[0], "createDate", notes),
        valid_start=_time(dates[1], "validStart", notes),
        valid_end=_time(dates[2], "validEnd", notes),
        picture_type=_text(picture[0], "picture.type"),
        picture_data=_octets(picture[1], "picture.data"),
        picture_width=_integer(picture[2], "picture.width"),
        picture_height=_integer(picture[3], "picture.height"),
        maker_cert_der=_octets(maker, "maker cert"),
        sign_alg_oid=_oid(algorithm_el, "seal signature algorithm"),
        signed_value=_signature_octets(_bits(value_el, "seal signedValue", notes), "seal signedValue", notes),
        seal_tbs_der=signed,
        seal_der=seal.raw,
        layout=layout,
        notes=tuple(notes),
    )


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets
