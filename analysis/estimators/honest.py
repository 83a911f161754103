"""Sensitivity of an event study to violations of parallel trends (Rambachan & Roth 2023, "HonestDiD").

A pre-trend test neither proves parallel trends nor says how wrong an estimate could be if they fail.
Rambachan & Roth (2023, *A More Credible Approach to Parallel Trends*, Review of Economic Studies
90(5), 2555-2591) write the event-study coefficients as effect plus bias, ``beta = tau + delta``, and
give confidence intervals for ``theta = l' tau_post`` that are valid for every ``delta`` in a set the
reader finds plausible:

* relative magnitudes ``Delta^RM(Mbar)``: each post-period change of the bias, ``|delta_{t+1} - delta_t|``,
  is at most ``Mbar`` times the largest pre-period change; ``Mbar = 1`` allows post-period violations as
  large as the worst one seen before treatment. Intervals: conditional least-favourable hybrid of Andrews,
  Roth & Pakes ("C-LF"), the package's default for this set;
* smoothness ``Delta^SD(M)``: the slope of the bias changes by at most ``M`` between consecutive periods;
  ``M = 0`` allows exactly linear trends. Intervals: fixed-length ("FLCI"), the default for this set.

The *breakdown value* is the largest ``Mbar`` (or ``M``) on the grid at which the interval still excludes
zero. The computations are those of ``moderndid.didhonest`` (a port of the R package HonestDiD, linear
programmes through cvxpy); this module fixes their inputs (a universal base period, the covariance clustered
by unit) and returns tidy tables. Checked against the R package's published Medicaid-expansion example in
``tests/test_honest.py``.

Examples
--------
>>> from analysis.estimators import honest
>>> es = honest.event_study(panel, "y", "unit", "year", "first_treated")  # doctest: +SKIP
>>> table = honest.sensitivity(es, mbar=(0, 0.5, 1), m=(0, 0.01))  # doctest: +SKIP
>>> honest.breakdown(table, "relative_magnitudes")  # doctest: +SKIP
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: Mbar values of the relative-magnitudes sensitivity (0 = parallel trends after treatment), as in the
#: R package's README (0.5 to 2 by 0.5). Each value costs one conditional test inversion (seconds).
MBAR_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)
#: Environment variable naming the Mbar values to use instead of :data:`MBAR_GRID` (comma-separated), e.g.
#: a single value for the test suite's small builds: each value costs one conditional test inversion.
MBAR_ENV = "ANALYSIS_HONEST_MBAR"


#: Environment variable that turns the sensitivity analysis of a build off (``off``): the test suite's small
#: builds, where the package's fixed-length interval search is slow on noisy designs.
ENABLED_ENV = "ANALYSIS_HONEST"


def enabled() -> bool:
    """Whether builds compute the bounds (:data:`ENABLED_ENV` is not ``off``)."""
    return os.environ.get(ENABLED_ENV, "on").strip().lower() != "off"


def mbar_grid() -> tuple[float, ...]:
    """The Mbar values of the relative-magnitudes sensitivity: :data:`MBAR_ENV` if set, else :data:`MBAR_GRID`."""
    value = os.environ.get(MBAR_ENV, "").strip()
    if not value:
        return MBAR_GRID
    try:
        grid = tuple(sorted(float(v) for v in value.split(",")))
    except ValueError:
        raise ValueError(f"{MBAR_ENV} must be comma-separated numbers >= 0, not {value!r}") from None
    if any(v < 0 for v in grid):
        raise ValueError(f"{MBAR_ENV} must be comma-separated numbers >= 0, not {value!r}")
    return grid


#: Number of points of the test inversion of the conditional intervals (the R package's vignette uses 100).
GRID_POINTS = 100
#: Number of M values of the smoothness sensitivity when none are given (as the R package: 0 to an upper bound).
M_POINTS = 6

SENSITIVITY_COLUMNS = ["restriction", "bound", "conf_low", "conf_high", "method", "significant"]


@dataclass(frozen=True)
class EventStudy:
    """Event-study coefficients relative to event time -1, and their covariance.

    Attributes
    ----------
    betahat : numpy.ndarray
        Coefficients for ``event_times`` (the reference period -1 left out), pre-periods first.
    sigma : numpy.ndarray
        Their covariance matrix.
    event_times : numpy.ndarray
        Event time of each coefficient.
    n_units : int
        Units of the panel.
    """

    betahat: np.ndarray
    sigma: np.ndarray
    event_times: np.ndarray
    n_units: int = 0

    def __post_init__(self):
        k = len(self.betahat)
        if np.shape(self.sigma) != (k, k):
            raise ValueError(f"sigma must be {k} x {k} for {k} coefficients, not {np.shape(self.sigma)}")
        if len(self.event_times) != k:
            raise ValueError("event_times must name every coefficient")
        if -1 in set(np.asarray(self.event_times).tolist()):
            raise ValueError("leave out the reference period -1 (its coefficient is 0 by construction)")
        if self.num_pre < 1 or self.num_post < 1:
            raise ValueError("the sensitivity analysis needs at least one pre-period (before -1) and one "
                             "post-period coefficient")

    @property
    def num_pre(self) -> int:
        return int((np.asarray(self.event_times) < -1).sum())

    @property
    def num_post(self) -> int:
        return int((np.asarray(self.event_times) >= 0).sum())

    def weights(self, target: str | int = 0) -> np.ndarray:
        """``l_vec`` of the target: ``"average"`` of the post-periods, or one event time (default 0)."""
        post = np.asarray(self.event_times)[self.num_pre:]
        if target == "average":
            return np.full(self.num_post, 1 / self.num_post)
        if target not in set(post.tolist()):
            raise ValueError(f"event time {target!r} is not a post-period; post-periods: {post.tolist()}")
        return (post == target).astype(float)

    def largest_pre_violation(self) -> float:
        """``max_s |beta_{s+1} - beta_s|`` over the pre-periods, with beta_{-1} = 0 (the scale of Mbar)."""
        pre = np.append(np.asarray(self.betahat)[:self.num_pre], 0.0)
        return float(np.abs(np.diff(pre)).max())


def event_study(data: pd.DataFrame, outcome: str, unit: str, time: str, first_treated: str, *,
                control_group: str = "never_treated") -> EventStudy:
    """Callaway & Sant'Anna (2021) event study with a *universal* base period, for the sensitivity analysis.

    Rambachan & Roth's restrictions are on the bias relative to one reference period (-1); the usual
    varying base period compares consecutive pre-periods instead, so the group-time effects are
    re-estimated here against ``first_treated - 1`` (moderndid ``att_gt(base_period="universal")``,
    doubly robust without covariates, i.e. differences in means) and aggregated by event time. The
    covariance is that of the unit-level influence functions, ``V = sum_i psi_i psi_i' / n^2``, as the R
    package's ``honest_did`` for ``did`` computes it (clustered by unit).

    Parameters
    ----------
    data : DataFrame
        Balanced panel, one row per unit and period; not modified.
    outcome, unit, time, first_treated : str
        Columns (``first_treated`` is 0 for never-treated units).
    control_group : {"never_treated", "not_yet_treated"}

    Returns
    -------
    EventStudy
    """
    import moderndid as md

    frame = pd.DataFrame({"y": pd.to_numeric(data[outcome]), "t": pd.to_numeric(data[time]),
                          "g": pd.to_numeric(data[first_treated]).fillna(0),
                          "id": pd.factorize(data[unit])[0] + 1})
    control = {"never_treated": "nevertreated", "not_yet_treated": "notyettreated"}[control_group]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(bootstrap|Wald pre-test|small groups).*")
        gt = md.att_gt(data=frame, yname="y", tname="t", idname="id", gname="g", boot=False, cband=False,
                       control_group=control, base_period="universal")
        agg = md.aggte(gt, type="dynamic", boot=False, cband=False, na_rm=True)
    times = np.asarray(agg.event_times, dtype=float)
    psi = np.asarray(agg.influence_func, dtype=float)
    keep = times != -1
    psi, times = psi[:, keep], times[keep]
    n = psi.shape[0]
    sigma = psi.T @ psi / n ** 2
    return EventStudy(np.asarray(agg.att_by_event, dtype=float)[keep], sigma, times.astype(int), n)


def original_interval(es: EventStudy, target: str | int = 0, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """``(estimate, std_error, conf_low, conf_high)`` of ``theta = l' beta_post`` under exact parallel trends."""
    w = es.weights(target)
    post = slice(es.num_pre, None)
    theta = float(w @ es.betahat[post])
    se = float(np.sqrt(w @ es.sigma[post, post] @ w))
    z = stats.norm.ppf(1 - alpha / 2)
    return theta, se, theta - z * se, theta + z * se


def relative_magnitudes(es: EventStudy, mbar: Sequence[float] = MBAR_GRID, target: str | int = 0,
                        alpha: float = 0.05, grid_points: int = GRID_POINTS) -> pd.DataFrame:
    """Robust intervals under ``Delta^RM(Mbar)`` for each ``mbar`` (conditional least-favourable hybrid).

    The test is inverted on ``grid_points`` values of theta over moderndid's default range (the estimate
    plus or minus 20 standard errors, widened by the largest bias the restriction allows), so the bounds are
    exact to about one grid step.
    """
    from moderndid.didhonest import create_sensitivity_results_rm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = create_sensitivity_results_rm(es.betahat, es.sigma, es.num_pre, es.num_post, method="C-LF",
                                            m_bar_vec=list(map(float, mbar)), l_vec=es.weights(target),
                                            alpha=alpha, grid_points=grid_points)
    return _tidy(out, "relative_magnitudes", "Mbar")


def smoothness(es: EventStudy, m: Sequence[float] | None = None, target: str | int = 0,
               alpha: float = 0.05) -> pd.DataFrame:
    """Robust intervals under ``Delta^SD(M)`` for each ``m`` (fixed-length intervals).

    Without ``m``, :data:`M_POINTS` values from 0 to the package's data-driven upper bound (the largest
    second difference of the pre-period coefficients consistent with the data) when there are three or
    more pre-period coefficients, else to the standard error of the first one, as the R package does.
    """
    from moderndid.didhonest import create_sensitivity_results_sm
    from moderndid.didhonest.bounds import compute_delta_sd_upperbound_m

    if m is None:
        top = (compute_delta_sd_upperbound_m(es.betahat, es.sigma, es.num_pre, alpha=0.05) if es.num_pre > 2
               else float(np.sqrt(es.sigma[0, 0])))
        m = np.linspace(0, top, M_POINTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = create_sensitivity_results_sm(es.betahat, es.sigma, es.num_pre, es.num_post, method="FLCI",
                                            m_vec=list(map(float, m)), l_vec=es.weights(target), alpha=alpha)
    return _tidy(out, "smoothness", "m")


def _tidy(frame, restriction: str, column: str) -> pd.DataFrame:
    out = frame.to_pandas() if hasattr(frame, "to_pandas") else pd.DataFrame(frame)
    table = pd.DataFrame({"restriction": restriction, "bound": out[column].astype(float),
                          "conf_low": out["lb"].astype(float), "conf_high": out["ub"].astype(float),
                          "method": out["method"].astype(str)})
    table["significant"] = (table["conf_low"] > 0) | (table["conf_high"] < 0)
    return table[SENSITIVITY_COLUMNS]


def sensitivity(es: EventStudy, mbar: Sequence[float] = MBAR_GRID, m: Sequence[float] | None = None,
                target: str | int = 0, alpha: float = 0.05, grid_points: int = GRID_POINTS) -> pd.DataFrame:
    """The original interval (``restriction="none"``) and both sensitivity analyses, one tidy table.

    Columns: restriction (``none``, ``relative_magnitudes``, ``smoothness``), bound (Mbar or M; NaN for the
    original), conf_low, conf_high, method (``original``, ``C-LF``, ``FLCI``), significant (interval excludes 0).
    An empty ``mbar`` leaves out the relative-magnitudes rows.
    """
    _, _, low, high = original_interval(es, target, alpha)
    original = pd.DataFrame([{"restriction": "none", "bound": np.nan, "conf_low": low, "conf_high": high,
                              "method": "original", "significant": bool(low > 0 or high < 0)}])
    parts = [original, smoothness(es, m, target, alpha)]
    if len(mbar):   # an empty grid leaves the (costly) relative-magnitudes inversion out
        parts.insert(1, relative_magnitudes(es, mbar, target, alpha, grid_points))
    return pd.concat(parts, ignore_index=True)


def breakdown(table: pd.DataFrame, restriction: str) -> float:
    """The largest bound on the grid up to which every interval of ``restriction`` excludes zero.

    NaN when the interval at the smallest bound already includes zero (no breakdown value on the grid);
    the largest grid value when none includes zero (the breakdown value is at least that).
    """
    rows = table[table["restriction"] == restriction].sort_values("bound")
    if rows.empty or not rows["significant"].iloc[0]:
        return float("nan")
    lost = ~rows["significant"].to_numpy()
    last = int(np.argmax(lost)) - 1 if lost.any() else len(rows) - 1
    return float(rows["bound"].iloc[last])
