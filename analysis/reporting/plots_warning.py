"""Figures of the early warning's rolling-origin validation, labelled in Chinese or English.

Each function takes a stored table as the page shows it (:mod:`analysis.reporting.warning`: blanked cells
missing) and ``lang`` and returns a closed matplotlib figure (see :func:`analysis.reporting.plots.finish`).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.measures.warning_validation import MODELS, OUTCOMES
from analysis.reporting import labels
from analysis.reporting.plots import PALETTE, finish

COLOURS = {"score": PALETTE["region"], "logit": PALETTE["poverty_exited"], "baseline": PALETTE["prefecture"],
           "oracle": "black"}
MARKERS = {"score": "o", "logit": "s", "baseline": "^"}


def _t(key: str, lang: str, **values) -> str:
    return labels.text(f"warning.{key}", lang, **values)


def auc_by_origin(table: pd.DataFrame, lang: str = "zh"):
    """One panel per outcome: each model's AUC by origin year (not drawn when blanked), the oracle dashed,
    every origin pooled as the last point, and the 0.5 line of a ranking no better than chance."""
    fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(9.5, 3.8), sharey=True)
    origins = sorted(int(y) for y in table["origin"].dropna().unique())
    ticks = [*range(len(origins)), len(origins) + 0.5]
    names = [f"{y}→{y + 1}" for y in origins] + [_t("pooled_origin", lang)]
    for ax, outcome in zip(np.atleast_1d(axes), OUTCOMES):
        rows = table[table["outcome"] == outcome]
        for model in [*MODELS, "oracle"]:
            mine = rows[rows["model"] == model]
            by_year = mine.dropna(subset=["origin"]).set_index("origin")["auc"].reindex(origins).to_numpy(float)
            pooled = mine[mine["origin"].isna()]["auc"].astype(float)
            style = {"color": COLOURS[model], "label": _t(f"model_{model}", lang)}
            if model == "oracle":
                ax.plot(range(len(origins)), by_year, ls="--", lw=1.2, marker="D", ms=4, **style)
                if len(pooled) and pd.notna(pooled.iloc[0]):
                    ax.plot([ticks[-1]], [pooled.iloc[0]], marker="D", ls="none", color="black")
                continue
            ax.plot(range(len(origins)), by_year, marker=MARKERS[model], **style)
            if len(pooled) and pd.notna(pooled.iloc[0]):
                ax.plot([ticks[-1]], [pooled.iloc[0]], marker=MARKERS[model], ms=9, ls="none", color=COLOURS[model])
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.axvline(len(origins) - 0.25, color="grey", lw=0.5)
        ax.set_xticks(ticks, names, fontsize=8)
        ax.set_ylim(0.3, 1.02)
        ax.set_title(_t(f"outcome_{outcome}", lang), fontsize=9)
    np.atleast_1d(axes)[0].set_ylabel("AUC")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(_t("fig_auc", lang))
    return finish(fig)


def reliability(table: pd.DataFrame, lang: str = "zh"):
    """One panel per outcome: mean predicted probability against the observed event rate of each bin (bins
    whose rate is blanked are left out), with the diagonal of perfect calibration."""
    fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(9.5, 3.8))
    for ax, outcome in zip(np.atleast_1d(axes), OUTCOMES):
        rows = table[(table["outcome"] == outcome) & table["event_rate"].notna()]
        top = max(float(table.loc[table["outcome"] == outcome, "mean_prob"].max() or 0),
                  float(rows["event_rate"].max() if len(rows) else 0), 0.01) * 1.1
        for model in MODELS:
            mine = rows[rows["model"] == model].sort_values("mean_prob")
            ax.plot(100 * mine["mean_prob"], 100 * mine["event_rate"], marker=MARKERS[model], color=COLOURS[model],
                    label=_t(f"model_{model}", lang))
        ax.plot([0, 100 * top], [0, 100 * top], color="grey", lw=0.8, ls=":")
        ax.set_xlim(0, 100 * top)
        ax.set_ylim(0, 100 * top)
        ax.set_xlabel(_t("axis_predicted", lang))
        ax.set_title(_t(f"outcome_{outcome}", lang), fontsize=9)
    np.atleast_1d(axes)[0].set_ylabel(_t("axis_observed", lang))
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(_t("fig_reliability", lang))
    return finish(fig)
