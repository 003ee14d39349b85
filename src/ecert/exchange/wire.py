"""The HTTP exchange's paths and its own envelope codes, shared by the server and the client.

The exchange answers in the share service's ``{head, data}`` envelope with the share service's
codes (:data:`ecert.share.codes.CODES`: 11 authentication, 100 no right, 102 bad parameter, 108
too large...), and two of its own for what only an exchange refuses: a batch or file that is not
what it claims (130) and a batch signed by someone other than the peer (131).
"""

from __future__ import annotations

from ecert.errors import EcertError, InvalidBundle, TrustError
from ecert.share.codes import CODES, Code, code_for

__all__ = ["EXCHANGE_CODES", "PREFIX", "error_for", "exchange_code_for"]

PREFIX = "/exchange/v1"

#: Looked up before the share service's table (spec/exchange.md, HTTP transport).
EXCHANGE_CODES: tuple[tuple[type[EcertError], Code], ...] = (
    (
        TrustError,
        Code(131, 403, "交换批次的签名者不是该交换节点", "batch not signed by the peer's certificate"),
    ),
    (InvalidBundle, Code(130, 400, "交换数据无效（签名、哈希链或摘要不符）", "invalid batch or file")),
)


def exchange_code_for(exc: BaseException) -> Code:
    for cls, code in EXCHANGE_CODES:
        if isinstance(exc, cls):
            return code
    return code_for(exc)


def error_for(status: int, message: str) -> EcertError:
    """The EcertError a refusal's ``head.status`` stands for (a client raises it)."""
    from ecert.errors import ShareError

    for cls, code in (*EXCHANGE_CODES, *CODES):
        if code.status == status and cls is not EcertError:
            try:
                error = cls(message)
            except TypeError:
                break
            error.share_status = status  # type: ignore[attr-defined]
            return error
    error = ShareError(f"the exchange peer refused ({status}): {message}")
    error.share_status = status  # type: ignore[attr-defined]
    return error
