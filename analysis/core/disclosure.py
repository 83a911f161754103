"""Disclosure control: blank table cells that describe too few households. The one home of it.

Every table a page, workbook or document shows passes through :func:`suppress_small` with
``k = analysis.config.min_households()`` (``publication.yaml``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import ParameterError


def suppress_small(table: pd.DataFrame, count_col: str, k: int = 5, columns: Sequence[str] | None = None,
                   flag: str = "suppressed") -> pd.DataFrame:
    """Blank the cells of rows describing fewer than ``k`` households (primary suppression).

    Parameters
    ----------
    table : DataFrame
        A results table with one row per cell (e.g. region x year).
    count_col : str
        The column counting the households a row describes.
    k : int
        Minimum number of households for a row to be shown.
    columns : sequence of str, optional
        Columns to blank; default every numeric column whose name does not start with ``year``
        (the count itself included).
    flag : str
        Name of the added boolean column marking blanked rows.

    Returns
    -------
    DataFrame
        A copy of ``table`` with the cells blanked (integer columns become nullable ``Int64``) and the
        ``flag`` column. Complementary suppression (hiding further cells so that a blanked one cannot be
        recovered from totals) is not done: publish totals with care.
    """
    if count_col not in table.columns:
        raise ValueError(f"count_col {count_col!r} is not a column of the table; "
                         f"columns: {list(table.columns)}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError(f"k must be a whole number of households >= 1; got {k!r}")
    if columns is None:
        columns = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])
                   and not pd.api.types.is_bool_dtype(table[c]) and not str(c).startswith("year")]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table")
    small = (table[count_col] < k).astype("boolean").fillna(False).astype(bool)
    out = table.copy()
    for c in columns:
        col = out[c]
        if pd.api.types.is_integer_dtype(col):
            col = col.astype("Int64")
        elif pd.api.types.is_bool_dtype(col):
            col = col.astype("boolean")
        out[c] = col.mask(small)
    out[flag] = small.to_numpy()
    return out
