"""A workbook sheet whose cells are all text, or whole numbers below 1e15 in a format that is not a date, is
read by fastexcel straight into Arrow text; every other sheet by python-calamine, cell by cell, with the
spreadsheet's display rules (decimals, long numbers, dates, booleans, error cells). Both must give the same
cells: checked on every workbook of the corpus of hostile exports and of the sample, on workbooks built to
sit on each side of the rule, and on the ingested tables of a synthetic county."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from analysis.core.escaping import XLSXWRITER_OPTIONS
from analysis.io import ingest, readers, synth

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "bad"
WORKBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in [*CORPUS.glob("*.xlsx"), *(ROOT / "data" / "raw").rglob("*.xlsx")]
                   if zipfile.is_zipfile(p))


def _both(path: Path) -> dict[str, tuple]:
    """Each sheet: (reads as text, frame by fastexcel or None, frame by calamine, merged cells as checked,
    merged cells by calamine)."""
    with zipfile.ZipFile(path) as zf:
        dates = readers._date_styles(zf)
        checks = {name: readers._cell_checks(zf, part, dates) for name, part in readers._sheet_paths(zf).items()}
    fast = readers._plain_sheets(path, [name for name, found in checks.items() if found.plain], list(checks))
    book = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in book.sheet_names:
        sheet = book.get_sheet_by_name(name)
        slow = readers._sheet_frame(sheet.to_python(skip_empty_area=False), checks[name].errors)
        out[name] = (checks[name].plain, fast.get(name), slow, checks[name].merged,
                     list(sheet.merged_cell_ranges or []))
    return out


@pytest.mark.parametrize("name", WORKBOOKS)
def test_sheets_read_as_text_give_the_cells_calamine_gives(name):
    for sheet, (plain, fast, slow, merged, calamine_merged) in _both(ROOT / name).items():
        assert plain == (fast is not None), sheet
        if plain:
            pd.testing.assert_frame_equal(fast, slow)
            assert merged == calamine_merged


def test_the_sample_and_most_of_the_corpus_are_read_as_text():
    plain = {name: all(s[0] for s in _both(ROOT / name).values()) for name in WORKBOOKS}
    assert all(v for k, v in plain.items() if k.startswith("data/raw/")) and any(k.startswith("data/raw/") for k in plain)
    assert plain["tests/data/bad/sheets_per_township.xlsx"] and plain["tests/data/bad/merged_header.xlsx"]
    assert not plain["tests/data/bad/excel_error_cells.xlsx"]
    assert not plain["tests/data/bad/formula_without_values.xlsx"]


def _book(path: Path, write) -> Path:
    book = xlsxwriter.Workbook(str(path), XLSXWRITER_OPTIONS)
    sheet = book.add_worksheet("数据")
    write(book, sheet)
    book.close()
    return path


HEAD = ["户编号", "家庭人口数", "务工收入"]


def _table(book, sheet, last=None, fmt=None):
    sheet.write_row(0, 0, HEAD)
    for r in range(1, 6):
        sheet.write_string(r, 0, f"00010200{r:02d}")
        sheet.write_number(r, 1, r)
        sheet.write_number(r, 2, 12_000 * r, fmt)
    if last:
        last(book, sheet)


@pytest.mark.parametrize("case, last", [
    ("a decimal", lambda b, s: s.write_number(6, 2, 8269.5)),
    ("an ID typed as a number", lambda b, s: s.write_number(6, 0, 419001197704182379)),
    ("a boolean", lambda b, s: s.write_boolean(6, 1, True)),
    ("an error shown", lambda b, s: s.write_formula(6, 2, "=1/0", None, "#DIV/0!")),
    ("a date", lambda b, s: s.write_number(6, 2, 45000, b.add_format({"num_format": 'yyyy"年"m"月"d"日"'}))),
    ("a built-in date format", lambda b, s: s.write_number(6, 2, 45000, b.add_format({"num_format": 14}))),
    ("text as a formula's result", lambda b, s: s.write_formula(6, 0, '="0012"', None, "0012")),
])
def test_cells_with_display_rules_are_read_by_calamine(tmp_path, case, last):
    path = _book(tmp_path / "book.xlsx", lambda b, s: _table(b, s, last))
    ((plain, fast, slow, _, _),) = _both(path).values()
    assert not plain and fast is None, case
    assert slow.shape == (7, 3)


@pytest.mark.parametrize("case, write", [
    ("a table from A1", _table),
    ("whole numbers in a number format that is not a date",
     lambda b, s: _table(b, s, fmt=b.add_format({"num_format": "0.00_ "}))),
    ("a title merged across, the table from C3, a blank cell styled, a date format defined but unused",
     lambda b, s: (b.add_format({"num_format": "yyyy-mm-dd"}), s.merge_range("C1:E1", "2023年监测对象", None),
                   s.write_row(2, 2, HEAD), s.write_row(3, 2, ["0001020001", "", "-3"]), s.write_number(3, 3, 4),
                   s.write_blank(8, 6, None, b.add_format({"bold": True})), s.write_string(9, 1, "  尾注  "))),
])
def test_text_and_whole_numbers_are_read_by_fastexcel_alike(tmp_path, case, write):
    path = _book(tmp_path / "book.xlsx", write)
    ((plain, fast, slow, merged, calamine_merged),) = _both(path).values()
    assert plain and fast is not None, case
    pd.testing.assert_frame_equal(fast, slow)
    assert merged == calamine_merged


@pytest.mark.parametrize("xml, plain", [
    (b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>-120</v></c></row></sheetData>', True),
    (b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>0.5</t></is></c></row></sheetData>', True),
    (b'<sheetData><row r="1"><c r="A1"><v>0.5</v></c></row></sheetData>', False),
    (b'<sheetData><row r="1"><c r="A1"><v>1E+3</v></c></row></sheetData>', False),
    (b'<sheetData><row r="1"><c r="A1"><v>007</v></c></row></sheetData>', False),
    (b'<sheetData><row r="1"><c r="A1"><v>1234567890123456</v></c></row></sheetData>', False),
    (b'<sheetData><row r="1"><c r="A1"><v xml:space="preserve">5</v></c></row></sheetData>', False),
    (b"<sheetData><row r='1'><c r='A1' t='b'><v>1</v></c></row></sheetData>", False),
    (b'<x:sheetData><x:row r="1"><x:c r="A1"><x:v>0.5</x:v></x:c></x:row></x:sheetData>', False),
    (b'<sheetData><row r="1"><c r="A1" s="2"><v>45000</v></c></row></sheetData>', False),
    (b'<sheetData><row r="1"><c r="A1" s="1"><v>45000</v></c></row></sheetData>', True),
])
def test_what_reads_as_text(xml, plain):
    """Values, quoting and prefixes this check does not follow are left to calamine (style 2 shows a date)."""
    assert readers._reads_as_text(xml, {2}) is plain
    assert readers._reads_as_text(xml, None) is False          # styles that could not be followed


def test_date_formats_are_told_from_number_formats(tmp_path):
    styles = ('<styleSheet><numFmts count="4"><numFmt numFmtId="176" formatCode="0.00_ "/>'
              '<numFmt numFmtId="177" formatCode="yyyy&quot;年&quot;m&quot;月&quot;"/>'
              '<numFmt numFmtId="178" formatCode="&quot;元&quot;#,##0"/><numFmt numFmtId="179" formatCode="[h]:mm"/>'
              '</numFmts><cellXfs count="8"><xf numFmtId="0"/><xf numFmtId="176"/><xf numFmtId="177"/>'
              '<xf numFmtId="178"/><xf numFmtId="179"/><xf numFmtId="14"/><xf numFmtId="49"/><xf numFmtId="180"/>'
              '</cellXfs></styleSheet>')
    path = tmp_path / "styles.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/styles.xml", styles)
    with zipfile.ZipFile(path) as zf:
        # a date (177), a time (179), built-in 14, and 180, a format the workbook does not define
        assert readers._date_styles(zf) == {2, 4, 5, 7}


def test_ingest_of_workbooks_equal_by_either_reader(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    synth.write(raw, seed=7, counties=2, households_per_county=40, oracle_replicates=0, xlsx_counties=1,
                gbk_counties=0, xlsx_writer="xlsxwriter")
    synth.write(raw / "inline", seed=8, counties=1, households_per_county=30, oracle_replicates=0,
                xlsx_counties=1, gbk_counties=0)
    read = []
    monkeypatch.setattr(readers, "_plain_sheets", lambda path, wanted, sheets, plain=readers._plain_sheets:
                        read.append(path.name) or plain(path, wanted, sheets))
    fast = ingest.ingest([raw], key=b"k", write=False)
    assert len(read) == 2                      # both workbooks read as text
    monkeypatch.setattr(readers, "_plain_sheets", lambda path, wanted, sheets: {})
    slow = ingest.ingest([raw], key=b"k", write=False)
    pd.testing.assert_frame_equal(fast.households, slow.households)
    pd.testing.assert_frame_equal(fast.members, slow.members)
    assert fast.report() == slow.report()


def test_rich_text_escapes_and_phonetic_guides_are_read_alike(tmp_path):
    """Text as Excel stores it beyond plain runs: formatted runs, the _x000D_ escape of a carriage return, an
    entity, and a phonetic guide (not part of the text)."""
    def write(book, sheet):
        sheet.write_row(0, 0, HEAD)
        sheet.write_rich_string(1, 0, "安", book.add_format({"bold": True}), "丰镇", "北赵")
        sheet.write_string(2, 0, "第一行\r\n第二行")
        sheet.write_string(3, 0, "PLACEHOLDER")
    plain = _book(tmp_path / "plain.xlsx", write)
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                data = data.replace(b"<t>PLACEHOLDER</t>", "<t>安丰_x000D_甲&amp;乙</t><rPh sb=\"0\" eb=\"1\"><t>an</t>"
                                    "</rPh><phoneticPr fontId=\"1\"/>".encode())
            zout.writestr(item, data)
    ((plain_, fast, slow, _, _),) = _both(path).values()
    assert plain_ and fast is not None
    pd.testing.assert_frame_equal(fast, slow)
    assert fast[0].tolist()[1:4] == ["安丰镇北赵", "第一行\r\n第二行", "安丰\r甲&乙"]
