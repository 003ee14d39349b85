"""Shared set-up of the share service's tests: issued certificates, applications and their keys.

The certificates are real (collected from examples/records and packaged with the test hierarchy
of tests/certs.py); the service key is a second department certificate under its own demo root.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecert.catalog import default_catalog
from ecert.collect import collect
from ecert.crypto.digests import sm3
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.keys import PrivateKey, generate_private_key, save_public_key
from ecert.crypto.signer import Signer
from ecert.metadata import Authority, CoreMetadata
from ecert.package import Issuer, package
from ecert.registry.base import Right
from ecert.registry.status import CertStatus

from .certs import DEPARTMENT_CODE, RECORDS, SIGNED_AT, signer

BUSINESS = "11100000MB0143028R001"  # 营业执照: its 法定代表人 (KZ_FDDBR) is made sensitive here
ENGINEER = "11100000000013338W001"  # 二级建造师注册证书: a person's certificate
SENSITIVE = ("KZ_FDDBR",)
ALL_OPS = ("search", "get", "get_by_qr", "download", "verify_data", "verify_file", "usage")


@dataclass(frozen=True, slots=True)
class Cert:
    metadata: CoreMetadata
    content: bytes

    @property
    def identifier(self) -> str:
        return str(self.metadata.identifier)


@functools.lru_cache(maxsize=1)
def certificates() -> tuple[Cert, ...]:
    """One certificate per sample record, plus a second business licence of the same holder."""
    out = []
    issuer = Authority(name="示例市市场监督管理局", code=DEPARTMENT_CODE)
    for path in sorted(RECORDS.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        serials = ["0000000001", "0000000002"] if path.stem == BUSINESS else ["0000000001"]
        for serial in serials:
            draft = collect(record, path.stem, issuer=issuer, serial=serial, today=SIGNED_AT.date())
            out.append(Cert(draft.metadata, package(draft, Issuer(signer()), at=SIGNED_AT)))
    return tuple(out)


def cert_of(type_code: str) -> Cert:
    return next(c for c in certificates() if c.metadata.type_code == type_code)


@functools.lru_cache(maxsize=1)
def service_signer() -> Signer:
    h = DemoHierarchy.create("sm2", department="示例市电子证照共享服务", now=SIGNED_AT)
    return Signer(h.issuer_key, h.issuer_cert, (h.root_cert,))


@functools.lru_cache(maxsize=8)
def app_key(app_id: str) -> PrivateKey:
    return generate_private_key("sm2")


def public_pem(app_id: str) -> str:
    return save_public_key(app_key(app_id).public_key()).decode("ascii")


APPS: dict[str, dict[str, Any]] = {
    # the tax bureau: every operation on every type, sensitive fields included
    "tax": {"department": "示例市税务局", "rights": [Right(op, "*", True) for op in ALL_OPS]},
    # a district office: get business licences only, no sensitive fields, no download
    "district": {
        "department": "示例区政务服务中心",
        "rights": [Right("get", BUSINESS), Right("search", BUSINESS), Right("verify_data", BUSINESS)],
    },
    # the holders' portal: the usage view
    "portal": {"department": "示例市一网通办门户", "rights": [Right("usage", "*")]},
    # a script that cannot sign every request: the token profile
    "kiosk": {"department": "示例市自助终端", "rights": [Right("get", "*")], "token": True},
}


def published_types() -> dict[str, Any]:
    """The sample types as published here: 营业执照 with 法定代表人 flagged sensitive."""
    catalog = default_catalog()
    out = {}
    for code in sorted({c.metadata.type_code for c in certificates()}):
        cert_type = catalog.get(code)
        if code == BUSINESS:
            items = tuple(replace(i, sensitive=True) if i.name in SENSITIVE else i for i in cert_type.items)
            cert_type = replace(cert_type, items=items)
        out[code] = cert_type
    return out


def populate(library: Any) -> None:
    """Publish the sample types, record the certificates, register the applications."""
    types = published_types()
    for cert_type in types.values():
        library.publish_type(cert_type)
    for cert in certificates():
        library.record_issued(
            cert.metadata,
            package_digest=sm3(cert.content).hex(),
            signer="test",
            issued_at=SIGNED_AT,
            content=cert.content,
            cert_type=types[cert.metadata.type_code],
        )
    for app_id, spec in APPS.items():
        library.add_application(
            app_id,
            name=f"{app_id} app",
            department=spec["department"],
            public_key=public_pem(app_id),
            rights=spec["rights"],
            token_allowed=spec.get("token", False),
        )


def set_status(library: Any, identifier: str, status: CertStatus) -> None:
    library.set_status(identifier, status, reason="test", by="test", at=datetime.now(UTC))


ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def opened(location: str) -> Iterator[Any]:
    """The library at ``location`` (an SQLite path or a PostgreSQL URL), closed afterwards."""
    from ecert.registry import open_registry

    library = open_registry(location)
    try:
        yield library
    finally:
        library.close()


@contextlib.contextmanager
def library_at(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """Where a fresh library lives for ``backend``: an SQLite file in ``folder``, or a new database
    on the test PostgreSQL server (tests/pg.py; skipped where there is none, failed in CI)."""
    if backend == "sqlite":
        yield str(folder / "library.db")
        return
    from .pg import fresh_database

    databases = fresh_database(request.getfixturevalue("pg_server"))
    try:
        yield next(databases)
    finally:
        databases.close()
