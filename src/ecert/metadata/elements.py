"""The core metadata elements of GB/T 36903 in one table: attribute, keys, Chinese name, limits.

GB/T 36903 itself was not available; the element names (pinyin keys) are identical across at
least three independent real systems (STANDARDS.md §2) and are treated as de-facto standard.
Lengths are one real system's column sizes and whether an element is required is inferred:
both are marked [U] and live only here, so they can be changed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ELEMENTS", "HOLDER_CODE_TYPES", "Element", "attr_for_key", "element", "pinyin_key"]


@dataclass(frozen=True, slots=True)
class Element:
    attr: str
    pinyin: str
    english: str
    label_zh: str
    max_length: int | None = None  # [U]
    required: bool = False  # [U]
    alt_keys: tuple[str, ...] = ()  # other names real systems use on input


ELEMENTS: tuple[Element, ...] = (
    Element("certificate_name", "ZZMC", "certificateName", "证照名称", 512, True),
    Element("type_code", "ZZLXDM", "certificateTypeCode", "证照类型代码", 21, True),
    Element("number", "ZZBH", "certificateNumber", "证照编号", 128, True),
    Element("identifier", "ZZBS", "certificateIdentifier", "证照标识", 128, True, ("certIdentifier",)),
    Element("issuer_name", "ZZBFJG", "certificateIssuingAuthorityName", "证照颁发机构", 256, True),
    Element("issuer_code", "ZZBFJGDM", "certificateIssuingAuthorityCode", "证照颁发机构代码", 18, True),
    Element("issue_date", "ZZBFRQ", "certificateIssuedDate", "证照颁发日期", 10, True),
    Element("holder_name", "CZZT", "certificateHolderName", "持证主体", 256, True),
    Element("holder_code", "CZZTDM", "certificateHolderCode", "持证主体代码", 64, True),
    Element("holder_code_type", "CZZTDMLX", "certificateHolderTypeName", "持证主体代码类型", 64, True),
    Element(
        "holder_code_type_code", "CZZTDMLXDM", "certificateHolderTypeCode", "持证主体代码类型代码", 3, True
    ),
    Element(
        "valid_from", "ZZYXQQSRQ", "certificateEffectiveDate", "证照有效期起始日期", 10, False, ("ZZYXQQSSJ",)
    ),
    Element(
        "valid_until", "ZZYXQJZRQ", "certificateExpiringDate", "证照有效期截止日期", 10, False, ("ZZYXQJZSJ",)
    ),
    Element("status", "ZZZT", "certificateStatus", "证照状态", 8),  # [U] key
    Element("copy_made_at", "JZJZZSJ", "certificateCopyMadeTime", "加注件制作时间", 32),
    Element("copy_maker", "JZJZZZ", "certificateCopyMaker", "加注件制作者", 256),
    Element("copy_reason", "JZJZZSY", "certificateCopyReason", "加注件制作事由", 512),
    Element("copy_valid_until", "JZJYXQJZSJ", "certificateCopyExpiringDate", "加注件有效期截止时间", 32),
    Element("related_items", "GLSX", "relatedItems", "关联事项"),  # [U] key
    Element("area_code", "ZZSSXQDM", "certificateAreaCode", "证照所属管辖属地编码", 6),  # [U] key
)

# 持证主体代码类型代码: 111 and 001 are [V] (GB/T 36903 as quoted by real systems); the rest follow
# GA/T 517-style document type codes and are [U].
HOLDER_CODE_TYPES: dict[str, str] = {
    "111": "公民身份号码",
    "001": "统一社会信用代码",
    "099": "其他法人或其他组织证照",
    "414": "普通护照",
    "511": "台湾居民来往大陆通行证",
    "516": "港澳居民来往内地通行证",
    "553": "外国人永久居留身份证",
    "999": "其他",
}

_BY_ATTR = {e.attr: e for e in ELEMENTS}
_BY_KEY: dict[str, str] = {}
for _e in ELEMENTS:
    for _k in (_e.attr, _e.pinyin, _e.english, *_e.alt_keys):
        _BY_KEY[_k] = _e.attr


def element(attr: str) -> Element:
    return _BY_ATTR[attr]


def attr_for_key(key: str) -> str | None:
    """The attribute a pinyin, English or attribute key names (None when unknown)."""
    return _BY_KEY.get(key)


def pinyin_key(attr: str) -> str:
    """The pinyin key of a core element attribute; other names are returned unchanged."""
    e = _BY_ATTR.get(attr)
    return e.pinyin if e is not None else attr
