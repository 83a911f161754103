"""The figure store: the Word report takes the pictures the pages showed (same bytes), only when they are
fresh, and draws the others the way the pages draw them."""
from __future__ import annotations

import base64
import functools
import io
import json

import matplotlib.pyplot as plt
import nbformat
import pytest
from docx import Document
from IPython.core.interactiveshell import InteractiveShell
from nbformat.v4 import new_code_cell, new_notebook, new_output

from analysis.publish import documents, figures
from analysis.reporting import plots

INPUTS = {"steps": "s1", "sources": "f1", "code": "c1"}
SPEC = {"spec": "DemoSpec", "outcome": "employment_rate", "covariates": ["age"]}
CALLS = {"n": 0}


def demo_figure(ctx=None):
    """A page function drawing a small figure with a title (counts its calls)."""
    CALLS["n"] += 1
    plots.setup("en")
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1, 2], [1, 3, 2])
    ax.set_title("Demo title")
    return plots.finish(fig)


def _shown(fig) -> tuple[str, dict]:
    """What a notebook's PNG formatter shows for ``fig`` (base64 PNG, metadata)."""
    shell = InteractiveShell.instance()
    try:
        plots.setup("en")
        data, metadata = shell.display_formatter.format(fig)
    finally:
        InteractiveShell.clear_instance()
    return data["image/png"], metadata["image/png"]


def _picture_output(png: str, metadata: dict):
    return new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"},
                      metadata={"image/png": metadata})


def _notebook(cells, parameters=None, specs=()):
    nb = new_notebook(cells=[new_code_cell('region = "A县"\nyears: list = [2020, 2024]\nlang = "en"',
                                           metadata={"tags": ["parameters"]}), *cells])
    for spec in specs:
        nb.cells.append(new_code_cell("spec", outputs=[new_output(
            "execute_result", data={"text/plain": "Spec()", figures_mime(): spec}, execution_count=1)]))
    nb.metadata["papermill"] = {"parameters": parameters or {"region": "A县", "lang": "en"}}
    return nb


def figures_mime() -> str:
    from analysis.studies.spec import MIME_TYPE
    return MIME_TYPE


# ------------------------------------------------------------------------------------------- pictures
def test_the_notebook_shows_the_picture_the_report_draws_with_its_title():
    png, metadata = _shown(demo_figure())
    drawn, drawn_metadata = plots.picture(demo_figure())
    assert base64.b64decode(png) == drawn
    assert metadata == drawn_metadata and metadata["title"] == "Demo title"
    from PIL import Image
    width = Image.open(io.BytesIO(drawn)).size[0]
    assert width >= 2 * metadata["width"] - 2   # 220 dpi: twice the display size


def test_an_empty_figure_shows_nothing_and_adds_nothing():
    fig = plt.figure()
    plt.close(fig)
    assert plots.picture(fig) is None
    writer = documents.Writer(Document(str(documents.TEMPLATE)), "en", "source")
    writer.figure(fig)
    assert writer.figures == 0 and not writer.doc.inline_shapes


# ---------------------------------------------------------------------------------- reading notebooks
def test_figure_cells_are_found_by_the_called_function():
    nb = _notebook([
        new_code_cell("from analysis.reporting import income, page\nimport analysis.reporting.training as tr"),
        new_code_cell("income.income_trend_figure(ctx)", outputs=[_picture_output("AAA", {"title": "T1"})]),
        new_code_cell("tr.att_figure(ctx, effects)", outputs=[_picture_output("BBB", {"title": "T2"})]),
        new_code_cell("page.header(ctx, 'x')", outputs=[]),                       # no picture
        new_code_cell("x = income.exited_figure(ctx)\nx", outputs=[_picture_output("CCC", {})]),  # not one call
        new_code_cell("income.group_growth_figure(ctx, n=2)", outputs=[_picture_output("DDD", {})]),  # keyword
        new_code_cell("unknown.some_figure(ctx)", outputs=[_picture_output("EEE", {})]),  # not imported
        new_code_cell("income.exited_figure(ctx)", outputs=[_picture_output("FFF", {}), _picture_output("GGG", {})]),
        new_code_cell("income.income_distribution_figure(ctx)", outputs=[_picture_output("HHH", {})]),
        new_code_cell("income.income_distribution_figure(ctx)", outputs=[_picture_output("III", {})]),  # twice
        new_code_cell("%matplotlib inline", outputs=[]),
    ])
    found = figures.shown(nb)
    assert found == {"analysis.reporting.income.income_trend_figure": ("AAA", {"title": "T1"}),
                     "analysis.reporting.training.att_figure": ("BBB", {"title": "T2"})}
    assert figures.figure_id(functools.partial(_income_trend(), None)) == \
        "analysis.reporting.income.income_trend_figure"
    assert figures.figure_id(lambda: None) is None


def _income_trend():
    from analysis.reporting import income
    return income.income_trend_figure


def test_run_parameters_are_the_cell_defaults_then_the_injected():
    nb = _notebook([], parameters={"region": "B县", "years": [2021, 2023]})
    assert figures.run_parameters(nb) == {"region": "B县", "years": [2021, 2023], "lang": "en"}
    assert figures.run_parameters(_notebook([]))["years"] == [2020, 2024]


# ------------------------------------------------------------------------------------------- the store
@functools.cache
def _demo_shown() -> tuple[str, dict]:
    return _shown(demo_figure())


def _recorded(tmp_path, **kwargs):
    png, metadata = _demo_shown()
    nb = _notebook([new_code_cell(f"import {__name__} as demo"),
                    new_code_cell("demo.demo_figure(ctx)", outputs=[_picture_output(png, metadata)])], **kwargs)
    kept = figures.record(tmp_path, "A县", "01-demo", nb, lang="en", inputs=INPUTS, specs=[SPEC])
    return kept, base64.b64decode(png)


def test_a_fresh_picture_is_taken_and_a_stale_one_is_not(tmp_path):
    kept, png = _recorded(tmp_path)
    assert kept == 1
    index = json.loads((tmp_path / figures.FOLDER / "01-demo.json").read_text(encoding="utf-8"))
    assert index["key"] == figures.key("A县", "en", [2020, 2024], INPUTS)
    call = functools.partial(demo_figure, None)
    fresh = figures.Store.open(tmp_path, figures.key("A县", "en", [2020, 2024], INPUTS))
    assert fresh.get(call) == (png, "Demo title")
    for stale in (figures.key("A县", "zh", [2020, 2024], INPUTS), figures.key("A县", "en", [2020, 2023], INPUTS),
                  figures.key("A县", "en", [2020, 2024], {**INPUTS, "code": "c2"}),
                  figures.key("A县", "en", [2020, 2024], {**INPUTS, "steps": "s2"})):
        assert figures.Store.open(tmp_path, stale).get(call) is None
    assert figures.Store.open(tmp_path / "nowhere", index["key"]).get(call) is None


def test_pages_under_their_own_specification_or_parameters_keep_nothing(tmp_path):
    kept, _ = _recorded(tmp_path)
    assert kept == 1 and len(list((tmp_path / figures.FOLDER).glob("01-demo.*.png"))) == 1
    # the same notebook showing a specification that is not the build's: the earlier record goes too
    kept, _ = _recorded(tmp_path, specs=[{**SPEC, "outcome": "workers"}])
    assert kept == 0 and not list((tmp_path / figures.FOLDER).iterdir())
    kept, _ = _recorded(tmp_path, specs=[SPEC])
    assert kept == 1
    kept, _ = _recorded(tmp_path, parameters={"region": "A县", "lang": "en", "threshold": 5000})
    assert kept == 0 and not list((tmp_path / figures.FOLDER).iterdir())


def test_a_failed_run_forgets_its_pictures(tmp_path):
    _recorded(tmp_path)
    figures.forget(tmp_path, "01-demo")
    assert not list((tmp_path / figures.FOLDER).iterdir())


def test_the_writer_takes_the_stored_picture_without_drawing(tmp_path):
    _, png = _recorded(tmp_path)
    store = figures.Store.open(tmp_path, figures.key("A县", "en", [2020, 2024], INPUTS))
    writer = documents.Writer(Document(str(documents.TEMPLATE)), "en", "source", store=store)
    before = CALLS["n"]
    writer.section(documents.Section("sections.income", (functools.partial(demo_figure, None),)))
    assert CALLS["n"] == before                      # not drawn again
    doc = writer.doc
    [shape] = doc.inline_shapes
    blob = doc.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
    assert blob == png
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert captions == ["Figure 1. Demo title"]
    # without a store the figure is drawn, to the same picture
    drawn = documents.Writer(Document(str(documents.TEMPLATE)), "en", "source")
    drawn.section(documents.Section("sections.income", (functools.partial(demo_figure, None),)))
    assert CALLS["n"] == before + 1
    shape = drawn.doc.inline_shapes[0]
    assert drawn.doc.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob == png


# ------------------------------------------------------------------------------ the published county
def _docx_pictures(path) -> list[bytes]:
    doc = Document(str(path))
    return [doc.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
            for s in doc.inline_shapes]


def _page_pictures(folder) -> list[bytes]:
    out = []
    for page in sorted(folder.glob("0*.ipynb")):
        for cell in nbformat.read(page, as_version=4).cells:
            out += [base64.b64decode(o["data"]["image/png"]) for o in cell.get("outputs", [])
                    if "image/png" in o.get("data", {})]
    return out


def test_the_word_report_shows_the_pages_pictures(published_county):
    """The county's Word report (written after its pages) holds the very pictures its pages show."""
    reports, county = published_county
    folder = reports / county
    assert len(list((folder / figures.FOLDER).glob("*.json"))) == 5
    pictures, pages = _docx_pictures(folder / "report-zh.docx"), set(_page_pictures(folder))
    assert len(pictures) >= 10
    assert all(p in pages for p in pictures)


@pytest.mark.slow
def test_the_report_drawn_afresh_equals_the_one_from_the_pages(published_county, small_processed, tmp_path):
    reports, county = published_county
    drawn = documents.write(county, "zh", small_processed, tmp_path, reuse=False)
    assert _docx_pictures(drawn) == _docx_pictures(reports / county / "report-zh.docx")
