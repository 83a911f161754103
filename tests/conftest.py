"""Shared fixtures: a small synthetic prefecture, ingested and built once per test session."""
from __future__ import annotations

import os
import time

import pytest

os.environ.setdefault("ANALYSIS_PSEUDONYM_KEY", "test-key-not-secret")
# Tests run in parallel processes; one BLAS thread each avoids oversubscribing the cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# The post-assessment bootstrap at its configured size takes minutes; tests check its logic at a small size.
os.environ.setdefault("ANALYSIS_BOOTSTRAP_REPLICATES", "20")
# The Rambachan-Roth bounds cost minutes on the noisy small prefecture (the package's interval searches);
# its builds leave them out (tests/test_honest.py checks the method against the published example, and the
# sample's build computes them).
os.environ.setdefault("ANALYSIS_HONEST", "off")


@pytest.fixture(scope="session")
def small_raw(tmp_path_factory):
    """Raw exports of a 3-county synthetic prefecture (one XLSX, one GBK CSV, one UTF-8 CSV)."""
    from analysis.io import synth
    out = tmp_path_factory.mktemp("raw")
    synth.write(out, seed=7, counties=3, households_per_county=60)
    return out


@pytest.fixture(scope="session")
def small_processed(small_raw, tmp_path_factory):
    """The small prefecture ingested into canonical Parquet, with result tables built."""
    from analysis.io import ingest
    from analysis import build
    out = tmp_path_factory.mktemp("processed")
    ingest.ingest([small_raw], out_dir=out)
    build.build(out)
    return out


def _render_county(processed, reports) -> str:
    """Render one county's five pages (zh), workbooks and Word report into ``reports``; returns the county."""
    from analysis.io import data
    from analysis.publish import documents, pipeline
    county = data.list_regions(processed, "county")[0]
    summary = pipeline.run(regions=[county], notebooks="all", jobs=2, output_dir=reports, data_dir=processed,
                           prepare=None, progress=False)
    assert summary.exit_code == 0, summary.describe()
    documents.write(county, "zh", processed, reports / county)
    return county


@pytest.fixture(scope="session")
def published_county(small_processed, tmp_path_factory):
    """One county of the small prefecture as published, rendered once for every test reading published
    artifacts: its five pages (zh) with their workbooks, and its Word report. Returns (reports, county).

    Under pytest-xdist each worker has its own session: the first worker to get here renders into the
    run's shared temporary folder and the others wait for it (a lock file made with O_EXCL), so the pages
    are rendered once per run however the test files are distributed (the small prefecture is the same in
    every worker: fixed seed and key)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        reports = tmp_path_factory.mktemp("published") / "reports"
        return reports, _render_county(small_processed, reports)
    shared = tmp_path_factory.getbasetemp().parent / "published-county"
    done, failed = shared / "county.txt", shared / "failed.txt"
    try:
        os.close(os.open(tmp_path_factory.getbasetemp().parent / "published-county.lock",
                         os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:               # another worker renders: wait for it
        deadline = time.monotonic() + 1800
        while not (done.exists() or failed.exists()) and time.monotonic() < deadline:
            time.sleep(1)
        if not done.exists():
            pytest.fail(f"the worker rendering the published county failed: "
                        f"{failed.read_text() if failed.exists() else 'timed out'}")
        return shared / "reports", done.read_text(encoding="utf-8")
    try:
        county = _render_county(small_processed, shared / "reports")
    except BaseException as exc:
        shared.mkdir(parents=True, exist_ok=True)
        failed.write_text(repr(exc)[:2000], encoding="utf-8")
        raise
    done.write_text(county, encoding="utf-8")
    return shared / "reports", county
