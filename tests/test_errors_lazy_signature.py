"""``ecert.errors.InvalidSignature`` is made on first use and is then one class everywhere.

It subclasses cryptography's ``InvalidSignature`` (callers catch either), and importing cryptography
cost a process that only checks codes a tenth of its start-up, so the class is made when first
asked for: these tests hold it to being a single class, reachable by every path, picklable.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature

import ecert
from ecert import errors


def test_one_class_by_every_path() -> None:
    from ecert.errors import InvalidSignature

    assert InvalidSignature is errors.InvalidSignature is ecert.InvalidSignature
    assert issubclass(InvalidSignature, CryptographyInvalidSignature)
    assert issubclass(InvalidSignature, errors.EcertError)
    assert "InvalidSignature" in errors.__all__ and "InvalidSignature" in ecert.__all__


def test_raised_by_the_primitives_and_caught_as_cryptographys() -> None:
    from ecert.crypto.algorithms import SignatureAlgorithm
    from ecert.crypto.keys import generate_private_key

    key = generate_private_key("sm2")
    signature = key.sign(b"data")
    try:
        key.public_key().verify(signature, b"other data", SignatureAlgorithm.SM2_SM3)
    except CryptographyInvalidSignature as exc:
        assert type(exc) is errors.InvalidSignature
    else:
        raise AssertionError("a wrong signature verified")


def test_pickled_by_name() -> None:
    exc = errors.InvalidSignature("signature does not verify")
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is errors.InvalidSignature and str(again) == str(exc)


def test_made_once_under_threads() -> None:
    code = (
        "import threading, ecert.errors as e\n"
        "seen = []\n"
        "ts = [threading.Thread(target=lambda: seen.append(e.InvalidSignature)) for _ in range(16)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "assert len({id(c) for c in seen}) == 1, seen\n"
        "import sys; assert 'cryptography' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_ecert_does_not_load_cryptography() -> None:
    code = "import sys, ecert, ecert.errors, ecert.codes; assert 'cryptography' not in sys.modules, 'loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_names_still_raise_attribute_error() -> None:
    try:
        errors.NoSuchError  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("an unknown name was found")
