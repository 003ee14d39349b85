"""Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters.

Layout (GB 32100-2015 clause 4; STANDARDS.md §5.1)::

    1 registration authority | 1 category | 6 region (GB/T 2260) | 9 organisation code (GB 11714) | 1 check

Characters come from a 31-character set without I, O, Z, S, V.  The check character (position 18)
uses weights 3^i mod 31.  python-stdnum's ``cn.uscc`` is not used: it requires characters 1-8 to
be digits and so rejects valid codes of the authorities A, N and Y.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ecert.codes import org_code
from ecert.codes._rules import is_valid_with, require_alphabet, require_length
from ecert.codes.division import check_digits
from ecert.codes.iso7064 import clean
from ecert.errors import InvalidChecksum, InvalidComponent

__all__ = [
    "AUTHORITIES",
    "CATEGORIES",
    "CHARSET",
    "LENGTH",
    "WEIGHTS",
    "UsccInfo",
    "calc_check_char",
    "compact",
    "info",
    "is_valid",
    "validate",
]

LENGTH = 18

#: The 31 code characters and their values 0..30 (GB 32100-2015 clause 4.2; STANDARDS.md §5.1).
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_MODULUS = len(CHARSET)

#: Weights of positions 1..17: 3^(i) mod 31 = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
#: (GB 32100-2015 clause 5; STANDARDS.md §5.1).
WEIGHTS = tuple(pow(3, i, _MODULUS) for i in range(LENGTH - 1))

#: Registration authorities (登记管理部门代码), GB 32100-2015 table 1 (STANDARDS.md §5.1).
AUTHORITIES: MappingProxyType[str, str] = MappingProxyType(
    {
        "1": "机构编制",
        "2": "外交",
        "3": "司法行政",
        "4": "文化",
        "5": "民政",
        "6": "旅游",
        "7": "宗教",
        "8": "工会",
        "9": "工商",
        "A": "中央军委改革和编制办公室",
        "N": "农业",
        "Y": "其他",
    }
)

#: Categories (机构类别代码) per authority, GB 32100-2015 table 1.  Authorities 1, 5, 9 and N are
#: in STANDARDS.md §5.1 [V]; the others are as reproduced identically by several independent public
#: implementations [U] — change them here only.
CATEGORIES: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {
        authority: MappingProxyType(table)
        for authority, table in {
            "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
            "2": {"1": "外国常驻新闻机构", "9": "其他"},
            "3": {
                "1": "律师执业机构",
                "2": "公证处",
                "3": "基层法律服务所",
                "4": "司法鉴定机构",
                "5": "仲裁委员会",
                "9": "其他",
            },
            "4": {"1": "外国在华文化中心", "9": "其他"},
            "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
            "6": {
                "1": "外国旅游部门常驻代表机构",
                "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
                "9": "其他",
            },
            "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
            "8": {"1": "基层工会", "9": "其他"},
            "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
            "A": {"1": "军队事业单位", "9": "其他"},
            "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
            "Y": {"1": "其他"},
        }.items()
    }
)

_REGION = slice(2, 8)
_ORG_CODE = slice(8, 17)


@dataclass(frozen=True, slots=True)
class UsccInfo:
    """The parts of a valid unified social credit code (GB 32100-2015 clause 4)."""

    authority: str
    authority_name: str
    category: str
    category_name: str | None  # None when GB 32100 defines no such category for the authority
    region: str
    org_code: str
    org_code_valid: bool  # whether positions 9-17 carry a valid GB 11714 check character


_CHARSET_EXPECTED = "a digit or an upper-case letter other than I, O, S, V, Z"


def compact(code: str) -> str:
    """Strip spaces and hyphens, upper-case, full-width -> half-width."""
    return clean(code, what="unified social credit code")


def _check_charset(code: str, value: str) -> None:
    require_alphabet(code, _VALUE, "unified social credit code", _CHARSET_EXPECTED, value)


def calc_check_char(body: str) -> str:
    """Check character (position 18) for the first 17 characters (GB 32100-2015 clause 5)."""
    require_length(body, LENGTH - 1, "unified social credit code body")
    _check_charset(body, body)
    total = sum(_VALUE[char] * weight for char, weight in zip(body, WEIGHTS, strict=True))
    return CHARSET[(_MODULUS - total % _MODULUS) % _MODULUS]


def validate(code: str) -> str:
    """Return the compact code or raise: length, charset, known authority, region digits, checksum.

    The embedded organisation code's own check character is *not* enforced (see
    :attr:`UsccInfo.org_code_valid`).  Positions in errors index the compact code.
    """
    code = compact(code)
    require_length(code, LENGTH, "unified social credit code")
    _check_charset(code, code)
    if code[0] not in AUTHORITIES:
        raise InvalidComponent(
            f"unknown registration authority {code[0]!r}",
            value=code,
            position=0,
            expected="one of " + " ".join(AUTHORITIES),
        )
    check_digits(code[_REGION], "region (GB/T 2260) part", offset=_REGION.start, value=code)
    expected = calc_check_char(code[:-1])
    if code[-1] != expected:
        raise InvalidChecksum(
            "unified social credit code check character does not match",
            value=code,
            position=LENGTH - 1,
            expected=f"check character {expected!r}",
        )
    return code


def is_valid(code: str) -> bool:
    """Whether ``code`` is a valid unified social credit code."""
    return is_valid_with(validate, code)


def info(code: str) -> UsccInfo:
    """Validate ``code`` and split it into its parts (GB 32100-2015 clause 4)."""
    code = validate(code)
    authority, category = code[0], code[1]
    embedded = code[_ORG_CODE]
    return UsccInfo(
        authority=authority,
        authority_name=AUTHORITIES[authority],
        category=category,
        category_name=CATEGORIES.get(authority, MappingProxyType({})).get(category),
        region=code[_REGION],
        org_code=embedded,
        org_code_valid=org_code.is_valid(embedded),
    )
