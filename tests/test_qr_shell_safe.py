"""QR payloads survive a shell unquoted (spec/qr.md): a USB scanner types them, clerks paste them.

New payloads (``EC2:``) use the 41 shell-safe characters ``0-9 A-Z + - . / :``; codes printed
before (``EC1:``, Base45, whose alphabet has space, ``$`` and ``*``) still verify.  Checked with
zxing-cpp decoding the printed symbol and with real shells (``/bin/sh`` and bash) given the
payload unquoted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st

from ecert.crypto.trust import TrustStore
from ecert.errors import InputError, InvalidQRPayload
from ecert.qr.base41 import ALPHABET, b41decode, b41encode
from ecert.qr.base45 import ALPHABET as BASE45_ALPHABET
from ecert.qr.base45 import b45encode
from ecert.qr.image import qr_image, qr_version
from ecert.qr.offline import make_offline
from ecert.qr.payload import LEGACY_OFFLINE_PREFIX, OFFLINE_PREFIX, decode_offline, reference_payload
from ecert.verify.qr import verify_offline

from .certs import NOW, ROOT, SIGNED_AT, draft, hierarchy, signer

# what the brief names as breaking a shell word, plus % (cmd.exe) and every whitespace
FORBIDDEN = set("$`!\"'\\ \t\n;&|<>()*?[]{}~#%=")

# computed by hand from the definition in spec/qr.md (n = c + 41 d + 41² e, least significant first):
# b"AB": n = 0x4142 = 16706 = 19 + 41*(38 + 41*9) -> "J", ".", "9"
# b"\xff\xff": 65535 = 17 + 41*(40 + 41*38) -> "H", ":", "."
# b"\x00": 0 -> "0", "0";  b"\xff": 255 = 9 + 41*6 -> "9", "6"
VECTORS = [(b"AB", "J.9"), (b"\xff\xff", "H:."), (b"\x00", "00"), (b"\xff", "96"), (b"", "")]


@pytest.mark.parametrize(("raw", "text"), VECTORS)
def test_base41_hand_computed_vectors(raw: bytes, text: str) -> None:
    assert b41encode(raw) == text
    assert b41decode(text) == raw


@pytest.mark.parametrize("bad", ["A", "ABCD", "::::", "Z:.", "a0", "$00", "0 0"])
def test_base41_refuses_malformed_text(bad: str) -> None:
    with pytest.raises(InvalidQRPayload):
        b41decode(bad)


@given(st.binary(max_size=300))
def test_base41_round_trip_and_alphabet(data: bytes) -> None:
    text = b41encode(data)
    assert set(text) <= set(ALPHABET)
    assert len(text) == len(b45encode(data))  # exactly as compact as Base45
    assert b41decode(text) == data


def test_the_alphabet_is_shell_safe_and_alphanumeric_mode() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 41
    assert not set(ALPHABET) & FORBIDDEN
    assert set(ALPHABET) <= set(BASE45_ALPHABET)  # the QR alphanumeric set


@pytest.mark.parametrize("kind", ["sm2", "p256", "ed25519"])
def test_a_new_payload_is_shell_safe_decodes_with_zxing_and_verifies(kind: str) -> None:
    payload = make_offline(draft(kind).metadata, signer(kind), at=SIGNED_AT)
    assert payload.startswith(OFFLINE_PREFIX) and not set(payload) & FORBIDDEN
    results = zxingcpp.read_barcodes(  # QR only: a random signature can look like a 1D code too
        qr_image(payload, module_px=4).convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert [r.text for r in results if r.valid] == [payload]
    h = hierarchy(kind)
    report = verify_offline(
        results[0].text,
        trust=TrustStore.from_certificates(h.root_cert),
        certificates=(h.issuer_cert,),
        at=NOW,
    )
    assert report.ok, report.to_text()


def _legacy(payload: str) -> str:
    """The same signed record written as codes were printed before this alphabet (``EC1:`` Base45)."""
    return LEGACY_OFFLINE_PREFIX + b45encode(b41decode(payload[len(OFFLINE_PREFIX) :]))


def test_codes_printed_before_still_verify_and_are_no_smaller() -> None:
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    old = _legacy(payload)
    assert set(old) & set("$ *%"), "the sample should show why the alphabet changed"
    assert decode_offline(old) == decode_offline(payload)
    assert qr_version(payload) <= qr_version(old)
    h = hierarchy()
    trust = TrustStore.from_certificates(h.root_cert)
    assert verify_offline(old, trust=trust, certificates=(h.issuer_cert,), at=NOW).ok
    decoded = zxingcpp.read_barcodes(  # QR only: a random signature can look like a 1D code too
        qr_image(old, module_px=4).convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert verify_offline(decoded[0].text, trust=trust, certificates=(h.issuer_cert,), at=NOW).ok


def _trust_dir(tmp_path: Path) -> Path:
    d = tmp_path / "trust"
    (d / "issuers").mkdir(parents=True)
    (d / "root.pem").write_bytes(hierarchy().root_cert.to_pem())
    (d / "issuers" / "issuer.pem").write_bytes(signer().certificate.to_pem())
    return d


def _shell(command: str, shell: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "LANG": "C.UTF-8"}
    return subprocess.run(
        command, shell=True, executable=shell, capture_output=True, text=True, env=env, input=stdin,
        timeout=120, check=False,
    )


SHELLS = [s for s in ("/bin/sh", shutil.which("bash") or "") if s and Path(s).exists()]


@pytest.mark.parametrize("shell", SHELLS)
def test_an_unquoted_payload_in_a_real_shell(tmp_path: Path, shell: str) -> None:
    """``ecert verify --qr EC2:...`` typed as it is, and a scanner's lines piped into ``--qr -``."""
    payload = make_offline(draft().metadata, signer(), at=SIGNED_AT)
    trust = _trust_dir(tmp_path)
    base = f"{sys.executable} -m ecert verify --trust {trust} --at {NOW.date()} --lang en --qr"
    done = _shell(f"{base} {payload}", shell)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("VALID: ")
    echoed = _shell(f"echo {payload} | {base} -", shell)
    assert echoed.returncode == 0 and echoed.stdout.startswith("VALID: "), echoed.stdout + echoed.stderr
    # the same code in the old alphabet, unquoted, is mangled by the shell: why the alphabet changed
    broken = _shell(f"{base} {_legacy(payload)}", shell)
    assert broken.returncode != 0


def test_a_reference_prefix_a_shell_would_break_on_is_refused() -> None:
    ref = reference_payload("HTTPS://ZZ.EXAMPLE.GOV.CN/V/", "1.2.156.3005.2.X", b"\x01" * 32)
    assert not set(str(ref)) & FORBIDDEN
    for bad in ("https://x.gov.cn/v?id=", "HTTPS://X/#", "HTTPS://X/$A", "A B"):
        with pytest.raises(InputError):
            reference_payload(bad, "1.2.156.3005.2.X", b"\x01" * 32)
