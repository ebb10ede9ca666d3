"""Compare every lever of the October 2024 package, and the package, against the baseline.

Runs ``scenarios/compare_levers.yaml`` (8 policies x 20 paired replicates at a 10 % sample; resumes
if interrupted; a folder left by another version of smegrowth needs ``--fresh``), then writes the
headline tables to ``results/``:

- ``results/compare_levers.md``: effects at the end of 2026 (8 quarters) and of 2030 (24 quarters)
  on little giants, unicorns, revenue, employment, investment and R&D, with 95 % intervals, fiscal
  cost and cost per additional job, stamped with the date and package version;
- ``results/compare_levers.csv``: the full comparison table (every outcome and column).

Usage: python experiments/compare_levers.py [--workers N] [--out DIR] [--fresh]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pandas as pd
import smegrowth
from smegrowth.analysis import compare, format_table
from smegrowth.store import StoreError

ROOT = Path(__file__).resolve().parent.parent
OUTCOMES = ["little_giants", "unicorns", "new_unicorns_total", "revenue", "employment", "investment", "rd_spending"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    ap.add_argument("--out", default=str(ROOT / "results" / "compare_levers"), help="results folder of the sweep")
    ap.add_argument("--fresh", action="store_true", help="discard an earlier sweep in --out")
    args = ap.parse_args()

    scenario = ROOT / "scenarios" / "compare_levers.yaml"
    try:
        smegrowth.sweep(scenario, workers=args.workers, out=args.out, fresh=args.fresh)
    except StoreError as exc:  # a locked folder, another scenario's or another version's: one line
        raise SystemExit(f"error: {exc}") from None

    stamp = f"smegrowth {smegrowth.__version__}, {dt.date.today().isoformat()}"
    sections = [
        f"# Lever comparison\n\nMade by `python experiments/compare_levers.py` ({stamp}) from "
        "`scenarios/compare_levers.yaml`: 20 paired replicates per policy, scale 0.1, reported "
        "at national scale. Differences from the baseline with 95 % confidence intervals; stars "
        "after Holm's correction across the table (* 5 %, ** 1 %, *** 0.1 %). Money in m yuan "
        "per quarter; counts are firms; employment is people; fiscal cost is the policy's "
        "spending over the horizon (m yuan).\n"
    ]
    tables = []
    for label, at in (("End of 2026 (8 quarters)", "2026Q4"), ("End of 2030 (24 quarters)", None)):
        table = compare(args.out, outcomes=OUTCOMES, at=at)
        table["horizon"] = label
        tables.append(table)
        sections.append(f"## {label}\n\n{format_table(table, 'md', baseline='baseline')}\n")
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "compare_levers.md").write_text("\n".join(sections))
    pd.concat(tables).to_csv(ROOT / "results" / "compare_levers.csv", index=False)
    print("\n".join(sections))


if __name__ == "__main__":
    main()
