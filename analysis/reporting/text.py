"""Formatting helpers shared by the pages: sentences, p-values, table styles. The one home of each."""
from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from analysis.core.escaping import html_cells, html_text, markdown_text

#: Table cells stay on one line (intervals such as "[-3.0, 13.5]" must not break).
NOWRAP = [{"selector": "td", "props": "white-space: nowrap;"}]
DASH = "–"


def join(sentences: list[str], lang: str) -> str:
    """Sentences of one paragraph: Chinese runs on without spaces, English takes one."""
    return ("" if lang == "zh" else " ").join(sentences)


def p_format(value: float) -> str:
    """A p-value as printed in the tables: three decimals, or "<0.001"."""
    return DASH if pd.isna(value) else ("<0.001" if value < 0.001 else f"{value:.3f}")


def p_text(value: float) -> str:
    """A p-value inside a sentence: "= 0.012" or "< 0.001"."""
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def pp(value):
    """A share difference in percentage points."""
    return 100 * value


def md(value) -> str:
    """A value from data (a region, township or village name, a category, a message quoting data) placed
    in page text: it shows as written, never as markup or a link."""
    return markdown_text(value)


def table(frame: pd.DataFrame, caption: str | None = None) -> Styler:
    """The styled table of a page: every text cell, header and index label escaped as HTML first, so no
    value from data is read as markup (the one way a page builds a table; format the numbers on the result).
    """
    styler = html_cells(frame).style.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    return styler if caption is None else styler.set_caption(html_text(caption))
