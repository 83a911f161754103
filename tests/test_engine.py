"""The DuckDB path for Parquet data gives the same numbers as the in-memory path."""
from __future__ import annotations

import pandas as pd
import pytest

from analysis.io import data, synth
from analysis.measures import indicators


@pytest.mark.parametrize("by", [("county",), ("prefecture",), ("county", "household_type")])
def test_parquet_path_equals_dataframe(small_processed, by):
    frame = data.load("households", small_processed)
    in_memory = indicators.income_growth(frame, by=by)
    on_disk = indicators.income_growth(small_processed / "households", by=by)
    pd.testing.assert_frame_equal(in_memory, on_disk, check_dtype=False, rtol=1e-12)


def test_single_parquet_file_and_flat_panel(tmp_path):
    panel = synth.households_panel(seed=1, counties=3, households_per_county=200)
    panel.to_parquet(tmp_path / "h.parquet", index=False)
    a = indicators.income_growth(panel, by=("county",))
    b = indicators.income_growth(tmp_path / "h.parquet", by=("county",))
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-12)
    assert len(a) == 3 * 5


@pytest.mark.parametrize("name, table", [("employment", "members"), ("training", "members"),
                                         ("poverty", "households"), ("basic_needs", "households")])
@pytest.mark.parametrize("by", [("county",), ("prefecture", "county"), ("prefecture",)])
def test_indicators_from_a_parquet_dataset_equal_the_in_memory_ones(small_processed, name, table, by):
    from analysis.io import data
    from analysis.measures import indicators
    compute = getattr(indicators, name)
    expected = compute(data.load(table, small_processed), by=by)
    got = compute(str(small_processed / table), by=by)
    keys = [*by, "year"]
    pd.testing.assert_frame_equal(got.sort_values(keys, ignore_index=True),
                                  expected.sort_values(keys, ignore_index=True), check_exact=False, rtol=1e-12)
