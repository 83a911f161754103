"""Excel workbooks an evaluator edits: one home for how a page's tables are laid out as sheets.

Each sheet has a title row (report and sheet), a row naming the region and period (and the synthetic-data
notice), the header row (frozen, wrapped) with column names in the report's language and their units, the
table, and footnote rows under it: the suppression rule with its k and marker, the definition of the sheet's
indicators where ``definitions.yaml`` has one, and the source. Coded values are written as their labels,
True/False as 是/否 (Yes/No), a suppressed or missing cell as the page's marker, as text.

The kind of a column
--------------------
A column's number format follows its *kind* (:data:`FORMATS`), found by :func:`kind_of` from its code name,
in this order:

1. a table's own declaration: :func:`declare` stores formats for named columns (or row by row, for tables
   whose rows are different indicators) in ``frame.attrs``;
2. the declared mapping :data:`KINDS` (code name -> kind);
3. the naming convention: a code ending in ``_low``, ``_high``, ``_se``, ``_prefecture``, ``_persons``,
   ``_start`` or ``_all`` has the kind of its stem; ``share_*``, ``*_share``, ``*_rate`` and ``*_rate_*``
   are shares; ``n_*`` are counts; names ending in ``year`` (``year0``, ``year1``) are years; ``p_*`` and
   ``*p_value`` are p-values; ``smd_*`` and ``max_smd_*`` are estimates; ``months*`` are months;
4. an interval or standard-error column (``conf_low``, ``conf_high``, ``std_error``) has the kind of the
   nearest column on its left that is neither (the estimate it belongs to);
5. otherwise its values: whole numbers are counts, other numbers estimates, anything else text.

Examples
--------
>>> kind_of("growth_real_low")
'share'
>>> FORMATS[kind_of("households")][0]
'#,##0'
"""
from __future__ import annotations

import numbers
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.core.escaping import XLSXWRITER_OPTIONS
from analysis.core.files import atomic_path
from analysis.reporting import labels

#: Each kind's Excel number format and the Python format giving the same text (for column widths).
FORMATS: dict[str, tuple[str, str]] = {
    "share": ("0.0%", "{:.1%}"),            # a fraction shown as a percentage (0.665 -> 66.5%)
    "count": ("#,##0", "{:,.0f}"),          # households, persons, villages
    "money": ("#,##0", "{:,.0f}"),          # yuan
    "estimate": ("#,##0.000", "{:,.3f}"),   # estimates, standard errors, standardized differences
    "p": ("0.000", "{:.3f}"),               # p-values
    "index": ("0.0000", "{:.4f}"),          # poverty gap and severity indices
    "squared_gap": ("0.00000", "{:.5f}"),   # Jalan-Ravallion squared poverty gaps
    "score": ("0.0", "{:.1f}"),             # 0-100 scores
    "months": ("0.0", "{:.1f}"),
    "ratio": ("0.00", "{:.2f}"),
    "points": ('0.0"%"', "{:.1f}%"),        # a value already in percent (1.65 -> 1.7%)
    "year": ("0", "{:.0f}"),
    "text": ("@", "{}"),
}

_DECLARED = {
    "year": ["year", "year0", "year1", "first_year", "last_year", "year_from", "year_to", "year_next",
             "year_start"],
    "count": ["households", "persons", "villages", "official_labour_force", "official_workers",
              "official_workers_change", "official_workers_last_year", "labour_force", "labour_force_employed",
              "workers", "workers_in_county", "workers_in_province", "workers_out_province", "workshop_jobs",
              "public_welfare_posts", "workers_location_known", "workers_last_year", "workers_change",
              "trained", "certified", "trainees_last_year", "trainees_employed_next_year", "incomplete",
              "controls_off_support", "pre_periods", "post_periods", "poor_before", "poor_after", "entries",
              "exits", "targets", "targets_all", "eliminated", "eliminated_in_year", "assisted", "natural",
              "at_risk", "eliminations", "failed", "income_in_range", "too_fast", "no_assistance",
              "no_labor_capacity", "with_measure", "eliminated_with_measure", "eliminated_without_measure",
              "eliminated_prev", "returned_after_elimination", "exited_pool", "exited_fell_below",
              "exited_newly_monitored", "exited_returned", "n", "events", "warned", "hits",
              "group_households", "fell_households", "households_meeting_rules", "households_gap",
              "persons_gap", "gap_income", "gap_rigid_expenditure", "gap_income_after_rigid",
              "gap_basic_needs", "households_excluded", "rank", "rank_low", "rank_high", "rank_of",
              "rank_change", "n_peers", "n_boot", "rules", "event_time", "panel_households", "households_targets",
              "outcome_events", "bin"],
    "money": ["income_pc", "median_income_pc", "threshold", "benchmark", "wage_income_per_worker",
              "income_year0", "income_year1", "net_income_pc", "net_income_pc_next", "threshold_next"],
    "share": ["growth_nominal", "growth_real", "growth_real_all", "gap_vs_all", "ratio_to_benchmark", "fgt0",
              "H", "A", "M0", "deprived", "censored", "contribution", "quantile", "growth", "survival",
              "precision", "recall", "transient_share", "never_poor", "sometimes_poor", "always_poor",
              "headcount0", "headcount1", "headcount_change", "growth_component", "redistribution",
              "source_contribution", "share", "weight", "poor_share_before", "poor_share_after",
              "precision_at_capacity", "recall_at_capacity", "mean_prob", "p_first", "p_top3", "p_last", "logit_prob", "level"],
    "index": ["fgt1", "fgt2"],
    "squared_gap": ["total", "chronic", "transient"],
    "estimate": ["estimate", "mean_treated", "mean_control", "bound", "largest_pre_violation",
                 "breakdown_mbar", "breakdown_m", "mbar_max", "m_max", "auc", "k", "risk_points", "mean0",
                 "mean1", "raw_value", "pr_auc", "calibration_error", "auc_vs_oracle"],
    "points": ["workers_change_pct", "official_workers_change_pct"],
    "months": ["mean_months_worked"],
    "score": ["score", "composite", "composite_median", "composite_low", "composite_high"],
}

#: The declared mapping: code name -> kind (step 2 of :func:`kind_of`).
KINDS: dict[str, str] = {code: kind for kind, codes in _DECLARED.items() for code in codes}

_STEMS = ("_low", "_high", "_se", "_prefecture", "_persons", "_start", "_all")
_CONVENTION = [(re.compile(p), k) for p, k in (
    (r"^share_|_share$|_rate$|_rate_", "share"), (r"^n_", "count"), (r"(^|_)year[01]?$", "year"),
    (r"^p_|p_value$", "p"), (r"^(max_)?smd_", "estimate"), (r"^months", "months"))]
_BELONGS_LEFT = ("conf_low", "conf_high", "std_error")

#: Where a table declares its formats (:func:`declare`).
ATTR = "workbook"


def kind_of(code: str) -> str | None:
    """The kind of the column named ``code`` by the declared mapping and the naming convention (steps 2
    and 3 of the module's rules), or None."""
    if code in KINDS:
        return KINDS[code]
    for suffix in _STEMS:
        if code.endswith(suffix) and len(code) > len(suffix):
            found = kind_of(code[: -len(suffix)])
            if found:
                return found
    return next((kind for pattern, kind in _CONVENTION if pattern.search(code)), None)


def declare(frame: pd.DataFrame, columns: dict | None = None, rows: dict | None = None) -> pd.DataFrame:
    """``frame`` with its own number formats for the workbook: ``columns`` maps a column to a kind or a
    Python format (``"{:.1%}"``); ``rows`` maps a column to one kind or format per row (a table whose rows
    are different indicators)."""
    out = frame.copy()
    out.attrs[ATTR] = {"columns": dict(columns or {}), "rows": {c: list(v) for c, v in (rows or {}).items()}}
    return out


def excel_format(spec: str) -> tuple[str, str]:
    """The (Excel, Python) formats of a kind, or of a Python format such as ``"{:,.1f}"`` or ``"{:.1%}"``."""
    if spec in FORMATS:
        return FORMATS[spec]
    match = re.fullmatch(r"\{:(\+?)(,?)\.(\d+)([f%])\}(.*)", spec)
    if not match:
        raise ValueError(f"no Excel number format for {spec!r}")
    sign, comma, digits, kind, tail = match.groups()
    number = ("#,##0" if comma else "0") + ("." + "0" * int(digits) if int(digits) else "")
    number += "%" if kind == "%" else (f'"{tail}"' if tail else "")
    return (f"+{number};-{number};0" if sign else number), spec


def _fallback(values: pd.Series) -> str:
    numbers = pd.to_numeric(values, errors="coerce").dropna() if not (
        pd.api.types.is_bool_dtype(values) or values.dtype == object or pd.api.types.is_string_dtype(values)) \
        else pd.Series(dtype=float)
    if numbers.empty:
        return "text"
    return "count" if (numbers == numbers.round()).all() else "estimate"


def column_formats(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The (Excel, Python) format of every column of ``frame`` (code-named), by the module's rules."""
    declared = frame.attrs.get(ATTR, {}).get("columns", {})
    kinds: list[str | None] = []
    for i, code in enumerate(frame.columns):
        name = str(code)
        kind = declared.get(code) or kind_of(name)
        if kind is None and name in _BELONGS_LEFT:
            kind = next((k for c, k in zip(reversed(frame.columns[:i]), reversed(kinds))
                         if str(c) not in _BELONGS_LEFT and k not in (None, "count", "year", "text")), "estimate")
        if kind is not None and kind != "text" and not pd.api.types.is_numeric_dtype(frame.iloc[:, i]):
            kind = "text"                       # labels or flags under a numeric name
        kinds.append(kind or _fallback(frame.iloc[:, i]))
    return [excel_format(k) for k in kinds]


def with_unit(header: str, excel: str, percent: str) -> str:
    """``header`` with the unit ``percent`` (``workbook.percent`` of the catalogue) when its column shows
    percentages and the header does not say so."""
    return header + percent if "%" in excel and "%" not in header else header


def localise(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy of ``frame`` with coded values as their labels (:func:`labels.value_label`) and True/False as
    是/否 (Yes/No); missing values stay missing (they are written as the marker)."""
    out = frame.copy()
    yes, no = labels.text("workbook.flag_true", lang), labels.text("workbook.flag_false", lang)
    for j, code in enumerate(out.columns):    # by position: two columns may share a header
        values = out.iloc[:, j]
        if pd.api.types.is_bool_dtype(values):
            out.isetitem(j, pd.Series([v if _missing(v) else (yes if v else no) for v in values], index=out.index,
                                      dtype=object))
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            shown = {v: labels.value_label(str(code), v, lang) for v in values.dropna().unique()}
            out.isetitem(j, pd.Series([shown.get(v, v) if not _missing(v) else v for v in values], index=out.index,
                                      dtype=object))
    out.attrs = frame.attrs
    return out


def display_width(text: str) -> int:
    """Columns ``text`` takes in a spreadsheet: CJK (wide and full-width) characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _width(header: str, values: pd.Series, python: str, marker: str) -> float:
    shown = [marker if pd.isna(v) else (python.format(v) if python != "{}" else str(v)) for v in values]
    body = max((display_width(s) for s in shown), default=0)
    head = max((display_width(part) for part in header.split("\n")), default=0)
    # a long header wraps over up to three lines rather than widening a column of short numbers
    return float(min(max(body, min(head, max(body, 12)), (head + 2) // 3, 6) + 2, 60))


@dataclass(frozen=True)
class Sheet:
    """One sheet as written: its name, the table (code-named columns, values as shown), the headers in
    the report's language, the rows above the header and the footnotes."""

    name: str
    table: pd.DataFrame
    headers: list[str]
    title: str
    lines: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    formats: list[tuple[str, str]] = field(default_factory=list)


#: Rows above the header: the title and the line naming region and period (and the synthetic notice).
HEADER_ROW = 2


def write(path: str | Path, sheets: list[Sheet], marker: str) -> Path:
    """Write ``sheets`` as one workbook at ``path`` (atomically), every string as a string cell."""
    path = Path(path)
    # strings stay strings: a village written "=HYPERLINK(...)" must not become a live formula
    with atomic_path(path) as tmp, pd.ExcelWriter(tmp, engine="xlsxwriter",
                                                  engine_kwargs={"options": XLSXWRITER_OPTIONS}) as writer:
        styles = _styles(writer.book)
        for sheet in sheets:
            _write_sheet(writer, sheet, marker, styles)
    return path


def _styles(book) -> dict:
    return {"title": book.add_format({"bold": True, "font_size": 14}),
            "line": book.add_format({"italic": True, "font_color": "#595959"}),
            "header": book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1,
                                       "bg_color": "#F2F2F2"}),
            "note": book.add_format({"font_color": "#404040"}),
            "marker": book.add_format({"align": "right"}),
            "formats": {}}


def _number(styles: dict, book, excel: str):
    if excel not in styles["formats"]:
        styles["formats"][excel] = book.add_format({"num_format": excel})
    return styles["formats"][excel]


def _write_sheet(writer, sheet: Sheet, marker: str, styles: dict) -> None:
    name = sheet.name[:31]
    table = sheet.table.reset_index(drop=True)
    table.attrs = sheet.table.attrs
    formats = sheet.formats or column_formats(table)
    table.to_excel(writer, sheet_name=name, index=False, header=False, startrow=HEADER_ROW + 1, na_rep=marker)
    ws, book = writer.sheets[name], writer.book
    ws.write_string(0, 0, sheet.title, styles["title"])
    if sheet.lines:
        ws.write_string(1, 0, "  ".join(sheet.lines), styles["line"])
    for j, (header, (excel, python)) in enumerate(zip(sheet.headers, formats)):
        ws.write_string(HEADER_ROW, j, header, styles["header"])
        ws.set_column(j, j, _width(header, table.iloc[:, j], python, marker), _number(styles, book, excel))
        for i, value in enumerate(table.iloc[:, j]):
            if _missing(value):     # the marker as text, right-aligned like the numbers it stands for
                ws.write_string(HEADER_ROW + 1 + i, j, marker, styles["marker"])
    _row_formats(ws, book, table, styles)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    row = HEADER_ROW + 1 + len(table) + 1
    for note in sheet.notes:
        ws.write_string(row, 0, note, styles["note"])
        row += 1


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _row_formats(ws, book, table: pd.DataFrame, styles: dict) -> None:
    """Cells of the columns a table formats row by row (:func:`declare`), written again with their format."""
    for code, specs in table.attrs.get(ATTR, {}).get("rows", {}).items():
        j = list(table.columns).index(code)
        for i, (value, spec) in enumerate(zip(table.iloc[:, j], specs)):
            if spec and not _missing(value) and isinstance(value, numbers.Number) and not isinstance(value, bool):
                ws.write_number(HEADER_ROW + 1 + i, j, float(value), _number(styles, book, excel_format(spec)[0]))
