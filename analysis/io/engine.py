"""Indicators on Parquet datasets larger than is comfortable for pandas, computed by DuckDB.

The in-memory functions of :mod:`analysis.measures.indicators` accept a Parquet path instead of a DataFrame and then
call the functions here, which push the aggregation into DuckDB (streaming over row groups, spilling to
disk under a memory limit) and return the same small region x year table. A test checks that both paths
give identical results.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

SOURCES = ("wage", "business", "property", "transfer")
MEMORY_LIMIT = os.environ.get("ANALYSIS_DUCKDB_MEMORY", "1GB")


def parquet_glob(path: str | Path) -> str:
    """A glob over the Parquet files of a dataset folder (hive-partitioned or flat) or a single file."""
    path = Path(path)
    if path.is_dir():
        return str(path / "**" / "*.parquet")
    if not path.exists():
        raise FileNotFoundError(f"no Parquet data at {path}")
    return str(path)


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a memory limit and a spill folder, using every core."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/analysis-duckdb'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def income_aggregates(path: str | Path, by: list[str], thresholds: pd.DataFrame) -> pd.DataFrame:
    """The sums behind :func:`analysis.measures.indicators.income_growth`, one row per ``by`` x year."""
    con = connect()
    con.register("thr", thresholds[["province", "year", "threshold"]].astype({"year": "int64"}))
    cols = ", ".join(_ident(c) for c in by)
    source = f"read_parquet('{parquet_glob(path)}', hive_partitioning = true, union_by_name = true)"
    names = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    province = "h.province" if "province" in names else "NULL"
    query = f"""
    WITH h AS (
        SELECT {", ".join(f"h.{_ident(c)}" for c in by)}, CAST(h.year AS BIGINT) AS year,
               CAST(h.size AS DOUBLE) AS persons, h.net_income, h.net_income_pc,
               h.income_wage AS wage, h.income_business - h.expense_production AS business,
               h.income_property AS property, h.income_transfer AS transfer,
               coalesce(own.threshold, star.threshold) AS thr
        FROM {source} AS h
        LEFT JOIN thr AS own ON own.province = {province} AND own.year = h.year
        LEFT JOIN thr AS star ON star.province = '*' AND star.year = h.year
    ),
    ranked AS (
        SELECT {cols}, year, net_income_pc,
               sum(persons) OVER (PARTITION BY {cols}, year ORDER BY net_income_pc
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
               sum(persons) OVER (PARTITION BY {cols}, year) / 2 AS half
        FROM h
    ),
    med AS (
        SELECT {cols}, year, min(net_income_pc) AS median_income_pc FROM ranked WHERE cum >= half GROUP BY ALL
    ),
    agg AS (
        SELECT {cols}, year, count(*) AS households, sum(persons) AS persons, sum(net_income) AS net_income,
               {", ".join(f"sum({s}) AS {s}" for s in SOURCES)},
               sum(CASE WHEN net_income_pc < thr THEN persons ELSE 0 END) AS below,
               sum(persons * thr) AS thr_w, count(*) FILTER (WHERE thr IS NULL) AS no_threshold
        FROM h GROUP BY ALL
    )
    SELECT * FROM agg JOIN med USING ({cols}, year)
    """
    out = con.execute(query).df()
    con.close()
    return out
