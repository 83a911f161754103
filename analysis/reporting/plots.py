"""Figures (seaborn / matplotlib) with Chinese or English labels and a CJK font that renders.

:func:`setup` finds an installed CJK font and makes it the default; with ``lang="zh"`` and no such font it
raises instead of drawing empty boxes. On Debian/Ubuntu install one with ``apt-get install fonts-noto-cjk``;
Windows (Microsoft YaHei) and macOS (PingFang) have one already.
"""
from __future__ import annotations

import logging
from base64 import b64encode

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import font_manager

from analysis.reporting import labels

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Noto Sans CJK JP",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
                "Heiti SC", "Arial Unicode MS")
PALETTE = {"region": "#1f5aa6", "prefecture": "#9aa5b1", "threshold": "#c0392b",
           "all": "#1f5aa6", "poverty_exited": "#e67e22", "monitored": "#8e44ad"}


class FontError(RuntimeError):
    """No font able to draw Chinese characters is installed."""


def cjk_font() -> str | None:
    """The family name of an installed CJK font, or ``None``."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FAMILIES if f in installed), None)
    if found is None:
        # matplotlib caches the font list; a font installed after the cache was built needs a rescan.
        font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((f for f in CJK_FAMILIES if f in installed), None)
    return found


def setup(lang: str = "zh") -> str | None:
    """Set the seaborn theme and a CJK font; raise :class:`FontError` for Chinese output without one."""
    labels.check_lang(lang)
    family = cjk_font()
    if family is None and lang == "zh":
        raise FontError("no CJK font is installed, so Chinese labels would show as empty boxes. Install one "
                        "(Debian/Ubuntu: apt-get install fonts-noto-cjk) or run with lang='en'.")
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["font.sans-serif"] = ([family] if family else []) + ["DejaVu Sans"]
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["text.parse_math"] = False   # a '$' in a place name is a character, not the start of a formula
    # matplotlib's INFO lines (e.g. "Using categorical units...") are not for readers of a page
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    plt.rcParams["figure.dpi"] = 110
    _sharp_inline_figures()
    return family


def _sharp_inline_figures() -> None:
    """In a notebook, figures are shown as PNG at twice the resolution ("retina", :func:`picture`), displayed
    at the same size: sharp in the HTML pages and in print. The figure's title goes with the picture (the
    output's ``image/png`` metadata, beside its display width and height), so that the Word report can
    caption the very picture the page showed (:mod:`analysis.publish.figures`). Outside IPython (Word
    reports, tests) nothing changes."""
    from IPython import get_ipython
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure
    from matplotlib_inline.backend_inline import set_matplotlib_formats
    set_matplotlib_formats("retina")
    shell.display_formatter.formatters["image/png"].for_type(Figure, _shown_picture)


def _shown_picture(fig):
    """The notebook's PNG formatter: :func:`picture` base64-encoded, as IPython's own retina formatter
    returns it, or None for an empty figure."""
    shown = picture(fig)
    if shown is None:
        return None
    data, metadata = shown
    return b64encode(data).decode("ascii"), metadata


def figure_title(fig) -> str:
    """The title of ``fig``: its suptitle, else the first axes title ('' when it has none)."""
    if fig._suptitle is not None and fig._suptitle.get_text():
        return fig._suptitle.get_text()
    return next((ax.get_title() for ax in fig.axes if ax.get_title()), "")


def picture(fig) -> tuple[bytes, dict] | None:
    """``fig`` as the pages show it: PNG at twice its resolution (``figure.dpi`` 110, so 220 dpi), cropped
    to its content, with metadata ``width`` and ``height`` (display size in pixels) and ``title``
    (:func:`figure_title`); None for an empty figure (nothing is shown).

    The one drawing of a figure for pages and Word reports alike: the page's picture is kept by the runner
    and a Word report only draws one itself when the page's is missing or stale.
    """
    from IPython.core.pylabtools import retina_figure
    shown = retina_figure(fig, base64=False)
    if shown is None:
        return None
    data, metadata = shown
    return data, {**metadata, "title": figure_title(fig)}


def finish(fig):
    """Lay out and close ``fig``: the caller's display shows it once (not again when the cell ends)."""
    fig.tight_layout()
    plt.close(fig)
    return fig


def _yuan_axis(ax) -> None:
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))


def years_axis(ax, years) -> None:
    ax.set_xticks(sorted(set(int(y) for y in years)))


def income_trend(region_table: pd.DataFrame, prefecture_table: pd.DataFrame, region: str, lang: str = "zh"):
    """Per-capita income of the region and its prefecture over the years, with the monitoring threshold."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    ax.plot(region_table["year"], region_table["income_pc"], marker="o", color=PALETTE["region"], label=region)
    ax.plot(prefecture_table["year"], prefecture_table["income_pc"], marker="s", ls="--",
            color=PALETTE["prefecture"], label=labels.text("groups.prefecture", lang))
    ax.step(region_table["year"], region_table["threshold"], where="mid", color=PALETTE["threshold"],
            label=labels.text("income.threshold_label", lang))
    ax.set_title(labels.text("income.fig_trend", lang))
    ax.set_ylabel(labels.text("income.axis_yuan", lang))
    ax.set_xlabel(labels.text("columns.year", lang))
    ax.set_ylim(bottom=0)
    _yuan_axis(ax)
    years_axis(ax, region_table["year"])
    ax.legend(frameon=False)
    return finish(fig)


def income_composition(region_table: pd.DataFrame, lang: str = "zh"):
    """Stacked per-capita income by source (wages, net business, property, transfers) by year."""
    sources = ["wage", "business", "property", "transfer"]
    values = pd.DataFrame({labels.text(f"sources.{s}", lang): region_table[f"share_{s}"] * region_table["income_pc"]
                           for s in sources})
    values.index = region_table["year"].astype(int)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    values.plot.bar(stacked=True, ax=ax, color=sns.color_palette("Set2", len(sources)), width=0.7, rot=0)
    ax.set_title(labels.text("income.fig_composition", lang))
    ax.set_ylabel(labels.text("income.axis_yuan", lang))
    ax.set_xlabel(labels.text("columns.year", lang))
    _yuan_axis(ax)
    ax.legend(frameon=False, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    return finish(fig)


def income_distribution(dist: pd.DataFrame, year: int, lang: str = "zh"):
    """Persons by bin of household per-capita income in ``year``, stacked by household type, against the
    threshold (``dist``: :func:`analysis.measures.indicators.income_distribution` for one region)."""
    d = dist[dist["year"] == year]
    fig, ax = plt.subplots(figsize=(7.5, 4))
    colours = {"general": PALETTE["all"], "poverty_exited": PALETTE["poverty_exited"]}
    bottom = None
    for kind, part in d.groupby("household_type", sort=True):
        part = part.sort_values("bin_low")
        width = (part["bin_high"] - part["bin_low"]).to_numpy()
        base = np.zeros(len(part)) if bottom is None else bottom
        ax.bar(part["bin_low"].to_numpy(), part["persons"].to_numpy(), width=width, bottom=base, align="edge",
               color=colours.get(kind, PALETTE["all"]), edgecolor="white", linewidth=0.3,
               label=labels.code_label("household_type", kind, lang))
        bottom = base + part["persons"].to_numpy()
    if len(d):
        threshold = float(d["threshold"].iloc[0])
        ax.axvline(threshold, color=PALETTE["threshold"], lw=2)
        ax.annotate(f"{labels.text('income.threshold_label', lang)} {threshold:,.0f}",
                    (threshold, ax.get_ylim()[1] * 0.9), xytext=(6, 0), textcoords="offset points",
                    color=PALETTE["threshold"])
        ax.legend(frameon=False)
    ax.set_title(labels.text("income.fig_distribution", lang, year=year))
    ax.set_xlabel(labels.text("income.axis_yuan", lang))
    ax.set_ylabel(labels.text("columns.persons", lang))
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    return finish(fig)


def exited_income(table: pd.DataFrame, region: str, lang: str = "zh"):
    """Per-capita net income of 脱贫户 by year (bars), with the national figure for 脱贫人口 where the
    benchmark table has one (``table``: :func:`analysis.reporting.income._exited` rows)."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    years = table["year"].astype(int)
    ax.bar(years, table["income_pc"].astype("float64").fillna(0), color=PALETTE["poverty_exited"], width=0.6,
           label=labels.text("income.exited.series_county", lang, region=region))
    bench = table.dropna(subset=["benchmark"])
    if len(bench):
        ax.plot(bench["year"].astype(int), bench["benchmark"], color="black", marker="s", ls="--",
                label=labels.text("income.exited.series_national", lang))
    ax.set_xticks(sorted(set(years)))
    top = np.nanmax(np.r_[table["income_pc"].astype("float64").to_numpy(), bench["benchmark"].to_numpy(float)])
    ax.set_ylim(0, top * 1.3)   # room for the legend above the bars
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_ylabel(labels.text("income.axis_yuan", lang))
    ax.set_title(labels.text("income.exited.figure", lang))
    ax.legend(frameon=False, loc="upper left", ncols=2, fontsize=9)
    return finish(fig)


def group_growth(table: pd.DataFrame, lang: str = "zh", note: str = ""):
    """Real growth of per-capita income of the same households from one year to the next, for all
    households, 脱贫户 and monitoring targets (groups as of the start year), with 95% intervals
    (``table``: :func:`analysis.measures.indicators.panel_growth` rows; ``note``: a footnote under the
    figure, e.g. on suppressed small groups)."""
    groups = ("all", "poverty_exited", "monitored")
    t = table[table["group"].isin(groups)].dropna(subset=["growth_real"])
    years = sorted(t["year"].unique())
    fig, ax = plt.subplots(figsize=(7.5, 4))
    width = 0.25
    for i, group in enumerate(groups):
        rows = t[t["group"] == group].set_index("year").reindex(years)
        x = np.arange(len(years)) + (i - 1) * width
        low = (rows["growth_real"] - rows["growth_real_low"]).clip(lower=0)
        high = (rows["growth_real_high"] - rows["growth_real"]).clip(lower=0)
        ax.errorbar(x, rows["growth_real"], yerr=[low, high], fmt="o", capsize=3, color=PALETTE[group],
                    label=labels.text(f"groups.{group}", lang))
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(np.arange(len(years)), [f"{int(y) - 1}–{int(y)}" for y in years])
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_title(labels.text("income.fig_groups", lang))
    ax.set_ylabel(labels.text("columns.growth_real", lang))
    ax.set_xlabel(labels.text("income.axis_pair", lang))
    ax.legend(frameon=False)
    footnote = " ".join(n for n in (labels.text("income.groups_method", lang), note) if n)
    fig.text(0.01, 0.01, footnote, fontsize=8, color="0.35", ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    plt.close(fig)
    return fig


def coef_panel(ax, rows: pd.DataFrame, label_column: str, colours: list, scale: float = 1.0) -> None:
    """Estimates with their confidence intervals, one row each (top first), on ``ax``; a line at 0.

    ``rows`` holds ``estimate``, ``conf_low`` and ``conf_high`` (as ``Estimate.tidy()`` and
    :func:`analysis.estimators.impact.etable` give them), shown times ``scale``.
    """
    y = np.arange(len(rows))[::-1]
    est = rows["estimate"].to_numpy(dtype=float) * scale
    low = rows["conf_low"].to_numpy(dtype=float) * scale
    high = rows["conf_high"].to_numpy(dtype=float) * scale
    for yi, e, lo, hi, c in zip(y, est, low, high, colours):
        if np.isfinite(e):
            ax.errorbar(e, yi, xerr=[[e - lo], [hi - e]], fmt="o", color=c, capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, rows[label_column])


def coefplot(table: pd.DataFrame, label_column: str, title: str, xlabel: str, scale: float = 1.0):
    """Several estimates side by side in one figure: the plot of an ``etable``-shaped frame."""
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(table) + 1.6))
    coef_panel(ax, table, label_column, [PALETTE["region"]] * len(table), scale)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return finish(fig)
