"""The one recipe for the golden tables: sample, ingest, build, and the tables each page shows.

Shared by ``make_golden.py`` (which stores them) and ``tests/test_golden.py`` (which recomputes and
compares). Page tables are those a page writes to its Excel workbook, for one county and the prefecture.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

#: The tests' pseudonym key and bootstrap size (tests/conftest.py): pseudonyms order households, and
#: the bootstrap and matching ties follow that order, so both are fixed here.
ENV = {"ANALYSIS_PSEUDONYM_KEY": "test-key-not-secret", "ANALYSIS_BOOTSTRAP_REPLICATES": "20"}
COUNTY = "北岭县"
YEARS = [2020, 2024]


def build_sample(folder: Path) -> Path:
    """Synthetic sample (seed 0) ingested and built under ``folder``; returns the processed folder."""
    os.environ.update(ENV)
    from analysis.io import ingest, synth
    from analysis import results
    raw, processed = folder / "raw", folder / "processed"
    synth.write(raw, seed=0)
    ingest.ingest([raw], out_dir=processed)
    results.build(processed, force=True)
    return processed


def result_tables(processed: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted((processed / "results").glob("*.parquet"))}


def page_tables(processed: Path) -> dict[str, dict[str, pd.DataFrame]]:
    """The tables of each page (as written to its workbook) for ``COUNTY`` and, on page 05, its prefecture."""
    from analysis import report, report_assessment, report_employment, report_monitoring, report_training
    ctx = report.context(region=COUNTY, years=YEARS, data_dir=str(processed), lang="en")
    pages = {"01": report.income_tables(ctx), "02": report_employment.employment_tables(ctx),
             "03": report_training.training_tables(ctx), "04": report_monitoring.monitoring_tables(ctx)}
    for region in (COUNTY, ctx.prefecture):
        actx = report_assessment.context(region=region, years=YEARS, data_dir=str(processed), lang="en")
        pages[f"05-{actx.level}"] = report_assessment.assessment_tables(actx)
    return pages


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_pickle(folder / f"{name}.pkl.gz")


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.name.removesuffix(".pkl.gz"): pd.read_pickle(p) for p in sorted(folder.glob("*.pkl.gz"))}
