"""A certificate draft: valid core metadata plus the type's typed data items, ready to package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from ecert.catalog import CertificateType
from ecert.metadata import CoreMetadata, DataItemText

__all__ = ["CertificateDraft", "DataItemValue", "ItemValue"]

from ecert.collect.normalise import ItemValue


@dataclass(frozen=True, slots=True)
class DataItemValue:
    """One collected data item: typed ``value`` (for programs) and ``text`` (as printed on the face)."""

    name: str
    label: str
    value: ItemValue
    text: str

    def json_value(self) -> str | int:
        """The value in JSON: dates ISO 8601, decimals as text (no binary rounding), integers as is."""
        if isinstance(self.value, int):
            return self.value
        if isinstance(self.value, date):
            return self.value.isoformat()
        return str(self.value)


@dataclass(frozen=True, slots=True)
class CertificateDraft:
    """What collection produces: a record made valid for one certificate type.

    ``ignored_fields`` names the record's fields that the type does not know (kept visible so a
    caller can tell a typo from an irrelevant column).
    """

    metadata: CoreMetadata
    cert_type: CertificateType
    items: tuple[DataItemValue, ...]
    ignored_fields: tuple[str, ...] = ()

    def item(self, name: str) -> DataItemValue:
        """The collected item ``name`` (KeyError when the record did not give it).

        :param name: the data item's name.
        :returns: its collected value.
        """
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    def item_texts(self) -> tuple[DataItemText, ...]:
        """The items as text, for the certificate document and the face."""
        return tuple(DataItemText(i.name, i.label, i.text) for i in self.items)

    def displayed_items(self) -> tuple[DataItemValue, ...]:
        """The collected items the type shows on the face, in face order."""
        by_name = {i.name: i for i in self.items}
        return tuple(by_name[s.name] for s in self.cert_type.displayed_items if s.name in by_name)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): type, core metadata (pinyin keys), items, ignored fields."""
        return {
            "type": {"code": self.cert_type.code, "name": self.cert_type.name},
            "metadata": self.metadata.to_dict(keys="pinyin"),
            "items": [
                {"name": i.name, "label": i.label, "value": i.json_value(), "text": i.text}
                for i in self.items
            ],
            "ignored_fields": list(self.ignored_fields),
        }

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys, UTF-8 characters kept), as ``ecert collect`` prints it.

        :returns: the draft as JSON text.
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)
