"""The library's catalogue (GB/T 36902 目录): certificate types as published, versioned.

A type is published with its whole definition and each field's ``sensitive`` flag; publishing the same
definition again is the same version, a changed one is the next.  A record keeps the version it was
issued under (``certificates.catalog_version``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from ecert.crypto.digests import sm3
from ecert.errors import EcertError, InputError, RecordNotFound, RegistryError
from ecert.registry import arguments as arg
from ecert.registry.base import PublishedField, PublishedType
from ecert.registry.sql import SQLBackend, Tx

if TYPE_CHECKING:
    from ecert.catalog import CertificateType

__all__ = ["CatalogueStore", "canonical_json"]


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same value is always the same bytes."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class CatalogueStore(SQLBackend):
    """Publishing and reading certificate types (``catalog_types``, ``catalog_fields``)."""

    def publish_type(self, cert_type: CertificateType, *, at: datetime | None = None) -> PublishedType:
        """Publish a type definition; the same definition again is the same version (idempotent)."""
        from ecert.catalog import CertificateType

        if not isinstance(cert_type, CertificateType):
            raise InputError("must be a CertificateType", where="cert_type", value=type(cert_type).__name__)
        when = self.moment(at or datetime.now(UTC), "at")
        with self._write() as tx:
            return self._publish(tx, cert_type, when)

    def _publish(self, tx: Tx, t: CertificateType, when: datetime) -> PublishedType:
        self._lock(tx, f"catalog {t.code}")  # two first records of a type publish it once
        definition = canonical_json(_plain(asdict(t)))
        digest = sm3(definition.encode("utf-8")).hex()
        row = tx.one(
            "SELECT catalog_version FROM catalog_types WHERE type_code=? AND definition_sm3=?",
            (t.code, digest),
        )
        if row is not None:
            return self._published(tx, t.code, row[0])
        latest = tx.one("SELECT MAX(catalog_version) FROM catalog_types WHERE type_code=?", (t.code,))
        version = (latest[0] if latest and latest[0] is not None else 0) + 1
        tx.run(
            "INSERT INTO catalog_types VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                t.code,
                version,
                t.name,
                t.defining_authority.name,
                t.defining_authority.code,
                t.holder_kind.value,
                canonical_json(_plain(asdict(t.validity))),
                t.status_profile,
                definition,
                digest,
                self.ts(when),
            ),
        )
        tx.many(
            "INSERT INTO catalog_fields VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (t.code, version, n, i.name, i.label, i.required, i.sensitive, i.max_length)
                for n, i in enumerate(t.items, 1)
            ],
        )
        return self._published(tx, t.code, version)

    def _published(self, tx: Tx, type_code: str, version: int | None) -> PublishedType:
        if version is None:
            row = tx.one("SELECT MAX(catalog_version) FROM catalog_types WHERE type_code=?", (type_code,))
            version = row[0] if row else None
            if version is None:
                raise RecordNotFound(f"certificate type {type_code} is not published in {self.describe()}")
        row = tx.one(
            "SELECT type_code, catalog_version, type_name, defining_authority, defining_authority_code, "
            "holder_category, validity_rule, status_profile, definition, definition_sm3, published_at "
            "FROM catalog_types WHERE type_code=? AND catalog_version=?",
            (type_code, version),
        )
        if row is None:
            raise RecordNotFound(f"certificate type {type_code} version {version} is not published")
        fields = tx.rows(
            "SELECT field_key, label, required, sensitive, max_length FROM catalog_fields "
            "WHERE type_code=? AND catalog_version=? ORDER BY position",
            (type_code, version),
        )
        return PublishedType(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            published_at=self.read_ts(row[10]),
            fields=tuple(PublishedField(k, lbl, bool(r), bool(s), m) for k, lbl, r, s, m in fields),
        )

    def published_type(self, type_code: str, catalog_version: int | None = None) -> PublishedType:
        """A published type: the given version, or the latest."""
        arg.text(type_code, "type_code")
        if catalog_version is not None:
            self._limit(catalog_version, "catalog_version")
        with self._read() as tx:
            return self._published(tx, type_code, catalog_version)

    def published_types(self) -> tuple[PublishedType, ...]:
        """The latest version of every published type, by type code."""
        with self._read() as tx:
            codes = [r[0] for r in tx.rows("SELECT DISTINCT type_code FROM catalog_types ORDER BY type_code")]
            return tuple(self._published(tx, code, None) for code in codes)

    def _catalog_version(
        self, tx: Tx, type_code: str, cert_type: CertificateType | None, when: datetime
    ) -> int:
        if cert_type is not None:
            if cert_type.code != type_code:
                raise RegistryError(
                    f"the certificate's type code {type_code} is not the given type's ({cert_type.code})"
                )
            return self._publish(tx, cert_type, when).catalog_version
        row = tx.one("SELECT MAX(catalog_version) FROM catalog_types WHERE type_code=?", (type_code,))
        if row and row[0] is not None:
            return int(row[0])
        from ecert.catalog import default_catalog

        try:
            bundled = default_catalog().get(type_code)
        except (KeyError, EcertError):
            raise RegistryError(
                f"certificate type {type_code} is not published in {self.describe()}: publish its "
                "definition first (publish_type, or give cert_type)"
            ) from None
        return self._publish(tx, bundled, when).catalog_version
