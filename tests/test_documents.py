"""The Word and PDF reports: the converters on hand-built content, then one county's and the prefecture's
report on the bundled sample read back with python-docx, and one PDF read with pdftotext and pdftoppm."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn
from IPython.display import Markdown

from analysis import build
from analysis.io import data
from analysis.publish import documents
from analysis.reporting import income, labels, page, text

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "processed"
needs_sample = pytest.mark.skipif(not (SAMPLE / "results" / "steps.json").exists(),
                                  reason="the bundled sample is not built (make build)")
#: What must never be left in a document: Markdown markup, HTML tags, escapes, code.
LEFTOVER = re.compile(r"\*\*|^#{1,6} |<[A-Za-z/!]|\]\(|\\[\[\]()*_#]|&[a-z]+;|^```|\bdef |ctx\)|\.format\(")


def _writer(lang: str = "zh") -> documents.Writer:
    return documents.Writer(Document(str(documents.TEMPLATE)), lang, "来源")


# ------------------------------------------------------------------------------------------ converters
def test_styler_cells_are_the_displayed_strings():
    frame = pd.DataFrame({"镇": ["<b>东镇</b>", "西镇&"], "收入（元）": [12036.8696, np.nan], "占比": [0.6654, 0.1]})
    styler = (text.table(frame, "表题 <i>").hide(axis="index").format("{:,.0f}", subset=["收入（元）"], na_rep="–")
              .format("{:.1%}", subset=["占比"]))
    caption, head, body = documents.styler_cells(styler)
    assert caption == "表题 <i>"
    assert head == ["镇", "收入（元）", "占比"]
    assert body == [["<b>东镇</b>", "12,037", "66.5%"], ["西镇&", "–", "10.0%"]]


def test_index_names_and_columns_share_one_header_row():
    frame = pd.DataFrame({"A": [1.5, 2.0]}, index=pd.Index(["x", "y"], name="地区"))
    caption, head, body = documents.styler_cells(text.table(frame).format("{:.1f}"))
    assert caption == "" and head == ["地区", "A"] and body == [["x", "1.5"], ["y", "2.0"]]


def test_markdown_becomes_styled_paragraphs_without_markup():
    writer = _writer()
    writer.markdown(f"## 小节\n\n**粗体**正文{text.md('[链接](x) <b>')}\n\n- 第一\n- **第二**\n\n<small>注释</small>")
    paragraphs = writer.doc.paragraphs
    assert [(p.style.name, p.text) for p in paragraphs] == [
        ("Heading 1", "一、小节"), ("Normal", "粗体正文[链接](x) <b>"), ("List Bullet", "第一"),
        ("List Bullet", "第二"), ("Normal", "注释")]
    assert paragraphs[1].runs[0].bold and not paragraphs[1].runs[1].bold
    assert paragraphs[3].runs[0].bold
    assert paragraphs[4].runs[0].font.size.pt == 9


def test_heading_numbers_follow_each_language():
    zh, en = _writer("zh"), _writer("en")
    for writer in (zh, en):
        for level in (1, 2, 2, 3, 4, 1, 2):
            writer.heading("T", level)
    assert [t for _, t in zh.headings] == ["一、T", "（一）T", "（二）T", "1.T", "（1） T", "二、T", "（一）T"]
    assert [t for _, t in en.headings] == ["1 T", "1.1 T", "1.2 T", "1.2.1 T", "1.2.1.1 T", "2 T", "2.1 T"]
    assert documents._zh_numeral(11) == "十一" and documents._zh_numeral(20) == "二十"


def test_a_table_is_native_with_caption_and_source_note():
    writer = _writer()
    frame = pd.DataFrame({"县": ["甲", "乙"], "户数": [12, np.nan]})
    writer.add(text.table(frame, "两县户数").hide(axis="index").format("{:.0f}", subset=["户数"], na_rep="–"))
    doc = writer.doc
    assert [[c.text for c in row.cells] for row in doc.tables[0].rows] == [["县", "户数"], ["甲", "12"], ["乙", "–"]]
    assert doc.paragraphs[0].style.name == "Caption" and doc.paragraphs[0].text == "表1  两县户数"
    assert "SEQ" in doc.paragraphs[0]._p.xml
    assert doc.paragraphs[1].style.name == "Source Note" and "来源" in doc.paragraphs[1].text


def test_unknown_content_is_refused():
    with pytest.raises(TypeError, match="cannot show"):
        _writer().add(object())


def test_template_names_official_fonts():
    doc = Document(str(documents.TEMPLATE))

    def east_asian(name):
        return doc.styles[name].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))
    assert east_asian("Normal") == "仿宋" and east_asian("Heading 1") == "黑体" and east_asian("Table Grid") == "宋体"
    assert "PAGE" in doc.sections[0].footer._element.xml


# ---------------------------------------------------------------------------------------- the reports
@pytest.fixture(scope="module")
def county_report(tmp_path_factory):
    county = data.list_regions(SAMPLE)[0]
    path = documents.write(county, "zh", SAMPLE, tmp_path_factory.mktemp("county"))
    return county, path


def _body_texts(doc) -> list[str]:
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return [p.text for p in doc.paragraphs] + cells


@needs_sample
def test_county_report_reads_back(county_report):
    county, path = county_report
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    order = ["成效巩固", "收入增长", "就业与帮扶车间", "技能培训", "防止返贫监测", "综合评分与排名", "存在问题", "建议",
             "附录：方法与数据清单"]
    found = [next(i for i, h in enumerate(headings) if name in h) for name in order]
    assert found == sorted(found), headings
    assert headings[0] == "一、成效巩固"
    # native tables and pictures, one numbered caption each
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert len(doc.tables) == sum(c.startswith("表") for c in captions) >= 10
    assert len(doc.inline_shapes) == sum(c.startswith("图") for c in captions) >= 10
    # no Markdown, HTML, escapes or code left anywhere
    leftovers = [t for t in _body_texts(doc) if LEFTOVER.search(t)]
    assert not leftovers, leftovers[:5]
    # cover with the SYNTHETIC marking, contents and page-number fields
    assert doc.paragraphs[6].text == labels.text("documents.title_county", "zh", region=county)
    assert any("SYNTHETIC" in p.text for p in doc.paragraphs[:14])
    xml = doc.element.xml
    assert "TOC \\o" in xml
    assert any("PAGE" in s.footer._element.xml for s in doc.sections)


@needs_sample
def test_county_tables_carry_the_page_strings(county_report):
    county, path = county_report
    doc = Document(str(path))
    years = [int(y) for y in build.load("income_growth", SAMPLE, region=county)["year"].agg(["min", "max"])]
    ctx = page.context(region=county, years=years, data_dir=str(SAMPLE), lang="zh")
    caption, head, body = documents.styler_cells(income.income_table(ctx))
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption" and p.text.startswith("表")]
    table = doc.tables[next(i for i, c in enumerate(captions) if c.endswith(caption))]
    assert [[c.text for c in row.cells] for row in table.rows] == [head, *body]


@needs_sample
def test_figures_are_at_least_200_dpi(county_report):
    from PIL import Image
    doc = Document(str(county_report[1]))
    shape = doc.inline_shapes[0]
    blob = doc.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
    import io
    width_px = Image.open(io.BytesIO(blob)).size[0]
    assert width_px / shape.width.inches >= 200


@needs_sample
def test_problems_list_the_scorecard_weaknesses(county_report):
    county, path = county_report
    doc = Document(str(path))
    card = build.load("assessment_scorecard", SAMPLE)
    year = int(card.loc[card["score"].notna(), "year"].max())
    weak = card[(card["county"] == county) & (card["year"] == year) & (card["flag"] == "weakness")]
    paragraphs = doc.paragraphs
    start = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 1" and "存在问题" in p.text)
    end = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 1" and "建议" in p.text)
    items = [p.text for p in paragraphs[start:end] if p.style.name == "List Bullet"]
    from analysis.studies import assessment as system
    names = system.load_system().labels("zh")
    assert sorted(i.split("：")[0] for i in items) == sorted(names[c] for c in weak["indicator"])
    advice = [p.text for p in paragraphs[end:] if p.style.name == "List Bullet"]
    assert len(advice) >= len(weak)


@needs_sample
def test_prefecture_report_sets_counties_side_by_side(tmp_path):
    prefecture = data.list_regions(SAMPLE, "prefecture")[0]
    counties = build.load("income_growth", SAMPLE, region=prefecture, level="prefecture")["county"].unique()
    doc = Document(str(documents.write(prefecture, "en", SAMPLE, tmp_path)))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[0] == "1 The counties side by side"
    ranking = next(t for t in doc.tables if t.rows[0].cells[0].text == "Rank")
    assert len(ranking.rows) == len(counties) + 1
    assert sorted(r.cells[1].text for r in list(ranking.rows)[1:]) == sorted(counties)
    assert any("interval" in c.text.lower() for c in ranking.rows[0].cells)
    assert len(doc.inline_shapes) >= 3
    assert not [t for t in _body_texts(doc) if LEFTOVER.search(t)]


def test_markdown_object_passes_through_add():
    writer = _writer("en")
    writer.add(Markdown("plain *words*"))
    assert writer.doc.paragraphs[0].text == "plain words" and writer.doc.paragraphs[0].runs[1].italic


# ------------------------------------------------------------------------------------------------- PDF
@needs_sample
@pytest.mark.skipif(documents.soffice() is None, reason="LibreOffice is not installed (make office, as root)")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed (make office)")
def test_pdf_has_the_chinese_headings_and_renders(county_report, tmp_path):
    docx = tmp_path / "report-zh.docx"
    shutil.copyfile(county_report[1], docx)
    [pdf] = documents.to_pdf([docx])
    words = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    for heading in ("成效巩固", "收入增长", "存在问题", "建议", county_report[0]):
        assert heading in words
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "60", "-png", str(pdf), str(tmp_path / "page")],
                   check=True)
    [png] = tmp_path.glob("page*.png")
    from PIL import Image
    width, height = Image.open(png).size
    assert height > width > 400  # A4 portrait at 60 dpi


# ----------------------------------------------------------------------------------------- command line
@needs_sample
def test_documents_command_writes_the_prefecture_report(tmp_path):
    from analysis.publish import cli
    prefecture = data.list_regions(SAMPLE, "prefecture")[0]
    code = cli.main(["documents", "--region", prefecture, "--lang", "en", "--no-pdf", "--data-dir", str(SAMPLE),
                     "--output-dir", str(tmp_path)])
    assert code == 0
    report = tmp_path / prefecture / "report-en.docx"
    assert [p.name for p in (tmp_path / prefecture).iterdir()] == [report.name]
    # unchanged inputs: not written again; with force: written again
    stamp = report.stat().st_mtime_ns
    again = documents.write_all(prefecture, ["en"], SAMPLE, tmp_path, pdf=False, progress=False)
    assert again.files == [] and report.stat().st_mtime_ns == stamp
    forced = documents.write_all(prefecture, ["en"], SAMPLE, tmp_path, pdf=False, force=True, progress=False)
    assert forced.files == [report] and report.stat().st_mtime_ns > stamp


@needs_sample
def test_an_unknown_region_is_refused_with_the_valid_ones(capsys):
    from analysis.publish import cli
    assert cli.main(["documents", "--region", "无此县", "--data-dir", str(SAMPLE), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "无此县" in err and data.list_regions(SAMPLE)[0] in err
