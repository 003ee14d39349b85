"""The one line a window clerk reads first: the verdict and whose certificate it is.

A verification report lists every check; a clerk holding a citizen's phone needs, before that,
"valid or not, and is it this person's 营业执照": type, holder, holder code, number, issuer and
validity, from the signed metadata only (:attr:`VerificationReport.metadata`).  A citizen ID
number (公民身份号码, holder code type 111) is masked by default, as it is on a screen others see.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ecert.metadata import CoreMetadata
    from ecert.verify.report import VerificationReport

__all__ = [
    "Lang",
    "cannot_be_checked_here",
    "default_lang",
    "mask_holder_code",
    "summary_line",
    "verdict_line",
]

Lang = Literal["en", "zh"]
CITIZEN_ID_TYPE = "111"  # 持证主体代码类型: 公民身份号码 (GB/T 36903)


def default_lang(environ: Mapping[str, str] | None = None) -> Lang:
    """``zh`` when the locale is Chinese (first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` set), else ``en``.

    :param environ: the environment to read (default ``os.environ``).
    :returns: ``"zh"`` or ``"en"``.
    """
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def mask_holder_code(code: str, code_type: str) -> str:
    """A citizen ID number as ``110105********0014`` (first 6 and last 4 kept); other codes as they are.

    :param code: the holder code as signed.
    :param code_type: its 持证主体代码类型代码 (``111`` is a citizen ID number).
    :returns: the code to show on a screen others may see.
    """
    if code_type != CITIZEN_ID_TYPE or len(code) < 11:
        return code
    return code[:6] + "*" * (len(code) - 10) + code[-4:]


def verdict_line(report: VerificationReport, lang: Lang = "zh", *, mask: bool = True) -> str:
    """The verdict first, then type, holder, holder code, number, issuer and validity (signed metadata).

    Without readable metadata (a damaged file, a foreign QR code) the line names the source and
    the first failure instead.

    :param report: a file's or a QR code's verification report.
    :param lang: ``"zh"`` or ``"en"`` (:func:`default_lang` follows the locale).
    :param mask: mask a citizen ID number (:func:`mask_holder_code`).
    :returns: one line, e.g. ``有效：营业执照，持证主体 …``.
    """
    md = report.metadata
    zh = lang == "zh"
    verdict = ("有效" if report.ok else "无效") if zh else ("VALID" if report.ok else "NOT VALID")
    missing = () if report.ok else report.cannot_be_checked_here
    if missing and cannot_be_checked_here(report):
        verdict = "无法在此核验" if zh else "CANNOT BE CHECKED HERE"
    advice = ""
    if missing:
        joined = "；".join(m.advice_zh for m in missing) if zh else "; ".join(m.advice for m in missing)
        advice = f"（{joined}）" if zh else f" ({joined})"
    if md is None:
        reason = next(iter(report.failures), None)
        why = (reason.message_zh if zh else reason.message) if reason else ""
        what = report.identifier or report.source
        detail = (f"（{why}）" if zh else f" ({why})") if why and not advice else ""
        return f"{verdict}{'：' if zh else ': '}{what}{detail}{advice}"
    code = mask_holder_code(md.holder_code, md.holder_code_type_code) if mask else md.holder_code
    validity = _validity(md, zh)
    if zh:
        return (
            f"{verdict}：{md.certificate_name}，持证主体 {md.holder_name}（{md.holder_code_type} {code}），"
            f"证照编号 {md.number}，颁发机构 {md.issuer_name}，有效期 {validity}{advice}"
        )
    return (
        f"{verdict}: {md.certificate_name} of {md.holder_name} ({code}), number {md.number}, "
        f"issued by {md.issuer_name}, valid {validity}{advice}"
    )


def cannot_be_checked_here(report: VerificationReport) -> bool:
    """Not valid only because a signer's certificate chains to nothing this verifier trusts: not a
    forgery finding, a certificate to add (:attr:`VerificationReport.cannot_be_checked_here` says which).

    :param report: a verification report.
    :returns: ``True`` only when every failure is a signer this verifier has no certificate for.
    """
    if report.ok or not report.cannot_be_checked_here:
        return False
    return all(c.name == "signer_trust" for c in report.failures)


def _validity(md: CoreMetadata, zh: bool) -> str:
    def day(d: date) -> str:
        return f"{d.year}年{d.month}月{d.day}日" if zh else d.isoformat()

    start = day(md.valid_from) if md.valid_from else day(md.issue_date)
    if md.long_term:
        end = "长期" if zh else "long-term"
    elif md.valid_until:
        end = day(md.valid_until)
    else:
        end = "?"
    return f"{start}至{end}" if zh else f"{start} to {end}"


def summary_line(reports: list[VerificationReport], lang: Lang = "zh") -> str:
    """``3 checked: 2 valid, 1 not valid`` (what a clerk reads after a folder of files).

    :param reports: the reports of one run.
    :param lang: ``"zh"`` or ``"en"``.
    :returns: the line, counting "cannot be checked here" apart from "not valid".
    """
    valid = sum(1 for r in reports if r.ok)
    unknown = sum(1 for r in reports if cannot_be_checked_here(r))
    invalid = len(reports) - valid - unknown
    if lang == "zh":
        line = f"共核验 {len(reports)} 份：有效 {valid} 份，无效 {invalid} 份"
        return line + (f"，无法在此核验 {unknown} 份" if unknown else "")
    line = f"{len(reports)} checked: {valid} valid, {invalid} not valid"
    return line + (f", {unknown} cannot be checked here" if unknown else "")
