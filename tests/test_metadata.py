"""Core metadata: validation of every element, XML (XSD) and JSON (JSON Schema) round trips."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from importlib import resources

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ecert.errors import EcertError, InvalidMetadata
from ecert.metadata import (
    CoreMetadata,
    DataItemText,
    certificate_xml,
    elements,
    from_json,
    from_xml,
    parse_certificate_xml,
    to_json,
    to_xml,
)
from ecert.metadata.xmlform import schema

# A record keyed as the Beijing push system keys it (STANDARDS.md §9), with a real identifier
# (tests/data/identifiers.txt) and real codes (STANDARDS.md §2, §5).
PINYIN = {
    "ZZMC": "安全生产考核合格证书",
    "ZZLXDM": "11100000000013338W011",
    "ZZBH": "湘建安B(2023)0000403",
    "ZZBS": "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "ZZBFJG": "湖南省住房和城乡建设厅",
    "ZZBFJGDM": "11430000006122244L",
    "ZZBFRQ": "20230108",
    "CZZT": "李志国",
    "CZZTDM": "13043419840726291X",
    "CZZTDMLX": "公民身份号码",
    "CZZTDMLXDM": "111",
    "ZZYXQQSSJ": "20230108",
    "ZZYXQJZSJ": "20260107",
    "KZ_ZW": "项目负责人",
}


def _md() -> CoreMetadata:
    return CoreMetadata.from_dict(PINYIN)


def test_beijing_style_record_reads() -> None:
    md = _md()
    assert md.issue_date == date(2023, 1, 8) and md.valid_until == date(2026, 1, 7)
    assert md.identifier.check_ok and md.extensions == (("KZ_ZW", "项目负责人"),)


@pytest.mark.parametrize("style", ["pinyin", "english", "attr"])
def test_dict_round_trip_in_every_key_style(style: str) -> None:
    md = _md()
    assert CoreMetadata.from_dict(md.to_dict(keys=style)) == md  # type: ignore[arg-type]


def test_xml_round_trip_and_schema() -> None:
    md = _md()
    data = to_xml(md)
    assert schema("metadata.xsd").validate(etree.fromstring(data))
    assert from_xml(data) == md
    assert to_xml(md) == data  # deterministic


def test_json_round_trip_and_schema() -> None:
    md = _md()
    text = to_json(md)
    json_schema = json.loads((resources.files("ecert") / "spec" / "metadata.schema.json").read_text("utf-8"))
    jsonschema.validate(json.loads(text), json_schema)
    assert from_json(text) == md


def test_certificate_document_round_trip() -> None:
    items = (DataItemText("KZ_ZW", "职务", "项目负责人"),)
    data = certificate_xml(_md(), items)
    assert schema("certificate.xsd").validate(etree.fromstring(data))
    assert parse_certificate_xml(data) == (_md(), items)


def test_long_term_and_display_names() -> None:
    md = CoreMetadata.from_dict({**PINYIN, "ZZYXQJZSJ": "长期"})
    assert md.long_term and md.valid_until is None
    shown = {e.key: (e.label_zh, e.text) for e in elements(md)}
    assert shown["ZZYXQJZRQ"] == ("证照有效期截止日期", "长期")
    assert shown["CZZT"] == ("持证主体", "李志国")


def test_every_problem_is_reported_with_its_element() -> None:
    bad = {
        **PINYIN,
        "ZZBFJGDM": "11430000006122244X",
        "CZZTDM": "130434198407262910",
        "ZZYXQJZSJ": "20200101",
        "ZZBFRQ": "2023-02-30",
        "NOPE": "x",
    }
    with pytest.raises(InvalidMetadata) as info:
        CoreMetadata.from_dict(bad)
    fields = {p.field for p in info.value.problems}
    assert {"NOPE", "issue_date"} <= fields
    missing = {k: v for k, v in PINYIN.items() if k not in ("ZZMC", "CZZT")}
    with pytest.raises(InvalidMetadata) as info2:
        CoreMetadata.from_dict(missing)
    assert {"certificate_name", "holder_name"} <= {p.field for p in info2.value.problems}
    bad_codes = {**PINYIN, "ZZBFJGDM": "11430000006122244X", "CZZTDM": "130434198407262910"}
    with pytest.raises(InvalidMetadata) as info3:
        CoreMetadata.from_dict(bad_codes)
    assert {"issuer_code", "holder_code"} <= {p.field for p in info3.value.problems}
    with pytest.raises(InvalidMetadata, match="ends before"):
        CoreMetadata.from_dict({**PINYIN, "ZZYXQJZSJ": "20200101"})


def test_xml_missing_element_or_bad_date_names_it() -> None:
    data = to_xml(_md())
    without = data.replace("<CZZT>李志国</CZZT>".encode(), b"")
    with pytest.raises(InvalidMetadata, match=r"CZZTDM|CZZT"):
        from_xml(without)
    with pytest.raises(InvalidMetadata, match="ZZBFRQ"):
        from_xml(data.replace(b"2023-01-08</ZZBFRQ>", b"2023-13-08</ZZBFRQ>"))
    with pytest.raises(InvalidMetadata, match="DTD"):
        from_xml(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([*PINYIN, "x", "KZ_A", "certificateName"]), st.text(max_size=40)))
def test_garbage_dicts(d: dict[str, str]) -> None:
    with contextlib.suppress(EcertError):
        CoreMetadata.from_dict(d)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_xml_and_json(data: bytes) -> None:
    for fn in (from_xml, from_json):
        with contextlib.suppress(EcertError):
            fn(data)

