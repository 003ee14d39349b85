"""The clerk's verdict: one word (有效, 无效, 已吊销, 已过期, 加注件…) derived from a verification report.

The report stays the single source of truth: the verdict only names, in the words a service
window uses, what its checks found.  A certificate is called revoked or expired only when
everything else about it held (intact, signed by a trusted department, the right content):
a forged file that also carries an old date is 无效, not 已过期.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from ecert.errors import EcertError
from ecert.times import china_date
from ecert.verdict import cannot_be_checked_here
from ecert.verify.report import CHECK_LABELS_ZH, Outcome, VerificationReport
from ecert.verify.status import StatusSource

__all__ = ["Verdict", "VerdictKind", "check_label_zh", "verdict_of"]

VerdictKind = Literal["valid", "copy", "invalid", "revoked", "expired", "reference", "unchecked"]

# failures that leave the certificate genuine but not usable now; any other failure makes it 无效
_LIFECYCLE_CHECKS = frozenset({"status", "validity_period", "copy_expired"})
_EXTRA_LABELS_ZH = {"copy": "加注件"}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the window shows first: ``label`` large, ``detail`` under it, the failing checks named."""

    kind: VerdictKind
    label: str
    detail: str
    failing: tuple[str, ...] = ()  # Chinese labels of the checks that failed, in report order

    @property
    def genuine(self) -> bool:
        """True when the content is the issuer's (valid, or valid but revoked/expired): show its face."""
        return self.kind in ("valid", "copy", "revoked", "expired")


def check_label_zh(name: str) -> str:
    """The Chinese name of a check (``文件摘要`` for ``references``); unknown names stay as they are."""
    return CHECK_LABELS_ZH.get(name) or _EXTRA_LABELS_ZH.get(name) or name


def verdict_of(report: VerificationReport, status: StatusSource | None = None) -> Verdict:
    """The verdict for ``report``; ``status`` is the source the report was made with (to name a
    revocation as 已吊销 / 已注销 / 已暂扣 rather than only "the status check failed")."""
    md = report.metadata
    copy = _copy_terms(report)
    if report.ok:
        if copy is not None:
            reason, until, by = copy
            shown = f"，有效期至 {until:%Y-%m-%d}" if until else ""
            return Verdict("copy", f"加注件（用途：{reason}{shown}）", f"{by}；原件与加注件均核验通过")
        unchecked = any(c.name == "status" and c.outcome is Outcome.SKIP for c in report.checks)
        status_note = "；未核查吊销状态（本机未配置状态来源）" if unchecked else ""
        return Verdict("valid", "有效", f"证照真实、完整，签发机构可信，在有效期内{status_note}")
    failing_names = [c.name for c in report.failures]
    failing = tuple(dict.fromkeys(check_label_zh(n) for n in failing_names))
    if any(c.name == "reference" for c in report.checks) and not failing_names:
        return Verdict(
            "reference",
            "无法仅凭二维码核验",
            "这是引用型二维码，不含签名：请提交其指向的证照文件核验",
        )
    if cannot_be_checked_here(report):  # a department certificate this window lacks: not a forgery
        advice = "；".join(m.advice_zh for m in report.cannot_be_checked_here)
        return Verdict("unchecked", "无法在此核验", advice, failing)
    others = [n for n in failing_names if n not in _LIFECYCLE_CHECKS]
    missing = [n for n in report.missing_required if n not in failing_names]
    if others == ["original"] and not missing and report.original is not None:
        # a genuine copy of an original that is itself revoked or expired says so
        inner = verdict_of(report.original, status)
        if inner.kind in ("revoked", "expired"):
            return Verdict(inner.kind, inner.label, f"加注件所含原件：{inner.detail}", failing)
    if others or missing or md is None:
        names = failing or tuple(check_label_zh(n) for n in missing)
        return Verdict(
            "invalid", "无效", f"未通过的检查：{'、'.join(names)}" if names else "核验未完成", names
        )
    if "status" in failing_names:
        revoked = _status_verdict(report, status)
        if revoked is not None:
            return revoked
        return Verdict("invalid", "无效", f"未通过的检查：{'、'.join(failing)}", failing)
    if "copy_expired" in failing_names and copy is not None:
        reason, until, by = copy
        shown = f"{until:%Y-%m-%d}" if until else "（未载明）"
        return Verdict("expired", "已过期", f"加注件已过有效期（有效期至 {shown}），用途：{reason}", failing)
    day = china_date(report.verified_at)
    if md.valid_until is not None and day > md.valid_until:
        return Verdict("expired", "已过期", f"证照有效期至 {md.valid_until:%Y-%m-%d}，已过期", failing)
    return Verdict("invalid", "无效", f"未通过的检查：{'、'.join(failing)}", failing)


def _copy_terms(report: VerificationReport) -> tuple[str, date | None, str] | None:
    """(use reason, last valid day, who released it) of an annotated copy: from the copy's own
    metadata (``ecert.annotate``), or from the 加注件 elements of the core metadata."""
    if report.annotated_copy is not None:
        c = report.annotated_copy
        return c.reason, c.valid_until, f"由 {c.organisation} 提供（制作者：{c.maker}）"
    if report.metadata is not None and report.metadata.copy is not None:
        m = report.metadata.copy
        return m.reason, m.valid_until, f"由 {m.maker} 制作"
    return None


def _status_verdict(report: VerificationReport, status: StatusSource | None) -> Verdict | None:
    """已吊销 (or 已注销, 已暂扣): only when the status check failed on the entry itself, not because
    the source could not answer or recorded other content under the identifier."""
    if status is None or report.identifier is None:
        return None
    try:
        entry = status.status_of(report.identifier)
    except EcertError:  # a source failing now leaves the report's own word (无效)
        return None
    if entry is None or entry.is_valid:
        return None
    said = [c for c in report.failures if c.name == "status"]
    if not said or not all(
        c.message.startswith(f"the certificate is {entry.status_name} since") for c in said
    ):
        return None
    reason = f"，原因：{entry.reason}" if entry.reason else ""
    return Verdict(
        "revoked",
        f"已{entry.status_name_zh}",
        f"证照已于 {entry.changed_at:%Y-%m-%d} {entry.status_name_zh}{reason}",
        (check_label_zh("status"),),
    )
