"""Run the report notebooks for every region: papermill per region x notebook, in parallel, into HTML.

``run`` executes each ``notebooks/NN-name.ipynb`` for each region with papermill and writes
``reports/<region>/NN-name.ipynb`` (executed) and ``NN-name.html`` (code hidden, self-contained), then
``reports/runs.csv``, ``reports/manifest.json`` and ``reports/index.html``. Each run is a pure function of
declared inputs (one tagged parameters cell; outputs named by content and parameter):

* Everything a user can get wrong (a region, a notebook name, a parameter, a language) is checked before
  any kernel starts, and the error lists what is allowed.
* One region's failure does not stop the others; each run is reported with its status (ok, failed,
  skipped, timeout, killed), duration, error and the first line of the cell that raised.
* Runs fan out over a local process pool, or over a Dask distributed cluster (``scheduler=address``);
  a worker that dies mid-run is reported and its run retried once.
* Each worker keeps a warm kernel (:mod:`analysis.publish.kernels`) instead of starting one per notebook.
* A run whose inputs are unchanged since its last success is skipped: the fingerprint covers the data
  hash, the parameters, the notebook file, the analysis code and configuration, and package versions
  (kept in ``reports/.run-state.json``). ``force`` re-runs everything, ``retry_failed`` only what failed.
* Every file is written to a temporary name in its folder and renamed into place.
* The pictures each page showed are kept with their titles in ``reports/<region>/.figures/``
  (:mod:`analysis.publish.figures`), so that the Word reports take them instead of drawing them again.

Examples
--------
>>> from analysis.publish import pipeline
>>> summary = pipeline.run("all", "01", lang="en")  # doctest: +SKIP
>>> summary.exit_code, summary.failed  # doctest: +SKIP
(0, [])
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError
from tqdm import tqdm

from analysis import config
from analysis.core import workers
from analysis.core.files import atomic_write, sha256_file, tree_hash
from analysis.errors import ParameterError
from analysis.publish import figures, kernels, site
from analysis.studies.spec import MIME_TYPE as SPEC_MIME_TYPE

STATUSES = ("ok", "failed", "skipped", "timeout", "killed")
FAILED = ("failed", "timeout", "killed")
LANGS = site.LANGS
ENGINES = ("warm", "plain")
#: Parameters the pipeline itself passes (to the notebooks that declare them).
BUILTIN_PARAMETERS = ("region", "lang", "data_dir", "output_dir")
STATE_FILE = ".run-state.json"
NOTEBOOK_FILE = re.compile(r"^(\d{2})-([A-Za-z0-9][\w-]*)\.ipynb$")
#: Region levels a notebook can be written for. A notebook declares its level in its metadata,
#: ``{"analysis": {"level": "prefecture"}}``; without it, a notebook is a county's.
LEVELS = ("county", "prefecture")
# Characters that would make a region name leave its folder under reports/ (or name a hidden file).
_UNSAFE = re.compile(r"[/\\\0:]")


@dataclass(frozen=True)
class RunResult:
    """One region x notebook run.

    ``status`` is one of :data:`STATUSES`; ``error`` is the exception's name and message; ``failing_cell``
    the first line of the cell that raised (or was running at a timeout or kill); ``html`` is relative to
    the reports folder ('' when no page was written); ``attempts`` counts executions in this run (0 when
    skipped, 2 when a dead worker's run was retried).
    """

    region: str
    notebook: str
    status: str
    duration_s: float
    error: str = ""
    failing_cell: str = ""
    html: str = ""
    attempts: int = 1


@dataclass
class RunSummary:
    """What :func:`run` did: one :class:`RunResult` per region x notebook, and the run manifest."""

    rows: list[RunResult]
    output_dir: Path
    manifest: dict = field(default_factory=dict)

    @property
    def failed_runs(self) -> list[RunResult]:
        """Runs that failed, timed out or were killed."""
        return [r for r in self.rows if r.status in FAILED]

    @property
    def failed(self) -> list[str]:
        """Names of the regions with at least one failed, timed-out or killed run (sorted)."""
        return sorted({r.region for r in self.failed_runs})

    @property
    def exit_code(self) -> int:
        """0 when every run succeeded or was skipped, else 1 (for the command line)."""
        return 1 if self.failed_runs else 0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows], columns=list(site.RUN_COLUMNS))

    def describe(self) -> str:
        """A count per status, then one line per failed run naming the region, notebook, status, error and
        failing line."""
        counts = pd.Series([r.status for r in self.rows], dtype="object").value_counts().to_dict()
        head = ", ".join(f"{s} {counts[s]}" for s in STATUSES if s in counts) or "nothing to run"
        lines = [f"{len(self.rows)} runs: {head}; reports in {self.output_dir}"]
        if self.failed_runs:
            lines.append(f"failed regions: {', '.join(self.failed)}")
            lines += [f"  {r.region} / {r.notebook}: {r.status}: {r.error}"
                      + (f" (at: {r.failing_cell})" if r.failing_cell else "") for r in self.failed_runs]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class RenderTask:
    """Everything a worker needs to render one region x notebook (picklable, paths as strings)."""

    region: str
    notebook: str
    input_path: str
    region_dir: str
    cwd: str
    parameters: dict
    lang: str
    timeout: float | None
    engine: str
    data_hash: str
    commit: str
    relative_html: str
    #: the page's <title> and navigation bar (:func:`_with_navigation`); empty: the region and notebook names
    title: str = ""
    nav: str = ""
    #: what the figure store needs to keep the page's pictures for the Word report (:mod:`figures`):
    #: ``inputs`` (:func:`figures.inputs`) and ``specs`` (:func:`figures.build_specs`); None: keep none
    figures: dict | None = None


# --------------------------------------------------------------------------------------------- checks
def _split(value: str | Iterable[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


def find_notebooks(notebooks_dir: str | Path) -> dict[str, Path]:
    """The ``NN-name.ipynb`` notebooks in ``notebooks_dir``, by file stem, in order."""
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise ParameterError(f"notebooks_dir {str(folder)!r} is not a folder")
    return {p.stem: p for p in sorted(folder.iterdir()) if NOTEBOOK_FILE.match(p.name)}


def select_notebooks(names: str | Iterable[str], available: Mapping[str, Path]) -> dict[str, Path]:
    """Resolve ``"all"`` or names given as ``01-income-growth``, ``01`` or ``income-growth``."""
    if not available:
        raise ParameterError("no notebooks named like NN-name.ipynb were found")
    wanted = _split(names)
    if wanted in (["all"], []):
        return dict(available)
    chosen = {}
    for name in wanted:
        stem = name.removesuffix(".ipynb")
        hits = [s for s in available
                if stem == s or stem == s[:2] or stem == s[3:]]
        if len(hits) != 1:
            problem = "is ambiguous" if hits else "is not a notebook"
            raise ParameterError(f"notebook {name!r} {problem}; choose from: all, {', '.join(available)} "
                                 "(the number or the name alone also works)")
        chosen[hits[0]] = available[hits[0]]
    return dict(sorted(chosen.items()))


def notebook_level(path: str | Path) -> str:
    """The region level a notebook is written for (its metadata ``analysis.level``; default ``county``)."""
    level = nbformat.read(str(path), as_version=4).metadata.get("analysis", {}).get("level", LEVELS[0])
    if level not in LEVELS:
        raise ParameterError(f"notebook {Path(path).name} declares level {level!r}; levels: {', '.join(LEVELS)}")
    return level


def region_levels(data_dir: str | Path) -> dict[str, str]:
    """Every region of the processed data with its level: the counties, then the prefectures (when the data
    record them)."""
    from analysis.io.data import list_regions
    levels = dict.fromkeys(list_regions(data_dir), "county")
    try:
        prefectures = list_regions(data_dir, "prefecture")
    except (ValueError, KeyError):   # a households table without a prefecture column
        prefectures = []
    return {**levels, **{p: "prefecture" for p in prefectures if p not in levels}}


def check_region_name(region: str, output_dir: str | Path) -> str:
    """Refuse a region name that would write outside ``output_dir/<region>/`` (or into a hidden folder)."""
    root = Path(output_dir).resolve()
    bad = (not region or region != region.strip() or region in (".", "..") or region.startswith(".")
           or _UNSAFE.search(region) or Path(region).is_absolute()
           or (root / region).resolve().parent != root)
    if bad:
        raise ParameterError(f"region {region!r} cannot be used as a folder name under {root}: a region name "
                             "must not be empty, start with '.', or contain '/', '\\\\', ':' or NUL")
    return region


def select_regions(regions: str | Iterable[str], valid: Sequence[str], output_dir: str | Path) -> list[str]:
    """Resolve ``"all"`` or a list of region names against ``valid``; each must be a safe folder name."""
    wanted = _split(regions)
    chosen = list(valid) if wanted in (["all"], []) else wanted
    for region in chosen:
        try:
            check_region_name(region, output_dir)
        except ParameterError as exc:
            raise ParameterError(f"{exc}; valid regions: {', '.join(valid)}") from None
        if region not in valid:
            raise ParameterError(f"unknown region {region!r}; valid regions: all, {', '.join(valid)}")
    if not chosen:
        raise ParameterError("there are no regions in the data to run")
    return list(dict.fromkeys(chosen))


def declared_parameters(paths: Mapping[str, Path]) -> dict[str, set[str]]:
    """Names in each notebook's ``parameters`` cell, as papermill sees them."""
    return {stem: set(pm.inspect_notebook(str(path))) for stem, path in paths.items()}


def check_parameters(parameters: Mapping | None, declared: Mapping[str, set[str]]) -> dict:
    """Extra parameters must be declared by at least one selected notebook; the built-in ones are set by
    their own arguments."""
    parameters = dict(parameters or {})
    builtin = sorted(set(parameters) & set(BUILTIN_PARAMETERS))
    if builtin:
        raise ParameterError(f"parameters {builtin} are set by run()'s own arguments, not by `parameters`")
    known = set().union(*declared.values()) - set(BUILTIN_PARAMETERS) if declared else set()
    unknown = sorted(set(parameters) - known)
    if unknown:
        declared_text = ", ".join(sorted(known)) or "(none besides region, lang, data_dir, output_dir)"
        raise ParameterError(f"parameter(s) {unknown} are not declared by any selected notebook; "
                             f"declared: {declared_text}")
    return parameters


def _check_options(lang, jobs, timeout, engine) -> int:
    if lang not in LANGS:
        raise ParameterError(f"lang must be one of {list(LANGS)}, not {lang!r}")
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {list(ENGINES)}, not {engine!r}")
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ParameterError(f"jobs must be a whole number >= 1, not {jobs!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ParameterError(f"timeout must be a number of seconds > 0 (or None for no limit), not {timeout!r}")
    return jobs


# ---------------------------------------------------------------------------------------- fingerprints
def code_hash() -> str:
    """Hash of the analysis package (code, configuration, templates) and of a user's configuration folder."""
    package = Path(__file__).resolve().parents[1]
    patterns = ("*.py", "*.yaml", "*.yml", "*.csv", "*.j2", "*.json")
    digest, _ = tree_hash(package, patterns)
    user = os.environ.get("ANALYSIS_CONFIG_DIR")
    if user and Path(user).is_dir():
        digest = hashlib.sha256((digest + tree_hash(user, patterns)[0]).encode()).hexdigest()
    return digest


def fingerprint(**inputs) -> str:
    """A stable hash of everything a run's output depends on."""
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_state(output_dir: str | Path) -> dict:
    """The per-run records of earlier runs in ``output_dir`` (empty when absent or unreadable)."""
    path = Path(output_dir) / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": 1, "runs": {}}
    return state if isinstance(state.get("runs"), dict) else {"version": 1, "runs": {}}


def _key(region: str, notebook: str) -> str:
    return f"{region}/{notebook}"  # region names never contain '/'


def _decide(prev: dict | None, fp: str, outputs_exist: bool, force: bool, retry_failed: bool) -> bool:
    """Whether a run must execute (True) or can be skipped."""
    if force or prev is None or not outputs_exist:
        return True
    if retry_failed:
        return prev.get("status") != "ok"
    return not (prev.get("status") == "ok" and prev.get("fingerprint") == fp)


# ------------------------------------------------------------------------------------------- a worker
def _first_line(source: str) -> str:
    return next((line.strip() for line in (source or "").splitlines() if line.strip()), "")


def _running_cell(nb) -> str:
    """First line of the last code cell that started (the one running when a timeout or kill struck)."""
    started = [c for c in (nb.cells if nb is not None else []) if c.cell_type == "code"
               and c.get("metadata", {}).get("papermill", {}).get("start_time")]
    return _first_line(started[-1].source) if started else ""


def _execute(task: RenderTask, tmp: Path):
    """Run the notebook; return ``(notebook node or None, status, error, failing line)``."""
    try:
        nb = pm.execute_notebook(
            task.input_path, str(tmp), parameters=task.parameters, engine_name=task.engine,
            request_save_on_cell_execute=False, progress_bar=False, log_output=False,
            execution_timeout=task.timeout, resources={"metadata": {"path": task.cwd}},
            # one output per stream per cell: how a kernel batches writes into messages depends on timing,
            # and reports of the same inputs must be the same files
            coalesce_streams=True)
        return nb, "ok", "", ""
    except PapermillExecutionError as exc:
        nb = nbformat.read(tmp, as_version=4) if tmp.exists() else kernels.last_notebook()
        return nb, "failed", f"{exc.ename}: {exc.evalue}", _first_line(exc.source)
    except CellTimeoutError:
        nb = kernels.last_notebook()
        return nb, "timeout", f"CellTimeoutError: a cell ran longer than {task.timeout:g} s", _running_cell(nb)
    except DeadKernelError:
        nb = kernels.last_notebook()
        return nb, "killed", "DeadKernelError: the kernel died (out of memory, or killed)", _running_cell(nb)
    except Exception as exc:  # reported in the summary: one region's failure must not stop the others
        return kernels.last_notebook(), "failed", f"{type(exc).__name__}: {exc}", ""


def _stable_ids(nb) -> None:
    """Give the cells papermill inserts (parameters, error markers) fixed ids instead of random ones, so
    that re-rendering unchanged inputs gives identical files."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        tag = next((t for t in cell.get("metadata", {}).get("tags", [])
                    if t in ("injected-parameters", "papermill-error-cell-tag")), None)
        if tag and "id" in cell:
            seen[tag] = seen.get(tag, 0) + 1
            cell["id"] = f"{tag}-{seen[tag]}"


def execute_task(task: RenderTask) -> RunResult:
    """Execute one notebook for one region and write its ``.ipynb`` and ``.html`` (atomically)."""
    kernels.register()
    kernels.forget_last()
    start = time.perf_counter()
    region_dir = Path(task.region_dir)
    region_dir.mkdir(parents=True, exist_ok=True)
    tmp = region_dir / f".{task.notebook}.{os.getpid()}.{threading.get_ident()}.tmp.ipynb"
    html = ""
    try:
        nb, status, error, failing = _execute(task, tmp)
        if nb is not None:
            _write_outputs(task, nb, status, error, failing)
            html = task.relative_html
    except Exception as exc:  # writing the page failed: report it like a failed run
        status, error, failing = "failed", f"{type(exc).__name__} while writing the report: {exc}", ""
    finally:
        tmp.unlink(missing_ok=True)
    return RunResult(task.region, task.notebook, status, round(time.perf_counter() - start, 3), error,
                     failing, html)


def specifications(nb) -> list[dict]:
    """The study specifications an executed notebook showed (cells displaying a ``Spec``), in order."""
    return [output["data"][SPEC_MIME_TYPE] for cell in nb.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if SPEC_MIME_TYPE in output.get("data", {})]


def _write_outputs(task: RenderTask, nb, status: str, error: str, failing: str) -> None:
    """The executed notebook and its page (with a banner unless ok, and the manifest footer)."""
    region_dir = Path(task.region_dir)
    _stable_ids(nb)
    atomic_write(region_dir / f"{task.notebook}.ipynb", nbformat.writes(nb))
    rendered = datetime.now().astimezone().isoformat(timespec="seconds")
    specs = specifications(nb)
    parameters = {**task.parameters, "specification": specs} if specs else task.parameters
    footer = site.page_footer(task.lang, data_digest=task.data_hash, parameters=parameters,
                              commit=task.commit, rendered=rendered)
    banner = "" if status == "ok" else site.page_banner(task.lang, status=status, error=error,
                                                         failing_cell=failing)
    page = site.notebook_html(nb, lang=task.lang, title=task.title or f"{task.region} · {task.notebook}",
                              footer=footer, banner=banner, nav=task.nav)
    atomic_write(region_dir / f"{task.notebook}.html", page)
    if task.figures is not None:
        if status == "ok":
            figures.record(region_dir, task.region, task.notebook, nb, lang=task.lang, **task.figures)
        else:
            figures.forget(region_dir, task.notebook)


def _crashed(task: RenderTask, status: str, error: str, attempts: int) -> RunResult:
    return RunResult(task.region, task.notebook, status, 0.0, error, "", "", attempts)


# ----------------------------------------------------------------------------------------- schedulers
def _run_serial(tasks, results, done) -> None:
    try:
        for i, task in enumerate(tasks):
            results[i] = execute_task(task)
            done(results[i])
    finally:
        kernels.shutdown_all()


def _pool_context():
    """Worker processes from a fork server that has imported this module once (see
    :func:`analysis.core.workers.context`)."""
    return workers.context(["analysis.publish.pipeline"])


def _run_pool(tasks, results, done, workers: int) -> None:
    """A local process pool; a pool whose worker died is rebuilt and the runs it lost retried once."""
    pending, attempts = list(enumerate(tasks)), {}
    context = _pool_context()
    while pending:
        lost = []
        pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context,
                                   initializer=kernels.init_worker)
        try:
            futures = {pool.submit(execute_task, task): (i, task) for i, task in pending}
            for future in as_completed(futures):
                i, task = futures[future]
                attempts[i] = attempts.get(i, 0) + 1
                try:
                    results[i] = replace(future.result(), attempts=attempts[i])
                except BrokenProcessPool:
                    if attempts[i] < 2:
                        lost.append((i, task))
                        continue
                    results[i] = _crashed(task, "killed", "BrokenProcessPool: the worker process died",
                                          attempts[i])
                except Exception as exc:
                    results[i] = _crashed(task, "failed", f"{type(exc).__name__}: {exc}", attempts[i])
                done(results[i])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        pending = lost


def _run_dask(tasks, results, done, scheduler) -> None:
    """Submit the runs to a Dask distributed cluster; a run whose worker died is retried once."""
    from distributed import Client, KilledWorker
    from distributed import as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    stamp = f"{os.getpid()}-{time.time_ns()}"
    try:
        def submit(i, task, attempt):
            return client.submit(execute_task, task, pure=False,
                                 key=f"render-{stamp}-{i}-{attempt}"), (i, task, attempt)
        futures = dict(submit(i, task, 1) for i, task in enumerate(tasks))
        queue = dask_completed(list(futures))
        for future in queue:
            i, task, attempt = futures.pop(future)
            try:
                results[i] = replace(future.result(), attempts=attempt)
            except KilledWorker as exc:
                if attempt < 2:
                    retry, meta = submit(i, task, attempt + 1)
                    futures[retry] = meta
                    queue.add(retry)
                    continue
                results[i] = _crashed(task, "killed", f"KilledWorker: {exc}", attempt)
            except Exception as exc:
                results[i] = _crashed(task, "failed", f"{type(exc).__name__}: {exc}", attempt)
            done(results[i])
        try:
            client.run(kernels.shutdown_all)  # a long-lived cluster must not keep this run's modules loaded
        except Exception:
            pass
    finally:
        if client is not scheduler:
            client.close()


def execute(tasks: Sequence[RenderTask], *, jobs: int = 1, scheduler=None, progress: bool = True,
            results: dict | None = None) -> list[RunResult]:
    """Run ``tasks`` serially (``jobs=1``), on a process pool, or on Dask (``scheduler``: address or Client).

    ``results`` (index -> :class:`RunResult`) is filled as runs finish, so a caller can keep what was
    done if the run is interrupted.
    """
    results = {} if results is None else results
    bar = tqdm(total=len(tasks), unit="run", desc="reports", disable=not progress or not tasks)

    def done(result: RunResult) -> None:
        bar.update(1)
        bar.set_postfix_str(f"{result.region} {result.notebook}: {result.status}", refresh=False)

    try:
        if scheduler is not None:
            _run_dask(tasks, results, done, scheduler)
        elif jobs == 1 or len(tasks) <= 1:
            _run_serial(tasks, results, done)
        else:
            _run_pool(tasks, results, done, jobs)
    finally:
        bar.close()
    return [results[i] for i in range(len(tasks))]


# ------------------------------------------------------------------------------------------------ run
def run(regions: str | Iterable[str] = "all", notebooks: str | Iterable[str] = "all", *, lang: str = "zh",
        jobs: int | None = None, data_dir: str | Path | None = None, output_dir: str | Path | None = None,
        notebooks_dir: str | Path | None = None, parameters: Mapping | None = None, force: bool = False,
        retry_failed: bool = False, timeout: float | None = 600, scheduler=None,
        prepare: Callable[[], object] | None = None, progress: bool = True,
        valid_regions: Sequence[str] | None = None, engine: str = "warm",
        scores: pd.DataFrame | Callable[[], pd.DataFrame] | None = None) -> RunSummary:
    """Render every selected notebook for every selected region, then the index, run summary and manifest.

    Parameters
    ----------
    regions : ``"all"``, a region name, a comma-separated string or a list of names.
    notebooks : ``"all"`` or names as ``01-income-growth``, ``01`` or ``income-growth``.
    lang : ``"zh"`` or ``"en"``: passed to the notebooks and used for the index.
    jobs : parallel worker processes (default ``os.cpu_count()``; 1 runs in this process).
    data_dir : processed data folder (default ``data/processed``).
    output_dir : reports folder (default ``reports/``); pages go to ``output_dir/<region>/``.
    notebooks_dir : where ``NN-name.ipynb`` live (default ``notebooks/``); notebooks run with it as
        working directory.
    parameters : extra notebook parameters; each must be declared by at least one selected notebook and
        is passed only to the notebooks that declare it. The built-ins ``region``, ``lang``, ``data_dir``
        (absolute) and ``output_dir`` (the absolute region folder ``output_dir/<region>``) are likewise
        passed only to the notebooks that declare them.
    force : re-run everything, even runs whose inputs are unchanged.
    retry_failed : run only the runs whose last status was failed, timeout or killed (and runs with no
        output yet); everything else is reported as skipped.
    timeout : seconds allowed per cell (None: no limit); a run exceeding it is reported as ``timeout``.
    scheduler : a Dask scheduler address (or a ``distributed.Client``) to run on instead of local processes.
        Workers must see the same paths (a shared file system).
    prepare : called once, with no arguments, after the checks and before rendering (e.g. to compute all
        regions' results in one vectorized pass). It runs every time, because the skip decision hashes
        the data it writes.
    progress : show a progress bar over runs.
    valid_regions : the allowed region names, all counties (default: the counties and prefectures of the data,
        :func:`region_levels`). Each region runs the selected notebooks written for its level
        (:func:`notebook_level`): ``"all"`` gives a county the county notebooks and a prefecture its own.
    engine : ``"warm"`` (a kernel kept per worker, see :mod:`analysis.publish.kernels`) or ``"plain"`` (a fresh
        kernel per notebook, papermill's default behaviour).
    scores : optional table (``region`` column plus e.g. composite score, rank interval, grade) shown in
        the index's region table, or a function returning it (called after ``prepare``).

    Returns
    -------
    RunSummary
        ``.rows``, ``.failed`` (region names), ``.failed_runs``, ``.exit_code``, ``.describe()``,
        ``.manifest``, ``.to_frame()``.

    Raises
    ------
    ParameterError
        Before any kernel starts or file is written, for an unknown region, notebook, parameter, language,
        or a region name that would escape the reports folder; the message lists the valid values.
    """
    plan = _plan(regions, notebooks, lang=lang, jobs=jobs, data_dir=data_dir, output_dir=output_dir,
                 notebooks_dir=notebooks_dir, parameters=parameters, timeout=timeout, engine=engine,
                 valid_regions=valid_regions)
    started = datetime.now().astimezone()
    if scheduler is None and plan.jobs > 1 and _pool_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver
        forkserver.ensure_running()  # its imports then overlap with `prepare` and the hashing below
    if prepare is not None:
        prepare()
    if callable(scores):
        scores = scores()    # after `prepare`, which may be what computes them
    inputs = _Inputs.collect(plan)
    plan.output_dir.mkdir(parents=True, exist_ok=True)
    state = load_state(plan.output_dir)
    tasks, rows, fingerprints = _schedule(plan, inputs, state, force=force, retry_failed=retry_failed)
    facts = site.data_facts(plan.data_dir)
    tasks = _with_navigation(tasks, rows, state, plan.lang, facts["places"])
    if tasks:   # the pages' pictures are kept for the Word reports (the figure store)
        kept = {"inputs": figures.inputs(plan.data_dir, inputs.code), "specs": figures.build_specs()}
        tasks = [replace(t, figures=kept) for t in tasks]

    done: dict[int, RunResult] = {}
    try:
        execute(tasks, jobs=plan.jobs, scheduler=scheduler, progress=progress, results=done)
    finally:
        # also on interruption: record and publish the runs that finished
        for result in done.values():
            rows[(result.region, result.notebook)] = result
            state["runs"][_key(result.region, result.notebook)] = {
                **asdict(result), "fingerprint": fingerprints[(result.region, result.notebook)],
                "finished": datetime.now().astimezone().isoformat(timespec="seconds")}
        ordered = [rows[(r, s)] for r in plan.regions for s in plan.notebooks if (r, s) in rows]
        options = {"force": force, "retry_failed": retry_failed, "scheduler": str(scheduler) if scheduler else None}
        summary = RunSummary(ordered, plan.output_dir, _manifest(plan, inputs, started, options))
        _publish(plan.output_dir, state, summary, lang, scores, list(plan.notebooks), facts)
    return summary


@dataclass(frozen=True)
class _Plan:
    """The checked arguments of one :func:`run`."""

    regions: list[str]
    notebooks: dict[str, Path]
    declared: dict[str, set[str]]
    extra: dict
    lang: str
    jobs: int
    timeout: float | None
    engine: str
    data_dir: Path
    output_dir: Path
    notebooks_dir: Path
    #: Which selected notebooks each region runs (those written for its level).
    pairs: dict[str, list[str]] = field(default_factory=dict)


def _plan(regions, notebooks, *, lang, jobs, data_dir, output_dir, notebooks_dir, parameters, timeout, engine,
          valid_regions) -> _Plan:
    """Every check of :func:`run`'s arguments, before anything runs or is written."""
    data_dir = Path(data_dir or config.DATA_PROCESSED).resolve()
    output_dir = Path(output_dir or config.REPORTS).resolve()
    notebooks_dir = Path(notebooks_dir or config.NOTEBOOKS).resolve()
    jobs = _check_options(lang, jobs, timeout, engine)
    chosen = select_notebooks(notebooks, find_notebooks(notebooks_dir))
    declared = declared_parameters(chosen)
    extra = check_parameters(parameters, declared)
    levels = region_levels(data_dir) if valid_regions is None else dict.fromkeys(valid_regions, "county")
    region_list = select_regions(regions, list(levels), output_dir)
    written_for = {stem: notebook_level(path) for stem, path in chosen.items()}
    pairs = {r: [s for s in chosen if written_for[s] == levels[r]] for r in region_list}
    if not any(pairs.values()):
        raise ParameterError(f"none of the notebooks {', '.join(chosen)} is written for the region(s) "
                             f"{', '.join(region_list)}: " + "; ".join(
                                 f"{s} is for a {written_for[s]}" for s in chosen))
    return _Plan(region_list, chosen, declared, extra, lang, jobs, timeout, engine, data_dir, output_dir,
                 notebooks_dir, pairs)


@dataclass(frozen=True)
class _Inputs:
    """Hashes and versions a run's outputs depend on (the fingerprint) and the manifest records."""

    data_hash: str
    data_files: int
    notebooks: dict[str, str]
    code: str
    packages: dict[str, str]
    commit: str

    @classmethod
    def collect(cls, plan: _Plan) -> _Inputs:
        digest, n_files = site.data_hash(plan.data_dir) if plan.data_dir.is_dir() else ("no data", 0)
        notebooks = {stem: sha256_file(path) for stem, path in plan.notebooks.items()}
        return cls(digest, n_files, notebooks, code_hash(), site.package_versions(), site.git_commit())


def _schedule(plan: _Plan, inputs: _Inputs, state: dict, *, force: bool, retry_failed: bool):
    """Split the region x notebook runs into tasks to execute and rows reported as skipped."""
    tasks, skipped, fingerprints = [], {}, {}
    for region in plan.regions:
        for stem, path in plan.notebooks.items():
            if stem not in plan.pairs[region]:
                continue
            values = {"region": region, "lang": plan.lang, "data_dir": str(plan.data_dir),
                      "output_dir": str(plan.output_dir / region), **plan.extra}
            params = {k: v for k, v in values.items() if k in plan.declared[stem]}
            fp = fingerprint(notebook=inputs.notebooks[stem], parameters=params, data=inputs.data_hash,
                             code=inputs.code, packages=inputs.packages)
            fingerprints[(region, stem)] = fp
            relative = f"{region}/{stem}.html"
            exists = all((plan.output_dir / region / f"{stem}{suffix}").is_file() for suffix in (".html", ".ipynb"))
            if _decide(state["runs"].get(_key(region, stem)), fp, exists, force, retry_failed):
                tasks.append(RenderTask(region, stem, str(path), str(plan.output_dir / region),
                                        str(plan.notebooks_dir), params, plan.lang, plan.timeout, plan.engine,
                                        inputs.data_hash, inputs.commit, relative))
            else:
                skipped[(region, stem)] = RunResult(region, stem, "skipped", 0.0, "", "", relative, 0)
    return tasks, skipped, fingerprints


def _with_navigation(tasks: list[RenderTask], skipped: Mapping, state: dict, lang: str,
                     places: pd.DataFrame | None) -> list[RenderTask]:
    """Each task with its page's title (report title and region name in ``lang``) and navigation bar: the
    index and every page of its region, this run's and earlier runs' (``state``), in notebook order."""
    names = ({} if places is None or lang != "en"
             else dict(zip(places["region"].astype(str), places["name_en"].astype(str))))
    pages: dict[str, set[str]] = {}
    for region, notebook in [*((t.region, t.notebook) for t in tasks), *skipped,
                             *((v["region"], v["notebook"]) for v in state["runs"].values() if v.get("html"))]:
        pages.setdefault(region, set()).add(notebook)
    out = []
    for task in tasks:
        shown = names.get(task.region, task.region)
        nav = site.page_nav(lang, notebooks=sorted(pages[task.region]), current=task.notebook, region=shown)
        out.append(replace(task, title=site.page_title(lang, task.notebook, shown), nav=nav))
    return out


def _manifest(plan: _Plan, inputs: _Inputs, started: datetime, options: dict) -> dict:
    parameters = {"regions": plan.regions, "notebooks": list(plan.notebooks), "lang": plan.lang,
                  "parameters": plan.extra, "timeout": plan.timeout, "jobs": plan.jobs, "engine": plan.engine,
                  **options, "output_dir": str(plan.output_dir), "notebooks_dir": str(plan.notebooks_dir)}
    return site.build_manifest(data_dir=plan.data_dir, data_digest=inputs.data_hash, data_files=inputs.data_files,
                               notebooks=inputs.notebooks, code_hash=inputs.code, started=started,
                               finished=datetime.now().astimezone(), commit=inputs.commit,
                               packages=inputs.packages, parameters=parameters)


def _pages(state: dict) -> pd.DataFrame:
    records = [{"region": v["region"], "notebook": v["notebook"], "status": v["status"], "html": v.get("html", "")}
               for v in state["runs"].values()]
    return pd.DataFrame(records, columns=["region", "notebook", "status", "html"])


def _publish(output_dir: Path, state: dict, summary: RunSummary, lang: str, scores, notebooks,
             facts: Mapping) -> None:
    """Write the state, runs.csv, manifest.json and index.html (each atomically); ``facts`` is
    :func:`analysis.publish.site.data_facts`."""
    atomic_write(output_dir / STATE_FILE, json.dumps(state, ensure_ascii=False, indent=1) + "\n")
    runs = summary.to_frame()
    site.write_runs_csv(output_dir, runs)
    site.write_manifest(output_dir, summary.manifest)
    pages = _pages(state)
    columns = sorted(set(pages["notebook"]) | set(notebooks))
    site.write_index(output_dir, runs=runs, pages=pages, manifest=summary.manifest, lang=lang,
                     notebooks=columns, scores=scores, **facts)


def rebuild_index(output_dir: str | Path | None = None, *, lang: str = "zh",
                  scores: pd.DataFrame | None = None) -> Path:
    """Re-render ``index.html`` from the files of the last run (e.g. once assessment scores exist, or the
    Word and PDF reports are written)."""
    output_dir = Path(output_dir or config.REPORTS).resolve()
    site.labels(lang)
    manifest = json.loads((output_dir / "manifest.json").read_text(encoding="utf-8"))
    runs = site.read_runs_csv(output_dir)
    pages = _pages(load_state(output_dir))
    return site.write_index(output_dir, runs=runs, pages=pages, manifest=manifest, lang=lang,
                            notebooks=sorted(set(pages["notebook"])), scores=scores,
                            **site.data_facts(manifest.get("data_dir")))
