"""Plots of sweep results and firm distributions, written as PNG.

Figures are built with matplotlib's object-oriented API (:class:`matplotlib.figure.Figure` with the
Agg canvas), so nothing here touches pyplot's global state or needs a display. Every function
returns the figure and, if ``path`` is given, saves it there as PNG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from . import analysis

DPI = 110


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return fig


def _grid(n: int, ncols: int = 3) -> tuple[int, int]:
    ncols = min(ncols, max(n, 1))
    return math.ceil(n / ncols), ncols


def _human(x: float, _pos: Any = None) -> str:
    ax = abs(x)
    for scale, suffix in ((1e12, "T"), (1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if ax >= scale:
            return f"{x / scale:g}{suffix}"
    return f"{x:g}"


def _title(name: str) -> str:
    return name.replace("_", " ")


def _policy_colours(policies: Sequence[str], baseline: str | None) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    others = [p for p in policies if p != baseline]
    colours = {p: cmap(i % 10 + (1 if baseline else 0)) for i, p in enumerate(others)}
    if baseline in policies:
        colours[baseline] = "black"
    return colours


def _quarter_ticks(ax: Any, steps: np.ndarray, labels: Sequence[str]) -> None:
    every = max(1, math.ceil(len(steps) / 6))
    ax.set_xticks(steps[::every], [str(q) for q in labels][::every], rotation=0, fontsize=8)


def plot_paths(source: Any, outcomes: Sequence[str], path: str | Path | None = None,
               baseline: str = "baseline", alpha: float = 0.05) -> Figure:
    """Mean path of each outcome per policy with a band for the (1 - alpha) CI of the mean
    across runs; one panel per outcome, the baseline in black."""
    res = analysis.as_results(source)
    n_rows, n_cols = _grid(len(outcomes))
    fig = _figure(4.2 * n_cols, 3.0 * n_rows + 0.5)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    colours = _policy_colours(res.policies, baseline)
    for ax, outcome in zip(axes, outcomes, strict=False):
        paths = analysis.outcome_paths(res, outcome, alpha)
        for policy, p in paths.groupby("policy", sort=False):
            p = p.sort_values("step")
            c = colours.get(policy, None)
            lw = 2.0 if policy == baseline else 1.5
            ax.plot(p["step"], p["mean"], color=c, lw=lw, label=policy)
            ax.fill_between(p["step"], p["ci_low"], p["ci_high"], color=c, alpha=0.18, lw=0)
        ticks = paths.drop_duplicates("step").sort_values("step")
        _quarter_ticks(ax, ticks["step"].to_numpy(), ticks["quarter"].tolist())
        ax.set_title(_title(outcome), fontsize=10)
        ax.yaxis.set_major_formatter(FuncFormatter(_human))
        ax.grid(alpha=0.3)
    return _finish_panels(fig, axes, len(outcomes),
                          f"Outcome paths per policy (mean, {100 * (1 - alpha):.0f}% CI across runs)", path)


def _finish_panels(fig: Figure, axes: np.ndarray, used: int, title: str, path: str | Path | None) -> Figure:
    """Hide unused panels, add one shared policy legend below and the title, and save."""
    for ax in axes[used:]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), frameon=False)
    fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_effect_paths(source: Any, outcomes: Sequence[str], path: str | Path | None = None,
                      baseline: str = "baseline", alpha: float = 0.05) -> Figure:
    """Effect of each policy against the baseline quarter by quarter (% of the baseline mean),
    with its paired CI band; one panel per outcome."""
    res = analysis.as_results(source)
    n_rows, n_cols = _grid(len(outcomes))
    fig = _figure(4.2 * n_cols, 3.0 * n_rows + 0.5)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    colours = _policy_colours(res.policies, baseline)
    for ax, outcome in zip(axes, outcomes, strict=False):
        paths = analysis.effect_paths(res, outcome, baseline, alpha)
        for policy, p in paths.groupby("policy", sort=False):
            p = p.sort_values("step")
            c = colours.get(policy)
            ax.plot(p["step"], p["rel_change_pct"], color=c, lw=1.6, label=policy)
            ax.fill_between(p["step"], p["rel_ci_low"], p["rel_ci_high"], color=c, alpha=0.2, lw=0)
        ax.axhline(0, color="black", lw=0.8)
        ticks = paths.drop_duplicates("step").sort_values("step")
        _quarter_ticks(ax, ticks["step"].to_numpy(), ticks["quarter"].tolist())
        ax.set_title(_title(outcome), fontsize=10)
        ax.set_ylabel("% vs baseline", fontsize=8)
        ax.grid(alpha=0.3)
    return _finish_panels(fig, axes, len(outcomes),
                          f"Effect against '{baseline}' over time ({100 * (1 - alpha):.0f}% CI, paired)", path)


def plot_effects(comparison: pd.DataFrame, path: str | Path | None = None) -> Figure:
    """Lever × outcome dot-and-whisker grid: relative effect (% of the baseline mean) with its CI,
    one panel per outcome, one row per policy. Filled dots are significant after Holm."""
    outcomes = list(dict.fromkeys(comparison["outcome"]))
    policies = list(dict.fromkeys(comparison.sort_values("rank", kind="stable")["policy"]))
    n_rows, n_cols = _grid(len(outcomes), 4)
    fig = _figure(3.2 * n_cols + 1.0, max(1.8, 0.45 * len(policies) + 1.0) * n_rows + 0.4)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False, sharey=True)).ravel()
    y = {p: i for i, p in enumerate(reversed(policies))}
    for ax, outcome in zip(axes, outcomes, strict=False):
        sub = comparison[comparison["outcome"] == outcome]
        for _, row in sub.iterrows():
            yi = y[row["policy"]]
            sig = row.get("p_holm", np.nan) < 0.05
            colour = "tab:blue" if row["rel_change_pct"] >= 0 else "tab:red"
            ax.errorbar(row["rel_change_pct"], yi, capsize=3, color=colour, lw=1.4,
                        xerr=[[row["rel_change_pct"] - row["rel_ci_low"]],
                              [row["rel_ci_high"] - row["rel_change_pct"]]], fmt="none")
            ax.plot(row["rel_change_pct"], yi, "o", ms=6, color=colour,
                    mfc=colour if sig else "white")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(list(y.values()), list(y.keys()), fontsize=9)
        ax.set_ylim(-0.6, len(policies) - 0.4)
        ax.set_title(_title(outcome), fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+.3g}%"))
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    fig.suptitle("Effect against the baseline, % of baseline mean (95% CI; filled = significant "
                 "after Holm)", fontsize=10)
    return _save(fig, path)


def growth_rates(firms: pd.DataFrame, earlier: pd.DataFrame | None = None) -> np.ndarray:
    """Annual log growth of revenue, ``log(annual revenue / annual revenue a year earlier)``, for
    active firms at least a year old with positive revenue in both years.

    ``firms`` is a snapshot from ``EnterpriseModel.firm_table()``. With ``earlier`` (a snapshot a
    year before; rows are matched by index) the two are compared; otherwise the lagged-revenue
    columns are used (``revenue_lag8`` when the snapshot falls just after the year-end roll-over,
    where ``revenue_lag4`` already equals this year's revenue). Entrants' lags are synthetic, so
    firms younger than a year are left out.
    """
    keep = np.ones(len(firms), dtype=bool)
    if "status" in firms:
        keep &= (firms["status"].astype(str) == "active").to_numpy()
    if "age_years" in firms:
        keep &= (firms["age_years"] >= 1.0).to_numpy()
    f = firms.loc[keep]
    now = f["annual_revenue"]
    if earlier is not None:
        before = earlier["annual_revenue"].reindex(f.index)
    else:
        rolled = np.isclose(f["revenue_lag4"], now).mean() > 0.5 if len(f) else False
        before = f["revenue_lag8" if rolled else "revenue_lag4"]
    ok = (now > 0) & (before > 0)
    return np.log(now[ok].to_numpy() / before[ok].to_numpy())


def _ccdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.sort(x[np.isfinite(x) & (x > 0)])
    p = 1.0 - np.arange(x.size) / x.size
    return x, p


def plot_size_distribution(firms: pd.DataFrame, path: str | Path | None = None) -> Figure:
    """Complementary CDF P(X ≥ x) of firm size on log-log axes, for annual revenue (m yuan) and
    employees of active firms; a straight tail is the Zipf/Pareto signature (FACTS.md §8)."""
    active = firms["status"].astype(str) == "active" if "status" in firms else slice(None)
    f = firms.loc[active]
    fig = _figure(9.0, 3.8)
    axes = fig.subplots(1, 2)
    for ax, col, label in ((axes[0], "annual_revenue", "annual revenue (m yuan)"),
                           (axes[1], "employees", "employees")):
        x, p = _ccdf(f[col].to_numpy(dtype=float))
        ax.loglog(x, p, ".", ms=2.5, color="tab:blue")
        ax.set_xlabel(label)
        ax.set_ylabel("P(X ≥ x)")
        ax.grid(alpha=0.3, which="both")
        ax.set_title(f"{label.split(' (')[0]}: n = {x.size:,}", fontsize=10)
    fig.suptitle("Firm-size distribution (complementary CDF, active firms)", fontsize=11)
    return _save(fig, path)


def plot_growth_rates(growth: np.ndarray, path: str | Path | None = None, bins: int = 60) -> Figure:
    """Histogram of firm growth rates with a log density axis; a tent shape is the Laplace
    signature of firm growth (Bottazzi and Secchi; FACTS.md §8)."""
    g = np.asarray(growth, dtype=float)
    g = g[np.isfinite(g)]
    fig = _figure(6.0, 3.8)
    ax = fig.subplots()
    if g.size:
        dens, edges = np.histogram(g, bins=bins, density=True)
        centres = 0.5 * (edges[1:] + edges[:-1])
        keep = dens > 0
        ax.semilogy(centres[keep], dens[keep], "o", ms=3.5, color="tab:blue")
        ax.set_title(f"n = {g.size:,}, sd = {g.std():.3f}", fontsize=10)
    ax.set_xlabel("growth rate (log change)")
    ax.set_ylabel("density (log scale)")
    ax.grid(alpha=0.3, which="both")
    fig.suptitle("Growth-rate distribution", fontsize=11)
    return _save(fig, path)


def plot_sensitivity(indices: pd.DataFrame, path: str | Path | None = None) -> Figure:
    """Bar chart of sensitivity indices, one panel per outcome: Sobol S1 and ST with their
    confidence half-widths, or Morris mu* with its confidence and sigma."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    sobol = "ST" in indices.columns
    n_rows, n_cols = _grid(len(outcomes), 3)
    n_par = indices["parameter"].nunique()
    fig = _figure(max(4.0, 0.5 * n_par + 2.5) * n_cols, 3.4 * n_rows + 0.4)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    for ax, outcome in zip(axes, outcomes, strict=False):
        sub = indices[indices["outcome"] == outcome]
        if "policy" in sub and sub["policy"].nunique() > 1:
            sub = sub[sub["policy"] == sub["policy"].iloc[0]]
        x = np.arange(len(sub))
        if sobol:
            w = 0.38
            ax.bar(x - w / 2, sub["S1"], w, yerr=sub["S1_conf"], capsize=2,
                   label="S1 (first order)", color="tab:blue")
            ax.bar(x + w / 2, sub["ST"], w, yerr=sub["ST_conf"], capsize=2, label="ST (total)",
                   color="tab:orange")
            ax.set_ylim(bottom=min(0.0, float(np.nanmin(sub["S1"] - sub["S1_conf"]))))
        else:
            w = 0.38
            ax.bar(x - w / 2, sub["mu_star"], w, yerr=sub["mu_star_conf"], capsize=2,
                   label="mu* (mean |effect|)", color="tab:blue")
            ax.bar(x + w / 2, sub["sigma"], w, label="sigma (interactions)", color="tab:orange")
            ax.yaxis.set_major_formatter(FuncFormatter(_human))
        ax.set_xticks(x, [str(p) for p in sub["parameter"]], rotation=35, ha="right", fontsize=8)
        ax.set_title(_title(outcome), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(("Sobol" if sobol else "Morris") + " sensitivity indices", fontsize=11)
    return _save(fig, path)
