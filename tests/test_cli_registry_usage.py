"""``ecert registry usage``: the holder's view of who used a certificate, in China time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecert.cli import main
from ecert.registry import SQLiteRegistry, Usage

from .test_cli_registry import UNKNOWN
from .test_registry import NOW, metadata

AT = datetime(2026, 11, 24, 17, 30, 5, tzinfo=UTC)  # 2026-11-25 01:30:05 in Beijing: the day differs


def _registry(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "reg.db"
    with SQLiteRegistry.open(path) as reg:
        ident = reg.record_issued(metadata("2026000001"), package_digest="00" * 32, signer="s", issued_at=NOW)
        use = Usage("tax", "示例市税务局", "王经办", "get", "found", ident.identifier, reason="办理开办登记")
        reg.record_usage(use, at=AT)
        case = Usage("court", "示例市法院", "李法官", "download", "found", ident.identifier,
                     item_code="330100-001", case_number="（2026）浙0102民初1号", copy_id="C-1")  # fmt: skip
        reg.record_usage(case, at=AT)
    return path, ident.identifier


def test_usage_lists_each_use_in_china_time_with_its_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, ident = _registry(tmp_path)
    assert main(["registry", "usage", ident, "--registry", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "2026-11-25 01:30:05  示例市税务局 (tax, 王经办)  get → found: 办理开办登记",
        "2026-11-25 01:30:05  示例市法院 (court, 李法官)  download of copy C-1 → found: "
        "330100-001 / （2026）浙0102民初1号",
    ]
    assert main(["registry", "usage", ident, "--registry", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [datetime.fromisoformat(r["at"]) for r in rows] == [AT, AT]  # the recorded instant, unchanged
    assert rows[1]["copy_id"] == "C-1"


def test_usage_of_an_unknown_certificate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ident = _registry(tmp_path)
    assert main(["registry", "usage", UNKNOWN, "--registry", str(path)]) == 1  # not found, as `show` says
    captured = capsys.readouterr()
    assert "no certificate" in captured.err and "never used" not in captured.err + captured.out
