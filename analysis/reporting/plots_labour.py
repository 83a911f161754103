"""Figures of the employment and training reports, labelled in Chinese or English.

Each function takes tidy tables (result tables or the report modules' estimate tables) and ``lang``, and
returns a closed matplotlib figure that Jupyter displays once (see :func:`analysis.reporting.plots.finish`).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch

from analysis.measures.labour import WORKING_LOCATIONS
from analysis.reporting import labels
from analysis.reporting.plots import PALETTE, coef_panel, finish, years_axis

COLOURS = {"met": "#2e8b57", "missed": "#c0392b", "unknown": "#9aa5b1", "pre": "#9aa5b1",
           "before": "#9aa5b1", "ipw": "#1f5aa6", "dr": "#1f5aa6", "psm": "#e67e22",
           "trained": "#1f5aa6", "untrained": "#9aa5b1"}
METHODS = ("ipw", "dr", "psm")


def _t(key: str, lang: str, **values) -> str:
    return labels.text(key, lang, **values)


def _legend(ax, **kwargs) -> None:
    legend = ax.legend(frameon=False, **kwargs)
    if legend is not None:
        legend.set_title("")


def _pp_axis(ax, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{100 * v:.0f}"))


# --------------------------------------------------------------------------- employment
def employment_trend(region: pd.DataFrame, prefecture: pd.DataFrame, name: str, lang: str = "zh"):
    """Employment rate against the prefecture (left) and workers by year with the 稳岗 check (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(region["year"], region["employment_rate"], marker="o", color=PALETTE["region"], label=name)
    left.plot(prefecture["year"], prefecture["employment_rate"], marker="s", ls="--",
              color=PALETTE["prefecture"], label=_t("groups.prefecture", lang))
    left.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    left.set_title(_t("employment.fig_rate", lang))
    left.set_xlabel(_t("columns.year", lang))
    left.set_ylabel(_t("columns.employment_rate", lang))
    years_axis(left, region["year"])
    _legend(left)
    # the 稳岗 goal is judged on the official count (脱贫劳动力务工规模)
    status = region["official_no_lower_than_last_year"].map(
        lambda v: "unknown" if pd.isna(v) else ("met" if v else "missed"))
    right.bar(region["year"], region["official_workers"], color=[COLOURS[s] for s in status], width=0.6)
    handles = [Patch(color=COLOURS[s], label=_t(f"employment.stable_{s}_label", lang))
               for s in ("met", "missed", "unknown")]
    for year, workers in zip(region["year"], region["official_workers"]):
        right.annotate(f"{int(workers):,}", (year, workers), ha="center", va="bottom", fontsize=9)
    right.set_title(_t("employment.fig_workers", lang))
    right.set_xlabel(_t("columns.year", lang))
    right.set_ylabel(_t("columns.official_workers", lang))
    right.margins(y=0.12)
    years_axis(right, region["year"])
    _legend(right, handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=3)
    return finish(fig)


def workers_by_location(region: pd.DataFrame, lang: str = "zh"):
    """Workers by place of work (县内 / 省内县外 / 省外), stacked, by year."""
    values = pd.DataFrame({labels.code_label("work_location", p, lang): region[f"workers_{p}"].to_numpy()
                           for p in WORKING_LOCATIONS}, index=region["year"].astype(int))
    fig, ax = plt.subplots(figsize=(7.5, 4))
    values.plot.bar(stacked=True, ax=ax, color=sns.color_palette("Set2", len(WORKING_LOCATIONS)), width=0.65,
                    rot=0)
    ax.set_title(_t("employment.fig_location", lang))
    ax.set_xlabel(_t("columns.year", lang))
    ax.set_ylabel(_t("columns.workers", lang))
    _legend(ax, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    return finish(fig)


def programme_jobs(region: pd.DataFrame, lang: str = "zh"):
    """Jobs in assistance workshops and public-welfare posts, by year."""
    values = pd.DataFrame({_t("columns.workshop_jobs", lang): region["workshop_jobs"].to_numpy(),
                           _t("columns.public_welfare_posts", lang): region["public_welfare_posts"].to_numpy()},
                          index=region["year"].astype(int))
    fig, ax = plt.subplots(figsize=(7.5, 4))
    values.plot.bar(ax=ax, color=[PALETTE["region"], PALETTE["poverty_exited"]], width=0.7, rot=0)
    ax.set_title(_t("employment.fig_programmes", lang))
    ax.set_xlabel(_t("columns.year", lang))
    ax.set_ylabel(_t("employment.axis_persons", lang))
    _legend(ax, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    return finish(fig)


def event_study(table: pd.DataFrame, name: str, lang: str = "zh"):
    """Effect of a workshop on the village employment rate by years since opening, with 95% intervals.

    ``table`` has ``scope`` (prefecture / county), ``event_time``, ``estimate``, ``conf_low``,
    ``conf_high`` and ``pretrend_p_value``; pre-opening periods are drawn hollow.
    """
    fig, ax = plt.subplots(figsize=(8, 4.2))
    scopes = [s for s in ("prefecture", "county") if (table["scope"] == s).any()]
    offsets = {"prefecture": -0.08 if len(scopes) > 1 else 0.0, "county": 0.08}
    colours = {"prefecture": PALETTE["region"], "county": PALETTE["poverty_exited"]}
    for scope in scopes:
        rows = table[table["scope"] == scope]
        x = rows["event_time"].to_numpy(dtype=float) + offsets[scope]
        est = rows["estimate"].to_numpy(dtype=float)
        err = np.vstack([est - rows["conf_low"].to_numpy(dtype=float),
                         rows["conf_high"].to_numpy(dtype=float) - est])
        who = _t("groups.prefecture", lang) if scope == "prefecture" else name
        label = _t("employment.event_legend", lang, who=who, p=float(rows["pretrend_p_value"].iloc[0]))
        ax.errorbar(x, est, yerr=err, fmt="none", ecolor=colours[scope], elinewidth=1.5, capsize=3)
        pre = rows["event_time"].to_numpy() < 0
        ax.plot(x[~pre], est[~pre], "o", color=colours[scope], label=label)
        ax.plot(x[pre], est[pre], "o", mfc="white", color=colours[scope])
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(-0.5, color="grey", ls=":", lw=1)
    ax.set_xticks(sorted(table["event_time"].unique()))
    _pp_axis(ax)
    ax.set_title(_t("employment.fig_event", lang))
    ax.set_xlabel(_t("employment.axis_event_time", lang))
    ax.set_ylabel(_t("employment.axis_pp", lang))
    _legend(ax, loc="upper left")
    return finish(fig)


def honest_sensitivity(table: pd.DataFrame, name: str, lang: str = "zh"):
    """Sensitivity plot of Rambachan & Roth (2023): robust 95% intervals against Mbar and against M.

    ``table`` is one scope's rows of the stored ``workshop_honest`` table (restriction ``none``,
    ``relative_magnitudes``, ``smoothness``; bound, conf_low, conf_high). Each panel starts with the
    interval under exact parallel trends, drawn in grey.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    original = table[table["restriction"] == "none"].iloc[0]
    panels = (("relative_magnitudes", "employment.honest_panel_rm", 1.0),
              ("smoothness", "employment.honest_panel_sd", 100.0))
    for ax, (restriction, key, scale) in zip(axes, panels):
        rows = table[table["restriction"] == restriction].sort_values("bound")
        x = rows["bound"].to_numpy(dtype=float) * scale
        step = float(np.diff(x).min()) if len(x) > 1 else 1.0
        ax.errorbar([x[0] - step], [(original["conf_low"] + original["conf_high"]) / 2],
                    yerr=[[(original["conf_high"] - original["conf_low"]) / 2]], fmt="none",
                    ecolor=COLOURS["pre"], elinewidth=2.5, capsize=4, label=_t("employment.honest_original", lang))
        mid = (rows["conf_low"].to_numpy(dtype=float) + rows["conf_high"].to_numpy(dtype=float)) / 2
        half = (rows["conf_high"].to_numpy(dtype=float) - rows["conf_low"].to_numpy(dtype=float)) / 2
        ax.errorbar(x, mid, yerr=half, fmt="none", ecolor=PALETTE["region"], elinewidth=2.5, capsize=4,
                    label=_t("employment.honest_robust", lang))
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(_t(key, lang))
        ax.set_xticks(x)
        ax.set_xticklabels([f"{v:g}" if scale == 1 else f"{v:.1f}" for v in x])
    _pp_axis(axes[0])
    axes[0].set_ylabel(_t("employment.axis_pp", lang))
    _legend(axes[0], loc="upper left", fontsize=8)
    fig.suptitle(_t("employment.fig_honest", lang, where=name))
    return finish(fig)


# --------------------------------------------------------------------------- training
def trainees(types: pd.DataFrame, region: pd.DataFrame, prefecture: pd.DataFrame, name: str, lang: str = "zh"):
    """Trainees by type of training, stacked (left); certificate and follow-up shares (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4.2))
    wide = types.assign(trained=types["trained"].astype(float)).pivot_table(
        index="year", columns="training_type", values="trained", aggfunc="sum", fill_value=0)
    if wide.shape[1]:
        wide.index = wide.index.astype(int)
        wide.plot.bar(stacked=True, ax=left, color=sns.color_palette("Set2", wide.shape[1]), width=0.65, rot=0)
        _legend(left, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=9)
    left.set_ylim(bottom=0)
    left.set_title(_t("training.fig_types", lang))
    left.set_xlabel(_t("columns.year", lang))
    left.set_ylabel(_t("training.axis_trainees", lang))
    styles = {"certified_share": ("o", PALETTE["region"]),
              "trainees_employed_next_year_share": ("s", PALETTE["poverty_exited"])}
    colon = "：" if lang == "zh" else ": "
    for column, (marker, colour) in styles.items():
        label = _t(f"columns.{column}", lang)
        right.plot(region["year"], region[column], marker=marker, color=colour, label=f"{name}{colon}{label}")
        right.plot(prefecture["year"], prefecture[column], marker=marker, ls="--", color=PALETTE["prefecture"],
                   label=f"{_t('groups.prefecture', lang)}{colon}{label}")
    right.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    right.set_ylim(0, 1.05)
    right.set_title(_t("training.fig_shares", lang))
    right.set_xlabel(_t("columns.year", lang))
    years_axis(right, region["year"])
    _legend(right, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=2, fontsize=9)
    return finish(fig)


def balance(balance_table: pd.DataFrame, propensity: pd.DataFrame, lang: str = "zh"):
    """Love plot of absolute standardized mean differences before and after weighting (left) and the
    propensity-score distributions of trainees and others (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    rows = balance_table.reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    marks = {"smd_before": ("o", COLOURS["before"]), "smd_after_ipw": ("s", COLOURS["ipw"]),
             "smd_after_psm": ("^", COLOURS["psm"])}
    for column, (marker, colour) in marks.items():
        left.plot(rows[column].abs(), y, marker, color=colour, ms=7, label=_t(f"training.{column}", lang))
    left.axvline(0.1, color=PALETTE["threshold"], ls="--", lw=1)
    left.set_yticks(y, rows["label"])
    left.set_xlabel(_t("training.axis_smd", lang))
    left.set_title(_t("training.fig_love", lang))
    _legend(left, loc="lower right", fontsize=9)
    for arm, colour in (("trained", COLOURS["trained"]), ("untrained", COLOURS["untrained"])):
        part = propensity[propensity["arm"] == arm]
        total = part["units"].sum()
        if total:
            right.bar(part["bin_low"], part["units"] / total, width=part["bin_high"] - part["bin_low"],
                      align="edge", alpha=0.55, color=colour, label=_t(f"training.arm_{arm}", lang))
    for bound in (0.05, 0.95):
        right.axvline(bound, color=PALETTE["threshold"], ls=":", lw=1)
    right.set_xlim(0, 1)
    right.set_xlabel(_t("training.axis_propensity", lang))
    right.set_ylabel(_t("training.axis_share_units", lang))
    right.set_title(_t("training.fig_overlap", lang))
    _legend(right, loc="upper right", fontsize=9)
    return finish(fig)


def att_forest(table: pd.DataFrame, lang: str = "zh", title_key: str = "training.fig_forest"):
    """Forest plot of the ATT of training on employment (percentage points) and wage income (yuan),
    by estimator, for the county and the prefecture.

    ``table`` has ``outcome``, ``label`` (row label), ``colour``, ``estimate``, ``conf_low``, ``conf_high``.
    """
    outcomes = [o for o in ("employed", "wage_income") if (table["outcome"] == o).any()]
    fig, axes = plt.subplots(1, len(outcomes), figsize=(10.5, 0.5 * table["label"].nunique() + 1.8),
                             squeeze=False)
    for ax, outcome in zip(axes[0], outcomes):
        rows = table[table["outcome"] == outcome]
        coef_panel(ax, rows, "label", rows["colour"].tolist(), 100.0 if outcome == "employed" else 1.0)
        ax.set_title(_t(f"training.outcome_{outcome}", lang))
        ax.set_xlabel(_t(f"training.axis_{outcome}", lang))
        if outcome == "wage_income":
            ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    if len(outcomes) == 2:
        axes[0][1].tick_params(labelleft=False)
    fig.suptitle(_t(title_key, lang))
    return finish(fig)
