"""Hostile inputs of issue 17, built here: each is refused with ecert's error (or judged) quickly and
without a dependency's exception.  Times and memory are measured by benchmarks/bench_hostile.py, not
here (no timed unit tests); these tests check the refusal and its reason, and that the caps leave
real documents alone (64 signatures still verify)."""

from __future__ import annotations

import base64
import io
import struct
import zipfile

import pytest
from asn1crypto import cms, core, pkcs12
from cryptography import x509 as c_x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption
from cryptography.hazmat.primitives.serialization import pkcs12 as c_pkcs12

from ecert.crypto.der import check_bounds
from ecert.crypto.keys import load_pkcs12, load_private_key, load_public_key
from ecert.crypto.x509 import load_certificate
from ecert.errors import EcertError, InputError, InvalidCertificate, InvalidKey
from ecert.ofd.reader import OFDPackage
from ecert.ofd.ses import SesSignature, parse_seal
from ecert.verify import VerificationReport, verify

from .certs import NOW, hierarchy, issued_file, trust_store

SIGN_DIR = "Doc_0/Signs/Sign_0"


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist() if not i.is_dir()]


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def _with(changes: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    entries = dict(_entries(issued_file()))
    entries.update(changes)
    return _zip(list(entries.items()), method)


def _ff(run: int, wrap: int = 1) -> bytes:
    """SEQUENCE^wrap { 0xFF x run }: an identifier octet run that never ends."""
    body = b"\xff" * run
    for _ in range(wrap):
        body = b"\x30\x83" + len(body).to_bytes(3, "big") + body
    return body


def _failed(report: VerificationReport) -> dict[str, str]:
    return {c.name: c.message for c in report.checks if c.outcome.value == "fail"}


# --- DER with an endless tag ------------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [1, 2])
def test_ff_run_in_a_seal_signature_is_refused_by_the_bounded_walk(wrap: int) -> None:
    value = _ff(60_000, wrap)
    with pytest.raises(EcertError, match="tag number too large"):
        SesSignature.parse(value)
    with pytest.raises(EcertError, match="tag number too large"):
        parse_seal(value)
    report = verify(_with({f"{SIGN_DIR}/SignedValue.dat": value}), trust=trust_store(), at=NOW)
    assert not report.ok and "signature_value" in _failed(report)


@pytest.mark.parametrize("pem", [False, True])
def test_ff_run_in_a_key_file_is_refused(pem: bool) -> None:
    der = _ff(66_000)
    data = (b"-----BEGIN PRIVATE KEY-----\n" + base64.encodebytes(der) + b"-----END PRIVATE KEY-----\n"
            if pem else der)
    with pytest.raises(InvalidKey, match="tag number too large"):
        load_private_key(data)
    with pytest.raises(InvalidKey, match="tag number too large"):
        load_public_key(der)
    with pytest.raises(InvalidCertificate, match="tag number too large"):
        load_certificate(der)
    with pytest.raises(InvalidKey):
        load_pkcs12(der, b"pw")


def test_bounded_walk_accepts_ber_every_reader_accepts() -> None:
    # indefinite length closed by end-of-contents, a constructed OCTET STRING, a long-form short length
    check_bounds(bytes.fromhex("3080 2480 040161 040162 0000 0201 00 0000".replace(" ", "")))
    check_bounds(bytes.fromhex("30 81 03 020100".replace(" ", "")))
    for bad in ("3080 020100", "30 05 020100", "30 03 020100 00", "1f ff ff ff ff 7f 00"):
        with pytest.raises(InputError):
            check_bounds(bytes.fromhex(bad.replace(" ", "")))


def test_ed25519_pkcs8_with_wrong_key_length_is_an_ecert_error() -> None:
    # PrivateKeyInfo { 0, { id-Ed25519 }, OCTET STRING { OCTET STRING (31 bytes) } }
    inner = b"\x04\x1f" + b"\x01" * 31
    der = bytes.fromhex("302e020100300506032b6570") + b"\x04" + bytes([len(inner)]) + inner
    der = b"\x30" + bytes([len(der) - 2]) + der[2:]
    with pytest.raises(InvalidKey):
        load_private_key(der)


# --- PKCS#12 iteration counts ------------------------------------------------------------------------


def _p12(mac_iterations: int | None = None, pbe_iterations: int | None = None, mac: bool = True) -> bytes:
    h = hierarchy("p256")
    cert = c_x509.load_der_x509_certificate(h.issuer_cert.der)
    data = c_pkcs12.serialize_key_and_certificates(
        b"k", h.issuer_key.key, cert, None, BestAvailableEncryption(b"pw")  # type: ignore[arg-type]
    )
    pfx = pkcs12.Pfx.load(data)
    if pbe_iterations is not None:
        infos = []
        for info in pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native):
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


def test_genuine_pkcs12_still_loads() -> None:
    _key, cert, _ = load_pkcs12(_p12(), b"pw")
    assert cert is not None and cert.der == hierarchy("p256").issuer_cert.der


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"mac_iterations": 10_000_000}, "MAC"),
        ({"mac_iterations": 2**31 - 1}, "MAC"),
        ({"pbe_iterations": 10_000_000, "mac": False}, "certificate bag encryption"),
        ({"pbe_iterations": 2**31 - 1, "mac": False}, "certificate bag encryption"),
    ],
)
def test_pkcs12_iteration_counts_are_checked_before_deriving(kwargs: dict[str, object], what: str) -> None:
    with pytest.raises(InvalidKey, match=f"{what} iteration count out of range"):
        load_pkcs12(_p12(**kwargs), b"pw")  # type: ignore[arg-type]


# --- counts: signatures, references, XML nodes, decompressed size -------------------------------------------


def _copies(count: int) -> bytes:
    entries = dict(_entries(issued_file()))
    sigs = entries["Doc_0/Signs/Signatures.xml"].decode()
    head, _, rest = sigs.partition("<ofd:Signature ")
    line, _, tail = rest.partition("/>")
    listed = []
    for i in range(count):
        one = line.replace('ID="1"', f'ID="{i + 1}"').replace("Sign_0", f"Sign_{i}")
        listed.append("<ofd:Signature " + one + "/>")
        # the copy names the one SignedValue.dat by its absolute location, as ecert writes it
        entries[f"Doc_0/Signs/Sign_{i}/Signature.xml"] = entries[f"{SIGN_DIR}/Signature.xml"]
    entries["Doc_0/Signs/Signatures.xml"] = (head + "".join(listed) + tail).encode()
    return _zip(list(entries.items()))


def test_a_document_with_64_signatures_verifies_and_65_are_refused() -> None:
    assert verify(_copies(64), trust=trust_store(), at=NOW).ok
    report = verify(_copies(65), trust=trust_store(), at=NOW)
    assert "too many signatures" in _failed(report)["signatures"]


def test_too_many_references_are_refused() -> None:
    sig = dict(_entries(issued_file()))[f"{SIGN_DIR}/Signature.xml"].decode()
    extra = "".join(f'<ofd:Reference FileRef="/x/{i}"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference>'
                    for i in range(5_000))
    data = _with({f"{SIGN_DIR}/Signature.xml": sig.replace("</ofd:References>", extra + "</ofd:References>")
                  .encode()})
    assert "too many references" in _failed(verify(data, trust=trust_store(), at=NOW))["signatures"]


def test_many_small_entries_cannot_expand_a_small_file() -> None:
    pads = {f"Doc_0/Res/pad_{i}.bin": bytes(64_000) for i in range(600)}  # 38 MB from about 0.2 MB
    data = _with(pads)
    assert len(data) < 1_000_000
    with pytest.raises(EcertError, match="too large when decompressed"):
        OFDPackage.open(data)


def test_flat_xml_of_millions_of_elements_is_refused_before_parsing() -> None:
    ofd = dict(_entries(issued_file()))["OFD.xml"]
    padded = ofd.replace(b"</ofd:OFD>", b"<a/>" * 300_000 + b"</ofd:OFD>")
    data = _with({"OFD.xml": padded}, zipfile.ZIP_STORED)
    report = verify(data, trust=trust_store(), at=NOW)
    assert "too many elements and attributes" in _failed(report)["package"]


# --- ZIP flag bits ---------------------------------------------------------------------------------------


def _set_flag(data: bytes, bit: int, *, local: bool, central: bool) -> bytes:
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.infolist()[0]
        cd_start = zf.start_dir  # type: ignore[attr-defined]
    if local:
        (flags,) = struct.unpack_from("<H", out, info.header_offset + 6)
        struct.pack_into("<H", out, info.header_offset + 6, flags | 1 << bit)
    if central:
        assert out[cd_start:cd_start + 4] == b"PK\x01\x02"
        (flags,) = struct.unpack_from("<H", out, cd_start + 8)
        struct.pack_into("<H", out, cd_start + 8, flags | 1 << bit)
    return bytes(out)


@pytest.mark.parametrize("bit", [0, 5, 6, 13])
@pytest.mark.parametrize(("local", "central"), [(True, False), (False, True), (True, True)])
def test_unreadable_entry_flags_are_refused(bit: int, local: bool, central: bool) -> None:
    data = _set_flag(issued_file(), bit, local=local, central=central)
    with pytest.raises(EcertError, match="encrypted, patched or masked"):
        OFDPackage.open(data)


@pytest.mark.parametrize("bit", [1, 2])  # deflate option bits: how it was compressed, not how to read it
def test_harmless_flag_bits_stay_accepted(bit: int) -> None:
    data = _set_flag(issued_file(), bit, local=True, central=True)
    assert verify(data, trust=trust_store(), at=NOW).ok


def test_every_xml_reader_is_bounded_by_default() -> None:
    """The metadata XML, custom tags and other parts parsed outside the package reader meet the
    same node bound (a 1.2 MB metadata document of empty elements would take about 35 MB)."""
    from ecert.errors import InvalidMetadata
    from ecert.metadata.xmlform import safe_parse

    with pytest.raises(InvalidMetadata, match="too many elements"):
        safe_parse(b"<a>" + b"<b/>" * 300_000 + b"</a>", "certificate xml")
