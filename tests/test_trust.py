"""Trust store and path validation: good paths, and each failing step produced on purpose.

P-256 certificates are made with cryptography's CertificateBuilder (any extension, any period);
SM2 paths come from ecert's DemoHierarchy; the real SM2 certificate from ofdrw checks direct trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ecert.crypto.hierarchy import DemoHierarchy
from ecert.crypto.trust import MAX_CHAIN, STEP_NAMES, PathStep, PathValidation, TrustStore
from ecert.crypto.x509 import Certificate, load_certificate
from ecert.errors import EcertError, InputError, InvalidCertificate, TrustError

from .thirdparty import OFDRW

INTEROP = OFDRW
T0 = datetime(2025, 1, 1, tzinfo=UTC)
AT = T0 + timedelta(days=30)

_KEYS: list[ec.EllipticCurvePrivateKey] = [ec.generate_private_key(ec.SECP256R1()) for _ in range(16)]


@dataclass(frozen=True)
class Made:
    cert: Certificate
    key: ec.EllipticCurvePrivateKey
    name: x509.Name


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def make(
    cn: str,
    *,
    key_index: int,
    issuer: Made | None = None,
    issuer_name: x509.Name | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool | None = False,
    path_length: int | None = None,
    usage: set[str] | None = None,
    not_before: datetime = T0,
    days: int = 365,
    extra: x509.ExtensionType | None = None,
    key_ids: bool = True,
) -> Made:
    """A P-256 certificate; ``issuer=None`` and no ``issuer_key`` makes it self-signed."""
    key = _KEYS[key_index]
    name = _name(cn)
    signing_key = issuer_key or (issuer.key if issuer else key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or (issuer.name if issuer else name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if usage is not None:
        flags = dict.fromkeys(
            (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
            ),
            False,
        )
        flags.update(dict.fromkeys(usage, True))
        builder = builder.add_extension(
            x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True
        )
    if key_ids:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), False
        )
    if extra is not None:
        builder = builder.add_extension(extra, critical=True)
    der = builder.sign(signing_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    return Made(Certificate.from_der(der), key, name)


CA_USAGE = {"key_cert_sign", "crl_sign"}
EE_USAGE = {"digital_signature", "content_commitment"}


@pytest.fixture(scope="module")
def pki() -> dict[str, Made]:
    root = make("Root", key_index=0, ca=True, usage=CA_USAGE, days=3650)
    inter = make("Intermediate", key_index=1, issuer=root, ca=True, path_length=0, usage=CA_USAGE)
    leaf = make("Leaf", key_index=2, issuer=inter, usage=EE_USAGE, not_before=T0 + timedelta(days=1), days=90)
    return {"root": root, "inter": inter, "leaf": leaf}


def _names(result: PathValidation) -> tuple[str, ...]:
    return tuple(s.name for s in result.steps)


def _failed(result: PathValidation) -> PathStep:
    assert not result.ok
    step = result.failed_step
    assert step is not None
    return step


# --- good paths ----------------------------------------------------------------------------------


def test_good_p256_path_with_intermediate(pki: dict[str, Made]) -> None:
    store = TrustStore.from_certificates(pki["root"].cert)
    result = store.validate(pki["leaf"].cert, at=AT, intermediates=[pki["inter"].cert])
    assert result.ok, result.steps
    assert result.chain == (pki["leaf"].cert, pki["inter"].cert, pki["root"].cert)
    assert _names(result) == STEP_NAMES
    assert result.failed_step is None
    result.raise_for_failure()  # no exception


@pytest.mark.parametrize("kind", ["sm2", "ed25519", "p256"])
def test_good_demo_hierarchy_paths(kind: str) -> None:
    h = DemoHierarchy.create(kind, now=AT)
    result = TrustStore.from_certificates(h.root_cert).validate(h.issuer_cert, at=AT)
    assert result.ok, result.steps
    assert result.chain == (h.issuer_cert, h.root_cert)


def test_time_in_another_zone_is_the_same_instant(pki: dict[str, Made]) -> None:
    from datetime import timezone

    store = TrustStore.from_certificates(pki["root"].cert)
    beijing = timezone(timedelta(hours=8))
    result = store.validate(pki["leaf"].cert, at=AT.astimezone(beijing), intermediates=[pki["inter"].cert])
    assert result.ok


def test_unused_and_duplicate_intermediates_are_harmless(pki: dict[str, Made]) -> None:
    stranger = make("Stranger CA", key_index=3, ca=True, usage=CA_USAGE)
    store = TrustStore.from_certificates(pki["root"].cert, pki["root"].cert)
    assert len(store.anchors) == 1
    result = store.validate(
        pki["leaf"].cert, at=AT, intermediates=[stranger.cert, pki["inter"].cert, pki["inter"].cert]
    )
    assert result.ok


def test_rekeyed_ca_with_the_same_name_is_told_apart_by_signature() -> None:
    old = make("Same Name CA", key_index=4, ca=True, usage=CA_USAGE, key_ids=False)
    new = make("Same Name CA", key_index=5, ca=True, usage=CA_USAGE, key_ids=False)
    leaf = make("Leaf", key_index=6, issuer=new, usage=EE_USAGE, key_ids=False)
    result = TrustStore.from_certificates(old.cert, new.cert).validate(leaf.cert, at=AT)
    assert result.ok, result.steps
    assert result.chain[-1] == new.cert


# --- build ---------------------------------------------------------------------------------------


def test_empty_store_fails_build_with_a_clear_message(pki: dict[str, Made]) -> None:
    step = _failed(TrustStore.empty().validate(pki["leaf"].cert, at=AT))
    assert step.name == "build"
    assert "empty" in step.message


def test_unknown_issuer_fails_build(pki: dict[str, Made]) -> None:
    other = make("Other Root", key_index=7, ca=True, usage=CA_USAGE)
    result = TrustStore.from_certificates(other.cert).validate(pki["leaf"].cert, at=AT)
    step = _failed(result)
    assert step.name == "build"
    assert "Leaf" in step.message and "Intermediate" in step.message
    assert result.chain == (pki["leaf"].cert,)
    assert _names(result) == ("build",)


def test_missing_intermediate_fails_build(pki: dict[str, Made]) -> None:
    step = _failed(TrustStore.from_certificates(pki["root"].cert).validate(pki["leaf"].cert, at=AT))
    assert step.name == "build"


def test_authority_key_id_mismatch_is_not_an_issuer(pki: dict[str, Made]) -> None:
    # same subject name as the root, different key: the leaf's AKI names the real root's key
    impostor = make("Root", key_index=8, ca=True, usage=CA_USAGE, days=3650)
    store = TrustStore.from_certificates(impostor.cert)
    step = _failed(store.validate(pki["inter"].cert, at=AT))
    assert step.name == "build"


def test_issuer_loop_is_detected() -> None:
    a_name, b_name = _name("Loop A"), _name("Loop B")
    a = make("Loop A", key_index=9, issuer_name=b_name, issuer_key=_KEYS[10], ca=True, usage=CA_USAGE)
    b = make("Loop B", key_index=10, issuer_name=a_name, issuer_key=_KEYS[9], ca=True, usage=CA_USAGE)
    leaf = make("Loop Leaf", key_index=11, issuer=a, usage=EE_USAGE)
    unrelated = make("Unrelated Root", key_index=12, ca=True, usage=CA_USAGE)
    step = _failed(
        TrustStore.from_certificates(unrelated.cert).validate(
            leaf.cert, at=AT, intermediates=[a.cert, b.cert]
        )
    )
    assert step.name == "build"
    assert "loop" in step.message


def _long_chain(n_intermediates: int) -> tuple[Made, list[Made], Made]:
    root = make("Deep Root", key_index=0, ca=True, usage=CA_USAGE, days=3650)
    cas: list[Made] = []
    parent = root
    for i in range(n_intermediates):
        parent = make(f"Deep CA {i}", key_index=1 + i % 10, issuer=parent, ca=True, usage=CA_USAGE)
        cas.append(parent)
    leaf = make("Deep Leaf", key_index=14, issuer=parent, usage=EE_USAGE)
    return root, cas, leaf


def test_chain_longer_than_the_limit_fails_build() -> None:
    root, cas, leaf = _long_chain(MAX_CHAIN - 1)  # leaf + 7 CAs + root = 9 certificates
    step = _failed(
        TrustStore.from_certificates(root.cert).validate(
            leaf.cert, at=AT, intermediates=[c.cert for c in cas]
        )
    )
    assert step.name == "build"
    assert f"longer than {MAX_CHAIN}" in step.message


def test_chain_at_the_limit_is_accepted() -> None:
    root, cas, leaf = _long_chain(MAX_CHAIN - 2)  # exactly MAX_CHAIN certificates
    result = TrustStore.from_certificates(root.cert).validate(
        leaf.cert, at=AT, intermediates=[c.cert for c in cas]
    )
    assert result.ok, result.steps
    assert len(result.chain) == MAX_CHAIN


# --- signature -----------------------------------------------------------------------------------


def _tamper_signature(cert: Certificate) -> Certificate:
    der = bytearray(cert.der)
    der[-3] ^= 0x01  # inside the signature's s INTEGER: still parses, no longer verifies
    return Certificate.from_der(bytes(der))


def test_tampered_signature_fails_signature_step(pki: dict[str, Made]) -> None:
    bad = _tamper_signature(pki["leaf"].cert)
    result = TrustStore.from_certificates(pki["root"].cert).validate(
        bad, at=AT, intermediates=[pki["inter"].cert]
    )
    step = _failed(result)
    assert step.name == "signature"
    assert "Leaf" in step.message and "Intermediate" in step.message
    assert _names(result) == STEP_NAMES  # the other steps still ran and are reported


def test_tampered_sm2_certificate_fails_signature_step() -> None:
    h = DemoHierarchy.create("sm2", now=AT)
    step = _failed(
        TrustStore.from_certificates(h.root_cert).validate(_tamper_signature(h.issuer_cert), at=AT)
    )
    assert step.name == "signature"


def test_remembered_signatures_never_change_a_verdict() -> None:
    """The signature memo is keyed by both DER encodings: a good answer is never reused for
    a tampered certificate or another issuer's key, and a bad answer stays bad."""
    h = DemoHierarchy.create("sm2", now=AT)
    other = DemoHierarchy.create("sm2", now=AT)
    store = TrustStore.from_certificates(h.root_cert)
    bad = _tamper_signature(h.issuer_cert)
    for _ in range(2):  # the second round is answered from the memo
        assert store.validate(h.issuer_cert, at=AT).ok
        assert _failed(store.validate(bad, at=AT)).name == "signature"
        assert not TrustStore.from_certificates(other.root_cert).validate(h.issuer_cert, at=AT).ok
    later = AT.replace(year=AT.year + 30)  # validity is checked every time, not remembered
    assert _failed(store.validate(h.issuer_cert, at=later)).name == "validity"


# --- validity ------------------------------------------------------------------------------------


def test_expired_at_validation_time(pki: dict[str, Made]) -> None:
    store = TrustStore.from_certificates(pki["root"].cert)
    late = T0 + timedelta(days=200)
    step = _failed(store.validate(pki["leaf"].cert, at=late, intermediates=[pki["inter"].cert]))
    assert step.name == "validity"
    assert "Leaf" in step.message and "expired" in step.message
    assert pki["leaf"].cert.not_after.isoformat() in step.message


def test_not_yet_valid_at_validation_time(pki: dict[str, Made]) -> None:
    store = TrustStore.from_certificates(pki["root"].cert)
    step = _failed(
        store.validate(pki["leaf"].cert, at=T0 + timedelta(hours=1), intermediates=[pki["inter"].cert])
    )
    assert step.name == "validity"
    assert "not yet valid" in step.message


def test_expired_intermediate_fails_validity(pki: dict[str, Made]) -> None:
    root = pki["root"]
    short = make("Short CA", key_index=3, issuer=root, ca=True, usage=CA_USAGE, days=10)
    leaf = make("Leaf of Short", key_index=2, issuer=short, usage=EE_USAGE)
    step = _failed(
        TrustStore.from_certificates(root.cert).validate(leaf.cert, at=AT, intermediates=[short.cert])
    )
    assert step.name == "validity"
    assert "Short CA" in step.message


# --- ca ------------------------------------------------------------------------------------------


def test_issuer_that_is_not_a_ca(pki: dict[str, Made]) -> None:
    not_ca = make("Not A CA", key_index=3, issuer=pki["root"], ca=False, usage=CA_USAGE)
    leaf = make("Leaf of Not A CA", key_index=2, issuer=not_ca, usage=EE_USAGE)
    step = _failed(
        TrustStore.from_certificates(pki["root"].cert).validate(leaf.cert, at=AT, intermediates=[not_ca.cert])
    )
    assert step.name == "ca"
    assert "Not A CA" in step.message and "not a CA" in step.message


def test_issuer_without_basic_constraints_is_not_a_ca(pki: dict[str, Made]) -> None:
    bare = make("Bare", key_index=3, issuer=pki["root"], ca=None)
    leaf = make("Leaf of Bare", key_index=2, issuer=bare, usage=EE_USAGE)
    step = _failed(
        TrustStore.from_certificates(pki["root"].cert).validate(leaf.cert, at=AT, intermediates=[bare.cert])
    )
    assert step.name == "ca"


def test_issuer_without_key_cert_sign(pki: dict[str, Made]) -> None:
    ca = make(
        "CRL Only CA", key_index=3, issuer=pki["root"], ca=True, usage={"crl_sign", "digital_signature"}
    )
    leaf = make("Leaf", key_index=2, issuer=ca, usage=EE_USAGE)
    step = _failed(
        TrustStore.from_certificates(pki["root"].cert).validate(leaf.cert, at=AT, intermediates=[ca.cert])
    )
    assert step.name == "ca"
    assert "keyCertSign" in step.message


def test_path_length_constraint(pki: dict[str, Made]) -> None:
    # Intermediate has pathLen 0: a CA below it may not issue
    sub = make("Sub CA", key_index=3, issuer=pki["inter"], ca=True, usage=CA_USAGE)
    leaf = make("Leaf of Sub", key_index=2, issuer=sub, usage=EE_USAGE)
    result = TrustStore.from_certificates(pki["root"].cert).validate(
        leaf.cert, at=AT, intermediates=[sub.cert, pki["inter"].cert]
    )
    step = _failed(result)
    assert step.name == "ca"
    assert "path length" in step.message and "Intermediate" in step.message


# --- key_usage -----------------------------------------------------------------------------------


def test_end_entity_without_signing_key_usage(pki: dict[str, Made]) -> None:
    leaf = make(
        "Encryption Only", key_index=2, issuer=pki["inter"], usage={"key_encipherment", "key_agreement"}
    )
    step = _failed(
        TrustStore.from_certificates(pki["root"].cert).validate(
            leaf.cert, at=AT, intermediates=[pki["inter"].cert]
        )
    )
    assert step.name == "key_usage"
    assert "digitalSignature" in step.message


@pytest.mark.parametrize("usage", [{"digital_signature"}, {"content_commitment"}, None])
def test_end_entity_signing_usages_accepted(pki: dict[str, Made], usage: set[str] | None) -> None:
    leaf = make("Signer", key_index=2, issuer=pki["inter"], usage=usage)
    result = TrustStore.from_certificates(pki["root"].cert).validate(
        leaf.cert, at=AT, intermediates=[pki["inter"].cert]
    )
    assert result.ok, result.steps


# --- critical_extensions -------------------------------------------------------------------------


def test_unknown_critical_extension(pki: dict[str, Made]) -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    leaf = make("Odd Leaf", key_index=2, issuer=pki["inter"], usage=EE_USAGE, extra=odd)
    step = _failed(
        TrustStore.from_certificates(pki["root"].cert).validate(
            leaf.cert, at=AT, intermediates=[pki["inter"].cert]
        )
    )
    assert step.name == "critical_extensions"
    assert "1.3.6.1.4.1.99999.1" in step.message


def test_critical_name_constraints_are_not_processed_so_refused(pki: dict[str, Made]) -> None:
    constraints = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("example.cn")], excluded_subtrees=None
    )
    ca = make("Constrained CA", key_index=3, issuer=pki["root"], ca=True, usage=CA_USAGE, extra=constraints)
    leaf = make("Leaf", key_index=2, issuer=ca, usage=EE_USAGE)
    step = _failed(
        TrustStore.from_certificates(pki["root"].cert).validate(leaf.cert, at=AT, intermediates=[ca.cert])
    )
    assert step.name == "critical_extensions"
    assert "2.5.29.30" in step.message


# --- direct trust --------------------------------------------------------------------------------


def test_certificate_in_the_store_is_trusted_directly(pki: dict[str, Made]) -> None:
    result = TrustStore.from_certificates(pki["leaf"].cert).validate(pki["leaf"].cert, at=AT)
    assert result.ok, result.steps
    assert result.chain == (pki["leaf"].cert,)
    assert "itself a trust anchor" in result.steps[0].message


def test_direct_trust_still_applies_the_validity_period(pki: dict[str, Made]) -> None:
    store = TrustStore.from_certificates(pki["leaf"].cert)
    step = _failed(store.validate(pki["leaf"].cert, at=T0 + timedelta(days=400)))
    assert step.name == "validity"


def test_direct_trust_needs_byte_equal_der(pki: dict[str, Made]) -> None:
    # same name, same key, another serial: not the anchor, and its issuer is unknown
    twin = make(
        "Leaf", key_index=2, issuer=pki["inter"], usage=EE_USAGE, not_before=T0 + timedelta(days=1), days=90
    )
    step = _failed(TrustStore.from_certificates(pki["leaf"].cert).validate(twin.cert, at=AT))
    assert step.name == "build"


def test_real_ofdrw_certificate_trusted_directly() -> None:
    cert = load_certificate((INTEROP / "user_cert.pem").read_bytes())
    store = TrustStore.from_certificates(cert)
    good = store.validate(cert, at=datetime(2020, 6, 1, tzinfo=UTC))
    assert good.ok, good.steps
    late = store.validate(cert, at=datetime(2023, 1, 1, tzinfo=UTC))
    step = _failed(late)
    assert step.name == "validity"
    assert "Test Certificate" in step.message and "2022-04-21" in step.message
    untrusted = TrustStore.empty().validate(cert, at=datetime(2020, 6, 1, tzinfo=UTC))
    assert _failed(untrusted).name == "build"


# --- inputs and invariants -----------------------------------------------------------------------


def test_naive_time_is_refused(pki: dict[str, Made]) -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        TrustStore.from_certificates(pki["root"].cert).validate(pki["leaf"].cert, at=datetime(2025, 2, 1))


def test_non_certificate_input_is_refused(pki: dict[str, Made]) -> None:
    with pytest.raises(InputError):
        TrustStore.from_certificates(pki["root"].cert).validate(b"not a cert", at=AT)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        TrustStore((b"not a cert",))  # type: ignore[arg-type]


def test_ok_is_derived_from_complete_steps(pki: dict[str, Made]) -> None:
    passed = (PathStep("build", True, "x"),)
    assert not PathValidation((pki["leaf"].cert,), passed).ok  # steps missing: never ok
    with pytest.raises(TrustError, match="every step"):
        PathValidation((pki["leaf"].cert,), passed).raise_for_failure()
    everything = tuple(PathStep(n, True, "x") for n in STEP_NAMES)
    assert PathValidation((pki["leaf"].cert,), everything).ok


def test_raise_for_failure_names_the_step(pki: dict[str, Made]) -> None:
    result = TrustStore.empty().validate(pki["leaf"].cert, at=AT)
    with pytest.raises(TrustError, match=r"\(build\)"):
        result.raise_for_failure()


# --- loading -------------------------------------------------------------------------------------


def test_from_directory_reads_every_certificate_file(tmp_path: Path, pki: dict[str, Made]) -> None:
    (tmp_path / "root.pem").write_bytes(pki["root"].cert.to_pem())
    (tmp_path / "inter.DER").write_bytes(pki["inter"].cert.der)
    (tmp_path / "bundle.crt").write_bytes(pki["leaf"].cert.to_pem() + pki["root"].cert.to_pem())
    (tmp_path / "notes.txt").write_text("not a certificate")
    (tmp_path / "sub.pem").mkdir()
    store = TrustStore.from_directory(tmp_path)
    assert {c.der for c in store.anchors} == {
        pki["root"].cert.der,
        pki["inter"].cert.der,
        pki["leaf"].cert.der,
    }
    assert store.validate(pki["leaf"].cert, at=AT).ok


def test_from_directory_names_a_malformed_file(tmp_path: Path, pki: dict[str, Made]) -> None:
    (tmp_path / "good.pem").write_bytes(pki["root"].cert.to_pem())
    (tmp_path / "broken.cer").write_bytes(b"\x30\x03\x02\x01")
    with pytest.raises(InvalidCertificate, match=r"broken\.cer"):
        TrustStore.from_directory(tmp_path)


def test_from_directory_refuses_pem_without_certificates(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(InvalidCertificate, match=r"key\.pem"):
        TrustStore.from_directory(tmp_path)


def test_empty_directory_gives_an_empty_store(tmp_path: Path, pki: dict[str, Made]) -> None:
    store = TrustStore.from_directory(tmp_path)
    assert store.anchors == ()
    step = _failed(store.validate(pki["leaf"].cert, at=AT))
    assert step.name == "build" and "empty" in step.message


def test_missing_directory_and_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        TrustStore.from_directory(tmp_path / "absent")
    with pytest.raises(InvalidCertificate, match=r"absent\.pem"):
        TrustStore.from_files(tmp_path / "absent.pem")


def test_from_files_reads_the_real_certificate() -> None:
    store = TrustStore.from_files(INTEROP / "user_cert.pem")
    assert len(store.anchors) == 1
    assert isinstance(store.anchors[0], Certificate)


def test_errors_are_ecert_errors(tmp_path: Path) -> None:
    (tmp_path / "x.der").write_bytes(b"")
    with pytest.raises(EcertError):
        TrustStore.from_directory(tmp_path)
