"""Reading export files as tables of text: CSV in UTF-8 / UTF-8 with BOM / GBK / GB18030, and XLSX.

Every cell is read as text so that nothing is guessed before validation ("007" stays "007", "1,2万"
reaches the parser as it is). Files are opened read-only and never written.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import DataError, Problem

CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK and GB2312
XLSX_MAGIC = b"PK\x03\x04"
# Words that mark a totals or subtotals row in a spreadsheet export.
TOTAL_WORDS = ("合计", "总计", "小计", "總計", "合計")


@dataclass
class RawTable:
    """A file read as text: ``frame`` holds strings ('' for empty), ``rows`` the spreadsheet row numbers."""

    path: str
    frame: pd.DataFrame
    rows: pd.Series
    encoding: str
    notes: list[str] = field(default_factory=list)


def normalize_header(text: object) -> str:
    """Header text folded for matching: NFKC (full-width to half-width), no spaces, lower case.

    >>> normalize_header("务工时间（月） ")
    '务工时间(月)'
    """
    folded = unicodedata.normalize("NFKC", str(text))
    return "".join(folded.split()).lower()


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    for enc in CSV_ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise DataError(Problem(str(path), None, None,
                            "cannot decode the file as UTF-8 or GBK/GB18030 text; "
                            "save it from Excel as 'CSV UTF-8' or as .xlsx"))


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    data = path.read_bytes()
    text, encoding = _decode(path, data)
    if not text.strip():
        raise DataError(Problem(str(path), None, None, "the file is empty"))
    if "\x00" in text:
        raise DataError(Problem(str(path), None, None, "the file is not a text table (it holds binary data)"))
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",\t;")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            header=None, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(Problem(str(path), None, None, f"not a readable table: {exc}")) from None
    return frame, encoding


def _read_xlsx(path: Path) -> pd.DataFrame:
    try:
        # calamine reads a county export some 20x faster than openpyxl; both give text cells here.
        frame = pd.read_excel(path, sheet_name=0, header=None, dtype=str, engine="calamine")
    except Exception as exc:  # the reader's own error types vary with the damage; all mean "unreadable"
        raise DataError(Problem(str(path), None, None,
                                f"the Excel file cannot be opened (damaged or truncated?): {exc}")) from None
    return frame.fillna("")


def read_raw(path: str | Path) -> RawTable:
    """Read one export file into a :class:`RawTable` of text with its header row as column names.

    Blank rows and totals rows (合计 / 总计 / 小计) are removed and noted; a header spread over two rows
    (an Excel merged header) is joined.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(Problem(str(path), None, None, "no such file"))
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == XLSX_MAGIC or path.suffix.lower() in (".xlsx", ".xlsm"):
        frame, encoding = _read_xlsx(path), "xlsx"
    elif path.suffix.lower() == ".xls":
        raise DataError(Problem(str(path), None, None,
                                "old .xls workbooks are not read; save the sheet as .xlsx or CSV"))
    else:
        frame, encoding = _read_csv(path)
    if frame.shape[0] == 0:
        raise DataError(Problem(str(path), None, None, "the file is empty"))
    frame = frame.apply(lambda col: col.astype("string").fillna("").str.strip().astype(object))
    return _split_header(path, frame, encoding)


def _split_header(path: Path, frame: pd.DataFrame, encoding: str) -> RawTable:
    notes: list[str] = []
    rows = pd.Series(range(1, len(frame) + 1), index=frame.index)
    blank = (frame == "").all(axis=1)
    frame, rows = frame[~blank], rows[~blank]   # leading blank lines before the header, if any
    if frame.empty:
        raise DataError(Problem(str(path), None, None, "the file is empty"))
    header = list(frame.iloc[0])
    body, body_rows = frame.iloc[1:], rows.iloc[1:]
    header_row = int(rows.iloc[0])
    if body.shape[0] and _looks_like_second_header(header, list(body.iloc[0])):
        second = list(body.iloc[0])
        header = _join_headers(header, second)
        notes.append(f"rows {header_row}-{header_row + 1} form a two-row header; joined into one")
        body, body_rows = body.iloc[1:], body_rows.iloc[1:]
    header = [h if h else f"<unnamed {i + 1}>" for i, h in enumerate(header)]
    body = body.set_axis(header, axis=1)
    blank = (body == "").all(axis=1)
    if blank.any():
        notes.append(f"{int(blank.sum())} blank row(s) skipped: rows {_fmt_rows(body_rows[blank])}")
    total = body.apply(lambda col: col.isin(TOTAL_WORDS)).any(axis=1) & ~blank
    if total.any():
        notes.append(f"{int(total.sum())} totals row(s) (合计/总计/小计) removed: rows {_fmt_rows(body_rows[total])}")
    keep = ~blank & ~total
    return RawTable(str(path), body[keep].reset_index(drop=True),
                    body_rows[keep].reset_index(drop=True), encoding, notes)


def _looks_like_second_header(first: list[str], second: list[str]) -> bool:
    """An Excel merged header: the first row has gaps under a merged cell, the second fills them with text."""
    gaps = [i for i, h in enumerate(first) if h == ""]
    if not gaps:
        return False
    filled = [second[i] for i in gaps if i < len(second)]
    return all(v and not _is_number(v) for v in filled)


def _join_headers(first: list[str], second: list[str]) -> list[str]:
    # Under a merged parent cell ("收入情况") the sub-column names the data; elsewhere the top row does.
    return [bottom or top for top, bottom in zip(first, second)]


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def _fmt_rows(rows: pd.Series, limit: int = 10) -> str:
    values = [str(r) for r in rows.tolist()[:limit]]
    return ", ".join(values) + (" ..." if len(rows) > limit else "")
