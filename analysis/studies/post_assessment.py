"""Post-assessment (后评估): scores, scorecards, rank intervals and sensitivity for all counties at once.

The study behind notebook ``05-post-assessment`` (build step ``assessment``). A rank needs all peers, so
every county of every prefecture is scored together: the indicator table, composite scores of every year,
the scorecard, bootstrap score and rank intervals for the latest year, what may be said about each
county's place, and the sensitivity of ranks to the weights (the engine is
:mod:`analysis.studies.assessment`; OECD 2008 *Handbook on Constructing Composite Indicators*), with the
income, employment and monitoring key figures shown beside the scores.

Examples
--------
>>> from analysis.studies import post_assessment
>>> spec = post_assessment.AssessmentSpec(system="assessment.yaml")
>>> tables = post_assessment.run(households, members, spec)  # doctest: +SKIP
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import config_path
from analysis.errors import ParameterError
from analysis.measures import indicators, monitoring
from analysis.studies import assessment
from analysis.studies import assessment_sums as sums
from analysis.studies.spec import Spec

ENV_REPLICATES = "ANALYSIS_BOOTSTRAP_REPLICATES"
KEYS = ["prefecture", "county", "year"]


@dataclass(frozen=True)
class AssessmentSpec(Spec):
    """The choices of the post-assessment.

    Attributes
    ----------
    system : str
        The indicator-system file (dimensions, indicators, weights, directions, normalisation, grades,
        bootstrap), found in ``$ANALYSIS_CONFIG_DIR`` or ``analysis/config/``; checked when the spec is made.
    replicates : int or None
        Bootstrap replicates of the score and rank intervals; None takes ``$ANALYSIS_BOOTSTRAP_REPLICATES``
        when set, else the system file's ``bootstrap.replicates``.
    """

    system: str = "assessment.yaml"
    replicates: int | None = None

    def __post_init__(self):
        if not config_path(self.system).is_file():
            raise ParameterError(f"AssessmentSpec.system = {self.system!r} is not allowed: no such file in "
                                 f"the configuration folder")
        if self.replicates is not None and (isinstance(self.replicates, bool)
                                            or not isinstance(self.replicates, int) or self.replicates < 1):
            raise ParameterError(f"AssessmentSpec.replicates = {self.replicates!r} is not allowed: give a "
                                 "whole number of at least 1, or None")

    def load_system(self) -> assessment.System:
        return assessment.load_system(config_path(self.system))


def replicates(system: assessment.System | None = None) -> int:
    """Bootstrap replicates: ``$ANALYSIS_BOOTSTRAP_REPLICATES`` when set, else ``bootstrap.replicates``.

    The variable lets a test or a quick look run fewer replicates without editing the indicator file.
    """
    system = assessment.load_system() if system is None else system
    raw = os.environ.get(ENV_REPLICATES, "").strip()
    if not raw:
        return int(system.bootstrap["replicates"])
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ENV_REPLICATES} must be a whole number of replicates of at least 1, not {raw!r}")
    return int(raw)


def intervals(households: pd.DataFrame, members: pd.DataFrame, system: assessment.System,
              table: pd.DataFrame, n_boot: int, household: sums.Sums | None = None) -> pd.DataFrame:
    """Bootstrap score and rank intervals of every county for the latest year of the data.

    Households are resampled within villages (:func:`analysis.studies.assessment.bootstrap_scores`; Goldstein
    and Spiegelhalter 1996, Hall and Miller 2009) with :func:`replicates` replicates. Only the latest
    year and the one before are resampled when they give the latest year exactly the indicator values
    of the full records (growth and year-on-year changes look back one year): the replicates are then
    the same draws at a fraction of the data. ``table`` is the full indicator table
    (:func:`analysis.studies.assessment.compute_indicators`). Adds ``level`` (the interval level).

    With indicators written as household sums (the shipped file), replicates are products of household
    weights and terms restricted to the latest year and the one before, on the full records (the same
    draws), and ``household`` (the terms, if the caller has them) is reused.
    """
    last = int(table["year"].max())
    progress = sys.stderr.isatty()
    if assessment.has_sum_form(system):
        out = assessment.bootstrap_scores(households, members, system, n_boot=n_boot, progress=progress,
                                          years=[last], household=household)
    else:
        h, m = _bootstrap_records(households, members, system, table, last)
        out = assessment.bootstrap_scores(h, m, system, n_boot=n_boot, progress=progress)
    out = out[out["year"] == last].reset_index(drop=True)
    out["level"] = float(system.bootstrap["level"])
    return out


def _bootstrap_records(households: pd.DataFrame, members: pd.DataFrame, system: assessment.System,
                       table: pd.DataFrame, last: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records of ``last`` and ``last - 1`` if they reproduce ``last``'s indicators, else all."""
    years = [last - 1, last]
    keep = households["year"].isin(years)
    if keep.all():
        return households, members
    h, m = households[keep], members[members["year"].isin(years)]
    trimmed = assessment.compute_indicators(h, m, system)
    codes = system.indicator_codes
    full = table[table["year"] == last].sort_values(KEYS).reset_index(drop=True)
    part = trimmed[trimmed["year"] == last].sort_values(KEYS).reset_index(drop=True)
    same = (len(full) == len(part) and full[KEYS].astype("string").equals(part[KEYS].astype("string"))
            and np.allclose(full[codes].to_numpy(float), part[codes].to_numpy(float), rtol=1e-9, atol=1e-12,
                            equal_nan=True))
    return (h, m) if same else (households, members)


def _key_figures(households: pd.DataFrame, members: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """Income, employment and monitoring figures shown beside the scores, one row per region x year."""
    keys = [*by, "year"]
    parts = [indicators.income_growth(households, by=by)[[*keys, "households", "income_pc", "growth_real"]],
             indicators.employment(members, by=by, households=households)[
                 [*keys, "official_workers", "official_workers_change_pct"]],
             monitoring.coverage(households, by=by)[[*keys, "households_targets", "share_households_targets"]],
             monitoring.elimination(households, by=by)[[*keys, "elimination_rate"]]]
    out = parts[0]
    for part in parts[1:]:
        out = out.merge(part.astype({c: out[c].dtype for c in keys}), on=keys, how="outer")
    return out.sort_values(keys).reset_index(drop=True)


def run(households: pd.DataFrame, members: pd.DataFrame, spec: AssessmentSpec = AssessmentSpec()
        ) -> dict[str, pd.DataFrame]:
    """Every table of the post-assessment, for all counties of every prefecture.

    Returns ``assessment_indicators`` (one row per county x year), ``assessment_scores`` (indicator,
    dimension and composite scores, ranks and grades), ``assessment_scorecard`` (county x year x
    indicator with prefecture medians, changes and flags), ``assessment_intervals`` (bootstrap score and
    rank intervals, latest year), ``assessment_rank_statements`` (what may be said about each place),
    ``assessment_sensitivity`` (ranks under other weights) and the key figures by county and prefecture.
    """
    system = spec.load_system()
    n_boot = spec.replicates if spec.replicates is not None else replicates(system)
    household = (sums.household_sums(households, members, system, assessment.SOURCES, ["county"])
                 if assessment.has_sum_form(system) else None)
    table = assessment.compute_indicators(households, members, system, household=household)
    bands = intervals(households, members, system, table, n_boot, household)
    return {
        "assessment_indicators": table,
        "assessment_scores": assessment.score(table, system),
        "assessment_scorecard": assessment.scorecard(table, system),
        "assessment_intervals": bands,
        "assessment_rank_statements": assessment.rank_statement(bands),
        "assessment_sensitivity": assessment.weight_sensitivity(table, system),
        "assessment_key_figures": _key_figures(households, members, ("prefecture", "county")),
        "assessment_key_figures_prefecture": _key_figures(households, members, ("prefecture",)),
    }
