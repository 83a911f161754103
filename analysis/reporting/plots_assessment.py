"""Figures of the post-assessment report: composite scores and ranks of a prefecture's counties with
their bootstrap intervals, the reported county highlighted. Text comes from the message catalogue.
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.reporting import labels
from analysis.reporting.plots import PALETTE, finish

_BAND_SHADES = ("#f4f6f8", "#ffffff")


def _colours(counties: pd.Series, highlight: str | None) -> list[str]:
    return [PALETTE["region"] if c == highlight else PALETTE["prefecture"] for c in counties]


def _emphasise(ax, highlight: str | None) -> None:
    for tick in ax.get_yticklabels():
        if tick.get_text() == highlight:
            tick.set_fontweight("bold")
            tick.set_color(PALETTE["region"])


def _height(n: int) -> float:
    return 1.8 + 0.42 * max(n, 1)


def _grade_bands(ax, grades: Sequence, lang: str) -> None:
    """Shade each grade band and name it on the top axis (grades listed best first, as in the YAML)."""
    lows = [g.min_score for g in grades][::-1]
    highs = [*lows[1:], 100.0]
    names = [getattr(g, f"label_{lang}") for g in grades][::-1]
    for i, (low, high) in enumerate(zip(lows, highs)):
        ax.axvspan(low, high, color=_BAND_SHADES[i % 2], zorder=0)
        if low > 0:
            ax.axvline(low, color="#9aa5b1", ls=":", lw=1, zorder=1)
    top = ax.secondary_xaxis("top")
    top.set_xticks([(a + b) / 2 for a, b in zip(lows, highs)], labels=names)
    top.tick_params(length=0)


def composite_intervals(table: pd.DataFrame, highlight: str | None, grades: Sequence, year: int, level: float,
                        with_intervals: bool, lang: str = "zh"):
    """Each county's composite score (dot) and its bootstrap interval (bar), best at the top, over the
    grade bands; ``highlight`` (a county) drawn in the report colour."""
    t = table.dropna(subset=["composite"]).sort_values("composite").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, _height(len(t))))
    y = np.arange(len(t))
    colours = _colours(t["county"], highlight)
    _grade_bands(ax, grades, lang)
    if with_intervals:
        ax.hlines(y, t["composite_low"], t["composite_high"], colors=colours, lw=4, alpha=0.55, zorder=2,
                  label=labels.text("assessment.legend_interval", lang, level=level))
    ax.scatter(t["composite"], y, color=colours, s=46, zorder=3, edgecolor="white",
               label=labels.text("assessment.legend_point", lang))
    ax.set_yticks(y, labels=t["county"].astype(str))
    _emphasise(ax, highlight)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.7, len(t) - 0.3)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(labels.text("assessment.axis_score", lang))
    key = "fig_scores" if with_intervals else "fig_scores_no_interval"
    ax.set_title(labels.text(f"assessment.{key}", lang, year=year, level=level), pad=22)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / _height(len(t))), ncols=2)
    return finish(fig)


def rank_intervals(table: pd.DataFrame, highlight: str | None, year: int, level: float, with_intervals: bool,
                   lang: str = "zh"):
    """Each county's rank (dot) and the places its rank interval covers (bar), rank 1 at the top."""
    t = table.dropna(subset=["rank"]).sort_values(["rank", "county"], ascending=False).reset_index(drop=True)
    n = int(t["rank"].max()) if len(t) else 1
    fig, ax = plt.subplots(figsize=(7.5, _height(len(t))))
    y = np.arange(len(t))
    colours = _colours(t["county"], highlight)
    if with_intervals:
        low = t["rank_low"].astype("float64").to_numpy()
        high = t["rank_high"].astype("float64").to_numpy()
        ax.barh(y, high - low + 0.8, left=low - 0.4, height=0.5, color=colours, alpha=0.35, zorder=2,
                label=labels.text("assessment.legend_interval", lang, level=level))
    ax.scatter(t["rank"].astype("float64"), y, color=colours, s=46, zorder=3, edgecolor="white",
               label=labels.text("assessment.legend_point", lang))
    ax.set_yticks(y, labels=t["county"].astype(str))
    _emphasise(ax, highlight)
    _rank_axis(ax, n, len(t), lang)
    key = "fig_ranks" if with_intervals else "fig_ranks_no_interval"
    ax.set_title(labels.text(f"assessment.{key}", lang, year=year, level=level))
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / _height(len(t))), ncols=2)
    return finish(fig)


def _rank_axis(ax, n: int, rows: int, lang: str) -> None:
    """Ranks 1..n along x (rank 1 on the left), one row per county along y."""
    ax.set_xticks(np.arange(1, n + 1))
    ax.set_xlim(0.4, n + 0.6)
    ax.set_ylim(-0.7, rows - 0.3)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(labels.text("assessment.axis_rank", lang))


def rank_stability(sensitivity: pd.DataFrame, highlight: str | None, year: int, lang: str = "zh"):
    """Each county's rank under every scenario (small dots, the range as a bar) and its configured rank
    (large dot), rank 1 on the left; counties ordered by their configured rank."""
    ranked = sensitivity[sensitivity["rank"].notna()]
    base = ranked[ranked["scenario"] == "configured"].set_index("county")["rank"].astype("float64")
    counties = base.sort_values(ascending=False).index.tolist()
    n = int(ranked["rank"].max()) if len(ranked) else 1
    fig, ax = plt.subplots(figsize=(7.5, _height(len(counties))))
    y = {c: i for i, c in enumerate(counties)}
    colours = dict(zip(counties, _colours(pd.Series(counties), highlight)))
    spread = ranked.groupby("county")["rank"].agg(["min", "max"]).astype("float64")
    for c in counties:
        ax.hlines(y[c], spread.loc[c, "min"], spread.loc[c, "max"], colors=colours[c], lw=6, alpha=0.25, zorder=1)
    others = ranked[ranked["scenario"] != "configured"]
    jitter = (others.groupby(["county", "rank"]).cumcount() % 5 - 2) * 0.06
    ax.scatter(others["rank"].astype("float64"), others["county"].map(y) + jitter, s=14,
               color=[colours[c] for c in others["county"]], alpha=0.7, zorder=2,
               label=labels.text("assessment.legend_alternatives", lang))
    ax.scatter(base[counties].to_numpy(), [y[c] for c in counties], s=70, marker="D", zorder=3,
               color=[colours[c] for c in counties], edgecolor="white",
               label=labels.text("assessment.legend_configured", lang))
    ax.set_yticks(range(len(counties)), labels=[str(c) for c in counties])
    _emphasise(ax, highlight)
    _rank_axis(ax, n, len(counties), lang)
    ax.set_title(labels.text("assessment.fig_rank_stability", lang, year=year,
                             k=sensitivity["scenario"].nunique() - 1))
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / _height(len(counties))),
              ncols=2)
    return finish(fig)
