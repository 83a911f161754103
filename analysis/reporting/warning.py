"""The early warning validated forward: the rolling-origin part of the monitoring page (notebook 04).

Reads the stored tables ``monitoring_warning_rolling`` and ``monitoring_warning_reliability`` of the build step
``warning_validation`` (:mod:`analysis.measures.warning_validation`) and renders them; it never estimates.
The validation runs on all households of the prefecture (a county's few events a year cannot rank a model),
with each county visiting its ``visit_capacity`` highest-ranked households (``risk_score.yaml``).

Disclosure: a model figure (AUC, precision-recall AUC, calibration error, precision and recall at capacity,
ratio to the oracle) resting on fewer than :func:`analysis.config.min_events` events is not shown; an event
count of 1 to k - 1 households is blanked; a reliability bin's observed rate is shown only when its event
count is publishable, with complementary blanking across the bins of a curve, whose total the table shows
(:func:`analysis.core.disclosure.suppress_parts`).

Examples
--------
>>> from analysis.reporting import page, warning
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> warning.rolling_figure(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis import build
from analysis.config import min_events, min_households, visit_capacity
from analysis.core.disclosure import suppress_parts
from analysis.measures.warning_validation import MODELS, OUTCOMES
from analysis.reporting import labels, plots_warning, text
from analysis.reporting.page import Context
from analysis.reporting.text import NOWRAP, md

#: Columns of a model figure, blanked together when it rests on fewer than ``min_events`` events.
FIGURES = ["auc", "pr_auc", "calibration_error", "precision_at_capacity", "recall_at_capacity", "auc_vs_oracle"]


def _t(key: str, ctx: Context, **values) -> str:
    return labels.text(f"warning.{key}", ctx.lang, **values)


def rolling_data(ctx: Context) -> pd.DataFrame:
    """The prefecture's rolling-origin rows, figures on fewer than ``min_events`` events and small counts blanked."""
    table = build.load("monitoring_warning_rolling", ctx.data_dir, region=ctx.prefecture, level="prefecture")
    few = table["events"] < min_events()
    table[FIGURES] = table[FIGURES].astype(float).mask(few, axis=0)
    small = (table["events"] > 0) & (table["events"] < min_households())
    table["events"] = table["events"].astype("Int64").mask(small)
    return table


def reliability_data(ctx: Context) -> pd.DataFrame:
    """Reliability bins of the prefecture (every origin pooled), an observed rate blanked with its bin's events."""
    table = build.load("monitoring_warning_reliability", ctx.data_dir, region=ctx.prefecture, level="prefecture")
    if table.empty:
        return table.assign(shown=pd.Series(dtype=bool))
    wide = table.pivot_table(index=["outcome", "model"], columns="bin", values="events", aggfunc="sum")
    wide.columns = [f"bin_{b}" for b in wide.columns]
    wide["total"] = wide.sum(axis=1)
    guarded = suppress_parts(wide.reset_index(), [c for c in wide.columns if c.startswith("bin_")],
                             k=min_households(), total="total")
    blank = guarded.melt(id_vars=["outcome", "model"], value_vars=[c for c in guarded if c.startswith("bin_")],
                         var_name="bin", value_name="kept")
    blank["bin"] = blank["bin"].str.removeprefix("bin_").astype(int)
    out = table.merge(blank, on=["outcome", "model", "bin"], how="left")
    out["shown"] = out["kept"].notna()
    out[["events", "event_rate"]] = out[["events", "event_rate"]].astype(float).where(out["shown"], np.nan)
    return out.drop(columns="kept")


def _pooled(table: pd.DataFrame, outcome: str) -> pd.DataFrame:
    return table[(table["outcome"] == outcome) & table["origin"].isna()].set_index("model")


def rolling_summary(ctx: Context) -> Markdown:
    """The part's heading, what was done, and the pooled result in words for each outcome."""
    table = rolling_data(ctx)
    heading = f"### {_t('h_section', ctx)}"
    if table.empty:
        return Markdown(f"{heading}\n\n{_t('no_data', ctx)}")
    origins = table["origin"].dropna().astype(int)
    parts = [heading, _t("definition", ctx, capacity=visit_capacity(), first=int(origins.min()),
                         last=int(origins.max()) + 1, prefecture=md(ctx.prefecture), k=min_events())]
    for outcome in OUTCOMES:
        pooled = _pooled(table, outcome)
        if not set(MODELS) <= set(pooled.index) or pooled.loc[list(MODELS), "auc"].isna().any():
            parts.append(_t("few_events", ctx, outcome=_t(f"outcome_{outcome}", ctx), k=min_events()))
            continue
        best = pooled.loc[list(MODELS), "auc"].astype(float).idxmax()
        sentence = _t("pooled", ctx, outcome=_t(f"outcome_{outcome}", ctx), events=int(pooled.loc["score", "events"]),
                      score=pooled.loc["score", "auc"], logit=pooled.loc["logit", "auc"],
                      baseline=pooled.loc["baseline", "auc"], best=_t(f"model_{best}", ctx),
                      precision=pooled.loc[best, "precision_at_capacity"],
                      recall=pooled.loc[best, "recall_at_capacity"], capacity=visit_capacity())
        if "oracle" in pooled.index and pd.notna(pooled.loc["oracle", "auc"]):
            ratio = pooled.loc[best, "auc_vs_oracle"]
            sentence += _t("oracle", ctx, oracle=pooled.loc["oracle", "auc"], ratio=ratio)
        parts.append(sentence)
    if (table["model"] == "oracle").any():
        parts.append(_t("oracle_definition", ctx))
    return Markdown("\n\n".join(parts))


def rolling_figure(ctx: Context):
    """AUC by origin year for each model and the oracle, with every origin pooled at the right."""
    table = rolling_data(ctx)
    if table.empty:
        return Markdown(_t("no_data", ctx))
    return plots_warning.auc_by_origin(table, ctx.lang)


def reliability_figure(ctx: Context):
    """Predicted probability against the observed rate, by model, every origin pooled."""
    table = reliability_data(ctx)
    if table.empty:
        return Markdown(_t("no_data", ctx))
    return plots_warning.reliability(table, ctx.lang)


def rolling_frame(ctx: Context) -> pd.DataFrame:
    """The rolling-origin table as shown: labelled outcomes, models and origins (pooled last)."""
    table = rolling_data(ctx)
    shown = pd.DataFrame({
        "outcome": table["outcome"].map(lambda o: _t(f"outcome_{o}", ctx)),
        "origin": table["origin"].map(lambda y: _t("pooled_origin", ctx) if pd.isna(y) else f"{int(y)}→{int(y) + 1}"),
        "model": table["model"].map(lambda m: _t(f"model_{m}", ctx)),
        **{c: table[c] for c in ["n", "events", *FIGURES]}})
    return shown


def rolling_table(ctx: Context):
    """Every origin and model: AUC, precision-recall AUC, calibration error, precision and recall at capacity."""
    shown = rolling_frame(ctx)
    shown.columns = [_t(f"col_{c}", ctx, capacity=visit_capacity()) for c in shown.columns]
    caption = _t("caption", ctx, prefecture=md(ctx.prefecture), k=min_events())
    return (text.table(shown, caption).hide(axis="index").set_table_styles(NOWRAP)
            .format("{:,.0f}", subset=shown.columns[3:5].tolist(), na_rep="–")
            .format("{:.3f}", subset=shown.columns[5:].tolist(), na_rep="–"))


def rolling_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The tables of this part for the page's workbook (aggregates only)."""
    rel = reliability_data(ctx)
    rel = rel.assign(outcome=rel["outcome"].map(lambda o: _t(f"outcome_{o}", ctx)),
                     model=rel["model"].map(lambda m: _t(f"model_{m}", ctx))).drop(columns=["shown", "prefecture"])
    # what is predicted and its events, apart from the red warning's own outcome and next-year fallers (page 04)
    names = {"outcome": "predicted_outcome", "events": "outcome_events"}
    return {"warning_rolling": rolling_frame(ctx).rename(columns=names),
            "warning_reliability": rel.rename(columns=names)}
