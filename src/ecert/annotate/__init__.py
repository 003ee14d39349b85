"""Annotated copies (加注件): a certificate released for one stated use, visibly and verifiably.

``annotate(original, signer, reason=..., maker=..., until=..., level="A", at=...)`` returns an
:class:`AnnotatedCopy` (``.data``, ``.metadata``): the original's files untouched, a watermark
annotation on every page, the copy metadata (:class:`CopyMetadata`) in custom data and as an
attachment, and the releasing organisation's signature over all of it.  ``ecert.verify`` recognises
such a copy (:mod:`ecert.verify.copy`).  The format is ``spec/annotated-copy.md``.
"""

from ecert.annotate.make import AnnotatedCopy, annotate, releasing_organisation
from ecert.annotate.model import CopyLevel, CopyLimits, CopyMetadata, new_copy_id

__all__ = [
    "AnnotatedCopy",
    "CopyLevel",
    "CopyLimits",
    "CopyMetadata",
    "annotate",
    "new_copy_id",
    "releasing_organisation",
]
