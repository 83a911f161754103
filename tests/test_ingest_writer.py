"""The Parquet tables are written without the Arrow dataset writer: same layout, same content, and a
process that always exits normally (the dataset writer's threads aborted it now and then at exit)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from analysis.io import ingest

ROOT = Path(__file__).resolve().parents[1]


def _frame() -> pd.DataFrame:
    county = pd.Series(["北岭县", "a b/c~-._!", None, "北岭县", "东阳县"], dtype="string")
    return pd.DataFrame({"county": county, "x": [1, 2, 3, 4, 5], "name": pd.Series(list("abcde"), dtype="string")})


def _read(path: Path) -> pd.DataFrame:
    return ds.dataset(path, format="parquet", partitioning="hive").to_table().to_pandas()


def test_layout_and_content_are_those_of_the_dataset_writer(tmp_path):
    frame = _frame()
    ingest._write_partitioned(frame, tmp_path / "ours")
    ds.write_dataset(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "arrow", format="parquet",
                     partitioning=["county"], partitioning_flavor="hive", basename_template="part-{i}.parquet")
    def listing(root):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    assert listing(tmp_path / "ours") == listing(tmp_path / "arrow")
    assert len(listing(tmp_path / "ours")) == 8          # 4 county folders (one for no county), a file each
    ours, arrow = _read(tmp_path / "ours"), _read(tmp_path / "arrow")
    pd.testing.assert_frame_equal(ours.sort_values("x", ignore_index=True), arrow.sort_values("x", ignore_index=True))


def test_added_files_and_a_second_write_into_a_full_folder(tmp_path):
    frame = _frame()
    ingest._write_partitioned(frame, tmp_path / "t", basename="a-{i}.parquet")
    ingest._write_partitioned(frame, tmp_path / "t", basename="b-{i}.parquet")
    assert len(_read(tmp_path / "t")) == 2 * len(frame)
    with pytest.raises(FileExistsError):
        ingest._write_partitioned(frame, tmp_path / "t")


@pytest.mark.slow
def test_hundreds_of_ingests_all_exit_normally(tmp_path):
    """About 1 run in 100 used to end with exit status 134 ("terminate called without an active exception")
    after a successful ingest. ``ANALYSIS_EXIT_LOOP_RUNS`` sets the number of runs (default 300); every
    third run reads in chunks, the other path that stages Parquet files."""
    from analysis.io import synth
    raw = tmp_path / "raw"
    synth.write(raw, seed=3, counties=7, households_per_county=8, oracle_replicates=0)
    runs = int(os.environ.get("ANALYSIS_EXIT_LOOP_RUNS", "300"))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "ANALYSIS_PSEUDONYM_KEY": "exit-loop-key"}

    def run(k: int) -> tuple[int, str]:
        out = tmp_path / f"out{k}"                 # a folder per run: runs two at a time never share one
        cmd = [sys.executable, "-m", "analysis", "ingest", str(raw), "--out", str(out), "--quiet"]
        done = subprocess.run(cmd + (["--chunk-rows", "200"] if k % 3 == 2 else []), cwd=ROOT, env=env,
                              capture_output=True, text=True)
        written = (out / "households").is_dir() and (out / "members").is_dir() and (out / "sources.json").is_file()
        shutil.rmtree(out, ignore_errors=True)
        return done.returncode if written or done.returncode else -1, done.stderr[-300:]

    with ThreadPoolExecutor(2) as pool:          # two runs at a time
        results = list(pool.map(run, range(runs)))
    abnormal = [(k, code, err) for k, (code, err) in enumerate(results) if code != 0]
    assert not abnormal, f"{len(abnormal)} abnormal exit(s) in {runs} runs: {abnormal[:5]}"
