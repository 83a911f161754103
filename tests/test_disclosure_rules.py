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
        raw = rm._last_year(ctx, rm.county_table(ctx, "monitoring_identification_overlap"))
        for col in ("households", "households_gap"):
            hidden = overlap[col].isna()
            # a single blanked row would follow from the gap table's total, unless that total is itself
            # blanked there (fewer than k in all)
            assert hidden.sum() != 1 or 0 < raw[col].sum() < 5, (region, col)


def test_elimination_and_questionable_tables_hide_no_part_the_total_gives_away(small_processed):
    from analysis.io import data
    from analysis.reporting import monitoring as rm
    from analysis.reporting import page
    for region in data.list_regions(small_processed):
        ctx = page.context(region, [2020, 2024], str(small_processed), "zh")
        frame = rm._elimination_frame(ctx)
        raw = ctx.slice(rm.county_table(ctx, "monitoring_elimination"))
        left = (raw["targets"] - raw["eliminated"]).to_numpy()
        for i in range(len(frame)):
            row = frame.iloc[i]
            if pd.notna(row["targets"]):
                # with the total shown, a shown count of eliminated households means neither it nor the
                # remainder (targets not yet eliminated) is a small group
                if pd.notna(row["eliminated"]):
                    assert not 0 < left[i] < 5 and not 0 < raw["eliminated"].iloc[i] < 5, region
            if pd.notna(row["eliminated_in_year"]):
                hidden = [c for c in ("assisted", "natural") if pd.isna(row[c])]
                assert len(hidden) != 1, region
        failed = rm._failed_frame(ctx)
        raw = ctx.slice(rm.county_table(ctx, "monitoring_failed_eliminations_summary"))
        ok = (raw["eliminations"] - raw["failed"]).to_numpy()
        for i in range(len(failed)):
            if pd.notna(failed["eliminations"].iloc[i]) and pd.notna(failed["failed"].iloc[i]):
                assert not 0 < ok[i] < 5, region
