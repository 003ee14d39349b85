"""``ecert bundle make|show`` and ``ecert verify --bundle``: a window with nothing but the bundle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.cli import main


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo department, a province root and its bundle-signing certificate, a bundle: all by CLI."""
    out = tmp_path_factory.mktemp("bundle")
    assert main(["demo", "-o", str(out / "demo")]) == 0
    p = out / "province"
    p.mkdir()
    assert main(["keygen", "-o", str(p / "root.key.pem")]) == 0
    assert (
        main(
            [
                "cert",
                "root",
                "--key",
                str(p / "root.key.pem"),
                "--cn",
                "示例省电子证照根证书",
                "-o",
                str(p / "root.pem"),
            ]
        )
        == 0
    )
    assert main(["keygen", "-o", str(p / "signer.key.pem")]) == 0
    assert (
        main(
            [
                "cert",
                "issuer",
                "--ca-key",
                str(p / "root.key.pem"),
                "--ca-cert",
                str(p / "root.pem"),
                "--key",
                str(p / "signer.key.pem"),
                "--cn",
                "示例省大数据管理局",
                "--org",
                "示例省大数据管理局",
                "-o",
                str(p / "signer.pem"),
            ]
        )
        == 0
    )
    demo = out / "demo"
    assert (
        main(
            [
                "bundle",
                "make",
                "--key",
                str(p / "signer.key.pem"),
                "--cert",
                str(p / "signer.pem"),
                "--anchor",
                str(demo / "trust" / "root.cert.pem"),
                "--issuer",
                str(demo / "keys" / "issuer.cert.pem"),
                "--publisher",
                "示例省",
                "--hours",
                "24",
                "-o",
                str(out / "bundle.json"),
            ]
        )
        == 0
    )
    return out


def _window(made: Path, *extra: str) -> list[str]:
    files = sorted(str(f) for f in (made / "demo").glob("*.ofd"))
    return [
        "verify",
        *files,
        "--bundle",
        str(made / "bundle.json"),
        "--bundle-signer",
        str(made / "province" / "root.pem"),
        *extra,
    ]


def test_show_names_what_the_bundle_holds(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert (
        main(
            [
                "bundle",
                "show",
                str(made / "bundle.json"),
                "--bundle-signer",
                str(made / "province" / "root.pem"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "publisher: 示例省" in out and "anchors: 1" in out and "11330100MB01234570" in out


def test_a_window_verifies_the_demo_certificates_with_only_the_bundle(
    made: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_window(made)) == 0
    qr = sorted((made / "demo" / "qr").glob("*.png"))[0]
    assert (
        main(
            [
                "verify",
                "--qr",
                str(qr),
                "--bundle",
                str(made / "bundle.json"),
                "--bundle-signer",
                str(made / "province" / "root.pem"),
            ]
        )
        == 0
    )


def test_an_expired_or_foreign_bundle_is_refused(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    later = (datetime.now(UTC) + timedelta(hours=30)).isoformat(timespec="seconds")
    capsys.readouterr()
    assert main(_window(made, "--at", later)) == 2
    assert "trust bundle expired" in capsys.readouterr().err
    wrong = [
        "verify",
        str(next((made / "demo").glob("*.ofd"))),
        "--bundle",
        str(made / "bundle.json"),
        "--bundle-signer",
        str(made / "demo" / "trust" / "root.cert.pem"),
    ]
    assert main(wrong) == 2
    assert "not by the province certificate" in capsys.readouterr().err
    assert main([*_window(made), "--trust", str(made / "demo" / "trust")]) == 2  # one or the other
