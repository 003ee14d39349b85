"""JSON form of core metadata: English keys, as the JSON APIs of real systems use them (STANDARDS.md §2).

Schema: ``spec/metadata.schema.json`` (draft 2020-12).  Output is deterministic (sorted keys, no
ASCII escaping, compact separators), so equal metadata gives equal text and equal hashes.
"""

from __future__ import annotations

from typing import Any

from ecert.errors import FieldProblem, InvalidMetadata
from ecert.metadata.model import CoreMetadata, KeyStyle

__all__ = ["MAX_JSON", "from_json", "to_json"]

MAX_JSON = 1024 * 1024  # characters/bytes; a metadata record is a few kB


def to_json(md: CoreMetadata, keys: KeyStyle = "english") -> str:
    """Deterministic JSON text of the flat dictionary (``CoreMetadata.to_dict(keys)``)."""
    import json  # on first use: reading a certificate file needs no JSON

    return json.dumps(md.to_dict(keys=keys), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class _Duplicate(Exception):
    pass


def from_json(text: str | bytes, *, strict: bool = True) -> CoreMetadata:
    """Read JSON in any key style (``from_dict`` rules); malformed JSON is an InvalidMetadata too."""
    if not isinstance(text, str | bytes | bytearray):
        raise InvalidMetadata([FieldProblem("<json>", "JSON must be text or bytes", type(text).__name__)])
    if len(text) > MAX_JSON:
        raise InvalidMetadata([FieldProblem("<json>", "document too large", len(text), f"<= {MAX_JSON}")])
    import json

    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as dup:
        raise InvalidMetadata([FieldProblem(str(dup), "key given twice in one JSON object")]) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidMetadata([FieldProblem("<json>", f"not JSON ({exc})")]) from None
    if not isinstance(data, dict):
        raise InvalidMetadata([FieldProblem("<json>", "not a JSON object", type(data).__name__, "{...}")])
    return CoreMetadata.from_dict(data, strict=strict)
