"""Disclosure control: blank table cells that describe too few households. The one home of it.

Every table a page, workbook or document shows passes through :func:`suppress_small` with
``k = analysis.config.min_households()`` (``publication.yaml``); counts that add up to a shown total also
through :func:`suppress_parts` (one dimension) or :func:`suppress_cells` (a two-way table with known row
and column totals), and nested series through :func:`suppress_differences`, so that no blank can be
recovered by subtraction. ``tests/test_published_artifacts.py`` reads every published artifact back and
checks the result.
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
        recovered from totals) is not done here: see :func:`suppress_parts` and :func:`suppress_cells`.
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



def _small_lines(values: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Lines whose total counts 1 to ``k - 1`` households (a small margin: withheld whole)."""
    total = values.sum(axis=axis)
    return (total > 0) & (total < k)


def _exposed_lines(values: np.ndarray, hidden: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Lines (rows for ``axis=1``, columns for ``axis=0``) whose blanked cells follow from the line's total:
    one blanked cell, or several that together count fewer than ``k`` (a small line, withheld whole, is
    not exposed: its total is itself a small count; nor is an empty line, all of whose cells are zero)."""
    count = hidden.sum(axis=axis)
    weight = np.where(hidden, values, 0).sum(axis=axis)
    total = values.sum(axis=axis)
    return ((count == 1) | ((count > 1) & (weight < k))) & (total >= k)


def _complement(values: np.ndarray, mask: np.ndarray, k: int) -> bool:
    """Blank one more cell of the first exposed line (rows first): a non-zero cell if there is one, else a
    zero; among those, one whose crossing line holds a single blank, then the smallest. False when no
    exposed line has a cell left to blank."""
    for axis in (1, 0):
        for line in np.flatnonzero(_exposed_lines(values, mask, k, axis)):
            cells = mask[line] if axis == 1 else mask[:, line]
            vals = values[line] if axis == 1 else values[:, line]
            free = np.flatnonzero(~cells & (vals > 0))
            if not len(free):
                free = np.flatnonzero(~cells)
            if not len(free):
                continue
            crossing = mask.sum(axis=0 if axis == 1 else 1)[free]
            rank = np.where(crossing == 1, 0, np.where(crossing >= 2, 1, 2))
            j = free[np.lexsort((free, vals[free], rank))[0]]
            mask[(line, j) if axis == 1 else (j, line)] = True
            return True
    return False


def suppress_cells(counts: pd.DataFrame, k: int = 5, hidden: pd.DataFrame | None = None) -> pd.DataFrame:
    """Primary and complementary suppression of a two-way table of counts whose row and column totals a
    reader knows (shown beside it, or derivable from shares or other tables).

    A cell counting 1 to ``k - 1`` households is blanked (primary), and so is every cell of a row or
    column whose total counts 1 to ``k - 1`` (zeros included: where so few households went says as
    much as where they did). A row or column holding one blanked cell, or blanked cells that together
    count fewer than ``k``, would give them away by subtraction from its total, so a further cell of
    that line is blanked (complementary): a non-zero one if any is left, else a zero; preferably one
    whose crossing line already holds a single blank (one cell then protects two lines), else the
    smallest; repeated until every line is protected or has nothing left to blank (reported by
    :func:`unprotected_lines`). A blank that the totals still fix exactly (one joining two separate
    groups of blanks, :func:`fixed_cells`) gets a further blank that closes a cycle through it. This is
    the line rule of cell suppression (Hundepool et al. 2012,
    *Statistical Disclosure Control*, ch. 4; :func:`suppress_parts` applies it to one dimension).

    Parameters
    ----------
    counts : DataFrame
        Household counts, one row and one column per category (no total row or column).
    k : int
        Minimum number of households a shown count (or a line's group of blanked counts) may describe.
    hidden : DataFrame of bool, optional
        Cells to blank whatever their count (e.g. because another table blanks the same number).

    Returns
    -------
    DataFrame
        Booleans shaped like ``counts``: True where the cell is blanked.

    Examples
    --------
    >>> t = pd.DataFrame([[20, 3, 9], [8, 30, 0], [6, 7, 12]], index=list("abc"), columns=list("xyz"))
    >>> suppress_cells(t, k=5).astype(int)
       x  y  z
    a  0  1  1
    b  0  0  0
    c  0  1  1

    Cell (a, y) counts 3: blanked. Row a then needs a second blank: z, its smallest other cell (9).
    Column y then holds one blank: its smallest other cell, (c, y) = 7, goes too. Row c now holds one
    blank; of its cells, (c, z) sits in column z, which holds a single blank, so blanking it protects
    row c and column z at once (rather than the smaller (c, x) = 6, which would expose column x).
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError(f"k must be a whole number of households >= 1; got {k!r}")
    values = np.nan_to_num(counts.astype("float64").to_numpy())
    mask = (values > 0) & (values < k)
    mask |= _small_lines(values, k, 1)[:, None] | _small_lines(values, k, 0)[None, :]
    if hidden is not None:
        mask |= hidden.reindex(index=counts.index, columns=counts.columns).fillna(False).to_numpy(dtype=bool)
    for _ in range(values.size):   # one more cell per pass; the tables are small
        if not (_complement(values, mask, k) or _join_cycle(values, mask)):
            break
    return pd.DataFrame(mask, index=counts.index, columns=counts.columns)


def fixed_cells(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Blanked cells of a two-way table that its row and column totals fix exactly (a cell is fixed when
    its indicator lies in the row space of the line equations over the blanked cells: for instance a
    blank linking two otherwise separate groups of blanks). Returns a boolean array shaped like ``values``."""
    cells = np.argwhere(hidden)
    out = np.zeros(hidden.shape, bool)
    if not len(cells):
        return out
    lines = np.vstack([np.equal.outer(np.arange(hidden.shape[0]), cells[:, 0]),
                       np.equal.outer(np.arange(hidden.shape[1]), cells[:, 1])]).astype("float64")
    rank = np.linalg.matrix_rank(lines)
    for n, (i, j) in enumerate(cells):   # a few blanked cells
        unit = np.zeros((1, len(cells)))
        unit[0, n] = 1.0
        out[i, j] = np.linalg.matrix_rank(np.vstack([lines, unit])) == rank
    return out


def _join_cycle(values: np.ndarray, mask: np.ndarray) -> bool:
    """Blank one more cell so that a non-zero blank the totals still fix (see :func:`fixed_cells`) is no
    longer fixed: a cell of its row in a column that holds blanks (or of its column in such a row), the
    smallest non-zero first. False when no blank is fixed or nothing is left to blank."""
    fixed = fixed_cells(values, mask) & (values > 0)
    for i, j in np.argwhere(fixed):
        cols, rows = mask.any(axis=0), mask.any(axis=1)
        options = [(values[i, c] <= 0, values[i, c], (i, c)) for c in np.flatnonzero(~mask[i] & cols)]
        options += [(values[r, j] <= 0, values[r, j], (r, j)) for r in np.flatnonzero(~mask[:, j] & rows)]
        if options:
            mask[min(options)[2]] = True
            return True
    return False


def unprotected_lines(counts: pd.DataFrame, hidden: pd.DataFrame, k: int = 5) -> tuple[pd.Index, pd.Index]:
    """The rows and the columns of a two-way table whose blanked cells still follow from the line's total
    (every cell of the line is blanked and one of them, or their sum, is recoverable): their totals
    must be withheld. Rows and columns counting fewer than ``k`` households in all are not listed (their
    totals are small counts, blanked wherever they are shown).

    Examples
    --------
    >>> t = pd.DataFrame([[7]], index=["a"], columns=["x"])
    >>> rows, columns = unprotected_lines(t, pd.DataFrame([[True]], index=["a"], columns=["x"]))
    >>> list(rows), list(columns)
    (['a'], ['x'])
    """
    values = np.nan_to_num(counts.astype("float64").to_numpy())
    mask = hidden.to_numpy(dtype=bool)
    return (counts.index[_exposed_lines(values, mask, k, 1)], counts.columns[_exposed_lines(values, mask, k, 0)])
