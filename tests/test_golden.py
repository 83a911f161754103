"""The sample's numbers do not move while the code is rearranged.

Every result table of the bundled sample and every table its pages write (one county, and the prefecture
on page 05) is recomputed from scratch and compared with the tables stored by
``tests/data/golden/make_golden.py`` before the rearrangement, to 1e-12. A change meant to alter numbers
regenerates the stored tables in the same commit and says why.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "data" / "golden"
sys.path.insert(0, str(GOLDEN))

import golden  # noqa: E402

TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    return golden.build_sample(tmp_path_factory.mktemp("golden"))


def _compare(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame], where: str, new_ok: bool = False) -> None:
    """Every stored table is recomputed equal; with ``new_ok`` the build may also write new tables."""
    assert want, f"no stored tables under {where}"
    missing, new = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    assert not missing, f"{where}: tables no longer computed: {missing}"
    assert new_ok or not new, f"{where}: unexpected new tables {new}"
    for name, table in want.items():
        pd.testing.assert_frame_equal(got[name].reset_index(drop=True), table.reset_index(drop=True),
                                      check_exact=False, rtol=TOLERANCE, atol=TOLERANCE,
                                      obj=f"{where}/{name}")


def test_result_tables_unchanged(processed):
    _compare(golden.result_tables(processed), golden.read_tables(GOLDEN / "results"), "results", new_ok=True)


def test_page_tables_unchanged(processed):
    pages = golden.page_tables(processed)
    stored = sorted(p.name for p in (GOLDEN / "pages").iterdir())
    assert sorted(pages) == stored
    for name, tables in pages.items():
        _compare(tables, golden.read_tables(GOLDEN / "pages" / name), f"pages/{name}")
