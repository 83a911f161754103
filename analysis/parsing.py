"""Vectorized parsing of export text into typed values, remembering which cells failed or were repaired.

Each parser takes a Series of text ('' = empty) and returns a :class:`Parsed`: the typed values, a mask of
cells that could not be read (refused), and a mask of cells read only after a documented repair:

* numbers: ``12,345`` (thousands separators), ``12345元`` and ``1.2万`` / ``1.2万元`` (x 10,000) are repaired;
  anything else (``1,2万``, ``12%``, ``abc``) is refused;
* years: ``2021年`` is repaired to 2021;
* yes/no: the words in ``catalogue.yaml`` (是/否, Y/N, 1/0, ...);
* codes: the labels and aliases in ``catalogue.yaml``;
* dates: ISO (2021-03-15), 2021/3/15, 2021年3月15日, 20210315, and Excel serial day numbers (repaired).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PLAIN = r"[+-]?\d+(?:\.\d+)?"
GROUPED = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


@dataclass
class Parsed:
    values: pd.Series
    bad: pd.Series
    repaired: pd.Series


def fold(text: pd.Series) -> pd.Series:
    """Text folded for comparison: NFKC (full-width to half-width) and no spaces."""
    return text.astype("string").fillna("").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)


def number(text: pd.Series) -> Parsed:
    s = fold(text)
    empty = s == ""
    plain = s.str.fullmatch(PLAIN)
    grouped = s.str.fullmatch(GROUPED)
    yuan = s.str.fullmatch(f"(?:{PLAIN}|{GROUPED})元")
    wan = s.str.fullmatch(f"{PLAIN}万元?")
    cleaned = s.str.replace(",", "", regex=False).str.replace("万元", "", regex=False)
    cleaned = cleaned.str.replace("万", "", regex=False).str.replace("元", "", regex=False)
    ok = plain | grouped | yuan | wan
    values = pd.to_numeric(cleaned.where(ok & ~empty), errors="coerce").astype("float64")
    values = values.where(~wan, values * 10_000)
    return Parsed(values, (~ok & ~empty).astype(bool), (ok & ~plain & ~empty).astype(bool))


def integer(text: pd.Series) -> Parsed:
    s = fold(text)
    year_word = s.str.fullmatch(r"\d{4}年")
    parsed = number(s.str.replace("年", "", regex=False).where(year_word, s))
    whole = parsed.values.isna() | (parsed.values == np.floor(parsed.values))
    values = parsed.values.where(whole).round().astype("Int64")
    return Parsed(values, parsed.bad | ~whole, parsed.repaired | year_word.astype(bool))


def boolean(text: pd.Series, true_words: list[str], false_words: list[str]) -> Parsed:
    s = fold(text)
    trues = set(fold(pd.Series(true_words, dtype="string")))
    falses = set(fold(pd.Series(false_words, dtype="string")))
    is_true, is_false = s.isin(trues), s.isin(falses)
    values = pd.Series(pd.NA, index=s.index, dtype="boolean")
    values[is_true] = True
    values[is_false] = False
    bad = ~(is_true | is_false) & (s != "")
    return Parsed(values, bad.astype(bool), pd.Series(False, index=s.index))


def code(text: pd.Series, lookup: dict[str, str]) -> Parsed:
    """Map text to codes through ``lookup`` (folded spelling -> code); '' maps only if the lookup has ''."""
    s = fold(text)
    values = s.map(lookup).astype("string")
    bad = values.isna() & ((s != "") | ("" not in lookup))
    bad &= s != ""
    return Parsed(values, bad.astype(bool), pd.Series(False, index=s.index))


def date(text: pd.Series) -> Parsed:
    s = fold(text)
    empty = s == ""
    serial = s.str.fullmatch(r"\d{5}(?:\.\d+)?")
    compact = s.str.fullmatch(r"(?:19|20)\d{6}")
    iso_like = s.str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
    iso_like = iso_like.str.replace(r"\s*\d{1,2}:\d{2}(:\d{2})?$", "", regex=True)
    parsed = pd.to_datetime(iso_like.where(~serial & ~compact & ~empty), format="%Y-%m-%d", errors="coerce")
    parsed = parsed.fillna(pd.to_datetime(s.where(compact), format="%Y%m%d", errors="coerce"))
    days = pd.to_numeric(s.where(serial), errors="coerce")
    parsed = parsed.fillna(EXCEL_EPOCH + pd.to_timedelta(days.floordiv(1), unit="D"))
    values = parsed.astype("datetime64[ms]")
    bad = values.isna() & ~empty
    return Parsed(values, bad.astype(bool), (serial & ~bad).astype(bool))
