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
# The Rambachan-Roth bounds are computed (one Mbar value, to keep the build short) whatever the caller's
# environment says: the test suite turns them off for its other small builds.
ENV = {"ANALYSIS_PSEUDONYM_KEY": "test-key-not-secret", "ANALYSIS_BOOTSTRAP_REPLICATES": "20",
       "ANALYSIS_HONEST": "on", "ANALYSIS_HONEST_MBAR": "1"}
COUNTY = "北岭县"
YEARS = [2020, 2024]


def build_sample(folder: Path) -> Path:
    """Synthetic sample (seed 0) ingested and built under ``folder``; returns the processed folder."""
    os.environ.update(ENV)
    from analysis.io import ingest, synth
    from analysis import build
    raw, processed = folder / "raw", folder / "processed"
    synth.write(raw, seed=0)
    ingest.ingest([raw], out_dir=processed)
    build.build(processed, force=True)
    return processed


def result_tables(processed: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted((processed / "results").glob("*.parquet"))}


def page_tables(processed: Path) -> dict[str, dict[str, pd.DataFrame]]:
    """The tables of each page (as written to its workbook) for ``COUNTY`` and, on page 05, its prefecture;
    the prefecture page's township table (06)."""
    from analysis import build
    from analysis.reporting import assessment, employment, income, monitoring, page, townships, training
    from analysis.studies.monitoring import MonitoringSpec
    from analysis.studies.post_assessment import AssessmentSpec
    from analysis.studies.training import TrainingSpec
    from analysis.studies.workshops import WorkshopSpec
    ctx = page.context(region=COUNTY, years=YEARS, data_dir=str(processed), lang="en")
    workshops = build.study("workshop_effects", WorkshopSpec(), **ctx.where)
    effects = build.study("training_effects", TrainingSpec(), **ctx.where)
    mctx = ctx.using(build.study("monitoring", MonitoringSpec(), **ctx.where))
    pages = {"01": income.income_tables(ctx), "02": employment.employment_tables(ctx, workshops),
             "03": training.training_tables(ctx, effects), "04": monitoring.monitoring_tables(mctx)}
    for region in (COUNTY, ctx.prefecture):
        actx = assessment.context(region=region, years=YEARS, data_dir=str(processed), lang="en")
        actx = actx.using(build.study("assessment", AssessmentSpec(), **actx.where))
        pages[f"05-{actx.level}"] = assessment.assessment_tables(actx)
    pages["06"] = townships.township_tables(townships.context(region=ctx.prefecture, years=YEARS,
                                                               data_dir=str(processed), lang="en"))
    return pages


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_pickle(folder / f"{name}.pkl.gz")


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.name.removesuffix(".pkl.gz"): pd.read_pickle(p) for p in sorted(folder.glob("*.pkl.gz"))}
