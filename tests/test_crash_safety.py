"""Killing `python -m analysis run` at any moment leaves complete pages (old or new), and a re-run completes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "analysis", "run", "--no-documents", *args], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _pages_complete(reports: Path) -> list[Path]:
    pages = sorted(p for p in reports.rglob("*.html") if not p.name.startswith("."))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>"), f"half-written page: {page}"
    for page in sorted(reports.rglob("*.ipynb")):
        if not page.name.startswith("."):
            import json
            json.loads(page.read_text(encoding="utf-8"))          # a complete notebook parses
    return pages


def test_killed_runs_leave_complete_reports(small_processed, tmp_path):
    reports = tmp_path / "reports"
    common = ["--notebook", "01", "--data-dir", str(small_processed), "--output-dir", str(reports), "--lang", "en",
              "--jobs", "2"]
    first = _run(common)
    assert first.wait(timeout=600) == 0, first.stderr.read()
    baseline = _pages_complete(reports)
    assert len(baseline) == 4          # 3 counties + index
    rng = np.random.default_rng(2)
    for delay in rng.uniform(1.0, 12.0, size=3):
        proc = _run([*common, "--force"])
        time.sleep(float(delay))
        os.killpg(proc.pid, signal.SIGKILL)         # the runner and its kernels, at once, with no clean-up
        proc.wait(timeout=60)
        assert _pages_complete(reports) == baseline   # every page still there and whole
    final = _run(common)
    assert final.wait(timeout=600) == 0, final.stderr.read()
    assert _pages_complete(reports) == baseline
