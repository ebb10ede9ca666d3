"""Where a run spends its time: wall time per stage of the quarter, then cProfile's top functions.

    python benchmarks/profile_run.py                       # scale 1.0, 40 quarters, seed 7
    python benchmarks/profile_run.py --scale 0.1 --top 30
    python benchmarks/profile_run.py --fixed-cost          # the fixed cost of a quarter (~1 min)

Stage times come from wrapping the stage methods of one model (no profiler overhead; nested stages
such as ``Demography.enter`` include what they call). cProfile then runs a second, identical model;
its overhead inflates functions with many small calls, so read its shares as a ranking. For a
sampling profile without that bias: ``py-spy record -f raw -o run.raw -- python benchmarks/profile_run.py
--no-cprofile`` (py-spy is a profiling tool, not a dependency of the project).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import time
from collections import Counter

import numpy as np
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


def fixed_cost(scales: list[float], quarters: int, seed: int, rounds: int) -> None:
    """The cost of a quarter as fixed cost + cost per active firm: a least-squares line through the
    CPU time per quarter against the active firms, at small scales where the fixed cost shows, in one
    warm process, the scales alternating within each of ``rounds`` rounds (medians over rounds).
    Flatness (section b of ``run_all.py``) is about 1 + fixed / (firms at scale 0.1 x cost per firm)."""
    from smegrowth.runner import release

    EnterpriseModel(scale=0.02, rng=seed + 1).run(4)  # numba's start-up and loading, not measured
    per_scale: dict[float, list[tuple[float, float]]] = {s: [] for s in scales}
    for _ in range(rounds):
        for scale in scales:
            model = EnterpriseModel(scale=scale, rng=seed)
            firms = 0
            start = time.process_time()
            for _ in range(quarters):
                firms += int(model.state.active().sum())
                model.step()
            per_scale[scale].append(((time.process_time() - start) / quarters, firms / quarters))
            release(model)
            del model
            gc.collect()
    print("scale    mean active firms   CPU per quarter   per firm-quarter")
    xs, ys = [], []
    for scale, samples in per_scale.items():
        cpu, firms = statistics.median(c for c, _ in samples), statistics.median(f for _, f in samples)
        xs.append(firms)
        ys.append(cpu)
        print(f"{scale:<8g} {firms:17,.0f} {1e3 * cpu:14.3f} ms {1e6 * cpu / firms:14.3f} us")
    slope, intercept = np.polyfit(xs, ys, 1)
    print(f"\nfixed cost of a quarter {1e3 * intercept:.3f} ms; cost per active firm {1e6 * slope:.3f} us")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--quarters", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--no-cprofile", action="store_true")
    ap.add_argument(
        "--fixed-cost",
        action="store_true",
        help="fit CPU time per quarter = fixed cost + cost per firm at scales 0.001-0.03 (3 rounds)",
    )
    args = ap.parse_args()
    if args.fixed_cost:
        fixed_cost([0.001, 0.003, 0.01, 0.03], args.quarters, args.seed, rounds=3)
        return

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
