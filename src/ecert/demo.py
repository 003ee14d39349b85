"""``ecert demo``: from nothing to signed, verified certificates in one call.

Makes a demo root and a department issuing certificate, collects the sample records shipped
in ``examples/records/``, issues their OFD files, QR images and face images, verifies them all
(file and QR), and returns one row per certificate.  Every step is the public library, so the
demo doubles as an end-to-end check.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.keys import save_private_key
from ecert.crypto.signer import Signer
from ecert.errors import InputError

__all__ = ["DemoRow", "find_sample_records", "run_demo"]

DEPARTMENT = "示例市政务服务数据管理局"
# A fictional department's 统一社会信用代码: authority 1 (机构编制), category 1 (机关), region 330100,
# organisation code MB0123457; both check characters computed per GB 11714 and GB 32100.
DEPARTMENT_CODE = "11330100MB01234570"
_KEEP = ("keys/issuer.key.pem", "keys/issuer.cert.pem", "trust/root.cert.pem")  # replaced only with force


@dataclass(frozen=True, slots=True)
class DemoRow:
    """One sample certificate of the demo: what was issued, where its files are, what verified."""

    record: str
    type_name: str
    holder: str
    identifier: str
    ofd: Path
    qr_png: Path
    face_png: Path
    file_ok: bool
    qr_ok: bool


def find_sample_records(root: Path | None = None) -> list[Path]:
    """The sample JSON records (``examples/records/*.json`` of the source tree, or ``root``)."""
    candidates = (
        [root]
        if root is not None
        else [
            Path.cwd() / "examples" / "records",
            Path(__file__).resolve().parents[2] / "examples" / "records",
        ]
    )
    for folder in candidates:
        if folder is not None and folder.is_dir():
            records = sorted(folder.glob("*.json"))
            if records:
                return records
    raise InputError(
        "no sample records found",
        where=" or ".join(str(c) for c in candidates),
        expected="examples/records/*.json (run the demo from the source tree or pass --records)",
    )


def _record_type(record: dict[str, object], path: Path) -> str:
    code = record.get("certificateTypeCode") or record.get("ZZLXDM") or record.get("type")
    if isinstance(code, str) and code:
        return code
    stem = path.stem.split(".")[0]
    if len(stem) == 21:
        return stem
    raise InputError(
        "sample record does not name its certificate type",
        where=str(path),
        expected="a ZZLXDM/certificateTypeCode field or a file named <TYPE CODE>.json",
    )


def run_demo(
    out: Path,
    *,
    algorithm: str = "sm2",
    at: datetime | None = None,
    records: Sequence[Path] | None = None,
    force: bool = False,
) -> list[DemoRow]:
    """Issue and verify the sample certificates into ``out``; see the module docstring.

    Keys and trust anchors already in ``out`` are not replaced unless ``force``: new ones would
    silently leave everything issued with the old ones unverifiable (:class:`InputError`).
    """
    from ecert.app import (
        KNOWN_CERTIFICATES_DIR,
        decode_qr_image,
        known_certificates,
        load_trust,
        write_private_file,
    )
    from ecert.collect import collect
    from ecert.metadata import Authority
    from ecert.package import Issuer, file_name, package
    from ecert.paint import qr_payload_of, render_ofd
    from ecert.qr.image import qr_png
    from ecert.qr.offline import make_offline
    from ecert.verify import verify
    from ecert.verify.qr import verify_offline

    when = at or datetime.now(UTC).replace(microsecond=0)
    existing = [p for p in _KEEP if (out / p).exists()]
    if existing and not force:
        raise InputError(
            f"{', '.join(existing)} already there: new demo keys would leave everything issued with "
            "them unverifiable",
            where=str(out),
            expected="another --out, or --force to replace them",
        )
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("trust", f"trust/{KNOWN_CERTIFICATES_DIR}", "keys", "qr", "faces"):
        (out / sub).mkdir(exist_ok=True)
    hierarchy = DemoHierarchy.create(
        algorithm, department=DEPARTMENT, department_code=DEPARTMENT_CODE, now=when
    )
    (out / "trust" / "root.cert.pem").write_bytes(hierarchy.root_cert.to_pem())
    write_private_file(out / "keys" / "issuer.key.pem", save_private_key(hierarchy.issuer_key))
    (out / "keys" / "issuer.cert.pem").write_bytes(
        hierarchy.issuer_cert.to_pem() + hierarchy.root_cert.to_pem()
    )
    (out / "trust" / KNOWN_CERTIFICATES_DIR / "issuer.cert.pem").write_bytes(hierarchy.issuer_cert.to_pem())
    signer = Signer(hierarchy.issuer_key, hierarchy.issuer_cert, (hierarchy.root_cert,))
    # verified as a service window would: the trust directory and the files as written to disk
    trust = load_trust(out / "trust")
    known = known_certificates(out / "trust")
    issuer_authority = Authority(name=DEPARTMENT, code=DEPARTMENT_CODE)

    rows: list[DemoRow] = []
    for path in records if records is not None else find_sample_records():
        record = json.loads(path.read_text(encoding="utf-8-sig"))
        draft = collect(record, _record_type(record, path), issuer=issuer_authority, today=when.date())
        data = package(draft, Issuer(signer), at=when)
        ofd_path = out / file_name(draft.metadata)
        ofd_path.write_bytes(data)
        stem = str(draft.metadata.identifier)
        # the face is the signed file's page as drawn by ecert render; the QR image is the code it shows
        face = render_ofd(data, dpi=150)[0]
        payload = qr_payload_of(data) or make_offline(draft.metadata, signer, at=when)
        qr_path = out / "qr" / f"{stem}.png"
        qr_path.write_bytes(qr_png(payload))
        face_path = out / "faces" / f"{stem}.png"
        face.save(face_path, format="PNG")
        file_report = verify(ofd_path.read_bytes(), trust=trust, at=when)
        qr_report = verify_offline(decode_qr_image(qr_path), trust=trust, certificates=known, at=when)
        rows.append(
            DemoRow(
                record=path.name,
                type_name=draft.cert_type.name,
                holder=draft.metadata.holder_name,
                identifier=stem,
                ofd=ofd_path,
                qr_png=qr_path,
                face_png=face_path,
                file_ok=file_report.ok,
                qr_ok=qr_report.ok,
            )
        )
    return rows
