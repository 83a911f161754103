"""Poverty dynamics: exact values on hand-built household panels."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.measures import dynamics

Z = 100.0  # threshold (yuan per person); incomes below are given in multiples of it


def _households(rows) -> pd.DataFrame:
    """``rows``: (household, year, size, wage, transfer[, village]) in threshold units per person."""
    out = []
    for row in rows:
        hid, year, size, wage, transfer, *village = row
        out.append({"household_id": hid, "year": year, "size": size, "prefecture": "P", "county": "C",
                    "township": "T", "village": village[0] if village else "V1",
                    "income_wage": wage * size * Z, "income_business": 0.0, "income_property": 0.0,
                    "income_transfer": transfer * size * Z, "expense_production": 0.0})
    return pd.DataFrame(out)


def _panel(rows) -> pd.DataFrame:
    return dynamics.household_panel(_households(rows), thresholds=Z)


def test_datt_ravallion_exact():
    # year 0 incomes 0.5, 0.85, 1.5, 2.15 (mean 1.25); year 1 0.9, 1.3, 1.4, 2.4 (mean 1.5): ratio 1.2
    r0, r1 = [0.5, 0.85, 1.5, 2.15], [0.9, 1.3, 1.4, 2.4]
    rows = [(f"h{i}", 2020, 1, a, 0.0) for i, a in enumerate(r0)] + [(f"h{i}", 2024, 1, b, 0.0) for i, b in enumerate(r1)]
    out = dynamics.datt_ravallion(_panel(rows), 2020, 2024, by=("county",), n_boot=0).iloc[0]
    # H00 = 2/4; H11 = 1/4; H(mu1, L0): 0.6, 1.02, ... -> 1/4; H(mu0, L1): 0.75, 1.08, ... -> 1/4
    assert out["headcount0"] == 0.5 and out["headcount1"] == 0.25
    assert out["growth"] == pytest.approx(((0.25 - 0.5) + (0.25 - 0.25)) / 2)
    assert out["redistribution"] == pytest.approx(((0.25 - 0.5) + (0.25 - 0.25)) / 2)
    assert out["growth"] + out["redistribution"] == pytest.approx(out["change"])
    assert (out["mean0"], out["mean1"]) == pytest.approx((1.25, 1.5))


def test_components_shapley_exact():
    # one household: wage 0.6 -> 0.85 and transfer 0.2 -> 0.45. Either change alone lifts it (1.05), so
    # v(none) = 1 and every other coalition 0: wage and transfer each get -1/2, the others 0.
    rows = [("a", 2020, 2, 0.6, 0.2), ("a", 2024, 2, 0.85, 0.45)]
    out = dynamics.components(_panel(rows), 2020, 2024, n_boot=0).set_index("component")
    assert out.loc["wage", "contribution"] == pytest.approx(-0.5)
    assert out.loc["transfer", "contribution"] == pytest.approx(-0.5)
    assert out.loc["business", "contribution"] == 0 and out.loc["property", "contribution"] == 0
    assert out["change"].iloc[0] == -1.0


def test_components_sum_to_the_change():
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({
        "household_id": np.tile([f"h{i}" for i in range(n)], 2), "year": np.repeat([2021, 2023], n),
        "size": np.tile(rng.integers(1, 6, n), 2), "prefecture": "P", "county": np.tile(rng.choice(["A", "B"], n), 2),
        "township": "T", "village": np.tile(rng.choice([f"v{j}" for j in range(8)], n), 2),
        "income_wage": rng.gamma(2, 2000, 2 * n), "income_business": rng.gamma(1, 1000, 2 * n),
        "income_property": rng.gamma(1, 200, 2 * n), "income_transfer": rng.gamma(1, 800, 2 * n),
        "expense_production": rng.gamma(1, 500, 2 * n)})
    panel = dynamics.household_panel(frame, thresholds=4000.0)
    comp = dynamics.components(panel, 2021, 2023, n_boot=20)
    summed = comp.groupby("county")["contribution"].sum()
    np.testing.assert_allclose(summed.to_numpy(), comp.groupby("county")["change"].first().to_numpy(), atol=1e-12)
    dr = dynamics.datt_ravallion(panel, 2021, 2023, n_boot=20).set_index("county")
    np.testing.assert_allclose(dr["growth"] + dr["redistribution"], dr["change"], atol=1e-12)
    np.testing.assert_allclose(dr["change"], comp.groupby("county")["change"].first(), atol=1e-12)
    assert (dr["growth_low"] <= dr["growth_high"]).all()
    # the same seed gives the same intervals
    again = dynamics.datt_ravallion(panel, 2021, 2023, n_boot=20).set_index("county")
    pd.testing.assert_series_equal(dr["growth_low"], again["growth_low"])


def test_chronic_transient_exact():
    # a (1 person): 0.5, 1.5 -> P2 0.25, 0 -> total 0.125; mean 1.0 -> chronic 0; transient 0.125
    # b (3 persons): 0.5, 0.7 -> total (0.25 + 0.09) / 2 = 0.17; mean 0.6 -> chronic 0.16; transient 0.01
    rows = [("a", 2020, 1, 0.5, 0.0), ("a", 2021, 1, 1.5, 0.0), ("b", 2020, 3, 0.5, 0.0), ("b", 2021, 3, 0.7, 0.0),
            ("c", 2020, 1, 0.9, 0.0)]  # c is not observed in 2021: left out
    out = dynamics.chronic_transient(_panel(rows), n_boot=0).iloc[0]
    assert out["households"] == 2 and out["persons"] == 4
    assert out["total"] == pytest.approx((0.125 + 3 * 0.17) / 4)
    assert out["chronic"] == pytest.approx(3 * 0.16 / 4)
    assert out["transient"] == pytest.approx((0.125 + 3 * 0.01) / 4)
    assert out["transient_share"] == pytest.approx(out["transient"] / out["total"])
    assert (out["never_poor"], out["sometimes_poor"], out["always_poor"]) == pytest.approx((0, 0.25, 0.75))


def test_flows_exact():
    # a (1): poor -> poor; b (2): poor -> not; c (3): not -> poor
    rows = [("a", 2020, 1, 0.5, 0.0), ("a", 2021, 1, 0.6, 0.0), ("b", 2020, 2, 0.8, 0.0), ("b", 2021, 2, 1.2, 0.0),
            ("c", 2020, 3, 1.1, 0.0), ("c", 2021, 3, 0.9, 0.0)]
    out = dynamics.flows(_panel(rows), n_boot=0).iloc[0]
    assert (out["year"], out["households"], out["entries"], out["exits"]) == (2021, 3, 1, 1)
    assert out["entry_rate"] == pytest.approx(3 / 3)
    assert out["exit_rate"] == pytest.approx(2 / 3)
    assert out["poor_share_before"] == pytest.approx(3 / 6) and out["poor_share_after"] == pytest.approx(4 / 6)


def test_intervals_need_two_villages():
    rows = [("a", 2020, 1, 0.5, 0.0), ("a", 2021, 1, 1.5, 0.0), ("b", 2020, 1, 0.8, 0.0), ("b", 2021, 1, 0.7, 0.0)]
    out = dynamics.datt_ravallion(_panel(rows), 2020, 2021, n_boot=10)
    assert out[["growth_low", "growth_high"]].isna().all().all()


def test_shapley_weights_sum_to_one_per_player():
    w = dynamics.shapley_weights(4)
    # coalitions not containing a player: C(3, s) of each size s
    assert sum(w[s] * [1, 3, 3, 1][s] for s in range(4)) == pytest.approx(1.0)
