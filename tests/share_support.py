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
from pathlib import Path
from typing import Any

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
    for code, cert_type in types.items():
        if hasattr(library, "publish"):  # the in-memory stand-in
            library.publish(cert_type, SENSITIVE if code == BUSINESS else ())
        else:
            library.publish_type(cert_type)
    for cert in certificates():
        if hasattr(library, "add"):
            library.add(cert.metadata, cert.content)
        else:
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
    if hasattr(library, "set_status") and hasattr(library, "add"):
        library.set_status(identifier, status)
    else:
        from datetime import UTC, datetime

        library.set_status(identifier, status, reason="test", by="test", at=datetime.now(UTC))


ROOT = Path(__file__).resolve().parents[1]


def library_backends() -> list[str]:
    """The library implementations to test against: the real ones once they exist."""
    import ecert.registry

    if not hasattr(ecert.registry, "open_registry"):
        return ["memory"]  # until the library's implementation is on main
    backends = ["sqlite"]
    if postgres_url() is not None:
        backends.append("postgresql")
    return backends


def postgres_url() -> str | None:
    import os

    return os.environ.get("ECERT_TEST_POSTGRES") or None


@contextlib.contextmanager
def open_test_library(backend: str, tmp_path: Path) -> Iterator[Any]:
    if backend == "memory":
        from .sharefake import FakeLibrary

        yield FakeLibrary()
        return
    import ecert.registry

    location = str(tmp_path / "library.db") if backend == "sqlite" else fresh_postgres_database()
    library = ecert.registry.open_registry(location)  # type: ignore[attr-defined]
    try:
        yield library
    finally:
        library.close()


def fresh_postgres_database() -> str:
    """A new, empty database on the test PostgreSQL server (ECERT_TEST_POSTGRES), its URL."""
    import uuid

    import psycopg

    base = postgres_url()
    assert base is not None
    name = f"share_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + "/" + name
