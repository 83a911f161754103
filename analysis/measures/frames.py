"""Helpers every measure shares: region keys, the threshold of each row, grouping and yes/no columns."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis import config
from analysis.core.checks import require_columns
from analysis.errors import ParameterError


def require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """The households table must have ``columns`` for ``what`` (:func:`analysis.core.checks.require_columns`)."""
    require_columns(frame, columns, f"the households table, for {what}")


def region_keys(households: pd.DataFrame, by: Sequence[str] | str) -> list[str]:
    """``by`` checked and returned as a list, followed by ``year``."""
    by = (by,) if isinstance(by, str) else tuple(by)
    if not by or not all(isinstance(c, str) for c in by):
        raise ParameterError(f"by must be a non-empty tuple of column names, e.g. ('county',); got {by!r}")
    if "year" in by:
        raise ParameterError("by must not contain 'year': every output is already by region x year")
    if len(set(by)) != len(by):
        raise ParameterError(f"by names a column twice: {by!r}")
    require(households, [*by, "year"], f"by={by!r}")
    return [*by, "year"]


def row_thresholds(households: pd.DataFrame, thresholds) -> pd.Series:
    """The monitoring threshold of every row: from the configured table, a table passed, or one number."""
    if thresholds is None:
        return config.threshold_for(households)
    if isinstance(thresholds, int | float) and not isinstance(thresholds, bool):
        if not thresholds > 0:
            raise ParameterError(f"thresholds must be positive yuan per person; got {thresholds}")
        return pd.Series(float(thresholds), index=households.index)
    if isinstance(thresholds, pd.DataFrame):
        missing = [c for c in ("province", "year", "threshold") if c not in thresholds.columns]
        if missing:
            raise ParameterError(f"the thresholds table needs columns province, year, threshold; "
                                 f"missing {missing}")
        return config.threshold_for(households, table=thresholds)
    raise ParameterError("thresholds must be None (use analysis/config/thresholds.csv), a table with "
                         f"columns province, year, threshold, or one number; got {type(thresholds).__name__}")


def group_by(values: pd.Series | pd.DataFrame, frame: pd.DataFrame, keys: list[str]):
    return values.groupby([frame[k] for k in keys], dropna=False, sort=True)


def as_bool(series: pd.Series, missing: bool) -> pd.Series:
    """A yes/no column as plain booleans, ``missing`` where the value is missing."""
    return series.astype("boolean").fillna(missing).astype(bool)
