"""The poverty-dynamics section of the monitoring page (notebook ``04-monitoring``).

Reads the stored tables of the build step ``poverty_dynamics`` (:mod:`analysis.measures.dynamics`) and
renders them; it never estimates. Cells describing fewer than ``min_households`` households (and rates resting
on them) are blanked with :func:`analysis.core.disclosure.suppress_small`.

Examples
--------
>>> from analysis.reporting import dynamics, page
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> dynamics.dynamics_summary(ctx)  # doctest: +SKIP
"""
from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from analysis import build
from analysis.config import min_households
from analysis.core.disclosure import suppress_small
from analysis.measures.dynamics import COMPONENTS
from analysis.reporting import labels, plots_dynamics, text
from analysis.reporting.page import Context
from analysis.reporting.text import NOWRAP, join, md, pp


def _t(key: str, ctx: Context, **values) -> str:
    return labels.text(f"dynamics.{key}", ctx.lang, **values)


def _tables(ctx: Context, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One dynamics table for the page's county and its prefecture."""
    county = build.load(f"dynamics_{name}", ctx.data_dir, region=ctx.region)
    pref = build.load(f"dynamics_{name}_prefecture", ctx.data_dir)
    return county, pref[pref["prefecture"] == ctx.prefecture].reset_index(drop=True)


def _both(ctx: Context, name: str) -> pd.DataFrame:
    county, pref = _tables(ctx, name)
    return pd.concat([county.assign(scope=ctx.region), pref.assign(scope=ctx.prefecture)], ignore_index=True)


def chronic_table_data(ctx: Context) -> pd.DataFrame:
    """Chronic and transient poverty of the county and its prefecture, rows of fewer than k households blanked."""
    table = _both(ctx, "chronic")
    return suppress_small(table, "households", k=min_households())


def flows_table_data(ctx: Context) -> pd.DataFrame:
    """Entries and exits by year of the county: counts below k blanked, and rates whose base is below k."""
    county, _ = _tables(ctx, "flows")
    k = min_households()
    county = county[(county["year"] > ctx.first) & (county["year"] <= ctx.last)].reset_index(drop=True)
    county["not_poor_before"] = county["households"] - county["poor_before"]
    out = suppress_small(county, "poor_before", k=k, flag="exit_suppressed",
                         columns=["exit_rate", "exit_rate_low", "exit_rate_high", "exits", "poor_before"])
    out = suppress_small(out, "not_poor_before", k=k, flag="entry_suppressed",
                         columns=["entry_rate", "entry_rate_low", "entry_rate_high"])
    for count in ("entries", "exits", "poor_after"):
        out[count] = out[count].astype("Int64").mask(out[count] < k)
    return out.drop(columns="not_poor_before")


def decomposition_data(ctx: Context, scope: str = "county") -> tuple[pd.Series | None, pd.DataFrame]:
    """Datt-Ravallion terms and the income-source contributions (county or prefecture), None if blanked."""
    growth, components = (_tables(ctx, "growth")[0], _tables(ctx, "components")[0]) if scope == "county" else \
        (_tables(ctx, "growth")[1], _tables(ctx, "components")[1])
    if growth.empty or growth["households"].iloc[0] < min_households():
        return None, components.iloc[0:0]
    return growth.iloc[0], components


def dynamics_summary(ctx: Context) -> Markdown:
    """The section in words: chronic versus transient, growth versus redistribution, the income source."""
    heading = f"## {_t('h_section', ctx)}"
    chronic = chronic_table_data(ctx)
    if chronic.empty:
        return Markdown(f"{heading}\n\n{_t('no_data', ctx)}")
    parts = [heading, _t("definition", ctx)]
    for _, row in chronic[~chronic["suppressed"]].iterrows():
        parts.append(_t("chronic", ctx, where=md(row["scope"]), first=int(row["first_year"]),
                        last=int(row["last_year"]), households=int(row["households"]), total=row["total"],
                        share=row["transient_share"], low=row["transient_share_low"],
                        high=row["transient_share_high"], never=row["never_poor"],
                        sometimes=row["sometimes_poor"], always=row["always_poor"]))
    growth, components = decomposition_data(ctx)
    if growth is not None:
        words = [_t("growth", ctx, where=md(ctx.region), first=int(growth["year0"]), last=int(growth["year1"]), h0=growth["headcount0"],
                    h1=growth["headcount1"], change=pp(growth["change"]), growth=pp(growth["growth"]),
                    glow=pp(growth["growth_low"]), ghigh=pp(growth["growth_high"]),
                    redistribution=pp(growth["redistribution"]), rlow=pp(growth["redistribution_low"]),
                    rhigh=pp(growth["redistribution_high"]))]
        best = components.sort_values("contribution").iloc[0]
        if best["contribution"] < 0:
            words.append(_t("carried", ctx, component=_t(f"component_{best['component']}", ctx),
                            value=pp(best["contribution"])))
        else:
            words.append(_t("no_reduction", ctx))
        parts.append(join(words, ctx.lang))
    return Markdown("\n\n".join(parts))


def chronic_table(ctx: Context):
    """Chronic and transient poverty (Jalan-Ravallion) of the county and the prefecture."""
    table = chronic_table_data(ctx)
    cols = ["scope", "households", "total", "chronic", "transient", "transient_share", "never_poor",
            "sometimes_poor", "always_poor"]
    shown = table[cols].copy()
    shown.columns = [_t(f"col_{c}", ctx) for c in cols]
    caption = _t("chronic_caption", ctx)
    if table["suppressed"].any():
        caption = f"{caption} {_t('suppressed_note', ctx, k=min_households())}"
    return (text.table(shown, caption).hide(axis="index").set_table_styles(NOWRAP)
            .format("{:,.0f}", subset=[shown.columns[1]], na_rep="–")
            .format("{:.5f}", subset=shown.columns[2:5].tolist(), na_rep="–")
            .format("{:.1%}", subset=shown.columns[5:].tolist(), na_rep="–"))


def flows_figure(ctx: Context):
    """Entry and exit rates of the county by year (suppressed rates left out)."""
    table = flows_table_data(ctx)
    if table.empty:
        return Markdown(_t("no_data", ctx))
    return plots_dynamics.flow_rates(table, ctx.lang)


def flows_table(ctx: Context):
    """Entries and exits of the county by year, with the suppression note when cells are blanked."""
    table = flows_table_data(ctx)
    cols = ["year", "households", "poor_before", "entries", "exits", "entry_rate", "exit_rate"]
    shown = table[cols].copy()
    shown.columns = [_t(f"col_{c}", ctx) for c in cols]
    caption = f"{md(ctx.region)}: {_t('flows_caption', ctx)} {_t('suppressed_note', ctx, k=min_households())}"
    return (text.table(shown, caption).hide(axis="index").set_table_styles(NOWRAP)
            .format("{:,.0f}", subset=shown.columns[1:5].tolist(), na_rep="–")
            .format("{:.1%}", subset=shown.columns[5:].tolist(), na_rep="–"))


def decomposition_figure(ctx: Context):
    """The headcount change of the county split into growth, redistribution and income sources."""
    growth, components = decomposition_data(ctx)
    if growth is None:
        return Markdown(_t("no_data", ctx))
    order = components.set_index("component").loc[list(COMPONENTS)].reset_index()
    return plots_dynamics.decomposition(growth, order, ctx.region, ctx.lang)


def decomposition_table(ctx: Context):
    """The terms of :func:`decomposition_figure` for the county and the prefecture, with 95% intervals."""
    rows = []
    for scope, where in (("county", ctx.region), ("prefecture", ctx.prefecture)):
        growth, components = decomposition_data(ctx, scope)
        if growth is None:
            continue
        terms = [(t, growth[t], growth[f"{t}_low"], growth[f"{t}_high"]) for t in ("change", "growth", "redistribution")]
        terms += [(f"component_{r.component}", r.contribution, r.conf_low, r.conf_high) for r in components.itertuples()]
        rows += [{"scope": where, "term": _t(t if t.startswith("component_") else f"term_{t}", ctx),
                  "contribution": pp(v), "conf_int": f"[{pp(lo):+.1f}, {pp(hi):+.1f}]"} for t, v, lo, hi in terms]
    shown = pd.DataFrame(rows, columns=["scope", "term", "contribution", "conf_int"])
    shown.columns = [_t(f"col_{c}", ctx) for c in shown.columns]
    return (text.table(shown, _t("components_caption", ctx)).hide(axis="index").set_table_styles(NOWRAP)
            .format("{:+.2f}", subset=[shown.columns[2]]))


def dynamics_tables(ctx: Context) -> dict[str, pd.DataFrame]:
    """The section's tables for the workbook, by sheet name (suppressed as on the page)."""
    growth = _both(ctx, "growth")
    components = _both(ctx, "components")
    # the growth term and the source contributions are parts of a change in the share below the threshold,
    # not an income growth rate nor a contribution to M0: their own names give them their own headers
    growth = growth.rename(columns=lambda c: c.replace("growth", "growth_component").replace("change", "headcount_change"))
    components = components.rename(columns={"change": "headcount_change", "contribution": "source_contribution",
                                            "conf_low": "source_contribution_low",
                                            "conf_high": "source_contribution_high"})
    return {"chronic_transient": chronic_table_data(ctx), "entries_exits": flows_table_data(ctx),
            "growth_redistribution": suppress_small(growth, "households", k=min_households()),
            "income_sources": suppress_small(components, "households", k=min_households())}
