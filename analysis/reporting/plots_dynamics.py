"""Figures of the poverty-dynamics section of the monitoring report, labelled in Chinese or English.

Each function takes stored tables (:mod:`analysis.measures.dynamics`) and ``lang`` and returns a closed
matplotlib figure (see :func:`analysis.reporting.plots.finish`).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from analysis.reporting import labels
from analysis.reporting.plots import PALETTE, finish, years_axis


def _t(key: str, lang: str, **values) -> str:
    return labels.text(f"dynamics.{key}", lang, **values)


def flow_rates(table: pd.DataFrame, lang: str = "zh"):
    """Entry and exit rates by year with their 95% intervals (one region's rows of ``dynamics_flows``)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, rate, colour in zip(axes, ("entry_rate", "exit_rate"), (PALETTE["threshold"], PALETTE["region"])):
        rows = table.dropna(subset=[rate])
        est = rows[rate].to_numpy(float)
        err = np.vstack([est - rows[f"{rate}_low"].to_numpy(float), rows[f"{rate}_high"].to_numpy(float) - est])
        ax.errorbar(rows["year"], est, yerr=np.where(np.isnan(err), 0, err), fmt="o-", color=colour, capsize=3)
        ax.set_title(_t(rate, lang), fontsize=9)
        ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
        years_axis(ax, table["year"])
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel(_t("axis_rate", lang))
    fig.suptitle(_t("fig_flows", lang))
    return finish(fig)


def decomposition(growth: pd.Series, components: pd.DataFrame, where: str, lang: str = "zh"):
    """Horizontal bars: the headcount change, its growth and redistribution parts, and the income sources."""
    terms = [("term_change", growth["change"], growth["change_low"], growth["change_high"]),
             ("term_growth", growth["growth"], growth["growth_low"], growth["growth_high"]),
             ("term_redistribution", growth["redistribution"], growth["redistribution_low"],
              growth["redistribution_high"])]
    terms += [(f"component_{r.component}", r.contribution, r.conf_low, r.conf_high) for r in components.itertuples()]
    names = [_t(k, lang) for k, *_ in terms][::-1]
    value = 100 * np.array([v for _, v, _, _ in terms], dtype=float)[::-1]
    low = 100 * np.array([lo for _, _, lo, _ in terms], dtype=float)[::-1]
    high = 100 * np.array([hi for _, _, _, hi in terms], dtype=float)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(terms) + 1.4))
    colours = [PALETTE["prefecture"] if i >= len(terms) - 3 else PALETTE["region"] for i in range(len(terms))]
    ax.barh(names, value, color=colours)
    err = np.vstack([value - low, high - value])
    ax.errorbar(value, names, xerr=np.where(np.isnan(err), 0, err), fmt="none", ecolor="black", capsize=3, lw=1)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(_t("axis_pp", lang))
    ax.set_title(_t("fig_components", lang, where=where, first=int(growth["year0"]), last=int(growth["year1"])))
    return finish(fig)
