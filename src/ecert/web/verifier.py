"""The service window's verifier: bytes or text in, a verdict with fields, face and checks out.

No HTTP here (the ASGI app in :mod:`ecert.web.window` only translates), and nothing is kept: each
input is verified in memory and dropped.  What the window trusts (anchors, department
certificates) and whom it asks about revocation (a signed status list, or a registry opened per
verification so that a revocation shows at once and no connection crosses threads) are fixed
when the window starts.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidQRPayload
from ecert.metadata import CoreMetadata
from ecert.times import CHINA_STANDARD_TIME
from ecert.verify.report import Outcome, VerificationReport
from ecert.verify.status import StatusSource
from ecert.web.verdict import Verdict, check_label_zh, verdict_of

if TYPE_CHECKING:
    from ecert.exchange.bundle import TrustBundle

__all__ = [
    "EmptyUpload",
    "NotAnImage",
    "UnsupportedUpload",
    "UploadTooLarge",
    "WindowResult",
    "WindowSettings",
    "WindowVerifier",
]

MiB = 1024 * 1024
MAX_TEXT = 8000  # characters: more than any QR symbol holds
_OUTCOME_ZH = {Outcome.PASS: "通过", Outcome.FAIL: "失败", Outcome.WARN: "警告", Outcome.SKIP: "跳过"}
_SOURCE_ZH = {"file": "证照文件", "QR code": "二维码"}
_ZIP_MAGIC = b"PK\x03\x04"
_IMAGE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"RIFF")


class UploadTooLarge(InputError):
    """An upload above the window's limit (refused before it is read in full)."""

    def __init__(self, size: int | None, limit: int) -> None:
        self.limit = limit
        super().__init__("upload too large", value=size, expected=f"at most {limit} bytes")


class EmptyUpload(InputError):
    """Nothing was sent."""

    def __init__(self) -> None:
        super().__init__("nothing was uploaded", expected="a file, an image or QR text")


class NotAnImage(InputError):
    """A picture of a QR code that is no picture the window can read."""


class UnsupportedUpload(InputError):
    """A file that is neither an OFD package nor a picture."""


@dataclass(frozen=True, slots=True)
class WindowSettings:
    """What the window trusts and asks: fixed at start, shared by every verification."""

    trust: TrustStore
    certificates: tuple[Certificate, ...] = ()  # department certificates QR payloads name by key id
    # signed status lists, loaded (and checked) once, at most one per department
    status_lists: tuple[StatusSource, ...] = ()
    registry: Path | str | None = None  # or a library (file or postgresql:// URL), opened per verification
    max_upload: int = 32 * MiB
    max_frame: int = 4 * MiB
    face_dpi: int = 110
    font: Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.trust, TrustStore):
            raise InputError("trust must be a TrustStore", where="trust", value=type(self.trust).__name__)
        if self.status_lists and self.registry is not None:
            raise InputError("give status lists or a registry, not both", where="status")
        if len(self.status_lists) > 1:
            _check_departments(self.status_lists)
        for name in ("max_upload", "max_frame"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1024 <= value <= 256 * MiB:
                raise InputError(
                    "upload limit out of range", where=name, value=value, expected="1 KiB..256 MiB"
                )

    @classmethod
    def from_paths(
        cls,
        trust: Path,
        *,
        certificates: Sequence[Path] = (),
        status: Sequence[Path] = (),
        registry: Path | str | None = None,
        max_upload: int = 32 * MiB,
    ) -> WindowSettings:
        """Settings as the command line gives them: a trust directory (with ``issuers/``), signed
        status list files (one per department) or a registry database."""
        from ecert.app import known_certificates, load_status_source, load_trust

        store = load_trust(trust)
        lists = []
        for path in status:
            try:
                source = load_status_source(status_list=path, registry=None, trust=store, at=None)
            except EcertError as exc:
                raise InputError(f"{path}: {exc}") from None
            if source is not None:
                lists.append(source)
        if isinstance(registry, Path) and not registry.is_file():  # a postgresql:// URL is a str
            raise InputError("registry not found", where=str(registry))
        return cls(
            trust=store,
            certificates=known_certificates(trust, certificates),
            status_lists=tuple(lists),
            registry=registry,
            max_upload=max_upload,
        )

    @classmethod
    def from_bundle(
        cls, bundle: TrustBundle, *, certificates: Sequence[Path] = (), max_upload: int = 32 * MiB
    ) -> WindowSettings:
        """Settings from the province's trust bundle alone (a window PC that loads it once a day):
        its anchors and authorisations, its department certificates for QR payloads (plus
        ``certificates``), its status lists as one source.  Once the bundle expires its status
        lists no longer answer, so nothing is 有效 until a fresh bundle is loaded."""
        from ecert.app import load_certificate_files

        return cls(
            trust=bundle.trust,
            certificates=(*bundle.issuers, *load_certificate_files(certificates)),
            status_lists=(bundle.status,),
            max_upload=max_upload,
        )


@dataclass(frozen=True, slots=True)
class WindowResult:
    """One verification as the window shows it."""

    verdict: Verdict
    report: VerificationReport
    fields: tuple[tuple[str, str], ...]
    face_png: bytes | None
    face_note: str | None  # why no face is shown

    def to_dict(self) -> dict[str, Any]:
        """JSON for the page: every word it shows comes from here (the page computes nothing)."""
        report = self.report
        checks = [
            {
                "name": c.name,
                "label": check_label_zh(c.name),
                "outcome": c.outcome.value,
                "outcome_zh": _OUTCOME_ZH[c.outcome],
                "message": c.message_zh,
                "subject": _subject_zh(c.subject),
            }
            for c in report.checks
        ]
        checks += [
            {
                "name": name,
                "label": check_label_zh(name),
                "outcome": "fail",
                "outcome_zh": "失败",
                "message": "必需的检查未执行或未通过",
                "subject": None,
            }
            for name in report.missing_required
            if not report.failed(name)
        ]
        face = base64.b64encode(self.face_png).decode("ascii") if self.face_png is not None else None
        return {
            "source": "加注件"
            if report.annotated_copy is not None
            else _SOURCE_ZH.get(report.source, report.source),
            "verdict": {
                "kind": self.verdict.kind,
                "label": self.verdict.label,
                "detail": self.verdict.detail,
                "failing": list(self.verdict.failing),
            },
            "identifier": report.identifier,
            "verified_at": _china_time(report.verified_at),
            "fields": [{"label": k, "value": v} for k, v in self.fields],
            "checks": checks,
            "face": f"data:image/png;base64,{face}" if face is not None else None,
            "face_note": self.face_note,
            "text": report.to_text("zh"),
        }


class WindowVerifier:
    """Verifies what a clerk is handed: an OFD file, a picture of its QR code, or the code's text."""

    def __init__(self, settings: WindowSettings) -> None:
        self.settings = settings

    def verify_upload(self, data: bytes) -> WindowResult:
        """A dropped or picked file: an OFD package, or a picture of a QR code (told by its first bytes)."""
        self._check_size(data, self.settings.max_upload)
        if data.startswith(_ZIP_MAGIC):
            return self.verify_file(data)
        if data.startswith(_IMAGE_MAGICS):
            return self.verify_image(data)
        raise UnsupportedUpload(
            "neither an OFD file nor a picture",
            expected="an .ofd certificate file or a PNG/JPEG picture of its QR code",
        )

    def verify_file(self, data: bytes) -> WindowResult:
        from ecert.verify import verify

        self._check_size(data, self.settings.max_upload)
        with self._status(_claimed_issuer_of_file(data)) as status:
            report = verify(data, trust=self.settings.trust, status=status)
            verdict = verdict_of(report, status)
        return self._result(report, verdict, lambda md: self._page_face(data))

    def verify_text(self, text: str) -> WindowResult:
        from ecert.app import verify_qr_text

        if not isinstance(text, str) or not text.strip():
            raise EmptyUpload()
        if len(text) > MAX_TEXT:
            raise InputError("QR text too long", value=len(text), expected=f"at most {MAX_TEXT} characters")
        with self._status(_claimed_issuer_of_text(text)) as status:
            report = verify_qr_text(
                text.strip(),
                trust=self.settings.trust,
                certificates=self.settings.certificates,
                status=status,
            )
            verdict = verdict_of(report, status)
        return self._result(report, verdict, self._metadata_face)

    def verify_image(self, data: bytes) -> WindowResult:
        """A photo or screenshot of a QR code; :class:`InvalidQRPayload` when it shows none."""
        return self.verify_text(self._read_qr(data, self.settings.max_upload))

    def scan_frame(self, data: bytes) -> WindowResult | None:
        """A camera frame: the verification of the QR code it shows, or None when it shows none yet."""
        try:
            text = self._read_qr(data, self.settings.max_frame)
        except InvalidQRPayload:
            return None
        return self.verify_text(text)

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _check_size(data: bytes, limit: int) -> None:
        if not data:
            raise EmptyUpload()
        if len(data) > limit:
            raise UploadTooLarge(len(data), limit)

    def _read_qr(self, data: bytes, limit: int) -> str:
        from ecert.qr.image import read_qr

        self._check_size(data, limit)
        try:
            return read_qr(data, where="uploaded image")
        except InvalidQRPayload:
            raise
        except InputError as exc:
            raise NotAnImage(exc.message, where=exc.where, expected=exc.expected, value=exc.value) from None

    @contextmanager
    def _status(self, issuer_code: str | None) -> Iterator[StatusSource | None]:
        """The registry, or the status list of the department the input claims to come from.

        The claim is read before verification only to choose the list; the status check compares
        the list's department with the *verified* issuer code, so a false claim gains nothing.  No
        list for that department: the first one, whose department check then fails (as it does
        with one list): the window was told to check revocation and cannot, which is not 有效.
        """
        if self.settings.registry is None:
            lists = self.settings.status_lists
            chosen = next((s for s in lists if issuer_code in (s.issuer_codes or ())), None)
            yield chosen or (lists[0] if lists else None)
            return
        from ecert.registry import open_registry

        with open_registry(self.settings.registry, create=False) as registry:
            yield registry

    def _result(
        self,
        report: VerificationReport,
        verdict: Verdict,
        face: Callable[[CoreMetadata], bytes],
    ) -> WindowResult:
        md = report.metadata
        if md is None:
            return WindowResult(verdict, report, (), None, "无法读取经签名保护的证照内容，不显示证照面")
        fields = _fields(md, report)
        if not verdict.genuine:
            return WindowResult(verdict, report, fields, None, "证照未通过核验，不显示证照面")
        try:
            png = face(md)
        except EcertError as exc:
            return WindowResult(verdict, report, fields, None, f"证照面无法绘制：{exc}")
        return WindowResult(verdict, report, fields, png, None)

    def _page_face(self, data: bytes) -> bytes:
        """The file's first page as signed (text, QR code, seal; a copy's watermark), drawn by
        :mod:`ecert.paint`: called only once every file of the package passed its digest check.
        Only that page is drawn, however many the file has."""
        from ecert.ofd.page import read_pages
        from ecert.ofd.reader import OFDPackage
        from ecert.paint import draw_page
        from ecert.render import Fonts, find_cjk_font

        pages = read_pages(OFDPackage.open(data), stamps=True)
        if not pages:
            raise InputError("the file has no page to draw")
        first = pages[0]
        fonts = Fonts(find_cjk_font(self.settings.font))
        return _png(draw_page(first, scale=self.settings.face_dpi / 25.4, fonts=fonts))

    def _metadata_face(self, md: CoreMetadata) -> bytes:
        """A QR code carries no page: the face laid out from its signed metadata (no data items)."""
        from ecert.face import face_images, face_layout_for
        from ecert.render import render_layout

        layout = face_layout_for(md, (), qr=False)
        return _png(
            render_layout(layout, images=face_images(), dpi=self.settings.face_dpi, font=self.settings.font)
        )


def _check_departments(lists: Sequence[StatusSource]) -> None:
    """Several lists must each name their department, and no two the same one."""
    seen: dict[str, str] = {}
    for source in lists:
        if not source.issuer_codes:
            raise InputError(
                "a status list whose signer names no organisation code cannot be told apart from others",
                where=source.describe(),
                expected="give it alone, or lists of departments whose certificates name their codes",
            )
        for code in source.issuer_codes:
            if code in seen:
                raise InputError(
                    f"two status lists for department {code}",
                    where=f"{seen[code]}; {source.describe()}",
                    expected="one list per department (the newest)",
                )
            seen[code] = source.describe()


def _claimed_issuer_of_file(data: bytes) -> str | None:
    """The issuer code a certificate file (or the original inside an annotated copy) claims,
    read WITHOUT verification (see :meth:`WindowVerifier._status`); None when unreadable."""
    from ecert.app import read_certificate_parts
    from ecert.ofd.reader import OFDPackage

    try:
        from ecert.annotate.layer import ORIGINAL_ENTRY

        original = OFDPackage.open(data).entries.get(ORIGINAL_ENTRY)
        md, _ = read_certificate_parts(original if original is not None else data)
    except EcertError:
        return None
    return str(md.issuer_code)


def _claimed_issuer_of_text(text: str) -> str | None:
    """The issuer code an offline QR payload claims, read WITHOUT verification; None otherwise."""
    from ecert.qr.payload import decode_offline

    try:
        return str(decode_offline(text.strip()).claims.issuer_code)
    except EcertError:
        return None


def _png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _fields(md: CoreMetadata, report: VerificationReport) -> tuple[tuple[str, str], ...]:
    """The main fields; a citizen ID number masked (110105********0014), as on every screen ecert shows."""
    from ecert.face import validity_text
    from ecert.verdict import mask_holder_code

    fields = [
        ("证照名称", md.certificate_name),
        ("持证主体", md.holder_name),
        (md.holder_code_type or "持证主体代码", mask_holder_code(md.holder_code, md.holder_code_type_code)),
        ("证照编号", md.number),
        ("颁发机构", f"{md.issuer_name}（{md.issuer_code}）"),
        ("颁发日期", f"{md.issue_date:%Y-%m-%d}"),
        ("有效期", validity_text(md.valid_from, md.valid_until, md.long_term) or "未载明"),
        ("证照标识", str(md.identifier)),
    ]
    copy = report.annotated_copy
    if copy is not None:
        fields += [
            ("加注件用途", copy.reason),
            ("加注件有效期至", f"{copy.valid_until:%Y-%m-%d}"),
            ("加注件提供机构", copy.organisation),
            (
                "加注件制作者",
                f"{copy.maker}（{copy.made_at.astimezone(CHINA_STANDARD_TIME):%Y-%m-%d %H:%M}）",
            ),
            ("加注件标识", copy.copy_id),
        ]
    elif md.copy is not None:
        fields += [
            ("加注件制作者", md.copy.maker),
            ("加注件用途", md.copy.reason),
            ("加注件有效期至", f"{md.copy.valid_until:%Y-%m-%d}" if md.copy.valid_until else "未载明"),
        ]
    return tuple(fields)


def _subject_zh(subject: str | None) -> str | None:
    if subject is None:
        return None
    return subject.replace("signature ", "签名 ")


def _china_time(at: datetime) -> str:
    return f"{at.astimezone(CHINA_STANDARD_TIME):%Y-%m-%d %H:%M:%S}（北京时间）"
