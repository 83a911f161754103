"""Plain CSV files are read column by column (Arrow's CSV reader); every other file row by row. Both readers
must give the same table, the same notes and the same refusals, whatever the file: checked on every text file
of the corpus of hostile exports, and on the ingested tables of a synthetic export."""
from __future__ import annotations

import hmac
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import DataError
from analysis.io import ingest, privacy, readers, synth

CORPUS = Path(__file__).resolve().parent / "data" / "bad"
TEXT_FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*")
                    if p.is_file() and p.suffix in (".csv", ".txt") and readers.is_text_table(p))


def _read(path: Path, columnar: bool, monkeypatch) -> list[readers.RawTable] | list:
    with monkeypatch.context() as m:
        if not columnar:
            m.setattr(readers, "_columnar", lambda text, sep: None)
        try:
            return readers.read_tables(path)
        except DataError as exc:
            return [str(p) for p in exc.problems]


def _plain(table: readers.RawTable) -> tuple:
    return (table.frame.astype(object), table.rows.tolist(), table.notes, table.headers, table.letters,
            table.rows_read, table.header_row, table.encoding)


@pytest.mark.parametrize("name", TEXT_FILES)
def test_both_readers_give_the_same_table(name, monkeypatch):
    by_rows, by_columns = (_read(CORPUS / name, columnar, monkeypatch) for columnar in (False, True))
    if by_rows and isinstance(by_rows[0], str):
        assert by_columns == by_rows                 # the same refusal, located the same way
        return
    assert len(by_columns) == len(by_rows) == 1
    rows, columns = _plain(by_rows[0]), _plain(by_columns[0])
    pd.testing.assert_frame_equal(columns[0], rows[0])
    assert columns[1:] == rows[1:]


def test_plain_exports_are_read_in_columns_and_the_others_not():
    def columnar(name):
        text = (CORPUS / name).read_bytes().decode("utf-8-sig")
        return readers._columnar(text, ",") is not None
    assert columnar("clean.csv") and columnar("subtotal_rows.csv")
    assert not any(map(columnar, ("title_row.csv", "ragged_row.csv", "short_row.csv", "unclosed_quote.csv")))
    table = readers.read_tables(CORPUS / "clean.csv")[0]
    assert all(dtype == readers.TEXT for dtype in table.frame.dtypes)


def test_ingest_in_columns_equals_ingest_by_rows(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    synth.write(raw, seed=5, counties=3, households_per_county=30, oracle_replicates=0)
    by_columns = ingest.ingest([raw], key=b"k", write=False)
    monkeypatch.setattr(readers, "_columnar", lambda text, sep: None)
    by_rows = ingest.ingest([raw], key=b"k", write=False)
    pd.testing.assert_frame_equal(by_columns.households, by_rows.households)
    pd.testing.assert_frame_equal(by_columns.members, by_rows.members)
    assert by_columns.report() == by_rows.report()


def test_pseudonyms_in_bulk_are_the_keyed_hash_of_each_value():
    values = pd.Series(["0200050800", None, "0200050800", "4101020001"], dtype="string")
    out = privacy.pseudonymize(values, b"key", "H")
    expected = ["H" + hmac.new(b"key", v.encode(), "sha256").hexdigest()[:16] if v else None
                for v in ["0200050800", None, "0200050800", "4101020001"]]
    assert out.tolist()[0] == expected[0] and out.tolist()[2:] == expected[2:] and out.isna().tolist()[1]
    assert out.dtype == "string"


def test_workbook_cells_converted_by_column_read_as_one_by_one():
    """A sheet's cells become text column by column (whole numbers all at once) exactly as each cell alone."""
    import datetime as dt
    values = [("0001020000", 2020.0, -0.0, 12.5, 1e15, 123456789012345.0, float("nan"), float("inf")),
              ("", 5.0, 7, True, dt.datetime(2021, 3, 5), dt.datetime(2021, 3, 5, 8, 30), dt.date(2022, 6, 7),
               " 1.0e-05 ")]
    cells = [list(row) for row in zip(*values)]          # rows of the sheet, as the cell reader gives them
    frame = readers._sheet_frame(cells, {(9, 0): "#N/A"})
    expected = [[readers._cell_text(v).strip(readers.EDGE_CHARS) for v in col] + ["", ""] for col in values]
    expected[0][9] = "#N/A"
    assert frame.shape == (10, 2)
    assert [frame[c].tolist() for c in frame.columns] == expected
    assert expected[0][1:6] == ["2020", "0", "12.5", "1.00000E+15", "123456789012345"]


def _chunks(path: Path, columns: bool, chunk_rows: int) -> list:
    group_of = ingest._group_columns(None)
    try:
        return [_plain(t) for t in readers.iter_text_chunks(path, chunk_rows, group_of=group_of, columns=columns)]
    except DataError as exc:
        return [str(p) for p in exc.problems]
    except readers.NotPlain:
        return ["not plain"]


@pytest.mark.parametrize("name", TEXT_FILES)
def test_chunks_in_columns_equal_chunks_by_rows(name):
    """Chunks of 7 rows (a household's rows kept together): the same cells, rows, notes or refusal either way;
    a file that is plain at its head but not further down is left to the row reader."""
    by_rows, by_columns = (_chunks(CORPUS / name, columns, 7) for columns in (False, True))
    if by_columns == ["not plain"]:
        return
    assert len(by_columns) == len(by_rows)
    for rows, columns in zip(by_rows, by_columns):
        if isinstance(rows, str):
            assert columns == rows
            continue
        pd.testing.assert_frame_equal(columns[0], rows[0])
        assert columns[1:] == rows[1:]


def test_a_row_gone_wrong_far_down_is_read_again_by_rows(tmp_path):
    """Plain for its first blocks, then a row with a value too many or a line break inside a cell: the chunked
    ingest drops what it staged and gives the refusal (or the table) the row reader gives."""
    clean = (CORPUS / "clean.csv").read_text(encoding="utf-8-sig").splitlines()
    header, rows = clean[0], clean[1:]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join([header, *rows[:-1], rows[-1] + ",x,y"]) + "\n", encoding="utf-8")
    with pytest.raises(readers.NotPlain):
        list(readers.iter_text_chunks(ragged, 5))
    with pytest.raises(DataError) as chunked:
        ingest.ingest([ragged], key=b"k", write=False, chunk_rows=5)
    with pytest.raises(DataError) as at_once:
        ingest.ingest([ragged], key=b"k", write=False)
    assert [str(p) for p in chunked.value.problems] == [str(p) for p in at_once.value.problems]
    assert f"row {len(rows) + 1}" in str(chunked.value.problems[0])


def test_plain_numbers_parsed_in_bulk_equal_python_floats():
    """Plain decimal text parsed by Arrow in one pass gives the double Python's float gives, for long and
    hard-to-round decimals too; text that is not plain is left to the repairs."""
    from analysis.io import parsing
    rng = np.random.default_rng(3)
    texts = [f"{v:.{k}f}" for v, k in zip(rng.uniform(-1e7, 1e7, 2000), rng.integers(0, 9, 2000))]
    texts += ["0", "-0", "+3", "007", "0.1", "9007199254740993", "123456789012345678901234.5678901234567",
              "2.22507385850720113"]
    parsed = parsing.number(pd.Series(texts, dtype="string"))
    assert parsed.values.tolist() == [float(t) for t in texts]
    assert not parsed.bad.any()
    mixed = parsing.number(pd.Series(["1,200", "", "12.5", "abc"], dtype="string"))
    assert mixed.values.tolist()[0] == 1200.0 and mixed.values.tolist()[2] == 12.5
    assert mixed.bad.tolist() == [False, False, False, True]


def test_personal_column_found_below_a_long_blank_head():
    """The content test samples the first values that are not blank, however far down they start."""
    phones = [f"139{n:08d}" for n in range(600)]
    column = pd.Series([""] * 5000 + [" "] * 10 + phones, dtype=readers.TEXT)
    assert privacy.column_kind(column) == "phone"
    assert privacy.column_kind(pd.Series([""] * 5000, dtype=readers.TEXT)) is None


def test_files_hashed_on_several_cores_as_one_by_one(tmp_path):
    from analysis.core.files import sha256_file, sha256_files
    paths = []
    for n in range(5):
        paths.append(tmp_path / f"f{n}.csv")
        paths[-1].write_bytes(bytes(range(256)) * (n * 5000 + 1))
    assert sha256_files(paths, jobs=2) == [sha256_file(p) for p in paths] == sha256_files(paths)
