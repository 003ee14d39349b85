"""The files a service window is handed, made for the window tests: a demo set, a tampered copy,
a revoked certificate (signed status list and registry), an expired one, QR pictures and hostile
uploads.  Shared by tests/test_window_api.py and tests/test_window_page.py."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecert.cli import main

ROOT = Path(__file__).resolve().parents[1]
BUSINESS_LICENCE = "11100000MB0143028R001"  # 营业执照, holder 北京示例科技有限公司
REVOKED_TYPE = "11100000MB0143028R002"
BUILDER = "11100000000013338W001"  # 二级建造师注册证书, holder 李志国
REVOKE_REASON = "以欺骗手段取得许可"
COPY_REASON = "办理企业银行开户"


@dataclass(frozen=True)
class WindowCases:
    root: Path
    trust: Path
    valid: Path  # 营业执照 of 北京示例科技有限公司
    valid_holder: str
    tampered: Path  # the valid file with one page's text changed after signing
    revoked: Path  # revoked in status.json and in registry.db
    expired: Path  # signed today, validity ended 2025-01-01
    copy_valid: Path  # an annotated copy (加注件) of the valid file, for COPY_REASON, valid 30 more days
    copy_expired: Path  # one whose last day was yesterday
    copy_expired_until: str  # that day, YYYY-MM-DD
    copy_of_revoked: Path  # a copy of the revoked file (the copy is fine, the original is not)
    status_list: Path
    registry: Path
    qr_valid: Path  # `ecert qr --kind offline` of the valid file
    qr_revoked: Path
    payload_valid: str  # the text in qr_valid
    not_an_image: Path
    zip_bomb: Path
    huge: Path  # 50 MB


def _by_type(folder: Path, type_code: str) -> Path:
    (match,) = [p for p in folder.glob("*.ofd") if p.name.startswith(f"1.2.156.3005.2.{type_code}.")]
    return match


def _tamper(original: Path, out: Path, old: str, new: str) -> None:
    """Change text on the face after signing, keeping the ZIP well-formed (only the digest tells)."""
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        changed = 0
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("Content.xml") and old.encode() in data:
                data = data.replace(old.encode(), new.encode())
                changed += 1
            dst.writestr(info.filename, data)
    assert changed, f"{old!r} not found on any page of {original}"


def _zip_bomb(out: Path) -> None:
    """An OFD-looking ZIP whose one entry inflates 1,000-fold to 100 MB (the reader refuses it)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
        with z.open("Doc_0/Document.xml", "w") as entry:
            block = b"\0" * (1024 * 1024)
            for _ in range(100):
                entry.write(block)


_MADE: dict[str, WindowCases] = {}


def shared_cases(tmp_path_factory: pytest.TempPathFactory) -> WindowCases:
    """The cases, made once per test session (a demo run costs seconds) and shared by the modules."""
    if "cases" not in _MADE:
        _MADE["cases"] = make_cases(tmp_path_factory.mktemp("window-cases"))
    return _MADE["cases"]


def make_cases(root: Path) -> WindowCases:
    from ecert.annotate import annotate
    from ecert.app import read_certificate_parts
    from ecert.collect import collect
    from ecert.crypto.signer import Signer
    from ecert.demo import DEPARTMENT, DEPARTMENT_CODE
    from ecert.metadata import Authority
    from ecert.package import Issuer, package
    from ecert.qr.image import read_qr
    from ecert.registry import SQLiteRegistry
    from ecert.times import china_date

    now = datetime.now(UTC).replace(microsecond=0)
    # issued three days ago (after the sample records' issue dates), so that a copy can be made and
    # expire in the past
    demo = root / "demo"
    assert main(["demo", "--out", str(demo), "--at", (now - timedelta(days=3)).isoformat()]) == 0
    keys = demo / "keys"
    signer = Signer.load(keys / "issuer.key.pem", keys / "issuer.cert.pem")
    valid = _by_type(demo, BUSINESS_LICENCE)
    revoked = _by_type(demo, REVOKED_TYPE)
    md, _ = read_certificate_parts(valid.read_bytes())

    tampered = root / "tampered.ofd"
    _tamper(valid, tampered, md.holder_name, "北京伪造科技有限公司")

    record = json.loads((ROOT / "examples" / "records" / f"{BUILDER}.json").read_text(encoding="utf-8"))
    record.update({"有效期至": "2025-01-01", "发证日期": "2024-01-02"})
    draft = collect(record, BUILDER, issuer=Authority(DEPARTMENT, DEPARTMENT_CODE))
    expired = root / "expired.ofd"
    expired.write_bytes(package(draft, Issuer(signer)))

    registry = root / "registry.db"
    with SQLiteRegistry.open(registry) as reg:
        for path in sorted(demo.glob("*.ofd")):
            meta, _ = read_certificate_parts(path.read_bytes())
            reg.record_issued(meta, package_digest="0" * 64, signer="demo", issued_at=now - timedelta(days=1))
        revoked_md, _ = read_certificate_parts(revoked.read_bytes())
        reg.revoke(
            str(revoked_md.identifier), reason=REVOKE_REASON, by="window test", at=now - timedelta(hours=1)
        )
        status_list = root / "status.json"
        status_list.write_bytes(
            reg.export_status_list(signer, issued_at=now, next_update=now + timedelta(days=7))
        )

    copies = {}
    for name, source, made, last_day in (
        ("copy-valid.ofd", valid, now - timedelta(days=1), china_date(now) + timedelta(days=30)),
        ("copy-expired.ofd", valid, now - timedelta(days=2), china_date(now) - timedelta(days=1)),
        ("copy-of-revoked.ofd", revoked, now - timedelta(minutes=30), china_date(now) + timedelta(days=30)),
    ):
        made_copy = annotate(
            source.read_bytes(), signer, reason=COPY_REASON, maker="窗口工作人员王五", until=last_day, at=made
        )
        copies[name] = root / name
        copies[name].write_bytes(made_copy.data)

    qr_valid, qr_revoked = root / "qr-valid.png", root / "qr-revoked.png"
    for source, target in ((valid, qr_valid), (revoked, qr_revoked)):
        argv = ["qr", str(source), "--kind", "offline", "--key", str(keys / "issuer.key.pem")]
        assert main([*argv, "--cert", str(keys / "issuer.cert.pem"), "-o", str(target)]) == 0

    not_an_image = root / "notes.png"  # named like a picture, holds text
    not_an_image.write_text("这不是图片，只是一段文字。\n" * 50, encoding="utf-8")
    zip_bomb = root / "bomb.ofd"
    _zip_bomb(zip_bomb)
    huge = root / "huge.ofd"
    with huge.open("wb") as f:
        f.write(b"PK\x03\x04")
        f.truncate(50 * 1024 * 1024)

    return WindowCases(
        root=root,
        trust=demo / "trust",
        valid=valid,
        valid_holder=md.holder_name,
        tampered=tampered,
        revoked=revoked,
        expired=expired,
        copy_valid=copies["copy-valid.ofd"],
        copy_expired=copies["copy-expired.ofd"],
        copy_expired_until=f"{china_date(now) - timedelta(days=1):%Y-%m-%d}",
        copy_of_revoked=copies["copy-of-revoked.ofd"],
        status_list=status_list,
        registry=registry,
        qr_valid=qr_valid,
        qr_revoked=qr_revoked,
        payload_valid=read_qr(qr_valid.read_bytes()),
        not_an_image=not_an_image,
        zip_bomb=zip_bomb,
        huge=huge,
    )
