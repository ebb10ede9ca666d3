"""Full-scale baseline: wall time, peak memory and the yearly dynamics of the first four years.

Usage: python benchmarks/baseline_dynamics.py [--seed 7] [--quarters 40]
"""

import argparse
import resource
import time

import numpy as np
from smegrowth import EnterpriseModel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quarters", type=int, default=40)
    args = ap.parse_args()
    t0 = time.perf_counter()
    model = EnterpriseModel(scale=1.0, rng=args.seed, check_accounts=True)
    t1 = time.perf_counter()
    ts = model.run(args.quarters)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finite = np.isfinite(ts.drop(columns=["quarter"]).to_numpy(float)).all()
    print(
        f"construction {t1 - t0:.2f} s, {args.quarters} quarters {t2 - t1:.2f} s, peak RSS {peak:.0f} MB, "
        f"all finite: {finite}, accounts checked every quarter"
    )
    y = ts.iloc[1:17].copy()
    y["year"] = 2025 + (y["step"] - 1) // 4
    cols = [
        "new_little_giants",
        "lost_little_giants",
        "new_unicorns",
        "unicorn_ipos",
        "little_giant_ipos",
        "ipos",
        "acquisitions",
        "exits",
        "entries",
    ]
    table = y.groupby("year")[cols].sum()
    table["little_giants_end"] = y.groupby("year")["little_giants"].last()
    table["unicorns_end"] = y.groupby("year")["unicorns"].last()
    table["loan_rate"] = y.groupby("year")["loan_rate"].mean().round(4)
    print(table.to_string())
    sect = [c for c in ts.columns if c.startswith("new_unicorns_")]
    share = ts.iloc[1:17][sect].sum()
    print((share / share.sum()).round(2).sort_values(ascending=False).to_string())


if __name__ == "__main__":
    main()
