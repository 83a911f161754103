"""Time rendering N regions x the notebooks in a folder: the naive serial loop versus ``pipeline.run``.

The naive loop is what a user would script by hand: for every region and notebook,
``papermill.execute_notebook`` (a fresh kernel each time) and then ``jupyter nbconvert --to html --no-input``
in a subprocess. ``pipeline.run`` renders the same region x notebook pairs with its defaults (a process
pool of ``os.cpu_count()`` workers, a warm kernel per worker, HTML converted in-process), ``force=True``
so that nothing is skipped. Both run on the same inputs in the same invocation; the script prints both
times, their ratio, and the number and sizes of the HTML pages each produced.

With ``--data-dir`` the regions are the first N counties found in that processed data folder (build its
result tables first: ``python -m analysis build --data-dir DIR``); otherwise synthetic names, for the demo
notebooks in ``benchmarks/notebooks`` that need no data. ``--skip-naive`` times the pipeline alone.

Usage::

    python benchmarks/bench_render.py --regions 8
    python benchmarks/bench_render.py --regions 50 --notebooks notebooks --data-dir /tmp/prefecture50
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import papermill as pm

from analysis.io import data
from analysis.publish import pipeline

HERE = Path(__file__).resolve().parent


def region_names(n: int) -> list[str]:
    """Synthetic county names (Chinese, as real ones are, so that paths and fonts are exercised)."""
    return [f"示例{i:03d}县" for i in range(1, n + 1)]


def naive(regions, notebooks: dict[str, Path], out: Path, data_dir: Path) -> float:
    """The hand-written serial loop; returns seconds."""
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    start = time.perf_counter()
    for region in regions:
        folder = out / region
        folder.mkdir(parents=True, exist_ok=True)
        for stem, path in notebooks.items():
            declared = pm.inspect_notebook(str(path))
            values = {"region": region, "lang": "zh", "data_dir": str(data_dir), "output_dir": str(folder)}
            executed = folder / f"{stem}.ipynb"
            pm.execute_notebook(str(path), str(executed), parameters={k: v for k, v in values.items()
                                                                         if k in declared},
                                progress_bar=False, cwd=str(path.parent))
            subprocess.run([jupyter, "nbconvert", "--to", "html", "--no-input", str(executed)], check=True,
                           capture_output=True)
    return time.perf_counter() - start


def sizes(folder: Path) -> tuple[int, int]:
    pages = [p for p in folder.rglob("*.html") if p.name != "index.html"]
    return len(pages), sum(p.stat().st_size for p in pages)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=8, help="number of synthetic region names (default 8)")
    parser.add_argument("--notebooks", type=Path, default=HERE / "notebooks", help="folder of NN-name.ipynb")
    parser.add_argument("--data-dir", type=Path, default=None, help="processed data folder passed to notebooks")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where both outputs go (default benchmarks/out)")
    parser.add_argument("--jobs", type=int, default=None, help="pipeline workers (default os.cpu_count())")
    parser.add_argument("--skip-naive", action="store_true", help="time the pipeline only")
    args = parser.parse_args(argv)

    regions = data.list_regions(args.data_dir)[:args.regions] if args.data_dir else region_names(args.regions)
    notebooks = pipeline.find_notebooks(args.notebooks)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-data-"))
    shutil.rmtree(args.out, ignore_errors=True)
    print(f"{len(regions)} regions x {len(notebooks)} notebooks ({', '.join(notebooks)}) = "
          f"{len(regions) * len(notebooks)} runs; {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)

    t_naive = None if args.skip_naive else naive(regions, notebooks, args.out / "naive", data_dir)
    if t_naive is not None:
        print(f"naive serial loop : {t_naive:8.1f} s", flush=True)

    start = time.perf_counter()
    summary = pipeline.run(regions, "all", valid_regions=regions, notebooks_dir=args.notebooks,
                           data_dir=data_dir, output_dir=args.out / "pipeline", jobs=args.jobs, force=True,
                           progress=False)
    t_pipe = time.perf_counter() - start
    print(f"pipeline.run      : {t_pipe:8.1f} s  ({summary.describe().splitlines()[0]})")
    if t_naive is not None:
        print(f"speed-up          : {t_naive / t_pipe:8.2f} x")
    for name in ("naive", "pipeline")[1 if t_naive is None else 0:]:
        n, total = sizes(args.out / name)
        print(f"{name:9s} pages: {n:4d}, total {total / 1e6:7.2f} MB, mean {total / max(n, 1) / 1e3:7.1f} kB")
    if summary.exit_code:
        sys.exit(summary.exit_code)


if __name__ == "__main__":
    main()
