"""Where an annotated copy keeps its files and what its custom data is called (spec/annotated-copy.md).

Kept apart from :mod:`ecert.annotate.layer` (which builds the files, with the OFD writer and its
page model) so that a verifier can tell a copy from an original without loading either.
"""

from __future__ import annotations

__all__ = [
    "COPY_DIR",
    "DOCUMENT_ENTRY",
    "KEYS",
    "METADATA_ENTRY",
    "METADATA_NAME",
    "ORIGINAL_ENTRY",
    "ORIGINAL_NAME",
    "SIGNATURES_LOC",
]

COPY_DIR = "Copy"
DOCUMENT_ENTRY = f"{COPY_DIR}/Document.xml"
METADATA_NAME = "ecert-annotated-copy"  # Attachments.xml Name of the copy metadata
ORIGINAL_NAME = "original"  # Attachments.xml Name of the original OFD file
METADATA_ENTRY = f"{COPY_DIR}/Attachs/{METADATA_NAME}.xml"
ORIGINAL_ENTRY = f"{COPY_DIR}/Attachs/{ORIGINAL_NAME}.ofd"
SIGNATURES_LOC = f"{COPY_DIR}/Signs/Signatures.xml"  # where the copy's signature list goes
# the elements of the XML form, the JSON keys and the CustomData names, in this order
KEYS = ("JZJBS", "JZJZZSJ", "JZJZZZ", "JZJZZSY", "JZJYXQJZSJ", "JZJJB", "JZJTGJG", "YJZZBS", "YJSM3")
