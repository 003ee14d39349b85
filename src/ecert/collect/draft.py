"""A certificate draft: valid core metadata plus the type's typed data items, ready to package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ecert.catalog import CertificateType
from ecert.metadata import CoreMetadata, DataItemText

__all__ = ["CertificateDraft", "DataItemValue"]


@dataclass(frozen=True, slots=True)
class DataItemValue:
    name: str
    label: str
    value: str | date | int | Decimal
    text: str


@dataclass(frozen=True, slots=True)
class CertificateDraft:
    metadata: CoreMetadata
    cert_type: CertificateType
    items: tuple[DataItemValue, ...]
    ignored_fields: tuple[str, ...] = ()

    def item(self, name: str) -> DataItemValue | None:
        return next((i for i in self.items if i.name == name), None)

    def item_texts(self) -> tuple[DataItemText, ...]:
        return tuple(DataItemText(i.name, i.label, i.text) for i in self.items)

    def displayed_items(self) -> tuple[DataItemValue, ...]:
        shown = {s.name for s in self.cert_type.items if s.display}
        return tuple(i for i in self.items if i.name in shown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": {"code": self.cert_type.code, "name": self.cert_type.name},
            "metadata": self.metadata.to_dict(keys="english"),
            "items": [{"name": i.name, "label": i.label, "text": i.text} for i in self.items],
            "ignored_fields": list(self.ignored_fields),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)
