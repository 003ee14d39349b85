"""Making annotated copies (加注件): the metadata value, the organisation's limits, the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ecert.annotate import CopyLevel, CopyLimits, CopyMetadata, annotate, new_copy_id
from ecert.annotate.layer import METADATA_ENTRY
from ecert.cli import main
from ecert.crypto.keys import save_private_key
from ecert.errors import EcertError, InvalidAnnotatedCopy

from .certs import issued_file
from .copies import MADE_AT, MAKER, REASON, UNTIL, copy_of_demo, entry, releasing_signer

IDENTIFIER = "1.2.156.3005.2.11100000000013338W001.11330100MB01234570.LS5S0ZFR0QWLMBVNH3ID.001.U"


def _metadata(**changes: object) -> CopyMetadata:
    fields: dict[str, object] = {
        "copy_id": "0b0e8e52-4f6a-4c2e-9d3b-1f2a3b4c5d6e",
        "made_at": MADE_AT,
        "maker": MAKER,
        "reason": REASON,
        "valid_until": UNTIL,
        "level": CopyLevel.A,
        "organisation": "示例市政务服务中心",
        "original_identifier": IDENTIFIER,
        "original_sm3": "ab" * 32,
    }
    fields.update(changes)
    return CopyMetadata(**fields)  # type: ignore[arg-type]


def test_xml_and_json_forms_round_trip() -> None:
    md = _metadata()
    assert CopyMetadata.from_xml(md.to_xml()) == md
    assert CopyMetadata.from_dict(md.to_dict()) == md
    assert md.to_dict()["JZJZZSJ"] == "2026-11-25T10:00:00+08:00"
    assert md.expires_at == datetime(2027, 2, 1, tzinfo=UTC) - timedelta(hours=8)


def test_watermark_wording_follows_the_national_guide() -> None:
    assert (
        _metadata().watermark_text()
        == "此件由示例市政务服务中心提供，仅供办理“企业开户”时使用，有效期至2027年1月31日"
    )
    assert _metadata(level=CopyLevel.B).watermark_text().startswith("此件经与原件核对无误，此件由")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"copy_id": "not-a-uuid"}, "JZJBS"),
        ({"made_at": datetime(2026, 11, 25, 10)}, "JZJZZSJ"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 201}, "reason"),
        ({"reason": "开户\n另有用途"}, "reason"),
        ({"maker": "\u202e张三"}, "maker"),
        ({"valid_until": date(2026, 11, 24)}, "JZJYXQJZSJ"),
        ({"original_identifier": IDENTIFIER[:-1] + "X"}, "YJZZBS"),
        ({"original_sm3": "AB" * 32}, "YJSM3"),
    ],
)
def test_bad_metadata_is_refused_naming_the_field(change: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidAnnotatedCopy) as info:
        _metadata(**change)
    assert where in str(info.value.where)


def test_xml_form_is_strict() -> None:
    xml = _metadata().to_xml()
    for bad in (
        xml.replace(b"<jzj:JZJJB>A</jzj:JZJJB>", b""),  # missing
        xml.replace(b"<jzj:JZJJB>A</jzj:JZJJB>", b"<jzj:JZJJB>A</jzj:JZJJB><jzj:JZJJB>A</jzj:JZJJB>"),
        xml.replace(b"<jzj:JZJJB>A</jzj:JZJJB>", b"<jzj:JZJJB>C</jzj:JZJJB>"),
        xml.replace(b"2027-01-31", b"2027-1-31"),  # not the one spelling that was signed
        xml.replace(b"+08:00", b"+0800"),
        b"<!DOCTYPE x [<!ENTITY a 'b'>]>" + xml,
        b"not xml",
    ):
        with pytest.raises(EcertError):
            CopyMetadata.from_xml(bad)


def test_limits_refuse_long_validity_and_reasons() -> None:
    ok = annotate(
        issued_file(), releasing_signer(), reason=REASON, maker=MAKER, until=date(2027, 2, 23), at=MADE_AT
    )  # 90 days after 2026-11-25
    assert ok.metadata.valid_until == date(2027, 2, 23)
    with pytest.raises(InvalidAnnotatedCopy, match="too long"):
        annotate(
            issued_file(), releasing_signer(), reason=REASON, maker=MAKER, until=date(2027, 2, 24), at=MADE_AT
        )
    with pytest.raises(InvalidAnnotatedCopy, match="too long"):
        annotate(
            issued_file(),
            releasing_signer(),
            reason=REASON,
            maker=MAKER,
            until=UNTIL,
            at=MADE_AT,
            limits=CopyLimits(max_days=30),
        )
    with pytest.raises(InvalidAnnotatedCopy, match="reason"):
        annotate(
            issued_file(),
            releasing_signer(),
            reason="x" * 11,
            maker=MAKER,
            until=UNTIL,
            at=MADE_AT,
            limits=CopyLimits(max_reason=10),
        )
    with pytest.raises(InvalidAnnotatedCopy):
        CopyLimits(max_days=0)


def test_longest_reason_still_makes_a_verifiable_copy() -> None:
    import ecert

    from .certs import trust_store

    reason = "办理企业开户及相关银行业务" * 15  # 195 characters
    copy = annotate(
        issued_file(), releasing_signer(), reason=reason[:200], maker=MAKER, until=UNTIL, at=MADE_AT
    )
    assert ecert.verify(copy.data, trust=trust_store(), at=MADE_AT + timedelta(days=1)).ok


def test_unsigned_or_broken_originals_are_refused() -> None:
    from ecert.package import build_unsigned

    from .certs import draft

    with pytest.raises(InvalidAnnotatedCopy, match="no signature"):
        annotate(
            build_unsigned(draft(), qr_payload=None),
            releasing_signer(),
            reason=REASON,
            maker=MAKER,
            until=UNTIL,
            at=MADE_AT,
        )
    with pytest.raises(InvalidAnnotatedCopy):
        annotate(
            b"PK\x03\x04 not a zip", releasing_signer(), reason=REASON, maker=MAKER, until=UNTIL, at=MADE_AT
        )


def test_copy_carries_metadata_as_attachment_and_custom_data() -> None:
    copy = copy_of_demo()
    assert CopyMetadata.from_xml(entry(copy.data, METADATA_ENTRY)) == copy.metadata
    ofd_xml = entry(copy.data, "OFD.xml").decode()
    for key, text in copy.metadata.elements():
        assert f'<ofd:CustomData Name="{key}">{text}</ofd:CustomData>' in ofd_xml
    assert copy.file_name == f"{copy.metadata.copy_id}.ofd"
    assert new_copy_id() != new_copy_id()


def test_cli_annotate_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .certs import hierarchy

    original = tmp_path / "cert.ofd"
    original.write_bytes(issued_file())
    signer = releasing_signer()
    key, cert = tmp_path / "centre.key.pem", tmp_path / "centre.cert.pem"
    key.write_bytes(save_private_key(signer.private_key))
    cert.write_bytes(signer.certificate.to_pem() + signer.chain[0].to_pem())
    trust = tmp_path / "root.pem"
    trust.write_bytes(hierarchy().root_cert.to_pem())
    out = tmp_path / "copy.ofd"
    args = [
        str(original),
        "--reason",
        REASON,
        "--maker",
        MAKER,
        "--until",
        "2027-01-31",
        "--key",
        str(key),
        "--cert",
        str(cert),
        "-o",
        str(out),
        "--at",
        "2026-11-25T10:00+08:00",
        "--trust",
        str(trust),
    ]
    assert main(["annotate", *args]) == 0
    assert "加注件" in capsys.readouterr().out
    assert (
        main(["verify", str(out), "--trust", str(trust), "--at", "2026-11-26T10:00+08:00", "--lang", "zh"])
        == 0
    )
    shown = capsys.readouterr().out
    assert "加注件: 有效" in shown and "制作事由（用途）: 企业开户" in shown
    assert main(["verify", str(out), "--trust", str(trust), "--at", "2027-02-01T00:00+08:00"]) == 1
    assert "copy_expired" in capsys.readouterr().out
    # refused requests: exit 2 with the reason
    assert main(["annotate", *args[:6], "2027-12-31", *args[7:]]) == 2
    assert "too long" in capsys.readouterr().err
    assert main(["annotate", *args[:6], "31/01/2027", *args[7:]]) == 2


def test_demo_certificate_annotated_verifies_until_expiry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's "done when": ecert annotate on a demo certificate, verified as 加注件, then expired."""
    demo = tmp_path / "demo-out"
    assert main(["demo", "-o", str(demo), "--at", "2026-11-24T10:00+08:00"]) == 0
    original = next(demo.glob("1.2.156.3005.2.11100000MB0143028R001.*.ofd"))
    keys = ["--key", str(demo / "keys" / "issuer.key.pem"), "--cert", str(demo / "keys" / "issuer.cert.pem")]
    copy, trust = tmp_path / "copy.ofd", str(demo / "trust")
    made = [
        "annotate",
        str(original),
        "--reason",
        "企业银行开户",
        "--maker",
        "政务服务中心窗口",
        "--until",
        "2027-01-31",
        "--level",
        "B",
        *keys,
        "-o",
        str(copy),
        "--at",
        "2026-11-25T10:00+08:00",
    ]
    assert main(made) == 0
    capsys.readouterr()
    assert main(["verify", str(copy), "--trust", trust, "--at", "2027-01-31T23:00+08:00", "--json"]) == 0
    import json

    [report] = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["annotated_copy"]["kind"] == "加注件"
    assert report["annotated_copy"]["reason"] == "企业银行开户" and report["annotated_copy"]["level"] == "B"
    assert main(["verify", str(copy), "--trust", trust, "--at", "2027-02-01T00:00+08:00"]) == 1
    out = capsys.readouterr().out
    assert "NOT VALID" in out and "FAIL copy_expired" in out
    assert main(["verify", str(original), "--trust", trust, "--at", "2027-02-01T00:00+08:00"]) == 0
