"""The share service's JSON bodies as pydantic models: what the HTTP layer accepts and documents.

Field names follow the Linewell share service (INTERFACES.md §1.4: ``holderCode``, ``certTypeCode``,
``useCause``...).  Unknown fields are refused (``extra="forbid"``) and types are strict; values are
checked by :mod:`ecert.share.model`, so these models only say the shape.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BODIES",
    "CatalogueBody",
    "DownloadBody",
    "Envelope",
    "GetBody",
    "Head",
    "QRBody",
    "SearchBody",
    "TokenBody",
    "UsageBody",
    "VerifyDataBody",
    "VerifyFileBody",
]

D = TypeVar("D")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Accountable(_Body):
    """Who works the case and why: every operation but the catalogue carries them."""

    operator: str = Field(description="经办人: the person working for the calling application", max_length=64)
    useCause: str | None = Field(None, description="用证事由, 1-200 characters", max_length=200)
    itemCode: str | None = Field(
        None, description="事项编码 (with caseNumber, instead of useCause)", max_length=64
    )
    caseNumber: str | None = Field(None, description="办件号", max_length=64)


class TokenBody(_Body):
    """Ask for a short-lived token (a signed request; the token profile must be enabled)."""


class CatalogueBody(_Body):
    """The catalogue needs no fields."""


class SearchBody(_Accountable):
    holderCode: str = Field(description="持证主体代码", max_length=64)
    holderTypeCode: str = Field(description="持证主体代码类型代码 (001, 111...)", max_length=3)
    certTypeCode: str = Field(description="证照类型代码", max_length=64)
    certNo: str | None = Field(None, description="证照编号", max_length=128)


class GetBody(_Accountable):
    certIdentifier: str = Field(description="证照标识", max_length=128)
    metadataRange: list[str] | None = Field(
        None, description="only these fields (ZZBH, CZZT, KZ_*...)", max_length=200
    )


class QRBody(_Accountable):
    qrcode: str = Field(description="the text of an ecert QR code (EC1:... or ...ECR1:...)", max_length=4296)
    metadataRange: list[str] | None = Field(None, max_length=200)


class DownloadBody(_Accountable):
    certIdentifier: str = Field(max_length=128)
    fileType: Literal["ofd", "png", "copy"] = Field("ofd", description="ofd: signed original; png: face")
    contentType: Literal["base64", "http"] = Field("base64", description="inline, or a one-time URL (10 min)")
    copyValidUntil: date | None = Field(
        None, description="for a copy: its last valid day (加注件有效期截止时间; default in 30 days)"
    )


class VerifyDataBody(_Accountable):
    certTypeCode: str = Field(max_length=64)
    certData: dict[str, str] = Field(
        description="fields to check: ZZBS, or CZZTDM + ZZBH, and any others", max_length=200
    )


class VerifyFileBody(_Accountable):
    contentType: Literal["base64"] = "base64"
    content: str = Field(description="the OFD file, base64")


class UsageBody(_Accountable):
    certIdentifier: str = Field(max_length=128)
    holderCode: str = Field(description="the holder's code: the view is the holder's own", max_length=64)


BODIES: tuple[type[BaseModel], ...] = (
    TokenBody,
    CatalogueBody,
    SearchBody,
    GetBody,
    QRBody,
    DownloadBody,
    VerifyDataBody,
    VerifyFileBody,
    UsageBody,
)


# --- responses ---------------------------------------------------------------------------------


class Head(BaseModel):
    status: int = Field(description="0 success; every other code in spec/share-service.md")
    message: str


class Envelope(BaseModel, Generic[D]):
    head: Head
    data: D | None = None


class TokenData(BaseModel):
    token: str
    expiresAt: str


class CertRow(BaseModel):
    certIdentifier: str
    certName: str
    certTypeCode: str
    certNo: str
    holder: str
    issuer: str
    issueDate: str
    status: str
    validFrom: str | None
    validUntil: str | None
    longTerm: bool


class SearchData(BaseModel):
    certs: list[CertRow]


class CertData(BaseModel):
    certIdentifier: str
    certTypeCode: str
    status: str
    metadata: dict[str, str]
    withheld: list[str] = Field(description="sensitive fields left out: the application is not granted them")


class DownloadData(BaseModel):
    certIdentifier: str
    fileType: str
    contentType: Literal["base64", "http"]
    mimeType: str
    content: str = Field(description="base64 of the file, or the one-time URL")
    expiresAt: str | None = None
    copyId: str | None = Field(None, description="an annotated copy's identifier (加注件标识)")


class ResultData(BaseModel):
    result: int
    message: str


class FileResultData(ResultData):
    report: dict[str, Any] = Field(description="ecert's verification report (VerificationReport.to_dict)")


class FieldData(BaseModel):
    key: str
    label: str
    required: bool
    sensitive: bool
    maxLength: int | None


class TypeData(BaseModel):
    certTypeCode: str
    catalogVersion: int
    name: str
    definingAuthority: str
    definingAuthorityCode: str
    holderCategory: str
    fields: list[FieldData]


class CatalogueData(BaseModel):
    types: list[TypeData]


class UsageRow(BaseModel):
    at: str
    department: str
    appId: str
    operation: str
    result: str
    useCause: str | None
    itemCode: str | None
    caseNumber: str | None


class UsageData(BaseModel):
    certIdentifier: str
    records: list[UsageRow]
