"""The Word report of a county or a prefecture (``.docx``, zh or en) and its PDF (LibreOffice headless).

A report is made of the page functions of :mod:`analysis.reporting` (the same calls as the notebooks), so
it carries exactly the pages' numbers, messages and disclosure control; this module only turns what they
return into Word content:

* Markdown (:class:`IPython.display.Markdown`) -> paragraphs: headings (numbered in the report's outline),
  bullets, bold and italic runs; page text passes through :func:`analysis.reporting.text.md`, so it is
  parsed as CommonMark (``mistune``) and shown as the characters written;
* a styled table (:class:`pandas.io.formats.style.Styler` from :func:`analysis.reporting.text.table`) ->
  a native Word table of the Styler's displayed strings (number formats and the suppression marker as on
  the page), with a numbered caption above and a unit/source line below;
* a matplotlib figure -> a PNG picture (:data:`DPI` or more) with a numbered caption below: the picture
  the page showed, kept by the runner (:mod:`analysis.publish.figures`), or drawn the same way when the
  pages were not rendered (or are stale);

Sections follow a post-assessment report: 成效巩固 (income, employment, training, monitoring and basic
needs), the scorecard and rank, 存在问题 and 建议 (from the scorecard's weaknesses), and an appendix on
methods with the manifest of input files (``sources.json``) and build steps (``results/steps.json``).
Styles (fonts, sizes, margins, page numbers) come from the template ``templates/report.docx``, which
users can restyle in Word or WPS; ``templates/make_report_docx.py`` writes the shipped one.

Examples
--------
>>> from analysis.publish import documents
>>> path = documents.write("北岭县", "zh", out_dir="reports/北岭县")  # doctest: +SKIP
>>> documents.to_pdf([path])  # doctest: +SKIP
"""
from __future__ import annotations

import functools
import html
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import mistune
import pandas as pd
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from IPython.display import Markdown
from lxml import html as lxml_html
from matplotlib.figure import Figure
from pandas.io.formats.style import Styler

from analysis import build
from analysis.config import DATA_PROCESSED, min_households
from analysis.core import workers
from analysis.core.files import atomic_path
from analysis.io import data
from analysis.publish import figures, site
from analysis.reporting import (
    assessment,
    assistance,
    definitions,
    dynamics,
    employment,
    income,
    labels,
    monitoring,
    page,
    plots,
    prefecture,
    text,
    townships,
    training,
)
from analysis.studies import assessment as assessment_study

TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.docx"
#: The least resolution of the figures' pictures (dots per inch); pages and reports draw them at twice
#: ``figure.dpi`` (:func:`analysis.reporting.plots.picture`), 220 dpi.
DPI = 200
FIGURE_WIDTH = Cm(15)
MARKER = page.SUPPRESSED
ZH_NUMERALS = "一二三四五六七八九十"
#: A section number at the start of a page heading ("四、", "4. "), replaced by the report's numbering.
PAGE_NUMBER = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|\d+\.\s+)")
#: LibreOffice's PDF export options: figures stay lossless PNG at their resolution (not JPEG, not downsampled).
PDF_OPTIONS = json.dumps({"UseLosslessCompression": {"type": "boolean", "value": "true"},
                          "ReduceImageResolution": {"type": "boolean", "value": "false"}}, separators=(",", ":"))

_PARSE = mistune.create_markdown(renderer=None)


# ------------------------------------------------------------------------------------------------ outline
@dataclass(frozen=True)
class Section:
    """A numbered heading (message ``documents.<key>``) with its content: page-function calls, in order,
    then subsections."""

    key: str
    items: tuple[Callable[[], object], ...] = ()
    children: tuple[Section, ...] = ()
    numbered: bool = True


def _study(name: str, ctx: page.Context):
    """The stored tables of a study under the build's specification (what the notebooks show by default)."""
    spec = build.step(build.STUDIES[name].steps[0]).spec
    return build.study(name, spec, **ctx.where)


def _calls(module, names: Sequence[str], *args) -> tuple[Callable[[], object], ...]:
    """Calls of the page functions ``module.<name>(*args)``, to be made when the report is written."""
    return tuple(functools.partial(getattr(module, n), *args) for n in names)


def county_outline(ctx: page.Context, actx: assessment.AssessmentContext) -> list[Section]:
    """The sections of a county's report (the notebooks' page functions, in post-assessment order)."""
    workshops = _study("workshop_effects", ctx)
    effects = _study("training_effects", ctx)
    sub = "subsections."
    results = Section("sections.results", children=(
        Section("sections.income", children=(
            Section(sub + "income_level", _calls(income, ("income_summary", "income_trend_figure"), ctx)),
            Section(sub + "income_sources", _calls(income, ("income_composition_figure",
                                                            "income_distribution_figure"), ctx)),
            Section(sub + "income_exited", _calls(income, ("exited_summary", "exited_figure", "exited_table"), ctx)),
            Section(sub + "income_groups", _calls(income, ("group_growth_figure", "group_growth_table",
                                                           "income_table"), ctx)))),
        Section("sections.employment", children=(
            Section(sub + "employment_work", _calls(employment, ("employment_summary", "employment_trend_figure",
                                                                 "location_figure", "programme_jobs_figure",
                                                                 "employment_table"), ctx)),
            Section(sub + "employment_workshops", _calls(employment, (
                "workshop_design", "event_study_figure", "workshop_estimates_table", "workshop_estimates_figure",
                "workshop_summary", "honest_summary", "honest_figure"), ctx, workshops)))),
        Section("sections.training", children=(
            Section(sub + "training_who", _calls(training, ("training_summary", "trainees_figure",
                                                            "training_table"), ctx)),
            Section(sub + "training_sample", _calls(training, ("training_design", "balance_table",
                                                               "balance_figure"), ctx, effects)),
            Section(sub + "training_effect", _calls(training, ("att_figure", "att_table", "att_summary"),
                                                    ctx, effects)),
            Section(sub + "training_groups", _calls(training, ("heterogeneity_intro",), ctx)
                    + _calls(training, ("heterogeneity_figure", "heterogeneity_table"), ctx, effects)))),
        Section("sections.monitoring", _monitoring_items(ctx)),
    ))
    return [results, _assessment_section(actx), *_problems_sections(actx), _appendix(actx)]


def _monitoring_items(ctx: page.Context) -> tuple[Callable[[], object], ...]:
    items = _calls(monitoring, ("monitoring_summary",), ctx)
    for name, calls in (
            ("poverty", ("poverty_figure", "poverty_table", "near_threshold_figure", "growth_incidence_figure")),
            ("basic_needs", ("basic_needs_figure", "basic_needs_table")),
            ("coverage", ("coverage_figure", "coverage_table", "gap_table", "rule_overlap_table",
                          "rule_sensitivity_table", "gap_list")),
        ("assistance", None),
            ("elimination", ("survival_figure", "elimination_table", "failed_table", "failed_list")),
            ("stability", ("transition_figure", "return_table")),
            ("warning", ("warning_figure", "warning_table", "warning_outcomes_table"))):
        if calls is None:   # assistance measures and risk types: a page module of their own
            items += (lambda: assistance.section(ctx),) + _calls(assistance, (
                "assistance_summary", "measures_figure", "coverage_table", "risk_types_figure", "risk_types_table"),
                ctx)
            continue
        items += ((lambda n=name: monitoring.section(ctx, n)),) + _calls(monitoring, calls, ctx)
    return items + _calls(dynamics, ("dynamics_summary", "chronic_table", "flows_figure", "flows_table",
                                     "decomposition_figure", "decomposition_table"), ctx)


def _assessment_section(actx: assessment.AssessmentContext) -> Section:
    sub = "subsections."
    return Section("sections.assessment", children=(
        Section(sub + "assessment_scores", _calls(assessment, ("summary", "scorecard_table", "scores_figure",
                                                               "rank_figure"), actx)),
        Section(sub + "assessment_flags", _calls(assessment, ("strengths_weaknesses", "sensitivity_summary",
                                                              "sensitivity_figure", "sensitivity_table"), actx)),
        Section(sub + "assessment_key", _calls(assessment, ("key_figures", "narrative"), actx))))


def prefecture_outline(actx: assessment.AssessmentContext) -> list[Section]:
    """The sections of a prefecture's report: the counties side by side with their townships, the ranking,
    problems, advice."""
    counties = Section("sections.counties", (functools.partial(prefecture.key_series_figure, actx),), children=(
        Section("townships", _calls(townships, ("township_summary", "township_table", "growth_figure"), actx)),))
    return [counties, _assessment_section(actx), *_problems_sections(actx), _appendix(actx)]


def _appendix(actx: assessment.AssessmentContext) -> Section:
    return Section("sections.appendix", (lambda: _method(actx), lambda: assessment.method_note(actx),
                                         lambda: _manifest_line(actx)), children=(
        Section("sections.definitions", (lambda: definitions.definitions_table(actx, None),
                                          lambda: definitions.glossary_table(actx)), numbered=False),
        Section("sections.sources", (lambda: _sources_table(actx),), numbered=False),
        Section("sections.steps", (lambda: _steps_table(actx),), numbered=False)), numbered=False)


# ------------------------------------------------------------------------------------- problems, advice
def _show(value, code: str, lang: str) -> str:
    """An indicator value in the scorecard's format (``assessment.formats`` of the message catalogue)."""
    if pd.isna(value):
        return MARKER
    try:
        template = labels.text(f"assessment.formats.{code}", lang)
    except KeyError:
        template = labels.text("assessment.formats.default", lang)
    return template.format(float(value))


def weaknesses(actx: assessment.AssessmentContext) -> pd.DataFrame:
    """The assessment year's scorecard rows flagged weakness (the county's, or every county's), lowest
    score first."""
    card = build.load("assessment_scorecard", actx.data_dir, region=actx.prefecture, level="prefecture")
    card = card[(card["year"] == actx.last) & (card["flag"] == "weakness")]
    if actx.county is not None:
        card = card[card["county"] == actx.county]
    return card.sort_values(["score", "county"]).reset_index(drop=True)


def _problems_sections(actx: assessment.AssessmentContext) -> list[Section]:
    return [Section("sections.problems", (lambda: _problems(actx),)),
            Section("sections.advice", (lambda: _advice(actx),))]


def _problems(actx: assessment.AssessmentContext) -> Markdown:
    system, lang = assessment_study.load_system(), actx.lang
    names, parts = system.labels(lang), int(system.scoring["flag_parts"])
    rows = weaknesses(actx)
    say = {"region": text.md(actx.region), "year": actx.last, "parts": parts}
    if rows.empty:
        return Markdown(labels.text("documents.no_problems", lang, **say))
    if actx.county is None:
        sep = labels.text("assessment.list_separator", lang)
        by = rows.groupby("indicator", sort=False)["county"].agg(lambda c: sep.join(text.md(x) for x in c))
        items = [labels.text("documents.problems_prefecture_item", lang, indicator=names.get(c, c), counties=v)
                 for c, v in by.items()]
        intro = labels.text("documents.problems_prefecture_intro", lang, **say)
    else:
        items = [labels.text("assessment.flag_item", lang, indicator=names.get(r.indicator, r.indicator),
                             value=_show(r.value, r.indicator, lang), median=_show(r.group_median, r.indicator, lang),
                             score=r.score, rank=int(r.rank), n=int(r.n_peers)) for r in rows.itertuples()]
        intro = labels.text("documents.problems_intro", lang, **say)
    return Markdown("\n\n".join([intro, "\n".join(f"- {i}" for i in items)]))


def _advice(actx: assessment.AssessmentContext) -> Markdown:
    lang, names = actx.lang, assessment_study.load_system().labels(actx.lang)
    codes = list(dict.fromkeys(weaknesses(actx)["indicator"]))
    if not codes:
        return Markdown(labels.text("documents.advice_none", lang))
    items = []
    for code in codes:
        try:
            items.append(labels.text(f"documents.advice.{code}", lang, indicator=names.get(code, code)))
        except KeyError:
            items.append(labels.text("documents.advice.default", lang, indicator=names.get(code, code)))
    return Markdown("\n\n".join([labels.text("documents.advice_intro", lang), "\n".join(f"- {i}" for i in items)]))


# -------------------------------------------------------------------------------------------- appendix
def _sources(ctx: page.Context) -> dict:
    path = Path(ctx.data_dir) / "sources.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"files": []}


def source_text(ctx: page.Context, short: bool = True) -> str:
    """Where the numbers come from, for the cover (``short=False``) and under tables and figures."""
    files = _sources(ctx).get("files", [])
    said = (labels.text("documents.source_short", ctx.lang) if short else
            labels.text("documents.source_files", ctx.lang, files=len(files),
                        rows=f"{sum(int(f.get('rows_in', 0)) for f in files):,}"))
    return said + (labels.text("documents.synthetic_source", ctx.lang) if ctx.synthetic else "")


def _method(ctx: page.Context) -> Markdown:
    return Markdown(labels.text("documents.appendix_method", ctx.lang, k=min_households(), marker=MARKER))


def _manifest_line(ctx: page.Context) -> Markdown:
    path = Path(ctx.data_dir) / "sources.json"
    digest = figures.file_hash(path)[:12] or MARKER
    now = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return Markdown(labels.text("documents.appendix_manifest", ctx.lang, digest=digest, time=now,
                                commit=text.md(site.git_commit()[:12])))


def _column(key: str, lang: str) -> str:
    return labels.text(f"documents.columns.{key}", lang)


def _sources_table(ctx: page.Context) -> Styler:
    files = _sources(ctx).get("files", [])
    frame = pd.DataFrame({_column("file", ctx.lang): [f.get("file", "") for f in files],
                          _column("sha256", ctx.lang): [str(f.get("sha256", ""))[:12] for f in files],
                          _column("rows", ctx.lang): [int(f.get("rows_in", 0)) for f in files]})
    return (text.table(frame, labels.text("documents.sources_caption", ctx.lang)).hide(axis="index")
            .format("{:,}", subset=[_column("rows", ctx.lang)]))


def _steps_table(ctx: page.Context) -> Styler:
    path = build.results_dir(ctx.data_dir) / "steps.json"
    steps = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    frame = pd.DataFrame({
        _column("step", ctx.lang): list(steps),
        _column("fingerprint", ctx.lang): [str(v.get("fingerprint", ""))[:12] for v in steps.values()],
        _column("outputs", ctx.lang): [", ".join(v.get("outputs", [])) for v in steps.values()],
        _column("spec", ctx.lang): [json.dumps(v["spec"], ensure_ascii=False) if v.get("spec") else MARKER
                                    for v in steps.values()]})
    return text.table(frame, labels.text("documents.steps_caption", ctx.lang)).hide(axis="index")


# ------------------------------------------------------------------------------------------ Word writer
def _field(paragraph, instruction: str, shown: str) -> None:
    """A complex field (``SEQ``, ``PAGE``, ``TOC``) showing ``shown`` until the document's fields are updated."""
    for kind, value in (("begin", None), ("instr", instruction), ("separate", None), ("text", shown),
                        ("end", None)):
        run = paragraph.add_run()
        if kind == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {value} "
            run._r.append(element)
        elif kind == "text":
            run.text = value
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
            run._r.append(element)


def _number(counters: list[int], level: int, lang: str) -> str:
    """The heading number in the habit of each language: 一、（一）1.（1） or 1, 1.1, 1.1.1."""
    n = counters[level - 1]
    if lang == "en":
        return ".".join(str(c) for c in counters[:level])
    if level == 1:
        return f"{_zh_numeral(n)}、"
    if level == 2:
        return f"（{_zh_numeral(n)}）"
    return f"{n}." if level == 3 else f"（{n}）"


def _zh_numeral(n: int) -> str:
    if n <= 10:
        return ZH_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (ZH_NUMERALS[tens - 1] if tens > 1 else "") + "十" + (ZH_NUMERALS[ones - 1] if ones else "")


def _is_number(value: str) -> bool:
    stripped = value.replace(",", "").replace("%", "").replace("+", "").replace("−", "-").strip()
    try:
        float(stripped)
    except ValueError:
        return False
    return True


@dataclass
class Writer:
    """Adds headings, Markdown, tables and figures to a python-docx document, numbering as it goes."""

    doc: object
    lang: str
    source: str
    counters: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    figures: int = 0
    tables: int = 0
    headings: list[tuple[int, str]] = field(default_factory=list)
    level: int = 0
    style_ids: dict[str, str] = field(default_factory=dict)
    #: the pictures the pages showed (:class:`analysis.publish.figures.Store`); None: draw every figure
    store: figures.Store | None = None

    def paragraph(self, text: str = "", style: str | None = None):
        """A new paragraph in the named style; the style id is looked up once per name (python-docx's
        lookup by name scans every style each time)."""
        paragraph = self.doc.add_paragraph(text)
        if style is not None:
            paragraph._p.get_or_add_pPr().style = self._style_id(style)
        return paragraph

    def _style_id(self, name: str) -> str:
        if name not in self.style_ids:
            self.style_ids[name] = self.doc.styles[name].style_id
        return self.style_ids[name]

    # headings ---------------------------------------------------------------------------------------
    def heading(self, title: str, level: int, numbered: bool = True) -> None:
        level = max(1, min(level, 4))
        if numbered:
            # the page's own section number ("四、", "4. ") gives way to the report's outline number
            title = PAGE_NUMBER.sub("", title, count=1)
            self.counters[level - 1] += 1
            self.counters[level:] = [0] * (len(self.counters) - level)
            number = _number(self.counters, level, self.lang)
            title = f"{number}{'' if self.lang == 'zh' and level <= 3 else ' '}{title}"
        self.paragraph(title, f"Heading {level}")
        self.headings.append((level, title))

    # content ----------------------------------------------------------------------------------------
    def add(self, item) -> None:
        """Add what a page function returned (Markdown, a styled table, a figure; None adds nothing)."""
        if item is None:
            return
        if isinstance(item, Markdown):
            self.markdown(item.data)
        elif isinstance(item, Styler):
            self.table(item)
        elif isinstance(item, Figure):
            self.figure(item)
        elif isinstance(item, pd.DataFrame):
            self.table(text.table(item))
        else:
            raise TypeError(f"a page function returned {type(item).__name__}, which a document cannot show")

    def markdown(self, source: str) -> None:
        for token in _PARSE(source):
            self._block(token)

    def _block(self, token: dict, style: str | None = None) -> None:
        kind = token["type"]
        if kind == "heading":
            self.heading(_plain(token["children"]), self.level + 1)
        elif kind in ("paragraph", "block_text"):
            self._inline(self.paragraph(style=style), token["children"])
        elif kind == "list":
            for item in token["children"]:
                for child in item["children"]:
                    self._block(child, style="List Bullet")
        elif kind == "block_quote":
            for child in token["children"]:
                self._block(child, style="Quote")
        elif kind == "block_html":
            paragraph = self.paragraph(style="Source Note")
            paragraph.add_run(lxml_html.fragment_fromstring(token["raw"], create_parent="div").text_content().strip())
        elif kind in ("block_code",):
            self.paragraph(token["raw"].strip(), style)

    def _inline(self, paragraph, children: list[dict], bold: bool = False, italic: bool = False,
                small: list | None = None) -> None:
        small = [False] if small is None else small
        for token in children:
            kind = token["type"]
            if kind in ("text", "codespan"):
                run = paragraph.add_run(html.unescape(token["raw"]))
                run.bold, run.italic = bold or None, italic or None
                if small[0]:
                    run.font.size, run.font.color.rgb = Pt(9), RGBColor(0x59, 0x59, 0x59)
            elif kind in ("strong", "emphasis", "link"):
                self._inline(paragraph, token["children"], bold or kind == "strong", italic or kind == "emphasis",
                             small)
            elif kind == "softbreak":
                paragraph.add_run("" if self.lang == "zh" else " ")
            elif kind == "linebreak":
                paragraph.add_run().add_break()
            elif kind == "inline_html":
                tag = token["raw"].lower()
                if tag.startswith("<small"):
                    small[0] = True
                elif tag.startswith("</small"):
                    small[0] = False
                elif tag.startswith("<br"):
                    paragraph.add_run().add_break()
            elif "children" in token:
                self._inline(paragraph, token["children"], bold, italic, small)

    def _caption(self, kind: str, title: str) -> None:
        paragraph = self.paragraph(style="Caption")
        label = labels.text(f"documents.{kind}", self.lang, n="")
        paragraph.add_run(label)
        _field(paragraph, f"SEQ {label} \\* ARABIC", str(self.figures if kind == "figure" else self.tables))
        if title:
            paragraph.add_run(("  " if self.lang == "zh" else ". ") + title)

    def table(self, styler: Styler) -> None:
        """A native Word table of the Styler's displayed strings, caption above, unit/source note below."""
        caption, head, body = styler_cells(styler)
        self.tables += 1
        self._caption("table", caption)
        ncols = max(len(r) for r in [head, *body]) if body or head else 0
        if ncols == 0:
            return
        grid = self.doc.add_table(rows=1 + len(body), cols=ncols)
        grid._tbl.tblPr.style = self._style_id("Table Grid")
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        for r, values in enumerate([head, *body]):
            cells = grid.rows[r].cells
            for c, value in enumerate(values):
                paragraph = cells[c].paragraphs[0]
                paragraph._p.get_or_add_pPr().style = self._style_id("Table Text")
                run = paragraph.add_run(value)
                if r == 0:
                    run.bold = True
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                elif _is_number(value):
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        self._widths(grid, head, body, ncols)
        header = grid.rows[0]._tr.get_or_add_trPr()
        repeat = OxmlElement("w:tblHeader")
        repeat.set(qn("w:val"), "true")
        header.append(repeat)
        self.paragraph(labels.text("documents.table_note", self.lang, marker=MARKER, k=min_households(),
                                   source=self.source), "Source Note")

    def _widths(self, grid, head: list[str], body: list[list[str]], ncols: int) -> None:
        """Columns as wide as their longest cell (a header may wrap onto three lines), filling the text width."""
        natural = []
        for j in range(ncols):
            cells = [_display_width(r[j]) for r in body if j < len(r)]
            header = _display_width(head[j]) / 3 if j < len(head) else 0
            natural.append(max([4, header, *cells]))
        section = self.doc.sections[-1]
        total = section.page_width - section.left_margin - section.right_margin
        widths = [int(total * n / sum(natural)) for n in natural]
        for j, width in enumerate(widths):
            grid.columns[j].width = width
        for row in grid.rows:
            for cell, width in zip(row.cells, widths):
                cell.width = width

    def figure(self, fig: Figure) -> None:
        """The figure drawn as the pages draw it (:func:`analysis.reporting.plots.picture`, :data:`DPI` or
        more); an empty figure, which a page does not show, adds nothing."""
        drawn = plots.picture(fig)
        if drawn is not None:
            self.picture(drawn[0], drawn[1]["title"])

    def picture(self, png: bytes, title: str) -> None:
        """A figure's picture at :data:`FIGURE_WIDTH`, with a numbered caption (its title) and a source line."""
        paragraph = self.paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run().add_picture(io.BytesIO(png), width=FIGURE_WIDTH)
        self.figures += 1
        self._caption("figure", title)
        self.paragraph(labels.text("documents.figure_note", self.lang, source=self.source), "Source Note")

    def section(self, section: Section, level: int = 1) -> None:
        self.heading(labels.text(f"documents.{section.key}", self.lang), level, section.numbered)
        self.level = level
        for call in section.items:
            # the picture the page showed for this figure, when fresh; else the page function is called
            shown = self.store.get(call) if self.store is not None else None
            if shown is not None:
                self.picture(*shown)
            else:
                self.add(call())
        for child in section.children:
            self.section(child, level + 1)
            self.level = level


def _display_width(value: str) -> int:
    """Width of a cell's text in half-width characters (a CJK character takes two)."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in value)


def _plain(children: list[dict]) -> str:
    """The text of inline tokens (for headings)."""
    out = []
    for token in children:
        if token["type"] in ("text", "codespan"):
            out.append(html.unescape(token["raw"]))
        elif "children" in token:
            out.append(_plain(token["children"]))
    return "".join(out)


def styler_cells(styler: Styler) -> tuple[str, list[str], list[list[str]]]:
    """(caption, header row, body rows) of a styled table as its HTML shows them (formats, markers,
    hidden index and columns applied; entities decoded); several header rows are joined per column."""
    fragment = lxml_html.fragment_fromstring(styler.to_html(sparse_index=False, sparse_columns=False),
                                             create_parent="div")
    caption = fragment.find(".//caption")
    title = caption.text_content().strip() if caption is not None else ""

    def row(tr) -> list[str]:
        return [cell.text_content().strip() for cell in tr.xpath("./th|./td")]

    head_rows = [row(tr) for tr in fragment.xpath(".//thead/tr")]
    body = [row(tr) for tr in fragment.xpath(".//tbody/tr")]
    width = max((len(r) for r in [*head_rows, *body]), default=0)
    head = []
    for j in range(width):
        parts = [r[j] for r in head_rows if j < len(r) and r[j]]
        head.append(" / ".join(dict.fromkeys(parts)))
    return title, head, body


# -------------------------------------------------------------------------------------------- the report
def _cover(doc, ctx: page.Context, title: str, lines: list[str]) -> None:
    for _ in range(6):
        doc.add_paragraph()
    doc.add_paragraph(title, style="Title")
    for line in lines:
        doc.add_paragraph(line, style="Cover Line")
    if ctx.synthetic:
        doc.add_paragraph()
        doc.add_paragraph(labels.text("documents.synthetic_cover", ctx.lang), style="Synthetic Notice")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _toc(doc, lang: str):
    """The contents: a TOC field (Word/WPS fill in page numbers on update); returns the paragraph that
    takes the entries known when the report is finished."""
    doc.add_paragraph(labels.text("documents.toc", lang), style="TOC Heading")
    paragraph = doc.add_paragraph()
    doc.add_paragraph(labels.text("documents.toc_note", lang), style="Source Note")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    return paragraph


def _fill_toc(paragraph, headings: list[tuple[int, str]]) -> None:
    """The TOC field with the headings of levels 1-2 as its shown result (one line each)."""
    entries = [("    " * (level - 1)) + title for level, title in headings if level <= 2]
    _field(paragraph, 'TOC \\o "1-2" \\h \\z \\u', "")
    result = paragraph.runs[3]
    for i, entry in enumerate(entries):
        if i:
            result.add_break()
        result.add_text(entry)


def _update_fields_on_open(doc) -> None:
    settings = doc.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    settings.append(update)


def _synthetic_header(doc, ctx: page.Context) -> None:
    if not ctx.synthetic:
        return
    paragraph = doc.sections[0].header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(labels.text("documents.synthetic_header", ctx.lang))
    run.bold, run.font.size, run.font.color.rgb = True, Pt(9), RGBColor(0xC0, 0x00, 0x00)


def _years(region: str, data_dir: Path, level: str) -> list[int]:
    table = build.load("income_growth", data_dir, region=region, level=level)
    return [int(table["year"].min()), int(table["year"].max())]


def compose(region: str, lang: str = "zh", data_dir: str | Path | None = None,
            years: list[int] | None = None, pictures: str | Path | None = None, inputs: dict | None = None):
    """The python-docx Document of ``region``'s report (a county, or a prefecture: all its counties).

    ``pictures``: the region's report folder, whose figure store (:mod:`analysis.publish.figures`) holds the
    pictures its pages showed; a fresh one is used instead of drawing the figure again. ``inputs``:
    :func:`figures.inputs` of ``data_dir`` when already known.
    """
    folder = Path(data_dir or DATA_PROCESSED)
    level = "prefecture" if region in data.list_regions(folder, "prefecture") else "county"
    years = years or _years(region, folder, level)
    store = None if pictures is None else figures.Store.open(
        pictures, figures.key(region, lang, years, inputs or figures.inputs(folder)))
    actx = assessment.context(region=region, years=years, data_dir=str(folder), lang=lang)
    doc = Document(str(TEMPLATE))
    if level == "county":
        ctx = page.context(region=region, years=years, data_dir=str(folder), lang=lang)
        title = labels.text("documents.title_county", lang, region=region)
        place = labels.text("documents.prefecture_line", lang, prefecture=ctx.prefecture)
        outline = county_outline(ctx, actx)
    else:
        ctx = actx
        title = labels.text("documents.title_prefecture", lang, region=region)
        counties = data.list_regions(folder, "county")
        place = labels.text("documents.counties_line", lang, counties=labels.text("assessment.list_separator", lang)
                            .join(c for c in counties if c in set(build.load(
                                "income_growth", folder, region=region, level="prefecture")["county"])))
        outline = prefecture_outline(actx)
    today = datetime.now().astimezone().date().isoformat()
    _cover(doc, ctx, title, [labels.text("documents.period", lang, first=years[0], last=years[1], year=actx.last),
                             place, labels.text("documents.date", lang, date=today),
                             labels.text("documents.source", lang, source=source_text(ctx, short=False))])
    toc = _toc(doc, lang)
    writer = Writer(doc, lang, source_text(ctx), store=store)
    for section in outline:
        writer.section(section)
    _fill_toc(toc, writer.headings)
    _synthetic_header(doc, ctx)
    _update_fields_on_open(doc)
    doc.core_properties.title = title
    doc.core_properties.author = ""
    return doc


def write(region: str, lang: str = "zh", data_dir: str | Path | None = None, out_dir: str | Path | None = None,
          years: list[int] | None = None, reuse: bool = True, inputs: dict | None = None) -> Path:
    """Write ``out_dir/report-<lang>.docx`` (default ``reports/<region>/``) and return its path.

    With ``reuse``, figures come from the pictures the region's pages showed (kept in ``out_dir`` by the
    runner) where they are fresh; the others are drawn. ``inputs``: :func:`figures.inputs` when known.
    """
    from analysis.config import REPORTS
    folder = Path(out_dir) if out_dir else REPORTS / region
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report-{lang}.docx"
    doc = compose(region, lang, data_dir, years, pictures=folder if reuse else None, inputs=inputs)
    with atomic_path(path) as tmp:
        doc.save(str(tmp))
    return path


# ------------------------------------------------------------------------------------------------- PDF
def soffice() -> str | None:
    """The LibreOffice command (``soffice`` or ``libreoffice``), or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


class OfficeMissing(RuntimeError):
    """LibreOffice is not installed (Debian: ``apt-get install libreoffice-writer-nogui``, or ``make office``)."""


def to_pdf(paths: Iterable[str | Path], timeout: float = 600, jobs: int = 1) -> list[Path]:
    """Convert Word files to PDF beside them with LibreOffice headless: ``jobs`` LibreOffice runs at once
    (LibreOffice converts on one core), each converting its share of the files in one call.

    Each run has a private LibreOffice profile (a temporary folder), so that several conversions can run at
    once on one machine. Pictures are kept lossless at full resolution (:data:`PDF_OPTIONS`).
    Raises :class:`OfficeMissing` without LibreOffice, :class:`RuntimeError` when a PDF is not written.
    """
    command = soffice()
    if command is None:
        raise OfficeMissing("LibreOffice (soffice) is not installed: run `make office` as root or "
                            "`apt-get install libreoffice-writer-nogui`; Word files were written, PDFs were not.")
    paths = [Path(p).resolve() for p in paths]
    # the largest files first, each to the share with the least bytes so far: shares of similar work
    shares: list[list[Path]] = [[] for _ in range(max(1, min(jobs, len(paths))))]
    for path in sorted(paths, key=lambda p: -p.stat().st_size):
        min(shares, key=lambda share: sum(p.stat().st_size for p in share)).append(path)
    if len(shares) == 1:
        errors = [_convert(command, shares[0], timeout)]
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=len(shares)) as pool:
            errors = list(pool.map(lambda share: _convert(command, share, timeout), shares))
    errors = [e for e in errors if e]
    if errors:
        raise RuntimeError("; ".join(errors))
    return [p.with_suffix(".pdf") for p in paths]


def _convert(command: str, paths: Sequence[Path], timeout: float) -> str:
    """Convert ``paths`` in one LibreOffice run with a private profile; the error ('' when all converted).
    A timeout is raised (:class:`subprocess.TimeoutExpired`)."""
    with tempfile.TemporaryDirectory(prefix="documents-pdf-") as work:
        work = Path(work)
        # copies under unique names: every region's report has the same file name
        copies = [work / f"{i:04d}.docx" for i in range(len(paths))]
        for source, copy in zip(paths, copies):
            shutil.copyfile(source, copy)
        profile = work / "profile"
        done = subprocess.run([command, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                               "--convert-to", f"pdf:writer_pdf_Export:{PDF_OPTIONS}", "--outdir", str(work),
                               *map(str, copies)], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "HOME": str(work)}, check=False)
        missing = [p.parent.name + "/" + p.name for p, c in zip(paths, copies) if not c.with_suffix(".pdf").is_file()]
        for source, copy in zip(paths, copies):
            if copy.with_suffix(".pdf").is_file():
                with atomic_path(source.with_suffix(".pdf")) as tmp:
                    shutil.move(copy.with_suffix(".pdf"), tmp)
        if done.returncode or missing:
            return (f"LibreOffice did not convert {', '.join(missing) or 'the files'} "
                    f"(exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return ""


# ------------------------------------------------------------------------------------------ all regions
@dataclass(frozen=True)
class Written:
    """What :func:`write_all` did: the files written and the failures (region, lang, message)."""

    files: list[Path]
    failed: list[tuple[str, str, str]]
    pdf_skipped: str = ""


def regions(selection: str = "all", data_dir: str | Path | None = None) -> list[str]:
    """The regions whose reports to write: ``"all"`` is every county and every prefecture; otherwise a
    comma-separated list of counties and/or prefectures."""
    counties = data.list_regions(data_dir or DATA_PROCESSED, "county")
    prefectures = data.list_regions(data_dir or DATA_PROCESSED, "prefecture")
    if selection == "all":
        return [*counties, *prefectures]
    chosen = [r.strip() for r in selection.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in counties and r not in prefectures]
    if unknown:
        from analysis.errors import ParameterError
        raise ParameterError(f"unknown region(s) {', '.join(unknown)}: counties: {', '.join(counties)}; "
                             f"prefectures: {', '.join(prefectures)}")
    return chosen


def _write_task(task: tuple) -> tuple[str, str, str, str]:
    return _write_one(*task)


def _write_one(region: str, lang: str, data_dir, out_dir, inputs: dict | None = None) -> tuple[str, str, str, str]:
    """(region, lang, path, error) of one report; an error is returned, not raised (a worker's result)."""
    try:
        return region, lang, str(write(region, lang, data_dir, out_dir, inputs=inputs)), ""
    except Exception as exc:  # noqa: BLE001 -- one failing report must not stop the others; the error is reported
        return region, lang, "", f"{type(exc).__name__}: {exc}"


STATE_FILE = ".documents-state.json"


def fingerprints(tasks: Sequence[tuple[str, str]], data_dir: str | Path | None = None,
                 inputs: dict | None = None) -> dict[str, str]:
    """What each (region, lang) report depends on, hashed: the stored tables' build steps and input files,
    the package's code and configuration (``inputs``: :func:`figures.inputs`, computed when None), and the
    template."""
    from analysis.publish.pipeline import fingerprint
    inputs = {**(inputs or figures.inputs(data_dir or DATA_PROCESSED)), "template": figures.file_hash(TEMPLATE)}
    return {f"{region}/{lang}": fingerprint(region=region, lang=lang, **inputs) for region, lang in tasks}


def _state(out: Path) -> dict:
    path = out / STATE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        return {}


def write_all(selection: str = "all", langs: Sequence[str] = ("zh",), data_dir: str | Path | None = None,
              output_dir: str | Path | None = None, pdf: bool = True, jobs: int = 1, force: bool = False,
              progress: bool = True) -> Written:
    """Word reports (and PDFs) of the selected regions into ``output_dir/<region>/report-<lang>.docx/.pdf``.

    A report whose inputs (:func:`fingerprints`) are unchanged since it was written is skipped unless
    ``force``. ``jobs`` reports are composed at once in worker processes. A report that fails is recorded
    and the others go on. Without LibreOffice the PDFs are skipped with the reason in ``pdf_skipped``.
    """
    from analysis.config import REPORTS
    from analysis.core.files import atomic_write
    from analysis.publish.pipeline import check_region_name
    out = Path(output_dir or REPORTS).resolve()
    wanted = []
    for region in regions(selection, data_dir):
        check_region_name(region, out)
        wanted += [(region, lang) for lang in langs]
    inputs = figures.inputs(data_dir or DATA_PROCESSED)
    prints, state = fingerprints(wanted, data_dir, inputs), _state(out)
    suffixes = (".docx", ".pdf") if pdf else (".docx",)
    tasks = [(region, lang, data_dir, out / region, inputs) for region, lang in wanted
             if force or state.get(f"{region}/{lang}") != prints[f"{region}/{lang}"]
             or not all((out / region / f"report-{lang}{s}").is_file() for s in suffixes)]
    results = list(workers.ordered_map(_write_task, tasks, jobs, []))
    files = [Path(path) for _, _, path, error in results if not error]
    failed = [(region, lang, error) for region, lang, _, error in results if error]
    if progress:
        print(f"{len(files)} Word report(s) written, {len(wanted) - len(tasks)} unchanged"
              + (f", {len(failed)} failed" if failed else ""), flush=True)
    skipped = ""
    if pdf and files:
        try:
            files += to_pdf(files, jobs=jobs)
        except OfficeMissing as exc:
            skipped = str(exc)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            failed.append(("pdf", ",".join(langs), str(exc)))
    if not skipped and not any(region == "pdf" for region, _, _ in failed):
        done = {f"{region}/{lang}" for region, lang, path, error in results if not error}
        state.update({key: prints[key] for key in done})
        atomic_write(out / STATE_FILE, json.dumps(state, ensure_ascii=False, indent=1) + "\n")
    return Written(files, failed, skipped)
