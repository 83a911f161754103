"""A page's parameters, checked once, and what every page shares: its title and its Excel workbook
(laid out by :mod:`analysis.reporting.workbook`).

Each page function of :mod:`analysis.reporting` takes the :class:`Context` made by :func:`context` and
returns something Jupyter displays (a Markdown block, a figure, a styled table). Notebooks hold no logic
of their own.

Examples
--------
>>> from analysis.reporting import page
>>> ctx = page.context(region="北岭县", years=[2020, 2024], lang="en")  # doctest: +SKIP
>>> page.header(ctx, "income.title_report")  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from analysis import build
from analysis.config import DATA_PROCESSED, REPORTS, min_households
from analysis.errors import ParameterError
from analysis.io import data
from analysis.reporting import definitions, labels, plots, workbook
from analysis.reporting.text import md

#: What a workbook cell shows when it is blanked by disclosure control or has no value.
SUPPRESSED = "–"


@dataclass(frozen=True)
class Context:
    """Validated parameters of one report."""

    region: str
    first: int
    last: int
    lang: str
    data_dir: Path
    prefecture: str
    synthetic: bool
    #: The page's study tables when the notebook asked for them under its own specification
    #: (:func:`analysis.build.study`); None: the stored tables.
    study: Mapping | None = dataclasses.field(default=None, compare=False, repr=False, kw_only=True)

    def slice(self, table: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``table`` within the report's years."""
        return table[(table["year"] >= self.first) & (table["year"] <= self.last)].reset_index(drop=True)

    @property
    def where(self) -> dict:
        """The arguments :func:`analysis.build.study` takes to compute this page's region and years."""
        return {"data_dir": self.data_dir, "prefecture": self.prefecture, "county": self.region,
                "years": (self.first, self.last)}

    def using(self, study: Mapping) -> "Context":
        """The same page reading ``study`` (the tables of :func:`analysis.build.study`) where it has them."""
        return dataclasses.replace(self, study=study)


def context(region: str, years: list[int], data_dir: str = "", lang: str = "zh") -> Context:
    """Check a notebook's parameters against the data and set up figures; raise on anything not allowed."""
    labels.check_lang(lang)
    folder = Path(data_dir) if data_dir else DATA_PROCESSED
    if len(years) != 2 or not all(isinstance(y, int) for y in years) or years[0] > years[1]:
        raise ParameterError(f"years must be [first, last] with first <= last, not {years!r}")
    data.check_region(region, folder)
    income = build.load("income_growth", folder, region=region)
    available = sorted(income["year"].unique().tolist())
    if not any(years[0] <= y <= years[1] for y in available):
        raise ParameterError(f"{region} has no data in {years[0]}-{years[1]}; it has years {available}")
    plots.setup(lang)
    sources = folder / "sources.json"
    synthetic = sources.exists() and json.loads(sources.read_text(encoding="utf-8")).get("synthetic", False)
    return Context(region, years[0], years[1], lang, folder, str(income["prefecture"].iloc[0]), bool(synthetic))


def header(ctx: Context, title_key: str) -> Markdown:
    """The report title, with the synthetic-data notice when the data are the bundled sample."""
    lines = [f"# {labels.text(title_key, ctx.lang, region=md(ctx.region), first=ctx.first, last=ctx.last)}"]
    if ctx.synthetic:
        lines.append(f"> {labels.text('synthetic_notice', ctx.lang)}")
    return Markdown("\n\n".join(lines))


#: The page whose title heads each workbook, by the notebook's number.
TITLES = {"01": "income.title_report", "02": "employment.title_report", "03": "training.title_report",
          "04": "monitoring.title_report", "05": "assessment.title_report", "06": "townships.title_report"}


def _source(ctx: Context) -> str:
    sources = ctx.data_dir / "sources.json"
    files = json.loads(sources.read_text(encoding="utf-8")).get("files", []) if sources.exists() else []
    return labels.text("workbook.source", ctx.lang, files=len(files))


def _lines(ctx: Context) -> tuple[str, ...]:
    """The row under a sheet's title: region and period, and the synthetic-data notice."""
    where = labels.text("workbook.where", ctx.lang, region=ctx.region, prefecture=ctx.prefecture,
                        first=ctx.first, last=ctx.last)
    if ctx.region == ctx.prefecture:
        where = where.replace(f"（{ctx.prefecture}）", "").replace(f" ({ctx.prefecture})", "")
    return (where, labels.text("synthetic_notice", ctx.lang)) if ctx.synthetic else (where,)


def _definition_notes(key: str, table: pd.DataFrame, lang: str) -> list[str]:
    """The definitions.yaml entries of a sheet (declared for it, or named by one of its columns), as notes."""
    entries = definitions.entries()
    keys = [k for k in dict.fromkeys([*labels.sheet_definitions(key), *map(str, table.columns)]) if k in entries]
    return [labels.text("workbook.definition", lang, **{f: entries[k][f][lang] for f in definitions.FIELDS})
            for k in keys]


@dataclass(frozen=True)
class _Book:
    """What every sheet of one workbook repeats, looked up once: the report's title, the row under it, the
    rule for marked cells and the closing notes."""

    report: str
    title: str              # the template of a sheet's title
    lines: tuple[str, ...]
    rule: str
    tail: tuple[str, ...]   # units and source

    @classmethod
    def of(cls, ctx: Context, report: str, rule: str) -> _Book:
        return cls(report, labels.text("workbook.title", ctx.lang), _lines(ctx), rule,
                   (labels.text("workbook.units", ctx.lang), _source(ctx)))

    def sheet_title(self, name: str) -> str:
        return self.title.format(report=self.report, sheet=name)


def _sheet(ctx: Context, book: _Book, key: str, table: pd.DataFrame) -> workbook.Sheet:
    """A page table as a workbook sheet: name, headers and values in the report's language, with notes."""
    shown = workbook.localise(table, ctx.lang)
    name = labels.sheet_name(key, ctx.lang)
    formats = workbook.column_formats(shown)
    percent = labels.text("workbook.percent", ctx.lang)
    headers = [workbook.with_unit(label or str(c), excel, percent) for c, label, (excel, _) in
               zip(shown.columns, labels.column_labels(shown.columns, ctx.lang), formats)]
    notes = (labels.text("workbook.note_heading", ctx.lang), book.rule, *_definition_notes(key, table, ctx.lang),
             *book.tail)
    return workbook.Sheet(name, shown, headers, book.sheet_title(name), book.lines, notes, formats)


def _text_sheet(book: _Book, name: str, table: pd.DataFrame) -> workbook.Sheet:
    """A sheet of text whose headers are already in the report's language (definitions, notes)."""
    return workbook.Sheet(name, table, [str(c) for c in table.columns], book.sheet_title(name), book.lines,
                          formats=[workbook.FORMATS["text"]] * table.shape[1])


def save_tables(ctx: Context, output_dir: str, notebook: str, tables: dict[str, pd.DataFrame]) -> Markdown:
    """Write the report's tables as one Excel workbook (a sheet per table) beside its HTML page.

    ``output_dir`` is the region's report folder (as the runner passes it); empty means ``reports/<region>``.
    Sheets are laid out by :mod:`analysis.reporting.workbook`: title, region and period, frozen header in
    the report's language with units, number formats by the kind of each column, and footnotes (the
    suppression rule, the indicators' definitions, the source); then the page's definitions and a notes sheet.
    """
    folder = Path(output_dir) if output_dir else REPORTS / ctx.region
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.xlsx"
    report = labels.text(TITLES[notebook[:2]], ctx.lang, region=ctx.region, first=ctx.first, last=ctx.last)
    # a blank cell would read as zero or as missing: suppressed cells carry a visible marker
    book = _Book.of(ctx, report, labels.text("workbook.marker", ctx.lang, marker=SUPPRESSED, k=min_households()))
    sheets = [_sheet(ctx, book, key, table) for key, table in tables.items()]
    defined = definitions.definitions_sheet(notebook[:2], ctx.lang)
    if len(defined):
        sheets.append(_text_sheet(book, labels.text("definitions.sheet", ctx.lang), defined))
    notes = labels.text("workbook.notes", ctx.lang)
    sheets.append(_text_sheet(book, notes, pd.DataFrame({notes: [book.rule, *book.tail]})))
    workbook.write(path, sheets, SUPPRESSED)
    return Markdown(f"[{path.name}]({path.name})")


def save_restricted(ctx: Context, folder: str | Path, name: str, tables: dict[str, pd.DataFrame],
                    site: str | Path = REPORTS) -> Path:
    """Write household-level lists as one workbook ``folder/<region>/<name>.xlsx`` for authorised staff: a
    first sheet says who may see it; refused inside the published site (``site``). The lists are laid out
    as the published workbooks are (:mod:`analysis.reporting.workbook`)."""
    folder = Path(folder).resolve()
    if folder == Path(site).resolve() or Path(site).resolve() in folder.parents:
        raise ParameterError(f"restricted lists cannot be written inside the published site {site}; "
                             "choose a folder outside it")
    path = folder / ctx.region / f"{name}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    heading = labels.text("restricted.heading", ctx.lang)
    notice = pd.DataFrame({heading: [labels.text("restricted.warning", ctx.lang), labels.text(
        "restricted.region", ctx.lang, region=ctx.region, first=ctx.first, last=ctx.last)]})
    book = _Book.of(ctx, heading, labels.text("restricted.marker", ctx.lang, marker=SUPPRESSED))
    sheets = [_text_sheet(book, labels.text("restricted.sheet", ctx.lang), notice),
              *(_sheet(ctx, book, key, table) for key, table in tables.items())]
    return workbook.write(path, sheets, SUPPRESSED)
