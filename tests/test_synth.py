"""The synthetic prefecture: deterministic, realistic magnitudes, valid fictitious IDs, stored ground truth."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.io import data, privacy, synth
from analysis.measures import indicators


def test_deterministic_for_seed():
    a = synth.generate(seed=5, counties=2, households_per_county=30, oracle_replicates=0)
    b = synth.generate(seed=5, counties=2, households_per_county=30, oracle_replicates=0)
    c = synth.generate(seed=6, counties=2, households_per_county=30, oracle_replicates=0)
    pd.testing.assert_frame_equal(a.export, b.export)
    assert a.ground_truth == b.ground_truth
    assert not a.export.equals(c.export)


def test_ids_are_valid_and_fictitious():
    export = synth.generate(seed=1, counties=1, households_per_county=30, oracle_replicates=0).export
    assert export["证件号码"].map(privacy.is_valid_id).all()
    assert export["联系电话"].str.fullmatch(r"1[3-9]\d{9}").all()


def test_files_and_ground_truth(small_raw):
    names = sorted(p.name for p in small_raw.iterdir())
    assert any(n.endswith(".xlsx") for n in names) and any(n.endswith(".csv") for n in names)
    assert all(n.startswith("SYNTHETIC") for n in names if n.endswith((".csv", ".xlsx")))
    truth = json.loads((small_raw / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["synthetic"] is True
    structural = truth["workshops"]["structural_by_event_time"]
    assert structural["3"] > structural["2"] > structural["1"] > structural["0"] > 0   # grow with exposure
    realised = truth["workshops"]["att_by_event_time"]
    assert set(realised) == {"0", "1", "2", "3"} and truth["workshops"]["att_simple"] > 0
    assert 0.04 < truth["training"]["att_employment"] < 0.16


def test_calibrated_magnitudes(small_processed):
    h = data.load("households", small_processed)
    pref = indicators.income_growth(h, by=("prefecture",)).set_index("year")
    assert 9000 < pref.loc[2020, "income_pc"] < 14000
    assert 13000 < pref.loc[2024, "income_pc"] < 20000
    assert (pref["growth_nominal"].dropna() > 0).all()
    assert pref["share_wage"].between(0.55, 0.80).all()
    types = h[h["year"] == 2024]["monitoring_type"].value_counts(normalize=True)
    # 180 households hold a handful of targets: two types at least here; all three are required of every
    # year of the 1,600-household sample below
    assert len({"unstable", "marginal", "sudden_hardship"} & set(types.index)) >= 2
    assert 0.02 < 1 - types["none"] < 0.25
    eliminated = h[(h["year"] == 2024) & (h["monitoring_type"] != "none")]["risk_eliminated"].mean()
    assert eliminated > 0.2


def test_monitoring_magnitudes_within_published_ranges():
    """Monitoring targets are 3-14% of the poverty-exited population (domain brief), all three types appear,
    and risk is eliminated over time."""
    export = synth.generate(seed=0, counties=4, households_per_county=400, oracle_replicates=0).export
    hh = export.drop_duplicates(["户编号", "年度"])
    for year, d in hh.groupby("年度"):
        if year == 2020:
            continue
        targets = (d["监测对象类别"] != "") * d["家庭人口数"]
        exited = (d["户类型"] == "脱贫户") * d["家庭人口数"]
        assert 0.03 <= targets.sum() / exited.sum() <= 0.14, year
        assert set(d["监测对象类别"]) >= {"脱贫不稳定户", "边缘易致贫户", "突发严重困难户"}
    last = hh[(hh["年度"] == 2024) & (hh["监测对象类别"] != "")]
    assert (last["风险是否已消除"] == "是").mean() > 0.3
