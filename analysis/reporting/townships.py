"""Townships within each county of a prefecture: headline indicators, through disclosure control.

Reads the stored table ``township_indicators`` (:func:`analysis.measures.townships.township_indicators`:
per township and year, and per county, the income, growth, employment and monitoring-target figures of
the county pages). Townships are small, so what a page shows passes :func:`disclosed`:

* a township of fewer than k households (``publication.yaml``) is blanked whole (primary), and further
  townships of the same county and year are blanked, smallest first, until the blanked ones cannot be
  recovered from the county total shown beside them (complementary,
  :func:`analysis.core.disclosure.suppress_parts`);
* the count of monitoring targets (and its share) is treated in the same way, its parts being the
  townships' counts of targets and its total the county's;
* the employment rate and the count of workers rest on the labour force (persons): they are blanked when
  it counts fewer than k persons, with complements in the same way, since the county's workers are shown;
* growth rests on the households present in both years: it is blanked when they are fewer than k
  (:func:`analysis.core.disclosure.suppress_small`); a ratio of two years' incomes, it cannot be recovered
  from the county's growth.

Examples
--------
>>> from analysis.reporting import townships
>>> ctx = townships.context(region="示例市", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> townships.township_table(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis import build
from analysis.config import min_households
from analysis.core.disclosure import suppress_parts, suppress_small
from analysis.errors import ParameterError
from analysis.measures.townships import UNRECORDED
from analysis.reporting import assessment, labels, plots, text, workbook
from analysis.reporting.page import Context
from analysis.reporting.text import md

TABLE = "township_indicators"
#: Every figure of a township row (blanked with a township that describes too few households).
MEASURES = ("households", "persons", "income_pc", "panel_households", "growth_real", "growth_real_low",
            "growth_real_high", "labour_force", "labour_force_employed", "employment_rate", "households_targets",
            "share_households_targets")
GROWTH = ("growth_real", "growth_real_low", "growth_real_high")
EMPLOYMENT = ("labour_force_employed", "employment_rate")
TARGETS = ("households_targets", "share_households_targets")
#: The columns of the page's table, in order.
SHOWN = ("households", "income_pc", "growth_real", "employment_rate", "households_targets",
         "share_households_targets")
_KEYS = ["prefecture", "county", "year"]
COUNTY_COLOUR = "#333333"


def context(region: str, years: list[int], data_dir: str = "", lang: str = "zh") -> assessment.AssessmentContext:
    """The prefecture page's parameters (:func:`analysis.reporting.assessment.context`); ``region`` must be a
    prefecture."""
    ctx = assessment.context(region=region, years=years, data_dir=data_dir, lang=lang)
    if ctx.level != "prefecture":
        from analysis.io import data
        raise ParameterError(f"{region!r} is a county: the prefecture page covers all counties of a prefecture; "
                             f"prefectures: {', '.join(data.list_regions(ctx.data_dir, 'prefecture'))}")
    return ctx


# ------------------------------------------------------------------------------------------ disclosure
def _hidden_parts(table: pd.DataFrame, count: str, k: int) -> pd.Series:
    """Rows whose ``count`` must be blanked: townships (primary and complementary within a county-year,
    the county row being the total) and county rows whose total the townships cannot protect."""
    town = table["scope"].eq("township").to_numpy()
    rows = table.loc[town, [*_KEYS, "township"]].assign(_v=table.loc[town, count].astype("float64"))
    wide = rows.pivot(index=_KEYS, columns="township", values="_v")
    parts = [str(c) for c in wide.columns]
    wide.columns = parts
    totals = table.loc[~town].set_index(_KEYS)[count].astype("float64").rename("_total")
    wide = wide.join(totals, how="left")
    shown = suppress_parts(wide, parts, k=k, total="_total")
    hidden = (shown[parts].isna() & wide[parts].notna()).stack().rename("_hidden")
    hidden.index.names = [*_KEYS, "township"]
    town_hidden = rows.join(hidden, on=[*_KEYS, "township"])["_hidden"].fillna(False).astype(bool)
    total_hidden = (shown["_total"].isna() & wide["_total"].notna()).rename("_hidden")
    county_hidden = table.loc[~town, _KEYS].join(total_hidden, on=_KEYS)["_hidden"].fillna(False).astype(bool)
    return pd.concat([town_hidden, county_hidden]).reindex(table.index).fillna(False).astype(bool)


def disclosed(table: pd.DataFrame, k: int | None = None) -> pd.DataFrame:
    """``township_indicators`` rows (one or more counties and years) with every cell blanked that could
    describe fewer than ``k`` households (default :func:`analysis.config.min_households`); see the module
    notes for the rules. Adds ``suppressed`` (the township's row is blanked whole)."""
    k = min_households() if k is None else k
    out = table.reset_index(drop=True)
    for c in MEASURES:
        if pd.api.types.is_integer_dtype(out[c]):
            out[c] = out[c].astype("Int64")
    whole = _hidden_parts(out, "households", k)
    targets = _hidden_parts(out, "households_targets", k) | whole
    work = _hidden_parts(out, "labour_force", k) | whole
    out.loc[whole, list(MEASURES)] = pd.NA
    out.loc[targets, list(TARGETS)] = pd.NA
    out.loc[work, list(EMPLOYMENT)] = pd.NA
    out = suppress_small(out, "panel_households", k=k, columns=list(GROWTH), flag="_growth")
    return out.drop(columns="_growth").assign(suppressed=whole.to_numpy())


def _stored(ctx: Context, year: int | None = None) -> pd.DataFrame:
    """The prefecture's stored rows within the page's years (or of one ``year``), blanked."""
    table = build.load(TABLE, ctx.data_dir, region=ctx.prefecture, level="prefecture")
    table = ctx.slice(table) if year is None else table[table["year"] == year]
    return disclosed(table)


# ------------------------------------------------------------------------------------------ page functions
def _place(row, lang: str) -> str:
    """A township's name as shown (the county total and an unrecorded township by their labels)."""
    if row["scope"] == "county":
        return labels.text("townships.county_total", lang)
    return labels.text("townships.unrecorded", lang) if row["township"] == UNRECORDED else str(row["township"])


def _column(code: str, lang: str) -> str:
    return labels.text(f"townships.columns.{code}", lang)


def township_table(ctx: Context, county: str | None = None):
    """Headline indicators of the townships of each county (or of ``county``) in the page's last year,
    each county followed by its total; blanked cells show "–"."""
    table = _stored(ctx, ctx.last)
    if county is not None:
        table = table[table["county"] == county]
    shown = pd.DataFrame({_column("county", ctx.lang): table["county"].astype(str),
                          _column("township", ctx.lang): table.apply(_place, axis=1, lang=ctx.lang)
                          if len(table) else pd.Series(dtype=str)})
    for c in SHOWN:
        shown[_column(c, ctx.lang)] = table[c].astype("float64").to_numpy()
    counts = [_column(c, ctx.lang) for c in ("households", "households_targets")]
    money = [_column("income_pc", ctx.lang)]
    shares = [_column(c, ctx.lang) for c in ("growth_real", "employment_rate", "share_households_targets")]
    caption = labels.text("townships.table_caption", ctx.lang, year=ctx.last, k=min_households())
    return (text.table(shown.reset_index(drop=True), caption).hide(axis="index")
            .format("{:,.0f}", subset=counts + money, na_rep=text.DASH)
            .format("{:.1%}", subset=shares, na_rep=text.DASH))


def township_summary(ctx: Context) -> Markdown:
    """Townships of the prefecture in the last year: how many, the highest and lowest income per capita
    and the range of real growth among those published, and how many are blanked."""
    table = _stored(ctx, ctx.last)
    town = table[table["scope"] == "township"]
    say = {"year": ctx.last, "region": md(ctx.prefecture), "counties": town["county"].nunique(),
           "townships": len(town)}
    shown = town.dropna(subset=["income_pc"])
    if shown.empty:
        return Markdown(labels.text("townships.summary_none", ctx.lang, **say))
    high = shown.loc[shown["income_pc"].idxmax()]
    low = shown.loc[shown["income_pc"].idxmin()]
    hidden = int(town["suppressed"].sum())
    blanked = labels.text("townships.blanked", ctx.lang, n=hidden) if hidden else ""
    growth = shown["growth_real"].dropna()
    return Markdown(labels.text(
        "townships.summary", ctx.lang, **say, high=md(_place(high, ctx.lang)), high_county=md(high["county"]),
        high_value=float(high["income_pc"]), low=md(_place(low, ctx.lang)), low_county=md(low["county"]),
        low_value=float(low["income_pc"]), growth_low=float(growth.min()) if len(growth) else np.nan,
        growth_high=float(growth.max()) if len(growth) else np.nan, blanked=blanked))


def growth_figure(ctx: Context):
    """Dot plot: real growth of the same households by township in the last year, with its interval, each
    county's townships grouped under the county's own value (blanked townships left out)."""
    table = _stored(ctx, ctx.last)
    rows = table[table["growth_real"].notna()].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.28 * max(len(rows), 1) + 1.8))
    y = np.arange(len(rows))[::-1]
    county = rows["scope"].eq("county").to_numpy()
    est, low, high = (rows[c].to_numpy(dtype=float) for c in GROWTH)
    colour = np.where(county, COUNTY_COLOUR, plots.PALETTE["region"])
    with np.errstate(invalid="ignore"):
        ax.hlines(y, low, high, colors=colour, lw=1.2)
    for marker, mask in (("o", ~county), ("D", county)):
        ax.scatter(est[mask], y[mask], marker=marker, color=colour[mask], zorder=3, s=22)
    names = [f"{row['county']} · {_place(row, ctx.lang)}" for row in rows.to_dict("records")]
    ax.set_yticks(y, names, fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(labels.text("townships.fig_growth_axis", ctx.lang))
    ax.set_title(labels.text("townships.fig_growth", ctx.lang, year=ctx.last))
    fig.text(0.01, 0.01, labels.text("townships.fig_growth_note", ctx.lang, k=min_households()), fontsize=8,
             color="0.35", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    plt.close(fig)
    return fig


def township_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The workbook sheet: every year of the page, every township and county row, blanked cells missing."""
    table = _stored(ctx)
    table = table.assign(township=table.apply(_place, axis=1, lang=ctx.lang),
                         scope=table["scope"].map(lambda s: labels.text(f"townships.scopes.{s}", ctx.lang)))
    columns = ["county", "township", "scope", "year", *MEASURES]
    names = {c: _column(c, ctx.lang) for c in columns if c != "year"}
    kinds = {names.get(c, c): workbook.kind_of(c) for c in columns if workbook.kind_of(c)}   # number formats
    return {labels.text("townships.sheet", ctx.lang): workbook.declare(table[columns].rename(columns=names), kinds)}
