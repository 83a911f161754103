"""FGT poverty measures, their clustered standard errors, growth incidence and Alkire-Foster basic needs.

Expected values are worked out by hand in the comments; standard errors are checked against statsmodels
regressions with cluster-robust covariance, quantiles against numpy on person-expanded data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis import config
from analysis.measures import poverty as pv
from analysis.errors import ParameterError

BN = ["bn_food_clothing", "bn_education", "bn_medical", "bn_housing", "bn_water"]


def frame(rows: list[dict], **defaults) -> pd.DataFrame:
    """Households from short dicts; unspecified columns take ``defaults``."""
    base = {"year": 2024, "province": "示例省", "county": "X", "township": "t1", "village": "v1", "size": 1}
    base.update(defaults)
    out = pd.DataFrame([{**base, **r} for r in rows])
    out["household_id"] = [f"h{i}" for i in range(len(out))]
    out["size"] = out["size"].astype("Int64")
    out["year"] = out["year"].astype("Int64")
    for c in ("province", "county", "township", "village"):
        out[c] = out[c].astype("string")
    return out


# ----------------------------------------------------------------------------------------------------
# FGT
# ----------------------------------------------------------------------------------------------------
@pytest.fixture
def two_counties() -> pd.DataFrame:
    return frame([
        # county X, threshold 7500, 8 persons
        {"village": "v1", "size": 3, "net_income_pc": 6000.0},   # poor, gap 1500/7500 = 0.2
        {"village": "v1", "size": 1, "net_income_pc": 9000.0},   # near: 7500 <= 9000 < 11250
        {"village": "v2", "size": 2, "net_income_pc": 3000.0},   # poor, gap 4500/7500 = 0.6
        {"village": "v2", "size": 2, "net_income_pc": 7500.0},   # at the threshold: not poor, near
        # county Y, 5 persons with income (the last household has none and is left out)
        {"county": "Y", "village": "w1", "size": 1, "net_income_pc": 12000.0},  # above 1.5 x 7500
        {"county": "Y", "village": "w2", "size": 4, "net_income_pc": 0.0},      # gap 1
        {"county": "Y", "village": "w2", "size": 1, "net_income_pc": np.nan},
    ])


def test_fgt_exact_values(two_counties):
    out = pv.poverty(two_counties, thresholds=7500.0).set_index("county")
    x, y = out.loc["X"], out.loc["Y"]
    assert x["fgt0"] == pytest.approx(5 / 8)                      # (3 + 2) / 8
    assert x["fgt1"] == pytest.approx((3 * 0.2 + 2 * 0.6) / 8)    # 1.8 / 8 = 0.225
    assert x["fgt2"] == pytest.approx((3 * 0.04 + 2 * 0.36) / 8)  # 0.84 / 8 = 0.105
    assert x["share_near_threshold"] == pytest.approx(3 / 8)      # (1 + 2) / 8
    assert (x["persons"], x["households"], x["villages"]) == (8, 4, 2)
    assert x["threshold"] == 7500
    assert y["fgt0"] == y["fgt1"] == y["fgt2"] == pytest.approx(4 / 5)
    assert y["share_near_threshold"] == 0
    assert (y["persons"], y["households"]) == (5, 2)
    assert list(out.columns[:2]) == ["year", "threshold"]


def test_fgt_standard_error_by_hand(two_counties):
    # County X, FGT0: R = 5/8, total weight W = 8. Scores w_i (u_i - R) / W:
    #   v1: 3 (1 - 5/8)/8 + 1 (0 - 5/8)/8 = (1.125 - 0.625)/8 = 0.0625
    #   v2: 2 (1 - 5/8)/8 + 2 (0 - 5/8)/8 = (0.75 - 1.25)/8 = -0.0625
    # var = 2/(2-1) * (0.0625^2 + 0.0625^2) = 0.015625; se = 0.125.
    out = pv.poverty(two_counties, thresholds=7500.0).set_index("county")
    assert out.loc["X", "fgt0_se"] == pytest.approx(0.125)


def test_single_village_has_no_standard_error():
    hh = frame([{"size": 2, "net_income_pc": 5000.0}, {"size": 1, "net_income_pc": 9000.0}])
    out = pv.poverty(hh, thresholds=7500.0)
    assert out["fgt0"].item() == pytest.approx(2 / 3)
    assert pd.isna(out["fgt0_se"].item())


def random_households(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for county in ("A", "B", "C"):
        for v in range(int(rng.integers(5, 9))):
            level = rng.normal(0, 0.3)  # village effect, so that clustering matters
            for _ in range(int(rng.integers(6, 14))):
                rows.append({"county": county, "village": f"{county}{v}", "size": int(rng.integers(1, 7)),
                             "net_income_pc": float(7500 * np.exp(0.25 + level + rng.normal(0, 0.5))),
                             "household_type": "poverty_exited" if rng.random() < 0.4 else "general"})
    return frame(rows)


@pytest.mark.parametrize("measure", ["fgt0", "fgt1", "fgt2"])
def test_fgt_se_equals_cluster_robust_regression(measure):
    # The linearized variance n/(n-1) sum_c z_c^2 is the CR1 sandwich of a WLS regression of the
    # indicator on a constant with weights = size: bread 1/sum(w), meat sum_c (sum_i w_i e_i)^2, and
    # statsmodels' correction G/(G-1) * (N-1)/(N-K) reduces to G/(G-1) with K = 1.
    hh = random_households()
    out = pv.poverty(hh, thresholds=7500.0).set_index("county")
    gap = ((7500 - hh["net_income_pc"]) / 7500).clip(lower=0)
    u = {"fgt0": (gap > 0).astype(float), "fgt1": gap, "fgt2": gap ** 2}[measure]
    for county, part in hh.groupby("county"):
        fit = sm.WLS(u[part.index].to_numpy(), np.ones(len(part)), weights=part["size"].astype(float)).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(part["village"])[0], "use_correction": True})
        assert out.loc[county, measure] == pytest.approx(fit.params[0], rel=1e-12)
        assert out.loc[county, f"{measure}_se"] == pytest.approx(fit.bse[0], rel=1e-10)


def test_domain_se_counts_every_village_of_the_stratum():
    # A domain (household_type) inside a county is a subpopulation: the same as a weighted regression
    # over the whole county with zero weight outside the domain, clustered by village.
    hh = random_households(seed=7)
    out = pv.poverty(hh, by=("county", "household_type"), thresholds=7500.0).set_index(
        ["county", "household_type"])
    poor = (hh["net_income_pc"] < 7500).astype(float)
    for county, part in hh.groupby("county"):
        in_domain = (part["household_type"] == "poverty_exited").astype(float)
        fit = sm.WLS(poor[part.index].to_numpy(), np.ones(len(part)),
                     weights=part["size"].astype(float) * in_domain).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(part["village"])[0], "use_correction": True})
        row = out.loc[(county, "poverty_exited")]
        assert row["fgt0"] == pytest.approx(fit.params[0], rel=1e-12)
        assert row["fgt0_se"] == pytest.approx(fit.bse[0], rel=1e-10)


def test_each_household_uses_its_own_province_threshold():
    table = pd.DataFrame({"province": ["P1", "P2"], "year": [2024, 2024], "threshold": [6000.0, 8000.0]})
    hh = frame([{"province": "P1", "size": 2, "net_income_pc": 7000.0},   # above 6000; near (< 9000)
                {"province": "P2", "size": 2, "net_income_pc": 7000.0}])  # below 8000, gap 0.125
    out = pv.poverty(hh, thresholds=table).iloc[0]
    # Against the mean threshold 7000 nobody would be poor; against their own, half the persons are.
    assert out["threshold"] == pytest.approx(7000.0)   # (2 x 6000 + 2 x 8000) / 4
    assert out["fgt0"] == pytest.approx(0.5)
    assert out["fgt1"] == pytest.approx(2 * 0.125 / 4)
    assert out["share_near_threshold"] == pytest.approx(0.5)


def test_default_thresholds_come_from_the_configuration():
    hh = frame([{"year": 2022, "net_income_pc": 100.0}, {"year": 2024, "net_income_pc": 100.0}])
    out = pv.poverty(hh).set_index("year")
    table = config.thresholds()
    for year in (2022, 2024):
        expected = table.query("province == '示例省' and year == @year")["threshold"].item()
        assert out.loc[year, "threshold"] == expected


def test_poverty_rejects_bad_arguments(two_counties):
    with pytest.raises(ValueError, match="year"):
        pv.poverty(two_counties, by=("county", "year"))
    with pytest.raises(ValueError, match="nowhere"):
        pv.poverty(two_counties, by=("nowhere",))
    with pytest.raises(ValueError, match="band"):
        pv.poverty(two_counties, band=0.5, thresholds=7500.0)
    with pytest.raises(ValueError, match="village"):
        pv.poverty(two_counties.drop(columns="village"), thresholds=7500.0)


def test_poverty_does_not_mutate_input(two_counties):
    before = two_counties.copy()
    pv.poverty(two_counties, thresholds=7500.0)
    pd.testing.assert_frame_equal(two_counties, before)


# ----------------------------------------------------------------------------------------------------
# growth incidence
# ----------------------------------------------------------------------------------------------------
@pytest.fixture
def gic_frame() -> pd.DataFrame:
    # 2021 persons: 2 at 1000, 1 at 2000, 1 at 4000 -> F = 0.5, 0.75, 1.0.
    # 2023: the same households at 1440, 2000, 3240.
    rows = []
    for year, incomes in ((2021, (1000.0, 2000.0, 4000.0)), (2023, (1440.0, 2000.0, 3240.0))):
        for size, inc in zip((2, 1, 1), incomes):
            rows.append({"year": year, "size": size, "net_income_pc": inc})
    return frame(rows)


def test_growth_incidence_exact(gic_frame):
    out = pv.growth_incidence(gic_frame, 2021, 2023, quantiles=[0.25, 0.5, 0.6, 0.9], n_boot=0, real=False)
    # Q2021 = 1000, 1000, 2000, 4000; Q2023 = 1440, 1440, 2000, 3240 (Q(p) = min{y: F(y) >= p}).
    # Annual growth over two years: sqrt(1.44) - 1 = 0.2, 0.2, 0, sqrt(0.81) - 1 = -0.1.
    assert out["income_year0"].tolist() == [1000, 1000, 2000, 4000]
    assert out["income_year1"].tolist() == [1440, 1440, 2000, 3240]
    np.testing.assert_allclose(out["growth"], [0.2, 0.2, 0.0, -0.1], atol=1e-12)
    assert out[["conf_low", "conf_high"]].isna().all().all()
    assert list(out.columns) == ["county", "year0", "year1", "quantile", "income_year0", "income_year1",
                                 "growth", "conf_low", "conf_high"]


def test_growth_incidence_real_deflates_with_cpi(gic_frame):
    nominal = pv.growth_incidence(gic_frame, 2021, 2023, quantiles=[0.5], n_boot=0, real=False)
    real = pv.growth_incidence(gic_frame, 2021, 2023, quantiles=[0.5], n_boot=0, real=True)
    cpi = config.cpi_index()
    expected = ((1 + nominal["growth"].item()) ** 2 * cpi[2021] / cpi[2023]) ** 0.5 - 1
    assert real["growth"].item() == pytest.approx(expected)


def test_weighted_quantiles_match_numpy_on_expanded_persons():
    rng = np.random.default_rng(3)
    group = rng.integers(0, 4, 300)
    y = np.round(rng.lognormal(8, 1, 300), -2)   # rounding makes ties
    w = rng.integers(0, 6, 300).astype(float)   # zero weights (villages left out of a resample) included
    qs = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
    w[group == 3] = 0.0                          # a group whose every weight is zero
    got = pv._weighted_quantiles(group, y, w, qs, 5)
    for g in range(3):
        persons = np.repeat(y[group == g], w[group == g].astype(int))
        np.testing.assert_array_equal(got[g], np.quantile(persons, qs, method="inverted_cdf"))
    assert np.isnan(got[3]).all() and np.isnan(got[4]).all()   # nobody weighted, nobody at all


def test_growth_incidence_bootstrap_band():
    rng = np.random.default_rng(5)
    rows = []
    # County X: every village holds the same households, so any resample of villages gives the same
    # curve and the band collapses onto the estimate. County Y: villages differ, the band has width.
    for v in range(4):
        for size, a, b in ((2, 3000.0, 3600.0), (3, 6000.0, 6600.0), (1, 9000.0, 9000.0)):
            rows += [{"county": "X", "village": f"x{v}", "year": 2021, "size": size, "net_income_pc": a},
                     {"county": "X", "village": f"x{v}", "year": 2022, "size": size, "net_income_pc": b}]
        for _ in range(5):
            a = float(rng.lognormal(8.5 + 0.3 * v, 0.4))
            rows += [{"county": "Y", "village": f"y{v}", "year": 2021, "size": 2, "net_income_pc": a},
                     {"county": "Y", "village": f"y{v}", "year": 2022, "size": 2,
                      "net_income_pc": a * float(rng.lognormal(0.1 * v, 0.1))}]
    rows.append({"county": "Z", "village": "z", "year": 2021, "size": 1, "net_income_pc": 5000.0})
    rows.append({"county": "Z", "village": "z", "year": 2022, "size": 1, "net_income_pc": 5500.0})
    hh = frame(rows)
    out = pv.growth_incidence(hh, 2021, 2022, quantiles=[0.2, 0.5, 0.8], n_boot=99, seed=11, real=False)
    x, y, z = (out[out["county"] == c] for c in "XYZ")
    np.testing.assert_allclose(x["conf_low"], x["growth"])
    np.testing.assert_allclose(x["conf_high"], x["growth"])
    assert (y["conf_high"] - y["conf_low"] > 0.01).all()
    assert ((y["conf_low"] <= y["growth"]) & (y["growth"] <= y["conf_high"])).all()
    assert z["conf_low"].isna().all() and z["growth"].iloc[0] == pytest.approx(0.1)  # one village
    again = pv.growth_incidence(hh, 2021, 2022, quantiles=[0.2, 0.5, 0.8], n_boot=99, seed=11, real=False)
    pd.testing.assert_frame_equal(out, again)


def test_growth_incidence_rejects_bad_years(gic_frame):
    with pytest.raises(ValueError, match="year1 must be after"):
        pv.growth_incidence(gic_frame, 2023, 2021)
    with pytest.raises(ValueError, match="2019"):
        pv.growth_incidence(gic_frame, 2019, 2023)
    with pytest.raises(ValueError, match="quantiles"):
        pv.growth_incidence(gic_frame, 2021, 2023, quantiles=[0, 0.5])


# ----------------------------------------------------------------------------------------------------
# Alkire-Foster basic needs
# ----------------------------------------------------------------------------------------------------
def bn(size: int, deprived: tuple[str, ...] = (), missing: tuple[str, ...] = (), **extra) -> dict:
    flags = {c: (pd.NA if c in missing else c not in deprived) for c in BN}
    return {"size": size, **flags, **extra}


@pytest.fixture
def af_frame() -> pd.DataFrame:
    hh = frame([
        bn(2, ("bn_food_clothing", "bn_housing")),                  # score 0.4
        bn(3),                                                      # score 0
        bn(1, ("bn_housing",)),                                     # score 0.2
        bn(4, ("bn_food_clothing", "bn_education", "bn_medical")),  # score 0.6
        bn(5, missing=("bn_water",)),                               # incomplete
        bn(2, county="Y"), bn(1, county="Y"),                       # county Y: nobody deprived
    ])
    return hh.astype({c: "boolean" for c in BN})


def test_alkire_foster_exact(af_frame):
    out = pv.basic_needs(af_frame, k=0.4, missing="exclude").set_index("county")
    x = out.loc["X"]
    # Persons with complete flags: 2 + 3 + 1 + 4 = 10. Poor (score >= 0.4): 2 + 4 persons.
    assert x["H"] == pytest.approx(0.6)
    assert x["M0"] == pytest.approx((2 * 0.4 + 4 * 0.6) / 10)    # 0.32
    assert x["A"] == pytest.approx(0.32 / 0.6)                   # (2 x 0.4 + 4 x 0.6) / 6
    assert x["M0"] == pytest.approx(x["H"] * x["A"])
    expected_dep = {"bn_food_clothing": 0.6, "bn_education": 0.4, "bn_medical": 0.4, "bn_housing": 0.3,
                    "bn_water": 0.0}   # housing: (2 + 1) / 10, uncensored
    expected_cens = {"bn_food_clothing": 0.6, "bn_education": 0.4, "bn_medical": 0.4, "bn_housing": 0.2,
                     "bn_water": 0.0}  # housing: only the poor household of 2
    expected_contrib = {"bn_food_clothing": 0.375, "bn_education": 0.25, "bn_medical": 0.25,
                        "bn_housing": 0.125, "bn_water": 0.0}  # 0.2 x cens / 0.32
    for j in BN:
        assert x[f"dep_{j}"] == pytest.approx(expected_dep[j])
        assert x[f"cens_{j}"] == pytest.approx(expected_cens[j])
        assert x[f"contrib_{j}"] == pytest.approx(expected_contrib[j])
    assert x["M0"] == pytest.approx(sum(0.2 * x[f"cens_{j}"] for j in BN))
    assert (x["persons"], x["households"], x["households_excluded"]) == (10, 4, 1)
    y = out.loc["Y"]
    assert y["H"] == 0 and y["M0"] == 0 and pd.isna(y["A"])
    assert all(pd.isna(y[f"contrib_{j}"]) for j in BN)


def test_alkire_foster_cutoffs_and_missing_rules(af_frame):
    union = pv.basic_needs(af_frame, k=0.2).set_index("county").loc["X"]
    assert union["H"] == pytest.approx(0.7)                       # adds the household of 1
    assert union["M0"] == pytest.approx((0.8 + 0.2 + 2.4) / 10)   # 0.34
    kept = pv.basic_needs(af_frame, k=0.4, missing="not_deprived").set_index("county").loc["X"]
    assert kept["persons"] == 15 and kept["H"] == pytest.approx(6 / 15)
    assert kept["households_excluded"] == 0 and kept["dep_bn_water"] == 0
    worst = pv.basic_needs(af_frame, k=0.4, missing="deprived").set_index("county").loc["X"]
    assert worst["dep_bn_water"] == pytest.approx(5 / 15)        # score 0.2: deprived, not poor
    assert worst["H"] == pytest.approx(6 / 15)


def test_alkire_foster_custom_weights(af_frame):
    # Weights 2:1:1 over food, housing, water -> 0.5, 0.25, 0.25; k = 0.5.
    w = {"bn_food_clothing": 2, "bn_housing": 1, "bn_water": 1}
    x = pv.basic_needs(af_frame, k=0.5, weights=w).set_index("county").loc["X"]
    # Scores: household of 2 -> 0.5 + 0.25 = 0.75; of 1 -> 0.25; of 4 -> 0.5 (education and
    # medical are not in the measure). Poor: 2 + 4 of 10 persons.
    assert x["H"] == pytest.approx(0.6)
    assert x["M0"] == pytest.approx((2 * 0.75 + 4 * 0.5) / 10)
    assert "dep_bn_education" not in x.index
    assert sum(x[f"contrib_{j}"] for j in w) == pytest.approx(1.0)


def test_alkire_foster_identities_on_random_data():
    rng = np.random.default_rng(2)
    n = 400
    hh = frame([{"county": str(rng.choice(["A", "B", "C"])), "year": int(rng.choice([2023, 2024])),
                 "size": int(rng.integers(1, 7)), **{c: bool(rng.random() > 0.3) for c in BN}}
                for _ in range(n)]).astype({c: "boolean" for c in BN})
    out = pv.basic_needs(hh, k=0.4)
    np.testing.assert_allclose(out["M0"], out["H"] * out["A"])
    np.testing.assert_allclose(out["M0"], sum(0.2 * out[f"cens_{j}"] for j in BN))
    np.testing.assert_allclose(sum(out[f"contrib_{j}"] for j in BN), 1.0)
    assert len(out) == 6


def test_basic_needs_default_config_and_errors(af_frame):
    weights, k, missing = pv.basic_needs_config()
    assert set(weights) == set(BN) and sum(weights.values()) == pytest.approx(1.0)
    assert 0 < k <= 1 and missing in pv.MISSING_RULES
    out = pv.basic_needs(af_frame)
    assert out["k"].eq(k).all()
    for bad_k in (0, 1.5):
        with pytest.raises(ParameterError, match="k must be"):
            pv.basic_needs(af_frame, k=bad_k)
    with pytest.raises(ValueError, match="missing must be one of"):
        pv.basic_needs(af_frame, missing="ignore")
    with pytest.raises(ValueError, match="weights"):
        pv.basic_needs(af_frame, weights={"bn_water": -1})
    with pytest.raises(ValueError, match="bn_nothing"):
        pv.basic_needs(af_frame, weights={"bn_nothing": 1})
