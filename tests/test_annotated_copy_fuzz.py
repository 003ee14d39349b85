"""Hostile input to annotated copies: a valid result or an EcertError, never anything else, and a
changed copy never verifies."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import ecert
from ecert.annotate import CopyLimits, CopyMetadata, annotate
from ecert.errors import EcertError, InputError
from ecert.ofd.namespaces import OFD_NS
from ecert.ofd.reader import OFDPackage

from .certs import issued_file, trust_store
from .copies import MADE_AT, MAKER, REASON, UNTIL, copy_of_demo, releasing_signer, rewrite

SOON = MADE_AT + timedelta(days=1)
COPY_ENTRIES = sorted(n for n in OFDPackage.open(copy_of_demo().data).names())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_metadata_from_garbage_bytes(data: bytes) -> None:
    with contextlib.suppress(EcertError):
        CopyMetadata.from_xml(data)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=9),
        max_leaves=20,
    )
)
def test_metadata_from_garbage_json(value: object) -> None:
    with contextlib.suppress(EcertError):
        CopyMetadata.from_dict(value)


def test_metadata_from_dict_with_every_value_changed() -> None:
    good = copy_of_demo().metadata.to_dict()
    assert CopyMetadata.from_dict(json.loads(json.dumps(good))) == copy_of_demo().metadata
    for key in good:
        for bad in ("", " ", "x" * 300, "\u0000", 1, None):
            with pytest.raises(EcertError):
                CopyMetadata.from_dict({**good, key: bad})


@pytest.mark.parametrize(
    "change",
    [
        {"reason": None},
        {"reason": 5},
        {"maker": ""},
        {"until": "2027-01-31"},
        {"until": MADE_AT},
        {"level": "C"},
        {"level": 1},
        {"at": MADE_AT.replace(tzinfo=None)},
        {"limits": 90},
        {"limits": "x"},
        {"copy_id": "x"},
        {"signer": "key.pem"},
        {"original": "cert.ofd"},
        {"original": b""},
        {"trust": "trust/"},
    ],
    ids=lambda c: next(iter(c)) + "=" + repr(next(iter(c.values())))[:20],
)
def test_annotate_refuses_bad_arguments(change: dict[str, object]) -> None:
    args: dict[str, object] = {
        "original": issued_file(),
        "signer": releasing_signer(),
        "reason": REASON,
        "maker": MAKER,
        "until": UNTIL,
        "at": MADE_AT,
    }
    args.update(change)
    original, signer = args.pop("original"), args.pop("signer")
    with pytest.raises(EcertError):
        annotate(original, signer, **args)  # type: ignore[arg-type]


def test_limits_refuse_non_numbers() -> None:
    for bad in ({"max_days": "90"}, {"max_days": True}, {"max_reason": 2.5}, {"min_reason": 0}):
        with pytest.raises(InputError):
            CopyLimits(**bad)  # type: ignore[arg-type]


def _signature_list(ofd: bytes, name: str) -> list[tuple[str | None, str, str | None]]:
    """The signatures an OFD reader finds in the list ``name``: ID, Type (default Sign), BaseLoc."""
    with zipfile.ZipFile(io.BytesIO(ofd)) as z:
        root = etree.fromstring(z.read(name))
    assert root.tag == f"{{{OFD_NS}}}Signatures"
    listed = root.findall(f"{{{OFD_NS}}}Signature")
    return [(el.get("ID"), el.get("Type", "Sign"), el.get("BaseLoc")) for el in listed]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(COPY_ENTRIES), where=st.floats(0, 1), byte=st.integers(1, 255))
def test_any_changed_byte_of_any_file_is_not_valid(name: str, where: float, byte: int) -> None:
    """One byte of any entry changed (the ZIP rewritten, so the change is in the content): never valid,
    never an exception, unless the change leaves the signature list reading exactly as before."""

    def change(data: bytes) -> bytes:
        if not data:
            return b"x"
        i = min(len(data) - 1, int(where * len(data)))
        out = bytearray(data)
        out[i] ^= byte
        return bytes(out)

    original = copy_of_demo().data
    changed = rewrite(original, {name: change})
    report = ecert.verify(changed, trust=trust_store(), at=SOON)
    if report.ok:
        # the signature list is the one unsigned entry: a change that every OFD reader reads as the
        # same list (an unknown attribute, ``Typd="Sign"`` for ``Type="Sign"``: Type defaults to Sign)
        # changes nothing signed, and is not a forgery; anything else that verifies is
        assert name.endswith("Signatures.xml"), f"{name} changed and the copy still verifies"
        assert _signature_list(changed, name) == _signature_list(original, name)


def test_dropping_any_file_is_not_valid() -> None:
    for name in COPY_ENTRIES:
        report = ecert.verify(
            rewrite(copy_of_demo().data, {name: lambda d: None}), trust=trust_store(), at=SOON
        )
        assert not report.ok, name


def test_a_copy_made_of_a_later_date_than_it_was_signed() -> None:
    """Signed now, but claiming another making time (signature and metadata disagree): re-dated."""
    copy = annotate(
        issued_file(), releasing_signer(), reason=REASON, maker=MAKER, until=date(2027, 1, 31), at=MADE_AT
    )
    assert ecert.verify(copy.data, trust=trust_store(), at=SOON).ok
    assert not ecert.verify(copy.data, trust=trust_store(), at=MADE_AT - timedelta(hours=1)).ok
