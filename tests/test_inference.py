"""Wild cluster bootstrap: against a brute-force dummy-variable bootstrap, against the
``wildboottest`` package (through pyfixest), and its size in a Monte Carlo (slow).

Tolerances. Under full enumeration of Rademacher signs the p-value is exact, so two correct
implementations agree to the draw, except for the two sign patterns ``v = +-1`` that reproduce
``|t|`` itself: whether those count depends on rounding in the reference, so the p-values may
differ by ``2 / 2**G``. Webb draws are random: two independent runs of ``B`` draws give p-values
whose difference has a standard deviation of at most ``sqrt(2 * 0.25 / B)``; 4 of those is allowed.
"""
from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest

from analysis.estimators import impact, inference


def clustered_did(seed: int, n_clusters: int = 12, treated: int = 4, effect: float = 0.0):
    """2x2 DiD, treatment by cluster; cluster sizes 5-59, cluster and cluster-by-period shocks."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 60, n_clusters)
    c = np.repeat(np.arange(n_clusters), sizes)
    tr = (c < treated).astype(int)
    post = rng.integers(0, 2, len(c))
    y = (rng.normal(size=n_clusters)[c] + rng.normal(size=n_clusters)[c] * post
         + effect * tr * post + rng.normal(size=len(c)))
    return pd.DataFrame({"village": c, "treated": tr, "post": post, "income": y})


def village_panel(seed: int, n_villages: int = 8, per_village: int = 6, periods: int = 4):
    """Households nested in villages, observed over ``periods``; half the villages treated from
    period 2, a small effect so that the p-value is away from 0 and 1."""
    rng = np.random.default_rng(seed)
    n = n_villages * per_village
    unit = np.repeat(np.arange(n), periods)
    t = np.tile(np.arange(periods), n)
    village = unit // per_village
    d = ((village < n_villages // 2) & (t >= 2)).astype(float)
    y = (rng.normal(size=n)[unit] + 0.3 * t + 0.25 * d + 0.4 * rng.normal(size=n_villages)[village]
         + rng.normal(size=n * periods))
    return pd.DataFrame({"household_id": unit, "year": 2020 + t, "village": village, "d": d, "y": y})


def _brute_force_p(x_full: np.ndarray, y: np.ndarray, clusters: np.ndarray, j: int) -> tuple:
    """Every Rademacher pattern, each bootstrap sample refitted by least squares with all
    regressors (fixed effects as dummies): restricted residuals, CRV1 t statistics."""
    restricted = np.delete(x_full, j, axis=1)
    fitted = restricted @ np.linalg.lstsq(restricted, y, rcond=None)[0]
    resid = y - fitted
    pinv = np.linalg.pinv(x_full)  # row j: the weights of beta_j on y

    def t_stat(yy):
        beta = pinv @ yy
        e = yy - x_full @ beta
        scores = np.bincount(clusters, weights=pinv[j] * e)
        return beta[j] / np.sqrt((scores ** 2).sum())

    t0 = t_stat(y)
    n_clusters = clusters.max() + 1
    t_boot = np.array([t_stat(fitted + resid * np.array(v)[clusters])
                       for v in product([-1.0, 1.0], repeat=n_clusters)])
    return t0, np.mean(np.abs(t_boot) >= abs(t0) * (1 - 1e-9))


def test_wild_bootstrap_equals_the_dummy_variable_brute_force():
    """Unit effects partialled out (nested in villages) and period dummies give the same t and
    the same exact p-value as refitting the model with every dummy for each of the 2**8 draws."""
    panel = village_panel(3)
    unit, t, c = (panel[k].to_numpy() for k in ("household_id", "year", "village"))
    periods = np.unique(t)
    x = np.column_stack([panel.d] + [(t == p).astype(float) for p in periods[1:]])
    x_full = np.column_stack([x] + [(unit == u).astype(float) for u in np.unique(unit)])
    t0, p_ref = _brute_force_p(x_full, panel.y.to_numpy(), c, 0)
    res = inference.wild_cluster_bootstrap(x, panel.y.to_numpy(), c, 0, absorb=unit,
                                           weights="rademacher")
    assert res.full_enumeration and res.reps == 2 ** 8
    assert res.t_stat == pytest.approx(t0, rel=1e-8)
    assert res.p_value == pytest.approx(p_ref, abs=1e-12)
    assert 0.05 < res.p_value < 0.95  # an informative case, not a p-value pinned at 0 or 1


def test_wild_interval_is_the_set_of_nulls_not_rejected():
    df = clustered_did(4, effect=0.8)
    x = np.column_stack([np.ones(len(df)), df.treated, df.post, df.treated * df.post])
    args = (x, df.income.to_numpy(), df.village.to_numpy(), 3)
    res = inference.wild_cluster_bootstrap(*args)
    width = res.conf_high - res.conf_low
    assert res.conf_low < res.estimate < res.conf_high
    for end, inward in ((res.conf_low, 1), (res.conf_high, -1)):
        inside = inference.wild_cluster_bootstrap(*args, null=end + inward * 1e-3 * width,
                                                  interval=False)
        outside = inference.wild_cluster_bootstrap(*args, null=end - inward * 1e-3 * width,
                                                   interval=False)
        assert outside.p_value <= 0.05 < inside.p_value


def test_wild_bootstrap_reported_only_when_clusters_are_few():
    few = clustered_did(5)
    est = impact.did_2x2(few, "income", "treated", "post", cluster="village")
    wild = est.wild_bootstrap
    assert wild is not None and len(wild) == 1
    assert wild.loc[0, "n_clusters"] == 12 and wild.loc[0, "weights"] == "webb"
    assert wild.loc[0, "crv1_p_value"] == est.p_value and wild.loc[0, "estimate"] == est.estimate
    assert 0 <= wild.loc[0, "wild_p_value"] <= 1
    assert wild.loc[0, "wild_conf_low"] < est.estimate < wild.loc[0, "wild_conf_high"]
    assert any("wild cluster bootstrap" in n for n in est.notes)
    assert list(est.tidy().columns) == impact.TIDY_COLUMNS  # the tidy contract is unchanged
    many = clustered_did(5, n_clusters=60, treated=20)
    assert impact.did_2x2(many, "income", "treated", "post", cluster="village").wild_bootstrap is None
    assert impact.did_2x2(many, "income", "treated", "post", cluster="village",
                          wild_below=100).wild_bootstrap is not None
    assert impact.did_2x2(few, "income", "treated", "post", cluster="village",
                          wild_below=None).wild_bootstrap is None
    assert impact.did_2x2(few, "income", "treated", "post").wild_bootstrap is None  # not clustered
    panel = village_panel(6)
    tw = impact.twfe(panel, "y", "d", "household_id", "year", cluster="village")
    assert tw.wild_bootstrap.loc[0, "n_clusters"] == 8
    by_unit = impact.twfe(panel, "y", "d", "household_id", "year")  # 48 households < 50
    assert by_unit.wild_bootstrap.loc[0, "n_clusters"] == 48


def test_wild_bootstrap_matches_wildboottest():
    """Reference: the ``wildboottest`` package through pyfixest's ``Feols.wildboottest`` (all
    fixed effects as dummies, restricted bootstrap, its own small-sample factor, which cancels)."""
    pytest.importorskip("wildboottest")
    import pyfixest as pf

    panel = village_panel(9)
    fit = pf.feols("y ~ d | household_id + year", panel, vcov={"CRV1": "village"})
    ref = fit.wildboottest(param="d", reps=9999, seed=1, weights_type="rademacher")
    unit, t = panel.household_id.to_numpy(), panel.year.to_numpy()
    x = np.column_stack([panel.d] + [(t == p).astype(float) for p in np.unique(t)[1:]])
    ours = inference.wild_cluster_bootstrap(x, panel.y.to_numpy(), panel.village.to_numpy(), 0,
                                            absorb=unit, weights="rademacher")
    assert ours.full_enumeration and 0.05 < ours.p_value < 0.95
    assert ours.p_value == pytest.approx(float(ref["Pr(>|t|)"]), abs=2 / 2 ** 8 + 1e-12)
    # the t statistics differ by the small-sample factor alone
    assert ours.t_stat == pytest.approx(float(ref["t value"]) * np.sqrt(float(ref["ssc"])),
                                        rel=1e-8)
    # Webb draws through the estimator: independent random draws, 4 standard deviations
    df = clustered_did(8, n_clusters=15, effect=0.5)
    est = impact.did_2x2(df, "income", "treated", "post", cluster="village")
    fit = pf.feols("income ~ treated * post", df, vcov={"CRV1": "village"})
    ref = fit.wildboottest(param="treated:post", reps=9999, seed=2, weights_type="webb")
    p_ref = float(ref["Pr(>|t|)"])
    assert 0.02 < p_ref < 0.98
    assert est.wild_bootstrap.loc[0, "wild_p_value"] == pytest.approx(
        p_ref, abs=4 * np.sqrt(2 * 0.25 / 9999))


@pytest.mark.slow
def test_monte_carlo_wild_bootstrap_size_with_15_clusters():
    """No effect, 15 villages of 5-59 households, 4 treated: CRV1 with t(G-1) over-rejects
    (about 11-12% at the 5% level), the restricted wild bootstrap does not. 1000 replications:
    Monte Carlo standard error about 0.7 points at 5%, so the bounds are about 3 of them."""
    reps = 1000
    crv1 = wild = 0
    for r in range(reps):
        df = clustered_did(1000 + r, n_clusters=15, treated=4)
        est = impact.did_2x2(df, "income", "treated", "post", cluster="village")
        crv1 += est.p_value < 0.05
        wild += est.wild_bootstrap.loc[0, "wild_p_value"] < 0.05
    crv1, wild = crv1 / reps, wild / reps
    print(f"rejection at 5%, {reps} replications: CRV1 {crv1:.3f}, wild bootstrap {wild:.3f}")
    assert 0.03 <= wild <= 0.07
    assert crv1 >= 0.08


# ----------------------------------------------------------------------------------------------
# Romano-Wolf step-down beside Holm
# ----------------------------------------------------------------------------------------------

def test_romano_wolf_pvalues_by_hand():
    # |t| = 3, 1; bootstrap |t*| rows (0.5, 2), (3.5, 0.1), (1, 1).
    # Step 1, hypothesis 0 against the max over both: 2, 3.5, 1 -> one of 3 >= 3: (1+1)/(3+1).
    # Step 2, hypothesis 1 against its own column: 2, 0.1, 1 -> two >= 1: (1+2)/4 = 0.75.
    p = inference.romano_wolf_pvalues(np.array([3.0, -1.0]),
                                      np.array([[0.5, 2.0], [-3.5, 0.1], [1.0, 1.0]]))
    assert p.tolist() == [0.5, 0.75]
    # monotone: a later step never gets a smaller adjusted p-value than an earlier one
    p = inference.romano_wolf_pvalues(np.array([3.0, 2.9]), np.array([[0.0, 3.0], [0.0, 0.0]]))
    assert p.tolist() == [2 / 3, 2 / 3]


def test_romano_wolf_pvalues_match_pyfixest():
    """Reference: pyfixest's step-down (``multcomp._get_rwolf_pval``, used by ``pf.rwolf``)."""
    multcomp = pytest.importorskip("pyfixest.estimation.post_estimation.multcomp")
    rng = np.random.default_rng(0)
    for k in (2, 5):
        t = rng.normal(0, 2, k)
        boot = rng.standard_t(5, size=(999, k))
        assert inference.romano_wolf_pvalues(t, boot) == pytest.approx(
            multcomp._get_rwolf_pval(t, boot), abs=1e-15)


def _training_sample(seed: int, n: int = 3000, effects=(0.15, 0.0, 0.0), rho: float = 0.6):
    """Selection on x; outcomes with correlated errors (correlation rho) and given ATTs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = rng.random(n) < 1 / (1 + np.exp(-x))
    common = rng.normal(size=n)
    frame = {"trained": d, "x": x}
    for k, effect in enumerate(effects):
        noise = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=n)
        frame[f"y{k}"] = x + effect * d + noise
    return pd.DataFrame(frame)


def test_romano_wolf_uses_the_correlation_holm_ignores():
    df = _training_sample(1, effects=(0.12, 0.12), rho=1.0)  # two copies of one outcome...
    df["y1"] = df["y0"]
    ests = {k: impact.att_weighting(df, k, "trained", "x") for k in ("y0", "y1")}
    table = inference.romano_wolf(ests, reps=9999).set_index("outcome")
    for k in ("y0", "y1"):
        assert table.loc[k, "std_error"] == pytest.approx(ests[k].std_error, rel=1e-12)
        assert table.loc[k, "p_value"] == pytest.approx(ests[k].p_value, rel=1e-9)
    p = table.loc["y0", "p_value"]
    assert 0.005 < p < 0.2  # an informative case
    # ...so there is one test, not two: Romano-Wolf keeps the unadjusted p-value (up to
    # Monte Carlo error, 4 standard deviations of a bootstrap p with 9999 draws), Holm doubles it
    assert table["p_romano_wolf"].tolist() == pytest.approx([p, p], abs=4 * np.sqrt(p / 9999) + 2e-4)
    assert table["p_holm"].tolist() == pytest.approx([2 * p, 2 * p])


def test_romano_wolf_refuses_what_it_cannot_bootstrap():
    df = _training_sample(2, n=800)
    dr = impact.att_weighting(df, "y0", "trained", "x")
    with pytest.raises(ValueError, match="no influence function"):
        inference.romano_wolf({"y0": dr, "y1": impact.att_weighting(df, "y1", "trained", "x",
                                                                    method="psm")})
    with pytest.raises(ValueError, match="different numbers of rows"):
        inference.romano_wolf({"y0": dr, "y1": impact.att_weighting(df.iloc[:700], "y1",
                                                                    "trained", "x")})
    with pytest.raises(ValueError, match="one value per row"):
        inference.romano_wolf({"y0": dr, "y1": dr}, clusters=np.arange(10))


@pytest.mark.slow
def test_monte_carlo_romano_wolf_family_wise_error():
    """Global null, three outcomes with correlated errors (0.6), doubly robust ATTs: the chance
    of at least one rejection at 5% is about 1 - 0.95^3 = 14% unadjusted (less with the
    correlation); Romano-Wolf and Holm keep it at or below 5%. 400 replications: Monte Carlo
    standard error about 1.1 points at 5%."""
    reps, any_raw, any_rw, any_holm = 400, 0, 0, 0
    for r in range(reps):
        df = _training_sample(500 + r, n=1500, effects=(0.0, 0.0, 0.0))
        ests = {k: impact.att_weighting(df, k, "trained", "x") for k in ("y0", "y1", "y2")}
        table = inference.romano_wolf(ests, reps=999, seed=r)
        any_raw += (table.p_value < 0.05).any()
        any_rw += (table.p_romano_wolf < 0.05).any()
        any_holm += (table.p_holm < 0.05).any()
    raw, rw, holm = any_raw / reps, any_rw / reps, any_holm / reps
    print(f"family-wise error at 5%, {reps} replications: unadjusted {raw:.3f}, "
          f"Romano-Wolf {rw:.3f}, Holm {holm:.3f}")
    assert raw > 0.08
    assert 0.02 <= rw <= 0.085 and holm <= rw + 0.01
