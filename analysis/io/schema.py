"""Canonical tables: columns, dtypes, allowed codes, and the checks every build step runs.

The canonical data are long and tidy, one row per unit x year:

* ``households``: one row per ``(household_id, year)``;
* ``members``: one row per ``(person_id, year)``, carrying its ``household_id`` and geography.

Codes are English snake_case; the Chinese and English display labels, and the Chinese spellings met
in exports, live in ``analysis/config/catalogue.yaml`` (data, not code). Column header aliases live in
``analysis/config/headers.yaml``.

Examples
--------
>>> from analysis.io import schema
>>> schema.HOUSEHOLD_COLUMNS["household_type"].codes
('poverty_exited', 'general')
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.errors import DataError, Problem

GEOGRAPHY = ("province", "prefecture", "county", "township", "village")
INCOME_COMPONENTS = ("income_wage", "income_business", "income_property", "income_transfer")
EXPENSE_COMPONENTS = ("expense_production",)

RISK_TYPES = (
    "illness", "schooling", "disability", "housing", "water", "disaster", "accident",
    "labor_shortage", "unstable_work", "business_failure",
)
AID_TYPES = (
    "industry", "employment", "finance", "public_post", "health", "education", "housing",
    "water", "social_security",
)
BASIC_NEEDS = ("bn_food_clothing", "bn_education", "bn_medical", "bn_housing", "bn_water")


@dataclass(frozen=True)
class Column:
    """One canonical column.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``date``, ``code``; a ``code`` column takes
    only ``codes``. ``required`` columns must be present in an input file of that table.
    """

    name: str
    kind: str
    required: bool = False
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


def _cols(*columns: Column) -> dict[str, Column]:
    return {c.name: c for c in columns}


HOUSEHOLD_TYPES = ("poverty_exited", "general")
MONITORING_TYPES = ("none", "unstable", "marginal", "sudden_hardship")
ELIMINATION_MODES = ("assisted", "natural")
WORK_LOCATIONS = ("none", "in_county", "in_province", "out_province")
LABOR_SKILLS = ("skilled", "ordinary", "weak", "none", "lost")
EDUCATION_LEVELS = ("illiterate", "primary", "junior_high", "senior_high", "vocational", "college")
HEALTH_STATES = ("healthy", "chronic", "serious_illness", "disabled")
SEXES = ("male", "female")

# Income per person above this is taken as a typing error, not a rich farmer (yuan per person per year).
ABSURD_INCOME_PC = 10_000_000

HOUSEHOLD_COLUMNS = _cols(
    Column("household_id", "str", required=True),
    Column("year", "int", required=True, minimum=2000, maximum=2100),
    Column("province", "str"),
    Column("prefecture", "str"),
    Column("county", "str", required=True),
    Column("township", "str"),
    Column("village", "str"),
    Column("size", "int", required=True, minimum=1, maximum=30),
    Column("labor_count", "int", minimum=0, maximum=30),
    Column("household_type", "code", required=True, codes=HOUSEHOLD_TYPES),
    Column("monitoring_type", "code", codes=MONITORING_TYPES),
    Column("monitoring_start", "date"),
    Column("risk_eliminated", "bool"),
    Column("elimination_mode", "code", codes=ELIMINATION_MODES),
    Column("elimination_date", "date"),
    *(Column(c, "float", required=True, minimum=0) for c in INCOME_COMPONENTS),
    Column("expense_production", "float", required=True, minimum=0),
    Column("net_income", "float"),
    Column("net_income_pc", "float"),
    Column("expense_rigid", "float", minimum=0),
    Column("receives_dibao", "bool"),
    *(Column(c, "bool") for c in BASIC_NEEDS),
    *(Column(f"risk_{r}", "bool") for r in RISK_TYPES),
    *(Column(f"aid_{a}", "bool") for a in AID_TYPES),
)

MEMBER_COLUMNS = _cols(
    Column("person_id", "str", required=True),
    Column("household_id", "str", required=True),
    Column("year", "int", required=True, minimum=2000, maximum=2100),
    *(Column(g, "str") for g in GEOGRAPHY),
    Column("relation", "str"),
    Column("sex", "code", codes=SEXES),
    Column("age", "int", minimum=0, maximum=120),
    Column("education", "code", codes=EDUCATION_LEVELS),
    Column("health", "code", codes=HEALTH_STATES),
    Column("labor_skill", "code", codes=LABOR_SKILLS),
    Column("employed", "bool"),
    Column("work_location", "code", codes=WORK_LOCATIONS),
    Column("months_worked", "float", minimum=0, maximum=12),
    Column("wage_income", "float", minimum=0),
    Column("workshop_job", "bool"),
    Column("public_welfare_post", "bool"),
    Column("post_months", "float", minimum=0, maximum=12),
    Column("trained", "bool"),
    Column("training_type", "str"),
    Column("certified", "bool"),
)

TABLES = {"households": HOUSEHOLD_COLUMNS, "members": MEMBER_COLUMNS}
KEYS = {"households": ("household_id", "year"), "members": ("person_id", "year")}

# Columns whose raw values identify a person: dropped at ingest, never written downstream.
PERSONAL_COLUMNS = ("name", "id_number", "phone", "address")


def pandas_dtype(kind: str):
    """The pandas dtype a canonical column of this ``kind`` is stored with."""
    return {
        "str": "string",
        "code": "string",
        "int": "Int64",
        "float": "float64",
        "bool": "boolean",
        "date": "datetime64[ms]",
    }[kind]


def empty_frame(table: str) -> pd.DataFrame:
    """A zero-row frame with every canonical column of ``table`` and its dtype."""
    cols = TABLES[table]
    return pd.DataFrame({n: pd.Series([], dtype=pandas_dtype(c.kind)) for n, c in cols.items()})


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``frame`` with every canonical column of ``table`` present, in order, with its dtype.

    Missing optional columns are added as all-missing; unknown columns are dropped.
    """
    cols = TABLES[table]
    out = {}
    for name, col in cols.items():
        if name in frame.columns:
            out[name] = frame[name].astype(pandas_dtype(col.kind))
        else:
            out[name] = pd.Series(index=frame.index, dtype=pandas_dtype(col.kind))
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def check_table(frame: pd.DataFrame, table: str, source: str = "<table>") -> None:
    """Check a canonical table's invariants; raise :class:`DataError` listing every violation.

    Checked: required columns present, key unique, codes allowed, numbers within range, and for
    households that income components reconcile with ``net_income`` when both are present.
    """
    cols = TABLES[table]
    problems: list[Problem] = []
    missing = [c for c, spec in cols.items() if spec.required and c not in frame.columns]
    for c in missing:
        problems.append(Problem(source, None, c, "required column is missing"))
    if missing:
        raise DataError(problems)
    key = list(KEYS[table])
    dup = frame.duplicated(key, keep=False)
    for i in frame.index[dup][:50]:
        problems.append(Problem(source, i, ",".join(key), f"duplicate key {tuple(frame.loc[i, key])}"))
    for name, spec in cols.items():
        if name not in frame.columns:
            continue
        s = frame[name]
        if spec.codes:
            bad = s.notna() & ~s.isin(spec.codes)
            for i in frame.index[bad][:50]:
                problems.append(Problem(source, i, name, f"value {s[i]!r} is not one of {list(spec.codes)}"))
        if spec.minimum is not None:
            bad = s.notna() & (s < spec.minimum)
            for i in frame.index[bad][:50]:
                problems.append(Problem(source, i, name, f"value {s[i]} is below the minimum {spec.minimum}"))
        if spec.maximum is not None:
            bad = s.notna() & (s > spec.maximum)
            for i in frame.index[bad][:50]:
                problems.append(Problem(source, i, name, f"value {s[i]} is above the maximum {spec.maximum}"))
    if problems:
        raise DataError(problems)


def net_income(households: pd.DataFrame) -> pd.Series:
    """Household net income: wage + business + property + transfer - production expenses (yuan)."""
    total = households[list(INCOME_COMPONENTS)].sum(axis=1, min_count=len(INCOME_COMPONENTS))
    return total - households["expense_production"]
