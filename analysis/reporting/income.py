"""The income page (notebook ``01-income-growth``): income level, growth against the prefecture, groups.

Reads the stored tables ``income_growth``, ``income_growth_prefecture`` and ``group_growth``
(:func:`analysis.measures.indicators.income_growth`, :func:`analysis.measures.indicators.group_growth`).

Examples
--------
>>> from analysis.reporting import income, page
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> income.income_summary(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from analysis import build
from analysis.config import benchmarks, cpi_table, min_households
from analysis.core.disclosure import suppress_small
from analysis.reporting import labels, plots, text
from analysis.reporting.page import Context
from analysis.reporting.text import md


def _income(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The county's and prefecture's income rows; the county's share below the threshold is blanked in a
    year when 1 to k - 1 households are below it (the count of ``poverty_fgt``: the same quantity as FGT0
    on the monitoring page, blanked there too)."""
    region = ctx.slice(build.load("income_growth", ctx.data_dir, region=ctx.region))
    poor = build.load("poverty_fgt", ctx.data_dir, region=ctx.region)[["year", "households_poor"]]
    few = region[["year"]].merge(poor, on="year", how="left")["households_poor"].between(1, min_households() - 1)
    region = region.assign(share_below_threshold=region["share_below_threshold"].mask(few.to_numpy()))
    pref = build.load("income_growth_prefecture", ctx.data_dir)
    pref = ctx.slice(pref[pref["prefecture"] == ctx.prefecture])
    return region, pref


def _cagr(table: pd.DataFrame, column: str = "growth_real") -> float:
    """Average annual growth over the rows of ``table`` (each row's growth is against the year before)."""
    growth = table[column].dropna()
    return float((1 + growth).prod() ** (1 / len(growth)) - 1) if len(growth) else float("nan")


def income_summary(ctx: Context) -> Markdown:
    """A plain-language paragraph on income level, growth against the prefecture, and the threshold."""
    region, pref = _income(ctx)
    if region.empty:
        return Markdown(labels.text("income.no_data", ctx.lang))
    first, last = region.iloc[0], region.iloc[-1]
    cagr, pref_cagr = _cagr(region.iloc[1:]), _cagr(pref.iloc[1:])
    text = labels.text("income.summary", ctx.lang, region=md(ctx.region), first=int(first["year"]),
                       last=int(last["year"]), income=last["income_pc"],
                       total_growth=last["income_pc"] / first["income_pc"] - 1, cagr_real=cagr,
                       pref_cagr_real=pref_cagr, share_wage=last["share_wage"],
                       threshold=last["threshold"])
    below = labels.text("income.below", ctx.lang, last=int(last["year"]), threshold=last["threshold"],
                        below=last["share_below_threshold"]) if pd.notna(last["share_below_threshold"]) else \
        labels.text("income.below_few", ctx.lang, last=int(last["year"]), threshold=last["threshold"],
                    k=min_households())
    text = f"{text}{below}" if ctx.lang == "zh" else f"{text} {below}"
    verdict = labels.text("income.faster" if cagr >= pref_cagr else "income.slower", ctx.lang,
                          first=int(first["year"]), last=int(last["year"]))
    return Markdown(f"{text} {verdict}")


def income_trend_figure(ctx: Context):
    region, pref = _income(ctx)
    return plots.income_trend(region, pref, ctx.region, ctx.lang)


def income_composition_figure(ctx: Context):
    return plots.income_composition(_income(ctx)[0], ctx.lang)


def income_distribution_figure(ctx: Context):
    """Persons by income bin in the last year (stored table ``income_distribution``)."""
    return plots.income_distribution(build.load("income_distribution", ctx.data_dir, region=ctx.region),
                                     ctx.last, ctx.lang)


PANEL_COLUMNS = ["group", "year_start", "year", "households", "villages", "persons_start", "income_pc_start",
                 "income_pc", "growth_nominal", "growth_real", "growth_real_low", "growth_real_high", "gap_vs_all",
                 "gap_vs_all_low", "gap_vs_all_high"]


def _groups(ctx: Context) -> pd.DataFrame:
    """Growth of the same households by group (start-year groups), small groups blanked."""
    table = build.load("panel_growth", ctx.data_dir, region=ctx.region)
    table = table[(table["year_start"] >= ctx.first) & (table["year"] <= ctx.last)].reset_index(drop=True)
    return suppress_small(table[PANEL_COLUMNS], "households", k=min_households(),
                          columns=[c for c in PANEL_COLUMNS if c not in ("group", "year_start", "year")])


def _group_levels(ctx: Context) -> pd.DataFrame:
    """Each year's groups (cross-section) with their income level only: the households differ from year to
    year, so no growth is published from it."""
    table = ctx.slice(build.load("group_growth", ctx.data_dir, region=ctx.region))
    return suppress_small(table[["group", "year", "households", "persons", "income_pc"]], "households",
                          k=min_households(), columns=["households", "persons", "income_pc"])


def group_growth_figure(ctx: Context):
    table = _groups(ctx)
    note = labels.text("income.groups_suppressed", ctx.lang, k=min_households()) if table["suppressed"].any() else ""
    return plots.group_growth(table.drop(columns="suppressed"), ctx.lang, note=note)


def group_growth_table(ctx: Context):
    """Growth of the same households by group, with households, villages and the 95% interval."""
    table = _groups(ctx)
    shown = table.drop(columns="suppressed").assign(
        group=table["group"].map(lambda g: labels.text(f"groups.{g}", ctx.lang)))
    renamed = labels.rename_columns(shown, ctx.lang)
    counts = [labels.text(f"columns.{c}", ctx.lang) for c in ("households", "villages", "persons_start")]
    money = [labels.text(f"columns.{c}", ctx.lang) for c in ("income_pc_start", "income_pc")]
    shares = [labels.text(f"columns.{c}", ctx.lang) for c in PANEL_COLUMNS if c.startswith("growth")]
    caption = labels.text("income.groups_caption", ctx.lang)
    if table["suppressed"].any():
        caption = f"{caption} {labels.text('income.groups_suppressed', ctx.lang, k=min_households())}"
    return (text.table(renamed, caption).hide(axis="index").format("{:,.0f}", subset=counts + money, na_rep="–")
            .format("{:.1%}", subset=shares, na_rep="–"))


def deflator_note(ctx: Context) -> str:
    """Which price index deflates each of the report's years: the rural CPI where ``cpi.csv`` has it, else
    the all-items CPI, said so."""
    table = cpi_table()
    table = table[(table["year"] > ctx.first) & (table["year"] <= ctx.last)]
    parts = []
    for kind, rows in table.groupby("deflator", sort=True):
        years = rows["year"].astype(int)
        span = f"{years.min()}–{years.max()}" if years.min() != years.max() else f"{years.min()}"
        parts.append(labels.text(f"income.deflator.{kind}", ctx.lang, years=span))
    return ("" if ctx.lang == "zh" else " ").join(parts)


def income_table(ctx: Context):
    """The region's income indicators by year, labelled and formatted for copying into a report."""
    region, _ = _income(ctx)
    cols = ["year", "households", "persons", "income_pc", "median_income_pc", "growth_nominal", "growth_real",
            "share_wage", "share_business", "share_property", "share_transfer", "threshold", "share_below_threshold"]
    table = labels.rename_columns(region[cols], ctx.lang)
    money = [labels.text(f"columns.{c}", ctx.lang) for c in ("income_pc", "median_income_pc", "threshold")]
    shares = [labels.text(f"columns.{c}", ctx.lang) for c in cols if c.startswith(("growth", "share"))]
    caption = f"{labels.text('income.table_caption', ctx.lang)} {deflator_note(ctx)}"
    return (text.table(table, caption).hide(axis="index")
            .format("{:,.0f}", subset=money).format("{:.1%}", subset=shares, na_rep="–"))


EXITED_COLUMNS = ["year", "households", "income_pc", "benchmark", "ratio_to_benchmark", "growth_real", "growth_real_all",
                  "gap_vs_all", "gap_vs_all_low", "gap_vs_all_high"]


def _exited(ctx: Context) -> pd.DataFrame:
    """脱贫户 by year: income level (that year's 脱贫户), the national benchmark of the same year, and real
    growth of the same households against all households' (start-year groups), small cells blanked."""
    levels = _group_levels(ctx)
    levels = levels[levels["group"] == "poverty_exited"][["year", "households", "income_pc"]]
    bench = benchmarks("poverty_exited_income_pc")[["year", "value"]].rename(columns={"value": "benchmark"})
    panel = _groups(ctx)
    growth = panel[panel["group"] == "poverty_exited"][["year", "growth_real", "gap_vs_all", "gap_vs_all_low",
                                                        "gap_vs_all_high"]]
    everyone = panel[panel["group"] == "all"][["year", "growth_real"]].rename(columns={"growth_real": "growth_real_all"})
    out = levels.merge(bench, on="year", how="left").merge(growth, on="year", how="left").merge(
        everyone, on="year", how="left")
    out["ratio_to_benchmark"] = out["income_pc"] / out["benchmark"]
    return out[EXITED_COLUMNS].sort_values("year").reset_index(drop=True)


def _verdict(low: float, high: float) -> str:
    if pd.notna(low) and low > 0:
        return "faster"
    if pd.notna(high) and high < 0:
        return "slower"
    return "same"


def exited_summary(ctx: Context) -> Markdown:
    """脱贫人口 income: level against the national figure (latest year with both), and growth of the same
    脱贫户 against all households in the last year, with its interval."""
    table = _exited(ctx)
    if table.empty or table["income_pc"].isna().all():
        return Markdown(labels.text("income.exited.no_data", ctx.lang, k=min_households()))
    parts = []
    both = table.dropna(subset=["income_pc", "benchmark"])
    if len(both):
        row = both.iloc[-1]
        parts.append(labels.text("income.exited.level", ctx.lang, year=int(row["year"]), income=row["income_pc"],
                                 benchmark=row["benchmark"], ratio=row["ratio_to_benchmark"]))
    growth = table.dropna(subset=["gap_vs_all"])
    if len(growth):
        row = growth.iloc[-1]
        key = _verdict(row["gap_vs_all_low"], row["gap_vs_all_high"])
        parts.append(labels.text(f"income.exited.growth_{key}", ctx.lang, year=int(row["year"]),
                                 start=int(row["year"]) - 1, exited=row["growth_real"], all=row["growth_real_all"],
                                 gap=row["gap_vs_all"], low=row["gap_vs_all_low"], high=row["gap_vs_all_high"]))
    return Markdown(("" if ctx.lang == "zh" else " ").join(parts) or
                    labels.text("income.exited.no_data", ctx.lang, k=min_households()))


def exited_table(ctx: Context):
    """脱贫户 income by year against the national benchmark, and growth against all households."""
    table = _exited(ctx)
    if table.empty:
        return Markdown(labels.text("income.exited.no_data", ctx.lang, k=min_households()))
    source = benchmarks("poverty_exited_income_pc")["source"]
    caption = labels.text("income.exited.caption", ctx.lang,
                          source=md(source.iloc[0]) if len(source) else labels.text("income.exited.no_source", ctx.lang))
    renamed = labels.rename_columns(table, ctx.lang)
    names = dict(zip(table.columns, renamed.columns, strict=True))
    money = [names[c] for c in ("income_pc", "benchmark")]
    shares = [names[c] for c in ("growth_real", "growth_real_all", "gap_vs_all", "gap_vs_all_low", "gap_vs_all_high")]
    return (text.table(renamed, caption).hide(axis="index").format("{:,.0f}", subset=[names["households"], *money],
                                                                   na_rep="–")
            .format("{:.0%}", subset=[names["ratio_to_benchmark"]], na_rep="–")
            .format("{:.1%}", subset=shares, na_rep="–"))


def exited_figure(ctx: Context):
    """脱贫户 income per capita by year with the national benchmark."""
    table = _exited(ctx)
    if table.empty or table["income_pc"].isna().all():
        return Markdown(labels.text("income.exited.no_data", ctx.lang, k=min_households()))
    return plots.exited_income(table, ctx.region, ctx.lang)


def income_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The tables of the income report, by sheet name."""
    region, pref = _income(ctx)
    return {"income": region, "prefecture": pref, "groups": _groups(ctx), "group_levels": _group_levels(ctx),
            "poverty_exited": _exited(ctx)}
