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
#: English pages: a Latin sans-serif first (so no element falls back to a serif), then the CJK families for
#: the Chinese text they still hold.
LATIN_FONTS = ("Noto Sans", "DejaVu Sans", "Liberation Sans", "Helvetica Neue", "Arial", *CJK_FONTS)
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
#: The files of a region the index links to besides its pages: what ``files`` of :func:`render_index` holds.
FILE_COLUMNS = ("region", "kind", "notebook", "lang", "path")
FILE_KINDS = ("docx", "pdf", "xlsx")


def font_family(fonts=CJK_FONTS) -> str:
    """A CSS ``font-family`` value; generic families stay unquoted."""
    generic = {"serif", "sans-serif", "monospace"}
    return ", ".join(f if f in generic else f'"{f}"' for f in fonts)


def fonts(lang: str) -> tuple[str, ...]:
    """The font families of a page in ``lang``: sans-serif throughout, Latin first in English."""
    return LATIN_FONTS if lang == "en" else CJK_FONTS


@lru_cache(maxsize=1)
def _all_labels() -> dict:
    with open(TEMPLATES / "labels.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def labels(lang: str) -> dict:
    """The site's text in ``lang`` ("zh" or "en"), from ``templates/labels.yaml``."""
    if lang not in LANGS:
        raise ParameterError(f"lang must be one of {list(LANGS)}, not {lang!r}")
    return _all_labels()[lang]


def notebook_title(notebook: str, lang: str) -> str:
    """A report's title in ``lang``, from the ``notebooks`` section of ``templates/labels.yaml`` (the one place
    a notebook's title is kept); the notebook's file name when it has none there."""
    return labels(lang)["notebooks"].get(notebook, notebook)


def page_title(lang: str, notebook: str, region: str) -> str:
    """The ``<title>`` of a region's page: the report's title, then the region (as the page names it)."""
    return f"{notebook_title(notebook, lang)} · {region}"


def local_time(value, zone=None) -> str:
    """A time as ``2026-11-29 22:31 CST (UTC+08:00)``: in ``zone`` (a ``tzinfo``; default the machine's
    local zone, which the ``TZ`` environment variable sets, e.g. ``TZ=Asia/Shanghai``).

    ``value`` is a ``datetime`` or an ISO 8601 string (as the manifest keeps them); a time without an
    offset is taken as local. Text that is not a time is returned as it is.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    shown = value.astimezone(zone)
    offset = shown.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    name = shown.tzname() or ""
    # a zone without a letter abbreviation reports "+08" or "UTC+08:00": the offset alone then says it
    label = f"{name} ({offset})" if name.isalpha() else offset
    return f"{shown:%Y-%m-%d %H:%M} {label}"


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
    """The manifest footer of a region page; ``rendered`` (ISO 8601) is shown in local time with its zone."""
    macros = _env().get_template("parts.html.j2").module
    params = json.dumps(dict(parameters), ensure_ascii=False, sort_keys=True, default=str)
    return str(macros.footer(labels(lang), data_digest, params, commit, local_time(rendered)))


def page_nav(lang: str, *, notebooks: list[str], current: str, region: str = "") -> str:
    """The navigation bar at the top of a region's page: the index, then each of the region's pages
    (``notebooks``, in order; ``current`` is marked, not linked). Links are relative: the pages of a region
    share its folder, and the index is one folder up."""
    macros = _env().get_template("parts.html.j2").module
    items = [{"title": notebook_title(nb, lang), "href": quote(f"{nb}.html"), "current": nb == current}
             for nb in notebooks]
    return str(macros.nav(labels(lang), region, items))


def page_banner(lang: str, *, status: str, error: str = "", failing_cell: str = "") -> str:
    """The banner shown at the top of a page whose run did not complete."""
    macros = _env().get_template("parts.html.j2").module
    return str(macros.banner(labels(lang), status, error, failing_cell))


def notebook_html(nb, *, lang: str, title: str, footer: str = "", banner: str = "", nav: str = "") -> str:
    """An executed notebook as one self-contained HTML page: outputs only, figures embedded, no CDN;
    ``nav`` (:func:`page_nav`) and ``banner`` go at the top of the body, ``footer`` at its end."""
    resources = {"metadata": {"name": title}, "cjk_font_family": font_family(fonts(lang)),
                 "cjk_mono_family": font_family(CJK_MONO_FONTS)}
    # papermill's own error marker (English, linking to the failed cell) gives way to the localized banner
    shown = nb.copy()
    shown.cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
    body, _ = _exporter(lang).from_notebook_node(shown, resources=resources)
    return inject(body, top=nav + banner, bottom=footer)


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
                 notebooks: list[str] | None = None, scores: pd.DataFrame | None = None,
                 places: pd.DataFrame | None = None, files: pd.DataFrame | None = None,
                 synthetic: bool = False) -> str:
    """The HTML of ``index.html``.

    Parameters
    ----------
    runs : this run's rows (columns :data:`RUN_COLUMNS`); ``html`` is relative to the reports folder.
    pages : the latest page of every region x notebook ever rendered in this folder (columns region,
        notebook, status, html), from which the region table links to every region's pages.
    manifest : :func:`build_manifest`'s result.
    notebooks : the order of a region's pages (default: those in ``pages``, sorted).
    scores : optional table with a ``region`` column and any others (composite score, rank interval,
        grade...), shown as extra columns of the region table, in its row order.
    places : the regions table (:func:`analysis.reporting.places.regions`): names the prefecture, the
        period and, in English, each region's English name. Without it the page names neither.
    files : the region's other files (columns :data:`FILE_COLUMNS`; kind docx, pdf or xlsx, ``notebook``
        the page an Excel file belongs to, ``lang`` a document's language, ``path`` relative to the
        reports folder), linked from the region's row.
    synthetic : the data are the SYNTHETIC sample: a banner says so at the top.
    """
    L = labels(lang)
    scores = _check_scores(scores)
    notebooks = notebooks or sorted(pages["notebook"].unique().tolist())
    score_columns = [c for c in scores.columns if c != "region"] if scores is not None else []
    names = _names(places, lang)
    score_rows = ({str(r["region"]): r for r in scores.drop_duplicates("region").to_dict("records")}
                  if scores is not None else {})
    files = pd.DataFrame(columns=list(FILE_COLUMNS)) if files is None else files
    regions = [{"name": name, "shown": names.get(name, name), "prefecture": _is_prefecture(name, places),
                "pages": _row_pages(name, pages, files, notebooks, L, lang),
                "documents": _row_documents(name, files, L, lang),
                "scores": [_score_cell(score_rows.get(name, {}).get(col)) for col in score_columns]}
               for name in _region_order(pages, files, score_rows, places)]
    rows = [{**row, "href": _href(row["html"]), "shown": names.get(row["region"], row["region"]),
             "title": notebook_title(row["notebook"], lang)} for row in runs.to_dict("records")]
    counts = runs["status"].value_counts().to_dict()
    order = ["ok", "skipped", "failed", "timeout", "killed"]
    return _env().get_template("index.html.j2").render(
        L=L, font_family=font_family(fonts(lang)), generated=local_time(manifest.get("finished", "")),
        facts=_facts(places, names, L), synthetic=synthetic, score_columns=score_columns, regions=regions,
        rows=rows, counts={s: int(counts[s]) for s in order if s in counts}, manifest=manifest,
        started=local_time(manifest.get("started", "")), finished=local_time(manifest.get("finished", "")),
        parameters_json=json.dumps(manifest.get("parameters", {}), ensure_ascii=False, sort_keys=True))


def _names(places: pd.DataFrame | None, lang: str) -> dict[str, str]:
    """Region name -> the name the page shows (the English name in English)."""
    if places is None or lang != "en":
        return {}
    return dict(zip(places["region"].astype(str), places["name_en"].astype(str)))


def _is_prefecture(name: str, places: pd.DataFrame | None) -> bool:
    return places is not None and bool(((places["region"] == name) & (places["level"] == "prefecture")).any())


def _region_order(pages: pd.DataFrame, files: pd.DataFrame, score_rows: dict, places) -> list[str]:
    """Prefectures first, then the counties in the scores' order (best first), then any others by name."""
    present = set(pages["region"].astype(str)) | set(files["region"].astype(str)) | set(score_rows)
    prefectures = ([r for r in places.loc[places["level"] == "prefecture", "region"].astype(str) if r in present]
                   if places is not None else [])
    counties = [r for r in score_rows if r not in prefectures]
    return [*prefectures, *counties, *sorted(present - set(prefectures) - set(counties))]


def _row_pages(region: str, pages: pd.DataFrame, files: pd.DataFrame, notebooks: list[str], L: dict,
               lang: str) -> list[dict]:
    """A region's pages in ``notebooks`` order (then any others): title, link, status mark, Excel link."""
    mine = pages[pages["region"] == region]
    books = files[(files["region"] == region) & (files["kind"] == "xlsx")]
    known = [nb for nb in notebooks if nb in set(mine["notebook"])]
    ordered = known + sorted(set(mine["notebook"]) - set(known))
    by_notebook = {r["notebook"]: r for r in mine.to_dict("records")}
    out = []
    for nb in ordered:
        row, title = by_notebook[nb], notebook_title(nb, lang)
        out.append({"title": title, "href": _href(row["html"]), "status": row["status"],
                    "status_name": L["status_names"][row["status"]], "good": row["status"] in ("ok", "skipped"),
                    "workbooks": _workbooks(nb, title, books[books["notebook"] == nb]["path"], L)})
    return out


def _workbooks(notebook: str, title: str, paths, L: dict) -> list[dict]:
    """A page's workbooks: its own (``<notebook>.xlsx``) first, as "Excel", then each further one by its
    name in ``workbooks`` of the labels (else numbered)."""
    own = f"{notebook}.xlsx"
    ordered = sorted(paths, key=lambda p: (Path(p).name != own, Path(p).name))
    out = []
    for i, path in enumerate(ordered, start=1 if any(Path(p).name == own for p in paths) else 2):
        stem = Path(path).stem
        part = "" if stem == notebook else L["workbooks"].get(stem, str(i))
        label = L["excel"] if not part else L["excel_part"].format(part=part)
        out.append({"href": _href(path), "label": label,
                    "title": L["excel_of"].format(title=title if not part else f"{title} · {part}")})
    return out


def _row_documents(region: str, files: pd.DataFrame, L: dict, lang: str) -> list[dict]:
    """A region's Word and PDF reports: the page's language first, then the other one (marked)."""
    docs = files[(files["region"] == region) & files["kind"].isin(["docx", "pdf"])]
    order = {lang: 0}
    docs = docs.assign(_order=docs["lang"].map(order).fillna(1), _kind=docs["kind"].map({"docx": 0, "pdf": 1}))
    out = []
    for row in docs.sort_values(["_order", "_kind", "lang"]).to_dict("records"):
        label = L["word"] if row["kind"] == "docx" else L["pdf"]
        if row["lang"] != lang:
            label = L["in_other_language"].format(file=label)
        out.append({"label": label, "href": _href(row["path"]), "kind": row["kind"], "lang": row["lang"]})
    return out


def _facts(places: pd.DataFrame | None, names: dict, L: dict) -> dict:
    """The heading's facts: the prefecture(s) with their number of counties, and the period the counties'
    data cover."""
    if places is None or places.empty:
        return {"heading": L["title"], "place": "", "period": ""}
    counties = places[places["level"] == "county"]
    prefectures = places.loc[places["level"] == "prefecture", "region"].astype(str).tolist()
    span = counties if len(counties) else places
    return {"heading": L["heading"].format(prefecture=L["list_sep"].join(names.get(p, p) for p in prefectures)),
            "place": L["list_sep"].join(L["counties"].format(prefecture=names.get(p, p),
                                                              n=int((counties["prefecture"] == p).sum()))
                                        for p in prefectures),
            "period": L["period_value"].format(first=int(span["first_year"].min()),
                                               last=int(span["last_year"].max()))}


def _href(relative) -> str:
    """A relative link to a page, percent-encoded ('#' or '?' may occur in names); '' when there is none."""
    if not isinstance(relative, str) or not relative:
        return ""
    return quote(Path(relative).as_posix())


def find_files(output_dir: str | Path, regions, notebooks) -> pd.DataFrame:
    """The Word, PDF and Excel files of ``regions`` under ``output_dir`` (columns :data:`FILE_COLUMNS`):
    ``<region>/report-<lang>.docx`` and ``.pdf``, and a page's workbooks ``<region>/<notebook>.xlsx`` and
    ``<region>/<notebook>-<part>.xlsx`` (``notebook`` names the page); only files that exist."""
    output_dir, found = Path(output_dir), []
    by_length = sorted(dict.fromkeys(str(n) for n in notebooks), key=len, reverse=True)
    for region in dict.fromkeys(str(r) for r in regions):
        folder = output_dir / region
        if not folder.is_dir():
            continue
        for lang in LANGS:
            found += [(region, kind, "", lang, f"{region}/report-{lang}.{kind}") for kind in ("docx", "pdf")
                      if (folder / f"report-{lang}.{kind}").is_file()]
        for book in sorted(folder.glob("*.xlsx")):
            page = next((nb for nb in by_length if book.stem == nb or book.stem.startswith(f"{nb}-")), None)
            if page is not None and not book.name.startswith("."):
                found.append((region, "xlsx", page, "", f"{region}/{book.name}"))
    return pd.DataFrame(found, columns=list(FILE_COLUMNS))


def data_facts(data_dir: str | Path | None) -> dict:
    """What the index says of the data: ``places`` (the regions table, None when there are no processed
    households) and ``synthetic``."""
    from analysis.reporting import places

    if not data_dir or not (Path(data_dir) / "households").is_dir():
        return {"places": None, "synthetic": False}
    try:
        table = places.regions(data_dir)
    except (OSError, ValueError, KeyError):  # a households table without prefecture or year columns
        table = None
    return {"places": table, "synthetic": places.synthetic(data_dir)}


def write_index(output_dir: str | Path, **kwargs) -> Path:
    """Render :func:`render_index` into ``output_dir/index.html`` (atomically); pages whose file is missing
    are listed without a link. Unless ``files`` is given, the Word, PDF and Excel files present under
    ``output_dir`` are linked (:func:`find_files`)."""
    output_dir = Path(output_dir)

    def linked(frame: pd.DataFrame) -> pd.DataFrame:
        exists = frame["html"].map(lambda p: isinstance(p, str) and bool(p) and (output_dir / p).is_file())
        return frame.assign(html=frame["html"].where(exists.astype(bool), ""))
    pages, runs = linked(kwargs.pop("pages")), linked(kwargs.pop("runs"))
    if kwargs.get("files") is None:
        places = kwargs.get("places")
        regions = [*pages["region"], *(places["region"] if places is not None else [])]
        notebooks = [*pages["notebook"], *(kwargs.get("notebooks") or [])]
        kwargs["files"] = find_files(output_dir, regions, notebooks)
    return atomic_write(output_dir / "index.html", render_index(pages=pages, runs=runs, **kwargs))
