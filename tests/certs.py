"""Certificates issued once per test session: a demo hierarchy, a draft, signed files.

Built with the public library (DemoHierarchy, collect, package) and cached, so that the many
tamper and verification tests share one issuing run.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from pathlib import Path

from ecert.collect import CertificateDraft, collect
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.metadata import Authority
from ecert.package import Issuer, package

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "examples" / "records"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SIGNED_AT = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
# fictional departments' USCCs, check characters computed per GB 11714 / GB 32100
DEPARTMENT_CODE = "11330100MB01234570"
OTHER_DEPARTMENT_CODE = "11330200MB0543216C"


def hierarchy(kind: str = "sm2") -> DemoHierarchy:
    return _hierarchy(kind)  # one cache key per kind, however the caller spells the argument


@functools.lru_cache(maxsize=4)
def _hierarchy(kind: str) -> DemoHierarchy:
    return DemoHierarchy.create(
        kind, department="示例市市场监督管理局", department_code=DEPARTMENT_CODE, now=SIGNED_AT
    )


def signer(kind: str = "sm2") -> Signer:
    h = hierarchy(kind)
    return Signer(h.issuer_key, h.issuer_cert, (h.root_cert,))


def trust_store(kind: str = "sm2") -> TrustStore:
    return TrustStore.from_certificates(hierarchy(kind).root_cert)


def sample_record() -> tuple[dict[str, object], str]:
    path = sorted(RECORDS.glob("*.json"))[0]
    record = json.loads(path.read_text(encoding="utf-8"))
    code = record.get("ZZLXDM") or record.get("certificateTypeCode") or path.stem
    return record, str(code)


def draft(kind: str = "sm2") -> CertificateDraft:
    return _draft(kind)


@functools.lru_cache(maxsize=4)
def _draft(kind: str) -> CertificateDraft:
    record, code = sample_record()
    return collect(
        record,
        code,
        issuer=Authority(name="示例市市场监督管理局", code=DEPARTMENT_CODE),
        today=SIGNED_AT.date(),
    )


def issued_file(kind: str = "sm2") -> bytes:
    return _issued_file(kind)


@functools.lru_cache(maxsize=4)
def _issued_file(kind: str) -> bytes:
    return package(draft(kind), Issuer(signer(kind)), at=SIGNED_AT)


@functools.lru_cache(maxsize=1)
def other_department_file() -> bytes:
    """A file from a second department whose certificate chains to the same root."""
    h = hierarchy("sm2")
    other = DemoHierarchy.create("sm2", department="另一市市场监督管理局", now=SIGNED_AT)
    from ecert.crypto.hierarchy import make_issuer_certificate

    cert = make_issuer_certificate(
        h.root_key,
        h.root_cert,
        other.issuer_key.public_key(),
        "另一市市场监督管理局",
        organization="另一市市场监督管理局",
        not_before=SIGNED_AT,
    )
    return package(draft("sm2"), Issuer(Signer(other.issuer_key, cert, (h.root_cert,))), at=SIGNED_AT)
