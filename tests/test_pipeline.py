"""Running notebooks per region: checks, failures, skipping, warm kernels, parallel back ends.

Every test builds its own tiny notebooks and data in ``tmp_path``; the kernels they start run a few lines.
"""
from __future__ import annotations

import html
import json
import os
import re
import textwrap
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.publish import kernels, pipeline, site
from analysis.errors import ParameterError

REGIONS = ["北岭县", "南山县"]
PARAMS = 'region: str = "北岭县"  # county name\nlang: str = "zh"\nscale: float = 1.0\n'


def write_notebook(path: Path, *cells: str, params: str = PARAMS) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def write_households(data_dir: Path, regions=REGIONS) -> Path:
    """A processed households table partitioned by county, as ``analysis.io.data`` reads it."""
    for region in regions:
        folder = data_dir / "households" / f"county={region}"
        folder.mkdir(parents=True)
        table = pa.table({"household_id": ["h1", "h2"], "year": [2021, 2021],
                          "county": pa.array([region, region], pa.string())})
        pq.write_table(table, folder / "part-0.parquet")
    return data_dir


@pytest.fixture
def project(tmp_path):
    """notebooks/ with one printing notebook, data/ with two counties, reports/ not yet created."""
    nbs = tmp_path / "notebooks"
    write_notebook(nbs / "01-hello.ipynb", 'print("地区", region, lang, scale * 2)  # CODE-MARKER-1')
    return {"notebooks_dir": nbs, "data_dir": write_households(tmp_path / "data"),
            "output_dir": tmp_path / "reports", "progress": False, "jobs": 1}


def outputs_text(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("name") == "stdout")


# ------------------------------------------------------------------------------------------ rendering
def test_two_regions_render_pages_without_code(project):
    summary = pipeline.run("all", "all", lang="zh", parameters={"scale": 3.5}, **project)
    out = project["output_dir"]
    assert [(r.region, r.notebook, r.status) for r in summary.rows] == [
        ("北岭县", "01-hello", "ok"), ("南山县", "01-hello", "ok")]  # list_regions sorts by code point
    assert summary.exit_code == 0 and summary.failed == []
    for region in REGIONS:
        # scale=3.5 reached the notebook: 3.5 * 2 = 7.0
        assert outputs_text(out / region / "01-hello.ipynb") == f"地区 {region} zh 7.0\n"
        page = (out / region / "01-hello.html").read_text(encoding="utf-8")
        assert f"地区 {region} zh 7.0" in page
        assert "CODE-MARKER-1" not in page and "print(" not in page  # code input hidden
        assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://""", page)
        assert "Noto Sans CJK SC" in page  # CJK font family list
        assert f'"region": "{region}", "scale": 3.5' in html.unescape(page)  # the footer's parameters
    runs = pd.read_csv(out / "runs.csv", encoding="utf-8-sig", keep_default_na=False)
    assert runs["status"].tolist() == ["ok", "ok"] and list(runs.columns) == list(site.RUN_COLUMNS)
    index = (out / "index.html").read_text(encoding="utf-8")
    hrefs = set(re.findall(r'href="([^"#]+)"', index))
    assert {unquote(h) for h in hrefs} == {f"{r}/01-hello.html" for r in REGIONS}
    assert all((out / unquote(h)).is_file() for h in hrefs)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(site.MANIFEST_KEYS) <= set(manifest) and manifest["data_files"] == 2
    assert manifest["parameters"]["parameters"] == {"scale": 3.5}


def test_only_declared_parameters_are_passed(tmp_path):
    nbs = tmp_path / "nb"
    write_notebook(nbs / "01-a.ipynb", "print(sorted(k for k in ('region', 'lang', 'scale', 'data_dir') "
                   "if k in globals()))", params='region: str = "x"\n')
    write_notebook(nbs / "02-b.ipynb", "print(scale)", params='scale: int = 1\n')
    summary = pipeline.run("甲", "all", valid_regions=["甲"], notebooks_dir=nbs, output_dir=tmp_path / "r",
                           data_dir=tmp_path / "none", parameters={"scale": 5}, progress=False, jobs=1)
    assert [r.status for r in summary.rows] == ["ok", "ok"]
    assert outputs_text(tmp_path / "r" / "甲" / "01-a.ipynb") == "['region']\n"  # no lang, no scale
    assert outputs_text(tmp_path / "r" / "甲" / "02-b.ipynb") == "5\n"


# -------------------------------------------------------------------------------------- early checks
@pytest.mark.parametrize("kwargs, words", [
    ({"regions": "西河县"}, ["西河县", "北岭县", "南山县"]),
    ({"regions": "../../x"}, ["../../x", "北岭县"]),
    ({"regions": "/tmp/x"}, ["/tmp/x"]),
    ({"regions": "a/b"}, ["a/b"]),
    ({"regions": ".."}, [".."]),
    ({"regions": ".hidden"}, [".hidden"]),
    ({"notebooks": "03"}, ["03", "01-hello"]),
    ({"notebooks": "hello-world"}, ["hello-world", "01-hello"]),
    ({"parameters": {"sclae": 2}}, ["sclae", "scale"]),
    ({"parameters": {"region": "北岭县"}}, ["region"]),
    ({"lang": "fr"}, ["fr", "zh", "en"]),
    ({"jobs": 0}, ["jobs"]),
    ({"timeout": -1}, ["timeout"]),
])
def test_bad_arguments_rejected_before_any_kernel(project, monkeypatch, kwargs, words):
    def no_kernels(*args, **kw):
        raise AssertionError("a notebook was about to run")
    monkeypatch.setattr(pipeline, "execute", no_kernels)
    with pytest.raises(ParameterError) as err:
        pipeline.run(**{**project, **kwargs})
    for word in words:
        assert word in str(err.value)
    assert not project["output_dir"].exists()


def test_region_escaping_the_reports_folder_is_refused_even_if_valid(tmp_path):
    with pytest.raises(ParameterError, match="folder name"):
        pipeline.select_regions("all", ["ok", "../escape"], tmp_path)
    assert pipeline.select_regions("all", ["北岭县", "县 2"], tmp_path) == ["北岭县", "县 2"]


def test_notebook_names_in_three_forms(tmp_path):
    available = {"01-income-growth": tmp_path / "a", "02-employment": tmp_path / "b"}
    for name in ("01-income-growth", "01", "income-growth", "01-income-growth.ipynb"):
        assert list(pipeline.select_notebooks(name, available)) == ["01-income-growth"]
    assert list(pipeline.select_notebooks("employment,01", available)) == ["01-income-growth", "02-employment"]
    assert list(pipeline.select_notebooks("all", available)) == list(available)
    with pytest.raises(ParameterError, match="is ambiguous"):
        pipeline.select_notebooks("01", {"01-a": tmp_path, "01-b": tmp_path})


# ------------------------------------------------------------------------- failures and re-run policy
def test_one_failure_does_not_stop_the_others(tmp_path, project):
    risky = 'if region == "南山县": raise ValueError("bad data in " + region)\nprint("fine")'
    write_notebook(project["notebooks_dir"] / "02-risky.ipynb", "x = 1", risky)
    first = pipeline.run(**project)
    status = {(r.region, r.notebook): r for r in first.rows}
    assert [r.status for r in first.rows] == ["ok", "ok", "ok", "failed"]
    bad = status[("南山县", "02-risky")]
    assert bad.error == "ValueError: bad data in 南山县"
    assert bad.failing_cell == 'if region == "南山县": raise ValueError("bad data in " + region)'
    assert first.failed == ["南山县"] and first.exit_code == 1 and len(first.failed_runs) == 1
    assert "南山县 / 02-risky: failed: ValueError: bad data in 南山县" in first.describe()
    page = (project["output_dir"] / "南山县" / "02-risky.html").read_text(encoding="utf-8")
    assert "run-banner" in page and "ValueError: bad data in 南山县" in page
    assert "An Exception was encountered" not in page  # papermill's English marker gives way to the banner
    runs = pd.read_csv(project["output_dir"] / "runs.csv", encoding="utf-8-sig", keep_default_na=False)
    assert runs.loc[3, ["status", "error"]].tolist() == ["failed", "ValueError: bad data in 南山县"]

    # unchanged inputs: the three successes are skipped, the failure is tried again
    second = pipeline.run(**project)
    assert [r.status for r in second.rows] == ["skipped", "skipped", "skipped", "failed"]
    assert second.rows[0].html == "北岭县/01-hello.html"


@pytest.fixture
def fake_runs(monkeypatch):
    """Replace notebook execution by a stand-in that writes the two output files and returns the status
    listed in ``outcome`` (default ok); ``executed`` records what ran."""
    outcome, executed = {}, []

    def fake(task):
        executed.append((task.region, task.notebook))
        folder = Path(task.region_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".ipynb", ".html"):
            (folder / f"{task.notebook}{suffix}").write_text("x", encoding="utf-8")
        status = outcome.get((task.region, task.notebook), "ok")
        return pipeline.RunResult(task.region, task.notebook, status, 0.1, "" if status == "ok" else "E: e",
                                  "", task.relative_html)
    monkeypatch.setattr(pipeline, "execute_task", fake)
    return outcome, executed


def test_rerun_policy(project, fake_runs):
    outcome, executed = fake_runs
    write_notebook(project["notebooks_dir"] / "02-other.ipynb", "pass", params='region: str = "x"\n')
    every = [(r, n) for r in REGIONS for n in ("01-hello", "02-other")]
    b = ("南山县", "02-other")

    def runs(**kwargs):
        executed.clear()
        summary = pipeline.run(**{**project, **kwargs})
        return list(executed), [r.status for r in summary.rows]

    outcome[b] = "timeout"
    assert runs() == (every, ["ok", "ok", "ok", "timeout"])
    assert runs() == ([b], ["skipped", "skipped", "skipped", "timeout"])  # only the failure re-runs
    outcome[b] = "ok"
    assert runs(retry_failed=True) == ([b], ["skipped", "skipped", "skipped", "ok"])
    assert runs() == ([], ["skipped"] * 4)
    assert runs(force=True)[0] == every
    # each input of the fingerprint: a parameter, a notebook file, the data, a deleted output
    assert runs(parameters={"scale": 2.0})[0] == [(r, "01-hello") for r in REGIONS]  # 02 does not declare it
    write_notebook(project["notebooks_dir"] / "02-other.ipynb", "pass  # edited", params='region: str = "x"\n')
    assert runs(parameters={"scale": 2.0})[0] == [(r, "02-other") for r in REGIONS]
    pq.write_table(pa.table({"x": [1]}), project["data_dir"] / "extra.parquet")
    assert runs(parameters={"scale": 2.0})[0] == every
    (project["output_dir"] / "北岭县" / "01-hello.html").unlink()
    assert runs(parameters={"scale": 2.0})[0] == [("北岭县", "01-hello")]
    # retry_failed leaves successful runs alone even when their inputs changed
    outcome[b] = "failed"
    runs(force=True)
    assert runs(retry_failed=True, parameters={"scale": 9.0})[0] == [b]
    index = (project["output_dir"] / "index.html").read_text(encoding="utf-8")
    # region table: 3 ok pages and 1 failed; run table: 3 skipped rows and the failed one again
    assert index.count('class="status-ok"') == 3 and index.count('class="status-skipped"') == 3
    assert index.count('class="status-failed"') == 2


def test_interrupted_publishing_keeps_the_previous_index(project, fake_runs, monkeypatch):
    pipeline.run(**project)
    out = project["output_dir"]
    before = {name: (out / name).read_text(encoding="utf-8") for name in ("index.html",)}
    replace = os.replace

    def killed_before_index(src, dst):
        if Path(dst).name == "index.html":
            raise KeyboardInterrupt("killed")
        return replace(src, dst)
    monkeypatch.setattr(os, "replace", killed_before_index)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(**project, force=True)
    assert (out / "index.html").read_text(encoding="utf-8") == before["index.html"]  # the previous one, whole
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["force"] is True  # the files written before the kill are the new ones
    assert sorted(p.name for p in out.iterdir()) == [".run-state.json", "index.html", "manifest.json",
                                                      "runs.csv", *sorted(REGIONS)]


def test_rebuild_index_adds_scores_later(project, fake_runs):
    pipeline.run(**project)
    scores = pd.DataFrame({"region": REGIONS, "composite score": [0.5, 0.25], "grade": ["好", "较好"]})
    page = pipeline.rebuild_index(project["output_dir"], lang="en", scores=scores).read_text(encoding="utf-8")
    assert "composite score" in page and "0.50" in page and "较好" in page and "Reports by region" in page
    assert page.count('href="') == 4  # two region pages, each in the region table and the run table


def test_decide_rules():
    ok = {"status": "ok", "fingerprint": "f"}
    failed = {"status": "failed", "fingerprint": "f"}
    assert pipeline._decide(ok, "f", True, force=False, retry_failed=False) is False
    assert pipeline._decide(ok, "g", True, force=False, retry_failed=False) is True
    assert pipeline._decide(ok, "f", False, force=False, retry_failed=False) is True  # output deleted
    assert pipeline._decide(ok, "f", True, force=True, retry_failed=False) is True
    assert pipeline._decide(failed, "f", True, force=False, retry_failed=False) is True
    assert pipeline._decide(ok, "g", True, force=False, retry_failed=True) is False
    assert pipeline._decide(failed, "f", True, force=False, retry_failed=True) is True
    assert pipeline._decide(None, "f", False, force=False, retry_failed=True) is True


def test_timeout_and_killed_kernel_are_reported(tmp_path):
    nbs = tmp_path / "nb"
    write_notebook(nbs / "01-slow.ipynb", 'print("started")', "import time; time.sleep(60)", 'print("never")',
                   params='region: str = "x"\n')
    write_notebook(nbs / "02-crash.ipynb", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
                   params='region: str = "x"\n')
    write_notebook(nbs / "03-after.ipynb", 'print("still running")', params='region: str = "x"\n')
    summary = pipeline.run("甲", "all", valid_regions=["甲"], notebooks_dir=nbs, output_dir=tmp_path / "r",
                           data_dir=tmp_path / "none", timeout=1, progress=False, jobs=1)
    rows = {r.notebook: r for r in summary.rows}
    assert (rows["01-slow"].status, rows["01-slow"].failing_cell) == ("timeout", "import time; time.sleep(60)")
    assert rows["02-crash"].status == "killed" and rows["02-crash"].failing_cell.startswith("import os")
    assert rows["03-after"].status == "ok"  # a fresh kernel replaced the killed one
    assert outputs_text(tmp_path / "r" / "甲" / "01-slow.ipynb") == "started\n"  # kept up to the timeout
    assert "started" in (tmp_path / "r" / "甲" / "01-slow.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ warm kernel
def cell_outputs(nb) -> list:
    """Execution counts and outputs per cell; consecutive writes to one stream are joined, because how
    the kernel batches them into messages depends on timing."""
    cells = []
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            if outputs and out.output_type == "stream" and outputs[-1].get("name") == out.get("name") \
                    and outputs[-1]["output_type"] == "stream":
                outputs[-1] = {**outputs[-1], "text": outputs[-1]["text"] + out["text"]}
            else:
                outputs.append(dict(out))
        cells.append((cell.get("execution_count"), outputs))
    return cells


def test_warm_kernel_gives_the_outputs_of_fresh_kernels(tmp_path):
    """A notebook run on a warm kernel must not see anything an earlier notebook changed in it."""
    nbs = tmp_path / "nb"
    params = 'region: str = "x"\n'
    write_notebook(nbs / "01-dirty.ipynb", """
        import matplotlib.pyplot as plt
        plt.plot([1, 3, 2]); plt.title("demo")""", """
        import os, sys, warnings
        import pandas as pd
        leak = 1
        pd.set_option("display.max_rows", 3)
        plt.rcParams["lines.linewidth"] = 9
        plt.figure()
        sys.path.append("/nowhere")
        os.environ["LEAK"] = "1"
        os.chdir("/")
        warnings.simplefilter("error")""", params=params)
    write_notebook(nbs / "02-check.ipynb", f"""
        import os, sys, warnings
        import matplotlib.pyplot as plt
        import pandas as pd
        print("leak" in globals(), pd.get_option("display.max_rows"), plt.rcParams["lines.linewidth"],
              "/nowhere" in sys.path, "LEAK" in os.environ, os.getcwd() == {str(nbs)!r},
              len(plt.get_fignums()), warnings.filters[0][0] == "error")""",
                   'plt.plot([1, 3, 2]); plt.title("demo")', "pd.DataFrame({'a': [1.5, 2]})", params=params)
    common = dict(valid_regions=["甲", "乙"], notebooks_dir=nbs, data_dir=tmp_path / "none", progress=False, jobs=1)
    # one warm kernel runs 01, 02, 01, 02; the reference runs each notebook once on a fresh kernel
    warm = pipeline.run(["甲", "乙"], "all", output_dir=tmp_path / "warm", engine="warm", **common)
    plain = pipeline.run(["甲"], "all", output_dir=tmp_path / "plain", engine="plain", **common)
    assert {r.status for r in warm.rows + plain.rows} == {"ok"}
    for region in ("甲", "乙"):  # the notebooks' outputs do not depend on the region
        for stem in ("01-dirty", "02-check"):
            ours = nbformat.read(tmp_path / "warm" / region / f"{stem}.ipynb", as_version=4)
            fresh = nbformat.read(tmp_path / "plain" / "甲" / f"{stem}.ipynb", as_version=4)
            assert cell_outputs(ours) == cell_outputs(fresh)
        # pandas' default max_rows is 60, matplotlib's line width 1.5; no figure open; no "error" filter
        assert outputs_text(tmp_path / "warm" / region / "02-check.ipynb") == "False 60 1.5 False False True 0 False\n"
        figures = [o for c in ours.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        assert len(figures) == 1


def test_warm_kernels_are_recycled_and_fall_back_to_fresh_ones(tmp_path, monkeypatch):
    nbs = tmp_path / "nb"
    write_notebook(nbs / "01-a.ipynb", "print(region)", params='region: str = "x"\n')
    common = dict(notebooks_dir=nbs, output_dir=tmp_path / "r", data_dir=tmp_path / "none", progress=False,
                  jobs=1)
    started = []
    start = kernels.WarmKernel.__init__

    def counted(self, *args, **kwargs):
        started.append(1)
        start(self, *args, **kwargs)
    monkeypatch.setattr(kernels.WarmKernel, "__init__", counted)
    monkeypatch.setattr(kernels, "MAX_RUNS", 2)
    summary = pipeline.run(list("abc"), "all", valid_regions=list("abc"), **common)
    assert [r.status for r in summary.rows] == ["ok"] * 3
    assert len(started) == 2  # a, b on the first kernel; c on a new one

    def broken(*args):
        raise RuntimeError("no warm kernel today")
    monkeypatch.setattr(kernels, "_acquire", broken)
    summary = pipeline.run(["d"], "all", valid_regions=["d"], **common)
    assert summary.rows[0].status == "ok"  # run on a fresh kernel instead
    assert outputs_text(tmp_path / "r" / "d" / "01-a.ipynb") == "d\n"


# ----------------------------------------------------------------------------------- parallel back ends
def _pages(folder: Path) -> dict[str, str]:
    """Region pages with the footer (render time, output folder) removed."""
    return {p.relative_to(folder).as_posix(): re.sub(r"<footer class=\"run-footer\">.*?</footer>", "",
                                                     p.read_text(encoding="utf-8"), flags=re.S)
            for p in folder.glob("*/*.html")}


@pytest.mark.slow
def test_dask_cluster_renders_the_same_pages_as_the_process_pool(project):
    distributed = pytest.importorskip("distributed")
    write_notebook(project["notebooks_dir"] / "02-figure.ipynb",
                   "import matplotlib.pyplot as plt\nplt.plot([1, 2, 4]); plt.title(region)")
    base = project["output_dir"]
    pool = pipeline.run(**{**project, "output_dir": base / "pool", "jobs": 2})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = pipeline.run(**{**project, "output_dir": base / "dask"}, scheduler=cluster.scheduler_address)
    assert {r.status for r in pool.rows} == {r.status for r in dask.rows} == {"ok"}
    assert len(_pages(base / "pool")) == 4
    assert _pages(base / "pool") == _pages(base / "dask")


@pytest.mark.slow
def test_dead_dask_worker_is_retried_once(tmp_path):
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    marker = tmp_path / "killed-once"
    nbs = tmp_path / "nb"
    write_notebook(nbs / "01-kill.ipynb", f"""
        import os, pathlib, signal
        if region == "乙" and not pathlib.Path({str(marker)!r}).exists():
            pathlib.Path({str(marker)!r}).touch()
            os.kill(os.getppid(), signal.SIGKILL)  # the kernel's parent is the Dask worker
        print("done", region)""", params='region: str = "x"\n')
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            summary = pipeline.run(["甲", "乙"], "all", valid_regions=["甲", "乙"], notebooks_dir=nbs,
                                   output_dir=tmp_path / "r", data_dir=tmp_path / "none", progress=False,
                                   scheduler=cluster.scheduler_address)
    rows = {r.region: r for r in summary.rows}
    assert marker.exists()
    assert (rows["乙"].status, rows["乙"].attempts) == ("ok", 2)
    assert (rows["甲"].status, rows["甲"].attempts) == ("ok", 1)


@pytest.mark.slow
def test_dead_pool_worker_is_retried_once(tmp_path):
    marker = tmp_path / "killed-once"
    nbs = tmp_path / "nb"
    write_notebook(nbs / "01-kill.ipynb", f"""
        import os, pathlib, signal
        if not pathlib.Path({str(marker)!r}).exists():
            pathlib.Path({str(marker)!r}).touch()
            os.kill(os.getppid(), signal.SIGKILL)  # the kernel's parent is the pool worker
        print("done", region)""", params='region: str = "x"\n')
    summary = pipeline.run(["甲", "乙"], "all", valid_regions=["甲", "乙"], notebooks_dir=nbs,
                           output_dir=tmp_path / "r", data_dir=tmp_path / "none", progress=False, jobs=2)
    assert {r.status for r in summary.rows} == {"ok"}
    assert max(r.attempts for r in summary.rows) == 2
