"""The text form of a verification report, in English and in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

from ecert.verify import verify
from ecert.verify.qr import verify_offline
from ecert.verify.report import CHECK_LABELS_ZH

from .certs import NOW, issued_file, trust_store

SRC = Path(__file__).resolve().parents[1] / "src" / "ecert"


def test_every_check_the_code_reports_has_a_chinese_label() -> None:
    """A check added without a label would show only its English machine name to a Chinese reader."""
    names = {
        m.group(1)
        for path in SRC.rglob("*.py")
        for m in re.finditer(r'\.(?:passed|fail|warn|skip)\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert names >= {"package", "references", "signer_trust", "status"}  # the scan finds them
    assert names <= set(CHECK_LABELS_ZH), sorted(names - set(CHECK_LABELS_ZH))


def test_chinese_text_names_checks_signatures_and_source_in_chinese() -> None:
    text = verify(issued_file(), trust=trust_store(), at=NOW).to_text("zh")
    assert text.splitlines()[0].startswith("文件: 有效")
    assert "  通过 文件摘要（references）: [签名 1] " in text
    assert "signature 1" not in text
    qr = verify_offline("EC1:XYZ", trust=trust_store(), at=NOW).to_text("zh")
    assert qr.splitlines()[0] == "二维码: 无效"
    assert "  失败 签名值（signature_value）: 必需的检查未执行或未通过" in qr


def test_english_text_is_unchanged() -> None:
    text = verify(issued_file(), trust=trust_store(), at=NOW).to_text()
    assert text.splitlines()[0].startswith("file: VALID")
    assert "  ok   references: [signature 1] all " in text
