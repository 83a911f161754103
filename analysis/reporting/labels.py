"""Display labels and messages in Chinese or English, from the one catalogue in ``analysis/config``.

Examples
--------
>>> from analysis.reporting import labels
>>> labels.text("columns.income_pc", "en")
'Net income per capita (yuan)'
>>> labels.code_label("household_type", "poverty_exited", "zh")
'脱贫户'
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal, get_args

import pandas as pd

from analysis.config import PACKAGE_CONFIG, config_path, file_stamp, load_yaml
from analysis.errors import ParameterError

Lang = Literal["zh", "en"]
LANGS = get_args(Lang)


def check_lang(lang: str) -> str:
    """Return ``lang`` if allowed, else raise :class:`ParameterError` naming the allowed values."""
    if lang not in LANGS:
        raise ParameterError(f"lang must be one of {list(LANGS)}, not {lang!r}")
    return lang


def _messages() -> dict:
    """messages.yaml merged with every messages_<topic>.yaml beside it (one catalogue, a file per report)."""
    config_dir = os.environ.get("ANALYSIS_CONFIG_DIR")
    files = ["messages.yaml", *sorted(p.name for p in PACKAGE_CONFIG.glob("messages_*.yaml"))]
    paths = [config_path(name, config_dir) for name in files]
    return _merged_messages(config_dir, tuple(file_stamp(p) for p in paths if p.exists()))


@lru_cache(maxsize=8)
def _merged_messages(config_dir: str | None, stamps: tuple) -> dict:
    """The merged catalogue for one user configuration folder, read again when a message file changes
    (``stamps``); treat it as read-only."""
    merged = dict(load_yaml("messages.yaml", config_dir))
    for path in sorted(PACKAGE_CONFIG.glob("messages_*.yaml")):
        for key, value in load_yaml(path.name, config_dir).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


def text(key: str, lang: str = "zh", **values) -> str:
    """The message at dotted ``key`` in ``lang``, with ``values`` filled in."""
    check_lang(lang)
    node = _messages()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"no message {key!r} in messages.yaml")
        node = node[part]
    template = node[lang]
    return template.format(**values) if values else template


def code_label(column: str, code: str, lang: str = "zh") -> str:
    """The display label of a canonical code (e.g. household_type 'poverty_exited' -> 脱贫户)."""
    check_lang(lang)
    cat = load_yaml("catalogue.yaml")
    for section in ("values",):
        entry = cat[section].get(column, {}).get(code)
        if entry:
            return entry[lang]
    for section in ("risk_types", "aid_types"):
        if column == section and code in cat[section]:
            return cat[section][code][lang]
    return str(code)


def rename_columns(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A copy of ``frame`` with column names replaced by their display labels where one exists."""
    names = _messages()["columns"]
    return frame.rename(columns={c: names[c][lang] for c in frame.columns if c in names})


def column_label(code: str, lang: str = "zh") -> str | None:
    """The display label of column ``code``, or None when the catalogue has none; ``<code>_low`` and
    ``<code>_high`` are the bounds of the 95% interval of ``<code>``.

    >>> column_label("transient_share_low", "en")
    'Transient share, 95% low'
    """
    check_lang(lang)
    return _column_label(_messages(), code, lang)


def column_labels(codes, lang: str = "zh") -> list[str | None]:
    """:func:`column_label` of each of ``codes``, reading the catalogue once."""
    check_lang(lang)
    catalogue = _messages()
    return [_column_label(catalogue, str(code), lang) for code in codes]


def _column_label(catalogue: dict, code: str, lang: str) -> str | None:
    entry = catalogue["columns"].get(code)
    if entry:
        return entry[lang]
    for end in ("low", "high"):   # the bounds of an interval: <estimate>_low, <estimate>_high
        stem = code.removesuffix(f"_{end}")
        if stem != code and (label := _column_label(catalogue, stem, lang)):
            return catalogue["workbook"][f"interval_{end}"][lang].format(label=label)
    return None


def sheet_name(key: str, lang: str = "zh") -> str:
    """A workbook sheet's name in ``lang`` (``workbook.sheets.<key>``); a key with no entry is taken as
    already named (e.g. a page that names its sheets itself)."""
    check_lang(lang)
    entry = _messages()["workbook"]["sheets"].get(key)
    return entry[lang] if entry else key


def sheet_definitions(key: str) -> list[str]:
    """The definitions.yaml entries a workbook sheet's footnote quotes (``workbook.sheets.<key>.definitions``)."""
    entry = _messages()["workbook"]["sheets"].get(key) or {}
    return list(entry.get("definitions", []))


def value_label(column: str, code, lang: str = "zh"):
    """The display label of a coded value ``code`` of ``column``: from ``workbook.values``, then the
    section ``workbook.value_sections`` names for the column, then the value labels of catalogue.yaml;
    ``code`` itself when none has it.

    >>> value_label("estimator", "twfe", "zh")
    '静态双向固定效应（TWFE）'
    >>> value_label("subgroup", "female", "en")
    'Women'
    """
    check_lang(lang)
    if not isinstance(code, str):
        return code
    catalogue = _messages()
    book = catalogue["workbook"]
    entry = book["values"].get(column, {}).get(code)
    if entry:
        return entry[lang]
    section = book["value_sections"].get(column)
    if section:
        path, _, prefix = section.rpartition(".") if section.endswith("_") else (section, "", "")
        node = catalogue
        for part in path.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        entry = node.get(f"{prefix}{code}") if isinstance(node, dict) else None
        if entry:
            return entry[lang]
    return code_label(column, code, lang)
