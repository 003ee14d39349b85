"""The clerk's verdict (ecert.web.verdict): 有效 / 无效 / 已吊销 / 已过期 / 加注件, never kinder than
the report.

A certificate is called revoked or expired only when everything else about it held: a forged file
that also carries an old date or a revoked identifier is 无效.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ecert.metadata import AnnotatedCopy
from ecert.registry import SQLiteRegistry
from ecert.verify import verify
from ecert.verify.report import ReportBuilder
from ecert.web.verdict import verdict_of

from .certs import NOW, SIGNED_AT, draft, issued_file, trust_store


def test_valid_without_status_source_says_revocation_was_not_checked() -> None:
    v = verdict_of(verify(issued_file(), trust=trust_store(), at=NOW))
    assert (v.kind, v.label) == ("valid", "有效") and "未核查吊销状态" in v.detail and v.genuine


def test_expired_only_when_nothing_else_failed() -> None:
    later = datetime(2040, 1, 1, tzinfo=UTC)  # after the sample's validity; signed while all was valid
    report = verify(issued_file(), trust=trust_store(), at=later)
    assert [c.name for c in report.failures] == ["validity_period"]
    v = verdict_of(report)
    assert (v.kind, v.label, v.failing) == ("expired", "已过期", ("有效期",))
    md = draft().metadata
    assert md.valid_until is not None
    built = _report(
        md,
        ("validity_period",),
        at=datetime.combine(md.valid_until + timedelta(days=1), datetime.min.time(), UTC),
    )
    v = verdict_of(built)
    assert (v.kind, v.label) == ("expired", "已过期") and f"{md.valid_until:%Y-%m-%d}" in v.detail
    forged = _report(md, ("validity_period", "references"), at=built.verified_at)
    assert verdict_of(forged).label == "无效" and "文件摘要" in verdict_of(forged).failing


def test_revoked_only_for_the_recorded_certificate(tmp_path: Path) -> None:
    md = draft().metadata
    with SQLiteRegistry.open(tmp_path / "reg.db") as reg:
        reg.record_issued(md, package_digest="0" * 64, signer="t", issued_at=SIGNED_AT)
        reg.revoke(str(md.identifier), reason="违法经营", by="t", at=SIGNED_AT + timedelta(hours=1))
        report = verify(issued_file(), trust=trust_store(), at=NOW, status=reg)
        v = verdict_of(report, reg)
        assert (v.kind, v.label) == ("revoked", "已吊销") and "违法经营" in v.detail
        assert verdict_of(report).label == "无效"  # without the source the window cannot say more
    # the same identifier recorded for other content: not the issued certificate, so 无效, not 已吊销
    other = dataclasses.replace(md, holder_name="另一个持证人")
    with SQLiteRegistry.open(tmp_path / "other.db") as reg:
        reg.record_issued(other, package_digest="0" * 64, signer="t", issued_at=SIGNED_AT)
        reg.revoke(str(md.identifier), reason="违法经营", by="t", at=SIGNED_AT + timedelta(hours=1))
        report = verify(issued_file(), trust=trust_store(), at=NOW, status=reg)
        assert report.failed("status")
        assert verdict_of(report, reg).label == "无效"


def test_annotated_copy_names_use_and_expiry() -> None:
    md = dataclasses.replace(
        draft().metadata,
        copy=AnnotatedCopy(
            made_at=SIGNED_AT, maker="示例市行政审批局", reason="办理企业开户", valid_until=date(2026, 12, 31)
        ),
    )
    v = verdict_of(_report(md, (), at=NOW))
    assert (v.kind, v.label) == ("copy", "加注件（用途：办理企业开户，有效期至 2026-12-31）")
    v = verdict_of(_report(md, ("copy_expired",), at=NOW))
    assert (
        (v.kind, v.label) == ("expired", "已过期") and "2026-12-31" in v.detail and "办理企业开户" in v.detail
    )


def test_reference_payload_is_not_valid() -> None:
    builder = ReportBuilder("QR code", ("payload", "signature_value"), NOW)
    builder.passed("payload", "reference", "引用")
    builder.warn("reference", "no signature", "不含签名")
    v = verdict_of(builder.build(identifier=str(draft().metadata.identifier)))
    assert v.kind == "reference" and not v.genuine


def _report(md, failing, *, at):  # type: ignore[no-untyped-def]
    """A report of a file whose every required check passed, except ``failing``."""
    builder = ReportBuilder("file", ("package", "signatures", "references"), at)
    for name in ("package", "signatures", "references", "metadata", "validity_period", "copy_expired"):
        if name in failing:
            builder.fail(name, f"{name} failed", f"{name} 失败")
        elif name != "copy_expired" or md.copy is not None:
            builder.passed(name, f"{name} ok", f"{name} 通过")
    return builder.build(metadata=md, identifier=str(md.identifier))
