"""The figure store: the pictures the pages showed, kept per region so that the Word report need not draw
them again.

A page's figure cell is one call of a page function (``income.income_trend_figure(ctx)``); the notebook
shows its figure as a PNG at 220 dpi with the figure's title in the output's metadata
(:func:`analysis.reporting.plots.picture`). After a notebook ran, the runner keeps those pictures
(:func:`record`):

* ``<region folder>/.figures/<notebook>.json``: for each figure id (the page function's qualified name,
  ``analysis.reporting.income.income_trend_figure``) its picture file, title and display size, and the
  inputs the pictures were drawn from (:func:`key`);
* ``<region folder>/.figures/<notebook>.<sha256>.png``: the pictures, named by their content; the same
  figures as on the page, so nothing the page does not show.

The Word report (:mod:`analysis.publish.documents`) asks the :class:`Store` for the figure of each page
function it calls and gets it only when it is *fresh*: drawn for the same region, language and years, from
the same stored tables (``results/steps.json`` and ``sources.json``) and analysis code, by a notebook that
showed no study specification other than the build's (:func:`build_specs`) and took no parameter beyond
the runner's own. Otherwise the report draws the figure itself, with the same :func:`picture` the pages
use. A hidden folder keeps the published site tidy; the pictures in it are those of the pages.

Examples
--------
>>> from analysis.publish import figures
>>> store = figures.Store.open("reports/北岭县", figures.key("北岭县", "zh", [2020, 2024],
...                                                      figures.inputs("data/processed")))  # doctest: +SKIP
>>> store.get(functools.partial(income.income_trend_figure, ctx))  # doctest: +SKIP
(b'\\x89PNG...', '人均可支配收入')
"""
from __future__ import annotations

import ast
import base64
import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from analysis.core.files import atomic_write, sha256_file

FOLDER = ".figures"
#: Notebook parameters a record's key covers (the runner's own, and the years): any other parameter may
#: change what a page draws, so its pictures are not kept.
KEYED_PARAMETERS = ("region", "lang", "data_dir", "output_dir", "years")


# ---------------------------------------------------------------------------------------------- keys
def figure_id(call: Callable) -> str | None:
    """The id of the figure a page-function call draws: the function's qualified name
    (``functools.partial`` calls only; None for anything else)."""
    func = call.func if isinstance(call, functools.partial) else None
    if func is None or not getattr(func, "__module__", None):
        return None
    return f"{func.__module__}.{func.__qualname__}"


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes; '' when there is no such file."""
    return sha256_file(path) if path.is_file() else ""


def inputs(data_dir: str | Path, code: str | None = None) -> dict:
    """What every figure of a data folder depends on besides its region, language and years: the stored
    tables' build steps and input files, and the analysis code (``code``: a :func:`pipeline.code_hash`
    already computed)."""
    from analysis import build
    from analysis.publish.pipeline import code_hash
    folder = Path(data_dir)
    return {"steps": file_hash(build.results_dir(folder) / "steps.json"),
            "sources": file_hash(folder / "sources.json"), "code": code or code_hash()}


def key(region: str, lang: str, years: Sequence[int], inputs: Mapping) -> dict:
    """The inputs a region's figures were drawn from (:func:`inputs`), as a record stores them."""
    return {"region": region, "lang": lang, "years": [int(y) for y in years], **inputs}


def build_specs() -> list[dict]:
    """The build's study specifications, as a notebook shows them (``Spec._repr_mimebundle_``, read back
    from JSON)."""
    from analysis import build
    return [_json({"spec": type(s.spec).__name__, **s.spec.as_dict()}) for s in build.STEPS if s.spec is not None]


def _json(value):
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


# ------------------------------------------------------------------------------------------ recording
def _imports(tree: ast.Module) -> dict[str, str]:
    """Names bound by the imports of a cell: ``from analysis.reporting import income`` -> income."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            names.update({a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
                          for a in node.names})
    return names


def _call_id(tree: ast.Module, modules: Mapping[str, str]) -> str | None:
    """The figure id of a cell that is one call ``module.function(name, ...)`` of an imported module."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and call.func.value.id in modules
            and all(isinstance(a, ast.Name) for a in call.args) and not call.keywords):
        return None
    return f"{modules[call.func.value.id]}.{call.func.attr}"


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:   # a magic or shell line
        return None


def shown(nb) -> dict[str, tuple[str, dict]]:
    """The figures an executed notebook showed: figure id -> (base64 PNG, metadata with ``title``), for
    each cell that is one page-function call and shows exactly one picture; an id called twice is left out."""
    modules: dict[str, str] = {}
    found: dict[str, tuple[str, dict]] = {}
    twice: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = _parse(cell.source)
        if tree is None:
            continue
        modules.update(_imports(tree))
        name = _call_id(tree, modules)
        pictures = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if name is None or len(pictures) != 1:
            continue
        if name in found:
            twice.add(name)
        metadata = dict(pictures[0].get("metadata", {}).get("image/png", {}))
        found[name] = (pictures[0]["data"]["image/png"], metadata)
    return {k: v for k, v in found.items() if k not in twice}


def _literal(value):
    try:
        return ast.literal_eval(value) if isinstance(value, str) else value
    except (ValueError, SyntaxError):
        return None


def run_parameters(nb) -> dict:
    """The parameters an executed notebook ran with: its parameters cell's literal values, then those the
    runner injected (papermill's record)."""
    values = {}
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    tree = _parse(cell.source) if cell is not None else None
    for node in tree.body if tree is not None else []:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if isinstance(target, ast.Name) and node.value is not None:
            values[target.id] = _literal(ast.get_source_segment(cell.source, node.value))
    return {**values, **nb.metadata.get("papermill", {}).get("parameters", {})}


def record(region_dir: str | Path, region: str, notebook: str, nb, *, lang: str, inputs: Mapping,
           specs: Sequence[Mapping]) -> int:
    """Keep the pictures an executed notebook showed in ``region_dir/.figures`` (see the module's notes) and
    return how many. None are kept (and an earlier record of the notebook is removed) when the notebook
    took a parameter its key does not cover (:data:`KEYED_PARAMETERS`) or showed a study specification
    that is not one of the build's (``specs``, :func:`build_specs`): its figures are then not the report's."""
    from analysis.publish.pipeline import specifications
    folder = Path(region_dir) / FOLDER
    index = folder / f"{notebook}.json"
    pictures = shown(nb)
    injected = nb.metadata.get("papermill", {}).get("parameters", {})
    years = run_parameters(nb).get("years")
    usable = (set(injected) <= set(KEYED_PARAMETERS) and all(_json(s) in specs for s in specifications(nb))
              and isinstance(years, list) and len(years) == 2 and all(isinstance(y, int) for y in years))
    if usable and pictures:
        folder.mkdir(parents=True, exist_ok=True)
        entries = {}
        for name, (data, metadata) in pictures.items():
            png = base64.b64decode(data)
            # named by notebook and content: runs of a region's other notebooks may write beside it meanwhile
            file = f"{notebook}.{hashlib.sha256(png).hexdigest()[:24]}.png"
            if not (folder / file).is_file():
                atomic_write(folder / file, png)
            entries[name] = {"file": file, **{k: metadata[k] for k in ("title", "width", "height")
                                              if k in metadata}}
        atomic_write(index, json.dumps({"key": key(region, lang, years, inputs), "figures": entries},
                                       ensure_ascii=False, indent=1) + "\n")
    else:
        entries = {}
        index.unlink(missing_ok=True)
    _tidy(folder, notebook, {e["file"] for e in entries.values()})
    return len(entries)


def forget(region_dir: str | Path, notebook: str) -> None:
    """Remove a notebook's record and pictures (its run failed: what it showed may be incomplete)."""
    folder = Path(region_dir) / FOLDER
    (folder / f"{notebook}.json").unlink(missing_ok=True)
    _tidy(folder, notebook, set())


def _tidy(folder: Path, notebook: str, keep: set[str]) -> None:
    """Remove the notebook's pictures its record does not name (an earlier run's); a notebook name has no
    '.', so ``<notebook>.*.png`` are its pictures only."""
    for png in folder.glob(f"{notebook}.*.png") if folder.is_dir() else []:
        if png.name not in keep:
            png.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------ use
@dataclass(frozen=True)
class Store:
    """The fresh pictures of one region: figure id -> (picture file, title)."""

    folder: Path
    figures: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def open(cls, region_dir: str | Path, wanted: Mapping) -> Store:
        """The pictures of the records in ``region_dir/.figures`` whose key equals ``wanted`` (:func:`key`)."""
        folder = Path(region_dir) / FOLDER
        figures = {}
        for index in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                stored = json.loads(index.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if stored.get("key") != dict(wanted):
                continue
            figures.update({name: (e["file"], e.get("title", "")) for name, e in stored["figures"].items()})
        return cls(folder, figures)

    def get(self, call: Callable) -> tuple[bytes, str] | None:
        """(PNG, title) the page showed for the figure ``call`` draws, or None when there is none fresh."""
        name = figure_id(call)
        if name is None or name not in self.figures:
            return None
        file, title = self.figures[name]
        try:
            return (self.folder / file).read_bytes(), title
        except OSError:
            return None

    def __len__(self) -> int:
        return len(self.figures)
