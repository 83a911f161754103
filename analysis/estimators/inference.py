"""Inference add-ons for the impact estimators: the wild cluster bootstrap and multiple testing.

Cluster-robust (CRV1) t tests over-reject when clusters are few, as in a county with 15-30
villages (Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017). The restricted wild cluster
bootstrap (WCR) keeps its size far better: :func:`wild_cluster_bootstrap` computes it for one
coefficient of a linear model, vectorised over all bootstrap draws with the cluster-level
algebra of Roodman, MacKinnon, Nielsen & Webb (2019, "Fast and wild", section 3), and inverts
the test for a confidence interval. It is written here rather than called from the
``wildboottest`` package because that package takes the whole design matrix (a village panel's
unit effects as thousands of dummy columns) and brings numba with it; here the unit effects are
partialled out first. ``wildboottest`` is the reference it is tested against.

Several outcomes tested for one programme need a family-wise error rate. Holm (1979) controls
it under any dependence; Romano & Wolf (2005, 2016) control it too but use the joint
distribution of the test statistics, so they reject more when outcomes are correlated:
:func:`romano_wolf` reports both, from a multiplier bootstrap of the estimators' influence
functions, and :func:`romano_wolf_pvalues` is the step-down algorithm itself.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ParameterError

WildWeights = Literal["webb", "rademacher"]

#: Clusters below this number get a wild cluster bootstrap beside the CRV1 figures.
WILD_BELOW = 50
#: Bootstrap draws (full enumeration instead when Rademacher weights allow fewer).
WILD_REPS = 9999
#: Seed of the bootstrap draws, so that a page shows the same p-value on every run.
WILD_SEED = 20240601

_WEBB = np.sqrt(np.array([1.5, 1.0, 0.5]))
_WEBB = np.concatenate([-_WEBB, _WEBB])


@dataclass(frozen=True)
class WildResult:
    """Restricted wild cluster bootstrap of one coefficient.

    Attributes
    ----------
    estimate : float
        OLS coefficient.
    t_stat : float
        Its cluster-robust t statistic for ``coefficient = null`` (no small-sample factor: the
        factor multiplies the original and every bootstrap statistic alike and cancels).
    p_value : float
        Symmetric bootstrap p-value: share of draws with ``|t*| >= |t|``.
    conf_low, conf_high : float
        Interval from inverting the bootstrap test (the values of the null not rejected at
        ``alpha``).
    reps : int
        Draws used (``2**G`` under full enumeration).
    weights : str
        ``"webb"`` or ``"rademacher"``.
    full_enumeration : bool
        Every Rademacher sign pattern was used: the p-value is exact, not simulated.
    n_clusters : int
    """

    estimate: float
    t_stat: float
    p_value: float
    conf_low: float
    conf_high: float
    reps: int
    weights: str
    full_enumeration: bool
    n_clusters: int


def wild_cluster_bootstrap(x: np.ndarray, y: np.ndarray, clusters: np.ndarray, coefficient: int,
                           *, null: float = 0.0, absorb: np.ndarray | None = None,
                           weights: WildWeights = "webb", reps: int = WILD_REPS,
                           seed: int = WILD_SEED, alpha: float = 0.05,
                           interval: bool = True) -> WildResult:
    """Restricted wild cluster bootstrap (WCR) test and interval for one OLS coefficient.

    The null ``beta_j = null`` is imposed on the bootstrap data-generating process; each draw
    multiplies the restricted residuals of cluster ``g`` by one weight ``v_g`` (Cameron, Gelbach &
    Miller 2008; MacKinnon & Webb 2017). Weights are Webb's six-point distribution
    (``+-sqrt(1/2), +-1, +-sqrt(3/2)``, Webb 2023), recommended when clusters are few, or
    Rademacher signs, which are enumerated in full when ``2**G <= reps``. The bootstrap
    statistics come from cluster-level sums only (Roodman et al. 2019): with ``A = (X'X)^-1``,
    ``S_g = X_g' u_g`` (restricted residuals) and ``H_g = X_g' X_g``, the numerator of draw ``b``
    is ``sum_g v_gb a_j' S_g`` and its CRV1 scores are ``K v_b`` with
    ``K = diag(a_j' S_g) - [a_j' H_h A S_g]_{hg}``, so the cost is ``O(G^2 B)``, not ``O(N B)``.
    The interval collects the nulls the test does not reject at ``alpha``, found by bisection
    with the draws held fixed (MacKinnon 2015).

    Parameters
    ----------
    x : ndarray, shape (n, k)
        Regressors (include the intercept when the model has one).
    y : ndarray, shape (n,)
    clusters : array-like, shape (n,)
        Cluster of each row.
    coefficient : int
        Column of ``x`` tested.
    null : float
        Value of the coefficient under the null.
    absorb : array-like, shape (n,), optional
        A fixed effect partialled out by demeaning (Frisch-Waugh-Lovell), for example the unit;
        ``x`` then has no intercept. It must be nested in ``clusters``: the weights are then
        constant within each fixed-effect group, where the restricted residuals sum to zero, so
        demeaning leaves the bootstrap errors unchanged and the result equals the bootstrap
        with dummy variables exactly. Fixed effects not nested in the clusters (periods) belong
        in ``x`` as dummies.
    weights : {"webb", "rademacher"}
    reps : int
        Number of draws.
    seed : int
        Seed of ``numpy.random.default_rng``.
    alpha : float
        The interval has level ``1 - alpha``.
    interval : bool
        Invert the test for the interval (about 40 more evaluations); False leaves it NaN.

    Returns
    -------
    WildResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(12), 20)
    >>> x = np.column_stack([np.ones(240), rng.normal(size=240)])
    >>> y = 0.5 * x[:, 1] + rng.normal(size=12)[g] + rng.normal(size=240)
    >>> res = wild_cluster_bootstrap(x, y, g, 1, weights="rademacher")
    >>> res.full_enumeration, res.reps, res.conf_low < 0.5 < res.conf_high
    (True, 4096, True)
    """
    if weights not in ("webb", "rademacher"):
        raise ParameterError(f"weights={weights!r} is not allowed; choose one of 'webb', "
                             f"'rademacher'")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r} is not allowed; it must lie strictly between 0 and 1")
    if reps < 99:
        raise ParameterError(f"reps={reps!r} is too few; use at least 99 (9999 is the default)")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    codes, uniques = pd.factorize(np.asarray(clusters))
    n_clusters = len(uniques)
    if n_clusters < 2:
        raise ValueError("the wild cluster bootstrap needs at least 2 clusters")
    if absorb is not None:
        x, y = _demean(x, absorb, codes), _demean(y[:, None], absorb, codes)[:, 0]
    design = _Design(x, y, codes, n_clusters, coefficient)
    draws, full = _draws(n_clusters, weights, reps, seed)
    t_boot = design.bootstrap(draws)

    def p_value(beta0: float) -> float:
        # Ties count against the null: under full enumeration the patterns v = +-1 reproduce
        # |t| itself, and a randomisation test counts the observed statistic (rounding aside).
        t = abs(design.t_stat(beta0)) * (1 - 1e-9)
        return float(np.mean(np.abs(t_boot(beta0)) >= t))

    low, high = (_invert(p_value, design.beta[coefficient], design.se, alpha) if interval
                 else (np.nan, np.nan))
    return WildResult(estimate=float(design.beta[coefficient]), t_stat=design.t_stat(null),
                      p_value=p_value(null), conf_low=low, conf_high=high, reps=draws.shape[1],
                      weights=weights, full_enumeration=full, n_clusters=n_clusters)


def _demean(values: np.ndarray, groups: np.ndarray, cluster_codes: np.ndarray) -> np.ndarray:
    codes, uniques = pd.factorize(np.asarray(groups))
    if pd.Series(cluster_codes).groupby(codes).nunique().max() > 1:
        raise ValueError("the absorbed fixed effect is not nested in the clusters; enter it as "
                         "dummy variables instead")
    sums = np.zeros((len(uniques), values.shape[1]))
    np.add.at(sums, codes, values)
    means = sums / np.bincount(codes)[:, None]
    return values - means[codes]


class _Design:
    """Cluster-level pieces of the OLS fit; everything after this is O(G^2) per null value."""

    def __init__(self, x, y, codes, n_clusters, j):
        if np.linalg.matrix_rank(x) < x.shape[1]:
            raise ValueError("the regressors are collinear; the wild bootstrap needs a full-rank "
                             "design")
        self.j = j
        self.a_inv = np.linalg.inv(x.T @ x)
        a_j = self.a_inv[:, j]
        self.beta = self.a_inv @ (x.T @ y)
        resid = y - x @ self.beta
        score = _cluster_sums(x * resid[:, None], codes, n_clusters) @ a_j
        self.se = float(np.sqrt((score ** 2).sum()))
        # Restricted residuals are linear in the null: u_r(b0) = u0 - b0 * m, where u0 and m are
        # y and x_j net of the other regressors.
        others = np.delete(x, j, axis=1)
        proj = np.linalg.lstsq(others, np.column_stack([y, x[:, j]]), rcond=None)[0]
        resid_others = np.column_stack([y, x[:, j]]) - others @ proj
        self.s0 = _cluster_sums(x * resid_others[:, [0]], codes, n_clusters)
        self.s1 = _cluster_sums(x * resid_others[:, [1]], codes, n_clusters)
        self.p = _cluster_sums(x * (x @ a_j)[:, None], codes, n_clusters)  # rows H_h a_j
        self.a_j = a_j

    def t_stat(self, beta0: float) -> float:
        return float((self.beta[self.j] - beta0) / self.se)

    def bootstrap(self, draws: np.ndarray):
        """Bootstrap t statistics as a function of the null, for fixed draws ``v`` (G x B).

        ``S``, hence the numerators ``c' v`` and the scores ``K v``, are linear in the null, so
        both are computed once for ``S0`` and ``S1`` and each null costs ``O(G B)``.
        """
        parts = []
        for s in (self.s0, self.s1):
            c = s @ self.a_j                          # G: a_j' S_g
            k = np.diag(c) - self.p @ (self.a_inv @ s.T)
            parts.append((c @ draws, k @ draws))
        (n0, sc0), (n1, sc1) = parts

        def t_boot(beta0: float) -> np.ndarray:
            scores = sc0 - beta0 * sc1
            with np.errstate(divide="ignore", invalid="ignore"):
                return (n0 - beta0 * n1) / np.sqrt((scores ** 2).sum(axis=0))
        return t_boot


def _cluster_sums(values: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    out = np.zeros((n_clusters, values.shape[1]))
    np.add.at(out, codes, values)
    return out


def _draws(n_clusters: int, weights: str, reps: int, seed: int) -> tuple[np.ndarray, bool]:
    """G x B weight matrix; all 2**G sign patterns when Rademacher weights allow it."""
    if weights == "rademacher" and 2 ** n_clusters <= reps:
        return np.array(list(product([-1.0, 1.0], repeat=n_clusters))).T, True
    rng = np.random.default_rng(seed)
    if weights == "rademacher":
        return rng.choice([-1.0, 1.0], size=(n_clusters, reps)), False
    return rng.choice(_WEBB, size=(n_clusters, reps)), False


def _invert(p_value, beta: float, se: float, alpha: float) -> tuple[float, float]:
    """Ends of ``{b0: p(b0) > alpha}`` by bisection, starting from the CRV1 scale."""
    ends = []
    for sign in (-1.0, 1.0):
        inside, step = beta, 2.0 * se
        outside = beta + sign * step
        while p_value(outside) > alpha:
            inside, step = outside, 2 * step
            outside = beta + sign * step
            if step > 1e6 * max(se, 1e-12):
                return -float("inf"), float("inf")
        for _ in range(60):
            mid = (inside + outside) / 2
            if p_value(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) < 1e-5 * max(se, 1e-12):
                break
        ends.append(float((inside + outside) / 2))
    return ends[0], ends[1]


# --------------------------------------------------------------------------------------------
# Multiple outcomes: Romano-Wolf step-down beside Holm
# --------------------------------------------------------------------------------------------

def romano_wolf_pvalues(t_stats: np.ndarray, boot_t: np.ndarray) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values from bootstrap t statistics.

    Hypotheses are taken in decreasing order of ``|t|``; the ``s``-th gets
    ``(1 + #{b: max_{k not yet rejected} |t*_bk| >= |t_s|}) / (B + 1)``, and adjusted p-values are
    made monotone by a running maximum (Romano & Wolf 2005, Algorithm 4.1; 2016, eq. 6; Clarke,
    Romano & Wolf 2020 for the ``+1`` convention). The bootstrap statistics must be centred
    (drawn under the null or from centred influence functions).

    Parameters
    ----------
    t_stats : ndarray, shape (K,)
    boot_t : ndarray, shape (B, K)

    Returns
    -------
    ndarray, shape (K,)

    Examples
    --------
    >>> romano_wolf_pvalues(np.array([3.0, 1.0]), np.array([[0.5, 2.0], [3.5, 0.1], [1.0, 1.0]]))
    array([0.5 , 0.75])
    """
    t_abs = np.abs(np.asarray(t_stats, dtype=float))
    boot = np.abs(np.asarray(boot_t, dtype=float))
    if boot.ndim != 2 or boot.shape[1] != len(t_abs):
        raise ValueError(f"boot_t must have shape (B, {len(t_abs)}); got {boot.shape}")
    order = np.argsort(-t_abs, kind="stable")
    n_boot = boot.shape[0]
    raw = np.empty(len(t_abs))
    for step, k in enumerate(order):
        max_stat = boot[:, order[step:]].max(axis=1)
        raw[step] = min(1.0, (1 + np.sum(max_stat >= t_abs[k])) / (n_boot + 1))
    adjusted = np.empty(len(t_abs))
    adjusted[order] = np.maximum.accumulate(raw)
    return adjusted


def romano_wolf(estimates: Mapping[str, object], *, clusters: np.ndarray | None = None,
                reps: int = WILD_REPS, seed: int = WILD_SEED) -> pd.DataFrame:
    """Romano-Wolf and Holm adjusted p-values for the headline effects of several estimates.

    Meant for one programme evaluated on several outcomes in the same sample, for example the
    training effect on employment and on wage income (both from
    :func:`analysis.estimators.impact.att_weighting` on the same rows). The joint distribution
    of the t statistics comes from a multiplier bootstrap of the stacked influence functions:
    draw ``b`` gives ``t*_bk = sum_c v_cb S_ck / sqrt(sum_c S_ck^2)`` with Rademacher weights
    ``v_cb`` and ``S_ck`` the influence function of outcome ``k`` summed over cluster ``c`` (each
    row its own cluster by default), which keeps the correlation between outcomes (Kline &
    Santos 2012 for the multiplier bootstrap; Romano & Wolf 2005 for the step-down). Holm's
    adjustment (statsmodels ``multipletests``) is computed from the same normal p-values.

    Parameters
    ----------
    estimates : mapping of str to Estimate
        Outcome name -> estimate with an ``influence`` function (``att_weighting`` with
        ``"ipw"`` or ``"dr"``), all on the same rows in the same order.
    clusters : array-like, optional
        Cluster of each row (for example the household of each person-year).
    reps : int
        Bootstrap draws.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    pandas.DataFrame
        One row per outcome: outcome, estimate, std_error (clustered when ``clusters`` is
        given), statistic, p_value (normal, unadjusted), p_holm, p_romano_wolf, reps.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.estimators import impact
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=3000)
    >>> d = rng.random(3000) < 1 / (1 + np.exp(-x))
    >>> df = pd.DataFrame({"d": d, "x": x, "y1": x + 0.2 * d + rng.normal(size=3000),
    ...                    "y2": x + rng.normal(size=3000)})
    >>> table = romano_wolf({k: impact.att_weighting(df, k, "d", "x") for k in ("y1", "y2")})
    >>> table.columns.tolist()
    ['outcome', 'estimate', 'std_error', 'statistic', 'p_value', 'p_holm', 'p_romano_wolf', 'reps']
    """
    from statsmodels.stats.multitest import multipletests

    names = list(estimates)
    if len(names) < 2:
        raise ParameterError("romano_wolf needs at least two estimates (one per outcome)")
    missing = [k for k in names if getattr(estimates[k], "influence", None) is None]
    if missing:
        raise ValueError(f"no influence function for {missing}: use att_weighting with "
                         f"method 'ipw' or 'dr' (matching has none)")
    psi = np.column_stack([np.asarray(estimates[k].influence, dtype=float) for k in names]) \
        if len({len(estimates[k].influence) for k in names}) == 1 else None
    if psi is None:
        raise ValueError("the estimates were computed on different numbers of rows; the joint "
                         "bootstrap needs the same rows for every outcome")
    n = psi.shape[0]
    if clusters is None:
        sums = psi
    else:
        codes, uniques = pd.factorize(np.asarray(clusters))
        if len(codes) != n:
            raise ValueError(f"clusters must have one value per row ({n}); got {len(codes)}")
        sums = np.zeros((len(uniques), psi.shape[1]))
        np.add.at(sums, codes, psi)
    scale = np.sqrt((sums ** 2).sum(axis=0))
    est = np.array([float(estimates[k].estimate) for k in names])
    se = scale / n
    t_stats = est / se
    rng = np.random.default_rng(seed)
    boot = np.empty((reps, len(names)))
    for start in range(0, reps, 500):  # draws in blocks: G x 500 weights at a time
        stop = min(reps, start + 500)
        v = rng.choice([-1.0, 1.0], size=(stop - start, sums.shape[0]))
        boot[start:stop] = (v @ sums) / scale
    p = 2 * stats.norm.sf(np.abs(t_stats))
    return pd.DataFrame({"outcome": names, "estimate": est, "std_error": se,
                         "statistic": t_stats, "p_value": p,
                         "p_holm": multipletests(p, method="holm")[1],
                         "p_romano_wolf": romano_wolf_pvalues(t_stats, boot), "reps": reps})


__all__ = ["WildResult", "WildWeights", "wild_cluster_bootstrap", "WILD_BELOW", "WILD_REPS",
           "WILD_SEED", "romano_wolf", "romano_wolf_pvalues"]
