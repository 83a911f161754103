"""Employment and training reports: hand-built checks of the building blocks, the result tables on the
small sample against independent computations, the two notebooks rendered for one county, and (slow) the
estimates on the bundled sample against its stored ground truth."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats
import papermill as pm
import pytest
import statsmodels.api as sm

from analysis.studies import training as training_study
from analysis.studies import workshops
from analysis.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PROCESSED = ROOT / "data" / "processed"
SAMPLE_TRUTH = ROOT / "data" / "raw" / "sample" / "ground_truth.json"


# --------------------------------------------------------------------------- workshop openings
def test_openings_from_jobs_takes_first_year_and_zero_for_never():
    members = pd.DataFrame({
        "county": ["A"] * 6 + ["B"] * 2,
        "village": ["v1", "v1", "v1", "v2", "v2", "v2", "v1", "v1"],
        "year": [2021, 2022, 2023, 2021, 2022, 2023, 2021, 2022],
        "workshop_job": [False, pd.NA, True, False, False, False, True, True],
    })
    members["workshop_job"] = members["workshop_job"].astype("boolean")
    out = workshops.openings_from_jobs(members)
    # A/v1: the NA in 2022 is not a job, first job 2023; A/v2: never; B/v1 (same name, other county): 2021.
    assert out.to_dict("list") == {"county": ["A", "A", "B"], "village": ["v1", "v2", "v1"],
                                   "first_treated": [2023, 0, 2021]}


def test_read_workshops_keeps_the_earliest_opening_and_reads_blank_as_none(tmp_path):
    path = tmp_path / "workshops.csv"
    path.write_text("village,first_treated\nv1,2023\nv1,2021\nv2,\nv3,0\nv4,2022\n", encoding="utf-8")
    out = workshops.read_workshops(path)
    assert out.to_dict("list") == {"village": ["v1", "v2", "v3", "v4"], "first_treated": [2021, 0, 0, 2022]}
    assert (workshops.workshop_openings(tmp_path)["source"] == "file").all()


def test_read_workshops_reports_every_bad_row(tmp_path):
    path = tmp_path / "workshops.csv"
    path.write_text("village,first_treated\nv1,2021\nv2,soon\nv3,2022.5\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        workshops.read_workshops(path)
    # spreadsheet rows: header is row 1, so the 2nd and 3rd data rows are rows 3 and 4
    assert [p.row for p in info.value.problems] == [3, 4]
    (tmp_path / "workshops.csv").write_text("name,year\nv1,2021\n", encoding="utf-8")
    with pytest.raises(DataError, match="village"):
        workshops.read_workshops(path)


def _villages() -> pd.DataFrame:
    """Villages of county A over 2021-2023: 4 never-treated, a 2022 cohort of 3, a 2023 cohort of 1, one
    opened in 2021 (the first year), one opening in 2025 (after the window), one with a year missing."""
    rows = []
    plan = {"n1": 0, "n2": 0, "n3": 0, "n4": 0, "g1": 2022, "g2": 2022, "g3": 2022, "s1": 2023,
            "e1": 2021, "late": 2025, "u1": 2022}
    for village in plan:
        for year in (2021, 2022, 2023):
            rate = np.nan if (village == "u1" and year == 2022) else 0.5
            rows.append({"prefecture": "P", "county": "A", "village": village, "year": year,
                         "employment_rate": rate})
    openings = pd.DataFrame({"county": "A", "village": list(plan), "first_treated": list(plan.values())})
    return pd.DataFrame(rows), openings.assign(source="file")


def test_workshop_panel_sets_aside_what_cannot_be_estimated():
    villages, openings = _villages()
    design = workshops.workshop_panel(villages, openings, 2021, 2023)
    assert design.unbalanced == 1          # u1 lacks 2022
    assert design.early == 1               # e1 opened in the first year
    assert design.small_cohorts == ((2023, 1),)   # s1 alone in its cohort (< 3 villages)
    # kept: n1-n4 and "late" (opening after 2023 counts as none) as never-treated, g1-g3 as 2022
    assert design.cohorts.to_dict() == {0: 5, 2022: 3}
    g1 = design.panel[design.panel["village"] == "g1"].sort_values("year")
    assert g1["treated"].tolist() == [False, True, True]
    assert not design.panel.loc[design.panel["village"] == "late", "treated"].any()
    # 3 treated villages are fewer than MIN_TREATED_VILLAGES: no estimate, and a reason
    effects = workshops.workshop_effects(design, "county")
    assert not effects.available and effects.reason == "too_few"


def test_workshop_panel_needs_a_county_column_for_repeated_village_names():
    villages, openings = _villages()
    twin = villages[villages["village"] == "n1"].assign(county="B")
    with pytest.raises(ValueError, match="county column"):
        workshops.workshop_panel(pd.concat([villages, twin]), openings.drop(columns="county"), 2021, 2023)


# --------------------------------------------------------------------------- training: building blocks
def test_holm_adjusts_within_each_family():
    att = pd.DataFrame({
        "subgroup": ["all", "all", "male", "female", "age_under_40"],
        "outcome": ["employed", "wage_income", "employed", "employed", "employed"],
        "method": ["dr", "dr", "dr", "dr", "dr"],
        "p_value": [0.01, 0.04, 0.03, 0.01, 0.2],
    })
    out = training_study._adjust(att, "holm")
    # outcomes family (2 tests): 0.01 * 2 = 0.02; max(0.02, 0.04 * 1) = 0.04
    # heterogeneity family (3 tests), sorted 0.01, 0.03, 0.2: 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.2 * 1 = 0.2
    assert out["p_holm"].round(10).tolist() == [0.02, 0.04, 0.06, 0.03, 0.2]
    assert out["family"].tolist() == ["outcomes_dr"] * 2 + ["heterogeneity"] * 3


def _frame(n_trained: int, n_untrained: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = n_trained + n_untrained
    trained = np.r_[np.ones(n_trained), np.zeros(n_untrained)]
    age = rng.integers(20, 60, n).astype(float)
    return pd.DataFrame({
        "prefecture": "P", "county": "A", "household_id": [f"h{i // 2}" for i in range(n)],
        "year": np.tile([2021, 2022], n // 2 + 1)[:n], "sex": np.where(np.arange(n) % 2, "female", "male"),
        "trained": trained, "employed": (rng.random(n) < 0.5).astype(float),
        "wage_income": rng.normal(20000, 3000, n), "age": age, "age_sq": age ** 2 / 100,
        "female": (np.arange(n) % 2).astype(float), "education_years": rng.choice([6.0, 9.0, 12.0], n),
        "skill_weak": (rng.random(n) < 0.2).astype(float), "skill_skilled": np.zeros(n),
        "poverty_exited": (rng.random(n) < 0.4).astype(float),
    })


def test_design_keeps_exact_common_support():
    frame = _frame(40, 60)
    # two untrained skilled labourers: no trainee is skilled, so they have no counterpart
    frame.loc[[98, 99], "skill_skilled"] = 1.0
    # every poverty-exited person is a trainee: the covariate would separate the arms
    frame["poverty_exited"] = frame["trained"] * (np.arange(100) % 3 == 0)
    work, covs, named = training_study._design(frame, training_study.TrainingSpec())
    assert len(work) == 98 and int(work["controls_off_support"].iloc[0]) == 2
    assert "skill_skilled" not in covs and "poverty_exited" not in covs
    assert covs == ["age", "age_sq", "female", "education_years", "skill_weak", "year_2022"]
    assert named == covs[:-1]


def test_person_years_keeps_the_working_age_labour_force_and_codes_covariates():
    members = pd.DataFrame({
        "household_id": ["h1", "h1", "h1", "h2", "h2", "h2"], "year": [2022] * 6,
        "prefecture": "P", "county": "A",
        "age": [15, 30, 64, 65, 40, 50], "sex": ["male", "female", "male", "female", "male", "female"],
        "education": ["primary", "college", "vocational", "junior_high", pd.NA, "illiterate"],
        "labor_skill": ["ordinary", "skilled", "weak", "ordinary", "ordinary", "lost"],
        "employed": [False, True, True, False, True, False], "wage_income": [0.0, 30000, 9000, 0, 20000, 0],
        "trained": [False, True, False, False, True, False],
    })
    households = pd.DataFrame({"household_id": ["h1", "h2"], "year": [2022, 2022],
                               "household_type": ["poverty_exited", "general"]})
    frame, incomplete = training_study.person_years(households, members)
    # out: age 15 and 65 (working age 16-64), "lost" capacity; the 40-year-old has no education: set aside
    assert incomplete == 1
    assert frame["age"].tolist() == [30.0, 64.0]
    assert frame["education_years"].tolist() == [15.0, 12.0]
    assert frame["female"].tolist() == [1.0, 0.0]
    assert frame["skill_skilled"].tolist() == [1.0, 0.0] and frame["skill_weak"].tolist() == [0.0, 1.0]
    assert frame["poverty_exited"].tolist() == [1.0, 1.0]
    assert frame["age_sq"].tolist() == [9.0, 40.96]


def test_region_effects_says_too_few_instead_of_estimating():
    out = training_study.region_effects(_frame(10, 200))
    assert (out["att"]["status"] == "too_few").all()
    assert len(out["att"]) == 2 * 3 + 2 * 5     # 2 outcomes x 3 estimators, 2 outcomes x 5 subgroups (DR)
    assert not bool(out["overlap"]["enough"].iloc[0])
    assert out["balance"].empty and out["propensity"]["units"].sum() == 0


# --------------------------------------------------------------------------- result tables, small sample
def test_village_employment_matches_a_direct_count(small_processed):
    from analysis.io import data
    from analysis import build
    table = build.load("village_employment", small_processed)
    m = data.load("members", small_processed)
    lf = m[m["age"].between(16, 64) & m["labor_skill"].notna() & ~m["labor_skill"].isin(["none", "lost"])]
    direct = lf.groupby(["village", "year"])["employed"].agg(["size", "sum"]).reset_index()
    merged = table.merge(direct, on=["village", "year"], how="inner", validate="one_to_one")
    assert len(merged) == len(direct) > 100
    assert (merged["labour_force"] == merged["size"]).all()
    np.testing.assert_allclose(merged["employment_rate"], merged["sum"] / merged["size"])


def test_training_types_count_trainee_households(small_processed):
    from analysis.io import data
    from analysis import build
    table = build.load("training_types", small_processed)
    m = data.load("members", small_processed)
    trainees = m[m["trained"].fillna(False)]
    direct = trainees.groupby(["county", "year", "training_type"])["household_id"].nunique()
    got = table.set_index(["county", "year", "training_type"])["trainee_households"]
    assert got[got > 0].sort_index().to_dict() == direct.sort_index().to_dict()


def test_derived_openings_never_precede_the_true_opening(small_raw, small_processed):
    """A workshop job cannot exist before its workshop opens, so a derived year is the true one or later
    (later when no villager worked there in the opening year); a village that never opened stays at 0."""
    truth = pd.DataFrame(json.loads((small_raw / "ground_truth.json").read_text())["workshop_openings"])
    derived = workshops.workshop_openings(small_processed)
    both = truth.merge(derived, on="village", suffixes=("_true", "_derived"), validate="one_to_one")
    assert len(both) == len(truth)
    opened = both["first_treated_derived"] > 0
    assert (both.loc[opened, "first_treated_derived"] >= both.loc[opened, "first_treated_true"]).all()
    assert (both.loc[both["first_treated_true"] == 0, "first_treated_derived"] == 0).all()
    assert (derived["source"] == "workshop_job").all()


def test_ipw_estimate_matches_a_direct_computation(small_processed):
    """The IPW row of training_att equals the normalised ATT weights p/(1-p) computed here with a
    statsmodels logit on the same design (person-years of one county)."""
    from analysis.io import data
    from analysis import build
    att = build.load("training_att", small_processed)
    county = sorted(att["county"].dropna().unique())[0]
    members = data.load("members", small_processed, region=county)
    households = data.load("households", small_processed, region=county)
    frame, _ = training_study.person_years(households, members)
    work, covs, _ = training_study._design(frame, training_study.TrainingSpec())
    x = sm.add_constant(work[covs].to_numpy(dtype=float))
    d = work["trained"].to_numpy()
    p = sm.Logit(d, x).fit(disp=0).predict(x)
    w = p / (1 - p)
    y = work["employed"].to_numpy()
    expected = y[d == 1].mean() - np.average(y[d == 0], weights=w[d == 0])
    row = att[(att["county"] == county) & (att["subgroup"] == "all") & (att["outcome"] == "employed")
              & (att["method"] == "ipw")]
    assert row["estimate"].iloc[0] == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- notebooks
def _run(notebook: str, small_processed, tmp_path, lang: str, **parameters) -> tuple[str, int]:
    from analysis.io import data
    region = data.list_regions(small_processed)[1]
    out = tmp_path / f"{notebook}-{lang}.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / f"{notebook}.ipynb"), str(out), kernel_name="python3",
                        parameters={"region": region, "data_dir": str(small_processed),
                                    "output_dir": str(tmp_path / "reports" / region), "lang": lang,
                                    **parameters},
                        progress_bar=False, cwd=str(ROOT / "notebooks"))
    nb = json.loads(out.read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert (tmp_path / "reports" / region / f"{notebook}.xlsx").exists()
    return json.dumps(nb, ensure_ascii=False), images


EMPLOYMENT_TEXT = {"zh": ["帮扶车间", "稳岗", "95%置信区间", "静态双向固定效应",
                          "事前趋势检验"],
                   "en": ["assistance workshop", "no lower than last year", "95% interval", "two-way fixed",
                          "pre-trend test"]}
TRAINING_TEXT = {"zh": ["双重稳健", "95%置信区间", "Holm", "标准化均值差", "55岁及以上"],
                 "en": ["doubly robust", "95% interval", "Holm", "standardized mean difference", "55 and over"]}


@pytest.mark.parametrize("lang", ["zh", pytest.param("en", marks=pytest.mark.slow)])
def test_employment_notebook_renders(small_processed, tmp_path, lang):
    text, images = _run("02-employment", small_processed, tmp_path, lang)
    assert images >= 4       # trend, place of work, programme jobs, event study
    for phrase in EMPLOYMENT_TEXT[lang]:
        assert phrase in text, phrase


@pytest.mark.parametrize("lang", [pytest.param("zh", marks=pytest.mark.slow), "en"])
def test_training_notebook_renders(small_processed, tmp_path, lang):
    text, images = _run("03-training-impact", small_processed, tmp_path, lang)
    assert images >= 4       # trainees, balance and overlap, forest, subgroups
    for phrase in TRAINING_TEXT[lang]:
        assert phrase in text, phrase


@pytest.mark.slow
def test_notebooks_render_for_a_tiny_prefecture_saying_what_cannot_be_estimated(tmp_path):
    """Two counties of 8 households: too few villages for any event study and, over two years (estimated
    afresh, as they differ from the stored ones), too few trainees for a county estimate; both notebooks
    still render and say so."""
    from analysis.io import ingest, synth
    from analysis import build
    synth.write(tmp_path / "raw", seed=11, counties=2, households_per_county=8, oracle_replicates=0)
    ingest.ingest([tmp_path / "raw"], out_dir=tmp_path / "processed")
    build.build(tmp_path / "processed")
    emp, _ = _run("02-employment", tmp_path / "processed", tmp_path, "en")
    assert "too few usable villages" in emp
    train, _ = _run("03-training-impact", tmp_path / "processed", tmp_path, "en", years=[2023, 2024])
    assert "too few trained or untrained person-years" in train
    assert "There are too few trainees" in train


# --------------------------------------------------------------------------- the bundled sample (slow)
needs_sample = pytest.mark.skipif(not (SAMPLE_PROCESSED / "members").exists() or not SAMPLE_TRUTH.exists(),
                                  reason="the bundled sample is not ingested (make report)")


@pytest.fixture(scope="module")
def sample():
    from analysis.io import data
    members = data.load("members", SAMPLE_PROCESSED)
    households = data.load("households", SAMPLE_PROCESSED, columns=["household_id", "year", "household_type"])
    return households, members, json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))


@needs_sample
def test_derived_openings_match_the_true_ones_in_nearly_all_villages(sample):
    _, members, truth = sample
    derived = workshops.openings_from_jobs(members)
    both = pd.DataFrame(truth["workshop_openings"]).merge(derived, on="village", suffixes=("_true", ""))
    assert len(both) == 120
    assert (both["first_treated"] == both["first_treated_true"]).mean() >= 0.95     # measured: 117 of 120


def _prefecture_effects(households, members, openings):
    villages = workshops.village_employment(households, members)
    return workshops.workshop_effects(workshops.workshop_panel(villages, openings, 2020, 2024), "prefecture")


def _assert_covers(effects, truth):
    """Every event-time effect within its interval, jointly: with four event times checked at once, each
    interval is widened to the Bonferroni level 1 - 0.05/4 (z = 2.50), so the whole check holds with
    probability of at least 95% when the estimator is right (four separate 95% intervals would all cover
    only about 81% of the time)."""
    es = effects.event.event_study.set_index("event_time")
    effects_by_time = truth["workshops"]["att_by_event_time"]
    z = scipy.stats.norm.ppf(1 - 0.05 / (2 * len(effects_by_time)))
    for e, att in effects_by_time.items():
        est, se = es.loc[int(e), ["estimate", "std_error"]]
        assert est - z * se <= att <= est + z * se, (e, att, est, se)
    low, high = effects.simple.conf_int
    assert low <= truth["workshops"]["att_simple"] <= high
    assert effects.event.pretrend["p_value"] > 0.05


@needs_sample
def test_prefecture_event_study_covers_the_true_effects_with_derived_openings(sample):
    """As the report runs on the sample (no workshops.csv): each post-opening event-time estimate lies
    within its (jointly adjusted) interval of the sample's realised effect. Measured on the sample (seed 0):
    e=0..3 estimates 0.034, 0.065, 0.077, 0.121 (SE 0.009-0.015) against 0.039, 0.072, 0.102, 0.114; e=2 is
    the closest call (2.1 SE)."""
    households, members, truth = sample
    openings = workshops.openings_from_jobs(members).assign(source="workshop_job")
    _assert_covers(_prefecture_effects(households, members, openings), truth)


@needs_sample
def test_prefecture_event_study_covers_the_true_effects_with_a_workshops_file(sample, tmp_path):
    """With the true opening years supplied as workshops.csv (the evaluator's path)."""
    households, members, truth = sample
    pd.DataFrame(truth["workshop_openings"]).to_csv(tmp_path / "workshops.csv", index=False)
    openings = workshops.workshop_openings(tmp_path)
    assert (openings["source"] == "file").all()
    _assert_covers(_prefecture_effects(households, members, openings), truth)


@needs_sample
def test_prefecture_training_att_dr_covers_the_truth(sample):
    """DR intervals (all trainees, and by sex) cover the realised ATT of ground_truth.json. Measured:
    employment 0.0972 [0.0859, 0.1086] against 0.0956; wages 4,459 [4,126, 4,791] against 4,432."""
    households, members, truth = sample
    att = training_study.training_effects(households, members, counties=[])["att"]
    dr = att[(att["scope"] == "prefecture") & (att["method"] == "dr")].set_index(["subgroup", "outcome"])
    for outcome, key in (("employed", "att_employment"), ("wage_income", "att_wage_income")):
        targets = {"all": truth["training"][key],
                   **{sex: truth["training"]["by_sex"][sex][key] for sex in ("male", "female")}}
        for group, value in targets.items():
            assert dr.loc[(group, outcome), "conf_low"] <= value <= dr.loc[(group, outcome), "conf_high"], group
