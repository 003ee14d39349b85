"""The copy metadata of an annotated copy (加注件) and the watermark wording it implies.

The four JZJ fields are those real libraries keep for a copy (``JZJZZSJ`` 制作时间, ``JZJZZZ``
制作者, ``JZJZZSY`` 制作事由, ``JZJYXQJZSJ`` 有效期截止时间; gtmap's ``BDC_DZZZ_JZJXX`` table);
ecert adds the copy's own identifier, its level (国办函〔2016〕108号 levels A and B), the releasing
organisation the watermark names, and the original's identifier and SM3 digest.  The XML form,
the custom data and the watermark wording are specified in ``spec/annotated-copy.md``.
"""

from __future__ import annotations

import enum
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from lxml import etree

from ecert.annotate.names import KEYS
from ecert.errors import EcertError, InvalidAnnotatedCopy
from ecert.identifier import Identifier
from ecert.ofd.xmlsafe import parse_xml
from ecert.times import CHINA_STANDARD_TIME, aware, china_date

__all__ = [
    "COPY_NAMESPACE",
    "KEYS",
    "CopyLevel",
    "CopyLimits",
    "CopyMetadata",
    "new_copy_id",
]

COPY_NAMESPACE = "urn:ecert:annotated-copy:1"
MAX_NAME = 100  # characters of a maker or organisation name
MAX_REASON = 200  # the share services' useCause limit (LW: <= 200 characters)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_SM3_HEX = re.compile(r"^[0-9a-f]{64}$")


class CopyLevel(enum.Enum):
    """国办函〔2016〕108号: A, released by the organisation from its library; B, also checked against
    the paper original at a window.  (Levels C and D need no annotation the file could carry.)"""

    A = "A"
    B = "B"


@dataclass(frozen=True, slots=True)
class CopyLimits:
    """What a releasing organisation allows: a copy valid at most ``max_days`` days after it is made
    (MOHRSS practice: 90), a use reason of ``min_reason``..``max_reason`` characters."""

    max_days: int = 90
    min_reason: int = 1
    max_reason: int = MAX_REASON

    def __post_init__(self) -> None:
        values = (self.max_days, self.min_reason, self.max_reason)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise InvalidAnnotatedCopy("limits must be whole numbers", where="CopyLimits", value=values)
        if not 1 <= self.max_days <= 3660:
            raise InvalidAnnotatedCopy(
                "max_days out of range", where="CopyLimits.max_days", value=self.max_days, expected="1..3660"
            )
        if not 1 <= self.min_reason <= self.max_reason <= MAX_REASON:
            raise InvalidAnnotatedCopy(
                "reason length limits out of range",
                where="CopyLimits",
                value=(self.min_reason, self.max_reason),
                expected=f"1 <= min_reason <= max_reason <= {MAX_REASON}",
            )


def new_copy_id() -> str:
    """A fresh copy identifier (加注件标识): a random UUID (version 4), lower-case, 36 characters."""
    return str(uuid.uuid4())


def _text(value: object, where: str, max_len: int, min_len: int = 1) -> str:
    """One line of printable text: the watermark draws it, so no control or format characters."""
    if not isinstance(value, str):
        raise InvalidAnnotatedCopy("must be text", where=where, value=type(value).__name__)
    text = unicodedata.normalize("NFC", value.strip())
    if not min_len <= len(text) <= max_len:
        raise InvalidAnnotatedCopy(
            "length out of range", where=where, value=value, expected=f"{min_len}..{max_len} characters"
        )
    bad = next((c for c in text if unicodedata.category(c)[0] in "CZ" and c != " "), None)
    if bad is not None:
        raise InvalidAnnotatedCopy(
            "contains a control, format or separator character",
            where=where,
            value=value,
            expected=f"printable text (found U+{ord(bad):04X})",
        )
    return text


@dataclass(frozen=True, slots=True)
class CopyMetadata:
    """Who released the copy, for what, until when, of which original.  A value that exists is valid.

    ``valid_until`` is a day on the Chinese calendar: the copy is valid to the end of that day
    (UTC+8), as certificate validity dates are.
    """

    copy_id: str  # 加注件标识 (JZJBS)
    made_at: datetime  # 加注件制作时间 (JZJZZSJ)
    maker: str  # 加注件制作者 (JZJZZZ)
    reason: str  # 加注件制作事由 (JZJZZSY)
    valid_until: date  # 加注件有效期截止时间 (JZJYXQJZSJ)
    level: CopyLevel  # 加注件级别 (JZJJB)
    organisation: str  # 提供机构 (JZJTGJG): the releasing organisation the watermark names
    original_identifier: str  # 证照标识 of the original (YJZZBS, 原件证照标识)
    original_sm3: str  # SM3 of the original OFD file, 64 lower-case hex digits (YJSM3, 原件 SM3)

    def __post_init__(self) -> None:
        if not isinstance(self.copy_id, str) or not _UUID.match(self.copy_id):
            raise InvalidAnnotatedCopy(
                "copy identifier is not a lower-case UUID version 4",
                where="JZJBS",
                value=self.copy_id,
                expected="e.g. 0b0e8e52-4f6a-4c2e-9d3b-1f2a3b4c5d6e",
            )
        try:
            made = aware(self.made_at, "JZJZZSJ")
        except InvalidAnnotatedCopy:
            raise
        except EcertError as exc:
            raise InvalidAnnotatedCopy(exc.args[0], where="JZJZZSJ (made at)") from None
        object.__setattr__(self, "made_at", made.replace(microsecond=0).astimezone(CHINA_STANDARD_TIME))
        object.__setattr__(self, "maker", _text(self.maker, "JZJZZZ (maker)", MAX_NAME))
        object.__setattr__(self, "reason", _text(self.reason, "JZJZZSY (reason)", MAX_REASON))
        object.__setattr__(self, "organisation", _text(self.organisation, "JZJTGJG (organisation)", MAX_NAME))
        if not isinstance(self.valid_until, date) or isinstance(self.valid_until, datetime):
            raise InvalidAnnotatedCopy(
                "expiry must be a date",
                where="JZJYXQJZSJ",
                value=type(self.valid_until).__name__,
                expected="datetime.date",
            )
        if self.valid_until < china_date(self.made_at):
            raise InvalidAnnotatedCopy(
                "the copy would expire before it is made",
                where="JZJYXQJZSJ",
                value=self.valid_until.isoformat(),
                expected=f">= {china_date(self.made_at).isoformat()}",
            )
        if not isinstance(self.level, CopyLevel):
            raise InvalidAnnotatedCopy("unknown level", where="JZJJB", value=self.level, expected="A or B")
        try:
            Identifier.parse(self.original_identifier)
        except EcertError as exc:
            raise InvalidAnnotatedCopy(
                f"the original's identifier is not valid: {exc}",
                where="YJZZBS",
                value=self.original_identifier,
            ) from None
        if not isinstance(self.original_sm3, str) or not _SM3_HEX.match(self.original_sm3):
            raise InvalidAnnotatedCopy(
                "not an SM3 digest in lower-case hex",
                where="YJSM3",
                value=self.original_sm3,
                expected="64 hex digits",
            )

    # --- meaning ----------------------------------------------------------------------------

    @property
    def expires_at(self) -> datetime:
        """The first instant the copy is no longer valid: midnight after ``valid_until``, China time."""
        end = datetime.combine(self.valid_until, datetime.min.time(), CHINA_STANDARD_TIME)
        return end + timedelta(days=1)

    def expired(self, at: datetime) -> bool:
        """True from the end of the ``valid_until`` day (China time) on."""
        return aware(at, "at") >= self.expires_at

    def check_limits(self, limits: CopyLimits) -> None:
        """Refuse a copy the organisation's limits do not allow (validity days, reason length)."""
        days = (self.valid_until - china_date(self.made_at)).days
        if days > limits.max_days:
            raise InvalidAnnotatedCopy(
                "the copy would be valid too long",
                where="JZJYXQJZSJ (until)",
                value=self.valid_until.isoformat(),
                expected=f"at most {limits.max_days} days after {china_date(self.made_at).isoformat()}",
            )
        if not limits.min_reason <= len(self.reason) <= limits.max_reason:
            raise InvalidAnnotatedCopy(
                "reason length out of range",
                where="JZJZZSY (reason)",
                value=self.reason,
                expected=f"{limits.min_reason}..{limits.max_reason} characters",
            )

    def watermark_text(self) -> str:
        """The annotation sentence, the national guide's A/B wording with organisation, reason, expiry.

        A: 此件由××机构提供，仅供办理政务服务事项时使用，有效期至×年×月×日 — the use reason stands for
        "政务服务事项"; B starts with 此件经与原件核对无误 (国办函〔2016〕108号).
        """
        until = f"{self.valid_until.year}年{self.valid_until.month}月{self.valid_until.day}日"
        checked = "此件经与原件核对无误，" if self.level is CopyLevel.B else ""
        return f"{checked}此件由{self.organisation}提供，仅供办理“{self.reason}”时使用，有效期至{until}"

    # --- forms ------------------------------------------------------------------------------

    def elements(self) -> tuple[tuple[str, str], ...]:
        """``(key, text)`` in the fixed order of the XML form and of ``DocInfo/CustomDatas``."""
        return (
            ("JZJBS", self.copy_id),
            ("JZJZZSJ", self.made_at.isoformat()),
            ("JZJZZZ", self.maker),
            ("JZJZZSY", self.reason),
            ("JZJYXQJZSJ", self.valid_until.isoformat()),
            ("JZJJB", self.level.value),
            ("JZJTGJG", self.organisation),
            ("YJZZBS", self.original_identifier),
            ("YJSM3", self.original_sm3),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the element keys of :meth:`elements` with their texts."""
        return dict(self.elements())

    def to_xml(self) -> bytes:
        """The XML form (``spec/annotated-copy.md``), deterministic: the copy's attachment."""
        root = etree.Element(f"{{{COPY_NAMESPACE}}}AnnotatedCopy", nsmap={"jzj": COPY_NAMESPACE})
        for key, text in self.elements():
            etree.SubElement(root, f"{{{COPY_NAMESPACE}}}{key}").text = text
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")

    @classmethod
    def from_dict(cls, data: object) -> CopyMetadata:
        """Parse the JSON form; every key present once, nothing else."""
        keys = list(KEYS)
        if not isinstance(data, dict) or sorted(data) != sorted(keys):
            raise InvalidAnnotatedCopy(
                "copy metadata must have exactly the JZJ keys",
                where="copy metadata",
                value=sorted(data) if isinstance(data, dict) else type(data).__name__,
                expected=", ".join(keys),
            )
        texts = [data[k] for k in keys]
        if not all(isinstance(t, str) for t in texts):
            raise InvalidAnnotatedCopy("every copy metadata value must be text", where="copy metadata")
        return cls._from_texts(dict(zip(keys, texts, strict=True)))

    @classmethod
    def from_xml(cls, data: bytes) -> CopyMetadata:
        """Parse the XML form strictly: the namespace, every element once, in order, nothing else."""
        root = parse_xml(data, "annotated copy metadata", max_size=64 * 1024)
        where = "annotated copy metadata"
        if root.tag != f"{{{COPY_NAMESPACE}}}AnnotatedCopy" or root.attrib or (root.text or "").strip():
            raise InvalidAnnotatedCopy(
                "not a jzj:AnnotatedCopy element",
                where=where,
                value=str(root.tag),
                expected=f"{{{COPY_NAMESPACE}}}AnnotatedCopy",
            )
        children = list(root)
        keys = list(KEYS)
        found = [c.tag for c in children]
        if found != [f"{{{COPY_NAMESPACE}}}{k}" for k in keys]:
            raise InvalidAnnotatedCopy(
                "elements missing, repeated or out of order",
                where=where,
                value=[str(t).rpartition("}")[2] for t in found],
                expected=", ".join(keys),
            )
        for c in children:
            if c.attrib or len(c) or (c.tail or "").strip():
                raise InvalidAnnotatedCopy(
                    "an element carries attributes, children or stray text", where=f"{where} {c.tag}"
                )
        return cls._from_texts({k: c.text or "" for k, c in zip(keys, children, strict=True)})

    @classmethod
    def _from_texts(cls, texts: dict[str, str]) -> CopyMetadata:
        try:
            made_at = datetime.fromisoformat(texts["JZJZZSJ"])
        except ValueError:
            raise InvalidAnnotatedCopy(
                "not an ISO 8601 time", where="JZJZZSJ", value=texts["JZJZZSJ"]
            ) from None
        try:
            until = date.fromisoformat(texts["JZJYXQJZSJ"])
        except ValueError:
            raise InvalidAnnotatedCopy(
                "not an ISO 8601 date", where="JZJYXQJZSJ", value=texts["JZJYXQJZSJ"]
            ) from None
        try:
            level = CopyLevel(texts["JZJJB"])
        except ValueError:
            raise InvalidAnnotatedCopy(
                "unknown level", where="JZJJB", value=texts["JZJJB"], expected="A or B"
            ) from None
        md = cls(
            texts["JZJBS"],
            made_at,
            texts["JZJZZZ"],
            texts["JZJZZSY"],
            until,
            level,
            texts["JZJTGJG"],
            texts["YJZZBS"],
            texts["YJSM3"],
        )
        if dict(md.elements()) != texts:  # one spelling only: what was signed is what is shown
            changed = sorted(k for k, v in md.elements() if texts[k] != v)
            raise InvalidAnnotatedCopy(
                "copy metadata not in its canonical form",
                where=", ".join(changed),
                value=[texts[k] for k in changed],
                expected=", ".join(dict(md.elements())[k] for k in changed),
            )
        return md
