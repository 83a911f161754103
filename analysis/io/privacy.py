"""Personal data: keyed pseudonyms, resident ID numbers, and detection of identifying values by content.

Names, resident ID numbers (居民身份证号码), phone numbers and addresses never reach ``data/processed`` or
``reports``. Identifiers that must link records across years (户编号, 人编号) are replaced by a keyed hash
(HMAC-SHA256): the same key gives the same pseudonym every year, and without the key the hash cannot be
reversed by trying all ID numbers. The key comes from the environment variable ``ANALYSIS_PSEUDONYM_KEY``
or from the file ``.pseudonym_key`` at the project root, created on first use and never committed.
"""
from __future__ import annotations

import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.config import PROJECT_ROOT

KEY_ENV = "ANALYSIS_PSEUDONYM_KEY"
KEY_FILE = PROJECT_ROOT / ".pseudonym_key"
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = "10X98765432"  # GB 11643-1999: check character for (sum of weighted digits) mod 11
ID_PATTERN = re.compile(r"(?<![0-9A-Za-z.])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z.])")
# First-generation resident ID numbers (before 1999): 15 digits, the birth date without the century, no
# check character.
ID15_PATTERN = re.compile(r"(?<![0-9A-Za-z.])[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9A-Za-z.])")
# Bank card numbers: 16 to 19 digits (spaces or dashes between groups allowed) with a correct Luhn digit.
CARD_PATTERN = re.compile(r"(?<![0-9A-Za-z.])\d{4}(?:[ -]?\d){12,15}(?![0-9A-Za-z.])")
# Fixed-line numbers with their area code (0371-66668888, (010)12345678).
LANDLINE_PATTERN = re.compile(r"(?<![0-9A-Za-z.])[(（]?0[1-9]\d{1,2}[)）]?[- ]?[2-9]\d{6,7}(?![0-9A-Za-z.])")
# A name after a word that introduces a person (填表人：王丽华, 联系人 张三, 户主:李明).
PERSON_LABELS = ("填表人", "填报人", "制表人", "审核人", "负责人", "联系人", "经办人", "统计人", "帮扶责任人", "帮扶人",
                 "责任人", "户主", "姓名", "签字", "签名")
LABELLED_NAME = re.compile(rf"(?:{'|'.join(PERSON_LABELS)})\s*[:：]?\s*([\u4e00-\u9fff]{{2,4}})")
# Not inside a longer token: hex pseudonyms and decimals hold digit runs that are not phone numbers.
PHONE_PATTERN = re.compile(r"(?<![0-9A-Za-z.])1[3-9]\d{9}(?![0-9A-Za-z.])")
# A street address down to the house: a place word (村, 组, 路, 街, 巷, 社区, 小区, 弄) followed by a house number.
ADDRESS_PATTERN = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff0-9]{1,20}?(?:村|组|路|街|巷|社区|小区|弄)"
                             r"[\u4e00-\u9fff0-9\-]{0,12}?\d{1,5}\s*号")
# The most common Chinese surnames (about 90% of the population), single and compound.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
            "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌"
            "毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦"
            "麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩"
            "明佘池查麻苑迟邝")
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯")
# A whole cell that reads as a personal name: a surname and one to three more characters, not a place name.
NAME_PATTERN = re.compile(rf"(?:{'|'.join(COMPOUND_SURNAMES)}|[{SURNAMES}])[\u4e00-\u9fff]{{1,3}}")
PLACE_ENDINGS = tuple("省市县区镇乡村组庄屯寨街路社") + ("街道", "社区", "小区")


def pseudonym_key(key_file: Path | None = None) -> bytes:
    """The pseudonymisation key: ``$ANALYSIS_PSEUDONYM_KEY``, else the local key file (created if missing)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    path = Path(key_file or KEY_FILE)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def pseudonymize(values: pd.Series, key: bytes, prefix: str) -> pd.Series:
    """Keyed hash of each value: ``prefix`` + 16 hex characters of HMAC-SHA256 (missing stays missing).

    >>> pseudonymize(pd.Series(["4101020001"]), b"k", "H").str.len().item()
    17
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = uniques.tolist() if hasattr(uniques, "tolist") else list(uniques)
    hashed = [prefix + hmac.digest(key, str(v).encode("utf-8"), "sha256").hex()[:16] for v in uniques]
    hashed = np.array(hashed + [None], dtype=object)
    return pd.Series(hashed[codes], index=values.index, dtype="string")      # code -1 (missing) takes the None


def id_check_char(first17: str) -> str:
    """The check character of an 18-character resident ID number from its first 17 digits."""
    total = int(np.dot(ID_WEIGHTS, [int(c) for c in first17]))
    return ID_CHECK[total % 11]


def is_valid_id(text: str) -> bool:
    """True when ``text`` is an 18-character resident ID number with a correct check character."""
    text = str(text).strip().upper()
    return bool(ID_PATTERN.fullmatch(text)) and id_check_char(text[:17]) == text[17]


def is_first_generation_id(text: str) -> bool:
    """True when ``text`` is a 15-digit first-generation resident ID number (a valid birth date in it)."""
    text = str(text).strip()
    if not ID15_PATTERN.fullmatch(text):
        return False
    return not pd.isna(pd.to_datetime("19" + text[6:12], format="%Y%m%d", errors="coerce"))


def is_id_number(text: str) -> bool:
    """An 18-character resident ID number with a correct check character, or a 15-digit one."""
    return is_valid_id(text) or is_first_generation_id(text)


def upgrade_id(text: str) -> str:
    """A 15-digit ID number in its 18-character form (19 before the year, the check character added), as
    the ID of the same person is written since 1999.

    >>> upgrade_id("110105491231002")
    '11010519491231002X'
    """
    first17 = text[:6] + "19" + text[6:]
    return first17 + id_check_char(first17)


def luhn_ok(digits: str) -> bool:
    """Whether a card number's last digit is its Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def find_identifiers(text: str) -> list[tuple[str, str]]:
    """Resident ID numbers (18 characters with a valid check character, or 15 digits with a valid birth
    date), bank card numbers (16-19 digits, valid Luhn digit), mobile numbers and street addresses with a
    house number found in ``text``.

    >>> find_identifiers("住 平泰镇张黄3村5组12号")
    [('address', '平泰镇张黄3村5组12号')]
    """
    found = [("id_number", m.group(0)) for m in ID_PATTERN.finditer(text) if is_valid_id(m.group(0))]
    found += [("id_number", m.group(0)) for m in ID15_PATTERN.finditer(text) if is_first_generation_id(m.group(0))]
    ids = {v for _, v in found}
    found += [("bank_card", m.group(0)) for m in CARD_PATTERN.finditer(text)
              if m.group(0) not in ids and luhn_ok(re.sub(r"\D", "", m.group(0)))]
    found += [("phone", m.group(0)) for m in PHONE_PATTERN.finditer(text)]
    found += [("address", m.group(0)) for m in ADDRESS_PATTERN.finditer(text)]
    return found


KIND_WORDS = {"id_number": "an ID number", "bank_card": "a bank card number", "phone": "a phone number",
              "address": "an address", "name": "a name"}


def personal_kinds(text: str) -> list[str]:
    """The kinds of personal value in ``text`` (see :func:`redact`), in plain words, each once."""
    kinds = [k for k, _ in find_identifiers(text)]
    kinds += ["phone"] * bool(LANDLINE_PATTERN.search(text)) + ["name"] * bool(LABELLED_NAME.search(text))
    return [KIND_WORDS[k] for k in dict.fromkeys(kinds)]


def redact(text: str) -> str:
    """``text`` with every ID number, bank card, phone number, address and labelled name (填表人：王丽华)
    replaced by the kind of value it is.

    >>> redact("填表人：王丽华 13912345678")
    '填表人：[a name] [a phone number]'
    """
    for kind, value in sorted(find_identifiers(text), key=lambda f: -len(f[1])):
        text = text.replace(value, f"[{KIND_WORDS[kind]}]")
    text = LANDLINE_PATTERN.sub("[a phone number]", text)
    return LABELLED_NAME.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + "[a name]", text)


def name_like(values: pd.Series) -> pd.Series:
    """Whether each value reads as a personal name: 2-4 Chinese characters starting with a common surname
    and not ending like a place (村, 镇, 县 ...). One name is not proof; :func:`personal_columns_by_content`
    judges a whole column."""
    codes, uniques = pd.factorize(values.astype("string").fillna("").str.strip(), sort=False)
    verdict = np.array([_reads_as_name(v) for v in uniques], dtype=bool)
    return pd.Series(verdict[codes] if len(verdict) else np.zeros(0, dtype=bool), index=values.index)


def column_kind(values: pd.Series, min_names: int = 5, sample: int = 500) -> str | None:
    """``"id_number"``, ``"phone"``, ``"address"`` or ``"name"`` when the column's content is that kind of
    personal data, else None.

    ID numbers, phone numbers and addresses: at least half of the non-empty values (in a sample) match.
    Names: at least 80% of at least ``min_names`` values read as names, and at least 10% of them are
    distinct (a person appears once a year; a village or category label hundreds of times).
    The sample is tested as a list of text (a few hundred values: faster than column operations).
    """
    text = _first_values(values, sample)
    if not text:
        return None
    half = 0.5 * len(text)
    sized = [v for v in text if len(v) in (15, 18)]
    if len(sized) >= half and sum(map(is_id_number, sized)) >= half:
        return "id_number"
    # A phone number is 11 characters; addresses and names hold Chinese characters (a column of numbers or
    # codes is none of them, and is told apart without the slower pattern tests).
    if sum(len(v) == 11 for v in text) >= half and sum(bool(PHONE_PATTERN.fullmatch(v)) for v in text) >= half:
        return "phone"
    if all(v.isascii() for v in text):
        return None
    if sum(bool(ADDRESS_PATTERN.search(v)) for v in text) >= half:
        return "address"
    if len(text) >= min_names and len(set(text)) >= 0.1 * len(text) and \
            sum(map(_reads_as_name, text)) >= 0.8 * len(text):
        return "name"
    return None


def _reads_as_name(value: str) -> bool:
    return bool(NAME_PATTERN.fullmatch(value)) and not value.endswith(PLACE_ENDINGS)


def _first_values(values: pd.Series, sample: int) -> list[str]:
    """The first ``sample`` values that are not missing or empty once stripped, stripped, as text. The
    column's first rows are read as a list (they usually hold enough values); the rest, when needed, are
    first narrowed to the cells that are not missing or empty by one comparison (a column of blanks)."""
    head = 4 * sample
    found = _stripped(values.iloc[:head].tolist())
    if len(found) >= sample or len(values) <= head:
        return found[:sample]
    rest = values.iloc[head:]
    where = np.flatnonzero(rest.notna().to_numpy(dtype=bool) & (rest.fillna("") != "").to_numpy(dtype=bool))
    start, step = 0, 2 * sample
    while start < len(where) and len(found) < sample:
        found += _stripped(rest.iloc[where[start:start + step]].tolist())
        start, step = start + step, 2 * step
    return found[:sample]


def _stripped(values: list) -> list[str]:
    """The values that are not missing, as text, stripped, the empty ones left out."""
    out = []
    for v in values:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            continue
        v = (v if isinstance(v, str) else str(v)).strip()
        if v:
            out.append(v)
    return out


def personal_columns_by_content(frame: pd.DataFrame, sample: int = 500, min_names: int = 5) -> dict[str, str]:
    """Columns whose values are ID numbers, phone numbers, addresses or names, whatever their header
    (see :func:`column_kind`)."""
    kinds = {col: column_kind(frame[col], min_names=min_names, sample=sample) for col in frame.columns}
    return {col: kind for col, kind in kinds.items() if kind}


SCANNED = (".parquet", ".html", ".htm", ".ipynb", ".csv", ".json", ".md", ".txt", ".xlsx", ".docx", ".pdf")
PDFTOTEXT_MISSING = "not read: pdftotext is not installed (Debian/Ubuntu: apt-get install poppler-utils)"


class Unreadable(Exception):
    """A file the scanner cannot read (the message says why)."""


def docx_text(path: Path) -> str:
    """All text of a Word document: paragraphs, table cells (nested tables too), headers and footers."""
    from docx import Document
    doc = Document(str(path))

    def block(container) -> list[str]:
        out = [p.text for p in container.paragraphs]
        for table in container.tables:
            for row in table.rows:
                for cell in row.cells:
                    out += block(cell)
        return out
    parts = block(doc)
    for section in doc.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer):
            parts += block(part)
    return "\n".join(p for p in parts if p)


def pdf_text(path: Path) -> str:
    """The text of a PDF by ``pdftotext`` (poppler); :class:`Unreadable` when it is not installed or fails."""
    import shutil
    import subprocess
    tool = shutil.which("pdftotext")
    if tool is None:
        raise Unreadable(PDFTOTEXT_MISSING)
    done = subprocess.run([tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=300, check=False)
    if done.returncode != 0:
        raise Unreadable(f"not read: pdftotext failed ({done.stderr.decode('utf-8', 'replace').strip()[:200]})")
    return done.stdout.decode("utf-8", errors="replace")


def _cells(path: Path) -> tuple[set[str], str]:
    """The distinct text cells of a table file (Parquet, XLSX), or the whole text of any other file (a Word
    document's paragraphs and tables, a PDF's text by ``pdftotext``)."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return set(), docx_text(path)
    if suffix == ".pdf":
        return set(), pdf_text(path)
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
        cells: set[str] = set()
        for col in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
                cells |= set(frame[col].astype("string").dropna().unique().tolist())
        return cells, ""
    if suffix == ".xlsx":
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, header=None, engine="calamine")
        return {v for s in sheets.values() for v in s.fillna("").to_numpy().ravel().tolist() if v}, ""
    return set(), path.read_text(encoding="utf-8", errors="replace")


def _mask(value: str, keep: int) -> str:
    return value[:keep] + "*" * (len(value) - keep)


def _substrings(text: str, lengths: list[int]) -> set[str]:
    """Every substring of the given lengths within runs of CJK characters, and whole 11-18 digit numbers (a set lookup
    against known values is far faster than searching the text for each of thousands of names)."""
    out: set[str] = set()
    for run in re.findall(r"[\u3400-\u9fff]+|(?<![0-9A-Za-z])[0-9Xx]{11,18}(?![0-9A-Za-z])", text):
        for n in lengths:
            out.update(run[i:i + n] for i in range(len(run) - n + 1))
    return out


def scan(paths, known: set[str] | None = None, unread: list[tuple[str, str]] | None = None
         ) -> list[tuple[str, str, str]]:
    """Find resident ID numbers (valid check character), mobile numbers and any ``known`` values (e.g. the
    names of the raw exports) in the data and report files under ``paths`` (Parquet, XLSX, HTML, notebooks,
    text, Word documents and, with ``pdftotext`` installed, PDFs).

    Table files are checked cell by cell (a known value must fill a cell); other files as text.
    Returns ``(file, kind, masked value)`` for each finding; an empty list means nothing was found. Files
    that could not be read (a PDF without ``pdftotext``) are appended to ``unread`` as ``(file, reason)``.
    """
    known = {k for k in (known or set()) if len(k) >= 2}
    lengths = sorted({len(k) for k in known})
    findings, files = [], []
    for p in map(Path, paths):
        files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SCANNED) if p.is_dir() else [p]
    for f in files:
        try:
            cells, text = _cells(f)
        except Unreadable as exc:
            if unread is not None:
                unread.append((str(f), str(exc)))
            continue
        blob = text or "\n".join(cells)
        for kind, value in find_identifiers(blob):
            findings.append((str(f), kind, _mask(value, 4)))
        hits = (cells & known) if cells else (_substrings(text, lengths) & known) if known else set()
        findings += [(str(f), "known value", _mask(v, 1)) for v in sorted(hits)]
    return findings


def raw_identities(raw_paths) -> set[str]:
    """Names, ID numbers, phone numbers and addresses found in raw exports (in columns named as personal data,
    or under unknown headers holding such values by content), to check that none reaches the outputs."""
    from analysis.io.ingest import expand_paths, header_index
    from analysis.io.readers import normalize_header, read_raw
    index = header_index()
    values: set[str] = set()
    for path in expand_paths(raw_paths):
        raw = read_raw(path)
        for header in raw.frame.columns:
            hit = index.get(normalize_header(header))
            if (hit and hit[0].startswith("personal:")) or (hit is None and column_kind(raw.frame[header])):
                values |= {v for v in raw.frame[header].unique() if len(v) >= 2}
    return values
