"""The post-assessment page (后评估, notebook ``05-post-assessment``) and the scores of the report index.

A rank needs all peers, so every county of every prefecture is scored together by the study
:mod:`analysis.studies.post_assessment` (build step ``assessment``): indicator table, composite scores,
scorecard, bootstrap score and rank intervals, what may be said about each county's place, and the
sensitivity of ranks to the weights. The functions here read one prefecture's rows (stored, or of
``ctx.study`` when the notebook asks for another specification through :func:`analysis.build.study`)
and render them for a county (highlighted among its peers) or for the whole prefecture. Every displayed word comes from ``analysis/config/messages_assessment.yaml``;
indicator, dimension and grade labels from ``analysis/config/assessment.yaml``.

Examples
--------
>>> from analysis.reporting import assessment
>>> ctx = assessment.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> assessment.summary(ctx)  # doctest: +SKIP
>>> assessment.index_scores()  # doctest: +SKIP
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis import build
from analysis.config import DATA_PROCESSED, min_households
from analysis.core.disclosure import suppress_small
from analysis.errors import ParameterError
from analysis.io import data
from analysis.reporting import labels, plots, plots_assessment, text, workbook
from analysis.reporting.page import Context
from analysis.reporting.text import md
from analysis.studies import assessment

KEYS = ["prefecture", "county", "year"]
DASH = "–"


# --------------------------------------------------------------------------------------------------
# Parameters of the notebook
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AssessmentContext(Context):
    """A report's validated parameters; ``level`` is 'county' or 'prefecture', ``last`` the assessment year."""

    level: str = "county"

    @property
    def county(self) -> str | None:
        return self.region if self.level == "county" else None


def context(region: str, years: list[int], data_dir: str = "", lang: str = "zh") -> AssessmentContext:
    """Check the notebook's parameters; ``region`` is a county or a prefecture of the data.

    The assessment year is the latest year within ``years`` that has scores. Raises
    :class:`~analysis.errors.ParameterError` naming the valid counties and prefectures, or the years.
    """
    labels.check_lang(lang)
    folder = Path(data_dir) if data_dir else DATA_PROCESSED
    if (not isinstance(years, list | tuple) or len(years) != 2
            or not all(isinstance(y, int) and not isinstance(y, bool) for y in years) or years[0] > years[1]):
        raise ParameterError(f"years must be [first, last] with first <= last, not {years!r}")
    counties, prefectures = data.list_regions(folder, "county"), data.list_regions(folder, "prefecture")
    if region in counties:
        level = "county"
    elif region in prefectures:
        level = "prefecture"
    else:
        raise ParameterError(f"unknown region {region!r}: give a county or a prefecture of the data; counties: "
                             f"{', '.join(counties)}; prefectures: {', '.join(prefectures)}")
    scores = build.load("assessment_scores", folder, region=region, level=level)
    available = sorted(int(y) for y in scores.loc[scores["composite"].notna(), "year"].unique())
    within = [y for y in available if years[0] <= y <= years[1]]
    if not within:
        raise ParameterError(f"{region} has no assessment scores in {years[0]}-{years[1]}; it has years {available}")
    plots.setup(lang)
    sources = folder / "sources.json"
    synthetic = sources.exists() and json.loads(sources.read_text(encoding="utf-8")).get("synthetic", False)
    return AssessmentContext(region, years[0], within[-1], lang, folder, str(scores["prefecture"].iloc[0]),
                             bool(synthetic), level)


# --------------------------------------------------------------------------------------------------
# Reading and labelling
# --------------------------------------------------------------------------------------------------

def _system(ctx: AssessmentContext) -> assessment.System:
    """The indicator system of the page's specification (the shipped one unless the notebook chose another)."""
    return ctx.study.spec.load_system() if ctx.study is not None else assessment.load_system()


def _load(ctx: AssessmentContext, name: str) -> pd.DataFrame:
    """A result table's rows for the report's prefecture (every county: ranks need the peers)."""
    if ctx.study is not None and name in ctx.study:
        table = ctx.study[name]
        return table[table["prefecture"] == ctx.prefecture].reset_index(drop=True)
    return build.load(name, ctx.data_dir, region=ctx.prefecture, level="prefecture")


def _text(key: str, ctx: AssessmentContext, **values) -> str:
    return labels.text(f"assessment.{key}", ctx.lang, **values)


def _column(code: str, lang: str) -> str:
    return labels.text(f"assessment.columns.{code}", lang)


def _format(code: str, lang: str, signed: bool = False) -> str:
    try:
        template = labels.text(f"assessment.formats.{code}", lang)
    except KeyError:
        template = labels.text("assessment.formats.default", lang)
    return template.replace("{:", "{:+", 1) if signed and "{:+" not in template else template


def _show(value, code: str, lang: str, signed: bool = False) -> str:
    return DASH if pd.isna(value) else _format(code, lang, signed).format(float(value))


def _int(value) -> int | str:
    return DASH if pd.isna(value) else int(value)


@dataclass(frozen=True)
class _Peers:
    """The prefecture's counties in the assessment year: scores joined with intervals and statements."""

    table: pd.DataFrame
    has_intervals: bool
    interval_year: int | None
    level: float
    n_boot: int


def _peers(ctx: AssessmentContext) -> _Peers:
    system = _system(ctx)
    scores = _load(ctx, "assessment_scores")
    scores = scores[scores["year"] == ctx.last]
    intervals, statements = _load(ctx, "assessment_intervals"), _load(ctx, "assessment_rank_statements")
    interval_year = int(intervals["year"].max()) if len(intervals) else None
    extra = ["composite_median", "composite_low", "composite_high", "rank_low", "rank_high", "p_first", "p_top3",
             "p_last", "n_boot"]
    extra = [c for c in extra if c in intervals.columns]
    if len(intervals) and interval_year == ctx.last:
        # The headline rank is the intervals' (by the bootstrap median, consistent with P(first)).
        scores = scores.drop(columns="rank").merge(intervals[[*KEYS, "rank"]], on=KEYS, how="left")
    table = scores.merge(intervals[[*KEYS, *extra]], on=KEYS, how="left").merge(
        statements[[*KEYS, "statement", "can_be_first", "can_be_last", "n_overlapping", "overlapping"]], on=KEYS,
        how="left")
    table = table.sort_values(["rank", "county"], na_position="last").reset_index(drop=True)
    has = interval_year == ctx.last and table["rank_low"].notna().any()
    level = float(intervals["level"].iloc[0]) if "level" in intervals and len(intervals) \
        else float(system.bootstrap["level"])
    n_boot = int(intervals["n_boot"].max()) if len(intervals) else 0
    return _Peers(table, bool(has), interval_year, level, n_boot)


def _grade_labels(lang: str) -> dict[str, str]:
    system = assessment.load_system()
    return {g.code: getattr(g, f"label_{lang}") for g in system.grades}


def _statement(row: pd.Series, peers: _Peers, ctx: AssessmentContext) -> str:
    """The sentence on a county's place, chosen by its rank-statement code."""
    if pd.isna(row["composite"]):
        code = "unranked"
    elif int(row["n_peers"]) <= 1:
        code = "no_peers"
    elif peers.has_intervals and pd.notna(row.get("statement")):
        code = str(row["statement"])
        # An interval reaching both ends: saying only that it could be first would hide that it could
        # as well be last.
        if code in ("possibly_first", "possibly_last") and bool(row["can_be_first"]) and bool(row["can_be_last"]):
            code = "possibly_either"
    else:
        code = "no_interval"
    others = row.get("overlapping")
    others = list(others) if isinstance(others, list | tuple | np.ndarray) else []
    return _text(f"statements.{code}", ctx, region=md(row["county"]), rank=_int(row["rank"]), n=_int(row["n_peers"]),
                 low=_int(row.get("rank_low")), high=_int(row.get("rank_high")), level=peers.level,
                 others=_text("list_separator", ctx).join(md(o) for o in others), interval_year=peers.interval_year)


def _sentences(parts: list[str], lang: str) -> str:
    """Sentences joined as each language writes them (no space after a Chinese full stop)."""
    return ("" if lang == "zh" else " ").join(p for p in parts if p)


def _no_score(ctx: AssessmentContext) -> Markdown:
    return Markdown(_text("no_score", ctx, region=md(ctx.region), year=ctx.last))


# --------------------------------------------------------------------------------------------------
# Summary and scorecard
# --------------------------------------------------------------------------------------------------

def _headline(row: pd.Series, peers: _Peers, ctx: AssessmentContext) -> str:
    grade = _grade_labels(ctx.lang).get(row["grade"], DASH)
    if peers.has_intervals and pd.notna(row["composite_low"]):
        return _text("summary", ctx, region=md(row["county"]), year=ctx.last, composite=row["composite"],
                     low=row["composite_low"], high=row["composite_high"], level=peers.level, grade=grade)
    return _text("summary_no_interval", ctx, region=md(row["county"]), year=ctx.last, composite=row["composite"],
                 grade=grade)


def _own_row(peers: _Peers, ctx: AssessmentContext) -> pd.Series | None:
    mine = peers.table[peers.table["county"] == ctx.region]
    return None if mine.empty or pd.isna(mine["composite"].iloc[0]) else mine.iloc[0]


def _prefecture_sentences(ctx: AssessmentContext, peers: _Peers, extremes: bool = True) -> list[str]:
    scored = peers.table.dropna(subset=["composite"])
    grades = _system(ctx).grades
    counts = scored["grade"].value_counts()
    listed = _text("list_separator", ctx).join(
        _text("grade_count", ctx, grade=getattr(g, f"label_{ctx.lang}"), count=int(counts.get(g.code, 0)))
        for g in grades)
    out = [_text("prefecture_summary", ctx, region=md(ctx.region), year=ctx.last, n=len(scored),
                 low=scored["composite"].min(), high=scored["composite"].max(), grades=listed)]
    clear = int((scored["n_overlapping"] == 0).sum())
    if peers.has_intervals:
        out.append(_text("prefecture_clear" if clear else "prefecture_clear_none", ctx, n=len(scored), clear=clear))
    else:
        out.append(_text("prefecture_no_interval", ctx, interval_year=peers.interval_year))
    if extremes:
        out.append(_statement(scored.iloc[0], peers, ctx))
    if extremes and len(scored) > 1:
        out.append(_statement(scored.iloc[-1], peers, ctx))
    return out


def _no_variation_sentence(ctx: AssessmentContext) -> str:
    """Which indicators separate no county in the assessment year (every county the same score)."""
    flat = assessment.no_variation(_load(ctx, "assessment_scorecard"))
    flat = flat[flat["year"] == ctx.last]
    if flat.empty:
        return ""
    names = _system(ctx).labels(ctx.lang)
    listed = _text("list_separator", ctx).join(f"“{names.get(c, c)}”" for c in flat["indicator"])
    return _text("no_variation", ctx, year=ctx.last, indicators=listed)


def summary(ctx: AssessmentContext) -> Markdown:
    """The headline: composite score, interval and grade, and what may be said about the place.

    For a prefecture: the range of scores, the grades, and how many places are settled beyond sampling
    error (the narrative adds the sentences on the top and bottom counties).
    """
    peers = _peers(ctx)
    if ctx.level == "prefecture":
        if peers.table["composite"].isna().all():
            return _no_score(ctx)
        return Markdown(_sentences([*_prefecture_sentences(ctx, peers, extremes=False),
                                    _no_variation_sentence(ctx)], ctx.lang))
    row = _own_row(peers, ctx)
    if row is None:
        return _no_score(ctx)
    parts = [_headline(row, peers, ctx), _statement(row, peers, ctx)]
    if bool(row["reweighted"]):
        names = _system(ctx).labels(ctx.lang)
        codes = str(row["missing_indicators"]).split(",")
        missing = _text("list_separator", ctx).join(names.get(c, c) for c in codes)
        parts.append(_text("reweighted", ctx, missing=missing))
    parts.append(_no_variation_sentence(ctx))
    return Markdown(_sentences(parts, ctx.lang))


def _effective_weights(system: assessment.System) -> dict[str, float]:
    """Each indicator's share of the composite under the configured weights."""
    scored = {i.dimension for i in system.indicators}
    dims = {d.code: d.weight for d in system.dimensions if d.code in scored}
    total = sum(dims.values())
    within = {d: sum(i.weight for i in system.indicators if i.dimension == d) for d in dims}
    return {i.code: (dims[i.dimension] / total * i.weight / within[i.dimension])
            if total > 0 and within[i.dimension] > 0 else 0.0 for i in system.indicators}


def _flag_style(labels_by_flag: dict[str, str]):
    colours = {labels_by_flag["strength"]: "color: #1b7f3b; font-weight: bold",
               labels_by_flag["weakness"]: "color: #b03a2e; font-weight: bold"}
    return lambda value: colours.get(value, "")


def _flag_labels(lang: str) -> dict[str, str]:
    return {f: labels.text(f"assessment.flags.{f}", lang) for f in assessment.FLAGS}


def withheld_rates(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard with the raw values of few-event rates withheld (value, change and, where it equals
    a withheld value of its group-year, the median): a rate resting on fewer than ``min_events`` event
    households, or on fewer than ``min_households`` households without the event, is not printed, as on the
    monitoring page; the scored estimate and score stay."""
    out = card.copy()
    few = out["few_events"].fillna(False).astype(bool) if "few_events" in out else pd.Series(False, out.index)
    if "events" in out:
        # the households without the event (events / rate - events) are a complement readers could take from
        # the monitoring page's totals: a rate whose non-event households number 1 to k - 1 is withheld too
        events, value = out["events"].astype("float64"), out["value"].astype("float64")
        others = (events / value.where(value > 0) - events).round()
        few = few | others.between(1, min_households() - 1)
    if not few.any():
        return out.assign(withheld=few)
    keys = ["prefecture", "year", "indicator"]
    secret = out.loc[few, [*keys, "value"]].rename(columns={"value": "_secret"})
    leak = out[[*keys, "group_median"]].reset_index().merge(secret, on=keys)
    leak = leak.loc[np.isclose(leak["group_median"], leak["_secret"]), "index"].unique()
    out.loc[few, ["value", "change"]] = np.nan
    out.loc[leak, "group_median"] = np.nan
    return out.assign(withheld=few)


def _direction(code: str, lang: str) -> str:
    return labels.text(f"assessment.directions.{code}", lang)


def _scale(ind: assessment.Indicator, lang: str) -> str:
    """How an indicator is scored, in words: its fixed scale, its target, or 'relative'."""
    if ind.relative:
        return labels.text(f"assessment.scales.{ind.normalisation}", lang)
    if ind.normalisation == "scale":
        return labels.text("assessment.scales.scale", lang, worst=_show(ind.worst, ind.code, lang),
                           best=_show(ind.best, ind.code, lang))
    sign = 1.0 if ind.direction == "higher_better" else -1.0
    return labels.text("assessment.scales.target", lang, target=_show(ind.target, ind.code, lang),
                       zero=_show(ind.target - sign * ind.tolerance, ind.code, lang))


def _county_scorecard(ctx: AssessmentContext):
    system, lang = _system(ctx), ctx.lang
    names, flags = system.labels(lang), _flag_labels(lang)
    card = withheld_rates(_load(ctx, "assessment_scorecard"))
    card = card[(card["county"] == ctx.region) & (card["year"] == ctx.last)]
    if card.empty or card["score"].isna().all():
        return _no_score(ctx)
    spec = {i.code: i for i in system.indicators}
    marker = _text("few_events_marker", ctx, k=system.few_events["min_events"])
    order = {d.code: i for i, d in enumerate(system.dimensions)}
    card = card.iloc[np.argsort(card["dimension"].map(order).to_numpy(), kind="stable")]
    weights = _effective_weights(system)
    codes = card["indicator"].tolist()
    col = {c: _column(c, lang) for c in ("dimension", "indicator", "direction", "scale", "value", "estimate",
                                         "group_median", "weight", "score", "change", "rank_of", "flag")}
    table = pd.DataFrame({
        col["dimension"]: [names.get(d, d) for d in card["dimension"]],
        col["indicator"]: [names.get(c, c) for c in codes],
        col["direction"]: [_direction(spec[c].direction, lang) for c in codes],
        col["scale"]: [_scale(spec[c], lang) for c in codes],
        col["value"]: [marker if w else _show(v, c, lang) for v, c, w in zip(card["value"], codes, card["withheld"])],
        col["estimate"]: [_show(e, c, lang) if spec[c].events else "" for e, c in zip(card["estimate"], codes)],
        col["group_median"]: [_show(v, c, lang) for v, c in zip(card["group_median"], codes)],
        col["weight"]: [f"{weights.get(c, 0.0):.0%}" for c in codes],
        col["score"]: card["score"].to_numpy(),
        col["change"]: [_show(v, c, lang, signed=True) for v, c in zip(card["change"], codes)],
        col["rank_of"]: [f"{_int(r)}/{_int(n)}" for r, n in zip(card["rank"], card["n_peers"])],
        col["flag"]: card["flag"].map(flags).fillna("").to_numpy(),
    }).set_index([col["dimension"], col["indicator"]])
    caption = " ".join([_text("scorecard_caption", ctx, region=ctx.region, year=ctx.last, previous=ctx.last - 1),
                        _text("few_events_note", ctx, k=system.few_events["min_events"],
                              method=_text(f"few_events_methods.{system.few_events['method']}", ctx))])
    return (text.table(table, caption).format("{:.1f}", subset=[col["score"]], na_rep=DASH)
            .map(_flag_style(flags), subset=[col["flag"]]))


def _ranking_table(ctx: AssessmentContext):
    system, lang, peers = _system(ctx), ctx.lang, _peers(ctx)
    t = peers.table
    if t["composite"].isna().all():
        return _no_score(ctx)
    names, grades = system.labels(lang), _grade_labels(lang)

    def span(low, high, fmt):
        return [DASH if pd.isna(a) else f"{fmt.format(a)}–{fmt.format(b)}" for a, b in zip(low, high)]

    table = pd.DataFrame({
        _column("rank", lang): [_int(r) for r in t["rank"]],
        _column("county", lang): t["county"].to_numpy(),
        _column("composite", lang): t["composite"].to_numpy(),
        _column("composite_median", lang): t.get("composite_median", pd.Series(np.nan, t.index)).to_numpy(),
        _column("composite_interval", lang): span(t["composite_low"], t["composite_high"], "{:.1f}"),
        _column("rank_interval", lang): span(t["rank_low"], t["rank_high"], "{:.0f}"),
        _column("p_first", lang): t["p_first"].to_numpy(),
        _column("p_top3", lang): t.get("p_top3", pd.Series(np.nan, t.index)).to_numpy(),
        _column("grade", lang): t["grade"].map(grades).fillna(DASH).to_numpy(),
    })
    dims = [d for d in system.dimensions if any(i.dimension == d.code for i in system.indicators)]
    for d in dims:
        table[names[d.code]] = t[f"dimension_{d.code}"].to_numpy()
    numbers = [_column("composite", lang), _column("composite_median", lang), *[names[d.code] for d in dims]]
    caption = _text("ranking_caption", ctx, region=ctx.region, year=ctx.last, level=peers.level)
    return (text.table(table, caption).hide(axis="index").format("{:.1f}", subset=numbers, na_rep=DASH)
            .format("{:.0%}", subset=[_column("p_first", lang), _column("p_top3", lang)], na_rep=DASH))


def scorecard_table(ctx: AssessmentContext):
    """The county's scorecard grouped by dimension (value, prefecture median, weight, score, change,
    place among peers, strength/weakness); for a prefecture, its counties ranked with intervals."""
    return _ranking_table(ctx) if ctx.level == "prefecture" else _county_scorecard(ctx)


def scores_figure(ctx: AssessmentContext):
    """All counties' composite scores with their intervals and the grade bands; the county highlighted."""
    peers = _peers(ctx)
    return plots_assessment.composite_intervals(peers.table, ctx.county, _system(ctx).grades,
                                                ctx.last, peers.level, peers.has_intervals, ctx.lang)


def rank_figure(ctx: AssessmentContext):
    """All counties' ranks with their rank intervals; the county highlighted."""
    peers = _peers(ctx)
    return plots_assessment.rank_intervals(peers.table, ctx.county, ctx.last, peers.level, peers.has_intervals,
                                           ctx.lang)


# --------------------------------------------------------------------------------------------------
# Strengths and weaknesses, sensitivity, key figures
# --------------------------------------------------------------------------------------------------

def _flagged(ctx: AssessmentContext) -> pd.DataFrame:
    """The assessment year's scorecard rows flagged strength or weakness, best scores first (few-event
    values withheld)."""
    card = withheld_rates(_load(ctx, "assessment_scorecard"))
    card = card[(card["year"] == ctx.last) & card["flag"].isin(["strength", "weakness"])]
    return card.sort_values(["county", "flag", "score"], ascending=[True, True, False]).reset_index(drop=True)


def _flag_items(rows: pd.DataFrame, ctx: AssessmentContext) -> list[str]:
    names = _system(ctx).labels(ctx.lang)
    marker = _text("few_events_marker", ctx, k=_system(ctx).few_events["min_events"])
    return [_text("flag_item", ctx, indicator=names.get(c, c), value=marker if w else _show(v, c, ctx.lang),
                  median=_show(med, c, ctx.lang), score=s, rank=_int(r), n=_int(n))
            for c, v, med, s, r, n, w in zip(rows["indicator"], rows["value"], rows["group_median"], rows["score"],
                                             rows["rank"], rows["n_peers"], rows["withheld"])]


def _county_flag_lines(flagged: pd.DataFrame, ctx: AssessmentContext, parts: int) -> list[str]:
    mine = flagged[flagged["county"] == ctx.region]
    lines = []
    for flag, key in (("strength", "strengths"), ("weakness", "weaknesses")):
        items = _flag_items(mine[mine["flag"] == flag], ctx)
        lines.append(f"**{_text(key, ctx)}**")
        lines.append("\n".join(f"- {i}" for i in items) if items else _text(f"no_{key}", ctx, parts=parts))
    return lines


def _prefecture_flag_lines(flagged: pd.DataFrame, ctx: AssessmentContext) -> list[str]:
    names = _system(ctx).labels(ctx.lang)
    sep, none = _text("list_separator", ctx), _text("none", ctx)
    listed = flagged.assign(label=flagged["indicator"].map(lambda c: names.get(c, c)))
    by = listed.groupby(["county", "flag"])["label"].agg(sep.join)
    lines = [_text("county_flags", ctx, county=md(c), strengths=by.get((c, "strength"), none),
                   weaknesses=by.get((c, "weakness"), none)) for c in _peers(ctx).table["county"]]
    return [f"- {line}" for line in lines]


def strengths_weaknesses(ctx: AssessmentContext) -> Markdown:
    """Indicators on which the county is in the top (strengths) or bottom (weaknesses) part of its
    prefecture, from the scorecard flags; for a prefecture, one line per county in rank order."""
    flagged, parts = _flagged(ctx), int(_system(ctx).scoring["flag_parts"])
    lines = [f"### {_text('h_strengths', ctx)}"]
    if ctx.level == "prefecture":
        lines += _prefecture_flag_lines(flagged, ctx)
    else:
        lines += _county_flag_lines(flagged, ctx, parts)
    lines.append(f"<small>{_text('flags_note', ctx, parts=parts)}</small>")
    return Markdown("\n\n".join(lines))


def _scenario_labels(codes, lang: str) -> list[str]:
    names = assessment.load_system().labels(lang)

    def one(code: str) -> str:
        for prefix, key in (("drop_", "dimension"), ("omit_", "indicator")):
            if code.startswith(prefix):
                rest = code[len(prefix):]
                return labels.text(f"assessment.scenarios.{prefix[:-1]}", lang, **{key: names.get(rest, rest)})
        return labels.text(f"assessment.scenarios.{code}", lang)
    return [one(c) for c in codes]


def _sensitivity(ctx: AssessmentContext) -> pd.DataFrame:
    sens = _load(ctx, "assessment_sensitivity")
    return sens[sens["year"] == ctx.last].reset_index(drop=True)


def _robust_sentence(ctx: AssessmentContext, sens: pd.DataFrame) -> str:
    """The counties whose rank no alternative (weights, an indicator left out, relative scales) moves."""
    robust = assessment.robust_ranks(sens)
    names = robust.loc[robust["robust"], "county"].tolist()
    if not names:
        return _text("robust_none", ctx, k=sens["scenario"].nunique() - 1)
    return _text("robust_counties", ctx, k=sens["scenario"].nunique() - 1,
                 counties=_text("list_separator", ctx).join(md(c) for c in names))


def _sensitivity_sentences(ctx: AssessmentContext) -> list[str]:
    sens = _sensitivity(ctx)
    if ctx.level == "prefecture":
        moved = (sens["rank_change"].fillna(0) != 0).groupby(sens["county"]).any()
        largest = sens["rank_change"].abs().max()
        return [_text("sensitivity_prefecture", ctx, moved=int(moved.sum()), largest=_int(largest)),
                _robust_sentence(ctx, sens)]
    mine = sens[(sens["county"] == ctx.region) & sens["rank"].notna()].set_index("scenario")
    if "configured" not in mine.index:
        return []
    others = mine.drop(index="configured")["rank"]
    out = [_text("sensitivity_county", ctx, region=md(ctx.region), rank=_int(mine.loc["configured", "rank"]),
                 equal=_int(mine["rank"].get("equal")), k=len(others), best=_int(others.min()),
                 worst=_int(others.max()))]
    moved = int(mine["rank_change"].abs().max())
    out.append(_text("sensitivity_stable", ctx) if moved == 0 else _text("sensitivity_unstable", ctx, moved=moved))
    out.append(_robust_sentence(ctx, sens))
    return out


def sensitivity_summary(ctx: AssessmentContext) -> Markdown:
    """How the rank moves under equal weights and with each dimension dropped (Saisana et al. 2005)."""
    sentences = _sensitivity_sentences(ctx)
    if not sentences:
        return _no_score(ctx)
    return Markdown(f"### {_text('h_sensitivity', ctx)}\n\n{_sentences(sentences, ctx.lang)}")


def sensitivity_figure(ctx: AssessmentContext):
    """Rank-stability chart: each county's rank under every alternative (weights, each indicator left out,
    relative scales), its configured rank marked; the county highlighted."""
    sens = _sensitivity(ctx)
    return plots_assessment.rank_stability(sens, ctx.county, ctx.last, ctx.lang)


def sensitivity_table(ctx: AssessmentContext):
    """Composite and rank under each weighting (a county), or each county's rank under each (a prefecture)."""
    sens, lang = _sensitivity(ctx), ctx.lang
    if ctx.level == "prefecture":
        wide = sens.pivot(index="county", columns="scenario", values="rank")
        wide = wide.sort_values("configured", na_position="last")
        wide = wide[[c for c in sens["scenario"].drop_duplicates() if c in wide.columns]]
        wide.columns = _scenario_labels(wide.columns, lang)
        wide.index.name = _column("county", lang)
        return text.table(wide.astype("Int64"), _text("sensitivity_caption_prefecture", ctx, year=ctx.last)
                          ).format(na_rep=DASH)
    mine = sens[sens["county"] == ctx.region]
    table = pd.DataFrame({_column("scenario", lang): _scenario_labels(mine["scenario"], lang),
                          _column("composite", lang): mine["composite"].to_numpy(),
                          _column("rank", lang): mine["rank"].to_numpy(),
                          _column("rank_change", lang): mine["rank_change"].to_numpy()})
    return (text.table(table, _text("sensitivity_caption", ctx, year=ctx.last)).hide(axis="index")
            .format("{:.1f}", subset=[_column("composite", lang)], na_rep=DASH)
            .format(_signed_places, subset=[_column("rank_change", lang)])
            .format(na_rep=DASH, subset=[_column("rank", lang)]))


def _signed_places(value) -> str:
    return DASH if pd.isna(value) else f"{int(value):+d}" if value else "0"


KEY_FIGURES = ("income_pc", "growth_real", "official_workers", "official_workers_change_pct", "households_targets",
               "share_households_targets", "elimination_rate")
_TARGET_FIGURES = ["households_targets", "share_households_targets", "elimination_rate"]


def _published(table: pd.DataFrame) -> pd.DataFrame:
    """Key figures with small cells blanked: whole rows under the household minimum, and the
    monitoring figures where fewer monitored households than that are counted."""
    out = suppress_small(table, "households", k=min_households(), columns=list(KEY_FIGURES))
    return suppress_small(out, "households_targets", k=min_households(), columns=_TARGET_FIGURES,
                                     flag="suppressed_targets")


def key_figures(ctx: AssessmentContext):
    """Income growth, employment and monitoring coverage in the assessment year, beside the prefecture's."""
    lang = ctx.lang
    counties = _load(ctx, "assessment_key_figures")
    counties = _published(counties[counties["year"] == ctx.last])
    whole = build.load("assessment_key_figures_prefecture", ctx.data_dir)
    whole = _published(whole[(whole["prefecture"] == ctx.prefecture) & (whole["year"] == ctx.last)])
    whole = whole.assign(county=_column("prefecture_total", lang))
    if ctx.level == "county":
        counties = counties[counties["county"] == ctx.region].assign(county=ctx.region)
    else:
        order = {c: i for i, c in enumerate(_peers(ctx).table["county"])}
        place = counties["county"].map(order).astype("float64").fillna(len(order)).to_numpy()
        counties = counties.iloc[np.argsort(place, kind="stable")]
    rows = pd.concat([counties, whole], ignore_index=True)
    shown = pd.DataFrame({labels.text(f"assessment.key.{k}", lang): [_show(v, k, lang) for v in rows[k]]
                          for k in KEY_FIGURES})
    shown.index = pd.Index(rows["county"].astype(str).to_numpy(), name=_column("region", lang))
    if ctx.level == "county":
        shown = shown.T
        shown.index.name = _column("indicator", lang)
    caption = f"{_text('key_figures_caption', ctx, year=ctx.last, previous=ctx.last - 1)} {_text('suppressed_note', ctx, k=min_households())}"
    return text.table(shown, caption)


# --------------------------------------------------------------------------------------------------
# Narrative, method, export, index
# --------------------------------------------------------------------------------------------------

def _inline(label: str, lang: str) -> str:
    """A label as written inside an English sentence ("Share of ..." -> "share of ..."; acronyms kept)."""
    if lang == "en" and len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _flags_sentence(ctx: AssessmentContext) -> str:
    flagged = _flagged(ctx)
    mine = flagged[flagged["county"] == ctx.region]
    if mine.empty:
        return ""
    names = _system(ctx).labels(ctx.lang)
    sep, none = _text("list_separator", ctx), _text("none", ctx)
    listed = {f: sep.join(_inline(names.get(c, c), ctx.lang) for c in mine.loc[mine["flag"] == f, "indicator"])
              or none for f in ("strength", "weakness")}
    return _text("narrative_flags", ctx, strengths=listed["strength"], weaknesses=listed["weakness"])


def _income_sentence(ctx: AssessmentContext) -> str:
    figures = _load(ctx, "assessment_key_figures")
    row = figures[(figures["county"] == ctx.region) & (figures["year"] == ctx.last)]
    if row.empty or row[["income_pc", "growth_real"]].isna().any(axis=None):
        return ""
    return _text("narrative_income", ctx, year=ctx.last, income=float(row["income_pc"].iloc[0]),
                 growth=float(row["growth_real"].iloc[0]))


def narrative(ctx: AssessmentContext) -> Markdown:
    """The conclusion in plain words: score and interval, place, strengths and weaknesses, how the rank
    depends on the weights, and the income context; all sentences from the message catalogue."""
    peers = _peers(ctx)
    heading = f"### {_text('h_narrative', ctx)}"
    if ctx.level == "prefecture":
        if peers.table["composite"].isna().all():
            return _no_score(ctx)
        parts = [*_prefecture_sentences(ctx, peers), *_sensitivity_sentences(ctx)]
    else:
        row = _own_row(peers, ctx)
        if row is None:
            return _no_score(ctx)
        parts = [_headline(row, peers, ctx), _statement(row, peers, ctx), _flags_sentence(ctx),
                 *_sensitivity_sentences(ctx), _income_sentence(ctx)]
    return Markdown(f"{heading}\n\n{_sentences(parts, ctx.lang)}")


def method_note(ctx: AssessmentContext) -> Markdown:
    """How scores, weights and intervals are made, and the bootstrap replicates used."""
    peers = _peers(ctx)
    if peers.has_intervals:
        return Markdown(f"<small>{_text('method_note', ctx, n_boot=peers.n_boot, level=peers.level)}</small>")
    return Markdown(f"<small>{_text('method_note_no_interval', ctx)}</small>")


def _localised(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Codes replaced by labels and columns named in ``lang`` (indicator, dimension and grade labels
    from the indicator system file)."""
    system = assessment.load_system()
    names, flags, grades = system.labels(lang), _flag_labels(lang), _grade_labels(lang)
    out = frame.copy()
    for col, mapping in (("dimension", names), ("indicator", names), ("flag", flags), ("grade", grades)):
        if col in out:
            out[col] = out[col].map(lambda c, m=mapping: m.get(c, c) if isinstance(c, str) else c)
    for col in ("direction", "normalisation"):
        if col in out:
            out[col] = [labels.value_label(col, c, lang) for c in out[col]]
    if "scenario" in out:
        out["scenario"] = _scenario_labels(out["scenario"], lang)
    if "missing_indicators" in out:
        sep = labels.text("assessment.list_separator", lang)
        out["missing_indicators"] = [sep.join(names.get(c, c) for c in str(v).split(",") if c) for v in
                                     out["missing_indicators"]]
    prefixes = {"value_": "value_prefix", "score_": "score_prefix", "dimension_": "dimension_prefix"}
    rename = {}
    for col in out.columns:
        prefix = next((p for p in prefixes if col.startswith(p)), None)
        if prefix is not None:
            rename[col] = _column(prefixes[prefix], lang) + names.get(col[len(prefix):], col[len(prefix):])
        else:
            try:
                rename[col] = _column(col, lang)
            except KeyError:
                rename[col] = col
    out = out.rename(columns=rename)
    declared = frame.attrs.get(workbook.ATTR)
    if declared:    # the workbook's formats, by the columns' new names
        out.attrs[workbook.ATTR] = {part: {rename.get(c, c): v for c, v in kinds.items()}
                                    for part, kinds in declared.items()}
    return out


def _formats(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``frame`` with the workbook's number formats declared (:func:`workbook.declare`): an indicator's value
    as the page shows it (``assessment.formats``), scores to one decimal, on the scorecard row by row."""
    prefixes = {"value_": None, "score_": "score", "dimension_": "score"}
    columns = {}
    for col in frame.columns:
        prefix = next((p for p in prefixes if col.startswith(p)), None)
        kind = (prefixes[prefix] or _format(col[len(prefix):], lang)) if prefix else workbook.kind_of(col)
        if kind:
            columns[col] = kind
    rows = {}
    if "indicator" in frame:
        codes = frame["indicator"].tolist()
        rows = {col: [_format(c, lang, signed=col == "change") for c in codes]
                for col in ("value", "estimate", "group_median", "change") if col in frame}
    return workbook.declare(frame, columns, rows)


def assessment_tables(ctx: AssessmentContext) -> dict[str, pd.DataFrame]:
    """The tables of the report, by sheet name: the scorecard (the county's, or every county's; few-event
    rates withheld as on the page) and the prefecture's scores, intervals and sensitivity, with labels in
    the report's language."""
    card = withheld_rates(_load(ctx, "assessment_scorecard")).drop(columns="withheld")
    if ctx.level == "county":
        card = card[card["county"] == ctx.region]
    # the count of event households behind a rate is itself a household count: blanked under k
    card = card.assign(events=card["events"].astype("Float64").mask(card["events"].between(1, min_households() - 1)))
    intervals = _load(ctx, "assessment_intervals").drop(columns=["level"], errors="ignore")
    return {name: _localised(_formats(table.reset_index(drop=True), ctx.lang), ctx.lang)
            for name, table in (("scorecard", card), ("scores", _load(ctx, "assessment_scores")),
                                ("intervals", intervals), ("sensitivity", _load(ctx, "assessment_sensitivity")))}


def index_scores(data_dir: str | Path | None = None, lang: str = "zh") -> pd.DataFrame:
    """Each county's composite, rank, rank interval and grade (label) in the latest assessed year, for
    the region table of the report site (``analysis.publish.pipeline.run(..., scores=index_scores())``).

    Returns
    -------
    DataFrame
        ``region`` (county), ``composite`` (point), ``composite_median`` (bootstrap median), ``rank`` (the
        headline rank, by the median, consistent with ``p_first``), ``rank_low``, ``rank_high`` (ranks
        within the county's prefecture), ``p_first`` and ``grade`` (the grade's label in ``lang``), best
        first.
    """
    labels.check_lang(lang)
    intervals, scores = build.load("assessment_intervals", data_dir), build.load("assessment_scores", data_dir)
    out = intervals[[*KEYS, "composite", "composite_median", "rank", "rank_low", "rank_high", "p_first"]].merge(
        scores[[*KEYS, "grade"]], on=KEYS, how="left")
    out["grade"] = out["grade"].map(_grade_labels(lang)).astype("string")
    out = out.sort_values(["prefecture", "rank", "county"], na_position="last")
    return out.rename(columns={"county": "region"})[["region", "composite", "composite_median", "rank", "rank_low",
                                                     "rank_high", "p_first", "grade"]].reset_index(drop=True)


def index_table(data_dir: str | Path | None = None, lang: str = "zh") -> pd.DataFrame:
    """:func:`index_scores` with display labels in ``lang`` and the rank interval as one readable cell."""
    scores = index_scores(data_dir, lang)
    interval = scores["rank_low"].astype("string") + "–" + scores["rank_high"].astype("string")
    table = pd.DataFrame({
        "region": scores["region"],
        labels.text("index_columns.composite", lang): scores["composite"].round(1),
        labels.text("index_columns.composite_median", lang): scores["composite_median"].round(1),
        labels.text("index_columns.rank", lang): scores["rank"],
        labels.text("index_columns.rank_interval", lang): interval,
        labels.text("index_columns.p_first", lang): (100 * scores["p_first"]).round(0),
        labels.text("index_columns.grade", lang): scores["grade"],
    })
    return table
