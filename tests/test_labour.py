"""Employment and training indicators: hand-computed values on a small panel, and a per-region loop.

The small panel has two counties of prefecture P1: county A observed in 2021 and 2022, county B in
2021 and 2023 (2022 is missing, so B's 2023 must not be compared with 2021). Every expected value is
worked out by hand in the comments from the rows below.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.measures import labour

NA = pd.NA
COLUMNS = (
    "person_id", "county", "year", "sex", "age", "labor_skill", "employed", "work_location",
    "months_worked", "wage_income", "workshop_job", "public_welfare_post", "trained", "training_type",
    "certified",
)
# fmt: off
ROWS = [
    # id   county year sex  age skill       employed loc            months wage   shop   post   trained type                cert
    ("a1", "A", 2021, "male",   30, "skilled",  True,  "out_province", 10, 40000, False, False, True,  "skills",           True),
    ("a2", "A", 2021, "female", 45, "ordinary", True,  "in_county",    12, 24000, True,  False, True,  "skills",           False),
    ("a3", "A", 2021, "male",   60, "weak",     False, "none",          0, NA,    False, False, False, NA,                 NA),
    ("a4", "A", 2021, "female", 15, "ordinary", False, "none",          0, NA,    False, False, False, NA,                 NA),
    ("a5", "A", 2021, "male",   70, "ordinary", True,  "in_province",   6, 12000, False, True,  True,  "entrepreneurship", True),
    ("a6", "A", 2021, "female", 40, "ordinary", NA,    "in_county",     8, NA,    False, False, True,  "skills",           NA),
    ("a7", "A", 2021, "male",   50, "lost",     False, "none",          0, NA,    False, False, False, NA,                 NA),
    ("a1", "A", 2022, "male",   31, "skilled",  True,  "in_province",  12, 50000, False, False, False, NA,                 NA),
    ("a2", "A", 2022, "female", 46, "ordinary", False, "none",          0, NA,    False, False, False, NA,                 NA),
    ("a3", "A", 2022, "male",   61, "weak",     True,  "in_county",     5, 8000,  True,  False, True,  " skills ",         True),
    ("a4", "A", 2022, "female", 16, "ordinary", False, "none",          0, NA,    False, False, False, NA,                 NA),
    ("a5", "A", 2022, "male",   71, "ordinary", True,  "in_county",    10, 10000, False, True,  False, NA,                 NA),
    ("a7", "A", 2022, "male",   51, "lost",     False, "none",          0, NA,    False, False, False, NA,                 NA),
    ("b1", "B", 2021, "male",   25, "ordinary", True,  "out_province", 11, 33000, False, False, False, NA,                 NA),
    ("b2", "B", 2021, "female", 35, "skilled",  True,  "out_province", 12, 36000, False, False, True,  "skills",           True),
    ("b3", "B", 2021, "male",   55, "weak",     False, "none",          0, NA,    False, False, False, NA,                 NA),
    ("b4", "B", 2021, "female", 20, NA,         False, "none",          0, NA,    False, False, False, NA,                 NA),
    ("b5", "B", 2021, "male",   40, "ordinary", True,  NA,             NA, 20000, False, False, False, NA,                 NA),
    ("b6", "B", 2021, "female", 62, "ordinary", False, NA,             NA, NA,    False, False, True,  "entrepreneurship", False),
    ("b1", "B", 2023, "male",   27, "ordinary", True,  "in_county",    12, 30000, True,  False, False, NA,                 NA),
    ("b2", "B", 2023, "female", 37, "skilled",  True,  "out_province", 12, 40000, False, False, False, NA,                 NA),
    ("b3", "B", 2023, "male",   57, "weak",     True,  "in_county",     6, 9000,  False, True,  False, NA,                 NA),
    ("b4", "B", 2023, "female", 22, "ordinary", False, "none",          0, NA,    False, False, True,  NA,                 NA),
    ("b5", "B", 2023, "male",   42, "ordinary", True,  "in_province",  10, 25000, False, False, False, NA,                 NA),
]
# fmt: on
DTYPES = {
    "person_id": "string", "county": "string", "year": "Int64", "sex": "string", "age": "Int64",
    "labor_skill": "string", "employed": "boolean", "work_location": "string",
    "months_worked": "float64", "wage_income": "float64", "workshop_job": "boolean",
    "public_welfare_post": "boolean", "trained": "boolean", "training_type": "string",
    "certified": "boolean",
}


def panel() -> pd.DataFrame:
    records = [tuple(None if v is NA else v for v in r) for r in ROWS]
    frame = pd.DataFrame.from_records(records, columns=COLUMNS).astype(DTYPES)
    return frame.assign(
        household_id=("h" + frame["person_id"]).astype("string"),
        province=pd.Series(["S1"] * len(frame), dtype="string"),
        prefecture=pd.Series(["P1"] * len(frame), dtype="string"),
    )


def row(result: pd.DataFrame, **keys) -> pd.Series:
    mask = np.ones(len(result), dtype=bool)
    for column, value in keys.items():
        mask &= (result[column] == value).to_numpy(dtype=bool, na_value=False)
    assert mask.sum() == 1, f"expected one row for {keys}, found {mask.sum()}"
    return result.loc[mask].iloc[0]


def check(actual: pd.Series, expected: dict) -> None:
    for column, value in expected.items():
        got = actual[column]
        if value is NA or (isinstance(value, float) and math.isnan(value)):
            assert pd.isna(got), f"{column}: expected missing, got {got!r}"
        else:
            assert not pd.isna(got), f"{column}: expected {value!r}, got missing"
            assert got == pytest.approx(value, rel=1e-12), f"{column}: expected {value!r}, got {got!r}"


# --------------------------------------------------------------------------- employment, by hand
def test_employment_output_columns_and_rows():
    result = employment = labour.employment(panel())
    assert list(employment.columns) == ["county", "year", *labour.EMPLOYMENT_COLUMNS]
    assert list(zip(result["county"], result["year"])) == [("A", 2021), ("A", 2022), ("B", 2021), ("B", 2023)]
    assert result["no_lower_than_last_year"].dtype == "boolean"


def test_employment_county_a_2021_by_hand():
    check(row(labour.employment(panel()), county="A", year=2021), {
        "persons": 7,
        # working age 16-64: a1 30, a2 45, a3 60, a6 40, a7 50 (a4 is 15, a5 is 70);
        # a7 has lost labour capacity -> labour force a1, a2, a3, a6 = 4
        "labour_force": 4,
        # a1, a2, a5 employed; a6 employed is NA but worked 8 months in county -> counted: 4
        "workers": 4,
        "labour_force_employed": 3,  # a1, a2, a6 (a5 is 70)
        "employment_rate": 3 / 4,
        # places: a1 out_province, a2 in_county, a5 in_province, a6 in_county
        "workers_in_county": 2, "workers_in_province": 1, "workers_out_province": 1,
        "workers_location_known": 4,
        "share_in_county": 2 / 4, "share_in_province": 1 / 4, "share_out_province": 1 / 4,
        "mean_months_worked": (10 + 12 + 6 + 8) / 4,  # = 9
        # a6's wage is not known: (40000 + 24000 + 12000) / 3 = 25333.33
        "wage_income_per_worker": (40000 + 24000 + 12000) / 3,
        "workshop_jobs": 1,  # a2
        "public_welfare_posts": 1,  # a5
        "workers_last_year": np.nan, "workers_change": np.nan, "workers_change_pct": np.nan,
        "no_lower_than_last_year": NA,
    })


def test_employment_county_a_2022_by_hand():
    check(row(labour.employment(panel()), county="A", year=2022), {
        "persons": 6,  # a6 left
        # working age: a1 31, a2 46, a3 61, a4 16, a7 51; a7 lost -> a1, a2, a3, a4
        "labour_force": 4,
        "workers": 3,  # a1, a3, a5
        "labour_force_employed": 2,  # a1, a3
        "employment_rate": 2 / 4,
        # a1 in_province, a3 in_county, a5 in_county
        "workers_in_county": 2, "workers_in_province": 1, "workers_out_province": 0,
        "workers_location_known": 3,
        "share_in_county": 2 / 3, "share_in_province": 1 / 3, "share_out_province": 0.0,
        "mean_months_worked": (12 + 5 + 10) / 3,  # = 9
        "wage_income_per_worker": (50000 + 8000 + 10000) / 3,  # = 22666.67
        "workshop_jobs": 1, "public_welfare_posts": 1,
        # 2021 had 4 workers: 3 - 4 = -1, -1 / 4 = -25 %
        "workers_last_year": 4, "workers_change": -1, "workers_change_pct": -25.0,
        "no_lower_than_last_year": False,
    })


def test_employment_county_b_by_hand_and_year_gap_is_missing():
    result = labour.employment(panel())
    check(row(result, county="B", year=2021), {
        "persons": 6,
        # all aged 20-62; b4's skill is not recorded -> labour force b1, b2, b3, b5, b6
        "labour_force": 5,
        "workers": 3, "labour_force_employed": 3, "employment_rate": 3 / 5,  # b1, b2, b5
        # b1, b2 out_province; b5's place is not recorded -> 2 known, both out of province
        "workers_in_county": 0, "workers_in_province": 0, "workers_out_province": 2,
        "workers_location_known": 2,
        "share_in_county": 0.0, "share_in_province": 0.0, "share_out_province": 1.0,
        "mean_months_worked": (11 + 12) / 2,  # b5's months unknown
        "wage_income_per_worker": (33000 + 36000 + 20000) / 3,  # = 29666.67
        "workshop_jobs": 0, "public_welfare_posts": 0,
    })
    check(row(result, county="B", year=2023), {
        "persons": 5, "labour_force": 5,
        "workers": 4, "labour_force_employed": 4, "employment_rate": 4 / 5,  # b1, b2, b3, b5
        # b1 in_county, b2 out_province, b3 in_county, b5 in_province
        "workers_in_county": 2, "workers_in_province": 1, "workers_out_province": 1,
        "share_in_county": 0.5, "share_in_province": 0.25, "share_out_province": 0.25,
        "mean_months_worked": (12 + 12 + 6 + 10) / 4,  # = 10
        "wage_income_per_worker": (30000 + 40000 + 9000 + 25000) / 4,  # = 26000
        "workshop_jobs": 1, "public_welfare_posts": 1,
        # B has no 2022 record: no comparison with 2021 (3 workers) is made
        "workers_last_year": np.nan, "workers_change": np.nan, "workers_change_pct": np.nan,
        "no_lower_than_last_year": NA,
    })


def test_employment_by_prefecture():
    result = labour.employment(panel(), by=("prefecture",))
    assert list(result.columns[:2]) == ["prefecture", "year"]
    # 2021 = county A 2021 + county B 2021
    check(row(result, prefecture="P1", year=2021), {
        "persons": 7 + 6, "labour_force": 4 + 5, "workers": 4 + 3, "labour_force_employed": 3 + 3,
        "employment_rate": 6 / 9,
        "workers_in_county": 2, "workers_in_province": 1, "workers_out_province": 1 + 2,
        "share_in_county": 2 / 6, "share_in_province": 1 / 6, "share_out_province": 3 / 6,
        "mean_months_worked": (10 + 12 + 6 + 8 + 11 + 12) / 6,
        "wage_income_per_worker": (40000 + 24000 + 12000 + 33000 + 36000 + 20000) / 6,  # = 27500
        "workshop_jobs": 1, "public_welfare_posts": 1, "workers_change": np.nan,
    })
    # 2022 = county A only: 3 workers against 7 -> -4, -4 / 7 = -57.14 %
    check(row(result, prefecture="P1", year=2022), {
        "workers": 3, "workers_last_year": 7, "workers_change": -4,
        "workers_change_pct": -400 / 7, "no_lower_than_last_year": False,
    })
    # 2023 = county B only; the prefecture has a 2022 record (3 workers): 4 - 3 = +1, +33.3 %
    check(row(result, prefecture="P1", year=2023), {
        "workers": 4, "workers_last_year": 3, "workers_change": 1,
        "workers_change_pct": 100 / 3, "no_lower_than_last_year": True,
    })


def test_employment_by_county_and_sex():
    result = labour.employment(panel(), by=("county", "sex"))
    assert list(result.columns[:3]) == ["county", "sex", "year"]
    assert len(result) == 8  # 2 counties x 2 years x 2 sexes, all present
    # A, female, 2021: a2, a4 (15), a6 -> labour force a2, a6; workers a2, a6 (a6 by months)
    check(row(result, county="A", sex="female", year=2021), {
        "persons": 3, "labour_force": 2, "workers": 2, "employment_rate": 1.0,
        "workers_in_county": 2, "share_in_county": 1.0, "share_out_province": 0.0,
        "mean_months_worked": (12 + 8) / 2, "wage_income_per_worker": 24000.0,
        "workshop_jobs": 1, "public_welfare_posts": 0,
    })
    # A, female, 2022: a2 (46), a4 (16), neither works -> rate 0, shares of no worker undefined
    check(row(result, county="A", sex="female", year=2022), {
        "persons": 2, "labour_force": 2, "workers": 0, "employment_rate": 0.0,
        "share_in_county": np.nan, "mean_months_worked": np.nan, "wage_income_per_worker": np.nan,
        "workers_last_year": 2, "workers_change": -2, "workers_change_pct": -100.0,
        "no_lower_than_last_year": False,
    })
    # A, male, 2021: a1, a3, a5, a7 -> labour force a1, a3; workers a1, a5; employed in LF a1
    # A, male, 2022: workers a1, a3, a5 = 3 -> +1, +50 %
    check(row(result, county="A", sex="male", year=2021),
          {"persons": 4, "labour_force": 2, "workers": 2, "employment_rate": 0.5})
    check(row(result, county="A", sex="male", year=2022),
          {"workers": 3, "workers_change": 1, "workers_change_pct": 50.0, "no_lower_than_last_year": True})


def test_working_age_band_is_a_parameter():
    # 16-59 drops a3 (60) from A's 2021 labour force: a1, a2, a6 remain, all employed
    a2021 = row(labour.employment(panel(), working_age=(16, 59)), county="A", year=2021)
    check(a2021, {"labour_force": 3, "labour_force_employed": 3, "employment_rate": 1.0, "workers": 4})


def test_employed_column_absent_uses_months_or_place_of_work():
    result = labour.employment(panel().drop(columns="employed"))
    # A 2021: months > 0 for a1, a2, a5, a6 -> the same 4 workers
    check(row(result, county="A", year=2021), {"workers": 4, "labour_force_employed": 3})
    # B 2021: b5 has neither months nor place recorded -> not counted; b1, b2 remain
    check(row(result, county="B", year=2021),
          {"workers": 2, "employment_rate": 2 / 5, "wage_income_per_worker": (33000 + 36000) / 2})


# --------------------------------------------------------------------------- training, by hand
def test_training_output_columns():
    result = labour.training(panel())
    types = ["entrepreneurship", "skills", "unspecified"]  # " skills " is stripped; b4 2023 has no type
    assert list(result.columns) == [
        "county", "year", *labour.TRAINING_COLUMNS,
        *(f"trained_{t}" for t in types), *(f"trained_share_{t}" for t in types),
    ]


def test_training_by_county_by_hand():
    result = labour.training(panel())
    # A 2021: trainees a1, a2, a5 (70), a6; in the labour force (a1, a2, a3, a6): a1, a2, a6
    # certified a1, a5 (a2 False, a6 NA) -> 2 of 4
    check(row(result, county="A", year=2021), {
        "persons": 7, "labour_force": 4, "trained": 4, "trained_labour_force": 3,
        "trained_share": 3 / 4, "certified": 2, "certified_share": 2 / 4,
        "trainees_last_year": np.nan, "trainees_followed_up": np.nan,
        "trainees_lost_to_follow_up": np.nan, "trainees_employed_next_year": np.nan,
        "trainees_employed_next_year_share": np.nan,
        # skills: a1, a2, a6 (all in LF) -> 3/4; entrepreneurship: a5, outside the LF -> share 0
        "trained_skills": 3, "trained_share_skills": 3 / 4,
        "trained_entrepreneurship": 1, "trained_share_entrepreneurship": 0.0,
        "trained_unspecified": 0, "trained_share_unspecified": 0.0,
    })
    # A 2022: trainee a3 (" skills ", certified), in LF (a1, a2, a3, a4) -> 1/4.
    # 2021's trainees a1, a2, a5, a6: a6 absent in 2022 (lost); a1 and a5 work, a2 does not -> 2/3
    check(row(result, county="A", year=2022), {
        "labour_force": 4, "trained": 1, "trained_share": 1 / 4, "certified": 1, "certified_share": 1.0,
        "trainees_last_year": 4, "trainees_followed_up": 3, "trainees_lost_to_follow_up": 1,
        "trainees_employed_next_year": 2, "trainees_employed_next_year_share": 2 / 3,
        "trained_skills": 1, "trained_share_skills": 1 / 4, "trained_entrepreneurship": 0,
    })
    # B 2021: trainees b2 (skills, certified), b6 (62, entrepreneurship); LF has 5 -> 2/5
    check(row(result, county="B", year=2021), {
        "labour_force": 5, "trained": 2, "trained_share": 2 / 5, "certified": 1, "certified_share": 0.5,
        "trained_skills": 1, "trained_share_skills": 1 / 5,
        "trained_entrepreneurship": 1, "trained_share_entrepreneurship": 1 / 5,
    })
    # B 2023: b4 trained with no type -> "unspecified", certificate NA -> not certified.
    # No 2022 record for B: 2021's trainees are not followed across the gap.
    check(row(result, county="B", year=2023), {
        "labour_force": 5, "trained": 1, "trained_share": 1 / 5, "certified": 0, "certified_share": 0.0,
        "trainees_last_year": np.nan, "trainees_lost_to_follow_up": np.nan,
        "trainees_employed_next_year_share": np.nan,
        "trained_unspecified": 1, "trained_share_unspecified": 1 / 5, "trained_skills": 0,
    })


def test_training_type_shares_add_up_to_trained_share():
    result = labour.training(panel())
    by_type = result[[c for c in result.columns if c.startswith("trained_share_")]].sum(axis=1)
    np.testing.assert_allclose(by_type, result["trained_share"], rtol=1e-12)


def test_training_by_prefecture_follows_trainees_anywhere():
    result = labour.training(panel(), by=("prefecture",))
    # 2022: 2021 trainees a1, a2, a5, a6, b2, b6; B has no 2022 record so b2, b6 are absent too:
    # lost a6, b2, b6 = 3; followed a1, a2, a5 = 3, of whom a1, a5 work -> 2/3
    check(row(result, prefecture="P1", year=2022), {
        "trainees_last_year": 6, "trainees_followed_up": 3, "trainees_lost_to_follow_up": 3,
        "trainees_employed_next_year": 2, "trainees_employed_next_year_share": 2 / 3,
    })
    # 2021: trained 4 + 2, in LF 3 + 2 of 4 + 5; certified a1, a5, b2 of 6
    check(row(result, prefecture="P1", year=2021), {
        "trained": 6, "trained_share": 5 / 9, "certified": 3, "certified_share": 0.5,
    })
    # 2023: 2022's only trainee a3 is absent in 2023 -> 1 lost, nobody followed, share undefined
    check(row(result, prefecture="P1", year=2023), {
        "trainees_last_year": 1, "trainees_followed_up": 0, "trainees_lost_to_follow_up": 1,
        "trainees_employed_next_year": 0, "trainees_employed_next_year_share": np.nan,
    })


def test_training_by_county_and_sex():
    result = labour.training(panel(), by=("county", "sex"))
    # A female: 2021 trainees a2, a6; in 2022 a2 is found not working, a6 is absent -> 0/1
    check(row(result, county="A", sex="female", year=2022), {
        "trainees_last_year": 2, "trainees_followed_up": 1, "trainees_lost_to_follow_up": 1,
        "trainees_employed_next_year": 0, "trainees_employed_next_year_share": 0.0,
    })
    # A male: 2021 trainees a1, a5, both working in 2022 -> 2/2
    check(row(result, county="A", sex="male", year=2022), {
        "trainees_last_year": 2, "trainees_lost_to_follow_up": 0, "trainees_employed_next_year_share": 1.0,
    })
    # B male 2023: B male had no trainee... and no 2022 record either -> missing, not 0
    check(row(result, county="B", sex="male", year=2023), {"trainees_last_year": np.nan})


def test_training_by_type_long_matches_wide():
    long = labour.training_by_type(panel())
    assert list(long.columns) == [
        "county", "year", "training_type", "trained", "trained_labour_force", "trained_share",
        "share_of_trained",
    ]
    assert len(long) == 4 * 3  # every region-year x every type present
    a2021 = long[(long["county"] == "A") & (long["year"] == 2021)].set_index("training_type")
    # trainees a1, a2, a6 (skills) and a5 (entrepreneurship): 3/4 and 1/4 of trainees
    assert a2021.loc["skills", "share_of_trained"] == pytest.approx(0.75)
    assert a2021.loc["entrepreneurship", "share_of_trained"] == pytest.approx(0.25)
    assert a2021.loc["unspecified", "trained"] == 0
    wide = labour.training(panel())
    for t in ("entrepreneurship", "skills", "unspecified"):
        part = long[long["training_type"] == t].reset_index(drop=True)
        np.testing.assert_array_equal(part["trained"], wide[f"trained_{t}"])
        np.testing.assert_allclose(part["trained_share"], wide[f"trained_share_{t}"], rtol=1e-12)


# --------------------------------------------------------------------------- purity and validation
def test_inputs_are_not_modified():
    members = panel()
    before = members.copy(deep=True)
    for by in [("county",), ("prefecture",), ("county", "sex")]:
        labour.employment(members, by=by)
        labour.training(members, by=by)
        labour.training_by_type(members, by=by)
    labour.employment(members.drop(columns="employed"))
    pd.testing.assert_frame_equal(members, before, check_exact=True)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"wage_income.*wage income per worker"):
        labour.employment(panel().drop(columns="wage_income"))
    with pytest.raises(ValueError, match=r"\['person_id', 'certified'\]"):
        labour.training(panel().drop(columns=["certified", "person_id"]))
    with pytest.raises(ValueError, match="employed"):
        labour.training(panel().drop(columns=["employed", "months_worked"]))


def test_missing_by_column_lists_available_columns():
    with pytest.raises(ValueError, match=r"\['district'\].*available columns.*'county'"):
        labour.employment(panel(), by=("district",))
    with pytest.raises(ValueError, match="available columns"):
        labour.training(panel(), by=("county", "township"))


@pytest.mark.parametrize("bad", [(64, 16), (16,), "16-64", (-1, 64)])
def test_bad_working_age_is_refused(bad):
    with pytest.raises(ValueError, match="working_age"):
        labour.employment(panel(), working_age=bad)


def test_by_must_not_name_year():
    with pytest.raises(ValueError, match="year"):
        labour.employment(panel(), by=("county", "year"))


def test_repeated_person_year_is_refused():
    members = pd.concat([panel(), panel().iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"repeated \(person_id, year\)"):
        labour.training(members)


def test_type_that_would_overwrite_a_column_is_refused():
    members = panel()
    members["training_type"] = members["training_type"].replace("skills", "labour_force")
    with pytest.raises(ValueError, match="trained_labour_force"):
        labour.training(members)


def test_plain_numpy_dtypes_give_the_same_result():
    nullable = panel()
    plain = nullable.astype({c: object for c in nullable.columns if c != "year"}).astype({"year": "int64"})
    pd.testing.assert_frame_equal(
        labour.employment(plain).drop(columns="county"),
        labour.employment(nullable).drop(columns="county"),
        check_dtype=False,
    )


# --------------------------------------------------------------------------- against a per-region loop
def random_members(seed: int = 20240601, people: int = 640) -> pd.DataFrame:
    """~2,000 person-years, 4 counties in 2 prefectures, 2021-2024, county C3 missing in 2023."""
    rng = np.random.default_rng(seed)
    county = rng.choice(["C1", "C2", "C3", "C4"], people)
    prefecture = np.where(np.isin(county, ["C1", "C2"]), "P1", "P2")
    sex = np.where(rng.random(people) < 0.03, None, rng.choice(["male", "female"], people))
    age0 = rng.integers(8, 78, people)
    frames = []
    for year in range(2021, 2025):
        here = rng.random(people) < 0.85
        if year == 2023:
            here &= county != "C3"
        n = int(here.sum())
        works = rng.random(n) < 0.55

        def maybe_missing(values, share):
            values = np.asarray(values, dtype=object)
            return np.where(rng.random(n) < share, None, values)

        trained = rng.random(n) < 0.25
        frames.append(pd.DataFrame({
            "person_id": np.flatnonzero(here).astype(str),
            "year": year,
            "prefecture": prefecture[here],
            "county": county[here],
            "sex": sex[here],
            "age": maybe_missing(age0[here] + (year - 2021), 0.02),
            "labor_skill": maybe_missing(rng.choice(["skilled", "ordinary", "weak", "none", "lost"], n), 0.05),
            "employed": maybe_missing(works, 0.12),
            "work_location": maybe_missing(
                np.where(works, rng.choice(["in_county", "in_province", "out_province", "none"], n,
                                           p=[0.45, 0.25, 0.25, 0.05]), "none"), 0.1),
            "months_worked": maybe_missing(np.where(works, rng.integers(1, 13, n), 0), 0.1),
            "wage_income": maybe_missing(np.where(works, rng.uniform(3000, 60000, n), np.nan), 0.15),
            "workshop_job": maybe_missing(works & (rng.random(n) < 0.1), 0.05),
            "public_welfare_post": maybe_missing(works & (rng.random(n) < 0.08), 0.05),
            "trained": maybe_missing(trained, 0.05),
            "training_type": np.where(trained, maybe_missing(
                rng.choice(["skills", "entrepreneurship", "farming"], n), 0.1), None),
            "certified": np.where(trained, maybe_missing(rng.random(n) < 0.6, 0.1), None),
        }))
    dtypes = {**DTYPES, "prefecture": "string"}
    return pd.concat(frames, ignore_index=True).astype(dtypes)


def _known(value) -> bool:
    return value is not None and not pd.isna(value)


def _is_worker(r: dict) -> bool:
    if _known(r["employed"]):
        return bool(r["employed"])
    months = r["months_worked"]
    place = r["work_location"]
    return (_known(months) and months > 0) or (_known(place) and place != "none")


def _in_labour_force(r: dict, low=16, high=64) -> bool:
    return _known(r["age"]) and low <= r["age"] <= high and _known(r["labor_skill"]) and r["labor_skill"] not in (
        "none", "lost"
    )


def _divide(a, b):
    return a / b if b else math.nan


def _loop_reference(members: pd.DataFrame, by: tuple[str, ...]) -> dict:
    """Each region-year computed on its own from the records, one region at a time."""
    records = members.to_dict("records")
    region_of = lambda r: tuple(r[b] if _known(r[b]) else "<NA>" for b in by)  # noqa: E731
    regions = sorted({region_of(r) for r in records})
    ids_by_year: dict[int, dict[str, dict]] = {}
    for r in records:
        ids_by_year.setdefault(r["year"], {})[r["person_id"]] = r
    out = {}
    for region in regions:
        mine = [r for r in records if region_of(r) == region]
        for year in sorted({r["year"] for r in mine}):
            rs = [r for r in mine if r["year"] == year]
            workers = [r for r in rs if _is_worker(r)]
            lf = [r for r in rs if _in_labour_force(r)]
            places = [r["work_location"] for r in workers if _known(r["work_location"]) and r["work_location"] != "none"]
            months = [r["months_worked"] for r in workers if _known(r["months_worked"])]
            wages = [r["wage_income"] for r in workers if _known(r["wage_income"])]
            trainees = [r for r in rs if _known(r["trained"]) and r["trained"]]
            res = {
                "persons": len(rs), "labour_force": len(lf), "workers": len(workers),
                "employment_rate": _divide(sum(_is_worker(r) for r in lf), len(lf)),
                "share_in_county": _divide(places.count("in_county"), len(places)),
                "share_out_province": _divide(places.count("out_province"), len(places)),
                "workers_in_province": places.count("in_province"),
                "mean_months_worked": _divide(sum(months), len(months)),
                "wage_income_per_worker": _divide(sum(wages), len(wages)),
                "workshop_jobs": sum(1 for r in rs if _known(r["workshop_job"]) and r["workshop_job"]),
                "public_welfare_posts": sum(1 for r in rs if _known(r["public_welfare_post"]) and r["public_welfare_post"]),
                "trained": len(trainees),
                "trained_share": _divide(sum(_in_labour_force(r) for r in trainees), len(lf)),
                "certified_share": _divide(sum(1 for r in trainees if _known(r["certified"]) and r["certified"]), len(trainees)),
                "_trainee_ids": [r["person_id"] for r in trainees],
            }
            for t in ("skills", "farming", "unspecified"):
                kind = [r for r in trainees if (r["training_type"] if _known(r["training_type"]) else "unspecified") == t]
                res[f"trained_{t}"] = len(kind)
            previous = out.get((region, year - 1))
            if previous is None:
                for c in ("workers_change", "workers_change_pct", "trainees_lost_to_follow_up",
                          "trainees_employed_next_year_share"):
                    res[c] = math.nan
                res["no_lower_than_last_year"] = None
            else:
                res["workers_change"] = len(workers) - previous["workers"]
                res["workers_change_pct"] = 100 * _divide(res["workers_change"], previous["workers"])
                res["no_lower_than_last_year"] = len(workers) >= previous["workers"]
                now = ids_by_year.get(year, {})
                found = [now[p] for p in previous["_trainee_ids"] if p in now]
                res["trainees_lost_to_follow_up"] = len(previous["_trainee_ids"]) - len(found)
                res["trainees_employed_next_year_share"] = _divide(sum(_is_worker(r) for r in found), len(found))
            out[(region, year)] = res
    return out


@pytest.mark.parametrize("by", [("county",), ("prefecture",), ("county", "sex")])
def test_matches_a_per_region_loop_on_random_members(by):
    members = random_members()
    assert 1800 < len(members) < 2300
    expected = _loop_reference(members, by)
    both = labour.employment(members, by=by).merge(labour.training(members, by=by), on=[*by, "year"],
                                                   suffixes=("", "_t"))
    assert len(both) == len(expected)
    compared = 0
    for r in both.to_dict("records"):
        region = tuple(r[b] if _known(r[b]) else "<NA>" for b in by)
        want = expected[(region, r["year"])]
        for column, value in want.items():
            if column.startswith("_"):
                continue
            got = r[column]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                assert pd.isna(got), (region, r["year"], column, got)
            else:
                assert got == pytest.approx(value, rel=1e-9), (region, r["year"], column, got, value)
            compared += 1
    # the gap (C3 has no 2023) makes C3 2024 incomparable, and at least one NA sex group exists
    assert compared > 20 * len(both)
    if by == ("county",):
        c3 = both[(both["county"] == "C3") & (both["year"] == 2024)].iloc[0]
        assert pd.isna(c3["workers_change"]) and pd.isna(c3["trainees_employed_next_year_share"])
    if by == ("county", "sex"):
        assert both["sex"].isna().any()


# --------------------------------------------------------------------------- official 务工规模
def _official_fixture():
    """Two households in one county over two years: h1 a 脱贫户, h2 an ordinary one that becomes a
    monitoring target in 2022. Members: working-age workers, a worker aged 70, one without capacity."""
    households = pd.DataFrame({
        "household_id": ["h1", "h2", "h1", "h2"], "year": [2021, 2021, 2022, 2022],
        "household_type": ["poverty_exited", "general", "poverty_exited", "general"],
        "monitoring_type": ["none", "none", "none", "marginal"]})
    rows = [  # household, year, age, skill, worked
        ("h1", 2021, 30, "ordinary", True), ("h1", 2021, 70, "weak", True), ("h1", 2021, 40, "none", False),
        ("h1", 2021, 45, "weak", False), ("h2", 2021, 35, "skilled", True),
        ("h1", 2022, 31, "ordinary", True), ("h1", 2022, 71, "weak", True), ("h1", 2022, 41, "none", False),
        ("h1", 2022, 46, "weak", True), ("h2", 2022, 36, "skilled", False)]
    members = pd.DataFrame([{"household_id": h, "county": "A", "year": y, "age": a, "labor_skill": s,
                             "employed": w, "work_location": "in_county" if w else "none",
                             "months_worked": 10.0 if w else 0.0, "wage_income": 20000.0 if w else None,
                             "workshop_job": False, "public_welfare_post": False} for h, y, a, s, w in rows])
    return households, members


def test_official_workers_count_the_poverty_alleviated_labour_only():
    households, members = _official_fixture()
    population = labour.official_population(members, households, ["poverty_exited"])
    assert population.tolist() == [True] * 4 + [False] + [True] * 4 + [False]
    table = labour.employment(members, population=population).set_index("year")
    # 2021: h1's labour force is the 30- and 45-year-olds (70 is past working age, 40 has no capacity);
    # one of them worked. 2022: both worked.
    assert table.loc[2021, "official_labour_force"] == 2 and table.loc[2021, "official_workers"] == 1
    assert table.loc[2022, "official_labour_force"] == 2 and table.loc[2022, "official_workers"] == 2
    assert table.loc[2022, "official_employment_rate"] == 1.0
    assert table.loc[2022, "official_workers_change"] == 1 and table.loc[2022, "official_workers_change_pct"] == 100
    assert bool(table.loc[2022, "official_no_lower_than_last_year"])
    assert pd.isna(table.loc[2021, "official_no_lower_than_last_year"])
    # all rural workers fell (h2's worker stopped, h1's gained one: 3 -> 3 counting the 70-year-old), and the
    # two verdicts are told apart
    assert table.loc[2021, "workers"] == 3 and table.loc[2022, "workers"] == 3
    # the all-households rate divides the counts of one population (workers of working age with capacity)
    assert table.loc[2022, "employment_rate"] == table.loc[2022, "labour_force_employed"] / table.loc[2022, "labour_force"]


def test_official_population_can_add_monitoring_targets():
    households, members = _official_fixture()
    population = labour.official_population(members, households, ["poverty_exited"], include_monitoring_targets=True)
    assert population.tolist() == [True] * 4 + [False] + [True] * 5   # h2 is a target in 2022 only
    table = labour.employment(members, population=population).set_index("year")
    assert table.loc[2022, "official_labour_force"] == 3 and table.loc[2022, "official_workers"] == 2


def test_official_population_must_match_the_member_rows():
    households, members = _official_fixture()
    with pytest.raises(ValueError, match="one value per member row"):
        labour.employment(members, population=np.ones(3, dtype=bool))
