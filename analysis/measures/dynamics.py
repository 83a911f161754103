"""Poverty dynamics on the household panel: chronic and transient poverty, flows, and what drove a change.

Monitoring is about households moving in and out of risk. This module measures, for persons in the
registered households (person-weighted by household size), against each year's monitoring threshold z
(``analysis/config/thresholds.csv``; incomes are expressed as multiples of it, r = y / z, so the line is 1 in
every year and the threshold's own indexation is not counted as growth):

* **chronic and transient poverty** (Jalan & Ravallion 1998, *Transient poverty in postreform rural China*,
  Journal of Comparative Economics 26(2), 338-357): for a household observed in every year of the window,
  total poverty is the mean over years of the squared poverty gap ``P2 = (1 - r_t)^2`` (0 above the line);
  its chronic part is the squared gap of the household's mean income over the years, ``(1 - mean_t r_t)^2``;
  the transient part is the difference (never negative, the gap being convex). Beside them, the spells
  count: persons never, sometimes and always below the line;
* **entries and exits** by year: among persons in households observed in years t-1 and t, the share of those
  above the line in t-1 who are below it in t (entry rate) and of those below it in t-1 who are above it in
  t (exit rate);
* the change in the **headcount** between two years, on the households observed in both, decomposed into
  growth and redistribution (Datt & Ravallion 1992, *Growth and redistribution components of changes in
  poverty measures*, Journal of Development Economics 38(2), 275-295) in the Shapley form of Shorrocks
  (2013), which has no residual: growth = average over the two orders of the change from scaling the mean
  with the Lorenz curve held; redistribution = the same for the Lorenz curve with the mean held;
* the same change decomposed **by income component** (wage, business net of production costs, property,
  transfer; per person and in threshold units): the headcount when some components take their second-year
  values and the others their first-year values, household by household, and each component's Shapley
  value over the 2^4 orders (Shorrocks 2013; Azevedo, Sanfelice & Nguyen 2012). The components sum to the
  change exactly. A reduction carried by transfers shows as a large negative transfer term.

Intervals resample villages with replacement within each region (the same villages in every year, so the
panel correlation is kept) and take percentiles of the replicates, as
:func:`analysis.measures.poverty.growth_incidence` does; none for a region with fewer than two villages.

Examples
--------
>>> from analysis.measures import dynamics
>>> panel = dynamics.household_panel(households)  # doctest: +SKIP
>>> dynamics.datt_ravallion(panel, 2020, 2024, by=("county",), n_boot=0)  # doctest: +SKIP
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analysis.errors import ParameterError
from analysis.measures.frames import region_keys, require, row_thresholds
from analysis.measures.poverty import village_psu, village_draw

#: Income components of net income (net_income = wage + business + property + transfer - production costs).
COMPONENTS = ("wage", "business", "property", "transfer")
N_BOOT = 200
CONF_LEVEL = 0.95


# --------------------------------------------------------------------------- the panel
def household_panel(households: pd.DataFrame, thresholds=None) -> pd.DataFrame:
    """One row per household-year with income per person in multiples of the year's monitoring threshold.

    Parameters
    ----------
    households : DataFrame
        Canonical households: ``household_id``, ``year``, ``size``, ``province`` (for the threshold),
        ``village`` (and the geography above it), ``income_wage``, ``income_business``,
        ``income_property``, ``income_transfer``, ``expense_production``. Rows with a missing or zero size
        or a missing component are left out.
    thresholds : None, DataFrame or float
        As in :func:`analysis.measures.poverty.poverty`.

    Returns
    -------
    DataFrame
        The household's columns other than incomes, ``psu`` (village code), ``weight`` (persons),
        ``wage``, ``business`` (net of production costs), ``property``, ``transfer`` (yuan per person / z)
        and ``r`` (their sum: net income per person / z).
    """
    cols = ["income_wage", "income_business", "income_property", "income_transfer", "expense_production"]
    require(households, ["household_id", "year", "size", "village", *cols], "poverty dynamics")
    keep = households["size"].gt(0).fillna(False) & households[cols].notna().all(axis=1)
    sub = households[keep]
    z = row_thresholds(sub, thresholds).to_numpy(float)
    scale = sub["size"].to_numpy(float) * z
    out = sub.drop(columns=[c for c in sub.columns if c.startswith(("income_", "expense_", "net_income"))])
    out = out.assign(psu=village_psu(sub).to_numpy(), weight=sub["size"].to_numpy(float),
                     wage=sub["income_wage"].to_numpy(float) / scale,
                     business=(sub["income_business"] - sub["expense_production"]).to_numpy(float) / scale,
                     property=sub["income_property"].to_numpy(float) / scale,
                     transfer=sub["income_transfer"].to_numpy(float) / scale)
    out["r"] = out[list(COMPONENTS)].sum(axis=1)
    out["year"] = out["year"].astype("int64")
    return out.reset_index(drop=True)


def _wide(panel: pd.DataFrame, years: Sequence[int], by: list[str], values: Sequence[str]) -> pd.DataFrame:
    """Households observed in every one of ``years``: one row each, ``<value>_<year>`` columns."""
    sub = panel[panel["year"].isin(years)]
    counts = sub.groupby("household_id")["year"].nunique()
    sub = sub[sub["household_id"].isin(counts.index[counts == len(years)])]
    first = sub[sub["year"] == years[0]].set_index("household_id")[[*by, "psu"]]
    wide = sub.pivot(index="household_id", columns="year", values=list(values))
    wide.columns = [f"{v}_{y}" for v, y in wide.columns]
    return first.join(wide).reset_index()


# --------------------------------------------------------------------------- bootstrap machinery
class _Regions:
    """Region codes of rows, the villages of each region, and village-cluster bootstrap weights."""

    def __init__(self, frame: pd.DataFrame, by: list[str]):
        groups = frame.groupby(by, dropna=False, sort=True, observed=True)
        self.code = groups.ngroup().to_numpy()
        self.labels = groups.size().reset_index()[by]
        self.n = len(self.labels)
        villages = pd.DataFrame({"region": self.code, "psu": frame["psu"].to_numpy()})
        table = villages.drop_duplicates().sort_values(["region", "psu"]).reset_index(drop=True)
        self.position = villages.merge(table.reset_index(), on=["region", "psu"], how="left")["index"].to_numpy()
        self.village_region = table["region"].to_numpy()
        self.several = (table.groupby("region").size().reindex(range(self.n), fill_value=0) > 1).to_numpy()

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.code, weights=values, minlength=self.n)

    def mean(self, values: np.ndarray, weight: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.total(values * weight) / self.total(weight)

    def intervals(self, stat: Callable[[np.ndarray], np.ndarray], weight: np.ndarray, n_boot: int, seed: int,
                  conf_level: float) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval of ``stat(weights)`` (an array whose first axis is the region) over replicates."""
        point = stat(weight)
        if not n_boot:
            return np.full_like(point, np.nan), np.full_like(point, np.nan)
        rng = np.random.default_rng(seed)
        draws = np.stack([stat(weight * village_draw(self.village_region, rng)[self.position])
                          for _ in range(int(n_boot))])
        alpha = (1 - conf_level) / 2
        low, high = np.nanquantile(draws, [alpha, 1 - alpha], axis=0)
        mask = self.several.reshape((-1,) + (1,) * (point.ndim - 1))
        return np.where(mask, low, np.nan), np.where(mask, high, np.nan)


def _check(n_boot: int, conf_level: float) -> None:
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 0:
        raise ParameterError(f"n_boot must be a whole number >= 0; got {n_boot!r}")
    if not 0 < conf_level < 1:
        raise ParameterError(f"conf_level must be between 0 and 1; got {conf_level!r}")


def _years(panel: pd.DataFrame, year0: int, year1: int) -> tuple[int, int]:
    year0, year1 = int(year0), int(year1)
    if year1 <= year0:
        raise ParameterError(f"year1 must be after year0; got year0={year0}, year1={year1}")
    present = set(panel["year"].unique().tolist())
    absent = [y for y in (year0, year1) if y not in present]
    if absent:
        raise ParameterError(f"year(s) {absent} are not in the panel; years present: {sorted(present)}")
    return year0, year1


def _frame(regions: _Regions, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    out = regions.labels.copy()
    for name, values in columns.items():
        out[name] = values
    return out


# --------------------------------------------------------------------------- chronic and transient
def chronic_transient(panel: pd.DataFrame, by: Sequence[str] = ("county",), years: Sequence[int] | None = None,
                      n_boot: int = N_BOOT, seed: int = 0, conf_level: float = CONF_LEVEL) -> pd.DataFrame:
    """Jalan-Ravallion (1998) chronic and transient squared poverty gap, and the spells count, per region.

    Households observed in every one of ``years`` (default all years of the panel); person weight = mean
    household size over the years.

    Returns
    -------
    DataFrame
        ``by``, ``first_year``, ``last_year``, ``households``, ``persons``, ``total`` (mean over persons of
        the mean over years of P2), ``chronic``, ``transient``, ``transient_share`` (transient / total),
        ``never_poor``, ``sometimes_poor``, ``always_poor`` (shares of persons), and ``*_low``/``*_high``
        intervals for total, chronic, transient, transient_share and the three shares.
    """
    _check(n_boot, conf_level)
    by = region_keys(panel, by)[:-1]
    years = sorted(panel["year"].unique().tolist()) if years is None else sorted(int(y) for y in years)
    wide = _wide(panel, years, by, ["r", "weight"])
    r = wide[[f"r_{y}" for y in years]].to_numpy(float)
    weight = wide[[f"weight_{y}" for y in years]].to_numpy(float).mean(axis=1)
    gap2 = np.clip(1 - r, 0, None) ** 2
    total_i = gap2.mean(axis=1)
    chronic_i = np.clip(1 - r.mean(axis=1), 0, None) ** 2
    spells = (r < 1).sum(axis=1)
    values = np.column_stack([total_i, chronic_i, total_i - chronic_i, spells == 0,
                              (spells > 0) & (spells < len(years)), spells == len(years)]).astype(float)
    regions = _Regions(wide, by)

    def stat(w: np.ndarray) -> np.ndarray:
        m = np.column_stack([regions.mean(values[:, j], w) for j in range(values.shape[1])])
        with np.errstate(invalid="ignore", divide="ignore"):
            share = m[:, 2] / m[:, 0]
        return np.column_stack([m[:, :3], share, m[:, 3:]])

    point = stat(weight)
    low, high = regions.intervals(stat, weight, n_boot, seed, conf_level)
    names = ["total", "chronic", "transient", "transient_share", "never_poor", "sometimes_poor", "always_poor"]
    columns = {"first_year": years[0], "last_year": years[-1],
               "households": np.bincount(regions.code, minlength=regions.n), "persons": regions.total(weight)}
    for j, name in enumerate(names):
        columns[name] = point[:, j]
    for j, name in enumerate(names):
        columns[f"{name}_low"], columns[f"{name}_high"] = low[:, j], high[:, j]
    return _frame(regions, columns)


# --------------------------------------------------------------------------- entries and exits
def flows(panel: pd.DataFrame, by: Sequence[str] = ("county",), n_boot: int = N_BOOT, seed: int = 0,
          conf_level: float = CONF_LEVEL) -> pd.DataFrame:
    """Entries into and exits from poverty between consecutive years, per region.

    Returns
    -------
    DataFrame
        ``by``, ``year`` (the later year t), ``households`` (observed in t-1 and t), ``poor_before``,
        ``poor_after``, ``entries``, ``exits`` (households), ``entry_rate`` (persons below the line in t
        among those above it in t-1), ``exit_rate`` (persons above it in t among those below it in t-1),
        ``poor_share_before``, ``poor_share_after`` (persons), and ``*_low``/``*_high`` for the two rates.
        Person weight: household size in t-1.
    """
    _check(n_boot, conf_level)
    by = region_keys(panel, by)[:-1]
    years = sorted(panel["year"].unique().tolist())
    parts = [_flow(_wide(panel, [before, after], by, ["r", "weight"]), before, after, by, n_boot, seed, conf_level)
             for before, after in itertools.pairwise(years)]
    parts = [p for p in parts if p is not None]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _flow(wide: pd.DataFrame, before: int, after: int, by: list[str], n_boot: int, seed: int,
          conf_level: float) -> pd.DataFrame | None:
    if wide.empty:
        return None
    poor0, poor1 = wide[f"r_{before}"].to_numpy() < 1, wide[f"r_{after}"].to_numpy() < 1
    weight = wide[f"weight_{before}"].to_numpy(float)
    regions = _Regions(wide, by)

    def stat(w: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            entry = regions.total(w * (~poor0 & poor1)) / regions.total(w * ~poor0)
            leave = regions.total(w * (poor0 & ~poor1)) / regions.total(w * poor0)
        return np.column_stack([entry, leave])

    def count(x: np.ndarray) -> np.ndarray:
        return np.bincount(regions.code, weights=x.astype(float), minlength=regions.n).astype(int)

    point = stat(weight)
    low, high = regions.intervals(stat, weight, n_boot, seed, conf_level)
    return _frame(regions, {
        "year": after, "households": np.bincount(regions.code, minlength=regions.n),
        "poor_before": count(poor0), "poor_after": count(poor1), "entries": count(~poor0 & poor1),
        "exits": count(poor0 & ~poor1), "entry_rate": point[:, 0], "exit_rate": point[:, 1],
        "poor_share_before": regions.mean(poor0.astype(float), weight),
        "poor_share_after": regions.mean(poor1.astype(float), weight),
        "entry_rate_low": low[:, 0], "entry_rate_high": high[:, 0],
        "exit_rate_low": low[:, 1], "exit_rate_high": high[:, 1]})


# --------------------------------------------------------------------------- growth and redistribution
def datt_ravallion(panel: pd.DataFrame, year0: int, year1: int, by: Sequence[str] = ("county",),
                   n_boot: int = N_BOOT, seed: int = 0, conf_level: float = CONF_LEVEL) -> pd.DataFrame:
    """Growth and redistribution components of the change in the headcount (Shapley form), per region.

    With H(mu, L) the headcount when incomes are ``mu`` times the relative incomes of distribution L
    (r / mean r), on households observed in both years (person weight: size in ``year0``, for both years,
    so that the change is in incomes, not in who is counted)::

        growth         = [H(mu1, L0) - H(mu0, L0) + H(mu1, L1) - H(mu0, L1)] / 2
        redistribution = [H(mu0, L1) - H(mu0, L0) + H(mu1, L1) - H(mu1, L0)] / 2

    and ``growth + redistribution = H1 - H0`` exactly.

    Returns
    -------
    DataFrame
        ``by``, ``year0``, ``year1``, ``households``, ``headcount0``, ``headcount1``, ``change``, ``growth``,
        ``redistribution``, ``mean0``, ``mean1`` (mean income in threshold units), with ``*_low``/``*_high``
        for change, growth and redistribution.
    """
    _check(n_boot, conf_level)
    by = region_keys(panel, by)[:-1]
    year0, year1 = _years(panel, year0, year1)
    wide = _wide(panel, [year0, year1], by, ["r", "weight"])
    r0, r1 = wide[f"r_{year0}"].to_numpy(float), wide[f"r_{year1}"].to_numpy(float)
    weight = wide[f"weight_{year0}"].to_numpy(float)
    regions = _Regions(wide, by)

    def stat(w: np.ndarray) -> np.ndarray:
        mu0, mu1 = regions.mean(r0, w), regions.mean(r1, w)
        ratio = (mu1 / mu0)[regions.code]

        def h(poor: np.ndarray) -> np.ndarray:
            return regions.mean(poor.astype(float), w)

        h00, h11 = h(r0 < 1), h(r1 < 1)
        h10, h01 = h(r0 * ratio < 1), h(r1 / ratio < 1)  # (mu1, L0) and (mu0, L1)
        growth = ((h10 - h00) + (h11 - h01)) / 2
        redistribution = ((h01 - h00) + (h11 - h10)) / 2
        return np.column_stack([h00, h11, h11 - h00, growth, redistribution, mu0, mu1])

    point = stat(weight)
    low, high = regions.intervals(stat, weight, n_boot, seed, conf_level)
    columns = {"year0": year0, "year1": year1, "households": np.bincount(regions.code, minlength=regions.n)}
    for j, name in enumerate(["headcount0", "headcount1", "change", "growth", "redistribution", "mean0", "mean1"]):
        columns[name] = point[:, j]
    for j, name in ((2, "change"), (3, "growth"), (4, "redistribution")):
        columns[f"{name}_low"], columns[f"{name}_high"] = low[:, j], high[:, j]
    return _frame(regions, columns)


# --------------------------------------------------------------------------- by income component
def shapley_weights(n: int) -> dict[int, float]:
    """Weight of a coalition of size s in a Shapley value over ``n`` players: s! (n - s - 1)! / n!."""
    return {s: math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)}


def components(panel: pd.DataFrame, year0: int, year1: int, by: Sequence[str] = ("county",),
               n_boot: int = N_BOOT, seed: int = 0, conf_level: float = CONF_LEVEL) -> pd.DataFrame:
    """Shapley decomposition of the headcount change by income component, per region.

    For a set S of components, v(S) is the headcount when each household's components in S take their
    ``year1`` values (per person, threshold units) and the others their ``year0`` values; component k's
    contribution is sum over S not containing k of ``|S|! (4 - |S| - 1)! / 4! [v(S + k) - v(S)]``. The
    contributions sum to ``v(all) - v(none) = H1 - H0`` on households observed in both years (person
    weight: size in ``year0``).

    Returns
    -------
    DataFrame
        ``by``, ``year0``, ``year1``, ``component`` (wage, business, property, transfer), ``households``,
        ``change`` (H1 - H0), ``contribution``, ``conf_low``, ``conf_high``.
    """
    _check(n_boot, conf_level)
    by = region_keys(panel, by)[:-1]
    year0, year1 = _years(panel, year0, year1)
    wide = _wide(panel, [year0, year1], by, [*COMPONENTS, "weight"])
    c0 = np.column_stack([wide[f"{k}_{year0}"].to_numpy(float) for k in COMPONENTS])
    c1 = np.column_stack([wide[f"{k}_{year1}"].to_numpy(float) for k in COMPONENTS])
    weight = wide[f"weight_{year0}"].to_numpy(float)
    regions = _Regions(wide, by)
    n = len(COMPONENTS)
    coalitions = [frozenset(s) for size in range(n + 1) for s in itertools.combinations(range(n), size)]
    poor = {s: (np.where(np.isin(np.arange(n), list(s)), c1, c0).sum(axis=1) < 1).astype(float)
            for s in coalitions}
    shap = shapley_weights(n)

    def stat(w: np.ndarray) -> np.ndarray:
        v = {s: regions.mean(poor[s], w) for s in coalitions}
        contribution = np.column_stack([sum(shap[len(s)] * (v[s | {k}] - v[s]) for s in coalitions if k not in s)
                                        for k in range(n)])
        return np.column_stack([contribution, v[frozenset(range(n))] - v[frozenset()]])

    point = stat(weight)
    low, high = regions.intervals(stat, weight, n_boot, seed, conf_level)
    parts = [_frame(regions, {"year0": year0, "year1": year1, "component": k,
                              "households": np.bincount(regions.code, minlength=regions.n),
                              "change": point[:, n], "contribution": point[:, j],
                              "conf_low": low[:, j], "conf_high": high[:, j]})
             for j, k in enumerate(COMPONENTS)]
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- the stored tables
def tables(households: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Every dynamics table per county and per prefecture, first against last year of the data.

    Returns
    -------
    dict of DataFrame
        ``dynamics_chronic``, ``dynamics_flows``, ``dynamics_growth``, ``dynamics_components``, each by
        (prefecture, county), and the same with ``_prefecture`` by prefecture.
    """
    panel = household_panel(households)
    years = sorted(panel["year"].unique().tolist())
    out = {}
    for suffix, by in (("", ("prefecture", "county")), ("_prefecture", ("prefecture",))):
        out[f"dynamics_chronic{suffix}"] = chronic_transient(panel, by, n_boot=n_boot, seed=seed)
        out[f"dynamics_flows{suffix}"] = flows(panel, by, n_boot=n_boot, seed=seed)
        out[f"dynamics_growth{suffix}"] = datt_ravallion(panel, years[0], years[-1], by, n_boot=n_boot, seed=seed)
        out[f"dynamics_components{suffix}"] = components(panel, years[0], years[-1], by, n_boot=n_boot, seed=seed)
    for table in out.values():
        for col in ("prefecture", "county"):
            if col in table.columns:
                table[col] = table[col].astype("string")
    return out
