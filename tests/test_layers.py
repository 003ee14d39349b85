"""The layers of docs/architecture.md hold: no module imports from a higher layer.

Read from the source (``ast``), so a lazy import inside a function counts as much as one at the
top: the rule is about what a layer knows, not about when Python loads it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ecert"

# top-level module or package -> layer (docs/architecture.md; face is the face of a draft, with render)
LAYER = {
    "errors": 0, "times": 0, "png": 0, "_callable": 0, "spec": 0,
    "codes": 1, "crypto": 1,
    "identifier": 2, "ofd": 2,
    "metadata": 3, "catalog": 3,
    "collect": 4,
    "layout": 5, "package": 5, "qr": 5, "render": 5, "paint": 5, "face": 5,
    "verify": 6, "registry": 6, "annotate": 6,
    "app": 7, "batch": 7, "verdict": 7, "demo": 7, "share": 7, "exchange": 7,
    "web": 8,
    "cli": 9, "__main__": 9,
}
# known upward imports, each to be removed (not to be added to): the offline QR module both makes a
# payload (layer 5, for package) and verifies one with the verify layer's report and checks
KNOWN = {("qr/offline.py", "verify")}


def _imports(path: Path) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        out += [(node.lineno, name.split(".")[1]) for name in names if name.startswith("ecert.")]
    return out


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] != "__init__.py")


def test_every_module_has_a_layer() -> None:
    tops = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in _modules()}
    assert tops <= set(LAYER), f"add to LAYER (and docs/architecture.md): {sorted(tops - set(LAYER))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_upward_import(path: Path) -> None:
    rel = path.relative_to(SRC)
    mine = LAYER[rel.parts[0].removesuffix(".py")]
    upward = [
        f"line {line}: ecert.{top} (layer {LAYER[top]})"
        for line, top in _imports(path)
        if LAYER.get(top, -1) > mine and (rel.as_posix(), top) not in KNOWN
    ]
    assert not upward, f"{rel} (layer {mine}) imports upward: {upward}"


def test_package_does_not_know_verify() -> None:
    """Issue 18: the packager read the attachment name from the verifier (layer 5 importing 6)."""
    tops = {top for _, top in _imports(SRC / "package.py")}
    assert "verify" not in tops
