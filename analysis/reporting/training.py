"""The training page (notebook ``03-training-impact``): who was trained, and what training did.

Who was trained comes from the stored tables ``training``, ``training_prefecture`` and ``training_types``
(:func:`analysis.measures.labour.training`, :func:`analysis.measures.labour.training_by_type`). What
training did comes from the study :mod:`analysis.studies.training`, asked for through
:func:`analysis.build.study` with the notebook's :class:`~analysis.studies.training.TrainingSpec`; this
module only reads and renders.

Examples
--------
>>> from analysis import build
>>> from analysis.reporting import page, training
>>> from analysis.studies.training import TrainingSpec
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> effects = build.study("training_effects", TrainingSpec(), **ctx.where)  # doctest: +SKIP
>>> training.att_summary(ctx, effects)  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis import build
from analysis.build import StudyTables
from analysis.config import min_households
from analysis.core.disclosure import suppress_small
from analysis.reporting import labels, plots_labour, text
from analysis.reporting.page import Context
from analysis.reporting.text import NOWRAP, join, md, p_format, p_text
from analysis.studies.training import AGE_GROUPS, SUBGROUPS

#: The outcomes the summary sentence speaks of.
OUTCOMES = ("employed", "wage_income")


def _scope(table: pd.DataFrame, scope: str) -> pd.DataFrame:
    if table.empty:
        return table
    return table[table["scope"] == scope].reset_index(drop=True)


def _training(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    region = ctx.slice(build.load("training", ctx.data_dir, region=ctx.region))
    pref = build.load("training_prefecture", ctx.data_dir)
    types = ctx.slice(build.load("training_types", ctx.data_dir, region=ctx.region))
    return region, ctx.slice(pref[pref["prefecture"] == ctx.prefecture]), types


def training_summary(ctx: Context) -> Markdown:
    """Trainees, certificates and last year's trainees at work this year, in plain words."""
    region, _, _ = _training(ctx)
    heading = f"## {labels.text('training.h_overview', ctx.lang)}"
    if region.empty:
        return Markdown(f"{heading}\n\n{labels.text('training.no_data', ctx.lang)}")
    last = region.iloc[-1]
    parts = [labels.text("training.summary", ctx.lang, region=md(ctx.region), year=int(last["year"]),
                         trained=int(last["trained"]), share=last["trained_share"],
                         certified=int(last["certified"]), cert_share=last["certified_share"],
                         total=int(region["trained"].sum()), first=int(region["year"].iloc[0]))]
    if pd.notna(last["trainees_employed_next_year_share"]):
        parts.append(labels.text("training.follow_up", ctx.lang, previous=int(last["year"]) - 1,
                                 year=int(last["year"]), share=last["trainees_employed_next_year_share"],
                                 followed=int(last["trainees_followed_up"])))
    return Markdown(f"{heading}\n\n{join(parts, ctx.lang)}")


def _masked_types(types: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Trainees by type with the counts of types whose trainees come from 1-4 households blanked."""
    small = types["trainee_households"].between(1, min_households() - 1)
    return types.assign(trained=types["trained"].astype("Float64").mask(small)), small


def trainees_figure(ctx: Context):
    region, pref, types = _training(ctx)
    return plots_labour.trainees(_masked_types(types)[0], region, pref, ctx.region, ctx.lang)


TRAINING_COLUMNS = ["year", "households", "labour_force", "trained", "trained_share", "certified",
                    "certified_share", "trainees_last_year", "trainees_employed_next_year",
                    "trainees_employed_next_year_share"]


def _indicator_table(ctx: Context) -> tuple[pd.DataFrame, bool]:
    """Trainee indicators by year with one column of trainees per type, and whether any cell is blanked.

    A type's count is blanked when its trainees come from 1-4 households (a zero describes nobody)."""
    region, _, types = _training(ctx)
    homes = ctx.slice(build.load("income_growth", ctx.data_dir, region=ctx.region))[["year", "households"]]
    table = suppress_small(region.merge(homes, on="year", how="left")[TRAINING_COLUMNS], "households",
                           k=min_households())
    counts, small = _masked_types(types)
    wide = counts.pivot(index="year", columns="training_type", values="trained").reset_index()
    wide.columns = ["year", *[str(c) for c in wide.columns[1:]]]
    return table.merge(wide, on="year", how="left"), bool(small.any() or table["suppressed"].any())


def training_table(ctx: Context):
    """Trainees by year and type, labelled; cells describing fewer than five households are blanked."""
    table, suppressed = _indicator_table(ctx)
    shown = labels.rename_columns(table.drop(columns="suppressed"), ctx.lang)
    shares = [labels.text(f"columns.{c}", ctx.lang) for c in TRAINING_COLUMNS if c.endswith("share")]
    counts = [c for c in shown.columns if c not in shares and c != labels.text("columns.year", ctx.lang)]
    caption = labels.text("training.table_caption", ctx.lang)
    if suppressed:
        caption = f"{caption} {labels.text('training.suppressed_note', ctx.lang, k=min_households())}"
    return (text.table(shown, caption).hide(axis="index").set_table_styles(NOWRAP)
            .format("{:,.0f}", subset=counts, na_rep="–").format("{:.1%}", subset=shares, na_rep="–"))


def _overall(effects: StudyTables, scope: str = "county") -> pd.Series | None:
    overlap = _scope(effects["training_overlap"], scope)
    return overlap.iloc[0] if len(overlap) else None


def training_design(ctx: Context, effects: StudyTables) -> Markdown:
    """The estimation sample and method in plain words, with warnings on sample size and overlap."""
    spec = effects.spec
    overlap = _overall(effects)
    att = _scope(effects["training_att"], "county")
    heading = f"## {labels.text('training.h_effects', ctx.lang)}"
    if overlap is None:
        return Markdown(f"{heading}\n\n{labels.text('training.no_sample', ctx.lang, region=md(ctx.region))}")
    parts = [heading, labels.text("training.design", ctx.lang, first=int(att["first_year"].iloc[0]),
                         last=int(att["last_year"].iloc[0]), n_obs=int(overlap["n_obs"]),
                         n_treated=int(overlap["n_treated"]), households=int(overlap["n_treated_households"])),
             labels.text("training.covariates", ctx.lang), labels.text("training.standard_errors", ctx.lang),
             labels.text("training.holm", ctx.lang)]
    if int(att["incomplete"].iloc[0]):
        parts.append(labels.text("training.incomplete", ctx.lang, n=int(att["incomplete"].iloc[0])))
    warnings_ = []
    if not bool(overlap["enough"]):
        warnings_.append(labels.text("training.too_few", ctx.lang, region=md(ctx.region), min_trained=spec.min_trained,
                                     min_untrained=spec.min_untrained, min_households=spec.min_households))
    elif bool(overlap["poor_overlap"]):
        warnings_.append(labels.text("training.poor_overlap", ctx.lang, share=overlap["share_outside"],
                                     low=spec.overlap_bounds[0], high=spec.overlap_bounds[1],
                                     smd=overlap["max_smd_after_ipw"], max_smd=spec.max_smd))
    if bool(overlap["enough"]) and bool(overlap["psm_imbalance"]):
        warnings_.append(labels.text("training.psm_imbalance", ctx.lang, smd=overlap["max_smd_after_psm"],
                                     max_smd=spec.max_smd))
    failed = att[att["status"] == "failed"]
    if len(failed):
        warnings_.append(labels.text("training.failed", ctx.lang, n=len(failed), error=md(failed["note"].iloc[0])))
    parts += [f"> **{labels.text('training.warning', ctx.lang)}** {w}" for w in warnings_]
    return Markdown("\n\n".join(parts))


def _covariate_label(name: str, lang: str) -> str:
    return labels.text(f"training.covariate_{name}", lang)


def balance_table(ctx: Context, effects: StudyTables):
    """Covariate means and standardized mean differences before and after weighting, for the county."""
    table = _scope(effects["training_balance"], "county")
    if table.empty:
        return Markdown(labels.text("training.no_balance", ctx.lang))
    cols = ["covariate", "mean_treated", "mean_control", "smd_before", "smd_after_ipw", "smd_after_psm"]
    shown = table[cols].assign(covariate=table["covariate"].map(lambda c: _covariate_label(c, ctx.lang)))
    shown.columns = [labels.text(f"training.{c}", ctx.lang) for c in cols]
    caption = labels.text("training.balance_caption", ctx.lang, max_smd=effects.spec.max_smd)
    return (text.table(shown, caption).hide(axis="index").set_table_styles(NOWRAP)
            .format("{:.2f}", subset=shown.columns[1:].tolist(), na_rep="–"))


def balance_figure(ctx: Context, effects: StudyTables):
    """Love plot (standardized mean differences before/after weighting) and propensity-score overlap."""
    table = _scope(effects["training_balance"], "county")
    if table.empty:
        return Markdown(labels.text("training.no_balance", ctx.lang))
    table = table.assign(label=table["covariate"].map(lambda c: _covariate_label(c, ctx.lang)))
    return plots_labour.balance(table, _scope(effects["training_propensity"], "county"), ctx.lang)


def _forest_rows(att: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    rows = att[(att["subgroup"] == "all") & (att["status"] == "ok")]
    method = rows["method"].map(lambda m: labels.text(f"training.method_{m}", ctx.lang))
    colour = rows["scope"].map({"county": plots_labour.COLOURS["dr"],
                                "prefecture": plots_labour.COLOURS["before"]})
    return rows.assign(label=_where(rows["scope"], ctx) + " · " + method, colour=colour)


def _where(scope: pd.Series, ctx: Context) -> pd.Series:
    """The county's name or 全市 / "Prefecture", per row."""
    prefecture = labels.text("groups.prefecture", ctx.lang)
    return scope.map(lambda s: ctx.region if s == "county" else prefecture)


def att_figure(ctx: Context, effects: StudyTables):
    """Forest plot: ATT on employment and wage income by IPW, DR and PSM, county and prefecture."""
    rows = _forest_rows(effects["training_att"], ctx)
    if rows[rows["scope"] == "county"].empty:
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=md(ctx.region)))
    order = {"county": 0, "prefecture": 1}
    rows = rows.sort_values(["scope", "method"], key=lambda s: s.map(order) if s.name == "scope"
                            else s.map({m: i for i, m in enumerate(effects.spec.methods)}))
    return plots_labour.att_forest(rows, ctx.lang)


def _format_effect(row: pd.Series, lang: str) -> tuple[str, str]:
    if row["status"] != "ok":
        return labels.text(f"training.status_{row['status']}", lang), "–"
    scale, fmt = (100, "{:.1f}") if row["outcome"] == "employed" else (1, "{:,.0f}")
    return (fmt.format(scale * row["estimate"]),
            f"[{fmt.format(scale * row['conf_low'])}, {fmt.format(scale * row['conf_high'])}]")


def _effects_display(rows: pd.DataFrame, ctx: Context, first: str) -> pd.DataFrame:
    formatted = [_format_effect(r, ctx.lang) for _, r in rows.iterrows()]
    shown = pd.DataFrame({
        first: rows[first].to_numpy(),
        "outcome": rows["outcome"].map(lambda o: labels.text(f"training.outcome_{o}", ctx.lang)).to_numpy(),
        "estimate": [f[0] for f in formatted], "conf_int": [f[1] for f in formatted],
        "p_value": rows["p_value"].to_numpy(), "p_holm": rows["p_holm"].to_numpy(),
        "n_treated": rows["n_treated"].to_numpy(), "n_control": rows["n_control"].to_numpy()})
    shown.columns = [labels.text(f"training.col_{c}", ctx.lang) for c in shown.columns]
    return shown


def att_table(ctx: Context, effects: StudyTables):
    """ATT by estimator and outcome, for the county and the prefecture, with 95% intervals and Holm p."""
    att = effects["training_att"]
    rows = att[att["subgroup"] == "all"].copy()
    if rows.empty or not (rows["status"] == "ok").any():
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=md(ctx.region)))
    rows["method"] = _where(rows["scope"], ctx) + " · " + rows["method"].map(
        lambda m: labels.text(f"training.method_{m}", ctx.lang))
    shown = _effects_display(rows, ctx, "method")
    return (text.table(shown, labels.text("training.att_caption", ctx.lang)).hide(axis="index")
            .set_table_styles(NOWRAP).format(p_format, subset=shown.columns[4:6].tolist())
            .format("{:,.0f}", subset=shown.columns[6:].tolist()))


def att_summary(ctx: Context, effects: StudyTables) -> Markdown:
    """The doubly robust estimates and their 95% intervals in plain words, with the other two beside.

    Said in words only when the doubly robust estimator ran on both outcomes; the table and figure show
    whatever the specification estimated."""
    att = _scope(effects["training_att"], "county")
    if att.empty:
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=md(ctx.region)))
    rows = att[att["subgroup"] == "all"].set_index(["outcome", "method"])
    if not (rows["status"].reindex([(o, "dr") for o in OUTCOMES]) == "ok").all():
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=md(ctx.region)))
    emp, wage = rows.loc[("employed", "dr")], rows.loc[("wage_income", "dr")]
    parts = [labels.text("training.effect", ctx.lang, region=md(ctx.region), emp=100 * emp["estimate"],
                         emp_low=100 * emp["conf_low"], emp_high=100 * emp["conf_high"], wage=wage["estimate"],
                         wage_low=wage["conf_low"], wage_high=wage["conf_high"], p_emp=p_text(emp["p_holm"]),
                         p_wage=p_text(wage["p_holm"]))]
    others = rows["status"].reindex([(o, m) for o in OUTCOMES for m in ("ipw", "psm")])
    if (others == "ok").all():
        parts.append(labels.text("training.others", ctx.lang,
                                 ipw_emp=100 * rows.loc[("employed", "ipw"), "estimate"],
                                 psm_emp=100 * rows.loc[("employed", "psm"), "estimate"],
                                 ipw_wage=rows.loc[("wage_income", "ipw"), "estimate"],
                                 psm_wage=rows.loc[("wage_income", "psm"), "estimate"]))
    parts.append(labels.text("training.caveat", ctx.lang))
    return Markdown(join(parts, ctx.lang))


def _heterogeneity_rows(ctx: Context, effects: StudyTables) -> pd.DataFrame:
    att = _scope(effects["training_att"], "county")
    if att.empty:
        return att
    rows = att[att["method"] == effects.spec.heterogeneity_method].copy()
    order = {s: i for i, s in enumerate(SUBGROUPS)}
    rows = rows.sort_values("subgroup", key=lambda s: s.map(order), kind="stable")
    return rows.assign(label=rows["subgroup"].map(lambda s: labels.text(f"training.subgroup_{s}", ctx.lang)))


def heterogeneity_intro(ctx: Context) -> Markdown:
    """Heading and reading guide of the subgroup analysis."""
    ages = {name: f"{low}–{high}" for name, (low, high) in AGE_GROUPS.items()}
    return Markdown(f"## {labels.text('training.h_heterogeneity', ctx.lang)}\n\n"
                    + labels.text("training.heterogeneity_intro", ctx.lang, tests=2 * (len(SUBGROUPS) - 1),
                                  **ages))


def heterogeneity_figure(ctx: Context, effects: StudyTables):
    """Forest plot of the doubly robust ATT by sex and age group."""
    rows = _heterogeneity_rows(ctx, effects)
    rows = rows[rows["status"] == "ok"] if len(rows) else rows
    if rows.empty:
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=md(ctx.region)))
    rows = rows.assign(colour=np.where(rows["subgroup"] == "all", plots_labour.COLOURS["before"],
                                       plots_labour.COLOURS["dr"]))
    return plots_labour.att_forest(rows, ctx.lang, title_key="training.fig_heterogeneity")


def heterogeneity_table(ctx: Context, effects: StudyTables):
    """Doubly robust ATT by subgroup and outcome; Holm p-values over the ten subgroup tests."""
    rows = _heterogeneity_rows(ctx, effects)
    if rows.empty or not (rows["status"] == "ok").any():
        return Markdown(labels.text("training.no_estimate", ctx.lang, region=md(ctx.region)))
    shown = _effects_display(rows.rename(columns={"label": "subgroup_label"}), ctx, "subgroup_label")
    return (text.table(shown, labels.text("training.heterogeneity_caption", ctx.lang)).hide(axis="index")
            .set_table_styles(NOWRAP).format(p_format, subset=shown.columns[4:6].tolist())
            .format("{:,.0f}", subset=shown.columns[6:].tolist()))


def training_tables(ctx: Context, effects: StudyTables) -> dict[str, pd.DataFrame]:
    """The tables of the training report, by sheet name."""
    # the effects' outcome is an outcome of training (employment, wages), not the warning outcome of page 04
    return {"training": _indicator_table(ctx)[0], "effects": effects["training_att"].rename(
                columns={"outcome": "training_outcome"}),
            "balance": effects["training_balance"], "overlap": effects["training_overlap"]}
