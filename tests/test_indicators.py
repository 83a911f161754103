"""income_growth: exact values on a hand-built frame, and agreement with an independent computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.io import data
from analysis.measures import indicators


def _households() -> pd.DataFrame:
    # County A: two households in 2021 and 2022; county B: one household in 2021 only.
    rows = [
        # county, id, year, size, wage, business, property, transfer, expense, type, monitoring
        ("A", "h1", 2021, 2, 8000, 2000, 0, 1000, 1000, "poverty_exited", "unstable"),
        ("A", "h2", 2021, 4, 30000, 6000, 1000, 3000, 0, "general", "none"),
        ("A", "h1", 2022, 2, 10000, 2000, 0, 1000, 1000, "poverty_exited", "unstable"),
        ("A", "h2", 2022, 4, 32000, 6000, 1000, 3000, 2000, "general", "none"),
        ("B", "h3", 2021, 3, 12000, 3000, 0, 3000, 0, "general", "none"),
    ]
    f = pd.DataFrame(rows, columns=["county", "household_id", "year", "size", "income_wage", "income_business",
                                    "income_property", "income_transfer", "expense_production", "household_type",
                                    "monitoring_type"])
    f["prefecture"] = "P"
    f["province"] = "X省"
    f["net_income"] = f[["income_wage", "income_business", "income_property", "income_transfer"]].sum(axis=1) \
        - f["expense_production"]
    f["net_income_pc"] = f["net_income"] / f["size"]
    return f


THRESHOLDS = pd.DataFrame({"province": ["*", "*"], "year": [2021, 2022], "threshold": [6000.0, 6500.0]})
CPI = pd.Series({2020: 1.0, 2021: 1.0, 2022: 1.02})


def test_exact_values_by_county():
    out = indicators.income_growth(_households(), by=("county",), thresholds=THRESHOLDS, cpi=CPI)
    a21 = out[(out["county"] == "A") & (out["year"] == 2021)].iloc[0]
    # A 2021: net incomes h1 = 8000+2000+0+1000-1000 = 10000 (5000 pc), h2 = 40000 (10000 pc)
    assert a21["households"] == 2 and a21["persons"] == 6
    assert a21["income_pc"] == pytest.approx(50000 / 6)          # total / persons, not mean of pc
    assert a21["median_income_pc"] == 10000                        # persons: 2 at 5000, 4 at 10000
    assert a21["share_wage"] == pytest.approx(38000 / 50000)
    assert a21["share_business"] == pytest.approx((8000 - 1000) / 50000)   # net of production expenses
    assert a21["share_transfer"] == pytest.approx(4000 / 50000)
    assert a21[["share_wage", "share_business", "share_property", "share_transfer"]].sum() == pytest.approx(1)
    assert a21["share_below_threshold"] == pytest.approx(2 / 6)    # h1's 2 persons at 5000 < 6000
    assert np.isnan(a21["growth_nominal"])
    a22 = out[(out["county"] == "A") & (out["year"] == 2022)].iloc[0]
    # A 2022: h1 = 12000, h2 = 40000 -> 52000 / 6
    assert a22["income_pc"] == pytest.approx(52000 / 6)
    assert a22["growth_nominal"] == pytest.approx(52000 / 50000 - 1)
    assert a22["growth_real"] == pytest.approx((52000 / 50000) / 1.02 - 1)
    assert a22["share_below_threshold"] == pytest.approx(2 / 6)    # h1 6000 pc < 6500
    assert a22["threshold"] == 6500


def test_prefecture_and_subgroups():
    h = _households()
    pref = indicators.income_growth(h, by=("prefecture",), thresholds=THRESHOLDS, cpi=CPI)
    p21 = pref[pref["year"] == 2021].iloc[0]
    assert p21["income_pc"] == pytest.approx((50000 + 18000) / 9)
    assert p21["households"] == 3
    sub = indicators.income_growth(h, by=("county", "household_type"), thresholds=THRESHOLDS, cpi=CPI)
    pe = sub[(sub["county"] == "A") & (sub["household_type"] == "poverty_exited")].set_index("year")
    assert pe.loc[2021, "income_pc"] == 5000 and pe.loc[2022, "income_pc"] == 6000
    assert pe.loc[2022, "growth_nominal"] == pytest.approx(0.2)


def test_year_gap_gives_nan_not_a_jump():
    h = _households()
    h = h[~((h["county"] == "A") & (h["year"] == 2021))]
    h = pd.concat([h, _households().query("county == 'A' and year == 2021").assign(year=2020)])
    thr = pd.concat([THRESHOLDS, pd.DataFrame({"province": ["*"], "year": [2020], "threshold": [6000.0]})])
    out = indicators.income_growth(h, by=("county",), thresholds=thr, cpi=CPI)
    assert np.isnan(out[(out["county"] == "A") & (out["year"] == 2022)]["growth_nominal"].item())


def test_input_not_mutated():
    h = _households()
    before = h.copy(deep=True)
    indicators.income_growth(h, by=("county",), thresholds=THRESHOLDS, cpi=CPI)
    pd.testing.assert_frame_equal(h, before)


def test_missing_columns_named():
    with pytest.raises(ValueError, match="income_wage"):
        indicators.income_growth(_households().drop(columns="income_wage"), thresholds=THRESHOLDS, cpi=CPI)


def test_matches_independent_computation(small_processed):
    """On the ingested sample: a plain loop over counties and years, written separately from the module."""
    h = data.load("households", small_processed)
    out = indicators.income_growth(h, by=("county",)).set_index(["county", "year"])
    thresholds = {2020: 6000, 2021: 6000, 2022: 6500, 2023: 7000, 2024: 7500}   # 示例省 in thresholds.csv
    for (county, year), grp in h.groupby(["county", "year"]):
        persons = grp["size"].sum()
        income = (grp["income_wage"] + grp["income_business"] + grp["income_property"] + grp["income_transfer"]
                  - grp["expense_production"]).sum()
        row = out.loc[(county, year)]
        assert row["persons"] == persons
        assert row["income_pc"] == pytest.approx(income / persons, rel=1e-12)
        below = grp.loc[grp["net_income_pc"] < thresholds[year], "size"].sum()
        assert row["share_below_threshold"] == pytest.approx(below / persons)
        expanded = np.repeat(grp["net_income_pc"].to_numpy(), grp["size"].to_numpy())
        assert row["median_income_pc"] == np.sort(expanded)[(len(expanded) - 1) // 2]
        assert row["share_wage"] == pytest.approx(grp["income_wage"].sum() / income)


def test_report_average_growth_uses_every_year_after_the_first():
    from analysis.reporting import income
    table = pd.DataFrame({"year": [2021, 2022, 2023], "growth_real": [0.10, 0.21, 0.0]})
    # (1.10 * 1.21 * 1.00) ** (1/3) - 1: all three years of growth count, none is dropped
    assert income._cagr(table) == pytest.approx((1.10 * 1.21) ** (1 / 3) - 1)


def test_income_distribution_counts_every_person_once():
    h = pd.DataFrame({"household_id": list("abcdef"), "year": 2023, "province": "示例省", "county": "c1",
                      "household_type": ["general", "general", "poverty_exited", "general", "poverty_exited",
                                         "general"],
                      "net_income_pc": [1000.0, 5000.0, 9000.0, 12000.0, 20000.0, 500000.0],
                      "size": [1, 2, 3, 4, 5, 1]})
    d = indicators.income_distribution(h, by=("county",), bins=4, upper_quantile=0.9)
    # persons-weighted 90th percentile: cumulative shares 1/16, 3/16, 6/16, 10/16, 15/16 -> 20000
    assert d["bin_low"].min() == 0 and d["bin_high"].max() == 20000
    assert d.groupby("household_type")["persons"].sum().to_dict() == {"general": 7.0, "poverty_exited": 8.0}
    above = d.drop_duplicates("household_type").set_index("household_type")["persons_above"]
    assert above.to_dict() == {"general": 1.0, "poverty_exited": 0.0}  # the 500,000 household, out of view
    assert d["households"].sum() == 5


# ---------------------------------------------------------------------------- growth of the same households
FLAT_CPI = pd.Series(1.0, index=range(2019, 2026))


def _panel(n_villages=4, per_village=5, seed=0):
    rng = np.random.default_rng(seed)
    n = n_villages * per_village
    base = pd.DataFrame({"household_id": [f"h{i}" for i in range(n)], "county": "A",
                         "village": [f"v{i // per_village}" for i in range(n)], "size": rng.integers(1, 6, n),
                         "household_type": np.where(np.arange(n) % 2 == 0, "poverty_exited", "general"),
                         "monitoring_type": "none", "net_income": rng.uniform(5_000, 40_000, n)})
    later = base.assign(net_income=base["net_income"] * 1.1)
    return pd.concat([base.assign(year=2021), later.assign(year=2022)], ignore_index=True)


def test_panel_growth_by_hand_every_household_grows_ten_percent():
    h = _panel()
    g = indicators.panel_growth(h, cpi=FLAT_CPI).set_index("group")
    for group in ("all", "poverty_exited"):
        row = g.loc[group]
        assert row["year"] == 2022 and row["year_start"] == 2021
        assert row["growth_nominal"] == pytest.approx(0.1, abs=1e-12)
        # every household's contribution is zero, so the interval has no width
        assert row["growth_real_low"] == pytest.approx(0.1, abs=1e-12)
        assert row["growth_real_high"] == pytest.approx(0.1, abs=1e-12)
    assert g.loc["all", "households"] == 20 and g.loc["poverty_exited", "households"] == 10
    assert g.loc["all", "villages"] == 4


def test_panel_growth_fixes_the_group_at_the_start_year_and_drops_unmatched_households():
    h = _panel()
    # h1 enters monitoring in 2022 after its income halves; h3 appears only in 2022
    entered = (h["household_id"] == "h1") & (h["year"] == 2022)
    h.loc[entered, ["monitoring_type", "net_income"]] = ["marginal", h.loc[entered, "net_income"].iloc[0] / 2.2]
    h = pd.concat([h[~((h["household_id"] == "h3") & (h["year"] == 2021))]], ignore_index=True)
    g = indicators.panel_growth(h, cpi=FLAT_CPI).set_index("group")
    assert "monitored" not in g.index            # nobody was monitored in 2021
    assert g.loc["all", "households"] == 19      # h3 is not observed in both years
    # h1 stays in 2021's groups: all households and 一般农户's growth carry its fall
    assert g.loc["all", "growth_nominal"] < 0.1


def test_panel_growth_interval_covers_the_expected_growth_in_95_percent_of_counties():
    """Monte Carlo: 400 counties of 25 villages x 8 households, village growth shocks (sd 8 points) and
    household shocks (sd 15 points) around an expected growth of 5%; the interval should cover 5% in
    about 95% of counties (two binomial standard errors: +-2.2 points)."""
    rng = np.random.default_rng(2024)
    counties, villages, per = 400, 25, 8
    n = counties * villages * per
    county = np.repeat(np.arange(counties), villages * per)
    village = np.repeat(np.arange(counties * villages), per)
    y0 = rng.lognormal(9.5, 0.6, n)
    shock = rng.normal(0, 0.08, counties * villages)[village] + rng.normal(0, 0.15, n)
    size = rng.integers(1, 6, n)
    base = pd.DataFrame({"household_id": np.arange(n).astype(str), "county": county.astype(str),
                         "village": village.astype(str), "size": size, "household_type": "general",
                         "monitoring_type": "none"})
    h = pd.concat([base.assign(year=2021, net_income=y0), base.assign(year=2022, net_income=y0 * (1.05 + shock))],
                  ignore_index=True)
    g = indicators.panel_growth(h, cpi=FLAT_CPI)
    g = g[g["group"] == "all"]
    assert len(g) == counties
    coverage = ((g["growth_real_low"] <= 0.05) & (g["growth_real_high"] >= 0.05)).mean()
    assert 0.928 <= coverage <= 0.972, coverage
