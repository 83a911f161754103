"""All counties of a prefecture side by side: small multiples of the key series, from the stored tables.

The prefecture report (Word and PDF, :mod:`analysis.publish.documents`) shows this figure beside the
post-assessment page functions called for the prefecture (:func:`analysis.reporting.assessment.context`
with a prefecture's name): the ranking with rank intervals and the key figures of every county.

Each panel is one series by county and year: per-capita net income and its real growth
(``income_growth``: total net income over total persons of the county's registered households), the
employment rate (``employment``: persons at work over the labour force) and the share of households that
are monitoring targets (``monitoring_coverage``). A county-year describing fewer than
:func:`analysis.config.min_households` households is blanked (:func:`analysis.core.disclosure.suppress_small`).

Examples
--------
>>> from analysis.reporting import assessment, prefecture
>>> ctx = assessment.context(region="示例市", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> prefecture.key_series_figure(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

from analysis import build
from analysis.config import min_households
from analysis.core.disclosure import suppress_small
from analysis.reporting import labels, plots
from analysis.reporting.page import Context

#: (stored table, column, count column whose small values blank it, axis format): the panels, in order.
SERIES = (("income_growth", "income_pc", "households", "money"),
          ("income_growth", "growth_real", "households", "share"),
          ("employment", "employment_rate", "labour_force", "share"),
          ("monitoring_coverage", "share_households_targets", "households_targets", "share"))


def _title(column: str, lang: str) -> str:
    try:
        return labels.text(f"columns.{column}", lang)
    except KeyError:
        return labels.text(f"prefecture.columns.{column}", lang)


def series(ctx: Context, table: str, column: str, count: str) -> pd.DataFrame:
    """One key series, county x year (rows: years, columns: counties), small cells blank."""
    frame = ctx.slice(build.load(table, ctx.data_dir, region=ctx.prefecture, level="prefecture"))
    frame = suppress_small(frame, count, k=min_households(), columns=[column])
    return frame.pivot_table(index="year", columns="county", values=column, aggfunc="first", dropna=False)


def key_series_figure(ctx: Context):
    """Small multiples: the prefecture's counties over the years, one panel per key series."""
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), sharex=True)
    colours = None
    for ax, (table, column, count, kind) in zip(axes.flat, SERIES):
        wide = series(ctx, table, column, count)
        colours = colours or dict(zip(wide.columns, sns.color_palette("tab10", len(wide.columns))))
        for county in wide.columns:
            ax.plot(wide.index, wide[county], marker="o", ms=3, lw=1.2, color=colours.get(county), label=county)
        ax.set_title(_title(column, ctx.lang), fontsize=10)
        formatter = (mticker.FuncFormatter(lambda v, _: f"{v:,.0f}") if kind == "money"
                     else mticker.PercentFormatter(1.0, decimals=0))
        ax.yaxis.set_major_formatter(formatter)
        plots.years_axis(ax, wide.index)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=min(len(names), 7), frameon=False, fontsize=8)
    fig.suptitle(labels.text("prefecture.fig_key_series", ctx.lang, region=ctx.prefecture, first=ctx.first,
                             last=ctx.last))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    plt.close(fig)
    return fig
