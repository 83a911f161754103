"""Text cells that hold markup or start like a spreadsheet formula: noticed at ingest, never passed silently.

Place names, relations and training types are typed by hand in many offices. A value such as
``<script>…</script>镇``, ``<img src=x onerror=…>村`` or ``=HYPERLINK(…)`` is not a real name, but it is
what the file says, and every output shows it as text (:mod:`analysis.core.escaping`). So such a value is
**kept as written and listed as a warning** in the ingest report (file, column, rows and the value), so
that the office can correct its export. The one exception is the county: its name becomes the folder of
its reports, so a county name holding ``/``, ``\\``, ``:`` or a control character is **refused**, located.
"""
from __future__ import annotations

import re

import pandas as pd

from analysis.core.escaping import FORMULA_START, formula_like, has_markup
from analysis.errors import Problem
from analysis.io import schema
from analysis.io.readers import RawTable, fmt_rows, rows_of

#: Canonical free-text columns (identifiers are pseudonymised and checked elsewhere).
TEXT_COLUMNS = tuple(sorted({c.name for table in schema.TABLES.values() for c in table.values()
                             if c.kind == "str"} - {"household_id", "person_id"}))
_FOLDER_UNSAFE = re.compile(r"[/\\:\x00-\x1f\x7f]")
_SHOWN = 10      # rows listed per warning or refusal


def check(raw: RawTable, mapping: dict) -> tuple[list[str], list[Problem]]:
    """Warnings (report notes) for markup and formula-like text in the free-text columns of ``raw``, and
    problems for county names that cannot name a folder. ``mapping`` is :func:`ingest.map_headers`'s."""
    notes, problems = [], []
    for label, (canon, _) in mapping.items():
        if canon not in TEXT_COLUMNS or label not in raw.frame.columns:
            continue
        text = raw.frame[label].astype("string").fillna("")
        header = raw.headers.get(label, label)
        quick = raw.frame[label].fillna("")     # Arrow text when read in columns: literal tests run in Arrow
        for mask, what in ((_where(has_markup, text, quick.str.contains("<", regex=False)),
                            "hold markup (an HTML tag)"),
                           (_where(formula_like, text, quick.str.startswith(FORMULA_START)),
                            "start like a spreadsheet formula (=, +, -, @, tab)")):
            if mask.any():
                values = list(dict.fromkeys(text[mask]))
                shown = ", ".join(repr(v if len(v) <= 60 else v[:57] + "...") for v in values[:3])
                notes.append(f"column {header}: {int(mask.sum())} cell(s) {what}, kept as written and shown as "
                             f"text in every report; correct them in the export: {_rows(raw, mask)} "
                             f"({shown}{' ...' if len(values) > 3 else ''})")
        if canon == "county":
            unsafe = text.str.contains(_FOLDER_UNSAFE, regex=True).fillna(False).astype(bool)
            problems += [Problem(raw.path, int(raw.rows[i]), header,
                                 "the county name holds '/', '\\', ':' or a control character, so it cannot name "
                                 "the county's report folder; correct the name")
                         for i in unsafe[unsafe].index[:_SHOWN]]
            if unsafe.sum() > _SHOWN:
                problems.append(Problem(raw.path, None, header, f"... and {int(unsafe.sum()) - _SHOWN} more such rows"))
    return notes, problems


def _where(test, text: pd.Series, maybe: pd.Series) -> pd.Series:
    """``test(text)``, run only on the values a quick literal look (``maybe``) could not rule out: every
    value with markup holds '<', every formula-like value starts with a character of FORMULA_START."""
    maybe = maybe.fillna(False).astype(bool)
    found = pd.Series(False, index=text.index)
    if maybe.any():
        found[maybe] = test(text[maybe]).to_numpy(dtype=bool)
    return found


def _rows(raw: RawTable, mask: pd.Series) -> str:
    rows = rows_of(raw, mask)
    return f"row{'s' if len(rows) > 1 else ''} {fmt_rows(rows, _SHOWN)}"
