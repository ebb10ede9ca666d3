"""Validate the baseline against the stylised facts of firm dynamics and the 2024 targets.

Runs the baseline over several seeds at national scale (on a process pool), compares the statistics
with ``smegrowth/validation/targets.yaml`` and writes ``validation.csv``, ``validation.md``,
``statistics.csv`` and ``panel.png`` to the output folder. Same as ``smegrowth validate``.

Usage:
    python experiments/validate.py [--seeds 5] [--scale 1.0] [--years 4] [--out results/validation]
                                   [--workers 2] [--flow-years 1] [--set credit.max_pd=0.05 ...]
"""

from __future__ import annotations

import argparse
import sys

import yaml
from smegrowth.parameters import ParameterError, Parameters
from smegrowth.validation.report import ROOT_SEED, run_validation


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="replicate runs (default 5)")
    ap.add_argument("--scale", type=float, default=1.0, help="population scale (default 1.0)")
    ap.add_argument("--years", type=int, default=4, help="simulated years (default 4)")
    ap.add_argument("--out", default="results/validation", help="output folder")
    ap.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--flow-years", type=int, default=1,
                    help="years the flow targets average over (default 1: 2025)")
    ap.add_argument("--seed", type=int, default=ROOT_SEED, help="root seed")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="parameter override, repeatable")
    args = ap.parse_args(argv)
    overrides = {}
    for pair in args.set:
        key, sep, text = pair.partition("=")
        if not sep:
            ap.error(f"--set {pair!r}: expected NAME=VALUE")
        overrides[key] = yaml.safe_load(text)
    try:
        Parameters().override(overrides)
    except ParameterError as exc:
        ap.error(str(exc))

    def progress(result):
        print(f"  run done (seed {result.seed})", file=sys.stderr)

    validation = run_validation(out=args.out, seeds=args.seeds, scale=args.scale,
                                years=args.years, workers=args.workers,
                                flow_years=args.flow_years, root_seed=args.seed,
                                parameters=overrides, progress=progress)
    print(validation.files["md"].read_text(encoding="utf-8"))
    print(f"{validation.elapsed:.0f} s; wrote " + ", ".join(map(str, validation.files.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
