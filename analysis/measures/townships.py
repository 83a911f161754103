"""Headline indicators by township (乡镇) within each county, for all counties in one pass.

Each indicator is the county measure of its own module computed with ``township`` added to the region
columns, so a township's figure counts exactly what the county's figure counts:

* ``households``, ``persons``, ``income_pc`` -- :func:`analysis.measures.indicators.income_growth`
  (total net income over total persons of the households on the register that year);
* ``panel_households``, ``growth_real`` with ``growth_real_low`` / ``growth_real_high`` --
  :func:`analysis.measures.indicators.panel_growth`, group ``all``: real growth of per-capita net income of
  the households present in both ``year - 1`` and ``year``, with the township of ``year - 1`` (village-
  clustered 95% interval);
* ``labour_force``, ``labour_force_employed``, ``employment_rate`` --
  :func:`analysis.measures.indicators.employment` (workers in the labour force over the labour force);
* ``households_targets``, ``share_households_targets`` -- :func:`analysis.measures.monitoring.coverage`
  (households whose record that year shows a monitoring type, over all households).

The county's own row (``scope`` ``county``, ``township`` missing) is computed by the same calls, so it
equals the county pages' figures and the townships' counts add up to it. A household or member whose
township is not recorded is counted in a township named :data:`UNRECORDED` (the empty string), so that
the parts still add up to the county.

Examples
--------
>>> from analysis.io import data
>>> from analysis.measures import townships
>>> townships.township_indicators(data.load("households"), data.load("members")).head()  # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd

from analysis.core.checks import require_columns
from analysis.measures import indicators, monitoring

#: Region columns of a county and of a township.
COUNTY = ("prefecture", "county")
TOWNSHIP = (*COUNTY, "township")
#: The township of records whose township is missing.
UNRECORDED = ""
#: Columns of :func:`township_indicators`, in order.
COLUMNS = ("prefecture", "county", "township", "scope", "year", "households", "persons", "income_pc",
           "panel_households", "growth_real", "growth_real_low", "growth_real_high", "labour_force",
           "labour_force_employed", "employment_rate", "households_targets", "share_households_targets")


def _with_township(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    require_columns(frame, [*TOWNSHIP, "year"], f"the {what} table, for township indicators")
    return frame.assign(township=frame["township"].astype("string").fillna(UNRECORDED))


def _indicators(households: pd.DataFrame, members: pd.DataFrame, by: tuple[str, ...],
                cpi: pd.Series | None) -> pd.DataFrame:
    """The headline indicators of the regions ``by`` x year (one merge of the county measures)."""
    keys = [*by, "year"]
    income = indicators.income_growth(households, by=by, cpi=cpi)[[*keys, "households", "persons", "income_pc"]]
    panel = indicators.panel_growth(households, by=by, cpi=cpi)
    panel = panel.loc[panel["group"] == "all", [*keys, "households", "growth_real", "growth_real_low",
                                                "growth_real_high"]].rename(
        columns={"households": "panel_households"})
    work = indicators.employment(members, by=by, households=households)[
        [*keys, "labour_force", "labour_force_employed", "employment_rate"]]
    targets = monitoring.coverage(households, by=by)[[*keys, "households_targets", "share_households_targets"]]
    out = income.merge(panel, on=keys, how="left").merge(work, on=keys, how="left").merge(
        targets, on=keys, how="left")
    out["panel_households"] = out["panel_households"].astype("Int64")
    for c in ("labour_force", "labour_force_employed", "households_targets"):
        out[c] = out[c].astype("Int64")
    return out


def township_indicators(households: pd.DataFrame, members: pd.DataFrame,
                        cpi: pd.Series | None = None) -> pd.DataFrame:
    """Headline indicators per township and year, with each county's own row.

    Parameters
    ----------
    households, members : DataFrame
        Canonical tables with ``prefecture``, ``county``, ``township`` and the columns the county measures
        need (see the module notes).
    cpi : Series, optional
        Price level by year (default ``analysis/config/cpi.csv``).

    Returns
    -------
    DataFrame
        :data:`COLUMNS`: one row per prefecture x county x township x year (``scope`` ``township``) and
        per prefecture x county x year (``scope`` ``county``, ``township`` missing), sorted with each
        county's townships before its own row. ``panel_households`` and the growth columns are missing in
        a region's first year (no year before it); ``growth_real_low`` / ``growth_real_high`` when the
        households lie in a single village.
    """
    h, m = _with_township(households, "households"), _with_township(members, "members")
    town = _indicators(h, m, TOWNSHIP, cpi).assign(scope="township")
    county = _indicators(h, m, COUNTY, cpi).assign(scope="county", township=pd.NA)
    out = pd.concat([town, county], ignore_index=True)
    out["township"] = out["township"].astype("string")
    out["scope"] = out["scope"].astype("string")
    out["year"] = out["year"].astype("int64")
    out = out.assign(_county_row=out["scope"].eq("county"))
    out = out.sort_values(["prefecture", "county", "year", "_county_row", "township"], ignore_index=True)
    return out[list(COLUMNS)]
