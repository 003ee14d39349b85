# mypy: disallow-subclassing-any=False
# (asn1crypto ships no type information, so its ASN.1 base classes are Any to mypy)
"""GB/T 38540-2020 electronic seals (SESeal) and seal signatures (SES_Signature, version 4).

The ASN.1 is declared with asn1crypto (field names follow the standard).  Parsing is forced
to completion inside a guard, so malformed DER raises ``InvalidPackage`` and never an
asn1crypto exception.  The exact DER of ``TBS_Sign`` and of ``SES_SealInfo`` is kept as it
appears in the input: those are the bytes the signer and the seal maker signed.
Version 1 (GM/T 0031-2014) is recognised and refused with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from asn1crypto import core

from ecert.crypto.der import check_bounds
from ecert.errors import EcertError, InputError, InvalidPackage

__all__ = ["SES_VERSION", "SealInfo", "SesSignature", "parse_seal"]

SES_VERSION = 4  # GB/T 38540-2020; GM/T 0031-2014 seals carry version 1..3 (structure differs)
_CERT_LIST = 1  # SES_ESPropertyInfo.certListType: 1 = certificates, 2 = certificate digests
_CERT_DIGEST_LIST = 2


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
    """A GB/T 38540 seal (``SESeal``): who made it, for whom, when valid, its picture."""

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
    seal_tbs_der: bytes  # exact DER of SES_SealInfo (signed by the seal maker)
    seal_der: bytes  # exact DER of the whole SESeal


@dataclass(frozen=True, slots=True)
class SesSignature:
    """A GB/T 38540 v4 ``SES_Signature``: the seal, the signed data hash and the signer's signature."""

    version: int
    seal: SealInfo
    time_info: datetime
    data_hash: bytes
    property_info: str
    signer_cert_der: bytes
    signature_alg_oid: str
    signature: bytes
    time_stamp: bytes | None
    tbs_der: bytes  # exact DER of TBS_Sign (what the signer signed)

    @classmethod
    def parse(cls, der: bytes) -> SesSignature:
        """Parse DER; ``InvalidPackage`` if malformed or of an unsupported version."""
        return _guard("SES_Signature", der, lambda: _signature(der))


def parse_seal(der: bytes) -> SealInfo:
    """Parse a stand-alone ``SESeal`` (e.g. an OFD ``Seal.esl`` file)."""
    return _guard("SESeal", der, lambda: _seal(SESeal.load(bytes(der), strict=True)))


_T = TypeVar("_T")


def _guard(what: str, der: bytes, fn: Callable[[], _T]) -> _T:
    try:
        check_bounds(bytes(der), what=what)  # linear, before asn1crypto (quadratic on some inputs)
        return fn()
    except InputError as exc:
        if isinstance(exc, InvalidPackage):
            raise
        raise InvalidPackage(str(exc), where=what) from None
    except EcertError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError... lazily
        raise InvalidPackage(f"malformed {what} DER: {exc}", where=what) from None


def _version_of(der: bytes) -> int | None:
    """The TBS_Sign version number, read leniently (to name an unsupported version)."""
    try:
        version = core.load(der)[0][0]
    except Exception:  # not even the shape of a seal signature: the strict parse will say why
        return None
    return int(version.native) if isinstance(version, core.Integer) else None


def _signature(der: bytes) -> SesSignature:
    data = bytes(der)
    version = _version_of(data)
    if version is not None and version != SES_VERSION:
        origin = " (GM/T 0031-2014)" if 0 < version < SES_VERSION else ""
        raise InvalidPackage(f"SES_Signature version {version}{origin} not supported",
                             where="SES_Signature", expected=f"version {SES_VERSION} (GB/T 38540)")
    sig = SESSignature.load(data, strict=True)
    sig.native  # noqa: B018 - forces asn1crypto to parse every field now, inside the guard
    tbs = sig["to_sign"]
    ts = sig["time_stamp"]
    return SesSignature(
        version=int(tbs["version"].native),
        seal=_seal(tbs["eseal"]),
        time_info=_time(tbs["time_info"]),
        data_hash=bytes(tbs["data_hash"].native),
        property_info=str(tbs["property_info"].native),
        signer_cert_der=bytes(sig["cert"].native),
        signature_alg_oid=str(sig["signature_alg_id"].dotted),
        signature=bytes(sig["signature"].native),
        time_stamp=None if isinstance(ts, core.Void) else bytes(ts.native),
        tbs_der=tbs.dump(),
    )


def _seal(seal: SESeal) -> SealInfo:
    seal.native  # noqa: B018 - force full parsing
    info = seal["e_seal_info"]
    header, prop, pic = info["header"], info["property"], info["picture"]
    list_type = int(prop["cert_list_type"].native)
    raw_list = prop["cert_list"].dump()
    certs: tuple[bytes, ...] = ()
    digests: tuple[tuple[str, bytes], ...] = ()
    if list_type == _CERT_LIST:
        certs = tuple(bytes(c) for c in CertInfoList.load(raw_list, strict=True).native)
    elif list_type == _CERT_DIGEST_LIST:
        digests = tuple((str(d["type"]), bytes(d["value"]))
                        for d in CertDigestList.load(raw_list, strict=True).native)
    else:
        raise InvalidPackage("unknown certListType", where="SES_ESPropertyInfo", value=list_type,
                             expected="1 (certificates) or 2 (digests)")
    return SealInfo(
        header_id=str(header["id"].native),
        header_version=int(header["version"].native),
        header_vid=str(header["vid"].native),
        es_id=str(info["es_id"].native),
        type=int(prop["type"].native),
        name=str(prop["name"].native),
        cert_list_type=list_type,
        certs=certs,
        cert_digests=digests,
        created=_time(prop["create_date"]),
        valid_start=_time(prop["valid_start"]),
        valid_end=_time(prop["valid_end"]),
        picture_type=str(pic["type"].native),
        picture_data=bytes(pic["data"].native),
        picture_width=int(pic["width"].native),
        picture_height=int(pic["height"].native),
        maker_cert_der=bytes(seal["cert"].native),
        sign_alg_oid=str(seal["sign_alg_id"].dotted),
        signed_value=bytes(seal["signed_value"].native),
        seal_tbs_der=info.dump(),
        seal_der=seal.dump(),
    )


def _time(value: _Time) -> datetime:
    native = value.native
    if not isinstance(native, datetime) or native.tzinfo is None:
        raise InvalidPackage("time is not a UTC time", where="SES_Signature", value=str(native))
    return native
