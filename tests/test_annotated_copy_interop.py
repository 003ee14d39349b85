"""The annotated copy's second signature, checked by system OpenSSL and by BouncyCastle.

* OpenSSL (``pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678``) verifies the
  bare SM2 ``SignedValue.dat`` of a copy over its exact ``Signature.xml`` bytes with the releasing
  organisation's certificate, and ``dgst -sm3`` recomputes every ``Reference/CheckValue``: the
  references cover every file but the copy's own signature files, the original's signature files
  and ``original.ofd`` included, and ``original.ofd`` has the SM3 the copy metadata names.
* BouncyCastle (``tests/interop/BcVerify.java``, check ``copy``) verifies the copy's signature in
  both forms (CMS carrying the certificate, issued by the demo root; bare, with the certificate)
  and recomputes every CheckValue; negative controls (a changed watermark, another root, another
  signer) must each fail.

Skipped, with the reason, when ``openssl`` lacks SM2 or Java and the BouncyCastle jars are missing.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from ecert.annotate.layer import METADATA_ENTRY, ORIGINAL_ENTRY
from ecert.annotate.model import CopyMetadata
from ecert.ofd.namespaces import q
from ecert.ofd.reader import OFDPackage

from .certs import hierarchy
from .copies import copy_of_demo, entry, releasing_signer, rewrite, untrusted_signer
from .test_bouncycastle_interop import CLASSPATH, JAVA, Check, Run, _run

SIGN_DIR = "Copy/Signs/Sign_0"
OPENSSL = shutil.which("openssl")


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, timeout=60, check=False)


def _has_sm2() -> bool:
    return OPENSSL is not None and b"SM2" in _openssl("list", "-public-key-algorithms").stdout


needs_openssl = pytest.mark.skipif(not _has_sm2(), reason="no system `openssl` with SM2 support")
needs_bouncycastle = pytest.mark.skipif(
    JAVA is None or CLASSPATH is None,
    reason="BouncyCastle check needs `java` (11+) and the BouncyCastle jars "
    "(scripts/install-system-deps.sh --test), or set ECERT_BC_CLASSPATH",
)


def _pkeyutl(
    d: Path, signature_xml: bytes, value: bytes, cert_pem: bytes
) -> subprocess.CompletedProcess[bytes]:
    (d / "Signature.xml").write_bytes(signature_xml)
    (d / "SignedValue.dat").write_bytes(value)
    (d / "cert.pem").write_bytes(cert_pem)
    return _openssl(
        "pkeyutl",
        "-verify",
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:1234567812345678",
        "-certin",
        "-inkey",
        d / "cert.pem",
        "-in",
        d / "Signature.xml",
        "-sigfile",
        d / "SignedValue.dat",
    )


@needs_openssl
def test_openssl_verifies_the_copy_signature_over_signature_xml(tmp_path: Path) -> None:
    data = copy_of_demo(cms=False).data
    xml, value = entry(data, f"{SIGN_DIR}/Signature.xml"), entry(data, f"{SIGN_DIR}/SignedValue.dat")
    cert = releasing_signer().certificate.to_pem()
    done = _pkeyutl(tmp_path, xml, value, cert)
    assert done.returncode == 0 and b"Signature Verified Successfully" in done.stdout, done.stderr
    # negative controls: one byte of Signature.xml changed; another organisation's certificate
    flipped = xml.replace(b"CheckMethod=", b"CheckMethoD=", 1)
    assert _pkeyutl(tmp_path, flipped, value, cert).returncode != 0
    assert _pkeyutl(tmp_path, xml, value, untrusted_signer().certificate.to_pem()).returncode != 0


@needs_openssl
def test_openssl_recomputes_every_check_value(tmp_path: Path) -> None:
    data = copy_of_demo().data
    pkg = OFDPackage.open(data)
    refs = etree.fromstring(entry(data, f"{SIGN_DIR}/Signature.xml")).iter(q("Reference"))
    referenced = {}
    for ref in refs:
        name = ref.get("FileRef", "").lstrip("/")
        path = tmp_path / "entry"
        path.write_bytes(pkg.entries[name])
        done = _openssl("dgst", "-sm3", "-binary", path)
        assert done.returncode == 0, done.stderr
        referenced[name] = (
            base64.b64encode(done.stdout).decode() == (ref.findtext(q("CheckValue")) or "").strip()
        )
    assert all(referenced.values()), [n for n, ok in referenced.items() if not ok]
    infrastructure = {"Copy/Signs/Signatures.xml", f"{SIGN_DIR}/Signature.xml", f"{SIGN_DIR}/SignedValue.dat"}
    assert set(referenced) == set(pkg.names()) - infrastructure
    assert {"Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/SignedValue.dat", ORIGINAL_ENTRY} <= set(
        referenced
    )
    (tmp_path / "original.ofd").write_bytes(pkg.entries[ORIGINAL_ENTRY])
    done = _openssl("dgst", "-sm3", "-r", tmp_path / "original.ofd")
    assert done.stdout.split()[0].decode() == CopyMetadata.from_xml(pkg.entries[METADATA_ENTRY]).original_sm3


# --- BouncyCastle ------------------------------------------------------------------------------

POSITIVE = [
    Check("copy", "copy-cms", ("copy-cms.ofd", "root.der"), ("CMS over Signature.xml", "CheckValues")),
    Check("copy", "copy-bare", ("copy-bare.ofd", "centre.der"), ("bare signature over Signature.xml",)),
]
NEGATIVE = [
    Check(
        "copy",
        "copy-watermark-changed",
        ("copy-watermark.ofd", "root.der"),
        ("CheckValue of Copy/Annots/Page_0/Annotation.xml does not match",),
    ),
    Check(
        "copy",
        "copy-other-root",
        ("copy-cms.ofd", "other-root.der"),
        ("signer certificate not issued by the root",),
    ),
    Check(
        "copy",
        "copy-bare-other-signer",
        ("copy-bare.ofd", "other.der"),
        ("bare signature over Signature.xml",),
    ),
]


@pytest.fixture(scope="module")
def bc_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("copy-bouncycastle")
    cms = copy_of_demo().data
    (d / "copy-cms.ofd").write_bytes(cms)
    (d / "copy-bare.ofd").write_bytes(copy_of_demo(cms=False).data)
    (d / "copy-watermark.ofd").write_bytes(
        rewrite(
            cms,
            {
                "Copy/Annots/Page_0/Annotation.xml": lambda b: b.replace(
                    "企业开户".encode(), "企业开门".encode(), 1
                )
            },
        )
    )
    (d / "root.der").write_bytes(hierarchy().root_cert.der)
    (d / "centre.der").write_bytes(releasing_signer().certificate.der)
    (d / "other-root.der").write_bytes(untrusted_signer().chain[-1].der)
    (d / "other.der").write_bytes(untrusted_signer().certificate.der)
    return d


@needs_bouncycastle
def test_bouncycastle_verifies_the_copy_signature(bc_inputs: Path) -> None:
    run: Run = _run(bc_inputs, POSITIVE)
    for check in POSITIVE:
        line = run.result(check)
        assert line.startswith("OK "), line
        assert all(expected in line for expected in check.expect), line
    assert run.returncode == 0


@needs_bouncycastle
def test_bouncycastle_refuses_changed_or_foreign_copies(bc_inputs: Path) -> None:
    run: Run = _run(bc_inputs, NEGATIVE)
    for check in NEGATIVE:
        line = run.result(check)
        assert line.startswith("FAIL "), line
        assert all(expected in line for expected in check.expect), line
    assert run.returncode == 1
