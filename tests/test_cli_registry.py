"""``ecert registry``: exit codes (0 done, 1 not found / refused, 2 usage or unreadable registry)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecert.cli import main
from ecert.crypto.keys import save_private_key
from ecert.registry import CertStatus, SQLiteRegistry, StatusList

from .certs import hierarchy, trust_store
from .test_registry import HOLDER, ISSUER, NOW, OTHER_HOLDER, TYPE, metadata

UNKNOWN = "1.2.156.3005.2.11100000000013338W001.11330100MB01234570.9999.001.0"


@pytest.fixture
def db(tmp_path: Path) -> tuple[Path, str, str]:
    """A registry with two certificates (the second one renewed once)."""
    path = tmp_path / "reg.db"
    assert main(["registry", "init", "--registry", str(path)]) == 0
    with SQLiteRegistry.open(path) as reg:
        a = reg.record_issued(metadata("2026000001"), package_digest="00" * 32, signer="s", issued_at=NOW)
        b = reg.record_issued(
            metadata("2026000002", holder=OTHER_HOLDER), package_digest="00" * 32, signer="s", issued_at=NOW
        )
        reg.renew(
            b.identifier,
            metadata("2026000002", 2, holder=OTHER_HOLDER),
            package_digest="01" * 32,
            signer="s",
            issued_at=NOW,
        )
    return path, a.identifier, b.identifier


def run(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        return int(exc.code or 0)


def test_init_is_idempotent(db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, _a, _b = db
    assert run("registry", "init", "--registry", str(path)) == 0
    assert "ready" in capsys.readouterr().out


def test_show(db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, a, b = db
    assert run("registry", "show", a, "--registry", str(path)) == 0
    text = capsys.readouterr().out
    assert f"identifier: {a}" in text and "status: valid" in text and "status_code: 01" in text
    assert run("registry", "show", b, "--registry", str(path), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "replaced" and shown["replaced_by"].endswith(".002." + shown["replaced_by"][-1])
    assert shown["versions"] == [b, shown["replaced_by"]] and shown["status_code"] is None
    assert [h["status"] for h in shown["history"]] == ["valid", "replaced"]
    assert run("registry", "show", UNKNOWN, "--registry", str(path)) == 1
    assert "no certificate" in capsys.readouterr().err
    assert run("registry", "show", a, "--registry", str(path.with_name("missing.db"))) == 2
    assert not path.with_name("missing.db").exists()  # reading never creates a registry


def test_find(db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, a, _b = db
    reg = ("--registry", str(path))
    assert run("registry", "find", "--holder", HOLDER, *reg, "--json") == 0
    assert [r["identifier"] for r in json.loads(capsys.readouterr().out)] == [a]
    assert run("registry", "find", "--type", TYPE, "--issuer", ISSUER, *reg) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert (
        run("registry", "find", "--from", "2026-11-24", "--to", "2026-11-24", "--status", "valid", *reg) == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert run("registry", "find", "--from", "2026-11-25", *reg) == 1
    assert run("registry", "find", "--status", "revoked", *reg) == 1
    assert run("registry", "find", "--status", "lost", *reg) == 2
    assert run("registry", "find", "--from", "yesterday", *reg) == 2
    assert run("registry", "find", "--limit", "0", *reg) == 2


def test_status_changes(db: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, a, b = db
    reg = ("--registry", str(path))
    assert run("registry", "suspend", a, "--reason", "暂扣", "--by", "张三", *reg) == 0
    assert run("registry", "suspend", a, "--reason", "again", *reg) == 1
    assert "already suspended" in capsys.readouterr().err
    assert run("registry", "reinstate", a, "--reason", "发还", *reg) == 0
    assert run("registry", "revoke", a, "--reason", "吊销", "--at", "2030-01-01T08:00+08:00", *reg) == 0
    assert run("registry", "cancel", a, "--reason", "注销", *reg) == 1
    assert run("registry", "cancel", b, "--reason", "注销", *reg) == 1  # replaced is final
    assert run("registry", "revoke", UNKNOWN, "--reason", "x", *reg) == 1
    assert run("registry", "revoke", a, *reg) == 2  # --reason is required
    assert run("registry", "revoke", a, "--reason", "x", "--at", "2030-01-01T08:00", *reg) == 2  # no zone
    with SQLiteRegistry.open(path) as opened:
        record = opened.get(a)
        assert record.status is CertStatus.REVOKED and record.status_reason == "吊销"
        assert [h.by for h in opened.history(a)][1] == "张三"


def test_status_list(db: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, a, b = db
    h = hierarchy("sm2")
    key, cert = tmp_path / "issuer.key.pem", tmp_path / "issuer.pem"
    key.write_bytes(save_private_key(h.issuer_key))
    cert.write_bytes(h.issuer_cert.to_pem() + h.root_cert.to_pem())
    assert run("registry", "revoke", a, "--reason", "吊销", "--registry", str(path)) == 0
    out = tmp_path / "status.json"
    signing = ("--key", str(key), "--cert", str(cert), "-o", str(out))
    assert run("registry", "status-list", "--registry", str(path), *signing, "--next-update-days", "1") == 0
    assert "2 entries" in capsys.readouterr().out
    loaded = StatusList.load(out.read_bytes(), trust=trust_store("sm2"))
    assert {e.identifier for e in loaded.entries} == {a, b} and loaded.next_update is not None
    assert run("registry", "status-list", "--registry", str(path), *signing, "--next-update-days", "0") == 0
    assert StatusList.load(out.read_bytes(), trust=trust_store("sm2")).next_update is None
    assert run("registry", "status-list", "--registry", str(path), *signing, "--next-update-days", "-1") == 2
    assert run("registry", "status-list", "--registry", str(path), "-o", str(out)) == 2  # no key


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("", "init", "show", "find", "revoke", "cancel", "suspend", "reinstate", "status-list"):
        assert run(*["registry", action, "--help"] if action else ["registry", "--help"]) == 0
        assert "ecert registry" in capsys.readouterr().out.split("example")[-1]
    assert run("registry") == 2
