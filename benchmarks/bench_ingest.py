"""Benchmark: ``analysis ingest`` of UTF-8 person-row CSV exports against DuckDB loading the same files.

Generates SYNTHETIC exports (one UTF-8 CSV per county, person rows, as ``analysis synth`` writes them) at two
sizes, N and 4N counties of the same size, and times in fresh subprocesses:

* the reference: DuckDB reading every CSV with all columns as text and writing them to one Parquet file,
  with no checks (``read_csv(..., all_varchar = true)`` then ``COPY ... (FORMAT parquet)``);
* ``python -m analysis ingest`` of the same folder (reading, checking, pseudonymising, writing), reading
  whole files with its own choice of worker processes (or ``--jobs``) and in one process ("1 job"), and with
  ``--chunks`` also in chunks of ``--chunk-rows`` rows.

Both times include starting Python and importing what each needs. Printed per size: person rows, megabytes
of CSV, wall seconds of each and their ratio (ingest / DuckDB), CPU seconds of each (user + system, all
threads and worker processes; steadier than wall time when other jobs share the machine) and their ratio,
person rows a second of each (wall), the ingest's peak memory (all its processes together; see
:func:`timed`), and the wall time's ratio to the ingest of the UTF-8 files (for ``--formats``). Usage::

    python benchmarks/bench_ingest.py [--counties 4] [--households-per-county 2900] [--repeat 1] [--chunks]
                                      [--formats gbk,xlsx,xlsx-inline] [--jobs N]
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
            xlsx_counties=n if fmt.startswith("xlsx") else 0, gbk_counties=n if fmt == "gbk" else 0,
            oracle_replicates=0, xlsx_writer="openpyxl" if fmt == "xlsx-inline" else "xlsxwriter")
"""


def make_raw(counties: int, per_county: int, fmt: str = "utf8") -> Path:
    """Exports (UTF-8 CSV, GBK CSV, XLSX as Excel and WPS save it, or XLSX with inline text as openpyxl writes
    it; the same rows in each), generated in a subprocess: this process
    must stay small, since a child's peak memory as the kernel reports it starts from its parent's size at the
    fork."""
    # XLSX was written with inline text before "xlsx-inline" existed: a new folder name, so none is reused
    path = OUT / f"raw_{'xlsx-excel' if fmt == 'xlsx' else fmt}_{counties}x{per_county}"
    if not path.exists():
        subprocess.run([sys.executable, "-c", GENERATE, str(path), str(counties), str(per_county), fmt], check=True,
                       stdout=subprocess.DEVNULL)
    return path


PROVINCE = """
import sys, duckdb
from pathlib import Path
base, out, copies = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
marks = "甲乙丙丁戊己庚辛壬癸"
county, household, person = (f'"{name}"' for name in ("县(市、区、旗)", "户编号", "人编号"))
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET enable_progress_bar = false")
files = sorted(base.glob("*.csv"))
con.execute(f"CREATE TABLE base AS SELECT * FROM read_csv({[str(f) for f in files]}, all_varchar = true, "
            "header = true, filename = true)")
for k in range(copies):
    mark = marks[k // 10 % 10] + marks[k % 10] + (marks[k // 100] if k >= 100 else "")
    for f in files:
        con.execute(f"COPY (SELECT * EXCLUDE (filename) REPLACE ('{mark}' || {county} AS {county}, "
                    f"{household} || '{k:03d}' AS {household}, {person} || '{k:03d}' AS {person}) "
                    f"FROM base WHERE filename = '{f}') TO '{out / (mark + '_' + f.name)}' (FORMAT csv, HEADER)")
con.close()
"""


def make_province(copies: int, counties: int, per_county: int) -> Path:
    """A province's exports: the exports of ``counties`` generated counties copied ``copies`` times by DuckDB,
    each copy's counties renamed (two or three characters put before the name) and its 户编号 and 人编号
    given three more digits, so that every copy is a set of new counties with new households and people.
    One UTF-8 CSV per county, as county offices send them."""
    base = make_raw(counties, per_county)
    path = OUT / f"province_{copies}x{counties}x{per_county}"
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        subprocess.run([sys.executable, "-c", PROVINCE, str(base), str(partial), str(copies)], check=True)
        partial.rename(path)
    return path


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, all threads and processes) and peak resident memory (MB, all
    processes together) of one command in a fresh process; exits on failure.

    Worker processes started from a fork server are not the command's children, so the kernel's account of
    the command leaves them out: the command's process tree is sampled every 0.2 s (its summed resident
    memory, each process's CPU time as last seen), and the command's own account is taken when it is larger.
    """
    import psutil
    env = {**os.environ, "ANALYSIS_PSEUDONYM_KEY": os.environ.get("ANALYSIS_PSEUDONYM_KEY", "benchmark-key")}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    cpu_seen: dict[int, float] = {}
    peak_seen = 0.0
    root = psutil.Process(proc.pid)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)     # reaps the command once it has ended
        if pid:
            break
        rss = 0
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for process in tree:
            try:
                times, memory = process.cpu_times(), process.memory_info()
            except psutil.Error:
                continue
            cpu_seen[process.pid] = times.user + times.system
            rss += memory.rss
        peak_seen = max(peak_seen, rss / 1e6)
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed: {proc.stderr.read().decode()[-2000:]}")
    own = usage.ru_utime + usage.ru_stime
    others = sum(cpu for pid, cpu in cpu_seen.items() if pid != proc.pid)
    return elapsed, own + others, max(peak_seen, usage.ru_maxrss / 1024)


def duckdb_load(raw: Path) -> tuple[float, float, float]:
    target = OUT / "duckdb.parquet"
    target.unlink(missing_ok=True)
    return timed([sys.executable, "-c", DUCKDB_LOAD, str(raw), str(target)])


def ingest(raw: Path, chunk_rows: int | None, jobs: int | None = None) -> tuple[float, float, float]:
    out = OUT / "ingested"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "analysis", "ingest", str(raw), "--out", str(out), "--quiet"]
    return timed(cmd + (["--chunk-rows", str(chunk_rows)] if chunk_rows else [])
                 + (["--jobs", str(jobs)] if jobs else []))


def person_rows(files) -> int:
    """Lines under the header of each CSV file, summed."""
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            total += sum(1 for _ in fh) - 1
    return total


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
    parser.add_argument("--jobs", type=int, default=None, help="the ingest's worker processes (default: its own "
                                                               "choice, the cores for inputs over 24 MB)")
    parser.add_argument("--formats", default="", help="also ingest the same rows as these formats, comma-separated "
                                                      "(gbk; xlsx, text in a shared table as Excel and WPS save "
                                                      "it; xlsx-inline, text in each cell as openpyxl writes it)")
    parser.add_argument("--province", type=int, default=0, metavar="COPIES",
                        help="instead: a province's exports, COPIES copies of the --counties counties under new "
                             "names and identifiers (20 counties of 2,900 households are 1.0 million person rows "
                             "a copy), ingested with --jobs workers against DuckDB's load")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if args.province:
        return province(args)
    print(f"{'counties':>8} {'person rows':>11} {'CSV MB':>6} {'mode':>14} {'wall s':>6} {'DuckDB':>6} {'ratio':>5} "
          f"{'CPU s':>6} {'DuckDB':>6} {'ratio':>5} {'rows/s':>7} {'DuckDB':>7} {'peak MB':>7} {'vs UTF-8':>8}")
    for counties in (args.counties, 4 * args.counties):
        raw = make_raw(counties, args.households_per_county)
        size = sum(f.stat().st_size for f in raw.glob("*.csv")) / 1e6
        rows = person_rows(raw.glob("*.csv"))
        wall_ref, cpu_ref, _ = best(lambda: duckdb_load(raw), args.repeat)
        modes = [("whole files", None, raw, args.jobs), ("whole, 1 job", None, raw, 1)] + \
            ([(f"chunks {args.chunk_rows:,}", args.chunk_rows, raw, args.jobs)] if args.chunks else []) + \
            [(f"whole {fmt}", None, make_raw(counties, args.households_per_county, fmt), args.jobs)
             for fmt in filter(None, args.formats.split(","))]
        utf8 = None                     # the first mode's wall time: the UTF-8 CSV files read whole
        for label, chunk, folder, jobs in modes:
            wall, cpu, peak = best(lambda: ingest(folder, chunk, jobs), args.repeat)
            utf8 = utf8 or wall
            print(f"{counties:>8} {rows:>11,} {size:>6.0f} {label:>14} {wall:>6.1f} {wall_ref:>6.1f} "
                  f"{wall / wall_ref:>5.1f} {cpu:>6.1f} {cpu_ref:>6.1f} {cpu / cpu_ref:>5.1f} {rows / wall:>7,.0f} {rows / wall_ref:>7,.0f} "
                  f"{peak:>7.0f} {wall / utf8:>8.2f}", flush=True)
    shutil.rmtree(OUT / "ingested", ignore_errors=True)
    (OUT / "duckdb.parquet").unlink(missing_ok=True)


def province(args) -> None:
    """Time the ingest of a province's exports (see :func:`make_province`) against DuckDB's load, once each."""
    raw = make_province(args.province, args.counties, args.households_per_county)
    files = sorted(raw.glob("*.csv"))
    size = sum(f.stat().st_size for f in files) / 1e9
    rows = person_rows(files)
    print(f"{len(files)} files, {rows:,} person rows, {size:.2f} GB of UTF-8 CSV", flush=True)
    wall_ref, cpu_ref, peak_ref = duckdb_load(raw)
    print(f"DuckDB load:  {wall_ref:7.1f} s wall, {cpu_ref:7.1f} s CPU, peak {peak_ref:,.0f} MB, "
          f"{rows / wall_ref:,.0f} rows/s", flush=True)
    wall, cpu, peak = ingest(raw, None, args.jobs)
    print(f"ingest:       {wall:7.1f} s wall, {cpu:7.1f} s CPU, peak {peak:,.0f} MB (all processes), "
          f"{rows / wall:,.0f} rows/s; ratio {wall / wall_ref:.1f} (wall), {cpu / cpu_ref:.1f} (CPU)", flush=True)
    shutil.rmtree(OUT / "ingested", ignore_errors=True)
    (OUT / "duckdb.parquet").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
