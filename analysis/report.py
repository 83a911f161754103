"""What the notebooks show: parameters checked once, then one call per figure, table or paragraph.

Each function takes the :class:`Context` made by :func:`context` and returns something Jupyter displays
(a Markdown block, a figure, a styled table). Notebooks hold no logic of their own.

Examples
--------
>>> from analysis import report
>>> ctx = report.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> report.income_summary(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from analysis.io import data
from analysis.measures import indicators, monitoring
from analysis import labels, plots, results
from analysis.config import DATA_PROCESSED, REPORTS, min_households
from analysis.errors import ParameterError


@dataclass(frozen=True)
class Context:
    """Validated parameters of one report."""

    region: str
    first: int
    last: int
    lang: str
    data_dir: Path
    prefecture: str
    synthetic: bool

    def slice(self, table: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``table`` within the report's years."""
        return table[(table["year"] >= self.first) & (table["year"] <= self.last)].reset_index(drop=True)


def context(region: str, years: list[int], data_dir: str = "", lang: str = "zh") -> Context:
    """Check a notebook's parameters against the data and set up figures; raise on anything not allowed."""
    labels.check_lang(lang)
    folder = Path(data_dir) if data_dir else DATA_PROCESSED
    if len(years) != 2 or not all(isinstance(y, int) for y in years) or years[0] > years[1]:
        raise ParameterError(f"years must be [first, last] with first <= last, not {years!r}")
    data.check_region(region, folder)
    income = results.load("income_growth", folder, region=region)
    available = sorted(income["year"].unique().tolist())
    if not any(years[0] <= y <= years[1] for y in available):
        raise ParameterError(f"{region} has no data in {years[0]}-{years[1]}; it has years {available}")
    plots.setup(lang)
    sources = folder / "sources.json"
    synthetic = sources.exists() and json.loads(sources.read_text(encoding="utf-8")).get("synthetic", False)
    return Context(region, years[0], years[1], lang, folder, str(income["prefecture"].iloc[0]), bool(synthetic))


def header(ctx: Context, title_key: str) -> Markdown:
    """The report title, with the synthetic-data notice when the data are the bundled sample."""
    lines = [f"# {labels.text(title_key, ctx.lang, region=ctx.region, first=ctx.first, last=ctx.last)}"]
    if ctx.synthetic:
        lines.append(f"> {labels.text('synthetic_notice', ctx.lang)}")
    return Markdown("\n\n".join(lines))


# ---- income growth (notebook 01) ------------------------------------------------------------------

def _income(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    region = ctx.slice(results.load("income_growth", ctx.data_dir, region=ctx.region))
    pref = results.load("income_growth_prefecture", ctx.data_dir)
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
    text = labels.text("income.summary", ctx.lang, region=ctx.region, first=int(first["year"]),
                       last=int(last["year"]), income=last["income_pc"],
                       total_growth=last["income_pc"] / first["income_pc"] - 1, cagr_real=cagr,
                       pref_cagr_real=pref_cagr, share_wage=last["share_wage"],
                       threshold=last["threshold"], below=last["share_below_threshold"])
    verdict = labels.text("income.faster" if cagr >= pref_cagr else "income.slower", ctx.lang)
    return Markdown(f"{text} {verdict}")


def income_trend_figure(ctx: Context):
    region, pref = _income(ctx)
    return plots.income_trend(region, pref, ctx.region, ctx.lang)


def income_composition_figure(ctx: Context):
    return plots.income_composition(_income(ctx)[0], ctx.lang)


def income_distribution_figure(ctx: Context):
    households = data.load("households", ctx.data_dir, region=ctx.region,
                           columns=["province", "year", "household_type", "net_income_pc", "size"])
    dist = indicators.pc_distribution(households)
    return plots.income_distribution(dist, ctx.last, ctx.lang)


def _groups(ctx: Context) -> pd.DataFrame:
    """Income by group (脱贫户, monitoring targets, all), with groups of fewer than k households blanked."""
    table = ctx.slice(results.load("group_growth", ctx.data_dir, region=ctx.region))
    return monitoring.suppress_small(table, "households", k=min_households(),
                                     columns=["households", "persons", "income_pc", "growth_nominal", "growth_real"])


def group_growth_figure(ctx: Context):
    table = _groups(ctx)
    note = labels.text("income.groups_suppressed", ctx.lang, k=min_households()) if table["suppressed"].any() else ""
    return plots.group_growth(table.drop(columns="suppressed"), ctx.lang, note=note)


def income_table(ctx: Context):
    """The region's income indicators by year, labelled and formatted for copying into a report."""
    region, _ = _income(ctx)
    cols = ["year", "households", "persons", "income_pc", "median_income_pc", "growth_nominal", "growth_real",
            "share_wage", "share_business", "share_property", "share_transfer", "threshold", "share_below_threshold"]
    table = labels.rename_columns(region[cols], ctx.lang)
    money = [labels.text(f"columns.{c}", ctx.lang) for c in ("income_pc", "median_income_pc", "threshold")]
    shares = [labels.text(f"columns.{c}", ctx.lang) for c in cols if c.startswith(("growth", "share"))]
    return (table.style.hide(axis="index")
            .format("{:,.0f}", subset=money).format("{:.1%}", subset=shares, na_rep="–")
            .set_caption(labels.text("income.table_caption", ctx.lang)))


def save_tables(ctx: Context, output_dir: str, notebook: str, tables: dict[str, pd.DataFrame]) -> Markdown:
    """Write the report's tables as one Excel workbook (a sheet per table) beside its HTML page.

    ``output_dir`` is the region's report folder (as the runner passes it); empty means ``reports/<region>``.
    """
    folder = Path(output_dir) if output_dir else REPORTS / ctx.region
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.xlsx"
    tmp = path.with_name(f".{path.name}.tmp")
    with pd.ExcelWriter(tmp, engine="xlsxwriter") as writer:
        for sheet, table in tables.items():
            labels.rename_columns(table, ctx.lang).to_excel(writer, sheet_name=sheet[:31], index=False)
    tmp.replace(path)
    return Markdown(f"[{path.name}]({path.name})")


def income_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The tables of the income report, by sheet name."""
    region, pref = _income(ctx)
    return {"income": region, "prefecture": pref, "groups": _groups(ctx)}
