"""The build: every result table for all regions, computed once by declared steps and stored.

Each :class:`Step` names its inputs (processed tables, and stored tables of earlier steps), its
specification (plain data, or none), the modules whose code it runs, and the tables it returns as
``dict[str, DataFrame]``. A step is fingerprinted by its inputs, its specification and its own code
(the modules it names and the project modules they import), so that rewording a page re-runs nothing and
changing the training covariates re-runs the training study alone. Results go to
``data/processed/results/<table>.parquet``; the fingerprints to ``results/steps.json``.

Notebooks read stored tables with :func:`load`, and ask for a study's tables under their own
specification with :func:`study`: the stored tables when the specification and years are those of the
build, else the study run now for the notebook's prefecture.

Examples
--------
>>> from analysis import build
>>> build.build()  # doctest: +SKIP
>>> build.load("income_growth", region="北岭县")  # doctest: +SKIP
>>> from analysis.studies.workshops import WorkshopSpec
>>> build.study("workshop_effects", WorkshopSpec(control_group="not_yet_treated"),
...             prefecture="示例市", county="北岭县", years=(2020, 2024))  # doctest: +SKIP
"""
from __future__ import annotations

import inspect
import json
import os
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from analysis.config import DATA_PROCESSED, PACKAGE_CONFIG, visit_capacity
from analysis.core.files import atomic_write, sha256_file, text_hash, tree_hash, write_parquet
from analysis.errors import ParameterError
from analysis.io import data
from analysis.measures import dynamics, indicators, labour, townships, warning_validation
from analysis.studies import monitoring as monitoring_study
from analysis.studies import post_assessment, training, workshops
from analysis.studies.spec import Spec

RESULTS = "results"
STEPS_FILE = "steps.json"
#: Environment variables that change what a step computes (recorded in every fingerprint).
ENVIRONMENT = ("ANALYSIS_CONFIG_DIR", "ANALYSIS_BOOTSTRAP_REPLICATES", "ANALYSIS_HONEST_MBAR", "ANALYSIS_HONEST")


class StudyTables(dict):
    """A study's tables by name (a ``dict``), with the specification they were computed under (``spec``)."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], spec: Spec):
        super().__init__(tables)
        self.spec = spec


class Inputs:
    """What a step may read: the processed tables (loaded once per build) and stored tables."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self._tables: dict[str, pd.DataFrame] = {}

    @property
    def households(self) -> pd.DataFrame:
        return self._dataset("households")

    @property
    def members(self) -> pd.DataFrame:
        return self._dataset("members")

    def _dataset(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            self._tables[name] = data.load(name, self.data_dir)
        return self._tables[name]

    def result(self, name: str) -> pd.DataFrame:
        """A table stored by an earlier step of this build."""
        return load(name, self.data_dir)


@dataclass(frozen=True)
class Step:
    """One declared build step.

    Attributes
    ----------
    name : str
        The step's name (``python -m analysis build --step NAME``).
    outputs : tuple of str
        The tables it returns, each stored as ``results/<name>.parquet``.
    run : callable
        ``run(inputs, spec) -> dict[str, DataFrame]`` with exactly ``outputs`` as keys.
    code : tuple of module
        The modules whose code decides the numbers (the project modules they import are followed).
    inputs : tuple of str
        Processed tables (``households``, ``members``), files of the processed folder (``workshops.csv``)
        and stored tables of earlier steps (``results:<table>``) the step reads.
    spec : Spec or None
        The specification the build uses for all regions.
    """

    name: str
    outputs: tuple[str, ...]
    run: Callable[[Inputs, Spec | None], dict[str, pd.DataFrame]]
    code: tuple[types.ModuleType, ...]
    inputs: tuple[str, ...] = ("households", "members")
    spec: Spec | None = None


@dataclass(frozen=True)
class Study:
    """A study a notebook can ask for under its own specification (:func:`study`).

    ``steps`` are the build steps that compute it for all regions with the default specification;
    ``rerun(data_dir, spec, prefecture, county, first, last)`` computes it for one prefecture under another
    specification or other years; ``select(tables, prefecture, county)`` keeps the rows a page shows;
    ``years`` says whether stored tables cover a page's years.
    """

    name: str
    steps: tuple[str, ...]
    rerun: Callable[..., dict[str, pd.DataFrame]]
    select: Callable[[dict[str, pd.DataFrame], str, str | None], dict[str, pd.DataFrame]]


# ----------------------------------------------------------------------------------------- the steps
def _income(inputs: Inputs, spec: None) -> dict[str, pd.DataFrame]:
    h = inputs.households
    return {"income_growth": indicators.income_growth(h, by=("prefecture", "county")),
            "income_growth_prefecture": indicators.income_growth(h, by=("prefecture",)),
            "group_growth": indicators.group_growth(h, by=("prefecture", "county")),
            "group_growth_prefecture": indicators.group_growth(h, by=("prefecture",)),
            "panel_growth": indicators.panel_growth(h, by=("prefecture", "county")),
            "panel_growth_prefecture": indicators.panel_growth(h, by=("prefecture",)),
            "income_distribution": indicators.income_distribution(h, by=("prefecture", "county"))}


def _employment(inputs: Inputs, spec: None) -> dict[str, pd.DataFrame]:
    m = inputs.members
    h = inputs.households
    return {"employment": indicators.employment(m, by=("prefecture", "county"), households=h),
            "employment_prefecture": indicators.employment(m, by=("prefecture",), households=h),
            "village_employment": workshops.village_employment(inputs.households, m)}


def _training_indicators(inputs: Inputs, spec: None) -> dict[str, pd.DataFrame]:
    m = inputs.members
    return {"training": indicators.training(m, by=("prefecture", "county")),
            "training_prefecture": labour.training(m, by=("prefecture",)),
            "training_types": training.training_types(inputs.households, m)}


def _workshop_effects(inputs: Inputs, spec: workshops.WorkshopSpec) -> dict[str, pd.DataFrame]:
    return workshops.run(inputs.result("village_employment"), workshops.workshop_openings(inputs.data_dir),
                         spec)


def _workshop_sensitivity(inputs: Inputs, spec: workshops.WorkshopSpec) -> dict[str, pd.DataFrame]:
    return workshops.sensitivity_tables(inputs.result("village_employment"),
                                        workshops.workshop_openings(inputs.data_dir), spec)


def _townships(inputs: Inputs, spec: None) -> dict[str, pd.DataFrame]:
    return {"township_indicators": townships.township_indicators(inputs.households, inputs.members)}


def _dynamics(inputs: Inputs, spec: None) -> dict[str, pd.DataFrame]:
    replicates = os.environ.get(ENVIRONMENT[1])
    return dynamics.tables(inputs.households, n_boot=int(replicates) if replicates else dynamics.N_BOOT)


def _warning_validation(inputs: Inputs, spec: monitoring_study.MonitoringSpec) -> dict[str, pd.DataFrame]:
    """Rolling-origin validation per prefecture (the oracle of synthetic data joins a single prefecture)."""
    sources = inputs.data_dir / "sources.json"
    truth = json.loads(sources.read_text(encoding="utf-8")).get("truth", {}) if sources.is_file() else {}
    households, members = inputs.households, inputs.members
    prefectures = households["prefecture"].dropna().unique()
    rolling, reliability = [], []
    for prefecture in prefectures:
        mine = households[households["prefecture"] == prefecture]
        preds = warning_validation.predictions(mine, members[members["household_id"].isin(mine["household_id"])],
                                               rules=spec.risk_rules or None, near_band=spec.near_band)
        oracle = truth.get("warning_oracle") if len(prefectures) == 1 else None
        rolling.append(warning_validation.measures(preds, visit_capacity(), oracle=oracle)
                       .assign(prefecture=prefecture))
        reliability.append(warning_validation.reliability(preds).assign(prefecture=prefecture))
    if not rolling:   # no households: the tables' columns, no rows
        preds = warning_validation.predictions(households.iloc[0:0])
        rolling = [warning_validation.measures(preds).assign(prefecture=pd.Series(dtype="string"))]
        reliability = [warning_validation.reliability(preds).assign(prefecture=pd.Series(dtype="string"))]
    return {"monitoring_warning_rolling": pd.concat(rolling, ignore_index=True),
            "monitoring_warning_reliability": pd.concat(reliability, ignore_index=True)}


def _workshop_rerun(data_dir: Path, spec, prefecture: str, county: str, first: int, last: int):
    villages = load("village_employment", data_dir, region=prefecture, level="prefecture")
    return workshops.run(villages, workshops.workshop_openings(data_dir, prefecture), spec, first, last,
                         counties=[county])


def _training_effects(inputs: Inputs, spec: training.TrainingSpec) -> dict[str, pd.DataFrame]:
    return training.run(inputs.households, inputs.members, spec)


def _training_rerun(data_dir: Path, spec, prefecture: str, county: str, first: int, last: int):
    households = data.load("households", data_dir, region=prefecture, level="prefecture",
                           columns=["household_id", "year", "household_type"])
    members = data.load("members", data_dir, region=prefecture, level="prefecture")
    return training.run(households, members, spec, first, last, counties=[county])


def _scope_rows(tables: dict[str, pd.DataFrame], prefecture: str, county: str) -> dict[str, pd.DataFrame]:
    """Rows of ``prefecture`` as a whole and of ``county`` (tables with ``scope`` and ``county`` columns)."""
    out = {}
    for name, table in tables.items():
        if table.empty:
            out[name] = table.reset_index(drop=True)
            continue
        own = table["county"].eq(county).fillna(False).to_numpy(dtype=bool)
        keep = (table["prefecture"] == prefecture).to_numpy() & ((table["scope"] == "prefecture").to_numpy() | own)
        out[name] = table[keep].reset_index(drop=True)
    return out


def _poverty(inputs: Inputs, spec: monitoring_study.MonitoringSpec) -> dict[str, pd.DataFrame]:
    return monitoring_study.poverty_tables(inputs.households, spec)


def _monitoring(inputs: Inputs, spec: monitoring_study.MonitoringSpec) -> dict[str, pd.DataFrame]:
    return monitoring_study.monitoring_tables(inputs.households, spec)


def _early_warning(inputs: Inputs, spec: monitoring_study.MonitoringSpec) -> dict[str, pd.DataFrame]:
    return monitoring_study.early_warning(inputs.households, inputs.members, spec)


def _assessment(inputs: Inputs, spec: post_assessment.AssessmentSpec) -> dict[str, pd.DataFrame]:
    return post_assessment.run(inputs.households, inputs.members, spec)


STEPS: tuple[Step, ...] = (
    Step("income", ("income_growth", "income_growth_prefecture", "group_growth", "group_growth_prefecture",
                    "panel_growth", "panel_growth_prefecture", "income_distribution"),
         _income, (indicators,), ("households",)),
    Step("employment", ("employment", "employment_prefecture", "village_employment"), _employment,
         (indicators, workshops)),
    Step("training", ("training", "training_prefecture", "training_types"), _training_indicators,
         (indicators, training)),
    Step("workshop_effects", ("workshop_designs", "workshop_cohorts", "workshop_event_study",
                              "workshop_estimates"),
         _workshop_effects, (workshops,), ("results:village_employment", "members", "workshops.csv"),
         workshops.WorkshopSpec()),
    Step("training_effects", ("training_att", "training_balance", "training_overlap", "training_propensity"),
         _training_effects, (training,), spec=training.TrainingSpec()),
    Step("poverty", ("poverty_fgt", "poverty_fgt_prefecture", "poverty_basic_needs", "poverty_growth_incidence",
                     "poverty_growth_incidence_prefecture"),
         _poverty, (monitoring_study,), ("households",), monitoring_study.MonitoringSpec()),
    Step("monitoring", ("monitoring_coverage", "monitoring_identification_gap_summary",
                        "monitoring_identification_gap", "monitoring_identification_overlap",
                        "monitoring_identification_sensitivity", "monitoring_elimination", "monitoring_elimination_survival",
                        "monitoring_elimination_survival_prefecture", "monitoring_failed_eliminations_summary",
                        "monitoring_failed_eliminations", "monitoring_transitions", "monitoring_return_rates",
                        "monitoring_assistance", "monitoring_risk_types"),
         _monitoring, (monitoring_study,), ("households",), monitoring_study.MonitoringSpec()),
    Step("early_warning", ("monitoring_warning_validity", "monitoring_warning_validity_prefecture",
                           "monitoring_warning_predictions"),
         _early_warning, (monitoring_study,), spec=monitoring_study.MonitoringSpec()),
    Step("assessment", ("assessment_indicators", "assessment_scores", "assessment_scorecard", "assessment_intervals",
                        "assessment_rank_statements", "assessment_sensitivity", "assessment_key_figures",
                        "assessment_key_figures_prefecture"),
         _assessment, (post_assessment,), spec=post_assessment.AssessmentSpec()),
    Step("workshop_sensitivity", ("workshop_honest", "workshop_honest_breakdown"), _workshop_sensitivity,
         (workshops,), ("results:village_employment", "members", "workshops.csv"), workshops.WorkshopSpec()),
    Step("poverty_dynamics", tuple(f"dynamics_{t}{s}" for t in ("chronic", "flows", "growth", "components")
                                   for s in ("", "_prefecture")),
         _dynamics, (dynamics,), ("households",)),
    Step("warning_validation", ("monitoring_warning_rolling", "monitoring_warning_reliability"), _warning_validation,
         (warning_validation,), ("households", "members", "sources.json"),
         spec=monitoring_study.MonitoringSpec()),
    Step("townships", ("township_indicators",), _townships, (townships,)),
)


def _prefecture_rows(tables: dict[str, pd.DataFrame], prefecture: str, county: str | None) -> dict[str, pd.DataFrame]:
    """Every row of ``prefecture`` (pages compare a county with its peers)."""
    return {name: table[table["prefecture"] == prefecture].reset_index(drop=True) for name, table in tables.items()}


def _prefecture_data(data_dir: Path, prefecture: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (data.load("households", data_dir, region=prefecture, level="prefecture"),
            data.load("members", data_dir, region=prefecture, level="prefecture"))


def _monitoring_rerun(data_dir: Path, spec, prefecture: str, county: str | None, first: int, last: int):
    households, members = _prefecture_data(data_dir, prefecture)
    return {**monitoring_study.poverty_tables(households, spec), **monitoring_study.monitoring_tables(households, spec),
            **monitoring_study.early_warning(households, members, spec)}


def _assessment_rerun(data_dir: Path, spec, prefecture: str, county: str | None, first: int, last: int):
    return post_assessment.run(*_prefecture_data(data_dir, prefecture), spec)


STUDIES: dict[str, Study] = {s.name: s for s in (
    Study("workshop_effects", ("workshop_effects",), _workshop_rerun, _scope_rows),
    Study("training_effects", ("training_effects",), _training_rerun, _scope_rows),
    Study("monitoring", ("poverty", "monitoring", "early_warning"), _monitoring_rerun, _prefecture_rows),
    Study("assessment", ("assessment",), _assessment_rerun, _prefecture_rows),
)}


def step(name: str) -> Step:
    """The declared step called ``name``."""
    for s in STEPS:
        if s.name == name:
            return s
    raise ParameterError(f"no build step {name!r}; steps: {[s.name for s in STEPS]}")


def producer(table: str) -> Step:
    """The step that writes ``table``."""
    for s in STEPS:
        if table in s.outputs:
            return s
    raise ParameterError(f"no build step writes the table {table!r}")


# ----------------------------------------------------------------------------------------- fingerprints
def _project_modules(roots: tuple[types.ModuleType, ...]) -> list[types.ModuleType]:
    """``roots`` and every project module they import, directly or not (by the names they hold)."""
    seen: dict[str, types.ModuleType] = {}
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module.__name__ in seen:
            continue
        seen[module.__name__] = module
        for value in vars(module).values():
            name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
            if isinstance(name, str) and name.startswith("analysis.") and name not in seen and name in sys.modules:
                todo.append(sys.modules[name])
    return [seen[k] for k in sorted(seen)]


def code_hash(modules: tuple[types.ModuleType, ...]) -> str:
    """Hash of the source files of ``modules`` and the project modules they use."""
    files = [Path(inspect.getfile(m)) for m in _project_modules(modules)]
    return text_hash(*(f"{f.name}:{sha256_file(f)}" for f in files))


def _input_hash(name: str, data_dir: Path, digests: Mapping[str, str]) -> str:
    if name.startswith("results:"):
        return digests[producer(name.split(":", 1)[1]).name]
    path = data_dir / name
    if path.is_dir():
        return tree_hash(path, ("*.parquet",))[0]
    return sha256_file(path) if path.is_file() else "absent"


def _config_hash(folder: Path) -> str:
    """Hash of the configuration files that change numbers: every YAML and CSV file of ``folder`` but the
    message catalogues (``messages*.yaml``) and the English place names (``place_names.csv``), which only
    word the pages."""
    files = sorted(p for pattern in ("*.yaml", "*.csv") for p in folder.glob(pattern)
                   if p.is_file() and not p.name.startswith("messages") and p.name != "place_names.csv")
    return text_hash(*(f"{p.name}:{sha256_file(p)}" for p in files))


def fingerprints(data_dir: str | Path | None = None) -> dict[str, str]:
    """The current fingerprint of every step: its inputs, specification, code, configuration files."""
    folder = Path(data_dir or DATA_PROCESSED)
    config = [_config_hash(PACKAGE_CONFIG)]
    user = os.environ.get("ANALYSIS_CONFIG_DIR")
    if user and Path(user).is_dir():
        config.append(_config_hash(Path(user)))
    environment = [f"{v}={os.environ.get(v, '')}" for v in ENVIRONMENT]
    hashes: dict[str, str] = {}  # each processed table or file hashed once, whatever steps read it
    out: dict[str, str] = {}
    for s in STEPS:
        parts = []
        for name in s.inputs:
            if name.startswith("results:"):
                parts.append(f"{name}={_input_hash(name, folder, out)}")
                continue
            if name not in hashes:
                hashes[name] = _input_hash(name, folder, out)
            parts.append(f"{name}={hashes[name]}")
        spec = s.spec.key() if s.spec is not None else ""
        # the step's own function in this file decides numbers too (what it passes on, how it splits regions)
        own = inspect.getsource(s.run)
        out[s.name] = text_hash(s.name, *parts, spec, code_hash(s.code), own, *config, *environment)
    return out


# ----------------------------------------------------------------------------------------- running
def results_dir(data_dir: str | Path | None = None) -> Path:
    return Path(data_dir or DATA_PROCESSED) / RESULTS


def _recorded(data_dir: Path) -> dict:
    path = results_dir(data_dir) / STEPS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _check_outputs(s: Step, tables: dict[str, pd.DataFrame]) -> None:
    if set(tables) != set(s.outputs):
        raise RuntimeError(f"build step {s.name!r} returned {sorted(tables)}, but declares {sorted(s.outputs)}")
    for name, table in tables.items():
        if not isinstance(table, pd.DataFrame):
            raise RuntimeError(f"build step {s.name!r} returned a {type(table).__name__} for {name!r}, not a table")


def build(data_dir: str | Path | None = None, steps: list[str] | None = None, force: bool = False,
          progress: bool = False) -> dict[str, Path]:
    """Run every step whose fingerprint changed (or ``steps``, or all with ``force``); returns the paths
    written. A step's tables are written, then its fingerprint recorded, so an interrupted build redoes
    only the unfinished steps."""
    folder = Path(data_dir or DATA_PROCESSED)
    chosen = [step(n) for n in steps] if steps else list(STEPS)
    inputs, written = Inputs(folder), {}
    current = fingerprints(folder)
    recorded = _recorded(folder)
    todo = [s for s in chosen if force or steps or recorded.get(s.name, {}).get("fingerprint") != current[s.name]
            or not all((results_dir(folder) / f"{t}.parquet").exists() for t in s.outputs)]
    for s in tqdm(todo, desc="results", unit="step", disable=not progress):
        tables = s.run(inputs, s.spec)
        _check_outputs(s, tables)
        for name in s.outputs:
            written[name] = write_parquet(tables[name], results_dir(folder) / f"{name}.parquet")
        recorded[s.name] = {"fingerprint": current[s.name], "spec": s.spec.as_dict() if s.spec else None,
                            "outputs": list(s.outputs)}
        atomic_write(results_dir(folder) / STEPS_FILE, json.dumps(recorded, ensure_ascii=False, indent=1))
    return written


def stale(data_dir: str | Path | None = None) -> list[str]:
    """The steps whose stored tables are missing or out of date."""
    folder = Path(data_dir or DATA_PROCESSED)
    recorded, current = _recorded(folder), fingerprints(folder)
    return [s.name for s in STEPS if recorded.get(s.name, {}).get("fingerprint") != current[s.name]]


# ----------------------------------------------------------------------------------------- reading
# Result tables read in this process, by file identity (path, modification time, size, inode): a page
# asks for the same few tables many times. A rebuilt table has a new stamp; copies are handed out, so no
# caller can change what another reads.
_READ: dict[tuple, pd.DataFrame] = {}
_READ_MAX = 64


def _read(path: Path) -> pd.DataFrame:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    if key not in _READ:
        for old in [k for k in _READ if k[0] == key[0]]:
            del _READ[old]
        if len(_READ) >= _READ_MAX:
            del _READ[next(iter(_READ))]
        _READ[key] = pd.read_parquet(path)
    return _READ[key]


def load(name: str, data_dir: str | Path | None = None, region: str | None = None,
         level: str = "county") -> pd.DataFrame:
    """A stored result table (a copy), optionally one region's rows (by ``level``)."""
    path = results_dir(data_dir) / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no result table {name!r} at {path}; run `python -m analysis build` first")
    frame = _read(path)
    if region is not None:
        return frame[frame[level] == region].reset_index(drop=True)
    return frame.copy()


def study(name: str, spec: Spec, *, data_dir: str | Path | None = None, prefecture: str, county: str | None,
          years: tuple[int, int]) -> StudyTables:
    """A study's tables for one county (or none) and its prefecture, under ``spec`` and ``years``.

    The stored tables when ``spec`` equals the build's and ``years`` cover the build's years (a page with
    the default specification reads what the build computed); otherwise the study is run now on the
    prefecture's data, which is what a researcher who changed the specification in a notebook sees.
    """
    if name not in STUDIES:
        raise ParameterError(f"no study {name!r}; studies: {sorted(STUDIES)}")
    chosen = STUDIES[name]
    steps = [step(n) for n in chosen.steps]
    default = steps[0].spec
    if type(spec) is not type(default):
        raise ParameterError(f"the {name} study takes a {type(default).__name__}, not a {type(spec).__name__}")
    folder = Path(data_dir or DATA_PROCESSED)
    first, last = years
    if spec == default:
        stored = {t: load(t, folder) for s in steps for t in s.outputs}
        span = _years_of(stored)
        if span is None or (first <= span[0] and last >= span[1]):
            return StudyTables(chosen.select(stored, prefecture, county), spec)
    return StudyTables(chosen.select(chosen.rerun(folder, spec, prefecture, county, first, last), prefecture,
                                     county), spec)


def _years_of(tables: dict[str, pd.DataFrame]) -> tuple[int, int] | None:
    """The (first, last) years recorded in a study's tables, from their ``first_year``/``last_year``."""
    for table in tables.values():
        if {"first_year", "last_year"} <= set(table.columns) and not table.empty:
            return int(table["first_year"].min()), int(table["last_year"].max())
    return None
