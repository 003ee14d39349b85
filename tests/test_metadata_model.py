"""CoreMetadata (GB/T 36903): every validation rule, key styles, status profiles, vectors, round trips."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.codes import citizen_id, division, uscc
from ecert.errors import EcertError, InputError, InvalidMetadata
from ecert.identifier import Identifier
from ecert.metadata import (
    ELEMENTS,
    HOLDER_CODE_TYPES,
    LONG_TERM,
    AnnotatedCopy,
    Authority,
    CoreMetadata,
    RelatedItem,
    StatusMeaning,
    StatusProfile,
    elements,
    get_status_profile,
    register_status_profile,
)

VECTORS = resources.files("ecert") / "spec" / "vectors" / "metadata"
CASES: list[dict[str, Any]] = json.loads((VECTORS / "records.json").read_text("utf-8"))["cases"]
JILIN: dict[str, str] = CASES[0]["record"]


def base() -> CoreMetadata:
    return CoreMetadata.from_dict(JILIN)


def fields_of(exc: pytest.ExceptionInfo[InvalidMetadata]) -> set[str]:
    return {p.field for p in exc.value.problems}


def expect_problems(fields: set[str], **changes: Any) -> InvalidMetadata:
    with pytest.raises(InvalidMetadata) as info:
        dataclasses.replace(base(), **changes)
    assert fields_of(info) == fields, info.value.problems
    return info.value


# --- vectors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector_records(case: dict[str, Any]) -> None:
    if case["valid"]:
        md = CoreMetadata.from_dict(case["record"])
        flat = md.to_dict(keys="attr")
        for key, value in case["expect"].items():
            actual = (
                getattr(md, key) if key in ("long_term", "valid_until", "status_profile") else flat.get(key)
            )
            if key == "valid_until" and value is not None:
                actual = flat[key]
            assert actual == value, key
    else:
        with pytest.raises(InvalidMetadata) as info:
            CoreMetadata.from_dict(case["record"])
        assert fields_of(info) == set(case["problems"]), info.value.problems


def test_beijing_record_reads_and_writes_canonical_keys() -> None:
    md = base()
    assert md.issue_date == date(2012, 1, 9) and md.valid_from == date(2021, 1, 8)
    assert md.identifier.check_ok and md.extensions == (("KZ_CZLB", "建筑电工"), ("KZ_XB", "男"))
    out = md.to_dict()
    assert out["ZZYXQQSRQ"] == "2021-01-08" and "ZZYXQQSSJ" not in out
    assert list(out)[:3] == ["ZZMC", "ZZLXDM", "ZZBH"] and list(out)[-2:] == ["KZ_CZLB", "KZ_XB"]


def test_nonconforming_identifier_is_accepted_only_when_not_strict() -> None:
    case = next(c for c in CASES if c["name"] == "nonconforming-identifier-check")
    md = CoreMetadata.from_dict(case["record"], strict=False)
    assert not md.identifier.check_ok


# --- every rule, every problem with its element, all at once --------------------------------------


def test_all_problems_are_reported_at_once() -> None:
    bad = {**JILIN, "ZZMC": " ", "ZZBFJGDM": "11220000013544541X", "CZZTDM": "130434198407262910",
           "ZZYXQJZSJ": "20200101", "ZZBFRQ": "2012-02-30", "NOPE": "x", "KZ_-": "y"}  # fmt: skip
    with pytest.raises(InvalidMetadata) as info:
        CoreMetadata.from_dict(bad)
    assert fields_of(info) == {"certificate_name", "issuer_code", "holder_code", "valid_until", "issue_date",
                               "NOPE", "KZ_-"}  # fmt: skip
    assert isinstance(info.value, ValueError) and "ZZMC" in str(info.value)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"certificate_name": "  "}, {"certificate_name"}),
        ({"certificate_name": "证" * 513}, {"certificate_name"}),
        ({"number": "a\nb"}, {"number"}),
        ({"holder_name": "x\x00"}, {"holder_name"}),
        ({"type_code": "11100000000013338W03"}, {"type_code"}),
        ({"type_code": "11100000000013338X032"}, {"type_code"}),  # defining authority's USCC check
        ({"type_code": "11100000000013338W000"}, {"type_code"}),  # sequences are 001-999
        ({"type_code": "11100000000013338W011"}, {"identifier"}),
        ({"issuer_code": "11430000006122244L"}, {"identifier"}),
        ({"issuer_code": "1122000001354454"}, {"issuer_code"}),
        ({"holder_code": "13043419840726291"}, {"holder_code"}),
        # a citizen ID is not a USCC, and 公民身份号码 is not the name of type 001
        ({"holder_code_type_code": "001"}, {"holder_code", "holder_code_type"}),
        ({"holder_code_type_code": "11"}, {"holder_code_type_code"}),
        ({"holder_code_type_code": "414", "holder_code": "E 123"}, {"holder_code", "holder_code_type"}),
        ({"valid_from": date(2025, 1, 1)}, {"valid_until"}),
        ({"issue_date": date(2025, 1, 1)}, {"issue_date"}),
        ({"long_term": True}, {"valid_until"}),
        ({"status": "08"}, {"status"}),
        ({"status_profile": "nope"}, {"status_profile"}),
        ({"area_code": "22000"}, {"area_code"}),
        ({"area_code": "990000"}, {"area_code"}),
        ({"extensions": (("KZ_A", "1"), ("KZ_A", "2"))}, {"KZ_A"}),
        ({"extensions": (("kz_a", "1"),)}, {"kz_a"}),
        ({"extensions": (("KZ_" + "A" * 65, "1"),)}, {"KZ_" + "A" * 65}),
        ({"extensions": (("KZ_A", "x\x07"),)}, {"KZ_A"}),
        ({"identifier": "1.2.156.3005.2.x"}, {"identifier"}),
        ({"issue_date": "2012-01-09"}, {"issue_date"}),
        ({"related_items": ["x"]}, {"related_items"}),
        ({"copy": "x"}, {"copy"}),
    ],
)
def test_each_rule_names_its_element(changes: dict[str, Any], fields: set[str]) -> None:
    expect_problems(fields, **changes)


def test_mixed_problems_on_construction() -> None:
    exc = expect_problems({"status", "area_code", "valid_until"}, status="00", area_code="x", long_term=True)
    assert all(p.message for p in exc.problems)


def test_values_are_normalised() -> None:
    md = dataclasses.replace(
        base(), issuer_code=" 11220000013544541j ", holder_code="13043419840726291x", certificate_name=" 名 ",
        area_code="２２００００", extensions=(("KZ_B", " b "), ("KZ_A", "a")), status=" ",
    )  # fmt: skip
    assert (md.issuer_code, md.holder_code, md.certificate_name) == (
        "11220000013544541J",
        "13043419840726291X",
        "名",
    )
    assert md.area_code == "220000" and md.extensions == (("KZ_A", "a"), ("KZ_B", "b")) and md.status is None
    assert md == dataclasses.replace(md)  # normalising is idempotent


def test_long_term() -> None:
    md = CoreMetadata.from_dict({**JILIN, "ZZYXQJZSJ": "长期"})
    assert md.long_term and md.valid_until is None
    assert md.to_dict()["ZZYXQJZRQ"] == LONG_TERM == md.to_dict("english")["certificateExpiringDate"]
    assert CoreMetadata.from_dict({**JILIN, "ZZYXQJZSJ": "长期有效"}) == md


def test_from_values_takes_objects_and_fills_the_holder_type_name() -> None:
    values: dict[str, Any] = {**base().to_dict(keys="attr"), "issue_date": date(2012, 1, 9)}
    del values["holder_code_type"]
    values["identifier"] = Identifier.parse(values["identifier"])
    md = CoreMetadata.from_values(values, extensions={"KZ_XB": "男", "KZ_Y": "1"})
    assert md.holder_code_type == HOLDER_CODE_TYPES["111"]
    assert md.extensions == (("KZ_CZLB", "建筑电工"), ("KZ_XB", "男"), ("KZ_Y", "1"))
    with pytest.raises(InvalidMetadata, match="KZ_XB: extension given twice"):
        CoreMetadata.from_values(values, extensions={"KZ_XB": "女"})


def test_from_dict_refuses_non_mappings_and_non_text() -> None:
    for bad in ([], "ZZMC", None):
        with pytest.raises(InvalidMetadata):
            CoreMetadata.from_dict(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidMetadata) as info:
        CoreMetadata.from_dict({**JILIN, "ZZMC": ["a"], 3: "x", "ZZBFRQ": True})  # type: ignore[dict-item]
    assert fields_of(info) == {"certificate_name", "3", "issue_date"}


# --- parts ----------------------------------------------------------------------------------------


def test_authority() -> None:
    a = Authority(" 吉林省住房和城乡建设厅 ", "11220000013544541j")
    assert (a.name, a.code) == ("吉林省住房和城乡建设厅", "11220000013544541J")
    with pytest.raises(InvalidMetadata) as info:
        Authority("", "11220000013544541X")
    assert fields_of(info) == {"name", "code"}


def test_annotated_copy_and_related_items_round_trip() -> None:
    made = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    copy = AnnotatedCopy(made, "吉林省政务服务和数字化建设管理局", "办理企业资质申请", date(2024, 3, 31))
    items = (
        RelatedItem("建筑施工特种作业人员操作资格认定", "0100909004110X330002140X100"),
        RelatedItem("补办"),
    )
    md = dataclasses.replace(base(), copy=copy, related_items=items)
    flat = md.to_dict()
    assert flat["JZJZZSJ"] == "2024-03-01T09:30:00+08:00" and flat["JZJYXQJZSJ"] == "2024-03-31"
    assert flat["GLSXMC"] == "建筑施工特种作业人员操作资格认定；补办" and flat["GLSXDM"].endswith("；")
    for keys in ("pinyin", "english", "attr"):
        assert CoreMetadata.from_dict(md.to_dict(keys=keys)) == md  # type: ignore[arg-type]
    assert CoreMetadata.from_dict({**JILIN, "relatedItems": [{"name": "补办"}]}).related_items == (
        RelatedItem("补办"),
    )


def test_annotated_copy_rules() -> None:
    with pytest.raises(InvalidMetadata) as info:
        AnnotatedCopy(datetime(2024, 3, 1), " ", "", date(2024, 1, 1))
    assert fields_of(info) == {"copy_made_at", "copy_maker", "copy_reason", "copy_valid_until"}
    made = datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(InvalidMetadata, match="ends before"):
        AnnotatedCopy(made, "a", "b", date(2024, 2, 1))
    with pytest.raises(InvalidMetadata, match="whole minutes"):
        AnnotatedCopy(made.replace(tzinfo=timezone(timedelta(seconds=30))), "a", "b")
    with pytest.raises(InvalidMetadata) as info2:
        CoreMetadata.from_dict({**JILIN, "JZJZZZ": "x", "GLSXMC": "a；b", "GLSXDM": "1"})
    assert fields_of(info2) == {"copy_made_at", "copy_reason", "related_item_code"}


def test_related_item_rules() -> None:
    with pytest.raises(InvalidMetadata) as info:
        RelatedItem("a；b", "c d")
    assert fields_of(info) == {"related_item_name", "related_item_code"}
    assert RelatedItem(" a ", " ").code is None


# --- status profiles --------------------------------------------------------------------------------


def test_status_profiles_differ_and_mean_the_same_things() -> None:
    a, b = get_status_profile("mohurd-a"), get_status_profile("mohurd-b")
    assert get_status_profile("default").codes == a.codes
    assert a.label("03") == "撤销" and b.label("03") == "吊销"
    assert a.meaning("07") is b.meaning("03") is StatusMeaning.REVOKED
    assert a.code_for(StatusMeaning.EXPIRED) == "05" and b.code_for(StatusMeaning.EXPIRED) == "06"
    with pytest.raises(StopIteration):
        a.code_for(StatusMeaning.REPLACED)
    with pytest.raises(InputError, match="mohurd-b"):
        get_status_profile("nope")


def test_register_a_status_profile() -> None:
    p = StatusProfile(
        "test-xj", {"1": "有效", "9": "换发"}, {"1": StatusMeaning.VALID, "9": StatusMeaning.REPLACED}
    )
    register_status_profile(p)
    register_status_profile(p)  # the same again is fine
    md = dataclasses.replace(base(), status="9", status_profile="test-xj")
    assert CoreMetadata.from_dict(md.to_dict("english")) == md
    with pytest.raises(InputError):
        register_status_profile(StatusProfile("test-xj", {"1": "有效"}, {"1": StatusMeaning.VALID}))
    with pytest.raises(InputError):
        StatusProfile("x", {"1": "有效"}, {"2": StatusMeaning.VALID})
    with pytest.raises(TypeError):
        p.codes["2"] = "x"  # type: ignore[index]


def test_display_elements() -> None:
    shown = elements(dataclasses.replace(base(), valid_until=None, long_term=True))
    by_key = {e.key: (e.label_zh, e.text) for e in shown}
    assert by_key["ZZYXQJZRQ"] == ("证照有效期截止日期", "长期") and by_key["CZZT"] == ("持证主体", "李志国")
    assert [e.key for e in shown][-2:] == ["KZ_CZLB", "KZ_XB"] and shown[0].attr == "certificate_name"


def test_element_table_keys_are_unique() -> None:
    keys = [k for e in ELEMENTS for k in {e.attr, e.pinyin, e.english, *e.alt_keys}]
    assert len(keys) == len(set(keys))


# --- hypothesis: valid metadata round-trips, garbage gives EcertError ---------------------------------

_TEXT = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\ufffe\uffff；")
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_TEXT, min_size=1, max_size=max_size).map(str.strip).filter(bool)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    body = (draw(st.sampled_from(sorted(uscc.AUTHORITIES))) + draw(st.sampled_from(uscc.CHARSET))
            + draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
            + "".join(draw(st.lists(st.sampled_from(uscc.CHARSET), min_size=9, max_size=9))))  # fmt: skip
    return body + uscc.calc_check_char(body)


@st.composite
def citizen_ids(draw: st.DrawFn) -> str:
    born = draw(st.dates(date(1900, 1, 1), date(2010, 12, 31)))
    region = draw(st.sampled_from(sorted(division.PROVINCES))) + draw(
        st.from_regex(r"[0-9]{4}", fullmatch=True)
    )
    body = region + born.strftime("%Y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return body + citizen_id.calc_check_char(body)


_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])


def holder_type_names(code: str) -> st.SearchStrategy[str]:
    """The registered name of ``code``, or any wording that is not the name of another type."""
    others = {name for c, name in HOLDER_CODE_TYPES.items() if c != code}
    return st.just(HOLDER_CODE_TYPES[code]) | _text(20).filter(lambda t: t.strip() not in others)


@st.composite
def metadata(draw: st.DrawFn) -> CoreMetadata:
    """Valid CoreMetadata exercising every element."""
    type_code = draw(usccs()) + f"{draw(st.integers(1, 999)):03d}"
    issuer = draw(usccs())
    serial = "".join(draw(st.lists(st.sampled_from(_ALNUM), min_size=1, max_size=32)))
    ident = Identifier.build(type_code, issuer, serial, draw(st.integers(1, 999)))
    holder_type = draw(st.sampled_from(sorted(HOLDER_CODE_TYPES)))
    holder = {"111": citizen_ids(), "001": usccs()}.get(
        holder_type, st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True)
    )
    issued = draw(st.dates(date(1990, 1, 1), date(2040, 12, 31)))
    long_term = draw(st.booleans())
    start = draw(st.none() | st.dates(date(1990, 1, 1), issued + timedelta(days=400)))
    until = (
        None if long_term else draw(st.none() | st.dates(max(issued, start or issued), date(2099, 12, 31)))
    )
    profile = draw(st.sampled_from(["default", "mohurd-a", "mohurd-b"]))
    copy = None
    if draw(st.booleans()):
        made = draw(st.datetimes(datetime(2000, 1, 1), datetime(2050, 1, 1), timezones=_ZONES))
        copy_until = draw(st.none() | st.dates(made.date(), date(2060, 1, 1)))
        copy = AnnotatedCopy(made, draw(_text(20)), draw(_text(30)), copy_until)
    codes = st.none() | st.from_regex(r"[0-9A-Z]{1,27}", fullmatch=True)
    related = draw(st.lists(st.builds(RelatedItem, _text(20), codes), max_size=3))
    ext_keys = st.from_regex(r"KZ_[A-Za-z0-9_]{1,10}", fullmatch=True)
    ext_values = st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n\t"), max_size=30
    )
    return CoreMetadata(
        certificate_name=draw(_text(40)), type_code=type_code, number=draw(_text(30)), identifier=ident,
        issuer_name=draw(_text(30)), issuer_code=issuer, issue_date=issued, holder_name=draw(_text(30)),
        holder_code=draw(holder), holder_code_type=draw(holder_type_names(holder_type)),
        holder_code_type_code=holder_type,
        valid_from=start, valid_until=until, long_term=long_term,
        status=draw(st.none() | st.sampled_from(sorted(get_status_profile(profile).codes))),
        status_profile=profile,
        copy=copy, related_items=tuple(related),
        area_code=draw(st.none() | st.sampled_from(sorted(division.PROVINCES)).map(lambda p: p + "0100")),
        extensions=tuple(draw(st.dictionaries(ext_keys, ext_values, max_size=4)).items()),
    )  # fmt: skip


@settings(max_examples=120, deadline=None)
@given(metadata(), st.sampled_from(["pinyin", "english", "attr"]))
def test_dict_round_trip(md: CoreMetadata, keys: str) -> None:
    flat = md.to_dict(keys=keys)  # type: ignore[arg-type]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in flat.items())
    assert CoreMetadata.from_dict(flat) == md


_KEYS = st.sampled_from([*JILIN, "x", "KZ_A", "certificateName", "GLSXMC", "GLSXDM", "JZJZZSJ", "ZZZTGF"])
_VALUES = st.one_of(
    st.text(max_size=30), st.integers(), st.none(), st.booleans(), st.lists(st.text(max_size=3))
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS | st.text(max_size=8), _VALUES))
def test_garbage_dicts(d: dict[str, Any]) -> None:
    with contextlib.suppress(EcertError):
        CoreMetadata.from_dict(d)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(list(JILIN)), st.text(max_size=25)))
def test_garbage_values_over_a_valid_record(changes: dict[str, str]) -> None:
    with contextlib.suppress(EcertError):
        CoreMetadata.from_dict({**JILIN, **changes})


@pytest.mark.parametrize("key", ["ZZMC", "ZZBFRQ", "KZ_A"])
def test_huge_int_value_is_refused_by_name(key: str) -> None:
    """A >4300-digit int cannot be str()'d or repr()'d: the problem is still reported, shortly."""
    with pytest.raises(InvalidMetadata) as info:
        CoreMetadata.from_dict({**JILIN, key: 10**5000})
    assert len(info.value.problems) == 1
    assert "number too long" in str(info.value.problems[0])
    assert len(str(info.value)) < 500


def test_deeply_nested_value_is_refused_by_name() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidMetadata) as info:
        CoreMetadata.from_dict({**JILIN, "ZZMC": deep})
    assert fields_of(info) == {"certificate_name"}
    assert len(str(info.value)) < 500


def test_error_messages_quote_values_shortly() -> None:
    """Every error message quotes its value through errors._describe: capped, and never raising."""
    assert str(InputError("bad", where="x", value="a" * 1000)).endswith("a…)")
    assert len(str(InputError("bad", value="a" * 1000))) < 250
    assert "int of about 5001 digits" in str(InputError("bad", value=10**5000))
