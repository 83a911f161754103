"""脱贫人口 income: growth of a group against all households (joint linearisation) and the benchmark table."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import config
from analysis.errors import DataError
from analysis.measures import indicators


def _panel(n_villages: int = 12, per_village: int = 10, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n_villages):
        shock = rng.normal(0, 0.08)
        for i in range(per_village):
            hid, size = f"v{v}h{i}", int(rng.integers(1, 6))
            kind = "poverty_exited" if i % 3 == 0 else "general"
            base = rng.lognormal(np.log(12000), 0.4) * size
            for year, growth in ((2022, 0.0), (2023, 0.05 + shock + (0.04 if kind == "poverty_exited" else 0))):
                rows.append({"county": "A", "village": f"村{v}", "household_id": hid, "year": year, "size": size,
                             "household_type": kind, "monitoring_type": "none",
                             "net_income": base * (1 + growth) * rng.lognormal(0, 0.05)})
    return pd.DataFrame(rows)


def test_gap_point_estimate_is_the_ratio_of_growth_factors():
    h = _panel()
    out = indicators.panel_growth(h, cpi=pd.Series({2022: 1.0, 2023: 1.02}))
    pe = out[out["group"] == "poverty_exited"].iloc[0]
    allh = out[out["group"] == "all"].iloc[0]
    assert pe["gap_vs_all"] == pytest.approx((1 + pe["growth_real"]) / (1 + allh["growth_real"]) - 1, rel=1e-12)
    d0, d1 = h[h["year"] == 2022], h[h["year"] == 2023]
    sel = d0["household_type"].eq("poverty_exited").to_numpy()
    direct = (d1["net_income"].to_numpy()[sel].sum() / d1["size"].to_numpy()[sel].sum()) / (
        d0["net_income"].to_numpy()[sel].sum() / d0["size"].to_numpy()[sel].sum())
    assert pe["growth_nominal"] == pytest.approx(direct - 1, rel=1e-12)
    assert np.isnan(allh["gap_vs_all"])


def test_gap_interval_matches_a_village_bootstrap():
    """The linearised standard error of the log gap against 4,000 village-cluster bootstrap draws: within 15%
    (the bootstrap's own Monte Carlo error at 4,000 draws is about 1%; the rest is the linearisation)."""
    h = _panel(n_villages=20)
    out = indicators.panel_growth(h, cpi=pd.Series({2022: 1.0, 2023: 1.0}))
    pe = out[out["group"] == "poverty_exited"].iloc[0]
    t = stats.t.ppf(0.975, df=pe["villages"] - 1)
    se_lin = (np.log1p(pe["gap_vs_all_high"]) - np.log1p(pe["gap_vs_all_low"])) / (2 * t)
    w = h.pivot_table(index=["village", "household_id", "household_type"], columns="year",
                      values=["net_income", "size"]).reset_index()
    pe_mask = (w["household_type"] == "poverty_exited").to_numpy()
    cols = [("net_income", 2022), ("size", 2022), ("net_income", 2023), ("size", 2023)]
    parts = np.column_stack([w[c].to_numpy() for c in cols] + [w[c].to_numpy() * pe_mask for c in cols])
    by_village = pd.DataFrame(parts).groupby(w["village"].to_numpy()).sum().to_numpy()
    g = len(by_village)
    draws = np.random.default_rng(0).multinomial(g, [1 / g] * g, size=4000) @ by_village
    y0, p0, y1, p1, e0, q0, e1, q1 = draws.T
    logs = np.log((e1 / q1) / (e0 / q0)) - np.log((y1 / p1) / (y0 / p0))
    assert se_lin == pytest.approx(logs.std(ddof=1), rel=0.15)


def test_benchmarks_are_read_with_their_source_and_bad_values_are_located(tmp_path):
    table = config.benchmarks("poverty_exited_income_pc")
    assert table.set_index("year")["value"].to_dict() == {2020: 10740.0, 2021: 12550.0, 2022: 14342.0}
    assert table["source"].str.contains("poverty-alleviated population").all()
    (tmp_path / "benchmarks.csv").write_text(
        "indicator,scope,year,value,unit,source\npoverty_exited_income_pc,national,2020,1万,yuan,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="value") as err:
        config.benchmarks("poverty_exited_income_pc", config_dir=tmp_path)
    assert "2" in str(err.value)


def test_income_page_compares_exited_income_with_the_benchmark(small_processed):
    from analysis.io import data
    from analysis.reporting import income, page
    ctx = page.context(data.list_regions(small_processed)[0], [2020, 2024], str(small_processed), "zh")
    table = income._exited(ctx)
    bench = table.dropna(subset=["benchmark", "income_pc"])
    assert len(bench)
    assert np.allclose(bench["ratio_to_benchmark"], bench["income_pc"] / bench["benchmark"])
    assert "全国脱贫人口" in income.exited_summary(ctx).data


def test_rural_cpi_is_used_where_given_and_all_items_elsewhere(tmp_path):
    (tmp_path / "cpi.csv").write_text(
        "year,cpi_prev_year_100,source,rural_cpi_prev_year_100,rural_source\n"
        "2020,102.5,all,,\n2021,100.9,all,100.5,rural table\n2022,102.0,all,,\n", encoding="utf-8")
    table = config.cpi_table(tmp_path)
    assert table["deflator"].tolist() == ["all_items", "rural", "all_items"]
    assert table["index_prev_year_100"].tolist() == [102.5, 100.5, 102.0]
    level = config.cpi_index(tmp_path, base_year=2020)
    assert level[2022] == pytest.approx(1.005 * 1.02)
    (tmp_path / "cpi.csv").write_text("year,cpi_prev_year_100,source\n2020,1o2.5,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="cpi_prev_year_100"):
        config.cpi_table(tmp_path)
