"""The certificate library's tables (spec/library.md) as data: one definition, DDL for every backend.

``spec/library.md`` is the written specification; this module is its machine form, and a test
compares the two and the live schema of each backend.  Column types are abstract (``text``,
``int``, ``bigint``, ``date``, ``timestamp``, ``bytes``, ``bool``); each backend maps them to its
own (SQLite keeps dates and times as ISO 8601 text in UTC, whose text order is time order;
PostgreSQL uses ``date`` and ``timestamptz``, and compares text bytewise (``COLLATE "C"``) as
SQLite does, so that ordering and ranges of identifiers and serials agree on both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["SCHEMA_VERSION", "TABLES", "Column", "Table", "ddl"]

ColumnType = Literal["text", "int", "bigint", "date", "timestamp", "bytes", "bool"]
Dialect = Literal["sqlite", "postgresql"]

#: 3 -> 4: the library data specification (spec/library.md) replaces the registry's tables.
SCHEMA_VERSION = 4

_TYPES: Mapping[Dialect, Mapping[ColumnType, str]] = MappingProxyType(
    {
        "sqlite": MappingProxyType(
            {"text": "TEXT", "int": "INTEGER", "bigint": "INTEGER", "date": "TEXT", "timestamp": "TEXT",
             "bytes": "BLOB", "bool": "INTEGER"}
        ),
        "postgresql": MappingProxyType(
            {"text": 'TEXT COLLATE "C"', "int": "INTEGER", "bigint": "BIGINT", "date": "DATE",
             "timestamp": "TIMESTAMPTZ", "bytes": "BYTEA", "bool": "BOOLEAN"}
        ),
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    required: bool = True
    code: str = ""  # the GB/T 36903 pinyin code real libraries use (ZZBS...), if any
    check: str = ""  # an SQL CHECK expression, portable to both backends


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, type_: ColumnType, required: bool = True, code: str = "", check: str = "") -> Column:
    return Column(name, type_, required, code, check)


_STATUS_CHECK = "status IN ('valid', 'suspended', 'revoked', 'cancelled', 'replaced')"
_CHAIN = (_c("prev_hash", "text"), _c("hash", "text"))

TABLES: tuple[Table, ...] = (
    Table("schema_version", (_c("version", "int"),), ("version",)),
    Table("library_info", (_c("name", "text"), _c("value", "text")), ("name",)),
    Table(
        "catalog_types",
        (
            _c("type_code", "text", code="ZZLXDM"),
            _c("catalog_version", "int"),
            _c("type_name", "text"),
            _c("defining_authority", "text"),
            _c("defining_authority_code", "text"),
            _c("holder_category", "text"),
            _c("validity_rule", "text"),
            _c("status_profile", "text"),
            _c("definition", "text"),
            _c("definition_sm3", "text"),
            _c("published_at", "timestamp"),
        ),
        ("type_code", "catalog_version"),
        unique=(("type_code", "definition_sm3"),),
    ),
    Table(
        "catalog_fields",
        (
            _c("type_code", "text", code="ZZLXDM"),
            _c("catalog_version", "int"),
            _c("position", "int"),
            _c("field_key", "text"),
            _c("label", "text"),
            _c("required", "bool"),
            _c("sensitive", "bool"),
            _c("max_length", "int", False),
        ),
        ("type_code", "catalog_version", "field_key"),
        foreign_keys=((("type_code", "catalog_version"), "catalog_types", ("type_code", "catalog_version")),),
    ),
    Table(
        "counters",
        (_c("type_code", "text"), _c("issuer_part", "text"), _c("period", "text"), _c("next", "bigint")),
        ("type_code", "issuer_part", "period"),
    ),
    Table(
        "serials",
        (
            _c("type_code", "text"),
            _c("issuer_part", "text"),
            _c("serial", "text"),
            _c("period", "text"),
            _c("state", "text", check="state IN ('allocated', 'issued', 'gap')"),
            _c("allocated_at", "timestamp"),
            _c("closed_at", "timestamp", False),
            _c("note", "text", False),
        ),
        ("type_code", "issuer_part", "serial"),
        indexes=(("state", "allocated_at"),),
    ),
    Table(
        "certificates",
        (
            _c("identifier", "text", code="ZZBS"),
            _c("certificate_name", "text", code="ZZMC"),
            _c("type_code", "text", code="ZZLXDM"),
            _c("number", "text", code="ZZBH"),
            _c("issuer_name", "text", code="ZZBFJG"),
            _c("issuer_code", "text", code="ZZBFJGDM"),
            _c("issue_date", "date", code="ZZBFRQ"),
            _c("holder_name", "text", code="CZZT"),
            _c("holder_code", "text", code="CZZTDM"),
            _c("holder_code_type", "text", code="CZZTDMLX"),
            _c("holder_code_type_code", "text", code="CZZTDMLXDM"),
            _c("valid_from", "date", False, code="ZZYXQQSRQ"),
            _c("valid_until", "date", False, code="ZZYXQJZRQ"),
            _c("long_term", "bool"),
            _c("area_code", "text", False, code="ZZSSXQDM"),
            _c("catalog_version", "int"),
            _c("issuer_part", "text"),
            _c("serial", "text"),
            _c("version", "int"),
            _c("metadata", "text"),
            _c("package_digest", "text"),
            _c("signer", "text"),
            _c("issued_at", "timestamp"),
            _c("file_path", "text", False),
            _c("source_key", "text", False),
            _c("status", "text", check=_STATUS_CHECK),
            _c("status_reason", "text", False),
            _c("status_changed_at", "timestamp"),
            _c("status_changed_by", "text", False),
            _c("replaced_by", "text", False),
        ),
        ("identifier",),
        unique=(("source_key",), ("type_code", "issuer_part", "serial", "version")),
        indexes=(
            # status_of reads this index alone: a lookup in a million certificates stays one small B-tree
            ("identifier", "status", "status_changed_at", "status_reason", "replaced_by"),
            ("holder_code", "type_code"),
            ("issuer_code", "status"),
            ("issue_date",),
            ("status",),
            ("holder_name",),
            ("number",),
        ),
        foreign_keys=(
            (("type_code", "issuer_part", "serial"), "serials", ("type_code", "issuer_part", "serial")),
            (("type_code", "catalog_version"), "catalog_types", ("type_code", "catalog_version")),
            (("replaced_by",), "certificates", ("identifier",)),
        ),
    ),
    Table(
        "certificate_holders",
        (
            _c("identifier", "text", code="ZZBS"),
            _c("position", "int"),
            _c("holder_name", "text", code="CZZT"),
            _c("holder_code", "text", code="CZZTDM"),
            _c("holder_code_type", "text", code="CZZTDMLX"),
            _c("holder_code_type_code", "text", code="CZZTDMLXDM"),
        ),
        ("identifier", "position"),
        indexes=(("holder_code", "holder_code_type_code"),),
        foreign_keys=((("identifier",), "certificates", ("identifier",)),),
    ),
    Table(
        "certificate_fields",
        (_c("identifier", "text", code="ZZBS"), _c("field_key", "text", code="KZ_*"), _c("value", "text")),
        ("identifier", "field_key"),
        foreign_keys=((("identifier",), "certificates", ("identifier",)),),
    ),
    Table(
        "certificate_files",
        (
            _c("identifier", "text", code="ZZBS"),
            _c("kind", "text", check="kind IN ('original', 'face', 'copy')"),
            _c("digest", "text"),
            _c("size", "bigint"),
            _c("content_type", "text"),
            _c("content", "bytes", False),
            _c("store_path", "text", False),
            _c("created_at", "timestamp"),
        ),
        ("identifier", "kind"),
        indexes=(("digest",),),
    ),
    Table(
        "status_codes",
        (_c("profile", "text"), _c("code", "text"), _c("meaning", "text"), _c("label", "text")),
        ("profile", "code"),
    ),
    Table(
        "chain_heads",
        (_c("chain", "text", check="chain IN ('status', 'usage')"), _c("seq", "bigint"), _c("hash", "text")),
        ("chain",),
    ),
    Table(
        "status_events",
        (
            _c("seq", "bigint"),
            _c("event_id", "text"),
            _c("kind", "text", check="kind IN ('issued', 'status', 'copy')"),
            _c("identifier", "text", code="ZZBS"),
            _c("version", "int"),
            _c("status", "text", check=_STATUS_CHECK),
            _c("reason", "text", False),
            _c("operator", "text", False),
            _c("at", "timestamp"),
            _c("payload", "text"),
            *_CHAIN,
        ),
        ("seq",),
        unique=(("event_id",), ("hash",)),
        indexes=(("identifier", "seq"),),
    ),
    Table(
        "usage_records",
        (
            _c("seq", "bigint"),
            _c("event_id", "text"),
            _c("identifier", "text", False, code="ZZBS"),
            _c("app_id", "text"),
            _c("department", "text"),
            _c("operator", "text"),
            _c("operation", "text"),
            _c("result", "text"),
            _c("reason", "text", False),
            _c("item_code", "text", False),
            _c("case_number", "text", False),
            _c("copy_id", "text", False),
            _c("at", "timestamp"),
            *_CHAIN,
        ),
        ("seq",),
        unique=(("event_id",), ("hash",)),
        indexes=(("identifier", "seq"), ("app_id", "seq")),
    ),
    Table(
        "annotated_copies",
        (
            _c("copy_id", "text"),
            _c("identifier", "text", code="ZZBS"),
            _c("level", "text", check="level IN ('A', 'B')"),
            _c("made_at", "timestamp", code="JZJZZSJ"),
            _c("maker", "text", code="JZJZZZ"),
            _c("reason", "text", code="JZJZZSY"),
            _c("valid_until", "date", code="JZJYXQJZSJ"),
            _c("package_digest", "text"),
            _c("app_id", "text", False),
            _c("usage_seq", "bigint", False),
        ),
        ("copy_id",),
        indexes=(("identifier",),),
        foreign_keys=((("identifier",), "certificates", ("identifier",)),),
    ),
    Table(
        "applications",
        (
            _c("app_id", "text"),
            _c("name", "text"),
            _c("department", "text"),
            _c("department_code", "text", False),
            _c("public_key", "text", False),
            _c("key_status", "text", check="key_status IN ('active', 'revoked')"),
            _c("token_allowed", "bool"),
            _c("created_at", "timestamp"),
        ),
        ("app_id",),
    ),
    Table(
        "application_rights",
        (_c("app_id", "text"), _c("operation", "text"), _c("type_code", "text"), _c("sensitive", "bool")),
        ("app_id", "operation", "type_code"),
        foreign_keys=((("app_id",), "applications", ("app_id",)),),
    ),
    Table(
        "request_nonces",
        (_c("app_id", "text"), _c("nonce", "text"), _c("seen_at", "timestamp")),
        ("app_id", "nonce"),
        indexes=(("seen_at",),),
    ),
    Table(
        "access_tokens",
        (
            _c("token_sm3", "text"),
            _c("app_id", "text"),
            _c("issued_at", "timestamp"),
            _c("expires_at", "timestamp"),
        ),
        ("token_sm3",),
    ),
    Table(
        "download_tickets",
        (
            _c("ticket_sm3", "text"),
            _c("identifier", "text", code="ZZBS"),
            _c("kind", "text"),
            _c("app_id", "text"),
            _c("created_at", "timestamp"),
            _c("expires_at", "timestamp"),
            _c("used_at", "timestamp", False),
        ),
        ("ticket_sm3",),
    ),
)

TABLE_BY_NAME: Mapping[str, Table] = MappingProxyType({t.name: t for t in TABLES})


def ddl(dialect: Dialect) -> tuple[str, ...]:
    """CREATE TABLE and CREATE INDEX statements of every table, in dependency order."""
    types = _TYPES[dialect]
    out: list[str] = []
    for table in TABLES:
        parts = []
        for col in table.columns:
            line = f"{col.name} {types[col.type]}"
            if col.required:
                line += " NOT NULL"
            if col.check:
                line += f" CHECK ({col.check})"
            parts.append(line)
        parts.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
        parts.extend(f"UNIQUE ({', '.join(u)})" for u in table.unique)
        parts.extend(
            f"FOREIGN KEY ({', '.join(cols)}) REFERENCES {target} ({', '.join(target_cols)})"
            for cols, target, target_cols in table.foreign_keys
        )
        out.append(f"CREATE TABLE {table.name} (\n    " + ",\n    ".join(parts) + "\n)")
        out.extend(
            f"CREATE INDEX {table.name}_{'_'.join(cols)} ON {table.name} ({', '.join(cols)})"
            for cols in table.indexes
        )
    return tuple(out)
