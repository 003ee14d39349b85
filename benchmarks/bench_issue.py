"""Packaging + signing and verification throughput, against the bare signature operation.

Run: python benchmarks/bench_issue.py [--seconds S] [--json]

For SM2 and P-256 it measures, in one run:
* the bare signature over a Signature.xml-sized message, and the bare verification;
* package(): certificates packaged and signed per second, with the time split into
  layout (face geometry, QR symbol and its PNG), XML (certificate XML, OFD parts), digests (References over
  every file, Signature.xml), signature (CMS SignedData, plus the QR payload signature) and the
  one ZIP written at the end;
* verify(): certificates verified per second;
and prints the ratios pipeline/bare sign and verify/bare verify.  Issue 18's goals, on one core:
verify a certificate file >= 1,000/s and package + sign >= 500/s (SM2).  ``--repeat N`` keeps the
best of N runs of each figure (the machine is shared: load only ever slows a run down).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_crypto import rate  # the same timing loop for every benchmark
from tests.certs import SIGNED_AT, draft, hierarchy, signer

from ecert.crypto.sm2 import SM2P256V1
from ecert.crypto.trust import TrustStore
from ecert.face import face_layout, face_pictures
from ecert.metadata.document import certificate_xml
from ecert.ofd.signatures import prepare_signature
from ecert.ofd.writer import build_zip
from ecert.package import PROVIDER, Issuer, _digest_for, _unsigned, package, sign_package
from ecert.qr.offline import make_offline
from ecert.verify import verify


def per_call(fn: Callable[[], object], seconds: float) -> float:
    return 1.0 / rate(fn, seconds)


def bench(kind: str, seconds: float) -> dict[str, float]:
    s = signer(kind)
    d = draft(kind)
    issuer = Issuer(s)
    trust = TrustStore.from_certificates(hierarchy(kind).root_cert)
    data = package(d, issuer, at=SIGNED_AT)
    msg = b"<ofd:Signature>" + b"x" * 1500  # Signature.xml of a certificate file is about 1.5 KB
    sig = s.sign(msg)
    pub = s.certificate.public_key
    payload = make_offline(d.metadata, s)
    unsigned = _unsigned(d, qr_payload=payload, photo=None, seal_image=None)  # entries, as package() has them
    now = datetime(2026, 11, 25, tzinfo=UTC)

    out: dict[str, float] = {}
    out["bare_sign_per_s"] = rate(lambda: s.sign(msg), seconds)
    out["bare_verify_per_s"] = rate(lambda: pub.verify(sig, msg, s.algorithm), seconds)
    out["package_per_s"] = rate(lambda: package(d, issuer, at=SIGNED_AT), seconds)
    out["verify_per_s"] = rate(lambda: verify(data, trust=trust, at=now), seconds)
    # split of one package() call
    t_layout = per_call(lambda: (face_layout(d), face_pictures(qr_payload=payload)), seconds / 2)
    t_xml = per_call(lambda: certificate_xml(d.metadata, d.item_texts()), seconds / 2)
    t_build = per_call(lambda: _unsigned(d, qr_payload=payload, photo=None, seal_image=None), seconds / 2)
    prepare = lambda: prepare_signature(  # noqa: E731
        unsigned,
        signature_type="Sign",
        provider=PROVIDER,
        signature_method_oid=s.algorithm.oid,
        digest=_digest_for(s.algorithm),
        signing_time=SIGNED_AT,
    )
    t_digest = per_call(prepare, seconds / 2)
    prepared = prepare()
    final = {**unsigned.entries, **dict(prepared._changes), prepared.signature_entry: prepared.to_be_signed,
             prepared.signed_value_entry: b"x" * 600}
    t_zip = per_call(lambda: build_zip(final.items()), seconds / 2)
    t_sign_total = per_call(lambda: sign_package(unsigned, issuer, at=SIGNED_AT), seconds / 2)
    t_qr_sig = per_call(lambda: make_offline(d.metadata, s), seconds / 2)
    out["split_layout_ms"] = t_layout * 1e3
    out["split_xml_ms"] = (t_build - t_layout) * 1e3
    out["split_certificate_xml_ms"] = t_xml * 1e3
    out["split_digests_ms"] = t_digest * 1e3
    out["split_zip_ms"] = t_zip * 1e3
    out["split_signature_ms"] = (t_sign_total - t_digest - t_zip + t_qr_sig) * 1e3
    out["ratio_package_to_bare_sign"] = out["bare_sign_per_s"] / out["package_per_s"]
    out["ratio_verify_to_bare_verify"] = out["bare_verify_per_s"] / out["verify_per_s"]
    return out


def best_of(kind: str, seconds: float, repeat: int) -> dict[str, float]:
    """Each figure's best over ``repeat`` runs (rates: highest; split times: lowest); ratios recomputed."""
    runs = [bench(kind, seconds) for _ in range(repeat)]
    best = {k: (min if k.startswith("split_") else max)(r[k] for r in runs) for k in runs[0]}
    best["ratio_package_to_bare_sign"] = best["bare_sign_per_s"] / best["package_per_s"]
    best["ratio_verify_to_bare_verify"] = best["bare_verify_per_s"] / best["verify_per_s"]
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each figure; the best is kept")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    SM2P256V1.base_table()  # the steady state of a long-running issuer or verifier
    results = {kind: best_of(kind, args.seconds, args.repeat) for kind in ("sm2", "p256")}
    if args.json:
        print(json.dumps({**results, "loadavg": os.getloadavg()}, indent=2))
        return 0
    print(f"best of {args.repeat}; load average {os.getloadavg()[0]:.2f}")
    for kind, r in results.items():
        pkg_ratio, ver_ratio = r["ratio_package_to_bare_sign"], r["ratio_verify_to_bare_verify"]
        print(f"== {kind}")
        print(f"  bare sign            {r['bare_sign_per_s']:10.0f} /s")
        print(f"  bare verify          {r['bare_verify_per_s']:10.0f} /s")
        print(f"  package+sign         {r['package_per_s']:10.1f} /s   ({pkg_ratio:.1f}x bare sign)")
        print(f"  verify               {r['verify_per_s']:10.1f} /s   ({ver_ratio:.1f}x bare verify)")
        print(
            f"  split of package: layout+QR {r['split_layout_ms']:.2f} ms, "
            f"XML {r['split_xml_ms']:.2f} ms (certificate XML {r['split_certificate_xml_ms']:.2f} ms), "
            f"digests {r['split_digests_ms']:.2f} ms, signatures {r['split_signature_ms']:.2f} ms, "
            f"ZIP {r['split_zip_ms']:.2f} ms"
        )
    sm2 = results["sm2"]
    for what, key, goal in (("verify", "verify_per_s", 1000), ("package + sign", "package_per_s", 500)):
        verdict = "met" if sm2[key] >= goal else "NOT met"
        print(f"goal: SM2 {what} >= {goal}/s: {verdict} ({sm2[key]:.0f}/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
