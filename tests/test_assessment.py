"""Tests of the post-assessment module: scores, ranks, grades, scorecards, weights, bootstrap intervals.

Expected values are computed by hand in the comments, on tables small enough to check on paper.
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from analysis.studies import assessment as asm
from analysis.errors import DataError

# A tiny indicator system: two dimensions, three indicators, four grade bands. Block style, so that
# the validation tests can find the line of each key.
TINY = """\
dimensions:
  - code: a
    label_zh: 甲
    label_en: Dimension A
    weight: 0.6
  - code: b
    label_zh: 乙
    label_en: Dimension B
    weight: 0.4
indicators:
  - code: x1
    label_zh: 指标一
    label_en: Indicator 1
    dimension: a
    source: s
    column: x1
    direction: higher_better
    normalisation: minmax
    weight: 2
  - code: x2
    label_zh: 指标二
    label_en: Indicator 2
    dimension: a
    source: s
    column: x2
    direction: lower_better
    normalisation: minmax
    weight: 1
  - code: x3
    label_zh: 指标三
    label_en: Indicator 3
    dimension: b
    source: s
    column: x3
    direction: higher_better
    normalisation: target
    target: 10
    tolerance: 5
    weight: 1
grades:
  - code: good
    label_zh: 好
    label_en: Good
    min_score: 75
  - code: fairly_good
    label_zh: 较好
    label_en: Fairly good
    min_score: 50
  - code: fair
    label_zh: 一般
    label_en: Fair
    min_score: 35
  - code: poor
    label_zh: 差
    label_en: Poor
    min_score: 0
scoring:
  zscore_centre: 50
  zscore_scale: 10
  flag_parts: 3
bootstrap:
  replicates: 50
  seed: 1
  level: 0.90
  within: village
"""


def write(tmp_path, text: str, name: str = "system.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tiny(tmp_path):
    return asm.load_system(write(tmp_path, TINY))


def table_p() -> pd.DataFrame:
    """Four counties of prefecture P and two of Q, one year."""
    return pd.DataFrame({
        "prefecture": ["P", "P", "P", "P", "Q", "Q"],
        "county": ["c1", "c2", "c3", "c4", "q1", "q2"],
        "year": 2023,
        "x1": [10.0, 20.0, 30.0, 50.0, 100.0, 200.0],
        "x2": [5.0, 1.0, 3.0, 5.0, 1.0, 1.0],
        "x3": [12.0, 7.5, 5.0, 10.0, 10.0, 1.0],
    })


def by_county(frame: pd.DataFrame, column: str) -> dict:
    return dict(zip(frame["county"], frame[column]))


# ----------------------------------------------------------------------------------------------------
# scores, ranks, grades
# ----------------------------------------------------------------------------------------------------
def test_scores_ranks_and_grades_by_hand(tiny):
    out = asm.score(table_p(), tiny)
    # Prefecture P (min-max among c1..c4 only):
    # x1 10,20,30,50: min 10, span 40 -> 0, 25, 50, 100
    # x2 5,1,3,5 lower better: (5 - x) / 4 -> 0, 100, 50, 0
    # x3 target 10, tolerance 5: >= 10 -> 100; 7.5 -> (7.5 - 5) / 5 = 50; 5 -> 0
    #   -> 100, 50, 0, 100
    # dimension a = (2 s1 + s2) / 3: c1 0, c2 (50 + 100) / 3 = 50, c3 (100 + 50) / 3 = 50, c4 200/3
    # dimension b = s3
    # composite = 0.6 a + 0.4 b: c1 40, c2 30 + 20 = 50, c3 30 + 0 = 30, c4 40 + 40 = 80
    p = out[out["prefecture"] == "P"]
    assert by_county(p, "score_x1") == pytest.approx({"c1": 0, "c2": 25, "c3": 50, "c4": 100})
    assert by_county(p, "score_x2") == pytest.approx({"c1": 0, "c2": 100, "c3": 50, "c4": 0})
    assert by_county(p, "score_x3") == pytest.approx({"c1": 100, "c2": 50, "c3": 0, "c4": 100})
    assert by_county(p, "dimension_a") == pytest.approx({"c1": 0, "c2": 50, "c3": 50, "c4": 200 / 3})
    assert by_county(p, "composite") == pytest.approx({"c1": 40, "c2": 50, "c3": 30, "c4": 80})
    assert by_county(p, "rank") == {"c4": 1, "c2": 2, "c1": 3, "c3": 4}
    # bands: >= 75 good, >= 50 fairly_good (50 exactly is in it), >= 35 fair, else poor
    assert by_county(p, "grade") == {"c4": "good", "c2": "fairly_good", "c1": "fair", "c3": "poor"}
    assert (p["n_peers"] == 4).all()
    # Q is normalised on its own: x1 100, 200 -> 0, 100; x2 no spread -> 50 each; x3 10 -> 100, 1 -> 0
    # q1: a = (0 + 50) / 3 = 16.67, b = 100 -> 10 + 40 = 50; q2: a = (200 + 50) / 3 = 83.33, b = 0 -> 50
    q = out[out["prefecture"] == "Q"]
    assert by_county(q, "score_x2") == {"q1": 50, "q2": 50}
    assert by_county(q, "composite") == pytest.approx({"q1": 50, "q2": 50})
    assert by_county(q, "rank") == {"q1": 1, "q2": 1}  # a tie shares the best rank
    assert list(out.columns[:3]) == ["prefecture", "county", "year"]
    assert not out["reweighted"].any() and (out["missing_indicators"] == "").all()


def test_group_none_ranks_all_counties_together(tiny):
    out = asm.score(table_p(), tiny, group=())
    # All six counties together. x1 = 10, 20, 30, 50, 100, 200: s1 = (x - 10) / 190 * 100
    # x2 = 5, 1, 3, 5, 1, 1 lower better: s2 = (5 - x) / 4 * 100 = 0, 100, 50, 0, 100, 100
    # x3 (target, unaffected by peers) = 100, 50, 0, 100, 100, 0
    # a = (2 s1 + s2) / 3, composite = 0.6 a + 0.4 s3
    s1 = (np.array([10, 20, 30, 50, 100, 200]) - 10) / 190 * 100
    a = (2 * s1 + np.array([0, 100, 50, 0, 100, 100])) / 3
    composite = 0.6 * a + 0.4 * np.array([100, 50, 0, 100, 100, 0])
    # = 40, 42.1, 14.2, 48.4, 78.9, 60 -> q1 1, q2 2, c4 3, c2 4, c1 5, c3 6
    counties = ["c1", "c2", "c3", "c4", "q1", "q2"]
    assert by_county(out, "composite") == pytest.approx(dict(zip(counties, composite)))
    assert by_county(out, "rank") == {"q1": 1, "q2": 2, "c4": 3, "c2": 4, "c1": 5, "c3": 6}
    assert (out["n_peers"] == 6).all()


def test_zscore_normalisation_t_scale_and_clipping(tmp_path):
    text = TINY.replace("normalisation: minmax\n    weight: 2", "normalisation: zscore\n    weight: 2")
    system = asm.load_system(write(tmp_path, text))
    # x1 = 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population sd 2 -> z = -1.5, -0.5 (x3), 0 (x2), 1, 2
    # score = 50 + 10 z -> 35, 45, 45, 45, 50, 50, 60, 70
    x1 = [2, 4, 4, 4, 5, 5, 7, 9]
    t = pd.DataFrame({"prefecture": "P", "county": [f"k{i}" for i in range(8)], "year": 2023,
                      "x1": x1, "x2": 1.0, "x3": 10.0})
    out = asm.score(t, system).sort_values("county")
    assert out["score_x1"].tolist() == pytest.approx([35, 45, 45, 45, 50, 50, 60, 70])
    # Clipping: 30 zeros and one 1 -> mean 1/31, sd sqrt(30)/31, z of the 1 = 30/sqrt(30) = 5.48
    # -> 50 + 54.8 clipped to 100; each zero z = -1/sqrt(30) -> 50 - 10/sqrt(30) = 48.17
    t = pd.DataFrame({"prefecture": "P", "county": [f"k{i:02d}" for i in range(31)], "year": 2023,
                      "x1": [0.0] * 30 + [1.0], "x2": 1.0, "x3": 10.0})
    out = asm.score(t, system).sort_values("county")
    assert out["score_x1"].iloc[-1] == 100
    assert out["score_x1"].iloc[0] == pytest.approx(50 - 10 / np.sqrt(30))


def test_target_normalisation_lower_better(tmp_path):
    text = TINY.replace("direction: higher_better\n    normalisation: target",
                        "direction: lower_better\n    normalisation: target")
    system = asm.load_system(write(tmp_path, text))
    # lower better, target 10, tolerance 5: <= 10 -> 100; 12 -> (15 - 12) / 5 = 60; >= 15 -> 0
    t = table_p().assign(x3=[8.0, 10.0, 12.0, 16.0, 1.0, 1.0])
    out = asm.score(t, system)
    assert by_county(out, "score_x3") == pytest.approx(
        {"c1": 100, "c2": 100, "c3": 60, "c4": 0, "q1": 100, "q2": 100})


def scale_system(tmp_path):
    """TINY with x1 on an absolute scale (worst 0, best 40) and x2 lower-better (best 1, worst 5)."""
    text = TINY.replace("normalisation: minmax\n    weight: 2",
                        "normalisation: scale\n    worst: 0\n    best: 40\n    reference: by hand\n    weight: 2")
    text = text.replace("normalisation: minmax\n    weight: 1",
                        "normalisation: scale\n    best: 1\n    worst: 5\n    weight: 1")
    return asm.load_system(write(tmp_path, text))


def test_scale_normalisation_by_hand(tmp_path):
    system = scale_system(tmp_path)
    assert system.indicators[0].reference == "by hand" and not system.indicators[0].relative
    out = asm.score(table_p(), system)
    # x1 = 10, 20, 30, 50, 100, 200 on 0..40 -> 25, 50, 75, 100 (clipped), 100, 100
    # x2 = 5, 1, 3, 5, 1, 1 lower better, best 1 worst 5: 100 (5 - x) / 4 -> 0, 100, 50, 0, 100, 100
    assert by_county(out, "score_x1") == pytest.approx(
        {"c1": 25, "c2": 50, "c3": 75, "c4": 100, "q1": 100, "q2": 100})
    assert by_county(out, "score_x2") == pytest.approx(
        {"c1": 0, "c2": 100, "c3": 50, "c4": 0, "q1": 100, "q2": 100})
    # c1: a = (2 * 25 + 0) / 3 = 16.67, b = 100 -> 0.6 * 16.67 + 40 = 50
    assert by_county(out, "composite")["c1"] == pytest.approx(50)


def test_dropping_a_county_leaves_every_other_score_unchanged(tmp_path):
    """Absolute scales: a county's indicator scores, composite and grade are its own."""
    system = scale_system(tmp_path)
    full = asm.score(table_p(), system)
    for gone in table_p()["county"]:
        part = asm.score(table_p()[table_p()["county"] != gone], system)
        both = full.merge(part, on=["prefecture", "county", "year"], suffixes=("", "_part"))
        assert len(both) == 5
        for col in ["score_x1", "score_x2", "score_x3", "composite", "grade"]:
            assert (both[col] == both[f"{col}_part"]).all(), (gone, col)
    # The relative (min-max) option is not: dropping c4 (x1 = 50, the maximum of P) rescales c1..c3.
    relative = system.relative()
    assert all(i.relative for i in relative.indicators)
    full, part = asm.score(table_p(), relative), asm.score(table_p()[table_p()["county"] != "c4"], relative)
    assert by_county(full, "score_x1")["c3"] == pytest.approx(50)   # (30 - 10) / (50 - 10)
    assert by_county(part, "score_x1")["c3"] == pytest.approx(100)  # (30 - 10) / (30 - 10)


def test_shipped_system_scores_are_independent_of_the_other_counties():
    system = asm.load_system()
    assert not any(i.relative for i in system.indicators)
    rng = np.random.default_rng(3)
    codes = system.indicator_codes
    table = pd.DataFrame({"prefecture": "P", "county": [f"c{i}" for i in range(6)], "year": 2024}
                         | {c: rng.uniform(0, 0.1, 6) for c in codes})
    full = asm.score(table, system).set_index("county")
    for gone in table["county"]:
        part = asm.score(table[table["county"] != gone], system).set_index("county")
        # equal up to float summation order (1e-9 of a point)
        assert full.loc[part.index, "composite"].tolist() == pytest.approx(part["composite"].tolist(), abs=1e-9)


def test_missing_indicator_is_reweighted_within_dimension_and_flagged(tiny):
    t = table_p()
    t.loc[t["county"] == "c2", "x1"] = np.nan
    t.loc[t["county"] == "c3", "x3"] = np.nan
    out = asm.score(t, tiny)
    p = out[out["prefecture"] == "P"]
    # x1 among c1, c3, c4 (10, 30, 50): 0, 50, 100
    # c2: a = s2 alone = 100 (weight 1 of the remaining 1); b = 50 -> 0.6 * 100 + 0.4 * 50 = 80
    # c3: dimension b missing entirely -> composite = a = (2 * 50 + 50) / 3 = 50
    # c1: a = 0, b = 100 -> 40; c4: a = 200/3, b = 100 -> 80
    assert by_county(p, "dimension_a") == pytest.approx({"c1": 0, "c2": 100, "c3": 50, "c4": 200 / 3})
    assert np.isnan(by_county(p, "dimension_b")["c3"])
    assert by_county(p, "composite") == pytest.approx({"c1": 40, "c2": 80, "c3": 50, "c4": 80})
    assert by_county(p, "rank") == {"c2": 1, "c4": 1, "c3": 3, "c1": 4}
    assert by_county(p, "missing_indicators") == {"c1": "", "c2": "x1", "c3": "x3", "c4": ""}
    assert by_county(p, "reweighted") == {"c1": False, "c2": True, "c3": True, "c4": False}


def test_all_indicators_missing_gives_no_composite(tiny):
    t = table_p()
    t.loc[t["county"] == "c1", ["x1", "x2", "x3"]] = np.nan
    out = asm.score(t, tiny)
    c1 = out[out["county"] == "c1"].iloc[0]
    assert np.isnan(c1["composite"]) and pd.isna(c1["rank"]) and pd.isna(c1["grade"])
    assert c1["missing_indicators"] == "x1,x2,x3"
    assert (out.loc[out["prefecture"] == "P", "n_peers"] == 3).all()


def test_score_year_and_bad_tables(tiny):
    t = pd.concat([table_p(), table_p().assign(year=2022)])
    assert set(asm.score(t, tiny, year=2022)["year"]) == {2022}
    with pytest.raises(ValueError, match="year 2019"):
        asm.score(t, tiny, year=2019)
    with pytest.raises(ValueError, match=r"\['x3'\]"):
        asm.score(table_p().drop(columns="x3"), tiny)
    with pytest.raises(ValueError, match="more than one row"):
        asm.score(pd.concat([table_p(), table_p().head(1)]), tiny)
    with pytest.raises(ValueError, match="'x2' must hold numbers"):
        asm.score(table_p().assign(x2="high"), tiny)
    with pytest.raises(ValueError, match="peers"):
        asm.score(table_p(), tiny, peers=())


def test_score_does_not_mutate_input(tiny):
    t = table_p()
    before = t.copy()
    asm.score(t, tiny)
    asm.scorecard(t, tiny)
    asm.weight_sensitivity(t, tiny)
    pd.testing.assert_frame_equal(t, before)


# ----------------------------------------------------------------------------------------------------
# scorecard
# ----------------------------------------------------------------------------------------------------
def test_scorecard_by_hand(tiny):
    now = table_p()
    last = table_p().assign(year=2022, x1=[12.0, 20.0, 25.0, 40.0, 100.0, 150.0])
    card = asm.scorecard(pd.concat([last, now]), tiny, year=2023)
    assert list(card.columns) == ["prefecture", "county", "year", "dimension", "indicator", "value", "estimate",
                                  "group_median", "score", "change", "rank", "n_peers", "flag", "events",
                                  "few_events", "relative", "direction", "normalisation"]
    assert len(card) == 6 * 3
    x1 = card[(card["indicator"] == "x1") & (card["prefecture"] == "P")]
    # median of 10, 20, 30, 50 = 25; change = 2023 - 2022 = -2, 0, 5, 10
    assert (x1["group_median"] == 25).all()
    assert by_county(x1, "change") == {"c1": -2, "c2": 0, "c3": 5, "c4": 10}
    assert by_county(x1, "rank") == {"c4": 1, "c3": 2, "c2": 3, "c1": 4}
    # thirds of 4 peers: strength when rank * 3 <= 4 (rank 1), weakness when rank from the bottom
    # * 3 <= 4 (the last); x2 = 5, 1, 3, 5: c1 and c4 tie last (bottom rank 1) -> both weaknesses
    assert by_county(x1, "flag") == {"c4": "strength", "c3": "neutral", "c2": "neutral", "c1": "weakness"}
    x2 = card[(card["indicator"] == "x2") & (card["prefecture"] == "P")]
    assert by_county(x2, "flag") == {"c2": "strength", "c3": "neutral", "c1": "weakness", "c4": "weakness"}
    assert by_county(x2, "group_median") == pytest.approx(dict.fromkeys(["c1", "c2", "c3", "c4"], 4.0))
    # Q has 2 peers, fewer than 3: nobody is flagged
    assert (card.loc[card["prefecture"] == "Q", "flag"] == "neutral").all()
    # without a previous year, change is missing
    first = asm.scorecard(pd.concat([last, now]), tiny, year=2022)
    assert first["change"].isna().all()


# ----------------------------------------------------------------------------------------------------
# weights
# ----------------------------------------------------------------------------------------------------
def test_weight_sensitivity_scenarios_by_hand(tiny):
    out = asm.weight_sensitivity(table_p(), tiny)
    assert list(out.columns) == ["scenario", "prefecture", "county", "year", "composite", "rank",
                                 "rank_change"]
    assert list(dict.fromkeys(out["scenario"])) == ["configured", "equal", "drop_a", "drop_b", "omit_x1", "omit_x2",
                                                    "omit_x3", "relative"]
    p = out[out["prefecture"] == "P"]
    eq = p[p["scenario"] == "equal"]
    # equal: dimensions 1/2 each, x1 and x2 equal within a:
    # a = (s1 + s2) / 2: c1 0, c2 (25 + 100) / 2 = 62.5, c3 50, c4 50; b = 100, 50, 0, 100
    # composite = (a + b) / 2: c1 50, c2 56.25, c3 25, c4 75 -> ranks c4 1, c2 2, c1 3, c3 4
    assert by_county(eq, "composite") == pytest.approx({"c1": 50, "c2": 56.25, "c3": 25, "c4": 75})
    assert by_county(eq, "rank") == {"c4": 1, "c2": 2, "c1": 3, "c3": 4}
    # drop_a: composite = b = 100, 50, 0, 100 -> c1 and c4 tie first, c2 3, c3 4;
    # rank_change against configured (c4 1, c2 2, c1 3, c3 4): c1 -2, c4 0, c2 +1, c3 0
    da = p[p["scenario"] == "drop_a"]
    assert by_county(da, "composite") == pytest.approx({"c1": 100, "c2": 50, "c3": 0, "c4": 100})
    assert by_county(da, "rank_change") == {"c1": -2, "c4": 0, "c2": 1, "c3": 0}
    # drop_b: composite = a = 0, 50, 50, 66.7 -> c4 1, c2 2, c3 2, c1 4 -> c3 -2, c1 +1
    db = p[p["scenario"] == "drop_b"]
    assert by_county(db, "rank_change") == {"c4": 0, "c2": 0, "c3": -2, "c1": 1}
    assert (p.loc[p["scenario"] == "configured", "rank_change"] == 0).all()
    # omit_x3 leaves dimension b without indicators: composite = a, as drop_b
    assert by_county(p[p["scenario"] == "omit_x3"], "rank_change") == {"c4": 0, "c2": 0, "c3": -2, "c1": 1}
    # omit_x1: a = s2 = 0, 100, 50, 0; composite = 0.6 a + 0.4 b = 40, 80, 30, 40 -> c2 1, c1 2, c4 2, c3 4
    o1 = p[p["scenario"] == "omit_x1"]
    assert by_county(o1, "composite") == pytest.approx({"c1": 40, "c2": 80, "c3": 30, "c4": 40})
    assert by_county(o1, "rank") == {"c2": 1, "c1": 2, "c4": 2, "c3": 4}
    # relative: x3 min-max in P, (x - 5) / 7 -> 100, 35.7, 0, 71.4; composite 40, 44.3, 30, 68.6
    rel = p[p["scenario"] == "relative"]
    assert by_county(rel, "composite") == pytest.approx({"c1": 40, "c2": 30 + 40 * 2.5 / 7, "c3": 30,
                                                         "c4": 40 + 40 * 5 / 7})
    # largest moves over all scenarios: c4 1 (omit_x1), c2 1, c1 2 (drop_a), c3 2 (drop_b)
    robust = asm.robust_ranks(out)
    moves = robust[robust["prefecture"] == "P"].set_index("county")["largest_move"].to_dict()
    assert moves == {"c4": 1, "c2": 1, "c1": 2, "c3": 2}
    assert not robust.loc[robust["prefecture"] == "P", "robust"].any()
    one = asm.robust_ranks(out, places=1)
    assert sorted(one.loc[one["robust"] & (one["prefecture"] == "P"), "county"]) == ["c2", "c4"]


def test_weight_scenarios_skip_empty_and_zero_dimensions():
    system = asm.load_system()
    scenarios = asm.weight_scenarios(system)
    # the shipped file's responsibility dimension has weight 0 and no indicators
    assert "drop_responsibility" not in scenarios
    assert {"configured", "equal", "drop_policy", "drop_work", "drop_results", "relative",
            *(f"omit_{c}" for c in system.indicator_codes)} == set(scenarios)
    assert all(i.normalisation == "minmax" for i in scenarios["relative"].indicators)
    equal = scenarios["equal"]
    assert {d.code: d.weight for d in equal.dimensions} == {
        "responsibility": 0.0, "policy": 1.0, "work": 1.0, "results": 1.0}
    assert {i.weight for i in equal.indicators} == {1.0}


# ----------------------------------------------------------------------------------------------------
# the indicator system file
# ----------------------------------------------------------------------------------------------------
def test_shipped_system_loads_with_domain_labels():
    system = asm.load_system()
    assert [d.label_zh for d in system.dimensions] == ["责任落实", "政策落实", "工作落实", "成效巩固"]
    assert [g.label_zh for g in system.grades] == ["好", "较好", "一般", "差"]
    assert system.bootstrap == {"replicates": 1000, "seed": 0, "level": 0.90, "within": "village"}
    assert {i.source for i in system.indicators} <= set(asm.SOURCES)  # names of tables, never code
    labels = system.labels("en")
    assert all(labels[c] for c in system.indicator_codes)


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``fragment``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    return hits[nth - 1]


# Each case: edits of TINY (replace, with) -> key path, (line fragment, occurrence) or None when the
# problem concerns a whole missing section, and a fragment of the message.
CASES = {
    "unknown top key": ([("scoring:\n", "colour: red\nscoring:\n")], "colour", ("colour: red", 1),
                        "unknown key"),
    "code paths are not read": ([("scoring:\n", "sources:\n  s: nowhere.tables.s\nscoring:\n")], "sources",
                                ("sources:", 1), "unknown key"),
    "unknown indicator key": ([("    weight: 1\n  - code: x3",
                                "    weight: 1\n    unit: yuan\n  - code: x3")],
                              "indicators[1].unit", ("unit: yuan", 1), "unknown key"),
    "missing key": ([("    column: x2\n", "")], "indicators[1].column", ("  - code: x2", 1),
                    "'column' is missing"),
    "bad direction": ([("direction: higher_better\n    normalisation: minmax",
                        "direction: upward\n    normalisation: minmax")],
                      "indicators[0].direction", ("direction: upward", 1), "higher_better"),
    "bad normalisation": ([("normalisation: minmax\n    weight: 1", "normalisation: rank\n    weight: 1")],
                          "indicators[1].normalisation", ("normalisation: rank", 1), "zscore"),
    "target without tolerance": ([("    tolerance: 5\n", "")], "indicators[2].tolerance",
                                 ("  - code: x3", 1), "tolerance"),
    "scale without best": ([("normalisation: minmax\n    weight: 2",
                             "normalisation: scale\n    worst: 0\n    weight: 2")],
                           "indicators[0].best", ("  - code: x1", 1), "'best' is missing"),
    "best below worst": ([("normalisation: minmax\n    weight: 2",
                           "normalisation: scale\n    best: 0\n    worst: 1\n    weight: 2")],
                         "indicators[0].best", ("best: 0", 1), "must be above worst"),
    "target on minmax": ([("normalisation: minmax\n    weight: 2",
                           "normalisation: minmax\n    target: 3\n    weight: 2")],
                         "indicators[0].target", ("target: 3", 1), "only used with normalisation: target"),
    "weight not a number": ([("    weight: 2\n", "    weight: heavy\n")], "indicators[0].weight",
                            ("weight: heavy", 1), "must be a number"),
    "negative weight": ([("    weight: 0.4\n", "    weight: -1\n")], "dimensions[1].weight",
                        ("weight: -1", 1), "at least 0"),
    "dimension weights zero": ([("    weight: 0.6\n", "    weight: 0\n"),
                                ("    weight: 0.4\n", "    weight: 0\n")],
                               "dimensions", ("dimensions:", 1), "add up to zero"),
    "indicator weights zero": ([("    tolerance: 5\n    weight: 1\n", "    tolerance: 5\n    weight: 0\n")],
                               "dimensions[1].weight", ("    weight: 0.4", 1), "add up to zero"),
    "dimension without indicators": ([("indicators:\n", "  - {code: c, label_zh: 丙, label_en: C, weight: 1}\n"
                                       "indicators:\n")],
                                     "dimensions[2].weight", ("code: c", 1), "no indicators"),
    "grades not ordered": ([("    min_score: 35\n", "    min_score: 60\n")], "grades[2].min_score",
                           ("min_score: 60", 1), "strictly decreasing"),
    "grades overlap": ([("    min_score: 35\n", "    min_score: 50\n")], "grades[2].min_score",
                       ("min_score: 50", 2), "strictly decreasing"),
    "last grade not zero": ([("    min_score: 0\n", "    min_score: 10\n")], "grades[3].min_score",
                            ("min_score: 10", 1), "start at 0"),
    "unknown dimension": ([("    dimension: b\n", "    dimension: c\n")], "indicators[2].dimension",
                          ("dimension: c", 1), "not a dimension code"),
    "duplicate indicator": ([("  - code: x2\n", "  - code: x1\n")], "indicators[1].code",
                            ("  - code: x1", 2), "used twice"),
    "duplicate dimension": ([("  - code: b\n", "  - code: a\n")], "dimensions[1].code", ("  - code: a", 2),
                            "used twice"),
    "bad level": ([("  level: 0.90\n", "  level: 1.5\n")], "bootstrap.level", ("level: 1.5", 1), "below 1"),
    "source naming code": ([("    source: s\n    column: x1", "    source: os.system\n    column: x1")],
                           "indicators[0].source", ("source: os.system", 1), "not the name of an indicator table"),
    "bad code": ([("  - code: x1\n", "  - code: X-1\n")], "indicators[0].code", ("code: X-1", 1),
                 "not a code"),
    "bad relative_to": ([("    column: x1\n", "    column: x1\n    relative_to: district\n")],
                        "indicators[0].relative_to", ("relative_to: district", 1), "prefecture"),
    "duplicate yaml key": ([("    column: x1\n", "    column: x1\n    column: x9\n")],
                           "indicators[0].column", ("column: x9", 1), "appears twice"),
    "missing section": ([("scoring:\n  zscore_centre: 50\n  zscore_scale: 10\n  flag_parts: 3\n", "")],
                        "scoring", None, "'scoring' is missing"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_system_is_refused_with_a_located_message(tmp_path, case):
    edits, path, where, message = CASES[case]
    text = TINY
    for old, new in edits:
        assert old in text, case
        text = text.replace(old, new, 1)
    file = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        asm.load_system(file)
    problems = [p for p in err.value.problems if p.column == path]
    assert problems, f"{case}: no problem at {path}; got {err.value.problems}"
    problem = problems[0]
    assert problem.file == str(file)
    assert message in problem.message, problem
    assert problem.row == (line_of(text, *where) if where else None), (case, problem)


def test_yaml_syntax_error_reports_the_line(tmp_path):
    text = TINY.replace("    weight: 2\n", "    weight: [2\n")
    with pytest.raises(DataError) as err:
        asm.load_system(write(tmp_path, text))
    (problem,) = err.value.problems
    assert "not valid YAML" in problem.message and problem.row is not None


def test_every_problem_is_reported_at_once(tmp_path):
    text = TINY.replace("direction: lower_better", "direction: down").replace("  level: 0.90", "  level: 2")
    with pytest.raises(DataError) as err:
        asm.load_system(write(tmp_path, text))
    assert {p.column for p in err.value.problems} == {"indicators[1].direction", "bootstrap.level"}


def test_labels_and_with_weights(tiny):
    assert tiny.labels("zh")["good"] == "好"
    with pytest.raises(ValueError, match="lang"):
        tiny.labels("fr")
    heavier = tiny.with_weights({"b": 0.9}, {"x2": 5})
    assert [d.weight for d in heavier.dimensions] == [0.6, 0.9]
    assert [d.weight for d in tiny.dimensions] == [0.6, 0.4]  # the original is unchanged
    with pytest.raises(ValueError, match="unknown"):
        tiny.with_weights({"zz": 1})


# ----------------------------------------------------------------------------------------------------
# indicator tables from household records
# ----------------------------------------------------------------------------------------------------
def toy_system(tmp_path, indicator_extra: str = "", normalisation: str = "minmax") -> asm.System:
    """One dimension, one indicator: mean per-capita income of a county (source ``mean_income``)."""
    norm = {"minmax": "normalisation: minmax",
            "linear": "normalisation: target\n    target: 20000\n    tolerance: 20000"}[normalisation]
    text = f"""\
dimensions:
  - {{code: a, label_zh: 甲, label_en: A, weight: 1}}
indicators:
  - code: inc
    label_zh: 收入
    label_en: Income
    dimension: a
    source: mean_income
    column: net_income_pc
    direction: higher_better
    {norm}
    weight: 1{indicator_extra}
grades:
  - {{code: good, label_zh: 好, label_en: Good, min_score: 50}}
  - {{code: poor, label_zh: 差, label_en: Poor, min_score: 0}}
scoring: {{zscore_centre: 50, zscore_scale: 10, flag_parts: 3}}
bootstrap: {{replicates: 10, seed: 3, level: 0.90, within: village}}
"""
    return asm.load_system(write(tmp_path, text, "toy.yaml"))


def mean_income(households, members, by):
    return households.groupby([*by, "year"], as_index=False)["net_income_pc"].mean()


TOY = {"mean_income": mean_income}


def test_compute_indicators_relative_to_prefecture(tmp_path):
    system = toy_system(tmp_path, "\n    relative_to: prefecture")
    h = pd.DataFrame({"household_id": ["a", "b", "c", "d"], "year": 2023, "prefecture": ["P", "P", "P", "Q"],
                      "county": ["c1", "c1", "c2", "q1"], "village": ["v1", "v1", "v2", "v3"],
                      "net_income_pc": [1.0, 3.0, 5.0, 7.0]})
    m = pd.DataFrame({"household_id": ["a"], "person_id": ["a1"], "year": [2023]})
    out = asm.compute_indicators(h, m, system, TOY)
    # P pooled mean = (1 + 3 + 5) / 3 = 3; c1 mean 2 -> -1; c2 mean 5 -> +2; Q pooled 7, q1 7 -> 0
    assert list(out.columns) == ["prefecture", "county", "year", "inc"]
    assert by_county(out, "inc") == pytest.approx({"c1": -1, "c2": 2, "q1": 0})


def test_compute_indicators_per_and_scale(tmp_path):
    system = toy_system(tmp_path, "\n    per: households\n    scale: 1000")
    h = pd.DataFrame({"household_id": list("abcde"), "year": 2023, "prefecture": "P",
                      "county": ["c1", "c1", "c1", "c2", "c2"], "village": "v",
                      "net_income_pc": [1.0, 0, 1, 0, 0]})
    reg = {"mean_income": lambda hh, mm, by: hh.groupby([*by, "year"], as_index=False).agg(
        net_income_pc=("net_income_pc", "sum"), households=("household_id", "size"))}
    out = asm.compute_indicators(h, h.head(0), system, reg)
    # c1: 2 of 3 households -> 666.7 per 1000; c2: 0 of 2 -> 0
    assert by_county(out, "inc") == pytest.approx({"c1": 2000 / 3, "c2": 0})


def test_sources_are_called_with_the_region_columns(tmp_path):
    """A registry entry gets (households, members, by); relative_to asks it for whole prefectures."""
    calls = []

    def by_area(households, members, by):
        calls.append(tuple(by))
        return households.groupby([*by, "year"], as_index=False)["net_income_pc"].mean()

    system = toy_system(tmp_path, "\n    relative_to: prefecture")
    h = pd.DataFrame({"household_id": ["a", "b", "c"], "year": 2023, "prefecture": "P",
                      "county": ["c1", "c1", "c2"], "village": "v", "net_income_pc": [1.0, 3.0, 5.0]})
    out = asm.compute_indicators(h, h.head(0), system, {"mean_income": by_area})
    assert calls == [("county",), ("prefecture",)]
    assert by_county(out, "inc") == pytest.approx({"c1": -1, "c2": 2})


def test_a_source_missing_from_the_registry_is_named(tmp_path, tiny):
    assert set(asm.default_registry()) == set(asm.SOURCES)
    h = pd.DataFrame({"household_id": ["a"], "year": [2023], "prefecture": ["P"], "county": ["c1"]})
    with pytest.raises(ValueError, match="no indicator source"):
        asm.compute_indicators(h, h.head(0), tiny, {"other": mean_income})


def test_source_without_the_configured_column_is_named(tmp_path):
    system = toy_system(tmp_path)
    h = pd.DataFrame({"household_id": ["a"], "year": [2023], "prefecture": ["P"], "county": ["c1"],
                      "net_income_pc": [1.0]})
    reg = {"mean_income": lambda hh, mm, by: hh[[*by, "year"]].assign(other=1.0)}
    with pytest.raises(ValueError, match=r"no column\(s\) \['net_income_pc'\].*\['inc'\]"):
        asm.compute_indicators(h, h.head(0), system, reg)


# ----------------------------------------------------------------------------------------------------
# bootstrap
# ----------------------------------------------------------------------------------------------------
def households_with_exact_means(sizes: dict[str, int], means: dict[str, float], sd: float = 1000.0,
                                villages: int = 10, seed: int = 0, years=(2023,)):
    """Households in villages of one prefecture, incomes shifted so each county's mean is exact.

    Exact sample means keep the point ranks fixed by design, so that only the sample size drives the
    width of the intervals.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for county, n in sizes.items():
        income = rng.normal(0.0, sd, n)
        income = income - income.mean() + means[county]
        ids = [f"{county}-h{i}" for i in range(n)]
        for year in years:
            frames.append(pd.DataFrame({
                "household_id": ids, "year": year, "prefecture": "P", "county": county,
                "village": [f"{county}-v{i % villages}" for i in range(n)], "net_income_pc": income}))
    h = pd.concat(frames, ignore_index=True).astype(
        {"household_id": "string", "prefecture": "string", "county": "string", "village": "string"})
    m = pd.concat([h[["household_id", "year", "county"]].assign(person_id="p1"),
                   h[["household_id", "year", "county"]].assign(person_id="p2")], ignore_index=True)
    return h, m


def test_rank_interval_widens_when_a_county_sample_shrinks(tmp_path):
    system = toy_system(tmp_path)
    # Five counties 250 yuan apart, household sd 1000. Middle county k3 (rank 3):
    # with 200 households, the sd of its difference to a neighbour is 1000 * sqrt(2/200) = 100, so a
    # swap needs 2.5 sd (probability 0.6% a side): the 90% rank interval is [3, 3];
    # with 20 households, sd = 1000 * sqrt(1/20 + 1/200) = 235, a swap needs 1.07 sd (14% a side,
    # above the 5% tails): the interval is [2, 4].
    means = {f"k{i}": 10000 + 250 * i for i in range(1, 6)}
    big = dict.fromkeys(means, 200)
    h, m = households_with_exact_means(big, means)
    wide = asm.bootstrap_scores(h, m, system, TOY, n_boot=100, seed=11, progress=False)
    # the same county subsampled to 20 households (re-centred so that its mean does not move)
    keep = h[h["county"] != "k3"]
    sub = h[h["county"] == "k3"].iloc[::10]
    sub = sub.assign(net_income_pc=sub["net_income_pc"] - sub["net_income_pc"].mean() + means["k3"])
    h20 = pd.concat([keep, sub], ignore_index=True)
    m20 = m[m["household_id"].isin(h20["household_id"])]
    narrow = asm.bootstrap_scores(h20, m20, system, TOY, n_boot=100, seed=11, progress=False)
    big_k3 = wide[wide["county"] == "k3"].iloc[0]
    small_k3 = narrow[narrow["county"] == "k3"].iloc[0]
    assert big_k3["rank"] == small_k3["rank"] == 3
    assert (big_k3["rank_low"], big_k3["rank_high"]) == (3, 3)
    assert (small_k3["rank_low"], small_k3["rank_high"]) == (2, 4)
    # composite = 100 (x3 - x1) / (x5 - x1); by the delta method its variance is
    # 0.1^2 var(x3) + 0.05^2 (var(x1) + var(x5)), var(x) = 1000^2 / n:
    # n3 = 200 -> 50 + 25 = 75 (sd 8.7); n3 = 20 -> 500 + 25 = 525 (sd 22.9): the interval should be
    # about 2.6 times wider. With 100 replicates each width is known to about 12%, hence the bounds.
    ratio = ((small_k3["composite_high"] - small_k3["composite_low"])
             / (big_k3["composite_high"] - big_k3["composite_low"]))
    assert 1.6 < ratio < 4.2


@pytest.mark.slow
def test_bootstrap_interval_matches_the_stratified_standard_error(tmp_path):
    # Linear scoring (target 20000, tolerance 20000): score = income / 200, so the composite interval
    # is the mean's interval / 200. Villages differ in level (sd 2000 between, 1000 within), so
    # resampling within villages gives the stratified standard error
    #   se = sqrt(sum_v (n_v / n)^2 * s_v^2 / n_v), s_v^2 the village variance with ddof 0,
    # well below the unstratified one. Percentile interval width ~ 2 * 1.645 * se / 200.
    system = toy_system(tmp_path, normalisation="linear")
    rng = np.random.default_rng(4)
    n, villages = 200, 10
    village = np.arange(n) % villages
    income = 10000 + rng.normal(0, 2000, villages)[village] + rng.normal(0, 1000, n)
    h = pd.DataFrame({"household_id": [f"h{i}" for i in range(n)], "year": 2023, "prefecture": "P",
                      "county": "c1", "village": [f"v{v}" for v in village], "net_income_pc": income})
    h = pd.concat([h, h.assign(household_id="o" + h["household_id"], county="c2",
                               village="o" + h["village"])], ignore_index=True)
    m = h[["household_id", "year"]].assign(person_id="p")
    out = asm.bootstrap_scores(h, m, system, TOY, n_boot=400, seed=5, progress=False)
    frame = pd.DataFrame({"v": village, "y": income})
    var = frame.groupby("v")["y"].agg(lambda y: y.var(ddof=0) / len(y))
    share = frame.groupby("v").size() / n
    se = np.sqrt((share**2 * var).sum())
    c1 = out[out["county"] == "c1"].iloc[0]
    expected = 2 * 1.645 * se / 200
    assert c1["composite"] == pytest.approx(income.mean() / 200)
    assert (c1["composite_high"] - c1["composite_low"]) == pytest.approx(expected, rel=0.2)
    unstratified = 2 * 1.645 * income.std(ddof=0) / np.sqrt(n) / 200
    assert unstratified > 1.5 * expected  # the check above can tell the two designs apart


def test_bootstrap_is_reproducible_with_a_seed(tmp_path):
    system = toy_system(tmp_path)
    h, m = households_with_exact_means(dict.fromkeys(["k1", "k2", "k3"], 30),
                                       {"k1": 10000, "k2": 10500, "k3": 11000})
    one = asm.bootstrap_scores(h, m, system, TOY, n_boot=20, seed=7, progress=False)
    two = asm.bootstrap_scores(h, m, system, TOY, n_boot=20, seed=7, progress=False)
    other = asm.bootstrap_scores(h, m, system, TOY, n_boot=20, seed=8, progress=False)
    pd.testing.assert_frame_equal(one, two)
    # the middle county's composite (its distance between the other two) varies between draws
    middle = one["county"] == "k2"
    assert one.loc[middle, "composite_low"].item() != other.loc[middle, "composite_low"].item()
    assert list(one.columns) == ["prefecture", "county", "year", "composite", "composite_median", "composite_low",
                                 "composite_high", "rank", "rank_low", "rank_high", "n_peers",
                                 "p_first", "p_top3", "p_last", "n_boot"]
    assert (one["n_boot"] == 20).all() and one.attrs["level"] == 0.90
    # defaults come from the file (10 replicates)
    assert (asm.bootstrap_scores(h, m, system, TOY, progress=False)["n_boot"] == 10).all()
    with pytest.raises(ValueError, match="level"):
        asm.bootstrap_scores(h, m, system, TOY, n_boot=5, level=90, progress=False)


def test_resampling_keeps_households_whole_within_villages(tmp_path):
    system = toy_system(tmp_path)
    h, m = households_with_exact_means({"k1": 12, "k2": 9}, {"k1": 100.0, "k2": 200.0}, villages=3,
                                       years=(2022, 2023))
    seen = []

    def spy(households, members, by):
        seen.append((households, members))
        return mean_income(households, members, by)

    asm.bootstrap_scores(h, m, system, {"mean_income": spy}, n_boot=5, seed=2, progress=False)
    original = h.set_index("household_id")
    for hh, mm in seen[1:]:  # the first call is the full sample
        # every village keeps its number of households, each with both its years
        assert hh.groupby("village")["household_id"].nunique().equals(
            h.groupby("village")["household_id"].nunique())
        assert (hh.groupby("household_id")["year"].nunique() == 2).all()
        assert not hh.duplicated(["household_id", "year"]).any()
        # each replicate household is a copy of one original household of the same village
        assert set(hh["net_income_pc"]) <= set(h["net_income_pc"])
        source = original.drop_duplicates("net_income_pc").reset_index().set_index("net_income_pc")
        assert (source.loc[hh["net_income_pc"], "village"].to_numpy() == hh["village"].to_numpy()).all()
        # members follow their household: two per household-year, distinct person ids
        assert set(mm["household_id"]) == set(hh["household_id"])
        assert len(mm) == 2 * len(hh) and not mm.duplicated(["person_id", "year"]).any()
    # draws differ from the original sample (some household is drawn twice)
    assert any(hh["net_income_pc"].nunique() < h["net_income_pc"].nunique() for hh, _ in seen[1:])


def test_rank_statement_codes_by_hand():
    rows = [  # prefecture, county, rank, rank_low, rank_high, n_peers
        ("P", "A", 1, 1, 1, 4),  # [1, 1] -> clearly_first
        ("P", "B", 2, 2, 3, 4),  # middle
        ("P", "C", 3, 2, 4, 4),  # interval reaches 4 -> possibly_last
        ("P", "D", 4, 3, 4, 4),  # last but overlaps B [2, 3] and C [2, 4] -> tied_last
        ("Q", "E", 1, 1, 2, 3),  # first but overlaps F [1, 3] -> tied_first
        ("Q", "F", 2, 1, 3, 3),  # reaches 1 -> possibly_first
        ("Q", "G", 3, 3, 3, 3),  # [n, n] -> clearly_last
        ("R", "H", 1, 1, 1, 1),  # alone -> no_peers
        ("U", "U1", 1, 1, 2, 3),  # [1, 2] lies above U2 [3, 3] and U3 [3, 3] -> clearly_first
        ("U", "U2", 2, 3, 3, 3),  # not last, interval reaches 3 -> possibly_last
        ("U", "U3", 3, 3, 3, 3),  # [n, n] -> clearly_last
    ]
    frame = pd.DataFrame(rows, columns=["prefecture", "county", "rank", "rank_low", "rank_high", "n_peers"])
    frame["year"] = 2023
    frame = frame.astype({"rank": "Int64", "rank_low": "Int64", "rank_high": "Int64"})
    frame.loc[len(frame)] = ["P", "Z", pd.NA, pd.NA, pd.NA, 4, 2023]
    out = asm.rank_statement(frame)
    got = by_county(out, "statement")
    assert got == {"A": "clearly_first", "B": "middle", "C": "possibly_last", "D": "tied_last",
                   "E": "tied_first", "F": "possibly_first", "G": "clearly_last", "H": "no_peers",
                   "U1": "clearly_first", "U2": "possibly_last", "U3": "clearly_last", "Z": "unranked"}
    assert sorted(by_county(out, "overlapping")["D"]) == ["B", "C"]
    assert by_county(out, "overlapping")["A"] == [] and by_county(out, "n_overlapping")["E"] == 1
    assert by_county(out, "can_be_first") == {**dict.fromkeys(got, False), "A": True, "E": True,
                                              "F": True, "H": True, "U1": True}
    assert by_county(out, "can_be_last")["C"] and not by_county(out, "can_be_last")["H"]
    assert set(out["statement"]) <= set(asm.STATEMENTS)


# ----------------------------------------------------------------------------------------------------
# few events: household sums, shrinkage, one-household flips
# ----------------------------------------------------------------------------------------------------
def few_system(tmp_path, method="shrinkage"):
    text = TINY.replace("    column: x2\n", "    column: x2\n    denominator: n\n    events: true\n")
    text += f"few_events:\n  method: {method}\n  min_events: 5\n"
    return asm.load_system(write(tmp_path, text))


def test_shrinkage_toward_the_prefecture_rate_by_hand(tmp_path):
    from analysis.studies import assessment_sums as sums
    system = few_system(tmp_path)
    j = system.indicator_codes.index("x2")
    # Three counties of one group: events 2/10, 10/20, 30/30 households (rates 0.2, 0.5, 1.0).
    x, n = np.array([2.0, 10.0, 30.0]), np.array([10.0, 20.0, 30.0])
    totals = np.zeros((3, sums.TERMS * 3))
    totals[:, sums.TERMS * j], totals[:, sums.TERMS * j + 1] = x, n
    values = np.zeros((3, 3))
    values[:, j] = x / n
    counts = np.zeros((3, 3))
    counts[:, j] = n
    out = sums.shrink(values, totals, counts, np.zeros(3, dtype=int), system)
    # pooled p0 = 42 / 60 = 0.7; s2 = (10 * 0.25 + 20 * 0.04 + 30 * 0.09) / 60 = 6 / 60 = 0.1
    # binomial part p0 (1 - p0) / nbar = 0.21 / 20 = 0.0105; tau2 = 0.0895
    # M = 0.21 / 0.0895 - 1 = 1.3464; estimate = (n p + M p0) / (n + M)
    prior = 0.21 / 0.0895 - 1
    expected = (x + prior * 0.7) / (n + prior)
    assert out[:, j] == pytest.approx(expected)
    # No between-county variance beyond the binomial: every county gets the pooled rate.
    x = np.array([7.0, 14.0, 21.0])
    totals[:, sums.TERMS * j] = x
    values[:, j] = x / n
    out = sums.shrink(values, totals, counts, np.zeros(3, dtype=int), system)
    assert out[:, j] == pytest.approx([0.7, 0.7, 0.7])


def test_exact_bound_is_the_clopper_pearson_end(tmp_path):
    from scipy.stats import beta

    from analysis.studies import assessment_sums as sums
    system = few_system(tmp_path, "exact_bound")
    j = system.indicator_codes.index("x2")  # lower better: the upper end of the 90% interval
    values, counts = np.zeros((2, 3)), np.zeros((2, 3))
    values[:, j], counts[:, j] = [0.0, 0.1], [20.0, 50.0]
    out = sums.shrink(values, np.zeros((2, sums.TERMS * 3)), counts, np.zeros(2, dtype=int), system, 0.90)
    # 0 of 20: upper end 1 - 0.05 ** (1 / 20); 5 of 50: beta(0.95; 6, 45)
    assert out[0, j] == pytest.approx(1 - 0.05 ** (1 / 20))
    assert out[1, j] == pytest.approx(beta.ppf(0.95, 6, 45))


def test_few_event_keys_are_checked(tmp_path):
    text = TINY.replace("    column: x2\n", "    column: x2\n    events: true\n")
    with pytest.raises(DataError, match="needs `denominator` or `per`"):
        asm.load_system(write(tmp_path, text))
    with pytest.raises(DataError, match="must be one of"):
        asm.load_system(write(tmp_path, TINY + "few_events:\n  method: guess\n  min_events: 5\n"))


def test_scorecard_marks_rates_resting_on_few_events(tmp_path):
    system = few_system(tmp_path)
    t = table_p().assign(raw_x2=[0.5, 0.1, 0.3, 0.5, 0.1, 0.1], events_x2=[4.0, 5.0, 0.0, 9.0, 1.0, 30.0])
    card = asm.scorecard(t, system)
    x2 = card[card["indicator"] == "x2"].set_index("county")
    assert x2["few_events"].to_dict() == {"c1": True, "c2": False, "c3": True, "c4": False, "q1": True,
                                          "q2": False}
    assert x2["value"].tolist() == [0.5, 0.1, 0.3, 0.5, 0.1, 0.1]         # the raw rate
    assert x2["estimate"].tolist() == [5.0, 1.0, 3.0, 5.0, 1.0, 1.0]      # the scored value
    assert not card.loc[card["indicator"] == "x1", "few_events"].any()


# ----------------------------------------------------------------------------------------------------
# a clean indicator system
# ----------------------------------------------------------------------------------------------------
def test_an_indicator_duplicating_another_is_refused(tmp_path):
    # x2 re-reads x1's column in the same dimension, relative to the prefecture: the same information.
    text = TINY.replace("    column: x2\n", "    column: x1\n    relative_to: prefecture\n")
    with pytest.raises(DataError) as err:
        asm.load_system(write(tmp_path, text))
    (problem,) = [p for p in err.value.problems if p.column == "indicators[1].column"]
    assert "duplicates" in problem.message and "'x1'" in problem.message


def test_shipped_system_is_clean_and_names_its_sources():
    system = asm.load_system()
    assert "income_growth_vs_prefecture" not in system.indicator_codes
    read = [(i.dimension, i.source, i.of or i.column) for i in system.indicators]
    assert len(read) == len(set(read))
    assert all(i.reference for i in system.indicators if i.normalisation == "scale")
    official = {i.code for i in system.indicators if i.official_source}
    assert {"income_growth_real", "return_rate", "employment_scale_change", "basic_needs_deprivation"} <= official


def test_no_variation_lists_indicators_that_separate_nobody(tiny):
    # x3 target 10: give every county of P 12 (all 100) -> no variation in P; Q has 10 and 1.
    # x2 in Q is 1 and 1: no spread among the two, min-max gives both 50.
    card = asm.scorecard(table_p().assign(x3=[12.0, 12.0, 12.0, 12.0, 10.0, 1.0]), tiny)
    flat = asm.no_variation(card)
    assert flat[["prefecture", "indicator", "score", "n_peers"]].values.tolist() == [["P", "x3", 100.0, 4],
                                                                                     ["Q", "x2", 50.0, 2]]


def test_headline_rank_shares_first_place_with_a_county_first_more_often():
    keys = pd.DataFrame({"prefecture": "P", "county": ["a", "b", "c"], "year": 2024})
    out = keys.assign(composite=[70.0, 69.0, 50.0], composite_median=[70.0, 69.0, 50.0],
                      p_first=[0.40, 0.55, 0.05])
    cells = asm._Cells(keys, ["prefecture", "year"])
    # a has the best median but b is first more often: both are shown first
    assert list(asm._headline_rank(out, cells, keys)) == [1, 1, 3]
    out["p_first"] = [0.6, 0.35, 0.05]
    assert list(asm._headline_rank(out, cells, keys)) == [1, 2, 3]
