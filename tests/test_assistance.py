"""Assistance measures and risk types of monitoring targets, and complementary suppression."""
import numpy as np
import pandas as pd
import pytest

from analysis.core.disclosure import suppress_parts
from analysis.measures import assistance, monitoring


def _households() -> pd.DataFrame:
    """Five households in 2024: three targets (one eliminated in 2024 with no measure), two not."""
    return pd.DataFrame({
        "county": "A", "year": 2024, "household_id": list("abcde"), "size": [3, 4, 2, 5, 1],
        "monitoring_type": ["unstable", "marginal", "sudden_hardship", "none", None],
        "risk_eliminated": [True, True, False, False, False],
        "monitoring_start": pd.to_datetime(["2023-01-01", "2023-02-01", "2024-03-01", None, None]),
        "elimination_date": pd.to_datetime(["2024-06-01", "2024-07-01", None, None, None]),
        "net_income_pc": [9000.0, 9500.0, 5000.0, 20000.0, 20000.0],
        "labor_count": [2, 1, 1, 2, 1],
        "aid_employment": [True, False, True, False, False], "aid_health": [True, False, False, False, True],
        "risk_illness": [True, False, True, False, False], "risk_unstable_work": [False, True, True, False, False],
    })


def test_assistance_coverage_counts_targets_with_a_measure():
    out = assistance.assistance_coverage(_households()).set_index("group")
    row = out.loc["targets"]
    assert (row["targets"], row["with_measure"]) == (3, 2)
    assert row["with_measure_share"] == pytest.approx(2 / 3)
    assert (row["aid_employment"], row["aid_health"]) == (2, 1)   # e has a measure but is no target
    assert (row["eliminated_in_year"], row["eliminated_with_measure"], row["eliminated_without_measure"]) == (2, 1, 1)
    assert out.loc["marginal", "eliminated_without_measure"] == 1
    assert out.loc["sudden_hardship", ["targets", "with_measure", "eliminated_in_year"]].tolist() == [1, 1, 0]
    assert np.isnan(out.loc["sudden_hardship", "eliminated_with_measure_share"])


def test_risk_types_count_each_risk_of_a_target():
    out = assistance.risk_types(_households()).set_index("risk_type")
    assert out.loc["illness", ["targets_all", "targets", "eliminated_in_year"]].tolist() == [3, 2, 1]
    assert out.loc["unstable_work", ["targets", "eliminated_in_year"]].tolist() == [2, 1]
    assert out.loc["illness", "share"] == pytest.approx(2 / 3)


def test_no_aid_columns_gives_an_empty_table_not_zero_coverage():
    hh = _households().drop(columns=["aid_employment", "aid_health"])
    assert assistance.assistance_coverage(hh).empty


def test_elimination_without_a_measure_is_questionable():
    failed = monitoring.failed_eliminations(_households(), thresholds=6000)
    assert failed["household_id"].tolist() == ["b"]
    assert failed["no_assistance"].tolist() == [True]
    summary = monitoring.failed_eliminations_summary(_households(), thresholds=6000)
    assert summary[["eliminations", "failed", "no_assistance"]].iloc[0].tolist() == [2, 1, 1]


def _recoverable(table: pd.DataFrame, parts: list[str], total: str, k: int) -> list[int]:
    """Rows where a blanked part can be worked out from the total and the parts shown, or where the
    blanked parts together count 1 to k - 1 (then their sum discloses a small cell)."""
    bad = []
    for i, row in table.iterrows():
        hidden = [p for p in parts if pd.isna(row[p])]
        if pd.isna(row[total]) or not hidden:
            continue
        if len(hidden) == 1:
            bad.append(i)
    return bad


@pytest.mark.parametrize("seed", range(5))
def test_suppress_parts_leaves_no_blanked_part_recoverable(seed):
    rng = np.random.default_rng(seed)
    parts = ["a", "b", "c", "d"]
    frame = pd.DataFrame(rng.integers(0, 12, size=(200, 4)), columns=parts)
    frame["total"] = frame[parts].sum(axis=1)
    out = suppress_parts(frame, parts, k=5, total="total")
    small = (frame[parts] > 0) & (frame[parts] < 5)
    assert out[parts][small].isna().all().all()                       # every small count blanked
    assert _recoverable(out, parts, "total", 5) == []                 # none recoverable from the total
    for i in out.index[out["total"].notna()]:                         # blanked groups are not small
        hidden = [p for p in parts if pd.isna(out.at[i, p])]
        if hidden:
            assert frame.loc[i, hidden].sum() >= 5
    assert (out[parts].notna() | (frame[parts] > 0)).all().all()      # zeros are never blanked
    shown = out[parts].notna()
    assert (out[parts][shown] == frame[parts][shown]).all().all()     # shown cells unchanged


# ---- on the shared small sample ---------------------------------------------------------------------
def test_coverage_page_hides_no_type_that_the_total_would_give_away(small_processed):
    from analysis.io import data
    from analysis.reporting import monitoring as rm
    from analysis.reporting import page
    types = [f"households_{t}" for t in monitoring.TARGET_TYPES]
    for region in data.list_regions(small_processed):
        ctx = page.context(region, [2020, 2024], str(small_processed), "zh")
        shown = rm._protected_coverage(ctx)
        assert _recoverable(shown, types, "households_targets", 5) == [], region
        raw = ctx.slice(rm.county_table(ctx, "monitoring_coverage"))
        small = ((raw[types] >= 1) & (raw[types] <= 4)).to_numpy()
        assert shown[types].isna().to_numpy()[small].all(), region
        text = rm.monitoring_summary(ctx).data
        for col in types:   # a blanked type count never reaches the summary sentence
            for value in raw.loc[shown[col].isna(), col]:
                assert f"{value}户" not in text.split("监测台账")[1].split("。")[0] or value == 0, (region, col)


def test_assistance_views_render_without_data(small_processed):
    from IPython.display import Markdown

    from analysis.io import data
    from analysis.reporting import assistance as ra
    from analysis.reporting import page
    ctx = page.context(data.list_regions(small_processed)[0], [2020, 2024], str(small_processed), "en")
    empty = page.Context(ctx.region, 2030, 2031, "en", ctx.data_dir, ctx.prefecture, ctx.synthetic)
    for name in ("assistance_summary", "measures_figure", "coverage_table", "risk_types_figure", "risk_types_table"):
        assert isinstance(getattr(ra, name)(empty), Markdown), name
    assert ra.assistance_tables(empty) == {}
    assert ra.assistance_tables(ctx)   # the sample has both tables
