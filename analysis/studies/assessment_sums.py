"""Post-assessment indicators as household sums: few-event estimates, one-household changes, fast replicates.

Every indicator of the shipped indicator system is a ratio of sums over households (or a change of such
a ratio from the year before): a rate of return is returned households / exited households, a share of
persons is persons in households with the property / persons, growth is this year's income per person
over last year's. Written that way, an indicator of any set of *household weights* is a matrix product,
so that

- a bootstrap replicate (households drawn with replacement within villages: integer weights) costs a
  product instead of a recomputation of the indicator tables (:func:`replicate_values`);
- the events behind a rate (households with the event) are counted where they occur
  (:attr:`Sums.events`), and rates resting on few events can be shrunk toward their prefecture's rate
  (:func:`shrink`);
- the change of every composite when one household's status flips can be measured exhaustively
  (:func:`largest_flip_change` in :mod:`analysis.studies.assessment`).

The household terms are read from the same indicator tables as the point estimates, computed with the
household as an extra grouping column; with weights of one they give back the indicator values exactly
(a test checks this on the sample for every indicator of the shipped file).

Forms, set per indicator in the indicator file (``form``):

- ``ratio`` (default): sum(column * denominator) / sum(denominator) * scale, where ``denominator`` is
  the column (or the product of the columns) counting what the rate is over; with ``per``,
  sum(column) / sum(per) * scale; with neither, sum(column) * scale (a count).
- ``growth_real``: the ratio of column ``of`` this year over the ratio last year, deflated by the CPI
  (``analysis/config/cpi.csv``), minus 1.
- ``change_pct``: 100 (sum of column ``of`` this year / the same last year - 1).

``column`` stays the column of the indicator table that gives the point estimate; ``of`` names the
household quantity the growth or change is computed from.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from analysis import config

FORMS = ("ratio", "growth_real", "change_pct")
METHODS = ("shrinkage", "exact_bound", "none")
_UNIT = "_household"
#: Terms per indicator in :attr:`Sums.terms`: numerator, denominator, event, counted.
TERMS = 4


@dataclass(frozen=True)
class Sums:
    """Household terms of every indicator, grouped into cells (unit x year).

    ``terms`` has one row per household-year and four columns per indicator (numerator, denominator,
    event: the household has the event, counted: the household is in the denominator); ``cell`` gives each row's cell (an index into ``cells``), ``household`` its household (an
    index 0..n_households-1); ``cells`` holds the unit columns and ``year`` of each cell and
    ``previous`` the cell of the same unit one year earlier (-1 when absent).
    """

    terms: np.ndarray
    cell: np.ndarray
    household: np.ndarray
    n_households: int
    cells: pd.DataFrame
    previous: np.ndarray
    codes: tuple[str, ...]

    def totals(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Cell sums of the terms: (cells, terms) for ``weights`` None (every household once), or
        (replicates, cells, terms) for household weights of shape (replicates, n_households).

        With weights, one sparse-dense product: (cells x terms, rows) @ (rows, replicates).
        """
        n_cells, n_terms = len(self.cells), self.terms.shape[1]
        if weights is None:
            out = np.zeros((n_cells, n_terms))
            np.add.at(out, self.cell, self.terms)
            return out
        rows = weights[:, self.household]                                   # (B, rows)
        product = self._matrix @ rows.T                                     # (cells * terms, B)
        return np.ascontiguousarray(product.reshape(n_cells, n_terms, -1).transpose(2, 0, 1))

    @cached_property
    def _matrix(self):
        """The non-zero terms as a sparse (cells x terms, rows) matrix."""
        from scipy import sparse
        row, col = np.nonzero(self.terms)
        n_terms = self.terms.shape[1]
        return sparse.csr_matrix((self.terms[row, col], (self.cell[row] * n_terms + col, row)),
                                 shape=(len(self.cells) * n_terms, len(self.terms)))

    def restricted(self, years) -> Sums:
        """The terms of the cells of ``years`` and of the year before each (growth and changes look one
        year back); the other cells stay, with no rows."""
        wanted = {int(y) for y in years}
        wanted |= {y - 1 for y in wanted}
        keep = np.isin(self.cells["year"].to_numpy()[self.cell], sorted(wanted))
        return Sums(self.terms[keep], self.cell[keep], self.household[keep], self.n_households, self.cells,
                    self.previous, self.codes)


def household_sums(households: pd.DataFrame, members: pd.DataFrame, system, registry, peers: list[str]) -> Sums:
    """The household terms of every indicator of ``system`` (see the module docstring).

    Each indicator table the system uses is computed once with the household as an extra grouping
    column, so that each row is one household-year of one unit.
    """
    ids, uniques = pd.factorize(households["household_id"])
    h = households.assign(**{_UNIT: ids})
    m = members.assign(**{_UNIT: uniques.get_indexer(members["household_id"])})
    m = m[m[_UNIT] >= 0]
    by = (*peers, _UNIT)
    frames = {}
    for source in sorted({i.source for i in system.indicators}):
        frame = registry[source](h, m, by)
        if any(k in (frame.index.names or []) for k in by):
            frame = frame.reset_index()
        frames[source] = frame
    keys = pd.concat([f[[*peers, _UNIT, "year"]] for f in frames.values()]).drop_duplicates()
    keys = keys.dropna(subset=peers).astype({_UNIT: "int64", "year": "int64"})
    keys = keys.astype({p: "string" for p in peers}).sort_values([*peers, "year", _UNIT]).reset_index(drop=True)
    index = pd.MultiIndex.from_frame(keys[[_UNIT, "year"]])
    terms = np.zeros((len(keys), TERMS * len(system.indicators)))
    for j, ind in enumerate(system.indicators):
        frame = frames[ind.source]
        at = index.get_indexer(pd.MultiIndex.from_frame(frame[[_UNIT, "year"]].astype("int64")))
        num, den = _terms(frame, ind)
        ok = at >= 0
        terms[at[ok], TERMS * j] = num[ok]
        terms[at[ok], TERMS * j + 1] = den[ok]
        terms[at[ok], TERMS * j + 2] = (num[ok] > 0) & (den[ok] > 0)
        terms[at[ok], TERMS * j + 3] = den[ok] > 0
    cells = keys[[*peers, "year"]].drop_duplicates().reset_index(drop=True)
    cell = pd.MultiIndex.from_frame(cells).get_indexer(pd.MultiIndex.from_frame(keys[[*peers, "year"]]))
    before = pd.MultiIndex.from_frame(cells.assign(year=cells["year"] - 1))
    previous = pd.MultiIndex.from_frame(cells).get_indexer(before)
    return Sums(terms, cell, keys[_UNIT].to_numpy(), len(uniques), cells, previous,
                tuple(system.indicator_codes))


def _terms(frame: pd.DataFrame, ind) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of one indicator for each row (household-year) of its table."""
    value = frame[ind.of or ind.column].to_numpy(dtype="float64", na_value=np.nan)
    if ind.per:
        den = frame[ind.per].to_numpy(dtype="float64", na_value=np.nan)
        num = value
    elif ind.denominator:
        den = np.ones(len(frame))
        for col in ind.denominator:
            den = den * frame[col].to_numpy(dtype="float64", na_value=np.nan)
        num = value * den
    else:
        num, den = value, np.ones(len(frame))
    den = np.nan_to_num(den)
    num = np.where(den != 0, np.nan_to_num(num), 0.0)
    return num, den


def raw_values(totals: np.ndarray, sums: Sums, system) -> np.ndarray:
    """Indicator values (..., cells, indicators) from cell totals (..., cells, terms)."""
    cpi = config.cpi_index() if any(i.form == "growth_real" for i in system.indicators) else None
    prev = sums.previous
    out = np.full((*totals.shape[:-1], len(system.indicators)), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, ind in enumerate(system.indicators):
            num, den = totals[..., TERMS * j], totals[..., TERMS * j + 1]
            if ind.form == "change_pct":
                last = np.where(prev >= 0, num[..., np.maximum(prev, 0)], np.nan)
                value = 100 * (num / np.where(last > 0, last, np.nan) - 1)
            else:
                ratio = num / np.where(den > 0, den, np.nan) if (ind.per or ind.denominator) else num
                if ind.form == "growth_real":
                    years = sums.cells["year"].to_numpy()
                    deflator = (pd.Series(years).map(cpi) / pd.Series(years - 1).map(cpi)).to_numpy()
                    last = np.where(prev >= 0, ratio[..., np.maximum(prev, 0)], np.nan)
                    value = ratio / last / deflator - 1
                else:
                    value = ratio * ind.scale
            out[..., j] = value
    return out


def events(totals: np.ndarray, system) -> np.ndarray:
    """Households with the event of each indicator (..., cells, indicators); NaN for indicators that are
    not few-event rates."""
    out = np.full((*totals.shape[:-1], len(system.indicators)), np.nan)
    for j, ind in enumerate(system.indicators):
        if ind.events:
            out[..., j] = totals[..., TERMS * j + 2]
    return out


def counted(totals: np.ndarray, system) -> np.ndarray:
    """Households in the denominator of each indicator (..., cells, indicators)."""
    return np.stack([totals[..., TERMS * j + 3] for j in range(len(system.indicators))], axis=-1)


def shrink(values: np.ndarray, totals: np.ndarray, households: np.ndarray, groups: np.ndarray, system,
           level: float = 0.90) -> np.ndarray:
    """Few-event rates replaced by their empirical-Bayes (or exact-bound) estimates.

    For each indicator with ``events: true`` and the method of ``few_events.method``:

    - ``shrinkage``: the rate p_i of county i, resting on n_i households, becomes
      (n_i p_i + M p0) / (n_i + M), where p0 is the pooled rate of its group (prefecture x year) and
      M the prior size of the beta-binomial model fitted by the method of moments among the group's
      counties: the between-county variance tau2 = max(0, s2 - p0 (1 - p0) / nbar), with s2 the
      n-weighted variance of the p_i and nbar the mean n_i, gives M = p0 (1 - p0) / tau2 - 1 (no
      detectable between-county variance: every county gets p0). Clayton and Kaldor (1987, Biometrics
      43(3): 671-681) for the moment estimator; Efron and Morris (1975, JASA 70: 311-319) for the
      shrinkage. Rates over persons (basic needs) are shrunk with their households as n_i, which
      allows for persons clustering in households.
    - ``exact_bound``: the unfavourable end of the Clopper-Pearson interval at ``level`` of the rate
      with n_i households (the upper end for a lower-better rate): a county must show with its own
      data that it is good.
    - ``none``: unchanged.

    ``values`` (..., cells, indicators), ``totals`` (..., cells, terms), ``households`` the households
    in each denominator (..., cells, indicators), ``groups`` a group code per cell.
    """
    method = system.few_events["method"]
    out = values.copy()
    if method == "none":
        return out
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    member = np.zeros((len(groups), n_groups))
    member[np.arange(len(groups)), groups] = 1.0
    for j, ind in enumerate(system.indicators):
        if not ind.events:
            continue
        p = values[..., j] / ind.scale
        n = households[..., j]
        ok = np.isfinite(p) & (n > 0)
        if method == "exact_bound":
            out[..., j] = np.where(ok, _exact_bound(p, n, ind.direction, level) * ind.scale, values[..., j])
            continue
        num, den = totals[..., TERMS * j], totals[..., TERMS * j + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = (np.where(ok, num, 0) @ member) / (np.where(ok, den, 0) @ member)
            p0 = pooled[..., groups]
            nn = np.where(ok, n, 0.0)
            n_sum = (nn @ member)[..., groups]
            k = ((ok * 1.0) @ member)[..., groups]
            # (a cell outside the rate's support contributes 0, never NaN: 0 * NaN would spoil its group)
            s2 = (np.where(ok, nn * (p - p0) ** 2, 0.0) @ member)[..., groups] / n_sum
            tau2 = np.maximum(0.0, s2 - p0 * (1 - p0) / (n_sum / k))
            prior = np.where(tau2 > 0, p0 * (1 - p0) / tau2 - 1, np.inf)
            prior = np.maximum(prior, 0.0)
            weight = np.where(np.isinf(prior), 0.0, nn / (nn + prior))
            shrunk = weight * p + (1 - weight) * p0
        out[..., j] = np.where(ok, shrunk * ind.scale, values[..., j])
    return out


def _exact_bound(p: np.ndarray, n: np.ndarray, direction: str, level: float) -> np.ndarray:
    from scipy.stats import beta
    x = np.clip(p * n, 0, n)
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        if direction == "lower_better":
            bound = np.where(x >= n, 1.0, beta.ppf(1 - alpha / 2, x + 1, np.maximum(n - x, 1e-12)))
        else:
            bound = np.where(x <= 0, 0.0, beta.ppf(alpha / 2, np.maximum(x, 1e-12), n - x + 1))
    return bound
