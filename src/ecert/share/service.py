"""The share service (共享服务, GB/T 36906): operations over the certificate library, no HTTP in it.

Every operation but the catalogue takes the authenticated :class:`Caller`, a :class:`Purpose` and
a typed request, checks the application's right (operation x certificate type, sensitive fields),
and writes a usage record in the same library transaction as its read (``library.atomic()``), so
that no read is handed out unrecorded.  A refusal after the read (no right for that type, a
revoked certificate) is recorded too, then raised.  File verification reads only the status; its
usage record follows the verification.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from ecert.annotate import annotate
from ecert.crypto.digests import sm3
from ecert.crypto.signer import Signer
from ecert.errors import (
    CertificateEnded,
    CertificateExpired,
    CertificateSuspended,
    DownloadRefused,
    DownloadTicketExpired,
    DownloadTicketUnknown,
    DownloadTicketUsed,
    EcertError,
    InputError,
    InvalidQRPayload,
    PermissionDenied,
    RecordNotFound,
    RequestTooLarge,
    TooManyRows,
    TypeNotPublished,
    UnknownOperation,
)
from ecert.metadata.elements import ELEMENTS
from ecert.paint import render_ofd
from ecert.qr.payload import is_offline, parse_reference
from ecert.registry.base import (
    CopyRecord,
    IssuedRecord,
    PublishedType,
    Registry,
    StoredFile,
    Usage,
    UsageRecord,
)
from ecert.registry.status import CertStatus
from ecert.share.auth import Authenticator
from ecert.share.datacheck import check_data
from ecert.share.model import (
    FILE_RESULTS,
    Caller,
    Catalogue,
    CertificateSummary,
    CertificateView,
    DataCheckRequest,
    DataCheckResult,
    DownloadRequest,
    DownloadResult,
    FileCheckRequest,
    FileCheckResult,
    GetRequest,
    Purpose,
    QRRequest,
    SearchRequest,
    SearchResult,
    TicketFile,
    UsageEntry,
    UsageRequest,
    UsageView,
)
from ecert.share.settings import ShareSettings
from ecert.share.signing import response_headers
from ecert.times import china_date
from ecert.verify import VerificationReport, verify
from ecert.verify.qr import verify_offline

__all__ = ["ShareService"]

T = TypeVar("T")
_PINYIN = {e.attr: e.pinyin for e in ELEMENTS}
_ENDED = frozenset({CertStatus.REVOKED, CertStatus.CANCELLED, CertStatus.REPLACED})
# checks whose failure means "a signature or seal check failed" (file verification result 1)
_SIGNATURE_CHECKS = frozenset(
    {"signature_value", "signer_trust", "signing_time", "seal", "seal_maker", "issuer_binding"}
)
COPY_DAYS = timedelta(days=30)  # an annotated copy's default life (at most 90: CopyLimits)
_FILE_TYPES = {"original": "application/ofd", "face": "image/png", "copy": "application/ofd"}
FACE_DPI = 150  # a face drawn for a download: the whole page legible on a screen (A4: 1240 x 1754)


class ShareService:
    """The share service over ``library``; ``signer`` is the service key its answers are signed with."""

    def __init__(self, library: Registry, signer: Signer, settings: ShareSettings | None = None) -> None:
        if not isinstance(signer, Signer):
            raise InputError("signer must be a Signer", where="signer", value=type(signer).__name__)
        self.library = library
        self.signer = signer
        self.settings = settings or ShareSettings()
        self.auth = Authenticator(library, self.settings)

    # --- helpers ---------------------------------------------------------------------------------

    def sign_response(self, nonce: str | None, status: int, body: bytes) -> dict[str, str]:
        """Headers signing an answer with the service key (spec/share-service.md)."""
        return response_headers(self.signer.private_key, nonce, status, body, at=self.settings.now())

    def transaction(self, work: Callable[[], T]) -> T:
        """Run ``work`` (a request's authentication and its operation) in one library transaction.

        One commit per request instead of one for the nonce and one for the read and its usage
        record.  A refusal (an EcertError) commits what was written before it (the nonce, the
        usage record of a refused read), then is raised; anything else rolls everything back.
        """
        refusal: EcertError | None = None
        with self.library.atomic():
            try:
                return work()
            except EcertError as exc:
                refusal = exc
        raise refusal

    def _use(
        self,
        caller: Caller,
        purpose: Purpose,
        operation: str,
        result: str,
        identifier: str | None = None,
        copy_id: str | None = None,
    ) -> UsageRecord:
        return self.library.record_usage(
            Usage(
                app_id=caller.app_id,
                department=caller.application.department,
                operator=caller.operator,
                operation=operation,
                result=result,
                identifier=identifier,
                reason=purpose.reason,
                item_code=purpose.item_code,
                case_number=purpose.case_number,
                copy_id=copy_id,
            ),
            at=self.settings.now(),
        )

    @staticmethod
    def _require(caller: Caller, operation: str, type_code: str) -> None:
        if not caller.application.allows(operation, type_code):
            raise PermissionDenied(
                f"application {caller.app_id} may not {operation} certificates of type {type_code}"
            )

    def _published(self, type_code: str) -> PublishedType:
        try:
            return self.library.published_type(type_code)
        except RecordNotFound:
            raise TypeNotPublished(f"certificate type {type_code} is not published in the library") from None

    def _sensitive(self, record: IssuedRecord) -> frozenset[str]:
        """The type's sensitive fields under the keys a view uses (pinyin for core elements, KZ_* as is)."""
        published = self._published(record.metadata.type_code)
        return frozenset(_PINYIN.get(key, key) for key in published.sensitive_keys)

    def _get_recorded(
        self, caller: Caller, purpose: Purpose, operation: str, identifier: str
    ) -> IssuedRecord:
        """The record, inside the caller's transaction; a miss is recorded, then raised."""
        try:
            record = self.library.get(identifier)
        except RecordNotFound:
            self._use(caller, purpose, operation, "not found", identifier)
            raise
        if not caller.application.allows(operation, record.metadata.type_code):
            self._use(caller, purpose, operation, "refused: no permission", identifier)
            raise PermissionDenied(
                f"application {caller.app_id} may not {operation} type {record.metadata.type_code}"
            )
        return record

    def _atomic(self, body: Callable[[], T]) -> T:
        """Run ``body`` in one library transaction; a refusal it records is raised after the commit."""
        refusal: EcertError | None = None
        with self.library.atomic():
            try:
                return body()
            except _Recorded as recorded:
                refusal = recorded.error
        raise refusal

    # --- operations ------------------------------------------------------------------------------

    def search(self, caller: Caller, purpose: Purpose, request: SearchRequest) -> SearchResult:
        """Search by holder (证照检索): at most ``max_rows`` rows, else TooManyRows and nothing."""
        self._require(caller, "search", request.type_code)
        self._published(request.type_code)
        limit = self.settings.max_rows

        def body() -> SearchResult:
            rows = self.library.search(
                holder_code=request.holder_code,
                holder_code_type_code=request.holder_code_type_code,
                type_code=request.type_code,
                number=request.number,
                limit=limit + 1,
            )
            if len(rows) > limit:
                self._use(caller, purpose, "search", f"refused: more than {limit} rows")
                raise _Recorded(TooManyRows(f"the search matches more than {limit} certificates; narrow it"))
            for row in rows:  # each certificate found was seen: its holder can tell by whom
                self._use(caller, purpose, "search", "found", row.identifier)
            if not rows:
                self._use(caller, purpose, "search", "0 rows")
            return SearchResult(tuple(_summary(r) for r in rows))

        return self._atomic(body)

    def get(self, caller: Caller, purpose: Purpose, request: GetRequest) -> CertificateView:
        """Get by identifier (证照查询), only the requested fields, sensitive ones only if granted."""
        return self._view(caller, purpose, "get", request.identifier, request.fields)

    def get_by_qr(self, caller: Caller, purpose: Purpose, request: QRRequest) -> CertificateView:
        """Get the certificate a QR code names: an offline payload's signature is checked first,
        a reference payload's file digest must be the recorded one."""
        payload = request.payload.strip()
        if is_offline(payload):
            if self.settings.trust is None:
                raise UnknownOperation("offline QR payloads need a trust store; the operator gave none")
            report = verify_offline(
                payload,
                trust=self.settings.trust,
                certificates=self.settings.certificates,
                at=self.settings.now(),
            )
            essential = ("payload", "signature_value", "signer_trust")
            if report.identifier is None or any(not report.check(n) or report.failed(n) for n in essential):
                why = "; ".join(c.message for c in report.failures) or "it cannot be read"
                raise InvalidQRPayload(
                    f"the QR code is not a genuine e-certificate code: {why}", where="qrcode"
                )
            return self._view(caller, purpose, "get_by_qr", report.identifier, request.fields)
        reference = parse_reference(payload)
        return self._view(
            caller, purpose, "get_by_qr", reference.identifier, request.fields, digest=reference.digest.hex()
        )

    def _view(
        self,
        caller: Caller,
        purpose: Purpose,
        operation: str,
        identifier: str,
        wanted: tuple[str, ...] | None,
        digest: str | None = None,
    ) -> CertificateView:
        def body() -> CertificateView:
            try:
                record = self._get_recorded(caller, purpose, operation, identifier)
            except (RecordNotFound, PermissionDenied) as exc:
                raise _Recorded(exc) from None
            if digest is not None and record.package_digest.lower() != digest:
                self._use(caller, purpose, operation, "not found: file digest differs", identifier)
                raise _Recorded(
                    RecordNotFound(f"the QR code names a file of {identifier} the library does not hold")
                )
            values = dict(record.metadata.to_dict("pinyin"))
            values.update(self.library.fields(identifier))
            if wanted is not None:
                unknown = [name for name in wanted if name not in values]
                if unknown:
                    self._use(caller, purpose, operation, "refused: unknown fields", identifier)
                    raise _Recorded(
                        InputError("no such metadata field", where="metadataRange", value=unknown)
                    )
                values = {name: values[name] for name in wanted}
            sensitive = self._sensitive(record)
            withheld: tuple[str, ...] = ()
            if not caller.application.sees_sensitive(operation, record.metadata.type_code):
                withheld = tuple(sorted(k for k in values if k in sensitive))
                values = {k: v for k, v in values.items() if k not in sensitive}
            self._use(caller, purpose, operation, "ok", identifier)
            return CertificateView(
                identifier, record.metadata.type_code, record.status.value, values, withheld
            )

        return self._atomic(body)

    def download(self, caller: Caller, purpose: Purpose, request: DownloadRequest) -> DownloadResult:
        """The signed original, the face PNG or an annotated copy, inline or as a one-time URL.

        A file carries every field, so a type with sensitive fields is handed out only to an
        application granted them; a certificate not valid today is refused with its own code.
        """
        now = self.settings.now()

        def body() -> DownloadResult:
            try:
                record = self._get_recorded(caller, purpose, "download", request.identifier)
            except (RecordNotFound, PermissionDenied) as exc:
                raise _Recorded(exc) from None
            refusal = self._unusable(record)
            if (
                refusal is None
                and self._sensitive(record)
                and not caller.application.sees_sensitive("download", record.metadata.type_code)
            ):
                refusal = PermissionDenied(
                    f"the file of {record.identifier} carries sensitive fields application "
                    f"{caller.app_id} is not granted"
                )
            if refusal is not None:
                self._use(
                    caller, purpose, "download", f"refused: {type(refusal).__name__}", request.identifier
                )
                raise _Recorded(refusal)
            if request.kind == "copy":
                stored_as, copy_id = self._annotated_copy(caller, purpose, record, request, now)
                content_type = "application/ofd"
            else:
                stored = self.library.stored_file(request.identifier, request.kind)
                if stored is None and request.kind == "face":
                    stored = self._draw_face(request.identifier)
                if stored is None:
                    self._use(
                        caller, purpose, "download", f"not found: no {request.kind} file", request.identifier
                    )
                    raise _Recorded(
                        RecordNotFound(f"the library keeps no {request.kind} file of {request.identifier}")
                    )
                stored_as, copy_id = request.identifier, None
                content_type = stored.content_type or _FILE_TYPES[request.kind]
            if request.delivery == "url":
                ticket = secrets.token_urlsafe(32)
                expires = now + self.settings.ticket_ttl
                self.library.add_ticket(
                    ticket, stored_as, request.kind, caller.app_id, created_at=now, expires_at=expires
                )
                if copy_id is None:
                    self._use(
                        caller, purpose, "download", f"one-time URL ({request.kind})", request.identifier
                    )
                return DownloadResult(
                    request.identifier,
                    request.kind,
                    content_type,
                    ticket=ticket,
                    expires_at=expires,
                    copy_id=copy_id,
                )
            content = self.library.read_file(stored_as, request.kind)
            if copy_id is None:
                self._use(caller, purpose, "download", f"sent ({request.kind})", request.identifier)
            return DownloadResult(
                request.identifier, request.kind, content_type, content=content, copy_id=copy_id
            )

        return self._atomic(body)

    def _annotated_copy(
        self, caller: Caller, purpose: Purpose, record: IssuedRecord, request: DownloadRequest, now: datetime
    ) -> tuple[str, str]:
        """Make an annotated copy (加注件) of the original for this use, sign it with the service key,
        record the use and the copy; (where its file is kept, its copy id)."""
        reason = purpose.reason or f"事项 {purpose.item_code} 办件 {purpose.case_number}"
        maker = f"{caller.application.department}（{caller.operator}）"
        until = request.copy_valid_until or china_date(now) + COPY_DAYS
        original = self.library.read_file(record.identifier, "original")
        made = annotate(
            original,
            self.signer,
            reason=reason[:200],
            maker=maker[:100],
            until=until,
            at=now,
            trust=self.settings.trust,
        )
        md = made.metadata
        use = self._use(caller, purpose, "download", "annotated copy made", record.identifier, md.copy_id)
        copy = CopyRecord(
            md.copy_id,
            record.identifier,
            md.level.value,
            md.made_at,
            md.maker,
            md.reason,
            md.valid_until,
            sm3(made.data).hex(),
            caller.app_id,
            use.seq,
        )
        self.library.record_copy(copy, made.data, operator=caller.operator, at=now)
        return md.copy_id, md.copy_id

    def _draw_face(self, identifier: str) -> StoredFile | None:
        """The face PNG drawn from the signed original's page as signed (:func:`ecert.paint.render_ofd`),
        kept in the library beside it, so that it is drawn once (by whichever worker comes first)
        and every later download, of any worker, reads it.  None when there is no original."""
        if self.library.stored_file(identifier, "original") is None:
            return None
        page = render_ofd(self.library.read_file(identifier, "original"), dpi=FACE_DPI)[0]
        png = io.BytesIO()
        page.save(png, format="PNG", dpi=(FACE_DPI, FACE_DPI))
        return self.library.store_file(identifier, "face", png.getvalue(), content_type="image/png")

    def _unusable(self, record: IssuedRecord) -> EcertError | None:
        if record.status in _ENDED:
            return CertificateEnded(f"{record.identifier} is {record.status.value}")
        if record.status is CertStatus.SUSPENDED:
            return CertificateSuspended(f"{record.identifier} is suspended")
        md = record.metadata
        if (
            not md.long_term
            and md.valid_until is not None
            and china_date(self.settings.now()) > md.valid_until
        ):
            return CertificateExpired(f"{record.identifier} expired on {md.valid_until}")
        return None

    def redeem(self, ticket: str) -> TicketFile:
        """The file behind a one-time URL: once, within its 10 minutes; recorded as a use of the caller."""
        if not isinstance(ticket, str):
            raise DownloadTicketUnknown("no such download")

        def body() -> TicketFile:
            try:
                identifier, kind, app_id = self.library.redeem_ticket(ticket, at=self.settings.now())
            except DownloadRefused as exc:
                error = {"used": DownloadTicketUsed, "expired": DownloadTicketExpired}.get(exc.reason)
                raise _Recorded((error or DownloadTicketUnknown)(str(exc))) from None
            app = self.library.application(app_id)
            content = self.library.read_file(identifier, kind)
            stored = self.library.stored_file(identifier, kind)
            caller = Caller(app, "one-time URL")
            # a copy's ticket names the copy: its use is the certificate's (the holder's view), copy beside
            certificate, copy_id = (
                (self.library.copy(identifier).identifier, identifier)
                if kind == "copy"
                else (identifier, None)
            )
            self._use(
                caller,
                Purpose(reason="一次性下载地址取件 (one-time download fetched)"),
                "download",
                f"fetched ({kind})",
                certificate,
                copy_id,
            )
            content_type = (
                stored.content_type
                if stored is not None
                else _FILE_TYPES.get(kind, "application/octet-stream")
            )
            return TicketFile(identifier, kind, content_type, content)

        return self._atomic(body)

    def verify_data(self, caller: Caller, purpose: Purpose, request: DataCheckRequest) -> DataCheckResult:
        """Data verification (数据核验): 0-6 as DATA_RESULTS; the record itself is never returned."""
        self._require(caller, "verify_data", request.type_code)
        published = self._published(request.type_code)
        sensitive = {_PINYIN.get(k, k) for k in published.sensitive_keys}
        asked = sorted(k for k in request.values if k in sensitive)
        if asked and not caller.application.sees_sensitive("verify_data", request.type_code):
            raise PermissionDenied(f"application {caller.app_id} may not verify the sensitive fields {asked}")

        def body() -> DataCheckResult:
            outcome = check_data(self.library, request, china_date(self.settings.now()))
            self._use(caller, purpose, "verify_data", f"result {outcome.result}", outcome.identifier)
            return DataCheckResult(outcome.result, outcome.message)

        return self._atomic(body)

    def verify_file(self, caller: Caller, purpose: Purpose, request: FileCheckRequest) -> FileCheckResult:
        """File verification (文件核验): ecert's full verification, status from the library."""
        report = self.check_file(caller, request)
        with self.library.atomic():
            return self.record_file_check(caller, purpose, report)

    def check_file(self, caller: Caller, request: FileCheckRequest) -> VerificationReport:
        """The verification of :meth:`verify_file`, which writes nothing (no transaction held)."""
        if not any(r.operation == "verify_file" for r in caller.application.rights):
            raise PermissionDenied(f"application {caller.app_id} may not verify files")
        if self.settings.trust is None:
            raise UnknownOperation("file verification needs a trust store; the operator gave none")
        if len(request.content) > self.settings.max_file:
            raise RequestTooLarge(
                "the file is larger than the service verifies",
                where="content",
                value=len(request.content),
                expected=f"at most {self.settings.max_file} bytes",
            )
        return verify(request.content, trust=self.settings.trust, at=self.settings.now(), status=self.library)

    def record_file_check(
        self, caller: Caller, purpose: Purpose, report: VerificationReport
    ) -> FileCheckResult:
        """The usage record of a file verification and its result (0-2); the answer follows its commit."""
        result = _file_result(report)
        self._use(caller, purpose, "verify_file", f"result {result}", report.identifier)
        return FileCheckResult(result, FILE_RESULTS[result], report)

    def catalogue(self, caller: Caller) -> Catalogue:
        """The published certificate types and their fields (证照目录); no use reason, no record."""
        return Catalogue(self.library.published_types())

    def usage(self, caller: Caller, purpose: Purpose, request: UsageRequest) -> UsageView:
        """Who used a certificate, for its holder's portal: the holder code must be one of its holders'."""

        def body() -> UsageView:
            try:
                record = self._get_recorded(caller, purpose, "usage", request.identifier)
            except (RecordNotFound, PermissionDenied) as exc:
                raise _Recorded(exc) from None
            codes = {h.code.upper() for h in self.library.holders(request.identifier)}
            codes.add(record.metadata.holder_code.upper())
            if request.holder_code.strip().upper() not in codes:
                self._use(caller, purpose, "usage", "refused: not a holder", request.identifier)
                raise _Recorded(RecordNotFound(f"no certificate {request.identifier} of that holder"))
            rows = self.library.usage(identifier=request.identifier, limit=1000)
            self._use(caller, purpose, "usage", f"{len(rows)} entries", request.identifier)
            entries = tuple(
                UsageEntry(
                    r.at,
                    r.usage.department,
                    r.usage.app_id,
                    r.usage.operation,
                    r.usage.result,
                    r.usage.reason,
                    r.usage.item_code,
                    r.usage.case_number,
                )
                for r in rows
            )
            return UsageView(request.identifier, entries)

        return self._atomic(body)


class _Recorded(Exception):
    """A refusal whose usage record is written: leave the transaction (committing), then raise it."""

    def __init__(self, error: EcertError) -> None:
        super().__init__(str(error))
        self.error = error


def _summary(r: IssuedRecord) -> CertificateSummary:
    md = r.metadata
    return CertificateSummary(
        r.identifier,
        md.certificate_name,
        md.type_code,
        md.number,
        md.holder_name,
        md.issuer_name,
        md.issue_date,
        r.status.value,
        md.valid_from,
        md.valid_until,
        md.long_term,
    )


def _file_result(report: VerificationReport) -> int:
    if report.ok:
        return 0
    failed = {c.name for c in report.failures} | set(report.missing_required)
    if failed and failed <= _SIGNATURE_CHECKS:
        return 1
    return 2
