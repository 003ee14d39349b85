"""ecert: China's government electronic certificates and licences (电子证照).

Data flows one way: a source record -> :func:`collect` -> ``CertificateDraft`` ->
:func:`package` -> signed OFD bytes -> :func:`verify` -> ``VerificationReport``.

Names below are imported lazily (on first use) so that ``import ecert`` stays cheap and a
script that only checks codes does not load the OFD, crypto or image layers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ecert import errors as _errors
from ecert.errors import __all__ as _error_names

if TYPE_CHECKING:
    from ecert.errors import *  # noqa: F403  (the hierarchy is part of the top-level API)

# the error hierarchy, but InvalidSignature (made on first use, see ecert.errors) in _LAZY below
globals().update({n: getattr(_errors, n) for n in _error_names if n != "InvalidSignature"})

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None means the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    "Identifier": ("ecert.identifier", "Identifier"),
    "CoreMetadata": ("ecert.metadata", "CoreMetadata"),
    "catalog": ("ecert.catalog", None),
    "CertificateType": ("ecert.catalog", "CertificateType"),
    "collect_csv": ("ecert.collect", "collect_csv"),
    "CertificateDraft": ("ecert.collect", "CertificateDraft"),
    "Issuer": ("ecert.package", "Issuer"),
    "VerificationReport": ("ecert.verify", "VerificationReport"),
    "qr": ("ecert.qr", None),
    "issue_batch": ("ecert.batch", "issue_batch"),
    "verify_file": ("ecert.app", "verify_file"),  # ecert.verify takes bytes; this one a path
    "verify_qr": ("ecert.app", "verify_qr_input"),  # a QR payload's text, or a scan of it
    "InvalidSignature": ("ecert.errors", "InvalidSignature"),
}

__all__ = [*_error_names, *(n for n in _LAZY if n not in _error_names), "__version__", "collect", "package",
           "render", "verify"]


# ``collect``, ``package``, ``render`` and ``verify`` are submodules that are also the functions users
# call (``ecert.verify(data, trust=...)``): each makes itself callable (``ecert._callable``), so the
# attribute is the module however it was reached, imported on first use like the names above.
_CALLABLE_MODULES = frozenset({"collect", "package", "render", "verify"})

if TYPE_CHECKING:  # what a type checker sees: the functions (calling the module calls them)
    from ecert.collect import collect as collect
    from ecert.package import package as package
    from ecert.render import render as render
    from ecert.verify import verify as verify


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_MODULES:
        return importlib.import_module(f"ecert.{name}")  # the import binds the attribute
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'ecert' has no attribute {name!r}")
    module_name, attribute = target
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
