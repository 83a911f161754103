"""Benchmark: income_growth on a province-sized Parquet panel versus a hand-written DuckDB query.

Generates (once, cached in benchmarks/out/) a canonical households panel with the synthetic generator,
written as Parquet partitioned by county, then times in fresh subprocesses, in the same run:

* the project's ``indicators.income_growth(path, by=("county",))`` (DuckDB under the hood), and
* a hand-written DuckDB query computing the same aggregates (sums, shares, threshold share, weighted median),

and prints wall time, peak memory (max RSS of each subprocess), their ratio and the data size; it also
checks that both give the same numbers. Usage::

    python benchmarks/bench_income.py [--counties 100] [--households-per-county 24000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

PROJECT = """
import resource, sys, time, json
from analysis.measures import indicators
t = time.perf_counter()
table = indicators.income_growth(sys.argv[1], by=("county",))
elapsed = time.perf_counter() - t
table.to_parquet(sys.argv[2])
print(json.dumps({"seconds": elapsed, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": len(table)}))
"""

REFERENCE = """
import resource, sys, time, json, duckdb
t = time.perf_counter()
con = duckdb.connect()
con.execute("SET memory_limit = '1GB'")
con.execute("SET enable_progress_bar = false")
src = f"read_parquet('{sys.argv[1]}/**/*.parquet', hive_partitioning = true)"
thr = "CASE year WHEN 2020 THEN 6000 WHEN 2021 THEN 6000 WHEN 2022 THEN 6500 WHEN 2023 THEN 7000 ELSE 7500 END"
table = con.execute(f'''
WITH h AS (SELECT county, year, size::DOUBLE AS p, net_income, net_income_pc, income_wage,
                  income_business - expense_production AS business, income_property, income_transfer,
                  {thr} AS thr FROM {src}),
med AS (SELECT county, year, min(net_income_pc) AS median_income_pc FROM (
          SELECT county, year, net_income_pc,
                 sum(p) OVER (PARTITION BY county, year ORDER BY net_income_pc ROWS UNBOUNDED PRECEDING) AS cum,
                 sum(p) OVER (PARTITION BY county, year) / 2 AS half FROM h) WHERE cum >= half GROUP BY ALL),
agg AS (SELECT county, year, count(*) AS households, sum(p) AS persons, sum(net_income) / sum(p) AS income_pc,
       sum(income_wage) / sum(net_income) AS share_wage, sum(business) / sum(net_income) AS share_business,
       sum(income_property) / sum(net_income) AS share_property,
       sum(income_transfer) / sum(net_income) AS share_transfer,
       sum(CASE WHEN net_income_pc < thr THEN p ELSE 0 END) / sum(p) AS share_below_threshold
       FROM h GROUP BY ALL)
SELECT * FROM agg JOIN med USING (county, year) ORDER BY county, year''').df()
elapsed = time.perf_counter() - t
table.to_parquet(sys.argv[2])
print(json.dumps({"seconds": elapsed, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": len(table)}))
"""


def make_data(counties: int, per_county: int) -> Path:
    path = OUT / f"households_{counties}x{per_county}"
    if path.exists():
        return path
    import pyarrow as pa
    import pyarrow.dataset as ds

    from analysis.io import synth
    t = time.perf_counter()
    panel = synth.households_panel(seed=0, counties=counties, households_per_county=per_county)
    ds.write_dataset(pa.Table.from_pandas(panel, preserve_index=False), path, format="parquet",
                     partitioning=["county"], partitioning_flavor="hive", basename_template="part-{i}.parquet")
    print(f"generated {len(panel):,} household-years in {time.perf_counter() - t:.0f} s")
    return path


def measure(code: str, data: Path, out: Path) -> dict:
    """Run ``code`` in a fresh interpreter; its own timing, and its peak memory from the kernel (wait4)."""
    proc = subprocess.Popen([sys.executable, "-c", code, str(data), str(out)], stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"benchmark subprocess failed with status {proc.returncode}")
    result = json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])
    result["max_rss_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--households-per-county", type=int, default=24_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only-make-data", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.only_make_data:
        make_data(args.counties, args.households_per_county)
        return
    # The data are generated in a subprocess: a child's peak memory as the kernel reports it starts from its
    # parent's size at the fork, so this process must stay small.
    subprocess.run([sys.executable, __file__, "--only-make-data", "--counties", str(args.counties),
                    "--households-per-county", str(args.households_per_county)], check=True)
    data = OUT / f"households_{args.counties}x{args.households_per_county}"
    rows = args.counties * args.households_per_county * 5
    size_mb = sum(f.stat().st_size for f in data.rglob("*.parquet")) / 2**20
    best = {}
    for name, code in (("project", PROJECT), ("duckdb reference", REFERENCE)):
        runs = [measure(code, data, OUT / f"{name.split()[0]}.parquet") for _ in range(args.repeat)]
        best[name] = min(runs, key=lambda r: r["seconds"]) | {"max_rss_mb": max(r["max_rss_mb"] for r in runs)}
    import pandas as pd
    a = pd.read_parquet(OUT / "project.parquet").set_index(["county", "year"]).sort_index()
    b = pd.read_parquet(OUT / "duckdb.parquet").set_index(["county", "year"]).sort_index()
    cols = ["income_pc", "share_wage", "share_below_threshold", "median_income_pc"]
    same = ((a[cols] - b[cols]).abs() <= 1e-9 * b[cols].abs().clip(lower=1)).all().all()
    print(f"data: {rows:,} household-years, {args.counties} counties, {size_mb:.0f} MB of Parquet")
    for name, r in best.items():
        print(f"{name:>17}: {r['seconds']:.2f} s (best of {args.repeat}), peak memory {r['max_rss_mb']:.0f} MB")
    ratio = best["project"]["seconds"] / best["duckdb reference"]["seconds"]
    print(f"time ratio project / reference: {ratio:.2f} (goal <= 1.25); identical values: {same}")


if __name__ == "__main__":
    main()
