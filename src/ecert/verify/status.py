"""What verification needs from a status source (a registry, a signed status list).

The verifier defines the interface it consumes; :mod:`ecert.registry` implements it.  A source
answers for one identifier: ``None`` when it does not know it, or an entry with the status.
A registry knows every certificate it issued, so "unknown" is a failure there; a status list
carries only certificates that are *not* valid, so "unknown" means "not listed".  A registry also
keeps what it issued under each identifier: a file that reuses a registered identifier for other
content is not that certificate, whatever its status.

A status list speaks only for the department that signed it (the organisation code in its signer
certificate): department A's list saying nothing about department B's certificate is no answer.

A source dated like a status list may also say that it cannot answer for a verification time
(``stale_reason(at) -> str | None``, optional): a list past its next update is no answer then, even
when it was loaded while fresh.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from ecert.metadata import CoreMetadata

__all__ = ["StatusEntryView", "StatusSource"]


@runtime_checkable
class StatusEntryView(Protocol):
    @property
    def is_valid(self) -> bool: ...

    @property
    def status_name(self) -> str: ...  # e.g. "revoked"

    @property
    def status_name_zh(self) -> str: ...  # e.g. "吊销"

    @property
    def reason(self) -> str | None: ...

    @property
    def changed_at(self) -> datetime: ...


@runtime_checkable
class StatusSource(Protocol):
    @property
    def knows_every_certificate(self) -> bool: ...

    @property
    def issuer_codes(self) -> frozenset[str] | None: ...  # whose certificates it speaks for; None: any

    def describe(self) -> str: ...

    def status_of(self, identifier: str) -> StatusEntryView | None: ...

    def recorded_metadata(self, identifier: str) -> CoreMetadata | None: ...  # what was issued, if kept
