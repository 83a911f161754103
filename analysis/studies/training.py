"""Training effects: what skills training did for the trained (the study behind ``03-training-impact``).

The effect of training is the average effect on the trained (ATT) under selection on observables,
estimated by :func:`analysis.estimators.impact.att_weighting`: normalised inverse-probability weighting
(Hirano, Imbens & Ridder 2003), the doubly robust estimator of Sant'Anna & Zhao (2020) and one-to-one
propensity-score matching (Rosenbaum & Rubin 1983), as chosen in :class:`TrainingSpec`.

The sample pools the person-years of the working-age labour force (16-64 with labour capacity, as in
:mod:`analysis.measures.labour`) of the chosen years: a person trained in year ``t`` is compared with
persons not trained in ``t``, on employment and wage income in ``t``. Covariates (default): age, age
squared, sex, years of schooling, labour skill, household type, and year indicators (pooled years differ
in wage levels). ``att_weighting`` has no clustering option, so standard errors treat person-years as
independent; a person observed in several years and members of one household are not independent, and
the intervals may be somewhat narrow. The reports say so.

All regions are estimated at once by :func:`run` (build step ``training_effects``: tables
``training_att``, ``training_balance``, ``training_overlap``, ``training_propensity``).

Examples
--------
>>> from analysis.studies import training
>>> spec = training.TrainingSpec(covariates=("age", "age_sq", "female", "education_years"))
>>> tables = training.run(households, members, spec)  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from analysis.core.checks import require_columns
from analysis.estimators import impact
from analysis.measures import labour
from analysis.studies.spec import Spec, check_choice, check_choices, check_count, check_interval, check_share

WORKING_AGE = (16, 64)
#: Years of schooling of each education level (6 primary + 3 junior + 3 senior; vocational school at the
#: senior level; 3 years of college), so that education enters the models as one ordered number.
EDUCATION_YEARS = {"illiterate": 0, "primary": 6, "junior_high": 9, "senior_high": 12, "vocational": 12,
                   "college": 15}
#: Age groups (both ends included) for the heterogeneity analysis.
AGE_GROUPS = {"age_under_40": (16, 39), "age_40_54": (40, 54), "age_55_plus": (55, 64)}
SUBGROUPS = ("all", "male", "female", *AGE_GROUPS)

Covariate = Literal["age", "age_sq", "female", "education_years", "skill_weak", "skill_skilled",
                    "poverty_exited"]
Outcome = Literal["employed", "wage_income"]
Method = Literal["ipw", "dr", "psm"]
Adjustment = Literal["holm", "bonferroni", "fdr_bh", "none"]


@dataclass(frozen=True)
class TrainingSpec(Spec):
    """The specification of the training study; every field is checked when the object is made.

    Attributes
    ----------
    outcomes : tuple of {"employed", "wage_income"}
        Outcomes in the year of training; the first also carries the balance and overlap diagnostics.
    covariates : tuple of str
        Covariates of the propensity score (year indicators are always added).
    methods : tuple of {"ipw", "dr", "psm"}
        Estimators for all trainees.
    heterogeneity_method : {"ipw", "dr", "psm"}
        The one estimator of the subgroup effects (doubly robust by default: consistent if either model
        is right).
    overlap_bounds : (float, float)
        Propensity scores outside these bounds count as outside the common support (Crump, Hotz, Imbens
        & Mitnik 2009 trim at 0.1/0.9; the wider default band flags only clear trouble).
    max_share_outside : float
        Share of units outside ``overlap_bounds`` that counts as poor overlap.
    max_smd : float
        Largest acceptable absolute standardized mean difference after weighting (Austin 2009).
    min_trained, min_untrained, min_households : int
        Fewest trained and untrained person-years, and trainee households, for an estimate to be made.
    adjustment : {"holm", "bonferroni", "fdr_bh", "none"}
        Multiple-testing adjustment of p-values within each family of tests.
    ps_bins : int
        Bins of the propensity-score histogram.
    """

    outcomes: tuple[str, ...] = ("employed", "wage_income")
    covariates: tuple[str, ...] = ("age", "age_sq", "female", "education_years", "skill_weak", "skill_skilled",
                                   "poverty_exited")
    methods: tuple[str, ...] = ("ipw", "dr", "psm")
    heterogeneity_method: str = "dr"
    overlap_bounds: tuple[float, float] = (0.05, 0.95)
    max_share_outside: float = 0.10
    max_smd: float = 0.10
    min_trained: int = 30
    min_untrained: int = 30
    min_households: int = 5
    adjustment: str = "holm"
    ps_bins: int = 20

    def __post_init__(self):
        for name in ("outcomes", "covariates", "methods"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if isinstance(self.overlap_bounds, list):
            object.__setattr__(self, "overlap_bounds", tuple(self.overlap_bounds))
        check_choices(self, "outcomes", Outcome)
        check_choices(self, "covariates", Covariate)
        check_choices(self, "methods", Method)
        check_choice(self, "heterogeneity_method", Method)
        check_interval(self, "overlap_bounds")
        check_share(self, "max_share_outside")
        check_share(self, "max_smd")
        for name in ("min_trained", "min_untrained", "min_households"):
            check_count(self, name, minimum=1)
        check_choice(self, "adjustment", Adjustment)
        check_count(self, "ps_bins", minimum=2)


# --------------------------------------------------------------------------- the estimation sample
def person_years(households: pd.DataFrame, members: pd.DataFrame, first: int | None = None,
                 last: int | None = None, spec: TrainingSpec = TrainingSpec()) -> tuple[pd.DataFrame, int]:
    """Working-age labour-force person-years with treatment, outcomes and covariates.

    Returns the frame (``prefecture``, ``county``, ``household_id``, ``year``, ``trained``, the
    ``spec.outcomes``, every candidate covariate and ``sex``) and the number of labour-force person-years set aside
    because a used value is missing.
    """
    needs = ["household_id", "year", "prefecture", "county", "age", "sex", "education", "labor_skill",
             "employed", "wage_income", "trained"]
    require_columns(members, needs, "members, to estimate the effect of training")
    years = members["year"]
    keep = (years >= (first if first is not None else years.min())) & (years <= (last if last is not None
                                                                               else years.max()))
    m = members.loc[keep.to_numpy(dtype=bool, na_value=False), needs]
    age = pd.to_numeric(m["age"]).astype(float)
    skill = m["labor_skill"].astype("string").str.strip()
    labour_force = (age.between(*WORKING_AGE) & skill.notna() & ~skill.isin(labour.NO_LABOUR_CAPACITY))
    m = m[labour_force.to_numpy(dtype=bool, na_value=False)]
    kind = households[["household_id", "year", "household_type"]].drop_duplicates(["household_id", "year"])
    m = m.merge(kind, on=["household_id", "year"], how="left", validate="many_to_one")
    age = pd.to_numeric(m["age"]).astype(float)
    skill = m["labor_skill"].astype("string").str.strip()
    sex = m["sex"].astype("string").str.strip()
    frame = pd.DataFrame({
        "prefecture": m["prefecture"], "county": m["county"], "household_id": m["household_id"],
        "year": m["year"].astype("int64"), "sex": sex,
        "trained": m["trained"].astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        "employed": m["employed"].astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        "wage_income": pd.to_numeric(m["wage_income"]).astype(float),
        "age": age, "age_sq": age ** 2 / 100,
        "female": sex.map({"female": 1.0, "male": 0.0}).astype(float),
        "education_years": m["education"].astype("string").str.strip().map(EDUCATION_YEARS).astype(float),
        "skill_weak": (skill == "weak").astype(float), "skill_skilled": (skill == "skilled").astype(float),
        "poverty_exited": m["household_type"].astype("string").map({"poverty_exited": 1.0, "general": 0.0})
        .astype(float),
    })
    complete = frame[["trained", *spec.outcomes, *spec.covariates]].notna().all(axis=1)
    return frame[complete].reset_index(drop=True), int((~complete).sum())


def _subgroup(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if name in ("male", "female"):
        return frame[frame["sex"] == name]
    if name in AGE_GROUPS:
        low, high = AGE_GROUPS[name]
        return frame[frame["age"].between(low, high)]
    return frame


def _design(frame: pd.DataFrame, spec: TrainingSpec) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The frame ready for the estimators, the covariates used, and the named (non-year) ones among them.

    Year indicators are added. A 0/1 covariate with a value that no trainee has (e.g. no skilled
    labourer over 55 trained) would separate the arms perfectly; the untrained with that value have no
    trained counterpart and carry no weight in an effect on the trained, so they are left out (exact
    common support; counted in ``controls_off_support``). A value that no untrained person has leaves
    the covariate out. Covariates that do not vary are left out.
    """
    years = sorted(frame["year"].unique())
    dummies = {f"year_{y}": (frame["year"] == y).astype(float) for y in years[1:]}
    work = frame.assign(**dummies)
    trained = (work["trained"] == 1).to_numpy()
    off, dropped = np.zeros(len(work), dtype=bool), set()
    for c in (*spec.covariates, *dummies):
        values = work[c]
        if not values.isin([0.0, 1.0]).all():
            continue
        for level in (0.0, 1.0):
            at = (values == level).to_numpy()
            if at.any() and not (at & trained).any():
                off |= at
            elif at.any() and not (at & ~trained).any():
                dropped.add(c)
    work = work[~off].assign(controls_off_support=int(off.sum()))
    covs = [c for c in (*spec.covariates, *dummies) if c not in dropped and work[c].nunique() > 1]
    return work, covs, [c for c in spec.covariates if c in covs]


# --------------------------------------------------------------------------- one region
def _counts(frame: pd.DataFrame) -> dict:
    trained = frame["trained"] == 1
    return {"n_obs": len(frame), "n_treated": int(trained.sum()), "n_control": int((~trained).sum()),
            "n_treated_households": int(frame.loc[trained, "household_id"].nunique())}


def _off_support(work: pd.DataFrame) -> int:
    return int(work["controls_off_support"].iloc[0]) if len(work) else 0


def _enough(counts: dict, spec: TrainingSpec) -> bool:
    return (counts["n_treated"] >= spec.min_trained and counts["n_control"] >= spec.min_untrained
            and counts["n_treated_households"] >= spec.min_households)


#: The columns of ``Estimate.tidy()`` the ATT table keeps.
TIDY_FIELDS = ("estimate", "std_error", "conf_low", "conf_high", "p_value")


def _estimate(work: pd.DataFrame, covs: list[str], outcome: str, method: str) -> tuple[dict, object]:
    try:
        est = impact.att_weighting(work, outcome, "trained", covs, method=method)
    except ValueError as err:
        return {"status": "failed", "note": str(err)}, None
    row = est.tidy().iloc[0]
    return {"status": "ok", "note": "", **{c: float(row[c]) for c in TIDY_FIELDS}}, est


def _propensity(estimates: dict) -> np.ndarray | None:
    """The propensity scores ``att_weighting`` fitted on the whole sample (the same logit for every
    method), for the overlap diagnostics; None when no estimate was made."""
    fitted = [est.propensity for est in estimates.values() if est is not None and est.propensity is not None]
    return fitted[0] if fitted else None


def region_effects(frame: pd.DataFrame, spec: TrainingSpec = TrainingSpec()) -> dict[str, pd.DataFrame]:
    """ATT of training by estimator, outcome and subgroup, balance and overlap, for one region's rows.

    Returns ``att`` (one row per subgroup x outcome x method with the counts, ``status`` ``ok`` /
    ``too_few`` / ``failed`` and Holm-adjusted ``p_holm``), ``balance`` (named covariates: means, SMD
    before, after IPW/DR weights and after matching), ``overlap`` (one row) and ``propensity``
    (histogram of the scores by arm).
    """
    rows, kept = [], {}
    for subgroup in SUBGROUPS:
        work, covs, _ = _design(_subgroup(frame, subgroup), spec)
        counts = {**_counts(work), "controls_off_support": _off_support(work)}
        methods = spec.methods if subgroup == "all" else (spec.heterogeneity_method,)
        for outcome in spec.outcomes:
            for method in methods:
                base = {"subgroup": subgroup, "outcome": outcome, "method": method, **counts}
                if not _enough(counts, spec):
                    rows.append({**base, "status": "too_few", "note": ""})
                    continue
                row, est = _estimate(work, covs, outcome, method)
                rows.append({**base, **row})
                if subgroup == "all" and outcome == spec.outcomes[0]:
                    kept[method] = est
    att = _adjust(pd.DataFrame(rows).reindex(columns=ATT_COLUMNS), spec.adjustment)
    work, covs, named = _design(frame, spec)
    balance = _balance(kept, named)
    scores = _propensity(kept)
    return {"att": att, "balance": balance, "overlap": _overlap(work, scores, kept, spec),
            "propensity": _histogram(work, scores, spec.ps_bins)}


ATT_COLUMNS = ["subgroup", "outcome", "method", "estimate", "std_error", "conf_low", "conf_high", "p_value",
               "p_holm", "family", "n_obs", "n_treated", "n_control", "n_treated_households",
               "controls_off_support", "status", "note"]


def _adjust(att: pd.DataFrame, method: str) -> pd.DataFrame:
    """Adjusted p-values (column ``p_holm``, by ``method`` of statsmodels' ``multipletests``) within each
    family: the outcomes of one estimator (all trainees), and all subgroup x outcome tests of the
    heterogeneity analysis."""
    family = np.where(att["subgroup"] == "all", "outcomes_" + att["method"].astype(str), "heterogeneity")
    att = att.assign(family=family, p_holm=np.nan)
    ok = att["p_value"].notna()
    if method == "none":
        return att.assign(p_holm=att["p_value"])
    for _, index in att[ok].groupby("family").groups.items():
        att.loc[index, "p_holm"] = multipletests(att.loc[index, "p_value"].to_numpy(dtype=float),
                                                 method=method)[1]
    return att


def _balance(estimates: dict, named: list[str]) -> pd.DataFrame:
    columns = ["covariate", "mean_treated", "mean_control", "smd_before", "smd_after_ipw", "smd_after_psm"]
    if estimates.get("ipw") is None:
        return pd.DataFrame(columns=columns)
    ipw = estimates["ipw"].balance.set_index("covariate")
    out = ipw.loc[named, ["mean_treated", "mean_control", "smd_before"]].assign(
        smd_after_ipw=ipw.loc[named, "smd_after"])
    psm = estimates.get("psm")
    out["smd_after_psm"] = (psm.balance.set_index("covariate").loc[named, "smd_after"] if psm is not None
                            else np.nan)
    return out.reset_index()[columns]


def _overlap(work: pd.DataFrame, scores, estimates: dict, spec: TrainingSpec) -> pd.DataFrame:
    counts = {**_counts(work), "controls_off_support": _off_support(work)}
    low, high = spec.overlap_bounds
    outside = float(np.mean((scores < low) | (scores > high))) if scores is not None else np.nan

    def worst(method):
        est = estimates.get(method)
        return float(est.balance["smd_after"].abs().max()) if est is not None else np.nan

    smd_ipw, smd_psm = worst("ipw"), worst("psm")
    return pd.DataFrame([{**counts, "enough": _enough(counts, spec), "share_outside": outside,
                          "max_smd_after_ipw": smd_ipw, "max_smd_after_psm": smd_psm,
                          "poor_overlap": bool(outside > spec.max_share_outside or smd_ipw > spec.max_smd),
                          "psm_imbalance": bool(smd_psm > spec.max_smd)}])


def _histogram(work: pd.DataFrame, scores, bins: int) -> pd.DataFrame:
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for arm, value in (("trained", 1.0), ("untrained", 0.0)):
        counts = (np.histogram(scores[work["trained"].to_numpy() == value], bins=edges)[0]
                  if scores is not None else np.zeros(bins, dtype=int))
        rows.append(pd.DataFrame({"arm": arm, "bin_low": edges[:-1], "bin_high": edges[1:], "units": counts}))
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- all regions
def training_effects(households: pd.DataFrame, members: pd.DataFrame, first: int | None = None,
                     last: int | None = None, counties: list[str] | None = None,
                     spec: TrainingSpec = TrainingSpec()) -> dict[str, pd.DataFrame]:
    """:func:`region_effects` for every county and every prefecture, stacked into four tables.

    Each table has ``prefecture``, ``county`` (missing for prefecture rows), ``scope`` (``county`` /
    ``prefecture``), ``year`` (the last year pooled), ``first_year``, ``last_year`` and
    ``incomplete`` (labour-force person-years set aside for a missing value, whole prefecture).
    ``counties`` limits the county rows to those named.
    """
    frame, incomplete = person_years(households, members, first, last, spec)
    out: dict[str, list] = {"att": [], "balance": [], "overlap": [], "propensity": []}
    if frame.empty:
        return {k: pd.DataFrame() for k in out}
    first_year, last_year = int(frame["year"].min()), int(frame["year"].max())
    county_rows = frame if counties is None else frame[frame["county"].isin(counties)]
    for scope, part_frame, by in (("county", county_rows, ["prefecture", "county"]),
                                  ("prefecture", frame, ["prefecture"])):
        for key, part in part_frame.groupby(by, observed=True, sort=True):
            key = key if isinstance(key, tuple) else (key,)
            tags = {"prefecture": key[0], "county": key[1] if scope == "county" else pd.NA, "scope": scope,
                    "year": last_year, "first_year": first_year, "last_year": last_year,
                    "incomplete": incomplete}
            for name, table in region_effects(part, spec).items():
                out[name].append(table.assign(**tags))
    return {name: _tags_first(pd.concat(frames, ignore_index=True)) for name, frames in out.items()}


def _tags_first(table: pd.DataFrame) -> pd.DataFrame:
    tags = ["prefecture", "county", "scope", "year", "first_year", "last_year", "incomplete"]
    table["county"] = table["county"].astype("string")
    return table[tags + [c for c in table.columns if c not in tags]]


def training_types(households: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Trainees by type per county x year (:func:`analysis.measures.labour.training_by_type`) with the number of
    trainee households, for suppressing small cells."""
    table = labour.training_by_type(members, by=("prefecture", "county"))
    trained = members[members["trained"].astype("boolean").to_numpy(dtype=bool, na_value=False)]
    kind = (trained["training_type"].astype("string").str.strip().replace("", pd.NA)
            .fillna(labour.UNSPECIFIED_TYPE))
    homes = (trained.assign(training_type=kind)
             .groupby(["prefecture", "county", "year", "training_type"], observed=True)["household_id"].nunique()
             .rename("trainee_households").reset_index())
    table = table.merge(homes, on=["prefecture", "county", "year", "training_type"], how="left")
    table["trainee_households"] = table["trainee_households"].fillna(0).astype("int64")
    return table


def run(households: pd.DataFrame, members: pd.DataFrame, spec: TrainingSpec = TrainingSpec(),
        first: int | None = None, last: int | None = None, counties: list[str] | None = None
        ) -> dict[str, pd.DataFrame]:
    """The training study for all regions: ``training_att``, ``training_balance``, ``training_overlap``
    and ``training_propensity`` (see :func:`training_effects`)."""
    effects = training_effects(households, members, first, last, counties, spec)
    return {f"training_{name}": table for name, table in effects.items()}
