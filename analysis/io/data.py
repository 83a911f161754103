"""Reading the canonical processed tables.

``data/processed/`` holds one Parquet dataset per table, partitioned by county so that one region is
read without reading the others::

    data/processed/households/county=<name>/part-0.parquet
    data/processed/members/county=<name>/part-0.parquet
    data/processed/results/<table>.parquet        (indicator tables for all regions)

Examples
--------
>>> from analysis.io import data
>>> data.list_regions()  # doctest: +SKIP
['北岭县', ...]
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from analysis.io import schema
from analysis.config import DATA_PROCESSED
from analysis.errors import ParameterError

REGION_LEVELS = ("county", "prefecture")


def table_path(table: str, data_dir: str | Path | None = None) -> Path:
    """Where the processed ``table`` lives."""
    return Path(data_dir or DATA_PROCESSED) / table


def _dataset(table: str, data_dir: str | Path | None) -> ds.Dataset:
    path = table_path(table, data_dir)
    if not path.exists():
        raise FileNotFoundError(
            f"no processed {table} table at {path}; run `python -m analysis ingest` on your exports first "
            "(or `make report` for the bundled sample)")
    return ds.dataset(path, format="parquet", partitioning="hive")


def load(table: str, data_dir: str | Path | None = None, region: str | None = None,
         level: str = "county", columns: list[str] | None = None) -> pd.DataFrame:
    """Read a canonical table, optionally only one region's rows, with canonical dtypes.

    Parameters
    ----------
    table : {"households", "members"}
    data_dir : the processed data folder (default ``data/processed``).
    region : a county (or prefecture when ``level="prefecture"``) name; ``None`` reads all.
    columns : a subset of columns to read (default all).
    """
    dataset = _dataset(table, data_dir)
    filt = None
    if region is not None:
        check_region(region, data_dir, level)
        filt = ds.field(level) == region
    frame = dataset.to_table(filter=filt, columns=columns).to_pandas()
    for col in ("county",):
        if col in frame.columns:
            frame[col] = frame[col].astype("string")
    if columns is None:
        frame = schema.conform(frame, table)
    return frame


def list_regions(data_dir: str | Path | None = None, level: str = "county") -> list[str]:
    """Sorted names of the regions at ``level`` in the processed households table."""
    if level not in REGION_LEVELS:
        raise ParameterError(f"level must be one of {list(REGION_LEVELS)}, not {level!r}")
    table = _dataset("households", data_dir).to_table(columns=[level])
    return sorted(pd.unique(table.column(level).to_pandas().astype("string").dropna()).tolist())


def check_region(region: str, data_dir: str | Path | None = None, level: str = "county") -> str:
    """Return ``region`` if it is in the data, else raise :class:`ParameterError` listing the valid ones."""
    valid = list_regions(data_dir, level)
    if region not in valid:
        raise ParameterError(f"unknown {level} {region!r}; the data hold: {', '.join(valid)}")
    return region
