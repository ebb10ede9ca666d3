"""Calibrate a few behavioural parameters to the 2024 targets (rejection ABC, then SMM refinement).

The distance between model and data is a simulated-method-of-moments criterion on the targets of
``smegrowth/validation/targets.yaml``: for each chosen moment, z = (model − centre of the target
range) / (half-width of the range), so |z| <= 1 means the moment is inside its acceptance range;
one-sided targets (``≥ x``) give z = 0 when met and (x − model) / its tolerance otherwise. The
distance is D = Σ z² over the moments (a diagonal weighting by the width of each range).

1. **Rejection ABC**: a Latin hypercube of ``--points`` parameter vectors over the prior box
   (uniform), each run with ``--replicates`` seeds (the same seeds at every point: common random
   numbers) at ``--scale``; the best ``--accept`` share of points form the ABC sample, whose
   means and quantiles approximate the posterior.
2. **Search**: a second Latin hypercube, half as large, in the box the accepted points span.
3. **Refinement**: the ``--refine`` best points of stages 1–2 and the defaults, re-run with
   ``--refine-seeds`` seeds at ``--refine-scale``; the point with the smallest distance is the
   recommendation.
4. **Check**: the recommendation through the full validation (``--check-seeds`` runs at
   ``--check-scale``, 4 years), written to ``<out>/validation_best/``.

Writes ``samples.csv``, ``refinement.csv``, ``calibration.md``, ``best_parameters.yaml`` and
``fit.png`` to ``--out`` (default ``results/calibration``). With the defaults it takes about ten
minutes on two cores.

Usage:
    python experiments/calibrate.py [--points 300] [--replicates 3] [--scale 0.2] [--workers 2]
        [--param credit.pd_intercept=-5.8:-3.0 ...] [--moment approval_rate_mean ...]
        [--flow-years 1] [--out results/calibration]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.stats import qmc
from smegrowth.parameters import ParameterError, Parameters
from smegrowth.seeds import design_seed, replicate_seeds
from smegrowth.validation.report import provenance, run_validation
from smegrowth.validation.simulate import replicate_statistics
from smegrowth.validation.targets import Target, load_targets

ROOT_SEED = 20241014

DEFAULT_PARAMETERS: dict[str, tuple[float, float]] = {
    "population.venture_share": (0.01, 0.05),
    "certification.review_tolerance": (0.3, 0.9),
    "credit.pd_intercept": (-6.5, -4.0),
    "credit.max_pd": (0.01, 0.10),
}
"""Calibrated parameters and their prior ranges (uniform).

- ``population.venture_share`` sets how many SRDI SMEs are venture-backed, hence unicorn births.
  ``venture.hype_volatility`` moves the same moment (a probe: 65 -> 155 births a year from 0.06
  to 0.24) and no target separates the two, so it stays at its default.
- ``certification.review_tolerance`` sets how many little giants survive re-review, hence the net
  growth of the stock (the batch quota is sourced: 3,671 in 2023).
- ``credit.pd_intercept`` and ``credit.max_pd`` set who is refused credit and at what price: the
  loan rate, the share of firms with loans and, through rationed firms, insolvency exits.
"""

DEFAULT_MOMENTS: tuple[str, ...] = (
    "new_unicorns_per_year",
    "new_unicorns_share_ai_semis_energy",
    "little_giants_net_growth_per_year",
    "loan_rate_mean",
    "firms_with_loans_share",
    "little_giants_with_loans_share",
    "exit_rate_per_year",
)
"""Target statistics in the distance (flows of the first simulated year by default)."""


@dataclass(frozen=True)
class Moment:
    """A target statistic as a standardised deviation z."""

    statistic: str
    low: float
    high: float
    one_sided_scale: float

    @classmethod
    def from_target(cls, target: Target) -> Moment:
        low, high = target.bounds()
        scale = 0.1 * abs(low) if math.isfinite(low) else 0.1 * abs(high)
        if target.statistic == "new_unicorns_share_ai_semis_energy":
            scale = 0.06  # the binomial standard error given in the target's note
        if target.statistic == "little_giants_with_loans_share":
            scale = 0.05
        return cls(target.statistic, low, high, scale or 1.0)

    def z(self, value: float) -> float:
        if not np.isfinite(value):
            return math.nan
        if math.isfinite(self.low) and math.isfinite(self.high):
            half = (self.high - self.low) / 2.0
            return (value - (self.low + self.high) / 2.0) / half
        if math.isfinite(self.low):
            return min(0.0, (value - self.low) / self.one_sided_scale)
        return max(0.0, (value - self.high) / self.one_sided_scale)

    def describe(self) -> str:
        if math.isfinite(self.low) and math.isfinite(self.high):
            return f"[{self.low:g}, {self.high:g}]"
        return f"≥ {self.low:g}" if math.isfinite(self.low) else f"≤ {self.high:g}"


def distance(zs: np.ndarray) -> float:
    """Σ z² over the moments; a moment the run could not estimate (NaN) counts as z = 3."""
    zs = np.where(np.isfinite(zs), zs, 3.0)
    return float(np.sum(zs**2))


# --------------------------------------------------------------------------------------------
# Running points
# --------------------------------------------------------------------------------------------


def _task(args: tuple[int, dict[str, float], int, float, int, int]) -> tuple[int, int, dict]:
    point, parameters, seed, scale, quarters, flow_years = args
    try:
        stats = replicate_statistics(scale, seed, quarters, parameters, flow_years)
    except Exception as exc:  # noqa: BLE001 - a failing point is recorded, the search goes on
        stats = {"error": f"{type(exc).__name__}: {exc}"}
    return point, seed, stats


def evaluate(points: list[dict[str, float]], seeds: list[int], scale: float, quarters: int,
             flow_years: int, moments: list[Moment], pool: ProcessPoolExecutor | None,
             label: str) -> pd.DataFrame:
    """Run every point with every seed; one row per point with the replicate-mean moments."""
    tasks = [(i, p, s, scale, quarters, flow_years) for i, p in enumerate(points) for s in seeds]
    runs: dict[int, list[dict]] = {i: [] for i in range(len(points))}
    start = time.perf_counter()
    mapper = pool.map(_task, tasks, chunksize=4) if pool else map(_task, tasks)
    for k, (i, _, stats) in enumerate(mapper, start=1):
        runs[i].append(stats)
        if k % max(1, len(tasks) // 10) == 0 or k == len(tasks):
            print(f"  {label}: {k}/{len(tasks)} runs ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr)
    rows = []
    for i, point in enumerate(points):
        good = [r for r in runs[i] if "error" not in r]
        row: dict[str, object] = dict(point)
        row["n_runs"] = len(good)
        row["error"] = next((r["error"] for r in runs[i] if "error" in r), "")
        zs = []
        for m in moments:
            mean = _mean([r.get(m.statistic, math.nan) for r in good])
            row[m.statistic] = mean
            row[f"z_{m.statistic}"] = m.z(mean)
            zs.append(m.z(mean))
        row["distance"] = distance(np.array(zs)) if good else math.inf
        rows.append(row)
    return pd.DataFrame(rows)


def _mean(values: list[float]) -> float:
    """Mean of the finite values; NaN if there are none."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else math.nan


def lhs(bounds: dict[str, tuple[float, float]], n: int, seed: int) -> list[dict[str, float]]:
    """``n`` Latin-hypercube points in the box ``bounds``."""
    sampler = qmc.LatinHypercube(d=len(bounds), seed=seed)
    unit = sampler.random(n)
    lows = np.array([b[0] for b in bounds.values()])
    highs = np.array([b[1] for b in bounds.values()])
    values = qmc.scale(unit, lows, highs)
    return [dict(zip(bounds, map(float, row), strict=True)) for row in values]


def default_value(name: str) -> float:
    node: object = Parameters().model_dump()
    for part in name.split("."):
        node = node[part]  # type: ignore[index]
    return float(node)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    ax = abs(x)
    return (f"{x:,.0f}" if ax >= 100 else f"{x:.1f}" if ax >= 10 else f"{x:.3f}" if ax >= 0.1
            else f"{x:.4f}")


def write_figure(samples: pd.DataFrame, accepted: pd.DataFrame, best: dict[str, float],
                 bounds: dict[str, tuple[float, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(bounds)
    cols = min(len(names), 2 if len(names) == 4 else 3)
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4.0 * rows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        for stage, marker in (("abc", "o"), ("search", "^")):
            part = samples[samples["stage"] == stage]
            ax.semilogy(part[name], part["distance"], marker, ms=3, alpha=0.35, color="grey",
                        label=f"{stage} points")
        ax.semilogy(accepted[name], accepted["distance"], "o", ms=4, color="tab:blue",
                    label="ABC accepted")
        ax.axvline(default_value(name), color="black", ls=":", label="default")
        ax.axvline(best[name], color="tab:red", ls="-", label="recommended")
        ax.set_xlim(*bounds[name])
        ax.set_xlabel(name)
        ax.set_ylabel("distance Σ z² (log)")
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Calibration: distance to the targets against each parameter")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(path: Path, args: argparse.Namespace, bounds: dict[str, tuple[float, float]],
                 moments: list[Moment], samples: pd.DataFrame, accepted: pd.DataFrame,
                 refined: pd.DataFrame, best: pd.Series, default: pd.Series,
                 validation_md: str | None, elapsed: float) -> None:
    names = list(bounds)
    lines = [
        "# Calibration of the baseline", "",
        f"Rejection ABC on {args.points} Latin-hypercube points × {args.replicates} seeds at "
        f"scale {args.scale:g}, then a search of {len(samples) - args.points} points in the "
        f"accepted box, then the {args.refine} best points and the defaults re-run with "
        f"{args.refine_seeds} seeds at scale {args.refine_scale:g}. Flows of the first "
        f"{args.flow_years} simulated year(s). Distance D = Σ z², z = (model − centre of the "
        f"target range) / half-width (|z| ≤ 1: inside the range). {elapsed / 60:.1f} minutes on "
        f"{args.workers} worker(s). Model code: {provenance()}.", "",
        "## Parameters", "",
        "| parameter | prior (uniform) | default | ABC mean ± sd | ABC 10–90 % | recommended |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        acc = accepted[name]
        lines.append(
            f"| `{name}` | [{bounds[name][0]:g}, {bounds[name][1]:g}] | "
            f"{_fmt(default_value(name))} | {_fmt(acc.mean())} ± {_fmt(acc.std())} | "
            f"{_fmt(acc.quantile(0.1))} – {_fmt(acc.quantile(0.9))} | **{_fmt(best[name])}** |")
    eps = accepted["distance"].max()
    lines += ["", f"ABC: {len(accepted)} of {args.points} points accepted (ε = D ≤ {eps:.2f}).",
              "", "## Moments (refinement runs)", "",
              "| statistic | target | default | z | recommended | z |",
              "|---|---|---|---|---|---|"]
    for m in moments:
        s = m.statistic
        lines.append(f"| `{s}` | {m.describe()} | {_fmt(default[s])} | "
                     f"{default[f'z_{s}']:+.2f} | {_fmt(best[s])} | {best[f'z_{s}']:+.2f} |")
    lines += ["", f"Distance: default {default['distance']:.2f}, recommended "
                  f"{best['distance']:.2f} (refinement runs).", "",
              "## Refinement", "",
              "| rank | " + " | ".join(f"`{n}`" for n in names) + " | distance |",
              "|---|" + "---|" * len(names) + "---|"]
    for rank, (_, d) in enumerate(refined.iterrows(), start=1):
        label = "default" if d["candidate"] == "default" else str(rank)
        lines.append(f"| {label} | " + " | ".join(_fmt(d[n]) for n in names)
                     + f" | {d['distance']:.2f} |")
    lines += ["", "## Recommended overrides", "", "```yaml", "parameters:"]
    lines += [f"  {n}: {_round(best[n])}" for n in names]
    lines += ["```", ""]
    if validation_md:
        lines += ["## Validation with the recommended values", "",
                  validation_md.split("\n", 2)[2].strip(), ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _round(x: float) -> float:
    """Three significant digits: calibrated values are not known better than that."""
    return float(f"{x:.3g}")


# --------------------------------------------------------------------------------------------


def parse_bounds(items: list[str]) -> dict[str, tuple[float, float]]:
    if not items:
        return dict(DEFAULT_PARAMETERS)
    out = {}
    for item in items:
        name, sep, rng = item.partition("=")
        low, sep2, high = rng.partition(":")
        if not (sep and sep2):
            raise SystemExit(f"error: --param {item!r}: expected NAME=LOW:HIGH")
        out[name] = (float(low), float(high))
        if not out[name][0] < out[name][1]:
            raise SystemExit(f"error: --param {item!r}: LOW must be below HIGH")
        try:
            Parameters().override({name: out[name][0]})
            Parameters().override({name: out[name][1]})
        except ParameterError as exc:
            raise SystemExit(f"error: --param {item!r}: {exc}") from None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=300, help="ABC Latin-hypercube points")
    ap.add_argument("--replicates", type=int, default=3, help="seeds per point")
    ap.add_argument("--scale", type=float, default=0.2, help="scale of ABC and search runs")
    ap.add_argument("--accept", type=float, default=0.1, help="ABC acceptance share")
    ap.add_argument("--refine", type=int, default=6, help="points re-run in the refinement")
    ap.add_argument("--refine-seeds", type=int, default=8, help="seeds per refined point")
    ap.add_argument("--refine-scale", type=float, default=0.5, help="scale of refinement runs")
    ap.add_argument("--check-seeds", type=int, default=3, help="validation runs of the best")
    ap.add_argument("--check-scale", type=float, default=1.0, help="scale of the validation")
    ap.add_argument("--flow-years", type=int, default=1, help="years the flows average over")
    ap.add_argument("--workers", type=int, default=2, help="processes")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=LOW:HIGH",
                    help="parameter and prior range (repeatable; default: the four of "
                         "DEFAULT_PARAMETERS)")
    ap.add_argument("--moment", action="append", default=[], metavar="STATISTIC",
                    help="target statistic in the distance (repeatable)")
    ap.add_argument("--seed", type=int, default=ROOT_SEED, help="root seed")
    ap.add_argument("--out", default="results/calibration", help="output folder")
    args = ap.parse_args(argv)

    bounds = parse_bounds(args.param)
    targets = {t.statistic: t for t in load_targets()}
    wanted = args.moment or list(DEFAULT_MOMENTS)
    unknown = [m for m in wanted if m not in targets]
    if unknown:
        ap.error(f"--moment: no target for {unknown} (known: {sorted(targets)})")
    moments = [Moment.from_target(targets[m]) for m in wanted]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    quarters = 4 * args.flow_years
    start = time.perf_counter()

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=args.workers, mp_context=context) \
        if args.workers > 1 else None
    try:
        seeds = replicate_seeds(args.seed, args.replicates)
        print(f"stage 1: rejection ABC, {args.points} points x {len(seeds)} seeds at scale "
              f"{args.scale:g}", file=sys.stderr)
        abc = evaluate(lhs(bounds, args.points, design_seed(args.seed)), seeds, args.scale,
                       quarters, args.flow_years, moments, pool, "ABC")
        abc["stage"] = "abc"
        n_accept = max(2, int(round(args.accept * len(abc))))
        accepted = abc.nsmallest(n_accept, "distance")

        box = {}
        for name, (low, high) in bounds.items():
            pad = 0.1 * (high - low)
            box[name] = (max(low, accepted[name].min() - pad),
                         min(high, accepted[name].max() + pad))
        n_search = max(2, args.points // 2)
        print(f"stage 2: search, {n_search} points in the accepted box", file=sys.stderr)
        search = evaluate(lhs(box, n_search, design_seed(args.seed) + 1), seeds, args.scale,
                          quarters, args.flow_years, moments, pool, "search")
        search["stage"] = "search"
        samples = pd.concat([abc, search], ignore_index=True)
        samples.to_csv(out / "samples.csv", index=False)

        candidates = [
            {n: float(row[n]) for n in bounds}
            for _, row in samples.nsmallest(args.refine, "distance").iterrows()
        ]
        candidates.append({n: default_value(n) for n in bounds})
        refine_seeds = replicate_seeds(args.seed + 1, args.refine_seeds)
        print(f"stage 3: refinement, {len(candidates)} points x {len(refine_seeds)} seeds at "
              f"scale {args.refine_scale:g}", file=sys.stderr)
        refined = evaluate(candidates, refine_seeds, args.refine_scale, quarters,
                           args.flow_years, moments, pool, "refine")
    finally:
        if pool is not None:
            pool.shutdown()
    refined["candidate"] = ["search"] * (len(refined) - 1) + ["default"]
    default = refined.iloc[-1]
    refined = refined.sort_values("distance", kind="stable").reset_index(drop=True)
    refined.to_csv(out / "refinement.csv", index=False)
    best_row = refined[refined["candidate"] != "default"].iloc[0]
    best = {n: _round(float(best_row[n])) for n in bounds}
    (out / "best_parameters.yaml").write_text(
        "# Recommended by experiments/calibrate.py; see calibration.md\n"
        + yaml.safe_dump({"parameters": best}, sort_keys=False), encoding="utf-8")
    write_figure(samples, accepted, best, bounds, out / "fit.png")

    validation_md = None
    if args.check_seeds > 0:
        print(f"stage 4: validation of the recommended values, {args.check_seeds} runs at "
              f"scale {args.check_scale:g}", file=sys.stderr)
        check = run_validation(out=out / "validation_best", seeds=args.check_seeds,
                               scale=args.check_scale, years=4, workers=args.workers,
                               flow_years=args.flow_years, parameters=best)
        validation_md = check.files["md"].read_text(encoding="utf-8")
    elapsed = time.perf_counter() - start
    write_report(out / "calibration.md", args, bounds, moments, samples, accepted, refined,
                 best_row, default, validation_md, elapsed)
    print((out / "calibration.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
