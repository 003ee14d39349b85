"""Our certificates, signatures, CMS and OFD files verified by BouncyCastle (Java).

Java OFD software (ofdrw and most vendors' verifiers) checks signatures with BouncyCastle, so
BouncyCastle accepting what ecert writes is the interop check that matters most.
``tests/interop/BcVerify.java`` runs from source (Java 11+, no build step) with Debian's
``libbcprov-java`` and ``libbcpkix-java`` (``scripts/install-system-deps.sh`` installs them);
without ``java`` or the jars these tests are skipped with the reason.  ``$ECERT_BC_CLASSPATH``
names other jars.  All checks run in two JVM starts: one for the inputs that must verify, one
for the negative controls, which must each fail (a check that cannot fail proves nothing).

What BouncyCastle 1.72 showed (``docs/bouncycastle-check.md``):

* SM2, P-256 and Ed25519 certificates verify with ``X509Certificate.verify``; our SM2 certificate
  signatures use the GM/T 0015 default ID ``1234567812345678`` (BC's default) and fail with the
  empty ID.
* Bare signatures (SM3withSM2 with BC's default ID, SHA256withECDSA, Ed25519) verify, also as
  ``SignedValue.dat`` over ``Signature.xml`` of an OFD file issued with ``Issuer(cms=False)``.
* CMS in the RFC 5652 form (SM2 ``gm_oids=False``, P-256, Ed25519) verifies with BC's defaults
  (``CMSSignedData`` + ``SignerInformation.verify``) and along the ASN.1 path.
* CMS in the GB/T 35275 form: ``CMSSignedData`` parses it (the 1.2.156.10197.6.1.4.2.x content
  types are accepted), but ``SignerInformation.verify`` with BC's defaults throws
  ``IllegalArgumentException: Unknown signature type requested: SM3WITH1.2.156.10197.1.301.1``:
  BC names an SM2 SignerInfo only by 1.2.156.10197.1.501, and we write 1.2.156.10197.1.301.1
  there.  With that one OID mapped to "SM2" in the name generator, and along the ASN.1 path,
  it verifies.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecert.crypto.cms import sign_cms
from ecert.crypto.hierarchy import DemoHierarchy
from ecert.package import Issuer, package

from .certs import DEPARTMENT_CODE, SIGNED_AT, draft, hierarchy, issued_file, signer

PROGRAM = Path(__file__).resolve().parent / "interop" / "BcVerify.java"
JAVA = shutil.which("java")
DEBIAN_JARS = [Path("/usr/share/java") / f"{name}.jar" for name in ("bcprov", "bcpkix", "bcutil")]
KINDS = ["sm2", "p256", "ed25519"]
BARE_KINDS = ("sm2", "p256")  # the bare form is a DER SEQUENCE{r, s}: packaging refuses it for Ed25519
SIGN_DIR = "Doc_0/Signs/Sign_0"
CONTENT = "电子证照 content signed by ecert, verified by BouncyCastle\n".encode() * 8
SIGNING_TIME = SIGNED_AT.strftime("%y%m%d%H%M%SZ").encode("ascii")  # the UTCTime in signingTime


def _classpath() -> str | None:
    given = os.environ.get("ECERT_BC_CLASSPATH")
    if given:
        return given
    required = DEBIAN_JARS[:2]
    if not all(jar.is_file() for jar in required):
        return None
    return os.pathsep.join(str(jar) for jar in DEBIAN_JARS if jar.is_file())


CLASSPATH = _classpath()

pytestmark = pytest.mark.skipif(
    JAVA is None or CLASSPATH is None,
    reason="BouncyCastle check needs `java` (11+) and the BouncyCastle jars: "
    "apt-get install default-jre-headless libbcprov-java libbcpkix-java "
    "(scripts/install-system-deps.sh), or set ECERT_BC_CLASSPATH",
)


# --- inputs ---------------------------------------------------------------------------------


def _flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, old
    return data.replace(old, new)


def _entry(ofd: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(ofd)) as z:
        return z.read(name)


def _with_entry(ofd: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """The OFD file with entry ``name`` changed, every other entry as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(ofd)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, change(data) if info.filename == name else data)
    return out.getvalue()


@dataclass(frozen=True)
class Check:
    kind: str  # cert | raw | cms | ofd, as BcVerify.java takes them
    name: str
    files: tuple[str, ...]
    expect: tuple[str, ...] = ()  # substrings the result line must contain

    def args(self) -> list[str]:
        return [self.kind, self.name, *self.files]


@dataclass(frozen=True)
class Run:
    returncode: int
    lines: list[str]

    def result(self, check: Check) -> str:
        found = [
            line
            for line in self.lines
            if line.split(":")[0].split(" ", 1)[-1] == f"{check.kind} {check.name}"
            and not line.startswith("INFO ")
        ]
        assert len(found) == 1, (check, self.lines)
        return found[0]

    def info(self, check: Check) -> list[str]:
        return [line for line in self.lines if line.startswith(f"INFO {check.kind} {check.name}:")]


def _write_inputs(d: Path) -> None:
    (d / "content.bin").write_bytes(CONTENT)
    (d / "content-flipped.bin").write_bytes(_flip(CONTENT, len(CONTENT) // 2))
    # another SM2 hierarchy with the same names as ours and other keys (and serial numbers)
    other = DemoHierarchy.create(
        "sm2", department="示例市市场监督管理局", department_code=DEPARTMENT_CODE, now=SIGNED_AT
    )
    (d / "other-root-sm2.der").write_bytes(other.root_cert.der)
    (d / "other-issuer-sm2.der").write_bytes(other.issuer_cert.der)
    for kind in KINDS:
        h, s = hierarchy(kind), signer(kind)
        (d / f"root-{kind}.der").write_bytes(h.root_cert.der)
        (d / f"issuer-{kind}.der").write_bytes(h.issuer_cert.der)
        (d / f"issuer-{kind}-sigflip.der").write_bytes(_flip(h.issuer_cert.der, -1))
        sig = s.sign(CONTENT)
        (d / f"{kind}.sig").write_bytes(sig)
        (d / f"{kind}-sigflip.sig").write_bytes(_flip(sig, -1))

        forms = {"gm": True, "rfc": False} if kind == "sm2" else {"rfc": False}
        for form, gm in forms.items():
            der = sign_cms(CONTENT, s, detached=True, signing_time=SIGNED_AT, gm_oids=gm)
            (d / f"{kind}-{form}.cms").write_bytes(der)
            # the signature is the last element of the DER: its last byte is the end of s
            (d / f"{kind}-{form}-sigflip.cms").write_bytes(_flip(der, -1))
            (d / f"{kind}-{form}-attrflip.cms").write_bytes(
                _replace_once(der, SIGNING_TIME, SIGNING_TIME[:-2] + b"1Z")
            )

        ofd = issued_file(kind)  # CMS (GB/T 35275 for SM2) SignedValue.dat
        (d / f"{kind}.ofd").write_bytes(ofd)
        (d / f"{kind}-pageflip.ofd").write_bytes(
            _with_entry(ofd, "Doc_0/Pages/Page_0/Content.xml", lambda b: _flip(b, len(b) // 2))
        )
        (d / f"{kind}-timeflip.ofd").write_bytes(  # Signature.xml changed after signing
            _with_entry(
                ofd, f"{SIGN_DIR}/Signature.xml", lambda b: _replace_once(b, b"020000Z</", b"020001Z</")
            )
        )
        if kind not in BARE_KINDS:
            continue
        bare = package(draft(kind), Issuer(s, cms=False), at=SIGNED_AT)  # bare DER signature
        (d / f"{kind}-bare.ofd").write_bytes(bare)
        (d / f"{kind}-bare-Signature.xml").write_bytes(_entry(bare, f"{SIGN_DIR}/Signature.xml"))
        (d / f"{kind}-bare-SignedValue.dat").write_bytes(_entry(bare, f"{SIGN_DIR}/SignedValue.dat"))
        (d / f"{kind}-bare-Signature-flipped.xml").write_bytes(
            _replace_once(_entry(bare, f"{SIGN_DIR}/Signature.xml"), b"020000Z</", b"020001Z</")
        )


def _writable(checks: list[Check]) -> list[Check]:
    """The checks whose input files were written (no bare-form files for Ed25519)."""
    bare_only = tuple(f"{kind}-bare" for kind in KINDS if kind not in BARE_KINDS)
    return [c for c in checks if not any(str(f).startswith(bare_only) for f in c.files)]


def _positive() -> list[Check]:
    checks: list[Check] = []
    for kind in KINDS:
        checks += [
            Check("cert", f"root-{kind}", (f"root-{kind}.der", f"root-{kind}.der")),
            Check("cert", f"issuer-{kind}", (f"issuer-{kind}.der", f"root-{kind}.der")),
            Check("raw", f"sig-{kind}", (f"{kind}.sig", "content.bin", f"issuer-{kind}.der")),
            Check(
                "raw",
                f"bare-signedvalue-{kind}",
                (f"{kind}-bare-SignedValue.dat", f"{kind}-bare-Signature.xml", f"issuer-{kind}.der"),
            ),
            Check("ofd", f"ofd-{kind}", (f"{kind}.ofd", f"root-{kind}.der"), ("CMS over Signature.xml",)),
            Check(
                "ofd",
                f"ofd-bare-{kind}",
                (f"{kind}-bare.ofd", f"issuer-{kind}.der"),
                ("bare signature over Signature.xml",),
            ),
        ]
        for form in ("gm", "rfc") if kind == "sm2" else ("rfc",):
            checks.append(
                Check(
                    "cms", f"cms-{kind}-{form}", (f"{kind}-{form}.cms", "content.bin", f"issuer-{kind}.der")
                )
            )
    return _writable(checks)


BOTH_PATHS = ("CMSSignedData path FAILED", "SignedData path FAILED")


def _negative() -> list[Check]:
    checks: list[Check] = []
    for kind in KINDS:
        for form in ("gm", "rfc") if kind == "sm2" else ("rfc",):
            cms, issuer = f"{kind}-{form}", f"issuer-{kind}.der"
            checks += [
                Check(
                    "cms",
                    f"cms-{cms}-content-flipped",
                    (f"{cms}.cms", "content-flipped.bin", issuer),
                    (*BOTH_PATHS, "message-digest attribute value does not match", "messageDigest"),
                ),
                Check(
                    "cms",
                    f"cms-{cms}-signature-flipped",
                    (f"{cms}-sigflip.cms", "content.bin", issuer),
                    (
                        *BOTH_PATHS,
                        "SignerInformation.verify returned false",
                        "signature over the signed attributes does not verify",
                    ),
                ),
                Check(
                    "cms",
                    f"cms-{cms}-attribute-flipped",
                    (f"{cms}-attrflip.cms", "content.bin", issuer),
                    (
                        *BOTH_PATHS,
                        "SignerInformation.verify returned false",
                        "signature over the signed attributes does not verify",
                    ),
                ),
            ]
        checks += [
            Check(
                "cert",
                f"issuer-{kind}-signature-flipped",
                (f"issuer-{kind}-sigflip.der", f"root-{kind}.der"),
                ("X509Certificate.verify refused the signature",),
            ),
            Check(
                "raw",
                f"sig-{kind}-content-flipped",
                (f"{kind}.sig", "content-flipped.bin", f"issuer-{kind}.der"),
                ("signature does not verify",),
            ),
            Check(
                "raw",
                f"sig-{kind}-signature-flipped",
                (f"{kind}-sigflip.sig", "content.bin", f"issuer-{kind}.der"),
                ("signature does not verify",),
            ),
            Check(
                "raw",
                f"bare-signedvalue-{kind}-content-flipped",
                (f"{kind}-bare-SignedValue.dat", f"{kind}-bare-Signature-flipped.xml", f"issuer-{kind}.der"),
                ("signature does not verify",),
            ),
            Check(
                "ofd",
                f"ofd-{kind}-page-flipped",
                (f"{kind}-pageflip.ofd", f"root-{kind}.der"),
                ("CheckValue of Doc_0/Pages/Page_0/Content.xml does not match",),
            ),
            Check(
                "ofd",
                f"ofd-{kind}-signature-xml-changed",
                (f"{kind}-timeflip.ofd", f"root-{kind}.der"),
                ("CMS over Signature.xml", *BOTH_PATHS),
            ),
        ]
    # a different certificate: the other SM2 hierarchy (same names, other keys)
    checks += [
        Check(
            "cms",
            "cms-sm2-gm-other-certificate",
            ("sm2-gm.cms", "content.bin", "other-issuer-sm2.der"),
            (
                *BOTH_PATHS,
                "names another certificate",
                "signature over the signed attributes does not verify with the certificate's key",
            ),
        ),
        Check(
            "cms",
            "cms-sm2-rfc-other-certificate",
            ("sm2-rfc.cms", "content.bin", "other-issuer-sm2.der"),
            (*BOTH_PATHS, "signature over the signed attributes does not verify with the certificate's key"),
        ),
        Check(
            "cms",
            "cms-p256-other-kind-certificate",
            ("p256-rfc.cms", "content.bin", "issuer-sm2.der"),
            BOTH_PATHS,
        ),
        Check(
            "cert",
            "issuer-sm2-other-root",
            ("issuer-sm2.der", "other-root-sm2.der"),
            ("X509Certificate.verify refused the signature",),
        ),
        Check(
            "raw",
            "sig-sm2-other-certificate",
            ("sm2.sig", "content.bin", "other-issuer-sm2.der"),
            ("signature does not verify",),
        ),
        Check(
            "ofd",
            "ofd-sm2-other-root",
            ("sm2.ofd", "other-root-sm2.der"),
            ("signer certificate not issued by the root",),
        ),
        Check(
            "ofd",
            "ofd-bare-sm2-other-certificate",
            ("sm2-bare.ofd", "other-issuer-sm2.der"),
            ("bare signature over Signature.xml",),
        ),
    ]
    return _writable(checks)


POSITIVE, NEGATIVE = _positive(), _negative()


def _run(d: Path, checks: list[Check]) -> Run:
    assert JAVA is not None and CLASSPATH is not None
    args = [a for check in checks for a in check.args()]
    proc = subprocess.run(
        [JAVA, "-cp", CLASSPATH, str(PROGRAM), *args],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # a compile error or an uncaught exception is no verdict (the JVM may still note JAVA_TOOL_OPTIONS)
    errors = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("Picked up ")]
    assert proc.returncode in (0, 1) and not errors, proc.stderr
    return Run(proc.returncode, proc.stdout.splitlines())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bouncycastle")
    _write_inputs(d)
    return d


@pytest.fixture(scope="module")
def positive(inputs: Path) -> Run:
    return _run(inputs, POSITIVE)


@pytest.fixture(scope="module")
def negative(inputs: Path) -> Run:
    return _run(inputs, NEGATIVE)


# --- what must verify -----------------------------------------------------------------------


def test_everything_verifies_in_one_run(positive: Run) -> None:
    assert positive.returncode == 0, "\n".join(positive.lines)
    results = [line for line in positive.lines if not line.startswith("INFO ")]
    assert len(results) == len(POSITIVE) and all(line.startswith("OK ") for line in results)


@pytest.mark.parametrize("check", POSITIVE, ids=lambda c: c.name)
def test_bouncycastle_verifies(positive: Run, check: Check) -> None:
    line = positive.result(check)
    assert line.startswith("OK "), line
    for expected in check.expect:
        assert expected in line, line


@pytest.mark.parametrize("kind", KINDS)
def test_certificate_signature_algorithms(positive: Run, kind: str) -> None:
    line = positive.result(Check("cert", f"issuer-{kind}", ()))
    name = {
        "sm2": "SM3WITHSM2 (1.2.156.10197.1.501)",
        "p256": "SHA256WITHECDSA (1.2.840.10045.4.3.2)",
        "ed25519": "Ed25519 (1.3.101.112)",
    }[kind]
    assert name in line, line


def test_sm2_certificates_are_signed_with_the_default_id_only(positive: Run) -> None:
    """GM/T 0015's 1234567812345678 (BC's default) verifies; the empty ID OpenSSL uses does not."""
    for name in ("root-sm2", "issuer-sm2"):
        line = positive.result(Check("cert", name, ()))
        assert "SM2 ID 1234567812345678 verifies, the empty ID does not" in line, line


def test_rfc_form_verifies_with_bouncycastle_defaults(positive: Run) -> None:
    for name in ("cms-sm2-rfc", "cms-p256-rfc", "cms-ed25519-rfc"):
        check = Check("cms", name, ())
        line = positive.result(check)
        assert "CMSSignedData path OK with BC defaults" in line and "SignedData path OK (RFC 5652" in line, (
            line
        )
        assert positive.info(check) == []
    assert "SM3withSM2 (1.2.156.10197.1.501)" in positive.result(Check("cms", "cms-sm2-rfc", ()))


def test_gm_form_needs_the_sm2_signature_oid_mapped(positive: Run) -> None:
    """BC 1.72 parses GB/T 35275 CMS but names an SM2 SignerInfo only by 1.2.156.10197.1.501.

    We write 1.2.156.10197.1.301.1 (SM2-1) there in the GB/T 35275 form, which BC's default
    SignerInformationVerifier cannot name; mapped to "SM2", and along the ASN.1 path, it verifies.
    If this test fails because the default path passes, BC or our encoder changed: update
    docs/bouncycastle-check.md and this module's docstring.
    """
    for check in (Check("cms", "cms-sm2-gm", ()), Check("ofd", "ofd-sm2", ())):
        [info] = positive.info(check)
        assert (
            "IllegalArgumentException: Unknown signature type requested: SM3WITH1.2.156.10197.1.301.1" in info
        )
        line = positive.result(check)
        assert "CMSSignedData path OK once 1.2.156.10197.1.301.1 is mapped to SM2" in line, line
        assert "content type 1.2.156.10197.6.1.4.2.1" in line, line
        assert (
            "SignedData path OK (GB/T 35275 1.2.156.10197.6.1.4.2.2, SM3withSM2 (1.2.156.10197.1.301.1)"
            in line
        )


def test_ofd_check_values_recomputed(positive: Run) -> None:
    for kind, digest in (("sm2", "1.2.156.10197.1.401"), ("p256", "2.16.840.1.101.3.4.2.1")):
        line = positive.result(Check("ofd", f"ofd-{kind}", ()))
        assert f"CheckValues ({digest}) match" in line, line


# --- negative controls: each must fail, for its own reason ----------------------------------


def test_negative_controls_fail_in_one_run(negative: Run) -> None:
    assert negative.returncode == 1
    results = [line for line in negative.lines if not line.startswith("INFO ")]
    assert len(results) == len(NEGATIVE) and all(line.startswith("FAIL ") for line in results), negative.lines


@pytest.mark.parametrize("check", NEGATIVE, ids=lambda c: c.name)
def test_bouncycastle_rejects(negative: Run, check: Check) -> None:
    line = negative.result(check)
    assert line.startswith("FAIL "), line
    for expected in check.expect:
        assert expected in line, line


def test_changed_signature_xml_fails_only_the_signature(negative: Run) -> None:
    """SignatureDateTime changed after signing: the References still match, the CMS does not."""
    line = negative.result(Check("ofd", "ofd-sm2-signature-xml-changed", ()))
    assert "CheckValue" not in line and "messageDigest" in line, line
