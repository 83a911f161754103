"""What each indicator on a page counts, and the terms the pages share: the tables at the end of every
page, read from ``analysis/config/definitions.yaml`` (one home for definitions, in both languages).

Examples
--------
>>> from analysis.reporting import definitions, page
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> definitions.definitions_table(ctx, "01")  # doctest: +SKIP
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis.config import load_yaml
from analysis.reporting import labels, text

if TYPE_CHECKING:   # page imports this module for its workbook sheet
    from analysis.reporting.page import Context

FIELDS = ("label", "population", "numerator", "denominator", "period", "source", "limits")


def entries(page: str | None = None) -> dict[str, dict]:
    """The indicator definitions (of one page's notebook code ``"01"``..``"05"``, or all)."""
    items = load_yaml("definitions.yaml")["indicators"]
    return {k: v for k, v in items.items() if page is None or page in v.get("pages", [])}


def _frame(page: str | None, lang: str) -> pd.DataFrame:
    rows = [{f: entry[f][lang] for f in FIELDS} for entry in entries(page).values()]
    frame = pd.DataFrame(rows, columns=list(FIELDS))
    return frame.rename(columns={f: labels.text(f"definitions.fields.{f}", lang) for f in FIELDS})


def definitions_table(ctx: Context, page: str | None):
    """The page's indicators (every page's with ``None``) with population, numerator, denominator, period,
    source and limits."""
    return text.table(_frame(page, ctx.lang), labels.text("definitions.caption", ctx.lang)).hide(axis="index")


def glossary_table(ctx: Context):
    """The terms the pages share, with their meaning."""
    items = load_yaml("definitions.yaml")["glossary"]
    frame = pd.DataFrame([{labels.text("definitions.fields.term", ctx.lang): v["term"][ctx.lang],
                           labels.text("definitions.fields.meaning", ctx.lang): v["meaning"][ctx.lang]}
                          for v in items.values()])
    return text.table(frame, labels.text("definitions.glossary", ctx.lang)).hide(axis="index")


def definitions_sheet(page: str, lang: str) -> pd.DataFrame:
    """The page's definitions as a workbook sheet (empty when the page has none)."""
    return _frame(page, lang)
