"""Text from data stays text: escaping for HTML and Markdown, text-only spreadsheet cells, and the tests
ingest uses to notice markup or formula-like text. The one home of each.

Place names, categories and free text come from exports that many offices edit by hand. Wherever such a
value is shown it must read as the characters written, never as markup, a link or a formula:

* HTML (tables, captions, the site's templates): :func:`html_text` (``<``, ``>``, ``&`` and quotes
  as entities);
* Markdown (page text): :func:`markdown_text` also puts a backslash before the characters that would
  make a link, an image, emphasis, code, a heading or a table (CommonMark backslash escapes);
* CSV: :func:`spreadsheet_text` prefixes a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return with an apostrophe, as the OWASP guidance on CSV injection recommends, so a spreadsheet
  shows it as text instead of evaluating it;
* Excel workbooks are written with string-to-formula and string-to-link conversion off
  (:data:`XLSXWRITER_OPTIONS`), so every string is written as a string cell.

Examples
--------
>>> markdown_text('[点击](javascript:x)<b>镇')
'\\\\[点击\\\\]\\\\(javascript:x\\\\)&lt;b&gt;镇'
>>> spreadsheet_text('=HYPERLINK("http://example.invalid","点击")')
'\\'=HYPERLINK("http://example.invalid","点击")'
"""
from __future__ import annotations

import html
import re

import pandas as pd

#: Options for ``pandas.ExcelWriter(..., engine="xlsxwriter", engine_kwargs={"options": ...})``: strings stay
#: strings (no formula from ``=...``, no hyperlink from ``http://...``, no number from ``"00123"``).
XLSXWRITER_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}

#: Characters that start a formula in Excel, LibreOffice or WPS when a cell is typed or a CSV opened.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Markdown punctuation that can start a link (":" of a bare URL too), an image, emphasis, code, a heading,
# a table cell or math; ``&``, ``<`` and ``>`` are turned into entities instead (a backslash before an entity would
# show the entity's letters).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~$:])")
# An HTML tag or comment: '<' followed by a letter, '/', '!' or '?'.
_MARKUP = re.compile(r"<[A-Za-z/!?]")
# Formula-like: '=', '+' or '@' first; '-' first when more than dashes follow (a lone "-" or "--" is the
# usual mark of an empty cell); a tab or carriage return first.
_FORMULA = re.compile(r"^(?:[=+@\t\r]|-(?![-\s]*$))")


def html_text(value) -> str:
    """``value`` as HTML text: ``<``, ``>``, ``&`` and both quotes as entities."""
    return html.escape(str(value), quote=True)


def markdown_text(value) -> str:
    """``value`` as Markdown text that renders as exactly these characters: no markup, link or emphasis."""
    return html_text(_MARKDOWN_SPECIAL.sub(r"\\\1", str(value)))


def spreadsheet_text(value):
    """A CSV cell a spreadsheet shows as text: strings starting like a formula get a leading apostrophe;
    anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def from_spreadsheet_text(value):
    """The value :func:`spreadsheet_text` was given (for reading back a CSV the suite wrote)."""
    if isinstance(value, str) and value[:1] == "'" and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` for CSV export: every text cell and column name through :func:`spreadsheet_text`."""
    out = frame.rename(columns=spreadsheet_text)
    for column in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_datetime64_any_dtype(out[column])):
            out[column] = out[column].map(spreadsheet_text)
    return out


def html_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and axis names are HTML text; numbers, dates and missing values are
    left for the table's formatting (header labels are escaped when the table is drawn:
    ``Styler.format_index(escape="html")``)."""
    out = frame.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)):
            out.isetitem(position, column.astype(object).map(lambda v: html_text(v) if isinstance(v, str) else v))
    # the names of the index and of the column levels are drawn as they are, so they are escaped here
    out.index.names = [html_text(n) if isinstance(n, str) else n for n in out.index.names]
    out.columns.names = [html_text(n) if isinstance(n, str) else n for n in out.columns.names]
    return out


def has_markup(text: pd.Series) -> pd.Series:
    """True where a text value holds an HTML tag or comment (``<script``, ``<img``, ``</b>``, ``<!--``)."""
    return text.astype("string").str.contains(_MARKUP, regex=True).fillna(False).astype(bool)


def formula_like(text: pd.Series) -> pd.Series:
    """True where a text value starts like a spreadsheet formula (see :data:`FORMULA_START`)."""
    return text.astype("string").str.contains(_FORMULA, regex=True).fillna(False).astype(bool)
