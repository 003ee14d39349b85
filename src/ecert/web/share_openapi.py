"""Print the share app's OpenAPI document, as kept in spec/share-openapi.json.

``python -m ecert.web.share_openapi > spec/share-openapi.json``.  The app is built over an empty
stand-in library and a throw-away key: the document depends only on the routes and models.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["document"]


def document() -> str:
    from ecert.crypto.hierarchy import DemoHierarchy
    from ecert.crypto.signer import Signer
    from ecert.share import ShareService
    from ecert.web.share import create_share_app, openapi_document

    h = DemoHierarchy.create("sm2", department="OpenAPI")
    library: Any = object()  # never called: building the app reads nothing from the library
    service = ShareService(library, Signer(h.issuer_key, h.issuer_cert))
    return openapi_document(create_share_app(service))


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(document())
