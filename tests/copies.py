"""Annotated copies made once per test session: a releasing organisation under the demo root,
an untrusted one, and a copy of the demo certificate (tests/certs.py)."""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Callable
from datetime import date, timedelta

from ecert.annotate import AnnotatedCopy, annotate
from ecert.crypto.hierarchy import DemoHierarchy, make_issuer_certificate
from ecert.crypto.keys import generate_private_key
from ecert.crypto.signer import Signer
from ecert.package import Issuer

from .certs import NOW, SIGNED_AT, hierarchy, issued_file

CENTRE = "示例市政务服务中心"  # the releasing organisation: not the issuing department
REASON = "企业开户"
MAKER = "窗口工作人员张三"
UNTIL = date(2027, 1, 31)
MADE_AT = NOW  # 2026-11-25T10:00+08:00, a day after the original was signed


@functools.lru_cache(maxsize=2)
def releasing_signer(kind: str = "sm2") -> Signer:
    """The service centre's signing key, certified by the demo root (so the demo trust store trusts it)."""
    h = hierarchy(kind)
    key = generate_private_key(kind)
    cert = make_issuer_certificate(
        h.root_key,
        h.root_cert,
        key.public_key(),
        CENTRE,
        organization=CENTRE,
        not_before=SIGNED_AT - timedelta(days=1),
    )
    return Signer(key, cert, (h.root_cert,))


@functools.lru_cache(maxsize=1)
def untrusted_signer() -> Signer:
    """The same names under a root nobody trusts."""
    other = DemoHierarchy.create("sm2", department=CENTRE, now=SIGNED_AT)
    return Signer(other.issuer_key, other.issuer_cert, (other.root_cert,))


@functools.lru_cache(maxsize=4)
def copy_of_demo(level: str = "A", cms: bool = True) -> AnnotatedCopy:
    return annotate(
        issued_file(),
        Issuer(releasing_signer(), cms=cms),
        reason=REASON,
        maker=MAKER,
        until=UNTIL,
        level=level,
        at=MADE_AT,
    )


def entry(ofd: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(ofd)) as z:
        return z.read(name)


def rewrite(ofd: bytes, changes: dict[str, Callable[[bytes], bytes | None]]) -> bytes:
    """The file with the named entries changed (None drops one), every other entry as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(ofd)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data: bytes | None = src.read(info)
            if info.filename in changes:
                data = changes[info.filename](data)  # type: ignore[arg-type]
            if data is not None:
                dst.writestr(info, data)
    return out.getvalue()


@functools.lru_cache(maxsize=1)
def licence_file() -> bytes:
    """A landscape certificate (营业执照, with a QR code) from the sample records, by the demo department."""
    import json

    from ecert.collect import collect
    from ecert.metadata import Authority
    from ecert.package import package

    from .certs import DEPARTMENT_CODE, RECORDS, signer

    code = "11100000MB0143028R001"
    record = json.loads((RECORDS / f"{code}.json").read_text(encoding="utf-8-sig"))
    draft = collect(
        record,
        code,
        issuer=Authority(name="示例市市场监督管理局", code=DEPARTMENT_CODE),
        today=SIGNED_AT.date(),
    )
    return package(draft, Issuer(signer()), at=SIGNED_AT)


@functools.lru_cache(maxsize=1)
def copy_of_licence() -> AnnotatedCopy:
    return annotate(
        licence_file(), releasing_signer(), reason="企业银行开户", maker=MAKER, until=UNTIL, at=MADE_AT
    )
