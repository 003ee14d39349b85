"""Tampering with a signed certificate file must never leave it valid (issue: packaging).

Each kind of change is applied systematically — to every file, every byte of Signature.xml,
every byte of the signature value — and the failing check is named.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from ecert.verify import verify

from .certs import NOW, issued_file, other_department_file, trust_store

SIGN_DIR = "Doc_0/Signs/Sign_0/"


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(zipfile.ZipInfo(name, (2000, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _failed(data: bytes) -> set[str]:
    report = verify(data, trust=trust_store(), at=NOW)
    assert not report.ok, report.to_text()
    return {c.name for c in report.failures} | set(report.missing_required)


def test_untouched_file_is_valid() -> None:
    report = verify(issued_file(), trust=trust_store(), at=NOW)
    assert report.ok, report.to_text()
    assert report.metadata is not None


def _content_files() -> list[str]:
    return sorted(
        n for n in _entries(issued_file()) if not n.startswith(SIGN_DIR) and not n.endswith("Signatures.xml")
    )


@pytest.mark.parametrize("name", _content_files())
def test_changing_any_file_fails_references(name: str) -> None:
    entries = _entries(issued_file())
    entries[name] = entries[name] + b" "
    assert "references" in _failed(_zip(entries))


@pytest.mark.parametrize("name", _content_files())
def test_removing_any_file_fails(name: str) -> None:
    entries = _entries(issued_file())
    del entries[name]
    failed = _failed(_zip(entries))
    assert failed & {"references", "package", "signatures"}


@pytest.mark.parametrize("name", _content_files())
def test_renaming_any_file_fails(name: str) -> None:
    entries = _entries(issued_file())
    entries[name + ".renamed"] = entries.pop(name)
    failed = _failed(_zip(entries))
    assert failed & {"references", "package", "signatures", "coverage"}


@pytest.mark.parametrize(
    "where", ["Doc_0/extra.xml", "Doc_0/Res/evil.png", SIGN_DIR + "extra.dat", "extra.txt"]
)
def test_adding_a_file_fails_coverage(where: str) -> None:
    entries = _entries(issued_file())
    entries[where] = b"<x/>"
    assert "coverage" in _failed(_zip(entries))


def test_every_byte_of_signature_xml_matters() -> None:
    entries = _entries(issued_file())
    original = entries[SIGN_DIR + "Signature.xml"]
    for i in range(len(original)):
        mutated = bytearray(original)
        mutated[i] ^= 0x01
        entries[SIGN_DIR + "Signature.xml"] = bytes(mutated)
        report = verify(_zip(entries), trust=trust_store(), at=NOW)
        assert not report.ok, f"byte {i} of Signature.xml"


def test_every_byte_of_the_signature_value_matters() -> None:
    entries = _entries(issued_file())
    original = entries[SIGN_DIR + "SignedValue.dat"]
    step = 1 if len(original) < 600 else 3  # the CMS is ~1.5 KB: every third byte keeps the test fast
    for i in range(0, len(original), step):
        mutated = bytearray(original)
        mutated[i] ^= 0x80
        entries[SIGN_DIR + "SignedValue.dat"] = bytes(mutated)
        report = verify(_zip(entries), trust=trust_store(), at=NOW)
        assert not report.ok, f"byte {i} of SignedValue.dat"


def test_truncated_files_fail() -> None:
    data = issued_file()
    for cut in range(0, len(data), max(1, len(data) // 60)):
        report = verify(data[:cut], trust=trust_store(), at=NOW)
        assert not report.ok


def test_another_departments_signature_swapped_in_fails() -> None:
    mine, theirs = _entries(issued_file()), _entries(other_department_file())
    for name in (SIGN_DIR + "Signature.xml", SIGN_DIR + "SignedValue.dat"):
        mine[name] = theirs[name]
    assert {"references"} & _failed(_zip(mine))


def test_whole_signature_folder_swapped_in_fails() -> None:
    mine, theirs = _entries(issued_file()), _entries(other_department_file())
    for name in [n for n in mine if n.startswith("Doc_0/Signs/")]:
        del mine[name]
    mine.update({n: d for n, d in theirs.items() if n.startswith("Doc_0/Signs/")})
    assert "references" in _failed(_zip(mine))
