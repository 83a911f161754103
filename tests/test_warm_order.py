"""Nothing a warm kernel keeps from one region changes another region's page.

Two counties' employment and training pages (the ones whose studies are read through ``build.study``)
are rendered in one warm kernel, in one order and then in the other; every number each page shows must
be the same either way.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from analysis.io import data
from analysis.publish import pipeline

ROOT = Path(__file__).resolve().parents[1]


def _numbers(path: Path) -> list[str]:
    """The numbers of every text, Markdown and HTML output of an executed notebook, in order (the random
    element ids that pandas' Styler puts in HTML tables removed)."""
    nb = nbformat.read(path, as_version=4)
    shown = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data_ = output.get("data", {})
            for kind in ("text/markdown", "text/html"):
                if kind in data_:
                    text = re.sub(r"T_[0-9a-f]{5}\w*", "", "".join(data_[kind]))
                    shown += re.findall(r"-?\d[\d,]*(?:\.\d+)?", text)
    return shown


def test_two_regions_in_one_warm_kernel_give_the_same_pages_in_either_order(small_processed, tmp_path):
    first, second = data.list_regions(small_processed)[:2]
    pages = {}
    for order in ((first, second), (second, first)):
        out = tmp_path / "-".join(order)
        summary = pipeline.run(list(order), ["02", "03"], lang="en", jobs=1, engine="warm",
                               data_dir=small_processed, output_dir=out, notebooks_dir=ROOT / "notebooks",
                               progress=False, force=True)
        assert summary.exit_code == 0, summary.failed
        assert [r.region for r in summary.rows][:1] == [order[0]]
        pages[order] = {(region, nb): _numbers(out / region / f"{nb}.ipynb")
                        for region in order for nb in ("02-employment", "03-training-impact")}
    one, other = pages.values()
    assert one.keys() == other.keys()
    for key in one:
        assert one[key], f"{key} shows no numbers"
        assert one[key] == other[key], key
