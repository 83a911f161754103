"""From monitoring-system exports to the canonical tables, pseudonymised and validated.

``ingest(paths)`` reads CSV (UTF-8, UTF-8 with BOM, UTF-16, GBK/GB18030) and XLSX exports with Chinese
headers in any column order, recognises each file by its headers (a household file, a member file, or a
person-row export holding both), maps values to canonical codes, replaces identifiers by keyed
pseudonyms, drops personal data, checks everything, and only then writes Parquet under
``data/processed/`` atomically. Any problem in any file stops the whole ingest with every problem listed
(file, row, column) and nothing written; the report of a refused ingest can be written elsewhere
(``report_path``).

Every departure from the plain format is either repaired, and listed in ``ingest_report.md``, or refused:

* repaired: encodings and declarations (see :mod:`analysis.io.readers`), title rows, two-row headers, blank
  and totals rows, cells merged down a column, traditional-character or full-width headers, a column
  repeated with identical values, numbers with separators or units (``12,345元``, ``1.2万``), text and
  Excel-serial dates, identifiers with a float ``.0``, household values given on one member row only,
  empty income cells (read as 0), one sheet per township (sheets with the same header read together; a
  sheet of instructions passed over), a county's short name beside its full name in one prefecture
  (北岭 / 北岭县), 户编号/人编号 that lost their leading zeros when the width is certain, 15-digit ID
  numbers (read in their 18-character form), full-width digits, and (see :mod:`analysis.io.readers`)
  subtotal rows, ``="..."`` cells, signature lines, legacy .xls workbooks and files joined with copy a+b;
* refused, naming file, row and column: anything that cannot be read for certain (``12%`` or ``1,2万`` as
  an amount, ``3/5/2021``, identifiers in scientific notation or with leading zeros lost from a column of
  several widths, Excel error cells (``#N/A``...), rows with too many or too few values,
  formulas without saved results, a file that is not a table), years without a monitoring threshold in
  ``thresholds.csv``, dates outside 2000-2100 or elimination before monitoring, duplicate households or
  persons, members without a household, household sizes that differ from the member rows, negative or
  absurd amounts (over 10 million yuan per person), stated totals that do not reconcile, county names that
  are numbers or totals labels (or, when a list of counties is configured, not on it), two different
  columns meaning the same thing, and personal data in a column that would be kept.

Examples
--------
>>> from analysis.io import ingest
>>> result = ingest.ingest(["data/raw/sample/"], out_dir="data/processed")  # doctest: +SKIP
>>> result.households.shape  # doctest: +SKIP
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis.io import parsing, privacy, schema, text_checks
from analysis.config import DATA_PROCESSED, load_yaml, thresholds
from analysis.core import workers
from analysis.core.files import atomic_write, sha256_files
from analysis.errors import DataError, ParameterError, Problem
from analysis.io import readers
from analysis.io.readers import (TOTAL_WORD, RawTable, fmt_rows, normalize_header, read_raw, rows_of,
                                 variant_table)

READABLE = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")
# Stated net income may differ from the sum of its components by rounding: allow the larger of
# 1 yuan per person and 0.5% of the computed value before calling the record inconsistent.
RECONCILE_ABS_PC, RECONCILE_REL = 1.0, 0.005
HOUSEHOLD_LEVEL = [c for c in schema.HOUSEHOLD_COLUMNS if c not in ("household_id", "year")]
MEMBER_SIGNS = ("person_id", "id_number", "name", "sex", "age", "labor_skill", "months_worked",
                "work_location", "education", "health", "trained")
AMOUNTS = (*schema.INCOME_COMPONENTS, *schema.EXPENSE_COMPONENTS)
# Dates in the records belong to the monitoring era; anything outside is a typing or conversion error.
DATE_RANGE = (pd.Timestamp("2000-01-01"), pd.Timestamp("2100-12-31"))
LIMIT = 50   # problems listed per check and file; the count of the rest is given
#: Endings of county-level names: a name without one (北岭) is the short form of the name with it (北岭县).
COUNTY_SUFFIXES = ("县", "市", "区", "旗")
#: Inputs with more text than this (bytes, all CSV files together) are read in chunks (see ``chunk_rows``).
STREAM_BYTES = 256 << 20
#: Rows per chunk when reading in chunks.
CHUNK_ROWS = 100_000
#: Inputs of at least this many bytes (all files together) are read by worker processes, one file each, when
#: there are several files and several cores: below it, starting the workers costs more than they save.
PARALLEL_BYTES = 24 << 20
#: The folder name of the county partition for records without a county (as Arrow's hive partitioning).
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


@dataclass
class FileReport:
    """What happened to one input file: rows read and written, repairs made, problems found."""

    path: str
    encoding: str = ""
    kind: str = ""
    rows_in: int = 0
    rows_skipped: int = 0
    households_out: int = 0
    members_out: int = 0
    notes: list[str] = field(default_factory=list)
    problems: int = 0
    columns: dict[str, str] = field(default_factory=dict)   # canonical name -> header as written
    source: str = ""            # the input file, when ``path`` names one sheet of it


@dataclass
class IngestResult:
    """The ingested tables (``None`` when read in chunks: load them with :func:`analysis.io.data.load`)."""

    households: pd.DataFrame | None
    members: pd.DataFrame | None
    files: list[FileReport]
    n_households: int = 0
    n_members: int = 0

    def __post_init__(self):
        if self.households is not None:
            self.n_households, self.n_members = len(self.households), len(self.members)

    def report(self) -> str:
        """A Markdown ingest report: rows in and out and every repair, per file."""
        return render_report(self.files, [], self.n_households, self.n_members)


def render_report(files: list[FileReport], problems: list[Problem], households: int | None = None,
                  members: int | None = None) -> str:
    """The Markdown ingest report of an accepted (no ``problems``) or refused ingest.

    One table row per file (encoding, what it holds, data rows in, rows skipped as blank or totals,
    household-years and person-years out, problems), then every repair and warning, then every problem.
    """
    refused = bool(problems)
    lines = ["# Ingest report", "",
             f"**Refused: {len(problems)} problem(s); nothing was written.**" if refused else
             f"Accepted: {households} household-years, {members} person-years written.", "",
             "| file | encoding | kind | rows in | rows skipped | households out | members out | problems |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for f in files:
        out_h, out_m = (0, 0) if refused else (f.households_out, f.members_out)
        lines.append(f"| {Path(f.path).name} | {f.encoding} | {f.kind} | {f.rows_in} | {f.rows_skipped} | "
                     f"{out_h} | {out_m} | {f.problems} |")
    lines += ["", "## Repairs and warnings", ""]
    lines += [f"- {Path(f.path).name}: {_redact_text(n, set())}" for f in files for n in f.notes] or ["- none"]
    if refused:
        lines += ["", "## Problems", ""] + [f"- {p}" for p in _redacted(problems, set())]
    else:
        lines += ["", f"Total: {households} household-years, {members} person-years."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Header and value vocabularies (from the editable YAML files)

def variants(config_dir=None) -> dict:
    """The traditional-to-simplified character table of ``headers.yaml`` (a ``str.translate`` table)."""
    return variant_table(load_yaml("headers.yaml", config_dir).get("character_variants"))


def header_index(config_dir=None) -> dict[str, tuple[str, bool]]:
    """Folded header spelling -> (canonical name, negate)."""
    spec = load_yaml("headers.yaml", config_dir)
    table = variants(config_dir)
    index: dict[str, tuple[str, bool]] = {}
    for canon in {**schema.HOUSEHOLD_COLUMNS, **schema.MEMBER_COLUMNS}:
        index[normalize_header(canon, table)] = (canon, False)
    for section in ("personal", "identifiers", "columns"):
        for canon, entry in (spec.get(section) or {}).items():
            aliases, negate = (entry.get("aliases", []), bool(entry.get("negate"))) if isinstance(entry, dict) \
                else (entry, False)
            name = f"personal:{canon}" if section == "personal" else canon
            for alias in [canon, *aliases]:
                index[normalize_header(alias, table)] = (name, negate)
    return index


def exact_headers(config_dir=None) -> set[str]:
    """Every header spelling of ``headers.yaml`` as written (to tell which headers needed folding)."""
    spec = load_yaml("headers.yaml", config_dir)
    spellings = {*schema.HOUSEHOLD_COLUMNS, *schema.MEMBER_COLUMNS}
    for section in ("personal", "identifiers", "columns"):
        for canon, entry in (spec.get(section) or {}).items():
            spellings |= {canon, *(entry.get("aliases", []) if isinstance(entry, dict) else entry)}
    return spellings


def value_lookups(config_dir=None) -> dict[str, dict[str, str]]:
    """For each coded column, folded spelling -> canonical code."""
    cat = load_yaml("catalogue.yaml", config_dir)
    table = variants(config_dir)
    lookups = {}
    for column, codes in cat["values"].items():
        lookup = {}
        for code, entry in codes.items():
            for spelling in [code, entry.get("zh", ""), entry.get("en", ""), *entry.get("aliases", [])]:
                lookup[normalize_header(spelling, table)] = code
        lookups[column] = lookup
    return lookups


def list_lookup(kind: str, config_dir=None) -> dict[str, str]:
    """For risk or aid types: folded label (with and without 帮扶/保障 suffixes) -> code."""
    cat = load_yaml("catalogue.yaml", config_dir)[kind]
    table = variants(config_dir)
    lookup = {}
    for code, entry in cat.items():
        zh = entry["zh"]
        for spelling in {code, zh, entry["en"], zh.removesuffix("帮扶"), zh.removesuffix("保障"),
                         zh.removeprefix("因")}:
            lookup[normalize_header(spelling, table)] = code
    return lookup


def known_counties(counties=None, config_dir=None) -> set[str] | None:
    """The county names to accept: ``counties`` if given (a list, or a file with one name a line), else
    the ``counties`` list of ``catalogue.yaml``; ``None`` (any proper name accepted) when both are empty."""
    if isinstance(counties, (str, Path)):
        counties = [ln.strip() for ln in Path(counties).read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    names = list(counties or load_yaml("catalogue.yaml", config_dir).get("counties") or [])
    return {normalize_header(n, {}) for n in names} or None


# --------------------------------------------------------------------------------------------------
# One file: headers

def map_headers(raw: RawTable, index: dict, table: dict | None = None, config_dir=None
                ) -> tuple[dict[str, tuple[str, bool]], list[Problem], list[str]]:
    """Column label -> (canonical, negate); problems for two different columns meaning the same thing.

    Columns under unknown headers are ignored (and noted), except that one whose values are resident ID
    numbers or phone numbers is recognised by its content as personal data, so that it is dropped like a
    named personal column. Two columns meaning the same canonical column are refused unless their
    values are identical (then the second is dropped, with a note).
    """
    mapping, seen, problems, notes = {}, {}, [], []
    hits = {label: index.get(normalize_header(raw.headers.get(label, label), table)) for label in raw.frame.columns}
    exact = exact_headers(config_dir)
    folded = [f"{raw.headers.get(label, label)!r} -> {hit[0].removeprefix('personal:')}" for label, hit in hits.items()
              if hit is not None and raw.headers.get(label, label) not in exact]
    if folded:
        notes.append("header(s) matched after folding traditional characters, full-width forms, spaces or letter "
                     f"case: {', '.join(folded)}")
    unknown = [label for label, hit in hits.items() if hit is None]
    by_content = privacy.personal_columns_by_content(raw.frame[unknown]) if unknown else {}
    for label, hit in hits.items():
        where = f"{label!r} (column {raw.letters.get(label, '?')})"
        if hit is None and label in by_content:
            kind = by_content[label]
            # A name column found by content says nothing of the file's kind (a household file may list the head).
            hit = (f"personal:{kind}" if kind != "name" else "personal:name_by_content", False)
            notes.append(f"column {where} holds {kind.replace('_', ' ')}{'es' if kind == 'address' else 's'} by its "
                         "content; dropped")
        if hit is None:
            if (raw.frame[label] != "").any():
                notes.append(f"column {where} is not a known header; ignored")
            continue
        canon = hit[0]
        if canon in seen and not canon.startswith("personal:"):
            first = seen[canon]
            differ = raw.frame[first] != raw.frame[label]
            if not differ.any():
                notes.append(f"columns {first!r} and {where} both mean {canon} and hold identical values; "
                             "the second was ignored")
                continue
            problems.append(Problem(raw.path, raw.header_row, raw.headers.get(label, label),
                                    f"this column ({raw.letters.get(label)}) and {first!r} (column "
                                    f"{raw.letters.get(first)}) both mean {canon} but hold different values (first "
                                    f"difference in row {int(raw.rows[differ.idxmax()])}); keep only one"))
            continue
        if not canon.startswith("personal:") and _may_hold_names(raw.frame[label]) and \
                privacy.column_kind(raw.frame[label], min_names=20) == "name":
            problems.append(Problem(raw.path, raw.header_row, raw.headers.get(label, label),
                                    f"this column ({raw.letters.get(label)}) holds what read as names of people, "
                                    f"not {canon}; personal names cannot be kept: check that the columns are not "
                                    "shifted, or remove the names"))
            continue
        seen[canon] = label
        mapping[label] = hit
    return mapping, problems, notes


def _may_hold_names(values: pd.Series, sample: int = 500) -> bool:
    """False when the ``sample`` values :func:`privacy.column_kind` reads are sure to be ASCII (names are
    Chinese): the column's first rows are ASCII and hold that many values that are not blank."""
    head = values.iloc[:2 * sample].tolist()
    return not (all(isinstance(v, str) and v.isascii() for v in head) and sum(1 for v in head if v.strip()) >= sample)


def _classify(canon: set[str]) -> str:
    household_signs = {*schema.INCOME_COMPONENTS, "expense_production", "net_income", "net_income_pc",
                       "household_type", "size"}
    has_household = bool(canon & household_signs)
    has_member = bool(canon & {"person_id", "personal:id_number", "personal:name", *MEMBER_SIGNS})
    if has_household and has_member:
        return "person-row export (households + members)"
    if has_household:
        return "households"
    if has_member:
        return "members"
    return "unknown"


def _required_problems(raw: RawTable, canon: set[str], kind: str, config_dir) -> list[Problem]:
    spec = load_yaml("headers.yaml", config_dir)
    aliases = {**spec["identifiers"], **spec["columns"]}
    need = []
    if kind != "members":
        need += [c for c, col in schema.HOUSEHOLD_COLUMNS.items() if col.required]
    else:
        need += ["household_id", "year"]
        if not canon & {"person_id", "personal:id_number"}:
            need.append("person_id")
    missing = [c for c in dict.fromkeys(need) if c not in canon]

    def zh(c):
        entry = aliases.get(c, [])
        first = (entry.get("aliases") if isinstance(entry, dict) else entry) or [c]
        return first[0]

    return [Problem(raw.path, None, zh(c), f"required column is missing (canonical name {c!r})") for c in missing]


# --------------------------------------------------------------------------------------------------
# One file: values

def _kinds() -> dict[str, str]:
    return {**{n: c.kind for n, c in schema.MEMBER_COLUMNS.items()},
            **{n: c.kind for n, c in schema.HOUSEHOLD_COLUMNS.items()}, "bn_housing_safe": "bool"}


def _parse_many(texts: list[pd.Series], kind: str, cat: dict) -> list[parsing.Parsed]:
    """Parse several columns of one kind in one pass (a file's twenty yes/no columns share one vocabulary;
    one parse of them all costs about what one column does)."""
    n = len(texts[0])
    stacked = pd.concat(texts, ignore_index=True)
    if kind == "float":
        parsed = parsing.number(stacked)
    elif kind == "int":
        parsed = parsing.integer(stacked)
    elif kind == "bool":
        parsed = parsing.boolean(stacked, cat["booleans"]["true"], cat["booleans"]["false"])
    else:
        parsed = parsing.date(stacked)
    bad, repaired = parsed.bad.to_numpy(), parsed.repaired.to_numpy()

    def part(s, k):
        return None if s is None else s.iloc[k * n:(k + 1) * n].set_axis(texts[0].index)
    return [parsing.Parsed(part(parsed.values, k), pd.Series(bad[k * n:(k + 1) * n], index=texts[0].index),
                           pd.Series(repaired[k * n:(k + 1) * n], index=texts[0].index),
                           part(parsed.reason, k) if bad[k * n:(k + 1) * n].any() else None)
            for k in range(len(texts))]


def _typed(raw: RawTable, mapping: dict, config_dir, widths: dict | None = None
           ) -> tuple[pd.DataFrame, list[Problem], list[str]]:
    """Parse every mapped column into canonical types; problems located by row and raw header. ``widths``:
    identifier widths met in earlier chunks of the same file (see :func:`_leading_zeros`)."""
    cat = load_yaml("catalogue.yaml", config_dir)
    lookups, table, kinds = value_lookups(config_dir), variants(config_dir), _kinds()
    out, problems, notes, parsed = {}, [], [], {}
    unreadable = pd.Series(False, index=raw.frame.index)
    by_kind: dict[str, list[str]] = {}
    for label, (canon, _) in mapping.items():
        kind = kinds.get(canon, "str")
        if canon.startswith("personal:") or canon in ("household_id", "person_id") or kind in ("str", "code"):
            continue
        by_kind.setdefault(kind, []).append(label)
    for kind, labels in by_kind.items():
        parsed.update(zip(labels, _parse_many([raw.frame[label] for label in labels], kind, cat)))
    for label, (canon, negate) in mapping.items():
        text, header = raw.frame[label], raw.headers.get(label, label)
        kind = kinds.get(canon, "str")
        if canon in ("household_id", "person_id", "personal:id_number"):
            out[canon], p, n = _identifier(text, raw, header, pad=canon != "personal:id_number", widths=widths)
            problems, notes = problems + p, notes + n
            continue
        if canon.startswith("personal:"):
            out[canon] = text.where(text != "").astype("string")
            continue
        if kind == "str":
            value = _per_distinct(text, parsing.fold) if canon.startswith(("risk_", "aid_")) else _nfkc(text)
            out[canon] = value.where(text != "").astype("string")
            continue
        result = parsed.get(label) or parsing.code(text, lookups[canon], table)
        p, n = _parse_report(result, text, raw, header, _describe(kind, canon, cat), _repair_words(kind))
        problems, notes = problems + p, notes + n
        unreadable |= result.bad
        out["bn_housing" if canon == "bn_housing_safe" else canon] = ~result.values if negate else result.values
    # Rows with a cell that could not be read are refused already; the checks that follow skip them, so
    # that a missing value does not also show up as a total that fails to reconcile.
    out["_unreadable"] = unreadable
    return pd.DataFrame(out, index=raw.frame.index), problems, notes


def _nfkc(text: pd.Series) -> pd.Series:
    """Text in Unicode NFKC form."""
    return _per_distinct(text, lambda s: s.map(lambda v: unicodedata.normalize("NFKC", v)))


def _per_distinct(text: pd.Series, function) -> pd.Series:
    """``function`` (of a Series of text, value by value) computed once per distinct value of ``text`` and spread
    over its rows: a column of places, categories or risks repeats a few values down all its rows."""
    codes, uniques = pd.factorize(text, sort=False)
    done = function(pd.Series(np.asarray(uniques, dtype=object), dtype=object)).tolist()
    values = pa.array(done + [None], type=pa.string()).take(np.where(codes < 0, len(done), codes))  # -1: missing
    return pd.Series(pd.arrays.ArrowStringArray(values), index=text.index)


def _parse_report(parsed: parsing.Parsed, text: pd.Series, raw: RawTable, header: str, expected: str,
                  repair: str) -> tuple[list[Problem], list[str]]:
    """Problems for the cells of one column that could not be read; a note for those repaired."""
    problems, notes = [], []
    bad = parsed.bad.to_numpy()
    if bad.any():
        for i in parsed.bad.index[bad][:LIMIT]:
            why = parsed.reason[i] if parsed.reason is not None else ""
            problems.append(Problem(raw.path, int(raw.rows[i]), header, f"cannot read {text[i]!r} as {expected}"
                                    + (f": {why}" if why else "")))
        problems += _more(raw, header, int(bad.sum()))
    repaired = parsed.repaired.to_numpy()
    if repaired.any():
        first = parsed.repaired.index[repaired][0]
        notes.append(f"column {header!r}: {int(repaired.sum())} value(s) repaired ({repair}), e.g. row "
                     f"{int(raw.rows[first])}: {text[first]!r} -> {_show(parsed.values[first])}")
    return problems, notes


def _identifier(text: pd.Series, raw: RawTable, header: str, pad: bool = False, widths: dict | None = None
                ) -> tuple[pd.Series, list[Problem], list[str]]:
    """Identifiers (户编号, 人编号, ID numbers) as text that links records across files and years.

    Full-width digits are folded and a float artefact ``.0`` is removed (``0200050800.0`` and
    ``0200050800`` are the same household; with the artefact the two years would not link). An identifier
    in scientific notation (``4.10102E+17``) has lost digits in Excel and is refused.
    """
    if text.str.fullmatch("[0-9A-Za-z]*").all():
        # The usual column: ASCII letters and digits only, which folding leaves as they are.
        value, notes = text.astype("string"), []
        sci = value.str.fullmatch("[0-9][eE][+]?[0-9]+").astype(bool)
    else:
        text = text.astype(object)
        value = text.str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
        artefact = value.str.fullmatch(r"\d+\.0+")
        value = value.where(~artefact, value.str.replace(r"\.0+$", "", regex=True))
        changed = (value != text) & (text != "")
        notes = [f"column {header!r}: {int(changed.sum())} identifier(s) tidied (full-width digits, spaces or a "
                 f"trailing '.0' removed), e.g. row {int(raw.rows[changed.idxmax()])}"] if changed.any() else []
        sci = value.str.fullmatch(r"\d(?:\.\d+)?[eE]\+?\d+")
    problems = [Problem(raw.path, int(raw.rows[i]), header,
                        f"the identifier {text[i]!r} is in scientific notation: Excel has rounded it and its last "
                        "digits are lost; format the column as text in the source system's export and export again")
                for i in sci[sci].index[:LIMIT]]
    problems += _more(raw, header, int(sci.sum()))
    if not pad:
        value, n = _first_generation_ids(value, raw, header)
        notes += n
    if pad:
        value, p, n = _leading_zeros(value, raw, header, None if widths is None else widths.setdefault(header, set()))
        problems, notes = problems + p, notes + n
    return value.where(text != "").astype("string"), problems, notes


def _first_generation_ids(value: pd.Series, raw: RawTable, header: str) -> tuple[pd.Series, list[str]]:
    """15-digit resident ID numbers (issued before 1999) in their 18-character form, as the same person's ID
    is written since: the birth date and sex are then read as from any other ID number."""
    old = pd.Series(False, index=value.index)
    maybe = (value.str.len() == 15).fillna(False).astype(bool)     # identifiers here hold no spaces
    if maybe.any():
        old[maybe] = value[maybe].map(privacy.is_first_generation_id, na_action="ignore").fillna(False).astype(bool)
    if not old.any():
        return value, []
    return value.where(~old, value[old].map(privacy.upgrade_id)), [
        f"column {header!r}: {int(old.sum())} first-generation 15-digit ID number(s) read in their 18-character "
        f"form (19 before the year, check character added), rows {fmt_rows(rows_of(raw, old))}"]


def _leading_zeros(value: pd.Series, raw: RawTable, header: str, seen: set[int] | None = None
                   ) -> tuple[pd.Series, list[Problem], list[str]]:
    """户编号 / 人编号 that lost their leading zeros (stored as Excel numbers) among ones that kept them.

    A column is zero-padded when some of its identifiers start with 0. The zeros of the shorter identifiers
    that do not start with 0 are restored when the width is certain: every identifier starting with 0 has
    the same width. When they have several widths, how many zeros were lost is unknown and the column is
    refused. A column where no identifier starts with 0 is not padded and is left as it is. ``seen``: the
    widths met in earlier chunks of the same file (updated).
    """
    digits = value.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)
    zero = digits & value.str.startswith("0").fillna(False).astype(bool)
    widths = {int(n) for n in value[zero].str.len().unique()} | set(seen or ())
    if seen is not None:
        seen |= widths
    if not widths:
        return value, [], []
    width = max(widths)
    lengths = value.str.len().where(digits)
    short = (digits & ~zero & (lengths < width)).fillna(False).astype(bool)
    if not short.any():
        return value, [], []
    rows = rows_of(raw, short)
    if len(widths) > 1:
        return value, [Problem(raw.path, rows[0], header,
                               f"identifiers in this column have leading zeros and different widths "
                               f"({', '.join(map(str, sorted(widths)))} digits), and {int(short.sum())} shorter one(s) "
                               f"have none (rows {fmt_rows(rows)}): how many leading zeros were lost cannot be told; "
                               "format the column as text in the export and export again")], []
    restored = value.where(~short, value.str.zfill(width))
    return restored, [], [f"column {header!r}: {int(short.sum())} identifier(s) had lost their leading zeros (stored "
                          f"as numbers in Excel); restored to the width of the others, {width} digits (rows "
                          f"{fmt_rows(rows)})"]


def _more(raw: RawTable, column: str | None, count: int) -> list[Problem]:
    """One line for the problems of a kind beyond the first ``LIMIT`` listed."""
    return [Problem(raw.path, None, column, f"... and {count - LIMIT} more such rows")] if count > LIMIT else []


def _show(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _describe(kind: str, canon: str, cat: dict) -> str:
    if kind == "code":
        codes = cat["values"][canon]
        labels = [e["zh"] for e in codes.values()]
        return f"one of the allowed values for {canon}: {', '.join(labels)} (or the codes {', '.join(codes)})"
    return {"float": "a number of yuan (e.g. 12345 or 12,345)", "int": "a whole number",
            "bool": "yes/no (是/否)", "date": "a date (e.g. 2021-03-15)"}[kind]


def _repair_words(kind: str) -> str:
    return {"float": "thousands separators, units 元/万, full-width digits or spaces removed; '-' read as 0",
            "int": "units 年/人 removed", "date": "written as 2021/3/5, 2021年3月5日, 20210305 or an Excel day "
                                                 "number; read as a calendar date"}.get(kind, "normalised")


def _multi_code(t: pd.DataFrame, columns: list[str], kind: str, prefix: str, raw: RawTable, mapping: dict,
                config_dir, split: bool) -> tuple[pd.DataFrame, list[Problem]]:
    """Turn list columns (风险1-5 or 帮扶措施 "产业;就业") into one boolean column per configured code."""
    lookup = list_lookup(kind, config_dir)
    table = variants(config_dir)
    codes = list(load_yaml("catalogue.yaml", config_dir)[kind])
    flags = pd.DataFrame(False, index=t.index, columns=[f"{prefix}{c}" for c in codes])
    problems = []
    reverse = {canon: raw.headers.get(label, label) for label, (canon, _) in mapping.items()}
    allowed = ", ".join(e["zh"] for e in load_yaml("catalogue.yaml", config_dir)[kind].values())
    for col in columns:
        if col not in t:
            continue
        # Each distinct cell is read once: a column of lists repeats a few combinations down all its rows.
        cells, distinct = pd.factorize(t[col].fillna("").astype(object), sort=False)
        items = [[v for v in (re.split(r"[,，;；、/|]", cell) if split else [cell]) if v] for cell in distinct]
        found = [[lookup.get(normalize_header(v, table)) for v in cell] for cell in items]
        unknown = np.array([None in cell for cell in found] + [False], dtype=bool)[cells]
        for i in t.index[unknown][:LIMIT]:
            personal = privacy.personal_kinds(str(t.at[i, col]))
            problems.append(Problem(raw.path, int(raw.rows[i]), reverse[col],
                                    f"this cell holds personal data ({', '.join(personal)}) besides the "
                                    f"{kind.replace('_', ' ')}; remove it from the export" if personal else
                                    f"unknown {kind.replace('_', ' ')[:-1]} {t.at[i, col]!r}; allowed: {allowed}"))
        for code in dict.fromkeys(c for cell in found for c in cell if c is not None):
            hit = np.array([code in cell for cell in found] + [False], dtype=bool)[cells]
            flags.loc[hit, f"{prefix}{code}"] = True
    return flags.astype("boolean"), problems


def _list_columns(t: pd.DataFrame, raw: RawTable, mapping: dict, config_dir) -> tuple[pd.DataFrame, list[Problem]]:
    """Risk columns 1-5 and the assistance list become flags, merged with any flags the file already has."""
    risk_cols = [f"risk_{i}" for i in range(1, 6) if f"risk_{i}" in t]
    aid_cols = [c for c in ("aid_measures",) if c in t]
    risk, p1 = _multi_code(t, risk_cols, "risk_types", "risk_", raw, mapping, config_dir, split=False)
    aid, p2 = _multi_code(t, aid_cols, "aid_types", "aid_", raw, mapping, config_dir, split=True)
    flags = pd.concat([risk, aid], axis=1)
    if not risk_cols:
        flags = flags.drop(columns=risk.columns)
    if not aid_cols:
        flags = flags.drop(columns=aid.columns)
    for col in flags.columns.intersection(t.columns):
        flags[col] = flags[col] | t[col].fillna(False)
    t = t.drop(columns=[*risk_cols, *aid_cols, *flags.columns.intersection(t.columns)])
    return pd.concat([t, flags], axis=1), p1 + p2


def read_export(path: str | Path, key: bytes, config_dir=None, counties: set[str] | None = None
                ) -> tuple[pd.DataFrame | None, pd.DataFrame | None, FileReport, list[Problem]]:
    """Read one export into canonical households and/or members; problems are returned, not raised.

    Both tables carry ``_row``, the spreadsheet row each record came from (the first member row of a
    household in a person-row export), so that checks across files can name rows.
    """
    return export_from_raw(read_raw(path), key, config_dir, counties)


def read_export_tables(path: str | Path, key: bytes, config_dir=None, counties: set[str] | None = None
                       ) -> list[tuple[pd.DataFrame | None, pd.DataFrame | None, FileReport, list[Problem]]]:
    """:func:`read_export` for each table of a file: a workbook with one sheet per township gives one
    result per sheet (each report's ``path`` names file and sheet, its ``source`` the file)."""
    tables = readers.read_tables(path, set(header_index(config_dir)))
    results = []
    for raw in tables:
        hh, mem, report, problems = export_from_raw(raw, key, config_dir, counties)
        report.source = str(path)
        results.append((hh, mem, report, problems))
    return results


def export_from_raw(raw: RawTable, key: bytes, config_dir=None, counties: set[str] | None = None,
                    id_widths: dict | None = None
                    ) -> tuple[pd.DataFrame | None, pd.DataFrame | None, FileReport, list[Problem]]:
    """:func:`read_export` of a file already read (or of one chunk of a large file: then ``id_widths``, one
    dict for all chunks, carries what earlier chunks showed of the identifiers' widths)."""
    path = raw.path
    report = FileReport(str(path), raw.encoding, rows_in=raw.rows_read, rows_skipped=raw.rows_read - len(raw.frame),
                        notes=list(raw.notes))
    mapping, problems, notes = map_headers(raw, header_index(config_dir), variants(config_dir), config_dir)
    report.notes += notes
    report.columns = {canon: raw.headers.get(label, label) for label, (canon, _) in mapping.items()}
    canon = {c for c, _ in mapping.values()}
    kind = report.kind = _classify(canon)
    if kind == "unknown":
        problems.append(Problem(raw.path, raw.header_row, None,
                                "cannot tell what this file holds: it has neither the income columns of a household "
                                "table (工资性收入, 生产经营性收入, 财产性收入, 转移性收入) nor person columns "
                                f"(人编号, 证件号码, 姓名...). Headers found: "
                                f"{', '.join(repr(h) for h in list(raw.headers.values())[:20])}"))
        return None, None, report, _redacted(problems, PersonalValues(raw, mapping))
    problems += _required_problems(raw, canon, kind, config_dir)
    raw, error_problems = _excel_errors(raw, mapping)
    problems += error_problems
    if problems:
        return None, None, report, _redacted(problems, PersonalValues(raw, mapping))
    t, typed_problems, notes = _typed(raw, mapping, config_dir, id_widths)
    problems += typed_problems
    report.notes += notes
    t["household_id"] = privacy.pseudonymize(t["household_id"], key, "H")
    households = members = None
    if kind != "members":
        t, list_problems = _list_columns(t, raw, mapping, config_dir)
        problems += list_problems
        households, hp, hn = _households(t, raw, report.columns, kind != "households", config_dir, counties)
        problems += hp
        report.notes += hn
        report.households_out = len(households)
    if kind != "households":
        members, mp = _members(t, raw, key, report.columns, config_dir, check_years=kind == "members")
        problems += mp
        report.members_out = len(members)
    text_notes, text_problems = text_checks.check(raw, mapping)
    report.notes += text_notes
    problems += text_problems
    known = PersonalValues(raw, mapping)
    problems += _leaks(raw, known, [f for f in (households, members) if f is not None], report.columns)
    report.notes = [_redact_text(n, known) for n in report.notes]
    return households, members, report, _redacted(problems, known)


def _excel_errors(raw: RawTable, mapping: dict) -> tuple[RawTable, list[Problem]]:
    """Cells of the columns read that show an Excel error (``#N/A``, ``#DIV/0!``...): the value behind them is
    unknown, so each is refused, naming its row and column; they are then read as empty so that the same
    cell is not reported again as unreadable."""
    errors = {e.upper() for e in readers.EXCEL_ERRORS}
    problems, frame = [], None
    for label in mapping:
        if not readers.might_hold(raw.frame[label], (b"#",)) or not raw.frame[label].str.startswith("#").any():
            continue
        text = raw.frame[label].astype(object)
        hit = text.str.upper().isin(errors)
        if not hit.any():
            continue
        header = raw.headers.get(label, label)
        problems += [Problem(raw.path, int(raw.rows[i]), header,
                             f"the cell shows the Excel error {text[i]}: a formula failed, so the value is unknown; "
                             "correct the formula or type the value, save, and export again")
                     for i in hit[hit].index[:LIMIT]]
        problems += _more(raw, header, int(hit.sum()))
        frame = raw.frame.copy() if frame is None else frame
        frame.loc[hit, label] = ""
    return (raw if frame is None else replace(raw, frame=frame)), problems


# --------------------------------------------------------------------------------------------------
# One file: checks of the canonical records

def _consistent_households(hh: pd.DataFrame, raw: RawTable, header: dict) -> tuple[pd.DataFrame, list[Problem],
                                                                                 list[str]]:
    """In a person-row export, household values repeat on every member row. A value given on some rows and
    blank on the others (cells merged down the household in Excel) is copied to the blanks; values that
    disagree are refused."""
    key = ["household_id", "year"]
    level = [c for c in HOUSEHOLD_LEVEL if c in hh.columns]
    # Rows without 户编号 or year belong to no household (and are refused): they are not grouped.
    first = hh.groupby(key, sort=False, dropna=True)[level].transform("first")
    blank = hh[level].isna() & first.notna()
    notes = []
    if blank.any().any():
        cols = [header.get(c, c) for c in level if blank[c].any()]
        rows = blank.any(axis=1)
        notes.append(f"{int(blank.to_numpy().sum())} blank household value(s) on member rows copied from the "
                     f"household's other rows (columns {', '.join(cols[:8])}; rows {fmt_rows(rows_of(raw, rows))})")
        hh = hh.fillna({c: first[c] for c in level})
    conflict = ((hh[level] != first).fillna(False) & hh[level].notna() & first.notna()).astype(bool)
    problems = []
    if conflict.any().any():
        bad = hh.loc[conflict.any(axis=1), key].drop_duplicates()
        for hid, year in bad.head(LIMIT).itertuples(index=False):
            mask = ((hh["household_id"] == hid) & (hh["year"] == year)).fillna(False)
            cols = [header.get(c, c) for c in level if conflict.loc[mask, c].any()]
            rows = rows_of(raw, mask.astype(bool))
            problems.append(Problem(raw.path, rows[0], ", ".join(cols),
                                    f"rows {fmt_rows(rows)} of one household and year disagree on {', '.join(cols)}"))
        problems += _more(raw, None, len(bad))
    return hh, problems, notes


def _year_problems(frame: pd.DataFrame, raw: RawTable, header: dict, config_dir) -> list[Problem]:
    """Years must be ones the suite has a monitoring threshold for (``thresholds.csv``)."""
    known = sorted(thresholds(config_dir)["year"].unique().tolist())
    bad = frame["year"].notna() & ~frame["year"].isin(known)
    span = f"{known[0]}-{known[-1]}" if known else "none"
    problems = [Problem(raw.path, int(raw.rows[i]), header.get("year", "年度"),
                        f"year {frame.at[i, 'year']} is outside the years with a monitoring threshold in "
                        f"thresholds.csv ({span}): a typing error, or add the year to thresholds.csv")
                for i in bad[bad].index[:LIMIT]]
    return problems + _more(raw, header.get("year"), int(bad.sum()))


def _county_problems(hh: pd.DataFrame, raw: RawTable, header: dict, counties: set[str] | None) -> list[Problem]:
    """County names must be names: not numbers, codes, dashes or totals labels; and, when a reference list
    is configured, on the list."""
    name = hh["county"].fillna("")
    folded = _per_distinct(name, lambda s: s.map(lambda v: normalize_header(v, {}))).astype(name.dtype)
    improper = (name != "") & (folded.str.fullmatch(r"[\d\W_]+") | folded.str.fullmatch(TOTAL_WORD))
    listed = set(counties or ())
    short = {n[:-1] for n in listed if n.endswith(COUNTY_SUFFIXES) and len(n) > 2}
    unknown = (name != "") & ~improper & ~folded.isin(listed | short)
    if not counties:
        unknown[:] = False
    problems = [Problem(raw.path, int(raw.rows[i]), header.get("county"),
                        f"{name[i]!r} is not a county name") for i in improper[improper].index[:LIMIT]]
    problems += [Problem(raw.path, int(raw.rows[i]), header.get("county"),
                         f"county {name[i]!r} is not in the list of known counties ({', '.join(sorted(counties)[:12])}"
                         f"{' ...' if len(counties or ()) > 12 else ''}); check the spelling or add it to the list")
                 for i in unknown[unknown].index[:LIMIT]]
    return problems + _more(raw, header.get("county"), int(improper.sum()) + int(unknown.sum()))


def _date_problems(frame: pd.DataFrame, raw: RawTable, header: dict) -> list[Problem]:
    problems = []
    for c in ("monitoring_start", "elimination_date"):
        if c not in frame:
            continue
        out = frame[c].notna() & ~frame[c].between(*DATE_RANGE)
        problems += [Problem(raw.path, int(raw.rows[i]), header.get(c, c),
                             f"date {frame.at[i, c].date()} is outside {DATE_RANGE[0].year}-{DATE_RANGE[1].year}")
                     for i in out[out].index[:LIMIT]]
    if {"monitoring_start", "elimination_date"} <= set(frame.columns):
        early = (frame["elimination_date"] < frame["monitoring_start"]).fillna(False).astype(bool)
        problems += [Problem(raw.path, int(raw.rows[i]), header.get("elimination_date"),
                             f"risk eliminated ({frame.at[i, 'elimination_date'].date()}) before monitoring "
                             f"started ({frame.at[i, 'monitoring_start'].date()})") for i in early[early].index[:LIMIT]]
    return problems


def _households(t: pd.DataFrame, raw: RawTable, header: dict, combined: bool, config_dir,
                counties: set[str] | None) -> tuple[pd.DataFrame, list[Problem], list[str]]:
    problems, notes = [], []
    key = ["household_id", "year"]
    hh = t[[c for c in schema.HOUSEHOLD_COLUMNS if c in t.columns]]
    unreadable = t["_unreadable"].groupby([t["household_id"], t["year"]], dropna=False).transform("any") \
        if combined else t["_unreadable"]
    if "monitoring_type" in hh:
        hh = hh.assign(monitoring_type=hh["monitoring_type"].fillna("none"))
    for c in ("household_id", "year"):   # before households are formed from member rows
        problems += [Problem(raw.path, r, header[c], "required value is empty")
                     for r in rows_of(raw, hh[c].isna())[:LIMIT]]
    if combined:
        hh, p, notes = _consistent_households(hh, raw, header)
        problems += p
        hh = hh.drop_duplicates(key)
    else:
        dup = hh.duplicated(key, keep=False) & hh["household_id"].notna()
        for _, grp in list(hh[dup].groupby(key))[:LIMIT]:
            rows = rows_of(raw, hh.index.isin(grp.index) & dup)
            problems.append(Problem(raw.path, rows[0], header["household_id"],
                                    f"duplicate household in year {grp['year'].iloc[0]}: rows {fmt_rows(rows)}"))
    for c in ("county", "size", "household_type"):
        missing = hh[c].isna()
        problems += [Problem(raw.path, r, header[c], "required value is empty") for r in rows_of(raw, missing)[:LIMIT]]
    problems += _year_problems(hh, raw, header, config_dir) + _county_problems(hh, raw, header, counties)
    problems += _range_problems(hh, raw, header, schema.HOUSEHOLD_COLUMNS) + _date_problems(hh, raw, header)
    blank = hh[list(AMOUNTS)].isna() & ~unreadable[hh.index].to_numpy()[:, None]
    if blank.any().any():
        # Exports leave an income cell empty when the household had none of that income.
        notes.append(f"{int(blank.to_numpy().sum())} empty income/expense cell(s) read as 0 (columns "
                     f"{', '.join(header.get(c, c) for c in AMOUNTS if blank[c].any())}; rows "
                     f"{fmt_rows(rows_of(raw, blank.any(axis=1)))})")
        hh = hh.fillna({c: 0.0 for c in AMOUNTS})
    problems += _income_problems(hh[~unreadable[hh.index]], raw, header)
    computed = schema.net_income(hh)
    hh = hh.assign(net_income=computed, net_income_pc=computed / hh["size"].astype("float64"))
    rows = raw.rows[hh.index].to_numpy()
    return schema.conform(hh, "households").assign(_row=rows), problems, notes


def _income_problems(hh: pd.DataFrame, raw: RawTable, header: dict) -> list[Problem]:
    """Stated totals reconcile with the components; no amount per person is beyond belief."""
    problems = []
    size = hh["size"].astype("float64")
    computed = schema.net_income(hh)
    tol = (RECONCILE_ABS_PC * size).clip(lower=1.0)
    tol = pd.concat([tol, RECONCILE_REL * computed.abs()], axis=1).max(axis=1)
    if "net_income" in hh:
        off = (hh["net_income"].notna() & ((hh["net_income"] - computed).abs() > tol)).fillna(False)
        for i in off[off].index[:LIMIT]:
            problems.append(Problem(raw.path, int(raw.rows[i]), header["net_income"],
                                    f"stated net income {hh.at[i, 'net_income']:,.0f} does not reconcile with its "
                                    f"components (wage + business + property + transfer - production expenses "
                                    f"= {computed[i]:,.0f})"))
    pc = computed / size
    if "net_income_pc" in hh:
        off = (hh["net_income_pc"].notna() & ((hh["net_income_pc"] - pc).abs() > tol / size)).fillna(False)
        for i in off[off].index[:LIMIT]:
            problems.append(Problem(raw.path, int(raw.rows[i]), header["net_income_pc"],
                                    f"stated per-capita net income {hh.at[i, 'net_income_pc']:,.0f} does not reconcile "
                                    f"with net income / household size = {pc[i]:,.0f}"))
    for c in (*AMOUNTS, "net_income", "net_income_pc"):
        if c not in hh:
            continue
        per_person = hh[c].abs() if c == "net_income_pc" else hh[c].abs() / size
        absurd = (per_person > schema.ABSURD_INCOME_PC).fillna(False)
        for i in absurd[absurd].index[:LIMIT]:
            problems.append(Problem(raw.path, int(raw.rows[i]), header.get(c, c),
                                    f"{hh.at[i, c]:,.0f} yuan is {per_person[i]:,.0f} per person, beyond belief "
                                    f"(over {schema.ABSURD_INCOME_PC:,} per person a year); check the units"))
    return problems


def _range_problems(frame: pd.DataFrame, raw: RawTable, header: dict, spec: dict) -> list[Problem]:
    problems = []
    for name, col in spec.items():
        if name not in frame or name == "year" or col.kind not in ("int", "float"):
            continue
        s = frame[name].astype("float64")
        hint = "; income and expense amounts cannot be negative (a loss is recorded as 生产经营性支出)" \
            if name in AMOUNTS else ""
        if col.minimum is not None:
            for i in s[s < col.minimum].index[:LIMIT]:
                problems.append(Problem(raw.path, int(raw.rows[i]), header.get(name, name),
                                        f"value {s[i]:g} is below the minimum {col.minimum:g}{hint}"))
        if col.maximum is not None:
            for i in s[s > col.maximum].index[:LIMIT]:
                problems.append(Problem(raw.path, int(raw.rows[i]), header.get(name, name),
                                        f"value {s[i]:g} is above the maximum {col.maximum:g}"))
    return problems


def _members(t: pd.DataFrame, raw: RawTable, key: bytes, header: dict, config_dir,
             check_years: bool) -> tuple[pd.DataFrame, list[Problem]]:
    problems = _year_problems(t, raw, header, config_dir) if check_years else []
    source = t["person_id"] if "person_id" in t else pd.Series(pd.NA, index=t.index, dtype="string")
    ids = t.get("personal:id_number")
    if ids is not None:
        source = source.fillna(ids.str.upper())
        birth = pd.to_datetime(ids.str.slice(6, 14), format="%Y%m%d", errors="coerce")
        if "age" not in t:
            # Only for years the data can hold: a mistyped year is refused once, not again as an odd age.
            year = t["year"].where(t["year"].isin(thresholds(config_dir)["year"].unique()))
            t = t.assign(age=(year.astype("Float64") - birth.dt.year).astype("Int64"))
            header = {**header, "age": f"{header.get('personal:id_number', '证件号码')} (age from the birth date)"}
        if "sex" not in t:
            digit = pd.to_numeric(ids.str.slice(16, 17), errors="coerce")
            t = t.assign(sex=digit.mod(2).map({1: "male", 0: "female"}).astype("string"))
    pid = header.get("person_id", header.get("personal:id_number", "人编号"))
    for r in rows_of(raw, source.isna())[:LIMIT]:
        problems.append(Problem(raw.path, r, pid, "person has neither 人编号 nor 证件号码"))
    m = t.assign(person_id=privacy.pseudonymize(source, key, "P"))
    if "public_welfare_post" not in m and "post_months" in m:
        m = m.assign(public_welfare_post=(m["post_months"] > 0).astype("boolean"))
    if "employed" not in m:
        working = pd.Series(False, index=m.index, dtype="boolean")
        if "months_worked" in m:
            working = working | (m["months_worked"].fillna(0) > 0)
        if "work_location" in m:
            working = working | (m["work_location"].fillna("none") != "none")
        m = m.assign(employed=working)
    dup = m.duplicated(["person_id", "year"], keep=False) & m["person_id"].notna()
    if dup.any():
        rows = m[dup].groupby(["person_id", "year"], sort=False).groups.values()
        for idx in list(rows)[:LIMIT]:
            where = [int(raw.rows[i]) for i in idx]
            problems.append(Problem(raw.path, where[0], pid,
                                    f"the same person appears more than once in one year: rows {fmt_rows(where)}"))
    problems += _range_problems(m, raw, header, schema.MEMBER_COLUMNS)
    return schema.conform(m, "members").assign(_row=raw.rows[m.index].to_numpy()), problems


# --------------------------------------------------------------------------------------------------
# One file: personal data

class PersonalValues:
    """The values (of two characters or more) of a table's personal columns, asked as ``value in values``:
    each value asked is looked for in the columns, which are never copied out whole (a file holds as many
    ID numbers and names as people, a message quotes a few values)."""

    def __init__(self, raw: RawTable, mapping: dict):
        labels = [label for label, (canon, _) in mapping.items() if canon.startswith("personal:")]
        self._columns = [raw.frame[label] for label in labels]
        self._cells: list[pa.Array] | None = None
        self._answers: dict[str, bool] = {}

    def __contains__(self, value) -> bool:
        return value in self.among([value])

    def among(self, values) -> set[str]:
        """Those of ``values`` that are personal values, all looked for at once."""
        asked = [v for v in dict.fromkeys(values) if isinstance(v, str) and v not in self._answers]
        if asked:
            if self._cells is None:
                self._cells = [pa.array(column.astype(readers.TEXT).array) for column in self._columns]
            probe = pa.array(asked, type=pa.string())
            hit = np.zeros(len(asked), dtype=bool)
            for cells in self._cells:
                # the few values asked are hashed, the column's cells looked up in them
                found = pc.unique(cells.filter(pc.is_in(cells, value_set=probe)))
                hit |= pc.is_in(probe, value_set=found).to_numpy(zero_copy_only=False)
            self._answers.update({v: bool(h) and len(v) >= 2 for v, h in zip(asked, hit)})
        return {v for v in values if isinstance(v, str) and self._answers.get(v)}


def _leaks(raw: RawTable, known: PersonalValues, frames: list[pd.DataFrame], header: dict) -> list[Problem]:
    """Text kept in the output (places, relations, training types) must hold no ID number, phone number or
    name of the file's personal columns (``known``): such a value in a kept column is refused, naming row
    and column."""
    problems = []
    columns = [(frame, c) for frame in frames for c, dtype in frame.dtypes.items()
               if dtype == "string" and c not in ("household_id", "person_id")]
    distinct = {(id(frame), c): [v for v in frame[c].unique() if isinstance(v, str)] for frame, c in columns}
    personal = known.among([v for values in distinct.values() for v in values])   # all looked for at once
    for frame, c in columns:
        values = distinct[(id(frame), c)]
        found = [v for v in values if v in personal or privacy.find_identifiers(v)]
        if not found:
            continue
        rows = frame.loc[frame[c].isin(found), "_row"]
        problems += [Problem(raw.path, int(r), header.get(c, c),
                             "this cell holds personal data (an ID number, phone number, address or name), which "
                             "cannot be kept in this column; remove it from the export") for r in rows.head(LIMIT)]
    return list(dict.fromkeys(problems))


def _redact_text(text: str, known) -> str:
    """A message that quotes no personal value: ID numbers, bank cards, phone numbers, addresses and names
    after a word such as 填表人 are replaced by the kind of value they are (:func:`privacy.redact`); a quoted
    value that is one of the file's personal values (``known``) or reads as a personal name (and is not a
    known header) is masked but for its first character."""
    text = privacy.redact(text)

    def mask(m):
        value = m.group(1)
        if value in known or (privacy.name_like(pd.Series([value])).iloc[0]
                              and normalize_header(value) not in readers._default_known_headers()):
            return f"'{value[0]}{'*' * (len(value) - 1)}'"
        return m.group(0)
    return re.sub(r"'([^'\n]{2,})'", mask, text)


def _redacted(problems: list[Problem], known) -> list[Problem]:
    return [replace(p, message=_redact_text(p.message, known)) for p in problems]


# --------------------------------------------------------------------------------------------------
# Many files

def expand_paths(paths) -> list[Path]:
    """Files named, and the readable files inside folders named (sorted; hidden files and Office lock
    files ``~$...`` left out)."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in READABLE
                            and not f.name.startswith((".", "~$")))
        else:
            files.append(p)
    return files


def ingest(paths, out_dir: str | Path | None = None, key: bytes | None = None, config_dir=None,
           write: bool = True, progress: bool = False, report_path: str | Path | None = None,
           counties=None, chunk_rows: int | None = None, jobs: int | None = 1) -> IngestResult:
    """Read, check and (if ``write``) store exports as canonical Parquet tables under ``out_dir``.

    Parameters
    ----------
    paths : files and folders of exports (CSV/TSV/TXT, XLSX).
    out_dir : where the tables and ``ingest_report.md`` go (default ``data/processed``).
    report_path : also write the ingest report here, accepted or refused; must lie outside ``out_dir``,
        which a refused ingest leaves untouched.
    counties : county names to accept (a list, or a text file with one a line); default the ``counties``
        list of ``catalogue.yaml``; when both are empty any proper name is accepted.
    chunk_rows : read CSV files in chunks of this many rows, staging each chunk's records on disk, so that
        memory is bounded by the chunk and one county, not by the data (then the result holds counts, not
        tables). Default: chunks of :data:`CHUNK_ROWS` when the CSV inputs exceed :data:`STREAM_BYTES`.
        A household's rows must then be consecutive, as exports list them.
    jobs : worker processes reading files (one file each) and, in chunks, finishing counties (one county
        each); None: the cores available when the inputs hold at least :data:`PARALLEL_BYTES`, else 1 (as
        ``python -m analysis ingest`` does). The result does not depend on it. Workers import the calling
        script again, as Python's worker processes do: a script calling this with ``jobs`` other than 1
        must do so under ``if __name__ == "__main__":``.

    Raises :class:`DataError` listing every problem of every file; nothing is written to ``out_dir`` then.
    Files are only read: raw exports are never modified.
    """
    out = Path(out_dir or DATA_PROCESSED)
    report_path = _check_report_path(report_path, out)
    key = key or privacy.pseudonym_key()
    files = expand_paths(paths)
    if not files:
        raise DataError(Problem(", ".join(map(str, paths)), None, None, "no CSV or XLSX files found"))
    allowed = known_counties(counties, config_dir)
    readable = [f for f in files if f.is_file()]
    size = sum(f.stat().st_size for f in readable)
    jobs = _jobs(jobs, size, len(files))
    before = dict(zip(map(str, readable), sha256_files(readable, jobs)))   # raw files must not change
    if chunk_rows is None and size > STREAM_BYTES:
        chunk_rows = CHUNK_ROWS
    if chunk_rows is not None:
        if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
            raise ParameterError(f"chunk_rows must be a whole number of rows of at least 1, not {chunk_rows!r}")
        return _ingest_chunked(files, out, key, config_dir, allowed, before, chunk_rows, write, progress,
                               report_path, jobs)
    problems, reports, hh_parts, mem_parts = [], [], [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(files), desc="ingest", unit="file")
    read = partial(_read_one, key=key, config_dir=config_dir, counties=allowed)
    try:
        for results in workers.ordered_map(read, files, jobs, WORKER_PRELOAD,
                                           done=None if bar is None else lambda _: bar.update(1)):
            for hh, mem, report, file_problems in results:
                reports.append(report)
                problems += file_problems
                hh_parts += [hh.assign(_file=report.path)] if hh is not None else []
                mem_parts += [mem.assign(_file=report.path)] if mem is not None else []
    finally:
        if bar is not None:
            bar.close()
    households = pd.concat(hh_parts, ignore_index=True) if hh_parts else schema.empty_frame("households")
    members = pd.concat(mem_parts, ignore_index=True) if mem_parts else schema.empty_frame("members")
    if not problems and households.empty:
        problems.append(Problem(", ".join(map(str, files[:5])), None, None, NO_HOUSEHOLDS))
    if not problems:
        households, county_problems = _unify_counties(households, reports, allowed)
        problems += county_problems
    if not problems:
        problems += _cross_checks(households, members, {f.path: f.columns for f in reports})
    _refuse_if_any(problems, before, reports, report_path, jobs)
    households, members = _final_tables(households, members)
    result = IngestResult(households, members, reports)
    if write:
        write_tables({"households": households, "members": members}, out,
                     report=result.report(), sources=_sources(reports, before), truth=synthetic_truth(before))
    if report_path is not None:
        atomic_write(report_path, result.report())
    return result


#: What a worker process imports once (see :func:`analysis.core.workers.context`).
WORKER_PRELOAD = ["analysis.io.ingest"]


def _jobs(jobs: int | None, size: int, files: int) -> int:
    """Worker processes for ``files`` input files of ``size`` bytes in all (see :func:`ingest`)."""
    if jobs is None:
        jobs = workers.cores() if size >= PARALLEL_BYTES else 1
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ParameterError(f"jobs must be a whole number of at least 1, not {jobs!r}")
    return jobs


NO_HOUSEHOLDS = ("no household data among the inputs: a household file or a person-row export with income columns "
                 "is needed")


def _refuse_if_any(problems: list[Problem], before: dict[str, str], reports: list[FileReport],
                   report_path: Path | None, jobs: int = 1) -> None:
    """Add a problem for each raw file that changed while being read (hashed again, ``jobs`` at a time); if
    there is any problem, write the refusal report (when asked) and raise :class:`DataError` listing them all."""
    after = sha256_files(before, jobs)
    problems = problems + [Problem(name, None, None, "the file changed while it was being read; nothing was "
                                                     "written, ingest it again once it is complete")
                           for (name, digest), now in zip(before.items(), after) if now != digest]
    if not problems:
        return
    problems = _redacted(problems, set())     # whatever the check, no message quotes a personal value
    for r in reports:
        r.problems = sum(p.file == r.path or (not r.source and p.file.startswith(f"{r.path}, sheet "))
                         for p in problems)
    if report_path is not None:
        atomic_write(report_path, render_report(reports, problems))
    raise DataError(problems)


def _final_tables(households: pd.DataFrame, members: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Checked records as stored: geography filled, members given their household's, sorted, invariants
    checked."""
    households = _attach_geography(households.drop(columns=["_file", "_row"]))
    members = _member_geography(members.drop(columns=["_file", "_row"], errors="ignore"), households)
    households = households.sort_values(["county", "household_id", "year"], ignore_index=True)
    members = members.sort_values(["county", "household_id", "person_id", "year"], ignore_index=True)
    schema.check_table(households, "households")
    schema.check_table(members, "members")
    return households, members


def _read_one(path: Path, key: bytes, config_dir, counties) -> list[tuple]:
    """:func:`read_export_tables` that turns any failure into located problems: one unreadable file must give
    a message, never a traceback, and must not stop the other files from being checked."""
    try:
        return read_export_tables(path, key, config_dir, counties)
    except DataError as exc:
        return [(None, None, FileReport(str(path), kind="unreadable"), exc.problems)]
    except Exception as exc:  # noqa: BLE001 - any defect met on hostile input must still end in a message
        logging.getLogger(__name__).debug("reading %s failed", path, exc_info=True)
        message = _redact_text(f"{type(exc).__name__}: {exc}", set())
        return [(None, None, FileReport(str(path), kind="unreadable"), [Problem(
            str(path), None, None, f"the file could not be read ({message}); nothing was written. This is a "
                                   "defect in the suite: please report it with a description of the file")])]


def _check_report_path(report_path, out: Path) -> Path | None:
    if report_path is None:
        return None
    report_path = Path(report_path)
    if report_path.resolve().is_relative_to(out.resolve()):
        raise ParameterError(f"report_path {str(report_path)!r} lies inside the output folder {str(out)!r}; give a "
                             "path outside it (a refused ingest leaves the output folder untouched)")
    return report_path


def _cross_checks(households: pd.DataFrame, members: pd.DataFrame, headers: dict[str, dict]) -> list[Problem]:
    """Checks across files: one household-year in one file only; every member's household present; the
    stated household size equals the number of member rows."""
    problems = []

    def col(file, canon, default):
        return headers.get(file, {}).get(canon, default)
    dup = households.duplicated(["household_id", "year"], keep=False)
    for _, grp in list(households[dup].groupby(["household_id", "year"]))[:LIMIT]:
        if grp["_file"].nunique() > 1:
            where = "; ".join(f"{Path(f).name} row {r}" for f, r in zip(grp["_file"], grp["_row"]))
            problems.append(Problem(grp["_file"].iloc[0], int(grp["_row"].iloc[0]),
                                    col(grp["_file"].iloc[0], "household_id", "户编号"),
                                    f"the same household and year ({grp['year'].iloc[0]}) is in more than one file or sheet: "
                                    f"{where}"))
    if members.empty or households.empty:
        return problems
    known = households[["household_id", "year"]].drop_duplicates()
    joined = members.merge(known.assign(_known=True), on=["household_id", "year"], how="left")
    orphan = joined[joined["_known"].isna()]
    for row in orphan.head(LIMIT).to_dict("records"):
        problems.append(Problem(row["_file"], int(row["_row"]), col(row["_file"], "household_id", "户编号"),
                                f"this member's household is missing from the household data of {row['year']}"))
    if len(orphan) > LIMIT:
        problems.append(Problem(orphan["_file"].iloc[0], None, None, f"... and {len(orphan) - LIMIT} more such rows"))
    counts = members.groupby(["household_id", "year"]).size().rename("members")
    both = households[~dup].merge(counts, left_on=["household_id", "year"], right_index=True, how="inner")
    off = both[both["members"] != both["size"]]
    for row in off.head(LIMIT).to_dict("records"):
        problems.append(Problem(row["_file"], int(row["_row"]), col(row["_file"], "size", "家庭人口数"),
                                f"the household states {row['size']} members in {row['year']} but {row['members']} "
                                "member row(s) were found"))
    return problems


def county_names(pairs: pd.DataFrame, listed: set[str] | None = None) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Short county names (北岭) to unify with the full name (北岭县) written elsewhere in the same prefecture.

    ``pairs`` holds the distinct (prefecture, county) of the data; ``listed`` the configured county names (a
    short name on its own is mapped to the listed full name). A name maps to another when it equals that
    name minus a final 县, 市, 区 or 旗, both in one prefecture (or no prefecture given). Returns
    {short: full}, and {short: [full names]} for short names that could be more than one county (refused).
    """
    mapping, ambiguous = {}, {}
    for _, grp in pairs.fillna({"prefecture": ""}).groupby("prefecture"):
        names = set(grp["county"].dropna()) | set(listed or ())
        for short in sorted(set(grp["county"].dropna())):
            full = sorted(n for n in names if n != short and len(short) >= 2 and n[:-1] == short
                          and n.endswith(COUNTY_SUFFIXES))
            if len(full) == 1:
                mapping[short] = full[0]
            elif full:
                ambiguous[short] = full
    return mapping, ambiguous


def _unify_counties(households: pd.DataFrame, reports: list[FileReport], listed: set[str] | None,
                    names: tuple[dict, dict] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Short county names given the full name they stand for, with a note in the report of each file that
    used one; a short name that could stand for two counties is refused. ``names``: the result of
    :func:`county_names` for all the data, when ``households`` is a part of it."""
    if households.empty:
        return households, []
    present = set(households["county"].dropna().unique().tolist())
    mapping, ambiguous = names or county_names(households[["prefecture", "county"]].drop_duplicates(), listed)
    mapping = {k: v for k, v in mapping.items() if k in present}
    ambiguous = {k: v for k, v in ambiguous.items() if k in present}
    problems = []
    by_path = {r.path: r for r in reports}
    for short, full in ambiguous.items():
        rows = households[households["county"] == short]
        problems.append(Problem(rows["_file"].iloc[0], int(rows["_row"].iloc[0]),
                                by_path[rows["_file"].iloc[0]].columns.get("county", "县(市、区、旗)"),
                                f"county {short!r} could be {' or '.join(map(repr, full))}, both in the same "
                                "prefecture; write the full name"))
    if problems or not mapping:
        return households, problems
    hit = households["county"].isin(list(mapping))
    for (file, short), grp in households[hit].groupby(["_file", "county"], sort=False):
        full = mapping[short]
        where = households[households["county"] == full]
        source = (f"as in {Path(where['_file'].iloc[0]).name} row {int(where['_row'].iloc[0])}" if len(where)
                  else "as in the list of known counties")
        by_path[file].notes.append(f"county {short!r} is the short form of {full!r} ({source}); read as {full!r}: "
                                   f"{len(grp)} household-year(s), rows {fmt_rows(sorted(int(r) for r in grp['_row']))}")
    return households.assign(county=households["county"].replace(mapping)), []


def _attach_geography(households: pd.DataFrame) -> pd.DataFrame:
    for g in schema.GEOGRAPHY:
        if households[g].isna().all():
            households = households.assign(**{g: households[g].fillna("")})
    return households


def _member_geography(members: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """Members carry their household's geography, so any table can be cut by region directly."""
    if members.empty or households.empty:
        return members
    geo = households[["household_id", "year", *schema.GEOGRAPHY]]
    members = members.drop(columns=list(schema.GEOGRAPHY)).merge(geo, on=["household_id", "year"], how="left")
    return schema.conform(members, "members")


# --------------------------------------------------------------------------------------------------
# Writing

def write_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path, report: str | None = None,
                 sources: list[dict] | None = None, truth: dict | None = None) -> None:
    """Write canonical tables as Parquet partitioned by county, replacing earlier ones atomically.

    Each table is first written completely under a staging folder beside its destination, then renamed
    into place, so that a reader sees either the old table or the new one, never a half-written one.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        for name, frame in tables.items():
            _write_partitioned(frame, staging / name)
        extras = {}
        if report is not None:
            extras["ingest_report.md"] = report
        if sources is not None:
            extras["sources.json"] = _sources_json(sources, truth)
        for name, content in extras.items():
            (staging / name).write_text(content, encoding="utf-8")
        for name in tables:
            replace_dir(staging / name, out_dir / name)
        for name in extras:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sources(reports: list[FileReport], before: dict[str, str]) -> list[dict]:
    """What ``sources.json`` records of each input file: its name, SHA-256 and data rows read (the rows of
    all its sheets read)."""
    rows: dict[str, int] = {}
    for f in reports:
        rows[f.source or f.path] = rows.get(f.source or f.path, 0) + f.rows_in
    return [{"file": Path(p).name, "sha256": before.get(str(p), ""), "rows_in": n} for p, n in rows.items()]


#: What of a synthetic set's ``ground_truth.json`` travels into ``sources.json`` (aggregates only: the
#: generator's own measures that analyses are compared with, such as the early warning's oracle AUC).
TRUTH_KEYS = ("warning_oracle",)


def synthetic_truth(files) -> dict | None:
    """The aggregate ground truth of synthetic inputs: ``ground_truth.json`` beside files named SYNTHETIC*.

    None unless every input file is synthetic and exactly one folder of them holds a ground truth.
    """
    paths = [Path(f) for f in files]
    if not paths or not all(p.name.startswith("SYNTHETIC") for p in paths):
        return None
    found = {p.parent / "ground_truth.json" for p in paths if (p.parent / "ground_truth.json").is_file()}
    if len(found) != 1:
        return None
    truth = json.loads(found.pop().read_text(encoding="utf-8"))
    return {k: truth[k] for k in TRUTH_KEYS if k in truth} or None


def _sources_json(sources: list[dict], truth: dict | None = None) -> str:
    synthetic = all(s["file"].startswith("SYNTHETIC") for s in sources)
    content = {"synthetic": synthetic, "files": sources}
    if synthetic and truth:
        content["truth"] = truth
    return json.dumps(content, ensure_ascii=False, indent=1)


def _write_partitioned(frame: pd.DataFrame, path: Path, basename: str | None = None) -> None:
    """``frame`` as Parquet under ``path``, a folder per county. With ``basename`` (containing ``{i}``) the
    files are added to what the folder holds (names must differ); without, the folder must be new.

    The layout is that of a hive-partitioned Arrow dataset (``county=<percent-encoded name>``, the county
    column in the folder name only), written one file per county with :func:`pyarrow.parquet.write_table` in
    the calling thread: the dataset writer's background threads could still be running when the
    interpreter exits, which aborted the process now and then ("terminate called without an active
    exception", exit status 134) after a successful ingest. For the same reason nothing in ingest asks Arrow
    for its thread pools (reading CSV, scanning staged parts, converting tables all run in the calling
    thread), so that no Arrow thread is left to be torn down at exit.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    if table.num_rows == 0:
        return
    if basename is None and path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} already holds data")
    county = table.column("county")
    rest = table.drop_columns(["county"])
    for value in pc.unique(county).to_pylist():
        part = rest.filter(pc.is_null(county) if value is None else pc.equal(county, value))
        folder = path / f"county={HIVE_NULL if value is None else quote(str(value), safe='')}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (basename or "part-{i}.parquet").format(i=0)
        if target.exists():
            raise FileExistsError(f"{target} already exists")
        pq.write_table(part, target, row_group_size=1 << 20)


def replace_dir(new: Path, final: Path) -> None:
    """Put folder ``new`` at ``final``; the old one is moved aside first and removed only afterwards."""
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Large inputs: read in chunks, staged on disk, finished one county at a time

def _ingest_chunked(files: list[Path], out: Path, key: bytes, config_dir, allowed, before: dict, chunk_rows: int,
                    write: bool, progress: bool, report_path: Path | None, jobs: int = 1) -> IngestResult:
    """:func:`ingest` with memory bounded by one chunk of rows and one county's records.

    Each chunk is checked like a whole file and its canonical records are written to a staging folder inside
    ``out`` (partitioned by county); the checks across files, the household geography of members and the
    final tables are then done county by county. With ``jobs`` > 1, files are read and counties finished in
    that many worker processes (a file or a county each). Nothing outside the staging folder is touched
    before everything has passed; the folder is removed whatever happens.
    """
    created = not out.exists()
    staging = out / f".staging-{uuid.uuid4().hex[:8]}"
    parts = staging / "parts"
    problems, reports = [], []
    bar = None
    try:
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=sum(f.stat().st_size for f in files), desc="ingest", unit="B", unit_scale=True)
        parallel = jobs > 1 and len(files) > 1
        stream = partial(_stream_one, key=key, config_dir=config_dir, counties=allowed, chunk_rows=chunk_rows,
                         parts=parts, bar=None if parallel else bar)
        for file_reports, file_problems in workers.ordered_map(
                stream, files, jobs, WORKER_PRELOAD,
                done=(lambda path: bar.update(path.stat().st_size)) if parallel and bar is not None else None):
            reports += file_reports
            problems += file_problems
        if bar is not None:
            bar.close()
        if not problems and not (parts / "households").exists():
            problems.append(Problem(", ".join(map(str, files[:5])), None, None, NO_HOUSEHOLDS))
        counts = (0, 0)
        if not problems:
            counts, finish_problems = _finish_chunked(parts, staging, reports, allowed, jobs)
            problems += finish_problems
        _refuse_if_any(problems, before, reports, report_path, jobs)
        result = IngestResult(None, None, reports, *counts)
        if write:
            (staging / "ingest_report.md").write_text(result.report(), encoding="utf-8")
            (staging / "sources.json").write_text(_sources_json(_sources(reports, before), synthetic_truth(before)),
                                                  encoding="utf-8")
            for name in ("households", "members"):
                replace_dir(staging / name, out / name)
            for name in ("ingest_report.md", "sources.json"):
                os.replace(staging / name, out / name)
        if report_path is not None:
            atomic_write(report_path, result.report())
        return result
    finally:
        if bar is not None:
            bar.close()
        shutil.rmtree(staging, ignore_errors=True)
        if created and out.exists() and not any(out.iterdir()):
            out.rmdir()


def _group_columns(config_dir):
    """For the chunk reader: the column positions of 户编号 and 年度, which keep a household's rows together."""
    def group_of(raw: RawTable) -> list[int]:
        mapping, _, _ = map_headers(raw, header_index(config_dir), variants(config_dir), config_dir)
        return [raw.frame.columns.get_loc(label) for label, (canon, _) in mapping.items()
                if canon in ("household_id", "year")]
    return group_of


def _stream_one(path: Path, key: bytes, config_dir, counties, chunk_rows: int, parts: Path, bar,
                columns: bool = True) -> tuple[list[FileReport], list[Problem]]:
    """Read one file chunk by chunk, staging each chunk's canonical records under ``parts``: one report for
    a text file, one per sheet read for a workbook (as :func:`read_export_tables` gives them). A text file
    read in columns that turns out not to be plain further down is read again row by row (its staged
    records dropped first)."""
    tag = f"f{uuid.uuid4().hex[:8]}"
    reports: dict[str, FileReport] = {}
    problems: list[Problem] = []
    widths: dict[str, set[int]] = {}
    report = FileReport(str(path))
    try:
        if readers.is_text_table(path):
            count = bar.update if bar is not None else None
            chunks = readers.iter_text_chunks(path, chunk_rows, group_of=_group_columns(config_dir),
                                              count_bytes=count, columns=columns)
        else:
            chunks = iter(readers.read_tables(path, set(header_index(config_dir))))
            if bar is not None:
                bar.update(path.stat().st_size)
        for n, raw in enumerate(chunks):
            report = reports.setdefault(raw.path, FileReport(raw.path, source=str(path) if raw.path != str(path)
                                                             else ""))
            report.encoding = raw.encoding
            report.rows_in += raw.rows_read
            report.rows_skipped += raw.rows_read - len(raw.frame)
            if raw.frame.empty:
                report.notes += [note for note in raw.notes if note not in report.notes]
                continue
            hh, mem, part, chunk_problems = export_from_raw(raw, key, config_dir, counties, widths)
            report.kind, report.columns = part.kind, part.columns
            report.households_out += part.households_out
            report.members_out += part.members_out
            report.notes += [note for note in part.notes if note not in report.notes]
            problems += chunk_problems
            if len(problems) > 4 * LIMIT:
                problems.append(Problem(str(path), None, None, "... reading stopped: too many problems"))
                break
            if problems:
                continue
            for name, frame in (("households", hh), ("members", mem)):
                if frame is not None and len(frame):
                    _write_partitioned(frame.assign(_file=raw.path), parts / name,
                                       basename=f"{tag}-{n}-{{i}}.parquet")
    except readers.NotPlain:
        for staged in parts.rglob(f"{tag}-*.parquet"):
            staged.unlink()
        return _stream_one(path, key, config_dir, counties, chunk_rows, parts, bar, columns=False)
    except DataError as exc:
        problems += exc.problems
    except Exception as exc:  # noqa: BLE001 - as _read_one: a message, never a traceback
        logging.getLogger(__name__).debug("reading %s failed", path, exc_info=True)
        problems.append(Problem(str(path), None, None, f"the file could not be read "
                                                       f"({_redact_text(f'{type(exc).__name__}: {exc}', set())}); "
                                                       "nothing was written. This is a defect in the suite: please "
                                                       "report it with a description of the file"))
    if not reports:
        reports[str(path)] = report
    for report in reports.values():
        report.kind = report.kind or "unreadable"
    return list(reports.values()), problems


def _finish_chunked(parts: Path, staging: Path, reports: list[FileReport], allowed: set[str] | None,
                    jobs: int = 1) -> tuple[tuple[int, int], list[Problem]]:
    """Checks across files and chunks, members' geography, and the final tables, one county at a time (a
    county written with its short and full name is one county), in ``jobs`` worker processes."""
    households = parts / "households"
    members = parts / "members" if (parts / "members").exists() else None
    pairs = _parts(households, columns=["prefecture"]).to_pandas(use_threads=False).drop_duplicates()
    counties = sorted(pairs["county"].unique().tolist(), key=lambda c: (c is None or c != c, c if c == c else ""))
    counties = [None if c is None or c != c else c for c in counties]
    names = county_names(pairs.astype("object"), allowed)
    groups: dict = {}
    for county in counties:
        groups.setdefault(names[0].get(county, county), []).append(county)
    files, unowned = _member_files(households, members, list(groups.values())) if members is not None else ({}, [])
    tasks = [(i, group, files.get(i, [])) for i, group in enumerate(groups.values())]
    finish = partial(_finish_county, households=households, staging=staging, reports=reports, allowed=allowed,
                     names=names)
    problems, n_households, n_members = [], 0, 0
    by_path = {r.path: r for r in reports}
    for (n_hh, n_mem), notes, county_problems in workers.ordered_map(finish, tasks, jobs, WORKER_PRELOAD):
        for path, added in notes.items():
            by_path[path].notes += added
        problems += county_problems
        n_households, n_members = n_households + n_hh, n_members + n_mem
    if unowned and not problems:
        problems += _orphans(households, unowned, {f.path: f.columns for f in reports})
    if problems:
        return (0, 0), problems
    if not (staging / "members").exists():
        _write_partitioned(schema.empty_frame("members"), staging / "members", basename="part-{i}.parquet")
    return (n_households, n_members), problems


def _finish_county(task: tuple, households: Path, staging: Path, reports: list[FileReport], allowed, names
                   ) -> tuple[tuple[int, int], dict[str, list[str]], list[Problem]]:
    """One county of :func:`_finish_chunked`: ``task`` is (index, the county's names as staged, the staged
    member files that may hold its members). Writes its final records under ``staging`` unless a problem
    is found; returns the counts written, the notes added to each file's report, and the problems."""
    _, group, member_files = task
    headers = {f.path: f.columns for f in reports}
    reports = [replace(r, notes=list(r.notes)) for r in reports]     # notes added are returned, not kept here
    before = {r.path: len(r.notes) for r in reports}
    hh = _staged(_parts(households, counties=group), "households")
    hh, problems = _unify_counties(hh, reports, allowed, names)
    mem = schema.empty_frame("members").assign(_file=pd.Series(dtype="string"), _row=pd.Series(dtype="int64"))
    if member_files:
        ids = pa.array(hh["household_id"].dropna().unique().tolist(), type=pa.string())
        mem = _staged(_read_staged(member_files, keep=lambda t: pc.is_in(t.column("household_id"), value_set=ids)),
                      "members")
    problems += _same_file_duplicates(hh, headers) + _cross_checks(hh, mem, headers)
    notes = {r.path: r.notes[before[r.path]:] for r in reports if len(r.notes) > before[r.path]}
    if problems:
        return (0, 0), notes, problems
    hh_out, mem_out = _final_tables(hh, mem)
    _write_partitioned(hh_out, staging / "households", basename="part-{i}.parquet")
    if len(mem_out):
        _write_partitioned(mem_out, staging / "members", basename="part-{i}.parquet")
    return (len(hh_out), len(mem_out)), notes, []


def _member_files(households: Path, members: Path, groups: list[list]
                  ) -> tuple[dict[int, list[tuple[Path, str | None]]], list[tuple[Path, str | None]]]:
    """For each county (its index in ``groups``, the county names of each), the staged member files that
    hold a member of one of its households, whatever county the member rows name; and the files that hold
    a member of no household at all. Found once for all counties by joining each file's household
    identifiers to the counties' (each file read once, one column)."""
    index = {county: i for i, group in enumerate(groups) for county in group}
    owners = _parts(households, columns=["household_id"])
    owners = pa.table({"household_id": owners.column("household_id"),
                       "group": pa.array([index[c] for c in owners.column("county").to_pylist()], type=pa.int32())})
    owners = owners.group_by(["household_id", "group"], use_threads=False).aggregate([])
    files = _staged_files(members)
    held = pa.concat_tables([_file_ids(path, n) for n, (path, _) in enumerate(files)])
    pairs = held.join(owners, "household_id", join_type="inner", use_threads=False) \
        .group_by(["group", "file"], use_threads=False).aggregate([]).sort_by([("group", "ascending"),
                                                                              ("file", "ascending")])
    out: dict[int, list] = {}
    for group, file in zip(pairs.column("group").to_pylist(), pairs.column("file").to_pylist()):
        out.setdefault(group, []).append(files[file])
    unowned = held.join(owners.select(["household_id"]), "household_id", join_type="left anti", use_threads=False)
    return out, [files[n] for n in sorted(set(unowned.column("file").to_pylist()))]


def _file_ids(path: Path, n: int) -> pa.Table:
    """The distinct household identifiers of one staged file, with the file's number ``n``."""
    ids = pc.unique(pq.ParquetFile(path, pre_buffer=False).read(columns=["household_id"], use_threads=False)
                    .column("household_id"))
    return pa.table({"household_id": ids, "file": pa.array(np.full(len(ids), n, dtype=np.int32))})


def _staged_files(folder: Path, counties: list | None = None) -> list[tuple[Path, str | None]]:
    """The staged Parquet files under ``folder`` (a folder per county, as :func:`_write_partitioned` writes
    them) with their county (None for records without one), of ``counties`` only when given."""
    files = []
    for sub in sorted(folder.glob("county=*")):
        name = unquote(sub.name.removeprefix("county="))
        county = None if name == HIVE_NULL else name
        if counties is None or county in counties:
            files += [(path, county) for path in sorted(sub.glob("*.parquet"))]
    return files


def _read_staged(files: list[tuple[Path, str | None]], columns: list[str] | None = None, keep=None) -> pa.Table | None:
    """The records of staged ``files`` (as :func:`_staged_files` lists them) with their ``county``: ``columns``
    only, and the rows for which ``keep(table)`` is true; None when there are no files. Read file by file in
    the calling thread: Arrow's dataset scanner starts I/O threads, which are then torn down at exit."""
    tables = []
    for path, county in files:
        table = pq.ParquetFile(path, pre_buffer=False).read(columns=columns, use_threads=False)
        if keep is not None:
            table = table.filter(keep(table))
        tables.append(table.append_column("county", pa.array([county] * table.num_rows, type=pa.string())))
    return pa.concat_tables(tables, promote_options="default") if tables else None


def _parts(folder: Path, counties: list | None = None, columns: list[str] | None = None, keep=None) -> pa.Table:
    """Staged records under ``folder`` with their ``county``: those of ``counties`` only (None stands for no
    county), ``columns`` only, and the rows for which ``keep(table)`` is true (see :func:`_read_staged`)."""
    table = _read_staged(_staged_files(folder, counties), columns, keep)
    if table is None:
        schema_ = pq.read_schema(next(folder.rglob("*.parquet")))
        fields = [schema_.field(c) for c in (columns or schema_.names)]
        return pa.schema([*fields, pa.field("county", pa.string())]).empty_table()
    return table


def _staged(table: pa.Table, name: str) -> pd.DataFrame:
    """Staged records with canonical dtypes and their ``_file`` and ``_row``."""
    frame = table.to_pandas(use_threads=False)
    return schema.conform(frame, name).assign(_file=frame["_file"], _row=frame["_row"])


def _orphans(households: Path, member_files: list[tuple[Path, str | None]], headers: dict[str, dict]
             ) -> list[Problem]:
    """Members whose household is in no county of the household data, located in the staged
    ``member_files`` that hold them (see :func:`_member_files`; those whose household exists in other years
    are found county by county), read file by file."""
    known = pc.unique(_parts(households, columns=["household_id"]).column("household_id"))
    found, total = [], 0
    for path, _ in member_files:
        batch = pq.ParquetFile(path, pre_buffer=False).read(columns=["household_id", "year", "_file", "_row"],
                                                            use_threads=False)
        lost = batch.filter(pc.invert(pc.is_in(batch.column("household_id"), value_set=known)))
        total += lost.num_rows
        if len(found) < LIMIT:
            found += lost.slice(0, LIMIT - len(found)).to_pylist()
    problems = [Problem(row["_file"], int(row["_row"]), headers.get(row["_file"], {}).get("household_id", "户编号"),
                        f"this member's household is missing from the household data of {row['year']}")
                for row in found]
    if total > LIMIT:
        problems.append(Problem(found[0]["_file"], None, None, f"... and {total - LIMIT} more such rows"))
    return problems


def _same_file_duplicates(households: pd.DataFrame, headers: dict[str, dict]) -> list[Problem]:
    """A household-year twice in one file, in different chunks (a chunk's own checks see only itself)."""
    dup = households[households.duplicated(["household_id", "year"], keep=False)]
    problems = []
    for _, grp in list(dup.groupby(["household_id", "year"]))[:LIMIT]:
        if grp["_file"].nunique() == 1:
            rows = sorted(int(r) for r in grp["_row"])
            problems.append(Problem(grp["_file"].iloc[0], rows[-1], headers.get(grp["_file"].iloc[0], {}).get(
                "household_id", "户编号"), f"the same household and year ({grp['year'].iloc[0]}) appears more than "
                                         f"once in this file: rows {', '.join(map(str, rows))} (a household's rows "
                                         "must be together in a file read in chunks)"))
    return problems
