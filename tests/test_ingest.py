"""Ingest: encodings, header order, XLSX, bad input refused with located messages, no personal data out."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.io import data, ingest, synth
from analysis.errors import DataError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def export():
    """One county's person-row export (2 years) as the monitoring system prints it."""
    region = synth.generate(seed=3, counties=1, households_per_county=25, years=(2021, 2022), oracle_replicates=0)
    return region.export


def _write(frame: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding=encoding)
    return path


def _tables(paths, tmp_path, name="out"):
    result = ingest.ingest(paths, out_dir=tmp_path / name, key=b"k")
    return result.households, result.members


def test_gbk_shuffled_headers_equal_utf8(export, tmp_path):
    utf8 = _write(export, tmp_path / "a.csv", "utf-8")
    cols = list(export.columns)[::-1]
    gbk = _write(export[cols], tmp_path / "b.csv", "gbk")
    bom = _write(export[cols[5:] + cols[:5]], tmp_path / "c.csv", "utf-8-sig")
    h1, m1 = _tables([utf8], tmp_path, "o1")
    h2, m2 = _tables([gbk], tmp_path, "o2")
    h3, m3 = _tables([bom], tmp_path, "o3")
    pd.testing.assert_frame_equal(h1, h2)
    pd.testing.assert_frame_equal(m1, m2)
    pd.testing.assert_frame_equal(h1, h3)
    # and the Parquet written to disk is the same too
    pd.testing.assert_frame_equal(data.load("households", tmp_path / "o1"), data.load("households", tmp_path / "o2"))


def test_xlsx_equals_csv(export, tmp_path):
    h1, m1 = _tables([_write(export, tmp_path / "a.csv")], tmp_path, "o1")
    h2, m2 = _tables([_write(export, tmp_path / "a.xlsx")], tmp_path, "o2")
    pd.testing.assert_frame_equal(h1, h2)
    pd.testing.assert_frame_equal(m1, m2)


def test_household_and_member_files_separately(export, tmp_path):
    hh_cols = [c for c in export.columns if c not in ("人编号", "姓名", "证件号码", "联系电话", "与户主关系", "性别",
                                                       "文化程度", "在校生状况", "健康状况", "劳动技能", "务工时间（月）",
                                                       "务工所在地", "务工收入", "是否帮扶车间就业", "公益性岗位(月数)",
                                                       "是否参加技能培训", "培训类型", "是否取得证书")]
    households = export[hh_cols].drop_duplicates(["户编号", "年度"])
    member_cols = ["县(市、区、旗)", "户编号", "人编号", "证件号码", "年度", "性别", "劳动技能", "务工时间（月）", "务工所在地"]
    res = ingest.ingest([_write(households, tmp_path / "h.csv"), _write(export[member_cols], tmp_path / "m.csv")],
                        out_dir=tmp_path / "out", key=b"k")
    kinds = sorted(f.kind for f in res.files)
    assert kinds == ["households", "members"]
    assert len(res.households) == len(households)
    assert len(res.members) == len(export)
    combined = ingest.ingest([_write(export, tmp_path / "all.csv")], write=False, key=b"k")
    pd.testing.assert_frame_equal(res.households, combined.households)


def test_values_mapped_to_codes(export, tmp_path):
    h, m = _tables([_write(export, tmp_path / "a.csv")], tmp_path)
    assert set(h["household_type"]) <= {"poverty_exited", "general"}
    assert set(h["monitoring_type"]) <= {"none", "unstable", "marginal", "sudden_hardship"}
    assert set(m["work_location"].dropna()) <= {"none", "in_county", "in_province", "out_province"}
    # 危房户 = 否 (not a dangerous house) means housing is secured
    raw_safe = export.drop_duplicates(["户编号", "年度"])["危房户"].eq("否").sum()
    assert int(h["bn_housing"].sum()) == raw_safe
    # age derived from the ID number's birth date
    assert m["age"].between(0, 100).all()


def test_no_identifier_survives(export, tmp_path):
    _tables([_write(export, tmp_path / "a.csv")], tmp_path)
    blob = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    for value in list(export["证件号码"].head(40)) + list(export["姓名"].head(40)) + list(export["联系电话"].head(40)):
        assert value.encode("utf-8") not in blob
    for raw_id in export["户编号"].head(20):
        assert raw_id.encode() not in blob


def _bad(export: pd.DataFrame, tmp_path: Path, case: str) -> tuple[Path, str, str]:
    """Write one malformed file; return its path and the (column, message part) its error must name."""
    f = export.copy()
    if case == "missing_column":
        f = f.drop(columns=["工资性收入"])
        return _write(f, tmp_path / "bad.csv"), "工资性收入", "required column is missing"
    if case == "unknown_category":
        f.loc[3, "户类型"] = "贫困户X"
        return _write(f, tmp_path / "bad.csv"), "户类型", "贫困户X"
    if case == "non_numeric":
        f["工资性收入"] = f["工资性收入"].astype(str)
        f.loc[4, "工资性收入"] = "1,2万"
        return _write(f, tmp_path / "bad.csv"), "工资性收入", "1,2万"
    if case == "duplicate":
        hh = f.drop_duplicates(["户编号", "年度"])[["县(市、区、旗)", "户编号", "年度", "家庭人口数", "户类型", "工资性收入",
                                                 "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出"]]
        hh = pd.concat([hh, hh.iloc[[2]]], ignore_index=True)
        return _write(hh, tmp_path / "bad.csv"), "户编号", "duplicate household"
    if case == "negative_size":
        f["家庭人口数"] = f["家庭人口数"].astype(int)
        f.loc[f["户编号"] == f.loc[0, "户编号"], "家庭人口数"] = -2
        return _write(f, tmp_path / "bad.csv"), "家庭人口数", "below the minimum"
    if case == "not_reconciled":
        f.loc[f["户编号"] == f.loc[0, "户编号"], "纯收入（元）"] = 999999
        return _write(f, tmp_path / "bad.csv"), "纯收入（元）", "does not reconcile"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing_column", "unknown_category", "non_numeric", "duplicate",
                                  "negative_size", "not_reconciled"])
def test_bad_input_located_and_nothing_written(export, tmp_path, case):
    path, column, words = _bad(export, tmp_path, case)
    before = path.read_bytes()
    out = tmp_path / "out"
    with pytest.raises(DataError) as info:
        ingest.ingest([path], out_dir=out, key=b"k")
    hits = [p for p in info.value.problems if p.column and column in p.column and words in p.message]
    assert hits, info.value.report()
    assert hits[0].file == str(path)
    if case not in ("missing_column",):
        assert hits[0].row is not None and hits[0].row >= 2
    assert not out.exists() or not any(out.iterdir())
    assert path.read_bytes() == before     # the raw file is never modified


def test_all_problems_listed_not_only_first(export, tmp_path):
    f = export.copy()
    f["工资性收入"] = f["工资性收入"].astype(str)
    f.loc[[1, 5, 9], "工资性收入"] = ["abc", "1,2万", "12%"]
    f.loc[7, "户类型"] = "未知"
    with pytest.raises(DataError) as info:
        ingest.ingest([_write(f, tmp_path / "bad.csv")], out_dir=tmp_path / "out", key=b"k")
    rows = {(p.row, p.column) for p in info.value.problems}
    assert {(3, "工资性收入"), (7, "工资性收入"), (11, "工资性收入"), (9, "户类型")} <= rows


def test_repairs_are_reported(export, tmp_path):
    f = export.copy()
    f["工资性收入"] = f["工资性收入"].astype(str)
    f["纯收入（元）"] = f["纯收入（元）"].astype(str)
    value = int(f.loc[0, "工资性收入"])
    rows = f["户编号"] == f.loc[0, "户编号"]
    f.loc[rows & (f["年度"] == f.loc[0, "年度"]), "工资性收入"] = f"{value:,}元"
    res = ingest.ingest([_write(f, tmp_path / "a.csv")], out_dir=tmp_path / "out", key=b"k")
    assert any("repaired" in n for n in res.files[0].notes)
    assert "repaired" in (tmp_path / "out" / "ingest_report.md").read_text(encoding="utf-8")


def test_cli_exit_code_and_no_traceback(export, tmp_path):
    path, _, _ = _bad(export, tmp_path, "non_numeric")
    proc = subprocess.run([sys.executable, "-m", "analysis", "ingest", str(path), "--out", str(tmp_path / "out"),
                           "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.csv, row" in proc.stderr and "工资性收入" in proc.stderr
    assert not (tmp_path / "out" / "households").exists()


def test_file_changed_during_ingest_is_refused(export, tmp_path, monkeypatch):
    """Raw files are hashed before and after reading; a file rewritten meanwhile stops the ingest."""
    path = _write(export, tmp_path / "a.csv")
    real = ingest.read_export_tables

    def read_then_touch(p, *args, **kwargs):
        out = real(p, *args, **kwargs)
        Path(p).write_bytes(Path(p).read_bytes() + b"\n")     # another program appends to the export
        return out

    monkeypatch.setattr(ingest, "read_export_tables", read_then_touch)
    with pytest.raises(DataError, match="changed while it was being read"):
        ingest.ingest([path], out_dir=tmp_path / "out", key=b"k")
    assert not (tmp_path / "out" / "households").exists()


def test_large_inputs_are_read_in_chunks_with_the_same_tables(small_raw, tmp_path, monkeypatch):
    from analysis.io import data, ingest
    whole = ingest.ingest([small_raw], out_dir=tmp_path / "whole")
    monkeypatch.setattr(ingest, "STREAM_BYTES", 1)          # every input counts as large
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 150)
    chunked = ingest.ingest([small_raw], out_dir=tmp_path / "chunked")
    assert chunked.households is None and chunked.n_households == len(whole.households)
    for table in ("households", "members"):
        pd.testing.assert_frame_equal(data.load(table, tmp_path / "chunked"), data.load(table, tmp_path / "whole"))
    assert (tmp_path / "chunked" / "ingest_report.md").read_text(encoding="utf-8") == \
        (tmp_path / "whole" / "ingest_report.md").read_text(encoding="utf-8")
    assert not list((tmp_path / "chunked").glob(".staging-*"))


def test_worker_processes_give_the_same_tables_and_report(small_raw, tmp_path, monkeypatch):
    """Files read by two worker processes, whole and in chunks (counties then finished by the workers too),
    give what one process gives: the same tables, the same report."""
    from analysis.io import data, ingest
    one = ingest.ingest([small_raw], out_dir=tmp_path / "one", key=b"k")
    assert len(ingest.expand_paths([small_raw])) > 1
    two = ingest.ingest([small_raw], out_dir=tmp_path / "two", key=b"k", jobs=2)
    pd.testing.assert_frame_equal(two.households, one.households)
    pd.testing.assert_frame_equal(two.members, one.members)
    monkeypatch.setattr(ingest, "STREAM_BYTES", 1)
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 150)
    chunked = ingest.ingest([small_raw], out_dir=tmp_path / "chunked", key=b"k", jobs=2)
    assert (chunked.n_households, chunked.n_members) == (len(one.households), len(one.members))
    for table in ("households", "members"):
        pd.testing.assert_frame_equal(data.load(table, tmp_path / "chunked"), data.load(table, tmp_path / "one"))
    report = (tmp_path / "one" / "ingest_report.md").read_text(encoding="utf-8")
    for other in ("two", "chunked"):
        assert (tmp_path / other / "ingest_report.md").read_text(encoding="utf-8") == report


def test_staged_members_are_found_by_their_household_not_their_own_county(tmp_path):
    """A county's members are read from every staged file holding one of its households, whatever county
    the member rows name (or none), and only from those."""
    from analysis.io import ingest
    hh = pd.DataFrame({"household_id": ["h1", "h2", "h3"], "county": ["甲县", "甲县", "乙县"]})
    ingest._write_partitioned(hh, tmp_path / "households", basename="a-{i}.parquet")
    ingest._write_partitioned(pd.DataFrame({"household_id": ["h1", "h3"], "county": ["乙县", "乙县"]}),
                              tmp_path / "members", basename="m1-{i}.parquet")
    ingest._write_partitioned(pd.DataFrame({"household_id": ["h2"], "county": pd.Series([None], dtype="string")}),
                              tmp_path / "members", basename="m2-{i}.parquet")
    ingest._write_partitioned(pd.DataFrame({"household_id": ["h9"], "county": ["丙县"]}),
                              tmp_path / "members", basename="m3-{i}.parquet")
    found, unowned = ingest._member_files(tmp_path / "households", tmp_path / "members", [["甲县"], ["乙县"]])
    names = {group: sorted(path.name for path, _ in files) for group, files in found.items()}
    assert names == {0: ["m1-0.parquet", "m2-0.parquet"], 1: ["m1-0.parquet"]}
    assert [path.name for path, _ in unowned] == ["m3-0.parquet"]      # h9 belongs to no household: an orphan


def test_ordered_map_keeps_the_order_and_names_a_lost_worker():
    import operator
    import os

    from analysis.core import workers
    assert list(workers.ordered_map(operator.neg, [3, 1, 2], 2, [])) == [-3, -1, -2]
    assert list(workers.ordered_map(operator.neg, [3, 1, 2], 1, [])) == [-3, -1, -2]
    with pytest.raises(workers.WorkerLost, match="stopped before finishing"):
        list(workers.ordered_map(os._exit, [3, 4], 2, []))


def test_personal_values_are_looked_up_one_by_one_and_in_bulk():
    from analysis.io import readers
    frame = pd.DataFrame({"姓名": pd.Series(["王丽华", "李四", "", "王"], dtype=readers.TEXT),
                          "村": pd.Series(["东村", "西村", "南村", "北村"], dtype=readers.TEXT)})
    raw = readers.RawTable("f.csv", frame, pd.Series([2, 3, 4, 5]), "utf-8", [], {}, {})
    known = ingest.PersonalValues(raw, {"姓名": ("personal:name", False), "村": ("village", False)})
    assert "王丽华" in known and "东村" not in known
    assert "王" not in known and "" not in known          # one character is no personal value to look for
    assert known.among(["李四", "东村", "王丽华", None]) == {"李四", "王丽华"}
