"""Paths and configuration tables: thresholds, price deflators, header aliases, labels, weights.

Configuration is data: every table here is a file under ``analysis/config/`` that users edit. A user's
own copy of any of these files can be placed in a directory named by the environment variable
``ANALYSIS_CONFIG_DIR`` (or passed as ``config_dir``); a file found there replaces the shipped one.

Examples
--------
>>> from analysis import config
>>> config.thresholds().query("province == '*' and year == 2024")["threshold"].item()
7500.0
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from analysis.errors import DataError, Problem

PACKAGE_CONFIG = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_CONFIG.parent.parent
DATA_RAW = PROJECT_ROOT / "data" / "raw"
DATA_PROCESSED = PROJECT_ROOT / "data" / "processed"
REPORTS = PROJECT_ROOT / "reports"
NOTEBOOKS = PROJECT_ROOT / "notebooks"
SAMPLE_RAW = DATA_RAW / "sample"


def config_path(name: str, config_dir: str | Path | None = None) -> Path:
    """The file ``name`` from ``config_dir`` (or ``$ANALYSIS_CONFIG_DIR``) if it is there, else shipped."""
    user_dir = config_dir or os.environ.get("ANALYSIS_CONFIG_DIR")
    if user_dir and (Path(user_dir) / name).is_file():
        return Path(user_dir) / name
    return PACKAGE_CONFIG / name


def file_stamp(path: Path) -> tuple:
    """What identifies a file's content for a cache: its path, modification time and size."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=64)
def _read_yaml(path: Path, stamp: tuple) -> dict:
    """The parsed file; ``stamp`` (:func:`file_stamp`) keys the cache, so an edited file is read again."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise DataError(Problem(str(path), row, None, f"not valid YAML: {exc}")) from None


def load_yaml(name: str, config_dir: str | Path | None = None) -> dict:
    """A YAML configuration file as a dict (cached until the file changes; treat it as read-only)."""
    path = config_path(name, config_dir)
    return _read_yaml(path, file_stamp(path) if path.exists() else (str(path),))


def min_households(config_dir: str | Path | None = None) -> int:
    """Smallest number of households a published table cell may describe (``publication.yaml``).

    >>> min_households()
    5
    """
    value = load_yaml("publication.yaml", config_dir).get("min_households", 5)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(Problem(str(config_path("publication.yaml", config_dir)), None, "min_households",
                                f"must be a whole number of at least 1, not {value!r}"))
    return value


def thresholds(config_dir: str | Path | None = None) -> pd.DataFrame:
    """Monitoring income thresholds (监测范围), yuan per person per year, by ``province`` x ``year``.

    A row with province ``*`` applies to any province without its own row for that year.
    """
    path = config_path("thresholds.csv", config_dir)
    table = pd.read_csv(path, dtype={"province": "string"}, encoding="utf-8")
    table["threshold"] = table["threshold"].astype("float64")
    table["year"] = table["year"].astype("int64")
    return table[["province", "year", "threshold"]]


def threshold_for(frame: pd.DataFrame, config_dir: str | Path | None = None,
                  table: pd.DataFrame | None = None, strict: bool = True) -> pd.Series:
    """The monitoring threshold applying to each row of ``frame`` (by its ``province`` and ``year``).

    Raises :class:`DataError` naming the years for which no threshold is configured (with ``strict``;
    otherwise those rows get NaN).
    """
    table = thresholds(config_dir) if table is None else table
    province = frame["province"] if "province" in frame else pd.Series("*", index=frame.index)
    keys = pd.DataFrame({"province": province.astype("string").fillna("*"),
                         "year": frame["year"].astype("int64")}, index=frame.index)
    own = keys.merge(table, on=["province", "year"], how="left")["threshold"]
    default = keys[["year"]].merge(table[table["province"] == "*"], on="year", how="left")["threshold"]
    result = own.fillna(default)
    result.index = frame.index
    if strict and result.isna().any():
        years = sorted(keys.loc[result.isna(), "year"].unique().tolist())
        raise DataError(Problem("thresholds.csv", None, "threshold",
                                f"no monitoring threshold configured for year(s) {years}; "
                                "add rows for them (province '*' applies to all provinces)"))
    return result


def cpi_table(config_dir: str | Path | None = None) -> pd.DataFrame:
    """The deflator of each year (``cpi.csv``): the rural consumer price index (农村居民消费价格指数,
    previous year = 100) where the table gives one, else the all-items national index, with the index
    used (``deflator``: ``rural`` or ``all_items``) and its source. Rural households' real income is
    deflated by the rural index in official statistics; fill ``rural_cpi_prev_year_100`` (and
    ``rural_source``) from the NBS communiqué or the provincial statistical yearbook to use it."""
    path = config_path("cpi.csv", config_dir)
    table = pd.read_csv(path, encoding="utf-8").sort_values("year").reset_index(drop=True)
    for column in ("cpi_prev_year_100", "rural_cpi_prev_year_100"):
        if column in table and pd.to_numeric(table[column], errors="coerce").isna().ne(table[column].isna()).any():
            row = int(pd.to_numeric(table[column], errors="coerce").isna().ne(table[column].isna()).idxmax())
            raise DataError(Problem(str(path), row + 2, column, f"{table.at[row, column]!r} is not a number"))
    rural = table["rural_cpi_prev_year_100"] if "rural_cpi_prev_year_100" in table else pd.Series(float("nan"),
                                                                                                   index=table.index)
    rural_source = table["rural_source"] if "rural_source" in table else pd.Series("", index=table.index)
    use_rural = rural.notna()
    return pd.DataFrame({"year": table["year"].astype("int64"),
                         "index_prev_year_100": rural.where(use_rural, table["cpi_prev_year_100"]).astype("float64"),
                         "deflator": ["rural" if r else "all_items" for r in use_rural],
                         "source": rural_source.where(use_rural, table["source"]).fillna("")})


def cpi_index(config_dir: str | Path | None = None, base_year: int = 2020) -> pd.Series:
    """Consumer price level by year, ``base_year`` = 1.0, chained from :func:`cpi_table` (rural where given)."""
    table = cpi_table(config_dir)
    level = (table["index_prev_year_100"] / 100).cumprod()
    level.index = table["year"]
    if base_year not in level.index:
        raise DataError(Problem("cpi.csv", None, "year", f"base year {base_year} is not in the table"))
    return level / level[base_year]


BENCHMARK_COLUMNS = ("indicator", "scope", "year", "value", "unit", "source")


def benchmarks(indicator: str, scope: str = "national", config_dir: str | Path | None = None) -> pd.DataFrame:
    """Published reference values users edit (``benchmarks.csv``): one row per indicator x scope x year,
    with its unit and source. ``scope`` is ``national`` or a province's name (its own targets); returns
    ``year``, ``value``, ``unit``, ``source`` of ``indicator`` in ``scope``, sorted by year (empty when
    the table has none)."""
    path = config_path("benchmarks.csv", config_dir)
    table = pd.read_csv(path, encoding="utf-8", dtype={"indicator": "string", "scope": "string"})
    missing = [c for c in BENCHMARK_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(Problem(str(path), None, ", ".join(missing), f"missing column(s); the table needs "
                                f"{', '.join(BENCHMARK_COLUMNS)}"))
    for column in ("year", "value"):
        bad = pd.to_numeric(table[column], errors="coerce").isna()
        if bad.any():
            row = int(bad.idxmax())
            raise DataError(Problem(str(path), row + 2, column, f"{table.at[row, column]!r} is not a number"))
    rows = table[(table["indicator"] == indicator) & (table["scope"] == scope)]
    return rows.assign(year=rows["year"].astype("int64"), value=rows["value"].astype("float64"))[
        ["year", "value", "unit", "source"]].sort_values("year").reset_index(drop=True)


def official_workers(config_dir: str | Path | None = None) -> dict:
    """Whose work the official 务工规模 counts (``employment.yaml``): household types, whether monitoring
    targets are added, and the working age; checked."""
    spec = load_yaml("employment.yaml", config_dir).get("official_workers", {})
    where = str(config_path("employment.yaml", config_dir))
    types = spec.get("household_types", ["poverty_exited"])
    age = spec.get("working_age", [16, 64])
    monitored = spec.get("include_monitoring_targets", False)
    if not (isinstance(types, list) and types and all(t in ("poverty_exited", "general") for t in types)):
        raise DataError(Problem(where, None, "official_workers.household_types",
                                f"must be a list of poverty_exited and/or general, not {types!r}"))
    if not (isinstance(age, list) and len(age) == 2 and all(isinstance(a, int | float) for a in age)
            and age[0] <= age[1]):
        raise DataError(Problem(where, None, "official_workers.working_age", f"must be [low, high], not {age!r}"))
    if not isinstance(monitored, bool):
        raise DataError(Problem(where, None, "official_workers.include_monitoring_targets",
                                f"must be true or false, not {monitored!r}"))
    return {"household_types": list(types), "include_monitoring_targets": monitored, "working_age": tuple(age)}


def visit_capacity(config_dir: str | Path | None = None) -> int:
    """Households a county's staff can visit in a year on the early warning's list (``risk_score.yaml``,
    ``visit_capacity``): the early-warning validation counts precision and recall at this many visits."""
    value = load_yaml("risk_score.yaml", config_dir).get("visit_capacity", 20)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(Problem(str(config_path("risk_score.yaml", config_dir)), None, "visit_capacity",
                                f"must be a whole number of households >= 1, not {value!r}"))
    return value


def min_events(config_dir: str | Path | None = None) -> int:
    """Fewest events a published model figure (AUC, precision, recall) may rest on (``publication.yaml``)."""
    value = load_yaml("publication.yaml", config_dir).get("min_events", 10)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(Problem(str(config_path("publication.yaml", config_dir)), None, "min_events",
                                f"must be a whole number >= 1, not {value!r}"))
    return value


def restricted_dir(config_dir: str | Path | None = None) -> Path:
    """Folder of household-level follow-up lists (``publication.yaml``; relative to the project)."""
    folder = Path(load_yaml("publication.yaml", config_dir).get("restricted_dir", "restricted"))
    return folder if folder.is_absolute() else PROJECT_ROOT / folder
