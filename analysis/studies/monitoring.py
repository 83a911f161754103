"""Poverty, monitoring and early warning for all counties at once (the study behind ``04-monitoring``).

Does monitoring find everyone at risk (应纳尽纳), help them, and eliminate risk for real? Every table of
the monitoring page comes from here (build steps ``poverty``, ``monitoring`` and ``early_warning``), from
the measures of :mod:`analysis.measures.poverty` and :mod:`analysis.measures.monitoring` with the choices
of :class:`MonitoringSpec`. Lists of pseudonymous household ids for follow-up (identification gap,
questionable eliminations) keep geography down to the village and no personal data.

Examples
--------
>>> from analysis.studies import monitoring as monitoring_study
>>> spec = monitoring_study.MonitoringSpec(warning_level="orange")
>>> tables = monitoring_study.early_warning(households, members, spec)  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.errors import ParameterError
from analysis.measures import assistance, monitoring, poverty
from analysis.studies.spec import Spec, check_count

BY = ("prefecture", "county")
PREFECTURE = ("prefecture",)
FAILED_FLAGS = ("income_in_range", "too_fast", "no_assistance", "no_labor_capacity")
_ID_COLUMNS = ("household_id", "year", "province", "prefecture", "county", "township", "village")


@dataclass(frozen=True)
class MonitoringSpec(Spec):
    """The choices of the monitoring study; checked when made (rules against the shipped files).

    Attributes
    ----------
    identification_rules : dict
        Changes to the rules of ``identification.yaml`` that flag households meeting a monitoring rule
        (rule -> {parameter: value}); empty keeps the file's rules.
    risk_rules : dict
        Changes to ``risk_score.yaml`` (``levels`` and/or ``indicators``); empty keeps the file's scheme.
    warning_level : str
        The warning level whose households count as warned (a level of the risk score's scheme).
    near_band : float
        Persons with income between the threshold and ``near_band`` times it are "near the threshold".
    min_months_monitored : int
        Risk eliminated after fewer months of monitoring is questioned.
    """

    identification_rules: dict = field(default_factory=dict)
    risk_rules: dict = field(default_factory=dict)
    warning_level: str = "red"
    near_band: float = 1.5
    min_months_monitored: int = 6

    def __post_init__(self):
        monitoring.check_identification_rules(self.identification_rules or None)
        rules = monitoring.risk_rules(self.risk_rules or None)
        levels = [rules["levels"]["default"], *(b["level"] for b in rules["levels"].get("bands", []))]
        if self.warning_level not in levels:
            raise ParameterError(f"MonitoringSpec.warning_level = {self.warning_level!r} is not allowed: "
                                 f"use one of the risk score's levels {levels}")
        if isinstance(self.near_band, bool) or not isinstance(self.near_band, int | float) or self.near_band < 1:
            raise ParameterError(f"MonitoringSpec.near_band = {self.near_band!r} is not allowed: "
                                 "give a number of at least 1")
        check_count(self, "min_months_monitored", minimum=0)


def _year_span(households: pd.DataFrame) -> tuple[int, int]:
    years = households["year"].dropna().astype(int)
    return int(years.min()), int(years.max())


def _growth_incidence(households: pd.DataFrame, by) -> pd.DataFrame:
    """Growth incidence between the first and last year of the data (empty with a single year)."""
    year0, year1 = _year_span(households)
    if year0 == year1:
        return pd.DataFrame(columns=[*by, "year0", "year1", "quantile", "income_year0", "income_year1",
                                     "growth", "conf_low", "conf_high"])
    return poverty.growth_incidence(households, year0, year1, by=by)


def _id_list(table: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    """A follow-up list restricted to pseudonymous ids, geography down to village and ``extra``."""
    keep = [c for c in _ID_COLUMNS if c in table.columns] + [c for c in extra if c in table.columns]
    return table[keep].reset_index(drop=True)


def _gap_list(households: pd.DataFrame, spec: MonitoringSpec) -> pd.DataFrame:
    gap = monitoring.identification_gap(households, rules=spec.identification_rules or None)
    return _id_list(gap, [c for c in gap.columns if c.startswith("rule_")] + ["rules_hit"])


def _failed_list(households: pd.DataFrame, spec: MonitoringSpec) -> pd.DataFrame:
    failed = monitoring.failed_eliminations(households, min_months=spec.min_months_monitored)
    return _id_list(failed, ["monitoring_type", "elimination_mode", "monitoring_start", "elimination_date",
                             "months_monitored", *FAILED_FLAGS])


def _validity(households: pd.DataFrame, members: pd.DataFrame, spec: MonitoringSpec
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Warning validity fitted per prefecture: (prefecture summaries, test-year predictions).

    One Logit per prefecture: a single county has too few falls below the threshold to fit one, and a
    prefecture's counties share the province's threshold and scoring rules. Prefectures without three
    consecutive years (two transitions) are left out.
    """
    summaries, predictions = [], []
    for prefecture, part in households.groupby("prefecture", sort=True):  # one model fit per prefecture
        years = set(part["year"].dropna().astype(int))
        if sum((y + 1) in years for y in years) < 2:
            continue
        fit = monitoring.warning_validity(part, members[members["household_id"].isin(part["household_id"])],
                                          rules=spec.risk_rules or None, level=spec.warning_level)
        train = ",".join(map(str, fit.train_years))
        # precision = hits / warned, so the correct warnings are recovered exactly.
        hits = (fit.summary["precision"] * fit.summary["warned"]).round().astype("Int64")
        summaries.append(fit.summary.assign(prefecture=prefecture, year=fit.test_year,
                                            year_next=fit.test_year + 1, train_years=train, hits=hits))
        predictions.append(fit.predictions.assign(train_years=train))
    summary = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame(
        columns=["prefecture", "year", "year_next", "model", "sample", "years_from", "train_years", "n",
                 "events", "event_rate", "auc", "warned", "hits", "precision", "recall"])
    pred = pd.concat(predictions, ignore_index=True) if predictions else pd.DataFrame(
        columns=["household_id", "year", "year_next", "prefecture", "county", "risk_points", "warning",
                 "warned", "logit_prob", "logit_warned", "fell", "outcome", "train_years"])
    front = ["prefecture", "year", "year_next", "model", "sample"]
    return summary[front + [c for c in summary.columns if c not in front]], pred


def grouped_auc(frame: pd.DataFrame, keys: list[str], outcome: str, score: str) -> pd.Series:
    """AUC of ``score`` for ``outcome`` within every group of ``keys`` at once.

    The Mann-Whitney form (Hanley & McNeil 1982, Radiology 143(1)): AUC = (R1 - n1 (n1 + 1) / 2) /
    (n1 n0), R1 the sum of the within-group mid-ranks of the n1 positive cases. Missing where a group has
    a single class or a missing score.
    """
    groups = [frame[k] for k in keys]
    y = frame[outcome].astype(bool)
    s = frame[score].astype("float64")
    ranks = s.groupby(groups, dropna=False).rank(method="average")
    parts = pd.DataFrame({"n1": y.astype("int64"), "n": 1, "r1": ranks.where(y, 0.0),
                          "missing": s.isna().astype("int64")})
    sums = parts.groupby(groups, dropna=False).sum()
    n1, n0 = sums["n1"], sums["n"] - sums["n1"]
    value = (sums["r1"] - n1 * (n1 + 1) / 2) / (n1 * n0).where((n1 > 0) & (n0 > 0))
    return value.where(sums["missing"] == 0).rename("auc")


def warning_by_county(predictions: pd.DataFrame) -> pd.DataFrame:
    """Out-of-sample validity per county from the test-year predictions, for the score and the Logit.

    Precision = correct warnings / warned, recall = correct warnings / households that fell; the Logit
    warns at its prefecture's cutoff (matched on the fitting years to the score's number of warnings).
    """
    keys = ["prefecture", "county", "year", "year_next", "train_years"]
    tables = []
    for model, warned, score in (("score", "warned", "risk_points"), ("logit", "logit_warned", "logit_prob")):
        fell = predictions["fell"].astype(bool)
        flag = predictions[warned].astype("boolean").fillna(False).astype(bool)
        parts = pd.DataFrame({"n": 1, "events": fell.astype("int64"), "warned": flag.astype("int64"),
                              "hits": (fell & flag).astype("int64")})
        sums = parts.groupby([predictions[k] for k in keys], dropna=False).sum()
        sums["event_rate"] = sums["events"] / sums["n"]
        sums["auc"] = grouped_auc(predictions, keys, "fell", score)
        sums["precision"] = sums["hits"] / sums["warned"].where(sums["warned"] > 0)
        sums["recall"] = sums["hits"] / sums["events"].where(sums["events"] > 0)
        tables.append(sums.reset_index().assign(model=model))
    columns = [*keys[:4], "model", "train_years", "n", "events", "event_rate", "auc", "warned", "hits",
               "precision", "recall"]
    return pd.concat(tables, ignore_index=True)[columns].sort_values(keys[:4], kind="stable",
                                                                     ignore_index=True)


def poverty_tables(households: pd.DataFrame, spec: MonitoringSpec = MonitoringSpec()) -> dict[str, pd.DataFrame]:
    """FGT poverty, basic needs and growth incidence, by county and by prefecture."""
    return {
        "poverty_fgt": poverty.poverty(households, by=BY, band=spec.near_band),
        "poverty_fgt_prefecture": poverty.poverty(households, by=PREFECTURE, band=spec.near_band),
        "poverty_basic_needs": poverty.basic_needs(households, by=BY),
        "poverty_growth_incidence": _growth_incidence(households, BY),
        "poverty_growth_incidence_prefecture": _growth_incidence(households, PREFECTURE),
    }


def monitoring_tables(households: pd.DataFrame, spec: MonitoringSpec = MonitoringSpec()) -> dict[str, pd.DataFrame]:
    """Coverage, identification gap, elimination, failed eliminations, transitions and returns."""
    rules = spec.identification_rules or None
    return {
        "monitoring_coverage": monitoring.coverage(households, by=BY),
        "monitoring_identification_gap_summary": monitoring.identification_gap_summary(households, by=BY,
                                                                                       rules=rules),
        "monitoring_identification_gap": _gap_list(households, spec),
        "monitoring_identification_overlap": monitoring.identification_rule_overlap(households, by=BY, rules=rules),
        "monitoring_identification_sensitivity": monitoring.identification_sensitivity(households, by=BY,
                                                                                       rules=rules),
        "monitoring_elimination": monitoring.elimination(households, by=BY),
        "monitoring_elimination_survival": monitoring.elimination_survival(households, by=BY),
        "monitoring_elimination_survival_prefecture": monitoring.elimination_survival(households, by=PREFECTURE),
        "monitoring_failed_eliminations_summary": monitoring.failed_eliminations_summary(
            households, by=BY, min_months=spec.min_months_monitored),
        "monitoring_failed_eliminations": _failed_list(households, spec),
        "monitoring_transitions": monitoring.transitions(households, by=BY),
        "monitoring_return_rates": monitoring.return_rates(households, by=BY),
        "monitoring_assistance": assistance.assistance_coverage(households, by=BY),
        "monitoring_risk_types": assistance.risk_types(households, by=BY),
    }


def early_warning(households: pd.DataFrame, members: pd.DataFrame, spec: MonitoringSpec = MonitoringSpec()
                  ) -> dict[str, pd.DataFrame]:
    """Out-of-sample validity of the risk score, per prefecture and per county, and the test predictions."""
    summary, predictions = _validity(households, members, spec)
    return {"monitoring_warning_validity": warning_by_county(predictions),
            "monitoring_warning_validity_prefecture": summary,
            "monitoring_warning_predictions": predictions}
