"""Notebooks: exactly one parameters cell with the expected names, no logic in cells, and a papermill run."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
COMMON = {"region", "years", "data_dir", "output_dir", "lang"}


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01-income-growth.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exactly_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = set(pm.inspect_notebook(str(path)))
    assert COMMON <= names
    # literal defaults only: every statement in the cell is an annotated assignment of a literal
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.AnnAssign)
        ast.literal_eval(node.value)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_hold_no_logic(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Lambda, ast.For, ast.While)), cell.source
            if isinstance(node, ast.ExceptHandler):
                raise AssertionError(f"try/except in a notebook cell: {cell.source}")
        assert not cell.get("outputs"), "notebooks are committed without outputs"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_income_notebook_runs_for_one_county(small_raw, small_processed, tmp_path, lang):
    from analysis.io import data
    region = data.list_regions(small_processed)[0]
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "01-income-growth.ipynb"), str(out), kernel_name="python3",
                        parameters={"region": region, "data_dir": str(small_processed),
                                    "output_dir": str(tmp_path / "reports" / region), "lang": lang},
                        progress_bar=False, cwd=str(ROOT / "notebooks"))
    nb = json.loads(out.read_text(encoding="utf-8"))
    images = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 4
    text = json.dumps(nb, ensure_ascii=False)
    assert region in text
    assert ("人均纯收入" in text) == (lang == "zh")
    assert (tmp_path / "reports" / region / "01-income-growth.xlsx").exists()
    # nothing the run wrote holds a name, ID number or phone number of the raw exports
    from analysis.io import privacy
    assert privacy.scan([tmp_path], privacy.raw_identities([small_raw])) == []


def test_wrong_region_lists_valid_ones(small_processed, tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as info:
        pm.execute_notebook(str(ROOT / "notebooks" / "01-income-growth.ipynb"), str(tmp_path / "o.ipynb"),
                            kernel_name="python3", parameters={"region": "不存在县", "data_dir": str(small_processed)},
                            progress_bar=False)
    assert "unknown county '不存在县'" in str(info.value)
