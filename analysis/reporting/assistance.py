"""Assistance measures and risk types of monitoring targets (a section of notebook ``04-monitoring``).

Reads the stored tables ``monitoring_assistance`` and ``monitoring_risk_types``
(:mod:`analysis.measures.assistance`, build step ``monitoring``). Counts under
:func:`analysis.config.min_households` households are blanked, with every share resting on them; the
figures pool the report's years (household-years) and leave out the same small cells.

Examples
--------
>>> from analysis.reporting import assistance, page
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> assistance.assistance_summary(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from analysis.config import min_households
from analysis.core.disclosure import suppress_parts
from analysis.reporting import labels, plots_monitoring
from analysis.reporting.monitoring import (
    count_text,
    county_table,
    join_sentence,
    last_row,
    page_message,
    all_present,
    styled_table,
)
from analysis.reporting.page import Context

COVERAGE_COLUMNS = ["year", "target_group", "targets", "with_measure", "with_measure_share", "eliminated_in_year",
                    "eliminated_with_measure", "eliminated_with_measure_share", "eliminated_without_measure"]
_SHARE_RULES = {"targets": ["with_measure_share"], "with_measure": ["with_measure_share"],
                "eliminated_in_year": ["eliminated_with_measure_share"],
                "eliminated_with_measure": ["eliminated_with_measure_share"], "eliminated_without_measure": []}


def section(ctx: Context) -> Markdown:
    """The section heading with one paragraph saying what it measures."""
    return Markdown(f"## {labels.text('assistance.title', ctx.lang)}\n\n{labels.text('assistance.intro', ctx.lang)}")


def _coverage(ctx: Context) -> pd.DataFrame:
    return ctx.slice(county_table(ctx, "monitoring_assistance"))


def _risks(ctx: Context) -> pd.DataFrame:
    """The county's risk-type rows, without the types no target had in the report's years."""
    table = ctx.slice(county_table(ctx, "monitoring_risk_types"))
    seen = table.groupby("risk_type")["targets"].transform("sum") > 0
    return table[seen].reset_index(drop=True)


def _group_label(group: str, lang: str) -> str:
    return labels.text("monitoring.targets_all", lang) if group == "targets" else \
        labels.code_label("monitoring_type", group, lang)


def assistance_summary(ctx: Context) -> Markdown:
    """The last year's coverage of assistance, eliminations with a measure, and the commonest risks."""
    table = _coverage(ctx)
    row = last_row(table[table["group"] == "targets"]) if len(table) else None
    if row is None or row["targets"] == 0:
        return page_message(ctx, "assistance.no_data")
    k = min_households()
    last = int(row["year"])
    shown = _protect(table[table["group"] == "targets"]).set_index("year").loc[last]
    if all_present(shown["targets"], shown["with_measure"]):
        text = labels.text("assistance.summary", ctx.lang, last=last, targets=count_text(shown["targets"], ctx.lang),
                           with_measure=count_text(shown["with_measure"], ctx.lang), share=shown["with_measure_share"])
    else:
        text = labels.text("assistance.summary_few", ctx.lang, last=last, k=k)
    elim = table[table["group"] == "targets"]
    done, without = int(elim["eliminated_in_year"].sum()), int(elim["eliminated_without_measure"].sum())
    if done and _publishable_split(done, without):
        text += join_sentence(ctx, labels.text("assistance.eliminations", ctx.lang, first=ctx.first, last=ctx.last,
                                       eliminations=count_text(done, ctx.lang), without=count_text(without, ctx.lang)))
    top = _pooled_risks(ctx)
    top = top[top["targets"].astype("float64") >= k].sort_values("targets", ascending=False, kind="stable").head(2)
    if len(top):
        names = labels.text("assistance.and", ctx.lang).join(top["label"])
        text += join_sentence(ctx, labels.text("assistance.main_risks", ctx.lang, first=ctx.first, last=ctx.last,
                                       risks=names))
    return Markdown(text)


def _publishable_split(total: int, part: int) -> bool:
    """A part and its complement in ``total`` may both be stated: each is zero or at least k."""
    k = min_households()
    return all(v == 0 or v >= k for v in (part, total - part))


def _protect(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts of 1 to k - 1 blanked with their complement in the row's total (with / without a measure,
    among targets and among the year's eliminations), and the shares resting on them."""
    k = min_households()
    out = suppress_parts(frame.assign(_without=frame["targets"] - frame["with_measure"]),
                         ["with_measure", "_without"], k=k, total="targets",
                         dependents={"with_measure": ["with_measure_share"], "targets": ["with_measure_share"]})
    out = suppress_parts(out, ["eliminated_with_measure", "eliminated_without_measure"], k=k,
                         total="eliminated_in_year",
                         dependents={"eliminated_with_measure": ["eliminated_with_measure_share"],
                                     "eliminated_in_year": ["eliminated_with_measure_share"]})
    return out.drop(columns="_without")


def _protect_risks(frame: pd.DataFrame) -> pd.DataFrame:
    """Per risk-type row: the targets with the risk and those without it (of the year's targets) are both 0
    or at least k, else the row's counts and share are blanked; small elimination counts blanked too."""
    k = min_households()
    out = suppress_parts(frame.assign(_without=frame["targets_all"] - frame["targets"]), ["targets", "_without"],
                         k=k, total="targets_all", dependents={"targets": ["share"], "targets_all": ["share"]})
    few = out["eliminated_in_year"].between(1, k - 1) | out["targets"].isna()
    out["eliminated_in_year"] = out["eliminated_in_year"].astype("Int64").mask(few)
    return out.drop(columns="_without")


def coverage_table(ctx: Context):
    """By year, all monitoring targets: how many, with at least one measure, the year's eliminations with one.

    Types are not shown by year: in a county they count a few households each, and their rows could be
    recovered from the all-targets row (the stored table has them, for the prefecture's own analysis).
    """
    table = _coverage(ctx)
    if table.empty:
        return page_message(ctx, "assistance.no_data")
    table = table[table["group"] == "targets"]
    frame = _protect(table.assign(target_group=[_group_label(g, ctx.lang) for g in table["group"]])[COVERAGE_COLUMNS])
    counts = {c: "{:,.0f}" for c in ("targets", "with_measure", "eliminated_in_year", "eliminated_with_measure",
                                     "eliminated_without_measure")}
    return styled_table(frame.drop(columns="target_group"), ctx.lang, labels.text("assistance.captions.coverage", ctx.lang),
                   {**counts, "with_measure_share": "{:.1%}", "eliminated_with_measure_share": "{:.1%}"})


def _pooled(ctx: Context, table: pd.DataFrame, by: str, columns: list[str]) -> pd.DataFrame:
    """Counts summed over the report's years (household-years), by ``by``."""
    return table.groupby(by, sort=False)[columns].sum().reset_index()


def _pooled_risks(ctx: Context) -> pd.DataFrame:
    table = _risks(ctx)
    if table.empty:
        return pd.DataFrame(columns=["risk_type", "targets", "eliminated_in_year", "label", "total"])
    pooled = _pooled(ctx, table, "risk_type", ["targets", "eliminated_in_year"])
    return pooled.assign(label=[labels.code_label("risk_types", r, ctx.lang) for r in pooled["risk_type"]],
                         total=int(table.drop_duplicates("year")["targets_all"].sum()))


def _pooled_measures(ctx: Context) -> pd.DataFrame:
    table = _coverage(ctx)
    table = table[table["group"] == "targets"]
    kinds = [c for c in table.columns if c.startswith("aid_")]
    total = int(table["targets"].sum())
    counts = table[kinds].sum()
    return pd.DataFrame({"kind": [c.removeprefix("aid_") for c in kinds], "targets": counts.to_numpy(),
                         "share": counts.to_numpy() / total if total else float("nan"),
                         "label": [labels.code_label("aid_types", c.removeprefix("aid_"), ctx.lang) for c in kinds],
                         "total": total})


def _blank_small(frame: pd.DataFrame, columns: list[str], total: int) -> pd.DataFrame:
    """Rows counting 1 to k - 1 household-years, or leaving 1 to k - 1 of the ``total`` out, blanked in
    ``columns`` (a figure must not show what the tables hide)."""
    k = min_households()
    few = frame["targets"].between(1, k - 1) | (total - frame["targets"]).between(1, k - 1)
    return frame.assign(**{c: frame[c].astype("float64").mask(few) for c in columns})


def measures_figure(ctx: Context):
    """Share of target household-years with each kind of assistance measure, pooled over the report's years."""
    frame = _pooled_measures(ctx)
    if frame.empty or frame["total"].iloc[0] < min_households():
        return page_message(ctx, "assistance.no_data")
    frame = _blank_small(frame, ["targets", "share"], int(frame["total"].iloc[0]))
    return plots_monitoring.assistance_measures(frame, int(frame["total"].iloc[0]), ctx.first, ctx.last,
                                                min_households(), ctx.lang)


def risk_types_figure(ctx: Context):
    """Target household-years by risk type, and the year's eliminations among them, pooled over the years."""
    frame = _pooled_risks(ctx)
    if frame.empty or frame["targets"].sum() == 0:
        return page_message(ctx, "assistance.no_data")
    frame = _blank_small(frame, ["targets", "eliminated_in_year"], int(frame["total"].iloc[0]))
    frame["eliminated_in_year"] = frame["eliminated_in_year"].mask(frame["eliminated_in_year"].between(
        1, min_households() - 1))
    return plots_monitoring.risk_types(frame, ctx.first, ctx.last, min_households(), ctx.lang)


def risk_types_table(ctx: Context):
    """Targets with each risk type by year (a household may have several), with their share of targets."""
    table = _risks(ctx)
    if table.empty:
        return page_message(ctx, "assistance.no_data")
    frame = table.assign(risk_type=[labels.code_label("risk_types", r, ctx.lang) for r in table["risk_type"]])
    frame = _protect_risks(frame[["year", "risk_type", "targets_all", "targets", "share", "eliminated_in_year"]])
    return styled_table(frame, ctx.lang, labels.text("assistance.captions.risk_types", ctx.lang),
                   {"targets_all": "{:,.0f}", "targets": "{:,.0f}", "share": "{:.1%}", "eliminated_in_year": "{:,.0f}"})


def assistance_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The section's tables for the page's workbook, blanked as on the page (all targets by year; risk
    types by year)."""
    cov, risk = _coverage(ctx), _risks(ctx)
    out = {}
    if len(cov):
        cov = cov[cov["group"] == "targets"]
        out[labels.text("assistance.sheets.coverage", ctx.lang)] = _protect(cov[COVERAGE_COLUMNS[:1] + COVERAGE_COLUMNS[2:]])
    if len(risk):
        shown = risk.assign(risk_type=[labels.code_label("risk_types", r, ctx.lang) for r in risk["risk_type"]])
        out[labels.text("assistance.sheets.risk_types", ctx.lang)] = _protect_risks(
            shown[["year", "risk_type", "targets_all", "targets", "share", "eliminated_in_year"]])
    return out
