"""Monitoring targets, identification gaps, risk elimination, transitions, returns, risk scores.

Each test builds a small panel by hand; the expected numbers are worked out in the comments.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.core.disclosure import suppress_small
import statsmodels.api as sm
from scipy import stats

from analysis import config
from analysis.measures import monitoring as mon
from analysis.errors import ParameterError

BN = ["bn_food_clothing", "bn_education", "bn_medical", "bn_housing", "bn_water"]
RISKS = ["illness", "disability", "disaster", "accident", "unstable_work"]
DEFAULTS = {"year": 2024, "province": "示例省", "county": "X", "township": "t1", "village": "v1", "size": 1,
            "household_type": "general", "monitoring_type": "none", "risk_eliminated": False,
            "monitoring_start": None, "elimination_date": None, "elimination_mode": None,
            "net_income_pc": 20000.0, "expense_rigid": 0.0, "labor_count": 1, "receives_dibao": False,
            **{c: True for c in BN}, **{f"risk_{r}": False for r in RISKS}}


def frame(rows: list[dict]) -> pd.DataFrame:
    """Households with canonical dtypes from short dicts (``id`` names the household)."""
    out = pd.DataFrame([{**DEFAULTS, **r} for r in rows]).rename(columns={"id": "household_id"})
    if "net_income" not in out:
        out["net_income"] = out["net_income_pc"] * out["size"]
    types = {"year": "Int64", "size": "Int64", "labor_count": "Int64", "risk_eliminated": "boolean",
             "receives_dibao": "boolean", **{c: "boolean" for c in BN},
             **{f"risk_{r}": "boolean" for r in RISKS}, "net_income_pc": "float64", "net_income": "float64",
             "expense_rigid": "float64"}
    for c in ("household_id", "province", "county", "township", "village", "household_type",
              "monitoring_type", "elimination_mode"):
        types[c] = "string"
    out = out.astype(types)
    for c in ("monitoring_start", "elimination_date"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ms]")
    return out


# ----------------------------------------------------------------------------------------------------
# coverage
# ----------------------------------------------------------------------------------------------------
def test_coverage_exact():
    hh = frame([
        {"id": "a", "size": 3, "household_type": "poverty_exited", "monitoring_type": "unstable"},
        {"id": "b", "size": 2, "monitoring_type": "marginal", "risk_eliminated": True},
        {"id": "c", "size": 4, "household_type": "poverty_exited", "monitoring_type": "sudden_hardship"},
        {"id": "d", "size": 1, "household_type": "poverty_exited"},
        {"id": "e", "size": 5},
        {"id": "f", "size": 2, "monitoring_type": None},   # missing type: not a target
    ])
    row = mon.coverage(hh).iloc[0]
    assert (row["households"], row["persons"]) == (6, 17)
    assert (row["households_targets"], row["persons_targets"]) == (3, 9)       # a, b, c
    assert row["share_households_targets"] == pytest.approx(3 / 6)
    assert row["share_persons_targets"] == pytest.approx(9 / 17)
    assert (row["households_unstable"], row["persons_unstable"]) == (1, 3)
    assert row["share_persons_unstable"] == pytest.approx(3 / 17)
    assert row["share_persons_marginal"] == pytest.approx(2 / 17)
    assert row["share_persons_sudden_hardship"] == pytest.approx(4 / 17)
    assert (row["households_active"], row["persons_active"]) == (2, 7)         # b is eliminated
    assert row["persons_targets_per_exited"] == pytest.approx(9 / 8)           # exited persons 3+4+1


# ----------------------------------------------------------------------------------------------------
# identification gap
# ----------------------------------------------------------------------------------------------------
@pytest.fixture
def gap_frame() -> pd.DataFrame:
    return frame([
        {"id": "g1", "size": 2, "net_income_pc": 7000.0},                       # income < 7500
        {"id": "g2", "size": 2, "net_income_pc": 10000.0, "expense_rigid": 12000.0},
        # g2: 12000 >= 0.5 x 20000 (rigid) and (20000 - 12000) / 2 = 4000 < 7500 (after rigid)
        {"id": "g3", "size": 1, "net_income_pc": 9000.0, "expense_rigid": 2000.0},
        # g3: 2000 < 0.5 x 9000, but 9000 - 2000 = 7000 < 7500 (after rigid only)
        {"id": "g4", "bn_housing": False},                                      # basic needs
        {"id": "g5", "monitoring_type": "unstable", "net_income_pc": 5000.0},   # monitored: no gap
        {"id": "g6"},                                                           # nothing
        {"id": "g7", "net_income_pc": np.nan, "expense_rigid": np.nan, "bn_water": None},  # unknown
    ])


def test_identification_gap_rows(gap_frame):
    out = mon.identification_gap(gap_frame, thresholds=7500.0)
    assert out["household_id"].tolist() == ["g1", "g2", "g3", "g4"]
    assert out["rules_hit"].tolist() == ["income", "rigid_expenditure;income_after_rigid",
                                         "income_after_rigid", "basic_needs"]
    assert out["threshold"].eq(7500).all()
    assert {"county", "village", "year"} <= set(out.columns)


def test_identification_gap_summary_and_overrides(gap_frame):
    row = mon.identification_gap_summary(gap_frame, thresholds=7500.0).iloc[0]
    assert (row["households"], row["households_meeting_rules"], row["households_gap"]) == (7, 5, 4)
    assert row["gap_share"] == pytest.approx(4 / 5)
    assert row["persons_gap"] == 2 + 2 + 1 + 1
    assert (row["gap_income"], row["gap_rigid_expenditure"], row["gap_income_after_rigid"],
            row["gap_basic_needs"]) == (1, 1, 2, 1)
    off = mon.identification_gap(gap_frame, thresholds=7500.0, rules={"basic_needs": {"enabled": False}})
    assert off["household_id"].tolist() == ["g1", "g2", "g3"] and "rule_basic_needs" not in off
    strict = mon.identification_gap(gap_frame, thresholds=7500.0,
                                    rules={"rigid_expenditure": {"min_share_of_net_income": 0.7}})
    assert strict.set_index("household_id").loc["g2", "rules_hit"] == "income_after_rigid"
    with pytest.raises(ValueError, match="unknown rule"):
        mon.identification_gap(gap_frame, rules={"wealth": {}})
    with pytest.raises(ValueError, match="no parameter"):
        mon.identification_gap(gap_frame, rules={"income": {"multiplier": 2}})


def test_small_rigid_spending_does_not_make_a_sudden_hardship():
    hh = frame([{"id": "s1", "size": 1, "net_income_pc": 7600.0, "expense_rigid": 133.0},   # 7467 after: tiny
                {"id": "s2", "size": 1, "net_income_pc": 9000.0, "expense_rigid": 2500.0}])  # large and >= 10%
    out = mon.identification_gap(hh, thresholds=7500.0)
    assert out["household_id"].tolist() == ["s2"]
    no_minimum = {"income_after_rigid": {"min_amount": 0, "min_share_of_net_income": 0.0}}
    assert mon.identification_gap(hh, thresholds=7500.0, rules=no_minimum)["household_id"].tolist() == ["s1", "s2"]


def test_rule_overlap_counts_each_household_once(gap_frame):
    out = mon.identification_rule_overlap(gap_frame, thresholds=7500.0).set_index("rules")
    # g1 and the monitored g5 meet the income rule alone
    assert out["households"].to_dict() == {"income": 2, "rigid_expenditure+income_after_rigid": 1,
                                           "income_after_rigid": 1, "basic_needs": 1}
    assert out["households"].sum() == mon.identification_gap_summary(
        gap_frame, thresholds=7500.0)["households_meeting_rules"].iloc[0]
    assert out["households_gap"].sum() == 4 and out.loc["income", "households_gap"] == 1


def test_sensitivity_moves_one_parameter_and_marks_the_configured_value(gap_frame):
    out = mon.identification_sensitivity(gap_frame, thresholds=7500.0, grid={
        ("income_after_rigid", "min_amount"): (0, 2000, 5000), ("income", "threshold_multiplier"): (1.0, 3.0)})
    amounts = out[out["parameter"] == "min_amount"].set_index("value")
    assert amounts["configured"].to_dict() == {0.0: False, 2000.0: True, 5000.0: False}
    assert amounts.loc[2000.0, "households_gap"] == 4          # as configured: g1, g2, g3, g4
    assert amounts.loc[5000.0, "households_gap"] == 3          # g3's 2,000 yuan no longer counts
    wider = out[out["parameter"] == "threshold_multiplier"].set_index("value")
    assert wider.loc[3.0, "households_gap"] == 5               # 3 x 7500 now catches g6 (20,000) too


# ----------------------------------------------------------------------------------------------------
# elimination and Kaplan-Meier
# ----------------------------------------------------------------------------------------------------
START = "2022-01-01"


@pytest.fixture
def spells() -> pd.DataFrame:
    u = {"monitoring_type": "unstable", "monitoring_start": START}
    return frame([
        # s1 eliminated 2022-07-01 (181 days), record stays in 2023
        {"id": "s1", "year": 2022, **u, "risk_eliminated": True, "elimination_date": "2022-07-01",
         "elimination_mode": "assisted", "size": 2},
        {"id": "s1", "year": 2023, **u, "risk_eliminated": True, "elimination_date": "2022-07-01",
         "elimination_mode": "assisted", "size": 2},
        # s2 not eliminated, last seen 2022 -> censored 2022-12-31 (364 days)
        {"id": "s2", "year": 2022, **u},
        # s3 eliminated 2023-01-01 (365 days)
        {"id": "s3", "year": 2022, **u},
        {"id": "s3", "year": 2023, **u, "risk_eliminated": True, "elimination_date": "2023-01-01",
         "elimination_mode": "natural"},
        # s4 eliminated 2022-04-01 (90 days)
        {"id": "s4", "year": 2022, **u, "risk_eliminated": True, "elimination_date": "2022-04-01",
         "elimination_mode": "natural", "size": 4},
        # s5 not eliminated, seen 2022 and 2023 -> censored 2023-12-31 (729 days)
        {"id": "s5", "year": 2022, **u},
        {"id": "s5", "year": 2023, **u},
        # county Y: one spell eliminated after 31 days
        {"id": "y1", "county": "Y", "year": 2022, **u, "risk_eliminated": True,
         "elimination_date": "2022-02-01"},
        {"id": "n1", "year": 2022},   # not a target
    ])


def test_kaplan_meier_by_hand(spells):
    out = mon.elimination_survival(spells)
    x = out[out["county"] == "X"]
    # Times in days: 90 E, 181 E, 364 C, 365 E, 729 C.
    # S(90) = 4/5 = 0.8; S(181) = 0.8 x 3/4 = 0.6; at 365 two at risk (365, 729): S = 0.6 x 1/2 = 0.3.
    np.testing.assert_allclose(x["months"], np.array([90, 181, 365]) / 30.4375)
    np.testing.assert_allclose(x["survival"], [0.8, 0.6, 0.3])
    assert x["at_risk"].tolist() == [5, 4, 2] and x["events"].tolist() == [1, 1, 1]
    # Greenwood: var S(t) = S^2 sum d / (n (n - d)); log(-log) limits S^exp(-/+ z se / (S |log S|)).
    s = np.array([0.8, 0.6, 0.3])
    se = s * np.sqrt(np.cumsum([1 / 20, 1 / 12, 1 / 2]))
    half = stats.norm.ppf(0.975) * se / (s * np.abs(np.log(s)))
    np.testing.assert_allclose(x["conf_low"], s ** np.exp(half))
    np.testing.assert_allclose(x["conf_high"], s ** np.exp(-half))
    y = out[out["county"] == "Y"]
    assert y["survival"].tolist() == [0.0] and y["conf_low"].isna().all()


def test_kaplan_meier_as_of(spells):
    # Cut at 2022-06-30: only s4's elimination (90 days) is seen; the others are censored then.
    out = mon.elimination_survival(spells, as_of="2022-06-30")
    x = out[out["county"] == "X"]
    np.testing.assert_allclose(x["survival"], [0.8])
    assert x["at_risk"].tolist() == [5]


def test_new_monitoring_start_opens_a_new_spell():
    # Eliminated 2022-07-01; monitored again from 2024-03-01. The 2024 record still carries the old
    # elimination, dated before the new start, so it does not end the new spell, which is censored.
    u = {"id": "r", "monitoring_type": "unstable", "risk_eliminated": True, "elimination_date": "2022-07-01"}
    hh = frame([{**u, "year": 2022, "monitoring_start": START},
                {**u, "year": 2024, "monitoring_start": "2024-03-01"}])
    out = mon.elimination_survival(hh)
    # Two spells: 181 days (event), 306 days (censored) -> S(181) = 1/2.
    np.testing.assert_allclose(out["survival"], [0.5])
    assert out["at_risk"].tolist() == [2]
    assert mon.monitoring_status(hh).tolist() == ["eliminated", "returned"]
    # A single record re-monitored after an earlier elimination (flag reset, old date kept) is a return.
    alone = frame([{"id": "q", "year": 2024, "monitoring_type": "marginal", "monitoring_start": "2024-03-01",
                    "elimination_date": "2022-07-01"}])
    assert mon.monitoring_status(alone).tolist() == ["returned"]


def test_elimination_rates(spells):
    out = mon.elimination(spells).set_index(["county", "year"])
    r22, r23 = out.loc[("X", 2022)], out.loc[("X", 2023)]
    # 2022: targets s1..s5 = 5 (persons 2+1+1+4+1 = 9); eliminated s1, s4 (persons 6).
    assert (r22["targets"], r22["eliminated"]) == (5, 2)
    assert r22["elimination_rate"] == pytest.approx(0.4)
    assert r22["elimination_rate_persons"] == pytest.approx(6 / 9)
    assert (r22["eliminated_in_year"], r22["assisted"], r22["natural"]) == (2, 1, 1)
    assert r22["months_mean"] == pytest.approx((181 + 90) / 2 / 30.4375)
    # 2023: targets s1, s3, s5; eliminated s1 (stock, eliminated in 2022) and s3 (2023-01-01).
    assert (r23["targets"], r23["eliminated"], r23["eliminated_in_year"]) == (3, 2, 1)
    assert r23["months_median"] == pytest.approx(365 / 30.4375)


def test_failed_eliminations():
    u = {"monitoring_type": "unstable", "risk_eliminated": True}
    hh = frame([
        {"id": "e1", "year": 2023, **u, "monitoring_start": "2023-01-01", "elimination_date": "2023-03-01",
         "net_income_pc": 9000.0},                        # 59 days = 1.9 months < 6: too fast
        {"id": "e2", "year": 2023, **u, "monitoring_start": START, "elimination_date": "2023-06-01",
         "net_income_pc": 7000.0},                        # income still below 7500
        {"id": "e2", "year": 2024, **u, "monitoring_start": START, "elimination_date": "2023-06-01",
         "net_income_pc": 6000.0},                        # same elimination, later record: not again
        {"id": "e3", "year": 2023, **u, "monitoring_start": START, "elimination_date": "2023-06-01",
         "net_income_pc": 9000.0, "labor_count": 0},      # no labour: reported, not failed
        {"id": "e4", "year": 2022, **u, "monitoring_start": START, "elimination_date": "2022-12-01",
         "net_income_pc": 8000.0},                        # fine
        {"id": "e5", "year": 2023, "monitoring_type": "unstable", "monitoring_start": START,
         "net_income_pc": 5000.0},                        # not eliminated
    ])
    rows = mon.failed_eliminations(hh, thresholds=7500.0)
    assert rows["household_id"].tolist() == ["e1", "e2"]
    assert rows["too_fast"].tolist() == [True, False]
    assert rows["income_in_range"].tolist() == [False, True]
    assert rows["months_monitored"].iloc[0] == pytest.approx(59 / 30.4375)
    summary = mon.failed_eliminations_summary(hh, thresholds=7500.0).set_index("year")
    assert summary.loc[2022, ["eliminations", "failed"]].tolist() == [1, 0]
    assert summary.loc[2023, ["eliminations", "failed", "income_in_range", "too_fast",
                              "no_labor_capacity"]].tolist() == [3, 2, 1, 1, 1]
    assert summary.loc[2023, "failed_share"] == pytest.approx(2 / 3)
    assert 2024 not in summary.index
    assert len(mon.failed_eliminations(hh, thresholds=7500.0, min_months=0)) == 1


# ----------------------------------------------------------------------------------------------------
# transitions and returns
# ----------------------------------------------------------------------------------------------------
@pytest.fixture
def panel() -> pd.DataFrame:
    m = {"monitoring_type": "unstable", "monitoring_start": START}
    e = {**m, "risk_eliminated": True, "elimination_date": "2023-05-01"}
    c = {"monitoring_type": "marginal", "monitoring_start": "2021-02-01"}
    ce = {**c, "risk_eliminated": True, "elimination_date": "2022-06-01"}
    return frame([
        # A: not_at_risk, monitored, eliminated, returned (new start after the elimination)
        {"id": "A", "year": 2021}, {"id": "A", "year": 2022, **m}, {"id": "A", "year": 2023, **e},
        {"id": "A", "year": 2024, **e, "monitoring_start": "2024-02-01"},
        # B: never at risk
        *({"id": "B", "year": y} for y in (2021, 2022, 2023, 2024)),
        # C: monitored, eliminated, a record with the flag reset (still eliminated), eliminated
        {"id": "C", "year": 2021, **c}, {"id": "C", "year": 2022, **ce}, {"id": "C", "year": 2023},
        {"id": "C", "year": 2024, **ce},
        # D: no record in 2023, so only the pair 2021 -> 2022 counts
        {"id": "D", "year": 2021}, {"id": "D", "year": 2022}, {"id": "D", "year": 2024, **m},
    ])


def test_monitoring_status(panel):
    status = mon.monitoring_status(panel).groupby(panel["household_id"]).agg(list)
    assert status["A"] == ["not_at_risk", "monitored", "eliminated", "returned"]
    assert status["B"] == ["not_at_risk"] * 4
    assert status["C"] == ["monitored", "eliminated", "eliminated", "eliminated"]
    assert status["D"] == ["not_at_risk", "not_at_risk", "monitored"]


def test_transition_counts(panel):
    out = mon.transitions(panel)
    got = {(r.year_from, r.status_from, r.status_to): (r.households, r.share) for r in out.itertuples()}
    assert got == {
        # 2021 -> 2022: A n->m, B n->n, C m->e, D n->n. From not_at_risk: 3 households.
        (2021, "not_at_risk", "monitored"): (1, pytest.approx(1 / 3)),
        (2021, "not_at_risk", "not_at_risk"): (2, pytest.approx(2 / 3)),
        (2021, "monitored", "eliminated"): (1, 1.0),
        # 2022 -> 2023: A m->e, B n->n, C e->e (D has no 2023 record).
        (2022, "monitored", "eliminated"): (1, 1.0),
        (2022, "not_at_risk", "not_at_risk"): (1, 1.0),
        (2022, "eliminated", "eliminated"): (1, 1.0),
        # 2023 -> 2024: A e->r, B n->n, C e->e.
        (2023, "eliminated", "returned"): (1, pytest.approx(0.5)),
        (2023, "eliminated", "eliminated"): (1, pytest.approx(0.5)),
        (2023, "not_at_risk", "not_at_risk"): (1, 1.0),
    }
    assert (out["year_to"] == out["year_from"] + 1).all()


def test_return_rates_after_elimination(panel):
    out = mon.return_rates(panel.assign(household_type="general"), thresholds=7500.0).set_index("year")
    # 2024: eliminated in 2023 were A and C; A returned -> 1/2. 2023: C eliminated in 2022, not back.
    assert out.loc[2024, ["eliminated_prev", "returned_after_elimination"]].tolist() == [2, 1]
    assert out.loc[2024, "return_rate_eliminated"] == pytest.approx(0.5)
    assert out.loc[2023, "return_rate_eliminated"] == 0.0
    assert pd.isna(out.loc[2022, "return_rate_eliminated"])


def test_return_rates_of_poverty_exited():
    pe = {"household_type": "poverty_exited"}
    rows = []
    for hid, size, y23, y24, extra23, extra24 in [
        ("E", 2, 8000.0, 7000.0, {}, {}),                                       # pool, fell below
        ("F", 3, 9000.0, 9500.0, {}, {"monitoring_type": "sudden_hardship"}),   # pool, newly monitored
        ("G", 1, 7000.0, 7000.0, {}, {}),                                       # below in 2023: not pool
        ("H", 1, 8000.0, 7000.0, {"monitoring_type": "unstable"}, {"monitoring_type": "unstable"}),
        ("J", 5, 10000.0, 11000.0, {}, {}),                                     # pool, fine
        ("K", 1, 8000.0, np.nan, {}, {}),                                       # outcome unknown
    ]:
        rows.append({"id": hid, "year": 2023, "size": size, "net_income_pc": y23, **pe, **extra23})
        rows.append({"id": hid, "year": 2024, "size": size, "net_income_pc": y24, **pe, **extra24})
    rows += [{"id": "I", "year": 2023, "net_income_pc": 8000.0},      # general household: not in pool
             {"id": "I", "year": 2024, "net_income_pc": 10.0}]
    out = mon.return_rates(frame(rows), thresholds=7500.0).set_index("year").loc[2024]
    # Pool: E, F, J. Returned: E (fell below), F (newly monitored) -> 2/3; persons (2 + 3) / 10.
    assert out[["exited_pool", "exited_fell_below", "exited_newly_monitored", "exited_returned"]].tolist() \
        == [3, 1, 1, 2]
    assert out["return_rate_exited"] == pytest.approx(2 / 3)
    assert out["return_rate_exited_persons"] == pytest.approx(0.5)


# ----------------------------------------------------------------------------------------------------
# risk score and warning validity
# ----------------------------------------------------------------------------------------------------
TEST_RULES = {
    "levels": {"default": "green",
               "bands": [{"level": "yellow", "above": 15}, {"level": "red", "above": 30}]},
    "indicators": {
        **{name: None for name in config.load_yaml("risk_score.yaml")["indicators"]},
        "income_ratio": {"below": {1.0: 35, 1.2: 20}},
        "income_drop": {"at_least": {0.3: 15}},
        "rigid_share": {"at_least": {0.5: 15}},
        "illness": {"column": "risk_illness", "points": 10},
        "no_labor": {"points": 10},
        "member_lost_labor": {"points": 5},
    },
}


def test_risk_score_exact():
    hh = frame([
        {"id": "r1", "year": 2023, "net_income_pc": 10000.0},
        {"id": "r1", "year": 2024, "net_income_pc": 6000.0},   # ratio 0.8 -> 35; fell 40% -> 15
        {"id": "r2", "year": 2024, "size": 2, "net_income_pc": 8500.0, "expense_rigid": 3000.0,
         "risk_illness": True},                                 # ratio 1.13 -> 20; illness 10: 30
        {"id": "r3", "year": 2024, "net_income_pc": 20000.0, "expense_rigid": 12000.0,
         "labor_count": 0},                                     # rigid 0.6 -> 15; no labour 10: 25
        {"id": "r4", "year": 2024, "net_income_pc": 20000.0, "risk_illness": None},
    ])
    members = pd.DataFrame({"household_id": ["r3", "r4"], "year": [2024, 2024],
                            "health": ["healthy", "healthy"], "labor_skill": ["ordinary", "lost"]})
    out = mon.risk_score(hh, members=members, rules=TEST_RULES, thresholds=7500.0)
    assert out["risk_points"].tolist() == [0, 50, 30, 25, 5]
    # Missing values: income_drop of every first record (r1 2023, r2, r3, r4), illness of r4, and the
    # member indicator of r1 and r2, which have no member rows.
    assert out["missing_indicators"].tolist() == [2, 1, 2, 1, 2]
    # 30 points is not above 30: yellow; 50 is red.
    assert out["warning"].tolist() == ["green", "red", "yellow", "yellow", "green"]
    assert out.loc[1, ["pts_income_ratio", "pts_income_drop"]].tolist() == [35, 15]
    without = mon.risk_score(hh, rules=TEST_RULES, thresholds=7500.0)
    assert "pts_member_lost_labor" not in without and without["risk_points"].iloc[4] == 0


def test_shipped_risk_rules_load():
    rules = mon.risk_rules()
    bands = {b["level"]: b["above"] for b in rules["levels"]["bands"]}
    assert bands["red"] == 30
    with pytest.raises(ValueError, match="exactly one"):
        mon.risk_rules({"indicators": {"illness": {"column": "risk_illness"}}})
    with pytest.raises(ValueError, match="derived"):
        mon.risk_rules({"indicators": {"luck": {"points": 3}}})


def test_auc_matches_pair_counting():
    rng = np.random.default_rng(4)
    y = rng.random(60) < 0.3
    s = rng.integers(0, 6, 60).astype(float)   # many ties
    pos, neg = s[y], s[~y]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert mon.auc(y, s) == pytest.approx(pairs / (len(pos) * len(neg)))
    assert np.isnan(mon.auc([True, True], [1, 2]))


def synthetic_panel(n: int = 300, years=(2021, 2022, 2023, 2024), seed: int = 8) -> pd.DataFrame:
    """Households whose illness this year makes a fall in income next year more likely."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        income = float(rng.lognormal(np.log(11000), 0.35))
        shock = False
        for year in years:
            income *= float(np.exp(rng.normal(0.05, 0.1) - (0.45 if shock else 0.0)))
            shock = bool(rng.random() < 0.2)
            rows.append({"id": f"h{i}", "year": year, "net_income_pc": income, "risk_illness": shock,
                         "village": f"v{i % 12}"})
    return frame(rows)


def test_warning_validity_is_out_of_sample():
    hh = synthetic_panel()
    rules = {"indicators": {"illness": {"column": "risk_illness", "points": 20}}}
    res = mon.warning_validity(hh, rules=rules, thresholds=7500.0)
    assert res.test_year == 2023 and res.train_years == (2021, 2022)
    assert res.test_year not in res.train_years
    pred = res.predictions
    assert pred["year"].eq(2023).all() and pred["year_next"].eq(2024).all()
    assert (pred["net_income_pc"] >= 7500).all()
    expected_fell = pred["net_income_pc_next"] < 7500
    assert pred["fell"].equals(expected_fell)
    test = res.summary.set_index(["model", "sample"])
    score = test.loc[("score", "test")]
    assert score["auc"] == pytest.approx(mon.auc(pred["fell"], pred["risk_points"]))
    hits = (pred["warned"] & pred["fell"]).sum()
    assert score["precision"] == pytest.approx(hits / pred["warned"].sum())
    assert score["recall"] == pytest.approx(hits / pred["fell"].sum())
    assert (pred["outcome"] == "hit").sum() == hits
    assert score["auc"] > 0.6   # illness genuinely predicts a fall in this panel
    # The Logit must be the one fitted on the training transitions only.
    scores = mon.risk_score(hh, rules=rules, thresholds=7500.0).assign(net_income_pc=hh["net_income_pc"])
    nxt = scores[["household_id", "year", "net_income_pc"]].assign(year=scores["year"] - 1)
    pairs = scores.merge(nxt, on=["household_id", "year"], suffixes=("", "_next"))
    train = pairs[(pairs["year"] < 2023) & (pairs["net_income_pc"] >= 7500)]
    cols = [c for c in res.logit.model.exog_names if c != "const"]
    ref = sm.Logit((train["net_income_pc_next"] < 7500).astype(float),
                   sm.add_constant(train[cols].astype(float))).fit(disp=0)
    np.testing.assert_allclose(res.logit.params.to_numpy(), ref.params.to_numpy(), rtol=1e-6)
    logit_test = test.loc[("logit", "test")]
    assert logit_test["auc"] == pytest.approx(mon.auc(pred["fell"], pred["logit_prob"]))


def test_warning_validity_needs_two_transitions():
    hh = synthetic_panel(n=20, years=(2023, 2024))
    with pytest.raises(ValueError, match="three consecutive"):
        mon.warning_validity(hh, thresholds=7500.0)
    with pytest.raises(ValueError, match="level"):
        mon.warning_validity(synthetic_panel(n=20), thresholds=7500.0, level="purple")


# ----------------------------------------------------------------------------------------------------
# suppression
# ----------------------------------------------------------------------------------------------------
def test_suppress_small():
    table = pd.DataFrame({"county": ["X", "Y", "Z"], "year": [2024, 2024, 2024],
                          "households": [3, 5, 10], "rate": [0.5, 0.2, 0.1]})
    out = suppress_small(table, "households", k=5)
    assert out["suppressed"].tolist() == [True, False, False]
    assert out["households"].isna().tolist() == [True, False, False]
    assert out["rate"].isna().tolist() == [True, False, False]
    assert out["year"].tolist() == [2024] * 3 and out["county"].tolist() == ["X", "Y", "Z"]
    assert table["households"].tolist() == [3, 5, 10]   # input untouched
    only_rate = suppress_small(table, "households", k=11, columns=["rate"])
    assert only_rate["rate"].isna().all() and only_rate["households"].notna().all()
    with pytest.raises(ValueError, match="count_col"):
        suppress_small(table, "persons")
    with pytest.raises(ParameterError, match="k must be"):
        suppress_small(table, "households", k=0)


def test_logit_cutoff_matches_the_number_of_score_warnings():
    p = np.array([0.1, 0.1, 0.5, 0.5, 0.5, 0.9])
    # Cutting at 0.9 warns 1, at 0.5 warns 4, at 0.1 warns 6: nearest to 3 is 4, nearest to 2 is 1.
    assert mon._matching_cutoff(p, 3) == 0.5
    assert mon._matching_cutoff(p, 2) == 0.9
    assert mon._matching_cutoff(p, 0) == np.inf
