"""Employment (务工就业) and training (技能培训) indicators for every region x year at once.

Both indicator tables are computed from the canonical ``members`` table (one row per person x year) in
one grouped pass over all regions; a region is the combination of the ``by`` columns (for example
``("county",)``, ``("prefecture",)`` or ``("county", "sex")``). The output has one row per region x
year present in the data, with the ``by`` columns, ``year`` and the indicators.

Definitions used throughout
---------------------------
* **Labour force (劳动力).** Monitoring records carry no "in the labour force" flag; labour capacity is
  recorded in the 劳动技能 field (skilled / ordinary / weak / none / lost capacity). A person is counted in
  the labour force when of working age (``working_age``, both ends included, default 16-64) and with a
  recorded ``labor_skill`` other than ``none`` or ``lost``. The lower bound 16 is the minimum legal
  working age (《中华人民共和国劳动法》, art. 15); the upper bound follows the international 15-64
  working-age convention. Both are a parameter, not a rule of this module.
* **Worker (务工人员).** ``employed`` is True. Where ``employed`` is missing (the column is absent, or
  the value is NA), the record counts as employed when ``months_worked`` > 0 or ``work_location`` is one
  of ``in_county``, ``in_province``, ``out_province``.
* **Missing flags.** A boolean value that is NA is *not known*: it is never counted as True, and the
  person stays in any denominator defined by other columns (labour force, workers, trainees). Shares of
  flags are therefore lower bounds when flags are missing. Shares "of those known" (work location, wage)
  say so in their name or description.
* **Year-on-year comparisons** use the same region's previous calendar year only (``year - 1``). When
  that year is absent for the region, the comparison is missing (NaN / NA), never silently made against
  an older year.

Examples
--------
>>> import pandas as pd
>>> from analysis.measures import labour
>>> members = pd.DataFrame({
...     "person_id": ["p1", "p2", "p1", "p2"], "county": ["A"] * 4, "year": [2021, 2021, 2022, 2022],
...     "age": [30, 40, 31, 41], "labor_skill": ["ordinary"] * 4, "employed": [True, False, True, True],
...     "work_location": ["in_county", "none", "out_province", "in_county"],
...     "months_worked": [10.0, 0.0, 12.0, 6.0], "wage_income": [30000.0, None, 48000.0, 12000.0],
...     "workshop_job": [False] * 4, "public_welfare_post": [False] * 4,
... })
>>> labour.employment(members)[["county", "year", "workers", "employment_rate", "workers_change"]]
  county  year  workers  employment_rate  workers_change
0      A  2021        1              0.5             NaN
1      A  2022        2              1.0             1.0
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import ParameterError

WORKING_LOCATIONS = ("in_county", "in_province", "out_province")
NO_LABOUR_CAPACITY = ("none", "lost")
UNSPECIFIED_TYPE = "unspecified"

# Columns each indicator needs, with the reason shown to a user whose table lacks them.
_EMPLOYMENT_NEEDS = {
    "year": "the year of the record",
    "age": "the working-age test of the labour force",
    "labor_skill": "the labour-force test (劳动技能)",
    "work_location": "workers by place of work",
    "months_worked": "mean months worked",
    "wage_income": "wage income per worker",
    "workshop_job": "jobs in assistance workshops (帮扶车间)",
    "public_welfare_post": "public-welfare posts (公益性岗位)",
}
_TRAINING_NEEDS = {
    "person_id": "following last year's trainees into this year",
    "year": "the year of the record",
    "age": "the working-age test of the labour force",
    "labor_skill": "the labour-force test (劳动技能)",
    "trained": "who was trained",
    "training_type": "trainees by type of training",
    "certified": "certificates among trainees",
}

EMPLOYMENT_COLUMNS = (
    "persons", "labour_force", "workers", "labour_force_employed", "employment_rate",
    "workers_in_county", "workers_in_province", "workers_out_province", "workers_location_known",
    "share_in_county", "share_in_province", "share_out_province", "mean_months_worked",
    "wage_income_per_worker", "workshop_jobs", "public_welfare_posts", "workers_last_year",
    "workers_change", "workers_change_pct", "no_lower_than_last_year",
)
#: Added by :func:`employment` when it is given the official population (脱贫劳动力务工规模).
OFFICIAL_COLUMNS = (
    "official_labour_force", "official_workers", "official_employment_rate", "official_workers_last_year",
    "official_workers_change", "official_workers_change_pct", "official_no_lower_than_last_year",
)
TRAINING_COLUMNS = (
    "persons", "labour_force", "trained", "trained_labour_force", "trained_share", "certified",
    "certified_share", "trainees_last_year", "trainees_followed_up", "trainees_lost_to_follow_up",
    "trainees_employed_next_year", "trainees_employed_next_year_share",
)


# --------------------------------------------------------------------------- validation and typing
def _check_by(members: pd.DataFrame, by, outputs: Sequence[str]) -> list[str]:
    """The ``by`` columns as a list, after checking they exist and do not clash with the output."""
    by = [by] if isinstance(by, str) else list(by)
    if not all(isinstance(b, str) for b in by):
        raise ParameterError(f"by must be a tuple of column names, got {by!r}")
    if "year" in by:
        raise ParameterError("by must not name 'year': every output already has one row per year")
    if len(set(by)) != len(by):
        raise ParameterError(f"by names a column twice: {by}")
    missing = [b for b in by if b not in members.columns]
    if missing:
        raise ValueError(
            f"by names column(s) {missing} that members does not have; "
            f"available columns: {list(members.columns)}"
        )
    clash = [b for b in by if b in outputs]
    if clash:
        raise ParameterError(f"by column(s) {clash} have the name of an output column; rename them first")
    return by


def _check_columns(members: pd.DataFrame, needs: dict[str, str], caller: str) -> None:
    missing = [c for c in needs if c not in members.columns]
    if missing:
        reasons = "; ".join(f"'{c}' for {needs[c]}" for c in missing)
        raise ValueError(f"{caller} needs column(s) {missing} that members does not have: {reasons}")
    if not pd.api.types.is_numeric_dtype(members["year"]):
        raise ValueError(f"column 'year' must hold whole numbers, it has dtype {members['year'].dtype}")
    if members["year"].isna().any():
        raise ValueError(f"column 'year' has {int(members['year'].isna().sum())} missing value(s)")


def _check_working_age(working_age) -> tuple[float, float]:
    try:
        low, high = (float(a) for a in working_age)
    except (TypeError, ValueError):
        raise ParameterError(
            f"working_age must be a pair of ages (lowest, highest), e.g. (16, 64); got {working_age!r}"
        ) from None
    if not 0 <= low <= high:
        raise ParameterError(f"working_age must satisfy 0 <= lowest <= highest; got {working_age!r}")
    return low, high


def _flag(members: pd.DataFrame, column: str) -> pd.Series:
    """A nullable boolean column (True / False / NA), whatever bool-like dtype it arrived in."""
    try:
        return members[column].astype("boolean")
    except (TypeError, ValueError):
        raise ValueError(f"column '{column}' must hold True/False (or missing) values") from None


def _number(members: pd.DataFrame, column: str) -> np.ndarray:
    try:
        values = pd.to_numeric(members[column])
    except (TypeError, ValueError):
        raise ValueError(f"column '{column}' must hold numbers (or missing) values") from None
    return pd.Series(values).to_numpy(dtype=float, na_value=np.nan)


def _codes(members: pd.DataFrame, column: str) -> pd.Series:
    return members[column].astype("string").str.strip()


def _employed(members: pd.DataFrame) -> np.ndarray:
    """True for a worker: ``employed`` True, or, where it is missing, evidence of work (see module doc)."""
    evidence = None
    if {"months_worked", "work_location"} <= set(members.columns):
        worked = (_number(members, "months_worked") > 0) | _codes(members, "work_location").isin(
            WORKING_LOCATIONS
        ).to_numpy(dtype=bool, na_value=False)
        evidence = pd.Series(worked, index=members.index, dtype="boolean")
    if "employed" not in members.columns:
        if evidence is None:
            raise ValueError(
                "members needs column 'employed', or both 'months_worked' and 'work_location' "
                "to tell who worked"
            )
        return evidence.to_numpy(dtype=bool)
    employed = _flag(members, "employed")
    if evidence is not None:
        employed = employed.fillna(evidence)
    return employed.to_numpy(dtype=bool, na_value=False)


def _labour_force(members: pd.DataFrame, working_age: tuple[float, float]) -> np.ndarray:
    age = _number(members, "age")
    skill = _codes(members, "labor_skill")
    capable = (skill.notna() & ~skill.isin(NO_LABOUR_CAPACITY)).to_numpy(dtype=bool, na_value=False)
    # NaN ages compare False, so a person of unknown age is not counted in the labour force.
    return (age >= working_age[0]) & (age <= working_age[1]) & capable


def _ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator as floats, NaN where the denominator is 0 or missing."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _previous_year(table: pd.DataFrame, keys: list[str], column: str) -> np.ndarray:
    """``column`` of the same region in ``year - 1``, aligned with ``table``; NaN where that year is absent."""
    previous = table[keys + [column]].rename(columns={column: "_previous"})
    previous = previous.assign(year=previous["year"] + 1)
    aligned = table[keys].merge(previous, on=keys, how="left", validate="one_to_one")
    return aligned["_previous"].to_numpy(dtype=float, na_value=np.nan)


def _group(frame: pd.DataFrame, keys: list[str]):
    # dropna=False keeps records whose region is not recorded as a region of their own ("<NA>")
    # instead of silently dropping them from every count.
    return frame.groupby(keys, dropna=False, sort=True, observed=True)


# --------------------------------------------------------------------------- employment
def official_population(members: pd.DataFrame, households: pd.DataFrame, household_types: Sequence[str],
                        include_monitoring_targets: bool = False) -> np.ndarray:
    """True for member rows whose work the official 务工规模 counts: members of households of
    ``household_types`` in the same year (and of monitoring targets when asked), matched on
    ``household_id`` and ``year``; a member whose household-year is not in ``households`` is False."""
    need = ["household_id", "year", "household_type", "monitoring_type"]
    missing = [c for c in need if c not in households.columns]
    if missing or not {"household_id", "year"} <= set(members.columns):
        raise ValueError(f"official_population needs households {need} and members household_id, year; "
                         f"missing: {missing or ['household_id/year in members']}")
    hh = households[need].drop_duplicates(["household_id", "year"])
    chosen = hh["household_type"].isin(list(household_types)).to_numpy(dtype=bool, na_value=False).copy()
    if include_monitoring_targets:
        chosen |= (hh["monitoring_type"].fillna("none") != "none").to_numpy(dtype=bool)
    key = {"household_id": "string", "year": "int64"}
    keyed = pd.Series(chosen, index=pd.MultiIndex.from_frame(hh[["household_id", "year"]].astype(key)))
    index = pd.MultiIndex.from_frame(members[["household_id", "year"]].astype(key))
    return keyed.reindex(index).to_numpy(dtype=bool, na_value=False)


def employment(
    members: pd.DataFrame, by: Sequence[str] = ("county",), working_age: Sequence[float] = (16, 64),
    population: np.ndarray | pd.Series | None = None,
) -> pd.DataFrame:
    """Employment of the labour force (务工就业) per region x year, all regions in one pass.

    Counts workers by place of work (县内 / 省内县外 / 省外), months worked, wage per worker, workshop
    (帮扶车间) and public-welfare-post (公益性岗位) jobs, and the year-on-year change in the number of
    workers that the 稳岗 goal ("no lower than last year") is judged on. Nationally the 2022 target
    was a 脱贫人口务工规模 above 30 million, "striving to exceed 2021" (国家乡村振兴局, national
    脱贫人口稳岗就业 video conference, Xinhua, 18 January 2022). To count 脱贫劳动力 only, pass the
    members of 脱贫户 only.

    Parameters
    ----------
    members : DataFrame
        Canonical members table: ``year``, ``age``, ``labor_skill``, ``work_location``,
        ``months_worked``, ``wage_income``, ``workshop_job``, ``public_welfare_post`` and the ``by``
        columns; ``employed`` if recorded (see the module notes for the rule when it is missing).
        Not modified.
    by : tuple of str
        Columns defining a region, e.g. ``("county",)``, ``("prefecture",)``, ``("county", "sex")``.
    working_age : (low, high)
        Ages counted as working age, both ends included.
    population : boolean array, optional
        One value per member row: True for the population whose work the official 脱贫劳动力务工规模
        counts (:func:`official_population`). When given, the ``official_*`` columns are added.

    Returns
    -------
    DataFrame
        One row per region x year, sorted, with the ``by`` columns, ``year`` and:

        ``persons`` (records), ``labour_force``, ``workers`` (all workers, any age),
        ``labour_force_employed`` (workers in the labour force), ``employment_rate``
        (``labour_force_employed / labour_force``; workers outside the working-age band are left out of
        the numerator so that the rate stays a share, and it equals ``workers / labour_force`` whenever
        every worker is in the labour force), ``workers_in_county``, ``workers_in_province``,
        ``workers_out_province``, ``workers_location_known`` and ``share_in_county``,
        ``share_in_province``, ``share_out_province`` (shares of workers whose place of work is one of
        the three), ``mean_months_worked`` (workers with months known), ``wage_income_per_worker``
        (mean wage among workers with wage known, yuan), ``workshop_jobs``, ``public_welfare_posts``,
        ``workers_last_year`` (same region, ``year - 1``), ``workers_change``,
        ``workers_change_pct`` (percent of last year; NaN when last year had no worker) and
        ``no_lower_than_last_year`` (nullable boolean). The last four are missing when the region has
        no record in ``year - 1``.

        With ``population``, the official indicator (脱贫劳动力务工规模): ``official_labour_force``
        (persons of the population in the labour force: working age, labour capacity),
        ``official_workers`` (those of them who worked in the year; numerator and denominator are one
        population), ``official_employment_rate``, ``official_workers_last_year``,
        ``official_workers_change``, ``official_workers_change_pct`` and
        ``official_no_lower_than_last_year`` (the 稳岗 verdict, "no lower than last year").

    Raises
    ------
    ValueError
        A needed column or a ``by`` column is missing, or a column holds values of the wrong kind.
    """
    by = _check_by(members, by, EMPLOYMENT_COLUMNS)
    _check_columns(members, _EMPLOYMENT_NEEDS, "employment()")
    band = _check_working_age(working_age)
    members = members.reset_index(drop=True)
    keys = [*by, "year"]

    worker = _employed(members)
    labour_force = _labour_force(members, band)
    if population is not None:
        official = np.asarray(population, dtype=bool)
        if official.shape != (len(members),):
            raise ValueError(f"population must hold one value per member row ({len(members)}), "
                             f"not {official.shape}")
    location = _codes(members, "work_location")
    work = members[keys].assign(
        persons=1,
        labour_force=labour_force.astype(np.int64),
        workers=worker.astype(np.int64),
        labour_force_employed=(worker & labour_force).astype(np.int64),
        **{
            f"workers_{place}": (worker & location.eq(place).to_numpy(dtype=bool, na_value=False))
            .astype(np.int64)
            for place in WORKING_LOCATIONS
        },
        workshop_jobs=_flag(members, "workshop_job").to_numpy(dtype=bool, na_value=False).astype(np.int64),
        public_welfare_posts=_flag(members, "public_welfare_post")
        .to_numpy(dtype=bool, na_value=False)
        .astype(np.int64),
        **({} if population is None else {
            "official_labour_force": (official & labour_force).astype(np.int64),
            "official_workers": (official & labour_force & worker).astype(np.int64)}),
        _months=np.where(worker, _number(members, "months_worked"), np.nan),
        _wage=np.where(worker, _number(members, "wage_income"), np.nan),
    )
    counts = [c for c in work.columns if c not in keys and not c.startswith("_")]
    grouped = _group(work, keys)
    table = grouped[counts].sum().join(grouped[["_months", "_wage"]].mean()).reset_index()

    known = table[[f"workers_{p}" for p in WORKING_LOCATIONS]].sum(axis=1)
    last_year = _previous_year(table, keys, "workers")
    change = table["workers"].to_numpy(dtype=float) - last_year
    out = table[keys].assign(
        persons=table["persons"],
        labour_force=table["labour_force"],
        workers=table["workers"],
        labour_force_employed=table["labour_force_employed"],
        employment_rate=_ratio(table["labour_force_employed"], table["labour_force"]),
        workers_in_county=table["workers_in_county"],
        workers_in_province=table["workers_in_province"],
        workers_out_province=table["workers_out_province"],
        workers_location_known=known,
        **{f"share_{p}": _ratio(table[f"workers_{p}"], known) for p in WORKING_LOCATIONS},
        mean_months_worked=table["_months"].to_numpy(dtype=float),
        wage_income_per_worker=table["_wage"].to_numpy(dtype=float),
        workshop_jobs=table["workshop_jobs"],
        public_welfare_posts=table["public_welfare_posts"],
        workers_last_year=last_year,
        workers_change=change,
        workers_change_pct=100 * _ratio(change, last_year),
        no_lower_than_last_year=pd.array(
            np.where(np.isnan(last_year), None, change >= 0), dtype="boolean"
        ),
    )
    if population is not None:
        official_last = _previous_year(table, keys, "official_workers")
        official_change = table["official_workers"].to_numpy(dtype=float) - official_last
        out = out.assign(
            official_labour_force=table["official_labour_force"],
            official_workers=table["official_workers"],
            official_employment_rate=_ratio(table["official_workers"], table["official_labour_force"]),
            official_workers_last_year=official_last,
            official_workers_change=official_change,
            official_workers_change_pct=100 * _ratio(official_change, official_last),
            official_no_lower_than_last_year=pd.array(
                np.where(np.isnan(official_last), None, official_change >= 0), dtype="boolean"),
        )
    return out


# --------------------------------------------------------------------------- training
def _training_work(members: pd.DataFrame, by, working_age) -> tuple[pd.DataFrame, list[str]]:
    """Validated per-person frame with the region keys and the training flags as 0/1 columns."""
    by = _check_by(members, by, TRAINING_COLUMNS + ("training_type", "share_of_trained"))
    _check_columns(members, _TRAINING_NEEDS, "training()")
    band = _check_working_age(working_age)
    members = members.reset_index(drop=True)
    if members["person_id"].isna().any():
        raise ValueError("column 'person_id' has missing values; trainees cannot be followed without it")
    duplicated = members.duplicated(["person_id", "year"])
    if duplicated.any():
        first = members.loc[duplicated.idxmax(), ["person_id", "year"]].tolist()
        raise ValueError(
            f"members has {int(duplicated.sum())} repeated (person_id, year) pair(s), e.g. {first}; "
            "each person must appear once a year"
        )
    keys = [*by, "year"]
    trained = _flag(members, "trained").to_numpy(dtype=bool, na_value=False)
    # Types are kept as given (surrounding spaces removed) so that they match the catalogue and the
    # user's own codes; a trainee with no type recorded is grouped under "unspecified".
    kind = _codes(members, "training_type").replace("", pd.NA).fillna(UNSPECIFIED_TYPE)
    work = members[keys].assign(
        _person=members["person_id"],
        persons=1,
        labour_force=_labour_force(members, band).astype(np.int64),
        trained=trained.astype(np.int64),
        certified=(trained & _flag(members, "certified").to_numpy(dtype=bool, na_value=False)).astype(
            np.int64
        ),
        _employed=_employed(members),
        _type=kind.where(trained, pd.NA),
    )
    work["trained_labour_force"] = work["trained"] * work["labour_force"]
    return work, keys


def _follow_up(work: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Last year's trainees, counted in the region they were trained in, and whether they are found
    (in any region) and working this year; one row per region x (training year + 1)."""
    trainees = work.loc[work["trained"] == 1, keys + ["_person"]]
    next_year = work[["_person", "year", "_employed"]].assign(year=work["year"] - 1, _found=True)
    matched = trainees.merge(next_year, on=["_person", "year"], how="left", validate="one_to_one")
    found = matched["_found"].notna().to_numpy()
    employed = found & matched["_employed"].to_numpy(dtype=bool, na_value=False)
    cohort = matched[keys].assign(
        year=matched["year"] + 1,
        trainees_followed_up=found.astype(np.int64),
        trainees_lost_to_follow_up=(~found).astype(np.int64),
        trainees_employed_next_year=employed.astype(np.int64),
    )
    return _group(cohort, keys).sum().reset_index()


def _region_year_totals(work: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    counts = ["persons", "labour_force", "trained", "trained_labour_force", "certified"]
    return _group(work, keys)[counts].sum().reset_index()


def training(
    members: pd.DataFrame, by: Sequence[str] = ("county",), working_age: Sequence[float] = (16, 64)
) -> pd.DataFrame:
    """Training (技能培训) of the labour force per region x year, all regions in one pass.

    Shares are taken of the labour force as defined in the module notes (劳动技能 + working age), the
    population training targets such as "人人持证、技能河南" are set for. Last year's trainees are
    followed into this year by ``person_id``: a cohort follow-up of participants one year on, the
    short-run employment outcome of active labour-market programme evaluations [1]_. It describes what
    became of trainees; it is not an effect of training (see :mod:`analysis.estimators.impact` for that).

    Parameters
    ----------
    members : DataFrame
        Canonical members table: ``person_id``, ``year``, ``age``, ``labor_skill``, ``trained``,
        ``training_type``, ``certified``, the ``by`` columns, and ``employed`` (or ``months_worked``
        and ``work_location``) to tell who worked. ``(person_id, year)`` must be unique. Not modified.
    by : tuple of str
        Columns defining a region, e.g. ``("county",)``, ``("prefecture",)``, ``("county", "sex")``.
    working_age : (low, high)
        Ages counted as working age, both ends included.

    Returns
    -------
    DataFrame
        One row per region x year, sorted, with the ``by`` columns, ``year`` and:

        ``persons``, ``labour_force``, ``trained`` (trainees of any age), ``trained_labour_force``,
        ``trained_share`` (``trained_labour_force / labour_force``), ``certified`` (trainees with a
        certificate), ``certified_share`` (``certified / trained``), then, for the trainees of
        ``year - 1`` in this region: ``trainees_last_year``, ``trainees_followed_up`` (present in
        ``year``, in any region), ``trainees_lost_to_follow_up`` (absent in ``year``),
        ``trainees_employed_next_year`` (workers in ``year``) and
        ``trainees_employed_next_year_share`` (``employed / followed_up``; the lost are left out of
        the denominator). These five are NaN when the region has no record in ``year - 1``.
        Last, for each training type present among all trainees (sorted, kept as given):
        ``trained_<type>`` (trainees of that type) and ``trained_share_<type>`` (labour-force
        trainees of that type / ``labour_force``; over all types these add up to ``trained_share``).

    Raises
    ------
    ValueError
        A needed column or a ``by`` column is missing, values are of the wrong kind,
        ``(person_id, year)`` repeats, or a type name would give a column name already used.

    References
    ----------
    .. [1] Card, D., Kluve, J. and Weber, A. (2018). What works? A meta analysis of recent active labor
       market program evaluations. *Journal of the European Economic Association* 16(3), 894-931.
    """
    work, keys = _training_work(members, by, working_age)
    table = _region_year_totals(work, keys)
    last_year = _previous_year(table, keys, "trained")
    cohort = table[keys].merge(_follow_up(work, keys), on=keys, how="left", validate="one_to_one")
    # A region seen last year with no trainee has a cohort of 0, not an unknown one.
    follow = {
        c: np.where(np.isnan(last_year), np.nan, cohort[c].fillna(0).to_numpy(dtype=float))
        for c in ("trainees_followed_up", "trainees_lost_to_follow_up", "trainees_employed_next_year")
    }
    out = table[keys].assign(
        persons=table["persons"],
        labour_force=table["labour_force"],
        trained=table["trained"],
        trained_labour_force=table["trained_labour_force"],
        trained_share=_ratio(table["trained_labour_force"], table["labour_force"]),
        certified=table["certified"],
        certified_share=_ratio(table["certified"], table["trained"]),
        trainees_last_year=last_year,
        **follow,
        trainees_employed_next_year_share=_ratio(
            follow["trainees_employed_next_year"], follow["trainees_followed_up"]
        ),
    )
    wide = _wide_types(_types_long(work, keys, table), out.columns, len(out))
    return pd.concat([out, wide], axis=1)


def _types_long(work: pd.DataFrame, keys: list[str], table: pd.DataFrame) -> pd.DataFrame:
    """Trainees by type for every region-year of ``table`` and every type present anywhere, in
    ``table`` order then type order; a type absent from a region-year gets a count of 0."""
    types = sorted(work["_type"].dropna().unique())
    grid = (
        table[keys + ["labour_force", "trained"]]
        .rename(columns={"trained": "_all_trained"})
        .assign(_row=np.arange(len(table)))
        .merge(
            pd.DataFrame({"training_type": pd.array(types, dtype="string"), "_pos": range(len(types))}),
            how="cross",
        )
    )
    counts = (
        _group(work[work["_type"].notna()], keys + ["_type"])[["trained", "trained_labour_force"]]
        .sum()
        .reset_index()
        .rename(columns={"_type": "training_type"})
    )
    counts["training_type"] = counts["training_type"].astype("string")
    long = grid.merge(counts, on=keys + ["training_type"], how="left", validate="one_to_one")
    long = long.sort_values(["_row", "_pos"], kind="stable").reset_index(drop=True)
    trained = long["trained"].fillna(0).astype(np.int64)
    trained_lf = long["trained_labour_force"].fillna(0).astype(np.int64)
    return long[keys + ["training_type", "_pos"]].assign(
        trained=trained,
        trained_labour_force=trained_lf,
        trained_share=_ratio(trained_lf, long["labour_force"]),
        share_of_trained=_ratio(trained, long["_all_trained"]),
    )


def _wide_types(long: pd.DataFrame, taken, n_rows: int) -> pd.DataFrame:
    """``trained_<type>`` and ``trained_share_<type>`` columns, one row per region-year."""
    types = list(dict.fromkeys(long["training_type"]))
    names = [f"trained_{t}" for t in types] + [f"trained_share_{t}" for t in types]
    clash = sorted({n for n in names if n in set(taken) or names.count(n) > 1})
    if clash:
        raise ValueError(
            f"training types {types} would give column name(s) {clash} that are already used; "
            "recode those values of 'training_type' first"
        )
    columns = {}
    if types:
        counts = long["trained"].to_numpy(dtype=np.int64).reshape(n_rows, len(types))
        shares = long["trained_share"].to_numpy(dtype=float).reshape(n_rows, len(types))
        columns.update({f"trained_{t}": counts[:, k] for k, t in enumerate(types)})
        columns.update({f"trained_share_{t}": shares[:, k] for k, t in enumerate(types)})
    return pd.DataFrame(columns, index=pd.RangeIndex(n_rows))


def training_by_type(
    members: pd.DataFrame, by: Sequence[str] = ("county",), working_age: Sequence[float] = (16, 64)
) -> pd.DataFrame:
    """Trainees by type of training per region x year, long and tidy (one row per region x year x type).

    The long form of the ``trained_<type>`` / ``trained_share_<type>`` columns of :func:`training`,
    convenient for plotting (``hue="training_type"``). Every type present among all trainees appears
    for every region-year, with 0 where it has no trainee. Definitions as in :func:`training`.

    Parameters
    ----------
    members, by, working_age
        As for :func:`training`.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``year``, ``training_type`` (kept as given; ``"unspecified"`` when a trainee
        has none), ``trained`` (trainees of that type, any age), ``trained_labour_force``,
        ``trained_share`` (``trained_labour_force / labour_force``) and ``share_of_trained``
        (``trained`` / all trainees of the region-year; adds up to 1 over types).
    """
    work, keys = _training_work(members, by, working_age)
    long = _types_long(work, keys, _region_year_totals(work, keys))
    return long.drop(columns="_pos")
