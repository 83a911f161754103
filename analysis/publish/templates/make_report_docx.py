"""Write ``report.docx``, the style template of the Word reports (:mod:`analysis.publish.documents`).

The reports take every style from this file: restyle it in Word or WPS (Home > Styles > Modify) and the next
run uses the new look, no code involved. Run this script only to start again from the shipped styles::

    python analysis/publish/templates/make_report_docx.py

Styles follow the habits of Chinese official documents (GB/T 9704-2012, *Layout key for official documents of
Party and government organs*): A4 paper, margins 37/35/28/26 mm, a Fangsong body and Hei headings. Fonts are
named as Word and WPS know them, with the fallbacks in the font table (``w:altName``) and in
:data:`FALLBACKS`: where 仿宋/黑体/宋体 are not installed (Linux), LibreOffice draws CJK text with Noto CJK
(``fonts-noto-cjk``). Latin text uses Times New Roman (Liberation Serif on Linux).
"""
from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "report.docx"

BODY_CJK, HEADING_CJK, TABLE_CJK, LATIN = "仿宋", "黑体", "宋体", "Times New Roman"
#: What each font falls back to where it is not installed (recorded in the font table as w:altName).
FALLBACKS = {"仿宋": "FangSong", "黑体": "SimHei", "宋体": "SimSun"}

#: style -> (East-Asian font, size in points, bold, space before, space after)
PARAGRAPH_STYLES = {
    "Normal": (BODY_CJK, 12, False, 0, 6),
    "Title": (HEADING_CJK, 22, True, 0, 12),
    "Subtitle": (BODY_CJK, 16, False, 0, 12),
    "Heading 1": (HEADING_CJK, 16, False, 18, 8),
    "Heading 2": (HEADING_CJK, 14, False, 12, 6),
    "Heading 3": (HEADING_CJK, 12, True, 10, 4),
    "Heading 4": (BODY_CJK, 12, True, 8, 4),
    "Caption": (HEADING_CJK, 10.5, False, 6, 6),
    "List Bullet": (BODY_CJK, 12, False, 0, 3),
    "Quote": (BODY_CJK, 11, False, 6, 6),
}
#: custom paragraph styles: name -> (based on, East-Asian font, size, bold, colour)
CUSTOM = {
    "Source Note": ("Normal", BODY_CJK, 9, False, "595959"),
    "Table Text": ("Normal", TABLE_CJK, 9, False, None),
    "Synthetic Notice": ("Normal", HEADING_CJK, 12, True, "C00000"),
    "Cover Line": ("Normal", BODY_CJK, 14, False, None),
    "TOC Heading": ("Heading 1", HEADING_CJK, 16, False, None),
}


def _fonts(style, east_asian: str, size: float, bold: bool, colour: str | None = None) -> None:
    font = style.font
    font.name, font.size, font.bold = LATIN, Pt(size), bold
    font.color.rgb = RGBColor.from_string(colour) if colour else RGBColor(0, 0, 0)
    rpr = style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attribute), None)
    rfonts.set(qn("w:ascii"), LATIN)
    rfonts.set(qn("w:hAnsi"), LATIN)
    rfonts.set(qn("w:eastAsia"), east_asian)


def _paragraph_styles(doc) -> None:
    for name, (east_asian, size, bold, before, after) in PARAGRAPH_STYLES.items():
        style = doc.styles[name]
        _fonts(style, east_asian, size, bold)
        style.paragraph_format.space_before, style.paragraph_format.space_after = Pt(before), Pt(after)
        if name.startswith("Heading"):
            style.paragraph_format.keep_with_next = True
    doc.styles["Normal"].paragraph_format.line_spacing = 1.5
    doc.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.styles["Subtitle"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.styles["Caption"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for name, (base, east_asian, size, bold, colour) in CUSTOM.items():
        names = {s.name for s in doc.styles}
        style = doc.styles[name] if name in names else doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles[base]
        _fonts(style, east_asian, size, bold, colour)
    doc.styles["Table Text"].paragraph_format.line_spacing = 1.0
    doc.styles["Table Text"].paragraph_format.space_after = Pt(0)
    doc.styles["Source Note"].paragraph_format.line_spacing = 1.0
    doc.styles["Cover Line"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.styles["Synthetic Notice"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _font_table(doc) -> None:
    """Name each CJK font's fallback in the font table, as Word writes it for SimSun etc."""
    part = next(rel.target_part for rel in doc.part.rels.values() if rel.reltype.endswith("/fontTable"))
    from lxml import etree
    root = etree.fromstring(part.blob)
    for name, alt in FALLBACKS.items():
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        alt_name = etree.SubElement(font, qn("w:altName"))
        alt_name.set(qn("w:val"), alt)
        charset = etree.SubElement(font, qn("w:charset"))
        charset.set(qn("w:val"), "86")
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _page(doc) -> None:
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)


def _table_style(doc) -> None:
    """The tables' style: Word's "Table Grid" (thin borders) with the table font."""
    style = doc.styles["Table Grid"]
    _fonts(style, TABLE_CJK, 9, False)


def _field(paragraph, instruction: str, shown: str) -> None:
    """A Word field (e.g. PAGE) in ``paragraph``, showing ``shown`` until Word or LibreOffice updates it."""
    for kind, text in (("begin", None), (None, instruction), ("separate", None), (None, shown), ("end", None)):
        run = paragraph.add_run()
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text == instruction:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {instruction} "
            run._r.append(instr)
        else:
            run.text = text


def _footer(doc) -> None:
    """Page numbers "— 1 —" centred in the footer (official habit); the cover page has none."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("— ")
    _field(paragraph, "PAGE", "1")
    paragraph.add_run(" —")
    for run in paragraph.runs:
        run.font.size = Pt(10.5)


def _toc_heading(doc) -> None:
    """The contents' title is not itself a contents entry: body outline level."""
    ppr = doc.styles["TOC Heading"].element.get_or_add_pPr()
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), "9")
    ppr.append(level)
    doc.styles["TOC Heading"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER


def make(path: Path = TEMPLATE) -> Path:
    """Write the template to ``path`` (an empty body: the reports add their content)."""
    doc = Document()
    _paragraph_styles(doc)
    _table_style(doc)
    _font_table(doc)
    _page(doc)
    _footer(doc)
    _toc_heading(doc)
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    doc.core_properties.title = "Report template"
    doc.core_properties.author = "county-evaluation"
    doc.save(path)
    return path


if __name__ == "__main__":
    print(f"wrote {make(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE)}")
