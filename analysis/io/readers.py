"""Reading export files as tables of text: CSV / TSV in UTF-8, UTF-16 or GBK/GB18030, and XLSX.

Every cell is read as text so that nothing is guessed before validation ("007" stays "007", "1,2万"
reaches the parser as it is). Files are opened read-only and never written. Whatever a file holds, reading
either returns a :class:`RawTable` with the repairs it made listed in ``notes``, or raises
:class:`~analysis.errors.DataError` naming the file (and the row and column where there is one).

Encodings of text files
-----------------------
A CSV file carries no trustworthy statement of its encoding, so the bytes decide:

1. a byte-order mark is the encoding (UTF-8, UTF-16 LE/BE);
2. otherwise the file is UTF-8 when it decodes as UTF-8 (Chinese text in GBK practically never does);
3. otherwise it is GB18030 (a superset of GBK and GB2312), unless some of its lines are UTF-8 and others
   not: a file mixing encodings is refused, naming the first rows of each.

What a file *declares* is only a hint: a first line such as ``# -*- coding: gbk -*-`` or
``# encoding=utf-8``, and an encoding named in the file name (``..._utf8.csv``). When a declaration
contradicts the bytes, the bytes win and the report says so; a declaration line is not part of the table
and is skipped (row numbers still count it, as a spreadsheet would show it).

Table shapes
------------
Leading blank rows and a one-cell title row above the header are skipped; a header spread over two rows
(an Excel merged header) is joined; blank rows and totals rows (合计 / 总计 / 小计 with mostly numbers)
are removed; in XLSX, cells merged down a column are filled with their value. A CSV row with more
values than the header is refused unless the extra values are all empty (then they are dropped); a
non-blank row with fewer values is refused, because its values may have shifted columns. Subtotal rows of
Excel's 分类汇总 ("长福镇 汇总"), signature and contact lines under the table (填表人：…), and header rows
repeated by joining files (copy a+b+c, whose end-of-file byte 0x1A is ignored) are skipped and noted; a
repeated header with the columns in another order is refused. Cells written as ``="0002020000"`` hold
the text inside the quotation marks. Workbooks: every sheet holding the table is read (see
:func:`read_tables`); legacy .xls (BIFF8) workbooks are read too; Excel error cells, which the cell
reader gives as empty, are read from the sheet's XML (.xlsx) or the workbook's cell records (.xls, with xlrd)
so that they can be refused.

Reading in columns
------------------
A plain CSV file (its header in the first row, every row with as many values as the header, no line
break inside a cell) is read column by column by Arrow's CSV reader, all columns as text, in the calling
thread; its cells are then Arrow text (:data:`TEXT`), and the checks on them run over whole columns. Any
other file is read row by row, which finds and names each departure; both give the same cells. A large
plain UTF-8 file read in chunks (:func:`iter_text_chunks`) is read the same way, a block of whole lines at a
time. A workbook sheet whose cells are all text, or whole numbers below 1e15 in a format that is not a date
(:func:`_reads_as_text`, a check of the sheet's XML), is read by fastexcel straight into Arrow text, on
another core while the XML is checked; any other sheet by python-calamine as Python values, shown as the
spreadsheet shows them and made Arrow text column by column (:func:`_sheet_frame`). Both readers are
calamine underneath, and give the same cells wherever the first is used. Tests
whose meaning depends on the regular-expression engine (what counts as a space or a digit) run on
Python strings whichever way a file was read, so that the outcome never depends on the reader.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import html
import io
import itertools
import re
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analysis.errors import DataError, Problem
from analysis.io.parsing import normalize

XLSX_MAGIC = b"PK\x03\x04"
# A cell that marks a totals or subtotals row in a spreadsheet export ("合计", "合 计：", "总计", "小计"...).
TOTAL_WORD = r"[合总總小共]\s*[计計]\s*[:：]?"
# The label Excel's 分类汇总 (Subtotal) writes: "长福镇 汇总", and "总计" for the grand total.
SUBTOTAL_WORD = r"[^\x1f]{0,30}?\s*[汇匯]\s*[总總]"
# Cells of a totals row other than its label: sums, counts ("6户"), or placeholders.
TOTAL_FILLER = r"[-+\d.,%元万户人个—–/\s]*"
# A cell that starts a signature or contact line under a table.
FOOTER = re.compile(r"\s*(?:填表人|填报人|制表人|审核人|审批人|负责人|联系人|经办人|统计人|单位负责人|主管领导|联系电话|"
                    r"填表日期|填报日期|制表日期|填报单位|填表单位|签字|签名|盖章)")
FOOTER_CELLS = 4
NOT_TABLES = (  # leading bytes of files that are sometimes renamed .csv or .xlsx by mistake
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip archive"), (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"), (b"{\\rtf", "an RTF document"), (b"BM", None),
    (b"\xd0\xcf\x11\xe0", "an old-format Excel (.xls) or password-protected workbook"),
)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # a compound document: .xls (BIFF8), or an encrypted workbook
#: A sheet is taken for the table when its header holds at least this many known column names.
MIN_KNOWN_HEADERS = 3
#: What Excel shows in a cell whose formula failed; the value behind it is unknown.
EXCEL_ERRORS = ("#N/A", "#VALUE!", "#DIV/0!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                "#GETTING_DATA")
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
DECLARATION = re.compile(r"^\s*#.*?\b(?:en)?(?:coding|charset)\s*[:=]\s*[\"']?([-\w.]+)", re.IGNORECASE)
NAME_HINT = re.compile(r"(utf-?8|utf-?16|gbk|gb2312|gb18030|big5)", re.IGNORECASE)
DELIMITERS = (",", "\t", ";", "|")
MAX_LINES_PER_CELL = 20    # a quoted cell spanning more lines than this is an unclosed quotation mark
ASCII = bytes(range(128))
EDGE_CHARS = " \t\r\n\f\v\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff"
#: Cells read in columns are Arrow text: comparisons and literal tests run over a column at once. Tests whose
#: meaning depends on the regular-expression engine (``\s``, ``\d``) run on Python strings either way.
TEXT = pd.StringDtype("pyarrow", na_value=float("nan"))
#: What every totals or subtotals label holds (计 or 汇), as UTF-8 bytes.
TOTAL_BYTES = tuple(c.encode("utf-8") for c in "计計汇匯")


@dataclass
class RawTable:
    """A file read as text.

    ``frame`` holds strings ('' for empty) under unique column labels (the header text, or
    ``"<text> (F)"`` for a repeated header, ``"<unnamed column F>"`` for an empty one); ``headers`` maps
    each label to the header as written and ``letters`` to its spreadsheet column letter. ``rows`` holds
    the spreadsheet row number of each frame row. ``rows_read`` counts the data rows under the header
    before blank and totals rows were removed; ``header_row`` is the row of the header (its last row
    when the header spans two).
    """

    path: str
    frame: pd.DataFrame
    rows: pd.Series
    encoding: str
    notes: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    letters: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    header_row: int = 1


@dataclass
class _Grid:
    """A file's cells before the header is found (one list of text per row, rows as in the file)."""

    records: list[list[str]]
    encoding: str
    notes: list[str]
    widths: list[int] | None = None                         # values per CSV record; None for XLSX
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    pending: list[tuple[int, int, str]] = field(default_factory=list)   # (row, column index, message)
    frame: pd.DataFrame | None = None       # the cells, trimmed, when read in columns (then no records)


@lru_cache(maxsize=8)
def _default_variants() -> dict:
    from analysis.config import load_yaml
    return variant_table(load_yaml("headers.yaml").get("character_variants"))


def variant_table(variants: dict | None) -> dict:
    """A ``str.translate`` table from the ``character_variants`` mapping of ``headers.yaml``."""
    return str.maketrans({str(k): str(v) for k, v in (variants or {}).items()})


def normalize_header(text: object, variants: dict | None = None) -> str:
    """Header text folded for matching: NFKC (full-width to half-width), no spaces, traditional
    characters replaced by simplified ones (``character_variants`` in ``headers.yaml``), lower case.

    >>> normalize_header("务工时间（月） ")
    '务工时间(月)'
    >>> normalize_header("戶編號")
    '户编号'
    """
    return normalize(text, _default_variants() if variants is None else variants)


def column_letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_raw(path: str | Path) -> RawTable:
    """Read one export file into a :class:`RawTable` of text with its header row as column names (the
    sheets of a workbook that hold the same table are combined: see :func:`read_tables`)."""
    tables = read_tables(path)
    if len(tables) == 1:
        return tables[0]
    first = tables[0]
    frame = pd.concat([t.frame for t in tables], ignore_index=True)
    rows = pd.concat([t.rows for t in tables], ignore_index=True)
    notes = list(dict.fromkeys(n for t in tables for n in t.notes))
    return RawTable(str(path), frame, rows, first.encoding, notes, first.headers, first.letters,
                    rows_read=sum(t.rows_read for t in tables), header_row=first.header_row)


def read_tables(path: str | Path, known_headers: set[str] | None = None) -> list[RawTable]:
    """Read one export file into one :class:`RawTable` per table it holds.

    A text file holds one table. In a workbook, the table is on the first sheet whose header has at least
    :data:`MIN_KNOWN_HEADERS` known column names (``known_headers``, folded; default those of
    ``headers.yaml``), so that a sheet of instructions (填表说明) before it is passed over; every later
    sheet with the very same header (one sheet per township) is read as part of the same table. Each
    table's ``path`` is ``"<file>, sheet '<name>'"`` (:func:`sheet_label`), for a workbook of one sheet
    too, so that every row is located in its sheet. Sheets with other data are not read, and the notes say so.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(Problem(str(path), None, None, "no such file"))
    if path.stat().st_size == 0:
        raise DataError(Problem(str(path), None, None, "the file is empty (0 bytes)"))
    with open(path, "rb") as fh:
        head = fh.read(8)
    suffix = path.suffix.lower()
    if head.startswith(XLSX_MAGIC) or head.startswith(OLE_MAGIC):
        legacy = head.startswith(OLE_MAGIC)
        sheets = _read_workbook(path, legacy)
        tables = _workbook_tables(path, sheets, known_headers)
        if legacy:
            tables[0].notes.insert(0, "the file is an old-format Excel 97-2003 workbook (.xls); read with the "
                                      "bundled reader (saving it as .xlsx also lets formulas without results be "
                                      "checked)")
        elif suffix not in (".xlsx", ".xlsm"):
            tables[0].notes.insert(0, f"the file is an Excel workbook named {suffix or 'without extension'}; "
                                      "read as a workbook")
        return tables
    _refuse_non_table(path, head)
    grid = _read_text(path)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        grid.notes.insert(0, f"the file is text (CSV) although named {suffix}; read as CSV")
    return [_split_header(path, grid)]


# --------------------------------------------------------------------------------------------------
# Text files

def _binary(data: bytes) -> bool:
    sample = data[:65536]
    controls = sum(sample.count(bytes([b])) for b in (*range(0, 9), 11, 14, *range(16, 26), *range(27, 32)))
    return b"\x00" in sample or controls > len(sample) // 200


def _decode(path: Path, data: bytes) -> tuple[str, str, list[str]]:
    """Text and encoding by the rules in the module docstring; notes for declarations that disagree."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding, []
            except UnicodeDecodeError as exc:
                row = data[:exc.start].count(b"\n") + 1
                raise DataError(Problem(str(path), row, None, f"the file starts with a {encoding} byte-order mark "
                                                              "but holds bytes that are not valid in that encoding "
                                                              "(mixed encodings?)")) from None
    if _binary(data):
        raise DataError(Problem(str(path), None, None, "the file holds binary data, not a text table (or UTF-16 "
                                                       "text without a byte-order mark); save it as CSV UTF-8 "
                                                       "or .xlsx"))
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    utf8 = [i + 1 for i, ln in enumerate(lines) if _is_utf8(ln)]
    if utf8:
        other = [i + 1 for i, ln in enumerate(lines) if not ln.isascii() and not _is_utf8(ln)]
        raise DataError(Problem(str(path), utf8[0] if utf8[0] > other[0] else other[0], None,
                                f"the file mixes encodings: line(s) {fmt_rows(utf8, 5)} are UTF-8 but line(s) "
                                f"{fmt_rows(other, 5)} are not (GBK?); save the whole file in one encoding"))
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1
        raise DataError(Problem(str(path), row, None, "cannot decode the file as UTF-8 or GBK/GB18030 text; save "
                                                      "it from Excel as 'CSV UTF-8' or as .xlsx")) from None
    return text, "gb18030", []


def _is_utf8(line: bytes) -> bool:
    """A line with Chinese text in UTF-8 (at least two characters: one or two GBK characters may decode as
    UTF-8 by chance, more practically never do)."""
    if len(line.translate(None, ASCII)) < 6:
        return False
    try:
        line.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _family(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {"gbk": "gb18030", "gb2312": "gb18030", "utf-8-sig": "utf-8", "utf-16-le": "utf-16",
            "utf-16-be": "utf-16"}.get(name, name)


def _declarations(path: Path, text: str, encoding: str) -> tuple[str, list[str]]:
    """Blank a coding declaration line (kept as an empty row 1) and note declarations the bytes contradict."""
    notes = []
    first, sep, rest = text.partition("\n")
    declared = DECLARATION.match(first)
    sources = []
    if declared:
        text = sep + rest
        sources.append(("its first line", declared.group(1)))
        notes.append(f"row 1 ({first.strip()[:60]!r}) declares an encoding; it is not part of the table and was "
                     "skipped")
    hint = NAME_HINT.search(path.stem)
    if hint:
        sources.append(("its file name", hint.group(1)))
    for where, name in sources:
        try:
            agrees = _family(name) == _family(encoding)
        except LookupError:
            notes.append(f"{where} names an unknown encoding {name!r}; ignored")
            continue
        if not agrees:
            notes.append(f"{where} says the file is {name}, but its bytes are {encoding}; read as {encoding} "
                         "(the bytes decide)")
    return text, notes


def _delimiter(text: str) -> str:
    """The separator giving the most fields on the first non-blank lines (comma on a tie)."""
    lines = [ln for ln in text[:50000].splitlines() if ln.strip()][:5]
    best, best_n = ",", 1
    for sep in DELIMITERS:
        n = max((len(next(csv.reader([ln], delimiter=sep), [])) for ln in lines), default=1)
        if n > best_n:
            best, best_n = sep, n
    return best


def _read_text(path: Path) -> _Grid:
    data = path.read_bytes()
    end = data.rstrip(b"\r\n \t")
    if end.endswith(b"\x1a"):
        # The end-of-file mark DOS tools write after text (copy a+b+c): not part of the table.
        data = end.rstrip(b"\x1a") + data[len(end):]
        eof_note = ["the file ends with an end-of-file mark (byte 0x1A, written by copy a+b); ignored"]
    else:
        eof_note = []
    text, encoding, notes = _decode(path, data)
    notes = eof_note + notes
    text, declared = _declarations(path, text, encoding)
    notes += declared
    sep = _check_text(path, text, notes)
    if not declared:
        frame = _columnar(text, sep)
        if frame is not None:
            return _Grid([], encoding, notes, frame=frame)
    records = list(_csv_records(path, io.StringIO(text, newline=""), sep))
    return _Grid(records, encoding, notes, widths=[len(r) for r in records])


#: Rows looked at with the row-by-row reader before a file is read in columns (see :func:`_columnar`).
HEAD_ROWS = 8


def _columnar(text: str, sep: str) -> pd.DataFrame | None:
    """The cells of a plain CSV text read column by column with Arrow's CSV reader (all columns as text,
    trimmed as :func:`_split_header` trims them), or None when the file is not plain: the header is not
    its first row (title rows, a two-row header), some row has more or fewer values than the header, or
    a cell holds a line break. Those files are read row by row, which finds and names each departure;
    for a plain file both readers give the same cells."""
    width = _plain_width(text, sep)
    if width is None or "\x00" in text:
        return None                     # (a NUL character is refused by the row reader, naming its row)
    try:
        table = pacsv.read_csv(pa.py_buffer(text.encode("utf-8")), **_arrow_options(width, sep))
    except (pa.ArrowException, ValueError):
        return None
    return _text_frame(table, unquoted='"' not in text)


def _plain_width(text: str, sep: str) -> int | None:
    """The number of columns when the first rows of ``text`` are plain (the header in the first row, with a
    name in every column, and the rows under it as wide), else None."""
    try:
        head = list(itertools.islice(_csv_records(Path("-"), io.StringIO(text[:1 << 16], newline=""), sep), HEAD_ROWS))
    except DataError:
        return None
    if len(head) < 2 or not head[0] or not all(head[0]) or any(len(r) != len(head[0]) for r in head):
        return None
    width = len(head[0])
    probe = pd.DataFrame([[v.strip(EDGE_CHARS) for v in r] for r in head], dtype=object, columns=range(width))
    notes: list[str] = []
    if _find_header(probe, notes)[:2] != (0, 1) or notes:
        return None
    return width


def _arrow_options(width: int, sep: str) -> dict:
    """Options of Arrow's CSV reader for a plain file of ``width`` columns: every column as text, empty
    cells as '', line breaks inside quoted cells allowed (then found and refused to the row reader), in the
    calling thread."""
    names = [f"c{i}" for i in range(width)]
    return dict(read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))


def _text_frame(table, unquoted: bool = False) -> pd.DataFrame | None:
    """An Arrow table or record batch of text as a frame of trimmed :data:`TEXT` columns labelled 0, 1, ...;
    None when a cell holds a line break or a NUL character (the row reader finds and names those). With
    ``unquoted`` (the text read holds no quote mark and no NUL), no cell can hold either and none is searched:
    unquoted, a line break ends the row."""
    columns = {}
    for i in range(table.num_columns):
        column = table.column(i)
        if not unquoted and any(pc.any(pc.match_substring(column, c)).as_py() for c in ("\n", "\r", "\x00")):
            return None
        columns[i] = pd.Series(pc.utf8_trim(column, characters=EDGE_CHARS), dtype=TEXT)
    return pd.DataFrame(columns)


def might_hold(values, needles: tuple[bytes, ...]) -> bool:
    """Whether any cell of a column might hold one of ``needles`` (UTF-8 bytes): a search of the column's
    bytes all at once, which may say yes for bytes outside the cells (a slice of a larger array) but never
    says no wrongly. True for a column that is not held in Arrow."""
    if isinstance(values, pd.Series):
        if not isinstance(values.dtype, pd.StringDtype) or values.dtype.storage != "pyarrow":
            return True
        values = values.array._pa_array
    for chunk in (values.chunks if isinstance(values, pa.ChunkedArray) else [values]):
        data = chunk.buffers()[2]
        if data is not None:
            data = data.to_pybytes()
            if any(needle in data for needle in needles):
                return True
    return False


def _refuse_non_table(path: Path, head: bytes) -> None:
    """Refuse a file whose first bytes show it is an image, a PDF, an archive or an old workbook."""
    for magic, what in NOT_TABLES:
        if what and head.startswith(magic):
            raise DataError(Problem(str(path), None, None, f"this is {what}, not a table; export the data "
                                                            "as CSV or save it as .xlsx"))


def _check_text(path: Path, text: str, notes: list[str]) -> str:
    """Refuse empty text and web pages; the separator (noted when not a comma)."""
    if not text.strip():
        raise DataError(Problem(str(path), None, None, "the file is empty (no text)"))
    if text.lstrip()[:200].lower().startswith(("<!doctype html", "<html", "<table", "<?xml", "<workbook")):
        raise DataError(Problem(str(path), None, None,
                                "this is an HTML/XML page, not a CSV table (some systems save web tables under an "
                                ".xls name); open it in Excel or WPS and save it as .xlsx or CSV"))
    sep = _delimiter(text)
    if sep != ",":
        notes.append(f"values are separated by {'a tab' if sep == chr(9) else repr(sep)}, not commas")
    return sep


def _csv_records(path: Path, lines, sep: str):
    """The CSV records of ``lines``; an unclosed quotation mark or an unreadable row is refused, naming it."""
    reader = csv.reader(lines, delimiter=sep)
    line, n = 0, 0
    try:
        for record in reader:
            if reader.line_num - line > MAX_LINES_PER_CELL:
                raise DataError(Problem(str(path), n + 1, None,
                                        f"a quotation mark in this row is never closed: lines {line + 1}-"
                                        f"{reader.line_num} would be read as one cell; remove the stray \" "))
            line, n = reader.line_num, n + 1
            yield record
    except csv.Error as exc:
        raise DataError(Problem(str(path), n + 1, None, f"not a readable CSV row: {exc}")) from None


# --------------------------------------------------------------------------------------------------
# Excel workbooks

def _read_workbook(path: Path, legacy: bool = False) -> list[tuple[str, _Grid]]:
    """Every sheet of a workbook as a grid of text, in the workbook's order: (sheet name, grid).

    A sheet whose cells all read the same as text and as values (see :func:`_reads_as_text`) is read by
    fastexcel straight into Arrow text; any other sheet, and a legacy .xls, by python-calamine as Python
    values, each shown by :func:`_cell_text`. Both readers are calamine underneath, so the cells are the same.
    fastexcel starts on the sheets whose first rows read as text while the cells are checked, on another
    core (it releases the interpreter lock); its frames are used only for sheets that pass the check."""
    checks: dict[str, _SheetChecks] = {}
    read: dict[str, pd.DataFrame] = {}
    if not legacy:
        try:
            with zipfile.ZipFile(path) as zf, ThreadPoolExecutor(1) as pool:
                names = set(zf.namelist())
                if "xl/workbook.xml" not in names:
                    what = "a Word document" if "word/document.xml" in names else "a ZIP archive"
                    raise DataError(Problem(str(path), None, None, f"this is {what}, not an Excel workbook; save "
                                                                    "the table as .xlsx or CSV"))
                dates, parts = _date_styles(zf), _sheet_paths(zf)
                likely = [name for name, part in parts.items() if _reads_as_text(_sheet_head(zf, part), dates)]
                reading = pool.submit(_plain_sheets, path, likely, list(parts)) if likely else None
                checks = {name: _cell_checks(zf, part, dates) for name, part in parts.items()}
                read = reading.result() if reading else {}
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError, NotImplementedError) as exc:
            raise DataError(Problem(str(path), None, None, f"the Excel file is damaged or incomplete (truncated copy "
                                                            f"or download?): {exc}")) from None
    read = {name: frame for name, frame in read.items() if checks[name].plain}
    if read and len(read) == len(checks):
        return [(name, _Grid([], "xlsx", [], merged=checks[name].merged, pending=checks[name].problems,
                             frame=frame)) for name, frame in read.items()]
    from python_calamine import CalamineWorkbook
    try:
        # calamine reads a county export some 20x faster than openpyxl, and reads .xls (BIFF8) too.
        book = CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
    except Exception as exc:  # the reader's own error types vary with the damage; all mean "unreadable"
        if legacy:
            raise DataError(Problem(str(path), None, None, "this old-format Excel (.xls) or password-protected "
                                                            "workbook cannot be read; remove the password, or open "
                                                            "it in Excel or WPS and save it as .xlsx")) from None
        raise DataError(Problem(str(path), None, None,
                                f"the Excel file cannot be opened (damaged or truncated?): {exc}")) from None
    if legacy:
        checks = {name: _SheetChecks([], errors) for name, errors in _xls_errors(path).items()}
    sheets = []
    for n, name in enumerate(names):
        if name in read:
            sheets.append((name, _Grid([], "xlsx", [], merged=checks[name].merged, pending=checks[name].problems,
                                       frame=read[name])))
            continue
        try:
            sheet = book.get_sheet_by_name(name)
            cells = sheet.to_python(skip_empty_area=False)
            merged = list(getattr(sheet, "merged_cell_ranges", None) or [])
        except Exception as exc:  # noqa: BLE001
            if n == 0:
                raise DataError(Problem(sheet_label(path, name), None, None,
                                        f"the Excel file cannot be opened (damaged or truncated?): {exc}")) from None
            continue                     # an unreadable later sheet is reported as not read
        found = checks.get(name, _SheetChecks([], {}))
        sheets.append((name, _Grid([], "xlsx", [], merged=merged, pending=found.problems,
                                   frame=_sheet_frame(cells, found.errors))))
    return sheets


def _plain_sheets(path: Path, wanted: list[str], sheets: list[str]) -> dict[str, pd.DataFrame]:
    """The sheets named ``wanted`` read by fastexcel, in the workbook's order, as frames of trimmed Arrow text
    (:data:`TEXT`) as :func:`_sheet_frame` makes them; none when fastexcel cannot read the workbook or lists
    other sheets than ``sheets`` (calamine then reads it, and names any damage)."""
    import fastexcel
    try:
        reader = fastexcel.read_excel(str(path))
        if sorted(reader.sheet_names) != sorted(sheets):
            return {}
        frames = {}
        for name in (name for name in reader.sheet_names if name in wanted):
            sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
            frames[name] = _arrow_sheet_frame(sheet.to_arrow(), [c.absolute_index for c in sheet.selected_columns])
        return frames
    except Exception:  # noqa: BLE001 - any failure here leaves the sheets to calamine, which reports it
        return {}


def _sheet_head(zf: zipfile.ZipFile, part: str, size: int = 1 << 20) -> bytes:
    """The first rows of a sheet's XML (about ``size`` bytes, cut after a row)."""
    with zf.open(part) as fh:
        head = fh.read(size)
    end = head.rfind(b"</row>")
    return head[:end + 6] if end >= 0 else head


def _arrow_sheet_frame(table: pa.RecordBatch, positions: list[int]) -> pd.DataFrame:
    """A sheet's cells read as Arrow text (columns at sheet column ``positions``; empty cells null) as the
    frame :func:`_sheet_frame` gives: every column from A, empty cells ''."""
    width = max(positions, default=-1) + 1
    blank = pa.array([""] * table.num_rows, type=pa.string())
    columns = dict.fromkeys(range(width), blank)
    for position, column in zip(positions, table.columns):
        columns[position] = pc.utf8_trim(column.cast(pa.string()).fill_null(""),
                                         characters=EDGE_CHARS)
    return pd.DataFrame({j: pd.Series(c, dtype=TEXT) for j, c in columns.items()},
                        index=pd.RangeIndex(table.num_rows), columns=range(width))


def _sheet_frame(cells: list[list], errors: dict[tuple[int, int], str]) -> pd.DataFrame:
    """A sheet's cells (rows of values as the cell reader gives them) as a frame of trimmed Arrow text
    (:data:`TEXT`), column by column, each cell as :func:`_cell_text` shows it; ``errors`` (row index,
    column index) -> text are put in the cells the reader gave as empty."""
    width = max(max(map(len, cells), default=0), max((c + 1 for _, c in errors), default=0))
    height = max(len(cells), max((r + 1 for r, _ in errors), default=0))
    if errors or any(len(row) != width for row in cells):
        cells = [list(row) + [""] * (width - len(row)) for row in cells] + [[""] * width] * (height - len(cells))
        for (r, c), text in errors.items():          # error cells, which the reader gives as empty
            cells[r] = list(cells[r])
            cells[r][c] = text
    columns = {j: pd.Series(pc.utf8_trim(_text_column(col), characters=EDGE_CHARS), dtype=TEXT)
               for j, col in enumerate(zip(*cells))}
    return pd.DataFrame(columns, index=pd.RangeIndex(height), columns=range(width))


def _text_column(values: tuple) -> pa.Array:
    """One column of cells as Arrow text, as :func:`_cell_text` shows each: a column of text taken whole by
    Arrow (the usual column), any other value by value, whole numbers below 1e15 (the usual number cell)
    the quickest way."""
    try:
        column = pa.array(values, type=pa.string())
        if not column.null_count:
            return column
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    return pa.array([v if type(v) is str else str(int(v)) if type(v) is float and v.is_integer() and -1e15 < v < 1e15
                     else _cell_text(v) for v in values], type=pa.string())


def _workbook_tables(path: Path, sheets: list[tuple[str, _Grid]], known_headers: set[str] | None
                     ) -> list[RawTable]:
    """The table of a workbook, from one sheet or from several with the same header (see :func:`read_tables`)."""
    known = known_headers if known_headers is not None else _default_known_headers()
    found = []                                     # (name, grid, header key, known header cells)
    for name, grid in sheets:
        frame = grid.frame                         # the cells as Arrow text, as a plain CSV's
        if frame.empty or not (frame != "").any().any():
            continue
        _, _, header = _find_header(frame, [])
        key = tuple(normalize_header(h) for h in header if h)
        found.append((name, grid, key, sum(h in known for h in key)))
    if not found:
        raise DataError(Problem(str(path), None, None, "the file is empty (no values)"))
    tables = [i for i, f in enumerate(found) if f[3] >= MIN_KNOWN_HEADERS] or [0]
    same_at = [tables[0]] + [i for i in tables[1:] if found[i][2] == found[tables[0]][2]]
    first, same = found[tables[0]], [found[i] for i in same_at]
    skipped = [f[0] for f in found[:tables[0]]]
    others = [f[0] for i, f in enumerate(found) if i not in same_at and i > tables[0]]
    notes = []
    if skipped:
        notes.append(f"sheet(s) {', '.join(map(repr, skipped))} hold no table (instructions or notes?); the table "
                     f"was read from sheet {first[0]!r}")
    if len(same) > 1:
        notes.append(f"{len(same)} sheets hold the same table (the same headers) and were read together: "
                     f"{', '.join(repr(f[0]) for f in same)}; rows are numbered within each sheet")
    if others:
        notes.append(f"only the sheet(s) {', '.join(repr(f[0]) for f in same)} were read; sheet(s) "
                     f"{', '.join(map(repr, others))} also hold data, under other headers: save each table as its "
                     "own file if they are needed")
    out = []
    for k, (name, grid, _, _) in enumerate(same):
        label = sheet_label(path, name)
        grid.notes[:0] = notes if k == 0 else []
        out.append(_split_header(Path(label), grid))
    return out


def sheet_label(path: str | Path, sheet: str) -> str:
    """Where a workbook's rows come from, as every message names it: ``"<file>, sheet '<name>'"`` (also for
    a workbook of one sheet, so that a refusal names file, sheet, row and column)."""
    return f"{path}, sheet {sheet!r}"


@lru_cache(maxsize=1)
def _default_known_headers() -> frozenset[str]:
    """Every header spelling of ``headers.yaml``, folded."""
    from analysis.config import load_yaml
    spec = load_yaml("headers.yaml")
    known = set()
    for section in ("personal", "identifiers", "columns"):
        for canon, entry in (spec.get(section) or {}).items():
            aliases = entry.get("aliases", []) if isinstance(entry, dict) else entry
            known |= {normalize_header(a) for a in [canon, *aliases]}
    return frozenset(known)


def _cell_text(value) -> str:
    """A cell as text, the way the spreadsheet shows it in the General format."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Numbers of 16 digits or more were rounded by Excel (15 significant digits): show them as Excel
        # does, so identifiers typed as numbers are recognised as damaged instead of read as other people.
        if abs(value) >= 1e15:
            return f"{value:.5E}"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass
class _SheetChecks:
    """What the cell reader does not show of one sheet (see :func:`_cell_checks`)."""

    problems: list[tuple[int, int, str]]      # (row, column index, message)
    errors: dict[tuple[int, int], str]        # (row index, column index) -> the error as shown
    plain: bool = False                       # every cell reads the same as text and as a value
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


# A value element holding anything but an integer of at most 15 digits (a shared-string index is one), or
# written with attributes.
_NOT_PLAIN_VALUE = re.compile(rb"<v(?!>(?:0|-?[1-9]\d{0,14})</v>)")
_MERGED = re.compile(rb'<mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _cell_checks(zf: zipfile.ZipFile, part: str, date_styles: set[int] | None) -> _SheetChecks:
    """What the cell reader does not show of one sheet: cells holding a formula but no saved result (files
    written by programs that do not calculate; read as empty, they would silently become zeros), as
    problems (row, column index, message); and cells showing an Excel error (``#N/A``...), which the
    reader gives as empty: (row index, column index) -> the error as shown. Also whether the sheet reads
    as text (:func:`_reads_as_text`), and then its merged cells."""
    xml = zf.read(part)
    plain, merged = _reads_as_text(xml, date_styles), []
    if plain:                                  # merged cells follow the cells
        tail = max(xml.rfind(b"</sheetData>"), 0)
        merged = [((int(r0) - 1, _column_index(c0)), (int(r1 or r0) - 1, _column_index(c1 or c0)))
                  for c0, r0, c1, r1 in _MERGED.findall(xml, tail)]
        plain = len(merged) == xml.count(b"<mergeCell ", tail)
    # A sheet that reads as text has no error cells (an error's value is not a number).
    if b"<f" not in xml and (plain or b't="e"' not in xml):
        return _SheetChecks([], {}, plain, merged)
    found, errors = [], {}
    for m in re.finditer(rb'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', xml, re.S):
        body = m.group(4) or b""
        col = _column_index(m.group(1))
        if re.search(rb'\bt="e"', m.group(3)):
            value = re.search(rb"<v>([^<]*)</v>", body)
            errors[(int(m.group(2)) - 1, col)] = value.group(1).decode("utf-8", "replace") if value else "#N/A"
        elif b"<f" in body and not re.search(rb"<v>[^<]+</v>", body):
            formula = re.search(rb"<f[^>]*>([^<]*)</f>", body)
            text = f"={formula.group(1).decode()}" if formula else "a formula"
            found.append((int(m.group(2)), col, f"the cell holds {text} without a saved result; open the "
                                                "file in Excel or WPS and save it again so results are stored"))
    return _SheetChecks(found, errors, plain and not errors, merged)


def _column_index(letters: bytes) -> int:
    """A column's letters (b"AB") as its index from 0."""
    col = 0
    for ch in letters:
        col = col * 26 + ch - 64
    return col - 1


def _reads_as_text(xml: bytes, date_styles: set[int] | None) -> bool:
    """Whether every cell of a sheet (its part's XML) is text, or a whole number below 1e15 in a format that
    is not a date: cells that any reader shows as the same text, with no Excel display rule to apply.

    Conservative: False for any value written otherwise (a decimal, an exponent, 16 digits or more, an error
    or a date as text), an apostrophe anywhere (attributes may be quoted with it), prefixed elements, a
    boolean cell, or a cell in a style whose number format may show a date (or a workbook whose styles this
    does not follow)."""
    start = xml.find(b"<sheetData")
    if (date_styles is None or start < 0 or xml.find(b"'", start) >= 0 or xml.find(b't="b"', start) >= 0
            or _NOT_PLAIN_VALUE.search(xml, start)):
        return False
    if date_styles:
        styles = b"|".join(b"%d" % k for k in sorted(date_styles))
        if re.compile(rb's="(?:%s)"' % styles).search(xml, start):
            return False
    return True


# Built-in number formats that never show a date or time (ECMA-376 Part 1, 18.8.30): General, numbers,
# percentages, fractions, scientific, accounting and text. Every other built-in format (14-36, 45-47 and
# the East Asian 50-81) may show one.
_NUMBER_FORMATS = frozenset(range(0, 14)) | frozenset(range(37, 45)) | {48, 49}
# A custom format code that may show a date or time, once its quoted text and escaped characters are removed.
_DATE_CODE = re.compile(r"[yYmMdDhHsSeEgGbB年月日时分秒]")


def _date_styles(zf: zipfile.ZipFile) -> set[int] | None:
    """The cell styles (the ``s`` indices into the workbook's cell formats) whose number format may show a
    number as a date or time; None when the workbook's styles cannot be followed this way."""
    try:
        xml = zf.read("xl/styles.xml")
    except KeyError:
        return None
    custom = {}
    for m in re.finditer(rb'<numFmt\s[^>]*>', xml):
        fmt_id = re.search(rb'numFmtId="(\d+)"', m.group(0))
        code = re.search(rb'formatCode="([^"]*)"', m.group(0))
        if not fmt_id or not code:
            return None
        text = re.sub(r'"[^"]*"|\\.', "", html.unescape(code.group(1).decode("utf-8", "replace")))
        custom[int(fmt_id.group(1))] = bool(_DATE_CODE.search(text))
    block = re.search(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", xml, re.S)
    if block is None:
        return None if b"cellXfs" in xml else set()
    dates = set()
    for index, xf in enumerate(re.finditer(rb"<xf\b([^>]*)>", block.group(1))):
        fmt = re.search(rb'numFmtId="(\d+)"', xf.group(1))
        k = int(fmt.group(1)) if fmt else 0
        if custom.get(k, k not in _NUMBER_FORMATS):
            dates.add(index)
    return dates


def _xls_errors(path: Path) -> dict[str, dict[tuple[int, int], str]]:
    """The cells of a legacy .xls workbook that show an Excel error (an error value, or a formula whose saved
    result is one), which the cell reader gives as empty: sheet name -> {(row index, column index): the
    error as shown}. A workbook that cannot be checked is refused: its error cells would pass as empty."""
    import xlrd
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception:  # noqa: BLE001 - the reader's own error types vary with the damage
        raise DataError(Problem(str(path), None, None, "this old-format Excel (.xls) workbook cannot be checked for "
                                                        "cells showing Excel errors (#N/A...); open it in Excel or "
                                                        "WPS and save it as .xlsx")) from None
    found = {}
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            errors = {}
            for r in range(sheet.nrows):
                kinds = sheet.row_types(r)
                if xlrd.XL_CELL_ERROR not in kinds:
                    continue
                for c in (c for c, kind in enumerate(kinds) if kind == xlrd.XL_CELL_ERROR):
                    errors[(r, c)] = xlrd.error_text_from_code.get(sheet.cell_value(r, c), "#N/A")
            found[sheet.name] = errors
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return found


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the part holding it, in the workbook's order."""
    workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    targets = {}
    for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
        rid, target = re.search(r'Id="([^"]+)"', rel.group(0)), re.search(r'Target="([^"]+)"', rel.group(0))
        if rid and target:
            t = target.group(1)
            targets[rid.group(1)] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
    parts = {}
    for sheet in re.finditer(r"<sheet\b[^>]*>", workbook):
        name, rid = re.search(r'name="([^"]*)"', sheet.group(0)), re.search(r'r:id="([^"]+)"', sheet.group(0))
        if name and rid and targets.get(rid.group(1)) in zf.namelist():
            parts[html.unescape(name.group(1))] = targets[rid.group(1)]
    return parts


# --------------------------------------------------------------------------------------------------
# From cells to a table

def _split_header(path: Path, grid: _Grid, row_offset: int = 0, allow_empty: bool = False) -> RawTable:
    """The grid as a table under its header. ``row_offset`` is added to the row numbers of data rows (a
    later chunk of a streamed file holds the header rows followed by rows from further down); with
    ``allow_empty`` a grid with no data rows gives an empty table instead of an error."""
    if grid.frame is not None:
        frame = grid.frame
    else:
        width = max(map(len, grid.records), default=0)
        records = [[v.strip(EDGE_CHARS) for v in r] + [""] * (width - len(r)) for r in grid.records]
        frame = pd.DataFrame(records, dtype=object, columns=range(width))
    if not (frame.head(HEAD_ROWS) != "").any().any() and not (frame != "").any().any():
        raise DataError(Problem(str(path), None, None, "the file is empty (no values)"))
    notes = list(grid.notes)
    at, first_data, header = _find_header(frame, notes)
    problems, trailing = _width_problems(path, grid, at, first_data, header, row_offset)
    if trailing:
        notes.append(f"{len(trailing)} row(s) end with empty values beyond the header's columns (extra "
                     f"separators); dropped: rows {fmt_rows(trailing)}")
    body, filled = _fill_merged(frame.iloc[first_data:], grid.merged, first_data)
    if filled:
        notes.append(f"cells merged down a column were filled with their value: {fmt_rows(filled, 6)}")
    labels, headers, letters = _labels(header)
    problems += [Problem(str(path), r, (headers.get(labels[c]) if c < len(labels) else None) or column_letter(c), msg)
                 for r, c, msg in grid.pending[:50]]
    if len(grid.pending) > 50:
        problems.append(Problem(str(path), None, None, f"... and {len(grid.pending) - 50} more such cells"))
    if problems:
        raise DataError(problems)
    body = body.set_axis(labels, axis=1)
    body_rows = pd.Series(body.index + 1 + row_offset, index=body.index)   # spreadsheet rows count from 1
    body = _unwrap_text_formulas(body, headers, notes)
    repeated, problems = _repeated_headers(path, body, body_rows, [headers[label] for label in labels])
    if problems:
        raise DataError(problems)
    if repeated.any():
        notes.append(f"{int(repeated.sum())} row(s) repeat the header (files joined one after another, e.g. with "
                     f"copy a+b); skipped: rows {fmt_rows(body_rows[repeated])}")
    keep = _data_rows(body, body_rows, notes) & ~repeated
    if not keep.any() and not allow_empty:
        raise DataError(Problem(str(path), at + 1, None, "the file has a header but no data rows"))
    return RawTable(str(path), body[keep].reset_index(drop=True), body_rows[keep].reset_index(drop=True),
                    grid.encoding, notes, headers, letters, rows_read=len(body), header_row=first_data)


def _find_header(frame: pd.DataFrame, notes: list[str]) -> tuple[int, int, list[str]]:
    """The header's row index, the first data row's index, and the header (two rows joined if need be)."""
    # The header is in the first rows that hold values: only those are looked at, unless all are blank.
    head = frame.head(64)
    nonblank = (head != "").sum(axis=1)
    if not nonblank.any() and len(frame) > len(head):
        nonblank = (frame != "").sum(axis=1)
    at = int((nonblank > 0).idxmax())
    while at + 1 < len(frame) and nonblank[at] == 1 and nonblank[at + 1] >= 2 and at < 5:
        title = next(v for v in frame.iloc[at] if v)
        notes.append(f"row {at + 1} ({title[:40]!r}) is a title above the header; skipped")
        at += 1
    header = list(frame.iloc[at])
    first_data = at + 1
    if first_data < len(frame) and _looks_like_second_header(header, list(frame.iloc[first_data])):
        header = _join_headers(header, list(frame.iloc[first_data]))
        notes.append(f"rows {at + 1}-{at + 2} form a two-row header; joined into one")
        first_data += 1
    return at, first_data, header


def _unwrap_text_formulas(body: pd.DataFrame, headers: dict, notes: list[str]) -> pd.DataFrame:
    """Cells written as ``="0002020000"`` (a formula some systems export so that Excel keeps the leading
    zeros) hold the text between the quotation marks."""
    changed = {}
    for label in body.columns:
        # the usual column: a search of its bytes, or a quick look, suffices
        if not might_hold(body[label], (b"=",)) or not body[label].str.startswith("=").any():
            continue
        col = body[label].astype(object)
        hit = col.str.fullmatch(r'=\s*"[^"]*"').fillna(False).astype(bool)
        if hit.any():
            body[label] = col.where(~hit, col.str.replace(r'^=\s*"([^"]*)"$', r"\1", regex=True))
            changed[headers.get(label, label)] = int(hit.sum())
    if changed:
        notes.append(f"{sum(changed.values())} cell(s) written as =\"...\" (a formula that keeps text in Excel) read "
                     f"as the text inside the quotation marks: columns {', '.join(map(str, changed))}")
    return body


def _repeated_headers(path: Path, body: pd.DataFrame, rows: pd.Series, header: list[str]
                      ) -> tuple[pd.Series, list[Problem]]:
    """Rows that are the header again (files joined one after another); a header row with the columns in
    another order is refused, as the rows under it would be read under the wrong columns."""
    names = [h for h in header if h]
    if len(names) < 2:
        return pd.Series(False, index=body.index), []
    # A header again: every value of the row is a header name, and most header names are there.
    lead = body[body.columns[header.index(names[0])]]
    maybe = lead.isin(set(names))                 # a quick look at one column first
    if not maybe.any():
        return maybe, []
    body, rows = body[maybe], rows[maybe]
    named = body.isin(set(names)) | (body == "")
    candidates = named.all(axis=1) & (body.isin(set(names)).sum(axis=1) >= max(2, int(0.8 * len(set(names)))))
    if not candidates.any():
        return candidates.reindex(maybe.index, fill_value=False), []
    same = candidates & (body == pd.Series(header, index=body.columns)).all(axis=1)
    other = candidates & ~same
    problems = [Problem(str(path), int(rows[i]), None, "this row is a header with the columns in another order "
                                                         "(files joined one after another?): the rows under it "
                                                         "would be read under the wrong columns; join the files "
                                                         "with their columns in the same order")
                for i in other[other].index[:50]]
    return same.reindex(maybe.index, fill_value=False), problems


def _data_rows(body: pd.DataFrame, rows: pd.Series, notes: list[str]) -> pd.Series:
    """Rows holding data: blank rows and totals rows are left out, and noted."""
    filled = (body != "").to_numpy(dtype=bool, na_value=True)
    blank = pd.Series(~filled.any(axis=1), index=body.index)
    if blank.any():
        notes.append(f"{int(blank.sum())} blank row(s) skipped: rows {fmt_rows(rows[blank])}")
    total = _totals_rows(body) & ~blank
    if total.any():
        notes.append(f"{int(total.sum())} totals row(s) (合计/总计/小计, 分类汇总 汇总) removed: rows {fmt_rows(rows[total])}")
    footer = _footer_rows(body, filled.sum(axis=1)) & ~blank & ~total
    if footer.any():
        notes.append(f"{int(footer.sum())} signature or contact line(s) (填表人, 审核人, 联系电话, 填报日期...) "
                     f"skipped; their content is not repeated here: rows {fmt_rows(rows[footer])}")
    return ~blank & ~total & ~footer


def _footer_rows(body: pd.DataFrame, nonblank: np.ndarray) -> pd.Series:
    """Lines under or beside the table that sign it or give a contact (填表人：…, 联系电话：…, 填报日期：…):
    at most :data:`FOOTER_CELLS` cells (``nonblank``: each row's cells that are not blank), one of them
    starting with such a word."""
    few = pd.Series((nonblank >= 1) & (nonblank <= FOOTER_CELLS), index=body.index)
    found = pd.Series(False, index=body.index)
    if few.any():
        found[few] = body[few].astype(object).apply(lambda row: any(FOOTER.match(v) for v in row if v), axis=1).astype(bool)
    return found


def _labels(header: list[str]) -> tuple[list[str], dict[str, str], dict[str, str]]:
    labels, headers, letters, seen = [], {}, {}, {}
    for i, text in enumerate(header):
        letter = column_letter(i)
        label = text if text else f"<unnamed column {letter}>"
        if label in seen:
            label = f"{text} ({letter})"
        seen[label] = i
        labels.append(label)
        headers[label] = text
        letters[label] = letter
    return labels, headers, letters


def _width_problems(path: Path, grid: _Grid, header_at: int, first_data: int, header: list[str],
                    row_offset: int = 0) -> tuple[list[Problem], list[int]]:
    """CSV rows whose number of values differs from the header's; rows whose only extra values are empty
    (trailing separators) are returned apart, as they lose nothing."""
    if grid.widths is None:
        return [], []
    problems, trailing = [], []
    width = len(header) - next((i for i, h in enumerate(reversed(header)) if h), len(header))
    width = max(width, grid.widths[header_at])
    for i in range(first_data, len(grid.records)):
        record = grid.records[i]
        n = len(record) - next((k for k, v in enumerate(reversed(record)) if v.strip()), len(record))
        if n <= FOOTER_CELLS and any(FOOTER.match(v) for v in record[:n] if v):
            continue                      # a signature line under the table, skipped with a note
        if n > width:
            problems.append(Problem(str(path), i + 1 + row_offset, header[-1] or None,
                                    f"this row has {n} values but the header has {width} columns: a value has no "
                                    "column (an extra separator, or a comma inside an unquoted value?)"))
        elif 0 < len(record) < width and n:
            unclosed = "\n" in record[-1]
            problems.append(Problem(str(path), i + 1 + row_offset, None,
                                    "a quotation mark in this row is never closed, so the lines after it were read "
                                    "as one cell" if unclosed else
                                    f"this row has only {len(record)} values but the header has {width} columns: a "
                                    "value or separator is missing, so the values after it may have shifted"))
        elif len(record) > width:
            trailing.append(i + 1 + row_offset)
        if len(problems) >= 50:
            break
    return problems, trailing


def _fill_merged(body: pd.DataFrame, merged, first_data: int) -> tuple[pd.DataFrame, list[str]]:
    """Cells merged down one column below the header take the merged cell's value (what Excel shows)."""
    done = []
    for (r0, c0), (r1, c1) in merged:
        if r0 < first_data or c0 != c1 or r1 == r0 or c0 >= body.shape[1]:
            continue
        span = [r for r in range(r0, r1 + 1) if r in body.index]
        if span:
            body.loc[span, c0] = body.at[r0, c0] if r0 in body.index else ""
            done.append(f"{column_letter(c0)}{r0 + 1}:{column_letter(c0)}{r1 + 1}")
    return body, done


def _totals_rows(body: pd.DataFrame) -> pd.Series:
    """A totals row has a cell saying 合计 / 总计 / 小计 and, besides it, at most three cells of text: a
    household's row holds names and places, which a totals row does not."""
    word = re.compile(f"(?:^|\x1f)(?:{TOTAL_WORD}|{SUBTOTAL_WORD})(?:\x1f|$)")
    # Every such label holds 计 or 汇: only rows with one of them in a cell are looked at closely.
    maybe = pd.Series(False, index=body.index)
    for label in body.columns:
        if might_hold(body[label], TOTAL_BYTES):
            maybe |= body[label].str.contains("[计計汇匯]", regex=True).to_numpy(dtype=bool)
    has_word = pd.Series(False, index=body.index)
    if maybe.any():
        joined = ["\x1f".join(row) for row in body[maybe].to_numpy(dtype=object, na_value="")]
        has_word[maybe] = [bool(word.search(r)) for r in joined]
    if not has_word.any():
        return has_word
    candidates = body[has_word].astype(object)
    text = candidates.apply(lambda col: ~col.str.fullmatch(TOTAL_FILLER)).sum(axis=1) - 1
    return has_word & (text.reindex(body.index, fill_value=99) <= 3)


def _looks_like_second_header(first: list[str], second: list[str]) -> bool:
    """An Excel merged header: the first row has gaps under a merged cell, the second fills them with
    text, and the second holds no numbers (every data row of an export has some)."""
    gaps = [i for i, h in enumerate(first) if h == ""]
    if not gaps:
        return False
    filled = [second[i] for i in gaps if i < len(second)]
    return bool(filled) and all(v and not _is_number(v) for v in filled) and \
        not any(_is_number(v) for v in second if v)


def _join_headers(first: list[str], second: list[str]) -> list[str]:
    # Under a merged parent cell ("收入情况") the sub-column names the data; elsewhere the top row does.
    return [bottom or top for top, bottom in zip(first, second)]


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def rows_of(raw: RawTable, mask: pd.Series) -> list[int]:
    """The spreadsheet rows of the rows of ``raw.frame`` where ``mask`` (aligned with it) is true."""
    return [int(r) for r in raw.rows[mask[mask].index]]


def fmt_rows(rows, limit: int = 10) -> str:
    """Rows (or cell ranges) as a message lists them: the first ``limit``, then how many there are in all.

    >>> fmt_rows([2, 5, 9])
    '2, 5, 9'
    >>> fmt_rows(range(2, 30), limit=3)
    '2, 3, 4 ... (28 in all)'
    """
    rows = list(rows)
    more = f" ... ({len(rows)} in all)" if len(rows) > limit else ""
    return ", ".join(str(r) for r in rows[:limit]) + more


# --------------------------------------------------------------------------------------------------
# Large text files, in chunks

#: Bytes read first to tell the encoding, the separator and the header of a streamed file.
HEAD_BYTES = 1 << 20


def is_text_table(path: str | Path) -> bool:
    """Whether ``path`` would be read as text (CSV/TSV), not as a workbook."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    return not head.startswith(XLSX_MAGIC) and not head.startswith(OLE_MAGIC)


def _batched(count_bytes, every: int = 1 << 20):
    """``count_bytes`` called once per ``every`` bytes instead of once per line (a progress bar's update
    costs more than reading a line); the returned function flushes the rest when called with ``None``."""
    pending = 0

    def add(n):
        nonlocal pending
        pending += n if n is not None else 0
        if count_bytes and pending and (n is None or pending >= every):
            count_bytes(pending)
            pending = 0
    return add


def _stream_lines(path: Path, encoding: str, declared: bool, count_bytes=None):
    """The file's lines as text, decoded one at a time (line endings kept, as the csv module wants).

    A line that does not decode, or (in a GB18030 file) a line that is UTF-8, is refused naming its line:
    the file mixes encodings. A coding declaration in line 1 is read as an empty row 1.
    """
    count_bytes = _batched(count_bytes)
    if _family(encoding) == "utf-16":      # two-byte units: lines cannot be split on the byte 0x0A
        with open(path, encoding=encoding, newline="") as fh:
            for number, line in enumerate(fh, 1):
                count_bytes(len(line) * 2)
                yield "\n" if number == 1 and declared else line
        count_bytes(None)
        return
    check_utf8 = _family(encoding) == "gb18030"
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            count_bytes(len(raw))
            if number == 1 and encoding == "utf-8-sig":
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if number == 1 and declared:
                yield "\n"
                continue
            if b"\x1a" in raw and not raw.strip(b"\x1a\r\n \t"):
                continue                  # the end-of-file mark of copy a+b (see _read_text)
            if check_utf8 and _is_utf8(raw):
                raise DataError(Problem(str(path), number, None, "this line is UTF-8 but the lines before it are "
                                                                 "GBK/GB18030: the file mixes encodings; save the "
                                                                 "whole file in one encoding"))
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError:
                raise DataError(Problem(str(path), number, None,
                                        f"this line is not valid {encoding} text, unlike the lines before it: the "
                                        "file mixes encodings; save the whole file in one encoding")) from None
    count_bytes(None)


class NotPlain(Exception):
    """A file read in columns by :func:`iter_text_chunks` turned out, further down, not to be plain (a row
    of another width, a line break or NUL inside a cell, bytes that are not UTF-8): read it again row by row
    (``columns=False``), which finds and names each departure."""


def iter_text_chunks(path: str | Path, chunk_rows: int, group_of=None, count_bytes=None, columns: bool = True):
    """Read a large CSV file as a series of :class:`RawTable` chunks of about ``chunk_rows`` rows each.

    Memory is bounded by the chunk, not the file. Encoding, separator and header are found in the first
    :data:`HEAD_BYTES` with the same rules as :func:`read_raw`; every chunk carries the header, and row
    numbers are those of the whole file. ``group_of(first_chunk)`` may return the column indices whose
    values keep rows together (a household's member rows): rows at the end of a chunk sharing those values
    with the chunk's last row move to the next chunk. ``count_bytes(n)`` is called as bytes are read (for
    a progress bar). Refusals raise :class:`~analysis.errors.DataError` as :func:`read_raw` does.

    A UTF-8 file whose first rows are plain (see :func:`_columnar`) is read in columns by Arrow's streaming
    CSV reader, unless ``columns`` is false; should a later row not be plain, :class:`NotPlain` is raised
    (chunks may have been given already: the caller drops them and reads the file again with
    ``columns=False``). Both ways give the same chunks' cells and row numbers.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError(Problem(str(path), None, None, "the file is empty (0 bytes)"))
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    _refuse_non_table(path, head)
    if len(head) == HEAD_BYTES and b"\n" in head:
        head = head[:head.rfind(b"\n") + 1]          # whole lines only: no character cut in two
    text, encoding, notes = _decode(path, head)
    text, declared_notes = _declarations(path, text, encoding)
    declared = any("declares an encoding" in n for n in declared_notes)
    notes += declared_notes
    sep = _check_text(path, text, notes)
    width = _plain_width(text, sep) if columns and encoding in ("utf-8", "utf-8-sig") and not declared else None
    if width is not None:
        yield from _plain_chunks(path, width, sep, chunk_rows, group_of, count_bytes, encoding, notes)
        return
    records = _csv_records(path, _stream_lines(path, encoding, declared, count_bytes), sep)

    header: list[list[str]] | None = None     # the rows down to the header, repeated above every chunk
    group: list[int] = []
    pending: list[list[str]] = []
    start = 0                                  # file index (0-based) of the first row in ``pending``
    emitted = 0

    def key(record):
        return tuple(record[i].strip(EDGE_CHARS) if i < len(record) else "" for i in group)

    def split(chunk: list[list[str]], first: int) -> RawTable:
        """``chunk``: rows from file index ``first`` on; with the header rows put above it once known."""
        grid_records = chunk if header is None else header + chunk
        offset = first - (0 if header is None else len(header))
        grid = _Grid(grid_records, encoding, [] if emitted else notes, widths=[len(r) for r in grid_records])
        return _split_header(path, grid, row_offset=offset, allow_empty=header is not None)

    for record in records:
        pending.append(record)
        if len(pending) < chunk_rows:
            continue
        if header is None:
            raw = split(pending, 0)
            header = pending[:raw.header_row]
            group = list(group_of(raw)) if group_of else []
            pending, start = pending[len(header):], len(header)
        hold = 0
        if group and pending:
            last, hold = key(pending[-1]), 1
            while hold < len(pending) and key(pending[-1 - hold]) == last:
                hold += 1
            hold = 0 if hold == len(pending) else hold    # one group fills the chunk: emit it whole
        emit, pending = pending[:len(pending) - hold], pending[len(pending) - hold:]
        yield split(emit, start)
        emitted += 1
        start += len(emit)
    if header is None:
        yield split(pending, 0)
    elif pending or not emitted:
        yield split(pending, start)


#: Bytes of a plain file read in columns at a time (whole lines).
BLOCK_BYTES = 16 << 20


def _plain_chunks(path: Path, width: int, sep: str, chunk_rows: int, group_of, count_bytes, encoding: str,
                  notes: list[str]):
    """:func:`iter_text_chunks` of a plain UTF-8 file, in columns: blocks of whole lines read by Arrow's CSV
    reader in the calling thread as :data:`TEXT` frames, cut into chunks as the row reader cuts them (a
    household's rows kept together), each with the header row put above it. A block that Arrow cannot read
    (a row of another width; a quoted cell running past the block's end, whose line break the block cut)
    raises :class:`NotPlain` before any later block is read."""
    header: pd.DataFrame | None = None
    group: list[int] = []
    pending = pd.DataFrame({i: pd.Series([], dtype=TEXT) for i in range(width)})
    start, emitted = 0, 0

    def split(chunk: pd.DataFrame, first: int) -> RawTable:
        frame = chunk if header is None else pd.concat([header, chunk], ignore_index=True)
        grid = _Grid([], encoding, [] if emitted else notes, frame=frame)
        return _split_header(path, grid, row_offset=first - (0 if header is None else 1),
                             allow_empty=header is not None)

    for block in _line_blocks(path, count_bytes):
        try:
            frame = _text_frame(pacsv.read_csv(pa.py_buffer(block), **_arrow_options(width, sep)),
                                unquoted=b'"' not in block and b"\x00" not in block)
        except (pa.ArrowException, ValueError):
            frame = None
        if frame is None:
            raise NotPlain(str(path))
        pending = pd.concat([pending, frame], ignore_index=True)
        while len(pending) >= chunk_rows:
            size = chunk_rows                  # rows counted before a chunk is cut, the header's among them
            if header is None:
                raw = split(pending, 0)
                header = pending.iloc[:1]
                group = list(group_of(raw)) if group_of else []
                pending, start, size = pending.iloc[1:].reset_index(drop=True), 1, chunk_rows - 1
            cut = pending.iloc[:size]
            hold = _held_back(cut, group)
            emit, pending = cut.iloc[:len(cut) - hold], pending.iloc[len(cut) - hold:].reset_index(drop=True)
            yield split(emit.reset_index(drop=True), start)
            emitted += 1
            start += len(emit)
    if header is None:
        yield split(pending, 0)
    elif len(pending) or not emitted:
        yield split(pending, start)


def _line_blocks(path: Path, count_bytes=None):
    """The bytes of a file in blocks of about :data:`BLOCK_BYTES` ending at a line end (a UTF-8 byte-order
    mark removed)."""
    count_bytes = _batched(count_bytes)
    rest = b""
    with open(path, "rb") as fh:
        first = True
        while True:
            data = fh.read(BLOCK_BYTES)
            count_bytes(len(data))
            if first:
                data, first = data.removeprefix(codecs.BOM_UTF8), False
            if not data:
                break
            data = rest + data
            end = data.rfind(b"\n") + 1
            if end == 0:
                rest = data
                continue
            rest = data[end:]
            yield data[:end]
    count_bytes(None)
    if rest:
        yield rest


def _held_back(chunk: pd.DataFrame, group: list[int]) -> int:
    """How many rows at the end of ``chunk`` share the ``group`` values of its last row (0 when that is
    every row: one group filling the chunk is given whole)."""
    if not group or chunk.empty:
        return 0
    same = np.ones(len(chunk), dtype=bool)
    for i in group:
        column = chunk[i]
        same &= (column == column.iloc[-1]).to_numpy(dtype=bool, na_value=False)
    differ = np.flatnonzero(~same)
    return 0 if not len(differ) else len(chunk) - 1 - int(differ[-1])
