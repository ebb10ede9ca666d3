"""The validation of the baseline: replicate runs, the table against the targets and a figure panel.

:func:`run_validation` runs the baseline over several seeds (on a process pool), computes the
statistics of :mod:`smegrowth.validation.simulate` for each, compares their means with
``targets.yaml`` (:func:`smegrowth.validation.compare`) and writes, to the output folder:

- ``validation.csv``: one row per target, with the acceptance range, the model's mean and
  standard deviation over runs, pass/fail, and for flows the mean over all simulated years;
- ``validation.md``: the same as a Markdown table with a short source per target;
- ``statistics.csv``: every statistic (diagnostics included) of every run;
- ``panel.png``: size CCDFs with the fitted Pareto tails, the growth-rate density against Laplace
  and normal fits, σ(g | S) against size, exit and growth by age, and tier counts over time.

Used by ``experiments/validate.py`` and the ``smegrowth validate`` command.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import math
import multiprocessing
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from smegrowth.seeds import replicate_seeds
from smegrowth.store import atomic_write_all
from smegrowth.validation.simulate import ReplicateResult, run_replicate
from smegrowth.validation.targets import Target, compare, load_targets

__all__ = ["ROOT_SEED", "Validation", "run_replicates", "run_validation", "validation_table",
           "write_markdown", "write_panel"]

ROOT_SEED = 20241014
"""Root seed of the validation replicates (the baseline scenario's seed)."""


def run_replicates(
    scale: float,
    seeds: Sequence[int],
    quarters: int = 16,
    parameters: Mapping[str, Any] | None = None,
    workers: int = 2,
    flow_years: int = 1,
    progress: Callable[[ReplicateResult], None] | None = None,
) -> list[ReplicateResult]:
    """One baseline run per seed, on ``workers`` processes (in this process when 1).

    Results come back in the order of ``seeds``.
    """
    job = partial(run_replicate, scale, quarters=quarters, parameters=dict(parameters or {}),
                  flow_years=flow_years)
    results: list[ReplicateResult] = []
    if workers <= 1 or len(seeds) <= 1:
        for seed in seeds:
            results.append(job(seed))
            if progress:
                progress(results[-1])
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(seeds)), mp_context=context) as pool:
        for result in pool.map(job, seeds):
            results.append(result)
            if progress:
                progress(result)
    return results


def validation_table(results: Sequence[ReplicateResult],
                     targets: Sequence[Target] | None = None) -> pd.DataFrame:
    """The comparison of :func:`~smegrowth.validation.compare`, plus for flow statistics the
    mean over all simulated years (``model_mean_all_years``) and whether that passes too."""
    targets = list(targets if targets is not None else load_targets())
    names = sorted({k for r in results for k in r.statistics})
    values = {k: [r.statistics.get(k, math.nan) for r in results] for k in names}
    table = compare(targets, values)
    all_years, pass_all = [], []
    for target in targets:
        vals = np.asarray(values.get(f"{target.statistic}_all_years", []), dtype=float)
        vals = vals[~np.isnan(vals)]
        if vals.size:
            mean = float(vals.mean())
            all_years.append(mean)
            pass_all.append(target.passes(mean))
        else:
            all_years.append(math.nan)
            pass_all.append(None)
    table.insert(table.columns.get_loc("n_runs"), "model_mean_all_years", all_years)
    table.insert(table.columns.get_loc("n_runs"), "passed_all_years",
                 pd.array(pass_all, dtype="boolean"))
    return table


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _short_source(text: str, limit: int = 70) -> str:
    """The first citation of a source (up to a top-level ';'), cut to ``limit`` characters."""
    depth, end = 0, len(text)
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth == 0:
            end = i
            break
    first = text[:end].strip()
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def write_markdown(table: pd.DataFrame, path: Path, header: str = "") -> None:
    """``validation.md``: target, source, acceptance range, model mean ± sd, pass/fail."""
    lines = [header.rstrip(), ""] if header else []
    lines += [
        "| target | statistic | source | target range | model mean ± sd | pass | all years "
        "| pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        sd = "" if math.isnan(row.model_sd) else f" ± {_fmt(row.model_sd)}"
        passed = "–" if pd.isna(row.passed) else ("pass" if row.passed else "**fail**")
        if pd.isna(row.passed_all_years):
            all_years, passed_all = "", ""
        else:
            all_years = _fmt(row.model_mean_all_years)
            passed_all = "pass" if row.passed_all_years else "**fail**"
        lines.append(f"| {row.name} | `{row.statistic}` | {_short_source(row.source)} | "
                     f"{row.target} | {_fmt(row.model_mean)}{sd} | {passed} | {all_years} | "
                     f"{passed_all} |")
    n_pass = int(table["passed"].fillna(False).sum())
    lines += ["", f"{n_pass} of {len(table)} targets pass (the mean over runs lies in the range)."]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Figure panel
# --------------------------------------------------------------------------------------------


def _ccdf(ax: Any, values: np.ndarray, fit: Any, label: str, colour: str) -> None:
    x = np.sort(values[np.isfinite(values) & (values > 0)])
    if x.size == 0:
        return
    median = float(np.median(x))
    n = x.size
    surv = 1.0 - np.arange(n) / n
    # every rank in the upper tail, thinning geometrically towards the body
    keep = np.unique(n - np.geomspace(1, n, 600).astype(int))
    ax.loglog(x[keep] / median, surv[keep], ".", ms=3, color=colour, alpha=0.6, label=label)
    if fit is not None:
        share = fit.n_tail / n
        xs = np.geomspace(fit.xmin, x[-1], 50)
        ax.loglog(xs / median, share * (xs / fit.xmin) ** (-fit.ccdf_exponent), "-", color=colour,
                  lw=1.5, label=f"Pareto fit, ζ = {fit.ccdf_exponent:.2f} (x ≥ {fit.xmin:,.0f})")


def write_panel(results: Sequence[ReplicateResult], path: Path, title: str = "") -> None:
    """The six-plot validation figure (see the module docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    first = results[0]

    # (a) size CCDFs, relative to the median, with the fitted tails
    ax = axes[0, 0]
    _ccdf(ax, first.sizes["annual_revenue"].to_numpy(float), first.tails.get("revenue"),
          "annual revenue", "tab:blue")
    _ccdf(ax, first.sizes["employees"].to_numpy(float), first.tails.get("employment"),
          "employees", "tab:orange")
    ax.set_xlabel("size / median size")
    ax.set_ylabel("P(S > s)")
    ax.set_title("(a) Size distribution, 2025Q4 (run 1)\ntarget: Zipf exponent ζ in [0.9, 1.5]")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)

    # (b) growth-rate density, log scale, with Laplace and normal fits
    ax = axes[0, 1]
    g = np.concatenate([r.growth["growth_demeaned"].to_numpy(float) for r in results])
    g = g[np.isfinite(g)]
    if g.size >= 10:
        lo, hi = np.quantile(g, [0.0005, 0.9995])
        edges = np.linspace(lo, hi, 81)
        dens, _ = np.histogram(g, bins=edges, density=True)
        mids = 0.5 * (edges[1:] + edges[:-1])
        ok = dens > 0
        ax.semilogy(mids[ok], dens[ok], "o", ms=3, color="black", label="model (all runs)")
        xs = np.linspace(lo, hi, 400)
        loc, scale = stats.laplace.fit(g)
        ax.semilogy(xs, stats.laplace.pdf(xs, loc, scale), "-", color="tab:red",
                    label=f"Laplace fit (b = {scale:.3f})")
        mu, sd = stats.norm.fit(g)
        ax.semilogy(xs, stats.norm.pdf(xs, mu, sd), "--", color="tab:blue",
                    label=f"normal fit (σ = {sd:.3f})")
        ax.set_ylim(max(dens[ok].min() / 3, 1e-4), dens.max() * 3)
        shape = np.nanmean([r.statistics.get("subbotin_shape", np.nan) for r in results])
        ax.text(0.03, 0.95, f"Subbotin shape = {shape:.2f}\n(1 Laplace, 2 normal)",
                transform=ax.transAxes, va="top", fontsize=9)
    ax.set_xlabel("annual log growth of revenue, demeaned by year")
    ax.set_ylabel("density (log scale)")
    ax.set_title("(b) Growth rates are tent-shaped\ntarget: Laplace preferred, shape in [0.5, 1.5]")
    ax.legend(fontsize=8, loc="upper right")

    # (c) volatility against size
    ax = axes[0, 2]
    betas = []
    for i, r in enumerate(results):
        t = r.volatility
        if len(t):
            ax.loglog(np.exp(t["mean_log_size"]), t["sigma"], "o", ms=4, alpha=0.7,
                      label="binned runs" if i == 0 else None, color="tab:green")
        betas.append(r.statistics.get("volatility_beta", np.nan))
    if len(first.volatility):
        t = first.volatility
        beta = float(np.nanmean(betas))
        xs = np.exp(np.linspace(t["mean_log_size"].min(), t["mean_log_size"].max(), 20))
        centre = np.exp(t["mean_log_size"].mean())
        level = np.exp(np.log(t["sigma"]).mean())
        ax.loglog(xs, level * (xs / centre) ** (-beta), "-", color="black",
                  label=f"σ ∝ S^−β, β = {beta:.2f}")
        ax.loglog(xs, level * (xs / centre) ** (-0.19), ":", color="grey",
                  label="β = 0.19 (Amaral et al. 1997)")
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2f"))
    ax.set_xlabel("revenue at the start of the year, m yuan")
    ax.set_ylabel("s.d. of annual log growth")
    ax.set_title("(c) Volatility falls with size\ntarget: β in [0.1, 0.3]")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)

    # (d) exit rate by age, (e) growth by age
    tables = [r.by_age for r in results]
    labels = list(tables[0].index.astype(str))
    pos = np.arange(len(labels))
    exit_rates = np.vstack([t["exit_rate"].to_numpy(float) for t in tables])
    ax = axes[1, 0]
    ax.bar(pos, 100 * np.nanmean(exit_rates, axis=0),
           yerr=100 * np.nanstd(exit_rates, axis=0) if len(tables) > 1 else None,
           color="tab:red", alpha=0.75, capsize=3)
    ax.set_xticks(pos, labels)
    ax.set_xlabel("firm age at the start of the year, years")
    ax.set_ylabel("insolvency exits, % a year")
    ratio = np.nanmean([r.statistics.get("exit_rate_young_vs_old", np.nan) for r in results])
    ax.set_title(f"(d) Exit by age (young/old ratio {ratio:.2f})\n"
                 "target: firms < 5 years exit more than firms ≥ 10")

    ax = axes[1, 1]
    means = np.vstack([t["mean_growth"].to_numpy(float) for t in tables])
    sds = np.vstack([t["growth_sd"].to_numpy(float) for t in tables])
    with warnings.catch_warnings():  # age classes without growth rates (the youngest)
        warnings.simplefilter("ignore", RuntimeWarning)
        ax.plot(pos, 100 * np.nanmean(means, axis=0), "o-", color="tab:purple",
                label="mean growth (demeaned), %")
        ax.plot(pos, 100 * np.nanmean(sds, axis=0), "s--", color="tab:gray",
                label="s.d. of growth, %")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xticks(pos, labels)
    ax.set_xlabel("firm age at the start of the year, years")
    ax.set_ylabel("log points × 100")
    ax.set_title("(e) Growth by age\ntarget: young grow faster and more dispersed")
    ax.legend(fontsize=8)

    # (f) tier counts over time
    ax = axes[1, 2]
    frames = [r.timeseries for r in results]
    quarters = frames[0]["quarter"].astype(str).to_list()
    x = np.arange(len(quarters))
    for col, label, colour in (("srdi_firms", "SRDI SMEs (incl. LGs)", "tab:blue"),
                               ("little_giants", "little giants", "tab:orange"),
                               ("unicorns", "unicorns", "tab:purple")):
        vals = np.vstack([f[col].to_numpy(float) for f in frames])
        ax.semilogy(x, vals.mean(axis=0), "-", color=colour, label=label)
        ax.fill_between(x, vals.min(axis=0), vals.max(axis=0), color=colour, alpha=0.2)
    for value, colour in ((141_000, "tab:blue"), (14_600, "tab:orange"), (358, "tab:purple")):
        ax.plot([0], [value], "*", color=colour, ms=10)
    step = max(1, len(quarters) // 8)
    ax.set_xticks(x[::step], quarters[::step], rotation=30, fontsize=8)
    ax.set_ylabel("firms, national total (log scale)")
    ax.set_title("(f) Tier counts over time (band: range over runs)\n"
                 "stars: 2024 figures (141,000; 14,600; 358)")
    ax.legend(fontsize=8, loc="center right")
    ax.grid(True, which="major", alpha=0.3)

    if title:
        fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# The whole validation
# --------------------------------------------------------------------------------------------


@dataclass
class Validation:
    """The outcome of :func:`run_validation`."""

    table: pd.DataFrame
    results: list[ReplicateResult]
    statistics: pd.DataFrame
    files: dict[str, Path]
    elapsed: float

    @property
    def n_passed(self) -> int:
        return int(self.table["passed"].fillna(False).sum())


def provenance() -> str:
    """Which model code made the runs: the package folder and its git commit (``+`` if dirty)."""
    import smegrowth
    from smegrowth.sweep import git_state

    where = Path(smegrowth.__file__).resolve().parent
    state = git_state()
    if state.get("commit"):
        commit = state["commit"][:10] + (" with uncommitted changes" if state.get("dirty") else "")
    else:
        commit = "not a git checkout"
    return f"smegrowth {smegrowth.__version__} from {where} ({commit})"


def run_validation(
    out: str | Path = "results/validation",
    seeds: int = 5,
    scale: float = 1.0,
    years: int = 4,
    workers: int = 2,
    flow_years: int = 1,
    root_seed: int = ROOT_SEED,
    parameters: Mapping[str, Any] | None = None,
    targets: Sequence[Target] | str | Path | None = None,
    figure: bool = True,
    progress: Callable[[ReplicateResult], None] | None = None,
) -> Validation:
    """Run the baseline ``seeds`` times and write the validation table and panel to ``out``.

    Args:
        out: output folder (created).
        seeds: number of replicate runs; seeds come from ``SeedSequence(root_seed)``.
        scale: population scale (1.0 = national).
        years: simulated years from 2024Q4 (at least 1; growth statistics need 2).
        workers: processes running replicates in parallel.
        flow_years: simulated years the flow statistics average over (1: the calendar year 2025).
        root_seed: root of the replicate seeds.
        parameters: behavioural parameter overrides by dotted name.
        targets: a list of targets, or a targets YAML file; default the packaged ``targets.yaml``.
        figure: whether to draw ``panel.png``.
        progress: called with each finished replicate.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if years < 1:
        raise ValueError(f"years must be at least 1, got {years}")
    if not (0 < scale <= 10):
        raise ValueError(f"scale must be in (0, 10], got {scale}")
    if isinstance(targets, str | Path):
        targets = load_targets(targets)
    target_list = list(targets) if targets is not None else load_targets()
    folder = Path(out)
    files = {"csv": folder / "validation.csv", "md": folder / "validation.md",
             "statistics": folder / "statistics.csv"}
    if figure:
        files["panel"] = folder / "panel.png"
    with _removed_unless_written(folder):
        _check_writable(files.values())  # before the runs, which may take minutes
        start = time.perf_counter()
        seed_list = replicate_seeds(root_seed, seeds)
        results = run_replicates(scale, seed_list, quarters=4 * years, parameters=parameters,
                                 workers=workers, flow_years=min(flow_years, years), progress=progress)
        _check_statistics(target_list, {k for r in results for k in r.statistics})
        table = validation_table(results, target_list)
        statistics = pd.DataFrame([{"seed": r.seed, **r.statistics} for r in results])

        flows = "2025" if flow_years == 1 else f"the first {min(flow_years, years)} simulated years"
        header = (f"# Validation of the baseline\n\n{seeds} run(s) at scale {scale:g}, {years} "
                  f"simulated year(s) from 2024Q4, root seed {root_seed}. Model mean ± s.d. over runs; "
                  f"a target passes when the mean lies in its range. Flows are for {flows}; "
                  f"'all years' is the mean over every simulated year. Tails at 2025Q4; growth "
                  f"statistics from calendar-year revenue, 2026 on.")
        header += f"\n\nModel code: {provenance()}."
        if parameters:
            header += "\n\nParameter overrides: " + ", ".join(f"`{k} = {v}`"
                                                              for k, v in parameters.items())
        writers: dict[Path, Callable[[Path], Any]] = {
            files["csv"]: partial(table.to_csv, index=False),
            files["statistics"]: partial(statistics.to_csv, index=False),
            files["md"]: lambda path: write_markdown(table, path, header),
        }
        if figure:
            title = f"smegrowth baseline: stylised facts ({seeds} run(s), scale {scale:g})"
            writers[files["panel"]] = lambda path: write_panel(results, path, title=title)
        atomic_write_all(writers)  # all four files or none
        return Validation(table, results, statistics, files, time.perf_counter() - start)


def _check_statistics(targets: Sequence[Target], known: set[str]) -> None:
    """Raise ``ValueError`` for a target whose statistic the runs did not compute (a misspelt name
    would otherwise show as a target without a model value)."""
    for target in targets:
        if target.statistic not in known:
            close = difflib.get_close_matches(target.statistic, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"target '{target.name}': the model computes no statistic "
                             f"'{target.statistic}'{hint}")


@contextlib.contextmanager
def _removed_unless_written(folder: Path) -> Iterator[None]:
    """Remove ``folder`` again if it is made inside and left empty by an error (a target naming a
    statistic the model does not compute is found only once the runs are made)."""
    made = not folder.exists()
    try:
        yield
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _check_writable(paths: Iterable[Path]) -> None:
    """Create the folders of ``paths`` and make (and remove) a file in each, so that a folder that
    cannot be written to is found before the runs; raise ``OSError`` naming the path at fault."""
    paths = list(paths)
    for folder in dict.fromkeys(path.parent for path in paths):
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(folder))
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror or str(exc), str(folder)) from None
    for path in paths:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
