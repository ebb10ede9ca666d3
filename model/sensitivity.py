"""Global sensitivity of outcomes to the uncertainties of a Sobol/Saltelli or Morris sweep (SALib).

The sweep stores its SALib problem in ``manifest["design"]["problem"]`` (``names``, ``bounds``,
``num_vars``) and the method in ``manifest["design"]["method"]`` (``sobol``/``saltelli`` or
``morris``); run ``sample`` indices follow the order of the SALib sample matrix. Replicates of the
same sample are averaged before the analysis, so the indices describe the expected outcome; the
remaining noise shows up in the bootstrap confidence intervals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze

from .analysis import KEY_OUTCOMES, Results, ResultsError, as_results, check_outcomes

SALIB_KEYS = ("num_vars", "names", "bounds", "groups", "dists", "outputs")


def _manifest_name(res: Results) -> str:
    return f"{res.path}/manifest.json" if res.path else "the manifest"


def design(res: Results) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The method ('sobol' or 'morris'), SALib problem and full design entry of the manifest."""
    entry = res.manifest.get("design")
    where = _manifest_name(res)
    if not isinstance(entry, dict) or "problem" not in entry:
        raise ResultsError(f"{where} has no design.problem: sensitivity needs a sweep with a "
                           "sobol or morris design")
    method = str(entry.get("method") or entry.get("type") or entry.get("kind") or "").lower()
    if method in ("sobol", "saltelli"):
        method = "sobol"
    elif method != "morris":
        raise ResultsError(f"{where}: design method '{method or '(none)'}' is not sobol or morris")
    raw = entry["problem"]
    if not isinstance(raw, dict):
        raise ResultsError(f"{where}: design.problem is {_shown(raw)}, not a SALib problem "
                           "(names, bounds)")
    # the sweep may keep design settings (calc_second_order, samples) beside the SALib keys
    entry = {**{k: v for k, v in raw.items() if k not in SALIB_KEYS}, **entry}
    problem = {k: v for k, v in raw.items() if k in SALIB_KEYS}
    _check_problem(problem, where)
    _check_settings(entry, where)
    problem.setdefault("num_vars", len(problem["names"]))
    return method, problem, entry


def _check_problem(problem: dict[str, Any], where: str) -> None:
    """A :class:`ResultsError` naming the manifest and key unless ``problem`` is a SALib problem:
    parameter ``names``, one ``[low, high]`` pair of ``bounds`` each, and ``num_vars`` (if given),
    ``groups`` and ``dists`` (if given) that agree with them."""
    names = problem.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ResultsError(f"{where}: design.problem.names is not a list of parameter names")
    n = len(names)
    bounds = problem.get("bounds")
    if not isinstance(bounds, list) or not all(map(_is_range, bounds)):
        raise ResultsError(f"{where}: design.problem.bounds is not a list of [low, high] pairs of "
                           "numbers")
    if len(bounds) != n:
        raise ResultsError(f"{where}: design.problem.names has {n} names but design.problem.bounds "
                           f"has {len(bounds)} [low, high] pairs")
    num_vars = problem.get("num_vars", n)
    if not isinstance(num_vars, int) or isinstance(num_vars, bool) or num_vars != n:
        raise ResultsError(f"{where}: design.problem.num_vars is {_shown(num_vars)}, but "
                           f"design.problem.names has {n} names")
    for key in ("groups", "dists"):
        if key in problem and (not isinstance(problem[key], list) or len(problem[key]) != n):
            raise ResultsError(f"{where}: design.problem.{key} is not a list of {n} entries, "
                               "one for each of its names")


def _shown(value: Any) -> str:
    """A manifest value as JSON, cut short."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _is_range(pair: Any) -> bool:
    return (isinstance(pair, list) and len(pair) == 2 and all(_is_number(v) for v in pair)
            and pair[0] <= pair[1])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _check_settings(entry: dict[str, Any], where: str) -> None:
    """A :class:`ResultsError` naming the manifest and key if a design setting the analysis reads
    has the wrong type."""
    checks = {"n_samples": (lambda v: v is None or _is_number(v) and v == int(v) and v >= 0,
                            "a whole number of samples"),
              "calc_second_order": (lambda v: v is None or isinstance(v, bool), "true or false"),
              "num_levels": (lambda v: _is_number(v) and v == int(v) and v >= 2,
                             "a whole number of at least 2")}
    for key, (valid, expected) in checks.items():
        if key in entry and not valid(entry[key]):
            raise ResultsError(f"{where}: design.{key} is {_shown(entry[key])}, not {expected}")


def _by_sample(res: Results, outcome: str, policy: str, n_samples: int | None) -> pd.Series:
    ok = res.ok_runs[res.ok_runs["policy"] == policy]
    y = ok.groupby("sample")[outcome].mean().sort_index()
    expected = range(int(n_samples if n_samples is not None else y.index.max() + 1))
    missing = sorted(set(expected) - set(int(i) for i in y.index))
    if missing:
        head = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise ResultsError(f"policy '{policy}' has no successful run for {len(missing)} sample(s) "
                           f"({head}); the sensitivity analysis needs every sample of the design")
    return y.reindex(expected)


def _sample_matrix(res: Results, problem: dict[str, Any], entry: dict[str, Any],
                   n: int) -> np.ndarray:
    if "X" in entry:
        try:
            x = np.asarray(entry["X"], dtype=float)
        except (TypeError, ValueError):
            x = np.empty(0)
        if x.ndim != 2 or x.shape[1] != len(problem["names"]) or len(x) < n:
            raise ResultsError(f"{_manifest_name(res)}: design.X is not a matrix of {n} samples of "
                               f"{len(problem['names'])} parameters")
        return x[:n]
    cols = [f"param.{name}" for name in problem["names"]]
    missing = [c for c in cols if c not in res.runs.columns]
    if missing:
        raise ResultsError(f"runs.parquet lacks the design columns {', '.join(missing)}")
    x = res.runs.drop_duplicates("sample").set_index("sample").sort_index()[cols]
    return x.reindex(range(n)).to_numpy(dtype=float)


def indices(source: Any, outcomes: Sequence[str] | None = None, policy: str | None = None,
            seed: int = 0) -> pd.DataFrame:
    """Sensitivity indices of each outcome to each uncertain parameter.

    Sobol: columns ``S1, S1_conf, ST, ST_conf`` (first-order and total indices with bootstrap
    confidence half-widths). Morris: ``mu, mu_star, mu_star_conf, sigma``. Also ``method,
    policy, outcome, parameter``. With several policies, each is analysed separately
    (``policy`` picks one).
    """
    res = as_results(source)
    method, problem, entry = design(res)
    if res.ok_runs.empty:
        raise ResultsError("no successful runs to analyse")
    if outcomes is None:
        outcomes = [o for o in KEY_OUTCOMES if o in res.outcome_columns()]
    check_outcomes(res, outcomes)
    policies = [policy] if policy else list(dict.fromkeys(res.ok_runs["policy"]))
    if policy and policy not in set(res.ok_runs["policy"]):
        raise ResultsError(f"no successful runs of policy '{policy}'")
    d = int(problem["num_vars"])
    rows = []
    for pol in policies:
        for outcome in outcomes:
            y = _by_sample(res, outcome, pol, entry.get("n_samples")).to_numpy(dtype=float)
            if method == "sobol":
                second = entry.get("calc_second_order")
                if second is None:
                    second = y.size % (2 * d + 2) == 0
                step = 2 * d + 2 if second else d + 2
                if y.size % step:
                    raise ResultsError(f"{y.size} samples do not fit a Saltelli design with {d} "
                                       f"parameters (a multiple of {step} expected)")
                si = sobol_analyze.analyze(problem, y, calc_second_order=bool(second),
                                           print_to_console=False, seed=seed)
                for i, name in enumerate(problem["names"]):
                    rows.append({"method": "sobol", "policy": pol, "outcome": outcome,
                                 "parameter": name, "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
                                 "ST": si["ST"][i], "ST_conf": si["ST_conf"][i]})
            else:
                x = _sample_matrix(res, problem, entry, y.size)
                si = morris_analyze.analyze(problem, x, y, print_to_console=False, seed=seed,
                                            num_levels=int(entry.get("num_levels", 4)))
                for i, name in enumerate(problem["names"]):
                    rows.append({"method": "morris", "policy": pol, "outcome": outcome,
                                 "parameter": name, "mu": si["mu"][i], "mu_star": si["mu_star"][i],
                                 "mu_star_conf": si["mu_star_conf"][i], "sigma": si["sigma"][i]})
    return pd.DataFrame(rows)
