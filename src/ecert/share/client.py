"""A client of a running share service: signs each request, checks each answer's signature.

A caller needs only the server's URL, its application id, its own private key and the service's
certificate (or public key), which the operator hands out.  Answers are checked against the
service key and the request's nonce before anything is read from them; a refusal is raised as the
EcertError subclass its code stands for (``ecert.errors.ReplayedRequest``, ``PermissionDenied``...).
Needs httpx (``pip install 'ecert[server]'``).
"""

from __future__ import annotations

import base64
import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ecert.crypto.keys import PrivateKey, PublicKey
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidSignature, ShareError
from ecert.share.codes import CODES
from ecert.share.signing import request_headers, verify_response

__all__ = ["Answer", "Client", "ServiceError"]

_PREFIX = "/share/v1"


class ServiceError(ShareError):
    """A refusal whose code this client does not know (a newer service), or code 99."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"share service refused ({status}): {message}")
        self.status = status


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as received and checked: the HTTP status, the envelope, the exact signed bytes."""

    http_status: int
    status: int
    message: str
    data: Any
    body: bytes
    headers: dict[str, str]


def _error(status: int, message: str) -> EcertError:
    for cls, code in CODES:
        if code.status == status and cls.__name__ != "EcertError":
            try:
                error = cls(message)
            except TypeError:  # a class needing more than a message
                break
            error.share_status = status  # type: ignore[attr-defined]
            return error
    return ServiceError(status, message)


class Client:
    """Talks to one share service as one application (see the module docstring)."""

    def __init__(
        self,
        server: str,
        *,
        app_id: str,
        key: PrivateKey,
        service_key: PublicKey | Certificate,
        operator: str,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        if not isinstance(key, PrivateKey):
            raise InputError("key must be a PrivateKey", where="key", value=type(key).__name__)
        self.server = server.rstrip("/")
        self.app_id = app_id
        self.operator = operator
        self._key = key
        self._service_key = service_key.public_key if isinstance(service_key, Certificate) else service_key
        # TCP_NODELAY: a request's headers and body leave at once (Nagle and delayed ACKs cost 40 ms)
        nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self._http = http or httpx.Client(timeout=timeout, transport=nodelay)
        self.token: str | None = None  # set by use_token(): the weaker profile, no signatures

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport --------------------------------------------------------------------------------

    def send(
        self,
        path: str,
        body: bytes,
        *,
        nonce: str | None = None,
        at: datetime | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """POST ``body`` to ``path`` signed (or with the token), check the answer's signature."""
        extra = {"content-type": "application/json; charset=utf-8", **(headers or {})}
        if self.token is not None:
            extra["authorization"] = f"Bearer {self.token}"
            sent_nonce = None
        else:
            signed = request_headers(
                self._key, self.app_id, "POST", path, body, at=at or datetime.now(UTC), nonce=nonce
            )
            extra.update(signed)
            sent_nonce = signed["X-Ecert-Nonce"]
        try:
            response = self._http.post(self.server + path, content=body, headers=extra)
        except httpx.HTTPError as exc:
            raise ServiceError(-1, f"cannot reach {self.server}: {exc}") from None
        return self._checked(response, sent_nonce)

    def _checked(self, response: httpx.Response, nonce: str | None) -> Answer:
        try:
            verify_response(
                self._service_key, nonce, response.status_code, response.content, response.headers
            )
        except InvalidSignature as exc:
            raise InvalidSignature(f"the answer is not signed by the service key: {exc}") from None
        try:
            envelope = json.loads(response.content)
            head = envelope["head"]
            status, message = int(head["status"]), str(head["message"])
        except (ValueError, KeyError, TypeError):
            raise ServiceError(-1, "the answer is not a {head, data} envelope") from None
        return Answer(
            response.status_code,
            status,
            message,
            envelope.get("data"),
            response.content,
            dict(response.headers),
        )

    def call(
        self,
        operation: str,
        fields: dict[str, Any],
        *,
        accountable: bool = True,
        reason: str | None = None,
        item_code: str | None = None,
        case_number: str | None = None,
    ) -> Any:
        """Run ``operation`` (search, get, ...) and return its ``data``; a refusal raises its error."""
        body = dict(fields)
        if accountable:
            body["operator"] = self.operator
            for key, value in (("useCause", reason), ("itemCode", item_code), ("caseNumber", case_number)):
                if value is not None:
                    body[key] = value
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        answer = self.send(f"{_PREFIX}/{operation}", raw)
        if answer.status != 0:
            raise _error(answer.status, answer.message)
        return answer.data

    def _op(self, operation: str, fields: dict[str, Any], purpose: dict[str, str]) -> Any:
        unknown = set(purpose) - {"reason", "item_code", "case_number"}
        if unknown:
            raise InputError(
                "unknown keyword",
                where=", ".join(sorted(unknown)),
                expected="reason, or item_code and case_number",
            )
        return self.call(
            operation,
            fields,
            reason=purpose.get("reason"),
            item_code=purpose.get("item_code"),
            case_number=purpose.get("case_number"),
        )

    # --- operations -------------------------------------------------------------------------------

    def use_token(self) -> str:
        """Obtain a short-lived token (one signed request) and send it instead of signing from now on."""
        data = self.call("token", {}, accountable=False)
        self.token = str(data["token"])
        return self.token

    def catalogue(self) -> list[dict[str, Any]]:
        return list(self.call("catalogue", {}, accountable=False)["types"])

    def search(
        self,
        holder_code: str,
        holder_type_code: str,
        type_code: str,
        number: str | None = None,
        **purpose: str,
    ) -> list[dict[str, Any]]:
        fields = {"holderCode": holder_code, "holderTypeCode": holder_type_code, "certTypeCode": type_code}
        if number is not None:
            fields["certNo"] = number
        return list(self._op("search", fields, purpose)["certs"])

    def get(self, identifier: str, fields: list[str] | None = None, **purpose: str) -> dict[str, Any]:
        body: dict[str, Any] = {"certIdentifier": identifier}
        if fields is not None:
            body["metadataRange"] = fields
        return dict(self._op("get", body, purpose))

    def get_by_qr(self, payload: str, fields: list[str] | None = None, **purpose: str) -> dict[str, Any]:
        body: dict[str, Any] = {"qrcode": payload}
        if fields is not None:
            body["metadataRange"] = fields
        return dict(self._op("get-by-qr", body, purpose))

    def download(self, identifier: str, file_type: str = "ofd", **purpose: str) -> bytes:
        """The file's bytes, sent inline (base64)."""
        data = self._op("download", {"certIdentifier": identifier, "fileType": file_type}, purpose)
        return base64.b64decode(data["content"], validate=True)

    def download_url(self, identifier: str, file_type: str = "ofd", **purpose: str) -> str:
        """A one-time URL (valid 10 minutes) another program may fetch once."""
        body = {"certIdentifier": identifier, "fileType": file_type, "contentType": "http"}
        data = self._op("download", body, purpose)
        return self.server + str(data["content"])

    def fetch(self, url: str) -> bytes:
        """GET a one-time URL; a refusal (used, expired) raises its error."""
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise ServiceError(-1, f"cannot reach {url}: {exc}") from None
        try:
            verify_response(self._service_key, None, response.status_code, response.content, response.headers)
        except InvalidSignature as exc:
            raise InvalidSignature(f"the file is not sent by the service: {exc}") from None
        if response.status_code == 200 and not response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            return response.content
        answer = self._checked(response, None)
        raise _error(answer.status, answer.message)

    def verify_data(self, type_code: str, values: dict[str, str], **purpose: str) -> dict[str, Any]:
        return dict(self._op("verify-data", {"certTypeCode": type_code, "certData": values}, purpose))

    def verify_file(self, content: bytes, **purpose: str) -> dict[str, Any]:
        body = {"contentType": "base64", "content": base64.b64encode(content).decode("ascii")}
        return dict(self._op("verify-file", body, purpose))

    def usage(self, identifier: str, holder_code: str, **purpose: str) -> list[dict[str, Any]]:
        body = {"certIdentifier": identifier, "holderCode": holder_code}
        return list(self._op("usage", body, purpose)["records"])
