"""The offline exchange package through the CLI (a front-end machine between a city and the
province), and reconciliation naming what differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecert.cli import main
from ecert.exchange.reconcile import compare, differences, summarise
from ecert.registry import CertStatus, SQLiteRegistry

from .certs import NOW, OTHER_DEPARTMENT_CODE
from .test_exchange import batch_payload, issue


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The city's exchange key, certified by an exchange CA the province configures: made by CLI."""
    k = tmp_path_factory.mktemp("keys")
    assert main(["keygen", "-o", str(k / "ca.key.pem")]) == 0
    assert (
        main(
            [
                "cert",
                "root",
                "--key",
                str(k / "ca.key.pem"),
                "--cn",
                "示例省数据交换CA",
                "-o",
                str(k / "ca.pem"),
            ]
        )
        == 0
    )
    assert main(["keygen", "-o", str(k / "city.key.pem")]) == 0
    assert (
        main(
            [
                "cert",
                "issuer",
                "--ca-key",
                str(k / "ca.key.pem"),
                "--ca-cert",
                str(k / "ca.pem"),
                "--key",
                str(k / "city.key.pem"),
                "--cn",
                "示例市前置机",
                "--org",
                "示例市大数据局",
                "-o",
                str(k / "city.pem"),
            ]
        )
        == 0
    )
    return k


def _export(city: Path, keys: Path, out: Path, after: int = 0) -> int:
    return main(
        [
            "exchange",
            "export",
            "--library",
            str(city),
            "--key",
            str(keys / "city.key.pem"),
            "--cert",
            str(keys / "city.pem"),
            "--after",
            str(after),
            "-o",
            str(out),
        ]
    )


def _import(package: Path, province: Path, keys: Path, *extra: str) -> int:
    return main(
        [
            "exchange",
            "import",
            str(package),
            "--library",
            str(province),
            "--sender-cert",
            str(keys / "ca.pem"),
            "--region",
            "330100",
            *extra,
        ]
    )


def test_export_import_reconcile_through_a_front_end_machine(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city, province = tmp_path / "city.db", tmp_path / "province.db"
    with SQLiteRegistry.open(city) as c:
        first = issue(c, "2026000001")
        issue(c, "2026000002")
    SQLiteRegistry.open(province).close()
    assert _export(city, keys, tmp_path / "p1.json") == 0
    assert _import(tmp_path / "p1.json", province, keys) == 0
    assert "2 accepted" in capsys.readouterr().out
    assert main(["exchange", "reconcile", "--library", str(city), "--other", str(province)]) == 0
    assert "no difference" in capsys.readouterr().out

    with SQLiteRegistry.open(city) as c:
        c.set_status(first, CertStatus.REVOKED, reason="吊销", by="张三", at=NOW)
    # before the next package arrives, reconciliation names the group and the record
    assert main(["exchange", "reconcile", "--library", str(city), "--other", str(province)]) == 1
    out = capsys.readouterr().out
    assert "11330100MB01234570|" in out and "same count, different content" in out and first in out
    # the offline form: a summary file from the province, compared at the city
    assert (
        main(
            [
                "exchange",
                "reconcile",
                "--library",
                str(province),
                "--write-summary",
                str(tmp_path / "prov.json"),
            ]
        )
        == 0
    )
    assert (
        main(["exchange", "reconcile", "--library", str(city), "--summary", str(tmp_path / "prov.json")]) == 1
    )
    assert _export(city, keys, tmp_path / "p2.json", after=2) == 0
    assert _import(tmp_path / "p2.json", province, keys) == 0
    assert (
        main(["exchange", "reconcile", "--library", str(city), "--summary", str(tmp_path / "prov.json")]) == 1
    )
    assert (
        main(
            [
                "exchange",
                "reconcile",
                "--library",
                str(province),
                "--write-summary",
                str(tmp_path / "prov.json"),
            ]
        )
        == 0
    )
    assert (
        main(["exchange", "reconcile", "--library", str(city), "--summary", str(tmp_path / "prov.json")]) == 0
    )
    # the whole log again (a replay): nothing changes, every record already there
    assert _export(city, keys, tmp_path / "all.json") == 0
    capsys.readouterr()
    assert _import(tmp_path / "all.json", province, keys) == 0
    assert "0 accepted, 3 already, 0 refused" in capsys.readouterr().out


def test_import_names_refusals_and_gaps(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city, province = tmp_path / "city.db", tmp_path / "province.db"
    with SQLiteRegistry.open(city) as c:
        issue(c, "2026000001")
        foreign = issue(c, "2026000009", OTHER_DEPARTMENT_CODE)
    SQLiteRegistry.open(province).close()
    assert _export(city, keys, tmp_path / "later.json", after=1) == 0
    capsys.readouterr()
    assert _import(tmp_path / "later.json", province, keys) == 1
    assert "gap: events 1-1" in capsys.readouterr().out
    assert _export(city, keys, tmp_path / "all.json") == 0
    assert _import(tmp_path / "all.json", province, keys) == 1
    out = capsys.readouterr().out
    assert f"{foreign}: refused" in out and OTHER_DEPARTMENT_CODE in out
    assert (
        _import(tmp_path / "all.json", province, keys, "--issuer", OTHER_DEPARTMENT_CODE) == 0
    )  # now allowed
    # a package signed by a key the province does not know
    assert (
        main(
            [
                "exchange",
                "import",
                str(tmp_path / "all.json"),
                "--library",
                str(province),
                "--sender-cert",
                str(keys / "city.key.pem"),
                "--region",
                "330100",
            ]
        )
        == 2
    )


def test_reconcile_names_exactly_the_differing_records(tmp_path: Path) -> None:
    with SQLiteRegistry.open(tmp_path / "a.db") as a, SQLiteRegistry.open(tmp_path / "b.db") as b:
        for n in range(1, 6):
            issue(a, f"202600000{n}")
            if n != 3:
                issue(b, f"202600000{n}")
        found = differences(a, b)
        assert (
            len(found) == 1 and len(found[0].only_ours) == 1 and ".2026000003.001." in found[0].only_ours[0]
        )
        assert not found[0].only_theirs and not found[0].changed
        assert compare(summarise(a), summarise(a)) == []
        assert [d.group for d in compare(summarise(a), summarise(b))] == [found[0].group]


def test_export_can_carry_the_ministry_codes(
    tmp_path: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--status-codes`` puts certState / operateType in every batch (spec/exchange.md §6), and the
    province applies a package that carries them as one without."""
    import base64
    import json

    city, province = tmp_path / "city.db", tmp_path / "province.db"
    with SQLiteRegistry.open(city) as c:
        ident = issue(c, "2026000001")
        c.set_status(ident, CertStatus.SUSPENDED, reason="核查", by="李四", at=NOW)
    SQLiteRegistry.open(province).close()
    out = tmp_path / "p.json"
    export = ["exchange", "export", "--library", str(city), "--key", str(keys / "city.key.pem"),
              "--cert", str(keys / "city.pem"), "-o", str(out)]  # fmt: skip
    assert main([*export, "--status-codes", "mohurd-b"]) == 0
    (batch,) = json.loads(out.read_text(encoding="utf-8"))["batches"]
    payload = batch_payload(base64.b64decode(batch))
    assert payload["ministry"]["profile"] == "mohurd-b"
    assert [r["certState"] for r in payload["ministry"]["records"]] == ["01", "02"]
    assert _import(out, province, keys) == 0
    assert "2 accepted" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse: an unknown profile is a usage error
        main([*export, "--status-codes", "mohurd-z"])
