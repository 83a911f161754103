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
