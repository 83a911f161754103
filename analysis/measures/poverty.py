"""Income poverty (FGT), growth incidence and basic-needs (Alkire-Foster) indicators by region x year.

Every function here works on the canonical ``households`` table (one row per household x year) for all
regions at once: ``by`` names the region columns, e.g. ``("county",)``, ``("prefecture",)`` or
``("county", "household_type")``, and every output has the ``by`` columns and ``year`` (or ``year0`` /
``year1`` for growth between two years). All shares are shares of PERSONS: a household counts with its
``size``.

* :func:`poverty` -- Foster-Greer-Thorbecke headcount, gap and severity against the monitoring
  threshold (监测范围), with standard errors clustered by village, and the share just above it.
* :func:`growth_incidence` -- Ravallion-Chen growth incidence curve with a village bootstrap band.
* :func:`basic_needs` -- Alkire-Foster adjusted headcount over 两不愁三保障 + drinking water.

Examples
--------
>>> import pandas as pd
>>> from analysis.measures import poverty as pv
>>> hh = pd.DataFrame({"household_id": ["a", "b"], "year": [2024, 2024], "county": ["X", "X"],
...                    "village": ["v1", "v2"], "size": [3, 1], "net_income_pc": [6000.0, 9000.0]})
>>> pv.poverty(hh, thresholds=7500.0)[["county", "year", "fgt0", "fgt1"]]
  county  year  fgt0  fgt1
0      X  2024  0.75  0.15
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import config
from analysis.errors import ParameterError
from analysis.measures.frames import as_bool, group_by, region_keys, require, row_thresholds
from analysis.io.schema import GEOGRAPHY

# A weighted score is compared with the cutoff k after summing floating-point weights
# (0.2 + 0.2 + 0.2 is not exactly 0.6); scores within this distance of k count as reaching it.
_SCORE_TOLERANCE = 1e-9
MISSING_RULES = ("exclude", "not_deprived", "deprived")


# ----------------------------------------------------------------------------------------------------
# shared checks (also used by analysis.measures.monitoring)
# ----------------------------------------------------------------------------------------------------
def village_psu(households: pd.DataFrame) -> pd.Series:
    """Village code used as primary sampling unit (PSU).

    A village is identified with the geography above it, so two villages of the same name in different
    townships stay apart. A household without a village is its own PSU.
    """
    require(households, ["village"], "standard errors clustered by village")
    geo = [c for c in GEOGRAPHY if c in households.columns]
    code = households.groupby(geo, dropna=False, sort=False).ngroup().to_numpy().copy()
    lonely = households["village"].isna().to_numpy()
    code[lonely] = code.max(initial=-1) + 1 + np.arange(lonely.sum())
    return pd.Series(code, index=households.index)


# ----------------------------------------------------------------------------------------------------
# FGT poverty measures
# ----------------------------------------------------------------------------------------------------
def _linearized_se(d: pd.DataFrame, keys: list[str], strata: list[str], values: list[str],
                   estimates: pd.DataFrame) -> pd.DataFrame:
    """Standard errors of person-weighted ratio means, villages as PSUs, with replacement.

    For the ratio R = sum_i w_i u_i / sum_i w_i of a domain, the linearized score of household i is
    z_i = w_i (u_i - R) / sum_i w_i (zero outside the domain). With PSU totals z_c and n_h PSUs in the
    stratum h, var(R) = n_h / (n_h - 1) * sum_c (z_c - zbar)^2, and zbar = 0 because the scores sum
    to zero (Wolter 2007, ch. 6; the ``svy`` estimator of a subpopulation mean in Stata).
    """
    est = estimates[values].add_suffix("_hat").reset_index()
    merged = d.merge(est, on=keys, how="left")
    total = group_by(merged["w"], merged, keys).transform("sum")
    scores = pd.DataFrame({v: merged["w"] * (merged[v] - merged[f"{v}_hat"]) / total for v in values})
    psu_totals = group_by(scores, merged, [*keys, "village_psu"]).sum()
    ss = (psu_totals ** 2).groupby(level=list(range(len(keys))), dropna=False).sum()
    ss.index.names = keys
    n_h = d.groupby(strata, dropna=False)["village_psu"].nunique().rename("_n_h").reset_index()
    ss = ss.reset_index().merge(n_h, on=strata, how="left").set_index(keys)
    factor = (ss["_n_h"] / (ss["_n_h"] - 1)).where(ss["_n_h"] > 1)
    return np.sqrt(ss[values].mul(factor, axis=0)).add_suffix("_se")


def poverty(households: pd.DataFrame, by: Sequence[str] = ("county",), band: float = 1.5,
            thresholds=None) -> pd.DataFrame:
    """Foster-Greer-Thorbecke poverty measures of persons against the monitoring threshold.

    For person-weighted households (weight ``size``), income y = ``net_income_pc`` and threshold z,
    FGT_a = sum_i w_i 1[y_i < z_i] ((z_i - y_i) / z_i)^a / sum_i w_i for a = 0 (headcount ratio),
    1 (poverty gap) and 2 (severity) (Foster, Greer & Thorbecke 1984, Econometrica 52(3)).

    Parameters
    ----------
    households : DataFrame
        Canonical households; needs ``year``, ``size``, ``net_income_pc``, ``village``, the ``by``
        columns, and ``province`` unless ``thresholds`` is one number. Rows with missing income or
        size are left out (the ``households`` count shows how many were used).
    by : tuple of str
        Region columns. Geography columns among them (``county``, ``prefecture``...) are strata;
        any other column (e.g. ``household_type``) defines domains estimated as subpopulations.
    band : float
        ``share_near_threshold`` is the share of persons with z <= y < band * z (before 2021 "edge"
        households were those below 1.5 times the poverty line).
    thresholds : None, DataFrame or float
        None reads ``analysis/config/thresholds.csv``; a DataFrame (province, year, threshold)
        replaces it; a number applies to every row.

    Returns
    -------
    DataFrame
        One row per region x year: ``threshold`` (each household is compared with its own
        province's threshold; when provinces in a region differ this column is the person-weighted
        mean threshold), ``fgt0``, ``fgt1``, ``fgt2``, ``fgt0_se``, ``fgt1_se``, ``fgt2_se``,
        ``share_near_threshold``, ``persons``, ``households``, ``households_poor`` (households below
        the threshold: the events FGT0, FGT1 and FGT2 rest on), ``villages``.

    Notes
    -----
    Standard errors treat each FGT measure as a ratio estimator with villages as primary sampling
    units drawn with replacement within strata = geography part of ``by`` x year, and use Taylor
    linearization: var = n_h/(n_h-1) * sum_c z_c^2, z_c the village total of the linearized scores
    w_i (u_i - FGT) / sum w (Wolter 2007, *Introduction to Variance Estimation*, ch. 6). Household
    records are a register rather than a sample, so the standard error describes how much the rate
    would vary across villages like these (the clustered, model-based reading). It equals the CR1
    cluster-robust standard error (correction G/(G-1)) of a regression of the indicator on a constant,
    weighted by ``size`` within the domain and by zero outside it, over the stratum's villages. It is
    missing when a stratum has a single village.
    """
    keys = region_keys(households, by)
    require(households, ["size", "net_income_pc"], "poverty")
    if not (isinstance(band, int | float) and band >= 1):
        raise ParameterError(f"band must be a number >= 1 (multiple of the threshold); got {band!r}")
    d = households[keys].copy()
    d["village_psu"] = village_psu(households)
    d["w"] = households["size"].astype("float64")
    y = households["net_income_pc"].astype("float64")
    z = row_thresholds(households, thresholds).astype("float64")
    # Relative gap is zero above the threshold, so the a = 1, 2 terms need no separate indicator.
    gap = ((z - y) / z).clip(lower=0)
    d["threshold"] = z
    d["fgt0"] = (y < z).astype("float64")
    d["fgt1"] = gap
    d["fgt2"] = gap ** 2
    d["share_near_threshold"] = ((y >= z) & (y < band * z)).astype("float64")
    d = d[y.notna() & d["w"].notna()].reset_index(drop=True)

    values = ["threshold", "fgt0", "fgt1", "fgt2", "share_near_threshold"]
    weighted = d[values].mul(d["w"], axis=0)
    weighted["persons"] = d["w"]
    sums = group_by(weighted, d, keys).sum()
    out = sums[values].div(sums["persons"], axis=0)
    out["persons"] = sums["persons"].round().astype("int64")
    out["households"] = group_by(d["w"], d, keys).size()
    out["households_poor"] = group_by(d["fgt0"], d, keys).sum().astype("int64")
    out["villages"] = group_by(d["village_psu"], d, keys).nunique()
    strata = [c for c in keys if c in GEOGRAPHY or c == "year"]
    se = _linearized_se(d, keys, strata, ["fgt0", "fgt1", "fgt2"], out)
    out = out.join(se)
    cols = ["threshold", "fgt0", "fgt1", "fgt2", "fgt0_se", "fgt1_se", "fgt2_se",
            "share_near_threshold", "persons", "households", "households_poor", "villages"]
    return out[cols].reset_index()


# ----------------------------------------------------------------------------------------------------
# growth incidence curve
# ----------------------------------------------------------------------------------------------------
def _weighted_quantiles(group: np.ndarray, y: np.ndarray, w: np.ndarray, qs: np.ndarray,
                        n_groups: int, presorted: bool = False) -> np.ndarray:
    """Person-weighted quantiles Q(p) = min{y : F(y) >= p} of every group at once, shape (groups, q).

    ``presorted`` says the rows are already ordered by group, then y (the bootstrap sorts once and only
    changes weights). Rows of zero weight never move F, so they are never chosen.
    """
    if not presorted:
        order = np.lexsort((y, group))
        group, y, w = group[order], y[order], w[order]
    if len(y) == 0:
        return np.full((n_groups, len(qs)), np.nan)
    total = np.bincount(group, weights=w, minlength=n_groups)
    cum = np.cumsum(w)
    first = np.searchsorted(group, group, side="left")
    denom = total[group]
    share = np.divide(cum - cum[first] + w[first], denom, out=np.ones_like(cum), where=denom > 0)
    # Group g's shares lie in [0, 1], so g + share is sorted across the whole array and one
    # searchsorted answers every group and quantile together.
    key = group + share
    query = (np.arange(n_groups)[:, None] + qs[None, :] - _SCORE_TOLERANCE).ravel()
    idx = np.minimum(np.searchsorted(key, query, side="left"), len(y) - 1)
    return np.where((total > 0)[:, None], y[idx].reshape(n_groups, len(qs)), np.nan)


def _annual_growth(q0: np.ndarray, q1: np.ndarray, years: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = (q1 / q0) ** (1.0 / years) - 1.0
    return np.where((q0 > 0) & (q1 > 0), growth, np.nan)


def village_draw(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiplicity of each village when every region redraws as many of its villages, with replacement.

    ``region`` is the (sorted) region code of each village.
    """
    counts = np.bincount(region)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = offsets[region] + np.floor(rng.random(len(region)) * counts[region]).astype(np.int64)
    return np.bincount(pick, minlength=len(region))


def growth_incidence(households: pd.DataFrame, year0: int, year1: int, by: Sequence[str] = ("county",),
                     quantiles: Sequence[float] | None = None, n_boot: int = 200, seed: int = 0,
                     conf_level: float = 0.95, real: bool = True) -> pd.DataFrame:
    """Growth incidence curve: annual growth of each quantile of per-capita income between two years.

    g(p) = (Q_year1(p) / Q_year0(p))^(1 / (year1 - year0)) - 1, with Q the person-weighted quantile
    of ``net_income_pc`` (Ravallion & Chen 2003, Economics Letters 78(1)). Growth above the mean's
    at low p means the poorest gained most.

    Parameters
    ----------
    households : DataFrame
        Canonical households with ``year``, ``size``, ``net_income_pc``, ``village`` and ``by``.
    year0, year1 : int
        Start and end years, year0 < year1.
    by : tuple of str
        Region columns.
    quantiles : sequence of float, optional
        Points p in (0, 1); default 0.05, 0.10, ..., 0.95.
    n_boot : int
        Bootstrap replications; 0 skips the confidence band.
    seed : int
        Seed for ``numpy.random.default_rng``.
    conf_level : float
        Coverage of the percentile band.
    real : bool
        Deflate incomes with the CPI table (``analysis/config/cpi.csv``) so that growth is real.

    Returns
    -------
    DataFrame
        By columns, ``year0``, ``year1``, ``quantile``, ``income_year0``, ``income_year1``,
        ``growth`` (annualised), ``conf_low``, ``conf_high``.

    Notes
    -----
    Q(p) = min{y : F(y) >= p}, the inverse of the person-weighted distribution function. The band
    resamples villages with replacement within each region (the same villages in both years, so the
    panel correlation of incomes is kept) and takes percentiles of the bootstrap growth rates; it is
    missing for a region with fewer than two villages. Growth is missing where a quantile is zero or
    negative (negative net income happens when production costs exceed revenue).
    """
    by_cols = region_keys(households, by)[:-1]
    require(households, ["size", "net_income_pc"], "growth_incidence")
    year0, year1 = int(year0), int(year1)
    if year1 <= year0:
        raise ParameterError(f"year1 must be after year0; got year0={year0}, year1={year1}")
    qs = np.round(np.arange(0.05, 1.0, 0.05), 10) if quantiles is None else np.asarray(quantiles, float)
    if qs.ndim != 1 or len(qs) == 0 or np.any((qs <= 0) | (qs >= 1)):
        raise ParameterError(f"quantiles must be numbers strictly between 0 and 1; got {quantiles!r}")
    if not 0 < conf_level < 1:
        raise ParameterError(f"conf_level must be between 0 and 1; got {conf_level}")
    if int(n_boot) < 0:
        raise ParameterError(f"n_boot must be 0 or more; got {n_boot}")
    present = set(households["year"].dropna().astype(int))
    absent = [y for y in (year0, year1) if y not in present]
    if absent:
        raise ParameterError(f"year(s) {absent} are not in the households table; "
                             f"years present: {sorted(present)}")

    rows = households["year"].isin([year0, year1]) & households["net_income_pc"].notna() \
        & households["size"].notna()
    sub = households[rows]
    income = sub["net_income_pc"].to_numpy(float)
    if real:
        cpi = config.cpi_index()
        missing = [y for y in (year0, year1) if y not in cpi.index]
        if missing:
            raise ParameterError(f"no CPI for year(s) {missing} in analysis/config/cpi.csv; add them or "
                                 "pass real=False")
        income = income / cpi.reindex(sub["year"].astype(int)).to_numpy()
    regions = sub.groupby(by_cols, dropna=False, sort=True)
    region = regions.ngroup().to_numpy()
    n_regions = regions.ngroups
    cell = region * 2 + (sub["year"] == year1).to_numpy().astype(np.int64)
    villages = pd.DataFrame({"region": region, "psu": village_psu(sub).to_numpy()})
    table = villages.drop_duplicates().sort_values(["region", "psu"]).reset_index(drop=True)
    position = villages.merge(table.reset_index(), on=["region", "psu"], how="left")["index"].to_numpy()
    order = np.lexsort((income, cell))
    cell, income, position = cell[order], income[order], position[order]
    size = sub["size"].to_numpy(float)[order]

    def curve(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        q = _weighted_quantiles(cell, income, weight, qs, 2 * n_regions, presorted=True)
        q0, q1 = q[0::2], q[1::2]
        return q0, q1, _annual_growth(q0, q1, year1 - year0)

    q0, q1, growth = curve(size)
    low = high = np.full_like(growth, np.nan)
    if n_boot:
        rng = np.random.default_rng(seed)
        draws = np.empty((int(n_boot), *growth.shape))
        for b in range(int(n_boot)):  # replications, each vectorized over all regions
            draws[b] = curve(size * village_draw(table["region"].to_numpy(), rng)[position])[2]
        alpha = (1 - conf_level) / 2
        low, high = np.nanquantile(draws, [alpha, 1 - alpha], axis=0)
        several = (table.groupby("region").size().reindex(range(n_regions), fill_value=0) > 1).to_numpy()
        low, high = np.where(several[:, None], low, np.nan), np.where(several[:, None], high, np.nan)

    labels = regions.size().reset_index()[by_cols]
    out = labels.loc[labels.index.repeat(len(qs))].reset_index(drop=True)
    out["year0"], out["year1"] = year0, year1
    out["quantile"] = np.tile(qs, n_regions)
    out["income_year0"], out["income_year1"] = q0.ravel(), q1.ravel()
    out["growth"], out["conf_low"], out["conf_high"] = growth.ravel(), low.ravel(), high.ravel()
    return out


# ----------------------------------------------------------------------------------------------------
# Alkire-Foster basic needs
# ----------------------------------------------------------------------------------------------------
def basic_needs_config(weights: dict[str, float] | None = None) -> tuple[dict[str, float], float, str]:
    """Indicator weights (rescaled to sum to 1), default cutoff k and missing-value rule.

    Read from ``analysis/config/basic_needs.yaml`` unless ``weights`` (indicator -> weight) is given.
    """
    cfg = config.load_yaml("basic_needs.yaml")
    if weights is None:
        weights = {name: spec["weight"] for name, spec in cfg["indicators"].items()}
    if not isinstance(weights, dict) or not weights:
        raise ParameterError("weights must be a non-empty mapping indicator column -> weight, "
                             f"e.g. {{'bn_food_clothing': 0.2, ...}}; got {weights!r}")
    bad = {k: v for k, v in weights.items()
           if not isinstance(v, int | float) or isinstance(v, bool) or not np.isfinite(v) or v < 0}
    if bad or sum(weights.values()) <= 0:
        raise ParameterError(f"weights must be non-negative numbers with a positive sum; got {weights!r}")
    total = float(sum(weights.values()))
    return {k: float(v) / total for k, v in weights.items()}, float(cfg.get("k", 0.4)), \
        str(cfg.get("missing", "exclude"))


def basic_needs(households: pd.DataFrame, k: float | None = None, by: Sequence[str] = ("county",),
                weights: dict[str, float] | None = None, missing: str | None = None) -> pd.DataFrame:
    """Alkire-Foster multidimensional poverty over the basic-needs flags (两不愁三保障 + 饮水).

    A household is deprived in indicator j when its flag is False (True = secured). Its deprivation
    score is c_i = sum_j w_j d_ij with weights summing to 1; it is multidimensionally poor when
    c_i >= k (Alkire & Foster 2011, Journal of Public Economics 95(7-8)). With person weights:
    H = poor persons / persons; A = mean score of the poor; M0 = H * A = sum_j w_j * cens_j.

    Parameters
    ----------
    households : DataFrame
        Canonical households with ``year``, ``size``, the ``by`` columns and the indicator columns.
    k : float, optional
        Poverty cutoff as a share of the weighted indicators, 0 < k <= 1; default from
        ``basic_needs.yaml``. k equal to the smallest weight is the union approach (any deprivation),
        k = 1 the intersection approach.
    by : tuple of str
        Region columns.
    weights : dict, optional
        Indicator column -> weight; replaces the weights of ``basic_needs.yaml`` (the keys choose the
        indicators). Weights are rescaled to sum to 1.
    missing : {"exclude", "not_deprived", "deprived"}, optional
        What a missing flag means; default from the YAML (``exclude``: a household missing any flag
        is left out of every figure, so that all indicators describe the same persons).

    Returns
    -------
    DataFrame
        By columns, ``year``, ``k``, ``H``, ``A``, ``M0``; for each indicator column (named in full,
        e.g. ``dep_bn_water``): ``dep_<indicator>`` (uncensored share of
        persons deprived), ``cens_<indicator>`` (share of persons poor and deprived in it),
        ``contrib_<indicator>`` = w_j cens_j / M0 (sums to 1 where M0 > 0, missing where M0 = 0);
        ``persons``, ``households`` (used) and ``households_excluded`` (missing flags or size).
    """
    keys = region_keys(households, by)
    w, k_default, missing_default = basic_needs_config(weights)
    k = k_default if k is None else k
    missing = missing_default if missing is None else missing
    if not isinstance(k, int | float) or isinstance(k, bool) or not 0 < k <= 1:
        raise ParameterError(f"k must be a share of the weighted indicators, 0 < k <= 1; got {k!r}")
    if missing not in MISSING_RULES:
        raise ParameterError(f"missing must be one of {list(MISSING_RULES)}; got {missing!r}")
    names = list(w)
    require(households, ["size", *names], "basic_needs")

    flags = households[names].astype("boolean")
    complete = flags.notna().all(axis=1) & households["size"].notna()
    if missing != "exclude":
        complete = households["size"].notna()
    # Deprived = not secured; a missing flag counts per the chosen rule.
    deprived = pd.DataFrame({j: as_bool(~flags[j], missing == "deprived") for j in names}).astype("float64")
    score = deprived.to_numpy() @ np.array([w[j] for j in names])
    poor = (score >= k - _SCORE_TOLERANCE).astype("float64")

    persons = households["size"].astype("float64").where(complete, 0.0)
    parts = pd.DataFrame({"persons": persons, "_poor": poor * persons, "_score": score * poor * persons,
                          "households": complete.astype("int64"),
                          "households_excluded": (~complete).astype("int64")})
    for j in names:
        parts[f"dep_{j}"] = deprived[j] * persons
        parts[f"cens_{j}"] = deprived[j] * poor * persons
    sums = group_by(parts, households, keys).sum()
    share = sums.drop(columns=["persons", "households", "households_excluded"]).div(
        sums["persons"].where(sums["persons"] > 0), axis=0)
    out = pd.DataFrame(index=sums.index)
    out["k"] = float(k)
    out["H"] = share["_poor"]
    out["M0"] = share["_score"]
    out["A"] = (out["M0"] / out["H"]).where(out["H"] > 0)
    for j in names:
        out[f"dep_{j}"] = share[f"dep_{j}"]
    for j in names:
        out[f"cens_{j}"] = share[f"cens_{j}"]
    for j in names:
        out[f"contrib_{j}"] = (w[j] * share[f"cens_{j}"] / out["M0"]).where(out["M0"] > 0)
    out["persons"] = sums["persons"].round().astype("int64")
    out[["households", "households_excluded"]] = sums[["households", "households_excluded"]]
    order = ["k", "H", "A", "M0", *[c for c in out.columns if c[:4] in ("dep_", "cens", "cont")],
             "persons", "households", "households_excluded"]
    return out[order].reset_index()


def basic_needs_union(households: pd.DataFrame, by=("county",)) -> pd.DataFrame:
    """两不愁三保障 + 饮水 counted as the policy counts them: a person with any unmet need.

    :func:`basic_needs` with the union cutoff (k = the smallest positive indicator
    weight of ``basic_needs.yaml``; Alkire and Foster 2011, section 4.1), so that ``H`` is the share of
    persons in households with at least one need unmet. The shipped cutoff (two needs or more) leaves
    almost every county at zero, which cannot separate counties.
    """
    weights, _, _ = basic_needs_config()
    return basic_needs(households, k=min(w for w in weights.values() if w > 0), by=by)
