"""The monitoring report (notebook ``04-monitoring``): does monitoring find everyone at risk (应纳尽纳),
help them, and eliminate risk for real?

Every figure the page needs is computed for all counties at once by the study
:mod:`analysis.studies.monitoring` (build steps ``poverty``, ``monitoring``, ``early_warning``); the
functions below read one county's slice (of the stored tables, or of ``ctx.study`` when the notebook asks
for its own specification through :func:`analysis.build.study`) and return a Markdown block, a figure or
a styled table. Count tables blank cells describing fewer than
:func:`analysis.config.min_households` households (set in ``publication.yaml``; see
:func:`analysis.core.disclosure.suppress_small`); lists of pseudonymous household ids for follow-up
(identification gap, questionable eliminations) are shown in full, with geography down to the village and
no personal data.

Examples
--------
>>> from analysis.reporting import monitoring, page
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> monitoring.monitoring_summary(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown
from scipy import stats

from analysis import build, config
from analysis.config import min_events, min_households
from analysis.core.disclosure import (
    suppress_cells,
    suppress_differences,
    suppress_parts,
    suppress_small,
    unprotected_lines,
)
from analysis.measures.monitoring import TARGET_TYPES, auc, risk_rules
from analysis.reporting import labels, plots_monitoring, text, workbook
from analysis.reporting.page import Context
from analysis.reporting.text import md
from analysis.studies.monitoring import FAILED_FLAGS, MonitoringSpec

CONF_LEVEL = 0.95
# Rows of a follow-up list shown on the page; the Excel export holds the whole list.
LIST_ROWS = 100
STATUS_ORDER = ("not_at_risk", "monitored", "eliminated", "returned")


# ====================================================================================================
# one county's slice, shared helpers
# ====================================================================================================
def _table(ctx: Context, name: str) -> pd.DataFrame:
    """A table of the page's study (``ctx.study``, the notebook's specification) or a stored one."""
    if ctx.study is not None and name in ctx.study:
        return ctx.study[name]
    return build.load(name, ctx.data_dir)


def county_table(ctx: Context, name: str) -> pd.DataFrame:
    table = _table(ctx, name)
    return table[table["county"] == ctx.region].reset_index(drop=True)


def _prefecture(ctx: Context, name: str) -> pd.DataFrame:
    table = _table(ctx, name)
    return table[table["prefecture"] == ctx.prefecture].reset_index(drop=True)


def _spec(ctx: Context) -> MonitoringSpec:
    return ctx.study.spec if ctx.study is not None else MonitoringSpec()


def _z() -> float:
    return float(stats.norm.ppf(0.5 + CONF_LEVEL / 2))


def _suppress(frame: pd.DataFrame, rules: dict[str, list[str]]) -> pd.DataFrame:
    """Blank every count under :func:`analysis.config.min_households` households (``publication.yaml``) and
    every share resting on such a count, as numerator or denominator, so no blanked count can be recovered
    from a shown share and its base (``rules`` maps a count column to the columns resting on it)."""
    out = frame
    for count, dependents in rules.items():  # a few columns, each vectorized over rows
        if count in out.columns:
            cols = [count, *[c for c in dependents if c in out.columns]]
            out = suppress_small(out, count, k=min_households(), columns=cols, flag="_small")
    return out.drop(columns=[c for c in ("_small",) if c in out.columns])


def styled_table(frame: pd.DataFrame, lang: str, caption: str, formats: dict[str, str], footnote: bool = True):
    """``frame`` with display column names, formats per canonical column, '–' for blanks, a caption."""
    shown = labels.rename_columns(frame, lang)
    names = dict(zip(frame.columns, shown.columns, strict=True))
    if footnote:
        caption = labels.text("monitoring.caption_note", lang, caption=caption,
                              note=labels.text("monitoring.footnote", lang, k=min_households()))
    style = text.table(shown, caption).hide(axis="index").format(na_rep="–")
    for col, fmt in formats.items():
        if col in names:
            style = style.format(fmt, subset=[names[col]], na_rep="–")
    return style


def count_text(n, lang: str) -> str:
    """A household count for a sentence: 'fewer than 5' for 1-4 (as in the tables), else the number."""
    n = int(n)
    return labels.text("monitoring.fewer_than", lang, k=min_households()) if 0 < n < min_households() else f"{n:,}"


def _label(key: str, lang: str, default: str) -> str:
    try:
        return labels.text(key, lang)
    except KeyError:
        return default


def page_message(ctx: Context, key: str) -> Markdown:
    return Markdown(labels.text(key, ctx.lang))


def section(ctx: Context, name: str) -> Markdown:
    """A section heading with one paragraph saying what the section measures."""
    return Markdown(f"## {labels.text(f'monitoring.sections.{name}.title', ctx.lang)}\n\n"
                    f"{labels.text(f'monitoring.sections.{name}.intro', ctx.lang)}")


def _publishable(*counts) -> bool:
    """Whether a share built on these counts may be stated: each is zero or at least min_households()."""
    return all(pd.notna(c) and (c == 0 or c >= min_households()) for c in counts)


def last_row(table: pd.DataFrame) -> pd.Series | None:
    return table.sort_values("year").iloc[-1] if len(table) else None


def all_present(*values) -> bool:
    return all(v is not None and pd.notna(v) for v in values)


# ====================================================================================================
# the summary paragraph
# ====================================================================================================
def _poverty_sentence(ctx: Context) -> str:
    row = last_row(_fgt(ctx)[0])
    if row is None:
        return ""
    if not all_present(row["fgt0"]) and row["households"] > 0:
        return labels.text("monitoring.summary.poverty_few", ctx.lang, last=int(row["year"]), region=md(ctx.region),
                           threshold=row["threshold"], k=min_households())
    if not all_present(row["fgt0"]):
        return ""
    pref = ctx.slice(_prefecture(ctx, "poverty_fgt_prefecture"))
    pref = pref.loc[pref["year"] == row["year"], "fgt0"]
    ci = labels.text("monitoring.ci", ctx.lang, low=max(0.0, row["fgt0"] - _z() * row["fgt0_se"]),
                     high=row["fgt0"] + _z() * row["fgt0_se"]) if all_present(row["fgt0_se"]) else ""
    return labels.text("monitoring.summary.poverty", ctx.lang, last=int(row["year"]), region=md(ctx.region),
                       threshold=row["threshold"], fgt0=row["fgt0"], ci=ci,
                       pref=pref.iloc[0] if len(pref) else float("nan"), near=row["share_near_threshold"],
                       band=_spec(ctx).near_band)


def _coverage_sentence(ctx: Context) -> str:
    row = last_row(_protected_coverage(ctx))
    if row is None:
        return ""
    if all_present(row["households_targets"]) and row["households_targets"] == 0:
        return labels.text("monitoring.no_targets", ctx.lang)
    if not all_present(row["households_targets"]) or not _publishable(row["households_targets"]):
        return labels.text("monitoring.summary.coverage_few", ctx.lang, k=min_households())
    per_exited = row.get("persons_targets_per_exited", float("nan"))
    parts = [row[f"households_{t}"] for t in (*TARGET_TYPES, "active")]
    if not all_present(*parts):   # a blanked type: the sentence gives the total only, as the table does
        return labels.text("monitoring.summary.coverage_types_protected", ctx.lang, k=min_households(),
                           targets=count_text(row["households_targets"], ctx.lang), share=row["share_households_targets"],
                           per_exited=per_exited if all_present(per_exited) else float("nan"))
    return labels.text("monitoring.summary.coverage", ctx.lang, targets=count_text(row["households_targets"], ctx.lang),
                       share=row["share_households_targets"],
                       per_exited=per_exited if all_present(per_exited) else float("nan"),
                       unstable=count_text(row["households_unstable"], ctx.lang),
                       marginal=count_text(row["households_marginal"], ctx.lang),
                       sudden=count_text(row["households_sudden_hardship"], ctx.lang),
                       active=count_text(row["households_active"], ctx.lang))


def _gap_sentence(ctx: Context) -> str:
    row = last_row(ctx.slice(county_table(ctx, "monitoring_identification_gap_summary")))
    if row is None:
        return ""
    if row["households_gap"] == 0:
        return labels.text("monitoring.summary.no_gap", ctx.lang, last=int(row["year"]))
    return labels.text("monitoring.summary.gap", ctx.lang, last=int(row["year"]),
                       meeting=count_text(row["households_meeting_rules"], ctx.lang),
                       gap=count_text(row["households_gap"], ctx.lang))


def km_median(curve: pd.DataFrame) -> tuple[float, bool]:
    """Median time to elimination from a Kaplan-Meier curve: (months, reached).

    The median is the first event time at which the survival function is at or below one half; when
    it never gets there, the last event time is returned with ``reached`` False.
    """
    if curve.empty:
        return float("nan"), False
    below = curve.loc[curve["survival"] <= 0.5, "months"]
    return (float(below.iloc[0]), True) if len(below) else (float(curve["months"].max()), False)


def _elimination_sentence(ctx: Context) -> str:
    row = last_row(_elimination_frame(ctx))   # blanked as in the table, complements included
    if row is None or not all_present(row["elimination_rate"]) or not _publishable(row["targets"], row["eliminated"]):
        return ""
    text = labels.text("monitoring.summary.elimination", ctx.lang, last=int(row["year"]),
                       rate=row["elimination_rate"])
    months, reached = km_median(county_table(ctx, "monitoring_elimination_survival"))
    if all_present(months):
        key = "monitoring.summary.median" if reached else "monitoring.summary.median_not_reached"
        text += join_sentence(ctx, labels.text(key, ctx.lang, months=months))
    failed = ctx.slice(county_table(ctx, "monitoring_failed_eliminations_summary"))
    if len(failed):
        text += join_sentence(ctx, labels.text("monitoring.summary.failed", ctx.lang, first=ctx.first, last=ctx.last,
                                       eliminations=count_text(failed["eliminations"].sum(), ctx.lang),
                                       failed=count_text(failed["failed"].sum(), ctx.lang)))
    return text


def _return_sentence(ctx: Context) -> str:
    row = last_row(_returns_frame(ctx))   # blanked as in the table, complements included
    if row is None or not all_present(row["return_rate_exited"]) \
            or not _publishable(row["exited_pool"], row["exited_returned"]):
        return ""
    shown = all_present(row["eliminated_prev"], row["returned_after_elimination"]) and row["eliminated_prev"] > 0
    after = labels.text("monitoring.summary.returns_after", ctx.lang, returned=count_text(
        row["returned_after_elimination"], ctx.lang), eliminated=count_text(row["eliminated_prev"], ctx.lang)) \
        if shown else labels.text("monitoring.summary.end", ctx.lang)
    return labels.text("monitoring.summary.returns", ctx.lang, last=int(row["year"]),
                       exited=row["return_rate_exited"], after=after)


def _validity_rows(ctx: Context) -> pd.DataFrame:
    """The county's out-of-sample rows whose test transition lies within the report's years."""
    table = county_table(ctx, "monitoring_warning_validity")
    return table[(table["year"] >= ctx.first) & (table["year_next"] <= ctx.last)].reset_index(drop=True)


def _warning_sentence(ctx: Context) -> str:
    table = _validity_rows(ctx)
    if table.empty:
        return ""
    score = table[table["model"] == "score"].iloc[-1]
    logit = table[(table["model"] == "logit") & (table["year"] == score["year"])].iloc[-1]
    years = {"year": int(score["year"]), "year_next": int(score["year_next"])}
    if score["events"] == 0 or not all_present(score["auc"]):
        return labels.text("monitoring.summary.warning_no_events", ctx.lang, **years)
    if score["events"] < min_events():   # one household would move the AUC by a large step
        return labels.text("monitoring.summary.warning_few_events", ctx.lang, k=min_events(), **years)
    text = labels.text("monitoring.summary.warning", ctx.lang, auc=score["auc"], auc_logit=logit["auc"], **years)
    if score["warned"] == 0:
        text += join_sentence(ctx, labels.text("monitoring.summary.warning_none", ctx.lang))
    elif _publishable(score["warned"], score["hits"]):
        text += join_sentence(ctx, labels.text("monitoring.summary.warning_precision", ctx.lang,
                                       warned=count_text(score["warned"], ctx.lang), precision=score["precision"]))
    else:
        text += join_sentence(ctx, labels.text("monitoring.summary.warning_hits", ctx.lang,
                                       warned=count_text(score["warned"], ctx.lang), hits=count_text(score["hits"], ctx.lang)))
    if all_present(logit["auc"]):
        key = "monitoring.summary.score_better" if score["auc"] >= logit["auc"] else "monitoring.summary.score_worse"
        text += join_sentence(ctx, labels.text(key, ctx.lang))
    return text


def join_sentence(ctx: Context, sentence: str) -> str:
    """``sentence`` ready to follow another one (Chinese needs no space between sentences)."""
    return sentence if ctx.lang == "zh" else f" {sentence}"


def monitoring_summary(ctx: Context) -> Markdown:
    """A plain-language paragraph: poverty, coverage, the 应纳尽纳 gap, elimination, returns, warnings."""
    sentences = [_poverty_sentence(ctx), _coverage_sentence(ctx), _gap_sentence(ctx),
                 _elimination_sentence(ctx), _return_sentence(ctx), _warning_sentence(ctx)]
    text = ("" if ctx.lang == "zh" else " ").join(s for s in sentences if s)
    return Markdown(text or labels.text("monitoring.no_data", ctx.lang))


# ====================================================================================================
# poverty and basic needs
# ====================================================================================================
FGT_COLUMNS = ("fgt0", "fgt1", "fgt2", "fgt0_se", "fgt1_se", "fgt2_se")


def _fgt(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The county's and prefecture's FGT rows; the county's FGT measures are blanked in a year when 1 to
    k - 1 households are below the threshold (the measures rest on those few households)."""
    region = ctx.slice(county_table(ctx, "poverty_fgt"))
    few = region["households_poor"].between(1, min_households() - 1) if "households_poor" in region else \
        pd.Series(False, index=region.index)
    region = region.assign(**{c: region[c].mask(few) for c in FGT_COLUMNS})
    return region, ctx.slice(_prefecture(ctx, "poverty_fgt_prefecture"))


def poverty_figure(ctx: Context):
    """FGT0, FGT1 and FGT2 by year with 95% intervals, county against prefecture."""
    region, pref = _fgt(ctx)
    if region.empty:
        return page_message(ctx, "monitoring.no_data")
    return plots_monitoring.fgt_trend(region, pref, ctx.region, _z(), ctx.lang)


def near_threshold_figure(ctx: Context):
    """Share of persons below the threshold and just above it (1 to ``NEAR_BAND`` times)."""
    region, pref = _fgt(ctx)
    if region.empty:
        return page_message(ctx, "monitoring.no_data")
    return plots_monitoring.near_threshold(region, pref, ctx.region, _spec(ctx).near_band, ctx.lang)


def _poverty_frame(ctx: Context) -> pd.DataFrame:
    region, pref = _fgt(ctx)
    cols = ["year", "households", "villages", "threshold", "fgt0", "fgt0_se", "fgt1", "fgt1_se", "fgt2",
            "fgt2_se", "share_near_threshold"]
    table = region[cols].merge(pref[["year", "fgt0"]].rename(columns={"fgt0": "fgt0_prefecture"}),
                               on="year", how="left")
    return _suppress(table, {"households": [c for c in cols if c not in ("year", "households", "threshold")]})


def poverty_table(ctx: Context):
    """FGT measures by year with 95% intervals (village-clustered), near-threshold share, prefecture."""
    table = _poverty_frame(ctx)
    if table.empty:
        return page_message(ctx, "monitoring.no_data")
    z = _z()
    for a, fmt in ((0, "{:.1%}"), (1, "{:.2%}"), (2, "{:.2%}")):
        low = (table[f"fgt{a}"] - z * table[f"fgt{a}_se"]).clip(lower=0)
        high = table[f"fgt{a}"] + z * table[f"fgt{a}_se"]
        table[f"fgt{a}_ci"] = [f"{fmt.format(lo)}–{fmt.format(hi)}" if pd.notna(lo) and pd.notna(hi) else None
                               for lo, hi in zip(low, high, strict=True)]
    shown = table[["year", "households", "threshold", "fgt0", "fgt0_ci", "fgt1", "fgt1_ci", "fgt2", "fgt2_ci",
                   "share_near_threshold", "fgt0_prefecture"]]
    return styled_table(shown, ctx.lang, labels.text("monitoring.captions.poverty", ctx.lang),
                   {"households": "{:,.0f}", "threshold": "{:,.0f}", "fgt0": "{:.1%}", "fgt1": "{:.2%}",
                    "fgt2": "{:.2%}", "share_near_threshold": "{:.1%}", "fgt0_prefecture": "{:.1%}"})


def growth_incidence_figure(ctx: Context):
    """Growth incidence curve between the data's first and last year, with its bootstrap band."""
    gic = county_table(ctx, "poverty_growth_incidence")
    if gic.empty or gic["growth"].isna().all():
        return page_message(ctx, "monitoring.too_few")
    return plots_monitoring.growth_incidence(gic, _prefecture(ctx, "poverty_growth_incidence_prefecture"),
                                             ctx.region, ctx.lang)


def _indicator_label(name: str, lang: str) -> str:
    spec = config.load_yaml("basic_needs.yaml").get("indicators", {}).get(name, {})
    return _label(f"monitoring.indicators.{name}", lang, spec.get(f"label_{lang}", name))


def basic_needs_figure(ctx: Context):
    """H and M0 by year, and each indicator's contribution to M0 (or its deprivation share if M0 is 0)."""
    table = ctx.slice(county_table(ctx, "poverty_basic_needs"))
    if table.empty or (table["households"] == 0).all():
        return page_message(ctx, "monitoring.no_data")
    names = [c.removeprefix("dep_") for c in table.columns if c.startswith("dep_")]
    return plots_monitoring.basic_needs(table, {n: _indicator_label(n, ctx.lang) for n in names}, ctx.lang)


def _basic_needs_frame(ctx: Context) -> pd.DataFrame:
    """Rows H, A, M0, then per indicator the share not secured and its contribution; a column per year."""
    table = ctx.slice(county_table(ctx, "poverty_basic_needs"))
    names = [c.removeprefix("dep_") for c in table.columns if c.startswith("dep_")]
    shares = ["H", "A", "M0", *[f"dep_{n}" for n in names], *[f"contrib_{n}" for n in names]]
    table = _suppress(table, {"households": shares})
    rows = {labels.text(f"columns.{c}", ctx.lang): table[c] for c in ("H", "A", "M0")}
    rows.update({labels.text("monitoring.not_secured", ctx.lang, label=_indicator_label(n, ctx.lang)):
                 table[f"dep_{n}"] for n in names})
    rows.update({labels.text("monitoring.contribution_of", ctx.lang, label=_indicator_label(n, ctx.lang)):
                 table[f"contrib_{n}"] for n in names})
    rows[labels.text("columns.households", ctx.lang)] = table["households"]
    frame = pd.DataFrame(rows).T.astype("float64")
    frame.columns = table["year"].astype(int).tolist()
    return frame.rename_axis(labels.text("columns.indicator", ctx.lang)).reset_index()


def basic_needs_table(ctx: Context):
    """Alkire-Foster H, A, M0 and per-indicator shares by year (years as columns)."""
    frame = _basic_needs_frame(ctx)
    if frame.shape[1] <= 1:
        return page_message(ctx, "monitoring.no_data")
    years = frame.columns[1:]
    k = ctx.slice(county_table(ctx, "poverty_basic_needs"))["k"].iloc[0]
    caption = labels.text("monitoring.captions.basic_needs", ctx.lang, k=float(k))
    style = styled_table(frame, ctx.lang, caption, {})
    style = style.format("{:.1%}", subset=pd.IndexSlice[frame.index[:-1], years], na_rep="–")
    return style.format("{:,.0f}", subset=pd.IndexSlice[frame.index[-1:], years], na_rep="–")


# ====================================================================================================
# coverage and the identification gap (应纳尽纳)
# ====================================================================================================
def _group_label(group: str, lang: str) -> str:
    if group == "targets":
        return labels.text("monitoring.targets_all", lang)
    if group == "active":
        return labels.text("monitoring.targets_active", lang)
    return labels.code_label("monitoring_type", group, lang)


def _protected_coverage(ctx: Context) -> pd.DataFrame:
    """The county's coverage rows with small counts blanked and their complements, so that no blanked
    count can be recovered from the total: the three types add up to all targets, and still-monitored
    plus eliminated targets add up to them too (:func:`analysis.core.disclosure.suppress_parts`)."""
    table = ctx.slice(county_table(ctx, "monitoring_coverage"))
    k = min_households()
    deps = {f"households_{g}": [f"persons_{g}", f"share_households_{g}", f"share_persons_{g}"]
            for g in (*TARGET_TYPES, "targets")}
    deps = {c: [d for d in cols if d in table.columns] for c, cols in deps.items()}
    table = table.assign(households_left=table["households_targets"] - table["households_active"])
    out = suppress_parts(table, [f"households_{t}" for t in TARGET_TYPES], k=k, total="households_targets",
                         dependents=deps)
    split = suppress_parts(table, ["households_active", "households_left"], k=k, total="households_targets")
    hidden_total = out["households_targets"].isna() | split["households_targets"].isna()
    out = out.assign(households_active=split["households_active"].mask(hidden_total),
                     persons_active=out["persons_active"].mask(split["households_active"].isna() | hidden_total))
    for c in ["households_targets", *deps["households_targets"]]:
        out[c] = out[c].mask(hidden_total)
    return out.drop(columns="households_left")


def _coverage_frame(ctx: Context) -> pd.DataFrame:
    """Long table: year x group (the three types, all targets, still monitored) with counts and shares."""
    table = _protected_coverage(ctx)
    parts = []
    for group in (*TARGET_TYPES, "targets", "active"):  # five groups, each over all years
        parts.append(pd.DataFrame({
            "year": table["year"], "target_group": _group_label(group, ctx.lang),
            "households": table[f"households_{group}"], "persons": table[f"persons_{group}"],
            "share_households": table[f"households_{group}"] / table["households"],
            "share_persons": table[f"persons_{group}"] / table["persons"]}))
    frame = pd.concat(parts).sort_values("year", kind="stable", ignore_index=True) if parts else pd.DataFrame()
    return _suppress(frame, {"households": ["persons", "share_households", "share_persons"]})


def coverage_figure(ctx: Context):
    """Monitoring targets as a share of households by type and year, with the share still monitored;
    the same cells as the table are left out (blank bars), so the figure discloses nothing more."""
    table = _protected_coverage(ctx)
    if table.empty:
        return page_message(ctx, "monitoring.no_data")
    names = {t: _group_label(t, ctx.lang) for t in (*TARGET_TYPES, "active")}
    return plots_monitoring.coverage(table, names, ctx.lang)


def coverage_table(ctx: Context):
    frame = _coverage_frame(ctx)
    if frame.empty:
        return page_message(ctx, "monitoring.no_data")
    return styled_table(frame, ctx.lang, labels.text("monitoring.captions.coverage", ctx.lang),
                   {"households": "{:,.0f}", "persons": "{:,.0f}", "share_households": "{:.1%}",
                    "share_persons": "{:.1%}"})


def _gap_frame(ctx: Context) -> pd.DataFrame:
    table = ctx.slice(county_table(ctx, "monitoring_identification_gap_summary"))
    rules = [c for c in table.columns if c.startswith("gap_") and c != "gap_share"]
    cols = ["year", "households_meeting_rules", "households_gap", "gap_share", "persons_gap", *rules]
    return _suppress(table[cols], {"households_meeting_rules": ["gap_share"],
                                   "households_gap": ["persons_gap", "gap_share"], **{r: [] for r in rules}})


def gap_table(ctx: Context):
    """Households meeting an identification rule but not monitored, by year and rule (counts)."""
    frame = _gap_frame(ctx)
    if frame.empty:
        return page_message(ctx, "monitoring.no_data")
    counts = {c: "{:,.0f}" for c in frame.columns if c not in ("year", "gap_share")}
    return styled_table(frame, ctx.lang, labels.text("monitoring.captions.gap", ctx.lang),
                   {**counts, "gap_share": "{:.0%}"})


def _rule_names(rules: pd.Series, lang: str) -> pd.Series:
    sep = labels.text("monitoring.flag_sep", lang)
    return rules.map(lambda r: sep.join(_label(f"monitoring.rules.{n}", lang, n) for n in str(r).split("+")))


def _last_year(ctx: Context, table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the report's last year (or the table's latest, if earlier)."""
    return table[table["year"] == min(ctx.last, table["year"].max())] if len(table) else table


def _parts_of_known_total(counts: pd.Series) -> pd.Series:
    """Rows that add up to a total published elsewhere (the gap table's): small ones blanked with their
    complements (:func:`analysis.core.disclosure.suppress_parts` over the rows)."""
    if counts.empty:
        return counts
    row = pd.DataFrame([counts.to_numpy()], columns=[str(i) for i in range(len(counts))])
    shown = suppress_parts(row, list(row.columns), k=min_households()).iloc[0]
    return pd.Series(shown.to_numpy(dtype="float64"), index=counts.index)


def _overlap_frame(ctx: Context) -> pd.DataFrame:
    """Households by combination of rules met (last year); the rows add up to the gap table's households
    meeting a rule (and not monitored), so small rows are blanked with complementary ones."""
    table = _last_year(ctx, county_table(ctx, "monitoring_identification_overlap"))
    out = table[["year", "rules", "households", "households_gap"]].assign(rules=_rule_names(table["rules"], ctx.lang))
    return out.assign(households=_parts_of_known_total(out["households"]),
                      households_gap=_parts_of_known_total(out["households_gap"]))


def _sensitivity_frame(ctx: Context) -> pd.DataFrame:
    table = _last_year(ctx, county_table(ctx, "monitoring_identification_sensitivity"))
    value = [f"{v:g}{' ★' if c else ''}" for v, c in zip(table["value"], table["configured"])]
    out = table[["year", "households_meeting_rules", "households_gap"]].assign(
        rule=table["rule"].map(lambda r: _label(f"monitoring.rules.{r}", ctx.lang, r)),
        parameter=table["parameter"].map(lambda p: _label(f"monitoring.parameters.{p}", ctx.lang, p)), value=value)
    out = out[["year", "rule", "parameter", "value", "households_meeting_rules", "households_gap"]]
    # counts at neighbouring values of one parameter differ by the households in between: shown counts
    # differ from each other, and from the configured count, by 0 or at least k households
    for _, rows in table.groupby(["rule", "parameter"], sort=False):   # a few parameters, a few values each
        for col in ("households_meeting_rules", "households_gap"):
            out.loc[rows.index, col] = suppress_differences(rows[col], rows["configured"], k=min_households())
    return out


_RULE_COUNTS = {"households": "{:,.0f}", "households_gap": "{:,.0f}", "households_meeting_rules": "{:,.0f}"}


def _rule_table(ctx: Context, frame: pd.DataFrame, caption: str):
    if frame.empty:
        return page_message(ctx, "monitoring.no_data")
    title = labels.text(f"monitoring.captions.{caption}", ctx.lang, year=int(frame["year"].iloc[0]))
    return styled_table(frame.drop(columns="year"), ctx.lang, title, _RULE_COUNTS)


def rule_overlap_table(ctx: Context):
    """Households by the combination of identification rules they meet (each household once), last year."""
    return _rule_table(ctx, _overlap_frame(ctx), "rule_overlap")


def rule_sensitivity_table(ctx: Context):
    """How the identification gap moves when one rule parameter moves (the others as configured), last year."""
    return _rule_table(ctx, _sensitivity_frame(ctx), "rule_sensitivity")


def _rules_text(table: pd.DataFrame, columns: list[str], prefix: str, lang: str) -> pd.Series:
    """The names of the flags set on each row, joined (a loop over the few flags, not the rows)."""
    sep = labels.text("monitoring.flag_sep", lang)
    joined = pd.Series("", index=table.index, dtype="string")
    for col in columns:
        name = col.removeprefix(prefix)
        text = _label(f"monitoring.{'rules' if prefix == 'rule_' else 'flags'}.{name}", lang, name)
        joined = joined + np.where(table[col].astype("boolean").fillna(False), text + sep, "")
    return joined.str.removesuffix(sep)


def _gap_list_frame(ctx: Context) -> pd.DataFrame:
    table = ctx.slice(county_table(ctx, "monitoring_identification_gap"))
    rules = [c for c in table.columns if c.startswith("rule_")]
    out = table[["year", "household_id", "township", "village"]].copy()
    out["rules_hit"] = _rules_text(table, rules, "rule_", ctx.lang)
    return out.sort_values(["year", "township", "village", "household_id"], ignore_index=True)


def gap_list(ctx: Context) -> Markdown:
    """Where the 应纳尽纳 follow-up list is: household-level lists never enter a published page or workbook;
    :func:`follow_up_tables` gives them to ``python -m analysis follow-up`` (restricted output)."""
    if _gap_list_frame(ctx).empty:
        return page_message(ctx, "monitoring.no_gap")
    return _follow_up_note(ctx)


def _follow_up_note(ctx: Context) -> Markdown:
    return Markdown(labels.text("monitoring.follow_up_note", ctx.lang, region=md(ctx.region)))


def follow_up_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The household-level follow-up lists (pseudonymous ids, township, village), for the restricted output
    of ``python -m analysis follow-up``: the identification gap, questionable eliminations and the early
    warning's predictions. Never published: :func:`monitoring_tables` leaves them out."""
    return {"gap_list": _gap_list_frame(ctx),
            "failed_list": _failed_list_frame(ctx).rename(columns={"rules_hit": "failed_reason"}),
            # a household's own red warning, yes or no (``warned`` elsewhere counts warned households)
            "warning_predictions": _warning_predictions_frame(ctx).rename(columns={"warned": "warned_red"})}


# ====================================================================================================
# risk elimination
# ====================================================================================================
def survival_figure(ctx: Context):
    """Kaplan-Meier curve of time to risk elimination, county against prefecture."""
    curve = county_table(ctx, "monitoring_elimination_survival")
    if curve.empty:
        return page_message(ctx, "monitoring.no_targets")
    return plots_monitoring.survival(curve, _prefecture(ctx, "monitoring_elimination_survival_prefecture"),
                                     ctx.region, _spec(ctx).min_months_monitored, ctx.lang)


def _elimination_frame(ctx: Context) -> pd.DataFrame:
    table = ctx.slice(county_table(ctx, "monitoring_elimination"))
    cols = ["year", "targets", "eliminated", "elimination_rate", "eliminated_in_year", "assisted", "natural",
            "months_mean", "months_median"]
    # eliminated and not-yet-eliminated add up to the targets, by assistance and naturally to the year's
    # eliminations: a small count is blanked with a complement (or its total), so it cannot be recovered
    k = min_households()
    frame = table[cols].assign(_left=table["targets"] - table["eliminated"])
    frame = suppress_parts(frame, ["eliminated", "_left"], k=k, total="targets",
                           dependents={"eliminated": ["elimination_rate"], "targets": ["elimination_rate"]})
    frame = suppress_parts(frame, ["assisted", "natural"], k=k, total="eliminated_in_year",
                           dependents={"eliminated_in_year": ["months_mean", "months_median"]})
    return frame.drop(columns="_left")


def elimination_table(ctx: Context):
    frame = _elimination_frame(ctx)
    if frame.empty:
        return page_message(ctx, "monitoring.no_data")
    counts = {c: "{:,.0f}" for c in ("targets", "eliminated", "eliminated_in_year", "assisted", "natural")}
    return styled_table(frame, ctx.lang, labels.text("monitoring.captions.elimination", ctx.lang),
                   {**counts, "elimination_rate": "{:.0%}", "months_mean": "{:.1f}", "months_median": "{:.1f}"})


def _failed_frame(ctx: Context) -> pd.DataFrame:
    table = ctx.slice(county_table(ctx, "monitoring_failed_eliminations_summary"))
    cols = ["year", "eliminations", "failed", "failed_share", *FAILED_FLAGS]
    # questionable and accepted eliminations add up to the eliminations: blanked with a complement
    frame = suppress_parts(table[cols].assign(_ok=table["eliminations"] - table["failed"]), ["failed", "_ok"],
                           k=min_households(), total="eliminations",
                           dependents={"failed": ["failed_share"], "eliminations": ["failed_share"]})
    return _suppress(frame.drop(columns="_ok"), {f: [] for f in FAILED_FLAGS})


def failed_table(ctx: Context):
    """Questionable eliminations per year: income still in range, monitored too briefly, no labour."""
    frame = _failed_frame(ctx)
    if frame.empty:
        return page_message(ctx, "monitoring.no_targets")
    counts = {c: "{:,.0f}" for c in ("eliminations", "failed", *FAILED_FLAGS)}
    caption = labels.text("monitoring.captions.failed", ctx.lang)
    return styled_table(frame, ctx.lang, caption, {**counts, "failed_share": "{:.0%}"})


def _failed_list_frame(ctx: Context) -> pd.DataFrame:
    table = ctx.slice(county_table(ctx, "monitoring_failed_eliminations"))
    out = table[["year", "household_id", "township", "village", "monitoring_type", "monitoring_start",
                 "elimination_date", "months_monitored"]].copy()
    out["monitoring_type"] = out["monitoring_type"].map(lambda c: labels.code_label("monitoring_type", c, ctx.lang))
    out["rules_hit"] = _rules_text(table, list(FAILED_FLAGS), "", ctx.lang)
    for col in ("monitoring_start", "elimination_date"):
        out[col] = out[col].dt.date
    return out.sort_values(["year", "township", "village", "household_id"], ignore_index=True)


def failed_list(ctx: Context) -> Markdown:
    """Where the list of questionable eliminations is (restricted output, see :func:`gap_list`)."""
    if _failed_list_frame(ctx).empty:
        return page_message(ctx, "monitoring.no_failed")
    return _follow_up_note(ctx)


# ====================================================================================================
# transitions and returns
# ====================================================================================================
def _transitions(ctx: Context) -> pd.DataFrame:
    table = county_table(ctx, "monitoring_transitions")
    return table[(table["year_from"] >= ctx.first) & (table["year_to"] <= ctx.last)].reset_index(drop=True)


def transition_matrix(table: pd.DataFrame, year_from: int) -> pd.DataFrame:
    """Households by status (rows: year_from, columns: next year) for one pair of years, all four
    statuses present (absent transitions are zero)."""
    pair = table[table["year_from"] == year_from]
    matrix = pair.pivot_table(index="status_from", columns="status_to", values="households", aggfunc="sum")
    return matrix.reindex(index=list(STATUS_ORDER), columns=list(STATUS_ORDER)).fillna(0).astype("int64")


def _return_parts(ctx: Context) -> pd.DataFrame:
    """The county's return rows with each part of a shown total blanked with its complement
    (:func:`analysis.core.disclosure.suppress_parts`): returned and not returned after elimination add up
    to the households eliminated the year before, returned and not returned poverty-exited households to
    the pool. The breakdown of returns (fell below the threshold, newly monitored; a household can be
    both) is shown only when the three groups it implies (only fell, only newly monitored, both) are
    each zero or at least :func:`analysis.config.min_households` and the returns are shown."""
    table = ctx.slice(county_table(ctx, "monitoring_return_rates"))
    k = min_households()
    frame = table.assign(_stayed=table["eliminated_prev"] - table["returned_after_elimination"],
                         _clear=table["exited_pool"] - table["exited_returned"])
    frame = suppress_parts(frame, ["returned_after_elimination", "_stayed"], k=k, total="eliminated_prev",
                           dependents={"returned_after_elimination": ["return_rate_eliminated"],
                                       "eliminated_prev": ["return_rate_eliminated"]})
    frame = suppress_parts(frame, ["exited_returned", "_clear"], k=k, total="exited_pool",
                           dependents={c: ["return_rate_exited", "return_rate_exited_persons"]
                                       for c in ("exited_returned", "exited_pool")})
    back, fell, newly = (table[c].astype("float64") for c in ("exited_returned", "exited_fell_below",
                                                              "exited_newly_monitored"))
    groups = pd.concat([back - newly, back - fell, fell + newly - back], axis=1)
    breakdown = frame["exited_returned"].notna() & ((groups == 0) | (groups >= k)).all(axis=1)
    for c in ("exited_fell_below", "exited_newly_monitored"):
        frame[c] = frame[c].astype("Int64").where(breakdown)
    return frame.drop(columns=["_stayed", "_clear"])


def protected_transitions(ctx: Context) -> pd.DataFrame:
    """Every cell of the transition matrix of each pair of the report's years (zeros included), with the
    blanked cells missing: ``year_from``, ``year_to``, ``status_from``, ``status_to``, ``households``,
    ``share`` (of the row), ``blanked`` and ``row_withheld`` (the row's total must not be shown: its blanks
    could not be protected otherwise).

    The row and column totals of a matrix are known to readers (households by status in each year), so
    cells are blanked by two-way complementary suppression (:func:`analysis.core.disclosure.suppress_cells`):
    no blank follows from its row or column. The cell eliminated -> returned is the return table's count of
    households returned after elimination: blanked here whenever that table blanks it (and read back by
    it). A row's shares are shown only where its cell is, and not at all for a row whose total is withheld.
    """
    table = _transitions(ctx)
    returns = _return_parts(ctx).set_index("year")
    k = min_households()
    frames = []
    for year_from in sorted(table["year_from"].unique()):   # one small matrix per pair of years
        matrix = transition_matrix(table, int(year_from))
        forced = pd.DataFrame(False, index=matrix.index, columns=matrix.columns)
        if year_from + 1 in returns.index and pd.isna(returns.loc[year_from + 1, "returned_after_elimination"]):
            forced.loc["eliminated", "returned"] = True
        hidden = suppress_cells(matrix, k=k, hidden=forced)
        rows, _ = unprotected_lines(matrix, hidden, k=k)
        total = matrix.sum(axis=1)
        share = matrix.div(total.where(total > 0), axis=0).mask(hidden)
        share.loc[list(rows)] = np.nan
        long = pd.DataFrame({"households": matrix.astype("float64").mask(hidden).stack(future_stack=True),
                             "share": share.stack(future_stack=True),
                             "blanked": hidden.stack(future_stack=True)})
        long["row_withheld"] = long.index.get_level_values(0).isin(list(rows))
        long.index = long.index.set_names(["status_from", "status_to"])
        frames.append(long.reset_index().assign(year_from=int(year_from), year_to=int(year_from) + 1))
    cols = ["year_from", "year_to", "status_from", "status_to", "households", "share", "blanked", "row_withheld"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def transition_figure(ctx: Context):
    """Heatmap of status transitions between the latest pair of years, drawn from the same blanked cells as
    the table (:func:`protected_transitions`): a blanked cell shows '–' and no colour."""
    table = protected_transitions(ctx)
    if table.empty:
        return page_message(ctx, "monitoring.too_few")
    year_from = int(table["year_from"].max())
    pair = table[table["year_from"] == year_from]
    names = [labels.text(f"monitoring.statuses.{s}", ctx.lang) for s in STATUS_ORDER]

    def grid(col: str) -> pd.DataFrame:
        return pair.pivot(index="status_from", columns="status_to", values=col).reindex(
            index=list(STATUS_ORDER), columns=list(STATUS_ORDER))
    return plots_monitoring.transition_heatmap(grid("households"), grid("share"), names, year_from, year_from + 1,
                                               labels.text("monitoring.footnote", ctx.lang, k=min_households()),
                                               ctx.lang)


def _transitions_frame(ctx: Context) -> pd.DataFrame:
    """The transitions as published: observed transitions and blanked cells (a blanked zero is listed
    blank like any other blank; other zeros are left out, as before)."""
    table = protected_transitions(ctx)
    out = table[table["blanked"] | (table["households"] > 0)].drop(columns=["blanked", "row_withheld"])
    out = out.reset_index(drop=True)
    for col in ("status_from", "status_to"):
        out[col] = out[col].map(lambda s: labels.text(f"monitoring.statuses.{s}", ctx.lang))
    return out


def _returns_frame(ctx: Context) -> pd.DataFrame:
    """Return rows as published: :func:`_return_parts`, with the count of households returned after
    elimination blanked wherever the transition matrix blanks its cell (eliminated -> returned)."""
    frame = _return_parts(ctx)
    cols = ["year", "eliminated_prev", "returned_after_elimination", "return_rate_eliminated", "exited_pool",
            "exited_fell_below", "exited_newly_monitored", "exited_returned", "return_rate_exited",
            "return_rate_exited_persons"]
    cells = protected_transitions(ctx)
    cell = cells[(cells["status_from"] == "eliminated") & (cells["status_to"] == "returned")]
    blanked = frame["year"].isin(cell.loc[cell["blanked"], "year_to"])
    withheld = frame["year"].isin(cell.loc[cell["row_withheld"], "year_to"])   # the matrix row's total
    for c in ("returned_after_elimination", "return_rate_eliminated"):
        frame[c] = frame[c].mask(blanked | withheld)
    frame["eliminated_prev"] = frame["eliminated_prev"].mask(withheld)
    return frame[cols]


def return_table(ctx: Context):
    """Returns to risk after elimination and among poverty-exited households, by year."""
    frame = _returns_frame(ctx)
    if frame.empty:
        return page_message(ctx, "monitoring.too_few")
    counts = {c: "{:,.0f}" for c in frame.columns if c != "year" and not c.startswith("return_rate")}
    rates = {c: "{:.1%}" for c in frame.columns if c.startswith("return_rate")}
    return styled_table(frame, ctx.lang, labels.text("monitoring.captions.returns", ctx.lang), {**counts, **rates})


# ====================================================================================================
# early-warning validity
# ====================================================================================================
def roc_points(outcome, score) -> pd.DataFrame:
    """Receiver operating characteristic: hit rate (tpr) against false-alarm rate (fpr) when warning at
    each distinct score, highest first, from (0, 0) to (1, 1) (Fawcett 2006, Pattern Recognition Letters
    27(8)). Rows with a missing score are left out; empty when either class is absent."""
    y = np.asarray(outcome, dtype=bool)
    s = np.asarray(score, dtype=float)
    y, s = y[~np.isnan(s)], s[~np.isnan(s)]
    if y.all() or not y.any():
        return pd.DataFrame({"fpr": [], "tpr": []})
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last_of_tie = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp, fp = np.cumsum(y)[last_of_tie], np.cumsum(~y)[last_of_tie]
    return pd.DataFrame({"fpr": np.r_[0.0, fp / (~y).sum()], "tpr": np.r_[0.0, tp / y.sum()]})


def _predictions(ctx: Context) -> pd.DataFrame:
    """The county's test-year predictions (the latest validation within the report's years)."""
    table = county_table(ctx, "monitoring_warning_predictions")
    table = table[(table["year"] >= ctx.first) & (table["year_next"] <= ctx.last)]
    return table[table["year"] == table["year"].max()].reset_index(drop=True)


def warning_figure(ctx: Context):
    """ROC curves of the points score and the Logit on the county's test year, red cut marked."""
    pred = _predictions(ctx)
    if pred.empty:
        return page_message(ctx, "monitoring.no_validation")
    fell = pred["fell"].astype(bool)
    years = {"year": int(pred["year"].iloc[0]), "year_next": int(pred["year_next"].iloc[0])}
    if fell.all() or not fell.any():
        return Markdown(labels.text("monitoring.summary.warning_no_events", ctx.lang, **years))
    if fell.sum() < min_events() or (~fell).sum() < min_events():
        return Markdown(labels.text("monitoring.summary.warning_few_events", ctx.lang, k=min_events(), **years))
    warned = pred["warned"].astype(bool)
    curves = {labels.text(f"monitoring.models.{m}", ctx.lang): (roc_points(fell, pred[col]), auc)
              for m, col, auc in (("score", "risk_points", auc(fell, pred["risk_points"])),
                                  ("logit", "logit_prob", auc(fell, pred["logit_prob"])))}
    red = ((warned & ~fell).sum() / (~fell).sum(), (warned & fell).sum() / fell.sum())
    return plots_monitoring.roc(curves, red, int(pred["year"].iloc[0]), int(pred["year_next"].iloc[0]), ctx.lang)


def _warning_frame(ctx: Context) -> pd.DataFrame:
    county = _validity_rows(ctx)
    if county.empty:
        return pd.DataFrame()
    year = county["year"].max()
    county = county[county["year"] == year].assign(scope=labels.text("monitoring.level_county", ctx.lang))
    pref = _prefecture(ctx, "monitoring_warning_validity_prefecture")
    pref = pref[pref["year"] == year]
    scope = {s: labels.text(f"monitoring.level_prefecture_{s}", ctx.lang) for s in ("test", "train")}
    pref = pref.assign(scope=pref["sample"].map(scope))
    frame = pd.concat([county, pref.sort_values("sample", kind="stable")], ignore_index=True)
    frame["model"] = frame["model"].map(lambda m: labels.text(f"monitoring.models.{m}", ctx.lang))
    frame = frame[["scope", "model", "n", "events", "event_rate", "auc", "warned", "hits", "precision", "recall"]]
    frame = _suppress(frame, {"n": ["event_rate", "auc"], "events": ["event_rate", "recall"],
                              "warned": ["precision"], "hits": ["precision", "recall"]})
    # model figures resting on fewer than min_events() events are not shown
    few = frame["events"].isna() | (frame["events"] < min_events())
    return frame.assign(**{c: frame[c].mask(few) for c in ("auc", "precision", "recall")})


def warning_table(ctx: Context):
    """AUC, precision and recall of red warnings: county and prefecture out of sample, prefecture fit years."""
    frame = _warning_frame(ctx)
    if frame.empty:
        return page_message(ctx, "monitoring.no_validation")
    return styled_table(frame, ctx.lang, labels.text("monitoring.captions.warning", ctx.lang),
                   {"n": "{:,.0f}", "events": "{:,.0f}", "warned": "{:,.0f}", "hits": "{:,.0f}",
                    "event_rate": "{:.1%}", "auc": "{:.2f}", "precision": "{:.0%}", "recall": "{:.0%}"})


def _warning_outcomes_frame(ctx: Context) -> pd.DataFrame:
    """Households and falls below the threshold by warning level of the score, and by the Logit's warning."""
    pred = _predictions(ctx)
    if pred.empty:
        return pd.DataFrame()
    rules = risk_rules(_spec(ctx).risk_rules or None)["levels"]
    levels = [b["level"] for b in sorted(rules.get("bands", []), key=lambda b: -b["above"])] + [rules["default"]]
    score = labels.text("monitoring.models.score", ctx.lang)
    groups = pd.concat([
        pd.DataFrame({"group": pred["warning"].astype("string"), "fell": pred["fell"].astype(bool)}),
        pd.DataFrame({"group": np.where(pred["logit_warned"].astype("boolean").fillna(False), "logit_warned",
                                        "logit_quiet"), "fell": pred["fell"].astype(bool)})])
    sums = groups.groupby("group")["fell"].agg(["size", "sum"]).reindex([*levels, "logit_warned", "logit_quiet"],
                                                                        fill_value=0)
    names = [labels.text("monitoring.series", ctx.lang, name=score,
                         what=_label(f"monitoring.warning_levels.{lv}", ctx.lang, lv)) for lv in levels]
    names += [labels.text("monitoring.logit_warned", ctx.lang), labels.text("monitoring.logit_quiet", ctx.lang)]
    frame = pd.DataFrame({"warning_group": names, "group_households": sums["size"].to_numpy(),
                          "fell_households": sums["sum"].to_numpy()})
    frame["share_fell"] = frame["fell_households"] / frame["group_households"].where(frame["group_households"] > 0)
    return _suppress(frame, {"group_households": ["share_fell"], "fell_households": ["share_fell"]})


def warning_outcomes_table(ctx: Context):
    """Which warnings were right: households and those falling below the threshold next year, by level."""
    frame = _warning_outcomes_frame(ctx)
    if frame.empty:
        return page_message(ctx, "monitoring.no_validation")
    pred = _predictions(ctx)
    caption = labels.text("monitoring.captions.warning_outcomes", ctx.lang, year=int(pred["year"].iloc[0]),
                          year_next=int(pred["year_next"].iloc[0]))
    return styled_table(frame, ctx.lang, caption, {"group_households": "{:,.0f}", "fell_households": "{:,.0f}",
                                              "share_fell": "{:.0%}"})


# ====================================================================================================
# Excel export
# ====================================================================================================
def _warning_predictions_frame(ctx: Context) -> pd.DataFrame:
    pred = _predictions(ctx)
    cols = ["household_id", "year", "year_next", "township", "village", "risk_points", "warning", "warned",
            "logit_prob", "logit_warned", "fell", "outcome"]
    out = pred[[c for c in cols if c in pred.columns]].copy()
    out["outcome"] = out["outcome"].map(lambda o: _label(f"monitoring.outcomes.{o}", ctx.lang, o))
    out["warning"] = out["warning"].map(lambda w: _label(f"monitoring.warning_levels.{w}", ctx.lang, w))
    return out


def _survival_frame(ctx: Context) -> pd.DataFrame:
    curve = county_table(ctx, "monitoring_elimination_survival")
    return _suppress(curve[["months", "survival", "conf_low", "conf_high", "at_risk"]], {"at_risk": []})


def monitoring_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The tables of the monitoring report, by sheet name, as published: cells under ``min_households()``
    households blank; no household-level list (those are :func:`follow_up_tables`)."""
    gic = county_table(ctx, "poverty_growth_incidence")
    basic = _basic_needs_frame(ctx)   # rows of shares, the last the households: formatted row by row
    basic = workbook.declare(basic, rows={y: ["share"] * (len(basic) - 1) + ["count"] for y in basic.columns[1:]})
    return {"poverty": _poverty_frame(ctx), "basic_needs": basic,
            "growth_incidence": gic.drop(columns=["prefecture", "county"]),
            "coverage": _coverage_frame(ctx), "gap_summary": _gap_frame(ctx), "rule_overlap": _overlap_frame(ctx),
            "rule_sensitivity": _sensitivity_frame(ctx),
            "elimination": _elimination_frame(ctx), "survival": _survival_frame(ctx),
            "failed_summary": _failed_frame(ctx),
            "transitions": _transitions_frame(ctx), "return_rates": _returns_frame(ctx),
            "warning_validity": _warning_frame(ctx), "warning_outcomes": _warning_outcomes_frame(ctx)}
