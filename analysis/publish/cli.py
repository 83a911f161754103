"""Command line: ``python -m analysis <command>``.

Commands
--------
synth          generate the synthetic sample prefecture as raw exports (with ground truth)
ingest         read exports (CSV/XLSX) into the canonical Parquet tables, pseudonymised and checked
build          compute every result table for all regions once
regions        list the regions in the processed data
audit-privacy  scan processed data and reports (pages, workbooks, Word documents and, with pdftotext, PDFs)
               for names, ID numbers and phone numbers
run            build, then execute the notebooks per region with papermill into HTML reports, then the
               Word and PDF reports (``--no-documents`` to leave them out)
documents      write only the Word and PDF reports of counties and prefectures from the stored result tables
               (e.g. after restyling the template)
follow-up      write one county's household-level follow-up lists into restricted/ (never published)

Data problems are printed as located messages (file, row, column) and the command exits with status 2,
without a Python traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from analysis.config import DATA_PROCESSED, REPORTS, SAMPLE_RAW
from analysis.core.workers import WorkerLost
from analysis.errors import DataError, ParameterError


def _synth(args) -> int:
    from analysis.io import synth
    written = synth.write(args.out, seed=args.seed, counties=args.counties,
                          households_per_county=args.households_per_county)
    print(f"wrote {len(written)} files to {args.out} (SYNTHETIC data, seed {args.seed})")
    return 0


def _ingest(args) -> int:
    from analysis.io import ingest
    result = ingest.ingest(args.paths, out_dir=args.out, progress=not args.quiet, report_path=args.report,
                           counties=args.counties, chunk_rows=args.chunk_rows, jobs=args.jobs)
    print(result.report())
    print(f"wrote {args.out}/households and {args.out}/members")
    return 0


def _build(args) -> int:
    from analysis import build
    written = build.build(args.data_dir, steps=args.steps, force=args.force, progress=True)
    print(f"wrote {len(written)} result tables to {build.results_dir(args.data_dir)}" if written else
          "result tables are up to date (use --force to recompute)")
    return 0


def _steps(args) -> int:
    from analysis import build
    stale = set(build.stale(args.data_dir))
    for s in build.STEPS:
        state = "to run" if s.name in stale else "up to date"
        spec = f" [{type(s.spec).__name__}]" if s.spec is not None else ""
        print(f"{s.name}{spec} ({state}): {', '.join(s.outputs)}")
    return 0


def _regions(args) -> int:
    from analysis.io import data
    print("\n".join(data.list_regions(args.data_dir, args.level)))
    return 0


def _run(args) -> int:
    from analysis.publish import pipeline
    from analysis.reporting import assessment as report_assessment
    from analysis import build
    summary = pipeline.run(
        regions=args.region, notebooks=args.notebook, lang=args.lang, jobs=args.jobs,
        data_dir=args.data_dir, output_dir=args.output_dir, force=args.force, retry_failed=args.retry_failed,
        timeout=args.timeout, scheduler=args.scheduler,
        prepare=lambda: build.build(args.data_dir, progress=True),
        scores=lambda: report_assessment.index_table(args.data_dir, lang=args.lang))
    print(summary.describe())
    if summary.exit_code:
        print(f"failed: {', '.join(summary.failed)}", file=sys.stderr)
    code = summary.exit_code
    if not args.no_documents:
        code = max(code, _write_documents(args.region, [args.lang], args, jobs=args.jobs or os.cpu_count() or 1))
        # the index links the Word and PDF files, which exist only now
        pipeline.rebuild_index(args.output_dir, lang=args.lang,
                               scores=report_assessment.index_table(args.data_dir, lang=args.lang))
    return code


def _write_documents(selection: str, langs: list[str], args, jobs: int) -> int:
    """Word (and PDF) reports of ``selection`` ('all': every county and prefecture); 1 if any failed."""
    from analysis.publish import documents
    written = documents.write_all(selection, langs, data_dir=args.data_dir, output_dir=args.output_dir,
                                  pdf=not args.no_pdf, jobs=jobs, force=args.force)
    print(f"wrote {len(written.files)} document file(s) into {args.output_dir}/<region>/report-<lang>.docx/.pdf")
    if written.pdf_skipped:
        print(f"PDF skipped: {written.pdf_skipped}", file=sys.stderr)
    for region, lang, error in written.failed:
        print(f"document failed: {region} ({lang}): {error}", file=sys.stderr)
    return 1 if written.failed else 0


def _documents(args) -> int:
    # the stored result tables as they are (`run` and `build` compute them): documents never estimate
    langs = ["zh", "en"] if args.lang == "all" else [args.lang]
    return _write_documents(args.region, langs, args, jobs=args.jobs)


def _follow_up(args) -> int:
    from analysis.config import restricted_dir
    from analysis.io import data
    from analysis.reporting import monitoring, page
    from analysis import build
    build.build(args.data_dir, progress=False)
    data.check_region(args.region, args.data_dir)
    income = build.load("income_growth", args.data_dir, region=args.region)
    years = [int(income["year"].min()), int(income["year"].max())]
    ctx = page.context(region=args.region, years=years, data_dir=str(args.data_dir), lang=args.lang)
    folder = args.out or restricted_dir()
    path = page.save_restricted(ctx, folder, "follow-up", monitoring.follow_up_tables(ctx), site=args.site)
    print(f"wrote {path}\nRESTRICTED: household-level lists for authorised staff only; do not publish or pass on.")
    return 0


def _audit(args) -> int:
    from analysis.io import privacy
    known = privacy.raw_identities(args.raw) if args.raw else None
    unread: list[tuple[str, str]] = []
    findings = privacy.scan(args.paths, known, unread=unread)
    for file, kind, value in findings[:200]:
        print(f"{file}: {kind} {value}")
    for file, reason in unread:
        print(f"{file}: {reason}", file=sys.stderr)
    print(f"{len(findings)} personal value(s) found" if findings else "no personal data found" +
          (f" in the files read; {len(unread)} file(s) not read (see above)" if unread else ""))
    return 1 if findings else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate the synthetic sample prefecture (raw exports + ground truth)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", type=Path, default=SAMPLE_RAW)
    s.add_argument("--counties", type=int, default=7)
    s.add_argument("--households-per-county", type=int, default=400)
    s.set_defaults(func=_synth)

    s = sub.add_parser("ingest", help="read exports into data/processed (canonical Parquet)")
    s.add_argument("paths", nargs="+", type=Path, help="CSV/XLSX files or folders holding them")
    s.add_argument("--out", type=Path, default=DATA_PROCESSED)
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--report", type=Path, default=None,
                   help="also write the ingest report here (outside --out), also when the ingest is refused")
    s.add_argument("--counties", type=Path, default=None,
                   help="a text file of the valid county names, one a line; other names are refused")
    s.add_argument("--chunk-rows", type=int, default=None,
                   help="read CSV files this many rows at a time, with memory bounded by the chunk (default: "
                        "100000-row chunks when the inputs exceed 256 MB, else whole files)")
    s.add_argument("--jobs", type=int, default=None,
                   help="worker processes, a file each (default: the cores available when the inputs exceed "
                        "24 MB, else 1); the result is the same")
    s.set_defaults(func=_ingest)

    s = sub.add_parser("build", help="compute all result tables for all regions")
    s.add_argument("--data-dir", type=Path, default=DATA_PROCESSED)
    s.add_argument("--force", action="store_true", help="recompute even when nothing changed")
    s.add_argument("--step", action="append", dest="steps", metavar="NAME",
                   help="run only this build step (repeatable); `python -m analysis steps` lists them")
    s.set_defaults(func=_build)

    s = sub.add_parser("steps", help="list the build steps, their tables and whether they are up to date")
    s.add_argument("--data-dir", type=Path, default=DATA_PROCESSED)
    s.set_defaults(func=_steps)

    s = sub.add_parser("regions", help="list the regions in the processed data")
    s.add_argument("--data-dir", type=Path, default=DATA_PROCESSED)
    s.add_argument("--level", default="county", choices=["county", "prefecture"])
    s.set_defaults(func=_regions)

    s = sub.add_parser("audit-privacy", help="scan processed data and reports (also .docx, and .pdf with "
                                             "pdftotext) for personal data")
    s.add_argument("paths", nargs="+", type=Path, help="folders or files to scan (e.g. data/processed reports)")
    s.add_argument("--raw", nargs="*", type=Path, help="raw exports whose names/IDs/phones must not appear")
    s.set_defaults(func=_audit)

    s = sub.add_parser("follow-up", help="write a county's household-level follow-up lists (restricted, not "
                                         "published) into restricted/<county>/follow-up.xlsx")
    s.add_argument("--region", required=True, help="a county name")
    s.add_argument("--lang", default="zh", choices=["zh", "en"])
    s.add_argument("--data-dir", type=Path, default=DATA_PROCESSED)
    s.add_argument("--out", type=Path, default=None, help="folder (default: restricted_dir of publication.yaml)")
    s.add_argument("--site", type=Path, default=REPORTS, help="the published site, which --out must not be in")
    s.set_defaults(func=_follow_up)

    s = sub.add_parser("run", help="render the notebooks for each region into reports/")
    s.add_argument("--region", default="all", help="a county or prefecture name, or 'all' (default)")
    s.add_argument("--notebook", default="all", help="e.g. 01-income-growth, 01, or 'all' (default: 01-05 for "
                                                     "counties, 06 for prefectures)")
    s.add_argument("--jobs", type=int, default=None, help="parallel runs (default: number of cores)")
    s.add_argument("--lang", default="zh", choices=["zh", "en"])
    s.add_argument("--data-dir", type=Path, default=DATA_PROCESSED)
    s.add_argument("--output-dir", type=Path, default=REPORTS)
    s.add_argument("--force", action="store_true", help="re-run even when nothing changed")
    s.add_argument("--retry-failed", action="store_true", help="re-run only what failed last time")
    s.add_argument("--timeout", type=int, default=600, help="seconds allowed per notebook cell")
    s.add_argument("--scheduler", default=None, help="address of a Dask distributed scheduler")
    s.add_argument("--no-documents", action="store_true",
                   help="leave out the Word/PDF reports (reports/<region>/report-<lang>.docx and .pdf)")
    s.add_argument("--no-pdf", action="store_true", help="write the Word reports but not their PDFs")
    s.set_defaults(func=_run)

    s = sub.add_parser("documents", help="write the Word and PDF reports of counties and prefectures from the "
                                         "stored result tables (`build` or `run` computes them)")
    s.add_argument("--region", default="all",
                   help="a county or prefecture name, several separated by commas, or 'all' (default: every "
                        "county and prefecture)")
    s.add_argument("--lang", default="all", choices=["zh", "en", "all"])
    s.add_argument("--data-dir", type=Path, default=DATA_PROCESSED)
    s.add_argument("--output-dir", type=Path, default=REPORTS)
    s.add_argument("--jobs", type=int, default=1, help="reports composed at once (worker processes)")
    s.add_argument("--no-pdf", action="store_true", help="write the Word reports but not their PDFs")
    s.add_argument("--force", action="store_true", help="rewrite reports whose inputs did not change")
    s.set_defaults(func=_documents)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"Input data problems ({len(exc.problems)}); nothing was written:\n{exc.report()}", file=sys.stderr)
        return 2
    except (ParameterError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except WorkerLost as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
