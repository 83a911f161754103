"""The workbooks beside the pages, read back with openpyxl: sheet names and headers in the report's language,
number formats by the kind of each column, frozen header, title and footnote rows, suppressed cells as text.

The workbooks of one county of the small prefecture are written in Chinese and in English by the pages' own
table functions and :func:`analysis.reporting.page.save_tables` (no notebook is executed), and every sheet is
compared cell by cell with the frame it was written from."""
from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from analysis.reporting import labels, workbook

CJK = re.compile(r"[\u4e00-\u9fff]")
CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
HEADER = workbook.HEADER_ROW + 1          # openpyxl rows count from 1


def _books(data_dir, region: str, lang: str) -> dict[str, dict[str, pd.DataFrame]]:
    """The tables of every workbook of the pages, by workbook name, as the notebooks pass them (the
    prefecture page's for the first prefecture)."""
    from analysis import build
    from analysis.io import data
    from analysis.reporting import (
        assessment,
        assistance,
        dynamics,
        employment,
        income,
        monitoring,
        page,
        townships,
        training,
        warning,
    )
    from analysis.studies.monitoring import MonitoringSpec
    from analysis.studies.post_assessment import AssessmentSpec
    from analysis.studies.training import TrainingSpec
    from analysis.studies.workshops import WorkshopSpec
    ctx = page.context(region=region, years=[2020, 2024], data_dir=str(data_dir), lang=lang)
    workshops = build.study("workshop_effects", WorkshopSpec(), **ctx.where)
    effects = build.study("training_effects", TrainingSpec(), **ctx.where)
    watched = ctx.using(build.study("monitoring", MonitoringSpec(), **ctx.where))
    assessed = assessment.context(region=region, years=[2020, 2024], data_dir=str(data_dir), lang=lang)
    assessed = assessed.using(build.study("assessment", AssessmentSpec(), **assessed.where))
    whole = townships.context(region=data.list_regions(data_dir, "prefecture")[0], years=[2020, 2024],
                              data_dir=str(data_dir), lang=lang)
    whole = whole.using(build.study("assessment", AssessmentSpec(), **whole.where))
    return {"01-income-growth": (ctx, income.income_tables(ctx)),
            "02-employment": (ctx, employment.employment_tables(ctx, workshops)),
            "02-employment-sensitivity": (ctx, employment.sensitivity_tables(ctx, workshops)),
            "03-training-impact": (ctx, training.training_tables(ctx, effects)),
            "04-monitoring-dynamics": (ctx, dynamics.dynamics_tables(ctx)),
            "04-monitoring": (ctx, {**monitoring.monitoring_tables(watched), **assistance.assistance_tables(watched),
                                    **warning.rolling_tables(watched)}),
            "05-post-assessment": (assessed, assessment.assessment_tables(assessed)),
            "06-prefecture": (whole, {**assessment.assessment_tables(whole), **townships.township_tables(whole)})}


@pytest.fixture(scope="module", params=["zh", "en"])
def written(request, small_processed, tmp_path_factory):
    """Each workbook written and read back, with the tables it was written from."""
    from analysis.io import data
    from analysis.reporting import page
    lang = request.param
    region = data.list_regions(small_processed, "county")[0]
    out = tmp_path_factory.mktemp(f"books-{lang}")
    books = {}
    for name, (ctx, tables) in _books(small_processed, region, lang).items():
        page.save_tables(ctx, str(out), name, tables)
        books[name] = (tables, openpyxl.load_workbook(out / f"{name}.xlsx"))
    return lang, region, books


def _sheets(written):
    lang, _, books = written
    for name, (tables, book) in books.items():
        for key, table in tables.items():
            yield name, key, table, book[labels.sheet_name(key, lang)[:31]]


def test_sheet_names_and_headers_are_in_the_report_language(written):
    lang, _, books = written
    for name, key, table, sheet in _sheets(written):
        headers = [c.value for c in sheet[HEADER]][: table.shape[1]]
        assert len(headers) == table.shape[1] and None not in headers, (name, key)
        assert len(set(headers)) == len(headers), (name, key, headers)     # each column told apart
        for header in [sheet.title, *map(str, headers)]:
            assert "_" not in header, (name, key, header)       # no code name such as gap_list or event_time
            if lang == "zh":      # Chinese words, or a year heading a column of years
                assert CJK.search(header) or header.isdigit(), (name, key, header)
        if lang == "en":
            assert not CJK.search(sheet.title), (name, sheet.title)
    for name, (_, book) in books.items():
        assert not {"gap_list", "failed_list", "warning_predictions"} & set(book.sheetnames), name


def test_coded_values_are_written_as_their_labels(written):
    lang, _, _ = written
    codes = {"poverty_exited", "cs_simple", "twfe", "employed", "wage_income", "ipw", "higher_better", "county",
             "prefecture", "wage", "True", "False"}
    for name, key, table, sheet in _sheets(written):
        shown = {c.value for row in sheet.iter_rows(min_row=HEADER + 1, max_row=HEADER + len(table)) for c in row}
        assert not codes & shown, (name, key, codes & shown)
    # one of each kind of label, exactly as the catalogue has it
    books = written[2]
    effects = books["03-training-impact"][1][labels.sheet_name("effects", lang)]
    outcome = [c.value for c in effects[HEADER]].index(labels.column_label("training_outcome", lang)) + 1
    assert {effects.cell(r, outcome).value for r in range(HEADER + 1, effects.max_row + 1)} >= {
        labels.text("training.outcome_employed", lang)}
    estimates = books["02-employment"][1][labels.sheet_name("workshop_estimates", lang)]
    shown = {c.value for row in estimates.iter_rows(min_row=HEADER + 1) for c in row}
    assert labels.value_label("estimator", "twfe", lang) in shown


def test_numbers_carry_the_format_of_their_column_kind_and_the_value_written(written):
    lang, _, _ = written
    checked = 0
    for name, key, table, sheet in _sheets(written):
        shown = workbook.localise(table, lang).reset_index(drop=True)
        formats = workbook.column_formats(shown)
        rows = table.attrs.get(workbook.ATTR, {}).get("rows", {})
        declared = table.attrs.get(workbook.ATTR, {}).get("columns", {})
        for j, col in enumerate(shown.columns, start=1):
            original, values = table.iloc[:, j - 1], shown.iloc[:, j - 1]
            if pd.api.types.is_numeric_dtype(original) and not pd.api.types.is_bool_dtype(original) and \
                    isinstance(col, str) and CODE.fullmatch(col):
                # a code-named number column has a declared kind: a new column cannot slip through unformatted
                assert col in declared or col in rows or workbook.kind_of(col) or col in ("conf_low", "conf_high",
                                                                                         "std_error"), (name, key, col)
            for i, value in enumerate(values):
                cell = sheet.cell(HEADER + 1 + i, j)
                if pd.isna(value) if not isinstance(value, str) else False:
                    # a blanked or missing cell carries the page's marker, as text
                    assert cell.value == "–" and cell.data_type == "s", (name, key, col, i)
                elif isinstance(value, str):
                    assert cell.value == value or (value == "" and cell.value is None), (name, key, col, i)
                else:
                    expected = workbook.excel_format(rows[col][i])[0] if col in rows else formats[j - 1][0]
                    assert cell.value == pytest.approx(float(value), rel=1e-12), (name, key, col, i)
                    assert cell.number_format == expected, (name, key, col, i)
                    checked += 1
    assert checked > 500


def test_shares_counts_money_and_years_have_their_formats(written):
    lang, _, books = written
    sheet = books["01-income-growth"][1][labels.sheet_name("income", lang)]
    formats = {c.value: sheet.cell(HEADER + 1, c.column).number_format for c in sheet[HEADER]}
    share = labels.column_label("share_wage", lang) + labels.text("workbook.percent", lang)   # with its unit
    assert formats[share] == "0.0%"
    assert formats[labels.column_label("households", lang)] == "#,##0"
    assert formats[labels.column_label("income_pc", lang)] == "#,##0"
    assert formats[labels.column_label("year", lang)] == "0"
    card = books["05-post-assessment"][1][labels.sheet_name("scorecard", lang)]
    score = [c.value for c in card[HEADER]].index(labels.text("assessment.columns.score", lang)) + 1
    assert {card.cell(r, score).number_format for r in range(HEADER + 1, card.max_row + 1)
            if isinstance(card.cell(r, score).value, float)} == {"0.0"}


def test_title_rows_frozen_header_widths_and_footnotes(written):
    lang, region, books = written
    from analysis.config import min_households
    prefecture = books["01-income-growth"][0]["prefecture"]["prefecture"].iloc[0]
    rule = labels.text("workbook.marker", lang, marker="–", k=min_households())
    for name, key, table, sheet in _sheets(written):
        assert sheet.freeze_panes == f"A{HEADER + 1}", (name, key)
        place = prefecture if name == "06-prefecture" else region   # the prefecture page names the prefecture
        assert place in sheet["A1"].value and labels.sheet_name(key, lang) in sheet["A1"].value
        assert place in sheet["A2"].value and "2020" in sheet["A2"].value
        notes = [sheet.cell(r, 1).value for r in range(HEADER + len(table) + 1, sheet.max_row + 1)]
        assert rule in notes, (name, key)
        assert any(str(v).startswith(labels.text("workbook.source", lang, files=0)[:8]) for v in notes if v)
    # a column is as wide as its widest entry (CJK characters twice as wide), not Excel's default
    sheet = books["01-income-growth"][1][labels.sheet_name("income", lang)]
    county = [c.value for c in sheet[HEADER]].index(labels.column_label("county", lang)) + 1
    letter = openpyxl.utils.get_column_letter(county)
    assert sheet.column_dimensions[letter].width >= workbook.display_width(region) + 2


def test_definition_footnote_where_the_definitions_sheet_has_one(written):
    lang, _, books = written
    sheet = books["04-monitoring"][1][labels.sheet_name("poverty", lang)]
    from analysis.reporting import definitions
    label = definitions.entries()["share_below_threshold"]["label"][lang]
    assert any(isinstance(c.value, str) and label in c.value and c.row > HEADER for c in sheet["A"])


def test_kinds_by_declaration_convention_and_values():
    assert workbook.kind_of("growth_real_high") == "share"          # the kind of its stem
    assert workbook.kind_of("elimination_rate_persons") == "share"
    assert workbook.kind_of("n_treated_households") == "count"
    assert workbook.kind_of("pretrend_p_value") == "p"
    assert workbook.kind_of("year_start") == "year"
    assert workbook.kind_of("no_such_column") is None
    frame = pd.DataFrame({"estimate": [0.5], "conf_low": [0.1], "growth": [0.02], "conf_high": [0.03],
                          "家政服务": [3.0], "ratio": [1.25], "note": ["x"]})
    assert [f for f, _ in workbook.column_formats(frame)] == [
        "#,##0.000", "#,##0.000", "0.0%", "0.0%", "#,##0", "#,##0.000", "@"]
    assert workbook.excel_format("{:+.1f}%") == ('+0.0"%";-0.0"%";0', "{:+.1f}%")
    assert workbook.excel_format("{:,.3f}")[0] == "#,##0.000"
    assert workbook.display_width("北岭县 A1") == 9
