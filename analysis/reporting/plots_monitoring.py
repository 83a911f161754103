"""Figures of the monitoring report (notebook 04): poverty measures, growth incidence, basic needs,
monitoring coverage, time to risk elimination, status transitions and the warning's ROC curve.

Each function takes tables already computed by :mod:`analysis.reporting.monitoring` and the language; all
text comes from the message catalogue. Figures are closed before they are returned (``plots.finish``),
so a notebook shows each once.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.reporting import labels
from analysis.reporting.plots import PALETTE, finish, years_axis

TYPE_COLORS = {"unstable": "#e67e22", "marginal": "#16a085", "sudden_hardship": "#8e44ad"}


def _percent(ax, axis: str = "y", decimals: int | None = None) -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.PercentFormatter(1.0, decimals=decimals))


def _legend(ax, **kwargs) -> None:
    legend = ax.legend(frameon=False, **kwargs)
    if legend is not None:
        legend.set_title("")


def fgt_trend(region: pd.DataFrame, prefecture: pd.DataFrame, region_name: str, z: float, lang: str = "zh"):
    """FGT0, FGT1, FGT2 by year: the county with interval bars, the prefecture as a dashed line with band."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.6))
    for a, ax in enumerate(axes):
        est, se = f"fgt{a}", f"fgt{a}_se"
        ax.errorbar(region["year"], region[est], yerr=z * region[se].fillna(0), marker="o", capsize=3,
                    color=PALETTE["region"], label=region_name)
        if len(prefecture):
            ax.plot(prefecture["year"], prefecture[est], ls="--", marker="s", color=PALETTE["prefecture"],
                    label=labels.text("groups.prefecture", lang))
            ax.fill_between(prefecture["year"], (prefecture[est] - z * prefecture[se]).clip(lower=0),
                            prefecture[est] + z * prefecture[se], color=PALETTE["prefecture"], alpha=0.2, lw=0)
        ax.set_title(labels.text(f"columns.{est}", lang), fontsize=10)
        ax.set_xlabel(labels.text("columns.year", lang))
        ax.set_ylim(bottom=0)
        _percent(ax)
        years_axis(ax, region["year"])
    axes[0].set_ylabel(labels.text("monitoring.figures.axis_share", lang))
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=2, frameon=False, fontsize=9)
    fig.suptitle(labels.text("monitoring.figures.fgt", lang), fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    plt.close(fig)
    return fig


def near_threshold(region: pd.DataFrame, prefecture: pd.DataFrame, region_name: str, band: float,
                   lang: str = "zh"):
    """Stacked shares below the threshold and 1 to ``band`` times above it (county), prefecture markers."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    years = region["year"].astype(int)
    below = labels.text("monitoring.figures.below_label", lang)
    near = labels.text("monitoring.figures.near_label", lang, band=band)
    def series(name: str, what: str) -> str:
        return labels.text("monitoring.series", lang, name=name, what=what)

    ax.bar(years, region["fgt0"], color=PALETTE["threshold"], width=0.6, label=series(region_name, below))
    ax.bar(years, region["share_near_threshold"], bottom=region["fgt0"], color=PALETTE["region"], alpha=0.75,
           width=0.6, label=series(region_name, near))
    if len(prefecture):
        ax.plot(prefecture["year"], prefecture["fgt0"] + prefecture["share_near_threshold"], ls="--", marker="s",
                color=PALETTE["prefecture"], label=series(labels.text("groups.prefecture", lang),
                                                          labels.text("monitoring.figures.below_or_near", lang,
                                                                      band=band)))
    ax.set_title(labels.text("monitoring.figures.near", lang, band=band))
    ax.set_ylabel(labels.text("monitoring.figures.axis_share", lang))
    ax.set_xticks(sorted(set(years)))
    ax.set_ylim(0, max(0.05, float((region["fgt0"] + region["share_near_threshold"]).max()) * 1.05))
    _percent(ax)
    _legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2, fontsize=8)
    return finish(fig)


def growth_incidence(gic: pd.DataFrame, prefecture: pd.DataFrame, region_name: str, lang: str = "zh"):
    """Annual real growth of each income quantile with its bootstrap band; prefecture dashed."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    ax.plot(gic["quantile"], gic["growth"], marker="o", color=PALETTE["region"], label=region_name)
    ax.fill_between(gic["quantile"], gic["conf_low"], gic["conf_high"], color=PALETTE["region"], alpha=0.15, lw=0)
    if len(prefecture):
        ax.plot(prefecture["quantile"], prefecture["growth"], ls="--", color=PALETTE["prefecture"],
                label=labels.text("groups.prefecture", lang))
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title(labels.text("monitoring.figures.gic", lang, year0=int(gic["year0"].iloc[0]),
                             year1=int(gic["year1"].iloc[0])), fontsize=11)
    ax.set_xlabel(labels.text("monitoring.figures.gic_x", lang))
    ax.set_ylabel(labels.text("monitoring.figures.gic_y", lang))
    _percent(ax)
    _percent(ax, axis="x", decimals=0)
    _legend(ax)
    return finish(fig)


def basic_needs(table: pd.DataFrame, names: dict[str, str], lang: str = "zh"):
    """Left: H and M0 by year. Right: each indicator's contribution to M0, or, when nobody is poor at
    the cutoff, each indicator's uncensored share not secured."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 3.8))
    years = table["year"].astype(int)
    for col, marker in (("H", "o"), ("M0", "s")):
        left.plot(years, table[col], marker=marker, label=labels.text(f"columns.{col}", lang))
    left.set_title(labels.text("monitoring.figures.bn_trend", lang, k=float(table["k"].iloc[0])), fontsize=10)
    left.set_ylim(bottom=0, top=max(0.01, float(table[["H", "M0"]].max().max()) * 1.3))
    _percent(left)
    years_axis(left, years)
    _legend(left, fontsize=8)
    use_contrib = bool((table["M0"] > 0).any())
    prefix, title = ("contrib_", "bn_contrib") if use_contrib else ("dep_", "bn_deprived")
    values = pd.DataFrame({names[n]: table[f"{prefix}{n}"].to_numpy() for n in names}, index=years)
    colors = sns.color_palette("Set2", len(names))
    if use_contrib:
        values.plot.bar(stacked=True, ax=right, color=colors, width=0.7, rot=0)
    else:
        values.plot.bar(ax=right, color=colors, width=0.8, rot=0)
    right.set_title(labels.text(f"monitoring.figures.{title}", lang), fontsize=10)
    _percent(right)
    right.set_xlabel("")
    _legend(right, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3)
    return finish(fig)


def coverage(table: pd.DataFrame, names: dict[str, str], lang: str = "zh"):
    """Stacked shares of households by monitoring type per year, with the share still monitored."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    years = table["year"].astype(int)
    bottom = np.zeros(len(table))
    for t, color in TYPE_COLORS.items():
        # a blanked cell (disclosure control) is drawn as no bar, and the stack stops there
        share = table[f"share_households_{t}"].to_numpy(float)
        ax.bar(years, np.nan_to_num(share), bottom=bottom, color=color, width=0.6, label=names[t])
        bottom += np.nan_to_num(share)
    ax.plot(years, table["households_active"].astype("float64") / table["households"], color="black", marker="o",
            lw=1.5, label=names["active"])
    ax.set_title(labels.text("monitoring.figures.coverage", lang))
    ax.set_ylabel(labels.text("monitoring.figures.axis_households_share", lang))
    ax.set_xlabel(labels.text("columns.year", lang))
    ax.set_xticks(sorted(set(years)))
    ax.set_ylim(0, max(0.02, float(bottom.max()) * 1.35))
    _percent(ax)
    _legend(ax, loc="upper left", fontsize=8, ncols=2)
    return finish(fig)


def _km_steps(curve: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Curve points starting at (0, 1), the bands following the last known value at the start."""
    months = np.r_[0.0, curve["months"].to_numpy(float)]
    surv = np.r_[1.0, curve["survival"].to_numpy(float)]
    low = np.r_[1.0, curve["conf_low"].to_numpy(float)]
    high = np.r_[1.0, curve["conf_high"].to_numpy(float)]
    return months, surv, low, high


def survival(curve: pd.DataFrame, prefecture: pd.DataFrame, region_name: str, min_months: float,
             lang: str = "zh"):
    """Kaplan-Meier share not yet eliminated against months since identification, with its band."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    months, surv, low, high = _km_steps(curve)
    ax.step(months, surv, where="post", color=PALETTE["region"], label=region_name)
    ax.fill_between(months, low, high, step="post", color=PALETTE["region"], alpha=0.15, lw=0)
    if len(prefecture):
        p_months, p_surv, _, _ = _km_steps(prefecture)
        ax.step(p_months, p_surv, where="post", ls="--", color=PALETTE["prefecture"],
                label=labels.text("groups.prefecture", lang))
    ax.axvline(min_months, color=PALETTE["threshold"], lw=1, ls=":")
    ax.annotate(labels.text("monitoring.figures.min_months", lang, months=min_months), (min_months, 0.05),
                xytext=(4, 0), textcoords="offset points", color=PALETTE["threshold"], fontsize=8)
    ax.axhline(0.5, color="grey", lw=0.6)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_title(labels.text("monitoring.figures.survival", lang))
    ax.set_xlabel(labels.text("monitoring.figures.survival_x", lang))
    ax.set_ylabel(labels.text("monitoring.figures.survival_y", lang))
    _percent(ax, decimals=0)
    _legend(ax)
    return finish(fig)


def transition_heatmap(counts: pd.DataFrame, shares: pd.DataFrame, names: list[str], year_from: int, year_to: int,
                       note: str, lang: str = "zh"):
    """Row shares of status transitions, from the published (blanked) cells: a blanked cell (missing count)
    shows '–' and no colour, a zero '0'; ``note`` (what '–' means) goes under the figure."""
    n = counts.to_numpy(dtype="float64")
    share = shares.to_numpy(dtype="float64")
    fig, ax = plt.subplots(figsize=(7, 4.8))
    sns.heatmap(pd.DataFrame(np.where(n > 0, share, np.nan), index=names, columns=names), cmap="Blues", vmin=0,
                vmax=1, cbar=False, linewidths=1, linecolor="white", ax=ax)
    ax.grid(False)
    ax.set_facecolor("#f4f4f4")
    for (i, j), value in np.ndenumerate(n):
        if np.isnan(value):
            label = "–"
        elif value == 0:
            label = "0"
        else:
            label = f"{share[i, j]:.0%}\n({value:,.0f})" if not np.isnan(share[i, j]) else f"({value:,.0f})"
        dark = not np.isnan(share[i, j]) and value > 0 and share[i, j] > 0.6
        ax.text(j + 0.5, i + 0.5, label, ha="center", va="center", fontsize=9, color="white" if dark else "#333333")
    ax.set_title(labels.text("monitoring.figures.transitions", lang, year_from=year_from, year_to=year_to),
                 fontsize=10)
    ax.set_ylabel(labels.text("columns.status_from", lang))
    ax.set_xlabel(labels.text("columns.status_to", lang))
    ax.tick_params(axis="y", rotation=0)
    ax.text(0, -0.2, note, transform=ax.transAxes, fontsize=7, color="#555555", ha="left", va="top", wrap=True)
    return finish(fig)


def roc(curves: dict[str, tuple[pd.DataFrame, float]], red: tuple[float, float], year: int, year_next: int,
        lang: str = "zh"):
    """ROC curves (label -> (points, AUC)) with the chance line and the score's red-warning point."""
    fig, ax = plt.subplots(figsize=(5.8, 5))
    for (label, (points, auc)), color in zip(curves.items(), (PALETTE["region"], PALETTE["poverty_exited"]),
                                             strict=False):
        ax.plot(points["fpr"], points["tpr"], drawstyle="default", color=color, label=f"{label} (AUC {auc:.2f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label=labels.text("monitoring.figures.chance", lang))
    ax.scatter([red[0]], [red[1]], color=PALETTE["threshold"], zorder=5,
               label=labels.text("monitoring.figures.red_point", lang))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(labels.text("monitoring.figures.roc", lang, year=year, year_next=year_next), fontsize=10)
    ax.set_xlabel(labels.text("monitoring.figures.roc_x", lang))
    ax.set_ylabel(labels.text("monitoring.figures.roc_y", lang))
    _percent(ax, decimals=0)
    _percent(ax, axis="x", decimals=0)
    _legend(ax, loc="lower right", fontsize=8)
    return finish(fig)


def _blank_note(ax, frame: pd.DataFrame, column: str, k: int, lang: str) -> None:
    """Write the disclosure marker where a bar is left out, so a missing bar is not read as zero."""
    for i, value in enumerate(frame[column]):
        if pd.isna(value):
            ax.text(0, i, labels.text("assistance.figures.blanked", lang, k=k), va="center", fontsize=8,
                    color="#555555")


def assistance_measures(frame: pd.DataFrame, total: int, first: int, last: int, k: int, lang: str = "zh"):
    """Horizontal bars: share of target household-years with each kind of measure (blank where small)."""
    frame = frame.sort_values("share", na_position="first").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(frame) + 1.6))
    ax.barh(frame["label"], frame["share"].fillna(0), color=PALETTE["region"])
    _blank_note(ax, frame, "share", k, lang)
    ax.set_xlim(0, 1)
    _percent(ax, "x")
    ax.set_xlabel(labels.text("assistance.figures.axis_share", lang, total=total, first=first, last=last))
    ax.set_title(labels.text("assistance.figures.measures", lang, first=first, last=last))
    return finish(fig)


def risk_types(frame: pd.DataFrame, first: int, last: int, k: int, lang: str = "zh"):
    """Horizontal bars: target household-years by risk type, and those eliminated in the year (blank where small)."""
    frame = frame.sort_values("targets", na_position="first").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(frame) + 1.6))
    ax.barh(frame["label"], frame["targets"].fillna(0), color=PALETTE["region"],
            label=labels.text("assistance.figures.targets", lang))
    ax.barh(frame["label"], frame["eliminated_in_year"].fillna(0), color=PALETTE["prefecture"], height=0.4,
            label=labels.text("assistance.figures.eliminated", lang))
    _blank_note(ax, frame, "targets", k, lang)
    ax.set_xlabel(labels.text("assistance.figures.axis_count", lang))
    ax.set_title(labels.text("assistance.figures.risks", lang, first=first, last=last))
    _legend(ax, loc="lower right", fontsize=8)
    return finish(fig)
