"""The verification report: the single source of truth about what was checked.

As in signxml's ``VerifyResult`` and pyHanko's validation status, verification returns a
report and ``ok`` is derived from it: ``ok`` is true only when no check failed *and* every
check the verifier declared essential actually ran and passed.  An empty report, or one
where a required check is missing (a code path that forgot to run it), is not ok: the
report fails closed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ecert.annotate.model import CopyMetadata
    from ecert.metadata import CoreMetadata

__all__ = ["Check", "MissingTrust", "Outcome", "ReportBuilder", "SignerSummary", "VerificationReport"]


class Outcome(enum.StrEnum):
    """A check's outcome; equal to its text (``Outcome.PASS == "pass"``), as scripts compare it."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


_OUTCOME_ZH = {Outcome.PASS: "通过", Outcome.FAIL: "失败", Outcome.WARN: "警告", Outcome.SKIP: "跳过"}
# Chinese labels of the checks, shown before the stable machine name in the Chinese text report
CHECK_LABELS_ZH = {
    "package": "文件结构",
    "signatures": "签名列表",
    "references": "文件摘要",
    "coverage": "签名覆盖范围",
    "docinfo": "未签名的文档信息",
    "document": "文档结构",
    "signature_value": "签名值",
    "signer_trust": "签名者证书",
    "signing_time": "签名时间",
    "seal": "电子印章",
    "seal_maker": "制章者",
    "metadata": "证照元数据",
    "identifier": "证照标识",
    "validity_period": "有效期",
    "status": "证照状态",
    "issuer_binding": "颁证机构",
    "original": "原件",
    "copy_metadata": "加注件元数据",
    "copy_original": "加注件所含原件",
    "copy_watermark": "加注件水印",
    "copy_structure": "加注件结构",
    "copy_expired": "加注件有效期",
    "payload": "二维码内容",
    "reference": "引用",
    "abridged": "节选",
}
_SOURCES_ZH = {"QR code": "二维码", "file": "文件", "original": "原件"}
_SIGNATURE_SUBJECT = r"signature (\S+)"  # for Chinese text only: compiled (and cached by re) on first use


@dataclass(frozen=True, slots=True)
class Check:
    """One check: a stable machine name, its outcome and a sentence in English and Chinese."""

    name: str
    outcome: Outcome
    message: str
    message_zh: str
    subject: str | None = None  # e.g. the signature ("Sign_0") or file the check concerns

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "outcome": self.outcome.value,
            "message": self.message,
            "message_zh": self.message_zh,
        }
        if self.subject is not None:
            d["subject"] = self.subject
        return d


@dataclass(frozen=True, slots=True)
class MissingTrust:
    """A signer whose certificate cannot be checked here: it chains to nothing in the caller's trust
    store.  Not a forgery finding: the verifier lacks the certificate to check it against, and says
    which one to add and where (the trust directory, ``--trust DIR``, or the ``TrustStore``)."""

    signature: str
    subject: str
    issuer: str
    fingerprint_sha256: str

    @property
    def advice(self) -> str:
        return (f"add the root or CA certificate of {self.issuer} (or this certificate itself, SHA-256 "
                f"{self.fingerprint_sha256}) to the trust directory (--trust DIR) or TrustStore")

    @property
    def advice_zh(self) -> str:
        return (f"请将 {self.issuer} 的根证书或 CA 证书（或该证书本身，SHA-256 {self.fingerprint_sha256}）"
                "加入信任目录（--trust DIR）或 TrustStore")

    def to_dict(self) -> dict[str, Any]:
        return {"signature": self.signature, "subject": self.subject, "issuer": self.issuer,
                "fingerprint_sha256": self.fingerprint_sha256, "advice": self.advice}


@dataclass(frozen=True, slots=True)
class SignerSummary:
    """Who signed, as far as the verifier could tell, and when they claim to have signed.

    ``missing_trust`` is set when the signer's certificate could not be checked here (no path to
    the trust store), as opposed to found invalid."""

    signature: str
    kind: str  # "Sign" or "Seal"
    subject: str | None
    algorithm: str | None
    signing_time: datetime | None
    trusted: bool
    missing_trust: MissingTrust | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "signature": self.signature,
            "type": self.kind,
            "subject": self.subject,
            "algorithm": self.algorithm,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "trusted": self.trusted,
            "cannot_be_checked_here": None if self.missing_trust is None else self.missing_trust.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """What verification found.  ``metadata`` is read only from signed content."""

    source: str
    checks: tuple[Check, ...]
    required: tuple[str, ...]
    verified_at: datetime
    metadata: CoreMetadata | None = None
    signers: tuple[SignerSummary, ...] = ()
    identifier: str | None = None
    # an annotated copy (加注件): its metadata (use reason, expiry...) and the report of the original inside
    annotated_copy: CopyMetadata | None = None
    original: VerificationReport | None = None

    @property
    def ok(self) -> bool:
        """True only when nothing failed and every required check ran and passed."""
        if not self.checks or any(c.outcome is Outcome.FAIL for c in self.checks):
            return False
        passed = {c.name for c in self.checks if c.outcome is Outcome.PASS}
        return all(name in passed for name in self.required)

    def __bool__(self) -> bool:  # pragma: no cover - explicit is better; kept for convenience
        return self.ok

    @property
    def cannot_be_checked_here(self) -> tuple[MissingTrust, ...]:
        """Signers whose certificate chains to nothing in the trust store: which certificate to add
        to check them (distinct from a signer found invalid)."""
        return tuple(s.missing_trust for s in self.signers if s.missing_trust is not None)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.outcome is Outcome.FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.outcome is Outcome.WARN)

    @property
    def missing_required(self) -> tuple[str, ...]:
        passed = {c.name for c in self.checks if c.outcome is Outcome.PASS}
        return tuple(n for n in self.required if n not in passed)

    def check(self, name: str) -> tuple[Check, ...]:
        """All checks with this name (several signatures give several).

        :param name: a check name (``signature_value``, ``signer_trust``…).
        :returns: the checks with that name, in order.
        """
        return tuple(c for c in self.checks if c.name == name)

    def failed(self, name: str) -> bool:
        """Whether a check of this name failed.

        :param name: a check name.
        :returns: ``True`` when one of them failed.
        """
        return any(c.outcome is Outcome.FAIL for c in self.check(name))

    def to_dict(self) -> dict[str, Any]:
        d = {
            "source": self.source,
            "ok": self.ok,
            "identifier": self.identifier,
            "verified_at": self.verified_at.isoformat(),
            "checks": [c.to_dict() for c in self.checks],
            "missing_required": list(self.missing_required),
            "signers": [s.to_dict() for s in self.signers],
            "metadata": _metadata_dict(self.metadata),
        }
        if self.annotated_copy is not None:
            d["annotated_copy"] = _copy_dict(self.annotated_copy)
        if self.original is not None:
            d["original"] = self.original.to_dict()
        return d

    def to_json(self) -> str:
        """The report as JSON text (:meth:`to_dict`), Chinese kept as it is."""
        import json

        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=False)

    def to_text(self, lang: Literal["en", "zh"] = "en") -> str:
        """A human summary: verdict line, then one line per check.

        :param lang: ``"en"`` or ``"zh"``.
        :returns: the text, one line per check.
        """
        if lang == "zh":
            verdict = "有效" if self.ok else "无效"
            head = f"{_SOURCES_ZH.get(self.source, self.source)}: {verdict}"
            if self.identifier:
                head += f"（证照标识 {self.identifier}）"
        else:
            verdict = "VALID" if self.ok else "NOT VALID"
            head = f"{self.source}: {verdict}"
            if self.identifier:
                head += f" (identifier {self.identifier})"
        lines = [_copy_head(self.annotated_copy, verdict, lang) if self.annotated_copy else head]
        if self.annotated_copy is not None:
            lines += _copy_lines(self.annotated_copy, lang)
        for c in self.checks:
            mark = {"pass": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}[c.outcome.value]
            subject = f"[{c.subject}] " if c.subject else ""
            if lang == "zh":
                subject = re.sub(_SIGNATURE_SUBJECT, r"签名 \1", subject)
                lines.append(f"  {_OUTCOME_ZH[c.outcome]} {_label_zh(c.name)}: {subject}{c.message_zh}")
            else:
                lines.append(f"  {mark} {c.name}: {subject}{c.message}")
        for name in self.missing_required:
            if self.failed(name):
                continue  # its failure is listed above; say only what never ran or never passed
            if lang == "zh":
                lines.append(f"  失败 {_label_zh(name)}: 必需的检查未执行或未通过")
            else:
                lines.append(f"  FAIL {name}: required check did not run or did not pass")
        if self.original is not None:
            lines += ["  " + line for line in self.original.to_text(lang).splitlines()]
        return "\n".join(lines)


def _label_zh(name: str) -> str:
    """``文件摘要（references）``: the Chinese label, with the machine name a script greps for."""
    label = CHECK_LABELS_ZH.get(name)
    return f"{label}（{name}）" if label else name


def _copy_dict(md: CopyMetadata) -> dict[str, Any]:
    """The copy's fields for JSON readers (the window page, scripts): what it is and what it allows."""
    return {
        "kind": "加注件",
        "copy_id": md.copy_id,
        "reason": md.reason,
        "valid_until": md.valid_until.isoformat(),
        "expires_at": md.expires_at.isoformat(),
        "maker": md.maker,
        "made_at": md.made_at.isoformat(),
        "level": md.level.value,
        "organisation": md.organisation,
        "original_identifier": md.original_identifier,
        "original_sm3": md.original_sm3,
        "watermark": md.watermark_text(),
        "elements": md.to_dict(),
    }


def _copy_head(md: CopyMetadata, verdict: str, lang: str) -> str:
    if lang == "zh":
        return f"加注件: {verdict}（加注件标识 {md.copy_id}，原件证照标识 {md.original_identifier}）"
    return f"annotated copy (加注件): {verdict} (copy {md.copy_id} of {md.original_identifier})"


def _copy_lines(md: CopyMetadata, lang: str) -> list[str]:
    until = md.valid_until.isoformat()
    if lang == "zh":
        return [f"  制作事由（用途）: {md.reason}", f"  有效期至: {until}（北京时间当日结束）",
                f"  提供机构: {md.organisation}；制作者: {md.maker}；制作时间: {md.made_at.isoformat()}；"
                f"级别: {md.level.value}"]
    return [f"  use reason: {md.reason}", f"  valid until: end of {until} (China time)",
            f"  released by: {md.organisation}; made by {md.maker} at {md.made_at.isoformat()}; "
            f"level {md.level.value}"]


def _metadata_dict(md: CoreMetadata | None) -> dict[str, str] | None:
    if md is None:
        return None
    return dict(md.to_dict(keys="english"))


@dataclass
class ReportBuilder:
    """Collects checks while a verifier runs; ``build()`` freezes them into a report."""

    source: str
    required: Sequence[str]
    verified_at: datetime
    checks: list[Check] = field(default_factory=list)

    def add(
        self, name: str, outcome: Outcome, message: str, message_zh: str, subject: str | None = None
    ) -> Check:
        c = Check(name, outcome, message, message_zh, subject)
        self.checks.append(c)
        return c

    def passed(self, name: str, message: str, message_zh: str, subject: str | None = None) -> Check:
        return self.add(name, Outcome.PASS, message, message_zh, subject)

    def fail(self, name: str, message: str, message_zh: str, subject: str | None = None) -> Check:
        return self.add(name, Outcome.FAIL, message, message_zh, subject)

    def warn(self, name: str, message: str, message_zh: str, subject: str | None = None) -> Check:
        return self.add(name, Outcome.WARN, message, message_zh, subject)

    def skip(self, name: str, message: str, message_zh: str, subject: str | None = None) -> Check:
        return self.add(name, Outcome.SKIP, message, message_zh, subject)

    def extend(self, checks: Iterable[Check]) -> None:
        self.checks.extend(checks)

    def build(
        self,
        *,
        metadata: CoreMetadata | None = None,
        signers: Iterable[SignerSummary] = (),
        identifier: str | None = None,
        annotated_copy: CopyMetadata | None = None,
        original: VerificationReport | None = None,
    ) -> VerificationReport:
        return VerificationReport(
            source=self.source,
            checks=tuple(self.checks),
            required=tuple(self.required),
            verified_at=self.verified_at,
            metadata=metadata,
            signers=tuple(signers),
            identifier=identifier,
            annotated_copy=annotated_copy,
            original=original,
        )
