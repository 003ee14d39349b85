"""spec/share-openapi.json is the OpenAPI document the share app generates: a test fails when they drift.

Regenerate with ``python -m ecert.web.share_openapi > spec/share-openapi.json`` after changing the app.
"""

from __future__ import annotations

import json
from pathlib import Path

from ecert.web.share_openapi import document

SPEC = Path(__file__).resolve().parents[1] / "spec" / "share-openapi.json"


def test_the_kept_openapi_document_is_the_apps() -> None:
    kept = SPEC.read_text(encoding="utf-8")
    assert kept == document(), "spec/share-openapi.json is stale: python -m ecert.web.share_openapi > it"


def test_every_operation_and_request_body_is_documented() -> None:
    doc = json.loads(document())
    paths = doc["paths"]
    for op in ("token", "catalogue", "search", "get", "get-by-qr", "download", "verify-data", "verify-file",
               "usage"):  # fmt: skip
        body = paths[f"/share/v1/{op}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        name = body["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
        assert schema.get("additionalProperties") is False, name  # unknown fields are refused
    assert "/share/v1/files/{ticket}" in paths
