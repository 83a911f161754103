"""From monitoring-system exports to the canonical tables, pseudonymised and validated.

``ingest(paths)`` reads CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX exports with Chinese headers in
any column order, recognises each file by its headers (a household file, a member file, or a person-row
export holding both), maps values to canonical codes, replaces identifiers by keyed pseudonyms, drops
personal data, checks everything, and only then writes Parquet under ``data/processed/`` atomically. Any
problem in any file stops the whole ingest with every problem listed (file, row, column) and nothing
written.

Examples
--------
>>> from analysis import ingest
>>> result = ingest.ingest(["data/raw/sample/"], out_dir="data/processed")  # doctest: +SKIP
>>> result.households.shape  # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from analysis import parsing, privacy, schema
from analysis.config import DATA_PROCESSED, load_yaml
from analysis.errors import DataError, Problem
from analysis.readers import RawTable, normalize_header, read_raw

READABLE = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")
# Stated net income may differ from the sum of its components by rounding: allow the larger of
# 1 yuan per person and 0.5% of the computed value before calling the record inconsistent.
RECONCILE_ABS_PC, RECONCILE_REL = 1.0, 0.005
HOUSEHOLD_LEVEL = [c for c in schema.HOUSEHOLD_COLUMNS if c not in ("household_id", "year")]
MEMBER_SIGNS = ("person_id", "id_number", "name", "sex", "age", "labor_skill", "months_worked",
                "work_location", "education", "health", "trained")


@dataclass
class FileReport:
    """What happened to one input file."""

    path: str
    encoding: str = ""
    kind: str = ""
    rows_in: int = 0
    households_out: int = 0
    members_out: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    households: pd.DataFrame
    members: pd.DataFrame
    files: list[FileReport]

    def report(self) -> str:
        """A Markdown ingest report: rows in and out and every repair, per file."""
        lines = ["# Ingest report", "", "| file | encoding | kind | rows in | households | members |",
                 "|---|---|---|---:|---:|---:|"]
        for f in self.files:
            lines.append(f"| {Path(f.path).name} | {f.encoding} | {f.kind} | {f.rows_in} | "
                         f"{f.households_out} | {f.members_out} |")
        lines += ["", "## Repairs and notes", ""]
        notes = [f"- {Path(f.path).name}: {n}" for f in self.files for n in f.notes]
        lines += notes or ["- none"]
        lines += ["", f"Total: {len(self.households)} household-years, {len(self.members)} person-years."]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Header and value vocabularies (from the editable YAML files)

def header_index(config_dir=None) -> dict[str, tuple[str, bool]]:
    """Folded header spelling -> (canonical name, negate)."""
    spec = load_yaml("headers.yaml", config_dir)
    index: dict[str, tuple[str, bool]] = {}
    for canon in {**schema.HOUSEHOLD_COLUMNS, **schema.MEMBER_COLUMNS}:
        index[normalize_header(canon)] = (canon, False)
    for section in ("personal", "identifiers", "columns"):
        for canon, entry in (spec.get(section) or {}).items():
            aliases, negate = (entry.get("aliases", []), bool(entry.get("negate"))) if isinstance(entry, dict) \
                else (entry, False)
            name = f"personal:{canon}" if section == "personal" else canon
            for alias in [canon, *aliases]:
                index[normalize_header(alias)] = (name, negate)
    return index


def value_lookups(config_dir=None) -> dict[str, dict[str, str]]:
    """For each coded column, folded spelling -> canonical code."""
    cat = load_yaml("catalogue.yaml", config_dir)
    lookups = {}
    for column, codes in cat["values"].items():
        table = {}
        for code, entry in codes.items():
            for spelling in [code, entry.get("zh", ""), entry.get("en", ""), *entry.get("aliases", [])]:
                table[normalize_header(spelling)] = code
        lookups[column] = table
    return lookups


def list_lookup(kind: str, config_dir=None) -> dict[str, str]:
    """For risk or aid types: folded label (with and without 帮扶/保障 suffixes) -> code."""
    cat = load_yaml("catalogue.yaml", config_dir)[kind]
    table = {}
    for code, entry in cat.items():
        zh = entry["zh"]
        for spelling in {code, zh, entry["en"], zh.removesuffix("帮扶"), zh.removesuffix("保障"),
                         zh.removeprefix("因")}:
            table[normalize_header(spelling)] = code
    return table


# --------------------------------------------------------------------------------------------------
# One file

def map_headers(raw: RawTable, index: dict) -> tuple[dict[str, tuple[str, bool]], list[Problem], list[str]]:
    """Raw header -> (canonical, negate); problems for two headers meaning the same column."""
    mapping, seen, problems, notes = {}, {}, [], []
    by_content = privacy.personal_columns_by_content(raw.frame)
    for header in raw.frame.columns:
        hit = index.get(normalize_header(header))
        if hit is None and header in by_content:
            hit = (f"personal:{by_content[header]}", False)
            notes.append(f"column {header!r} holds {by_content[header].replace('_', ' ')}s by its content; dropped")
        if hit is None:
            notes.append(f"column {header!r} is not a known header; ignored")
            continue
        canon = hit[0]
        if canon in seen and not canon.startswith("personal:"):
            problems.append(Problem(raw.path, 1, header,
                                    f"this column and {seen[canon]!r} both mean {canon}; keep only one"))
            continue
        seen[canon] = header
        mapping[header] = hit
    return mapping, problems, notes


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


def _typed(raw: RawTable, mapping: dict, config_dir) -> tuple[pd.DataFrame, list[Problem], list[str]]:
    """Parse every mapped column into canonical types; problems located by row and raw header."""
    cat = load_yaml("catalogue.yaml", config_dir)
    lookups = value_lookups(config_dir)
    kinds = {**{n: c.kind for n, c in schema.MEMBER_COLUMNS.items()},
             **{n: c.kind for n, c in schema.HOUSEHOLD_COLUMNS.items()},
             "bn_housing_safe": "bool"}
    out, problems, notes = {}, [], []
    for header, (canon, negate) in mapping.items():
        text = raw.frame[header]
        if canon.startswith("personal:") or canon in ("household_id", "person_id"):
            out[canon] = text.where(text != "").astype("string")
            continue
        kind = kinds.get(canon, "str")
        if kind == "float":
            parsed = parsing.number(text)
        elif kind == "int":
            parsed = parsing.integer(text)
        elif kind == "bool":
            parsed = parsing.boolean(text, cat["booleans"]["true"], cat["booleans"]["false"])
        elif kind == "code":
            parsed = parsing.code(text, lookups[canon])
        elif kind == "date":
            parsed = parsing.date(text)
        else:
            out[canon] = parsing.fold(text).where(text != "").astype("string") if canon.startswith(
                ("risk_", "aid_")) else text.where(text != "").astype("string")
            continue
        for i in parsed.bad[parsed.bad].index[:100]:
            problems.append(Problem(raw.path, int(raw.rows[i]), header,
                                    f"cannot read {text[i]!r} as {_describe(kind, canon, lookups)}"))
        if parsed.repaired.any():
            notes.append(f"column {header!r}: {int(parsed.repaired.sum())} value(s) repaired "
                         f"({_repair_words(kind)}), e.g. row {int(raw.rows[parsed.repaired.idxmax()])}: "
                         f"{text[parsed.repaired.idxmax()]!r} -> {parsed.values[parsed.repaired.idxmax()]}")
        values = parsed.values
        out["bn_housing" if canon == "bn_housing_safe" else canon] = ~values if negate else values
    return pd.DataFrame(out, index=raw.frame.index), problems, notes


def _describe(kind: str, canon: str, lookups: dict) -> str:
    if kind == "code":
        allowed = sorted({k for k in lookups[canon] if k})
        return f"one of the allowed values for {canon}: {', '.join(allowed)}"
    return {"float": "a number of yuan (e.g. 12345 or 12,345)", "int": "a whole number",
            "bool": "yes/no (是/否)", "date": "a date (e.g. 2021-03-15)"}[kind]


def _repair_words(kind: str) -> str:
    return {"float": "thousands separators or units 元/万 removed", "int": "unit 年 removed",
            "date": "Excel day numbers converted to dates"}.get(kind, "normalised")


def _multi_code(t: pd.DataFrame, columns: list[str], kind: str, prefix: str, raw: RawTable, mapping: dict,
                config_dir, split: bool) -> tuple[pd.DataFrame, list[Problem]]:
    """Turn list columns (风险1-5 or 帮扶措施 "产业;就业") into one boolean column per configured code."""
    lookup = list_lookup(kind, config_dir)
    codes = list(load_yaml("catalogue.yaml", config_dir)[kind])
    flags = pd.DataFrame(False, index=t.index, columns=[f"{prefix}{c}" for c in codes])
    problems = []
    reverse = {canon: header for header, (canon, _) in mapping.items()}
    for col in columns:
        if col not in t:
            continue
        items = t[col].fillna("")
        items = items.str.split(r"[,，;；、/|]") if split else items.map(lambda v: [v])
        exploded = items.explode()
        exploded = exploded[exploded.fillna("") != ""]
        mapped = exploded.map(lookup)
        for i in mapped[mapped.isna()].index.unique()[:100]:
            problems.append(Problem(raw.path, int(raw.rows[i]), reverse[col],
                                    f"unknown {kind.replace('_', ' ')[:-1]} {t.at[i, col]!r}; allowed: "
                                    + ", ".join(e['zh'] for e in load_yaml('catalogue.yaml', config_dir)[kind].values())))
        for code in mapped.dropna().unique():
            hit = mapped[mapped == code].index.unique()
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


def read_export(path: str | Path, key: bytes, config_dir=None) -> tuple[pd.DataFrame | None, pd.DataFrame | None,
                                                                         FileReport, list[Problem]]:
    """Read one export into canonical households and/or members; problems are returned, not raised."""
    raw = read_raw(path)
    report = FileReport(str(path), raw.encoding, rows_in=len(raw.frame), notes=list(raw.notes))
    mapping, problems, notes = map_headers(raw, header_index(config_dir))
    report.notes += notes
    canon = {c for c, _ in mapping.values()}
    kind = _classify(canon)
    report.kind = kind
    if kind == "unknown":
        problems.append(Problem(raw.path, 1, None,
                                "cannot tell what this file holds: it has neither the income columns of a household "
                                "table (工资性收入, 生产经营性收入, 财产性收入, 转移性收入) nor person columns "
                                f"(人编号, 证件号码, 姓名...). Headers found: {', '.join(map(str, raw.frame.columns[:20]))}"))
        return None, None, report, problems
    problems += _required_problems(raw, canon, kind, config_dir)
    if problems:
        return None, None, report, problems
    t, typed_problems, notes = _typed(raw, mapping, config_dir)
    problems += typed_problems
    report.notes += notes
    t["household_id"] = privacy.pseudonymize(t["household_id"], key, "H")
    households = members = None
    if kind != "members":
        t, list_problems = _list_columns(t, raw, mapping, config_dir)
        problems += list_problems
        households, hp = _households(t, raw, mapping, combined=kind != "households")
        problems += hp
        report.households_out = 0 if households is None else len(households)
    if kind != "households":
        members, mp = _members(t, raw, key)
        problems += mp
        report.members_out = 0 if members is None else len(members)
    return households, members, report, problems


def _rows(raw: RawTable, mask: pd.Series) -> list[int]:
    return [int(r) for r in raw.rows[mask[mask].index]]


def _households(t: pd.DataFrame, raw: RawTable, mapping: dict, combined: bool) -> tuple[pd.DataFrame, list[Problem]]:
    problems = []
    header = {canon: h for h, (canon, _) in mapping.items()}
    key = ["household_id", "year"]
    cols = [c for c in schema.HOUSEHOLD_COLUMNS if c in t.columns]
    hh = t[cols]
    if "monitoring_type" in hh:
        hh = hh.assign(monitoring_type=hh["monitoring_type"].fillna("none"))
    if combined:
        level = [c for c in HOUSEHOLD_LEVEL if c in hh.columns]
        spread = hh.groupby(key, dropna=False)[level].nunique(dropna=False)
        for (hid, year), row in spread[(spread > 1).any(axis=1)].head(50).iterrows():
            mask = (hh["household_id"] == hid) & (hh["year"] == year)
            bad = [header.get(c, c) for c in level if row[c] > 1]
            problems.append(Problem(raw.path, _rows(raw, mask)[0], ", ".join(bad),
                                    f"rows {_rows(raw, mask)} of one household and year disagree on {', '.join(bad)}"))
        hh = hh.drop_duplicates(key)
    else:
        dup = hh.duplicated(key, keep=False) & hh["household_id"].notna()
        for _, grp in hh[dup].groupby(key).head(50).groupby(key):
            rows = _rows(raw, hh.index.isin(grp.index) & dup)
            problems.append(Problem(raw.path, rows[0], header["household_id"],
                                    f"duplicate household in year {grp['year'].iloc[0]}: rows {rows}"))
    for c in ("household_id", "year", "county", "size", "household_type"):
        missing = hh[c].isna()
        for r in _rows(raw, missing)[:50]:
            problems.append(Problem(raw.path, r, header[c], "required value is empty"))
    problems += _range_problems(hh, raw, header, schema.HOUSEHOLD_COLUMNS)
    blank = hh[list(schema.INCOME_COMPONENTS) + ["expense_production"]].isna()
    hh = hh.fillna({c: 0.0 for c in blank.columns})   # blank income cells in exports mean zero
    computed = schema.net_income(hh)
    tol = (RECONCILE_ABS_PC * hh["size"].astype("float64")).clip(lower=1.0)
    tol = pd.concat([tol, RECONCILE_REL * computed.abs()], axis=1).max(axis=1)
    if "net_income" in hh:
        off = hh["net_income"].notna() & ((hh["net_income"] - computed).abs() > tol)
        for i in off[off].index[:100]:
            problems.append(Problem(raw.path, int(raw.rows[i]), header["net_income"],
                                    f"stated net income {hh.at[i, 'net_income']:,.0f} does not reconcile with its "
                                    f"components (wage + business + property + transfer - production expenses "
                                    f"= {computed[i]:,.0f})"))
    pc = computed / hh["size"].astype("float64")
    if "net_income_pc" in hh:
        off = hh["net_income_pc"].notna() & ((hh["net_income_pc"] - pc).abs() > tol / hh["size"].astype("float64"))
        for i in off[off].index[:100]:
            problems.append(Problem(raw.path, int(raw.rows[i]), header["net_income_pc"],
                                    f"stated per-capita net income {hh.at[i, 'net_income_pc']:,.0f} does not reconcile "
                                    f"with net income / household size = {pc[i]:,.0f}"))
    absurd = pc.abs() > schema.ABSURD_INCOME_PC
    for i in absurd[absurd].index[:100]:
        problems.append(Problem(raw.path, int(raw.rows[i]), header.get("income_wage"),
                                f"per-capita net income {pc[i]:,.0f} yuan is beyond belief (over "
                                f"{schema.ABSURD_INCOME_PC:,} per person); check the units"))
    hh = hh.assign(net_income=computed, net_income_pc=pc)
    return schema.conform(hh, "households"), problems


def _range_problems(frame: pd.DataFrame, raw: RawTable, header: dict, spec: dict) -> list[Problem]:
    problems = []
    for name, col in spec.items():
        if name not in frame or col.kind not in ("int", "float"):
            continue
        s = frame[name].astype("float64")
        if col.minimum is not None:
            for i in s[s < col.minimum].index[:50]:
                problems.append(Problem(raw.path, int(raw.rows[i]), header.get(name, name),
                                        f"value {s[i]:g} is below the minimum {col.minimum:g}"))
        if col.maximum is not None:
            for i in s[s > col.maximum].index[:50]:
                problems.append(Problem(raw.path, int(raw.rows[i]), header.get(name, name),
                                        f"value {s[i]:g} is above the maximum {col.maximum:g}"))
    return problems


def _members(t: pd.DataFrame, raw: RawTable, key: bytes) -> tuple[pd.DataFrame, list[Problem]]:
    problems = []
    source = t["person_id"] if "person_id" in t else pd.Series(pd.NA, index=t.index, dtype="string")
    ids = t.get("personal:id_number")
    if ids is not None:
        source = source.fillna(ids.str.upper())
        birth = pd.to_datetime(ids.str.slice(6, 14), format="%Y%m%d", errors="coerce")
        if "age" not in t:
            t = t.assign(age=(t["year"].astype("Float64") - birth.dt.year).astype("Int64"))
        if "sex" not in t:
            digit = pd.to_numeric(ids.str.slice(16, 17), errors="coerce")
            t = t.assign(sex=digit.mod(2).map({1: "male", 0: "female"}).astype("string"))
    for r in _rows(raw, source.isna())[:50]:
        problems.append(Problem(raw.path, r, "人编号", "person has neither 人编号 nor 证件号码"))
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
    for r in _rows(raw, dup)[:50]:
        problems.append(Problem(raw.path, r, "人编号", "the same person appears twice in one year"))
    header = {}
    problems += _range_problems(m, raw, header, schema.MEMBER_COLUMNS)
    return schema.conform(m, "members"), problems


# --------------------------------------------------------------------------------------------------
# Many files

def expand_paths(paths) -> list[Path]:
    """Files named, and the readable files inside folders named (sorted)."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in READABLE)
        else:
            files.append(p)
    return files


def ingest(paths, out_dir: str | Path | None = None, key: bytes | None = None, config_dir=None,
           write: bool = True, progress: bool = False) -> IngestResult:
    """Read, check and (if ``write``) store exports as canonical Parquet tables under ``out_dir``.

    Raises :class:`DataError` listing every problem of every file; nothing is written then.
    Files are only read: raw exports are never modified.
    """
    key = key or privacy.pseudonym_key()
    files = expand_paths(paths)
    if not files:
        raise DataError(Problem(", ".join(map(str, paths)), None, None, "no CSV or XLSX files found"))
    problems, reports, hh_parts, mem_parts = [], [], [], []
    iterator = files
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(files, desc="ingest", unit="file")
    for path in iterator:
        try:
            hh, mem, report, file_problems = read_export(path, key, config_dir)
        except DataError as exc:
            problems += exc.problems
            reports.append(FileReport(str(path)))
            continue
        reports.append(report)
        problems += file_problems
        if hh is not None:
            hh_parts.append(hh.assign(_file=str(path)))
        if mem is not None:
            mem_parts.append(mem.assign(_file=str(path)))
    households = pd.concat(hh_parts, ignore_index=True) if hh_parts else schema.empty_frame("households")
    members = pd.concat(mem_parts, ignore_index=True) if mem_parts else schema.empty_frame("members")
    if not problems and households.empty:
        problems.append(Problem(", ".join(map(str, files[:5])), None, None,
                                "no household data among the inputs: a household file or a person-row export "
                                "with income columns is needed"))
    if not problems:
        problems += _cross_checks(households, members)
    if problems:
        raise DataError(problems)
    households = _attach_geography(households.drop(columns="_file", errors="ignore"))
    members = _member_geography(members.drop(columns="_file", errors="ignore"), households)
    households = households.sort_values(["county", "household_id", "year"], ignore_index=True)
    members = members.sort_values(["county", "household_id", "person_id", "year"], ignore_index=True)
    schema.check_table(households, "households")
    schema.check_table(members, "members")
    result = IngestResult(households, members, reports)
    if write:
        sources = [{"file": Path(f.path).name, "sha256": file_sha256(f.path), "rows_in": f.rows_in}
                   for f in reports]
        write_tables({"households": households, "members": members}, out_dir or DATA_PROCESSED,
                     report=result.report(), sources=sources)
    return result


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cross_checks(households: pd.DataFrame, members: pd.DataFrame) -> list[Problem]:
    problems = []
    if "_file" in households and len(households):
        dup = households.duplicated(["household_id", "year"], keep=False)
        for _, grp in households[dup].groupby(["household_id", "year"]).head(100).groupby(["household_id", "year"]):
            names = sorted(set(grp["_file"]))
            if len(names) > 1:
                problems.append(Problem(", ".join(names), None, "户编号",
                                        f"the same household and year ({grp['year'].iloc[0]}) is in more than one file"))
    if len(members) and len(households):
        known = households[["household_id", "year"]].drop_duplicates()
        joined = members.merge(known.assign(_known=True), on=["household_id", "year"], how="left")
        orphan = joined["_known"].isna()
        for f, grp in joined[orphan].groupby("_file"):
            problems.append(Problem(f, None, "户编号", f"{len(grp)} member row(s) belong to households missing from "
                                                     f"the household data (years {sorted(grp['year'].unique())})"))
        counts = members.groupby(["household_id", "year"]).size().rename("members")
        both = households.merge(counts, left_on=["household_id", "year"], right_index=True, how="inner")
        off = both[both["members"] != both["size"]]
        for _, row in off.head(50).iterrows():
            problems.append(Problem(row["_file"], None, "家庭人口数",
                                    f"a household of year {row['year']} states {row['size']} members but "
                                    f"{row['members']} member rows were found"))
    return problems


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
                 sources: list[dict] | None = None) -> None:
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
            extras["sources.json"] = json.dumps({"synthetic": all(s["file"].startswith("SYNTHETIC") for s in sources),
                                                 "files": sources}, ensure_ascii=False, indent=1)
        for name, content in extras.items():
            (staging / name).write_text(content, encoding="utf-8")
        for name in tables:
            replace_dir(staging / name, out_dir / name)
        for name in extras:
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_partitioned(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    ds.write_dataset(table, path, format="parquet", partitioning=["county"], partitioning_flavor="hive",
                     basename_template="part-{i}.parquet", existing_data_behavior="error",
                     max_rows_per_file=0, max_rows_per_group=1 << 20)


def replace_dir(new: Path, final: Path) -> None:
    """Put folder ``new`` at ``final``; the old one is moved aside first and removed only afterwards."""
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)
