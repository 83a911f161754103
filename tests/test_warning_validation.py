"""Rolling-origin validation of the early warning: the measures on hand-built data, and the origins on the sample."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.measures import monitoring
from analysis.measures import warning_validation as wv

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "processed"


def test_average_precision_exact():
    # hits at ranks 1 and 3: (1/2) * 1 + (1/2) * 2/3
    assert wv.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 1 / 3)
    # a tie at the top is one step: recall 1/2 at precision 1/2, then recall 1 at precision 2/3
    assert wv.average_precision([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1]) == pytest.approx(0.25 + 1 / 3)
    assert np.isnan(wv.average_precision([0, 0], [1, 2]))


def test_calibration_exact():
    table, ece = wv.calibration([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9], bins=2)
    assert table["event_rate"].tolist() == [0.5, 1.0]
    assert ece == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)


def test_at_capacity_per_group():
    visited, precision, recall = wv.at_capacity([0, 1, 1, 1, 0], [3, 2, 1, 5, 4], ["A", "A", "A", "B", "B"], 2)
    assert (visited, precision, recall) == (4, 0.5, pytest.approx(2 / 3))


def test_at_capacity_ties_share_the_visits_left():
    # A visits 2: the top (an event) for sure, then one of three tied households of which one is an event
    visited, precision, recall = wv.at_capacity([1, 0, 1, 0, 1], [9, 5, 5, 5, np.nan], ["A"] * 5, 2)
    assert visited == 2
    assert precision == pytest.approx((1 + 1 / 3) / 2)
    assert recall == pytest.approx((1 + 1 / 3) / 3)
    # row order does not matter
    again = wv.at_capacity([0, 1, 0, 1, 1], [5, 5, 5, 9, np.nan], ["A"] * 5, 2)
    assert again == pytest.approx((visited, precision, recall))


@pytest.mark.skipif(not (SAMPLE / "households").exists(), reason="needs the built sample (make data)")
def test_origins_use_only_earlier_years():
    """Changing incomes after an origin's test transition leaves that origin's figures unchanged."""
    households = pd.read_parquet(SAMPLE / "households")
    first = wv.rolling_origin(households, capacity=10, outcomes=("fell",))
    origin = int(first["origin"].min())
    later = households["year"] > origin + 1
    changed = households.assign(net_income_pc=households["net_income_pc"].where(~later, 0.0))
    second = wv.rolling_origin(changed, capacity=10, outcomes=("fell",))
    pd.testing.assert_frame_equal(first[first["origin"] == origin].reset_index(drop=True),
                                  second[second["origin"] == origin].reset_index(drop=True))
    # the score's AUC at each origin is the plain AUC of the points on that transition
    pairs = wv._population(wv.transitions(households), "fell")
    test = pairs[pairs["year"] == origin]
    score = first[(first["origin"] == origin) & (first["model"] == "score")].iloc[0]
    assert score["auc"] == pytest.approx(monitoring.auc(test["fell"], test["risk_points"]), nan_ok=True)
    assert score["events"] == int(test["fell"].sum())


def _preds(origins=(2021, 2022)) -> pd.DataFrame:
    """Hand-built predictions: two counties, two origins, one model."""
    rows = []
    for origin in origins:
        for county, ys in (("A", [1, 0, 0, 1]), ("B", [0, 1, 0, 0])):
            for i, y in enumerate(ys):
                rows.append({"outcome": "fell", "origin": origin, "train_from": 2020, "model": "score", "y": bool(y),
                             "rank": float(4 - i + (origin - 2021) * 0.5), "prob": 0.1 * (4 - i), "group": county})
    return pd.DataFrame(rows)


def test_pooled_rows_are_the_measures_of_the_stacked_predictions():
    preds = _preds()
    table = wv.measures(preds, capacity=1)
    pooled = table[table["origin"].isna()].iloc[0]
    assert pooled["n"] == 16 and pooled["events"] == 6
    assert pooled["auc"] == pytest.approx(monitoring.auc(preds["y"], preds["rank"]))
    # capacity counts per county and origin: 2 counties x 2 origins x 1 visit, the top of each is visited
    assert pooled["visited"] == 4
    assert pooled["precision_at_capacity"] == pytest.approx(2 / 4)   # A's top is an event, B's top is not
    assert pooled["recall_at_capacity"] == pytest.approx(2 / 6)
    per_origin = table[table["origin"] == 2021].iloc[0]
    assert per_origin["n"] == 8 and per_origin["visited"] == 2


def test_oracle_rows_and_ratio():
    preds = _preds()
    oracle = {"by_origin": [{"outcome": "fell", "origin": 2021, "n": 8, "events": 3, "auc": 0.8},
                            {"outcome": "fell", "origin": 2020, "n": 8, "events": 3, "auc": 0.9},  # not tested
                            {"outcome": "fell", "origin": None, "n": 16, "events": 6, "auc": 0.75}]}
    table = wv.measures(preds, capacity=1, oracle=oracle)
    assert set(table.loc[table["model"] == "oracle", "origin"].astype("object").where(
        table.loc[table["model"] == "oracle", "origin"].notna(), None)) == {2021, None}
    score = table[(table["model"] == "score") & (table["origin"] == 2021)].iloc[0]
    assert score["auc_vs_oracle"] == pytest.approx(score["auc"] / 0.8)
    pooled = table[(table["model"] == "score") & table["origin"].isna()].iloc[0]
    assert pooled["auc_vs_oracle"] == pytest.approx(pooled["auc"] / 0.75)
    # origin 2022 has no oracle row: no ratio
    assert table[(table["model"] == "score") & (table["origin"] == 2022)]["auc_vs_oracle"].isna().all()


def test_reliability_bins_add_up():
    preds = _preds()
    curve = wv.reliability(preds, bins=4)
    assert curve["n"].sum() == len(preds) and curve["events"].sum() == int(preds["y"].sum())
    assert (curve["event_rate"] == curve["events"] / curve["n"]).all()


def test_synthetic_oracle_leaves_the_sample_unchanged():
    from analysis.io import synth
    plain = synth.generate(seed=3, counties=1, households_per_county=40, oracle_replicates=0)
    with_oracle = synth.generate(seed=3, counties=1, households_per_county=40, oracle_replicates=20)
    pd.testing.assert_frame_equal(plain.export, with_oracle.export)
    rows = with_oracle.ground_truth["warning_oracle"]["by_origin"]
    assert {r["origin"] for r in rows} == {2020, 2021, 2022, 2023, None}
    assert all(r["auc"] is None or 0 <= r["auc"] <= 1 for r in rows)


def test_synthetic_truth_travels_only_with_synthetic_files(tmp_path):
    from analysis.io import ingest
    (tmp_path / "ground_truth.json").write_text('{"warning_oracle": {"by_origin": []}, "seed": 1}', encoding="utf-8")
    synthetic = tmp_path / "SYNTHETIC_x.csv"
    real = tmp_path / "county.csv"
    assert ingest.synthetic_truth([synthetic]) == {"warning_oracle": {"by_origin": []}}
    assert ingest.synthetic_truth([synthetic, real]) is None
    assert ingest.synthetic_truth([]) is None


@pytest.mark.skipif(not (SAMPLE / "results" / "monitoring_warning_rolling.parquet").exists(),
                    reason="needs the built sample (make build)")
def test_sample_oracle_matches_the_validated_populations():
    """The generator's oracle was scored on the same households and events as the validation, and is a ceiling."""
    import json
    if "truth" not in json.loads((SAMPLE / "sources.json").read_text(encoding="utf-8")):
        pytest.skip("the sample was generated before its oracle was: make sample again (rm -r data/raw/sample)")
    table = pd.read_parquet(SAMPLE / "results" / "monitoring_warning_rolling.parquet")
    oracle = table[table["model"] == "oracle"]
    assert len(oracle) == 2 * (table["origin"].nunique() + 1)   # both outcomes, every origin and pooled
    for _, row in oracle.iterrows():
        same = table[(table["outcome"] == row["outcome"]) & (table["model"] == "score")
                     & ((table["origin"] == row["origin"]) if pd.notna(row["origin"]) else table["origin"].isna())]
        assert (same["n"].iloc[0], same["events"].iloc[0]) == (row["n"], row["events"])
    pooled = table[table["origin"].isna()].set_index(["outcome", "model"])["auc"]
    for outcome in wv.OUTCOMES:
        assert pooled[(outcome, "oracle")] >= max(pooled[(outcome, m)] for m in wv.MODELS) - 0.02


@pytest.mark.skipif(not (SAMPLE / "results" / "monitoring_warning_reliability.parquet").exists(),
                    reason="needs the built sample (make build)")
def test_page_withholds_figures_on_few_events_and_small_bins(monkeypatch):
    from analysis.config import min_households
    from analysis.reporting import page, warning
    stored = pd.read_parquet(SAMPLE / "results" / "monitoring_warning_rolling.parquet")
    # the least-supported figure of the sample falls just under the publication floor, whatever its count
    floor = int(stored.loc[stored["model"] != "oracle", "events"].min()) + 1
    monkeypatch.setattr(warning, "min_events", lambda *args, **kwargs: floor)
    ctx = page.context(region="北岭县", years=[2020, 2024], data_dir=SAMPLE, lang="en")
    rolling = warning.rolling_data(ctx)
    few = (stored["events"] < floor).to_numpy()
    assert few.any() and rolling.loc[few, "auc"].isna().all() and rolling.loc[~few & (stored["model"] != "oracle").to_numpy(),
                                                                              "auc"].notna().all()
    curve = warning.reliability_data(ctx)
    full = pd.read_parquet(SAMPLE / "results" / "monitoring_warning_reliability.parquet")
    k = min_households()
    for (_, _), bins in curve.groupby(["outcome", "model"]):
        hidden = full.loc[bins.index, "events"][~bins["shown"]]
        assert ((bins["events"] >= k) | (bins["events"] == 0) | bins["events"].isna()).all()
        # no lone blank, and the blanked bins together count k or more events (or none at all)
        assert len(hidden) == 0 or (len(hidden) >= 2 and hidden.sum() >= k)
    assert not curve["shown"].all()


def test_no_transition_gives_empty_tables():
    preds = _preds().iloc[0:0]
    assert wv.measures(preds, capacity=1).empty
    assert wv.reliability(preds).empty and "event_rate" in wv.reliability(preds).columns


def test_wage_exposure_exact():
    households = pd.DataFrame({"household_id": ["A", "B"], "year": [2022, 2022], "net_income": [40000.0, 0.0]})
    members = pd.DataFrame({
        "household_id": ["A", "A", "A", "B"], "year": [2022] * 4, "age": [64, 40, 10, 30],
        "months_worked": [12.0, 7.0, 0.0, 9.0], "wage_income": [20000.0, 10000.0, None, 500.0]})
    shares = wv.wage_exposure(households, members).set_index("household_id")
    a = shares.loc["A"]
    assert a["wage_share"] == 30000 / 40000 and a["top_wage_share"] == 20000 / 40000
    assert a["short_wage_share"] == 10000 / 40000 and a["mid_wage_share"] == 0
    assert a["leaving_wage_share"] == 20000 / 40000
    b = shares.loc["B"]   # no net income: shares over 1 yuan
    assert b["mid_wage_share"] == 500 and b["short_wage_share"] == 0 and b["leaving_wage_share"] == 0
