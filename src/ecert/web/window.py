"""The service window's verification page as an ASGI app (FastAPI): ``create_window_app(settings)``.

The page is one HTML file, a small script and a style sheet, all served from this package (no
CDN, nothing fetched from elsewhere).  The endpoints take raw request bodies, read under a size
limit into memory and dropped after verification (no multipart spooling to disk), and answer
either a result (``{"ok": true, "result": ...}``) or an error envelope
(``{"ok": false, "error": {"code", "message"}}``, the message in Chinese) from one table; an
unexpected failure is logged on the server and answered with the ``internal`` envelope, never a
traceback.

``window_router(settings)`` gives the same page and endpoints as an ``APIRouter`` to mount in a
larger service (the share service's ``ecert serve``).
"""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ecert.errors import EcertError, FontNotFound, InputError, InvalidQRPayload
from ecert.web.verifier import (
    MAX_TEXT,
    EmptyUpload,
    NotAnImage,
    UnsupportedUpload,
    UploadTooLarge,
    WindowResult,
    WindowSettings,
    WindowVerifier,
)

__all__ = ["ERROR_CODES", "create_window_app", "error_envelope", "window_router"]

log = logging.getLogger("ecert.web.window")

# One table: each refusal (an EcertError subclass, most specific first) -> HTTP status, code, message.
ERROR_CODES: tuple[tuple[type[Exception], int, str, str], ...] = (
    (
        UploadTooLarge,
        413,
        "too_large",
        "文件过大，无法核验（上限 {limit}）。请确认是证照 OFD 文件或二维码图片。",
    ),
    (EmptyUpload, 400, "empty", "没有收到内容：请选择文件、图片，或粘贴二维码内容。"),
    (
        UnsupportedUpload,
        415,
        "unsupported_file",
        "无法识别的文件：请上传 OFD 证照文件，或二维码的照片、截图（PNG/JPEG）。",
    ),
    (NotAnImage, 415, "bad_image", "图片无法读取：请上传 PNG 或 JPEG 格式的二维码照片或截图。"),
    (
        InvalidQRPayload,
        422,
        "no_qr",
        "图片中未找到可识别的二维码：请对准、裁剪二维码，或换一张更清晰的照片。",
    ),
    (InputError, 400, "bad_input", "输入无法处理，请检查后重试。"),
    (FontNotFound, 500, "no_font", "服务器缺少中文字体，无法绘制证照面。"),
    (EcertError, 500, "server", "服务器无法完成核验，请重试或联系管理员。"),
)
_INTERNAL = (500, "internal", "服务器内部错误，请重试或联系管理员。")
_NOT_FOUND = (404, "not_found", "没有这个页面。")
_CONCURRENT_VERIFICATIONS = 2  # the machine's cores: more only queues in memory
_STATIC = {
    "window.js": "text/javascript; charset=utf-8",
    "window.css": "text/css; charset=utf-8",
}
_FONT_TYPES = {".ttc": "font/collection", ".ttf": "font/ttf", ".otf": "font/otf"}
_SECURITY_HEADERS = {
    # everything from this server, nothing else; pictures as data: URLs (the face) and camera blobs
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def error_envelope(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(HTTP status, ``{"ok": false, "error": {...}}``) for a refusal, from :data:`ERROR_CODES`."""
    for cls, status, code, message in ERROR_CODES:
        if isinstance(exc, cls):
            limit = getattr(exc, "limit", None)
            text = message.format(limit=_megabytes(limit) if isinstance(limit, int) else "")
            return status, {"ok": False, "error": {"code": code, "message": text, "detail": str(exc)}}
    status, code, text = _INTERNAL
    return status, {"ok": False, "error": {"code": code, "message": text}}


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def _asset(name: str) -> bytes:
    return files("ecert.web").joinpath("static", name).read_bytes()


def window_router(settings: WindowSettings) -> APIRouter:
    """The page at ``/`` and its endpoints under ``/api/window/``, to mount in any FastAPI app.

    Errors are answered as envelopes by the endpoints themselves, so the router behaves the same
    inside another app whatever exception handlers that app installs.
    """
    verifier = WindowVerifier(settings)
    limiter = anyio.CapacityLimiter(_CONCURRENT_VERIFICATIONS)
    router = APIRouter()
    page = _asset("index.html")
    assets = {name: _asset(name) for name in _STATIC}
    font = _page_font(settings)

    async def run(request: Request, limit: int, work: Any) -> Response:
        try:
            body = await _read_body(request, limit)
            result = await anyio.to_thread.run_sync(work, body, limiter=limiter)
        except Exception as exc:
            return _error_response(exc)
        if result is None:
            return _json(200, {"ok": True, "found": False})
        assert isinstance(result, WindowResult)
        return _json(200, {"ok": True, "found": True, "result": result.to_dict()})

    @router.get("/", include_in_schema=False)
    async def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=_SECURITY_HEADERS)

    @router.get("/static/cjk-font", include_in_schema=False)
    async def cjk_font() -> Response:
        """The CJK font the face is drawn with, for a window PC without one (the page lists it last:
        a browser with a Chinese system font never downloads it)."""
        if font is None:
            status, code, text = _NOT_FOUND
            return _json(status, {"ok": False, "error": {"code": code, "message": text}})
        kind = _FONT_TYPES.get(font.suffix.lower(), "application/octet-stream")
        return FileResponse(
            font, media_type=kind, headers={**_SECURITY_HEADERS, "Cache-Control": "max-age=86400"}
        )

    @router.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in assets:
            status, code, text = _NOT_FOUND
            return _json(status, {"ok": False, "error": {"code": code, "message": text}})
        return Response(assets[name], media_type=_STATIC[name], headers=_SECURITY_HEADERS)

    @router.get("/api/window/limits")
    async def limits() -> Response:
        return _json(200, {"ok": True, "max_upload": settings.max_upload, "max_text": MAX_TEXT})

    @router.post("/api/window/upload")
    async def upload(request: Request) -> Response:
        """An OFD file or a picture of a QR code (told apart by their first bytes)."""
        return await run(request, settings.max_upload, verifier.verify_upload)

    @router.post("/api/window/image")
    async def image(request: Request) -> Response:
        """A photo, screenshot or pasted picture of a QR code."""
        return await run(request, settings.max_upload, verifier.verify_image)

    @router.post("/api/window/text")
    async def text(request: Request) -> Response:
        """The text of a QR code (UTF-8), typed, pasted or sent by a USB scanner."""
        return await run(request, MAX_TEXT * 4, lambda body: verifier.verify_text(_utf8(body)))

    @router.post("/api/window/frame")
    async def frame(request: Request) -> Response:
        """One camera frame: ``found: false`` until it shows a readable QR code."""
        return await run(request, settings.max_frame, verifier.scan_frame)

    return router


def create_window_app(settings: WindowSettings) -> FastAPI:
    """A standalone window server: the page and its endpoints, errors (404 too) as envelopes."""
    app = FastAPI(title="ecert 电子证照核验", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(window_router(settings))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            status, code, text = _NOT_FOUND
        elif exc.status_code == 405:
            status, code, text = 405, "method_not_allowed", "不支持此请求方式。"
        else:
            status, code, text = _INTERNAL
        return _json(status, {"ok": False, "error": {"code": code, "message": text}})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return _error_response(exc)

    return app


def _page_font(settings: WindowSettings) -> Path | None:
    """The CJK font ecert draws faces with (``settings.font`` or the one found on this machine)."""
    from ecert.render import find_cjk_font

    try:
        return find_cjk_font(settings.font)
    except FontNotFound:
        log.warning("window: no CJK font on this machine; the page relies on the browser's fonts")
        return None


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, in memory, refused as soon as it passes ``limit`` (or says it will)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InputError("bad Content-Length", value=declared) from None
        if size > limit:
            raise UploadTooLarge(size, limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise UploadTooLarge(None, limit)
    if not body:
        raise EmptyUpload()
    return bytes(body)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("QR text is not UTF-8", expected="UTF-8 text") from None


def _error_response(exc: BaseException) -> Response:
    status, envelope = error_envelope(exc)
    if status >= 500:
        log.error("window: verification failed", exc_info=exc)
    # a refused upload may leave its body unread: close the connection rather than read it all
    headers = {"Connection": "close"} if status == 413 else None
    return _json(status, envelope, headers)


def _json(status: int, content: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(content, status_code=status, headers={**_SECURITY_HEADERS, **(headers or {})})
