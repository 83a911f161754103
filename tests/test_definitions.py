"""Definitions of every indicator, one glossary, and the same number on every page that shows it."""
import numpy as np
import pandas as pd
import pytest

from analysis import build
from analysis.reporting import definitions


def test_every_definition_has_every_field_in_both_languages():
    items = definitions.entries()
    assert len(items) >= 10
    for code, entry in items.items():
        assert set(entry["pages"]) <= {"01", "02", "03", "04", "05", "06"}, code
        for field in definitions.FIELDS:
            for lang in ("zh", "en"):
                assert str(entry[field][lang]).strip(), (code, field, lang)


def test_every_page_has_definitions():
    for page in ("01", "02", "03", "04", "05", "06"):
        assert definitions.entries(page), page


@pytest.fixture(scope="module")
def stored(small_processed):
    names = ("income_growth", "poverty_fgt", "employment", "monitoring_coverage", "monitoring_elimination",
             "assessment_key_figures")
    return {n: build.load(n, small_processed) for n in names}


def _joined(left: pd.DataFrame, right: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    keys = ["county", "year"]
    return left[[*keys, *columns]].merge(right[[*keys, *columns.values()]], on=keys, suffixes=("", "_other"))


@pytest.mark.parametrize(("left", "right", "columns"), [
    ("income_growth", "poverty_fgt", {"share_below_threshold": "fgt0"}),                      # pages 01 and 04
    ("income_growth", "assessment_key_figures", {"income_pc": "income_pc", "growth_real": "growth_real"}),  # 01, 05
    ("employment", "assessment_key_figures", {"official_workers": "official_workers",
                                              "official_workers_change_pct": "official_workers_change_pct"}),
    ("monitoring_coverage", "assessment_key_figures", {"households_targets": "households_targets"}),      # 04, 05
    ("monitoring_elimination", "assessment_key_figures", {"elimination_rate": "elimination_rate"}),
])
def test_a_quantity_shown_on_two_pages_is_the_same_number(stored, left, right, columns):
    a, b = stored[left], stored[right]
    if not set(columns.values()) <= set(b.columns):
        pytest.skip(f"{right} does not carry {sorted(columns.values())}")
    merged = _joined(a, b.rename(columns={v: f"{v}__b" for v in columns.values()}),
                     {k: f"{v}__b" for k, v in columns.items()})
    assert len(merged) == len(a[["county", "year"]].drop_duplicates()), "every county-year on both pages"
    for mine, theirs in columns.items():
        x, y = merged[mine].astype("float64"), merged[f"{theirs}__b"].astype("float64")
        assert ((x - y).abs() < 1e-9).where(x.notna() & y.notna(), x.isna() == y.isna()).all(), (left, mine)


def test_fgt0_is_blanked_on_the_income_and_monitoring_pages_alike(small_processed):
    from analysis.io import data
    from analysis.reporting import income, page
    from analysis.reporting import monitoring as rm
    for region in data.list_regions(small_processed):
        ctx = page.context(region, [2020, 2024], str(small_processed), "zh")
        one = income._income(ctx)[0].set_index("year")["share_below_threshold"]
        four = rm._fgt(ctx)[0].set_index("year")["fgt0"]
        both = pd.concat({"one": one, "four": four}, axis=1)
        assert len(both) and (both["one"].isna() == both["four"].isna()).all(), region
        assert np.allclose(both["one"].dropna(), both["four"].dropna()), region
