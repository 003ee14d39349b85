"""Packaging: structure of the OFD file, the bare signature form, determinism, OpenSSL interop."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from ecert.collect import CertificateDraft
from ecert.crypto.keys import save_public_key
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.errors import InputError
from ecert.ofd.reader import OFDPackage
from ecert.package import Issuer, build_unsigned, file_name, package, sign_package
from ecert.verify import verify

from .certs import NOW, SIGNED_AT, draft, hierarchy, issued_file, signer, trust_store

OPENSSL = shutil.which("openssl")
SIGN = "Doc_0/Signs/Sign_0/"


def test_file_structure_metadata_and_index() -> None:
    pkg = OFDPackage.open(issued_file())
    md = draft().metadata
    body = pkg.doc_bodies()[0]
    assert body.doc_info.custom_datas["ZZBS"] == str(md.identifier)
    doc = pkg.document(0)
    assert [a.name for a in doc.attachments] == ["ecert-certificate"]
    assert doc.custom_tags and doc.custom_tags[0].type_id == "ecert-certificate"
    tags = etree.fromstring(pkg.entries[doc.custom_tags[0].file_loc])
    indexed = {el.get("Name") for el in tags}
    assert {"CZZT", "ZZBS"} <= indexed  # holder and identifier point at their text objects
    page = pkg.entries[doc.pages[0].base_loc].decode()
    for ref in tags.iter("{http://www.ofdspec.org/2016}ObjectRef"):
        assert f'ID="{ref.text}"' in page
    assert file_name(md) == f"{md.identifier}.ofd"


def test_unsigned_output_is_deterministic() -> None:
    a = build_unsigned(draft(), qr_payload="EC1:TEST")
    b = build_unsigned(draft(), qr_payload="EC1:TEST")
    assert a == b


def _bare() -> bytes:
    return package(draft(), Issuer(signer(), cms=False), at=SIGNED_AT)


def test_bare_signature_needs_the_signer_certificate_in_the_trust_store() -> None:
    data = _bare()
    assert not verify(data, trust=trust_store(), at=NOW).ok  # the root alone cannot say who signed
    h = hierarchy()
    assert verify(data, trust=TrustStore.from_certificates(h.issuer_cert, h.root_cert), at=NOW).ok


@pytest.mark.skipif(OPENSSL is None, reason="system openssl is not installed")
def test_openssl_verifies_the_bare_signed_value(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(_bare())) as z:
        (tmp_path / "Signature.xml").write_bytes(z.read(SIGN + "Signature.xml"))
        (tmp_path / "SignedValue.dat").write_bytes(z.read(SIGN + "SignedValue.dat"))
    (tmp_path / "pub.pem").write_bytes(save_public_key(hierarchy().issuer_cert.public_key))
    assert OPENSSL is not None
    result = subprocess.run(
        [
            OPENSSL,
            "pkeyutl",
            "-verify",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-pubin",
            "-inkey",
            str(tmp_path / "pub.pem"),
            "-in",
            str(tmp_path / "Signature.xml"),
            "-sigfile",
            str(tmp_path / "SignedValue.dat"),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("kind", ["p256", "ed25519"])
def test_other_algorithms(kind: str) -> None:
    data = package(draft(kind), Issuer(signer(kind)), at=SIGNED_AT)
    report = verify(data, trust=trust_store(kind), at=NOW)
    assert report.ok, report.to_text()


def test_a_department_cannot_sign_for_another_issuer() -> None:
    from ecert.collect import collect
    from ecert.metadata import Authority

    from .certs import OTHER_DEPARTMENT_CODE, sample_record

    record, code = sample_record()
    foreign = collect(
        record, code, issuer=Authority("另一市市场监督管理局", OTHER_DEPARTMENT_CODE), today=SIGNED_AT.date()
    )
    with pytest.raises(InputError, match="another issuing authority") as caught:
        package(foreign, Issuer(signer()), at=SIGNED_AT)
    assert OTHER_DEPARTMENT_CODE in str(caught.value)
    # a file made without that check (another system's, or ours below package()) fails verification
    report = verify(_signed_unchecked(foreign, signer()), trust=trust_store(), at=NOW)
    assert not report.ok and report.failed("issuer_binding")
    assert (
        verify(issued_file(), trust=trust_store(), at=NOW).check("issuer_binding")[0].outcome.value == "pass"
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("91330100MB01234570", "91330100MB01234570"),
        (" 91330100mb01234570 ", "91330100MB01234570"),
        ("NTRCN-91330100MB01234570", "91330100MB01234570"),  # ETSI EN 319 412-1 semantics identifier
        ("X91330100MB01234570", "X91330100MB01234570"),  # contains the code: another organisation
        ("91330100MB01234570-2", "91330100MB01234570-2"),
        ("NTR-91330100MB01234570", "NTR-91330100MB01234570"),  # no country: not the ETSI form
    ],
)
def test_organization_code_is_compared_exactly(value: str, code: str) -> None:
    from ecert.crypto.x509 import organization_code

    assert organization_code(value) == code


@pytest.mark.parametrize(
    ("org_id", "outcome"),
    [
        ("NTRCN-" + "11330100MB01234570", "pass"),
        ("X11330100MB01234570", "fail"),  # contains the issuer's code but names another organisation
        ("11330100MB01234570-01", "fail"),
    ],
)
def test_issuer_binding_compares_the_organisation_code_exactly(org_id: str, outcome: str) -> None:
    from ecert.crypto.hierarchy import make_issuer_certificate
    from ecert.crypto.keys import generate_private_key

    from .certs import DEPARTMENT_CODE, hierarchy

    assert DEPARTMENT_CODE in org_id
    h = hierarchy()
    key = generate_private_key("sm2")
    cert = make_issuer_certificate(
        h.root_key, h.root_cert, key.public_key(), "示例市市场监督管理局",
        organization="示例市市场监督管理局", organization_identifier=org_id, not_before=SIGNED_AT,
    )
    data = _signed_unchecked(draft(), Signer(key, cert, (h.root_cert,)))
    report = verify(data, trust=trust_store(), at=NOW)
    assert report.check("issuer_binding")[0].outcome.value == outcome
    assert report.ok is (outcome == "pass")


def _signed_unchecked(d: CertificateDraft, s: Signer) -> bytes:
    """Package and sign below package(), which refuses a signer of another authority."""
    return sign_package(build_unsigned(d, qr_payload=None), Issuer(s), at=SIGNED_AT)
