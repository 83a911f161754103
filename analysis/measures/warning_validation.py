"""Rolling-origin validation of the early warning: fit on the years up to t, predict t+1, for every t.

One train/test split says little about a warning scheme. Here each available origin year t is a test:
everything known from transitions that ended by year t (pairs s -> s+1 with s < t) trains the model, and
the transition t -> t+1 is predicted (Tashman 2000, *Out-of-sample tests of forecasting accuracy*,
International Journal of Forecasting 16(4)). Three rankings of the same household-years are compared:

* ``score``: the configurable points score (:func:`analysis.measures.monitoring.risk_score`; no fitted
  parameter);
* ``logit``: a statsmodels Logit on the score's indicators (the ``pts_*`` columns), refitted at each origin;
* ``baseline``: the policy's own rule, income within the monitoring range (per-person income below
  ``near_band`` times the threshold), ranked by income relative to the threshold (lowest first).

Outcomes: ``fell`` (income at or above the threshold in t, below it in t+1) and ``newly_identified`` (not
monitored in t, a monitoring type in t+1). Measures per origin: AUC (Hanley & McNeil 1982), precision-recall
AUC (average precision: the mean of the precision at each event's rank, ties taken as one step), calibration
error (expected calibration error over ten equal-count bins of the predicted probability; for the score and
the baseline the probability is the training years' event rate at the same points value or flag), and
precision and recall when each county visits its ``capacity`` highest-ranked households.

Examples
--------
>>> from analysis.measures import warning_validation as wv
>>> wv.rolling_origin(households, members, capacity=20)  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.errors import ParameterError
from analysis.measures.frames import row_thresholds
from analysis.measures.monitoring import fit_logit, auc, risk_score

MODELS = ("score", "logit", "baseline")
OUTCOMES = ("fell", "newly_identified")
CALIBRATION_BINS = 10
COLUMNS = ["outcome", "origin", "train_from", "model", "n", "events", "auc", "pr_auc", "calibration_error",
           "capacity", "visited", "precision_at_capacity", "recall_at_capacity"]


def average_precision(outcome, score) -> float:
    """Area under the precision-recall curve as average precision; tied scores form one step.

    AP = sum over distinct score values v (highest first) of (recall(v) - recall(previous)) * precision(v),
    with precision and recall of warning everyone scoring at least v. NaN without events.
    """
    y = np.asarray(outcome, dtype=bool)
    s = np.asarray(score, dtype=float)
    if not y.any():
        return float("nan")
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each tie group
    hits = np.cumsum(y)[last]
    precision = hits / (last + 1)
    recall = hits / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def calibration(outcome, prob, bins: int = CALIBRATION_BINS) -> tuple[pd.DataFrame, float]:
    """Reliability table over equal-count bins of ``prob`` and the expected calibration error.

    Returns
    -------
    (DataFrame, float)
        ``bin``, ``n``, ``mean_prob``, ``event_rate`` per bin; ECE = sum_b n_b / N |mean_prob_b - event_rate_b|.
    """
    y = np.asarray(outcome, dtype=float)
    p = np.asarray(prob, dtype=float)
    ok = ~np.isnan(p)
    if not ok.any():
        return pd.DataFrame(columns=["bin", "n", "mean_prob", "event_rate"]), float("nan")
    ranks = pd.Series(p[ok]).rank(method="first").to_numpy()
    codes = np.minimum((ranks - 1) * bins // ok.sum(), bins - 1).astype(int)
    table = pd.DataFrame({"bin": codes, "p": p[ok], "y": y[ok]}).groupby("bin").agg(
        n=("p", "size"), mean_prob=("p", "mean"), event_rate=("y", "mean")).reset_index()
    ece = float((table["n"] / table["n"].sum() * (table["mean_prob"] - table["event_rate"]).abs()).sum())
    return table, ece


def at_capacity(outcome, score, group, capacity: int) -> tuple[int, float, float]:
    """Visits when each ``group`` (county) visits its ``capacity`` highest-scored households.

    Ties at the cut are broken by row order. Returns (visited, precision, recall).
    """
    frame = pd.DataFrame({"y": np.asarray(outcome, dtype=bool), "s": np.asarray(score, dtype=float),
                          "g": np.asarray(group)})
    frame["rank"] = frame.groupby("g")["s"].rank(method="first", ascending=False)
    visited = frame["rank"] <= capacity
    hits = int((visited & frame["y"]).sum())
    n_visited = int(visited.sum())
    return (n_visited, hits / n_visited if n_visited else float("nan"),
            hits / frame["y"].sum() if frame["y"].any() else float("nan"))


def _rate_map(train_key: pd.Series, train_y: pd.Series, test_key: pd.Series) -> np.ndarray:
    """The training event rate at each test row's key (points value or flag); the overall rate if unseen."""
    rates = train_y.astype(float).groupby(train_key.to_numpy()).mean()
    return test_key.map(rates).fillna(float(train_y.mean())).to_numpy(float)


def transitions(households: pd.DataFrame, members: pd.DataFrame | None = None, rules: dict | None = None,
                thresholds=None) -> pd.DataFrame:
    """Household-year pairs t -> t+1 with the score's indicators in t and both outcomes in t+1."""
    scores = risk_score(households, members, rules, thresholds)
    scores["ratio"] = (households["net_income_pc"].astype("float64")
                       / row_thresholds(households, thresholds)).to_numpy()
    kind = households["monitoring_type"].astype("string")
    scores["monitored"] = (kind.notna() & (kind != "none")).to_numpy()
    nxt = scores[["household_id", "year", "ratio", "monitored"]].assign(year=scores["year"] - 1)
    pairs = scores.merge(nxt, on=["household_id", "year"], suffixes=("", "_next"))
    pairs = pairs[pairs["ratio_next"].notna() & pairs["ratio"].notna()]
    return pairs.assign(fell=(pairs["ratio"] >= 1) & (pairs["ratio_next"] < 1),
                        newly_identified=~pairs["monitored"] & pairs["monitored_next"]).reset_index(drop=True)


def _population(pairs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Who can have the event: above the threshold in t (fell), not monitored in t (newly identified)."""
    return pairs[pairs["ratio"] >= 1] if outcome == "fell" else pairs[~pairs["monitored"]]


def rolling_origin(households: pd.DataFrame, members: pd.DataFrame | None = None, rules: dict | None = None,
                   thresholds=None, capacity: int = 20, near_band: float = 1.5,
                   outcomes: tuple[str, ...] = OUTCOMES, group: str = "county") -> pd.DataFrame:
    """Rolling-origin validation of the score, the refitted Logit and the baseline rule.

    Parameters
    ----------
    households, members, rules, thresholds
        As in :func:`analysis.measures.monitoring.risk_score`.
    capacity : int
        Households each ``group`` can visit in a year.
    near_band : float
        The baseline rule warns below ``near_band`` times the threshold (the monitoring range).
    outcomes : tuple of str
        ``fell`` and/or ``newly_identified``.
    group : str
        Column of the unit whose capacity is counted (the county).

    Returns
    -------
    DataFrame
        One row per outcome x origin year t (the test transition t -> t+1) x model, with :data:`COLUMNS`;
        ``train_from`` is the first year of the training transitions. An origin needs at least one earlier
        transition with both outcomes present.
    """
    if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer) or capacity < 1:
        raise ParameterError(f"capacity must be a whole number of households >= 1; got {capacity!r}")
    unknown = sorted(set(outcomes) - set(OUTCOMES))
    if unknown:
        raise ParameterError(f"outcomes must be among {list(OUTCOMES)}; got {unknown}")
    pairs = transitions(households, members, rules, thresholds)
    pts = [c for c in pairs.columns if c.startswith("pts_")]
    rows = []
    for outcome in outcomes:
        data = _population(pairs, outcome)
        years = sorted(int(y) for y in data["year"].unique())
        for origin in years[1:]:
            train, test = data[data["year"] < origin], data[data["year"] == origin]
            y_train, y_test = train[outcome].astype(bool), test[outcome].astype(bool)
            if y_train.nunique() < 2:
                continue
            model, keep = fit_logit(train[pts], y_train)
            p_logit = model.predict(sm.add_constant(test[keep].astype(float), has_constant="add")).to_numpy() \
                if model is not None else np.full(len(test), np.nan)
            flag_train, flag_test = train["ratio"] < near_band, test["ratio"] < near_band
            ranking = {"score": test["risk_points"].to_numpy(float), "logit": p_logit,
                       "baseline": -test["ratio"].to_numpy(float)}
            probability = {"score": _rate_map(train["risk_points"], y_train, test["risk_points"]),
                           "logit": p_logit, "baseline": _rate_map(flag_train, y_train, flag_test)}
            for name in MODELS:
                visited, precision, recall = at_capacity(y_test, ranking[name], test[group], capacity)
                rows.append({"outcome": outcome, "origin": origin, "train_from": years[0], "model": name,
                             "n": len(test), "events": int(y_test.sum()), "auc": auc(y_test, ranking[name]),
                             "pr_auc": average_precision(y_test, ranking[name]),
                             "calibration_error": calibration(y_test, probability[name])[1],
                             "capacity": int(capacity), "visited": visited, "precision_at_capacity": precision,
                             "recall_at_capacity": recall})
    return pd.DataFrame(rows, columns=COLUMNS)
