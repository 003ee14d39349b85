"""Every public function and class of the public API says why, its parameters, what it returns and
which errors it raises (the API reference is built from these docstrings, docs/api.md).

The public API is what ``ecert`` exports and what docs/api.md documents (``::: module.name``; a
whole module means its ``__all__``).  A function whose own body raises an ``EcertError`` subclass
(a ``raise`` statement naming one) must have a ``:raises`` line for each; every parameter gets a
``:param name:`` line; a function returning something says so (``:returns:``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ecert
import ecert.errors

from .certs import ROOT

API_MD = ROOT / "docs" / "api.md"
ERRORS = {
    name
    for name, value in vars(ecert.errors).items()
    if isinstance(value, type) and issubclass(value, ecert.errors.EcertError)
}


def _documented_names() -> list[str]:
    names = [f"ecert.{n}" for n in ecert.__all__ if n not in ERRORS and not n.startswith("__")]
    names += re.findall(r"^::: ([\w.]+)", API_MD.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return list(dict.fromkeys(names))


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise AssertionError(f"{dotted} does not resolve")


def _public_objects() -> Iterator[tuple[str, Any]]:
    """(name, object) for every function, class and public method of the public API."""
    seen: set[int] = set()
    for dotted in _documented_names():
        obj = _resolve(dotted)
        if inspect.ismodule(obj):
            members = [(f"{obj.__name__}.{n}", getattr(obj, n)) for n in getattr(obj, "__all__", ())]
            if callable(obj):  # a callable module (ecert.collect): the function it calls
                members.append((dotted, _resolve(f"{obj.__name__}.{obj.__name__.rsplit('.', 1)[1]}")))
        else:
            members = [(dotted, obj)]
        for name, member in members:
            if id(member) in seen or not (inspect.isfunction(member) or inspect.isclass(member)):
                continue
            if not getattr(member, "__module__", "").startswith("ecert"):
                continue
            seen.add(id(member))
            yield name, member
            if inspect.isclass(member) and not issubclass(member, BaseException):
                for attr, value in vars(member).items():
                    if attr.startswith("_") or attr in ("to_dict",):
                        continue
                    func = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
                    if inspect.isfunction(func) and id(func) not in seen:
                        seen.add(id(func))
                        yield f"{name}.{attr}", func


def _raised_errors(func: Callable[..., Any]) -> set[str]:
    """Names of EcertError subclasses the function's own body raises."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return set()
    tree = ast.parse(source)
    found = set()
    top = tree.body[0]
    for node in ast.walk(top):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not top:
            continue  # a nested function raises for itself
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
            if name in ERRORS:
                found.add(name)
    return found


def _problems(name: str, obj: Any) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return [f"{name}: no docstring"]
    if inspect.isclass(obj):
        return []
    out = []
    try:
        params = [
            p
            for p in inspect.signature(obj).parameters.values()
            if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    missing = [p.name for p in params if not re.search(rf":param {p.name}:", doc)]
    if missing:
        out.append(f"{name}: no ':param' for {', '.join(missing)}")
    raised = {e for e in _raised_errors(obj) if not re.search(rf":raises \S*{e}\b", doc)}
    if raised:
        out.append(f"{name}: raises {', '.join(sorted(raised))} without a ':raises' line")
    returns = inspect.signature(obj).return_annotation
    says_what = re.search(r":returns?:", doc) or doc.splitlines()[0].startswith(("The ", "A ", "An "))
    if returns not in ("None", None, inspect.Signature.empty) and not says_what:
        out.append(f"{name}: no ':returns:'")
    return out


def test_the_walk_finds_the_api() -> None:
    names = {name for name, _ in _public_objects()}
    assert {"ecert.collect.collect", "ecert.verify_file", "ecert.verdict.verdict_line"} <= names
    assert len(names) > 40


@pytest.mark.parametrize("name", [n for n, _ in _public_objects()])
def test_public_api_docstrings(name: str) -> None:
    obj = dict(_public_objects())[name]
    assert not _problems(name, obj), "\n".join(_problems(name, obj))


def test_the_checker_catches_what_it_should() -> None:
    def undocumented(x: int) -> int:
        return x

    def raises_silently(x: int) -> int:
        """Why.

        :param x: a number.
        :returns: it.
        """
        if x:
            raise ecert.errors.InputError("bad")
        return x

    assert _problems("u", undocumented) == ["u: no docstring"]
    assert _problems("r", raises_silently) == ["r: raises InputError without a ':raises' line"]
    assert Path(API_MD).is_file()
