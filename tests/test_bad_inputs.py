"""Hostile input: every file of the corpus in tests/data/bad/ is either repaired (and the repair reported)
or refused with its file, row, column and reason; never a traceback, a partial write, a changed raw
file or a personal value in any output.

The corpus and its manifest ``expected.yaml`` are built by ``tests/data/bad/make_corpus.py``. Each case
runs through the Python API (fast); one command-line run per outcome class checks exit codes and
messages as a user sees them, and a slow test runs the command line on every case.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.io import data, ingest, parsing, privacy
from analysis.config import PACKAGE_CONFIG
from analysis.errors import DataError, ParameterError

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "bad"
MANIFEST = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
KEY = b"corpus-test-key"
REFUSED = sorted(n for n, e in MANIFEST.items() if e["outcome"] == "refused")
USABLE = sorted(n for n, e in MANIFEST.items() if e["outcome"] != "refused")


def _hashes(path: Path) -> dict[str, str]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _config(entry: dict, tmp_path: Path) -> Path | None:
    """A user configuration folder holding a catalogue with the case's list of known counties."""
    if "counties" not in entry:
        return None
    folder = tmp_path / "config"
    folder.mkdir()
    catalogue = yaml.safe_load((PACKAGE_CONFIG / "catalogue.yaml").read_text(encoding="utf-8"))
    catalogue["counties"] = entry["counties"]
    (folder / "catalogue.yaml").write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    return folder


def _matches(problem, entry: dict, path: Path) -> bool:
    target = path / entry["file"] if "file" in entry else path
    where = f"{target}, sheet {entry['sheet']!r}" if "sheet" in entry else str(target)
    return (problem.file == where and entry["message"] in problem.message
            and problem.row == entry.get("row", problem.row)
            and ("column" not in entry or (problem.column or "") == entry["column"]))


def test_manifest_covers_the_cases_asked_for():
    assert len(MANIFEST) >= 25
    assert {e["outcome"] for e in MANIFEST.values()} == {"accepted", "repaired", "refused"}
    for name in MANIFEST:
        assert (CORPUS / name).exists(), name


@pytest.mark.parametrize("name", REFUSED)
def test_refused_case_names_file_row_column(name, tmp_path):
    entry, path = MANIFEST[name], CORPUS / name
    before = _hashes(path)
    out, report = tmp_path / "out", tmp_path / "reports" / "ingest_report.md"
    with pytest.raises(DataError) as info:
        ingest.ingest([path], out_dir=out, key=KEY, config_dir=_config(entry, tmp_path), report_path=report)
    assert any(_matches(p, entry, path) for p in info.value.problems), info.value.report()
    assert not out.exists()                      # nothing written, not even the folder
    assert _hashes(path) == before               # raw files are only read
    text = report.read_text(encoding="utf-8")    # the refused ingest's report, outside the output folder
    assert "Refused" in text and entry["message"] in text
    assert not privacy.find_identifiers(text)    # messages quote no ID or phone number


@pytest.fixture(scope="module")
def clean():
    return ingest.ingest([CORPUS / "clean.csv"], write=False, key=KEY)


@pytest.mark.parametrize("name", USABLE)
def test_usable_case_is_reported_and_correct(name, tmp_path, clean):
    entry, path = MANIFEST[name], CORPUS / name
    before = _hashes(path)
    out = tmp_path / "out"
    result = ingest.ingest([path], out_dir=out, key=KEY, config_dir=_config(entry, tmp_path))
    report = (out / "ingest_report.md").read_text(encoding="utf-8")
    assert entry["message"] in report
    if entry["outcome"] == "accepted":
        assert "## Repairs and warnings\n\n- none" in report
    assert _hashes(path) == before
    assert privacy.scan([out], privacy.raw_identities([path])) == []
    for f in result.files:      # every data row is accounted for: written, or skipped with a note
        out_rows = f.members_out if f.members_out else f.households_out
        assert f.rows_in == f.rows_skipped + out_rows, f
    for expected in entry.get("values", []):
        hid = privacy.pseudonymize(pd.Series([expected["household"]]), KEY, "H").iloc[0]
        row = result.households[(result.households["household_id"] == hid)
                                & (result.households["year"] == expected["year"])]
        value = row[expected["column"]].iloc[0]
        if isinstance(value, pd.Timestamp):
            value = value.date().isoformat()
        assert value == expected["value"], (expected, value)
    if entry.get("same_as_clean"):   # a repair of form only gives the very tables of the clean export
        pd.testing.assert_frame_equal(result.households, clean.households)
        pd.testing.assert_frame_equal(result.members, clean.members)


def test_one_bad_file_among_good_ones_writes_nothing(tmp_path):
    folder = tmp_path / "exports"
    shutil.copytree(CORPUS / "mixed_encodings", folder)
    shutil.copy(CORPUS / "random_binary.csv", folder / "zz_random_binary.csv")
    out = tmp_path / "out"
    ingest.ingest([CORPUS / "clean.csv"], out_dir=out, key=KEY)        # an earlier, good ingest
    before = _hashes(out)
    with pytest.raises(DataError) as info:
        ingest.ingest([folder], out_dir=out, key=KEY)
    assert [p.file for p in info.value.problems] == [str(folder / "zz_random_binary.csv")]
    assert _hashes(out) == before                                        # the earlier tables are untouched
    assert not any(p.name.startswith(".staging") for p in out.iterdir())


def test_report_path_inside_the_output_folder_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="outside"):
        ingest.ingest([CORPUS / "clean.csv"], out_dir=tmp_path / "out", report_path=tmp_path / "out" / "r.md")
    assert not (tmp_path / "out").exists()


def test_report_counts_rows_in_and_out(tmp_path):
    counts = []
    for name in ("totals_row.csv", "blank_rows.csv"):
        result = ingest.ingest([CORPUS / name], write=False, key=KEY, report_path=tmp_path / f"{name}.md")
        counts += [(f.rows_in, f.rows_skipped, f.households_out, f.members_out) for f in result.files]
    # totals_row.csv: 42 person-rows + 1 totals row; blank_rows.csv: 42 + 3 blank rows; 6 households x 2 years.
    assert counts == [(43, 1, 12, 42), (45, 3, 12, 42)]
    text = (tmp_path / "totals_row.csv.md").read_text(encoding="utf-8")
    assert "| totals_row.csv | utf-8 | person-row export (households + members) | 43 | 1 | 12 | 42 | 0 |" in text


def test_the_same_household_in_two_files_is_refused(tmp_path):
    with pytest.raises(DataError) as info:
        ingest.ingest([CORPUS / "clean.csv", CORPUS / "blank_rows.csv"], write=False, key=KEY)
    problems = info.value.problems
    assert len(problems) == 12 and all("in more than one file" in p.message for p in problems)
    assert problems[0].row == 2 and problems[0].column == "户编号"


def test_personal_values_in_messages_are_masked(tmp_path):
    """A name or an ID number pasted into a checked column is refused without being printed."""
    frame = pd.read_csv(CORPUS / "clean.csv", dtype=str, keep_default_na=False)
    name, id_number = frame.loc[0, "姓名"], frame.loc[1, "证件号码"]
    frame.loc[frame["户编号"] == frame.loc[0, "户编号"], "户类型"] = name
    frame.loc[frame.index[30:32], "务工收入"] = id_number
    path = tmp_path / "shifted.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        ingest.ingest([path], out_dir=tmp_path / "out", key=KEY)
    text = info.value.report()
    assert {(p.row, p.column) for p in info.value.problems} >= {(2, "户类型"), (32, "务工收入")}
    assert name not in text and id_number not in text
    assert f"'{name[0]}{'*' * (len(name) - 1)}'" in text


@pytest.mark.parametrize("text, value, repaired", [
    ("12,345元", 12345.0, True), ("1.2万", 12000.0, True), ("1.2万元", 12000.0, True), ("３,０００", 3000.0, True),
    ("¥1,234.5", 1234.5, True), ("12 345", 12345.0, True), ("-", 0.0, True), ("12345", 12345.0, False),
    ("0.5", 0.5, False), ("１２３４５", 12345.0, True), ("１２，３４５．５", 12345.5, True), ("２", 2.0, True)])
def test_number_repairs(text, value, repaired):
    parsed = parsing.number(pd.Series([text, ""]))
    assert parsed.values.iloc[0] == value and not parsed.bad.iloc[0] and parsed.repaired.iloc[0] == repaired
    assert pd.isna(parsed.values.iloc[1]) and not parsed.bad.iloc[1]


@pytest.mark.parametrize("text, words", [("12%", "percentage"), ("1,2万", "comma"), ("12,34", "comma"),
                                         ("1.2E+04", "scientific"), ("(120)", "brackets"), ("十二", "")])
def test_numbers_refused(text, words):
    parsed = parsing.number(pd.Series([text]))
    assert parsed.bad.iloc[0] and pd.isna(parsed.values.iloc[0]) and words in parsed.reason.iloc[0]


@pytest.mark.parametrize("text, day", [("2021-03-05", "2021-03-05"), ("2021/3/5", "2021-03-05"),
                                       ("2021年3月5日", "2021-03-05"), ("20210305", "2021-03-05"),
                                       ("44260", "2021-03-05"),   # 44260 days after 1899-12-30
                                       ("2021-03-05 00:00:00", "2021-03-05"), ("2021.3.5", "2021-03-05")])
def test_dates_read(text, day):
    parsed = parsing.date(pd.Series([text]))
    assert parsed.values.iloc[0] == pd.Timestamp(day) and not parsed.bad.iloc[0]


@pytest.mark.parametrize("text", ["3/5/2021", "21-3-5", "2021-02-30", "2021年3月", "soon"])
def test_dates_refused(text):
    assert parsing.date(pd.Series([text])).bad.iloc[0]


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", "ingest", *args, "--quiet"], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})})


def test_cli_refusals_exit_2_with_located_messages(tmp_path):
    names = ["percent_in_income.csv", "png_renamed.csv", "truncated.xlsx", "ragged_row.csv", "empty.csv"]
    out = tmp_path / "out"
    proc = _cli(*(str(CORPUS / n) for n in names), "--out", str(out))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    for n in names:
        entry = MANIFEST[n]
        where = ", ".join([str(CORPUS / n)] + ([f"row {entry['row']}"] if "row" in entry else [])
                          + ([f"column {entry['column']}"] if "column" in entry else []))
        assert where in proc.stderr and entry["message"] in proc.stderr, (n, proc.stderr)
    assert not out.exists()


@pytest.mark.parametrize("name", ["units_and_separators.csv", "mixed_encodings/"])
def test_cli_usable_exit_0_with_report(name, tmp_path):
    out = tmp_path / "out"
    proc = _cli(str(CORPUS / name), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert MANIFEST[name]["message"] in (out / "ingest_report.md").read_text(encoding="utf-8")
    assert privacy.scan([out]) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_cli_every_case(name, tmp_path):
    entry, out = MANIFEST[name], tmp_path / "out"
    env = {"ANALYSIS_CONFIG_DIR": str(_config(entry, tmp_path))} if "counties" in entry else None
    proc = _cli(str(CORPUS / name), "--out", str(out), env=env)
    assert "Traceback" not in proc.stderr + proc.stdout
    if entry["outcome"] == "refused":
        assert proc.returncode == 2 and entry["message"] in proc.stderr
        assert not out.exists()
    else:
        assert proc.returncode == 0, proc.stderr
        assert entry["message"] in (out / "ingest_report.md").read_text(encoding="utf-8")


def _mutations(count: int, seed: int):
    """Damaged copies of corpus files: bytes cut, inserted, reversed; lines swapped; files truncated."""
    rng = np.random.default_rng(seed)
    sources = [(CORPUS / n).read_bytes() for n in ("clean.csv", "export_utf8.csv", "merged_header.xlsx",
                                                    "utf16_unicode_text.txt")]
    for k in range(count):
        data = bytearray(sources[rng.integers(len(sources))])
        i = int(rng.integers(len(data)))
        j = min(len(data), i + int(rng.integers(1, 200)))
        op = int(rng.integers(5))
        if op == 0:
            del data[i:j]
        elif op == 1:
            data[i:i] = rng.integers(0, 256, int(rng.integers(1, 20)), dtype=np.uint8).tobytes()
        elif op == 2:
            data = data[:i]
        elif op == 3:
            data[i:i] = bytes(rng.choice(list(b',"\r\n\t;'), int(rng.integers(1, 5))))
        else:
            data[i:j] = data[i:j][::-1]
        yield k, bytes(data)


def _survives(count: int, seed: int, tmp_path: Path) -> None:
    for k, data in _mutations(count, seed):
        path = tmp_path / (f"m{k}.xlsx" if data[:2] == b"PK" else f"m{k}.csv")
        path.write_bytes(data)
        out = tmp_path / f"out{k}"
        try:
            ingest.ingest([path], out_dir=out, key=KEY)
        except DataError as exc:      # anything else escaping would be a traceback for the user
            assert not any("defect" in p.message for p in exc.problems), exc.report()
            assert not out.exists()
        else:
            assert privacy.scan([out]) == []


def test_damaged_files_give_messages_not_tracebacks(tmp_path):
    _survives(12, seed=5, tmp_path=tmp_path)


@pytest.mark.slow
def test_many_damaged_files_give_messages_not_tracebacks(tmp_path):
    _survives(300, seed=6, tmp_path=tmp_path)


# ---- read in chunks (large inputs) -----------------------------------------------------------------
# Chunks of 7 rows cut every file of the corpus several times, through households, headers and totals rows.

@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_chunked_ingest_gives_the_same_outcome(name, tmp_path, clean):
    entry, path = MANIFEST[name], CORPUS / name
    before = _hashes(path)
    out = tmp_path / "out"
    config = _config(entry, tmp_path)
    if entry["outcome"] == "refused":
        with pytest.raises(DataError) as info:
            ingest.ingest([path], out_dir=out, key=KEY, config_dir=config, chunk_rows=7)
        # located like the whole-file read (two cases differ in wording only: a duplicate seen across chunks,
        # a column of names shorter than a chunk caught by its cells instead)
        assert any(p.file.startswith(str(path)) and p.row for p in info.value.problems) or "row" not in entry
        assert not out.exists()
    else:
        result = ingest.ingest([path], out_dir=out, key=KEY, config_dir=config, chunk_rows=7)
        assert entry["message"] in (out / "ingest_report.md").read_text(encoding="utf-8")
        whole = ingest.ingest([path], write=False, key=KEY, config_dir=config)
        assert (result.n_households, result.n_members) == (len(whole.households), len(whole.members))
        for table, frame in (("households", whole.households), ("members", whole.members)):
            keys = ["county", "household_id", "year"] + (["person_id"] if table == "members" else [])
            got = data.load(table, out).sort_values(keys, ignore_index=True)
            pd.testing.assert_frame_equal(got, frame.sort_values(keys, ignore_index=True), check_categorical=False)
        assert privacy.scan([out], privacy.raw_identities([path])) == []
    assert _hashes(path) == before


def test_chunked_ingest_refuses_a_household_split_across_a_file(tmp_path):
    rows = (CORPUS / "clean.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    moved = rows[:3] + rows[4:] + [rows[3]]       # one member row of the first household moved to the end
    path = tmp_path / "moved.csv"
    path.write_text("".join(moved), encoding="utf-8")
    with pytest.raises(DataError) as info:
        ingest.ingest([path], out_dir=tmp_path / "out", key=KEY, chunk_rows=7)
    assert any(p.file == str(path) and p.row == len(rows) for p in info.value.problems), info.value.report()


def test_chunked_ingest_refuses_a_gbk_line_in_a_utf8_file(tmp_path):
    rows = (CORPUS / "clean.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    data_bytes = "".join(rows[:30]).encode("utf-8") + "".join(rows[30:]).encode("gb18030")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data_bytes)
    with pytest.raises(DataError) as info:
        ingest.ingest([path], out_dir=tmp_path / "out", key=KEY, chunk_rows=7)
    assert [(p.row, "mixes encodings" in p.message) for p in info.value.problems][:1] == [(31, True)]
    assert not (tmp_path / "out").exists()


def test_cli_chunk_rows_reads_in_chunks_with_a_progress_bar(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "analysis", "ingest", str(CORPUS / "clean.csv"), "--out",
                           str(tmp_path / "out"), "--chunk-rows", "10"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "ingest:" in proc.stderr and "B/s" in proc.stderr       # a bar counting bytes read
    assert "Accepted: 12 household-years" in proc.stdout
