"""Indicators by region x year, computed for all regions in one vectorized pass.

Income (this module), employment and training (:mod:`analysis.measures.labour`), poverty and basic needs
(:mod:`analysis.measures.poverty`) share one shape: the ``by`` columns, ``year``, then the measures.

Examples
--------
>>> from analysis.io import data
>>> from analysis.measures import indicators
>>> households = data.load("households")  # doctest: +SKIP
>>> indicators.income_growth(households, by=("county",)).head()  # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis import config
from analysis.io import engine, schema
from analysis.measures import labour
from analysis.measures import poverty as _poverty
from analysis.core.checks import require_columns
from analysis.errors import DataError, Problem
from analysis.measures.labour import training_by_type  # noqa: F401  (one entry point)

SOURCES = ("wage", "business", "property", "transfer")


def _check(frame: pd.DataFrame, by: Sequence[str], needed: Sequence[str]) -> list[str]:
    by = [by] if isinstance(by, str) else list(by)
    require_columns(frame, [*by, *needed], "the table")
    if "year" in by:
        raise ValueError("`by` must not include 'year': every result is already by year")
    return by


def weighted_median(frame: pd.DataFrame, keys: list[str], value: str, weight: str) -> pd.Series:
    """Median of ``value`` within groups of ``keys``, each row counting ``weight`` times (lower median)."""
    ordered = frame[[*keys, value, weight]].sort_values([*keys, value], kind="stable")
    cum = ordered.groupby(keys, sort=False, dropna=False)[weight].cumsum()
    half = ordered.groupby(keys, sort=False, dropna=False)[weight].transform("sum") / 2
    first = ordered[cum >= half].groupby(keys, sort=False, dropna=False)[value].first()
    return first


def income_growth(households: pd.DataFrame | str | Path, by: Sequence[str] = ("county",),
                  thresholds: pd.DataFrame | None = None, cpi: pd.Series | None = None) -> pd.DataFrame:
    """Per-capita net income, its growth and composition, and the share below the threshold.

    One row per region x year with: the ``by`` columns, ``year``, ``households``, ``persons``,
    ``income_pc`` (total net income / total persons, as official statistics compute per-capita income),
    ``median_income_pc`` (median of household per-capita income over persons), ``growth_nominal`` and
    ``growth_real`` (against the same region's previous calendar year; NaN when that year is absent),
    ``share_wage``, ``share_business``, ``share_property``, ``share_transfer`` (shares of net income;
    business net of production expenses, so the four add up to 1), ``threshold`` (person-weighted mean
    of the monitoring thresholds that apply) and ``share_below_threshold`` (persons in households whose
    per-capita net income is below their province x year monitoring threshold).

    Parameters
    ----------
    households : canonical households table, or the path of a Parquet file or dataset folder holding it
        (then DuckDB aggregates it without loading it into memory; the results are the same).
    by : grouping columns, e.g. ``("county",)``, ``("prefecture",)``, ``("county", "household_type")``.
    thresholds : province x year table (default ``analysis/config/thresholds.csv``).
    cpi : price level by year (default ``analysis/config/cpi.csv``, national CPI, NBS communiqués).
    """
    thresholds = config.thresholds() if thresholds is None else thresholds
    if isinstance(households, (str, Path)):
        by = [by] if isinstance(by, str) else list(by)
        if "year" in by:
            raise ValueError("`by` must not include 'year': every result is already by year")
        sums = engine.income_aggregates(households, by, thresholds)
    else:
        by = _check(households, by, ["year", "size", "net_income", "net_income_pc", *schema.INCOME_COMPONENTS,
                                     "expense_production"])
        sums = _income_sums(households, by, thresholds)
    if sums["no_threshold"].any():
        years = sorted(sums.loc[sums["no_threshold"] > 0, "year"].unique().tolist())
        raise DataError(Problem("thresholds.csv", None, "threshold",
                                f"no monitoring threshold configured for year(s) {years}; add rows for them "
                                "(province '*' applies to all provinces)"))
    keys = [*by, "year"]
    out = sums[keys].copy()
    out["households"] = sums["households"].astype("int64")
    out["persons"] = sums["persons"].astype("int64")
    out["income_pc"] = sums["net_income"] / sums["persons"]
    out["median_income_pc"] = sums["median_income_pc"]
    for s in SOURCES:
        out[f"share_{s}"] = sums[s] / sums["net_income"]
    out["threshold"] = sums["thr_w"] / sums["persons"]
    out["share_below_threshold"] = sums["below"] / sums["persons"]
    out["year"] = out["year"].astype("int64")
    out = _add_growth(out, by, cpi if cpi is not None else config.cpi_index())
    cols = [*keys, "households", "persons", "income_pc", "median_income_pc", "growth_nominal", "growth_real",
            *[f"share_{s}" for s in SOURCES], "threshold", "share_below_threshold"]
    return out[cols].sort_values(keys, ignore_index=True)


def _income_sums(households: pd.DataFrame, by: list[str], thresholds: pd.DataFrame) -> pd.DataFrame:
    """In-memory twin of :func:`analysis.io.engine.income_aggregates`."""
    keys = [*by, "year"]
    thr = config.threshold_for(households, table=thresholds, strict=False)
    size = households["size"].astype("float64")
    work = pd.DataFrame({
        **{k: households[k] for k in keys},
        "persons": size,
        "net_income": households["net_income"],
        "net_income_pc": households["net_income_pc"],
        "wage": households["income_wage"],
        "business": households["income_business"] - households["expense_production"],
        "property": households["income_property"],
        "transfer": households["income_transfer"],
        "below": size * (households["net_income_pc"] < thr),
        "thr_w": size * thr,
        "no_threshold": thr.isna(),
    })
    grouped = work.groupby(keys, dropna=False, observed=True)
    sums = grouped[["persons", "net_income", *SOURCES, "below", "thr_w", "no_threshold"]].sum()
    sums["households"] = grouped.size()
    sums["median_income_pc"] = weighted_median(work, keys, "net_income_pc", "persons")
    return sums.reset_index()


def _add_growth(table: pd.DataFrame, by: list[str], cpi: pd.Series) -> pd.DataFrame:
    """Growth against the same region's previous calendar year (a gap in years gives NaN, not a jump)."""
    missing = sorted(set(table["year"]) - set(cpi.index))
    if missing:
        raise ValueError(f"the CPI table has no value for year(s) {missing}; add them to cpi.csv")
    prev = table[[*by, "year", "income_pc"]].assign(year=table["year"] + 1).rename(columns={"income_pc": "prev"})
    merged = table.merge(prev, on=[*by, "year"], how="left")
    merged["growth_nominal"] = merged["income_pc"] / merged["prev"] - 1
    deflator = merged["year"].map(cpi) / (merged["year"] - 1).map(cpi)
    merged["growth_real"] = (1 + merged["growth_nominal"]) / deflator - 1
    return merged.drop(columns="prev")


def relative_to(table: pd.DataFrame, reference: pd.DataFrame, on: Sequence[str], columns: Sequence[str],
                suffix: str = "_ref") -> pd.DataFrame:
    """Attach ``reference`` values (e.g. the prefecture's) beside each row of ``table`` and their difference."""
    ref = reference[[*on, "year", *columns]].rename(columns={c: f"{c}{suffix}" for c in columns})
    out = table.merge(ref, on=[*on, "year"], how="left")
    for c in columns:
        out[f"{c}_diff"] = out[c] - out[f"{c}{suffix}"]
    return out


def pc_distribution(households: pd.DataFrame, region: str | None = None, level: str = "county") -> pd.DataFrame:
    """Household per-capita income with its threshold and person weight, for distribution plots."""
    frame = households if region is None else households[households[level] == region]
    thr = config.threshold_for(frame)
    return pd.DataFrame({"year": frame["year"].astype("int64"), "household_type": frame["household_type"],
                         "net_income_pc": frame["net_income_pc"], "persons": frame["size"].astype("int64"),
                         "threshold": thr, "below": frame["net_income_pc"] < thr}).reset_index(drop=True)


def income_distribution(households: pd.DataFrame, by: Sequence[str] = ("county",), bins: int = 40,
                        upper_quantile: float = 0.99) -> pd.DataFrame:
    """Persons by bin of household per-capita net income, per region x year x household type.

    Population: persons of all households of the region and year (weighted by household size). Bins:
    ``bins`` equal-width bins from 0 (or the lowest income, if negative) to the person-weighted
    ``upper_quantile`` of the region-year, so that a few very high incomes do not squeeze the figure;
    incomes above it are counted in ``persons_above``. ``threshold`` is the monitoring threshold of the
    region-year (the median of its households', as provinces set one per year). Households, not
    persons, are what a small cell would reveal: ``households`` counts them per bin.

    Returns
    -------
    DataFrame
        ``*by``, ``year``, ``household_type``, ``bin_low``, ``bin_high``, ``persons``, ``households``,
        ``threshold``, ``persons_above``.
    """
    by = _check(households, by, ["household_type", "net_income_pc", "size", "province"])
    keys = [*by, "year"]
    frame = households[[*keys, "household_type", "net_income_pc", "size", "province"]].dropna(
        subset=["net_income_pc", "size"])
    frame = frame.assign(threshold=config.threshold_for(frame).to_numpy(), persons=frame["size"].astype("float64"))
    out = []
    for key, part in frame.groupby(keys, observed=True, sort=True):
        income, weight = part["net_income_pc"].to_numpy(float), part["persons"].to_numpy(float)
        order = np.argsort(income)
        cum = np.cumsum(weight[order]) / weight.sum()
        upper = float(income[order][np.searchsorted(cum, upper_quantile)])
        low = min(0.0, float(income.min()))
        edges = np.linspace(low, upper if upper > low else low + 1.0, bins + 1)
        inside = income <= edges[-1]
        where = np.clip(np.searchsorted(edges, income, side="right") - 1, 0, bins - 1)
        for kind in sorted(part["household_type"].dropna().unique()):
            mine = (part["household_type"] == kind).to_numpy() & inside
            persons = np.bincount(where[mine], weights=weight[mine], minlength=bins)
            homes = np.bincount(where[mine], minlength=bins)
            above = float(weight[(part["household_type"] == kind).to_numpy() & ~inside].sum())
            key = key if isinstance(key, tuple) else (key,)
            out.append(pd.DataFrame({**dict(zip(keys, key)), "household_type": kind, "bin_low": edges[:-1],
                                     "bin_high": edges[1:], "persons": persons, "households": homes,
                                     "threshold": float(part["threshold"].median()), "persons_above": above}))
    columns = [*keys, "household_type", "bin_low", "bin_high", "persons", "households", "threshold", "persons_above"]
    return pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)


def group_growth(households: pd.DataFrame, by: Sequence[str] = ("county",)) -> pd.DataFrame:
    """Income per capita of 脱贫户, monitoring targets and all households in each year (cross-section), long
    format.

    ``group`` is ``poverty_exited``, ``monitored`` (any monitoring type) or ``all``, as recorded in each
    year. Each year's group holds the households that belong to it that year, so the growth columns compare
    different households (households enter monitoring when their income falls and leave when it recovers):
    read the levels here and the growth of the same households from :func:`panel_growth`.
    """
    by = _check(households, by, ["household_type", "monitoring_type"])
    parts = [households.assign(group="all"),
             households[households["household_type"] == "poverty_exited"].assign(group="poverty_exited"),
             households[households["monitoring_type"].fillna("none") != "none"].assign(group="monitored")]
    stacked = pd.concat(parts, ignore_index=True)
    table = income_growth(stacked, by=[*by, "group"])
    return table[[*by, "group", "year", "households", "persons", "income_pc", "growth_nominal", "growth_real"]]


#: Groups of :func:`panel_growth`, fixed at the start year of each pair of years.
PANEL_GROUPS = ("all", "poverty_exited", "monitored", "unstable", "marginal", "sudden_hardship")


def panel_growth(households: pd.DataFrame, by: Sequence[str] = ("county",), cpi: pd.Series | None = None,
                 level: float = 0.95) -> pd.DataFrame:
    """Income growth of the same households from one year to the next, by group fixed at the start year.

    Population: households observed in both ``year - 1`` and ``year`` (matched on ``household_id``);
    the region and the group are those of ``year - 1``, so a household that enters monitoring because its
    income fell, or leaves it after recovering, does not move the comparison. Groups (:data:`PANEL_GROUPS`):
    all households, 脱贫户, monitoring targets (any type) and each monitoring type.

    Quantity: per-capita net income of the group's households, total income over total persons (as
    official statistics compute it), in ``year`` against ``year - 1``: ``growth_nominal = (Y1/P1) /
    (Y0/P0) - 1``; ``growth_real`` deflates by the CPI of ``year`` (previous year = 100).

    Interval: a ``level`` interval for real growth from the linearisation of the log ratio, with villages
    as clusters (Woodruff's ratio linearisation; variance ``G/(G-1) sum_v z_v^2`` over the village sums of
    ``z_i = y1_i/Y1 - p1_i/P1 - y0_i/Y0 + p0_i/P0``) and Student's t quantile with villages - 1 degrees of
    freedom, transformed back from the log scale. The records are
    a census of the county's households, so the interval expresses how much the growth rests on a few
    villages (the variation a repetition of the same process would give), not sampling error.

    Returns
    -------
    DataFrame
        One row per region x group x year with: the ``by`` columns, ``group``, ``year`` (the end year),
        ``year_start``, ``households`` (present in both years), ``villages`` (clusters), ``persons_start``,
        ``income_pc_start``, ``income_pc`` (the same households), ``growth_nominal``, ``growth_real``,
        ``growth_real_low``, ``growth_real_high`` (NaN when fewer than two villages); ``gap_vs_all`` with
        ``gap_vs_all_low`` / ``gap_vs_all_high``: the group's growth factor over that of all households of
        the region, minus one (positive: the group's income grew faster), with its interval from the joint
        linearisation (NaN for the group ``all``).
    """
    by = _check(households, by, ["household_id", "year", "size", "net_income", "household_type",
                                 "monitoring_type", "village"])
    cpi = config.cpi_index() if cpi is None else cpi
    cols = list(dict.fromkeys([*by, "household_id", "year", "size", "net_income", "household_type",
                               "monitoring_type", "county", "village"]))
    cols = [c for c in cols if c in households.columns]
    h = households[cols].copy()
    h["household_id"] = h["household_id"].astype("string")
    start = h.assign(year=h["year"] + 1)
    end = h[["household_id", "year", "size", "net_income"]]
    pairs = start.merge(end, on=["household_id", "year"], suffixes=("_0", "_1"), validate="one_to_one")
    village = pairs["village"].astype("string")
    cluster = village if "county" not in pairs else pairs["county"].astype("string").fillna("") + "|" + village
    # a household without a village is a cluster of its own
    pairs["_cluster"] = cluster.fillna("#" + pairs["household_id"])
    monitoring = pairs["monitoring_type"].fillna("none")
    masks = {"all": np.ones(len(pairs), dtype=bool),
             "poverty_exited": (pairs["household_type"] == "poverty_exited").to_numpy(dtype=bool, na_value=False),
             "monitored": (monitoring != "none").to_numpy(dtype=bool)}
    masks.update({t: (monitoring == t).to_numpy(dtype=bool) for t in PANEL_GROUPS[3:]})
    stacked = pd.concat([pairs.loc[m].assign(group=g) for g, m in masks.items()], ignore_index=True)
    keys = [*by, "group", "year"]
    values = ["net_income_0", "size_0", "net_income_1", "size_1"]
    stacked[values] = stacked[values].astype("float64")
    grouped = stacked.groupby(keys, sort=True, observed=True)
    totals = grouped[values].sum()
    totals["households"] = grouped.size()
    totals["villages"] = grouped["_cluster"].nunique()
    # each household's share of the totals (the linearised log ratio), summed by village
    t = stacked[keys].merge(totals[values].reset_index(), on=keys, how="left")
    stacked["_z"] = (stacked["net_income_1"] / t["net_income_1"].to_numpy()
                     - stacked["size_1"] / t["size_1"].to_numpy()
                     - stacked["net_income_0"] / t["net_income_0"].to_numpy()
                     + stacked["size_0"] / t["size_0"].to_numpy())
    by_village = stacked.groupby([*keys, "_cluster"], sort=False, observed=True)["_z"].sum()
    sum_sq = (by_village ** 2).groupby(level=list(range(len(keys))), sort=True).sum()
    g = totals["villages"].astype("float64")
    variance = (g / (g - 1)).where(g > 1) * sum_sq.reindex(totals.index)
    out = totals.reset_index()
    ratio = (out["net_income_1"] / out["size_1"]) / (out["net_income_0"] / out["size_0"])
    missing = sorted((set(out["year"]) | set(out["year"] - 1)) - set(cpi.index))
    if missing:
        raise ValueError(f"the CPI table has no value for year(s) {missing}; add them to cpi.csv")
    deflator = (out["year"].map(cpi) / (out["year"] - 1).map(cpi)).to_numpy()
    # Student's t with villages - 1 degrees of freedom: a county has 15-30 villages, too few for the normal
    z = stats.t.ppf(0.5 + level / 2, df=np.maximum(g.to_numpy() - 1, 1))
    se = np.sqrt(variance.to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        log_ratio = np.log(ratio.to_numpy())
    out["year_start"] = out["year"] - 1
    out["persons_start"] = out["size_0"].astype("int64")
    out["income_pc_start"] = out["net_income_0"] / out["size_0"]
    out["income_pc"] = out["net_income_1"] / out["size_1"]
    out["growth_nominal"] = ratio - 1
    out["growth_real"] = ratio / deflator - 1
    out["growth_real_low"] = np.exp(log_ratio - z * se) / deflator - 1
    out["growth_real_high"] = np.exp(log_ratio + z * se) / deflator - 1
    out["households"] = out["households"].astype("int64")
    out["villages"] = out["villages"].astype("int64")
    out = out.merge(_gap_vs_all(out, by_village, list(by), log_ratio, level), on=keys, how="left")
    return out[[*keys[:-1], "year", "year_start", "households", "villages", "persons_start", "income_pc_start",
                "income_pc", "growth_nominal", "growth_real", "growth_real_low", "growth_real_high",
                "gap_vs_all", "gap_vs_all_low", "gap_vs_all_high"]]


def _gap_vs_all(out: pd.DataFrame, by_village: pd.Series, by: list[str], log_ratio: np.ndarray,
                level: float) -> pd.DataFrame:
    """Each group's growth relative to all households', ``(1 + g_group) / (1 + g_all) - 1`` (the deflator
    cancels), with a ``level`` interval from the joint linearisation: the village sums of the group's
    ``z`` minus those of all households' (a village with none of the group's households contributes
    ``-z_all``), so the correlation of a group with the whole it belongs to is accounted for."""
    keys = [*by, "year"]
    logs = out[[*keys, "group"]].assign(_log=log_ratio)
    base = logs[logs["group"] == "all"].drop(columns="group").rename(columns={"_log": "_log_all"})
    v = by_village.rename("_z").reset_index()
    zall = v[v["group"] == "all"].drop(columns="group").rename(columns={"_z": "_z_all"})
    groups = out.loc[out["group"] != "all", [*keys, "group"]]
    grid = groups.merge(zall, on=keys, how="inner").merge(v, on=[*keys, "group", "_cluster"], how="left")
    grid["_d"] = grid["_z"].fillna(0.0) - grid["_z_all"]
    agg = grid.groupby([*keys, "group"], sort=False).agg(_ss=("_d", lambda d: float((d ** 2).sum())),
                                                         _g=("_cluster", "nunique")).reset_index()
    res = groups.merge(agg, on=[*keys, "group"], how="left").merge(
        logs, on=[*keys, "group"], how="left").merge(base, on=keys, how="left")
    g = res["_g"].astype("float64")
    se = np.sqrt((g / (g - 1)).where(g > 1) * res["_ss"])
    t = stats.t.ppf(0.5 + level / 2, df=np.maximum(g.fillna(2).to_numpy() - 1, 1))
    diff = (res["_log"] - res["_log_all"]).to_numpy()
    res["gap_vs_all"] = np.exp(diff) - 1
    res["gap_vs_all_low"] = np.exp(diff - t * se.to_numpy()) - 1
    res["gap_vs_all_high"] = np.exp(diff + t * se.to_numpy()) - 1
    return res[[*keys, "group", "gap_vs_all", "gap_vs_all_low", "gap_vs_all_high"]]



# ---- the same indicators from a Parquet dataset, one county at a time -------------------------------------

def _county_by_county(compute, table: str, source, by, **options) -> pd.DataFrame:
    """``compute(frame, by=by, **options)`` on a DataFrame, or on a Parquet dataset folder (as ingest writes
    it, partitioned by county) read one county at a time, so that memory holds one county, not the whole
    table. Region results do not mix counties when ``by`` includes ``county``; for coarser ``by`` the table
    is read whole (only the columns of that table)."""
    if not isinstance(source, (str, Path)):
        return compute(source, by=by, **options)
    import pyarrow.dataset as ds
    dataset = ds.dataset(source, format="parquet", partitioning="hive")
    by_list = [by] if isinstance(by, str) else list(by)

    def read(filt=None) -> pd.DataFrame:
        frame = dataset.to_table(filter=filt).to_pandas()
        frame["county"] = frame["county"].astype("string")
        return schema.conform(frame, table)
    if "county" not in by_list:
        return compute(read(), by=by, **options)
    counties = pd.unique(dataset.to_table(columns=["county"]).column("county").to_pandas().astype("string")
                         .dropna())
    parts = [compute(read(ds.field("county") == c), by=by, **options) for c in sorted(counties)]
    return pd.concat(parts, ignore_index=True).sort_values([*by_list, "year"], ignore_index=True)


def employment(members, by: Sequence[str] = ("county",), working_age: Sequence[float] | None = None,
               households: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`analysis.measures.labour.employment` of a members DataFrame, or of a members Parquet dataset folder
    (read one county at a time when ``by`` includes ``county``; same results).

    With ``households`` (DataFrames only), the official 脱贫劳动力务工规模 columns (``official_*``) are added
    for the population and working age of ``employment.yaml`` (:func:`analysis.config.official_workers`);
    ``working_age`` (default: that of ``employment.yaml``, else 16-64) applies to both counts.
    """
    if households is None:
        return _county_by_county(labour.employment, "members", members, by,
                                 working_age=(16, 64) if working_age is None else working_age)
    if isinstance(members, (str, Path)):
        raise ValueError("the official employment columns need members and households as DataFrames")
    spec = config.official_workers()
    working_age = spec["working_age"] if working_age is None else working_age
    population = labour.official_population(members, households, spec["household_types"],
                                            spec["include_monitoring_targets"])
    return labour.employment(members, by=by, working_age=working_age, population=population)


def training(members, by: Sequence[str] = ("county",), working_age: Sequence[float] = (16, 64)) -> pd.DataFrame:
    """:func:`analysis.measures.labour.training` of a members DataFrame or Parquet dataset folder (as
    :func:`employment`)."""
    return _county_by_county(labour.training, "members", members, by, working_age=working_age)


def poverty(households, by: Sequence[str] = ("county",), band: float = 1.5, thresholds=None) -> pd.DataFrame:
    """:func:`analysis.measures.poverty.poverty` of a households DataFrame or Parquet dataset folder (as
    :func:`employment`)."""
    return _county_by_county(_poverty.poverty, "households", households, by, band=band, thresholds=thresholds)


def basic_needs(households, k: float | None = None, by: Sequence[str] = ("county",),
                weights: dict[str, float] | None = None, missing: str | None = None) -> pd.DataFrame:
    """:func:`analysis.measures.poverty.basic_needs` of a households DataFrame or Parquet dataset folder (as
    :func:`employment`)."""
    return _county_by_county(_poverty.basic_needs, "households", households, by, k=k, weights=weights,
                             missing=missing)
