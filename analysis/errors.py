"""Errors about data, located by file, row and column, in plain words.

A :class:`DataError` carries every :class:`Problem` found, not only the first, so that a user can fix a
file in one pass. The command line prints them and exits non-zero without a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in one place.

    ``row`` is the row number a person sees when opening the file in a spreadsheet (the header is
    row 1, the first data row is row 2); ``None`` when the problem is about the whole file or column.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


class DataError(ValueError):
    """Input data that cannot be used as it is; ``problems`` lists every one found."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(self.report())

    def report(self, limit: int = 200) -> str:
        """All problems, one a line (at most ``limit``, then a count of the rest)."""
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problems")
        return "\n".join(lines)


class ParameterError(ValueError):
    """A parameter value that is not allowed; the message says which values are."""
