"""Vectorized parsing of export text into typed values, remembering which cells failed or were repaired.

Each parser takes a Series of text ('' = empty) and returns a :class:`Parsed`: the typed values, a mask of
cells that could not be read (refused), a mask of cells read only after a documented repair, and for
refused cells a short reason. Exports repeat the same few values down a column, so every parser works on
the distinct values only and spreads the result back.

* numbers: ``12,345`` (thousands separators), ``12345元``, ``¥12,345``, ``1.2万`` / ``1.2万元`` (x 10,000),
  full-width digits and spaces inside the number, and a lone dash (Excel's accounting format shows zero
  as ``-``) are repaired; anything else is refused: ``1,2万`` and ``12,34`` (a decimal comma or a misplaced
  separator), ``12%`` (a share, not an amount), ``1.2E+04`` (scientific notation), ``abc``;
* whole numbers: the same, plus the units ``年`` (years) and ``人`` / ``口`` (persons);
* yes/no: the words in ``catalogue.yaml`` (是/否, Y/N, 1/0, TRUE/FALSE...), case-insensitive;
* codes: the labels and aliases in ``catalogue.yaml``, compared after :func:`normalize`;
* dates: ISO (2021-03-15, with or without a time of day) is read as it is; 2021/3/15, 2021.3.15,
  2021年3月15日, 20210315 and Excel serial day numbers (44260 = 2021-03-05) are repaired; month-first or
  two-digit-year forms (3/15/2021, 21-3-15) are refused because they are ambiguous.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import wraps

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# ASCII digits only: a regular expression's \d also matches full-width digits (０-９), which the number
# conversion does not read; those are folded first (NFKC) and the cell counted as repaired.
PLAIN = r"[+-]?[0-9]+(?:\.[0-9]+)?"
GROUPED = r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?"
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Characters that occupy no space but break matching: zero-width space/joiners and a stray byte-order mark.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
DASHES = ("-", "—", "–", "−", "--", "——")
DATE_TEXT = (r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
             r"(?:[ T]\s*(?P<t>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?")


@dataclass
class Parsed:
    values: pd.Series
    bad: pd.Series
    repaired: pd.Series
    reason: pd.Series | None = None   # why a refused cell was refused ('' where nothing particular is known)


def normalize(text: object, variants: dict | None = None) -> str:
    """Text folded for matching names and codes: NFKC (full-width to half-width), no spaces or invisible
    characters, variant characters replaced (``variants``: a ``str.translate`` table), lower case.

    >>> normalize("务工时间（月） ")
    '务工时间(月)'
    """
    folded = unicodedata.normalize("NFKC", str(text)).translate(INVISIBLE)
    if variants:
        folded = folded.translate(variants)
    return "".join(folded.split()).lower()


def _on_uniques(parser):
    """Run ``parser`` on the distinct values of the text only, then spread the result over all rows."""
    @wraps(parser)
    def run(text: pd.Series, *args, **kwargs) -> Parsed:
        codes, uniques = pd.factorize(text.astype("string").fillna(""), sort=False)
        part = parser(pd.Series(uniques.astype(object), dtype="string"), *args, **kwargs)

        def spread(s):
            return None if s is None else s.iloc[codes].set_axis(text.index)
        return Parsed(spread(part.values), spread(part.bad), spread(part.repaired), spread(part.reason))
    return run


def fold(text: pd.Series) -> pd.Series:
    """Text folded for reading numbers: NFKC (full-width to half-width), no spaces or invisible characters."""
    s = text.astype("string").fillna("").str.normalize("NFKC")
    return s.map(lambda v: v.translate(INVISIBLE), na_action="ignore").str.replace(r"\s+", "", regex=True)


def _reason(s: pd.Series, bad: pd.Series) -> pd.Series:
    """Plain-words hints for the common ways a number is mistyped in a spreadsheet."""
    hints = [
        (s.str.fullmatch(f"{PLAIN}%"), "a percentage is not an amount"),
        (s.str.fullmatch(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+"), "scientific notation: the digits may already be "
                                                               "rounded by Excel"),
        (s.str.contains(r"\d,\d{1,2}(?:\D|$)", regex=True), "a comma that is neither a thousands separator "
                                                             "nor allowed as a decimal point"),
        (s.str.fullmatch(r"\(.*\)"), "a number in brackets (accounting negative)"),
    ]
    reason = pd.Series("", index=s.index, dtype="string")
    for mask, words in reversed(hints):
        reason = reason.mask(mask.fillna(False) & bad, words)
    return reason


@_on_uniques
def number(text: pd.Series) -> Parsed:
    plain = text.str.fullmatch(PLAIN).astype(bool)
    if plain.all():   # the usual column: nothing to repair
        return Parsed(_plain_numbers(text), ~plain, ~plain)
    values = _plain_numbers(text.where(plain))
    bad, repaired = pd.Series(False, index=text.index), pd.Series(False, index=text.index)
    rest = ~plain & (text != "")
    if rest.any():
        part = _number_text(text[rest])
        values[rest], bad[rest], repaired[rest] = part.values, part.bad, part.repaired
    return Parsed(values, bad, repaired, _reason(fold(text), bad) if bad.any() else None)


def _plain_numbers(text: pd.Series) -> pd.Series:
    """Text that is :data:`PLAIN` or missing as float64 (missing as NaN), parsed in one pass by Arrow, which
    rounds correctly (as Python's ``float`` does) and is many times faster than parsing value by value."""
    values = pc.cast(pa.array(text.astype("string").array), pa.float64())
    return pd.Series(values.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")


def _number_text(text: pd.Series) -> Parsed:
    """Numbers that are not plain: separators, units, full-width digits, dashes; or unreadable."""
    s = fold(text).str.replace("¥", "", regex=False).str.replace("萬", "万", regex=False)
    dash = s.isin(DASHES)
    plain = s.str.fullmatch(PLAIN)
    grouped = s.str.fullmatch(GROUPED)
    yuan = s.str.fullmatch(f"(?:{PLAIN}|{GROUPED})元")
    wan = s.str.fullmatch(f"{PLAIN}万元?")
    cleaned = s.str.replace(r"[,元万]", "", regex=True)
    ok = (plain | grouped | yuan | wan).astype(bool)
    values = pd.to_numeric(cleaned.where(ok), errors="coerce").astype("float64")
    # 1.2 x 10,000 is not exactly 12,000 in binary floating point; amounts are kept to 1/10,000 yuan.
    values = values.where(~wan, (values * 10_000).round(4)).mask(dash, 0.0)
    return Parsed(values, (~ok & ~dash).astype(bool), (ok | dash).astype(bool))


@_on_uniques
def integer(text: pd.Series) -> Parsed:
    s = fold(text)
    unit = s.str.fullmatch(r"\d+(?:年|人|口)")
    parsed = number.__wrapped__(s.str.replace(r"(?:年|人|口)$", "", regex=True).where(unit, s))
    parsed.repaired = parsed.repaired | (s != text.str.strip())
    whole = parsed.values.isna() | (parsed.values == np.floor(parsed.values))
    values = parsed.values.where(whole).round().astype("Int64")
    reason = parsed.reason if parsed.reason is not None else pd.Series("", index=s.index, dtype="string")
    reason = reason.mask(~whole, "not a whole number")
    return Parsed(values, parsed.bad | ~whole, parsed.repaired | unit.astype(bool), reason)


@_on_uniques
def boolean(text: pd.Series, true_words: list[str], false_words: list[str]) -> Parsed:
    s = fold(text).str.lower()
    trues = {normalize(w) for w in true_words}
    falses = {normalize(w) for w in false_words}
    is_true, is_false = s.isin(trues), s.isin(falses)
    values = pd.Series(pd.NA, index=s.index, dtype="boolean")
    values[is_true] = True
    values[is_false] = False
    bad = ~(is_true | is_false) & (s != "")
    return Parsed(values, bad.astype(bool), pd.Series(False, index=s.index))


@_on_uniques
def code(text: pd.Series, lookup: dict[str, str], variants: dict | None = None) -> Parsed:
    """Map text to codes through ``lookup`` (:func:`normalize`\\ d spelling -> code); '' maps only if the
    lookup has ''."""
    s = text.map(lambda v: normalize(v, variants), na_action="ignore").astype("string")
    values = s.map(lookup).astype("string")
    bad = values.isna() & (s != "")
    return Parsed(values, bad.astype(bool), pd.Series(False, index=s.index))


@_on_uniques
def date(text: pd.Series) -> Parsed:
    iso = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").astype(bool)
    if (iso | (text == "")).all():   # the usual column: ISO dates or empty cells
        values = pd.to_datetime(text.where(iso), format="%Y-%m-%d", errors="coerce").astype("datetime64[ms]")
        bad = (values.isna() & iso).astype(bool)
        return Parsed(values, bad, pd.Series(False, index=text.index),
                      pd.Series("", index=text.index, dtype="string") if bad.any() else None)
    return _date_text(text)


def _date_text(text: pd.Series) -> Parsed:
    s = text.str.normalize("NFKC").str.strip()
    empty = s == ""
    serial = s.str.fullmatch(r"\d{5}(?:\.\d+)?")
    compact = s.str.fullmatch(r"(?:19|20)\d{6}")
    iso = (s == text.str.strip()) & s.str.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T]00:00(?::00(?:\.0+)?)?)?")
    parts = s.str.extract(f"^{DATE_TEXT}$")
    parts = parts.where(~compact, s.str.extract(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"))
    ymd = parts[["y", "m", "d"]].apply(pd.to_numeric, errors="coerce")
    ymd.columns = ["year", "month", "day"]
    parsed = pd.to_datetime(ymd.dropna(), errors="coerce").reindex(s.index)
    days = pd.to_numeric(s.where(serial), errors="coerce")
    parsed = parsed.fillna(EXCEL_EPOCH + pd.to_timedelta(days.floordiv(1), unit="D"))
    values = parsed.astype("datetime64[ms]")
    bad = values.isna() & ~empty
    reason = pd.Series("", index=s.index, dtype="string").mask(
        bad & s.str.fullmatch(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"), "day, month and year in an ambiguous order")
    reason = reason.mask(bad & s.str.fullmatch(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*月?"), "the day is missing")
    return Parsed(values, bad.astype(bool), (~iso & ~bad & ~empty).astype(bool), reason)
