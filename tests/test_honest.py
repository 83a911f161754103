"""Rambachan & Roth (2023) sensitivity bounds: the R package's published example, and hand-built cases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators import honest

PUBLISHED = Path(__file__).parent / "data" / "published" / "honestdid_medicaid_twfe.csv"

# README of the R package HonestDiD, "Example usage – Medicaid expansions": robust 95% intervals for the
# effect in 2014 (first post-period), printed to three significant digits.
README_RM = {0.5: (0.0240, 0.0672), 1.0: (0.0170, 0.0720), 1.5: (0.00824, 0.0797), 2.0: (-0.000916, 0.0881)}
README_SD = {0.0: (0.0259, 0.0607), 0.01: (0.0132, 0.0787), 0.02: (0.00286, 0.0907), 0.03: (-0.00714, 0.101),
             0.04: (-0.0171, 0.111), 0.05: (-0.0271, 0.121)}


def _printed(value: float) -> float:
    """Half a unit of the third significant digit: how far the printed value may be from the computed one."""
    return 0.5 * 10 ** (np.floor(np.log10(abs(value))) - 2)


def _medicaid() -> honest.EventStudy:
    table = pd.read_csv(PUBLISHED)
    sigma = table[[c for c in table.columns if c.startswith("sigma_")]].to_numpy()
    return honest.EventStudy(table["betahat"].to_numpy(), sigma, table["year"].to_numpy() - 2014)


def test_shipped_input_is_the_readme_regression():
    """The shipped coefficients are the README's TWFE event study, recomputed from moderndid's copy of the data."""
    pf = pytest.importorskip("pyfixest")
    from moderndid import load_ehec

    df = load_ehec().to_pandas()
    d = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))].assign(
        D=lambda f: (f["yexp2"] == 2014).astype(int))
    fit = pf.feols("dins ~ i(year, D, ref=2013) | stfips + year", data=d, vcov={"CRV1": "stfips"})
    es = _medicaid()
    np.testing.assert_allclose(fit.coef().to_numpy(), es.betahat, rtol=1e-10)
    np.testing.assert_allclose(fit._vcov, es.sigma, rtol=1e-8)
    assert (es.num_pre, es.num_post) == (5, 2)


def test_smoothness_matches_readme():
    """FLCI under Delta^SD(M): each bound within the README's printing precision (3 significant digits) or
    1e-4, whichever is wider."""
    table = honest.smoothness(_medicaid(), m=sorted(README_SD), target=0)
    assert table["method"].eq("FLCI").all()
    for _, row in table.iterrows():
        low, high = README_SD[round(row["bound"], 2)]
        assert row["conf_low"] == pytest.approx(low, abs=max(1e-4, _printed(low)))
        assert row["conf_high"] == pytest.approx(high, abs=max(1e-4, _printed(high)))
    # README: "the breakdown value for a significant effect is M ≈ 0.03" (last significant at 0.02)
    assert honest.breakdown(table, "smoothness") == pytest.approx(0.02)


def test_original_interval_is_the_normal_interval():
    es = _medicaid()
    theta, se, low, high = honest.original_interval(es)
    assert theta == pytest.approx(0.046446854159945469)
    assert se == pytest.approx(np.sqrt(8.3756688246774854e-05))
    assert low == pytest.approx(theta - 1.959963984540054 * se)
    assert high == pytest.approx(theta + 1.959963984540054 * se)


@pytest.mark.slow
def test_relative_magnitudes_match_readme():
    """C-LF under Delta^RM(Mbar) with the R package's 1000-point test inversion: bounds within 5e-4 of the
    README (about one grid step of the inversion, which is 4e-4 wide here); breakdown value Mbar = 1.5 on
    the grid 0.5..2 (the README: significant up to just below 2)."""
    table = honest.relative_magnitudes(_medicaid(), mbar=sorted(README_RM), grid_points=1000)
    for _, row in table.iterrows():
        low, high = README_RM[row["bound"]]
        assert row["conf_low"] == pytest.approx(low, abs=5e-4)
        assert row["conf_high"] == pytest.approx(high, abs=5e-4)
    assert honest.breakdown(table, "relative_magnitudes") == 1.5


def test_largest_pre_violation_and_weights():
    es = honest.EventStudy(np.array([0.03, -0.01, 0.2, 0.4]), np.eye(4) * 1e-4, np.array([-3, -2, 0, 1]))
    # pre coefficients with beta_{-1} = 0: 0.03, -0.01, 0 -> changes 0.04, 0.01
    assert es.largest_pre_violation() == pytest.approx(0.04)
    np.testing.assert_array_equal(es.weights(0), [1.0, 0.0])
    np.testing.assert_array_equal(es.weights(1), [0.0, 1.0])
    np.testing.assert_array_equal(es.weights("average"), [0.5, 0.5])
    with pytest.raises(ValueError, match="not a post-period"):
        es.weights(3)
    with pytest.raises(ValueError, match="reference period"):
        honest.EventStudy(np.zeros(3), np.eye(3), np.array([-2, -1, 0]))


def test_breakdown_reads_the_grid():
    rows = pd.DataFrame({"restriction": "relative_magnitudes", "bound": [0.0, 0.5, 1.0, 1.5],
                         "significant": [True, True, False, True]})
    assert honest.breakdown(rows, "relative_magnitudes") == 0.5  # the first loss ends it
    assert honest.breakdown(rows.assign(significant=True), "relative_magnitudes") == 1.5
    assert np.isnan(honest.breakdown(rows.assign(significant=False), "relative_magnitudes"))


def test_event_study_universal_base_on_a_known_panel():
    """Exact values on a hand-built panel: two cohorts plus never-treated, no noise.

    Outcome = unit effect + year effect + a differential pre-trend of 0.01 a year for treated units + an
    effect of 0.1 from opening on. With a universal base period (event time -1), the coefficient at event
    time e is 0.01 * (e + 1) before opening and 0.01 * (e + 1) + 0.1 after, for every cohort.
    """
    rows = []
    for unit, g in enumerate([0] * 8 + [2022] * 6 + [2023] * 6):
        for year in range(2019, 2025):
            e = year - g if g else None
            y = unit * 0.3 + 0.05 * (year - 2019)
            if g:
                y += 0.01 * (e + 1) + (0.1 if e >= 0 else 0.0)
            rows.append({"unit": unit, "year": year, "g": g, "y": y})
    es = honest.event_study(pd.DataFrame(rows), "y", "unit", "year", "g")
    expected = {e: 0.01 * (e + 1) + (0.1 if e >= 0 else 0.0) for e in es.event_times}
    np.testing.assert_allclose(es.betahat, [expected[e] for e in es.event_times], atol=1e-12)
    assert -1 not in es.event_times and es.num_pre >= 1
