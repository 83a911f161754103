"""Benchmark: ``analysis ingest`` of UTF-8 person-row CSV exports against DuckDB loading the same files.

Generates SYNTHETIC exports (one UTF-8 CSV per county, person rows, as ``analysis synth`` writes them) at two
sizes, N and 4N counties of the same size, and times in fresh subprocesses:

* the reference: DuckDB reading every CSV with all columns as text and writing them to one Parquet file,
  with no checks (``read_csv(..., all_varchar = true)`` then ``COPY ... (FORMAT parquet)``);
* ``python -m analysis ingest`` of the same folder (reading, checking, pseudonymising, writing), reading
  whole files, and with ``--chunks`` also in chunks of ``--chunk-rows`` rows.

Both times include starting Python and importing what each needs. Printed per size: person rows, megabytes
of CSV, wall seconds of each and their ratio (ingest / DuckDB), CPU seconds of each (user + system, all
threads; steadier than wall time when other jobs share the machine) and their ratio, person rows a second
of each (wall), and the ingest's peak memory (max RSS of the subprocess, from ``wait4``). Usage::

    python benchmarks/bench_ingest.py [--counties 4] [--households-per-county 2900] [--repeat 1] [--chunks]
                                      [--formats gbk,xlsx]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
DUCKDB_LOAD = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}/*.csv', all_varchar = true, header = true)) "
            f"TO '{sys.argv[2]}' (FORMAT parquet)")
con.close()
"""
GENERATE = """
import sys
from analysis.io import synth
n, fmt = int(sys.argv[2]), sys.argv[4]
synth.write(sys.argv[1], seed=1, counties=n, households_per_county=int(sys.argv[3]),
            xlsx_counties=n if fmt == "xlsx" else 0, gbk_counties=n if fmt == "gbk" else 0)
"""


def make_raw(counties: int, per_county: int, fmt: str = "utf8") -> Path:
    """Exports (UTF-8 CSV, GBK CSV or XLSX; the same rows in each), generated in a subprocess: this process
    must stay small, since a child's peak memory as the kernel reports it starts from its parent's size at the
    fork."""
    path = OUT / f"raw_{fmt}_{counties}x{per_county}"
    if not path.exists():
        subprocess.run([sys.executable, "-c", GENERATE, str(path), str(counties), str(per_county), fmt], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, all threads) and peak resident memory (MB) of one command in a
    fresh process; exits on failure."""
    env = {**os.environ, "ANALYSIS_PSEUDONYM_KEY": os.environ.get("ANALYSIS_PSEUDONYM_KEY", "benchmark-key")}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def duckdb_load(raw: Path) -> tuple[float, float, float]:
    target = OUT / "duckdb.parquet"
    target.unlink(missing_ok=True)
    return timed([sys.executable, "-c", DUCKDB_LOAD, str(raw), str(target)])


def ingest(raw: Path, chunk_rows: int | None) -> tuple[float, float, float]:
    out = OUT / "ingested"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "analysis", "ingest", str(raw), "--out", str(out), "--quiet"]
    return timed(cmd + (["--chunk-rows", str(chunk_rows)] if chunk_rows else []))


def best(run, repeat: int) -> tuple[float, float, float]:
    """The fastest of ``repeat`` runs (others may share the machine), with its CPU time and peak memory."""
    return min((run() for _ in range(repeat)), key=lambda r: r[0])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--households-per-county", type=int, default=2900)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command; the fastest is shown")
    parser.add_argument("--chunks", action="store_true", help="also ingest in chunks of --chunk-rows rows")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--formats", default="", help="also ingest the same rows as these formats, comma-separated "
                                                      "(gbk, xlsx); their ratio is to the DuckDB load of the UTF-8 CSV")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    print(f"{'counties':>8} {'person rows':>11} {'CSV MB':>6} {'mode':>14} {'wall s':>6} {'DuckDB':>6} {'ratio':>5} "
          f"{'CPU s':>6} {'DuckDB':>6} {'ratio':>5} {'rows/s':>7} {'DuckDB':>7} {'peak MB':>7}")
    for counties in (args.counties, 4 * args.counties):
        raw = make_raw(counties, args.households_per_county)
        size = sum(f.stat().st_size for f in raw.glob("*.csv")) / 1e6
        rows = sum(sum(1 for _ in open(f, "rb")) - 1 for f in raw.glob("*.csv"))
        wall_ref, cpu_ref, _ = best(lambda: duckdb_load(raw), args.repeat)
        modes = [("whole files", None, raw)] + \
            ([(f"chunks {args.chunk_rows:,}", args.chunk_rows, raw)] if args.chunks else []) + \
            [(f"whole {fmt}", None, make_raw(counties, args.households_per_county, fmt))
             for fmt in filter(None, args.formats.split(","))]
        for label, chunk, folder in modes:
            wall, cpu, peak = best(lambda: ingest(folder, chunk), args.repeat)
            print(f"{counties:>8} {rows:>11,} {size:>6.0f} {label:>14} {wall:>6.1f} {wall_ref:>6.1f} "
                  f"{wall / wall_ref:>5.1f} {cpu:>6.1f} {cpu_ref:>6.1f} {cpu / cpu_ref:>5.1f} {rows / wall:>7,.0f} {rows / wall_ref:>7,.0f} "
                  f"{peak:>7.0f}", flush=True)
    shutil.rmtree(OUT / "ingested", ignore_errors=True)
    (OUT / "duckdb.parquet").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
