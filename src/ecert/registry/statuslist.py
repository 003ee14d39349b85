"""Signed status lists: every identifier with a non-valid status, issuer-signed, dated.

Format (spec/statuslist.md): a JSON envelope ``{"format": "ecert-status-list/1", "payload": base64,
"alg": OID, "signature": base64, "certificates": [base64 DER, ...]}`` whose ``payload`` is the
canonical JSON (sorted keys, no spaces, UTF-8) of ``{"issuer", "issued_at", "next_update",
"entries": [{"id", "status", "reason", "at", "replaced_by"}]}``.  The signature covers the exact
payload bytes.  Loading verifies the signature, validates the signer certificate against the
caller's trust store, and refuses stale lists.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecert.crypto.algorithms import SignatureAlgorithm
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import Certificate
from ecert.errors import EcertError, InputError, InvalidSignature
from ecert.registry.status import CertStatus, StatusEntry

__all__ = ["FORMAT", "StatusList"]

FORMAT = "ecert-status-list/1"
MAX_LIST = 64 * 1024 * 1024


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class StatusList:
    issuer: str
    issued_at: datetime
    next_update: datetime | None
    entries: tuple[StatusEntry, ...]
    signer: Certificate | None = None

    knows_every_certificate = False

    @classmethod
    def build(
        cls,
        entries: Iterable[StatusEntry],
        *,
        issuer: str,
        issued_at: datetime,
        next_update: datetime | None = None,
    ) -> StatusList:
        items = tuple(sorted(entries, key=lambda e: e.identifier))
        ids = [e.identifier for e in items]
        if len(set(ids)) != len(ids):
            raise InputError("an identifier appears twice in the status list")
        if any(e.is_valid for e in items):
            raise InputError("a status list holds only certificates that are not valid")
        return cls(issuer, issued_at, next_update, items)

    def describe(self) -> str:
        return f"status list of {self.issuer} ({self.issued_at:%Y-%m-%d %H:%M} UTC)"

    def status_of(self, identifier: str) -> StatusEntry | None:
        return next((e for e in self.entries if e.identifier == identifier), None)

    def payload(self) -> bytes:
        return _canonical(
            {
                "issuer": self.issuer,
                "issued_at": self.issued_at.astimezone(UTC).isoformat(),
                "next_update": self.next_update.astimezone(UTC).isoformat() if self.next_update else None,
                "entries": [
                    {
                        "id": e.identifier,
                        "status": e.status.value,
                        "reason": e.reason,
                        "at": e.changed_at.astimezone(UTC).isoformat(),
                        "replaced_by": e.replaced_by,
                    }
                    for e in self.entries
                ],
            }
        )

    def sign(self, signer: Signer) -> bytes:
        payload = self.payload()
        envelope = {
            "format": FORMAT,
            "payload": base64.b64encode(payload).decode(),
            "alg": signer.algorithm.oid,
            "signature": base64.b64encode(signer.sign(payload)).decode(),
            "certificates": [base64.b64encode(c.der).decode() for c in (signer.certificate, *signer.chain)],
        }
        return json.dumps(envelope, indent=1, sort_keys=True).encode() + b"\n"

    @classmethod
    def load(cls, data: bytes, *, trust: TrustStore, at: datetime | None = None) -> StatusList:
        """Verify and read a signed list; tampered, untrusted, stale or malformed lists are refused."""
        when = at or datetime.now(UTC)
        if len(data) > MAX_LIST:
            raise InputError("status list too large", value=len(data))
        try:
            env = json.loads(data)
            if not isinstance(env, dict) or env.get("format") != FORMAT:
                raise InputError("not an ecert status list", expected=FORMAT)
            payload = base64.b64decode(env["payload"], validate=True)
            signature = base64.b64decode(env["signature"], validate=True)
            algorithm = SignatureAlgorithm.from_oid(str(env["alg"]))
            certs = [Certificate.from_der(base64.b64decode(c, validate=True)) for c in env["certificates"]]
        except EcertError:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InputError(f"malformed status list ({exc})") from None
        if not certs:
            raise InputError("status list carries no signer certificate")
        signer = certs[0]
        signer.public_key.verify(signature, payload, algorithm)
        result = trust.validate(signer, at=when, intermediates=certs[1:])
        if not result.ok:
            step = result.failed_step
            raise InvalidSignature(
                f"status list signer is not trusted: {step.name}: {step.message}"
                if step
                else "status list signer is not trusted"
            )
        return cls._from_payload(payload, signer, when)

    @classmethod
    def _from_payload(cls, payload: bytes, signer: Certificate, when: datetime) -> StatusList:
        try:
            body = json.loads(payload)
            issued_at = datetime.fromisoformat(body["issued_at"])
            next_update = datetime.fromisoformat(body["next_update"]) if body["next_update"] else None
            entries = [
                StatusEntry(
                    e["id"],
                    CertStatus(e["status"]),
                    e.get("reason"),
                    datetime.fromisoformat(e["at"]),
                    e.get("replaced_by"),
                )
                for e in body["entries"]
            ]
            issuer = str(body["issuer"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"malformed status list payload ({exc})") from None
        if _canonical(body) != payload:
            raise InputError("status list payload is not in canonical form")
        if next_update is not None and when > next_update:
            raise InputError(
                f"stale status list: its next update was due {next_update.isoformat()}",
                expected="a current list",
            )
        built = cls.build(entries, issuer=issuer, issued_at=issued_at, next_update=next_update)
        return cls(built.issuer, built.issued_at, built.next_update, built.entries, signer)
