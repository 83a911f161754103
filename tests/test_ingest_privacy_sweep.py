"""No personal value planted in the corpus of hostile exports is ever shown: not in refusal messages,
warnings, log records or progress output, not in the ingest report, not in anything written.

Every case of ``tests/data/bad/`` runs through the command line (in this process, so that all it prints
and logs is captured). The values looked for are the names, ID numbers and phone numbers of the
reference export and the values each case plants elsewhere (``personal`` in ``expected.yaml``: a
signature under the table, a contact in an assistance cell, a bank card, 15-digit ID numbers, addresses).
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.publish import cli
from analysis.io import privacy

CORPUS = Path(__file__).resolve().parent / "data" / "bad"
MANIFEST = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
CLEAN = pd.read_csv(CORPUS / "clean.csv", dtype=str, keep_default_na=False)
PERSONAL = {v for c in ("姓名", "证件号码", "联系电话") for v in CLEAN[c] if len(v) >= 2}


def _written(folder: Path) -> list[str]:
    """The text of every file under ``folder``; for Parquet files, their text cells."""
    texts = []
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        if f.suffix == ".parquet":
            texts.append("\n".join(sorted(privacy._cells(f)[0])))
        else:
            texts.append(f.read_text(encoding="utf-8", errors="replace"))
    return texts


def test_planted_values_are_in_the_corpus():
    """The sweep can fail: every value it looks for is really in a raw file of the corpus."""
    planted = {v for e in MANIFEST.values() for v in e.get("personal", [])}
    assert len(planted) >= 15 and len(PERSONAL) >= 60
    raw = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in CORPUS.rglob("*.csv"))
    assert planted <= {v for v in planted if v in raw}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_nothing_shown_or_written_holds_a_personal_value(name, tmp_path, capsys, caplog):
    entry = MANIFEST[name]
    out, report = tmp_path / "out", tmp_path / "reports" / "ingest_report.md"
    args = ["ingest", str(CORPUS / name), "--out", str(out), "--report", str(report)]
    if "counties" in entry:
        (tmp_path / "counties.txt").write_text("\n".join(entry["counties"]), encoding="utf-8")
        args += ["--counties", str(tmp_path / "counties.txt")]
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        code = cli.main(args)                          # with the progress bar
    assert code == (2 if entry["outcome"] == "refused" else 0)
    shown = capsys.readouterr()
    texts = [shown.out, shown.err, caplog.text, *(str(w.message) for w in warned), *_written(tmp_path)]
    assert any(entry["message"] in t for t in texts)  # the run did say what happened
    values = PERSONAL | set(entry.get("personal", []))
    leaks = sorted({v for v in values for t in texts if v in t})
    assert not leaks, f"{len(leaks)} personal value(s) shown or written, e.g. {privacy._mask(leaks[0], 1)}"

