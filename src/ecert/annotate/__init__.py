"""Annotated copies (加注件): a certificate released for one stated use, visibly and verifiably.

``annotate(original, signer, reason=..., maker=..., until=..., level="A", at=...)`` returns an
:class:`AnnotatedCopy` (``.data``, ``.metadata``): the original's files untouched, a watermark
annotation on every page, the copy metadata (:class:`CopyMetadata`) in custom data and as an
attachment, and the releasing organisation's signature over all of it.  ``ecert.verify`` recognises
such a copy (:mod:`ecert.verify.copy`).  The format is ``spec/annotated-copy.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecert.annotate.make import AnnotatedCopy, annotate, releasing_organisation
    from ecert.annotate.model import CopyLevel, CopyLimits, CopyMetadata, new_copy_id

# imported on first use: ``ecert.verify`` reads copies through ecert.annotate.layer, and importing this
# package must not load the packaging and image layers (``make``) for every verification
_LAZY = {
    "AnnotatedCopy": "ecert.annotate.make",
    "annotate": "ecert.annotate.make",
    "releasing_organisation": "ecert.annotate.make",
    "CopyLevel": "ecert.annotate.model",
    "CopyLimits": "ecert.annotate.model",
    "CopyMetadata": "ecert.annotate.model",
    "new_copy_id": "ecert.annotate.model",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ecert.annotate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AnnotatedCopy",
    "CopyLevel",
    "CopyLimits",
    "CopyMetadata",
    "annotate",
    "new_copy_id",
    "releasing_organisation",
]
