"""Comparing policy levers: paired effects against the baseline, cost-effectiveness, breakdowns.

A sweep leaves a results folder (``runs.parquet``, ``timeseries.parquet``, ``manifest.json``).
Every policy shares its seeds with the baseline for the same ``(sample, replicate)`` (common random
numbers), so each policy run is differenced against its baseline twin and the effect is estimated
from the paired differences: mean, t-interval, paired t-test, and a Holm correction across all the
comparisons made in one table. If the seeds do not match, the runs are not paired and a Welch
two-sample interval and test are used instead (column ``test``).

Money is million yuan at national scale; fiscal cost is the policy's extra spending over the whole
horizon relative to the baseline, and cost-effectiveness divides it by the effect:

* per additional little giant: ``little_giants`` at the end (net stock of certified firms);
* per additional unicorn: ``new_unicorns_total`` (unicorns created; the stock falls when they list);
* per additional job: ``employment`` at the end;
* per 100 m yuan of additional revenue: ``revenue_total`` over the horizon.

A ratio is ``NaN`` (shown as ``n/a``) when the effect is not positive.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

KEY_OUTCOMES: tuple[str, ...] = (
    "little_giants", "unicorns", "new_unicorns_total", "employment", "revenue_total", "patents",
    "exits_total",
)
"""Outcomes compared by default (those present in the results)."""

COST_EFFECTIVENESS: dict[str, tuple[str, float]] = {
    "cost_per_little_giant": ("little_giants", 1.0),
    "cost_per_unicorn": ("new_unicorns_total", 1.0),
    "cost_per_job": ("employment", 1.0),
    "cost_per_100m_revenue": ("revenue_total", 100.0),
}
"""Cost-effectiveness column -> (outcome whose effect is the denominator, units of that outcome)."""

KIND_OUTCOMES: tuple[str, ...] = ("smes", "little_giants", "unicorns")
PAIR_KEYS: tuple[str, ...] = ("sample", "replicate")
TIMING_COLUMNS = ("elapsed_s", "config_hash")
"""Runs-table columns on how a run was made (:data:`smegrowth.runner.TIMING_COLUMNS`)."""
RUNS_REQUIRED = ("run_id", "policy")
"""Columns ``runs.parquet`` must have (``sample`` and ``replicate`` have defaults)."""
SERIES_REQUIRED = ("run_id", "policy", "step", "quarter")
"""Columns ``timeseries.parquet`` must have when it has rows."""
NUMERIC_IDS = ("sample", "replicate", "seed", "step")
"""Identifier columns that hold numbers."""


class ResultsError(ValueError):
    """Bad input to the analysis (missing folder, unknown policy or outcome, no usable runs).

    The message is one line meant for the user; the CLI prints it as ``error: <message>``.
    """


class OutcomeError(ResultsError):
    """An outcome asked for that the results do not hold as an outcome (the CLI names its
    ``--outcomes`` option)."""


def column_kind(name: str) -> str | None:
    """What a results column that is not an outcome holds (None for an outcome column)."""
    if name in ("run_id", "policy", "sample", "replicate", "seed"):
        return "it identifies the run"
    if name in ("status", "error"):
        return "it is the run's status"
    if name in ("quarter", "step"):
        return "it is the time axis"
    if name in TIMING_COLUMNS:
        return "it records how the run was made"
    if name.startswith("lever."):
        return "it is a lever setting"
    if name.startswith("param."):
        return "it is an uncertain parameter's value"
    return None


def _listing(names: Sequence[str], most: int = 6) -> str:
    """``a, b, c`` or, for a long list, its first names and how many there are."""
    if len(names) <= most:
        return ", ".join(names) or "none"
    return f"{', '.join(names[:most])}, ... ({len(names)} in all)"


@dataclass
class Results:
    """A results folder read into memory: one row per run, quarterly series, and the manifest."""

    runs: pd.DataFrame
    timeseries: pd.DataFrame | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    reference: str | None = None
    """For a grid or zip sweep of one policy, compared point by point (:func:`points_as_policies`):
    the first point's name, the reference when no policy is called 'baseline'."""

    @property
    def ok_runs(self) -> pd.DataFrame:
        """Runs that finished (``status == 'ok'``)."""
        if "status" not in self.runs:
            return self.runs
        return self.runs[self.runs["status"] == "ok"]

    @property
    def failed_runs(self) -> pd.DataFrame:
        if "status" not in self.runs:
            return self.runs.iloc[:0]
        return self.runs[self.runs["status"] != "ok"]

    @property
    def policies(self) -> list[str]:
        return list(dict.fromkeys(self.runs["policy"].astype(str)))

    @property
    def ok_timeseries(self) -> pd.DataFrame:
        """The time series of the runs that finished; a :class:`ResultsError` if the results have
        none, or none for those runs."""
        where = self.path / "timeseries.parquet" if self.path else "the time series"
        if self.timeseries is None:
            raise ResultsError(f"{self._where()}has no timeseries.parquet")
        ok_ids = set(self.ok_runs["run_id"]) if "run_id" in self.runs else None
        ts = self.timeseries
        if ok_ids is not None and "run_id" in ts:
            ts = ts[ts["run_id"].isin(ok_ids)]
        if ts.empty and not self.ok_runs.empty:
            raise ResultsError(f"{where} has no rows for the {len(self.ok_runs)} successful runs; "
                               "running the sweep again rebuilds it from its runs")
        return ts

    def _where(self) -> str:
        return f"{self.path} " if self.path else "results "

    def outcome_columns(self) -> list[str]:
        """Numeric outcome columns of ``runs`` (not identifiers, lever settings, parameters or
        timing)."""
        return _outcomes_of(self.runs)

    def series_outcomes(self) -> list[str]:
        """Outcomes at a quarter: the time series' outcome columns, and ``<name>_total`` (summed)
        and ``<name>_mean`` (averaged) over the quarters up to it."""
        names = _outcomes_of(self.ok_timeseries)
        return names + [f"{c}_total" for c in names] + [f"{c}_mean" for c in names]


def _outcomes_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns
            if column_kind(c) is None and pd.api.types.is_numeric_dtype(frame[c])]


def load_results(path: str | Path) -> Results:
    """Read a results folder written by a sweep.

    Raises :class:`ResultsError` if the folder or ``runs.parquet`` is missing;
    ``timeseries.parquet`` and ``manifest.json`` are optional (analyses that need them say so).
    """
    path = Path(path)
    if path.is_file():
        raise ResultsError(f"{path} is a file, not a results folder")
    if not path.is_dir():
        raise ResultsError(f"results folder {path} does not exist")
    runs_file = path / "runs.parquet"
    if not runs_file.is_file():
        raise ResultsError(f"{path} is not a results folder: runs.parquet is missing")
    runs = _with_defaults(_checked(runs_file, _read_table(runs_file), RUNS_REQUIRED))
    ts_file = path / "timeseries.parquet"
    ts = None
    if ts_file.is_file():
        ts = _read_table(ts_file)
        # a sweep whose runs all failed writes a time series of no rows and only the run ids
        ts = _with_defaults(_checked(ts_file, ts, SERIES_REQUIRED if len(ts) else ()))
    manifest_file = path / "manifest.json"
    manifest = _read_manifest(manifest_file) if manifest_file.is_file() else {}
    return points_as_policies(Results(runs=runs, timeseries=ts, manifest=manifest, path=path))


def points_as_policies(res: Results) -> Results:
    """A grid or zip sweep of a single policy, such as the bundled ``sweep_reloan_grid``, compared point
    by point: each sample point becomes a 'policy' named by its values (``reloan.scale=0.5``),
    paired with the others by replicate (common random numbers), and the first point is the
    reference (:func:`baseline_of`). Other results are returned as they are."""
    design = res.manifest.get("design")
    points = design.get("points") if isinstance(design, dict) else None
    single = res.runs["policy"].nunique() == 1
    if not (single and isinstance(design, dict) and design.get("type") in ("grid", "zip")
            and isinstance(points, list) and len(points) > 1 and all(isinstance(p, dict) for p in points)):
        return res
    names = [", ".join(f"{axis.removeprefix('levers.')}={_shown_value(value)}" for axis, value in point.items())
             for point in points]

    def relabelled(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame["policy"] = frame["sample"].map(lambda i: names[int(i)] if 0 <= int(i) < len(names) else str(i))
        frame["sample"] = 0
        return frame

    ts = None if res.timeseries is None else relabelled(res.timeseries)
    return Results(runs=relabelled(res.runs), timeseries=ts, manifest=res.manifest, path=res.path,
                   reference=names[0])


def _shown_value(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def baseline_of(res: Results, baseline: str = "baseline") -> str:
    """The reference policy: ``baseline``, or, when the results have no policy of that name and
    compare a single policy's sample points, the first point (:func:`points_as_policies`)."""
    if res.reference is not None and baseline not in set(res.runs["policy"]):
        return res.reference
    return baseline


def _checked(path: Path, frame: pd.DataFrame, required: Sequence[str]) -> pd.DataFrame:
    """``frame`` read from ``path`` if it has the ``required`` columns, numbers in its numeric
    id columns and numbers in its outcome columns; else a :class:`ResultsError` naming the column."""
    missing = [c for c in required if c not in frame]
    if missing:
        raise ResultsError(f"{path} has no '{missing[0]}' column; not a smegrowth results table")
    for col in frame.columns:
        values = frame[col]
        if col not in NUMERIC_IDS and column_kind(col) is not None:
            continue
        if not pd.api.types.is_numeric_dtype(values) and not values.isna().all():
            held = "text" if pd.api.types.is_string_dtype(values) else f"{values.dtype} values"
            raise ResultsError(f"{path}: column '{col}' holds {held}, not numbers")
    return frame


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``; a :class:`ResultsError` naming it if it is unreadable or not a JSON
    object."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsError(f"{path} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path}: not a smegrowth manifest (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not a smegrowth manifest (not valid JSON: {exc})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{path}: not a smegrowth manifest (a JSON {_json_type(manifest)}, "
                           "not an object)")
    return manifest


def _json_type(value: object) -> str:
    """The JSON name of a parsed JSON value's type."""
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _read_table(path: Path) -> pd.DataFrame:
    """A results table; a damaged or unreadable file is a :class:`ResultsError` naming it."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ResultsError(
            f"{path} cannot be read ({reason}); running the sweep again rebuilds it from its runs"
        ) from None


def _with_defaults(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    if "sample" not in frame:
        frame["sample"] = 0
    if "replicate" not in frame:
        frame["replicate"] = frame.groupby("policy").cumcount()
    frame["policy"] = frame["policy"].astype(str)
    return frame


def as_results(source: str | Path | Results | pd.DataFrame
               | tuple[pd.DataFrame, pd.DataFrame | None]) -> Results:
    """Accept a folder, a :class:`Results`, a runs frame, or a ``(runs, timeseries)`` pair."""
    if isinstance(source, Results):
        return source
    if isinstance(source, str | Path):
        return load_results(source)
    if isinstance(source, pd.DataFrame):
        return Results(runs=_with_defaults(source))
    if isinstance(source, tuple) and len(source) == 2:
        runs, ts = source
        ts = None if ts is None else _with_defaults(ts)
        return Results(runs=_with_defaults(runs), timeseries=ts)
    raise TypeError(f"cannot read results from {type(source).__name__}")


# --- selecting outcome values ---------------------------------------------------------------------

def _resolve_step(ts: pd.DataFrame, at: str | int) -> int:
    """The step of quarter label ``at`` ('2026Q4') or the step number itself."""
    steps = sorted(int(s) for s in ts["step"].unique())
    numeric = isinstance(at, str) and at.strip().lstrip("-").isdigit()
    if isinstance(at, int | np.integer) or numeric:
        step = int(at)
        if step < 0:
            step = steps[-1] + 1 + step
        if step not in steps:
            raise ResultsError(f"step {at} is not in the results (steps {steps[0]}..{steps[-1]})")
        return step
    label = str(at).strip().upper()
    match = ts.loc[ts["quarter"].astype(str).str.upper() == label, "step"]
    if match.empty:
        quarters = ts.sort_values("step")["quarter"].astype(str).unique()
        raise ResultsError(f"quarter {at} is not in the results ({quarters[0]}..{quarters[-1]})")
    return int(match.iloc[0])


def _values_at(res: Results, outcomes: Sequence[str], at: str | int) -> pd.DataFrame:
    """Per-run outcome values at quarter ``at`` from the time series.

    Plain names take that quarter's value; ``<flow>_total`` is the flow summed from the first
    quarter to ``at``; ``<rate>_mean`` is the rate averaged over the same quarters. The names are
    among :meth:`Results.series_outcomes` (see :func:`check_outcomes`).
    """
    ts = res.ok_timeseries
    step = _resolve_step(ts, at)
    upto = ts[(ts["step"] >= 1) & (ts["step"] <= step)]
    now = ts[ts["step"] == step].set_index("run_id")
    out = res.ok_runs[["run_id", "policy", "sample", "replicate", "seed"]].set_index("run_id")
    out = out.loc[out.index.intersection(now.index)]
    for name in outcomes:
        if name in ts.columns:
            out[name] = now[name]
        elif name.endswith("_total") and name[:-6] in ts.columns:
            out[name] = upto.groupby("run_id")[name[:-6]].sum().reindex(out.index).fillna(0.0)
        else:
            out[name] = upto.groupby("run_id")[name[:-5]].mean().reindex(out.index)
            if step == 0:
                out[name] = now[name[:-5]]
    return out.reset_index()


def _unknown_outcome(name: str, known: Sequence[str], frame: pd.DataFrame,
                     res: Results) -> OutcomeError:
    """The error for an outcome the results do not hold as one: an identifier, lever setting,
    parameter or timing column, a column of ``frame`` that does not hold numbers, one the model has
    but the sweep did not keep (its scenario's ``outcomes:`` list), or a name the model does not
    know. ``known`` are the outcomes of ``res``."""
    from .scenario import known_outcomes

    why = column_kind(name)
    if why is None and name in frame.columns:
        why = "it does not hold numbers"
    if why is not None:
        where = res.path or "these results"
        return OutcomeError(f"'{name}' is not an outcome of {where} ({why}); its outcomes: "
                            f"{_listing(list(known))}")
    model_outcomes = known_outcomes() - {"quarters"}  # the run's length, kept by every sweep
    if name in model_outcomes:
        kept = [k for k in known if k in model_outcomes]
        return OutcomeError(f"outcome '{name}' was not kept by this sweep (its scenario's "
                            f"`outcomes:` list keeps {_listing(kept, 8)})")
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return OutcomeError(f"unknown outcome '{name}'{hint}")


def check_outcomes(res: Results, outcomes: Iterable[str], at: str | int | None = None) -> None:
    """Raise :class:`OutcomeError` for a name among ``outcomes`` that is not an outcome of ``res``:
    of its runs table, or with ``at`` (values at a quarter) of its time series."""
    known = res.outcome_columns() if at is None else res.series_outcomes()
    frame = res.runs if at is None else res.ok_timeseries
    for name in outcomes:
        if name not in known:
            raise _unknown_outcome(name, known, frame, res)


def _table(res: Results, outcomes: Sequence[str], at: str | int | None) -> pd.DataFrame:
    """Per-run values of ``outcomes`` (final summary, or the time series at ``at``)."""
    if at is None:
        cols = ["run_id", "policy", "sample", "replicate", "seed"]
        cols = [c for c in cols if c in res.runs.columns]
        return res.ok_runs[cols + [o for o in outcomes if o not in cols]].copy()
    return _values_at(res, outcomes, at)


def _usable(res: Results, baseline: str) -> None:
    if res.ok_runs.empty:
        n = len(res.runs)
        raise ResultsError(f"no successful runs in {res._where()}({n} runs, all failed)"
                           if n else f"no runs in {res._where()}".strip())
    policies = list(dict.fromkeys(res.ok_runs["policy"]))
    if len(policies) == 1 and baseline not in policies:
        raise ResultsError(f"{res._where()}holds one policy, '{policies[0]}': nothing to compare it with "
                           "(sobol and morris sweeps are analysed by `smegrowth sensitivity`)")
    if baseline not in policies:
        raise ResultsError(f"no successful runs of baseline policy '{baseline}' "
                           f"(policies: {', '.join(policies)})")


# --- paired statistics ----------------------------------------------------------------------------

def paired_effect(treated: np.ndarray, control: np.ndarray, alpha: float = 0.05,
                  paired: bool = True) -> dict[str, float]:
    """Mean difference ``treated - control`` with a (1 - alpha) t-interval and a two-sided t-test.

    Paired (common random numbers): the interval is ``d̄ ± t_{n-1} s_d / √n`` and the test is
    :func:`scipy.stats.ttest_rel`. Unpaired: Welch's interval and :func:`scipy.stats.ttest_ind`.
    """
    treated = np.asarray(treated, dtype=float)
    control = np.asarray(control, dtype=float)
    base_mean = float(np.mean(control)) if control.size else math.nan
    out = {"n": float(treated.size), "baseline_mean": base_mean,
           "policy_mean": float(np.mean(treated)) if treated.size else math.nan}
    if paired:
        d = treated - control
        n = d.size
        diff = float(d.mean()) if n else math.nan
        se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        df = n - 1
    else:
        n1, n2 = treated.size, control.size
        diff = out["policy_mean"] - base_mean
        v1 = treated.var(ddof=1) / n1 if n1 > 1 else math.nan
        v2 = control.var(ddof=1) / n2 if n2 > 1 else math.nan
        se = math.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1)) if se > 0 else math.inf
    if not np.isfinite(se):
        lo = hi = p = math.nan
    elif se == 0.0:
        lo = hi = diff
        p = 1.0 if diff == 0 else 0.0
    else:
        half = float(stats.t.ppf(1 - alpha / 2, df)) * se
        lo, hi = diff - half, diff + half
        p = float(2 * stats.t.sf(abs(diff / se), df))
    rel = 100.0 / base_mean if base_mean not in (0.0,) and np.isfinite(base_mean) else math.nan
    out.update({"diff": diff, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p,
                "rel_change_pct": diff * rel, "rel_ci_low": lo * rel, "rel_ci_high": hi * rel})
    return out


def _pairs(table: pd.DataFrame, policy: str, baseline: str,
           outcomes: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """Policy and baseline rows aligned by (sample, replicate); paired if their seeds agree."""
    keys = list(PAIR_KEYS)
    cols = keys + (["seed"] if "seed" in table else []) + [o for o in outcomes if o not in keys]
    pol = table.loc[table["policy"] == policy, cols].drop_duplicates(keys)
    base = table.loc[table["policy"] == baseline, cols].drop_duplicates(keys)
    both = pol.merge(base, on=keys, suffixes=("", "__base"), how="inner")
    paired = len(both) > 0
    if paired and "seed" in table:
        paired = bool((both["seed"].to_numpy() == both["seed__base"].to_numpy()).all())
    if paired:
        treated = both[list(outcomes)]
        control = both[[f"{o}__base" for o in outcomes]].set_axis(list(outcomes), axis=1)
        return treated, control, True
    return pol[list(outcomes)], base[list(outcomes)], False


def stars(p: float) -> str:
    """Significance stars: *** p<0.001, ** p<0.01, * p<0.05."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _effects(res: Results, baseline: str, outcomes: Sequence[str], at: str | int | None,
             alpha: float) -> pd.DataFrame:
    table = _table(res, outcomes, at)
    rows = []
    for policy in dict.fromkeys(table["policy"]):
        if policy == baseline:
            continue
        pol, base, paired = _pairs(table, policy, baseline, outcomes)
        for name in outcomes:
            t, c = pol[name].dropna(), base[name].dropna()
            if paired:
                both = pol[name].notna() & base[name].notna()
                t, c = pol.loc[both, name], base.loc[both, name]
            stats_ = paired_effect(t.to_numpy(), c.to_numpy(), alpha, paired)
            rows.append({"policy": policy, "outcome": name,
                         "test": "paired" if paired else "welch", **stats_})
    return pd.DataFrame(rows)


def _holm(p: pd.Series, alpha: float) -> pd.Series:
    out = pd.Series(np.nan, index=p.index)
    ok = p.notna()
    if ok.any():
        out[ok] = multipletests(p[ok].to_numpy(), alpha=alpha, method="holm")[1]
    return out


def compare(source: str | Path | Results | pd.DataFrame | tuple, baseline: str = "baseline",
            outcomes: Sequence[str] | None = None, at: str | int | None = None,
            alpha: float = 0.05, rank_by: str = "cost_per_job") -> pd.DataFrame:
    """Effect of every policy against ``baseline`` on each outcome, with cost-effectiveness.

    Args:
        source: a results folder, :class:`Results`, runs frame, or ``(runs, timeseries)``.
        baseline: name of the reference policy.
        outcomes: outcome columns to compare (default: :data:`KEY_OUTCOMES` present in the results).
        at: a quarter label ('2026Q4') or step; values then come from the time series at that
            quarter (``*_total`` summed up to it) instead of the end-of-run summary.
        alpha: 1 - confidence level of the intervals; also the family-wise level of the Holm step.
        rank_by: a cost-effectiveness column (ranked ascending, cheapest first) or an outcome
            (ranked by its mean difference, largest first).

    Returns:
        One row per (policy, outcome): ``n``, ``baseline_mean``, ``policy_mean``, ``diff``,
        ``ci_low``, ``ci_high``, ``rel_change_pct`` (and its CI), ``p_value`` (t-test),
        ``p_holm`` (Holm over every row of the table), ``stars``, ``test``, and per policy
        ``fiscal_cost`` (extra spending over the horizon, m yuan), the ``cost_per_*`` columns
        and ``rank``.
    """
    res = as_results(source)
    baseline = baseline_of(res, baseline)
    _usable(res, baseline)
    if outcomes is None:
        avail = _available(res, at)
        outcomes = [o for o in KEY_OUTCOMES if o in avail]
    outcomes = list(dict.fromkeys(outcomes))
    if not outcomes:
        raise ResultsError("no outcomes to compare")
    check_outcomes(res, outcomes, at)
    if res.ok_runs["policy"].nunique() < 2:
        raise ResultsError(f"only the baseline policy '{baseline}' has successful runs; "
                           "nothing to compare")
    effects = _effects(res, baseline, outcomes, at, alpha)
    effects["p_holm"] = _holm(effects["p_value"], alpha)
    effects["stars"] = effects["p_holm"].map(stars)
    costs = cost_effectiveness(res, baseline, at=at, alpha=alpha)
    effects = effects.merge(costs, on="policy", how="left")
    effects["rank"] = _rank(effects, rank_by)
    return effects.sort_values(["rank", "policy"], kind="stable").reset_index(drop=True)


def _available(res: Results, at: str | int | None) -> set[str]:
    """The outcomes of ``res``: of its runs table, or with ``at`` of its time series."""
    return set(res.outcome_columns() if at is None else res.series_outcomes())


def cost_effectiveness(source: Any, baseline: str = "baseline", at: str | int | None = None,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Per policy: extra fiscal cost over the horizon (m yuan) and cost per unit of each effect.

    The ratios use the mean paired effects (see the module docstring for which outcome each uses);
    a ratio is NaN when the effect is not positive or the outcome is not in the results.
    """
    res = as_results(source)
    baseline = baseline_of(res, baseline)
    avail = _available(res, at)
    needed = ["fiscal_cost_total"] + [o for o, _ in COST_EFFECTIVENESS.values()]
    present = [o for o in dict.fromkeys(needed) if o in avail]
    policies = [p for p in dict.fromkeys(res.ok_runs["policy"]) if p != baseline]
    out = pd.DataFrame({"policy": policies})
    if not present:
        for col in ["fiscal_cost", *COST_EFFECTIVENESS]:
            out[col] = math.nan
        return out
    eff = _effects(res, baseline, present, at, alpha).set_index(["policy", "outcome"])["diff"]
    cost = np.array([eff.get((p, "fiscal_cost_total"), math.nan) for p in policies], dtype=float)
    out["fiscal_cost"] = cost
    for col, (outcome, unit) in COST_EFFECTIVENESS.items():
        effect = np.array([eff.get((p, outcome), math.nan) for p in policies], dtype=float) / unit
        with np.errstate(divide="ignore", invalid="ignore"):
            out[col] = np.where(effect > 0, cost / effect, math.nan)
    return out


def _rank(effects: pd.DataFrame, rank_by: str) -> pd.Series:
    per_policy = effects.drop_duplicates("policy").set_index("policy")
    if rank_by in per_policy.columns and rank_by.startswith("cost_per"):
        order = per_policy[rank_by].rank(method="min", na_option="bottom")
    else:
        sub = effects[effects["outcome"] == rank_by]
        if sub.empty:
            raise ResultsError(f"cannot rank by '{rank_by}': not a cost-effectiveness column "
                               "or a compared outcome")
        order = sub.set_index("policy")["diff"].rank(method="min", ascending=False,
                                                     na_option="bottom")
    return effects["policy"].map(order).astype(int)


# --- breakdowns and paths -------------------------------------------------------------------------

def sectors(res: Results) -> list[str]:
    """Sector keys present in the results (from ``new_unicorns_<sector>_total`` columns)."""
    names = []
    for col in res.runs.columns:
        m = re.fullmatch(r"new_unicorns_(.+)_total", col)
        if m and f"revenue_{m.group(1)}_total" in res.runs.columns:
            names.append(m.group(1))
    return names


def breakdown(source: Any, by: str = "sector", baseline: str = "baseline",
              alpha: float = 0.05) -> pd.DataFrame:
    """Effects split by sector (revenue over the horizon and new unicorns, per sector) or by firm
    kind (end-of-horizon counts of SMEs, little giants and unicorns).

    Returns the :func:`compare` columns plus ``sector`` / ``kind`` and ``measure``; the Holm
    correction is over the rows of this breakdown.
    """
    res = as_results(source)
    baseline = baseline_of(res, baseline)
    _usable(res, baseline)
    if by == "sector":
        keys = sectors(res)
        if not keys:
            raise ResultsError("the results have no per-sector outcomes")
        spec = [(f"revenue_{k}_total", k, "revenue_total") for k in keys]
        spec += [(f"new_unicorns_{k}_total", k, "new_unicorns_total") for k in keys]
    elif by == "kind":
        spec = [(k, k, "count") for k in KIND_OUTCOMES if k in res.runs.columns]
        if not spec:
            raise ResultsError("the results have no firm-kind counts")
    else:
        raise ResultsError(f"breakdown by '{by}' is not supported (use 'sector' or 'kind')")
    effects = _effects(res, baseline, [s[0] for s in spec], None, alpha)
    effects["p_holm"] = _holm(effects["p_value"], alpha)
    effects["stars"] = effects["p_holm"].map(stars)
    label = {s[0]: (s[1], s[2]) for s in spec}
    effects.insert(1, by, effects["outcome"].map(lambda o: label[o][0]))
    effects.insert(2, "measure", effects["outcome"].map(lambda o: label[o][1]))
    return effects


def effect_paths(source: Any, outcome: str, baseline: str = "baseline",
                 alpha: float = 0.05) -> pd.DataFrame:
    """Quarter-by-quarter effect of each policy on ``outcome`` (a time-series column) with its
    (1 - alpha) interval: columns ``policy, step, quarter, diff, ci_low, ci_high, rel_change_pct,
    baseline_mean, policy_mean, n``. No multiple-comparison correction (a band, not a test)."""
    res = as_results(source)
    baseline = baseline_of(res, baseline)
    _usable(res, baseline)
    ts = res.ok_timeseries
    known = _outcomes_of(ts)
    if outcome not in known:
        raise _unknown_outcome(outcome, known, ts, res)
    rows = []
    labels = ts.drop_duplicates("step").set_index("step")["quarter"]
    for step, at_step in ts.groupby("step", sort=True):
        for policy in dict.fromkeys(at_step["policy"]):
            if policy == baseline:
                continue
            pol, base, paired = _pairs(at_step, policy, baseline, [outcome])
            e = paired_effect(pol[outcome].to_numpy(), base[outcome].to_numpy(), alpha, paired)
            rows.append({"policy": policy, "step": int(step), "quarter": labels[step], **e})
    return pd.DataFrame(rows)


def outcome_paths(source: Any, outcome: str, alpha: float = 0.05) -> pd.DataFrame:
    """Mean path of ``outcome`` per policy with a (1 - alpha) t-interval across runs:
    columns ``policy, step, quarter, mean, ci_low, ci_high, n``."""
    res = as_results(source)
    ts = res.ok_timeseries
    if ts.empty:
        raise ResultsError(f"no successful runs in {res._where()}".strip())
    known = _outcomes_of(ts)
    if outcome not in known:
        raise _unknown_outcome(outcome, known, ts, res)
    g = ts.groupby(["policy", "step"], sort=False)[outcome]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    tcrit = stats.t.ppf(1 - alpha / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, tcrit * out["sd"] / np.sqrt(out["n"]), 0.0)
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    labels = ts.drop_duplicates("step").set_index("step")["quarter"]
    out["quarter"] = out["step"].map(labels)
    return out[["policy", "step", "quarter", "mean", "ci_low", "ci_high", "n"]]


# --- formatting -----------------------------------------------------------------------------------

COST_LABELS = {
    "fiscal_cost": "Fiscal cost (m yuan)",
    "cost_per_little_giant": "m yuan / little giant",
    "cost_per_unicorn": "m yuan / unicorn",
    "cost_per_job": "m yuan / job",
    "cost_per_100m_revenue": "m yuan / 100 m revenue over the horizon",
}


def fmt_number(x: float, signed: bool = False) -> str:
    """A compact human number: thousands separators for large values, 3 significant digits for
    small ones, ``n/a`` for NaN or infinite."""
    if x is None or not np.isfinite(x):
        return "n/a"
    sign = "+" if signed else ""
    ax = abs(x)
    if ax >= 1000:
        return f"{x:{sign},.0f}"
    if ax >= 10:
        return f"{x:{sign}.1f}"
    if ax == 0:
        return "0"
    return f"{x:{sign}.3g}"


def effect_cell(row: pd.Series, sep: str = " ") -> str:
    """``+1,234*** [+567, +2,345] (+3.2%)`` — mean difference with stars, CI, relative change."""
    rel = row["rel_change_pct"]
    rel_s = f"({rel:+.1f}%)" if np.isfinite(rel) else "(n/a)"
    return (f"{fmt_number(row['diff'], True)}{row['stars']}{sep}"
            f"[{fmt_number(row['ci_low'], True)}, {fmt_number(row['ci_high'], True)}]{sep}{rel_s}")


def wide_table(df: pd.DataFrame, sep: str = " ") -> pd.DataFrame:
    """Policy rows (in rank order), one text column per outcome, then the cost columns."""
    policies = list(dict.fromkeys(df.sort_values(["rank"], kind="stable")["policy"]))
    outcomes = list(dict.fromkeys(df["outcome"]))
    cells = {o: {} for o in outcomes}
    for _, row in df.iterrows():
        cells[row["outcome"]][row["policy"]] = effect_cell(row, sep)
    wide = pd.DataFrame({o: [cells[o].get(p, "") for p in policies] for o in outcomes},
                        index=pd.Index(policies, name="policy"))
    per_policy = df.drop_duplicates("policy").set_index("policy")
    for col, label in COST_LABELS.items():
        if col in per_policy:
            wide[label] = [fmt_number(per_policy.loc[p, col]) for p in policies]
    wide.insert(0, "rank", [int(per_policy.loc[p, "rank"]) for p in policies])
    return wide


def table_note(df: pd.DataFrame, baseline: str | None = None) -> str:
    """The footnote that makes a table readable on its own."""
    n = int(df["n"].min()) if len(df) else 0
    tests = set(df.get("test", pd.Series(["paired"])))
    how = "paired by seed" if tests == {"paired"} else "Welch, unpaired" if tests == {"welch"} \
        else "paired by seed where seeds match, else Welch"
    base = f"'{baseline}'" if baseline else "the baseline"
    return (f"Effect vs {base}: mean difference, 95% CI, relative change; n>={n} runs, {how}. "
            "Stars: Holm-adjusted p < 0.05 *, 0.01 **, 0.001 ***. Fiscal cost is extra spending "
            "over the horizon; the cost ratios divide it by the extra little giants and jobs at the "
            "end, the unicorns created, and the extra revenue summed over the horizon (not the last "
            "quarter's shown); n/a where that effect is not positive.")


def format_table(df: pd.DataFrame, fmt: str = "table", baseline: str | None = None) -> str:
    """Render a :func:`compare` result.

    ``table`` (aligned text for the terminal), ``md`` (Markdown), ``html``, ``latex`` (policy rows,
    one cell per outcome) or ``csv`` (the full tidy numeric table, one row per policy and outcome,
    which ``pandas.read_csv`` reads back).
    """
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "table":
        return _rich_table(df, baseline)
    wide = wide_table(df)
    note = table_note(df, baseline)
    if fmt == "md":
        return wide.reset_index().to_markdown(index=False) + f"\n\n{note}\n" \
            if _has_tabulate() else _markdown(wide.reset_index()) + f"\n\n{note}\n"
    if fmt == "html":
        return wide.to_html(classes="comparison", border=0) + f"<p class='note'>{note}</p>"
    if fmt == "latex":
        body = wide.reset_index().style.hide(axis="index").to_latex(hrules=True)
        return body.replace("%", r"\%").replace("_", r"\_") + f"% {note}\n"
    raise ResultsError(f"unknown format '{fmt}' (use table, md, csv, latex or html)")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def _markdown(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def _rich_table(df: pd.DataFrame, baseline: str | None) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    wide = wide_table(df, sep="\n")
    costs = [c for c in COST_LABELS.values() if c in wide.columns]
    effects = wide.drop(columns=costs)
    buf = StringIO()
    console = Console(file=buf, width=max(100, 26 + 17 * len(effects.columns)), color_system=None,
                      force_terminal=False)
    for frame, title in ((effects, "Effects against the baseline"),
                         (wide[["rank", *costs]], "Fiscal cost and cost-effectiveness")):
        if len(frame.columns) <= 1:
            continue
        table = Table(title=title, title_justify="left", show_lines=True)
        table.add_column("#", justify="right")
        table.add_column("policy", style="bold")
        for col in frame.columns[1:]:
            table.add_column(str(col).replace("_", " "), justify="right", min_width=10)
        for policy, row in frame.iterrows():
            table.add_row(str(row["rank"]), str(policy), *[str(v) for v in row.iloc[1:]])
        console.print(table)
    console.print(table_note(df, baseline), width=100)
    return buf.getvalue()
