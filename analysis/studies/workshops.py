"""Workshop effects (帮扶车间): what opening an assistance workshop did to village employment.

The study behind notebook ``02-employment``, for all prefectures at once (build step
``workshop_effects``). The outcome is a village x year panel of the working-age labour force's
employment rate (:func:`village_employment`, from :func:`analysis.measures.labour.employment`), with
the villages' opening years from :func:`workshop_openings`:

* Callaway & Sant'Anna (2021) group-time effects, aggregated by time since opening (event study, with
  pre-opening periods and a pre-trend test) and into one average effect;
* the static two-way fixed-effects coefficient beside it, which is biased when effects grow with time
  since opening (Goodman-Bacon 2021; de Chaisemartin & D'Haultfoeuille 2020).

A county holds a dozen or two villages, too few for a stable estimate, so the design is estimated on all
villages of each prefecture and, where a county has at least ``min_treated_villages`` treated and
``min_control_villages`` never-treated villages, on the county's own villages too. Every choice is a
field of :class:`WorkshopSpec`.

Examples
--------
>>> from analysis.studies import workshops
>>> spec = workshops.WorkshopSpec(control_group="not_yet_treated")
>>> tables = workshops.run(households, members, spec)  # doctest: +SKIP
>>> sorted(tables)  # doctest: +SKIP
['workshop_cohorts', 'workshop_designs', 'workshop_estimates', 'workshop_event_study']
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis.config import DATA_PROCESSED
from analysis.core.checks import require_columns
from analysis.errors import DataError, Problem
from analysis.estimators import honest, impact
from analysis.io import data
from analysis.measures import labour
from analysis.studies.spec import Spec, check_choice, check_count

#: File in the processed data folder listing workshop openings (columns village, first_treated[, county]).
WORKSHOPS_FILE = "workshops.csv"

VILLAGE_COLUMNS = ["prefecture", "county", "village", "year", "labour_force", "labour_force_employed",
                   "employment_rate", "workers", "workshop_jobs", "public_welfare_posts"]

Outcome = Literal["employment_rate", "workers", "public_welfare_posts"]
Unit = Literal["village"]
ControlGroup = Literal["never_treated", "not_yet_treated"]
Estimator = Literal["callaway_santanna"]


@dataclass(frozen=True)
class WorkshopSpec(Spec):
    """The specification of the workshop study; every field is checked when the object is made.

    Attributes
    ----------
    outcome : {"employment_rate", "workers", "public_welfare_posts"}
        Village x year outcome (columns of :func:`village_employment`).
    unit : {"village"}
        Unit of the panel (workshops serve villages).
    control_group : {"never_treated", "not_yet_treated"}
        Comparison villages of Callaway & Sant'Anna (2021).
    estimator : {"callaway_santanna"}
        Heterogeneity-robust estimator reported beside static TWFE.
    min_treated_villages, min_control_villages : int
        Fewest treated and never-treated villages for which the event study is reported.
    min_cohort_villages : int
        A cohort (opening year) of fewer villages is set aside: with one or two villages its
        within-cohort variance, which the standard errors rest on, has at most one degree of freedom.
    """

    outcome: Outcome = "employment_rate"
    unit: Unit = "village"
    control_group: ControlGroup = "never_treated"
    estimator: Estimator = "callaway_santanna"
    min_treated_villages: int = 6
    min_control_villages: int = 4
    min_cohort_villages: int = 3

    def __post_init__(self):
        check_choice(self, "outcome", Outcome)
        check_choice(self, "unit", Unit)
        check_choice(self, "control_group", ControlGroup)
        check_choice(self, "estimator", Estimator)
        for name in ("min_treated_villages", "min_control_villages", "min_cohort_villages"):
            check_count(self, name, minimum=1)


# --------------------------------------------------------------------------- the village panel
def village_employment(households: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Employment of the working-age labour force per village x year, all villages at once.

    The outcome of the workshop design: ``employment_rate`` is ``labour_force_employed / labour_force``
    as defined in :mod:`analysis.measures.labour`; ``workshop_jobs`` counts villagers holding a workshop job.
    """
    table = labour.employment(members, by=("prefecture", "county", "village"))
    return table[VILLAGE_COLUMNS]



# --------------------------------------------------------------------------- workshop openings
def openings_from_jobs(members: pd.DataFrame) -> pd.DataFrame:
    """Each village's first year in which any villager holds a workshop job; 0 where nobody ever does.

    A proxy for the opening year when no list of workshops is supplied: a workshop that opened with no
    villager recorded in it shows up a year late, and one employing only outsiders not at all.

    Parameters
    ----------
    members : DataFrame
        ``county``, ``village``, ``year`` and ``workshop_job``; not modified. Rows without a village are
        left out.

    Returns
    -------
    DataFrame
        ``county``, ``village``, ``first_treated`` (int), one row per village, sorted.

    Examples
    --------
    >>> m = pd.DataFrame({"county": ["A"] * 4, "village": ["v1", "v1", "v2", "v2"],
    ...                   "year": [2021, 2022, 2021, 2022], "workshop_job": [False, True, False, False]})
    >>> openings_from_jobs(m)["first_treated"].tolist()
    [2022, 0]
    """
    require_columns(members, ("county", "village", "year", "workshop_job"), "members, to date workshop openings")
    placed = members[members["village"].notna() & members["county"].notna()]
    job = placed["workshop_job"].astype("boolean").to_numpy(dtype=bool, na_value=False)
    villages = placed[["county", "village"]].drop_duplicates()
    first = placed[job].groupby(["county", "village"], observed=True)["year"].min().rename("first_treated")
    out = villages.merge(first.reset_index(), on=["county", "village"], how="left")
    out["first_treated"] = out["first_treated"].fillna(0).astype("int64")
    return out.sort_values(["county", "village"]).reset_index(drop=True)


def read_workshops(path: str | Path) -> pd.DataFrame:
    """Read a list of workshops (``village``, ``first_treated`` and optionally ``county``).

    A village may appear once per workshop; its ``first_treated`` is the earliest opening year. A blank
    or 0 opening year means no workshop. Villages not listed are taken to have none.

    Raises
    ------
    DataError
        Every missing column and every opening year that is not a whole number, with its row.
    """
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("village", "first_treated") if c not in frame.columns]
    if missing:
        raise DataError([Problem(path.name, None, c, "column is missing; the file needs village and "
                                 "first_treated (opening year, 0 or blank for none)") for c in missing])
    keys = ["county", "village"] if "county" in frame.columns else ["village"]
    text = frame["first_treated"].str.strip()
    year = pd.to_numeric(text.replace("", "0"), errors="coerce")
    bad = year.isna() | (year < 0) | (year % 1 != 0)
    if bad.any():
        raise DataError([Problem(path.name, int(i) + 2, "first_treated",
                                 f"{text[i]!r} is not an opening year (a whole number, 0 or blank for none)")
                         for i in np.flatnonzero(bad)])
    table = frame[keys].apply(lambda s: s.str.strip()).assign(first_treated=year.astype("int64"))
    opened = table[table["first_treated"] > 0].groupby(keys)["first_treated"].min()
    out = table[keys].drop_duplicates().merge(opened.reset_index(), on=keys, how="left")
    out["first_treated"] = out["first_treated"].fillna(0).astype("int64")
    return out.sort_values(keys).reset_index(drop=True)


def workshop_openings(data_dir: str | Path = "", prefecture: str | None = None) -> pd.DataFrame:
    """The villages' workshop opening years: ``<data_dir>/workshops.csv`` if present, else derived.

    Parameters
    ----------
    data_dir : str or Path
        The processed data folder (empty: ``data/processed``).
    prefecture : str, optional
        Derive openings for this prefecture's villages only (the file is read whole).

    Returns
    -------
    DataFrame
        ``village``, ``first_treated`` (0 = never), ``county`` when known, and ``source``:
        ``"file"`` (read from ``workshops.csv``) or ``"workshop_job"`` (derived by
        :func:`openings_from_jobs`).
    """
    folder = Path(data_dir) if data_dir else DATA_PROCESSED
    path = folder / WORKSHOPS_FILE
    if path.is_file():
        return read_workshops(path).assign(source="file")
    members = data.load("members", folder, region=prefecture, level="prefecture",
                        columns=["county", "village", "year", "workshop_job"])
    return openings_from_jobs(members).assign(source="workshop_job")


# --------------------------------------------------------------------------- the village panel
@dataclass(frozen=True)
class WorkshopDesign:
    """The balanced village x year panel the workshop effects are estimated on, and what was set aside.

    ``panel`` has ``unit`` (county/village), ``county``, ``village``, ``year``, ``employment_rate``,
    ``first_treated`` (0 = never) and ``treated`` (open in that year). ``cohorts`` counts the villages
    kept by opening year (0 = never).
    """

    panel: pd.DataFrame
    source: str
    cohorts: pd.Series
    unbalanced: int
    early: int
    small_cohorts: tuple[tuple[int, int], ...]
    min_cohort_villages: int = 3

    def county(self, county: str) -> "WorkshopDesign":
        """The same design restricted to one county's villages (cohort sizes checked again)."""
        panel = self.panel[self.panel["county"] == county]
        kept, small = _drop_small_cohorts(panel, self.min_cohort_villages)
        return replace(self, panel=kept, cohorts=_cohort_sizes(kept), small_cohorts=small)

    @property
    def n_treated(self) -> int:
        return int(self.cohorts[self.cohorts.index > 0].sum())

    @property
    def n_never(self) -> int:
        return int(self.cohorts.get(0, 0))


def _cohort_sizes(panel: pd.DataFrame) -> pd.Series:
    return panel.drop_duplicates("unit")["first_treated"].value_counts().sort_index()


def _drop_small_cohorts(panel: pd.DataFrame, min_villages: int) -> tuple[pd.DataFrame, tuple[tuple[int, int], ...]]:
    sizes = _cohort_sizes(panel)
    small = sizes[(sizes.index > 0) & (sizes < min_villages)]
    kept = panel[~panel["first_treated"].isin(small.index)].reset_index(drop=True)
    return kept, tuple((int(g), int(n)) for g, n in small.items())


def workshop_panel(villages: pd.DataFrame, openings: pd.DataFrame, first: int, last: int,
                   spec: WorkshopSpec = WorkshopSpec()) -> WorkshopDesign:
    """Join village employment with opening years and keep what the estimators can use.

    Villages not observed with a labour force in every year of ``first``-``last`` are set aside (the
    estimators need a balanced panel), as are villages whose workshop opened in or before the first
    year (no untreated year to compare with) and cohorts of fewer than ``spec.min_cohort_villages`` villages.
    A workshop opening after ``last`` counts as none within the window. Villages missing from
    ``openings`` are taken to have no workshop.
    """
    keys = ["county", "village"] if "county" in openings.columns else ["village"]
    window = villages[(villages["year"] >= first) & (villages["year"] <= last)]
    if keys == ["village"] and (window.groupby("village")["county"].nunique() > 1).any():
        raise ValueError(f"{WORKSHOPS_FILE} has no county column, but some village names occur in more "
                         "than one county; add a county column to tell them apart")
    panel = window.merge(openings[keys + ["first_treated"]], on=keys, how="left", validate="many_to_one")
    first_treated = panel["first_treated"].fillna(0).astype("int64")
    panel = pd.DataFrame({
        "unit": panel["county"].astype(str) + "/" + panel["village"].astype(str),
        "county": panel["county"], "village": panel["village"], "year": panel["year"].astype("int64"),
        spec.outcome: panel[spec.outcome].astype(float),
        "first_treated": np.where(first_treated > last, 0, first_treated),
    })
    years = panel["year"].nunique()
    observed = panel.dropna(subset=[spec.outcome]).groupby("unit")["year"].nunique()
    complete = observed.index[observed == years]
    unbalanced = panel["unit"].nunique() - len(complete)
    panel = panel[panel["unit"].isin(complete)]
    early = (panel["first_treated"] > 0) & (panel["first_treated"] <= panel["year"].min())
    n_early = panel.loc[early, "unit"].nunique()
    kept, small = _drop_small_cohorts(panel[~early], spec.min_cohort_villages)
    kept = kept.assign(treated=(kept["first_treated"] > 0) & (kept["year"] >= kept["first_treated"]))
    source = str(openings["source"].iloc[0]) if "source" in openings.columns and len(openings) else "file"
    return WorkshopDesign(kept.reset_index(drop=True), source, _cohort_sizes(kept), int(unbalanced),
                          int(n_early), small, spec.min_cohort_villages)


# --------------------------------------------------------------------------- the estimates
@dataclass(frozen=True)
class WorkshopEffects:
    """Event study, overall average and static TWFE for one scope; ``reason`` says why none exist."""

    scope: str
    design: WorkshopDesign
    event: impact.Estimate | None = None
    simple: impact.Estimate | None = None
    twfe: impact.Estimate | None = None
    reason: str | None = None
    error: str = ""

    @property
    def available(self) -> bool:
        return self.event is not None


def workshop_effects(design: WorkshopDesign, scope: str, spec: WorkshopSpec = WorkshopSpec()) -> WorkshopEffects:
    """Callaway & Sant'Anna (2021) event study and simple ATT against ``spec.control_group``, and TWFE.

    Group-time effects are doubly robust (no covariates, so difference-in-means per group-time cell)
    with a varying base period; standard errors from the influence functions, by village (see
    :func:`analysis.estimators.impact.staggered_did`). The TWFE regression clusters by village (CRV1).
    A design with too few villages returns ``reason="too_few"``; one the estimators refuse returns
    ``reason="failed"`` and the estimator's message in ``error``.
    """
    if design.n_treated < spec.min_treated_villages or design.n_never < spec.min_control_villages:
        return WorkshopEffects(scope, design, reason="too_few")
    args = dict(data=design.panel, outcome=spec.outcome, unit="unit", time="year",
                first_treated="first_treated", control_group=spec.control_group)
    try:
        with warnings.catch_warnings():
            # Small cohorts are set aside beforehand (spec.min_cohort_villages); the library's notice about
            # them would only repeat that.
            warnings.filterwarnings("ignore", message=".*small groups.*")
            event = impact.staggered_did(**args, aggregation="event")
            simple = impact.staggered_did(**args, aggregation="simple")
        twfe = impact.twfe(design.panel, spec.outcome, "treated", "unit", "year")
    except ValueError as err:
        return WorkshopEffects(scope, design, reason="failed", error=str(err))
    return WorkshopEffects(scope, design, event, simple, twfe)




# --------------------------------------------------------------------------- all prefectures at once
SCOPE_KEYS = ["prefecture", "county", "scope"]
DESIGN_COLUMNS = [*SCOPE_KEYS, "first_year", "last_year", "source", "status", "error", "villages", "n_treated",
                  "n_never", "unbalanced", "early"]
COHORT_COLUMNS = [*SCOPE_KEYS, "first_treated", "villages", "set_aside"]
EVENT_COLUMNS = [*SCOPE_KEYS, "event_time", "estimate", "std_error", "conf_low", "conf_high", "p_value", "period",
                 "pretrend_p_value"]
ESTIMATE_COLUMNS = [*SCOPE_KEYS, "estimator", "estimate", "std_error", "conf_low", "conf_high", "p_value",
                    "villages", "n_obs"]


def effects_tables(effects: list[tuple[str, str | None, WorkshopEffects]], first: int, last: int
                   ) -> dict[str, pd.DataFrame]:
    """The four tables of :func:`run` from estimated ``(prefecture, county or None, effects)`` triples."""
    designs, cohorts, events, estimates = [], [], [], []
    for prefecture, county, eff in effects:
        tags = {"prefecture": prefecture, "county": county, "scope": eff.scope}
        d = eff.design
        status = "ok" if eff.available else eff.reason
        designs.append({**tags, "first_year": first, "last_year": last, "source": d.source, "status": status,
                        "error": eff.error, "villages": int(d.panel["unit"].nunique()), "n_treated": d.n_treated,
                        "n_never": d.n_never, "unbalanced": d.unbalanced, "early": d.early})
        cohorts += [{**tags, "first_treated": int(g), "villages": int(n), "set_aside": False}
                    for g, n in d.cohorts.items()]
        cohorts += [{**tags, "first_treated": int(g), "villages": int(n), "set_aside": True}
                    for g, n in d.small_cohorts]
        if not eff.available:
            continue
        es = eff.event.event_study
        events.append(es.assign(**tags, period=np.where(es["event_time"] < 0, "pre", "post"),
                                pretrend_p_value=eff.event.pretrend["p_value"]))
        table = impact.etable({"cs_simple": eff.simple, "twfe": eff.twfe}).rename(columns={"model": "estimator"})
        estimates.append(table.assign(**tags, villages=int(d.panel["unit"].nunique())))
    out = {
        "workshop_designs": pd.DataFrame(designs, columns=DESIGN_COLUMNS),
        "workshop_cohorts": pd.DataFrame(cohorts, columns=COHORT_COLUMNS),
        "workshop_event_study": (pd.concat(events, ignore_index=True)[EVENT_COLUMNS] if events
                                 else pd.DataFrame(columns=EVENT_COLUMNS)),
        "workshop_estimates": (pd.concat(estimates, ignore_index=True)[ESTIMATE_COLUMNS] if estimates
                               else pd.DataFrame(columns=ESTIMATE_COLUMNS)),
    }
    for table in out.values():
        table["county"] = table["county"].astype("string")
    return out


def run(villages: pd.DataFrame, openings: pd.DataFrame, spec: WorkshopSpec = WorkshopSpec(),
        first: int | None = None, last: int | None = None, counties: list[str] | None = None
        ) -> dict[str, pd.DataFrame]:
    """Workshop effects for every prefecture of ``villages`` and each of its counties.

    Parameters
    ----------
    villages : DataFrame
        :func:`village_employment` (the stored result table ``village_employment``); not modified.
    openings : DataFrame
        :func:`workshop_openings` for the same villages.
    spec : WorkshopSpec
        The choices of the design and the estimators.
    first, last : int, optional
        Years of the panel; default the years of ``villages``.
    counties : list of str, optional
        Estimate these counties only (all prefectures are still estimated whole).

    Returns
    -------
    dict of DataFrame
        ``workshop_designs`` (one row per prefecture and county: villages used, set aside, status),
        ``workshop_cohorts`` (villages per opening year, ``set_aside`` for cohorts too small),
        ``workshop_event_study`` (event-time effects with the pre-trend test) and ``workshop_estimates``
        (Callaway & Sant'Anna simple ATT and static TWFE, from ``Estimate.tidy()``). ``county`` is
        missing on prefecture rows.
    """
    require_columns(villages, VILLAGE_COLUMNS, "the village employment table, for the workshop study")
    years = villages["year"].dropna().astype(int)
    first = int(years.min()) if first is None else first
    last = int(years.max()) if last is None else last
    effects = []
    for prefecture, part in villages.groupby("prefecture", sort=True, observed=True):
        design = workshop_panel(part, openings, first, last, spec)
        effects.append((prefecture, None, workshop_effects(design, "prefecture", spec)))
        names = sorted(part["county"].dropna().unique())
        for county in names if counties is None else [c for c in names if c in counties]:
            effects.append((prefecture, county, workshop_effects(design.county(county), "county", spec)))
    return effects_tables(effects, first, last)


# --------------------------------------------------------------------------- sensitivity to parallel trends
HONEST_COLUMNS = [*SCOPE_KEYS, "target", "restriction", "bound", "conf_low", "conf_high", "method", "significant"]
BREAKDOWN_COLUMNS = [*SCOPE_KEYS, "target", "estimate", "std_error", "largest_pre_violation", "pre_periods",
                     "post_periods", "breakdown_mbar", "breakdown_m", "mbar_max", "m_max"]


def sensitivity_tables(villages: pd.DataFrame, openings: pd.DataFrame, spec: WorkshopSpec = WorkshopSpec(),
                       first: int | None = None, last: int | None = None, counties: list[str] | None = None
                       ) -> dict[str, pd.DataFrame]:
    """Rambachan & Roth (2023) bounds on the opening-year effect, for every scope :func:`run` estimates.

    For each prefecture and county whose design passes the thresholds of ``spec``, the event study is
    re-estimated with a universal base period (:func:`analysis.estimators.honest.event_study`) and the
    effect in the opening year (event time 0) gets robust intervals under smoothness (M from 0 to the
    data-driven bound) and, for the prefecture only (seconds per value), relative magnitudes (Mbar in
    :func:`analysis.estimators.honest.mbar_grid`); a county's ``breakdown_mbar`` and ``mbar_max`` are NaN.
    With ``ANALYSIS_HONEST=off`` (:func:`analysis.estimators.honest.enabled`) the tables are empty and the
    page says the analysis is unavailable.

    Returns
    -------
    dict of DataFrame
        ``workshop_honest`` (one row per scope, restriction and bound; restriction ``none`` is the interval
        under exact parallel trends) and ``workshop_honest_breakdown`` (per scope: the estimate, the largest
        pre-period change of the coefficients that Mbar scales, and the breakdown values of Mbar and M: the
        largest grid value at which the interval still excludes zero, NaN if none does).
    """
    require_columns(villages, VILLAGE_COLUMNS, "the village employment table, for the workshop study")
    years = villages["year"].dropna().astype(int)
    first = int(years.min()) if first is None else first
    last = int(years.max()) if last is None else last
    grids, summaries = [], []
    for prefecture, part in villages.groupby("prefecture", sort=True, observed=True) if honest.enabled() else ():
        design = workshop_panel(part, openings, first, last, spec)
        names = sorted(part["county"].dropna().unique())
        scopes = [(None, design)] + [(c, design.county(c)) for c in names if counties is None or c in counties]
        for county, d in scopes:
            if d.n_treated < spec.min_treated_villages or d.n_never < spec.min_control_villages:
                continue
            tags = {"prefecture": prefecture, "county": county, "scope": "prefecture" if county is None else "county",
                    "target": "event_time=0"}
            try:
                es = honest.event_study(d.panel, spec.outcome, "unit", "year", "first_treated",
                                        control_group=spec.control_group)
                # Relative magnitudes cost seconds per Mbar value (a conditional test inversion): they are
                # computed for the prefecture, whose event study rests on all its villages; each county gets
                # the smoothness bounds (fixed-length intervals, fast) of its own event study.
                table = honest.sensitivity(es, mbar=honest.mbar_grid() if county is None else ())
            except ValueError:  # too few periods or units for the design: no bounds, as no event study
                continue
            theta, se, _, _ = honest.original_interval(es)
            grids.append(table.assign(**tags))
            summaries.append({**tags, "estimate": theta, "std_error": se,
                              "largest_pre_violation": es.largest_pre_violation(), "pre_periods": es.num_pre,
                              "post_periods": es.num_post,
                              "breakdown_mbar": honest.breakdown(table, "relative_magnitudes"),
                              "breakdown_m": honest.breakdown(table, "smoothness"),
                              "mbar_max": float(table.loc[table.restriction == "relative_magnitudes", "bound"].max()),
                              "m_max": float(table.loc[table.restriction == "smoothness", "bound"].max())})
    out = {"workshop_honest": (pd.concat(grids, ignore_index=True)[HONEST_COLUMNS] if grids
                               else pd.DataFrame(columns=HONEST_COLUMNS)),
           "workshop_honest_breakdown": pd.DataFrame(summaries, columns=BREAKDOWN_COLUMNS)}
    for table in out.values():
        table["county"] = table["county"].astype("string")
    return out
