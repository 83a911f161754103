"""Staggered adoption: the heterogeneity-robust event-study estimators side by side.

With staggered adoption and effects that change over time, the static two-way fixed effects
coefficient mixes comparisons against already-treated units (Goodman-Bacon 2021). Three
estimators avoid those comparisons, each under its own assumptions (Roth, Sant'Anna, Bilinski &
Poe 2023, Table 2), and a referee expects to see them together:

* Callaway & Sant'Anna (2021): group-time ATTs against never-treated units, aggregated
  (moderndid, through :func:`analysis.estimators.impact.staggered_did`);
* Sun & Abraham (2021): the interaction-weighted estimator, a regression saturated in cohort x
  relative period (reference period -1, never-treated units as the control cohort; pyfixest
  ``feols``), averaged over cohorts with their shares;
* Gardner (2022) two-stage DiD: unit and period effects fitted on untreated observations, then
  the residualised outcome regressed on the treatment or relative-period indicators, with the
  GMM standard errors of Butts & Gardner (2022) (computed here, see :func:`_gardner`; equal to
  pyfixest's ``did2s`` where that one runs). Its point estimates equal those of the imputation
  estimator of Borusyak, Jaravel & Spiess (2024).

:func:`compare_estimators` runs them with static TWFE on one panel and returns one tidy table.
"""
from __future__ import annotations

import warnings
from typing import Literal, Sequence, get_args

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ParameterError
from analysis.estimators import impact

Estimator = Literal["twfe", "callaway_santanna", "sun_abraham", "gardner_did2s"]
ESTIMATORS: tuple[str, ...] = get_args(Estimator)

COMPARE_COLUMNS = ["estimator", "term", "event_time", "estimate", "std_error", "conf_low",
                   "conf_high", "p_value", "n_obs", "vcov"]

#: Relative period given to never-treated rows (a reference level no real period can take).
_NEVER = -10_000


def compare_estimators(data: pd.DataFrame, outcome: str, unit: str, time: str,
                       first_treated: str, *, cluster: str | None = None,
                       estimators: Sequence[Estimator] = ESTIMATORS,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Static TWFE, Callaway & Sant'Anna, Sun & Abraham and Gardner's two-stage DiD on one panel.

    Every estimator uses never-treated units as controls, no covariates, and standard errors
    clustered by ``cluster`` (default ``unit``): CRV1 with the fixest small-sample correction for
    TWFE and Sun & Abraham, the influence function for Callaway & Sant'Anna, the GMM sandwich for
    the two-stage estimator. Overall rows are:

    * ``twfe``: the coefficient on the treatment indicator ``time >= first_treated``;
    * ``callaway_santanna``: the ``"simple"`` aggregation (post-treatment ATT(g, t) weighted by
      cohort size);
    * ``sun_abraham``: post-treatment cohort x period effects weighted by their numbers of
      treated observations (fixest's ``aggregate(agg = "att")``);
    * ``gardner_did2s``: the second-stage coefficient on the treatment indicator, the average
      effect over treated observations.

    In a balanced panel all three heterogeneity-robust overall rows target the same average over
    treated unit-periods, and Sun & Abraham's post-treatment event-time rows equal Callaway &
    Sant'Anna's exactly (both compare cohort ``g`` in ``g + e`` and ``g - 1`` with never-treated
    units). Their pre-treatment rows differ by construction: Callaway & Sant'Anna's are short
    differences (varying base period), Sun & Abraham's are differences from ``e = -1``, the
    two-stage ones are mean residuals of the untreated model.

    Event-time intervals are pointwise. Event-time weights are treated as known (shares of
    units), as fixest does.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and period; not modified.
    outcome, unit, time : str
        Outcome, unit and (numeric) period columns.
    first_treated : str
        Period of first treatment; 0 or missing means never treated.
    cluster : str, optional
        Cluster column, fixed within units (default: the unit).
    estimators : sequence of str
        Which of ``"twfe"``, ``"callaway_santanna"``, ``"sun_abraham"``, ``"gardner_did2s"``
        to run (all by default).
    alpha : float
        Intervals at ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARE_COLUMNS`: one ``term="overall"`` row per estimator (``event_time`` missing),
        then one ``term="event_time"`` row per relative period (none for ``twfe``).

    Examples
    --------
    >>> from moderndid import load_mpdta
    >>> mpdta = load_mpdta().to_pandas()
    >>> table = compare_estimators(mpdta, "lemp", "countyreal", "year", "first.treat")
    >>> table.loc[table.term == "overall", ["estimator", "estimate"]].round(4).values.tolist()
    [['twfe', -0.0365], ['callaway_santanna', -0.04], ['sun_abraham', -0.04], ['gardner_did2s', -0.0477]]
    """
    chosen = list(estimators)
    for name in chosen:
        impact._check_option("estimators", name, Estimator)
    if not chosen:
        raise ParameterError(f"estimators is empty; choose from {', '.join(ESTIMATORS)}")
    impact._check_alpha(alpha)
    frame = impact._select(data, {"outcome": outcome, "unit": unit, "time": time,
                                  "first_treated": first_treated, "cluster": cluster})
    impact._check_missing(frame, [c for c in frame.columns if c != first_treated])
    panel = _panel(frame, outcome, unit, time, first_treated, cluster)
    runners = {"twfe": _twfe, "callaway_santanna": _callaway_santanna,
               "sun_abraham": _sun_abraham, "gardner_did2s": _gardner}
    tables = []
    for name in chosen:
        tables.append(runners[name](panel, alpha).assign(estimator=name))
    table = pd.concat(tables, ignore_index=True)
    table["event_time"] = table["event_time"].astype("Int64")
    return table[COMPARE_COLUMNS]


def _panel(frame, outcome, unit, time, first_treated, cluster) -> pd.DataFrame:
    """Safe names: y, u (unit code), t, g (0 = never), d (treated now), e (relative period), cl."""
    t = impact._numeric(frame, time, "time")
    g = impact._numeric(frame, first_treated, "first_treated")
    g = np.where(np.isnan(g), 0.0, g)
    g = np.where(g > t.max(), 0.0, g)  # first treated after the panel ends: never treated here
    panel = pd.DataFrame({"y": impact._numeric(frame, outcome, "outcome"), "t": t, "g": g})
    panel["u"] = impact._codes(frame[unit])[0]
    panel["cl"] = panel["u"] if cluster is None else impact._codes(frame[cluster])[0]
    panel["d"] = ((panel.g > 0) & (panel.t >= panel.g)).astype(float)
    panel["e"] = np.where(panel.g > 0, panel.t - panel.g, _NEVER).astype(int)
    n_never = panel.loc[panel.g == 0, "u"].nunique()
    n_treated = panel.loc[panel.g > 0, "u"].nunique()
    impact._check_counts(n_treated, n_never, f"units ({unit})", "never-treated")
    return panel


def _rows(estimates, ses, event_times, n_obs, vcov, alpha, df=None) -> pd.DataFrame:
    estimates, ses = np.asarray(estimates, float), np.asarray(ses, float)
    dist = stats.norm if df is None else stats.t(df)
    crit = dist.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * dist.sf(np.abs(estimates / ses))
    return pd.DataFrame({
        "term": ["overall" if pd.isna(e) else "event_time" for e in event_times],
        "event_time": event_times, "estimate": estimates, "std_error": ses,
        "conf_low": estimates - crit * ses, "conf_high": estimates + crit * ses, "p_value": p,
        "n_obs": n_obs, "vcov": vcov})


def _from_estimate(est: impact.Estimate) -> pd.DataFrame:
    tidy = est.tidy()
    return pd.DataFrame({
        "term": np.where(tidy["event_time"].isna(), "overall", "event_time"),
        "event_time": tidy["event_time"], "estimate": tidy["estimate"],
        "std_error": tidy["std_error"], "conf_low": tidy["conf_low"],
        "conf_high": tidy["conf_high"], "p_value": tidy["p_value"], "n_obs": tidy["n_obs"],
        "vcov": tidy["vcov"]})


def _twfe(panel: pd.DataFrame, alpha: float) -> pd.DataFrame:
    est = impact.twfe(panel, "y", "d", "u", "t", cluster="cl", alpha=alpha, wild_below=None)
    return _from_estimate(est).iloc[[0]]


def _callaway_santanna(panel: pd.DataFrame, alpha: float) -> pd.DataFrame:
    args = dict(data=panel, outcome="y", unit="u", time="t", first_treated="g", alpha=alpha,
                cluster=None if (panel["cl"] == panel["u"]).all() else "cl")
    simple = impact.staggered_did(**args)
    event = impact.staggered_did(**args, aggregation="event")
    return pd.concat([_from_estimate(simple).iloc[[0]], _from_estimate(event).iloc[1:]],
                     ignore_index=True)


def _feols(formula: str, data: pd.DataFrame, **kw):
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword")
        return pf.feols(formula, data=data, vcov={"CRV1": "cl"}, **kw)


def _sun_abraham(panel: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Interaction-weighted estimator: one dummy per treated cohort x relative period but -1."""
    cells = (panel.loc[(panel.g > 0) & (panel.e != -1), ["g", "e"]].drop_duplicates()
             .sort_values(["e", "g"]).reset_index(drop=True))
    cells["name"] = [f"c{i}" for i in range(len(cells))]
    key = pd.MultiIndex.from_frame(panel[["g", "e"]])
    column = pd.Series(cells["name"].to_numpy(), index=pd.MultiIndex.from_frame(cells[["g", "e"]]))
    which = column.reindex(key).to_numpy()
    dummies = pd.get_dummies(pd.Series(which, dtype="object")).astype(float)
    work = pd.concat([panel[["y", "u", "t", "cl"]].reset_index(drop=True), dummies], axis=1)
    fit = _feols("y ~ " + " + ".join(cells["name"]) + " | u + t", work)
    coef = pd.Series(np.asarray(fit.coef()), index=fit._coefnames)
    vcov = pd.DataFrame(np.asarray(fit._vcov), index=fit._coefnames, columns=fit._coefnames)
    dropped = set(cells["name"]) - set(coef.index)
    if dropped:
        raise ValueError(f"{len(dropped)} cohort x period cells could not be estimated (collinear)")
    coef, vcov = coef[cells["name"]], vcov.loc[cells["name"], cells["name"]]
    # cohort shares: units of cohort g among the cohorts observed at e (post cells: treated obs)
    cohort_units = panel.loc[panel.g > 0].groupby("g")["u"].nunique()
    cells["units"] = cohort_units.reindex(cells["g"]).to_numpy()
    cells["obs"] = (panel.loc[panel.g > 0].groupby(["g", "e"]).size()
                    .reindex(pd.MultiIndex.from_frame(cells[["g", "e"]])).to_numpy())
    combos = [(None, np.where(cells["e"] >= 0, cells["obs"], 0.0))]
    for e in sorted(cells["e"].unique()):
        combos.append((e, np.where(cells["e"] == e, cells["units"], 0.0)))
    weights = np.array([w / w.sum() for _, w in combos])
    estimates = weights @ coef.to_numpy()
    ses = np.sqrt(np.einsum("ij,jk,ik->i", weights, vcov.to_numpy(), weights))
    n_clusters = panel["cl"].nunique()
    event_times = [np.nan if e is None else e for e, _ in combos]
    return _rows(estimates, ses, event_times, len(panel), impact._VCOV_WORDS["cluster"], alpha,
                 df=n_clusters - 1)


def _gardner(panel: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Two-stage DiD (Gardner 2022) with the GMM standard errors of Butts & Gardner (2022).

    Stage 1: ``y = unit + period`` by least squares on the untreated rows (sparse normal
    equations). Stage 2: the stage-1 residuals of all rows regressed on the treatment indicator
    (overall) or on one indicator per relative period of the treated cohorts (event times).
    Variance: ``B^-1 (sum_g psi_g psi_g') B^-1`` with ``B = X2'X2`` and
    ``psi_g = X2_g' e2_g - (X2'X1)(X10'X10)^-1 X10_g' e1_g`` (stage-1 rows of treated
    observations set to zero in ``X10``), no small-sample factor, as R's ``did2s``.

    Computed here rather than with pyfixest's ``did2s`` because that one drops singleton fixed
    effects in the first stage, so it cannot impute ``Y(0)`` for units with a single untreated
    period (for example the 2004 cohort of ``mpdta``); a singleton is fitted exactly and changes
    no other first-stage coefficient, so keeping it changes no estimate.
    """
    untreated = panel["d"].to_numpy() == 0
    has_untreated = panel.groupby("u")["d"].transform("min").to_numpy() == 0
    work = panel[has_untreated]
    untreated = untreated[has_untreated]
    x1 = _two_way_dummies(work["u"].to_numpy(), work["t"].to_numpy())
    x10 = x1[untreated]
    normal = (x10.T @ x10).tocsc()
    y = work["y"].to_numpy()
    gamma = _spsolve(normal, x10.T @ y[untreated])
    e1 = y - x1 @ gamma
    n_clusters = work["cl"].nunique()
    rows = []
    event_values = np.sort(work.loc[work.g > 0, "e"].unique())
    designs = [(np.nan, work["d"].to_numpy()[:, None])]
    designs.append((event_values, (work["e"].to_numpy()[:, None] == event_values[None, :])
                    .astype(float)))
    for labels, x2 in designs:
        beta, se = _two_stage_fit(x1, untreated, normal, x2, e1, work["cl"].to_numpy())
        labels = np.atleast_1d(labels)
        rows.append(_rows(beta, se, list(labels), len(work),
                          "two-stage GMM sandwich (Butts & Gardner 2022), clustered", alpha,
                          df=n_clusters - 1))
    return pd.concat(rows, ignore_index=True)


def _two_way_dummies(unit: np.ndarray, period: np.ndarray):
    """Sparse unit dummies and period dummies but the first (full column rank)."""
    from scipy import sparse

    u_codes, u_levels = pd.factorize(unit, sort=True)
    t_codes, t_levels = pd.factorize(period, sort=True)
    n = len(unit)
    rows = np.arange(n)
    units = sparse.csr_matrix((np.ones(n), (rows, u_codes)), shape=(n, len(u_levels)))
    keep = t_codes > 0
    periods = sparse.csr_matrix((np.ones(keep.sum()), (rows[keep], t_codes[keep] - 1)),
                                shape=(n, len(t_levels) - 1))
    return sparse.hstack([units, periods]).tocsr()


def _spsolve(a, b):
    from scipy.sparse.linalg import spsolve

    return np.asarray(spsolve(a, b)).reshape(np.shape(b) if np.ndim(b) > 1 else -1)


def _two_stage_fit(x1, untreated, normal, x2, e1, clusters):
    """Second-stage OLS of ``e1`` on ``x2`` and its GMM cluster-robust standard errors."""
    keep = np.abs(x2).sum(axis=0) > 0
    x2 = x2[:, keep]
    bread = np.linalg.inv(x2.T @ x2)
    beta = bread @ (x2.T @ e1)
    e2 = e1 - x2 @ beta
    gamma = _spsolve(normal, np.asarray(x1.T @ x2))     # (X10'X10)^-1 X1'X2, p x k
    correction = np.asarray(x1 @ gamma) * (e1 * untreated)[:, None]
    scores = x2 * e2[:, None] - correction
    codes, uniques = pd.factorize(clusters)
    sums = np.zeros((len(uniques), x2.shape[1]))
    np.add.at(sums, codes, scores)
    vcov = bread @ (sums.T @ sums) @ bread
    return beta, np.sqrt(np.diag(vcov))


__all__ = ["compare_estimators", "Estimator", "ESTIMATORS", "COMPARE_COLUMNS"]
