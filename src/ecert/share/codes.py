"""The one table from refusals (EcertError subclasses) to envelope codes (spec/share-service.md).

``head.status`` follows the integer codes of the Linewell share service (INTERFACES.md §1.7, 0 is
success) where one exists, and adds codes in the 100s/200s for refusals real systems do not make
(replay, expired timestamp, revoked key, one-time URLs).  The HTTP status is a courtesy for
proxies and logs; clients decide on ``head.status``.  The HTTP layer never invents a message: it
looks the error up here, and a test keeps this table and the specification's table equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecert.errors import (
    AuthenticationFailed,
    CertificateEnded,
    CertificateExpired,
    CertificateSuspended,
    DownloadTicketExpired,
    DownloadTicketUnknown,
    DownloadTicketUsed,
    EcertError,
    InputError,
    KeyRevoked,
    LibraryUnavailable,
    MissingField,
    PermissionDenied,
    RateLimited,
    RecordNotFound,
    ReplayedRequest,
    RequestExpired,
    RequestTooLarge,
    TokenProfileDisabled,
    TooManyRows,
    TypeNotPublished,
    UnknownOperation,
)

__all__ = ["CODES", "SUCCESS", "Code", "code_for", "code_of"]


@dataclass(frozen=True, slots=True)
class Code:
    """An envelope code: ``head.status``, the HTTP status, and the message in Chinese and English."""

    status: int
    http: int
    message_zh: str
    message_en: str

    @property
    def message(self) -> str:
        return f"{self.message_zh} ({self.message_en})"


SUCCESS = Code(0, 200, "接口调用成功", "success")
INTERNAL = Code(99, 500, "其他异常", "internal error")

#: Most specific first: an error takes the code of the first class it is an instance of.
CODES: tuple[tuple[type[EcertError], Code], ...] = (
    (
        RequestExpired,
        Code(201, 401, "请求时间戳超出允许范围", "request timestamp outside the accepted window"),
    ),
    (ReplayedRequest, Code(202, 401, "请求已使用过（重放）", "nonce already used: a replayed request")),
    (KeyRevoked, Code(203, 401, "应用密钥已吊销", "the application's key is revoked")),
    (TokenProfileDisabled, Code(204, 401, "令牌方式未启用", "the token profile is disabled for this caller")),
    (AuthenticationFailed, Code(11, 401, "身份验证不通过", "authentication failed")),
    (PermissionDenied, Code(100, 403, "该应用无访问该证的权限", "no permission")),
    (RateLimited, Code(105, 429, "接口访问数量已达到峰值", "rate limited")),
    (TooManyRows, Code(104, 400, "返回值超过500条拒绝返回", "too many rows (more than 500)")),
    (UnknownOperation, Code(2, 404, "证照源未提供此服务接口", "no such operation")),
    (TypeNotPublished, Code(13, 404, "证照类型不存在或未发布", "certificate type not published")),
    (
        CertificateEnded,
        Code(21, 409, "该电子证照已废止或已注销", "certificate revoked, cancelled or replaced"),
    ),
    (CertificateExpired, Code(22, 409, "该电子证照已过期", "certificate expired")),
    (CertificateSuspended, Code(23, 409, "该电子证照已受限使用", "certificate suspended")),
    (DownloadTicketUsed, Code(120, 410, "此文件已经被下载，不能再次下载", "one-time download already used")),
    (
        DownloadTicketExpired,
        Code(121, 410, "下载地址已过期（10分钟），请重新请求", "one-time download expired"),
    ),
    (DownloadTicketUnknown, Code(122, 404, "下载地址不存在", "no such one-time download")),
    (RecordNotFound, Code(10, 404, "未找到匹配的证照信息", "not found")),
    (LibraryUnavailable, Code(98, 503, "证照库暂时无法访问，请稍后重试", "library unavailable, retry later")),
    (RequestTooLarge, Code(108, 413, "请求内容过大", "request body too large")),
    (MissingField, Code(12, 400, "要求必填的输入参数值为空", "required field missing")),
    (InputError, Code(102, 400, "参数值错误", "bad parameter")),
    (EcertError, INTERNAL),
)


def code_for(exc: BaseException) -> Code:
    """The code of an error: the first table row it is an instance of; anything else is 99."""
    for cls, code in CODES:
        if isinstance(exc, cls):
            return code
    return INTERNAL


def code_of(status: int) -> Code | None:
    """The code with this ``head.status`` (0 included), for clients."""
    if status == 0:
        return SUCCESS
    return next((code for _, code in CODES if code.status == status), None)
