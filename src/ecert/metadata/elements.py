"""The core metadata elements of GB/T 36903 in one table: attribute, keys, Chinese name, limits.

GB/T 36903 itself was not available.  The pinyin keys of elements 1-13 and 15 are identical across
at least three independent real systems (STANDARDS.md §2) and are treated as the de-facto standard;
the English keys are those of real JSON APIs.  Everything marked [U] below is inferred: lengths are
one real system's (Jilin) column sizes, M/O is inferred, and the keys of status, related items,
area code and status profile were seen in no system (ecert's own choice).  All of it lives only
here, so it can be changed in one place; the XSD and JSON Schema tests check they match this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ELEMENTS",
    "HOLDER_CODE_TYPES",
    "HOLDER_CODE_TYPE_CITIZEN_ID",
    "HOLDER_CODE_TYPE_USCC",
    "LIST_SEPARATOR",
    "LONG_TERM",
    "Element",
    "ElementKind",
    "attr_for_key",
    "element",
    "pinyin_key",
]

#: How 长期 (no end of validity) is written in the 截止日期 element (STANDARDS.md §2, [V]).
LONG_TERM = "长期"
#: Joins several related items in one flat value (names and codes may not contain it) [U].
LIST_SEPARATOR = "；"

ElementKind = Literal["text", "code", "date", "valid_until", "datetime", "list"]


@dataclass(frozen=True, slots=True)
class Element:
    """One core element: attribute name, keys in every style, Chinese name and limits."""

    attr: str
    pinyin: str
    english: str
    label_zh: str
    max_length: int | None = None  # [U] characters
    required: bool = False  # [U]
    alt_keys: tuple[str, ...] = ()  # other names real systems use, accepted on input only
    kind: ElementKind = "text"


_E = Element
ELEMENTS: tuple[Element, ...] = (
    _E("certificate_name", "ZZMC", "certificateName", "证照名称", 512, True),
    _E("type_code", "ZZLXDM", "certificateTypeCode", "证照类型代码", 21, True, kind="code"),
    _E("number", "ZZBH", "certificateNumber", "证照编号", 128, True),
    _E("identifier", "ZZBS", "certificateIdentifier", "证照标识", 128, True, ("certIdentifier",), "code"),
    _E("issuer_name", "ZZBFJG", "certificateIssuingAuthorityName", "证照颁发机构", 256, True),
    _E(
        "issuer_code",
        "ZZBFJGDM",
        "certificateIssuingAuthorityCode",
        "证照颁发机构代码",
        18,
        True,
        kind="code",
    ),
    _E("issue_date", "ZZBFRQ", "certificateIssuedDate", "证照颁发日期", 10, True, kind="date"),
    _E("holder_name", "CZZT", "certificateHolderName", "持证主体", 256, True),
    _E("holder_code", "CZZTDM", "certificateHolderCode", "持证主体代码", 64, True, kind="code"),
    _E("holder_code_type", "CZZTDMLX", "certificateHolderTypeName", "持证主体代码类型", 64, True),
    _E(
        "holder_code_type_code",
        "CZZTDMLXDM",
        "certificateHolderTypeCode",
        "持证主体代码类型代码",
        3,
        True,
        kind="code",
    ),
    # Beijing's push record writes 有效期 起始/截止 *时间* (SJ) for the same dates (STANDARDS.md §9).
    _E(
        "valid_from",
        "ZZYXQQSRQ",
        "certificateEffectiveDate",
        "证照有效期起始日期",
        10,
        False,
        ("ZZYXQQSSJ",),
        "date",
    ),
    _E(
        "valid_until",
        "ZZYXQJZRQ",
        "certificateExpiringDate",
        "证照有效期截止日期",
        10,
        False,
        ("ZZYXQJZSJ",),
        "valid_until",
    ),
    _E("status", "ZZZT", "certificateStatus", "证照状态代码", 8, False, ("certState",), "code"),  # [U] key
    _E("status_profile", "ZZZTGF", "certificateStatusProfile", "证照状态代码规范", 64, kind="code"),  # ecert
    _E("copy_made_at", "JZJZZSJ", "certificateCopyMadeTime", "加注件制作时间", 40, kind="datetime"),
    _E("copy_maker", "JZJZZZ", "certificateCopyMaker", "加注件制作者", 256),
    _E("copy_reason", "JZJZZSY", "certificateCopyReason", "加注件制作事由", 512),
    _E(
        "copy_valid_until",
        "JZJYXQJZSJ",
        "certificateCopyExpiringDate",
        "加注件有效期截止时间",
        10,
        kind="date",
    ),
    _E(
        "related_item_name",
        "GLSXMC",
        "relatedItemName",
        "关联事项名称",
        512,
        False,
        ("related_item_name",),
        "list",
    ),
    _E(
        "related_item_code",
        "GLSXDM",
        "relatedItemCode",
        "关联事项代码",
        64,
        False,
        ("related_item_code",),
        "list",
    ),
    _E(
        "area_code",
        "ZZSSXQDM",
        "certificateAreaCode",
        "证照所属管辖属地编码",
        6,
        False,
        ("certificate_area_code",),
        "code",
    ),
)

#: 持证主体代码类型代码 -> name.  111 and 001 are [V] ("其值应遵循《GB/T 36903-2018》", STANDARDS.md §2);
#: the others follow GA/T 517-style document type codes and are [U].
HOLDER_CODE_TYPE_CITIZEN_ID = "111"  # validated as GB 11643
HOLDER_CODE_TYPE_USCC = "001"  # validated as GB 32100
HOLDER_CODE_TYPES: dict[str, str] = {
    HOLDER_CODE_TYPE_CITIZEN_ID: "公民身份号码",
    HOLDER_CODE_TYPE_USCC: "统一社会信用代码",
    "099": "其他法人或其他组织证照",
    "414": "普通护照",
    "511": "台湾居民来往大陆通行证",
    "516": "港澳居民来往内地通行证",
    "553": "外国人永久居留身份证",
    "999": "其他",
}

#: Names a related-items *list* was given under (ecert 0.x JSON wrote ``relatedItems: [{name, code}]``).
RELATED_ITEMS_KEYS = ("related_items", "relatedItems", "GLSX")

_BY_ATTR = {e.attr: e for e in ELEMENTS}
_BY_KEY: dict[str, str] = {k: "related_items" for k in RELATED_ITEMS_KEYS}
for _e in ELEMENTS:
    for _k in (_e.attr, _e.pinyin, _e.english, *_e.alt_keys):
        _BY_KEY[_k] = _e.attr


def element(attr: str) -> Element:
    """The element of attribute ``attr`` (KeyError when there is none)."""
    return _BY_ATTR[attr]


def attr_for_key(key: str) -> str | None:
    """The attribute a pinyin, English, alternative or attribute key names (None when unknown)."""
    return _BY_KEY.get(key)


def pinyin_key(attr: str) -> str:
    """The pinyin key of a core element attribute; other names (KZ_*) are returned unchanged."""
    e = _BY_ATTR.get(attr)
    return e.pinyin if e is not None else attr
