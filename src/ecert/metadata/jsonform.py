"""JSON form of core metadata (English keys, as JSON APIs use; schema: spec/metadata.schema.json)."""

from __future__ import annotations

import json

from ecert.errors import FieldProblem, InvalidMetadata
from ecert.metadata.model import CoreMetadata, KeyStyle

__all__ = ["from_json", "to_json"]

MAX_JSON = 1024 * 1024


def to_json(md: CoreMetadata, keys: KeyStyle = "english") -> str:
    """Deterministic JSON (sorted keys, UTF-8 text)."""
    return json.dumps(md.to_dict(keys=keys), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def from_json(text: str | bytes) -> CoreMetadata:
    if len(text) > MAX_JSON:
        raise InvalidMetadata([FieldProblem("<json>", "document too large", len(text))])
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidMetadata([FieldProblem("<json>", f"not JSON ({exc})")]) from None
    return CoreMetadata.from_dict(data)
