"""ecert: China's government electronic certificates and licences (电子证照).

Data flows one way: a source record -> :func:`collect` -> ``CertificateDraft`` ->
:func:`package` -> signed OFD bytes -> :func:`verify` -> ``VerificationReport``.

Names below are imported lazily so that ``import ecert`` stays cheap and a
script that only checks codes does not load the OFD or crypto layers.
"""

from __future__ import annotations

import importlib
from typing import Any

from ecert.errors import *  # noqa: F403  (the hierarchy is part of the top-level API)
from ecert.errors import __all__ as _error_names

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
}

__all__ = [*_error_names, *_LAZY, "__version__", "collect", "package", "render", "verify"]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'ecert' has no attribute {name!r}")
    module_name, attribute = target
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value



# ``collect``, ``package``, ``render`` and ``verify`` are both submodules and the functions users
# call (``ecert.verify(data, trust=...)``).  Importing a submodule sets the package attribute to the
# module, so these four are imported here, once, and the names rebound to the functions.
from ecert.collect import collect  # noqa: E402
from ecert.package import package  # noqa: E402
from ecert.render import render  # noqa: E402
from ecert.verify import verify  # noqa: E402
