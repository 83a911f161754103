"""Rolling-origin validation of the early warning: fit on the years up to t, predict t+1, for every t.

One train/test split says little about a warning scheme. Here each available origin year t is a test:
everything known from transitions that ended by year t (pairs s -> s+1 with s < t) trains the model, and
the transition t -> t+1 is predicted (Tashman 2000, *Out-of-sample tests of forecasting accuracy*,
International Journal of Forecasting 16(4)). Three rankings of the same household-years are compared:

* ``score``: the configurable points score (:func:`analysis.measures.monitoring.risk_score`; no fitted
  parameter);
* ``logit``: a statsmodels Logit, refitted at each origin, on the score's indicators (the ``pts_*`` columns)
  and on recorded quantities that the points coarsen (:data:`FEATURES`): the log of income relative to the
  threshold, and the shares of net income at stake in wages (all wages; the top earner's; the wages of
  members who worked at most 8 or 9-10 months, the short seasons of insecure jobs; the wages of members
  aged 64, who leave working age next year), from the members' records when they are given;
* ``baseline``: the policy's own rule, income within the monitoring range (per-person income below
  ``near_band`` times the threshold), ranked by income relative to the threshold (lowest first).

Outcomes: ``fell`` (income at or above the threshold in t, below it in t+1) and ``newly_identified`` (not
monitored in t, a monitoring type in t+1). Measures per origin: AUC (Hanley & McNeil 1982), precision-recall
AUC (average precision: the mean of the precision at each event's rank, ties taken as one step), calibration
error (expected calibration error over ten equal-count bins of the predicted probability; for the score and
the baseline the probability is the training years' event rate at the same points value or flag), and
precision and recall when each county visits its ``capacity`` highest-ranked households (ties at the cut
share the visits left).

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
RELIABILITY_BINS = 5
OUTCOMES = ("fell", "newly_identified")
CALIBRATION_BINS = 10
SHORT_MONTHS, MID_MONTHS = 8, 10   # wage earners with at most 8, or 9-10 months worked in the year
LAST_WORKING_AGE = 64
FEATURES = ("log_ratio", "wage_share", "top_wage_share", "short_wage_share", "mid_wage_share",
            "leaving_wage_share")
COLUMNS = ["outcome", "origin", "train_from", "model", "n", "events", "auc", "pr_auc", "calibration_error",
           "capacity", "visited", "precision_at_capacity", "recall_at_capacity", "auc_vs_oracle"]


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
        ``bin``, ``n``, ``events``, ``mean_prob``, ``event_rate`` per bin; ECE = sum_b n_b / N |mean_prob_b - event_rate_b|.
    """
    y = np.asarray(outcome, dtype=float)
    p = np.asarray(prob, dtype=float)
    ok = ~np.isnan(p)
    if not ok.any():
        return pd.DataFrame(columns=["bin", "n", "events", "mean_prob", "event_rate"]), float("nan")
    ranks = pd.Series(p[ok]).rank(method="first").to_numpy()
    codes = np.minimum((ranks - 1) * bins // ok.sum(), bins - 1).astype(int)
    table = pd.DataFrame({"bin": codes, "p": p[ok], "y": y[ok]}).groupby("bin").agg(
        n=("p", "size"), events=("y", "sum"), mean_prob=("p", "mean"), event_rate=("y", "mean")).reset_index()
    table["events"] = table["events"].astype(int)
    ece = float((table["n"] / table["n"].sum() * (table["mean_prob"] - table["event_rate"]).abs()).sum())
    return table, ece


def at_capacity(outcome, score, group, capacity: int) -> tuple[int, float, float]:
    """Visits when each ``group`` (county) visits its ``capacity`` highest-scored households.

    Households tied at the cut share the visits left: each is visited with the same probability (the visits
    left over the size of the tie), so the figures are the expected ones under a random choice among the tied
    and do not depend on row order. Households without a score are not visited. Returns (visited, precision,
    recall).
    """
    y = np.asarray(outcome, dtype=bool)
    frame = pd.DataFrame({"s": np.asarray(score, dtype=float), "g": np.asarray(group)})
    ranks = frame.groupby("g")["s"]
    first = ranks.rank(method="min", ascending=False).to_numpy()   # the tie's first and last rank
    last = ranks.rank(method="max", ascending=False).to_numpy()
    chance = np.nan_to_num(np.clip((capacity - first + 1) / (last - first + 1), 0.0, 1.0))
    n_visited = int(round(chance.sum()))
    hits = float(chance[y].sum())
    return (n_visited, hits / n_visited if n_visited else float("nan"),
            hits / y.sum() if y.any() else float("nan"))


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
    pairs = pairs.assign(log_ratio=np.log(pairs["ratio"].clip(lower=0.05)))
    if members is not None and {"age", "months_worked", "wage_income"} <= set(members.columns) \
            and "net_income" in households.columns:
        pairs = pairs.merge(wage_exposure(households, members), on=["household_id", "year"], how="left")
        pairs[list(FEATURES[1:])] = pairs[list(FEATURES[1:])].fillna(0.0)
    return pairs.assign(fell=(pairs["ratio"] >= 1) & (pairs["ratio_next"] < 1),
                        newly_identified=~pairs["monitored"] & pairs["monitored_next"]).reset_index(drop=True)


def wage_exposure(households: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Shares of each household-year's net income earned in wages, by whom (the logit's wage features).

    Returns
    -------
    DataFrame
        ``household_id``, ``year`` and, over the household's net income (at least 1 yuan): ``wage_share``
        (all members' wage income), ``top_wage_share`` (the top earner's), ``short_wage_share`` and
        ``mid_wage_share`` (members who worked at most :data:`SHORT_MONTHS`, or up to :data:`MID_MONTHS`
        months), ``leaving_wage_share`` (members aged :data:`LAST_WORKING_AGE`). Members without a wage
        count 0.
    """
    m = members[["household_id", "year", "age", "months_worked", "wage_income"]]
    wage = m["wage_income"].astype("float64").fillna(0.0).to_numpy()
    months = m["months_worked"].astype("float64").fillna(0.0).to_numpy()
    age = m["age"].astype("float64").to_numpy()
    parts = pd.DataFrame({"household_id": m["household_id"].to_numpy(), "year": m["year"].to_numpy(),
                          "wage": wage, "top": wage, "short": wage * (months <= SHORT_MONTHS),
                          "mid": wage * ((months > SHORT_MONTHS) & (months <= MID_MONTHS)),
                          "leaving": wage * (age == LAST_WORKING_AGE)})
    sums = parts.groupby(["household_id", "year"]).agg(wage=("wage", "sum"), top=("top", "max"), short=("short", "sum"),
                                                       mid=("mid", "sum"), leaving=("leaving", "sum"))
    income = households.set_index(["household_id", "year"])["net_income"].astype("float64")
    income = income.reindex(sums.index).clip(lower=1.0)
    shares = sums.div(income, axis=0).add_suffix("_share").rename(columns={"top_share": "top_wage_share",
                                                                           "short_share": "short_wage_share",
                                                                           "mid_share": "mid_wage_share",
                                                                           "leaving_share": "leaving_wage_share"})
    return shares.reset_index()


def _population(pairs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Who can have the event: above the threshold in t (fell), not monitored in t (newly identified)."""
    return pairs[pairs["ratio"] >= 1] if outcome == "fell" else pairs[~pairs["monitored"]]


def _predictions(pairs: pd.DataFrame, outcome: str, near_band: float, group: str) -> pd.DataFrame:
    """Out-of-sample predictions of every model for every origin: one row per household x origin x model."""
    pts = [c for c in pairs.columns if c.startswith("pts_")] + [c for c in FEATURES if c in pairs.columns]
    data = _population(pairs, outcome)
    years = sorted(int(y) for y in data["year"].unique())
    parts = []
    for origin in years[1:]:
        train, test = data[data["year"] < origin], data[data["year"] == origin]
        y_train = train[outcome].astype(bool)
        if y_train.nunique() < 2:
            continue
        model, keep = fit_logit(train[pts], y_train)
        p_logit = model.predict(sm.add_constant(test[keep].astype(float), has_constant="add")).to_numpy() \
            if model is not None else np.full(len(test), np.nan)
        ranking = {"score": test["risk_points"].to_numpy(float), "logit": p_logit,
                   "baseline": -test["ratio"].to_numpy(float)}
        probability = {"score": _rate_map(train["risk_points"], y_train, test["risk_points"]),
                       "logit": p_logit,
                       "baseline": _rate_map(train["ratio"] < near_band, y_train, test["ratio"] < near_band)}
        for name in MODELS:
            parts.append(pd.DataFrame({"outcome": outcome, "origin": origin, "train_from": years[0], "model": name,
                                       "y": test[outcome].astype(bool).to_numpy(), "rank": ranking[name],
                                       "prob": probability[name], "group": test[group].to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["outcome", "origin", "train_from", "model", "y", "rank", "prob", "group"])


def _measures(pred: pd.DataFrame, capacity: int) -> dict:
    """The validation measures of one set of predictions (one origin, or all origins pooled)."""
    y = pred["y"].to_numpy(bool)
    # capacity is per county and year: pooled predictions are ranked within county x origin
    visited, precision, recall = at_capacity(y, pred["rank"], pred["group"].astype(str) + "|"
                                             + pred["origin"].astype(str), capacity)
    return {"n": len(pred), "events": int(y.sum()), "auc": auc(y, pred["rank"]),
            "pr_auc": average_precision(y, pred["rank"]), "calibration_error": calibration(y, pred["prob"])[1],
            "capacity": int(capacity), "visited": visited, "precision_at_capacity": precision,
            "recall_at_capacity": recall}


def rolling_origin(households: pd.DataFrame, members: pd.DataFrame | None = None, rules: dict | None = None,
                   thresholds=None, capacity: int = 20, near_band: float = 1.5,
                   outcomes: tuple[str, ...] = OUTCOMES, group: str = "county", oracle: dict | None = None
                   ) -> pd.DataFrame:
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
    oracle : dict, optional
        As in :func:`measures`.

    Returns
    -------
    DataFrame
        :func:`measures` of :func:`predictions`.
    """
    check_capacity(capacity)
    return measures(predictions(households, members, rules, thresholds, near_band, outcomes, group), capacity,
                    oracle)


def check_capacity(capacity) -> None:
    """Refuse a visiting capacity that is not a whole number of households >= 1."""
    if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer) or capacity < 1:
        raise ParameterError(f"capacity must be a whole number of households >= 1; got {capacity!r}")


def measures(preds: pd.DataFrame, capacity: int = 20, oracle: dict | None = None) -> pd.DataFrame:
    """The validation measures of :func:`predictions`, per origin and with every origin pooled.

    Parameters
    ----------
    preds : DataFrame
        :func:`predictions`.
    capacity : int
        Households each county can visit in a year.
    oracle : dict, optional
        The generator's true-risk AUCs of synthetic data (``ground_truth.json``'s ``warning_oracle``, carried
        into ``sources.json``): rows of ``outcome``, ``origin`` (None for the origins pooled), ``n``,
        ``events``, ``auc``. Added as model ``oracle``; each model's AUC divided by the oracle's is
        ``auc_vs_oracle``.

    Returns
    -------
    DataFrame
        One row per outcome x origin year t (the test transition t -> t+1) x model, then one row per outcome x
        model with every origin's predictions pooled (``origin`` missing), with :data:`COLUMNS`; ``train_from``
        is the first year of the training transitions.
    """
    check_capacity(capacity)
    rows = []
    for (outcome, origin, model), pred in preds.groupby(["outcome", "origin", "model"], sort=False):
        rows.append({"outcome": outcome, "origin": origin, "train_from": pred["train_from"].iloc[0], "model": model,
                     **_measures(pred, capacity)})
    for (outcome, model), pred in preds.groupby(["outcome", "model"], sort=False):
        rows.append({"outcome": outcome, "origin": pd.NA, "train_from": pred["train_from"].iloc[0], "model": model,
                     **_measures(pred, capacity)})
    table = pd.DataFrame(rows, columns=COLUMNS[:-1]).astype({"origin": "Int64"})
    if oracle:
        table = pd.concat([table, _oracle_rows(oracle, table)], ignore_index=True).astype({"origin": "Int64"})
    truth = table[table["model"] == "oracle"].set_index(["outcome", "origin"])["auc"].astype(float)
    key = pd.MultiIndex.from_frame(table[["outcome", "origin"]])
    table["auc_vs_oracle"] = table["auc"].to_numpy(float) / truth.reindex(key).to_numpy(float)
    table.loc[table["model"] == "oracle", "auc_vs_oracle"] = np.nan
    return table[COLUMNS].reset_index(drop=True)


def predictions(households: pd.DataFrame, members: pd.DataFrame | None = None, rules: dict | None = None,
                thresholds=None, near_band: float = 1.5, outcomes: tuple[str, ...] = OUTCOMES,
                group: str = "county") -> pd.DataFrame:
    """Every model's out-of-sample predictions at every origin (household-level: never published).

    Columns ``outcome``, ``origin``, ``train_from``, ``model``, ``y`` (the event), ``rank`` (higher = warned
    first), ``prob`` (predicted probability), ``group``.
    """
    pairs = transitions(households, members, rules, thresholds)
    frames = [_predictions(pairs, outcome, near_band, group) for outcome in outcomes]
    return pd.concat(frames, ignore_index=True)


def _oracle_rows(oracle: dict, table: pd.DataFrame) -> pd.DataFrame:
    """The oracle's rows for the outcomes and origins the table has (pooled: ``origin`` None)."""
    rows = pd.DataFrame(oracle["by_origin"] if isinstance(oracle, dict) else oracle)
    if rows.empty:
        return pd.DataFrame(columns=table.columns)
    rows["origin"] = rows["origin"].astype("Int64")
    rows = rows.assign(model="oracle", train_from=pd.NA, capacity=pd.NA)
    have = table[["outcome", "origin"]].drop_duplicates().astype({"origin": "Int64"})
    return rows.merge(have, on=["outcome", "origin"]).reindex(columns=table.columns)


def reliability(preds: pd.DataFrame, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """The reliability curve of each model with every origin's predictions (:func:`predictions`) pooled:
    equal-count bins of the predicted probability with their mean probability, observed event rate and
    event count (for disclosure control)."""
    columns = ["outcome", "model", "bin", "n", "events", "mean_prob", "event_rate"]
    frames = [calibration(pred["y"], pred["prob"], bins)[0].assign(outcome=outcome, model=model)
              for (outcome, model), pred in preds.groupby(["outcome", "model"], sort=False)]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
