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


def suppress_parts(table: pd.DataFrame, parts: Sequence[str], k: int = 5, total: str | None = None,
                   dependents: dict[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Primary and complementary suppression of counts that add up to a shown total, row by row.

    A part counting 1 to ``k - 1`` households is blanked (primary). A row's blanked parts could then
    be recovered by subtraction from the total and the parts still shown, so further parts are blanked
    (complementary), smallest first, until at least two are blanked and together they count ``k`` or
    more households; if the parts run out, the total is blanked too. This is the usual rule of
    cell-suppression for one-dimensional tables (Hundepool et al. 2012, *Statistical Disclosure
    Control*, ch. 4: a protected cell must not be recoverable from the margins, and a group of
    suppressed cells must not itself be a small cell). Zero counts are not blanked: a zero discloses no
    household's attribute beyond the group's emptiness.

    Parameters
    ----------
    table : DataFrame
        One row per cell group (e.g. region x year), with the part counts as columns.
    parts : sequence of str
        The count columns that add up to ``total`` (or to a total a reader knows from elsewhere).
    k : int
        Minimum number of households a shown count (or a group of blanked counts) may describe.
    total : str, optional
        The column holding the parts' total; blanked when the parts alone cannot protect a cell.
    dependents : dict, optional
        Columns resting on a count (a share, a person count), blanked with it: ``{count: [columns]}``.

    Returns
    -------
    DataFrame
        A copy with the blanked cells missing (integer columns become ``Int64``).

    Examples
    --------
    >>> t = pd.DataFrame({"total": [7, 20, 9, 3], "a": [3, 10, 6, 3], "b": [1, 4, 3, 0], "c": [3, 6, 0, 0]})
    >>> suppress_parts(t, ["a", "b", "c"], k=5, total="total").isna()
       total      a      b      c
    0  False   True   True   True
    1  False  False   True   True
    2  False   True   True  False
    3   True   True  False  False

    Row 0: all three parts are small and together count 7 households, so the total stays. Row 1: b (4)
    is small; c (6), the smallest other part, is blanked too, so b cannot be recovered. Row 2: b (3)
    is small; a, the only other non-zero part, is blanked with it. Row 3: a (3) is small and no other
    part can hide it, so the total goes too.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError(f"k must be a whole number of households >= 1; got {k!r}")
    parts = list(parts)
    missing = [c for c in [*parts, *([total] if total else []), *(dependents or {})] if c not in table.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the table")
    values = table[parts].astype("float64").to_numpy()
    hidden = (values > 0) & (values < k)
    for _ in parts:   # at most one more part per pass, each pass vectorised over rows
        count = hidden.sum(axis=1)
        weight = np.where(hidden, np.nan_to_num(values), 0).sum(axis=1)
        exposed = (count == 1) | ((count > 1) & (weight < k))
        candidates = np.where(~hidden & (np.nan_to_num(values) > 0), values, np.inf)
        pick = candidates.argmin(axis=1)
        can = exposed & np.isfinite(candidates.min(axis=1))
        hidden[np.flatnonzero(can), pick[can]] = True
        if not can.any():
            break
    count = hidden.sum(axis=1)
    weight = np.where(hidden, np.nan_to_num(values), 0).sum(axis=1)
    total_hidden = (count == 1) | ((count > 1) & (weight < k))
    out = table.copy()
    masks = {c: hidden[:, i] for i, c in enumerate(parts)}
    if total:
        masks[total] = total_hidden | masks.get(total, np.zeros(len(table), bool))
    for col, mask in masks.items():
        for c in [col, *(dependents or {}).get(col, [])]:
            series = out[c].astype("Int64") if pd.api.types.is_integer_dtype(out[c]) else out[c]
            out[c] = series.mask(mask)
    return out


def suppress_differences(counts: pd.Series, keep: pd.Series, k: int = 5) -> pd.Series:
    """Counts of one nested series (the same rule at several parameter values) with every count blanked
    whose difference from a count shown could describe 1 to ``k - 1`` households.

    Counts at neighbouring parameter values differ by the households between the two values, so two
    shown counts 3 apart publish a group of 3. The ``keep`` count (the configured value, published
    elsewhere) is shown if it may be; then counts are shown nearest first while each differs from every
    count already shown by 0 or at least ``k`` and is itself 0 or at least ``k`` (Hundepool et al. 2012,
    ch. 4: disclosure by differencing of nested tables).

    Examples
    --------
    >>> counts = pd.Series([20, 17, 12, 4, 0])
    >>> suppress_differences(counts, pd.Series([False, False, True, False, False])).tolist()
    [nan, 17.0, 12.0, nan, 0.0]
    """
    values = counts.astype("float64").to_numpy()
    order = np.argsort(~keep.to_numpy(dtype=bool), kind="stable")
    first = int(order[0]) if keep.any() else None
    if first is not None:   # nearest to the kept count first
        order = sorted(range(len(values)), key=lambda i: (i != first, abs(i - first)))
    shown: list[float] = []
    out = np.full(len(values), np.nan)
    for i in order:   # a handful of parameter values per series
        v = values[i]
        if np.isnan(v) or 0 < v < k:
            continue
        if all(v == s or abs(v - s) >= k for s in shown):
            shown.append(v)
            out[i] = v
    return pd.Series(out, index=counts.index)
