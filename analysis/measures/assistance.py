"""Assistance measures (帮扶措施) and risk types (致贫/返贫风险) of monitoring targets.

The policy asks of every monitoring target that assistance follow identification (精准帮扶), and counts a
risk as eliminated only once the household's income is stably above the monitoring range *and* its risk
has been removed with assistance (《关于健全防止返贫动态监测和帮扶机制的指导意见》, 国务院扶贫开发领导小组,
2020; 中央农办等《关于健全防止返贫致贫监测帮扶机制的指导意见》, 2021). Two tables follow, for every region
and year at once:

* :func:`assistance_coverage` -- among monitoring targets (all, and each type): how many have at least
  one assistance measure on their record, how many have each kind, and among the risk eliminations of the
  year how many have at least one measure;
* :func:`risk_types` -- targets and the year's eliminations by risk type.

Population: household records of the year whose ``monitoring_type`` is a target type (unstable 脱贫不稳定户,
marginal 边缘易致贫户, sudden hardship 突发严重困难户), eliminated or not (records stay in the system after
elimination). The measures and risks are those recorded on the year's record (``aid_<kind>``,
``risk_<type>``, from the export's 帮扶措施 and 致贫/返贫风险1-5 columns); a household may have several, so
counts by kind do not add up to the number of targets.

Examples
--------
>>> import pandas as pd
>>> from analysis.measures import assistance
>>> hh = pd.DataFrame({"county": "A", "year": 2024, "household_id": ["a", "b", "c"],
...                    "monitoring_type": ["unstable", "marginal", "none"],
...                    "risk_eliminated": [True, False, False],
...                    "elimination_date": pd.to_datetime(["2024-06-01", None, None]),
...                    "aid_employment": [True, False, False], "aid_health": [True, False, False]})
>>> assistance.assistance_coverage(hh).query("group == 'targets'")[["targets", "with_measure", "eliminated_without_measure"]]
   targets  with_measure  eliminated_without_measure
0        2             1                           0
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.io.schema import AID_TYPES, RISK_TYPES
from analysis.measures.frames import group_by, region_keys, require
from analysis.measures.monitoring import TARGET_TYPES, eliminated_now, is_target

#: The groups of :func:`assistance_coverage`: all targets, then each monitoring type.
GROUPS = ("targets", *TARGET_TYPES)


def _flags(households: pd.DataFrame, prefix: str, kinds: Sequence[str]) -> pd.DataFrame:
    """The ``<prefix><kind>`` yes/no columns present, as plain booleans (missing: no)."""
    cols = {k: f"{prefix}{k}" for k in kinds if f"{prefix}{k}" in households.columns}
    return pd.DataFrame({k: households[c].astype("boolean").fillna(False).astype(bool) for k, c in cols.items()},
                        index=households.index)


def _eliminated_in_year(households: pd.DataFrame) -> pd.Series:
    """Target records eliminated on this record with an elimination date in the record's year."""
    require(households, ["elimination_date"], "eliminations of the year")
    dated = (households["elimination_date"].dt.year == households["year"]).fillna(False).astype(bool)
    return is_target(households) & eliminated_now(households) & dated


def assistance_coverage(households: pd.DataFrame, by: Sequence[str] = ("county",)) -> pd.DataFrame:
    """Assistance measures among monitoring targets, per region x year x group.

    Returns
    -------
    DataFrame
        By columns, ``year``, ``group`` (``targets`` or a monitoring type); ``targets`` (target household
        records of the year); ``with_measure`` (of those, with at least one measure) and ``with_measure_share``;
        ``aid_<kind>`` (with that kind of measure; a household can have several); ``eliminated_in_year``
        (risk eliminated on this record, dated this year), ``eliminated_with_measure`` (of those, with at least
        one measure), ``eliminated_with_measure_share`` and ``eliminated_without_measure`` (eliminations without any
        recorded measure: not an elimination the policy accepts, to be checked).

    Notes
    -----
    The numerator of ``with_measure_share`` is targets with at least one measure recorded on the year's
    record, the denominator all targets of the year. With no ``aid_*`` column in the data the table is
    empty rather than reporting every target as unassisted.
    """
    keys = region_keys(households, by)
    aid = _flags(households, "aid_", AID_TYPES)
    if aid.empty:
        return pd.DataFrame(columns=[*keys, "group", "targets", "with_measure", "with_measure_share"])
    any_aid = aid.any(axis=1)
    elim = _eliminated_in_year(households)
    parts = []
    for group in GROUPS:   # four groups, each vectorised over all rows
        member = is_target(households) if group == "targets" else households["monitoring_type"].eq(group).fillna(False)
        counts = pd.DataFrame({"targets": member, "with_measure": member & any_aid,
                               **{f"aid_{k}": member & aid[k] for k in aid.columns},
                               "eliminated_in_year": member & elim,
                               "eliminated_with_measure": member & elim & any_aid}).astype("int64")
        parts.append(group_by(counts, households, keys).sum().assign(group=group))
    out = pd.concat(parts).reset_index()
    out["with_measure_share"] = out["with_measure"] / out["targets"].where(out["targets"] > 0)
    out["eliminated_with_measure_share"] = out["eliminated_with_measure"] / out["eliminated_in_year"].where(
        out["eliminated_in_year"] > 0)
    out["eliminated_without_measure"] = out["eliminated_in_year"] - out["eliminated_with_measure"]
    order = [*keys, "group", "targets", "with_measure", "with_measure_share", *[f"aid_{k}" for k in aid.columns],
             "eliminated_in_year", "eliminated_with_measure", "eliminated_with_measure_share", "eliminated_without_measure"]
    out["group"] = pd.Categorical(out["group"], GROUPS)
    return out.sort_values([*keys, "group"])[order].astype({"group": "string"}).reset_index(drop=True)


def risk_types(households: pd.DataFrame, by: Sequence[str] = ("county",)) -> pd.DataFrame:
    """Monitoring targets and the year's risk eliminations by risk type, per region x year x type.

    Returns
    -------
    DataFrame
        By columns, ``year``, ``risk_type`` (a code of ``catalogue.yaml`` ``risk_types``); ``targets_all``
        (all target records of the year, the denominator); ``targets`` (targets with this risk recorded)
        and ``share`` (``targets`` / ``targets_all``; a household may have several risks, so shares add up
        to more than one); ``eliminated_in_year`` (of ``targets``, eliminated this year).
    """
    keys = region_keys(households, by)
    risk = _flags(households, "risk_", RISK_TYPES)
    if risk.empty:
        return pd.DataFrame(columns=[*keys, "risk_type", "targets_all", "targets", "share", "eliminated_in_year"])
    target = is_target(households)
    elim = _eliminated_in_year(households)
    wide = pd.DataFrame({"targets_all": target, **{f"t_{r}": target & risk[r] for r in risk.columns},
                         **{f"e_{r}": elim & risk[r] for r in risk.columns}}).astype("int64")
    sums = group_by(wide, households, keys).sum()
    out = pd.concat([pd.DataFrame({"risk_type": r, "targets_all": sums["targets_all"], "targets": sums[f"t_{r}"],
                                   "eliminated_in_year": sums[f"e_{r}"]}) for r in risk.columns]).reset_index()
    out["share"] = out["targets"] / out["targets_all"].where(out["targets_all"] > 0)
    out["risk_type"] = pd.Categorical(out["risk_type"], list(risk.columns))
    out = out.sort_values([*keys, "risk_type"]).astype({"risk_type": "string"})
    return out[[*keys, "risk_type", "targets_all", "targets", "share", "eliminated_in_year"]].reset_index(drop=True)
