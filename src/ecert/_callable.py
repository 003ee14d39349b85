"""Modules that are also the function they are named after (``ecert.verify(data, trust=...)``).

``collect``, ``package``, ``render`` and ``verify`` are both submodules of :mod:`ecert` and the
functions users call.  Importing any submodule binds the package attribute to the module, so a
name rebound to the function at import time is undone by a later ``import ecert.verify.report``,
and importing the four eagerly to rebind them made ``import ecert`` load every layer (a third of a
second before ``ecert id check`` could start).  Instead each of these modules turns itself into a
callable module: ``ecert.verify`` is the module, whichever way and in whichever order it was
imported, and calling it calls the function.  Layer 0: imports nothing of ecert.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["make_callable"]


class CallableModule(types.ModuleType):
    """A module whose call is its function's (``__call_target__``); ``inspect.signature`` shows it."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__dict__["__call_target__"](*args, **kwargs)

    @property
    def __signature__(self) -> Any:
        import inspect

        return inspect.signature(self.__dict__["__call_target__"])


def make_callable(module_name: str, function: Callable[..., Any]) -> None:
    """Make the (imported, being imported) module ``module_name`` call ``function`` when called."""
    module = sys.modules[module_name]
    module.__dict__["__call_target__"] = function
    module.__class__ = CallableModule
