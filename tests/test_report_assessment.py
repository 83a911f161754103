"""Post-assessment report: result tables on the small sample, checked against independent computations,
and notebook 05 run with papermill for a county and for the prefecture, in Chinese and English."""
from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import papermill as pm
import pytest
import yaml
from IPython.display import Markdown

# The shared sample is built once per session with every result table; twenty replicates keep that
# build fast (the shipped number is for real reports). Set before the session fixture runs.
os.environ.setdefault("ANALYSIS_BOOTSTRAP_REPLICATES", "20")

from analysis.studies import assessment, post_assessment
from analysis.io import data
from analysis.reporting import labels, assessment as ra
from analysis import build  # noqa: E402
from analysis.config import config_path  # noqa: E402
from analysis.errors import ParameterError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "05-post-assessment.ipynb"
KEYS = ["prefecture", "county", "year"]


@pytest.fixture(scope="module")
def records(small_processed):
    return data.load("households", small_processed), data.load("members", small_processed)


@pytest.fixture(scope="module")
def tables(records):
    """Every result table computed here, with 10 bootstrap replicates."""
    h, m = records
    yield post_assessment.run(h, m, post_assessment.AssessmentSpec(replicates=10))


# ----------------------------------------------------------------------------------------------------
# result tables
# ----------------------------------------------------------------------------------------------------
def test_every_table_has_region_and_year_columns(tables):
    for name, table in tables.items():
        needed = ["prefecture", "year"] if name.endswith("_prefecture") else KEYS
        assert set(needed) <= set(table.columns), name
        assert len(table), name


def test_indicators_agree_with_the_stored_topic_tables(tables, small_processed):
    # The same quantities, computed independently by results.build's own income, employment and
    # training tables.
    ind = tables["assessment_indicators"]
    assert len(ind) == 3 * 5 and not ind.duplicated(KEYS).any()
    income = build.load("income_growth", small_processed)
    work = build.load("employment", small_processed)
    train = build.load("training", small_processed)
    topic = (income[[*KEYS, "growth_real", "share_transfer", "share_below_threshold"]]
             .merge(work[[*KEYS, "official_workers_change_pct"]], on=KEYS).merge(train[[*KEYS, "certified_share"]], on=KEYS))
    both = ind.merge(topic, on=KEYS, suffixes=("", "_topic"))
    assert len(both) == len(ind)
    pairs = {"income_growth_real": "growth_real", "transfer_dependence": "share_transfer",
             "share_below_threshold": "share_below_threshold_topic",
             "employment_scale_change": "official_workers_change_pct", "certified_share": "certified_share_topic"}
    for code, column in pairs.items():
        np.testing.assert_allclose(both[code].to_numpy(float), both[column].to_numpy(float), rtol=1e-12,
                                   equal_nan=True, err_msg=code)


def test_scores_rank_and_grade_every_year(tables):
    scores = tables["assessment_scores"]
    assert sorted(scores["year"].unique()) == [2020, 2021, 2022, 2023, 2024]
    expected = scores.groupby(["prefecture", "year"])["composite"].rank(method="min", ascending=False)
    assert (scores["rank"].astype(float) == expected).all()
    # each grade is the best band whose min_score the composite reaches (bands from the YAML, best first)
    bands = yaml.safe_load(config_path("assessment.yaml").read_text(encoding="utf-8"))["grades"]
    for composite, grade in zip(scores["composite"], scores["grade"]):
        assert grade == next(b["code"] for b in bands if composite >= b["min_score"])


def test_intervals_for_the_latest_year_only(tables):
    iv = tables["assessment_intervals"]
    assert set(iv["year"]) == {2024} and len(iv) == 3
    assert (iv["n_boot"] == 10).all() and (iv["level"] == 0.90).all()
    assert (iv["composite_low"] <= iv["composite_high"]).all()
    assert ((1 <= iv["rank_low"]) & (iv["rank_low"] <= iv["rank_high"]) & (iv["rank_high"] <= 3)).all()
    # every replicate ranks exactly one county first (no ties among three composite scores)
    assert iv["p_first"].sum() == pytest.approx(1.0)
    assert iv["p_last"].sum() == pytest.approx(1.0)
    scores = tables["assessment_scores"]
    point = iv.merge(scores[scores["year"] == 2024], on=KEYS, suffixes=("", "_s"))
    np.testing.assert_allclose(point["composite"], point["composite_s"], rtol=1e-12)


def test_bootstrap_on_two_years_gives_the_full_records_intervals(records):
    # Growth and year-on-year changes look back one year, so resampling 2023-2024 only draws the same
    # households (balanced panel, same villages) and must give the latest year's intervals exactly.
    h, m = records
    system = assessment.load_system()
    table = assessment.compute_indicators(h, m, system)
    h2, m2 = post_assessment._bootstrap_records(h, m, system, table, 2024)
    assert sorted(h2["year"].unique()) == [2023, 2024] and sorted(m2["year"].unique()) == [2023, 2024]
    full = assessment.bootstrap_scores(h, m, system, n_boot=2, seed=11, progress=False)
    short = assessment.bootstrap_scores(h2, m2, system, n_boot=2, seed=11, progress=False)
    full, short = (t[t["year"] == 2024].sort_values("county").reset_index(drop=True) for t in (full, short))
    pd.testing.assert_frame_equal(full, short, check_dtype=False)


def test_rank_statements_follow_the_intervals(tables):
    st = tables["assessment_rank_statements"]
    rows = st.to_dict("records")
    for row in rows:
        others = [o for o in rows if o["county"] != row["county"]]
        overlapping = {o["county"] for o in others
                       if o["rank_low"] <= row["rank_high"] and row["rank_low"] <= o["rank_high"]}
        assert set(row["overlapping"]) == overlapping
        first_alone = row["rank"] == 1 and (row["rank_high"] == 1 or all(row["rank_high"] < o["rank_low"]
                                                                          for o in others))
        assert (row["statement"] == "clearly_first") == first_alone


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_only_undisputed_places_are_called_first_or_last(lang):
    # Every sentence naming the top or bottom place either is for a county whose interval overlaps no
    # other, or says in the same sentence that the place is within sampling error.
    hedge = {"zh": "抽样误差", "en": "sampling error"}[lang]
    values = dict(region="X", rank=2, n=7, low=1, high=3, level=0.9, others="Y", interval_year=2024)
    for code in (*assessment.STATEMENTS, "possibly_either", "no_interval"):
        text = labels.text(f"assessment.statements.{code}", lang, **values)
        if code not in ("clearly_first", "clearly_last", "middle", "no_peers", "unranked"):
            assert hedge in text, code
        if code == "middle":
            assert "first" not in text and "last" not in text and "第1位" not in text and "末位" not in text


def test_sensitivity_keeps_the_configured_scores(tables):
    sens, scores = tables["assessment_sensitivity"], tables["assessment_scores"]
    configured = sens[sens["scenario"] == "configured"].merge(scores, on=KEYS, suffixes=("", "_s"))
    assert len(configured) == len(scores)
    np.testing.assert_allclose(configured["composite"], configured["composite_s"], rtol=1e-12)
    assert (configured["rank_change"] == 0).all()
    system = assessment.load_system()
    assert {"configured", "equal", "drop_policy", "drop_work", "drop_results", "relative",
            *(f"omit_{c}" for c in system.indicator_codes)} == set(sens["scenario"])


def test_key_figures_add_up_to_the_prefecture(tables, small_processed):
    counties, whole = tables["assessment_key_figures"], tables["assessment_key_figures_prefecture"]
    sums = counties.groupby(["prefecture", "year"])[["households", "official_workers", "households_targets"]].sum()
    merged = whole.set_index(["prefecture", "year"])[["households", "official_workers", "households_targets"]]
    pd.testing.assert_frame_equal(sums.astype("int64"), merged.loc[sums.index].astype("int64"))
    income = build.load("income_growth", small_processed)
    both = counties.merge(income, on=KEYS, suffixes=("", "_i"))
    np.testing.assert_allclose(both["income_pc"], both["income_pc_i"], rtol=1e-12)


def test_composite_equals_a_recomputation_by_hand(small_processed):
    """Composite of one county, recomputed from the stored indicator table and the YAML weights."""
    conf = yaml.safe_load(config_path("assessment.yaml").read_text(encoding="utf-8"))
    centre, scale = conf["scoring"]["zscore_centre"], conf["scoring"]["zscore_scale"]
    ind = build.load("assessment_indicators", small_processed)
    scores = build.load("assessment_scores", small_processed)
    year = int(ind["year"].max())
    peers = ind[ind["year"] == year].reset_index(drop=True)
    county = sorted(peers["county"])[0]

    def indicator_score(spec):
        x = peers[spec["code"]].astype(float)
        mine = float(x[peers["county"] == county].iloc[0])
        up = spec["direction"] == "higher_better"
        if spec["normalisation"] == "minmax":
            if x.max() == x.min():
                return 50.0  # no spread among the peers: the middle of the scale
            share = (mine - x.min()) / (x.max() - x.min())  # 0 at the worst-valued peer, 1 at the best
            return 100 * share if up else 100 * (1 - share)
        if spec["normalisation"] == "zscore":
            sd = x.std(ddof=0)  # population standard deviation
            if sd == 0:
                return centre
            z = (mine - x.mean()) / sd
            return min(100.0, max(0.0, centre + scale * (z if up else -z)))
        if spec["normalisation"] == "scale":  # 0 at `worst`, 100 at `best`, linear, clipped
            return 100 * min(1.0, max(0.0, (mine - spec["worst"]) / (spec["best"] - spec["worst"])))
        # target: 100 at the target or better, falling linearly to 0 at one tolerance worse
        better_by = (mine - spec["target"]) if up else (spec["target"] - mine)
        return 100 * min(1.0, max(0.0, 1 + better_by / spec["tolerance"]))

    # dimension score = sum(w_i * s_i) / sum(w_i) over its indicators;
    # composite = sum(W_d * D_d) / sum(W_d) over the dimensions that have indicators
    numerator = denominator = 0.0
    for dim in conf["dimensions"]:
        own = [i for i in conf["indicators"] if i["dimension"] == dim["code"]]
        if not own:
            continue
        dim_score = sum(i["weight"] * indicator_score(i) for i in own) / sum(i["weight"] for i in own)
        numerator += dim["weight"] * dim_score
        denominator += dim["weight"]
    expected = numerator / denominator
    assert not peers.loc[peers["county"] == county, [i["code"] for i in conf["indicators"]]].isna().any(axis=None)
    stored = scores.loc[(scores["county"] == county) & (scores["year"] == year), "composite"].iloc[0]
    assert stored == pytest.approx(expected, abs=1e-9)


def test_replicates_from_the_environment(monkeypatch):
    system = assessment.load_system()
    monkeypatch.delenv(post_assessment.ENV_REPLICATES, raising=False)
    assert post_assessment.replicates(system) == system.bootstrap["replicates"]
    monkeypatch.setenv(post_assessment.ENV_REPLICATES, "7")
    assert post_assessment.replicates(system) == 7
    for bad in ("0", "ten", "-3", "2.5"):
        monkeypatch.setenv(post_assessment.ENV_REPLICATES, bad)
        with pytest.raises(ValueError, match=post_assessment.ENV_REPLICATES):
            post_assessment.replicates(system)


def test_index_scores(small_processed):
    system = assessment.load_system()
    for lang in ("zh", "en"):
        out = ra.index_scores(small_processed, lang=lang)
        assert list(out.columns) == ["region", "composite", "composite_median", "rank", "rank_low", "rank_high",
                                     "p_first", "grade"]
        assert sorted(out["region"]) == data.list_regions(small_processed)
        assert list(out["rank"]) == sorted(out["rank"]) and out["rank"].iloc[0] == 1
        # no county is shown below first place while it is first more often than one shown first
        assert out.loc[out["rank"] == 1, "p_first"].max() == out["p_first"].max()
        assert set(out["grade"]) <= {getattr(g, f"label_{lang}") for g in system.grades}


# ----------------------------------------------------------------------------------------------------
# notebook parameters and rendering
# ----------------------------------------------------------------------------------------------------
def test_context_accepts_a_county_or_a_prefecture(small_processed):
    county = data.list_regions(small_processed)[0]
    ctx = ra.context(county, [2020, 2024], str(small_processed), "en")
    assert (ctx.level, ctx.last, ctx.prefecture) == ("county", 2024, "示例市")
    ctx = ra.context("示例市", [2020, 2024], str(small_processed), "en")
    assert (ctx.level, ctx.region, ctx.county) == ("prefecture", "示例市", None)
    with pytest.raises(ParameterError, match="counties: .*北岭县.*prefectures: 示例市"):
        ra.context("不存在县", [2020, 2024], str(small_processed), "en")
    with pytest.raises(ParameterError, match="years"):
        ra.context(county, [2024, 2020], str(small_processed), "en")
    with pytest.raises(ParameterError, match="no assessment scores in 2030-2031"):
        ra.context(county, [2030, 2031], str(small_processed), "en")


def test_a_year_without_intervals_still_renders_and_says_so(small_processed):
    county = data.list_regions(small_processed)[0]
    ctx = ra.context(county, [2020, 2023], str(small_processed), "en")
    assert ctx.last == 2023
    text = ra.summary(ctx).data
    assert "Rank intervals are computed for the latest year of the data only (2024)" in text
    assert ra.scores_figure(ctx).axes and ra.rank_figure(ctx).axes
    assert "bootstrap" not in ra.method_note(ctx).data


def test_a_county_without_a_score_still_renders(small_processed, tmp_path):
    folder = tmp_path / "processed"
    shutil.copytree(small_processed, folder)
    path = build.results_dir(folder) / "assessment_scores.parquet"
    scores = pd.read_parquet(path)
    county = data.list_regions(folder)[0]
    gone = (scores["county"] == county) & (scores["year"] == 2024)
    scores.loc[gone, ["composite", "rank"]] = np.nan
    build.write_parquet(scores, path)
    ctx = ra.AssessmentContext(county, 2020, 2024, "en", folder, "示例市", True, "county")
    assert ra.summary(ctx).data == labels.text("assessment.no_score", "en", region=county, year=2024)
    prefecture = ra.AssessmentContext("示例市", 2020, 2024, "en", folder, "示例市", True, "prefecture")
    assert "–" in ra.scorecard_table(prefecture).to_html()


NOTEBOOK_CALLS = ("summary", "scorecard_table", "scores_figure", "rank_figure", "strengths_weaknesses",
                  "sensitivity_summary", "sensitivity_table", "key_figures", "narrative", "method_note")


@pytest.mark.parametrize("level", ["county", "prefecture"])
def test_every_notebook_call_renders_in_english(small_processed, level):
    # In-process and cheap; the English papermill runs are marked slow.
    region = data.list_regions(small_processed)[0] if level == "county" else "示例市"
    ctx = ra.context(region, [2020, 2024], str(small_processed), "en")
    shown = {name: getattr(ra, name)(ctx) for name in NOTEBOOK_CALLS}
    assert shown["scores_figure"].axes and shown["rank_figure"].axes
    markdown = "".join(v.data for v in shown.values() if isinstance(v, Markdown))
    assert "{" not in markdown  # every placeholder filled
    html = "".join(v.to_html() for v in shown.values() if hasattr(v, "to_html"))
    assert labels.text("assessment.h_narrative", "en") in markdown and region in markdown + html
    sheets = ra.assessment_tables(ctx)
    assert list(sheets) == ["scorecard", "scores", "intervals", "sensitivity"]
    assert "Composite score" in sheets["scores"].columns


def run_notebook(small_processed, tmp_path, region, lang):
    out = tmp_path / f"out-{lang}.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3",
                        parameters={"region": region, "data_dir": str(small_processed),
                                    "output_dir": str(tmp_path / "reports" / region), "lang": lang},
                        progress_bar=False, cwd=str(NOTEBOOK.parent))
    nb = json.loads(out.read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    return nb, outputs


@pytest.mark.parametrize("lang", ["zh", pytest.param("en", marks=pytest.mark.slow)])
def test_notebook_runs_for_one_county(small_processed, tmp_path, lang):
    region = data.list_regions(small_processed)[0]
    nb, outputs = run_notebook(small_processed, tmp_path, region, lang)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3  # scores, ranks, rank stability
    assert not [o for o in outputs if o.get("name") == "stderr"], "warnings leaked into the report"
    text = json.dumps(nb, ensure_ascii=False)
    assert region in text
    for key in ("h_strengths", "h_sensitivity", "h_narrative"):
        assert labels.text(f"assessment.{key}", lang) in text
    # captions are HTML text (an apostrophe is an entity)
    assert html.escape(labels.text("assessment.scorecard_caption", lang, region=region, year=2024,
                                   previous=2023)) in text
    assert ("人均纯收入实际增速" in text) == (lang == "zh")
    assert ("90%排名区间" in text) == (lang == "zh")
    workbook = pd.ExcelFile(tmp_path / "reports" / region / "05-post-assessment.xlsx", engine="openpyxl")
    assert workbook.sheet_names == [*(labels.sheet_name(k, lang) for k in ("scorecard", "scores", "intervals",
                                                                            "sensitivity")),
                                    *(["指标说明", "说明"] if lang == "zh" else ["Definitions", "Notes"])]
    card = _sheet_table(workbook, labels.sheet_name("scorecard", lang))
    assert len(card) == 5 * len(assessment.load_system().indicators)


@pytest.mark.parametrize("lang", ["zh", pytest.param("en", marks=pytest.mark.slow)])
def test_notebook_runs_for_the_prefecture(small_processed, tmp_path, lang):
    nb, outputs = run_notebook(small_processed, tmp_path, "示例市", lang)
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 3
    text = json.dumps(nb, ensure_ascii=False)
    # captions are HTML text (an apostrophe is an entity)
    assert html.escape(labels.text("assessment.ranking_caption", lang, region="示例市", year=2024, level=0.9)) in text
    for county in data.list_regions(small_processed):
        assert county in text
    card = _sheet_table(pd.ExcelFile(tmp_path / "reports" / "示例市" / "05-post-assessment.xlsx", engine="openpyxl"),
                        labels.sheet_name("scorecard", lang))
    assert len(card) == 3 * 5 * len(assessment.load_system().indicators)


def _sheet_table(workbook: pd.ExcelFile, sheet: str) -> pd.DataFrame:
    """A workbook sheet's table: from its header row (under the title rows) to the first empty row (the
    footnotes follow it)."""
    from analysis.reporting.workbook import HEADER_ROW
    frame = pd.read_excel(workbook, sheet_name=sheet, header=HEADER_ROW)
    empty = frame.isna().all(axis=1).to_numpy()
    return frame.iloc[: int(empty.argmax()) if empty.any() else len(frame)]


def test_household_sums_give_back_every_indicator(small_processed):
    """Written as household sums (weights of one), every indicator of the shipped file equals its
    value from the indicator tables, so replicates estimate the same quantities."""
    from analysis.studies import assessment as asm
    from analysis.studies import assessment_sums as sums
    system = asm.load_system()
    h, m = data.load("households", small_processed), data.load("members", small_processed)
    table = asm.compute_indicators(h, m, system)
    household = sums.household_sums(h, m, system, asm.SOURCES, ["county"])
    values = sums.raw_values(household.totals(), household, system)
    at = pd.MultiIndex.from_frame(household.cells).get_indexer(
        pd.MultiIndex.from_frame(table[["county", "year"]].astype({"county": "string"})))
    assert (at >= 0).all()
    for j, code in enumerate(system.indicator_codes):
        if system.indicators[j].relative_to:
            continue
        expected = table.get(f"raw_{code}", table[code]).to_numpy(dtype=float)
        np.testing.assert_allclose(values[at, j], expected, rtol=1e-12, atol=1e-12, err_msg=code)


@pytest.mark.slow
def test_one_household_moves_no_composite_by_more_than_two_points(tmp_path):
    """On the 7-county sample (seed 0): flipping one household's status on any few-event rate (one
    returned household added or removed, one need met or unmet, ...) moves no county's composite by
    more than 2 points of 100."""
    from analysis.io import ingest, synth
    from analysis.studies import assessment as asm
    synth.write(tmp_path / "raw", seed=0, oracle_replicates=0)
    ingest.ingest([tmp_path / "raw"], out_dir=tmp_path / "processed")
    h, m = data.load("households", tmp_path / "processed"), data.load("members", tmp_path / "processed")
    flips = asm.flip_changes(h, m, asm.load_system())
    assert set(flips["indicator"]) == {"return_rate", "basic_needs_deprivation", "monitoring_coverage_gap",
                                       "risk_elimination_rate"}
    assert flips["largest_change"].max() <= 2.0


def test_replicates_by_sums_equal_recomputed_resampled_records(records):
    """A replicate's household weights (multinomial counts within villages) times the household terms give
    exactly the indicators recomputed from the resampled records, draw for draw."""
    import dataclasses

    from analysis.studies import assessment_sums as sums
    h, m = records
    system = dataclasses.replace(assessment.load_system(), few_events={"method": "none", "min_events": 5})
    household = sums.household_sums(h, m, system, assessment.SOURCES, ["county"])
    resampler = assessment._Resampler(h, m, "village")
    weights = assessment.replicate_weights(resampler, np.random.default_rng(4), 2)
    rng = np.random.default_rng(4)
    for b in range(2):
        hb, mb = resampler.draw(rng)
        table = assessment.compute_indicators(hb, mb, system)
        values = sums.raw_values(household.totals(weights[b:b + 1])[0], household, system)
        at = pd.MultiIndex.from_frame(household.cells).get_indexer(
            pd.MultiIndex.from_frame(table[["county", "year"]].astype({"county": "string"})))
        for j, code in enumerate(system.indicator_codes):
            np.testing.assert_allclose(values[at, j], table[code].to_numpy(float), rtol=1e-9, atol=1e-12,
                                       err_msg=code)


def test_headline_rank_is_by_median_and_agrees_with_p_first(tables):
    iv = tables["assessment_intervals"]
    # rank by the bootstrap median composite (ties share the best rank)
    by_median = iv["composite_median"].rank(ascending=False, method="min").astype(int)
    first_more_often = iv["p_first"] > iv.loc[by_median == 1, "p_first"].max()
    expected = by_median.where(~first_more_often, 1)
    assert iv["rank"].astype(int).tolist() == expected.tolist()
    assert iv.loc[iv["rank"] == 1, "p_first"].max() == iv["p_first"].max()
    assert ((iv["p_top3"] >= iv["p_first"]) & (iv["p_top3"] <= 1)).all()


def test_rates_withheld_on_few_events_or_few_households_without_the_event():
    """A raw rate is withheld when its event households number 1 to k - 1 (flagged few_events) and when the
    households without the event do (events / rate - events): the monitoring page's totals would give it."""
    from analysis.config import min_households
    from analysis.reporting.assessment import withheld_rates
    k = min_households()
    card = pd.DataFrame({
        "prefecture": "P", "year": 2024, "indicator": "return_rate", "county": ["A", "B", "C", "D"],
        "value": [2 / 100, 30 / 33, 30 / 40, 0.0], "change": 0.01, "group_median": 0.5,
        "events": [2.0, 30.0, 30.0, 0.0], "few_events": [True, False, False, False]})
    out = withheld_rates(card)
    # A: few events; B: 3 households without the event (< k); C: 10 without; D: no event at all
    assert out["withheld"].tolist() == [True, True, False, False]
    assert out.loc[out["withheld"], ["value", "change"]].isna().all().all()
    assert out.loc[~out["withheld"], "value"].notna().all()
    assert 33 - 30 < k <= 40 - 30
