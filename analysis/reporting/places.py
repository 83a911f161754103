"""The regions of the processed data and their names in English: the regions table.

One row per county and per prefecture found in the processed households table, with the prefecture it
belongs to, the years the data cover, and ``name_en``: the romanised name English reports show. The
romanisation follows the rules for Chinese place names in pinyin (GB/T 17693.1: the specific name written
as one word, an apostrophe before a syllable that starts with a, o or e inside a word, a one-syllable
specific name joined with its generic term) and translates the generic term (县 County, 市 City, 区
District...). Readings come from ``pypinyin`` (phrase-aware, so most place-name readings are right); a
name it reads wrong, or a place with an established English name, is set in ``place_names.csv`` (columns
``name,name_en``) in ``analysis/config`` or in the folder named by ``ANALYSIS_CONFIG_DIR``.

The table is read from the processed data and the configuration when a report is made, not stored at
ingest: the names are display text, and correcting one must not require ingesting the exports again.

Examples
--------
>>> from analysis.reporting import places
>>> places.romanise("北岭县")
'Beiling County'
>>> places.romanise("鄂尔多斯市")
"E'erduosi City"
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
from pypinyin import Style, lazy_pinyin

from analysis.config import DATA_PROCESSED, config_path, file_stamp
from analysis.reporting.labels import check_lang

PLACE_NAMES = "place_names.csv"
REGION_COLUMNS = ("region", "level", "prefecture", "name_en", "first_year", "last_year")
#: Generic terms of administrative units and their English words, longest first (自治县 before 县).
GENERIC = (("自治县", "Autonomous County"), ("自治州", "Autonomous Prefecture"), ("自治旗", "Autonomous Banner"),
           ("林区", "Forestry District"), ("地区", "Prefecture"), ("街道", "Subdistrict"), ("县", "County"),
           ("市", "City"), ("区", "District"), ("州", "Prefecture"), ("旗", "Banner"), ("盟", "League"),
           ("镇", "Town"), ("乡", "Township"), ("村", "Village"))


def _word(syllables: list[str]) -> str:
    """Syllables written as one capitalised word, with an apostrophe before a/o/e inside it (Xi'an)."""
    text = "".join(("'" + s) if i and s[:1] in "aoe" else s for i, s in enumerate(syllables))
    return text[:1].upper() + text[1:]


def romanise(name: str) -> str:
    """The English form of a Chinese place name from its pinyin (no override applied).

    Characters that are not Chinese (Latin letters, digits, spaces) are kept as they are.
    """
    generic = next(((zh, en) for zh, en in GENERIC if name.endswith(zh) and len(name) > len(zh)), None)
    specific = name[: -len(generic[0])] if generic else name
    if generic and len(specific) == 1:  # 歙县 Shexian County: a one-syllable name keeps its generic term
        specific = name
    syllables = [s.strip() for s in lazy_pinyin(specific, style=Style.NORMAL, errors="default")]
    word = _word([s for s in syllables if s])
    return f"{word} {generic[1]}" if generic else word


@lru_cache(maxsize=8)
def _overrides(path: Path, stamp: tuple) -> dict[str, str]:
    table = pd.read_csv(path, comment="#", dtype="string", encoding="utf-8", skip_blank_lines=True)
    missing = {"name", "name_en"} - set(table.columns)
    if missing:
        raise ValueError(f"{path} must have the columns name,name_en; it lacks {sorted(missing)}")
    table = table.dropna(subset=["name", "name_en"])
    return {str(k).strip(): str(v).strip() for k, v in zip(table["name"], table["name_en"])}


def overrides(config_dir: str | Path | None = None) -> dict[str, str]:
    """The user's English names, ``{name: name_en}``, from ``place_names.csv`` (empty when absent)."""
    path = config_path(PLACE_NAMES, config_dir)
    return _overrides(path, file_stamp(path)) if path.is_file() else {}


def english_name(name: str, config_dir: str | Path | None = None) -> str:
    """``name`` in English: the user's name from ``place_names.csv`` if set, else :func:`romanise`."""
    return overrides(config_dir).get(name) or romanise(name)


def display_name(name: str, lang: str, config_dir: str | Path | None = None) -> str:
    """The name a page in ``lang`` shows: as it is in Chinese, romanised in English."""
    return english_name(name, config_dir) if check_lang(lang) == "en" else name


def regions(data_dir: str | Path | None = None, config_dir: str | Path | None = None) -> pd.DataFrame:
    """The regions table: every county and prefecture of the processed households, prefectures first.

    Columns :data:`REGION_COLUMNS`: ``region`` (the name as in the data), ``level`` ("county" or
    "prefecture"), ``prefecture`` (the prefecture itself for a prefecture row), ``name_en``, and the first
    and last year the households table holds for the region.
    """
    folder = Path(data_dir) if data_dir else DATA_PROCESSED
    table = ds.dataset(folder / "households", format="parquet", partitioning="hive").to_table(
        columns=["prefecture", "county", "year"]).to_pandas()
    table = table.astype({"prefecture": "string", "county": "string"}).dropna(subset=["prefecture", "county"])
    counties = table.groupby(["county", "prefecture"], as_index=False, sort=True)["year"].agg(["min", "max"])
    counties = counties.rename(columns={"county": "region"}).assign(level="county")
    prefectures = table.groupby("prefecture", as_index=False)["year"].agg(["min", "max"])
    prefectures = prefectures.assign(region=prefectures["prefecture"], level="prefecture")
    both = pd.concat([prefectures, counties], ignore_index=True).rename(
        columns={"min": "first_year", "max": "last_year"})
    names = overrides(config_dir)
    both["name_en"] = [names.get(r) or romanise(r) for r in both["region"]]
    both = both.astype({"region": "object", "prefecture": "object", "first_year": int, "last_year": int})
    return both.loc[:, list(REGION_COLUMNS)]


def synthetic(data_dir: str | Path | None = None) -> bool:
    """Whether the processed data are the generated SYNTHETIC sample (as ``sources.json`` records)."""
    path = (Path(data_dir) if data_dir else DATA_PROCESSED) / "sources.json"
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("synthetic", False))
    except (OSError, ValueError, AttributeError):
        return False
