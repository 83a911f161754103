"""Benchmark: peak memory and time of ``analysis ingest`` on CSV exports, whole files versus chunks.

Generates SYNTHETIC exports (one CSV per county, person rows; the first county is an XLSX workbook as in
the bundled sample) at two sizes, N and 4N counties of the same size, and ingests each in a fresh
subprocess twice: reading whole files (the default below 256 MB) and in chunks (``--chunk-rows``). It
prints rows, megabytes of input, wall time and peak memory (max RSS of the subprocess, from ``wait4``).
Memory bounded by the chunk shows as a peak that does not grow with the number of counties. Usage::

    python benchmarks/bench_ingest.py [--counties 4] [--households-per-county 2000] [--chunk-rows 100000]
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


def make_raw(counties: int, per_county: int) -> Path:
    """Generated in a subprocess: this process must stay small, since a child's peak memory as the kernel
    reports it starts from its parent's size at the fork."""
    path = OUT / f"raw_{counties}x{per_county}"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "analysis", "synth", "--out", str(path), "--counties", str(counties),
                        "--households-per-county", str(per_county)], check=True, stdout=subprocess.DEVNULL)
    return path


def measure(raw: Path, chunk_rows: int | None) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one ingest in a fresh process."""
    out = OUT / "ingested"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "analysis", "ingest", str(raw), "--out", str(out), "--quiet"]
    cmd += ["--chunk-rows", str(chunk_rows)] if chunk_rows else []
    env = {**os.environ, "ANALYSIS_PSEUDONYM_KEY": os.environ.get("ANALYSIS_PSEUDONYM_KEY", "benchmark-key")}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ingest failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--households-per-county", type=int, default=2000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    print(f"{'counties':>8} {'person rows':>12} {'input MB':>9} {'mode':>14} {'seconds':>8} {'peak MB':>8}")
    for counties in (args.counties, 4 * args.counties):
        raw = make_raw(counties, args.households_per_county)
        size = sum(f.stat().st_size for f in raw.iterdir()) / 1e6
        rows = sum(sum(1 for _ in open(f, "rb")) - 1 for f in raw.glob("*.csv"))
        rows = round(rows * counties / max(counties - 1, 1))       # the XLSX county, counted like the others
        for label, chunk in (("whole files", None), (f"chunks {args.chunk_rows:,}", args.chunk_rows)):
            seconds, peak = measure(raw, chunk)
            print(f"{counties:>8} {rows:>12,} {size:>9.0f} {label:>14} {seconds:>8.1f} {peak:>8.0f}", flush=True)
    shutil.rmtree(OUT / "ingested", ignore_errors=True)


if __name__ == "__main__":
    main()
