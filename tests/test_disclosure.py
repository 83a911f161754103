"""Disclosure control on everything published: no household identifier in any page or workbook, blanked
cells marked, model figures only from enough events, follow-up lists only in the restricted output."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis.reporting import workbook

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def published(published_county):
    """The pages of one county of the small prefecture, as published (the session's rendering)."""
    return published_county


def _household_ids(processed: Path) -> set[str]:
    return set(pd.read_parquet(processed / "households", columns=["household_id"])["household_id"].astype(str))


def _workbook_text(path: Path) -> list[str]:
    values = []
    for sheet in openpyxl.load_workbook(path, read_only=True).worksheets:
        for row in sheet.iter_rows(values_only=True):
            values += [str(v) for v in row if v is not None]
    return values


def test_no_household_identifier_reaches_a_page_or_workbook(published, small_processed):
    reports, county = published
    ids = _household_ids(small_processed)
    pattern = re.compile(r"H[0-9a-f]{8,}")
    assert any(pattern.fullmatch(i) for i in ids), "the identifier pattern no longer matches the pseudonyms"
    files = sorted(reports.rglob("*.html")) + sorted(reports.rglob("*.xlsx"))
    assert len(files) >= 5
    for path in files:
        text = path.read_text(encoding="utf-8", errors="ignore") if path.suffix == ".html" else \
            "\n".join(_workbook_text(path))
        leaked = {m for m in pattern.findall(text) if m in ids}
        assert not leaked, f"{path.name} shows household ids: {sorted(leaked)[:3]}"


def test_workbooks_mark_blanked_cells_and_hold_no_household_list(published):
    reports, county = published
    book = openpyxl.load_workbook(reports / county / "04-monitoring.xlsx", read_only=True)
    assert not {"gap_list", "failed_list", "warning_predictions"} & set(book.sheetnames)
    assert book.sheetnames[-1] == "说明"
    # the table of each sheet: from the header row (under the title rows) to the first empty row
    values = []
    for sheet in book.worksheets[:-1]:
        rows = list(sheet.iter_rows(min_row=workbook.HEADER_ROW + 2, values_only=True))
        width = len([v for v in next(sheet.iter_rows(min_row=workbook.HEADER_ROW + 1, values_only=True)) if v])
        for row in rows:
            if all(v is None for v in row):
                break
            values += [v for v in row[:width] if v != ""]
    assert "–" in values                     # this county has blanked cells, and they are marked
    assert None not in values, "a blank cell: suppressed and zero must not look alike"


def test_page_points_to_the_restricted_lists_instead_of_showing_them(published):
    reports, county = published
    page = (reports / county / "04-monitoring.html").read_text(encoding="utf-8")
    assert "python -m analysis follow-up --region" in page


def test_follow_up_lists_go_to_the_restricted_folder_only(small_processed, tmp_path):
    from analysis.io import data
    county = data.list_regions(small_processed, "county")[0]
    site = tmp_path / "reports"
    site.mkdir()
    run = [sys.executable, "-m", "analysis", "follow-up", "--region", county, "--data-dir", str(small_processed),
           "--site", str(site)]
    refused = subprocess.run([*run, "--out", str(site / "lists")], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 2 and "inside the published site" in refused.stderr
    assert not (site / "lists").exists()
    done = subprocess.run([*run, "--out", str(tmp_path / "restricted")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "RESTRICTED" in done.stdout
    book = openpyxl.load_workbook(tmp_path / "restricted" / county / "follow-up.xlsx", read_only=True)
    assert book.sheetnames == ["使用须知", "应纳未纳名单", "存疑消除名单", "预警名单"]
    assert any("不得公开" in v for v in _workbook_text(tmp_path / "restricted" / county / "follow-up.xlsx"))


def test_model_figures_resting_on_few_events_are_not_shown(small_processed):
    from analysis.config import min_events
    from analysis.reporting import monitoring, page
    from analysis.io import data
    for county in data.list_regions(small_processed, "county"):
        ctx = page.context(region=county, years=[2020, 2024], data_dir=str(small_processed))
        frame = monitoring._warning_frame(ctx)
        if frame.empty:
            continue
        few = frame["events"].isna() | (frame["events"] < min_events())
        assert frame.loc[few, ["auc", "precision", "recall"]].isna().all().all()
        sentence = monitoring._warning_sentence(ctx)
        county_row = frame.iloc[0]
        if pd.isna(county_row["events"]) or county_row["events"] < min_events():
            assert "AUC" not in sentence or "不予显示" in sentence


def test_no_log_output_or_traceback_in_a_page(published):
    reports, county = published
    log_line = re.compile(r"^(INFO|WARNING|DEBUG|ERROR):|^Traceback \(most recent call last\)", re.M)
    for path in sorted(reports.rglob("*.html")):
        text = re.sub(r"<[^>]+>", "\n", path.read_text(encoding="utf-8"))
        found = [line.strip() for line in text.splitlines() if log_line.match(line.strip())]
        assert not found, f"{path.name}: {found[:3]}"
