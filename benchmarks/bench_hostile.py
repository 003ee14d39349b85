"""Hostile inputs: how long each takes to be accepted or refused, and how much memory (issue 17).

Run: python benchmarks/bench_hostile.py [--case NAME] [--timeout S] [--json]

Each case builds its input (not timed), then runs the public entry point a user would call on it
(``verify``, ``load_private_key``, ``load_pkcs12``, ``load_certificate``, ``OFDPackage.open``) in a
fresh process, and prints the input size, the time (wall, and the process's CPU time: on a shared
machine the wall time grows with the load, the CPU time much less), the peak memory above the process's memory
before the call (resident set, so lxml's and OpenSSL's C allocations count), and the outcome
(the EcertError class, or ``ok``/``not ok`` for reports).  Target: under 1 s and under 100 MB
for every input under 10 MB.  As a baseline it runs the verification of a genuine certificate
file in the same run, and prints each case's time as a ratio of it.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIGN_DIR = "Doc_0/Signs/Sign_0"


# --- inputs ---------------------------------------------------------------------------------------


def _genuine() -> bytes:
    from tests.certs import issued_file

    return issued_file("sm2")


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist() if not i.is_dir()]


def _with(data: bytes, changes: dict[str, bytes]) -> bytes:
    return _zip([(n, changes.get(n, b)) for n, b in _entries(data)])


def _ff_der(run: int) -> bytes:
    """SEQUENCE { SEQUENCE { 0xFF x run } }: an endless high-tag-number identifier."""

    def tlv(tag: int, body: bytes) -> bytes:
        n = len(body)
        length = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
            (n.bit_length() + 7) // 8, "big")
        return bytes([tag]) + length + body

    return tlv(0x30, tlv(0x30, b"\xff" * run))


def case_ses_ff() -> tuple[str, bytes]:
    return "verify", _with(_genuine(), {f"{SIGN_DIR}/SignedValue.dat": _ff_der(60_000)})


def case_cms_ff() -> tuple[str, bytes]:
    inner = _ff_der(60_000)
    value = bytes.fromhex("3082") + (len(inner) + 11).to_bytes(2, "big") + bytes.fromhex(
        "06092a864886f70d010702") + inner
    return "verify", _with(_genuine(), {f"{SIGN_DIR}/SignedValue.dat": value})


def _seq_ff(run: int) -> bytes:
    """SEQUENCE { 0xFF x run } (run of 65,536 or more: a 3-octet length)."""
    return bytes.fromhex("3083") + run.to_bytes(3, "big") + b"\xff" * run


def case_key_ff_pem() -> tuple[str, bytes]:
    body = base64.encodebytes(_seq_ff(66_000))
    return "key", b"-----BEGIN PRIVATE KEY-----\n" + body + b"-----END PRIVATE KEY-----\n"


def case_key_ff_der() -> tuple[str, bytes]:
    return "key", _seq_ff(90_000)


def case_public_key_ff() -> tuple[str, bytes]:
    return "public_key", _seq_ff(90_000)


def case_cert_ff() -> tuple[str, bytes]:
    return "cert", _ff_der(90_000)


def _p12(mac_iterations: int | None = None, pbe_iterations: int | None = None, mac: bool = True) -> bytes:
    """A P-256 PKCS#12 as OpenSSL 3 writes it, with its iteration counts rewritten."""
    from asn1crypto import cms, core, pkcs12
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption
    from cryptography.hazmat.primitives.serialization import pkcs12 as c_pkcs12
    from tests.certs import hierarchy

    h = hierarchy("p256")
    key = h.issuer_key.key
    from cryptography import x509 as c_x509

    cert = c_x509.load_der_x509_certificate(h.issuer_cert.der)
    data = c_pkcs12.serialize_key_and_certificates(
        b"k", key, cert, None, BestAvailableEncryption(b"pw")  # type: ignore[arg-type]
    )
    pfx = pkcs12.Pfx.load(data)
    if pbe_iterations is not None:
        safe = pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native)
        infos = []
        for info in safe:
            if info["content_type"].native == "encrypted_data":
                alg = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
                alg["parameters"]["key_derivation_func"]["parameters"]["iteration_count"] = pbe_iterations
            infos.append(cms.ContentInfo.load(info.dump(force=True)))
        content = pkcs12.AuthenticatedSafe(infos).dump(force=True)
        pfx["auth_safe"] = cms.ContentInfo({"content_type": "data", "content": core.OctetString(content)})
    if mac_iterations is not None:
        pfx["mac_data"]["iterations"] = mac_iterations
    if not mac:
        pfx = pkcs12.Pfx({"version": pfx["version"], "auth_safe": pfx["auth_safe"]})
    return bytes(pfx.dump(force=True))


def case_p12_mac_10m() -> tuple[str, bytes]:
    return "p12", _p12(mac_iterations=10_000_000)


def case_p12_mac_2g() -> tuple[str, bytes]:
    return "p12", _p12(mac_iterations=2**31 - 1)


def case_p12_pbe_10m() -> tuple[str, bytes]:
    """The certificate bag's PBES2 asks 10 million iterations; no MAC (it is optional) to stop first."""
    return "p12", _p12(pbe_iterations=10_000_000, mac=False)


def _copies(count: int) -> bytes:
    """The genuine file whose Signatures.xml lists ``count`` copies of its one signature."""
    entries = dict(_entries(_genuine()))
    sigs = entries["Doc_0/Signs/Signatures.xml"].decode()
    head, _, rest = sigs.partition("<ofd:Signature ")
    line, _, tail = rest.partition("/>")
    lines = []
    for i in range(count):
        one = line.replace('ID="1"', f'ID="{i + 1}"').replace("Sign_0", f"Sign_{i}")
        lines.append("<ofd:Signature " + one + "/>")
        # the copy names the one SignedValue.dat by its absolute location, as ecert writes it
        entries[f"Doc_0/Signs/Sign_{i}/Signature.xml"] = entries[f"{SIGN_DIR}/Signature.xml"]
    entries["Doc_0/Signs/Signatures.xml"] = (head + "".join(lines) + tail).encode()
    return _zip(list(entries.items()))


def case_signatures_1000() -> tuple[str, bytes]:
    return "verify", _copies(1000)


def case_signatures_3000() -> tuple[str, bytes]:
    return "verify", _copies(3000)


def case_references_20000() -> tuple[str, bytes]:
    """One Signature.xml with 20,000 references (to missing files)."""
    entries = dict(_entries(_genuine()))
    sig = entries[f"{SIGN_DIR}/Signature.xml"].decode()
    extra = "".join(f'<ofd:Reference FileRef="/x/{i}"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference>'
                    for i in range(20_000))
    sig = sig.replace("</ofd:References>", extra + "</ofd:References>")
    entries[f"{SIGN_DIR}/Signature.xml"] = sig.encode()
    return "verify", _zip(list(entries.items()))


def case_many_small_entries() -> tuple[str, bytes]:
    """4,000 entries of 64,000 zero bytes each: every one under the ratio floor, 256 MB in all."""
    entries = _entries(_genuine())
    entries += [(f"Doc_0/Res/pad_{i}.bin", bytes(64_000)) for i in range(4_000)]
    return "verify", _zip(entries)


def case_largest_accepted() -> tuple[str, bytes]:
    """Just under the limits: 350 entries of 64,000 zero bytes (22 MB), each referenced by 10 copies of
    the signature (3,600 references; each file hashed once)."""
    entries = dict(_entries(_copies(10)))
    refs = "".join(f'<ofd:Reference FileRef="/Doc_0/Res/pad_{i}.bin"><ofd:CheckValue>AAAA</ofd:CheckValue>'
                   "</ofd:Reference>" for i in range(350))
    for i in range(10):
        name = f"Doc_0/Signs/Sign_{i}/Signature.xml"
        entries[name] = entries[name].replace(b"</ofd:References>", refs.encode() + b"</ofd:References>")
    entries.update({f"Doc_0/Res/pad_{i}.bin": bytes(64_000) for i in range(350)})
    return "verify", _zip(list(entries.items()))


def case_flat_xml_stored() -> tuple[str, bytes]:
    """OFD.xml padded with 2 million empty elements (8 MB, stored: no ratio to refuse)."""
    entries = dict(_entries(_genuine()))
    ofd = entries["OFD.xml"]
    entries["OFD.xml"] = ofd.replace(b"</ofd:OFD>", b"<a/>" * 2_000_000 + b"</ofd:OFD>")
    return "verify", _zip(list(entries.items()), zipfile.ZIP_STORED)


def case_attr_xml() -> tuple[str, bytes]:
    """Signatures.xml padded with elements carrying attributes and text (deflated)."""
    entries = dict(_entries(_genuine()))
    sigs = entries["Doc_0/Signs/Signatures.xml"]
    pad = b"".join(b'<a i="%d" x="y">t</a>' % i for i in range(300_000))
    entries["Doc_0/Signs/Signatures.xml"] = sigs.replace(b"</ofd:Signatures>", pad + b"</ofd:Signatures>")
    return "verify", _zip(list(entries.items()))


CASES: dict[str, Callable[[], tuple[str, bytes]]] = {
    "genuine_file (baseline)": lambda: ("verify", _genuine()),
    "ses_signedvalue_ff_run": case_ses_ff,
    "cms_signedvalue_ff_run": case_cms_ff,
    "private_key_pem_ff_run": case_key_ff_pem,
    "private_key_der_ff_run": case_key_ff_der,
    "public_key_ff_run": case_public_key_ff,
    "certificate_ff_run": case_cert_ff,
    "pkcs12_mac_10M_iterations": case_p12_mac_10m,
    "pkcs12_mac_2^31-1_iterations": case_p12_mac_2g,
    "pkcs12_pbe_10M_iterations": case_p12_pbe_10m,
    "signatures_1000_copies": case_signatures_1000,
    "signatures_3000_copies": case_signatures_3000,
    "references_20000": case_references_20000,
    "zip_4000_small_entries": case_many_small_entries,
    "largest_accepted_22MB_10_sigs": case_largest_accepted,
    "xml_2M_empty_elements_stored": case_flat_xml_stored,
    "xml_300k_elements_with_attributes": case_attr_xml,
}


# --- running one case -------------------------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / (1024 * 1024)


def build_one(name: str, path: Path) -> None:
    """Write the input of case ``name`` (in its own process: building may take far more memory
    than the measured call, and the peak of a process cannot be reset)."""
    from tests.certs import hierarchy

    kind, data = CASES[name]()
    path.write_bytes(data)
    path.with_suffix(".kind").write_text(kind)
    path.with_suffix(".root").write_bytes(hierarchy("sm2").root_cert.der)  # the keys are made per process
    path.with_suffix(".genuine").write_bytes(_genuine())


def run_one(name: str, path: Path) -> dict[str, object]:
    from datetime import UTC, datetime

    from ecert.crypto.keys import load_pkcs12, load_private_key, load_public_key
    from ecert.crypto.trust import TrustStore
    from ecert.crypto.x509 import Certificate, load_certificate
    from ecert.errors import EcertError
    from ecert.verify import verify

    kind, data = path.with_suffix(".kind").read_text(), path.read_bytes()
    trust = TrustStore.from_certificates(Certificate.from_der(path.with_suffix(".root").read_bytes()))
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    calls: dict[str, Callable[[], object]] = {
        "verify": lambda: verify(data, trust=trust, at=at),
        "key": lambda: load_private_key(data),
        "public_key": lambda: load_public_key(data),
        "cert": lambda: load_certificate(data),
        "p12": lambda: load_pkcs12(data, b"pw"),
    }
    # warm imports and the signer's key tables with a genuine file: what is measured is the input
    verify(path.with_suffix(".genuine").read_bytes(), trust=trust, at=at)
    import gc

    gc.collect()
    base = _current_rss_mb()
    peak_before = _rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        result = calls[kind]()
        outcome = ("ok" if result.ok else "not ok") if hasattr(result, "ok") else "accepted"
    except EcertError as exc:
        outcome = f"{type(exc).__name__}: {str(exc)[:90]}"
    except Exception as exc:  # a dependency's exception escaped: a bug, shown as such
        outcome = f"ESCAPED {type(exc).__name__}: {str(exc)[:80]}"
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = max(_rss_mb(), peak_before)
    return {"case": name, "bytes": len(data), "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "extra_mb": round(max(peak - base, 0.0), 1), "outcome": outcome}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help="run one case in this process (used by the driver)")
    parser.add_argument("--input", type=Path, help="the case's input file (used by the driver)")
    parser.add_argument("--build", action="store_true", help="write the case's input (used by the driver)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a case is called hung")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.case and args.build:
        build_one(args.case, args.input)
        return 0
    if args.case:
        print(json.dumps(run_one(args.case, args.input), ensure_ascii=False))
        return 0
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="bench_hostile_"))
    for index, name in enumerate(CASES):
        path = folder / f"case{index}.bin"
        try:
            subprocess.run([sys.executable, __file__, "--case", name, "--input", str(path), "--build"],
                           capture_output=True, timeout=args.timeout * 4, check=True)
            proc = subprocess.run([sys.executable, __file__, "--case", name, "--input", str(path)],
                                  capture_output=True, text=True, timeout=args.timeout, check=False)
            line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            row = json.loads(line) if line.startswith("{") else {
                "case": name, "outcome": f"crashed: {proc.stderr.strip().splitlines()[-1:]}"}
        except subprocess.TimeoutExpired:
            row = {"case": name, "seconds": f">{args.timeout:.0f}", "outcome": "timed out"}
        rows.append(row)
        if not args.json:
            base = rows[0].get("seconds")
            ratio = (f"{row['seconds'] / base:7.0f}x" if isinstance(row.get("seconds"), float)
                     and isinstance(base, float) and base else "       ")
            print(f"{row['case']:36} {row.get('bytes', '-'):>9} B {row.get('seconds', '-'):>8} s "
                  f"(cpu {row.get('cpu_seconds', '-'):>6} s) {ratio} "
                  f"{row.get('extra_mb', '-'):>7} MB  {row['outcome']}", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    slow = [r for r in rows[1:] if not isinstance(r.get("seconds"), float) or r["seconds"] >= 1.0
            or r.get("extra_mb", 0) >= 100]
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
