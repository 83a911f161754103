"""Benchmark: post-assessment score and rank intervals (household bootstrap) on the sample and on 832 counties.

Run on demand, not a test::

    python benchmarks/bench_scorecard.py [--replicates 1000] [--copies 119]

1. The 7-county synthetic sample (seed 0, 400 households per county, 2020-2024), generated and ingested
   once into ``benchmarks/out/scorecard_sample``: times the indicator table and the bootstrap of the
   build step (:func:`analysis.studies.post_assessment.intervals`, latest year).
2. 832 counties: the sample's records copied ``copies`` times (default 119 prefectures x 7 counties = 833,
   every copy with its own prefecture, county, village and household ids), the last two years only (what
   the build step resamples), timed the same way.

Prints wall time, replicates and data sizes (households, household-years, person-years).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parent / "out"


def _sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    from analysis.io import data, ingest, synth
    folder = OUT / "scorecard_sample"
    if not (folder / "households").exists():
        synth.write(OUT / "scorecard_raw", seed=0)
        ingest.ingest([OUT / "scorecard_raw"], out_dir=folder)
    return data.load("households", folder), data.load("members", folder)


def _copies(households: pd.DataFrame, members: pd.DataFrame, copies: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records repeated ``copies`` times, each copy a prefecture of its own with its own ids."""
    last = int(households["year"].max())
    h0 = households[households["year"] >= last - 1]
    m0 = members[members["year"] >= last - 1]
    hs, ms = [], []
    for k in range(copies):
        tag = f"-{k}"
        h = h0.copy()
        m = m0.copy()
        for frame in (h, m):
            frame["prefecture"] = frame["prefecture"] + tag
            for col in ("county", "township", "village", "household_id"):
                frame[col] = frame[col] + tag
        m["person_id"] = m["person_id"] + tag
        hs.append(h)
        ms.append(m)
    return pd.concat(hs, ignore_index=True), pd.concat(ms, ignore_index=True)


def _time(label: str, households: pd.DataFrame, members: pd.DataFrame, replicates: int) -> None:
    from analysis.studies import assessment, post_assessment
    system = assessment.load_system()
    t = time.perf_counter()
    table = assessment.compute_indicators(households, members, system)
    t_table = time.perf_counter() - t
    t = time.perf_counter()
    bands = post_assessment.intervals(households, members, system, table, replicates)
    t_boot = time.perf_counter() - t
    print(f"{label}: {households['county'].nunique()} counties, {households['household_id'].nunique():,} households, "
          f"{len(households):,} household-years, {len(members):,} person-years")
    print(f"  indicator table {t_table:.1f} s; bootstrap intervals, {replicates} replicates: {t_boot:.1f} s "
          f"({int(bands['n_boot'].max())} replicates scored, {len(bands)} counties)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--copies", type=int, default=119)
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    households, members = _sample()
    _time("sample", households, members, args.replicates)
    big_h, big_m = _copies(households, members, args.copies)
    _time(f"{args.copies} copies", big_h, big_m, args.replicates)


if __name__ == "__main__":
    main()
