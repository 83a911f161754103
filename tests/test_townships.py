"""Townships: the measure on a hand-built prefecture, complementary suppression on a hand-built table, the
page functions and the prefecture notebook on the small synthetic prefecture, and the runner's choice of
notebooks by region level."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import papermill as pm
import pytest

from analysis import build
from analysis.errors import ParameterError
from analysis.io import schema
from analysis.measures import townships as measure
from analysis.reporting import townships

ROOT = Path(__file__).resolve().parents[1]
DEFLATOR_2022 = 1.02   # cpi.csv: 2022, previous year = 100 -> 102.0


# ------------------------------------------------------------------------------------------ the measure
def _households() -> pd.DataFrame:
    """Township 甲: a1 (2 persons), a2 (3), both years; township 乙: b1 (1) both years, b2 (4) in 2022 only.
    Income is all wages; a1 and b2 are monitoring targets in 2022."""
    rows = [  # id, township, year, size, wage, monitoring type
        ("a1", "甲镇", 2021, 2, 20000.0, "none"), ("a2", "甲镇", 2021, 3, 30000.0, "none"),
        ("b1", "乙乡", 2021, 1, 8000.0, "none"),
        ("a1", "甲镇", 2022, 2, 22000.0, "unstable"), ("a2", "甲镇", 2022, 3, 33000.0, "none"),
        ("b1", "乙乡", 2022, 1, 9000.0, "none"), ("b2", "乙乡", 2022, 4, 40000.0, "marginal")]
    frame = pd.DataFrame(rows, columns=["household_id", "township", "year", "size", "income_wage", "monitoring_type"])
    frame = frame.assign(province="省", prefecture="市", county="县", village=frame["township"] + "一村",
                         household_type="general", income_business=0.0, income_property=0.0,
                         income_transfer=0.0, expense_production=0.0, risk_eliminated=False)
    frame["net_income"] = frame["income_wage"]
    frame["net_income_pc"] = frame["net_income"] / frame["size"]
    return schema.conform(frame, "households")


def _members() -> pd.DataFrame:
    """2022 only. 甲镇: three of working age with labour capacity, two at work. 乙乡: two of working age,
    one at work, and a worker aged 70 (outside the labour force)."""
    rows = [("p1", "a1", "甲镇", 30, True), ("p2", "a1", "甲镇", 35, True), ("p3", "a2", "甲镇", 40, False),
            ("p4", "b1", "乙乡", 40, True), ("p5", "b2", "乙乡", 45, False), ("p6", "b2", "乙乡", 70, True)]
    frame = pd.DataFrame(rows, columns=["person_id", "household_id", "township", "age", "employed"])
    frame = frame.assign(year=2022, province="省", prefecture="市", county="县", labor_skill="ordinary",
                         work_location=np.where(frame["employed"], "in_county", "none"),
                         months_worked=np.where(frame["employed"], 10.0, 0.0), wage_income=0.0,
                         workshop_job=False, public_welfare_post=False)
    return schema.conform(frame, "members")


def test_township_measure_exact_values():
    out = measure.township_indicators(_households(), _members())
    assert list(out.columns) == list(measure.COLUMNS)
    assert out[["township", "year"]].astype(object).where(out[["township", "year"]].notna(), None).values.tolist() == [
        ["乙乡", 2021], ["甲镇", 2021], [None, 2021], ["乙乡", 2022], ["甲镇", 2022], [None, 2022]]
    assert out["scope"].tolist() == ["township", "township", "county"] * 2
    row = out.set_index([out["township"].fillna("county"), "year"])
    expected = {
        # households, persons, income per capita, panel households, real growth, targets, share of targets,
        # labour force, employment rate
        ("甲镇", 2021): (2, 5, 50000 / 5, None, None, 0, 0.0, None, None),
        ("乙乡", 2021): (1, 1, 8000.0, None, None, 0, 0.0, None, None),
        ("county", 2021): (3, 6, 58000 / 6, None, None, 0, 0.0, None, None),
        ("甲镇", 2022): (2, 5, 55000 / 5, 2, 1.1 / DEFLATOR_2022 - 1, 1, 0.5, 3, 2 / 3),
        ("乙乡", 2022): (2, 5, 49000 / 5, 1, 1.125 / DEFLATOR_2022 - 1, 1, 0.5, 2, 1 / 2),
        ("county", 2022): (4, 10, 104000 / 10, 3, (64000 / 6) / (58000 / 6) / DEFLATOR_2022 - 1, 2, 0.5, 5, 3 / 5),
    }
    columns = ["households", "persons", "income_pc", "panel_households", "growth_real", "households_targets",
               "share_households_targets", "labour_force", "employment_rate"]
    for key, values in expected.items():
        for column, value in zip(columns, values):
            got = row.loc[key, column]
            if value is None:
                assert pd.isna(got), (key, column)
            else:
                assert float(got) == pytest.approx(value, rel=1e-12), (key, column)


def test_unrecorded_township_is_a_part_of_the_county():
    households = _households()
    households.loc[households["household_id"] == "b1", "township"] = pd.NA
    out = measure.township_indicators(households, _members())
    y2021 = out[out["year"] == 2021]
    assert y2021["township"].tolist()[:2] == [measure.UNRECORDED, "甲镇"]
    assert y2021["households"].tolist() == [1, 2, 3]


# ------------------------------------------------------------------------------------------ suppression
def _table(households, targets, panel, labour, county="县", year=2024) -> pd.DataFrame:
    """township_indicators rows of one county-year: townships T1.. then the county (the sums)."""
    n = len(households)
    frame = pd.DataFrame({"prefecture": "市", "county": county, "township": [f"T{i + 1}" for i in range(n)],
                          "scope": "township", "year": year, "households": households,
                          "households_targets": targets, "panel_households": panel, "labour_force": labour})
    total = frame[["households", "households_targets", "panel_households", "labour_force"]].sum()
    frame = pd.concat([frame, pd.DataFrame([{"prefecture": "市", "county": county, "township": pd.NA,
                                             "scope": "county", "year": year, **total}])], ignore_index=True)
    frame = frame.assign(persons=frame["households"] * 3, income_pc=10000.0, growth_real=0.05,
                         growth_real_low=0.01, growth_real_high=0.09, labour_force_employed=frame["labour_force"],
                         employment_rate=0.6,
                         share_households_targets=frame["households_targets"] / frame["households"])
    for c in ("households", "persons", "panel_households", "labour_force", "labour_force_employed",
              "households_targets"):
        frame[c] = frame[c].astype("int64")
    return frame[list(measure.COLUMNS)]


def test_small_township_is_blanked_with_a_complement():
    # households: T1 = 3 is small; the smallest other township (T2 = 10) is blanked with it.
    # targets: T1 = 1 and T3 = 2 are small and together 3 < 5: T4 (7) goes too; the county's 10 stays.
    # growth of T3 rests on 4 households present in both years; T4's employment rate on 3 persons, hidden
    # with the smallest other labour force (T1's 6, blanked already); the county's workers stay.
    table = pd.concat([_table([3, 10, 12, 20], [1, 0, 2, 7], [3, 10, 4, 20], [6, 20, 24, 3]),
                       _table([30, 40], [6, 8], [30, 40], [50, 60], county="乙县")], ignore_index=True)
    out = townships.disclosed(table, k=5).set_index(["county", table["township"].fillna("total")])
    assert out["suppressed"].tolist() == [True, True, False, False, False, False, False, False]
    for town in ("T1", "T2"):
        assert out.loc[("县", town), list(townships.MEASURES)].isna().all()
    assert out.loc[("县", "T3"), "households"] == 12 and out.loc[("县", "T3"), "income_pc"] == 10000.0
    assert out.loc[[("县", "T3"), ("县", "T4")], list(townships.TARGETS)].isna().all().all()
    assert out.loc[("县", "total"), "households_targets"] == 10 and out.loc[("县", "total"), "households"] == 45
    assert out.loc[("县", "T3"), list(townships.GROWTH)].isna().all()
    assert out.loc[("县", "T4"), "growth_real"] == 0.05
    assert out.loc[("县", "T4"), list(townships.EMPLOYMENT)].isna().all()
    assert out.loc[("县", "T3"), "employment_rate"] == 0.6 and out.loc[("县", "total"), "labour_force_employed"] == 53
    # nothing small in the other county: nothing blanked
    assert out.loc["乙县", list(townships.MEASURES)].notna().all().all()


def test_a_lone_small_township_takes_the_county_total_with_it():
    # one township of 3 households, the other empty: no township can hide it, so the total goes too
    out = townships.disclosed(_table([3, 0], [0, 0], [3, 0], [6, 0]), k=5)
    assert out.loc[0, "suppressed"] and out.loc[2, "suppressed"]
    assert pd.isna(out.loc[2, "households"]) and out.loc[1, "households"] == 0


def test_k_one_blanks_nothing():
    table = _table([3, 10, 12, 20], [1, 0, 2, 7], [3, 10, 4, 20], [6, 20, 24, 3])
    out = townships.disclosed(table, k=1)
    assert out[list(townships.MEASURES)].notna().all().all() and not out["suppressed"].any()


# ------------------------------------------------------------------------------------------ pages
@pytest.fixture(scope="module")
def prefecture(small_processed):
    from analysis.io import data
    return data.list_regions(small_processed, "prefecture")[0]


def _recoverable(shown: pd.DataFrame, raw: pd.DataFrame, count: str, k: int) -> list:
    """County-years where the blanked townships' ``count`` is one cell, or adds up to 1..k-1 (so the county
    total shown gives it away)."""
    bad = []
    town = raw["scope"] == "township"
    for key, part in raw[town].groupby(["county", "year"]):
        hidden = shown.loc[part.index, count].isna() & part[count].notna()
        values = part.loc[hidden, count].astype(float)
        values = values[values > 0]
        total = shown[(shown["county"] == key[0]) & (shown["year"] == key[1]) & ~town][count]
        if total.notna().all() and (len(values) == 1 or 0 < values.sum() < k):
            bad.append(key)
    return bad


def test_pages_blank_small_cells(small_processed, prefecture):
    from analysis.config import min_households
    ctx = townships.context(region=prefecture, years=[2020, 2024], data_dir=str(small_processed), lang="zh")
    k = min_households()
    raw = build.load("township_indicators", small_processed)
    shown = townships.disclosed(raw)
    town = raw["scope"] == "township"
    small = town & (raw["households"] < k)
    assert shown.loc[small, list(townships.MEASURES)].isna().all().all()
    few = town & raw["households_targets"].between(1, k - 1)
    assert few.any(), "the small prefecture has townships with a few monitoring targets"
    assert shown.loc[few, "households_targets"].isna().all()
    assert shown.loc[few, "share_households_targets"].isna().all()
    assert _recoverable(shown, raw, "households", k) == []
    assert _recoverable(shown, raw, "households_targets", k) == []
    assert _recoverable(shown.assign(labour_force=shown["labour_force_employed"]), raw, "labour_force", k) == []
    page = townships.township_table(ctx).to_html()
    assert "–" in page and "全县合计" in page
    assert townships.township_summary(ctx).data.startswith(f"{ctx.last}年")
    fig = townships.growth_figure(ctx)
    assert fig.axes and fig.axes[0].get_title()
    sheets = townships.township_tables(ctx)
    assert len(next(iter(sheets.values()))) == len(raw[(raw["year"] >= 2020) & (raw["year"] <= ctx.last)])
    with pytest.raises(ParameterError, match="prefectures"):
        townships.context(region=raw["county"].iloc[0], years=[2020, 2024], data_dir=str(small_processed))


def test_runner_gives_the_prefecture_notebook_to_prefectures_only(small_processed, prefecture, tmp_path):
    from analysis.io import data
    from analysis.publish import pipeline
    common = {"lang": "zh", "jobs": 1, "data_dir": small_processed, "output_dir": tmp_path,
              "notebooks_dir": ROOT / "notebooks", "parameters": None, "timeout": None, "engine": "warm",
              "valid_regions": None}
    plan = pipeline._plan("all", "all", **common)
    counties = data.list_regions(small_processed)
    assert plan.regions == [*counties, prefecture]
    assert plan.pairs[prefecture] == ["06-prefecture"]
    assert all(plan.pairs[c] == [s for s in plan.notebooks if s != "06-prefecture"] for c in counties)
    assert pipeline._plan("all", "01", **common).pairs[prefecture] == []
    with pytest.raises(ParameterError, match="06-prefecture is for a prefecture"):
        pipeline._plan(counties[0], "06", **common)


def test_prefecture_notebook_runs(small_processed, prefecture, tmp_path):
    out = tmp_path / "06.ipynb"
    folder = tmp_path / "reports" / prefecture
    pm.execute_notebook(str(ROOT / "notebooks" / "06-prefecture.ipynb"), str(out), kernel_name="python3",
                        parameters={"region": prefecture, "data_dir": str(small_processed),
                                    "output_dir": str(folder), "lang": "en"},
                        progress_bar=False, cwd=str(ROOT / "notebooks"))
    nb = json.loads(out.read_text(encoding="utf-8"))
    images = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 4   # key series, scores, ranks, township growth
    assert "County total" in json.dumps(nb, ensure_ascii=False)
    assert (folder / "06-prefecture.xlsx").exists()


def test_prefecture_word_report_has_the_township_section(small_processed, prefecture):
    from analysis.publish import documents
    ctx = townships.context(region=prefecture, years=[2020, 2024], data_dir=str(small_processed), lang="en")
    counties = documents.prefecture_outline(ctx)[0]
    [section] = [s for s in counties.children if s.key == "townships"]
    shown = [call() for call in section.items]
    assert [type(x).__name__ for x in shown] == ["Markdown", "Styler", "Figure"]
    writer = documents.Writer(documents.Document(str(documents.TEMPLATE)), "en", "source")
    writer.section(section)
    assert writer.doc.paragraphs[0].text.endswith("Townships") and len(writer.doc.tables) == 1
