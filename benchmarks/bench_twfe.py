"""Time and memory of ``impact.twfe`` against a direct pyfixest call on a large household panel.

Usage::

    python benchmarks/bench_twfe.py                          # 2,400,000 households x 5 years
    python benchmarks/bench_twfe.py --households 200000 --years 5

Each measurement runs in its own subprocess that builds the same seeded panel (household and year
effects, staggered adoption) and fits household + year fixed effects with standard errors clustered
by household, after an untimed warm-up fit on a tiny panel (imports, numba compilation). Peak
memory is the subprocess's ``ru_maxrss`` (resident set high-water mark), so the two numbers are
comparable and include the data; the data's own footprint is printed alongside.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def make_panel(households: int, years: int, seed: int) -> pd.DataFrame:
    """Household x year panel: y = household effect + year effect + 0.5 * treated + noise."""
    rng = np.random.default_rng(seed)
    hh = np.repeat(np.arange(households, dtype=np.int64), years)
    year = np.tile(np.arange(2021, 2021 + years, dtype=np.int64), households)
    adoption = rng.integers(2022, 2021 + years + 2, households)  # some never within the window
    treated = year >= adoption[hh]
    y = (rng.normal(0.0, 1.0, households)[hh] + rng.normal(0.0, 0.3, years)[year - 2021]
         + 0.5 * treated + rng.normal(0.0, 1.0, households * years))
    return pd.DataFrame({"hh": hh, "year": year, "d": treated, "y": y})


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KiB on Linux


def fit(which: str, df: pd.DataFrame) -> tuple[float, float]:
    if which == "impact":
        from analysis.estimators import impact

        est = impact.twfe(df, "y", "d", "hh", "year")
        return est.estimate, est.std_error
    import pyfixest as pf

    res = pf.feols("y ~ d | hh + year", data=df, vcov={"CRV1": "hh"})
    return float(res.coef().iloc[0]), float(res.se().iloc[0])


def worker(which: str, households: int, years: int, seed: int) -> dict:
    fit(which, make_panel(200, years, seed + 1))  # imports and JIT compilation, not timed
    df = make_panel(households, years, seed)
    base = peak_rss_gb()
    start = time.perf_counter()
    estimate, se = fit(which, df)
    seconds = time.perf_counter() - start
    return {"which": which, "seconds": seconds, "peak_rss_gb": peak_rss_gb(),
            "rss_after_data_gb": base, "estimate": estimate, "std_error": se,
            "rows": len(df), "data_mb": df.memory_usage(deep=True).sum() / 1e6}


def measure(which: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", which, "--households", str(args.households),
           "--years", str(args.years), "--seed", str(args.seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2_400_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--worker", choices=["impact", "pyfixest"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.households, args.years, args.seed)))
        return
    results = {w: measure(w, args) for w in ("impact", "pyfixest")}
    first = results["impact"]
    print(f"panel: {args.households:,} households x {args.years} years = {first['rows']:,} rows, "
          f"{first['data_mb']:.0f} MB in memory (4 columns)")
    for name, r in results.items():
        print(f"{name:>9}: {r['seconds']:8.2f} s   peak RSS {r['peak_rss_gb']:6.2f} GB "
              f"(after building the data {r['rss_after_data_gb']:.2f} GB)   "
              f"estimate {r['estimate']:.6f} (SE {r['std_error']:.6f})")
    ratio_t = first["seconds"] / results["pyfixest"]["seconds"]
    ratio_m = first["peak_rss_gb"] / results["pyfixest"]["peak_rss_gb"]
    print(f"impact / pyfixest: time x{ratio_t:.2f}, peak memory x{ratio_m:.2f}; estimates differ "
          f"by {abs(first['estimate'] - results['pyfixest']['estimate']):.2e}")


if __name__ == "__main__":
    main()
