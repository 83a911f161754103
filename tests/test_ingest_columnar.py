"""Plain CSV files are read column by column (Arrow's CSV reader); every other file row by row. Both readers
must give the same table, the same notes and the same refusals, whatever the file: checked on every text file
of the corpus of hostile exports, and on the ingested tables of a synthetic export."""
from __future__ import annotations

import hmac
from pathlib import Path

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
    synth.write(raw, seed=5, counties=3, households_per_county=30)
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
