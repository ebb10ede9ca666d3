"""Where a run spends its time: wall time per stage of the quarter, then cProfile's top functions.

    python benchmarks/profile_run.py                       # scale 1.0, 40 quarters, seed 7
    python benchmarks/profile_run.py --scale 0.1 --top 30

Stage times come from wrapping the stage methods of one model (no profiler overhead; nested stages
such as ``Demography.enter`` include what they call). cProfile then runs a second, identical model;
its overhead inflates functions with many small calls, so read its shares as a ranking. For a
sampling profile without that bias: ``py-spy record -f raw -o run.raw -- python benchmarks/profile_run.py
--no-cprofile`` (py-spy is a profiling tool, not a dependency of the project).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections import Counter

from smegrowth import EnterpriseModel, outcomes

STAGES = {
    "government": ["act", "settle"],
    "demand": ["step"],
    "production": ["step"],
    "investment": ["plan", "install"],
    "credit": ["finance", "bank_costs"],
    "capital_market": ["venture_rounds", "update_premia", "ipos", "acquisitions"],
    "innovation": ["step"],
    "certification": ["update_unicorns", "review_little_giants"],
    "demography": ["insolvencies", "enter"],
    "accounts": ["begin_quarter"],
}


def stage_times(scale: float, quarters: int, seed: int) -> tuple[Counter, float]:
    model = EnterpriseModel(scale=scale, rng=seed)
    spent: Counter = Counter()

    def wrap(owner: object, name: str, label: str) -> None:
        method = getattr(owner, name, None)
        if method is None:
            return

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - t

        setattr(owner, name, timed)

    for attr, names in STAGES.items():
        owner = getattr(model, attr, None)
        for name in names:
            wrap(owner, name, f"{type(owner).__name__}.{name}")
    for name in ("_book_profit", "leave", "change_kind", "_plan"):
        wrap(model, name, f"EnterpriseModel.{name}")
    wrap(model.state, "compact", "FirmState.compact")
    collect = outcomes.collect

    def timed_collect(*args, **kwargs):
        t = time.perf_counter()
        try:
            return collect(*args, **kwargs)
        finally:
            spent["outcomes.collect"] += time.perf_counter() - t

    outcomes.collect = timed_collect
    t0 = time.perf_counter()
    try:
        model.run(quarters)
    finally:
        outcomes.collect = collect
    return spent, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--quarters", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--no-cprofile", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    EnterpriseModel(scale=args.scale, rng=args.seed)
    build = time.perf_counter() - t0
    spent, total = stage_times(args.scale, args.quarters, args.seed)
    print(
        f"scale {args.scale}, {args.quarters} quarters, seed {args.seed}: construction {build:.2f} s, "
        f"stepping {total:.2f} s\n"
    )
    print("stage (nested stages include their callees)      seconds   share")
    for label, seconds in spent.most_common():
        print(f"{label:48s} {seconds:8.2f} {100 * seconds / total:6.1f} %")
    if args.no_cprofile:
        return
    model = EnterpriseModel(scale=args.scale, rng=args.seed)
    profiler = cProfile.Profile()
    profiler.enable()
    model.run(args.quarters)
    profiler.disable()
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(args.top)
        print(f"\n--- cProfile, sorted by {key} ---")
        print(out.getvalue().split("\n\n", 1)[-1].rstrip())


if __name__ == "__main__":
    main()
