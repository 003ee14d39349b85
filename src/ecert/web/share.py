"""The share service over HTTP: ``create_share_app(service, settings=...)`` returns the ASGI app.

A thin shell: it reads the body (under the size limit), authenticates (signed request, or a
bearer token when that profile is on), parses the JSON into the typed request of
:mod:`ecert.share.model`, calls :class:`ecert.share.ShareService` and writes the ``{head, data}``
envelope, signed with the service key.  Every refusal is an EcertError looked up in
:data:`ecert.share.codes.CODES`; anything else is code 99 with no detail (the traceback goes to
the server's log, never to the caller).  FastAPI because the project settled on it (the window
uses it too) and because it documents itself: spec/share-openapi.json is generated from this app.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Callable, Hashable
from datetime import date, datetime
from typing import Any, Literal, TypeVar, cast

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ecert.errors import EcertError, InputError, MissingField, RequestTooLarge, UnknownOperation
from ecert.registry.base import Application
from ecert.share import (
    Caller,
    DataCheckRequest,
    DownloadRequest,
    FileCheckRequest,
    GetRequest,
    Purpose,
    QRRequest,
    SearchRequest,
    ShareService,
    ShareSettings,
    TicketFile,
    UsageRequest,
)
from ecert.share.auth import SignedRequest
from ecert.share.batch import GroupCommit
from ecert.share.codes import SUCCESS, Code, code_for
from ecert.share.signing import NONCE, NONCE_HEADER
from ecert.web import share_schema as s

__all__ = ["API_PREFIX", "FILES_PATH", "create_share_app", "openapi_document"]

API_PREFIX = "/share/v1"
FILES_PATH = f"{API_PREFIX}/files/"
_log = logging.getLogger("ecert.web.share")
B = TypeVar("B", bound=BaseModel)
_KINDS = {"ofd": "original", "png": "face", "copy": "copy"}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _envelope(code: Code, data: Any, detail: str | None = None) -> bytes:
    message = code.message_zh if not detail else f"{code.message_zh}：{detail}"
    body = {"head": {"status": code.status, "message": message}, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _request_nonce(scope: Scope) -> str | None:
    """The request's nonce as sent, if well-formed: the response signature binds it (even on refusals)."""
    wanted = NONCE_HEADER.lower().encode("latin-1")
    for name, value in scope.get("headers", ()):
        if name == wanted:
            text = value.decode("latin-1")
            return text if NONCE.fullmatch(text) else None
    return None


class _Shell:
    """What the routes share: the service, the settings, a limit on threads running library calls."""

    def __init__(self, service: ShareService, settings: ShareSettings, threads: int) -> None:
        self.service = service
        self.settings = settings
        self.limiter = anyio.CapacityLimiter(threads)
        self.writer = GroupCommit(service.library)

    def signed(self, scope: Scope, status: int, body: bytes, media_type: str) -> Response:
        headers = self.service.sign_response(_request_nonce(scope), status, body)
        return Response(content=body, status_code=status, media_type=media_type, headers=headers)

    def envelope(self, scope: Scope, code: Code, data: Any = None, detail: str | None = None) -> Response:
        return self.signed(scope, code.http, _envelope(code, data, detail), "application/json; charset=utf-8")

    def refusal(self, scope: Scope, exc: BaseException) -> Response:
        code = code_for(exc)
        if code.status == 99:
            _log.error("share service: internal error", exc_info=exc)
            return self.envelope(scope, code)
        return self.envelope(scope, code, detail=str(exc)[:1000])

    async def run(self, fn: Callable[[], Any]) -> Any:
        """``fn`` on a thread of its own (routes that do not go through :attr:`writer`)."""
        return await anyio.to_thread.run_sync(fn, limiter=self.limiter)

    def answer(self, scope: Scope) -> Callable[[Any, BaseException | None], Response]:
        """The signed envelope of an operation's data, or of its refusal (run after the commit)."""

        def build(data: Any, error: BaseException | None) -> Response:
            if error is not None:
                return self.refusal(scope, error)
            return self.envelope(scope, SUCCESS, data)

        return build

    def check(self, request: Request, raw: bytes) -> SignedRequest | str:
        """What authenticates the request, checked without writing: a verified signature, or the
        bearer token to look up (:meth:`admit` completes either in the request's transaction)."""
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise InputError(
                    "unsupported Authorization header",
                    where="Authorization",
                    expected="Bearer <token>, or a signed request",
                )
            return token.strip()
        raw_path = request.scope.get("raw_path") or request.url.path.encode("ascii", "replace")
        path = raw_path.decode("latin-1")
        query = request.scope.get("query_string", b"").decode("latin-1")
        return self.service.auth.check_signature(
            request.method, path + (f"?{query}" if query else ""), request.headers, raw
        )

    def admit(self, admission: SignedRequest | str, request: Hashable) -> tuple[Application, bool]:
        """The calling application, its nonce claimed (or its token found); (application, via token).
        ``request`` names the HTTP request: run again after a rollback, it is counted once."""
        if isinstance(admission, str):
            return self.service.auth.bearer(admission, request=request), True
        return self.service.auth.admit(admission), False

    def authenticate(self, request: Request, raw: bytes) -> tuple[Application, bool]:
        """:meth:`check` and :meth:`admit` at once, for a request run in its own transaction."""
        return self.admit(self.check(request, raw), object())


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


def _as_is(value: Any, error: BaseException | None) -> tuple[Any, BaseException | None]:
    return value, error


def _purpose(body: s._Accountable) -> Purpose:
    return Purpose(body.useCause, body.itemCode, body.caseNumber)


class _BodyLimit:
    """Reads the whole body first, refusing more than ``limit`` bytes with the envelope (code 108)."""

    def __init__(self, app: ASGIApp, shell: _Shell) -> None:
        self.app = app
        self.shell = shell

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.shell.settings.max_body
        chunks: list[bytes] = []
        size = 0
        too_large = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                too_large = True
        while not too_large:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                too_large = True
                break
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if too_large:
            error = RequestTooLarge("the request body is too large", expected=f"at most {limit} bytes")
            response = self.shell.refusal(scope, error)
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_share_app(
    service: ShareService, *, settings: ShareSettings | None = None, threads: int = 4
) -> FastAPI:
    """The share service's ASGI app; ``settings`` default to the service's.  The operations run on
    one writer thread per process (group commit, :mod:`ecert.share.batch`); ``threads`` bound the
    calls of routes added beside them (:meth:`_Shell.run`)."""
    if not isinstance(service, ShareService):
        raise InputError("service must be a ShareService", where="service", value=type(service).__name__)
    shell = _Shell(service, settings or service.settings, threads)
    app = FastAPI(
        title="ecert share service (电子证照共享服务, GB/T 36906)",
        version="1",
        description="Signed JSON over HTTP POST; every answer is {head: {status, message}, data}. "
        "See spec/share-service.md for request signing, the token profile and the codes.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return shell.refusal(
            request.scope, UnknownOperation(f"no operation {request.method} {request.url.path}")
        )

    @app.exception_handler(Exception)
    async def _any_error(request: Request, exc: Exception) -> Response:
        return shell.refusal(request.scope, exc)

    def route(
        path: str,
        model: type[B],
        result: type[BaseModel],
        summary: str,
        accountable: bool = True,
        outside: bool = False,
    ) -> Callable[[Callable[[Caller, B], Any]], None]:
        """Register POST ``path``: authenticate, parse ``model``, call the operation, answer.

        The request runs on the worker's writer (:class:`ecert.share.batch.GroupCommit`): its
        signature is checked and its body parsed outside any transaction; its nonce, the read and
        its usage record are written in one transaction (shared with the requests that arrived
        with it), and the answer is signed and sent after that commit.  With ``outside`` (file
        verification) the operation returns the work to do outside a transaction, which in turn
        returns the step that records it: the nonce is claimed first, the file verified holding no
        transaction, and its use recorded in a second one."""

        def register(operation: Callable[[Caller, B], Any]) -> None:
            async def endpoint(request: Request) -> Response:
                scope = request.scope
                try:
                    raw = await request.body()
                except Exception as exc:
                    return shell.refusal(scope, exc)

                def prepare() -> Callable[[], Any]:
                    admission = shell.check(request, raw)
                    try:
                        body, problem = _parse(model, raw), None
                    except EcertError as exc:
                        problem = exc

                    this_request = object()

                    def step() -> Any:
                        application, via_token = shell.admit(admission, this_request)
                        if problem is not None:  # the nonce is spent, as with a refusal of the operation
                            raise problem
                        operator = str(getattr(body, "operator", "")) if accountable else application.app_id
                        return operation(Caller(application, operator, via_token), body)

                    return step

                if not outside:
                    return cast(Response, await shell.writer.run(prepare, shell.answer(scope)))
                later, error = await shell.writer.run(prepare, _as_is)
                if error is not None:
                    return shell.refusal(scope, error)
                return cast(Response, await shell.writer.run(later, shell.answer(scope)))

            app.add_api_route(
                path,
                endpoint,
                methods=["POST"],
                summary=summary,
                response_model=cast(Any, s.Envelope)[result],
                openapi_extra={
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
                        },
                    }
                },
            )

        return register

    svc = service

    @route(f"{API_PREFIX}/token", s.TokenBody, s.TokenData, "a short-lived token (weaker profile)", False)
    def _token(caller: Caller, body: s.TokenBody) -> dict[str, Any]:
        if caller.via_token:
            raise InputError("a token is obtained by a signed request, not with another token")
        token, expires = svc.auth.issue_token(caller.application)
        return {"token": token, "expiresAt": expires.isoformat()}

    @route(f"{API_PREFIX}/catalogue", s.CatalogueBody, s.CatalogueData, "published types and fields", False)
    def _catalogue(caller: Caller, body: s.CatalogueBody) -> dict[str, Any]:
        return {
            "types": [
                {
                    "certTypeCode": t.type_code,
                    "catalogVersion": t.catalog_version,
                    "name": t.type_name,
                    "definingAuthority": t.defining_authority,
                    "definingAuthorityCode": t.defining_authority_code,
                    "holderCategory": t.holder_category,
                    "fields": [
                        {
                            "key": f.key,
                            "label": f.label,
                            "required": f.required,
                            "sensitive": f.sensitive,
                            "maxLength": f.max_length,
                        }
                        for f in t.fields
                    ],
                }
                for t in svc.catalogue(caller).types
            ]
        }

    @route(f"{API_PREFIX}/search", s.SearchBody, s.SearchData, "search by holder (证照检索)")
    def _search(caller: Caller, body: s.SearchBody) -> dict[str, Any]:
        request = SearchRequest(body.holderCode, body.holderTypeCode, body.certTypeCode, body.certNo)
        rows = svc.search(caller, _purpose(body), request).rows
        return {
            "certs": [
                {
                    "certIdentifier": r.identifier,
                    "certName": r.certificate_name,
                    "certTypeCode": r.type_code,
                    "certNo": r.number,
                    "holder": r.holder_name,
                    "issuer": r.issuer_name,
                    "issueDate": _iso(r.issue_date),
                    "status": r.status,
                    "validFrom": _iso(r.valid_from),
                    "validUntil": _iso(r.valid_until),
                    "longTerm": r.long_term,
                }
                for r in rows
            ]
        }

    def view(v: Any) -> dict[str, Any]:
        return {
            "certIdentifier": v.identifier,
            "certTypeCode": v.type_code,
            "status": v.status,
            "metadata": dict(v.metadata),
            "withheld": list(v.withheld),
        }

    @route(f"{API_PREFIX}/get", s.GetBody, s.CertData, "get by identifier (证照查询), optional field range")
    def _get(caller: Caller, body: s.GetBody) -> dict[str, Any]:
        fields = None if body.metadataRange is None else tuple(body.metadataRange)
        return view(svc.get(caller, _purpose(body), GetRequest(body.certIdentifier, fields)))

    @route(f"{API_PREFIX}/get-by-qr", s.QRBody, s.CertData, "get the certificate a QR code names")
    def _get_by_qr(caller: Caller, body: s.QRBody) -> dict[str, Any]:
        fields = None if body.metadataRange is None else tuple(body.metadataRange)
        return view(svc.get_by_qr(caller, _purpose(body), QRRequest(body.qrcode, fields)))

    @route(f"{API_PREFIX}/download", s.DownloadBody, s.DownloadData, "the file: base64 or a one-time URL")
    def _download(caller: Caller, body: s.DownloadBody) -> dict[str, Any]:
        delivery: Literal["base64", "url"] = "url" if body.contentType == "http" else "base64"
        request = DownloadRequest(
            body.certIdentifier,
            _KINDS[body.fileType],  # type: ignore[arg-type]
            delivery,
            body.copyValidUntil,
        )
        result = svc.download(caller, _purpose(body), request)
        if result.ticket is not None:
            content = f"{FILES_PATH}{result.ticket}"
        else:
            content = base64.b64encode(result.content or b"").decode("ascii")
        return {
            "certIdentifier": result.identifier,
            "fileType": body.fileType,
            "contentType": body.contentType,
            "mimeType": result.content_type,
            "content": content,
            "expiresAt": _iso(result.expires_at),
            "copyId": result.copy_id,
        }

    @route(f"{API_PREFIX}/verify-data", s.VerifyDataBody, s.ResultData, "data verification (数据核验), 0-6")
    def _verify_data(caller: Caller, body: s.VerifyDataBody) -> dict[str, Any]:
        result = svc.verify_data(caller, _purpose(body), DataCheckRequest(body.certTypeCode, body.certData))
        return {"result": result.result, "message": result.message}

    @route(
        f"{API_PREFIX}/verify-file",
        s.VerifyFileBody,
        s.FileResultData,
        "file verification (文件核验), 0-2",
        outside=True,
    )
    def _verify_file(caller: Caller, body: s.VerifyFileBody) -> Callable[[], Callable[[], dict[str, Any]]]:
        def verification() -> Callable[[], dict[str, Any]]:  # outside any transaction
            try:
                content = base64.b64decode(body.content, validate=True)
            except (binascii.Error, ValueError):
                raise InputError("the file is not base64", where="content") from None
            report = svc.check_file(caller, FileCheckRequest(content))

            def record() -> dict[str, Any]:  # in the writer's next transaction
                result = svc.record_file_check(caller, _purpose(body), report)
                return {"result": result.result, "message": result.message, "report": result.report.to_dict()}

            return record

        return verification

    @route(f"{API_PREFIX}/usage", s.UsageBody, s.UsageData, "who used a certificate (the holder's view)")
    def _usage(caller: Caller, body: s.UsageBody) -> dict[str, Any]:
        result = svc.usage(caller, _purpose(body), UsageRequest(body.certIdentifier, body.holderCode))
        return {
            "certIdentifier": result.identifier,
            "records": [
                {
                    "at": e.at.isoformat(),
                    "department": e.department,
                    "appId": e.app_id,
                    "operation": e.operation,
                    "result": e.result,
                    "useCause": e.reason,
                    "itemCode": e.item_code,
                    "caseNumber": e.case_number,
                }
                for e in result.entries
            ],
        }

    @app.get(
        FILES_PATH + "{ticket}",
        summary="fetch a one-time download (once, within 10 minutes)",
        response_class=Response,
        responses={200: {"content": {"application/ofd": {}, "image/png": {}}}},
    )
    async def _fetch(request: Request, ticket: str) -> Response:
        scope = request.scope

        def answer(file: TicketFile | None, error: BaseException | None) -> Response:
            if error is not None or file is None:
                return shell.refusal(scope, error or RuntimeError("no file"))
            response = shell.signed(scope, 200, file.content, file.content_type)
            name = f"{file.identifier}.{'png' if file.kind == 'face' else 'ofd'}"
            response.headers["content-disposition"] = f'attachment; filename="{name}"'
            return response

        return await shell.writer.run(lambda: lambda: svc.redeem(ticket), answer)

    from ecert.web.exchange import add_exchange_routes  # the province-city exchange, same app

    add_exchange_routes(app, shell)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return _with_limit(app, shell)


def _with_limit(app: FastAPI, shell: _Shell) -> FastAPI:
    app.add_middleware(_BodyLimit, shell=shell)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, defs = models_json_schema(
            [(m, "validation") for m in s.BODIES], ref_template="#/components/schemas/{model}"
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(defs.get("$defs", {}))
        app.openapi_schema = document
    return app.openapi_schema


def openapi_document(app: FastAPI) -> str:
    """The OpenAPI document as kept in spec/share-openapi.json (sorted keys, one-space indent)."""
    return json.dumps(app.openapi(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def app_from_environment() -> FastAPI:
    """The app ``ecert serve`` starts in each uvicorn worker, configured by ECERT_SHARE_* variables."""
    from ecert.share.config import ServeConfig

    config = ServeConfig.from_environment(os.environ)
    return create_share_app(config.service(), threads=config.threads)
