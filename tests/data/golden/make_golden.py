"""Store the sample's result tables and page tables as they are now, for ``tests/test_golden.py``.

Run from the project root when a change is *meant* to alter numbers (and say so in the commit):

    .venv/bin/python tests/data/golden/make_golden.py

It generates the synthetic sample (seed 0) in a temporary folder, ingests it with the tests' pseudonym key
and builds every result table with the tests' bootstrap size, so that ``test_golden.py`` can do the same
on any machine and compare table by table.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

import golden  # noqa: E402  (tests/data/golden/golden.py: the one recipe shared with the test)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        processed = golden.build_sample(Path(tmp))
        for folder in ("results", "pages"):
            shutil.rmtree(HERE / folder, ignore_errors=True)
        golden.write_tables(golden.result_tables(processed), HERE / "results")
        for name, tables in golden.page_tables(processed).items():
            golden.write_tables(tables, HERE / "pages" / name)
    print(f"wrote {HERE / 'results'} and {HERE / 'pages'}")


if __name__ == "__main__":
    main()
