"""Every published artifact of one county, read back as a reader gets it: its five HTML pages, their Excel
workbooks and its Word report. In every table: (a) no household identifier (pseudonymous household or
person id of the processed data, or a name, ID number or phone number of the raw exports), (b) no cell
counting 1 to k - 1 households, (c) no blanked cell that a total shown beside it gives away.

The checks are functions of any table of text cells (as read back), each shown to fail on a hand-built
table that leaks. A table with household counts is checked for (c) when a total is found in it (a row or
column labelled 合计/总计) or when its structure is declared in ``DECLARED`` (the one place that says which
count adds up to which); the remaining tables with household counts are listed in ``NO_TOTAL`` with the
reason no total is shown. A table with household counts in neither is an error, not a silent skip.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

K = 5
BLANK = {"–", "-", "—", ""}
PSEUDONYM = re.compile(r"(?<![0-9A-Za-z])[HP][0-9a-f]{16}(?![0-9A-Za-z])")
# a column (or row) counting households: its label ends in 户数 (or 户数 and a unit or note in brackets),
# and is no share, rate, mean or per-household figure
COUNT_LABEL = re.compile(r"户数(?:[（(].*[)）])?$")
NOT_COUNT = re.compile(r"比|率|占|均|每户|百分点|差|变动|增减")
TOTAL_LABEL = re.compile(r"^(?:合计|总计|全部|总数)$")


@dataclass
class Table:
    """A table read back from an artifact: where it is, its caption (or sheet name), its text cells."""
    where: str
    title: str
    frame: pd.DataFrame


# ====================================================================================================
# the checks: functions of any table of text cells
# ====================================================================================================
def number(text) -> float:
    """The number a cell shows ('1,234', '12', '3.5%' is not a count), NaN for a blank or text."""
    text = str(text).strip().replace(",", "")
    return float(text) if re.fullmatch(r"-?\d+(?:\.0+)?", text) else float("nan")


def decimal(text) -> float:
    """A shown share or rate as a number ('90.9%' -> 90.9), NaN for a blank or text."""
    text = str(text).strip().replace(",", "").rstrip("%")
    return float(text) if re.fullmatch(r"-?\d+(?:\.\d+)?", text) else float("nan")


def is_blank(text) -> bool:
    return text is None or (isinstance(text, float) and np.isnan(text)) or str(text).strip() in BLANK


def identifier_cells(frame: pd.DataFrame, known: set[str]) -> list[str]:
    """Cells and headers holding a pseudonymous id, an ID or phone number, or one of the ``known`` values
    (names, ID numbers, phones of the raw exports; household and person ids of the processed data)."""
    from analysis.io import privacy
    lengths = sorted({len(v) for v in known})
    found = []
    for text in [*map(str, frame.columns), *map(str, frame.to_numpy().ravel())]:
        personal = any(k in ("id_number", "phone", "bank_card") for k, _ in privacy.find_identifiers(text))
        if PSEUDONYM.search(text) or personal or any(text[i:i + n] in known for n in lengths
                                                     for i in range(len(text) - n + 1)):
            found.append(text)
    return found


def _is_count_label(label: str) -> bool:
    return bool(COUNT_LABEL.search(label)) and not NOT_COUNT.search(label)


def count_cells(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Household counts shown: ``(row label, column, value)`` of every cell showing a number or a blank in a
    column (or a row, by its first cell) labelled as a household count."""
    out = []
    first = frame.columns[0]
    for j, col in enumerate(frame.columns):
        if _is_count_label(str(col)):
            out += [(str(frame[first].iloc[i]), str(col), frame.iloc[i, j]) for i in range(len(frame))]
    for i, label in enumerate(frame[first].astype(str)):
        if _is_count_label(label):
            out += [(label, str(c), frame.iloc[i, j]) for j, c in enumerate(frame.columns) if j > 0]
    return [(r, c, v) for r, c, v in out if is_blank(v) or not np.isnan(number(v))]


def small_counts(frame: pd.DataFrame, k: int = K) -> list[tuple[str, str, str]]:
    """Household counts of 1 to ``k - 1`` shown (check b)."""
    return [(r, c, v) for r, c, v in count_cells(frame) if 0 < number(v) < k]


def recoverable(total, parts, remainder: bool = False, k: int = K) -> bool:
    """Whether the blanks among ``parts`` (text cells adding up to ``total``) give something away when the
    total is shown (check c): exactly one unknown (a blanked part, or with ``remainder`` the part not
    shown, e.g. households not eliminated) is recovered by subtraction -- a leak if it is a blank, or a
    remainder of 1 to k - 1; several unknowns leak when together they count 1 to k - 1."""
    if is_blank(total) or np.isnan(number(total)):
        return False
    blanks = [p for p in parts if is_blank(p)]
    shown = sum(number(p) for p in parts if not is_blank(p))
    rest = number(total) - shown
    unknown = len(blanks) + int(remainder)
    if unknown == 0:
        return False
    if unknown == 1 and blanks:
        return True
    return 0 < rest < k


def two_way_rows(frame: pd.DataFrame, pair: list[str], row: str, count: str, share: str, k: int = K) -> list[tuple]:
    """Transition cells in long form (one row per shown or blanked transition, absent ones zero): each row
    total a reader gets from a shown count and its share (count / share); rows whose blanks it gives away
    (check c)."""
    leaks = []
    for key, cells in frame.groupby([*pair, row], sort=False):
        counts, shares = cells[count].map(number), cells[share].map(decimal)
        known = counts.notna() & shares.gt(0)
        if not known.any():
            continue
        scale = 100 if cells[share].astype(str).str.endswith("%").any() else 1
        total = round(counts[known].iloc[0] / shares[known].iloc[0] * scale)
        if recoverable(str(total), list(cells[count]), k=k):
            leaks.append(key)
    return leaks


def test_the_checks_fail_on_tables_that_leak():
    known = {"王丽华", "H0123456789abcdef"}
    leaky = pd.DataFrame({"村": ["甲村", "王丽华家"], "户数": ["12", "3"], "占比": ["3", "4"]})
    assert identifier_cells(leaky, known) == ["王丽华家"]
    assert identifier_cells(pd.DataFrame({"x": ["H0123456789abcdef"]}), set()) == ["H0123456789abcdef"]
    assert identifier_cells(pd.DataFrame({"x": ["13912345678"]}), set()) == ["13912345678"]
    assert identifier_cells(pd.DataFrame({"户数": ["12", "1,234"]}), known) == []
    assert small_counts(leaky) == [("王丽华家", "户数", "3")]              # the share column is no count
    rows = pd.DataFrame({"指标": ["监测对象户数", "人均纯收入（元）"], "2023": ["4", "2"], "2024": ["–", "9"]})
    assert small_counts(rows) == [("监测对象户数", "2023", "4")]
    assert small_counts(pd.DataFrame({"户数": ["0", "5", "–"]})) == []
    # one blank beside a shown total: recovered; two that together are small: a small group
    assert recoverable("20", ["–", "8", "9"]) and recoverable("20", ["–", "–", "17"])
    assert not recoverable("20", ["–", "–", "10"]) and not recoverable("–", ["–", "10"])
    # a part not shown at all (households not eliminated = targets - eliminated)
    assert recoverable("20", ["17"], remainder=True) and not recoverable("20", ["20"], remainder=True)
    assert not recoverable("20", ["–"], remainder=True) and not recoverable("20", ["10"], remainder=True)
    long = pd.DataFrame({"年": ["2023"] * 3, "从": ["a", "a", "b"], "到": ["a", "b", "a"],
                         "户数": ["30", "–", "9"], "占比": ["75.0%", "–", "100.0%"]})
    assert two_way_rows(long, ["年"], "从", "户数", "占比") == [("2023", "a")]
    long.loc[len(long)] = ["2023", "a", "c", "–", "–"]
    assert two_way_rows(long, ["年"], "从", "户数", "占比") == []


# ====================================================================================================
# which household counts add up to which (the one place where tables are classified by hand)
# ====================================================================================================
@dataclass
class Parts:
    """Columns ``parts`` add up to column ``total`` in each row (``remainder``: a part is not shown)."""
    total: str
    parts: list[str]
    remainder: bool = False


@dataclass
class LongParts:
    """Rows of one ``key`` group: the row labelled ``total`` in column ``label`` is the sum of ``parts`` rows
    (and ``subparts`` rows are a part of it with the remainder not shown), in column ``count``."""
    key: list[str]
    label: str
    count: str
    total: str
    parts: list[str]
    subparts: list[str] = field(default_factory=list)


@dataclass
class TwoWay:
    pair: list[str]
    row: str
    count: str
    share: str


def _declared() -> dict[str, list]:
    """Structures by caption start (pages, Word report) or sheet name (workbooks)."""
    from analysis.reporting import labels
    types = [labels.code_label("monitoring_type", t, "zh") for t in ("unstable", "marginal", "sudden_hardship")]
    coverage = [LongParts(["年度"], "类别", "户数", labels.text("monitoring.targets_all", "zh"), types,
                          [labels.text("monitoring.targets_active", "zh")])]
    elimination = [Parts("监测对象户数", ["已消除风险户数"], remainder=True),
                   Parts("当年消除户数", ["其中帮扶消除", "其中自然消除"])]
    failed = [Parts("风险消除户数", ["存疑消除户数"], remainder=True)]
    returns = [Parts("上年已消除风险户数", ["消除后再次纳入监测户数"], remainder=True),
               Parts("上年收入达标的脱贫户数", ["返贫致贫风险户数"], remainder=True)]
    transitions = [TwoWay(["起始年度", "次年"], "起始状态", "户数", "占比")]
    groups = [LongParts(["上年", "年度"], "群体", "户数", labels.text("groups.monitored", "zh"),
                        [labels.text(f"groups.{t}", "zh") for t in ("unstable", "marginal", "sudden_hardship")])]
    # households meeting a rule = not monitored (the gap) + monitored (not shown); the rule columns overlap
    gap = [Parts("符合识别标准户数", ["应纳未纳户数"], remainder=True)]
    # the training estimates' sample: person-years of trainees and of the comparison add up to the observations
    sample = [Parts("观测数", ["参训人年数", "未参训人年数"])]
    return {"effects": sample, "overlap": sample, "应纳未纳户数（按识别标准": gap, "gap_summary": gap, "监测对象户数与比重": coverage, "coverage": coverage, "风险消除情况": elimination,
            "elimination": elimination, "存疑风险消除": failed, "failed_summary": failed,
            "返贫致贫风险": returns, "return_rates": returns, "transitions": transitions,
            "同一批农户的收入增长": groups, "groups": groups}


# Tables with household counts and no total shown with them, by caption start or sheet name, with the
# reason; and where the counts do relate to other counts, where that is checked instead.
NO_TOTAL = {
    "脱贫户人均纯收入与全国": "one count per year (households of the group that year)",
    "poverty_exited": "one count per year (households of the group that year)",
    "分年度收入指标": "one count per year", "income": "one count per year (the county's rows)",
    "prefecture": "one count per year (the prefecture's rows)",
    "group_levels": "one count per group and year; groups overlap (all, exited, monitored) and are blanked "
                    "under k households each",
    "分年度务工就业指标": "one count per year", "employment": "one count per year",
    "分年度培训指标": "one count per year", "training": "one count per year",
    "分年度贫困指数": "one count per year", "poverty": "one count per year",
    "两不愁三保障": "one count per year (households assessed)", "basic_needs": "one count per year",
    "每年进入与退出": "entries and exits per year, each blanked under k (reporting/dynamics.py)",
    "符合各识别标准组合": "rows add up to the gap table's count: checked in tests/test_disclosure_rules.py",
    "识别标准参数变动": "one nested series per parameter: differencing checked in tests/test_disclosure_rules.py",
    "长期贫困与暂时贫困": "one count per scope (county, prefecture)", "chronic_transient": "one count per scope",
    "growth_redistribution": "one count per pair of years", "income_sources": "one count per pair of years",
    "主要数据": "the county's figures beside the prefecture's (other counties not shown)",
    "风险预警的样本外效果": "households and events per model and scope; events blanked under k",
    "warning_validity": "households and events per model and scope; events blanked under k",
    "各预警等级农户": "one row per warning level (score levels and logit groups overlap)",
    "warning_outcomes": "one row per warning level (score levels and logit groups overlap)",
    "监测对象帮扶措施覆盖情况": "coverage among targets per year (checked in tests/test_assistance.py)",
    "帮扶措施覆盖": "coverage among targets per year (checked in tests/test_assistance.py)",
    "监测对象风险类型": "a household can have several risk types: the rows do not add up",
    "风险类型": "a household can have several risk types: the rows do not add up",
    "rule_overlap": "rows add up to the gap table's count: checked in tests/test_disclosure_rules.py",
    "rule_sensitivity": "one nested series per parameter: differencing checked in tests/test_disclosure_rules.py",
    "survival": "households still at risk along the Kaplan-Meier curve, blanked under k",
    "entries_exits": "entries and exits per year, each blanked under k (reporting/dynamics.py)",
    "scorecard": "one row per indicator", "scores": "one row per county and year",
    "预警的滚动起点检验": "households and events per outcome, origin and ranking (the same households for each "
                         "ranking); event counts under k blanked",
    "warning_rolling": "households and events per outcome, origin and ranking; event counts under k blanked",
    "warning_reliability": "the bins' events add up to the pooled events of warning_rolling: blanked with "
                           "complements (checked in tests/test_warning_validation.py)",
}

# Leaks this check finds in tables outside this change, by caption start or sheet name: listed, not hidden
# (each must be fixed where the table is made, then removed from here).
KNOWN_LEAKS: dict[str, str] = {}


def structure_leaks(table: Table, structures: list) -> list:
    """Rows of ``table`` whose blanks its declared structures give away."""
    frame, leaks = table.frame, []
    for s in structures:
        if isinstance(s, Parts):
            cols = [s.total, *s.parts]
            missing = [c for c in cols if c not in frame.columns]
            assert not missing, f"{table.where} {table.title}: declared columns {missing} not found"
            leaks += [i for i in range(len(frame))
                      if recoverable(frame[s.total].iloc[i], list(frame[s.parts].iloc[i]), s.remainder)]
        elif isinstance(s, LongParts):
            for key, rows in frame.groupby(s.key, sort=False):
                by = dict(zip(rows[s.label], rows[s.count], strict=False))
                if s.total not in by:
                    continue
                if recoverable(by[s.total], [by.get(p, "0") for p in s.parts]):
                    leaks.append(key)
                for sub in s.subparts:
                    if sub in by and recoverable(by[s.total], [by[sub]], remainder=True):
                        leaks.append((key, sub))
        elif isinstance(s, TwoWay):
            leaks += two_way_rows(frame, s.pair, s.row, s.count, s.share)
    return leaks


def auto_total_leaks(frame: pd.DataFrame) -> list | None:
    """Rows or columns of a table holding a row or column labelled 合计/总计 (a total of the others): the
    lines whose blanks it gives away; None when the table holds no such total."""
    first = frame.columns[0]
    total_rows = [i for i, v in enumerate(frame[first].astype(str)) if TOTAL_LABEL.match(v.strip())]
    total_cols = [c for c in frame.columns[1:] if TOTAL_LABEL.match(str(c).strip())]
    if not total_rows and not total_cols:
        return None
    leaks = []
    for i in total_rows:
        others = [j for j in range(len(frame)) if j not in total_rows]
        for c in frame.columns[1:]:
            if recoverable(frame[c].iloc[i], [frame[c].iloc[j] for j in others]):
                leaks.append((frame[first].iloc[i], c))
    for c in total_cols:
        others = [o for o in frame.columns[1:] if o not in total_cols]
        for i in range(len(frame)):
            if recoverable(frame[c].iloc[i], list(frame[others].iloc[i])):
                leaks.append((frame[first].iloc[i], c))
    return leaks


def names(key: str, table: Table) -> bool:
    """Whether a declaration key names ``table``: a workbook sheet by its whole name, a page or report
    table by a phrase of its caption."""
    if "!" in table.where:   # sheets are named in the report's language; declarations use the sheet's key
        from analysis.reporting import labels
        return table.title in (key, labels.sheet_name(key, "zh")[:31])
    return key in table.title


def classify(table: Table, declared: dict[str, list]) -> str | list:
    """'none' (no household counts), 'no total' (declared in NO_TOTAL), 'auto' (a 合计 row or column), the
    declared structures to check, or 'unclassified'."""
    key = next((d for d in declared if names(d, table)), None)
    if key is not None:
        return declared[key]
    if not count_cells(table.frame):
        return "none"
    if any(names(d, table) for d in NO_TOTAL):
        return "no total"
    if auto_total_leaks(table.frame) is not None:
        return "auto"
    return "unclassified"


# ====================================================================================================
# reading the artifacts back
# ====================================================================================================
def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = [" ".join(dict.fromkeys(str(x) for x in c if not str(x).startswith("Unnamed")))
                         for c in frame.columns]
    frame.columns = [str(c) for c in frame.columns]
    return frame.astype(object).where(frame.notna(), "").astype(str)


def html_tables(path: Path) -> list[Table]:
    """Every table of a page with its caption (pandas.read_html on each table element)."""
    from lxml import html
    tree = html.fromstring(path.read_text(encoding="utf-8"))
    out = []
    for element in tree.iter("table"):
        caption = element.find("caption")
        title = " ".join(caption.text_content().split()) if caption is not None else ""
        source = html.tostring(element, encoding="unicode")
        frame = pd.read_html(io.StringIO(source), keep_default_na=False, na_values=[], thousands=None)[0]
        out.append(Table(path.name, title, _text_frame(frame)))
    return out


def workbook_tables(path: Path) -> list[Table]:
    """Every sheet of a workbook as a table, its header found below any title rows (the first of the
    first rows holding as many filled cells as the widest of them, all text)."""
    out = []
    for sheet in openpyxl.load_workbook(path, read_only=True).worksheets:
        rows = [["" if v is None else v for v in r] for r in sheet.iter_rows(values_only=True)]
        if not rows:
            continue
        top = rows[:6]
        width = max(sum(v != "" for v in r) for r in top)
        head = next(i for i, r in enumerate(top) if sum(v != "" for v in r) == width)
        body = rows[head + 1:]
        end = next((i for i, r in enumerate(body) if all(v == "" for v in r)), len(body))  # footnotes follow
        # a percentage column's header carries its unit in the workbook (占比（%）), not on the page (占比)
        columns = [re.sub(r"[（(]%[）)]$", "", str(c)) for c in rows[head]]
        frame = pd.DataFrame(body[:end], columns=columns)
        out.append(Table(f"{path.name}!{sheet.title}", sheet.title, _text_frame(frame)))
    return out


def docx_tables(path: Path) -> list[Table]:
    """Every table of a Word report with its numbered caption (python-docx)."""
    from docx import Document
    doc = Document(str(path))
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption" and p.text.startswith(("表", "Table"))]
    out = []
    for n, table in enumerate(doc.tables):
        cells = [[c.text for c in row.cells] for row in table.rows]
        title = re.sub(r"^(?:表|Table)\s*\d+\s*", "", captions[n]) if n < len(captions) else ""
        out.append(Table(f"{path.name} table {n + 1}", title, _text_frame(pd.DataFrame(cells[1:], columns=cells[0]))))
    return out


def artifact_tables(folder: Path) -> list[Table]:
    tables = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".html":
            tables += html_tables(path)
        elif path.suffix == ".xlsx":
            tables += workbook_tables(path)
        elif path.suffix == ".docx":
            tables += docx_tables(path)
    return tables


# ====================================================================================================
# the published artifacts of one county
# ====================================================================================================
@pytest.fixture(scope="module")
def artifacts(published_county):
    reports, county = published_county
    folder = reports / county
    return folder, artifact_tables(folder)


@pytest.fixture(scope="module")
def known_identifiers(small_raw, small_processed) -> set[str]:
    """Household and person pseudonyms of the processed data; names, ID and phone numbers of the raw exports."""
    from analysis.io import privacy
    ids = set(pd.read_parquet(small_processed / "households", columns=["household_id"])["household_id"].astype(str))
    ids |= set(pd.read_parquet(small_processed / "members", columns=["person_id"])["person_id"].astype(str))
    return ids | privacy.raw_identities([small_raw])


def _known_leak(table: Table) -> bool:
    return any(names(k, table) for k in KNOWN_LEAKS)


def test_every_artifact_is_read(artifacts):
    folder, tables = artifacts
    kinds = {p.suffix for p in folder.iterdir()}
    assert {".html", ".xlsx", ".docx"} <= kinds
    assert len(list(folder.glob("*.html"))) == 5
    read = {t.where.split("!")[0].split(" table ")[0] for t in tables}
    assert read >= {p.name for p in folder.iterdir() if p.suffix in (".xlsx", ".docx")}
    assert sum(t.where.startswith("report-") for t in tables) >= 20, "the Word report's tables were not read"
    assert sum(bool(count_cells(t.frame)) for t in tables) >= 30, "no household counts found: the reader is broken"


def test_no_household_identifier_in_any_artifact(artifacts, known_identifiers):
    from analysis.io import privacy
    folder, tables = artifacts
    assert any(PSEUDONYM.fullmatch(i) for i in known_identifiers), "the pseudonym pattern no longer matches"
    found = {f"{t.where} ({t.title[:30]})": identifier_cells(t.frame, known_identifiers) for t in tables}
    assert not {k: v[:3] for k, v in found.items() if v}
    # and anywhere in the files' text (pages, workbooks, the Word report), by the audit-privacy scanner
    assert privacy.scan([folder], known_identifiers) == []


def test_no_cell_counts_one_to_k_minus_one_households(artifacts):
    from analysis.config import min_households
    assert min_households() == K
    _, tables = artifacts
    found = {f"{t.where} ({t.title[:30]})": small_counts(t.frame) for t in tables if not _known_leak(t)}
    assert not {k: v[:3] for k, v in found.items() if v}


def test_no_blank_is_given_away_by_a_total(artifacts):
    _, tables = artifacts
    declared = _declared()
    unclassified, leaks, checked = [], {}, 0
    for table in tables:
        kind = classify(table, declared)
        if kind == "unclassified":
            unclassified.append(f"{table.where} ({table.title[:40]})")
        elif kind == "auto":
            leaks[table.where] = auto_total_leaks(table.frame)
            checked += 1
        elif isinstance(kind, list) and not _known_leak(table):
            leaks[f"{table.where} ({table.title[:30]})"] = structure_leaks(table, kind)
            checked += 1
    assert not unclassified, f"tables with household counts neither declared nor with a total: {unclassified}"
    assert checked >= 10, "the declared tables were not found"
    assert not {k: v[:3] for k, v in leaks.items() if v}


# ====================================================================================================
# audit-privacy reads Word documents and PDFs
# ====================================================================================================
def _personal_docx(path: Path) -> Path:
    from docx import Document
    doc = Document()
    doc.add_paragraph("填报说明")
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(1, 1).text = "户数", "联系电话 13912345678"
    doc.sections[0].footer.paragraphs[0].text = "王丽华"
    doc.save(str(path))
    return path


def test_audit_privacy_reads_word_documents(tmp_path):
    from analysis.io import privacy
    _personal_docx(tmp_path / "report.docx")
    found = privacy.scan([tmp_path], {"王丽华"})
    assert sorted(k for _, k, _ in found) == ["known value", "phone"]      # a table cell, and the footer
    clean = tmp_path / "clean"
    clean.mkdir()
    from docx import Document
    doc = Document()
    doc.add_paragraph("户数 12，H-free text")
    doc.save(str(clean / "ok.docx"))
    assert privacy.scan([clean], {"王丽华"}) == []


def _pdf_with(path: Path, text: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(4, 1))
    fig.text(0.1, 0.5, text)
    fig.savefig(path, format="pdf")
    plt.close(fig)
    return path


@pytest.mark.skipif(__import__("shutil").which("pdftotext") is None, reason="pdftotext is not installed")
def test_audit_privacy_reads_pdfs(tmp_path):
    from analysis.io import privacy
    _pdf_with(tmp_path / "report.pdf", "phone 13912345678")
    assert [k for _, k, _ in privacy.scan([tmp_path])] == ["phone"]


def test_audit_privacy_says_when_it_cannot_read_a_pdf(tmp_path, monkeypatch, capsys):
    import shutil

    from analysis.publish import cli
    _pdf_with(tmp_path / "report.pdf", "phone 13912345678")
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "pdftotext" else which(name))
    assert cli.main(["audit-privacy", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "report.pdf: not read: pdftotext is not installed" in out.err
    assert "1 file(s) not read" in out.out
