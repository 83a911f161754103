"""The employment page (notebook ``02-employment``): work of the labour force and assistance workshops.

Indicators come from the stored tables ``employment`` and ``employment_prefecture``
(:func:`analysis.measures.labour.employment`). The workshop effects come from the study
:mod:`analysis.studies.workshops`, asked for through :func:`analysis.build.study` with the notebook's
specification; this module only reads and renders them.

Examples
--------
>>> from analysis import build
>>> from analysis.reporting import employment, page
>>> from analysis.studies.workshops import WorkshopSpec
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> workshops = build.study("workshop_effects", WorkshopSpec(), **ctx.where)  # doctest: +SKIP
>>> employment.workshop_summary(ctx, workshops)  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis import build
from analysis.build import StudyTables
from analysis.config import min_households, official_workers
from analysis.core.disclosure import suppress_small
from analysis.reporting import labels, plots, plots_labour, text
from analysis.reporting.page import Context
from analysis.reporting.text import NOWRAP, join, md, p_format, pp
from analysis.studies.workshops import WORKSHOPS_FILE, WorkshopSpec

EVENT_COLUMNS = ["scope", "event_time", "estimate", "std_error", "conf_low", "conf_high", "p_value", "period",
                 "pretrend_p_value"]
ESTIMATE_COLUMNS = ["scope", "estimator", "estimate", "std_error", "conf_low", "conf_high", "p_value", "villages",
                    "n_obs"]


# --------------------------------------------------------------------------- indicators
def _employment(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    region = ctx.slice(build.load("employment", ctx.data_dir, region=ctx.region))
    pref = build.load("employment_prefecture", ctx.data_dir)
    return region, ctx.slice(pref[pref["prefecture"] == ctx.prefecture])


def _households(ctx: Context) -> pd.DataFrame:
    income = ctx.slice(build.load("income_growth", ctx.data_dir, region=ctx.region))
    return income[["year", "households"]]


def employment_summary(ctx: Context) -> Markdown:
    """Employment rate, workers and the 稳岗 check ("no lower than last year") in the last year."""
    region, pref = _employment(ctx)
    heading = f"## {labels.text('employment.h_overview', ctx.lang)}"
    if region.empty:
        return Markdown(f"{heading}\n\n{labels.text('employment.no_data', ctx.lang)}")
    last = region.iloc[-1]
    pref_rate = pref.loc[pref["year"] == last["year"], "employment_rate"]
    population, (age_low, age_high) = _population(ctx.lang), official_workers()["working_age"]
    parts = [labels.text("employment.summary", ctx.lang, region=md(ctx.region), year=int(last["year"]),
                         population=population, age_low=age_low, age_high=age_high,
                         official_labour_force=int(last["official_labour_force"]),
                         official_workers=int(last["official_workers"]),
                         official_rate=last["official_employment_rate"],
                         labour_force=int(last["labour_force"]), employed=int(last["labour_force_employed"]),
                         rate=last["employment_rate"],
                         pref_rate=float(pref_rate.iloc[0]) if len(pref_rate) else float("nan"))]
    # the 稳岗 verdict is judged on the official count (脱贫劳动力务工规模)
    if pd.isna(last["official_no_lower_than_last_year"]):
        parts.append(labels.text("employment.no_previous", ctx.lang))
    else:
        met = bool(last["official_no_lower_than_last_year"])
        parts.append(labels.text("employment.stable_met" if met else "employment.stable_missed", ctx.lang,
                                 previous=int(last["year"]) - 1, change=abs(int(last["official_workers_change"])),
                                 pct=last["official_workers_change_pct"] / 100))
    missed = region.loc[region["official_no_lower_than_last_year"].eq(False).fillna(False), "year"]
    if len(missed):
        parts.append(labels.text("employment.stable_missed_years", ctx.lang, years=labels.text(
            "employment.list_sep", ctx.lang).join(map(str, missed.astype(int)))))
    definition = labels.text("employment.definition", ctx.lang, population=population, age_low=age_low,
                             age_high=age_high)
    return Markdown(f"{heading}\n\n{join(parts, ctx.lang)}\n\n<small>{definition}</small>")


def _population(lang: str) -> str:
    """Whose work the official count covers, in words (``employment.yaml``)."""
    spec = official_workers()
    names = [labels.text(f"employment.population.{t}", lang) for t in spec["household_types"]]
    if spec["include_monitoring_targets"]:
        names.append(labels.text("employment.population.monitored", lang))
    return labels.text("employment.list_sep", lang).join(names)


def employment_trend_figure(ctx: Context):
    region, pref = _employment(ctx)
    return plots_labour.employment_trend(region, pref, ctx.region, ctx.lang)


def location_figure(ctx: Context):
    return plots_labour.workers_by_location(_employment(ctx)[0], ctx.lang)


def programme_jobs_figure(ctx: Context):
    return plots_labour.programme_jobs(_employment(ctx)[0], ctx.lang)


# The official count and its 稳岗 verdict first; then the whole rural labour force, whose rate divides the
# two counts beside it (workers of working age with labour capacity over the labour force).
TABLE_COLUMNS = ["year", "households", "official_labour_force", "official_workers", "official_workers_change",
                 "official_no_lower_than_last_year", "labour_force", "labour_force_employed", "employment_rate",
                 "workers_in_county", "workers_in_province", "workers_out_province", "workshop_jobs",
                 "public_welfare_posts", "wage_income_per_worker"]


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
        official_no_lower_than_last_year=table["official_no_lower_than_last_year"].map(
            lambda v: "–" if pd.isna(v) else labels.text(f"employment.{'yes' if v else 'no'}", ctx.lang)))
    renamed = labels.rename_columns(shown, ctx.lang)
    counts = [_column(c, ctx.lang) for c in TABLE_COLUMNS
              if c not in ("year", "official_no_lower_than_last_year", "employment_rate")]
    caption = labels.text("employment.table_caption", ctx.lang)
    if table["suppressed"].any():
        caption = f"{caption} {labels.text('employment.suppressed_note', ctx.lang, k=min_households())}"
    return (text.table(renamed, caption).hide(axis="index").set_table_styles(NOWRAP)
            .format("{:,.0f}", subset=counts + [_column("wage_income_per_worker", ctx.lang)], na_rep="–")
            .format("{:.1%}", subset=[_column("employment_rate", ctx.lang)], na_rep="–"))


# --------------------------------------------------------------------------- workshops: text and figure
def _design(workshops: StudyTables, scope: str) -> pd.Series:
    """The design row of the prefecture or of the county (``scope``)."""
    designs = workshops["workshop_designs"]
    return designs[designs["scope"] == scope].iloc[0]


def _cohorts(workshops: StudyTables, set_aside: bool) -> list[tuple[int, int]]:
    table = workshops["workshop_cohorts"]
    rows = table[(table["scope"] == "prefecture") & (table["set_aside"] == set_aside) & (table["first_treated"] > 0)]
    return [(int(g), int(n)) for g, n in zip(rows["first_treated"], rows["villages"])]


def workshop_design(ctx: Context, workshops: StudyTables) -> Markdown:
    """Where the opening years come from, which villages are used, and why the prefecture is the unit."""
    d, county, spec = _design(workshops, "prefecture"), _design(workshops, "county"), workshops.spec
    first, last = int(d["first_year"]), int(d["last_year"])
    sep = labels.text("employment.list_sep", ctx.lang)
    cohorts = sep.join(labels.text("employment.cohort_item", ctx.lang, year=g, n=n)
                       for g, n in _cohorts(workshops, set_aside=False))
    parts = [f"## {labels.text('employment.h_workshops', ctx.lang)}",
             labels.text(f"employment.openings_{d['source']}", ctx.lang, file=WORKSHOPS_FILE),
             labels.text("employment.design", ctx.lang, prefecture=md(ctx.prefecture),
                         villages=int(d["villages"]), cohorts=cohorts or "–", never=int(d["n_never"]),
                         first=first, last=last)]
    if d["unbalanced"]:
        parts.append(labels.text("employment.set_aside_unbalanced", ctx.lang, n=int(d["unbalanced"])))
    if d["early"]:
        parts.append(labels.text("employment.set_aside_early", ctx.lang, n=int(d["early"]), first=first))
    small = _cohorts(workshops, set_aside=True)
    if small:
        parts.append(labels.text("employment.set_aside_small", ctx.lang, k=spec.min_cohort_villages,
                                 cohorts=sep.join(labels.text("employment.cohort_item", ctx.lang, year=g, n=n)
                                                  for g, n in small)))
    if county["status"] == "ok":
        parts.append(labels.text("employment.county_estimated", ctx.lang, region=md(ctx.region),
                                 treated=int(county["n_treated"]), never=int(county["n_never"])))
    else:
        parts.append(labels.text("employment.county_too_few", ctx.lang, region=md(ctx.region),
                                 treated=int(county["n_treated"]), never=int(county["n_never"]),
                                 min_treated=spec.min_treated_villages, min_never=spec.min_control_villages))
    return Markdown("\n\n".join(parts))


def event_study_table(workshops: StudyTables) -> pd.DataFrame:
    """Event-time estimates of the prefecture (and of the county when estimated), long and tidy."""
    return workshops["workshop_event_study"][EVENT_COLUMNS].reset_index(drop=True)


def estimates_table(workshops: StudyTables) -> pd.DataFrame:
    """Simple ATT (Callaway & Sant'Anna) and static TWFE, per scope, one row each."""
    return workshops["workshop_estimates"][ESTIMATE_COLUMNS].reset_index(drop=True)


def _available(workshops: StudyTables, scope: str = "prefecture") -> bool:
    return _design(workshops, scope)["status"] == "ok"


def event_study_figure(ctx: Context, workshops: StudyTables):
    """Event-study plot: effect on village employment by years since opening, prefecture and county."""
    if not _available(workshops):
        return Markdown(_unavailable(workshops, ctx))
    return plots_labour.event_study(event_study_table(workshops), ctx.region, ctx.lang)


def _unavailable(workshops: StudyTables, ctx: Context) -> str:
    d = _design(workshops, "prefecture")
    if d["status"] == "failed":
        return labels.text("employment.event_failed", ctx.lang, error=md(d["error"]))
    return labels.text("employment.prefecture_too_few", ctx.lang, treated=int(d["n_treated"]),
                       never=int(d["n_never"]), min_treated=workshops.spec.min_treated_villages,
                       min_never=workshops.spec.min_control_villages)


def workshop_estimates_table(ctx: Context, workshops: StudyTables):
    """The Callaway & Sant'Anna average effect next to the static TWFE coefficient (percentage points)."""
    table = estimates_table(workshops)
    if table.empty:
        return Markdown(_unavailable(workshops, ctx))
    shown = pd.DataFrame({
        "scope": table["scope"].map(lambda s: ctx.region if s == "county" else ctx.prefecture),
        "estimator": table["estimator"].map(lambda e: labels.text(f"employment.estimator_{e}", ctx.lang)),
        "estimate": pp(table["estimate"]), "std_error": pp(table["std_error"]),
        "conf_int": [f"[{pp(lo):.1f}, {pp(hi):.1f}]" for lo, hi in zip(table["conf_low"], table["conf_high"])],
        "p_value": table["p_value"], "villages": table["villages"]})
    shown.columns = [labels.text(f"employment.col_{c}", ctx.lang) for c in shown.columns]
    num = shown.columns[2:4].tolist()
    return (text.table(shown, labels.text("employment.estimates_caption", ctx.lang)).hide(axis="index")
            .set_table_styles(NOWRAP).format("{:.1f}", subset=num).format(p_format, subset=[shown.columns[5]]))


def workshop_estimates_figure(ctx: Context, workshops: StudyTables):
    """The estimates of :func:`workshop_estimates_table` as one coefficient plot (percentage points)."""
    table = estimates_table(workshops)
    if table.empty:
        return Markdown(_unavailable(workshops, ctx))
    where = table["scope"].map(lambda s: ctx.region if s == "county" else ctx.prefecture)
    label = where + " · " + table["estimator"].map(lambda e: labels.text(f"employment.estimator_{e}", ctx.lang))
    return plots.coefplot(table.assign(label=label), "label", labels.text("employment.estimates_caption", ctx.lang),
                          labels.text("employment.axis_pp", ctx.lang), scale=100.0)


def workshop_summary(ctx: Context, workshops: StudyTables) -> Markdown:
    """Plain words: the average effect and its 95% interval, the pre-trend test, and TWFE against it."""
    if not _available(workshops):
        return Markdown(_unavailable(workshops, ctx))
    parts = [_effect_paragraph(workshops, "prefecture", ctx.prefecture, ctx.lang)]
    if _available(workshops, "county"):
        parts.append(_effect_paragraph(workshops, "county", ctx.region, ctx.lang))
    est = estimates_table(workshops)
    pref = est[est["scope"] == "prefecture"].set_index("estimator")["estimate"]
    att, tw = float(pref["cs_simple"]), float(pref["twfe"])
    key = "employment.twfe_lower" if tw < att else "employment.twfe_higher"
    parts.append(labels.text(key, ctx.lang, twfe=pp(tw), att=pp(att)))
    return Markdown("\n\n".join(parts))


def _effect_paragraph(workshops: StudyTables, scope: str, where: str, lang: str) -> str:
    est = estimates_table(workshops)
    simple = est[(est["scope"] == scope) & (est["estimator"] == "cs_simple")].iloc[0]
    es = event_study_table(workshops)
    es = es[es["scope"] == scope]
    low, high = float(simple["conf_low"]), float(simple["conf_high"])
    post = es[es["event_time"] >= 0]
    text = labels.text("employment.effect", lang, where=md(where), villages=int(simple["villages"]),
                       att=pp(float(simple["estimate"])), low=pp(low), high=pp(high),
                       e0=pp(float(post["estimate"].iloc[0])), k=int(post["event_time"].iloc[-1]),
                       ek=pp(float(post["estimate"].iloc[-1])))
    verdict = "employment.interval_excludes_zero" if low > 0 or high < 0 else "employment.interval_includes_zero"
    p = float(es["pretrend_p_value"].iloc[0])
    if np.isnan(p):
        trend = labels.text("employment.pretrend_none", lang)
    else:
        key = "employment.pretrend_ok" if p >= 0.05 else "employment.pretrend_warning"
        trend = labels.text(key, lang, p=p)
    return join([text, labels.text(verdict, lang), trend], lang)


# --------------------------------------------------------------------------- sensitivity (Rambachan & Roth)
def _honest(ctx: Context, workshops: StudyTables) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The stored bounds and breakdown values of the page's prefecture and county (build specification only)."""
    if workshops.spec != WorkshopSpec():
        return None
    tables = []
    for name in ("workshop_honest", "workshop_honest_breakdown"):
        table = build.load(name, ctx.data_dir)
        keep = (table["prefecture"] == ctx.prefecture) & (table["scope"].eq("prefecture")
                                                          | table["county"].eq(ctx.region).fillna(False))
        tables.append(table[keep].reset_index(drop=True))
    return tables[0], tables[1]


def honest_summary(ctx: Context, workshops: StudyTables) -> Markdown:
    """The breakdown values in words: up to which violation of parallel trends the effect stays significant."""
    heading = f"### {labels.text('employment.h_honest', ctx.lang)}"
    honest = _honest(ctx, workshops)
    if honest is None:
        return Markdown(f"{heading}\n\n{labels.text('employment.honest_other_spec', ctx.lang)}")
    _, summary = honest
    if summary.empty:
        return Markdown(f"{heading}\n\n{labels.text('employment.honest_unavailable', ctx.lang)}")
    parts = [heading]
    for _, row in summary.sort_values("scope", ascending=False).iterrows():
        where = ctx.prefecture if row["scope"] == "prefecture" else ctx.region
        parts.append(join([labels.text("employment.honest_effect", ctx.lang, where=md(where),
                                       theta=pp(row["estimate"])),
                           *_breakdown_words(row, "mbar", "honest_rm", ctx.lang, pre=pp(row["largest_pre_violation"])),
                           *_breakdown_words(row, "m", "honest_sd", ctx.lang)], ctx.lang))
    parts.append(labels.text("employment.honest_reading", ctx.lang))
    return Markdown("\n\n".join(parts))


def _breakdown_words(row: pd.Series, bound: str, key: str, lang: str, **values) -> list[str]:
    value = float(row[f"breakdown_{bound}"])
    if np.isnan(float(row[f"{bound}_max"])):   # not computed for this scope (relative magnitudes: counties)
        return [labels.text(f"employment.{key}_not_computed", lang)]
    if np.isnan(value):
        return [labels.text(f"employment.{key}_none", lang)]
    shown = value if bound == "mbar" else pp(value)
    words = [labels.text(f"employment.{key}", lang, **{bound: shown}, **values)]
    if value >= float(row[f"{bound}_max"]):
        words.append(labels.text("employment.honest_at_least", lang, value=round(shown, 2)))
    return words


def honest_figure(ctx: Context, workshops: StudyTables):
    """The sensitivity plot: robust intervals against Mbar and M beside the original interval."""
    honest = _honest(ctx, workshops)
    if honest is None or honest[0].empty:
        return Markdown(labels.text("employment.honest_other_spec" if honest is None
                                    else "employment.honest_unavailable", ctx.lang))
    grid = honest[0]
    # the prefecture's grid has both restrictions (a county's has smoothness only: see the study)
    scope = "prefecture" if (grid["scope"] == "prefecture").any() else "county"
    where = ctx.region if scope == "county" else ctx.prefecture
    return plots_labour.honest_sensitivity(grid[grid["scope"] == scope], where, ctx.lang)


def employment_tables(ctx: Context, workshops: StudyTables) -> dict[str, pd.DataFrame]:
    """The tables of the employment report, by sheet name."""
    region, pref = _employment(ctx)
    return {"employment": _indicator_table(ctx), "prefecture": pref,
            "event_study": event_study_table(workshops), "workshop_estimates": estimates_table(workshops)}


def sensitivity_tables(ctx: Context, workshops: StudyTables) -> dict[str, pd.DataFrame]:
    """The Rambachan-Roth bounds and breakdown values of the page's prefecture and county, by sheet name
    (empty for a changed specification); a workbook of their own beside the page's."""
    honest = _honest(ctx, workshops)
    empty = pd.DataFrame()
    return {"robust_intervals": empty if honest is None else honest[0],
            "breakdown_values": empty if honest is None else honest[1]}
