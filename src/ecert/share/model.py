"""The share service's values: who calls and why, what they ask, what they are told.

Requests are checked when built (parse, don't validate): a :class:`Purpose` that exists has a use
reason of 1-200 characters or an item code with a case number, a :class:`SearchRequest` has its
three required fields.  The HTTP layer builds these from JSON; a Python caller builds them directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from ecert.errors import InputError, MissingField
from ecert.registry.base import OPERATIONS, Application, PublishedType, Right

if TYPE_CHECKING:
    from ecert.verify import VerificationReport

__all__ = [
    "DATA_RESULTS",
    "FILE_RESULTS",
    "MAX_REASON",
    "Caller",
    "Catalogue",
    "CertificateSummary",
    "CertificateView",
    "DataCheckRequest",
    "DataCheckResult",
    "DownloadKind",
    "DownloadRequest",
    "DownloadResult",
    "FileCheckRequest",
    "FileCheckResult",
    "GetRequest",
    "Purpose",
    "QRRequest",
    "SearchRequest",
    "SearchResult",
    "TicketFile",
    "UsageEntry",
    "UsageRequest",
    "UsageView",
    "format_right",
    "parse_right",
]

MAX_REASON = 200  # 用证事由, as real share services limit it
_MAX_TEXT = 256
_HOLDER_CODE_TYPE = re.compile(r"[0-9]{3}", re.ASCII)
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}", re.ASCII)

#: Data verification results (数据核验), as both real systems in INTERFACES.md §1.5 number 0-6.
DATA_RESULTS: Mapping[int, str] = MappingProxyType(
    {
        0: "信息正确且有效",
        1: "信息正确且未激活",
        2: "信息正确且证照暂时失效",
        3: "信息正确且证照已失效",
        4: "信息不全，无法验证",
        5: "查无此信息",
        6: "信息错误，参数不一致",
    }
)

#: File verification results (文件核验), INTERFACES.md §1.6.
FILE_RESULTS: Mapping[int, str] = MappingProxyType(
    {0: "文件验证通过", 1: "文件签章校验失败", 2: "文件校验失败"}
)

DownloadKind = Literal["original", "face", "copy"]


def _text(value: object, where: str, *, required: bool = True, most: int = _MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise MissingField("required field is missing or empty", where=where)
        return None
    if not isinstance(value, str):
        raise InputError("must be text", where=where, value=type(value).__name__, expected="a string")
    if len(value) > most:
        raise InputError("too long", where=where, value=len(value), expected=f"at most {most} characters")
    if any(ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InputError("control or surrogate characters", where=where, value=value)
    return value


def _required(value: object, where: str, most: int = _MAX_TEXT) -> str:
    text = _text(value, where, most=most)
    assert text is not None
    return text


@dataclass(frozen=True, slots=True)
class Purpose:
    """Why a certificate is used (用证事由, 1-200 characters), or the case it serves (事项编码 + 办件号)."""

    reason: str | None = None
    item_code: str | None = None
    case_number: str | None = None

    def __post_init__(self) -> None:
        _text(self.reason, "useCause (用证事由)", required=False, most=MAX_REASON)
        _text(self.item_code, "itemCode (事项编码)", required=False, most=64)
        _text(self.case_number, "caseNumber (办件号)", required=False, most=64)
        if self.reason is None and (self.item_code is None or self.case_number is None):
            raise MissingField(
                "a use reason (用证事由), or an item code and case number (事项编码 + 办件号), is required",
                where="useCause",
                expected="1-200 characters, or itemCode and caseNumber",
            )


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated application and the person (经办人) working for it."""

    application: Application
    operator: str
    via_token: bool = False

    def __post_init__(self) -> None:
        _text(self.operator, "operator (经办人)", most=64)

    @property
    def app_id(self) -> str:
        return self.application.app_id


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """Search by holder (证照检索): holder code, its type code, the certificate type, maybe a number."""

    holder_code: str
    holder_code_type_code: str
    type_code: str
    number: str | None = None

    def __post_init__(self) -> None:
        _text(self.holder_code, "holderCode", most=64)
        _text(self.type_code, "certTypeCode", most=64)
        if not _HOLDER_CODE_TYPE.fullmatch(_required(self.holder_code_type_code, "holderTypeCode")):
            raise InputError(
                "not a holder code type code",
                where="holderTypeCode",
                value=self.holder_code_type_code,
                expected="three digits (GB/T 36903: 001, 111...)",
            )
        _text(self.number, "certNo", required=False, most=128)


def _field_names(names: tuple[str, ...] | None, where: str) -> None:
    if names is None:
        return
    if not isinstance(names, tuple) or len(names) > 200:
        raise InputError("must be a list of at most 200 field names", where=where)
    for name in names:
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise InputError(
                "not a field name", where=where, value=name, expected="e.g. ZZBH, CZZT or KZ_FDDBR"
            )


@dataclass(frozen=True, slots=True)
class GetRequest:
    """Get by identifier (证照查询); ``fields`` asks only for those metadata fields (minimisation)."""

    identifier: str
    fields: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _text(self.identifier, "certIdentifier", most=128)
        _field_names(self.fields, "metadataRange")


@dataclass(frozen=True, slots=True)
class QRRequest:
    """Get by QR: the text of an ``ecert qr`` code (offline ``EC1:`` or reference ``ECR1:``)."""

    payload: str
    fields: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _text(self.payload, "qrcode", most=4296)
        _field_names(self.fields, "metadataRange")


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """Download: the signed original, its face (PNG) or an annotated copy; inline or as a one-time URL."""

    identifier: str
    kind: DownloadKind = "original"
    delivery: Literal["base64", "url"] = "base64"
    copy_valid_until: date | None = None  # an annotated copy's end of validity (加注件有效期截止时间)

    def __post_init__(self) -> None:
        _text(self.identifier, "certIdentifier", most=128)
        if self.kind not in ("original", "face", "copy"):
            raise InputError(
                "unknown file kind", where="fileType", value=self.kind, expected="ofd, png or copy"
            )
        if self.delivery not in ("base64", "url"):
            raise InputError(
                "unknown delivery", where="contentType", value=self.delivery, expected="base64 or http"
            )


@dataclass(frozen=True, slots=True)
class DataCheckRequest:
    """Data verification (数据核验): the fields a caller was given, to be compared with the record.

    ``values`` uses the metadata's pinyin keys (ZZBH, CZZT, CZZTDM, ZZBFRQ...) and KZ_* keys.
    """

    type_code: str
    values: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _text(self.type_code, "certTypeCode", most=64)
        if not isinstance(self.values, Mapping) or len(self.values) > 200:
            raise InputError("must be an object of at most 200 fields", where="certData")
        for key, value in self.values.items():
            if not isinstance(key, str) or not _FIELD_NAME.fullmatch(key):
                raise InputError("not a field name", where="certData", value=key)
            _text(value, f"certData.{key}", required=False, most=1024)
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


@dataclass(frozen=True, slots=True)
class FileCheckRequest:
    """File verification (文件核验): the bytes of an OFD file the caller was handed."""

    content: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.content, bytes) or not self.content:
            raise MissingField("the file is missing or empty", where="content")


@dataclass(frozen=True, slots=True)
class UsageRequest:
    """The holder's own view of who used a certificate; the holder code proves whose view it is."""

    identifier: str
    holder_code: str

    def __post_init__(self) -> None:
        _text(self.identifier, "certIdentifier", most=128)
        _text(self.holder_code, "holderCode", most=64)


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """One row of a search: enough to pick the certificate, nothing sensitive."""

    identifier: str
    certificate_name: str
    type_code: str
    number: str
    holder_name: str
    issuer_name: str
    issue_date: date
    status: str
    valid_from: date | None
    valid_until: date | None
    long_term: bool


@dataclass(frozen=True, slots=True)
class SearchResult:
    rows: tuple[CertificateSummary, ...]


@dataclass(frozen=True, slots=True)
class CertificateView:
    """A certificate's metadata as this caller may see it.

    ``metadata`` holds the requested fields (pinyin keys of GB/T 36903, KZ_* for type items);
    ``withheld`` names the sensitive fields left out because the application is not granted them.
    """

    identifier: str
    type_code: str
    status: str
    metadata: Mapping[str, str]
    withheld: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """A file handed out inline (``content``) or as a one-time ``ticket`` (the URL's last part)."""

    identifier: str
    kind: DownloadKind
    content_type: str
    content: bytes | None = field(default=None, repr=False)
    ticket: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    copy_id: str | None = None


@dataclass(frozen=True, slots=True)
class TicketFile:
    """The file a one-time download URL fetched."""

    identifier: str
    kind: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class DataCheckResult:
    """0-6 as DATA_RESULTS; never the record itself."""

    result: int
    message: str


@dataclass(frozen=True, slots=True)
class FileCheckResult:
    """0 passed, 1 a signature or seal check failed, 2 the file check failed; ecert's full report."""

    result: int
    message: str
    report: VerificationReport


@dataclass(frozen=True, slots=True)
class Catalogue:
    types: tuple[PublishedType, ...]


@dataclass(frozen=True, slots=True)
class UsageEntry:
    """One use as the holder sees it: who (department, application), what, why, when, result."""

    at: datetime
    department: str
    app_id: str
    operation: str
    result: str
    reason: str | None
    item_code: str | None
    case_number: str | None


@dataclass(frozen=True, slots=True)
class UsageView:
    identifier: str
    entries: tuple[UsageEntry, ...]


def parse_right(text: str) -> Right:
    """``operation[:type_code[:sensitive]]`` (type ``*`` or left out: any), for ``ecert share app add``."""
    if not isinstance(text, str):
        raise InputError("a right is text", where="right", value=type(text).__name__)
    parts = text.split(":")
    if not 1 <= len(parts) <= 3 or parts[0] not in OPERATIONS:
        raise InputError(
            "not a right",
            where="right",
            value=text,
            expected=f"OPERATION[:TYPE|*[:sensitive]] with OPERATION one of {', '.join(sorted(OPERATIONS))}",
        )
    type_code = parts[1] if len(parts) > 1 and parts[1] else "*"
    if len(parts) == 3 and parts[2] != "sensitive":
        raise InputError("the third part of a right can only be 'sensitive'", where="right", value=text)
    return Right(parts[0], type_code, len(parts) == 3)


def format_right(right: Right) -> str:
    return f"{right.operation}:{right.type_code}" + (":sensitive" if right.sensitive else "")
