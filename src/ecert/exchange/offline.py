"""The offline exchange package (前置机): a file of signed batches carried between libraries that
only meet through a data-exchange platform or a front-end machine.

``{"format": "ecert-exchange-package/1", "batches": [base64 of each signed batch, in seq order]}``;
each batch is signed on its own (spec/exchange.md), so the package itself needs no signature.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from ecert.crypto.signer import Signer
from ecert.errors import InvalidBundle
from ecert.exchange.batch import DEFAULT_FILE_BYTES, make_batch
from ecert.exchange.envelope import b64, unb64
from ecert.registry.base import Registry

__all__ = ["PACKAGE_FORMAT", "make_package", "read_package"]

PACKAGE_FORMAT = "ecert-exchange-package/1"
MAX_PACKAGE_BYTES = 1024 * 1024 * 1024


def make_package(
    library: Registry,
    signer: Signer,
    *,
    after: int = 0,
    batch_size: int = 1000,
    max_batches: int = 1000,
    max_file_bytes: int = DEFAULT_FILE_BYTES,
    status_codes: str | None = None,
    at: datetime | None = None,
) -> tuple[bytes, int] | None:
    """(package, last seq) of every event after ``after`` in batches of ``batch_size``; None: nothing new.

    ``status_codes`` (``mohurd-a``/``mohurd-b``) puts the ministry codes in every batch (spec/exchange.md §6).
    """
    batches: list[str] = []
    cursor = after
    while len(batches) < max_batches:
        data = make_batch(
            library,
            signer,
            sender=library.library_id,
            after=cursor,
            limit=batch_size,
            max_file_bytes=max_file_bytes,
            status_codes=status_codes,
            at=at,
        )
        if data is None:
            break
        batches.append(b64(data))
        cursor = _last_seq(data)
    if not batches:
        return None
    doc = {"format": PACKAGE_FORMAT, "batches": batches}
    return json.dumps(doc, indent=1).encode("utf-8") + b"\n", cursor


def _last_seq(batch: bytes) -> int:
    """The last seq of a batch just made here (a renewal may take it one event past the limit)."""
    payload = json.loads(base64.b64decode(json.loads(batch)["payload"]))
    return int(payload["last_seq"])


def read_package(data: bytes) -> list[bytes]:
    """The signed batches of a package, in order (each is verified when applied)."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise InvalidBundle(
            "exchange package too large", value=len(data), expected=f"<= {MAX_PACKAGE_BYTES} bytes"
        )
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidBundle(f"exchange package is not UTF-8 JSON ({exc})") from None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != PACKAGE_FORMAT
        or not isinstance(doc.get("batches"), list)
    ):
        raise InvalidBundle("not an exchange package", where="format", expected=repr(PACKAGE_FORMAT))
    return [unb64(b, f"batches[{i}]") for i, b in enumerate(doc["batches"])]
