"""Disclosure rules on hand-built tables: differencing of nested series, complementary rows."""
import itertools

import numpy as np
import pandas as pd
import pytest

from analysis.core.disclosure import suppress_differences


@pytest.mark.parametrize("seed", range(20))
def test_no_two_shown_counts_of_a_nested_series_differ_by_a_small_group(seed):
    rng = np.random.default_rng(seed)
    counts = pd.Series(np.sort(rng.integers(0, 30, size=int(rng.integers(2, 7))))[::-1])
    keep = pd.Series(np.arange(len(counts)) == int(rng.integers(len(counts))))
    shown = suppress_differences(counts, keep, k=5)
    values = shown.dropna().to_numpy()
    assert all(v == 0 or v >= 5 for v in values)
    assert all(a == b or abs(a - b) >= 5 for a, b in itertools.combinations(values, 2))
    assert (shown.dropna() == counts[shown.notna()]).all()          # shown counts are the true ones
    k_val = counts[keep].iloc[0]
    if k_val == 0 or k_val >= 5:
        assert shown[keep].notna().all()                             # the configured count is always shown


def test_sensitivity_and_overlap_tables_on_the_page_follow_the_rules(small_processed):
    from analysis.io import data
    from analysis.reporting import monitoring as rm
    from analysis.reporting import page
    for region in data.list_regions(small_processed):
        ctx = page.context(region, [2020, 2024], str(small_processed), "zh")
        frame = rm._sensitivity_frame(ctx)
        for _, rows in frame.groupby(["rule", "parameter"]):
            for col in ("households_meeting_rules", "households_gap"):
                values = rows[col].dropna().to_numpy()
                assert all(a == b or abs(a - b) >= 5 for a, b in itertools.combinations(values, 2)), region
        overlap = rm._overlap_frame(ctx)
        raw = rm._last_year(ctx, rm.county_table(ctx, "monitoring_identification_overlap"))
        for col in ("households", "households_gap"):
            hidden = overlap[col].isna()
            # a single blanked row would follow from the gap table's total, unless that total is itself
            # blanked there (fewer than k in all)
            assert hidden.sum() != 1 or 0 < raw[col].sum() < 5, (region, col)


def test_elimination_and_questionable_tables_hide_no_part_the_total_gives_away(small_processed):
    from analysis.io import data
    from analysis.reporting import monitoring as rm
    from analysis.reporting import page
    for region in data.list_regions(small_processed):
        ctx = page.context(region, [2020, 2024], str(small_processed), "zh")
        frame = rm._elimination_frame(ctx)
        raw = ctx.slice(rm.county_table(ctx, "monitoring_elimination"))
        left = (raw["targets"] - raw["eliminated"]).to_numpy()
        for i in range(len(frame)):
            row = frame.iloc[i]
            # with the total shown, a shown count of eliminated households means neither it nor the
            # remainder (targets not yet eliminated) is a small group
            if pd.notna(row["targets"]) and pd.notna(row["eliminated"]):
                assert not 0 < left[i] < 5 and not 0 < raw["eliminated"].iloc[i] < 5, region
            if pd.notna(row["eliminated_in_year"]):
                hidden = [c for c in ("assisted", "natural") if pd.isna(row[c])]
                assert len(hidden) != 1, region
        failed = rm._failed_frame(ctx)
        raw = ctx.slice(rm.county_table(ctx, "monitoring_failed_eliminations_summary"))
        ok = (raw["eliminations"] - raw["failed"]).to_numpy()
        for i in range(len(failed)):
            if pd.notna(failed["eliminations"].iloc[i]) and pd.notna(failed["failed"].iloc[i]):
                assert not 0 < ok[i] < 5, region


# ---- two-way tables (the transition matrix) --------------------------------------------------------
def _determined(values: np.ndarray, hidden: np.ndarray, rows_known, cols_known) -> np.ndarray:
    """Blanked cells fixed by the known line totals (exact: the cell's unit vector lies in the row space
    of the line equations over the blanked cells)."""
    cells = list(zip(*np.nonzero(hidden), strict=True))
    if not cells:
        return np.zeros(0, bool)
    eq = [[1.0 if i == r else 0.0 for i, _ in cells] for r in range(values.shape[0]) if rows_known[r]]
    eq += [[1.0 if j == c else 0.0 for _, j in cells] for c in range(values.shape[1]) if cols_known[c]]
    a = np.array(eq) if eq else np.zeros((0, len(cells)))
    rank = np.linalg.matrix_rank(a) if len(a) else 0
    return np.array([np.linalg.matrix_rank(np.vstack([a, np.eye(len(cells))[n]])) == rank for n in range(len(cells))])


def test_two_way_suppression_by_hand():
    from analysis.core.disclosure import suppress_cells, unprotected_lines
    t = pd.DataFrame([[20, 3, 9], [8, 30, 0], [6, 7, 12]], index=list("abc"), columns=list("xyz"))
    assert suppress_cells(t, k=5).to_numpy().tolist() == [[False, True, True], [False, False, False],
                                                          [False, True, True]]
    # row a counts 3 households in all: withheld whole, zeros included (where they went is the secret).
    # Columns x, y, z then hold one blank each: (b, x) protects x; row b then needs (b, y), which also
    # protects y; z takes (c, 40) and row c then (c, y), whose column already holds two blanks
    t = pd.DataFrame([[3, 0, 0], [10, 20, 0], [0, 6, 40]], index=list("abc"), columns=list("xyz"))
    hidden = suppress_cells(t, k=5)
    assert hidden.to_numpy().tolist() == [[True, True, True], [True, True, False], [False, True, True]]
    rows, cols = unprotected_lines(t, hidden, k=5)
    assert list(rows) == [] and list(cols) == []
    # a cell another table blanks is blanked here too, with its complements
    forced = pd.DataFrame(False, index=t.index, columns=t.columns)
    forced.loc["c", "z"] = True
    t2 = pd.DataFrame([[30, 10, 8], [10, 20, 9], [7, 6, 40]], index=list("abc"), columns=list("xyz"))
    hidden = suppress_cells(t2, k=5, hidden=forced)
    assert hidden.loc["c", "z"] and hidden.sum(axis=1).isin([0, 2, 3]).all() and hidden.sum(axis=0).isin([0, 2, 3]).all()
    assert not suppress_cells(pd.DataFrame([[0, 5], [7, 0]]), k=5).to_numpy().any()   # zeros and k itself shown
    # a single cell and its total: nothing can protect it, the total must go
    one = pd.DataFrame([[7, 0], [0, 9]], index=["a", "b"], columns=["x", "y"])
    forced = pd.DataFrame([[True, False], [False, False]], index=one.index, columns=one.columns)
    hidden = suppress_cells(one, k=5, hidden=forced)
    assert hidden.to_numpy().tolist() == [[True, True], [True, True]]


@pytest.mark.parametrize("seed", range(60))
def test_two_way_suppression_leaves_no_cell_recoverable(seed):
    """Random tables: every line holds no blank or at least two worth k households; with every row and
    column total known, no blanked non-zero cell is fixed by them (exact, by linear algebra)."""
    from analysis.core.disclosure import fixed_cells, suppress_cells, unprotected_lines
    rng = np.random.default_rng(seed)
    shape = tuple(int(x) for x in rng.integers(2, 6, size=2))
    values = rng.choice([0, 0, 1, 2, 3, 4, 6, 9, 15, 40], size=shape)
    t = pd.DataFrame(values)
    mask = suppress_cells(t, k=5).to_numpy()
    assert not (~mask & (values > 0) & (values < 5)).any()        # every small cell is blanked
    rows, cols = unprotected_lines(t, pd.DataFrame(mask), k=5)
    assert list(rows) == [] and list(cols) == []
    for axis in (0, 1):
        total = values.sum(axis=axis)
        count, weight = mask.sum(axis=axis), np.where(mask, values, 0).sum(axis=axis)
        assert ((count == 0) | ((count >= 2) & (weight >= 5)) | (total < 5)).all()   # small or empty lines aside
    if values.sum() >= 5:   # (a table of fewer than k households in all is one small count)
        fixed = _determined(values, mask, np.ones(shape[0], bool), np.ones(shape[1], bool))
        assert not (fixed & (values[mask] > 0)).any(), (values, mask)
        assert not (fixed_cells(values, mask) & (values > 0)).any()


def test_transition_matrix_and_return_table_on_the_page_hide_no_recoverable_cell(small_processed):
    from analysis.io import data
    from analysis.reporting import monitoring as rm
    from analysis.reporting import page
    for region in data.list_regions(small_processed):
        ctx = page.context(region, [2020, 2024], str(small_processed), "zh")
        cells = rm.protected_transitions(ctx)
        raw = rm._transitions(ctx)
        for year_from, pair in cells.groupby("year_from"):
            true = rm.transition_matrix(raw, int(year_from))
            shown = pair.pivot(index="status_from", columns="status_to", values="households").reindex(
                index=true.index, columns=true.columns)
            hidden = shown.isna().to_numpy()
            values = true.to_numpy()
            assert (shown.to_numpy()[~hidden] == values[~hidden]).all(), region     # shown cells are the true ones
            assert hidden[(values > 0) & (values < 5)].all(), region
            if values.sum() >= 5:
                known = np.ones(values.shape[0], bool), np.ones(values.shape[1], bool)
                assert not (_determined(values, hidden, *known) & (values[hidden] > 0)).any(), (region, year_from)
            shares = pair.set_index(["status_from", "status_to"])["share"]
            assert shares[pair.set_index(["status_from", "status_to"])["households"].isna()].isna().all()
        returns = rm._returns_frame(ctx)
        truth = ctx.slice(rm.county_table(ctx, "monitoring_return_rates")).set_index("year")
        for _, row in returns.iterrows():
            t = truth.loc[row["year"]]
            # returned / not returned after elimination: a shown count with its total shown is no small group
            if pd.notna(row["eliminated_prev"]) and pd.notna(row["returned_after_elimination"]):
                assert not 0 < t["eliminated_prev"] - t["returned_after_elimination"] < 5, region
            if pd.notna(row["exited_pool"]) and pd.notna(row["exited_returned"]):
                assert not 0 < t["exited_pool"] - t["exited_returned"] < 5, region
            assert pd.isna(row["return_rate_exited"]) or pd.notna(row["exited_returned"])
            if pd.notna(row["exited_fell_below"]):
                only_fell = t["exited_returned"] - t["exited_newly_monitored"]
                both = t["exited_fell_below"] + t["exited_newly_monitored"] - t["exited_returned"]
                assert all(v == 0 or v >= 5 for v in (only_fell, both)), region
            # the matrix shows the same count of households returned after elimination, or blanks it too
            cell = cells[(cells["year_to"] == row["year"]) & (cells["status_from"] == "eliminated")
                         & (cells["status_to"] == "returned")]
            if len(cell):
                assert pd.isna(cell["households"].iloc[0]) == pd.isna(row["returned_after_elimination"]), region
        sentence = rm._return_sentence(ctx)
        last = returns.sort_values("year").iloc[-1] if len(returns) else None
        if last is not None and pd.isna(last["returned_after_elimination"]):
            assert "再次纳入监测" not in sentence, sentence      # no count beside a blank


def test_return_parts_by_hand(monkeypatch):
    """A hand-built return table: the breakdown and the complements blank as documented."""
    from analysis.reporting import monitoring as rm
    table = pd.DataFrame({"prefecture": "p", "county": "c", "year": [2022, 2023, 2024],
                          "eliminated_prev": [10, 3, 20], "returned_after_elimination": [8, 0, 6],
                          "return_rate_eliminated": [0.8, 0.0, 0.3], "exited_pool": [100, 100, 100],
                          "exited_fell_below": [6, 12, 3], "exited_newly_monitored": [6, 10, 1],
                          "exited_returned": [12, 12, 4], "return_rate_exited": [0.12, 0.12, 0.04],
                          "return_rate_exited_persons": [0.1, 0.1, 0.05]})

    class Ctx:
        region, first, last, study = "c", 2020, 2024, None

        @staticmethod
        def slice(frame):
            return frame
    monkeypatch.setattr(rm, "county_table", lambda ctx, name: table)
    out = rm._return_parts(Ctx()).set_index("year")
    # 2022: 8 of 10 returned, 2 did not (small): both blanked, the total stays
    assert pd.isna(out.loc[2022, "returned_after_elimination"]) and out.loc[2022, "eliminated_prev"] == 10
    assert pd.isna(out.loc[2022, "return_rate_eliminated"])
    # 2022 exited: 12 returned = 6 only fell + 6 only newly + 0 both: breakdown shown
    assert out.loc[2022, "exited_fell_below"] == 6 and out.loc[2022, "exited_newly_monitored"] == 6
    # 2023: 3 eliminated, none returned, 3 stayed (small, nothing to pair it with): the total goes (a zero
    # stays: it says nothing of any household)
    assert pd.isna(out.loc[2023, "eliminated_prev"]) and out.loc[2023, "returned_after_elimination"] == 0
    # 2023 exited: 12 = 2 only fell + 0 only newly + 10 both: a group of 2 -> breakdown blanked, total shown
    assert pd.isna(out.loc[2023, "exited_fell_below"]) and pd.isna(out.loc[2023, "exited_newly_monitored"])
    assert out.loc[2023, "exited_returned"] == 12
    # 2024: 4 returned (small): returned, the rate and the breakdown blanked, with a complement
    assert pd.isna(out.loc[2024, "exited_returned"]) and pd.isna(out.loc[2024, "return_rate_exited"])
    assert pd.isna(out.loc[2024, "exited_fell_below"]) and pd.isna(out.loc[2024, "return_rate_exited_persons"])
    assert out.loc[2024, "exited_pool"] == 100   # the 96 not returned are the complement (not shown anyway)
