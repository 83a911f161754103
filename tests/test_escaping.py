"""Text from data stays text: the escaping helpers against the renderers the pages really go through, and
a scan of the rendering code for any way around them."""
from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from analysis.core import escaping
from analysis.reporting import text

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ['<script>document.title="X"</script>镇', "<img src=x onerror=alert(1)>村",
           "[点击](javascript:alert(1))", "![图](http://example.invalid/x.png)", "**粗**_斜_`码`", "# 标题",
           "a | b | c", "$x^2$", "A&B &lt; C", "城关镇(新)", "http://example.invalid/?a=1", "\\*"]


def _visible(rendered_html: str) -> str:
    """The text a reader sees in rendered HTML (tags dropped, entities resolved)."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered_html)).strip()


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_text_renders_as_exactly_the_characters_written(value):
    rendered = markdown2html_mistune(f"县名：{text.md(value)}。")
    assert _visible(rendered) == f"县名：{value}。"
    assert "<a " not in rendered and "<img" not in rendered and "<script" not in rendered
    assert "<em>" not in rendered and "<strong>" not in rendered and "<code>" not in rendered


def test_table_escapes_cells_headers_index_and_caption():
    frame = pd.DataFrame({"<b>列</b>": ["<script>x</script>", "=1+1"], "n": [1, 2]},
                         index=pd.Index(["<i>甲</i>", "乙"], name="<u>村</u>"))
    rendered = text.table(frame, caption="<img src=x onerror=y>").format("{:.1f}", subset=["n"]).to_html()
    for tag in ("<b>", "<script>", "<i>", "<u>", "<img"):
        assert tag not in rendered
    for escaped in ("&lt;b&gt;列&lt;/b&gt;", "&lt;script&gt;x&lt;/script&gt;", "&lt;i&gt;甲&lt;/i&gt;",
                    "&lt;u&gt;村&lt;/u&gt;", "&lt;img src=x onerror=y&gt;", "2.0"):
        assert escaped in rendered


@pytest.mark.parametrize("value,expected", [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("+1", "'+1"), ("-1+2", "'-1+2"),
                                            ("@SUM(1)", "'@SUM(1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
                                            ("北岭县", "北岭县"), ("", ""), (5, 5)])
def test_spreadsheet_text_prefixes_what_a_spreadsheet_would_evaluate(value, expected):
    assert escaping.spreadsheet_text(value) == expected
    assert escaping.from_spreadsheet_text(escaping.spreadsheet_text(value)) == value


def test_ingest_detectors_tell_markup_and_formulas_from_ordinary_text():
    values = pd.Series(["<script>", "</b>镇", "<!-- x -->", "a < b", "<5户", "=A1", "+1+1村", "@SUM(1)", "-1",
                        "-", "--", "城关镇", None])
    assert escaping.has_markup(values).tolist() == [True, True, True] + [False] * 10
    assert escaping.formula_like(values).tolist() == [False] * 5 + [True] * 4 + [False] * 4


#: The modules of analysis/reporting that may write Excel (the workbook layout is one home).
EXCEL_WRITERS = {"workbook.py"}


def _calls(tree: ast.AST):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def test_pages_build_tables_and_workbooks_only_through_the_escaping_path():
    """No page module styles a frame itself (``.style``), turns escaping off, sets a raw caption or opens an
    Excel writer without the text-only options; text.py and workbook.py are the one home of each."""
    offenders = []
    for path in sorted((ROOT / "analysis" / "reporting").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "style" and path.name != "text.py":
                offenders.append(f"{path.name}:{node.lineno} .style")
            if isinstance(node, ast.keyword) and node.arg == "escape" and not (
                    isinstance(node.value, ast.Constant) and node.value.value == "html"):
                offenders.append(f"{path.name}:{node.lineno} escape={ast.unparse(node.value)}")
        for call in _calls(tree):
            name = ast.unparse(call.func)
            if name.endswith("set_caption") and path.name != "text.py":
                offenders.append(f"{path.name}:{call.lineno} {name}")
            if name.endswith("ExcelWriter") and "XLSXWRITER_OPTIONS" not in ast.unparse(call):
                offenders.append(f"{path.name}:{call.lineno} ExcelWriter without XLSXWRITER_OPTIONS")
            if name.endswith(("ExcelWriter", "to_excel")) and path.name not in EXCEL_WRITERS:
                offenders.append(f"{path.name}:{call.lineno} {name} outside {sorted(EXCEL_WRITERS)}")
    assert offenders == []
