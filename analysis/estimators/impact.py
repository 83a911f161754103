"""Impact estimators: difference-in-differences, staggered adoption, weighting and matching.

Every estimator takes a pandas DataFrame and column names, never changes its input, and returns an
:class:`Estimate`. ``Estimate.tidy()`` is the single table behind every accessor: its first row is
the headline effect, further rows are model coefficients, event times or cohorts. Several estimates
combine into one table with ``pd.concat([e.tidy() for e in estimates])``.

The numbers come from maintained libraries: pyfixest (Berge's fixest algorithm) for the regressions,
moderndid (a port of R's ``did``/``DRDID``) for Callaway & Sant'Anna (2021), statsmodels for the
propensity score. This module adds the checks at the boundary, the inference those libraries do not
offer in the form needed here, and the reporting.

Clustered standard errors follow the fixest / Stata convention (CRV1): the sandwich is multiplied by
``G/(G-1) * (N-1)/(N-K)``, where ``G`` is the number of clusters and ``K`` counts the slope
coefficients and the fixed effects that are *not* nested in the clusters (unit effects nested in
unit clusters are not counted), as ``xtreg, fe vce(cluster)`` and ``reghdfe`` do.
``linearmodels.PanelOLS`` counts the absorbed unit effects and reports larger clustered errors.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal, Sequence, get_args

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ParameterError
from analysis.estimators import inference

ControlGroup = Literal["never_treated", "not_yet_treated"]
Aggregation = Literal["simple", "event", "group"]
WeightingMethod = Literal["ipw", "dr", "psm"]
VcovType = Literal["iid", "hc1", "cluster"]
GroupTimeEstimator = Literal["dr", "ipw", "reg"]

#: Fewest treated and fewest comparison units any estimator accepts.
MIN_UNITS = 2
#: Fitted propensity scores are clipped to ``[PS_BOUND, 1 - PS_BOUND]`` (as DRDID does).
PS_BOUND = 1e-6
#: Default propensity-score trim level of :func:`att_weighting` (DRDID's ``trim.level``).
TRIM_LEVEL = 0.995
#: Same-arm neighbours used to estimate conditional variances for the matching estimator.
VARIANCE_NEIGHBOURS = 2

TIDY_COLUMNS = [
    "term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high",
    "n_obs", "method", "vcov", "n_clusters", "event_time", "group",
]


@dataclass(frozen=True, eq=False)
class Estimate:
    """Result of one estimator; ``table`` (see :meth:`tidy`) holds the numbers.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per term, in :data:`TIDY_COLUMNS` order; row 0 is the headline effect.
    method : str
        Plain-words description of the estimator and its options.
    n_obs : int
        Rows used.
    vcov : str
        How the standard errors were computed.
    alpha : float
        Confidence intervals are at ``1 - alpha`` (95% by default).
    n_units, n_clusters : int or None
        Distinct units and clusters, when the design has them.
    group_time : pandas.DataFrame or None
        ATT(g, t) table of :func:`staggered_did`.
    pretrend : dict or None
        Wald pre-trend test of :func:`staggered_did`.
    balance : pandas.DataFrame or None
        Covariate balance of :func:`att_weighting` (see :func:`balance`).
    propensity : numpy.ndarray or None
        Fitted propensity scores of :func:`att_weighting`, one per row used, in the order of the data.
    overlap : pandas.DataFrame or None
        Common support of :func:`att_weighting`: one row per arm (``treated``, ``control``) with
        ``units``, ``trimmed``, ``used``, ``score_min``, ``score_max`` and ``trim_level``.
    wild_bootstrap : pandas.DataFrame or None
        Restricted wild cluster bootstrap of the headline term beside its CRV1 figures, when
        :func:`did_2x2` or :func:`twfe` cluster with fewer clusters than ``wild_below``: one row
        with term, estimate, crv1_std_error, crv1_p_value, crv1_conf_low, crv1_conf_high,
        wild_p_value, wild_conf_low, wild_conf_high, weights, reps, full_enumeration, n_clusters.
    influence : numpy.ndarray or None
        Influence function of the headline estimate of :func:`att_weighting` (``"ipw"``,
        ``"dr"``), one value per row used, in the order of the data: the estimate minus its
        limit is about their mean, and ``std_error = sqrt(sum(influence**2)) / n_obs``. Used for
        joint inference over several outcomes (:func:`analysis.estimators.inference.romano_wolf`).
    notes : tuple of str
        Anything the estimator did to the data that a reader must know (rows set aside, ...).
    """

    table: pd.DataFrame
    method: str
    n_obs: int
    vcov: str
    alpha: float = 0.05
    n_units: int | None = None
    n_clusters: int | None = None
    group_time: pd.DataFrame | None = None
    pretrend: dict | None = None
    balance: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    propensity: np.ndarray | None = None
    overlap: pd.DataFrame | None = None
    wild_bootstrap: pd.DataFrame | None = None
    influence: np.ndarray | None = None

    def tidy(self) -> pd.DataFrame:
        """One row per term: term, estimate, std_error, statistic, p_value, conf_low, conf_high,
        n_obs, method, vcov, n_clusters, event_time, group (a copy)."""
        return self.table.copy()

    def _headline(self, column: str) -> float:
        return float(self.table[column].iat[0])

    @property
    def estimate(self) -> float:
        return self._headline("estimate")

    @property
    def std_error(self) -> float:
        return self._headline("std_error")

    @property
    def statistic(self) -> float:
        return self._headline("statistic")

    @property
    def p_value(self) -> float:
        return self._headline("p_value")

    @property
    def conf_int(self) -> tuple[float, float]:
        return self._headline("conf_low"), self._headline("conf_high")

    @property
    def event_study(self) -> pd.DataFrame | None:
        """Event-time rows (``aggregation="event"``): event_time, estimate, std_error, conf_low, ..."""
        rows = self.table[self.table["event_time"].notna()]
        if rows.empty:
            return None
        cols = ["event_time", "estimate", "std_error", "conf_low", "conf_high", "statistic", "p_value"]
        return rows[cols].astype({"event_time": int}).reset_index(drop=True)

    @property
    def group_effects(self) -> pd.DataFrame | None:
        """Cohort rows (``aggregation="group"``): group, estimate, std_error, conf_low, ..."""
        rows = self.table[self.table["group"].notna()]
        if rows.empty:
            return None
        cols = ["group", "estimate", "std_error", "conf_low", "conf_high", "statistic", "p_value"]
        return rows[cols].reset_index(drop=True)

    def __repr__(self) -> str:
        low, high = self.conf_int
        return (f"Estimate({self.method}: {self.estimate:.6g} (SE {self.std_error:.4g}), "
                f"{100 * (1 - self.alpha):g}% CI [{low:.6g}, {high:.6g}], p={self.p_value:.4g}, "
                f"n_obs={self.n_obs})")


def etable(estimates: Mapping[str, Estimate], headline: bool = True) -> pd.DataFrame:
    """Several estimates side by side, one tidy table: ``Estimate.tidy()`` rows stacked under ``model``.

    Parameters
    ----------
    estimates : mapping of str to Estimate
        Model name -> estimate, in the order the table lists them.
    headline : bool
        Keep only each estimate's headline row (row 0); False keeps every term (event times, groups).

    Returns
    -------
    DataFrame
        ``model`` then :data:`TIDY_COLUMNS`, one row per model (and term).

    Examples
    --------
    >>> from moderndid import load_mpdta
    >>> d = load_mpdta().to_pandas().assign(treated=lambda f: (f["first.treat"] > 0) & (f["year"] >= f["first.treat"]))
    >>> table = etable({"cs": staggered_did(d, "lemp", "countyreal", "year", "first.treat"),
    ...                 "twfe": twfe(d, "lemp", "treated", "countyreal", "year")})
    >>> table["model"].tolist()
    ['cs', 'twfe']
    """
    frames = []
    for name, est in estimates.items():
        rows = est.tidy()
        frames.append((rows.iloc[[0]] if headline else rows).assign(model=name))
    if not frames:
        return pd.DataFrame(columns=["model", *TIDY_COLUMNS])
    table = pd.concat(frames, ignore_index=True)
    return table[["model", *TIDY_COLUMNS]]


# --------------------------------------------------------------------------------------------
# Checks at the boundary
# --------------------------------------------------------------------------------------------

def _check_option(name: str, value: object, alias: object) -> str:
    """Raise unless ``value`` is one of the literals of ``alias``; the message lists them."""
    allowed = get_args(alias)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"{name}={value!r} is not allowed; choose one of {choices}")
    return value  # type: ignore[return-value]


def _as_list(columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r} is not allowed; it must lie strictly between 0 and 1")


def _select(data: pd.DataFrame, roles: dict[str, str | list[str] | None]) -> pd.DataFrame:
    """The used columns only, as a new frame; raises if ``data`` lacks any of them."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    wanted: list[str] = []
    for role, cols in roles.items():
        for col in _as_list(cols):
            if not isinstance(col, str):
                raise ParameterError(f"{role} must be given as column names, got {col!r}")
            wanted.append(col)
    missing = [c for c in dict.fromkeys(wanted) if c not in data.columns]
    if missing:
        shown = ", ".join(map(repr, list(data.columns)[:30]))
        raise ValueError(f"column(s) not found in data: {', '.join(map(repr, missing))}; "
                         f"the data has: {shown}")
    return data.loc[:, list(dict.fromkeys(wanted))]


def _check_distinct(**roles: str | list[str] | None) -> None:
    seen: dict[str, str] = {}
    for role, cols in roles.items():
        for col in _as_list(cols):
            if col in seen and seen[col] != role:
                raise ParameterError(f"column {col!r} is given both as {seen[col]} and as {role}")
            seen[col] = role


def _check_missing(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """No silent dropping: any missing value in a used column is an error, with counts."""
    isna = frame.loc[:, list(columns)].isna()
    counts = isna.sum()
    bad = counts[counts > 0]
    if len(bad):
        rows = int(isna.any(axis=1).sum())
        detail = ", ".join(f"{c!r}: {n} rows" for c, n in bad.items())
        raise ValueError(f"missing values in used columns ({detail}); {rows} of {len(frame)} rows "
                         f"affected. Remove or fill them before estimating.")


def _numeric(frame: pd.DataFrame, column: str, role: str) -> np.ndarray:
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise ValueError(f"{role} column {column!r} must be numeric or boolean, found dtype "
                         f"{series.dtype}")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        raise ValueError(f"{role} column {column!r} has {int(np.isinf(values).sum())} infinite values")
    return values


def _binary(frame: pd.DataFrame, column: str, role: str) -> np.ndarray:
    """0/1 float array; raises if not binary or if it never varies."""
    values = _numeric(frame, column, role)
    if not ((values == 0) | (values == 1)).all():
        found = np.unique(values[~np.isnan(values)])[:8]
        raise ValueError(f"{role} column {column!r} must be binary (0/1 or False/True); found "
                         f"values {found.tolist()}")
    if values.min() == values.max():
        raise ValueError(f"{role} column {column!r} never varies: all {len(values)} rows are "
                         f"{int(values[0])}; an effect cannot be estimated")
    return values


def _check_counts(n_treated: int, n_control: int, what: str, control_word: str = "comparison") -> None:
    for count, word in ((n_treated, "treated"), (n_control, control_word)):
        if count < MIN_UNITS:
            raise ValueError(f"only {count} {word} {what}; at least {MIN_UNITS} are needed")


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int32 if len(uniques) < 2**31 else np.int64), len(uniques)


def _row(term: str, est: float, se: float, alpha: float, *, df: float | None = None,
         p: float | None = None, low: float | None = None, high: float | None = None) -> dict:
    """A tidy row; normal (or t with ``df``) inference unless the library already gave it."""
    stat = est / se if se > 0 else np.nan
    dist = stats.norm if df is None else stats.t(df)
    crit = dist.ppf(1 - alpha / 2)
    return {"term": term, "estimate": est, "std_error": se, "statistic": stat,
            "p_value": 2 * dist.sf(abs(stat)) if p is None else p,
            "conf_low": est - crit * se if low is None else low,
            "conf_high": est + crit * se if high is None else high,
            "event_time": np.nan, "group": np.nan}


def _table(rows: list[dict], n_obs: int, method: str, vcov: str, n_clusters: int | None) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    table["n_obs"] = n_obs
    table["method"] = method
    table["vcov"] = vcov
    table["n_clusters"] = pd.array([n_clusters] * len(table), dtype="Int64")
    return table[TIDY_COLUMNS]


# --------------------------------------------------------------------------------------------
# Regression designs (pyfixest)
# --------------------------------------------------------------------------------------------

_VCOV_WORDS = {
    "iid": "iid (homoskedastic)",
    "hc1": "heteroskedasticity-robust HC1",
    "cluster": "cluster-robust CRV1, fixest/Stata small-sample correction",
}


def _feols(formula: str, frame: pd.DataFrame, vcov: str, alpha: float, what: str):
    import pyfixest as pf

    spec = {"iid": "iid", "hc1": "hetero", "cluster": {"CRV1": "cl"}}[vcov]
    with warnings.catch_warnings():
        # pyfixest's own use of pandas' deprecated ``inplace=`` is not the user's concern
        warnings.filterwarnings("ignore", message="The inplace keyword")
        try:
            fit = pf.feols(formula, data=frame, vcov=spec, fixef_rm="none", copy_data=False,
                           store_data=False, lean=True)
        except ValueError as err:
            if "collinear" not in str(err):
                raise
            raise ValueError(_collinear_message(what)) from None
    tidy = fit.tidy(alpha=alpha)
    tidy.columns = ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
    n_clusters = int(frame["cl"].nunique()) if vcov == "cluster" else None
    return tidy, len(frame), n_clusters


def _collinear_message(what: str) -> str:
    return (f"{what} could not be estimated: it is collinear with the other terms or the fixed "
            f"effects (for example it does not vary within units over time)")


def _regression_rows(tidy: pd.DataFrame, names: dict[str, str], headline: str,
                     what: str) -> list[dict]:
    if headline not in tidy.index:
        raise ValueError(_collinear_message(what))
    order = [headline] + [t for t in tidy.index if t != headline and t in names]
    rows = []
    for term in order:
        r = tidy.loc[term]
        rows.append({"term": names[term], **{c: float(r[c]) for c in tidy.columns},
                     "event_time": np.nan, "group": np.nan})
    return rows


def _resolve_vcov(vcov: str | None, cluster: str | None, default: str) -> str:
    if vcov is None:
        return "cluster" if cluster is not None else default
    _check_option("vcov", vcov, VcovType)
    if vcov == "cluster" and cluster is None:
        raise ParameterError("vcov='cluster' needs a cluster column; pass cluster=...")
    if vcov != "cluster" and cluster is not None:
        raise ParameterError(f"cluster={cluster!r} was given together with vcov={vcov!r}; drop one")
    return vcov


def did_2x2(data: pd.DataFrame, outcome: str, group: str, post: str, cluster: str | None = None,
            covariates: str | Sequence[str] | None = None, *, vcov: VcovType | None = None,
            alpha: float = 0.05, wild_below: int | None = inference.WILD_BELOW) -> Estimate:
    """Two-group, two-period difference-in-differences by OLS (Card & Krueger 1994).

    Fits ``outcome ~ group + post + group:post + covariates`` with pyfixest ``feols``; the
    headline is the ``group:post`` coefficient. Works for panels and repeated cross sections.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (and period); not modified.
    outcome, group, post : str
        Outcome column; binary treated-group and post-period columns (0/1 or bool).
    cluster : str, optional
        Cluster column. With it, standard errors are CRV1 with the fixest/Stata small-sample
        correction ``G/(G-1)*(N-1)/(N-K)``; without it they are heteroskedasticity-robust HC1
        (``N/(N-K)``).
    covariates : str or list of str, optional
        Extra regressors, entered linearly.
    vcov : {"iid", "hc1", "cluster"}, optional
        Override the default above (``"iid"`` reproduces textbook OLS standard errors).
    alpha : float
        Confidence level is ``1 - alpha``; p-values and intervals use the t distribution
        (``G - 1`` degrees of freedom when clustered).
    wild_below : int or None
        With fewer clusters than this (default 50), ``Estimate.wild_bootstrap`` also reports the
        restricted wild cluster bootstrap p-value and interval of the interaction (Webb weights,
        :func:`analysis.estimators.inference.wild_cluster_bootstrap`); ``None`` never does.

    Returns
    -------
    Estimate
        Row 0 is ``"<group>:<post>"``; the main effects and covariates follow.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"treated": np.repeat([0, 1], 200), "post": np.tile([0, 1], 200)})
    >>> df["net_income_pc"] = 9000 + 500 * df.treated * df.post + rng.normal(0, 300, 400)
    >>> round(did_2x2(df, "net_income_pc", "treated", "post").estimate, -2)
    500.0
    """
    _check_alpha(alpha)
    covs = _as_list(covariates)
    _check_distinct(outcome=outcome, group=group, post=post, covariates=covs, cluster=cluster)
    frame = _select(data, {"outcome": outcome, "group": group, "post": post,
                           "covariates": covs, "cluster": cluster})
    _check_missing(frame, frame.columns)
    vcov = _resolve_vcov(vcov, cluster, "hc1")
    work = pd.DataFrame({"y": _numeric(frame, outcome, "outcome"),
                         "g": _binary(frame, group, "group"), "p": _binary(frame, post, "post")})
    for i, c in enumerate(covs):
        work[f"x{i}"] = _numeric(frame, c, "covariate")
    n_clusters = None
    if cluster is not None:
        work["cl"], n_clusters = _codes(frame[cluster])
    _check_cells(work, group, post, cluster)
    fml = "y ~ g + p + g:p" + "".join(f" + x{i}" for i in range(len(covs)))
    what = f"the {group}:{post} interaction"
    tidy, n_obs, n_clusters = _feols(fml, work, vcov, alpha, what)
    names = {"g:p": f"{group}:{post}", "g": group, "p": post,
             **{f"x{i}": c for i, c in enumerate(covs)}}
    method = "2x2 difference-in-differences (OLS)"
    rows = _regression_rows(tidy, names, "g:p", what)
    table = _table(rows, n_obs, method, _VCOV_WORDS[vcov], n_clusters)
    wild, notes = None, ()
    if _wants_wild(vcov, n_clusters, wild_below):
        g, p = work["g"].to_numpy(), work["p"].to_numpy()
        x = np.column_stack([np.ones(len(work)), g, p, g * p,
                             *(work[f"x{i}"].to_numpy() for i in range(len(covs)))])
        wild, notes = _wild_table(table, x, work["y"].to_numpy(), work["cl"].to_numpy(), 3,
                                  None, alpha, wild_below)
    return Estimate(table, method, n_obs, _VCOV_WORDS[vcov], alpha, n_clusters=n_clusters,
                    wild_bootstrap=wild, notes=notes)


def _p_words(p: float, reps: int) -> str:
    return f"p = {p:.3g}" if p > 0 else f"p < {1 / reps:.2g}"


def _wants_wild(vcov: str, n_clusters: int | None, wild_below: int | None) -> bool:
    if wild_below is not None and (not isinstance(wild_below, int) or wild_below < 0):
        raise ParameterError(f"wild_below={wild_below!r} is not allowed; give a number of "
                             f"clusters (default {inference.WILD_BELOW}) or None")
    return vcov == "cluster" and wild_below is not None and n_clusters is not None \
        and n_clusters < wild_below


def _wild_table(table: pd.DataFrame, x: np.ndarray, y: np.ndarray, clusters: np.ndarray,
                coefficient: int, absorb: np.ndarray | None, alpha: float,
                wild_below: int) -> tuple[pd.DataFrame | None, tuple[str, ...]]:
    """The wild cluster bootstrap row beside the CRV1 figures of the headline term."""
    head = table.iloc[0]
    try:
        res = inference.wild_cluster_bootstrap(x, y, clusters, coefficient, absorb=absorb,
                                               alpha=alpha)
    except (ValueError, np.linalg.LinAlgError) as err:
        return None, (f"wild cluster bootstrap not computed: {err}",)
    row = {"term": head["term"], "estimate": head["estimate"],
           "crv1_std_error": head["std_error"], "crv1_p_value": head["p_value"],
           "crv1_conf_low": head["conf_low"], "crv1_conf_high": head["conf_high"],
           "wild_p_value": res.p_value, "wild_conf_low": res.conf_low,
           "wild_conf_high": res.conf_high, "weights": res.weights, "reps": res.reps,
           "full_enumeration": res.full_enumeration, "n_clusters": res.n_clusters}
    note = (f"only {res.n_clusters} clusters (fewer than {wild_below}): cluster-robust tests "
            f"over-reject, so a restricted wild cluster bootstrap ({res.weights} weights, "
            f"{res.reps} draws) is reported beside them: "
            f"{_p_words(res.p_value, res.reps)}, "
            f"{100 * (1 - alpha):g}% interval [{res.conf_low:.4g}, {res.conf_high:.4g}]")
    return pd.DataFrame([row]), (note,)


def _check_cells(work: pd.DataFrame, group: str, post: str, cluster: str | None) -> None:
    cells = work.groupby(["g", "p"]).size()
    for g in (0, 1):
        for p in (0, 1):
            if cells.get((g, p), 0) == 0:
                raise ValueError(f"no rows with {group}={g} and {post}={p}; the 2x2 design needs "
                                 f"all four group-by-period cells")
    if cluster is None:
        n1, n0 = int((work.g == 1).sum()), int((work.g == 0).sum())
        _check_counts(n1, n0, f"rows ({group}=1 vs {group}=0)", "control")
    else:
        per = work.groupby("g")["cl"].nunique()
        _check_counts(int(per.get(1, 0)), int(per.get(0, 0)), f"clusters ({cluster})", "control")


def twfe(data: pd.DataFrame, outcome: str, treatment: str, unit: str, time: str,
         covariates: str | Sequence[str] | None = None, cluster: str | None = None, *,
         vcov: VcovType | None = None, alpha: float = 0.05,
         wild_below: int | None = inference.WILD_BELOW) -> Estimate:
    """Static two-way fixed effects regression ``outcome ~ treatment + covariates | unit + time``.

    Numerics by pyfixest ``feols`` (alternating projections, as R's fixest; Berge 2018).
    With staggered adoption and effects that change over time this coefficient is a weighted
    average of 2x2 comparisons, some against already-treated units, and can be far from any
    average effect (Goodman-Bacon 2021; de Chaisemartin & D'Haultfoeuille 2020); use
    :func:`staggered_did` for such designs.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and period; not modified. Only the used columns are read.
    outcome, treatment, unit, time : str
        Outcome, binary treatment indicator (0/1 or bool), unit id and period columns.
    covariates : str or list of str, optional
        Time-varying regressors.
    cluster : str, optional
        Cluster column; defaults to ``unit``. CRV1 with the fixest/Stata correction
        ``G/(G-1)*(N-1)/(N-K)``, ``K`` not counting unit effects nested in the clusters.
    vcov : {"iid", "hc1", "cluster"}, optional
        ``"iid"`` or ``"hc1"`` instead of clustering (then ``cluster`` must be left out).
    alpha : float
        Confidence level is ``1 - alpha`` (t distribution; ``G - 1`` df when clustered).
    wild_below : int or None
        With fewer clusters than this (default 50), ``Estimate.wild_bootstrap`` also reports the
        restricted wild cluster bootstrap p-value and interval of the treatment coefficient
        (Webb weights; unit effects partialled out, which is exact when units are nested in the
        clusters; period effects as dummies); ``None`` never does.

    Returns
    -------
    Estimate
        Row 0 is the treatment coefficient, covariates follow.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"household_id": np.repeat(np.arange(300), 4),
    ...                    "year": np.tile([2021, 2022, 2023, 2024], 300)})
    >>> df["workshop_job"] = (df.household_id < 100) & (df.year >= 2023)
    >>> df["wage"] = rng.normal(0, 1, 300)[df.household_id] + 2.0 * df.workshop_job
    >>> round(twfe(df, "wage", "workshop_job", "household_id", "year").estimate, 6)
    2.0
    """
    _check_alpha(alpha)
    covs = _as_list(covariates)
    if vcov is None or vcov == "cluster":
        cluster = unit if cluster is None else cluster
    _check_distinct(outcome=outcome, treatment=treatment, unit=unit, time=time, covariates=covs)
    frame = _select(data, {"outcome": outcome, "treatment": treatment, "unit": unit, "time": time,
                           "covariates": covs, "cluster": cluster})
    _check_missing(frame, frame.columns)
    vcov = _resolve_vcov(vcov, cluster, "cluster")
    work = pd.DataFrame({"y": _numeric(frame, outcome, "outcome"),
                         "d": _binary(frame, treatment, "treatment")})
    work["u"], n_units = _codes(frame[unit])
    work["t"], _ = _codes(frame[time])
    for i, c in enumerate(covs):
        work[f"x{i}"] = _numeric(frame, c, "covariate")
    if cluster is not None:
        work["cl"] = work["u"] if cluster == unit else _codes(frame[cluster])[0]
    del frame
    ever = np.bincount(work["u"].to_numpy(), weights=work["d"].to_numpy(), minlength=n_units) > 0
    ever_untreated = np.bincount(work["u"].to_numpy(), weights=1 - work["d"].to_numpy(),
                                 minlength=n_units) > 0
    # comparison units: untreated in at least one period (never or not yet treated)
    _check_counts(int(ever.sum()), int(ever_untreated.sum()), f"units ({unit})")
    fml = "y ~ d" + "".join(f" + x{i}" for i in range(len(covs))) + " | u + t"
    what = f"treatment {treatment!r}"
    tidy, n_obs, n_clusters = _feols(fml, work, vcov, alpha, what)
    names = {"d": treatment, **{f"x{i}": c for i, c in enumerate(covs)}}
    method = "two-way fixed effects (unit and period effects)"
    rows = _regression_rows(tidy, names, "d", what)
    table = _table(rows, n_obs, method, _VCOV_WORDS[vcov], n_clusters)
    wild, notes = None, ()
    if _wants_wild(vcov, n_clusters, wild_below):
        t = work["t"].to_numpy()
        x = np.column_stack([work["d"].to_numpy(),
                             *(work[f"x{i}"].to_numpy() for i in range(len(covs))),
                             *((t == level).astype(float) for level in range(1, t.max() + 1))])
        wild, notes = _wild_table(table, x, work["y"].to_numpy(), work["cl"].to_numpy(), 0,
                                  work["u"].to_numpy(), alpha, wild_below)
    return Estimate(table, method, n_obs, _VCOV_WORDS[vcov], alpha, n_units=n_units,
                    n_clusters=n_clusters, wild_bootstrap=wild, notes=notes)


# --------------------------------------------------------------------------------------------
# Staggered adoption (moderndid: Callaway & Sant'Anna 2021)
# --------------------------------------------------------------------------------------------

_MD_CONTROL = {"never_treated": "nevertreated", "not_yet_treated": "notyettreated"}
_MD_AGGREGATION = {"simple": "simple", "event": "dynamic", "group": "group"}


def staggered_did(data: pd.DataFrame, outcome: str, unit: str, time: str, first_treated: str,
                  control_group: ControlGroup = "never_treated",
                  aggregation: Aggregation = "simple",
                  covariates: str | Sequence[str] | None = None, cluster: str | None = None, *,
                  estimator: GroupTimeEstimator = "dr", alpha: float = 0.05,
                  allow_unbalanced: bool = False) -> Estimate:
    """Group-time average treatment effects and their aggregations (Callaway & Sant'Anna 2021).

    ATT(g, t) is estimated by moderndid's ``att_gt`` (doubly robust by default, Sant'Anna & Zhao
    2020) against never-treated or not-yet-treated units, with a varying base period, and
    aggregated by ``aggte``: ``"simple"`` (post-treatment cells weighted by cohort size),
    ``"event"`` (by time since adoption; the headline averages event times >= 0) or
    ``"group"`` (by cohort; the headline averages cohorts).

    Standard errors are analytic, from moderndid's influence functions:
    ``se = sqrt(sum_c (sum_{i in c} psi_i)^2) / n`` over clusters ``c``. With no ``cluster``
    each unit is its own cluster and this equals moderndid's analytic standard error; moderndid
    itself clusters above the unit only by the multiplier bootstrap, so the cluster sums are done
    here. Intervals and p-values are pointwise normal.

    ``pretrend`` holds a Wald test that all pre-treatment ATT(g, t) are zero,
    ``W = a' V^{-1} a ~ chi2(len(a))`` with ``V`` the (cluster-robust) influence-function
    covariance; it equals the pre-test R's ``did`` prints when there is no ``cluster``
    (moderndid skips it when clustering above the unit, hence computed here).

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and period; not modified.
    outcome, unit, time : str
        Outcome, unit id and (numeric) period columns.
    first_treated : str
        Period of first treatment; 0 or missing means never treated. Values after the last
        period are treated as never treated; units treated in the first period or earlier cannot
        be used (no untreated period) and are set aside; both are reported in ``notes``.
    control_group : {"never_treated", "not_yet_treated"}
    aggregation : {"simple", "event", "group"}
    covariates : str or list of str, optional
        Pre-treatment covariates for conditional parallel trends (values from the base period).
    cluster : str, optional
        Time-invariant cluster column coarser than ``unit`` (for example ``village``).
    estimator : {"dr", "ipw", "reg"}
        Two-group, two-period estimator used for each ATT(g, t).
    alpha : float
        Confidence level is ``1 - alpha``.
    allow_unbalanced : bool
        Keep an unbalanced panel (moderndid's unbalanced-panel estimator) instead of refusing it.

    Returns
    -------
    Estimate
        ``group_time`` (ATT(g, t) table), ``pretrend`` (dict), ``event_study`` when
        ``aggregation="event"``, ``group_effects`` when ``aggregation="group"``.

    Examples
    --------
    >>> from moderndid import load_mpdta
    >>> mpdta = load_mpdta().to_pandas()
    >>> est = staggered_did(mpdta, "lemp", "countyreal", "year", "first.treat", aggregation="event")
    >>> est.event_study.event_time.tolist()
    [-3, -2, -1, 0, 1, 2, 3]
    """
    _check_option("control_group", control_group, ControlGroup)
    _check_option("aggregation", aggregation, Aggregation)
    _check_option("estimator", estimator, GroupTimeEstimator)
    _check_alpha(alpha)
    covs = _as_list(covariates)
    _check_distinct(outcome=outcome, unit=unit, time=time, first_treated=first_treated,
                    covariates=covs)
    frame = _select(data, {"outcome": outcome, "unit": unit, "time": time,
                           "first_treated": first_treated, "covariates": covs, "cluster": cluster})
    _check_missing(frame, [c for c in frame.columns if c != first_treated])
    work, notes = _staggered_frame(frame, outcome, unit, time, first_treated, covs, cluster,
                                   allow_unbalanced)
    n_treated = int(work.loc[work.g > 0, "id"].nunique())
    if control_group == "never_treated":
        n_control = int(work.loc[work.g == 0, "id"].nunique())
        word = "never-treated"
    else:
        first = work.loc[work.g > 0, "g"].min() if n_treated else np.inf
        n_control = int(work.loc[(work.g == 0) | (work.g > first), "id"].nunique())
        word = "never- or not-yet-treated"
    _check_counts(n_treated, n_control, f"units ({unit})", word)
    mp, agg = _run_moderndid(work, control_group, aggregation, covs, cluster is not None and
                             cluster != unit, estimator, alpha, allow_unbalanced)
    clusters = mp.estimation_params.get("cluster") if cluster not in (None, unit) else None
    return _staggered_estimate(mp, agg, clusters, aggregation, control_group, estimator, alpha,
                               len(work), cluster, notes)


def _staggered_frame(frame, outcome, unit, time, first_treated, covs, cluster, allow_unbalanced):
    """Internal frame with safe names (y, id, t, g, x0.., cl) and the checks on timing."""
    notes: list[str] = []
    t = _numeric(frame, time, "time")
    g = _numeric(frame, first_treated, "first_treated")
    g = np.where(np.isnan(g), 0.0, g)
    work = pd.DataFrame({"y": _numeric(frame, outcome, "outcome"), "t": t, "g": g})
    work["id"] = _codes(frame[unit])[0] + 1
    for i, c in enumerate(covs):
        work[f"x{i}"] = _numeric(frame, c, "covariate")
    if cluster is not None and cluster != unit:
        work["cl"] = _codes(frame[cluster])[0]
        if (work.groupby("id")["cl"].nunique() > 1).any():
            raise ValueError(f"cluster column {cluster!r} changes within a unit; it must be fixed "
                             f"per {unit!r} (for example village or county)")
    if (work.groupby("id")["g"].nunique() > 1).any():
        bad = int((work.groupby("id")["g"].nunique() > 1).sum())
        raise ValueError(f"first_treated column {first_treated!r} varies within {bad} units; it "
                         f"must be one value per {unit!r}")
    if work.duplicated(["id", "t"]).any():
        raise ValueError(f"{int(work.duplicated(['id', 't']).sum())} duplicate ({unit}, {time}) "
                         f"rows; the panel needs one row per unit and period")
    periods = np.sort(work.t.unique())
    per_unit = work.groupby("id").size()
    if not allow_unbalanced and (per_unit != len(periods)).any():
        raise ValueError(f"unbalanced panel: {int((per_unit != len(periods)).sum())} of "
                         f"{len(per_unit)} units are not observed in all {len(periods)} periods; "
                         f"balance it first or pass allow_unbalanced=True")
    late = work.g > periods.max()
    if late.any():
        notes.append(f"{work.loc[late, 'id'].nunique()} units first treated after the last "
                     f"period ({periods.max():g}) are used as never treated")
        work.loc[late, "g"] = 0.0
    off_grid = (work.g > 0) & ~work.g.isin(periods)
    if off_grid.any():
        raise ValueError(f"first_treated values {sorted(work.loc[off_grid, 'g'].unique())[:5]} are "
                         f"not among the observed periods of {time!r}")
    early = (work.g > 0) & (work.g <= periods.min())
    if early.any():
        n_early = work.loc[early, "id"].nunique()
        message = (f"{n_early} units treated in the first period ({periods.min():g}) or earlier "
                   f"have no untreated period and are set aside")
        warnings.warn(message, UserWarning, stacklevel=3)
        notes.append(message)
        work = work[~early]
    return work, notes


def _run_moderndid(work, control_group, aggregation, covs, clustered, estimator, alpha, unbalanced):
    import moderndid as md

    xformla = "~ " + " + ".join(f"x{i}" for i in range(len(covs))) if covs else None
    with warnings.catch_warnings():
        # Clustered standard errors are computed here from the influence functions, so
        # moderndid's notices that it clusters only by bootstrap do not apply.
        warnings.filterwarnings("ignore", message=".*(bootstrap|Wald pre-test).*")
        mp = md.att_gt(data=work, yname="y", tname="t", idname="id", gname="g", xformla=xformla,
                       alp=alpha, cband=False, boot=False, est_method=estimator,
                       control_group=_MD_CONTROL[control_group],
                       clustervars=["cl"] if clustered else None,
                       allow_unbalanced_panel=unbalanced)
        agg = md.aggte(mp, type=_MD_AGGREGATION[aggregation], boot=False, cband=False, alp=alpha,
                       na_rm=True)
    return mp, agg


def _if_se(influence: np.ndarray, n: int, clusters: np.ndarray | None) -> np.ndarray:
    """Standard errors from influence functions ``psi`` (n x k), summed within clusters."""
    sums = _cluster_sums(np.atleast_2d(influence.T).T, clusters)
    return np.sqrt((sums ** 2).sum(axis=0)) / n


def _cluster_sums(influence: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    if clusters is None:
        return influence
    codes, uniques = pd.factorize(np.asarray(clusters))
    out = np.zeros((len(uniques), influence.shape[1]))
    np.add.at(out, codes, influence)
    return out


def _pretrend(att: np.ndarray, influence: np.ndarray, pre: np.ndarray, n: int,
              clusters: np.ndarray | None) -> dict:
    keep = pre & np.isfinite(att)
    result = {"test": "Wald chi-square: all pre-treatment ATT(g,t) = 0", "df": int(keep.sum()),
              "statistic": np.nan, "p_value": np.nan, "note": ""}
    if not keep.any():
        result["note"] = "no pre-treatment ATT(g,t) to test (every cohort starts in period 2)"
        return result
    sums = _cluster_sums(influence[:, keep], clusters)
    vcov = sums.T @ sums / n ** 2
    if np.linalg.matrix_rank(vcov) < vcov.shape[0]:
        result["note"] = "pre-treatment covariance is singular; no test reported"
        return result
    stat = float(att[keep] @ np.linalg.solve(vcov, att[keep]))
    result.update(statistic=stat, p_value=float(stats.chi2.sf(stat, keep.sum())))
    return result


def _staggered_estimate(mp, agg, clusters, aggregation, control_group, estimator, alpha, n_obs,
                        cluster, notes) -> Estimate:
    n = int(mp.n_units)
    att = np.asarray(mp.att_gt, dtype=float)
    influence = np.asarray(mp.influence_func, dtype=float)
    se_gt = _if_se(influence, n, clusters)
    crit = stats.norm.ppf(1 - alpha / 2)
    group_time = pd.DataFrame({"group": mp.groups, "time": mp.times, "estimate": att,
                               "std_error": se_gt, "conf_low": att - crit * se_gt,
                               "conf_high": att + crit * se_gt,
                               "period": np.where(mp.groups > mp.times, "pre", "post")})
    group_time["p_value"] = 2 * stats.norm.sf(np.abs(att / se_gt))
    if np.isnan(att).any():
        notes = [*notes, f"{int(np.isnan(att).sum())} ATT(g,t) cells could not be estimated "
                         f"(too few units) and are left out of the aggregation"]
    overall_if = agg.influence_func_overall if agg.influence_func_overall is not None \
        else agg.influence_func
    rows = [_row("att", float(agg.overall_att), float(_if_se(np.asarray(overall_if), n,
                                                              clusters)[0]), alpha)]
    if aggregation != "simple":
        key = "event_time" if aggregation == "event" else "group"
        ses = _if_se(np.asarray(agg.influence_func, dtype=float), n, clusters)
        for value, est, se in zip(agg.event_times, agg.att_by_event, ses):
            label = int(value) if float(value).is_integer() else float(value)
            row = _row(f"{key}={label}", float(est), float(se), alpha)
            row[key] = label
            rows.append(row)
    vcov = ("influence-function, " + (f"clustered by {cluster}" if clusters is not None
                                      else "clustered by unit"))
    method = (f"Callaway & Sant'Anna (2021), {estimator} ATT(g,t), "
              f"{control_group.replace('_', '-')} controls, {aggregation} aggregation")
    pretrend = _pretrend(att, influence, np.asarray(mp.groups > mp.times), n, clusters)
    n_clusters = None if clusters is None else int(len(np.unique(clusters)))
    return Estimate(_table(rows, n_obs, method, vcov, n_clusters), method, n_obs, vcov, alpha,
                    n_units=n, n_clusters=n_clusters, group_time=group_time, pretrend=pretrend,
                    notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# Selection on observables: propensity-score weighting and matching
# --------------------------------------------------------------------------------------------

def att_weighting(data: pd.DataFrame, outcome: str, treatment: str,
                  covariates: str | Sequence[str], method: WeightingMethod = "dr", *,
                  trim_level: float | None = TRIM_LEVEL, alpha: float = 0.05) -> Estimate:
    """Average effect on the treated under selection on observables.

    The propensity score is a logit of ``treatment`` on an intercept and ``covariates``
    (statsmodels), clipped to ``[1e-6, 1 - 1e-6]``. Methods:

    * ``"ipw"``: normalised (Hajek) ATT weights ``p/(1-p)`` on controls (Hirano, Imbens & Ridder
      2003). Standard error from the influence function of the stacked moment conditions
      (logit score and weighted means), so it accounts for the estimated score.
    * ``"dr"``: doubly robust ATT of Sant'Anna & Zhao (2020, eq. 3.1 in a single period):
      control-group OLS outcome model plus normalised ATT weights; consistent if either model is
      right. Standard error from the stacked influence function (logit, OLS and weighted means).
    * ``"psm"``: one-to-one nearest-neighbour matching on the estimated score, with
      replacement, ties averaged (Rosenbaum & Rubin 1983). Standard error: Abadie & Imbens
      (2006) matching variance with conditional variances from the
      ``VARIANCE_NEIGHBOURS`` nearest same-arm units. It treats the score as known; for the ATT
      the correction for its estimation can go either way (Abadie & Imbens 2016), and the
      bootstrap is not valid for this estimator (Abadie & Imbens 2008), so none is offered.

    **Overlap.** For the ATT only the upper tail of the score matters: a control with a score
    near 0 receives a weight ``p/(1-p)`` near 0 and is harmless, while a unit with a score near 1
    has (almost) no comparable control. Units whose score is at or above ``trim_level`` are
    therefore set aside on both sides:

    * controls, exactly as DRDID does (Sant'Anna & Zhao 2020, R package ``DRDID``, argument
      ``trim.level = 0.995``; moderndid's ``drdid_panel`` the same): their weight is zero;
    * treated units, whose comparable controls were just set aside: the estimand becomes the
      effect on the treated with scores below ``trim_level``, the limited-overlap subpopulation
      of Crump, Hotz, Imbens & Mitnik (2009), restricted to the upper tail as the ATT requires.

    The logit (and the DR outcome model on the controls) are fitted on all units, as in DRDID;
    with no treated unit above ``trim_level`` the results equal DRDID's. The counts on each side
    are in ``Estimate.overlap`` and, when a unit was set aside, in ``notes``. The estimator
    refuses only when fewer than :data:`MIN_UNITS` treated (or controls) are left, that is when
    the treated cannot be compared with anyone.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; not modified.
    outcome, treatment : str
        Outcome and binary treatment columns.
    covariates : str or list of str
        Numeric pre-treatment covariates (encode categories as 0/1 columns).
    method : {"ipw", "dr", "psm"}
    trim_level : float or None
        Score at or above which units are set aside (default 0.995, DRDID's); ``None`` keeps
        every unit (scores are still clipped).
    alpha : float
        Confidence level is ``1 - alpha``; normal intervals.

    Returns
    -------
    Estimate
        One ``"att"`` row; ``balance`` compares covariates before and after weighting (matching
        weights for ``"psm"``), over the units kept; ``overlap`` counts the units set aside;
        ``propensity`` holds every unit's score; ``influence`` the influence function
        (``"ipw"`` and ``"dr"``).

    Raises
    ------
    ValueError
        If fewer than :data:`MIN_UNITS` treated units (or controls) have scores below
        ``trim_level``, for example when the covariates separate the arms perfectly.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=2000)
    >>> d = rng.random(2000) < 1 / (1 + np.exp(-x))
    >>> df = pd.DataFrame({"trained": d, "age_std": x, "wage": 1.0 * d + 2 * x + rng.normal(size=2000)})
    >>> abs(att_weighting(df, "wage", "trained", ["age_std"]).estimate - 1.0) < 0.2
    True
    """
    _check_option("method", method, WeightingMethod)
    _check_alpha(alpha)
    if trim_level is not None and not 0.5 < trim_level < 1:
        raise ParameterError(f"trim_level={trim_level!r} is not allowed; it must lie between 0.5 "
                             f"and 1 (DRDID's default is {TRIM_LEVEL}), or be None")
    covs = _as_list(covariates)
    if not covs:
        raise ParameterError("covariates must name at least one column for the propensity score")
    _check_distinct(outcome=outcome, treatment=treatment, covariates=covs)
    frame = _select(data, {"outcome": outcome, "treatment": treatment, "covariates": covs})
    _check_missing(frame, frame.columns)
    y = _numeric(frame, outcome, "outcome")
    d = _binary(frame, treatment, "treatment")
    _check_counts(int(d.sum()), int((1 - d).sum()), "units", "control")
    x = np.column_stack([np.ones(len(d))] + [_numeric(frame, c, "covariate") for c in covs])
    p, notes = _propensity(d, x, covs)
    keep = np.ones(len(d), bool) if trim_level is None else p < trim_level
    overlap = _overlap_table(d, p, keep, trim_level)
    _check_overlap(overlap, trim_level, covs)
    notes += _overlap_notes(overlap, trim_level)
    influence = None
    if method == "psm":
        att, se, weights = _psm(y[keep], d[keep], p[keep])
        weights = _spread(weights, keep)
    else:
        att, influence, weights = (_ipw if method == "ipw" else _dr)(y, d, x, p, keep)
        se = float(np.sqrt((influence ** 2).sum()) / len(y))
    words = {"ipw": "normalised inverse-probability weighting (ATT)",
             "dr": "doubly robust ATT (Sant'Anna & Zhao 2020)",
             "psm": "1-nearest-neighbour propensity-score matching with replacement (ATT)"}
    vcov = ("Abadie-Imbens matching variance, score treated as known" if method == "psm"
            else "influence function, stacked with the logit score")
    table = _table([_row("att", att, se, alpha)], len(y), words[method], vcov, None)
    weighted = frame.assign(**{"__w": weights})[keep]
    bal = balance(weighted, treatment, covs, weights="__w")
    return Estimate(table, words[method], len(y), vcov, alpha, balance=bal, propensity=p,
                    overlap=overlap, notes=tuple(notes), influence=influence)


def _propensity(d: np.ndarray, x: np.ndarray, covs: list[str]) -> tuple[np.ndarray, list[str]]:
    """Logit fitted scores clipped to ``[PS_BOUND, 1 - PS_BOUND]``, and notes for the reader.

    Raises on a singular design and on complete separation (every unit predicted exactly: no
    treated unit resembles any control). Quasi-separation, where only some units are predicted
    exactly, is left to the trimming: their scores sit at the bounds.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError(f"covariates {covs} are collinear (or one is constant); drop the redundant "
                         f"ones before estimating the propensity score")
    separated = (f"the propensity score separates treated and control units perfectly on {covs}: "
                 f"no treated unit resembles any control, so the effect on the treated cannot be "
                 f"estimated; drop or coarsen the covariates that predict treatment exactly")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = sm.Logit(d, x).fit(disp=0, method="newton", maxiter=100)
        except (PerfectSeparationError, np.linalg.LinAlgError):
            raise ValueError(separated) from None
    raw = np.asarray(fit.predict(x))
    if np.all(np.abs(raw - d) < PS_BOUND):
        raise ValueError(separated)
    notes = []
    if not fit.mle_retvals.get("converged", True) or any(
            "separation" in str(w.message).lower() for w in caught):
        notes.append(f"the propensity-score logit on {covs} did not converge (some units are "
                     f"predicted almost exactly); their scores are clipped to "
                     f"[{PS_BOUND:g}, {1 - PS_BOUND:g}] and trimmed")
    return np.clip(raw, PS_BOUND, 1 - PS_BOUND), notes


def _overlap_table(d: np.ndarray, p: np.ndarray, keep: np.ndarray,
                   trim_level: float | None) -> pd.DataFrame:
    rows = []
    for arm, mask in (("treated", d == 1), ("control", d == 0)):
        rows.append({"arm": arm, "units": int(mask.sum()), "trimmed": int((mask & ~keep).sum()),
                     "used": int((mask & keep).sum()), "score_min": float(p[mask].min()),
                     "score_max": float(p[mask].max()),
                     "trim_level": np.nan if trim_level is None else float(trim_level)})
    return pd.DataFrame(rows)


def _check_overlap(overlap: pd.DataFrame, trim_level: float | None, covs: list[str]) -> None:
    treated, control = overlap.iloc[0], overlap.iloc[1]
    if treated["used"] < MIN_UNITS:
        raise ValueError(
            f"the treated cannot be matched: {int(treated['trimmed'])} of {int(treated['units'])} "
            f"treated units have propensity scores of at least {trim_level} given {covs}, so almost "
            f"no control resembles them and only {int(treated['used'])} would be left (at least "
            f"{MIN_UNITS} are needed); use fewer or coarser covariates or a comparison group closer "
            f"to the treated")
    if control["used"] < MIN_UNITS:
        raise ValueError(
            f"only {int(control['used'])} of {int(control['units'])} controls have propensity "
            f"scores below {trim_level} given {covs}; at least {MIN_UNITS} are needed")


def _overlap_notes(overlap: pd.DataFrame, trim_level: float | None) -> list[str]:
    notes = []
    for _, row in overlap.iterrows():
        if row["trimmed"]:
            notes.append(f"{int(row['trimmed'])} of {int(row['units'])} {row['arm']} units with "
                         f"propensity scores of at least {trim_level} were set aside (trimmed)")
    if overlap["trimmed"].iat[0]:
        notes.append("the estimate is the effect on the treated with propensity scores below "
                     f"{trim_level}, not on all treated")
    return notes


def _spread(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Values of the kept rows back in full length, zero on the rows set aside."""
    out = np.zeros(len(keep))
    out[keep] = values
    return out


def _ps_linear(d: np.ndarray, x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Influence of the logit coefficients, n x k: score times inverse mean Hessian."""
    hessian = (x * (p * (1 - p))[:, None]).T @ x / len(d)
    return ((d - p)[:, None] * x) @ np.linalg.inv(hessian)


def _ipw(y, d, x, p, keep):
    """Hajek ATT over the kept units and its influence function (stacked with the logit score)."""
    w1, w0 = d * keep, keep * p * (1 - d) / (1 - p)
    m1, m0 = w1.mean(), w0.mean()
    eta1, eta0 = (w1 * y).mean() / m1, (w0 * y).mean() / m0
    psi1 = w1 * (y - eta1) / m1
    gradient = ((w0 * (y - eta0))[:, None] * x).mean(axis=0)  # d w0 / d gamma = w0 * x
    psi0 = (w0 * (y - eta0) + _ps_linear(d, x, p) @ gradient) / m0
    return float(eta1 - eta0), psi1 - psi0, w1 + w0


def _dr(y, d, x, p, keep):
    """Sant'Anna & Zhao (2020) doubly robust ATT over the kept units and its influence function.

    The outcome model is fitted on all controls, as DRDID does; trimming acts on the weights.
    """
    control = d == 0
    beta = np.linalg.lstsq(x[control], y[control], rcond=None)[0]
    resid = y - x @ beta
    ols_linear = (((1 - d) * resid)[:, None] * x) @ np.linalg.inv(x[control].T @ x[control] / len(y))
    w1, w0 = d * keep, keep * p * (1 - d) / (1 - p)
    m1, m0 = w1.mean(), w0.mean()
    eta1, eta0 = (w1 * resid).mean() / m1, (w0 * resid).mean() / m0
    psi1 = (w1 * (resid - eta1) - ols_linear @ (w1[:, None] * x).mean(axis=0)) / m1
    psi0 = (w0 * (resid - eta0)
            + _ps_linear(d, x, p) @ ((w0 * (resid - eta0))[:, None] * x).mean(axis=0)
            - ols_linear @ (w0[:, None] * x).mean(axis=0)) / m0
    return float(eta1 - eta0), psi1 - psi0, w1 + w0


def _psm(y, d, p):
    """Nearest-neighbour matching on ``p`` with replacement; ATT, Abadie-Imbens SE, weights."""
    treated, control = d == 1, d == 0
    order = np.argsort(p[control], kind="stable")
    pc, yc = p[control][order], y[control][order]
    pt = p[treated]
    y0_hat, k, k2 = _match_nearest(pt, pc, yc)
    att = float((y[treated] - y0_hat).mean())
    sigma2 = _same_arm_variance(pc, yc, VARIANCE_NEIGHBOURS)
    n1 = treated.sum()
    variance = (((y[treated] - y0_hat - att) ** 2).sum() + ((k ** 2 - k2) * sigma2).sum()) / n1 ** 2
    weights = d.astype(float)
    control_weights = np.empty(len(order))
    control_weights[order] = k
    weights[control] = control_weights
    return att, float(np.sqrt(variance)), weights


def _match_nearest(pt: np.ndarray, pc: np.ndarray, yc: np.ndarray):
    """For each treated score, the mean outcome of the nearest controls (ties share the match).

    ``pc`` sorted ascending. Returns imputed ``Y(0)`` per treated unit and, per sorted control,
    ``K`` (times used, fractional under ties) and ``K'`` (sum of squared match weights).
    """
    n0 = len(pc)
    pos = np.searchsorted(pc, pt)
    left, right = np.clip(pos - 1, 0, n0 - 1), np.clip(pos, 0, n0 - 1)
    dl, dr = np.abs(pt - pc[left]), np.abs(pc[right] - pt)
    use_l, use_r = dl <= dr, dr <= dl
    use_r &= ~(use_l & (pc[left] == pc[right]))
    runs = []
    for use, idx in ((use_l, left), (use_r, right)):
        value = pc[idx]
        lo, hi = np.searchsorted(pc, value, "left"), np.searchsorted(pc, value, "right")
        runs.append((use, lo, np.where(use, hi, lo)))
    count = sum(hi - lo for _, lo, hi in runs)
    cum = np.concatenate([[0.0], np.cumsum(yc)])
    y0_hat = sum(cum[hi] - cum[lo] for _, lo, hi in runs) / count
    k, k2 = np.zeros(n0 + 1), np.zeros(n0 + 1)
    for _, lo, hi in runs:
        for arr, w in ((k, 1 / count), (k2, 1 / count ** 2)):
            np.add.at(arr, lo, w)
            np.add.at(arr, hi, -w)
    # The running sums of +w/-w leave rounding residue (about 1e-16) on unmatched controls: clip it to 0.
    return y0_hat, np.clip(np.cumsum(k)[:n0], 0, None), np.clip(np.cumsum(k2)[:n0], 0, None)


def _same_arm_variance(ps: np.ndarray, ys: np.ndarray, j: int) -> np.ndarray:
    """Abadie-Imbens conditional variance: ``j/(j+1) (y - mean of j nearest same-arm y)^2``."""
    n = len(ps)
    j = min(j, n - 1)
    offsets = np.array([o for o in range(-j, j + 1) if o != 0])
    idx = np.arange(n)[:, None] + offsets[None, :]
    valid = (idx >= 0) & (idx < n)
    idx_c = np.clip(idx, 0, n - 1)
    dist = np.where(valid, np.abs(ps[idx_c] - ps[:, None]), np.inf)
    nearest = np.take_along_axis(idx_c, np.argsort(dist, axis=1, kind="stable")[:, :j], axis=1)
    return j / (j + 1) * (ys - ys[nearest].mean(axis=1)) ** 2


# --------------------------------------------------------------------------------------------
# Balance diagnostics
# --------------------------------------------------------------------------------------------

def balance(data: pd.DataFrame, treatment: str, covariates: str | Sequence[str],
            weights: str | Sequence[float] | np.ndarray | None = None) -> pd.DataFrame:
    """Covariate balance: means, standardised mean differences and variance ratios.

    ``smd = (mean_treated - mean_control) / sqrt((s2_treated + s2_control) / 2)`` with the
    *unweighted* sample variances in the denominator both before and after weighting, so the
    two columns are comparable (Austin 2009; Rosenbaum & Rubin 1985). Weighted means are
    ``sum w x / sum w``; weighted variances are ``sum w (x - m)^2 / sum w`` times
    ``n_eff / (n_eff - 1)`` with ``n_eff = (sum w)^2 / sum w^2`` (Kish), so unit weights give the
    usual ``n - 1`` sample variance. ``variance_ratio = s2_treated / s2_control``.

    Parameters
    ----------
    data : pandas.DataFrame
        Not modified.
    treatment : str
        Binary treatment column.
    covariates : str or list of str
        Numeric covariates.
    weights : str or array-like, optional
        Column name or one non-negative weight per row (treated rows included, usually 1).

    Returns
    -------
    pandas.DataFrame
        One row per covariate: covariate, mean_treated, mean_control, smd_before,
        variance_ratio_before and, with ``weights``, mean_treated_weighted,
        mean_control_weighted, smd_after, variance_ratio_after.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"d": [1, 1, 0, 0], "age": [30.0, 40.0, 50.0, 60.0]})
    >>> round(float(balance(df, "d", "age").smd_before.iloc[0]), 6)  # -20 / sqrt((50 + 50) / 2)
    -2.828427
    """
    covs = _as_list(covariates)
    if not covs:
        raise ParameterError("covariates must name at least one column")
    weight_col = weights if isinstance(weights, str) else None
    frame = _select(data, {"treatment": treatment, "covariates": covs, "weights": weight_col})
    _check_missing(frame, frame.columns)
    d = _binary(frame, treatment, "treatment").astype(bool)
    w = _balance_weights(frame, weights, len(frame))
    rows = []
    for c in covs:
        x = _numeric(frame, c, "covariate")
        xt, xc = x[d], x[~d]
        var_t, var_c = _weighted_var(xt, None), _weighted_var(xc, None)
        denom = np.sqrt((var_t + var_c) / 2)
        row = {"covariate": c, "mean_treated": xt.mean(), "mean_control": xc.mean(),
               "smd_before": _ratio(xt.mean() - xc.mean(), denom),
               "variance_ratio_before": _ratio(var_t, var_c)}
        if w is not None:
            mt, mc = np.average(xt, weights=w[d]), np.average(xc, weights=w[~d])
            row.update(mean_treated_weighted=mt, mean_control_weighted=mc,
                       smd_after=_ratio(mt - mc, denom),
                       variance_ratio_after=_ratio(_weighted_var(xt, w[d]), _weighted_var(xc, w[~d])))
        rows.append(row)
    return pd.DataFrame(rows)


def _balance_weights(frame, weights, n) -> np.ndarray | None:
    if weights is None:
        return None
    w = (_numeric(frame, weights, "weights") if isinstance(weights, str)
         else np.asarray(weights, dtype=np.float64))
    if w.shape != (n,):
        raise ValueError(f"weights must have one value per row ({n}); got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    return w


def _weighted_var(x: np.ndarray, w: np.ndarray | None) -> float:
    w = np.ones(len(x)) if w is None else w
    total = w.sum()
    if total <= 0:
        return np.nan
    n_eff = total ** 2 / (w ** 2).sum()
    if n_eff <= 1:
        return np.nan
    mean = (w * x).sum() / total
    return float((w * (x - mean) ** 2).sum() / total * n_eff / (n_eff - 1))


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 and np.isfinite(den) else np.nan


__all__ = [
    "Estimate", "did_2x2", "twfe", "staggered_did", "att_weighting", "balance",
    "ControlGroup", "Aggregation", "WeightingMethod", "VcovType", "GroupTimeEstimator",
    "TIDY_COLUMNS", "MIN_UNITS", "TRIM_LEVEL",
]
