"""Small-cell suppression follows the configured k (``publication.yaml``) and says so in a footnote."""
from __future__ import annotations

import pytest

from analysis import build, config
from analysis.reporting import employment as report_employment
from analysis.reporting import income
from analysis.reporting import page as report
from analysis.io import data
from analysis.errors import DataError


def _user_config(tmp_path, text):
    folder = tmp_path / "cfg"
    folder.mkdir(parents=True)
    (folder / "publication.yaml").write_text(text, encoding="utf-8")
    return folder


def test_default_and_user_k(tmp_path, monkeypatch):
    assert config.min_households() == 5
    monkeypatch.setenv("ANALYSIS_CONFIG_DIR", str(_user_config(tmp_path, "min_households: 12\n")))
    assert config.min_households() == 12


@pytest.mark.parametrize("value", ["0", "2.5", "many", "true"])
def test_bad_k_is_refused_naming_the_file(tmp_path, value):
    folder = _user_config(tmp_path, f"min_households: {value}\n")
    with pytest.raises(DataError, match="publication.yaml.*min_households"):
        config.min_households(folder)


def test_income_groups_and_employment_table_follow_k(small_processed, tmp_path, monkeypatch):
    region = data.list_regions(small_processed)[0]
    ctx = report.context(region, [2020, 2024], data_dir=str(small_processed), lang="en")
    counts = build.load("panel_growth", small_processed, region=region)
    counts = counts[counts["year_start"] >= 2020].reset_index(drop=True)
    groups = income._groups(ctx)
    # With the default k = 5 exactly the groups of fewer than 5 households (present in both years) are blanked.
    assert (groups["suppressed"].to_numpy() == (counts["households"] < 5).to_numpy()).all()
    assert groups.loc[groups["suppressed"], ["households", "income_pc", "growth_real", "growth_real_low"]
                      ].isna().all().all()
    # A k above the monitored group's size blanks it, not the whole county, and adds a footnote.
    k = int(counts.loc[counts["group"] == "monitored", "households"].max()) + 1
    monkeypatch.setenv("ANALYSIS_CONFIG_DIR", str(_user_config(tmp_path, f"min_households: {k}\n")))
    groups = income._groups(ctx)
    small = groups[groups["group"] == "monitored"]
    assert small["suppressed"].all() and small["income_pc"].isna().all()
    assert not groups.loc[groups["group"] == "all", "suppressed"].any()
    fig = income.group_growth_figure(ctx)
    assert any(f"fewer than {k} households" in t.get_text() for t in fig.texts)
    # The employment table blanks every row of a county smaller than k, and its caption says so.
    big = int(counts.loc[counts["group"] == "all", "households"].max()) + 1
    monkeypatch.setenv("ANALYSIS_CONFIG_DIR", str(_user_config(tmp_path / "b", f"min_households: {big}\n")))
    styled = report_employment.employment_table(ctx)
    assert f"fewer than {big} households" in styled.caption
