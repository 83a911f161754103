"""The report site: region pages as self-contained HTML, ``reports/index.html``, the run summary and manifest.

Every page works opened from disk with no network (no CDN scripts, stylesheets or fonts; figures are
embedded), and every file is written atomically (a temporary name in the same folder, then
``os.replace``), so an interrupted run leaves either the previous complete file or the new one.

The manifest records what is needed to trace any figure back and re-run it (the practice of Wilson et al.
2017, "Good enough practices in scientific computing", and of the DIME Analytics Data Handbook): a hash of
the input data, the parameters, the package versions with the hash of the lock file that pinned them
(``requirements.lock``, installed by ``make env``), the git commit and the run's start and end time.

Examples
--------
>>> from analysis.publish import site
>>> site.labels("en")["status_names"]["ok"]
'ok'
"""
from __future__ import annotations

import json
import numbers
import platform
import re
import subprocess
import threading
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

import jinja2
import pandas as pd
import yaml

from analysis.config import PROJECT_ROOT
from analysis.core.escaping import from_spreadsheet_text, spreadsheet_frame
from analysis.core.files import atomic_write, sha256_file, tree_hash
from analysis.errors import ParameterError

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGS = ("zh", "en")
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
             "sans-serif")
CJK_MONO_FONTS = ("DejaVu Sans Mono", "Menlo", "Consolas", "Noto Sans Mono CJK SC", "Noto Sans CJK SC",
                  "Microsoft YaHei", "monospace")
#: Packages whose versions the manifest records (absent ones are recorded as "not installed").
PACKAGES = ("county-evaluation", "pandas", "numpy", "scipy", "statsmodels", "pyfixest", "moderndid",
            "matplotlib", "seaborn", "pyarrow", "duckdb", "polars", "papermill", "nbconvert", "nbclient",
            "nbformat", "ipykernel", "jupyter_client", "jinja2", "dask", "distributed")
MANIFEST_KEYS = ("data_hash", "data_dir", "data_files", "parameters", "notebooks", "code_hash", "python",
                 "platform", "packages", "lock_file", "lock_hash", "git_commit", "started", "finished")
#: The lock file of exact package versions with hashes that ``make env`` installs (``make lock`` writes it).
LOCK_FILE = PROJECT_ROOT / "requirements.lock"
RUN_COLUMNS = ("region", "notebook", "status", "duration_s", "error", "failing_cell", "html", "attempts")


def font_family(fonts=CJK_FONTS) -> str:
    """A CSS ``font-family`` value; generic families stay unquoted."""
    generic = {"serif", "sans-serif", "monospace"}
    return ", ".join(f if f in generic else f'"{f}"' for f in fonts)


@lru_cache(maxsize=1)
def _all_labels() -> dict:
    with open(TEMPLATES / "labels.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def labels(lang: str) -> dict:
    """The site's text in ``lang`` ("zh" or "en"), from ``templates/labels.yaml``."""
    if lang not in LANGS:
        raise ParameterError(f"lang must be one of {list(LANGS)}, not {lang!r}")
    return _all_labels()[lang]


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


# ----------------------------------------------------------------------------------------------- hashes
def data_hash(data_dir: str | Path) -> tuple[str, int]:
    """Hash of the processed Parquet files under ``data_dir`` (sorted paths); ``(hexdigest, n_files)``."""
    return tree_hash(data_dir, ("*.parquet",))


# ------------------------------------------------------------------------------------------ environment
def package_versions(packages=PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (via importlib.metadata), plus Python's."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def lock_hash(path: str | Path = LOCK_FILE) -> str:
    """SHA-256 of the lock file at ``path`` (hex), or 'missing' when there is none (an installed copy of the
    package without its checkout)."""
    path = Path(path)
    return sha256_file(path) if path.is_file() else "missing"


def git_commit(root: str | Path = PROJECT_ROOT) -> str:
    """``git rev-parse HEAD`` of the checkout at ``root`` (with ``-dirty`` if files differ), else 'unknown'."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head or "unknown"


def build_manifest(*, data_dir, data_digest: str, data_files: int, parameters: Mapping,
                   notebooks: Mapping[str, str], code_hash: str, started: datetime, finished: datetime,
                   commit: str | None = None, packages: Mapping[str, str] | None = None,
                   lock_file: str | Path = LOCK_FILE) -> dict:
    """The run manifest (keys :data:`MANIFEST_KEYS`), JSON-ready; ``lock_file`` is the lock of package
    versions whose name and SHA-256 (:func:`lock_hash`) it records."""
    versions = dict(packages or package_versions())
    return {
        "data_hash": data_digest,
        "data_dir": str(data_dir),
        "data_files": int(data_files),
        "parameters": json.loads(json.dumps(dict(parameters), default=str)),
        "notebooks": dict(notebooks),
        "code_hash": code_hash,
        "python": versions.pop("python", platform.python_version()),
        "platform": platform.platform(),
        "packages": versions,
        "lock_file": Path(lock_file).name,
        "lock_hash": lock_hash(lock_file),
        "git_commit": commit if commit is not None else git_commit(),
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
    }


def write_manifest(output_dir: str | Path, manifest: Mapping) -> Path:
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False)
    return atomic_write(Path(output_dir) / "manifest.json", text + "\n")


def write_runs_csv(output_dir: str | Path, runs: pd.DataFrame) -> Path:
    """``runs.csv`` (UTF-8 with a byte-order mark, so spreadsheet programs show Chinese correctly); a cell
    that starts like a formula (a region name "=..." or an error message "-...") is written as text."""
    text = spreadsheet_frame(runs.loc[:, list(RUN_COLUMNS)]).to_csv(index=False, lineterminator="\n")
    return atomic_write(Path(output_dir) / "runs.csv", "\ufeff" + text)


def read_runs_csv(output_dir: str | Path) -> pd.DataFrame:
    """The table :func:`write_runs_csv` wrote, with its values as they were."""
    runs = pd.read_csv(Path(output_dir) / "runs.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    runs = runs.map(from_spreadsheet_text).rename(columns=from_spreadsheet_text)
    return runs.assign(duration_s=runs["duration_s"].astype(float), attempts=runs["attempts"].astype(int))


# ---------------------------------------------------------------------------------------- region pages
_EXPORTERS = threading.local()


def _exporter(lang: str):
    """An HTML exporter per thread and language (building one loads and compiles the templates)."""
    cache = getattr(_EXPORTERS, "cache", None)
    if cache is None:
        cache = _EXPORTERS.cache = {}
    if lang not in cache:
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        # The notebook's outline headings and the specification cell guide a researcher in JupyterLab;
        # the page carries its own headings in its language, and the specification in its footer.
        hidden = Config({"TagRemovePreprocessor": {"enabled": True, "remove_cell_tags": {"outline"},
                                                   "remove_all_outputs_tags": {"specification"}}})
        cache[lang] = HTMLExporter(
            config=hidden, template_name="lab", extra_template_paths=[str(TEMPLATES)],
            template_file="report.html.j2", exclude_input=True, exclude_input_prompt=True,
            exclude_output_prompt=True, embed_images=True, language_code=labels(lang)["html_lang"])
    return cache[lang]


def inject(page: str, top: str = "", bottom: str = "") -> str:
    """Insert ``top`` right after ``<body ...>`` and ``bottom`` right before the last ``</body>``."""
    if top:
        match = re.search(r"<body[^>]*>", page)
        at = match.end() if match else 0
        page = page[:at] + top + page[at:]
    if bottom:
        at = page.rfind("</body>")
        at = len(page) if at < 0 else at
        page = page[:at] + bottom + page[at:]
    return page


def page_footer(lang: str, *, data_digest: str, parameters: Mapping, commit: str, rendered: str) -> str:
    """The manifest footer of a region page."""
    macros = _env().get_template("parts.html.j2").module
    params = json.dumps(dict(parameters), ensure_ascii=False, sort_keys=True, default=str)
    return str(macros.footer(labels(lang), data_digest, params, commit, rendered))


def page_banner(lang: str, *, status: str, error: str = "", failing_cell: str = "") -> str:
    """The banner shown at the top of a page whose run did not complete."""
    macros = _env().get_template("parts.html.j2").module
    return str(macros.banner(labels(lang), status, error, failing_cell))


def notebook_html(nb, *, lang: str, title: str, footer: str = "", banner: str = "") -> str:
    """An executed notebook as one self-contained HTML page: outputs only, figures embedded, no CDN."""
    resources = {"metadata": {"name": title}, "cjk_font_family": font_family(CJK_FONTS),
                 "cjk_mono_family": font_family(CJK_MONO_FONTS)}
    # papermill's own error marker (English, linking to the failed cell) gives way to the localized banner
    shown = nb.copy()
    shown.cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
    body, _ = _exporter(lang).from_notebook_node(shown, resources=resources)
    return inject(body, top=banner, bottom=footer)


# ------------------------------------------------------------------------------------------------ index
def _score_cell(value) -> dict:
    """A score table cell: numbers right-aligned with their raw value kept for sorting."""
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return {"text": "", "sort": "", "numeric": False}
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return {"text": f"{int(value):,}", "sort": str(int(value)), "numeric": True}
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return {"text": f"{float(value):,.2f}", "sort": repr(float(value)), "numeric": True}
    return {"text": str(value), "sort": str(value), "numeric": False}


def _check_scores(scores: pd.DataFrame | None) -> pd.DataFrame | None:
    if scores is None:
        return None
    if "region" not in scores.columns:
        if scores.index.name == "region":
            return scores.reset_index()
        raise ParameterError(f"scores must have a 'region' column; it has {list(scores.columns)}")
    return scores


def render_index(*, runs: pd.DataFrame, pages: pd.DataFrame, manifest: Mapping, lang: str = "zh",
                 notebooks: list[str] | None = None, scores: pd.DataFrame | None = None) -> str:
    """The HTML of ``index.html``.

    Parameters
    ----------
    runs : this run's rows (columns :data:`RUN_COLUMNS`); ``html`` is relative to the reports folder.
    pages : the latest page of every region x notebook ever rendered in this folder (columns region,
        notebook, status, html), from which the region table links to every region's pages.
    manifest : :func:`build_manifest`'s result.
    notebooks : the columns of the region table, in order (default: those in ``pages``, sorted).
    scores : optional table with a ``region`` column and any others (composite score, rank interval,
        grade...), shown as extra columns of the region table.
    """
    L = labels(lang)
    scores = _check_scores(scores)
    notebooks = notebooks or sorted(pages["notebook"].unique().tolist())
    score_columns = [c for c in scores.columns if c != "region"] if scores is not None else []
    by_region: dict[str, dict] = {}
    for row in pages.itertuples():
        by_region.setdefault(row.region, {})[row.notebook] = {
            "status": row.status, "label": L["status_names"][row.status], "href": _href(row.html)}
    score_rows = ({str(r["region"]): r for r in scores.drop_duplicates("region").to_dict("records")}
                  if scores is not None else {})
    regions = [{"name": name, "pages": by_region.get(name, {}),
                "scores": [_score_cell(score_rows.get(name, {}).get(col)) for col in score_columns]}
               for name in [*score_rows, *sorted(set(by_region) - set(score_rows))]]  # scores' order (best first)
    rows = [{**row, "href": _href(row["html"])} for row in runs.to_dict("records")]
    counts = runs["status"].value_counts().to_dict()
    order = ["ok", "skipped", "failed", "timeout", "killed"]
    return _env().get_template("index.html.j2").render(
        L=L, font_family=font_family(CJK_FONTS), generated=manifest.get("finished", ""),
        notebooks=notebooks, score_columns=score_columns, regions=regions, rows=rows,
        counts={s: int(counts[s]) for s in order if s in counts}, manifest=manifest,
        parameters_json=json.dumps(manifest.get("parameters", {}), ensure_ascii=False, sort_keys=True))


def _href(relative) -> str:
    """A relative link to a page, percent-encoded ('#' or '?' may occur in names); '' when there is none."""
    if not isinstance(relative, str) or not relative:
        return ""
    return quote(Path(relative).as_posix())


def write_index(output_dir: str | Path, **kwargs) -> Path:
    """Render :func:`render_index` into ``output_dir/index.html`` (atomically); pages whose file is missing
    are listed without a link."""
    output_dir = Path(output_dir)

    def linked(frame: pd.DataFrame) -> pd.DataFrame:
        exists = frame["html"].map(lambda p: isinstance(p, str) and bool(p) and (output_dir / p).is_file())
        return frame.assign(html=frame["html"].where(exists.astype(bool), ""))
    pages, runs = linked(kwargs.pop("pages")), linked(kwargs.pop("runs"))
    return atomic_write(output_dir / "index.html", render_index(pages=pages, runs=runs, **kwargs))
