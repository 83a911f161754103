"""The training report (notebook ``03-training-impact``): who was trained, and what training did.

Who was trained comes from :func:`analysis.measures.labour.training` and :func:`analysis.measures.labour.training_by_type`.
The effect of training is the average effect on the trained (ATT) under selection on observables,
estimated three ways by :func:`analysis.estimators.impact.att_weighting`: normalised inverse-probability weighting
(Hirano, Imbens & Ridder 2003), the doubly robust estimator of Sant'Anna & Zhao (2020) and one-to-one
propensity-score matching (Rosenbaum & Rubin 1983).

The sample pools the person-years of the working-age labour force (16-64 with labour capacity, as in
:mod:`analysis.measures.labour`) of the report's years: a person trained in year ``t`` is compared with persons not
trained in ``t``, on employment and wage income in ``t``. Covariates: age, age squared, sex, years of
schooling, labour skill, household type, and year indicators (pooled years differ in wage levels).
``att_weighting`` has no clustering option, so standard errors treat person-years as independent; a
person observed in several years and members of one household are not independent, and the intervals
may be somewhat narrow. The reports say so.

All regions are estimated at once in :func:`training_effects` (result tables ``training_att``,
``training_balance``, ``training_overlap``, ``training_propensity``); a notebook asking for other years
than the stored ones re-estimates its own county and prefecture.
"""
from __future__ import annotations

import weakref
from functools import lru_cache

import numpy as np
import pandas as pd
from IPython.display import Markdown
from statsmodels.stats.multitest import multipletests

from analysis.io import data
from analysis.estimators import impact
from analysis import labels, plots_labour, results
from analysis.measures import labour
from analysis.config import min_households
from analysis.measures.monitoring import suppress_small
from analysis.report import Context
from analysis.report_employment import NOWRAP, join, p_format, p_text

WORKING_AGE = (16, 64)
#: Years of schooling of each education level (6 primary + 3 junior + 3 senior; vocational school at the
#: senior level; 3 years of college), so that education enters the models as one ordered number.
EDUCATION_YEARS = {"illiterate": 0, "primary": 6, "junior_high": 9, "senior_high": 12, "vocational": 12,
                   "college": 15}
COVARIATES = ("age", "age_sq", "female", "education_years", "skill_weak", "skill_skilled", "poverty_exited")
OUTCOMES = ("employed", "wage_income")
METHODS = ("ipw", "dr", "psm")
#: Subgroup effects use one estimator, the doubly robust one (consistent if either model is right).
HETEROGENEITY_METHOD = "dr"
#: Age groups (both ends included) for the heterogeneity analysis.
AGE_GROUPS = {"age_under_40": (16, 39), "age_40_54": (40, 54), "age_55_plus": (55, 64)}
SUBGROUPS = ("all", "male", "female", *AGE_GROUPS)
#: Fewest trained and untrained person-years, and trainee households, for an estimate to be made.
MIN_TRAINED = 30
MIN_UNTRAINED = 30
MIN_HOUSEHOLDS = 5
#: Overlap diagnostics: propensity scores outside these bounds (Crump, Hotz, Imbens & Mitnik 2009 trim at
#: 0.1/0.9; the wider band flags only clear trouble), the share of units outside that counts as "many",
#: and the largest acceptable absolute standardized mean difference after weighting (Austin 2009).
OVERLAP_BOUNDS = (0.05, 0.95)
MAX_SHARE_OUTSIDE = 0.10
MAX_SMD = 0.10
PS_BINS = 20


# --------------------------------------------------------------------------- the estimation sample
def person_years(households: pd.DataFrame, members: pd.DataFrame, first: int | None = None,
                 last: int | None = None) -> tuple[pd.DataFrame, int]:
    """Working-age labour-force person-years with treatment, outcomes and covariates.

    Returns the frame (``prefecture``, ``county``, ``household_id``, ``year``, ``trained``, the
    ``OUTCOMES``, the ``COVARIATES`` and ``sex``) and the number of labour-force person-years set aside
    because a used value is missing.
    """
    needs = ["household_id", "year", "prefecture", "county", "age", "sex", "education", "labor_skill",
             "employed", "wage_income", "trained"]
    missing = [c for c in needs if c not in members.columns]
    if missing:
        raise ValueError(f"members lacks column(s) {missing} needed to estimate the effect of training")
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
    complete = frame[["trained", *OUTCOMES, *COVARIATES]].notna().all(axis=1)
    return frame[complete].reset_index(drop=True), int((~complete).sum())


def _subgroup(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if name in ("male", "female"):
        return frame[frame["sex"] == name]
    if name in AGE_GROUPS:
        low, high = AGE_GROUPS[name]
        return frame[frame["age"].between(low, high)]
    return frame


def _design(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
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
    for c in (*COVARIATES, *dummies):
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
    covs = [c for c in (*COVARIATES, *dummies) if c not in dropped and work[c].nunique() > 1]
    return work, covs, [c for c in COVARIATES if c in covs]


# --------------------------------------------------------------------------- one region
def _counts(frame: pd.DataFrame) -> dict:
    trained = frame["trained"] == 1
    return {"n_obs": len(frame), "n_treated": int(trained.sum()), "n_control": int((~trained).sum()),
            "n_treated_households": int(frame.loc[trained, "household_id"].nunique())}


def _off_support(work: pd.DataFrame) -> int:
    return int(work["controls_off_support"].iloc[0]) if len(work) else 0


def _enough(counts: dict) -> bool:
    return (counts["n_treated"] >= MIN_TRAINED and counts["n_control"] >= MIN_UNTRAINED
            and counts["n_treated_households"] >= MIN_HOUSEHOLDS)


def _estimate(work: pd.DataFrame, covs: list[str], outcome: str, method: str) -> tuple[dict, object]:
    try:
        est = impact.att_weighting(work, outcome, "trained", covs, method=method)
    except ValueError as err:
        return {"status": "failed", "note": str(err)}, None
    low, high = est.conf_int
    return {"status": "ok", "note": "", "estimate": est.estimate, "std_error": est.std_error,
            "conf_low": low, "conf_high": high, "p_value": est.p_value}, est


def _propensity(work: pd.DataFrame, covs: list[str]) -> np.ndarray | None:
    """Fitted logit propensity scores for the overlap diagnostics (the model of ``att_weighting``)."""
    import statsmodels.api as sm

    x = np.column_stack([np.ones(len(work))] + [work[c].to_numpy(dtype=float) for c in covs])
    try:
        fit = sm.Logit(work["trained"].to_numpy(dtype=float), x).fit(disp=0, method="newton", maxiter=100)
    except (np.linalg.LinAlgError, ValueError):
        return None
    return np.asarray(fit.predict(x))


def region_effects(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """ATT of training by estimator, outcome and subgroup, balance and overlap, for one region's rows.

    Returns ``att`` (one row per subgroup x outcome x method with the counts, ``status`` ``ok`` /
    ``too_few`` / ``failed`` and Holm-adjusted ``p_holm``), ``balance`` (named covariates: means, SMD
    before, after IPW/DR weights and after matching), ``overlap`` (one row) and ``propensity``
    (histogram of the scores by arm).
    """
    rows, kept = [], {}
    for subgroup in SUBGROUPS:
        work, covs, _ = _design(_subgroup(frame, subgroup))
        counts = {**_counts(work), "controls_off_support": _off_support(work)}
        methods = METHODS if subgroup == "all" else (HETEROGENEITY_METHOD,)
        for outcome in OUTCOMES:
            for method in methods:
                base = {"subgroup": subgroup, "outcome": outcome, "method": method, **counts}
                if not _enough(counts):
                    rows.append({**base, "status": "too_few", "note": ""})
                    continue
                row, est = _estimate(work, covs, outcome, method)
                rows.append({**base, **row})
                if subgroup == "all" and outcome == OUTCOMES[0]:
                    kept[method] = est
    att = _holm(pd.DataFrame(rows).reindex(columns=ATT_COLUMNS))
    work, covs, named = _design(frame)
    balance = _balance(kept, named)
    scores = _propensity(work, covs) if _enough(_counts(work)) and covs else None
    return {"att": att, "balance": balance, "overlap": _overlap(work, scores, kept),
            "propensity": _histogram(work, scores)}


ATT_COLUMNS = ["subgroup", "outcome", "method", "estimate", "std_error", "conf_low", "conf_high", "p_value",
               "p_holm", "family", "n_obs", "n_treated", "n_control", "n_treated_households",
               "controls_off_support", "status", "note"]


def _holm(att: pd.DataFrame) -> pd.DataFrame:
    """Holm-adjusted p-values within each family: the two outcomes of one estimator (all trainees), and
    all subgroup x outcome tests of the heterogeneity analysis."""
    family = np.where(att["subgroup"] == "all", "outcomes_" + att["method"].astype(str), "heterogeneity")
    att = att.assign(family=family, p_holm=np.nan)
    ok = att["p_value"].notna()
    for _, index in att[ok].groupby("family").groups.items():
        att.loc[index, "p_holm"] = multipletests(att.loc[index, "p_value"].to_numpy(dtype=float),
                                                 method="holm")[1]
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


def _overlap(work: pd.DataFrame, scores, estimates: dict) -> pd.DataFrame:
    counts = {**_counts(work), "controls_off_support": _off_support(work)}
    low, high = OVERLAP_BOUNDS
    outside = float(np.mean((scores < low) | (scores > high))) if scores is not None else np.nan

    def worst(method):
        est = estimates.get(method)
        return float(est.balance["smd_after"].abs().max()) if est is not None else np.nan

    smd_ipw, smd_psm = worst("ipw"), worst("psm")
    return pd.DataFrame([{**counts, "enough": _enough(counts), "share_outside": outside,
                          "max_smd_after_ipw": smd_ipw, "max_smd_after_psm": smd_psm,
                          "poor_overlap": bool(outside > MAX_SHARE_OUTSIDE or smd_ipw > MAX_SMD),
                          "psm_imbalance": bool(smd_psm > MAX_SMD)}])


def _histogram(work: pd.DataFrame, scores) -> pd.DataFrame:
    edges = np.linspace(0, 1, PS_BINS + 1)
    rows = []
    for arm, value in (("trained", 1.0), ("untrained", 0.0)):
        counts = (np.histogram(scores[work["trained"].to_numpy() == value], bins=edges)[0]
                  if scores is not None else np.zeros(PS_BINS, dtype=int))
        rows.append(pd.DataFrame({"arm": arm, "bin_low": edges[:-1], "bin_high": edges[1:], "units": counts}))
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- all regions
def training_effects(households: pd.DataFrame, members: pd.DataFrame, first: int | None = None,
                     last: int | None = None, counties: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """:func:`region_effects` for every county and every prefecture, stacked into four tables.

    Each table has ``prefecture``, ``county`` (missing for prefecture rows), ``scope`` (``county`` /
    ``prefecture``), ``year`` (the last year pooled), ``first_year``, ``last_year`` and
    ``incomplete`` (labour-force person-years set aside for a missing value, whole prefecture).
    ``counties`` limits the county rows to those named.
    """
    frame, incomplete = person_years(households, members, first, last)
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
            for name, table in region_effects(part).items():
                out[name].append(table.assign(**tags))
    return {name: _tags_first(pd.concat(frames, ignore_index=True)) for name, frames in out.items()}


def _tags_first(table: pd.DataFrame) -> pd.DataFrame:
    tags = ["prefecture", "county", "scope", "year", "first_year", "last_year", "incomplete"]
    table["county"] = table["county"].astype("string")
    return table[tags + [c for c in table.columns if c not in tags]]


# The four effect tables come from one computation; results.build() hands the same two frames to each
# table function in turn, so the result is kept for as long as those very frames are alive.
_LAST: list = []


def _effects_for_build(households: pd.DataFrame, members: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if _LAST and _LAST[0]() is households and _LAST[1]() is members:
        return _LAST[2]
    effects = training_effects(households, members)
    _LAST[:] = [weakref.ref(households), weakref.ref(members), effects]
    return effects


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


RESULT_TABLES = {
    "training_prefecture": lambda h, m: labour.training(m, by=("prefecture",)),
    "training_types": training_types,
    "training_att": lambda h, m: _effects_for_build(h, m)["att"],
    "training_balance": lambda h, m: _effects_for_build(h, m)["balance"],
    "training_overlap": lambda h, m: _effects_for_build(h, m)["overlap"],
    "training_propensity": lambda h, m: _effects_for_build(h, m)["propensity"],
}


# --------------------------------------------------------------------------- the notebook
@lru_cache(maxsize=4)
def _effects(ctx: Context) -> dict[str, pd.DataFrame]:
    """The stored effect tables of the county and its prefecture, or fresh ones for other years."""
    stored = {name: results.load(f"training_{name}", ctx.data_dir)
              for name in ("att", "balance", "overlap", "propensity")}
    att = stored["att"]
    att = att[att["prefecture"] == ctx.prefecture] if "prefecture" in att.columns else att
    same_years = (not att.empty and ctx.first <= int(att["first_year"].iloc[0])
                  and ctx.last >= int(att["last_year"].iloc[0]))
    if not same_years:
        households = data.load("households", ctx.data_dir, region=ctx.prefecture, level="prefecture",
                               columns=["household_id", "year", "household_type"])
        members = data.load("members", ctx.data_dir, region=ctx.prefecture, level="prefecture")
        stored = training_effects(households, members, ctx.first, ctx.last, counties=[ctx.region])
    mine = {}
    for name, table in stored.items():
        if table.empty:
            mine[name] = table
            continue
        scope = table["scope"].to_numpy()
        county = table["county"].eq(ctx.region).fillna(False).to_numpy(dtype=bool)
        keep = (table["prefecture"] == ctx.prefecture).to_numpy() & ((scope == "prefecture") | county)
        mine[name] = table[keep].reset_index(drop=True)
    return mine


def _scope(table: pd.DataFrame, scope: str) -> pd.DataFrame:
    if table.empty:
        return table
    return table[table["scope"] == scope].reset_index(drop=True)


def _training(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    region = ctx.slice(results.load("training", ctx.data_dir, region=ctx.region))
    pref = results.load("training_prefecture", ctx.data_dir)
    types = ctx.slice(results.load("training_types", ctx.data_dir, region=ctx.region))
    return region, ctx.slice(pref[pref["prefecture"] == ctx.prefecture]), types


def training_summary(ctx: Context) -> Markdown:
    """Trainees, certificates and last year's trainees at work this year, in plain words."""
    region, _, _ = _training(ctx)
    heading = f"## {labels.text('training.h_overview', ctx.lang)}"
    if region.empty:
        return Markdown(f"{heading}\n\n{labels.text('training.no_data', ctx.lang)}")
    last = region.iloc[-1]
    parts = [labels.text("training.summary", ctx.lang, region=ctx.region, year=int(last["year"]),
                         trained=int(last["trained"]), share=last["trained_share"],
                         certified=int(last["certified"]), cert_share=last["certified_share"],
                         total=int(region["trained"].sum()), first=int(region["year"].iloc[0]))]
    if pd.notna(last["trainees_employed_next_year_share"]):
        parts.append(labels.text("training.follow_up", ctx.lang, previous=int(last["year"]) - 1,
                                 year=int(last["year"]), share=last["trainees_employed_next_year_share"],
                                 followed=int(last["trainees_followed_up"])))
    return Markdown(f"{heading}\n\n{join(parts, ctx.lang)}")


def _masked_types(types: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Trainees by type with the counts of types whose trainees come from 1-4 households blanked."""
    small = types["trainee_households"].between(1, min_households() - 1)
    return types.assign(trained=types["trained"].astype("Float64").mask(small)), small


def trainees_figure(ctx: Context):
    region, pref, types = _training(ctx)
    return plots_labour.trainees(_masked_types(types)[0], region, pref, ctx.region, ctx.lang)


TRAINING_COLUMNS = ["year", "households", "labour_force", "trained", "trained_share", "certified",
                    "certified_share", "trainees_last_year", "trainees_employed_next_year",
                    "trainees_employed_next_year_share"]


def _indicator_table(ctx: Context) -> tuple[pd.DataFrame, bool]:
    """Trainee indicators by year with one column of trainees per type, and whether any cell is blanked.

    A type's count is blanked when its trainees come from 1-4 households (a zero describes nobody)."""
    region, _, types = _training(ctx)
    homes = ctx.slice(results.load("income_growth", ctx.data_dir, region=ctx.region))[["year", "households"]]
    table = suppress_small(region.merge(homes, on="year", how="left")[TRAINING_COLUMNS], "households",
                           k=min_households())
    counts, small = _masked_types(types)
    wide = counts.pivot(index="year", columns="training_type", values="trained").reset_index()
    wide.columns = ["year", *[str(c) for c in wide.columns[1:]]]
    return table.merge(wide, on="year", how="left"), bool(small.any() or table["suppressed"].any())


def training_table(ctx: Context):
    """Trainees by year and type, labelled; cells describing fewer than five households are blanked."""
    table, suppressed = _indicator_table(ctx)
    shown = labels.rename_columns(table.drop(columns="suppressed"), ctx.lang)
    shares = [labels.text(f"columns.{c}", ctx.lang) for c in TRAINING_COLUMNS if c.endswith("share")]
    counts = [c for c in shown.columns if c not in shares and c != labels.text("columns.year", ctx.lang)]
    caption = labels.text("training.table_caption", ctx.lang)
    if suppressed:
        caption = f"{caption} {labels.text('training.suppressed_note', ctx.lang, k=min_households())}"
    return (shown.style.hide(axis="index").set_table_styles(NOWRAP).format("{:,.0f}", subset=counts, na_rep="–")
            .format("{:.1%}", subset=shares, na_rep="–").set_caption(caption))


def _overall(ctx: Context, scope: str = "county") -> pd.Series | None:
    overlap = _scope(_effects(ctx)["overlap"], scope)
    return overlap.iloc[0] if len(overlap) else None


def training_design(ctx: Context) -> Markdown:
    """The estimation sample and method in plain words, with warnings on sample size and overlap."""
    effects = _effects(ctx)
    overlap = _overall(ctx)
    att = _scope(effects["att"], "county")
    heading = f"## {labels.text('training.h_effects', ctx.lang)}"
    if overlap is None:
        return Markdown(f"{heading}\n\n{labels.text('training.no_sample', ctx.lang, region=ctx.region)}")
    parts = [heading, labels.text("training.design", ctx.lang, first=int(att["first_year"].iloc[0]),
                         last=int(att["last_year"].iloc[0]), n_obs=int(overlap["n_obs"]),
                         n_treated=int(overlap["n_treated"]), households=int(overlap["n_treated_households"])),
             labels.text("training.covariates", ctx.lang), labels.text("training.standard_errors", ctx.lang),
             labels.text("training.holm", ctx.lang)]
    if int(att["incomplete"].iloc[0]):
        parts.append(labels.text("training.incomplete", ctx.lang, n=int(att["incomplete"].iloc[0])))
    warnings_ = []
    if not bool(overlap["enough"]):
        warnings_.append(labels.text("training.too_few", ctx.lang, region=ctx.region, min_trained=MIN_TRAINED,
                                     min_untrained=MIN_UNTRAINED, min_households=MIN_HOUSEHOLDS))
    elif bool(overlap["poor_overlap"]):
        warnings_.append(labels.text("training.poor_overlap", ctx.lang, share=overlap["share_outside"],
                                     low=OVERLAP_BOUNDS[0], high=OVERLAP_BOUNDS[1],
                                     smd=overlap["max_smd_after_ipw"], max_smd=MAX_SMD))
    if bool(overlap["enough"]) and bool(overlap["psm_imbalance"]):
        warnings_.append(labels.text("training.psm_imbalance", ctx.lang, smd=overlap["max_smd_after_psm"],
                                     max_smd=MAX_SMD))
    failed = att[att["status"] == "failed"]
    if len(failed):
        warnings_.append(labels.text("training.failed", ctx.lang, n=len(failed), error=failed["note"].iloc[0]))
    parts += [f"> **{labels.text('training.warning', ctx.lang)}** {w}" for w in warnings_]
    return Markdown("\n\n".join(parts))


def _covariate_label(name: str, lang: str) -> str:
    return labels.text(f"training.covariate_{name}", lang)


def balance_table(ctx: Context):
    """Covariate means and standardized mean differences before and after weighting, for the county."""
    table = _scope(_effects(ctx)["balance"], "county")
    if table.empty:
        return Markdown(labels.text("training.no_balance", ctx.lang))
    cols = ["covariate", "mean_treated", "mean_control", "smd_before", "smd_after_ipw", "smd_after_psm"]
    shown = table[cols].assign(covariate=table["covariate"].map(lambda c: _covariate_label(c, ctx.lang)))
    shown.columns = [labels.text(f"training.{c}", ctx.lang) for c in cols]
    return (shown.style.hide(axis="index").set_table_styles(NOWRAP)
            .format("{:.2f}", subset=shown.columns[1:].tolist(), na_rep="–")
            .set_caption(labels.text("training.balance_caption", ctx.lang, max_smd=MAX_SMD)))


def balance_figure(ctx: Context):
    """Love plot (standardized mean differences before/after weighting) and propensity-score overlap."""
    effects = _effects(ctx)
    table = _scope(effects["balance"], "county")
    if table.empty:
        return Markdown(labels.text("training.no_balance", ctx.lang))
    table = table.assign(label=table["covariate"].map(lambda c: _covariate_label(c, ctx.lang)))
    return plots_labour.balance(table, _scope(effects["propensity"], "county"), ctx.lang)


def _forest_rows(att: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    rows = att[(att["subgroup"] == "all") & (att["status"] == "ok")]
    method = rows["method"].map(lambda m: labels.text(f"training.method_{m}", ctx.lang))
    colour = rows["scope"].map({"county": plots_labour.COLOURS["dr"],
                                "prefecture": plots_labour.COLOURS["before"]})
    return rows.assign(label=_where(rows["scope"], ctx) + " · " + method, colour=colour)


def _where(scope: pd.Series, ctx: Context) -> pd.Series:
    """The county's name or 全市 / "Prefecture", per row."""
    prefecture = labels.text("groups.prefecture", ctx.lang)
    return scope.map(lambda s: ctx.region if s == "county" else prefecture)


def att_figure(ctx: Context):
    """Forest plot: ATT on employment and wage income by IPW, DR and PSM, county and prefecture."""
    rows = _forest_rows(_effects(ctx)["att"], ctx)
    if rows[rows["scope"] == "county"].empty:
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=ctx.region))
    order = {"county": 0, "prefecture": 1}
    rows = rows.sort_values(["scope", "method"], key=lambda s: s.map(order) if s.name == "scope"
                            else s.map({m: i for i, m in enumerate(METHODS)}))
    return plots_labour.att_forest(rows, ctx.lang)


def _format_effect(row: pd.Series, lang: str) -> tuple[str, str]:
    if row["status"] != "ok":
        return labels.text(f"training.status_{row['status']}", lang), "–"
    scale, fmt = (100, "{:.1f}") if row["outcome"] == "employed" else (1, "{:,.0f}")
    return (fmt.format(scale * row["estimate"]),
            f"[{fmt.format(scale * row['conf_low'])}, {fmt.format(scale * row['conf_high'])}]")


def _effects_display(rows: pd.DataFrame, ctx: Context, first: str) -> pd.DataFrame:
    formatted = [_format_effect(r, ctx.lang) for _, r in rows.iterrows()]
    shown = pd.DataFrame({
        first: rows[first].to_numpy(),
        "outcome": rows["outcome"].map(lambda o: labels.text(f"training.outcome_{o}", ctx.lang)).to_numpy(),
        "estimate": [f[0] for f in formatted], "conf_int": [f[1] for f in formatted],
        "p_value": rows["p_value"].to_numpy(), "p_holm": rows["p_holm"].to_numpy(),
        "n_treated": rows["n_treated"].to_numpy(), "n_control": rows["n_control"].to_numpy()})
    shown.columns = [labels.text(f"training.col_{c}", ctx.lang) for c in shown.columns]
    return shown


def att_table(ctx: Context):
    """ATT by estimator and outcome, for the county and the prefecture, with 95% intervals and Holm p."""
    att = _effects(ctx)["att"]
    rows = att[att["subgroup"] == "all"].copy()
    if rows.empty or not (rows["status"] == "ok").any():
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=ctx.region))
    rows["method"] = _where(rows["scope"], ctx) + " · " + rows["method"].map(
        lambda m: labels.text(f"training.method_{m}", ctx.lang))
    shown = _effects_display(rows, ctx, "method")
    return (shown.style.hide(axis="index").set_table_styles(NOWRAP)
            .format(p_format, subset=shown.columns[4:6].tolist())
            .format("{:,.0f}", subset=shown.columns[6:].tolist())
            .set_caption(labels.text("training.att_caption", ctx.lang)))


def att_summary(ctx: Context) -> Markdown:
    """The doubly robust estimates and their 95% intervals in plain words, with the other two beside."""
    att = _scope(_effects(ctx)["att"], "county")
    if att.empty:
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=ctx.region))
    rows = att[att["subgroup"] == "all"].set_index(["outcome", "method"])
    if not (rows.loc[[(o, "dr") for o in OUTCOMES], "status"] == "ok").all():
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=ctx.region))
    emp, wage = rows.loc[("employed", "dr")], rows.loc[("wage_income", "dr")]
    parts = [labels.text("training.effect", ctx.lang, region=ctx.region, emp=100 * emp["estimate"],
                         emp_low=100 * emp["conf_low"], emp_high=100 * emp["conf_high"], wage=wage["estimate"],
                         wage_low=wage["conf_low"], wage_high=wage["conf_high"], p_emp=p_text(emp["p_holm"]),
                         p_wage=p_text(wage["p_holm"]))]
    others = rows.loc[[(o, m) for o in OUTCOMES for m in ("ipw", "psm")]]
    if (others["status"] == "ok").all():
        parts.append(labels.text("training.others", ctx.lang,
                                 ipw_emp=100 * rows.loc[("employed", "ipw"), "estimate"],
                                 psm_emp=100 * rows.loc[("employed", "psm"), "estimate"],
                                 ipw_wage=rows.loc[("wage_income", "ipw"), "estimate"],
                                 psm_wage=rows.loc[("wage_income", "psm"), "estimate"]))
    parts.append(labels.text("training.caveat", ctx.lang))
    return Markdown(join(parts, ctx.lang))


def _heterogeneity_rows(ctx: Context) -> pd.DataFrame:
    att = _scope(_effects(ctx)["att"], "county")
    if att.empty:
        return att
    rows = att[att["method"] == HETEROGENEITY_METHOD].copy()
    order = {s: i for i, s in enumerate(SUBGROUPS)}
    rows = rows.sort_values("subgroup", key=lambda s: s.map(order), kind="stable")
    return rows.assign(label=rows["subgroup"].map(lambda s: labels.text(f"training.subgroup_{s}", ctx.lang)))


def heterogeneity_intro(ctx: Context) -> Markdown:
    """Heading and reading guide of the subgroup analysis."""
    ages = {name: f"{low}–{high}" for name, (low, high) in AGE_GROUPS.items()}
    return Markdown(f"## {labels.text('training.h_heterogeneity', ctx.lang)}\n\n"
                    + labels.text("training.heterogeneity_intro", ctx.lang, tests=2 * (len(SUBGROUPS) - 1),
                                  **ages))


def heterogeneity_figure(ctx: Context):
    """Forest plot of the doubly robust ATT by sex and age group."""
    rows = _heterogeneity_rows(ctx)
    rows = rows[rows["status"] == "ok"] if len(rows) else rows
    if rows.empty:
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=ctx.region))
    rows = rows.assign(colour=np.where(rows["subgroup"] == "all", plots_labour.COLOURS["before"],
                                       plots_labour.COLOURS["dr"]))
    return plots_labour.att_forest(rows, ctx.lang, title_key="training.fig_heterogeneity")


def heterogeneity_table(ctx: Context):
    """Doubly robust ATT by subgroup and outcome; Holm p-values over the ten subgroup tests."""
    rows = _heterogeneity_rows(ctx)
    if rows.empty or not (rows["status"] == "ok").any():
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=ctx.region))
    shown = _effects_display(rows.rename(columns={"label": "subgroup_label"}), ctx, "subgroup_label")
    return (shown.style.hide(axis="index").set_table_styles(NOWRAP)
            .format(p_format, subset=shown.columns[4:6].tolist())
            .format("{:,.0f}", subset=shown.columns[6:].tolist())
            .set_caption(labels.text("training.heterogeneity_caption", ctx.lang)))


def training_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The tables of the training report, by sheet name."""
    effects = _effects(ctx)
    return {"training": _indicator_table(ctx)[0], "effects": effects["att"], "balance": effects["balance"],
            "overlap": effects["overlap"]}
