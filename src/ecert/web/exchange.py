"""The province–city exchange over HTTP (spec/exchange.md, HTTP transport), in the share service's app.

``add_exchange_routes(app, shell)`` adds six POST operations under ``/exchange/v1``: ``status``,
``push`` (归集), ``files/put``, ``pull`` (回流), ``files/get`` and ``reconcile``.  A thin shell like
the share routes: the body is read under the app's size limit, the request must be SM2-signed by a
registered application (no bearer tokens: an exchange moves whole libraries), the JSON is parsed
into a strict model, :class:`ecert.exchange.node.ExchangeNode` decides, and the answer is the
signed ``{head, data}`` envelope; refusals take the codes of :mod:`ecert.exchange.wire`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecert.errors import AuthenticationFailed, InputError, MissingField
from ecert.exchange.envelope import b64
from ecert.exchange.node import MAX_PULL_EVENTS, MAX_PULL_FILE_BYTES, ExchangeNode, PullRequest
from ecert.exchange.peers import FileRef
from ecert.exchange.wire import PREFIX, exchange_code_for
from ecert.registry.base import Application
from ecert.share.codes import SUCCESS, Code
from ecert.web.share_schema import Envelope

if TYPE_CHECKING:
    from ecert.web.share import _Shell

__all__ = ["add_exchange_routes"]

_log = logging.getLogger("ecert.web.exchange")
B = TypeVar("B", bound=BaseModel)
_HEX64 = r"^[0-9a-f]{64}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StatusBody(_Body):
    """Who am I talking to, and where does it stand with me (no fields)."""


class PushBody(_Body):
    batch: dict[str, Any] = Field(
        description="the signed batch envelope {format: ecert-exchange-batch/1, payload, signature}"
    )


class FilePutBody(_Body):
    certIdentifier: str = Field(max_length=256, description="the certificate whose signed file this is")
    sm3: str = Field(pattern=_HEX64, description="the SM3 its record names (package_digest)")
    content: str = Field(description="the file, base64")


class PullBody(_Body):
    after: int = Field(ge=0, description="the caller's cursor: the last seq of this library it has applied")
    limit: int = Field(1000, ge=1, le=MAX_PULL_EVENTS, description="events of the log per batch")
    holderCodes: list[str] = Field(
        default_factory=list, max_length=1000, description="持证主体代码 (empty: all)"
    )
    holderRegions: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="GB/T 2260 divisions (330100: 3301xx) of the holders' citizen IDs and USCCs",
    )
    certTypeCodes: list[str] = Field(
        default_factory=list, max_length=1000, description="证照类型代码 (empty: all the caller may exchange)"
    )
    maxFileBytes: int = Field(
        8 * 1024 * 1024, ge=0, le=MAX_PULL_FILE_BYTES, description="files in the batch up to this total"
    )


class FileGetBody(_Body):
    certIdentifier: str = Field(max_length=256)
    copyId: str | None = Field(None, max_length=128, description="an annotated copy's id (else the original)")
    sm3: str = Field(pattern=_HEX64)


class ReconcileBody(_Body):
    certTypeCodes: list[str] = Field(default_factory=list, max_length=1000)


class PeerState(BaseModel):
    library: str | None
    cursor: int
    hash: str | None
    filesWanted: list[dict[str, Any]]


class StatusData(BaseModel):
    library: str
    peer: PeerState | None


class PushData(BaseModel):
    sender: str
    first_seq: int
    last_seq: int
    cursor: int
    problem: str | None
    missing: list[int] | None
    counts: dict[str, int]
    results: list[dict[str, Any]]
    filesWanted: list[dict[str, Any]]


class OutcomeData(BaseModel):
    outcome: str


class PullData(BaseModel):
    sender: str
    batch: dict[str, Any] | None
    more: bool


class FileData(BaseModel):
    certIdentifier: str
    copyId: str | None
    sm3: str
    content: str


class ReconcileData(BaseModel):
    library: str
    certTypeCodes: list[str]  # the types summarised: ["*"] every type
    groups: dict[str, dict[str, Any]]


def _parse(model: type[B], raw: bytes) -> B:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        where = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in errors[:5])
        if any(e["type"] == "missing" for e in errors):
            raise MissingField("required field is missing", where=where) from None
        first = errors[0]["msg"] if errors else "invalid body"
        raise InputError(f"the request body is not acceptable: {first}", where=where) from None


def _envelope(code: Code, data: Any, detail: str | None = None) -> bytes:
    message = code.message_zh if not detail else f"{code.message_zh}：{detail}"
    body = {"head": {"status": code.status, "message": message}, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _batch_bytes(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8")


def _content(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the file is not base64", where="content") from None


def add_exchange_routes(app: FastAPI, shell: _Shell) -> None:
    """Add the exchange operations to the share service's ``app`` (see the module docstring)."""
    service = shell.service
    node = ExchangeNode(service.library, service.signer)

    def answer(request: Request, code: Code, data: Any = None, detail: str | None = None) -> Response:
        body = _envelope(code, data, detail)
        return shell.signed(request.scope, code.http, body, "application/json; charset=utf-8")

    def refusal(request: Request, exc: BaseException) -> Response:
        code = exchange_code_for(exc)
        if code.status == 99:
            _log.error("exchange: internal error", exc_info=exc)
            return answer(request, code)
        return answer(request, code, detail=str(exc)[:1000])

    def route(
        operation: str, model: type[B], result: type[BaseModel], summary: str, *, one_transaction: bool
    ) -> Callable[[Callable[[Application, B], Any]], None]:
        def register(operation_fn: Callable[[Application, B], Any]) -> None:
            def handle(request: Request, raw: bytes) -> Any:
                application, via_token = shell.authenticate(request, raw)
                if via_token:
                    raise AuthenticationFailed("the exchange takes SM2-signed requests only, not tokens")
                return operation_fn(application, _parse(model, raw))

            async def endpoint(request: Request) -> Response:
                try:
                    raw = await request.body()
                    if one_transaction:
                        data = await shell.run(lambda: service.transaction(lambda: handle(request, raw)))
                    else:
                        data = await shell.run(lambda: handle(request, raw))
                except Exception as exc:  # every refusal, and anything unexpected, is an envelope
                    return refusal(request, exc)
                return answer(request, SUCCESS, data)

            schema = model.model_json_schema()
            app.add_api_route(
                f"{PREFIX}/{operation}",
                endpoint,
                methods=["POST"],
                summary=summary,
                tags=["exchange"],
                response_model=cast(Any, Envelope)[result],
                openapi_extra={
                    "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
                },
            )

        return register

    @route(
        "status",
        StatusBody,
        StatusData,
        "this library's id and the caller's cursor here",
        one_transaction=False,
    )
    def _status(app_: Application, body: StatusBody) -> dict[str, Any]:
        return node.status(app_)

    @route(
        "push", PushBody, PushData, "归集: apply a signed batch, answered per record", one_transaction=True
    )
    def _push(app_: Application, body: PushBody) -> dict[str, Any]:
        return node.push(app_, _batch_bytes(body.batch), at=service.settings.now())

    @route(
        "files/put",
        FilePutBody,
        OutcomeData,
        "deliver a file a pushed batch named by digest",
        one_transaction=True,
    )
    def _put(app_: Application, body: FilePutBody) -> dict[str, Any]:
        ref = FileRef(body.certIdentifier, body.sm3)
        return {"outcome": node.put_file(app_, ref, _content(body.content))}

    @route(
        "pull",
        PullBody,
        PullData,
        "回流: the events after the caller's cursor, filtered",
        one_transaction=False,
    )
    def _pull(app_: Application, body: PullBody) -> dict[str, Any]:
        request = PullRequest(
            body.after,
            body.limit,
            frozenset(body.holderCodes),
            frozenset(body.certTypeCodes),
            body.maxFileBytes,
            frozenset(body.holderRegions),
        )
        result = node.pull(app_, request, at=service.settings.now())
        batch = None if result.batch is None else json.loads(result.batch)
        return {"sender": result.sender, "batch": batch, "more": result.more}

    @route("files/get", FileGetBody, FileData, "a file by its SM3 digest", one_transaction=False)
    def _get(app_: Application, body: FileGetBody) -> dict[str, Any]:
        ref = FileRef(body.certIdentifier, body.sm3, body.copyId)
        content = node.get_file(app_, ref)
        return {**ref.to_dict(), "content": b64(content)}

    @route(
        "reconcile",
        ReconcileBody,
        ReconcileData,
        "counts and heads per issuer, type and day",
        one_transaction=False,
    )
    def _reconcile(app_: Application, body: ReconcileBody) -> dict[str, Any]:
        groups, covered = node.summary(app_, frozenset(body.certTypeCodes))
        return {
            "library": service.library.library_id,
            "certTypeCodes": sorted(covered),
            "groups": {g: {"count": c, "head": h} for g, (c, h) in sorted(groups.items())},
        }
