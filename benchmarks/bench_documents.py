"""Time one county's Word + PDF report against its five HTML pages, in the same run on the same data.

The HTML side is ``pipeline.run`` for the county and every notebook (``force=True``, one worker, a warm
kernel), as ``python -m analysis run --region X --no-documents`` does; it also keeps the pages' pictures
(:mod:`analysis.publish.figures`). The document side is :func:`analysis.publish.documents.write` into the
county's report folder (Word, from the stored tables through the page functions, figures from the pages'
pictures) then :func:`analysis.publish.documents.to_pdf` (LibreOffice headless, a fresh private profile).
The goal: Word and PDF within 5 s of the HTML pages. The county's Word report with every figure drawn again
(``reuse=False``, as ``python -m analysis documents`` does without pages) and the prefecture's Word report
(no pages rendered for it: drawn) are timed too. Wall seconds, and this process's CPU seconds
(LibreOffice's and the kernels' CPU are in the children's line), are printed with the data size and the
load average.

Usage::

    python benchmarks/bench_documents.py [--data-dir data/processed] [--region 北岭县] [--lang zh] [--skip-html]
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from analysis import build
from analysis.config import DATA_PROCESSED
from analysis.io import data
from analysis.publish import documents, pipeline


def _clock() -> tuple[float, float, float]:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time(), children.ru_utime + children.ru_stime


def _since(start: tuple[float, float, float]) -> tuple[float, float, float]:
    now = _clock()
    return tuple(b - a for a, b in zip(start, now))


def _line(name: str, wall_cpu_children: tuple[float, float, float]) -> str:
    wall, cpu, children = wall_cpu_children
    return f"{name:<28} {wall:7.1f} s wall  {cpu:6.1f} s CPU here  {children:6.1f} s CPU in children"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_PROCESSED)
    parser.add_argument("--region", default=None, help="a county (default: the first of the data)")
    parser.add_argument("--lang", default="zh", choices=["zh", "en"])
    parser.add_argument("--skip-html", action="store_true", help="time the documents only")
    args = parser.parse_args(argv)
    county = args.region or data.list_regions(args.data_dir)[0]
    prefecture = build.load("income_growth", args.data_dir, region=county)["prefecture"].iloc[0]
    households = build.load("income_growth", args.data_dir, region=county)
    print(f"data: {args.data_dir}; {county}: {int(households['households'].max())} households, "
          f"{households['year'].nunique()} years; prefecture {prefecture}: "
          f"{len(data.list_regions(args.data_dir))} counties")
    out = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    html = None
    if not args.skip_html:
        start = _clock()
        pipeline.run(county, "all", lang=args.lang, jobs=1, data_dir=args.data_dir, output_dir=out / "site",
                     force=True, progress=False)
        html = _since(start)
        print(_line(f"HTML pages ({county})", html))
    start = _clock()
    docx = documents.write(county, args.lang, args.data_dir, out / "site" / county)
    word = _since(start)
    print(_line(f"Word ({county})", word))
    start = _clock()
    documents.write(county, args.lang, args.data_dir, out / "drawn" / county, reuse=False)
    print(_line(f"Word ({county}, all drawn)", _since(start)))
    start = _clock()
    documents.to_pdf([docx])
    pdf = _since(start)
    print(_line(f"PDF ({county})", pdf))
    start = _clock()
    documents.write(prefecture, args.lang, args.data_dir, out / prefecture)
    print(_line(f"Word ({prefecture})", _since(start)))
    total = word[0] + pdf[0]
    print(f"Word + PDF of {county}: {total:.1f} s, {docx.stat().st_size / 1e6:.1f} MB .docx")
    if html is not None:
        print(f"against the HTML pages: {total - html[0]:+.1f} s (goal: at most +5 s)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; files under {out}")


if __name__ == "__main__":
    main()
