"""Monitoring targets (防止返贫动态监测): coverage, identification gaps, risk elimination, transitions,
returns to poverty, risk scores with early warnings, and small-cell suppression.

All functions take the canonical ``households`` table (one row per household x year) for every region at
once; ``by`` names the region columns and the outputs carry the ``by`` columns and ``year``. A missing
``monitoring_type`` is read as ``none`` (not a monitoring target).

Monitoring status of a household-year (:func:`monitoring_status`), used throughout:

* ``eliminated`` -- ``risk_eliminated`` is True on this record (an elimination dated before the current
  ``monitoring_start`` belongs to an earlier spell and does not count), or the household was eliminated
  on an earlier record and is not monitored now;
* ``returned`` -- monitored now (``monitoring_type`` != none, not eliminated) after having been
  eliminated before: on an earlier yearly record, or as shown by an ``elimination_date`` before the
  current ``monitoring_start``;
* ``monitored`` -- monitored now, never eliminated before;
* ``not_at_risk`` -- not monitored now and never eliminated.

Examples
--------
>>> import pandas as pd
>>> from analysis.measures import monitoring as mon
>>> hh = pd.DataFrame({"household_id": ["a", "a"], "year": [2022, 2023],
...                    "monitoring_type": ["unstable", "unstable"], "risk_eliminated": [False, True],
...                    "monitoring_start": pd.to_datetime(["2022-03-01"] * 2),
...                    "elimination_date": pd.to_datetime([None, "2023-05-01"])})
>>> mon.monitoring_status(hh).tolist()
['monitored', 'eliminated']
"""
from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

from analysis import config
from analysis.errors import ParameterError
from analysis.measures.frames import as_bool, group_by, region_keys, require, row_thresholds
from analysis.io.schema import GEOGRAPHY

TARGET_TYPES = ("unstable", "marginal", "sudden_hardship")
STATUSES = ("not_at_risk", "monitored", "eliminated", "returned")
# Average month length in days (365.25 / 12), to turn date differences into months.
DAYS_PER_MONTH = 30.4375
DERIVED_RISK = ("income_ratio", "income_drop", "rigid_share", "no_labor",
                "member_serious_illness", "member_disabled", "member_lost_labor")


# ----------------------------------------------------------------------------------------------------
# monitoring status
# ----------------------------------------------------------------------------------------------------
def is_target(households: pd.DataFrame) -> pd.Series:
    """Monitoring target (三类户) on this record: ``monitoring_type`` is one of :data:`TARGET_TYPES`."""
    require(households, ["monitoring_type"], "monitoring figures")
    return _is(households["monitoring_type"], *TARGET_TYPES)


def _is(series: pd.Series, *values) -> pd.Series:
    """Plain boolean: the value is one of ``values`` (missing is not)."""
    return series.isin(values).fillna(False).astype(bool)


def eliminated_now(households: pd.DataFrame) -> pd.Series:
    """Eliminated on this record; an elimination dated before the current monitoring start is stale."""
    require(households, ["risk_eliminated"], "risk elimination figures")
    flag = as_bool(households["risk_eliminated"], False)
    if {"monitoring_start", "elimination_date"} <= set(households.columns):
        stale = (households["elimination_date"] < households["monitoring_start"]).astype("boolean")
        flag &= ~stale.fillna(False).astype(bool)
    return flag


def monitoring_status(households: pd.DataFrame) -> pd.Series:
    """Status of each household-year: not_at_risk, monitored, eliminated or returned (see module doc).

    Needs ``household_id``, ``year``, ``monitoring_type`` and ``risk_eliminated``; returns a string
    Series aligned with ``households``.
    """
    require(households, ["household_id", "year"], "monitoring_status")
    _check_key(households, "monitoring_status")
    target = is_target(households)
    elim = eliminated_now(households)
    order = households.sort_values(["household_id", "year"]).index
    hid = households.loc[order, "household_id"]
    ever = elim.loc[order].groupby(hid.to_numpy(), sort=False).cummax()
    before = ever.groupby(hid.to_numpy(), sort=False).shift(1, fill_value=False).astype(bool)
    before = before.reindex(households.index)
    if {"monitoring_start", "elimination_date"} <= set(households.columns):
        # An elimination dated before the current monitoring start is itself an earlier elimination.
        before |= (households["elimination_date"] < households["monitoring_start"]).astype(
            "boolean").fillna(False).astype(bool)
    active = target & ~elim
    status = np.select([active & before, active, elim | before], ["returned", "monitored", "eliminated"],
                       "not_at_risk")
    return pd.Series(status, index=households.index, dtype="string", name="status")


def _geo(households: pd.DataFrame) -> list[str]:
    return [c for c in GEOGRAPHY if c in households.columns]


def _whole_persons(table: pd.DataFrame) -> pd.DataFrame:
    """Person counts (sums of household sizes, named ``persons`` or ``persons_<what>``) as integers."""
    cols = [c for c in table.columns if (c == "persons" or c.startswith("persons_")) and "_per_" not in c
            and table[c].notna().all()]
    return table.assign(**{c: table[c].round().astype("int64") for c in cols})


def _pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Each household's consecutive-year record pairs, columns suffixed ``_from`` / ``_to``."""
    later = frame.assign(year=frame["year"] - 1)
    pairs = frame.merge(later, on=["household_id", "year"], suffixes=("_from", "_to"))
    pairs = pairs.rename(columns={"year": "year_from"})
    pairs["year_to"] = pairs["year_from"] + 1
    return pairs


# ----------------------------------------------------------------------------------------------------
# coverage
# ----------------------------------------------------------------------------------------------------
def coverage(households: pd.DataFrame, by: Sequence[str] = ("county",)) -> pd.DataFrame:
    """Monitoring targets (三类户) by type, as counts and shares of households and persons.

    Parameters
    ----------
    households : DataFrame
        Canonical households with ``year``, ``size``, ``monitoring_type``, ``risk_eliminated``,
        ``household_id`` and the ``by`` columns.
    by : tuple of str
        Region columns.

    Returns
    -------
    DataFrame
        By columns, ``year``, ``households``, ``persons``; for each of ``unstable``, ``marginal``,
        ``sudden_hardship`` and ``targets`` (all three): ``households_<t>``, ``persons_<t>``,
        ``share_households_<t>``, ``share_persons_<t>``; ``households_active`` / ``persons_active``
        (targets not yet eliminated); ``persons_targets_per_exited`` (target persons per person in a
        poverty-exited household, the ratio published as "share of 脱贫人口", when ``household_type``
        is present).

    Notes
    -----
    Records stay in the system after elimination, so a target counts in every year its record shows a
    monitoring type, eliminated or not; ``households_active`` counts those still under monitoring.
    """
    keys = region_keys(households, by)
    require(households, ["size"], "coverage")
    size = households["size"].astype("float64")
    target = is_target(households)
    status = monitoring_status(households)
    parts = {"households": pd.Series(1, index=households.index), "persons": size}
    for t in (*TARGET_TYPES, "targets"):
        hit = target if t == "targets" else _is(households["monitoring_type"], t)
        parts[f"households_{t}"] = hit.astype("int64")
        parts[f"persons_{t}"] = size * hit
    active = _is(status, "monitored", "returned")
    parts["households_active"] = active.astype("int64")
    parts["persons_active"] = size * active
    exited = "household_type" in households.columns
    if exited:
        parts["_persons_exited"] = size * _is(households["household_type"], "poverty_exited")
    sums = group_by(pd.DataFrame(parts), households, keys).sum()
    out = sums[["households", "persons"]].copy()
    for t in (*TARGET_TYPES, "targets"):
        out[f"households_{t}"] = sums[f"households_{t}"]
        out[f"persons_{t}"] = sums[f"persons_{t}"]
        out[f"share_households_{t}"] = sums[f"households_{t}"] / sums["households"]
        out[f"share_persons_{t}"] = sums[f"persons_{t}"] / sums["persons"]
    out[["households_active", "persons_active"]] = sums[["households_active", "persons_active"]]
    if exited:
        out["persons_targets_per_exited"] = sums["persons_targets"] / sums["_persons_exited"].where(
            sums["_persons_exited"] > 0)
    return _whole_persons(out.reset_index())


# ----------------------------------------------------------------------------------------------------
# identification gap (应纳尽纳)
# ----------------------------------------------------------------------------------------------------
def _merged_rules(name: str, override: dict | None) -> dict:
    """Rules from ``name`` (YAML) with ``override`` merged in, each rule's keys replaced one by one."""
    base = copy.deepcopy(config.load_yaml(name))
    for rule, params in (override or {}).items():
        if rule not in base:
            raise ParameterError(f"unknown rule {rule!r} in {name}; known rules: {sorted(base)}")
        if not isinstance(params, dict):
            raise ParameterError(f"rule {rule!r} must be a mapping of parameters; got {params!r}")
        unknown = set(params) - set(base[rule])
        if unknown:
            raise ParameterError(f"rule {rule!r} has no parameter(s) {sorted(unknown)}; "
                                 f"allowed: {sorted(base[rule])}")
        base[rule].update(params)
    return base


def check_identification_rules(rules: dict | None = None) -> dict:
    """The identification rules of ``identification.yaml`` with ``rules`` merged in; raises
    :class:`~analysis.errors.ParameterError` naming an unknown rule or parameter."""
    return _merged_rules("identification.yaml", rules)


def _identification_hits(households: pd.DataFrame, rules: dict | None, thresholds) -> pd.DataFrame:
    """One boolean column ``rule_<name>`` per enabled rule; missing inputs never meet a rule."""
    r = _merged_rules("identification.yaml", rules)
    on = {name: p for name, p in r.items() if p.get("enabled", True)}
    thr = row_thresholds(households, thresholds) if {"income", "income_after_rigid"} & set(on) else None
    pc = households["net_income_pc"].astype("float64") if "net_income_pc" in households else None
    hits = {}
    if "income" in on:
        require(households, ["net_income_pc"], "the income identification rule")
        hits["rule_income"] = pc < on["income"]["threshold_multiplier"] * thr
    if {"rigid_expenditure", "income_after_rigid"} & set(on):
        require(households, ["expense_rigid", "size", "net_income_pc"], "the rigid-expenditure rules")
        rigid = households["expense_rigid"].astype("float64")
        size = households["size"].astype("float64")
        net = households["net_income"].astype("float64") if "net_income" in households else pc * size
    if "rigid_expenditure" in on:
        p = on["rigid_expenditure"]
        hits["rule_rigid_expenditure"] = (rigid > 0) & (rigid >= p["min_amount"]) \
            & (rigid >= p["min_share_of_net_income"] * net)
    if "income_after_rigid" in on:
        p = on["income_after_rigid"]
        limit = p["threshold_multiplier"] * thr
        large = (rigid >= p.get("min_amount", 0)) & ((net <= 0) | (rigid >= p.get("min_share_of_net_income", 0) * net))
        hits["rule_income_after_rigid"] = (pc >= limit) & large & (rigid > 0) & ((net - rigid) / size < limit)
    if "basic_needs" in on:
        cols = list(on["basic_needs"]["indicators"])
        require(households, cols, "the basic-needs identification rule")
        failed = pd.concat([as_bool(~households[c].astype("boolean"), False) for c in cols], axis=1)
        hits["rule_basic_needs"] = failed.any(axis=1)
    frame = pd.DataFrame({k: v.astype("boolean").fillna(False).astype(bool) for k, v in hits.items()},
                         index=households.index)
    if thr is not None:
        frame.insert(0, "threshold", thr)
    return frame


def identification_gap(households: pd.DataFrame, rules: dict | None = None, thresholds=None) -> pd.DataFrame:
    """Households meeting an identification rule but not monitored: the 应纳尽纳 follow-up list.

    Parameters
    ----------
    households : DataFrame
        Canonical households (``household_id``, ``year``, ``monitoring_type`` and the columns of the
        enabled rules).
    rules : dict, optional
        Overrides for ``analysis/config/identification.yaml``, e.g.
        ``{"rigid_expenditure": {"min_share_of_net_income": 0.3}, "basic_needs": {"enabled": False}}``.
    thresholds : None, DataFrame or float
        Monitoring thresholds, as in :func:`analysis.measures.poverty.poverty`.

    Returns
    -------
    DataFrame
        One row per household-year with ``monitoring_type`` none (or missing) that meets at least one
        enabled rule: ``household_id``, ``year``, the geography columns, ``size``, ``net_income_pc``,
        ``threshold``, one ``rule_<name>`` column per enabled rule, and ``rules_hit`` (names joined
        with ``;``). Sorted by geography, household and year.
    """
    require(households, ["household_id", "year"], "identification_gap")
    hits = _identification_hits(households, rules, thresholds)
    rule_cols = [c for c in hits.columns if c.startswith("rule_")]
    gap = hits[rule_cols].any(axis=1) & ~is_target(households)
    keep = ["household_id", "year", *_geo(households),
            *[c for c in ("size", "net_income_pc") if c in households.columns]]
    out = households.loc[gap, keep].join(hits.loc[gap])
    joined = np.full(len(out), "", dtype=object)
    for c in rule_cols:  # a loop over the few rules, each vectorized over households
        joined = joined + np.where(out[c].to_numpy(), c.removeprefix("rule_") + ";", "")
    out["rules_hit"] = pd.Series(joined, index=out.index, dtype="string").str.rstrip(";")
    return out.sort_values([*_geo(households), "household_id", "year"]).reset_index(drop=True)


def identification_gap_summary(households: pd.DataFrame, by: Sequence[str] = ("county",),
                               rules: dict | None = None, thresholds=None) -> pd.DataFrame:
    """Counts of the identification gap per region x year.

    Returns
    -------
    DataFrame
        By columns, ``year``, ``households``, ``households_meeting_rules`` (monitored or not),
        ``households_gap`` and ``persons_gap`` (meeting a rule, not monitored), ``gap_share``
        (= households_gap / households_meeting_rules), and ``gap_<rule>`` counts per enabled rule
        (a household meeting two rules counts in both).
    """
    keys = region_keys(households, by)
    hits = _identification_hits(households, rules, thresholds)
    rule_cols = [c for c in hits.columns if c.startswith("rule_")]
    meets = hits[rule_cols].any(axis=1)
    gap = meets & ~is_target(households)
    parts = pd.DataFrame({"households": 1, "households_meeting_rules": meets.astype("int64"),
                          "households_gap": gap.astype("int64"),
                          "persons_gap": households["size"].astype("float64") * gap}, index=households.index)
    for c in rule_cols:
        parts[f"gap_{c.removeprefix('rule_')}"] = (hits[c] & gap).astype("int64")
    out = group_by(parts, households, keys).sum()
    out.insert(3, "gap_share", out["households_gap"] / out["households_meeting_rules"].where(
        out["households_meeting_rules"] > 0))
    return _whole_persons(out.reset_index())


#: Parameters moved one at a time by :func:`identification_sensitivity`, with the values tried.
SENSITIVITY_GRID = {
    ("income_after_rigid", "min_amount"): (0, 1000, 2000, 5000),
    ("income_after_rigid", "min_share_of_net_income"): (0.0, 0.1, 0.2, 0.3),
    ("rigid_expenditure", "min_share_of_net_income"): (0.3, 0.5, 0.7),
    ("income", "threshold_multiplier"): (0.9, 1.0, 1.1),
}


def identification_rule_overlap(households: pd.DataFrame, by: Sequence[str] = ("county",),
                                rules: dict | None = None, thresholds=None) -> pd.DataFrame:
    """Households meeting each combination of identification rules, per region x year.

    Returns
    -------
    DataFrame
        By columns, ``year``, ``rules`` (the names of the rules met, joined with ``+``), ``households``
        (meeting exactly this combination) and ``households_gap`` (of those, not monitored). Only
        combinations that occur are listed; every household meeting a rule is in exactly one row.
    """
    keys = region_keys(households, by)
    hits = _identification_hits(households, rules, thresholds)
    rule_cols = [c for c in hits.columns if c.startswith("rule_")]
    combo = np.full(len(hits), "", dtype=object)
    for c in rule_cols:   # the few rules, each vectorized over households
        combo = combo + np.where(hits[c].to_numpy(), c.removeprefix("rule_") + "+", "")
    meets = hits[rule_cols].any(axis=1).to_numpy()
    parts = pd.DataFrame({"households": 1, "households_gap": (~is_target(households)).astype("int64")},
                         index=households.index)
    frame = households[keys].assign(rules=pd.Series(combo, index=households.index).str.rstrip("+")).loc[meets]
    out = parts.loc[meets].groupby([*[frame[k] for k in keys], frame["rules"]], observed=True, dropna=False).sum()
    return out.reset_index().sort_values([*keys, "households"], ascending=[True] * len(keys) + [False],
                                         ignore_index=True)


def identification_sensitivity(households: pd.DataFrame, by: Sequence[str] = ("county",),
                               rules: dict | None = None, thresholds=None,
                               grid: dict | None = None) -> pd.DataFrame:
    """How the identification gap moves when one rule parameter moves, the others as configured.

    Returns
    -------
    DataFrame
        By columns, ``year``, ``rule``, ``parameter``, ``value``, ``configured`` (True for the value in
        use), ``households_meeting_rules`` and ``households_gap``: one row per region x year x parameter
        value of ``grid`` (default :data:`SENSITIVITY_GRID`).
    """
    base = _merged_rules("identification.yaml", rules)
    parts = []
    for (rule, parameter), values in (grid or SENSITIVITY_GRID).items():
        if rule not in base or parameter not in base[rule] or not base[rule].get("enabled", True):
            continue
        for value in values:
            moved = {**(rules or {}), rule: {**(rules or {}).get(rule, {}), parameter: value}}
            summary = identification_gap_summary(households, by=by, rules=moved, thresholds=thresholds)
            keys = [c for c in summary.columns if c in (*by, "year")]
            parts.append(summary[[*keys, "households_meeting_rules", "households_gap"]].assign(
                rule=rule, parameter=parameter, value=float(value), configured=bool(value == base[rule][parameter])))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    keys = [c for c in out.columns if c in (*by, "year")]
    return out[[*keys, "rule", "parameter", "value", "configured", "households_meeting_rules", "households_gap"]]


# ----------------------------------------------------------------------------------------------------
# risk elimination
# ----------------------------------------------------------------------------------------------------
def _months(start: pd.Series, end: pd.Series) -> pd.Series:
    return (end - start).dt.days / DAYS_PER_MONTH


def elimination(households: pd.DataFrame, by: Sequence[str] = ("county",)) -> pd.DataFrame:
    """Risk elimination (风险消除) rate and time to elimination per region x year.

    Returns
    -------
    DataFrame
        By columns, ``year``; ``targets`` / ``persons_targets`` (records with a monitoring type);
        ``eliminated`` / ``persons_eliminated`` (of those, eliminated on this record: a stock, as in
        "70% of targets eliminated by end-2021"); ``elimination_rate`` and
        ``elimination_rate_persons``; ``eliminated_in_year`` (elimination date within this year),
        ``assisted`` and ``natural`` (its modes, 帮扶消除 / 自然消除); ``months_mean`` and
        ``months_median`` from ``monitoring_start`` to ``elimination_date`` among those eliminated in the
        year (months of 30.4375 days).
    """
    keys = region_keys(households, by)
    require(households, ["size", "monitoring_start", "elimination_date"], "elimination")
    size = households["size"].astype("float64")
    target = is_target(households)
    elim = eliminated_now(households) & target
    in_year = elim & (households["elimination_date"].dt.year == households["year"]).fillna(False)
    mode = households["elimination_mode"] if "elimination_mode" in households else \
        pd.Series(pd.NA, index=households.index, dtype="string")
    parts = pd.DataFrame({"targets": target.astype("int64"), "persons_targets": size * target,
                          "eliminated": elim.astype("int64"), "persons_eliminated": size * elim,
                          "eliminated_in_year": in_year.astype("int64"),
                          "assisted": (in_year & _is(mode, "assisted")).astype("int64"),
                          "natural": (in_year & _is(mode, "natural")).astype("int64")})
    out = group_by(parts, households, keys).sum()
    out.insert(4, "elimination_rate", out["eliminated"] / out["targets"].where(out["targets"] > 0))
    out.insert(5, "elimination_rate_persons",
               out["persons_eliminated"] / out["persons_targets"].where(out["persons_targets"] > 0))
    months = _months(households["monitoring_start"], households["elimination_date"]).where(in_year)
    out["months_mean"] = group_by(months, households, keys).mean()
    out["months_median"] = group_by(months, households, keys).median()
    return _whole_persons(out.reset_index())


def _spells(households: pd.DataFrame, by_cols: list[str], as_of) -> pd.DataFrame:
    """One row per monitoring spell (household x monitoring_start): region, months, event."""
    require(households, ["household_id", "year", "monitoring_start", "elimination_date"],
             "elimination_survival")
    elim = eliminated_now(households)
    rec = households.loc[is_target(households) & households["monitoring_start"].notna(),
                         ["household_id", "year", "monitoring_start", "elimination_date", *by_cols]]
    rec = rec.assign(_elim=elim.loc[rec.index]).sort_values(["household_id", "monitoring_start", "year"])
    g = rec.groupby(["household_id", "monitoring_start"], sort=False)
    spells = g[by_cols].first()
    spells["last_year"] = g["year"].max()
    spells["eliminated"] = g["_elim"].any()
    spells["end"] = rec["elimination_date"].where(rec["_elim"]).groupby(
        [rec["household_id"], rec["monitoring_start"]], sort=False).min()
    spells = spells.reset_index()
    # An elimination without a date cannot be placed in time: the spell is left out.
    spells = spells[~(spells["eliminated"] & spells["end"].isna())]
    censor = pd.to_datetime(spells["last_year"].astype("int64").astype(str) + "-12-31").astype(
        spells["monitoring_start"].dtype)
    if as_of is not None:
        as_of = pd.Timestamp(as_of)
        spells = spells[spells["monitoring_start"] <= as_of]
        censor = censor[spells.index].clip(upper=as_of)
        late = spells["eliminated"] & (spells["end"] > as_of)
        spells = spells.assign(eliminated=spells["eliminated"] & ~late)
    end = spells["end"].where(spells["eliminated"], censor)
    return spells.assign(months=_months(spells["monitoring_start"], end), event=spells["eliminated"])


def elimination_survival(households: pd.DataFrame, by: Sequence[str] = ("county",), as_of=None,
                         conf_level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier curve of the time from identification to risk elimination, per region.

    Kaplan & Meier (1958), computed by statsmodels ``SurvfuncRight``; pointwise confidence limits on the
    log(-log) scale from the Greenwood standard error (Kalbfleisch & Prentice 2002, sec. 1.4).

    Parameters
    ----------
    households : DataFrame
        Canonical households (``household_id``, ``year``, ``monitoring_type``, ``monitoring_start``,
        ``risk_eliminated``, ``elimination_date`` and ``by``).
    by : tuple of str
        Region columns (a spell belongs to the region of its first yearly record).
    as_of : date-like, optional
        Data cut-off: spells starting later are dropped, eliminations later are not yet seen.
    conf_level : float
        Coverage of the pointwise band.

    Returns
    -------
    DataFrame
        By columns, ``months`` (event times), ``survival`` (share still not eliminated), ``conf_low``,
        ``conf_high``, ``at_risk``, ``events``.

    Notes
    -----
    A household appears once per year, so its records are grouped into spells by
    ``monitoring_start``: one spell per household and start date, its region taken from the first
    record of the spell (targets without a ``monitoring_start`` cannot form a spell and are left out).
    The event is the earliest ``elimination_date`` on a record of the spell marked eliminated; spells
    eliminated without a date are left out. A spell not eliminated is censored at the
    end (31 December) of the last year the spell is observed, or at ``as_of`` if earlier.
    """
    by_cols = region_keys(households, by)[:-1]
    if not 0 < conf_level < 1:
        raise ParameterError(f"conf_level must be between 0 and 1; got {conf_level}")
    spells = _spells(households, by_cols, as_of)
    if (spells["months"] < 0).any():
        raise ParameterError("some monitoring spells end before they start (elimination_date or as_of "
                             "before monitoring_start); check those records or as_of")
    z = stats.norm.ppf(0.5 + conf_level / 2)
    curves = []
    for region, spell in spells.groupby(by_cols, dropna=False, sort=True):  # one library call per region
        sf = SurvfuncRight(spell["months"].to_numpy(float), spell["event"].to_numpy(int))
        s = sf.surv_prob
        with np.errstate(divide="ignore", invalid="ignore"):
            half = z * sf.surv_prob_se / (s * np.abs(np.log(s)))
        curve = pd.DataFrame({"months": sf.surv_times, "survival": s,
                              "conf_low": s ** np.exp(half), "conf_high": s ** np.exp(-half),
                              "at_risk": sf.n_risk.astype("int64"), "events": sf.n_events.astype("int64")})
        defined = pd.Series((s > 0) & (s < 1))
        curve["conf_low"] = curve["conf_low"].where(defined)
        curve["conf_high"] = curve["conf_high"].where(defined)
        for col, value in zip(by_cols, region, strict=True):
            curve.insert(by_cols.index(col), col, value)
        curves.append(curve)
    columns = [*by_cols, "months", "survival", "conf_low", "conf_high", "at_risk", "events"]
    return pd.concat(curves, ignore_index=True)[columns] if curves else pd.DataFrame(columns=columns)


def _eliminations_checked(households: pd.DataFrame, thresholds, min_months: float,
                          extra: Sequence[str] = ()) -> pd.DataFrame:
    """Every elimination once (its first record), with the failure flags; ``extra`` columns kept."""
    require(households, ["household_id", "year", "net_income_pc", "monitoring_start", "elimination_date"],
             "failed_eliminations")
    if not (isinstance(min_months, int | float) and min_months >= 0):
        raise ParameterError(f"min_months must be a number of months >= 0; got {min_months!r}")
    elim = eliminated_now(households) & is_target(households)
    thr = row_thresholds(households, thresholds)
    cols = ["household_id", "year", *_geo(households),
            *[c for c in ("size", "labor_count", "monitoring_type", "elimination_mode") if c in households],
            "monitoring_start", "elimination_date", "net_income_pc"]
    cols += [c for c in extra if c not in cols]
    rec = households.loc[elim, cols].assign(threshold=thr[elim])
    rec = rec.sort_values(["household_id", "year"]).drop_duplicates(["household_id", "elimination_date"])
    rec["months_monitored"] = _months(rec["monitoring_start"], rec["elimination_date"])
    rec["income_in_range"] = (rec["net_income_pc"] < rec["threshold"]).astype("boolean").fillna(False)
    rec["too_fast"] = (rec["months_monitored"] < min_months).astype("boolean").fillna(False)
    rec["no_labor_capacity"] = (rec["labor_count"].eq(0) if "labor_count" in rec else
                                pd.Series(False, index=rec.index)).astype("boolean").fillna(False)
    aid = [c for c in households.columns if c.startswith("aid_")]
    # 帮扶消除 needs at least one assistance measure; without aid columns nothing can be said, so no flag
    rec["no_assistance"] = ~households.loc[rec.index, aid].astype("boolean").fillna(False).any(axis=1) \
        if aid else False
    rec["failed"] = rec["income_in_range"] | rec["too_fast"] | rec["no_assistance"]
    return rec.astype({c: bool for c in ("income_in_range", "too_fast", "no_labor_capacity", "no_assistance",
                                         "failed")})


def failed_eliminations(households: pd.DataFrame, thresholds=None, min_months: float = 6) -> pd.DataFrame:
    """Eliminations that look premature, one row per household elimination, for follow-up.

    An elimination is taken from the first yearly record on which it appears (normally the year of
    ``elimination_date``). It is listed when ``income_in_range`` (``net_income_pc`` on that record is
    below the monitoring threshold of that year) or ``too_fast`` (fewer than ``min_months`` months from
    ``monitoring_start`` to ``elimination_date``; the rule is normally at least half a year) or
    ``no_assistance`` (no assistance measure on the record, when the data have ``aid_*`` columns: risk is
    eliminated with assistance, 帮扶消除, or by a natural rise in income, 自然消除, and in both cases the
    household stays a target until its measures have taken effect; a target with no measure at all is
    not one the guidance lets go).
    ``no_labor_capacity`` (``labor_count`` == 0; such households are not to be marked eliminated) is
    reported alongside but does not by itself make an elimination failed.

    Returns
    -------
    DataFrame
        ``household_id``, ``year``, geography, ``monitoring_type``, ``monitoring_start``,
        ``elimination_date``, ``months_monitored``, ``net_income_pc``, ``threshold`` and the flags.
    """
    rec = _eliminations_checked(households, thresholds, min_months)
    rec = rec[rec["failed"]].drop(columns="failed")
    return rec.sort_values([*_geo(households), "household_id", "year"]).reset_index(drop=True)


def failed_eliminations_summary(households: pd.DataFrame, by: Sequence[str] = ("county",),
                                thresholds=None, min_months: float = 6) -> pd.DataFrame:
    """Per region x year of the elimination record: ``eliminations``, ``failed``, ``failed_share`` and
    the counts ``income_in_range``, ``too_fast``, ``no_assistance``, ``no_labor_capacity`` (see
    :func:`failed_eliminations`)."""
    keys = region_keys(households, by)
    rec = _eliminations_checked(households, thresholds, min_months, extra=keys)
    flags = ["failed", "income_in_range", "too_fast", "no_assistance", "no_labor_capacity"]
    parts = rec[flags].astype("int64").assign(eliminations=1)
    out = group_by(parts, rec, keys).sum()[["eliminations", *flags]]
    out.insert(2, "failed_share", out["failed"] / out["eliminations"])
    return out.reset_index()


# ----------------------------------------------------------------------------------------------------
# transitions and returns to poverty
# ----------------------------------------------------------------------------------------------------
def transitions(households: pd.DataFrame, by: Sequence[str] = ("county",)) -> pd.DataFrame:
    """Year-to-year transitions between monitoring statuses (see :func:`monitoring_status`).

    Only households observed in both consecutive years count; the region is that of the ``year_from``
    record. Only observed transitions are listed (absent rows are zero).

    Returns
    -------
    DataFrame
        By columns, ``year_from``, ``year_to``, ``status_from``, ``status_to``, ``households`` and
        ``share`` (of the households in ``status_from`` in that region and year pair; the shares of one
        ``status_from`` sum to 1).
    """
    by_cols = region_keys(households, by)[:-1]
    frame = households[["household_id", "year"]].assign(status=monitoring_status(households),
                                                        **{f"_{c}": households[c] for c in by_cols})
    pairs = _pairs(frame)
    pairs = pairs.rename(columns={f"_{c}_from": c for c in by_cols})
    keys = [*by_cols, "year_from", "year_to", "status_from", "status_to"]
    out = pairs.groupby(keys, dropna=False, sort=True).size().rename("households").reset_index()
    row = out.groupby(keys[:-1], dropna=False)["households"].transform("sum")
    return out.assign(share=out["households"] / row)


def return_rates(households: pd.DataFrame, by: Sequence[str] = ("county",), thresholds=None) -> pd.DataFrame:
    """Returns to risk per region x year (year = the later year of a consecutive pair).

    Two definitions, both over households observed in years t-1 and t (region of the t-1 record):

    * after elimination: of households ``eliminated`` at t-1, the share ``returned`` (monitored
      again) at t -- ``return_rate_eliminated``;
    * among poverty-exited households (脱贫户): the pool is those with ``household_type``
      poverty_exited at t-1, not under monitoring at t-1, and ``net_income_pc`` >= threshold at t-1
      (with income known in both years); a return at t is ``net_income_pc`` below the year-t threshold
      or newly under monitoring (monitored or returned) at t -- ``return_rate_exited`` (households) and
      ``return_rate_exited_persons`` (persons, size at t-1).

    Returns
    -------
    DataFrame
        By columns, ``year``, ``eliminated_prev``, ``returned_after_elimination``,
        ``return_rate_eliminated``, ``exited_pool``, ``exited_fell_below``,
        ``exited_newly_monitored``, ``exited_returned``, ``return_rate_exited``,
        ``return_rate_exited_persons``.
    """
    by_cols = region_keys(households, by)[:-1]
    require(households, ["household_id", "size", "household_type", "net_income_pc"], "return_rates")
    frame = households[["household_id", "year", "size", "household_type", "net_income_pc"]].assign(
        status=monitoring_status(households), threshold=row_thresholds(households, thresholds),
        **{f"_{c}": households[c] for c in by_cols})
    pairs = _pairs(frame)
    pairs = pairs.rename(columns={**{f"_{c}_from": c for c in by_cols}, "year_to": "year"})
    active = ("monitored", "returned")
    elim_prev = _is(pairs["status_from"], "eliminated")
    pool = _is(pairs["household_type_from"], "poverty_exited") \
        & ~_is(pairs["status_from"], *active) & (pairs["net_income_pc_from"] >= pairs["threshold_from"]) \
        & pairs["net_income_pc_to"].notna()
    pool = pool.astype("boolean").fillna(False).astype(bool)
    fell = pool & (pairs["net_income_pc_to"] < pairs["threshold_to"]).fillna(False)
    newly = pool & _is(pairs["status_to"], *active)
    back = fell | newly
    size = pairs["size_from"].astype("float64")
    parts = pd.DataFrame({"eliminated_prev": elim_prev.astype("int64"),
                          "returned_after_elimination": (elim_prev & _is(pairs["status_to"], "returned")
                                                         ).astype("int64"),
                          "exited_pool": pool.astype("int64"), "exited_fell_below": fell.astype("int64"),
                          "exited_newly_monitored": newly.astype("int64"),
                          "exited_returned": back.astype("int64"),
                          "_pool_persons": size * pool, "_back_persons": size * back})
    out = group_by(parts, pairs, [*by_cols, "year"]).sum()
    out.insert(2, "return_rate_eliminated",
               out["returned_after_elimination"] / out["eliminated_prev"].where(out["eliminated_prev"] > 0))
    out["return_rate_exited"] = out["exited_returned"] / out["exited_pool"].where(out["exited_pool"] > 0)
    out["return_rate_exited_persons"] = out["_back_persons"] / out["_pool_persons"].where(
        out["_pool_persons"] > 0)
    return out.drop(columns=["_pool_persons", "_back_persons"]).reset_index()


# ----------------------------------------------------------------------------------------------------
# risk score and early warning
# ----------------------------------------------------------------------------------------------------
def _check_key(frame: pd.DataFrame, what: str) -> None:
    dup = frame.duplicated(["household_id", "year"])
    if dup.any():
        first = frame.loc[dup, ["household_id", "year"]].iloc[0].tolist()
        raise ValueError(f"{what} needs one row per household_id x year; {int(dup.sum())} duplicate(s), "
                         f"e.g. {first}")


def risk_rules(rules: dict | None = None) -> dict:
    """The risk-score rules of ``analysis/config/risk_score.yaml`` with ``rules`` merged in, checked.

    ``rules`` may hold ``levels`` (replacing the YAML's) and ``indicators`` (name -> rule replacing
    or adding that indicator; None drops it).
    """
    cfg = copy.deepcopy(config.load_yaml("risk_score.yaml"))
    rules = rules or {}
    unknown = set(rules) - {"levels", "indicators"}
    if unknown:
        raise ParameterError(f"risk score rules take only 'levels' and 'indicators'; got {sorted(unknown)}")
    if "levels" in rules:
        cfg["levels"] = rules["levels"]
    for name, spec in (rules.get("indicators") or {}).items():
        if spec is None:
            cfg["indicators"].pop(name, None)
        else:
            cfg["indicators"][name] = spec
    for name, spec in cfg["indicators"].items():
        kinds = [k for k in ("points", "below", "at_least") if k in spec]
        if len(kinds) != 1:
            raise ParameterError(f"risk indicator {name!r} needs exactly one of points, below, at_least")
        if "column" not in spec and name not in DERIVED_RISK:
            raise ParameterError(f"risk indicator {name!r} has no column and is not one of the derived "
                                 f"values {list(DERIVED_RISK)}")
        if kinds[0] != "points" and not (isinstance(spec[kinds[0]], dict) and spec[kinds[0]]):
            raise ParameterError(f"risk indicator {name!r}: {kinds[0]} must map bounds to points, "
                                 "e.g. {1.0: 35, 1.2: 20}")
    levels = cfg["levels"]
    if "default" not in levels or not all({"level", "above"} <= set(b) for b in levels.get("bands", [])):
        raise ParameterError("risk score levels need a default level and bands of {level, above}")
    return cfg


def _derived_risk(households: pd.DataFrame, members: pd.DataFrame | None, names: set[str],
                  thresholds) -> dict[str, pd.Series]:
    """The derived values the rules use (see risk_score.yaml), aligned with ``households``."""
    out = {}
    if "income_ratio" in names:
        require(households, ["net_income_pc"], "the income_ratio risk indicator")
        out["income_ratio"] = households["net_income_pc"].astype("float64") / row_thresholds(
            households, thresholds)
    if "income_drop" in names:
        require(households, ["household_id", "net_income_pc"], "the income_drop risk indicator")
        prev = households[["household_id", "year", "net_income_pc"]].assign(year=households["year"] + 1)
        last = households[["household_id", "year"]].merge(prev, on=["household_id", "year"], how="left")
        last = last["net_income_pc"].astype("float64").set_axis(households.index)
        now = households["net_income_pc"].astype("float64")
        out["income_drop"] = ((last - now) / last).where(last > 0)
    if "rigid_share" in names:
        require(households, ["expense_rigid", "net_income_pc", "size"], "the rigid_share risk indicator")
        rigid = households["expense_rigid"].astype("float64")
        net = households["net_income"].astype("float64") if "net_income" in households else \
            households["net_income_pc"].astype("float64") * households["size"].astype("float64")
        share = (rigid / net).where(net > 0)
        # Rigid spending against no income at all is the most severe case, not an undefined one.
        out["rigid_share"] = share.mask((net <= 0) & (rigid > 0), np.inf).mask((net <= 0) & (rigid == 0), 0.0)
    if "no_labor" in names:
        require(households, ["labor_count"], "the no_labor risk indicator")
        out["no_labor"] = households["labor_count"].astype("Float64").eq(0)
    member_names = {"member_serious_illness", "member_disabled", "member_lost_labor"} & names
    if member_names and members is not None:
        require(members, ["household_id", "year", "health", "labor_skill"], "member risk indicators")
        flags = pd.DataFrame({"household_id": members["household_id"], "year": members["year"],
                              "member_serious_illness": _is(members["health"], "serious_illness"),
                              "member_disabled": _is(members["health"], "disabled"),
                              "member_lost_labor": _is(members["labor_skill"], "lost")})
        flags = flags.groupby(["household_id", "year"]).any()
        joined = households[["household_id", "year"]].merge(flags.reset_index(), on=["household_id", "year"],
                                                            how="left").set_axis(households.index)
        out.update({n: joined[n].astype("boolean") for n in member_names})
    return out


def _indicator_points(value: pd.Series, spec: dict) -> tuple[pd.Series, pd.Series]:
    """Points of one indicator and whether its value was missing."""
    if "points" in spec:
        v = value.astype("boolean")
        return v.fillna(False).astype(bool) * float(spec["points"]), v.isna()
    v = value.astype("float64")
    pts = pd.Series(0.0, index=value.index)
    for bound, points in spec.get("below", spec.get("at_least")).items():
        hit = v < float(bound) if "below" in spec else v >= float(bound)
        pts = np.maximum(pts, hit.fillna(False).astype(bool) * float(points))
    return pts, v.isna()


def risk_score(households: pd.DataFrame, members: pd.DataFrame | None = None, rules: dict | None = None,
               thresholds=None) -> pd.DataFrame:
    """Points-based risk score and warning level of every household-year.

    Each indicator of ``analysis/config/risk_score.yaml`` (income relative to the threshold, fall in
    income, rigid spending share, illness, disability, no labour, disaster, accident, unstable work,
    低保...) adds points; the total sets a warning level (green / yellow / red, red above 30 points by
    default) as in county early-warning platforms that score many indicators and light red above a cut.

    Parameters
    ----------
    households : DataFrame
        Canonical households; the columns the configured indicators need.
    members : DataFrame, optional
        Canonical members; member-based indicators (``member_*``) are scored only when given, and
        dropped from the score otherwise.
    rules : dict, optional
        Overrides, see :func:`risk_rules`.
    thresholds : None, DataFrame or float
        Monitoring thresholds, as in :func:`analysis.measures.poverty.poverty`.

    Returns
    -------
    DataFrame
        ``household_id``, ``year``, geography, ``pts_<indicator>`` per indicator, ``risk_points``,
        ``missing_indicators`` (how many indicators had no value and scored 0) and ``warning``, in the
        row order of ``households``.
    """
    require(households, ["household_id", "year"], "risk_score")
    _check_key(households, "risk_score")
    cfg = risk_rules(rules)
    spec = {n: s for n, s in cfg["indicators"].items()
            if members is not None or not n.startswith("member_") or "column" in s}
    derived = _derived_risk(households, members, {n for n, s in spec.items() if "column" not in s},
                            thresholds)
    out = households[["household_id", "year", *_geo(households)]].copy()
    missing = pd.Series(0, index=households.index)
    for name, s in spec.items():  # a loop over configured indicators, each vectorized over households
        if "column" in s:
            require(households, [s["column"]], f"risk indicator {name!r}")
        value = households[s["column"]] if "column" in s else derived[name]
        out[f"pts_{name}"], miss = _indicator_points(value, s)
        missing += miss.astype("int64")
    out["risk_points"] = out[[f"pts_{n}" for n in spec]].sum(axis=1)
    out["missing_indicators"] = missing
    levels = cfg["levels"]
    warning = pd.Series(levels["default"], index=households.index, dtype="string")
    for band in sorted(levels.get("bands", []), key=lambda b: b["above"]):
        warning = warning.mask(out["risk_points"] > band["above"], band["level"])
    out["warning"] = warning
    return out.reset_index(drop=True)


def auc(outcome, score) -> float:
    """Area under the ROC curve by the Mann-Whitney formula (Hanley & McNeil 1982, Radiology 143(1)).

    AUC = (R1 - n1 (n1 + 1) / 2) / (n1 n0), R1 the sum of the mid-ranks of the n1 positive cases among
    all scores; ties count one half. Missing when either class is empty.
    """
    y = np.asarray(outcome, dtype=bool)
    s = np.asarray(score, dtype=float)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = stats.rankdata(s)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass(frozen=True)
class WarningValidity:
    """Out-of-sample validity of the warning score.

    ``summary``: one row per model (``score``, ``logit``) x sample (``train``, ``test``) with ``n``,
    ``events``, ``event_rate``, ``auc``, ``warned``, ``precision``, ``recall``. ``predictions``: the
    test-year households, who was warned and who fell. ``train_years`` / ``test_year``: the ``year`` of
    the first record of each transition used (year t of the pair t -> t+1). ``logit``: the fitted
    statsmodels results (None when the training years have a single outcome).
    """

    summary: pd.DataFrame
    predictions: pd.DataFrame
    train_years: tuple[int, ...]
    test_year: int
    logit: object | None


def fit_logit(x: pd.DataFrame, y: pd.Series):
    """statsmodels Logit of y on x; columns constant in the training data are dropped."""
    keep = [c for c in x.columns if x[c].nunique() > 1]
    if y.nunique() < 2:
        return None, keep
    design = sm.add_constant(x[keep].astype(float), has_constant="add")
    with warnings.catch_warnings():
        # Perfect separation drives some coefficients far out; the ranking (what AUC uses) stays valid.
        warnings.simplefilter("ignore")
        try:
            return sm.Logit(y.astype(float), design).fit(disp=0, maxiter=200), keep
        except np.linalg.LinAlgError:
            return sm.Logit(y.astype(float), design).fit(disp=0, method="bfgs", maxiter=2000), keep


def _matching_cutoff(prob: np.ndarray, alarms: int) -> float:
    """The probability cutoff (warn when p >= cutoff) whose number of warnings is nearest ``alarms``.

    Fitted probabilities of discrete indicators tie a lot, so an exact match is often impossible; on
    a tie in distance the cutoff giving fewer warnings is taken.
    """
    values, counts = np.unique(prob[~np.isnan(prob)], return_counts=True)
    warned = np.cumsum(counts[::-1])             # warnings when cutting at each value, highest first
    options = np.concatenate([[np.inf], values[::-1]])
    distance = np.abs(np.concatenate([[0], warned]) - alarms)
    return float(options[np.argmin(distance)])


def _classification(fell: pd.Series, warned: pd.Series, score: pd.Series) -> dict:
    hits = int((fell & warned).sum())
    return {"n": len(fell), "events": int(fell.sum()), "event_rate": fell.mean() if len(fell) else np.nan,
            "auc": auc(fell, score), "warned": int(warned.sum()),
            "precision": hits / warned.sum() if warned.sum() else np.nan,
            "recall": hits / fell.sum() if fell.sum() else np.nan}


def warning_validity(households: pd.DataFrame, members: pd.DataFrame | None = None,
                     rules: dict | None = None, thresholds=None, level: str = "red",
                     population: str = "above_threshold") -> WarningValidity:
    """How well the risk score predicts, out of sample, income falling below the threshold next year.

    Event for a household-year t with a record in t+1: ``net_income_pc`` in t+1 is below the
    year-t+1 threshold. The last available transition (t_max -> t_max+1) is the test set; the earlier
    transitions are the training set. The points score has no fitted parameter (its rules come from the
    YAML); a statsmodels Logit on the same indicators (the ``pts_*`` columns) is fitted on the training
    transitions only and scored on the test transition. Discrimination is the AUC (Hanley & McNeil
    1982); at the chosen ``level`` the score's warnings give precision (share of warned who fell) and
    recall (share of those who fell who were warned). For a like-for-like comparison the Logit's
    probability cutoff is fixed on the training years so that it warns as many households there as the
    score did (as near as tied probabilities allow), then applied unchanged to the test year.

    Parameters
    ----------
    households, members, rules, thresholds
        As in :func:`risk_score`.
    level : str
        Warning level counted as a warning (and any level above it).
    population : {"above_threshold", "all"}
        ``above_threshold`` (default) keeps household-years at or above the threshold in t, so the
        event is a fall below it; ``all`` keeps every household-year.

    Returns
    -------
    WarningValidity
    """
    if population not in ("above_threshold", "all"):
        raise ParameterError(f"population must be 'above_threshold' or 'all'; got {population!r}")
    cfg = risk_rules(rules)
    bands = {b["level"]: b["above"] for b in cfg["levels"].get("bands", [])}
    if level not in bands:
        raise ParameterError(f"level must be one of the warning bands {sorted(bands)}; got {level!r}")
    scores = risk_score(households, members, rules, thresholds)
    pts = [c for c in scores.columns if c.startswith("pts_")]
    scores["net_income_pc"] = households["net_income_pc"].astype("float64").to_numpy()
    scores["threshold"] = row_thresholds(households, thresholds).to_numpy()
    nxt = scores[["household_id", "year", "net_income_pc", "threshold"]].assign(year=scores["year"] - 1)
    pairs = scores.merge(nxt, on=["household_id", "year"], suffixes=("", "_next"))
    pairs = pairs[pairs["net_income_pc_next"].notna()]
    if population == "above_threshold":
        pairs = pairs[pairs["net_income_pc"] >= pairs["threshold"]]
    pairs = pairs.assign(year_next=pairs["year"] + 1,
                         fell=(pairs["net_income_pc_next"] < pairs["threshold_next"]).astype(bool),
                         warned=pairs["risk_points"] > bands[level]).reset_index(drop=True)
    years = sorted(int(y) for y in pairs["year"].unique())
    if len(years) < 2:
        raise ParameterError("warning_validity needs households observed in at least three consecutive "
                             f"years (two transitions: earlier ones to fit, the last to test); found "
                             f"transitions from year(s) {years}")
    test_year, train_years = years[-1], tuple(years[:-1])
    train, test = pairs[pairs["year"].isin(train_years)], pairs[pairs["year"] == test_year]
    model, keep = fit_logit(train[pts], train["fell"])
    prob = (lambda f: pd.Series(model.predict(sm.add_constant(f[keep].astype(float), has_constant="add")),
                                index=f.index)) if model is not None else \
        (lambda f: pd.Series(np.nan, index=f.index))
    p_train, p_test = prob(train), prob(test)
    cut = _matching_cutoff(p_train.to_numpy(), int(train["warned"].sum())) if model is not None else np.inf
    rows = []
    for sample, part, p in (("train", train, p_train), ("test", test, p_test)):
        rows.append({"model": "score", "sample": sample,
                     **_classification(part["fell"], part["warned"], part["risk_points"])})
        rows.append({"model": "logit", "sample": sample,
                     **_classification(part["fell"], p >= cut, p)})
    summary = pd.DataFrame(rows)
    summary.insert(2, "years_from", [",".join(map(str, train_years)) if s == "train" else str(test_year)
                                     for s in summary["sample"]])
    outcome = np.select([test["warned"] & test["fell"], test["warned"], test["fell"]],
                        ["hit", "false_alarm", "miss"], "quiet")
    predictions = test.assign(logit_prob=p_test, logit_warned=p_test >= cut, outcome=outcome)
    predictions = predictions[["household_id", "year", "year_next", *_geo(households), "net_income_pc",
                               "threshold", "net_income_pc_next", "threshold_next", *pts, "risk_points",
                               "warning", "warned", "logit_prob", "logit_warned", "fell", "outcome"]]
    return WarningValidity(summary, predictions.reset_index(drop=True), train_years, test_year, model)


# ----------------------------------------------------------------------------------------------------
# small-cell suppression
# ----------------------------------------------------------------------------------------------------
