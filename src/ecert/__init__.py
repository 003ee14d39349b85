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

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "Identifier": "ecert.identifier",
    "CoreMetadata": "ecert.metadata",
    "catalog": "ecert.catalog",
    "CertificateType": "ecert.catalog",
    "collect": "ecert.collect",
    "collect_csv": "ecert.collect",
    "CertificateDraft": "ecert.collect",
    "package": "ecert.package",
    "Issuer": "ecert.package",
    "verify": "ecert.verify",
    "VerificationReport": "ecert.verify",
    "render": "ecert.render",
    "issue_batch": "ecert.registry.batch",
}

__all__ = [*_error_names, *_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'ecert' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value

