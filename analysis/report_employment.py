"""The employment report (notebook ``02-employment``): work of the labour force and assistance workshops.

Indicators come from :func:`analysis.measures.labour.employment` (result tables ``employment`` and
``employment_prefecture``). The effect of assistance workshops (帮扶车间) on village employment is
estimated on a village x year panel of the working-age labour force's employment rate (result table
``village_employment``), with the villages' opening years from :func:`workshop_openings`:

* Callaway & Sant'Anna (2021) group-time effects against never-treated villages, aggregated by time since
  opening (event study, with pre-opening periods and a pre-trend test) and into one average effect;
* the static two-way fixed-effects coefficient beside it, which is biased when effects grow with time
  since opening (Goodman-Bacon 2021; de Chaisemartin & D'Haultfoeuille 2020).

A county holds a dozen or two villages, too few for a stable estimate, so the design is estimated on all
villages of the county's prefecture and, where the county has at least ``MIN_TREATED_VILLAGES`` treated
and ``MIN_CONTROL_VILLAGES`` never-treated villages, on the county's own villages too.

Examples
--------
>>> from analysis import report, report_employment
>>> ctx = report.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> report_employment.workshop_estimates(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.io import data
from analysis.estimators import impact
from analysis import labels, plots_labour, results
from analysis.measures import labour
from analysis.config import DATA_PROCESSED, min_households
from analysis.errors import DataError, Problem
from analysis.measures.monitoring import suppress_small
from analysis.report import Context

#: File in the processed data folder listing workshop openings (columns village, first_treated[, county]).
WORKSHOPS_FILE = "workshops.csv"
#: A cohort of fewer villages is set aside: with one or two villages its within-cohort variance, which
#: the standard errors rest on, has at most one degree of freedom.
MIN_COHORT_VILLAGES = 3
#: Fewest treated and never-treated villages for which the event study is reported.
MIN_TREATED_VILLAGES = 6
MIN_CONTROL_VILLAGES = 4

#: Table cells stay on one line (intervals such as "[-3.0, 13.5]" must not break).
NOWRAP = [{"selector": "td", "props": "white-space: nowrap;"}]

VILLAGE_COLUMNS = ["prefecture", "county", "village", "year", "labour_force", "labour_force_employed",
                   "employment_rate", "workers", "workshop_jobs", "public_welfare_posts"]


def village_employment(households: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Employment of the working-age labour force per village x year, all villages at once.

    The outcome of the workshop design: ``employment_rate`` is ``labour_force_employed / labour_force``
    as defined in :mod:`analysis.measures.labour`; ``workshop_jobs`` counts villagers holding a workshop job.
    """
    table = labour.employment(members, by=("prefecture", "county", "village"))
    return table[VILLAGE_COLUMNS]


RESULT_TABLES = {"village_employment": village_employment}


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
    missing = [c for c in ("county", "village", "year", "workshop_job") if c not in members.columns]
    if missing:
        raise ValueError(f"members lacks column(s) {missing} needed to date workshop openings")
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

    def county(self, county: str) -> "WorkshopDesign":
        """The same design restricted to one county's villages (cohort sizes checked again)."""
        panel = self.panel[self.panel["county"] == county]
        kept, small = _drop_small_cohorts(panel)
        return replace(self, panel=kept, cohorts=_cohort_sizes(kept), small_cohorts=small)

    @property
    def n_treated(self) -> int:
        return int(self.cohorts[self.cohorts.index > 0].sum())

    @property
    def n_never(self) -> int:
        return int(self.cohorts.get(0, 0))


def _cohort_sizes(panel: pd.DataFrame) -> pd.Series:
    return panel.drop_duplicates("unit")["first_treated"].value_counts().sort_index()


def _drop_small_cohorts(panel: pd.DataFrame) -> tuple[pd.DataFrame, tuple[tuple[int, int], ...]]:
    sizes = _cohort_sizes(panel)
    small = sizes[(sizes.index > 0) & (sizes < MIN_COHORT_VILLAGES)]
    kept = panel[~panel["first_treated"].isin(small.index)].reset_index(drop=True)
    return kept, tuple((int(g), int(n)) for g, n in small.items())


def workshop_panel(villages: pd.DataFrame, openings: pd.DataFrame, first: int, last: int) -> WorkshopDesign:
    """Join village employment with opening years and keep what the estimators can use.

    Villages not observed with a labour force in every year of ``first``-``last`` are set aside (the
    estimators need a balanced panel), as are villages whose workshop opened in or before the first
    year (no untreated year to compare with) and cohorts of fewer than ``MIN_COHORT_VILLAGES`` villages.
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
        "employment_rate": panel["employment_rate"].astype(float),
        "first_treated": np.where(first_treated > last, 0, first_treated),
    })
    years = panel["year"].nunique()
    observed = panel.dropna(subset=["employment_rate"]).groupby("unit")["year"].nunique()
    complete = observed.index[observed == years]
    unbalanced = panel["unit"].nunique() - len(complete)
    panel = panel[panel["unit"].isin(complete)]
    early = (panel["first_treated"] > 0) & (panel["first_treated"] <= panel["year"].min())
    n_early = panel.loc[early, "unit"].nunique()
    kept, small = _drop_small_cohorts(panel[~early])
    kept = kept.assign(treated=(kept["first_treated"] > 0) & (kept["year"] >= kept["first_treated"]))
    source = str(openings["source"].iloc[0]) if "source" in openings.columns and len(openings) else "file"
    return WorkshopDesign(kept.reset_index(drop=True), source, _cohort_sizes(kept), int(unbalanced),
                          int(n_early), small)


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


def workshop_effects(design: WorkshopDesign, scope: str) -> WorkshopEffects:
    """Callaway & Sant'Anna (2021) event study and simple ATT against never-treated villages, and TWFE.

    Group-time effects are doubly robust (no covariates, so difference-in-means per group-time cell)
    with a varying base period; standard errors from the influence functions, by village (see
    :func:`analysis.estimators.impact.staggered_did`). The TWFE regression clusters by village (CRV1).
    A design with too few villages returns ``reason="too_few"``; one the estimators refuse returns
    ``reason="failed"`` and the estimator's message in ``error``.
    """
    if design.n_treated < MIN_TREATED_VILLAGES or design.n_never < MIN_CONTROL_VILLAGES:
        return WorkshopEffects(scope, design, reason="too_few")
    args = dict(data=design.panel, outcome="employment_rate", unit="unit", time="year",
                first_treated="first_treated", control_group="never_treated")
    try:
        with warnings.catch_warnings():
            # Small cohorts are set aside beforehand (MIN_COHORT_VILLAGES); the library's notice about
            # them would only repeat that.
            warnings.filterwarnings("ignore", message=".*small groups.*")
            event = impact.staggered_did(**args, aggregation="event")
            simple = impact.staggered_did(**args, aggregation="simple")
        twfe = impact.twfe(design.panel, "employment_rate", "treated", "unit", "year")
    except ValueError as err:
        return WorkshopEffects(scope, design, reason="failed", error=str(err))
    return WorkshopEffects(scope, design, event, simple, twfe)


def _workshops(ctx: Context) -> tuple[WorkshopEffects, WorkshopEffects]:
    """The prefecture's and the county's workshop effects. The prefecture's are estimated once per
    prefecture, years and input files in a process (a warm kernel renders its counties one after another),
    not once per county page."""
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else None
                  for p in (results.results_dir(ctx.data_dir) / "village_employment.parquet",
                            Path(ctx.data_dir) / WORKSHOPS_FILE))
    prefecture = _prefecture_workshops(str(ctx.data_dir), ctx.prefecture, ctx.first, ctx.last, stamp)
    return prefecture, _county_workshops(str(ctx.data_dir), ctx.prefecture, ctx.region, ctx.first, ctx.last, stamp)


@lru_cache(maxsize=8)
def _prefecture_workshops(data_dir: str, prefecture: str, first: int, last: int, stamp: tuple) -> WorkshopEffects:
    villages = results.load("village_employment", data_dir)
    villages = villages[villages["prefecture"] == prefecture]
    openings = workshop_openings(data_dir, prefecture)
    return workshop_effects(workshop_panel(villages, openings, first, last), "prefecture")


@lru_cache(maxsize=4)
def _county_workshops(data_dir: str, prefecture: str, region: str, first: int, last: int,
                      stamp: tuple) -> WorkshopEffects:
    design = _prefecture_workshops(data_dir, prefecture, first, last, stamp).design
    return workshop_effects(design.county(region), "county")


def event_study_table(ctx: Context) -> pd.DataFrame:
    """Event-time estimates of the prefecture (and of the county when estimated), long and tidy."""
    frames = []
    for effects in _workshops(ctx):
        if effects.available:
            es = effects.event.event_study
            frames.append(es.assign(scope=effects.scope, period=np.where(es["event_time"] < 0, "pre", "post"),
                                    pretrend_p_value=effects.event.pretrend["p_value"]))
    if not frames:
        return pd.DataFrame(columns=["scope", "event_time", "estimate", "std_error", "conf_low", "conf_high",
                                     "p_value", "period", "pretrend_p_value"])
    table = pd.concat(frames, ignore_index=True)
    return table[["scope", "event_time", "estimate", "std_error", "conf_low", "conf_high", "p_value",
                  "period", "pretrend_p_value"]]


def estimates_table(ctx: Context) -> pd.DataFrame:
    """Simple ATT (Callaway & Sant'Anna) and static TWFE, per scope, one row each."""
    rows = []
    for effects in _workshops(ctx):
        if not effects.available:
            continue
        for key, est in (("cs_simple", effects.simple), ("twfe", effects.twfe)):
            low, high = est.conf_int
            rows.append({"scope": effects.scope, "estimator": key, "estimate": est.estimate,
                         "std_error": est.std_error, "conf_low": low, "conf_high": high,
                         "p_value": est.p_value, "villages": effects.design.panel["unit"].nunique(),
                         "n_obs": est.n_obs})
    return pd.DataFrame(rows, columns=["scope", "estimator", "estimate", "std_error", "conf_low", "conf_high",
                                       "p_value", "villages", "n_obs"])


# --------------------------------------------------------------------------- indicators
def _employment(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    region = ctx.slice(results.load("employment", ctx.data_dir, region=ctx.region))
    pref = results.load("employment_prefecture", ctx.data_dir)
    return region, ctx.slice(pref[pref["prefecture"] == ctx.prefecture])


def _households(ctx: Context) -> pd.DataFrame:
    income = ctx.slice(results.load("income_growth", ctx.data_dir, region=ctx.region))
    return income[["year", "households"]]


def employment_summary(ctx: Context) -> Markdown:
    """Employment rate, workers and the 稳岗 check ("no lower than last year") in the last year."""
    region, pref = _employment(ctx)
    heading = f"## {labels.text('employment.h_overview', ctx.lang)}"
    if region.empty:
        return Markdown(f"{heading}\n\n{labels.text('employment.no_data', ctx.lang)}")
    last = region.iloc[-1]
    pref_rate = pref.loc[pref["year"] == last["year"], "employment_rate"]
    parts = [labels.text("employment.summary", ctx.lang, region=ctx.region, year=int(last["year"]),
                         labour_force=int(last["labour_force"]), workers=int(last["workers"]),
                         rate=last["employment_rate"],
                         pref_rate=float(pref_rate.iloc[0]) if len(pref_rate) else float("nan"))]
    if pd.isna(last["no_lower_than_last_year"]):
        parts.append(labels.text("employment.no_previous", ctx.lang))
    else:
        key = "employment.stable_met" if bool(last["no_lower_than_last_year"]) else "employment.stable_missed"
        parts.append(labels.text(key, ctx.lang, previous=int(last["year"]) - 1,
                                 change=abs(int(last["workers_change"])), pct=last["workers_change_pct"] / 100))
    missed = region.loc[region["no_lower_than_last_year"].eq(False).fillna(False), "year"].astype(int).tolist()
    if missed:
        parts.append(labels.text("employment.stable_missed_years", ctx.lang,
                                 years=labels.text("employment.list_sep", ctx.lang).join(map(str, missed))))
    return Markdown(f"{heading}\n\n{join(parts, ctx.lang)}")


def join(sentences: list[str], lang: str) -> str:
    """Sentences of one paragraph: Chinese runs on without spaces, English takes one."""
    return ("" if lang == "zh" else " ").join(sentences)


def p_format(value: float) -> str:
    """A p-value as printed in the tables: three decimals, or "<0.001"."""
    return "–" if pd.isna(value) else ("<0.001" if value < 0.001 else f"{value:.3f}")


def p_text(value: float) -> str:
    """A p-value inside a sentence: "= 0.012" or "< 0.001"."""
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def employment_trend_figure(ctx: Context):
    region, pref = _employment(ctx)
    return plots_labour.employment_trend(region, pref, ctx.region, ctx.lang)


def location_figure(ctx: Context):
    return plots_labour.workers_by_location(_employment(ctx)[0], ctx.lang)


def programme_jobs_figure(ctx: Context):
    return plots_labour.programme_jobs(_employment(ctx)[0], ctx.lang)


TABLE_COLUMNS = ["year", "households", "labour_force", "workers", "employment_rate", "workers_in_county",
                 "workers_in_province", "workers_out_province", "workshop_jobs", "public_welfare_posts",
                 "wage_income_per_worker", "workers_change", "no_lower_than_last_year"]


def _indicator_table(ctx: Context) -> pd.DataFrame:
    region = _employment(ctx)[0].merge(_households(ctx), on="year", how="left")
    table = suppress_small(region[TABLE_COLUMNS], "households", k=min_households())
    return table


def _column(name: str, lang: str) -> str:
    return labels.text(f"columns.{name}", lang)


def employment_table(ctx: Context):
    """Employment indicators by year, labelled; rows of fewer than five households are blanked."""
    table = _indicator_table(ctx)
    shown = table.drop(columns="suppressed").assign(
        no_lower_than_last_year=table["no_lower_than_last_year"].map(
            lambda v: "–" if pd.isna(v) else labels.text(f"employment.{'yes' if v else 'no'}", ctx.lang)))
    renamed = labels.rename_columns(shown, ctx.lang)
    counts = [_column(c, ctx.lang) for c in TABLE_COLUMNS[1:4] + TABLE_COLUMNS[5:10] + ["workers_change"]]
    caption = labels.text("employment.table_caption", ctx.lang)
    if table["suppressed"].any():
        caption = f"{caption} {labels.text('employment.suppressed_note', ctx.lang, k=min_households())}"
    return (renamed.style.hide(axis="index").set_table_styles(NOWRAP)
            .format("{:,.0f}", subset=counts + [_column("wage_income_per_worker", ctx.lang)], na_rep="–")
            .format("{:.1%}", subset=[_column("employment_rate", ctx.lang)], na_rep="–")
            .set_caption(caption))


# --------------------------------------------------------------------------- workshops: text and figure
def _pp(value: float) -> float:
    """A share difference in percentage points."""
    return 100 * value


def workshop_design(ctx: Context) -> Markdown:
    """Where the opening years come from, which villages are used, and why the prefecture is the unit."""
    pref, county = _workshops(ctx)
    d = pref.design
    sep = labels.text("employment.list_sep", ctx.lang)
    cohorts = sep.join(labels.text("employment.cohort_item", ctx.lang, year=int(g), n=int(n))
                       for g, n in d.cohorts.items() if g > 0)
    parts = [f"## {labels.text('employment.h_workshops', ctx.lang)}",
             labels.text(f"employment.openings_{d.source}", ctx.lang, file=WORKSHOPS_FILE),
             labels.text("employment.design", ctx.lang, prefecture=ctx.prefecture,
                         villages=d.panel["unit"].nunique(), cohorts=cohorts or "–", never=d.n_never,
                         first=ctx.first, last=ctx.last)]
    if d.unbalanced:
        parts.append(labels.text("employment.set_aside_unbalanced", ctx.lang, n=d.unbalanced))
    if d.early:
        parts.append(labels.text("employment.set_aside_early", ctx.lang, n=d.early, first=ctx.first))
    if d.small_cohorts:
        parts.append(labels.text("employment.set_aside_small", ctx.lang, k=MIN_COHORT_VILLAGES,
                                 cohorts=sep.join(labels.text("employment.cohort_item", ctx.lang, year=g, n=n)
                                                  for g, n in d.small_cohorts)))
    if county.available:
        parts.append(labels.text("employment.county_estimated", ctx.lang, region=ctx.region,
                                 treated=county.design.n_treated, never=county.design.n_never))
    else:
        parts.append(labels.text("employment.county_too_few", ctx.lang, region=ctx.region,
                                 treated=county.design.n_treated, never=county.design.n_never,
                                 min_treated=MIN_TREATED_VILLAGES, min_never=MIN_CONTROL_VILLAGES))
    return Markdown("\n\n".join(parts))


def event_study_figure(ctx: Context):
    """Event-study plot: effect on village employment by years since opening, prefecture and county."""
    pref, county = _workshops(ctx)
    if not pref.available:
        return Markdown(_unavailable(pref, ctx))
    return plots_labour.event_study(event_study_table(ctx), ctx.region, ctx.lang)


def _unavailable(effects: WorkshopEffects, ctx: Context) -> str:
    if effects.reason == "failed":
        return labels.text("employment.event_failed", ctx.lang, error=effects.error)
    return labels.text("employment.prefecture_too_few", ctx.lang, treated=effects.design.n_treated,
                       never=effects.design.n_never, min_treated=MIN_TREATED_VILLAGES,
                       min_never=MIN_CONTROL_VILLAGES)


def workshop_estimates_table(ctx: Context):
    """The Callaway & Sant'Anna average effect next to the static TWFE coefficient (percentage points)."""
    table = estimates_table(ctx)
    if table.empty:
        return Markdown(_unavailable(_workshops(ctx)[0], ctx))
    shown = pd.DataFrame({
        "scope": table["scope"].map(lambda s: ctx.region if s == "county" else ctx.prefecture),
        "estimator": table["estimator"].map(lambda e: labels.text(f"employment.estimator_{e}", ctx.lang)),
        "estimate": _pp(table["estimate"]), "std_error": _pp(table["std_error"]),
        "conf_int": [f"[{_pp(lo):.1f}, {_pp(hi):.1f}]" for lo, hi in zip(table["conf_low"], table["conf_high"])],
        "p_value": table["p_value"], "villages": table["villages"]})
    shown.columns = [labels.text(f"employment.col_{c}", ctx.lang) for c in shown.columns]
    num = shown.columns[2:4].tolist()
    return (shown.style.hide(axis="index").set_table_styles(NOWRAP).format("{:.1f}", subset=num)
            .format(p_format, subset=[shown.columns[5]]).set_caption(labels.text("employment.estimates_caption",
                                                                                   ctx.lang)))


def workshop_summary(ctx: Context) -> Markdown:
    """Plain words: the average effect and its 95% interval, the pre-trend test, and TWFE against it."""
    pref, county = _workshops(ctx)
    if not pref.available:
        return Markdown(_unavailable(pref, ctx))
    parts = [_effect_paragraph(pref, ctx.prefecture, ctx.lang)]
    if county.available:
        parts.append(_effect_paragraph(county, ctx.region, ctx.lang))
    att, tw = pref.simple.estimate, pref.twfe.estimate
    key = "employment.twfe_lower" if tw < att else "employment.twfe_higher"
    parts.append(labels.text(key, ctx.lang, twfe=_pp(tw), att=_pp(att)))
    return Markdown("\n\n".join(parts))


def _effect_paragraph(effects: WorkshopEffects, where: str, lang: str) -> str:
    simple, es = effects.simple, effects.event.event_study
    low, high = simple.conf_int
    post = es[es["event_time"] >= 0]
    text = labels.text("employment.effect", lang, where=where, villages=effects.design.panel["unit"].nunique(),
                       att=_pp(simple.estimate), low=_pp(low), high=_pp(high),
                       e0=_pp(float(post["estimate"].iloc[0])), k=int(post["event_time"].iloc[-1]),
                       ek=_pp(float(post["estimate"].iloc[-1])))
    verdict = "employment.interval_excludes_zero" if low > 0 or high < 0 else "employment.interval_includes_zero"
    p = effects.event.pretrend["p_value"]
    if np.isnan(p):
        trend = labels.text("employment.pretrend_none", lang)
    else:
        key = "employment.pretrend_ok" if p >= 0.05 else "employment.pretrend_warning"
        trend = labels.text(key, lang, p=p)
    return join([text, labels.text(verdict, lang), trend], lang)


def employment_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The tables of the employment report, by sheet name."""
    region, pref = _employment(ctx)
    return {"employment": _indicator_table(ctx), "prefecture": pref,
            "event_study": event_study_table(ctx), "workshop_estimates": estimates_table(ctx)}
