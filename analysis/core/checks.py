"""Column checks at the boundary of a function: the one place that words the message."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ``ValueError`` naming every column of ``columns`` missing from ``frame``.

    ``what`` says what the columns are needed for and which table they belong to, e.g.
    ``"members, to date workshop openings"``.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"year": [2021]}), ["year", "county"], "households, for coverage")
    Traceback (most recent call last):
    ...
    ValueError: missing column(s) ['county'] in households, for coverage; it has ['year']
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing} in {what}; it has {list(frame.columns)}")
