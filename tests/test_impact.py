"""Impact estimators against statsmodels, hand computation, moderndid's DRDID and known truth.

Tolerances: point estimates from the same least-squares problem agree to 1e-10 (absolute, on
outcomes of order 1-10); standard errors to a relative 1e-8 (different but exact linear algebra).
Ground-truth checks use seeded data and bounds of a few standard errors, stated at each assert.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from analysis.estimators import impact
from analysis.errors import ParameterError


# ----------------------------------------------------------------------------------------------
# Data generators (seeded)
# ----------------------------------------------------------------------------------------------

def two_by_two_panel(seed: int, n_units: int = 400, effect: float = 3.0) -> pd.DataFrame:
    """Two periods; half the units treated in period 1; unit effects and village clusters."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), 2)
    post = np.tile([0, 1], n_units)
    treated = (np.arange(n_units) < n_units // 2).astype(int)[unit]
    village = unit // 8
    alpha = rng.normal(0, 1, n_units)[unit] + 0.5 * treated  # groups differ in levels only
    y = 10 + alpha + 0.7 * post + effect * treated * post + rng.normal(0, 1, 2 * n_units)
    x = rng.normal(0, 1, 2 * n_units)
    return pd.DataFrame({"household_id": unit, "post": post, "treated": treated,
                         "village": village, "income": y + 0.3 * x, "x": x})


def staggered_panel(seed: int, n_units: int = 600, periods: int = 6) -> pd.DataFrame:
    """Cohorts first treated in periods 3, 4, 5 and never treated (equal sizes).

    The effect grows with exposure: ATT(g, t) = t - g + 1 for t >= g, so event time e has
    effect e + 1. Parallel trends hold (common period trend 0.5 t).
    """
    rng = np.random.default_rng(seed)
    cohort = np.repeat([0, 3, 4, 5], n_units // 4)
    unit = np.repeat(np.arange(n_units), periods)
    t = np.tile(np.arange(1, periods + 1), n_units)
    g = cohort[unit]
    on = (g > 0) & (t >= g)
    y = rng.normal(0, 1, n_units)[unit] + 0.5 * t + np.where(on, t - g + 1.0, 0.0) \
        + rng.normal(0, 0.5, n_units * periods)
    return pd.DataFrame({"household_id": unit, "year": t, "first_year": g, "treated": on,
                         "income": y, "village": unit // 10})


def selection_sample(seed: int, n: int = 4000, effect: float = 1.0) -> pd.DataFrame:
    """Treatment more likely for high x; outcome rises with x; constant effect, so ATT = effect."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    z = rng.binomial(1, 0.4, n)
    d = rng.random(n) < 1 / (1 + np.exp(-(x + 0.5 * z - 0.5)))
    y = effect * d + 2.0 * x + 1.0 * z + rng.normal(0, 1, n)
    return pd.DataFrame({"trained": d, "skill": x, "has_labor": z, "wage": y})


# ----------------------------------------------------------------------------------------------
# did_2x2 against statsmodels OLS fitted directly
# ----------------------------------------------------------------------------------------------

def _sm_did(df: pd.DataFrame, **fit_kw):
    df = df.assign(inter=df.treated * df.post)
    x = sm.add_constant(df[["treated", "post", "inter", "x"]].astype(float))
    return sm.OLS(df.income.astype(float), x).fit(**fit_kw)


def test_did_2x2_matches_statsmodels_clustered():
    df = two_by_two_panel(0)
    est = impact.did_2x2(df, "income", "treated", "post", cluster="village", covariates=["x"])
    # statsmodels' cluster correction is G/(G-1) * (N-1)/(N-K), the same as fixest's CRV1
    # without fixed effects.
    ref = _sm_did(df, cov_type="cluster", cov_kwds={"groups": df.village})
    assert est.estimate == pytest.approx(ref.params["inter"], abs=1e-10)
    assert est.std_error == pytest.approx(ref.bse["inter"], rel=1e-8)
    assert est.n_clusters == 50 and est.n_obs == 800
    assert list(est.tidy().term) == ["treated:post", "treated", "post", "x"]


def test_did_2x2_default_is_hc1_and_iid_on_request():
    df = two_by_two_panel(1)
    est = impact.did_2x2(df, "income", "treated", "post", covariates="x")
    assert est.std_error == pytest.approx(_sm_did(df, cov_type="HC1").bse["inter"], rel=1e-8)
    est_iid = impact.did_2x2(df, "income", "treated", "post", covariates="x", vcov="iid")
    ref = _sm_did(df)
    assert est_iid.std_error == pytest.approx(ref.bse["inter"], rel=1e-8)
    # t inference with N - K degrees of freedom, as OLS prints it
    assert est_iid.p_value == pytest.approx(ref.pvalues["inter"], rel=1e-6)
    assert est_iid.conf_int == pytest.approx(tuple(ref.conf_int().loc["inter"]), rel=1e-8)


def test_did_2x2_recovers_known_effect():
    df = two_by_two_panel(2, n_units=2000, effect=3.0)
    est = impact.did_2x2(df, "income", "treated", "post", cluster="household_id")
    # sd of the DiD estimate here is about sqrt(2 * 2 / 1000) = 0.063; 0.2 is about 3 sd
    assert abs(est.estimate - 3.0) < 0.2
    assert est.conf_int[0] < 3.0 < est.conf_int[1]


def test_etable_stacks_tidy_rows_under_model_names():
    df = two_by_two_panel(2, n_units=300, effect=3.0)
    clustered = impact.did_2x2(df, "income", "treated", "post", cluster="household_id")
    robust = impact.did_2x2(df, "income", "treated", "post")
    table = impact.etable({"clustered": clustered, "hc1": robust})
    assert table["model"].tolist() == ["clustered", "hc1"]
    assert list(table.columns) == ["model", *impact.TIDY_COLUMNS]
    for row, est in zip(table.itertuples(), (clustered, robust)):
        assert (row.estimate, row.std_error, row.p_value) == (est.estimate, est.std_error, est.p_value)
    assert table["std_error"].iloc[0] != table["std_error"].iloc[1]  # the vcov choice shows
    assert impact.etable({}).columns.tolist() == ["model", *impact.TIDY_COLUMNS]


# ----------------------------------------------------------------------------------------------
# twfe against dummy-variable OLS
# ----------------------------------------------------------------------------------------------

def test_twfe_matches_dummy_variable_ols():
    df = staggered_panel(3, n_units=80)
    est = impact.twfe(df, "income", "treated", "household_id", "year")
    ref = smf.ols("income ~ treated + C(household_id) + C(year)", data=df.assign(
        treated=df.treated.astype(float))).fit(cov_type="cluster",
                                               cov_kwds={"groups": df.household_id})
    assert est.estimate == pytest.approx(ref.params["treated"], abs=1e-8)
    # fixest/Stata CRV1 counts K = treatment + (T - 1) year effects + constant = T + 1 = 7;
    # the 80 unit effects, nested in the unit clusters, are not counted. statsmodels counts all
    # K_sm = 1 + 79 + 5 + 1 = 86 dummies, so rescale its (N-1)/(N-K) factor.
    n, k_fixest, k_sm = len(df), 7, 86
    assert est.std_error == pytest.approx(ref.bse["treated"] * np.sqrt((n - k_sm) / (n - k_fixest)),
                                          rel=1e-8)
    assert est.n_clusters == 80 and est.n_units == 80


def test_twfe_iid_and_hc1_match_dummy_variable_ols():
    df = staggered_panel(4, n_units=80).assign(z=lambda d: np.sin(d.household_id + d.year))
    fml = "income ~ treated + z + C(household_id) + C(year)"
    data = df.assign(treated=df.treated.astype(float))
    for vcov, fit_kw in (("iid", {}), ("hc1", {"cov_type": "HC1"})):
        est = impact.twfe(df, "income", "treated", "household_id", "year", covariates="z",
                          vcov=vcov)
        ref = smf.ols(fml, data=data).fit(**fit_kw)
        assert est.estimate == pytest.approx(ref.params["treated"], abs=1e-8)
        assert est.std_error == pytest.approx(ref.bse["treated"], rel=1e-8)
        assert est.tidy().set_index("term").loc["z", "estimate"] == pytest.approx(
            ref.params["z"], abs=1e-8)


# ----------------------------------------------------------------------------------------------
# Staggered adoption: static TWFE is biased, Callaway & Sant'Anna is not
# ----------------------------------------------------------------------------------------------

# Simple aggregation truth: post-treatment cells weighted by cohort size (equal sizes here):
# cohort 3: t = 3..6 -> 1+2+3+4 = 10; cohort 4: 1+2+3 = 6; cohort 5: 1+2 = 3; 9 cells.
SIMPLE_TRUTH = (10 + 6 + 3) / 9  # 2.111...


def test_static_twfe_is_biased_under_growing_effects():
    df = staggered_panel(5)
    est = impact.twfe(df, "income", "treated", "household_id", "year")
    # Already-treated units serve as controls and their growing effects are subtracted:
    # the estimate (about 1.37) falls short of every sensible average effect.
    assert SIMPLE_TRUTH - est.estimate > 0.5
    assert est.conf_int[1] < SIMPLE_TRUTH


@pytest.mark.parametrize("control_group", ["never_treated", "not_yet_treated"])
def test_staggered_did_recovers_truth(control_group):
    df = staggered_panel(5)
    est = impact.staggered_did(df, "income", "household_id", "year", "first_year",
                               control_group=control_group)
    # SE is about 0.045; 0.15 is over 3 SE.
    assert abs(est.estimate - SIMPLE_TRUTH) < 0.15
    assert est.conf_int[0] < SIMPLE_TRUTH < est.conf_int[1]
    post = est.group_time[est.group_time.period == "post"]
    truth = post.time - post.group + 1
    assert np.all(np.abs(post.estimate - truth) < 4 * post.std_error)


def test_staggered_event_study_and_pretrend():
    df = staggered_panel(6)
    est = impact.staggered_did(df, "income", "household_id", "year", "first_year",
                               aggregation="event")
    es = est.event_study.set_index("event_time")
    assert list(es.columns[:4]) == ["estimate", "std_error", "conf_low", "conf_high"]
    for e in (0, 1, 2, 3):  # effect e + 1, within 4 SE
        assert abs(es.loc[e, "estimate"] - (e + 1)) < 4 * es.loc[e, "std_error"]
    for e in (-3, -2, -1):  # no anticipation in the data (period 1 has no base period)
        assert abs(es.loc[e, "estimate"]) < 4 * es.loc[e, "std_error"]
    assert set(est.tidy().term) >= {"att", "event_time=-1", "event_time=3"}
    # Headline averages event times 0..3: (1 + 2 + 3 + 4) / 4 = 2.5
    assert abs(est.estimate - 2.5) < 4 * est.std_error
    pt = est.pretrend
    # pre cells t < g need a base period t - 1 >= 1: cohort 3: t=2; 4: t=2,3; 5: t=2,3,4 -> 6
    assert pt["df"] == 6 and 0 <= pt["p_value"] <= 1
    assert pt["p_value"] > 0.01  # parallel trends hold in the data


def test_staggered_pretrend_detects_violation():
    df = staggered_panel(7)
    # cohort 5 drifts up by 1 per period before adoption: pre-trends fail
    drift = np.where(df.first_year == 5, 1.0 * df.year, 0.0)
    est = impact.staggered_did(df.assign(income=df.income + drift), "income", "household_id",
                               "year", "first_year")
    assert est.pretrend["p_value"] < 1e-6


def test_staggered_group_aggregation_and_clusters():
    df = staggered_panel(8)
    by_unit = impact.staggered_did(df, "income", "household_id", "year", "first_year",
                                   aggregation="group")
    ge = by_unit.group_effects.set_index("group")
    # cohort averages over post periods: g=3: (1+2+3+4)/4 = 2.5, g=4: 2, g=5: 1.5
    for g, truth in ((3, 2.5), (4, 2.0), (5, 1.5)):
        assert abs(ge.loc[g, "estimate"] - truth) < 4 * ge.loc[g, "std_error"]
    by_village = impact.staggered_did(df, "income", "household_id", "year", "first_year",
                                      aggregation="group", cluster="village")
    assert by_village.estimate == pytest.approx(by_unit.estimate, abs=1e-12)
    assert by_village.n_clusters == 60 and by_unit.n_clusters is None
    assert np.isfinite(by_village.std_error) and by_village.std_error != by_unit.std_error


def test_estimators_side_by_side_recover_growing_effects():
    """Known truth: event time e has effect e + 1 and pre-periods 0; the average over treated
    unit-periods is (1+2+3+4 + 1+2+3 + 1+2) / 9 = 19/9 for the equal-sized cohorts 3, 4, 5. Each
    heterogeneity-robust row must lie within 4 standard errors of its truth (a miss by chance
    has probability about 6e-5 per row); static TWFE is pulled away by the growing effects."""
    from analysis.estimators import staggered

    df = staggered_panel(21)
    table = staggered.compare_estimators(df, "income", "household_id", "year", "first_year",
                                         cluster="village")
    assert list(table.columns) == staggered.COMPARE_COLUMNS
    assert set(table.estimator) == set(staggered.ESTIMATORS)
    robust = table[table.estimator != "twfe"]
    truth = np.where(robust.term == "overall", 19 / 9,
                     np.clip(robust.event_time.astype(float).fillna(0) + 1, 0, None))
    z = (robust.estimate - truth) / robust.std_error
    assert (z.abs() < 4).all(), robust.assign(truth=truth, z=z)
    assert len(robust[robust.term == "event_time"]) >= 3 * 6
    twfe = table[table.estimator == "twfe"].iloc[0]
    assert twfe.term == "overall" and abs(twfe.estimate - 19 / 9) > 4 * twfe.std_error
    with pytest.raises(ParameterError, match="'sun_abraham'"):
        staggered.compare_estimators(df, "income", "household_id", "year", "first_year",
                                     estimators=["sunab"])
    treated_only = df[df.first_year > 0]
    with pytest.raises(ValueError, match="never-treated"):
        staggered.compare_estimators(treated_only, "income", "household_id", "year", "first_year")


def test_staggered_first_treated_nan_means_never_and_late_units_noted():
    df = staggered_panel(9)
    as_zero = impact.staggered_did(df, "income", "household_id", "year", "first_year")
    as_nan = impact.staggered_did(df.assign(first_year=df.first_year.replace(0, np.nan)),
                                  "income", "household_id", "year", "first_year")
    assert as_nan.estimate == pytest.approx(as_zero.estimate, abs=1e-12)
    late = df.assign(first_year=df.first_year.replace(0, 99))
    est = impact.staggered_did(late, "income", "household_id", "year", "first_year")
    assert est.estimate == pytest.approx(as_zero.estimate, abs=1e-12)
    assert any("after the last period" in note for note in est.notes)
    early = df.assign(first_year=np.where(df.household_id < 5, 1, df.first_year))
    with pytest.warns(UserWarning, match="5 units treated in the first period"):
        est = impact.staggered_did(early, "income", "household_id", "year", "first_year")
    assert est.n_units == 595


# ----------------------------------------------------------------------------------------------
# att_weighting
# ----------------------------------------------------------------------------------------------

def test_att_weighting_recovers_truth_where_naive_difference_fails():
    # One fixed draw: any single draw misses a 95% interval 5% of the time (seed 10 does for
    # ipw, at 2.6 SE); coverage itself is what the Monte Carlo tests below check.
    df = selection_sample(11)
    naive = df.wage[df.trained].mean() - df.wage[~df.trained].mean()
    assert naive - 1.0 > 1.0  # selection on skill inflates the raw gap (about 2.6 here)
    for method in ("ipw", "dr", "psm"):
        est = impact.att_weighting(df, "wage", "trained", ["skill", "has_labor"], method=method)
        assert est.conf_int[0] < 1.0 < est.conf_int[1], method
        assert abs(est.balance.smd_after).max() < 0.1, method  # weighting balances both covariates
        assert abs(est.balance.smd_before).max() > 0.5


def test_att_weighting_matches_moderndid_drdid():
    """One-period DR and IPW equal DRDID's panel estimators with a zero baseline outcome."""
    import moderndid as md

    df = selection_sample(11, n=1500)
    d = df.trained.to_numpy(float)
    x = np.column_stack([np.ones(len(df)), df.skill, df.has_labor])
    for method, ref_fn in (("dr", md.drdid_panel), ("ipw", md.std_ipw_did_panel)):
        est = impact.att_weighting(df, "wage", "trained", ["skill", "has_labor"], method=method)
        ref = ref_fn(y1=df.wage.to_numpy(), y0=np.zeros(len(df)), d=d, covariates=x,
                     influence_func=True)
        assert est.estimate == pytest.approx(ref.att, abs=1e-8)
        assert est.std_error == pytest.approx(ref.se, rel=1e-6)


def test_att_weighting_saturated_score_by_hand():
    # One binary covariate: the logit is saturated, p(x) = share treated within x, so every
    # method compares treated units with the controls of their own stratum.
    # x = 0: treated y 5, 7 (mean 6), controls 1, 3, 2 (mean 2): gap 4 for 2 treated
    # x = 1: treated y 10, 12 (mean 11), control 6:              gap 5 for 2 treated
    # ATT = (2 * 4 + 2 * 5) / 4 = 4.5
    df = pd.DataFrame({"d": [1, 1, 0, 0, 0, 1, 1, 0], "x": [0, 0, 0, 0, 0, 1, 1, 1],
                       "y": [5.0, 7.0, 1.0, 3.0, 2.0, 10.0, 12.0, 6.0]})
    for method in ("ipw", "dr", "psm"):
        assert impact.att_weighting(df, "y", "d", "x", method=method).estimate == \
            pytest.approx(4.5, abs=1e-9), method
    # Matching weights: each x=0 control is used 2 * 1/3 times, the x=1 control twice.
    bal = impact.att_weighting(df, "y", "d", "x", method="psm").balance
    assert bal.mean_control_weighted.iloc[0] == pytest.approx(0.5)  # (3*(2/3)*0 + 2*1)/(2+2)


def _with_outliers(df: pd.DataFrame, skill: float, trained: list[bool]) -> pd.DataFrame:
    """``df`` plus units far out in ``skill`` (scores near 1), treated or not as listed."""
    extra = pd.DataFrame({"trained": trained, "skill": skill, "has_labor": 0,
                          "wage": 2.0 * skill + np.arange(len(trained))})
    return pd.concat([df, extra], ignore_index=True)


def test_att_weighting_trims_controls_as_drdid_does():
    """Controls with scores of at least 0.995 get no weight; no treated unit is that far out,
    so DR and IPW still equal moderndid's DRDID (``trim_level=0.995``) to rounding."""
    import moderndid as md

    df = _with_outliers(selection_sample(11, n=1500), 7.0, [False, False, False])
    d = df.trained.to_numpy(float)
    x = np.column_stack([np.ones(len(df)), df.skill, df.has_labor])
    for method, ref_fn in (("dr", md.drdid_panel), ("ipw", md.std_ipw_did_panel)):
        est = impact.att_weighting(df, "wage", "trained", ["skill", "has_labor"], method=method)
        ov = est.overlap.set_index("arm")
        assert ov.loc["control", "trimmed"] == 3 and ov.loc["treated", "trimmed"] == 0
        assert ov.loc["control", "used"] == ov.loc["control", "units"] - 3
        assert any("3 of" in n and "control" in n for n in est.notes)
        ref = ref_fn(y1=df.wage.to_numpy(), y0=np.zeros(len(df)), d=d, covariates=x,
                     influence_func=True, trim_level=0.995)
        assert est.estimate == pytest.approx(ref.att, abs=1e-8)
        assert est.std_error == pytest.approx(ref.se, rel=1e-6)


def test_att_weighting_trims_treated_without_comparable_controls_by_hand():
    """Treated units with scores of at least 0.995 are set aside and counted; the IPW estimate
    is then the Hajek contrast over the kept units, recomputed here from statsmodels' logit."""
    df = _with_outliers(selection_sample(12, n=1500), 7.0, [True, True, False, True])
    est = impact.att_weighting(df, "wage", "trained", ["skill", "has_labor"], method="ipw")
    x = sm.add_constant(df[["skill", "has_labor"]].astype(float))
    p = np.clip(sm.Logit(df.trained.astype(float), x).fit(disp=0).predict(x).to_numpy(),
                1e-6, 1 - 1e-6)
    keep, d, y = p < 0.995, df.trained.to_numpy(), df.wage.to_numpy()
    w0 = p / (1 - p) * (~d & keep)
    expected = y[d & keep].mean() - (w0 * y).sum() / w0.sum()
    assert est.estimate == pytest.approx(expected, abs=1e-8)
    ov = est.overlap.set_index("arm")
    assert (ov.loc["treated", "trimmed"], ov.loc["control", "trimmed"]) == ((d & ~keep).sum(),
                                                                           (~d & ~keep).sum())
    assert ov.loc["treated", "trimmed"] >= 3  # the three far-out trainees at least
    assert any("not on all treated" in n for n in est.notes)
    for method in ("dr", "psm"):  # the other methods run on the same kept units
        other = impact.att_weighting(df, "wage", "trained", ["skill", "has_labor"], method=method)
        assert other.overlap.equals(est.overlap)
        assert other.conf_int[0] < 1.0 < other.conf_int[1], method  # true ATT is 1 on the kept
    untrimmed = impact.att_weighting(df, "wage", "trained", ["skill", "has_labor"], method="ipw",
                                     trim_level=None)
    assert untrimmed.overlap["trimmed"].sum() == 0 and untrimmed.estimate != est.estimate


def test_att_weighting_refuses_only_when_the_treated_cannot_be_matched():
    rng = np.random.default_rng(5)
    # Controls with scores near 0 are harmless: a sample where most controls are nothing like
    # the treated (scores below 1e-6) is estimated, not refused.
    skill = rng.normal(-20, 0.3, 500)  # same outcome model as selection_sample
    far = pd.DataFrame({"trained": False, "skill": skill, "has_labor": 0,
                        "wage": 2.0 * skill + rng.normal(0, 1, 500)})
    base = selection_sample(13, n=1500)
    df = pd.concat([base, far], ignore_index=True)
    # They get weights below 1e-6 and leave IPW and matching unchanged (to 1e-3, far below the
    # SE of about 0.1); DR moves a little more (to 1e-2) as its outcome model sees them.
    for method, tol in (("ipw", 1e-3), ("psm", 1e-3), ("dr", 1e-2)):
        est = impact.att_weighting(df, "wage", "trained", ["skill", "has_labor"], method=method)
        assert est.overlap["trimmed"].sum() == 0 and (est.propensity == 1e-6).sum() > 100
        ref = impact.att_weighting(base, "wage", "trained", ["skill", "has_labor"], method=method)
        assert est.estimate == pytest.approx(ref.estimate, abs=tol), method
    # Every treated unit far above every control: nothing to compare them with.
    apart = pd.DataFrame({"trained": np.repeat([True, False], 50),
                          "skill": np.r_[rng.normal(3, 0.1, 50), rng.normal(-3, 0.1, 50)],
                          "has_labor": rng.integers(0, 2, 100), "wage": rng.normal(0, 1, 100)})
    apart.loc[0, "skill"] = -3.0  # one treated unit among the controls: no complete separation
    with pytest.raises(ValueError, match="the treated cannot be matched: 49 of 50 treated"):
        impact.att_weighting(apart, "wage", "trained", ["skill", "has_labor"])
    with pytest.raises(ParameterError, match="trim_level"):
        impact.att_weighting(df, "wage", "trained", ["skill"], trim_level=1.5)


def test_match_nearest_ties_by_hand():
    # Controls sorted: 0.25, 0.5, 0.5, 0.875 (exact binary fractions, so ties are exact).
    # Treated 0.375: 0.25 and 0.5 both at 0.125 -> three tied controls, Y0 = (1+2+4)/3.
    # Treated 0.625: nearest 0.5 (two of them) -> Y0 = (2+4)/2 = 3.
    y0, k, k2 = impact._match_nearest(np.array([0.375, 0.625]),
                                      np.array([0.25, 0.5, 0.5, 0.875]),
                                      np.array([1.0, 2.0, 4.0, 10.0]))
    assert y0 == pytest.approx([7 / 3, 3.0])
    assert k == pytest.approx([1 / 3, 1 / 3 + 1 / 2, 1 / 3 + 1 / 2, 0.0])
    assert k2 == pytest.approx([1 / 9, 1 / 9 + 1 / 4, 1 / 9 + 1 / 4, 0.0])


# ----------------------------------------------------------------------------------------------
# balance, by hand
# ----------------------------------------------------------------------------------------------

def test_balance_by_hand():
    # treated x: 1, 2, 3  -> mean 2, variance 1
    # control x: 2, 4, 6, 8 -> mean 5, variance (9+1+1+9)/3 = 20/3
    # pooled sd = sqrt((1 + 20/3)/2) = sqrt(23/6); smd = -3 / sqrt(23/6); variance ratio 3/20
    df = pd.DataFrame({"d": [1, 1, 1, 0, 0, 0, 0], "x": [1.0, 2, 3, 2, 4, 6, 8]})
    b = impact.balance(df, "d", "x").iloc[0]
    assert b.mean_treated == 2 and b.mean_control == 5
    assert b.smd_before == pytest.approx(-3 / np.sqrt(23 / 6))
    assert b.variance_ratio_before == pytest.approx(3 / 20)
    assert "smd_after" not in b.index
    # control weights 3, 1, 0, 0: weighted mean (6 + 4)/4 = 2.5;
    # weighted variance: sum w (x - 2.5)^2 / sum w = (3*0.25 + 2.25)/4 = 0.75,
    # n_eff = 16 / 10 = 1.6, times 1.6/0.6 -> 2.0. Treated weights 1: variance 1.
    w = [1, 1, 1, 3, 1, 0, 0]
    b = impact.balance(df, "d", ["x"], weights=w).iloc[0]
    assert b.mean_control_weighted == pytest.approx(2.5)
    assert b.smd_after == pytest.approx(-0.5 / np.sqrt(23 / 6))  # same denominator as before
    assert b.variance_ratio_after == pytest.approx(1 / 2.0)
    df_w = df.assign(w=w)
    assert impact.balance(df_w, "d", "x", weights="w").equals(
        impact.balance(df, "d", "x", weights=np.array(w, float)))


# ----------------------------------------------------------------------------------------------
# Contract: tidy, purity
# ----------------------------------------------------------------------------------------------

def test_tidy_columns_and_inputs_untouched():
    panel, stag, cross = two_by_two_panel(12), staggered_panel(12, n_units=200), selection_sample(12)
    before = [f.copy(deep=True) for f in (panel, stag, cross)]
    results = [
        impact.did_2x2(panel, "income", "treated", "post", cluster="village"),
        impact.twfe(stag, "income", "treated", "household_id", "year"),
        impact.staggered_did(stag, "income", "household_id", "year", "first_year",
                             aggregation="event"),
        impact.att_weighting(cross, "wage", "trained", ["skill"], method="psm"),
    ]
    for frame, copy in zip((panel, stag, cross), before):
        pd.testing.assert_frame_equal(frame, copy)
    table = pd.concat([r.tidy() for r in results])
    assert list(table.columns) == impact.TIDY_COLUMNS
    for r in results:
        low, high = r.conf_int
        assert low < r.estimate < high and r.p_value == r.tidy().p_value.iloc[0]


def test_nullable_dtypes_are_accepted():
    df = two_by_two_panel(13).astype({"treated": "boolean", "post": "Int64", "income": "Float64"})
    est = impact.did_2x2(df, "income", "treated", "post")
    ref = impact.did_2x2(two_by_two_panel(13), "income", "treated", "post")
    assert est.estimate == pytest.approx(ref.estimate, abs=1e-12)


# ----------------------------------------------------------------------------------------------
# Every error, in words
# ----------------------------------------------------------------------------------------------

def test_missing_columns_are_named():
    df = two_by_two_panel(14)
    with pytest.raises(ValueError, match=r"not found in data: 'revenue', 'cohort'"):
        impact.did_2x2(df, "revenue", "treated", "post", covariates=["cohort"])


def test_treatment_that_never_varies():
    df = two_by_two_panel(15).assign(treated=1)
    with pytest.raises(ValueError, match="'treated' never varies: all 800 rows are 1"):
        impact.did_2x2(df, "income", "treated", "post")
    with pytest.raises(ValueError, match="never varies"):
        impact.att_weighting(selection_sample(15).assign(trained=False), "wage", "trained", "skill")


def test_non_binary_treatment():
    df = selection_sample(16).assign(trained=lambda d: d.trained * 2)
    with pytest.raises(ValueError, match=r"must be binary .* found values \[0.0, 2.0\]"):
        impact.att_weighting(df, "wage", "trained", "skill")
    with pytest.raises(ValueError, match="must be numeric"):
        impact.twfe(staggered_panel(16).assign(treated="yes"), "income", "treated",
                    "household_id", "year")


def test_too_few_treated_or_control_units():
    df = two_by_two_panel(17)
    one_village = df.assign(treated=(df.village == 0).astype(int))
    with pytest.raises(ValueError, match=r"only 1 treated clusters \(village\); at least 2"):
        impact.did_2x2(one_village, "income", "treated", "post", cluster="village")
    cross = selection_sample(17).iloc[:50].assign(trained=[True] + [False] * 49)
    with pytest.raises(ValueError, match="only 1 treated units; at least 2 are needed"):
        impact.att_weighting(cross, "wage", "trained", "skill")
    stag = staggered_panel(17)
    no_never = stag[(stag.first_year > 0) | (stag.household_id == 0)]
    with pytest.raises(ValueError, match="only 1 never-treated units"):
        impact.staggered_did(no_never, "income", "household_id", "year", "first_year")


def test_perfect_separation_is_refused():
    df = selection_sample(18)
    df = df.assign(leader=df.trained.astype(float))  # predicts treatment exactly
    with pytest.raises(ValueError, match="separates treated and control units perfectly"):
        impact.att_weighting(df, "wage", "trained", ["skill", "leader"])


def test_option_values_list_what_is_allowed():
    df = staggered_panel(19, n_units=40)
    args = (df, "income", "household_id", "year", "first_year")
    with pytest.raises(ParameterError, match="'never_treated', 'not_yet_treated'"):
        impact.staggered_did(*args, control_group="nevertreated")
    with pytest.raises(ValueError, match="aggregation='dynamic' is not allowed; choose one of "
                                         "'simple', 'event', 'group'"):
        impact.staggered_did(*args, aggregation="dynamic")
    with pytest.raises(ValueError, match="'ipw', 'dr', 'psm'"):
        impact.att_weighting(selection_sample(19), "wage", "trained", "skill", method="ols")
    with pytest.raises(ValueError, match="'iid', 'hc1', 'cluster'"):
        impact.did_2x2(two_by_two_panel(19), "income", "treated", "post", vcov="hc3")


def test_missing_values_are_counted():
    df = two_by_two_panel(20)
    df.loc[[0, 5, 9], "income"] = np.nan
    df.loc[[5, 11], "x"] = np.nan
    with pytest.raises(ValueError, match=r"'income': 3 rows, 'x': 2 rows\); 4 of 800 rows"):
        impact.did_2x2(df, "income", "treated", "post", covariates="x")


def test_panel_structure_errors():
    df = staggered_panel(21, n_units=40)
    args = ("income", "household_id", "year", "first_year")
    with pytest.raises(ValueError, match="unbalanced panel: 1 of 40 units"):
        impact.staggered_did(df.iloc[1:], *args)
    with pytest.raises(ValueError, match="1 duplicate"):
        impact.staggered_did(pd.concat([df, df.iloc[:1]]), *args)
    wobbly = df.assign(first_year=np.where(df.index == 0, 4, df.first_year))
    with pytest.raises(ValueError, match="varies within 1 units"):
        impact.staggered_did(wobbly, *args)
    moving = df.assign(village=np.where(df.index == 0, 99, df.village))
    with pytest.raises(ValueError, match="changes within a unit"):
        impact.staggered_did(moving, *args, cluster="village")
    fixed = df.assign(treated=df.first_year > 0)  # constant within unit: absorbed by unit effects
    with pytest.raises(ValueError, match="treatment 'treated' could not be estimated: it is "
                                         "collinear"):
        impact.twfe(fixed, "income", "treated", "household_id", "year")
    with pytest.raises(ValueError, match="'treated' could not be estimated"):
        impact.twfe(fixed.assign(z=1.0), "income", "treated", "household_id", "year",
                    covariates="z")


# ----------------------------------------------------------------------------------------------
# Monte Carlo coverage (slow)
# ----------------------------------------------------------------------------------------------

# With R = 200 replications and true coverage 0.95 the empirical coverage has standard deviation
# sqrt(0.95 * 0.05 / 200) = 0.0154. The band 0.95 +/- 3 sd = [0.904, 0.996] fails a correct
# interval with probability about 0.3%; the seeds make the outcome reproducible anyway.
REPS, TOL = 200, 3 * np.sqrt(0.95 * 0.05 / 200)


@pytest.mark.slow
def test_monte_carlo_coverage_did_2x2_clustered():
    hits = 0
    for r in range(REPS):
        df = two_by_two_panel(1000 + r, n_units=200, effect=3.0)
        low, high = impact.did_2x2(df, "income", "treated", "post", cluster="household_id").conf_int
        hits += low < 3.0 < high
    assert abs(hits / REPS - 0.95) <= TOL, hits / REPS


@pytest.mark.slow
def test_monte_carlo_coverage_doubly_robust():
    hits = 0
    for r in range(REPS):
        df = selection_sample(5000 + r, n=1000)
        low, high = impact.att_weighting(df, "wage", "trained", ["skill", "has_labor"]).conf_int
        hits += low < 1.0 < high
    assert abs(hits / REPS - 0.95) <= TOL, hits / REPS



def test_match_counts_never_negative_under_ties():
    """Tied scores give fractional match counts; unmatched controls must get exactly 0, not -2e-16,
    or the matching weights are refused downstream (balance() requires non-negative weights)."""
    rng = np.random.default_rng(0)
    pc = np.sort(rng.integers(0, 12, 40) / 12)
    pt = rng.integers(0, 12, 15) / 12 + rng.normal(0, 0.01, 15)
    _, k, k2 = impact._match_nearest(pt, pc, rng.normal(size=40))
    assert (k >= 0).all() and (k2 >= 0).all()
    assert k.sum() == pytest.approx(15)      # every treated unit is matched once in total
