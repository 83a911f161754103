"""Result tables for all regions, computed once and stored under ``data/processed/results/``.

Heavy computation happens here, in one vectorized pass over all regions; each per-region notebook then
reads its slice. ``build()`` is what ``python -m analysis run`` calls before rendering.

Examples
--------
>>> from analysis import results
>>> results.build()  # doctest: +SKIP
>>> results.load("income_growth", region="北岭县")  # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from analysis.io import data
from analysis.measures import indicators
from analysis.config import DATA_PROCESSED

RESULTS = "results"


def _income(h, m):
    return indicators.income_growth(h, by=("prefecture", "county"))


def _income_prefecture(h, m):
    return indicators.income_growth(h, by=("prefecture",))


def _groups(h, m):
    return indicators.group_growth(h, by=("prefecture", "county"))


def _groups_prefecture(h, m):
    return indicators.group_growth(h, by=("prefecture",))


def _employment(h, m):
    return indicators.employment(m, by=("prefecture", "county"))


def _employment_prefecture(h, m):
    return indicators.employment(m, by=("prefecture",))


def _training(h, m):
    return indicators.training(m, by=("prefecture", "county"))


# name -> function(households, members) -> table with region columns and year
TABLES: dict[str, Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]] = {
    "income_growth": _income,
    "income_growth_prefecture": _income_prefecture,
    "group_growth": _groups,
    "group_growth_prefecture": _groups_prefecture,
    "employment": _employment,
    "employment_prefecture": _employment_prefecture,
    "training": _training,
}


def _register_topic_tables() -> None:
    """Add the result tables declared by the topic report modules (``RESULT_TABLES`` in each).

    Imported here rather than at the top because those modules read results through this one.
    """
    from analysis import report_assessment, report_employment, report_monitoring, report_training
    for module in (report_employment, report_training, report_monitoring, report_assessment):
        TABLES.update(module.RESULT_TABLES)


def results_dir(data_dir: str | Path | None = None) -> Path:
    return Path(data_dir or DATA_PROCESSED) / RESULTS


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically (a temporary name in the same folder, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def fingerprint(data_dir: str | Path | None = None) -> str:
    """A hash of everything the result tables depend on: the processed data, the configuration and the code."""
    digest = hashlib.sha256()
    folder = Path(data_dir or DATA_PROCESSED)
    package = Path(__file__).resolve().parent
    files = sorted([*folder.glob("households/**/*.parquet"), *folder.glob("members/**/*.parquet")]) + \
        sorted([*package.rglob("*.py"), *package.glob("config/*")])
    for path in files:
        digest.update(str(path.relative_to(folder if path.is_relative_to(folder) else package)).encode())
        digest.update(path.read_bytes())
    digest.update(os.environ.get("ANALYSIS_CONFIG_DIR", "").encode())
    digest.update(os.environ.get("ANALYSIS_BOOTSTRAP_REPLICATES", "").encode())
    return digest.hexdigest()


def build(data_dir: str | Path | None = None, tables: list[str] | None = None, force: bool = False,
          progress: bool = False) -> dict[str, Path]:
    """Compute every result table for all regions and store it; returns the paths written.

    Skipped (returning ``{}``) when the data, configuration and code are unchanged since the last
    complete build, unless ``force``.
    """
    _register_topic_tables()
    stamp = results_dir(data_dir) / ".fingerprint"
    current = fingerprint(data_dir)
    if not force and tables is None and stamp.exists() and stamp.read_text() == current:
        return {}
    households = data.load("households", data_dir)
    members = data.load("members", data_dir)
    written = {}
    names = tables or list(TABLES)
    for name in tqdm(names, desc="results", unit="table", disable=not progress):
        path = results_dir(data_dir) / f"{name}.parquet"
        write_parquet(TABLES[name](households, members), path)
        written[name] = path
    if tables is None:
        stamp.write_text(current)
    return written


def load(name: str, data_dir: str | Path | None = None, region: str | None = None,
         level: str = "county") -> pd.DataFrame:
    """A stored result table, optionally one region's rows (by ``level``)."""
    path = results_dir(data_dir) / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no result table {name!r} at {path}; run `python -m analysis build` first")
    frame = _read(path)
    if region is not None:
        return frame[frame[level] == region].reset_index(drop=True)
    return frame.copy()


# Result tables read in this process, by (file, modification time, size): a report page asks for the same
# few tables dozens of times, and a warm kernel renders many pages. A rebuilt table has a new stamp.
_TABLES: dict[tuple, pd.DataFrame] = {}
_TABLES_MAX = 64


def _read(path: Path) -> pd.DataFrame:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    if key not in _TABLES:
        for old in [k for k in _TABLES if k[0] == key[0]]:
            del _TABLES[old]
        if len(_TABLES) >= _TABLES_MAX:
            del _TABLES[next(iter(_TABLES))]
        _TABLES[key] = pd.read_parquet(path)
    return _TABLES[key]
