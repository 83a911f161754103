"""Specifications: checked when made, seen in the notebook, and a change there changes what it shows.

The notebook tests run on the bundled sample (``make test`` builds it first): a prefecture of 120 villages,
enough for the workshop event study and the training estimates to exist under either specification.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from analysis import build
from analysis.errors import ParameterError
from analysis.io import data
from analysis.publish import pipeline
from analysis.studies.monitoring import MonitoringSpec
from analysis.studies.post_assessment import AssessmentSpec
from analysis.studies.training import TrainingSpec
from analysis.studies.workshops import WorkshopSpec

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "processed"
needs_sample = pytest.mark.skipif(not (SAMPLE / "results" / "steps.json").exists(),
                                  reason="the bundled sample is not built (make test builds it)")


# ---------------------------------------------------------------------------------------- checked when made
@pytest.mark.parametrize("make, field, allowed", [
    (lambda: WorkshopSpec(control_group="everyone"), "control_group", "not_yet_treated"),
    (lambda: WorkshopSpec(min_treated_villages=-1), "min_treated_villages", "at least 1"),
    (lambda: WorkshopSpec(outcome="happiness"), "outcome", "employment_rate"),
    (lambda: TrainingSpec(covariates=("age", "shoe_size")), "covariates", "education_years"),
    (lambda: TrainingSpec(methods=()), "methods", "at least 1"),
    (lambda: TrainingSpec(overlap_bounds=(0.9, 0.1)), "overlap_bounds", "low < high"),
    (lambda: TrainingSpec(max_smd=-0.1), "max_smd", "between 0 and 1"),
    (lambda: TrainingSpec(adjustment="guess"), "adjustment", "holm"),
    (lambda: MonitoringSpec(warning_level="purple"), "warning_level", "red"),
    (lambda: MonitoringSpec(near_band=0.5), "near_band", "at least 1"),
    (lambda: MonitoringSpec(identification_rules={"no_such_rule": {}}), "no_such_rule", "known rules"),
    (lambda: AssessmentSpec(system="missing.yaml"), "system", "no such file"),
    (lambda: AssessmentSpec(replicates=0), "replicates", "at least 1"),
])
def test_a_wrong_field_is_refused_by_name(make, field, allowed):
    with pytest.raises(ParameterError) as info:
        make()
    assert field in str(info.value) and allowed in str(info.value)


def test_specs_are_plain_data():
    spec = TrainingSpec(covariates=["age", "female"])  # a list is taken as a tuple
    assert spec.covariates == ("age", "female")
    assert spec.as_dict()["covariates"] == ["age", "female"]
    assert spec == TrainingSpec(covariates=("age", "female")) and spec != TrainingSpec()
    assert spec.key() != TrainingSpec().key()
    assert spec.replace(max_smd=0.2).max_smd == 0.2
    with pytest.raises(ParameterError, match="no field"):
        spec.replace(colour="red")
    bundle = spec._repr_mimebundle_()
    assert bundle[pipeline.SPEC_MIME_TYPE]["covariates"] == ["age", "female"]


def test_each_study_takes_its_own_spec(small_processed):
    region = data.list_regions(small_processed)[0]
    with pytest.raises(ParameterError, match="takes a WorkshopSpec"):
        build.study("workshop_effects", TrainingSpec(), data_dir=small_processed, prefecture="x", county=region,
                    years=(2020, 2024))
    with pytest.raises(ParameterError, match="no study"):
        build.study("horoscope", TrainingSpec(), data_dir=small_processed, prefecture="x", county=region,
                    years=(2020, 2024))


# ---------------------------------------------------------------------------------------- build.study
@needs_sample
def test_default_spec_reads_the_stored_tables_and_another_recomputes():
    county = data.list_regions(SAMPLE)[0]
    prefecture = build.load("income_growth", SAMPLE, region=county)["prefecture"].iloc[0]
    where = dict(data_dir=SAMPLE, prefecture=prefecture, county=county, years=(2020, 2024))
    stored = build.study("workshop_effects", WorkshopSpec(), **where)
    table = build.load("workshop_estimates", SAMPLE)
    assert stored["workshop_estimates"]["estimate"].tolist() == table[
        (table["scope"] == "prefecture") | (table["county"] == county).fillna(False)]["estimate"].tolist()
    other = build.study("workshop_effects", WorkshopSpec(control_group="not_yet_treated"), **where)
    assert other.spec.control_group == "not_yet_treated"
    a, b = (t["workshop_estimates"].set_index(["scope", "estimator"])["estimate"] for t in (stored, other))
    assert a[("prefecture", "cs_simple")] != pytest.approx(b[("prefecture", "cs_simple")], abs=1e-9)
    assert a[("prefecture", "twfe")] == pytest.approx(b[("prefecture", "twfe")])  # TWFE has no control choice


# ---------------------------------------------------------------------------------------- in the notebook
def _numbers(text: str) -> list[str]:
    """The numbers a reader sees in an output (Styler's random element ids removed first)."""
    return re.findall(r"-?\d[\d,]*(?:\.\d+)?", re.sub(r"T_[0-9a-f]{5}\w*", "", text))


def _run_until(notebook: str, cell_call: str, tmp_path: Path, replace: tuple[str, str] | None) -> list[str]:
    """Run ``notebook`` on the sample up to the cell calling ``cell_call`` (with the specification cell's
    text edited by ``replace``) and return the numbers that cell shows."""
    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    spec_cells = [c for c in nb.cells if "specification" in c.metadata.get("tags", [])]
    assert len(spec_cells) == 1, "one visible specification cell after the parameters"
    if replace is not None:
        assert replace[0] in spec_cells[0].source
        spec_cells[0].source = spec_cells[0].source.replace(*replace)
    last = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and cell_call in c.source)
    nb.cells = nb.cells[:last + 1]
    tmp_path.mkdir(parents=True, exist_ok=True)
    src, out = tmp_path / f"{notebook}-in.ipynb", tmp_path / f"{notebook}-out.ipynb"
    nbformat.write(nb, str(src))
    region = data.list_regions(SAMPLE)[0]
    pm.execute_notebook(str(src), str(out), kernel_name="python3", progress_bar=False, cwd=str(ROOT / "notebooks"),
                        parameters={"region": region, "data_dir": str(SAMPLE), "lang": "en",
                                    "output_dir": str(tmp_path / "reports")})
    executed = json.loads(out.read_text(encoding="utf-8"))
    shown = executed["cells"][-1]["outputs"]
    text = "".join("".join(o.get("data", {}).get(kind, "")) for o in shown for kind in ("text/html", "text/markdown"))
    spec_shown = [o["data"][pipeline.SPEC_MIME_TYPE] for c in executed["cells"] for o in c.get("outputs", [])
                  if pipeline.SPEC_MIME_TYPE in o.get("data", {})]
    assert len(spec_shown) == 1  # the specification cell shows the spec, which the runner records
    return _numbers(text)


@needs_sample
@pytest.mark.parametrize("notebook, call, edit", [
    ("02-employment", "employment.workshop_estimates_table(",
     ('control_group="never_treated"', 'control_group="not_yet_treated"')),
    ("03-training-impact", "training.att_table(",
     ('"skill_weak", "skill_skilled",\n                "poverty_exited"', '"poverty_exited"')),
])
def test_a_spec_changed_in_the_notebook_changes_the_estimate_shown(notebook, call, edit, tmp_path):
    default = _run_until(notebook, call, tmp_path / "default", None)
    changed = _run_until(notebook, call, tmp_path / "changed", edit)
    assert default and changed and len(default) == len(changed)
    assert default != changed


@needs_sample
def test_estimates_side_by_side_in_one_table_and_one_plot():
    from analysis.reporting import employment, page
    county = data.list_regions(SAMPLE)[0]
    ctx = page.context(county, [2020, 2024], data_dir=str(SAMPLE), lang="en")
    workshops = build.study("workshop_effects", WorkshopSpec(), **ctx.where)
    table = employment.estimates_table(workshops)
    assert set(table["estimator"]) == {"cs_simple", "twfe"}
    fig = employment.workshop_estimates_figure(ctx, workshops)
    ax = fig.axes[0]
    assert len(ax.containers) == len(table)  # one point with its interval per estimate
    points = sorted(c.lines[0].get_xdata()[0] for c in ax.containers)
    assert points == pytest.approx(sorted(100 * table["estimate"]))


def test_rewording_a_page_reruns_no_step_and_a_threshold_reruns_them(small_processed, tmp_path, monkeypatch):
    """Build fingerprints follow what changes numbers: not the message catalogue, but the thresholds."""
    from analysis.config import PACKAGE_CONFIG
    monkeypatch.setenv("ANALYSIS_CONFIG_DIR", str(tmp_path))
    (tmp_path / "messages.yaml").write_text((PACKAGE_CONFIG / "messages.yaml").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    before = build.fingerprints(small_processed)
    (tmp_path / "messages.yaml").write_text("# reworded\n" + (PACKAGE_CONFIG / "messages.yaml").read_text(
        encoding="utf-8"), encoding="utf-8")
    assert build.fingerprints(small_processed) == before
    (tmp_path / "thresholds.csv").write_text((PACKAGE_CONFIG / "thresholds.csv").read_text(encoding="utf-8")
                                             + "\n", encoding="utf-8")
    after = build.fingerprints(small_processed)
    assert all(after[name] != before[name] for name in before)
