"""The layers of docs/architecture.md hold in the code: no module imports from a layer above its own.

The table in the document is the source: each top-level module named in its "modules" column gets that
row's layer (names in parentheses explain a module's parts and do not count). Every import in
``src/ecert`` counts, including imports inside functions (they are still dependencies); only
``if TYPE_CHECKING:`` blocks are left out. A new top-level module must be given a layer in the document.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ecert"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def _top_level_modules() -> set[str]:
    files = {p.stem for p in PACKAGE.glob("*.py")}
    packages = {p.name for p in PACKAGE.iterdir() if any(p.glob("*.py"))}  # qr/ is a namespace package
    return (files | packages) - {"__init__"}


def _outside_parentheses(text: str) -> str:
    """The cell without its explanations: ``a`` (``b``, ...) names ``a`` only."""
    depth, kept = 0, []
    for char in text:
        depth += char == "("
        if depth == 0:
            kept.append(char)
        depth -= char == ")" and depth > 0
    return "".join(kept)


def documented_layers() -> dict[str, int]:
    """Module name → layer, read from the architecture table's rows ``| N | modules | knows about |``."""
    known = _top_level_modules()
    layers: dict[str, int] = {}
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        row = re.match(r"\|\s*(\d+)\s*\|(.*?)\|[^|]*\|\s*$", line)
        if row is None:
            continue
        layer = int(row.group(1))
        for name in re.findall(r"`([a-z_]+)`", _outside_parentheses(row.group(2))):
            if name in known:
                assert name not in layers, f"docs/architecture.md gives {name} two layers"
                layers[name] = layer
    return layers


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import of an ``ecert`` module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    package = ["ecert", *parts[:-1]]  # a.py's and a/__init__.py's own package alike
    skip = _type_checking_lines(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and node.lineno not in skip:
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.lineno not in skip:
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("ecert.")]


def _layer_of(dotted: str, layers: dict[str, int]) -> int | None:
    return layers.get(dotted.split(".")[1])


def test_every_top_level_module_has_a_documented_layer() -> None:
    missing = _top_level_modules() - set(documented_layers()) - {"__main__"}
    assert not missing, f"give these a layer in docs/architecture.md: {sorted(missing)}"


def test_no_module_imports_from_a_higher_layer() -> None:
    layers = {**documented_layers(), "__main__": 9}
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue  # the package's lazy name table points at every layer by design
        own = layers[parts[0]]
        for line, name in imports(path):
            theirs = _layer_of(name, layers)
            if theirs is not None and theirs > own:
                upward.append(
                    f"{path.relative_to(PACKAGE)}:{line} (layer {own}) imports {name} (layer {theirs})"
                )
    assert not upward, "\n".join(upward)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk above must find relative, nested and aliased imports, or the test could not fail."""
    layers = documented_layers()
    assert layers["errors"] == 0 and layers["crypto"] == 1 and layers["verify"] == 6 and layers["cli"] == 9
    assert layers["share"] == 7 and layers["verdict"] == 7  # not the web sub-modules of the same names
    sample = PACKAGE / "crypto" / "_layer_probe.py"
    probe = "def f():\n    from ..verify import report\n    import ecert.web.share as s\n"
    try:
        sample.write_text(probe, encoding="utf-8")
        assert imports(sample) == [(2, "ecert.verify.report"), (3, "ecert.web.share")]
    finally:
        sample.unlink()
