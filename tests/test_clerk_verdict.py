"""A window clerk's verification: the verdict and whose certificate first, scanners and scans, many files."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

from ecert.cli import main
from ecert.verdict import default_lang, mask_holder_code

AT = "2026-11-24T10:00+08:00"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--at", AT]) == 0
    return out


def _builder_file(demo: Path) -> Path:
    """The demo's 二级建造师注册证书: a natural person, holder code a citizen ID number."""
    return next(p for p in demo.glob("*.ofd") if "11100000000013338W001" in p.name)


def _qr_png(demo: Path, ofd: Path) -> Path:
    return demo / "qr" / f"{ofd.stem}.png"


def test_the_first_line_is_the_verdict_and_whose_it_is(
    demo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ofd = _builder_file(demo)
    trust = ["--trust", str(demo / "trust")]
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert main(["verify", str(ofd), *trust]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (
        "有效：二级建造师注册证书，持证主体 李志国（公民身份号码 130602********3451），"
        "证照编号 冀2132014201512345，颁发机构 示例市政务服务数据管理局，"
        "有效期 2026年11月24日至2029年11月23日"
    )
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert main(["verify", str(ofd), *trust, "--unmask"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(
        "VALID: 二级建造师注册证书 of 李志国 (130602198807083451), number 冀2132014201512345"
    )
    assert first.endswith("issued by 示例市政务服务数据管理局, valid 2026-11-24 to 2029-11-23")
    assert main(["verify", str(ofd), *trust, "--lang", "zh"]) == 0
    assert capsys.readouterr().out.startswith("有效：")
    # a business licence's holder code (a USCC) is not masked; a broken file says why in its one line
    licence = next(p for p in demo.glob("*.ofd") if "11100000MB0143028R001" in p.name)
    assert main(["verify", str(licence), *trust, "--lang", "zh"]) == 0
    assert "（统一社会信用代码 91" in capsys.readouterr().out.splitlines()[0]


def test_masking_and_locale() -> None:
    assert mask_holder_code("11010519491231002X", "111") == "110105********002X"
    assert mask_holder_code("91110108MA01234567", "001") == "91110108MA01234567"
    assert default_lang({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert default_lang({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert default_lang({}) == "en"


def test_a_folder_ends_with_a_summary_and_quiet_prints_only_failures(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    files = sorted(demo.glob("*.ofd"))
    for f in files:
        shutil.copy(f, folder)
    trust = ["--trust", str(demo / "trust"), "--lang", "en"]
    assert main(["verify", str(folder), *trust]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().splitlines()[-1] == f"{len(files)} checked: {len(files)} valid, 0 not valid"
    assert main(["verify", str(folder), *trust, "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    bad = folder / files[0].name
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    assert main(["verify", str(folder), *trust, "--quiet"]) == 1
    out = capsys.readouterr().out
    verdicts = [line for line in out.splitlines() if line.startswith(("VALID", "NOT VALID"))]
    assert len(verdicts) == 1 and verdicts[0].startswith("NOT VALID")  # the valid ones are not shown
    assert out.rstrip().endswith(f"{len(files)} checked: {len(files) - 1} valid, 1 not valid")


def test_qr_payloads_from_stdin_one_per_line(
    demo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A USB scanner types each code and Enter; a bad line is reported and the next still checked."""
    keys = ["--key", str(demo / "keys" / "issuer.key.pem"), "--cert", str(demo / "keys" / "issuer.cert.pem")]
    payloads = []
    for ofd in sorted(demo.glob("*.ofd"))[:2]:
        assert main(["qr", str(ofd), *keys, "--print"]) == 0
        payloads.append(capsys.readouterr().out.strip())
    assert all("$" in p or "%" in p or ":" in p for p in payloads)  # why the help says single quotes
    lines = f"{payloads[0]}\nnot a payload\n\n{payloads[1]}\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["verify", "--qr", "-", "--trust", str(demo / "trust"), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    verdicts = [line for line in out.splitlines() if line.startswith(("VALID", "NOT VALID"))]
    assert [v.split(":")[0] for v in verdicts] == ["VALID", "NOT VALID", "VALID"]
    assert out.rstrip().endswith("3 checked: 2 valid, 1 not valid")


def test_the_help_quotes_payloads_safely(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = capsys.readouterr().out
    assert "--qr EC2:..." in text and '--qr "EC' not in text and "--qr -" in text


def test_ecert_qr_by_default_makes_a_code_verify_checks_offline(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ofd = _builder_file(demo)
    png = tmp_path / "qr.png"
    assert main(["qr", str(ofd), "-o", str(png)]) == 2  # signed: needs the issuer's key, and says so
    assert "--key" in capsys.readouterr().err
    keys = ["--key", str(demo / "keys" / "issuer.key.pem"), "--cert", str(demo / "keys" / "issuer.cert.pem")]
    assert main(["qr", str(ofd), "-o", str(png), *keys]) == 0
    capsys.readouterr()
    assert main(["verify", "--qr", str(png), "--trust", str(demo / "trust")]) == 0


def test_tiff_pages_and_pdf_scans(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    qr = Image.open(_qr_png(demo, _builder_file(demo))).convert("L")
    blank = Image.new("L", qr.size, 255)
    tiff = tmp_path / "scan.tiff"
    blank.save(tiff, save_all=True, append_images=[qr])  # the code on page 2
    trust = ["--trust", str(demo / "trust")]
    assert main(["verify", "--qr", str(tiff), *trust]) == 0
    pytest.importorskip("pypdfium2")
    page = Image.new("L", (qr.width * 3, qr.height * 4), 255)
    page.paste(qr, (qr.width, qr.height))
    pdf = tmp_path / "scan.pdf"
    page.save(pdf, format="PDF", resolution=150)  # Pillow writes it, PDFium reads it
    assert main(["verify", "--qr", str(pdf), *trust]) == 0
    capsys.readouterr()


def test_pdf_without_pypdfium2_and_an_image_without_a_code_say_what_to_do(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    trust = ["--trust", str(demo / "trust")]
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    assert main(["verify", "--qr", str(blank), *trust]) == 2
    err = capsys.readouterr().err
    assert "no readable QR code" in err and "crop" in err and "resolution" in err
    pdf = tmp_path / "scan.pdf"
    Image.new("L", (200, 200), 255).save(pdf, format="PDF")
    monkeypatch.setitem(sys.modules, "pypdfium2", None)
    assert main(["verify", "--qr", str(pdf), *trust]) == 2
    err = capsys.readouterr().err
    assert "needs pypdfium2" in err and "pip install 'ecert[pdf]'" in err


def test_several_status_lists_or_a_folder(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, lists = tmp_path / "r.db", tmp_path / "lists"
    lists.mkdir()
    keys = ["--key", str(demo / "keys" / "issuer.key.pem"), "--cert", str(demo / "keys" / "issuer.cert.pem")]
    assert main(["registry", "init", "--registry", str(db)]) == 0
    assert main(["registry", "status-list", "--registry", str(db), *keys, "-o", str(lists / "a.json")]) == 0
    capsys.readouterr()
    ofd = str(_builder_file(demo))
    trust = ["--trust", str(demo / "trust"), "--lang", "en"]
    assert main(["verify", ofd, *trust, "--status", str(lists)]) == 0
    assert "ok   status" in capsys.readouterr().out
    assert main(["verify", ofd, *trust, "--status", str(lists / "a.json"), "--status", str(lists)]) == 0
    capsys.readouterr()
    empty = tmp_path / "none"
    empty.mkdir()
    assert main(["verify", ofd, *trust, "--status", str(empty)]) == 2
    assert "no status list" in capsys.readouterr().err


def test_a_department_not_in_the_trust_directory_cannot_be_checked_here(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a forgery: the verdict says what to add, and the summary counts it apart from 'not valid'."""
    empty = tmp_path / "trust"
    empty.mkdir()
    files = [str(p) for p in sorted(demo.glob("*.ofd"))[:2]]
    assert main(["verify", *files, "--trust", str(empty), "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("无法在此核验：") and "加入信任目录" in first and "无效" not in first
    assert out.rstrip().endswith("共核验 2 份：有效 0 份，无效 0 份，无法在此核验 2 份")
    assert main(["verify", files[0], "--trust", str(empty), "--lang", "en"]) == 1
    assert capsys.readouterr().out.startswith("CANNOT BE CHECKED HERE: ")
