"""Disclosure rules on hand-built tables: differencing of nested series, complementary rows."""
import itertools

import numpy as np
import pandas as pd
import pytest

from analysis.core.disclosure import suppress_differences


@pytest.mark.parametrize("seed", range(20))
def test_no_two_shown_counts_of_a_nested_series_differ_by_a_small_group(seed):
    rng = np.random.default_rng(seed)
    counts = pd.Series(np.sort(rng.integers(0, 30, size=int(rng.integers(2, 7))))[::-1])
    keep = pd.Series(np.arange(len(counts)) == int(rng.integers(len(counts))))
    shown = suppress_differences(counts, keep, k=5)
    values = shown.dropna().to_numpy()
    assert all(v == 0 or v >= 5 for v in values)
    assert all(a == b or abs(a - b) >= 5 for a, b in itertools.combinations(values, 2))
    assert (shown.dropna() == counts[shown.notna()]).all()          # shown counts are the true ones
    k_val = counts[keep].iloc[0]
    if k_val == 0 or k_val >= 5:
        assert shown[keep].notna().all()                             # the configured count is always shown


def test_sensitivity_and_overlap_tables_on_the_page_follow_the_rules(small_processed):
    from analysis.io import data
    from analysis.reporting import monitoring as rm
    from analysis.reporting import page
    for region in data.list_regions(small_processed):
        ctx = page.context(region, [2020, 2024], str(small_processed), "zh")
        frame = rm._sensitivity_frame(ctx)
        for _, rows in frame.groupby(["rule", "parameter"]):
            for col in ("households_meeting_rules", "households_gap"):
                values = rows[col].dropna().to_numpy()
                assert all(a == b or abs(a - b) >= 5 for a, b in itertools.combinations(values, 2)), region
        overlap = rm._overlap_frame(ctx)
        for col in ("households", "households_gap"):
            hidden = overlap[col].isna()
            assert hidden.sum() != 1, (region, col)   # a single blanked row would follow from the total
