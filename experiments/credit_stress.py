"""Does the baseline's banking system stay sound over ten years? The worst quarter of each run.

For each scale and seed, runs the baseline for ``--quarters`` quarters and reports, over its
quarters: the highest annualised default rate of indebted firms, the lowest share of loan
applicants granted credit, the lowest capital ratio (equity / loans) of any bank, the most
insolvency exits in a quarter (national scale), and the firms with annual revenue above 5 bn yuan
at the end (national scale), the size no SRDI SME or little giant has. ``docs/calibration.md``
(section 5) has these figures before and after the credit fix of session 12; ``tests/test_credit.py``
asserts the same at scale 0.1.

Usage: python experiments/credit_stress.py [--scales 1.0 0.1] [--seeds 7 8 9] [--quarters 40]
"""

from __future__ import annotations

import argparse

import pandas as pd
from smegrowth import EnterpriseModel

LARGE = 5_000.0
"""Annual revenue above which a firm is counted as large, m yuan (5 bn yuan)."""


def worst_quarters(scale: float, seed: int, quarters: int) -> dict[str, float]:
    """The worst quarter of one run by each measure (see the module's docstring)."""
    model = EnterpriseModel(scale=scale, rng=seed)
    capital_ratio = []
    for _ in range(quarters):
        model.step()
        capital_ratio.append(float((model.accounts.bank_equity / model.accounts.bank_loans).min()))
    ts = model.timeseries().iloc[1:]
    st = model.state
    return {"scale": scale, "seed": seed,
            "max default rate": float(ts["default_rate"].max()),
            "min approval rate": float(ts["approval_rate"].min()),
            "min bank capital ratio": min(capital_ratio),
            "max exits a quarter": float(ts["exits"].max()),
            "firms above 5 bn yuan at the end": float((st.annual_revenue[st.active()] > LARGE).sum() / scale)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.1], help="population scales")
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9], help="seeds")
    ap.add_argument("--quarters", type=int, default=40, help="quarters from 2025Q1 (default 40: ten years)")
    args = ap.parse_args()
    rows = [worst_quarters(scale, seed, args.quarters) for scale in args.scales for seed in args.seeds]
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
