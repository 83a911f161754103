"""The package's layers only look down: a module imports from its own layer or the layers below it.

Layers, lowest first (``docs/architecture.md`` draws them):

0. ``errors``, ``config``, ``core``: shared mechanisms, no knowledge of the data;
1. ``io``: reading exports, parsing, schema, ingest, privacy, synthetic data, processed tables;
2. ``measures`` and ``estimators``: indicators by region x year, and the impact estimators (siblings:
   neither imports the other);
3. ``studies``: a question answered for all regions under a specification;
4. ``build``: declared steps that store every result table;
5. ``reporting``: reads stored tables and renders pages (no estimation);
6. ``publish``: the runner, the report site and the command line.

Imports are read from the source with ``ast`` (inside functions too), so a lazy import cannot hide.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "analysis"

LAYERS = {"base": 0, "io": 1, "measures": 2, "estimators": 2, "studies": 3,
          "build": 4, "reporting": 5, "publish": 6, "__main__": 7, "__init__": 7}


#: The shared mechanisms are one layer, whichever of the three packages holds them.
BASE = {"errors", "config", "core"}


def _layer(module: str) -> str:
    """``analysis.io.ingest`` -> ``io``; ``analysis.build`` -> ``build``; ``analysis.core.files`` -> ``base``."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "__init__"
    return "base" if name in BASE else name


def _module_name(path: Path) -> str:
    return ".".join(("analysis", *path.relative_to(PACKAGE).with_suffix("").parts))


def _imports(path: Path) -> list[tuple[int, str]]:
    return _imports_in(path.read_text(encoding="utf-8"), _module_name(path))


def _imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """(line, imported project module) for every import in ``source`` of module ``package``."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("analysis")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module == "analysis":
                found += [(node.lineno, f"analysis.{a.name}") for a in node.names]
            elif module.startswith("analysis."):
                found += [(node.lineno, module)]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_belongs_to_a_layer():
    unknown = sorted({_layer(".".join(("analysis", *p.relative_to(PACKAGE).with_suffix("").parts)))
                      for p in MODULES} - set(LAYERS))
    assert not unknown, f"modules outside the declared layers: {unknown}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_only_look_down(path):
    own = _layer(_module_name(path))
    upward = _upward(path.read_text(encoding="utf-8"), _module_name(path))
    assert not upward, f"{path.name} ({own}) imports from a layer above or beside it: {upward}"


def test_no_private_name_crosses_modules():
    crossing = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("analysis"):
                crossing += [f"{path.relative_to(PACKAGE)}:{node.lineno} {a.name}" for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
    assert not crossing, f"private names imported across modules: {crossing}"


def _upward(source: str, module: str) -> list[str]:
    own = _layer(module)
    return [m for _, m in _imports_in(source, module)
            if LAYERS[_layer(m)] > LAYERS[own] or (LAYERS[_layer(m)] == LAYERS[own] and _layer(m) != own)]


def test_the_check_can_fail():
    """Upward, sideways and lazy imports are caught; downward and same-package ones pass."""
    assert _upward("from analysis.reporting import page\n", "analysis.measures.poverty") == ["analysis.reporting"]
    assert _upward("def f():\n    from analysis import build\n", "analysis.studies.training") == ["analysis.build"]
    assert _upward("from analysis.estimators import impact\n", "analysis.measures.labour") == [
        "analysis.estimators"]
    assert _upward("from analysis.io import data\nfrom . import spec\n", "analysis.studies.training") == []
