"""Formatting helpers shared by the pages: sentences, p-values, table styles. The one home of each."""
from __future__ import annotations

import pandas as pd

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
