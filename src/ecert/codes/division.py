"""Administrative division codes (行政区划代码, GB/T 2260): shape and plausibility only.

A division code is 6 digits: 2 province + 2 prefecture + 2 county.  ecert does not ship the full
GB/T 2260 table (it changes every year); it checks the shape and that the first two digits are one
of the 34 provincial-level codes, which catches most typing errors in the region part of a citizen
ID number or of an e-certificate issuer given as an area code.
"""

from __future__ import annotations

from types import MappingProxyType

from ecert.codes._rules import is_valid_with
from ecert.codes.iso7064 import clean, require_text
from ecert.errors import InvalidComponent, InvalidFormat, InvalidLength

__all__ = ["LENGTH", "PROVINCES", "check_digits", "compact", "is_valid", "province_name", "validate"]

LENGTH = 6

#: Provincial-level divisions of GB/T 2260 (first two digits of every division code).
PROVINCES: MappingProxyType[str, str] = MappingProxyType(
    {
        "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
        "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
        "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
        "37": "山东省",
        "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
        "46": "海南省",
        "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
        "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
        "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
    }
)  # fmt: skip


def compact(code: str) -> str:
    """Strip spaces and hyphens, make full-width digits half-width."""
    return clean(code, what="administrative division code")


def check_digits(code: str, what: str, offset: int = 0, value: str | None = None) -> None:
    """Raise :class:`InvalidFormat` at the first character of ``code`` that is not an ASCII digit.

    ``code`` may be a part of ``value`` starting at ``offset``; the error quotes ``value``.
    """
    for position, char in enumerate(require_text(code, what)):
        if not "0" <= char <= "9":
            raise InvalidFormat(
                f"{what} must be digits",
                value=code if value is None else value,
                position=offset + position,
                expected="a digit 0-9",
            )


def validate(code: str) -> str:
    """Return the compact division code or raise: 6 digits, known province part (GB/T 2260)."""
    code = compact(code)
    if len(code) != LENGTH:
        raise InvalidLength(
            "administrative division code has the wrong length",
            value=code,
            position=min(len(code), LENGTH),
            expected=f"{LENGTH} digits",
        )
    check_digits(code, "administrative division code")
    if code[:2] not in PROVINCES:
        raise InvalidComponent(
            f"no province with code {code[:2]}",
            value=code,
            position=0,
            expected="a GB/T 2260 province code (11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71, 81, 82)",
        )
    return code


def is_valid(code: str) -> bool:
    """Whether ``code`` has the shape of a GB/T 2260 division code with a real province part."""
    return is_valid_with(validate, code)


def province_name(code: str) -> str:
    """Name of the province a valid division code belongs to (e.g. ``"340100"`` -> 安徽省)."""
    return PROVINCES[validate(code)[:2]]
